"""The store's record of changes: :meth:`Store.changed_requests` (which requests changed since
a data version) and :meth:`Store.run_transitions` (a run's own events), on every backend, and
on registers upgraded from the schema before them (SQLite 10, PostgreSQL 12). Generated data
only.
"""

from __future__ import annotations

import datetime as dt
import random
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import attrs
import psycopg
import pytest

from factories import doc, req
from mt_access import RequestFile
from mt_access.store import AuditRecord, SQLiteStore, Store, codec
from mt_access.store.migrations import APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION
from mt_access.store.postgres_errors import split_url
from mt_access.store.postgres_schema import (
    INSERT_IDENTITY as PG_INSERT_IDENTITY,
)
from mt_access.store.postgres_schema import (
    INSERT_REQUEST as PG_INSERT_REQUEST,
)
from mt_access.store.postgres_schema import (
    POSTGRES_SCHEMA_VERSION,
    STEPS,
)
from mt_access.store.sqlite_schema import INSERT_IDENTITY, INSERT_REQUEST
from pg_server import Server
from test_store_contract import BACKENDS, POSTGRES, Boom, aborted, identity, make_store

D0 = dt.date(2026, 1, 5)
D1 = dt.date(2026, 2, 2)
D2 = dt.date(2026, 3, 2)
AT = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


@pytest.fixture(params=[*sorted(BACKENDS), POSTGRES])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    made = make_store(request, request.param, tmp_path)
    yield made
    made.close()


def waiting(rid: str, **kw: object) -> tuple[object, RequestFile]:
    request = req(rid, received=D0, **kw)  # type: ignore[arg-type]
    file = RequestFile.from_request(request).acknowledge(D0).confirm(D0).to_waiting(D0)
    return request, file


def add(store: Store, rid: str, n: int = 0) -> None:
    request, file = waiting(rid)
    with store.transaction():
        store.add_request(request, identity(n), file)  # type: ignore[arg-type]


def test_the_requests_changed_since_a_version(store: Store) -> None:
    start = store.data_version()
    assert store.changed_requests(start) == []
    add(store, "R2")
    add(store, "R1")
    assert store.changed_requests(start) == ["R1", "R2"]
    after_adds = store.data_version()
    assert store.changed_requests(after_adds) == []
    file = store.get_file("R1")
    assert file is not None
    with store.transaction():
        store.save_file(file.propose("MG1", D1), 1)
        inside = store.data_version()
        assert store.changed_requests(after_adds) == ["R1"]  # its own change counts already
    assert store.data_version() == inside
    assert store.changed_requests(after_adds) == ["R1"]
    assert store.changed_requests(start) == ["R1", "R2"]
    after_file = store.data_version()
    request = store.get_request("R2")
    found = store.get_identity("R2")
    assert request is not None
    assert found is not None
    with store.transaction():
        store.replace_request(request, found, erased_on=D2)
    assert store.changed_requests(after_file) == ["R2"]
    after_erasure = store.data_version()
    # data that is not a request's, and writes that are not data: no request changed
    with store.transaction():
        store.put_physician(doc("MG1"))
    assert store.data_version() != after_erasure
    with store.transaction():
        store.add_audit(AuditRecord(AT, "cli:test", "demande.voir", "R1"))
        store.put_setting("policy", "voironnais")
    assert store.changed_requests(after_erasure) == []
    # a transaction rolled back changed nothing
    r3, f3 = waiting("R3")
    with pytest.raises(Boom):
        aborted(store, lambda: store.add_request(r3, identity(3), f3))  # type: ignore[arg-type]
    assert store.changed_requests(after_erasure) == []
    assert store.changed_requests(start) == ["R1", "R2"]


def test_a_version_it_cannot_tell_from(store: Store) -> None:
    add(store, "R1")
    now = store.data_version()
    assert store.changed_requests("pas une version") is None
    assert store.changed_requests("") is None
    assert store.changed_requests("-1") is None
    assert store.changed_requests(str(int(now) + 1)) is None  # a later version
    assert store.changed_requests("0") == ["R1"]


def test_a_runs_transitions(store: Store) -> None:
    rows = {}
    for n, rid in enumerate(("R1", "R2", "R3")):
        request, file = waiting(rid)
        proposed = file.propose("MG1", D1)
        if rid != "R3":  # R3: a proposal by hand, no run
            last = attrs.evolve(proposed.history[-1], run=1 if rid == "R2" else 2)
            proposed = attrs.evolve(proposed, history=(*proposed.history[:-1], last))
        rows[rid] = proposed
        with store.transaction():
            store.add_request(request, identity(n), proposed)  # type: ignore[arg-type]
    assert store.run_transitions(1) == [rows["R2"].history[-1]]
    assert store.run_transitions(2) == [rows["R1"].history[-1]]
    assert store.run_transitions(3) == []
    assert store.run_transitions(1) == [t for t in store.transitions() if t.run == 1]


@pytest.mark.parametrize("seed", range(6))
def test_the_changes_are_the_requests_written_after_each_version(
    request: pytest.FixtureRequest, tmp_path: Path, seed: int
) -> None:
    """Random sequences of writes (new requests, files, replaced and erased requests, GPs,
    audit lines, transactions rolled back, several writes in one): for every version seen,
    the requests changed since are exactly those written by a transaction committed after it
    (memory, SQLite, PostgreSQL)."""
    rng = random.Random(seed)
    backends = [*sorted(BACKENDS), POSTGRES] if seed < 2 else sorted(BACKENDS)
    for backend in backends:
        (tmp_path / backend).mkdir()
        store = make_store(request, backend, tmp_path / backend)
        try:
            _random_writes(store, random.Random(rng.random()))
        finally:
            store.close()


def _random_writes(store: Store, rng: random.Random) -> None:
    seen: list[tuple[str, set[str]]] = [(store.data_version(), set())]
    known: list[str] = []
    for step in range(25):
        written: set[str] = set()
        rolled_back = rng.random() < 0.15
        try:
            with store.transaction():
                for _ in range(rng.randint(1, 3)):
                    kind = rng.choice(("add", "add", "file", "replace", "erase", "gp", "audit"))
                    if kind == "add" or not known:
                        rid = f"R{len(known) + 1:03d}"
                        request, file = waiting(rid, urgent=rng.random() < 0.5)
                        store.add_request(request, identity(len(known)), file)  # type: ignore[arg-type]
                        known.append(rid)
                        written.add(rid)
                    elif kind == "file":
                        rid = rng.choice(known)
                        file = store.get_file(rid)
                        assert file is not None
                        if not file.is_exited:
                            store.save_file(file.withdraw(D2), 1)
                            written.add(rid)
                    elif kind in ("replace", "erase"):
                        rid = rng.choice(known)
                        found = store.get_request(rid)
                        person = store.get_identity(rid)
                        assert found is not None
                        assert person is not None
                        changed = attrs.evolve(found, urgent=not found.urgent, comments=f"v{step}")
                        erased = D2 if kind == "erase" else None
                        store.replace_request(changed, person, erased_on=erased)
                        written.add(rid)
                    elif kind == "gp":
                        store.put_physician(doc(f"MG{step}"))
                    else:
                        store.add_audit(AuditRecord(AT, "cli:test", "voir", rng.choice(known)))
                if rolled_back:
                    raise Boom
        except Boom:
            for rid in written:
                if store.get_request(rid) is None and rid in known:
                    known.remove(rid)
            written = set()
        for _, after in seen:
            after.update(written)
        seen.append((store.data_version(), set()))
    for version, after in seen:
        assert store.changed_requests(version) == sorted(after), version


# --------------------------------------------------------------------------------------------
# Registers written before the record of changes, upgraded


def _v10_file(path: Path, data_version: int) -> None:
    """A register file as schema 10 holds it, with two requests and a data version."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    for step in MIGRATIONS[:10]:
        step(conn)
    for n, rid in enumerate(("R1", "R2")):
        request, file = waiting(rid)
        row = (rid, *codec.request_row(request), *codec.file_row(file))  # type: ignore[arg-type]
        conn.execute(INSERT_REQUEST, row)
        conn.execute(INSERT_IDENTITY, (rid, *codec.identity_row(identity(n))))
        for t in file.history:
            conn.execute(
                f"INSERT INTO transitions ({', '.join(codec.TRANSITION_COLUMNS)}) "
                f"VALUES ({', '.join('?' * len(codec.TRANSITION_COLUMNS))})",
                codec.transition_row(t),
            )
    conn.execute("INSERT INTO meta (key, value) VALUES ('data', ?)", (data_version,))
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    conn.execute("PRAGMA user_version = 10")
    conn.execute("COMMIT")
    conn.close()


def _check_upgraded(store: Store, at_upgrade: int) -> None:
    """The changes of an upgraded register: unknown before the upgrade, recorded after."""
    assert store.data_version() == str(at_upgrade)
    assert store.changed_requests(str(at_upgrade)) == []
    assert store.changed_requests(str(at_upgrade - 1)) is None  # before: cannot tell
    assert store.changed_requests("0") is None
    file = store.get_file("R2")
    assert file is not None
    with store.transaction():
        store.save_file(file.withdraw(D2), 1)
    assert store.changed_requests(str(at_upgrade)) == ["R2"]
    add(store, "R3", 3)
    assert store.changed_requests(str(at_upgrade)) == ["R2", "R3"]
    assert store.changed_requests(str(at_upgrade + 1)) == ["R3"]


def test_a_version_10_file_records_the_changes_after_its_upgrade(tmp_path: Path) -> None:
    path = tmp_path / "registre.sqlite"
    _v10_file(path, 7)
    with SQLiteStore(path) as store:
        assert store.schema_version == SCHEMA_VERSION == 11
        assert store.integrity_check() == []
        _check_upgraded(store, 7)
        assert store.integrity_check() == []
    conn = sqlite3.connect(path)
    plan = conn.execute(
        "EXPLAIN QUERY PLAN SELECT seq FROM transitions WHERE run = 1 ORDER BY seq"
    ).fetchall()
    assert "transitions_by_run" in str(plan)
    from mt_access.store import sqlite as sqlite_module

    query = "SELECT id FROM requests WHERE changed > ?"
    assert query in Path(sqlite_module.__file__).read_text(encoding="utf-8")
    plan = conn.execute(f"EXPLAIN QUERY PLAN {query}", (7,)).fetchall()
    assert "requests_by_change" in str(plan)
    conn.close()


def test_a_new_file_records_every_change(tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "registre.sqlite") as store:
        assert store.data_version() == "0"
        add(store, "R1")
        assert store.changed_requests("0") == ["R1"]


def test_a_version_12_postgresql_register_records_the_changes_after_its_upgrade(
    pg_server: Server,
) -> None:
    name = f"v12_{id(pg_server)}_changes"
    pg_server.admin(f"CREATE DATABASE {name} TEMPLATE template0")
    url = pg_server.url(name)
    conninfo, _ = split_url(url)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        assert [version for version, _ in STEPS[:5]] == [8, 9, 10, 11, 12]
        for _, statements in STEPS[:5]:  # version 12 as released
            for statement in statements:
                conn.execute(statement)
        conn.execute(
            "INSERT INTO mt_access.schema_info (format, version) VALUES (%s, 12)",
            ("mt-access register",),
        )
        for cpts in ("lille", "douai"):
            conn.execute("INSERT INTO mt_access.registers (cpts) VALUES (%s)", (cpts,))
        conn.execute("SET mt_access.cpts = 'lille'")
        for n, rid in enumerate(("R1", "R2")):
            request, file = waiting(rid)
            row = (*codec.request_row(request), *codec.file_row(file))  # type: ignore[arg-type]
            conn.execute(PG_INSERT_REQUEST, ("lille", rid, *row))  # one transaction each
            conn.execute(PG_INSERT_IDENTITY, ("lille", rid, *codec.identity_row(identity(n))))
            columns = codec.TRANSITION_COLUMNS
            for t in file.history:
                conn.execute(
                    f"INSERT INTO mt_access.transitions (cpts, {', '.join(columns)}) "
                    f"VALUES ({', '.join(['%s'] * (1 + len(columns)))})",
                    ("lille", *codec.transition_row(t)),
                )
        before = conn.execute(
            "SELECT data_changes FROM mt_access.registers WHERE cpts = 'lille'"
        ).fetchone()
    assert before is not None
    at_upgrade = int(before[0])
    assert at_upgrade >= 2
    from mt_access.store.postgres import PostgresStore

    with PostgresStore(url + "?cpts=lille") as store:
        assert store.schema_version == POSTGRES_SCHEMA_VERSION == 13
        _check_upgraded(store, at_upgrade)
    with PostgresStore(url + "?cpts=douai") as other:  # another CPTS: from its own version
        assert other.changed_requests("0") == []
        add(other, "D1")
        assert other.changed_requests("0") == ["D1"]
    with psycopg.connect(conninfo, autocommit=True) as conn:
        found = conn.execute("SELECT to_regclass('mt_access.transitions_by_run')")
        assert found.fetchone() == ("mt_access.transitions_by_run",)


def test_a_tagged_runs_letters_read_its_own_events_alone(tmp_path: Path) -> None:
    """``run_letter_targets`` of a run numbered on its events reads them through
    ``run_transitions`` (the index by run), never every transition of the register."""
    import mt_access
    from mt_access.register import Register
    from test_run_events import RUN, _gps, _proposed, _waiting

    with SQLiteStore(tmp_path / "registre.sqlite") as made:
        register = Register(made, mt_access.load_policy("deule_marque"))
        _gps(register)
        for rid in ("R1", "R2"):
            _waiting(register, rid)
        register.run_match(RUN)
        _waiting(register, "R3")
        register.run_match(RUN)
        everything = made.transitions

        def refused(request_id: str | None = None) -> list[object]:
            assert request_id is not None, "toutes les transitions lues"
            return list(everything(request_id))

        made.transitions = refused  # type: ignore[method-assign]
        assert _proposed(register, 1) == {"R1", "R2"}
        assert _proposed(register, 2) == {"R3"}
