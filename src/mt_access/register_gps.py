"""The GP part of :class:`~mt_access.register.Register`: GPs join, change capacity, suspend,
resume and withdraw (:mod:`mt_access.gp_register`), their declarations going to the ledger.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from mt_access.calendar import Month
from mt_access.gp_register import change_capacity as _change_capacity
from mt_access.gp_register import identifier_problem
from mt_access.gp_register import join as _join
from mt_access.gp_register import resume as _resume
from mt_access.gp_register import suspend as _suspend
from mt_access.gp_register import withdraw as _withdraw
from mt_access.ledger import (
    CapacityDeclared,
    LedgerEntry,
    Period,
)
from mt_access.model import Modality, Physician
from mt_access.register_base import RegisterBase, RegisterOperationError

if TYPE_CHECKING:
    pass

__all__ = ["GPOperations"]


class GPOperations(RegisterBase):
    """The register's operations on the volunteer GPs."""

    def add_physician(self, physician: Physician) -> Physician:
        """Add a GP to the register (a candidate, e.g. from the RPPS directory, or a GP
        already taking part: see :func:`mt_access.gp_register.join`).

        Raises:
            RegisterOperationError: a GP with that id exists, or the id is not one a GP may
                have (:func:`mt_access.gp_register.identifier_problem`).
        """
        problem = identifier_problem(physician.id)
        if problem is not None:
            raise RegisterOperationError(f"identifiant de médecin refusé : {problem}")
        with self._operation():
            assert self._physicians is not None
            if physician.id in self._physicians:
                raise RegisterOperationError(f"le médecin {physician.id} existe déjà")
            self._put(physician)
        return physician

    def update_physicians(self, physicians: Iterable[Physician]) -> None:
        """Replace GPs by id (e.g. after :func:`mt_access.rpps.merge_directory`), adding the
        new ones, in one transaction."""
        with self._operation():
            for physician in physicians:
                self._put(physician)

    def _put(self, physician: Physician) -> None:
        assert self._physicians is not None
        self.store.put_physician(physician)
        self._physicians[physician.id] = physician

    def _declare(self, entry: LedgerEntry) -> None:
        assert self._ledger is not None
        self._ledger.record(entry)
        self.store.append_ledger([entry])

    def join(
        self,
        physician_id: str,
        on: dt.date,
        *,
        monthly_capacity: int,
        modalities: Iterable[Modality | str],
        accepted_communes: Iterable[str] = (),
        comment: str = "",
        period: Period = "month",
    ) -> Physician:
        """The GP signs the charter: active from ``on`` with a monthly capacity (a yearly one
        with ``period="year"``), modalities and accepted communes (see
        :func:`mt_access.gp_register.join`)."""
        with self._operation():
            physician, declared = _join(
                self.physician(physician_id),
                on,
                monthly_capacity=monthly_capacity,
                modalities=modalities,
                accepted_communes=accepted_communes,
                comment=comment,
                period=period,
            )
            self._put(physician)
            self._declare(declared)
            return physician

    def change_capacity(
        self,
        physician_id: str,
        on: dt.date,
        capacity: int | None,
        *,
        month: Month | None = None,
        note: str = "",
        period: Period = "month",
        lift_other: bool = False,
    ) -> CapacityDeclared:
        """A new monthly capacity, declared on ``on``, from ``month`` (the month of ``on`` by
        default) onwards; places already held that month are kept. With ``period="year"``, a
        yearly capacity for the calendar year of ``month`` onwards (the ledger enforces both,
        see :mod:`mt_access.ledger`).

        ``capacity=None`` lifts the cap of ``period`` instead; ``lift_other=True`` also lifts
        the cap of the other period, in the same operation, when one is in force (switching a
        GP from a monthly to a yearly capacity, or back). A GP is never left with a lifted
        monthly cap and no yearly capacity; with neither cap, the default capacity applies.

        Raises:
            RegisterOperationError: a cap to lift is not in force, or the monthly cap would
                be lifted with no yearly capacity in force that year.
            RegisterError: see :func:`mt_access.gp_register.change_capacity`.
        """
        with self._operation():
            physician = self.physician(physician_id)
            start = month or Month.of(on)
            declared = _change_capacity(physician, start, capacity, on, note, period=period)
            lifts = [declared] if capacity is None else []
            if capacity is not None:
                self._declare(declared)
            if lift_other:
                other: Period = "year" if period == "month" else "month"
                lift = _change_capacity(physician, start, None, on, note, period=other)
                if self._cap_in_force(lift):
                    lifts.append(lift)
            for lift in lifts:
                self._lift(lift)
            return declared

    def _cap_in_force(self, lift: CapacityDeclared) -> bool:
        """Whether the cap ``lift`` would lift is in force for its month (year)."""
        assert self._ledger is not None
        pid, month = lift.physician_id, lift.month
        if lift.period == "year":
            return self._ledger.yearly_capacity(pid, month.year) is not None
        # Without a yearly capacity, the monthly cap is always in force (declared or default).
        return self._ledger.monthly_cap(pid, month) is not None

    def _lift(self, lift: CapacityDeclared) -> None:
        assert self._ledger is not None
        pid, month = lift.physician_id, lift.month
        if not self._cap_in_force(lift):
            what = f"en {month.year}" if lift.period == "year" else f"en {month}"
            kind = "annuel" if lift.period == "year" else "mensuel"
            raise RegisterOperationError(
                f"le médecin {pid} n'a pas de plafond {kind} {what} : rien à lever"
            )
        if lift.period == "month" and self._ledger.yearly_capacity(pid, month.year) is None:
            raise RegisterOperationError(
                f"le médecin {pid} n'a pas de capacité annuelle en {month.year} : le plafond "
                "mensuel ne peut être levé que si une capacité annuelle le remplace "
                "(déclarez-la avec la période « year », --par-an en ligne de commande)"
            )
        self._declare(lift)

    def suspend(
        self, physician_id: str, on: dt.date, until: dt.date | None, note: str = ""
    ) -> Physician:
        """Suspend the GP's participation from ``on`` through ``until`` (open-ended if None)."""
        return self._gp(physician_id, lambda p: _suspend(p, on, until, note))

    def resume(self, physician_id: str, on: dt.date, note: str = "") -> Physician:
        """End a suspension early."""
        return self._gp(physician_id, lambda p: _resume(p, on, note))

    def withdraw_physician(self, physician_id: str, on: dt.date, note: str = "") -> Physician:
        """The GP leaves the scheme (no reason needed). Proposals already made stay for the
        GP to answer."""
        return self._gp(physician_id, lambda p: _withdraw(p, on, note))

    def _gp(self, physician_id: str, change: Callable[[Physician], Physician]) -> Physician:
        with self._operation():
            physician = change(self.physician(physician_id))
            self._put(physician)
            return physician
