"""The web application under load, bounded in time (issue 14): the real server (waitress, in
a child process, on a loopback port) over a generated register of 3,000 requests, with 5
coordinators and 50 GPs acting at once through their accounts and portal links for about
10 s. Nothing is lost or doubled: every action the server acknowledged is recorded once (the
request's history and the audit trail), every action it refused (a stale page: a GP who
answered while a coordinator cancelled) is absent, nothing else is recorded, and the
integrity check is clean; no page fails. Page times are printed, never asserted (the machine
is shared): the figures at 100,000 requests are ``benchmarks/bench_web.py``'s.

Generated data only. The clients and the model are ``web_load_support``'s, shared with the
benchmark."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

pytest.importorskip("flask")
pytest.importorskip("flask_wtf")
pytest.importorskip("argon2")
pytest.importorskip("waitress")
pytest.importorskip("requests")

import web_load_support as load
from mt_access.store import SQLiteStore

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from bench_register import build

SECONDS = 10.0


def test_five_coordinators_and_fifty_gps_at_once_lose_and_double_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "registre.sqlite"
    on = build(path, 3_000, 120, 14)
    with SQLiteStore(path, create=False) as store, store.transaction():
        store.put_setting("policy", "voironnais")
    setup = load.prepare(path, on, coordinators=5, gps=50, proposals_per_gp=4, seed=14)
    assert len(setup.links) == 50
    with SQLiteStore(path, create=False) as store:
        before = store.integrity_check()
    transitions_before = load.transition_count(path)
    server, base = load.start_server(path, on, threads=4)
    try:
        work = load.workload(
            path,
            base,
            setup,
            SECONDS,
            coordinator_pause=1.0,
            gp_pause=2.0,
            contact_every=2.0,
            propose_every=2.0,
            cancel_every=2.0,
        )
        figures = load.Figures()
        cpu = load.cpu_of(server.pid)
        seconds = load.run_load(work, figures)
        cpu = load.cpu_of(server.pid) - cpu
    finally:
        load.stop_server(server)
    problems = load.check(path, figures, before, transitions_before)
    with capsys.disabled():
        load.report(figures, seconds, "5 coordinators and 50 GPs at once, 3,000 requests")
        print(load.summary(figures))
        print(f"  server: {cpu:.1f} s of processor time in {seconds:.1f} s")
    assert figures.errors.total() == 0, figures.error_samples[:10]
    assert problems == []
    sent = figures.sent
    for action in ("contact", "proposer"):
        assert sent[action].done.total() > 0, action
    assert sent["accepte"].done.total() + sent["refuse"].done.total() > 0
    assert figures.times["portail"], "no GP page read"
