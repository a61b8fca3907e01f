"""The GP part of :class:`~mt_access.register.Register`: GPs join, change capacity, suspend,
resume and withdraw (:mod:`mt_access.gp_register`), their declarations going to the ledger.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from mt_access.calendar import Month
from mt_access.gp_register import change_capacity as _change_capacity
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
            RegisterOperationError: a GP with that id exists.
        """
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
        capacity: int,
        *,
        month: Month | None = None,
        note: str = "",
        period: Period = "month",
    ) -> CapacityDeclared:
        """A new monthly capacity, declared on ``on``, from ``month`` (the month of ``on`` by
        default) onwards; places already held that month are kept. With ``period="year"``, a
        yearly capacity for the calendar year of ``month`` onwards (the ledger enforces both,
        see :mod:`mt_access.ledger`)."""
        with self._operation():
            declared = _change_capacity(
                self.physician(physician_id),
                month or Month.of(on),
                capacity,
                on,
                note,
                period=period,
            )
            self._declare(declared)
            return declared

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
