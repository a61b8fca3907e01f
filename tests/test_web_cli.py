"""``mt-access utilisateur`` and ``mt-access serve``: accounts from the command line, in French,
audited; the server started on 127.0.0.1 unless asked otherwise. Generated data only."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("flask")
pytest.importorskip("argon2")
pytest.importorskip("waitress")

from mt_access.cli import main
from mt_access.cli.web_commands import PASSWORD_ENV
from mt_access.store.sqlite import SQLiteStore

PASSWORD = "une phrase de passe assez longue"


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def register(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "registre.sqlite"
    assert run("registre", "creer", str(path), "--politique", "voironnais")[0] == 0
    monkeypatch.setenv("MT_ACCESS_REGISTRE", str(path))
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    # argon2 with small parameters: the tests check the commands, not the cost
    from argon2 import PasswordHasher

    import mt_access.web.accounts as accounts

    monkeypatch.setattr(
        accounts, "password_hasher", lambda: PasswordHasher(time_cost=1, memory_cost=1024)
    )
    return path


def test_add_list_disable_and_change_a_password(register: Path) -> None:
    code, out, _ = run("utilisateur", "ajouter", "c.martin", "--role", "coordinateur",
                       "--nom", "Claire Martin")  # fmt: skip
    assert code == 0
    assert "Compte « c.martin » créé (coordinateur)." in out
    code, out, _ = run("utilisateur", "lister")
    assert code == 0
    assert "c.martin" in out
    assert "Claire Martin" in out
    assert "actif" in out
    assert PASSWORD not in out
    assert run("utilisateur", "mot-de-passe", "c.martin")[0] == 0
    code, out, _ = run("utilisateur", "desactiver", "c.martin")
    assert code == 0
    assert "désactivé" in out
    with SQLiteStore(register) as store:
        user = store.get_user("c.martin")
        assert user is not None
        assert not user.active
        assert user.session_epoch == 2
        actions = [r.action for r in reversed(store.audit_entries(subject="c.martin"))]
        actors = {r.actor for r in store.audit_entries(subject="c.martin")}
    assert actions == ["compte.creer", "compte.mot-de-passe", "compte.desactiver"]
    assert all(actor.startswith("cli:") for actor in actors)


def test_a_short_password_is_refused_in_french(
    register: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PASSWORD_ENV, "court")
    code, _, err = run("utilisateur", "ajouter", "lea", "--role", "lecture")
    assert code == 1
    assert "mot de passe trop court : au moins 12 caractères" in err
    with SQLiteStore(register) as store:
        assert store.users() == []


def test_the_password_is_asked_twice(register: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PASSWORD_ENV)
    answers = iter([PASSWORD, PASSWORD + " mais autre"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    code, _, err = run("utilisateur", "ajouter", "lea", "--role", "lecture")
    assert code == 1
    assert "les deux mots de passe tapés diffèrent" in err
    answers = iter([PASSWORD, PASSWORD])
    assert run("utilisateur", "ajouter", "lea", "--role", "lecture")[0] == 0


def test_bad_role_login_and_unknown_account(register: Path) -> None:
    code, _, err = run("utilisateur", "ajouter", "lea", "--role", "chef")
    assert code == 2
    assert "valeur invalide" in err
    code, _, err = run("utilisateur", "ajouter", "Léa Martin", "--role", "lecture")
    assert code == 1
    assert "identifiant invalide" in err
    code, _, err = run("utilisateur", "desactiver", "personne")
    assert code == 1
    assert "compte inconnu" in err
    assert run("utilisateur", "ajouter", "lea", "--role", "lecture")[0] == 0
    code, _, err = run("utilisateur", "ajouter", "lea", "--role", "lecture")
    assert "existe déjà" in err


def test_serve_listens_on_localhost_by_default(
    register: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr("waitress.serve", lambda app, **kw: calls.append({"app": app, **kw}))
    # nothing listens: the port is not tried either (8000 may be taken here)
    monkeypatch.setattr("mt_access.cli.web_commands._check_listen", lambda *a: None)
    monkeypatch.setenv("MT_ACCESS_WEB_SECRET", "s" * 40)
    code, out, err = run("serve")
    assert code == 0
    assert calls[0]["host"] == "127.0.0.1"
    assert calls[0]["port"] == 8000
    assert calls[0]["threads"] == 4  # fewer threads than 8: see SERVE_THREADS
    assert "http://127.0.0.1:8000/" in out
    assert "aucun compte" in err
    assert "s" * 40 not in out + err


def test_serve_warns_when_listening_elsewhere(
    register: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr("waitress.serve", lambda app, **kw: calls.append(kw))
    # nothing listens: the port is not tried either (8000 may be taken here)
    monkeypatch.setattr("mt_access.cli.web_commands._check_listen", lambda *a: None)
    monkeypatch.setenv("MT_ACCESS_WEB_SECRET", "s" * 40)
    assert run("utilisateur", "ajouter", "alice", "--role", "admin")[0] == 0
    code, _, err = run("serve", "--hote", "0.0.0.0", "--port", "8123")
    assert code == 0
    assert calls[0]["host"] == "0.0.0.0"
    assert calls[0]["port"] == 8123
    assert "d'autres machines du réseau peuvent l'atteindre" in err
    assert "aucun compte" not in err


def test_serve_threads_option(register: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr("waitress.serve", lambda app, **kw: calls.append(kw))
    # nothing listens: the port is not tried either (8000 may be taken here)
    monkeypatch.setattr("mt_access.cli.web_commands._check_listen", lambda *a: None)
    monkeypatch.setenv("MT_ACCESS_WEB_SECRET", "s" * 40)
    assert run("serve", "--fils", "2")[0] == 0
    assert calls[0]["threads"] == 2
    code, _, err = run("serve", "--fils", "0")
    assert code == 1
    assert "--fils : 0 refusé ; entier entre 1 et 64" in err
    code, _, err = run("serve", "--fils", "deux")
    assert code == 2
    assert "nombre entier attendu" in err
    assert len(calls) == 1


def test_serve_without_a_register_says_so(tmp_path: Path) -> None:
    code, _, err = run("serve", "--registre", str(tmp_path / "absent.sqlite"))
    assert code == 4
    assert "registre introuvable" in err
