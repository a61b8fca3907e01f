"""The web pages' caches kept by the register's data version (``context.by_data``): a write by
another process (another connection to the same SQLite file) is seen at the next page, an
audit line alone does not empty them, and two registers served by one process never share
them. Generated data only."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("flask")
pytest.importorskip("flask_wtf")
pytest.importorskip("argon2")

from flask.testing import FlaskClient

from factories import VOIRON, doc
from mt_access.calendar import Month
from mt_access.ledger import CapacityDeclared
from mt_access.lifecycle import RequestState
from mt_access.loading import load_policy
from mt_access.register import Register
from mt_access.register_base import SharedState
from mt_access.store.sqlite import SQLiteStore
from mt_access.web import context
from web_support import (
    TODAY,
    Clock,
    app,
    client,
    clock,
    login,
    make_app,
    open_store,
    register_file,
    register_template,
    text,
)

__all__ = ["app", "client", "clock", "register_file", "register_template"]

_RANK = re.compile(r"<dd>(\d+) sur (\d+)</dd>")
_TOTAL = re.compile(r"(\d+) demande\(s\)\.")
_GPS = re.compile(r"\bMG\d+\b")


def _waiting(path: Path) -> list[str]:
    with open_store(path) as store:
        return [s.id for s in store.summaries([RequestState.WAITING])]


def _close_elsewhere(path: Path, rid: str) -> None:
    """Another process closes ``rid`` (its own connection to the file)."""
    with open_store(path) as store:
        Register(store, load_policy("voironnais")).close(rid, TODAY, "clôture de test")


def _rank(client: FlaskClient, rid: str) -> tuple[int, int]:
    found = _RANK.search(text(client.get(f"/demandes/{rid}/position")))
    assert found is not None
    return int(found.group(1)), int(found.group(2))


def _cache(flask_app: Any) -> dict[str, tuple[Any, ...]]:
    found: dict[str, tuple[Any, ...]] = flask_app.extensions[context.EXTENSION].data_cache
    return found


def test_the_position_sees_another_process_s_write(
    app: Any, client: FlaskClient, register_file: Path
) -> None:
    waiting = _waiting(register_file)
    assert len(waiting) >= 3
    login(client, "lea")
    ranks = {rid: _rank(client, rid) for rid in waiting}
    totals = {total for _, total in ranks.values()}
    assert len(totals) == 1
    (total,) = totals
    assert sorted(rank for rank, _ in ranks.values()) == list(range(1, total + 1))
    first = min(waiting, key=lambda rid: ranks[rid][0])
    last = max(waiting, key=lambda rid: ranks[rid][0])
    kept = _cache(app)[f"position:{TODAY.isoformat()}"]
    assert _rank(client, last) == ranks[last]  # the same data: the same ranking, kept
    assert _cache(app)[f"position:{TODAY.isoformat()}"] is kept
    _close_elsewhere(register_file, first)
    assert _rank(client, last) == (ranks[last][0] - 1, total - 1)


def test_the_lists_see_another_process_s_write(
    app: Any, client: FlaskClient, register_file: Path
) -> None:
    login(client, "lea")
    # sorted by state: the process's cached listing lines, not the store's page
    url = "/demandes?etat=waiting&tri=etat"
    before = _TOTAL.search(text(client.get(url)))
    assert before is not None
    assert "summaries/waiting" in _cache(app)
    by_store = _TOTAL.search(text(client.get("/demandes?etat=waiting")))
    assert by_store is not None
    assert by_store.group(1) == before.group(1)
    _close_elsewhere(register_file, _waiting(register_file)[0])
    for page in (url, "/demandes?etat=waiting", "/demandes?etat=waiting&tri=attente"):
        after = _TOTAL.search(text(client.get(page)))
        assert after is not None
        assert int(after.group(1)) == int(before.group(1)) - 1, page


def test_the_gps_of_a_request_page_see_another_process_s_new_gp(
    client: FlaskClient, register_file: Path
) -> None:
    rid = _waiting(register_file)[0]
    login(client, "claire")
    assert "MG-NOUVEAU" not in text(client.get(f"/demandes/{rid}"))
    with open_store(register_file) as store:
        Register(store, load_policy("voironnais")).add_physician(doc("MG-NOUVEAU", VOIRON))
    assert "MG-NOUVEAU" in text(client.get(f"/demandes/{rid}"))


def test_audit_lines_and_logins_keep_the_caches(
    app: Any, client: FlaskClient, register_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rid = _waiting(register_file)[0]
    login(client, "claire")
    client.get(f"/demandes/{rid}")  # audited: a commit, but no change of the data
    reads = _count_gp_reads(monkeypatch)
    with open_store(register_file) as store:
        version = store.version
        data = store.data_version()
    client.get(f"/demandes/{rid}")
    login(client, "lea")
    with open_store(register_file) as store:
        assert store.version > version
        assert store.data_version() == data
    client.get(f"/demandes/{rid}")
    assert reads == []


def _count_gp_reads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Each read of every GP by an SQLite store from now on appends to the list returned."""
    reads: list[int] = []
    plain = SQLiteStore.physicians

    def counted(self: SQLiteStore) -> Any:
        reads.append(1)
        return plain(self)

    monkeypatch.setattr(SQLiteStore, "physicians", counted)
    return reads


def test_a_change_of_the_data_keeps_the_gps_of_the_pages(
    app: Any, client: FlaskClient, register_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A contact attempt elsewhere changes the data but no GP: the request's page and the
    dashboard do not read the GPs again, and show the same ones as a fresh application."""
    waiting = _waiting(register_file)
    login(client, "claire")
    client.get(f"/demandes/{waiting[0]}")
    client.get("/")
    reads = _count_gp_reads(monkeypatch)
    with open_store(register_file) as store:
        before = store.data_version()
        Register(store, load_policy("voironnais")).record_contact(waiting[1], TODAY, False, "essai")
        assert store.data_version() != before
    page = text(client.get(f"/demandes/{waiting[0]}"))
    dashboard = text(client.get("/?actualiser=non"))
    assert reads == []
    with make_app(register_file, Clock()).test_client() as fresh:
        login(fresh, "claire")
        assert _GPS.findall(text(fresh.get(f"/demandes/{waiting[0]}"))) == _GPS.findall(page)
        assert _GPS.findall(text(fresh.get("/?actualiser=non"))) == _GPS.findall(dashboard)
    assert _GPS.findall(page)
    assert _GPS.findall(dashboard)


def test_two_registers_in_one_process_never_share_their_caches(
    register_template: Path, tmp_path: Path, clock: Any
) -> None:
    paths = {}
    for cpts in ("A", "B"):
        path = tmp_path / f"registre-{cpts}.sqlite"
        shutil.copy(register_template, path)
        with open_store(path) as store:  # the same data version in both files, other GPs
            Register(store, load_policy("voironnais")).add_physician(doc(f"MG-CPTS-{cpts}"))
        paths[cpts] = path
    with open_store(paths["A"]) as a, open_store(paths["B"]) as b:
        assert a.data_version() == b.data_version()
    rid = _waiting(paths["A"])[0]
    pages = {}
    for cpts, path in paths.items():
        with make_app(path, clock).test_client() as client:
            login(client, "claire")
            pages[cpts] = text(client.get(f"/demandes/{rid}"))
            pages[cpts] += text(client.get("/"))
    assert "MG-CPTS-A" in pages["A"]
    assert "MG-CPTS-B" not in pages["A"]
    assert "MG-CPTS-B" in pages["B"]
    assert "MG-CPTS-A" not in pages["B"]


def test_the_ledger_is_lent_between_pages_until_another_process_changes_it(
    register_file: Path,
) -> None:
    policy = load_policy("voironnais")
    shared = SharedState()
    reads: list[int] = []
    with open_store(register_file) as store:
        plain = store.ledger_entries

        def counted() -> Any:
            reads.append(1)
            return plain()

        store.ledger_entries = counted  # type: ignore[method-assign]
        first = Register(store, policy, shared=shared)
        before = first.ledger.entries
        second = Register(store, policy, shared=shared)  # the next page: no read
        assert second.ledger.entries == before
        assert len(reads) == 1
        with open_store(register_file) as other:  # another process adds a GP
            Register(other, policy).add_physician(doc("MG-PARTAGE", VOIRON, capacity=3))
        third = Register(store, policy, shared=shared)
        assert "MG-PARTAGE" in {p.id for p in third.physicians()}
        # the shared ledger and the entries recorded since (none here): no whole read
        assert third.ledger.entries == before
        assert len(reads) == 1


@pytest.mark.parametrize("shared", [False, True])
def test_a_register_reads_only_the_ledger_entries_recorded_since(
    register_file: Path, shared: bool
) -> None:
    """Another process records ledger entries: a register that kept the ledger reads those
    only, and holds the same ledger as one that reads it whole."""
    policy = load_policy("voironnais")
    declared = CapacityDeclared("MG-ENTREES", Month(2026, 4), 2, TODAY)
    reads: list[str] = []
    with open_store(register_file) as store:
        plain, after = store.ledger_entries, store.ledger_entries_after

        def whole() -> Any:
            reads.append("whole")
            return plain()

        def since(position: int) -> Any:
            reads.append(f"after {position}")
            return after(position)

        store.ledger_entries = whole  # type: ignore[method-assign]
        store.ledger_entries_after = since  # type: ignore[method-assign]
        register = Register(store, policy, shared=SharedState() if shared else None)
        count = len(register.ledger.entries)
        with open_store(register_file) as other, other.transaction():
            other.append_ledger([declared])
        assert register.ledger.entries[-1] == declared
        assert reads == ["whole", f"after {count}"]
        with open_store(register_file) as fresh:
            assert register.ledger == Register(fresh, policy).ledger
        assert register.ledger.capacity("MG-ENTREES", Month(2026, 5)) == 2
