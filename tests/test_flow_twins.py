"""``mt_access.flow_twins``: physicians with the same arcs merged into one node.

The grouping is checked against a plain dictionary of arc lists (also when every hash
collides), the split of a merged flow against its totals, and the merged solves against the
same problems solved on the whole graph: the same optimum, the same places per physician.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from unittest import mock

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from ortools.graph.python import min_cost_flow

from mt_access import flow, flow_twins
from mt_access.flow_twins import split_group_flows, twin_groups

MANY = settings(max_examples=max(settings.default.max_examples, 200), deadline=None)


@st.composite
def twin_graphs(draw: st.DrawFn) -> tuple[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Physicians drawn from a few *kinds* (the same cells at the same distances), so that
    many are twins, plus a few of their own; arcs in a shuffled order. Returns the number
    of physicians, their places, arc tails (cells), heads (physicians), metres."""
    n_cells = draw(st.integers(1, 5))
    n_kinds = draw(st.integers(1, 4))
    kinds = []
    for _ in range(n_kinds):
        cells = draw(st.lists(st.integers(0, n_cells - 1), unique=True, min_size=1))
        metres = draw(st.lists(st.sampled_from((0, 500, 1500)), min_size=len(cells),
                               max_size=len(cells)))  # fmt: skip
        kinds.append(list(zip(cells, metres, strict=True)))
    kind_of = draw(st.lists(st.integers(0, n_kinds - 1), min_size=1, max_size=9))
    tails, heads, metres_ = [], [], []
    for j, k in enumerate(kind_of):
        for c, m in kinds[k]:
            tails.append(c)
            heads.append(j)
            metres_.append(m)
    order = draw(st.permutations(range(len(tails))))
    capacity = draw(st.lists(st.integers(1, 3), min_size=len(kind_of), max_size=len(kind_of)))
    pick = np.array(order, dtype=np.int64)
    return (
        len(kind_of),
        np.array(capacity, dtype=np.int64),
        np.array(tails, dtype=np.int64)[pick],
        np.array(heads, dtype=np.int64)[pick],
        np.array(metres_, dtype=np.int64)[pick],
    )


def _dictionary_groups(
    tails: np.ndarray, heads: np.ndarray, weights: np.ndarray | None
) -> dict[int, int]:
    """Each physician's group, by its sorted arc list, groups numbered by first physician."""
    arcs: dict[int, list[tuple[int, int]]] = {}
    for a, (t, h) in enumerate(zip(tails.tolist(), heads.tolist(), strict=True)):
        arcs.setdefault(h, []).append((t, 0 if weights is None else int(weights[a])))
    numbers: dict[tuple[tuple[int, int], ...], int] = {}
    return {h: numbers.setdefault(tuple(sorted(arcs[h])), len(numbers)) for h in sorted(arcs)}


def _check_groups(graph: tuple[int, Any, Any, Any, Any], with_weights: bool) -> None:
    n_phys, _, tails, heads, metres = graph
    weights = metres if with_weights else None
    twins = twin_groups(tails, heads, n_phys, weights)
    expected = _dictionary_groups(tails, heads, weights)
    assert twins.members.tolist() == sorted(expected)
    assert dict(zip(twins.members.tolist(), twins.group.tolist(), strict=True)) == expected
    assert twins.size == len(set(expected.values()))
    firsts = [min(h for h, g in expected.items() if g == k) for k in range(twins.size)]
    assert twins.first.tolist() == firsts
    assert twins.keep.tolist() == [h in firsts for h in heads.tolist()]
    for h in range(n_phys):
        assert twins.group_of[h] == expected.get(h, -1)


@MANY
@given(twin_graphs(), st.booleans())
def test_twin_groups_are_the_physicians_with_the_same_arcs(
    graph: tuple[int, Any, Any, Any, Any], with_weights: bool
) -> None:
    _check_groups(graph, with_weights)


@MANY
@given(twin_graphs(), st.booleans())
def test_twin_groups_stay_exact_when_every_hash_collides(
    graph: tuple[int, Any, Any, Any, Any], with_weights: bool
) -> None:
    """With a hash that maps everything to 0, the check arc by arc sees the collisions and
    the groups come from the arc lists themselves."""
    with mock.patch.object(flow_twins, "_mix", lambda v: np.zeros_like(v)):
        _check_groups(graph, with_weights)


def _recording_solver() -> tuple[list[Any], Callable[[], Any]]:
    made: list[Any] = []
    real = min_cost_flow.SimpleMinCostFlow

    def make() -> Any:
        solver = real()
        made.append(solver)
        return solver

    return made, make


def _whole_graph_solve(
    capacity: np.ndarray, supply: np.ndarray, tails: np.ndarray, heads: np.ndarray, metres: Any
) -> tuple[int, np.ndarray]:
    """The assignment solved on every arc with ``_tie_broken_costs``, as before twins were
    merged: its total cost in metres, and the persons per physician."""
    cells, cell_node = np.unique(tails, return_inverse=True)
    gps, gp_node = np.unique(heads, return_inverse=True)
    total = int(supply[cells].sum())
    costs = flow._tie_broken_costs(capacity, heads, metres, total, 2 + cells.size + gps.size)
    solver = min_cost_flow.SimpleMinCostFlow()
    solver.add_arcs_with_capacity_and_unit_cost(
        np.zeros(cells.size, np.int64), 2 + np.arange(cells.size), supply[cells],
        np.zeros(cells.size, np.int64),
    )  # fmt: skip
    arcs = solver.add_arcs_with_capacity_and_unit_cost(
        2 + cell_node, 2 + cells.size + gp_node, np.full(tails.size, total), costs
    )
    solver.add_arcs_with_capacity_and_unit_cost(
        2 + cells.size + np.arange(gps.size), np.ones(gps.size, np.int64), capacity[gps],
        np.zeros(gps.size, np.int64),
    )  # fmt: skip
    solver.set_node_supply(0, total)
    solver.set_node_supply(1, -total)
    assert solver.solve() == solver.OPTIMAL
    got = solver.flows(arcs)
    load = np.zeros(capacity.size, np.int64)
    np.add.at(load, heads, got)
    return int((got * metres).sum()), load


@MANY
@given(twin_graphs(), st.data())
def test_the_merged_assignment_is_the_whole_graphs_optimum(
    graph: tuple[int, Any, Any, Any, Any], data: st.DataObject
) -> None:
    """On one connected part: the merged solve gives a valid flow on the original arcs
    (each cell its supply, each physician within places) of the least total distance, the
    same places per physician as the solve on the whole graph (the canonical ones), and it
    solves a graph with one node per group of twins."""
    n_phys, capacity, tails, heads, metres = graph
    n_cells = int(tails.max()) + 1
    supply = np.zeros(n_cells, np.int64)
    # a feasible supply: persons of a random flow within the places
    left = capacity.copy()
    for a in data.draw(st.permutations(range(tails.size))):
        k = data.draw(st.integers(0, int(left[heads[a]])))
        left[heads[a]] -= k
        supply[tails[a]] += k
    for part in flow._components(n_cells, tails, heads):
        t, h, m = tails[part], heads[part], metres[part]
        made, make = _recording_solver()
        with mock.patch.object(flow.min_cost_flow, "SimpleMinCostFlow", make):
            got = flow._assign_part(capacity, supply, t, h, m)
        cells = np.unique(t)
        if int(supply[cells].sum()) == 0:
            continue
        assert (got >= 0).all()
        assert np.array_equal(np.bincount(t, weights=got, minlength=n_cells)[cells], supply[cells])
        load = np.zeros(n_phys, np.int64)
        np.add.at(load, h, got)
        assert (load <= capacity).all()
        cost, whole_load = _whole_graph_solve(capacity, supply, t, h, m)
        assert int((got * m).sum()) == cost
        assert load.tolist() == whole_load.tolist()
        twins = twin_groups(t, h, n_phys, m)
        (solver,) = made
        assert solver.num_nodes() == 2 + cells.size + twins.size
        assert solver.num_arcs() == cells.size + int(twins.keep.sum()) + twins.members.size


def test_twins_share_a_cells_persons_in_index_order() -> None:
    """Inside a group, the cells by index fill the members by index: cell 0's three persons
    take GP 1's two places, then one of GP 4's; cell 2's person the next of GP 4's."""
    tails = np.array([0, 0, 2, 2], dtype=np.int64)
    heads = np.array([1, 4, 1, 4], dtype=np.int64)
    twins = twin_groups(tails, heads, 5)
    assert twins.group_of.tolist() == [-1, 0, -1, -1, 0]
    merged_tails = tails[twins.keep]
    merged = np.array([3, 1], dtype=np.int64)  # cell 0: 3, cell 2: 1
    load = np.array([2, 2], dtype=np.int64)  # GP 1: 2, GP 4: 2
    got = split_group_flows(twins, merged_tails, merged, load, tails, heads)
    assert got.tolist() == [2, 1, 0, 1]


def test_selection_solves_the_merged_graph() -> None:
    """Ten GPs of one kind and one of another: the selection's solves have two GP nodes."""
    capacity = np.array([1] * 10 + [5], dtype=np.int64)
    candidates = [np.arange(10, dtype=np.int64), np.array([10]), np.arange(11)]
    unit_cell = np.array([0] * 12 + [1] * 7 + [2] * 3, dtype=np.int64)
    amount = np.ones(unit_cell.size, dtype=np.int64)
    made, make = _recording_solver()
    with mock.patch.object(flow.min_cost_flow, "SimpleMinCostFlow", make):
        got = flow.select_by_priority(capacity, candidates, unit_cell, amount)
    assert got.tolist() == [1] * 10 + [0] * 2 + [1] * 5 + [0] * 2 + [0] * 3
    (solver,) = made
    assert solver.num_nodes() == 2 + 3 + 2
