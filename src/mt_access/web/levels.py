"""The requests' reception levels for the list's level filter, on any number of requests.

A request's reception level is its classification by the policy on the day it was received
(:func:`mt_access.indicators.dataset.reception_levels`): it needs the whole request, so a
level filter over the waiting list of a large register reads and classifies every waiting
request (seconds at 100,000 requests). Here every request's level is computed once and kept
by the process (:func:`every_level`) with the data version it was computed at. When the
register's data changed, the store tells which requests changed since that version
(:meth:`~mt_access.store.base.Store.changed_requests`): those alone are read and classified
again (a level depends on its request alone), so the kept levels are the current ones. Only
when the store cannot tell (a version from before a register's upgrade to SQLite schema 11 or
PostgreSQL schema 13) are they all computed again, at most once every
:data:`LEVELS_SECONDS` (another thread asking meanwhile gets the previous levels instead of
waiting; a request whose answers were changed in that minute may then be filtered by its
previous level); requests added since are classified at once. The levels shown on the page
are always the current ones.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from mt_access.indicators.dataset import reception_levels
from mt_access.web import context

__all__ = ["LEVELS_SECONDS", "ONE_BY_ONE", "current_levels", "every_level", "filter_levels"]

LEVELS_SECONDS = 60
"""The kept levels are computed again when the data changed, at most this often."""

ONE_BY_ONE = 500
"""Up to this many requests, their levels are read one by one; beyond, all at once."""

_KEY = "niveaux"


def current_levels(ids: Sequence[str]) -> dict[str, str]:
    """The reception level of each request of ``ids``, from the requests as they are now."""
    store = context.store()
    if len(ids) > ONE_BY_ONE:  # many: one read of every request beats a query per id
        wanted = set(ids)
        requests = [r for r in store.requests(None) if r.id in wanted]
    else:
        requests = [r for r in (store.get_request(rid) for rid in ids) if r is not None]
    return reception_levels(requests, context.settings().policy)


def every_level() -> tuple[dt.datetime, dict[str, str]]:
    """Every request's reception level, kept by the process, and when it was computed: the
    current data's (the requests changed since the kept version classified again), or, when
    the store cannot tell what changed and the levels were computed less than
    :data:`LEVELS_SECONDS` ago (or another thread is computing them), the previous ones."""
    chosen = context.settings()
    found: tuple[str, dt.datetime, dict[str, str]] | None = chosen.data_cache.get(_KEY)
    if found is not None and found[0] == context.store().data_version():
        return found[1], found[2]
    lock = chosen.data_lock(_KEY)
    if not lock.acquire(blocking=found is None):
        assert found is not None
        return found[1], found[2]  # another thread computes the new levels
    try:
        found = chosen.data_cache.get(_KEY)  # perhaps brought up to date meanwhile
        store = context.store()
        version = store.data_version()  # read first: the levels are at least this recent
        if found is not None and found[0] == version:
            return found[1], found[2]
        at = context.now()
        levels: dict[str, str] | None = None
        if found is not None:
            changed = store.changed_requests(found[0])
            if changed is not None:
                levels = dict(found[2])
                levels.update(current_levels(changed))
            elif (at - found[1]).total_seconds() < LEVELS_SECONDS:
                return found[1], found[2]
        if levels is None:
            levels = reception_levels(store.requests(None), chosen.policy)
        chosen.data_cache[_KEY] = (version, at, levels)
        return at, levels
    finally:
        lock.release()


def filter_levels(ids: Sequence[str]) -> dict[str, str]:
    """The levels to filter ``ids`` by: the current ones for a few requests, else the kept
    ones (:func:`every_level`), with the requests added since classified now."""
    if len(ids) <= ONE_BY_ONE:
        return current_levels(ids)
    _, kept = every_level()
    missing = [rid for rid in ids if rid not in kept]
    found = {rid: kept[rid] for rid in ids if rid in kept}
    if missing:
        found.update(current_levels(missing))
    return found
