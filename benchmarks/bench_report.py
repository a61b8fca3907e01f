"""Benchmark of the monthly report (:mod:`mt_access.indicators`, :mod:`mt_access.workbook`).

Builds a register of 100,000 requests received over 30 months and 1,000 GPs from generated
data (:func:`mt_access.examples.example_month`, Voironnais policy: no real person), each
request with a plausible history (acknowledged, confirmed, waiting, proposed, then found a GP
after a few weeks or months, or exited for another reason, or still in progress), the GPs'
capacity declarations and placements in the ledger. Then times what a coordinator does at the
end of a month:

1. the month's indicators (:func:`mt_access.indicators.indicators`);
2. the follow-up workbook of the month (:func:`mt_access.workbook.write_follow_up_workbook`:
   the requests followed during the month, and the indicators);
3. the whole monthly report folder (:func:`mt_access.workbook.write_monthly_report`: the
   workbook and the two plots, the register read once).

The target, a monthly report of a 100,000-request register in ≤ 5 s, is for the indicators
and the workbook (1 and 2; the workbook computes the indicators it holds); it is printed next
to 3 as well. For information: the workbook of every request (``all_requests=True``), the
two plots alone (:func:`mt_access.plots.report_plots`, 12 months), a patient's waiting
position (:func:`mt_access.indicators.waiting_position`).

The register lives in the SQLite store (:class:`mt_access.store.SQLiteStore`, a temporary
file) or, with ``--memory``, in a :class:`mt_access.store.MemoryStore`. Prints figures,
never asserts on time. Usage::

    .venv/bin/python benchmarks/bench_report.py
    .venv/bin/python benchmarks/bench_report.py --requests 20000 --physicians 200 --memory
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
from typing import Any

import mt_access
from mt_access import (
    CapacityDeclared,
    LedgerEntry,
    MemoryStore,
    Month,
    PatientIdentity,
    PlacementRecorded,
    Register,
    RequestFile,
)
from mt_access.examples import example_month
from mt_access.geo import bundled_reference
from mt_access.indicators import indicators, waiting_position
from mt_access.plots import report_plots
from mt_access.workbook import write_follow_up_workbook, write_monthly_report

TARGET_REPORT_S = 5.0
REPORT_MONTH = Month(2026, 3)

# Fictitious names for the generated identities (no real person meant).
_LAST = ("Exemple", "Fictif", "Modele", "Essai", "Dupond", "Durant", "Lambda", "Témoin")
_FIRST = ("Alex", "Camille", "Dominique", "Claude", "Sacha", "Charlie", "Maxime", "Lou")


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
    print(f"  {label:<52} {seconds:8.3f} s{verdict}", flush=True)


def _day(start: dt.date, days: float) -> dt.date:
    return start + dt.timedelta(days=max(0, round(days)))


def build(store: Any, n_requests: int, n_physicians: int, months: int, seed: int) -> dt.date:
    """Fill ``store`` with a generated register; return the last day of the report month."""
    policy = mt_access.load_policy("voironnais")
    month = example_month(
        policy,
        bundled_reference(),
        month=REPORT_MONTH.next(),
        requests=n_requests,
        physicians=n_physicians,
        backlog_months=months,
        seed=seed,
    )
    today = REPORT_MONTH.last_day
    rng = random.Random(seed)
    gp_ids = [p.id for p in month.physicians]
    first = min(r.received for r in month.requests)
    ledger: list[LedgerEntry] = [
        CapacityDeclared(p.id, Month.of(first), p.monthly_capacity or 1, first)
        for p in month.physicians
    ]
    with store.transaction():
        for physician in month.physicians:
            store.put_physician(physician)
        for i, request in enumerate(month.requests):
            day = request.received
            file = RequestFile.from_request(request)
            fate = rng.random()
            ends = _day(day, rng.expovariate(1 / 75))  # when its fate happens
            if day > today:
                pass  # received after the report month: still received
            elif fate < 0.05:
                file = file.out_of_scope(day)
            else:
                steps = [_day(day, rng.uniform(0, 3)), _day(day, rng.uniform(3, 10))]
                file = file.acknowledge(min(steps[0], today))
                if steps[1] <= today:
                    if fate < 0.10:
                        file = file.not_searching(steps[1])
                    else:
                        file = file.confirm(steps[1]).to_waiting(steps[1])
                        proposed = max(steps[1], ends - dt.timedelta(days=10))
                        if fate < 0.65 and proposed <= today:
                            gp = rng.choice(gp_ids)
                            file = file.propose(gp, proposed)
                            ledger.append(
                                PlacementRecorded(
                                    gp, Month.of(proposed), request.id, request.persons, proposed
                                )
                            )
                            if ends <= today:
                                file = file.accept(gp, max(ends, proposed))
                        elif fate >= 0.65 and ends <= today:
                            exits = (file.withdraw, file.other_solution)
                            file = rng.choice(exits)(max(ends, steps[1]))
            identity = PatientIdentity(
                last_name=rng.choice(_LAST),
                first_name=rng.choice(_FIRST),
                phone=f"06 00 {i // 10000 % 100:02d} {i // 100 % 100:02d} {i % 100:02d}",
                email=f"patient{i}@example.invalid",
            )
            store.add_request(request, identity, file)
        store.append_ledger(ledger)
    return today


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--physicians", type=int, default=1_000)
    parser.add_argument("--months", type=int, default=30, help="months of history")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--memory", action="store_true", help="MemoryStore instead of SQLite")
    parser.add_argument("--skip-all", action="store_true", help="skip the all-requests workbook")
    parser.add_argument(
        "--path", type=Path, help="SQLite register file: reused if it exists, else built and kept"
    )
    args = parser.parse_args(argv)

    scratch = tempfile.TemporaryDirectory(prefix="mt-access-report-")
    folder = Path(scratch.name)
    figures: dict[str, float] = {}
    kind = "MemoryStore" if args.memory else "SQLiteStore"
    print(
        f"Monthly report: {args.requests:,} requests over {args.months} months, "
        f"{args.physicians:,} GPs, {kind} (Python {sys.version.split()[0]})"
    )
    try:
        store: Any
        reuse = args.path is not None and args.path.exists() and not args.memory
        if args.memory:
            store = MemoryStore()
        else:
            from mt_access.store import SQLiteStore

            store = SQLiteStore(args.path or folder / "registre.sqlite")
        if reuse:
            today = REPORT_MONTH.last_day
            print(f"  reusing {args.path} ({store.count_requests():,} requests)")
        else:
            with timed("build the register (one transaction)", figures):
                today = build(store, args.requests, args.physicians, args.months, args.seed)
        policy = mt_access.load_policy("voironnais")
        register = Register(store, policy)
        counts = register.describe()["requests"]
        print(f"  states: {counts}")

        print(f"Report of {REPORT_MONTH}")
        with timed("indicators(register, month)", figures, TARGET_REPORT_S):
            result = indicators(register, REPORT_MONTH)
        with timed("write_follow_up_workbook(register, path, month)", figures, TARGET_REPORT_S):
            path = write_follow_up_workbook(register, folder / "suivi.xlsx", REPORT_MONTH)
        print(f"  -> workbook {path.stat().st_size / 2**20:.1f} MiB, indicators included")
        with timed("write_monthly_report (workbook + 2 plots)", figures, TARGET_REPORT_S):
            report = write_monthly_report(register, REPORT_MONTH, folder / "rapport")
        print(f"  -> {', '.join(p.name for p in (report.workbook, *report.plots))}")
        from mt_access.maps import availability_map

        with timed("availability_map(register, end of month).save", figures):
            availability_map(register, REPORT_MONTH.last_day).save(folder / "carte.html")
        both = figures["write_monthly_report (workbook + 2 plots)"]
        both += figures["availability_map(register, end of month).save"]
        verdict = "met" if both <= TARGET_REPORT_S else "MISSED"
        print(
            f"  mt-access rapport (report + map): {both:.3f} s "
            f"(target {TARGET_REPORT_S} s: {verdict})"
        )
        for line in result.summary().splitlines():
            print(f"     {line}")

        print("For information")
        if not args.skip_all:
            with timed("workbook of every request (all_requests=True)", figures):
                write_follow_up_workbook(
                    register, folder / "suivi_complet.xlsx", REPORT_MONTH, all_requests=True
                )
        with timed("report_plots (12 months, 2 PNG)", figures):
            report_plots(register, REPORT_MONTH, folder)
        waiting = register.waiting()
        if waiting:
            last = waiting[-1].id
            with timed("waiting_position(register, id, on)", figures):
                position = waiting_position(register, last, today)
            print(f"     {position.message}")
    finally:
        scratch.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
