"""The quick matching run of a comparison's replication
(:class:`mt_access.simulation.quick_match.QuickMatcher`) against :func:`mt_access.match`:
month by month, the same placements (request, GP, persons, distance, level), the same
levels, rejections and ledger entries; and a whole replication gives the same indicators
and monthly series either way."""

from __future__ import annotations

import datetime as dt
from typing import Any

import attrs
import numpy as np
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

import mt_access
from mt_access.engine import match
from mt_access.model import (
    Consent,
    HomeVisitNeed,
    Household,
    Modality,
    Patient,
    Referrer,
    Request,
    SearchReason,
)
from mt_access.result import MatchResult
from mt_access.simulation import (
    CapacityChange,
    GPJoins,
    GPRates,
    GPSuspends,
    GPWithdraws,
    PatientRates,
    Scenario,
    generator,
    policy_variant,
)
from mt_access.simulation import runner as runner_module
from mt_access.simulation.quick_match import QuickMatcher, QuickResult, quick_policy
from mt_access.simulation.runner import _Simulation, run_summary
from test_simulation_properties import VOIRONNAIS, scenarios

POLICIES = {
    "monthly_quota": VOIRONNAIS,
    "capped_priority": policy_variant(
        VOIRONNAIS, router="monthly_quota", rules="priority", max_distance_km=6
    ),
    "capped_all": policy_variant(VOIRONNAIS, router="monthly_quota", max_distance_km=4),
    "carry_over": policy_variant(VOIRONNAIS, changes={"capacity": {"carry_over": True}}),
    "together": policy_variant(VOIRONNAIS, changes={"households": {"keep_together": True}}),
}


class _Both(_Simulation):
    """A replication routed by :func:`mt_access.match` (the reference) which, every month,
    also asks a :class:`QuickMatcher` on the same requests, GPs and ledger, and checks that
    both agree (when the quick path takes the month)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.matcher = QuickMatcher(self.policy, self.distances, self.pm)
        self.taken = 0  # months the quick path took
        self.placed = 0  # placements compared

    def _match(self, candidates: list[Request], on: dt.date) -> MatchResult | QuickResult:
        physicians = list(self.physicians.values())
        quick = self.matcher(candidates, physicians, self.ledger, on)
        result = match(
            candidates,
            physicians,
            self.policy,
            self.ledger,
            on,
            distances=self.distances,
            plugin_manager=self.pm,
            resource_contacts=self.involved,
            explain="none",
        )
        if quick is not None:
            self.taken += 1
            self.placed += len(quick.placements)
            _check_same(quick, result)
        return result


def _check_same(quick: QuickResult, result: MatchResult) -> None:
    assert [
        (p.request_id, p.physician_id, p.persons, p.distance_km, p.level, p.rank)
        for p in quick.placements
    ] == [
        (p.request_id, p.physician_id, p.persons, p.distance_km, p.level, p.rank)
        for p in result.placements
    ]
    routed = {(w.request_id, w.level, w.rank) for w in result.waiting}
    routed |= {(p.request_id, p.level, p.rank) for p in result.placements}
    assert {(w.request_id, w.level, w.rank) for w in quick.waiting} == routed
    assert len(quick.waiting) == len(routed)
    assert quick.rejected == list(result.rejected)
    assert quick.ledger_entries == result.ledger_entries
    assert quick.capacity_defaults == dict(result.capacity_defaults)
    assert quick.carry_over == result.carry_over
    assert not result.orientations
    assert not result.pull_lists
    assert not result.attached_resources


def _same_summary(a: Any, b: Any) -> None:
    values_a, waiting_a, placed_a = a
    values_b, waiting_b, placed_b = b
    assert waiting_a.tolist() == waiting_b.tolist()
    assert placed_a.tolist() == placed_b.tolist()
    assert values_a.keys() == values_b.keys()
    for key, value in values_a.items():
        other = values_b[key]
        assert value == other or (value != value and other != other), key


@settings(deadline=None, max_examples=40)
@given(scenario=scenarios(), name=st.sampled_from(sorted(POLICIES)))
def test_quick_months_are_the_engines(scenario: Scenario, name: str) -> None:
    policy = POLICIES[name]
    both = _Both(scenario, policy, 0)
    both.run()
    event(f"months on the quick path: {both.taken > 0}")
    event(f"placements compared: {both.placed > 0}")
    if name != "together":  # a household kept together leaves the quick path
        assert both.taken == scenario.months


@settings(deadline=None, max_examples=25)
@given(
    scenario=scenarios(),
    name=st.sampled_from(sorted(POLICIES)),
    replication=st.integers(0, 3),
)
def test_a_replication_is_the_same_on_both_paths(
    scenario: Scenario, name: str, replication: int
) -> None:
    policy = POLICIES[name]
    _same_summary(
        run_summary(scenario, policy, replication),
        run_summary(scenario, policy, replication, quick=False),
    )


def test_a_cpts_year_is_the_same_on_both_paths(monkeypatch: pytest.MonkeyPatch) -> None:
    """The benchmark's CPTS (100 requests a month, 60 GPs with suspensions, withdrawals and
    capacity changes, a year), several replications: every month on the quick path, the
    same months as the engine's, and the same indicators."""
    policy = mt_access.load_policy("voironnais")
    scenario = Scenario.for_policy(
        policy,
        start=mt_access.Month(2026, 1),
        months=12,
        seed=2026,
        patients=PatientRates(monthly_requests=100),
        gps=GPRates(count=60),
    )
    assert quick_policy(policy)
    for replication in (1, 7):
        both = _Both(scenario, policy, replication)
        both.run()
        assert both.taken == 12
        assert both.placed > 500
    calls = {"quick": 0}
    original = QuickMatcher.__call__

    def counted(self: QuickMatcher, *args: Any) -> QuickResult | None:
        found = original(self, *args)
        calls["quick"] += found is not None
        return found

    monkeypatch.setattr(QuickMatcher, "__call__", counted)
    for replication in (0, 3, 11):
        _same_summary(
            run_summary(scenario, policy, replication),
            run_summary(scenario, policy, replication, quick=False),
        )
    assert calls["quick"] == 3 * 12


def test_simulate_and_other_routers_keep_the_engine() -> None:
    """A run that keeps its results, and a policy with another router, call match."""
    assert not quick_policy(policy_variant(VOIRONNAIS, router="nearest"))
    assert not quick_policy(policy_variant(VOIRONNAIS, router="k_nearest", k=2))
    scenario = Scenario.for_policy(
        VOIRONNAIS, start=mt_access.Month(2026, 1), months=1, seed=1, gps=GPRates(count=5)
    )
    assert runner_module._simulation(scenario, VOIRONNAIS, 0, keep_results=True).quick is None
    assert runner_module._simulation(scenario, VOIRONNAIS, 0).quick is not None
    assert runner_module._simulation(scenario, VOIRONNAIS, 0, quick=False).quick is None


@settings(deadline=None, max_examples=20)
@given(scenario=scenarios(), month=st.integers(0, 2))
def test_generated_requests_are_the_checked_constructors(scenario: Scenario, month: int) -> None:
    """The generator sets a request's fields without the constructors' conversions and
    checks: the same values, of the same types, as ``Request(...)`` and ``Patient(...)``."""
    state = _Simulation(scenario, VOIRONNAIS, 0)
    months = scenario.months_simulated
    index = min(month, len(months) - 1)
    found = state._regular_arrivals(index, months[index])
    for arrival in found:
        fast = arrival.request
        checked = Request(
            id=fast.id,
            received=fast.received,
            patient=Patient(birth_date=fast.patient.birth_date, commune=fast.patient.commune),
            ald=fast.ald,
            css=fast.css,
            ame=fast.ame,
            disability_or_chronic=fast.disability_or_chronic,
            home_visits=fast.home_visits,
            urgent=fast.urgent,
            reason=fast.reason,
            previous_mt=fast.previous_mt,
            household=fast.household,
            referrer=fast.referrer,
            consent=fast.consent,
        )
        assert fast == checked
        assert hash(fast) == hash(checked)
        for field in attrs.fields(Request):
            a, b = getattr(fast, field.name), getattr(checked, field.name)
            assert type(a) is type(b), field.name
        assert attrs.evolve(fast) == fast  # the checks accept it
    event(f"requests: {len(found) > 0}")


def test_generated_request_knows_the_fields() -> None:
    """A field added to Request or Patient turns the unchecked way off (the checked
    constructors then build the requests)."""
    assert generator._UNCHECKED
    request = generator.generated_request(
        "D-1",
        dt.date(2026, 1, 5),
        dt.date(1980, 3, 1),
        sorted(VOIRONNAIS.territory)[0],
        True,
        False,
        False,
        True,
        HomeVisitNeed.OCCASIONAL,
        False,
        SearchReason.PREVIOUS_MT_LEFT,
        None,
        Household(adults=1, children=2),
        Referrer(),
        Consent(given=True),
    )
    assert request == Request(
        id="D-1",
        received=dt.date(2026, 1, 5),
        patient=Patient(birth_date=dt.date(1980, 3, 1), commune=sorted(VOIRONNAIS.territory)[0]),
        ald=True,
        disability_or_chronic=True,
        home_visits="occasional",
        reason="previous_mt_left",
        household=Household(adults=1, children=2),
    )


def test_gps_joining_and_leaving_keep_both_paths_equal() -> None:
    """GPs joining (one with home visits and a list of communes), a capacity change, a
    suspension and a withdrawal: the GPs' eligibility is worked out again when the GPs
    change, and every month still agrees with match."""
    policy = mt_access.load_policy("voironnais")
    scenario = Scenario.for_policy(
        policy,
        start=mt_access.Month(2026, 1),
        months=6,
        seed=5,
        patients=PatientRates(monthly_requests=60),
        gps=GPRates(count=12),
    )
    communes = sorted(policy.territory)
    gp1, gp2, gp3 = (p.id for p in scenario.register[:3])
    scenario = scenario.with_event(
        GPJoins(month=2, capacity=6, commune=communes[0]),
        GPJoins(
            month=3,
            capacity=4,
            commune=communes[-1],
            modalities=frozenset({Modality.OFFICE, Modality.HOME_VISITS}),
            accepted_communes=frozenset(communes[:5]),
        ),
        CapacityChange(gp1, month=2, capacity=0),
        GPSuspends(gp2, month=3, months=1),
        GPWithdraws(gp3, month=4),
    )
    for replication in (0, 1):
        both = _Both(scenario, policy, replication)
        both.run()
        assert both.taken == 6
        assert both.placed > 0
        _same_summary(
            run_summary(scenario, policy, replication),
            run_summary(scenario, policy, replication, quick=False),
        )


@settings(deadline=None, max_examples=200)
@given(
    weights=st.lists(
        st.one_of(st.just(0.0), st.floats(1e-6, 1e3, allow_nan=False)), min_size=1, max_size=12
    ).filter(lambda w: sum(w) > 0),
    size=st.integers(0, 300),
    seed=st.integers(0, 2**32),
)
def test_weighted_choice_is_numpys_choice(weights: list[float], size: int, seed: int) -> None:
    """The generator's weighted_choice draws what rng.choice draws, and leaves the stream
    where it leaves it."""
    w = np.array(weights, dtype=np.float64)
    p = w / w.sum()
    a, b = generator.rng_for(seed, 1), generator.rng_for(seed, 1)
    assert (
        generator.weighted_choice(a, p, size).tolist() == b.choice(len(p), size=size, p=p).tolist()
    )
    assert a.random() == b.random()


def test_declined_copy_is_attrs_evolve() -> None:
    """A request refused by GPs is copied slot by slot: the value attrs.evolve gives."""
    scenario = Scenario.for_policy(VOIRONNAIS, months=1, seed=3)
    arrivals = generator.generate_requests(
        generator.territory_data(VOIRONNAIS.territory, mt_access.geo.bundled_reference()),
        scenario.patients,
        mt_access.Month(2026, 2),
        generator.rng_for(3, 1),
        id_prefix="T",
        key=(0,),
        count=20,
    )
    for arrival in arrivals:
        request = attrs.evolve(arrival.request, declined_by=frozenset({"MG002"}))
        declined = frozenset({"MG001", "MG002"})
        fast = generator.declined_copy(request, declined)
        checked = attrs.evolve(request, declined_by=declined)
        assert fast == checked
        assert fast is not request
        assert request.declined_by == frozenset({"MG002"})
        for field in attrs.fields(Request):
            assert getattr(fast, field.name) is getattr(checked, field.name), field.name
