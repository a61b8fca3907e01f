"""Crash safety of the SQLite register and of the PostgreSQL one: a process killed with SIGKILL
at a random moment leaves the register as it was after a whole number of its transactions,
never in between.

A worker (``tests/crash_worker.py``) drives a real register file through
:class:`~mt_access.register.Register`: match runs, GP answers, new requests, each one store
transaction. The test kills it at a random moment (a random step, a random delay after
the step began: reading, computing, writing or committing), many times over the same file.
After each kill:

* the file opens and :meth:`SQLiteStore.integrity_check` finds nothing;
* no committed transaction is lost: the file holds at least every step the worker reported
  done, and at most one more (killed between the commit and its report);
* the file is *exactly* the state after a whole number of steps: the same steps replayed on a
  :class:`MemoryStore` give equal contents, read through every method of the store;
* each run's proposals and ledger placements are all there (or the run is not).

Iterations: ``MT_ACCESS_CRASH_ITERATIONS``, else 30 with ``HYPOTHESIS_PROFILE=ci`` (50 for
PostgreSQL), else 6. The PostgreSQL case runs the same worker on a database of the throwaway
server (``tests/pg_server.py``): there the server rolls back the transaction of the killed
client's connection.
The kill moments are random; a failure names its seed, which ``MT_ACCESS_CRASH_SEED`` replays
(as far as the timing of a kill can be replayed).
The verification alternates between a read-only opening (which leaves the write-ahead log of
the killed worker for the next worker to recover) and a read-write one. Generated data only.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from crash_worker import register_on, setup, step
from mt_access import Event, PlacementRecorded
from mt_access.register import Register
from mt_access.store import MemoryStore, Store, open_store

WORKER = Path(__file__).with_name("crash_worker.py")
MAX_STEP = 6  # the worker is killed during or after one of its first steps ...
MAX_DELAY = 0.1  # ... this many seconds at most after it began it (a step takes 10-100 ms)


def iterations(ci: int = 30) -> int:
    configured = os.environ.get("MT_ACCESS_CRASH_ITERATIONS")
    if configured:
        return int(configured)
    return ci if os.environ.get("HYPOTHESIS_PROFILE") == "ci" else 6


def contents(store: Store) -> dict[str, object]:
    """Everything the store holds, read through its methods."""
    ids = [s.id for s in store.summaries()]
    return {
        "requests": store.requests(),
        "summaries": store.summaries(),
        "identities": {rid: store.get_identity(rid) for rid in ids},
        "files": store.get_files(ids),
        "erased": {rid: store.erased_on(rid) for rid in ids},
        "count": store.count_requests(),
        "persons": list(store.known_persons()),
        "transitions": store.transitions(),
        "physicians": store.physicians(),
        "ledger": store.ledger_entries(),
        "runs": store.runs(),
    }


def check_runs(store: Store) -> None:
    """Each recorded run has all its proposals and placements; nothing belongs to a run that
    is not recorded."""
    runs = store.runs()
    assert [r.number for r in runs] == list(range(1, len(runs) + 1))
    proposals = Counter(
        t.comment.split(" (")[0]
        for t in store.transitions()
        if t.event is Event.PROPOSE and t.comment.startswith("appariement n° ")
    )
    assert proposals == Counter(
        {f"appariement n° {r.number}": r.placements for r in runs if r.placements}
    )
    placed = sum(isinstance(e, PlacementRecorded) for e in store.ledger_entries())
    assert placed == sum(r.placements for r in runs)


def kill_a_worker(path: Path | str, target: int, delay: float) -> list[str]:
    """Start a worker on ``path`` (a file or a URL) and SIGKILL it ``delay`` seconds after
    it began its step number ``target``; return the kinds of the steps it reported done."""
    worker = subprocess.Popen(
        [sys.executable, str(WORKER), str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert worker.stdout is not None
    assert worker.stderr is not None
    lines: list[str] = []
    try:
        for line in worker.stdout:
            lines.append(line)
            if line == f"begin {target}\n":
                break
        else:
            worker.wait(timeout=60)
            err = worker.stderr.read()
            pytest.fail(f"the worker stopped before step {target}:\n{''.join(lines)}\n{err}")
        try:
            worker.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            worker.send_signal(signal.SIGKILL)
        # Read the rest through the same file object: it may already hold some lines.
        lines.extend(worker.stdout.readlines())
        err = worker.stderr.read()
        worker.wait(timeout=60)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
        worker.stdout.close()
        worker.stderr.close()
    assert worker.returncode == -signal.SIGKILL, f"the worker stopped by itself:\n{err}"
    return [line.split()[2] for line in lines if line.startswith("done ")]


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_a_killed_worker_leaves_whole_transactions(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if backend == "postgres":
        location: Path | str = request.getfixturevalue("pg_url")
        count = iterations(ci=50)
    else:
        location = tmp_path / "registre.sqlite"
        count = iterations()
    with open_store(location, create=True) as store:
        setup(register_on(store))
    replica_store = MemoryStore()
    replica: Register = register_on(replica_store)
    setup(replica)
    with open_store(location, readonly=True) as store:
        assert replica_store.version == store.version

    seed = int(os.environ.get("MT_ACCESS_CRASH_SEED") or random.randrange(2**32))
    rng = random.Random(seed)
    steps: Counter[str] = Counter()
    for iteration in range(count):
        where = f"iteration {iteration}, seed {seed}"
        before = replica_store.version
        target = rng.randrange(MAX_STEP) if iteration else MAX_STEP - 1  # some runs first
        kinds = kill_a_worker(location, target, rng.uniform(0.0, MAX_DELAY))
        steps.update(kinds)
        done = len(kinds)

        store = open_store(location, readonly=iteration % 2 == 0)
        try:
            assert store.integrity_check() == [], where
            committed = store.version - before
            assert done <= committed <= done + 1, f"{where}: {done} reported, {committed} found"
            while replica_store.version < store.version:
                step(replica)
            assert replica_store.version == store.version, where
            assert contents(store) == contents(replica_store), where
            check_runs(store)
        finally:
            store.close()
    assert steps["run"] >= 1, f"no match run was committed: {dict(steps)} (seed {seed})"
