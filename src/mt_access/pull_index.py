"""The month's shared lists of pull mode held as columns: every GP's list without a
:class:`~mt_access.result.PullEntry` per request and GP.

The ``pull`` router (:func:`mt_access.policies.routers.route_pull`) writes one entry per
request and eligible GP with a place left: on a register of 100,000 requests where every GP
of the territory accepts every commune, tens of millions of objects (minutes and gigabytes).
A :class:`PullIndex` is made from the same run of :func:`mt_access.match` (the same
eligibility, order and places left), with the ``pull`` rules' router swapped for one that
keeps what the router was given (:class:`~mt_access.routing.RoutingTask`: the requests in
the policy's order, the cells of eligible GPs, the places left after the levels above) and
writes nothing. A GP's list is then made when it is asked for (:meth:`PullIndex.list_of`):
the rows of the cells the GP is a candidate of, in the run's order, each entry built once
and shared by every GP's list.

:func:`per_request_exact`: when no ``pull`` rule has a ``list_size`` and no level above a
``pull`` level places patients, whether a request is on a GP's list depends on that request,
that GP and their places left only: a pick is then checked by routing the picked request
alone (:meth:`mt_access.Register.choose`), not the whole register.

Part of the register's layer (it runs the engine with the built-in router's entries): no
I/O.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from mt_access.policies.routers import level_labels, pull_entry
from mt_access.policy import Policy, RoutingRule
from mt_access.result import PullEntry, PullList, ReasonCode
from mt_access.routing import RouterOutput, RoutingTask

__all__ = [
    "PULL",
    "PullIndex",
    "PullPart",
    "capturing_policy",
    "per_request_exact",
    "reverse_pseudonyms",
]

PULL = "pull"
"""The name of the router of shared lists."""

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


def capturing_policy(policy: Policy, sink: list[RoutingTask]) -> Policy:
    """``policy`` with the router of its ``pull`` rules replaced by one that appends its
    task to ``sink`` and lists nothing (every request waiting for a GP's choice); the rules'
    names, parameters and distances are kept, so a run groups and orders the requests as
    with the real router."""

    def capture(task: RoutingTask) -> RouterOutput:
        sink.append(task)
        waiting = tuple(task.waiting(i, ReasonCode.AWAITING_GP_CHOICE) for i in task.items)
        return RouterOutput(waiting=waiting)

    def swapped(rule: RoutingRule) -> RoutingRule:
        if rule.router.name != PULL:
            return rule
        return attrs.evolve(rule, router=attrs.evolve(rule.router, route=capture))

    changes: dict[str, Any] = {
        "routing_priority": swapped(policy.routing_priority),
        "routing_non_priority": swapped(policy.routing_non_priority),
        "routing_by_level": {k: swapped(v) for k, v in policy.routing_by_level.items()},
    }
    return attrs.evolve(policy, **changes)


def per_request_exact(policy: Policy) -> bool:
    """Whether a request's place on a GP's list depends on that request, GP and their places
    left only: no ``pull`` rule cuts its lists (``list_size``), and no level routed before a
    ``pull`` level places patients (so the places left are the ledger's)."""
    levels = [(lv.name, True) for lv in policy.levels]
    levels.append((policy.non_priority_level, False))
    consumed = False
    for name, priority in levels:
        rule = policy.rule_for(name, priority)
        if rule.router.name == PULL:
            if consumed or int(dict(rule.params).get("list_size") or 0):
                return False
        elif rule.router.consumes_capacity:
            consumed = True
    return True


class PullPart:
    """What one call of the ``pull`` router was given, as arrays: the rows (its requests in
    the run's order), each row's cell, each cell's candidates and distances, each GP's
    places left, the rule's ``list_size``."""

    def __init__(self, task: RoutingTask) -> None:
        self.task = task
        self.size = int(task.param("list_size"))  # type: ignore[call-overload]
        items = sorted(task.items, key=lambda i: i.position)
        self.items = items
        cells = np.fromiter((i.cell for i in items), dtype=np.int64, count=len(items))
        order = np.argsort(cells, kind="stable")
        bounds = np.searchsorted(cells[order], np.arange(len(task.cells) + 1))
        self._rows_of_cell = [order[bounds[c] : bounds[c + 1]] for c in range(len(task.cells))]
        self.remaining = np.asarray(task.remaining, dtype=np.int64)
        by_gp: dict[int, list[tuple[int, float]]] = defaultdict(list)
        for c, cell in enumerate(task.cells):
            if self._rows_of_cell[c].size == 0:
                continue
            for j, d in zip(cell.candidates.tolist(), cell.distances_km.tolist(), strict=True):
                by_gp[j].append((c, d))
        self._cells_of_gp = dict(by_gp)
        self.index = {p.id: j for j, p in enumerate(task.physicians)}
        self.row_of = {item.request.id: row for row, item in enumerate(items)}

    def rows_among(self, rows: IntArray, request_ids: Collection[str]) -> npt.NDArray[np.bool_]:
        """Which of ``rows`` are those of ``request_ids``."""
        wanted = [self.row_of[r] for r in request_ids if r in self.row_of]
        if not wanted:
            return np.zeros(rows.size, dtype=np.bool_)
        return np.isin(rows, np.asarray(wanted, dtype=np.int64))

    def rows_of(self, physician_id: str) -> tuple[IntArray, list[float]]:
        """The rows on the GP's list of this part, in order (cut to ``list_size``), and the
        GP's distance to each; empty when the GP has no place left or no eligible row."""
        j = self.index.get(physician_id)
        if j is None or self.remaining[j] <= 0 or j not in self._cells_of_gp:
            return np.empty(0, dtype=np.int64), []
        cells = self._cells_of_gp[j]
        rows = np.concatenate([self._rows_of_cell[c] for c, _ in cells])
        dist = np.concatenate([np.full(self._rows_of_cell[c].size, d) for c, d in cells])
        order = np.argsort(rows, kind="stable")
        if self.size:
            order = order[: self.size]
        return rows[order], dist[order].tolist()

    def physicians_listed(self) -> set[str]:
        """The GPs with at least one row in this part."""
        return {
            self.task.physicians[j].id
            for j in self._cells_of_gp
            if self.remaining[j] > 0
            and any(self._rows_of_cell[c].size for c, _ in self._cells_of_gp[j])
        }


@attrs.define(eq=False)
class PullIndex:
    """The month's shared lists on ``on`` as computed at the data version ``version``.

    Attributes:
        on: the day of the lists.
        version: the store's data version read before the data the lists were made of.
        ledger_position: the ledger's entries the lists were made with (a reader adds
            ``Store.ledger_entries_after(ledger_position)`` to know what was placed since).
        parts: one per call of the ``pull`` router, in the run's order (highest level first).
        requests: pseudonym → request id, for the requests routed (``""`` when two requests
            share a pseudonym: neither can be picked). Never stored.
        pseudonyms: request id → pseudonym, the same requests.
        households: request id → persons of the whole household.
        exact: :func:`per_request_exact` of the policy.
    """

    on: dt.date
    version: str
    ledger_position: int
    parts: tuple[PullPart, ...]
    requests: dict[str, str] = attrs.field(repr=False)
    pseudonyms: dict[str, str] = attrs.field(repr=False)
    households: Mapping[str, int] = attrs.field(repr=False)
    exact: bool = True
    _bases: dict[tuple[int, int], PullEntry] = attrs.field(factory=dict, repr=False)
    _labels: dict[str, str] | None = attrs.field(default=None, repr=False)

    def physician_ids(self) -> list[str]:
        """The GPs who have a list, sorted."""
        found: set[str] = set()
        for part in self.parts:
            found |= part.physicians_listed()
        return sorted(found)

    def list_of(
        self,
        physician_id: str,
        *,
        skip: Collection[str] = (),
        only: Collection[str] | None = None,
        limit: int | None = None,
    ) -> PullList | None:
        """The GP's list (``None``: no list: no place left or nothing eligible), as the
        register's :meth:`~mt_access.register.Register.pull_lists` gives it. ``skip``: leave
        out these requests (by id); ``only``: keep only these; ``limit``: at most that many
        entries (the others not built)."""
        entries: list[PullEntry] = []
        places: int | None = None
        for k, part in enumerate(self.parts):
            if limit is not None and places is not None and len(entries) >= limit:
                break
            rows, dist = part.rows_of(physician_id)
            if rows.size == 0:
                continue
            if places is None:
                places = int(part.remaining[part.index[physician_id]])
            keep = np.ones(rows.size, dtype=np.bool_)
            if skip:
                keep &= ~part.rows_among(rows, skip)
            if only is not None:
                keep &= part.rows_among(rows, only)
            kept = np.flatnonzero(keep)
            if limit is not None:
                kept = kept[: limit - len(entries)]
            for at in kept.tolist():
                base = self._base(k, int(rows[at]))
                entries.append(attrs.evolve(base, distance_km=round(dist[at], 1)))
        if places is None:
            return None
        return PullList(physician_id, tuple(entries), places)

    def count(self, physician_id: str, *, skip: Collection[str] = ()) -> int:
        """The number of entries on the GP's list (without the requests of ``skip``)."""
        total = 0
        for part in self.parts:
            rows = part.rows_of(physician_id)[0]
            total += rows.size
            if skip and rows.size:
                total -= int(part.rows_among(rows, skip).sum())
        return total

    def lists(self) -> tuple[PullList, ...]:
        """Every GP's list, by GP id."""
        found = (self.list_of(pid) for pid in self.physician_ids())
        return tuple(x for x in found if x is not None)

    def entry(self, physician_id: str, pseudonym: str) -> PullEntry | None:
        """The entry ``pseudonym`` of the GP's list, or ``None``."""
        rid = self.requests.get(pseudonym, "")
        if not rid:
            return None
        own = self.list_of(physician_id, only=(rid,))
        if own is None or not own.entries:
            return None
        return own.entries[0]

    def _base(self, k: int, row: int) -> PullEntry:
        found = self._bases.get((k, row))
        if found is None:
            part = self.parts[k]
            item = part.items[row]
            if self._labels is None:
                self._labels = level_labels(part.task.policy)
            rid = item.request.id
            found = pull_entry(part.task, item, self.pseudonyms[rid], self._labels)
            found = attrs.evolve(found, household=self.households.get(rid, found.persons))
            self._bases[(k, row)] = found
        return found


def reverse_pseudonyms(ids: Sequence[str], names: Iterable[str]) -> dict[str, str]:
    """Pseudonym → request id; ``""`` for a pseudonym two requests share."""
    reverse: dict[str, str] = {}
    for name, rid in zip(names, ids, strict=True):
        reverse[name] = "" if name in reverse else rid
    return reverse
