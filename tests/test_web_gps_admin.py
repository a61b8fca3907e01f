"""The GPs' pages (list, capacity, suspension, resumption) and the administrator's pages (audit
trail, accounts). Generated data only."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

pytest.importorskip("flask")
pytest.importorskip("flask_wtf")
pytest.importorskip("argon2")

from flask import Flask
from flask.testing import FlaskClient

from mt_access.calendar import Month
from mt_access.model import PhysicianStatus
from mt_access.web.accounts import write_audit
from mt_access.web.admin import AUDIT_PAGE_SIZE
from web_support import (
    PASSWORD,
    TODAY,
    app,
    client,
    clock,
    csrf_token,
    login,
    open_store,
    register_file,
    register_template,
    text,
)

__all__ = ["app", "client", "clock", "register_file", "register_template"]


_STEP = re.compile(r'name="etape" type="hidden" value="([^"]+)"')


def _post(client: FlaskClient, url: str, **data: str) -> object:
    """POST ``data`` to ``url`` with the CSRF token and, for an action on a GP, the GP's step
    as its page shows it now."""
    parts = url.split("/")
    if len(parts) == 4 and parts[1] == "medecins":
        found = _STEP.search(text(client.get("/medecins/" + parts[2])))
        if found:
            data = {"etape": found.group(1), **data}
    return client.post(url, data={"csrf_token": csrf_token(client, "/"), **data})


# ------------------------------------------------------------------------------------------
# GPs


def test_the_gp_list_shows_every_gp_with_this_month_s_places(
    client: FlaskClient, register_file: Path
) -> None:
    login(client, "lea")
    page = text(client.get("/medecins"))
    with open_store(register_file) as store:
        physicians = store.physicians()
    for physician in physicians:
        assert f'href="/medecins/{physician.id}"' in page
    assert "Places restantes" in page


def test_a_new_capacity_goes_to_the_ledger(client: FlaskClient, register_file: Path) -> None:
    login(client, "claire")
    response = _post(client, "/medecins/MG003/capacite", capacite="7", note="nouvelle charte")
    assert response.status_code == 303  # type: ignore[attr-defined]
    with open_store(register_file) as store:
        declared = [
            e for e in store.ledger_entries()
            if getattr(e, "physician_id", "") == "MG003" and getattr(e, "capacity", None) == 7
        ]  # fmt: skip
    assert declared
    assert getattr(declared[-1], "month", None) == Month.of(TODAY)
    page = text(client.get("/medecins/MG003"))
    assert "Nouvelle capacité enregistrée." in page


def test_a_capacity_out_of_bounds_is_refused_next_to_the_field(client: FlaskClient) -> None:
    login(client, "claire")
    response = _post(client, "/medecins/MG003/capacite", capacite="5000")
    assert response.status_code == 400  # type: ignore[attr-defined]
    body = text(response)
    assert 'id="capacite-erreur"' in body
    assert "cochez « par année civile »" in body


def test_a_suspension_and_a_resumption(client: FlaskClient, register_file: Path) -> None:
    login(client, "claire")
    wrong = _post(client, "/medecins/MG004/suspendre", du="2026-03-20", au="2026-03-01")
    assert wrong.status_code == 400  # type: ignore[attr-defined]
    assert "La date de fin est avant la date de début." in text(wrong)
    _post(client, "/medecins/MG004/suspendre", du="2026-03-12", note="congé")
    with open_store(register_file) as store:
        physician = store.get_physician("MG004")
    assert physician is not None
    assert physician.status_on(TODAY) is PhysicianStatus.SUSPENDED
    _post(client, "/medecins/MG004/reprendre")
    with open_store(register_file) as store:
        physician = store.get_physician("MG004")
    assert physician is not None
    assert physician.status_on(TODAY + dt.timedelta(days=1)) is PhysicianStatus.ACTIVE


def test_an_unknown_gp_is_not_found(client: FlaskClient) -> None:
    login(client, "claire")
    assert client.get("/medecins/MG999").status_code == 404
    assert _post(client, "/medecins/MG999/reprendre").status_code == 404  # type: ignore[attr-defined]


# ------------------------------------------------------------------------------------------
# Audit trail page


def test_the_audit_page_pages_backwards_and_filters(
    client: FlaskClient, register_file: Path
) -> None:
    with open_store(register_file) as store, store.transaction():
        for n in range(AUDIT_PAGE_SIZE + 20):
            write_audit(store, "cli:test", "essai", f"X-{n % 3}", f"ligne {n}")
    login(client, "alice")
    first = text(client.get("/admin/journal"))
    older = re.search(r'href="/admin/journal\?avant=(\d+)"', first)
    assert older is not None
    numbers = [int(n) for n in re.findall(r'<tr><td class="number">(\d+)</td>', first)]
    assert len(numbers) == AUDIT_PAGE_SIZE
    assert numbers == sorted(numbers, reverse=True)
    second = text(client.get("/admin/journal", query_string={"avant": older.group(1)}))
    following = [int(n) for n in re.findall(r'<tr><td class="number">(\d+)</td>', second)]
    assert following
    assert max(following) < min(numbers)
    only = text(client.get("/admin/journal", query_string={"objet": "X-1"}))
    assert "X-0" not in only
    assert "X-1" in only


# ------------------------------------------------------------------------------------------
# Accounts page


def test_the_admin_creates_an_account_with_french_checks(
    client: FlaskClient, register_file: Path
) -> None:
    login(client, "alice")
    short = _post(client, "/admin/comptes", login="m.durand", role="lecture",
                  mot_de_passe="court", confirmation="court")  # fmt: skip
    assert short.status_code == 400  # type: ignore[attr-defined]
    assert "Au moins 12 caractères." in text(short)
    differ = _post(client, "/admin/comptes", login="m.durand", role="lecture",
                   mot_de_passe=PASSWORD, confirmation=PASSWORD + "x")  # fmt: skip
    assert "Les deux mots de passe diffèrent." in text(differ)
    taken = _post(client, "/admin/comptes", login="claire", role="lecture",
                  mot_de_passe=PASSWORD, confirmation=PASSWORD)  # fmt: skip
    assert "existe déjà" in text(taken)
    done = _post(client, "/admin/comptes", login="m.durand", role="coordinateur", nom="M. Durand",
                 mot_de_passe=PASSWORD, confirmation=PASSWORD)  # fmt: skip
    assert done.status_code == 303  # type: ignore[attr-defined]
    with open_store(register_file) as store:
        user = store.get_user("m.durand")
        lines = store.audit_entries(subject="m.durand")
    assert user is not None
    assert user.role == "coordinateur"
    assert [(r.actor, r.action) for r in lines] == [("user:alice", "compte.creer")]


def test_the_admin_cannot_disable_their_own_account(
    client: FlaskClient, register_file: Path
) -> None:
    login(client, "alice")
    _post(client, "/admin/comptes/alice/desactiver")
    with open_store(register_file) as store:
        alice = store.get_user("alice")
    assert alice is not None
    assert alice.active
    assert "votre propre compte" in text(client.get("/admin/comptes"))


def test_a_password_set_by_the_admin_ends_the_account_s_sessions(app: Flask) -> None:
    other, client = app.test_client(), app.test_client()
    login(other, "claire")
    assert other.get("/").status_code == 200
    login(client, "alice")
    new = "un nouveau mot de passe solide"
    response = _post(client, "/admin/comptes/claire/mot-de-passe",
                     **{"claire-mot_de_passe": new, "claire-confirmation": new})  # fmt: skip
    assert response.status_code == 303  # type: ignore[attr-defined]
    assert other.get("/").status_code == 302
    assert login(other, "claire", new).status_code == 302
