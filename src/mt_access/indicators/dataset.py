"""Reading the register's data once into arrays: the requests, their files and levels on
reception, and what a period or a series needs of them.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

import attrs
import numpy as np
import pluggy

from mt_access.engine import policy_plugin_manager
from mt_access.hooks import Hooks
from mt_access.indicators.base import (
    EXIT_REASONS,
    MT_FOUND,
    NEVER,
    REASONS,
    REFERRERS,
    BoolArray,
    IndicatorsError,
    IntArray,
)
from mt_access.indicators.period import Period
from mt_access.lifecycle import (
    ACTIVE_STATES,
    RequestFile,
    RequestState,
)
from mt_access.model import Request
from mt_access.policy import Policy
from mt_access.result import Classification

if TYPE_CHECKING:
    from mt_access.register import Register
    from mt_access.store.base import Store

__all__ = ["reception_levels"]


def classify_by_day(
    pairs: Iterable[tuple[Request, dt.date]], policy: Policy, pm: pluggy.PluginManager
) -> dict[str, Classification]:
    """Each request's classification on its own day, with one hook call per distinct day."""
    by_day: dict[dt.date, list[Request]] = defaultdict(list)
    for request, day in pairs:
        by_day[day].append(request)
    out: dict[str, Classification] = {}
    for day in sorted(by_day):
        batch = by_day[day]
        found = Hooks(pm).classify(batch, policy, day)
        for request, classification in zip(batch, found, strict=True):
            out[request.id] = classification
    return out


def reception_levels(
    requests: Iterable[Request],
    policy: Policy,
    *,
    plugin_manager: pluggy.PluginManager | None = None,
) -> dict[str, str]:
    """Each request's priority level (name) on the day it was received, by request id.

    The ``mt_access_classify`` hook is called once per reception date with every request
    received that day, so the built-in classification is vectorised on large registers.
    """
    pm = policy_plugin_manager(policy, plugin_manager)
    found = classify_by_day(((r, r.received) for r in requests), policy, pm)
    return {rid: c.level for rid, c in found.items()}


def _level_names(policy: Policy) -> list[str]:
    levels = sorted(policy.levels, key=lambda level: level.rank)
    return [level.name for level in levels] + [policy.non_priority_level]


def state_on_day(file: RequestFile, day: dt.date) -> RequestState | None:
    """The file's state at the end of ``day`` (``None`` before its reception)."""
    if file.last_date <= day:
        return file.state
    state: RequestState | None = None
    for transition in file.history:
        if transition.on > day:
            break
        state = transition.to_state
    return state


_UNKNOWN_EXIT = -2
"""Exit reason of an exited request whose file was not read (only ``mt_found`` or not is
known, from its state)."""


@attrs.frozen(eq=False)
class Dataset:
    """The requests of a register as parallel arrays, built once for several computations.

    Every request has its dates, state, commune and persons (a listing line is enough); the
    request itself (``requests[i]``, for its level, reason, referrer) and its file
    (``files[i]``, for its exit reason and events) are read only for the requests a
    computation needs, and are ``None`` for the others (``level``, ``reason``, ``referrer``
    -1; ``exit_reason`` :data:`_UNKNOWN_EXIT` for an exit other than ``mt_found``).
    """

    ids: list[str]
    requests: list[Request | None]
    files: list[RequestFile | None]
    states: list[RequestState]  # current state
    level_names: list[str]
    received: IntArray  # ordinal of the reception date
    exit: IntArray  # ordinal of the exit date, _NEVER while in progress
    last: IntArray  # ordinal of the last transition
    exit_reason: IntArray  # index in _EXIT_REASONS, -1 while in progress
    level: IntArray  # index in level_names (level on reception)
    persons: IntArray
    reason: IntArray  # index in _REASONS
    referrer: IntArray  # index in _REFERRERS
    commune: IntArray  # index in communes
    communes: list[str]

    @property
    def size(self) -> int:
        return len(self.ids)

    def request(self, i: int) -> Request:
        found = self.requests[i]
        if found is None:  # pragma: no cover - a loader bug
            raise IndicatorsError(f"demande {self.ids[i]} : non lue")
        return found

    def file(self, i: int) -> RequestFile:
        found = self.files[i]
        if found is None:  # pragma: no cover - a loader bug
            raise IndicatorsError(f"demande {self.ids[i]} : dossier non lu")
        return found

    def state_on(self, i: int, day: dt.date) -> RequestState | None:
        """The state of request ``i`` at the end of ``day``."""
        if self.last[i] <= day.toordinal():
            return self.states[i] if self.received[i] <= day.toordinal() else None
        return state_on_day(self.file(i), day)


@attrs.frozen(eq=False)
class _Lines:
    """What the dataset needs of every request, as read from listing lines: ids, current
    states, reception and last-event ordinals, communes, persons."""

    ids: list[str]
    states: list[RequestState]
    received: IntArray
    last: IntArray
    communes: list[str]
    persons: IntArray

    @property
    def exit(self) -> IntArray:
        final = np.fromiter((s.is_final for s in self.states), bool, len(self.states))
        return np.where(final, np.maximum(self.last, self.received), NEVER).astype(np.int64)

    @classmethod
    def of(
        cls,
        items: Sequence[tuple[str, dt.date, dt.date, RequestState, str, int]],
    ) -> _Lines:
        n = len(items)
        return cls(
            ids=[x[0] for x in items],
            states=[x[3] for x in items],
            received=np.fromiter((x[1].toordinal() for x in items), np.int64, n),
            last=np.fromiter((x[2].toordinal() for x in items), np.int64, n),
            communes=[x[4] for x in items],
            persons=np.fromiter((x[5] for x in items), np.int64, n),
        )


def _assemble(
    lines: _Lines,
    requests: Mapping[str, Request],
    files: Mapping[str, RequestFile],
    levels: Mapping[str, str],
    policy: Policy,
) -> Dataset:
    n = len(lines.ids)
    names = _level_names(policy)
    index = {name: i for i, name in enumerate(names)}
    position = {rid: i for i, rid in enumerate(lines.ids)}
    commune_index: dict[str, int] = {}
    commune = np.fromiter(
        (commune_index.setdefault(c, len(commune_index)) for c in lines.communes), np.int64, n
    )
    exit_ = lines.exit
    mt_found = np.fromiter((s is RequestState.MT_FOUND for s in lines.states), bool, n)
    exit_reason = np.where(exit_ == NEVER, -1, np.where(mt_found, MT_FOUND, _UNKNOWN_EXIT)).astype(
        np.int64
    )
    fls: list[RequestFile | None] = [None] * n
    exit_index = {r: i for i, r in enumerate(EXIT_REASONS)}
    for rid, file in files.items():
        i = position.get(rid)
        if i is None:
            continue
        fls[i] = file
        if file.exit_reason is not None and exit_reason[i] != -1:
            exit_reason[i] = exit_index[file.exit_reason]
    level = np.full(n, -1, dtype=np.int64)
    reason = np.full(n, -1, dtype=np.int64)
    referrer = np.full(n, -1, dtype=np.int64)
    reqs: list[Request | None] = [None] * n
    reason_index = {r: i for i, r in enumerate(REASONS)}
    referrer_index = {r: i for i, r in enumerate(REFERRERS)}
    for rid, request in requests.items():
        i = position.get(rid)
        if i is None:
            continue
        reqs[i] = request
        name = levels.get(rid)
        if name is None:
            raise IndicatorsError(f"demande {rid} : niveau de priorité inconnu")
        if name not in index:
            index[name] = len(names)
            names.append(name)
        level[i] = index[name]
        reason[i] = reason_index[request.reason]
        referrer[i] = referrer_index[request.referrer.kind]
    return Dataset(
        ids=lines.ids,
        requests=reqs,
        files=fls,
        states=lines.states,
        level_names=names,
        received=lines.received,
        exit=exit_,
        last=lines.last,
        exit_reason=exit_reason,
        level=level,
        persons=lines.persons,
        reason=reason,
        referrer=referrer,
        commune=commune,
        communes=list(commune_index),
    )


def build_dataset(
    requests: Iterable[Request],
    files: Mapping[str, RequestFile],
    policy: Policy,
    levels: Mapping[str, str] | None,
    pm: pluggy.PluginManager,
) -> Dataset:
    """Every request with its file (the plain-data entry points)."""
    reqs = sorted(requests, key=lambda r: r.id)
    missing = [r.id for r in reqs if r.id not in files]
    if missing:
        raise IndicatorsError(
            f"demande {missing[0]} : dossier (cycle de vie) absent"
            + (f", et {len(missing) - 1} autre(s)" if len(missing) > 1 else "")
        )
    if levels is None:
        levels = reception_levels(reqs, policy, plugin_manager=pm)
    lines = _Lines.of(
        [
            (r.id, r.received, files[r.id].last_date, files[r.id].state, r.commune, r.persons)
            for r in reqs
        ]
    )
    return _assemble(lines, {r.id: r for r in reqs}, files, levels, policy)


_Needs = Callable[[IntArray, IntArray, IntArray], tuple[BoolArray, BoolArray]]
"""From the received, exit and last-event ordinals of every request: which requests must be
read, and which files."""

_BULK_SHARE = 0.3
"""Past this share of the register, every request is read in one go rather than by id."""


def register_dataset(register: Register, needs: _Needs) -> Dataset:
    """A register's requests as a dataset: every listing line (one bulk read), and the
    requests and files ``needs`` asks for (bulk reads, or by id when they are few)."""
    store = register.store
    summaries = store.summaries(None)
    n = len(summaries)
    lines = _Lines(
        ids=[s.id for s in summaries],
        states=[s.state for s in summaries],
        received=np.fromiter((s.received.toordinal() for s in summaries), np.int64, n),
        last=np.fromiter((s.last_event.toordinal() for s in summaries), np.int64, n),
        communes=[s.commune for s in summaries],
        persons=np.fromiter((s.persons for s in summaries), np.int64, n),
    )
    del summaries
    want_request, want_file = needs(lines.received, lines.exit, lines.last)
    want_request |= want_file
    ids = lines.ids
    chosen = np.flatnonzero(want_request).tolist()
    requests = read_requests(
        store,
        [ids[i] for i in chosen],
        any(not lines.states[i].is_final for i in chosen),
        n,
    )
    files = store.get_files(ids[i] for i in np.flatnonzero(want_file).tolist())
    pm = policy_plugin_manager(register.policy, register.plugin_manager)
    levels = reception_levels(requests.values(), register.policy, plugin_manager=pm)
    return _assemble(lines, requests, files, levels, register.policy)


def read_requests(
    store: Store, wanted: Sequence[str], some_active: bool, size: int
) -> dict[str, Request]:
    """The requests ``wanted`` (ids): all the register's at once when they are many (past
    :data:`_BULK_SHARE` of its ``size``), else the requests in progress at once (when
    ``some_active``) and the others one by one."""
    chosen = set(wanted)
    if len(chosen) > _BULK_SHARE * max(size, 1):
        return {r.id: r for r in store.requests(None) if r.id in chosen}
    requests: dict[str, Request] = {}
    if some_active:
        requests = {r.id: r for r in store.requests(ACTIVE_STATES) if r.id in chosen}
    for rid in wanted:
        if rid not in requests:
            found = store.get_request(rid)
            if found is not None:
                requests[rid] = found
    return requests


def period_needs(period: Period, *, rows: str | None = None) -> _Needs:
    """What the indicators of ``period`` read: the requests received from 90 days before it
    to its end (entries, cohorts) or in progress at some point of it (waiting list, exits,
    waits), and the files of those with an event in it (exit reasons, GP events, states).
    ``rows="all"`` also reads every request received by its end, with its file (the
    workbook of every request)."""
    s, e = period.start.toordinal(), period.end.toordinal()

    def needs(received: IntArray, exit_: IntArray, last: IntArray) -> tuple[BoolArray, BoolArray]:
        until = received <= e
        want_request = ((received >= s - 90) & until) | (until & (exit_ >= s))
        want_file = until & (last >= s)
        if rows == "all":
            want_request = want_request | until
            want_file = want_file | until
        return want_request, want_file

    return needs


def _union(*needs: _Needs) -> _Needs:
    """Reads what any of ``needs`` reads."""

    def union(received: IntArray, exit_: IntArray, last: IntArray) -> tuple[BoolArray, BoolArray]:
        want_request = np.zeros(received.shape, dtype=bool)
        want_file = np.zeros(received.shape, dtype=bool)
        for need in needs:
            a, b = need(received, exit_, last)
            want_request |= a
            want_file |= b
        return want_request, want_file

    return union


def series_needs(start: dt.date, end: dt.date) -> _Needs:
    a, b = start.toordinal(), end.toordinal()

    def needs(received: IntArray, exit_: IntArray, last: IntArray) -> tuple[BoolArray, BoolArray]:
        del last
        return (received <= b) & (exit_ > a), np.zeros(received.shape, dtype=bool)

    return needs
