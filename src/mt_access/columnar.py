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
through the same steps (:class:`~mt_access.columnar_routing.RequestColumns`,
:func:`~mt_access.columnar_routing.route_requests`): its requests in
scope become columns once, and objects are built only for its result (a
:class:`~mt_access.result.Placement` per placed request, with the router's explanation; the
requests left stay columns whose :class:`~mt_access.result.Waiting` objects are built when
read, :class:`~mt_access.result.LazySequence`). Runs of other routers, with a household
kept together or a home with coordinates of its own keep the objects' path.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence

import attrs
import numpy as np
import numpy.typing as npt
import pluggy

from mt_access.calendar import Month
from mt_access.columnar_routing import (
    BEYOND,
    NEEDS,
    REASONS,
    CellEligibility,
    FloatArray,
    IntArray,
    as_ints,
    level_caps,
    places_left,
    route_rows,
)
from mt_access.engine import _run_keys, _unique, rank_requests
from mt_access.errors import MatchInputError
from mt_access.geo.communes import bundled_reference
from mt_access.geo.distance import DistanceCache
from mt_access.hooks import plugin_manager as _plugin_manager
from mt_access.ledger import CapacityLedger, PlacementRecorded
from mt_access.model import Physician, Request
from mt_access.policy import Policy
from mt_access.result import (
    Placement,
    Rejected,
    Waiting,
    format_km,
)
from mt_access.sorting import lex_order, stable_argsort

__all__ = ["REASONS", "ColumnarResult", "MatchInput", "match_columns"]


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
    rank: IntArray = attrs.field(converter=as_ints)
    order: IntArray = attrs.field(converter=as_ints)
    commune: IntArray = attrs.field(converter=as_ints)
    communes: tuple[str, ...]
    need: IntArray = attrs.field(converter=as_ints)
    persons: IntArray = attrs.field(converter=as_ints)
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
    order = lex_order((id_rank, *keys, inp.rank)) if n else np.empty(0, np.int64)
    caps = level_caps(inp, policy, level_names)
    segment = _run_keys(policy)
    run_of_rank = np.array(
        [-1]
        + [segment[(lv.name, True)] for lv in policy.levels]
        + [segment[(policy.non_priority_level, False)]],
        dtype=np.int64,
    )
    runs = run_of_rank[inp.rank[order]]
    bounds = np.flatnonzero(np.diff(runs)) + 1 if n else np.empty(0, np.int64)
    eligibility = CellEligibility(available, policy, distances, inp)
    placed: list[tuple[IntArray, IntArray, IntArray, FloatArray]] = []
    waits: list[tuple[IntArray, IntArray, IntArray]] = []
    detail: dict[int, str] = {}  # request row -> detail
    for rows in np.split(order, bounds) if n else []:
        run = route_rows(rows, inp, caps, remaining, eligibility)
        remaining = run.left
        placed.append((rows[run.placed_k], run.placed_gp, run.placed_persons, run.placed_km))
        waits.append((rows[run.waiting_k], run.waiting_reason, run.waiting_persons))
        for k in run.waiting_k[run.waiting_reason == BEYOND].tolist():
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
    wby = stable_argsort(id_rank[w_req], n) if w_req.size else np.empty(0, np.int64)
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
