"""The audit trail of the web application: every write and every display of a patient's
identity, with who and when, and no personal data in it. Generated data only."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytest.importorskip("flask")
pytest.importorskip("flask_wtf")
pytest.importorskip("argon2")

from flask.testing import FlaskClient

from mt_access.lifecycle import RequestState
from web_support import (
    T0,
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


def _first(path: Path, state: RequestState) -> str:
    with open_store(path) as store:
        return next(s.id for s in store.summaries([state]))


def test_showing_a_request_audits_the_identity_display(
    client: FlaskClient, register_file: Path
) -> None:
    rid = _first(register_file, RequestState.WAITING)
    login(client, "lea")
    client.get(f"/demandes/{rid}")
    client.get(f"/demandes/{rid}")
    with open_store(register_file) as store:
        lines = store.audit_entries(subject=rid)
    shown = [r for r in lines if r.action == "identite.afficher"]
    assert len(shown) == 2
    assert {r.actor for r in shown} == {"user:lea"}
    assert shown[0].at == T0


def test_the_list_shows_no_identity_and_audits_nothing(
    client: FlaskClient, register_file: Path
) -> None:
    login(client, "lea")
    with open_store(register_file) as store:
        before = len(store.audit_entries())
        names = [store.get_identity(s.id) for s in store.summaries([RequestState.WAITING])]
    page = text(client.get("/demandes", query_string={"etat": "waiting"}))
    for identity in names:
        assert identity is not None
        assert identity.last_name not in page
    with open_store(register_file) as store:
        assert len(store.audit_entries()) == before


def test_a_search_by_name_is_sent_by_post_and_audited_without_the_name(
    client: FlaskClient, register_file: Path
) -> None:
    rid = _first(register_file, RequestState.WAITING)
    with open_store(register_file) as store:
        identity = store.get_identity(rid)
    assert identity is not None
    login(client, "lea")
    token = csrf_token(client, "/demandes/recherche")
    page = client.post("/demandes/recherche", data={"csrf_token": token, "nom": identity.last_name})
    assert page.status_code == 200
    assert f'href="/demandes/{rid}"' in text(page)
    assert identity.last_name not in (page.request.query_string or b"").decode()
    with open_store(register_file) as store:
        lines = store.audit_entries()
    searched = [r for r in lines if r.action == "recherche.nom"]
    assert len(searched) == 1
    assert re.fullmatch(r"\d+ résultat\(s\)", searched[0].detail)
    assert any(r.action == "identite.afficher" and r.subject == rid for r in lines)
    for line in lines:
        assert identity.last_name not in f"{line.subject} {line.detail}"


def test_a_search_needs_two_letters(client: FlaskClient) -> None:
    login(client, "lea")
    token = csrf_token(client, "/demandes/recherche")
    page = client.post("/demandes/recherche", data={"csrf_token": token, "nom": "a"})
    assert page.status_code == 400
    assert "Entre 2 et 100 caractères." in text(page)


def test_logins_logouts_and_writes_are_audited_without_personal_data(
    client: FlaskClient, register_file: Path
) -> None:
    rid = _first(register_file, RequestState.RECEIVED)
    with open_store(register_file) as store:
        identity = store.get_identity(rid)
        step = len(store.transitions(rid))
    assert identity is not None
    login(client, "claire", "mauvais mot de passe")
    login(client, "claire")
    token = csrf_token(client, f"/demandes/{rid}")
    client.post(
        f"/demandes/{rid}/accuser",
        data={"csrf_token": token, "etape": str(step), "commentaire": identity.phone},
    )
    client.post("/deconnexion", data={"csrf_token": token})
    with open_store(register_file) as store:
        lines = list(reversed(store.audit_entries()))
    actions = [(r.actor, r.action) for r in lines]
    assert ("user:claire", "connexion.echec") in actions
    assert ("user:claire", "connexion") in actions
    assert ("user:claire", "demande.accuser") in actions
    assert actions[-1] == ("user:claire", "deconnexion")
    for line in lines:
        for value in (identity.last_name, identity.first_name, identity.phone, identity.email):
            if value:
                assert value not in f"{line.subject} {line.detail}"


def test_a_write_and_its_audit_line_are_recorded_together(
    client: FlaskClient, register_file: Path
) -> None:
    """A refused operation leaves no audit line; an accepted one leaves exactly one."""
    rid = _first(register_file, RequestState.WAITING)
    with open_store(register_file) as store:
        step = len(store.transitions(rid))
    login(client, "claire")
    token = csrf_token(client, f"/demandes/{rid}")
    client.post(f"/demandes/{rid}/confirmer", data={"csrf_token": token, "etape": str(step)})
    client.post(
        f"/demandes/{rid}/contact",
        data={"csrf_token": token, "etape": str(step), "resultat": "joint"},
    )
    with open_store(register_file) as store:
        lines = [r.action for r in store.audit_entries(subject=rid)]
    assert "demande.confirmer" not in lines  # refused: a waiting request is not confirmed
    assert lines.count("demande.contact") == 1
