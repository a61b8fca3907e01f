"""The connection of the PostgreSQL store: opening a register (the database's marks, the
schema's steps, the CPTS), transactions (one writer at a time per CPTS), read snapshots,
savepoints; see :mod:`mt_access.store.postgres` for what they guarantee.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, suppress
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg.pq import TransactionStatus

from mt_access.lifecycle import Transition
from mt_access.store import codec
from mt_access.store.base import (
    StoreError,
    version_number,
)
from mt_access.store.postgres_errors import connection_error, guard, mask_url, reason, split_url
from mt_access.store.postgres_schema import (
    CHANGED_REQUESTS,
    CHANGES_FROM_QUERY,
    POSTGRES_SCHEMA_VERSION,
    REGISTER_FORMAT,
    RUN_TRANSITIONS,
    STEPS,
)
from mt_access.store.sql_common import SQLStoreBase

if TYPE_CHECKING:
    from psycopg_pool import ConnectionPool

    from mt_access.model import Physician

    Pool = ConnectionPool[psycopg.Connection[tuple[Any, ...]]]

__all__ = ["DEFAULT_CPTS", "Connection", "Cursor", "PostgresConnection", "Step"]

DEFAULT_CPTS = "principal"
"""The CPTS of a register opened without ``cpts=`` by a role that belongs to none."""

_SCHEMA_LOCK = 0x6D744163  # advisory lock held while creating or upgrading the schema
_ERASED_TABLES = "mt_access.identities, mt_access.transitions, mt_access.requests"

Connection = psycopg.Connection[tuple[Any, ...]]
Cursor = psycopg.Cursor[tuple[Any, ...]]
Step = tuple[str, Any, bool]
"""One statement of a pipeline: the query, its parameters (the rows' with ``many``), many."""


class PostgresConnection(SQLStoreBase[Connection]):
    """The connection of a :class:`~mt_access.store.postgres.PostgresStore`: opening (the
    database's marks, the schema's steps, the CPTS), transactions, snapshots, savepoints
    and errors. See :class:`~mt_access.store.postgres.PostgresStore` for the arguments."""

    def __init__(
        self,
        url: str,
        *,
        cpts: str | None = None,
        create: bool = True,
        readonly: bool = False,
        timeout: float = 30.0,
        pool: Pool | None = None,
    ) -> None:
        self._url = url
        self._shown = mask_url(url)
        self._readonly = readonly
        self._timeout = timeout
        self._depth = 0
        self._durable = True
        self._erased = False
        self._conn: Connection | None = None
        # the physicians decoded at the last whole read, by their row (see physicians())
        self._decoded_physicians: dict[tuple[Any, ...], Physician] = {}
        conninfo, from_url = split_url(url)
        wanted = cpts if cpts is not None else from_url
        self._cpts = ""
        self._pool = pool
        if pool is None:
            self._conn = self._connect(conninfo, wanted, create=create and not readonly)
        else:
            self._conn = self._borrow(pool, wanted, create=create and not readonly)

    def __repr__(self) -> str:
        return f"<PostgresStore {self._shown} CPTS {self._cpts} ({self._shown_state()})>"

    # ---------------------------------------------------------------------------------------
    # Opening

    @property
    def location(self) -> str:
        """The register's URL, password masked."""
        return self._shown

    @property
    def cpts(self) -> str:
        """The CPTS whose register this is."""
        return self._cpts

    def _fail(self, message: str) -> StoreError:
        where = self._shown if not self._cpts else f"{self._shown} (CPTS {self._cpts})"
        return StoreError(message, path=where)

    def _guard(self, what: str) -> AbstractContextManager[None]:
        return guard(what, self._fail, self._timeout)

    def _connect(self, conninfo: str, wanted: str | None, *, create: bool) -> Connection:
        try:
            conn: Connection = psycopg.connect(
                conninfo,
                autocommit=True,
                connect_timeout=max(1, int(self._timeout)),
                application_name="mt-access",
            )
        except psycopg.Error as exc:
            raise self._fail(f"connexion impossible ({reason(exc)})") from None
        try:
            with self._guard("ouverture du registre"):
                conn.execute(f"SET lock_timeout = {int(self._timeout * 1000)}")
                # psycopg prepares a query run 5 times; a generic plan made while a table was
                # small (a new CPTS's first import) would then scan it whole at every call as
                # it grows in the same transaction: plan each call for the table's size.
                conn.execute("SET plan_cache_mode = force_custom_plan")
                self._prepare(conn, wanted, create=create)
        except BaseException:
            conn.close()
            raise
        return conn

    def _borrow(self, pool: Pool, wanted: str | None, *, create: bool) -> Connection:
        """A connection of ``pool`` (:class:`~mt_access.store.postgres_pool.PostgresPool`),
        set to this store's CPTS: the setting, the schema's marks, the role's CPTS and the
        register checked in one round trip (the pool checked the schema at its start)."""
        try:
            conn = pool.getconn(timeout=self._timeout)
        except Exception as exc:  # psycopg_pool.PoolTimeout, psycopg.Error
            raise self._fail(connection_error(exc)) from None
        try:
            with self._guard("ouverture du registre"):
                if wanted is not None and not wanted.strip():
                    raise self._fail("nom de CPTS vide")
                _, marks, found = self._pipelined(
                    conn,
                    [("SELECT set_config('mt_access.cpts', %s, false)",
                      (wanted or DEFAULT_CPTS,), False),
                     ("SELECT format, version FROM mt_access.schema_info", None, False),
                     ("SELECT (SELECT r.cpts FROM mt_access.cpts_roles AS r "
                      "WHERE r.role_name = current_user), EXISTS (SELECT 1 FROM "
                      "mt_access.registers WHERE cpts = mt_access.current_cpts())", None, False)],
                )  # fmt: skip
                row, mine = marks.fetchone(), found.fetchone()
                assert mine is not None
                if row is None or (str(row[0]), int(row[1])) != (
                    REGISTER_FORMAT,
                    POSTGRES_SCHEMA_VERSION,
                ):  # changed since the pool started: the whole opening (raises, or upgrades)
                    self._prepare(conn, wanted, create=create)
                    return conn
                own = None if mine[0] is None else str(mine[0])
                if own is not None and wanted is not None and wanted != own:
                    raise self._fail(
                        f"ce rôle PostgreSQL n'a accès qu'au registre de la CPTS {own}, "
                        f"pas à celui de la CPTS {wanted}"
                    )
                self._cpts = own or wanted or DEFAULT_CPTS
                if not mine[1]:
                    if not create:
                        raise self._fail("aucun registre de cette CPTS dans cette base")
                    self._prepare(conn, wanted, create=create)
        except BaseException:
            self._give_back(conn)
            raise
        return conn

    def _give_back(self, conn: Connection) -> None:
        """Roll back what ``conn`` left open and give it back to the pool (which empties its
        CPTS) or close it."""
        try:
            self._rollback(conn)
        finally:
            if self._pool is None:
                conn.close()
            else:
                self._pool.putconn(conn)

    def _schema_state(self, conn: Connection) -> tuple[bool, tuple[str, int] | None]:
        """Whether the ``mt_access`` schema exists, and its marks (format, version)."""
        row = conn.execute(
            "SELECT to_regnamespace('mt_access') IS NOT NULL, "
            "to_regclass('mt_access.schema_info') IS NOT NULL"
        ).fetchone()
        assert row is not None
        has_schema, has_info = bool(row[0]), bool(row[1])
        if not has_info:
            return has_schema, None
        marks = conn.execute("SELECT format, version FROM mt_access.schema_info").fetchone()
        if marks is None:
            return True, ("", 0)
        return True, (str(marks[0]), int(marks[1]))

    def _check_marks(
        self, has_schema: bool, marks: tuple[str, int] | None, *, create: bool
    ) -> bool:
        """Whether the schema must be created or upgraded; raises when it cannot be opened."""
        if marks is None:
            if has_schema:
                raise self._fail(
                    "cette base a un schéma mt_access qui n'est pas un registre mt-access"
                )
            if not create:
                hint = " (ouvrez-la en écriture pour y créer un registre)" if self._readonly else ""
                raise self._fail(f"base PostgreSQL sans registre mt-access{hint}")
            return True
        fmt, version = marks
        if fmt != REGISTER_FORMAT:
            raise self._fail("cette base n'est pas un registre mt-access (schema_info invalide)")
        if version > POSTGRES_SCHEMA_VERSION:
            raise self._fail(
                f"registre au schéma version {version}, écrit par une version plus récente de "
                f"mt-access ; cette version lit les schémas jusqu'à la version "
                f"{POSTGRES_SCHEMA_VERSION} : mettez mt-access à jour"
            )
        if version < 1:
            raise self._fail(f"version de schéma invalide : {version}")
        if version < POSTGRES_SCHEMA_VERSION:
            if self._readonly:
                raise self._fail(
                    f"registre au schéma version {version}, à mettre à jour en version "
                    f"{POSTGRES_SCHEMA_VERSION} : ouvrez-le une fois en écriture"
                )
            return True
        return False

    def _prepare(self, conn: Connection, wanted: str | None, *, create: bool) -> None:
        has_schema, marks = self._schema_state(conn)
        if self._check_marks(has_schema, marks, create=create):
            self._migrate(conn, create=create)
        if wanted is not None and not wanted.strip():
            raise self._fail("nom de CPTS vide")
        conn.execute("SELECT set_config('mt_access.cpts', %s, false)", (wanted or DEFAULT_CPTS,))
        row = conn.execute(
            "SELECT r.cpts FROM mt_access.cpts_roles AS r WHERE r.role_name = current_user"
        ).fetchone()
        if row is not None:
            own = str(row[0])
            if wanted is not None and wanted != own:
                raise self._fail(
                    f"ce rôle PostgreSQL n'a accès qu'au registre de la CPTS {own}, "
                    f"pas à celui de la CPTS {wanted}"
                )
            self._cpts = own
        else:
            self._cpts = wanted or DEFAULT_CPTS
        found = conn.execute(
            "SELECT 1 FROM mt_access.registers WHERE cpts = %s", (self._cpts,)
        ).fetchone()
        if found is None:
            if not create:
                raise self._fail("aucun registre de cette CPTS dans cette base")
            conn.execute(
                "INSERT INTO mt_access.registers (cpts) VALUES (%s) ON CONFLICT DO NOTHING",
                (self._cpts,),
            )

    def _migrate(self, conn: Connection, *, create: bool) -> None:
        """Create the schema or bring it to :data:`POSTGRES_SCHEMA_VERSION`, in one
        transaction, under an advisory lock (another process may be doing it)."""
        conn.execute("BEGIN")
        try:
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
            has_schema, marks = self._schema_state(conn)
            if self._check_marks(has_schema, marks, create=create):
                version = 0 if marks is None else marks[1]
                for reached, statements in STEPS:
                    if reached > version:
                        for statement in statements:
                            conn.execute(statement)
                conn.execute(
                    "INSERT INTO mt_access.schema_info (format, version) VALUES (%s, %s) "
                    "ON CONFLICT (singleton) DO UPDATE SET version = EXCLUDED.version",
                    (REGISTER_FORMAT, POSTGRES_SCHEMA_VERSION),
                )
            conn.execute("COMMIT")
        except BaseException:
            if conn.info.transaction_status != TransactionStatus.IDLE:
                conn.execute("ROLLBACK")
            raise

    @property
    def schema_version(self) -> int:
        """The schema version of the database (:data:`POSTGRES_SCHEMA_VERSION` once opened)."""
        with self._guard("lecture de la version du schéma"):
            row = self._one("SELECT version FROM mt_access.schema_info", ())
            if row is None:
                raise self._fail("schema_info vide : ce n'est pas un registre mt-access")
            return int(row[0])

    # ---------------------------------------------------------------------------------------
    # Connection, transactions

    @contextmanager
    def _snapshot(self, *, views: bool = False) -> Iterator[Connection]:
        """A read snapshot (or the current transaction): several queries see one state."""
        conn = self._connection()
        if self._depth or conn.info.transaction_status == TransactionStatus.INTRANS:
            yield conn  # inside the write transaction (even a failed one: never end it here)
            return
        if conn.info.transaction_status != TransactionStatus.IDLE:
            conn.execute("ROLLBACK")
        conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ" + ("" if views else " READ ONLY"))
        try:
            yield conn
        finally:
            if conn.info.transaction_status != TransactionStatus.IDLE:
                with suppress(psycopg.Error):
                    conn.execute("ROLLBACK")

    @staticmethod
    def _pipelined(conn: Connection, steps: Sequence[Step]) -> list[Cursor]:
        """Run ``steps`` in one pipeline (one round trip to the server instead of one per
        statement); their cursors, results fetched. The first error is raised once the
        pipeline ended (the statements after a failed one are not run)."""
        cursors: list[Cursor] = []
        first: psycopg.Error | None = None
        try:
            with conn.pipeline():
                try:
                    for query, params, many in steps:
                        cursor = conn.cursor()
                        if many:
                            cursor.executemany(query, params)
                        else:
                            cursor.execute(query, params)
                        cursors.append(cursor)
                except psycopg.Error as exc:
                    first = exc  # raised below: ending the pipeline would log it again
        except psycopg.Error as exc:
            first = first or exc
        if first is not None:
            raise first
        return cursors

    def _write(self, conn: Connection, steps: Sequence[Step]) -> list[Cursor]:
        """One write operation: all of ``steps`` or none of them, even if the caller catches
        its error and goes on with the transaction (a savepoint around them, sent with them
        in one pipeline); their cursors (after the savepoint's)."""
        try:
            done = self._pipelined(
                conn, [("SAVEPOINT op", None, False), *steps, ("RELEASE SAVEPOINT op", None, False)]
            )
        except BaseException:
            if conn.info.transaction_status in (
                TransactionStatus.INTRANS,
                TransactionStatus.INERROR,
            ):
                with suppress(psycopg.Error):  # no savepoint: the transaction stays failed
                    self._pipelined(
                        conn,
                        [("ROLLBACK TO SAVEPOINT op", None, False),
                         ("RELEASE SAVEPOINT op", None, False)],
                    )  # fmt: skip
            raise
        return done[1:-1]

    @contextmanager
    def transaction(self, *, durable: bool = True) -> Iterator[None]:
        """Writes inside are committed together at the end, or rolled back if the block
        raises. Nested calls join the outermost transaction.

        Raises:
            StoreError: the store is closed or read-only, the server cannot be reached, or
                another connection kept this CPTS's register locked longer than ``timeout``.
        """
        conn = self._transaction_connection(durable)
        if self._depth:
            with self._joined():
                yield
            return
        self._durable = durable
        with self._guard("début de transaction"):
            if conn.info.transaction_status != TransactionStatus.IDLE:
                conn.execute("ROLLBACK")  # a read snapshot left open by an interrupted read
            try:
                _, lock = self._pipelined(
                    conn,
                    [("BEGIN ISOLATION LEVEL READ COMMITTED", None, False),
                     ("SELECT commits FROM mt_access.registers WHERE cpts = %s FOR UPDATE",
                      (self._cpts,), False)],
                )  # fmt: skip
                locked = lock.fetchone()
            except BaseException:
                self._rollback(conn)
                raise
            if locked is None:
                self._rollback(conn)
                raise self._fail("aucun registre de cette CPTS dans cette base")
        self._depth = 1
        self._erased = False
        try:
            yield
        except BaseException:
            self._depth = 0
            self._rollback(conn)
            raise
        try:
            with self._guard("validation de la transaction"):
                if conn.info.transaction_status != TransactionStatus.INTRANS:
                    raise self._fail(
                        "transaction interrompue par une erreur : rien n'a été enregistré"
                    )
                # SET LOCAL: this transaction's commit alone does not wait for the disk
                lazy = [] if durable else [("SET LOCAL synchronous_commit = off", None, False)]
                self._pipelined(
                    conn,
                    [*lazy,
                     ("UPDATE mt_access.registers SET commits = commits + 1 WHERE cpts = %s",
                      (self._cpts,), False),
                     ("COMMIT", None, False)],
                )  # fmt: skip
        except BaseException:
            self._rollback(conn)
            raise
        finally:
            self._depth = 0
            self._durable = True
        if self._erased:
            self._erased = False
            self._forget_erased(conn)

    @staticmethod
    def _rollback(conn: Connection) -> None:
        if not conn.closed and conn.info.transaction_status != TransactionStatus.IDLE:
            with suppress(psycopg.Error):
                conn.execute("ROLLBACK")

    @staticmethod
    def _forget_erased(conn: Connection) -> None:
        """After an erasure: ``VACUUM`` the tables where the old values sat, so that their
        space is reused. Best effort: a role that does not own them gets a warning from the
        server and nothing is done (autovacuum does it later)."""
        with suppress(psycopg.Error):
            conn.execute(f"VACUUM {_ERASED_TABLES}")

    @property
    def version(self) -> int:
        """The number of committed transactions of this CPTS's register, by any process."""
        with self._guard("lecture du compteur de transactions"):
            row = (
                self._connection()
                .execute("SELECT commits FROM mt_access.registers WHERE cpts = %s", (self._cpts,))
                .fetchone()
            )
            if row is None:
                raise self._fail("aucun registre de cette CPTS dans cette base")
            return int(row[0])

    # ---------------------------------------------------------------------------------------
    # What changed since a data version, a run's events (indexed reads of schema version 13)

    def changed_requests(self, since: str) -> list[str] | None:
        """The CPTS's requests whose ``changed`` (stamped by a trigger with the data version
        their transaction's commit leaves, schema version 13) is above ``since``; ``None`` for
        a version below the CPTS's ``changes_from`` (its data version at the upgrade to
        version 13) or above its current one."""
        start = version_number(since)
        if start is None:
            return None
        with self._guard("lecture des demandes modifiées"), self._snapshot() as conn:
            row = conn.execute(CHANGES_FROM_QUERY, (self._cpts,)).fetchone()
            if row is None:
                raise self._fail("aucun registre de cette CPTS dans cette base")
            if start > int(row[0]) or start < int(row[1]):
                return None
            rows = conn.execute(CHANGED_REQUESTS, (self._cpts, start)).fetchall()
            return sorted(str(found[0]) for found in rows)

    def run_transitions(self, number: int) -> list[Transition]:
        with self._guard(f"lecture des transitions du passage n° {number}"):
            return codec.decode_transitions(self._all(RUN_TRANSITIONS, (self._cpts, number)))

    def close(self) -> None:
        """Close the connection (a transaction in progress is rolled back); the store is
        unusable afterwards. Closing twice does nothing."""
        conn, self._conn = self._conn, None
        if conn is not None:
            self._give_back(conn)

    def _one(self, query: str, params: Sequence[Any]) -> tuple[Any, ...] | None:
        found = findable(params)
        return None if found is None else self._connection().execute(query, found).fetchone()

    def _all(self, query: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        found = findable(params)
        return [] if found is None else self._connection().execute(query, found).fetchall()


def findable(params: Sequence[Any]) -> Sequence[Any] | None:
    """The parameters of a lookup as PostgreSQL can take them, or None when no row can match.

    PostgreSQL refuses a NUL character in any text, so no stored id, login or code holds
    one: a lookup by such a value finds nothing (as in the other stores), instead of failing
    with "texte refusé". Every ``_one``/``_all`` query compares its texts for equality (``=``
    or ``= ANY``): a single value with a NUL matches no row; a list keeps its other values."""
    out: list[Any] = []
    for value in params:
        if isinstance(value, str):
            if "\x00" in value:
                return None
        elif isinstance(value, list | tuple) and any(
            isinstance(v, str) and "\x00" in v for v in value
        ):
            value = [v for v in value if not (isinstance(v, str) and "\x00" in v)]
        out.append(value)
    return out
