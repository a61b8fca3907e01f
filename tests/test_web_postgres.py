"""The web workspace and its commands over a register in PostgreSQL: ``create_app`` with a
``postgresql://`` URL (a connection per request), ``mt-access serve``, ``utilisateur`` and
``medecin lien`` with ``--registre URL`` / ``MT_ACCESS_REGISTRE``, and the session key that
must then come from ``MT_ACCESS_WEB_SECRET`` (no file next to a database).

Against a throwaway server (tests/pg_server.py); skipped where PostgreSQL is absent. The
register is the generated one of the web tests (web_support), copied into the database.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("flask")
pytest.importorskip("argon2")
pytest.importorskip("waitress")
pytest.importorskip("psycopg")

from mt_access.cli import EXIT_STORE, main
from mt_access.cli.web_commands import PASSWORD_ENV
from mt_access.errors import StoreError
from mt_access.store.copy import copy_register
from mt_access.store.postgres import PostgresStore
from mt_access.store.sqlite import SQLiteStore
from mt_access.web.app import SECRET_ENV, create_app
from web_support import (
    Clock,
    clock,
    csrf_token,
    login,
    make_app,
    register_file,
    register_template,
    text,
)

__all__ = ["clock", "register_file", "register_template"]

SECRET = "une clé de sessions de test assez longue " * 2


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def url(register_file: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The web tests' generated register (accounts included), copied into PostgreSQL."""
    monkeypatch.delenv(SECRET_ENV, raising=False)
    monkeypatch.delenv("MT_ACCESS_REGISTRE", raising=False)
    chosen = f"{pg_url}?cpts=voironnais"
    with SQLiteStore(register_file, readonly=True) as source, PostgresStore(chosen) as target:
        copy_register(source, target)
    return chosen


def test_the_workspace_over_a_postgresql_register(url: str, clock: Clock) -> None:
    app = make_app(url, clock)
    with app.test_client() as client:
        assert client.get("/").status_code == 302  # not logged in
        assert login(client, "claire").status_code == 302
        page = client.get("/")
        assert page.status_code == 200
        assert "Tableau de bord" in text(page)
        assert "Claire Exemple" in text(page)
        listing = client.get("/demandes")
        assert listing.status_code == 200
        token = csrf_token(client, "/")
        assert client.post("/deconnexion", data={"csrf_token": token}).status_code == 302
    with PostgresStore(url, readonly=True) as store:
        actions = [(r.actor, r.action) for r in store.audit_entries(limit=5)]
    assert ("user:claire", "connexion") in actions  # written through the database


def test_a_postgresql_register_needs_the_key_in_the_environment(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(StoreError, match=SECRET_ENV) as caught:
        create_app(url)
    message = str(caught.value)
    assert "pas de fichier de clé des sessions à côté d'une base de données" in message
    assert "mt-access medecin lien" in message
    monkeypatch.setenv(SECRET_ENV, SECRET)
    app = create_app(url)
    assert app.config["SECRET_KEY"] == SECRET.encode()


def test_accounts_serve_and_links_from_the_command_line(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from argon2 import PasswordHasher

    import mt_access.web.accounts as accounts

    monkeypatch.setattr(
        accounts, "password_hasher", lambda: PasswordHasher(time_cost=1, memory_cost=1024)
    )
    monkeypatch.setenv(PASSWORD_ENV, "une phrase de passe assez longue")
    code, out, err = run("utilisateur", "ajouter", "c.martin", "--role", "lecture",
                         "--registre", url)  # fmt: skip
    assert code == 0, err
    monkeypatch.setenv("MT_ACCESS_REGISTRE", url)
    code, out, _ = run("utilisateur", "lister")
    assert code == 0
    assert "c.martin" in out
    assert run("utilisateur", "desactiver", "c.martin")[0] == 0
    with PostgresStore(url, readonly=True) as store:
        user = store.get_user("c.martin")
        assert user is not None
        assert not user.active
        assert store.audit_entries(limit=1)[0].subject == "c.martin"
    code, out, _ = run("journal")  # the audit trail of the database, oldest first
    assert code == 0
    last = out.splitlines()[-1].split(";")
    assert (last[4], last[5]) == ("compte.desactiver", "c.martin")
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr("waitress.serve", lambda app, **kw: calls.append({"app": app, **kw}))
    # nothing listens: the port is not tried either (8000 may be taken here)
    monkeypatch.setattr("mt_access.cli.web_commands._check_listen", lambda *a: None)
    code, _, err = run("serve")
    assert code == EXIT_STORE
    assert SECRET_ENV in err
    assert calls == []
    code, _, err = run("medecin", "lien", "MG001")
    assert code == EXIT_STORE
    assert SECRET_ENV in err
    monkeypatch.setenv(SECRET_ENV, SECRET)
    code, out, err = run("serve")
    assert code == 0, err
    assert "http://127.0.0.1:8000/" in out
    served = calls[0]["app"]
    code, out, err = run("medecin", "lien", "MG001")
    assert code == 0, err
    link = out.strip().removeprefix("http://127.0.0.1:8000")
    with served.test_client() as client:  # the served application accepts the link
        page = client.get(link)
        assert page.status_code == 200
    assert run("medecin", "lien", "MG001", "--revoquer")[0] == 0


def test_pages_reuse_the_connections_kept_open(url: str, clock: Clock) -> None:
    """Each page's store borrows a connection kept open by the application (a new connection
    costs about 10 ms), instead of connecting for each request."""
    from mt_access.store.postgres_pool import PostgresPool
    from mt_access.web.context import EXTENSION

    app = make_app(url, clock)
    opener = app.extensions[EXTENSION].open_store
    assert isinstance(opener, PostgresPool)
    try:
        with app.test_client() as client:
            assert login(client, "claire").status_code == 302
            for _ in range(10):
                assert client.get("/demandes").status_code == 200
                assert client.get("/").status_code == 200
        stats = opener.pool.get_stats()
        # a store per page (and one at the start), but only a few connections: the pool opens
        # one more in advance when it lends its last, and another when a background task (the
        # dashboard's figures) borrows one at the same moment as a page; without the pool,
        # each of the 21 stores would have opened its own
        assert stats["requests_num"] >= 21
        assert stats["connections_num"] <= 4
    finally:
        opener.close()


def test_the_dashboard_figures_of_a_postgresql_register_come_from_the_worker_process(
    url: str, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker process opens the register from the same URL (read-only)."""
    import mt_access.web.dashboard_figures as dashboard_figures

    def not_here(*_args: Any) -> Any:
        raise AssertionError("indicators computed in the page's interpreter")

    monkeypatch.setattr(dashboard_figures, "indicators", not_here)  # not the worker's copy
    monkeypatch.setattr(dashboard_figures, "FIRST_WAIT_SECONDS", 120.0)
    app = make_app(url, clock, MT_ACCESS_FIGURES=None)  # as « mt-access serve »
    try:
        with app.test_client() as client:
            assert login(client, "claire").status_code == 302
            page = text(client.get("/"))
        assert "chiffres du mois calculés le 16/03/2026 à 09:00 UTC" in page
        assert "<dt>Demandes reçues</dt>" in page
        assert app.extensions[dashboard_figures.EXTENSION].computations == 1
    finally:
        dashboard_figures.shut_down(app)
