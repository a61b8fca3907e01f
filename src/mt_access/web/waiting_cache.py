"""The waiting list ranked for the requests' positions, kept by the process and brought up to
date after a write.

A request's position page needs the whole waiting list ranked (seconds on a large register:
:func:`~mt_access.indicators.position.read_waiting_list`). :func:`kept_waiting_list` keeps it
by data version, as :func:`~mt_access.web.context.by_data` does, but when the data changed it
asks the store which requests changed since the kept version
(:meth:`~mt_access.store.base.Store.changed_requests`) and reads only those again
(:func:`~mt_access.indicators.waiting_changes.update_waiting_list`, about a quarter of the
time of a full reading at 100,000 requests); it reads everything again when the store cannot
tell (a version from before the register's upgrade) or when too many requests changed
(:data:`~mt_access.indicators.waiting_changes.MAX_CHANGED`, a match run's commit).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from mt_access.indicators.position import WaitingList, read_waiting_list
from mt_access.indicators.waiting_changes import MAX_CHANGED, update_waiting_list
from mt_access.web import context

if TYPE_CHECKING:
    from mt_access.register import Register

__all__ = ["kept_waiting_list"]

_FAMILY = "position:"


def kept_waiting_list(register: Register, on: dt.date) -> WaitingList:
    """The register's waiting list on ``on`` at its current data version: the one kept by
    the process, brought up to date with the requests changed since (or read whole)."""
    chosen = context.settings()
    store = register.store
    key = _FAMILY + on.isoformat()
    found = chosen.data_cache.get(key)
    if found is not None and found[0] == store.data_version():
        kept: WaitingList = found[1]
        return kept
    for other in [k for k in list(chosen.data_cache) if k.startswith(_FAMILY) and k != key]:
        chosen.data_cache.pop(other, None)  # another day's list: not needed again
    with chosen.data_lock(key):
        version = store.data_version()  # read first: the list is at least this recent
        found = chosen.data_cache.get(key)
        if found is not None and found[0] == version:
            kept = found[1]
            return kept  # brought up to date by another thread meanwhile
        value: WaitingList | None = None
        if found is not None:
            changed = store.changed_requests(found[0])
            if changed is not None and len(changed) <= MAX_CHANGED:
                value = update_waiting_list(register, found[1], changed)
        if value is None:
            value = read_waiting_list(register, on)
        chosen.data_cache[key] = (version, value)
        return value
