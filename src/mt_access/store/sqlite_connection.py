"""The connection side of :class:`~mt_access.store.sqlite.SQLiteStore`: opening the file,
checking and upgrading its schema, transactions, savepoints and the change counters.

The data operations (requests, GPs, ledger, runs, sendings, accounts, audit) are in
:mod:`mt_access.store.sqlite`, on the subclass.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from pathlib import Path
from typing import Self

from mt_access.store.base import (
    StoreError,
)
from mt_access.store.migrations import APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION
from mt_access.store.sql_common import SQLStoreBase
from mt_access.store.sqlite_errors import SQLITE_REASONS, guard, sqlite_reason
from mt_access.store.sqlite_schema import (
    BUMP_DATA_VERSION,
    BUMP_PHYSICIANS_VERSION,
    REGISTER_FORMAT,
)

__all__ = ["SQLiteConnection"]

_WRITERS: dict[str, threading.Lock] = {}
_WRITERS_GUARD = threading.Lock()


ANALYSIS_LIMIT = 400
"""Rows of each index that ``PRAGMA optimize`` samples at a close (SQLite's advice)."""

OPTIMIZE_SECONDS = 600.0
"""A process runs ``PRAGMA optimize`` on a file at most once in this many seconds: at the
first close (a command's only one), then again when a close comes this long after."""

_OPTIMIZED: dict[str, float] = {}


def _writer_lock(path: Path) -> threading.Lock:
    """The process's lock for writing ``path``: the threads of one process that write the
    same file (a web server's) queue on it and are woken as soon as the write before theirs
    ends. Without it they wait in SQLite's busy handler, which polls with sleeps growing to
    100 ms: under a few writes a second most of a page's tail time was spent asleep there
    while the file was free. Other processes still wait in the busy handler."""
    key = os.path.realpath(path)
    with _WRITERS_GUARD:
        return _WRITERS.setdefault(key, threading.Lock())


class SQLiteConnection(SQLStoreBase[sqlite3.Connection]):
    """One SQLite register file opened: see :class:`~mt_access.store.sqlite.SQLiteStore`
    for the arguments and the errors."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        create: bool = True,
        readonly: bool = False,
        timeout: float = 30.0,
    ) -> None:
        self._path = Path(path)
        self._readonly = readonly
        self._timeout = timeout
        self._depth = 0
        self._durable = True
        self._erased = False
        self._gps_changed = False
        self._data_changed = False
        self._conn: sqlite3.Connection | None = None
        self._conn = self._connect(create=create and not readonly)
        self._writing = _writer_lock(self._path)

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str],
        *,
        create: bool = True,
        readonly: bool = False,
        timeout: float = 30.0,
    ) -> Self:
        """Open (and, if ``create``, create) the register file ``path``: same as the
        constructor."""
        return cls(path, create=create, readonly=readonly, timeout=timeout)

    def __repr__(self) -> str:
        return f"<SQLiteStore {self._path} ({self._shown_state()})>"

    # ---------------------------------------------------------------------------------------
    # Opening

    @property
    def path(self) -> Path:
        """The register file."""
        return self._path

    def _fail(self, message: str) -> StoreError:
        return StoreError(message, path=str(self._path))

    def _connect(self, *, create: bool) -> sqlite3.Connection:
        path = self._path
        if path.is_dir():
            raise self._fail("c'est un dossier, pas un fichier de registre")
        if not path.exists() and not create:
            raise self._fail("registre introuvable")
        try:
            if self._readonly:
                uri = path.resolve().as_uri() + "?mode=ro"
                conn = sqlite3.connect(uri, uri=True, isolation_level=None, timeout=self._timeout)
            else:
                conn = sqlite3.connect(path, isolation_level=None, timeout=self._timeout)
        except sqlite3.Error as exc:
            reason = sqlite_reason(exc) or f"impossible d'ouvrir le fichier ({exc})"
            raise self._fail(reason) from exc
        try:
            self._prepare(conn, create=create)
        except BaseException:
            conn.close()
            raise
        return conn

    def _prepare(self, conn: sqlite3.Connection, *, create: bool) -> None:
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(self._timeout * 1000)}")
            application_id, version, empty = self._header(conn)
        except sqlite3.DatabaseError as exc:
            # a full disk or a permission is not "not a database": say which it is
            raise self._fail(sqlite_reason(exc) or SQLITE_REASONS["SQLITE_NOTADB"]) from exc
        self._check_header(application_id, version, empty, create=create)
        try:
            if not self._readonly:
                mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
                if str(mode).lower() != "wal":
                    conn.execute("PRAGMA journal_mode = WAL")
                conn.execute("PRAGMA synchronous = FULL")
                conn.execute("PRAGMA foreign_keys = ON")
                conn.execute("PRAGMA secure_delete = ON")
                conn.execute("PRAGMA cache_size = -65536")
                if version < SCHEMA_VERSION:
                    self._migrate(conn, create=create)
            fmt = conn.execute("SELECT value FROM meta WHERE key = 'format'").fetchone()
        except sqlite3.Error as exc:
            reason = sqlite_reason(exc) or str(exc)
            raise self._fail(f"ouverture du registre impossible ({reason})") from exc
        if fmt is None or fmt[0] != REGISTER_FORMAT:
            raise self._fail("ce fichier n'est pas un registre mt-access (table meta invalide)")

    @staticmethod
    def _header(conn: sqlite3.Connection) -> tuple[int, int, bool]:
        application_id = int(conn.execute("PRAGMA application_id").fetchone()[0])
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        empty = conn.execute("SELECT COUNT(*) FROM sqlite_schema").fetchone()[0] == 0
        return application_id, version, empty

    def _check_header(
        self, application_id: int, version: int, empty: bool, *, create: bool
    ) -> None:
        if application_id == 0 and version == 0 and empty:
            if not create:
                hint = " (ouvrez-le en écriture pour y créer un registre)" if self._readonly else ""
                raise self._fail(f"fichier vide : ce n'est pas un registre mt-access{hint}")
            return
        if application_id != APPLICATION_ID:
            raise self._fail(
                "ce fichier est une base SQLite, mais pas un registre mt-access "
                f"(application_id {application_id})"
            )
        if version > SCHEMA_VERSION:
            raise self._fail(
                f"registre au schéma version {version}, écrit par une version plus récente de "
                f"mt-access ; cette version lit les schémas jusqu'à la version "
                f"{SCHEMA_VERSION} : mettez mt-access à jour"
            )
        if version < 1:
            raise self._fail(f"version de schéma invalide : {version}")
        if version < SCHEMA_VERSION and self._readonly:
            raise self._fail(
                f"registre au schéma version {version}, à mettre à jour en version "
                f"{SCHEMA_VERSION} : ouvrez-le une fois en écriture (sans lecture seule)"
            )

    def _migrate(self, conn: sqlite3.Connection, *, create: bool) -> None:
        """Bring the file to :data:`SCHEMA_VERSION` in one write transaction."""
        conn.execute("BEGIN IMMEDIATE")
        try:
            application_id, version, empty = self._header(conn)  # another process may have
            self._check_header(application_id, version, empty, create=create)  # done it
            for step in MIGRATIONS[version:]:
                step(conn)
            conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    @property
    def schema_version(self) -> int:
        """The schema version of the file (:data:`SCHEMA_VERSION` once opened)."""
        with self._guard("lecture de la version du schéma"):
            return int(self._connection().execute("PRAGMA user_version").fetchone()[0])

    # ---------------------------------------------------------------------------------------
    # Connection, errors, transactions

    def _guard(self, what: str) -> AbstractContextManager[None]:
        """Turn SQLite errors and undecodable values into :class:`StoreError`
        (:func:`~mt_access.store.sqlite_errors.guard`)."""
        return guard(what, self._fail, self._timeout)

    @contextmanager
    def _snapshot(self) -> Iterator[sqlite3.Connection]:
        """A read transaction (or the current transaction): several queries see one state."""
        conn = self._connection()
        if conn.in_transaction:
            yield conn
            return
        conn.execute("BEGIN")
        try:
            yield conn
        finally:
            # Nothing to commit in a read transaction; ending it cannot lose anything.
            if conn.in_transaction:
                with suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")

    @contextmanager
    def _savepoint(self, conn: sqlite3.Connection) -> Iterator[None]:
        """One write operation: all of it or none of it, even if the caller catches its error
        and goes on with the transaction."""
        conn.execute("SAVEPOINT op")
        try:
            yield
        except BaseException:
            conn.execute("ROLLBACK TO op")
            conn.execute("RELEASE op")
            raise
        conn.execute("RELEASE op")

    @contextmanager
    def transaction(self, *, durable: bool = True) -> Iterator[None]:
        """Writes inside are committed together at the end (``BEGIN IMMEDIATE`` ...
        ``COMMIT``), or rolled back if the block raises. Nested calls join the outermost
        transaction.

        Raises:
            StoreError: the store is closed or read-only, or another process kept the
                register locked longer than ``timeout``.
        """
        conn = self._transaction_connection(durable)
        if self._depth:
            with self._joined():
                yield
            return
        started = time.monotonic()
        if not self._writing.acquire(timeout=self._timeout):
            raise self._fail(
                f"début de transaction : registre occupé depuis plus de {self._timeout:g} s ; "
                "réessayez"
            )
        try:
            yield from self._write_transaction(conn, started, durable)
        finally:
            if not self._durable:
                with suppress(sqlite3.Error):  # else the next durable transaction sets it
                    conn.execute("PRAGMA synchronous = FULL")
                    self._durable = True
            self._writing.release()

    def _write_transaction(
        self, conn: sqlite3.Connection, started: float, durable: bool
    ) -> Iterator[None]:
        """The body of :meth:`transaction`, once this process's writer lock is held: the
        busy handler waits what is left of ``timeout`` for other processes. A non-durable
        transaction commits with ``synchronous = NORMAL`` (the write-ahead log is not synced
        at its commit; SQLite allows the change only between transactions)."""
        with self._guard("début de transaction"):
            if conn.in_transaction:  # a read snapshot left open by an interrupted read
                conn.execute("ROLLBACK")
            if durable != self._durable:  # as the last change of it left it, if it failed
                conn.execute(f"PRAGMA synchronous = {'FULL' if durable else 'NORMAL'}")
                self._durable = durable
            left = max(0.0, self._timeout - (time.monotonic() - started))
            conn.execute(f"PRAGMA busy_timeout = {int(left * 1000)}")
            try:
                conn.execute("BEGIN IMMEDIATE")
            finally:
                conn.execute(f"PRAGMA busy_timeout = {int(self._timeout * 1000)}")
        self._depth = 1
        self._erased = False
        self._data_changed = self._gps_changed = False
        try:
            yield
        except BaseException:
            self._depth = 0
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        try:
            with self._guard("validation de la transaction"):
                conn.execute("UPDATE meta SET value = value + 1 WHERE key = 'commits'")
                if self._data_changed:
                    conn.execute(BUMP_DATA_VERSION)
                if self._gps_changed:
                    conn.execute(BUMP_PHYSICIANS_VERSION)
                conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        finally:
            self._depth = 0
        if self._erased:
            self._erased = False
            self._forget_erased(conn)

    def _forget_erased(self, conn: sqlite3.Connection) -> None:
        """After an erasure: copy the log into the file (where ``secure_delete`` overwrote
        the old values) and truncate it. Best effort and without waiting: a reader holding an
        older snapshot may keep old pages a while, and later checkpoints finish the work."""
        with suppress(sqlite3.Error):
            conn.execute("PRAGMA busy_timeout = 0")
            try:
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
            finally:
                conn.execute(f"PRAGMA busy_timeout = {int(self._timeout * 1000)}")

    @property
    def version(self) -> int:
        """The number of committed transactions of the file, by any process."""
        with self._guard("lecture du compteur de transactions"):
            row = (
                self._connection()
                .execute("SELECT value FROM meta WHERE key = 'commits'")
                .fetchone()
            )
            return int(row[0])

    def data_version(self) -> str:
        """The number of committed transactions that changed the register's data (the
        ``data`` row of the ``meta`` table; absent: 0), by any process. Inside a write
        transaction that changed the data, its own commit counts already (it holds the
        file's write lock, so it is the next one)."""
        with self._guard("lecture du compteur de modifications"):
            row = self._connection().execute("SELECT value FROM meta WHERE key = 'data'").fetchone()
            value = 0 if row is None else int(row[0])
            if self._depth and self._data_changed:
                value += 1
            return str(value)

    def physicians_version(self) -> str:
        """The number of committed transactions that wrote a physician (the ``gps`` row of
        the ``meta`` table; absent: 0), by any process; inside a write transaction that wrote
        one, its own commit counts already."""
        with self._guard("lecture du compteur de modifications des médecins"):
            row = self._connection().execute("SELECT value FROM meta WHERE key = 'gps'").fetchone()
            value = 0 if row is None else int(row[0])
            if self._depth and self._gps_changed:
                value += 1
            return str(value)

    def _data_writer(self) -> sqlite3.Connection:
        """:meth:`_writer` for the register's data (:meth:`data_version` changes at commit)."""
        conn = self._writer()
        self._data_changed = True
        return conn

    def _optimize(self, conn: sqlite3.Connection) -> None:
        """Let SQLite refresh its statistics before closing (``PRAGMA optimize``, as its
        documentation advises), bounded and never waited for.

        * ``analysis_limit`` bounds each index's ANALYZE to a sample (SQLite's advice for
          ``optimize``). Without it a table whose partial index is still empty (no run
          tagged yet: ``transitions_by_run``) was analysed whole at every close, because an
          empty index never gets its row of statistics: 70 ms of a web page's time at
          388,000 transitions, and the write lock held meanwhile.
        * A process runs it on a file at most once in :data:`OPTIMIZE_SECONDS` (a web
          server opens and closes the file for every page: the statistics do not change
          that fast).
        * It runs only when no other thread of the process is writing the file (the
          process's writer lock, taken without waiting): statistics are advisory, a page
          closing its register must not queue behind a write for them.
        """
        key = os.path.realpath(self._path)
        now = time.monotonic()
        with _WRITERS_GUARD:
            last = _OPTIMIZED.get(key)
            if last is not None and now - last < OPTIMIZE_SECONDS:
                return
            _OPTIMIZED[key] = now
        if not self._writing.acquire(blocking=False):
            return
        try:
            conn.execute(f"PRAGMA analysis_limit = {ANALYSIS_LIMIT}")
            conn.execute("PRAGMA busy_timeout = 0")
            conn.execute("PRAGMA optimize")
        finally:
            self._writing.release()

    def close(self) -> None:
        """Close the file (a transaction in progress is rolled back); the store is unusable
        afterwards. Closing twice does nothing."""
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            if not self._readonly:
                self._optimize(conn)
        except sqlite3.Error:
            pass
        finally:
            conn.close()
