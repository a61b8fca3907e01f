"""Steps 1 and 2 of a simulated month (day 1): the GPs' scheduled events and random churn,
through the GP register's operations, then the exits of waiting patients who found a GP by
other means or can no longer be reached.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from typing import Any

from mt_access.calendar import Month
from mt_access.gp_register import RegisterError as _RegisterError
from mt_access.gp_register import change_capacity, join, suspend, withdraw
from mt_access.lifecycle import ExitReason
from mt_access.model import Physician
from mt_access.simulation.events import (
    CapacityChange,
    GPJoins,
    GPRetires,
    GPSuspends,
    GPWithdraws,
    month_index,
)
from mt_access.simulation.generator import (
    CHURN,
    EVENTS,
    SimulationError,
    gp_names,
    rng_for,
)
from mt_access.simulation.state import SimulationState

__all__ = ["GPSteps"]


class GPSteps(SimulationState):
    """Day 1 of the month: GP events, churn, exits."""

    def _gp_events(self, i: int, month: Month, first: dt.date) -> None:
        joins = 0
        for e_index, event in enumerate(self.s.events):
            if isinstance(event, GPJoins):
                joins += 1
            if month_index(event.month, self.s.start) != i:
                continue
            if isinstance(event, GPRetires):
                if event.physician_id is not None:
                    self._apply(
                        event.physician_id, event, lambda p: withdraw(p, first, "cessation")
                    )
            elif isinstance(event, GPJoins):
                self._join(event, joins, e_index, month, first)
            elif isinstance(event, CapacityChange):
                p = self._physician(event.physician_id, event)
                try:
                    entry = change_capacity(p, month, event.capacity, first)
                except _RegisterError:
                    continue
                self.ledger.record(entry)
            elif isinstance(event, GPSuspends):
                until = month
                for _ in range(event.months - 1):
                    until = until.next()
                last = until.last_day
                self._apply(event.physician_id, event, lambda p, last=last: suspend(p, first, last))
            elif isinstance(event, GPWithdraws):
                self._apply(event.physician_id, event, lambda p: withdraw(p, first, "retrait"))

    def _apply(self, physician_id: str, event: object, operation: Any) -> None:
        """Apply a register operation; a GP who already left the scheme is left as is."""
        physician = self._physician(physician_id, event)
        with contextlib.suppress(_RegisterError):
            self.physicians[physician_id] = operation(physician)

    def _join(self, event: GPJoins, k: int, e_index: int, month: Month, first: dt.date) -> None:
        pid = event.physician_id or f"MGN{k}"
        if pid in self.physicians:
            raise SimulationError(f"GPJoins : le médecin {pid} fait déjà partie du scénario")
        commune = event.commune
        if commune is None:
            rng = rng_for(self.seed, EVENTS, e_index)
            w = self.territory.population
            commune = self.territory.codes[int(rng.choice(w.size, p=w / w.sum()))]
        name = event.name or gp_names(self.seed, 1, stream=1000 + e_index)[0]
        candidate = Physician(id=pid, name=name, commune=commune)
        joined, declared = join(
            candidate,
            first,
            monthly_capacity=event.capacity,
            modalities=event.modalities,
            accepted_communes=event.accepted_communes,
        )
        self.physicians[pid] = joined
        self.ledger.record(declared)

    def _churn(self, i: int, month: Month, first: dt.date) -> None:
        b = self.b
        if not (b.suspension or b.withdrawal or b.capacity_change):
            return
        ids = sorted(self.physicians)
        u = rng_for(self.seed, CHURN, self.rep, i).random((len(ids), 4))
        for row, pid in zip(u.tolist(), ids, strict=True):
            physician = self.physicians[pid]
            if not physician.is_available_on(first):
                continue
            if row[0] < b.withdrawal:
                self.physicians[pid] = withdraw(physician, first, "retrait")
                continue
            if row[1] < b.suspension:
                self.physicians[pid] = suspend(physician, first, month.last_day)
            if row[2] < b.capacity_change:
                current = self.ledger.capacity(
                    pid, month, default=self._capacity_default(physician)
                )
                new = current + (1 if row[3] < 0.5 or current == 0 else -1)
                self.ledger.record(change_capacity(physician, month, new, first))

    # -- 2. exits

    def _exits(self, i: int, first: dt.date) -> None:
        attempts = self.policy.max_contact_attempts
        for rid in self.exit_bucket.pop(i, ()):
            track = self.active.get(rid)
            if track is None:
                continue
            arrival = track.arrival
            file = track.file
            if arrival.other_after <= arrival.unreachable_after:
                reason = ExitReason.OTHER_SOLUTION
                if file is not None:
                    file = file.other_solution(first)
            else:
                reason = ExitReason.UNREACHABLE
                while file is not None and not file.is_exited:
                    file = file.record_contact_attempt(first, False, attempts)
            track.file = file
            self._finish(track, first, reason)
