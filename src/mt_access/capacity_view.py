"""A GP's capacity as people see it: per month, per calendar year or both, in French, and how a
yearly capacity counts in a monthly indicator.

The ledger (:mod:`mt_access.ledger`) enforces a monthly cap, a yearly cap, or both. Wherever a
month's capacity is shown (the availability map, ``mt-access medecin liste``, the places table
of ``apparier``), :meth:`CapacityInForce.label` says which: « 10 par mois », « 150 par an
(reste 37 en 2026) », « 10 par mois et 150 par an (reste 37 en 2026) ». « reste » is the yearly
capacity minus the persons of the active placements counted in that calendar year, as the
ledger holds them now.

**A yearly capacity in a monthly indicator** (the places declared over a period, the rate of
places taken): each month counts *a twelfth* of the yearly capacity in force that year
(:meth:`CapacityInForce.month_share`), so that the twelve months of a year add up to exactly
the yearly capacity, whatever the month the GP takes their patients in. A GP with both caps
counts, each month, the smaller of the monthly cap and that twelfth. A twelfth need not be a
whole number (150 a year: 12.5 a month). A GP who takes most of their year's patients in one
month shows, for that month alone, a rate above 100 %; over the whole year the rate is exact.

No I/O, no printing.
"""

from __future__ import annotations

from fractions import Fraction

import attrs

from mt_access.calendar import Month
from mt_access.ledger import CapacityLedger

__all__ = ["CapacityInForce", "capacity_in_force", "places_number"]


@attrs.frozen
class CapacityInForce:
    """The caps enforced for a GP in a month.

    Attributes:
        month: the month.
        monthly: the monthly cap (``None``: no monthly cap, a yearly capacity being in force).
        yearly: the yearly capacity in force in the month's calendar year (``None``: none).
        used_in_year: persons of the GP's active placements counted in that calendar year.
    """

    month: Month
    monthly: int | None
    yearly: int | None
    used_in_year: int = 0

    @property
    def year_left(self) -> int | None:
        """Places left in the calendar year (``None`` without a yearly capacity)."""
        return None if self.yearly is None else max(0, self.yearly - self.used_in_year)

    @property
    def has_yearly(self) -> bool:
        return self.yearly is not None

    def yearly_label(self) -> str:
        """« 150 par an (reste 37 en 2026) »; empty without a yearly capacity."""
        if self.yearly is None:
            return ""
        return f"{self.yearly} par an (reste {self.year_left} en {self.month.year})"

    def label(self) -> str:
        """The capacity in French: « 10 par mois », « 150 par an (reste 37 en 2026) » or
        « 10 par mois et 150 par an (reste 37 en 2026) »."""
        parts = [] if self.monthly is None else [f"{self.monthly} par mois"]
        if self.yearly is not None:
            parts.append(self.yearly_label())
        return " et ".join(parts) or "aucune"

    def month_share(self) -> Fraction:
        """The places the month counts in an indicator: the monthly cap; a twelfth of the
        yearly capacity; the smaller of both when both are in force (module docstring)."""
        shares = [] if self.monthly is None else [Fraction(self.monthly)]
        if self.yearly is not None:
            shares.append(Fraction(self.yearly, 12))
        return min(shares) if shares else Fraction(0)


def capacity_in_force(
    ledger: CapacityLedger, physician_id: str, month: Month, *, default: int
) -> CapacityInForce:
    """The caps the ledger enforces for ``physician_id`` in ``month``; ``default`` is the
    monthly capacity of a GP who declared none (``Policy.monthly_capacity_of``)."""
    return CapacityInForce(
        month=month,
        monthly=ledger.monthly_cap(physician_id, month, default=default),
        yearly=ledger.yearly_capacity(physician_id, month.year),
        used_in_year=ledger.used_in_year(physician_id, month.year),
    )


def places_number(value: Fraction) -> int | float:
    """A number of places for a table: an integer when whole, else rounded to a tenth."""
    if value.denominator == 1:
        return int(value)
    return round(float(value), 1)
