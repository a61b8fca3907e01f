"""The PostgreSQL store's costs that the register's benchmarks depend on (issue 16): a match
run's commit in a bounded number of statements whatever the number of requests it changes,
the data version read from one counter kept by the database (and what moves it), and the
schema step that brings that counter to a version 9 database.

Against a throwaway server (tests/pg_server.py); skipped where PostgreSQL is absent.
Generated data only.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

import mt_access
from factories import VOIRON, VOREPPE, doc, req
from mt_access import CapacityDeclared, Month, PatientIdentity, RequestFile
from mt_access.register import Register
from mt_access.store import AuditRecord, MemoryStore, SendingRecord, Store, StoreError, UserRecord
from mt_access.store.postgres import PostgresStore
from mt_access.store.postgres_errors import split_url
from mt_access.store.postgres_schema import DATA_VERSION_QUERY, POSTGRES_SCHEMA_VERSION, STEPS
from pg_server import Server

D1 = dt.date(2026, 2, 2)
RUN_ON = dt.date(2026, 3, 2)
T0 = dt.datetime(2026, 3, 2, 9, 30, 15, tzinfo=dt.UTC)
REQUESTS = 40


def waiting(rid: str, commune: str = VOIRON) -> tuple[Any, RequestFile]:
    request = req(rid, commune)
    return request, RequestFile.from_request(request).acknowledge(D1).confirm(D1).to_waiting(D1)


def fill(store: Store) -> None:
    """``REQUESTS`` waiting requests and GPs with places for most of them."""
    with store.transaction():
        for n in range(REQUESTS):
            request, file = waiting(f"R{n:03d}", (VOIRON, VOREPPE)[n % 2])
            store.add_request(request, PatientIdentity(last_name=f"Nomfictif{n}"), file)
        for n in range(8):
            store.put_physician(doc(f"MG{n}", (VOIRON, VOREPPE)[n % 2], capacity=4))


def sql(url: str, statement: str, params: tuple[object, ...] = ()) -> list[tuple[Any, ...]]:
    conninfo, _ = split_url(url)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        cursor = conn.execute(statement, params or None)
        return cursor.fetchall() if cursor.description else []


class Statements:
    """Counts the statements psycopg sends (``executemany``: one per row)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        execute, executemany = psycopg.Cursor.execute, psycopg.Cursor.executemany

        def counted_execute(cursor: Any, *args: Any, **kwargs: Any) -> Any:
            self.count += 1
            return execute(cursor, *args, **kwargs)

        def counted_executemany(cursor: Any, query: Any, rows: Any, **kwargs: Any) -> Any:
            rows = list(rows)
            self.count += len(rows)
            return executemany(cursor, query, rows, **kwargs)

        monkeypatch.setattr(psycopg.Cursor, "execute", counted_execute)
        monkeypatch.setattr(psycopg.Cursor, "executemany", counted_executemany)


@pytest.fixture
def store(pg_url: str) -> Iterator[PostgresStore]:
    made = PostgresStore(pg_url)
    yield made
    made.close()


# --------------------------------------------------------------------------------------------
# A match run's commit


def test_a_run_commits_in_a_bounded_number_of_statements(
    store: PostgresStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The run writes its changed files, transitions and ledger entries with a few statements
    per table, not a handful per request; the outcome is the memory store's."""
    policy = mt_access.load_policy("voironnais")
    fill(store)
    memory = MemoryStore()
    fill(memory)
    expected = Register(memory, policy).run_match(RUN_ON)
    register = Register(store, policy)
    register.physicians()  # the GPs and the ledger read before counting
    counter = Statements(monkeypatch)
    run = register.run_match(RUN_ON)
    changed = len(run.proposed) + len(run.oriented) + len(run.out_of_scope)
    assert changed >= REQUESTS * 3 // 4
    assert counter.count <= 30, f"{counter.count} statements for {changed} requests changed"
    monkeypatch.undo()
    assert run.proposed == expected.proposed
    assert run.oriented == expected.oriented
    assert run.record == expected.record
    ids = [s.id for s in memory.summaries()]
    assert store.get_files(ids) == memory.get_files(ids)
    assert store.transitions() == memory.transitions()
    assert store.ledger_entries() == memory.ledger_entries()
    assert store.integrity_check() == []


def test_save_files_is_all_or_nothing_and_keeps_the_order(store: PostgresStore) -> None:
    fill(store)
    files = store.get_files([f"R{n:03d}" for n in range(5)])
    changed = [(f.propose("MG1", RUN_ON).propose("MG2", RUN_ON), 2) for f in files.values()]
    stale = (files["R004"].propose("MG3", RUN_ON), 1)
    before = store.transitions()
    version = store.data_version()
    with pytest.raises(StoreError, match="R004 : l'historique enregistré"), store.transaction():
        store.save_files([*changed, stale])  # R004 twice: the second does not follow the first
    with pytest.raises(StoreError, match="demande inconnue : R999"), store.transaction():
        store.save_files([*changed, (RequestFile.receive("R999", D1), 0)])
    assert store.transitions() == before
    assert store.data_version() == version
    with store.transaction():
        store.save_files(changed)
    assert store.transitions() == [
        *before,
        *(t for new, _ in changed for t in new.history[-2:]),
    ]
    assert store.get_files(files) == {new.id: new for new, _ in changed}


# --------------------------------------------------------------------------------------------
# The data version


def explained_rows(url: str, query: str, params: tuple[object, ...]) -> int:
    """The rows every node of ``query``'s plan produced, as run (EXPLAIN ANALYZE)."""
    (plan,) = sql(url, f"EXPLAIN (ANALYZE, FORMAT JSON) {query}", params)[0]

    def rows(node: dict[str, Any]) -> int:
        return int(node.get("Actual Rows", 0)) + sum(rows(n) for n in node.get("Plans", []))

    return rows(plan[0]["Plan"])


def test_data_version_reads_one_row_whatever_the_register_size(
    store: PostgresStore, pg_url: str
) -> None:
    fill(store)
    query = DATA_VERSION_QUERY
    read = explained_rows(pg_url, query, (store.cpts,) * query.count("%s"))
    assert read <= 2, f"{read} rows read for the data version of {REQUESTS} requests"


def test_data_version_moves_at_every_data_write_of_any_connection(
    store: PostgresStore, pg_url: str
) -> None:
    """Written in SQL by another connection: each table of the data moves the version (the
    identities alone, an erasure's blanking of comments alone), and once per transaction;
    the audit trail, the accounts, the settings, the sendings and another CPTS do not."""
    fill(store)
    with store.transaction():
        store.append_ledger([CapacityDeclared("MG1", Month(2026, 3), 3, D1)])
        store.add_run(mt_access.store.RunRecord(0, RUN_ON, "2026-03", "x", 0, 0, 0, 0))
        store.add_imported_rows([("d1", "R001")])
        store.add_sending(
            SendingRecord("R001", "patient", "", "patient", "p***@x.invalid", T0, 1, 250, "", True)
        )
    with PostgresStore(pg_url, cpts="autre") as other:
        fill(other)
        version = store.data_version()
        with other.transaction():
            other.put_physician(doc("MG9"))
            other.add_audit(AuditRecord(T0, "user:x", "connexion"))
        with store.transaction():
            store.add_audit(AuditRecord(T0, "user:alice", "identite.afficher", "R001"))
            store.put_user(UserRecord("alice", "Alice", "admin", "$argon2id$x"))
            store.put_setting("policy", "voironnais")
        assert store.data_version() == version
    c = store.cpts
    data_writes = [
        "UPDATE mt_access.identities SET phone = '06' WHERE cpts = %s AND request_id = 'R001'",
        "UPDATE mt_access.requests SET urgent = 1 WHERE cpts = %s AND id = 'R002'",
        "UPDATE mt_access.transitions SET comment = '' WHERE cpts = %s AND request_id = 'R003'",
        "UPDATE mt_access.physicians SET name = 'Dr X' WHERE cpts = %s AND id = 'MG1'",
        "INSERT INTO mt_access.ledger (cpts, kind, physician_id, month, capacity, on_date) "
        "VALUES (%s, 'declared', 'MG2', '2026-03', 1, '2026-03-01')",
        "INSERT INTO mt_access.runs (cpts, number, on_date, month, policy_code, placements, "
        "orientations, waiting, rejected) VALUES (%s, 9, '2026-03-02', '2026-03', 'x', 0, 0, 0, 0)",
        "DELETE FROM mt_access.imported_rows WHERE cpts = %s",
    ]
    for statement in data_writes:
        before = int(store.data_version())
        sql(pg_url, statement, (c,))
        assert int(store.data_version()) == before + 1, statement
    not_data = [
        "UPDATE mt_access.users SET display_name = 'A' WHERE cpts = %s",
        "INSERT INTO mt_access.settings (cpts, key, value) VALUES (%s, 'k', 'v')",
        "UPDATE mt_access.sendings SET recipient = '' WHERE cpts = %s",
        "UPDATE mt_access.registers SET commits = commits + 1 WHERE cpts = %s",
    ]
    version = store.data_version()
    for statement in not_data:
        sql(pg_url, statement, (c,))
    assert store.data_version() == version
    # one transaction of many writes moves it once
    with store.transaction():
        for n in range(3):
            store.put_physician(doc(f"MG{20 + n}"))
        store.append_ledger([CapacityDeclared("MG20", Month(2026, 3), 1, D1)])
    assert int(store.data_version()) == int(version) + 1


def test_writers_of_two_cpts_do_not_wait_for_each_other(pg_url: str) -> None:
    """The counter is on the CPTS's own row of registers: a transaction of one CPTS that wrote
    data and holds on does not hold up the other CPTS's data writes."""
    with (
        PostgresStore(pg_url, cpts="lille") as lille,
        PostgresStore(pg_url, cpts="roubaix", timeout=10) as roubaix,
    ):
        entered, release = threading.Event(), threading.Event()
        failures: list[BaseException] = []

        def hold() -> None:
            try:
                with lille.transaction():
                    lille.put_physician(doc("MG1"))
                    entered.set()
                    release.wait(30)
            except BaseException as exc:  # reported below
                failures.append(exc)
                entered.set()

        holder = threading.Thread(target=hold)
        holder.start()
        try:
            assert entered.wait(30)
            before = roubaix.data_version()
            with roubaix.transaction():  # would time out (10 s) behind lille's lock
                roubaix.put_physician(doc("MG2"))
            assert roubaix.data_version() != before
        finally:
            release.set()
            holder.join(30)
        assert failures == []
        assert [p.id for p in lille.physicians()] == ["MG1"]


def test_a_version_9_database_gets_the_data_counter(pg_server: Server) -> None:
    """Step 10 on a register written at version 9: the data stays and passes the integrity
    check, and from then on its writes move the data version."""
    name = f"v9_{id(pg_server)}"
    pg_server.admin(f"CREATE DATABASE {name} TEMPLATE template0")
    try:
        url = pg_server.url(name)
        assert [version for version, _ in STEPS[:2]] == [8, 9]
        for _, statements in STEPS[:2]:  # version 9 as released
            for statement in statements:
                sql(url, statement)
        sql(url, "INSERT INTO mt_access.schema_info (format, version) VALUES (%s, 9)",
            ("mt-access register",))  # fmt: skip
        sql(url, "INSERT INTO mt_access.registers (cpts) VALUES ('lille')")
        request, file = waiting("R1")
        conninfo, _ = split_url(url)
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute("SET mt_access.cpts = 'lille'")
            from mt_access.store import codec
            from mt_access.store.postgres_schema import INSERT_IDENTITY, INSERT_REQUEST

            v9_columns = codec.TRANSITION_COLUMNS[:-1]  # no run before version 12
            insert_v9_transition = (
                f"INSERT INTO mt_access.transitions (cpts, {', '.join(v9_columns)}) "
                f"VALUES ({', '.join(['%s'] * (1 + len(v9_columns)))})"
            )

            conn.execute(
                INSERT_REQUEST, ("lille", "R1", *codec.request_row(request), *codec.file_row(file))
            )
            conn.execute(INSERT_IDENTITY, ("lille", "R1", *codec.identity_row(PatientIdentity())))
            for t in file.history:
                conn.execute(insert_v9_transition, ("lille", *codec.transition_row(t)[:-1]))
        with PostgresStore(url + "?cpts=lille") as upgraded:
            assert upgraded.schema_version == POSTGRES_SCHEMA_VERSION
            assert upgraded.get_file("R1") == file
            assert upgraded.integrity_check() == []
            version = upgraded.data_version()
            with upgraded.transaction():
                upgraded.save_file(file.propose("MG1", RUN_ON), 1)
            assert upgraded.data_version() != version
    finally:
        pg_server.drop_database(name)


def test_the_physicians_version_moves_at_every_gp_write_of_any_connection_only(
    store: PostgresStore, pg_url: str
) -> None:
    """Written in SQL by another connection: an insert, update or delete of the CPTS's GPs
    moves it, once per transaction; the other data's tables and another CPTS do not."""
    fill(store)
    c = store.cpts
    with PostgresStore(pg_url, cpts="autre") as other:
        fill(other)
        version = store.physicians_version()
        with other.transaction():
            other.put_physician(doc("MG9"))
        assert store.physicians_version() == version
    for statement in [
        "UPDATE mt_access.identities SET phone = '06' WHERE cpts = %s AND request_id = 'R001'",
        "UPDATE mt_access.requests SET urgent = 1 WHERE cpts = %s AND id = 'R002'",
        "INSERT INTO mt_access.ledger (cpts, kind, physician_id, month, capacity, on_date) "
        "VALUES (%s, 'declared', 'MG2', '2026-03', 1, '2026-03-01')",
        "UPDATE mt_access.registers SET data_changes = data_changes + 1 WHERE cpts = %s",
    ]:
        sql(pg_url, statement, (c,))
    assert store.physicians_version() == version
    for statement in [
        "UPDATE mt_access.physicians SET name = 'Dr X' WHERE cpts = %s AND id = 'MG1'",
        "DELETE FROM mt_access.physicians WHERE cpts = %s AND id = 'MG7'",
    ]:
        before = int(store.physicians_version())
        sql(pg_url, statement, (c,))
        assert int(store.physicians_version()) == before + 1, statement
    version = store.physicians_version()
    with store.transaction():
        for n in range(3):
            store.put_physician(doc(f"MG{20 + n}"))
    assert int(store.physicians_version()) == int(version) + 1


def test_a_version_10_database_gets_the_physicians_counter(pg_server: Server) -> None:
    """Step 11 on a register written at version 10: its GPs stay, and from then on a GP's
    write moves the physicians version."""
    name = f"v10_{id(pg_server)}"
    pg_server.admin(f"CREATE DATABASE {name} TEMPLATE template0")
    try:
        url = pg_server.url(name)
        assert [version for version, _ in STEPS[:3]] == [8, 9, 10]
        for _, statements in STEPS[:3]:  # version 10 as released
            for statement in statements:
                sql(url, statement)
        sql(url, "INSERT INTO mt_access.schema_info (format, version) VALUES (%s, 10)",
            ("mt-access register",))  # fmt: skip
        sql(url, "INSERT INTO mt_access.registers (cpts) VALUES ('lille')")
        with PostgresStore(url + "?cpts=lille") as upgraded:
            assert upgraded.schema_version == POSTGRES_SCHEMA_VERSION
            version = upgraded.physicians_version()
            data = upgraded.data_version()
            with upgraded.transaction():
                upgraded.put_physician(doc("MG1"))
            assert upgraded.physicians_version() != version
            assert upgraded.data_version() != data
            assert [p.id for p in upgraded.physicians()] == ["MG1"]
            assert upgraded.integrity_check() == []
    finally:
        pg_server.drop_database(name)


# --------------------------------------------------------------------------------------------
# Connections kept open and lent (the web application's stores)


@pytest.fixture
def region(pg_server: Server) -> Iterator[str]:
    """A database owned by an administrator's role that is not a superuser (the policies
    bind it: it sees the rows of the CPTS its session names), with two CPTS's registers."""
    pg_server.admin(
        "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'mt_pool_admin') "
        "THEN CREATE ROLE mt_pool_admin LOGIN; END IF; END $$"
    )
    name = f"pool_{id(pg_server)}"
    pg_server.admin(f"CREATE DATABASE {name} OWNER mt_pool_admin TEMPLATE template0")
    url = pg_server.url(name, user="mt_pool_admin")
    try:
        for cpts, rid in (("lille", "R1"), ("roubaix", "R2")):
            with PostgresStore(url, cpts=cpts) as made, made.transaction():
                request, file = waiting(rid)
                made.add_request(request, PatientIdentity(last_name=f"Nomfictif{rid}"), file)
                made.put_physician(doc(f"MG{rid}"))
        yield url
    finally:
        pg_server.drop_database(name)


def test_a_connection_reused_for_another_cpts_never_sees_the_first_ones_rows(
    region: str,
) -> None:
    from mt_access.store.postgres_pool import PostgresPool

    with PostgresPool(region + "?cpts=lille", max_size=1) as pool:
        with pool.store() as lille:
            first = lille._connection().info.backend_pid
            assert [s.id for s in lille.summaries()] == ["R1"]
            unfinished = lille.transaction()
            unfinished.__enter__()
            lille.put_physician(doc("MG9"))  # closed in the transaction: rolled back
        with pool.store(cpts="roubaix") as roubaix:
            conn = roubaix._connection()
            assert conn.info.backend_pid == first  # the same connection, lent again
            assert roubaix.cpts == "roubaix"
            assert [s.id for s in roubaix.summaries()] == ["R2"]
            assert [p.id for p in roubaix.physicians()] == ["MGR2"]
            # and the server itself shows it no other row, whatever the query asks
            for table in ("requests", "identities", "physicians", "transitions", "registers"):
                rows = conn.execute(f"SELECT DISTINCT cpts FROM mt_access.{table}").fetchall()
                assert rows == [("roubaix",)], table
        with pool.pool.connection() as idle:  # given back: no CPTS, no row
            assert idle.info.backend_pid == first
            assert idle.execute("SELECT count(*) FROM mt_access.requests").fetchall() == [(0,)]
        with pytest.raises(StoreError, match="aucun registre de cette CPTS"):
            pool.store(cpts="absente")
        with pool.store() as again:  # the only connection came back after the refusal
            assert again._connection().info.backend_pid == first
            assert [p.id for p in again.physicians()] == ["MGR1"]
            assert again.integrity_check() == []


def test_a_coordinators_pool_cannot_open_another_cpts(region: str, pg_server: Server) -> None:
    from mt_access.store.postgres_pool import PostgresPool
    from mt_access.store.postgres_roles import grant_cpts

    pg_server.admin(
        "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'coord_pool') "
        "THEN CREATE ROLE coord_pool LOGIN; END IF; END $$"
    )
    grant_cpts(region, "coord_pool", "roubaix")
    with PostgresPool(region.replace("mt_pool_admin@", "coord_pool@"), max_size=1) as pool:
        with pool.store() as mine:
            assert mine.cpts == "roubaix"
        with pytest.raises(StoreError, match="n'a accès qu'au registre de la CPTS roubaix"):
            pool.store(cpts="lille")
        with pool.store() as mine:
            assert [s.id for s in mine.summaries()] == ["R2"]
