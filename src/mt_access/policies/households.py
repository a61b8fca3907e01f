"""Households kept together under ``monthly_quota``: which GP each household goes to.

A household kept together needs all its places with one GP, so the sets of persons that can
be placed no longer form a matroid and one flow cannot choose them. Two methods:

* :func:`greedy`, the seniority rule: households in priority order, each at the nearest GP
  where it fits without depriving a one-person request before it in the order. It keeps one
  feasible assignment of the accepted one-person requests (a flow on the cell graph) and
  changes it by augmenting paths, so each request costs a short search instead of a fresh
  max flow (the result is the one the earlier implementation, one flow per step, gave).
* :func:`exact`, the lexicographic optimum: persons placed at level 1 first, then at level
  2, and so on (then older households, then the total distance), by CP-SAT (OR-Tools),
  one worker, fixed seed and a deterministic time budget, seeded by the greedy; ties broken
  canonically (each household in priority order with its earliest candidate).

:func:`plan` runs the greedy; it keeps it when it reaches the bound of the relaxation where
households may be split (then it is optimal), and otherwise asks CP-SAT when the model is
small enough, keeping its answer only if it places more persons, level by level.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from mt_access import flow

__all__ = [
    "EXACT_BUDGET",
    "EXACT_MAX_TERMS",
    "HouseholdPlan",
    "HouseholdProblem",
    "exact",
    "greedy",
    "level_counts",
    "model_terms",
    "plan",
    "relaxed_counts",
    "residual",
    "valid",
]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

#: Largest CP-SAT model :func:`plan` builds (household × GP and cell × level × GP terms).
EXACT_MAX_TERMS = 1000
#: CP-SAT's deterministic time budget for :func:`plan` (OR-Tools' deterministic seconds).
EXACT_BUDGET = 0.03


class HouseholdProblem(NamedTuple):
    """The columns the household methods work on; row ``i`` is request ``i`` in priority
    order (level, then the policy's order)."""

    capacity: IntArray  # places left per GP
    candidates: Sequence[IntArray]  # eligible GPs per cell, nearest first
    distances_km: Sequence[FloatArray]  # distance to each candidate, same order
    item_cell: IntArray  # cell of each request
    item_persons: IntArray  # persons of each request
    item_rank: IntArray  # level rank of each request (1 first; non-decreasing)
    keep: BoolArray  # households kept together

    @property
    def households(self) -> list[int]:
        found: list[int] = np.flatnonzero(self.keep).tolist()
        return found

    @property
    def singles(self) -> IntArray:
        return np.flatnonzero(~self.keep)


class HouseholdPlan(NamedTuple):
    """The GP of each household placed (request index → GP index) and how it was found:
    ``"greedy"`` (the seniority rule) or ``"optimum"`` (CP-SAT); ``proven``: the persons per
    level are known to be the lexicographic optimum."""

    assignment: dict[int, int]
    method: str
    proven: bool


# --------------------------------------------------------------------------------------------
# The seniority greedy, by augmenting paths


class _Flow:
    """A feasible assignment of accepted one-person requests to GPs, per cell."""

    def __init__(self, capacity: IntArray, candidates: Sequence[IntArray]) -> None:
        self.room: list[int] = capacity.tolist()  # places left once households are placed
        self.load = [0] * len(self.room)  # accepted one-person requests per GP
        self.cand: list[list[int]] = [c.tolist() for c in candidates]
        self.out: list[dict[int, int]] = [{} for _ in self.cand]  # cell -> GP -> persons
        self.into: list[dict[int, int]] = [{} for _ in self.room]  # GP -> cell -> persons
        self.dead = [False] * len(self.cand)  # cells that can never take one more person
        self.min_load = [0] * len(self.room)  # a lower bound of each GP's load, for ever
        self.log: list[tuple[int, int, int]] = []

    def _move(self, c: int, j: int, delta: int) -> None:
        out = self.out[c]
        n = out.get(j, 0) + delta
        if n:
            out[j] = n
            self.into[j][c] = n
        else:
            del out[j]
            del self.into[j][c]
        self.load[j] += delta
        self.log.append((c, j, delta))

    def _free(self, j: int) -> bool:
        return self.room[j] > self.load[j]

    def search(self, cell: int | None, gp: int | None) -> tuple[bool, list[int]]:
        """Move one person along a path to a GP with a free place: a new person of ``cell``
        (``gp`` None), or one of the persons at ``gp`` (``cell`` None). Returns whether a path
        was found and the cells reached."""
        parent_gp: dict[int, int] = {}  # GP reached -> cell it was reached from
        parent_cell: dict[int, int] = {}  # cell reached -> GP it was reached from (-1: start)
        queue: deque[int] = deque()  # cells to expand
        if cell is not None:
            parent_cell[cell] = -1
            queue.append(cell)
        else:
            assert gp is not None
            parent_gp[gp] = -1
            for c in self.into[gp]:
                parent_cell[c] = gp
                queue.append(c)
        found = -1
        while queue and found < 0:
            c = queue.popleft()
            for j in self.cand[c]:
                if j in parent_gp:
                    continue
                parent_gp[j] = c
                if self._free(j):
                    found = j
                    break
                for c2 in self.into[j]:
                    if c2 not in parent_cell:
                        parent_cell[c2] = j
                        queue.append(c2)
        if found < 0:
            return False, list(parent_cell)
        j = found
        while True:
            c = parent_gp[j]
            self._move(c, j, 1)
            back = parent_cell[c]
            if back < 0:
                break
            self._move(c, back, -1)
            j = back
            if j == gp:
                break
        return True, []

    def accept(self, cell: int) -> bool:
        """Accept one more person of ``cell`` if the accepted ones still fit."""
        if self.dead[cell]:
            return False
        for j in self.cand[cell]:
            if self._free(j):
                self._move(cell, j, 1)
                return True
        ok, reached = self.search(cell, None)
        if not ok:  # a closed set of full GPs: capacities only go down, it stays closed
            for c in reached:
                self.dead[c] = True
        return ok

    def reserve(self, j: int, size: int) -> bool:
        """Take ``size`` of GP ``j``'s places for a household if the accepted persons still
        fit (moving them to other GPs); otherwise change nothing."""
        room = self.room[j] - size
        if room < 0 or room < self.min_load[j]:
            return False
        self.log.clear()
        self.room[j] = room
        while self.load[j] > room:
            ok, _ = self.search(None, j)
            if not ok:
                for c, g, delta in reversed(self.log):
                    self._move(c, g, -delta)
                self.log.clear()
                self.room[j] += size
                # the accepted persons only grow and the places only shrink: never fits later
                self.min_load[j] = room + 1
                return False
        return True


def greedy(problem: HouseholdProblem) -> dict[int, int]:
    """Households in priority order, each with the nearest GP where it fits whole without
    depriving a one-person request placed before it in the order (those are accepted in
    order while they fit, as a matroid's greedy does).

    Returns the GP of each household placed.
    """
    state = _Flow(problem.capacity, problem.candidates)
    assignment: dict[int, int] = {}
    cells = problem.item_cell.tolist()
    persons = problem.item_persons.tolist()
    for i, keep in enumerate(problem.keep.tolist()):
        c = cells[i]
        if not keep:  # a one-person request (or a household that may be split)
            for _ in range(persons[i]):
                if not state.accept(c):
                    break
            continue
        for j in state.cand[c]:
            if state.reserve(j, persons[i]):
                assignment[i] = j
                break
    return assignment


# --------------------------------------------------------------------------------------------
# Counting


def _levels(problem: HouseholdProblem) -> list[int]:
    return sorted(set(problem.item_rank.tolist()))


def _per_level(problem: HouseholdProblem, placed: IntArray) -> tuple[int, ...]:
    levels = _levels(problem)
    index = np.searchsorted(levels, problem.item_rank)
    counts = np.bincount(index, weights=placed, minlength=len(levels))
    return tuple(int(x) for x in counts)


def residual(problem: HouseholdProblem, assignment: dict[int, int]) -> IntArray:
    """Places left per GP once the households of ``assignment`` are placed."""
    left = problem.capacity.copy()
    for i, j in assignment.items():
        left[j] -= problem.item_persons[i]
    return left


def level_counts(problem: HouseholdProblem, assignment: dict[int, int]) -> tuple[int, ...]:
    """Persons placed per level (rank order): the households of ``assignment``, and the
    others chosen lexicographically by priority on the places left."""
    placed = np.zeros(problem.item_cell.size, dtype=np.int64)
    for i in assignment:
        placed[i] = problem.item_persons[i]
    singles = problem.singles
    placed[singles] = flow.select_by_priority(
        residual(problem, assignment),
        problem.candidates,
        problem.item_cell[singles],
        problem.item_persons[singles],
    )
    return _per_level(problem, placed)


def relaxed_counts(problem: HouseholdProblem) -> tuple[int, ...]:
    """Persons placed per level if households could be split: a lexicographic upper bound
    of what any assignment reaches."""
    placed = flow.select_by_priority(
        problem.capacity, problem.candidates, problem.item_cell, problem.item_persons
    )
    return _per_level(problem, placed)


# --------------------------------------------------------------------------------------------
# The lexicographic optimum, by CP-SAT


def model_terms(problem: HouseholdProblem) -> int:
    """Variables of the CP-SAT model: household × eligible GP, cell × level × eligible GP."""
    sizes = np.array([c.size for c in problem.candidates], dtype=np.int64)
    households = int(sizes[problem.item_cell[problem.keep]].sum())
    groups = {
        (c, r)
        for c, r in zip(
            problem.item_cell[~problem.keep].tolist(),
            problem.item_rank[~problem.keep].tolist(),
            strict=True,
        )
    }
    return households + int(sum(int(sizes[c]) for c, _ in groups))


def exact(
    problem: HouseholdProblem,
    hint: dict[int, int] | None = None,
    *,
    budget: float | None = None,
    to_beat: tuple[int, ...] | None = None,
) -> tuple[dict[int, int], bool] | None:
    """The assignment of households that places the most persons at level 1, then at level
    2, ... (one-person requests counted as the flow places them), then the most households
    by seniority, then the smallest total distance; among those, each household in priority
    order with the earliest candidate it can have (:func:`_break_ties`), when every stage is
    solved to optimality within the budget.

    Args:
        problem: the requests and GPs.
        hint: a known assignment to start from (the greedy's).
        budget: CP-SAT's deterministic time limit per stage (None: solve to optimality).
        to_beat: persons per level to improve on: when the persons per level found do not
            beat them (lexicographically), stop there and return None.

    Returns:
        The assignment and whether its persons per level are proven optimal; None if CP-SAT
        found no solution within the budget (or none beating ``to_beat``).
    """
    from ortools.sat.python import cp_model  # imported on first use (a heavy module)

    levels = _levels(problem)
    n = problem.item_cell.size
    rank = problem.item_rank.tolist()
    cells = problem.item_cell.tolist()
    persons = problem.item_persons.tolist()
    cand = [c.tolist() for c in problem.candidates]
    dist = [np.rint(d * 1000.0).astype(np.int64).tolist() for d in problem.distances_km]
    cap = np.maximum(problem.capacity, 0).tolist()  # a GP over its places takes nobody

    model = cp_model.CpModel()
    load: list[list[tuple[int, cp_model.IntVar]]] = [[] for _ in cap]
    level_terms: dict[int, list[tuple[int, cp_model.IntVar]]] = {r: [] for r in levels}
    seniority: list[tuple[int, cp_model.IntVar]] = []
    distance: list[tuple[int, cp_model.IntVar]] = []
    x: dict[int, list[tuple[int, cp_model.IntVar]]] = {}
    for i in problem.households:
        c = cells[i]
        choices = []
        for k, j in enumerate(cand[c]):
            if cap[j] < persons[i]:
                continue
            v = model.new_bool_var(f"x{i}_{j}")
            choices.append((j, v))
            load[j].append((persons[i], v))
            level_terms[rank[i]].append((persons[i], v))
            seniority.append((n - i, v))
            distance.append((persons[i] * dist[c][k], v))
        if choices:
            model.add_at_most_one(v for _, v in choices)
            x[i] = choices
    groups: dict[tuple[int, int], int] = {}
    flows: list[cp_model.IntVar] = []
    for i in problem.singles.tolist():
        groups[(cells[i], rank[i])] = groups.get((cells[i], rank[i]), 0) + persons[i]
    for (c, r), size in groups.items():
        arcs = []
        for k, j in enumerate(cand[c]):
            if cap[j] == 0:
                continue
            v = model.new_int_var(0, min(size, cap[j]), f"y{c}_{r}_{j}")
            arcs.append(v)
            flows.append(v)
            load[j].append((1, v))
            level_terms[r].append((1, v))
            distance.append((dist[c][k], v))
        if arcs:
            model.add(sum(arcs) <= size)
    for j, terms in enumerate(load):
        if terms:
            model.add(sum(a * v for a, v in terms) <= cap[j])
    if hint:
        for i, choices in x.items():
            for j, v in choices:
                model.add_hint(v, hint.get(i) == j)

    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.random_seed = 0
    solver.parameters.linearization_level = 2  # the LP of a packing helps (measured)
    if budget is not None:
        solver.parameters.max_deterministic_time = budget
    proven = True
    settled = True  # every stage solved to optimality: the tie rule then applies
    assignment: dict[int, int] = {}
    stages, level_stages = _stages(problem, levels, level_terms, seniority, distance)
    for s, terms in enumerate(stages):
        expr = sum(a * v for a, v in terms) if terms else 0
        model.maximize(expr)
        status = solver.solve(model)
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            if s == 0:
                return None
            settled = False
            break
        if status != cp_model.OPTIMAL:
            settled = False
            if s < level_stages:
                proven = False
        if s == level_stages - 1 and to_beat is not None:
            found = tuple(sum(a * solver.value(v) for a, v in level_terms[r]) for r in levels)
            if found <= to_beat:
                return None
        model.add(expr >= round(solver.objective_value))
        assignment = _solution(model, solver, x, flows)
    if settled:
        assignment = _break_ties(model, solver, x, flows, assignment)
    return assignment, proven


_Choices = dict[int, list[tuple[int, Any]]]


def _solution(model: Any, solver: Any, x: _Choices, flows: list[Any]) -> dict[int, int]:
    """The households' GPs in the solver's solution; the next solve starts from it."""
    assignment = {i: j for i, choices in x.items() for j, v in choices if solver.boolean_value(v)}
    model.clear_hints()
    for i, choices in x.items():
        for j, v in choices:
            model.add_hint(v, assignment.get(i) == j)
    for v in flows:
        model.add_hint(v, solver.value(v))
    return assignment


def _break_ties(
    model: Any, solver: Any, x: _Choices, flows: list[Any], assignment: dict[int, int]
) -> dict[int, int]:
    """Among the assignments the stages left (the same persons per level, seniority and
    distance), the canonical one: the households in priority order, each with the GP
    earliest in its cell's candidates (nearest first, ties by GP id), not placed last;
    lexicographically, so the first household that can have a nearer GP has it. Depends
    only on the problem, not on how CP-SAT explores it (the order of cells, the numbering
    of GPs).

    Households already with their first candidate keep it (nothing comes before it); the
    others are settled a block at a time, one solve per block, their weights a mixed radix
    kept exact in a double. Stops at the first solve not proven optimal (within the
    budget), keeping the assignment found so far (as good on every stage)."""
    from ortools.sat.python import cp_model

    order = list(x)  # priority order
    rank_of = {i: {j: k for k, (j, _) in enumerate(x[i])} for i in order}

    def rank(i: int) -> int:
        j = assignment.get(i)
        return len(x[i]) if j is None else rank_of[i][j]

    def fix(i: int) -> None:
        j = assignment.get(i)
        if j is None:
            model.add(sum(v for _, v in x[i]) == 0)
        else:
            model.add(x[i][rank_of[i][j]][1] == 1)

    pos = 0
    while pos < len(order):
        if rank(order[pos]) == 0:
            fix(order[pos])
            pos += 1
            continue
        block: list[int] = []
        scale = 1
        for i in order[pos:]:
            if block and scale * (len(x[i]) + 1) >= _EXACT_INTEGERS:
                break
            block.append(i)
            scale *= len(x[i]) + 1
        terms = []
        for i in block:  # the first of the block weighs most
            scale //= len(x[i]) + 1
            terms += [(scale * (k - len(x[i])), v) for k, (_, v) in enumerate(x[i])]
        model.minimize(sum(a * v for a, v in terms))
        if solver.solve(model) != cp_model.OPTIMAL:
            break
        assignment = _solution(model, solver, x, flows)
        for i in block:
            fix(i)
        pos += len(block)
    return assignment


_Terms = list[tuple[int, Any]]
_EXACT_INTEGERS = 2**53  # objective coefficients and values stay exact in a double


def _stages(
    problem: HouseholdProblem,
    levels: list[int],
    level_terms: dict[int, _Terms],
    seniority: _Terms,
    distance: _Terms,
) -> tuple[list[_Terms], int]:
    """The objectives CP-SAT maximises one after the other (each keeping the previous ones'
    values), and how many of them count persons: the persons per level in one weighted sum
    (level 1 worth more than all the persons of the levels below) when the weights stay
    exact, else one per level; then the households' seniority before the distance, in one
    sum when exact, else one after the other."""
    weight = 1
    weights: dict[int, int] = {}
    space = int(problem.capacity.sum())
    for r in reversed(levels):
        weights[r] = weight
        persons = int(problem.item_persons[problem.item_rank == r].sum())
        weight *= min(persons, space) + 1
    stages: list[_Terms]
    if weight < _EXACT_INTEGERS:
        stages = [[(a * weights[r], v) for r in levels for a, v in level_terms[r]]]
    else:
        stages = [level_terms[r] for r in levels]
    count = len(stages)
    far = max((a for a, _ in distance), default=0) * (space + 1) + 1
    most = sum(a for a, _ in seniority) + 1
    if far * most < _EXACT_INTEGERS:
        stages.append([(a * far, v) for a, v in seniority] + [(-a, v) for a, v in distance])
    else:
        stages += [seniority, [(-a, v) for a, v in distance]]
    return stages, count


# --------------------------------------------------------------------------------------------


def plan(problem: HouseholdProblem) -> HouseholdPlan:
    """The greedy, or CP-SAT's answer when it places more persons level by level (tried only
    when the greedy misses the bound and the model has at most :data:`EXACT_MAX_TERMS`
    terms)."""
    if not problem.keep.any():
        return HouseholdPlan({}, "greedy", True)
    seed = greedy(problem)
    counts = level_counts(problem, seed)
    if counts == relaxed_counts(problem):
        return HouseholdPlan(seed, "greedy", True)
    if model_terms(problem) > EXACT_MAX_TERMS:
        return HouseholdPlan(seed, "greedy", False)
    found = exact(problem, seed, budget=EXACT_BUDGET, to_beat=counts)
    if found is None:
        return HouseholdPlan(seed, "greedy", False)
    assignment, proven = found
    if valid(problem, assignment) and level_counts(problem, assignment) > counts:
        return HouseholdPlan(assignment, "optimum", proven)
    return HouseholdPlan(seed, "greedy", proven)


def valid(problem: HouseholdProblem, assignment: dict[int, int]) -> bool:
    """Only households kept together, each with an eligible GP, no GP beyond its places."""
    for i, j in assignment.items():
        cell = problem.candidates[int(problem.item_cell[i])]
        if not problem.keep[i] or j not in cell:
            return False
    return bool((residual(problem, assignment) >= 0).all())
