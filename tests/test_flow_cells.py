"""``mt_access.flow`` and ``routing.build_cells`` against brute force on tiny instances.

The flow functions are compared with exhaustive enumeration of every way to share the persons
of each cell among its physicians; ``build_cells`` with eligibility and distances restated one
request and one physician at a time.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from unittest import mock

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from mt_access import Policy, flow
from mt_access.flow import assign_nearest, fits, select_by_priority
from mt_access.geo import DistanceCache, bundled_reference, geodesic_km
from mt_access.routing import build_cells
from strategies import Instance, Variant, apply_variant, instances, variants

# --------------------------------------------------------------------------------------------
# Tiny bipartite instances

MANY = settings(max_examples=max(settings.default.max_examples, 300))
"""The flow cases are tiny and fast: at least 300 of each, whatever the profile."""


@st.composite
def graphs(draw: st.DrawFn) -> tuple[np.ndarray, list[np.ndarray], list[np.ndarray]]:
    """Capacities per physician, candidates per cell (distinct physicians) and their
    distances (km, sorted as the routers give them)."""
    n_phys = draw(st.integers(1, 3))
    n_cells = draw(st.integers(1, 3))
    capacity = np.array(draw(st.lists(st.integers(0, 3), min_size=n_phys, max_size=n_phys)))
    candidates, distances = [], []
    for _ in range(n_cells):
        cand = draw(st.lists(st.integers(0, n_phys - 1), unique=True, max_size=n_phys))
        dist = sorted(
            draw(
                st.lists(
                    st.floats(0, 30, allow_nan=False).map(lambda x: round(x, 3)),
                    min_size=len(cand),
                    max_size=len(cand),
                )
            )
        )
        candidates.append(np.array(cand, dtype=np.int64))
        distances.append(np.array(dist, dtype=np.float64))
    return capacity.astype(np.int64), candidates, distances


def _shares(total: int, caps: Sequence[int]) -> Iterator[tuple[int, ...]]:
    """Every way to split ``total`` persons over slots of capacities ``caps``."""
    if not caps:
        if total == 0:
            yield ()
        return
    for first in range(min(total, caps[0]) + 1):
        for rest in _shares(total - first, caps[1:]):
            yield (first, *rest)


def _assignments(
    capacity: np.ndarray, candidates: Sequence[np.ndarray], demand: Sequence[int]
) -> Iterator[list[tuple[int, ...]]]:
    """Every assignment of ``demand[c]`` persons of each cell to its candidates, within
    capacities."""

    def rec(c: int, left: np.ndarray) -> Iterator[list[tuple[int, ...]]]:
        if c == len(candidates):
            yield []
            return
        cand = candidates[c].tolist()
        for share in _shares(int(demand[c]), [int(left[j]) for j in cand]):
            after = left.copy()
            for j, k in zip(cand, share, strict=True):
                after[j] -= k
            for rest in rec(c + 1, after):
                yield [share, *rest]

    yield from rec(0, capacity.copy())


def _feasible(
    capacity: np.ndarray, candidates: Sequence[np.ndarray], demand: Sequence[int]
) -> bool:
    return next(_assignments(capacity, candidates, demand), None) is not None


@MANY
@given(graphs(), st.data())
def test_fits_is_exhaustive_feasibility(
    graph: tuple[np.ndarray, list[np.ndarray], list[np.ndarray]], data: st.DataObject
) -> None:
    capacity, candidates, _ = graph
    demand = np.array(
        data.draw(st.lists(st.integers(0, 4), min_size=len(candidates), max_size=len(candidates))),
        dtype=np.int64,
    )
    assert fits(capacity, candidates, demand) == _feasible(capacity, candidates, demand.tolist())


@MANY
@given(graphs(), st.data())
def test_select_by_priority_is_the_lexicographic_best(
    graph: tuple[np.ndarray, list[np.ndarray], list[np.ndarray]], data: st.DataObject
) -> None:
    """As many persons as possible for the first unit, then for the second without removing
    any of the first's, and so on: the lexicographically largest feasible vector."""
    capacity, candidates, _ = graph
    n_units = data.draw(st.integers(0, 5))
    unit_cell = np.array(
        data.draw(
            st.lists(st.integers(0, len(candidates) - 1), min_size=n_units, max_size=n_units)
        ),
        dtype=np.int64,
    )
    unit_amount = np.array(
        data.draw(st.lists(st.integers(1, 3), min_size=n_units, max_size=n_units)), dtype=np.int64
    )
    got = select_by_priority(capacity, candidates, unit_cell, unit_amount)
    ranks = np.array(
        sorted(data.draw(st.lists(st.integers(1, 3), min_size=n_units, max_size=n_units)))
    )
    # knowing the levels only leaves out units that cannot be placed, with checkpoints at
    # each level's start, and (CHECKPOINT_UNITS = 1) after every unit
    with_levels = select_by_priority(capacity, candidates, unit_cell, unit_amount, ranks)
    assert with_levels.tolist() == got.tolist()
    with mock.patch.object(flow, "CHECKPOINT_UNITS", 1):
        every_unit = select_by_priority(capacity, candidates, unit_cell, unit_amount, ranks)
    assert every_unit.tolist() == got.tolist()
    best: tuple[int, ...] | None = None
    for placed in itertools.product(*(range(a + 1) for a in unit_amount.tolist())):
        demand = [0] * len(candidates)
        for c, k in zip(unit_cell.tolist(), placed, strict=True):
            demand[c] += k
        if (best is None or placed > best) and _feasible(capacity, candidates, demand):
            best = placed
    assert best is not None  # placing nobody is always feasible
    assert tuple(got.tolist()) == best


@MANY
@given(graphs(), st.data())
def test_assign_nearest_has_the_smallest_total_distance(
    graph: tuple[np.ndarray, list[np.ndarray], list[np.ndarray]], data: st.DataObject
) -> None:
    capacity, candidates, distances = graph
    demand = data.draw(
        st.lists(st.integers(0, 4), min_size=len(candidates), max_size=len(candidates))
    )
    if not _feasible(capacity, candidates, demand):
        return  # the function's contract: feasible supplies only
    got = assign_nearest(capacity, candidates, distances, np.array(demand, dtype=np.int64))
    # valid: each cell's persons, to its candidates, within capacities, sorted by distance
    used = np.zeros_like(capacity)
    cost = 0
    for c, slots in enumerate(got):
        assert sum(k for _, k, _ in slots) == demand[c]
        assert slots == sorted(slots, key=lambda s: (s[2], s[0]))
        for j, k, d in slots:
            assert k > 0
            position = candidates[c].tolist().index(j)
            assert d == distances[c][position]
            used[j] += k
            cost += k * round(d * 1000)
    assert (used <= capacity).all()
    brute = min(
        sum(
            k * round(float(distances[c][p]) * 1000)
            for c, share in enumerate(assignment)
            for p, k in enumerate(share)
        )
        for assignment in _assignments(capacity, candidates, demand)
    )
    assert cost == brute


@MANY
@given(graphs(), st.data())
def test_assign_nearest_breaks_ties_canonically(
    graph: tuple[np.ndarray, list[np.ndarray], list[np.ndarray]], data: st.DataObject
) -> None:
    """Distances drawn from three values, so that many assignments have the least total
    distance: among them, the persons per physician are the unique ones with the least
    ``Σ persons × physician index`` (lowest index first), and a cell and a physician linked
    to nothing else, added to the graph, change no other cell's assignment."""
    capacity, candidates, _ = graph
    values = st.sampled_from((0.0, 1.5, 3.0))
    distances = [
        np.sort(np.array(data.draw(st.lists(values, min_size=c.size, max_size=c.size))))
        for c in candidates
    ]
    demand = data.draw(
        st.lists(st.integers(0, 4), min_size=len(candidates), max_size=len(candidates))
    )
    if not _feasible(capacity, candidates, demand):
        return
    got = assign_nearest(capacity, candidates, distances, np.array(demand, dtype=np.int64))
    loads = [0] * capacity.size
    for slots in got:
        for j, k, _ in slots:
            loads[j] += k
    outcomes = set()
    for assignment in _assignments(capacity, candidates, demand):
        metres = 0
        per_gp = [0] * capacity.size
        for c, share in enumerate(assignment):
            for p, k in enumerate(share):
                metres += k * round(float(distances[c][p]) * 1000)
                per_gp[int(candidates[c][p])] += k
        outcomes.add((metres, sum(j * n for j, n in enumerate(per_gp)), tuple(per_gp)))
    best = min(outcomes)
    assert [o for o in outcomes if o[:2] == best[:2]] == [best]  # a single load vector
    assert tuple(loads) == best[2]
    # an unrelated cell and physician (first in the order) change nothing for the others
    wider = assign_nearest(
        np.concatenate(([2], capacity)),
        [np.array([0], dtype=np.int64), *[c + 1 for c in candidates]],
        [np.array([0.0]), *distances],
        np.array([1, *demand], dtype=np.int64),
    )
    assert wider[0] == [(0, 1, 0.0)]
    assert [[(j - 1, k, d) for j, k, d in slots] for slots in wider[1:]] == got


# --------------------------------------------------------------------------------------------
# build_cells

REFERENCE = bundled_reference()


@given(
    instance=instances(max_requests=8, max_physicians=5, locations=True),
    variant=variants(),
)
def test_build_cells_restated_request_by_request(
    voironnais: Policy, instance: Instance, variant: Variant
) -> None:
    policy = apply_variant(voironnais, variant)
    requests = [r for r in instance.requests if r.commune in REFERENCE]
    physicians = instance.physicians
    limit = policy.routing_priority.max_distance_km
    of_item, cells = build_cells(requests, physicians, policy, limit, DistanceCache(REFERENCE))
    assert len(of_item) == len(requests)
    keys: dict[int, tuple[object, ...]] = {}
    for request, index in zip(requests, of_item, strict=True):
        key = (request.commune, request.patient.location, request.home_visits, request.declined_by)
        assert keys.setdefault(index, key) == key  # one cell, one kind of request
        cell = cells[index]
        assert (cell.commune, cell.need) == (request.commune, request.home_visits)
        origin = request.patient.location or REFERENCE.point(request.commune)
        eligible, beyond = [], 0
        for j, p in enumerate(physicians):
            accepted = p.accepted_communes or policy.accepted_by_default(p.commune)
            if request.commune not in accepted or not p.serves(request.home_visits):
                continue
            if p.id in request.declined_by:
                continue
            target = p.location or REFERENCE.point(p.commune)
            same = request.patient.location is None and p.location is None
            km = 0.0 if same and p.commune == request.commune else geodesic_km(origin, target)
            if limit is not None and km > limit + 1e-9:
                beyond += 1
                continue
            eligible.append((round(km, 6), p.id, j, km))
        eligible.sort()
        assert cell.candidates.tolist() == [j for _, _, j, _ in eligible]
        assert np.allclose(cell.distances_km, [km for *_, km in eligible], atol=1e-6)
        assert cell.beyond_max == beyond
    assert len(set(keys.values())) == len(keys)  # different requests, different cells


def test_tie_breaking_costs_fit_in_int64_at_department_size() -> None:
    """The bound of ``flow._tie_broken_costs``: a département at MAX_DISTANCE_KM keeps the
    ranks and stays under the budget; a France-sized part with many places left over (50,000
    GPs, 500,000 places, 220,000 persons, 10 km) falls back to metre costs."""
    from mt_access.bounds import MAX_DISTANCE_KM
    from mt_access.flow import _COST_BUDGET, _tie_broken_costs

    far = int(MAX_DISTANCE_KM * 1000)
    heads = np.arange(2_500, dtype=np.int64)
    metres = np.full(heads.size, far, dtype=np.int64)
    costs = _tie_broken_costs(np.full(2_500, 8, dtype=np.int64), heads, metres, 20_000, 10_000)
    assert int(costs.max()) * 10_002 <= _COST_BUDGET
    assert int(costs.max()) * 20_000 <= _COST_BUDGET
    assert np.array_equal(costs - costs.min(), heads)  # the ranks break the ties
    cpts = _tie_broken_costs(
        np.full(100, 1_000, dtype=np.int64),
        np.arange(100, dtype=np.int64),
        np.full(100, far, dtype=np.int64),
        100_000,
        1_000,
    )
    assert not np.array_equal(cpts, np.full(100, far))
    france = np.arange(50_000, dtype=np.int64)
    plain = np.full(france.size, 10_000, dtype=np.int64)
    kept = _tie_broken_costs(np.full(50_000, 10, dtype=np.int64), france, plain, 220_000, 125_000)
    assert np.array_equal(kept, plain)


def test_select_by_priority_skips_the_solve_when_a_first_fit_places_everyone() -> None:
    """When a first-fit pass places every person (places to spare: most months of a CPTS's
    simulation), every unit is placed without a min-cost flow; when it does not, the solve
    decides, even if everyone fits (the pass proves nothing then)."""
    capacity = np.array([2, 1, 1], dtype=np.int64)
    candidates = [np.array([2, 0]), np.array([1]), np.array([2, 1])]
    unit_cell = np.array([2, 0, 2], dtype=np.int64)
    amount = np.ones(3, dtype=np.int64)
    spare = np.array([3, 3, 3], dtype=np.int64)
    with mock.patch.object(flow.min_cost_flow, "SimpleMinCostFlow", side_effect=AssertionError):
        assert select_by_priority(spare, candidates, unit_cell, amount).tolist() == [1, 1, 1]
        with_ranks = select_by_priority(spare, candidates, unit_cell, amount, np.ones(3, np.int64))
        assert with_ranks.tolist() == [1, 1, 1]
    # the pass gives GP 2 to the cell 0 and strands a person of cell 2; the solve places all
    assert not flow._first_fit_places_all(capacity, candidates, unit_cell, amount)
    assert fits(capacity, candidates, np.array([1, 0, 2]))
    assert select_by_priority(capacity, candidates, unit_cell, amount).tolist() == [1, 1, 1]
    # more persons than places: no pass, the lexicographic best
    short = np.array([1, 0, 1], dtype=np.int64)
    assert select_by_priority(short, candidates, unit_cell, amount).tolist() == [1, 1, 0]


def test_units_a_checkpoint_proves_placed_need_no_solve() -> None:
    """A cell that can still take a person at a checkpoint (the end included) has every unit
    before it placed whole; when that is every unit left, no min-cost flow is solved."""
    capacity = np.array([2, 1, 1], dtype=np.int64)
    candidates = [np.array([2, 0]), np.array([1]), np.array([2, 1])]
    unit_cell = np.array([2, 0, 2], dtype=np.int64)
    amount = np.ones(3, dtype=np.int64)
    ranks = np.array([1, 1, 2], dtype=np.int64)
    tails, heads, _ = flow._cell_arcs(3, candidates, capacity)
    alive, fixed = flow._alive(3, tails, heads, capacity, unit_cell, amount, ranks)
    # cell 2 can take no one more once its two persons are in: its last unit is the solve's
    assert alive.all()
    assert fixed[[0, 2]].tolist() == [3, 2]
    assert select_by_priority(capacity, candidates, unit_cell, amount, ranks).tolist() == [1, 1, 1]
    spare = np.array([3], dtype=np.int64)
    one_cell = [np.array([0])]
    with (
        mock.patch.object(flow, "FIRST_FIT_ARCS", 0),
        mock.patch.object(flow.min_cost_flow, "SimpleMinCostFlow", side_effect=AssertionError),
    ):
        got = select_by_priority(spare, one_cell, np.zeros(2, np.int64), np.ones(2, np.int64),
                                 np.array([1, 2], dtype=np.int64))  # fmt: skip
    assert got.tolist() == [1, 1]
