"""The coordinator's guide matches the commands: every ``mt-access …`` line it shows (code
blocks and inline code, in the order of the page) runs on a fresh register, in a fresh
folder, and succeeds.

The files the guide takes for granted are made here: ``ma_cpts.yaml`` is a copy of the
shipped Voironnais policy, ``export_formulaire.csv`` a generated export of the Voironnais
form (made-up persons) shaped like the guide's example: 11 requests in the territory, one
outside, a row with an impossible birth date and a duplicate; ``medecins.xlsx`` a GP file with
the guide's MG042 as recorded (skipped as identical) and two made-up candidates (no joining:
no place, so the month's run stays the guide's); ``tableau_cpts.xlsx`` two candidates in the
headings of the guide's ``colonnes.yaml`` (the files the guide shows whole, ``file=NAME``,
are written as shown). ``demande localiser`` asks a
local stand-in of the BAN (``--ban … --http`` added), never the internet.
"""

from __future__ import annotations

import argparse
import csv
import io
import re
import shlex
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from mt_access.cli import EXIT_OK, main
from mt_access.loading import available_policies

GUIDE = Path(__file__).resolve().parents[1] / "docs" / "guide-coordinateur.md"

_FORM = (
    "N° de demande",
    "Date de réception",
    "Nom du patient",
    "Prénom du patient",
    "Date de naissance",
    "Téléphone",
    "E-mail",
    "Adresse",
    "Code postal",
    "Commune",
    "Couverture sociale / Complémentaire Santé Solidaire",
    "ALD / maladie chronique / situation de handicap",
    "Nécessité de visites à domicile",
    "Dernier médecin traitant",
    "Commune d'exercice du dernier médecin traitant",
    "Enfants de moins de 16 ans",
    "Demandeur - Profession",
    "Demandeur - Nom et prénom",
    "Demandeur - Coordonnées",
    "Consentement du patient",
    "Suivi par un spécialiste / autres professionnels de santé",
    "Suivi par d'autres professionnels ou acteurs sociaux, médico-sociaux",
    "Autres informations / commentaires",
)


def write_form_export(path: Path) -> Path:
    """The guide's ``export_formulaire.csv``: 14 rows of made-up persons."""
    communes = ("Voiron", "Coublevie", "La Buisse")
    rows = [
        {
            "Date de réception": f"0{2 + i % 4}/03/2026",
            "Nom du patient": f"Fictif{i}",
            "Prénom du patient": "Exemple",
            "Date de naissance": f"0{1 + i % 9}/01/19{50 + i}",
            "Adresse": f"{i + 1} rue Imaginaire",
            "Commune": communes[i % 3],
            "Consentement du patient": "Oui",
        }
        for i in range(11)
    ]
    rows.append(
        {
            "Date de réception": "05/03/2026",
            "Nom du patient": "Fictif11",
            "Prénom du patient": "Exemple",
            "Date de naissance": "01/01/1970",
            "Commune": "Grenoble",  # outside the territory: recorded, then exits
            "Consentement du patient": "Oui",
        }
    )
    impossible = {**rows[0], "Nom du patient": "Fictif12", "Date de naissance": "31/02/1970"}
    rows.extend([impossible, dict(rows[0])])  # a rejected row, then a duplicate
    with path.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream, delimiter=";")
        writer.writerow(_FORM)
        writer.writerows([row.get(h, "") for h in _FORM] for row in rows)
    return path


@dataclass
class Step:
    """One command of the guide and what it gave."""

    line: int
    argv: list[str]
    code: int = -1
    out: str = ""
    err: str = ""


def write_gp_file(path: Path) -> Path:
    """The guide's ``medecins.xlsx``: MG042 as the guide records it, and two candidates."""
    from mt_access.export import write_rows
    from mt_access.gp_file import GP_COLUMNS
    from mt_access.rpps import rpps_key

    rows = [
        {"Identifiant": "MG042", "Nom": "Exemple", "Commune d'exercice": "Voiron",
         "Places par mois": "3", "Modalités": "cabinet et domicile",
         "Communes acceptées": "Voiron; Coublevie; La Buisse", "Date d'entrée": "01/03/2026"},
        {"RPPS": "1077777777" + rpps_key("1077777777"), "Nom": "FICTIF", "Prénom": "Paul",
         "Commune d'exercice": "Voreppe"},
        {"RPPS": "1088888888" + rpps_key("1088888888"), "Nom": "IMAGINAIRE", "Prénom": "Léa",
         "Commune d'exercice": "Tullins", "Téléphone": "04 76 00 00 00"},
    ]  # fmt: skip
    headings = [c.heading for c in GP_COLUMNS]
    return write_rows([{h: r.get(h, "") for h in headings} for r in rows], headings, path)


def write_own_gp_file(path: Path) -> Path:
    """The guide's ``tableau_cpts.xlsx``: two made-up candidates in a CPTS's own headings,
    those the guide's ``colonnes.yaml`` maps."""
    from mt_access.export import write_rows
    from mt_access.rpps import rpps_key

    headings = ["N° praticien", "NOM", "Prénom du Dr", "Lieu d'exercice",
                "Nouveaux patients / mois", "Date de signature", "Spécialité"]  # fmt: skip
    rows = [
        {"N° praticien": "1066666666" + rpps_key("1066666666"), "NOM": "PROPRE",
         "Prénom du Dr": "Luc", "Lieu d'exercice": "Voiron", "Spécialité": "MG"},
        {"N° praticien": "1055555555" + rpps_key("1055555555"), "NOM": "AUTRE",
         "Lieu d'exercice": "38563"},
    ]  # fmt: skip
    return write_rows([{h: r.get(h, "") for h in headings} for r in rows], headings, path)


def write_file_blocks(text: str, folder: Path) -> None:
    """The guide's files shown whole (```` ```yaml file=NAME ````), written in ``folder``."""
    for name, body in re.findall(r"^```\w+ file=(\S+)\n(.*?)^```$", text, re.M | re.S):
        (folder / name).write_text(body, encoding="utf-8")


def guide_commands(text: str) -> list[Step]:
    """Every ``mt-access`` command of the guide, in order: the lines of ``sh`` code blocks
    (with their ``\\`` continuations, comments dropped) and inline code outside tables."""
    steps: list[Step] = []
    lines = text.splitlines()
    fence: str | None = None
    pending: list[str] = []
    prose: list[tuple[int, str]] = []

    def flush_prose() -> None:
        joined = " ".join(line for _, line in prose)
        first = prose[0][0] if prose else 0
        for span in re.findall(r"`(mt-access [^`]+)`", joined):
            steps.append(Step(first, shlex.split(span)[1:]))
        prose.clear()

    for number, line in enumerate(lines, start=1):
        if line.startswith("```"):
            if fence is None:
                flush_prose()
                fence = line[3:].strip()
            else:
                fence = None
            continue
        if fence is not None:
            if fence != "sh":
                continue
            pending.append(line.rstrip().removesuffix("\\"))
            if line.rstrip().endswith("\\"):
                continue
            command = " ".join(pending)
            pending.clear()
            if command.lstrip().startswith("mt-access "):
                steps.append(Step(number, shlex.split(command, comments=True)[1:]))
        elif line.lstrip().startswith("|") or not line.strip():
            flush_prose()
        else:
            prose.append((number, line))
    flush_prose()
    return steps


def _is_erasure(step: Step) -> bool:
    return step.argv[:2] in (["demande", "effacer"], ["request", "erase"])


@pytest.fixture(scope="module")
def guide_run(tmp_path_factory: pytest.TempPathFactory) -> list[Step]:
    from ban_server import BANServer

    folder = tmp_path_factory.mktemp("guide")
    shutil.copy(available_policies()["voironnais"], folder / "ma_cpts.yaml")
    write_form_export(folder / "export_formulaire.csv")
    write_gp_file(folder / "medecins.xlsx")
    write_own_gp_file(folder / "tableau_cpts.xlsx")
    write_file_blocks(GUIDE.read_text(encoding="utf-8"), folder)
    steps = guide_commands(GUIDE.read_text(encoding="utf-8"))
    with pytest.MonkeyPatch.context() as patch, BANServer() as ban:
        patch.chdir(folder)
        patch.delenv("MT_ACCESS_REGISTRE", raising=False)
        for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY"):
            patch.delenv(name, raising=False)
        for step in steps:
            argv = list(step.argv)
            if argv[:2] == ["demande", "localiser"]:
                argv += ["--ban", ban.domain, "--http"]
            out, err = io.StringIO(), io.StringIO()
            step.code = main(argv, out=out, err=err)
            step.out, step.err = out.getvalue(), err.getvalue()
    return steps


def test_the_guide_s_mapping_file_reads_its_spreadsheet(guide_run: list[Step]) -> None:
    (step,) = [s for s in guide_run if "--correspondance" in s.argv]
    assert "2 médecin(s) nouveau(x)" in step.out
    assert "0 ligne(s) rejetée(s)" in step.out
    assert "non lue" not in step.err  # « Spécialité » is ignored, as the file says


def test_the_guide_shows_the_month_s_commands(guide_run: list[Step]) -> None:
    commands = {" ".join(s.argv[:2]) for s in guide_run}
    for expected in (
        "demo --dossier",
        "registre creer",
        "import export_formulaire.csv",
        "demande localiser",
        "apparier --date",
        "medecin repondre",
        "rapport --mois",
        "demande effacer",
    ):
        assert expected in commands, expected
    assert len(guide_run) >= 40


def test_every_command_of_the_guide_succeeds(guide_run: list[Step]) -> None:
    failed = [
        f"ligne {s.line} : mt-access {shlex.join(s.argv)} → {s.code}\n{s.err}"
        for s in guide_run
        if s.code != EXIT_OK
    ]
    assert not failed, "\n".join(failed)


def test_the_guide_s_erasure_succeeds(guide_run: list[Step]) -> None:
    erasures = [s for s in guide_run if _is_erasure(s)]
    assert erasures
    for step in erasures:
        assert step.code == EXIT_OK, step.err


def test_the_guide_shows_what_the_commands_answer(guide_run: list[Step]) -> None:
    """The import answer printed in the guide is the real one; the matching of the example
    month proposes what the guide says."""
    text = GUIDE.read_text(encoding="utf-8")
    shown = text.split("Elle répond par exemple :\n\n```text\n", 1)[1].split("```", 1)[0]
    (imported,) = [s for s in guide_run if s.argv[:1] == ["import"]]
    assert imported.out == shown
    (run,) = [s for s in guide_run if s.argv[:1] == ["apparier"] and "--courriers" in s.argv]
    for request in ("voironnais-000001", "voironnais-000003", "voironnais-000005"):
        assert re.search(rf"^{request}\s.*Dr Exemple \(MG042\)", run.out, re.M), request
    waiting = r"^voironnais-000004\s.*capacité des médecins éligibles épuisée"
    assert re.search(waiting, run.out, re.M)


def test_no_command_of_the_guide_prints_english_or_a_traceback(guide_run: list[Step]) -> None:
    for step in guide_run:
        for text in (step.out, step.err):
            assert "Traceback" not in text, step.argv
            assert "usage:" not in text, step.argv
            assert "error:" not in text, step.argv


def test_the_extractor_reads_blocks_continuations_and_inline_code() -> None:
    page = (
        "Texte `mt-access a --x 1` et\n`mt-access b`.\n\n"
        "| code | `mt-access tableau \\| head` |\n\n"
        '```sh\nmt-access c \\\n    --d "e f"   # commentaire\nexport X=1\n```\n'
        "```text\nmt-access pas-une-commande\n```\n"
    )
    assert [s.argv for s in guide_commands(page)] == [
        ["a", "--x", "1"],
        ["b"],
        ["c", "--d", "e f"],
    ]


def _command_parser(root: argparse.ArgumentParser, argv: list[str]) -> argparse.ArgumentParser:
    parser = root
    for word in argv:
        subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if not subs or word not in subs[0].choices:
            break
        parser = subs[0].choices[word]
    return parser


_EVERYWHERE = {"--help", "--debug", "--registre", "--politique"}


def test_every_option_the_text_names_belongs_to_the_command_before_it() -> None:
    """An option named alone in the text (« `--details` ajoute… ») is one the command shown
    just before accepts (or one every command takes, like ``--registre``)."""
    from mt_access.cli.app import _parser

    root = _parser()
    text = GUIDE.read_text(encoding="utf-8")
    steps = guide_commands(text)
    unknown = []
    for number, line in enumerate(text.splitlines(), start=1):
        if line.startswith(("```", "mt-access", "|")):
            continue
        for option in re.findall(r"`(--[a-z][a-z-]*)", line):
            before = [s for s in steps if s.line < number]
            parser = _command_parser(root, before[-1].argv) if before else root
            if option not in _EVERYWHERE and option not in parser._option_string_actions:
                unknown.append(f"ligne {number} : {option} ({parser.prog})")
    assert not unknown, unknown
