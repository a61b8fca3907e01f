"""The period indicators are computed for: a calendar month or any range of days."""

from __future__ import annotations

import datetime as dt

import attrs

from mt_access.calendar import MONTH_NAMES_FR, Month
from mt_access.errors import MtAccessError
from mt_access.indicators.base import IndicatorsError, fr_date

__all__ = ["Period"]


@attrs.frozen
class Period:
    """A range of days, both ends included: a calendar month (:meth:`month`) or any range.

    Attributes:
        start: the first day.
        end: the last day (``>= start``).
    """

    start: dt.date
    end: dt.date

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.start, dt.date) or not isinstance(self.end, dt.date):
            raise IndicatorsError("période : dates de début et de fin attendues")
        if self.end < self.start:
            raise IndicatorsError(
                f"période : la fin ({self.end:%d/%m/%Y}) précède le début ({self.start:%d/%m/%Y})"
            )

    @classmethod
    def month(cls, month: Month | str) -> Period:
        """The calendar month ``month`` (a :class:`~mt_access.calendar.Month` or ``"2026-03"``)."""
        m = Month.parse(month) if isinstance(month, str) else month
        return cls(m.first_day, m.last_day)

    @classmethod
    def of(cls, value: Period | Month | str) -> Period:
        """``value`` as a period: a period is returned as is, a month (or ``"YYYY-MM"``)
        becomes that calendar month."""
        if isinstance(value, Period):
            return value
        try:
            return cls.month(value)
        except (ValueError, OverflowError, MtAccessError) as exc:  # Python's text: English
            raise IndicatorsError(
                f"période : mois attendu au format AAAA-MM, de 1900-01 à 9999-11 (reçu {value})"
            ) from exc

    @property
    def months(self) -> tuple[Month, ...]:
        """The calendar months the period overlaps, in order."""
        out = [Month.of(self.start)]
        last = Month.of(self.end)
        while out[-1] < last:
            out.append(out[-1].next())
        return tuple(out)

    @property
    def days(self) -> int:
        """Number of days, both ends included."""
        return (self.end - self.start).days + 1

    @property
    def is_month(self) -> bool:
        """Whether the period is exactly one calendar month."""
        m = Month.of(self.start)
        return self.start == m.first_day and self.end == m.last_day

    @property
    def label(self) -> str:
        """French label: ``mars 2026`` for a month, else ``du 01/03/2026 au 15/04/2026``."""
        if self.is_month:
            return f"{MONTH_NAMES_FR[self.start.month - 1]} {self.start.year}"
        return f"du {fr_date(self.start)} au {fr_date(self.end)}"

    def previous(self) -> Period:
        """The period just before: the previous month for a month, else the same number of
        days ending the day before ``start``."""
        if self.is_month:
            return Period.month(Month.of(self.start).previous())
        end = self.start - dt.timedelta(days=1)
        return Period(end - dt.timedelta(days=self.days - 1), end)

    def __contains__(self, day: object) -> bool:
        return isinstance(day, dt.date) and self.start <= day <= self.end

    def __str__(self) -> str:
        return self.label
