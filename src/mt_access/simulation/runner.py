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
   ``result.record(ledger)``. Rejected requests leave (``out_of_scope``).
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

import contextlib
import datetime as dt
import functools
from collections import Counter, defaultdict
from collections.abc import Iterable
from typing import Any

import attrs
import numpy as np
import pluggy

from mt_access.calendar import Month
from mt_access.engine import match
from mt_access.geo.communes import CommuneReference, bundled_reference
from mt_access.geo.distance import DistanceCache
from mt_access.gp_register import RegisterError as _RegisterError
from mt_access.gp_register import change_capacity, join, suspend, withdraw
from mt_access.hooks import Hooks, plugin_manager
from mt_access.ledger import CapacityLedger
from mt_access.lifecycle import (
    Actor,
    Event,
    ExitReason,
    RequestFile,
    RequestState,
    Transition,
)
from mt_access.model import Household, Physician, PreviousDoctor, Request
from mt_access.policy import Policy
from mt_access.result import MatchResult, Placement
from mt_access.simulation.events import (
    CapacityChange,
    GPJoins,
    GPRetires,
    GPSuspends,
    GPWithdraws,
    month_index,
)
from mt_access.simulation.generator import (
    ARRIVALS,
    CHURN,
    EVENTS,
    EXTRA,
    Arrival,
    SimulationError,
    TerritoryData,
    generate_requests,
    gp_names,
    near_weights,
    rng_for,
    territory_data,
)
from mt_access.simulation.scenario import Scenario

__all__ = [
    "GPMonthLoad",
    "MonthState",
    "RequestOutcome",
    "SimulationRun",
    "simulate",
]

ROUTE_PROPOSAL = "proposition"
ROUTE_LIST = "liste"
ROUTE_PULL = "liste partagée"


@attrs.frozen
class RequestOutcome:
    """What became of one simulated request by the end of the simulation.

    Attributes:
        request_id: the request.
        parent_id: for the persons left of a household placed in part, the original request.
        received: the reception date (the original one for a continuation).
        commune: INSEE code of the patient's commune.
        persons: persons covered.
        level: its level (the policy's level name) in its first matching run, or on
            reception when it left before any; ``rank`` its rank.
        fragile: meets a Sud Est Grenoblois priority criterion (over 70, under 6, ALD,
            CSS/AME) on reception.
        cohort: the ``GPRetires`` cohort that brought it, else ``""``.
        state: its lifecycle state at the end (``MT_FOUND``, ``EXITED`` or ``WAITING``).
        exit_reason: why it exited, else ``None``.
        end: the date it exited, else ``None``.
        physician_id: the GP who accepted the patient (``MT_FOUND``).
        distance_km: the distance to that GP.
        route: how: ``proposition`` (placed by the engine and accepted), ``liste`` (a list
            the patient called) or ``liste partagée`` (a GP's pull list); ``""`` otherwise.
        persons_placed: persons placed with GPs for it.
    """

    request_id: str
    parent_id: str | None
    received: dt.date
    commune: str
    persons: int
    level: str
    rank: int
    fragile: bool
    cohort: str
    state: RequestState
    exit_reason: ExitReason | None
    end: dt.date | None
    physician_id: str | None
    distance_km: float | None
    route: str
    persons_placed: int

    @property
    def placed(self) -> bool:
        return self.state is RequestState.MT_FOUND

    @property
    def wait_days(self) -> int | None:
        """Days from reception to the GP's acceptance, for a placed request."""
        if self.state is not RequestState.MT_FOUND or self.end is None:
            return None
        return (self.end - self.received).days


@attrs.frozen
class MonthState:
    """The request files at the end of a simulated month.

    Attributes:
        month: the month.
        arrivals: requests received during the month (continuations not counted).
        continuations: continuations created during the month.
        files: request files created so far (arrivals and continuations).
        by_state: number of files in each lifecycle state, every state listed.
        exits: number of files exited so far, by exit reason, every reason listed.
        placed: requests whose patient found a GP through the scheme this month.
        persons_placed: persons placed with GPs this month (the ledger's active placements).
    """

    month: Month
    arrivals: int
    continuations: int
    files: int
    by_state: tuple[tuple[RequestState, int], ...]
    exits: tuple[tuple[ExitReason, int], ...]
    placed: int
    persons_placed: int

    def count(self, state: RequestState) -> int:
        return dict(self.by_state)[state]


@attrs.frozen
class GPMonthLoad:
    """One GP's month: the capacity offered and the persons placed.

    Attributes:
        physician_id: the GP.
        month: the month.
        available: active and accepting new patients on the day of the matching run.
        capacity: persons the GP could take that month (capacity in force, plus the
            carry-over when the policy has one); 0 when not available.
        used: persons placed with the GP, counted in that month.
    """

    physician_id: str
    month: Month
    available: bool
    capacity: int
    used: int


class _Track:
    """The mutable state of one simulated request."""

    __slots__ = (
        "arrival",
        "distance",
        "end",
        "file",
        "level",
        "month_in",
        "n_draw",
        "parent",
        "persons_placed",
        "physician_id",
        "rank",
        "request",
        "route",
    )

    def __init__(
        self, arrival: Arrival, request: Request, file: RequestFile, month_in: int
    ) -> None:
        self.arrival = arrival
        self.request = request
        self.file = file
        self.month_in = month_in
        self.level = ""
        self.rank = 0
        self.n_draw = 0
        self.parent: str | None = None
        self.route = ""
        self.physician_id: str | None = None
        self.distance: float | None = None
        self.persons_placed = 0
        self.end: dt.date | None = None


def waiting_file(request_id: str, on: dt.date) -> RequestFile:
    """``RequestFile.receive(request_id, on).acknowledge(on).confirm(on).to_waiting(on)``,
    built at once: the same value (a test checks it), three times faster, for the thousands
    of requests of a simulation."""
    c = Actor.COORDINATOR
    history = (
        Transition(request_id, on, Event.RECEIVE, None, RequestState.RECEIVED, c),
        Transition(
            request_id, on, Event.ACKNOWLEDGE, RequestState.RECEIVED, RequestState.ACKNOWLEDGED, c
        ),
        Transition(
            request_id, on, Event.CONFIRM, RequestState.ACKNOWLEDGED, RequestState.CONFIRMED, c
        ),
        Transition(
            request_id, on, Event.TO_WAITING, RequestState.CONFIRMED, RequestState.WAITING, c
        ),
    )
    return RequestFile(request_id, RequestState.WAITING, history)


def proposed_and_accepted(
    file: RequestFile, physician_id: str, proposed_on: dt.date, accepted_on: dt.date
) -> RequestFile:
    """``file.propose(physician_id, proposed_on).accept(physician_id, accepted_on)``, built
    at once for a waiting file (the same value, a test checks it); otherwise the checked
    methods, which raise when the events are not allowed."""
    if (
        file.state is not RequestState.WAITING
        or physician_id in file.declined_by
        or not file.last_date <= proposed_on <= accepted_on
        or file.people.resolved
    ):
        return file.propose(physician_id, proposed_on).accept(physician_id, accepted_on)
    rid = file.id
    everyone = tuple(range(1, file.persons + 1))
    history = (
        *file.history,
        Transition(
            rid,
            proposed_on,
            Event.PROPOSE,
            RequestState.WAITING,
            RequestState.PROPOSED,
            Actor.COORDINATOR,
            physician_id,
            persons=everyone,
        ),
        Transition(
            rid,
            accepted_on,
            Event.ACCEPT,
            RequestState.PROPOSED,
            RequestState.MT_FOUND,
            Actor.PHYSICIAN,
            physician_id,
            "",
            ExitReason.MT_FOUND,
            everyone,
        ),
    )
    return RequestFile(
        rid,
        RequestState.MT_FOUND,
        history,
        contact_attempts=file.contact_attempts,
        declined_by=file.declined_by,
        exit_reason=ExitReason.MT_FOUND,
    )


def _declined(request: Request, physician_ids: Iterable[str]) -> Request:
    """``request`` with ``physician_ids`` added to the GPs who refused it."""
    declined: frozenset[str] = request.declined_by.union(physician_ids)
    return attrs.evolve(request, declined_by=declined)  # type: ignore[arg-type]  # attrs' converter typing


@functools.lru_cache(maxsize=4)
def _distance_cache(reference: CommuneReference) -> DistanceCache:
    """One distance memo per commune reference and process, shared by the simulations."""
    return DistanceCache(reference)


class _Simulation:
    def __init__(
        self,
        scenario: Scenario,
        policy: Policy,
        replication: int,
        *,
        distances: DistanceCache | None = None,
        arrivals_cache: dict[Any, list[Arrival]] | None = None,
        keep_results: bool = False,
    ) -> None:
        if isinstance(replication, bool) or not isinstance(replication, int) or replication < 0:
            raise SimulationError(f"numéro de réplication entier ≥ 0 attendu : {replication!r}")
        self.s = scenario
        self.b = scenario.behaviour
        self.policy = policy
        self.rep = replication
        self.seed = scenario.seed
        self.pm: pluggy.PluginManager = plugin_manager(policy)
        self.reference = scenario.commune_reference()
        self.territory: TerritoryData = territory_data(scenario.territory, self.reference)
        self.distances = distances or _distance_cache(policy.reference or bundled_reference())
        self.arrivals_cache = arrivals_cache
        self.physicians: dict[str, Physician] = {p.id: p for p in scenario.register}
        if len(self.physicians) != len(scenario.register):
            raise SimulationError("identifiants de médecins en double dans le scénario")
        self.ledger = CapacityLedger()
        self.tracks: dict[str, _Track] = {}
        self.active: dict[str, _Track] = {}  # files in WAITING, in creation order
        self.exit_bucket: dict[int, list[str]] = defaultdict(list)
        self.months: list[MonthState] = []
        self.loads: list[GPMonthLoad] = []
        self.cohorts = scenario.cohorts
        self._continuations = 0
        self._placed = 0  # requests placed so far
        self._persons_placed = 0  # persons placed so far (never released: a GP accepted)
        self.results: list[MatchResult] | None = [] if keep_results else None
        self.waiting_series: list[int] = []  # files waiting at the end of each month
        self.placed_series: list[int] = []  # requests placed during each month
        self._check_events()

    # -- helpers

    def _check_events(self) -> None:
        known = set(self.physicians) | set(self.s.joining_ids)
        for event in self.s.events:
            pid = getattr(event, "physician_id", None)
            if pid is not None and not isinstance(event, GPJoins) and pid not in known:
                raise SimulationError(f"{type(event).__name__} : médecin {pid} inconnu du scénario")

    def _draw(self, track: _Track) -> float:
        n = track.n_draw
        track.n_draw += 1
        draws = track.arrival.draws
        if n < len(draws):
            return draws[n]
        return float(rng_for(self.seed, EXTRA, *track.arrival.key, n).random())

    def _capacity_default(self, physician: Physician) -> int:
        return self.policy.monthly_capacity_of(physician)

    def _finish(
        self,
        track: _Track,
        on: dt.date,
        *,
        physician_id: str | None = None,
        distance: float | None = None,
        route: str = "",
    ) -> None:
        track.end = on
        track.physician_id = physician_id
        track.distance = distance
        track.route = route
        if route:
            self._placed += 1
            self._persons_placed += track.persons_placed
        self.active.pop(track.request.id, None)

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
        result = match(
            candidates,
            list(self.physicians.values()),
            self.policy,
            self.ledger,
            match_on,
            distances=self.distances,
            plugin_manager=self.pm,
        )
        result.record(self.ledger)
        if self.results is not None:
            self.results.append(result)
        self._levels(result)
        for rejected in result.rejected:
            track = self.tracks[rejected.request_id]
            track.file = track.file.out_of_scope(match_on, comment=rejected.reason.label)
            self._finish(track, match_on)
        self._answers(result, month, match_on, answer_on)
        self._lists(result, month, answer_on)
        self._pull(result, month, answer_on)
        self._month_end(i, month, match_on, arrivals, before, placed_before)

    # -- 1. GP events and churn

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

    def _physician(self, physician_id: str, event: object) -> Physician:
        physician = self.physicians.get(physician_id)
        if physician is None:
            raise SimulationError(
                f"{type(event).__name__} : le médecin {physician_id} n'a pas encore rejoint le "
                "dispositif (GPJoins plus tard)"
            )
        return physician

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
                file = file.other_solution(first)
            else:
                while not file.is_exited:
                    file = file.record_contact_attempt(first, False, attempts)
            track.file = file
            self._finish(track, first)

    # -- 3. arrivals

    def _regular_arrivals(self, i: int, month: Month) -> list[Arrival]:
        key = (self.s.territory, self.s.start, self.seed, self.s.patients, self.b, self.rep, i)
        cache = self.arrivals_cache
        if cache is not None and key in cache:
            return cache[key]
        b = self.b
        found = generate_requests(
            self.territory,
            self.s.patients,
            month,
            rng_for(self.seed, ARRIVALS, self.rep, i),
            id_prefix=f"D{month.year}{month.month:02d}",
            key=(ARRIVALS, self.rep, i),
            not_searching=b.not_searching,
            other_solution=b.other_solution,
            unreachable=b.unreachable,
        )
        if cache is not None:
            if len(cache) > 256:
                cache.clear()
            cache[key] = found
        return found

    def _cohort_arrivals(self, i: int, month: Month) -> list[Arrival]:
        found: list[Arrival] = []
        b = self.b
        cohort = -1
        for e_index, event in enumerate(self.s.events):
            if not isinstance(event, GPRetires):
                continue
            cohort += 1
            k = i - month_index(event.month, self.s.start)
            if not 0 <= k < event.spread_months:
                continue
            base, extra = divmod(event.patients_entering, event.spread_months)
            count = base + (1 if k < extra else 0)
            if count == 0:
                continue
            if event.physician_id is not None:
                gp = self._physician(event.physician_id, event)
                previous = PreviousDoctor(name=gp.name, commune=gp.commune)
                point = gp.location or self.reference.point(gp.commune)
            else:
                assert event.commune is not None
                previous = PreviousDoctor(name="", commune=event.commune)
                point = self.reference.point(event.commune)
            found.extend(
                generate_requests(
                    self.territory,
                    event.rates,
                    month,
                    rng_for(self.seed, EVENTS, self.rep, e_index, k),
                    id_prefix=f"E{e_index + 1}-{month.year}{month.month:02d}",
                    key=(EVENTS, self.rep, e_index, k),
                    count=count,
                    weights=near_weights(self.territory, point.lat, point.lon, event.radius_km),
                    cohort=cohort,
                    previous_mt=previous,
                    fragile_only=event.fragile_only,
                    not_searching=b.not_searching,
                    other_solution=b.other_solution,
                    unreachable=b.unreachable,
                )
            )
        return found

    def _arrivals(self, i: int, month: Month) -> int:
        arrivals = self._regular_arrivals(i, month) + self._cohort_arrivals(i, month)
        if not arrivals:
            return 0
        arrivals.sort(key=lambda a: (a.request.received, a.request.id))
        for arrival in arrivals:
            request = arrival.request
            received = request.received
            if arrival.not_searching:
                file = RequestFile.from_request(request).acknowledge(received)
                file = file.not_searching(received)
            else:
                file = waiting_file(request.id, received)
            track = _Track(arrival, request, file, i)
            self.tracks[request.id] = track
            if arrival.not_searching:
                track.end = received
                continue
            self.active[request.id] = track
            self._schedule_exit(track, i)
        return len(arrivals)

    def _schedule_exit(self, track: _Track, now: int) -> None:
        arrival = track.arrival
        when = track.month_in + min(arrival.other_after, arrival.unreachable_after)
        when = max(when, now + 1)
        if when < self.s.months:
            self.exit_bucket[when].append(track.request.id)

    def _levels(self, result: MatchResult) -> None:
        """A request's level is the one of its first matching run."""
        tracks = self.tracks
        for items in (result.waiting, result.placements, result.orientations):
            for item in items:
                track = tracks[item.request_id]
                if not track.rank:
                    track.level, track.rank = item.level, item.rank

    def _classify_rest(self) -> None:
        """The level, on reception, of the requests that left before any matching run."""
        pending: dict[Month, list[_Track]] = defaultdict(list)
        for track in self.tracks.values():
            if not track.rank:
                pending[Month.of(track.request.received)].append(track)
        for month, tracks in sorted(pending.items()):
            classes = Hooks(self.pm).classify(
                [t.request for t in tracks], self.policy, month.first_day
            )
            for track, c in zip(tracks, classes, strict=True):
                track.level, track.rank = c.level, c.rank

    # -- 5. answers

    def _answers(
        self, result: MatchResult, month: Month, match_on: dt.date, answer_on: dt.date
    ) -> None:
        if not result.placements:
            return
        by_request: dict[str, list[Placement]] = defaultdict(list)
        for placement in result.placements:  # sorted by request, then physician
            by_request[placement.request_id].append(placement)
        acceptance = self.b.acceptance
        for rid, placements in by_request.items():
            track = self.tracks[rid]
            if len(placements) == 1 and track.request.persons == placements[0].persons:
                p = placements[0]
                if self._draw(track) < acceptance:  # the usual case, built at once
                    track.file = proposed_and_accepted(
                        track.file, p.physician_id, match_on, answer_on
                    )
                    track.persons_placed += p.persons
                    self._finish(
                        track,
                        answer_on,
                        physician_id=p.physician_id,
                        distance=p.distance_km,
                        route=ROUTE_PROPOSAL,
                    )
                    continue
                track.n_draw -= 1  # the draw is used again below
            file = track.file
            for p in placements:
                file = file.propose(p.physician_id, match_on)
            accepted: list[Placement] = []
            refused: list[str] = []
            for p in placements:
                if self._draw(track) < self.b.acceptance:
                    accepted.append(p)
                else:
                    refused.append(p.physician_id)
                    file = file.refuse(p.physician_id, answer_on)
                    if self.policy.refusal_frees_slot:
                        self.ledger.release(p.physician_id, rid, answer_on, "refus du médecin")
            request = track.request
            if refused:
                request = track.request = _declined(request, refused)
            if not accepted:
                track.file = file
                continue
            chosen = accepted[0]
            track.file = file.accept(chosen.physician_id, answer_on)
            placed = sum(p.persons for p in accepted)
            track.persons_placed += placed
            self._finish(
                track,
                answer_on,
                physician_id=chosen.physician_id,
                distance=chosen.distance_km,
                route=ROUTE_PROPOSAL,
            )
            left = request.persons - placed
            if left > 0:
                self._continue(track, request, left, answer_on)

    def _continue(self, parent: _Track, request: Request, left: int, on: dt.date) -> None:
        """The persons of a household left after a partial placement: a new request."""
        children = min(request.household.children, left)
        root = parent.parent or request.id
        n = 1
        while f"{root}/{n}" in self.tracks:
            n += 1
        rid = f"{root}/{n}"
        new = attrs.evolve(
            request, id=rid, household=Household(adults=left - children, children=children)
        )
        file = RequestFile.receive(rid, on, declined_by=new.declined_by)
        file = file.acknowledge(on).confirm(on).to_waiting(on)  # rare: the checked way
        track = _Track(parent.arrival, new, file, parent.month_in)
        track.level, track.rank, track.parent = parent.level, parent.rank, root
        track.n_draw = parent.n_draw
        self.tracks[rid] = track
        self.active[rid] = track
        self._continuations += 1
        self._schedule_exit(track, month_index(Month.of(on), self.s.start))

    # -- lists (k_nearest, orientation) and pull lists

    def _room(self, physician: Physician, month: Month) -> int:
        return self.ledger.remaining(
            physician.id,
            month,
            default=self._capacity_default(physician),
            carry_over=self.policy.carry_over,
        )

    def _eligible(self, physician: Physician, request: Request, on: dt.date) -> bool:
        if not physician.is_available_on(on) or physician.id in request.declined_by:
            return False
        if not physician.serves(request.home_visits):
            return False
        accepted = physician.accepted_communes or self.policy.accepted_by_default(physician.commune)
        return request.commune in accepted

    def _take(self, track: _Track, physician: Physician, month: Month, on: dt.date) -> None:
        persons = track.request.persons
        self.ledger.place(
            physician.id,
            month,
            track.request.id,
            persons,
            on,
            default=self._capacity_default(physician),
            carry_over=self.policy.carry_over,
        )
        track.persons_placed += persons

    def _lists(self, result: MatchResult, month: Month, answer_on: dt.date) -> None:
        if not result.orientations:
            return
        limit = self.b.list_calls
        ordered = sorted(
            result.orientations,
            key=lambda o: (o.rank, self.tracks[o.request_id].request.received, o.request_id),
        )
        for orientation in ordered:
            track = self.tracks[orientation.request_id]
            file = track.file
            request = track.request
            calls = orientation.physicians if limit is None else orientation.physicians[:limit]
            refused: set[str] = set()
            for listed in calls:
                physician = self.physicians.get(listed.physician_id)
                if physician is None or not self._eligible(physician, request, answer_on):
                    continue
                if self._room(physician, month) < request.persons:
                    continue  # no place left: not a refusal
                file = file.propose(physician.id, answer_on)
                if self._draw(track) < self.b.list_acceptance:
                    self._take(track, physician, month, answer_on)
                    track.file = file.accept(physician.id, answer_on)
                    self._finish(
                        track,
                        answer_on,
                        physician_id=physician.id,
                        distance=listed.distance_km,
                        route=ROUTE_LIST,
                    )
                    break
                file = file.refuse(physician.id, answer_on)
                refused.add(physician.id)
            else:
                track.file = file
            if refused:
                track.request = _declined(request, refused)

    def _pull(self, result: MatchResult, month: Month, answer_on: dt.date) -> None:
        if not result.pull_lists:
            return
        ids = list(self.active)
        by_pseudonym = dict(zip(Hooks(self.pm).pseudonyms(ids, self.policy), ids, strict=True))
        for pull in result.pull_lists:
            physician = self.physicians[pull.physician_id]
            room = self._room(physician, month)
            for entry in pull.entries:
                if room <= 0:
                    break
                rid = by_pseudonym.get(entry.pseudonym)
                track = self.active.get(rid) if rid is not None else None
                if track is None or track.request.persons > room:
                    continue
                if self._draw(track) >= self.b.pull_uptake:
                    continue
                self._take(track, physician, month, answer_on)
                room -= track.request.persons
                track.file = track.file.propose(physician.id, answer_on).accept(
                    physician.id, answer_on
                )
                self._finish(
                    track,
                    answer_on,
                    physician_id=physician.id,
                    distance=entry.distance_km,
                    route=ROUTE_PULL,
                )

    # -- 6. month end

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
            states = Counter(t.file.state for t in self.tracks.values())
            exits = Counter(
                t.file.exit_reason for t in self.tracks.values() if t.file.exit_reason is not None
            )
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

    # -- results

    def outcomes(self) -> tuple[RequestOutcome, ...]:
        self._classify_rest()
        cohorts = self.cohorts
        out = []
        for rid, t in self.tracks.items():
            file = t.file
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
                    state=file.state,
                    exit_reason=file.exit_reason,
                    end=t.end if file.is_exited else None,
                    physician_id=t.physician_id,
                    distance_km=t.distance,
                    route=t.route,
                    persons_placed=t.persons_placed,
                )
            )
        return tuple(out)


def _levels(policy: Policy) -> tuple[str, ...]:
    return (*(lv.name for lv in policy.levels), policy.non_priority_level)


@attrs.frozen(eq=False)
class SimulationRun:
    """One replication of a scenario under a policy.

    Attributes:
        scenario: the scenario.
        policy_code: the policy's code; ``levels`` its level names, highest first.
        replication: the replication number.
        outcomes: what became of each request (:class:`RequestOutcome`), in creation order.
        months: the state of the files at the end of each month (:class:`MonthState`).
        loads: each GP's capacity and load, month by month (:class:`GPMonthLoad`).
        files: every request's lifecycle (:class:`~mt_access.RequestFile`), by request id.
        ledger: the capacity ledger at the end.
        physicians: the GPs at the end (with their status histories), sorted by id.
        results: each month's :class:`~mt_access.MatchResult` (placements with their French
            explanations, waiting requests with their reasons), in month order.
    """

    scenario: Scenario
    policy_code: str
    levels: tuple[str, ...]
    replication: int
    outcomes: tuple[RequestOutcome, ...]
    months: tuple[MonthState, ...]
    loads: tuple[GPMonthLoad, ...]
    files: dict[str, RequestFile]
    ledger: CapacityLedger
    physicians: tuple[Physician, ...]
    results: tuple[MatchResult, ...] = ()

    @property
    def end(self) -> dt.date:
        """The last simulated day."""
        return self.months[-1].month.last_day

    def summary(self) -> dict[tuple[str, str], float]:
        """The indicators of :data:`mt_access.simulation.INDICATORS`, by (group, indicator)."""
        from mt_access.simulation.metrics import summarise

        return summarise(self.outcomes, self.loads, self.levels, self.scenario.cohorts, self.end)

    # -- frames (pandas, imported on use)

    def to_frame(self) -> Any:
        """One row per request (:class:`RequestOutcome`), French column labels."""
        from mt_access.simulation.frames import outcomes_frame

        return outcomes_frame(self.outcomes)

    def monthly_frame(self) -> Any:
        """One row per month: arrivals, files by state, exits by reason, placements."""
        from mt_access.simulation.frames import months_frame

        return months_frame(self.months)

    def physicians_frame(self) -> Any:
        """One row per GP and month: availability, capacity offered, persons placed."""
        from mt_access.simulation.frames import loads_frame

        return loads_frame(self.loads)

    def summary_frame(self) -> Any:
        """The indicators as a table: one row per group, one column per indicator."""
        from mt_access.simulation.frames import summary_frame

        return summary_frame(self.summary())

    def plot(self, path: Any = None) -> Any:
        """The files by state, month by month (stacked areas); saved as PNG to ``path``
        when given. Returns the matplotlib ``Figure``."""
        from mt_access.simulation.plots import plot_run

        return plot_run(self, path)


def _simulation(
    scenario: Scenario,
    policy: Policy,
    replication: int,
    distances: DistanceCache | None = None,
    arrivals_cache: dict[Any, list[Arrival]] | None = None,
    keep_results: bool = False,
) -> _Simulation:
    sim = _Simulation(
        scenario,
        policy,
        replication,
        distances=distances,
        arrivals_cache=arrivals_cache,
        keep_results=keep_results,
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
        files={rid: t.file for rid, t in sim.tracks.items()},
        ledger=sim.ledger,
        physicians=tuple(sim.physicians[k] for k in sorted(sim.physicians)),
        results=tuple(sim.results or ()),
    )


def run_summary(
    scenario: Scenario,
    policy: Policy,
    replication: int,
    arrivals_cache: dict[Any, list[Arrival]] | None = None,
) -> tuple[dict[tuple[str, str], float], np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """The indicators of one replication, and the monthly waiting list and placements
    (what a comparison keeps of a run)."""
    from mt_access.simulation.metrics import summarise

    sim = _simulation(scenario, policy, replication, arrivals_cache=arrivals_cache)
    summary = summarise(
        sim.outcomes(), sim.loads, _levels(policy), scenario.cohorts, sim.months[-1].month.last_day
    )
    waiting = np.array(sim.waiting_series, dtype=np.int64)
    placed = np.array(sim.placed_series, dtype=np.int64)
    return summary, waiting, placed
