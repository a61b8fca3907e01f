"""The command line on a register in PostgreSQL (``--registre postgresql://…``,
``MT_ACCESS_REGISTRE``), ``registre creer`` of a database, and ``registre copier`` from SQLite
to PostgreSQL and back, checked by the integrity check and identical listings.

Against a throwaway server (tests/pg_server.py); skipped where PostgreSQL is absent.
Generated data only.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from mt_access.cli import EXIT_OK, EXIT_STORE
from mt_access.store import AuditRecord, MemoryStore, SQLiteStore, UserRecord
from mt_access.store.copy import copy_register, differences
from mt_access.store.locations import is_store_url, open_store, shown_location
from mt_access.store.postgres import PostgresStore
from pg_server import Server
from test_cli_commands import _gp, _import, _person, _to_waiting, ok, run

LISTINGS = (
    ("demande", "liste"),
    ("demande", "liste", "--etat", "attente", "--etat", "sortie", "--etat", "mt-trouve"),
    ("medecin", "liste"),
    ("registre", "info"),
)


def listings(location: str) -> dict[tuple[str, ...], str]:
    shown = shown_location(location)
    return {
        command: ok(*command, "--registre", location).replace(shown, "<registre>")
        for command in LISTINGS
    }


def _lived_register(tmp_path: Path) -> None:
    """Requests imported, GPs, a run and a few events in the register of the environment."""
    ids = _import(tmp_path, [_person(n) for n in range(1, 7)])
    _gp(capacity=2, gp="MG1")
    _gp(capacity=1, gp="MG2")
    _to_waiting(*ids[:5])
    ok("apparier", "--date", "15/03/2026")
    ok("demande", "cloturer", ids[4], "retrait", "--date", "16/03/2026", "-c", "parti")


def test_a_register_in_postgresql_through_the_command_line(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"{pg_url}?cpts=voironnais"
    monkeypatch.chdir(tmp_path)
    out = ok("registre", "creer", url, "--politique", "voironnais")
    assert f"Registre créé : {url}" in out
    code, _, err = run("registre", "creer", url, "--politique", "voironnais")
    assert code == EXIT_STORE
    assert "contient déjà ce registre" in err
    monkeypatch.setenv("MT_ACCESS_REGISTRE", url)
    _lived_register(tmp_path)
    assert "registre intègre" in ok("registre", "verifier")
    assert "6 demande(s)" in ok("registre", "info")
    with PostgresStore(url, readonly=True) as store:
        assert store.count_requests() == 6
        assert len(store.runs()) == 1
        assert store.integrity_check() == []
    # Another CPTS of the same database sees none of it.
    other = f"{pg_url}?cpts=autre"
    ok("registre", "creer", other, "--politique", "voironnais")
    assert "0 demande(s)" in ok("registre", "info", "--registre", other)


def test_copy_from_sqlite_to_postgresql_and_back(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    source = tmp_path / "registre.sqlite"
    monkeypatch.setenv("MT_ACCESS_REGISTRE", str(source))
    ok("registre", "creer", str(source), "--politique", "voironnais")
    _lived_register(tmp_path)
    with SQLiteStore(source) as store:
        rid = store.summaries()[0].id
    ok("demande", "effacer", rid, "--oui", "--date", "20/03/2026")
    monkeypatch.setenv("MT_ACCESS_MOT_DE_PASSE", "un mot de passe assez long")
    ok("utilisateur", "ajouter", "alice", "--role", "admin")
    ok("utilisateur", "ajouter", "bob", "--role", "lecture")
    ok("utilisateur", "desactiver", "bob")
    with SQLiteStore(source) as store, store.transaction():
        for n in range(3):
            at = dt.datetime(2026, 3, 20 - n, 8, n, 59, tzinfo=dt.UTC)  # not in time order
            store.add_audit(AuditRecord(at, "user:alice", "identite.afficher", rid, f"n{n}"))
    with SQLiteStore(source, readonly=True) as store:
        trail = store.audit_entries()
        accounts = store.users()
    assert len(trail) >= 5
    url = f"{pg_url}?cpts=voironnais"
    out = ok("registre", "copier", str(source), url)
    assert "6 demande(s)" in out
    assert f"2 compte(s), {len(trail)} ligne(s) du journal d'audit" in out
    with PostgresStore(url, readonly=True) as copied:
        assert copied.audit_entries() == trail  # same order, times and numbers
        assert copied.users() == accounts  # hashes, states and epochs included
    assert "registre intègre, mêmes listes que la source" in out
    back = tmp_path / "retour.sqlite"
    out = ok("registre", "copier", url, str(back))
    assert "mêmes listes que la source" in out
    assert "registre intègre" in ok("registre", "verifier", "--registre", url)
    assert listings(str(source)) == listings(url) == listings(str(back))
    with open_store(source, readonly=True) as a, open_store(back, readonly=True) as b:
        assert differences(a, b) == []
        assert b.audit_entries() == trail
        assert b.users() == accounts

        # Each request's history in its order (requests are copied one after the other).
        def by_request(store: SQLiteStore | PostgresStore) -> list[object]:
            return sorted(store.transitions(), key=lambda t: t.request_id)

        assert by_request(a) == by_request(b)
    # A destination with data is refused, and left as it was.
    code, _, err = run("registre", "copier", str(source), url)
    assert code == EXIT_STORE
    assert "contient déjà des données" in err
    code, _, err = run("registre", "copier", str(source), str(back))
    assert code == EXIT_STORE
    assert "existe déjà" in err


def test_the_copy_is_all_or_nothing(pg_url: str, tmp_path: Path) -> None:
    from factories import doc

    source = SQLiteStore(tmp_path / "a.sqlite")
    with source.transaction():
        source.put_physician(doc("MG1"))
        source.put_setting("policy", "voironnais")
    target = PostgresStore(pg_url)
    try:
        with target.transaction():
            target.put_physician(doc("MG9"))
        with pytest.raises(Exception, match="contient déjà"):
            copy_register(source, target)
        assert [p.id for p in target.physicians()] == ["MG9"]
    finally:
        source.close()
        target.close()


def test_differences_see_the_accounts_and_the_audit_trail(pg_url: str) -> None:
    at = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)
    source = MemoryStore()
    with source.transaction():
        source.put_user(UserRecord("alice", "Alice", "admin", "$argon2id$x", created=at))
        source.add_audit(AuditRecord(at, "user:alice", "connexion"))
        source.add_audit(AuditRecord(at, "user:alice", "demande.accuser", "R1"))
    with PostgresStore(pg_url) as target:
        counts = copy_register(source, target)
        assert (counts.users, counts.audit_entries) == (1, 2)
        assert differences(source, target) == []
        with_account, with_audit = MemoryStore(), MemoryStore()
        with with_account.transaction(), with_audit.transaction():
            with_account.put_user(source.users()[0])
            with_audit.add_audit(source.audit_entries()[0])
        for other in (with_account, with_audit):  # an account or an audit line is data
            with pytest.raises(Exception, match="contient déjà"):
                copy_register(source, other)
        with target.transaction():
            target.add_audit(AuditRecord(at, "user:alice", "deconnexion"))
        assert differences(source, target) == ["journal d'audit"]
        with source.transaction():
            source.add_audit(AuditRecord(at, "user:alice", "deconnexion"))
            source.put_user(UserRecord("alice", "Alice", "lecture", "$argon2id$x", created=at))
        assert differences(source, target) == ["comptes"]


def test_passwords_in_urls_are_never_shown(
    pg_server: Server, pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    secret = "mot-de-passe-secret"
    # The throwaway server trusts loopback connections: the password is not checked.
    url = pg_url.replace("postgres@", f"postgres:{secret}@") + "?cpts=voironnais"
    for args in (
        ("registre", "creer", url, "--politique", "voironnais"),
        ("registre", "info", "--registre", url),
        ("registre", "verifier", "--registre", url),
        ("registre", "copier", url, str(tmp_path / "copie.sqlite")),
    ):
        code, out, err = run(*args)
        assert code == EXIT_OK, err
        assert secret not in out + err
        assert "postgres:***@" in out
    unreachable = f"postgresql://postgres:{secret}@127.0.0.1:1/absente"
    code, out, err = run("registre", "info", "--registre", unreachable)
    assert code == EXIT_STORE
    assert secret not in out + err
    assert "connexion impossible" in err
    monkeypatch.setenv("MT_ACCESS_REGISTRE", unreachable)
    code, out, err = run("demande", "liste")
    assert code != EXIT_OK
    assert secret not in out + err


def test_open_store_chooses_by_scheme(pg_url: str, tmp_path: Path) -> None:
    assert is_store_url(pg_url)
    assert is_store_url("postgres://h/db")
    assert not is_store_url(str(tmp_path / "registre.sqlite"))
    with open_store(tmp_path / "registre.sqlite", create=True) as file_store:
        assert isinstance(file_store, SQLiteStore)
    with open_store(pg_url) as database:
        assert isinstance(database, PostgresStore)


def test_registre_rattacher_gives_a_role_one_cpts(
    pg_server: Server, pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    pg_server.admin(
        "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'coord_cli') "
        "THEN CREATE ROLE coord_cli LOGIN; END IF; END $$"
    )
    admin = f"{pg_url}?cpts=voironnais"
    ok("registre", "creer", admin, "--politique", "voironnais")
    ok("registre", "creer", f"{pg_url}?cpts=autre", "--politique", "voironnais")
    out = ok("registre", "rattacher", "coord_cli", "--registre", admin)
    assert "coord_cli rattaché au registre de la CPTS voironnais" in out
    coordinator = pg_url.replace("postgres@", "coord_cli@")
    assert "0 demande(s)" in ok("registre", "info", "--registre", coordinator)
    code, _, err = run("registre", "info", "--registre", f"{coordinator}?cpts=autre")
    assert code == EXIT_STORE
    assert "n'a accès qu'au registre de la CPTS voironnais" in err
    code, _, err = run("registre", "rattacher", "inconnu", "--registre", admin)
    assert code == EXIT_STORE
    assert "rôle PostgreSQL inexistant" in err
    code, _, err = run("registre", "rattacher", "coord_cli", "--registre", "r.sqlite")
    assert code == EXIT_STORE
    assert "réservé aux registres PostgreSQL" in err
