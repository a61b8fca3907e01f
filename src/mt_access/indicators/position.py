"""A patient's position in the policy's order and an estimated wait."""

from __future__ import annotations

import datetime as dt
import itertools
import math
import operator
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

import attrs
import numpy as np
import pluggy

from mt_access.calendar import Month
from mt_access.engine import RankedRequests, policy_plugin_manager, rank_requests
from mt_access.indicators.base import BEFORE_LIST, IndicatorsError, decimal_text, fr_date
from mt_access.indicators.dataset import classify_by_day, state_on_day
from mt_access.lifecycle import (
    Event,
    RequestFile,
    RequestState,
)
from mt_access.model import Request
from mt_access.policy import Policy
from mt_access.resources import decide, resource_contacts
from mt_access.result import ScopeDecision

if TYPE_CHECKING:
    from mt_access.register import Register

_ID = operator.attrgetter("id")

# Events that end a GP's pending proposal.
_ENDS_PROPOSAL = (Event.ACCEPT, Event.REFUSE, Event.CANCEL_PROPOSAL)

__all__ = [
    "WaitEstimate",
    "WaitingList",
    "WaitingPosition",
    "compute_waiting_position",
    "rank_waiting_list",
    "read_waiting_list",
    "waiting_position",
]


@attrs.frozen
class WaitEstimate:
    """An estimated wait from the placements of recent months at the request's level.

    Attributes:
        level: the level.
        months: the full months looked at (at most the ``months`` before the reference date,
            none before the register's first request).
        placements: requests of that level that found a GP in each of those months (level
            on the day of the GP's acceptance).
        needed: placements of that level still needed before the request's turn (the
            requests of the same level ahead of it, plus itself).
        median_rate, low_rate, high_rate: placements per month: median, 10th and 90th
            percentiles over ``months``.
        median_months: ``needed / median_rate`` (the mean rate when the median is 0);
            ``None`` when there was no placement at all.
        shortest_months: ``needed / high_rate``.
        longest_months: ``needed / low_rate``; ``None`` when some months had too few
            placements to give an upper bound (``low_rate`` is 0).
    """

    level: str
    months: tuple[Month, ...]
    placements: tuple[int, ...]
    needed: int
    median_rate: float
    low_rate: float
    high_rate: float
    median_months: float | None
    shortest_months: float | None
    longest_months: float | None

    @property
    def possible(self) -> bool:
        """Whether there were placements at that level to estimate from."""
        return self.median_months is not None


@attrs.frozen
class WaitingPosition:
    """Where a request stands in the policy's order on a date, and how long it may wait.

    Attributes:
        request_id: the request.
        on: the reference date.
        state: its state at the end of ``on``.
        level: its level on ``on`` (``None`` once exited).
        position: its rank in the waiting list, 1 first (``None`` when it is not waiting:
            proposed, exited, out of scope); for a request not yet on the list (received,
            acknowledged, confirmed), the rank it would have if it were.
        ahead: requests before it; ``ahead_higher`` of them at a higher level,
            ``ahead_same_level`` at its own.
        waiting_total: requests on the waiting list (state ``waiting``, in scope) on ``on``.
        estimate: the estimated wait (``None`` when there is no position).
        message: a French text for the patient or the coordinator, saying how uncertain the
            estimate is.
    """

    request_id: str
    on: dt.date
    state: RequestState
    level: str | None
    position: int | None
    ahead: int | None
    ahead_higher: int | None
    ahead_same_level: int | None
    waiting_total: int
    estimate: WaitEstimate | None
    message: str


def _months_text(value: float) -> str:
    if value < 1:
        return "moins d'un mois"
    rounded = max(1, round(value))
    return f"{rounded} mois"


def _estimate(
    level: str,
    needed: int,
    placed: Sequence[tuple[dt.date, str]],
    first_received: dt.date | None,
    on: dt.date,
    months: int,
) -> WaitEstimate:
    current = Month.of(on)
    window: list[Month] = []
    m = current
    for _ in range(months):
        m = m.previous()
        if first_received is not None and m < Month.of(first_received):
            break
        window.append(m)
    window.reverse()
    per_month = dict.fromkeys(window, 0)
    for day, name in placed:
        month = Month.of(day)
        if name == level and month in per_month:
            per_month[month] += 1
    counts = np.array([per_month[m] for m in window], dtype=np.float64)
    if counts.size == 0 or counts.sum() == 0:
        return WaitEstimate(
            level, tuple(window), tuple(int(x) for x in counts), needed, 0.0, 0.0, 0.0, None,
            None, None,
        )  # fmt: skip
    low, median, high = (float(x) for x in np.percentile(counts, [10, 50, 90]))
    rate = median if median > 0 else float(counts.mean())
    return WaitEstimate(
        level=level,
        months=tuple(window),
        placements=tuple(int(x) for x in counts),
        needed=needed,
        median_rate=median,
        low_rate=low,
        high_rate=high,
        median_months=needed / rate,
        shortest_months=needed / high if high > 0 else needed / rate,
        longest_months=needed / low if low > 0 else None,
    )


def _estimate_text(estimate: WaitEstimate) -> str:
    if not estimate.months:
        return (
            "Pas d'estimation possible : le registre n'a pas encore un mois complet d'historique."
        )
    span = len(estimate.months)
    over = f"au cours des {span} derniers mois complets" if span > 1 else "le mois dernier"
    if estimate.median_months is None:
        return (
            f"Pas d'estimation possible : aucune demande du niveau « {estimate.level} » n'a "
            f"trouvé de médecin traitant {over}."
        )
    if estimate.median_rate > 0:
        pace = (
            f"{decimal_text(estimate.median_rate)} par mois en médiane, de "
            f"{min(estimate.placements)} à {max(estimate.placements)} selon les mois"
        )
    else:
        pace = f"{sum(estimate.placements)} en {span} mois seulement"
    central = estimate.median_months
    text = (
        f"{over.capitalize()}, les demandes du niveau « {estimate.level} » ont trouvé un "
        f"médecin traitant au rythme de {pace}. À ce rythme, l'attente serait "
        + ("de moins d'un mois" if central < 1 else f"d'environ {_months_text(central)}")
    )
    assert estimate.shortest_months is not None
    if estimate.longest_months is None:
        text += (
            " ; mais elle peut aussi être beaucoup plus longue : certains mois, presque aucune "
            "demande de ce niveau n'a été placée, si bien qu'on ne peut pas lui donner de "
            "limite haute."
        )
    else:
        low, high = math.floor(estimate.shortest_months), math.ceil(estimate.longest_months)
        if high <= 1:
            text += "."
        elif low < 1:
            text += f", probablement moins de {high} mois."
        else:
            text += f", probablement entre {low} et {high} mois."
    sparse = (
        " Le rythme est très irrégulier, l'estimation l'est donc aussi."
        if (estimate.median_rate == 0)
        else ""
    )
    return (
        text
        + sparse
        + " Ce n'est qu'une estimation, pas un engagement : elle suppose que les médecins "
        "continuent d'accepter des patients au même rythme et que les demandes plus "
        "prioritaires arrivent comme d'habitude ; des départs ou suspensions de médecins, "
        "des refus ou un afflux de demandes prioritaires peuvent l'allonger nettement."
    )


@attrs.frozen(eq=False)
class WaitingList:
    """What every request's position on a day shares: the waiting list ranked in the
    policy's order and the placements of the months the estimate looks at. Computed once
    (:func:`rank_waiting_list`) and reused for the positions of many requests while the
    register does not change.

    Attributes:
        on: the reference date.
        requests, files: the requests read (by id) and their files.
        waiting: the requests in state ``waiting`` at the end of ``on``.
        ranked: ``waiting`` scoped, classified and ordered (:func:`rank_requests`).
        total: the requests of ``waiting`` in scope.
        decision_of: the scope decision of each request of ``waiting``, by id.
        index_of: the rank (0 first) of each request in scope, by id.
        placed: the placements of the months looked at: date and level on that day.
        since: the register's first reception date.
        placed_ids: the request of each of ``placed``, in the same order (to bring the list
            up to date after a few requests changed, :mod:`.waiting_changes`).
    """

    on: dt.date
    requests: dict[str, Request]
    files: Mapping[str, RequestFile]
    waiting: list[Request]
    ranked: RankedRequests
    total: int
    decision_of: dict[str, ScopeDecision]
    index_of: dict[str, int]
    placed: list[tuple[dt.date, str]]
    since: dt.date
    placed_ids: tuple[str, ...] = ()


def rank_waiting_list(
    requests: Iterable[Request],
    files: Mapping[str, RequestFile],
    on: dt.date,
    *,
    policy: Policy,
    months: int = 6,
    since: dt.date | None = None,
    plugin_manager: pluggy.PluginManager | None = None,
) -> WaitingList:
    """The :class:`WaitingList` of ``requests`` on ``on`` (arguments as
    :func:`compute_waiting_position`'s)."""
    pm = policy_plugin_manager(policy, plugin_manager)
    reqs = list(requests)
    waiting: list[Request] = []
    for r in reqs:
        f = files.get(r.id)
        if r.received <= on and f is not None and state_on_day(f, on) is RequestState.WAITING:
            waiting.append(r)
    # placements of the last months, by level on the day of the acceptance
    first_month = _first_month(on, months)
    placed_pairs: list[tuple[Request, dt.date]] = []
    for r in reqs:
        f = files.get(r.id)
        if (
            f is not None
            and f.state is RequestState.MT_FOUND
            and first_month.first_day <= f.last_date < Month.of(on).first_day
        ):
            placed_pairs.append((r, f.last_date))
    if since is None:
        since = min((r.received for r in reqs), default=on)
    return _waiting_list(
        on, {r.id: r for r in reqs}, files, waiting, placed_pairs, policy, since, pm
    )


def _first_month(on: dt.date, months: int) -> Month:
    """The first of the ``months`` full months before ``on``'s (at least one)."""
    first = Month.of(on)
    for _ in range(max(months, 1)):
        first = first.previous()
    return first


def _waiting_list(
    on: dt.date,
    requests: dict[str, Request],
    files: Mapping[str, RequestFile],
    waiting: list[Request],
    placed_pairs: list[tuple[Request, dt.date]],
    policy: Policy,
    since: dt.date,
    pm: pluggy.PluginManager,
) -> WaitingList:
    """The :class:`WaitingList` of the requests ``waiting`` on ``on`` (in id order) and the
    placements ``placed_pairs`` (request, day of the acceptance) of the months looked at."""
    ranked = rank_requests(waiting, policy, on, pm)
    # built in C, the ids read in list order: the ids in rank order read the requests all
    # over memory (0.2 s for 64,000 requests in a web server's process, a tenth of this)
    decision_of = dict(zip(map(_ID, waiting), ranked.decisions, strict=True))
    scoped_ids = list(map(_ID, ranked.in_scope))
    index_of = dict(zip(map(scoped_ids.__getitem__, ranked.order), itertools.count()))
    levels_then = classify_by_day(placed_pairs, policy, pm)
    placed = [(d, levels_then[r.id].level) for r, d in placed_pairs]
    return WaitingList(
        on=on,
        requests=requests,
        files=files,
        waiting=waiting,
        ranked=ranked,
        total=sum(1 for d in ranked.decisions if d.in_scope),
        decision_of=decision_of,
        index_of=index_of,
        placed=placed,
        since=since,
        placed_ids=tuple(r.id for r, _ in placed_pairs),
    )


def compute_waiting_position(
    request_id: str,
    requests: Iterable[Request],
    files: Mapping[str, RequestFile],
    on: dt.date,
    *,
    policy: Policy,
    months: int = 6,
    since: dt.date | None = None,
    plugin_manager: pluggy.PluginManager | None = None,
    prepared: WaitingList | None = None,
) -> WaitingPosition:
    """The position of ``request_id`` in the policy's order on ``on``, and an estimated wait.

    The waiting list is the requests in state ``waiting`` at the end of ``on`` that the
    policy's scope accepts (``mt_access_check_scope``), in the engine's order: level on
    ``on`` (``mt_access_classify``), then the policy's ordering keys
    (``mt_access_order_keys``), then the id. The estimate divides the placements still
    needed at the request's level (the requests of that level ahead of it, plus itself) by
    the monthly placements at that level over the last ``months`` full months (median, and
    10th–90th percentiles for the range).

    Args:
        request_id: the request.
        requests: the register's requests (at least those in progress on ``on`` and those
            placed in the last ``months`` months).
        files: their lifecycle files, by id.
        on: the reference date.
        policy: the policy (levels, order, scope, hooks).
        months: how many full months of placements to estimate from (≥ 1).
        since: the register's first reception date: months before it are not looked at
            (the earliest reception of ``requests`` by default).
        prepared: the waiting list of ``requests`` on ``on`` already ranked
            (:func:`rank_waiting_list` with the same arguments), shared by the positions of
            several requests; ``requests`` and ``files`` then need only hold the request.

    Raises:
        IndicatorsError: unknown request, a request received after ``on``, ``months`` < 1.
    """
    if months < 1:
        raise IndicatorsError(f"nombre de mois : entier ≥ 1 attendu, reçu {months}")
    pm = policy_plugin_manager(policy, plugin_manager)
    reqs = list(requests)
    if prepared is None:
        prepared = rank_waiting_list(
            reqs, files, on, policy=policy, months=months, since=since, plugin_manager=pm
        )
    request = prepared.requests.get(request_id)
    if request is None:
        request = next((r for r in reqs if r.id == request_id), None)
    file = prepared.files.get(request_id)
    if file is None:
        file = files.get(request_id)
    if request is None or file is None:
        raise IndicatorsError(f"demande inconnue : {request_id}")
    state = state_on_day(file, on)
    if state is None or request.received > on:
        raise IndicatorsError(
            f"demande {request_id} : reçue le {request.received:%d/%m/%Y}, après le {on:%d/%m/%Y}"
        )
    day = fr_date(on)

    # the waiting list on `on` (ranked once), with the request itself when not on it yet
    waiting = prepared.waiting
    hypothetical = state in BEFORE_LIST
    own_decision: ScopeDecision | None
    if hypothetical:
        candidates = [*waiting, request]
        ranked = rank_requests(candidates, policy, on, pm)
        total = sum(1 for d in ranked.decisions[: len(waiting)] if d.in_scope)
        own_decision = ranked.decisions[-1]
        in_scope = ranked.in_scope
        index_of = None
    else:
        ranked = prepared.ranked
        total = prepared.total
        own_decision = prepared.decision_of.get(request_id)
        index_of = prepared.index_of

    def outside(message: str) -> WaitingPosition:
        return WaitingPosition(
            request_id, on, state, None, None, None, None, None, total, None, message
        )

    if state in (RequestState.MT_FOUND, RequestState.EXITED):
        reason = file.exit_reason.label if file.exit_reason is not None else ""
        return outside(
            f"La demande {request_id} est sortie du dispositif le {fr_date(file.last_date)} "
            f"({reason}) : elle n'est plus en liste d'attente."
        )
    if state is RequestState.PROPOSED:
        pending = _proposed_on(file, on)
        return outside(
            f"Le {day}, la demande {request_id} est proposée à {len(pending)} médecin(s) et "
            "attend leur réponse : elle n'est pas en liste d'attente. En cas de refus, elle "
            "y revient à son rang."
        )
    assert own_decision is not None
    if not own_decision.in_scope:
        assert own_decision.reason is not None
        return outside(
            f"Le {day}, la demande {request_id} n'entre pas dans le champ du dispositif "
            f"({own_decision.reason.label}) : la prochaine mise en relation la sortira de la "
            "liste d'attente."
        )
    classes, order = ranked.classes, ranked.order
    if index_of is None:
        index = next(k for k, i in enumerate(order) if in_scope[i].id == request_id)
    else:
        index = index_of[request_id]
    own = classes[order[index]]
    higher = sum(1 for i in order[:index] if classes[i].rank < own.rank)
    same = index - higher
    estimate = _estimate(own.level, same + 1, prepared.placed, prepared.since, on, months)

    if hypothetical:
        head = (
            f"Le {day}, la demande {request_id} n'est pas encore inscrite en liste d'attente "
            f"(étape : {state.label}). Une fois inscrite, elle serait au rang {index + 1} sur "
            f"{total + 1}, au niveau « {own.level} » : {index} demande(s) passeraient avant "
            f"elle, dont {higher} d'un niveau plus prioritaire et {same} du même niveau."
        )
    else:
        head = (
            f"Le {day}, la demande {request_id} est au rang {index + 1} sur {total} en liste "
            f"d'attente, au niveau « {own.level} » : {index} demande(s) passent avant elle, "
            f"dont {higher} d'un niveau plus prioritaire et {same} du même niveau."
        )
    if any(r.conditional for r in policy.resources):
        known = resource_contacts(t for t in file.history if t.on <= on)
        decision = decide(policy.resources, request, own.level, on, known)
        if decision.held:
            head += (
                f" Elle est retenue, {decision.waiting_detail()} : elle n'est proposée à "
                "aucun médecin avant."
            )
    return WaitingPosition(
        request_id=request_id,
        on=on,
        state=state,
        level=own.level,
        position=index + 1,
        ahead=index,
        ahead_higher=higher,
        ahead_same_level=same,
        waiting_total=total,
        estimate=estimate,
        message=head + " " + _estimate_text(estimate),
    )


def _proposed_on(file: RequestFile, day: dt.date) -> frozenset[str]:
    if file.last_date <= day:
        return file.proposed_to
    pending: set[str] = set()
    for transition in file.history:
        if transition.on > day:
            break
        if transition.event is Event.PROPOSE and transition.physician_id is not None:
            pending.add(transition.physician_id)
        elif transition.event in _ENDS_PROPOSAL and transition.physician_id:
            pending.discard(transition.physician_id)
        if transition.to_state.is_final:
            pending.clear()
    return frozenset(pending)


def read_waiting_list(register: Register, on: dt.date, *, months: int = 6) -> WaitingList:
    """The register's :class:`WaitingList` on ``on``: reads the listing lines, then only the
    requests waiting at the end of ``on`` and those placed in the last ``months`` months (by
    state), and the files of the requests with an event after ``on`` alone (their state on
    ``on`` is in their history; the listing line gives the others'), then ranks the waiting
    list (seconds on a large register: keep it while the register's data does not
    change, :meth:`~mt_access.store.base.Store.data_version`).

    Raises:
        IndicatorsError: ``months`` < 1.
    """
    if months < 1:
        raise IndicatorsError(f"nombre de mois : entier ≥ 1 attendu, reçu {months}")
    store = register.store
    start = _first_month(on, months).first_day
    end = Month.of(on).first_day
    waiting: list[str] = []
    placed: list[tuple[str, dt.date]] = []
    unsure: list[str] = []
    first_received: dt.date | None = None
    summaries = store.summaries(None)
    for summary in summaries:
        if first_received is None or summary.received < first_received:
            first_received = summary.received
        if summary.received > on:
            continue
        if summary.last_event > on:
            unsure.append(summary.id)  # an event after `on`: its state then is in its history
        elif summary.state is RequestState.WAITING:
            waiting.append(summary.id)  # its state at the end of `on` is its state now
        elif summary.state is RequestState.MT_FOUND and start <= summary.last_event < end:
            placed.append((summary.id, summary.last_event))  # placed in the months looked at
    # only the files of requests with an event after `on` are read (none, most days): the
    # listing line gives the others' state and last date
    files = store.get_files(unsure) if unsure else {}
    wanted = {*waiting, *unsure, *(rid for rid, _ in placed)}
    states = {s.state for s in summaries if s.id in wanted}  # read by state: not every request
    requests = {r.id: r for r in store.requests(states) if r.id in wanted} if states else {}
    for rid in unsure:
        file = files.get(rid)
        if file is not None and state_on_day(file, on) is RequestState.WAITING:
            waiting.append(rid)
    waiting.sort()
    return _waiting_list(
        on,
        requests,
        files,
        [requests[rid] for rid in waiting if rid in requests],
        [(requests[rid], day) for rid, day in placed if rid in requests],
        register.policy,
        first_received or on,
        policy_plugin_manager(register.policy, register.plugin_manager),
    )


def waiting_position(
    register: Register,
    request_id: str,
    on: dt.date,
    *,
    months: int = 6,
    prepared: WaitingList | None = None,
) -> WaitingPosition:
    """:func:`compute_waiting_position` for a register, from its waiting list ``prepared``
    (:func:`read_waiting_list` with the same ``on`` and ``months``; read when not given).

    Raises:
        RegisterOperationError: unknown request.
        IndicatorsError: see :func:`compute_waiting_position`.
    """
    file = register.file(request_id)  # unknown request: RegisterOperationError
    if prepared is None:
        prepared = read_waiting_list(register, on, months=months)
    request = prepared.requests.get(request_id)
    if request is None:
        request = register.request(request_id)
    return compute_waiting_position(
        request_id,
        [request],
        {request_id: prepared.files.get(request_id, file)},
        on,
        policy=register.policy,
        months=months,
        since=prepared.since,
        plugin_manager=register.plugin_manager,
        prepared=prepared,
    )
