"""Connections to a PostgreSQL register kept open and lent to one store at a time.

A web application opens a store for each HTTP request: on PostgreSQL a new connection costs
about 10 ms (and a server process). :class:`PostgresPool` keeps connections open
(psycopg-pool's :class:`~psycopg_pool.ConnectionPool`) and lends one to each store it opens;
closing the store gives it back. Each loan sets the connection's CPTS anew (the
``mt_access.cpts`` setting that the row-level policies read) and checks the register in the
same round trip; a connection given back is rolled back and its CPTS emptied, so that a
connection reused for another CPTS never sees the first one's rows.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg_pool import ConnectionPool

from mt_access.store.postgres import PostgresStore
from mt_access.store.postgres_errors import split_url

__all__ = ["PostgresPool"]

Pool = ConnectionPool[psycopg.Connection[tuple[Any, ...]]]


class PostgresPool:
    """Stores of one PostgreSQL register database sharing connections kept open.

    Args:
        url: as :class:`~mt_access.store.postgres.PostgresStore`'s (``cpts=`` names the CPTS
            of the stores opened without one).
        readonly: the stores are opened for reading only.
        timeout: seconds to wait for a lock, for the server, and for a free connection.
        max_size: connections kept open at most (a store waits for a free one beyond).

    The database is checked (and its schema upgraded, unless ``readonly``) once, here; the
    CPTS's register must exist. Call :meth:`close` at the end (or use ``with``).

    Raises:
        StoreError: as :class:`~mt_access.store.postgres.PostgresStore`.
    """

    def __init__(
        self, url: str, *, readonly: bool = False, timeout: float = 30.0, max_size: int = 10
    ) -> None:
        self._url = url
        self._readonly = readonly
        self._timeout = timeout
        PostgresStore(url, create=False, readonly=readonly, timeout=timeout).close()
        conninfo, _ = split_url(url)
        settings = (
            f"SET lock_timeout = {int(timeout * 1000)}",
            # see PostgresConnection._connect: plan each call for the table's size
            "SET plan_cache_mode = force_custom_plan",
        )

        def configure(conn: psycopg.Connection[tuple[Any, ...]]) -> None:
            for statement in settings:
                conn.execute(statement)

        self.pool: Pool = ConnectionPool(
            conninfo,
            kwargs={
                "autocommit": True,
                "connect_timeout": max(1, int(timeout)),
                "application_name": "mt-access",
            },
            min_size=0,
            max_size=max_size,
            timeout=timeout,
            configure=configure,
            reset=_no_cpts,
            check=ConnectionPool.check_connection,
            name="mt-access",
            open=True,
        )

    def store(self, cpts: str | None = None) -> PostgresStore:
        """A store on a connection of the pool (the URL's CPTS, or ``cpts``); closing it
        gives the connection back.

        Raises:
            StoreError: no connection could be had within ``timeout``; the CPTS has no
                register there, or the role belongs to another CPTS.
        """
        return PostgresStore(
            self._url,
            cpts=cpts,
            create=False,
            readonly=self._readonly,
            timeout=self._timeout,
            pool=self.pool,
        )

    def __call__(self) -> PostgresStore:
        """:meth:`store`: a pool is what a web application calls to open its store."""
        return self.store()

    def close(self) -> None:
        """Close every connection; the stores still open keep theirs until they close."""
        self.pool.close()

    def __enter__(self) -> PostgresPool:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def _no_cpts(conn: psycopg.Connection[tuple[Any, ...]]) -> None:
    """A connection given back to the pool: no CPTS until the next loan sets one."""
    conn.execute("SELECT set_config('mt_access.cpts', '', false)")
