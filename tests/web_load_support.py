"""Coordinators and GPs acting at once on ``mt-access serve`` over loopback: the clients, what
they sent (the model), and the check of the register against it after the run.

Shared by the load benchmark (``benchmarks/bench_web.py``: 100,000 requests, 60 s) and the
bounded load test run in CI (``tests/test_web_load.py``: a few thousand requests, ~10 s).
Generated data only; SQLite registers.

* :func:`prepare` gives a built register its accounts (coordinators), and its GPs of the load
  their links and pending proposals (:class:`Setup`);
* :func:`start_server` serves the register with waitress in a child process (this file run
  as a script) on a free 127.0.0.1 port;
* :func:`run_load` runs the coordinator clients (:func:`coordinator`: list pages, filtered
  lists, requests' pages, the dashboard, contact attempts, proposals to the GPs of the load,
  cancelled proposals) and the GP clients (:func:`gp`: their portal page through their link,
  answers to their proposals, accept or refuse, and picks from their list in pull mode) for
  a given time, and returns what they measured and sent (:class:`Figures`);
* :func:`check` reads the register after the run: the integrity check, and every action
  acknowledged by the server recorded exactly once (in the request's history and the audit
  trail), every action refused (stale page...) absent, nothing recorded that was not sent;
* :func:`report` prints the page times (p50/p95/p99 per page kind) and the errors.

No assertion on time here: the caller decides what a figure means.
"""

from __future__ import annotations

import collections
import datetime as dt
import html
import os
import random
import re
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import requests
from argon2 import PasswordHasher

from mt_access.lifecycle import RequestState
from mt_access.loading import load_policy
from mt_access.register import Register
from mt_access.store import SQLiteStore
from mt_access.transitions import Actor, Event, Transition
from mt_access.web.accounts import create_user
from mt_access.web.portal_links import issue_link

__all__ = [
    "FAST_HASHER",
    "PASSWORD",
    "SECRET",
    "TARGET_P95_S",
    "Figures",
    "Setup",
    "Workload",
    "check",
    "prepare",
    "quantile",
    "report",
    "run_load",
    "start_server",
]

TARGET_P95_S = 0.300
PASSWORD = "une phrase de passe de banc d'essai"
SECRET = "clé du banc d'essai, assez longue pour signer"
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
"""Argon2 with small parameters: logins at once measure the pages, not the hash."""
TIMEOUT_S = 60.0
GP_CAPACITY = 500
"""The monthly capacity given to the GPs of the load (their proposals must fit)."""

_TOKEN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
_STEP = re.compile(r'name="etape" type="hidden" value="(\d+)"')
_MESSAGE = re.compile(r'class="message message-(\w+)"[^>]*>([^<]*)<')
_FORM = re.compile(r'<form method="post" action="([^"]+)"[^>]*>(.*?)</form>', re.S)
_INPUT = re.compile(r"<input\b([^>]*)>")
_ATTR = re.compile(r'(\w[\w-]*)="([^"]*)"')
_CANCEL_SELECT = re.compile(r'id="annuler-proposition-medecin"[^>]*>(.*?)</select>', re.S)
STALE = "a changé depuis"


# ------------------------------------------------------------------------------------------
# The register and the server


@dataclass(frozen=True)
class Setup:
    """What :func:`prepare` made: the coordinators' logins, each GP of the load's link token,
    and the proposals pending with them (request id → GP)."""

    coordinators: list[str]
    links: dict[str, str]
    proposals: dict[str, str]


def prepare(
    path: Path,
    on: dt.date,
    *,
    coordinators: int,
    gps: int,
    proposals_per_gp: int,
    seed: int,
    policy: str = "voironnais",
) -> Setup:
    """Accounts for ``coordinators`` coordinators, and for ``gps`` GPs of the register (the
    first by id that take new patients on ``on``): a capacity of :data:`GP_CAPACITY` this
    month, ``proposals_per_gp`` waiting requests proposed by hand each, and a portal link
    (signed with :data:`SECRET`)."""
    rng = random.Random(seed)
    logins = [f"coord{i + 1}" for i in range(coordinators)]
    now = dt.datetime.now(dt.UTC)
    with SQLiteStore(path, create=False) as store:
        register = Register(store, load_policy(policy))
        chosen = [p.id for p in register.physicians() if p.is_available_on(on)][:gps]
        waiting = [s.id for s in store.summaries([RequestState.WAITING])]
        picked = rng.sample(waiting, min(len(waiting), gps * proposals_per_gp))
        proposals: dict[str, str] = {}
        for i, gp_id in enumerate(chosen):
            register.change_capacity(gp_id, on, GP_CAPACITY)
            for rid in picked[i * proposals_per_gp : (i + 1) * proposals_per_gp]:
                register.propose(rid, gp_id, on, "proposition du banc d'essai")
                proposals[rid] = gp_id
        links = {
            gp_id: issue_link(store, SECRET, gp_id, actor="cli:bench", days=30) for gp_id in chosen
        }
        existing = {u.login for u in store.users()}
        for login in logins:
            if login not in existing:
                create_user(
                    store, login, "coordinateur", PASSWORD, actor="cli:bench",
                    hasher=FAST_HASHER, now=now,
                )  # fmt: skip
    return Setup(logins, links, proposals)


def serve(path: Path, on: dt.date, threads: int) -> None:
    """The child process: the app over ``path`` served by waitress; prints its port."""
    import logging
    import signal

    import waitress

    logging.getLogger("waitress.queue").setLevel(logging.ERROR)  # queue depth: seen in times

    from mt_access.web import dashboard_figures
    from mt_access.web.app import create_app

    app = create_app(
        path,
        config={
            "SECRET_KEY": SECRET,
            "MT_ACCESS_TODAY": lambda: on,
            "MT_ACCESS_HASHER": FAST_HASHER,
        },
    )
    figures = logging.getLogger("mt_access.web.dashboard_figures")
    figures.setLevel(logging.INFO)  # each computation of the dashboard's indicators, on stderr
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("  [server %(asctime)s] %(message)s"))
    figures.addHandler(handler)
    dashboard_figures.warm_up(app)  # as « mt-access serve »
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # stop_server: its worker process too
    server = waitress.create_server(
        app, host="127.0.0.1", port=0, threads=threads, connection_limit=500, channel_timeout=120
    )
    print(server.effective_port, flush=True)
    try:
        server.run()
    finally:
        dashboard_figures.shut_down(app)


def start_server(path: Path, on: dt.date, threads: int) -> tuple[subprocess.Popen[str], str]:
    """The server over ``path`` in a child process, and its address; stop it with
    :func:`stop_server`. The child's processor time is read from ``/proc`` by :func:`cpu_of`."""
    env = dict(os.environ)
    source = str(Path(__file__).resolve().parents[1] / "src")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (source, env.get("PYTHONPATH")) if p)
    server = subprocess.Popen(
        [sys.executable, __file__, "serve", str(path), on.isoformat(), str(threads)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert server.stdout is not None
    line = server.stdout.readline()
    if not line.strip():
        server.wait(timeout=30)
        raise RuntimeError("le serveur n'a pas démarré")
    return server, f"http://127.0.0.1:{int(line)}"


def stop_server(server: subprocess.Popen[str]) -> None:
    """Stop the child process of :func:`start_server`."""
    server.terminate()
    server.wait(timeout=30)
    if server.stdout is not None:
        server.stdout.close()


def cpu_of(pid: int) -> float:
    """Processor seconds (user + system) used so far by process ``pid`` (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# ------------------------------------------------------------------------------------------
# What the clients measured and sent


Key = tuple[str, str]
"""A request and a GP."""


@dataclass
class Sent:
    """One kind of action, by key: acknowledged by the server (its success message read),
    unknown (no answer: the server may have done it), refused (stale page, error message)."""

    done: collections.Counter[Key] = field(default_factory=collections.Counter)
    unknown: collections.Counter[Key] = field(default_factory=collections.Counter)
    refused: collections.Counter[Key] = field(default_factory=collections.Counter)

    def merge(self, other: Sent) -> None:
        self.done.update(other.done)
        self.unknown.update(other.unknown)
        self.refused.update(other.refused)


@dataclass
class Figures:
    """What the clients measured and sent (shared between threads, under ``lock``)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    times: dict[str, list[float]] = field(default_factory=lambda: collections.defaultdict(list))
    errors: collections.Counter[str] = field(default_factory=collections.Counter)
    error_samples: list[str] = field(default_factory=list)
    """Each error as « page kind: what », counted when printed."""
    sent: dict[str, Sent] = field(default_factory=lambda: collections.defaultdict(Sent))
    """By action: ``contact``, ``proposer``, ``annuler``, ``accepte``, ``refuse``,
    ``choisir`` (keys: request and GP; ``""`` for a contact's GP)."""
    displays: collections.Counter[str] = field(default_factory=collections.Counter)
    displays_unknown: collections.Counter[str] = field(default_factory=collections.Counter)
    """Pages showing an identity, by actor (``user:coord1``, ``gp:MG0001``)."""
    logins: collections.Counter[str] = field(default_factory=collections.Counter)
    logins_unknown: collections.Counter[str] = field(default_factory=collections.Counter)

    def record(self, kind: str, seconds: float) -> None:
        with self.lock:
            self.times[kind].append(seconds)

    def error(self, kind: str, what: str) -> None:
        with self.lock:
            self.errors[kind] += 1
            self.error_samples.append(f"{kind}: {what}")

    def merge(self, other: Figures) -> None:
        for kind, values in other.times.items():
            self.times[kind] += values
        self.errors.update(other.errors)
        self.error_samples += other.error_samples
        for action, sent in other.sent.items():
            self.sent[action].merge(sent)
        self.displays.update(other.displays)
        self.displays_unknown.update(other.displays_unknown)
        self.logins.update(other.logins)
        self.logins_unknown.update(other.logins_unknown)


class Client:
    """One person's session (a coordinator's account or a GP's link)."""

    def __init__(self, base: str, actor: str, figures: Figures, rng: random.Random) -> None:
        self.base = base
        self.actor = actor
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

    def shown(self, kind: str, path: str) -> str | None:
        """A page that shows an identity (audited as a display)."""
        page = self.get(kind, path)
        with self.figures.lock:
            if page is not None:
                self.figures.displays[self.actor] += 1
            elif self.unanswered:
                self.figures.displays_unknown[self.actor] += 1
        return page

    def login(self) -> bool:
        login = self.actor.removeprefix("user:")
        page = self.get("connexion (page)", "/connexion")
        token = _TOKEN.search(page or "")
        if token is None:
            return False
        done = self.post(
            "connexion (envoi)",
            "/connexion",
            {"login": login, "password": PASSWORD, "csrf_token": token.group(1)},
            expect=302,
        )
        with self.figures.lock:
            if done is not None:
                self.figures.logins[login] += 1
            elif self.unanswered:
                self.figures.logins_unknown[login] += 1
        return done is not None

    def act(
        self,
        action: str,
        key: Key,
        path: str,
        data: dict[str, str],
        page_after: str,
        kind_after: str,
        success: str,
    ) -> str | None:
        """POST an action, then read the page it redirects to: acknowledged when that page
        says ``success``, refused when it says anything else, unknown without an answer."""
        sent = self.figures.sent[action]
        if self.post(f"{action} (envoi)", path, data, expect=303) is None:
            with self.figures.lock:
                (sent.unknown if self.unanswered else sent.refused)[key] += 1
            return None
        after = self.shown(kind_after, page_after)
        messages = html.unescape(" ".join(text for _, text in _MESSAGE.findall(after or "")))
        with self.figures.lock:
            if after is None:
                sent.unknown[key] += 1
            elif success in messages:
                sent.done[key] += 1
            else:
                sent.refused[key] += 1
        return messages

    def pause(self, mean: float) -> None:
        time.sleep(self.rng.uniform(0.5, 1.5) * mean)


@dataclass(frozen=True)
class Workload:
    """What the clients do and for how long."""

    base: str
    deadline: float
    waiting: list[str]
    others: list[str]
    communes: list[str]
    list_pages: int
    setup: Setup
    coordinator_pause: float = 1.0
    gp_pause: float = 3.0
    contact_every: float = 5.0
    propose_every: float = 10.0
    cancel_every: float = 15.0


def _list_path(rng: random.Random, load: Workload, filtered: bool) -> str:
    if not filtered:
        return f"/demandes?page={rng.randint(1, load.list_pages)}"
    commune = rng.choice(load.communes)
    sort = rng.choice(["id", "attente", "reception"])
    return f"/demandes?etat=waiting&commune={commune}&tri={sort}&page={rng.randint(1, 3)}"


def _form_fields(page: str, action_ends: str) -> list[dict[str, str]]:
    """The hidden and text inputs of each form of ``page`` posting to a path ending with
    ``action_ends``."""
    forms = []
    for action, body in _FORM.findall(page):
        if not html.unescape(action).endswith(action_ends):
            continue
        values = {}
        for attributes in _INPUT.findall(body):
            attrs = dict(_ATTR.findall(attributes))
            if attrs.get("type") == "hidden" and "name" in attrs:
                values[attrs["name"]] = html.unescape(attrs.get("value", ""))
        forms.append(values)
    return forms


def alone(load: Workload, figures: Figures, rounds: int) -> None:
    """One coordinator alone, before the load: each page kind ``rounds`` times in a row."""
    rng = random.Random(0)
    client = Client(load.base, "user:" + load.setup.coordinators[0], figures, rng)
    if not client.login():
        return
    for _ in range(rounds):
        client.get("tableau de bord", "/")
        client.get("liste", _list_path(rng, load, filtered=False))
        client.get("liste filtrée", _list_path(rng, load, filtered=True))
        client.shown("demande", f"/demandes/{rng.choice(load.waiting)}")
        gp_id, token = next(iter(load.setup.links.items()))
        client.get("médecin : suivi", f"/medecins/{gp_id}/suivi")
        Client(load.base, f"gp:{gp_id}", figures, rng).shown("portail", f"/medecin/{token}")


def coordinator(
    load: Workload, login: str, share: list[str], cancels: list[Key], figures: Figures, seed: int
) -> None:
    """A coordinator: pages, and now and then a contact attempt (on ``share``'s even
    requests), a proposal to a GP of the load (odd ones), a cancelled proposal (``cancels``:
    proposals pending with the GPs of the load, who may answer first)."""
    rng = random.Random(seed)
    client = Client(load.base, f"user:{login}", figures, rng)
    if not client.login():
        return
    contacts, to_propose = share[0::2], share[1::2]
    rng.shuffle(to_propose)
    gps = sorted(load.setup.links)
    start = time.perf_counter()
    due = {
        "contact": start + rng.uniform(0, load.contact_every),
        "proposer": start + rng.uniform(0, load.propose_every),
        "annuler": start + rng.uniform(0, load.cancel_every),
    }
    every = {
        "contact": load.contact_every,
        "proposer": load.propose_every,
        "annuler": load.cancel_every,
    }
    while time.perf_counter() < load.deadline:
        now = time.perf_counter()
        action = min(due, key=lambda a: due[a])  # the most overdue first: none starves
        if due[action] <= now:
            due[action] += every[action]
            if action == "contact":
                _contact(client, rng.choice(contacts))
            elif action == "proposer" and to_propose:
                _propose(client, to_propose.pop(), rng.choice(gps))
            elif action == "annuler" and cancels:
                _cancel(client, *cancels.pop())
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
                client.shown("demande", f"/demandes/{rng.choice(pool)}")
        client.pause(load.coordinator_pause)


def _request_form(
    client: Client, rid: str, needs: Callable[[str], bool] | None = None
) -> dict[str, str] | None:
    """The CSRF token and step of the request's page (``None`` when ``needs(page)`` is
    false: nothing to send)."""
    page = client.shown("demande", f"/demandes/{rid}")
    if page is None or (needs is not None and not needs(page)):
        return None
    token, step = _TOKEN.search(page), _STEP.search(page)
    if token is None or step is None:
        client.figures.error("demande", "formulaire introuvable")
        return None
    return {"csrf_token": token.group(1), "etape": step.group(1)}


def _contact(client: Client, rid: str) -> None:
    """A contact attempt (« patient joint ») from the request's page."""
    data = _request_form(client, rid)
    if data is not None:
        data["resultat"] = "joint"
        client.act(
            "contact", (rid, ""), f"/demandes/{rid}/contact", data, f"/demandes/{rid}",
            "demande", "Tentative de contact enregistrée.",
        )  # fmt: skip


def _propose(client: Client, rid: str, gp_id: str) -> None:
    """A proposal by hand to a GP of the load, from the request's page."""
    data = _request_form(client, rid)
    if data is not None:
        data["medecin"] = gp_id
        client.act(
            "proposer", (rid, gp_id), f"/demandes/{rid}/proposer", data, f"/demandes/{rid}",
            "demande", "Proposition au médecin enregistrée.",
        )  # fmt: skip


def _cancel(client: Client, rid: str, gp_id: str) -> None:
    """A proposal cancelled, from the request's page when it still offers to cancel the
    GP's proposal (the GP may answer before the cancellation arrives: then the request
    changed, the cancellation is refused as stale and nothing is recorded)."""

    def offered(page: str) -> bool:
        found = _CANCEL_SELECT.search(page)
        return found is not None and f'value="{gp_id}"' in found.group(1)

    data = _request_form(client, rid, offered)
    if data is not None:
        data["medecin"] = gp_id
        data["commentaire"] = "annulée par le banc d'essai"
        client.act(
            "annuler", (rid, gp_id), f"/demandes/{rid}/annuler-proposition", data,
            f"/demandes/{rid}", "demande", "Proposition annulée",
        )  # fmt: skip


def gp(load: Workload, gp_id: str, token: str, figures: Figures, seed: int) -> None:
    """A GP through their link: their page, and half the time an answer to one of their
    proposals (accept or refuse), or, in pull mode, a pick from their list."""
    rng = random.Random(seed)
    client = Client(load.base, f"gp:{gp_id}", figures, rng)
    path = f"/medecin/{token}"
    while time.perf_counter() < load.deadline:
        page = client.shown("portail", path)  # audited: portail.afficher
        if page is not None and rng.random() < 0.5:
            answers = _form_fields(page, "/reponse")
            picks = _form_fields(page, "/choix")
            if answers and (not picks or rng.random() < 0.7):
                data = rng.choice(answers)
                accepted = rng.random() < 0.5
                rid = data.get("demande", "")
                data["reponse"] = "accepte" if accepted else "refuse"
                action = "accepte" if accepted else "refuse"
                success = (
                    f"vous acceptez la demande {rid}"
                    if accepted
                    else f"Votre refus de la demande {rid} est enregistré"
                )
                client.act(action, (rid, gp_id), f"{path}/reponse", data, path, "portail", success)
            elif picks:
                data = rng.choice(picks)  # a pick is known by its GP (a pseudonym is shown)
                client.act(
                    "choisir", ("", gp_id), f"{path}/choix", data, path, "portail",
                    "Vous avez choisi la demande",
                )  # fmt: skip
        client.pause(load.gp_pause)


def run_load(load: Workload, figures: Figures) -> float:
    """Every coordinator and GP client at once until ``load.deadline``; the seconds taken."""
    setup = load.setup
    n = len(setup.coordinators)
    rng = random.Random(len(load.waiting))
    pending = sorted(setup.proposals.items())
    rng.shuffle(pending)
    workers: list[tuple[Callable[..., None], tuple[object, ...]]] = []
    for i, login in enumerate(setup.coordinators):
        share = load.waiting[i::n]
        cancels = pending[i::n]
        workers.append((coordinator, (load, login, share, cancels, figures, 2026 + i)))
    for i, (gp_id, token) in enumerate(sorted(setup.links.items())):
        workers.append((gp, (load, gp_id, token, figures, 3026 + i)))
    start = time.perf_counter()
    threads = [threading.Thread(target=t, args=a, daemon=True) for t, a in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - start


def workload(path: Path, base: str, setup: Setup, seconds: float, **pauses: float) -> Workload:
    """The workload over the register at ``path`` (read before the server starts)."""
    with SQLiteStore(path, create=False) as store:
        summaries = store.summaries(None)
    waiting = [s.id for s in summaries if s.state is RequestState.WAITING]
    others = [s.id for s in summaries if s.state is not RequestState.WAITING][:5000]
    by_commune = collections.Counter(s.commune for s in summaries)
    return Workload(
        base=base,
        deadline=time.perf_counter() + seconds,
        waiting=waiting,
        others=others,
        communes=[c for c, _ in by_commune.most_common(40)],
        list_pages=max(len(summaries) // 50, 1),
        setup=setup,
        **pauses,
    )


# ------------------------------------------------------------------------------------------
# The check after the run


_RECORDED: dict[str, tuple[Event, str]] = {
    "contact": (Event.CONTACT_SUCCEEDED, "demande.contact"),
    "proposer": (Event.PROPOSE, "demande.proposer"),
    "annuler": (Event.CANCEL_PROPOSAL, "demande.annuler-proposition"),
    "accepte": (Event.ACCEPT, "portail.repondre"),
    "refuse": (Event.REFUSE, "portail.repondre"),
    "choisir": (Event.PROPOSE, "portail.choisir"),
}
"""Each action of the model: the transition it records, and its audit line."""


def transition_count(path: Path) -> int:
    """How many transitions the register holds (before the run: those after are new)."""
    with SQLiteStore(path, create=False) as store:
        return len(store.transitions())


def _action_of(t: Transition) -> str | None:
    if t.event is Event.CONTACT_SUCCEEDED:
        return "contact"
    if t.event is Event.PROPOSE:
        return "choisir" if t.actor is Actor.PHYSICIAN else "proposer"
    if t.event is Event.CANCEL_PROPOSAL:
        return "annuler"
    if t.event is Event.ACCEPT:
        return "accepte"
    if t.event is Event.REFUSE:
        return "refuse"
    return None


def check(
    path: Path, figures: Figures, before: Sequence[str], transitions_before: int
) -> list[str]:
    """The register against what the clients sent: the problems found (none: nothing lost
    or doubled). ``before``: the integrity check's problems before the run (the generated
    identities repeat now and then); ``transitions_before``: :func:`transition_count`
    before the run."""
    problems: list[str] = []
    with SQLiteStore(path, create=False) as store:
        problems += [p for p in store.integrity_check() if p not in before]
        new = store.transitions()[transitions_before:]
        audit = store.audit_entries()
    recorded: dict[str, collections.Counter[Key]] = collections.defaultdict(collections.Counter)
    by_request: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for t in new:
        action = _action_of(t)
        if action is None:
            problems.append(f"{t.request_id}: {t.event.value} recorded, never sent")
            continue
        gp_id = t.physician_id or ""
        key = {"contact": (t.request_id, ""), "choisir": ("", gp_id)}.get(
            action, (t.request_id, gp_id)
        )
        recorded[action][key] += 1
        by_request[_RECORDED[action][1]][t.request_id] += 1
    audited: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for line in audit:
        audited[line.action][line.subject or ""] += 1
    for action in _RECORDED:
        sent = figures.sent.get(action, Sent())
        found = recorded.get(action, collections.Counter())
        for key in set(found) | set(sent.done) | set(sent.unknown) | set(sent.refused):
            done, unknown = sent.done[key], sent.unknown[key]
            if not done <= found[key] <= done + unknown:
                problems.append(
                    f"{action} {key}: recorded {found[key]} time(s), acknowledged {done}, "
                    f"unknown {unknown}, refused {sent.refused[key]}"
                )
    for audit_action in sorted({a for _, a in _RECORDED.values()}):
        expected = by_request[audit_action]
        lines = audited.get(audit_action, collections.Counter())
        for rid in set(expected) | set(lines):
            if lines[rid] != expected[rid]:
                problems.append(
                    f"{rid}: {lines[rid]} audit line(s) {audit_action}, {expected[rid]} recorded"
                )
    displays = collections.Counter(
        line.actor for line in audit if line.action == "identite.afficher"
    )
    portal_pages = collections.Counter(
        f"gp:{line.subject}" for line in audit if line.action == "portail.afficher"
    )
    for actor in set(figures.displays) | set(figures.displays_unknown):
        seen = portal_pages if actor.startswith("gp:") else displays
        received, unknown = figures.displays[actor], figures.displays_unknown[actor]
        if not received <= seen[actor] <= received + unknown:
            problems.append(
                f"{actor}: {seen[actor]} display(s) audited, {received} page(s) received, "
                f"{unknown} unanswered"
            )
    logins = collections.Counter(
        (a.subject or a.actor).removeprefix("user:") for a in audit if a.action == "connexion"
    )
    for login in set(figures.logins) | set(figures.logins_unknown):
        made, unknown = figures.logins[login], figures.logins_unknown[login]
        if not made <= logins[login] <= made + unknown:
            problems.append(f"{login}: {logins[login]} login(s) audited, {made} made")
    return problems


def summary(figures: Figures) -> str:
    """What was sent, in one line per action."""
    lines = []
    for action in _RECORDED:
        sent = figures.sent.get(action)
        if sent is None:
            continue
        lines.append(
            f"  {action}: acknowledged {sent.done.total()}, refused {sent.refused.total()} "
            f"(stale page or no longer possible), unknown {sent.unknown.total()}"
        )
    lines.append(
        f"  displays received {figures.displays.total()}, unanswered "
        f"{figures.displays_unknown.total()}"
    )
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------
# The figures


def quantile(values: Sequence[float], q: float) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[round(q * 100) - 1]


def report(figures: Figures, seconds: float, title: str) -> float | None:
    """Print the page times per kind and the errors; return the p95 of every page."""
    print(f"\n{title} (ms):")
    print(f"  {'page':<22} {'count':>7} {'p50':>8} {'p95':>8} {'p99':>8} {'max':>8}  errors")
    every: list[float] = []
    for kind in sorted(set(figures.times) | set(figures.errors)):
        values = sorted(figures.times.get(kind, []))
        every += values
        if not values:
            print(
                f"  {kind:<22} {0:>7} {'-':>8} {'-':>8} {'-':>8} {'-':>8}  {figures.errors[kind]}"
            )
            continue
        p95 = quantile(values, 0.95)
        flag = "" if p95 <= TARGET_P95_S else "  (p95 > 300 ms)"
        print(
            f"  {kind:<22} {len(values):>7} {quantile(values, 0.5) * 1000:>8.0f} "
            f"{p95 * 1000:>8.0f} {quantile(values, 0.99) * 1000:>8.0f} "
            f"{values[-1] * 1000:>8.0f}  {figures.errors[kind]}{flag}"
        )
    for sample, count in collections.Counter(figures.error_samples).most_common():
        print(f"  error {sample}: {count}")
    if not every:
        return None
    every.sort()
    p95 = quantile(every, 0.95)
    verdict = "met" if p95 <= TARGET_P95_S and not figures.errors else "MISSED"
    print(
        f"  {'all pages':<22} {len(every):>7} {quantile(every, 0.5) * 1000:>8.0f} "
        f"{p95 * 1000:>8.0f} {quantile(every, 0.99) * 1000:>8.0f} "
        f"{every[-1] * 1000:>8.0f}  {figures.errors.total()}"
    )
    print(f"  {len(every) / seconds:.2f} pages/s; target p95 ≤ 300 ms, 0 errors: {verdict}")
    return p95


if __name__ == "__main__" and len(sys.argv) == 5 and sys.argv[1] == "serve":
    serve(Path(sys.argv[2]), dt.date.fromisoformat(sys.argv[3]), int(sys.argv[4]))
