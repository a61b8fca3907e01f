"""Benchmark of the SQLite register store (:class:`mt_access.store.SQLiteStore`).

Builds a register file of 100,000 requests (most of them waiting, the others in every other
state) and 1,000 GPs from generated data (:func:`mt_access.examples.example_month`, Voironnais
policy: no real person), then times what a coordinator does with it:

1. open the file and list the waiting requests (``summaries([WAITING])``), read-write and
   read-only: target ≤ 1 s;
2. one match run and its commit, ``Register(store, policy).run_match(on)``: target ≤ 10 s
   (``--by-hand``: the same steps timed one by one: read the waiting requests, the GPs and the
   ledger, run :func:`mt_access.match`, then in one transaction propose each placed request
   to its GP, orient the oriented ones, append the ledger entries and the run record);
3. the integrity check, the file size.

Prints figures, never asserts on time. Usage::

    .venv/bin/python benchmarks/bench_register.py
    .venv/bin/python benchmarks/bench_register.py --requests 20000 --physicians 200
    .venv/bin/python benchmarks/bench_register.py --path /tmp/registre.sqlite --keep
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import random
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import mt_access
from mt_access import (
    Actor,
    CapacityDeclared,
    CapacityLedger,
    LedgerEntry,
    Month,
    PatientIdentity,
    PlacementRecorded,
    RequestFile,
    RequestState,
)
from mt_access.examples import example_month
from mt_access.geo import bundled_reference
from mt_access.register import Register
from mt_access.store import RunRecord, SQLiteStore

TARGET_LIST_S = 1.0
TARGET_RUN_S = 10.0

# Fictitious names for the generated identities (no real person meant).
_LAST = ("Exemple", "Fictif", "Modele", "Essai", "Dupond", "Durant", "Lambda", "Témoin")
_FIRST = ("Alex", "Camille", "Dominique", "Claude", "Sacha", "Charlie", "Maxime", "Lou")

# States of the generated requests: most are waiting.
_STATE_SHARES = (
    (RequestState.WAITING, 0.72),
    (RequestState.PROPOSED, 0.04),
    (RequestState.RECEIVED, 0.03),
    (RequestState.ACKNOWLEDGED, 0.03),
    (RequestState.CONFIRMED, 0.03),
    (RequestState.MT_FOUND, 0.08),
    (RequestState.EXITED, 0.07),
)


@contextmanager
def timed(label: str, figures: dict[str, float], target: float | None = None) -> Iterator[None]:
    gc.collect()
    start = time.perf_counter()
    yield
    seconds = time.perf_counter() - start
    figures[label] = seconds
    verdict = ""
    if target is not None:
        verdict = f"  (target ≤ {target:g} s: {'met' if seconds <= target else 'MISSED'})"
    print(f"  {label:<48} {seconds:8.3f} s{verdict}", flush=True)


def build(path: Path, n_requests: int, n_physicians: int, seed: int) -> dt.date:
    """Write a register of generated requests and GPs to ``path``; return the run date."""
    policy = mt_access.load_policy("voironnais")
    month = example_month(
        policy,
        bundled_reference(),
        requests=n_requests,
        physicians=n_physicians,
        backlog_months=12,
        seed=seed,
    )
    on = month.on
    rng = random.Random(seed)
    gp_ids = [p.id for p in month.physicians]
    states = [s for s, _ in _STATE_SHARES]
    weights = [w for _, w in _STATE_SHARES]
    current = Month.of(on)
    ledger: list[LedgerEntry] = [
        CapacityDeclared(p.id, current.previous(), p.monthly_capacity or 1, on)
        for p in month.physicians
    ]
    store = SQLiteStore(path)
    with store.transaction():
        for physician in month.physicians:
            store.put_physician(physician)
        for i, request in enumerate(month.requests):
            target = rng.choices(states, weights)[0]
            day = request.received
            file = RequestFile.from_request(request)
            identity = PatientIdentity(
                last_name=rng.choice(_LAST),
                first_name=rng.choice(_FIRST),
                phone=f"06 00 {i // 10000 % 100:02d} {i // 100 % 100:02d} {i % 100:02d}",
                email=f"patient{i}@example.invalid",
                identifier=f"F-{i:07d}",
            )
            if target is RequestState.EXITED:
                file = file.withdraw(day)
            elif target is not RequestState.RECEIVED:
                file = file.acknowledge(day)
                if target is not RequestState.ACKNOWLEDGED:
                    file = file.confirm(day)
                    if target is not RequestState.CONFIRMED:
                        file = file.to_waiting(day)
                if target in (RequestState.PROPOSED, RequestState.MT_FOUND):
                    gp = rng.choice(gp_ids)
                    file = file.propose(gp, day)
                    placed = Month.of(day)
                    ledger.append(PlacementRecorded(gp, placed, request.id, request.persons, day))
                    if target is RequestState.MT_FOUND:
                        file = file.accept(gp, day)
            store.add_request(request, identity, file)
        store.append_ledger(ledger)
    store.close()
    return on


def run_by_hand(store: SQLiteStore, on: dt.date, figures: dict[str, float]) -> None:
    """A match run and its commit, without :class:`mt_access.register.Register`."""
    policy = mt_access.load_policy("voironnais")
    mt_access.match([], [], policy, CapacityLedger(), on)  # warm the commune reference
    with timed("match run + commit (total)", figures, TARGET_RUN_S):
        with timed("  read waiting requests", figures):
            requests = store.requests([RequestState.WAITING])
        with timed("  read GPs and ledger", figures):
            physicians = store.physicians()
            ledger = CapacityLedger.from_trusted_entries(store.ledger_entries())
        with timed("  match()", figures):
            result = mt_access.match(requests, physicians, policy, ledger, on)
        with timed("  commit (one transaction)", figures):
            placed: dict[str, list[str]] = {}
            for placement in result.placements:
                placed.setdefault(placement.request_id, []).append(placement.physician_id)
            oriented = [o.request_id for o in result.orientations]
            with store.transaction():
                files = store.get_files([*placed, *oriented])
                for rid, gps in placed.items():
                    file = files[rid]
                    for gp in gps:
                        file = file.propose(gp, on, actor=Actor.SYSTEM)
                    store.save_file(file, len(gps))
                for rid in oriented:
                    store.save_file(files[rid].orient(on), 1)
                store.append_ledger(result.ledger_entries)
                store.add_run(
                    RunRecord(
                        0,
                        on,
                        result.month,
                        result.policy_code,
                        len(result.placements),
                        len(result.orientations),
                        len(result.waiting),
                        len(result.rejected),
                    )
                )
    print(
        f"  -> {len(requests):,} waiting read, {len(result.placements):,} placements, "
        f"{len(result.orientations):,} orientations, {len(result.waiting):,} still waiting, "
        f"{len(result.ledger_entries):,} ledger entries"
    )


def run_with_register(store: SQLiteStore, on: dt.date, figures: dict[str, float]) -> None:
    """A match run and its commit through :class:`mt_access.register.Register`."""
    policy = mt_access.load_policy("voironnais")
    register = Register(store, policy)
    register.preview_match(on - dt.timedelta(days=400))  # load the commune reference
    with timed("Register.run_match (read, match, commit)", figures, TARGET_RUN_S):
        run = register.run_match(on)
    print(
        f"  -> run {run.record.number}: {len(run.proposed):,} proposals, "
        f"{len(run.oriented):,} orientations, {len(run.out_of_scope):,} out of scope, "
        f"{run.record.waiting:,} still waiting"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--physicians", type=int, default=1_000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--path", type=Path, help="register file (default: a temporary one)")
    parser.add_argument("--keep", action="store_true", help="keep the register file")
    parser.add_argument(
        "--by-hand",
        action="store_true",
        help="time the run step by step (read, match(), commit) instead of Register.run_match",
    )
    args = parser.parse_args(argv)

    scratch = tempfile.TemporaryDirectory(prefix="mt-access-bench-")
    path: Path = args.path or Path(scratch.name) / "registre.sqlite"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    figures: dict[str, float] = {}
    print(
        f"SQLite register: {args.requests:,} requests, {args.physicians:,} GPs "
        f"(SQLite {__import__('sqlite3').sqlite_version}, Python {sys.version.split()[0]})"
    )
    try:
        with timed("build the register (one transaction)", figures):
            on = build(path, args.requests, args.physicians, args.seed)
        print(f"  file: {path.stat().st_size / 2**20:.1f} MiB")

        print("Listing")
        with timed("open + summaries([WAITING])", figures, TARGET_LIST_S):
            store = SQLiteStore(path)
            listing = store.summaries([RequestState.WAITING])
        with timed("open read-only + summaries([WAITING])", figures, TARGET_LIST_S):
            reader = SQLiteStore(path, readonly=True)
            reader.summaries([RequestState.WAITING])
            reader.close()
        with timed("summaries() (all states)", figures):
            everything = store.summaries()
        with timed("requests([WAITING])", figures):
            waiting = store.requests([RequestState.WAITING])
        print(
            f"  -> {len(listing):,} waiting of {len(everything):,}; "
            f"{len(waiting):,} requests decoded"
        )
        del waiting, everything

        print("Match run")
        if args.by_hand:
            run_by_hand(store, on, figures)
        else:
            run_with_register(store, on, figures)

        print("Checks")
        with timed("integrity_check()", figures):
            problems = store.integrity_check()
        print(f"  -> {len(problems)} problem(s)")
        store.close()
        size = sum(
            Path(f"{path}{suffix}").stat().st_size
            for suffix in ("", "-wal")
            if Path(f"{path}{suffix}").exists()
        )
        print(f"  file after the run: {size / 2**20:.1f} MiB")
    finally:
        if args.keep:
            print(f"register kept: {path}")
        else:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        scratch.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
