"""The month-by-month simulation, on the real engine and the real policy.

Each simulated month, in this order (``b`` is the scenario's :class:`Behaviour`):

1. **Day 1, the GPs.** The scheduled events of the month (:mod:`~mt_access.simulation.events`),
   then random suspensions, withdrawals and capacity changes, all through the GP register's
   operations (:mod:`mt_access.gp_register`); capacity declarations go to the ledger.
2. **Day 1, exits.** Waiting patients who found a GP by other means leave
   (``other_solution``), and those who can no longer be reached leave after
   ``policy.max_contact_attempts`` failed contacts (``unreachable``).
3. **Arrivals.** The month's requests (and those of retiring GPs' patients) are received on
   their day: a :class:`~mt_access.RequestFile` each, acknowledged; the patient confirms
   (then waits) or no longer searches.
4. **Day ``b.match_day``, the matching run.** :func:`mt_access.match` on every waiting
   request received by then, with the GPs of the day and the capacity ledger;
   ``result.record(ledger)``. Rejected requests leave (``out_of_scope``). A comparison's run
   (indicators only) takes :class:`~mt_access.simulation.quick_match.QuickMatcher` instead
   when the policy allows it: the same placements, without the result's objects.
5. **Day ``b.match_day + b.answer_days``, answers.** Each placement is proposed to its GP,
   who accepts with probability ``b.acceptance``; a refusal releases the place (when the
   policy's ``refusal_frees_slot``) and the GP joins the request's ``declined_by``. A patient
   given a list (``k_nearest``, ``orientation``) calls the listed GPs in order, at most
   ``b.list_calls``: a GP with room for the household takes them with probability
   ``b.list_acceptance`` (recorded in the ledger with ``ledger.place``), else refuses; a GP
   without room says no without it being a refusal. With ``pull``, each GP with a place
   left takes the requests of their list in order, each with probability ``b.pull_uptake``.
6. **Month end.** The state of every request file, and each GP's capacity and load.

A household placed only in part (a split the policy allows) has found a GP: the persons left
continue as a new request (id ``<id>/1``) with the same reception date and level.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import numpy as np

from mt_access.calendar import Month
from mt_access.collector import collector_paused
from mt_access.engine import match
from mt_access.geo.distance import DistanceCache
from mt_access.lifecycle import ExitReason
from mt_access.model import Request
from mt_access.policy import Policy
from mt_access.resources import ResourceContact
from mt_access.result import MatchResult
from mt_access.simulation.answers import AnswerSteps
from mt_access.simulation.arrivals import ArrivalSteps
from mt_access.simulation.generator import (
    Arrival,
)
from mt_access.simulation.gp_steps import GPSteps
from mt_access.simulation.month_end import MonthEndSteps
from mt_access.simulation.quick_match import QuickResult
from mt_access.simulation.records import (
    ROUTE_LIST,
    ROUTE_PROPOSAL,
    ROUTE_PULL,
    GPMonthLoad,
    MonthState,
    RequestOutcome,
    SimulationRun,
)
from mt_access.simulation.state import proposed_and_accepted, waiting_file

if TYPE_CHECKING:
    from mt_access.simulation.scenario import Scenario

__all__ = [
    "ROUTE_LIST",
    "ROUTE_PROPOSAL",
    "ROUTE_PULL",
    "GPMonthLoad",
    "MonthState",
    "RequestOutcome",
    "SimulationRun",
    "proposed_and_accepted",
    "run_summary",
    "simulate",
    "waiting_file",
]


class _Simulation(GPSteps, ArrivalSteps, AnswerSteps, MonthEndSteps):
    """One replication: the month loop over the steps, each in its module."""

    # -- the run

    def run(self) -> None:
        for index, month in enumerate(self.s.months_simulated):
            self._month(index, month)

    def _month(self, i: int, month: Month) -> None:
        b = self.b
        first = month.first_day
        match_on = dt.date(month.year, month.month, b.match_day)
        answer_on = min(match_on + dt.timedelta(days=b.answer_days), month.last_day)
        self._gp_events(i, month, first)
        self._churn(i, month, first)
        self._exits(i, first)
        arrivals = self._arrivals(i, month)
        before = self._persons_placed
        placed_before = self._placed
        self._continuations = 0
        candidates = [t.request for t in self.active.values() if t.request.received <= match_on]
        result = self._match(candidates, match_on)
        for a in result.attached_resources:
            if a.first_time:
                self.involved[a.request_id][a.name] = ResourceContact(a.involved_on)
        result.record(self.ledger)
        if self.results is not None:
            assert isinstance(result, MatchResult)  # simulate() always calls match
            self.results.append(result)
        self._levels(result)
        for rejected in result.rejected:
            track = self.tracks[rejected.request_id]
            if track.file is not None:
                track.file = track.file.out_of_scope(match_on, comment=rejected.reason.label)
            self._finish(track, match_on, ExitReason.OUT_OF_SCOPE)
        self._answers(result, month, match_on, answer_on)
        self._lists(result, month, answer_on)
        self._pull(result, month, answer_on)
        self._month_end(i, month, match_on, arrivals, before, placed_before)

    # -- 4. the matching run

    def _match(self, candidates: list[Request], on: dt.date) -> MatchResult | QuickResult:
        """The month's matching run: :func:`mt_access.match`, or for a comparison's run
        (which keeps only indicators) :class:`~mt_access.simulation.quick_match.QuickMatcher`
        when the policy allows it (the same placements, levels and rejections, without the
        result's objects and explanations)."""
        physicians = list(self.physicians.values())
        if self.results is None and self.quick is not None:
            quick = self.quick(candidates, physicians, self.ledger, on)
            if quick is not None:
                return quick
        return match(
            candidates,
            physicians,
            self.policy,
            self.ledger,
            on,
            distances=self.distances,
            plugin_manager=self.pm,
            resource_contacts=self.involved,
            # a comparison keeps only indicators: no eligible sets (``simulate`` keeps them)
            explain="auto" if self.results is not None else "none",
        )

    def _levels(self, result: MatchResult | QuickResult) -> None:
        """A request's level is the one of its first matching run."""
        tracks = self.tracks
        for items in (result.waiting, result.placements, result.orientations):
            for item in items:
                track = tracks[item.request_id]
                if not track.rank:
                    track.level, track.rank = item.level, item.rank


def _levels(policy: Policy) -> tuple[str, ...]:
    return (*(lv.name for lv in policy.levels), policy.non_priority_level)


def _simulation(
    scenario: Scenario,
    policy: Policy,
    replication: int,
    distances: DistanceCache | None = None,
    arrivals_cache: dict[Any, list[Arrival]] | None = None,
    keep_results: bool = False,
    quick: bool = True,
) -> _Simulation:
    sim = _Simulation(
        scenario,
        policy,
        replication,
        distances=distances,
        arrivals_cache=arrivals_cache,
        keep_results=keep_results,
        quick=quick,
    )
    sim.run()
    return sim


def simulate(
    scenario: Scenario,
    policy: Policy,
    *,
    replication: int = 0,
    distances: DistanceCache | None = None,
) -> SimulationRun:
    """Simulate ``scenario`` under ``policy``, month by month, with the real engine.

    The same (scenario, policy, replication) gives the same run. The requests and the
    patients' decisions depend on the scenario's seed and the replication, not on the policy:
    two policies run on the same replication see the same patients.

    Raises:
        SimulationError: an event names an unknown GP, a commune has no point...
    """
    sim = _simulation(scenario, policy, replication, distances, keep_results=True)
    return SimulationRun(
        scenario=scenario,
        policy_code=policy.code,
        levels=_levels(policy),
        replication=replication,
        outcomes=sim.outcomes(),
        months=tuple(sim.months),
        loads=tuple(sim.loads),
        files={rid: t.file for rid, t in sim.tracks.items() if t.file is not None},
        ledger=sim.ledger,
        physicians=tuple(sim.physicians[k] for k in sorted(sim.physicians)),
        results=tuple(sim.results or ()),
    )


def run_summary(
    scenario: Scenario,
    policy: Policy,
    replication: int,
    arrivals_cache: dict[Any, list[Arrival]] | None = None,
    *,
    quick: bool = True,
) -> tuple[dict[tuple[str, str], float], np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """The indicators of one replication, and the monthly waiting list and placements
    (what a comparison keeps of a run). Python's cyclic garbage collector is paused while
    it runs (for the whole process, restored after): a replication allocates some hundred
    thousand small objects, nearly all acyclic and freed by reference counting, and the
    collector's passes over them took a quarter of its time. ``quick=False`` routes every month with
    :func:`mt_access.match` (the reference the tests compare
    the quick path with)."""
    from mt_access.simulation.metrics import summarise_columns

    with collector_paused():
        sim = _simulation(scenario, policy, replication, arrivals_cache=arrivals_cache, quick=quick)
        summary = summarise_columns(
            sim.outcome_columns(),
            sim.loads,
            _levels(policy),
            scenario.cohorts,
            sim.months[-1].month.last_day,
        )
        waiting = np.array(sim.waiting_series, dtype=np.int64)
        placed = np.array(sim.placed_series, dtype=np.int64)
        # Freed by reference counting while the collector is still paused (a replication
        # makes no reference cycle): otherwise the collection that resuming it triggers
        # would scan its ten thousand objects, still alive, for nothing.
        del sim
    return summary, waiting, placed
