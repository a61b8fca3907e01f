"""Load benchmark of ``mt-access serve`` (:mod:`mt_access.web`) on loopback.

Builds a register file of 100,000 generated requests and 1,000 GPs (the generator of
``bench_register.py``, Voironnais policy: no real person), then on a copy of it: 5
coordinator accounts, and for 50 GPs a portal link, a capacity of 500 this month and
``--propositions`` waiting requests proposed by hand each. Serves the copy with waitress
(``--threads`` worker threads) in a child process on a free 127.0.0.1 port, and runs at the
same time, for ``--duree`` seconds (the clients and the model are
``tests/web_load_support.py``'s, shared with the load test run in CI):

* 5 coordinator clients: log in, then pages of the list (with and without filters: state,
  commune, sort, page), requests' pages, the dashboard now and then, and from a request's
  page a contact attempt every ``--contact-toutes`` seconds, a proposal to one of the 50 GPs
  every 10 s and a proposal of theirs cancelled every 15 s (the GP may answer first: then
  the cancellation is refused as stale, or the answer is);
* 50 GP clients through their links: their portal page every ``--pause-medecin`` seconds on
  average, and every other time an answer to one of their proposals (accept or refuse; a
  pick from their list in pull mode).

Prints the number of pages and p50/p95/p99 of the page time seen by the client (HTTP request
to full response) per page kind, the errors (a status other than the expected one, or no
answer within 60 s), the server's processor time, then checks the register against a model
of what the clients sent: SQLite's integrity check, every action the server acknowledged
recorded exactly once (the request's history and the audit trail), every action refused
(stale page) absent, nothing recorded that was not sent, every display audited once. Never
asserts on time (target: p95 ≤ 300 ms, 0 errors).

Usage::

    .venv/bin/python benchmarks/bench_web.py                 # 100,000 requests, 60 s
    .venv/bin/python benchmarks/bench_web.py --duree 20 --demandes 20000
    .venv/bin/python benchmarks/bench_web.py --chemin /tmp/web.sqlite --garder   # reuse it
    .venv/bin/python benchmarks/bench_web.py --chemin /tmp/web.sqlite --pull     # pull mode

Needs the ``web`` extra and ``requests`` (installed with the ``dev`` extra).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from bench_pull import pull_policy
from bench_register import build

import web_load_support as load
from mt_access.lifecycle import RequestState
from mt_access.store import SQLiteStore

MARKER = "bench_web_date"


def built(path: Path, n_requests: int, n_physicians: int, seed: int) -> dt.date:
    """Build the register (unless ``path`` exists); return the date of its events (the
    server records new events on that date)."""
    if path.exists():
        with SQLiteStore(path, create=False) as store:
            recorded = store.settings().get(MARKER)
        if recorded:
            print(f"register reused: {path}")
            return dt.date.fromisoformat(recorded)
        raise SystemExit(f"{path} exists and was not made by this benchmark: remove it")
    start = time.perf_counter()
    on = build(path, n_requests, n_physicians, seed)
    with SQLiteStore(path, create=False) as store, store.transaction():
        store.put_setting("policy", "voironnais")
        store.put_setting(MARKER, on.isoformat())
    print(f"register built in {time.perf_counter() - start:.1f} s: {path}")
    return on


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--demandes", type=int, default=100_000, help="requests (100,000)")
    parser.add_argument("--medecins", type=int, default=1_000, help="GPs (1,000)")
    parser.add_argument("--duree", type=float, default=60.0, help="seconds of load (60)")
    parser.add_argument("--coordinateurs", type=int, default=5)
    parser.add_argument("--portail", type=int, default=50, help="GPs through their links (50)")
    parser.add_argument("--propositions", type=int, default=12, help="per GP at start (12)")
    parser.add_argument("--threads", type=int, default=4, help="waitress threads (4, as serve)")
    parser.add_argument("--pause-coordinateur", type=float, default=1.0, help="mean s (1)")
    parser.add_argument("--pause-medecin", type=float, default=3.0, help="mean s (3)")
    parser.add_argument("--contact-toutes", type=float, default=5.0, help="s (5)")
    parser.add_argument(
        "--chemin", type=Path, help="register file (built if absent; each run works on a copy)"
    )
    parser.add_argument("--garder", action="store_true", help="keep the register file")
    parser.add_argument("--seul", type=int, default=1, help="rounds of one client alone (1)")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument(
        "--pull",
        action="store_true",
        help="pull mode: the copy records the Voironnais policy with every level routed pull "
        "(bench_pull.pull_policy), so the GPs' pages show their lists and they pick",
    )
    args = parser.parse_args(argv)

    folder = None
    if args.chemin is None:
        folder = tempfile.TemporaryDirectory(prefix="bench-web-")
        path = Path(folder.name) / "registre.sqlite"
    else:
        path = args.chemin
    try:
        on = built(path, args.demandes, args.medecins, args.seed)
        work = path.with_name(path.stem + "-essai" + path.suffix)
        shutil.copy(path, work)  # the built register stays as built, to be reused
        policies = tempfile.TemporaryDirectory(prefix="bench-web-politique-")
        try:
            if args.pull:
                with SQLiteStore(work, create=False) as store, store.transaction():
                    pull_policy(Path(policies.name))
                    store.put_setting("policy", str(Path(policies.name) / "voironnais-pull.yaml"))
                print("pull mode: every level of the Voironnais policy routed pull")
            return run(args, work, on)
        finally:
            work.unlink()
            policies.cleanup()
    finally:
        if folder is not None and not args.garder:
            folder.cleanup()
        elif folder is not None:
            print(f"register kept: {path}")


def run(args: argparse.Namespace, path: Path, on: dt.date) -> int:
    start = time.perf_counter()
    setup = load.prepare(
        path,
        on,
        coordinators=args.coordinateurs,
        gps=args.portail,
        proposals_per_gp=args.propositions,
        seed=args.seed,
    )
    with SQLiteStore(path, create=False) as store:
        integrity_before = store.integrity_check()
        counts = {s.value: n for s, n in _counts(store).items()}
    transitions_before = load.transition_count(path)
    print(
        f"{sum(counts.values()):,} requests ({counts.get('waiting', 0):,} waiting, "
        f"{len(setup.proposals)} proposed to the {len(setup.links)} GPs of the portal); "
        f"{args.coordinateurs} coordinators, {len(setup.links)} GPs, waitress {args.threads} "
        f"threads, {args.duree:g} s; prepared in {time.perf_counter() - start:.1f} s; "
        f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    server, base = load.start_server(path, on, args.threads)
    try:
        pauses = {
            "coordinator_pause": args.pause_coordinateur,
            "gp_pause": args.pause_medecin,
            "contact_every": args.contact_toutes,
        }
        before = load.Figures()
        alone_load = load.workload(path, base, setup, 0.0, **pauses)
        start = time.perf_counter()
        cpu = load.cpu_of(server.pid)
        load.alone(alone_load, before, args.seul)
        load.report(before, time.perf_counter() - start, "one coordinator alone, before the load")
        print(f"  server: {load.cpu_of(server.pid) - cpu:.1f} s of processor time")
        work = load.workload(path, base, setup, args.duree, **pauses)
        figures = load.Figures()
        cpu = load.cpu_of(server.pid)
        elapsed = load.run_load(work, figures)
        cpu = load.cpu_of(server.pid) - cpu
    finally:
        load.stop_server(server)
    load.report(
        figures,
        elapsed,
        f"{args.coordinateurs} coordinators and {len(setup.links)} GPs at once, {elapsed:.0f} s",
    )
    print(
        f"  server: {cpu:.1f} s of processor time in {elapsed:.1f} s "
        f"({cpu / elapsed:.2f} processor); load average "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    print("\nregister after the run:")
    every = load.Figures()
    every.merge(before)
    every.merge(figures)
    start = time.perf_counter()
    problems = load.check(path, every, integrity_before, transitions_before)
    print(load.summary(every))
    print(f"  checked in {time.perf_counter() - start:.1f} s (integrity check included)")
    for problem in problems[:20]:
        print(f"  PROBLEM {problem}")
    print(
        f"  -> {len(problems)} problem(s)"
        if problems
        else "  -> 0 problem(s): integrity check clean, nothing lost or doubled"
    )
    return 1 if problems else 0


def _counts(store: SQLiteStore) -> dict[RequestState, int]:
    found: dict[RequestState, int] = {}
    for summary in store.summaries(None):
        found[summary.state] = found.get(summary.state, 0) + 1
    return found


if __name__ == "__main__":
    sys.exit(main())
