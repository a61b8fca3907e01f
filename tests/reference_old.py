"""Frozen copies of code replaced by a refactoring, kept as references for the equivalence
tests (``test_refactor_equivalence.py``): ``route_monthly_quota`` as one function with slots as
``list[list[float]]``, and the engine's level grouping with its mutable variables, both as they
were at commit 2994a6e. Do not edit: they are what the new code must reproduce."""

# ruff: noqa

from __future__ import annotations

from typing import Any

import numpy as np

from mt_access import flow
from mt_access.policy import Policy, RoutingRule
from mt_access.model import Request
from mt_access.result import Classification, Placement, ReasonCode, Waiting, format_km
from mt_access.routing import RouterOutput, RoutingTask
from mt_access.policies.routers import _sorted_output


def old_groups(
    policy: Policy,
    in_scope: list[Request],
    classes: list[Classification],
    order: list[int],
) -> list[tuple[RoutingRule, list[tuple[int, Request, Classification]]]]:
    # Requests are routed in runs of consecutive levels sharing a rule, highest level first,
    # so a level always uses capacity before every lower level (even when a level in between
    # has a rule of its own).
    groups: list[tuple[RoutingRule, list[tuple[int, Request, Classification]]]] = []
    rules: dict[tuple[str, bool], tuple[RoutingRule, tuple[Any, ...]]] = {}
    current: tuple[Any, ...] | None = None
    last: Classification | None = None
    members: list[tuple[int, Request, Classification]] = []
    for position, i in enumerate(order):
        c = classes[i]
        if c is not last:  # requests of a level are consecutive, often sharing one value
            last = c
            found = rules.get((c.level, c.priority))
            if found is None:
                rule = policy.rule_for(c.level, c.priority)
                found = rules[(c.level, c.priority)] = (rule, rule.key)
            if found[1] != current:
                members = []
                groups.append((found[0], members))
                current = found[1]
        members.append((position, in_scope[i], c))

    return groups


def route_monthly_quota(task: RoutingTask) -> RouterOutput:
    """Place as many requests as the physicians' monthly capacities allow, level by level
    (maximal at each level without removing any higher-level placement), older requests first
    inside a level, then assign the chosen requests to physicians with the smallest total
    distance. See :mod:`mt_access.flow`.

    Works on the task's columns: one object is built per placed request, not per request.
    """
    requests = task.requests
    n = len(requests)
    capacity = np.array(task.remaining, dtype=np.int64)
    candidates = [c.candidates for c in task.cells]
    n_cells = len(task.cells)
    item_cell = task.item_cells
    item_persons = np.fromiter((r.household.persons for r in requests), np.int64, n)
    keep = (item_persons > 1) & task.policy.keep_households_together
    singles = np.flatnonzero(~keep)

    placements: list[Placement] = []
    waiting: list[Waiting] = []
    residual = capacity.copy()

    # Households kept together, in priority order: each takes only places that no request
    # before it in the order needs (checked with a max flow: the requests before it stay
    # placeable), at the nearest physician where the whole household fits.
    for i in np.flatnonzero(keep).tolist():
        cell = task.cells[int(item_cell[i])]
        size = int(item_persons[i])
        if cell.candidates.size == 0:
            waiting.append(task.waiting(task.item(i), task.no_candidate_reason(cell)))
            continue
        prior = singles[singles < i]  # requests are in priority order
        chosen = flow.select_by_priority(
            residual, candidates, item_cell[prior], item_persons[prior]
        )
        demand = np.bincount(item_cell[prior], weights=chosen, minlength=n_cells).astype(np.int64)
        for k, j in enumerate(cell.candidates.tolist()):
            if residual[j] < size:
                continue
            trial = residual.copy()
            trial[j] -= size
            if flow.fits(trial, candidates, demand):
                full = [c for c in cell.candidates[:k].tolist() if residual[c] < size]
                residual = trial
                placements.append(
                    task.placement(
                        task.item(i),
                        j,
                        size,
                        float(cell.distances_km[k]),
                        full,
                        "médecin éligible le plus proche pouvant accueillir tout le foyer "
                        "sans priver une demande plus prioritaire ou plus ancienne",
                    )
                )
                break
        else:
            best = int(capacity[cell.candidates].max())
            reason = (
                ReasonCode.HOUSEHOLD_TOO_LARGE if best < size else ReasonCode.CAPACITY_EXHAUSTED
            )
            waiting.append(task.waiting(task.item(i), reason))

    # Single requests (and households that may be split): one solve for all levels.
    chosen = flow.select_by_priority(
        residual, candidates, item_cell[singles], item_persons[singles]
    )
    supply = np.bincount(item_cell[singles], weights=chosen, minlength=n_cells).astype(np.int64)
    slots = flow.assign_nearest(residual, candidates, [c.distances_km for c in task.cells], supply)
    left = residual.copy()
    for cell_slots in slots:
        for j, count, _ in cell_slots:
            left[j] -= count
    pending: dict[int, list[list[float]]] = {
        c: [[j, count, d] for j, count, d in s] for c, s in enumerate(slots) if s
    }
    nearer_cache: dict[tuple[int, float], list[int]] = {}

    def nearer_full(c: int, dist: float) -> list[int]:
        found = nearer_cache.get((c, dist))
        if found is None:
            cell = task.cells[c]
            stop = int(np.searchsorted(cell.distances_km, dist, side="left"))
            found = [j for j in cell.candidates[:stop].tolist() if left[j] == 0]
            nearer_cache[(c, dist)] = found
        return found

    reasons = [
        task.no_candidate_reason(cell) if cell.candidates.size == 0 else None for cell in task.cells
    ]
    detail = _distance_detail(task)
    classifications = task.classifications
    for i, got, persons, c in zip(
        singles.tolist(),
        chosen.tolist(),
        item_persons[singles].tolist(),
        item_cell[singles].tolist(),
        strict=True,
    ):
        if got:
            item = task.item(i)
            queue = pending[c]
            todo = got
            # Every request of a cell has the same origin, so which slot it takes does not
            # change the total distance: keep a household with one physician when a slot fits.
            whole = next((s for s in queue if s[1] >= todo), None)
            if whole is not None and whole is not queue[0]:
                queue.remove(whole)
                queue.insert(0, whole)
            while todo:
                slot = queue[0]
                j, avail, dist = int(slot[0]), int(slot[1]), float(slot[2])
                take = min(avail, todo)
                nearer = nearer_full(c, dist)
                why = (
                    "médecin éligible le plus proche ayant une place, après répartition des "
                    "places du mois par ordre de priorité"
                    if nearer
                    else "médecin éligible le plus proche (commune acceptée, modalités adaptées)"
                )
                placements.append(task.placement(item, j, take, dist, nearer, why))
                todo -= take
                slot[1] = avail - take
                if slot[1] == 0:
                    queue.pop(0)
        if got < persons:
            reason = reasons[c] or ReasonCode.CAPACITY_EXHAUSTED
            cl = classifications[i]
            waiting.append(
                Waiting(
                    requests[i].id,
                    cl.level,
                    cl.rank,
                    reason,
                    persons - got,
                    detail if reason is ReasonCode.BEYOND_MAX_DISTANCE else "",
                )
            )
    return _sorted_output(placements, waiting=waiting)


def _distance_detail(task: RoutingTask) -> str:
    limit = task.rule.max_distance_km
    return f"distance maximale {format_km(limit)}" if limit is not None else ""
