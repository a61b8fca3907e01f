"""Properties of the matching engine on random small instances (Hypothesis).

Each test states its property in words in its docstring, in terms of the policy (numbered as
in the specification of this file: 1 capacity, 2 one GP per person, 3 eligibility,
4 unavailable GPs, 5 levels, 6 lexicographic maximum, 7 seniority, 8 households kept together,
9 nearest, 10 input order, 11 total distance, 12 accounting; then 13 waiting reasons,
14 large batches and 15 the judge's view on the result). The reference computations (scope,
levels, places left, eligibility, maximum flows, minimum-cost assignments) are written here
from the policy's rules, independently of the engine's routing code; flows use networkx.
Eligibility within a maximum distance and assignment costs use the distances of the geo layer
(``DistanceCache``; the geodesy itself is tested in test_geo_*); "nearest" and reported
distances are checked against geopy's geodesic.

The policies: the shipped ``voironnais`` (monthly_quota router for every request: one priority
level « prioritaire », then « non prioritaire »), the shipped ``deule_marque`` (nearest router
for priority requests, orientation for the others), and ``voironnais_3_niveaux``, the
Voironnais policy with three priority levels (ALD; CSS, AME or ≥ 70 ans; < 16 ans or household
with children) to exercise the level-by-level maximum. Each may be varied
(:class:`strategies.Variant`: households kept together, a maximum distance, the default
accepted communes, carry-over, the default monthly capacity).

Instances come from :func:`cases` (anything), :func:`contended` (scarce shared capacity, where
the order of priority matters) and :func:`one_cell` (one cell, GPs at different distances).
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any
from unittest import mock

import attrs
import networkx as nx  # type: ignore[import-untyped]
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

import mt_access
from mt_access import (
    CapacityLedger,
    HomeVisitNeed,
    Household,
    MatchResult,
    Modality,
    Month,
    Orientation,
    Physician,
    PhysicianStatus,
    Placement,
    Point,
    Policy,
    ReasonCode,
    Request,
    SearchReason,
    Waiting,
    match,
)
from mt_access.geo import DistanceCache, bundled_reference, geodesic_km
from mt_access.policies import households
from strategies import (
    BONDUES,
    GRENOBLE,
    LILLE,
    MARCQ,
    MARQUETTE,
    MAX_DISTANCES_KM,
    NORD_COMMUNES,
    ON,
    VOIRONNAIS_COMMUNES,
    Instance,
    Variant,
    apply_variant,
    instances,
    variants,
)

REFERENCE = bundled_reference()

# --------------------------------------------------------------------------------------------
# The policies, and their rules restated independently of the engine


def _age(request: Request, on: dt.date) -> int:
    birth = request.patient.birth_date
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def _in_scope(request: Request, policy: Policy) -> ReasonCode | None:
    """Scope rules of both shipped policies: consent, commune in the territory, no change of
    GP by convenience. ``None`` when in scope, else the rejection reason."""
    if not request.consent.given:
        return ReasonCode.NO_CONSENT
    if request.commune not in policy.territory:
        return ReasonCode.OUT_OF_TERRITORY
    if request.reason is SearchReason.CONVENIENCE:
        return ReasonCode.EXCLUDED_REASON
    return None


def _rank_voironnais(r: Request) -> int:
    """1 « prioritaire »: ALD, disability or chronic condition, CSS, AME, ≥ 70 years, < 16 years
    or a household with children; 2 « non prioritaire » otherwise."""
    age = _age(r, ON)
    vulnerable = r.ald or r.disability_or_chronic or r.css or r.ame
    return 1 if vulnerable or age >= 70 or age < 16 or r.household.children > 0 else 2


def _rank_three_levels(r: Request) -> int:
    """1 ALD; 2 CSS, AME or ≥ 70 years; 3 < 16 years or household with children; 4 others."""
    age = _age(r, ON)
    if r.ald:
        return 1
    if r.css or r.ame or age >= 70:
        return 2
    if age < 16 or r.household.children > 0:
        return 3
    return 4


def _rank_deule_marque(r: Request) -> int:
    """1 « prioritaire »: ≥ 70 years, ALD, CSS or < 18 years; 2 « non prioritaire »."""
    age = _age(r, ON)
    return 1 if age >= 70 or r.ald or r.css or age < 18 else 2


@attrs.frozen
class Subject:
    """A policy and its levels restated (rank of a request in scope)."""

    policy: Policy
    rank_of: Callable[[Request], int]


Case = tuple[str, Variant, Instance]  # policy name, variant, instance


@pytest.fixture(scope="module")
def subjects(
    voironnais: Policy, deule_marque: Policy, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Subject]:
    data = yaml.safe_load(mt_access.available_policies()["voironnais"].read_text("utf-8"))
    data["identity"]["code"] = "voironnais_3_niveaux"
    data["priority"]["levels"] = [
        {"name": "ALD", "criteria": [{"kind": "ald"}]},
        {
            "name": "vulnérables",
            "criteria": [{"kind": "css"}, {"kind": "ame"}, {"kind": "age_at_least", "years": 70}],
        },
        {
            "name": "enfants",
            "criteria": [{"kind": "age_under", "years": 16}, {"kind": "household_with_children"}],
        },
    ]
    path = tmp_path_factory.mktemp("policies") / "voironnais_3_niveaux.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    three = mt_access.load_policy(path)
    assert [lv.name for lv in three.levels] == ["ALD", "vulnérables", "enfants"]
    for policy in (voironnais, deule_marque, three):  # the order restated in Run.order_key
        assert policy.ordering_keys == ("received",)
        assert policy.tie_break == "id"
    return {
        "voironnais": Subject(voironnais, _rank_voironnais),
        "voironnais_3_niveaux": Subject(three, _rank_three_levels),
        "deule_marque": Subject(deule_marque, _rank_deule_marque),
    }


QUOTA = ("voironnais", "voironnais_3_niveaux")  # monthly_quota for every request
ALL = (*QUOTA, "deule_marque")


def _available(p: Physician) -> bool:
    """Active on ON (status changes replayed: a suspension covers its ``until`` day, a
    withdrawal lasts until a later ACTIVE change) and accepting new patients."""
    status = PhysicianStatus.ACTIVE
    for change in sorted(p.status_history, key=lambda c: c.on):
        if change.on <= ON:
            status = change.status
            if change.until is not None and change.until < ON:
                status = PhysicianStatus.ACTIVE
    return p.accepting_new_patients and status is PhysicianStatus.ACTIVE


# --------------------------------------------------------------------------------------------
# A run and its reference quantities


class Run:
    """``match`` on an instance, with what the policy says about it.

    Attributes:
        rank: restated level of each in-scope request.
        room: places each physician has this month before the run (0 when unavailable): the
            ledger's remaining places, with the physician's monthly capacity, else the
            policy's default, when the ledger has no declaration.
        eligible: per in-scope request, the physicians that may receive it: available,
            accepting its commune (declared list, else the policy's default), serving its need
            for home visits, not having declined it, within the rule's maximum distance.
        placed: persons placed per request; load: persons placed per physician.
        waiting: the Waiting entry of each request that has one.
    """

    def __init__(self, subject: Subject, policy: Policy, instance: Instance) -> None:
        self.policy = policy
        self.instance = instance
        self.distances = DistanceCache(REFERENCE)
        self.result: MatchResult = match(
            instance.requests, instance.physicians, policy, instance.ledger, instance.on
        )
        self.requests = {r.id: r for r in instance.requests}
        self.physicians = {p.id: p for p in instance.physicians}
        self.in_scope = [r for r in instance.requests if _in_scope(r, policy) is None]
        self.rank = {r.id: subject.rank_of(r) for r in self.in_scope}
        ledger = instance.ledger if instance.ledger is not None else CapacityLedger()
        month = Month.of(instance.on)
        self.defaults = {
            p.id: policy.default_monthly_capacity
            if p.monthly_capacity is None
            else p.monthly_capacity
            for p in instance.physicians
        }
        self.room = {
            p.id: (
                ledger.remaining(
                    p.id, month, default=self.defaults[p.id], carry_over=policy.carry_over
                )
                if _available(p)
                else 0
            )
            for p in instance.physicians
        }
        self.eligible = {r.id: self.eligible_for(r) for r in self.in_scope}
        self.placed: Counter[str] = Counter()
        self.load: Counter[str] = Counter()
        for pl in self.result.placements:
            self.placed[pl.request_id] += pl.persons
            self.load[pl.physician_id] += pl.persons
        self.waiting = {w.request_id: w for w in self.result.waiting}

    # -- eligibility and distances

    def accepts(self, p: Physician, commune: str) -> bool:
        if p.accepted_communes:
            return commune in p.accepted_communes
        if self.policy.default_accepted_communes == "practice_commune":
            return commune == p.commune
        return commune in self.policy.territory

    def max_km(self, r: Request) -> float | None:
        priority = self.rank[r.id] <= len(self.policy.levels)
        rule = self.policy.routing_priority if priority else self.policy.routing_non_priority
        return rule.max_distance_km

    def eligible_for(self, r: Request, *, ignore_distance: bool = False) -> list[str]:
        limit = None if ignore_distance else self.max_km(r)
        return [
            p.id
            for p in self.instance.physicians
            if _available(p)
            and self.accepts(p, r.commune)
            and p.serves(r.home_visits)
            and p.id not in r.declined_by
            and (limit is None or self.km(r, p) <= limit)
        ]

    def km(self, r: Request, p: Physician) -> float:
        """Distance from the geo layer (home or commune point, to practice or commune point)."""
        if r.patient.location is None and p.location is None:
            return self.distances.between_communes(r.commune, p.commune)
        return self.distances.between(_origin(r), _practice(p))

    def metres(self, rid: str, pid: str) -> int:
        return round(self.km(self.requests[rid], self.physicians[pid]) * 1000)

    # -- reference flows

    def max_flow(self, demand: dict[str, int], room: dict[str, int] | None = None) -> int:
        """Most persons of ``demand`` (persons per request) placeable within ``room``."""
        room = self.room if room is None else room
        g = nx.DiGraph()
        g.add_nodes_from(("source", "sink"))
        for rid, n in demand.items():
            if n > 0:
                g.add_edge("source", ("r", rid), capacity=n)
                for pid in self.eligible[rid]:
                    g.add_edge(("r", rid), ("g", pid))  # no capacity: unbounded
        for pid, n in room.items():
            if n > 0:
                g.add_edge(("g", pid), "sink", capacity=n)
        return int(nx.maximum_flow_value(g, "source", "sink"))

    def fits(self, demand: dict[str, int]) -> bool:
        return self.max_flow(demand) == sum(demand.values())

    def order_key(self, rid: str) -> tuple[int, dt.date, str]:
        """The policy's order: level, then received date, then id."""
        return (self.rank[rid], self.requests[rid].received, rid)

    def waiting_persons(self, rid: str) -> int:
        w = self.waiting.get(rid)
        return w.persons if w is not None else 0

    def persons_of_ranks(
        self, ranks: Iterable[int], *, singles_only: bool = False
    ) -> dict[str, int]:
        wanted = set(ranks)
        return {
            r.id: r.persons
            for r in self.in_scope
            if self.rank[r.id] in wanted and not (singles_only and r.persons > 1)
        }


def _origin(r: Request) -> Point:
    return r.patient.location or REFERENCE.point(r.commune)


def _practice(p: Physician) -> Point:
    return p.location or REFERENCE.point(p.commune)


@st.composite
def cases(
    draw: st.DrawFn,
    /,
    names: tuple[str, ...] = ALL,
    *,
    keep_together: bool | None = None,
    max_distance: bool | None = None,
    max_requests: int = 10,
    max_physicians: int = 5,
    households: int = 4,
    scope: bool = True,
    locations: bool = True,
    with_ledger: bool = True,
    **kw: Any,
) -> Case:
    """A policy name, a variant of it (``keep_together`` and ``max_distance`` as in
    :func:`strategies.variants`) and an instance over its communes (other arguments as in
    :func:`strategies.instances`)."""
    name = draw(st.sampled_from(names))
    variant = draw(variants(keep_together=keep_together, max_distance=max_distance))
    nord = name == "deule_marque"
    instance = draw(
        instances(
            NORD_COMMUNES if nord else VOIRONNAIS_COMMUNES,
            max_requests=max_requests,
            max_physicians=max_physicians,
            with_ledger=with_ledger,
            households=households,
            out_of_scope=((LILLE if nord else GRENOBLE),) if scope else (),
            locations=locations,
            **kw,
        )
    )
    return name, variant, instance


def contended(names: tuple[str, ...] = ALL, **kw: Any) -> st.SearchStrategy[Case]:
    """:func:`cases` where capacity is scarce and shared: 5 to 10 requests in scope, mostly
    for one person, over one or two communes, physicians with at most 2 places."""
    settings: dict[str, Any] = {
        "min_requests": 5,
        "max_requests": 10,
        "max_capacity": 2,
        "max_communes": 2,
        "households": 8,
        "scope": False,
    }
    return cases(names, **(settings | kw))


def mixed(names: tuple[str, ...] = ALL, **kw: Any) -> st.SearchStrategy[Case]:
    """:func:`cases` or :func:`contended`."""
    return st.one_of(cases(names, **kw), contended(names, **kw))


def _run(subjects: dict[str, Subject], case: Case) -> Run:
    name, variant, instance = case
    subject = subjects[name]
    return Run(subject, apply_variant(subject.policy, variant), instance)


def _greedy_run(subjects: dict[str, Subject], case: Case) -> Run:
    """:func:`_run` with households kept together placed by the seniority greedy alone (the
    optimisation by CP-SAT switched off; see ``tests/test_household_plan.py`` for it)."""
    with mock.patch.object(households, "EXACT_MAX_TERMS", -1):
        return _run(subjects, case)


def test_max_distances_are_away_from_commune_distances() -> None:
    """The strategies' maximum distances are at least 30 m away from every distance between
    two of the communes, so no distance algorithm can put a commune on the other side."""
    for communes in (VOIRONNAIS_COMMUNES, NORD_COMMUNES):
        for a in communes:
            for b in communes:
                d = geodesic_km(REFERENCE.point(a), REFERENCE.point(b))
                assert all(abs(d - km) > 0.03 for km in MAX_DISTANCES_KM), (a, b, d)


# --------------------------------------------------------------------------------------------
# 1-4: capacities and eligibility, for every router that places patients


@given(case=mixed())
def test_capacity_is_never_exceeded(subjects: dict[str, Subject], case: Case) -> None:
    """1. For every physician, the persons placed in the run are at most the places left this
    month in the ledger: the capacity in force (declared in the ledger, else the physician's
    ``monthly_capacity``, else the policy's default), plus last month's unused places when the
    policy carries them over, minus the active placements; 0 for an unavailable physician."""
    run = _run(subjects, case)
    for pid, n in run.load.items():
        assert n <= run.room[pid], (pid, n, run.room[pid])


@given(case=mixed())
def test_single_person_request_gets_at_most_one_gp(
    subjects: dict[str, Subject], case: Case
) -> None:
    """2. A request for one person is placed with at most one physician, for one person."""
    run = _run(subjects, case)
    per_request = Counter(p.request_id for p in run.result.placements)
    for r in run.instance.requests:
        if r.persons == 1:
            assert per_request[r.id] <= 1
            assert run.placed[r.id] <= 1


@given(case=mixed())
def test_gps_receive_only_requests_they_accept(subjects: dict[str, Subject], case: Case) -> None:
    """3. A physician receives a request only if they accept its commune (their declared list,
    else the policy's default: the territory, or their practice's commune), serve its need for
    home visits (office; office and home visits; home visits), have not declined it, and are
    within the rule's maximum distance, if any."""
    run = _run(subjects, case)
    for pl in run.result.placements:
        r = run.requests[pl.request_id]
        p = run.physicians[pl.physician_id]
        assert run.accepts(p, r.commune), (r.commune, p)
        assert p.serves(r.home_visits), (r.home_visits, p.modalities)
        assert p.id not in r.declined_by
        limit = run.max_km(r)
        assert limit is None or run.km(r, p) <= limit
        assert pl.physician_id in run.eligible[r.id]


@given(case=mixed(status_changes=1))
def test_unavailable_gps_receive_nothing(subjects: dict[str, Subject], case: Case) -> None:
    """4. A physician suspended on the reference date (a suspension covers its last day),
    withdrawn (until a later return), or not accepting new patients receives nothing."""
    run = _run(subjects, case)
    for p in run.instance.physicians:
        if not _available(p):
            assert run.load[p.id] == 0, p


# --------------------------------------------------------------------------------------------
# 5-7: who is placed


def _improving_exchanges(run: Run, earlier: Callable[[str, str], bool]) -> list[tuple[str, str]]:
    """Pairs (w, u): w has persons waiting, u has persons placed, ``earlier(w, u)``, and the
    placements stay feasible if one place of u goes to w instead (brute force, max flow)."""
    found = []
    waiting = [rid for rid in run.rank if run.waiting_persons(rid) and run.eligible[rid]]
    for w in waiting:
        for u, n in run.placed.items():
            if n and earlier(w, u):
                demand = dict(run.placed)
                demand[u] -= 1
                demand[w] = demand.get(w, 0) + 1
                if run.fits(demand):
                    found.append((w, u))
    return found


@given(case=contended(QUOTA, keep_together=False))
def test_no_lower_level_request_holds_a_place_a_higher_level_one_needed(
    subjects: dict[str, Subject], case: Case
) -> None:
    """5. A request of a higher level never waits for a place that a lower-level request holds.

    Directly: if persons of a request wait with « capacité épuisée », every physician eligible
    for it is full after the run; and for every lower-level request with a placement, giving
    one of its places to the waiting request (reassigning the other placements as needed) is
    impossible within the capacities (checked by brute force with a max flow)."""
    run = _run(subjects, case)
    for rid, w in run.waiting.items():
        if w.reason is ReasonCode.CAPACITY_EXHAUSTED:
            for pid in run.eligible[rid]:
                assert run.load[pid] == run.room[pid], (rid, pid)
    assert _improving_exchanges(run, lambda w, u: run.rank[w] < run.rank[u]) == []


def _lexicographic_counts(run: Run, levels: int) -> dict[int, int]:
    """Persons placeable per level, level by level without displacing a higher level: for a
    matroid (persons linked to physicians with capacities) the greedy maximum of the levels
    <= k is the max flow of the levels <= k, so level k gets F(<= k) - F(<= k-1)."""
    counts = {}
    before = 0
    for k in range(1, levels + 1):
        total = run.max_flow(run.persons_of_ranks(range(1, k + 1)))
        counts[k] = total - before
        before = total
    return counts


@given(case=mixed(QUOTA, keep_together=False))
def test_placed_per_level_is_the_lexicographic_maximum(
    subjects: dict[str, Subject], case: Case
) -> None:
    """6. The persons placed at each level are the most the capacities allow at that level
    without removing anyone of a higher level: as many level-1 persons as possible, then as
    many level-2 persons as possible given those, and so on (reference: networkx max flows,
    computed on the levels <= k for each k). Households may be split (keep_together: false)."""
    run = _run(subjects, case)
    levels = len(run.policy.levels) + 1
    placed = Counter(dict.fromkeys(range(1, levels + 1), 0))
    for pl in run.result.placements:
        placed[pl.rank] += pl.persons
        assert pl.rank == run.rank[pl.request_id]
    assert dict(placed) == _lexicographic_counts(run, levels)


@given(case=contended(ALL, keep_together=False))
def test_older_requests_first_inside_a_level(subjects: dict[str, Subject], case: Case) -> None:
    """7. Inside a level, older requests are served first where there is a choice.

    Directly: if a one-person request waits for capacity while a newer request (or one received
    the same day with a larger id) of the same level and the same cell (same commune, home,
    need for home visits and refusals) is placed, that is a violation. With monthly_quota,
    also by brute force: no place of a later request of the same level can go to an earlier
    waiting one (max flow), whatever their cells."""
    name = case[0]
    run = _run(subjects, case)

    def cell(rid: str) -> tuple[object, ...]:
        return _cell(run.requests[rid])

    for rid, w in run.waiting.items():
        if w.reason is not ReasonCode.CAPACITY_EXHAUSTED or run.requests[rid].persons != 1:
            continue
        for other, n in run.placed.items():
            if n and run.rank[other] == run.rank[rid] and cell(other) == cell(rid):
                assert run.order_key(other) < run.order_key(rid), (rid, other)
    if name in QUOTA:

        def same_level_later(w: str, u: str) -> bool:
            return run.rank[w] == run.rank[u] and run.order_key(w) < run.order_key(u)

        assert _improving_exchanges(run, same_level_later) == []


def _cell(r: Request) -> tuple[object, ...]:
    """What makes requests interchangeable: commune, home, need for home visits, refusals."""
    return (r.commune, r.patient.location, r.home_visits, r.declined_by)


@st.composite
def one_cell(draw: st.DrawFn, names: tuple[str, ...] = ALL) -> Case:
    """One-person requests of a single cell (same commune, no home visits, no refusals), and
    physicians of up to four communes who all accept it: their distances differ."""
    name, variant, instance = draw(
        cases(
            names,
            keep_together=False,
            min_requests=3,
            max_requests=8,
            max_capacity=2,
            households=0,
            scope=False,
            locations=False,
        )
    )
    commune = instance.requests[0].commune
    requests = [
        attrs.evolve(
            r,
            patient=attrs.evolve(r.patient, commune=commune),
            home_visits=HomeVisitNeed.NONE,
            declined_by=frozenset(),
        )
        for r in instance.requests
    ]
    physicians = [
        attrs.evolve(p, modalities=p.modalities | {Modality.OFFICE}, accepted_communes=())
        for p in instance.physicians
    ]
    variant = attrs.evolve(variant, max_distance_km=None, default_accepted_communes="territory")
    return name, variant, attrs.evolve(instance, requests=requests, physicians=physicians)


@given(case=st.one_of(one_cell(), contended(ALL, keep_together=False)))
def test_inside_a_cell_earlier_requests_get_nearer_gps(
    subjects: dict[str, Subject], case: Case
) -> None:
    """7b. Inside a cell (same commune, home, need for home visits and refusals), a one-person
    request earlier in the policy's order is never placed farther than a later one."""
    run = _run(subjects, case)
    singles = [rid for rid, n in run.placed.items() if n and run.requests[rid].persons == 1]
    for a, b in itertools.combinations(sorted(singles, key=run.order_key), 2):
        if _cell(run.requests[a]) == _cell(run.requests[b]):
            (pa,) = run.result.placements_of(a)
            (pb,) = run.result.placements_of(b)
            assert pa.distance_km <= pb.distance_km, (a, b)


# --------------------------------------------------------------------------------------------
# 8: households kept together


@given(case=mixed(ALL, keep_together=True, households=2))
def test_household_kept_together_is_never_split(subjects: dict[str, Subject], case: Case) -> None:
    """8. With ``households.keep_together``, a request for several persons is placed whole with
    exactly one physician (one placement, all its persons, nothing waiting) or not at all
    (everyone waiting)."""
    run = _run(subjects, case)
    for r in run.in_scope:
        if r.persons == 1:
            continue
        placements = run.result.placements_of(r.id)
        if placements:
            (p,) = placements
            assert p.persons == r.persons
            assert r.id not in run.waiting
        elif run.result.outcome_of(r.id) == "waiting":
            assert run.waiting[r.id].persons == r.persons


@given(case=mixed(QUOTA, keep_together=True, households=2))
def test_household_kept_together_never_takes_a_place_an_earlier_request_needs(
    subjects: dict[str, Subject], case: Case
) -> None:
    """8b. With ``households.keep_together`` and monthly_quota, households compete by
    seniority: a household takes only places that no request before it in the policy's order
    (level, then received date, then id) needs. So for every household H, the one-person
    requests before H are placed as many as the capacities allow once the households before H
    are placed: H and the later households take none of their places (max flow reference).
    Likewise all the one-person requests, once every household is placed."""
    run = _greedy_run(subjects, case)
    room = dict(run.room)
    singles: dict[str, int] = {}
    for rid in sorted(run.rank, key=run.order_key):
        if run.requests[rid].persons == 1:
            singles[rid] = 1
            continue
        assert sum(run.placed[x] for x in singles) == run.max_flow(singles, room), rid
        for pl in run.result.placements_of(rid):
            room[pl.physician_id] -= pl.persons
    assert sum(run.placed[x] for x in singles) == run.max_flow(singles, room)


def _greedy(run: Run, order: list[str], room: dict[str, int]) -> dict[str, int]:
    """The one-person requests of ``order`` placed in that order of priority: each one is
    taken if it still fits with those taken before (for a matroid, the lexicographic best)."""
    chosen: dict[str, int] = {}
    for rid in order:
        trial = chosen | {rid: 1}
        if run.max_flow(trial, room) == len(trial):
            chosen = trial
    return chosen


@given(case=mixed(QUOTA, keep_together=True, households=2))
def test_household_kept_together_goes_to_the_nearest_gp_depriving_no_earlier_request(
    subjects: dict[str, Subject], case: Case
) -> None:
    """8c. With ``households.keep_together`` and monthly_quota, households are considered in
    the policy's order. With the places the households before it left, a household goes to
    the nearest eligible physician (geopy geodesic, to 1 cm) who has room for all its persons
    and with whom the one-person requests before it that would be placed (taken in the
    policy's order while they fit) can all still be placed; it waits only if there is no such
    physician."""
    run = _greedy_run(subjects, case)
    room = dict(run.room)
    singles: list[str] = []
    for rid in sorted(run.rank, key=run.order_key):
        r = run.requests[rid]
        if r.persons == 1:
            singles.append(rid)
            continue
        before = _greedy(run, singles, room)
        admissible = []
        for pid in run.eligible[rid]:
            if room[pid] >= r.persons:
                trial = room | {pid: room[pid] - r.persons}
                if run.max_flow(before, trial) == len(before):
                    admissible.append(pid)
        placements = run.result.placements_of(rid)
        if not placements:
            assert not admissible, rid
            continue
        (pl,) = placements
        assert pl.physician_id in admissible, rid

        def dist(pid: str, r: Request = r) -> float:
            return geodesic_km(_origin(r), _practice(run.physicians[pid]))

        assert dist(pl.physician_id) <= min(dist(pid) for pid in admissible) + 1e-5
        room[pl.physician_id] -= r.persons


# --------------------------------------------------------------------------------------------
# 9: nearest


@given(case=mixed(("deule_marque",), households=2))
def test_nearest_gives_the_nearest_gp_with_room_in_priority_order(
    subjects: dict[str, Subject], case: Case
) -> None:
    """9. With ``nearest`` (Deûle Marque, priority requests), taking the requests in the
    policy's order (level, then received date, then id) and the places left at that point:

    - a one-person request, or a household kept together, goes to a physician at minimal
      distance (geopy geodesic, to 1 cm) among the eligible physicians with room for all its
      persons, and waits only if there is none;
    - a household that may be split is spread from the nearest eligible physician with room
      outwards: as many persons as those physicians have room for, and no nearer physician
      with room is skipped or left with room while a farther one is used.

    Physicians of the same commune (no coordinates of their own, nor for the patient) are at
    the same distance: the one with the smaller id comes first (the documented tie-break).
    Non-priority requests are oriented and use no capacity."""
    run = _run(subjects, case)
    left = dict(run.room)
    for rid in sorted(run.rank, key=run.order_key):
        r = run.requests[rid]
        if run.rank[rid] > 1:
            assert run.result.outcome_of(rid) == "oriented"
            continue
        placements = run.result.placements_of(rid)
        taken = {pl.physician_id: pl.persons for pl in placements}
        assert len(taken) == len(placements)

        def before(q: str, g: str, r: Request = r) -> bool:
            """Physician q comes before g in the nearest-first order for r."""
            dq, dg = (geodesic_km(_origin(r), _practice(run.physicians[x])) for x in (q, g))
            if abs(dq - dg) > 1e-5:
                return dq < dg
            pq, pg = run.physicians[q], run.physicians[g]
            same = all(x is None for x in (r.patient.location, pq.location, pg.location))
            return same and pq.commune == pg.commune and q < g

        if r.persons == 1 or run.policy.keep_households_together:
            with_room = [pid for pid in run.eligible[rid] if left[pid] >= r.persons]
            if not placements:
                assert not with_room, rid
                continue
            (pl,) = placements
            assert pl.persons == r.persons
            assert pl.physician_id in with_room
            assert not [q for q in with_room if before(q, pl.physician_id)], rid
        else:
            with_room = [pid for pid in run.eligible[rid] if left[pid] > 0]
            expected = min(r.persons, sum(left[pid] for pid in with_room))
            assert sum(taken.values()) == expected, rid
            for pid, n in taken.items():
                assert pid in with_room
                assert n <= left[pid]
                for q in with_room:
                    if before(q, pid):
                        assert taken.get(q) == left[q], (rid, q, pid)
        for pid, n in taken.items():
            left[pid] -= n


# --------------------------------------------------------------------------------------------
# 10-12: determinism, total distance, accounting


@given(case=mixed(), data=st.data())
def test_permuting_inputs_changes_nothing(
    subjects: dict[str, Subject], case: Case, data: st.DataObject
) -> None:
    """10. The result does not depend on the order of the requests or of the physicians."""
    name, variant, instance = case
    policy = apply_variant(subjects[name].policy, variant)
    expected = match(instance.requests, instance.physicians, policy, instance.ledger, ON)
    requests = data.draw(st.permutations(instance.requests), label="requests")
    physicians = data.draw(st.permutations(instance.physicians), label="physicians")
    assert match(requests, physicians, policy, instance.ledger, ON) == expected


@given(case=mixed(QUOTA, keep_together=False))
def test_total_distance_is_minimal_for_the_placed_persons(
    subjects: dict[str, Subject], case: Case
) -> None:
    """11. With monthly_quota, the persons placed are assigned to physicians with the smallest
    total distance possible for that set of persons: the total equals a networkx min-cost flow
    placing the same persons of each request within the capacities and eligibility (distances
    from the geo layer, in whole metres), within 1e-6 relative. Each placement reports its
    distance (geopy geodesic, to the metre)."""
    run = _run(subjects, case)
    g = nx.DiGraph()
    g.add_nodes_from(("source", "sink"))
    for rid, n in run.placed.items():
        g.add_edge("source", ("r", rid), capacity=n, weight=0)
        for pid in run.eligible[rid]:
            g.add_edge(("r", rid), ("g", pid), weight=run.metres(rid, pid))
    for pid, n in run.room.items():
        if n > 0:
            g.add_edge(("g", pid), "sink", capacity=n, weight=0)
    flow = nx.max_flow_min_cost(g, "source", "sink")
    assert sum(flow["source"].values()) == sum(run.placed.values())
    best = nx.cost_of_flow(g, flow)
    total = 0
    for pl in run.result.placements:
        total += pl.persons * run.metres(pl.request_id, pl.physician_id)
        r, p = run.requests[pl.request_id], run.physicians[pl.physician_id]
        assert pl.distance_km == pytest.approx(geodesic_km(_origin(r), _practice(p)), abs=1e-3)
    assert total == pytest.approx(best, rel=1e-6)


@given(case=mixed())
def test_every_request_is_accounted_for_once(subjects: dict[str, Subject], case: Case) -> None:
    """12. Every request appears exactly once in the result: rejected ones (no consent, outside
    the territory, change by convenience) only in ``rejected``; the others at the level the
    policy gives them, either oriented, or with their persons placed plus waiting adding up to
    the household's size (at most one waiting entry). The ledger entries are this month's
    placements and can be recorded in a copy of the ledger, with the capacities the policy
    gives (declared, else the policy's default), and with ``MatchResult.record``."""
    run = _run(subjects, case)
    res = run.result
    rejected = {x.request_id: x.reason for x in res.rejected}
    oriented = Counter(o.request_id for o in res.orientations)
    waiting = Counter(w.request_id for w in res.waiting)
    assert set(rejected) | set(run.rank) == set(run.requests)
    for r in run.instance.requests:
        reason = _in_scope(r, run.policy)
        if reason is not None:
            assert rejected.get(r.id) is reason
            assert run.placed[r.id] == oriented[r.id] == waiting[r.id] == 0
            continue
        assert r.id not in rejected
        assert waiting[r.id] <= 1
        assert oriented[r.id] <= 1
        if oriented[r.id]:
            assert run.placed[r.id] == waiting[r.id] == 0
        else:
            assert run.placed[r.id] + run.waiting_persons(r.id) == r.persons
        ranks = [p.rank for p in res.placements_of(r.id)]
        ranks += [o.rank for o in res.orientations if o.request_id == r.id]
        ranks += [w.rank for w in res.waiting if w.request_id == r.id]
        assert set(ranks) == {run.rank[r.id]}, r.id
    assert sum(e.persons for e in res.ledger_entries) == sum(run.placed.values())
    assert {e.month for e in res.ledger_entries} <= {Month.of(ON)}
    for record in ("extend", "result.record"):
        ledger = run.instance.ledger.copy() if run.instance.ledger else CapacityLedger()
        before = len(ledger.entries)
        if record == "extend":
            ledger.extend(
                res.ledger_entries, default_capacity=run.defaults, carry_over=run.policy.carry_over
            )
        else:
            res.record(ledger)
        assert ledger.entries[before:] == res.ledger_entries


@given(case=st.one_of(mixed(), cases(max_distance=True, max_physicians=3)))
def test_waiting_reasons_are_true(subjects: dict[str, Subject], case: Case) -> None:
    """13. A waiting request's reason holds: « aucun médecin éligible » when no available
    physician accepts its commune and need (and has not declined it); « au-delà de la distance
    maximale » when some do but all beyond the maximum distance; « capacité épuisée » or « foyer
    trop grand » when some physician is eligible, the latter only for a household kept together
    that no eligible physician had room for as a whole before the run."""
    run = _run(subjects, case)
    for rid, w in run.waiting.items():
        r = run.requests[rid]
        anywhere = run.eligible_for(r, ignore_distance=True)
        if w.reason is ReasonCode.NO_ELIGIBLE_GP:
            assert not anywhere
        elif w.reason is ReasonCode.BEYOND_MAX_DISTANCE:
            assert anywhere
            assert not run.eligible[rid]
        elif w.reason is ReasonCode.HOUSEHOLD_TOO_LARGE:
            assert run.policy.keep_households_together
            assert r.persons > 1
            assert run.eligible[rid]
            assert max(run.room[pid] for pid in run.eligible[rid]) < r.persons
        else:
            assert w.reason is ReasonCode.CAPACITY_EXHAUSTED, w
            assert run.eligible[rid]


@settings(max_examples=max(20, settings().max_examples // 3))  # a third of the profile's
@given(case=cases(ALL, min_requests=64, max_requests=80, max_physicians=4, locations=False))
def test_large_batches_get_the_same_levels(subjects: dict[str, Subject], case: Case) -> None:
    """14. A batch of 64 requests or more (classified with the vectorised criteria) gets the
    scope decisions and levels the policy gives each request, and every placement names the
    criteria of its level that its request meets, as when the request is classified alone."""
    run = _run(subjects, case)
    assert len(run.instance.requests) >= 64
    rejected = {x.request_id: x.reason for x in run.result.rejected}
    for r in run.instance.requests:
        assert rejected.get(r.id) is _in_scope(r, run.policy), r.id
    entries: list[Placement | Waiting | Orientation] = [
        *run.result.placements,
        *run.result.waiting,
        *run.result.orientations,
    ]
    for entry in entries:
        assert entry.rank == run.rank[entry.request_id], entry
    for pl in run.result.placements:
        if pl.rank <= len(run.policy.levels):
            level = run.policy.levels[pl.rank - 1]
            r = run.requests[pl.request_id]
            assert pl.criteria == tuple(c.label for c in level.criteria if c(r, ON)), r


# --------------------------------------------------------------------------------------------
# 15: the judge's view on the result (test_judge_view checks a month from it alone)


@given(case=st.one_of(mixed(), cases(max_distance=True, max_physicians=3)))
def test_the_judges_view_states_the_policys_rules(subjects: dict[str, Subject], case: Case) -> None:
    """15. ``places_at_start`` gives every physician, by id, the places left this month
    before the run (the ``room`` of property 1: 0 when unavailable), and the result's
    eligibility table lists every request placed or waiting, sorted, with the physicians
    eligible for it (property 3: available, accepting its commune, serving its need for home
    visits, not having declined it, within the rule's maximum distance), sorted by id, and
    their count; a placement's physician is among them."""
    run = _run(subjects, case)
    result = run.result
    assert result.explain == "full"
    assert result.places_at_start == tuple(sorted(run.room.items()))
    routed = {x.request_id for x in (*result.placements, *result.waiting)}
    assert result.eligibility.request_ids == tuple(sorted(routed))
    for rid in routed:
        expected = tuple(sorted(run.eligible[rid]))
        assert (result.eligible(rid), result.eligible_count(rid)) == (expected, len(expected))
    for p in result.placements:
        assert p.physician_id in (result.eligible(p.request_id) or ())


# --------------------------------------------------------------------------------------------
# Regression


def test_nearest_splits_a_household_from_the_nearest_gp_with_room(deule_marque: Policy) -> None:
    """Found by property 9 (then fixed in route_nearest): a priority household that may be
    split crashed with UnboundLocalError (the placement used a variable of the one-person
    branch). R1 takes the Marcq GP; the household of 2 goes to the next nearest, Marquette and
    Bondues, both naming the full Marcq GP as nearer."""

    def request(rid: str, received: dt.date, adults: int) -> Request:
        return Request(
            id=rid,
            received=received,
            patient=mt_access.Patient(birth_date=dt.date(1950, 1, 1), commune=MARCQ),
            household=Household(adults=adults),
        )

    physicians = [
        Physician(id=pid, name=f"Dr {pid}", commune=commune, monthly_capacity=1)
        for pid, commune in (("marcq", MARCQ), ("marquette", MARQUETTE), ("bondues", BONDUES))
    ]
    requests = [request("R1", dt.date(2026, 1, 1), 1), request("H", dt.date(2026, 1, 2), 2)]
    result = match(requests, physicians, deule_marque, None, ON)
    placed = sorted(
        (p.request_id, p.physician_id, p.persons, p.nearer_full) for p in result.placements
    )
    assert placed == [
        ("H", "bondues", 1, ("marcq",)),
        ("H", "marquette", 1, ("marcq",)),
        ("R1", "marcq", 1, ()),
    ]
    assert not result.waiting
