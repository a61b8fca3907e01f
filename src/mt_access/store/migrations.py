"""The schema of an SQLite register file, version by version.

A register file records its schema version in SQLite's ``PRAGMA user_version`` and marks
itself as an mt-access register with ``PRAGMA application_id`` (:data:`APPLICATION_ID`).
:data:`MIGRATIONS` lists, in order, the steps from one version to the next: step ``i`` turns a
version ``i`` file into a version ``i + 1`` file (step 0 creates the first schema on an empty
file). A new register is built by running every step, so the upgrade path is the creation
path and is exercised every time a register is created.

Rules for adding a version: append a step, never edit a released one; a step only adds
(tables, columns with a default, indexes, triggers) or rewrites data in SQL; it runs inside the
transaction that also sets the new ``user_version``, so an interrupted upgrade leaves the file
at its old version.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence

__all__ = [
    "APPLICATION_ID",
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "V1_SCHEMA",
    "V2_CHANGES",
    "V3_CHANGES",
    "V4_PERSONS",
    "V5_CONTACTS",
    "V6_ANSWERS",
    "V7_RESOURCES",
    "V8_SENDINGS",
    "V9_WEB",
    "V10_RUN_EVENTS",
    "V11_CHANGES",
    "Migration",
]

APPLICATION_ID = 0x6D744163
"""``PRAGMA application_id`` of a register file (the bytes ``mtAc``)."""

Migration = Callable[[sqlite3.Connection], None]
"""One step: run on a connection inside a write transaction."""

V1_SCHEMA: tuple[str, ...] = (
    # Counters and facts about the file. ``commits`` grows at every committed transaction.
    """CREATE TABLE meta (
        key TEXT PRIMARY KEY NOT NULL,
        value
    ) WITHOUT ROWID""",
    "INSERT INTO meta (key, value) VALUES ('format', 'mt-access register'), ('commits', 0)",
    # One row per request: the listing columns first (state, dates, commune...), then the
    # rest of the request. The file's state is here too (state, proposed_to, declined_by,
    # contact_attempts, exit_reason); its history is in ``transitions``.
    """CREATE TABLE requests (
        id TEXT PRIMARY KEY NOT NULL,
        state TEXT NOT NULL,
        received TEXT NOT NULL,
        last_event TEXT NOT NULL,
        commune TEXT NOT NULL,
        persons INTEGER NOT NULL,
        urgent INTEGER NOT NULL,
        proposed_to TEXT NOT NULL DEFAULT '[]',
        declined_by TEXT NOT NULL DEFAULT '[]',
        contact_attempts INTEGER NOT NULL DEFAULT 0,
        exit_reason TEXT,
        erased_on TEXT,
        birth_date TEXT NOT NULL,
        lat REAL,
        lon REAL,
        ald INTEGER NOT NULL,
        css INTEGER NOT NULL,
        ame INTEGER NOT NULL,
        disability_or_chronic INTEGER NOT NULL,
        home_visits TEXT NOT NULL,
        reason TEXT NOT NULL,
        previous_mt_name TEXT,
        previous_mt_commune TEXT,
        adults INTEGER NOT NULL,
        children INTEGER NOT NULL,
        referrer_kind TEXT NOT NULL,
        referrer_name TEXT NOT NULL,
        referrer_contact TEXT NOT NULL,
        consent_given INTEGER NOT NULL,
        consent_on TEXT,
        comments TEXT NOT NULL,
        household_id TEXT,
        CHECK ((lat IS NULL) = (lon IS NULL))
    ) WITHOUT ROWID""",
    # The patient's personal data, apart: erasure overwrites this row.
    """CREATE TABLE identities (
        request_id TEXT PRIMARY KEY NOT NULL REFERENCES requests (id),
        last_name TEXT NOT NULL,
        first_name TEXT NOT NULL,
        birth_name TEXT NOT NULL,
        phone TEXT NOT NULL,
        email TEXT NOT NULL,
        address TEXT NOT NULL,
        identifier TEXT NOT NULL
    ) WITHOUT ROWID""",
    # Append-only event log; ``seq`` is the recording order.
    """CREATE TABLE transitions (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        request_id TEXT NOT NULL REFERENCES requests (id),
        on_date TEXT NOT NULL,
        event TEXT NOT NULL,
        from_state TEXT,
        to_state TEXT NOT NULL,
        actor TEXT NOT NULL,
        physician_id TEXT,
        comment TEXT NOT NULL DEFAULT '',
        reason TEXT
    )""",
    "CREATE INDEX transitions_by_request ON transitions (request_id, seq)",
    """CREATE TRIGGER transitions_append_only_delete BEFORE DELETE ON transitions
    BEGIN SELECT RAISE(ABORT, 'transitions : journal en ajout seul'); END""",
    """CREATE TRIGGER transitions_append_only_update BEFORE UPDATE ON transitions
    WHEN NEW.comment <> '' OR NEW.seq IS NOT OLD.seq OR NEW.request_id IS NOT OLD.request_id
        OR NEW.on_date IS NOT OLD.on_date OR NEW.event IS NOT OLD.event
        OR NEW.from_state IS NOT OLD.from_state OR NEW.to_state IS NOT OLD.to_state
        OR NEW.actor IS NOT OLD.actor OR NEW.physician_id IS NOT OLD.physician_id
        OR NEW.reason IS NOT OLD.reason
    BEGIN SELECT RAISE(ABORT, 'transitions : seul l''effacement des commentaires est permis');
    END""",
    """CREATE TABLE physicians (
        id TEXT PRIMARY KEY NOT NULL,
        name TEXT NOT NULL,
        commune TEXT NOT NULL,
        lat REAL,
        lon REAL,
        accepting_new_patients INTEGER NOT NULL,
        monthly_capacity INTEGER,
        modalities TEXT NOT NULL,
        accepted_communes TEXT NOT NULL,
        rpps TEXT,
        status_history TEXT NOT NULL,
        CHECK ((lat IS NULL) = (lon IS NULL))
    ) WITHOUT ROWID""",
    # Append-only capacity ledger; ``seq`` is the recording order.
    """CREATE TABLE ledger (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        kind TEXT NOT NULL,
        physician_id TEXT NOT NULL,
        request_id TEXT,
        month TEXT,
        capacity INTEGER,
        persons INTEGER,
        on_date TEXT NOT NULL,
        note TEXT NOT NULL DEFAULT '',
        CHECK (
            (kind = 'declared' AND request_id IS NULL AND month IS NOT NULL
                AND capacity >= 0 AND persons IS NULL)
            OR (kind = 'placed' AND request_id IS NOT NULL AND month IS NOT NULL
                AND capacity IS NULL AND persons >= 1)
            OR (kind = 'released' AND request_id IS NOT NULL AND month IS NULL
                AND capacity IS NULL AND persons IS NULL)
        )
    )""",
    """CREATE TRIGGER ledger_append_only_update BEFORE UPDATE ON ledger
    BEGIN SELECT RAISE(ABORT, 'ledger : registre en ajout seul'); END""",
    """CREATE TRIGGER ledger_append_only_delete BEFORE DELETE ON ledger
    BEGIN SELECT RAISE(ABORT, 'ledger : registre en ajout seul'); END""",
)
"""The first schema (version 1): requests, identities, transitions, physicians, ledger."""

V2_CHANGES: tuple[str, ...] = (
    # The match runs, numbered in commit order.
    """CREATE TABLE runs (
        number INTEGER PRIMARY KEY,
        on_date TEXT NOT NULL,
        month TEXT NOT NULL,
        policy_code TEXT NOT NULL,
        placements INTEGER NOT NULL,
        orientations INTEGER NOT NULL,
        waiting INTEGER NOT NULL,
        rejected INTEGER NOT NULL
    )""",
    # Listing the requests of a state (the waiting list) without scanning the table.
    "CREATE INDEX requests_by_state ON requests (state, id)",
)
"""Version 2: the ``runs`` table and the index of requests by state."""


V3_CHANGES: tuple[str, ...] = (
    # One row per imported form row: the digest of the row's content
    # (mt_access.intake.importer.row_digest) and the request it became. The primary key is
    # what makes an import idempotent: a second import of the same rows, even by another
    # process at the same moment, cannot record them again (its transaction skips them, and
    # the constraint refuses them if it did not). Kept after an erasure: the digest holds no
    # readable personal data, and it stops an old export from bringing an erased person back.
    """CREATE TABLE imported_rows (
        digest TEXT PRIMARY KEY NOT NULL,
        request_id TEXT NOT NULL REFERENCES requests (id)
    ) WITHOUT ROWID""",
    "CREATE INDEX imported_rows_by_request ON imported_rows (request_id)",
)
"""Version 3: the ``imported_rows`` table (digests of the form rows already imported)."""
V4_PERSONS: tuple[str, ...] = (
    # The persons of a household request an event concerns ('1,3'; '' in files written
    # before: then every person without an outcome). The append-only trigger is rebuilt so
    # that the new column cannot be changed either.
    "ALTER TABLE transitions ADD COLUMN persons TEXT NOT NULL DEFAULT ''",
    "DROP TRIGGER transitions_append_only_update",
    """CREATE TRIGGER transitions_append_only_update BEFORE UPDATE ON transitions
    WHEN NEW.comment <> '' OR NEW.seq IS NOT OLD.seq OR NEW.request_id IS NOT OLD.request_id
        OR NEW.on_date IS NOT OLD.on_date OR NEW.event IS NOT OLD.event
        OR NEW.from_state IS NOT OLD.from_state OR NEW.to_state IS NOT OLD.to_state
        OR NEW.actor IS NOT OLD.actor OR NEW.physician_id IS NOT OLD.physician_id
        OR NEW.reason IS NOT OLD.reason OR NEW.persons IS NOT OLD.persons
    BEGIN SELECT RAISE(ABORT, 'transitions : seul l''effacement des commentaires est permis');
    END""",
    # The persons of each request still searching, for listings and the demand map.
    "ALTER TABLE requests ADD COLUMN searching INTEGER NOT NULL DEFAULT 0",
    "UPDATE requests SET searching = persons WHERE state NOT IN ('mt_found', 'exited')",
)
"""Version 4: the persons each transition concerns (households placed person by person)."""

V5_CONTACTS: tuple[str, ...] = (
    # The GP's practice contact (mt_access.model.PracticeContact): professional data shown
    # in orientation letters and lists; '' when unknown, as every GP of an older file.
    "ALTER TABLE physicians ADD COLUMN contact_phone TEXT NOT NULL DEFAULT ''",
    "ALTER TABLE physicians ADD COLUMN contact_mssante TEXT NOT NULL DEFAULT ''",
    "ALTER TABLE physicians ADD COLUMN contact_address TEXT NOT NULL DEFAULT ''",
    "ALTER TABLE physicians ADD COLUMN contact_practice TEXT NOT NULL DEFAULT ''",
    "ALTER TABLE physicians ADD COLUMN contact_notes TEXT NOT NULL DEFAULT ''",
)
"""Version 5: the GPs' practice contact (phone, MSSanté, address, practice name, notes)."""

V6_ANSWERS: tuple[str, ...] = (
    # The answers to the CPTS's own questions (Request.answers, the policy's questions:), as
    # the JSON text of mt_access.answers.encode_answers: an object by question id, a date as
    # {"date": "aaaa-mm-jj"}, a set of options as {"set": [...]}. '{}' (no answer) for every
    # request of an older file. Personal data: an erasure empties it with the request.
    "ALTER TABLE requests ADD COLUMN answers TEXT NOT NULL DEFAULT '{}'",
)
"""Version 6: the answers of each request to the CPTS's own questions."""

V7_RESOURCES: tuple[str, ...] = (
    # The policy's resource a transition concerns (events resource_involved and
    # resource_answer; NULL for every other event and in older files). The append-only
    # trigger is rebuilt so that the new column cannot be changed either.
    "ALTER TABLE transitions ADD COLUMN resource TEXT",
    "DROP TRIGGER transitions_append_only_update",
    """CREATE TRIGGER transitions_append_only_update BEFORE UPDATE ON transitions
    WHEN NEW.comment <> '' OR NEW.seq IS NOT OLD.seq OR NEW.request_id IS NOT OLD.request_id
        OR NEW.on_date IS NOT OLD.on_date OR NEW.event IS NOT OLD.event
        OR NEW.from_state IS NOT OLD.from_state OR NEW.to_state IS NOT OLD.to_state
        OR NEW.actor IS NOT OLD.actor OR NEW.physician_id IS NOT OLD.physician_id
        OR NEW.reason IS NOT OLD.reason OR NEW.persons IS NOT OLD.persons
        OR NEW.resource IS NOT OLD.resource
    BEGIN SELECT RAISE(ABORT, 'transitions : seul l''effacement des commentaires est permis');
    END""",
)
"""Version 7: the resource each transition concerns (resources involved before a GP, and
their answers)."""


V8_SENDINGS: tuple[str, ...] = (
    # Every attempt at sending a letter by e-mail (mt-access envoyer), append-only: which
    # letter (request, kind, GP or ''), to whom (kind, and the address masked: first character
    # and domain), when (UTC, ISO), the attempt's number, the server's reply code (0: none)
    # and text (addresses masked), and whether it was accepted. No body, no credentials.
    """CREATE TABLE sendings (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        request_id TEXT NOT NULL,
        letter TEXT NOT NULL,
        physician_id TEXT NOT NULL DEFAULT '',
        recipient_kind TEXT NOT NULL,
        recipient TEXT NOT NULL,
        at TEXT NOT NULL,
        attempt INTEGER NOT NULL CHECK (attempt >= 1),
        code INTEGER NOT NULL,
        answer TEXT NOT NULL,
        sent INTEGER NOT NULL CHECK (sent IN (0, 1))
    )""",
    "CREATE INDEX sendings_letter ON sendings (request_id, letter, physician_id)",
    """CREATE TRIGGER sendings_append_only_update BEFORE UPDATE ON sendings
    BEGIN SELECT RAISE(ABORT, 'sendings : les envois enregistrés ne se modifient pas'); END""",
)
"""Version 8: the letters sent by e-mail, attempt by attempt."""


V9_WEB: tuple[str, ...] = (
    # The accounts of the web application (mt-access serve, mt-access utilisateur): the
    # Argon2 hash of the password, never the password; a session carries session_epoch, which
    # a password change or a disabling raises (ending the account's sessions); failed_logins
    # and locked_until throttle the logins (UTC ISO times).
    """CREATE TABLE users (
        login TEXT PRIMARY KEY NOT NULL,
        display_name TEXT NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('admin', 'coordinateur', 'lecture')),
        password_hash TEXT NOT NULL,
        active INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
        session_epoch INTEGER NOT NULL DEFAULT 0,
        failed_logins INTEGER NOT NULL DEFAULT 0 CHECK (failed_logins >= 0),
        locked_until TEXT,
        created TEXT NOT NULL
    ) WITHOUT ROWID""",
    # The audit trail: every write and every display of a patient's identity through the web
    # application (and the account commands), append-only like the ledger. No personal data:
    # the actor (user:<login>, gp:<id>, cli:<name>), a short action code, the request, GP or
    # account concerned, a short detail.
    """CREATE TABLE audit (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        at TEXT NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        subject TEXT,
        detail TEXT NOT NULL DEFAULT ''
    )""",
    "CREATE INDEX audit_by_subject ON audit (subject, seq)",
    """CREATE TRIGGER audit_append_only_update BEFORE UPDATE ON audit
    BEGIN SELECT RAISE(ABORT, 'audit : journal en ajout seul'); END""",
    """CREATE TRIGGER audit_append_only_delete BEFORE DELETE ON audit
    BEGIN SELECT RAISE(ABORT, 'audit : journal en ajout seul'); END""",
)
"""Version 9: the web application's accounts and its audit trail (append-only)."""


V10_RUN_EVENTS: tuple[str, ...] = (
    # The match run that recorded a transition (its number in runs; NULL for an event
    # recorded by hand, and for every event of an older file). The append-only trigger is
    # rebuilt so that the new column cannot be changed either.
    "ALTER TABLE transitions ADD COLUMN run INTEGER",
    "DROP TRIGGER transitions_append_only_update",
    """CREATE TRIGGER transitions_append_only_update BEFORE UPDATE ON transitions
    WHEN NEW.comment <> '' OR NEW.seq IS NOT OLD.seq OR NEW.request_id IS NOT OLD.request_id
        OR NEW.on_date IS NOT OLD.on_date OR NEW.event IS NOT OLD.event
        OR NEW.from_state IS NOT OLD.from_state OR NEW.to_state IS NOT OLD.to_state
        OR NEW.actor IS NOT OLD.actor OR NEW.physician_id IS NOT OLD.physician_id
        OR NEW.reason IS NOT OLD.reason OR NEW.persons IS NOT OLD.persons
        OR NEW.resource IS NOT OLD.resource OR NEW.run IS NOT OLD.run
    BEGIN SELECT RAISE(ABORT, 'transitions : seul l''effacement des commentaires est permis');
    END""",
    # Whether a run recorded its number on its transitions: 0 for the runs of an older file,
    # whose transitions are found by the run's date (shared by two runs of the same day).
    "ALTER TABLE runs ADD COLUMN tagged INTEGER NOT NULL DEFAULT 0 CHECK (tagged IN (0, 1))",
    # A GP's requests (Store.physician_requests: the GP portal, the GP's follow-up) without
    # reading every transition: only the events naming a GP are in the index.
    """CREATE INDEX transitions_by_physician ON transitions (physician_id, on_date, request_id)
    WHERE physician_id IS NOT NULL""",
)
"""Version 10: the match run each transition was recorded by, whether a run recorded it,
and the index of the transitions by GP."""


NEXT_DATA_VERSION = "(SELECT COALESCE(MAX(value), 0) + 1 FROM meta WHERE key = 'data')"
"""The data version the write transaction in progress will leave: the ``data`` counter of
``meta`` is bumped once, at the commit of a transaction that changed the data, and writers
take turns."""

V11_CHANGES: tuple[str, ...] = (
    # The data version (meta 'data') of the last transaction that added or changed each
    # request (its row, its identity, its file and history: every such write updates its row;
    # Store.changed_requests). 0 for every request of an older file: changed at or before
    # the version in meta 'changes_from', the version at the upgrade.
    "ALTER TABLE requests ADD COLUMN changed INTEGER NOT NULL DEFAULT 0",
    "CREATE INDEX requests_by_change ON requests (changed)",
    """INSERT INTO meta (key, value)
    SELECT 'changes_from', COALESCE(MAX(value), 0) FROM meta WHERE key = 'data'""",
    # Stamped by triggers, so that no write can forget it; the inner update does not fire
    # them again (recursive triggers are off, and it leaves `changed` different from OLD's).
    f"""CREATE TRIGGER requests_changed_insert AFTER INSERT ON requests
    BEGIN UPDATE requests SET changed = {NEXT_DATA_VERSION} WHERE id = NEW.id; END""",
    f"""CREATE TRIGGER requests_changed_update AFTER UPDATE ON requests
    WHEN NEW.changed IS OLD.changed
    BEGIN UPDATE requests SET changed = {NEXT_DATA_VERSION}
        WHERE id = NEW.id AND changed IS NOT {NEXT_DATA_VERSION}; END""",
    # A match run's letters (run_letter_targets) read its own events, not every transition.
    "CREATE INDEX transitions_by_run ON transitions (run, seq) WHERE run IS NOT NULL",
)
"""Version 11: the data version of each request's last change (what changed since a data
version, for the web caches), and the index of the transitions by match run."""


def _script(statements: Sequence[str]) -> Migration:
    def run(connection: sqlite3.Connection) -> None:
        for statement in statements:
            connection.execute(statement)

    return run


MIGRATIONS: tuple[Migration, ...] = (
    _script(V1_SCHEMA),
    _script(V2_CHANGES),
    _script(V3_CHANGES),
    _script(V4_PERSONS),
    _script(V5_CONTACTS),
    _script(V6_ANSWERS),
    _script(V7_RESOURCES),
    _script(V8_SENDINGS),
    _script(V9_WEB),
    _script(V10_RUN_EVENTS),
    _script(V11_CHANGES),
)
"""Step ``i`` upgrades a version ``i`` file to version ``i + 1``."""

SCHEMA_VERSION = len(MIGRATIONS)
"""The schema version this code writes (and the newest it reads)."""
