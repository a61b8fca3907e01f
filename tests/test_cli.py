"""The command line: French output, documented exit codes, a month run end to end."""

from __future__ import annotations

import argparse
import csv
import io
import re
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from mt_access.cli import (
    EXIT_INVALID_INPUT,
    EXIT_OK,
    EXIT_REFUSED,
    EXIT_STORE,
    EXIT_USAGE,
    main,
)
from mt_access.cli.app import _parser
from mt_access.cli.common import table


def run(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(args), out=out, err=io.StringIO())
    return code, out.getvalue()


def run_err(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(args), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


# ------------------------------------------------------------------------------------------
# demo


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    folder = tmp_path_factory.mktemp("demo") / "sortie"
    code, text = run("demo", "--dossier", str(folder))
    assert code == EXIT_OK, text
    return folder, text


def test_demo_prints_a_french_summary(demo: tuple[Path, str]) -> None:
    _, text = demo
    assert "aucun patient réel" in text
    assert "CPTS du Voironnais : appariement n° 3 du 15/03/2026" in text
    for section in ("Demandes attribuées à un médecin", "Demandes en attente", "Places du mois"):
        assert section in text
    assert "capacité des médecins éligibles épuisée" in text
    assert "Accès au médecin traitant — CPTS du Voironnais — mars 2026" in text


def test_demo_writes_the_register_letters_report_and_map(demo: tuple[Path, str]) -> None:
    folder, text = demo
    for name in (
        "registre.sqlite",
        "suivi_2026-03.xlsx",
        "liste_attente.png",
        "delais_par_niveau.png",
        "carte_2026-03.html",
    ):
        assert (folder / name).is_file(), name
        assert name in text
    letters = list((folder / "courriers").iterdir())
    assert letters
    assert any("dossier_medecin" in p.name for p in letters)
    code, listing = run("demande", "liste", "--registre", str(folder / "registre.sqlite"))
    assert code == EXIT_OK
    assert "proposée" in listing


def test_demo_is_deterministic(tmp_path: Path, demo: tuple[Path, str]) -> None:
    folder, text = demo
    code, again = run("demo", "--dossier", str(tmp_path / "b"))
    assert code == EXIT_OK
    assert again.replace(str(tmp_path / "b"), str(folder)) == text
    assert run("demo", "--dossier", str(tmp_path / "c"), "--graine", "7")[1] != again


def test_demo_deule_marque(tmp_path: Path) -> None:
    code, text = run("demo", "--politique", "deule_marque", "--dossier", str(tmp_path), "--details")
    assert code == EXIT_OK
    assert "Demandes orientées" in text
    assert "CMSI" in text
    assert any("orientation" in p.name for p in (tmp_path / "courriers").iterdir())


# ------------------------------------------------------------------------------------------
# politique


def test_policy_check_and_show() -> None:
    code, text = run("politique", "verifier", "voironnais")
    assert code == EXIT_OK
    assert "politique valide" in text
    code, text = run("policy", "show", "deule_marque")
    assert code == EXIT_OK
    assert "Marquette-lez-Lille" in text
    assert "médecin le plus proche" in text
    code, text = run("politique", "lister")
    assert "voironnais" in text


def test_policy_show_includes_the_intake_form() -> None:
    code, text = run("politique", "afficher", "voironnais")
    assert code == EXIT_OK
    assert "Formulaire de demande :" in text
    assert "birth_date ←" in text
    code, text = run("politique", "afficher", "deule_marque")
    assert "Formulaire de demande" in text


def test_invalid_policy_exit_code(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("identity: 3\n", encoding="utf-8")
    code, _, err = run_err("politique", "verifier", str(bad))
    assert code == EXIT_INVALID_INPUT
    assert "erreur :" in err
    assert "bad.yaml" in err


# ------------------------------------------------------------------------------------------
# Usage and help


def _commands(
    parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()
) -> Iterator[tuple[str, ...]]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            seen: set[int] = set()
            for name, sub in action.choices.items():
                if id(sub) in seen:
                    continue  # an alias
                seen.add(id(sub))
                yield (*prefix, name)
                yield from _commands(sub, (*prefix, name))


def test_every_command_has_a_french_help() -> None:
    commands = list(_commands(_parser()))
    assert len(commands) >= 30
    for command in commands:
        code, text = run(*command, "--help")
        assert code == EXIT_OK, command
        assert "utilisation : mt-access" in text
        assert re.search(r"[éèàç]|demande|médecin|registre", text), command


def test_usage_errors() -> None:
    assert run("nimportequoi")[0] == EXIT_USAGE
    assert run()[0] == EXIT_USAGE
    assert run("apparier", "--date", "31/02/2026")[0] == EXIT_USAGE
    assert run("medecin", "capacite", "MG1", "trois")[0] == EXIT_USAGE


def test_console_script_runs() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "mt_access.cli", "politique", "verifier", "deule_marque"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "politique valide" in proc.stdout


def test_table_aligns_and_cuts() -> None:
    text = table(("a", "nombre"), [("é" * 50, 3), ("x", 12)], max_width=10, right=(1,))
    lines = text.splitlines()
    assert lines[0] == "a           nombre"
    assert lines[2] == "ééééééééé…       3"
    assert lines[3].endswith("    12")


# ------------------------------------------------------------------------------------------
# A month from the command line, on an empty register

HEADERS = ["Date de réception", "Nom", "Prénom", "Date de naissance", "Commune", "Consentement"]


def _export(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream, delimiter=";")
        writer.writerow(HEADERS)
        writer.writerows(rows)
    return path


@pytest.fixture
def register(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "registre.sqlite"
    monkeypatch.setenv("MT_ACCESS_REGISTRE", str(path))
    code, text = run("registre", "creer", str(path), "--politique", "voironnais")
    assert code == EXIT_OK
    assert "Registre créé" in text
    return path


def test_a_month_end_to_end(tmp_path: Path, register: Path) -> None:
    assert run("medecin", "ajouter", "MG1", "--nom", "Dr Testeur", "--commune", "Voiron")[0] == 0
    code, text = run(
        "medecin", "adherer", "MG1", "--capacite", "2", "--modalites", "cabinet", "domicile",
        "--date", "01/03/2026",
    )  # fmt: skip
    assert code == EXIT_OK, text
    assert "2 nouveau(x) patient(s) par mois" in text
    code, text = run("medecin", "capacite", "MG1", "3", "--date", "02/03/2026")
    assert code == EXIT_OK
    assert "capacité de 3 par mois à partir de mars 2026" in text
    export = _export(
        tmp_path / "formulaire.csv",
        [
            ["02/03/2026", "Fictif", "Alice", "12/04/1950", "Voiron", "Oui"],
            ["02/03/2026", "Fictif", "Bruno", "03/05/1980", "Voreppe", "Oui"],
            ["03/03/2026", "Fictif", "Chloé", "01/01/1990", "Lyon", "Oui"],
            ["03/03/2026", "Fictif", "Denis", "01/13/1990", "Voiron", "Oui"],
        ],
    )
    code, text, err = run_err("import", str(export), "--formulaire", "generique")
    assert code == EXIT_OK, err
    assert "3 demande(s) enregistrée(s) (dont 1 hors territoire" in text
    assert "1 ligne(s) non importée(s)" in text
    assert (tmp_path / "formulaire.rejets.csv").is_file()
    assert "Import : [" in err  # the progress bar
    assert "Fictif" not in text + err

    code, text = run("demande", "liste")
    assert "VOIRONNAIS-000001" in text.upper()
    first, second = re.findall(r"voironnais-00000[12]", text, flags=re.IGNORECASE)[:2]
    for request in (first, second):
        assert run("demande", "accuser", request, "--date", "04/03/2026")[0] == EXIT_OK
        code, text = run("demande", "confirmer", request, "--date", "06/03/2026")
        assert code == EXIT_OK
        assert "en liste d'attente" in text or "attente" in text

    code, text = run("apparier", "--date", "15/03/2026", "--apercu")
    assert "Aperçu : rien n'est enregistré" in text
    code, text = run("apparier", "--date", "15/03/2026", "--courriers", str(tmp_path / "c"))
    assert code == EXIT_OK, text
    assert "appariement n° 1 du 15/03/2026" in text
    # capacity 3, none taken before, 2 attributed by this run, 1 left (as `medecin liste`)
    assert re.search(r"Dr Testeur \(MG1\)\s+Voiron\s+3\s+0\s+2\s+1$", text, re.MULTILINE), text
    assert "1 courrier(s) écrit(s)" not in text
    assert "2 courrier(s) écrit(s)" in text
    assert list((tmp_path / "c").iterdir())

    code, text = run("medecin", "liste", "--date", "15/03/2026")
    assert re.search(r"MG1\s+Dr Testeur\s+Voiron\s+actif.*\s3\s+2\s+1$", text, re.MULTILINE), text

    code, text = run("medecin", "repondre", "MG1", first, "accepte", "--date", "20/03/2026")
    assert code == EXIT_OK
    assert "devient le médecin traitant" in text
    code, text = run("medecin", "repondre", "MG1", second, "refuse", "--date", "20/03/2026")
    assert code == EXIT_OK
    code, text = run("demande", "historique", first)
    assert "médecin traitant trouvé" in text
    assert "Dr Testeur (MG1)" in text

    code, text = run("demande", "contact", second, "injoignable", "--date", "25/03/2026")
    assert code == EXIT_OK
    code, text = run("demande", "position", second, "--date", "25/03/2026")
    assert code == EXIT_OK
    assert text.strip()
    code, text = run(
        "demande", "cloturer", second, "autre-solution", "--date", "28/03/2026", "-c", "trouvé"
    )
    assert code == EXIT_OK
    assert "sortie du dispositif" in text or "sortie" in text

    assert (
        run("medecin", "capacite", "MG1", "3", "--mois", "2026-04", "--date", "28/03/2026")[0] == 0
    )
    assert (
        run("medecin", "suspendre", "MG1", "--date", "01/04/2026", "--jusqu-au", "30/04/2026")[0]
        == 0
    )
    assert run("medecin", "reprendre", "MG1", "--date", "15/04/2026")[0] == EXIT_OK
    assert run("medecin", "retirer", "MG1", "--date", "30/04/2026")[0] == EXIT_OK

    code, text = run("registre", "info")
    assert "médecin traitant trouvé" in text
    code, text = run("registre", "verifier")
    assert code == EXIT_OK
    assert "registre intègre" in text


def test_reports_exports_and_map(tmp_path: Path, register: Path) -> None:
    demo = tmp_path / "demo"
    assert run("demo", "--dossier", str(demo))[0] == EXIT_OK
    reg = str(demo / "registre.sqlite")
    code, text = run(
        "rapport", "--registre", reg, "--mois", "2026-03", "--dossier", str(tmp_path / "r")
    )
    assert code == EXIT_OK, text
    assert (tmp_path / "r" / "suivi_2026-03.xlsx").is_file()
    assert (tmp_path / "r" / "carte_2026-03.html").is_file()

    pseudo = tmp_path / "pseudo.csv"
    code, text = run("export", str(pseudo), "--registre", reg, "--pseudonymise")
    assert code == EXIT_OK
    content = pseudo.read_text(encoding="utf-8-sig")
    assert "pseudonyme" in content
    assert "voironnais-0" not in content.lower()
    full = tmp_path / "suivi.xlsx"
    code, text, err = run_err(
        "export", str(full), "--registre", reg, "--nominatif", "--date", "15/03/2026"
    )
    assert code == EXIT_OK
    assert full.is_file()
    assert "données personnelles" in err
    plain = tmp_path / "suivi.csv"
    assert run("export", str(plain), "--registre", reg, "--date", "15/03/2026")[0] == EXIT_OK
    assert "Fictif" not in plain.read_text(encoding="utf-8-sig")

    code, text = run(
        "carte",
        "--registre",
        reg,
        "--date",
        "15/03/2026",
        "--sortie",
        str(tmp_path / "m.html"),
        "--sans-fond",
    )
    assert code == EXIT_OK
    assert "<html" in (tmp_path / "m.html").read_text(encoding="utf-8").lower()


# ------------------------------------------------------------------------------------------
# Exit codes


def test_refused_operations_exit_3(register: Path) -> None:
    code, _, err = run_err("demande", "accuser", "voironnais-999999", "--date", "01/03/2026")
    assert code == EXIT_REFUSED
    assert "demande inconnue" in err
    assert run("medecin", "ajouter", "MG1", "--nom", "Dr A", "--commune", "38563")[0] == EXIT_OK
    assert (
        run("medecin", "ajouter", "MG1", "--nom", "Dr A", "--commune", "38563")[0] == EXIT_REFUSED
    )
    assert run("medecin", "reprendre", "MG1", "--date", "01/03/2026")[0] == EXIT_REFUSED


def test_register_file_problems_exit_4(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MT_ACCESS_REGISTRE", raising=False)
    code, _, err = run_err("demande", "liste", "--registre", str(tmp_path / "absent.sqlite"))
    assert code == EXIT_STORE
    assert "registre introuvable" in err
    other = tmp_path / "autre.sqlite"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE t (x)")
    assert run("demande", "liste", "--registre", str(other))[0] == EXIT_STORE
    existing = tmp_path / "r.sqlite"
    assert run("registre", "creer", str(existing), "--politique", "voironnais")[0] == EXIT_OK
    assert run("registre", "creer", str(existing), "--politique", "voironnais")[0] == EXIT_STORE


def test_invalid_values_exit_1(register: Path) -> None:
    code, _, err = run_err("medecin", "ajouter", "MG2", "--nom", "Dr B", "--commune", "Atlantide")
    assert code == EXIT_INVALID_INPUT
    assert "Atlantide" in err or "commune" in err
    code, _, err = run_err("export", "x.pdf")
    assert code == EXIT_INVALID_INPUT


def test_the_reference_page_lists_every_command() -> None:
    page = (Path(__file__).parent.parent / "docs" / "cli.md").read_text(encoding="utf-8")
    for command in _commands(_parser()):
        assert f"`{' '.join(command)}" in page, command


def test_locating_addresses_with_the_ban(
    tmp_path: Path, demo: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`demande localiser` against a local stand-in of the BAN: addresses in Voiron are
    answered in Voiron and located; the others come back outside their commune and keep the
    commune's point; a second run asks nothing again (cache)."""
    import shutil

    from ban_server import BANServer, Reply, feature
    from mt_access import load_policy
    from mt_access.register import Register
    from mt_access.store.sqlite import SQLiteStore

    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    folder, _ = demo
    copy = tmp_path / "registre.sqlite"
    shutil.copy(folder / "registre.sqlite", copy)
    with SQLiteStore(copy, readonly=True) as store:
        register = Register(store, load_policy("voironnais"))
        active = [s for s in register.list_requests() if not s.state.is_final]
        in_voiron = sum(1 for s in active if s.commune == "38563")
    with BANServer() as server:
        server.default = Reply(features=(feature(45.3646, 5.5897),))
        args = ("demande", "localiser", "--registre", str(copy), "--ban", server.domain, "--http")
        code, text, err = run_err(*args)
        assert code == EXIT_OK, err
        assert f"{in_voiron} adresse(s) localisée(s)" in text
        assert "trouvée hors de la commune" in text
        assert "Géocodage : [" in err
        sent = server.request_count
        assert sent == len(active)
        code, text, _ = run_err(*args)
        assert "0 adresse(s) localisée(s)" in text
        assert server.request_count == sent
    with SQLiteStore(copy, readonly=True) as store:
        located = [r for r in store.requests() if r.patient.location is not None]
    assert len(located) == in_voiron
    assert (tmp_path / "registre.geocodage.sqlite").is_file()
