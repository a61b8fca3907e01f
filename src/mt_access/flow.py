"""Flow computations of the capacity routers, on the aggregated graph.

Nodes: a source, a sink, one node per *cell* (requests that are interchangeable for
eligibility) and one per physician. Solved with OR-Tools' min-cost flow (a compiled, well-kept
solver; see ``docs/concepts.md``).

**Who is placed.** Sets of requests that can be placed together form a matroid (a gammoid:
persons are linked to physicians with capacities). For a matroid, the greedy algorithm in
priority order (level, then the policy's order inside a level) gives the lexicographically
best set, and that set is also the unique maximum-weight set for *any* strictly decreasing
weights in that order. So one max-flow-min-cost solve, with one source arc per request whose
cost is ``-(N - position)``, gives exactly: as many level-1 persons as the capacity allows,
then without removing any of them as many level-2 persons, and so on, older requests first
inside a level. No greedy pass can strand a patient who had a single possible GP.

**With whom.** The chosen persons per cell are then assigned to physicians by a second
min-cost flow on distance, so the total distance is the minimum for that set of patients.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, overload

import attrs
import numpy as np
import numpy.typing as npt
from ortools.graph.python import max_flow, min_cost_flow

from mt_access.flow_twins import split_group_flows, twin_groups
from mt_access.sorting import stable_argsort

__all__ = [
    "Ragged",
    "Slot",
    "assign_nearest",
    "assign_nearest_flat",
    "fits",
    "select_by_priority",
    "take_slots",
]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


class Ragged(Sequence[npt.NDArray[Any]]):
    """One array per cell stored as their concatenation and where each starts (``bounds``,
    one more than the cells): what :func:`select_by_priority` and :func:`assign_nearest`
    take as ``candidates`` or ``distances_km`` without a Python object per cell, for runs of
    tens of thousands of cells. Item ``c`` is a view of ``values[bounds[c]:bounds[c + 1]]``."""

    __slots__ = ("bounds", "values")

    def __init__(self, values: npt.NDArray[Any], bounds: IntArray) -> None:
        self.values = values
        self.bounds = bounds

    def __len__(self) -> int:
        return int(self.bounds.size) - 1

    @overload
    def __getitem__(self, index: int) -> npt.NDArray[Any]: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[npt.NDArray[Any]]: ...

    def __getitem__(self, index: int | slice) -> npt.NDArray[Any] | Sequence[npt.NDArray[Any]]:
        if isinstance(index, slice):
            return [self[c] for c in range(len(self))[index]]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        return self.values[int(self.bounds[index]) : int(self.bounds[index + 1])]

    def sizes(self) -> IntArray:
        """The length of each item."""
        return np.diff(self.bounds)


def _flat(arrays: Sequence[npt.NDArray[Any]], dtype: type) -> npt.NDArray[Any]:
    """The concatenation of ``arrays`` (a :class:`Ragged`'s values as they are)."""
    if isinstance(arrays, Ragged):
        return np.asarray(arrays.values, dtype=dtype)
    if not len(arrays):
        return np.empty(0, dtype=dtype)
    return np.concatenate([np.asarray(a, dtype=dtype) for a in arrays])


def _offsets(candidates: Sequence[IntArray]) -> tuple[IntArray, IntArray]:
    """Number of candidates of each cell, and where each cell starts in their concatenation."""
    if isinstance(candidates, Ragged):
        return candidates.sizes(), np.ascontiguousarray(candidates.bounds[:-1])
    sizes = np.fromiter((c.size for c in candidates), np.int64, len(candidates))
    starts = np.zeros(len(candidates), dtype=np.int64)
    np.cumsum(sizes[:-1], out=starts[1:])
    return sizes, starts


def _cell_arcs(
    n_cells: int, candidates: Sequence[IntArray], capacity: IntArray
) -> tuple[IntArray, IntArray, IntArray]:
    """Cell → physician arcs restricted to physicians with capacity left: tails (cells, in
    order), heads (physicians, in each cell's candidate order) and the index of each head in
    its cell's candidates. Built with whole-array operations (no loop over the cells)."""
    empty = np.empty(0, dtype=np.int64)
    if n_cells == 0:
        return empty, empty, empty
    sizes, starts = _offsets(candidates)
    if int(sizes.sum()) == 0:
        return empty, empty, empty
    heads = _flat(candidates, np.int64)
    tails = np.repeat(np.arange(n_cells, dtype=np.int64), sizes)
    which = np.arange(heads.size, dtype=np.int64) - np.repeat(starts, sizes)
    live = capacity[heads] > 0
    return tails[live], heads[live], which[live]


def _solve_to_sink(
    flow: min_cost_flow.SimpleMinCostFlow,
    capacity: IntArray,
    phys0: int,
    source: int,
    sink: int,
    total: int,
) -> None:
    """Add the physician → sink arcs (capacities) and solve max flow with min cost."""
    used = np.flatnonzero(capacity > 0)
    flow.add_arcs_with_capacity_and_unit_cost(
        phys0 + used,
        np.full(used.size, sink, dtype=np.int64),
        capacity[used],
        np.zeros(used.size, dtype=np.int64),
    )
    flow.set_node_supply(source, total)
    flow.set_node_supply(sink, -total)
    status = flow.solve_max_flow_with_min_cost()
    if status != flow.OPTIMAL:  # pragma: no cover - the graph is always well-formed
        raise RuntimeError(f"min-cost flow failed: {status}")


def _placeable(
    n_cells: int, tails: IntArray, places: IntArray, unit_cell: IntArray, unit_amount: IntArray
) -> IntArray:
    """The units (in priority order) that some feasible choice might place: those of a cell
    whose persons before them in the cell are fewer than the places of the cell's eligible
    physicians. Exact: the units of one cell are interchangeable, so the lexicographic best
    places a prefix of each cell's units (a later unit of the cell placed instead of an
    earlier one could be swapped for it), and a cell never places more persons than its
    physicians' places. A département's month (250,000 requests, 11,000 places) keeps
    a fraction of its units in the solve."""
    reach = np.bincount(tails, weights=places, minlength=n_cells).astype(np.int64)
    by_cell = stable_argsort(unit_cell, n_cells)  # each cell's units, in priority order
    amounts = unit_amount[by_cell]
    cells = unit_cell[by_cell]
    running = np.cumsum(amounts) - amounts  # persons before, over all cells
    starts = np.flatnonzero(np.r_[True, cells[1:] != cells[:-1]])
    sizes = np.diff(np.r_[starts, cells.size])
    before = running - np.repeat(running[starts], sizes)  # persons before, in the cell
    keep = np.zeros(unit_cell.size, dtype=bool)
    keep[by_cell] = before < reach[cells]
    found: IntArray = np.flatnonzero(keep)
    return found


CHECKPOINT_UNITS = 4096
"""First checkpoint inside a level (units after its start) of :func:`_alive`."""


def _checkpoints(level_starts: list[int], n_units: int) -> list[int]:
    """Where :func:`_alive` recomputes which cells can still take a person: each level's
    start, and inside a level of many units :data:`CHECKPOINT_UNITS`, twice, four times...
    as many units after its start; then ``n_units``."""
    points: set[int] = set(level_starts)
    ends = [*level_starts[1:], n_units]
    for start, end in zip(level_starts, ends, strict=True):
        step = CHECKPOINT_UNITS
        while start + step < end - CHECKPOINT_UNITS // 2:
            points.add(start + step)
            step *= 2
    return [*sorted(points), n_units]


def _alive(
    n_cells: int,
    tails: IntArray,
    heads: IntArray,
    capacity: IntArray,
    unit_cell: IntArray,
    unit_amount: IntArray,
    unit_rank: IntArray,
) -> tuple[npt.NDArray[np.bool_], IntArray]:
    """For each unit, whether its cell can still take a person once every unit of the
    levels before its level is placed as far as possible (else the unit is never placed);
    and for each cell, a position before which every unit of the cell is placed whole (0:
    none known).

    Exact: the persons that can be placed together form a matroid; a person of cell ``c``
    adds to the rank of the set of all persons of the earlier levels if and only if, after a
    maximum flow of those persons, ``c`` can reach the sink in the residual graph (OR-Tools'
    sink side of the minimum cut); the set only grows along the order, so a cell that
    cannot, cannot later either, and the greedy (the lexicographic best) never places a unit
    that does not add to the rank of the units before it. The same holds after any prefix
    of the order, not only a level's start: inside a long level, checkpoints at
    :data:`CHECKPOINT_UNITS` units, then twice, four times as many... (:func:`_checkpoints`).
    One max flow per checkpoint on the cell graph (a few milliseconds), then the min-cost
    solve on fewer units: on a département's month, the 240,000 non-priority requests for
    the last 600 places are mostly left out after the first checkpoints.

    A cell that can still reach the sink at a checkpoint had every person of its units
    before the checkpoint placed by the maximum flow (else its source arc would still carry
    an augmenting path), and the greedy accepts each of them (a unit it refused would have
    left the cell unable to take anyone from then on): they are placed whole, whatever the
    units after them (the cell's ``fixed`` position; the last checkpoint is the end)."""
    alive = np.ones(unit_cell.size, dtype=bool)
    fixed = np.zeros(n_cells, dtype=np.int64)
    ranks, first = np.unique(unit_rank, return_index=True)
    if bool((np.diff(unit_rank) < 0).any()):  # not in level order: no cut
        return alive, fixed
    if ranks.size < 2 and unit_cell.size < 2 * CHECKPOINT_UNITS:
        return alive, fixed
    source, sink = 0, 1
    cell0, phys0 = 2, 2 + n_cells
    solver = max_flow.SimpleMaxFlow()
    source_arcs = solver.add_arcs_with_capacity(
        np.full(n_cells, source, dtype=np.int64),
        cell0 + np.arange(n_cells, dtype=np.int64),
        np.zeros(n_cells, dtype=np.int64),
    )
    solver.add_arcs_with_capacity(
        cell0 + tails,
        phys0 + heads,
        # more than every unit's persons: a cell -> GP arc is never what stops a cell
        np.full(tails.size, int(unit_amount.sum()) + 1, dtype=np.int64),
    )
    used = np.flatnonzero(capacity > 0)
    solver.add_arcs_with_capacity(
        phys0 + used, np.full(used.size, sink, dtype=np.int64), capacity[used]
    )
    bounds = _checkpoints(first.tolist(), unit_cell.size)
    bounds.append(unit_cell.size)  # the end: the cells that never fill up
    for r in range(1, len(bounds) - 1):
        start, end = bounds[r], bounds[r + 1]
        demand = np.bincount(unit_cell[:start], weights=unit_amount[:start], minlength=n_cells)
        solver.set_arcs_capacity(source_arcs, demand.astype(np.int64))
        if solver.solve(source, sink) != solver.OPTIMAL:  # pragma: no cover
            raise RuntimeError("max flow failed")
        side = np.asarray(solver.get_sink_side_min_cut(), dtype=np.int64)
        cells = side[(side >= cell0) & (side < phys0)] - cell0
        reach = np.zeros(n_cells, dtype=bool)
        reach[cells] = True
        fixed[cells] = start
        alive[start:end] = reach[unit_cell[start:end]]
        if not cells.size:  # no cell can take anyone more: nor later
            alive[end:] = False
            break
    return alive, fixed


FIRST_FIT_ARCS = 50_000
"""Up to this many (cell, physician) pairs, :func:`select_by_priority` first tries to place
every unit with a first-fit pass (:func:`_first_fit_places_all`)."""


def _first_fit_places_all(
    capacity: IntArray,
    candidates: Sequence[IntArray],
    unit_cell: IntArray,
    unit_amount: IntArray,
) -> bool:
    """Whether a first-fit pass places every person of every unit: each cell (fewest
    candidates first) takes its persons from its candidates in order, as far as their
    places go. When it does, the units fit all together, and the lexicographic best places
    them all: no solve needed (a CPTS's month with places to spare: most months of a
    simulation). ``False`` proves nothing (the solve decides); never tried when the persons
    outnumber the places, nor on graphs of more than :data:`FIRST_FIT_ARCS` pairs."""
    if int(unit_amount.sum()) > int(capacity.sum()):
        return False
    sizes, starts = _offsets(candidates)
    if int(sizes.sum()) > FIRST_FIT_ARCS:
        return False
    demand = np.bincount(unit_cell, weights=unit_amount, minlength=len(candidates))
    heads = _flat(candidates, np.int64).tolist()
    left = capacity.tolist()
    wanted = np.flatnonzero(demand > 0)
    wanted = wanted[np.argsort(sizes[wanted], kind="stable")]
    for need, a, n in zip(
        demand[wanted].astype(np.int64).tolist(),
        starts[wanted].tolist(),
        sizes[wanted].tolist(),
        strict=True,
    ):
        for j in heads[a : a + n]:
            free = left[j]
            if free >= need:
                left[j] = free - need
                need = 0
                break
            if free > 0:
                left[j] = 0
                need -= free
        if need:
            return False
    return True


def select_by_priority(
    capacity: IntArray,
    candidates: Sequence[IntArray],
    unit_cell: IntArray,
    unit_amount: IntArray,
    unit_rank: IntArray | None = None,
) -> IntArray:
    """How many persons of each unit can be placed, lexicographically by priority.

    Args:
        capacity: places left per physician.
        candidates: eligible physician indices per cell.
        unit_cell: the cell of each unit (a request, or the persons of a household that may
            be split), units sorted by priority (first = highest).
        unit_amount: persons of each unit.
        unit_rank: the level rank of each unit (non-decreasing), if known: the units of a
            cell that no placement of the levels before theirs leaves room for are then
            left out of the solve before it (:func:`_alive`), which only makes it smaller.

    Returns:
        Persons placed for each unit.
    """
    n_units = unit_cell.size
    n_cells = len(candidates)
    n_phys = capacity.size
    if n_units == 0 or n_phys == 0:
        return np.zeros(n_units, dtype=np.int64)
    if _first_fit_places_all(capacity, candidates, unit_cell, unit_amount):
        return np.array(unit_amount, dtype=np.int64)  # everyone: the lexicographic best
    source, sink = 0, 1
    cell0, phys0 = 2, 2 + n_cells
    ctails, cheads, _ = _cell_arcs(n_cells, candidates, capacity)
    if ctails.size == 0:
        return np.zeros(n_units, dtype=np.int64)
    # twins (GPs with the same cells) as one node with their places: the same sets of
    # persons fit (:mod:`mt_access.flow_twins`), on a graph a third of the size
    twins = twin_groups(ctails, cheads, n_phys)
    places = np.zeros(twins.size, dtype=np.int64)
    np.add.at(places, twins.group, capacity[twins.members])
    capacity = places
    ctails, cheads = ctails[twins.keep], twins.group_of[cheads[twins.keep]]
    live_units = _placeable(n_cells, ctails, capacity[cheads], unit_cell, unit_amount)
    placed = np.zeros(n_units, dtype=np.int64)
    fixed_cell = np.empty(0, dtype=np.int64)
    fixed_amount = np.empty(0, dtype=np.int64)
    if unit_rank is not None and live_units.size:
        alive, before = _alive(n_cells, ctails, cheads, capacity, unit_cell, unit_amount, unit_rank)
        live_units = live_units[alive[live_units]]
        # the units placed whole whatever comes after them: one arc per cell, first
        whole = live_units < before[unit_cell[live_units]]
        done = live_units[whole]
        placed[done] = unit_amount[done]
        per_cell = np.bincount(unit_cell[done], weights=unit_amount[done], minlength=n_cells)
        fixed_cell = np.flatnonzero(per_cell)
        fixed_amount = per_cell[fixed_cell].astype(np.int64)
        live_units = live_units[~whole]
    if live_units.size == 0:  # nothing left to choose
        return placed
    total = int(unit_amount[live_units].sum()) + int(fixed_amount.sum())
    flow = min_cost_flow.SimpleMinCostFlow()
    # strictly decreasing with priority (any such weights give the same optimum): the units'
    # ranks among those left in, so the costs' range stays small for the cost scaling; the
    # units placed whole above them all (raising the weight of elements of the greedy's
    # basis keeps it the only best one), so their persons are placed
    weights = np.arange(live_units.size, 0, -1, dtype=np.int64)
    unit_arcs = flow.add_arcs_with_capacity_and_unit_cost(
        np.full(live_units.size, source, dtype=np.int64),
        cell0 + unit_cell[live_units],
        unit_amount[live_units],
        -weights,
    )
    flow.add_arcs_with_capacity_and_unit_cost(
        np.full(fixed_cell.size, source, dtype=np.int64),
        cell0 + fixed_cell,
        fixed_amount,
        np.full(fixed_cell.size, -(live_units.size + 1), dtype=np.int64),
    )
    wanted = np.zeros(n_cells, dtype=bool)  # only the cells of the units left in
    wanted[unit_cell[live_units]] = True
    wanted[fixed_cell] = True
    keep = wanted[ctails]
    flow.add_arcs_with_capacity_and_unit_cost(
        cell0 + ctails[keep],
        phys0 + cheads[keep],
        np.full(int(keep.sum()), total, dtype=np.int64),
        np.zeros(int(keep.sum()), dtype=np.int64),
    )
    _solve_to_sink(flow, capacity, phys0, source, sink, total)
    placed[live_units] = flow.flows(unit_arcs)
    return placed


def assign_nearest(
    capacity: IntArray,
    candidates: Sequence[IntArray],
    distances_km: Sequence[FloatArray],
    cell_supply: IntArray,
) -> list[list[tuple[int, int, float]]]:
    """Assign ``cell_supply[c]`` persons of each cell to physicians, minimising the total
    distance (metre resolution), within capacities. The supplies must be feasible (they are
    when they come from :func:`select_by_priority`).

    Ties are broken canonically (:func:`_tie_broken_costs`): among the assignments of least
    total distance, the places each physician gives are the same whichever the solver would
    have found (the lowest physician index, i.e. id, first); and each connected part of the
    graph is solved on its own, so a request or GP that shares no GP with a cell cannot
    change what that cell gets.

    Returns, per cell, ``(physician index, persons, distance km)`` sorted by distance then
    physician index (:func:`assign_nearest_flat` gives the same as arrays).
    """
    n_cells = len(candidates)
    result: list[list[tuple[int, int, float]]] = [[] for _ in range(n_cells)]
    cells, gps, counts, km = assign_nearest_flat(capacity, candidates, distances_km, cell_supply)
    for c, j, k, d in zip(cells.tolist(), gps.tolist(), counts.tolist(), km.tolist(), strict=True):
        result[c].append((j, k, d))
    return result


def assign_nearest_flat(
    capacity: IntArray,
    candidates: Sequence[IntArray],
    distances_km: Sequence[FloatArray],
    cell_supply: IntArray,
) -> tuple[IntArray, IntArray, IntArray, FloatArray]:
    """:func:`assign_nearest` as arrays, one row per (cell, physician) with persons: the
    cell, the physician, the persons, the distance; sorted by cell, then distance, then
    physician index. No Python object per cell (``candidates`` and ``distances_km`` may be
    :class:`Ragged`)."""
    n_cells = len(candidates)
    empty = np.empty(0, dtype=np.int64)
    total = int(cell_supply.sum())
    if total == 0:
        return empty, empty, empty, np.empty(0, dtype=np.float64)
    ctails, cheads, which = _cell_arcs(n_cells, candidates, capacity)
    keep = cell_supply[ctails] > 0
    ctails, cheads, which = ctails[keep], cheads[keep], which[keep]
    _, starts = _offsets(candidates)
    all_km = _flat(distances_km, np.float64)
    dist = all_km[starts[ctails] + which] if ctails.size else np.empty(0, dtype=np.float64)
    metres = np.rint(dist * 1000.0).astype(np.int64)
    flows = np.zeros(ctails.size, dtype=np.int64)
    for arcs in _components(n_cells, ctails, cheads):
        flows[arcs] = _assign_part(capacity, cell_supply, ctails[arcs], cheads[arcs], metres[arcs])
    if int(flows.sum()) != total:  # pragma: no cover - guarded by the caller's contract
        raise RuntimeError("the selected persons do not fit the capacities")
    used = np.flatnonzero(flows)
    order = used[np.lexsort((cheads[used], dist[used], ctails[used]))]
    return ctails[order], cheads[order], flows[order], dist[order]


def _components(n_cells: int, tails: IntArray, heads: IntArray) -> list[IntArray]:
    """The arcs (cell ``tails`` → physician ``heads``) grouped by connected component of the
    cell–physician graph, each group in the given order, groups by their first arc.

    Minimum-label propagation with pointer jumping, in whole-array operations: a few passes
    over the arcs (a graph of a département's month is one or a few components)."""
    if tails.size == 0:
        return []
    n_phys = int(heads.max()) + 1
    a, b = tails, n_cells + heads
    label = np.arange(n_cells + n_phys, dtype=np.int64)
    while True:
        low = np.minimum(label[a], label[b])
        new = label.copy()
        np.minimum.at(new, a, low)
        np.minimum.at(new, b, low)
        while True:  # follow each label to its root
            root = new[new]
            if np.array_equal(root, new):
                break
            new = root
        if np.array_equal(new, label):
            break
        label = new
    part = label[a]
    if bool((part == part[0]).all()):
        return [np.arange(tails.size, dtype=np.int64)]
    order = np.argsort(part, kind="stable")
    bounds = np.flatnonzero(np.diff(part[order])) + 1
    groups = np.split(order, bounds)
    groups.sort(key=lambda g: int(g[0]))
    return groups


_COST_BUDGET = 2**62
"""What :func:`_tie_broken_costs` keeps an arc's cost times the graph's size, and the total
cost, under: OR-Tools' min-cost flow multiplies costs by the number of nodes (cost scaling)
and refuses (``BAD_COST_RANGE``) a largest cost above about ``2**63 / (2 (nodes + 2))``
(measured with OR-Tools 9.15)."""


def _tie_broken_costs(
    capacity: IntArray, heads: IntArray, metres: IntArray, total: int, n_nodes: int
) -> IntArray:
    """Arc costs ``metres × M + rank``: the rank (0, 1, ...) of the arc's physician among
    the part's physicians (by index, i.e. by id), ``M`` one more than the largest change of
    ``Σ persons × rank`` between two assignments of ``total`` persons within the capacities.

    **Never changes the distance optimum.** Two assignments whose distances differ by one
    metre or more differ in cost by at least ``M`` from the distance, and by less than ``M``
    from the ranks: the least-cost assignment has the least total distance.

    **The places each physician gives are canonical.** Among the assignments of least total
    distance, the vectors of persons per physician form a base polyhedron (a transportation
    problem's possible loads, restricted to the arcs and bounds that an optimal dual leaves
    free, intersected with the capacities: still a base polyhedron). A linear function with
    pairwise different weights (the ranks) has a single minimiser on it (the greedy vertex,
    lowest ranks filled first). So whichever optimum a solver would find, the places left to
    a later run are the same, and they depend only on the order of the physicians' ids.

    **It fits in int64.** The largest cost is ``C = D × M + P - 1`` with ``D`` the largest
    distance in metres and ``M ≤ F (P - 1) + 1`` for ``F`` persons and ``P`` physicians;
    OR-Tools needs ``C × (nodes + 2)`` and the total cost ``C × F`` under
    :data:`_COST_BUDGET` (2⁶²), checked for the graph at hand. Within
    :data:`mt_access.bounds.MAX_DISTANCE_KM` (``D ≤ 10⁶``): a CPTS at the bounds (100 GPs
    of :data:`~mt_access.bounds.MAX_MONTHLY_CAPACITY` places, ``F = 10⁵``) has
    ``C ≤ 9.9 × 10¹²`` and ``C × F ≤ 9.9 × 10¹⁷``; a département (2,500 GPs, 20,000 places,
    10,000 nodes) ``C ≤ 5 × 10¹³``, ``C × nodes ≤ 5 × 10¹⁷``, ``C × F ≤ 10¹⁸``: both at
    least 4.6 times under the budget (``tests/test_flow_cells.py``). ``M`` is computed from the
    capacities (the ranks' largest minus least sum), so a part whose places are nearly all
    taken fits too. Beyond (e.g. a France-sized part with places to spare: 50,000 GPs,
    500,000 places, 220,000 persons), the ranks are left out: plain metre costs,
    the same optimum, ties broken by the solver (still the same for the same part of the
    graph, not canonical across parts of different sizes)."""
    ranks_of, ranks = np.unique(heads, return_inverse=True)
    scale = _rank_scale(capacity[ranks_of], int(metres.max(initial=0)), total, n_nodes)
    if scale == 0:
        return metres
    return metres * scale + ranks.astype(np.int64)


def _rank_scale(caps: IntArray, max_metres: int, total: int, n_nodes: int) -> int:
    """``M`` of :func:`_tie_broken_costs` for physicians of places ``caps`` (ranked in that
    order), or 0 when the costs would not fit: the ranks are then left out."""
    p = int(caps.size)
    # Σ persons × rank: largest with the highest ranks filled first, least with the lowest
    high = _filled(caps[::-1], total, np.arange(p - 1, -1, -1, dtype=np.int64))
    low = _filled(caps, total, np.arange(p, dtype=np.int64))
    scale = high - low + 1
    largest = max_metres * scale + p - 1
    if largest * (n_nodes + 2) > _COST_BUDGET or largest * total > _COST_BUDGET:
        return 0
    return scale


def _filled(caps: IntArray, total: int, weights: IntArray) -> int:
    """``Σ taken × weight`` when ``total`` persons fill ``caps`` in the given order."""
    before = np.concatenate(([0], np.cumsum(caps)[:-1]))
    taken = np.clip(total - before, 0, caps)
    return int(np.dot(taken.astype(object), weights.astype(object)))


def _assign_part(
    capacity: IntArray, cell_supply: IntArray, tails: IntArray, heads: IntArray, metres: IntArray
) -> IntArray:
    """The flow on each arc of one connected part (cells ``tails`` → physicians ``heads``).

    Twins (physicians with arcs from the same cells at the same distances) are one node, with
    one arc per twin to the sink carrying the twin's places and rank
    (:mod:`mt_access.flow_twins`): the same optimum as :func:`_tie_broken_costs`'s costs on
    every arc, on a graph a quarter of the size. Nodes are numbered in index order (cells;
    groups by their first physician): the same part always gives the same graph."""
    twins = twin_groups(tails, heads, int(capacity.size), metres)
    m_tails, m_metres = tails[twins.keep], metres[twins.keep]
    m_groups = twins.group_of[heads[twins.keep]]
    cells, cell_node = np.unique(m_tails, return_inverse=True)
    supply = cell_supply[cells]
    total = int(supply.sum())
    source, sink = 0, 1
    cell0, group0 = 2, 2 + cells.size
    places = capacity[twins.members]
    scale = _rank_scale(places, int(m_metres.max(initial=0)), total, group0 + twins.size)
    flow = min_cost_flow.SimpleMinCostFlow()
    flow.add_arcs_with_capacity_and_unit_cost(
        np.full(cells.size, source, dtype=np.int64),
        cell0 + np.arange(cells.size, dtype=np.int64),
        supply,
        np.zeros(cells.size, dtype=np.int64),
    )
    arcs = flow.add_arcs_with_capacity_and_unit_cost(
        cell0 + cell_node.astype(np.int64),
        group0 + m_groups,
        np.full(m_tails.size, total, dtype=np.int64),
        m_metres * max(scale, 1),
    )
    # one arc per physician to the sink: its places, its rank (members are by index)
    member_arcs = flow.add_arcs_with_capacity_and_unit_cost(
        group0 + twins.group,
        np.full(twins.members.size, sink, dtype=np.int64),
        places,
        np.arange(twins.members.size, dtype=np.int64) if scale else np.zeros_like(places),
    )
    flow.set_node_supply(source, total)
    flow.set_node_supply(sink, -total)
    status = flow.solve()
    if status != flow.OPTIMAL:  # pragma: no cover - the supplies fit (caller's contract)
        raise RuntimeError(f"min-cost flow failed: {status}")
    return split_group_flows(
        twins, m_tails, flow.flows(arcs), flow.flows(member_arcs), tails, heads
    )


def fits(capacity: IntArray, candidates: Sequence[IntArray], cell_demand: IntArray) -> bool:
    """Whether ``cell_demand[c]`` persons of every cell can all be placed at once."""
    total = int(cell_demand.sum())
    if total == 0:
        return True
    n_cells = len(candidates)
    source, sink = 0, 1
    cell0, phys0 = 2, 2 + n_cells
    ctails, cheads, _ = _cell_arcs(n_cells, candidates, capacity)
    flow = max_flow.SimpleMaxFlow()
    cells = np.flatnonzero(cell_demand > 0)
    flow.add_arcs_with_capacity(
        np.full(cells.size, source, dtype=np.int64), cell0 + cells, cell_demand[cells]
    )
    if ctails.size:
        flow.add_arcs_with_capacity(
            cell0 + ctails, phys0 + cheads, np.full(ctails.size, total, dtype=np.int64)
        )
    used = np.flatnonzero(capacity > 0)
    if used.size:
        flow.add_arcs_with_capacity(
            phys0 + used, np.full(used.size, sink, dtype=np.int64), capacity[used]
        )
    if flow.solve(source, sink) != flow.OPTIMAL:  # pragma: no cover
        raise RuntimeError("max flow failed")
    return int(flow.optimal_flow()) == total


@attrs.define(eq=False)
class Slot:
    """Places of one physician handed to one cell by the distance assignment
    (:func:`mt_access.flow.assign_nearest`); ``count`` goes down as requests take them."""

    physician: int
    count: int
    distance_km: float


def take_slots(persons: int, queue: list[Slot]) -> list[Slot]:
    """Take ``persons`` places on the slots of a cell, nearest first: the places taken, as
    slots (physician, count, distance).

    Every request of a cell has the same origin, so which slot it takes does not change the
    total distance: a household stays with one physician when a slot fits it whole.
    """
    if queue[0].count >= persons:  # the usual case (a single person): no scan
        whole: int | None = 0
    else:
        whole = next((k for k, s in enumerate(queue) if s.count >= persons), None)
    if whole is not None and whole != 0:
        queue.insert(0, queue.pop(whole))
    todo = persons
    taken: list[Slot] = []
    while todo:
        slot = queue[0]
        take = min(slot.count, todo)
        taken.append(Slot(slot.physician, take, slot.distance_km))
        todo -= take
        slot.count -= take
        if slot.count == 0:
            queue.pop(0)
    return taken
