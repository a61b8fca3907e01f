"""Hypothesis properties of the simulation on small random scenarios: capacity is never
exceeded, every request is in exactly one state each month and the counts add up, the
priority order is kept, and the same seed gives the same run."""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter

import attrs
import numpy as np
from hypothesis import event, given, settings
from hypothesis import strategies as st

import mt_access
from mt_access import Month
from mt_access.lifecycle import ExitReason, RequestState
from mt_access.result import ReasonCode
from mt_access.simulation import (
    Behaviour,
    GPRates,
    GPRetires,
    PatientRates,
    Scenario,
    SimulationRun,
    policy_variant,
    simulate,
)
from mt_access.simulation.records import RequestOutcome
from mt_access.simulation.runner import _simulation, run_summary

VOIRONNAIS = mt_access.load_policy("voironnais")
POLICIES = {
    "monthly_quota": VOIRONNAIS,
    "nearest": policy_variant(VOIRONNAIS, router="nearest"),
    "k_nearest": policy_variant(VOIRONNAIS, router="k_nearest", k=2),
    "pull": policy_variant(VOIRONNAIS, router="pull", list_size=3),
    "orientation": policy_variant(VOIRONNAIS, router="orientation"),
    "capped": policy_variant(VOIRONNAIS, router="nearest", max_distance_km=6),
    "carry_over": policy_variant(VOIRONNAIS, changes={"capacity": {"carry_over": True}}),
    "together": policy_variant(VOIRONNAIS, changes={"households": {"keep_together": True}}),
}
COMMUNES = sorted(VOIRONNAIS.territory)
probability = st.sampled_from([0.0, 0.1, 0.5, 0.9, 1.0])


@st.composite
def scenarios(draw: st.DrawFn, *, uniform: bool = False) -> Scenario:
    """Small scenarios; ``uniform``: single persons, office only, every GP accepting the
    whole territory and every proposal (every GP is eligible for every request)."""
    territory = draw(st.lists(st.sampled_from(COMMUNES), min_size=1, max_size=5, unique=True))
    months = draw(st.integers(1, 3))
    patients = PatientRates(
        monthly_requests=draw(st.integers(1, 12)),
        home_visits=0.0 if uniform else draw(st.sampled_from([0.0, 1 / 15, 0.5])),
        css=draw(probability),
        two_adults=0.0 if uniform else draw(probability),
        children=((0, 1.0),) if uniform else ((0, 0.5), (2, 0.5)),
        siblings=((0, 1.0),) if uniform else ((0, 0.5), (1, 0.5)),
    )
    gps = GPRates(
        count=draw(st.integers(1, 5)),
        capacities=((draw(st.integers(0, 3)), 1.0), (draw(st.integers(1, 3)), 1.0)),
        home_visits=0.0 if uniform else draw(probability),
        home_visits_only=0.0 if uniform else 0.2,
        restricted=0.0 if uniform else draw(probability),
        radius_km=draw(st.sampled_from([0.0, 5.0, 15.0])),
    )
    behaviour = Behaviour(
        acceptance=1.0 if uniform else draw(st.sampled_from([0.0, 0.5, 1.0, 1.0])),
        list_acceptance=draw(st.sampled_from([0.0, 0.5, 1.0, 1.0])),
        not_searching=draw(st.sampled_from([0.0, 0.2])),
        other_solution=draw(st.sampled_from([0.0, 0.3])),
        unreachable=draw(st.sampled_from([0.0, 0.3])),
        suspension=draw(st.sampled_from([0.0, 0.3])),
        withdrawal=draw(st.sampled_from([0.0, 0.2])),
        capacity_change=draw(st.sampled_from([0.0, 0.5])),
        match_day=draw(st.integers(1, 28)),
    )
    scenario = Scenario(
        territory=territory,
        start=Month(2026, draw(st.integers(1, 12))),
        months=months,
        seed=draw(st.integers(0, 2**32)),
        patients=patients,
        gps=gps,
        behaviour=behaviour,
    )
    if draw(st.booleans()) and not uniform:
        gp = scenario.register[0].id
        scenario = scenario.with_event(
            GPRetires(physician_id=gp, month=1, patients_entering=draw(st.integers(0, 6)))
        )
    return scenario


def _check_conservation(run: SimulationRun) -> None:
    files = 0
    for month in run.months:
        files += month.arrivals + month.continuations
        counts = dict(month.by_state)
        exits = dict(month.exits)
        assert sum(counts.values()) == month.files == files
        assert counts[RequestState.MT_FOUND] == exits[ExitReason.MT_FOUND]
        assert counts[RequestState.EXITED] + exits[ExitReason.MT_FOUND] == sum(exits.values())
    by_state = Counter(o.state for o in run.outcomes)
    assert dict(run.months[-1].by_state) == {s: by_state.get(s, 0) for s in RequestState}
    assert set(run.files) == {o.request_id for o in run.outcomes}


def _check_capacity(run: SimulationRun, policy: mt_access.Policy) -> None:
    ledger = run.ledger
    for gp in run.physicians:
        default = policy.monthly_capacity_of(gp)
        for month in run.scenario.months_simulated:
            room = ledger.capacity(gp.id, month, default=default)
            if policy.carry_over:
                previous = month.previous()
                room += max(
                    0,
                    ledger.capacity(gp.id, previous, default=default)
                    - ledger.used(gp.id, previous),
                )
            assert ledger.used(gp.id, month) <= room
    for load in run.loads:
        assert load.used <= load.capacity or load.used == 0


@settings(deadline=None)
@given(scenario=scenarios(), router=st.sampled_from(sorted(POLICIES)))
def test_capacity_never_exceeded_and_counts_add_up(scenario: Scenario, router: str) -> None:
    policy = POLICIES[router]
    run = simulate(scenario, policy)
    event(f"placements: {any(o.placed for o in run.outcomes)}")
    event(f"waiting at the end: {any(o.state is RequestState.WAITING for o in run.outcomes)}")
    _check_conservation(run)
    _check_capacity(run, policy)
    for outcome in run.outcomes:
        if outcome.placed:
            assert outcome.physician_id is not None
            assert run.files[outcome.request_id].physician_found == outcome.physician_id


@settings(deadline=None)
@given(
    scenario=scenarios(uniform=True),
    router=st.sampled_from(["monthly_quota", "nearest"]),
)
def test_priority_order_is_kept(scenario: Scenario, router: str) -> None:
    """Every GP is eligible for every request (whole territory, office, no refusal) and the
    patients are single persons: in a month's run, no request of a lower level is placed
    while a request of a higher level waits for lack of capacity."""
    run = simulate(scenario, POLICIES[router])
    short_any = any(
        w.reason is ReasonCode.CAPACITY_EXHAUSTED for r in run.results for w in r.waiting
    )
    event(f"short of capacity: {short_any}")
    for result in run.results:
        short = [w.rank for w in result.waiting if w.reason is ReasonCode.CAPACITY_EXHAUSTED]
        if short:
            assert all(p.rank <= min(short) for p in result.placements)
        assert all(w.persons == 1 for w in result.waiting)


@settings(deadline=None, max_examples=15)
@given(scenario=scenarios(), router=st.sampled_from(sorted(POLICIES)))
def test_same_seed_same_run(scenario: Scenario, router: str) -> None:
    policy = POLICIES[router]
    a = simulate(scenario, policy)
    b = simulate(attrs.evolve(scenario, physicians=list(reversed(scenario.register))), policy)
    assert a.outcomes == b.outcomes
    assert a.months == b.months
    assert a.ledger == b.ledger


@settings(deadline=None, max_examples=25)
@given(scenario=scenarios(), router=st.sampled_from(sorted(POLICIES)))
def test_a_comparison_run_without_files_gives_the_same_outcomes(
    scenario: Scenario, router: str
) -> None:
    """A comparison's run follows no RequestFile, only each request's exit reason: its
    indicators and monthly series are those of the run that follows the files, and every
    request's exit reason is its file's."""
    policy = POLICIES[router]
    with_files = _simulation(scenario, policy, 0, keep_results=True)
    for track in with_files.tracks.values():
        assert track.file is not None
        assert track.exit_reason is track.file.exit_reason
    without = _simulation(scenario, policy, 0)
    assert all(track.file is None for track in without.tracks.values())
    assert without.outcomes() == with_files.outcomes()
    assert without.waiting_series == with_files.waiting_series
    assert without.placed_series == with_files.placed_series
    values, waiting, placed = run_summary(scenario, policy, 0)
    run = simulate(scenario, policy)
    assert waiting.tolist() == [m.count(RequestState.WAITING) for m in run.months]
    assert placed.tolist() == [m.placed for m in run.months]
    expected = run.summary()
    assert values.keys() == expected.keys()
    for key, value in values.items():
        assert value == expected[key] or (value != value and expected[key] != expected[key])


def _restated(outcomes: list[RequestOutcome], end: dt.date) -> dict[str, float]:
    """The request indicators of a group, computed request by request (what
    ``metrics.summarise`` computed on RequestOutcome objects before it worked on columns)."""
    originals = [o for o in outcomes if o.parent_id is None]
    placed = [o for o in originals if o.placed]
    waits = [o.wait_days or 0 for o in placed]
    distances = [o.distance_km for o in placed if o.distance_km is not None]
    skip = {ExitReason.OUT_OF_SCOPE, ExitReason.NOT_SEARCHING_ANYMORE}
    waited = [((o.end or end) - o.received).days for o in originals if o.exit_reason not in skip]
    reasons = Counter(o.exit_reason for o in originals)

    def share(part: int, whole: int) -> float:
        return part / whole if whole else math.nan

    def within(days: int) -> float:
        limit = end - dt.timedelta(days=days)
        quick = sum(
            1 for o, w in zip(placed, waits, strict=True) if o.received <= limit and w <= days
        )
        return share(quick, sum(1 for o in originals if o.received <= limit))

    def stat(values: list[int] | list[float], q: float | None) -> float:
        if not values:
            return math.nan
        array = np.array(values, dtype=np.float64)
        return float(np.median(array) if q is None else np.percentile(array, q))

    return {
        "demandes": len(originals),
        "placées": len(placed),
        "part placée": share(len(placed), len(originals)),
        "placées en 30 j": within(30),
        "placées en 90 j": within(90),
        "délai médian (j)": stat(waits, None),
        "délai P90 (j)": stat(waits, 90),
        "attente médiane (j)": stat(waited, None),
        "attente P90 (j)": stat(waited, 90),
        "part avec solution": share(
            len(placed) + reasons[ExitReason.OTHER_SOLUTION], len(originals)
        ),
        "non placées": len(originals) - len(placed),
        "en attente à la fin": sum(1 for o in originals if o.state is RequestState.WAITING),
        "autre solution": reasons[ExitReason.OTHER_SOLUTION],
        "injoignables": reasons[ExitReason.UNREACHABLE],
        "ne cherchent plus": reasons[ExitReason.NOT_SEARCHING_ANYMORE]
        + reasons[ExitReason.WITHDRAWN],
        "hors du champ": reasons[ExitReason.OUT_OF_SCOPE],
        "distance moyenne (km)": float(np.array(distances).mean()) if distances else math.nan,
        "distance max (km)": max(distances) if distances else math.nan,
        "personnes placées": sum(o.persons_placed for o in outcomes),
    }


@settings(deadline=None, max_examples=25)
@given(scenario=scenarios(), router=st.sampled_from(sorted(POLICIES)))
def test_indicators_restated_request_by_request(scenario: Scenario, router: str) -> None:
    """The indicators (computed on columns) are those of each group's requests counted one
    by one; a comparison's replication gives them too."""
    policy = POLICIES[router]
    run = simulate(scenario, policy)
    summary = run.summary()
    groups: dict[str, list[RequestOutcome]] = {"ensemble": list(run.outcomes)}
    for outcome in run.outcomes:
        groups.setdefault(outcome.level, []).append(outcome)
        if outcome.fragile:
            groups.setdefault("patients fragiles", []).append(outcome)
        if outcome.cohort:
            groups.setdefault(outcome.cohort, []).append(outcome)
    for group, outcomes in groups.items():
        for name, value in _restated(outcomes, run.end).items():
            got = summary[(group, name)]
            assert got == value or (math.isnan(got) and math.isnan(value)), (group, name)
    values, _, _ = run_summary(scenario, policy, 0)
    assert values.keys() == summary.keys()
    for key, value in values.items():
        assert value == summary[key] or (math.isnan(value) and math.isnan(summary[key]))
