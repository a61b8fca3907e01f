"""Pull mode at 100,000 requests: a GP's portal page and a pick, in processor time.

Works on a copy of a register file (by default ``/tmp/lead-web.sqlite``, the register of
``bench_web.py``: 100,000 generated requests, 1,000 GPs; never changed) with its policy
(Voironnais) routed ``pull`` at every level (``pick_limit: 5``), through Flask's test client
in this process (no server, no network), and prints the processor time (``time.process_time``)
and wall time of:

* the lists made from the register (:meth:`Register.pull_index`, one engine run);
* a GP's page: the first (lists made), steady (lists kept), the first after another
  connection's write (a pick by another GP: the kept lists without what the ledger placed
  since) and once :data:`~mt_access.web.portal_pull.PULL_SECONDS` have passed (the kept
  lists, new ones made aside, the pseudonyms taken from the previous ones: the rest of
  that making's time in this process is printed too, processor time being the process's).
  By default the lists are made by the worker process (as « mt-access serve »: this
  process only unpickles and swaps them in; the worker's own times are logged);
  ``--dans-le-processus``: in a thread of this process instead (as before);
* a pick through the page (POST): with the lists current, and after another connection's
  write (the picked request routed alone inside the write transaction);
* ``Register.choose`` without lists made beforehand (the command line: the lists made
  first, outside the write transaction), and the time inside the write transaction.

Usage::

    .venv/bin/python benchmarks/bench_pull.py
    .venv/bin/python benchmarks/bench_pull.py --registre /tmp/lead-web.sqlite --repetitions 5

Never asserts on time. Needs the ``web`` extra.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import pickle
import re
import resource
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import mt_access
from mt_access.policies.routers import level_labels
from mt_access.register import Register
from mt_access.store import SQLiteStore
from mt_access.web import context, dashboard_figures, portal_pull
from mt_access.web.app import create_app
from mt_access.web.portal_links import issue_link
from mt_access.web.portal_pull import PULL_SECONDS

SECRET = "clé du banc d'essai du mode pull " * 2
MARKER = "bench_web_date"


class Clock:
    """The application's clock, moved by hand."""

    def __init__(self) -> None:
        self.at = dt.datetime(2026, 3, 15, 9, 0, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.at


def pull_policy(folder: Path) -> mt_access.Policy:
    """The shipped Voironnais policy with every level routed ``pull`` (``pick_limit: 5``)."""
    text = (Path(__file__).resolve().parents[1] / "policies" / "voironnais.yaml").read_text("utf-8")
    head, rest = text.split("routing:\n", 1)
    for level in ("priority", "non_priority"):
        rest = rest.replace(
            f"  {level}:\n    router: monthly_quota",
            f"  {level}:\n    router: pull\n    pick_limit: 5",
            1,
        )
    path = folder / "voironnais-pull.yaml"
    path.write_text(head + "routing:\n" + rest, encoding="utf-8")
    return mt_access.load_policy(path)


def timed(what: Callable[[], Any]) -> tuple[float, float, Any]:
    """Processor and wall milliseconds of ``what()``, and its value."""
    cpu, wall = time.process_time(), time.perf_counter()
    value = what()
    return (time.process_time() - cpu) * 1000, (time.perf_counter() - wall) * 1000, value


def line(label: str, cpu: float, wall: float) -> None:
    print(f"  {label:<58} {cpu:>9.1f} ms CPU {wall:>9.1f} ms wall")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--registre", type=Path, default=Path("/tmp/lead-web.sqlite"))
    parser.add_argument("--repetitions", type=int, default=5, help="steady pages (5)")
    parser.add_argument(
        "--dans-le-processus",
        action="store_true",
        help="the lists made in a thread of this process, not by the worker process",
    )
    args = parser.parse_args(argv)
    if not args.registre.exists():
        raise SystemExit(f"{args.registre} : introuvable (bench_web.py --garder le construit)")
    with tempfile.TemporaryDirectory(prefix="bench-pull-") as folder:
        path = Path(folder) / "registre.sqlite"
        shutil.copy(args.registre, path)
        return run(path, pull_policy(Path(folder)), args.repetitions, not args.dans_le_processus)


def run(path: Path, policy: mt_access.Policy, repetitions: int, worker: bool) -> int:
    with SQLiteStore(path, create=False) as store:
        recorded = store.settings().get(MARKER)
    on = dt.date.fromisoformat(recorded) if recorded else dt.date(2026, 3, 15)
    print(
        f"{path.stat().st_size / 1e6:.0f} MB register, {on}, policy {policy.code} routed pull "
        f"({', '.join(level_labels(policy))}); load average "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    other = Register(SQLiteStore(path, create=False), policy)
    cpu, wall, index = timed(lambda: other.pull_index(on))
    gps = index.physician_ids()
    sizes = sorted(index.count(pid) for pid in gps)
    print(
        f"{len(index.pseudonyms):,} requests routed; {len(gps)} GPs with a list, "
        f"{sizes[len(sizes) // 2]:,} entries on the median list, {sum(sizes):,} in all"
    )
    line("lists made (Register.pull_index)", cpu, wall)
    print(f"  peak RSS of the process after making them: {_peak_mib():,.0f} MiB")
    cpu, wall, sent = timed(lambda: pickle.dumps(index))
    line(f"  pickled as a worker sends them ({len(sent) / 1e6:.1f} MB)", cpu, wall)
    cpu, wall, _ = timed(lambda: pickle.loads(sent))
    line("  unpickled (the server's share of a making by the worker)", cpu, wall)
    clock = Clock()
    app = create_app(
        path,
        policy,
        config={
            "SECRET_KEY": SECRET,
            "TESTING": True,
            "WTF_CSRF_ENABLED": False,
            "MT_ACCESS_CLOCK": clock,
            "MT_ACCESS_TODAY": lambda: on,
            "MT_ACCESS_FIGURES": None if worker else False,
        },
    )
    said = logging.StreamHandler(sys.stdout)
    said.setFormatter(logging.Formatter("    [%(name)s] %(message)s"))
    logging.getLogger(portal_pull.__name__).addHandler(said)  # the worker's own times
    logging.getLogger(portal_pull.__name__).setLevel(logging.INFO)
    print(f"the lists made {'by the worker process' if worker else 'in this process'}")
    try:
        return _pages(app, other, path, policy, on, index, gps, clock, repetitions)
    finally:
        dashboard_figures.shut_down(app)


def _pages(
    app: Any,
    other: Register,
    path: Path,
    policy: mt_access.Policy,
    on: dt.date,
    index: Any,
    gps: list[str],
    clock: Clock,
    repetitions: int,
) -> int:
    places = {pid: (index.list_of(pid, limit=0) or _never()).places_left or 0 for pid in gps}
    gp, rival = sorted(gps, key=lambda pid: (-places[pid], pid))[:2]
    url = "/medecin/" + issue_link(other.store, SECRET, gp, actor="cli:bench", clock=clock)
    client = app.test_client()

    def page() -> str:
        response = client.get(url)
        assert response.status_code == 200, response.status_code
        return response.get_data(as_text=True)

    def pick(pseudonym: str) -> str:
        response = client.post(f"{url}/choix", data={"pseudonyme": pseudonym})
        assert response.status_code == 303, response.status_code
        return client.get(response.headers["Location"]).get_data(as_text=True)

    print(
        f"GP {gp}'s page ({index.count(gp):,} entries on the list, the first 200 shown; "
        f"{places[gp]} places left; the other GP {rival}: {places[rival]}):"
    )
    cpu, wall, shown = timed(page)
    line("first page (lists made)", cpu, wall)
    steady = [timed(page)[:2] for _ in range(repetitions)]
    line(f"steady page (median of {repetitions})", *_median(steady))
    listed = re.findall(r'name="pseudonyme" type="hidden" value="([^"]+)"', shown)
    # another connection writes: the rival GP picks a request of both lists
    theirs = {e.pseudonym for e in (index.list_of(rival) or _never()).entries}
    common = [p for p in listed if p in theirs]
    other.choose(rival, common[0], on, index=index)
    cpu, wall, after = timed(page)
    assert common[0] not in after
    line("first page after another GP's pick (kept lists)", cpu, wall)
    steady = [timed(page)[:2] for _ in range(repetitions)]
    line(f"steady page after it (median of {repetitions})", *_median(steady))
    clock.at += dt.timedelta(seconds=PULL_SECONDS)
    cpu, wall, _ = timed(page)
    line(f"page {PULL_SECONDS} s later (kept lists, new ones made aside)", cpu, wall)
    cpu, wall, _ = timed(lambda: _aside(app))
    line("  the lists made aside (the rest of their thread)", cpu, wall)
    cpu, wall, _ = timed(page)
    line("  the page after (the new lists)", cpu, wall)
    print("a pick through the page (POST and the page after it):")
    cpu, wall, said = timed(lambda: pick(common[1]))
    assert "Vous avez choisi la demande" in said, "pick refused"
    line("pick, lists current", cpu, wall)
    other.choose(rival, common[2], on, index=index)  # another connection writes
    cpu, wall, said = timed(lambda: pick(common[3]))
    assert "Vous avez choisi la demande" in said, "pick refused"
    line("pick after another connection's write (request alone)", cpu, wall)
    print("Register.choose (the command line):")
    fresh = Register(SQLiteStore(path, create=False), policy)
    inside: list[float] = []
    original = fresh._operation

    def measured() -> Any:
        # the time inside the write transaction
        manager = original()

        class Timed:
            def __enter__(self) -> None:
                self.cpu = time.process_time()
                manager.__enter__()

            def __exit__(self, *exc: object) -> bool | None:
                try:
                    return manager.__exit__(*exc)  # type: ignore[func-returns-value]
                finally:
                    inside.append((time.process_time() - self.cpu) * 1000)

        return Timed()

    fresh._operation = measured  # type: ignore[method-assign]
    cpu, wall, _ = timed(lambda: fresh.choose(rival, common[4], on))
    line("choose, no lists given (made before the transaction)", cpu, wall)
    line("  of which inside the write transaction (CPU)", inside[-1], float("nan"))
    index = fresh.pull_index(on)
    other.choose(gp, common[5], on, index=index)  # another connection writes
    cpu, wall, _ = timed(lambda: fresh.choose(rival, common[6], on, index=index))
    line("choose with lists made before another write", cpu, wall)
    line("  of which inside the write transaction (CPU)", inside[-1], float("nan"))
    print(
        f"peak RSS {_peak_mib():,.0f} MiB; load average "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    return 0


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _aside(app: Any) -> None:
    """Wait for the lists made aside (web/portal_pull.py: the thread or the worker process
    holds their lock until they are kept)."""
    lock = app.extensions[context.EXTENSION].data_lock("portail.listes")
    with lock:
        pass


def _median(runs: list[tuple[float, float]]) -> tuple[float, float]:
    return statistics.median(c for c, _ in runs), statistics.median(w for _, w in runs)


def _never() -> Any:
    raise AssertionError("a GP of the index without a list")


if __name__ == "__main__":
    sys.exit(main())
