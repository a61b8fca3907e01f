"""The shared list on a GP's portal page in pull mode, on any number of requests.

The lists are one run of the engine over every waiting request
(:meth:`~mt_access.register.Register.pull_index`: seconds on a register of 100,000 requests).
The process keeps the last one made (:func:`kept_index`), like the requests' levels of the
list's filter (:mod:`mt_access.web.levels`): made again when the register's data changed, at
most once every :data:`PULL_SECONDS`, while the pages get the previous ones instead of
waiting. They are made by the worker process of the dashboard's figures when the application
has one (:mod:`mt_access.web.dashboard_figures`: a register file or a ``postgresql://`` URL
and a policy file), which sends back the index's compact columns (:func:`made_in_worker`):
the pages' interpreter only swaps them in; otherwise in a thread of their own with its own
store (the index made in the pages' interpreter), or by the page that asks first (a store
object shared by the pages: tests, notebooks). The first lists of a day are waited for.

Until new lists come, a GP's page shows the kept list without the requests placed,
proposed, picked or released since (the ledger's entries recorded since: :func:`gp_list`),
and no list once the GP has no place left; a request that came back to the waiting list or
arrived since shows at the next making. Nothing is lost by the wait: a pick is checked by
:meth:`~mt_access.register.Register.choose` against the register as it is, in its write
transaction.
"""

from __future__ import annotations

import concurrent.futures as cf
import datetime as dt
import logging
import threading
import time

import attrs
from flask import Flask, current_app

from mt_access.errors import MtAccessError
from mt_access.ledger import PlacementRecorded, PlacementReleased
from mt_access.pull_index import PullIndex, pull_levels
from mt_access.register import Register
from mt_access.result import PullList
from mt_access.store.locations import open_store
from mt_access.web import context, dashboard_figures
from mt_access.web.dashboard_figures import FiguresWorker, Source

__all__ = [
    "FIRST_WAIT_SECONDS",
    "PULL_SECONDS",
    "SHOWN",
    "Made",
    "gp_list",
    "kept_index",
    "made_in_worker",
]

PULL_SECONDS = 60
"""The kept lists are made again when the data changed, at most this often."""

SHOWN = 50
"""The most entries of a GP's list shown on their page (the first ones, in the list's
order); the page says how many the list has."""

FIRST_WAIT_SECONDS = 300.0
"""A page with no lists of the day waits this long at most for the worker process's, then
makes them itself."""

_KEY = "portail.listes"
_FIRST = "portail.listes.premieres"
_log = logging.getLogger(__name__)


@attrs.frozen
class Made:
    """What comes back from the worker process: the lists (compact columns) and the wall and
    processor seconds they took there."""

    index: PullIndex
    seconds: float
    cpu_seconds: float


_previous: dict[Source, PullIndex] = {}
"""In the worker process: the last lists made of each register (their pseudonyms are taken
again)."""


def made_in_worker(source: Source, on: dt.date) -> Made:
    """The lists of ``on`` of the register at ``source`` (run in the worker process)."""
    start, cpu = time.perf_counter(), time.process_time()
    policy, shared = dashboard_figures.worker_state(source)
    store = open_store(source.location, readonly=True)
    try:
        register = Register(store, policy, shared=shared)
        index = register.pull_index(on, previous=_previous.get(source))
    finally:
        store.close()
    _previous[source] = index
    return Made(index, time.perf_counter() - start, time.process_time() - cpu)


def kept_index(register: Register, on: dt.date, *, refresh: bool = True) -> PullIndex:
    """The shared lists of ``on`` kept by the process: the current data's, or, when the data
    changed less than :data:`PULL_SECONDS` after they were made, the previous ones. Past
    that, the previous ones too while new ones are made: by the worker process when the
    application has one, else in a thread of their own when each page opens its own store
    (a register file or a database), so no page waits for them; by the page that asks
    first otherwise (a store object shared by the pages: tests, notebooks). Without
    ``refresh`` (a pick: checked against the register as it is anyway), the kept ones
    whatever their age. The first lists of a day are waited for (the worker's, else made by
    the page)."""
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
        return found[1]  # another thread or the worker makes the new lists
    latest: tuple[dt.datetime, PullIndex] | None = chosen.data_cache.get(_KEY)
    if usable and latest is not found and latest is not None and latest[1].on == on:
        lock.release()
        return latest[1]  # new lists kept just now
    worker = dashboard_figures.worker_of(current_app)
    if usable and worker is not None:
        assert found is not None
        _make_in_worker(chosen, worker, on, found[1], lock)
        return found[1]
    if usable and chosen.close_after:
        assert found is not None
        _make_aside(chosen, on, found[1], lock)
        return found[1]
    try:
        again: tuple[dt.datetime, PullIndex] | None = chosen.data_cache.get(_KEY)
        if again is not None and again is not found and again[1].on == on:
            return again[1]  # made by another thread meanwhile
        index = _first_from_worker(chosen, worker, on) if worker is not None else None
        if index is None:
            index = register.pull_index(on, previous=found[1] if found is not None else None)
        chosen.data_cache[_KEY] = (context.now(), index)
        return index
    finally:
        lock.release()


def _said(exc: BaseException) -> str:
    """What the log says of a failure: the project's messages carry no personal data;
    others, their kind only."""
    return str(exc) if isinstance(exc, MtAccessError) else type(exc).__name__


def _warm_up(app: Flask, worker: FiguresWorker) -> None:
    """At server start (:func:`mt_access.web.dashboard_figures.warm_up`): start making the
    day's lists in the worker when the policy shares lists, for the first GP page to take."""
    chosen: context.WebSettings = app.extensions[context.EXTENSION]
    if not pull_levels(chosen.policy):
        return
    on = chosen.today()
    try:
        chosen.data_cache[_FIRST] = (on, worker.run(made_in_worker, on))
    except Exception as exc:  # the first page asks again
        _log.warning("listes partagées : pas de processus à part (%s)", _said(exc))


dashboard_figures.WARM_UPS.append(_warm_up)


def _first_from_worker(
    chosen: context.WebSettings, worker: FiguresWorker, on: dt.date
) -> PullIndex | None:
    """The first lists of ``on``, waited for from the worker process (those started at
    server start when they are of ``on``); ``None`` when it cannot make them in
    :data:`FIRST_WAIT_SECONDS` (logged: the page makes them)."""
    future: cf.Future[Made] | None = None
    started: tuple[dt.date, cf.Future[Made]] | None = chosen.data_cache.pop(_FIRST, None)
    try:
        if started is not None and started[0] == on and not started[1].cancelled():
            future = started[1]
        else:
            future = worker.run(made_in_worker, on)
        made = future.result(timeout=FIRST_WAIT_SECONDS)
    except Exception as exc:  # the page makes them itself
        if future is not None and future.done() and future.exception() is not None:
            worker.failed(exc)
        _log.warning("listes partagées : pas de processus à part (%s), calcul ici", _said(exc))
        return None
    _log.info(
        "listes partagées calculées en %.1f s (%.1f s de processeur, processus à part)",
        made.seconds,
        made.cpu_seconds,
    )
    return made.index


def _make_in_worker(
    chosen: context.WebSettings,
    worker: FiguresWorker,
    on: dt.date,
    previous: PullIndex,
    lock: threading.Lock,
) -> None:
    """Ask the worker process for new lists; keep them when they come back (only swapped
    in: the columns are made there), release ``lock``. A failure keeps ``previous`` for
    :data:`PULL_SECONDS` more (logged)."""

    def now() -> dt.datetime:
        return chosen.clock().astimezone(dt.UTC).replace(microsecond=0)

    def collect(future: cf.Future[Made]) -> None:
        try:
            made = future.result()
            chosen.data_cache[_KEY] = (now(), made.index)
            _log.info(
                "listes partagées calculées en %.1f s (%.1f s de processeur, processus à part)",
                made.seconds,
                made.cpu_seconds,
            )
        except BaseException as exc:  # the pages keep the previous lists
            if worker.closed:
                return  # the server stops: the worker was stopped during the making
            worker.failed(exc)
            chosen.data_cache[_KEY] = (now(), previous)  # tried again PULL_SECONDS later
            _log.warning("listes partagées : échec du nouveau calcul (%s)", _said(exc))
        finally:
            lock.release()

    try:
        future = worker.run(made_in_worker, on)
    except Exception as exc:
        chosen.data_cache[_KEY] = (now(), previous)
        lock.release()
        _log.warning("listes partagées : échec du nouveau calcul (%s)", _said(exc))
        return
    future.add_done_callback(collect)


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
    register: Register, physician_id: str, on: dt.date, places_left: int, start: int = 0
) -> tuple[PullList | None, int]:
    """A page of the GP's list (its :data:`SHOWN` entries from the ``start``-th) and how many
    entries it has: from :func:`kept_index`, without the requests of the ledger's entries
    recorded since it was made; ``None`` when the GP has ``places_left`` 0 or has no list."""
    index = kept_index(register, on)
    if places_left <= 0:
        return None, 0
    own, total = index.list_and_count(physician_id, skip=_gone(index), limit=start + SHOWN)
    if own is None:
        return None, 0
    return attrs.evolve(own, entries=own.entries[start:]), total


_GONE_KEY = "portal-pull-gone"
"""The key in ``data_cache`` of the requests placed since the kept lists were made."""


def _gone(index: PullIndex) -> frozenset[str]:
    """The requests placed or released since ``index`` was made: the ledger's entries after
    its position, read once by the process and then only those recorded since (the ledger
    is append-only), not at every page."""
    store = context.store()
    version = store.data_version()
    if index.version == version:
        return frozenset()
    chosen = context.settings()
    with chosen.data_lock(_GONE_KEY):
        kept: tuple[PullIndex, str, int, frozenset[str]] | None = chosen.data_cache.get(_GONE_KEY)
        if kept is not None and kept[0] is index and kept[1] == version:
            return kept[3]
        position, gone = index.ledger_position, set[str]()
        if kept is not None and kept[0] is index:
            position, gone = kept[2], set(kept[3])
        entries = store.ledger_entries_after(position)
        gone.update(
            e.request_id for e in entries if isinstance(e, PlacementRecorded | PlacementReleased)
        )
        found = frozenset(gone)
        chosen.data_cache[_GONE_KEY] = (index, version, position + len(entries), found)
        return found
