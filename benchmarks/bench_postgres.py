"""Benchmark of the PostgreSQL register store against the SQLite one, and of many clients.

Builds one CPTS's register of generated data (the same as ``bench_register.py``: Voironnais
policy, no real person) in an SQLite file and copies it into a PostgreSQL database through
the store (``mt-access registre copier``'s :func:`mt_access.store.copy.copy_register`) as
CPTS ``cpts-1``. With ``--cpts N``, the database is filled as a region: ``N - 1`` more CPTS
(``cpts-2``...) are copies of ``cpts-1``'s rows made in SQL (one ``INSERT ... SELECT`` per
table, every table's rows under each other CPTS id: each a valid register, fast to make).
``--requests`` and ``--gps`` are the totals of the database, shared equally by the CPTS.
Then times, on the file and on the database, for CPTS ``cpts-1``:

1. open and list the waiting requests (``summaries([WAITING])``): target ≤ 1 s;
2. one match run and its commit (``Register.run_match``): target on PostgreSQL ≤ 2 × the
   same run on SQLite;
3. the integrity check;
4. with ``--clients K`` (default 20), ``K`` processes, each with its own ``PostgresStore``
   on ``cpts-1``, record GPs' answers (``Register.answer``, acceptances and refusals) for
   ``--duree`` seconds: first to the run's proposals (distinct per client, except a few
   given to two clients at once, of which exactly one must win and the other get the
   French refusal), then, when a client has none left, to proposals it makes itself
   (``Register.propose`` of its own waiting requests, not timed). Prints throughput,
   latency percentiles and errors by kind, then checks that every acknowledged answer is in
   the history exactly once, that no answer refused is there, and the integrity check.

Prints figures, never asserts on time. Without ``--url``, starts a throwaway server with
``tests/pg_server.py`` (Debian's ``initdb``/``pg_ctl``; fsync off). Usage::

    .venv/bin/python benchmarks/bench_postgres.py --cpts 2 --requests 40000 --gps 800
    .venv/bin/python benchmarks/bench_postgres.py --cpts 50 --requests 1000000 --gps 20000
    .venv/bin/python benchmarks/bench_postgres.py --url postgresql://moi@localhost/bench
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import psycopg

import mt_access
from mt_access.errors import MtAccessError
from mt_access.lifecycle import RequestState
from mt_access.register import Register
from mt_access.store import SQLiteStore
from mt_access.store.copy import copy_register
from mt_access.store.postgres import PostgresStore
from mt_access.store.postgres_schema import TABLES
from mt_access.transitions import Event

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parent.parent / "tests"))
from bench_register import build, timed

TARGET_LIST_S = 1.0
RUN = "Register.run_match (read, match, commit)"
CONTENDED = 20
MESSAGES: dict[str, str] = {}
"""In a client process: the first message of each kind of error (identifiers only)."""
"""How many of the run's proposals are given to two clients at once."""


def measure(
    store: SQLiteStore | PostgresStore, on: dt.date, figures: dict[str, float]
) -> list[tuple[str, str]]:
    """Time the listing, a match run and the integrity check; the run's proposals."""
    kind = "PostgreSQL" if isinstance(store, PostgresStore) else "SQLite"
    with timed(f"{kind}: summaries([WAITING])", figures, TARGET_LIST_S):
        listing = store.summaries([RequestState.WAITING])
    register = Register(store, mt_access.load_policy("voironnais"))
    register.preview_match(on - dt.timedelta(days=400))  # load the commune reference
    cpu = time.process_time()
    with timed(f"{kind}: {RUN}", figures):
        run = register.run_match(on)
    figures[f"{kind}: run CPU"] = time.process_time() - cpu
    print(f"  {kind}: the run's CPU time in this process {figures[f'{kind}: run CPU']:.3f} s")
    calls = []
    for _ in range(50):
        start = time.perf_counter()
        store.data_version()
        calls.append(time.perf_counter() - start)
    print(f"  {kind}: data_version() median of 50: {statistics.median(calls) * 1000:.2f} ms")
    with timed(f"{kind}: integrity_check()", figures):
        problems = store.integrity_check()
    print(
        f"  -> {len(listing):,} waiting; run {run.record.number}: {len(run.proposed):,} "
        f"proposals; {len(problems)} problem(s)",
        flush=True,
    )
    return list(run.proposed)


def clone_cpts(url: str, source: str, others: list[str]) -> None:
    """Copy every row of CPTS ``source`` under each of ``others``, table by table, in one
    transaction (as the server's administrator, whom row-level security does not bind)."""
    with psycopg.connect(url) as conn:
        for table in TABLES:
            columns = conn.execute(
                "SELECT column_name, is_identity FROM information_schema.columns "
                "WHERE table_schema = 'mt_access' AND table_name = %s ORDER BY ordinal_position",
                (table,),
            ).fetchall()
            kept = [c for c, identity in columns if identity != "YES" and c != "cpts"]
            order = ", ".join(["o.n", *(f"t.{c}" for c, i in columns if i == "YES")])
            names = ", ".join(kept)
            picked = ", ".join(f"t.{c}" for c in kept)
            conn.execute(
                f"INSERT INTO mt_access.{table} (cpts, {names}) "
                f"SELECT o.cpts, {picked} FROM mt_access.{table} AS t "
                "CROSS JOIN unnest(%s::text[]) WITH ORDINALITY AS o(cpts, n) "
                f"WHERE t.cpts = %s ORDER BY {order}",
                (others, source),
            )
        conn.execute("ANALYZE")


def client(
    number: int,
    url: str,
    cpts: str,
    on: dt.date,
    answers: list[tuple[str, str, bool]],
    own: list[str],
    physicians: list[str],
    start_at: float,
    seconds: float,
) -> tuple[list[tuple[str, str, bool, str, float]], dict[str, str]]:
    """One client: answer ``answers`` then proposals it makes of its ``own`` requests, for
    ``seconds`` from ``start_at``; one ``(request, GP, accepted, outcome, latency)`` per answer
    (outcome ``ok`` or the exception's class name), and the first message of each kind of
    error."""
    rng = random.Random(number)
    done: list[tuple[str, str, bool, str, float]] = []
    messages = MESSAGES
    store = PostgresStore(url, cpts=cpts)
    register = Register(store, mt_access.load_policy("voironnais"))
    register.physicians()  # open and load before the clock starts
    gps = physicians[number % len(physicians) :] + physicians[: number % len(physicians)]
    time.sleep(max(0.0, start_at - time.time()))
    end = start_at + seconds
    pending = list(answers)
    while time.time() < end:
        if not pending:
            if not own:
                break
            request_id = own.pop()
            for physician_id in gps[:5]:
                try:
                    register.propose(request_id, physician_id, on)
                except MtAccessError:
                    continue
                pending.append((request_id, physician_id, rng.random() < 0.3))
                break
            gps = gps[5:] + gps[:5]
            continue
        request_id, physician_id, accepted = pending.pop(0)
        begin = time.perf_counter()
        try:
            register.answer(request_id, physician_id, on, accepted=accepted)
            outcome = "ok"
        except MtAccessError as error:
            outcome = type(error).__name__
            if not messages.get(outcome):
                messages[outcome] = str(error)
        done.append((request_id, physician_id, accepted, outcome, time.perf_counter() - begin))
    store.close()
    return done, dict(messages)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def concurrent_answers(
    url: str,
    on: dt.date,
    proposals: list[tuple[str, str]],
    clients: int,
    seconds: float,
    seed: int,
) -> None:
    """Run ``clients`` processes recording answers for ``seconds``; print and check."""
    rng = random.Random(seed)
    with PostgresStore(url, cpts="cpts-1") as store:
        waiting = [s.id for s in store.summaries([RequestState.WAITING])]
        physicians = [p.id for p in store.physicians()]
    proposals = sorted(proposals)
    rng.shuffle(proposals)
    contended = proposals[:CONTENDED]
    lists: list[list[tuple[str, str, bool]]] = [[] for _ in range(clients)]
    for i, (request_id, physician_id) in enumerate(contended):
        for k in (i % clients, (i + 1) % clients):
            lists[k].append((request_id, physician_id, rng.random() < 0.5))
    for i, (request_id, physician_id) in enumerate(proposals[CONTENDED:]):
        lists[i % clients].append((request_id, physician_id, rng.random() < 0.5))
    own = [waiting[k::clients] for k in range(clients)]
    start_at = time.time() + 5.0
    print(
        f"{clients} clients recording answers for {seconds:g} s on cpts-1 "
        f"({len(proposals):,} proposals of the run, {len(contended)} given to two clients; "
        f"then proposals of their own waiting requests)",
        flush=True,
    )
    context = multiprocessing.get_context("fork")
    with context.Pool(clients) as pool:
        results = pool.starmap(
            client,
            [
                (k, url, "cpts-1", on, lists[k], own[k], physicians, start_at, seconds)
                for k in range(clients)
            ],
        )
    elapsed = time.time() - start_at
    done = [row for rows, _ in results for row in rows]
    messages = {kind: text for _, found in results for kind, text in found.items()}
    ok = [row for row in done if row[3] == "ok"]
    latencies = [row[4] for row in ok]
    kinds = Counter(row[3] for row in done if row[3] != "ok")
    print(
        f"  answers acknowledged: {len(ok):,} in {elapsed:.1f} s = "
        f"{len(ok) / elapsed:.1f} answers/s ({sum(1 for r in ok if r[2]):,} acceptances)"
    )
    if latencies:
        print(
            f"  latency of an acknowledged answer: p50 {percentile(latencies, 0.5) * 1000:.0f} ms, "
            f"p95 {percentile(latencies, 0.95) * 1000:.0f} ms, "
            f"p99 {percentile(latencies, 0.99) * 1000:.0f} ms, "
            f"mean {statistics.mean(latencies) * 1000:.0f} ms"
        )
    print(f"  errors by kind: {dict(kinds) or 'none'}")
    for kind, text in sorted(messages.items()):
        print(f"    e.g. {kind}: {text}")
    # Contention: exactly one winner per proposal given to two clients.
    by_pair: dict[tuple[str, str], list[tuple[bool, str]]] = {}
    for request_id, physician_id, accepted, outcome, _ in done:
        by_pair.setdefault((request_id, physician_id), []).append((accepted, outcome))
    contended_seen = [by_pair[p] for p in contended if len(by_pair.get(p, [])) == 2]
    one_winner = sum(1 for pair in contended_seen if sum(o == "ok" for _, o in pair) == 1)
    print(f"  contended proposals answered twice: {len(contended_seen)}, one winner: {one_winner}")
    # Nothing lost or doubled: the history holds each acknowledged answer once, and nothing
    # else for the pairs tried.
    lost = doubled = stray = wrong = 0
    with PostgresStore(url, cpts="cpts-1") as store:
        register = Register(store, mt_access.load_policy("voironnais"))
        for (request_id, physician_id), tries in by_pair.items():
            history = register.file(request_id).history
            recorded = [
                t.event
                for t in history
                if t.event in (Event.ACCEPT, Event.REFUSE) and t.physician_id == physician_id
            ]
            wins = [accepted for accepted, outcome in tries if outcome == "ok"]
            if len(wins) > 1 or len(recorded) > 1:
                doubled += 1
            elif wins and not recorded:
                lost += 1
            elif recorded and not wins:
                stray += 1
            elif wins and recorded[0] != (Event.ACCEPT if wins[0] else Event.REFUSE):
                wrong += 1
        problems = store.integrity_check()
    print(
        f"  check: {lost} lost, {doubled} doubled, {stray} recorded without acknowledgement, "
        f"{wrong} of the wrong kind; integrity check: {len(problems)} problem(s)"
    )
    for problem in problems[:10]:
        print(f"    {problem}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cpts", type=int, default=1, help="CPTS in the database")
    parser.add_argument("--requests", type=int, default=20_000, help="requests, all CPTS")
    parser.add_argument("--gps", type=int, default=400, help="GPs, all CPTS")
    parser.add_argument("--clients", type=int, default=20, help="concurrent clients (0: none)")
    parser.add_argument("--duree", type=float, default=60.0, help="seconds of answers")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--url", help="an empty database (default: a throwaway server)")
    args = parser.parse_args(argv)
    per_requests = args.requests // args.cpts
    per_gps = args.gps // args.cpts

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
        f"{args.cpts} CPTS in the database, each {per_requests:,} requests and {per_gps:,} GPs "
        f"({per_requests * args.cpts:,} requests, {per_gps * args.cpts:,} GPs in all)",
        flush=True,
    )
    try:
        path = Path(scratch.name) / "registre.sqlite"
        with timed("build the SQLite register", figures):
            on = build(path, per_requests, per_gps, args.seed)
        with (
            SQLiteStore(path, readonly=True) as source,
            PostgresStore(url, cpts="cpts-1") as target,
            timed("copy into PostgreSQL as cpts-1 (the store)", figures),
        ):
            copy_register(source, target)
        if args.cpts > 1:
            others = [f"cpts-{n}" for n in range(2, args.cpts + 1)]
            with timed(f"copy as cpts-2..cpts-{args.cpts} (SQL)", figures):
                clone_cpts(url, "cpts-1", others)
            with PostgresStore(url, cpts=others[-1]) as last:
                print(
                    f"  -> {others[-1]}: {last.count_requests():,} requests, "
                    f"{len(last.integrity_check())} problem(s) in its integrity check",
                    flush=True,
                )
        print("Measures", flush=True)
        with SQLiteStore(path) as store:
            measure(store, on, figures)
        with timed("PostgreSQL: open", figures):
            database = PostgresStore(url, cpts="cpts-1")
        with database:
            proposals = measure(database, on, figures)
        ratio = figures[f"PostgreSQL: {RUN}"] / figures[f"SQLite: {RUN}"]
        print(f"  run + commit, PostgreSQL / SQLite: {ratio:.2f} (target ≤ 2)", flush=True)
        if args.clients > 0:
            concurrent_answers(url, on, proposals, args.clients, args.duree, args.seed)
    finally:
        scratch.cleanup()
        if server is not None:
            server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
