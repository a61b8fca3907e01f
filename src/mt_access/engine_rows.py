"""The engine's columnar side: which GPs each request could have (cells seen), the waiting
requests kept as rows and built as objects only when read, and the path that hands a
capacity-routed run to :mod:`mt_access.columnar_routing`. Used by :mod:`mt_access.engine`."""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
import operator
from collections.abc import Callable, Iterable, Iterator, Sequence
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
        # a cell per request routed at most: int32 while that fits (4 bytes a request)
        self.cell_of: npt.NDArray[np.signedinteger[Any]] = np.full(
            n, -1, dtype=np.int32 if n <= 2**31 - 1 else np.int64
        )
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
        del listed
        cell_all = self.cell_of[every]
        routed = cell_all >= 0  # a request held by a ``before`` resource has no cell
        cell = cell_all[routed]
        every = every[routed]
        del cell_all, routed
        sizes = np.array([c.size for c in self.candidates], dtype=np.int64)
        # in chunks: a France-sized month lists 6 million requests, and a list of that many
        # Python ints is 240 MB on its own
        request_ids = tuple(_chunked(every, ids.__getitem__))
        del every
        counts = tuple(_chunked(sizes[cell], None))
        if explain == "counts":
            return Eligibility(request_ids, counts)
        physician_ids = np.array([p.id for p in available], dtype=object)
        used, inverse = np.unique(cell, return_inverse=True)
        names = [tuple(physician_ids[np.sort(self.candidates[c])].tolist()) for c in used.tolist()]
        return Eligibility(request_ids, counts, tuple([names[k] for k in inverse.tolist()]))


_CHUNK = 1 << 18
"""Rows read into Python objects at a time by :func:`_chunked`."""


def _chunked(values: npt.NDArray[np.int64], get: Callable[[int], Any] | None) -> Iterator[Any]:
    """``values`` as Python ints (``get`` of each, when given), converted a chunk at a time
    (the items chained in C: no generator step per item)."""
    return itertools.chain.from_iterable(_chunks(values, get))


def _chunks(values: npt.NDArray[np.int64], get: Callable[[int], Any] | None) -> Iterator[Any]:
    for start in range(0, values.size, _CHUNK):
        part = values[start : start + _CHUNK].tolist()
        yield part if get is None else list(map(get, part))


def _narrow(values: npt.NDArray[np.int64]) -> type[np.signedinteger[Any]]:
    """``int32`` when every one of ``values`` (non-negative) fits, else ``int64``."""
    return np.int32 if not values.size or int(values.max()) <= 2**31 - 1 else np.int64


def rows_of(ids: Sequence[str], request_ids: Iterable[str]) -> npt.NDArray[np.int64]:
    """The rows of ``request_ids`` among the requests in scope (``ids``, sorted)."""
    return np.array([bisect.bisect_left(ids, rid) for rid in request_ids], dtype=np.int64)


class WaitingParts:
    """The waiting requests of a run as its parts give them: :class:`Waiting` objects (held
    by a resource, routed by a router) and columns (the columnar path: rows, reasons,
    persons, details), put together at the end, sorted by request id, as a tuple or, when
    there are columns, a :class:`~mt_access.result.LazySequence` that builds the objects of
    the columns only when they are read.

    The columns are kept narrow (rows and details ``int32`` while they fit, reasons
    ``int8``): a France-sized month leaves some 6 million requests waiting, and the lazy
    sequence keeps its columns for as long as the result lives (13 bytes a waiting request,
    with the ids and classifications it shares with the run).

    Args:
        ids: the id of each request in scope, sorted (row ``i`` is ``ids[i]``).
        classes: the classification of each request in scope.
    """

    def __init__(self, ids: Sequence[str], classes: Sequence[Classification]) -> None:
        self.ids = ids
        self.classes = classes
        self.objects: list[Waiting] = []
        self.object_seq: list[int] = []  # the order they came in, among every part
        self.columns: list[tuple[npt.NDArray[Any], ...]] = []
        self.starts: list[int] = []  # the order the first row of each part came in
        self.texts: list[str] = [""]
        self.seen = 0
        self.row_type = np.int32 if len(ids) <= np.iinfo(np.int32).max else np.int64
        self.sorted_rows: npt.NDArray[Any] | None = None  # set by sequence()

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
        self.columns.append(
            (
                rows.astype(self.row_type),
                reason.astype(np.int8),  # REASONS has fewer than 128 codes
                persons.astype(_narrow(persons)),
                detail.astype(_narrow(detail)),
            )
        )
        self.starts.append(self.seen)
        self.seen += rows.size

    def rows(self) -> npt.NDArray[np.int64]:
        """The rows of every waiting request (in no particular order)."""
        parts: list[npt.NDArray[Any]] = (
            [c[0] for c in self.columns] if self.sorted_rows is None else [self.sorted_rows]
        )
        parts.append(rows_of(self.ids, [w.request_id for w in self.objects]))
        return np.concatenate(parts).astype(np.int64, copy=False)

    def sequence(self) -> Sequence[Waiting]:
        """Every waiting request, sorted by request id (in the order they came for one id).
        The columns given to :meth:`add_rows` are let go: only their sorted copies stay."""
        if not self.columns:
            return tuple(sorted(self.objects, key=_by_request))
        rows, reason, persons, detail = (
            np.concatenate([c[k] for c in self.columns]) for k in range(4)
        )
        sizes = [c[0].size for c in self.columns]
        self.columns = []
        n_rows = rows.size
        if self.objects:  # by id, then as they came (the objects came between the columns)
            seq = np.concatenate(
                [
                    np.arange(s, s + m, dtype=np.int64)
                    for s, m in zip(self.starts, sizes, strict=True)
                ]
            )
            all_rows = np.concatenate(
                [rows, rows_of(self.ids, [w.request_id for w in self.objects])]
            )
            all_seq = np.concatenate([seq, np.asarray(self.object_seq, dtype=np.int64)])
            order = np.lexsort((all_seq, all_rows))
            del seq, all_rows, all_seq
            is_object = order >= n_rows
            object_at = np.flatnonzero(is_object)  # positions of the objects, in id order
            objects: list[Waiting] = [self.objects[p - n_rows] for p in order[is_object].tolist()]
            order = order[~is_object]
        else:  # the columns came in order: by id, then as they came is a stable sort
            order = np.argsort(rows, kind="stable")
            object_at = np.empty(0, dtype=np.int64)
            objects = []
        rows, reason, persons, detail = rows[order], reason[order], persons[order], detail[order]
        del order
        self.sorted_rows = rows
        ids, classes, texts = self.ids, self.classes, self.texts
        reasons = columnar_routing.REASONS
        length = n_rows + len(objects)

        def one(k: int) -> Waiting:
            if objects:
                j = int(np.searchsorted(object_at, k))
                if j < len(objects) and int(object_at[j]) == k:
                    return objects[j]
                k -= j  # the columns' row: the objects before it taken out
            i = int(rows[k])
            c = classes[i]
            return Waiting(
                ids[i],
                c.level,
                c.rank,
                reasons[int(reason[k])],
                int(persons[k]),
                texts[int(detail[k])],
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
            if not objects:
                return made
            out: list[Waiting] = []
            taken = 0
            for j, at in enumerate(object_at.tolist()):
                out.extend(made[taken : at - j])  # the columns' rows before the j-th object
                taken = at - j
                out.append(objects[j])
            out.extend(made[taken:])
            return out

        return LazySequence(length, one, every)


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
