"""The engine's columnar side: which GPs each request could have (cells seen), the waiting
requests kept as rows and built as objects only when read, and the path that hands a
capacity-routed run to :mod:`mt_access.columnar_routing`. Used by :mod:`mt_access.engine`."""

from __future__ import annotations

import bisect
import datetime as dt
import operator
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pluggy

from mt_access import columnar_routing
from mt_access.errors import ReferenceDataError
from mt_access.geo.distance import DistanceCache
from mt_access.model import Physician, Request
from mt_access.policy import Policy, RoutingRule
from mt_access.result import (
    EMPTY_ELIGIBILITY,
    Classification,
    Eligibility,
    LazySequence,
    Waiting,
)
from mt_access.routing import RoutingTask

_by_request = operator.attrgetter("request_id")


class CellsSeen:
    """The eligible physicians of the cells of a run's routing groups and the cell of each
    request routed (by its row among the requests in scope), kept to build the result's
    :class:`~mt_access.result.Eligibility` once, at the end."""

    def __init__(self, n: int) -> None:
        self.cell_of = np.full(n, -1, dtype=np.int64)
        self.candidates: list[npt.NDArray[np.int64]] = []

    def add_rows(
        self,
        rows: npt.NDArray[np.int64],
        cell_of: npt.NDArray[np.int64],
        candidates: Sequence[npt.NDArray[np.int64]],
    ) -> None:
        """A group's requests (rows of the requests in scope), the cell of each, and each
        cell's candidates (indices into the available physicians)."""
        self.cell_of[rows] = cell_of + len(self.candidates)
        self.candidates.extend(candidates)

    def eligibility(
        self,
        explain: str,
        rows: Sequence[npt.NDArray[np.int64]],
        ids: Sequence[str],
        available: Sequence[Physician],
    ) -> Eligibility:
        """The physicians eligible for each request of ``rows`` (the rows of the requests
        placed or waiting; ``ids``: the id of each row, sorted), per ``explain``
        (``"full"``, ``"counts"`` or ``"none"``): those of the request's cell
        (:func:`mt_access.routing.build_cells`), the very set the router chose from, listed
        once per cell and shared by its requests. ``available`` is sorted by id, so sorted
        indices give sorted ids."""
        if explain == "none":
            return EMPTY_ELIGIBILITY
        listed = np.zeros(self.cell_of.size, dtype=bool)
        for part in rows:
            listed[part] = True
        every = np.flatnonzero(listed)  # sorted, once each (np.unique hashes: far slower)
        cell_all = self.cell_of[every]
        routed = cell_all >= 0  # a request held by a ``before`` resource has no cell
        cell = cell_all[routed]
        request_ids = tuple([ids[i] for i in every[routed].tolist()])
        sizes = np.array([c.size for c in self.candidates], dtype=np.int64)
        counts = tuple(sizes[cell].tolist())
        if explain == "counts":
            return Eligibility(request_ids, counts)
        physician_ids = np.array([p.id for p in available], dtype=object)
        used, inverse = np.unique(cell, return_inverse=True)
        names = [tuple(physician_ids[np.sort(self.candidates[c])].tolist()) for c in used.tolist()]
        return Eligibility(request_ids, counts, tuple([names[k] for k in inverse.tolist()]))


def rows_of(ids: Sequence[str], request_ids: Iterable[str]) -> npt.NDArray[np.int64]:
    """The rows of ``request_ids`` among the requests in scope (``ids``, sorted)."""
    return np.array([bisect.bisect_left(ids, rid) for rid in request_ids], dtype=np.int64)


class WaitingParts:
    """The waiting requests of a run as its parts give them: :class:`Waiting` objects (held
    by a resource, routed by a router) and columns (the columnar path: rows, reasons,
    persons, details), put together at the end, sorted by request id, as a tuple or, when
    there are columns, a :class:`~mt_access.result.LazySequence` that builds the objects of
    the columns only when they are read.

    Args:
        ids: the id of each request in scope, sorted (row ``i`` is ``ids[i]``).
        classes: the classification of each request in scope.
    """

    def __init__(self, ids: Sequence[str], classes: Sequence[Classification]) -> None:
        self.ids = ids
        self.classes = classes
        self.objects: list[Waiting] = []
        self.object_seq: list[int] = []  # the order they came in, among every part
        self.columns: list[tuple[npt.NDArray[np.int64], ...]] = []
        self.texts: list[str] = [""]
        self.seen = 0

    def add_objects(self, waiting: Iterable[Waiting]) -> None:
        for w in waiting:
            self.objects.append(w)
            self.object_seq.append(self.seen)
            self.seen += 1

    def add_rows(
        self,
        rows: npt.NDArray[np.int64],
        reason: npt.NDArray[np.int64],
        persons: npt.NDArray[np.int64],
        detail: npt.NDArray[np.int64],
        texts: Sequence[str],
    ) -> None:
        """Waiting requests as columns: their rows, the index of each reason in
        :data:`~mt_access.columnar_routing.REASONS`, the persons waiting, the index of each
        detail in ``texts`` (0: none, ``texts[0]`` is empty)."""
        offset = len(self.texts) - 1
        self.texts.extend(texts[1:])
        detail = np.where(detail > 0, detail + offset, 0)
        seq = np.arange(self.seen, self.seen + rows.size, dtype=np.int64)
        self.seen += rows.size
        self.columns.append((rows, reason, persons, detail, seq))

    def rows(self) -> npt.NDArray[np.int64]:
        """The rows of every waiting request (in no particular order)."""
        parts = [c[0] for c in self.columns]
        parts.append(rows_of(self.ids, [w.request_id for w in self.objects]))
        return np.concatenate(parts)

    def sequence(self) -> Sequence[Waiting]:
        """Every waiting request, sorted by request id (in the order they came for one id)."""
        if not self.columns:
            return tuple(sorted(self.objects, key=_by_request))
        rows, reason, persons, detail, seq = (
            np.concatenate([c[k] for c in self.columns]) for k in range(5)
        )
        n_rows = rows.size
        all_rows = np.concatenate([rows, rows_of(self.ids, [w.request_id for w in self.objects])])
        all_seq = np.concatenate([seq, np.asarray(self.object_seq, dtype=np.int64)])
        order = np.lexsort((all_seq, all_rows))  # by id, then as they came
        ids, classes, objects, texts = self.ids, self.classes, self.objects, self.texts
        reasons = columnar_routing.REASONS

        def one(k: int) -> Waiting:
            p = int(order[k])
            if p >= n_rows:
                return objects[p - n_rows]
            i = int(rows[p])
            c = classes[i]
            reason_k, detail_k = int(reason[p]), int(detail[p])
            return Waiting(
                ids[i], c.level, c.rank, reasons[reason_k], int(persons[p]), texts[detail_k]
            )

        def every() -> list[Waiting]:
            row_l = rows.tolist()
            made = [
                Waiting(ids[i], c.level, c.rank, reasons[r], n, texts[d])
                for i, c, r, n, d in zip(
                    row_l,
                    map(classes.__getitem__, row_l),
                    reason.tolist(),
                    persons.tolist(),
                    detail.tolist(),
                    strict=True,
                )
            ]
            made.extend(objects)
            return [made[p] for p in order.tolist()]

        return LazySequence(int(order.size), one, every)


Member = tuple[int, Request, Classification]
"""A request of a routing group: its position in the run's order, itself, its level."""


class ColumnarPath:
    """The requests in scope as columns (:class:`mt_access.columnar_routing.RequestColumns`) and
    the eligible physicians of their communes, for the runs of the built-in
    ``monthly_quota`` router that :func:`_plan` sends down the columnar path."""

    def __init__(
        self,
        columns: Any,
        eligibility: Any,
        in_scope: Sequence[Request],
        classes: Sequence[Classification],
        available: Sequence[Physician],
        distances: DistanceCache,
    ) -> None:
        self.columns = columns
        self.eligibility = eligibility
        self.in_scope = tuple(in_scope)
        self.classes = tuple(classes)
        self.available = tuple(available)
        self.distances = distances

    @classmethod
    def of(
        cls,
        policy: Policy,
        in_scope: Sequence[Request],
        classes: Sequence[Classification],
        available: Sequence[Physician],
        distances: DistanceCache,
        *,
        columns: Any = None,
        levels: Sequence[Classification] | None = None,
    ) -> ColumnarPath | None:
        """The columnar path for this run's requests, or ``None`` when the policy has no
        built-in ``monthly_quota`` level, a plugin classified a request in a level the
        policy does not have (:func:`mt_access.columnar_routing.columnar_runs_allowed`), or a
        request's commune has no point (the objects' path then names the request).
        ``columns``: the requests' columns when they are read already; ``levels``: the
        distinct classifications of ``classes``, when known."""
        distinct = classes if levels is None else levels
        if not in_scope or not columnar_routing.columnar_runs_allowed(policy, distinct):
            return None
        if columns is None:
            columns = columnar_routing.RequestColumns(in_scope, classes, policy)
        for code in columns.communes:  # a commune without a point: the objects' path says so
            try:
                distances.reference.point(code)
            except ReferenceDataError:
                return None
        eligibility = columnar_routing.CellEligibility(available, policy, distances, columns)
        return cls(columns, eligibility, in_scope, classes, available, distances)

    def takes(self, rule: RoutingRule, rows: npt.NDArray[np.int64], policy: Policy) -> bool:
        """Whether the run of ``rule`` on the requests ``rows`` takes the columnar path."""
        return columnar_routing.is_builtin_quota(rule.router) and columnar_routing.columnar_rows(
            self.columns, rows, policy.keep_households_together
        )

    def route(
        self,
        rows: npt.NDArray[np.int64],
        positions: npt.NDArray[np.int64],
        rule: RoutingRule,
        policy: Policy,
        on: dt.date,
        remaining: Sequence[int],
        all_physicians: Sequence[Physician],
        pm: pluggy.PluginManager,
    ) -> Any:
        """Route the run's requests ``rows`` (:func:`mt_access.columnar_routing.route_requests`)."""
        task = RoutingTask(
            rule=rule,
            policy=policy,
            on=on,
            requests=self.in_scope,
            classifications=self.classes,
            positions=(),
            item_cells=np.empty(0, dtype=np.int64),
            physicians=self.available,
            remaining=tuple(remaining),
            cells=(),
            all_physicians=tuple(all_physicians),
            distances=self.distances,
            plugin_manager=pm,
        )
        return columnar_routing.route_requests(
            self.columns, self.eligibility, rows, positions, task
        )


Rows = tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]
"""Requests of a routing group as rows of the requests in scope, and their positions in the
run's order."""

Run = tuple[RoutingRule, list[Member] | None, Rows | None]
"""A routing group: its rule, and its requests as members (the objects' path) or as rows
(the columnar path)."""
