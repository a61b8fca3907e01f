"""The schema of a PostgreSQL register database, version by version, and its SQL text.

One database (in its ``mt_access`` schema) holds the registers of several CPTS: every table
has a ``cpts`` column, part of its primary key, filled by default with
``mt_access.current_cpts()``:

* the CPTS of the connected role when ``mt_access.cpts_roles`` maps it to one (a coordinator's
  role: the ``mt_access.cpts`` setting is then ignored, so the role cannot choose another CPTS);
* otherwise the session's ``mt_access.cpts`` setting (the administrator's connection, which
  opens one CPTS's register at a time).

Row-level security policies on every table (forced, so that they also bind the tables' owner)
let a role read and write only the rows of that CPTS. Superusers and roles with ``BYPASSRLS``
are not bound by policies: the store filters every query by its CPTS as well, but a region
gives its coordinators ordinary roles (see ``docs/postgresql.md``).

The schema's version is in ``mt_access.schema_info``. :data:`STEPS` lists the steps as
``(version reached, statements)``: a database at version ``v`` runs the steps whose version is
above ``v`` in one transaction that also records the new version. The first step creates
version 8 at once (the SQLite file's version 8: same tables, same columns, same meanings);
a later version appends a step, never edits a released one: version 9 adds the web
application's accounts and its audit trail (the SQLite file's version 9); version 10
(PostgreSQL only) counts each CPTS's data changes (``registers.data_changes``), kept by
triggers, for ``PostgresStore.data_version``; version 11 (PostgreSQL only) counts each
CPTS's GP changes (``registers.gp_changes``) the same way, for
``PostgresStore.physicians_version``; version 12 (the SQLite file's version 10) records the
match run on the transitions it made (``transitions.run``, ``runs.tagged``) and indexes the
transitions by GP; version 13 (the SQLite file's version 11) records the data version of each
request's last change (``requests.changed``, ``registers.changes_from``) and indexes the
transitions by run.
"""

from __future__ import annotations

from mt_access.store import codec, codec_records
from mt_access.store.sql_common import (
    AUDIT_SELECT,
    FILE_SELECT,
    IDENTITY_SELECT,
    LEDGER_SELECT,
    PHYSICIAN_SELECT,
    RUN_SELECT,
    SENDING_SELECT,
    TRANSITION_SELECT,
    USER_SELECT,
)

__all__ = [
    "POSTGRES_SCHEMA_VERSION",
    "REGISTER_FORMAT",
    "SCHEMA",
    "STEPS",
    "TABLES",
]

REGISTER_FORMAT = "mt-access register"
SCHEMA = "mt_access"
"""The PostgreSQL schema (namespace) that holds the register's tables."""

T = 'text COLLATE "C"'  # text compared and sorted byte by byte, as SQLite does
CPTS = f"cpts {T} NOT NULL DEFAULT mt_access.current_cpts() CHECK (cpts <> '')"

_V8_TABLES: tuple[str, ...] = (
    "registers",
    "settings",
    "requests",
    "identities",
    "transitions",
    "physicians",
    "ledger",
    "runs",
    "imported_rows",
    "sendings",
)
TABLES: tuple[str, ...] = (*_V8_TABLES, "users", "audit")
"""The tables holding a CPTS's data (each with a ``cpts`` column and a row-level policy)."""


def _policies(table: str) -> tuple[str, ...]:
    return (
        f"ALTER TABLE mt_access.{table} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE mt_access.{table} FORCE ROW LEVEL SECURITY",
        f"""CREATE POLICY same_cpts ON mt_access.{table}
        USING (cpts = (SELECT mt_access.current_cpts()))
        WITH CHECK (cpts = (SELECT mt_access.current_cpts()))""",
    )


def _refuse(name: str, message: str) -> str:
    return f"""CREATE FUNCTION mt_access.{name}() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN RAISE EXCEPTION USING ERRCODE = 'MTA01', MESSAGE = '{message}'; END $$"""


def _erasure_only(
    table: str, blanked: str, kept: tuple[str, ...], what: str, create: str = "CREATE"
) -> str:
    """The function of ``table``'s update trigger: the one change allowed is the erasure's,
    ``blanked`` emptied with the columns ``kept`` unchanged (``what``: the message's end;
    ``create``: ``CREATE OR REPLACE`` to redefine it in a later step)."""
    new = ", ".join(f"NEW.{c}" for c in kept)
    old = ", ".join(f"OLD.{c}" for c in kept)
    return f"""{create} FUNCTION mt_access.{table}_erasure_only() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF NEW.{blanked} <> '' OR ROW({new}) IS DISTINCT FROM ROW({old}) THEN
            RAISE EXCEPTION USING ERRCODE = 'MTA01',
                MESSAGE = '{table} : {what} est permis';
        END IF;
        RETURN NEW;
    END $$"""


_TRANSITION_FIELDS = (
    "seq",
    "cpts",
    "request_id",
    "on_date",
    "event",
    "from_state",
    "to_state",
    "actor",
    "physician_id",
    "reason",
    "persons",
    "resource",
)
"""The columns of a transition that an erasure keeps (it blanks the comment), version 8."""
_SENDING_KEPT = (
    "seq",
    "cpts",
    "request_id",
    "letter",
    "physician_id",
    "recipient_kind",
    "at",
    "attempt",
    "code",
    "sent",
)
"""The columns of a sending that an erasure keeps (it changes only recipient and answer)."""

V8_BASELINE: tuple[str, ...] = (
    "CREATE SCHEMA IF NOT EXISTS mt_access",
    # The database's marks: one row, the format and the schema version.
    """CREATE TABLE mt_access.schema_info (
        singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
        format text NOT NULL,
        version integer NOT NULL
    )""",
    # Which CPTS each coordinator's role belongs to (written by the administrator only).
    f"""CREATE TABLE mt_access.cpts_roles (
        role_name name PRIMARY KEY,
        cpts {T} NOT NULL CHECK (cpts <> '')
    )""",
    """CREATE FUNCTION mt_access.current_cpts() RETURNS text
    LANGUAGE sql STABLE SET search_path = pg_catalog AS $$
        SELECT COALESCE(
            (SELECT r.cpts FROM mt_access.cpts_roles AS r WHERE r.role_name = current_user),
            NULLIF(current_setting('mt_access.cpts', true), ''))
    $$""",
    # One row per CPTS register; ``commits`` grows at every committed transaction, and its
    # row is locked by every write transaction: one writer at a time per CPTS.
    f"""CREATE TABLE mt_access.registers (
        {CPTS} PRIMARY KEY,
        commits bigint NOT NULL DEFAULT 0 CHECK (commits >= 0),
        created timestamptz NOT NULL DEFAULT now()
    )""",
    f"""CREATE TABLE mt_access.settings (
        {CPTS} REFERENCES mt_access.registers (cpts),
        key {T} NOT NULL,
        value {T} NOT NULL,
        PRIMARY KEY (cpts, key)
    )""",
    f"""CREATE TABLE mt_access.requests (
        {CPTS} REFERENCES mt_access.registers (cpts),
        id {T} NOT NULL,
        state {T} NOT NULL,
        received {T} NOT NULL,
        last_event {T} NOT NULL,
        commune {T} NOT NULL,
        persons bigint NOT NULL,
        urgent integer NOT NULL,
        proposed_to {T} NOT NULL DEFAULT '[]',
        declined_by {T} NOT NULL DEFAULT '[]',
        contact_attempts bigint NOT NULL DEFAULT 0,
        exit_reason {T},
        erased_on {T},
        birth_date {T} NOT NULL,
        lat double precision,
        lon double precision,
        ald integer NOT NULL,
        css integer NOT NULL,
        ame integer NOT NULL,
        disability_or_chronic integer NOT NULL,
        home_visits {T} NOT NULL,
        reason {T} NOT NULL,
        previous_mt_name {T},
        previous_mt_commune {T},
        adults bigint NOT NULL,
        children bigint NOT NULL,
        referrer_kind {T} NOT NULL,
        referrer_name {T} NOT NULL,
        referrer_contact {T} NOT NULL,
        consent_given integer NOT NULL,
        consent_on {T},
        comments {T} NOT NULL,
        household_id {T},
        searching bigint NOT NULL DEFAULT 0,
        answers {T} NOT NULL DEFAULT '{{}}',
        PRIMARY KEY (cpts, id),
        CHECK ((lat IS NULL) = (lon IS NULL))
    )""",
    "CREATE INDEX requests_by_state ON mt_access.requests (cpts, state, id)",
    # The patient's personal data, apart: erasure overwrites this row.
    f"""CREATE TABLE mt_access.identities (
        {CPTS},
        request_id {T} NOT NULL,
        last_name {T} NOT NULL,
        first_name {T} NOT NULL,
        birth_name {T} NOT NULL,
        phone {T} NOT NULL,
        email {T} NOT NULL,
        address {T} NOT NULL,
        identifier {T} NOT NULL,
        PRIMARY KEY (cpts, request_id),
        FOREIGN KEY (cpts, request_id) REFERENCES mt_access.requests (cpts, id)
    )""",
    # Append-only event log; ``seq`` is the recording order.
    f"""CREATE TABLE mt_access.transitions (
        seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        {CPTS},
        request_id {T} NOT NULL,
        on_date {T} NOT NULL,
        event {T} NOT NULL,
        from_state {T},
        to_state {T} NOT NULL,
        actor {T} NOT NULL,
        physician_id {T},
        comment {T} NOT NULL DEFAULT '',
        reason {T},
        persons {T} NOT NULL DEFAULT '',
        resource {T},
        FOREIGN KEY (cpts, request_id) REFERENCES mt_access.requests (cpts, id)
    )""",
    "CREATE INDEX transitions_by_request ON mt_access.transitions (cpts, request_id, seq)",
    "CREATE INDEX transitions_by_cpts ON mt_access.transitions (cpts, seq)",
    # Only the erasure's change is allowed: blanking a comment, nothing else.
    _erasure_only(
        "transitions", "comment", _TRANSITION_FIELDS, "seul l''effacement des commentaires"
    ),
    _refuse("transitions_append_only", "transitions : journal en ajout seul"),
    """CREATE TRIGGER transitions_append_only_update BEFORE UPDATE ON mt_access.transitions
    FOR EACH ROW EXECUTE FUNCTION mt_access.transitions_erasure_only()""",
    """CREATE TRIGGER transitions_append_only_delete BEFORE DELETE ON mt_access.transitions
    FOR EACH ROW EXECUTE FUNCTION mt_access.transitions_append_only()""",
    """CREATE TRIGGER transitions_append_only_truncate BEFORE TRUNCATE ON mt_access.transitions
    FOR EACH STATEMENT EXECUTE FUNCTION mt_access.transitions_append_only()""",
    f"""CREATE TABLE mt_access.physicians (
        {CPTS} REFERENCES mt_access.registers (cpts),
        id {T} NOT NULL,
        name {T} NOT NULL,
        commune {T} NOT NULL,
        lat double precision,
        lon double precision,
        accepting_new_patients integer NOT NULL,
        monthly_capacity bigint,
        modalities {T} NOT NULL,
        accepted_communes {T} NOT NULL,
        rpps {T},
        status_history {T} NOT NULL,
        contact_phone {T} NOT NULL DEFAULT '',
        contact_mssante {T} NOT NULL DEFAULT '',
        contact_address {T} NOT NULL DEFAULT '',
        contact_practice {T} NOT NULL DEFAULT '',
        contact_notes {T} NOT NULL DEFAULT '',
        PRIMARY KEY (cpts, id),
        CHECK ((lat IS NULL) = (lon IS NULL))
    )""",
    # Append-only capacity ledger; ``seq`` is the recording order.
    f"""CREATE TABLE mt_access.ledger (
        seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        {CPTS} REFERENCES mt_access.registers (cpts),
        kind {T} NOT NULL,
        physician_id {T} NOT NULL,
        request_id {T},
        month {T},
        capacity bigint,
        persons bigint,
        on_date {T} NOT NULL,
        note {T} NOT NULL DEFAULT '',
        CHECK (
            (kind = 'declared' AND request_id IS NULL AND month IS NOT NULL
                AND capacity >= 0 AND persons IS NULL)
            OR (kind = 'declared' AND request_id IS NULL AND month IS NOT NULL
                AND capacity IS NULL AND persons IS NULL)
            OR (kind = 'placed' AND request_id IS NOT NULL AND month IS NOT NULL
                AND capacity IS NULL AND persons >= 1)
            OR (kind = 'released' AND request_id IS NOT NULL AND month IS NULL
                AND capacity IS NULL AND persons IS NULL)
        )
    )""",
    "CREATE INDEX ledger_by_cpts ON mt_access.ledger (cpts, seq)",
    _refuse("ledger_append_only", "ledger : registre en ajout seul"),
    """CREATE TRIGGER ledger_append_only_update BEFORE UPDATE ON mt_access.ledger
    FOR EACH ROW EXECUTE FUNCTION mt_access.ledger_append_only()""",
    """CREATE TRIGGER ledger_append_only_delete BEFORE DELETE ON mt_access.ledger
    FOR EACH ROW EXECUTE FUNCTION mt_access.ledger_append_only()""",
    """CREATE TRIGGER ledger_append_only_truncate BEFORE TRUNCATE ON mt_access.ledger
    FOR EACH STATEMENT EXECUTE FUNCTION mt_access.ledger_append_only()""",
    f"""CREATE TABLE mt_access.runs (
        {CPTS} REFERENCES mt_access.registers (cpts),
        number bigint NOT NULL,
        on_date {T} NOT NULL,
        month {T} NOT NULL,
        policy_code {T} NOT NULL,
        placements bigint NOT NULL,
        orientations bigint NOT NULL,
        waiting bigint NOT NULL,
        rejected bigint NOT NULL,
        PRIMARY KEY (cpts, number)
    )""",
    # Digests of the imported form rows: the primary key makes an import idempotent.
    f"""CREATE TABLE mt_access.imported_rows (
        {CPTS},
        digest {T} NOT NULL,
        request_id {T} NOT NULL,
        PRIMARY KEY (cpts, digest),
        FOREIGN KEY (cpts, request_id) REFERENCES mt_access.requests (cpts, id)
    )""",
    "CREATE INDEX imported_rows_by_request ON mt_access.imported_rows (cpts, request_id)",
    # Every attempt at sending a letter by e-mail: no body, no credentials, address masked.
    f"""CREATE TABLE mt_access.sendings (
        seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        {CPTS} REFERENCES mt_access.registers (cpts),
        request_id {T} NOT NULL,
        letter {T} NOT NULL,
        physician_id {T} NOT NULL DEFAULT '',
        recipient_kind {T} NOT NULL,
        recipient {T} NOT NULL,
        at {T} NOT NULL,
        attempt bigint NOT NULL CHECK (attempt >= 1),
        code bigint NOT NULL,
        answer {T} NOT NULL,
        sent integer NOT NULL CHECK (sent IN (0, 1))
    )""",
    "CREATE INDEX sendings_letter ON mt_access.sendings (cpts, request_id, letter, physician_id)",
    # Only the erasure's change is allowed: the recipient blanked and the addresses in the
    # server's answer replaced (SendingRecord.erased), nothing else.
    _erasure_only("sendings", "recipient", _SENDING_KEPT, "seul l''effacement des adresses"),
    _refuse("sendings_append_only", "sendings : les envois enregistrés ne se modifient pas"),
    """CREATE TRIGGER sendings_append_only_update BEFORE UPDATE ON mt_access.sendings
    FOR EACH ROW EXECUTE FUNCTION mt_access.sendings_erasure_only()""",
    """CREATE TRIGGER sendings_append_only_delete BEFORE DELETE ON mt_access.sendings
    FOR EACH ROW EXECUTE FUNCTION mt_access.sendings_append_only()""",
    *(statement for table in _V8_TABLES for statement in _policies(table)),
)
"""Version 8 at once: the tables of an SQLite register at version 8, with a ``cpts`` column,
the append-only triggers and the row-level policies."""

USERS_GRANT = "GRANT SELECT, INSERT, UPDATE ON mt_access.users TO {}"
AUDIT_GRANT = "GRANT SELECT, INSERT ON mt_access.audit TO {}"
"""The rights of a coordinator's role on the tables of version 9 (``{}``: the role)."""

V9_WEB: tuple[str, ...] = (
    # The accounts of the web application (mt-access serve, mt-access utilisateur): the
    # Argon2 hash of the password, never the password; times are UTC ISO texts, as in SQLite.
    f"""CREATE TABLE mt_access.users (
        {CPTS} REFERENCES mt_access.registers (cpts),
        login {T} NOT NULL,
        display_name {T} NOT NULL,
        role {T} NOT NULL CHECK (role IN ('admin', 'coordinateur', 'lecture')),
        password_hash {T} NOT NULL,
        active integer NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
        session_epoch bigint NOT NULL DEFAULT 0,
        failed_logins bigint NOT NULL DEFAULT 0 CHECK (failed_logins >= 0),
        locked_until {T},
        created {T} NOT NULL,
        PRIMARY KEY (cpts, login)
    )""",
    # The audit trail, append-only like the ledger. ``seq`` numbers a CPTS's lines 1, 2, ...
    # (the store gives the next number under the CPTS's write lock), as the SQLite file does.
    f"""CREATE TABLE mt_access.audit (
        {CPTS} REFERENCES mt_access.registers (cpts),
        seq bigint NOT NULL CHECK (seq >= 1),
        at {T} NOT NULL,
        actor {T} NOT NULL,
        action {T} NOT NULL,
        subject {T},
        detail {T} NOT NULL DEFAULT '',
        PRIMARY KEY (cpts, seq)
    )""",
    "CREATE INDEX audit_by_subject ON mt_access.audit (cpts, subject, seq)",
    _refuse("audit_append_only", "audit : journal en ajout seul"),
    """CREATE TRIGGER audit_append_only_update BEFORE UPDATE ON mt_access.audit
    FOR EACH ROW EXECUTE FUNCTION mt_access.audit_append_only()""",
    """CREATE TRIGGER audit_append_only_delete BEFORE DELETE ON mt_access.audit
    FOR EACH ROW EXECUTE FUNCTION mt_access.audit_append_only()""",
    """CREATE TRIGGER audit_append_only_truncate BEFORE TRUNCATE ON mt_access.audit
    FOR EACH STATEMENT EXECUTE FUNCTION mt_access.audit_append_only()""",
    *_policies("users"),
    *_policies("audit"),
    # The coordinators' roles given a CPTS before this version get the new tables too.
    f"""DO $$
    DECLARE r record;
    BEGIN
        FOR r IN SELECT c.role_name FROM mt_access.cpts_roles AS c
                 JOIN pg_catalog.pg_roles AS p ON p.rolname = c.role_name LOOP
            EXECUTE format('{USERS_GRANT.replace("{}", "%I")}', r.role_name);
            EXECUTE format('{AUDIT_GRANT.replace("{}", "%I")}', r.role_name);
        END LOOP;
    END $$""",
)
"""Version 9: the web application's accounts and its audit trail (append-only), with a
``cpts`` column and the row-level policies, as every table."""

DATA_TABLES: dict[str, tuple[str, ...]] = {
    "requests": ("INSERT", "UPDATE", "DELETE"),
    "identities": ("INSERT", "UPDATE", "DELETE"),
    "transitions": ("INSERT", "UPDATE"),
    "physicians": ("INSERT", "UPDATE", "DELETE"),
    "ledger": ("INSERT",),
    "runs": ("INSERT", "UPDATE", "DELETE"),
    "imported_rows": ("INSERT", "UPDATE", "DELETE"),
}
"""The tables of a register's data (what its data version counts) and the writes each
allows: the history and the ledger refuse deletes (and the ledger updates) by their own
triggers; the audit trail, the accounts, the settings and the sendings are not data."""


def _data_triggers(
    table: str, events: tuple[str, ...], counter: str = "data", function: str = "count_data_change"
) -> tuple[str, ...]:
    """One statement-level trigger per event (a trigger with transition tables has one): the
    rows written name the CPTS whose counter moves."""
    made = []
    for event in events:
        rows = "OLD TABLE AS written" if event == "DELETE" else "NEW TABLE AS written"
        made.append(
            f"""CREATE TRIGGER {table}_{counter}_{event.lower()} AFTER {event} ON mt_access.{table}
            REFERENCING {rows} FOR EACH STATEMENT
            EXECUTE FUNCTION mt_access.{function}()"""
        )
    return tuple(made)


V10_DATA_VERSION: tuple[str, ...] = (
    # The register's data version: how many committed transactions changed its data. A
    # transaction bumps it once (data_xact: the transaction that last bumped it), on its
    # CPTS's row of registers, which the store's write transaction has locked at its start:
    # no new wait, and two CPTS never touch the same row.
    """ALTER TABLE mt_access.registers
        ADD COLUMN data_changes bigint NOT NULL DEFAULT 0 CHECK (data_changes >= 0),
        ADD COLUMN data_xact xid8""",
    """CREATE FUNCTION mt_access.count_data_change() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog AS $$
    BEGIN
        UPDATE mt_access.registers AS r
        SET data_changes = r.data_changes + 1, data_xact = pg_current_xact_id()
        WHERE r.cpts IN (SELECT DISTINCT w.cpts FROM written AS w)
            AND r.data_xact IS DISTINCT FROM pg_current_xact_id();
        RETURN NULL;
    END $$""",
    *(
        statement
        for table, events in DATA_TABLES.items()
        for statement in _data_triggers(table, events)
    ),
)
"""Version 10 (PostgreSQL only; the SQLite file counts in its ``meta`` table): a counter of
data changes per CPTS kept by triggers, read by ``PostgresStore.data_version`` in one row
instead of the newest row versions of every request and GP."""

V11_PHYSICIANS_VERSION: tuple[str, ...] = (
    # The GPs' version: how many committed transactions wrote a GP, kept as data_changes is
    # (once per transaction, on the CPTS's row of registers that its writer has locked).
    """ALTER TABLE mt_access.registers
        ADD COLUMN gp_changes bigint NOT NULL DEFAULT 0 CHECK (gp_changes >= 0),
        ADD COLUMN gp_xact xid8""",
    """CREATE FUNCTION mt_access.count_gp_change() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog AS $$
    BEGIN
        UPDATE mt_access.registers AS r
        SET gp_changes = r.gp_changes + 1, gp_xact = pg_current_xact_id()
        WHERE r.cpts IN (SELECT DISTINCT w.cpts FROM written AS w)
            AND r.gp_xact IS DISTINCT FROM pg_current_xact_id();
        RETURN NULL;
    END $$""",
    *_data_triggers("physicians", DATA_TABLES["physicians"], "gps", "count_gp_change"),
)
"""Version 11 (PostgreSQL only; the SQLite file counts in its ``meta`` table): a counter of
the GPs' changes per CPTS kept by triggers on ``physicians``, read by
``PostgresStore.physicians_version``: a register reads its GPs again only when they changed,
not after every other client's commit."""

V12_RUN_EVENTS: tuple[str, ...] = (
    # The match run that recorded a transition (its number in runs; NULL for an event
    # recorded by hand, and for every event written before this version). The erasure-only
    # trigger's function is redefined so that the new column cannot be changed either.
    "ALTER TABLE mt_access.transitions ADD COLUMN run bigint",
    _erasure_only(
        "transitions",
        "comment",
        (*_TRANSITION_FIELDS, "run"),
        "seul l''effacement des commentaires",
        create="CREATE OR REPLACE",
    ),
    # Whether a run recorded its number on its transitions: 0 for the runs written before
    # this version, whose transitions are found by the run's date.
    """ALTER TABLE mt_access.runs
        ADD COLUMN tagged integer NOT NULL DEFAULT 0 CHECK (tagged IN (0, 1))""",
    # A GP's requests (PostgresStore.physician_requests) without reading every transition of
    # the CPTS: only the events naming a GP are in the index.
    """CREATE INDEX transitions_by_physician
        ON mt_access.transitions (cpts, physician_id, on_date, request_id)
        WHERE physician_id IS NOT NULL""",
)
"""Version 12 (the SQLite file's version 10): the match run each transition was recorded by,
whether a run recorded it, and the index of the transitions by GP."""

V13_CHANGES: tuple[str, ...] = (
    # The data version (registers.data_changes) of the last transaction that added or changed
    # each request (its row, identity, file and history: every such write updates its row;
    # PostgresStore.changed_requests). 0 for the requests written before this version:
    # changed at or before their CPTS's changes_from, its data version at the upgrade.
    "ALTER TABLE mt_access.requests ADD COLUMN changed bigint NOT NULL DEFAULT 0",
    "CREATE INDEX requests_by_change ON mt_access.requests (cpts, changed)",
    """ALTER TABLE mt_access.registers
        ADD COLUMN changes_from bigint NOT NULL DEFAULT 0 CHECK (changes_from >= 0)""",
    "UPDATE mt_access.registers SET changes_from = data_changes",
    # Stamped by a trigger, so that no write can forget it: the version the transaction's
    # commit leaves (data_changes, plus one when no statement of the transaction bumped it yet:
    # the statement triggers of version 10 bump it after the rows are written).
    """CREATE FUNCTION mt_access.stamp_request_change() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog AS $$
    BEGIN
        NEW.changed := COALESCE((
            SELECT r.data_changes
                + CASE WHEN r.data_xact IS DISTINCT FROM pg_current_xact_id() THEN 1 ELSE 0 END
            FROM mt_access.registers AS r WHERE r.cpts = NEW.cpts), 0);
        RETURN NEW;
    END $$""",
    """CREATE TRIGGER requests_stamp_change BEFORE INSERT OR UPDATE ON mt_access.requests
    FOR EACH ROW EXECUTE FUNCTION mt_access.stamp_request_change()""",
    # A match run's letters (run_letter_targets) read its own events, not every transition.
    """CREATE INDEX transitions_by_run ON mt_access.transitions (cpts, run, seq)
        WHERE run IS NOT NULL""",
)
"""Version 13 (the SQLite file's version 11): the data version of each request's last change
(what changed since a data version, for the web caches), and the index of the transitions by
match run."""

STEPS: tuple[tuple[int, tuple[str, ...]], ...] = (
    (8, V8_BASELINE),
    (9, V9_WEB),
    (10, V10_DATA_VERSION),
    (11, V11_PHYSICIANS_VERSION),
    (12, V12_RUN_EVENTS),
    (13, V13_CHANGES),
)
"""``(version reached, statements)`` in order; append a step for a new version."""

POSTGRES_SCHEMA_VERSION = STEPS[-1][0]
"""The schema version this code writes in a PostgreSQL database (and the newest it reads)."""

# --------------------------------------------------------------------------------------------
# Statements of the store (``%s`` placeholders; the CPTS is always the first parameter of a
# query that reads, the row-level policy and the column default add it to every write).


def marks(n: int) -> str:
    return ", ".join(["%s"] * n)


INSERT_REQUEST = (
    f"INSERT INTO mt_access.requests (cpts, id, {', '.join(codec.REQUEST_DATA_COLUMNS)}, "
    f"{FILE_SELECT}) "
    f"VALUES ({marks(2 + len(codec.REQUEST_DATA_COLUMNS) + len(codec.FILE_COLUMNS))})"
)
UPDATE_REQUEST = (
    "UPDATE mt_access.requests SET "
    f"{', '.join(f'{c} = %s' for c in codec.REQUEST_DATA_COLUMNS)} WHERE cpts = %s AND id = %s"
)
UPDATE_FILE = (
    f"UPDATE mt_access.requests SET {', '.join(f'{c} = %s' for c in codec.FILE_COLUMNS)} "
    "WHERE cpts = %s AND id = %s"
)
INSERT_IDENTITY = (
    f"INSERT INTO mt_access.identities (cpts, request_id, {IDENTITY_SELECT}) "
    f"VALUES ({marks(2 + len(codec.IDENTITY_COLUMNS))})"
)
UPDATE_IDENTITY = (
    f"UPDATE mt_access.identities SET {', '.join(f'{c} = %s' for c in codec.IDENTITY_COLUMNS)} "
    "WHERE cpts = %s AND request_id = %s"
)
INSERT_TRANSITION = (
    f"INSERT INTO mt_access.transitions (cpts, {TRANSITION_SELECT}) "
    f"VALUES ({marks(1 + len(codec.TRANSITION_COLUMNS))})"
)
DATA_VERSION_QUERY = "SELECT data_changes FROM mt_access.registers WHERE cpts = %s"
"""What :meth:`~mt_access.store.postgres.PostgresStore.data_version` reads: the CPTS's
counter of data changes, kept by the schema's triggers (version 10)."""
PHYSICIAN_REQUESTS = (
    "SELECT DISTINCT request_id FROM mt_access.transitions WHERE cpts = %s "
    "AND physician_id = %s AND on_date >= %s ORDER BY request_id"
)
"""The requests of a GP's transitions from a date (``physician_requests``; parameters: the
CPTS, the GP, the first date): read in the index ``transitions_by_physician`` (version 12)."""
CHANGES_FROM_QUERY = "SELECT data_changes, changes_from FROM mt_access.registers WHERE cpts = %s"
"""The CPTS's data version and the version its record of changes starts at (version 13)."""
CHANGED_REQUESTS = "SELECT id FROM mt_access.requests WHERE cpts = %s AND changed > %s"
"""The requests changed after a data version (``changed_requests``; index
``requests_by_change``, version 13), sorted by the caller (not by id here: the planner could
then prefer to read the whole table in id order)."""
RUN_TRANSITIONS = (
    f"SELECT {TRANSITION_SELECT} FROM mt_access.transitions "
    "WHERE cpts = %s AND run = %s ORDER BY seq"
)
"""A run's transitions (``run_transitions``; index ``transitions_by_run``, version 13)."""
PHYSICIANS_VERSION_QUERY = "SELECT gp_changes FROM mt_access.registers WHERE cpts = %s"
"""What :meth:`~mt_access.store.postgres.PostgresStore.physicians_version` reads: the CPTS's
counter of GP changes (schema version 11)."""


INSERT_PHYSICIAN = (
    f"INSERT INTO mt_access.physicians (cpts, {PHYSICIAN_SELECT}) "
    f"VALUES ({marks(1 + len(codec.PHYSICIAN_COLUMNS))}) ON CONFLICT (cpts, id) DO UPDATE SET "
    + ", ".join(f"{c} = EXCLUDED.{c}" for c in codec.PHYSICIAN_COLUMNS[1:])
)
INSERT_LEDGER = (
    f"INSERT INTO mt_access.ledger (cpts, {LEDGER_SELECT}) "
    f"VALUES ({marks(1 + len(codec.LEDGER_COLUMNS))})"
)
INSERT_RUN = (
    f"INSERT INTO mt_access.runs (cpts, {RUN_SELECT}) "
    f"VALUES ({marks(1 + len(codec_records.RUN_COLUMNS))})"
)
INSERT_SENDING = f"INSERT INTO mt_access.sendings (cpts, {SENDING_SELECT}) VALUES ({marks(11)})"

INSERT_USER = (
    f"INSERT INTO mt_access.users (cpts, {USER_SELECT}) "
    f"VALUES ({marks(1 + len(codec_records.USER_COLUMNS))}) "
    "ON CONFLICT (cpts, login) DO UPDATE SET "
    + ", ".join(f"{c} = EXCLUDED.{c}" for c in codec_records.USER_COLUMNS[1:])
)
INSERT_AUDIT = (
    f"INSERT INTO mt_access.audit (cpts, {AUDIT_SELECT}) "
    f"VALUES ({marks(1 + len(codec_records.AUDIT_COLUMNS))})"
)

# --------------------------------------------------------------------------------------------
# Set-based writes of many rows (a match run's commit): one statement per table whatever the
# number of rows, each column passed as one array (``unnest``), rows kept in their order.

FILE_TYPES: tuple[str, ...] = ("text", "text", "text", "text", "bigint", "text", "bigint")
"""The SQL types of :data:`~mt_access.store.codec.FILE_COLUMNS`, in order."""
TRANSITION_TYPES: tuple[str, ...] = ("text",) * (len(codec.TRANSITION_COLUMNS) - 1) + ("bigint",)
"""The SQL types of :data:`~mt_access.store.codec.TRANSITION_COLUMNS`, in order."""
LEDGER_TYPES: tuple[str, ...] = ("text", "text", "text", "text", "bigint", "bigint", "text", "text")
"""The SQL types of :data:`~mt_access.store.codec.LEDGER_COLUMNS`, in order."""


def _arrays(types: tuple[str, ...]) -> str:
    return ", ".join(f"%s::{kind}[]" for kind in types)


def insert_many(table: str, columns: tuple[str, ...], types: tuple[str, ...]) -> str:
    """``INSERT`` of many rows into ``table`` from one array per column (parameters: the
    CPTS, then the arrays), in the arrays' order (an identity ``seq`` follows it)."""
    names = ", ".join(columns)
    picked = ", ".join(f"u.{c}" for c in columns)
    return (
        f"INSERT INTO mt_access.{table} (cpts, {names}) SELECT %s, {picked} "
        f"FROM unnest({_arrays(types)}) WITH ORDINALITY AS u({names}, ordinal) "
        "ORDER BY u.ordinal"
    )


INSERT_TRANSITIONS = insert_many("transitions", codec.TRANSITION_COLUMNS, TRANSITION_TYPES)
INSERT_LEDGER_ENTRIES = insert_many("ledger", codec.LEDGER_COLUMNS, LEDGER_TYPES)
UPDATE_FILES = (
    "UPDATE mt_access.requests AS r SET "
    + ", ".join(f"{c} = u.{c}" for c in codec.FILE_COLUMNS)
    + f" FROM unnest(%s::text[], {_arrays(FILE_TYPES)}) "
    f"AS u(id, {', '.join(codec.FILE_COLUMNS)}) WHERE r.cpts = %s AND r.id = u.id"
)
"""The files' states of many requests (parameters: the ids, one array per column of
:data:`~mt_access.store.codec.FILE_COLUMNS`, the CPTS)."""
NEXT_RUN = (
    f"INSERT INTO mt_access.runs (cpts, {RUN_SELECT}) "
    f"SELECT %s, COALESCE(MAX(number), 0) + 1, {marks(len(codec_records.RUN_COLUMNS) - 1)} "
    "FROM mt_access.runs WHERE cpts = %s RETURNING number"
)
"""A run numbered after the CPTS's last one (its writers take turns: no two get a number)."""
NEXT_AUDIT = (
    f"INSERT INTO mt_access.audit (cpts, {AUDIT_SELECT}) "
    f"SELECT %s, COALESCE(MAX(seq), 0) + 1, {marks(len(codec_records.AUDIT_COLUMNS) - 1)} "
    "FROM mt_access.audit WHERE cpts = %s RETURNING seq"
)
"""A line of the audit trail numbered after the CPTS's last one."""
