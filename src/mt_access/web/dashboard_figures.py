"""The dashboard's month indicators, computed off the pages' interpreter.

:func:`mt_access.indicators.indicators` reads every request of the register: seconds of
processor on 100,000 requests. Computed in a page thread, it would hold the interpreter (its
GIL) for those seconds and stall every other page. So an application over a register file or
a ``postgresql://`` URL computes them in **one worker process of its own** (a
:class:`~concurrent.futures.ProcessPoolExecutor` of one process, started by ``spawn``, made on
first need or by :func:`warm_up` when the server starts), which opens the register from the
same location (read-only) and sends the figures back (an
:class:`~mt_access.indicators.Indicators` pickles: plain data, about 70 kB).

A page never waits for a computation when figures exist: it shows the previous ones (the page
says when they were computed) and asks for new ones when the data changed and they are a
minute old (:data:`FIGURES_SECONDS`); they replace the previous ones when ready. Only a first
display, before any figures, waits (:data:`FIRST_WAIT_SECONDS` at most, then « en cours de
calcul » and the periodic refresh brings them). A failure of the worker is logged without
personal data and the page keeps the previous figures (or says they could not be computed);
it is tried again a minute later.

The same worker process makes the shared lists of pull mode (:mod:`mt_access.web.portal_pull`,
through :meth:`FiguresWorker.run`), one computation after the other.

A store given as an object (memory store: tests, notebooks) or a function, or a policy not
loaded from a file, cannot be opened again by another process: the figures are then computed
in the page thread as before (one thread at a time, the others showing the previous ones).
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import datetime as dt
import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any, TypeVar

import attrs
from flask import Flask, current_app

from mt_access.calendar import Month
from mt_access.errors import MtAccessError
from mt_access.indicators import Indicators, indicators
from mt_access.loading import load_policy
from mt_access.policy import Policy
from mt_access.register import Register
from mt_access.register_base import SharedState
from mt_access.store.locations import is_store_url, open_store
from mt_access.web import context

__all__ = [
    "EXECUTOR_SETTING",
    "FIGURES_SECONDS",
    "FIRST_WAIT_SECONDS",
    "WARM_UPS",
    "Computed",
    "FiguresWorker",
    "Shown",
    "Source",
    "compute",
    "install",
    "month_figures",
    "shut_down",
    "warm_up",
    "worker_of",
    "worker_state",
]

EXTENSION = "mt_access_figures"
"""The key of the application's :class:`FiguresWorker` in ``app.extensions``."""

EXECUTOR_SETTING = "MT_ACCESS_FIGURES"
""":func:`~mt_access.web.app.create_app`'s setting: absent or ``None``, a worker process when
the register can be opened by one; ``False``, computed in the page thread; an
:class:`~concurrent.futures.Executor`, used instead of the worker process (tests)."""

FIGURES_SECONDS = 60
"""The month's indicators are computed again when the register's data changed, at most once a
minute (by process); the alerts and the places are read at each display."""

FIRST_WAIT_SECONDS = 10.0
"""A first display (no figures yet for the month) waits this long at most for the worker."""

_log = logging.getLogger(__name__)
T = TypeVar("T")


@attrs.frozen
class Source:
    """What the worker process opens: the register's location (file path or ``postgresql://``
    URL) and the policy's file (loaded once by the worker, with the installed plugins)."""

    location: str
    policy: str


@attrs.frozen
class Computed:
    """What comes back from the worker: the figures, the data version read before computing
    them, and the computation's wall and processor seconds."""

    version: str
    figures: Indicators
    seconds: float
    cpu_seconds: float


@attrs.frozen
class Shown:
    """What the dashboard shows: the figures and when they were computed, or why none
    (``state``: ``"pret"``, ``"calcul"`` while the first computation runs, ``"echec"``)."""

    computed: dt.datetime | None
    figures: Indicators | None
    state: str

    @property
    def key(self) -> str:
        """What the figures add to the dashboard's version (its periodic refresh)."""
        return self.state if self.computed is None else self.computed.isoformat()


# ------------------------------------------------------------------------------------------
# In the worker process

_policies: dict[str, Policy] = {}
_shared: dict[str, SharedState] = {}


def _watch_parent(parent: int) -> None:
    """End the worker when the server's process is gone (killed without shutting it down)."""
    while os.getppid() == parent:
        time.sleep(2.0)
    os._exit(0)


WORKER_NICENESS = 10
"""The worker process's lower priority (POSIX): the pages' process comes first for the
processor on a small server; the figures wait a little instead."""


def _start_worker(parent: int) -> None:
    """The worker process's initializer. Ctrl-C in a terminal reaches the whole process
    group: the server's process stops the worker itself (:meth:`FiguresWorker.shut_down`),
    so the worker ignores it instead of printing its own interruption in English."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(os, "nice"):
        os.nice(WORKER_NICENESS)
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()


@contextlib.contextmanager
def _sigint_blocked() -> Iterator[None]:
    """SIGINT blocked in this thread while the executor may start its process: a process
    inherits the blocked signal from its start, so Ctrl-C, sent by the terminal to the whole
    process group, never interrupts it, even while it is still starting (before
    :func:`_start_worker`). Used around ``submit`` only, once the executor is made: making it
    starts multiprocessing's resource tracker, which unblocks SIGINT afterwards. POSIX
    only."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def worker_state(source: Source) -> tuple[Policy, SharedState]:
    """The policy and the register's shared state kept by the worker process for
    ``source`` (loaded on first use; the ledger and GPs read are kept for the next
    computation, as the pages' registers do). Also used by the other computations sent to
    the worker (:mod:`mt_access.web.portal_pull`)."""
    policy = _policies.get(source.policy)
    if policy is None:
        policy = _policies[source.policy] = load_policy(source.policy)
    return policy, _shared.setdefault(source.location, SharedState())


def compute(source: Source, month: Month) -> Computed:
    """The month's indicators of the register at ``source`` (run in the worker process)."""
    start, cpu = time.perf_counter(), time.process_time()
    policy, shared = worker_state(source)
    store = open_store(source.location, readonly=True)
    try:
        version = store.data_version()  # before reading: the figures are at least as new
        figures = indicators(Register(store, policy, shared=shared), month)
    finally:
        store.close()
    return Computed(version, figures, time.perf_counter() - start, time.process_time() - cpu)


# ------------------------------------------------------------------------------------------
# In the server


class FiguresWorker:
    """One application's computations of the month's indicators (thread-safe): the figures
    kept by month, the computation under way, and the executor (made on first need)."""

    def __init__(self, source: Source | None, executor: cf.Executor | None) -> None:
        self.source = source
        self._given = executor
        self._executor: cf.Executor | None = executor
        self._lock = threading.RLock()
        self._pending: dict[Month, tuple[cf.Future[Computed], dt.datetime]] = {}
        self._failed: dict[Month, dt.datetime] = {}
        self._results: dict[Month, tuple[str, dt.datetime, Indicators]] = {}
        self.computations = 0
        """Computations ended well (for the tests and the logs)."""
        self.closed = False
        """Shut down (:meth:`shut_down`): a computation cut short is not a failure."""

    def figures(self, month: Month, version: str, at: dt.datetime) -> Shown:
        """The figures to show at ``at`` for the data ``version``: asks for new ones when they
        are stale, and waits only when there are none yet."""
        with self._lock:
            found = self._results.get(month)
            if found is not None and (
                found[0] == version or (at - found[1]).total_seconds() < FIGURES_SECONDS
            ):
                return Shown(found[1], found[2], "pret")
            future = self._pending.get(month, (None, at))[0]
            failed = self._failed.get(month)
            if future is None and (
                failed is None or (at - failed).total_seconds() >= FIGURES_SECONDS
            ):
                future = self.submit(month, at)
        if found is not None:
            return Shown(found[1], found[2], "pret")  # the new ones replace them when ready
        if future is not None:
            with contextlib.suppress(Exception):  # logged by _collect; the page says it
                future.result(timeout=FIRST_WAIT_SECONDS)
            if future.done():
                self._collect(month, future)
        with self._lock:
            found = self._results.get(month)
            if found is not None:
                return Shown(found[1], found[2], "pret")
            if month in self._pending:
                return Shown(None, None, "calcul")
            return Shown(None, None, "echec")

    def submit(self, month: Month, at: dt.datetime) -> cf.Future[Computed] | None:
        """Start computing ``month``'s figures (unless under way); ``None`` when the worker
        cannot be asked (logged)."""
        with self._lock:
            pending = self._pending.get(month)
            if pending is not None:
                return pending[0]
            try:
                executor = self._executor_()
                with _sigint_blocked():
                    future = executor.submit(compute, self._source(), month)
            except Exception as exc:  # a broken or closed pool: said, not raised
                self._failure(month, at, exc)
                return None
            self._pending[month] = (future, at)  # the figures are at least as new as ``at``
            future.add_done_callback(lambda done: self._collect(month, done))
        _log.info("indicateurs du mois %s : calcul demandé au processus à part", month)
        return future

    def run(self, fn: Callable[..., T], /, *args: Any) -> cf.Future[T]:
        """Send another computation to the worker process: ``fn(source, *args)``, ``fn`` a
        module-level function (the pull lists: :mod:`mt_access.web.portal_pull`). It waits
        behind a computation under way (one process). A failure of its future goes to
        :meth:`failed`.

        Raises:
            MtAccessError: no register to open (an executor given without a source).
            Exception: the executor's, when it cannot take the call (broken or closed).
        """
        with self._lock:
            source = self._source()
            try:
                executor = self._executor_()
                with _sigint_blocked():
                    return executor.submit(fn, source, *args)
            except Exception as exc:
                self.failed(exc)
                raise

    def failed(self, exc: BaseException) -> None:
        """A computation failed with ``exc``: a broken worker process is replaced by a new
        one at the next call."""
        with self._lock:
            if isinstance(exc, BrokenProcessPool) and self._given is None:
                broken, self._executor = self._executor, None
                if broken is not None:
                    broken.shutdown(wait=False, cancel_futures=True)

    def _source(self) -> Source:
        if self.source is None:  # an executor given without a source: the tests'
            raise MtAccessError("indicateurs du mois : aucun registre à ouvrir")
        return self.source

    def _executor_(self) -> cf.Executor:
        if self._executor is None:
            self._executor = cf.ProcessPoolExecutor(
                max_workers=1,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_start_worker,
                initargs=(os.getpid(),),
            )
        return self._executor

    def _collect(self, month: Month, future: cf.Future[Computed]) -> None:
        """Keep what a computation gave (once: by the waiting page or the callback), as
        computed when it was asked for."""
        with self._lock:
            pending = self._pending.get(month)
            if pending is None or pending[0] is not future:
                return
            del self._pending[month]
            at = pending[1]
            if future.cancelled():
                return
            exc = future.exception()
            if exc is not None:
                self._failure(month, at, exc)
                return
            done = future.result()
            for other in [m for m in self._results if m != month]:
                del self._results[other]  # another month's: not shown again
            self._results[month] = (done.version, at, done.figures)
            self._failed.pop(month, None)
            self.computations += 1
        _log.info(
            "indicateurs du mois %s calculés en %.1f s (%.1f s de processeur, processus à part)",
            month,
            done.seconds,
            done.cpu_seconds,
        )

    def _failure(self, month: Month, at: dt.datetime, exc: BaseException) -> None:
        self._failed[month] = at
        self.failed(exc)  # a new process next time
        # the project's messages carry no personal data; others: their kind only
        said = str(exc) if isinstance(exc, MtAccessError) else type(exc).__name__
        _log.warning("indicateurs du mois %s : calcul impossible (%s)", month, said)

    def shut_down(self) -> None:
        """Stop the worker process (a computation under way is abandoned)."""
        with self._lock:
            executor, self._executor = self._executor, None
            self._pending.clear()
            self.closed = True
        if executor is None or executor is self._given:
            return
        processes: dict[int, Any] = dict(getattr(executor, "_processes", None) or {})
        executor.shutdown(wait=False, cancel_futures=True)
        for process in processes.values():  # not waiting for a computation under way
            process.terminate()
        for process in processes.values():
            process.join(timeout=10)


def install(app: Flask, source: Path | str | None, policy: Policy, setting: Any) -> None:
    """Give ``app`` its :class:`FiguresWorker` (``source``: the register's file or URL, or
    ``None`` for a store that another process cannot open; ``setting``: the
    :data:`EXECUTOR_SETTING`)."""
    if setting is False:
        return
    location = None if source is None else str(source)
    opened = location is not None and (is_store_url(location) or Path(location).is_file())
    policy_file = Path(policy.source)
    if isinstance(setting, cf.Executor):
        found = Source(location, str(policy_file)) if location is not None else None
        app.extensions[EXTENSION] = FiguresWorker(found, setting)
    elif opened and location is not None and policy_file.is_file():
        app.extensions[EXTENSION] = FiguresWorker(Source(location, str(policy_file)), None)


def worker_of(app: Flask) -> FiguresWorker | None:
    """``app``'s worker (``None``: the computations are made in the pages' threads)."""
    found: FiguresWorker | None = app.extensions.get(EXTENSION)
    return found


WARM_UPS: list[Callable[[Flask, FiguresWorker], None]] = []
"""The other computations :func:`warm_up` starts in the worker after the month's figures
(each registered by its module: the pull lists of :mod:`mt_access.web.portal_pull`)."""


def warm_up(app: Flask) -> None:
    """Start computing this month's figures (at server start: the first dashboard is fast),
    then the other computations of :data:`WARM_UPS`."""
    worker = worker_of(app)
    if worker is not None:
        settings: context.WebSettings = app.extensions[context.EXTENSION]
        at = settings.clock().astimezone(dt.UTC).replace(microsecond=0)
        worker.submit(Month.of(settings.today()), at)
        for start in WARM_UPS:
            start(app, worker)


def shut_down(app: Flask) -> None:
    """Stop ``app``'s worker process, if it has one."""
    worker = worker_of(app)
    if worker is not None:
        worker.shut_down()


def month_figures(month: Month) -> Shown:
    """The month's figures for the dashboard (see the module's description)."""
    worker = worker_of(current_app)
    if worker is None:
        return _in_thread(month)
    return worker.figures(month, context.store().data_version(), context.now())


def _in_thread(month: Month) -> Shown:
    """The figures computed in the page thread: those of the current data, or, when the data
    changed less than :data:`FIGURES_SECONDS` after they were computed (or another thread is
    computing them), the previous ones (the page says when)."""
    chosen = context.settings()
    key = f"indicateurs:{month}"
    version = context.store().data_version()
    at = context.now()
    found: tuple[str, dt.datetime, Any] | None = chosen.data_cache.get(key)
    if found is not None and (
        found[0] == version or (at - found[1]).total_seconds() < FIGURES_SECONDS
    ):
        return Shown(found[1], found[2], "pret")
    lock = chosen.data_lock(key)
    if not lock.acquire(blocking=found is None):
        assert found is not None
        return Shown(found[1], found[2], "pret")  # another thread computes the new figures
    try:
        version = context.store().data_version()
        value = (version, context.now(), indicators(context.register(), month))
        chosen.data_cache[key] = value
        return Shown(value[1], value[2], "pret")
    finally:
        lock.release()
