"""Step 6 of a simulated month: the state of every request file, each GP's capacity and load;
and, once the run is over, what became of each request (:class:`RequestOutcome`).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict

from mt_access.calendar import Month
from mt_access.hooks import Hooks
from mt_access.lifecycle import (
    ExitReason,
    RequestState,
)
from mt_access.simulation.metrics import OutcomeColumns, outcome_columns
from mt_access.simulation.records import GPMonthLoad, MonthState, RequestOutcome
from mt_access.simulation.state import SimulationState, Track

__all__ = ["MonthEndSteps"]


class MonthEndSteps(SimulationState):
    """The month-end records and the run's outcomes."""

    def _month_end(
        self,
        i: int,
        month: Month,
        match_on: dt.date,
        arrivals: int,
        persons_before: int,
        placed_before: int,
    ) -> None:
        self.waiting_series.append(len(self.active))
        self.placed_series.append(self._placed - placed_before)
        if self.results is None:  # a comparison's run: the counts above are all it keeps
            states: Counter[RequestState] = Counter()
            exits: Counter[ExitReason] = Counter()
        else:
            states = Counter(t.state for t in self.tracks.values())
            exits = Counter(t.reason for t in self.tracks.values() if t.reason is not None)
        placed_now = self._placed
        persons_now = self._persons_placed
        self.months.append(
            MonthState(
                month=month,
                arrivals=arrivals,
                continuations=self._continuations,
                files=len(self.tracks),
                by_state=tuple((s, states.get(s, 0)) for s in RequestState),
                exits=tuple((r, exits.get(r, 0)) for r in ExitReason),
                placed=placed_now - placed_before,
                persons_placed=persons_now - persons_before,
            )
        )
        carry = self.policy.carry_over
        previous = month.previous()
        for pid in sorted(self.physicians):
            physician = self.physicians[pid]
            available = physician.is_available_on(match_on)
            default = self._capacity_default(physician)
            capacity = 0
            if available:
                capacity = self.ledger.capacity(pid, month, default=default)
                if carry:
                    capacity += max(
                        0,
                        self.ledger.capacity(pid, previous, default=default)
                        - self.ledger.used(pid, previous),
                    )
            self.loads.append(
                GPMonthLoad(pid, month, available, capacity, self.ledger.used(pid, month))
            )

    def _classify_rest(self) -> None:
        """The level, on reception, of the requests that left before any matching run."""
        pending: dict[Month, list[Track]] = defaultdict(list)
        for track in self.tracks.values():
            if not track.rank:
                pending[Month.of(track.request.received)].append(track)
        for month, tracks in sorted(pending.items()):
            classes = Hooks(self.pm).classify(
                [t.request for t in tracks], self.policy, month.first_day
            )
            for track, c in zip(tracks, classes, strict=True):
                track.level, track.rank = c.level, c.rank

    def outcome_columns(self) -> OutcomeColumns:
        """What :meth:`outcomes` gives, as the columns the indicators read (a comparison's
        run: no :class:`RequestOutcome` per request)."""
        self._classify_rest()
        cohorts = self.cohorts
        tracks = list(self.tracks.values())
        reasons = [t.reason for t in tracks]
        ended = [t.end for t in tracks]
        return outcome_columns(
            level=[t.level for t in tracks],
            fragile=[t.arrival.fragile for t in tracks],
            cohort=[cohorts[t.arrival.cohort] if t.arrival.cohort >= 0 else "" for t in tracks],
            original=[t.parent is None for t in tracks],
            received=[t.request.received for t in tracks],
            state=[t.state for t in tracks],
            exit_reason=reasons,
            end=[e if r is not None else None for e, r in zip(ended, reasons, strict=True)],
            distance=[t.distance for t in tracks],
            persons_placed=[t.persons_placed for t in tracks],
        )

    def outcomes(self) -> tuple[RequestOutcome, ...]:
        self._classify_rest()
        cohorts = self.cohorts
        out = []
        for rid, t in self.tracks.items():
            reason = t.reason
            out.append(
                RequestOutcome(
                    request_id=rid,
                    parent_id=t.parent,
                    received=t.request.received,
                    commune=t.request.commune,
                    persons=t.request.persons,
                    level=t.level,
                    rank=t.rank,
                    fragile=t.arrival.fragile,
                    cohort=cohorts[t.arrival.cohort] if t.arrival.cohort >= 0 else "",
                    state=t.state,
                    exit_reason=reason,
                    end=t.end if reason is not None else None,
                    physician_id=t.physician_id,
                    distance_km=t.distance,
                    route=t.route,
                    persons_placed=t.persons_placed,
                )
            )
        return tuple(out)
