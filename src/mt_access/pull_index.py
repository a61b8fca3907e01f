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
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
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
    "pull_levels",
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


def pull_levels(policy: Policy) -> tuple[str, ...]:
    """The levels of ``policy`` whose requests go on lists shared with GPs (router
    ``pull``), highest first."""
    levels = [(lv.name, True) for lv in policy.levels]
    levels.append((policy.non_priority_level, False))
    return tuple(
        name for name, priority in levels if policy.rule_for(name, priority).router.name == PULL
    )


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


class _Coded:
    """One field of a part's entries as a column: each row's code into the distinct values
    (the values themselves kept as they were: ``int``, ``str``, tuples)."""

    __slots__ = ("codes", "values")

    def __init__(self, values: Iterable[Any]) -> None:
        found: dict[Any, int] = {}
        codes = [found.setdefault(v, len(found)) for v in values]
        self.codes = np.asarray(codes, dtype=np.int32)
        self.values = tuple(found)

    def __getstate__(self) -> tuple[Any, ...]:
        return (self.codes, self.values)

    def __setstate__(self, state: tuple[Any, ...]) -> None:
        self.codes, self.values = state

    def __getitem__(self, row: int) -> Any:
        return self.values[int(self.codes[row])]


_COLUMNS = tuple(
    f.name
    for f in attrs.fields(PullEntry)
    if f.name not in ("pseudonym", "distance_km", "household")
)
"""The fields of an entry a part keeps as columns (the others: the index's and the GP's)."""


class PullPart:
    """What one call of the ``pull`` router was given, as compact columns (numpy arrays and
    tuples: it pickles small, to cross from a worker process): the rows (its requests in the
    run's order, each as its place in the index's requests), each cell's rows, each GP's
    cells and distances, each GP's places left, the rule's ``list_size``, and the fields of
    each row's entry (:data:`_COLUMNS`)."""

    def __init__(self, task: RoutingTask, position: Mapping[str, int]) -> None:
        self.size = int(task.param("list_size"))  # type: ignore[call-overload]
        items = sorted(task.items, key=lambda i: i.position)
        n = len(items)
        self.refs: IntArray = np.fromiter(
            (position[i.request.id] for i in items), dtype=np.int64, count=n
        )
        cells = np.fromiter((i.cell for i in items), dtype=np.int64, count=n)
        order = np.argsort(cells, kind="stable")
        self.cell_rows: IntArray = order.astype(np.int64)
        self.cell_bounds: IntArray = np.searchsorted(
            cells[order], np.arange(len(task.cells) + 1)
        ).astype(np.int64)
        self.remaining: IntArray = np.asarray(task.remaining, dtype=np.int64)
        self.physician_ids = tuple(p.id for p in task.physicians)
        gps: list[IntArray] = [np.empty(0, dtype=np.int64)]
        of_cell: list[IntArray] = [np.empty(0, dtype=np.int64)]
        km: list[FloatArray] = [np.empty(0, dtype=np.float64)]
        for c, cell in enumerate(task.cells):
            if self.cell_bounds[c + 1] == self.cell_bounds[c]:
                continue
            gps.append(np.asarray(cell.candidates, dtype=np.int64))
            of_cell.append(np.full(cell.candidates.size, c, dtype=np.int64))
            km.append(np.asarray(cell.distances_km, dtype=np.float64))
        gp = np.concatenate(gps)
        by_gp = np.argsort(gp, kind="stable")  # each GP's cells in the cells' order
        self.gp_bounds: IntArray = np.searchsorted(
            gp[by_gp], np.arange(len(self.physician_ids) + 1)
        ).astype(np.int64)
        self.gp_cells: IntArray = np.concatenate(of_cell)[by_gp]
        self.gp_km: FloatArray = np.concatenate(km)[by_gp]
        labels = level_labels(task.policy)
        bases = [pull_entry(task, item, "", labels) for item in items]
        self.columns = {name: _Coded(getattr(e, name) for e in bases) for name in _COLUMNS}
        self._index = {pid: j for j, pid in enumerate(self.physician_ids)}

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        del state["_index"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._index = {pid: j for j, pid in enumerate(self.physician_ids)}

    def places(self, physician_id: str) -> int:
        """The GP's places left in this part (0: not a GP of the part)."""
        j = self._index.get(physician_id)
        return 0 if j is None else int(self.remaining[j])

    def rows_among(self, rows: IntArray, refs: IntArray) -> npt.NDArray[np.bool_]:
        """Which of ``rows`` are those of ``refs`` (places in the index's requests)."""
        if not refs.size:
            return np.zeros(rows.size, dtype=np.bool_)
        return np.isin(self.refs[rows], refs)

    def rows_of(self, physician_id: str) -> tuple[IntArray, list[float]]:
        """The rows on the GP's list of this part, in order (cut to ``list_size``), and the
        GP's distance to each; empty when the GP has no place left or no eligible row."""
        j = self._index.get(physician_id)
        if j is None or self.remaining[j] <= 0:
            return np.empty(0, dtype=np.int64), []
        start, end = int(self.gp_bounds[j]), int(self.gp_bounds[j + 1])
        if start == end:
            return np.empty(0, dtype=np.int64), []
        bounds = self.cell_bounds
        spans = [
            (self.cell_rows[bounds[c] : bounds[c + 1]], d)
            for c, d in zip(
                self.gp_cells[start:end].tolist(), self.gp_km[start:end].tolist(), strict=True
            )
        ]
        rows = np.concatenate([r for r, _ in spans])
        dist = np.concatenate([np.full(r.size, d) for r, d in spans])
        order = np.argsort(rows, kind="stable")
        if self.size:
            order = order[: self.size]
        return rows[order], dist[order].tolist()

    def physicians_listed(self) -> set[str]:
        """The GPs with at least one row in this part."""
        counts = np.diff(self.gp_bounds)
        listed = np.flatnonzero((counts > 0) & (self.remaining > 0))
        return {self.physician_ids[j] for j in listed.tolist()}

    def entry(self, row: int, pseudonym: str, household: int) -> PullEntry:
        """Row ``row``'s entry (``distance_km`` 0: each GP's list sets its own);
        ``household`` below 0: not known (the persons listed)."""
        fields = {name: column[row] for name, column in self.columns.items()}
        if household < 0:
            household = fields["persons"]
        return PullEntry(pseudonym=pseudonym, distance_km=0.0, household=household, **fields)


class PullIndex:
    """The month's shared lists on ``on`` as computed at the data version ``version``: compact
    columns (it pickles in a few megabytes at 100,000 requests, to cross from a worker
    process: :mod:`mt_access.web.portal_pull`), each entry built when a list shows it.

    Attributes:
        on: the day of the lists.
        version: the store's data version read before the data the lists were made of.
        ledger_position: the ledger's entries the lists were made with (a reader adds
            ``Store.ledger_entries_after(ledger_position)`` to know what was placed since).
        parts: one per call of the ``pull`` router, in the run's order (highest level first).
        ids: the requests routed, by id; ``names`` their pseudonyms, ``households`` the
            persons of each whole household (below 0: not known), same order.
        exact: :func:`per_request_exact` of the policy.
    """

    def __init__(
        self,
        on: dt.date,
        version: str,
        ledger_position: int,
        parts: tuple[PullPart, ...],
        ids: Sequence[str] = (),
        names: Sequence[str] = (),
        households: Sequence[int] | IntArray = (),
        exact: bool = True,
    ) -> None:
        self.on = on
        self.version = version
        self.ledger_position = ledger_position
        self.parts = parts
        self.ids = tuple(ids)
        self.names = tuple(names)
        self.households: IntArray = np.asarray(households, dtype=np.int64)
        self.exact = exact
        self._bases: dict[tuple[int, int], PullEntry] = {}
        self._requests: dict[str, str] | None = None
        self._pseudonyms: dict[str, str] | None = None
        self._position: dict[str, int] | None = None

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled as its columns only (not the entries built nor the lookups)."""
        return (
            PullIndex,
            (
                self.on,
                self.version,
                self.ledger_position,
                self.parts,
                self.ids,
                self.names,
                self.households,
                self.exact,
            ),
        )

    def __repr__(self) -> str:
        return (
            f"PullIndex(on={self.on!r}, version={self.version!r}, "
            f"ledger_position={self.ledger_position}, parts={len(self.parts)}, "
            f"requests={len(self.ids)})"
        )

    @property
    def requests(self) -> dict[str, str]:
        """Pseudonym → request id, for the requests routed (``""`` when two requests share a
        pseudonym: neither can be picked). Never stored."""
        if self._requests is None:
            self._requests = reverse_pseudonyms(self.ids, self.names)
        return self._requests

    @property
    def pseudonyms(self) -> dict[str, str]:
        """Request id → pseudonym, the same requests."""
        if self._pseudonyms is None:
            self._pseudonyms = dict(zip(self.ids, self.names, strict=True))
        return self._pseudonyms

    def _refs(self, request_ids: Collection[str]) -> IntArray:
        """The places of ``request_ids`` among :attr:`ids` (those routed)."""
        if not request_ids:
            return np.empty(0, dtype=np.int64)
        if self._position is None:
            self._position = {rid: k for k, rid in enumerate(self.ids)}
        found = self._position
        return np.asarray([found[r] for r in request_ids if r in found], dtype=np.int64)

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
        return self._list(physician_id, skip, only, limit, counting=False)[0]

    def count(self, physician_id: str, *, skip: Collection[str] = ()) -> int:
        """The number of entries on the GP's list (without the requests of ``skip``)."""
        return self._list(physician_id, skip, None, 0, counting=True)[1]

    def list_and_count(
        self, physician_id: str, *, skip: Collection[str] = (), limit: int | None = None
    ) -> tuple[PullList | None, int]:
        """:meth:`list_of` and :meth:`count` at once: each part's rows found once (a GP's
        portal page shows the first entries and says how many there are)."""
        return self._list(physician_id, skip, None, limit, counting=True)

    def _list(
        self,
        physician_id: str,
        skip: Collection[str],
        only: Collection[str] | None,
        limit: int | None,
        *,
        counting: bool,
    ) -> tuple[PullList | None, int]:
        """The list (its first ``limit`` entries) and, when ``counting``, its length; else
        the parts after the ``limit``-th entry are not read (the length is then partial)."""
        entries: list[PullEntry] = []
        places: int | None = None
        total = 0
        skipped = self._refs(skip)
        kept_only = None if only is None else self._refs(only)
        for k, part in enumerate(self.parts):
            full = limit is not None and len(entries) >= limit
            if full and places is not None and not counting:
                break
            rows, dist = part.rows_of(physician_id)
            if rows.size == 0:
                continue
            if places is None:
                places = part.places(physician_id)
            keep = np.ones(rows.size, dtype=np.bool_)
            if skip:
                keep &= ~part.rows_among(rows, skipped)
            if kept_only is not None:
                keep &= part.rows_among(rows, kept_only)
            kept = np.flatnonzero(keep)
            total += kept.size
            if limit is not None:
                kept = kept[: max(0, limit - len(entries))]
            for at in kept.tolist():
                base = self._base(k, int(rows[at]))
                entries.append(attrs.evolve(base, distance_km=round(dist[at], 1)))
        if places is None:
            return None, total
        return PullList(physician_id, tuple(entries), places), total

    def lists(self) -> tuple[PullList, ...]:
        """Every GP's list, by GP id (every entry of every list built: see
        :meth:`iter_lists`)."""
        return tuple(self.iter_lists())

    def iter_lists(self, physician_ids: Iterable[str] | None = None) -> Iterator[PullList]:
        """The lists of ``physician_ids`` (default :meth:`physician_ids`) that exist, one
        at a time: a caller that writes each and lets it go holds one list's entries, not
        the tens of millions of every list at 100,000 requests."""
        for pid in self.physician_ids() if physician_ids is None else physician_ids:
            found = self.list_of(pid)
            if found is not None:
                yield found

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
            ref = int(self.parts[k].refs[row])
            household = int(self.households[ref]) if self.households.size else -1
            found = self.parts[k].entry(row, self.names[ref], household)
            self._bases[(k, row)] = found
        return found


def reverse_pseudonyms(ids: Sequence[str], names: Iterable[str]) -> dict[str, str]:
    """Pseudonym → request id; ``""`` for a pseudonym two requests share."""
    reverse: dict[str, str] = {}
    for name, rid in zip(names, ids, strict=True):
        reverse[name] = "" if name in reverse else rid
    return reverse
