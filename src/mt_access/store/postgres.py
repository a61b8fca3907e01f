"""A register in a PostgreSQL database: several CPTS and many coordinators on one server.

:class:`PostgresStore` follows the :class:`~mt_access.store.base.Store` contract with the same
semantics as :class:`~mt_access.store.sqlite.SQLiteStore` (the values are stored by the same
codec, :mod:`mt_access.store.codec`), and adds what a shared server needs:

* **One register per CPTS.** A database holds the registers of several CPTS
  (:mod:`mt_access.store.postgres_schema`); a store opens one of them: the CPTS named by the
  URL's ``cpts=`` parameter, or the one the connected role belongs to (a coordinator's role
  cannot open another one: the database's row-level policies refuse it whatever the URL
  says), or ``principal`` for a database that holds one CPTS.
* **Transactions.** The connection is in autocommit mode; :meth:`PostgresStore.transaction`
  opens a transaction (``READ COMMITTED``), locks its CPTS's row of ``registers`` (one writer
  at a time per CPTS: another writer waits up to ``timeout`` seconds; two CPTS never wait for
  each other), bumps its ``commits`` counter and commits at its end, or rolls back if it
  raises. Each write runs in a savepoint, so that a refused write leaves the transaction as it
  was. Reads outside a transaction that need several queries run in a ``REPEATABLE READ``
  snapshot.
* **Schema versions.** ``mt_access.schema_info`` holds the version; opening a database of an
  older version upgrades it (:data:`~mt_access.store.postgres_schema.STEPS`); a newer one, or
  a database whose ``mt_access`` schema is not a register, is refused.
* **Append-only.** Triggers refuse to change or delete the history and the ledger (but the
  erasure's blanking of comments), to change a recorded sending and to change or delete a
  line of the audit trail.
* **Erasure.** Personal data sits in ``identities`` and in the comments of the transitions;
  an erasure overwrites them. PostgreSQL keeps the old row versions in the table's files until
  ``VACUUM`` reuses their space: the store asks for a ``VACUUM`` of those tables after a
  transaction that erased (done when its role owns them; otherwise the server's autovacuum
  does it later). Backups and archived WAL keep them for their own retention time.

Error messages are in French, name the register by its URL with the password masked, and
never contain patient data (nor the server's text, which may quote a row).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from contextlib import suppress
from typing import TYPE_CHECKING, Any

import attrs
import psycopg
from psycopg import sql

from mt_access.ledger import LedgerEntry
from mt_access.lifecycle import RequestFile, RequestState, Transition
from mt_access.model import PatientIdentity, Physician, Request
from mt_access.store import codec, codec_records
from mt_access.store.base import (
    AuditRecord,
    KnownPerson,
    PersonalRecord,
    RequestSummary,
    RunRecord,
    SendingRecord,
    Store,
    StoreError,
    UserRecord,
    check_history,
    erased_answer,
    ledger_position,
)
from mt_access.store.listing import check_slice_order
from mt_access.store.postgres_connection import DEFAULT_CPTS, PostgresConnection, Step
from mt_access.store.postgres_schema import (
    DATA_VERSION_QUERY,
    INSERT_IDENTITY,
    INSERT_LEDGER,
    INSERT_LEDGER_ENTRIES,
    INSERT_PHYSICIAN,
    INSERT_REQUEST,
    INSERT_SENDING,
    INSERT_TRANSITION,
    INSERT_TRANSITIONS,
    INSERT_USER,
    NEXT_AUDIT,
    NEXT_RUN,
    PHYSICIAN_REQUESTS,
    PHYSICIANS_VERSION_QUERY,
    POSTGRES_SCHEMA_VERSION,
    REGISTER_FORMAT,
    TABLES,
    UPDATE_FILE,
    UPDATE_FILES,
    UPDATE_IDENTITY,
    UPDATE_REQUEST,
)
from mt_access.store.sql_common import (
    AUDIT_SELECT,
    FILE_SELECT,
    IDENTITY_SELECT,
    LEDGER_SELECT,
    PERSONAL_SELECT,
    PHYSICIAN_SELECT,
    REQUEST_SELECT,
    RUN_SELECT,
    SENDING_SELECT,
    SUMMARY_SELECT,
    TRANSITION_SELECT,
    USER_SELECT,
)
from mt_access.store.sqlite_integrity import data_invariants
from mt_access.store.sqlite_schema import state_values

if TYPE_CHECKING:
    from mt_access.store.postgres_connection import Pool

__all__ = ["DEFAULT_CPTS", "PostgresStore"]


def columns(rows: Sequence[tuple[Any, ...]]) -> list[list[Any]]:
    """The columns of ``rows`` (all of one length), each a list: the arrays of a set-based
    write (a tuple would be sent as a composite value)."""
    return [list(column) for column in zip(*rows, strict=True)]


class PostgresStore(PostgresConnection):
    """A :class:`~mt_access.store.base.Store` in a PostgreSQL database.

    Args:
        url: ``postgresql://user:password@host:port/database?cpts=...`` (any libpq parameter
            may follow, e.g. ``sslmode=require``; ``cpts`` names the CPTS).
        cpts: the CPTS, instead of the URL's ``cpts=``.
        create: create the schema when the database has none, and the CPTS's register when
            the database has none for it; otherwise both must exist.
        readonly: open for reading only: writes and transactions raise
            :class:`StoreError`; never creates nor upgrades anything.
        timeout: seconds to wait for another connection's write transaction on the same CPTS
            (and for the server to answer when connecting).
        pool: borrow the connection from this pool rather than connecting
            (:class:`~mt_access.store.postgres_pool.PostgresPool` opens such stores); closing
            the store gives it back.

    Raises:
        StoreError: the server cannot be reached or refuses the connection; the database
            is not a register or was written by a newer version of mt-access; the CPTS has
            no register there (and ``create`` is false) or the role belongs to another CPTS.
    """

    @classmethod
    def open(
        cls,
        url: str,
        *,
        cpts: str | None = None,
        create: bool = True,
        readonly: bool = False,
        timeout: float = 30.0,
        pool: Pool | None = None,
    ) -> PostgresStore:
        """Same as the constructor."""
        return cls(url, cpts=cpts, create=create, readonly=readonly, timeout=timeout, pool=pool)

    # ---------------------------------------------------------------------------------------
    # Requests

    def _exists(self, rid: str) -> bool:
        return (
            self._one(
                "SELECT 1 FROM mt_access.requests WHERE cpts = %s AND id = %s", (self._cpts, rid)
            )
            is not None
        )

    def add_request(self, request: Request, identity: PatientIdentity, file: RequestFile) -> None:
        conn = self._writer()
        rid = request.id
        if file.id != rid:
            raise self._fail(f"le dossier {file.id} n'est pas celui de la demande {rid}")
        check_history(file, file.history, self._fail)
        c = self._cpts
        with self._guard(f"enregistrement de la demande {rid}"):
            values = (c, rid, *codec.request_row(request), *codec.file_row(file))
            person = (c, rid, *codec.identity_row(identity))
            history = [(c, *codec.transition_row(t)) for t in file.history]
            if self._exists(rid):
                raise self._fail(f"la demande {rid} existe déjà")
            self._write(
                conn,
                [(INSERT_REQUEST, values, False),
                 (INSERT_IDENTITY, person, False),
                 (INSERT_TRANSITION, history, True)],
            )  # fmt: skip

    def save_file(self, file: RequestFile, appended: int) -> None:
        self._save_files([(file, appended)], f"enregistrement du dossier {file.id}")

    def save_files(self, changes: Sequence[tuple[RequestFile, int]]) -> None:
        """:meth:`save_file` for each of ``changes`` at once: one statement per table for
        all of them (a match run's commit), all or none."""
        self._save_files(changes, "enregistrement des dossiers")

    def _save_files(self, changes: Sequence[tuple[RequestFile, int]], what: str) -> None:
        conn = self._writer()
        if len({file.id for file, _ in changes}) < len(changes):
            # the same request twice: each change builds on the one before, in order
            with self._guard(what):
                conn.execute("SAVEPOINT files")
                try:
                    for file, appended in changes:
                        self.save_file(file, appended)
                except BaseException:
                    with suppress(psycopg.Error):
                        conn.execute("ROLLBACK TO SAVEPOINT files")
                    raise
                finally:
                    with suppress(psycopg.Error):
                        conn.execute("RELEASE SAVEPOINT files")
            return
        new: list[Transition] = []
        for file, appended in changes:
            kept = len(file.history) - appended
            if appended < 0 or kept < 0:
                raise self._fail(self._mismatch(file.id))
            check_history(file, file.history[kept:], self._fail)
            new.extend(file.history[kept:])
        if not changes:
            return
        c = self._cpts
        with self._guard(what):
            ids = [file.id for file, _ in changes]
            states = [codec.file_row(file) for file, _ in changes]
            rows = [codec.transition_row(t) for t in new]
            found, histories = self._pipelined(
                conn,
                [("SELECT id FROM mt_access.requests WHERE cpts = %s AND id = ANY(%s)",
                  (c, ids), False),
                 (f"SELECT {TRANSITION_SELECT} FROM mt_access.transitions "
                  "WHERE cpts = %s AND request_id = ANY(%s) ORDER BY request_id, seq",
                  (c, ids), False)],
            )  # fmt: skip
            known = {row[0] for row in found.fetchall()}
            stored: dict[str, list[tuple[Any, ...]]] = {}
            for row in histories.fetchall():
                stored.setdefault(row[0], []).append(row)
            for file, appended in changes:
                if file.id not in known:
                    raise self._fail(f"demande inconnue : {file.id}")
                kept = len(file.history) - appended
                if stored.get(file.id, []) != [
                    codec.transition_row(t) for t in file.history[:kept]
                ]:
                    raise self._fail(self._mismatch(file.id))
            if len(changes) == 1:
                steps: list[Step] = [(UPDATE_FILE, (*states[0], c, ids[0]), False)]
                if rows:
                    steps.append((INSERT_TRANSITION, [(c, *row) for row in rows], True))
            else:
                steps = [(UPDATE_FILES, (ids, *columns(states), c), False)]
                if rows:
                    steps.append((INSERT_TRANSITIONS, (c, *columns(rows)), False))
            self._write(conn, steps)

    @staticmethod
    def _mismatch(rid: str) -> str:
        return f"demande {rid} : l'historique enregistré n'est pas le début du nouveau"

    def replace_request(
        self, request: Request, identity: PatientIdentity, *, erased_on: dt.date | None = None
    ) -> None:
        conn = self._writer()
        rid = request.id
        c = self._cpts
        with self._guard(f"remplacement de la demande {rid}"):
            values = (*codec.request_row(request), c, rid)
            person = (*codec.identity_row(identity), c, rid)
            if not self._exists(rid):
                raise self._fail(f"demande inconnue : {rid}")
            steps: list[Step] = [(UPDATE_REQUEST, values, False), (UPDATE_IDENTITY, person, False)]
            if erased_on is not None:
                sendings = self._all(
                    "SELECT seq, recipient, answer FROM mt_access.sendings "
                    "WHERE cpts = %s AND request_id = %s",
                    (c, rid),
                )
                changes = [
                    ("", erased_answer(str(answer)), c, seq)
                    for seq, recipient, answer in sendings
                    if recipient != "" or erased_answer(str(answer)) != answer
                ]
                steps += [
                    ("UPDATE mt_access.requests SET erased_on = %s WHERE cpts = %s AND id = %s",
                     (erased_on.isoformat(), c, rid), False),
                    ("UPDATE mt_access.transitions SET comment = '' "
                     "WHERE cpts = %s AND request_id = %s AND comment <> ''", (c, rid), False),
                    ("UPDATE mt_access.sendings SET recipient = %s, answer = %s "
                     "WHERE cpts = %s AND seq = %s", changes, True),
                ]  # fmt: skip
            self._write(conn, steps)
            if erased_on is not None:
                self._erased = True

    def get_request(self, request_id: str) -> Request | None:
        with self._guard(f"lecture de la demande {request_id}"):
            row = self._one(
                f"SELECT {REQUEST_SELECT} FROM mt_access.requests WHERE cpts = %s AND id = %s",
                (self._cpts, request_id),
            )
            return None if row is None else codec.decode_requests((row,))[0]

    def get_identity(self, request_id: str) -> PatientIdentity | None:
        with self._guard(f"lecture de l'identité de la demande {request_id}"):
            row = self._one(
                f"SELECT {IDENTITY_SELECT} FROM mt_access.identities "
                "WHERE cpts = %s AND request_id = %s",
                (self._cpts, request_id),
            )
            return None if row is None else codec.decode_identity(row)

    def get_file(self, request_id: str) -> RequestFile | None:
        return self.get_files((request_id,)).get(request_id)

    def get_files(self, request_ids: Iterable[str]) -> dict[str, RequestFile]:
        ids = sorted(rid for rid in set(request_ids) if "\x00" not in rid)  # none stored
        files: dict[str, RequestFile] = {}
        if not ids:
            return files
        c = self._cpts
        with self._guard("lecture des dossiers"), self._snapshot() as conn:
            found, transitions = self._pipelined(
                conn,
                [(f"SELECT id, persons, {FILE_SELECT} FROM mt_access.requests "
                  "WHERE cpts = %s AND id = ANY(%s)", (c, ids), False),
                 (f"SELECT {TRANSITION_SELECT} FROM mt_access.transitions "
                  "WHERE cpts = %s AND request_id = ANY(%s) ORDER BY request_id, seq",
                  (c, ids), False)],
            )  # fmt: skip
            states = {row[0]: row[1:] for row in found.fetchall()}
            histories: dict[str, list[Transition]] = {rid: [] for rid in states}
            for row in transitions.fetchall():
                histories[row[0]].append(codec.decode_transition(row))
            for rid in ids:
                state = states.get(rid)
                if state is not None:
                    files[rid] = codec.decode_file(rid, state[1:], histories[rid], persons=state[0])
        return files

    def personal_records(self, request_ids: Iterable[str]) -> dict[str, PersonalRecord]:
        query = (
            f"SELECT {PERSONAL_SELECT} FROM mt_access.requests r LEFT JOIN mt_access.identities"
            " i ON i.cpts = r.cpts AND i.request_id = r.id WHERE r.cpts = %s AND r.id = ANY(%s)"
        )
        with self._guard("lecture des demandes"):
            rows = self._all(query, (self._cpts, sorted(set(request_ids))))
        return self._personal_records(rows)

    def erased_on(self, request_id: str) -> dt.date | None:
        with self._guard(f"lecture de la demande {request_id}"):
            row = self._one(
                "SELECT erased_on FROM mt_access.requests WHERE cpts = %s AND id = %s",
                (self._cpts, request_id),
            )
            return None if row is None or row[0] is None else codec.decode_date(row[0])

    def _select_by_state(self, columns: str, states: Iterable[RequestState] | None) -> list[Any]:
        wanted = state_values(states)
        if wanted is None:
            return self._all(
                f"SELECT {columns} FROM mt_access.requests WHERE cpts = %s ORDER BY id",
                (self._cpts,),
            )
        if not wanted:
            return []
        return self._all(
            f"SELECT {columns} FROM mt_access.requests "
            "WHERE cpts = %s AND state = ANY(%s) ORDER BY id",
            (self._cpts, wanted),
        )

    def count_requests(self) -> int:
        with self._guard("comptage des demandes"):
            row = self._one(
                "SELECT COUNT(*) FROM mt_access.requests WHERE cpts = %s", (self._cpts,)
            )
            return 0 if row is None else int(row[0])

    def known_persons(self) -> Iterator[KnownPerson]:
        with self._guard("lecture des personnes connues"):
            rows = self._all(
                f"SELECT r.id, r.birth_date, r.state, "
                f"{', '.join('i.' + c for c in codec.IDENTITY_COLUMNS)} "
                "FROM mt_access.requests AS r JOIN mt_access.identities AS i "
                "ON i.cpts = r.cpts AND i.request_id = r.id "
                "WHERE r.cpts = %s AND r.erased_on IS NULL ORDER BY r.id",
                (self._cpts,),
            )
        return self._persons(rows)

    def transitions(self, request_id: str | None = None) -> list[Transition]:
        with self._guard("lecture des transitions"):
            if request_id is None:
                rows = self._all(
                    f"SELECT {TRANSITION_SELECT} FROM mt_access.transitions "
                    "WHERE cpts = %s ORDER BY seq",
                    (self._cpts,),
                )
            else:
                rows = self._all(
                    f"SELECT {TRANSITION_SELECT} FROM mt_access.transitions "
                    "WHERE cpts = %s AND request_id = %s ORDER BY seq",
                    (self._cpts, request_id),
                )
            return codec.decode_transitions(rows)

    def physician_requests(self, physician_id: str, since: dt.date | None = None) -> list[str]:
        with self._guard("lecture des demandes d'un médecin"):
            rows = self._all(
                PHYSICIAN_REQUESTS,
                (self._cpts, physician_id, "" if since is None else since.isoformat()),
            )
            return [str(row[0]) for row in rows]

    # ---------------------------------------------------------------------------------------
    # Imported form rows

    def imported_rows(self, digests: Iterable[str]) -> dict[str, str]:
        wanted = sorted(set(digests))
        if not wanted:
            return {}
        with self._guard("lecture des lignes déjà importées"):
            rows = self._all(
                "SELECT digest, request_id FROM mt_access.imported_rows "
                "WHERE cpts = %s AND digest = ANY(%s)",
                (self._cpts, wanted),
            )
            return {str(digest): str(rid) for digest, rid in rows}

    def all_imported_rows(self) -> dict[str, str]:
        """Every imported row's digest with its request (to copy a register: not part of
        the :class:`~mt_access.store.base.Store` protocol)."""
        with self._guard("lecture des lignes déjà importées"):
            rows = self._all(
                "SELECT digest, request_id FROM mt_access.imported_rows WHERE cpts = %s "
                "ORDER BY digest",
                (self._cpts,),
            )
            return {str(digest): str(rid) for digest, rid in rows}

    def add_imported_rows(self, rows: Sequence[tuple[str, str]]) -> None:
        conn = self._writer()
        c = self._cpts
        try:
            with self._guard("enregistrement des lignes importées"):
                self._write(
                    conn,
                    [("INSERT INTO mt_access.imported_rows (cpts, digest, request_id) "
                      "VALUES (%s, %s, %s)", [(c, digest, rid) for digest, rid in rows], True)],
                )  # fmt: skip
        except StoreError as exc:
            if "unicité" in str(exc) or "absente" in str(exc):
                raise self._fail(
                    "ligne de formulaire déjà importée (par un autre import en même temps ?) "
                    "ou demande inconnue : import refusé, rien n'a été enregistré"
                ) from None
            raise

    def summary_slice(
        self,
        states: Iterable[RequestState] | None = None,
        *,
        commune: str | None = None,
        order: str = "id",
        on: dt.date | None = None,
        offset: int = 0,
        limit: int | None = None,
    ) -> tuple[int, list[RequestSummary]]:
        check_slice_order(order, on)
        wanted = state_values(states)
        if wanted is not None and not wanted:
            return 0, []
        where = " WHERE cpts = %s AND (%s::text[] IS NULL OR state = ANY(%s::text[]))"
        where += " AND (%s::text IS NULL OR commune = %s::text)"
        params: list[Any] = [self._cpts, wanted, wanted, commune, commune]
        ordered = "LEAST(received, %s), id" if order == "waiting" else f"{order}, id"
        first = [on.isoformat()] if on is not None and order == "waiting" else []
        with self._guard("lecture de la liste des demandes"), self._snapshot() as conn:
            found = conn.execute(
                f"SELECT COUNT(*) FROM mt_access.requests{where}", params
            ).fetchone()
            total = 0 if found is None else int(found[0])
            rows = conn.execute(
                f"SELECT {SUMMARY_SELECT} FROM mt_access.requests{where} "
                f"ORDER BY {ordered} LIMIT %s OFFSET %s",
                [*params, *first, limit if limit is None else max(limit, 0), max(offset, 0)],
            ).fetchall()
            return total, codec.decode_summaries(rows)

    # ---------------------------------------------------------------------------------------
    # Data version (caches of whole-register figures)

    def data_version(self) -> str:
        """The number of committed transactions that changed this CPTS's data (requests,
        identities, files, GPs, ledger, runs, imported rows), by any connection: the
        ``data_changes`` of its row of ``registers``, which triggers on those tables bump
        once per transaction (schema version 10). Inside a write transaction, its own
        writes count already."""
        with self._guard("lecture du compteur de modifications"):
            row = self._one(DATA_VERSION_QUERY, (self._cpts,))
            if row is None:
                raise self._fail("aucun registre de cette CPTS dans cette base")
            return str(row[0])

    def physicians_version(self) -> str:
        """The number of committed transactions that wrote this CPTS's GPs, by any
        connection: the ``gp_changes`` of its row of ``registers``, bumped once per
        transaction by triggers on ``physicians`` (schema version 11). Inside a write
        transaction, its own writes count already."""
        with self._guard("lecture du compteur de modifications des médecins"):
            row = self._one(PHYSICIANS_VERSION_QUERY, (self._cpts,))
            if row is None:
                raise self._fail("aucun registre de cette CPTS dans cette base")
            return str(row[0])

    # ---------------------------------------------------------------------------------------
    # Physicians

    def put_physician(self, physician: Physician) -> None:
        conn = self._writer()
        with self._guard(f"enregistrement du médecin {physician.id}"):
            row = (self._cpts, *codec.physician_row(physician))
            self._write(conn, [(INSERT_PHYSICIAN, row, False)])

    def get_physician(self, physician_id: str) -> Physician | None:
        with self._guard(f"lecture du médecin {physician_id}"):
            row = self._one(
                f"SELECT {PHYSICIAN_SELECT} FROM mt_access.physicians WHERE cpts = %s AND id = %s",
                (self._cpts, physician_id),
            )
            return None if row is None else codec.decode_physician(row)

    def physicians(self) -> list[Physician]:
        with self._guard("lecture des médecins"):
            rows = self._all(
                f"SELECT {PHYSICIAN_SELECT} FROM mt_access.physicians WHERE cpts = %s ORDER BY id",
                (self._cpts,),
            )
            # a register reads every GP again after each commit of another client: decode
            # only the rows that changed since the last read (a GP is immutable; its row,
            # every column a scalar, is its whole stored value)
            known, fresh = self._decoded_physicians, {}
            found = []
            for row in rows:
                physician = known.get(row)
                if physician is None:
                    physician = codec.decode_physician(row)
                fresh[row] = physician
                found.append(physician)
            self._decoded_physicians = fresh
            return found

    # ---------------------------------------------------------------------------------------
    # Ledger

    def append_ledger(self, entries: Sequence[LedgerEntry]) -> None:
        conn = self._writer()
        with self._guard("enregistrement d'entrées du registre de capacités"):
            rows = [codec.ledger_row(entry) for entry in entries]
            if len(rows) == 1:
                self._write(conn, [(INSERT_LEDGER, (self._cpts, *rows[0]), False)])
            elif rows:  # a match run's placements: one statement
                values = (self._cpts, *columns(rows))
                self._write(conn, [(INSERT_LEDGER_ENTRIES, values, False)])

    def ledger_entries(self) -> list[LedgerEntry]:
        with self._guard("lecture du registre de capacités"):
            rows = self._all(
                f"SELECT {LEDGER_SELECT} FROM mt_access.ledger WHERE cpts = %s ORDER BY seq",
                (self._cpts,),
            )
            return codec.decode_ledger(rows)

    def ledger_entries_after(self, position: int) -> list[LedgerEntry]:
        start = ledger_position(position)
        with self._guard("lecture du registre de capacités"):
            # seq comes from one sequence shared by every CPTS, so it is not a position: OFFSET
            # over the CPTS's rows by seq (index ledger_by_cpts). Writers of a CPTS take turns
            # (its row of registers is locked), so its seq order is its commit order.
            rows = self._all(
                f"SELECT {LEDGER_SELECT} FROM mt_access.ledger WHERE cpts = %s "
                "ORDER BY seq OFFSET %s",
                (self._cpts, start),
            )
            return codec.decode_ledger(rows)

    # ---------------------------------------------------------------------------------------
    # Runs

    def add_run(self, run: RunRecord) -> RunRecord:
        conn = self._writer()
        with self._guard("enregistrement d'un passage d'appariement"):
            # the transaction holds the CPTS's write lock: no other writer numbers a run
            values = codec_records.run_row(run)[1:]
            (cursor,) = self._write(conn, [(NEXT_RUN, (self._cpts, *values, self._cpts), False)])
            row = cursor.fetchone()
            assert row is not None
            return attrs.evolve(run, number=int(row[0]))

    def runs(self) -> list[RunRecord]:
        with self._guard("lecture des passages d'appariement"):
            rows = self._all(
                f"SELECT {RUN_SELECT} FROM mt_access.runs WHERE cpts = %s ORDER BY number",
                (self._cpts,),
            )
            return [codec_records.decode_run(row) for row in rows]

    # ---------------------------------------------------------------------------------------
    # Sendings

    def add_sending(self, record: SendingRecord) -> None:
        conn = self._writer()
        with self._guard(f"enregistrement d'un envoi de la demande {record.request_id}"):
            values = (self._cpts, *codec_records.sending_row(record))
            self._write(conn, [(INSERT_SENDING, values, False)])

    def sendings(self, request_id: str | None = None) -> list[SendingRecord]:
        query = f"SELECT {SENDING_SELECT} FROM mt_access.sendings WHERE cpts = %s"
        params: tuple[str, ...] = (self._cpts,)
        if request_id is not None:
            query += " AND request_id = %s"
            params = (self._cpts, request_id)
        with self._guard("lecture des envois"):
            rows = self._all(query + " ORDER BY seq", params)
        return [codec_records.decode_sending(row) for row in rows]

    # ---------------------------------------------------------------------------------------
    # Settings

    def settings(self) -> dict[str, str]:
        with self._guard("lecture des réglages du registre"):
            rows = self._all(
                "SELECT key, value FROM mt_access.settings WHERE cpts = %s ORDER BY key",
                (self._cpts,),
            )
            return {str(key): str(value) for key, value in rows}

    def put_setting(self, key: str, value: str) -> None:
        conn = self._writer()
        with self._guard("enregistrement d'un réglage du registre"):
            self._write(
                conn,
                [("INSERT INTO mt_access.settings (cpts, key, value) VALUES (%s, %s, %s) "
                  "ON CONFLICT (cpts, key) DO UPDATE SET value = EXCLUDED.value",
                  (self._cpts, key, value), False)],
            )  # fmt: skip

    # ---------------------------------------------------------------------------------------
    # Web accounts and audit trail

    def put_user(self, user: UserRecord) -> None:
        conn = self._writer()
        with self._guard(f"enregistrement du compte {user.login}"):
            row = (self._cpts, *codec_records.user_row(user))
            self._write(conn, [(INSERT_USER, row, False)])

    def get_user(self, login: str) -> UserRecord | None:
        with self._guard("lecture d'un compte"):
            row = self._one(
                f"SELECT {USER_SELECT} FROM mt_access.users WHERE cpts = %s AND login = %s",
                (self._cpts, login),
            )
            return None if row is None else codec_records.decode_user(row)

    def users(self) -> list[UserRecord]:
        with self._guard("lecture des comptes"):
            rows = self._all(
                f"SELECT {USER_SELECT} FROM mt_access.users WHERE cpts = %s ORDER BY login",
                (self._cpts,),
            )
            return [codec_records.decode_user(row) for row in rows]

    def add_audit(self, record: AuditRecord) -> AuditRecord:
        conn = self._writer()
        with self._guard("enregistrement d'une ligne du journal d'audit"):
            # The transaction holds the CPTS's write lock: no other writer numbers a line.
            at = codec_records.utc_second(record.at)
            values = codec_records.audit_row(attrs.evolve(record, at=at))[1:]
            (cursor,) = self._write(conn, [(NEXT_AUDIT, (self._cpts, *values, self._cpts), False)])
            row = cursor.fetchone()
            assert row is not None
            return attrs.evolve(record, seq=int(row[0]), at=at)

    def audit_entries(
        self, *, subject: str | None = None, before: int | None = None, limit: int | None = None
    ) -> list[AuditRecord]:
        query = f"SELECT {AUDIT_SELECT} FROM mt_access.audit WHERE cpts = %s"
        params: list[Any] = [self._cpts]
        if subject is not None:
            query += " AND subject = %s"
            params.append(subject)
        if before is not None:
            query += " AND seq < %s"
            params.append(before)
        query += " ORDER BY seq DESC"
        if limit is not None:
            query += " LIMIT %s"
            params.append(max(limit, 0))
        with self._guard("lecture du journal d'audit"):
            rows = self._all(query, params)
            return [codec_records.decode_audit(row) for row in rows]

    # ---------------------------------------------------------------------------------------
    # Integrity

    def integrity_check(self) -> list[str]:
        """Check the register's invariants, as :meth:`SQLiteStore.integrity_check
        <mt_access.store.sqlite.SQLiteStore.integrity_check>` does (the same checks, over
        this CPTS's rows), and the database's marks; the problems found, in French (empty:
        all is well). Names ids, never patient data. The server itself enforces the keys,
        references and constraints."""
        problems: list[str] = []
        with self._guard("vérification d'intégrité"), self._snapshot(views=True) as conn:
            marks = conn.execute("SELECT format, version FROM mt_access.schema_info").fetchone()
            if marks is None or marks[0] != REGISTER_FORMAT:
                problems.append("schema_info : format du registre absent ou invalide")
            elif marks[1] != POSTGRES_SCHEMA_VERSION:
                problems.append(f"schema_info : version {marks[1]} inattendue")
            commits = conn.execute(
                "SELECT commits FROM mt_access.registers WHERE cpts = %s", (self._cpts,)
            ).fetchone()
            if commits is None or int(commits[0]) < 0:
                problems.append("registers : compteur de transactions absent ou invalide")
            views = [t for t in TABLES if t not in ("registers", "settings")]
            conn.execute("SAVEPOINT integrity")
            try:
                for table in views:
                    conn.execute(
                        sql.SQL(
                            "CREATE TEMP VIEW {} AS SELECT * FROM mt_access.{} WHERE cpts = {}"
                        ).format(
                            sql.Identifier(table), sql.Identifier(table), sql.Literal(self._cpts)
                        )
                    )
                problems.extend(data_invariants(conn))
            finally:
                conn.execute("ROLLBACK TO SAVEPOINT integrity")
                conn.execute("RELEASE SAVEPOINT integrity")
        return problems


if TYPE_CHECKING:

    def _implements_the_protocol(store: PostgresStore) -> Store:
        return store  # mypy checks that PostgresStore is a Store
