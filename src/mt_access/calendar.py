"""Months, the unit of GP intake capacity."""

from __future__ import annotations

import datetime as dt
import re

import attrs

__all__ = ["MONTH_NAMES_FR", "Month"]

MONTH_NAMES_FR: tuple[str, ...] = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)
"""French month names, January first (for labels such as « mars 2026 »)."""

_MONTH_RE = re.compile(r"^(\d{4})-(\d{2})$")


@attrs.frozen(order=True)
class Month:
    """A calendar month, e.g. ``Month(2026, 3)``; ``str(m)`` is ``"2026-03"``."""

    year: int = attrs.field(validator=attrs.validators.and_(attrs.validators.ge(1900)))
    month: int = attrs.field(
        validator=attrs.validators.and_(attrs.validators.ge(1), attrs.validators.le(12))
    )

    @classmethod
    def of(cls, day: dt.date) -> Month:
        """The month containing ``day``."""
        return cls(day.year, day.month)

    @classmethod
    def parse(cls, text: str) -> Month:
        """Parse ``"YYYY-MM"``; raise ``ValueError`` otherwise."""
        m = _MONTH_RE.match(text.strip())
        if not m:
            raise ValueError(f"mois attendu au format AAAA-MM, reçu {text!r}")
        return cls(int(m.group(1)), int(m.group(2)))

    @property
    def first_day(self) -> dt.date:
        return dt.date(self.year, self.month, 1)

    @property
    def last_day(self) -> dt.date:
        return self.next().first_day - dt.timedelta(days=1)

    def next(self) -> Month:
        return Month(self.year + self.month // 12, self.month % 12 + 1)

    def previous(self) -> Month:
        return Month(self.year - (self.month == 1), (self.month - 2) % 12 + 1)

    @property
    def label(self) -> str:
        """The month in French words: ``mars 2026``."""
        return f"{MONTH_NAMES_FR[self.month - 1]} {self.year}"

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"
