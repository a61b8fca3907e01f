"""pandas DataFrames of mt-access values, for notebooks.

pandas is imported on first use, so the rest of mt-access imports without it. Each function
takes what the library returns and gives one row per value, with the values' attribute names
as columns:

* :func:`result_frame`: a match run's outcome (:class:`~mt_access.result.MatchResult`), one
  row per placement, orientation, waiting and rejected request, or one part only;
* :func:`summaries_frame`: listing lines of the register (``register.list_requests()``,
  ``register.waiting()``);
* :func:`transitions_frame`: lifecycle transitions (``register.history(id)``,
  ``store.transitions()``);
* :func:`gp_months_frame`: the GPs' monthly follow-up (``register.gp_follow_up(months)``);
* :func:`runs_frame`: the committed match runs (``register.runs()``);
* :func:`ledger_frame`: the capacity ledger's entries;
* :func:`rows_frame`: rows of text by column (``register.pseudonymised_rows()``);
* :func:`records_frame`: any sequence of attrs values of one class.

Conversions: enums become their value (``"waiting"``), with a French ``*_label`` column next
to the reason and state columns; dates become ``datetime64``; months become ``"YYYY-MM"``;
tuples and sets of ids become text joined with ``", "`` (criteria with ``" ; "``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from mt_access.frame_base import FramesError, cell, records_frame, table_frame
from mt_access.gp_register import GPMonth
from mt_access.ledger import (
    CapacityDeclared,
    CapacityLedger,
    LedgerEntry,
    PlacementRecorded,
    PlacementReleased,
)
from mt_access.lifecycle import Transition
from mt_access.result import RESULT_COLUMNS, RESULT_PARTS, MatchResult
from mt_access.store.base import RequestSummary, RunRecord

if TYPE_CHECKING:
    import pandas as pd  # type: ignore[import-untyped, import-not-found, unused-ignore]

__all__ = [
    "RESULT_COLUMNS",
    "RESULT_PARTS",
    "FramesError",
    "gp_months_frame",
    "ledger_frame",
    "records_frame",
    "result_frame",
    "rows_frame",
    "runs_frame",
    "summaries_frame",
    "transitions_frame",
]


def result_frame(result: MatchResult, part: str | None = None) -> pd.DataFrame:
    """A match run's outcome as a frame.

    Args:
        result: the run's :class:`~mt_access.result.MatchResult`.
        part: ``None`` for every request (one row per placement, orientation, waiting and
            rejected request, columns :data:`RESULT_COLUMNS`, ``outcome`` saying which), or
            one of :data:`RESULT_PARTS` for that part alone with all its attributes.

    Raises:
        FramesError: an unknown part.
    """
    return result.to_frame(part)


def summaries_frame(summaries: Iterable[RequestSummary]) -> pd.DataFrame:
    """Listing lines (``register.list_requests()``, ``register.waiting()``) as a frame; no
    personal data, as the lines have none."""
    return records_frame(summaries, RequestSummary)


def transitions_frame(transitions: Iterable[Transition]) -> pd.DataFrame:
    """Lifecycle transitions (``register.history(id)``, ``store.transitions()``) as a
    frame, with French labels of the event, states, actor and exit reason."""
    return records_frame(transitions, Transition)


def gp_months_frame(rows: Iterable[GPMonth]) -> pd.DataFrame:
    """The GPs' monthly follow-up (``register.gp_follow_up(months)``) as a frame."""
    return records_frame(rows, GPMonth)


def runs_frame(runs: Iterable[RunRecord]) -> pd.DataFrame:
    """The committed match runs (``register.runs()``) as a frame."""
    return records_frame(runs, RunRecord)


_LEDGER_COLUMNS = (
    "kind",
    "physician_id",
    "month",
    "request_id",
    "capacity",
    "persons",
    "on",
    "note",
    "period",
)
_LEDGER_KINDS: dict[type, str] = {
    CapacityDeclared: "capacity_declared",
    PlacementRecorded: "placement_recorded",
    PlacementReleased: "placement_released",
}


def ledger_frame(entries: CapacityLedger | Iterable[LedgerEntry]) -> pd.DataFrame:
    """The ledger's entries (a :class:`~mt_access.ledger.CapacityLedger` or its
    ``entries``), in recording order: ``kind`` (``capacity_declared``,
    ``placement_recorded``, ``placement_released``) and the entry's fields; a release's
    reason is in ``note``; ``period`` is a declaration's ``month`` or ``year`` (empty for a
    placement or a release)."""
    items = entries.entries if isinstance(entries, CapacityLedger) else tuple(entries)
    rows: list[dict[str, object]] = []
    for entry in items:
        row: dict[str, object] = {"kind": _LEDGER_KINDS[type(entry)]}
        for name in _LEDGER_COLUMNS[1:]:
            row[name] = cell(getattr(entry, name, None), name)
        if isinstance(entry, PlacementReleased):
            row["note"] = entry.reason
        rows.append(row)
    return table_frame(rows, _LEDGER_COLUMNS)


def rows_frame(
    rows: Iterable[Mapping[str, str]], columns: Sequence[str] | None = None
) -> pd.DataFrame:
    """Rows of text by column name (``register.pseudonymised_rows()``, whose columns are
    :data:`mt_access.privacy.EXPORT_COLUMNS`) as a frame, in ``columns`` order (the first
    row's keys by default)."""
    items = [dict(row) for row in rows]
    if columns is None:
        columns = list(items[0]) if items else []
    return table_frame(items, columns)
