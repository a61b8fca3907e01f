"""Load benchmark of ``mt-access serve`` (:mod:`mt_access.web`) on loopback.

Builds a register file of 100,000 generated requests and 1,000 GPs (the generator of
``bench_register.py``, Voironnais policy: no real person), with 5 coordinator accounts and 50
read-only accounts, then serves it with waitress (``--threads`` worker threads) in a child
process on a free 127.0.0.1 port, and runs at the same time, for ``--duree`` seconds:

* 5 coordinator clients: log in, then pages of the list (with and without filters: state,
  commune, sort, page), requests' pages, the dashboard now and then, and a contact attempt
  every ``--contact-toutes`` seconds (the request's page read for its form, the POST, the
  page it redirects to). Each coordinator acts on its own share of the waiting requests;
* 50 read-only clients standing for the GPs of the portal (until it exists): log in, then
  requests' pages (each audited as a display of identity) and filtered list pages.

Each client waits a random pause between pages (``--pause-coordinateur``,
``--pause-lecteur``: mean seconds). Prints the number of pages and p50/p95/p99 of the page
time seen by the client (HTTP request to full response) per page kind, the errors (a status
other than the expected one, or no answer within 60 s), then checks the register: SQLite's
integrity check, and against a model of what the clients sent, that every contact attempt
recorded is in its request's history and in the audit trail exactly once, and every display
of a request's page exactly once in the audit trail. Never asserts on time (target: p95
≤ 300 ms, 0 errors).

Usage::

    .venv/bin/python benchmarks/bench_web.py                 # 100,000 requests, 60 s
    .venv/bin/python benchmarks/bench_web.py --duree 20 --demandes 20000
    .venv/bin/python benchmarks/bench_web.py --chemin /tmp/web.sqlite --garder   # reuse it

Needs the ``web`` extra and ``requests`` (installed with the ``dev`` extra).
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from dataclasses import replace as dataclass_replace
from pathlib import Path

import requests
from argon2 import PasswordHasher

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_register import build

from mt_access.lifecycle import RequestState
from mt_access.store import SQLiteStore
from mt_access.transitions import Event
from mt_access.web.accounts import create_user

TARGET_P95_S = 0.300
PASSWORD = "une phrase de passe de banc d'essai"
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
"""Argon2 with small parameters: 55 logins at once measure the pages, not the hash."""
TIMEOUT_S = 60.0
DONE_CONTACT = "Tentative de contact enregistrée."
STALE = "a changé depuis"
_TOKEN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
_STEP = re.compile(r'name="etape" type="hidden" value="(\d+)"')
_MESSAGE = re.compile(r'class="message message-(\w+)"[^>]*>([^<]*)<')


# ------------------------------------------------------------------------------------------
# The register and the server


def prepare(path: Path, n_requests: int, n_physicians: int, coordinators: int, readers: int,
            seed: int) -> dt.date:  # fmt: skip
    """Build the register (unless ``path`` exists) and its accounts; return the date of its
    events (the server records new events on that date)."""
    marker = "bench_web_date"
    if path.exists():
        with SQLiteStore(path, create=False) as store:
            recorded = store.settings().get(marker)
        if recorded:
            print(f"register reused: {path}")
            return dt.date.fromisoformat(recorded)
        raise SystemExit(f"{path} exists and was not made by this benchmark: remove it")
    start = time.perf_counter()
    on = build(path, n_requests, n_physicians, seed)
    with SQLiteStore(path, create=False) as store:
        with store.transaction():
            store.put_setting("policy", "voironnais")
            store.put_setting(marker, on.isoformat())
        for login, role in _accounts(coordinators, readers):
            create_user(
                store, login, role, PASSWORD, actor="cli:bench", hasher=FAST_HASHER,
                now=dt.datetime.now(dt.UTC),
            )  # fmt: skip
    print(f"register built in {time.perf_counter() - start:.1f} s: {path}")
    return on


def _accounts(coordinators: int, readers: int) -> list[tuple[str, str]]:
    return [(f"coord{i + 1}", "coordinateur") for i in range(coordinators)] + [
        (f"lecteur{i + 1:02d}", "lecture") for i in range(readers)
    ]


def serve(path: Path, on: dt.date, threads: int) -> None:
    """The child process: the app over ``path`` served by waitress; prints its port."""
    import logging

    import waitress

    logging.getLogger("waitress.queue").setLevel(logging.ERROR)  # queue depth: seen in times

    from mt_access.web.app import create_app

    app = create_app(
        path,
        config={
            "SECRET_KEY": "clé du banc d'essai, assez longue pour signer",
            "MT_ACCESS_TODAY": lambda: on,
            "MT_ACCESS_HASHER": FAST_HASHER,
        },
    )
    server = waitress.create_server(
        app, host="127.0.0.1", port=0, threads=threads, connection_limit=500, channel_timeout=120
    )
    print(server.effective_port, flush=True)
    server.run()


# ------------------------------------------------------------------------------------------
# The clients


@dataclass
class Figures:
    """What the clients measured and sent (shared between threads, under ``lock``)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    times: dict[str, list[float]] = field(default_factory=lambda: collections.defaultdict(list))
    errors: collections.Counter[str] = field(default_factory=collections.Counter)
    error_samples: list[str] = field(default_factory=list)
    """Each error as « page kind: what », counted when printed."""
    contacts_done: collections.Counter[str] = field(default_factory=collections.Counter)
    contacts_unknown: collections.Counter[str] = field(default_factory=collections.Counter)
    contacts_stale: int = 0
    contacts_refused: int = 0
    displays: collections.Counter[str] = field(default_factory=collections.Counter)
    displays_unknown: collections.Counter[str] = field(default_factory=collections.Counter)
    logins: collections.Counter[str] = field(default_factory=collections.Counter)
    logins_unknown: collections.Counter[str] = field(default_factory=collections.Counter)

    def record(self, kind: str, seconds: float) -> None:
        with self.lock:
            self.times[kind].append(seconds)

    def error(self, kind: str, what: str) -> None:
        with self.lock:
            self.errors[kind] += 1
            self.error_samples.append(f"{kind}: {what}")


class Client:
    """One person's session."""

    def __init__(self, base: str, login: str, figures: Figures, rng: random.Random) -> None:
        self.base = base
        self.login_name = login
        self.figures = figures
        self.rng = rng
        self.http = requests.Session()
        self.unanswered = False
        """The last request got no answer (timeout...): the server may have done it."""

    def get(self, kind: str, path: str, *, expect: int = 200) -> str | None:
        return self._send(kind, "GET", path, None, expect)

    def post(self, kind: str, path: str, data: dict[str, str], *, expect: int) -> str | None:
        return self._send(kind, "POST", path, data, expect)

    def _send(
        self, kind: str, method: str, path: str, data: dict[str, str] | None, expect: int
    ) -> str | None:
        start = time.perf_counter()
        self.unanswered = False
        try:
            response = self.http.request(
                method, self.base + path, data=data, allow_redirects=False, timeout=TIMEOUT_S
            )
            body = response.text
        except requests.RequestException as exc:
            self.unanswered = True
            self.figures.error(kind, type(exc).__name__)
            return None
        self.figures.record(kind, time.perf_counter() - start)
        if response.status_code != expect:
            self.figures.error(kind, f"HTTP {response.status_code} ({expect} attendu)")
            return None
        return body

    def login(self) -> bool:
        page = self.get("connexion (page)", "/connexion")
        token = _TOKEN.search(page or "")
        if token is None:
            return False
        done = self.post(
            "connexion (envoi)",
            "/connexion",
            {"login": self.login_name, "password": PASSWORD, "csrf_token": token.group(1)},
            expect=302,
        )
        with self.figures.lock:
            if done is not None:
                self.figures.logins[self.login_name] += 1
            elif self.unanswered:
                self.figures.logins_unknown[self.login_name] += 1
        return done is not None

    def request_page(self, rid: str) -> str | None:
        page = self.get("demande", f"/demandes/{rid}")
        with self.figures.lock:
            if page is not None:
                self.figures.displays[self.login_name] += 1
            elif self.unanswered:
                self.figures.displays_unknown[self.login_name] += 1
        return page

    def contact(self, rid: str) -> None:
        """A contact attempt (« patient joint ») from the request's page."""
        page = self.request_page(rid)
        if page is None:
            return
        token, step = _TOKEN.search(page), _STEP.search(page)
        if token is None or step is None:
            self.figures.error("contact (envoi)", "formulaire introuvable")
            return
        data = {"csrf_token": token.group(1), "etape": step.group(1), "resultat": "joint"}
        sent = self.post("contact (envoi)", f"/demandes/{rid}/contact", data, expect=303)
        if sent is None:
            with self.figures.lock:
                self.figures.contacts_unknown[rid] += 1
            return
        after = self.request_page(rid)
        messages = " ".join(text for _, text in _MESSAGE.findall(after or ""))
        with self.figures.lock:
            if DONE_CONTACT in messages:
                self.figures.contacts_done[rid] += 1
            elif STALE in messages:
                self.figures.contacts_stale += 1
            elif after is None:
                self.figures.contacts_unknown[rid] += 1
            else:
                self.figures.contacts_refused += 1

    def pause(self, mean: float) -> None:
        time.sleep(self.rng.uniform(0.5, 1.5) * mean)


@dataclass(frozen=True)
class Workload:
    base: str
    deadline: float
    waiting: list[str]
    others: list[str]
    communes: list[str]
    list_pages: int
    coordinator_pause: float
    reader_pause: float
    contact_every: float


def _list_path(rng: random.Random, load: Workload, filtered: bool) -> str:
    if not filtered:
        return f"/demandes?page={rng.randint(1, load.list_pages)}"
    commune = rng.choice(load.communes)
    sort = rng.choice(["id", "attente", "reception"])
    return f"/demandes?etat=waiting&commune={commune}&tri={sort}&page={rng.randint(1, 3)}"


def alone(load: Workload, figures: Figures, rounds: int) -> None:
    """One coordinator alone, before the load: each page kind ``rounds`` times in a row."""
    rng = random.Random(0)
    client = Client(load.base, "coord1", figures, rng)
    if not client.login():
        return
    for _ in range(rounds):
        client.get("tableau de bord", "/")
        client.get("liste", _list_path(rng, load, filtered=False))
        client.get("liste filtrée", _list_path(rng, load, filtered=True))
        client.request_page(rng.choice(load.waiting))


def coordinator(load: Workload, login: str, share: list[str], figures: Figures, seed: int) -> None:
    rng = random.Random(seed)
    client = Client(load.base, login, figures, rng)
    if not client.login():
        return
    next_contact = time.perf_counter() + rng.uniform(0, load.contact_every)
    while time.perf_counter() < load.deadline:
        if time.perf_counter() >= next_contact:
            client.contact(rng.choice(share))
            next_contact += load.contact_every
        else:
            roll = rng.random()
            if roll < 0.05:
                client.get("tableau de bord", "/")
            elif roll < 0.35:
                client.get("liste", _list_path(rng, load, filtered=False))
            elif roll < 0.65:
                client.get("liste filtrée", _list_path(rng, load, filtered=True))
            else:
                pool = load.waiting if rng.random() < 0.8 else load.others
                client.request_page(rng.choice(pool))
        client.pause(load.coordinator_pause)


def reader(load: Workload, login: str, figures: Figures, seed: int) -> None:
    rng = random.Random(seed)
    client = Client(load.base, login, figures, rng)
    if not client.login():
        return
    while time.perf_counter() < load.deadline:
        if rng.random() < 0.8:
            client.request_page(rng.choice(load.waiting))
        else:
            client.get("liste filtrée", _list_path(rng, load, filtered=True))
        client.pause(load.reader_pause)


# ------------------------------------------------------------------------------------------
# The check after the run


def check(path: Path, runs: list[Figures], before: list[str]) -> int:
    """The register against what the clients sent; prints and returns the problems found
    (those of the integrity check already there before the run, ``before``, excepted: the
    generated identities repeat now and then)."""
    figures = Figures()
    for run in runs:
        figures.contacts_done.update(run.contacts_done)
        figures.contacts_unknown.update(run.contacts_unknown)
        figures.displays.update(run.displays)
        figures.displays_unknown.update(run.displays_unknown)
        figures.logins.update(run.logins)
        figures.logins_unknown.update(run.logins_unknown)
        figures.contacts_stale += run.contacts_stale
        figures.contacts_refused += run.contacts_refused
    problems: list[str] = []
    with SQLiteStore(path, create=False) as store:
        start = time.perf_counter()
        found = [p for p in store.integrity_check() if p not in before]
        print(
            f"  integrity check: {len(found)} new problem(s) ({len(before)} before the run), "
            f"{time.perf_counter() - start:.1f} s"
        )
        problems += found
        touched = set(figures.contacts_done) | set(figures.contacts_unknown)
        files = store.get_files(sorted(touched)) if touched else {}
        audit = store.audit_entries()
    contact_lines = collections.Counter(
        a.subject for a in audit if a.action == "demande.contact" and a.subject
    )
    displays = collections.Counter(
        a.actor.removeprefix("user:") for a in audit if a.action == "identite.afficher"
    )
    logins = collections.Counter(
        (a.subject or a.actor).removeprefix("user:") for a in audit if a.action == "connexion"
    )
    for rid in sorted(touched):
        recorded = sum(1 for t in files[rid].history if t.event is Event.CONTACT_SUCCEEDED)
        done, unknown = figures.contacts_done[rid], figures.contacts_unknown[rid]
        if not done <= recorded <= done + unknown:
            problems.append(f"{rid}: {recorded} contact(s) recorded, {done} confirmed sent")
        if contact_lines[rid] != recorded:
            problems.append(f"{rid}: {contact_lines[rid]} audit line(s), {recorded} contact(s)")
    for extra in set(contact_lines) - touched:
        problems.append(f"{extra}: contact audited but never sent")
    for login in set(displays) | set(figures.displays):
        received, unknown = figures.displays[login], figures.displays_unknown[login]
        if not received <= displays[login] <= received + unknown:
            problems.append(
                f"{login}: {displays[login]} identity display(s) audited, {received} page(s) "
                f"received, {unknown} unanswered"
            )
    for login in set(logins) | set(figures.logins):
        made, unknown = figures.logins[login], figures.logins_unknown[login]
        if not made <= logins[login] <= made + unknown:
            problems.append(f"{login}: {logins[login]} login(s) audited, {made} made")
    print(
        f"  contacts confirmed {figures.contacts_done.total()}, outcome unknown "
        f"{figures.contacts_unknown.total()}, stale {figures.contacts_stale}, refused "
        f"{figures.contacts_refused}; identity displays audited {displays.total()}, "
        f"received {figures.displays.total()}, unanswered {figures.displays_unknown.total()}"
    )
    for problem in problems[:20]:
        print(f"  PROBLEM {problem}")
    if problems:
        print(f"  -> {len(problems)} problem(s)")
    else:
        print("  -> 0 problem(s): nothing lost or doubled")
    return len(problems)


# ------------------------------------------------------------------------------------------


def _quantile(values: list[float], q: float) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[round(q * 100) - 1]


def report(figures: Figures, seconds: float, title: str) -> None:
    print(f"\n{title} (ms):")
    print(f"  {'page':<20} {'count':>7} {'p50':>8} {'p95':>8} {'p99':>8} {'max':>8}  errors")
    every: list[float] = []
    for kind in sorted(set(figures.times) | set(figures.errors)):
        values = sorted(figures.times.get(kind, []))
        every += values
        if not values:
            print(
                f"  {kind:<20} {0:>7} {'-':>8} {'-':>8} {'-':>8} {'-':>8}  {figures.errors[kind]}"
            )
            continue
        p95 = _quantile(values, 0.95)
        flag = "" if p95 <= TARGET_P95_S else "  (p95 > 300 ms)"
        print(
            f"  {kind:<20} {len(values):>7} {_quantile(values, 0.5) * 1000:>8.0f} "
            f"{p95 * 1000:>8.0f} {_quantile(values, 0.99) * 1000:>8.0f} "
            f"{values[-1] * 1000:>8.0f}  {figures.errors[kind]}{flag}"
        )
    if every:
        every.sort()
        p95 = _quantile(every, 0.95)
        verdict = "met" if p95 <= TARGET_P95_S and not figures.errors else "MISSED"
        print(
            f"  {'all pages':<20} {len(every):>7} {_quantile(every, 0.5) * 1000:>8.0f} "
            f"{p95 * 1000:>8.0f} {_quantile(every, 0.99) * 1000:>8.0f} "
            f"{every[-1] * 1000:>8.0f}  {figures.errors.total()}"
        )
        print(f"  {len(every) / seconds:.2f} pages/s; target p95 ≤ 300 ms, 0 errors: {verdict}")
    for sample, count in collections.Counter(figures.error_samples).most_common():
        print(f"  error {sample}: {count}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--demandes", type=int, default=100_000, help="requests (100,000)")
    parser.add_argument("--medecins", type=int, default=1_000, help="GPs (1,000)")
    parser.add_argument("--duree", type=float, default=60.0, help="seconds of load (60)")
    parser.add_argument("--coordinateurs", type=int, default=5)
    parser.add_argument("--lecteurs", type=int, default=50, help="read-only clients (50)")
    parser.add_argument("--threads", type=int, default=8, help="waitress threads (8)")
    parser.add_argument("--pause-coordinateur", type=float, default=1.0, help="mean s (1)")
    parser.add_argument("--pause-lecteur", type=float, default=3.0, help="mean s (3)")
    parser.add_argument("--contact-toutes", type=float, default=5.0, help="s (5)")
    parser.add_argument(
        "--chemin", type=Path, help="register file (built if absent; each run works on a copy)"
    )
    parser.add_argument("--garder", action="store_true", help="keep the register file")
    parser.add_argument("--seul", type=int, default=1, help="rounds of one client alone (1)")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--servir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--jour", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.servir:
        serve(args.servir, dt.date.fromisoformat(args.jour), args.threads)
        return 0

    folder = None
    if args.chemin is None:
        folder = tempfile.TemporaryDirectory(prefix="bench-web-")
        path = Path(folder.name) / "registre.sqlite"
    else:
        path = args.chemin
    try:
        on = prepare(path, args.demandes, args.medecins, args.coordinateurs, args.lecteurs,
                     args.seed)  # fmt: skip
        work = path.with_name(path.stem + "-essai" + path.suffix)
        shutil.copy(path, work)  # the built register stays as built, to be reused
        try:
            return run(args, work, on)
        finally:
            work.unlink()
    finally:
        if folder is not None and not args.garder:
            folder.cleanup()
        elif folder is not None:
            print(f"register kept: {path}")


def run(args: argparse.Namespace, path: Path, on: dt.date) -> int:
    with SQLiteStore(path, create=False) as store:
        summaries = store.summaries(None)
        integrity_before = store.integrity_check()
    waiting = [s.id for s in summaries if s.state is RequestState.WAITING]
    others = [s.id for s in summaries if s.state is not RequestState.WAITING][:5000]
    by_commune = collections.Counter(s.commune for s in summaries)
    communes = [c for c, _ in by_commune.most_common(40)]
    print(
        f"{len(summaries):,} requests ({len(waiting):,} waiting); {args.coordinateurs} "
        f"coordinators, {args.lecteurs} read-only clients, waitress {args.threads} threads, "
        f"{args.duree:g} s"
    )
    server = subprocess.Popen(
        [sys.executable, __file__, "--servir", str(path), "--jour", on.isoformat(),
         "--threads", str(args.threads)],
        stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline())
        base = f"http://127.0.0.1:{port}"
        load = Workload(
            base=base,
            deadline=time.perf_counter() + args.duree,
            waiting=waiting,
            others=others,
            communes=communes,
            list_pages=max(len(summaries) // 50, 1),
            coordinator_pause=args.pause_coordinateur,
            reader_pause=args.pause_lecteur,
            contact_every=args.contact_toutes,
        )
        before = Figures()
        start = time.perf_counter()
        alone(load, before, args.seul)
        report(before, time.perf_counter() - start, "one coordinator alone, before the load")
        load = dataclass_replace(load, deadline=time.perf_counter() + args.duree)
        figures = Figures()
        threads: list[threading.Thread] = []
        workers: list[tuple[Callable[..., None], tuple[object, ...]]] = []
        for i in range(args.coordinateurs):
            share = waiting[i :: args.coordinateurs]
            workers.append((coordinator, (load, f"coord{i + 1}", share, figures, args.seed + i)))
        for i in range(args.lecteurs):
            workers.append((reader, (load, f"lecteur{i + 1:02d}", figures, args.seed + 100 + i)))
        start = time.perf_counter()
        for target, targs in workers:
            thread = threading.Thread(target=target, args=targs, daemon=True)
            thread.start()
            threads.append(thread)
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - start
    finally:
        server.terminate()
        server.wait(timeout=30)
    report(
        figures,
        elapsed,
        f"{args.coordinateurs} coordinators and {args.lecteurs} read-only clients at once, "
        f"{elapsed:.0f} s",
    )
    print("\nregister after the run:")
    problems = check(path, [before, figures], integrity_before)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
