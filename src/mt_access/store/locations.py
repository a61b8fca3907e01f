"""Where a register is: a file path (SQLite, the default) or a ``postgresql://`` URL.

:func:`open_store` opens either from the text the user gave (``--registre``,
``MT_ACCESS_REGISTRE``); :func:`shown_location` is what messages show of it (a URL's password
masked). psycopg is imported only when a URL names a PostgreSQL database, so that the
embedded default needs nothing more than Python.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING

from mt_access.store.base import StoreError
from mt_access.store.sqlite import SQLiteStore

if TYPE_CHECKING:
    from mt_access.store.postgres import PostgresStore

__all__ = ["is_store_url", "open_store", "shown_location", "store_opener"]

_SCHEMES = ("postgresql://", "postgres://")


def is_store_url(location: str | os.PathLike[str]) -> bool:
    """Whether ``location`` is a PostgreSQL URL rather than a file path."""
    return isinstance(location, str) and location.lower().startswith(_SCHEMES)


def shown_location(location: str | os.PathLike[str]) -> str:
    """``location`` as messages show it: a URL with its password masked, a path as given."""
    if is_store_url(location):
        from mt_access.store.postgres_errors import mask_url

        return mask_url(str(location))
    return os.fspath(location)


def open_store(
    location: str | os.PathLike[str],
    *,
    create: bool = False,
    readonly: bool = False,
    timeout: float = 30.0,
) -> SQLiteStore | PostgresStore:
    """Open the register at ``location``: a ``postgresql://`` URL (the ``postgres`` extra,
    :class:`~mt_access.store.postgres.PostgresStore`) or a file path
    (:class:`~mt_access.store.sqlite.SQLiteStore`).

    Raises:
        StoreError: the register cannot be opened (see the two stores), or psycopg is not
            installed for a URL.
    """
    if not is_store_url(location):
        return SQLiteStore(location, create=create, readonly=readonly, timeout=timeout)
    try:
        from mt_access.store.postgres import PostgresStore
    except ImportError:
        raise StoreError(
            "registre PostgreSQL : le module psycopg manque ; installez mt-access avec "
            "l'extra postgres (pip install 'mt-access[postgres]')",
            path=shown_location(location),
        ) from None
    return PostgresStore(str(location), create=create, readonly=readonly, timeout=timeout)


def store_opener(url: str, *, timeout: float = 30.0) -> Callable[[], SQLiteStore | PostgresStore]:
    """What opens the register at the PostgreSQL ``url`` again and again (a web application,
    one store per HTTP request): a :class:`~mt_access.store.postgres_pool.PostgresPool`,
    whose stores borrow a connection kept open (closing a store gives it back), or, without
    psycopg-pool, :func:`open_store` (a new connection each time). The register is checked
    once here.

    Raises:
        StoreError: as :func:`open_store`.
    """
    try:
        from mt_access.store.postgres_pool import PostgresPool
    except ImportError:
        open_store(url, timeout=timeout).close()  # the same checks, and psycopg's message
        return lambda: open_store(url, timeout=timeout)
    return PostgresPool(url, timeout=timeout)
