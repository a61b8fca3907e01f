"""The shared list on a GP's portal page in pull mode, on any number of requests.

The lists are one run of the engine over every waiting request
(:meth:`~mt_access.register.Register.pull_index`: seconds on a register of 100,000 requests).
The process keeps the last one made (:func:`kept_index`), like the requests' levels of the
list's filter (:mod:`mt_access.web.levels`): made again when the register's data changed, at
most once every :data:`PULL_SECONDS`, in a thread of their own (the pages meanwhile get the
previous ones instead of waiting). Until then a GP's page shows the kept list without the
requests placed, proposed, picked or released since (the ledger's entries recorded since:
:func:`gp_list`), and no list once the GP has no place left; a request that came back to
the waiting list or arrived since shows at the next making. Nothing is lost by the wait: a
pick is checked by :meth:`~mt_access.register.Register.choose` against the register as it
is, in its write transaction.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading

from mt_access.ledger import PlacementRecorded, PlacementReleased
from mt_access.pull_index import PullIndex
from mt_access.register import Register
from mt_access.result import PullList
from mt_access.web import context

__all__ = ["PULL_SECONDS", "SHOWN", "gp_list", "kept_index"]

PULL_SECONDS = 60
"""The kept lists are made again when the data changed, at most this often."""

SHOWN = 200
"""The most entries of a GP's list shown on their page (the first ones, in the list's
order); the page says how many the list has."""

_KEY = "portail.listes"
_log = logging.getLogger(__name__)


def kept_index(register: Register, on: dt.date, *, refresh: bool = True) -> PullIndex:
    """The shared lists of ``on`` kept by the process: the current data's, or, when the data
    changed less than :data:`PULL_SECONDS` after they were made, the previous ones. Past
    that, the previous ones too while new ones are made: in a thread of their own when each
    page opens its own store (a register file or a database), so no page waits for them;
    by the page that asks first otherwise (a store object shared by the pages: tests,
    notebooks). Without ``refresh`` (a pick: checked against the register as it is anyway),
    the kept ones whatever their age. The first lists of a day are made by the page."""
    chosen = context.settings()
    version = context.store().data_version()
    at = context.now()
    found: tuple[dt.datetime, PullIndex] | None = chosen.data_cache.get(_KEY)
    usable = found is not None and found[1].on == on
    if (
        found is not None
        and usable
        and (
            not refresh
            or found[1].version == version
            or (at - found[0]).total_seconds() < PULL_SECONDS
        )
    ):
        return found[1]
    lock = chosen.data_lock(_KEY)
    if not lock.acquire(blocking=not usable):
        assert found is not None
        return found[1]  # another thread makes the new lists
    if usable and chosen.close_after:
        assert found is not None
        _make_aside(chosen, on, found[1], lock)
        return found[1]
    try:
        again: tuple[dt.datetime, PullIndex] | None = chosen.data_cache.get(_KEY)
        if again is not None and again is not found and again[1].on == on:
            return again[1]  # made by another thread meanwhile
        index = register.pull_index(on, previous=found[1] if found is not None else None)
        chosen.data_cache[_KEY] = (context.now(), index)
        return index
    finally:
        lock.release()


def _make_aside(
    chosen: context.WebSettings, on: dt.date, previous: PullIndex, lock: threading.Lock
) -> None:
    """Make the lists in a thread with its own store, keep them, release ``lock``."""

    def work() -> None:
        try:
            store = chosen.open_store()
            try:
                register = Register(store, chosen.policy, shared=chosen.shared)
                index = register.pull_index(on, previous=previous)
            finally:
                store.close()
            made = chosen.clock().astimezone(dt.UTC).replace(microsecond=0)
            chosen.data_cache[_KEY] = (made, index)
        except Exception:  # the pages keep the previous lists; the next page tries again
            _log.exception("listes partagées : échec du nouveau calcul")
        finally:
            lock.release()

    threading.Thread(target=work, name="mt-access-listes", daemon=True).start()


def gp_list(
    register: Register, physician_id: str, on: dt.date, places_left: int
) -> tuple[PullList | None, int]:
    """The GP's list for their page (its first :data:`SHOWN` entries) and how many entries
    it has: from :func:`kept_index`, without the requests of the ledger's entries recorded
    since it was made; ``None`` when the GP has ``places_left`` 0 or has no list."""
    index = kept_index(register, on)
    if places_left <= 0:
        return None, 0
    gone: set[str] = set()
    if index.version != context.store().data_version():
        for entry in context.store().ledger_entries_after(index.ledger_position):
            if isinstance(entry, PlacementRecorded | PlacementReleased):
                gone.add(entry.request_id)
    own = index.list_of(physician_id, skip=gone, limit=SHOWN)
    if own is None:
        return None, 0
    return own, index.count(physician_id, skip=gone)
