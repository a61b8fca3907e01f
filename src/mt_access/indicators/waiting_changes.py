"""A register's waiting list brought up to date after a few requests changed.

:func:`~mt_access.indicators.position.read_waiting_list` reads the listing line of every
request, then every request waiting or recently placed (80,000 of 100,000), then ranks the
waiting list: 2.7 s of processor time on a 100,000-request register, of which reading and
decoding the requests and listing lines is about three quarters. A web server keeps the list
by data version; after a write, :func:`update_waiting_list` starts from the kept list and reads
only the requests the store says changed since its version
(:meth:`~mt_access.store.base.Store.changed_requests`) and their files, then ranks the list
again from the requests already in memory. The ranking itself is not reused request by
request: the policy's hooks (scope, levels, order keys) are called on the whole list as the
full reading calls them, so a plugin that looks at the whole list gives the same answers. The
built-in hooks work on whole arrays: ranking 72,000 waiting requests again takes about 0.2 s;
keeping the unchanged requests' answers and sorting again was tried and measured no faster
(the bookkeeping per request in Python costs what the hooks do).

The result is the list :func:`~mt_access.indicators.position.read_waiting_list` would read at
the store's current data: same requests waiting, same ranks, same placements and first
reception date (the tests compare both after random sequences of writes).
"""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Sequence
from typing import TYPE_CHECKING

from mt_access.calendar import Month
from mt_access.engine import policy_plugin_manager
from mt_access.indicators.base import IndicatorsError
from mt_access.indicators.dataset import state_on_day
from mt_access.indicators.position import WaitingList, _first_month, _waiting_list
from mt_access.lifecycle import RequestFile, RequestState

if TYPE_CHECKING:
    from mt_access.register import Register

__all__ = ["MAX_CHANGED", "update_waiting_list"]

_ID = operator.attrgetter("id")

MAX_CHANGED = 5_000
"""Beyond this many changed requests (a match run's commit, an import), reading them one
chunk after another costs about what reading every request does:
:func:`update_waiting_list` is then not worth it (callers read the whole list again)."""


def update_waiting_list(
    register: Register, kept: WaitingList, changed: Sequence[str], *, months: int = 6
) -> WaitingList:
    """``kept`` (the register's waiting list on ``kept.on`` with the same ``months``, as
    :func:`~mt_access.indicators.position.read_waiting_list` read it at some data version)
    with the requests ``changed`` since that version read again: those the store's
    :meth:`~mt_access.store.base.Store.changed_requests` gives (no other request may have
    changed, or the result is stale for it). The list is ranked again.

    Raises:
        IndicatorsError: ``months`` < 1.
    """
    if months < 1:
        raise IndicatorsError(f"nombre de mois : entier ≥ 1 attendu, reçu {months}")
    store = register.store
    on = kept.on
    start = _first_month(on, months).first_day
    end = Month.of(on).first_day
    gone = set(changed)
    requests = dict(kept.requests)  # copied in C; then the few changed ones taken out
    files: dict[str, RequestFile] = dict(kept.files)
    for rid in gone:
        requests.pop(rid, None)
        files.pop(rid, None)
    waiting = [rid for rid in map(_ID, kept.waiting) if rid not in gone]
    placed = [
        (rid, day)
        for rid, (day, _) in zip(kept.placed_ids, kept.placed, strict=True)
        if rid not in gone
    ]
    fresh = store.get_files(sorted(gone))
    for rid, file in fresh.items():
        request = store.get_request(rid)
        if request is None or request.received > on:
            continue
        if file.last_date > on:  # an event after `on`: its state then is in its history
            requests[rid] = request
            files[rid] = file
            if state_on_day(file, on) is RequestState.WAITING:
                waiting.append(rid)
        elif file.state is RequestState.WAITING:
            requests[rid] = request
            waiting.append(rid)
        elif file.state is RequestState.MT_FOUND and start <= file.last_date < end:
            requests[rid] = request
            placed.append((rid, file.last_date))
    waiting.sort()
    placed.sort()  # the full reading lists them by id
    return _waiting_list(
        on,
        requests,
        files,
        list(map(requests.__getitem__, waiting)),
        [(requests[rid], day) for rid, day in placed],
        register.policy,
        _first_received(register, on),
        policy_plugin_manager(register.policy, register.plugin_manager),
    )


def _first_received(register: Register, on: dt.date) -> dt.date:
    """The register's first reception date (``on`` when it is empty): the earliest listing
    line by reception date, one row read by the store (a changed request may have moved it,
    and only the store knows the others' dates)."""
    _, first = register.store.summary_slice(None, order="received", limit=1)
    return first[0].received if first else on
