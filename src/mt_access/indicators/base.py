"""Shared pieces of the indicators: cell and array types, the enum orders, the error, and the
French formatting of numbers and dates.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import numpy.typing as npt

from mt_access.errors import IndicatorsError
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

NEVER = dt.date.max.toordinal()
"""Exit ordinal of a request still in progress."""


BEFORE_LIST = frozenset({RequestState.RECEIVED, RequestState.ACKNOWLEDGED, RequestState.CONFIRMED})
EXIT_REASONS: tuple[ExitReason, ...] = tuple(ExitReason)
MT_FOUND = EXIT_REASONS.index(ExitReason.MT_FOUND)
REASONS: tuple[SearchReason, ...] = tuple(SearchReason)
REFERRERS: tuple[ReferrerKind, ...] = tuple(ReferrerKind)
ALL_LEVELS = "ensemble"
"""The label of the row that adds up every level."""


def fr_date(day: dt.date) -> str:
    return day.strftime("%d/%m/%Y")


def share_of(part: float, whole: float) -> float | None:
    return part / whole if whole else None


def count_text(value: int) -> str:
    return f"{value:,}".replace(",", " ")


def places_text(value: float) -> str:
    """A number of places: a count, or a decimal when a yearly capacity's twelfths leave a
    fraction (« 12,5 »)."""
    return count_text(int(value)) if value == int(value) else decimal_text(value)


def signed_text(value: int) -> str:
    return f"+{count_text(value)}" if value > 0 else count_text(value)


def decimal_text(value: float) -> str:
    text = f"{value:.1f}".replace(".", ",")
    return text[:-2] if text.endswith(",0") else text


def days_text(value: float) -> str:
    return f"{decimal_text(value)} jour{'s' if value >= 2 else ''}"


def pct_text(share: float) -> str:
    return f"{decimal_text(share * 100)} %"


def percentiles(values: IntArray) -> tuple[float | None, float | None]:
    if values.size == 0:
        return None, None
    median, p90 = np.percentile(values.astype(np.float64), [50, 90])
    return float(median), float(p90)
