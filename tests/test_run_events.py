"""A match run's number recorded on the events it makes (``Transition.run``, SQLite schema 10,
PostgreSQL schema 12): two runs of the same day each have their own letters; a run recorded
before, in a register upgraded since, still finds its events by its date, and not those of a
later run of that day. Also the index of the transitions by GP that ``physician_requests``
reads. Generated data only."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import psycopg
import pytest

import mt_access
from factories import doc, req
from mt_access import Modality, PatientIdentity
from mt_access.letters.sending import letters_of_run, run_letter_targets
from mt_access.letters.templates import LetterKind
from mt_access.lifecycle import Actor, Event, RequestFile
from mt_access.register import Register
from mt_access.store import MemoryStore, SQLiteStore, Store, codec, codec_records
from mt_access.store.migrations import APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION
from mt_access.store.postgres import PostgresStore
from mt_access.store.postgres_errors import split_url
from mt_access.store.postgres_schema import INSERT_IDENTITY as PG_INSERT_IDENTITY
from mt_access.store.postgres_schema import INSERT_LEDGER as PG_INSERT_LEDGER
from mt_access.store.postgres_schema import INSERT_PHYSICIAN as PG_INSERT_PHYSICIAN
from mt_access.store.postgres_schema import INSERT_REQUEST as PG_INSERT_REQUEST
from mt_access.store.postgres_schema import PHYSICIAN_REQUESTS as PG_PHYSICIAN_REQUESTS
from mt_access.store.postgres_schema import POSTGRES_SCHEMA_VERSION, STEPS
from mt_access.store.sqlite_schema import (
    INSERT_IDENTITY,
    INSERT_LEDGER,
    INSERT_PHYSICIAN,
    INSERT_REQUEST,
    PHYSICIAN_REQUESTS,
)
from pg_server import Server

D1 = dt.date(2026, 3, 2)
D2 = dt.date(2026, 3, 3)
RUN = dt.date(2026, 3, 5)
MARCQ = "59378"


@pytest.fixture(scope="module")
def policy() -> mt_access.Policy:
    return mt_access.load_policy("deule_marque")


def _store(kind: str, request: pytest.FixtureRequest) -> Store:
    if kind == "memory":
        return MemoryStore()
    made: Store
    if kind == "postgresql":
        made = PostgresStore(request.getfixturevalue("pg_url"))
    else:
        made = SQLiteStore(request.getfixturevalue("tmp_path") / "registre.sqlite")
    request.addfinalizer(made.close)
    return made


def _waiting(register: Register, rid: str) -> None:
    register.add_request(
        req(rid, MARCQ, age=80, received=D1), PatientIdentity(last_name=f"Testnom{rid}")
    )
    register.acknowledge(rid, D1)
    register.confirm(rid, D2)
    register.to_waiting(rid, D2)


def _gps(register: Register) -> None:
    for pid in ("MG1", "MG2"):
        register.add_physician(doc(pid, MARCQ, capacity=None))
        register.join(pid, D1, monthly_capacity=5, modalities=[Modality.OFFICE])


def _proposed(register: Register, number: int) -> set[str]:
    """The requests of run ``number``'s referral files."""
    _, targets = run_letter_targets(register, number)
    assert {kind for kind, _, _ in targets} == {LetterKind.REFERRAL}
    return {rid for _, rid, _ in targets}


@pytest.mark.parametrize("kind", ["memory", "sqlite", "postgresql"])
def test_two_runs_of_the_same_day_each_have_their_own_letters(
    kind: str, request: pytest.FixtureRequest, policy: mt_access.Policy
) -> None:
    register = Register(_store(kind, request), policy)
    _gps(register)
    for rid in ("R1", "R2"):
        _waiting(register, rid)
    first = register.run_match(RUN)
    _waiting(register, "R3")
    second = register.run_match(RUN)
    assert (first.record.number, second.record.number) == (1, 2)
    assert first.record.on == second.record.on == RUN
    assert {rid for rid, _ in first.proposed} == {"R1", "R2"}
    assert {rid for rid, _ in second.proposed} == {"R3"}
    assert all(r.tagged for r in register.runs())
    assert _proposed(register, 1) == {"R1", "R2"}
    assert _proposed(register, 2) == {"R3"}
    assert [x.request_id for x in letters_of_run(register, 2)[0]] == ["R3"]
    # the run's number is on the events it made, and on those only
    runs = {t.request_id: t.run for t in register.store.transitions() if t.event is Event.PROPOSE}
    assert runs == {"R1": 1, "R2": 1, "R3": 2}
    assert {t.run for t in register.store.transitions() if t.event is not Event.PROPOSE} == {None}
    if kind == "postgresql":  # the server refuses to change it, as SQLite's trigger does
        conninfo, _ = split_url(request.getfixturevalue("pg_url"))
        with (
            psycopg.connect(conninfo, autocommit=True) as conn,
            pytest.raises(psycopg.Error, match="seul l'effacement des commentaires"),
        ):
            conn.execute("UPDATE mt_access.transitions SET run = 1 WHERE run = 2")


# --------------------------------------------------------------------------------------------
# A register written before (SQLite version 9), upgraded


def _v9_file(path: Path, source: Store) -> None:
    """``source``'s data in a register file as version 9 of the schema holds it: no run
    number on the transitions, no ``tagged`` on the runs."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    for step in MIGRATIONS[:9]:
        step(conn)
    for physician in source.physicians():
        conn.execute(INSERT_PHYSICIAN, codec.physician_row(physician))
    conn.executemany(INSERT_LEDGER, [codec.ledger_row(e) for e in source.ledger_entries()])
    ids = [s.id for s in source.summaries()]
    for rid, file in source.get_files(ids).items():
        request = source.get_request(rid)
        identity = source.get_identity(rid)
        assert request is not None
        assert identity is not None
        conn.execute(INSERT_REQUEST, (rid, *codec.request_row(request), *codec.file_row(file)))
        conn.execute(INSERT_IDENTITY, (rid, *codec.identity_row(identity)))
    columns = codec.TRANSITION_COLUMNS[:-1]
    marks = ", ".join("?" * len(columns))
    insert = f"INSERT INTO transitions ({', '.join(columns)}) VALUES ({marks})"
    for t in source.transitions():
        conn.execute(insert, codec.transition_row(t)[:-1])
    for run in source.runs():
        conn.execute(
            f"INSERT INTO runs VALUES ({', '.join('?' * 8)})", codec_records.run_row(run)[:-1]
        )
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    conn.execute("PRAGMA user_version = 9")
    conn.execute("COMMIT")
    conn.close()


def test_a_run_of_an_upgraded_register_finds_its_events_by_date_not_a_later_runs(
    tmp_path: Path, policy: mt_access.Policy
) -> None:
    before = Register(MemoryStore(), policy)
    _gps(before)
    for rid in ("R1", "R2"):
        _waiting(before, rid)
    before.run_match(RUN)
    # a coordinator's proposal by hand that day is not the run's
    before.add_physician(doc("MG3", MARCQ, capacity=None))
    before.join("MG3", D1, monthly_capacity=5, modalities=[Modality.OFFICE])
    _waiting(before, "R4")
    before.propose("R4", "MG3", RUN)
    path = tmp_path / "registre.sqlite"
    _v9_file(path, before.store)
    conn = sqlite3.connect(path)
    assert "run" not in {r[1] for r in conn.execute("PRAGMA table_info(transitions)")}
    conn.close()

    with SQLiteStore(path) as store:
        assert store.schema_version == SCHEMA_VERSION == 11
        assert store.integrity_check() == []
        assert [(r.number, r.tagged) for r in store.runs()] == [(1, False)]
        assert {t.run for t in store.transitions()} == {None}
        register = Register(store, policy)
        assert _proposed(register, 1) == {"R1", "R2"}  # by its date, as before
        _waiting(register, "R3")
        later = register.run_match(RUN)  # the same day, after the upgrade
        assert (later.record.number, later.record.tagged) == (2, True)
        assert _proposed(register, 2) == {"R3"}
        assert _proposed(register, 1) == {"R1", "R2"}  # not the later run's R3
        # the events written before cannot be given a run number afterwards
        with pytest.raises(sqlite3.IntegrityError, match="seul l'effacement"):
            store._connection().execute("UPDATE transitions SET run = 1 WHERE run IS NULL")


def test_a_proposal_by_hand_is_not_a_runs_letter(policy: mt_access.Policy) -> None:
    register = Register(MemoryStore(), policy)
    _gps(register)
    _waiting(register, "R1")
    register.run_match(RUN)
    _waiting(register, "R2")
    register.propose("R2", "MG2", RUN)
    mine = [t for t in register.store.transitions("R2") if t.event is Event.PROPOSE]
    assert [(t.actor, t.run) for t in mine] == [(Actor.COORDINATOR, None)]
    assert _proposed(register, 1) == {"R1"}


def test_a_version_11_postgresql_register_gets_the_run_numbers(
    pg_server: Server, policy: mt_access.Policy
) -> None:
    """Step 12 on a database written at version 11: its run is untagged, its events keep no
    run number and are found by the run's date; a later run of that day finds its own."""
    before = Register(MemoryStore(), policy)
    _gps(before)
    for rid in ("R1", "R2"):
        _waiting(before, rid)
    before.run_match(RUN)
    source = before.store
    name = f"v11_{id(pg_server)}"
    pg_server.admin(f"CREATE DATABASE {name} TEMPLATE template0")
    try:
        url = pg_server.url(name)
        conninfo, _ = split_url(url)
        with psycopg.connect(conninfo, autocommit=True) as conn:
            assert [version for version, _ in STEPS[:4]] == [8, 9, 10, 11]
            for _, statements in STEPS[:4]:  # version 11 as released
                for statement in statements:
                    conn.execute(statement)
            conn.execute(
                "INSERT INTO mt_access.schema_info (format, version) VALUES (%s, 11)",
                ("mt-access register",),
            )
            conn.execute("INSERT INTO mt_access.registers (cpts) VALUES ('lille')")
            conn.execute("SET mt_access.cpts = 'lille'")
            for physician in source.physicians():
                conn.execute(PG_INSERT_PHYSICIAN, ("lille", *codec.physician_row(physician)))
            for entry in source.ledger_entries():
                conn.execute(PG_INSERT_LEDGER, ("lille", *codec.ledger_row(entry)))
            files = source.get_files([s.id for s in source.summaries()])
            for rid, file in files.items():
                request = source.get_request(rid)
                identity = source.get_identity(rid)
                assert request is not None
                assert identity is not None
                row = (*codec.request_row(request), *codec.file_row(file))
                conn.execute(PG_INSERT_REQUEST, ("lille", rid, *row))
                conn.execute(PG_INSERT_IDENTITY, ("lille", rid, *codec.identity_row(identity)))
            columns = codec.TRANSITION_COLUMNS[:-1]  # no run before version 12
            marks = ", ".join(["%s"] * (1 + len(columns)))
            insert = f"INSERT INTO mt_access.transitions (cpts, {', '.join(columns)}) "
            for t in source.transitions():
                conn.execute(f"{insert} VALUES ({marks})", ("lille", *codec.transition_row(t)[:-1]))
            runs = codec_records.RUN_COLUMNS[:-1]  # no tagged before version 12
            for run in source.runs():
                conn.execute(
                    f"INSERT INTO mt_access.runs (cpts, {', '.join(runs)}) "
                    f"VALUES ({', '.join(['%s'] * (1 + len(runs)))})",
                    ("lille", *codec_records.run_row(run)[:-1]),
                )
        with PostgresStore(url + "?cpts=lille") as store:
            assert store.schema_version == POSTGRES_SCHEMA_VERSION == 13
            assert store.integrity_check() == []
            assert [(r.number, r.tagged) for r in store.runs()] == [(1, False)]
            assert {t.run for t in store.transitions()} == {None}
            register = Register(store, policy)
            assert _proposed(register, 1) == {"R1", "R2"}
            _waiting(register, "R3")
            assert register.run_match(RUN).record.tagged
            assert _proposed(register, 2) == {"R3"}
            assert _proposed(register, 1) == {"R1", "R2"}
            assert store.integrity_check() == []
        with psycopg.connect(conninfo, autocommit=True) as conn:
            found = conn.execute("SELECT to_regclass('mt_access.transitions_by_physician')")
            assert found.fetchone() == ("mt_access.transitions_by_physician",)
    finally:
        pg_server.drop_database(name)


# --------------------------------------------------------------------------------------------
# A GP's requests read in the index by GP


def test_a_gps_requests_are_read_in_the_index_by_gp_in_sqlite(tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "registre.sqlite") as store:
        plan = (
            store._connection()
            .execute(f"EXPLAIN QUERY PLAN {PHYSICIAN_REQUESTS}", ("MG1", ""))
            .fetchall()
        )
    details = " ".join(str(row[-1]) for row in plan)
    assert "USING COVERING INDEX transitions_by_physician" in details
    assert "SCAN transitions" not in details.replace("USING COVERING INDEX", "")


def test_a_gps_requests_are_read_in_the_index_by_gp_in_postgresql(pg_url: str) -> None:
    with PostgresStore(pg_url) as store, store.transaction():
        for n in range(400):  # each proposed to one of 40 GPs
            request = req(f"R{n:03d}", MARCQ, received=D1)
            file = RequestFile.from_request(request).acknowledge(D1).confirm(D1)
            file = file.to_waiting(D1).propose(f"MG{n % 40}", D2)
            store.add_request(request, PatientIdentity(last_name=f"Testnom{n}"), file)
    conninfo, _ = split_url(pg_url)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("ANALYZE mt_access.transitions")
        plan = conn.execute(f"EXPLAIN {PG_PHYSICIAN_REQUESTS}", ("principal", "MG1", "")).fetchall()
    details = " ".join(str(row[0]) for row in plan)
    assert "transitions_by_physician" in details
