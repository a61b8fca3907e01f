"""Benchmark of the PostgreSQL register store against the SQLite one.

Builds one CPTS's register of generated data (the same as ``bench_register.py``: Voironnais
policy, no real person) in an SQLite file, copies it into a PostgreSQL database
(``mt-access registre copier``'s :func:`mt_access.store.copy.copy_register`) as CPTS
``cpts-1`` and, with ``--cpts N``, as ``N - 1`` more CPTS of the same database (a region:
the others are the load the first one shares the tables with). Then times, on the file and
on the database, for CPTS ``cpts-1``:

1. open and list the waiting requests (``summaries([WAITING])``): target ≤ 1 s;
2. one match run and its commit (``Register.run_match``): target on PostgreSQL ≤ 2 × the
   same run on SQLite;
3. the integrity check.

Prints figures, never asserts on time. Without ``--url``, starts a throwaway server with
``tests/pg_server.py`` (Debian's ``initdb``/``pg_ctl``; fsync off). Usage::

    .venv/bin/python benchmarks/bench_postgres.py --requests 20000 --physicians 200 --cpts 2
    .venv/bin/python benchmarks/bench_postgres.py --url postgresql://moi@localhost/bench
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
from pathlib import Path

import mt_access
from mt_access.lifecycle import RequestState
from mt_access.register import Register
from mt_access.store import SQLiteStore
from mt_access.store.copy import copy_register
from mt_access.store.postgres import PostgresStore

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parent.parent / "tests"))
from bench_register import build, timed

TARGET_LIST_S = 1.0


def measure(store: SQLiteStore | PostgresStore, on: dt.date, figures: dict[str, float]) -> None:
    kind = "PostgreSQL" if isinstance(store, PostgresStore) else "SQLite"
    with timed(f"{kind}: summaries([WAITING])", figures, TARGET_LIST_S):
        listing = store.summaries([RequestState.WAITING])
    register = Register(store, mt_access.load_policy("voironnais"))
    register.preview_match(on - dt.timedelta(days=400))  # load the commune reference
    with timed(f"{kind}: Register.run_match (read, match, commit)", figures):
        run = register.run_match(on)
    with timed(f"{kind}: integrity_check()", figures):
        problems = store.integrity_check()
    print(
        f"  -> {len(listing):,} waiting; run {run.record.number}: {len(run.proposed):,} "
        f"proposals; {len(problems)} problem(s)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--physicians", type=int, default=400)
    parser.add_argument("--cpts", type=int, default=1, help="CPTS in the database")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--url", help="an empty database (default: a throwaway server)")
    args = parser.parse_args(argv)

    server = None
    if args.url:
        url = args.url
    else:
        from pg_server import start_server

        server = start_server()
        name = server.new_database()
        url = server.url(name)
    scratch = tempfile.TemporaryDirectory(prefix="mt-access-bench-")
    figures: dict[str, float] = {}
    print(
        f"One CPTS: {args.requests:,} requests, {args.physicians:,} GPs; "
        f"{args.cpts} CPTS in the database"
    )
    try:
        path = Path(scratch.name) / "registre.sqlite"
        with timed("build the SQLite register", figures):
            on = build(path, args.requests, args.physicians, args.seed)
        with SQLiteStore(path, readonly=True) as source:
            for n in range(1, args.cpts + 1):
                with (
                    PostgresStore(url, cpts=f"cpts-{n}") as target,
                    timed(f"copy into PostgreSQL as cpts-{n}", figures),
                ):
                    copy_register(source, target)
        print("Measures")
        with SQLiteStore(path) as store:
            measure(store, on, figures)
        with timed("PostgreSQL: open", figures):
            database = PostgresStore(url, cpts="cpts-1")
        with database:
            measure(database, on, figures)
        ratio = (
            figures["PostgreSQL: Register.run_match (read, match, commit)"]
            / figures["SQLite: Register.run_match (read, match, commit)"]
        )
        print(f"  run + commit, PostgreSQL / SQLite: {ratio:.2f} (target ≤ 2)")
    finally:
        scratch.cleanup()
        if server is not None:
            server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
