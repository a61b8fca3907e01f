"""What the SQLite register file adds to the store contract: schema versions and migrations,
refusing files it cannot read, WAL readers, the integrity check, erasure in the file.

Generated data only: no real person.
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
from pathlib import Path

import attrs
import pytest

from factories import VOREPPE, doc, req
from mt_access import (
    CapacityDeclared,
    Month,
    PatientIdentity,
    PlacementRecorded,
    PlacementReleased,
    PracticeContact,
    Request,
    RequestFile,
    RequestState,
)
from mt_access.store import SCHEMA_VERSION, AuditRecord, RunRecord, SQLiteStore, StoreError, codec
from mt_access.store.migrations import APPLICATION_ID, MIGRATIONS, V1_SCHEMA

D1 = dt.date(2026, 2, 2)
D2 = dt.date(2026, 3, 2)
D3 = dt.date(2026, 3, 16)
MARCH = Month(2026, 3)
NAME = "Nomfictif"


def person(n: int) -> PatientIdentity:
    return PatientIdentity(last_name=f"{NAME}{n}", phone=f"06 00 00 00 {n:02d}")


def waiting(request: Request) -> RequestFile:
    return RequestFile.from_request(request).acknowledge(D1).confirm(D1).to_waiting(D1)


def fill(store: SQLiteStore) -> None:
    with store.transaction():
        for n in range(1, 5):
            request = req(f"R{n}")
            file = waiting(request)
            if n == 2:
                file = file.propose("MG1", D2)
            store.add_request(request, person(n), file)
        store.put_physician(doc("MG1"))
        store.append_ledger(
            [CapacityDeclared("MG1", MARCH, 2, D1), PlacementRecorded("MG1", MARCH, "R2", 1, D2)]
        )
        store.add_run(RunRecord(0, D2, "2026-03", "voironnais", 1, 0, 3, 0))


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "registre.sqlite"


def raw(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(path, isolation_level=None)


# --------------------------------------------------------------------------------------------
# Creating and opening


def test_a_new_register(path: Path) -> None:
    with SQLiteStore.open(path) as store:
        assert store.schema_version == SCHEMA_VERSION == 11
        assert store.path == path
        assert not store.readonly
        assert store.count_requests() == 0
        assert store.integrity_check() == []
    conn = raw(path)
    assert conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


def test_a_non_durable_transaction_alone_skips_the_sync(path: Path) -> None:
    """``synchronous = NORMAL`` for the non-durable transaction only; FULL before and after,
    also after one that raised."""
    with SQLiteStore(path, create=True) as store:
        conn = store._conn
        assert conn is not None

        def level() -> int:
            return int(conn.execute("PRAGMA synchronous").fetchone()[0])

        assert level() == 2  # FULL
        with store.transaction(durable=False):
            assert level() == 1  # NORMAL
            store.put_physician(doc("MG1"))
        assert level() == 2

        def fails() -> None:
            with store.transaction(durable=False):
                store.put_physician(doc("MG2"))
                raise ZeroDivisionError

        with pytest.raises(ZeroDivisionError):
            fails()
        assert level() == 2
        with store.transaction():
            assert level() == 2
            store.put_physician(doc("MG3"))
        assert [p.id for p in store.physicians()] == ["MG1", "MG3"]


def test_data_survives_reopening(path: Path) -> None:
    store = SQLiteStore(path)
    fill(store)
    before = (store.requests(), store.get_files(["R1", "R2"]), store.ledger_entries())
    version = store.version
    store.close()
    store.close()  # closing twice does nothing
    again = SQLiteStore(path, create=False)
    assert (again.requests(), again.get_files(["R1", "R2"]), again.ledger_entries()) == before
    assert again.version == version
    again.close()


def test_a_missing_file_is_not_created_unless_asked(path: Path) -> None:
    with pytest.raises(StoreError, match="introuvable") as caught:
        SQLiteStore(path, create=False)
    assert str(path) in str(caught.value)
    assert caught.value.path == str(path)
    with pytest.raises(StoreError, match="introuvable"):
        SQLiteStore(path, readonly=True)
    assert not path.exists()


def test_a_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="dossier"):
        SQLiteStore(tmp_path)


def test_random_bytes_are_not_a_register(path: Path) -> None:
    junk = bytes(range(256)) * 40
    path.write_bytes(junk)
    for readonly in (False, True):
        with pytest.raises(StoreError, match="pas une base SQLite") as caught:
            SQLiteStore(path, readonly=readonly)
        assert str(path) in str(caught.value)
    assert path.read_bytes() == junk


def test_another_sqlite_database_is_not_a_register(path: Path) -> None:
    conn = raw(path)
    conn.execute("CREATE TABLE comptes (id INTEGER PRIMARY KEY, montant REAL)")
    conn.execute("INSERT INTO comptes VALUES (1, 12.5)")
    conn.close()
    before = path.read_bytes()
    for readonly in (False, True):
        with pytest.raises(StoreError, match="pas un registre mt-access") as caught:
            SQLiteStore(path, readonly=readonly)
        assert str(path) in str(caught.value)
    assert path.read_bytes() == before
    conn = raw(path)
    assert conn.execute("SELECT COUNT(*) FROM sqlite_schema").fetchone()[0] == 1
    conn.close()


def test_an_empty_file_becomes_a_register_unless_read_only(path: Path) -> None:
    path.write_bytes(b"")
    with pytest.raises(StoreError, match="vide"):
        SQLiteStore(path, readonly=True)
    with SQLiteStore(path) as store:
        assert store.schema_version == SCHEMA_VERSION


def test_a_newer_register_is_refused(path: Path) -> None:
    SQLiteStore(path).close()
    conn = raw(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    for readonly in (False, True):
        with pytest.raises(StoreError) as caught:
            SQLiteStore(path, readonly=readonly)
        message = str(caught.value)
        assert str(path) in message
        assert f"version {SCHEMA_VERSION + 1}" in message
        assert f"jusqu'à la version {SCHEMA_VERSION}" in message
        assert "plus récente" in message
    conn = raw(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION + 1
    conn.close()


# --------------------------------------------------------------------------------------------
# Migration from version 1


def make_v1(path: Path) -> tuple[list[Request], dict[str, RequestFile]]:
    """A register file as version 1 of mt-access wrote it (its DDL, no runs table)."""
    conn = raw(path)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("BEGIN")
    for statement in V1_SCHEMA:
        conn.execute(statement)
    requests = [req("R1"), req("R2", VOREPPE, urgent=True)]
    files = {"R1": waiting(requests[0]), "R2": waiting(requests[1]).propose("MG1", D2)}
    # version 1 recorded no persons on transitions
    files = {
        rid: attrs.evolve(f, history=tuple(attrs.evolve(t, persons=()) for t in f.history))
        for rid, f in files.items()
    }
    for n, request in enumerate(requests, 1):
        file = files[request.id]
        data = [c for c in codec.REQUEST_DATA_COLUMNS if c != "answers"]  # version 6
        columns = ("id", *data, *codec.FILE_COLUMNS[:6])
        values = (request.id, *codec.request_row(request)[: len(data)], *codec.file_row(file)[:6])
        conn.execute(
            f"INSERT INTO requests ({', '.join(columns)}) VALUES ({', '.join('?' * len(values))})",
            values,
        )
        conn.execute(
            f"INSERT INTO identities VALUES ({', '.join('?' * 8)})",
            (request.id, *codec.identity_row(person(n))),
        )
        for transition in file.history:
            conn.execute(
                f"INSERT INTO transitions ({', '.join(codec.TRANSITION_COLUMNS[:9])}) "
                f"VALUES ({', '.join('?' * 9)})",
                codec.transition_row(transition)[:9],
            )
    conn.execute(
        f"INSERT INTO ledger ({', '.join(codec.LEDGER_COLUMNS)}) VALUES ({', '.join('?' * 8)})",
        codec.ledger_row(PlacementRecorded("MG1", MARCH, "R2", 1, D2)),
    )
    conn.execute("UPDATE meta SET value = 7 WHERE key = 'commits'")
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    conn.execute("PRAGMA user_version = 1")
    conn.execute("COMMIT")
    conn.close()
    return requests, files


def tables_and_indexes(path: Path) -> set[str]:
    conn = raw(path)
    names = {name for (name,) in conn.execute("SELECT name FROM sqlite_schema")}
    conn.close()
    return names


def test_a_version_1_register_is_upgraded(path: Path) -> None:
    requests, files = make_v1(path)
    assert "runs" not in tables_and_indexes(path)
    with SQLiteStore(path) as store:
        assert store.schema_version == SCHEMA_VERSION
        assert store.requests() == requests
        assert store.get_files(files) == files
        # a version 1 proposal covered every person of the request
        assert store.get_files(["R2"])["R2"].proposals == {"MG1": (1,)}
        assert store.get_identity("R1") == person(1)
        assert store.ledger_entries() == [PlacementRecorded("MG1", MARCH, "R2", 1, D2)]
        assert store.version == 7
        assert store.runs() == []
        assert store.integrity_check() == []
        with store.transaction():
            run = store.add_run(RunRecord(0, D3, "2026-03", "voironnais", 0, 0, 1, 0))
        assert run.number == 1
        assert [s.id for s in store.summaries([RequestState.WAITING])] == ["R1"]
    assert {"runs", "requests_by_state", "imported_rows"} <= tables_and_indexes(path)
    conn = raw(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    conn.close()


def test_a_version_2_register_gets_the_imported_rows_table(path: Path) -> None:
    conn = raw(path)
    conn.execute("BEGIN IMMEDIATE")
    for step in MIGRATIONS[:2]:
        step(conn)
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    conn.execute("PRAGMA user_version = 2")
    conn.execute("COMMIT")
    conn.close()
    assert "imported_rows" not in tables_and_indexes(path)
    with SQLiteStore(path) as store:
        assert store.schema_version == SCHEMA_VERSION
        fill(store)
        with store.transaction():
            store.add_imported_rows([("d1", "R1")])
        assert store.imported_rows(["d1", "d2"]) == {"d1": "R1"}
        assert store.integrity_check() == []
    assert {"imported_rows", "imported_rows_by_request"} <= tables_and_indexes(path)


def test_a_version_4_register_gets_the_gps_contact_columns(path: Path) -> None:
    conn = raw(path)
    conn.execute("BEGIN IMMEDIATE")
    for step in MIGRATIONS[:4]:
        step(conn)
    # a GP as version 4 wrote it: the first 11 columns, no contact
    columns = codec.PHYSICIAN_COLUMNS[:11]
    conn.execute(
        f"INSERT INTO physicians ({', '.join(columns)}) VALUES ({', '.join('?' * 11)})",
        codec.physician_row(doc("MG1", rpps="10001234567"))[:11],
    )
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    conn.execute("PRAGMA user_version = 4")
    conn.execute("COMMIT")
    conn.close()
    conn = raw(path)
    assert "contact_phone" not in {r[1] for r in conn.execute("PRAGMA table_info(physicians)")}
    conn.close()
    with pytest.raises(StoreError, match="mettre à jour"):
        SQLiteStore(path, readonly=True)
    contact = PracticeContact(
        phone="04 76 00 00 01",
        mssante="dr.mg1@medecin.mssante.fr",
        address="1 rue Fictive, 38500 Voiron",
        practice="Cabinet fictif",
        notes="rendez-vous en ligne",
    )
    with SQLiteStore(path) as store:
        assert store.schema_version == SCHEMA_VERSION == 11
        assert store.get_physician("MG1") == doc("MG1", rpps="10001234567")
        assert store.physicians()[0].contact == PracticeContact()
        assert store.integrity_check() == []
        with store.transaction():
            store.put_physician(doc("MG1", rpps="10001234567", contact=contact))
    with SQLiteStore(path, readonly=True) as store:
        assert store.get_physician("MG1") == doc("MG1", rpps="10001234567", contact=contact)
    conn = raw(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    conn.close()


def test_the_import_digest_is_unique_in_the_file(path: Path) -> None:
    with SQLiteStore(path) as store:
        fill(store)
        with store.transaction():
            store.add_imported_rows([("d1", "R1")])
    conn = raw(path)
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute("INSERT INTO imported_rows (digest, request_id) VALUES ('d1', 'R2')")
    conn.close()


def test_the_integrity_check_finds_a_request_recorded_twice(path: Path) -> None:
    with SQLiteStore(path) as store:
        fill(store)
        assert store.integrity_check() == []
        with store.transaction():
            for rid in ("R8", "R9"):  # the same person twice, as a doubled import left it
                request = req(rid)
                store.add_request(request, person(7), waiting(request))
        problems = store.integrity_check()
    assert problems == [
        "demandes R8, R9 : même personne (nom, prénom, date de naissance) reçue le même jour : "
        "demande enregistrée en double ?"
    ]
    assert NAME not in problems[0]


def test_a_version_1_register_is_not_upgraded_read_only(path: Path) -> None:
    make_v1(path)
    with pytest.raises(StoreError, match="mettre à jour") as caught:
        SQLiteStore(path, readonly=True)
    assert str(path) in str(caught.value)
    conn = raw(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
    conn.close()


# --------------------------------------------------------------------------------------------
# Readers and writers


def test_a_reader_reads_while_a_writer_writes(path: Path) -> None:
    writer = SQLiteStore(path)
    fill(writer)
    reader = SQLiteStore(path, readonly=True, timeout=0.5)
    assert reader.readonly
    version = reader.version
    before = reader.summaries()
    r9 = req("R9")
    with writer.transaction():
        writer.add_request(r9, person(9), waiting(r9))
        writer.put_physician(doc("MG9"))
        # The reader does not wait for the writer, and sees the last committed state.
        assert reader.summaries() == before
        assert reader.get_request("R9") is None
        assert [p.id for p in reader.physicians()] == ["MG1"]
        assert reader.version == version
        assert reader.integrity_check() == []
    assert reader.version != version
    assert reader.get_request("R9") == r9
    assert [s.id for s in reader.summaries([RequestState.WAITING])] == ["R1", "R3", "R4", "R9"]
    reader.close()
    writer.close()


def test_a_second_writer_waits_then_gives_up(path: Path) -> None:
    first = SQLiteStore(path)
    second = SQLiteStore(path, timeout=0.2)
    with first.transaction():
        first.put_physician(doc("MG1"))
        with pytest.raises(StoreError, match="occupé") as caught, second.transaction():
            pass
        assert str(path) in str(caught.value)
    with second.transaction():
        second.put_physician(doc("MG2"))
    assert [p.id for p in first.physicians()] == ["MG1", "MG2"]
    first.close()
    second.close()


def test_version_sees_other_processes_commits(path: Path) -> None:
    one, two = SQLiteStore(path), SQLiteStore(path)
    seen = two.version
    with one.transaction():
        one.put_physician(doc("MG1"))
    assert two.version != seen
    assert two.get_physician("MG1") == doc("MG1")
    one.close()
    two.close()


def test_data_version_sees_other_connections_data_writes_only(path: Path) -> None:
    one, two = SQLiteStore(path), SQLiteStore(path)
    seen = two.data_version()
    with one.transaction():
        one.add_audit(AuditRecord(dt.datetime(2026, 3, 2, tzinfo=dt.UTC), "user:a", "connexion"))
    assert two.data_version() == seen
    with one.transaction():
        one.put_physician(doc("MG1"))
    assert two.data_version() != seen
    reader = SQLiteStore(path, readonly=True)
    assert reader.data_version() == two.data_version()
    for store in (one, two, reader):
        store.close()


def test_a_read_only_store_refuses_writes(path: Path) -> None:
    SQLiteStore(path).close()
    reader = SQLiteStore(path, readonly=True)
    with pytest.raises(StoreError, match="lecture seule"), reader.transaction():
        pass
    reader.close()


def test_a_caught_error_inside_a_transaction_leaves_no_half_write(path: Path) -> None:
    store = SQLiteStore(path)
    fill(store)
    r1 = req("R1")
    with store.transaction():
        with pytest.raises(StoreError):
            store.add_request(r1, person(1), waiting(r1))
        store.put_physician(doc("MG5"))
    assert store.count_requests() == 4
    assert store.integrity_check() == []
    store.close()


def test_an_unstorable_value_raises_a_store_error(path: Path) -> None:
    store = SQLiteStore(path)
    huge = attrs.evolve(doc("MG1"), monthly_capacity=2**70)
    with pytest.raises(StoreError, match="MG1") as caught, store.transaction():
        store.put_physician(huge)
    assert "nombre trop grand pour le registre" in str(caught.value)
    assert "OverflowError" not in str(caught.value)
    assert "integrity_check" not in str(caught.value)
    assert store.physicians() == []
    store.close()


def test_a_number_beyond_64_bits_never_leaves_the_store_as_overflow_error(path: Path) -> None:
    store = SQLiteStore(path)
    fill(store)
    before = store.ledger_entries()
    entry = CapacityDeclared("MG1", MARCH, 2, D1)
    object.__setattr__(entry, "capacity", 10**30)  # past the ledger's own validation
    with pytest.raises(StoreError, match="nombre trop grand") as caught, store.transaction():
        store.append_ledger([entry])
    assert not isinstance(caught.value, OverflowError)
    assert store.ledger_entries() == before
    store.close()


# --------------------------------------------------------------------------------------------
# Integrity check


def test_the_integrity_check_finds_damaged_rows(path: Path) -> None:
    store = SQLiteStore(path)
    fill(store)
    assert store.integrity_check() == []
    store.close()

    conn = raw(path)
    # R2's last transition is a proposal: its stored state no longer matches.
    conn.execute("UPDATE requests SET state = 'waiting' WHERE id = 'R2'")
    # A request row without history nor identity.
    conn.execute(
        "INSERT INTO requests SELECT 'R8', state, received, last_event, commune, persons, "
        "urgent, proposed_to, declined_by, contact_attempts, exit_reason, erased_on, "
        "birth_date, lat, lon, ald, css, ame, disability_or_chronic, home_visits, reason, "
        "previous_mt_name, previous_mt_commune, adults, children, referrer_kind, "
        "referrer_name, referrer_contact, consent_given, consent_on, comments, household_id, "
        "searching, answers, changed FROM requests WHERE id = 'R1'"
    )
    # A value no version of mt-access writes.
    conn.execute("UPDATE requests SET home_visits = 'parfois' WHERE id = 'R3'")
    # Ledger: a release of nothing, and R2 placed twice with MG1.
    for entry in (
        PlacementReleased("MG7", "R4", D3),
        PlacementRecorded("MG1", MARCH, "R2", 1, D3),
    ):
        conn.execute(
            f"INSERT INTO ledger ({', '.join(codec.LEDGER_COLUMNS)}) VALUES ({', '.join('?' * 8)})",
            codec.ledger_row(entry),
        )
    # A transition of a request that does not exist, and a gap in the runs.
    conn.execute("PRAGMA foreign_keys = OFF")
    conn.execute(
        "INSERT INTO transitions (request_id, on_date, event, to_state, actor) "
        "VALUES ('R0', '2026-03-02', 'receive', 'received', 'coordinator')"
    )
    conn.execute(
        "INSERT INTO runs VALUES (5, '2026-03-16', '2026-03', 'voironnais', 0, 0, 0, 0, 1)"
    )
    # A transition recorded by a run the register does not know.
    conn.execute(
        "INSERT INTO transitions (request_id, on_date, event, to_state, actor, run) "
        "VALUES ('R1', '2026-03-16', 'orient', 'waiting', 'system', 7)"
    )
    conn.close()

    store = SQLiteStore(path)
    problems = store.integrity_check()
    text = "\n".join(problems)
    assert any("R2" in p and "état" in p for p in problems), text
    assert any("R8" in p and "aucune transition" in p for p in problems), text
    assert any("R8" in p and "identité" in p for p in problems), text
    assert any("R3" in p and "illisible" in p for p in problems), text
    assert any("libération sans placement actif" in p and "R4" in p for p in problems), text
    assert any("second placement actif" in p and "R2" in p for p in problems), text
    assert any("transitions" in p and "requests" in p for p in problems), text
    assert any("numéro 5" in p for p in problems), text
    assert "transitions : appariement n° 7 inconnu de la table runs" in problems, text
    assert NAME not in text  # ids only, never the patient
    # Reading the damaged value fails cleanly, naming the operation but not the value.
    with pytest.raises(StoreError, match="illisible"):
        store.get_request("R3")
    store.close()


def test_the_integrity_check_finds_damaged_pages(path: Path) -> None:
    store = SQLiteStore(path)
    with store.transaction():
        for n in range(300):
            request = req(f"R{n:03d}")
            store.add_request(request, person(n % 100), waiting(request))
    store.close()
    conn = raw(path)
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    (root,) = conn.execute("SELECT rootpage FROM sqlite_schema WHERE name = 'transitions'")
    conn.close()
    with path.open("r+b") as damaged:
        damaged.seek((root[0] - 1) * page_size + 12)
        damaged.write(b"\xff" * 64)  # the cell pointers of the table's root page
    store = SQLiteStore(path)
    problems = store.integrity_check()
    assert problems
    assert all(p.startswith("SQLite") for p in problems)
    store.close()


# --------------------------------------------------------------------------------------------
# Erasure


def file_bytes(path: Path) -> bytes:
    return b"".join(
        Path(f"{path}{suffix}").read_bytes()
        for suffix in ("", "-wal")
        if Path(f"{path}{suffix}").exists()
    )


def test_erased_data_leaves_the_file(path: Path) -> None:
    store = SQLiteStore(path)
    secret = "rappeler-Nomfictif-après-18h"
    with store.transaction():
        for n in range(1, 60):
            request = req(f"R{n:02d}")
            file = RequestFile.from_request(request, comment=f"{secret}-{n:02d}")
            store.add_request(request, person(n), file)
    assert f"{NAME}42".encode() in file_bytes(path)
    assert f"{secret}-42".encode() in file_bytes(path)
    with store.transaction():
        store.replace_request(req("R42"), PatientIdentity(), erased_on=D3)
    for data in (file_bytes(path), (store.close(), file_bytes(path))[1]):
        assert f"{NAME}42".encode() not in data
        assert f"{secret}-42".encode() not in data
        assert f"{NAME}41".encode() in data  # the others stay
    store = SQLiteStore(path)
    assert store.erased_on("R42") == D3
    assert store.integrity_check() == []
    store.close()


def test_the_file_is_the_only_state(path: Path) -> None:
    """Nothing is cached between calls: another connection's writes are read at once."""
    one = SQLiteStore(path)
    fill(one)
    two = SQLiteStore(path)
    file = two.get_file("R1")
    assert file is not None
    with two.transaction():
        two.save_file(file.withdraw(D3), 1)
    assert one.summaries([RequestState.EXITED])[0].id == "R1"
    assert os.path.exists(f"{path}-wal")
    one.close()
    two.close()


def test_requests_decode_the_same_with_and_without_validation(path: Path) -> None:
    """Reading skips the validators of ``Request`` (the values were validated when
    written); the integrity check runs them. Both give equal requests."""
    assert codec._REQUEST_SETTERS is not None  # the fast path is the one in use
    store = SQLiteStore(path)
    fill(store)
    with store.transaction():
        for n, request in enumerate(
            [
                req("R5", VOREPPE, urgent=True, persons=3, declined_by={"MG1", "MG2"}),
                attrs.evolve(req("R6"), household_id="F6", comments="à rappeler"),
            ],
            5,
        ):
            store.add_request(request, person(n), waiting(request))
    store.close()
    conn = raw(path)
    rows = conn.execute(f"SELECT {', '.join(codec.REQUEST_COLUMNS)} FROM requests").fetchall()
    conn.close()
    fast = codec.decode_requests(rows)
    assert fast == codec.decode_requests(rows, validate=True)
    assert [type(r) for r in fast] == [Request] * 6
    assert fast[4].declined_by == {"MG1", "MG2"}
    assert hash(fast[4]) == hash(codec.decode_requests(rows, validate=True)[4])


def test_an_erasure_does_not_wait_for_a_reader(path: Path) -> None:
    """A reader holding an old snapshot (a notebook in the middle of a read transaction)
    neither blocks the erasure nor sees it; the erased data leaves the file once it is gone."""
    store = SQLiteStore(path)
    fill(store)
    notebook = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None)
    notebook.execute("BEGIN")
    assert notebook.execute("SELECT last_name FROM identities WHERE request_id = 'R1'").fetchone()
    with store.transaction():
        store.replace_request(req("R1"), PatientIdentity(), erased_on=D3)
    assert store.erased_on("R1") == D3
    (old,) = notebook.execute("SELECT last_name FROM identities WHERE request_id = 'R1'")
    assert old == (f"{NAME}1",)  # its snapshot predates the erasure
    notebook.execute("COMMIT")
    notebook.close()
    with store.transaction():
        store.replace_request(req("R2"), PatientIdentity(), erased_on=D3)
    store.close()
    assert f"{NAME}1".encode() not in file_bytes(path)
    assert f"{NAME}2".encode() not in file_bytes(path)


def test_the_audit_trail_is_append_only_in_the_file(path: Path) -> None:
    with SQLiteStore(path) as store, store.transaction():
        store.add_audit(AuditRecord(dt.datetime(2026, 3, 2, tzinfo=dt.UTC), "cli:test", "x"))
    conn = sqlite3.connect(path)
    try:
        for statement in ("UPDATE audit SET actor = 'user:autre'", "DELETE FROM audit"):
            with pytest.raises(sqlite3.IntegrityError, match="ajout seul"):
                conn.execute(statement)
    finally:
        conn.close()
