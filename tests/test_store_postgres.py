"""What the PostgreSQL store adds to the store contract (tests/test_store_contract.py runs the
contract itself on it): the database's marks and versions, the append-only tables enforced
by the server, erasure, messages without passwords nor personal data, and several CPTS in one
database kept apart by the server's row-level security, tried as each CPTS's role.

Every test runs against a throwaway server (tests/pg_server.py) and skips where PostgreSQL is
absent. Generated data only.
"""

from __future__ import annotations

import datetime as dt
import subprocess
from collections.abc import Iterator
from pathlib import Path

import attrs
import psycopg
import pytest

from factories import doc, req
from mt_access import CapacityDeclared, Month, PatientIdentity, RequestFile
from mt_access.store import AuditRecord, RunRecord, StoreError, UserRecord
from mt_access.store import postgres_connection as pg_module
from mt_access.store.postgres import PostgresStore
from mt_access.store.postgres_errors import guard, mask_url, split_url
from mt_access.store.postgres_roles import grant_cpts
from mt_access.store.postgres_schema import POSTGRES_SCHEMA_VERSION, STEPS
from pg_server import Server

D1 = dt.date(2026, 2, 2)
D2 = dt.date(2026, 3, 2)
SECRET = "Nomsecret"
T0 = dt.datetime(2026, 3, 2, 9, 30, 15, tzinfo=dt.UTC)


def identity(n: int) -> PatientIdentity:
    return PatientIdentity(
        last_name=f"{SECRET}{n}", first_name=f"Prénomfictif{n}", phone="06 00 00 00 00"
    )


def waiting(rid: str, comment: str = "") -> tuple[object, RequestFile]:
    request = req(rid)
    file = RequestFile.from_request(request, comment=comment)
    return request, file.acknowledge(D1).confirm(D1).to_waiting(D1, comment=comment)


def add(store: PostgresStore, rid: str, n: int = 1, comment: str = "") -> None:
    request, file = waiting(rid, comment)
    with store.transaction():
        store.add_request(request, identity(n), file)


@pytest.fixture
def store(pg_url: str) -> Iterator[PostgresStore]:
    made = PostgresStore(pg_url)
    yield made
    made.close()


def sql(url: str, statement: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    conninfo, _ = split_url(url)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        cursor = conn.execute(statement, params)
        return cursor.fetchall() if cursor.description else []


# --------------------------------------------------------------------------------------------
# Marks, versions, migrations


def test_a_new_database_becomes_a_register_at_version_12(store: PostgresStore) -> None:
    assert store.schema_version == POSTGRES_SCHEMA_VERSION == 13
    assert STEPS[-1][0] == POSTGRES_SCHEMA_VERSION
    assert store.cpts == "principal"
    assert store.integrity_check() == []


def test_a_database_without_a_register_is_refused_unless_created(pg_server: Server) -> None:
    name = f"vide_{id(pg_server)}"
    pg_server.admin(f"CREATE DATABASE {name} TEMPLATE template0")
    try:
        url = pg_server.url(name)
        with pytest.raises(StoreError, match="sans registre mt-access"):
            PostgresStore(url, create=False)
        with pytest.raises(StoreError, match="sans registre mt-access"):
            PostgresStore(url, readonly=True)
        with PostgresStore(url) as made:
            assert made.schema_version == POSTGRES_SCHEMA_VERSION
        with PostgresStore(url, create=False, readonly=True) as again:
            assert again.count_requests() == 0
        with pytest.raises(StoreError, match="aucun registre de cette CPTS"):
            PostgresStore(url + "?cpts=autre", create=False)
    finally:
        pg_server.drop_database(name)


def test_a_schema_that_is_not_a_register_is_refused(pg_server: Server) -> None:
    name = f"autre_{id(pg_server)}"
    pg_server.admin(f"CREATE DATABASE {name} TEMPLATE template0")
    try:
        url = pg_server.url(name)
        sql(url, "CREATE SCHEMA mt_access")
        sql(url, "CREATE TABLE mt_access.requests (id text)")
        with pytest.raises(StoreError, match="n'est pas un registre"):
            PostgresStore(url)
        sql(url, "CREATE TABLE mt_access.schema_info (format text, version int)")
        sql(url, "INSERT INTO mt_access.schema_info VALUES ('autre chose', 1)")
        with pytest.raises(StoreError, match="n'est pas un registre"):
            PostgresStore(url)
    finally:
        pg_server.drop_database(name)


def test_a_newer_register_is_refused(pg_url: str) -> None:
    sql(pg_url, "UPDATE mt_access.schema_info SET version = %s", (POSTGRES_SCHEMA_VERSION + 1,))
    with pytest.raises(StoreError, match="plus récente de mt-access") as caught:
        PostgresStore(pg_url)
    assert f"version {POSTGRES_SCHEMA_VERSION + 1}" in str(caught.value)


def test_a_step_appended_later_upgrades_an_older_database(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    later = POSTGRES_SCHEMA_VERSION + 1
    step = (later, ("CREATE TABLE mt_access.later (x integer)",))
    monkeypatch.setattr(pg_module, "STEPS", (*STEPS, step))
    monkeypatch.setattr(pg_module, "POSTGRES_SCHEMA_VERSION", later)
    with pytest.raises(StoreError, match=f"à mettre à jour en version {later}"):
        PostgresStore(pg_url, readonly=True)
    with PostgresStore(pg_url) as upgraded:
        assert upgraded.schema_version == later
    assert sql(pg_url, "SELECT to_regclass('mt_access.later') IS NOT NULL") == [(True,)]
    monkeypatch.undo()
    with pytest.raises(StoreError, match="plus récente"):
        PostgresStore(pg_url)


def test_a_version_8_database_gets_the_accounts_and_audit_trail(pg_server: Server) -> None:
    """Step 9 on a register written at version 8, whose coordinator's role was given its
    CPTS then: the data stays, the role gets the new tables of its CPTS only."""
    name = f"v8_{id(pg_server)}"
    pg_server.admin(f"CREATE DATABASE {name} TEMPLATE template0")
    pg_server.admin(
        "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'coord_v8') "
        "THEN CREATE ROLE coord_v8 LOGIN; END IF; END $$"
    )
    try:
        url = pg_server.url(name)
        assert STEPS[0][0] == 8
        for statement in STEPS[0][1]:  # version 8 as released
            sql(url, statement)
        sql(url, "INSERT INTO mt_access.schema_info (format, version) VALUES (%s, 8)",
            ("mt-access register",))  # fmt: skip
        sql(url, "INSERT INTO mt_access.registers (cpts) VALUES ('lille')")
        sql(url, "INSERT INTO mt_access.cpts_roles VALUES ('coord_v8', 'lille')")
        sql(url, "GRANT USAGE ON SCHEMA mt_access TO coord_v8")
        sql(url, "GRANT SELECT ON mt_access.schema_info, mt_access.cpts_roles TO coord_v8")
        sql(url, "GRANT SELECT, UPDATE ON mt_access.registers TO coord_v8")
        sql(url, "GRANT SELECT, INSERT ON mt_access.settings TO coord_v8")
        sql(url, "INSERT INTO mt_access.settings (cpts, key, value) VALUES ('lille', 'k', 'v')")
        with pytest.raises(StoreError, match="à mettre à jour en version 13"):
            PostgresStore(url + "?cpts=lille", readonly=True)
        with PostgresStore(url + "?cpts=lille") as upgraded:
            assert upgraded.schema_version == POSTGRES_SCHEMA_VERSION
            assert upgraded.settings() == {"k": "v"}
            assert upgraded.integrity_check() == []
        with PostgresStore(pg_server.url(name, user="coord_v8")) as coordinator:
            assert coordinator.cpts == "lille"
            with coordinator.transaction():
                coordinator.put_user(UserRecord("alice", "Alice", "admin", "$argon2id$x"))
                coordinator.add_audit(AuditRecord(T0, "cli:test", "compte.creer", "alice"))
            assert [u.login for u in coordinator.users()] == ["alice"]
            assert [r.seq for r in coordinator.audit_entries()] == [1]
    finally:
        pg_server.drop_database(name)


def test_version_is_shared_by_every_connection(store: PostgresStore, pg_url: str) -> None:
    with PostgresStore(pg_url) as other:
        before = other.version
        with store.transaction():
            store.put_physician(doc("MG1"))
        assert other.version != before
        assert [p.id for p in other.physicians()] == ["MG1"]


def test_readonly_refuses_writes(store: PostgresStore, pg_url: str) -> None:
    add(store, "R1")
    with PostgresStore(pg_url, readonly=True) as reader:
        assert reader.count_requests() == 1
        with pytest.raises(StoreError, match="lecture seule"), reader.transaction():
            pass


# --------------------------------------------------------------------------------------------
# Append-only, enforced by the server


def test_history_and_ledger_are_append_only_in_the_database(
    store: PostgresStore, pg_url: str
) -> None:
    add(store, "R1", comment="à rappeler")
    with store.transaction():
        store.append_ledger([CapacityDeclared("MG1", Month(2026, 3), 2, D1)])
    refusals = [
        "UPDATE mt_access.transitions SET event = 'withdraw'",
        "UPDATE mt_access.transitions SET on_date = '2020-01-01', comment = ''",
        "UPDATE mt_access.transitions SET comment = 'autre'",
        "DELETE FROM mt_access.transitions",
        "TRUNCATE mt_access.transitions CASCADE",
        "UPDATE mt_access.ledger SET capacity = 9",
        "DELETE FROM mt_access.ledger",
        "TRUNCATE mt_access.ledger",
    ]
    for statement in refusals:
        with pytest.raises(psycopg.Error) as caught:
            sql(pg_url, statement)
        assert caught.value.sqlstate == "MTA01", statement
    # The erasure's change, and that one only, is allowed.
    sql(pg_url, "UPDATE mt_access.transitions SET comment = ''")
    assert {t.comment for t in store.transitions()} == {""}
    assert len(store.ledger_entries()) == 1


def test_the_audit_trail_is_append_only_in_the_database(store: PostgresStore, pg_url: str) -> None:
    with store.transaction():
        store.add_audit(AuditRecord(T0, "user:alice", "connexion"))
        store.put_user(UserRecord("alice", "Alice", "admin", "$argon2id$x"))
    for statement in (
        "UPDATE mt_access.audit SET actor = 'user:bob'",
        "DELETE FROM mt_access.audit",
        "TRUNCATE mt_access.audit",
    ):
        with pytest.raises(psycopg.Error) as caught:
            sql(pg_url, statement)
        assert caught.value.sqlstate == "MTA01", statement
    assert [r.actor for r in store.audit_entries()] == ["user:alice"]
    with pytest.raises(psycopg.Error):  # the roles of the SQLite file's version 9 only
        sql(pg_url, "UPDATE mt_access.users SET role = 'dieu'")


def test_audit_lines_are_numbered_per_cpts(pg_url: str) -> None:
    with (
        PostgresStore(pg_url, cpts="lille") as lille,
        PostgresStore(pg_url, cpts="roubaix") as roubaix,
    ):
        for store in (lille, roubaix, lille):
            with store.transaction():
                store.add_audit(AuditRecord(T0, "user:alice", "connexion", store.cpts))
        assert [(r.seq, r.subject) for r in lille.audit_entries()] == [
            (2, "lille"),
            (1, "lille"),
        ]
        assert [(r.seq, r.subject) for r in roubaix.audit_entries()] == [(1, "roubaix")]


def test_sendings_are_never_changed(store: PostgresStore, pg_url: str) -> None:
    from mt_access.store import SendingRecord

    with store.transaction():
        store.add_sending(
            SendingRecord(
                "R1", "referral", "MG1", "medecin", "d***@exemple.fr",
                dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC), 1, 250, "OK", True,
            )
        )  # fmt: skip
    with pytest.raises(psycopg.Error):
        sql(pg_url, "UPDATE mt_access.sendings SET sent = 0")
    # the erasure's blanking is the one change allowed, and only with nothing else changed
    with pytest.raises(psycopg.Error):
        sql(pg_url, "UPDATE mt_access.sendings SET recipient = '', code = 550")
    with pytest.raises(psycopg.Error):
        sql(pg_url, "UPDATE mt_access.sendings SET recipient = 'x***@ailleurs.fr'")
    with pytest.raises(psycopg.Error):
        sql(pg_url, "DELETE FROM mt_access.sendings")
    sql(pg_url, "UPDATE mt_access.sendings SET recipient = '', answer = '***'")


def test_erasure_overwrites_the_personal_data(store: PostgresStore, pg_url: str) -> None:
    add(store, "R1", n=1, comment="rappeler après 18 h")
    add(store, "R2", n=2)
    request = store.get_request("R1")
    assert request is not None
    with store.transaction():
        store.replace_request(attrs.evolve(request, comments=""), PatientIdentity(), erased_on=D2)
    rows = sql(pg_url, "SELECT last_name, phone FROM mt_access.identities ORDER BY request_id")
    assert rows == [("", ""), (f"{SECRET}2", "06 00 00 00 00")]
    comments = sql(pg_url, "SELECT comment FROM mt_access.transitions WHERE request_id = 'R1'")
    assert {c for (c,) in comments} == {""}
    assert store.erased_on("R1") == D2
    assert store.integrity_check() == []


# --------------------------------------------------------------------------------------------
# Messages


def test_messages_never_show_the_password(pg_server: Server) -> None:
    url = f"postgresql://postgres:motdepasse-secret@127.0.0.1:{pg_server.port}/absente"
    with pytest.raises(StoreError) as caught:
        PostgresStore(url, timeout=5)
    assert "motdepasse-secret" not in str(caught.value)
    assert "***" in str(caught.value)
    assert mask_url("postgresql://u:pw@h/db?password=pw2&cpts=a") == (
        "postgresql://u:***@h/db?password=***&cpts=a"
    )
    assert mask_url("postgresql:///db?host=/tmp/x") == "postgresql:///db?host=/tmp/x"
    assert split_url("postgresql:///db?host=/tmp/x&cpts=lille") == (
        "postgresql:///db?host=/tmp/x",
        "lille",
    )


def test_errors_never_quote_the_server_text(pg_url: str) -> None:
    # A constraint's DETAIL quotes the failing row: the message keeps the SQLSTATE's reason.
    def fail(message: str) -> StoreError:
        return StoreError(message, path="registre")

    conninfo, _ = split_url(pg_url)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("CREATE TEMP TABLE t (name text CHECK (length(name) < 3))")
        with pytest.raises(StoreError) as caught, guard("essai", fail, 1.0):
            conn.execute("INSERT INTO t VALUES (%s)", (SECRET,))
    assert SECRET not in str(caught.value)
    assert "contrainte" in str(caught.value)


def test_runs_and_settings_of_a_cpts(store: PostgresStore) -> None:
    with store.transaction():
        first = store.add_run(RunRecord(0, D2, "2026-03", "voironnais", 1, 0, 0, 0))
        store.put_setting("policy", "voironnais")
    assert first.number == 1
    assert store.settings() == {"policy": "voironnais"}


# --------------------------------------------------------------------------------------------
# Several CPTS in one database


def test_two_cpts_in_one_database_see_only_their_own_register(pg_url: str) -> None:
    with (
        PostgresStore(pg_url + "?cpts=lille") as lille,
        PostgresStore(pg_url, cpts="roubaix") as roubaix,
    ):
        add(lille, "R1", 1)
        add(roubaix, "R1", 2)  # the same id in another CPTS
        add(roubaix, "R2", 3)
        with lille.transaction():
            lille.put_physician(doc("MG1"))
            lille.put_setting("policy", "deule_marque")
        assert [s.id for s in lille.summaries()] == ["R1"]
        assert [s.id for s in roubaix.summaries()] == ["R1", "R2"]
        assert [p.id for p in roubaix.physicians()] == []
        assert roubaix.settings() == {}
        assert lille.get_identity("R1") == identity(1)
        assert roubaix.get_identity("R1") == identity(2)
        version = roubaix.version
        with lille.transaction():
            lille.put_physician(doc("MG2"))
        assert roubaix.version == version  # each CPTS its own counter and lock
        assert lille.integrity_check() == []
        assert roubaix.integrity_check() == []


@pytest.fixture
def two_coordinators(pg_url: str, pg_server: Server) -> tuple[str, str]:
    """Roles coord_lille and coord_roubaix, each given one CPTS's register."""
    for role in ("coord_lille", "coord_roubaix"):
        pg_server.admin(
            f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') "
            f"THEN CREATE ROLE {role} LOGIN; END IF; END $$"
        )
    grant_cpts(pg_url, "coord_lille", "lille")
    grant_cpts(pg_url, "coord_roubaix", "roubaix")
    lille = pg_url.replace("postgres@", "coord_lille@")
    roubaix = pg_url.replace("postgres@", "coord_roubaix@")
    return lille, roubaix  # the grants go with the test's database


def test_a_coordinator_can_never_read_nor_change_another_cpts(
    two_coordinators: tuple[str, str],
) -> None:
    lille_url, roubaix_url = two_coordinators
    with PostgresStore(lille_url) as lille, PostgresStore(roubaix_url) as roubaix:
        assert (lille.cpts, roubaix.cpts) == ("lille", "roubaix")
        add(lille, "R1", 1)
        add(roubaix, "R9", 9)
        with roubaix.transaction():
            roubaix.put_physician(doc("MG9"))
            roubaix.put_user(UserRecord("rose", "Rose", "admin", "$argon2id$r"))
            roubaix.add_audit(AuditRecord(T0, "user:rose", "compte.creer", "rose"))
        with lille.transaction():
            lille.put_user(UserRecord("luc", "Luc", "coordinateur", "$argon2id$l"))
            lille.add_audit(AuditRecord(T0, "user:luc", "connexion"))
        assert [s.id for s in lille.summaries()] == ["R1"]
        assert lille.physicians() == []
        assert [u.login for u in lille.users()] == ["luc"]
        assert lille.get_user("rose") is None
        assert [r.actor for r in lille.audit_entries()] == ["user:luc"]
    # The URL cannot choose another CPTS for a coordinator's role.
    with pytest.raises(StoreError, match="n'a accès qu'au registre de la CPTS lille"):
        PostgresStore(lille_url + "?cpts=roubaix")
    # Nor can the role itself, in SQL: every table hides and protects the other CPTS's rows.
    conninfo, _ = split_url(lille_url)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("SET mt_access.cpts = 'roubaix'")
        for table in (
            "requests", "identities", "transitions", "physicians", "registers", "users", "audit",
        ):  # fmt: skip
            rows = conn.execute(f"SELECT DISTINCT cpts FROM mt_access.{table}").fetchall()
            assert set(rows) <= {("lille",)}, table
        assert conn.execute("SELECT count(*) FROM mt_access.requests").fetchall() == [(1,)]
        hidden = conn.execute("SELECT count(*) FROM mt_access.identities WHERE cpts = 'roubaix'")
        assert hidden.fetchall() == [(0,)]
        changed = conn.execute(
            "UPDATE mt_access.identities SET last_name = 'x' WHERE cpts = 'roubaix'"
        )
        assert changed.rowcount == 0
        bumped = conn.execute("UPDATE mt_access.registers SET commits = 0 WHERE cpts = 'roubaix'")
        assert bumped.rowcount == 0
        taken = conn.execute("UPDATE mt_access.users SET password_hash = 'x' WHERE login = 'rose'")
        assert taken.rowcount == 0
        for statement in (
            "INSERT INTO mt_access.users (cpts, login, display_name, role, password_hash, "
            "created) VALUES ('roubaix', 'intrus', 'x', 'admin', 'x', '2026-01-01')",
            "INSERT INTO mt_access.audit (cpts, seq, at, actor, action) "
            "VALUES ('roubaix', 99, '2026-01-01', 'user:x', 'faux')",
            "UPDATE mt_access.users SET cpts = 'roubaix'",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(
                "INSERT INTO mt_access.physicians (cpts, id, name, commune, "
                "accepting_new_patients, modalities, accepted_communes, status_history) "
                "VALUES ('roubaix', 'MGX', 'x', '38563', 1, '[]', '[]', '[]')"
            )
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("UPDATE mt_access.requests SET cpts = 'roubaix'")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("INSERT INTO mt_access.cpts_roles VALUES ('coord_lille', 'roubaix')")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("DELETE FROM mt_access.requests")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("ALTER TABLE mt_access.requests DISABLE ROW LEVEL SECURITY")
    with PostgresStore(roubaix_url) as roubaix:
        assert [s.id for s in roubaix.summaries()] == ["R9"]
        assert [u.login for u in roubaix.users()] == ["rose"]
        assert [r.subject for r in roubaix.audit_entries()] == ["rose"]
        assert [p.id for p in roubaix.physicians()] == ["MG9"]
        identity_back = roubaix.get_identity("R9")
        assert identity_back == identity(9)


def test_the_deployment_of_docs_postgresql_md(pg_server: Server, tmp_path: Path) -> None:
    """The roles of the deployment page: an administrator that is not a superuser owns the
    database, a coordinator works on one CPTS, the backup role dumps everything, and the
    administrator's own role sees one CPTS at a time (the policies are forced)."""
    for statement in (
        "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'mt_admin') "
        "THEN CREATE ROLE mt_admin LOGIN; END IF; END $$",
        "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'coord_voiron') "
        "THEN CREATE ROLE coord_voiron LOGIN; END IF; END $$",
        "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'mt_sauvegarde') "
        "THEN CREATE ROLE mt_sauvegarde LOGIN BYPASSRLS; END IF; END $$",
        "GRANT pg_read_all_data TO mt_sauvegarde",
    ):
        pg_server.admin(statement)
    name = f"region_{id(tmp_path)}"
    pg_server.admin(f"CREATE DATABASE {name} OWNER mt_admin TEMPLATE template0")
    try:
        admin = pg_server.url(name, user="mt_admin")
        with PostgresStore(admin + "?cpts=voironnais") as store:
            add(store, "R1", 1)
        with PostgresStore(admin + "?cpts=deule") as store:
            add(store, "R2", 2)
        grant_cpts(admin, "coord_voiron", "voironnais")
        with PostgresStore(pg_server.url(name, user="coord_voiron")) as coordinator:
            assert coordinator.cpts == "voironnais"
            assert [s.id for s in coordinator.summaries()] == ["R1"]
            add(coordinator, "R3", 3)
        # The administrator's role is bound by the policies too: one CPTS per session.
        conninfo, _ = split_url(admin)
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute("SET mt_access.cpts = 'deule'")
            rows = conn.execute("SELECT id FROM mt_access.requests ORDER BY id").fetchall()
            assert rows == [("R2",)]
        dump = tmp_path / "region.dump"
        subprocess.run(
            [str(pg_server.bindir / "pg_dump"), "--format=custom", f"--file={dump}",
             pg_server.url(name, user="mt_sauvegarde")],
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip
        listed = subprocess.run(
            [str(pg_server.bindir / "pg_restore"), "--list", str(dump)],
            check=True, capture_output=True, text=True, timeout=120,
        ).stdout  # fmt: skip
        assert "TABLE DATA mt_access requests" in listed
        # Without BYPASSRLS, pg_dump refuses rather than dumping half of the rows.
        failed = subprocess.run(
            [str(pg_server.bindir / "pg_dump"), "--format=custom", f"--file={dump}.2", admin],
            check=False, capture_output=True, timeout=120,
        )  # fmt: skip
        assert failed.returncode != 0
        assert b"row-level security" in failed.stderr
    finally:
        pg_server.drop_database(name)


def test_a_nul_character_is_refused_in_french_and_nothing_is_written(
    store: PostgresStore,
) -> None:
    request, file = waiting("R1")
    with pytest.raises(StoreError, match="caractère NUL") as caught, store.transaction():
        store.add_request(request, PatientIdentity(last_name="Nom\x00fictif"), file)
    assert "fictif" not in str(caught.value)
    assert store.count_requests() == 0


def test_a_transaction_broken_by_a_failed_read_commits_nothing(store: PostgresStore) -> None:
    add(store, "R1")
    version = store.version

    def broken() -> None:
        with store.transaction():
            store.put_physician(doc("MG1"))
            with pytest.raises(StoreError), store._guard("essai"):
                store._one("SELECT 1/0", ())  # a failed query leaves the transaction aborted
            with pytest.raises(StoreError):
                store.get_files(["R1"])  # never ends the write transaction for a snapshot

    with pytest.raises(StoreError, match="rien n'a été enregistré"):
        broken()
    assert store.physicians() == []
    assert store.version == version


def test_ledger_positions_count_the_entries_of_one_cpts(pg_url: str) -> None:
    """``seq`` is shared by every CPTS of the database: a position counts one CPTS's entries."""
    entries = [CapacityDeclared(f"MG{n}", Month(2026, 3), n, dt.date(2026, 3, 2)) for n in range(6)]
    with (
        PostgresStore(pg_url, cpts="lille") as lille,
        PostgresStore(pg_url, cpts="roubaix") as roubaix,
    ):
        for n, entry in enumerate(entries):
            store = (lille, roubaix)[n % 2]
            with store.transaction():
                store.append_ledger([entry])
        assert lille.ledger_entries_after(1) == entries[2::2]
        assert roubaix.ledger_entries_after(2) == entries[5:]
        assert roubaix.ledger_entries_after(3) == []


def test_physicians_read_again_see_another_connections_change(
    store: PostgresStore, pg_url: str
) -> None:
    with store.transaction():
        store.put_physician(doc("MG1"))
        store.put_physician(doc("MG2"))
    first = store.physicians()
    changed = attrs.evolve(doc("MG2"), monthly_capacity=7)
    with PostgresStore(pg_url) as other, other.transaction():
        other.put_physician(changed)
    again = store.physicians()
    assert again == [doc("MG1"), changed]
    assert again[0] is first[0]  # an unchanged row is not decoded again
