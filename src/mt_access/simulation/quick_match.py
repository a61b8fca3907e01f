"""The matching run of a comparison's replication, without the objects it never reads.

A comparison (:func:`~mt_access.simulation.compare`) keeps only indicators: of a month's
:class:`~mt_access.MatchResult` the simulation reads the placements (request, GP, persons,
distance), the level of each request routed, the requests rejected, and records the
placements in the ledger. :func:`mt_access.match` also builds, for every placement, a
:class:`~mt_access.result.Placement` with its French explanation (the nearer GPs without a
place...), a :class:`~mt_access.result.Waiting` per request left, the cells' objects and the
result's indexes: about a third of a replication's engine time, for nothing a comparison
shows.

:class:`QuickMatcher` runs the very steps :func:`mt_access.match` runs for the built-in
``monthly_quota`` router on its columnar path (the decision hooks' scope, classification
and order: :func:`mt_access.engine.rank_requests`; the runs cut along the policy's levels;
:class:`~mt_access.columnar_routing.RequestColumns`,
:class:`~mt_access.columnar_routing.CellEligibility` and
:func:`~mt_access.columnar_routing.route_rows` for each run) and returns only what the
simulation reads (:class:`QuickResult`). When a run would leave that path (another router,
a conditional resource, a household kept together, a plugin's own level, a commune without a
point), it returns ``None`` and the simulation calls :func:`mt_access.match`. A test
(``tests/test_simulation_quick.py``) checks that both give the same runs.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Sequence
from typing import NamedTuple

import attrs
import numpy as np
import pluggy

from mt_access.calendar import Month
from mt_access.columnar_routing import (
    CellEligibility,
    IntArray,
    RequestColumns,
    columnar_rows,
    columnar_runs_allowed,
    is_builtin_quota,
    route_rows,
)
from mt_access.engine import rank_requests, run_keys
from mt_access.errors import MatchInputError, ReferenceDataError
from mt_access.geo.distance import DistanceCache
from mt_access.ledger import CapacityLedger, PlacementRecorded
from mt_access.model import Physician, Request
from mt_access.policy import Policy
from mt_access.result import Rejected

__all__ = ["QuickMatcher", "QuickPlacement", "QuickResult", "QuickRouted", "quick_policy"]


class QuickPlacement(NamedTuple):
    """A place taken (what the simulation reads of a :class:`~mt_access.result.Placement`)."""

    request_id: str
    physician_id: str
    persons: int
    distance_km: float
    level: str
    rank: int


class QuickRouted(NamedTuple):
    """A request routed (placed or waiting, in part or whole) and its level."""

    request_id: str
    level: str
    rank: int


class QuickResult(NamedTuple):
    """What the simulation reads of a :class:`~mt_access.MatchResult`, with the same names:
    ``placements`` sorted by request id then GP id, ``waiting`` (here: every request
    routed, with its level), ``rejected`` by request id, and the ledger entries."""

    placements: list[QuickPlacement]
    waiting: list[QuickRouted]
    rejected: list[Rejected]
    ledger_entries: tuple[PlacementRecorded, ...]
    capacity_defaults: dict[str, int]
    carry_over: bool
    orientations: tuple[()] = ()
    pull_lists: tuple[()] = ()
    attached_resources: tuple[()] = ()

    def record(self, ledger: CapacityLedger) -> None:
        """:meth:`mt_access.MatchResult.record`, without checking the capacities again: the
        run worked them out from this very ledger (``extend_trusted`` commits the same
        entries the same way; it still refuses a second active placement)."""
        ledger.extend_trusted(self.ledger_entries)


def quick_policy(policy: Policy) -> bool:
    """Whether :class:`QuickMatcher` may route runs of ``policy`` at all: every level routed
    by the built-in ``monthly_quota``, no conditional resource."""
    if any(r.conditional for r in policy.resources):
        return False
    levels = [(lv.name, True) for lv in policy.levels]
    levels.append((policy.non_priority_level, False))
    return all(is_builtin_quota(policy.rule_for(*level).router) for level in levels)


class QuickMatcher:
    """:func:`mt_access.match` (with ``explain="none"``) for the months of one replication,
    for a policy :func:`quick_policy` accepts, as a :class:`QuickResult`.

    What does not change from month to month is kept: the communes of the requests are
    numbered once (their columns index the same commune list every month), and the GPs
    accepting each commune, with their distances
    (:class:`~mt_access.columnar_routing.CellEligibility`), are worked out for every GP of the
    replication, available or not, and again only when a GP's commune, coordinates, accepted
    communes or modalities change, or a new commune or GP appears; each month takes the
    available GPs' part of it (:func:`_available_part`: the same arrays as a
    ``CellEligibility`` of the available GPs alone).
    """

    def __init__(
        self,
        policy: Policy,
        distances: DistanceCache,
        pm: pluggy.PluginManager,
        communes: Sequence[str] = (),
    ) -> None:
        """``communes``: those the requests will come from (the territory's), numbered at
        once so that the eligibility is worked out once (a commune not among them is added
        when a request comes from it)."""
        self.policy = policy
        self.distances = distances
        self.pm = pm
        self.codes: dict[str, int] = {}  # commune -> its index in every month's columns
        self.key: tuple[object, ...] | None = None
        self.base: CellEligibility | None = None
        self.union: dict[str, int] = {}  # GP id -> its index in ``base``
        self._add(communes)

    def __call__(
        self,
        requests: Sequence[Request],
        physicians: Sequence[Physician],
        ledger: CapacityLedger,
        on: dt.date,
    ) -> QuickResult | None:
        """The month's run on ``on``; ``None`` when a run would leave the columnar path
        (then call :func:`mt_access.match`). ``requests`` and ``physicians`` have unique
        ids (the simulation's)."""
        policy = self.policy
        month = Month.of(on)
        reqs = sorted(requests, key=_id)
        phys = sorted(physicians, key=_id)
        ranked = rank_requests(reqs, policy, on, self.pm)
        rejected = [
            Rejected(request.id, decision.reason, decision.detail)
            for request, decision in zip(reqs, ranked.decisions, strict=True)
            if not decision.in_scope and decision.reason is not None
        ]
        in_scope, classes = ranked.in_scope, ranked.classes
        carry = policy.carry_over
        defaults = {p.id: policy.monthly_capacity_of(p) for p in phys}
        result = QuickResult([], [], rejected, (), defaults, carry)
        if not in_scope:
            return result
        if not columnar_runs_allowed(policy, classes):
            return None
        columns = RequestColumns(in_scope, classes, policy)
        if not self._number(columns):
            return None
        order = np.asarray(ranked.order, dtype=np.int64)
        runs = _runs(policy, columns.rank, order)
        keep_together = policy.keep_households_together
        if not all(columnar_rows(columns, rows, keep_together) for rows in runs):
            return None
        available = [p for p in phys if p.is_available_on(on)]
        eligibility = self._eligibility(phys, available, columns.declined_sets)
        if eligibility is None:
            return None
        remaining = np.array(
            [
                ledger.remaining(p.id, month, default=defaults[p.id], carry_over=carry)
                for p in available
            ],
            dtype=np.int64,
        )
        taken: dict[tuple[str, str], list[float]] = {}
        for rows in runs:
            run = route_rows(rows, columns, columns.caps, remaining, eligibility)
            remaining = run.left
            for i, j, n, km in zip(
                rows[run.placed_k].tolist(),
                run.placed_gp.tolist(),
                run.placed_persons.tolist(),
                run.placed_km.tolist(),
                strict=True,
            ):
                key = (in_scope[i].id, available[j].id)
                got = taken.get(key)
                if got is None:
                    taken[key] = [n, km]
                else:  # a request takes at most one slot per GP; merged as match merges
                    got[0] += n
        level_of = {r.id: c for r, c in zip(in_scope, classes, strict=True)}
        placements = result.placements
        entries = []
        for (rid, pid), (n, km) in sorted(taken.items()):
            c = level_of[rid]
            placements.append(QuickPlacement(rid, pid, int(n), round(km, 3), c.level, c.rank))
            entries.append(_placement_recorded(pid, month, rid, int(n), on))
        result.waiting.extend(QuickRouted(rid, c.level, c.rank) for rid, c in level_of.items())
        return result._replace(ledger_entries=tuple(entries))

    def _number(self, columns: RequestColumns) -> bool:
        """Renumber ``columns``' communes into the replication's commune list (a new commune
        is checked to have a point: ``False`` otherwise, as the engine's columnar path)."""
        codes = self.codes
        if not self._add(columns.communes):
            return False
        remap = np.array([codes[c] for c in columns.communes], dtype=np.int64)
        columns.commune = remap[columns.commune]
        columns.communes = tuple(codes)
        return True

    def _add(self, communes: Sequence[str]) -> bool:
        """Number the communes not numbered yet; ``False`` if one has no point (it is not
        numbered: a request from it makes the month call :func:`mt_access.match`)."""
        codes = self.codes
        every = True
        for code in communes:
            if code not in codes:
                try:
                    self.distances.reference.point(code)
                except ReferenceDataError:
                    every = False
                    continue
                codes[code] = len(codes)
        return every

    def _eligibility(
        self,
        physicians: Sequence[Physician],
        available: Sequence[Physician],
        declined_sets: Sequence[frozenset[str]],
    ) -> CellEligibility | None:
        """The month's :class:`~mt_access.columnar_routing.CellEligibility` (``None``: a GP's
        commune has no point; the engine then says which)."""
        communes = tuple(self.codes)
        key = (
            communes,
            *((p.id, p.commune, p.location, p.accepted_communes, p.modalities) for p in physicians),
        )
        if key != self.key or self.base is None:
            found = _BASES.get((id(self.policy), id(self.distances)))
            if found is not None and found[0] is self.policy and found[1] is self.distances:
                self.base, self.union = found[2].get(key, (None, {}))
            if self.base is None:
                try:
                    self.base = CellEligibility(
                        physicians, self.policy, self.distances, _AllCommunes(communes)
                    )
                except (ReferenceDataError, MatchInputError):
                    self.key = self.base = None
                    return None
                self.union = {p.id: j for j, p in enumerate(physicians)}
                _remember(self.policy, self.distances, key, self.base, self.union)
            self.key = key
        return _available_part(
            self.base, [self.union[p.id] for p in available], available, declined_sets
        )


Bases = dict[tuple[object, ...], tuple[CellEligibility, dict[str, int]]]
_BASES: dict[tuple[int, int], tuple[Policy, DistanceCache, Bases]] = {}
"""The eligibility of every GP (:meth:`QuickMatcher._eligibility`) by policy and distance
cache (the objects kept, to check that an id is still theirs), then by GPs and communes:
the replications of a comparison start from the same GPs, worked out once per process."""

_BASES_MAX = 4
"""How many eligibilities :data:`_BASES` keeps per policy (forgets them all beyond)."""


def _remember(
    policy: Policy,
    distances: DistanceCache,
    key: tuple[object, ...],
    base: CellEligibility,
    union: dict[str, int],
) -> None:
    slot = (id(policy), id(distances))
    found = _BASES.get(slot)
    if found is None or found[0] is not policy or found[1] is not distances:
        if len(_BASES) >= 4:
            _BASES.clear()
        found = _BASES[slot] = (policy, distances, {})
    bases = found[2]
    if len(bases) >= _BASES_MAX:
        bases.clear()
    bases[key] = (base, union)


class _AllCommunes:
    """Every commune of the replication's list, as the input of a
    :class:`~mt_access.columnar_routing.CellEligibility` (which reads the communes and the
    refusals; no request, no refusal)."""

    def __init__(self, communes: tuple[str, ...]) -> None:
        self.communes = communes
        self.commune: IntArray = np.arange(len(communes), dtype=np.int64)
        self.need: IntArray = np.zeros(len(communes), dtype=np.int64)
        self.persons: IntArray = np.ones(len(communes), dtype=np.int64)
        self.rank: IntArray = np.ones(len(communes), dtype=np.int64)
        self.declined: IntArray | None = None
        self.declined_sets: tuple[frozenset[str], ...] = (frozenset(),)


def _available_part(
    base: CellEligibility,
    among: list[int],
    available: Sequence[Physician],
    declined_sets: Sequence[frozenset[str]],
) -> CellEligibility:
    """``base`` (every GP of the replication, by id) restricted to the GPs ``among`` (their
    indexes in ``base``, in id order: ``available``), with the refusals ``declined_sets``:
    the arrays a ``CellEligibility(available, ...)`` of the same communes has (the pairs
    (commune, GP) by commune then GP, the GPs' indexes among the available ones)."""
    n_gp = len(available)
    to_available = np.full(base.n_gp, -1, dtype=np.int64)
    to_available[np.asarray(among, dtype=np.int64)] = np.arange(n_gp, dtype=np.int64)
    n_communes = base.bounds.size - 1
    gp = to_available[base.gp]
    keep = gp >= 0
    pair_commune = np.repeat(np.arange(n_communes, dtype=np.int64), np.diff(base.bounds))
    part: CellEligibility = object.__new__(CellEligibility)
    part.index = {p.id: j for j, p in enumerate(available)}
    part.gp = gp[keep]
    part.km = base.km[keep]
    part.bounds = np.zeros(n_communes + 1, dtype=np.int64)
    np.cumsum(np.bincount(pair_commune[keep], minlength=n_communes), out=part.bounds[1:])
    part.serves = base.serves[:, np.asarray(among, dtype=np.int64)]
    refused = [
        k * n_gp + part.index[pid]
        for k, ids in enumerate(declined_sets)
        for pid in ids
        if pid in part.index
    ]
    part.refused = np.unique(np.array(refused, dtype=np.int64))
    part.n_gp = n_gp
    return part


_ENTRY_FIELDS = ("physician_id", "month", "request_id", "persons", "on")
_UNCHECKED_ENTRIES = (
    tuple(f.name for f in attrs.fields(PlacementRecorded)) == _ENTRY_FIELDS
    and "__slots__" in PlacementRecorded.__dict__
)


def _placement_recorded(
    physician_id: str, month: Month, request_id: str, persons: int, on: dt.date
) -> PlacementRecorded:
    """``PlacementRecorded(physician_id, month, request_id, persons, on)``, its fields set
    without the constructor's checks (a run's values are of the checked types: ids of the
    simulation, persons ``>= 1``); the checked constructor if its fields changed. A
    replication records a thousand of them; the test compares them with the engine's."""
    if not _UNCHECKED_ENTRIES:
        return PlacementRecorded(physician_id, month, request_id, persons, on)
    put = object.__setattr__
    entry = object.__new__(PlacementRecorded)
    put(entry, "physician_id", physician_id)
    put(entry, "month", month)
    put(entry, "request_id", request_id)
    put(entry, "persons", persons)
    put(entry, "on", on)
    return entry


def _id(item: Request | Physician) -> str:
    return item.id


def _runs(policy: Policy, rank: np.ndarray, order: np.ndarray) -> list[np.ndarray]:
    """The rows of the requests in scope, in priority order, cut into the runs of the
    policy's levels (:func:`mt_access.engine.run_keys`), as :func:`mt_access.match` cuts
    them."""
    segment = run_keys(policy)
    levels = [(lv.name, True) for lv in policy.levels]
    levels.append((policy.non_priority_level, False))
    by_rank = np.array([-1, *(segment[level] for level in levels)], dtype=np.int64)
    runs = by_rank[rank[order]]
    cuts = [0, *(np.flatnonzero(np.diff(runs)) + 1).tolist(), order.size]
    return [order[a:b] for a, b in itertools.pairwise(cuts) if a < b]
