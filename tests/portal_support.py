"""What the GP portal tests share: small registers in memory (generated patients and GPs), the
application over them, GP links. Generated data only."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("flask")
pytest.importorskip("flask_wtf")
pytest.importorskip("itsdangerous")

from flask import Flask
from flask.testing import FlaskClient

import mt_access
from factories import MOIRANS, VOIRON, VOREPPE, doc, req
from mt_access import PatientIdentity
from mt_access.register import Register
from mt_access.store.base import Store
from mt_access.store.memory import MemoryStore
from mt_access.web.accounts import create_user
from mt_access.web.app import create_app
from mt_access.web.portal_links import issue_link
from web_support import FAST_HASHER, PASSWORD, T0, TODAY, Clock

ROOT = Path(__file__).parent.parent
VOIRONNAIS = (ROOT / "policies" / "voironnais.yaml").read_text(encoding="utf-8")
DAY = dt.date(2026, 3, 2)
SECRET = "clé des tests du portail " * 2
LAST_NAMES = {"A": "Fictivelle", "B": "Inventorin", "C": "Supposard"}
PHONES = {"A": "06 11 22 33 44", "B": "06 55 66 77 88", "C": "06 99 88 77 66"}

__all__ = ["DAY", "SECRET", "T0", "TODAY", "Clock"]


def policy_text(*, fields: str | None = None, pull: bool = False, pick_limit: int = 0) -> str:
    """The Voironnais policy, with ``privacy.referral_fields`` when ``fields`` is given and
    its non-priority requests on lists shared with GPs when ``pull``."""
    text = VOIRONNAIS
    if pull:
        head, rest = text.split("routing:\n", 1)
        limit = f"\n    pick_limit: {pick_limit}" if pick_limit else ""
        rest = rest.replace(
            "  priority:\n    router: monthly_quota", "  priority:\n    router: pull", 1
        )
        rest = rest.replace(
            "  non_priority:\n    router: monthly_quota",
            f"  non_priority:\n    router: pull{limit}",
            1,
        )
        text = head + "routing:\n" + rest
    if fields is not None:
        text = text.rstrip("\n") + f"\nprivacy:\n  referral_fields: [{fields}]\n"
    return text


def load(tmp_path: Path, text: str) -> mt_access.Policy:
    path = tmp_path / "politique.yaml"
    path.write_text(text, encoding="utf-8")
    return mt_access.load_policy(path)


def gp_register(policy: mt_access.Policy, gps: dict[str, int] | None = None) -> Register:
    """A register in memory with GPs MG1 (Voiron), MG2 (Voreppe), MG3 (Moirans), 3 places
    a month each unless ``gps`` says otherwise."""
    register = Register(MemoryStore(), policy)
    communes = {"MG1": VOIRON, "MG2": VOREPPE, "MG3": MOIRANS}
    for pid, capacity in (gps or {"MG1": 3, "MG2": 3, "MG3": 3}).items():
        register.add_physician(doc(pid, communes[pid], capacity=None))
        register.join(pid, DAY, monthly_capacity=capacity, modalities=["office"])
    return register


def waiting(register: Register, key: str, commune: str = VOIRON, **kw: Any) -> str:
    """A waiting request whose patient is ``LAST_NAMES[key]``."""
    rid = register.next_request_id()
    request = req(rid, commune, received=DAY - dt.timedelta(days=30), **kw)
    identity = PatientIdentity(
        last_name=LAST_NAMES[key], first_name="Camille", phone=PHONES[key],
        email=f"{key.lower()}@example.org",
    )  # fmt: skip
    register.add_request(request, identity)
    register.acknowledge(rid, DAY)
    register.confirm(rid, DAY)
    register.to_waiting(rid, DAY)
    return rid


def proposed(register: Register, key: str, gp: str, commune: str = VOIRON) -> str:
    """A request proposed to ``gp`` by hand."""
    rid = waiting(register, key, commune)
    register.propose(rid, gp, DAY)
    return rid


def app_over(store: Store, policy: mt_access.Policy, clock: Clock | None = None) -> Flask:
    """The application over a store object, with accounts alice/claire/lea."""
    for login, role in {"alice": "admin", "claire": "coordinateur", "lea": "lecture"}.items():
        if store.get_user(login) is None:
            create_user(store, login, role, PASSWORD, actor="cli:tests", hasher=FAST_HASHER, now=T0)
    return create_app(
        store,
        policy,
        config={
            "SECRET_KEY": SECRET,
            "TESTING": True,
            "MT_ACCESS_HASHER": FAST_HASHER,
            "MT_ACCESS_CLOCK": clock or Clock(),
            "MT_ACCESS_TODAY": lambda: TODAY,
        },
    )


def link(store: Store, gp: str, *, days: int = 30, clock: Clock | None = None) -> str:
    """The path of a new link for ``gp``."""
    token = issue_link(store, SECRET, gp, actor="cli:tests", days=days, clock=clock or Clock())
    return f"/medecin/{token}"


_CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def page_csrf(client: FlaskClient, url: str) -> str:
    """The session's CSRF token, from the page's forms (the login page's when it has none:
    the token is the session's, not the form's)."""
    found = _CSRF.search(client.get(url).get_data(as_text=True))
    if found is None:
        found = _CSRF.search(client.get("/connexion").get_data(as_text=True))
    assert found, f"no CSRF token on the page ({url[:20]}...)"
    return found.group(1)


def answer(
    client: FlaskClient,
    url: str,
    rid: str,
    step: int | str,
    reponse: str,
    motif: str = "",
) -> Any:
    """Post a GP's answer from their page."""
    data = {"csrf_token": page_csrf(client, url), "demande": rid, "etape": str(step),
            "reponse": reponse, "motif": motif}  # fmt: skip
    return client.post(f"{url}/reponse", data=data)


def state(store: Store) -> tuple[object, ...]:
    """What the register records, audit trail aside."""
    return (tuple(store.transitions()), tuple(store.ledger_entries()))


def messages(response: Any) -> str:
    body = response.get_data(as_text=True)
    return " ".join(re.findall(r'class="message message-\w+"[^>]*>([^<]*)<', body))
