"""The SQL text of :class:`~mt_access.store.sqlite.SQLiteStore` (columns, statements) and the
small helpers its queries and its integrity check share.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence

from mt_access.lifecycle import RequestState
from mt_access.store import codec, codec_records
from mt_access.store.listing import check_slice_order
from mt_access.store.sql_common import (
    FILE_SELECT,
    IDENTITY_SELECT,
    LEDGER_SELECT,
    PHYSICIAN_SELECT,
    RUN_SELECT,
    TRANSITION_SELECT,
)

REGISTER_FORMAT = "mt-access register"
_CHUNK = 500  # ids per ``IN (...)`` query
_WORDS = re.compile(r"[^\W_]+")


def placeholders(n: int) -> str:
    return ", ".join("?" * n)


INSERT_REQUEST = (
    f"INSERT INTO requests (id, {', '.join(codec.REQUEST_DATA_COLUMNS)}, {FILE_SELECT}) "
    f"VALUES ({placeholders(1 + len(codec.REQUEST_DATA_COLUMNS) + len(codec.FILE_COLUMNS))})"
)
UPDATE_REQUEST = (
    f"UPDATE requests SET {', '.join(f'{c} = ?' for c in codec.REQUEST_DATA_COLUMNS)} WHERE id = ?"
)
UPDATE_FILE = (
    f"UPDATE requests SET {', '.join(f'{c} = ?' for c in codec.FILE_COLUMNS)} WHERE id = ?"
)
INSERT_IDENTITY = (
    f"INSERT INTO identities (request_id, {IDENTITY_SELECT}) "
    f"VALUES ({placeholders(1 + len(codec.IDENTITY_COLUMNS))})"
)
UPDATE_IDENTITY = (
    f"UPDATE identities SET {', '.join(f'{c} = ?' for c in codec.IDENTITY_COLUMNS)} "
    "WHERE request_id = ?"
)
INSERT_TRANSITION = (
    f"INSERT INTO transitions ({TRANSITION_SELECT}) "
    f"VALUES ({placeholders(len(codec.TRANSITION_COLUMNS))})"
)
INSERT_PHYSICIAN = (
    f"INSERT OR REPLACE INTO physicians ({PHYSICIAN_SELECT}) "
    f"VALUES ({placeholders(len(codec.PHYSICIAN_COLUMNS))})"
)
INSERT_LEDGER = (
    f"INSERT INTO ledger ({LEDGER_SELECT}) VALUES ({placeholders(len(codec.LEDGER_COLUMNS))})"
)
BUMP_DATA_VERSION = (
    "INSERT INTO meta (key, value) VALUES ('data', 1) "
    "ON CONFLICT (key) DO UPDATE SET value = value + 1"
)
"""At the commit of a transaction that changed the register's data (``data_version``)."""
BUMP_PHYSICIANS_VERSION = (
    "INSERT INTO meta (key, value) VALUES ('gps', 1) "
    "ON CONFLICT (key) DO UPDATE SET value = value + 1"
)
"""At the commit of a transaction that wrote a physician (``physicians_version``)."""
PHYSICIAN_REQUESTS = "SELECT request_id FROM transitions WHERE physician_id = ? AND on_date >= ?"
"""The requests of a GP's transitions from a date (``physician_requests``): read in the index
``transitions_by_physician`` alone (schema 10), in its order (date); sorted by the caller."""
RUN_TRANSITIONS = f"SELECT {TRANSITION_SELECT} FROM transitions WHERE run = ? ORDER BY seq"
"""A run's transitions (``run_transitions``): read through the index ``transitions_by_run``
(schema 11)."""
INSERT_RUN = (
    f"INSERT INTO runs ({RUN_SELECT}) VALUES ({placeholders(len(codec_records.RUN_COLUMNS))})"
)


def state_values(states: Iterable[RequestState | str] | None) -> list[str] | None:
    if states is None:
        return None
    return sorted({RequestState(s).value for s in states})


def slice_condition(states: list[str] | None, commune: str | None) -> tuple[str, list[str]]:
    """The ``WHERE`` clause (with its leading space, or empty) and parameters of
    ``summary_slice``: the states (``None``: any) and the commune (``None``: any)."""
    clauses: list[str] = []
    params: list[str] = []
    if states is not None:  # with a commune, a scan of the table beats the state's index
        column = "state" if commune is None else "+state"
        clauses.append(f"{column} IN ({placeholders(len(states))})")
        params += states
    if commune is not None:
        clauses.append("commune = ?")
        params.append(commune)
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), params


def slice_order(order: str, on: dt.date | None) -> tuple[str, list[str]]:
    """The ``ORDER BY`` terms of ``summary_slice`` and their parameters.

    Raises:
        StoreError: an unknown order (:func:`~mt_access.store.listing.check_slice_order`).
    """
    check_slice_order(order, on)
    if order == "waiting":
        assert on is not None
        return "MIN(received, ?), id", [on.isoformat()]
    return f"{order}, id", []


def name_tokens(text: str) -> tuple[str, ...]:
    """Name words without case, accents nor punctuation, sorted (as the intake compares
    persons)."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    return tuple(sorted(_WORDS.findall(plain)))


def chunks(values: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]
