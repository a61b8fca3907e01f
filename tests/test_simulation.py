"""Simulation and policy comparison (mt_access.simulation): generator, month loop, events,
policy variants, comparison, frames and plots, and the Sud Est Grenoblois calibration."""

from __future__ import annotations

import datetime as dt
import gc
import os
import random
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import attrs
import numpy as np
import pytest

import mt_access
from mt_access import Month, Physician
from mt_access.lifecycle import Event, ExitReason, RequestFile, RequestState
from mt_access.model import HomeVisitNeed, SearchReason, age_on
from mt_access.simulation import (
    ALL,
    FRAGILE,
    INDICATORS,
    Behaviour,
    CapacityChange,
    GPJoins,
    GPRates,
    GPRetires,
    GPSuspends,
    GPWithdraws,
    PatientRates,
    Scenario,
    SimulationError,
    compare,
    generate_identity,
    generate_requests,
    policy_variant,
    pool,
    rng_for,
    seg_policy,
    seg_scenario,
    simulate,
    territory_data,
)
from mt_access.simulation.runner import proposed_and_accepted, run_summary, waiting_file

VOIRONNAIS = mt_access.load_policy("voironnais")
DEULE = mt_access.load_policy("deule_marque")
SMALL = Scenario.for_policy(
    VOIRONNAIS,
    start=Month(2026, 1),
    months=4,
    seed=11,
    patients=PatientRates(monthly_requests=30),
    gps=GPRates(count=8),
)


@pytest.fixture(scope="module")
def small_run() -> mt_access.simulation.SimulationRun:
    return simulate(SMALL, VOIRONNAIS, replication=0)


# --------------------------------------------------------------------------------------------
# The generator


def _sample(rates: PatientRates, n: int = 20_000) -> list[mt_access.Request]:
    territory = territory_data(VOIRONNAIS.territory, mt_access.geo.bundled_reference())
    rng = rng_for(5, 99)
    arrivals = generate_requests(
        territory, rates, Month(2026, 3), rng, id_prefix="T", key=(0,), count=n
    )
    return [a.request for a in arrivals]


def test_default_rates_reproduce_the_sud_est_grenoblois_profile() -> None:
    """Source: CPTS Sud Est Grenoblois, review after 6 months (June 2022), workshop slides
    (source document 004): 1 person in 3 with a priority criterion (over 70, under 6, ALD,
    CSS/AME), home visits for 1 in 15, 250 registered in 6 months."""
    requests = _sample(PatientRates())
    n = len(requests)

    def fragile(r: mt_access.Request) -> bool:
        age = r.age(r.received)
        return age >= 70 or age < 6 or r.ald or r.css or r.ame

    assert sum(map(fragile, requests)) / n == pytest.approx(1 / 3, abs=0.02)
    visits = sum(r.home_visits is not HomeVisitNeed.NONE for r in requests) / n
    assert visits == pytest.approx(1 / 15, abs=0.008)
    old = sum(r.age(r.received) >= 70 for r in requests) / n
    assert old == pytest.approx(0.09, abs=0.01)  # SNDS 2022: 6.0 % / 11.9 % of the 17+
    seg = seg_scenario()
    assert seg.expected_monthly_requests == pytest.approx(250 / 6, rel=1e-6)
    assert seg.population == 50_361


def test_rates_are_parameters() -> None:
    requests = _sample(PatientRates(css=1.0, home_visits=0.0, urgent=1.0), n=500)
    assert all(r.css and r.urgent and r.home_visits is HomeVisitNeed.NONE for r in requests)
    left = _sample(PatientRates.patient_list(), n=200)
    assert {r.reason for r in left} == {SearchReason.PREVIOUS_MT_LEFT}
    with pytest.raises(ValueError, match="probabilité"):
        PatientRates(css=1.5)


def test_volume_is_proportional_to_population() -> None:
    scenario = attrs.evolve(SMALL, patients=PatientRates(), months=1)
    expected = scenario.population * 0.119 * PatientRates().monthly_uptake
    assert scenario.expected_monthly_requests == pytest.approx(expected)
    counts = Counter(
        r.commune
        for rep in range(6)
        for r in (o for o in simulate(scenario, VOIRONNAIS, replication=rep).outcomes)
    )
    territory = territory_data(VOIRONNAIS.territory, mt_access.geo.bundled_reference())
    biggest = territory.codes[int(np.argmax(territory.population))]
    assert counts.most_common(1)[0][0] == biggest  # Voiron


def test_generated_physicians_are_reproducible_and_plausible() -> None:
    register = SMALL.register
    assert register == attrs.evolve(SMALL, months=9).register  # depends on the seed only
    assert register != attrs.evolve(SMALL, seed=12).register
    assert [p.id for p in register] == [f"MG{i:03d}" for i in range(1, 9)]
    for p in register:
        assert p.name.startswith("Dr ")
        assert p.commune in VOIRONNAIS.territory
        assert p.monthly_capacity in {1, 2, 3, 4, 5}
        assert not p.accepted_communes or p.commune in p.accepted_communes
    default_count = Scenario.for_policy(VOIRONNAIS).register
    assert len(default_count) == round(83_834 / 10_000 * 7)


def test_generated_identities_are_fictitious_and_stable() -> None:
    a = generate_identity(3, "D202601-00001")
    assert a == generate_identity(3, "D202601-00001")
    assert a != generate_identity(3, "D202601-00002")
    assert a.last_name
    assert a.first_name
    assert a.identifier == "D202601-00001"


def test_scenario_checks() -> None:
    with pytest.raises(SimulationError, match="hors de la période"):
        SMALL.with_event(GPWithdraws("MG001", month=5))
    with pytest.raises(SimulationError, match="inconnu"):
        simulate(SMALL.with_event(GPWithdraws("MG999", month=2)), VOIRONNAIS)
    with pytest.raises(SimulationError, match="territoire vide"):
        Scenario(territory=[])
    with pytest.raises(ValueError, match="physician_id ou commune"):
        GPRetires(month=1, patients_entering=3)


# --------------------------------------------------------------------------------------------
# Determinism


def test_same_seed_same_result(small_run: mt_access.simulation.SimulationRun) -> None:
    again = simulate(SMALL, VOIRONNAIS, replication=0)
    assert again.outcomes == small_run.outcomes
    assert again.months == small_run.months
    assert again.loads == small_run.loads
    assert again.ledger == small_run.ledger
    assert again.files == small_run.files
    other = simulate(SMALL, VOIRONNAIS, replication=1)
    assert other.outcomes != small_run.outcomes


def test_input_order_does_not_matter(small_run: mt_access.simulation.SimulationRun) -> None:
    shuffled = list(SMALL.register)
    random.Random(3).shuffle(shuffled)
    territory = sorted(SMALL.territory, reverse=True)
    explicit = attrs.evolve(SMALL, physicians=shuffled, territory=territory)
    run = simulate(explicit, VOIRONNAIS)
    assert run.outcomes == small_run.outcomes
    assert run.ledger == small_run.ledger


# --------------------------------------------------------------------------------------------
# Conservation and the core's rules


def test_every_request_is_in_exactly_one_state_each_month(
    small_run: mt_access.simulation.SimulationRun,
) -> None:
    files = 0
    for state in small_run.months:
        files += state.arrivals + state.continuations
        assert state.files == files
        counts = dict(state.by_state)
        assert sum(counts.values()) == files
        exits = dict(state.exits)
        assert counts[RequestState.MT_FOUND] == exits[ExitReason.MT_FOUND]
        assert counts[RequestState.EXITED] == sum(exits.values()) - exits[ExitReason.MT_FOUND]
        assert counts[RequestState.PROPOSED] == 0  # every proposal is answered in the month
    final = small_run.months[-1]
    by_outcome = Counter(o.state for o in small_run.outcomes)
    assert dict(final.by_state) == {s: by_outcome.get(s, 0) for s in RequestState}
    assert len(small_run.files) == len(small_run.outcomes) == final.files
    placed_monthly = sum(m.placed for m in small_run.months)
    assert placed_monthly == by_outcome[RequestState.MT_FOUND]


def test_outcomes_agree_with_the_files_and_the_ledger(
    small_run: mt_access.simulation.SimulationRun,
) -> None:
    ledger = small_run.ledger
    for o in small_run.outcomes:
        file = small_run.files[o.request_id]
        assert file.state is o.state
        if o.placed:
            assert file.physician_found == o.physician_id
            assert o.wait_days is not None
            assert o.wait_days >= 0
            assert o.route in {"proposition", "liste", "liste partagée"}
            placed = {p.physician_id for p in ledger.placement_of(o.request_id)}
            assert o.physician_id in placed
        persons = sum(p.persons for p in ledger.placement_of(o.request_id))
        assert persons == o.persons_placed
        proposals = [t.physician_id for t in file.history if t.event is Event.PROPOSE]
        refusals = {t.physician_id for t in file.history if t.event is Event.REFUSE}
        for gp in refusals:  # a GP who refused is never proposed the request again
            after = file.history.index(
                next(t for t in file.history if t.event is Event.REFUSE and t.physician_id == gp)
            )
            assert gp not in [t.physician_id for t in file.history[after:]][1:]
        assert len(proposals) >= len(refusals)


def test_capacity_is_never_exceeded(small_run: mt_access.simulation.SimulationRun) -> None:
    for load in small_run.loads:
        assert load.used <= load.capacity or (not load.available and load.used == 0)
    ledger = small_run.ledger
    for gp in small_run.physicians:
        for m in SMALL.months_simulated:
            cap = ledger.capacity(gp.id, m, default=VOIRONNAIS.monthly_capacity_of(gp))
            assert ledger.used(gp.id, m) <= cap


def test_waiting_file_is_the_checked_lifecycle() -> None:
    on = dt.date(2026, 3, 4)
    assert waiting_file("R1", on) == RequestFile.receive("R1", on).acknowledge(on).confirm(
        on
    ).to_waiting(on)


# --------------------------------------------------------------------------------------------
# Behaviour and events


def test_gps_who_always_refuse_place_nobody() -> None:
    scenario = attrs.evolve(SMALL, behaviour=Behaviour(acceptance=0.0), months=3)
    run = simulate(scenario, VOIRONNAIS)
    assert not any(o.placed for o in run.outcomes)
    assert not run.ledger.active_placements()  # every refusal released its place
    refused = [t for f in run.files.values() for t in f.history if t.event is Event.REFUSE]
    assert refused


def test_ample_capacity_and_no_exits_place_everyone_in_scope() -> None:
    behaviour = Behaviour(
        acceptance=1.0, not_searching=0, other_solution=0, unreachable=0, suspension=0,
        withdrawal=0, capacity_change=0, match_day=28,
    )  # fmt: skip
    patients = PatientRates(monthly_requests=15, home_visits=0.0)
    gps = GPRates(count=10, capacities=((20, 1.0),), restricted=0.0)
    scenario = attrs.evolve(SMALL, behaviour=behaviour, patients=patients, gps=gps, months=2)
    run = simulate(scenario, VOIRONNAIS)
    for o in run.outcomes:
        if o.received.day <= 28 and o.exit_reason is not ExitReason.OUT_OF_SCOPE:
            assert o.placed, o


def test_gp_retires_and_their_patients_enter() -> None:
    gp = max(SMALL.register, key=lambda p: p.monthly_capacity or 0)
    event = GPRetires(physician_id=gp.id, month=Month(2026, 2), patients_entering=20)
    run = simulate(SMALL.with_event(event), VOIRONNAIS)
    retired = next(p for p in run.physicians if p.id == gp.id)
    assert retired.status_on(dt.date(2026, 2, 1)) is mt_access.PhysicianStatus.WITHDRAWN
    cohort = [o for o in run.outcomes if o.cohort == f"patients de {gp.id}" and not o.parent_id]
    assert len(cohort) == 20
    assert all(o.received >= dt.date(2026, 2, 1) for o in cohort)
    for p in run.ledger.active_placements():
        if p.physician_id == gp.id:
            assert p.month < Month(2026, 2)
    base = simulate(SMALL, VOIRONNAIS)
    regular = [o.request_id for o in run.outcomes if not o.cohort and o.parent_id is None]
    assert regular == [o.request_id for o in base.outcomes if o.parent_id is None]
    summary = run.summary()
    assert summary[(f"patients de {gp.id}", "demandes")] == 20
    fragile_only = GPRetires(
        physician_id=gp.id, month=2, patients_entering=10, fragile_only=True, label="Dr X"
    )
    run = simulate(SMALL.with_event(fragile_only), VOIRONNAIS)
    cohort = [o for o in run.outcomes if o.cohort == "Dr X" and o.parent_id is None]
    assert [o.fragile for o in cohort] == [True] * 10


def test_gp_joins_changes_capacity_suspends_and_withdraws() -> None:
    gp1, gp2, gp3 = (p.id for p in SMALL.register[:3])
    scenario = SMALL.with_event(
        GPJoins(month=2, capacity=4, commune="38563"),
        CapacityChange(gp1, month=2, capacity=0),
        GPSuspends(gp2, month=3, months=1),
        GPWithdraws(gp3, month=3),
    )
    assert scenario.joining_ids == ("MGN1",)
    run = simulate(scenario, VOIRONNAIS)
    newcomer = next(p for p in run.physicians if p.id == "MGN1")
    assert newcomer.name.startswith("Dr ")
    assert newcomer.monthly_capacity == 4
    assert run.ledger.capacity("MGN1", Month(2026, 2)) == 4
    assert run.ledger.capacity(gp1, Month(2026, 4)) == 0
    loads = {(load.physician_id, load.month): load for load in run.loads}
    assert loads[("MGN1", Month(2026, 2))].available
    assert not loads[(gp2, Month(2026, 3))].available
    assert loads[(gp2, Month(2026, 4))].available or True  # may be churned, never required
    assert not loads[(gp3, Month(2026, 4))].available
    assert loads[(gp1, Month(2026, 3))].used == 0


def test_lists_are_called_and_use_capacity() -> None:
    scenario = Scenario.for_policy(
        DEULE, months=3, seed=4, patients=PatientRates(monthly_requests=40)
    )
    run = simulate(scenario, DEULE)
    routes = Counter(o.route for o in run.outcomes if o.placed)
    assert routes["liste"] > 0
    assert routes["proposition"] > 0
    for o in run.outcomes:
        if o.route == "liste":
            assert run.ledger.placement_of(o.request_id)
    k3 = policy_variant(VOIRONNAIS, router="k_nearest", k=3)
    run = simulate(SMALL, k3)
    assert {o.route for o in run.outcomes if o.placed} == {"liste"}
    pull = policy_variant(VOIRONNAIS, router="pull")
    run = simulate(SMALL, pull)
    assert {o.route for o in run.outcomes if o.placed} == {"liste partagée"}


# --------------------------------------------------------------------------------------------
# Policy variants


def test_policy_variant() -> None:
    nearest = policy_variant(VOIRONNAIS, router="nearest")
    assert nearest.routing_priority.router.name == "nearest"
    assert nearest.routing_non_priority.router.name == "nearest"
    assert nearest.levels == VOIRONNAIS.levels
    assert nearest.territory == VOIRONNAIS.territory
    k = policy_variant(VOIRONNAIS, router="k_nearest", rules="non_priority", k=2)
    assert k.routing_priority.router.name == "monthly_quota"
    assert k.routing_non_priority.param("k") == 2
    capped = policy_variant(VOIRONNAIS, max_distance_km=8)
    assert capped.routing_priority.max_distance_km == 8.0
    assert capped.routing_priority.router.name == "monthly_quota"
    uncapped = policy_variant(capped, max_distance_km=None)
    assert uncapped.routing_priority.max_distance_km is None
    level = policy_variant(VOIRONNAIS, router="nearest", rules="prioritaire")
    assert level.rule_for("prioritaire", True).router.name == "nearest"
    assert level.rule_for("non prioritaire", False).router.name == "monthly_quota"
    carry = policy_variant(VOIRONNAIS, changes={"capacity": {"carry_over": True}}, name="B")
    assert carry.carry_over
    assert carry.name == "B"
    assert not VOIRONNAIS.carry_over
    with pytest.raises(SimulationError, match="règle inconnue"):
        policy_variant(VOIRONNAIS, router="nearest", rules="urgence")
    with pytest.raises(mt_access.PolicyError):
        policy_variant(VOIRONNAIS, router="plus_proche")
    with pytest.raises(SimulationError, match=r"policy\.raw"):
        policy_variant(attrs.evolve(VOIRONNAIS, raw={}), router="nearest")


# --------------------------------------------------------------------------------------------
# Comparison


def test_compare_shares_arrivals_and_gives_intervals() -> None:
    nearest = policy_variant(VOIRONNAIS, router="nearest")
    result = compare(
        SMALL, {"quota": VOIRONNAIS, "plus proche": nearest}, replications=4, workers=1
    )
    assert result.variants == ("quota", "plus proche")
    demands = result.values(ALL, "demandes")
    np.testing.assert_array_equal(demands["quota"], demands["plus proche"])  # same patients
    assert len(set(demands["quota"].tolist())) > 1  # replications differ
    frame = result.to_frame()
    assert list(frame.columns) == [
        "variante", "groupe", "indicateur", "moyenne", "bas", "haut", "réplications"
    ]  # fmt: skip
    row = frame[(frame.groupe == ALL) & (frame.indicateur == "part placée")].iloc[0]
    assert row.bas <= row.moyenne <= row.haut
    assert set(frame.groupe) == {ALL, "prioritaire", "non prioritaire", FRAGILE}
    assert set(frame.indicateur) == set(INDICATORS)
    table = result.table(groups=FRAGILE, indicators=["placées", "part placée"])
    assert table.index.names == ["groupe", "variante"]
    assert "[" in table.iloc[0]["placées"]
    assert "%" in table.iloc[0]["part placée"]
    versus = result.versus("plus proche", groups=FRAGILE, indicators="placées")
    assert list(versus.variante) == ["quota"]
    assert versus["référence"].iloc[0] == "plus proche"
    runs = result.runs_frame()
    assert runs.shape[0] == 8
    assert (ALL, "placées") in runs.columns
    assert result.monthly("waiting")["quota"].shape == (4, 4)
    again = compare(SMALL, {"quota": VOIRONNAIS, "plus proche": nearest}, replications=4, workers=1)
    assert again.runs_frame().equals(runs)
    with pytest.raises(SimulationError, match="indicateur inconnu"):
        result.table(indicators="placés")
    with pytest.raises(SimulationError, match="variante inconnue"):
        result.versus("nearest")


def test_compare_scenarios_labels_and_parallel_equals_serial(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    gp = SMALL.register[0].id
    scenarios = {
        "base": attrs.evolve(SMALL, months=2),
        "départ": attrs.evolve(SMALL, months=2).with_event(
            GPRetires(physician_id=gp, month=1, patients_entering=10)
        ),
    }
    seen: list[tuple[int, int]] = []
    serial = compare(
        scenarios, VOIRONNAIS, replications=2, workers=1, progress=lambda d, t: seen.append((d, t))
    )
    assert seen == [(0, 4), (2, 4), (4, 4)]
    seen.clear()
    monkeypatch.setattr(pool, "CALLER_RUNS_CHUNKS", False)  # the worker runs every chunk
    parallel = compare(
        scenarios, VOIRONNAIS, replications=2, workers=2, progress=lambda d, t: seen.append((d, t))
    )
    assert seen[0] == (0, 4)
    assert seen[-1] == (4, 4)
    assert parallel.workers == 2
    assert serial.workers == 1
    assert serial.variants == ("base", "départ")
    assert parallel.runs_frame().equals(serial.runs_frame())
    both = compare(scenarios, {"q": VOIRONNAIS, "d": DEULE}, replications=1, workers=1)
    assert both.variants == ("base · q", "base · d", "départ · q", "départ · d")


@pytest.mark.parametrize("caller_runs_chunks", [False, True])
def test_results_do_not_depend_on_the_processes(
    monkeypatch: pytest.MonkeyPatch, caller_runs_chunks: bool
) -> None:
    """The same replications give the same runs with one process and with two (the worker
    running every chunk, or sharing them with this process), chunk after chunk."""
    monkeypatch.setattr(pool, "CALLER_RUNS_CHUNKS", caller_runs_chunks)
    monkeypatch.setattr(pool, "RUNS_PER_CHUNK", 2)
    gp = SMALL.register[0].id
    scenario = attrs.evolve(SMALL, months=3).with_event(
        GPRetires(physician_id=gp, month=2, patients_entering=8)
    )
    policies = {"quota": VOIRONNAIS, "liste": policy_variant(VOIRONNAIS, router="k_nearest")}
    serial = compare(scenario, policies, replications=6, workers=1, first_replication=3)
    parallel = compare(scenario, policies, replications=6, workers=2, first_replication=3)
    if not caller_runs_chunks:
        assert parallel.workers == 2
    assert serial.workers == 1
    assert [(r.variant, r.replication) for r in parallel.runs] == [
        (v, r) for v in (0, 1) for r in range(3, 9)
    ]
    assert parallel.runs_frame().equals(serial.runs_frame())
    for what in ("waiting", "placed"):
        for label, series in serial.monthly(what).items():
            np.testing.assert_array_equal(parallel.monthly(what)[label], series)


def test_a_worker_error_is_raised_here(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pool, "CALLER_RUNS_CHUNKS", False)
    unknown = attrs.evolve(SMALL, months=1).with_event(GPWithdraws("MG999", month=1))
    with pytest.raises(SimulationError, match="médecin MG999 inconnu") as raised:
        compare(unknown, VOIRONNAIS, replications=2, workers=2)
    assert any("processus de calcul" in note for note in raised.value.__notes__)


def test_the_documented_script_runs_without_a_main_guard(tmp_path: Path) -> None:
    """The example script of docs/simulation.md, run as ``python comparaison.py``: it calls
    ``compare`` at its top level, without ``if __name__ == "__main__":``, and its worker
    process (which runs every chunk here) does not run that top level again."""
    page = (Path(__file__).resolve().parents[1] / "docs" / "simulation.md").read_text("utf-8")
    found = re.search(r"```python file=comparaison\.py no-run\n(.*?)```", page, re.DOTALL)
    assert found is not None
    script = tmp_path / "comparaison.py"
    script.write_text(
        "import mt_access.simulation.pool\n"
        "mt_access.simulation.pool.CALLER_RUNS_CHUNKS = False  # the worker runs every chunk\n"
        + found.group(1),
        encoding="utf-8",
    )
    source = str(Path(mt_access.__file__).resolve().parents[1])
    path = os.pathsep.join(filter(None, [source, os.environ.get("PYTHONPATH")]))
    proc = subprocess.run(
        [sys.executable, script.name],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": path},
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("2 processus") == 1, proc.stdout
    assert proc.stdout.count("le plus proche") == 1  # one table


def test_the_pages_first_examples_run_as_a_plain_script(tmp_path: Path) -> None:
    """The two examples at the top of docs/simulation.md, one after the other in a script run
    as ``python exemples.py`` (no ``__main__`` guard), with ``compare`` using two processes
    (its default on two cores, here from the first run) and the worker running every chunk:
    the script's top level runs once, both comparisons end."""
    page = (Path(__file__).resolve().parents[1] / "docs" / "simulation.md").read_text("utf-8")
    section = page.split("## The two questions", 1)[1].split("\n## ", 1)[0]
    examples = re.findall(r"```python\n(.*?)```", section, re.DOTALL)
    assert len(examples) == 2
    script = tmp_path / "exemples.py"
    script.write_text(
        "import importlib, os\n"
        "import mt_access.simulation.pool\n"
        "os.cpu_count = lambda: 2  # compare's default: one process per core\n"
        "importlib.import_module('mt_access.simulation.compare').AUTO_PARALLEL_RUNS = 1\n"
        "mt_access.simulation.pool.CALLER_RUNS_CHUNKS = False  # the worker runs every chunk\n"
        "print('haut du script')\n"
        + "".join(f"{example}print(f'{{result.workers}} processus')\n" for example in examples),
        encoding="utf-8",
    )
    source = str(Path(mt_access.__file__).resolve().parents[1])
    path = os.pathsep.join(filter(None, [source, os.environ.get("PYTHONPATH")]))
    proc = subprocess.run(
        [sys.executable, script.name],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": path},
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("haut du script") == 1, proc.stdout
    assert proc.stdout.count("2 processus") == 2, proc.stdout


@attrs.frozen
class _ScriptEvent(GPWithdraws):
    """An event type of the caller's script (see the test below)."""


def test_objects_of_the_callers_script_stay_here(monkeypatch: pytest.MonkeyPatch) -> None:
    """The workers do not import the caller's script: a scenario holding an object defined
    there runs in the calling process."""
    monkeypatch.setattr(_ScriptEvent, "__module__", "__main__")
    monkeypatch.setattr(sys.modules["__main__"], "_ScriptEvent", _ScriptEvent, raising=False)
    monkeypatch.setattr(pool, "CALLER_RUNS_CHUNKS", False)
    scenario = attrs.evolve(SMALL, months=2).with_event(_ScriptEvent(SMALL.register[0].id, 2))
    result = compare(scenario, VOIRONNAIS, replications=2, workers=2)
    assert result.workers == 1
    assert result.runs_frame().equals(
        compare(scenario, VOIRONNAIS, replications=2, workers=1).runs_frame()
    )


def test_policies_a_worker_cannot_rebuild_run_here(monkeypatch: pytest.MonkeyPatch) -> None:
    hand_made = attrs.evolve(VOIRONNAIS, keep_households_together=True)  # raw unchanged
    result = compare(attrs.evolve(SMALL, months=1), hand_made, replications=2, workers=2)
    assert result.workers == 1
    assert len(result.runs) == 2
    # With a policy the worker rebuilds: that one goes to the worker, the other runs here.
    monkeypatch.setattr(pool, "CALLER_RUNS_CHUNKS", False)
    policies = {"main": hand_made, "fichier": VOIRONNAIS}
    scenario = attrs.evolve(SMALL, months=2)
    mixed = compare(scenario, policies, replications=3, workers=2)
    assert mixed.workers == 2
    serial = compare(scenario, policies, replications=3, workers=1)
    assert mixed.runs_frame().equals(serial.runs_frame())


def test_frames_and_plots(small_run: mt_access.simulation.SimulationRun, tmp_path) -> None:  # type: ignore[no-untyped-def]
    frame = small_run.to_frame()
    assert {"niveau", "état", "délai (j)", "distance (km)", "fragile"} <= set(frame.columns)
    assert len(frame) == len(small_run.outcomes)
    monthly = small_run.monthly_frame()
    assert list(monthly.index) == ["2026-01", "2026-02", "2026-03", "2026-04"]
    assert RequestState.WAITING.label in monthly.columns
    loads = small_run.physicians_frame()
    assert {"médecin", "mois", "capacité", "placées", "charge"} <= set(loads.columns)
    summary = small_run.summary_frame()
    assert summary.loc[ALL, "demandes"] == sum(m.arrivals for m in small_run.months)
    assert len(small_run.results) == 4
    small_run.plot(tmp_path / "run.png")
    result = compare(attrs.evolve(SMALL, months=2), VOIRONNAIS, replications=2, workers=1)
    result.plot("délai médian (j)", tmp_path / "cmp.png")
    result.plot_waiting_list(tmp_path / "wl.png")
    for name in ("run.png", "cmp.png", "wl.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# --------------------------------------------------------------------------------------------
# Calibration


def test_calibration_sud_est_grenoblois() -> None:
    """Source: « CPTS Sud Est Grenoblois — état des lieux après 6 mois de fonctionnement,
    juin 2022 » (Hauts-de-France inter-CPTS workshop slides, source document 004): 250 people
    registered in 6 months, a solution found for half of them. With the default rates (the
    SEG's) and the capacity chosen to match (SEG_MONTHLY_CAPACITY), a 6-month simulation
    reproduces both within its interval (90 % of 30 replications)."""
    result = compare(seg_scenario(), seg_policy(), replications=30, workers=1)
    label = result.variants[0]
    registered = result.values(ALL, "demandes")[label]
    low, high = np.quantile(registered, [0.05, 0.95])
    assert low <= 250 <= high
    solution = result.values(ALL, "part avec solution")[label]
    low, high = np.quantile(solution, [0.05, 0.95])
    assert low <= 0.5 <= high
    assert solution.mean() == pytest.approx(0.5, abs=0.05)


def test_ages_of_generated_patients_match_their_bands() -> None:
    rates = PatientRates(ages=[(30, 30, 1.0)])
    for r in _sample(rates, n=300):
        assert age_on(r.patient.birth_date, r.received) in {29, 30}


def test_unused_physician_fields_roundtrip() -> None:
    explicit = (Physician(id="A1", name="Dr A", commune="38563", monthly_capacity=2),)
    scenario = attrs.evolve(SMALL, physicians=explicit, months=1)
    assert scenario.register == explicit
    run = simulate(scenario, VOIRONNAIS)
    assert sum(load.used for load in run.loads) <= 2


def test_proposed_and_accepted_is_the_checked_lifecycle() -> None:
    on, later = dt.date(2026, 3, 4), dt.date(2026, 3, 20)
    file = waiting_file("R1", on)
    expected = file.propose("G1", later).accept("G1", later + dt.timedelta(days=5))
    assert proposed_and_accepted(file, "G1", later, later + dt.timedelta(days=5)) == expected
    refused = file.propose("G2", later).refuse("G2", later)
    expected = refused.propose("G1", later).accept("G1", later)
    assert proposed_and_accepted(refused, "G1", later, later) == expected
    with pytest.raises(mt_access.LifecycleError):
        proposed_and_accepted(refused, "G2", later, later)  # G2 refused: the checked way


def test_an_event_on_a_gp_who_has_not_joined_yet() -> None:
    scenario = SMALL.with_event(
        CapacityChange("MGN1", month=2, capacity=1), GPJoins(month=3, capacity=2)
    )
    with pytest.raises(SimulationError, match="pas encore rejoint"):
        simulate(scenario, VOIRONNAIS)


def test_a_comparison_keeps_what_a_single_run_shows(
    small_run: mt_access.simulation.SimulationRun,
) -> None:
    values, waiting, placed = run_summary(SMALL, VOIRONNAIS, 0)
    assert waiting.tolist() == [m.count(RequestState.WAITING) for m in small_run.months]
    assert placed.tolist() == [m.placed for m in small_run.months]
    expected = small_run.summary()
    assert values.keys() == expected.keys()
    for key, value in values.items():
        assert value == expected[key] or (value != value and expected[key] != expected[key])


def test_a_replication_is_freed_before_the_collector_resumes() -> None:
    """run_summary pauses the cyclic collector while a replication runs and frees the
    replication (no reference cycle) before resuming it: no collection then scans its
    objects (that scan took about 4 ms of each replication's CPU)."""
    scenario = attrs.evolve(SMALL, patients=PatientRates(monthly_requests=200))
    run_summary(scenario, VOIRONNAIS, 0)  # warm-up: caches, imports
    scanned: list[int] = []

    def watch(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            scanned.append(sum(len(gc.get_objects(g)) for g in range(info["generation"] + 1)))

    gc.collect()
    gc.callbacks.append(watch)
    try:
        run_summary(scenario, VOIRONNAIS, 1)
    finally:
        gc.callbacks.remove(watch)
    assert max(scanned, default=0) < 2_000
    assert gc.collect() == 0  # nothing left to collect: the replication made no cycle
