"""The dashboard's month indicators computed off the pages' interpreter
(:mod:`mt_access.web.dashboard_figures`): by a worker process for a register file, the
previous figures shown while new ones are computed, a failure of the worker leaving the page
working, and a memory store computing them in the page thread."""

from __future__ import annotations

import concurrent.futures as cf
import logging
import pickle
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("flask")
pytest.importorskip("flask_wtf")
pytest.importorskip("argon2")

from flask import Flask

import mt_access.web.dashboard_figures as dashboard_figures
from mt_access.examples import example_register
from mt_access.indicators import indicators
from mt_access.lifecycle import RequestState
from mt_access.loading import load_policy
from mt_access.register import Register
from mt_access.store.memory import MemoryStore
from mt_access.web.accounts import create_user
from mt_access.web.app import create_app
from request_page_support import first_in
from web_support import (
    FAST_HASHER,
    MONTH,
    PASSWORD,
    TODAY,
    Clock,
    clock,
    login,
    make_app,
    open_store,
    register_file,
    register_template,
    text,
)

__all__ = ["clock", "register_file", "register_template"]

_RECEIVED = re.compile(r"<dt>Demandes reçues</dt><dd>(\d+)</dd>")
COMPUTING = "Indicateurs en cours de calcul"
FAILED = "Les chiffres du mois n'ont pas pu être calculés"


def _received(page: str) -> int:
    found = _RECEIVED.search(page)
    assert found is not None, "no month figures on the dashboard"
    return int(found.group(1))


def _expected_entries(path: Path) -> int:
    with open_store(path) as store:
        return indicators(Register(store, load_policy("voironnais")), MONTH).entries


class HeldExecutor(cf.Executor):
    """An executor the test runs by hand (:meth:`run`), its calls and results crossing a
    pickle as they would to and from a worker process."""

    def __init__(self) -> None:
        self.calls: list[tuple[Callable[..., Any], tuple[Any, ...], cf.Future[Any]]] = []
        self.fail_with: BaseException | None = None

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> cf.Future[Any]:
        assert not kwargs
        future: cf.Future[Any] = cf.Future()
        self.calls.append((fn, pickle.loads(pickle.dumps(args)), future))
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


@pytest.fixture
def held() -> HeldExecutor:
    return HeldExecutor()


def _worker(app: Flask) -> dashboard_figures.FiguresWorker:
    found = app.extensions[dashboard_figures.EXTENSION]
    assert isinstance(found, dashboard_figures.FiguresWorker)
    return found


@pytest.fixture
def process_app(register_file: Path, clock: Clock) -> Iterator[Flask]:
    app = make_app(register_file, clock, MT_ACCESS_FIGURES=None)  # as « mt-access serve »
    yield app
    dashboard_figures.shut_down(app)


def test_the_figures_of_a_register_file_come_from_the_worker_process(
    process_app: Flask, register_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def not_here(*_args: Any) -> Any:
        raise AssertionError("indicators computed in the page's interpreter")

    monkeypatch.setattr(dashboard_figures, "indicators", not_here)  # not the worker's copy
    monkeypatch.setattr(dashboard_figures, "FIRST_WAIT_SECONDS", 120.0)  # a slow machine
    dashboard_figures.warm_up(process_app)  # at server start
    with process_app.test_client() as client:
        login(client, "claire")
        page = text(client.get("/"))
    assert "chiffres du mois calculés le 16/03/2026 à 09:00 UTC" in page
    assert _received(page) == _expected_entries(register_file)
    worker = _worker(process_app)
    assert worker.computations == 1  # the warm-up's, waited for by the first page
    assert isinstance(worker._executor, cf.ProcessPoolExecutor)


def _acknowledge_one(path: Path) -> None:
    """A write by another process: the register's data changes."""
    with open_store(path) as store:
        Register(store, load_policy("voironnais")).acknowledge(
            first_in(path, RequestState.RECEIVED), TODAY
        )


def test_previous_figures_are_shown_while_new_ones_are_computed(
    register_file: Path, clock: Clock, held: HeldExecutor, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dashboard_figures, "FIRST_WAIT_SECONDS", 0.0)
    app = make_app(register_file, clock, MT_ACCESS_FIGURES=held)
    with app.test_client() as client:
        login(client, "claire")
        first = client.get("/")
        assert first.status_code == 200
        assert COMPUTING in text(first)  # none yet: the computation is under way
        assert "alertes et places restantes à jour" in text(first)
        clock.advance(seconds=70)
        held.run()
        page = text(client.get("/"))  # as computed when asked for, the data unchanged since
        assert "chiffres du mois calculés le 16/03/2026 à 09:00 UTC" in page
        entries = _received(page)
        assert entries == _expected_entries(register_file)
        assert held.pending() == 0
        _acknowledge_one(register_file)
        stale = text(client.get("/"))  # changed, a minute old: asked for, not waited for
        assert "chiffres du mois calculés le 16/03/2026 à 09:00 UTC" in stale
        assert _received(stale) == entries
        assert held.pending() == 1
        assert "à 09:00 UTC" in text(client.get("/"))
        assert held.pending() == 1  # one computation at a time
        held.run()
        assert "chiffres du mois calculés le 16/03/2026 à 09:01 UTC" in text(client.get("/"))
        _acknowledge_one(register_file)
        clock.advance(seconds=30)
        assert "à 09:01 UTC" in text(client.get("/"))  # changed, but less than a minute old
        assert held.pending() == 0
        assert len(held.calls) == 2


def test_a_failure_of_the_worker_leaves_the_dashboard_working(
    register_file: Path,
    clock: Clock,
    held: HeldExecutor,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(dashboard_figures, "FIRST_WAIT_SECONDS", 0.0)
    app = make_app(register_file, clock, MT_ACCESS_FIGURES=held)
    held.fail_with = ValueError("Dupont Jeanne 01/02/1950")  # as if data leaked in a message
    caplog.set_level(logging.INFO, logger=dashboard_figures.__name__)
    with app.test_client() as client:
        login(client, "claire")
        client.get("/")
        held.run()
        failed = client.get("/")
        assert failed.status_code == 200
        assert FAILED in text(failed)
        assert "calcul impossible (ValueError)" in caplog.text
        assert "Dupont" not in caplog.text
        client.get("/")
        assert len(held.calls) == 1  # tried again a minute later, not at every page
        clock.advance(seconds=61)
        held.fail_with = None
        client.get("/")
        held.run()
        page = text(client.get("/"))
        assert "chiffres du mois calculés le 16/03/2026 à 09:01 UTC" in page
        # a failure with figures shown: they stay
        _acknowledge_one(register_file)
        clock.advance(seconds=61)
        held.fail_with = RuntimeError("processus arrêté")
        client.get("/")
        held.run()
        kept = client.get("/")
        assert kept.status_code == 200
        assert "chiffres du mois calculés le 16/03/2026 à 09:01 UTC" in text(kept)
        assert _received(text(kept)) == _received(page)


def test_a_broken_worker_process_is_replaced(
    process_app: Flask, monkeypatch: pytest.MonkeyPatch, clock: Clock
) -> None:
    monkeypatch.setattr(dashboard_figures, "FIRST_WAIT_SECONDS", 120.0)
    worker = _worker(process_app)
    with process_app.test_client() as client:
        login(client, "claire")
        assert "à 09:00 UTC" in text(client.get("/"))
        first = worker._executor
        assert isinstance(first, cf.ProcessPoolExecutor)
        for process in list(first._processes.values()):  # killed (out of memory...)
            process.kill()
            process.join()
        clock.advance(seconds=61)
        worker._results.clear()  # the next page asks again and waits
        page = client.get("/")
        assert page.status_code == 200
        assert FAILED in text(page)
        clock.advance(seconds=61)
        assert "à 09:02 UTC" in text(client.get("/"))  # a new process
        assert worker._executor is not first


def test_a_memory_store_computes_them_in_the_page_thread(clock: Clock) -> None:
    policy = load_policy("voironnais")
    store = MemoryStore()
    register = Register(store, policy)
    example_register(register, month=MONTH, requests_per_month=10)
    create_user(store, "lea", "lecture", PASSWORD, actor="t", hasher=FAST_HASHER)
    app = create_app(
        store,
        policy,
        config={
            "SECRET_KEY": "s" * 40,
            "MT_ACCESS_HASHER": FAST_HASHER,
            "MT_ACCESS_CLOCK": clock,
            "MT_ACCESS_TODAY": lambda: TODAY,
        },
    )
    assert dashboard_figures.EXTENSION not in app.extensions  # no other process can open it
    with app.test_client() as client:
        login(client, "lea")
        page = text(client.get("/"))
    assert "chiffres du mois calculés le 16/03/2026 à 09:00 UTC" in page
    assert _received(page) == indicators(Register(store, policy), MONTH).entries
