"""The shared lists of pull mode made off the pages' interpreter
(:mod:`mt_access.web.portal_pull` through the worker process of
:mod:`mt_access.web.dashboard_figures`): the worker's lists, crossing a pickle, are the lists
made in the process; the server never makes them itself when the worker is on (a real
worker process); a pick while new lists are being made is checked against the register as
it stands; a failure of the worker keeps the previous lists. Generated data only."""

from __future__ import annotations

import concurrent.futures as cf
import html
import logging
import pickle
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("flask")
pytest.importorskip("flask_wtf")
pytest.importorskip("itsdangerous")

from flask import Flask

import mt_access.web.dashboard_figures as dashboard_figures
from factories import MOIRANS, VOIRON, VOREPPE, doc
from mt_access.register import Register
from mt_access.store import SQLiteStore
from mt_access.web.app import create_app
from mt_access.web.dashboard_figures import Source
from mt_access.web.portal_pull import PULL_SECONDS, made_in_worker
from portal_support import DAY, SECRET, TODAY, Clock, link, load, policy_text, waiting
from web_support import FAST_HASHER

_CSRF = re.compile(r'name="csrf_token" type="hidden" value="[^"]+"')
GONE = "cette demande ne figure plus sur la liste de ce médecin"


class PickledExecutor(cf.Executor):
    """Runs its calls at once, their arguments and results crossing a pickle as they would to
    and from a worker process; with :attr:`hold`, keeps them until :meth:`run`."""

    def __init__(self) -> None:
        self.calls: list[tuple[Callable[..., Any], tuple[Any, ...], cf.Future[Any]]] = []
        self.hold = False
        self.fail_with: BaseException | None = None

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> cf.Future[Any]:
        assert not kwargs
        future: cf.Future[Any] = cf.Future()
        self.calls.append((fn, pickle.loads(pickle.dumps(args)), future))
        if not self.hold:
            self.run()
        return future

    def pending(self) -> int:
        return sum(not future.done() for _, _, future in self.calls)

    def run(self) -> None:
        for fn, args, future in self.calls:
            if future.done():
                continue
            if self.fail_with is not None:
                future.set_exception(self.fail_with)
            else:
                future.set_result(pickle.loads(pickle.dumps(fn(*args))))


def _register_file(tmp_path: Path) -> tuple[Path, Register]:
    """An SQLite register in pull mode: GPs MG1 (Voiron) and MG2 (Voreppe), 3 places each,
    four waiting requests."""
    policy = load(tmp_path, policy_text(pull=True))
    path = tmp_path / "registre.sqlite"
    register = Register(SQLiteStore(path, create=True), policy)
    for pid, commune in {"MG1": VOIRON, "MG2": VOREPPE}.items():
        register.add_physician(doc(pid, commune, capacity=None))
        register.join(pid, DAY, monthly_capacity=3, modalities=["office"])
    for key, commune in (("A", VOIRON), ("B", MOIRANS), ("C", VOREPPE)):
        waiting(register, key, commune)
    waiting(register, "A", MOIRANS, urgent=True)
    return path, register


def _app(path: Path, register: Register, clock: Clock, figures: Any) -> Flask:
    return create_app(
        path,
        register.policy,
        config={
            "SECRET_KEY": SECRET,
            "TESTING": True,
            "WTF_CSRF_ENABLED": False,
            "MT_ACCESS_HASHER": FAST_HASHER,
            "MT_ACCESS_CLOCK": clock,
            "MT_ACCESS_TODAY": lambda: TODAY,
            "MT_ACCESS_FIGURES": figures,
        },
    )


def _names(register: Register, gp: str) -> list[str]:
    own = next((x for x in register.pull_lists(TODAY) if x.physician_id == gp), None)
    return [] if own is None else [e.pseudonym for e in own.entries]


def test_the_worker_lists_are_the_lists_made_in_the_process(tmp_path: Path) -> None:
    path, register = _register_file(tmp_path)
    made = pickle.loads(
        pickle.dumps(made_in_worker(Source(str(path), register.policy.source), TODAY))
    )
    assert made.index.lists() == register.pull_lists(TODAY)
    assert made.index.lists()  # not empty
    for x in made.index.lists():
        for entry in x.entries:
            assert made.index.entry(x.physician_id, entry.pseudonym) == entry
    # the same GP's page from the worker's lists and from lists made in the page
    url = link(register.store, "MG1")
    pages = []
    for figures in (PickledExecutor(), False):
        with _app(path, register, Clock(), figures).test_client() as gp:
            pages.append(_CSRF.sub("", gp.get(url).get_data(as_text=True)))
    assert pages[0] == pages[1]
    assert all(name in pages[0] for name in _names(register, "MG1"))
    register.store.close()


def test_the_server_never_makes_the_lists_when_the_worker_is_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real worker process (spawned): the server's ``Register.pull_index`` is never
    called, at the first page nor when the lists are made again."""
    path, other = _register_file(tmp_path)

    def not_here(*_args: Any, **_kwargs: Any) -> Any:
        raise AssertionError("the pull lists made in the server's interpreter")

    url = link(other.store, "MG1")
    first = _names(other, "MG1")
    clock = Clock()
    app = _app(path, other, clock, None)  # as « mt-access serve »
    monkeypatch.setattr(Register, "pull_index", not_here)  # not the worker's copy
    try:
        with app.test_client() as gp:
            page = gp.get(url).get_data(as_text=True)
            assert all(name in page for name in first)
            monkeypatch.undo()
            added = waiting(other, "B", VOIRON)  # another connection: a new request
            name = other.pull_index(TODAY).pseudonyms[added]
            monkeypatch.setattr(Register, "pull_index", not_here)
            assert name not in gp.get(url).get_data(as_text=True)
            clock.advance(seconds=PULL_SECONDS)
            deadline = time.monotonic() + 120  # a slow machine; never a timed assertion
            while name not in (page := gp.get(url).get_data(as_text=True)):
                assert time.monotonic() < deadline, "the worker's new lists never came"
                time.sleep(0.2)
            assert all(n in page for n in first)
        worker = dashboard_figures.worker_of(app)
        assert worker is not None
        assert isinstance(worker._executor, cf.ProcessPoolExecutor)
    finally:
        dashboard_figures.shut_down(app)
        other.store.close()


def _pick(client: Any, url: str, pseudonym: str) -> str:
    sent = client.post(f"{url}/choix", data={"pseudonyme": pseudonym})
    assert sent.status_code == 303
    return html.unescape(client.get(sent.headers["Location"]).get_data(as_text=True))


def test_a_pick_while_new_lists_are_made_is_checked(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path, other = _register_file(tmp_path)
    url = link(other.store, "MG1")
    mine = _names(other, "MG1")
    shared = [n for n in _names(other, "MG2") if n in mine]
    assert shared
    assert len(mine) >= 2
    held = PickledExecutor()
    clock = Clock()
    app = _app(path, other, clock, held)
    with app.test_client() as gp:
        page = gp.get(url).get_data(as_text=True)  # the first lists: waited for
        assert all(name in page for name in mine)
        assert held.pending() == 0
        assert len(held.calls) == 1
        held.hold = True
        taken = shared[0]
        other.choose("MG2", taken, TODAY)  # another connection picks one of MG1's requests
        added = waiting(other, "C", VOIRON)
        clock.advance(seconds=PULL_SECONDS)
        page = gp.get(url).get_data(as_text=True)  # the kept lists; new ones asked for
        assert held.pending() == 1
        assert taken not in page
        # picks while the worker makes the new lists: checked against the register
        assert GONE in _pick(gp, url, taken)
        kept = next(n for n in mine if n != taken)
        assert f"Vous avez choisi la demande {kept}" in _pick(gp, url, kept)
        assert held.pending() == 1  # one making at a time
        name = other.pull_index(TODAY).pseudonyms[added]
        assert name not in gp.get(url).get_data(as_text=True)
        held.run()  # the new lists come back: swapped in
        page = gp.get(url).get_data(as_text=True)
        assert name in page
        assert taken not in page
        # a failure of the worker: the lists kept, tried again PULL_SECONDS later
        waiting(other, "A", VOREPPE)
        clock.advance(seconds=PULL_SECONDS)
        held.fail_with = RuntimeError("processus tué")
        caplog.set_level(logging.WARNING, logger="mt_access.web.portal_pull")
        gp.get(url)
        held.run()
        assert "échec du nouveau calcul (RuntimeError)" in caplog.text
        assert "processus tué" not in caplog.text
        assert name in gp.get(url).get_data(as_text=True)
        calls = len(held.calls)
        gp.get(url)
        assert len(held.calls) == calls  # not asked again at once
    other.store.close()


def test_the_lists_of_the_day_are_started_at_server_start(tmp_path: Path) -> None:
    """``dashboard_figures.warm_up`` (at server start) starts the day's lists after the
    month's figures; the first GP page takes them instead of asking again."""
    path, other = _register_file(tmp_path)
    url = link(other.store, "MG1")
    held = PickledExecutor()
    held.hold = True
    app = _app(path, other, Clock(), held)
    dashboard_figures.warm_up(app)
    assert [fn for fn, _, _ in held.calls] == [dashboard_figures.compute, made_in_worker]
    held.run()
    with app.test_client() as gp:
        page = gp.get(url).get_data(as_text=True)
    assert all(name in page for name in _names(other, "MG1"))
    assert len(held.calls) == 2  # the first page took the lists made at start
    other.store.close()
