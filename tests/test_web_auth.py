"""The web application's accounts: login, throttling, logout, sessions ended by a disabling or
a password change. Generated register and accounts only."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("flask")
pytest.importorskip("flask_wtf")
pytest.importorskip("argon2")

from flask import Flask
from flask.testing import FlaskClient

from mt_access.errors import AccountError
from mt_access.web.accounts import (
    MAX_FAILURES,
    authenticate,
    create_user,
    disable_user,
    lock_delay,
    set_password,
)
from web_support import (
    FAST_HASHER,
    PASSWORD,
    Clock,
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

FAILED = "Identifiant ou mot de passe incorrect"


def test_anonymous_visitors_are_sent_to_the_login_page(client: FlaskClient) -> None:
    response = client.get("/demandes?etat=waiting")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/connexion?suivant=")
    page = client.get("/connexion")
    assert page.status_code == 200
    assert '<html lang="fr">' in text(page)
    assert 'for="login"' in text(page)


def test_a_good_login_opens_a_session_and_goes_back(client: FlaskClient) -> None:
    token = csrf_token(client, "/connexion")
    response = client.post(
        "/connexion?suivant=/demandes",
        data={"login": "claire", "password": PASSWORD, "csrf_token": token},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/demandes"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert PASSWORD not in cookie
    assert client.get("/").status_code == 200


@pytest.mark.parametrize("target", ["https://ailleurs.example/", "//ailleurs.example/", "x"])
def test_the_return_address_never_leaves_the_site(client: FlaskClient, target: str) -> None:
    token = csrf_token(client, "/connexion")
    response = client.post(
        "/connexion",
        query_string={"suivant": target},
        data={"login": "claire", "password": PASSWORD, "csrf_token": token},
    )
    assert response.headers["Location"] == "/"


def test_wrong_password_and_unknown_login_get_the_same_answer(client: FlaskClient) -> None:
    wrong = login(client, "claire", "pas le bon mot de passe")
    unknown = login(client, "personne", "pas le bon mot de passe")
    assert wrong.status_code == unknown.status_code == 401
    assert FAILED in text(wrong)
    assert FAILED in text(unknown)
    assert client.get("/").status_code == 302


def test_after_five_failures_the_account_is_locked_for_a_growing_delay(
    client: FlaskClient, clock: Clock, register_file: Path
) -> None:
    for _ in range(MAX_FAILURES):
        assert login(client, "claire", "mauvais mot de passe").status_code == 401
    # locked: even the right password is refused, with the same message
    refused = login(client, "claire")
    assert refused.status_code == 401
    assert FAILED in text(refused)
    clock.advance(seconds=61)
    assert login(client, "claire").status_code == 302  # the lock has ended
    with open_store(register_file) as store:
        user = store.get_user("claire")
        assert user is not None
        assert user.failed_logins == 0
        actions = [r.action for r in store.audit_entries(subject="claire")]
    assert actions[0] == "connexion"
    assert actions.count("connexion.echec") == MAX_FAILURES + 1


def test_the_lock_grows_and_is_bounded() -> None:
    assert lock_delay(MAX_FAILURES - 1).total_seconds() == 0
    delays = [lock_delay(n).total_seconds() for n in range(MAX_FAILURES, MAX_FAILURES + 8)]
    assert delays[:3] == [60, 120, 240]
    assert delays == sorted(delays)
    assert lock_delay(1000).total_seconds() == 3600


def test_a_failure_after_the_lock_locks_again_longer(register_file: Path, clock: Clock) -> None:
    with open_store(register_file) as store:
        for _ in range(MAX_FAILURES):
            authenticate(store, "lea", "mauvais", hasher=FAST_HASHER, now=clock())
        clock.advance(seconds=61)
        authenticate(store, "lea", "mauvais", hasher=FAST_HASHER, now=clock())
        user = store.get_user("lea")
        assert user is not None
        assert user.locked_until is not None
        assert (user.locked_until - clock()).total_seconds() == 120


def test_logout_needs_its_token_and_ends_the_session(client: FlaskClient) -> None:
    login(client, "lea")
    assert client.post("/deconnexion").status_code == 400  # no CSRF token
    assert client.get("/").status_code == 200
    token = csrf_token(client, "/")
    response = client.post("/deconnexion", data={"csrf_token": token})
    assert response.status_code == 302
    assert client.get("/").status_code == 302


def test_disabling_an_account_ends_its_sessions(client: FlaskClient, register_file: Path) -> None:
    login(client, "claire")
    assert client.get("/").status_code == 200
    with open_store(register_file) as store:
        disable_user(store, "claire", actor="user:alice")
    assert client.get("/").status_code == 302
    assert login(client, "claire").status_code == 401


def test_a_password_change_ends_the_sessions(client: FlaskClient, register_file: Path) -> None:
    login(client, "claire")
    new = "un tout autre mot de passe"
    with open_store(register_file) as store:
        set_password(store, "claire", new, actor="cli:test", hasher=FAST_HASHER)
    assert client.get("/").status_code == 302
    assert login(client, "claire").status_code == 401
    assert login(client, "claire", new).status_code == 302


def test_a_forged_session_cookie_is_ignored(app: Flask, client: FlaskClient) -> None:
    login(client, "claire")
    other = make_forged_client(app)
    assert other.get("/").status_code == 302


def make_forged_client(app: Flask) -> FlaskClient:
    forged = app.test_client()
    forged.set_cookie("mt_access_session", "eyJsb2dpbiI6ImFsaWNlIiwiZXBvY2giOjB9.AAAA.BBBB")
    return forged


def test_accounts_refuse_short_passwords_bad_logins_and_roles(register_file: Path) -> None:
    with open_store(register_file) as store:
        with pytest.raises(AccountError, match="au moins 12 caractères"):
            create_user(store, "nouveau", "lecture", "court", actor="t", hasher=FAST_HASHER)
        with pytest.raises(AccountError, match="identifiant invalide"):
            create_user(store, "Élodie M", "lecture", PASSWORD, actor="t", hasher=FAST_HASHER)
        with pytest.raises(AccountError, match="rôle inconnu"):
            create_user(store, "nouveau", "chef", PASSWORD, actor="t", hasher=FAST_HASHER)
        with pytest.raises(AccountError, match="existe déjà"):
            create_user(store, "claire", "lecture", PASSWORD, actor="t", hasher=FAST_HASHER)
        user = store.get_user("claire")
        assert user is not None
        assert user.password_hash.startswith("$argon2id$")
        assert PASSWORD not in user.password_hash
