"""What the GP portal keeps between pages stays right: the shared lists of pull mode are
made once for every GP's page and made again when the data changed, at most once every
``PULL_SECONDS``; meanwhile a request placed or picked by another connection (the command
line, another server process) leaves the pages at once, a new request shows at the next
making. Generated data only."""

from __future__ import annotations

import html
import re
import sys
import threading
from pathlib import Path

import pytest

pytest.importorskip("flask")
pytest.importorskip("flask_wtf")
pytest.importorskip("itsdangerous")

from flask import Flask

from factories import MOIRANS, VOIRON, VOREPPE, doc
from mt_access.lifecycle import RequestState
from mt_access.register import Register
from mt_access.store import SQLiteStore
from mt_access.web.app import create_app
from mt_access.web.portal_pull import PULL_SECONDS
from portal_support import (
    DAY,
    SECRET,
    TODAY,
    Clock,
    link,
    load,
    policy_text,
    waiting,
)
from web_support import FAST_HASHER


def _register_file(tmp_path: Path) -> tuple[Path, Register, list[str]]:
    """An SQLite register in pull mode: GPs MG1 (Voiron) and MG2 (Voreppe), two waiting
    requests; their pseudonyms on MG1's list by request id."""
    policy = load(tmp_path, policy_text(pull=True))
    path = tmp_path / "registre.sqlite"
    register = Register(SQLiteStore(path, create=True), policy)
    for pid, commune in {"MG1": VOIRON, "MG2": VOREPPE}.items():
        register.add_physician(doc(pid, commune, capacity=None))
        register.join(pid, DAY, monthly_capacity=3, modalities=["office"])
    waiting(register, "A", VOIRON)
    waiting(register, "B", MOIRANS)
    own = next(x for x in register.pull_lists(TODAY) if x.physician_id == "MG1")
    return path, register, sorted(e.pseudonym for e in own.entries)


def _app(path: Path, register: Register, clock: Clock | None = None) -> Flask:
    """The application over ``path``, without the worker process: the lists made in a
    thread of the server (the worker's: test_web_portal_pull_worker.py)."""
    return create_app(
        path,
        register.policy,
        config={
            "SECRET_KEY": SECRET,
            "TESTING": True,
            "MT_ACCESS_HASHER": FAST_HASHER,
            "MT_ACCESS_CLOCK": clock or Clock(),
            "MT_ACCESS_TODAY": lambda: TODAY,
            "MT_ACCESS_FIGURES": False,
        },
    )


def test_pull_lists_are_kept_and_follow_another_connection(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, other, pseudonyms = _register_file(tmp_path)
    assert len(pseudonyms) == 2
    url = link(other.store, "MG1")
    clock = Clock()
    app = _app(path, other, clock)
    computed = []
    original = Register.pull_index

    def counted(self: Register, on: object, previous: object = None) -> object:
        computed.append(on)
        return original(self, on, previous)  # type: ignore[arg-type]

    monkeypatch.setattr(Register, "pull_index", counted)
    first, second = pseudonyms
    with app.test_client() as gp:
        for _ in range(3):  # the page's audit lines do not change the data's version
            page = gp.get(url).get_data(as_text=True)
            assert first in page
            assert second in page
        assert len(computed) == 1
        # another connection (the command line): MG2 picks one of the two requests; the
        # kept lists are used without it (its ledger entry), not made again
        other.choose("MG2", first, TODAY)
        computed.clear()
        page = gp.get(url).get_data(as_text=True)
        assert first not in page
        assert second in page
        assert computed == []
        # a new request: shown once the lists are made again (aside, in a thread of their
        # own), PULL_SECONDS later
        third = waiting(other, "C", VOIRON)
        (name,) = {e.pseudonym for e in other.pull_index(TODAY).list_of("MG1").entries} - {second}
        computed.clear()
        assert name not in gp.get(url).get_data(as_text=True)
        clock.advance(seconds=PULL_SECONDS)
        page = gp.get(url).get_data(as_text=True)  # the kept lists; new ones made aside
        assert name not in page
        for thread in threading.enumerate():
            if thread.name == "mt-access-listes":
                thread.join(timeout=120)
        page = gp.get(url).get_data(as_text=True)
        assert name in page
        assert first not in page
        assert len(computed) == 1
        assert other.file(third).state is RequestState.WAITING
    other.store.close()


def test_two_gps_pick_the_request_both_pages_show_one_is_refused(tmp_path: Path) -> None:
    """Two GPs' pages show the same request; both pick it: the first gets it, the second is
    told in French that it is no longer on their list (the kept lists are older than the
    first pick), and nothing of theirs is recorded."""
    path, other, pseudonyms = _register_file(tmp_path)
    shared = next(x for x in other.pull_lists(TODAY) if x.physician_id == "MG2").entries
    pseudonym = sorted({e.pseudonym for e in shared} & set(pseudonyms))[0]
    urls = {gp: link(other.store, gp) for gp in ("MG1", "MG2")}
    app = _app(path, other)
    said = {}
    clients = {"MG1": app.test_client(), "MG2": app.test_client()}
    tokens = {}
    for gp, client in clients.items():
        page = client.get(urls[gp]).get_data(as_text=True)
        assert pseudonym in page
        found = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
        assert found is not None
        tokens[gp] = found[1]
    for gp, client in clients.items():
        sent = client.post(
            f"{urls[gp]}/choix", data={"csrf_token": tokens[gp], "pseudonyme": pseudonym}
        )
        assert sent.status_code == 303
        said[gp] = html.unescape(client.get(sent.headers["Location"]).get_data(as_text=True))
    assert f"Vous avez choisi la demande {pseudonym}" in said["MG1"]
    assert "cette demande ne figure plus sur la liste de ce médecin (MG2)" in said["MG2"]
    assert "choisie par un autre médecin" in said["MG2"]
    rid = next(r for r in other.store.physician_requests("MG1"))
    assert other.file(rid).proposed_to == frozenset({"MG1"})
    assert other.pending_picks("MG2") == ()
    other.store.close()


def test_the_ledger_since_the_lists_is_read_once_then_only_what_is_new(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The requests placed since the kept lists were made: each page does not read the
    ledger's entries since then again, only those recorded since the last page."""
    path, other, pseudonyms = _register_file(tmp_path)
    first, second = pseudonyms
    url = link(other.store, "MG1")
    app = _app(path, other)
    read_from: list[int] = []  # by the portal's lists (other readers: the places, the GPs)
    original = SQLiteStore.ledger_entries_after

    def counted(self: SQLiteStore, position: int) -> object:
        if sys._getframe(1).f_globals["__name__"] == "mt_access.web.portal_pull":
            read_from.append(position)
        return original(self, position)

    with app.test_client() as gp:
        assert first in gp.get(url).get_data(as_text=True)  # the lists made
        monkeypatch.setattr(SQLiteStore, "ledger_entries_after", counted)
        start = len(other.store.ledger_entries())
        other.choose("MG2", first, TODAY)
        after_one = len(other.store.ledger_entries())
        for _ in range(3):
            page = gp.get(url).get_data(as_text=True)
            assert first not in page
            assert second in page
        assert read_from == [start]  # once, not at every page
        other.choose("MG2", second, TODAY)
        del read_from[:]
        page = gp.get(url).get_data(as_text=True)
        assert second not in page
        assert after_one in read_from  # only the entries recorded since
        assert start not in read_from
    other.store.close()
