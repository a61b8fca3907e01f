"""What the SQL stores (:class:`~mt_access.store.sqlite.SQLiteStore` and
:class:`~mt_access.store.postgres.PostgresStore`) share word for word: the column lists of
their queries, and the parts of a store object that do not depend on the dialect (use as a
context manager, the connection's checks, the start of a transaction, the requests and their
listing lines read by state, the known persons decoded from their rows).

The statements themselves differ (placeholders, the PostgreSQL tables' schema and ``cpts``
column, upserts): each dialect keeps its own in ``sqlite_schema`` and ``postgres_schema``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from types import TracebackType
from typing import Any, Generic, Self, TypeVar

from mt_access.lifecycle import EXIT_STATES, RequestState
from mt_access.model import Request
from mt_access.store import codec, codec_records
from mt_access.store.base import (
    NESTED_DURABLE,
    KnownPerson,
    PersonalRecord,
    RequestSummary,
    StoreError,
)

__all__ = [
    "AUDIT_SELECT",
    "FILE_SELECT",
    "IDENTITY_SELECT",
    "LEDGER_SELECT",
    "PERSONAL_SELECT",
    "PHYSICIAN_SELECT",
    "REQUEST_SELECT",
    "RUN_SELECT",
    "SENDING_SELECT",
    "SUMMARY_SELECT",
    "TRANSITION_SELECT",
    "USER_SELECT",
    "SQLStoreBase",
    "unreadable",
]

REQUEST_SELECT = ", ".join(codec.REQUEST_COLUMNS)
PERSONAL_SELECT = ", ".join(
    ["r.id", "r.erased_on", "i.request_id"]
    + [f"r.{c}" for c in codec.REQUEST_COLUMNS]
    + [f"i.{c}" for c in codec.IDENTITY_COLUMNS]
)
"""The columns of :meth:`SQLStoreBase._personal_records`' rows, over ``requests r LEFT JOIN
identities i``."""
SUMMARY_SELECT = ", ".join(codec.SUMMARY_COLUMNS)
FILE_SELECT = ", ".join(codec.FILE_COLUMNS)
TRANSITION_SELECT = ", ".join(codec.TRANSITION_COLUMNS)
IDENTITY_SELECT = ", ".join(codec.IDENTITY_COLUMNS)
PHYSICIAN_SELECT = ", ".join(codec.PHYSICIAN_COLUMNS)
LEDGER_SELECT = ", ".join(codec.LEDGER_COLUMNS)
RUN_SELECT = ", ".join(codec_records.RUN_COLUMNS)
SENDING_SELECT = ", ".join(codec_records.SENDING_COLUMNS)
USER_SELECT = ", ".join(codec_records.USER_COLUMNS)
AUDIT_SELECT = ", ".join(codec_records.AUDIT_COLUMNS)


def unreadable(what: str, exc: Exception) -> str:
    """The French message of a stored value that does not decode (``KeyError``,
    ``ValueError``, ``TypeError``, ``AttributeError`` from the codec) while doing ``what``:
    its kind only, never the value."""
    kind = type(exc).__name__
    return f"{what} : valeur illisible ou invalide ({kind}) ; lancez integrity_check()"


ConnT = TypeVar("ConnT")
"""The driver's connection class of an SQL store."""


class SQLStoreBase(Generic[ConnT]):
    """The base of both SQL stores' connection classes: what does not depend on the
    dialect. A subclass sets ``_readonly``, ``_conn``, ``_depth`` (0) and ``_durable``
    (``True``) and defines :meth:`close`, :meth:`_fail`, :meth:`_guard` and
    :meth:`_select_by_state`."""

    _readonly: bool
    _conn: ConnT | None  # the driver's connection; ``None`` once closed
    _depth: int  # how many transactions are open, nested ones included (0: none)
    _durable: bool  # the open transaction (or the last one) waits for the disk

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        raise NotImplementedError

    def _shown_state(self) -> str:
        """For ``repr``: closed, or opened for reading only or for reading and writing."""
        if self._conn is None:
            return "fermé"
        return "lecture seule" if self._readonly else "lecture-écriture"

    @property
    def closed(self) -> bool:
        """:meth:`close` was called: the store is unusable."""
        return self._conn is None

    @property
    def readonly(self) -> bool:
        """Opened for reading only."""
        return self._readonly

    def _fail(self, message: str) -> StoreError:
        """A ``StoreError`` with ``message``, naming the register's file or database."""
        raise NotImplementedError

    def _connection(self) -> ConnT:
        """The open connection.

        Raises:
            StoreError: the store is closed.
        """
        if self._conn is None:
            raise self._fail("registre fermé")
        return self._conn

    def _writer(self) -> ConnT:
        """The connection, for a write.

        Raises:
            StoreError: the store is closed or read-only, or no transaction is open.
        """
        conn = self._connection()
        if self._readonly:
            raise self._fail("registre ouvert en lecture seule")
        if not self._depth:
            raise self._fail("écriture hors transaction : utilisez « with store.transaction() »")
        return conn

    def _transaction_connection(self, durable: bool) -> ConnT:
        """The connection, for a transaction (``durable`` as asked of ``transaction``)
        about to begin or to join the open one (:meth:`_joined`).

        Raises:
            StoreError: the store is closed or read-only, or a durable transaction is asked
                inside a non-durable one.
        """
        conn = self._connection()
        if self._readonly:
            raise self._fail("registre ouvert en lecture seule : aucune écriture possible")
        if self._depth and durable and not self._durable:
            raise self._fail(NESTED_DURABLE)
        return conn

    @contextmanager
    def _joined(self) -> Iterator[None]:
        """A nested transaction: the block joins the outermost one (opened already)."""
        self._depth += 1
        try:
            yield
        finally:
            self._depth -= 1

    def _guard(self, what: str) -> AbstractContextManager[None]:
        """A context that turns the driver's errors into a French ``StoreError`` about
        ``what`` was being done."""
        raise NotImplementedError

    def _select_by_state(self, columns: str, states: Iterable[RequestState] | None) -> list[Any]:
        """The rows of ``columns`` (a list of the ``requests`` table's columns) of the
        requests in one of ``states`` (all when ``None``), by id."""
        raise NotImplementedError

    def requests(self, states: Iterable[RequestState] | None = None) -> list[Request]:
        with self._guard("lecture des demandes"):
            return codec.decode_requests(self._select_by_state(REQUEST_SELECT, states))

    def summaries(self, states: Iterable[RequestState] | None = None) -> list[RequestSummary]:
        with self._guard("lecture de la liste des demandes"):
            return codec.decode_summaries(self._select_by_state(SUMMARY_SELECT, states))

    def _personal_records(self, rows: Iterable[Any]) -> dict[str, PersonalRecord]:
        """The records of rows of :data:`PERSONAL_SELECT`, by id in the ids' order."""
        width = len(codec.REQUEST_COLUMNS)
        found: dict[str, PersonalRecord] = {}
        for rid, erased, has_identity, *rest in sorted(rows, key=lambda row: str(row[0])):
            with self._guard(f"lecture de la demande {rid}"):
                found[rid] = PersonalRecord(
                    codec.decode_requests((rest[:width],))[0],
                    None if has_identity is None else codec.decode_identity(rest[width:]),
                    None if erased is None else codec.decode_date(erased),
                )
        return found

    def _persons(self, rows: list[Any]) -> Iterator[KnownPerson]:
        """The known persons of rows ``(id, birth_date, state, *identity columns)``."""
        final = {s.value for s in EXIT_STATES}
        for rid, birth, state, *identity in rows:
            with self._guard(f"lecture de l'identité de la demande {rid}"):
                person = KnownPerson(
                    rid,
                    codec.decode_identity(identity),
                    codec.decode_date(birth),
                    state not in final,
                )
            yield person
