"""What a page reaches during a request: the register opened for it, the clock, the actor.

One register is opened per request, on first use (:func:`register`), and closed when the
request ends; the application's :class:`WebSettings` say how to open its store.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
from flask import current_app, g

from mt_access.model import Physician
from mt_access.policy import Policy
from mt_access.register import Register
from mt_access.register_base import SharedState
from mt_access.store.base import Store

if TYPE_CHECKING:
    from argon2 import PasswordHasher

__all__ = [
    "WebSettings",
    "by_data",
    "cached",
    "close_register",
    "forget_cached",
    "now",
    "physicians",
    "register",
    "settings",
    "store",
    "today",
]

EXTENSION = "mt_access"
"""The key of :class:`WebSettings` in ``app.extensions``."""


@attrs.frozen
class WebSettings:
    """How the application reaches its register.

    Attributes:
        open_store: opens the store for one request.
        close_after: close the store at the end of the request (``False`` for a store given
            as an object, shared by the requests: tests, notebooks).
        policy: the register's policy.
        path: the register file, when the store is an SQLite file.
        clock: the current time (UTC, aware).
        today: the date of the events recorded.
        hasher: argon2-cffi's password hasher.
        cache: results kept a short while by the pages, by key,
            with when they were computed; emptied by :func:`forget_cached` after a write.
        data_cache: results computed from the whole register (:func:`by_data`, the
            dashboard's indicators), by key, starting with
            the store's :meth:`~mt_access.store.base.Store.data_version` they were computed
            at. One application serves one register (one CPTS): the cache is its own.
        release_store: at the end of a request whose store is to be closed
            (``close_after``), with whether the request failed: closes the store, or keeps
            it for the thread's next page (:class:`~mt_access.web.thread_stores.ThreadStores`).
        shared: the ledger and GPs read by a page's register, lent (copied) to the next
            pages' registers: the ledger advanced by the entries recorded since, the GPs
            kept while no GP changes (:func:`physicians` shares them).
        data_locks: one lock per key of ``data_cache``: threads asking for the same figures
            at once wait for one computation instead of each doing it.
    """

    open_store: Callable[[], Store]
    close_after: bool
    policy: Policy
    path: Path | None
    clock: Callable[[], dt.datetime]
    today: Callable[[], dt.date]
    hasher: PasswordHasher
    cache: dict[str, tuple[dt.datetime, Any]] = attrs.field(factory=dict, eq=False)
    data_cache: dict[str, tuple[Any, ...]] = attrs.field(factory=dict, eq=False)
    shared: SharedState = attrs.field(factory=SharedState, eq=False)
    data_locks: dict[str, threading.Lock] = attrs.field(factory=dict, eq=False)
    release_store: Callable[[Store, bool], None] = attrs.field(
        default=lambda store, _failed: store.close(), eq=False
    )
    _locks_lock: threading.Lock = attrs.field(factory=threading.Lock, eq=False, alias="locks_lock")

    def data_lock(self, key: str) -> threading.Lock:
        """The lock of ``key`` in ``data_cache`` (made on first use)."""
        with self._locks_lock:
            return self.data_locks.setdefault(key, threading.Lock())


def physicians() -> list[Physician]:
    """The register's GPs, by id: those kept by the process (:class:`SharedState`, shared with
    the pages' registers), read again only after a change of the GPs
    (:meth:`~mt_access.store.base.Store.physicians_version`), not at every change of the data.
    Pages showing GPs use it rather than :meth:`Register.physicians`, which reads the whole
    capacity ledger along with them."""
    shared = settings().shared
    version = store().physicians_version()  # before reading: what is kept is as new as it
    found = shared.physicians(version)
    if found is None:
        found = {p.id: p for p in store().physicians()}
        shared.put_physicians(version, found)
    return [found[pid] for pid in sorted(found)]


def settings() -> WebSettings:
    """The current application's :class:`WebSettings`."""
    found: WebSettings = current_app.extensions[EXTENSION]
    return found


def register() -> Register:
    """The register of this request (opened on first use)."""
    found: Register | None = g.get("_mt_register")
    if found is None:
        chosen = settings()
        found = Register(chosen.open_store(), chosen.policy, shared=chosen.shared)
        g._mt_register = found
    return found


def store() -> Store:
    """The store of this request's register."""
    return register().store


def close_register(_exc: BaseException | None = None) -> None:
    """End of request: close the store opened for it, or keep it for the thread's next page
    (teardown)."""
    found: Register | None = g.pop("_mt_register", None)
    chosen = settings()
    if found is not None and chosen.close_after:
        chosen.release_store(found.store, _exc is not None)


def now() -> dt.datetime:
    """The current time (UTC, to the second)."""
    return settings().clock().astimezone(dt.UTC).replace(microsecond=0)


def today() -> dt.date:
    """The date of the events recorded now."""
    return settings().today()


def cached(key: str, seconds: float, compute: Callable[[], Any]) -> tuple[dt.datetime, Any]:
    """``compute()``, or its result kept for ``seconds`` under ``key`` (by this process), with
    when it was computed. Pages whose figures may lag a little use it on large registers."""
    chosen = settings()
    at = now()
    found = chosen.cache.get(key)
    if found is not None and (at - found[0]).total_seconds() < seconds:
        return found
    value = (at, compute())
    chosen.cache[key] = value
    return value


def forget_cached() -> None:
    """Empty the cache after a write through the pages (the next dashboard is recomputed)."""
    settings().cache.clear()


def by_data(key: str, compute: Callable[[], Any]) -> Any:
    """``compute()``, kept under ``key`` (by this process) until the register's data changes:
    recomputed when the store's :meth:`~mt_access.store.base.Store.data_version` differs from
    the one it was computed at (a write by this process, another process or connection). The
    version is read before computing, so a value is never kept under a newer version than the
    data it was computed from. Audit lines, logins and settings do not change the version.

    ``compute`` must depend on nothing but the register's data and ``key`` (put the date in
    the key, after a colon: ``"position:2026-03-16"``; the same family's other keys, another
    day's, are dropped when a new one is computed)."""
    chosen = settings()
    version = store().data_version()
    found = chosen.data_cache.get(key)
    if found is not None and found[0] == version:
        return found[1]
    family = key.partition(":")[0] + ":"
    for other in [k for k in list(chosen.data_cache) if k.startswith(family) and k != key]:
        chosen.data_cache.pop(other, None)  # another day's figures: not needed again
    with chosen.data_lock(key):
        version = store().data_version()
        found = chosen.data_cache.get(key)
        if found is not None and found[0] == version:
            return found[1]  # computed by another thread meanwhile
        value = compute()
        chosen.data_cache[key] = (version, value)
        return value
