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

import datetime as dt
import enum
import importlib
import typing
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from mt_access.calendar import Month
from mt_access.errors import MtAccessError
from mt_access.gp_register import GPMonth
from mt_access.labels import LabelledEnum
from mt_access.ledger import (
    CapacityDeclared,
    CapacityLedger,
    LedgerEntry,
    PlacementRecorded,
    PlacementReleased,
)
from mt_access.lifecycle import Transition
from mt_access.result import MatchResult, Orientation, Placement, Rejected, Waiting
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


class FramesError(MtAccessError, ValueError):
    """A frame cannot be built as asked (unknown part, values of different classes...)."""


RESULT_PARTS: dict[str, type] = {
    "placements": Placement,
    "orientations": Orientation,
    "waiting": Waiting,
    "rejected": Rejected,
}
"""The parts of a :class:`~mt_access.result.MatchResult` :func:`result_frame` can give."""

RESULT_COLUMNS: tuple[str, ...] = (
    "request_id",
    "outcome",
    "level",
    "rank",
    "physician_id",
    "persons",
    "distance_km",
    "router",
    "reason",
    "reason_label",
    "detail",
    "explanation",
)
"""The columns of :func:`result_frame`'s combined frame."""

_OUTCOMES = {
    "placements": "placed",
    "orientations": "oriented",
    "waiting": "waiting",
    "rejected": "rejected",
}


def _pandas() -> Any:
    try:
        return importlib.import_module("pandas")
    except ImportError as exc:  # pragma: no cover - pandas is a dependency
        raise FramesError("pandas est nécessaire pour les tableaux : pip install pandas") from exc


def _cell(value: object, name: str) -> object:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Month):
        return str(value)
    if isinstance(value, frozenset | set):
        return ", ".join(sorted(str(v) for v in value))
    if isinstance(value, tuple):
        parts = [_first_field(v) for v in value]
        return (" ; " if name == "criteria" else ", ").join(parts)
    if attrs.has(type(value)):
        return _first_field(value)
    return value


def _first_field(value: object) -> str:
    kind = type(value)
    if attrs.has(kind):
        first = attrs.fields(kind)[0].name
        return str(getattr(value, first))
    if isinstance(value, tuple):
        return ":".join(str(v) for v in value)
    return str(value)


def _frame(rows: Sequence[Mapping[str, object]], columns: Sequence[str]) -> pd.DataFrame:
    pd_ = _pandas()
    frame: pd.DataFrame = pd_.DataFrame(list(rows), columns=list(columns))
    for column in columns:
        values = [row.get(column) for row in rows]
        present = [v for v in values if v is not None]
        if present and all(
            isinstance(v, dt.date) and not isinstance(v, dt.datetime) for v in present
        ):
            frame[column] = pd_.to_datetime(frame[column])
        elif (
            present
            and len(present) < len(values)
            and all(isinstance(v, int) and not isinstance(v, bool) for v in present)
        ):
            frame[column] = frame[column].astype("Int64")
    return frame


def _labelled(cls: type) -> frozenset[str]:
    """The fields of ``cls`` whose type is a labelled enum (they get a ``*_label`` column)."""
    try:
        hints = typing.get_type_hints(cls)
    except Exception:  # pragma: no cover - annotations that cannot be resolved
        return frozenset()
    out: set[str] = set()
    for name, hint in hints.items():
        options = typing.get_args(hint) or (hint,)
        if any(isinstance(o, type) and issubclass(o, LabelledEnum) for o in options):
            out.add(name)
    return frozenset(out)


def _record(value: object, names: Sequence[str], labelled: frozenset[str]) -> dict[str, object]:
    row: dict[str, object] = {}
    for name in names:
        raw = getattr(value, name)
        row[name] = _cell(raw, name)
        if name in labelled:
            row[f"{name}_label"] = raw.label if isinstance(raw, LabelledEnum) else None
    return row


def _columns(names: Sequence[str], labelled: frozenset[str]) -> list[str]:
    out: list[str] = []
    for name in names:
        out.append(name)
        if name in labelled:
            out.append(f"{name}_label")
    return out


def records_frame(values: Iterable[object], cls: type | None = None) -> pd.DataFrame:
    """One row per attrs value (all of one class), one column per attribute.

    Args:
        values: attrs instances of one class.
        cls: their class; needed to name the columns of an empty frame.

    Raises:
        FramesError: values that are not attrs instances, or of several classes.
    """
    items = list(values)
    kinds = {type(v) for v in items}
    if cls is not None:
        kinds.add(cls)
    if len(kinds) > 1:
        listed = ", ".join(sorted(k.__name__ for k in kinds))
        raise FramesError(f"valeurs de plusieurs classes : {listed}")
    if not kinds:
        return _frame([], [])
    kind = kinds.pop()
    if not attrs.has(kind):
        raise FramesError(f"{kind.__name__} n'est pas une classe attrs")
    names = [f.name for f in attrs.fields(kind)]
    labelled = _labelled(kind)
    return _frame([_record(v, names, labelled) for v in items], _columns(names, labelled))


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
    if part is not None:
        cls = RESULT_PARTS.get(part)
        if cls is None:
            known = ", ".join(RESULT_PARTS)
            raise FramesError(f"partie inconnue : {part!r} (parties : {known})")
        return records_frame(getattr(result, part), cls)
    rows: list[dict[str, object]] = []
    for name in RESULT_PARTS:
        for value in getattr(result, name):
            reason = getattr(value, "reason", None)
            physicians = getattr(value, "physicians", None)
            physician = getattr(value, "physician_id", None)
            if physician is None and physicians:
                physician = ", ".join(p.physician_id for p in physicians)
            rows.append(
                {
                    "request_id": value.request_id,
                    "outcome": _OUTCOMES[name],
                    "level": getattr(value, "level", None),
                    "rank": getattr(value, "rank", None),
                    "physician_id": physician,
                    "persons": getattr(value, "persons", None),
                    "distance_km": getattr(value, "distance_km", None),
                    "router": getattr(value, "router", None),
                    "reason": None if reason is None else reason.value,
                    "reason_label": None if reason is None else reason.label,
                    "detail": getattr(value, "detail", None),
                    "explanation": getattr(value, "explanation", None),
                }
            )
    rows.sort(key=lambda row: (str(row["request_id"]), str(row["outcome"])))
    return _frame(rows, RESULT_COLUMNS)


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
    reason is in ``note``."""
    items = entries.entries if isinstance(entries, CapacityLedger) else tuple(entries)
    rows: list[dict[str, object]] = []
    for entry in items:
        row: dict[str, object] = {"kind": _LEDGER_KINDS[type(entry)]}
        for name in _LEDGER_COLUMNS[1:]:
            row[name] = _cell(getattr(entry, name, None), name)
        if isinstance(entry, PlacementReleased):
            row["note"] = entry.reason
        rows.append(row)
    return _frame(rows, _LEDGER_COLUMNS)


def rows_frame(
    rows: Iterable[Mapping[str, str]], columns: Sequence[str] | None = None
) -> pd.DataFrame:
    """Rows of text by column name (``register.pseudonymised_rows()``, whose columns are
    :data:`mt_access.privacy.EXPORT_COLUMNS`) as a frame, in ``columns`` order (the first
    row's keys by default)."""
    items = [dict(row) for row in rows]
    if columns is None:
        columns = list(items[0]) if items else []
    pd_ = _pandas()
    frame: pd.DataFrame = pd_.DataFrame(items, columns=list(columns))
    return frame
