"""A columnar path through the engine for large batches: :func:`match_columns`.

:func:`mt_access.match` takes one :class:`~mt_access.model.Request` object per request and
returns one object per placement, waiting request and rejection. For a département's month
(250,000 requests, of which some 240,000 wait) that is most of its time. Here the requests
come as numpy columns (:class:`MatchInput`: already scoped and classified, with their order
keys), the order and the cells are worked out with whole-array operations, the routing is
the ``monthly_quota`` router's (the same two flow solves, :mod:`mt_access.flow`), and the
result (:class:`ColumnarResult`) keeps the placements and the waiting requests as columns;
:class:`~mt_access.result.Placement` and :class:`~mt_access.result.Waiting` objects are built
only for the rows asked for.

What it covers: policies whose every level is routed by ``monthly_quota``, without
conditional resources, and households that may be split (or one-person requests). Anything
else raises :class:`~mt_access.errors.MatchInputError`; use :func:`mt_access.match`.

:func:`mt_access.match` itself routes each run of the built-in ``monthly_quota`` router
through the same steps (:class:`RequestColumns`, :func:`route_requests`): its requests in
scope become columns once, and objects are built only for its result (a
:class:`~mt_access.result.Placement` per placed request, with the router's explanation, a
:class:`~mt_access.result.Waiting` per request left). Runs of other routers, with a household
kept together or a home with coordinates of its own keep the objects' path.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import NamedTuple, Protocol

import attrs
import numpy as np
import numpy.typing as npt
import pluggy

from mt_access import flow
from mt_access.calendar import Month
from mt_access.engine import _run_keys, _unique, rank_requests
from mt_access.errors import MatchInputError, ReferenceDataError
from mt_access.geo.communes import CommuneReference, bundled_reference
from mt_access.geo.distance import DistanceCache, geodesic_km_many
from mt_access.hooks import plugin_manager as _plugin_manager
from mt_access.ledger import CapacityLedger, PlacementRecorded
from mt_access.model import HomeVisitNeed, Physician, Request
from mt_access.policy import Policy
from mt_access.result import (
    Classification,
    Placement,
    ReasonCode,
    Rejected,
    Waiting,
    format_km,
)
from mt_access.routing import Cell, RoutingTask, quota_placements

__all__ = ["REASONS", "ColumnarResult", "MatchInput", "match_columns"]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

NEEDS: tuple[HomeVisitNeed, ...] = tuple(HomeVisitNeed)
"""The needs for home visits, indexed as in :attr:`MatchInput.need`."""

REASONS: tuple[ReasonCode, ...] = tuple(ReasonCode)
"""The reasons, indexed as in :attr:`ColumnarResult.waiting_reason`."""

_CAPACITY = REASONS.index(ReasonCode.CAPACITY_EXHAUSTED)
_NO_GP = REASONS.index(ReasonCode.NO_ELIGIBLE_GP)
_BEYOND = REASONS.index(ReasonCode.BEYOND_MAX_DISTANCE)


def _ints(value: object) -> IntArray:
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


@attrs.frozen(eq=False)
class MatchInput:
    """Requests in scope, already classified, as columns (row ``i`` is one request).

    Attributes:
        request_ids: the requests' ids (unique).
        rank: each request's level rank: 1 to ``len(policy.levels)`` for the priority
            levels, ``policy.non_priority_rank`` for the non-priority level.
        order: order keys inside a level, shape ``(n, k)``: smaller first, column by column,
            then the id (:func:`mt_access.match`'s order: e.g. the received date's ordinal).
        commune: index of each request's commune in :attr:`communes`.
        communes: INSEE codes.
        need: index of each request's need for home visits in :data:`NEEDS` (0: none).
        persons: persons of each request (a household may be split among GPs).
        declined: index of the set of GPs who declined each request in
            :attr:`declined_sets` (0: none).
        declined_sets: sets of GP ids; the first is empty.
        max_distance_km: a maximum distance per request (NaN: none); ``None``: each level's
            rule's.
    """

    request_ids: npt.NDArray[np.str_] = attrs.field(converter=np.asarray)
    rank: IntArray = attrs.field(converter=_ints)
    order: IntArray = attrs.field(converter=_ints)
    commune: IntArray = attrs.field(converter=_ints)
    communes: tuple[str, ...]
    need: IntArray = attrs.field(converter=_ints)
    persons: IntArray = attrs.field(converter=_ints)
    declined: IntArray | None = None
    declined_sets: tuple[frozenset[str], ...] = (frozenset(),)
    max_distance_km: FloatArray | None = None

    def __len__(self) -> int:
        return int(self.rank.size)

    @classmethod
    def from_requests(
        cls,
        requests: Iterable[Request],
        policy: Policy,
        on: dt.date,
        *,
        plugin_manager: pluggy.PluginManager | None = None,
    ) -> tuple[MatchInput, list[Rejected]]:
        """The columns of ``requests`` as :func:`mt_access.match` sees them on ``on``: scope,
        classification and order by the decision hooks (the order key is each request's
        position in that order), and the requests out of scope.

        Raises:
            MatchInputError: duplicate ids, or a request with its own coordinates (the
                columns have none).
        """
        pm = _plugin_manager(policy, plugin_manager)
        reqs: list[Request] = _unique(requests, "demande")
        ranked = rank_requests(reqs, policy, on, pm)
        rejected = [
            Rejected(r.id, d.reason, d.detail)
            for r, d in zip(reqs, ranked.decisions, strict=True)
            if not d.in_scope and d.reason is not None
        ]
        rows = ranked.in_scope
        if any(r.patient.location is not None for r in rows):
            raise MatchInputError(
                "match_columns : les demandes avec des coordonnées propres ne sont pas prises "
                "en charge (utiliser match)"
            )
        n = len(rows)
        position = np.empty(n, dtype=np.int64)
        position[np.asarray(ranked.order, dtype=np.int64)] = np.arange(n, dtype=np.int64)
        communes = sorted({r.commune for r in rows})
        commune_index = {c: k for k, c in enumerate(communes)}
        need_index = {need: k for k, need in enumerate(NEEDS)}
        sets: dict[frozenset[str], int] = {frozenset(): 0}
        declined = [sets.setdefault(r.declined_by, len(sets)) for r in rows]
        return (
            cls(
                request_ids=np.array([r.id for r in rows], dtype=str),
                rank=[c.rank for c in ranked.classes],
                order=position.reshape(n, 1),
                commune=[commune_index[r.commune] for r in rows],
                communes=tuple(communes),
                need=[need_index[r.home_visits] for r in rows],
                persons=[r.household.persons for r in rows],
                declined=np.array(declined, dtype=np.int64),
                declined_sets=tuple(sets),
            ),
            rejected,
        )


@attrs.frozen(eq=False)
class ColumnarResult:
    """What :func:`match_columns` decided, as columns.

    Attributes:
        input: the requests.
        on, month, policy_code: the reference date, its month (``YYYY-MM``), the policy.
        physician_ids: the GPs' ids, sorted; ``placed_physician`` indexes them.
        placed_request, placed_physician, placed_persons, placed_km: one row per placement
            (a household split among GPs has several), sorted by request id then GP id:
            the request's row in :attr:`input`, the GP, the persons, the distance.
        waiting_request, waiting_reason, waiting_persons: one row per request (or rest of a
            household) left waiting, sorted by request id: its row, the index of its reason
            in :data:`REASONS`, the persons.
        waiting_detail: the French detail of a waiting row's reason (the maximum distance
            for :attr:`~mt_access.result.ReasonCode.BEYOND_MAX_DISTANCE`), by row.
        places_at_start: each GP's places at the start (id, places), by id.
    """

    input: MatchInput
    on: dt.date
    month: str
    policy_code: str
    level_names: tuple[str, ...]
    physician_ids: tuple[str, ...]
    placed_request: IntArray
    placed_physician: IntArray
    placed_persons: IntArray
    placed_km: FloatArray
    waiting_request: IntArray
    waiting_reason: IntArray
    waiting_persons: IntArray
    waiting_detail: dict[int, str]
    places_at_start: tuple[tuple[str, int], ...]
    month_of: Month

    def ledger_entries(self) -> tuple[PlacementRecorded, ...]:
        """What to record in the capacity ledger to commit the month: one entry per request
        and GP (a household's persons with one GP together), by request id then GP id, as
        :attr:`mt_access.result.MatchResult.ledger_entries`."""
        ids, physicians = self.input.request_ids, self.physician_ids
        merged: dict[tuple[str, str], int] = defaultdict(int)
        for i, j, k in zip(
            self.placed_request.tolist(),
            self.placed_physician.tolist(),
            self.placed_persons.tolist(),
            strict=True,
        ):
            merged[(str(ids[i]), physicians[j])] += k
        return tuple(
            PlacementRecorded(
                physician_id=pid, month=self.month_of, request_id=rid, persons=k, on=self.on
            )
            for (rid, pid), k in sorted(merged.items())
        )

    def level_of(self, row: int) -> str:
        """The level name of the request of ``row``."""
        return self.level_names[int(self.input.rank[row]) - 1]

    def placements(self, rows: Sequence[int] | None = None) -> tuple[Placement, ...]:
        """:class:`~mt_access.result.Placement` objects for the placement rows ``rows`` (all by
        default). The criteria are not known here (the input has the levels only)."""
        picked = range(self.placed_request.size) if rows is None else rows
        out = []
        for k in picked:
            i = int(self.placed_request[k])
            level = self.level_of(i)
            km = float(self.placed_km[k])
            physician = self.physician_ids[int(self.placed_physician[k])]
            out.append(
                Placement(
                    request_id=str(self.input.request_ids[i]),
                    physician_id=physician,
                    persons=int(self.placed_persons[k]),
                    level=level,
                    rank=int(self.input.rank[i]),
                    criteria=(),
                    distance_km=round(km, 3),
                    router="monthly_quota",
                    explanation=(
                        f"Niveau « {level} ». Attribuée à {physician} ({format_km(km)}) dans la "
                        "répartition des places du mois qui place le plus de patients, niveau "
                        "après niveau, puis réduit la distance totale."
                    ),
                )
            )
        return tuple(out)

    def waiting(self, rows: Sequence[int] | None = None) -> tuple[Waiting, ...]:
        """:class:`~mt_access.result.Waiting` objects for the waiting rows ``rows`` (all by
        default)."""
        picked = range(self.waiting_request.size) if rows is None else rows
        out = []
        for k in picked:
            i = int(self.waiting_request[k])
            out.append(
                Waiting(
                    str(self.input.request_ids[i]),
                    self.level_of(i),
                    int(self.input.rank[i]),
                    REASONS[int(self.waiting_reason[k])],
                    int(self.waiting_persons[k]),
                    self.waiting_detail.get(k, ""),
                )
            )
        return tuple(out)


def _id_rank(ids: npt.NDArray[np.str_]) -> IntArray:
    """Each id's rank in the sorted ids (one string sort for the whole run).

    Raises:
        MatchInputError: an id appears twice.
    """
    if ids.size < 2 or bool((ids[1:] > ids[:-1]).all()):  # already sorted: no sort
        return np.arange(ids.size, dtype=np.int64)
    by_id = np.argsort(ids, kind="stable")
    ordered = ids[by_id]
    twice = ordered[1:] == ordered[:-1]
    if bool(twice.any()):
        dupes = sorted({str(x) for x in ordered[1:][twice]})
        raise MatchInputError(f"identifiant(s) de demande en double : {', '.join(dupes[:10])}")
    rank = np.empty(ids.size, dtype=np.int64)
    rank[by_id] = np.arange(ids.size, dtype=np.int64)
    return rank


def _check(inp: MatchInput, policy: Policy) -> None:
    """The input's columns agree with each other and the policy supports this path."""
    n = len(inp)
    columns = {
        "request_ids": inp.request_ids.shape[:1],
        "commune": inp.commune.shape,
        "need": inp.need.shape,
        "persons": inp.persons.shape,
        "order": inp.order.shape[:1],
    }
    if inp.declined is not None:
        columns["declined"] = inp.declined.shape
    if inp.max_distance_km is not None:
        columns["max_distance_km"] = np.shape(inp.max_distance_km)
    for name, shape in columns.items():
        if shape != (n,):
            raise MatchInputError(f"MatchInput : la colonne {name} n'a pas {n} lignes")
    if inp.order.ndim != 2:
        raise MatchInputError("MatchInput : order doit être un tableau (demandes × clés)")
    if n and not (int(inp.rank.min()) >= 1 and int(inp.rank.max()) <= policy.non_priority_rank):
        raise MatchInputError(
            f"MatchInput : rang de niveau hors de 1 à {policy.non_priority_rank} attendu"
        )
    if n and not (int(inp.commune.min()) >= 0 and int(inp.commune.max()) < len(inp.communes)):
        raise MatchInputError("MatchInput : indice de commune hors de la liste des communes")
    if n and not (int(inp.need.min()) >= 0 and int(inp.need.max()) < len(NEEDS)):
        raise MatchInputError(f"MatchInput : besoin de visites hors de 0 à {len(NEEDS) - 1}")
    if n and int(inp.persons.min()) < 1:
        raise MatchInputError("MatchInput : au moins une personne par demande attendue")
    if inp.declined is not None and n:
        low, high = int(inp.declined.min()), int(inp.declined.max())
        if low < 0 or high >= len(inp.declined_sets):
            raise MatchInputError("MatchInput : indice de refus hors de declined_sets")
    levels = [(lv.name, True) for lv in policy.levels] + [(policy.non_priority_level, False)]
    for level in levels:
        router = policy.rule_for(*level).router.name
        if router != "monthly_quota":
            raise MatchInputError(
                f"match_columns : le niveau « {level[0]} » est routé par {router!r} ; seul "
                "monthly_quota est pris en charge (utiliser match)"
            )
    if any(r.conditional for r in policy.resources):
        raise MatchInputError(
            "match_columns : les ressources conditionnelles ne sont pas prises en charge "
            "(utiliser match)"
        )
    if policy.keep_households_together and n and int(inp.persons.max()) > 1:
        raise MatchInputError(
            "match_columns : les foyers gardés ensemble ne sont pas pris en charge (utiliser match)"
        )


def match_columns(
    requests: MatchInput,
    physicians: Iterable[Physician],
    policy: Policy,
    ledger: CapacityLedger | None,
    on: dt.date,
    *,
    distances: DistanceCache | None = None,
) -> ColumnarResult:
    """Route a month's requests given as columns, as :func:`mt_access.match` would route
    the same requests (same placements, same waiting requests and reasons).

    Args:
        requests: the requests in scope, classified (:class:`MatchInput`;
            :meth:`MatchInput.from_requests` builds one from ``Request`` objects).
        physicians: the GPs (order does not matter); those not available on ``on`` receive
            nobody.
        policy: the policy: every level routed by ``monthly_quota``, no conditional resource.
        ledger: the capacity ledger (read only); ``None``: empty.
        on: the reference date.
        distances: a distance cache to reuse.

    Raises:
        MatchInputError: inconsistent columns, duplicate ids, a commune without coordinates,
            or a policy this path does not cover.
    """
    _check(requests, policy)
    inp = requests
    reference = (
        distances.reference if distances is not None else policy.reference or bundled_reference()
    )
    if distances is None:
        distances = DistanceCache(reference)
    ledger = ledger if ledger is not None else CapacityLedger()
    month = Month.of(on)
    phys: list[Physician] = _unique(physicians, "médecin")
    available = [p for p in phys if p.is_available_on(on)]
    defaults = {p.id: policy.monthly_capacity_of(p) for p in phys}
    remaining = places_left(ledger, available, defaults, month, policy.carry_over)
    places_at_start = dict(zip((p.id for p in available), remaining.tolist(), strict=True))
    level_names = (*(lv.name for lv in policy.levels), policy.non_priority_level)

    n = len(inp)
    id_rank = _id_rank(inp.request_ids)
    keys = [inp.order[:, k] for k in range(inp.order.shape[1] - 1, -1, -1)]
    order = np.lexsort((id_rank, *keys, inp.rank)) if n else np.empty(0, np.int64)
    caps = _caps(inp, policy, level_names)
    segment = _run_keys(policy)
    run_of_rank = np.array(
        [-1]
        + [segment[(lv.name, True)] for lv in policy.levels]
        + [segment[(policy.non_priority_level, False)]],
        dtype=np.int64,
    )
    runs = run_of_rank[inp.rank[order]]
    bounds = np.flatnonzero(np.diff(runs)) + 1 if n else np.empty(0, np.int64)
    eligibility = _Eligibility(available, policy, distances, inp)
    placed: list[tuple[IntArray, IntArray, IntArray, FloatArray]] = []
    waits: list[tuple[IntArray, IntArray, IntArray]] = []
    detail: dict[int, str] = {}  # request row -> detail
    for rows in np.split(order, bounds) if n else []:
        run = route_rows(rows, inp, caps, remaining, eligibility)
        remaining = run.left
        placed.append((rows[run.placed_k], run.placed_gp, run.placed_persons, run.placed_km))
        waits.append((rows[run.waiting_k], run.waiting_reason, run.waiting_persons))
        for k in run.waiting_k[run.waiting_reason == _BEYOND].tolist():
            limit = float(run.cap[run.item_cell[k]])
            detail[int(rows[k])] = f"distance maximale {format_km(limit)}"

    p_req, p_phys, p_persons = (
        [np.concatenate([got[c] for got in placed]) for c in range(3)]
        if placed
        else [np.empty(0, np.int64)] * 3
    )
    p_km: FloatArray = (
        np.concatenate([got[3] for got in placed]) if placed else np.empty(0, np.float64)
    )
    w_req, w_reason, w_persons = (
        [np.concatenate(col) for col in zip(*waits, strict=True)]
        if waits
        else [np.empty(0, np.int64)] * 3
    )
    # available is sorted by id: its index orders the GPs as their ids
    physician_ids = tuple(p.id for p in available)
    by = np.lexsort((p_phys, id_rank[p_req])) if p_req.size else np.empty(0, np.int64)
    p_req, p_phys, p_persons, p_km = p_req[by], p_phys[by], p_persons[by], p_km[by]
    wby = np.argsort(id_rank[w_req], kind="stable") if w_req.size else np.empty(0, np.int64)
    w_req, w_reason, w_persons = w_req[wby], w_reason[wby], w_persons[wby]
    row_detail: dict[int, str] = {}
    if detail:
        row_detail = {k: detail[i] for k, i in enumerate(w_req.tolist()) if i in detail}
    return ColumnarResult(
        input=inp,
        on=on,
        month=str(month),
        policy_code=policy.code,
        level_names=level_names,
        physician_ids=physician_ids,
        placed_request=p_req,
        placed_physician=p_phys,
        placed_persons=p_persons,
        placed_km=p_km,
        waiting_request=w_req,
        waiting_reason=w_reason,
        waiting_persons=w_persons,
        waiting_detail=row_detail,
        month_of=month,
        places_at_start=tuple((p.id, places_at_start.get(p.id, 0)) for p in phys),
    )


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


def _caps(inp: RoutingColumns, policy: Policy, level_names: Sequence[str]) -> FloatArray:
    """Each request's maximum distance (NaN: none): the input's, else its level's rule's."""
    given = getattr(inp, "max_distance_km", None)
    if given is not None:
        return np.asarray(given, dtype=np.float64)
    per_rank = [np.nan]
    for k, name in enumerate(level_names):
        rule = policy.rule_for(name, k < len(policy.levels))
        per_rank.append(np.nan if rule.max_distance_km is None else rule.max_distance_km)
    return np.asarray(per_rank, dtype=np.float64)[inp.rank]


class _Eligibility:
    """The eligible GPs of the cells (commune, need, refusals, maximum distance) of the input,
    as :func:`mt_access.routing.build_cells` finds them: the GPs accepting the commune,
    serving the need, who have not declined, within the distance; nearest first, ties by id.
    Everything with whole-array steps, no Python work per cell or per request:

    * the GPs accepting each commune of the input (pairs sorted by commune, then GP: the
      GPs are sorted by id, so their index is their id's rank);
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
        codes = np.array([c for a in accepted for c in a], dtype=str)
        owner = np.repeat(np.arange(n_gp, dtype=np.int64), [len(a) for a in accepted])
        known = np.asarray(inp.communes, dtype=str)
        by_code = np.argsort(known, kind="stable")
        at = np.searchsorted(known[by_code], codes) if known.size else np.zeros(0, np.int64)
        at = np.minimum(at, max(known.size - 1, 0))
        hit = known[by_code[at]] == codes if known.size else np.zeros(0, dtype=bool)
        commune, owner = by_code[at[hit]], owner[hit]
        # only the communes with requests
        wanted = np.zeros(len(inp.communes), dtype=bool)
        wanted[inp.commune] = True
        keep = wanted[commune]
        commune, owner = commune[keep], owner[keep]
        order = np.lexsort((owner, commune))
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
        km = geodesic_km_many(o_lat[commune], o_lon[commune], lat[owner], lon[owner])
        same = (~own[owner]) & (np.array(phys_code, dtype=object)[owner] == o_code[commune])
        self.km = np.where(same, 0.0, km)
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
        cell, gp, km = cell[keep], gp[keep], km[keep]
        order = np.lexsort((gp, km, cell))
        bounds = np.zeros(n_cells + 1, dtype=np.int64)
        np.cumsum(np.bincount(cell, minlength=n_cells), out=bounds[1:])
        return flow.Ragged(gp[order], bounds), flow.Ragged(km[order], bounds), beyond


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
    eligibility: _Eligibility,
) -> RunOutcome:
    """``monthly_quota`` on the requests ``rows`` (in priority order): who is placed, then
    with whom (:mod:`mt_access.flow`), then which places each placed request takes
    (:func:`mt_access.flow.take_slots`). ``remaining`` is not changed."""
    declined = inp.declined[rows] if inp.declined is not None else np.zeros(rows.size, np.int64)
    cap = caps[rows]
    cap_codes, cap_index = np.unique(np.nan_to_num(cap, nan=-1.0), return_inverse=True)
    key = (inp.commune[rows] * len(NEEDS) + inp.need[rows]) * len(inp.declined_sets)
    key = (key + declined) * cap_codes.size + cap_index.reshape(-1)
    # cells numbered in order of first appearance (the run's priority order), as build_cells
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    by_first = np.argsort(first, kind="stable")
    number = np.empty(by_first.size, dtype=np.int64)
    number[by_first] = np.arange(by_first.size, dtype=np.int64)
    item_cell = number[inverse.reshape(-1)]
    head = first[by_first]  # the first row of each cell, cells in order
    cell_cap = cap[head]
    candidates, km, beyond = eligibility.cells(
        inp.commune[rows[head]], inp.need[rows[head]], declined[head], cell_cap
    )
    persons = inp.persons[rows]
    chosen = flow.select_by_priority(remaining, candidates, item_cell, persons, inp.rank[rows])
    supply = np.bincount(item_cell, weights=chosen, minlength=len(candidates)).astype(np.int64)
    assigned = flow.assign_nearest_flat(remaining, candidates, km, supply)
    left = remaining.copy()
    np.subtract.at(left, assigned[1], assigned[2])
    placed = _take(item_cell, chosen, assigned)
    waiting = np.flatnonzero(persons > chosen)
    size = candidates.sizes()
    reason_of_cell = np.where(size > 0, _CAPACITY, np.where(beyond > 0, _BEYOND, _NO_GP))
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
    order = np.argsort(k_all, kind="stable")  # priority order; a request's slots as taken
    return (
        k_all[order],
        np.concatenate(p_gp)[order],
        np.concatenate(p_persons)[order],
        np.concatenate(p_km)[order],
    )


# --------------------------------------------------------------------------------------------
# The columnar path of mt_access.match: its Request objects as columns


class RequestColumns:
    """The requests in scope of a :func:`mt_access.match` run as columns (row ``i``: the
    ``i``-th request in scope), built once per run with one pass per attribute, for the runs
    :func:`route_requests` routes: the same columns as :class:`MatchInput` (commune,
    communes, need, persons, refusals, level rank), each request's level's maximum distance,
    and whether a request has coordinates of its own."""

    def __init__(
        self, requests: Sequence[Request], classes: Sequence[Classification], policy: Policy
    ) -> None:
        n = len(requests)
        commune_of: dict[str, int] = {}
        self.commune: IntArray = np.fromiter(
            (commune_of.setdefault(r.patient.commune, len(commune_of)) for r in requests),
            np.int64,
            n,
        )
        self.communes = tuple(commune_of)
        need_index = {need: k for k, need in enumerate(NEEDS)}
        self.need: IntArray = np.fromiter(
            (need_index[r.home_visits] for r in requests), np.int64, n
        )
        self.persons: IntArray = np.fromiter(
            (r.household.adults + r.household.children for r in requests), np.int64, n
        )
        sets: dict[frozenset[str], int] = {frozenset(): 0}
        self.declined: IntArray | None = np.fromiter(
            (sets.setdefault(r.declined_by, len(sets)) for r in requests), np.int64, n
        )
        self.declined_sets = tuple(sets)
        self.rank: IntArray = np.fromiter((c.rank for c in classes), np.int64, n)
        self.located = np.fromiter((r.patient.location is not None for r in requests), bool, n)
        level_names = (*(lv.name for lv in policy.levels), policy.non_priority_level)
        self.caps = _caps(self, policy, level_names)


def columnar_runs_allowed(policy: Policy, classes: Sequence[Classification]) -> bool:
    """Whether :func:`mt_access.match` may route the ``monthly_quota`` runs of ``policy`` on
    the columnar path: every level is one of the policy's with the policy's rank (a plugin
    may classify otherwise: then every run takes the objects' path), and at least one level
    is routed by the built-in ``monthly_quota`` router (a plugin's router of the same name
    takes the objects' path)."""
    expected = {(lv.name, True): k + 1 for k, lv in enumerate(policy.levels)}
    expected[(policy.non_priority_level, False)] = policy.non_priority_rank
    for c in {id(c): c for c in classes}.values():
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
    """What :func:`route_requests` gives :func:`mt_access.match` for one run."""

    placements: list[Placement]
    waiting: list[Waiting]
    outcome: RunOutcome

    def cell_candidates(self) -> list[IntArray]:
        """The eligible physicians of each cell of the run (views, no copy)."""
        bounds = self.outcome.candidates.bounds.tolist()
        values = self.outcome.candidates.values
        return [values[a:b] for a, b in itertools.pairwise(bounds)]


def route_requests(
    columns: RequestColumns,
    eligibility: _Eligibility,
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
    (:func:`mt_access.routing.quota_placements`), for the placed requests only,
    :class:`~mt_access.result.Waiting` objects for the others."""
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
    placed_rows = rows[ks].tolist()
    small = attrs.evolve(
        task,
        requests=tuple(requests[i] for i in placed_rows),
        classifications=tuple(classes[i] for i in placed_rows),
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
    # the waiting requests, their reasons and details worked out once per cell
    cell_of_wait = run.item_cell[run.waiting_k]
    beyond = run.waiting_reason == _BEYOND
    detail = {
        int(c): f"distance maximale {format_km(float(run.cap[c]))}"
        for c in np.unique(cell_of_wait[beyond]).tolist()
    }
    texts = [
        detail[c] if b else "" for c, b in zip(cell_of_wait.tolist(), beyond.tolist(), strict=True)
    ]
    waiting = [
        Waiting(requests[i].id, cl.level, cl.rank, REASONS[reason], n, text)
        for i, cl, reason, n, text in zip(
            rows[run.waiting_k].tolist(),
            map(classes.__getitem__, rows[run.waiting_k].tolist()),
            run.waiting_reason.tolist(),
            run.waiting_persons.tolist(),
            texts,
            strict=True,
        )
    ]
    return RoutedRun(placements, waiting, run)
