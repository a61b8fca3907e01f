"""Benchmarks of the simulation (:mod:`mt_access.simulation`): wall time of simulated years.

Prints figures, never asserts on time. Four benchmarks (see ``docs/benchmarks.md``):

1. ``cpts``: a 12-month simulation of a Voironnais-sized CPTS (Voironnais policy, about 100
   requests a month, 60 generated GPs): median wall time of one replication (target ≤ 1 s).
2. ``breakdown``: where a replication's time goes, in this process: the CPU time per
   replication of a comparison's run, the part spent in the matching runs
   (:class:`~mt_access.simulation.quick_match.QuickMatcher` and recording in the ledger) and
   the rest (generating the requests, the answers, the indicators); and the same
   replications with every month on ``match`` (``quick=False``, the reference), for the
   ratio of the two in one process.
3. ``replications``: 1,000 replications of it with :func:`mt_access.simulation.compare`
   (and 100), with 1 and 2 processes (target: 1,000 on two cores ≤ 60 s), and the time per
   replication; also the CPU time of this process and of the workers, which tells the wall
   time on free cores when other processes share the machine.
4. ``department``: a 12-month simulation of the Nord (647 communes, 2.6 million
   inhabitants, default rates: about 2,200 requests a month; 7 GPs per 10,000 inhabitants:
   about 1,830 GPs; a policy over the whole département built from the Voironnais rules):
   wall time of one replication, and of each month.

Usage::

    .venv/bin/python benchmarks/bench_simulation.py              # all four (about 5 minutes)
    .venv/bin/python benchmarks/bench_simulation.py --quick      # smoke run (100 replications)
    .venv/bin/python benchmarks/bench_simulation.py --only replications --replications 1000 \
        --workers 2                                              # the headline figure alone
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"

TARGET_CPTS_S = 1.0
TARGET_REPLICATIONS_S = 60.0


def _status(value: float, target: float) -> str:
    return "met" if value <= target else "MISSED"


def voironnais_scenario(months: int = 12) -> tuple[Any, Any]:
    import mt_access
    from mt_access.simulation import GPRates, PatientRates, Scenario

    policy = mt_access.load_policy("voironnais")
    scenario = Scenario.for_policy(
        policy,
        start=mt_access.Month(2026, 1),
        months=months,
        seed=2026,
        patients=PatientRates(monthly_requests=100),
        gps=GPRates(count=60),
    )
    return scenario, policy


def bench_cpts(runs: int) -> dict[str, Any]:
    from mt_access.simulation import simulate

    scenario, policy = voironnais_scenario()
    t0 = time.perf_counter()
    simulate(scenario, policy, replication=0)  # warm-up: reference, register, caches
    warm = time.perf_counter() - t0
    times, cpu = [], []
    requests = 0
    for r in range(1, runs + 1):
        w, c = time.perf_counter(), time.process_time()
        run = simulate(scenario, policy, replication=r)
        times.append(time.perf_counter() - w)
        cpu.append(time.process_time() - c)
        requests += sum(m.arrivals for m in run.months)
    median = statistics.median(times)
    print(
        f"1. CPTS, 12 months (Voironnais policy, 100 requests/month, 60 GPs): "
        f"median {median:.3f} s wall, {statistics.median(cpu):.3f} s CPU over {runs} runs "
        f"(first run with warm-up {warm:.2f} s); {requests / runs:.0f} requests per run; "
        f"target ≤ {TARGET_CPTS_S:.0f} s: {_status(median, TARGET_CPTS_S)}"
    )
    return {
        "runs": runs,
        "median_s": median,
        "cpu_median_s": statistics.median(cpu),
        "max_s": max(times),
        "warm_up_s": warm,
        "requests_per_run": requests / runs,
    }


def bench_breakdown(runs: int) -> dict[str, Any]:
    from mt_access.result import MatchResult
    from mt_access.simulation import runner
    from mt_access.simulation.quick_match import QuickMatcher, QuickResult

    scenario, policy = voironnais_scenario()
    runner.run_summary(scenario, policy, 0)  # warm-up
    engine = 0.0
    match, record = runner.match, MatchResult.record
    quick, quick_record = QuickMatcher.__call__, QuickResult.record

    def timed(function: Any) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            nonlocal engine
            t = time.process_time()
            try:
                return function(*args, **kwargs)
            finally:
                engine += time.process_time() - t

        return call

    runner.match = timed(match)  # type: ignore[assignment]
    MatchResult.record = timed(record)  # type: ignore[method-assign]
    QuickMatcher.__call__ = timed(quick)  # type: ignore[method-assign]
    QuickResult.record = timed(quick_record)  # type: ignore[method-assign]
    gc.freeze()  # as compare() does
    try:
        c = time.process_time()
        for r in range(1, runs + 1):
            runner.run_summary(scenario, policy, r)
        cpu = (time.process_time() - c) / runs
        engine_quick = engine / runs
        engine = 0.0
        c = time.process_time()
        for r in range(1, runs + 1):
            runner.run_summary(scenario, policy, r, quick=False)
        cpu_reference = (time.process_time() - c) / runs
    finally:
        gc.unfreeze()
        runner.match = match  # type: ignore[assignment]
        MatchResult.record = record  # type: ignore[method-assign]
        QuickMatcher.__call__ = quick  # type: ignore[method-assign]
        QuickResult.record = quick_record  # type: ignore[method-assign]
    engine_reference = engine / runs
    print(
        f"2. Where a replication of (1) goes, as a comparison runs it ({runs} runs, this "
        f"process): {cpu * 1000:.0f} ms CPU per replication, of which the matching runs (12 × "
        f"QuickMatcher and recording in the ledger) {engine_quick * 1000:.0f} ms "
        f"({engine_quick / cpu:.0%}) and the simulation around it "
        f"{(cpu - engine_quick) * 1000:.0f} ms ({1 - engine_quick / cpu:.0%}); with every "
        f"month on match (quick=False, the reference): {cpu_reference * 1000:.0f} ms, of which "
        f"match and result.record {engine_reference * 1000:.0f} ms; quick / reference "
        f"{cpu / cpu_reference:.2f}"
    )
    return {
        "runs": runs,
        "cpu_per_replication_s": cpu,
        "engine_s": engine_quick,
        "cpu_per_replication_reference_s": cpu_reference,
        "engine_reference_s": engine_reference,
    }


def bench_replications(replications: int, workers: int) -> dict[str, Any]:
    from mt_access.simulation import compare

    scenario, policy = voironnais_scenario()
    load = os.getloadavg()[0]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    here = time.process_time()
    t0 = time.perf_counter()
    result = compare(scenario, policy, replications=replications, workers=workers)
    wall = time.perf_counter() - t0
    here = time.process_time() - here
    after = resource.getrusage(resource.RUSAGE_CHILDREN)  # the workers, once stopped
    children = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    cpu = here + children
    placed = np.sort(result.values("ensemble", "part placée")[result.variants[0]])
    headline = replications == 1000 and workers == 2
    print(
        f"3. {replications} replications of (1), workers={workers} "
        f"({result.workers} process(es) used): {wall:.1f} s wall "
        f"({wall / replications * 1000:.0f} ms per replication, starting the workers "
        f"included); CPU {cpu:.1f} s ({here:.1f} s here, {children:.1f} s in workers), i.e. "
        f"{cpu / max(workers, 1):.1f} s per process (the wall time on free cores); load "
        f"average {load:.2f} → {os.getloadavg()[0]:.2f}; share placed {placed.mean():.3f} "
        f"[{placed[int(0.05 * len(placed))]:.3f} – {placed[int(0.95 * len(placed)) - 1]:.3f}]"
        + (
            f"; target ≤ {TARGET_REPLICATIONS_S:.0f} s: {_status(wall, TARGET_REPLICATIONS_S)}"
            if headline
            else ""
        )
    )
    return {
        "replications": replications,
        "workers": workers,
        "processes_used": result.workers,
        "wall_s": wall,
        "cpu_here_s": here,
        "cpu_workers_s": children,
        "load_start": load,
        "load_end": os.getloadavg()[0],
        "share_placed_mean": float(placed.mean()),
    }


def bench_department() -> dict[str, Any]:
    import mt_access
    from mt_access.simulation import Scenario, policy_variant, simulate
    from mt_access.simulation import runner as runner_module

    reference = mt_access.geo.bundled_reference()
    nord = sorted(c.insee for c in reference if c.department == "59" and c.point is not None)
    base = mt_access.load_policy("voironnais")
    policy = policy_variant(
        base,
        changes={
            "identity": {"name": "Nord (simulation)", "code": "nord", "department": "59"},
            "territory": {"communes": nord},
        },
    )
    t0 = time.perf_counter()
    scenario = Scenario.for_policy(policy, start=mt_access.Month(2026, 1), months=12, seed=59)
    register = scenario.register
    setup = time.perf_counter() - t0
    month_times: list[float] = []
    original = runner_module._Simulation._month

    def timed(self: Any, i: int, month: Any) -> None:
        t = time.perf_counter()
        original(self, i, month)
        month_times.append(time.perf_counter() - t)

    runner_module._Simulation._month = timed  # type: ignore[method-assign]
    try:
        t1 = time.perf_counter()
        run = simulate(scenario, policy)
        wall = time.perf_counter() - t1
    finally:
        runner_module._Simulation._month = original  # type: ignore[method-assign]
    arrivals = sum(m.arrivals for m in run.months)
    waiting = [m.count(mt_access.RequestState.WAITING) for m in run.months]
    print(
        f"4. Nord, 12 months ({len(nord)} communes, {scenario.population:,} inhabitants, "
        f"{len(register)} GPs, {arrivals:,} requests): {wall:.1f} s wall "
        f"(+ {setup:.1f} s to generate the GPs); per month {min(month_times):.2f}–"
        f"{max(month_times):.2f} s; waiting list at the end of each month: {waiting}"
    )
    return {"communes": len(nord), "population": scenario.population, "gps": len(register),
            "requests": arrivals, "wall_s": wall, "setup_s": setup,
            "month_s": month_times, "waiting": waiting}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="100 replications, 3 CPTS runs")
    parser.add_argument(
        "--only",
        action="append",
        choices=("cpts", "breakdown", "replications", "department"),
        default=None,
    )
    parser.add_argument("--replications", type=int, action="append", help="default: 100 and 1000")
    parser.add_argument("--workers", type=int, action="append", help="default: 1 and 2")
    parser.add_argument("--runs", type=int, default=None, help="CPTS runs (default 10)")
    parser.add_argument("--no-json", action="store_true")
    args = parser.parse_args(argv)
    only = set(args.only or ("cpts", "breakdown", "replications", "department"))
    counts = args.replications or ([100] if args.quick else [100, 1000])
    workers = args.workers or [1, 2]
    runs = args.runs or (3 if args.quick else 10)
    print(
        f"Python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} cores; "
        f"load average at start {os.getloadavg()[0]:.2f}"
    )
    results: dict[str, Any] = {"load_average_start": os.getloadavg()}
    if "cpts" in only:
        results["cpts"] = bench_cpts(runs)
    if "breakdown" in only:
        results["breakdown"] = bench_breakdown(5 if args.quick else 20)
    if "replications" in only:
        results["replications"] = [
            bench_replications(count, w) for count in counts for w in workers
        ]
    if "department" in only:
        results["department"] = bench_department()
    results["load_average_end"] = os.getloadavg()
    print(f"load average at end {os.getloadavg()[0]:.2f}")
    if not args.no_json:
        RESULTS.mkdir(exist_ok=True)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        path = RESULTS / f"simulation-{stamp}{'-quick' if args.quick else ''}.json"
        path.write_text(json.dumps(results, indent=2, default=str), encoding="utf-8")
        print(f"written: {path.relative_to(HERE.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
