"""What a page reaches during a request: the register opened for it, the clock, the actor.

One register is opened per request, on first use (:func:`register`), and closed when the
request ends; the application's :class:`WebSettings` say how to open its store.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
from flask import current_app, g

from mt_access.policy import Policy
from mt_access.register import Register
from mt_access.store.base import Store

if TYPE_CHECKING:
    from argon2 import PasswordHasher

__all__ = [
    "WebSettings",
    "cached",
    "close_register",
    "forget_cached",
    "now",
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
        cache: results kept a short while by the pages (the dashboard's figures), by key,
            with when they were computed; emptied by :func:`forget_cached` after a write.
    """

    open_store: Callable[[], Store]
    close_after: bool
    policy: Policy
    path: Path | None
    clock: Callable[[], dt.datetime]
    today: Callable[[], dt.date]
    hasher: PasswordHasher
    cache: dict[str, tuple[dt.datetime, Any]] = attrs.field(factory=dict, eq=False)


def settings() -> WebSettings:
    """The current application's :class:`WebSettings`."""
    found: WebSettings = current_app.extensions[EXTENSION]
    return found


def register() -> Register:
    """The register of this request (opened on first use)."""
    found: Register | None = g.get("_mt_register")
    if found is None:
        chosen = settings()
        found = Register(chosen.open_store(), chosen.policy)
        g._mt_register = found
    return found


def store() -> Store:
    """The store of this request's register."""
    return register().store


def close_register(_exc: BaseException | None = None) -> None:
    """End of request: close the store opened for it (teardown)."""
    found: Register | None = g.pop("_mt_register", None)
    if found is not None and settings().close_after:
        found.store.close()


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
