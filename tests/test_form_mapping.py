"""Deducing a form mapping from an export (``mt-access formulaire deduire``), testing it on the
first rows (``formulaire tester``) and importing with it (``import --formulaire FILE.yaml``).
Only generated data."""

from __future__ import annotations

import csv
import random
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from cli_support import run as _run
from mt_access import PolicyError, load_policy
from mt_access.cli import EXIT_INVALID_INPUT, EXIT_OK
from mt_access.errors import IntakeError
from mt_access.intake.deduce import deduce_mapping
from mt_access.intake.deduce_yaml import mapping_yaml
from mt_access.intake.mapping_file import load_mapping, load_mapping_file
from mt_access.intake.tabular import read_table
from mt_access.intake.wordings import match_key
from mt_access.questions import Question, read_questions
from mt_access.register import Register
from mt_access.store.sqlite import SQLiteStore
from mt_access.yamlcheck import Locator
from mt_access.yamlread import parse_yaml

Cell = Callable[[random.Random, int], str]


def _date(rng: random.Random, _: int) -> str:
    return f"{rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/{rng.randint(1940, 2010)}"


def _iso(rng: random.Random, _: int) -> str:
    return f"{rng.randint(1940, 2010)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"


def _zoho(rng: random.Random, _: int) -> str:
    month = rng.choice(["Jan", "Feb", "Mar"])
    return f"{rng.randint(1, 28):02d}-{month}-2026 {rng.randint(8, 18):02d}:30:12"


def _pick(*options: str) -> Cell:
    return lambda rng, _: rng.choice(options)


def _const(text: str) -> Cell:
    return lambda _rng, _i: text


def _phone(rng: random.Random, _: int) -> str:
    return "06 " + " ".join(f"{rng.randint(10, 99)}" for _ in range(4))


NAME: Cell = lambda _rng, i: f"NOMFICTIF{i}"  # noqa: E731
FIRST: Cell = lambda _rng, i: f"Prenomfictif{i}"  # noqa: E731
FREE: Cell = lambda rng, i: f"note {i} {rng.random():.6f}"  # noqa: E731


def _export(path: Path, columns: Sequence[tuple[str, Cell]], rows: int = 60, seed: int = 7) -> Path:
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream, delimiter=";")
        writer.writerow([header for header, _ in columns])
        for i in range(rows):
            writer.writerow([cell(rng, i) for _, cell in columns])
    return path


ACCENTS: list[tuple[str, Cell, str]] = [
    ("Date de réception", _date, "received"),
    ("Nom de famille", NAME, "last_name"),
    ("Prénom", FIRST, "first_name"),
    ("Date de naissance", _date, "birth_date"),
    ("Téléphone portable", _phone, "phone"),
    ("Code postal", _const("38500"), "postal_code"),
    ("Commune", _pick("Voiron", "Coublevie"), "commune_name"),
    ("Affection de longue durée", _pick("Oui", "Non"), "ald"),
    ("Complémentaire santé solidaire", _pick("oui", "non"), "css"),
    ("Nécessité de visites à domicile", _pick("Oui", "Non"), "home_visits"),
    ("Nombre d'enfants", _pick("0", "1", "2", "Aucun"), "children"),
    ("Consentement du patient", _const("Oui"), "consent"),
]
ABBREVIATIONS: list[tuple[str, Cell, str]] = [
    ("NOM", NAME, "last_name"),
    ("Prénom :", FIRST, "first_name"),
    ("DDN", _iso, "birth_date"),
    ("Tél.", _phone, "phone"),
    ("CP", _const("38500"), "postal_code"),
    ("Ville", _pick("Voiron", "Coublevie"), "commune_name"),
    ("ALD ?", _pick("X", ""), "ald"),
    ("Bénéficiaire C2S", _pick("1", "0"), "css"),
    ("Nb adultes", _pick("1", "2"), "adults"),
    ("Consentement *", _pick("X"), "consent"),
]
ZOHO: list[tuple[str, Cell, str]] = [
    ("Added Time", _zoho, "received"),
    ("Nom du patient", NAME, "last_name"),
    ("Prénom du patient", FIRST, "first_name"),
    ("Date de naiss.", _date, "birth_date"),
    ("Votre ville *", _pick("Voiron", "Coublevie"), "commune_name"),
    ("AME", _pick("true", "false"), "ame"),
    ("Urgent", _pick("true", "false"), "urgent"),
    ("Motif", _pick("Départ du médecin traitant", "Déménagement", "Nouvel arrivant"), "reason"),
    ("Consentement", _const("true"), "consent"),
]


@pytest.mark.parametrize("columns", [ACCENTS, ABBREVIATIONS, ZOHO], ids=["accents", "abbr", "zoho"])
def test_each_column_gets_its_field(tmp_path: Path, columns: list[tuple[str, Cell, str]]) -> None:
    path = _export(tmp_path / "export.csv", [(h, c) for h, c, _ in columns])
    deduction = deduce_mapping(read_table(path))
    found = {p.header: p.field for p in deduction.fields}
    assert found == {h: f for h, _, f in columns}
    assert deduction.missing == ()
    text = mapping_yaml(deduction, file_name="export.csv")
    (tmp_path / "m.yaml").write_text(text, encoding="utf-8")
    mapping = load_mapping_file(tmp_path / "m.yaml")
    assert {name: f.columns[0] for name, f in mapping.fields.items()} == {
        f: h for h, _, f in columns
    }


def test_abbreviations_and_fillers_are_normalised() -> None:
    assert match_key("Date de naiss. du patient") == match_key("DDN") == "date naissance"
    assert match_key("Tél.") == "telephone"
    assert match_key("CP") == "code postal"


def test_value_styles_and_date_formats(tmp_path: Path) -> None:
    columns = [*ZOHO, ("Bénéficiaire C2S", _pick("X", ""), "css")]
    deduction = deduce_mapping(read_table(_export(tmp_path / "e.csv", [c[:2] for c in columns])))
    received = deduction.field("received")
    assert received is not None
    assert [f for f, _ in received.formats] == ["%d-%b-%Y %H:%M:%S"]
    birth = deduction.field("birth_date")
    assert birth is not None
    assert birth.formats == ()
    assert "jj/mm/aaaa" in birth.notes[0]
    ame = deduction.field("ame")
    assert ame is not None
    assert dict(ame.values) == {"true": True, "false": False}
    css = deduction.field("css")
    assert css is not None
    assert css.values == ()
    reason = deduction.field("reason")
    assert reason is not None
    assert dict(reason.values) == {
        "Départ du médecin traitant": "previous_mt_left",
        "Déménagement": "moved",
        "Nouvel arrivant": "new_arrival",
    }
    text = mapping_yaml(deduction, file_name="e.csv")
    assert '"true": true' in text
    assert "Zoho" in text


def test_integer_field_with_words_gets_values(tmp_path: Path) -> None:
    deduction = deduce_mapping(read_table(_export(tmp_path / "e.csv", [c[:2] for c in ACCENTS])))
    children = deduction.field("children")
    assert children is not None
    assert dict(children.values) == {"Aucun": 0}


QUESTION_COLUMNS: list[tuple[str, Cell]] = [
    ("Situation", _pick("Simple", "Complexe", "Très complexe")),
    ("Personne isolée ?", _pick("Oui", "Non")),
    ("Remarques libres", FREE),
]


def _commented_block(text: str, start: str, end: str) -> str:
    block = text.split(start, 1)[1].split(end, 1)[0]
    return "\n".join(line[2:] for line in block.splitlines() if line.startswith("# "))


def test_unknown_choice_columns_are_proposed_as_questions(tmp_path: Path) -> None:
    columns = [*(c[:2] for c in ACCENTS), *QUESTION_COLUMNS]
    path = _export(tmp_path / "e.csv", columns)
    deduction = deduce_mapping(read_table(path))
    proposed = {q.header: q for q in deduction.questions}
    assert proposed["Situation"].type == "choix"
    assert set(proposed["Situation"].options) == {"Simple", "Complexe", "Très complexe"}
    assert proposed["Personne isolée ?"].type == "oui_non"
    assert proposed["Personne isolée ?"].label == "Personne isolée"
    assert [h for h, _ in deduction.unplaced] == ["Remarques libres"]
    text = mapping_yaml(deduction, file_name="e.csv")
    assert "QUESTIONS PROPOSÉES" in text
    assert "COLONNES NON PLACÉES" in text
    assert "« Remarques libres » : texte libre" in text
    # The commented declarations are a valid ``questions:`` section, and the commented
    # ``intake.questions`` lines read them once uncommented.
    declared = _commented_block(text, "exemple :\n#\n# questions:\n", "#\n# puis")
    data, lines = parse_yaml(declared, "q.yaml")
    questions = read_questions(Locator("q.yaml", lines).root(data))
    assert {q.id for q in questions} == {q.id for q in deduction.questions}
    reads = text.split("(section « questions: », à décommenter) :\n#\n", 1)[1]
    uncommented = "\n".join(
        line[2:] for line in reads.split("\n\n", 1)[0].splitlines() if line.startswith("# ")
    )
    (tmp_path / "m.yaml").write_text(text + "\n" + uncommented + "\n", encoding="utf-8")
    mapping = load_mapping_file(tmp_path / "m.yaml", questions)
    assert set(mapping.questions) == {q.id for q in questions}


def test_the_policys_declared_questions_are_read(tmp_path: Path) -> None:
    columns = [*(c[:2] for c in ACCENTS), *QUESTION_COLUMNS]
    path = _export(tmp_path / "e.csv", columns)
    questions = (
        Question("situation", "Situation", "choix", ("Simple", "Complexe", "Très complexe")),
        Question("isole", "Personne isolée", "oui_non"),
    )
    deduction = deduce_mapping(read_table(path), questions=questions)
    assert [(q.id, q.declared) for q in deduction.questions] == [
        ("situation", True),
        ("isole", True),
    ]
    (tmp_path / "m.yaml").write_text(mapping_yaml(deduction, file_name="e"), encoding="utf-8")
    mapping = load_mapping_file(tmp_path / "m.yaml", questions)
    assert {qid: f.columns for qid, f in mapping.questions.items()} == {
        "situation": ("Situation",),
        "isole": ("Personne isolée ?",),
    }


def test_an_export_matching_nothing_lists_what_was_expected(tmp_path: Path) -> None:
    path = _export(tmp_path / "e.csv", [("Colonne A", FREE), ("Colonne B", FREE)])
    with pytest.raises(IntakeError) as caught:
        deduce_mapping(read_table(path))
    message = str(caught.value)
    for expected in ("le nom du patient", "« Date de naissance »", "« DDN »", "« Consentement »"):
        assert expected in message
    assert "note" not in message  # no cell value
    code, _out, err = _run("formulaire", "deduire", str(path))
    assert code == EXIT_INVALID_INPUT
    assert "aucune colonne du fichier ne correspond" in err
    assert "la commune du patient" in err
    assert not (tmp_path / "e.correspondance.yaml").exists()


def test_missing_required_field_is_left_to_complete(tmp_path: Path) -> None:
    columns = [(h, c) for h, c, f in ACCENTS if f != "consent"]
    path = _export(tmp_path / "e.csv", columns)
    code, _out, err = _run("formulaire", "deduire", str(path), "--sortie", str(tmp_path / "m.yaml"))
    assert code == EXIT_INVALID_INPUT
    assert "champ obligatoire non trouvé : le consentement" in err
    text = (tmp_path / "m.yaml").read_text(encoding="utf-8")
    assert "À COMPLÉTER" in text
    assert "# consent:" in text
    with pytest.raises(PolicyError, match="champ obligatoire manquant"):
        load_mapping_file(tmp_path / "m.yaml")


# --------------------------------------------------------------------------------------------
# Command line


def test_round_trip_deduce_then_import(tmp_path: Path) -> None:
    path = _export(tmp_path / "export.csv", [c[:2] for c in ZOHO], rows=40)
    code, out, err = _run("formulaire", "deduire", str(path))
    assert code == EXIT_OK, err
    mapping = tmp_path / "export.correspondance.yaml"
    assert f"écrite dans {mapping}" in out
    assert "« Date de naiss. »" in out
    code, _, err = _run("formulaire", "deduire", str(path))
    assert code != EXIT_OK
    assert "existe déjà" in err
    register = tmp_path / "r.sqlite"
    assert _run("registre", "creer", str(register), "--politique", "voironnais")[0] == EXIT_OK
    code, out, err = _run(
        "import", str(path), "--formulaire", str(mapping), "--registre", str(register),
        "--sans-progression",
    )  # fmt: skip
    assert code == EXIT_OK, err
    assert "40 demande(s) enregistrée(s)" in out
    with SQLiteStore(register, create=False, readonly=True) as store:
        assert Register(store, load_policy("voironnais")).store.count_requests() == 40


def test_import_keeps_preset_names_and_locates_mapping_errors(tmp_path: Path) -> None:
    assert load_mapping("generique").preset == "generique"
    bad = tmp_path / "m.yaml"
    bad.write_text(
        "fields:\n  last_name: Nom\n  birth_date:\n    column: DDN\n    formats: ['%Q']\n",
        encoding="utf-8",
    )
    with pytest.raises(PolicyError) as caught:
        load_mapping(str(bad))
    error = caught.value
    assert error.source == str(bad)
    assert error.line == 5
    assert error.path == "$.fields.birth_date.formats[0]"
    assert "format de date invalide" in str(error)
    path = _export(tmp_path / "e.csv", [c[:2] for c in ABBREVIATIONS], rows=5)
    register = tmp_path / "r.sqlite"
    _run("registre", "creer", str(register), "--politique", "voironnais")
    code, _, err = _run("import", str(path), "--formulaire", str(bad), "--registre", str(register))
    assert code == EXIT_INVALID_INPUT
    assert "m.yaml:5: $.fields.birth_date.formats[0]: format de date invalide" in err
    code, _, err = _run("import", str(path), "--formulaire", "inconnu", "--registre", str(register))
    assert code == EXIT_INVALID_INPUT
    assert "préréglage inconnu" in err


def test_tester_shows_the_first_rows_in_french_and_records_nothing(tmp_path: Path) -> None:
    path = _export(tmp_path / "e.csv", [c[:2] for c in ABBREVIATIONS], rows=8)
    rows = path.read_text(encoding="utf-8").splitlines()
    cells = rows[3].split(";")
    cells[2] = "32/13/1980"  # row 4: an impossible birth date
    rows[3] = ";".join(cells)
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    mapping = tmp_path / "m.yaml"
    assert _run("formulaire", "deduire", str(path), "--sortie", str(mapping))[0] == EXIT_OK
    before = sorted(p.name for p in tmp_path.iterdir())
    code, out, err = _run(
        "formulaire", "tester", str(path), str(mapping), "--lignes", "5", "--date", "01/03/2026"
    )
    assert code == EXIT_OK, err
    assert "rien n'est enregistré" in out
    assert "Lignes importables :" in out
    assert "naissance" in out
    assert "NOMFICTIF0" in out
    assert "Lignes refusées :" in out
    assert "ligne 4 : colonne « DDN » : date inexistante" in out
    assert "32/13/1980" not in out  # the reason names what was expected, not the cell
    assert "Résultat : 4 ligne(s) importable(s), 1 refusée(s) sur 5." in out
    assert "NOMFICTIF5" not in out  # only the first rows
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_an_xlsx_export_with_typed_cells(tmp_path: Path) -> None:
    import datetime as dt

    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["Horodateur", "NOM", "Prénom", "Né(e) le", "Commune", "ALD", "J'accepte"])
    for i in range(30):
        sheet.append(
            [
                dt.datetime(2026, 3, 1 + i % 28, 9, 15),
                f"NOMFICTIF{i}",
                "Alice",
                dt.datetime(1950 + i, 1 + i % 12, 1),
                "Voiron",
                i % 2 == 0,
                "Oui",
            ]
        )
    path = tmp_path / "export.xlsx"
    workbook.save(path)
    deduction = deduce_mapping(read_table(path))
    assert {p.header: p.field for p in deduction.fields} == {
        "Horodateur": "received",
        "NOM": "last_name",
        "Prénom": "first_name",
        "Né(e) le": "birth_date",
        "Commune": "commune_name",
        "ALD": "ald",
        "J'accepte": "consent",
    }
    assert all(p.formats == () for p in deduction.fields)  # ISO dates: read as they are
    mapping = tmp_path / "m.yaml"
    mapping.write_text(mapping_yaml(deduction, file_name="export.xlsx"), encoding="utf-8")
    code, out, err = _run("formulaire", "tester", str(path), str(mapping), "--lignes", "3")
    assert code == EXIT_OK, err
    assert "Résultat : 3 ligne(s) importable(s), 0 refusée(s) sur 3." in out


def test_a_coverage_column_is_read_for_the_css_and_the_ame(tmp_path: Path) -> None:
    columns = [(h, c) for h, c, f in ACCENTS if f != "css"]
    columns.append(("Couverture sociale", _pick("CSS", "AME", "Aucune", "Régime général")))
    deduction = deduce_mapping(read_table(_export(tmp_path / "e.csv", columns)))
    css, ame = deduction.field("css"), deduction.field("ame")
    assert css is not None
    assert ame is not None
    assert css.header == ame.header == "Couverture sociale"
    assert dict(css.values) == {"CSS": True, "AME": False, "Aucune": False, "Régime général": False}
    assert dict(ame.values)["AME"] is True
    assert dict(ame.values)["CSS"] is False
    (tmp_path / "m.yaml").write_text(mapping_yaml(deduction, file_name="e"), encoding="utf-8")
    mapping = load_mapping_file(tmp_path / "m.yaml")
    assert mapping.fields["ame"].otherwise is False
