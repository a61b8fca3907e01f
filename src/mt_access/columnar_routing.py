"""The routing on columns shared by :func:`mt_access.columnar.match_columns` and
:func:`mt_access.match`: the eligible GPs of each cell found with whole-array steps
(:class:`CellEligibility`), the ``monthly_quota`` router's two flow solves on rows
(:func:`route_rows`), and, for :func:`mt_access.match`, its requests in scope as columns
(:class:`RequestColumns`) routed into :class:`~mt_access.result.Placement` objects and
waiting requests as columns (:func:`route_requests`).
"""

from __future__ import annotations

import itertools
import operator
from collections import defaultdict
from collections.abc import Sequence
from typing import NamedTuple, Protocol

import attrs
import numpy as np
import numpy.typing as npt

from mt_access import flow
from mt_access.calendar import Month
from mt_access.columns import RequestTable
from mt_access.errors import MatchInputError, ReferenceDataError
from mt_access.geo.communes import CommuneReference
from mt_access.geo.distance import DistanceCache, geodesic_km_many
from mt_access.ledger import CapacityLedger
from mt_access.model import HomeVisitNeed, Physician, Request
from mt_access.policy import Policy
from mt_access.result import (
    Classification,
    Placement,
    ReasonCode,
    format_km,
)
from mt_access.routing import Cell, RoutingTask, quota_placements
from mt_access.sorting import lex_order, numbered_by_appearance, stable_argsort

__all__ = [
    "BEYOND",
    "NEEDS",
    "REASONS",
    "CellEligibility",
    "RequestColumns",
    "RoutedRun",
    "RoutingColumns",
    "RunOutcome",
    "as_ints",
    "columnar_rows",
    "columnar_runs_allowed",
    "is_builtin_quota",
    "level_caps",
    "places_left",
    "route_requests",
    "route_rows",
]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

NEEDS: tuple[HomeVisitNeed, ...] = tuple(HomeVisitNeed)
"""The needs for home visits, indexed as in :attr:`MatchInput.need`."""

REASONS: tuple[ReasonCode, ...] = tuple(ReasonCode)
"""The reasons, indexed as in :attr:`ColumnarResult.waiting_reason`."""

_CAPACITY = REASONS.index(ReasonCode.CAPACITY_EXHAUSTED)
_NO_GP = REASONS.index(ReasonCode.NO_ELIGIBLE_GP)
BEYOND = REASONS.index(ReasonCode.BEYOND_MAX_DISTANCE)


def as_ints(value: object) -> IntArray:
    return np.ascontiguousarray(value, dtype=np.int64)


class RoutingColumns(Protocol):
    """The columns the routing reads (:class:`MatchInput`, :class:`RequestColumns`)."""

    @property
    def commune(self) -> IntArray: ...

    @property
    def communes(self) -> tuple[str, ...]: ...

    @property
    def need(self) -> IntArray: ...

    @property
    def persons(self) -> IntArray: ...

    @property
    def declined(self) -> IntArray | None: ...

    @property
    def declined_sets(self) -> tuple[frozenset[str], ...]: ...

    @property
    def rank(self) -> IntArray: ...


def places_left(
    ledger: CapacityLedger,
    physicians: Sequence[Physician],
    defaults: dict[str, int],
    month: Month,
    carry_over: bool,
) -> IntArray:
    """Each physician's places left in ``month`` (:meth:`CapacityLedger.remaining`). With an
    empty ledger the answer depends only on the default capacity: asked once per distinct
    default, not once per physician."""
    if ledger.entries:
        return np.array(
            [
                ledger.remaining(p.id, month, default=defaults[p.id], carry_over=carry_over)
                for p in physicians
            ],
            dtype=np.int64,
        )
    default = np.array([defaults[p.id] for p in physicians], dtype=np.int64)
    values, first, inverse = np.unique(default, return_index=True, return_inverse=True)
    answer = [
        ledger.remaining(physicians[j].id, month, default=int(d), carry_over=carry_over)
        for d, j in zip(values.tolist(), first.tolist(), strict=True)
    ]
    return np.array(answer, dtype=np.int64)[inverse.reshape(-1)]


def level_caps(inp: RoutingColumns, policy: Policy, level_names: Sequence[str]) -> FloatArray:
    """Each request's maximum distance (NaN: none): the input's, else its level's rule's."""
    given = getattr(inp, "max_distance_km", None)
    if given is not None:
        return np.asarray(given, dtype=np.float64)
    per_rank = [np.nan]
    for k, name in enumerate(level_names):
        rule = policy.rule_for(name, k < len(policy.levels))
        per_rank.append(np.nan if rule.max_distance_km is None else rule.max_distance_km)
    return np.asarray(per_rank, dtype=np.float64)[inp.rank]


class CellEligibility:
    """The eligible GPs of the cells (commune, need, refusals, maximum distance) of the input,
    as :func:`mt_access.routing.build_cells` finds them: the GPs accepting the commune,
    serving the need, who have not declined, within the distance; nearest first, ties by id.
    Everything with whole-array steps, no Python work per cell or per request:

    * the GPs accepting each commune of the input (pairs sorted by commune, then distance,
      then GP: the GPs are sorted by id, so their index is their id's rank);
    * their distances, for all the input's communes in one call of
      :func:`~mt_access.geo.geodesic_km_many` (the function the distance cache uses: the
      same values; 0 between a commune and a GP practising there without coordinates of
      their own);
    * a run's cells (:meth:`cells`) as :class:`~mt_access.flow.Ragged` arrays cut from them.
    """

    def __init__(
        self,
        available: Sequence[Physician],
        policy: Policy,
        distances: DistanceCache,
        inp: RoutingColumns,
    ) -> None:
        reference = distances.reference
        n_gp = len(available)
        self.index = {p.id: j for j, p in enumerate(available)}
        own = np.array([p.location is not None for p in available], dtype=bool)
        lat, lon = np.empty(n_gp), np.empty(n_gp)
        places: dict[str, tuple[float, float, str]] = {}  # commune -> its point, its code
        phys_code = []
        for j, p in enumerate(available):
            found = places.get(p.commune)
            if found is None:
                found = places[p.commune] = _place(reference, p.commune)
            lat[j], lon[j] = (
                (p.location.lat, p.location.lon) if p.location is not None else found[:2]
            )
            phys_code.append(found[2])
        # the GPs accepting each commune of the input, grouped with whole-array steps
        accepted = [p.accepted_communes or policy.accepted_by_default(p.commune) for p in available]
        index: dict[str, int] = {}  # each commune code of the input: its first position
        for k, code in enumerate(inp.communes):
            index.setdefault(code, k)
        n_pairs = sum(map(len, accepted))
        position = np.fromiter(
            map(index.get, itertools.chain.from_iterable(accepted), itertools.repeat(-1)),
            np.int64,
            n_pairs,
        )
        owner = np.repeat(np.arange(n_gp, dtype=np.int64), [len(a) for a in accepted])
        hit = position >= 0
        commune, owner = position[hit], owner[hit]
        # only the communes with requests
        wanted = np.zeros(len(inp.communes), dtype=bool)
        wanted[inp.commune] = True
        keep = wanted[commune]
        commune, owner = commune[keep], owner[keep]
        order = lex_order((owner, commune))
        commune, owner = commune[order], owner[order]
        self.bounds = np.zeros(len(inp.communes) + 1, dtype=np.int64)
        np.cumsum(np.bincount(commune, minlength=len(inp.communes)), out=self.bounds[1:])
        self.gp = owner
        # their distances: one call for every (commune, GP accepting it)
        used = np.flatnonzero(np.diff(self.bounds) > 0)
        origin: dict[int, tuple[float, float, str]] = {}
        for c in used.tolist():
            code = inp.communes[c]
            try:
                origin[c] = places.get(code) or _place(reference, code)
            except ReferenceDataError as exc:
                raise MatchInputError(f"commune {code} : {exc}") from exc
        o_lat = np.zeros(len(inp.communes))
        o_lon = np.zeros(len(inp.communes))
        o_code = np.full(len(inp.communes), "", dtype=object)
        for c, (a, b, code) in origin.items():
            o_lat[c], o_lon[c], o_code[c] = a, b, code
        # each distinct (commune, GP's point) once: GPs without coordinates of their own
        # share their commune's point (a département's 81,000 pairs are 13,400 such)
        spot = _spots(available, own)
        n_spots = int(spot.max(initial=-1)) + 1
        pair, pair_of = np.unique(commune * n_spots + spot[owner], return_inverse=True)
        p_commune, p_gp = pair // n_spots, _first_of(spot, n_spots)[pair % n_spots]
        # in chunks: the formula's work arrays (some twenty per pair) for the 1.4 million
        # pairs of a France-sized month were 0.5 GB at once; a pair's distance does not
        # depend on the other pairs
        pair_km = np.empty(pair.size, dtype=np.float64)
        for a in range(0, pair.size, _PAIRS_AT_ONCE):
            cs, gs = p_commune[a : a + _PAIRS_AT_ONCE], p_gp[a : a + _PAIRS_AT_ONCE]
            pair_km[a : a + cs.size] = geodesic_km_many(o_lat[cs], o_lon[cs], lat[gs], lon[gs])
        km = pair_km[pair_of.reshape(-1)]
        del pair, pair_of, pair_km, p_commune, p_gp
        same = (~own[owner]) & (np.array(phys_code, dtype=object)[owner] == o_code[commune])
        self.km = np.where(same, 0.0, km)
        # each commune's GPs nearest first, ties by id: a cell's candidates are then a
        # filtered slice, in order, with no sort per run
        # (the pairs are by commune, then GP: sorted by distance, stably, then by commune)
        near = np.argsort(self.km, kind="stable")
        near = near[stable_argsort(commune[near], len(inp.communes))]
        self.gp, self.km = self.gp[near], self.km[near]
        self.serves = np.array([[p.serves(need) for p in available] for need in NEEDS], dtype=bool)
        # the GPs of each set of refusals (indices), as keys set * GPs + GP
        refused = [
            k * n_gp + self.index[pid]
            for k, ids in enumerate(inp.declined_sets)
            for pid in ids
            if pid in self.index
        ]
        self.refused = np.unique(np.array(refused, dtype=np.int64))
        self.n_gp = n_gp

    def cells(
        self, commune: IntArray, need: IntArray, declined: IntArray, cap: FloatArray
    ) -> tuple[flow.Ragged, flow.Ragged, IntArray]:
        """The candidates of each cell (arrays indexed by cell), nearest first, ties by id;
        their distances; how many GPs only the cap excludes, per cell."""
        n_cells = commune.size
        sizes = self.bounds[commune + 1] - self.bounds[commune]
        cell = np.repeat(np.arange(n_cells, dtype=np.int64), sizes)
        starts = np.zeros(n_cells, dtype=np.int64)
        np.cumsum(sizes[:-1], out=starts[1:])
        at = np.repeat(self.bounds[commune] - starts, sizes) + np.arange(cell.size)
        gp, km = self.gp[at], self.km[at]
        keep = self.serves[need[cell], gp]
        if self.refused.size:
            some = keep & (declined[cell] > 0)
            rows = np.flatnonzero(some)
            keep[rows] = ~np.isin(declined[cell[rows]] * self.n_gp + gp[rows], self.refused)
        limit = cap[cell]
        beyond_row = keep & (km > limit)  # NaN: no cap, never beyond
        beyond = np.bincount(cell[beyond_row], minlength=n_cells).astype(np.int64)
        keep &= ~beyond_row
        cell, gp, km = cell[keep], gp[keep], km[keep]  # by cell, nearest first (__init__)
        bounds = np.zeros(n_cells + 1, dtype=np.int64)
        np.cumsum(np.bincount(cell, minlength=n_cells), out=bounds[1:])
        return flow.Ragged(gp, bounds), flow.Ragged(km, bounds), beyond


_PAIRS_AT_ONCE = 1 << 17


def _spots(available: Sequence[Physician], own: npt.NDArray[np.bool_]) -> IntArray:
    """Each GP's point as a number: GPs of one commune without coordinates of their own
    share one (their commune's point), a GP with coordinates has one alone."""
    number: dict[str, int] = {}
    spots = [
        number.setdefault(p.commune, len(number)) if not mine else -1
        for p, mine in zip(available, own.tolist(), strict=True)
    ]
    out = np.array(spots, dtype=np.int64)
    alone = np.flatnonzero(out < 0)
    out[alone] = len(number) + np.arange(alone.size, dtype=np.int64)
    return out


def _first_of(spot: IntArray, n_spots: int) -> IntArray:
    """For each point number, a GP that has it (they all have the same coordinates)."""
    some = np.zeros(n_spots, dtype=np.int64)
    some[spot] = np.arange(spot.size, dtype=np.int64)
    return some


"""(commune, GP) pairs whose distances :class:`CellEligibility` computes in one call."""


def _place(reference: CommuneReference, code: str) -> tuple[float, float, str]:
    """A commune's point and INSEE code."""
    commune = reference.get(code)
    point = reference.point(code) if commune.point is None else commune.point
    return point.lat, point.lon, commune.insee


class RunOutcome(NamedTuple):
    """What ``monthly_quota`` decided for a run's requests (:func:`route_rows`).

    Attributes:
        rows: the input rows of the run, in priority order; ``k`` below indexes them.
        item_cell: the cell of each row (cells numbered in order of first appearance).
        candidates, km, beyond, cap: per cell: eligible GPs nearest first, their distances,
            GPs excluded only by the cap, the cap (NaN: none).
        placed_k, placed_gp, placed_persons, placed_km: one row per place taken, in
            priority order (a household split among GPs: its slots in the order taken).
        waiting_k, waiting_reason, waiting_persons: the rows left (partly) waiting, in
            priority order, with the index of their reason in :data:`REASONS`.
        left: each GP's places after the run.
    """

    rows: IntArray
    item_cell: IntArray
    candidates: flow.Ragged
    km: flow.Ragged
    beyond: IntArray
    cap: FloatArray
    placed_k: IntArray
    placed_gp: IntArray
    placed_persons: IntArray
    placed_km: FloatArray
    waiting_k: IntArray
    waiting_reason: IntArray
    waiting_persons: IntArray
    left: IntArray


def route_rows(
    rows: IntArray,
    inp: RoutingColumns,
    caps: FloatArray,
    remaining: IntArray,
    eligibility: CellEligibility,
) -> RunOutcome:
    """``monthly_quota`` on the requests ``rows`` (in priority order): who is placed, then
    with whom (:mod:`mt_access.flow`), then which places each placed request takes
    (:func:`mt_access.flow.take_slots`). ``remaining`` is not changed."""
    declined = inp.declined[rows] if inp.declined is not None else np.zeros(rows.size, np.int64)
    cap = caps[rows]
    cap_codes, cap_index = _value_classes(np.nan_to_num(cap, nan=-1.0))
    n_keys = len(inp.communes) * len(NEEDS) * len(inp.declined_sets) * cap_codes.size
    key = (inp.commune[rows] * len(NEEDS) + inp.need[rows]) * len(inp.declined_sets)
    key = (key + declined) * cap_codes.size + cap_index
    del cap_index  # the run's arrays of one value a request go as soon as they are used
    # cells numbered in order of first appearance (the run's priority order), as build_cells
    item_cell, head = numbered_by_appearance(key, n_keys)  # head: each cell's first row
    del key
    cell_cap = cap[head]
    del cap
    candidates, km, beyond = eligibility.cells(
        inp.commune[rows[head]], inp.need[rows[head]], declined[head], cell_cap
    )
    del declined
    persons = inp.persons[rows]
    chosen = flow.select_by_priority(remaining, candidates, item_cell, persons, inp.rank[rows])
    supply = np.bincount(item_cell, weights=chosen, minlength=len(candidates)).astype(np.int64)
    assigned = flow.assign_nearest_flat(remaining, candidates, km, supply)
    left = remaining.copy()
    np.subtract.at(left, assigned[1], assigned[2])
    placed = _take(item_cell, chosen, assigned)
    waiting = np.flatnonzero(persons > chosen)
    size = candidates.sizes()
    reason_of_cell = np.where(size > 0, _CAPACITY, np.where(beyond > 0, BEYOND, _NO_GP))
    return RunOutcome(
        rows,
        item_cell,
        candidates,
        km,
        beyond,
        cell_cap,
        *placed,
        waiting,
        reason_of_cell[item_cell[waiting]].astype(np.int64),
        (persons - chosen)[waiting],
        left,
    )


def _value_classes(values: FloatArray) -> tuple[FloatArray, IntArray]:
    """The distinct values (sorted) and each value's index among them, as
    ``numpy.unique(values, return_inverse=True)``. The rows come in priority order, so a
    level's value comes in runs: the distinct values are those of the runs' first rows,
    a handful, then found for each row by a binary search."""
    if values.size == 0:
        return np.empty(0, dtype=np.float64), np.empty(0, dtype=np.int64)
    heads = values[np.r_[0, np.flatnonzero(values[1:] != values[:-1]) + 1]]
    codes = np.unique(heads)
    return codes, np.searchsorted(codes, values).astype(np.int64)


def _take(
    item_cell: IntArray,
    chosen: IntArray,
    assigned: tuple[IntArray, IntArray, IntArray, FloatArray],
) -> tuple[IntArray, IntArray, IntArray, FloatArray]:
    """The places each placed request takes (``k``: its index in the run), in priority
    order, as the ``monthly_quota`` router takes them (:func:`mt_access.flow.take_slots`),
    nearest first. Cells whose placed requests all have one person placed are done with
    whole-array steps (the k-th placed request of a cell takes its k-th place); the others
    request by request."""
    a_cell, a_gp, a_count, a_km = assigned
    n_cells = int(item_cell.max()) + 1 if item_cell.size else 0
    placed = np.flatnonzero(chosen)
    cells = item_cell[placed]
    several = np.zeros(n_cells, dtype=bool)
    several[cells[chosen[placed] > 1]] = True
    simple = placed[~several[cells]]
    by_cell = simple[np.argsort(item_cell[simple], kind="stable")]  # cell, then priority
    flat = ~several[a_cell]
    counts = a_count[flat]
    gp = np.repeat(a_gp[flat], counts)
    km = np.repeat(a_km[flat], counts)
    p_k, p_gp, p_persons, p_km = [by_cell], [gp], [np.ones(gp.size, np.int64)], [km]
    if several.any():
        ks: list[int] = []
        gps: list[int] = []
        people: list[int] = []
        dist: list[float] = []
        pending: dict[int, list[list[int]]] = defaultdict(list)  # [GP, places] per slot
        distance: dict[tuple[int, int], float] = {}
        rows = np.flatnonzero(several[a_cell])
        for c, j, k, d in zip(
            a_cell[rows].tolist(),
            a_gp[rows].tolist(),
            a_count[rows].tolist(),
            a_km[rows].tolist(),
            strict=True,
        ):
            pending[c].append([j, k])
            distance[(c, j)] = d
        taking = placed[several[cells]]
        for k, c, todo in zip(
            taking.tolist(), item_cell[taking].tolist(), chosen[taking].tolist(), strict=True
        ):
            # flow.take_slots on plain lists: the first slot that fits the whole request to
            # the front, then take from the front
            queue = pending[c]
            if queue[0][1] < todo:
                whole = next((w for w, slot in enumerate(queue) if slot[1] >= todo), None)
                if whole is not None:
                    queue.insert(0, queue.pop(whole))
            while todo:
                slot = queue[0]
                take = min(slot[1], todo)
                ks.append(k)
                gps.append(slot[0])
                people.append(take)
                dist.append(distance[(c, slot[0])])
                todo -= take
                slot[1] -= take
                if slot[1] == 0:
                    queue.pop(0)
        p_k.append(np.array(ks, dtype=np.int64))
        p_gp.append(np.array(gps, dtype=np.int64))
        p_persons.append(np.array(people, dtype=np.int64))
        p_km.append(np.array(dist, dtype=np.float64))
    k_all = np.concatenate(p_k)
    order = stable_argsort(k_all)  # priority order; a request's slots as taken
    return (
        k_all[order],
        np.concatenate(p_gp)[order],
        np.concatenate(p_persons)[order],
        np.concatenate(p_km)[order],
    )


# --------------------------------------------------------------------------------------------
# The columnar path of mt_access.match: its Request objects as columns


_rank = operator.attrgetter("rank")


class RequestColumns:
    """The requests in scope of a :func:`mt_access.match` run as columns (row ``i``: the
    ``i``-th request in scope), for the runs :func:`route_requests` routes: the same columns
    as :class:`MatchInput` (commune, communes, need, persons, refusals, level rank), each
    request's level's maximum distance, and whether a request has coordinates of its own.

    They are read from ``table`` (a :class:`~mt_access.columns.RequestTable` of
    ``requests``: the columns it has read already are not read again), else from
    ``requests`` with one pass per attribute; ``rank``: each request's level rank, else read
    from ``classes``."""

    def __init__(
        self,
        requests: Sequence[Request],
        classes: Sequence[Classification],
        policy: Policy,
        *,
        table: RequestTable | None = None,
        rank: IntArray | None = None,
    ) -> None:
        n = len(requests)
        table = table if table is not None else RequestTable(requests)
        self.commune: IntArray = table.commune_index  # communes numbered as first seen
        self.communes = table.communes
        self.need: IntArray = table.home_visits  # NEEDS is HomeVisitNeed's order
        self.persons: IntArray = table.persons
        self.declined: IntArray | None = table.declined  # the empty set first
        self.declined_sets = table.declined_sets
        self.rank: IntArray = (
            rank if rank is not None else np.fromiter(map(_rank, classes), np.int64, n)
        )
        self.located = table.located
        level_names = (*(lv.name for lv in policy.levels), policy.non_priority_level)
        self.caps = level_caps(self, policy, level_names)


def columnar_runs_allowed(policy: Policy, classes: Sequence[Classification]) -> bool:
    """Whether :func:`mt_access.match` may route the ``monthly_quota`` runs of ``policy`` on
    the columnar path: every level is one of the policy's with the policy's rank (a plugin
    may classify otherwise: then every run takes the objects' path), and at least one level
    is routed by the built-in ``monthly_quota`` router (a plugin's router of the same name
    takes the objects' path)."""
    expected = {(lv.name, True): k + 1 for k, lv in enumerate(policy.levels)}
    expected[(policy.non_priority_level, False)] = policy.non_priority_rank
    for c in dict(zip(map(id, classes), classes, strict=True)).values():
        if expected.get((c.level, c.priority)) != c.rank:
            return False
    return any(is_builtin_quota(policy.rule_for(*level).router) for level in expected)


def is_builtin_quota(router: object) -> bool:
    """Whether ``router`` (a :class:`~mt_access.policy.RouterKind`) is the built-in
    ``monthly_quota``, the only router the columnar path reproduces."""
    route = getattr(router, "route", None)  # by name: the core imports no plugin module
    return (
        getattr(route, "__module__", None) == "mt_access.policies.routers"
        and getattr(route, "__qualname__", None) == "route_monthly_quota"
    )


def columnar_rows(columns: RequestColumns, rows: IntArray, keep_together: bool) -> bool:
    """Whether the requests ``rows`` can take the columnar path: none has coordinates of
    its own (the cells are communes), and no household is kept together (those take
    :mod:`mt_access.policies.households`)."""
    if bool(columns.located[rows].any()):
        return False
    return not (keep_together and bool((columns.persons[rows] > 1).any()))


class RoutedRun(NamedTuple):
    """What :func:`route_requests` gives :func:`mt_access.match` for one run.

    Attributes:
        placements: a :class:`~mt_access.result.Placement` per slot taken, with its
            explanation, in priority order.
        waiting: the requests (partly) waiting, as columns: their rows, the index of each
            reason in :data:`REASONS`, the persons waiting, the index of each one's detail
            in the texts (0: none), the texts (the first one empty).
        placed_rows: the rows of the requests placed (even partly), once each.
        outcome: what :func:`route_rows` decided.
    """

    placements: list[Placement]
    waiting: tuple[IntArray, IntArray, IntArray, IntArray, list[str]]
    placed_rows: IntArray
    outcome: RunOutcome

    def cell_candidates(self) -> list[IntArray]:
        """The eligible physicians of each cell of the run (views, no copy)."""
        bounds = self.outcome.candidates.bounds.tolist()
        values = self.outcome.candidates.values
        return [values[a:b] for a, b in itertools.pairwise(bounds)]


def route_requests(
    columns: RequestColumns,
    eligibility: CellEligibility,
    rows: IntArray,
    positions: IntArray,
    task: RoutingTask,
) -> RoutedRun:
    """Route the requests ``rows`` (rows of ``columns``, in priority order; ``positions``:
    their places in the whole run's order) as the built-in ``monthly_quota`` router would
    for ``task`` (whose requests, classifications, cells and item cells are not read: the
    columns stand for them; its rule, policy, date, physicians and places left are used),
    without a :class:`~mt_access.routing.RoutableItem` or a cell object per request:
    :class:`~mt_access.result.Placement` objects, with the router's very explanations
    (:func:`mt_access.routing.quota_placements`), for the placed requests only, and the
    waiting requests as columns (their details worked out once per cell)."""
    remaining = np.asarray(task.remaining, dtype=np.int64)
    run = route_rows(rows, columns, columns.caps, remaining, eligibility)
    requests, classes = task.requests, task.classifications
    # the placed requests as a small routing task of their own: same order, their cells only
    ks, slot_start = np.unique(run.placed_k, return_index=True)
    slot_of = np.searchsorted(ks, run.placed_k)
    latest = np.full(remaining.size, -1, dtype=np.int64)
    np.maximum.at(latest, run.placed_gp, slot_of)
    cells_used, first, small_cell = np.unique(
        run.item_cell[ks], return_index=True, return_inverse=True
    )
    cells = []
    for c, i in zip(cells_used.tolist(), rows[ks[first]].tolist(), strict=True):
        cap = float(run.cap[c])
        cells.append(
            Cell(
                columns.communes[int(columns.commune[i])],
                NEEDS[int(columns.need[i])],
                run.candidates[c],
                run.km[c],
                int(run.beyond[c]),
                None if np.isnan(cap) else cap,
            )
        )
    placed_rows = rows[ks]
    small = attrs.evolve(
        task,
        requests=tuple(requests[i] for i in placed_rows.tolist()),
        classifications=tuple(classes[i] for i in placed_rows.tolist()),
        positions=tuple(positions[ks].tolist()),
        item_cells=small_cell.reshape(-1).astype(np.int64),
        cells=tuple(cells),
    )
    bounds = [*slot_start.tolist(), int(run.placed_k.size)]
    gps, counts, dist = run.placed_gp.tolist(), run.placed_persons.tolist(), run.placed_km.tolist()
    taken = [
        (new, [flow.Slot(gps[s], counts[s], dist[s]) for s in range(bounds[new], bounds[new + 1])])
        for new in range(ks.size)
    ]
    placements = quota_placements(small, taken, run.left, latest)
    # the waiting requests' details: the maximum distance of the cell, once per cell
    cell_of_wait = run.item_cell[run.waiting_k]
    beyond = run.waiting_reason == BEYOND
    texts = [""]
    detail_of_cell = np.zeros(run.cap.size, dtype=np.int64)
    for c in np.unique(cell_of_wait[beyond]).tolist():
        detail_of_cell[c] = len(texts)
        texts.append(f"distance maximale {format_km(float(run.cap[c]))}")
    detail = np.where(beyond, detail_of_cell[cell_of_wait], 0)
    waiting = (rows[run.waiting_k], run.waiting_reason, run.waiting_persons, detail, texts)
    return RoutedRun(placements, waiting, placed_rows, run)
