"""Security of the web application: headers, CSRF, the permission matrix (role × page ×
action), French error pages, the session key, nothing inline. Generated data only."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

import pytest

pytest.importorskip("flask")
pytest.importorskip("flask_wtf")
pytest.importorskip("argon2")

from flask.testing import FlaskClient

import mt_access.web
from mt_access.errors import StoreError
from mt_access.lifecycle import RequestState
from mt_access.web.app import CONTENT_SECURITY_POLICY, SECRET_ENV, secret_key
from mt_access.web.gp_forms import gp_step
from web_support import (
    Clock,
    app,
    client,
    clock,
    csrf_token,
    login,
    make_app,
    open_store,
    register_file,
    register_template,
    text,
)

__all__ = ["app", "client", "clock", "register_file", "register_template"]

ROLES = ("anonyme", "lecture", "coordinateur", "admin")
ACCOUNT = {"lecture": "lea", "coordinateur": "claire", "admin": "alice"}


def _first(path: Path, state: RequestState) -> str:
    with open_store(path) as store:
        return next(s.id for s in store.summaries([state]))


def _as(client: FlaskClient, role: str) -> None:
    if role != "anonyme":
        assert login(client, ACCOUNT[role]).status_code == 302


# ------------------------------------------------------------------------------------------
# Headers


@pytest.mark.parametrize("url", ["/connexion", "/", "/demandes", "/nulle-part"])
def test_every_page_has_the_security_headers(client: FlaskClient, url: str) -> None:
    login(client, "lea")
    response = client.get(url)
    headers = response.headers
    assert headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert "default-src 'self'" in CONTENT_SECURITY_POLICY
    assert "frame-ancestors 'none'" in CONTENT_SECURITY_POLICY
    assert "unsafe-inline" not in CONTENT_SECURITY_POLICY
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Cache-Control"] == "no-store"


def test_the_stylesheet_is_served_from_the_package(client: FlaskClient) -> None:
    response = client.get("/static/mt-access.css")
    response.close()
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/css")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers.get("Cache-Control") != "no-store"


_SCRIPT_TAG = re.compile(r"<script\b(.*?)>(.*?)</script>", re.DOTALL)
_STATIC_SCRIPT = re.compile(r"""^ src="\{\{ url_for\('static', filename='([^']+)'\) \}\}" defer$""")


def test_templates_have_no_inline_script_or_style_and_nothing_from_elsewhere() -> None:
    web = Path(mt_access.web.__file__).parent
    folder = web / "templates"
    scripts: set[str] = set()
    for template in folder.rglob("*.html"):
        content = template.read_text(encoding="utf-8")
        for attributes, body in _SCRIPT_TAG.findall(content):
            found = _STATIC_SCRIPT.match(attributes)  # only the package's own files
            assert found is not None, (template.name, attributes)
            assert not body.strip(), template.name
            assert (web / "static" / found.group(1)).is_file(), found.group(1)
            scripts.add(found.group(1))
        assert content.count("<script") == len(_SCRIPT_TAG.findall(content)), template.name
        assert "style=" not in content, template.name
        assert "<style" not in content, template.name
        assert "http://" not in content, template.name
        assert "https://" not in content, template.name
        assert " hx-on" not in content, template.name  # no code in attributes (no eval)
        assert "js:" not in content, template.name
    assert scripts == {"htmx/htmx.min.js"}


# ------------------------------------------------------------------------------------------
# Error pages and CSRF


def test_error_pages_are_plain_french(client: FlaskClient) -> None:
    login(client, "lea")
    missing = client.get("/nulle-part")
    assert missing.status_code == 404
    assert "Page introuvable" in text(missing)
    assert '<html lang="fr">' in text(missing)
    unknown = client.get("/demandes/INCONNUE-1")
    assert unknown.status_code == 404
    wrong_method = client.put("/demandes")
    assert wrong_method.status_code == 405
    assert "Action impossible" in text(wrong_method)


def test_a_post_without_its_csrf_token_is_refused_and_records_nothing(
    client: FlaskClient, register_file: Path
) -> None:
    rid = _first(register_file, RequestState.RECEIVED)
    login(client, "claire")
    with open_store(register_file) as store:
        before = len(store.transitions(rid))
    response = client.post(f"/demandes/{rid}/accuser", data={"etape": str(before)})
    assert response.status_code == 400
    assert "Le formulaire a expiré" in text(response)
    forged = client.post(
        f"/demandes/{rid}/accuser", data={"etape": str(before), "csrf_token": "faux"}
    )
    assert forged.status_code == 400
    with open_store(register_file) as store:
        assert len(store.transitions(rid)) == before


def test_the_login_form_itself_needs_its_token(client: FlaskClient) -> None:
    response = client.post("/connexion", data={"login": "claire", "password": "x" * 20})
    assert response.status_code == 400


# ------------------------------------------------------------------------------------------
# Permission matrix


PAGES = (
    "/",
    "/demandes",
    "/demandes?etat=waiting&tri=attente",
    "/demandes/recherche",
    "REQUEST",
    "REQUEST/position",
    "/medecins",
    "/medecins/MG001",
)
ADMIN_PAGES = ("/admin/journal", "/admin/journal?objet=claire", "/admin/comptes")


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("page", PAGES)
def test_permission_matrix_of_the_pages(
    client: FlaskClient, register_file: Path, role: str, page: str
) -> None:
    rid = _first(register_file, RequestState.WAITING)
    url = page.replace("REQUEST", f"/demandes/{rid}") if page.startswith("REQUEST") else page
    _as(client, role)
    response = client.get(url)
    if role == "anonyme":
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/connexion")
    else:
        assert response.status_code == 200, text(response)[:500]


ACTIONS = {
    "accuser": (RequestState.RECEIVED, {}),
    "confirmer": (RequestState.ACKNOWLEDGED, {}),
    "contact": (RequestState.WAITING, {"resultat": "injoignable"}),
    "cloturer": (RequestState.WAITING, {"motif": "retrait"}),
    "effacer": (RequestState.WAITING, {"confirmation": "RID"}),
    "reponse-medecin": (RequestState.PROPOSED, {"medecin": "GP", "reponse": "refuse"}),
    "qualifier": (
        RequestState.WAITING,
        {f"champ_{n}": "oui" for n in ("ald", "css", "ame", "disability_or_chronic", "urgent")}
        | {"commentaire": "appel du patient"},
    ),
}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_permission_matrix_of_the_actions(
    client: FlaskClient, register_file: Path, role: str, action: str
) -> None:
    state, extra = ACTIONS[action]
    rid = _first(register_file, state)
    with open_store(register_file) as store:
        step = len(store.transitions(rid))
        audit_before = len(store.audit_entries(subject=rid))
        file = store.get_file(rid)
        gp = min(file.proposed_to) if file is not None and file.proposed_to else ""
    _as(client, role)
    token = csrf_token(client, "/connexion" if role == "anonyme" else "/")
    data = {k: {"RID": rid, "GP": gp}.get(v, v) for k, v in extra.items()}
    data.update(csrf_token=token, etape=str(step))
    response = client.post(f"/demandes/{rid}/{action}", data=data)
    with open_store(register_file) as store:
        changed = len(store.transitions(rid)) != step or store.erased_on(rid) is not None
        written = [r.action for r in store.audit_entries(subject=rid)][
            : len(store.audit_entries(subject=rid)) - audit_before
        ]
    if role == "anonyme":
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/connexion")
        assert not changed
    elif role == "lecture":
        assert response.status_code == 403
        assert "Accès refusé" in text(response)
        assert not changed
    else:
        assert response.status_code == 303, text(response)[:800]
        assert changed
        assert written == [f"demande.{action}"]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("page", ADMIN_PAGES)
def test_permission_matrix_of_the_admin_pages(client: FlaskClient, role: str, page: str) -> None:
    _as(client, role)
    response = client.get(page)
    expected = {"anonyme": 302, "lecture": 403, "coordinateur": 403, "admin": 200}[role]
    assert response.status_code == expected


GP_ACTIONS = {
    "capacite": {"capacite": "3"},
    "suspendre": {"du": "2026-03-20", "au": "2026-04-10", "note": "congé"},
    "reprendre": {},
}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("action", sorted(GP_ACTIONS))
def test_permission_matrix_of_the_gp_actions(
    client: FlaskClient, register_file: Path, role: str, action: str
) -> None:
    pid = "MG014" if action == "reprendre" else "MG002"  # MG014: suspended in the example
    _as(client, role)
    token = csrf_token(client, "/connexion" if role == "anonyme" else "/")
    with open_store(register_file) as store:
        physician = store.get_physician(pid)
        assert physician is not None
        step = gp_step(physician, store.ledger_entries())
    response = client.post(
        f"/medecins/{pid}/{action}",
        data={"csrf_token": token, "etape": step, **GP_ACTIONS[action]},
    )
    with open_store(register_file) as store:
        written = [r.action for r in store.audit_entries(subject=pid)]
    if role == "anonyme":
        assert response.status_code == 302
    elif role == "lecture":
        assert response.status_code == 403
    else:
        assert response.status_code == 303
    assert written == ([f"medecin.{action}"] if role in ("coordinateur", "admin") else [])


@pytest.mark.parametrize("role", ROLES)
def test_permission_matrix_of_the_account_actions(
    client: FlaskClient, register_file: Path, role: str
) -> None:
    _as(client, role)
    token = csrf_token(client, "/connexion" if role == "anonyme" else "/")
    new = {"login": "nouveau", "role": "lecture", "mot_de_passe": "x" * 14,
           "confirmation": "x" * 14, "csrf_token": token}  # fmt: skip
    created = client.post("/admin/comptes", data=new)
    disabled = client.post("/admin/comptes/lea/desactiver", data={"csrf_token": token})
    with open_store(register_file) as store:
        lea = store.get_user("lea")
        exists = store.get_user("nouveau") is not None
    assert lea is not None
    if role == "admin":
        assert created.status_code == disabled.status_code == 303
        assert exists
        assert not lea.active
    else:
        expected = 302 if role == "anonyme" else 403
        assert created.status_code == disabled.status_code == expected
        assert not exists
        assert lea.active


def test_unknown_action_is_not_found(client: FlaskClient, register_file: Path) -> None:
    rid = _first(register_file, RequestState.WAITING)
    login(client, "claire")
    token = csrf_token(client, "/")
    assert client.post(f"/demandes/{rid}/supprimer", data={"csrf_token": token}).status_code == 404


# ------------------------------------------------------------------------------------------
# The key that signs the sessions


def test_the_key_file_is_created_for_its_owner_only(
    register_file: Path, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(SECRET_ENV, raising=False)
    key_file = register_file.with_name(register_file.name + ".secret")
    first = secret_key(register_file)
    assert key_file.exists()
    if os.name == "posix":
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert secret_key(register_file) == first  # kept
    app = make_app(register_file, clock, SECRET_KEY=None)
    assert app.config["SECRET_KEY"] == first


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
def test_a_key_file_readable_by_others_is_refused(
    register_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(SECRET_ENV, raising=False)
    secret_key(register_file)
    key_file = register_file.with_name(register_file.name + ".secret")
    key_file.chmod(0o644)
    with pytest.raises(StoreError, match="lisible par d'autres"):
        secret_key(register_file)


def test_the_key_may_come_from_the_environment(
    register_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SECRET_ENV, "k" * 40)
    assert secret_key(register_file) == b"k" * 40
    assert not register_file.with_name(register_file.name + ".secret").exists()
    monkeypatch.setenv(SECRET_ENV, "court")
    with pytest.raises(StoreError, match="trop courte"):
        secret_key(register_file)


def test_an_internal_error_gets_a_plain_french_page(register_file: Path, clock: Clock) -> None:
    app = make_app(register_file, clock, PROPAGATE_EXCEPTIONS=False)

    def broken() -> str:
        raise RuntimeError("boom")

    app.add_url_rule("/casse", "casse", broken)
    with app.test_client() as client:
        response = client.get("/casse")
    assert response.status_code == 500
    assert "Erreur interne" in text(response)
    assert "boom" not in text(response)
    assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY


def test_a_store_factory_is_opened_and_closed_for_each_request(
    register_file: Path, clock: Clock
) -> None:
    from mt_access.store.sqlite import SQLiteStore

    opened: list[SQLiteStore] = []

    def factory() -> SQLiteStore:
        store = SQLiteStore(register_file, create=False)
        opened.append(store)
        return store

    app = make_app(factory, clock)
    client = app.test_client()
    login(client, "lea")
    assert client.get("/demandes").status_code == 200
    assert len(opened) >= 3  # the policy, the login page and its post, the list...
    for store in opened:
        with pytest.raises(StoreError, match="fermé"):
            store.count_requests()
