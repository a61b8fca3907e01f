"""Households kept together under ``monthly_quota`` (:mod:`mt_access.policies.households`):
the fast seniority greedy is the one the engine had (one flow per step), the plan never
places fewer persons level by level than it, reaches the exact optimum on small instances,
and never splits a household, overfills a GP or breaks eligibility."""

from __future__ import annotations

import datetime as dt
import itertools
import random

import attrs
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mt_access
from factories import COUBLEVIE, ON, VOIRON, VOREPPE, doc, req
from mt_access import ReasonCode, flow
from mt_access.model import Household
from mt_access.policies import households
from mt_access.policies.households import HouseholdProblem

# --------------------------------------------------------------------------------------------
# Generated problems


@st.composite
def problems(draw: st.DrawFn, max_requests: int = 8, max_gps: int = 4) -> HouseholdProblem:
    """A routing problem as the router sees it: GPs with places left, cells with their
    eligible GPs nearest first, requests in priority order (level rank, then seniority)."""
    n_gps = draw(st.integers(1, max_gps))
    capacity = np.array(draw(st.lists(st.integers(0, 7), min_size=n_gps, max_size=n_gps)))
    n_cells = draw(st.integers(1, 3))
    candidates, distances = [], []
    for _ in range(n_cells):
        chosen = draw(st.sets(st.integers(0, n_gps - 1)))
        km = {j: draw(st.integers(0, 30)) / 2 for j in chosen}
        ordered = sorted(chosen, key=lambda j: (km[j], j))
        candidates.append(np.array(ordered, dtype=np.int64))
        distances.append(np.array([km[j] for j in ordered], dtype=np.float64))
    n = draw(st.integers(1, max_requests))
    rows = sorted(
        (
            draw(st.integers(1, 3)),  # level rank
            draw(st.integers(0, n_cells - 1)),
            draw(st.sampled_from([1, 1, 2, 3, 4])),
        )
        for _ in range(n)
    )
    rank, cell, persons = (np.array(col, dtype=np.int64) for col in zip(*rows, strict=True))
    return HouseholdProblem(capacity, candidates, distances, cell, persons, rank, persons > 1)


def old_greedy(problem: HouseholdProblem) -> dict[int, int]:
    """The engine's household step before the augmenting paths, as it was: one selection
    flow and one max flow per GP tried, for every household."""
    residual = problem.capacity.copy()
    singles = problem.singles
    assignment: dict[int, int] = {}
    for i in problem.households:
        cand = problem.candidates[int(problem.item_cell[i])]
        size = int(problem.item_persons[i])
        prior = singles[singles < i]
        chosen = flow.select_by_priority(
            residual, problem.candidates, problem.item_cell[prior], problem.item_persons[prior]
        )
        demand = np.bincount(
            problem.item_cell[prior], weights=chosen, minlength=len(problem.candidates)
        ).astype(np.int64)
        for j in cand.tolist():
            if residual[j] < size:
                continue
            trial = residual.copy()
            trial[j] -= size
            if flow.fits(trial, problem.candidates, demand):
                residual = trial
                assignment[i] = j
                break
    return assignment


def brute_force(problem: HouseholdProblem) -> tuple[int, ...]:
    """The lexicographic best persons per level over every assignment of the households."""
    options = []
    for i in problem.households:
        cand = problem.candidates[int(problem.item_cell[i])].tolist()
        options.append([None, *cand])
    best: tuple[int, ...] = ()
    for combo in itertools.product(*options):
        assignment = {i: j for i, j in zip(problem.households, combo, strict=True) if j is not None}
        if (households.residual(problem, assignment) < 0).any():
            continue
        best = max(best, households.level_counts(problem, assignment))
    return best


def check_assignment(problem: HouseholdProblem, assignment: dict[int, int]) -> None:
    """Only households, each with one eligible GP; no GP beyond its places."""
    for i, j in assignment.items():
        assert problem.keep[i]
        assert j in problem.candidates[int(problem.item_cell[i])].tolist()
    assert (households.residual(problem, assignment) >= 0).all()


# --------------------------------------------------------------------------------------------
# Properties


@given(problem=problems(max_requests=12, max_gps=5))
def test_fast_greedy_is_the_engines_former_greedy(problem: HouseholdProblem) -> None:
    """The augmenting-path greedy gives each household the GP the former implementation (one
    max flow per step) gave it."""
    assert households.greedy(problem) == old_greedy(problem)


@given(problem=problems(max_requests=8, max_gps=3))
def test_plan_reaches_the_exact_optimum_on_small_instances(problem: HouseholdProblem) -> None:
    """At most 8 requests and 3 GPs: the persons placed per level are the lexicographic best
    of every possible assignment (brute force), never below the greedy's; CP-SAT solved to
    optimality agrees and says so."""
    if len(problem.households) > 5:  # keeps the brute force small
        return
    best = brute_force(problem)
    chosen = households.plan(problem)
    check_assignment(problem, chosen.assignment)
    counts = households.level_counts(problem, chosen.assignment)
    assert counts == best
    assert counts >= households.level_counts(problem, households.greedy(problem))
    exact = households.exact(problem)
    assert exact is not None
    assert exact[1]
    assert households.level_counts(problem, exact[0]) == best


@settings(max_examples=60, deadline=None)
@given(problem=problems(max_requests=40, max_gps=8))
def test_plan_is_never_below_the_greedy(problem: HouseholdProblem) -> None:
    """Up to 40 requests: the plan places, level by level, at least what the greedy places
    (lexicographically), within the relaxation's bound, equal to the optimum when it says it
    is proven; the assignment is valid."""
    chosen = households.plan(problem)
    check_assignment(problem, chosen.assignment)
    counts = households.level_counts(problem, chosen.assignment)
    greedy = households.level_counts(problem, households.greedy(problem))
    assert counts >= greedy
    assert counts <= households.relaxed_counts(problem)
    if chosen.proven:
        exact = households.exact(problem)
        assert exact is not None
        assert counts == households.level_counts(problem, exact[0])


@given(problem=problems(max_requests=10, max_gps=4))
def test_exact_respects_eligibility_and_capacity(problem: HouseholdProblem) -> None:
    found = households.exact(problem, households.greedy(problem))
    assert found is not None
    check_assignment(problem, found[0])


def relabelled(problem: HouseholdProblem, gps: list[int], cells: list[int]) -> HouseholdProblem:
    """The same problem with GP ``j`` numbered ``gps[j]`` and cell ``c`` numbered
    ``cells[c]`` (each cell's candidates in the same order, nearest first)."""
    capacity = np.zeros_like(problem.capacity)
    capacity[gps] = problem.capacity
    candidates: list[np.ndarray] = [np.empty(0, dtype=np.int64)] * len(cells)
    distances: list[np.ndarray] = [np.empty(0)] * len(cells)
    for c, new in enumerate(cells):
        candidates[new] = np.array([gps[j] for j in problem.candidates[c].tolist()], np.int64)
        distances[new] = problem.distances_km[c]
    item_cell = np.array(cells, dtype=np.int64)[problem.item_cell]
    return problem._replace(
        capacity=capacity, candidates=candidates, distances_km=distances, item_cell=item_cell
    )


@st.composite
def tied_problems(draw: st.DrawFn) -> HouseholdProblem:
    """Problems with many ties: distances 0, 1 or 2 km, households of 2 and 3."""
    problem = draw(problems(max_requests=12, max_gps=5))
    distances = [np.floor(d / 5) for d in problem.distances_km]
    order = [np.lexsort((c, d)) for c, d in zip(problem.candidates, distances, strict=True)]
    return problem._replace(
        candidates=[c[o] for c, o in zip(problem.candidates, order, strict=True)],
        distances_km=[d[o] for d, o in zip(distances, order, strict=True)],
    )


@settings(max_examples=80, deadline=None)
@given(problem=st.one_of(problems(max_requests=12, max_gps=5), tied_problems()), data=st.data())
def test_exact_ties_are_canonical(problem: HouseholdProblem, data: st.DataObject) -> None:
    """CP-SAT's assignment does not depend on how the problem is laid out: with the GPs
    numbered otherwise and the cells in another order (the same problem), each household
    gets the same GP. Among equally good assignments (persons per level, seniority,
    distance), the households in priority order each take the earliest candidate they can,
    whatever the GPs' numbers."""
    gps = data.draw(st.permutations(range(problem.capacity.size)))
    cells = data.draw(st.permutations(range(len(problem.candidates))))
    found = households.exact(problem)
    other = households.exact(relabelled(problem, gps, cells))
    assert found is not None
    assert other is not None
    assert other[0] == {i: gps[j] for i, j in found[0].items()}
    check_assignment(problem, found[0])


@st.composite
def households_only(draw: st.DrawFn) -> HouseholdProblem:
    """Only households (2 or 3 persons), distances of 0 or 1 km: many equally good
    assignments."""
    problem = draw(tied_problems())
    persons = np.array(
        [draw(st.sampled_from([2, 3])) for _ in range(problem.item_cell.size)], dtype=np.int64
    )
    distances = [np.minimum(d, 1.0) for d in problem.distances_km]
    return problem._replace(item_persons=persons, keep=persons > 1, distances_km=distances)


def canonical_brute_force(problem: HouseholdProblem) -> dict[int, int]:
    """Every assignment of the households (none may split; no one-person request): the best
    persons per level, then seniority, then distance, as :func:`households.exact` ranks them;
    among the best, the households in priority order each with the earliest candidate."""
    n = problem.item_cell.size
    options = []
    for i in problem.households:
        c = int(problem.item_cell[i])
        cand = problem.candidates[c].tolist()
        size = int(problem.item_persons[i])
        fits = [(k, j) for k, j in enumerate(cand) if problem.capacity[j] >= size]
        options.append([*fits, (len(fits), None)])  # not placed: last
    best: tuple[object, ...] | None = None
    chosen: dict[int, int] = {}
    for combo in itertools.product(*options):
        assignment = {
            i: j for i, (_, j) in zip(problem.households, combo, strict=True) if j is not None
        }
        if (households.residual(problem, assignment) < 0).any():
            continue
        distance = 0
        for i, j in assignment.items():
            c = int(problem.item_cell[i])
            km = problem.distances_km[c][problem.candidates[c].tolist().index(j)]
            distance += int(problem.item_persons[i]) * round(km * 1000)
        seniority = sum(n - i for i in assignment)
        ranks = tuple(-k for k, _ in combo)  # earlier candidates first
        key = (households.level_counts(problem, assignment), seniority, -distance, ranks)
        if best is None or key > best:
            best, chosen = key, assignment
    return chosen


@settings(max_examples=120, deadline=None)
@given(problem=households_only())
def test_exact_breaks_ties_by_the_earliest_candidate(problem: HouseholdProblem) -> None:
    """Among the assignments equally good on persons per level, seniority and distance,
    CP-SAT's answer is the canonical one (brute force): not the one its search meets first."""
    if len(problem.households) > 6:  # keeps the brute force small
        return
    found = households.exact(problem)
    assert found is not None
    assert found[0] == canonical_brute_force(problem)


# --------------------------------------------------------------------------------------------
# Through the engine


@pytest.fixture(scope="module")
def together() -> mt_access.Policy:
    return attrs.evolve(mt_access.load_policy("voironnais"), keep_households_together=True)


def _household(rid: str, commune: str, persons: int, received: dt.date) -> mt_access.Request:
    return attrs.evolve(
        req(rid, commune, received=received), household=Household(adults=persons, children=0)
    )


def test_a_household_moves_aside_for_one_that_has_a_single_gp(together: mt_access.Policy) -> None:
    """Dr A (Voiron, 3 places) takes every commune, Dr B (Voreppe, 2 places) Voreppe and
    Voiron. H1 (2 persons, Voiron, older) is nearest to Dr A; H2 (3 persons, Coublevie) can
    only go to Dr A. The greedy gives Dr A to H1 and H2 waits (2 persons placed); the plan
    sends H1 to Dr B and H2 to Dr A (5 persons), and says why."""
    gps = [
        doc("A", VOIRON, capacity=3),
        doc("B", VOREPPE, capacity=2, accepted=frozenset({VOREPPE, VOIRON})),
    ]
    asks = [
        _household("H1", VOIRON, 2, dt.date(2026, 1, 5)),
        _household("H2", COUBLEVIE, 3, dt.date(2026, 2, 5)),
    ]
    result = mt_access.match(asks, gps, together, None, ON)
    assert [(p.request_id, p.physician_id, p.persons) for p in result.placements] == [
        ("H1", "B", 2),
        ("H2", "A", 3),
    ]
    assert "place le plus de personnes" in result.placements[0].explanation
    assert result.waiting == ()
    assert mt_access.match(asks[::-1], gps[::-1], together, None, ON) == result


@st.composite
def engine_cases(draw: st.DrawFn) -> tuple[list[mt_access.Request], list[mt_access.Physician]]:
    communes = [VOIRON, VOREPPE, COUBLEVIE]
    gps = [
        doc(
            f"G{k}",
            draw(st.sampled_from(communes)),
            capacity=draw(st.integers(0, 5)),
            accepted=frozenset(draw(st.sets(st.sampled_from(communes), min_size=1))),
        )
        for k in range(draw(st.integers(2, 4)))
    ]
    asks = [
        _household(
            f"R{k:02d}",
            draw(st.sampled_from(communes)),
            draw(st.sampled_from([1, 2, 2, 3, 4])),
            dt.date(2026, 1, 1) + dt.timedelta(days=draw(st.integers(0, 60))),
        )
        for k in range(draw(st.integers(1, 14)))
    ]
    return asks, gps


@settings(max_examples=80, deadline=None)
@given(case=engine_cases(), seed=st.integers(0, 2**16))
def test_engine_keeps_households_whole_and_ignores_input_order(
    together: mt_access.Policy,
    case: tuple[list[mt_access.Request], list[mt_access.Physician]],
    seed: int,
) -> None:
    """Shuffled requests and GPs give the same result; every household is placed whole with
    one GP it may go to, or waits whole, with a true reason; no GP gets more than its
    places."""
    asks, gps = case
    result = mt_access.match(asks, gps, together, None, ON)
    rng = random.Random(seed)
    asks2, gps2 = list(asks), list(gps)
    rng.shuffle(asks2)
    rng.shuffle(gps2)
    assert mt_access.match(asks2, gps2, together, None, ON) == result
    by_gp = {g.id: g for g in gps}
    load: dict[str, int] = {}
    for p in result.placements:
        load[p.physician_id] = load.get(p.physician_id, 0) + p.persons
    for g in gps:
        assert load.get(g.id, 0) <= (g.monthly_capacity or 0)
    for r in asks:
        placed = result.placements_of(r.id)
        if placed:
            (p,) = placed
            assert p.persons == r.persons
            assert r.commune in by_gp[p.physician_id].accepted_communes
        else:
            (w,) = [w for w in result.waiting if w.request_id == r.id]
            assert w.persons == r.persons
            room = [g.monthly_capacity or 0 for g in gps if r.commune in g.accepted_communes]
            if w.reason is ReasonCode.HOUSEHOLD_TOO_LARGE:
                assert room
                assert max(room) < r.persons
