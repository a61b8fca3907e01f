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

import numpy as np
import numpy.typing as npt
from ortools.graph.python import max_flow, min_cost_flow

__all__ = ["assign_nearest", "fits", "select_by_priority"]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


def _offsets(candidates: Sequence[IntArray]) -> tuple[IntArray, IntArray]:
    """Number of candidates of each cell, and where each cell starts in their concatenation."""
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
    heads = np.concatenate([np.asarray(c, dtype=np.int64) for c in candidates])
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


def select_by_priority(
    capacity: IntArray,
    candidates: Sequence[IntArray],
    unit_cell: IntArray,
    unit_amount: IntArray,
) -> IntArray:
    """How many persons of each unit can be placed, lexicographically by priority.

    Args:
        capacity: places left per physician.
        candidates: eligible physician indices per cell.
        unit_cell: the cell of each unit (a request, or the persons of a household that may
            be split), units sorted by priority (first = highest).
        unit_amount: persons of each unit.

    Returns:
        Persons placed for each unit.
    """
    n_units = unit_cell.size
    n_cells = len(candidates)
    n_phys = capacity.size
    if n_units == 0 or n_phys == 0:
        return np.zeros(n_units, dtype=np.int64)
    source, sink = 0, 1
    cell0, phys0 = 2, 2 + n_cells
    ctails, cheads, _ = _cell_arcs(n_cells, candidates, capacity)
    if ctails.size == 0:
        return np.zeros(n_units, dtype=np.int64)
    reachable = np.zeros(n_cells, dtype=bool)
    reachable[ctails] = True
    live_units = np.flatnonzero(reachable[unit_cell])
    if live_units.size == 0:
        return np.zeros(n_units, dtype=np.int64)
    total = int(unit_amount[live_units].sum())
    flow = min_cost_flow.SimpleMinCostFlow()
    weights = (n_units - live_units).astype(np.int64)  # strictly decreasing with priority
    unit_arcs = flow.add_arcs_with_capacity_and_unit_cost(
        np.full(live_units.size, source, dtype=np.int64),
        cell0 + unit_cell[live_units],
        unit_amount[live_units],
        -weights,
    )
    flow.add_arcs_with_capacity_and_unit_cost(
        cell0 + ctails,
        phys0 + cheads,
        np.full(ctails.size, total, dtype=np.int64),
        np.zeros(ctails.size, dtype=np.int64),
    )
    _solve_to_sink(flow, capacity, phys0, source, sink, total)
    placed = np.zeros(n_units, dtype=np.int64)
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

    Returns, per cell, ``(physician index, persons, distance km)`` sorted by distance then
    physician index.
    """
    n_cells = len(candidates)
    result: list[list[tuple[int, int, float]]] = [[] for _ in range(n_cells)]
    total = int(cell_supply.sum())
    if total == 0:
        return result
    source, sink = 0, 1
    cell0, phys0 = 2, 2 + n_cells
    ctails, cheads, which = _cell_arcs(n_cells, candidates, capacity)
    keep = cell_supply[ctails] > 0
    ctails, cheads, which = ctails[keep], cheads[keep], which[keep]
    _, starts = _offsets(candidates)
    all_km = np.concatenate([np.asarray(d, dtype=np.float64) for d in distances_km])
    dist = all_km[starts[ctails] + which] if ctails.size else np.empty(0, dtype=np.float64)
    flow = min_cost_flow.SimpleMinCostFlow()
    cells = np.flatnonzero(cell_supply > 0)
    flow.add_arcs_with_capacity_and_unit_cost(
        np.full(cells.size, source, dtype=np.int64),
        cell0 + cells,
        cell_supply[cells],
        np.zeros(cells.size, dtype=np.int64),
    )
    arcs = flow.add_arcs_with_capacity_and_unit_cost(
        cell0 + ctails,
        phys0 + cheads,
        np.full(ctails.size, total, dtype=np.int64),
        np.rint(dist * 1000.0).astype(np.int64),
    )
    _solve_to_sink(flow, capacity, phys0, source, sink, total)
    flows = flow.flows(arcs)
    if int(flows.sum()) != total:  # pragma: no cover - guarded by the caller's contract
        raise RuntimeError("the selected persons do not fit the capacities")
    for a in np.flatnonzero(flows):
        result[int(ctails[a])].append((int(cheads[a]), int(flows[a]), float(dist[a])))
    for lst in result:
        lst.sort(key=lambda t: (t[2], t[0]))
    return result


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
