"""The :class:`~mt_access.store.base.Store` contract, for every implementation.

Each test runs on :class:`MemoryStore`, on :class:`SQLiteStore` (a file in a temporary
directory) and on :class:`PostgresStore` (a fresh database of a throwaway server,
``tests/pg_server.py``; skipped where PostgreSQL is absent): another backend joins by adding
itself to ``BACKENDS``. The Hypothesis tests at the
end round-trip arbitrary generated values through the SQLite file and the PostgreSQL
database (but values with a NUL character there). All data is generated:
no real person.
"""

from __future__ import annotations

import datetime as dt
import itertools
import string
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import attrs
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from factories import MOIRANS, VOIRON, VOREPPE, doc, req
from mt_access import (
    Actor,
    CapacityDeclared,
    Consent,
    Event,
    ExitReason,
    HomeVisitNeed,
    Household,
    LedgerEntry,
    Modality,
    Month,
    Patient,
    PatientIdentity,
    Physician,
    PhysicianStatus,
    PlacementRecorded,
    PlacementReleased,
    Point,
    PracticeContact,
    PreviousDoctor,
    Referrer,
    ReferrerKind,
    Request,
    RequestFile,
    RequestState,
    SearchReason,
    StatusChange,
    Transition,
)
from mt_access.bounds import MAX_ADULTS, MAX_CHILDREN, MAX_MONTHLY_CAPACITY
from mt_access.store import (
    AuditRecord,
    KnownPerson,
    MemoryStore,
    PersonalRecord,
    RequestSummary,
    RunRecord,
    SendingRecord,
    SQLiteStore,
    Store,
    StoreError,
    UserRecord,
)

D0 = dt.date(2026, 1, 5)
D1 = dt.date(2026, 2, 2)
D2 = dt.date(2026, 3, 2)
D3 = dt.date(2026, 3, 16)
MARCH = Month(2026, 3)

BACKENDS: dict[str, Callable[[Path], Store]] = {
    "memory": lambda _path: MemoryStore(),
    "sqlite": lambda path: SQLiteStore(path / "registre.sqlite"),
}
POSTGRES = "postgres"  # needs a server: made from the pg_url fixture


def make_store(request: pytest.FixtureRequest, backend: str, tmp_path: Path) -> Store:
    if backend == POSTGRES:
        from mt_access.store.postgres import PostgresStore

        return PostgresStore(request.getfixturevalue("pg_url"))
    return BACKENDS[backend](tmp_path)


@pytest.fixture(params=[*sorted(BACKENDS), POSTGRES])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    made = make_store(request, request.param, tmp_path)
    yield made
    made.close()


# --------------------------------------------------------------------------------------------
# Builders (generated data only)


def identity(n: int) -> PatientIdentity:
    return PatientIdentity(
        last_name=f"Nomfictif{n}",
        first_name=f"Prénomfictif{n}",
        phone=f"06 00 00 00 {n % 100:02d}",
        email=f"personne{n}@example.invalid",
        identifier=f"FORM-{n:05d}",
    )


def waiting_file(request: Request, on: dt.date = D1, comment: str = "") -> RequestFile:
    file = RequestFile.from_request(request, comment=comment)
    return file.acknowledge(on).confirm(on).to_waiting(on, comment=comment)


def add(store: Store, request: Request, file: RequestFile | None = None, n: int = 0) -> RequestFile:
    file = waiting_file(request) if file is None else file
    with store.transaction():
        store.add_request(request, identity(n), file)
    return file


def snapshot(store: Store) -> dict[str, object]:
    """Everything a store holds, through its reading methods."""
    ids = [s.id for s in store.summaries()]
    return {
        "requests": store.requests(),
        "summaries": store.summaries(),
        "identities": {rid: store.get_identity(rid) for rid in ids},
        "files": store.get_files(ids),
        "erased": {rid: store.erased_on(rid) for rid in ids},
        "personal": store.personal_records([*reversed(ids), "R-INCONNUE"]),
        "count": store.count_requests(),
        "persons": list(store.known_persons()),
        "transitions": store.transitions(),
        "physicians": store.physicians(),
        "ledger": store.ledger_entries(),
        "runs": store.runs(),
        "settings": store.settings(),
        "imported": store.imported_rows(["d1", "d2", "d9"]),
    }


def populate(store: Store) -> None:
    """A few requests in several states, GPs, ledger entries and a run."""
    r1 = req("R1", received=D0)
    r2 = req("R2", VOREPPE, received=D0, urgent=True, persons=2)
    r3 = req("R3", MOIRANS, received=D1)
    f2 = waiting_file(r2).propose("MG1", D2)
    with store.transaction():
        store.add_request(r1, identity(1), waiting_file(r1))
        store.add_request(r2, identity(2), f2)
        store.add_request(r3, identity(3), RequestFile.from_request(r3))
        store.put_physician(doc("MG1"))
        store.put_physician(doc("MG2", VOREPPE, capacity=3))
        store.append_ledger(
            [
                CapacityDeclared("MG1", MARCH, 2, D1),
                PlacementRecorded("MG1", MARCH, "R2", 2, D2),
            ]
        )
        store.add_run(RunRecord(0, D2, "2026-03", "voironnais", 1, 0, 1, 0))


# --------------------------------------------------------------------------------------------
# Protocol and transactions


def test_settings_read_back_and_replace(store: Store) -> None:
    with store.transaction():
        store.put_setting("policy", "voironnais")
        store.put_setting("created", "2026-03-01")
    with store.transaction():
        store.put_setting("policy", "/srv/cpts/politique.yaml")
    assert store.settings() == {"created": "2026-03-01", "policy": "/srv/cpts/politique.yaml"}
    with pytest.raises(Boom):
        aborted(store, lambda: store.put_setting("policy", "deule_marque"))
    assert store.settings()["policy"] == "/srv/cpts/politique.yaml"


def test_is_a_store(store: Store) -> None:
    assert isinstance(store, Store)


def test_an_empty_store(store: Store) -> None:
    assert store.requests() == []
    assert store.summaries() == []
    assert store.count_requests() == 0
    assert list(store.known_persons()) == []
    assert store.transitions() == []
    assert store.physicians() == []
    assert store.ledger_entries() == []
    assert store.runs() == []
    assert store.settings() == {}
    assert store.get_request("R1") is None
    assert store.get_identity("R1") is None
    assert store.get_file("R1") is None
    assert store.get_files(["R1"]) == {}
    assert store.erased_on("R1") is None
    assert store.transitions("R1") == []
    assert store.get_physician("MG1") is None


def _writes(store: Store) -> dict[str, Callable[[], object]]:
    r = req("R9")
    file = waiting_file(r)
    return {
        "add_request": lambda: store.add_request(r, identity(9), file),
        "save_file": lambda: store.save_file(file.propose("MG1", D2), 1),
        "save_files": lambda: store.save_files([(file.propose("MG1", D2), 1)]),
        "replace_request": lambda: store.replace_request(r, identity(9)),
        "put_physician": lambda: store.put_physician(doc("MG9")),
        "append_ledger": lambda: store.append_ledger([CapacityDeclared("MG9", MARCH, 1, D1)]),
        "add_run": lambda: store.add_run(RunRecord(0, D2, "2026-03", "x", 0, 0, 0, 0)),
        "put_setting": lambda: store.put_setting("policy", "voironnais"),
        "add_imported_rows": lambda: store.add_imported_rows([("d9", "R1")]),
    }


@pytest.mark.parametrize(
    "write",
    [
        "add_request",
        "save_file",
        "save_files",
        "replace_request",
        "put_physician",
        "append_ledger",
        "add_run",
        "put_setting",
        "add_imported_rows",
    ],
)
def test_writes_outside_a_transaction_raise(store: Store, write: str) -> None:
    populate(store)
    before = snapshot(store)
    version = store.version
    with pytest.raises(StoreError, match="hors transaction"):
        _writes(store)[write]()
    assert snapshot(store) == before
    assert store.version == version


class Boom(Exception):
    pass


def aborted(store: Store, writes: Callable[[], object]) -> None:
    """Run ``writes`` in a transaction that then raises :class:`Boom`."""
    with store.transaction():
        writes()
        raise Boom


def test_a_transaction_that_raises_leaves_nothing(store: Store) -> None:
    populate(store)
    before = snapshot(store)
    version = store.version
    r4 = req("R4")

    def writes() -> None:
        store.add_request(r4, identity(4), waiting_file(r4))
        file = store.get_file("R1")
        assert file is not None
        store.save_file(file.propose("MG2", D2), 1)
        store.replace_request(req("R3", VOIRON), PatientIdentity(), erased_on=D3)
        store.put_physician(doc("MG3"))
        store.put_physician(doc("MG1", capacity=4))
        store.append_ledger([PlacementRecorded("MG2", MARCH, "R1", 1, D2)])
        store.add_run(RunRecord(0, D3, "2026-03", "voironnais", 1, 0, 0, 0))
        assert store.count_requests() == 4  # a transaction reads its own writes

    with pytest.raises(Boom):
        aborted(store, writes)
    assert snapshot(store) == before
    assert store.version == version
    # The store is usable afterwards.
    add(store, r4)
    assert store.count_requests() == 4


def test_a_store_error_inside_a_transaction_rolls_it_back(store: Store) -> None:
    populate(store)
    before = snapshot(store)
    r1 = req("R1")

    def writes() -> None:
        with store.transaction():
            store.put_physician(doc("MG7"))
            store.add_request(r1, identity(1), waiting_file(r1))

    with pytest.raises(StoreError, match="existe déjà"):
        writes()
    assert snapshot(store) == before


def test_nested_transactions_join_the_outer_one(store: Store) -> None:
    version = store.version
    with store.transaction():
        with store.transaction():
            store.put_physician(doc("MG1"))
        assert store.version == version  # nothing is committed before the outer end
        with store.transaction():
            store.put_physician(doc("MG2"))
    assert store.version == version + 1
    assert [p.id for p in store.physicians()] == ["MG1", "MG2"]

    def inner_commits() -> None:
        with store.transaction():
            store.put_physician(doc("MG3"))

    with pytest.raises(Boom):
        aborted(store, inner_commits)
    assert [p.id for p in store.physicians()] == ["MG1", "MG2"]

    def inner_raises() -> None:
        with store.transaction():
            store.put_physician(doc("MG4"))
            raise Boom

    with pytest.raises(Boom):
        aborted(store, inner_raises)
    assert [p.id for p in store.physicians()] == ["MG1", "MG2"]
    assert store.version == version + 1


def test_version_changes_at_every_commit_only(store: Store) -> None:
    seen = [store.version]
    for n in range(3):
        with store.transaction():
            store.put_physician(doc(f"MG{n}"))
        seen.append(store.version)
    assert len(set(seen)) == len(seen)
    with store.transaction():
        pass  # an empty transaction is still a commit
    assert store.version != seen[-1]
    last = store.version
    store.physicians()
    store.requests()
    with pytest.raises(Boom), store.transaction():
        raise Boom
    assert store.version == last


DATA_WRITES = [
    "add_request",
    "save_file",
    "save_files",
    "replace_request",
    "put_physician",
    "append_ledger",
    "add_run",
    "add_imported_rows",
]


@pytest.mark.parametrize("write", DATA_WRITES)
def test_data_version_changes_at_every_commit_of_data(store: Store, write: str) -> None:
    populate(store)
    if write != "add_request":
        with store.transaction():
            store.add_request(req("R9"), identity(9), waiting_file(req("R9")))
    before = store.data_version()
    store.summaries()
    store.ledger_entries()
    assert store.data_version() == before  # reading changes nothing
    with store.transaction():
        _writes(store)[write]()
    assert store.data_version() != before


def test_data_version_ignores_audit_accounts_settings_and_failed_writes(store: Store) -> None:
    populate(store)
    before = store.data_version()
    with store.transaction():
        if hasattr(store, "add_audit"):  # the PostgreSQL store gets its audit trail later
            store.add_audit(AuditRecord(T0, "user:alice", "identite.afficher", "R1"))
            store.put_user(UserRecord("alice", "Alice Exemple", "admin", "$argon2id$fake"))
        store.put_setting("policy", "voironnais")
        store.add_sending(
            SendingRecord(
                "R1", "patient", "", "patient", "p***@example.invalid", T0, 1, 250, "ok", True
            )
        )
    with store.transaction():
        pass
    with pytest.raises(Boom):
        aborted(store, lambda: store.put_physician(doc("MG7")))
    assert store.data_version() == before
    with store.transaction():
        store.put_physician(doc("MG7"))
    assert store.data_version() != before


@pytest.fixture
def other(request: pytest.FixtureRequest, store: Store, tmp_path: Path) -> Iterator[Store]:
    """Another connection to ``store``'s register (the memory store: itself)."""
    backend = request.node.callspec.params["store"]
    if backend == "memory":
        yield store
        return
    made = make_store(request, backend, tmp_path)
    yield made
    made.close()


def test_physicians_version_moves_at_a_gp_write_of_another_connection_only(
    store: Store, other: Store
) -> None:
    populate(store)
    before = store.physicians_version()
    data = store.data_version()
    with other.transaction():
        r = req("R9")
        other.add_request(r, identity(9), waiting_file(r))
        other.save_file(waiting_file(r).propose("MG1", D2), 1)
        other.append_ledger([CapacityDeclared("MG2", MARCH, 1, D1)])
        other.add_run(RunRecord(0, D2, "2026-03", "x", 0, 0, 0, 0))
        other.add_imported_rows([("d9", "R9")])
        other.put_setting("policy", "voironnais")
    assert store.data_version() != data
    assert store.physicians_version() == before  # no GP written
    with pytest.raises(Boom):
        aborted(other, lambda: other.put_physician(doc("MG7")))
    assert store.physicians_version() == before
    with other.transaction():
        other.put_physician(doc("MG7"))
        other.put_physician(doc("MG1", capacity=5))
    moved = store.physicians_version()
    assert moved != before
    assert store.data_version() != data
    with other.transaction():
        other.append_ledger([CapacityDeclared("MG7", MARCH, 1, D1)])
    assert store.physicians_version() == moved


def test_a_transaction_that_does_not_wait_for_the_disk(store: Store) -> None:
    """``durable=False`` (the audit lines of a display): committed like any other, and a
    durable transaction cannot hide in one."""
    version = store.version
    with store.transaction(durable=False):
        store.put_physician(doc("MG1"))
        with store.transaction(durable=False):
            store.put_physician(doc("MG2"))
    assert store.version == version + 1
    assert [p.id for p in store.physicians()] == ["MG1", "MG2"]

    def nested_durable() -> None:
        with store.transaction():
            store.put_physician(doc("MG4"))

    with store.transaction(durable=False):
        store.put_physician(doc("MG3"))
        with pytest.raises(StoreError, match="transaction durable demandée"):
            nested_durable()
    assert [p.id for p in store.physicians()] == ["MG1", "MG2", "MG3"]
    with store.transaction():  # a non-durable part of a durable one is durable
        with store.transaction(durable=False):
            store.put_physician(doc("MG5"))
        store.put_physician(doc("MG6"))
    assert [p.id for p in store.physicians()][-2:] == ["MG5", "MG6"]

    def lazy_raises() -> None:
        with store.transaction(durable=False):
            store.put_physician(doc("MG7"))
            raise Boom

    with pytest.raises(Boom):
        lazy_raises()
    with store.transaction(), store.transaction():  # an ordinary one again
        store.put_physician(doc("MG8"))
    assert "MG7" not in [p.id for p in store.physicians()]
    assert [p.id for p in store.physicians()][-1] == "MG8"


def test_physicians_version_counts_the_open_transactions_own_gp_write(store: Store) -> None:
    """As the data version: read before the commit, it is the one the commit leaves."""
    populate(store)
    with store.transaction():
        store.append_ledger([CapacityDeclared("MG2", MARCH, 1, D1)])
        unchanged = store.physicians_version()
    assert store.physicians_version() == unchanged
    with store.transaction():
        store.put_physician(doc("MG8"))
        inside = store.physicians_version()
    assert inside != unchanged
    assert store.physicians_version() == inside


def test_a_closed_store_is_unusable(store: Store) -> None:
    populate(store)
    store.close()
    with pytest.raises(StoreError):
        store.get_request("R1")
    with pytest.raises(StoreError):
        store.requests()
    with pytest.raises(StoreError), store.transaction():
        pass


# --------------------------------------------------------------------------------------------
# Requests


def test_a_request_reads_back(store: Store) -> None:
    request = req(
        "R1",
        MOIRANS,
        received=D0,
        ald=True,
        urgent=True,
        persons=3,
        home_visits=HomeVisitNeed.OCCASIONAL,
        previous_mt=PreviousDoctor("Dr Ancien", VOIRON),
        referrer=Referrer(ReferrerKind.SOCIAL_WORKER, "Service social", "contact@example.invalid"),
        comments="formulaire en ligne",
        household_id="F1",
    )
    file = add(store, request, n=1)
    assert store.get_request("R1") == request
    assert store.get_identity("R1") == identity(1)
    assert store.get_file("R1") == file
    assert store.get_files(["R1", "R0"]) == {"R1": file}
    assert store.transitions("R1") == list(file.history)
    assert store.erased_on("R1") is None
    assert store.count_requests() == 1
    assert store.requests() == [request]
    assert store.summaries() == [
        RequestSummary("R1", RequestState.WAITING, D0, D1, MOIRANS, 3, True, (), 3)
    ]
    assert list(store.known_persons()) == [
        KnownPerson("R1", identity(1), request.patient.birth_date, True)
    ]


def test_a_lookup_by_a_value_holding_a_nul_finds_nothing(store: Store) -> None:
    """No stored id, login or subject can hold a NUL (PostgreSQL refuses one in any text):
    every store answers such a lookup "not found", as for any other unknown value, rather
    than PostgreSQL's "texte refusé"."""
    file = add(store, req("R1", VOIRON, received=D0), n=1)
    nul = "R1\x00"
    assert store.get_request(nul) is None
    assert store.get_identity(nul) is None
    assert store.get_file(nul) is None
    assert store.get_files(["R1", nul]) == {"R1": file}
    assert store.personal_records([nul]) == {}
    assert store.erased_on(nul) is None
    assert store.transitions(nul) == []
    assert store.sendings(nul) == []
    assert store.get_physician("MG\x00") is None
    assert store.physician_requests("MG\x00") == []
    assert store.get_user("claire\x00") is None
    assert store.audit_entries(subject=nul) == []


def test_declined_by_is_the_files(store: Store) -> None:
    request = req("R1", declined_by={"MG0"})  # refused elsewhere, before it arrived
    file = waiting_file(request)
    assert file.declined_by == {"MG0"}
    add(store, attrs.evolve(request, declined_by={"MG-ignored"}), file)
    got = store.get_request("R1")
    assert got is not None
    assert got.declined_by == {"MG0"}

    refused = file.propose("MG1", D2).propose("MG2", D2).refuse("MG1", D3)
    with store.transaction():
        store.save_file(refused, 3)
    for read in (store.get_request("R1"), *store.requests(), *store.requests([refused.state])):
        assert read is not None
        assert read.declined_by == {"MG0", "MG1"}
    assert store.summaries() == [
        RequestSummary(
            "R1", RequestState.PROPOSED, request.received, D3, VOIRON, 1, False, ("MG2",), 1
        )
    ]


def test_duplicate_ids_are_refused(store: Store) -> None:
    first = req("R1", received=D0)
    add(store, first, n=1)
    before = snapshot(store)
    second = req("R1", VOREPPE, received=D1)
    with pytest.raises(StoreError, match="R1"), store.transaction():
        store.add_request(second, identity(2), waiting_file(second))
    assert snapshot(store) == before
    assert store.get_request("R1") == first


def test_a_file_of_another_request_is_refused(store: Store) -> None:
    r1, r2 = req("R1"), req("R2")
    with pytest.raises(StoreError, match="R2"), store.transaction():
        store.add_request(r1, identity(1), waiting_file(r2))
    assert store.count_requests() == 0


def _foreign_history(store: Store) -> None:
    r1 = req("R1")
    file = waiting_file(r1)
    stray = Transition("R2", D2, Event.CONTACT_SUCCEEDED, file.state, file.state, Actor.PATIENT)
    bad = attrs.evolve(file, history=(*file.history, stray))
    with store.transaction():
        store.add_request(r1, identity(1), bad)


@pytest.mark.parametrize("backend", ["memory", "sqlite", POSTGRES])
def test_a_history_naming_another_request_is_refused(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    store = make_store(request, backend, tmp_path)
    try:
        with pytest.raises(StoreError, match="R2"):
            _foreign_history(store)
        assert store.count_requests() == 0
        assert store.transitions() == []
    finally:
        store.close()


def test_save_file_appends_to_the_history(store: Store) -> None:
    r1, r2 = req("R1"), req("R2")
    f1, f2 = add(store, r1, n=1), add(store, r2, n=2)
    f1b = f1.propose("MG1", D2).propose("MG2", D2)
    f2b = f2.record_contact_attempt(D2, False, 3)
    with store.transaction():
        store.save_file(f1b, 2)
        store.save_file(f2b, 1)
    assert store.get_file("R1") == f1b
    assert store.get_file("R2") == f2b
    assert store.get_file("R2").contact_attempts == 1  # type: ignore[union-attr]
    assert store.transitions("R1") == list(f1b.history)
    assert store.transitions() == [*f1.history, *f2.history, *f1b.history[-2:], f2b.history[-1]]
    f1c = f1b.accept("MG2", D3)
    with store.transaction():
        store.save_file(f1c, 1)
    got = store.get_file("R1")
    assert got == f1c
    assert got is not None
    assert got.exit_reason is ExitReason.MT_FOUND
    assert got.proposed_to == frozenset()
    # No new transition: allowed, nothing changes.
    with store.transaction():
        store.save_file(f1c, 0)
    assert store.get_file("R1") == f1c


def test_save_files_saves_each_in_order_all_or_none(store: Store) -> None:
    """A match run's commit: several files at once, as many :meth:`Store.save_file`."""
    files = [add(store, req(f"R{n}"), n=n) for n in range(1, 4)]
    changed = [(f.propose("MG1", D2).propose("MG2", D2), 2) for f in files]
    before = snapshot(store)
    refused = [
        [*changed, (RequestFile.receive("R0", D0), 0)],  # unknown request, last
        [(files[0].propose("MG3", D2), 2), *changed[1:]],  # the first claims too much
    ]
    for changes in refused:
        with pytest.raises(StoreError), store.transaction():
            store.save_files(changes)
        assert snapshot(store) == before
    with store.transaction():
        store.save_files([])
        store.save_files(changed)
        store.save_files([(changed[0][0].accept("MG2", D3), 1)])
    assert store.get_files(["R1", "R2", "R3"]) == {
        "R1": changed[0][0].accept("MG2", D3),
        "R2": changed[1][0],
        "R3": changed[2][0],
    }
    appended = [t for new, _ in changed for t in new.history[-2:]]
    assert store.transitions()[-7:] == [*appended, store.transitions("R1")[-1]]


def test_save_file_checks_that_the_stored_history_is_a_prefix(store: Store) -> None:
    r1 = req("R1")
    file = add(store, r1)
    longer = file.propose("MG1", D2)
    wrong_start = attrs.evolve(
        longer,
        history=(
            attrs.evolve(longer.history[0], comment="réécrit"),
            *longer.history[1:],
        ),
    )
    before = snapshot(store)
    cases = [
        (longer, 2),  # claims two new transitions: the stored history is longer than that
        (longer, 0),  # claims none: but the stored history is shorter
        (longer, -1),
        (longer, 9),
        (wrong_start, 1),  # an earlier transition differs
        (RequestFile.receive("R0", D0), 0),  # unknown request
    ]
    for new, appended in cases:
        with pytest.raises(StoreError), store.transaction():
            store.save_file(new, appended)
        assert snapshot(store) == before
    with store.transaction():
        store.save_file(longer, 1)
    assert store.get_file("R1") == longer


def test_replace_request(store: Store) -> None:
    r1 = req("R1", received=D0)
    file = add(store, r1, n=1)
    changed = attrs.evolve(r1, patient=Patient(dt.date(1980, 6, 1), VOREPPE), urgent=True)
    with store.transaction():
        store.replace_request(changed, identity(5))
    assert store.get_request("R1") == changed
    assert store.get_identity("R1") == identity(5)
    assert store.get_file("R1") == file
    assert store.erased_on("R1") is None
    assert store.summaries()[0].commune == VOREPPE
    assert store.summaries()[0].urgent
    with pytest.raises(StoreError, match="R2"), store.transaction():
        store.replace_request(req("R2"), identity(2))


def test_erasure(store: Store) -> None:
    r1, r2 = req("R1"), req("R2")
    secret = "rappeler après 18 h"
    f1 = waiting_file(r1, comment=secret).propose("MG1", D2, comment=secret).withdraw(D3)
    f2 = waiting_file(r2, comment=secret)
    with store.transaction():
        store.add_request(r1, identity(1), f1)
        store.add_request(r2, identity(2), f2)
    with store.transaction():
        store.replace_request(attrs.evolve(r1, comments=""), PatientIdentity(), erased_on=D3)
    assert store.erased_on("R1") == D3
    identity_after = store.get_identity("R1")
    assert identity_after is not None
    assert identity_after.is_empty
    history = store.transitions("R1")
    assert [t.comment for t in history] == [""] * len(f1.history)
    assert [attrs.evolve(t, comment="") for t in f1.history] == history
    file = store.get_file("R1")
    assert file is not None
    assert list(file.history) == history
    assert (file.state, file.declined_by, file.exit_reason) == (
        f1.state,
        f1.declined_by,
        f1.exit_reason,
    )
    assert all(t.comment == "" for t in store.transitions() if t.request_id == "R1")
    # The other request keeps its comments.
    assert store.transitions("R2") == list(f2.history)
    assert next(t.comment for t in store.transitions() if t.request_id == "R2") == secret
    # Hidden from duplicate detection, but still counted and listed.
    assert [p.request_id for p in store.known_persons()] == ["R2"]
    assert store.count_requests() == 2
    assert [r.id for r in store.requests()] == ["R1", "R2"]
    # Read together as one by one, unknown ids left out.
    records = store.personal_records(["R2", "R1", "R9", "R1"])
    assert list(records) == ["R1", "R2"]
    for rid, record in records.items():
        assert record == PersonalRecord(
            store.get_request(rid), store.get_identity(rid), store.erased_on(rid)
        )
    assert records["R1"].erased_on == D3
    assert records["R2"].identity == identity(2)
    assert store.personal_records([]) == {}
    # A later replacement without erased_on keeps the erasure.
    with store.transaction():
        store.replace_request(attrs.evolve(r1, comments=""), PatientIdentity())
    assert store.erased_on("R1") == D3
    assert [p.request_id for p in store.known_persons()] == ["R2"]


def test_known_persons(store: Store) -> None:
    r2 = req("R2", age=70)
    r1 = req("R1", age=30)
    r3 = req("R3", age=50)
    with store.transaction():
        store.add_request(r2, identity(2), waiting_file(r2).withdraw(D2))
        store.add_request(r1, identity(1), waiting_file(r1))
        store.add_request(r3, identity(3), waiting_file(r3).propose("MG1", D2).accept("MG1", D3))
    assert list(store.known_persons()) == [
        KnownPerson("R1", identity(1), r1.patient.birth_date, True),
        KnownPerson("R2", identity(2), r2.patient.birth_date, False),
        KnownPerson("R3", identity(3), r3.patient.birth_date, False),
    ]


def test_listing_by_state_in_id_order(store: Store) -> None:
    files = {}
    with store.transaction():
        for rid in ("R5", "R3", "R1", "R4", "R2"):
            request = req(rid)
            file = RequestFile.from_request(request)
            if rid in ("R1", "R3", "R5"):
                file = waiting_file(request)
            if rid == "R5":
                file = file.propose("MG1", D2)
            files[rid] = file
            store.add_request(request, identity(int(rid[1])), file)
    waiting, proposed, received = (
        RequestState.WAITING,
        RequestState.PROPOSED,
        RequestState.RECEIVED,
    )
    assert [r.id for r in store.requests()] == ["R1", "R2", "R3", "R4", "R5"]
    assert [r.id for r in store.requests([waiting])] == ["R1", "R3"]
    assert [r.id for r in store.requests([proposed, waiting])] == ["R1", "R3", "R5"]
    assert [r.id for r in store.requests(iter([received]))] == ["R2", "R4"]
    assert store.requests([]) == []
    assert [s.id for s in store.summaries([waiting, received])] == ["R1", "R2", "R3", "R4"]
    assert [s.state for s in store.summaries()] == [files[f"R{n}"].state for n in range(1, 6)]
    assert store.summaries([]) == []
    assert list(store.get_files(["R4", "R2", "R4", "R9"])) == ["R2", "R4"]
    assert store.get_files(f"R{n}" for n in range(1, 6)) == files


def test_physician_requests_are_those_with_an_event_naming_the_gp(store: Store) -> None:
    populate(store)  # R2 proposed to MG1 on D2
    assert store.physician_requests("MG1") == ["R2"]
    assert store.physician_requests("MG1", D2) == ["R2"]
    assert store.physician_requests("MG1", D3) == []
    assert store.physician_requests("MG2") == []
    with store.transaction():  # R1 proposed to MG2 and refused, then to MG1 on D3
        file = store.get_file("R1")
        assert file is not None
        changed = file.propose("MG2", D2).refuse("MG2", D2).propose("MG1", D3)
        store.save_file(changed, 3)
    assert store.physician_requests("MG1") == ["R1", "R2"]
    assert store.physician_requests("MG1", D3) == ["R1"]
    assert store.physician_requests("MG2", D2) == ["R1"]
    assert store.physician_requests("MG2", D3) == []
    assert store.physician_requests("MG9") == []


def test_summary_slice_filters_counts_and_cuts_in_id_order(store: Store) -> None:
    populate(store)
    everything = store.summaries()
    assert store.summary_slice() == (3, everything)
    waiting = [RequestState.WAITING]
    assert store.summary_slice(waiting) == (1, store.summaries(waiting))
    assert store.summary_slice(None, offset=1, limit=1) == (3, everything[1:2])
    assert store.summary_slice(None, offset=2, limit=5) == (3, everything[2:])
    assert store.summary_slice(None, offset=7, limit=5) == (3, [])
    on = [s for s in everything if s.commune == VOREPPE]
    assert 0 < len(on) < 3
    assert store.summary_slice(None, commune=VOREPPE) == (len(on), on)
    assert store.summary_slice(waiting, commune=VOREPPE) == (0, [])
    assert store.summary_slice([], commune=None) == (0, [])


def test_summary_slice_sorts_in_the_store(store: Store) -> None:
    populate(store)
    with store.transaction():
        late = req("R0", MOIRANS, received=D3)
        store.add_request(late, identity(0), RequestFile.from_request(late))
    lines = store.summaries()
    for order in ("received", "last_event", "commune"):
        expected = sorted(lines, key=lambda s: (getattr(s, order), s.id))
        assert store.summary_slice(order=order) == (4, expected)
    # longest wait on D2 first; R0, received after D2, waits 0 days like one received on D2
    expected = sorted(lines, key=lambda s: (min(s.received, D2), s.id))
    assert store.summary_slice(order="waiting", on=D2) == (4, expected)
    assert store.summary_slice(order="waiting", on=D2, offset=1, limit=2)[1] == expected[1:3]
    with pytest.raises(StoreError, match="ordre de liste"):
        store.summary_slice(order="state; DROP TABLE requests")
    with pytest.raises(StoreError, match="sans date"):
        store.summary_slice(order="waiting")


def test_transitions_in_recording_order(store: Store) -> None:
    r1, r2 = req("R1"), req("R2")
    f1, f2 = RequestFile.from_request(r1), RequestFile.from_request(r2)
    with store.transaction():
        store.add_request(r2, identity(2), f2)
        store.add_request(r1, identity(1), f1)
    recorded = [*f2.history, *f1.history]
    for step in range(3):
        for rid in ("R1", "R2") if step % 2 else ("R2", "R1"):
            old = store.get_file(rid)
            assert old is not None
            new = old.record_contact_attempt(D2, succeeded=True, max_attempts=3)
            with store.transaction():
                store.save_file(new, 1)
            recorded.append(new.history[-1])
    assert store.transitions() == recorded


def test_many_files_at_once(store: Store) -> None:
    requests = [req(f"R{n:04d}") for n in range(1234)]
    files = {r.id: waiting_file(r) for r in requests}
    with store.transaction():
        for n, request in enumerate(requests):
            store.add_request(request, identity(n), files[request.id])
    got = store.get_files(reversed(list(files)))
    assert got == files
    assert list(got) == sorted(files)
    assert len(store.requests([RequestState.WAITING])) == 1234


# --------------------------------------------------------------------------------------------
# Physicians, ledger, runs


def test_physicians(store: Store) -> None:
    martin = doc(
        "MG2",
        VOREPPE,
        capacity=None,
        modalities=frozenset(Modality),
        accepted=frozenset({VOIRON, VOREPPE}),
        location=Point(45.3, 5.63),
        rpps="10001234567",
        status_history=[
            StatusChange(D1, PhysicianStatus.SUSPENDED, until=D2, note="congé"),
            StatusChange(D3, PhysicianStatus.WITHDRAWN),
        ],
        contact=PracticeContact(
            phone="04 76 00 00 02",
            mssante="dr.mg2@medecin.mssante.fr",
            address="2 place Fictive, 38340 Voreppe",
            practice="Maison de santé fictive",
            notes="secrétariat le matin",
        ),
    )
    with store.transaction():
        store.put_physician(martin)
        store.put_physician(doc("MG1"))
    assert store.get_physician("MG2") == martin
    assert store.get_physician("MG1").contact == PracticeContact()  # type: ignore[union-attr]
    assert [p.id for p in store.physicians()] == ["MG1", "MG2"]
    replaced = attrs.evolve(martin, accepting_new_patients=False, status_history=())
    with store.transaction():
        store.put_physician(replaced)
    assert store.get_physician("MG2") == replaced
    assert store.physicians() == [doc("MG1"), replaced]


def test_ledger_in_recording_order(store: Store) -> None:
    first: list[LedgerEntry] = [
        CapacityDeclared("MG2", MARCH, 3, D1, note="charte signée"),
        CapacityDeclared("MG1", MARCH.next(), 0, D1),
        PlacementRecorded("MG2", MARCH, "R1", 2, D2),
    ]
    second: list[LedgerEntry] = [
        PlacementReleased("MG2", "R1", D3, reason="refus du médecin"),
        PlacementRecorded("MG1", MARCH, "R1", 1, D3),
    ]
    with store.transaction():
        store.append_ledger(first)
        store.append_ledger([])
    with store.transaction():
        store.append_ledger(second)
    assert store.ledger_entries() == first + second


def test_ledger_entries_after_a_position(store: Store) -> None:
    first: list[LedgerEntry] = [
        CapacityDeclared("MG2", MARCH, 3, D1, note="charte signée"),
        PlacementRecorded("MG2", MARCH, "R1", 2, D2),
    ]
    second: list[LedgerEntry] = [
        PlacementReleased("MG2", "R1", D3, reason="refus du médecin"),
        PlacementRecorded("MG1", MARCH, "R1", 1, D3),
        CapacityDeclared("MG1", MARCH.next(), 0, D3),
    ]
    assert store.ledger_entries_after(0) == []
    with store.transaction():
        store.append_ledger(first)
    assert store.ledger_entries_after(0) == first
    assert store.ledger_entries_after(1) == first[1:]
    with store.transaction():
        store.append_ledger(second)
        assert store.ledger_entries_after(2) == second  # inside the writing transaction too
    everything = first + second
    for position in range(len(everything) + 3):
        assert store.ledger_entries_after(position) == everything[position:]
    for wrong in (-1, True, 1.0, "1", None):
        with pytest.raises(StoreError, match="position"):
            store.ledger_entries_after(wrong)  # type: ignore[arg-type]


def test_sendings_are_kept_in_order_and_rolled_back(store: Store) -> None:
    at = dt.datetime(2026, 3, 5, 9, 30, tzinfo=dt.UTC)
    records = [
        SendingRecord("R1", "dossier_medecin", "MG1", "medecin", "d***@exemple.mssante.fr", at,
                      1, 451, "451 4.3.0 réessayez", False),
        SendingRecord("R2", "orientation", "", "patient", "p***@example.org", at, 1, 250,
                      "250 OK", True),
        SendingRecord("R1", "dossier_medecin", "MG1", "medecin", "d***@exemple.mssante.fr",
                      at + dt.timedelta(seconds=2), 2, 250, "250 OK", True),
    ]  # fmt: skip
    with store.transaction():
        store.add_sending(records[0])
        store.add_sending(records[1])
    with pytest.raises(Boom):
        aborted(store, lambda: store.add_sending(records[2]))
    assert store.sendings() == records[:2]
    with store.transaction():
        store.add_sending(records[2])
    assert store.sendings() == records
    assert store.sendings("R1") == [records[0], records[2]]
    assert store.sendings("R3") == []
    with pytest.raises(StoreError):
        store.add_sending(records[0])  # outside a transaction


def test_erasure_blanks_the_addresses_of_the_sendings(store: Store) -> None:
    at = dt.datetime(2026, 3, 5, 9, 30, tzinfo=dt.UTC)
    r1, r2 = req("R1"), req("R2")
    with store.transaction():
        store.add_request(r1, identity(1), waiting_file(r1))
        store.add_request(r2, identity(2), waiting_file(r2))
        for rid in ("R1", "R2"):
            store.add_sending(
                SendingRecord(rid, "orientation", "", "patient", "p***@example.org", at, 1, 550,
                              "550 5.1.1 <p***@example.org>: boîte inconnue", False)
            )  # fmt: skip
            store.add_sending(
                SendingRecord(rid, "orientation", "", "patient", "p***@example.org", at, 2, 250,
                              "250 OK", True)
            )  # fmt: skip
    before = store.sendings("R2")
    with store.transaction():
        store.replace_request(attrs.evolve(r1, comments=""), PatientIdentity(), erased_on=D3)
    erased = store.sendings("R1")
    assert [(r.recipient, r.answer) for r in erased] == [
        ("", "550 5.1.1 <***>: boîte inconnue"),
        ("", "250 OK"),
    ]
    # what was sent, when and how many times is kept: a letter is still never sent twice
    assert [(r.key[1:], r.at, r.attempt, r.code, r.sent) for r in erased] == [
        (r.key[1:], r.at, r.attempt, r.code, r.sent) for r in before
    ]
    assert store.sendings("R2") == before  # the other request keeps its records
    assert [r.request_id for r in store.sendings()] == ["R1", "R1", "R2", "R2"]
    with store.transaction():  # the records are append-only again
        store.add_sending(attrs.evolve(before[0], request_id="R3"))
    assert len(store.sendings()) == 5


def test_runs_are_numbered_in_commit_order(store: Store) -> None:
    runs = [
        RunRecord(7, D2 + dt.timedelta(days=n), "2026-03", "voironnais", n, 1, 2, 3)
        for n in (0, 1, 2)
    ]
    with store.transaction():
        first = store.add_run(runs[0])
        second = store.add_run(runs[1])
    with pytest.raises(Boom):
        aborted(store, lambda: store.add_run(runs[2]))
    with store.transaction():
        third = store.add_run(runs[2])
    assert [first.number, second.number, third.number] == [1, 2, 3]
    assert third == attrs.evolve(runs[2], number=3)
    assert store.runs() == [first, second, third]


def test_the_run_of_a_transition_and_a_runs_tag_are_kept(store: Store) -> None:
    """``Transition.run`` (the match run that recorded the event) and ``RunRecord.tagged``
    round-trip, through one file's save and several files' at once."""
    populate(store)
    files = store.get_files(["R1", "R2"])
    proposed = files["R1"].propose("MG2", D3, Actor.SYSTEM)
    one = attrs.evolve(proposed, history=(*files["R1"].history, attrs.evolve(
        proposed.history[-1], run=4)))  # fmt: skip
    with store.transaction():
        store.save_file(one, 1)
    assert store.transitions("R1")[-1].run == 4
    assert store.get_files(["R1"]) == {"R1": one}
    two = [
        (attrs.evolve(f, history=(*f.history[:-1], attrs.evolve(f.history[-1], run=n))), 1)
        for f, n in ((one.orient(D3, Actor.SYSTEM), 5), (files["R2"].orient(D3), None))
    ]
    with store.transaction():
        store.save_files(two)
    assert [t.run for t in store.transitions("R1")[-2:]] == [4, 5]
    assert store.transitions("R2")[-1].run is None
    assert store.get_files(["R1", "R2"]) == {f.id: f for f, _ in two}
    assert {t.run for t in store.transitions()} == {None, 4, 5}
    with store.transaction():
        old = store.add_run(RunRecord(0, D2, "2026-03", "x", 0, 0, 0, 0, tagged=False))
        new = store.add_run(RunRecord(0, D2, "2026-03", "x", 0, 0, 0, 0))
    assert (old.tagged, new.tagged) == (False, True)
    assert store.runs()[-2:] == [old, new]


# --------------------------------------------------------------------------------------------
# Round trips of arbitrary values through the SQLite file (Hypothesis)

_texts = st.text(max_size=12)
_ids = st.text(min_size=1, max_size=10).filter(lambda s: bool(s.strip()))
_insee = st.text(alphabet=string.digits + "AB", min_size=5, max_size=5)
_dates = st.dates(min_value=dt.date(1, 1, 1), max_value=dt.date(9999, 12, 31))
_points = st.builds(
    Point,
    st.floats(-90, 90, allow_nan=False),
    st.floats(-180, 180, allow_nan=False),
)
_months = st.builds(Month, st.integers(1900, 12_000), st.integers(1, 12))
_small = st.integers(0, 10**6)
_capacities = st.integers(0, MAX_MONTHLY_CAPACITY)


@st.composite
def requests(draw: st.DrawFn) -> Request:
    adults = draw(st.integers(0, MAX_ADULTS))
    children = draw(st.integers(0 if adults else 1, MAX_CHILDREN))
    return Request(
        id=draw(_ids),
        received=draw(_dates),
        patient=Patient(draw(_dates), draw(_insee), draw(st.none() | _points)),
        ald=draw(st.booleans()),
        css=draw(st.booleans()),
        ame=draw(st.booleans()),
        disability_or_chronic=draw(st.booleans()),
        home_visits=draw(st.sampled_from(HomeVisitNeed)),
        urgent=draw(st.booleans()),
        reason=draw(st.sampled_from(SearchReason)),
        previous_mt=draw(st.none() | st.builds(PreviousDoctor, _texts, st.none() | _insee)),
        household=Household(adults, children),
        referrer=draw(st.builds(Referrer, st.sampled_from(ReferrerKind), _texts, _texts)),
        consent=draw(st.builds(Consent, st.booleans(), st.none() | _dates)),
        comments=draw(_texts),
        declined_by=draw(st.frozensets(_ids, max_size=3)),
        household_id=draw(st.none() | _texts),
        answers=draw(st.dictionaries(_question_ids, _answer_values, max_size=4)),
    )


_question_ids = st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True)
_answer_values = (
    st.booleans()
    | st.integers(-(10**9), 10**9)
    | st.floats(allow_nan=False, allow_infinity=False)
    | _texts
    | _dates
    | st.frozensets(_texts, max_size=3)
)
_identities = st.builds(PatientIdentity, _texts, _texts, _texts, _texts, _texts, _texts, _texts)


@st.composite
def transitions(draw: st.DrawFn, request_id: str) -> Transition:
    return Transition(
        request_id,
        draw(_dates),
        draw(st.sampled_from(Event)),
        draw(st.none() | st.sampled_from(RequestState)),
        draw(st.sampled_from(RequestState)),
        draw(st.sampled_from(Actor)),
        draw(st.none() | _texts),
        draw(_texts),
        draw(st.none() | st.sampled_from(ExitReason)),
        draw(st.lists(st.integers(1, 40), max_size=3)),
        draw(st.none() | _texts),
        draw(st.none() | st.integers(1, 2**63 - 1)),  # the run that recorded it
    )


@st.composite
def arbitrary_files(draw: st.DrawFn, request_id: str, persons: int = 1) -> RequestFile:
    """Files with arbitrary transitions (the store does not check the lifecycle)."""
    history = tuple(draw(st.lists(transitions(request_id), min_size=1, max_size=5)))
    state = history[-1].to_state
    return RequestFile(
        request_id,
        state,
        history,
        draw(_small),
        draw(st.frozensets(_ids, max_size=3)),
        draw(st.frozensets(_ids, max_size=3)),
        draw(st.sampled_from(ExitReason)) if state.is_final else None,
        persons=persons,
    )


@st.composite
def lived_files(draw: st.DrawFn, request: Request) -> RequestFile:
    """Files that went through the lifecycle, with arbitrary GP ids and comments."""
    file = RequestFile.from_request(request, comment=draw(_texts))
    on = request.received
    for _ in range(draw(st.integers(0, 8))):
        if file.is_exited:
            break
        step = draw(st.integers(0, 30))
        on += dt.timedelta(days=min(step, (dt.date.max - on).days))
        comment = draw(_texts)
        event = draw(st.sampled_from(file.allowed_events))
        gp = draw(_ids)
        searching = file.people.unresolved
        some = draw(st.none() | st.sets(st.sampled_from(searching), min_size=1))
        if event is Event.PROPOSE and gp not in file.declined_by | file.proposed_to:
            file = file.propose(gp, on, comment=comment, persons=some)
        elif event is Event.CANCEL_PROPOSAL and file.proposed_to:
            gp = draw(st.sampled_from(sorted(file.proposed_to)))
            file = file.cancel_proposal(gp, on, comment if comment.strip() else "annulée")
        elif event in (Event.ACCEPT, Event.REFUSE) and file.proposed_to:
            gp = draw(st.sampled_from(sorted(file.proposed_to)))
            if event is Event.ACCEPT:
                file = file.accept(gp, on, comment=comment)
            else:
                file = file.refuse(gp, on, comment)
        elif event is Event.RESOURCE_INVOLVED:
            file = file.resource_involved(draw(_ids), on, comment=comment)
        elif event is Event.RESOURCE_ANSWER:
            file = file.resource_answer(draw(_ids), on, comment if comment.strip() else "réponse")
        elif event in (Event.CONTACT_FAILED, Event.CONTACT_SUCCEEDED):
            file = file.record_contact_attempt(on, event is Event.CONTACT_SUCCEEDED, 3)
        elif event is Event.CLOSE:
            file = file.close(on, comment if comment.strip() else "clôture", persons=some)
        elif event is Event.QUALIFY:
            file = file.qualify(on, comment if comment.strip() else "motif")
        elif event in (Event.WITHDRAW, Event.OTHER_SOLUTION, Event.OUT_OF_SCOPE):
            file = getattr(file, event.value)(on, comment=comment, persons=some)
        elif event not in (Event.PROPOSE, Event.ACCEPT, Event.REFUSE, Event.CANCEL_PROPOSAL):
            file = getattr(file, event.value)(on, comment=comment)
    return file


_status_changes = st.one_of(
    st.builds(StatusChange, _dates, st.sampled_from(PhysicianStatus), st.none(), _texts),
    _dates.flatmap(
        lambda on: st.builds(
            StatusChange,
            st.just(on),
            st.just(PhysicianStatus.SUSPENDED),
            st.dates(min_value=on),
            _texts,
        )
    ),
)
_contact_texts = st.text(max_size=40).map(str.strip)
contacts = st.builds(
    PracticeContact,
    phone=st.sampled_from(("", "0476000001", "04 76 00 00 01", "+33 4.76.00.00.01", "(0)123")),
    mssante=st.sampled_from(("", "dr.x@medecin.mssante.fr", "a@b.fr")),
    address=_contact_texts,
    practice=_contact_texts,
    notes=st.text(max_size=200).map(str.strip),
)
physicians = st.builds(
    Physician,
    id=_ids,
    name=_texts,
    commune=_insee,
    location=st.none() | _points,
    accepting_new_patients=st.booleans(),
    monthly_capacity=st.none() | _small,
    modalities=st.frozensets(st.sampled_from(Modality)),
    accepted_communes=st.frozensets(_insee, max_size=4),
    rpps=st.none() | _texts,
    status_history=st.lists(_status_changes, max_size=4, unique_by=lambda c: c.on),
    contact=contacts,
)
ledger_entries: st.SearchStrategy[LedgerEntry] = st.one_of(
    st.builds(
        CapacityDeclared, _ids, _months, st.integers(0, MAX_MONTHLY_CAPACITY), _dates, _texts
    ),
    st.builds(PlacementRecorded, _ids, _months, _ids, st.integers(1, 10**6), _dates),
    st.builds(PlacementReleased, _ids, _ids, _dates, _texts),
)
runs = st.builds(
    RunRecord,
    st.integers(0, 99),
    _dates,
    _texts,
    _texts,
    _small,
    _small,
    _small,
    _small,
)

_unique = itertools.count()


@pytest.fixture(scope="module", params=["sqlite", POSTGRES])
def roundtrip_store(request: pytest.FixtureRequest) -> Iterator[Store]:
    """One file (or PostgreSQL database) for a whole Hypothesis test: each example uses
    fresh ids."""
    if request.param == POSTGRES:
        from mt_access.store.postgres import PostgresStore

        server = request.getfixturevalue("pg_server")
        name = server.new_database()
        database = PostgresStore(server.url(name))
        yield database
        database.close()
        server.drop_database(name)
        return
    with tempfile.TemporaryDirectory() as scratch:
        made = SQLiteStore(Path(scratch) / "hypothesis.sqlite")
        yield made
        made.close()


def _storable(store: Store, *values: object) -> None:
    """PostgreSQL's text holds no NUL character (a value with one is refused, see
    ``test_store_postgres.py``): such examples are for the other stores only."""
    if type(store).__name__ == "PostgresStore":
        assume(not _has_nul(values))


def _has_nul(value: object) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if attrs.has(type(value)):
        return any(_has_nul(getattr(value, f.name)) for f in attrs.fields(type(value)))
    if isinstance(value, tuple | list | set | frozenset):
        return any(_has_nul(v) for v in value)
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    return False


def _fresh(request: Request) -> Request:
    return attrs.evolve(request, id=f"{next(_unique)}|{request.id}")


_roundtrip = settings(suppress_health_check=[HealthCheck.too_slow])


@_roundtrip
@given(data=st.data(), request=requests(), person=_identities)
def test_requests_round_trip(
    roundtrip_store: Store, data: st.DataObject, request: Request, person: PatientIdentity
) -> None:
    store = roundtrip_store
    request = _fresh(request)
    file = data.draw(lived_files(request))
    _storable(store, request, person, file)
    with store.transaction():
        store.add_request(request, person, file)
    expected = attrs.evolve(request, declined_by=file.declined_by)
    assert store.get_request(request.id) == expected
    assert store.get_identity(request.id) == person
    assert store.get_file(request.id) == file
    assert store.transitions(request.id) == list(file.history)
    assert store.transitions()[-len(file.history) :] == list(file.history)
    listed = [r for r in store.requests([file.state]) if r.id == request.id]
    assert listed == [expected]
    (summary,) = [s for s in store.summaries([file.state]) if s.id == request.id]
    assert summary == RequestSummary(
        request.id,
        file.state,
        request.received,
        file.last_date,
        request.commune,
        request.persons,
        request.urgent,
        tuple(sorted(file.proposed_to)),
        0 if file.is_exited else len(file.people.unresolved),
    )
    persons = [p for p in store.known_persons() if p.request_id == request.id]
    assert persons == [
        KnownPerson(request.id, person, request.patient.birth_date, not file.is_exited)
    ]


@_roundtrip
@given(data=st.data(), request=requests(), new=requests(), person=_identities)
def test_arbitrary_files_and_replacements_round_trip(
    roundtrip_store: Store,
    data: st.DataObject,
    request: Request,
    new: Request,
    person: PatientIdentity,
) -> None:
    store = roundtrip_store
    request = _fresh(request)
    file = data.draw(arbitrary_files(request.id, request.persons))
    _storable(store, request, new, person, file)
    with store.transaction():
        store.add_request(request, person, file)
    assert store.get_file(request.id) == file
    more = data.draw(st.lists(transitions(request.id), max_size=3))
    _storable(store, more)
    if more:
        longer = attrs.evolve(
            file,
            state=more[-1].to_state,
            history=(*file.history, *more),
            exit_reason=ExitReason.WITHDRAWN if more[-1].to_state.is_final else None,
        )
    else:
        longer = file
    with store.transaction():
        store.save_file(longer, len(more))
    assert store.get_file(request.id) == longer
    replacement = attrs.evolve(new, id=request.id)
    other = data.draw(_identities)
    _storable(store, other)
    erased = data.draw(st.none() | _dates)
    with store.transaction():
        store.replace_request(replacement, other, erased_on=erased)
    assert store.get_request(request.id) == attrs.evolve(
        replacement, declined_by=longer.declined_by
    )
    assert store.get_identity(request.id) == other
    assert store.erased_on(request.id) == erased
    if erased is not None:
        assert store.transitions(request.id) == [
            attrs.evolve(t, comment="") for t in longer.history
        ]


@_roundtrip
@given(physician=physicians)
def test_physicians_round_trip(roundtrip_store: Store, physician: Physician) -> None:
    store = roundtrip_store
    _storable(store, physician)
    physician = attrs.evolve(physician, id=f"{next(_unique)}|{physician.id}")
    with store.transaction():
        store.put_physician(physician)
    assert store.get_physician(physician.id) == physician
    assert physician in store.physicians()


@_roundtrip
@given(entries=st.lists(ledger_entries, max_size=6), run=runs)
def test_ledger_entries_and_runs_round_trip(
    roundtrip_store: Store, entries: list[LedgerEntry], run: RunRecord
) -> None:
    store = roundtrip_store
    _storable(store, entries, run)
    before = len(store.ledger_entries())
    with store.transaction():
        store.append_ledger(entries)
        numbered = store.add_run(run)
    assert store.ledger_entries()[before:] == entries
    assert numbered == attrs.evolve(run, number=len(store.runs()))
    assert store.runs()[-1] == numbered


# --------------------------------------------------------------------------------------------
# Imported form rows


def test_imported_rows_are_recorded_with_their_requests(store: Store) -> None:
    assert store.imported_rows(["d1", "d2"]) == {}
    assert store.imported_rows([]) == {}
    r1, r2 = req("R1"), req("R2")
    with store.transaction():
        store.add_request(r1, identity(1), waiting_file(r1))
        store.add_request(r2, identity(2), waiting_file(r2))
        store.add_imported_rows([("d1", "R1"), ("d2", "R2")])
        assert store.imported_rows(["d1"]) == {"d1": "R1"}  # seen inside the transaction
    assert store.imported_rows(["d2", "d1", "d3", "d1"]) == {"d1": "R1", "d2": "R2"}


def test_a_row_is_never_recorded_twice(store: Store) -> None:
    r1, r2 = req("R1"), req("R2")
    with store.transaction():
        store.add_request(r1, identity(1), waiting_file(r1))
        store.add_imported_rows([("d1", "R1")])
    before = snapshot(store)

    def import_again(rows: list[tuple[str, str]]) -> None:
        with store.transaction():
            store.add_request(r2, identity(2), waiting_file(r2))
            store.add_imported_rows(rows)

    with pytest.raises(StoreError, match="déjà importée"):
        import_again([("d1", "R2")])  # another import of the same row
    assert snapshot(store) == before  # the whole transaction is rolled back
    with pytest.raises(StoreError, match="déjà importée"):
        import_again([("d2", "R2"), ("d2", "R2")])
    assert snapshot(store) == before


def test_an_imported_row_names_a_stored_request(store: Store) -> None:
    with pytest.raises(StoreError), store.transaction():
        store.add_imported_rows([("d1", "R404")])
    assert store.imported_rows(["d1"]) == {}


def test_imported_rows_of_a_failed_transaction_are_forgotten(store: Store) -> None:
    r1 = req("R1")

    def interrupted() -> None:
        with store.transaction():
            store.add_request(r1, identity(1), waiting_file(r1))
            store.add_imported_rows([("d1", "R1")])
            raise RuntimeError("interrompu")

    with pytest.raises(RuntimeError):
        interrupted()
    assert store.imported_rows(["d1"]) == {}
    assert store.count_requests() == 0


# --------------------------------------------------------------------------------------------
# Web accounts and the audit trail (schema version 9)

T0 = dt.datetime(2026, 3, 2, 9, 30, 15, 123456, tzinfo=dt.UTC)


def test_users_are_kept_replaced_and_rolled_back(store: Store) -> None:
    alice = UserRecord("alice", "Alice Exemple", "admin", "$argon2id$fake", created=T0)
    bob = UserRecord("bob", "Bob Exemple", "lecture", "$argon2id$fake2", created=T0)
    with pytest.raises(StoreError):
        store.put_user(alice)  # outside a transaction
    with store.transaction():
        store.put_user(bob)
        store.put_user(alice)
    assert [u.login for u in store.users()] == ["alice", "bob"]
    got = store.get_user("alice")
    assert got is not None
    assert got.created == T0.replace(microsecond=0)
    assert got.active
    assert got.session_epoch == 0
    assert got.locked_until is None
    locked = attrs.evolve(
        got, active=False, session_epoch=3, failed_logins=5, locked_until=T0, role="lecture"
    )
    with store.transaction():
        store.put_user(locked)
    assert store.get_user("alice") == attrs.evolve(locked, locked_until=T0.replace(microsecond=0))

    def interrupted() -> None:
        with store.transaction():
            store.put_user(attrs.evolve(locked, display_name="Autre"))
            raise RuntimeError("interrompu")

    with pytest.raises(RuntimeError):
        interrupted()
    assert store.get_user("alice") == attrs.evolve(locked, locked_until=T0.replace(microsecond=0))
    assert store.get_user("nobody") is None


def test_the_audit_trail_is_numbered_newest_first_and_filtered(store: Store) -> None:
    records = [
        AuditRecord(T0, "user:alice", "connexion"),
        AuditRecord(T0, "user:alice", "identite.afficher", "R1"),
        AuditRecord(T0 + dt.timedelta(seconds=1), "gp:MG1", "reponse", "R2", "accepte"),
        AuditRecord(T0, "user:bob", "demande.accuser", "R1"),
    ]
    with pytest.raises(StoreError):
        store.add_audit(records[0])
    with store.transaction():
        numbered = [store.add_audit(r) for r in records]
    assert [r.seq for r in numbered] == [1, 2, 3, 4]
    assert numbered[0].at == T0.replace(microsecond=0)
    entries = store.audit_entries()
    assert [r.seq for r in entries] == [4, 3, 2, 1]
    assert entries[1] == numbered[2]
    assert [r.seq for r in store.audit_entries(subject="R1")] == [4, 2]
    assert [r.seq for r in store.audit_entries(before=3)] == [2, 1]
    assert [r.seq for r in store.audit_entries(limit=2)] == [4, 3]
    assert [r.seq for r in store.audit_entries(subject="R1", before=4, limit=5)] == [2]

    def interrupted() -> None:
        with store.transaction():
            store.add_audit(records[0])
            raise RuntimeError("interrompu")

    with pytest.raises(RuntimeError):
        interrupted()
    assert len(store.audit_entries()) == 4
