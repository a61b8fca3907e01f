"""``mt-access journal``: the audit trail printed or written as CSV in French Excel style,
oldest line first, from a date on; formulas neutralised. Generated data only (the trail holds
no personal data anyway)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import pytest

from mt_access.cli import EXIT_INVALID_INPUT, EXIT_OK, EXIT_STORE, EXIT_USAGE, main
from mt_access.cli.audit_command import AUDIT_COLUMNS, audit_rows
from mt_access.store import AuditRecord, SQLiteStore

HEADER = ";".join(AUDIT_COLUMNS)


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def at(day: int, hour: int = 9) -> dt.datetime:
    return dt.datetime(2026, 3, day, hour, 30, 15, tzinfo=dt.UTC)


@pytest.fixture
def register(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "registre.sqlite"
    assert run("registre", "creer", str(path), "--politique", "voironnais")[0] == EXIT_OK
    monkeypatch.setenv("MT_ACCESS_REGISTRE", str(path))
    monkeypatch.chdir(tmp_path)
    with SQLiteStore(path) as store, store.transaction():
        store.add_audit(AuditRecord(at(2), "user:alice", "connexion"))
        store.add_audit(AuditRecord(at(16), "user:alice", "identite.afficher", "R1"))
        store.add_audit(AuditRecord(at(17, 23), "gp:MG1", "reponse", "R1", "=1+1;accepte"))
    return path


def test_the_journal_is_printed_oldest_first_as_french_csv(register: Path) -> None:
    code, out, err = run("journal")
    assert code == EXIT_OK, err
    lines = out.splitlines()
    assert lines[0] == HEADER
    assert not out.startswith("\ufeff")  # no byte order mark on the screen
    assert lines[1] == "1;02/03/2026;09:30:15;user:alice;connexion;;"
    assert lines[2] == "2;16/03/2026;09:30:15;user:alice;identite.afficher;R1;"
    # a detail a spreadsheet would run is neutralised, the separator inside it quoted
    assert lines[3] == '3;17/03/2026;23:30:15;gp:MG1;reponse;R1;"\'=1+1;accepte"'
    assert len(lines) == 4


def test_from_a_date_on(register: Path) -> None:
    code, out, _ = run("journal", "--depuis", "16/03/2026")
    assert code == EXIT_OK
    assert [line.split(";")[0] for line in out.splitlines()] == ["n°", "2", "3"]
    code, out, _ = run("journal", "--depuis", "2026-03-18")
    assert out.splitlines() == [HEADER]


def test_written_to_a_file_as_french_excel_opens_it(register: Path, tmp_path: Path) -> None:
    target = tmp_path / "journal.csv"
    code, out, err = run("journal", "--depuis", "16/03/2026", "--sortie", str(target))
    assert code == EXIT_OK, err
    assert f"Journal d'audit depuis le 16/03/2026 : 2 ligne(s) écrite(s) dans {target}" in out
    raw = target.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM
    with target.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle, delimiter=";"))
    assert rows[0] == list(AUDIT_COLUMNS)
    assert rows[1] == ["2", "16/03/2026", "09:30:15", "user:alice", "identite.afficher", "R1", ""]
    assert rows[2][-1] == "'=1+1;accepte"


def test_refusals(register: Path, tmp_path: Path) -> None:
    code, _, err = run("journal", "--sortie", "journal.txt")
    assert code == EXIT_INVALID_INPUT
    assert "s'écrit en .csv" in err
    code, _, err = run("journal", "--depuis", "31/02/2026")
    assert code == EXIT_USAGE
    assert "n'existe pas" in err
    code, _, err = run("journal", "--registre", str(tmp_path / "absent.sqlite"))
    assert code == EXIT_STORE
    assert "registre introuvable" in err
    assert not (tmp_path / "absent.sqlite").exists()


def test_account_commands_show_in_the_journal(
    register: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("argon2")
    from argon2 import PasswordHasher

    import mt_access.web.accounts as accounts

    monkeypatch.setattr(
        accounts, "password_hasher", lambda: PasswordHasher(time_cost=1, memory_cost=1024)
    )
    monkeypatch.setenv("MT_ACCESS_MOT_DE_PASSE", "une phrase de passe assez longue")
    assert run("utilisateur", "ajouter", "c.martin", "--role", "admin")[0] == EXIT_OK
    code, out, _ = run("journal")
    assert code == EXIT_OK
    last = out.splitlines()[-1].split(";")
    assert last[0] == "4"
    assert last[3].startswith("cli:")
    assert last[5] == "c.martin"


def test_rows_are_in_recording_order_whatever_the_times() -> None:
    records = [
        AuditRecord(at(5), "user:a", "b", seq=2),
        AuditRecord(at(9), "user:a", "a", seq=1),
        AuditRecord(dt.datetime(2026, 3, 4, 23, 30), "user:a", "c", seq=3),  # naive: UTC
    ]
    rows = audit_rows(records, dt.date(2026, 3, 5))
    assert [r["n°"] for r in rows] == [1, 2]
    assert [r["n°"] for r in audit_rows(records)] == [1, 2, 3]
