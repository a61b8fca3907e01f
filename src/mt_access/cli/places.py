"""A GP's places in a month, as the command line shows them: one definition for
``medecin liste`` and the ``apparier`` table, so that both always agree."""

from __future__ import annotations

import datetime as dt

import attrs

from mt_access.calendar import Month
from mt_access.capacity_view import CapacityInForce, capacity_in_force
from mt_access.ledger import CapacityLedger
from mt_access.model import Physician
from mt_access.register import Register

__all__ = ["MonthPlaces", "month_places", "places_by_physician"]


@attrs.frozen
class MonthPlaces:
    """A GP's places in the month of a date.

    Attributes:
        capacity: the monthly capacity in force (declared, else the policy's default); for a
            GP with a yearly capacity and no monthly cap, what the year allows this month
            (``used + left`` before availability is applied).
        used: persons of the active placements counted in the month (proposals held and
            acceptances; a refused or withdrawn proposal frees its place).
        left: persons that can still be placed in the month (``capacity`` plus the previous
            month's unused places when the policy carries them over, minus ``used``); 0 when
            the GP is not available on the date (suspended, withdrawn, not taking patients).
        caps: the monthly and yearly caps in force (``None``: a plain monthly capacity).
    """

    capacity: int
    used: int
    left: int
    caps: CapacityInForce | None = None

    @property
    def capacity_text(self) -> str:
        """The capacity column: the number for a GP with a monthly capacity alone, else
        « 150 par an (reste 37 en 2026) » (« 10 par mois et ... » with both caps)."""
        if self.caps is None or not self.caps.has_yearly:
            return str(self.capacity)
        return self.caps.label()

    def after(self, placed: int) -> MonthPlaces:
        """The places once ``placed`` more persons are placed in the month (the yearly
        places left shown by ``capacity_text`` are those before)."""
        return MonthPlaces(self.capacity, self.used + placed, max(self.left - placed, 0), self.caps)


def month_places(
    register: Register, physician: Physician, on: dt.date, *, ledger: CapacityLedger | None = None
) -> MonthPlaces:
    """``physician``'s places in the month of ``on``, from the register's ledger (``ledger``:
    that copy of it, read once for several GPs; only read, never changed)."""
    policy = register.policy
    ledger = register.ledger if ledger is None else ledger
    month = Month.of(on)
    default = policy.monthly_capacity_of(physician)
    left = ledger.remaining(physician.id, month, default=default, carry_over=policy.carry_over)
    used = ledger.used(physician.id, month)
    caps = capacity_in_force(ledger, physician.id, month, default=default)
    cap = caps.monthly
    return MonthPlaces(
        capacity=used + left if cap is None else cap,
        used=used,
        left=left if physician.is_available_on(on) else 0,
        caps=caps,
    )


def places_by_physician(register: Register, on: dt.date) -> dict[str, MonthPlaces]:
    """:func:`month_places` of every GP of the register, by id (the ledger read once)."""
    ledger = register.ledger
    return {p.id: month_places(register, p, on, ledger=ledger) for p in register.physicians()}
