"""What a router receives and returns.

The engine prepares a :class:`RoutingTask` per routing rule: the requests to route (in
priority order), the physicians available on the reference date with their remaining
capacity, and, for every *cell* of requests (same place, same need for home visits, same
physicians who already declined them), the eligible physicians sorted by distance. Routers
only read the task and return a :class:`RouterOutput`; distances come from the geo layer
(:mod:`mt_access.geo`), never from the routers.
"""

from __future__ import annotations

import bisect
import datetime as dt
import functools
import threading
from collections import OrderedDict, defaultdict
from collections.abc import Hashable, Sequence
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt
import pluggy

from mt_access.errors import MatchInputError, ReferenceDataError
from mt_access.flow import Slot
from mt_access.geo.communes import CommuneReference
from mt_access.geo.distance import DistanceCache, geodesic_km_many
from mt_access.geo.point import Point
from mt_access.model import HomeVisitNeed, Physician, Request
from mt_access.policy import Policy, RoutingRule
from mt_access.result import (
    Classification,
    Orientation,
    Placement,
    PullList,
    ReasonCode,
    Waiting,
    format_km,
)

__all__ = [
    "TABLE_CACHE_MAX_PHYSICIANS",
    "TABLE_CACHE_SIZE",
    "Cell",
    "RoutableItem",
    "RouterOutput",
    "RoutingTask",
    "build_cells",
    "clear_cell_caches",
    "quota_placements",
]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


@attrs.frozen
class RoutableItem:
    """A request to route, with what the engine worked out about it.

    Attributes:
        request: the request.
        classification: its level and the criteria met.
        position: its place in the policy's order (0 first): level, then the order key.
        origin: the point distances are measured from (home, else the commune's point).
        cell: index of its cell in :attr:`RoutingTask.cells`.
    """

    request: Request
    classification: Classification
    position: int
    origin: Point
    cell: int


def _read_only(array: npt.NDArray[Any]) -> npt.NDArray[Any]:
    if array.flags.writeable:
        array = array.copy()
        array.setflags(write=False)
    return array


def _int_array(value: object) -> npt.NDArray[np.int64]:
    return _read_only(np.asarray(value, dtype=np.int64))


def _float_array(value: object) -> npt.NDArray[np.float64]:
    return _read_only(np.asarray(value, dtype=np.float64))


def _array_key(array: npt.NDArray[Any]) -> tuple[str, tuple[int, ...], bytes]:
    """What equality and hashing of a :class:`Cell` compare for an array: its values (bit
    for bit), shape and type."""
    return (array.dtype.str, array.shape, array.tobytes())


@attrs.frozen
class Cell:
    """Requests that are interchangeable for eligibility: same origin, need and refusals.

    Cells compare and hash by value (their arrays element by element, bit for bit); the
    arrays are read-only so that a cell's hash cannot change.

    Attributes:
        commune: INSEE code of the requests' commune.
        need: their need for home visits.
        candidates: indices into :attr:`RoutingTask.physicians` of the eligible physicians
            (accepting the commune, serving the need, not having declined, within the maximum
            distance), nearest first (ties by physician id).
        distances_km: distance to each candidate, same order.
        beyond_max: eligible physicians excluded only by the maximum distance.
        max_distance_km: the maximum distance that applies to the cell's requests (their
            level's rule), ``None`` without one. A run may route levels with different
            maximum distances: a cell holds requests of one maximum distance only.
    """

    commune: str
    need: HomeVisitNeed
    candidates: npt.NDArray[np.int64] = attrs.field(converter=_int_array, eq=_array_key)
    distances_km: npt.NDArray[np.float64] = attrs.field(converter=_float_array, eq=_array_key)
    beyond_max: int = 0
    max_distance_km: float | None = None


@attrs.frozen
class RouterOutput:
    """What a router decided. Every routed request appears in exactly one of placements
    (possibly several for a household split among physicians, plus a ``Waiting`` for persons
    left), orientations or waiting."""

    placements: tuple[Placement, ...] = ()
    orientations: tuple[Orientation, ...] = ()
    waiting: tuple[Waiting, ...] = ()
    pull_lists: tuple[PullList, ...] = ()


@attrs.frozen
class RoutingTask:
    """Input of a router.

    The requests come as columns (row ``i`` of each is the ``i``-th request in priority
    order) so that a router can work on a department's month without one object per
    request; :attr:`items` gives them as :class:`RoutableItem` objects when that is simpler.

    Attributes:
        rule: the routing rule (router, parameters, maximum distance). A run of a capacity
            router may hold levels whose rules differ only by their maximum distance: the
            rule is then the first level's, with ``max_distance_km`` ``None``, and each
            cell says its own (:attr:`Cell.max_distance_km`; its candidates are already
            within it).
        policy: the policy.
        on: reference date.
        requests: requests to route, in priority order.
        classifications: their levels, same order.
        positions: their places in the whole run's order (0 first), same order.
        item_cells: index into :attr:`cells` of each request, same order.
        remaining: places left this month for each physician (same order).
        cells: see :class:`Cell`.
        all_physicians: every physician given to the engine, by id (orientation lists).
        distances: the geo layer's distance cache.
        plugin_manager: the run's plugins (e.g. for ``mt_access_pseudonym``).
    """

    rule: RoutingRule
    policy: Policy
    on: dt.date
    requests: tuple[Request, ...]
    classifications: tuple[Classification, ...]
    positions: tuple[int, ...]
    item_cells: npt.NDArray[np.int64]
    physicians: tuple[Physician, ...]
    remaining: tuple[int, ...]
    cells: tuple[Cell, ...]
    all_physicians: tuple[Physician, ...]
    distances: DistanceCache
    plugin_manager: pluggy.PluginManager = attrs.field(eq=False, repr=False)

    def param(self, name: str) -> object:
        return self.rule.param(name)

    def origin(self, i: int) -> Point:
        """Where distances are measured from for request ``i``: the home's coordinates,
        else the commune's point."""
        location = self.requests[i].patient.location
        if location is not None:
            return location
        commune = self.requests[i].commune
        point = self._commune_points.get(commune)
        if point is None:
            point = self._commune_points[commune] = self.distances.reference.point(commune)
        return point

    def item(self, i: int) -> RoutableItem:
        """Request ``i`` as a :class:`RoutableItem`."""
        return RoutableItem(
            self.requests[i],
            self.classifications[i],
            self.positions[i],
            self.origin(i),
            int(self.item_cells[i]),
        )

    @functools.cached_property
    def items(self) -> tuple[RoutableItem, ...]:
        """Every request as a :class:`RoutableItem`, in priority order (built on first use)."""
        return tuple(self.item(i) for i in range(len(self.requests)))

    def physician_point(self, physician: Physician) -> Point:
        if physician.location is not None:
            return physician.location
        return self.distances.reference.point(physician.commune)

    def distance_km(self, item: RoutableItem, physician: Physician) -> float:
        target = self.physician_point(physician)
        if item.request.patient.location is None and physician.location is None:
            return self.distances.between_communes(item.request.commune, physician.commune)
        return self.distances.between(item.origin, target)

    def no_candidate_reason(self, cell: Cell) -> ReasonCode:
        return ReasonCode.BEYOND_MAX_DISTANCE if cell.beyond_max else ReasonCode.NO_ELIGIBLE_GP

    def waiting(
        self, item: RoutableItem, reason: ReasonCode, persons: int | None = None
    ) -> Waiting:
        c = item.classification
        detail = ""
        if reason is ReasonCode.BEYOND_MAX_DISTANCE:
            detail = self.distance_detail(item.cell)
        return Waiting(
            item.request.id,
            c.level,
            c.rank,
            reason,
            item.request.persons if persons is None else persons,
            detail,
        )

    def distance_detail(self, cell: int) -> str:
        """French words for the maximum distance of the requests of ``cell`` (empty without
        one)."""
        limit = self.cells[cell].max_distance_km
        return f"distance maximale {format_km(limit)}" if limit is not None else ""

    def placement(
        self,
        item: RoutableItem,
        physician_index: int,
        persons: int,
        distance_km: float,
        nearer_full: Sequence[int],
        why: str,
        nearer_taken: Sequence[int] = (),
        nearer: Sequence[int] | None = None,
    ) -> Placement:
        """Build a placement with its French explanation.

        ``nearer_full``: nearer eligible physicians who had no place left for the request
        (none at the start of the run, or all taken by requests before it in the order);
        ``nearer_taken``: nearer eligible physicians whose places the run gave, in part, to
        requests *after* it in the order (a router that places as many patients as possible,
        level by level, before it minimises distances). Both are in
        :attr:`Placement.nearer_full`, nearest first; the explanation tells them apart.
        ``nearer``: both already in candidate order, when the caller has them (else they are
        put in that order here).
        """
        c = item.classification
        text, full_ids = self.explained(
            c,
            item.request.commune,
            item.cell,
            physician_index,
            distance_km,
            nearer_full,
            why,
            nearer_taken,
            nearer,
        )
        return Placement(
            request_id=item.request.id,
            physician_id=self.physicians[physician_index].id,
            persons=persons,
            level=c.level,
            rank=c.rank,
            criteria=c.criteria,
            distance_km=round(distance_km, 3),
            router=self.rule.router.name,
            nearer_full=full_ids,
            explanation=text,
        )

    def explained(
        self,
        c: Classification,
        request_commune: str,
        cell: int,
        physician_index: int,
        distance_km: float,
        nearer_full: Sequence[int],
        why: str,
        nearer_taken: Sequence[int] = (),
        nearer: Sequence[int] | None = None,
    ) -> tuple[str, tuple[str, ...]]:
        """The explanation of :meth:`placement` and the ids of the nearer physicians it names
        (the same for every request of the same level and commune placed alike)."""
        phys = self.physicians[physician_index]
        head = self._heads.get(c)
        if head is None:
            if c.priority:
                head = f"Demande prioritaire (niveau {c.rank} « {c.level} »)"
                if c.criteria:
                    head += " : " + ", ".join(c.criteria)
            else:
                head = f"Demande non prioritaire (« {c.level} »)"
            self._heads[c] = head
        commune = self._commune_names.get(phys.commune)
        if commune is None:
            reference = self.distances.reference
            commune = (
                reference.get(phys.commune).name if phys.commune in reference else phys.commune
            )
            self._commune_names[phys.commune] = commune
        same = phys.commune == request_commune and distance_km < 0.05
        where = "même commune" if same else format_km(distance_km)
        text = f"{head}. Attribuée à {phys.name} ({commune}, {where}) : {why}."
        if nearer_full:
            names = self._names(nearer_full)
            text += f" Médecin(s) plus proche(s) sans place disponible : {names}."
        if nearer_taken:
            text += (
                " Médecin(s) plus proche(s) dont une place a été attribuée à une demande "
                "venant après celle-ci dans l'ordre de priorité (la répartition place "
                "d'abord le plus de patients possible, niveau après niveau, puis réduit la "
                f"distance totale) : {self._names(nearer_taken)}."
            )
        if nearer is None:
            nearer = list(nearer_full)
            if nearer_taken:
                candidates = self.cells[cell].candidates
                nearer = _in_candidate_order(candidates, {*nearer, *nearer_taken})
        return text, tuple(map(self._physician_ids.__getitem__, nearer))

    @functools.cached_property
    def _commune_points(self) -> dict[str, Point]:
        """The point of each request's commune (looked up once)."""
        return {}

    @functools.cached_property
    def _physician_ids(self) -> list[str]:
        """The id of each physician of :attr:`physicians` (listed once)."""
        return [p.id for p in self.physicians]

    @functools.cached_property
    def _heads(self) -> dict[Classification, str]:
        """The first sentence of an explanation, per classification (built once)."""
        return {}

    @functools.cached_property
    def _commune_names(self) -> dict[str, str]:
        """The name of each physician's commune, as the explanations say it (looked up once)."""
        return {}

    def _names(self, physicians: Sequence[int]) -> str:
        names = ", ".join(self.physicians[j].name for j in physicians[:5])
        more = f" et {len(physicians) - 5} autre(s)" if len(physicians) > 5 else ""
        return names + more


_SMALL_CELL = 256
"""Up to this many candidates, :func:`_in_candidate_order` scans them in Python."""


def _in_candidate_order(candidates: npt.NDArray[np.int64], physicians: set[int]) -> list[int]:
    """``physicians`` in the order of ``candidates`` (nearest first), those not among them
    after (in the set's order): one pass over the candidates, no dict over them; a cell of
    up to :data:`_SMALL_CELL` candidates is scanned in Python (``numpy.isin``'s fixed cost
    is that of scanning hundreds of candidates), a larger one with ``numpy.isin``."""
    if candidates.size <= _SMALL_CELL:
        ordered = [j for j in candidates.tolist() if j in physicians]
    else:
        wanted = np.fromiter(physicians, np.int64, len(physicians))
        ordered = candidates[np.isin(candidates, wanted)].tolist()
    if len(ordered) < len(physicians):
        found = set(ordered)
        ordered.extend(j for j in physicians if j not in found)
    return ordered


def _need_mask(physicians: Sequence[Physician], need: HomeVisitNeed) -> npt.NDArray[np.bool_]:
    return np.array([p.serves(need) for p in physicians], dtype=bool)


class _PhysicianTable:
    """What :func:`build_cells` needs of a set of physicians, worked out once: who accepts
    each commune, their points, ids and modalities; and, filled as cells ask, the eligible
    physicians of each (commune, need) for requests at the commune's point, nearest first
    (ties by id), with their distances. Depends only on the physicians' ids, communes,
    locations, modalities and accepted communes, the policy's default accepted communes and
    the commune reference (:func:`_physician_table` keys it on exactly these): never on
    capacities, statuses or the date."""

    __slots__ = (
        "by_commune",
        "id_text",
        "ids",
        "lat",
        "lon",
        "need_masks",
        "points",
        "reference",
        "rows",
    )

    def __init__(
        self, physicians: Sequence[Physician], policy: Policy, reference: CommuneReference
    ) -> None:
        n = len(physicians)
        accepting: dict[str, list[int]] = defaultdict(list)
        for j, p in enumerate(physicians):
            for commune in p.accepted_communes or policy.accepted_by_default(p.commune):
                accepting[commune].append(j)
        self.by_commune = {c: _int_array(js) for c, js in accepting.items()}
        self.points = [
            p.location if p.location is not None else reference.point(p.commune) for p in physicians
        ]
        self.lat = np.array([point.lat for point in self.points], dtype=np.float64)
        self.lon = np.array([point.lon for point in self.points], dtype=np.float64)
        self.ids = np.array([p.id for p in physicians], dtype=object)
        self.id_text = self.ids.astype(str) if n else np.empty(0, dtype=str)
        self.need_masks = {need: _need_mask(physicians, need) for need in HomeVisitNeed}
        self.reference = reference
        self.rows: dict[tuple[str, HomeVisitNeed], tuple[IntArray, FloatArray]] = {}

    def accepting(self, commune: str, need: HomeVisitNeed) -> IntArray:
        """The physicians accepting ``commune`` and serving ``need``, by index."""
        cand = self.by_commune.get(commune)
        if cand is None:
            return np.empty(0, dtype=np.int64)
        found: IntArray = cand[self.need_masks[need][cand]]
        return found

    def nearest_first(self, cand: IntArray, dist: FloatArray) -> tuple[IntArray, FloatArray]:
        """``cand`` and ``dist`` sorted by distance, then physician id."""
        order = np.lexsort((self.id_text[cand], dist))
        return cand[order], dist[order]

    def commune_row(
        self, commune: str, need: HomeVisitNeed, memo: DistanceCache | None
    ) -> tuple[IntArray, FloatArray]:
        """The eligible physicians of a request at ``commune``'s point needing ``need`` (before
        refusals and maximum distances), nearest first, and their distances (km), computed
        through ``memo`` when given (the same floats).

        Raises:
            ReferenceDataError: the commune is unknown or has no point.
        """
        key = (commune, need)
        row = self.rows.get(key)
        if row is None:
            origin = self.reference.point(commune)
            cand = self.accepting(commune, need)
            if not cand.size:
                dist = np.empty(0)
            elif memo is not None:  # pairs kept by the caller's cache across tables
                dist = memo.between_many(origin, [self.points[j] for j in cand.tolist()])
            else:
                dist = geodesic_km_many(origin.lat, origin.lon, self.lat[cand], self.lon[cand])
            cand, dist = self.nearest_first(cand, np.asarray(dist, dtype=np.float64))
            row = self.rows[key] = (_read_only(cand), _read_only(dist))
        return row


TABLE_CACHE_SIZE = 8
"""How many sets of physicians :func:`build_cells` keeps its work on (:class:`_PhysicianTable`)
between calls, least recently used out first: a simulation's months, a register's runs."""

TABLE_CACHE_MAX_PHYSICIANS = 10_000
"""Above this many physicians, :func:`build_cells` keeps nothing between calls (a France-sized
month would hold its communes' rows in memory for nothing)."""

_tables: OrderedDict[Hashable, _PhysicianTable] = OrderedDict()
_tables_lock = threading.Lock()


def _physician_key(p: Physician) -> tuple[object, ...]:
    return (p.id, p.commune, p.location, p.accepted_communes, p.modalities)


def _physician_table(
    physicians: Sequence[Physician], policy: Policy, reference: CommuneReference
) -> _PhysicianTable:
    """The :class:`_PhysicianTable` of ``physicians``, reused when an earlier call had the
    same physicians (same ids in the same order, communes, locations, modalities and accepted
    communes), the same default accepted communes in the policy and the same reference.

    A capacity, status or name changes nothing here; a physician's commune, location,
    modalities or accepted communes, or the set of physicians, gives another table."""
    if len(physicians) > TABLE_CACHE_MAX_PHYSICIANS:
        return _PhysicianTable(physicians, policy, reference)
    key = (
        reference,
        policy.default_accepted_communes,
        policy.territory,
        tuple([_physician_key(p) for p in physicians]),
    )
    with _tables_lock:
        table = _tables.get(key)
        if table is not None:
            _tables.move_to_end(key)
            return table
    table = _PhysicianTable(physicians, policy, reference)
    with _tables_lock:
        _tables[key] = table
        while len(_tables) > TABLE_CACHE_SIZE:
            _tables.popitem(last=False)
    return table


def clear_cell_caches() -> None:
    """Forget the physicians' tables :func:`build_cells` kept between calls (they are
    keyed on what they depend on, so this is never needed for correct results)."""
    with _tables_lock:
        _tables.clear()


def build_cells(
    requests: Sequence[Request],
    physicians: Sequence[Physician],
    policy: Policy,
    max_distance_km: float | Sequence[float | None] | None,
    distances: DistanceCache,
    *,
    among: Sequence[Physician] | None = None,
) -> tuple[list[int], list[Cell]]:
    """Group requests into cells and compute each cell's eligible physicians.

    Returns the cell index of each request and the cells. Eligibility: the physician accepts
    the request's commune (declared list, else the policy's default), serves its need for
    home visits, has not declined it, and is within the maximum distance: one for all the
    requests, or one per request (``max_distance_km[i]`` for ``requests[i]``, the cap of its
    level's rule).

    What depends only on the physicians (who accepts which commune, their points, the
    distances from each commune's point to them) is worked out once per set of physicians
    and kept between calls (:func:`_physician_table`): a simulation's or a register's
    months with the same GPs reuse it, whatever their capacities. ``among``: physicians
    of which ``physicians`` is a subsequence (the same objects, in the same order), e.g.
    every GP of the run where ``physicians`` are those available: the work is kept for
    them, so that a GP suspended or back changes nothing kept (the cells are the same).
    """
    caps: Sequence[float | None] = (
        [max_distance_km] * len(requests)
        if max_distance_km is None or isinstance(max_distance_km, int | float)
        else max_distance_km
    )
    if len(caps) != len(requests):
        raise ValueError("one maximum distance per request")
    place = _places_in(among, physicians) if among is not None else None
    base = physicians if place is None or among is None else among
    table = _physician_table(base, policy, distances.reference)
    memo = distances if len(base) <= TABLE_CACHE_MAX_PHYSICIANS else None
    cell_index: dict[tuple[object, ...], int] = {}
    cells: list[Cell] = []
    of_item: list[int] = []
    for request, limit in zip(requests, caps, strict=True):
        key = (
            request.commune,
            request.patient.location,
            request.home_visits,
            request.declined_by,
            limit,
        )
        index = cell_index.get(key)
        if index is None:
            index = cell_index[key] = len(cells)
            cells.append(_cell(table, request, limit, memo, place))
        of_item.append(index)
    return of_item, cells


def quota_placements(
    task: RoutingTask,
    taken: Sequence[tuple[int, Sequence[Slot]]],
    left: IntArray,
    latest: IntArray,
) -> list[Placement]:
    """The :class:`Placement` objects, with their explanations, of the requests the
    ``monthly_quota`` solve placed: ``taken`` pairs each placed request ``i`` of ``task``
    (priority order) with the slots it took; ``left``: each physician's places after the
    run; ``latest[j]``: the last request of ``task`` placed with physician ``j`` (-1: none).
    Used by the router (:func:`mt_access.policies.routers.route_monthly_quota`) and the
    columnar path (:mod:`mt_access.columnar`), so that both explain alike.

    An explanation depends only on the request's cell (its commune), level, physician,
    distance and which nearer physicians were taken after it: worked out once for the
    requests that share them (:meth:`RoutingTask.placement` for each would give the same)."""
    placements: list[Placement] = []
    nearer_full = _NearerFull(task, left, latest)
    requests, classes = task.requests, task.classifications
    cell_of: list[int] = np.asarray(task.item_cells).tolist()
    ids = [p.id for p in task.physicians]
    router = task.rule.router.name
    explained: dict[tuple[Any, ...], tuple[str, tuple[str, ...]]] = {}
    for i, slots in taken:
        request, c, cell = requests[i], classes[i], cell_of[i]
        for slot in slots:
            j, dist = slot.physician, slot.distance_km
            full, later, gone, before = nearer_full(cell, dist, i)
            key = (cell, request.commune, j, dist, id(c), before)
            found = explained.get(key)
            if found is None:
                why = _QUOTA_AFTER if full or later else _QUOTA_NEAREST
                found = explained[key] = task.explained(
                    c, request.commune, cell, j, dist, full, why, later, gone
                )
            placements.append(
                Placement(
                    request_id=request.id,
                    physician_id=ids[j],
                    persons=slot.count,
                    level=c.level,
                    rank=c.rank,
                    criteria=c.criteria,
                    distance_km=round(dist, 3),
                    router=router,
                    nearer_full=found[1],
                    explanation=found[0],
                )
            )
    return placements


_QUOTA_AFTER = (
    "médecin éligible le plus proche ayant une place, après répartition des "
    "places du mois par ordre de priorité"
)
_QUOTA_NEAREST = "médecin éligible le plus proche (commune acceptée, modalités adaptées)"


class _NearerFull:
    """The physicians of a cell nearer than a distance who have no place left after the
    assignment (for the explanations), cached by (cell, distance); for request ``i``, those
    whose places went only to requests before it in the order (or who had none at the start
    of the run), and those whose places went in part to requests after it."""

    def __init__(self, task: RoutingTask, left: IntArray, latest: IntArray) -> None:
        self.task = task
        self.left: list[int] = left.tolist()  # read element by element: lists, not arrays
        self.latest: list[int] = latest.tolist()
        self.cache: dict[tuple[int, float], tuple[list[int], list[int]]] = {}
        self.split: dict[tuple[int, float, int], tuple[list[int], list[int]]] = {}

    def __call__(self, c: int, dist: float, i: int) -> tuple[list[int], list[int], list[int], int]:
        """Those gone before request ``i``, those gone in part after it, both (the cell's
        candidates nearer than ``dist`` without a place left, nearest first), and how many
        are gone before it (the first two are the same for every request of the cell with
        that many)."""
        found = self.cache.get((c, dist))
        latest = self.latest
        if found is None:
            cell = self.task.cells[c]
            stop = int(np.searchsorted(cell.distances_km, dist, side="left"))
            left = self.left
            gone = [j for j in cell.candidates[:stop].tolist() if left[j] == 0]
            # the last request each of them took, in increasing order
            found = self.cache[(c, dist)] = gone, sorted(map(latest.__getitem__, gone))
        gone, lasts = found
        before = bisect.bisect_right(lasts, i)
        if before == len(gone):
            return gone, [], gone, before
        pair = self.split.get((c, dist, before))
        if pair is None:
            pair = self.split[(c, dist, before)] = (
                [j for j in gone if latest[j] <= i],
                [j for j in gone if latest[j] > i],
            )
        return pair[0], pair[1], gone, before


def _places_in(among: Sequence[Physician], physicians: Sequence[Physician]) -> IntArray | None:
    """For each physician of ``among``, its index in ``physicians`` (-1: not there); None
    when ``physicians`` is not a subsequence of ``among`` (same objects, same order)."""
    place = np.full(len(among), -1, dtype=np.int64)
    k = 0
    for j, p in enumerate(among):
        if k < len(physicians) and physicians[k] is p:
            place[j] = k
            k += 1
    return place if k == len(physicians) else None


def _cell(
    table: _PhysicianTable,
    request: Request,
    limit: float | None,
    memo: DistanceCache | None,
    place: IntArray | None,
) -> Cell:
    """The cell of ``request`` (see :func:`build_cells`); ``place``: the index of each
    physician of the table among those eligible (-1: left out), None: the same."""
    origin = request.patient.location
    declined = request.declined_by
    if origin is None:  # the commune's point: its row, refusals taken out (order kept)
        try:
            cand, dist = table.commune_row(request.commune, request.home_visits, memo)
        except ReferenceDataError as exc:
            raise MatchInputError(f"demande {request.id} : {exc}") from exc
        if declined and cand.size:
            keep = np.array([table.ids[j] not in declined for j in cand.tolist()], dtype=bool)
            cand, dist = cand[keep], dist[keep]
        if place is not None and cand.size:
            cand = place[cand]
            there = cand >= 0
            cand, dist = cand[there], dist[there]
    else:
        cand = table.accepting(request.commune, request.home_visits)
        if declined and cand.size:
            keep = np.array([table.ids[j] not in declined for j in cand.tolist()], dtype=bool)
            cand = cand[keep]
        if place is not None and cand.size:
            cand = cand[place[cand] >= 0]
        if cand.size:
            km = geodesic_km_many(origin.lat, origin.lon, table.lat[cand], table.lon[cand])
            cand, dist = table.nearest_first(cand, np.asarray(km, dtype=np.float64))
            if place is not None:
                cand = place[cand]
        else:
            dist = np.empty(0)
    beyond = 0
    if limit is not None and cand.size:
        within = dist <= limit
        beyond = int(within.size - np.count_nonzero(within))
        if beyond:
            cand, dist = cand[within], dist[within]
    return Cell(request.commune, request.home_visits, cand, dist, beyond, limit)
