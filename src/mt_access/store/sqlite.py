"""The default register store: one SQLite file on the CPTS's own machine, no server.

:class:`SQLiteStore` follows the :class:`~mt_access.store.base.Store` contract with the same
semantics as :class:`~mt_access.store.memory.MemoryStore`, and adds what a file needs:

* **Transactions.** The connection is in autocommit mode; :meth:`SQLiteStore.transaction`
  opens ``BEGIN IMMEDIATE`` (one writer at a time, waiting up to ``timeout`` seconds for
  another one to finish), bumps the ``commits`` counter of the ``meta`` table and commits at
  its end, or rolls back if it raises. A process killed at any moment (``kill -9``, a power
  cut with ``synchronous=FULL``) leaves the file as it was before the transaction or as it is
  after it, never in between. Reads outside a transaction run in a read transaction of their
  own, so that each call sees one consistent state.
* **WAL.** The file is in write-ahead-log mode: readers (``readonly=True``, e.g. a notebook)
  read the last committed state while a writer writes, and never block it.
* **Schema versions.** ``PRAGMA user_version`` is the schema version; opening a file written
  by an older version upgrades it (:mod:`mt_access.store.migrations`); a file of a newer
  version is refused with a :class:`~mt_access.store.base.StoreError`, and so is a file that
  is not a register.
* **Integrity.** :meth:`SQLiteStore.integrity_check` runs SQLite's own checks and the
  register's invariants.
* **Erasure.** Personal data sits in the ``identities`` table and in the comments of the
  transitions; ``secure_delete`` overwrites the old values in the file, and the write-ahead
  log is checkpointed and truncated after a transaction that erased a request.

Error messages are in French, name the file, and never contain patient data.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import attrs

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
    version_number,
)
from mt_access.store.migrations import V8_SENDINGS
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
from mt_access.store.sqlite_connection import SQLiteConnection
from mt_access.store.sqlite_integrity import register_invariants
from mt_access.store.sqlite_schema import (
    INSERT_IDENTITY,
    INSERT_LEDGER,
    INSERT_PHYSICIAN,
    INSERT_REQUEST,
    INSERT_RUN,
    INSERT_TRANSITION,
    PHYSICIAN_REQUESTS,
    RUN_TRANSITIONS,
    UPDATE_FILE,
    UPDATE_IDENTITY,
    UPDATE_REQUEST,
    chunks,
    placeholders,
    slice_condition,
    slice_order,
    state_values,
)

__all__ = ["SQLiteStore"]

SENDINGS_TRIGGER = "sendings_append_only_update"
"""The append-only trigger of the ``sendings`` table (schema 8)."""
_SENDINGS_APPEND_ONLY = next(s for s in V8_SENDINGS if f"TRIGGER {SENDINGS_TRIGGER} " in s)


class SQLiteStore(SQLiteConnection):
    """A :class:`~mt_access.store.base.Store` in one SQLite file.

    Args:
        path: the register file.
        create: create the file (and the register in it) when it does not exist or is
            empty; otherwise a missing file raises :class:`StoreError`.
        readonly: open for reading only (``mode=ro``): writes and transactions raise
            :class:`StoreError`; never creates nor upgrades the file.
        timeout: seconds to wait for another process's write transaction to finish.

    Raises:
        StoreError: the file is missing (and ``create`` is false), is not an SQLite
            database or not a register, was written by a newer version of mt-access, or
            needs an upgrade but is opened read-only.
    """

    # ---------------------------------------------------------------------------------------
    # Requests

    def add_request(self, request: Request, identity: PatientIdentity, file: RequestFile) -> None:
        conn = self._data_writer()
        rid = request.id
        if file.id != rid:
            raise self._fail(f"le dossier {file.id} n'est pas celui de la demande {rid}")
        check_history(file, file.history, self._fail)
        with self._guard(f"enregistrement de la demande {rid}"):
            values = (rid, *codec.request_row(request), *codec.file_row(file))
            person = (rid, *codec.identity_row(identity))
            history = [codec.transition_row(t) for t in file.history]
            if conn.execute("SELECT 1 FROM requests WHERE id = ?", (rid,)).fetchone():
                raise self._fail(f"la demande {rid} existe déjà")
            with self._savepoint(conn):
                conn.execute(INSERT_REQUEST, values)
                conn.execute(INSERT_IDENTITY, person)
                conn.executemany(INSERT_TRANSITION, history)

    def save_file(self, file: RequestFile, appended: int) -> None:
        conn = self._data_writer()
        rid = file.id
        kept = len(file.history) - appended
        mismatch = f"demande {rid} : l'historique enregistré n'est pas le début du nouveau"
        if appended < 0 or kept < 0:
            raise self._fail(mismatch)
        new = file.history[kept:]
        check_history(file, new, self._fail)
        with self._guard(f"enregistrement du dossier {rid}"):
            state = codec.file_row(file)
            rows = [codec.transition_row(t) for t in new]
            if conn.execute("SELECT 1 FROM requests WHERE id = ?", (rid,)).fetchone() is None:
                raise self._fail(f"demande inconnue : {rid}")
            stored = conn.execute(
                f"SELECT {TRANSITION_SELECT} FROM transitions WHERE request_id = ? ORDER BY seq",
                (rid,),
            ).fetchall()
            if len(stored) != kept or stored != [
                codec.transition_row(t) for t in file.history[:kept]
            ]:
                raise self._fail(mismatch)
            with self._savepoint(conn):
                conn.execute(UPDATE_FILE, (*state, rid))
                conn.executemany(INSERT_TRANSITION, rows)

    def save_files(self, changes: Sequence[tuple[RequestFile, int]]) -> None:
        conn = self._data_writer()
        with self._savepoint(conn):  # the file is in-process: one save_file after another
            for file, appended in changes:
                self.save_file(file, appended)

    def replace_request(
        self, request: Request, identity: PatientIdentity, *, erased_on: dt.date | None = None
    ) -> None:
        conn = self._data_writer()
        rid = request.id
        with self._guard(f"remplacement de la demande {rid}"):
            values = (*codec.request_row(request), rid)
            person = (*codec.identity_row(identity), rid)
            erased = None if erased_on is None else erased_on.isoformat()
            if conn.execute("SELECT 1 FROM requests WHERE id = ?", (rid,)).fetchone() is None:
                raise self._fail(f"demande inconnue : {rid}")
            with self._savepoint(conn):
                conn.execute(UPDATE_REQUEST, values)
                conn.execute(UPDATE_IDENTITY, person)
                if erased is not None:
                    conn.execute("UPDATE requests SET erased_on = ? WHERE id = ?", (erased, rid))
                    conn.execute(
                        "UPDATE transitions SET comment = '' WHERE request_id = ? "
                        "AND comment <> ''",
                        (rid,),
                    )
                    self._erase_sendings(conn, rid)
                    self._erased = True

    def _erase_sendings(self, conn: sqlite3.Connection, rid: str) -> None:
        """Blank the masked addresses of the request's sendings (:meth:`SendingRecord.erased`).

        The table's append-only trigger refuses every update (schema 8): it is dropped and
        made again, the same, around the update, inside the caller's savepoint, so that no
        other write can slip in between and a failure restores it.
        """
        rows = conn.execute(
            "SELECT seq, recipient, answer FROM sendings WHERE request_id = ?", (rid,)
        ).fetchall()
        changes = [
            ("", erased_answer(str(answer)), seq)
            for seq, recipient, answer in rows
            if recipient != "" or erased_answer(str(answer)) != answer
        ]
        if not changes:
            return
        conn.execute(f"DROP TRIGGER {SENDINGS_TRIGGER}")
        conn.executemany("UPDATE sendings SET recipient = ?, answer = ? WHERE seq = ?", changes)
        conn.execute(_SENDINGS_APPEND_ONLY)

    def get_request(self, request_id: str) -> Request | None:
        with self._guard(f"lecture de la demande {request_id}"):
            row = (
                self._connection()
                .execute(f"SELECT {REQUEST_SELECT} FROM requests WHERE id = ?", (request_id,))
                .fetchone()
            )
            return None if row is None else codec.decode_requests((row,))[0]

    def get_identity(self, request_id: str) -> PatientIdentity | None:
        with self._guard(f"lecture de l'identité de la demande {request_id}"):
            row = (
                self._connection()
                .execute(
                    f"SELECT {IDENTITY_SELECT} FROM identities WHERE request_id = ?", (request_id,)
                )
                .fetchone()
            )
            return None if row is None else codec.decode_identity(row)

    def get_file(self, request_id: str) -> RequestFile | None:
        return self.get_files((request_id,)).get(request_id)

    def get_files(self, request_ids: Iterable[str]) -> dict[str, RequestFile]:
        ids = sorted(set(request_ids))
        files: dict[str, RequestFile] = {}
        with self._guard("lecture des dossiers"), self._snapshot() as conn:
            for chunk in chunks(ids):
                marks = placeholders(len(chunk))
                states = {
                    row[0]: row[1:]
                    for row in conn.execute(
                        f"SELECT id, persons, {FILE_SELECT} FROM requests WHERE id IN ({marks})",
                        chunk,
                    )
                }
                histories: dict[str, list[Transition]] = {rid: [] for rid in states}
                for row in conn.execute(
                    f"SELECT {TRANSITION_SELECT} FROM transitions "
                    f"WHERE request_id IN ({marks}) ORDER BY request_id, seq",
                    chunk,
                ):
                    histories[row[0]].append(codec.decode_transition(row))
                for rid in chunk:
                    state = states.get(rid)
                    if state is not None:
                        files[rid] = codec.decode_file(
                            rid, state[1:], histories[rid], persons=state[0]
                        )
        return files

    def personal_records(self, request_ids: Iterable[str]) -> dict[str, PersonalRecord]:
        ids = sorted(set(request_ids))
        rows: list[Any] = []
        with self._guard("lecture des demandes"), self._snapshot() as conn:
            for chunk in chunks(ids):
                rows += conn.execute(
                    f"SELECT {PERSONAL_SELECT} FROM requests r LEFT JOIN identities i "
                    f"ON i.request_id = r.id WHERE r.id IN ({placeholders(len(chunk))})",
                    chunk,
                ).fetchall()
        return self._personal_records(rows)

    def erased_on(self, request_id: str) -> dt.date | None:
        with self._guard(f"lecture de la demande {request_id}"):
            row = (
                self._connection()
                .execute("SELECT erased_on FROM requests WHERE id = ?", (request_id,))
                .fetchone()
            )
            return None if row is None or row[0] is None else codec.decode_date(row[0])

    def _select_by_state(self, columns: str, states: Iterable[RequestState] | None) -> list[Any]:
        wanted = state_values(states)
        conn = self._connection()
        if wanted is None:
            return conn.execute(f"SELECT {columns} FROM requests ORDER BY id").fetchall()
        if not wanted:
            return []
        return conn.execute(
            f"SELECT {columns} FROM requests "
            f"WHERE state IN ({placeholders(len(wanted))}) ORDER BY id",
            wanted,
        ).fetchall()

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
        ordered, first = slice_order(order, on)
        wanted = state_values(states)
        if wanted is not None and not wanted:
            return 0, []
        where, params = slice_condition(wanted, commune)
        with self._guard("lecture de la liste des demandes"), self._snapshot() as conn:
            total = int(conn.execute(f"SELECT COUNT(*) FROM requests{where}", params).fetchone()[0])
            rows = conn.execute(
                f"SELECT {SUMMARY_SELECT} FROM requests{where} ORDER BY {ordered} LIMIT ? OFFSET ?",
                [*params, *first, -1 if limit is None else max(limit, 0), max(offset, 0)],
            ).fetchall()
            return total, codec.decode_summaries(rows)

    def count_requests(self) -> int:
        with self._guard("comptage des demandes"):
            return int(self._connection().execute("SELECT COUNT(*) FROM requests").fetchone()[0])

    def known_persons(self) -> Iterator[KnownPerson]:
        with self._guard("lecture des personnes connues"):
            rows = (
                self._connection()
                .execute(
                    f"SELECT r.id, r.birth_date, r.state, "
                    f"{', '.join('i.' + c for c in codec.IDENTITY_COLUMNS)} "
                    "FROM requests AS r JOIN identities AS i ON i.request_id = r.id "
                    "WHERE r.erased_on IS NULL ORDER BY r.id"
                )
                .fetchall()
            )
        return self._persons(rows)

    def transitions(self, request_id: str | None = None) -> list[Transition]:
        with self._guard("lecture des transitions"):
            conn = self._connection()
            if request_id is None:
                cursor = conn.execute(f"SELECT {TRANSITION_SELECT} FROM transitions ORDER BY seq")
            else:
                cursor = conn.execute(
                    f"SELECT {TRANSITION_SELECT} FROM transitions WHERE request_id = ? "
                    "ORDER BY seq",
                    (request_id,),
                )
            return codec.decode_transitions(cursor.fetchall())

    def physician_requests(self, physician_id: str, since: dt.date | None = None) -> list[str]:
        with self._guard("lecture des demandes d'un médecin"):
            rows = self._connection().execute(
                PHYSICIAN_REQUESTS,
                (physician_id, "" if since is None else since.isoformat()),
            )
            return sorted({row[0] for row in rows.fetchall()})

    def run_transitions(self, number: int) -> list[Transition]:
        with self._guard(f"lecture des transitions du passage n° {number}"):
            rows = self._connection().execute(RUN_TRANSITIONS, (number,)).fetchall()
            return codec.decode_transitions(rows)

    def changed_requests(self, since: str) -> list[str] | None:
        """The requests whose ``changed`` (schema 11, stamped by triggers with the data
        version their transaction's commit leaves) is above ``since``; ``None`` for a version
        below the ``changes_from`` of the ``meta`` table (the data version at the upgrade to
        schema 11: the changes before it are not recorded) or above the current one."""
        start = version_number(since)
        if start is None:
            return None
        with self._guard("lecture des demandes modifiées"), self._snapshot() as conn:
            current = int(self.data_version())
            row = conn.execute("SELECT value FROM meta WHERE key = 'changes_from'").fetchone()
            if start > current or start < (0 if row is None else int(row[0])):
                return None
            # read through the index requests_by_change, sorted here: with ORDER BY id, SQLite
            # would scan the table in id order instead (30 ms at 100,000 requests)
            rows = conn.execute("SELECT id FROM requests WHERE changed > ?", (start,))
            return sorted(str(row[0]) for row in rows.fetchall())

    # ---------------------------------------------------------------------------------------
    # Imported form rows

    def imported_rows(self, digests: Iterable[str]) -> dict[str, str]:
        wanted = sorted(set(digests))
        found: dict[str, str] = {}
        with self._guard("lecture des lignes déjà importées"), self._snapshot() as conn:
            for chunk in chunks(wanted):
                rows = conn.execute(
                    "SELECT digest, request_id FROM imported_rows "
                    f"WHERE digest IN ({placeholders(len(chunk))})",
                    chunk,
                )
                found.update((str(digest), str(rid)) for digest, rid in rows)
        return found

    def all_imported_rows(self) -> dict[str, str]:
        """Every imported row's digest with its request (to copy a register: not part of
        the :class:`~mt_access.store.base.Store` protocol)."""
        with self._guard("lecture des lignes déjà importées"):
            rows = self._connection().execute(
                "SELECT digest, request_id FROM imported_rows ORDER BY digest"
            )
            return {str(digest): str(rid) for digest, rid in rows.fetchall()}

    def add_imported_rows(self, rows: Sequence[tuple[str, str]]) -> None:
        conn = self._data_writer()
        try:
            with self._guard("enregistrement des lignes importées"), self._savepoint(conn):
                conn.executemany(
                    "INSERT INTO imported_rows (digest, request_id) VALUES (?, ?)", rows
                )
        except StoreError as exc:
            if isinstance(exc.__cause__, sqlite3.IntegrityError):
                raise self._fail(
                    "ligne de formulaire déjà importée (par un autre import en même temps ?) "
                    "ou demande inconnue : import refusé, rien n'a été enregistré"
                ) from None
            raise

    # ---------------------------------------------------------------------------------------
    # Physicians

    def put_physician(self, physician: Physician) -> None:
        conn = self._data_writer()
        self._gps_changed = True  # physicians_version changes at commit
        with self._guard(f"enregistrement du médecin {physician.id}"):
            conn.execute(INSERT_PHYSICIAN, codec.physician_row(physician))

    def get_physician(self, physician_id: str) -> Physician | None:
        with self._guard(f"lecture du médecin {physician_id}"):
            row = (
                self._connection()
                .execute(f"SELECT {PHYSICIAN_SELECT} FROM physicians WHERE id = ?", (physician_id,))
                .fetchone()
            )
            return None if row is None else codec.decode_physician(row)

    def physicians(self) -> list[Physician]:
        with self._guard("lecture des médecins"):
            rows = self._connection().execute(
                f"SELECT {PHYSICIAN_SELECT} FROM physicians ORDER BY id"
            )
            return [codec.decode_physician(row) for row in rows.fetchall()]

    # ---------------------------------------------------------------------------------------
    # Ledger

    def append_ledger(self, entries: Sequence[LedgerEntry]) -> None:
        conn = self._data_writer()
        with self._guard("enregistrement d'entrées du registre de capacités"):
            rows = [codec.ledger_row(entry) for entry in entries]
            with self._savepoint(conn):
                conn.executemany(INSERT_LEDGER, rows)

    def ledger_entries(self) -> list[LedgerEntry]:
        with self._guard("lecture du registre de capacités"):
            rows = self._connection().execute(f"SELECT {LEDGER_SELECT} FROM ledger ORDER BY seq")
            return codec.decode_ledger(rows.fetchall())

    def ledger_entries_after(self, position: int) -> list[LedgerEntry]:
        start = ledger_position(position)
        with self._guard("lecture du registre de capacités"):
            # seq is an INTEGER PRIMARY KEY (rowid): the entries never deleted, LIMIT -1 OFFSET
            # skips the first ones through the index without decoding them
            rows = self._connection().execute(
                f"SELECT {LEDGER_SELECT} FROM ledger ORDER BY seq LIMIT -1 OFFSET ?", (start,)
            )
            return codec.decode_ledger(rows.fetchall())

    # ---------------------------------------------------------------------------------------
    # Runs

    def add_run(self, run: RunRecord) -> RunRecord:
        conn = self._data_writer()
        with self._guard("enregistrement d'un passage d'appariement"):
            last = conn.execute("SELECT COALESCE(MAX(number), 0) FROM runs").fetchone()[0]
            numbered = attrs.evolve(run, number=int(last) + 1)
            conn.execute(INSERT_RUN, codec_records.run_row(numbered))
            return numbered

    def runs(self) -> list[RunRecord]:
        with self._guard("lecture des passages d'appariement"):
            rows = self._connection().execute(f"SELECT {RUN_SELECT} FROM runs ORDER BY number")
            return [codec_records.decode_run(row) for row in rows.fetchall()]

    # ---------------------------------------------------------------------------------------
    # Sendings (letters sent by e-mail, attempt by attempt)

    def add_sending(self, record: SendingRecord) -> None:
        conn = self._writer()
        with self._guard(f"enregistrement d'un envoi de la demande {record.request_id}"):
            conn.execute(
                "INSERT INTO sendings (request_id, letter, physician_id, recipient_kind, "
                "recipient, at, attempt, code, answer, sent) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                codec_records.sending_row(record),
            )

    def sendings(self, request_id: str | None = None) -> list[SendingRecord]:
        query = f"SELECT {SENDING_SELECT} FROM sendings"
        params: tuple[str, ...] = ()
        if request_id is not None:
            query += " WHERE request_id = ?"
            params = (request_id,)
        with self._guard("lecture des envois"):
            rows = self._connection().execute(query + " ORDER BY seq", params).fetchall()
        return [codec_records.decode_sending(row) for row in rows]

    # ---------------------------------------------------------------------------------------
    # Settings (rows of the ``meta`` table whose key starts with ``setting:``)

    def settings(self) -> dict[str, str]:
        with self._guard("lecture des réglages du registre"):
            rows = self._connection().execute(
                "SELECT key, value FROM meta WHERE key LIKE 'setting:%' ORDER BY key"
            )
            return {str(key).removeprefix("setting:"): str(value) for key, value in rows}

    def put_setting(self, key: str, value: str) -> None:
        conn = self._writer()
        with self._guard("enregistrement d'un réglage du registre"):
            conn.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (f"setting:{key}", value)
            )

    # ---------------------------------------------------------------------------------------
    # Web accounts and audit trail

    def put_user(self, user: UserRecord) -> None:
        conn = self._writer()
        with self._guard(f"enregistrement du compte {user.login}"):
            conn.execute(
                f"INSERT OR REPLACE INTO users ({USER_SELECT}) "
                f"VALUES ({placeholders(len(codec_records.USER_COLUMNS))})",
                codec_records.user_row(user),
            )

    def get_user(self, login: str) -> UserRecord | None:
        with self._guard("lecture d'un compte"):
            row = (
                self._connection()
                .execute(f"SELECT {USER_SELECT} FROM users WHERE login = ?", (login,))
                .fetchone()
            )
            return None if row is None else codec_records.decode_user(row)

    def users(self) -> list[UserRecord]:
        with self._guard("lecture des comptes"):
            rows = self._connection().execute(f"SELECT {USER_SELECT} FROM users ORDER BY login")
            return [codec_records.decode_user(row) for row in rows.fetchall()]

    def add_audit(self, record: AuditRecord) -> AuditRecord:
        conn = self._writer()
        at = codec_records.utc_second(record.at)
        with self._guard("enregistrement d'une ligne du journal d'audit"):
            cursor = conn.execute(
                "INSERT INTO audit (at, actor, action, subject, detail) VALUES (?, ?, ?, ?, ?)",
                codec_records.audit_row(attrs.evolve(record, at=at))[1:],
            )
            return attrs.evolve(record, at=at, seq=int(cursor.lastrowid or 0))

    def audit_entries(
        self, *, subject: str | None = None, before: int | None = None, limit: int | None = None
    ) -> list[AuditRecord]:
        where: list[str] = []
        params: list[Any] = []
        if subject is not None:
            where.append("subject = ?")
            params.append(subject)
        if before is not None:
            where.append("seq < ?")
            params.append(before)
        query = f"SELECT {AUDIT_SELECT} FROM audit"
        if where:
            query += " WHERE " + " AND ".join(where)
        query += " ORDER BY seq DESC"
        if limit is not None:
            query += " LIMIT ?"
            params.append(max(limit, 0))
        with self._guard("lecture du journal d'audit"):
            rows = self._connection().execute(query, params).fetchall()
        return [codec_records.decode_audit(row) for row in rows]

    # ---------------------------------------------------------------------------------------
    # Integrity

    def integrity_check(self) -> list[str]:
        """Check the file and the register's invariants; the problems found, in French
        (empty: all is well). Names ids, never patient data.

        Checks SQLite's ``integrity_check`` and ``foreign_key_check``; the file's marks
        (format, counters); every request: its identity row, at least one transition, the
        first one a ``receive``, each one starting from the state the previous one reached,
        dates that never go backwards, the stored state (and date of the last event) equal
        to the last transition's, readable and valid values, no GP both proposed and
        declining; every physician readable and valid; the ledger: readable entries, every
        release cancelling an active placement, never two active placements of a request
        with the same GP; runs numbered 1, 2, ...
        """
        problems: list[str] = []
        with self._guard("vérification d'intégrité"), self._snapshot() as conn:
            try:
                for (message,) in conn.execute("PRAGMA integrity_check"):
                    for line in str(message).splitlines():
                        if line != "ok" and not line.startswith("***"):
                            problems.append(f"SQLite : {line}")
                if problems:
                    return problems  # the file itself is damaged: reading on may mislead
                for table, rowid, parent, _ in conn.execute("PRAGMA foreign_key_check"):
                    where = "" if rowid is None else f" (ligne {rowid})"
                    problems.append(f"table {table}{where} : référence sans ligne dans {parent}")
                problems.extend(register_invariants(conn))
            except sqlite3.DatabaseError as exc:
                problems.append(f"SQLite : fichier endommagé ({exc})")
        return problems


if TYPE_CHECKING:

    def _implements_the_protocol(store: SQLiteStore) -> Store:
        return store  # mypy checks that SQLiteStore is a Store
