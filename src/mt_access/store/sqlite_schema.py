"""The SQL text of :class:`~mt_access.store.sqlite.SQLiteStore` (columns, statements) and the
small helpers its queries and its integrity check share.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence

from mt_access.lifecycle import RequestState
from mt_access.store import codec

_FORMAT = "mt-access register"
_CHUNK = 500  # ids per ``IN (...)`` query
_WORDS = re.compile(r"[^\W_]+")

_REQUEST_SELECT = ", ".join(codec.REQUEST_COLUMNS)
_SUMMARY_SELECT = ", ".join(codec.SUMMARY_COLUMNS)
_FILE_SELECT = ", ".join(codec.FILE_COLUMNS)
_TRANSITION_SELECT = ", ".join(codec.TRANSITION_COLUMNS)
_IDENTITY_SELECT = ", ".join(codec.IDENTITY_COLUMNS)
_PHYSICIAN_SELECT = ", ".join(codec.PHYSICIAN_COLUMNS)
_LEDGER_SELECT = ", ".join(codec.LEDGER_COLUMNS)
_RUN_SELECT = ", ".join(codec.RUN_COLUMNS)


def _placeholders(n: int) -> str:
    return ", ".join("?" * n)


_INSERT_REQUEST = (
    f"INSERT INTO requests (id, {', '.join(codec.REQUEST_DATA_COLUMNS)}, {_FILE_SELECT}) "
    f"VALUES ({_placeholders(1 + len(codec.REQUEST_DATA_COLUMNS) + len(codec.FILE_COLUMNS))})"
)
_UPDATE_REQUEST = (
    f"UPDATE requests SET {', '.join(f'{c} = ?' for c in codec.REQUEST_DATA_COLUMNS)} WHERE id = ?"
)
_UPDATE_FILE = (
    f"UPDATE requests SET {', '.join(f'{c} = ?' for c in codec.FILE_COLUMNS)} WHERE id = ?"
)
_INSERT_IDENTITY = (
    f"INSERT INTO identities (request_id, {_IDENTITY_SELECT}) "
    f"VALUES ({_placeholders(1 + len(codec.IDENTITY_COLUMNS))})"
)
_UPDATE_IDENTITY = (
    f"UPDATE identities SET {', '.join(f'{c} = ?' for c in codec.IDENTITY_COLUMNS)} "
    "WHERE request_id = ?"
)
_INSERT_TRANSITION = (
    f"INSERT INTO transitions ({_TRANSITION_SELECT}) "
    f"VALUES ({_placeholders(len(codec.TRANSITION_COLUMNS))})"
)
_INSERT_PHYSICIAN = (
    f"INSERT OR REPLACE INTO physicians ({_PHYSICIAN_SELECT}) "
    f"VALUES ({_placeholders(len(codec.PHYSICIAN_COLUMNS))})"
)
_INSERT_LEDGER = (
    f"INSERT INTO ledger ({_LEDGER_SELECT}) VALUES ({_placeholders(len(codec.LEDGER_COLUMNS))})"
)
_INSERT_RUN = f"INSERT INTO runs ({_RUN_SELECT}) VALUES ({_placeholders(len(codec.RUN_COLUMNS))})"


def _states(states: Iterable[RequestState | str] | None) -> list[str] | None:
    if states is None:
        return None
    return sorted({RequestState(s).value for s in states})


def _name_tokens(text: str) -> tuple[str, ...]:
    """Name words without case, accents nor punctuation, sorted (as the intake compares
    persons)."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    return tuple(sorted(_WORDS.findall(plain)))


def _chunks(values: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]
