"""The matching engine: a pure function of (requests, physicians, policy, ledger, date)."""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import operator
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Literal, NamedTuple, get_args

import attrs
import numpy as np
import numpy.typing as npt
import pluggy

from mt_access import columnar_routing
from mt_access.calendar import Month
from mt_access.collector import collector_paused
from mt_access.columns import Coded, RequestTable
from mt_access.engine_rows import CellsSeen, ColumnarPath, Member, Run, WaitingParts, rows_of
from mt_access.errors import MatchInputError, PluginError
from mt_access.geo.communes import CommuneReference, bundled_reference
from mt_access.geo.distance import DistanceCache
from mt_access.hooks import Hooks, checked_call, plugin_manager
from mt_access.ledger import CapacityLedger, PlacementRecorded
from mt_access.model import Physician, Request
from mt_access.policy import Policy, RoutingRule
from mt_access.resources import ResourceContact, ResourceDecision, decide
from mt_access.result import (
    AttachedResource,
    Classification,
    MatchResult,
    Orientation,
    Placement,
    PullList,
    ReasonCode,
    Rejected,
    ScopeDecision,
    Waiting,
)
from mt_access.routing import RouterOutput, RoutingTask, build_cells

__all__ = ["EXPLAIN_FULL_MAX_REQUESTS", "GC_PAUSE_MIN_REQUESTS", "Explain", "match"]

Explain = Literal["auto", "full", "counts", "none"]
"""What :func:`match` puts in the eligible sets of its result (its ``explain`` argument)."""

EXPLAIN_FULL_MAX_REQUESTS = 5_000
"""With ``explain="auto"`` (the default), :func:`match` lists the eligible physicians of each
waiting request and placement (``"full"``) up to this many requests in scope, and only counts
them (``"counts"``) beyond: a département's month keeps its time and memory."""


_by_id = operator.attrgetter("id")
_by_request = operator.attrgetter("request_id")
_by_request_physician = operator.attrgetter("request_id", "physician_id")


def _unique(items: Iterable[Any], what: str) -> list[Any]:
    return list(_sorted_by_id(items, what)[0])


def _sorted_by_id(items: Iterable[Any], what: str) -> tuple[Sequence[Any], list[str]]:
    """``items`` sorted by id, and their ids (checked unique); items already sorted are
    only checked (their ids strictly increase), not sorted again (a tuple is then given
    back as it is: a France-sized month's requests are held once, not copied).

    Raises:
        MatchInputError: an id appears twice.
    """
    ordered: Sequence[Any] = items if isinstance(items, tuple) else list(items)
    ids = list(map(_by_id, ordered))
    if all(map(operator.lt, ids, itertools.islice(ids, 1, None))):  # sorted, each id once
        return ordered, ids
    ordered = sorted(ordered, key=_by_id)
    ids = list(map(_by_id, ordered))
    if len(set(ids)) != len(ids):
        dupes = sorted(k for k, n in Counter(ids).items() if n > 1)
        raise MatchInputError(f"identifiant(s) de {what} en double : {', '.join(dupes[:10])}")
    return ordered, ids


def policy_plugin_manager(
    policy: Policy, given: pluggy.PluginManager | None = None
) -> pluggy.PluginManager:
    """The plugin manager for the decision hooks (:func:`mt_access.hooks.plugin_manager`):
    ``given``, else the policy's, else a fresh one with the installed plugins."""
    return plugin_manager(policy, given)


class RankedRequests(NamedTuple):
    """The decision hooks' answers for some requests, as a match run sees them.

    Attributes:
        decisions: the scope decision of each request, in the given order.
        in_scope: the requests in scope, in the given order.
        classes: the classification of each request of ``in_scope``.
        keys: the order key of each request of ``in_scope``.
        order: indexes into ``in_scope``, in priority order (level, then key, then id).
    """

    decisions: list[ScopeDecision]
    in_scope: list[Request]
    classes: list[Classification]
    keys: list[tuple[Any, ...]]
    order: list[int]


class RankedColumns(NamedTuple):
    """The decision hooks' answers for the requests of a table, as columns
    (:func:`rank_columns`): what :func:`match` reads, without an object per request.

    Attributes:
        decisions: the scope decision of each request of the table.
        in_scope: the rows of the requests in scope, in the table's order.
        scope: the table of the requests in scope (the same table when all are).
        classes: the classification of each request of ``scope``.
        order: indexes into ``scope``, in priority order (level, then key, then id).
        keys: gives the order key of each request of ``scope`` (tuples, built when asked).
    """

    decisions: Coded[ScopeDecision]
    in_scope: npt.NDArray[np.int64]
    scope: RequestTable
    classes: Coded[Classification]
    order: npt.NDArray[np.int64]
    keys: Callable[[], list[tuple[Any, ...]]]


def rank_columns(
    table: RequestTable, policy: Policy, on: dt.date, pm: pluggy.PluginManager
) -> RankedColumns:
    """Scope, classify and order the requests of ``table`` on ``on`` with the decision hooks
    (each plugin in the column form of a hook when it implements it:
    :meth:`mt_access.hooks.Hooks.scope_columns`...).

    Raises:
        PluginError: a hook's answer has the wrong type or length (naming the plugin).
    """
    hooks = Hooks(pm)
    decisions = hooks.scope_columns(table, policy, on)
    accepted = np.array([d.in_scope for d in decisions.values], dtype=bool)
    in_scope = np.flatnonzero(accepted[decisions.codes]) if len(table) else _NO_ROWS
    scope = table if in_scope.size == len(table) else table.take(in_scope)
    classes = hooks.classify_columns(scope, policy, on)
    order, keys = hooks.order_columns(scope, classes, policy, on)
    return RankedColumns(decisions, in_scope, scope, classes, order, keys)


_NO_ROWS = np.empty(0, dtype=np.int64)


def rank_requests(
    requests: Sequence[Request], policy: Policy, on: dt.date, pm: pluggy.PluginManager
) -> RankedRequests:
    """Scope, classify and order ``requests`` on ``on`` with the decision hooks, exactly as
    :func:`match` does before routing (also used for a patient's waiting position):
    :func:`rank_columns`, one answer per request.

    Raises:
        PluginError: a hook's answer has the wrong type or length (naming the plugin).
    """
    ranked = rank_columns(RequestTable(list(requests)), policy, on, pm)
    return RankedRequests(
        ranked.decisions.tolist(),
        list(ranked.scope.requests),
        ranked.classes.tolist(),
        ranked.keys(),
        ranked.order.tolist(),
    )


def match(
    requests: Iterable[Request],
    physicians: Iterable[Physician],
    policy: Policy,
    ledger: CapacityLedger | None,
    on: dt.date,
    *,
    distances: DistanceCache | None = None,
    plugin_manager: pluggy.PluginManager | None = None,
    resource_contacts: Mapping[str, Mapping[str, ResourceContact]] | None = None,
    explain: Explain = "auto",
) -> MatchResult:
    """Route a month's requests according to ``policy``.

    Args:
        requests: requests to route (waiting ones; order does not matter).
        physicians: physicians of the scheme (order does not matter); those suspended,
            withdrawn or not accepting new patients on ``on`` receive nothing.
        policy: the CPTS's policy (:func:`mt_access.load_policy`).
        ledger: the capacity ledger; it is read, never changed. ``None`` means empty.
        on: the reference date: ages, statuses and the capacity month are taken on it.
        distances: a distance cache to reuse across runs (one is made otherwise).
        plugin_manager: for the decision hooks; defaults to the policy's.
        resource_contacts: for each request id, what the register recorded about the
            policy's resources (:func:`mt_access.resources.resource_contacts`: when each was
            first involved and answered); a ``before`` resource without an answer holds its
            request out of routing until its answer or its ``wait_days``. Missing: nothing
            recorded (a ``before`` resource is then involved on ``on``).
        explain: the physicians eligible for each request placed or waiting, as the routers
            saw them, in the result's :attr:`~mt_access.result.MatchResult.eligibility`
            (:meth:`~mt_access.result.MatchResult.eligible`,
            :meth:`~mt_access.result.MatchResult.eligible_count`): ``"full"`` their ids and
            number, ``"counts"`` their number only, ``"none"`` nothing; ``"auto"``:
            ``"full"`` up to :data:`EXPLAIN_FULL_MAX_REQUESTS` requests in scope, else
            ``"counts"``. The places each physician had at the start
            (:attr:`~mt_access.result.MatchResult.places_at_start`) are always given.

    From :data:`GC_PAUSE_MIN_REQUESTS` requests on, Python's cyclic garbage collector is
    paused while ``match`` runs (for the whole process) and restored after.

    Returns:
        A :class:`MatchResult`. Record its ``ledger_entries`` in the ledger to commit it.

    Raises:
        MatchInputError: duplicate ids, a commune without coordinates, or an unknown
            ``explain``.
        PluginError: a plugin answered a hook or routed requests inconsistently.
    """
    if explain not in get_args(Explain):
        known = ", ".join(get_args(Explain))
        raise MatchInputError(f"valeur de explain inconnue : {explain!r} (valeurs : {known})")
    reqs = tuple(requests)  # the columnar path keeps a tuple without copying it
    with collector_paused(len(reqs) >= GC_PAUSE_MIN_REQUESTS):
        return _match(
            reqs,
            physicians,
            policy,
            ledger,
            on,
            distances=distances,
            plugin_manager=plugin_manager,
            resource_contacts=resource_contacts,
            explain=explain,
        )


GC_PAUSE_MIN_REQUESTS = 5_000
"""From this many requests, :func:`match` pauses Python's cyclic garbage collector while it
runs (and restores it after): a département's month allocates millions of small acyclic
objects, and the collector's repeated passes over them took a third of the time. Reference
counting still frees everything at once; cycles, if any, are collected after."""


def _match(
    requests: tuple[Request, ...],
    physicians: Iterable[Physician],
    policy: Policy,
    ledger: CapacityLedger | None,
    on: dt.date,
    *,
    distances: DistanceCache | None,
    plugin_manager: pluggy.PluginManager | None,
    resource_contacts: Mapping[str, Mapping[str, ResourceContact]] | None,
    explain: Explain,
) -> MatchResult:
    """:func:`match` once its arguments are checked."""
    pm = policy_plugin_manager(policy, plugin_manager)
    hooks = Hooks(pm)
    reference: CommuneReference = (
        distances.reference if distances is not None else policy.reference or bundled_reference()
    )
    if distances is None:
        distances = DistanceCache(reference)
    ledger = ledger if ledger is not None else CapacityLedger()
    month = Month.of(on)
    reqs, request_ids = _sorted_by_id(requests, "demande")
    phys: list[Physician] = _unique(physicians, "médecin")

    ranked = rank_columns(RequestTable(reqs, ids=request_ids), policy, on, pm)
    rejected = _rejected(ranked, request_ids)
    scope = ranked.scope
    in_scope: Sequence[Request] = scope.requests
    coded = ranked.classes
    classes = tuple(coded.tolist())  # a tuple: the columnar path keeps it without a copy
    attached, answered, order = _resources(
        policy, in_scope, classes, ranked.order, on, resource_contacts
    )
    del ranked  # the scope decisions' codes and the order keys' columns
    if explain == "auto":
        explain = "full" if len(in_scope) <= EXPLAIN_FULL_MAX_REQUESTS else "counts"

    available = [p for p in phys if p.is_available_on(on)]
    defaults = {p.id: policy.monthly_capacity_of(p) for p in phys}
    # the ledger asked once per default capacity when it is empty
    remaining: list[int] = columnar_routing.places_left(
        ledger, available, defaults, month, policy.carry_over
    ).tolist()
    at_start = dict(zip((p.id for p in available), remaining, strict=True))
    places_at_start = tuple((p.id, at_start.get(p.id, 0)) for p in phys)

    placements: list[Placement] = []
    orientations: list[Orientation] = []
    pull_lists: list[PullList] = []
    ids = scope.ids  # sorted: a row's rank is its id's rank
    waits = WaitingParts(ids, classes)
    placed_rows: list[npt.NDArray[np.int64]] = []
    for item in answered:
        if isinstance(item, Orientation):
            orientations.append(item)
        else:
            waits.add_objects([item])

    seen = CellsSeen(len(in_scope))
    columnar = _columnar_path(policy, scope, coded, in_scope, classes, available, distances)
    del coded
    for rule, members, run_rows in _plan(policy, in_scope, classes, order, columnar):
        if run_rows is not None and columnar is not None:  # the built-in monthly_quota
            rows, at = run_rows
            routed = columnar.route(rows, at, rule, policy, on, remaining, phys, pm)
            for j, left in enumerate(routed.outcome.left.tolist()):
                remaining[j] = left
            placements.extend(routed.placements)
            waits.add_rows(*routed.waiting)
            if explain != "none":
                placed_rows.append(routed.placed_rows)
                seen.add_rows(rows, routed.outcome.item_cell, routed.cell_candidates())
            del routed, rows, at, run_rows  # the run's columns (one or more per request)
            continue
        assert members is not None
        positions, group_requests, group_classes = zip(*members, strict=True)
        caps = [policy.rule_for(c.level, c.priority).max_distance_km for c in group_classes]
        cell_of, cells = build_cells(group_requests, available, policy, caps, distances, among=phys)
        task = RoutingTask(
            rule=rule,
            policy=policy,
            on=on,
            requests=group_requests,
            classifications=group_classes,
            positions=positions,
            item_cells=np.array(cell_of, dtype=np.int64),
            physicians=tuple(available),
            remaining=tuple(remaining),
            cells=tuple(cells),
            all_physicians=tuple(phys),
            distances=distances,
            plugin_manager=pm,
        )
        name = rule.router.name

        def who(name: str = name) -> str:
            return f"le routeur {name!r} ({hooks.router_owner(name)})"

        out = checked_call(who, functools.partial(rule.router.route, task))
        if not isinstance(out, RouterOutput):
            raise PluginError(f"{who()} a renvoyé {type(out).__name__} au lieu d'un RouterOutput")
        _check_output(rule, group_requests, out, available, remaining, who)
        index = {p.id: j for j, p in enumerate(available)}
        for p in out.placements:
            remaining[index[p.physician_id]] -= p.persons
        placements.extend(out.placements)
        orientations.extend(out.orientations)
        waits.add_objects(out.waiting)
        pull_lists.extend(out.pull_lists)
        if explain != "none":
            placed_rows.append(rows_of(ids, [p.request_id for p in out.placements]))
            seen.add_rows(
                order[np.asarray(positions, dtype=np.int64)],
                np.asarray(cell_of, dtype=np.int64),
                [c.candidates for c in cells],
            )

    del columnar, in_scope, order  # the run's columns: only the result's are kept from here
    merged: dict[tuple[str, str], int] = defaultdict(int)
    for p in placements:
        merged[(p.request_id, p.physician_id)] += p.persons
    entries = tuple(
        PlacementRecorded(physician_id=pid, month=month, request_id=rid, persons=n, on=on)
        for (rid, pid), n in sorted(merged.items())
    )
    placements.sort(key=_by_request_physician)
    waiting = waits.sequence()
    if explain != "none":
        placed_rows.append(waits.rows())
    eligibility = seen.eligibility(explain, placed_rows, ids, available)
    return MatchResult(
        on=on,
        month=str(month),
        policy_code=policy.code,
        placements=tuple(placements),
        orientations=tuple(sorted(orientations, key=_by_request)),
        waiting=waiting,
        rejected=tuple(sorted(rejected, key=_by_request)),
        pull_lists=tuple(sorted(pull_lists, key=operator.attrgetter("physician_id"))),
        ledger_entries=entries,
        attached_resources=tuple(attached),
        capacity_defaults=tuple(sorted(defaults.items())),
        carry_over=policy.carry_over,
        places_at_start=places_at_start,
        explain=explain,
        eligibility=eligibility,
    )


def _rejected(ranked: RankedColumns, ids: Sequence[str]) -> list[Rejected]:
    """The requests out of scope (``ids``: the id of each row of the table), by id."""
    decisions = ranked.decisions
    outside = np.ones(decisions.codes.size, dtype=bool)
    outside[ranked.in_scope] = False
    rows = np.flatnonzero(outside)
    values = decisions.values
    return [
        Rejected(ids[i], d.reason, d.detail)
        for i, d in zip(
            rows.tolist(), map(values.__getitem__, decisions.codes[rows].tolist()), strict=True
        )
        if d.reason is not None  # checked by the hooks
    ]


def _columnar_path(
    policy: Policy,
    scope: RequestTable,
    coded: Coded[Classification],
    in_scope: Sequence[Request],
    classes: Sequence[Classification],
    available: Sequence[Physician],
    distances: DistanceCache,
) -> ColumnarPath | None:
    """:meth:`ColumnarPath.of`, with the columns the decision hooks read already (``scope``:
    the table of the requests in scope) and the distinct classifications (``coded``).

    The table's columns are released (:meth:`RequestTable.release`) once the routing's are
    taken from it, before the eligible GPs are worked out: the routing keeps the columns it
    reads, and the others (birth dates, flags, order keys, the lists they were read from:
    some 0.4 GB for 6 million requests) do not stay for the whole run."""
    values = coded.values
    if not in_scope or not columnar_routing.columnar_runs_allowed(policy, values):
        scope.release()
        return None  # (a rank the policy does not have has no column of maximum distances)
    rank_of = np.array([c.rank for c in values], dtype=np.int64)
    columns = columnar_routing.RequestColumns(
        in_scope, classes, policy, table=scope, rank=rank_of[coded.codes]
    )
    scope.release()
    return ColumnarPath.of(
        policy, in_scope, classes, available, distances, columns=columns, levels=values
    )


def _resources(
    policy: Policy,
    in_scope: Sequence[Request],
    classes: Sequence[Classification],
    order: npt.NDArray[np.int64],
    on: dt.date,
    contacts: Mapping[str, Mapping[str, ResourceContact]] | None,
) -> tuple[list[AttachedResource], list[Orientation | Waiting], npt.NDArray[np.int64]]:
    """The policy's conditional resources for the requests in scope: the resources attached
    (by request id, then the policy's order), the requests answered without routing (an
    ``instead`` resource: an orientation; a ``before`` resource still awaited: waiting), and
    ``order`` without them."""
    conditional = [r for r in policy.resources if r.conditional]
    if not conditional:
        return [], [], order
    known = contacts or {}
    attached: list[AttachedResource] = []
    answered: list[Orientation | Waiting] = []
    kept: list[int] = []
    for i in order.tolist():
        request, c = in_scope[i], classes[i]
        decision = decide(conditional, request, c.level, on, known.get(request.id, {}))
        attached.extend(
            AttachedResource(
                request_id=request.id,
                name=inv.resource.name,
                mode=inv.resource.mode,
                status=inv.status,
                involved_on=inv.involved_on,
                kind=inv.resource.kind,
                contact=inv.resource.contact,
                first_time=inv.first_time,
                until=inv.until,
                criteria=inv.criteria,
            )
            for inv in decision.involved
        )
        if decision.instead:
            answered.append(_instead(request, c, decision))
        elif decision.held:
            answered.append(
                Waiting(
                    request.id,
                    c.level,
                    c.rank,
                    ReasonCode.AWAITING_RESOURCE,
                    request.household.persons,
                    decision.waiting_detail(),
                )
            )
        else:
            kept.append(i)
    attached.sort(key=_by_request)  # stable: the policy's order within a request
    return attached, answered, np.array(kept, dtype=np.int64)


def _instead(request: Request, c: Classification, decision: ResourceDecision) -> Orientation:
    """The orientation of a request an ``instead`` resource answers."""
    chosen = [i for i in decision.involved if i.status == "instead"]
    names = ", ".join(i.resource.name for i in chosen)
    why = sorted({label for i in chosen for label in i.criteria})
    text = f"Demande orientée vers : {names}, à la place d'un médecin généraliste"
    text += f" (conditions remplies : {', '.join(why)})." if why else "."
    return Orientation(
        request.id,
        c.level,
        c.rank,
        "resources",
        (),
        tuple(i.resource.describe() for i in chosen),
        text,
    )


def _plan(
    policy: Policy,
    in_scope: Sequence[Request],
    classes: Sequence[Classification],
    order: npt.NDArray[np.int64],
    columnar: ColumnarPath | None,
) -> list[Run]:
    """The routing groups of :func:`_groups`, those the columnar path takes as rows of the
    requests in scope (without a member per request), the others as members. The same
    groups, rules and order as :func:`_groups` (levels of the policy only: ``columnar`` is
    ``None`` otherwise)."""
    if columnar is None:
        groups = _groups(policy, in_scope, classes, order.tolist())
        return [(rule, members, None) for rule, members in groups]
    segment = _run_keys(policy)
    levels = [(lv.name, True) for lv in policy.levels]
    levels.append((policy.non_priority_level, False))
    rank = columnar.columns.rank
    by_rank = np.array([-1, *(segment[level] for level in levels)], dtype=np.int64)
    rows_all = np.asarray(order, dtype=np.int64)
    runs = by_rank[rank[rows_all]]
    cuts = [0, *(np.flatnonzero(np.diff(runs)) + 1).tolist(), rows_all.size]
    plan: list[Run] = []
    for start, end in itertools.pairwise(cuts):
        if start == end:
            continue
        rows = rows_all[start:end]
        present = [levels[r - 1] for r in np.unique(rank[rows]).tolist()]
        rule = policy.rule_for(*levels[int(rank[rows[0]]) - 1])
        if len({policy.rule_for(*level).max_distance_km for level in present}) > 1:
            rule = attrs.evolve(rule, max_distance_km=None)
        if columnar.takes(rule, rows, policy):
            plan.append((rule, None, (rows, np.arange(start, end, dtype=np.int64))))
        else:
            members = [
                (p, in_scope[i], classes[i])
                for p, i in zip(range(start, end), rows.tolist(), strict=True)
            ]
            plan.append((rule, members, None))
    return plan


def _groups(
    policy: Policy,
    in_scope: Sequence[Request],
    classes: Sequence[Classification],
    order: Sequence[int],
) -> list[tuple[RoutingRule, list[Member]]]:
    """The requests in ``order`` grouped into runs, one router call each.

    The runs are cut along the *policy's* levels (:func:`_run_keys`), not along the levels
    that have requests, so an empty level never changes how the others are routed. A run is
    routed by the rule of its first level with requests; when its levels' maximum distances
    differ, that rule has none and each request's cap is in its cell
    (:attr:`mt_access.routing.Cell.max_distance_km`).

    Runs come highest level first, so a level always uses capacity before every level of a
    later run (even when a level in between has a rule of its own).
    """
    segment = _run_keys(policy)

    def level_of(position_index: tuple[int, int]) -> tuple[str, bool]:
        c = classes[position_index[1]]
        return c.level, c.priority

    def run_of(level_run: tuple[tuple[str, bool], Any]) -> object:
        level = level_run[0]
        return segment.get(level, level)  # a level the policy does not name: a run alone

    runs = [(level, list(run)) for level, run in itertools.groupby(enumerate(order), level_of)]
    groups: list[tuple[RoutingRule, list[Member]]] = []
    for _, same_run in itertools.groupby(runs, run_of):
        levels = list(same_run)
        members = [(position, in_scope[i], classes[i]) for _, run in levels for position, i in run]
        rule = policy.rule_for(*levels[0][0])
        caps = {policy.rule_for(*level).max_distance_km for level, _ in levels}
        if len(caps) > 1:
            rule = attrs.evolve(rule, max_distance_km=None)
        groups.append((rule, members))
    return groups


def _run_keys(policy: Policy) -> dict[tuple[str, bool], int]:
    """Which run each level of ``policy`` belongs to: consecutive levels (in the policy's
    order, empty or not) form one run when their rules have the same :func:`_run_key`.

    A capacity router's run ignores the levels' maximum distances: a cap only narrows which
    GPs a request may have, and it is part of each request's eligibility (its cell), so one
    solve covers levels with different caps and never places fewer than separate runs would.
    A different router, or different router parameters, starts a new run: a router is
    called with one set of parameters, and parameters may change how it works.
    """
    levels = [(lv.name, True) for lv in policy.levels]
    levels.append((policy.non_priority_level, False))
    keys: dict[tuple[str, bool], int] = {}
    segment, previous = -1, None
    for level in levels:
        key = _run_key(policy.rule_for(*level))
        if key != previous:
            segment += 1
            previous = key
        keys[level] = segment
    return keys


run_keys = _run_keys
"""The public name of :func:`_run_keys`, for the callers outside the engine that cut runs
as :func:`match` does (the simulation's ``QuickMatcher``)."""


def _run_key(rule: RoutingRule) -> tuple[Any, ...]:
    """What must be equal for two consecutive levels to share a run (see :func:`_run_keys`)."""
    if rule.router.consumes_capacity:
        return (rule.router.name, rule.params)
    return rule.key


def _check_output(
    rule: RoutingRule,
    requests: Sequence[Request],
    out: RouterOutput,
    available: Sequence[Physician],
    remaining: Sequence[int],
    who: Callable[[], str],
) -> None:
    """A router must account for every request and stay within capacities."""
    expected = {r.id: r.household.persons for r in requests}
    seen: dict[str, int] = dict.fromkeys(expected, 0)
    try:
        for p in out.placements:
            seen[p.request_id] += p.persons
        for w in out.waiting:
            seen[w.request_id] += w.persons
        for o in out.orientations:
            seen[o.request_id] += expected[o.request_id]
    except KeyError as exc:
        raise PluginError(
            f"{who()} a renvoyé une demande qu'on ne lui a pas confiée ({exc})"
        ) from None
    except (TypeError, AttributeError) as exc:
        raise PluginError(
            f"{who()} a renvoyé un RouterOutput mal formé ({type(exc).__name__})"
        ) from None
    if seen != expected:
        rid = next(r for r in expected if seen[r] != expected[r])
        raise PluginError(
            f"{who()} a traité la demande {rid} de façon incohérente "
            f"({seen[rid]} personne(s) sur {expected[rid]})"
        )
    if out.placements and not rule.router.consumes_capacity:
        raise PluginError(f"{who()} place des patients sans être déclaré consommateur")
    used: Counter[str] = Counter()
    for p in out.placements:
        used[p.physician_id] += p.persons
    index = {p.id: j for j, p in enumerate(available)}
    for pid, n in used.items():
        if pid not in index:
            raise PluginError(f"{who()} a placé chez un médecin indisponible ({pid})")
        if n > remaining[index[pid]]:
            raise PluginError(f"{who()} dépasse la capacité du médecin {pid}")
