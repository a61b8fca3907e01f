"""Shared pieces of the indicators: cell and array types, the enum orders, the error, and the
French formatting of numbers and dates.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import numpy.typing as npt

from mt_access.errors import MtAccessError
from mt_access.lifecycle import (
    ExitReason,
    RequestState,
)
from mt_access.model import ReferrerKind, SearchReason

__all__ = ["ALL_LEVELS", "Cell", "IndicatorsError"]


Cell = str | int | float | dt.date | None
"""A table cell: text, a count, a share or a number of days, a date, or nothing."""

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

_NEVER = dt.date.max.toordinal()
"""Exit ordinal of a request still in progress."""


_BEFORE_LIST = frozenset({RequestState.RECEIVED, RequestState.ACKNOWLEDGED, RequestState.CONFIRMED})
_EXIT_REASONS: tuple[ExitReason, ...] = tuple(ExitReason)
_MT_FOUND = _EXIT_REASONS.index(ExitReason.MT_FOUND)
_REASONS: tuple[SearchReason, ...] = tuple(SearchReason)
_REFERRERS: tuple[ReferrerKind, ...] = tuple(ReferrerKind)
ALL_LEVELS = "ensemble"
"""The label of the row that adds up every level."""


class IndicatorsError(MtAccessError, ValueError):
    """Indicators cannot be computed as asked (a period ending before it starts, a request
    without its file, an unknown table...). Messages name ids and dates, never a patient."""


def _fr_date(day: dt.date) -> str:
    return day.strftime("%d/%m/%Y")


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _n(value: int) -> str:
    return f"{value:,}".replace(",", " ")


def _signed(value: int) -> str:
    return f"+{_n(value)}" if value > 0 else _n(value)


def _decimal(value: float) -> str:
    text = f"{value:.1f}".replace(".", ",")
    return text[:-2] if text.endswith(",0") else text


def _days(value: float) -> str:
    return f"{_decimal(value)} jour{'s' if value >= 2 else ''}"


def _pct(share: float) -> str:
    return f"{_decimal(share * 100)} %"


def _percentiles(values: IntArray) -> tuple[float | None, float | None]:
    if values.size == 0:
        return None, None
    median, p90 = np.percentile(values.astype(np.float64), [50, 90])
    return float(median), float(p90)
