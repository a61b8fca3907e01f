"""A register keeps its GPs and ledger between operations and re-reads them when the data
version says another client committed. The version it keeps after its own operation must be
read before its commit: read after it, a commit by another client in between would pass for
one already seen, and the register would go on with a ledger missing that client's entries.
The GPs are read again only when the physicians version says they changed. Generated data
only."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

import pytest

from factories import VOIRON, doc, req
from mt_access.lifecycle import RequestFile
from mt_access.loading import load_policy
from mt_access.model import PatientIdentity, Physician
from mt_access.register import Register
from mt_access.store import MemoryStore, SQLiteStore, Store
from mt_access.store.postgres import PostgresStore

ON = dt.date(2026, 3, 2)


def _stores(kind: str, request: pytest.FixtureRequest) -> tuple[Store, Callable[[], Store]]:
    """The first client's store and a way to open another client's store on the same data."""
    if kind == "memory":
        store = MemoryStore()
        return store, lambda: store
    if kind == "postgresql":
        url: str = request.getfixturevalue("pg_url")
        first: Store = PostgresStore(url)
        opened = lambda: PostgresStore(url)  # noqa: E731
    else:
        path = request.getfixturevalue("tmp_path") / "registre.sqlite"
        first = SQLiteStore(path)
        opened = lambda: SQLiteStore(path, create=False)  # noqa: E731
    request.addfinalizer(first.close)

    def other() -> Store:
        made = opened()
        request.addfinalizer(made.close)
        return made

    return first, other


@pytest.mark.parametrize("kind", ["memory", "sqlite", "postgresql"])
def test_a_commit_by_another_client_right_after_this_one_is_seen(
    kind: str, request: pytest.FixtureRequest
) -> None:
    policy = load_policy("voironnais")
    store, other_store = _stores(kind, request)
    first = Register(store, policy)
    first.add_physician(doc("MG-UN", VOIRON, capacity=2))
    assert {p.id for p in first.physicians()} == {"MG-UN"}

    plain: Callable[[], AbstractContextManager[None]] = store.transaction
    pending = [True]

    @contextmanager
    def then_another_client_commits() -> Iterator[None]:
        with plain():
            yield
        if not pending:
            return
        pending.pop()
        # right after this client's commit, before it reads anything else
        Register(other_store(), policy).add_physician(doc("MG-DEUX", VOIRON, capacity=3))

    store.transaction = then_another_client_commits  # type: ignore[method-assign]
    first.add_physician(doc("MG-TROIS", VOIRON, capacity=1))
    store.transaction = plain  # type: ignore[method-assign]

    assert {p.id for p in first.physicians()} == {"MG-UN", "MG-DEUX", "MG-TROIS"}
    assert first.ledger == Register(other_store(), policy).ledger


@pytest.mark.parametrize("kind", ["memory", "sqlite", "postgresql"])
def test_an_answer_after_another_clients_commit_reads_the_gps_only_when_they_changed(
    kind: str, request: pytest.FixtureRequest
) -> None:
    policy = load_policy("voironnais")
    store, other_store = _stores(kind, request)
    first = Register(store, policy)
    first.add_physician(doc("MG-UN", VOIRON, capacity=2))
    with store.transaction():
        for rid in ("R1", "R2", "R3"):
            asked = req(rid, VOIRON)
            file = RequestFile.from_request(asked).acknowledge(ON).confirm(ON).to_waiting(ON)
            store.add_request(asked, PatientIdentity(), file.propose("MG-UN", ON))
    assert first.request("R3").id == "R3"  # the register is in sync
    other = Register(other_store(), policy)
    other.answer("R1", "MG-UN", ON, accepted=False)  # another client's commit, no GP in it

    read: list[int] = []
    plain = store.physicians

    def counted() -> list[Physician]:
        read.append(1)
        return plain()

    store.physicians = counted  # type: ignore[method-assign]
    first.answer("R2", "MG-UN", ON, accepted=False)
    assert read == []  # the ledger and the requests re-read, not the GPs
    assert first.ledger == Register(other_store(), policy).ledger
    read.clear()  # a fresh register on the memory store reads its GPs through this store

    other.add_physician(doc("MG-DEUX", VOIRON, capacity=1))  # now a GP changes
    read.clear()  # (the other register's own read, on the memory store)
    first.answer("R3", "MG-UN", ON, accepted=False)
    assert read == []  # an answer needs the ledger only: the GPs are read when needed
    assert {p.id for p in first.physicians()} == {"MG-UN", "MG-DEUX"}
    assert read == [1]
    assert {p.id for p in first.physicians()} == {"MG-UN", "MG-DEUX"}
    assert read == [1]
