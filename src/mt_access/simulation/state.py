"""The state of a simulated replication (the requests' tracks, the GPs, the ledger) and the
helpers every step of the month uses (:mod:`mt_access.simulation.runner` lists the steps).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import pluggy

from mt_access.geo.communes import CommuneReference, bundled_reference
from mt_access.geo.distance import DistanceCache
from mt_access.hooks import plugin_manager
from mt_access.ledger import CapacityLedger
from mt_access.lifecycle import (
    Actor,
    Event,
    ExitReason,
    RequestFile,
    RequestState,
    Transition,
)
from mt_access.model import Physician, Request
from mt_access.policy import Policy
from mt_access.resources import ResourceContact
from mt_access.result import MatchResult
from mt_access.simulation.events import (
    GPJoins,
)
from mt_access.simulation.generator import (
    EXTRA,
    Arrival,
    SimulationError,
    TerritoryData,
    declined_copy,
    rng_for,
    territory_data,
)
from mt_access.simulation.quick_match import QuickMatcher, quick_policy
from mt_access.simulation.records import GPMonthLoad, MonthState

if TYPE_CHECKING:
    from mt_access.simulation.scenario import Scenario

__all__ = ["SimulationState", "proposed_and_accepted", "waiting_file"]


class Track:
    """The mutable state of one simulated request.

    ``file`` is the request's :class:`~mt_access.RequestFile` when the run keeps the files
    (:func:`~mt_access.simulation.simulate`), else ``None``: a comparison's run keeps only
    ``exit_reason``, which is all its indicators need, and builds no lifecycle at all (most of
    a replication's time otherwise; a test checks that both give the same outcomes).
    """

    __slots__ = (
        "arrival",
        "distance",
        "end",
        "exit_reason",
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
        self, arrival: Arrival, request: Request, file: RequestFile | None, month_in: int
    ) -> None:
        self.arrival = arrival
        self.request = request
        self.file = file
        self.exit_reason: ExitReason | None = None
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

    @property
    def state(self) -> RequestState:
        """The file's state (between two steps of the month: waiting, or exited)."""
        if self.file is not None:
            return self.file.state
        if self.exit_reason is None:
            return RequestState.WAITING
        if self.exit_reason is ExitReason.MT_FOUND:
            return RequestState.MT_FOUND
        return RequestState.EXITED

    @property
    def reason(self) -> ExitReason | None:
        """The file's exit reason (``None`` while it waits)."""
        return self.file.exit_reason if self.file is not None else self.exit_reason


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


def with_declined(request: Request, physician_ids: Iterable[str]) -> Request:
    """``request`` with ``physician_ids`` added to the GPs who refused it."""
    return declined_copy(request, request.declined_by.union(physician_ids))


@functools.lru_cache(maxsize=4)
def _distance_cache(reference: CommuneReference) -> DistanceCache:
    """One distance memo per commune reference and process, shared by the simulations."""
    return DistanceCache(reference)


class SimulationState:
    """The state of one simulated replication, shared by the steps of the month
    (:mod:`~mt_access.simulation.gp_steps`, :mod:`~mt_access.simulation.arrivals`,
    :mod:`~mt_access.simulation.answers`, :mod:`~mt_access.simulation.month_end`)."""

    def __init__(
        self,
        scenario: Scenario,
        policy: Policy,
        replication: int,
        *,
        distances: DistanceCache | None = None,
        arrivals_cache: dict[Any, list[Arrival]] | None = None,
        keep_results: bool = False,
        quick: bool = True,
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
        self.tracks: dict[str, Track] = {}
        self.active: dict[str, Track] = {}  # files in WAITING, in creation order
        self.exit_bucket: dict[int, list[str]] = defaultdict(list)
        self.months: list[MonthState] = []
        self.loads: list[GPMonthLoad] = []
        self.cohorts = scenario.cohorts
        self._continuations = 0
        self._placed = 0  # requests placed so far
        self._persons_placed = 0  # persons placed so far (never released: a GP accepted)
        self.results: list[MatchResult] | None = [] if keep_results else None
        self.keep_files = keep_results  # a comparison's run follows no RequestFile
        # a comparison's run routes with a QuickMatcher when the policy allows it (``quick``:
        # False, the tests' reference, always calls match)
        self.quick = (
            QuickMatcher(policy, self.distances, self.pm, self.territory.codes)
            if quick and not keep_results and quick_policy(policy)
            else None
        )
        self.waiting_series: list[int] = []  # files waiting at the end of each month
        # the first run that involved each resource of the policy for a request (``before``
        # resources release their requests wait_days later: nobody answers in a simulation)
        self.involved: dict[str, dict[str, ResourceContact]] = defaultdict(dict)
        self.placed_series: list[int] = []  # requests placed during each month
        self._check_events()

    # -- helpers

    def _check_events(self) -> None:
        known = set(self.physicians) | set(self.s.joining_ids)
        for event in self.s.events:
            pid = getattr(event, "physician_id", None)
            if pid is not None and not isinstance(event, GPJoins) and pid not in known:
                raise SimulationError(f"{type(event).__name__} : médecin {pid} inconnu du scénario")

    def _draw(self, track: Track) -> float:
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
        track: Track,
        on: dt.date,
        reason: ExitReason,
        *,
        physician_id: str | None = None,
        distance: float | None = None,
        route: str = "",
    ) -> None:
        """``track`` leaves the waiting list on ``on`` for ``reason`` (``mt_found`` when
        placed by ``route``); its file, when kept, has been moved already."""
        track.end = on
        track.exit_reason = reason
        track.physician_id = physician_id
        track.distance = distance
        track.route = route
        if route:
            self._placed += 1
            self._persons_placed += track.persons_placed
        self.active.pop(track.request.id, None)

    def _found(
        self, track: Track, on: dt.date, physician_id: str, distance: float | None, route: str
    ) -> None:
        """``track`` found a GP on ``on`` (:meth:`_finish` with ``mt_found``): placed with
        ``physician_id``, ``distance`` km away, by ``route`` (a proposal, a list, a pull
        list)."""
        self._finish(
            track,
            on,
            ExitReason.MT_FOUND,
            physician_id=physician_id,
            distance=distance,
            route=route,
        )

    def _physician(self, physician_id: str, event: object) -> Physician:
        physician = self.physicians.get(physician_id)
        if physician is None:
            raise SimulationError(
                f"{type(event).__name__} : le médecin {physician_id} n'a pas encore rejoint le "
                "dispositif (GPJoins plus tard)"
            )
        return physician

    def _schedule_exit(self, track: Track, now: int) -> None:
        arrival = track.arrival
        when = track.month_in + min(arrival.other_after, arrival.unreachable_after)
        when = max(when, now + 1)
        if when < self.s.months:
            self.exit_bucket[when].append(track.request.id)
