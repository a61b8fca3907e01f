"""Form exports into a register: importing the same export twice never creates a request
twice (one after the other, with a bigger later export, from the command line, and from two
processes at the same moment); the command line's warnings about the file's columns.

Generated data only: no real person.
"""

from __future__ import annotations

import multiprocessing
import sqlite3
from pathlib import Path

import attrs
import pytest

import mt_access
from cli_support import run as cli
from import_worker import import_rounds, write_export
from mt_access.cli import EXIT_OK
from mt_access.intake import IntakeResult, import_file, read_table, row_digest
from mt_access.register import ImportOutcome, Register
from mt_access.store import MemoryStore, SQLiteStore

ROWS = 800
ROUNDS = 10


@pytest.fixture(scope="module")
def generic() -> mt_access.Policy:
    return attrs.evolve(mt_access.load_policy("voironnais"), intake=None)


def import_into(
    register: Register, path: Path, policy: mt_access.Policy
) -> tuple[IntakeResult, ImportOutcome]:
    """What ``mt-access import`` does: read with the register's known persons and rows."""
    result = import_file(
        path, policy, known=register.known_persons(), imported=register.imported_rows
    )
    return result, register.import_intake(result)


def test_the_digest_is_the_rows_content(tmp_path: Path) -> None:
    small = read_table(write_export(tmp_path / "a.csv", 3))
    bigger = read_table(write_export(tmp_path / "b.csv", 5))
    assert [row_digest(r) for r in small.rows] == [row_digest(r) for r in bigger.rows[:3]]
    assert len({row_digest(r) for r in bigger.rows}) == 5
    # column order, case of the header, and an empty column do not change it
    moved = tmp_path / "c.csv"
    moved.write_text(
        "CONSENTEMENT;Commune;Date de naissance;Prénom;Nom;Date de réception;Vide\n"
        "Oui;Voiron;01/01/1940;Alix;Fictif0;05/03/2026;\n",
        encoding="cp1252",
    )
    assert row_digest(read_table(moved).rows[0]) == row_digest(small.rows[0])
    # any change of a cell does
    changed = tmp_path / "d.csv"
    changed.write_text(
        "Date de réception;Nom;Prénom;Date de naissance;Commune;Consentement\n"
        "05/03/2026;Fictif0;Alix;01/01/1940;Voiron;oui\n",
        encoding="utf-8",
    )
    assert row_digest(read_table(changed).rows[0]) != row_digest(small.rows[0])


def test_the_same_export_twice_registers_each_row_once(
    tmp_path: Path, generic: mt_access.Policy
) -> None:
    register = Register(MemoryStore(), generic)
    export = write_export(tmp_path / "export.csv", 20)
    _, outcome = import_into(register, export, generic)
    assert len(outcome.registered) == 20
    again, outcome = import_into(register, export, generic)
    assert outcome.registered == ()
    assert outcome.nothing_new
    assert [row for row, _ in outcome.already_imported] == list(range(2, 22))
    assert again.duplicates == ()  # recognised as already imported, not as duplicates
    assert "20 ligne(s) déjà importée(s)" in again.summary()
    assert "20 ligne(s) déjà importée(s) (ignorée(s))" in outcome.summary()
    assert register.store.count_requests() == 20


def test_a_bigger_later_export_imports_only_the_new_rows(
    tmp_path: Path, generic: mt_access.Policy
) -> None:
    register = Register(MemoryStore(), generic)
    _, outcome = import_into(register, write_export(tmp_path / "mars.csv", 10), generic)
    ids = dict(outcome.registered)
    _, outcome = import_into(register, write_export(tmp_path / "avril.csv", 15), generic)
    assert [row for row, _ in outcome.registered] == list(range(12, 17))
    assert dict(outcome.already_imported) == ids  # each old row names its request
    assert not outcome.nothing_new
    assert register.store.count_requests() == 15


def test_rows_imported_meanwhile_are_skipped_in_the_transaction(
    tmp_path: Path, generic: mt_access.Policy
) -> None:
    """Two imports read the file before either registers it: the second one's transaction
    sees the first one's rows and skips them."""
    store = MemoryStore()
    one, two = Register(store, generic), Register(store, generic)
    export = write_export(tmp_path / "export.csv", 30)
    read_one = import_file(export, generic, known=one.known_persons(), imported=one.imported_rows)
    read_two = import_file(export, generic, known=two.known_persons(), imported=two.imported_rows)
    assert len(one.import_intake(read_one).registered) == 30
    outcome = two.import_intake(read_two)
    assert outcome.registered == ()
    assert len(outcome.already_imported) == 30
    assert store.count_requests() == 30


def test_the_command_line_says_already_imported(tmp_path: Path) -> None:
    register = tmp_path / "registre.sqlite"
    assert cli("registre", "creer", str(register), "--politique", "voironnais")[0] == EXIT_OK
    export = write_export(tmp_path / "export.csv", 12)
    args = ("import", str(export), "--registre", str(register), "--formulaire", "generique",
            "--sans-progression")  # fmt: skip
    code, text, _ = cli(*args)
    assert code == EXIT_OK
    assert "12 demande(s) enregistrée(s)" in text
    assert "déjà importé" not in text
    code, text, err = cli(*args)
    assert code == EXIT_OK, err
    assert f"{export} : déjà importé : ses 12 ligne(s) importable(s) l'ont déjà été ; aucune " \
        "demande ajoutée." in text  # fmt: skip
    assert "0 demande(s) enregistrée(s)" in text
    assert "12 ligne(s) déjà importée(s) (ignorée(s))" in text
    assert not (tmp_path / "export.rejets.csv").exists()  # nothing was rejected
    bigger = write_export(tmp_path / "export2.csv", 15)
    code, text, _ = cli("import", str(bigger), "--registre", str(register), "--formulaire",
                        "generique", "--sans-progression")  # fmt: skip
    assert code == EXIT_OK
    assert "3 demande(s) enregistrée(s)" in text
    assert "12 ligne(s) déjà importée(s)" in text
    assert "déjà importé :" not in text
    assert "Fictif" not in text
    code, text, _ = cli("registre", "verifier", "--registre", str(register))
    assert code == EXIT_OK, text


def test_two_processes_importing_the_same_export_at_once(tmp_path: Path) -> None:
    """The issue's case: the same 800-row export imported by two processes at the same moment
    gave 1,600 requests. Repeated: never more requests than rows, and the integrity check
    passes."""
    export = write_export(tmp_path / "export.csv", ROWS)
    registers = [str(tmp_path / f"registre-{n}.sqlite") for n in range(ROUNDS)]
    for register in registers:
        assert cli("registre", "creer", register, "--politique", "voironnais")[0] == EXIT_OK
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(2)
    results = context.Queue()
    workers = [
        context.Process(target=import_rounds, args=(str(export), registers, barrier, results))
        for _ in range(2)
    ]
    for worker in workers:
        worker.start()
    outputs: dict[int, list[tuple[int, str]]] = {}
    try:
        for _ in range(2 * ROUNDS):
            number, code, text = results.get(timeout=300)
            outputs.setdefault(number, []).append((code, text))
    finally:
        for worker in workers:
            worker.join(timeout=60)
            if worker.is_alive():
                worker.kill()
    for number, register in enumerate(registers):
        runs = outputs[number]
        assert [code for code, _ in runs] == [EXIT_OK, EXIT_OK], runs
        texts = sorted(text for _, text in runs)
        assert sum(f"{ROWS} demande(s) enregistrée(s)" in t for t in texts) == 1, texts
        assert sum("déjà importé :" in t for t in texts) == 1, texts
        with SQLiteStore(register, create=False, readonly=True) as store:
            assert store.count_requests() == ROWS
            assert store.integrity_check() == []
        conn = sqlite3.connect(register)
        assert conn.execute("SELECT COUNT(*) FROM imported_rows").fetchone()[0] == ROWS
        conn.close()


def test_the_command_line_warns_of_unread_and_absent_columns(tmp_path: Path) -> None:
    register = tmp_path / "registre.sqlite"
    assert cli("registre", "creer", str(register), "--politique", "voironnais")[0] == EXIT_OK
    export = tmp_path / "export.csv"
    export.write_text(
        "N° de demande;Date de réception;Nom du patient;Prénom du patient;Date de naissance;"
        "Code postal;Commune;Consentement du patient;Nombre d'enfants à charge;Statut\n"
        "V-1;05/03/2026;Fictif;Alix;12/04/1950;38500;Voiron;Oui;2;rappelée\n",
        encoding="utf-8",
    )
    code, text, err = cli("import", str(export), "--registre", str(register),
                          "--sans-progression")  # fmt: skip
    assert code == EXIT_OK, err
    assert "1 demande(s) enregistrée(s)" in text
    lines = err.splitlines()
    assert (
        "attention : 1 colonne(s) du fichier non lue(s) par le formulaire (leur contenu n'est "
        "pas importé) : « Statut »"
    ) in lines
    assert any(
        line.startswith("attention : colonne « Nombre d'enfants à charge » non lue : ressemble "
                        "au champ children (nombre d'enfants du foyer)")
        for line in lines
    ), lines  # fmt: skip
    absent = [line for line in lines if "facultative(s) absente(s)" in line]
    assert len(absent) == 1
    assert "« E-mail » (adresse e-mail)" in absent[0]
    assert "Fictif" not in text + err
    # the generic form: the many columns a spreadsheet may lack are not listed
    code, text, err = cli("import", str(export), "--registre", str(register), "--formulaire",
                          "generique", "--sans-progression")  # fmt: skip
    assert "facultative(s) absente(s)" not in err
