"""``intake.questions``: form columns and wordings mapped to the policy's questions; a bad
answer rejected on its row and column without its value; a missing required answer rejects
the row; unknown ids and unmapped required questions refused at load."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from mt_access import PolicyError, load_policy
from mt_access.errors import IntakeError
from mt_access.intake.importer import import_file
from question_fixtures import POLICY, write

MAPPING = """\
intake:
  preset: generique
  questions:
    isole: "Personne isolée ?"
    situation:
      column: [Situation, Situation du patient]
      values: {"Situation complexe": Complexe, "RAS": Simple}
    aides: {column: Aides, optional: true}
    traitements: {column: Traitements}
    sortie: {column: Sortie, formats: ["%d-%b-%Y"]}
    precision: {column: Précision, optional: true}
"""

HEADER = (
    "Nom;Prénom;Date de naissance;Commune;Consentement;Personne isolée ?;Situation;Aides;"
    "Traitements;Sortie"
)
SECRET = "Secret-Zz"


def _import(tmp_path: Path, rows: list[str], policy_text: str = POLICY + MAPPING) -> object:
    policy = load_policy(write(tmp_path, policy_text))
    path = tmp_path / "formulaire.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return import_file(path, policy, received=dt.date(2026, 3, 2))


def test_answers_are_read_from_their_columns_and_wordings(tmp_path: Path) -> None:
    result = _import(
        tmp_path,
        [
            "Fictif;Un;01/01/1950;Voiron;oui;Oui;situation complexe;Kiné, infirmier;3;05-Jan-2026",
            "Fictif;Deux;01/01/1960;Voiron;oui;non;ras;;2,5;",
            "Fictif;Trois;01/01/1970;Voiron;oui;;Simple;Aide à domicile;;15/02/2026",
        ],
    )
    answers = [dict(r.request.answers) for r in result.accepted]  # type: ignore[attr-defined]
    assert answers == [
        {
            "isole": True,
            "situation": "Complexe",
            "aides": frozenset({"Kiné", "Infirmier"}),
            "traitements": 3,
            "sortie": dt.date(2026, 1, 5),
        },
        {"isole": False, "situation": "Simple", "traitements": 2.5},
        {"situation": "Simple", "aides": frozenset({"Aide à domicile"}),
         "sortie": dt.date(2026, 2, 15)},
    ]  # fmt: skip
    assert result.problems == ()  # type: ignore[attr-defined]
    assert not any("Personne isolée" in w for w in result.warnings())  # type: ignore[attr-defined]


def test_a_bad_answer_is_a_problem_on_its_row_and_column_without_its_value(
    tmp_path: Path,
) -> None:
    result = _import(
        tmp_path,
        [
            f"Fictif;Un;01/01/1950;Voiron;oui;{SECRET};Simple;;1;",
            f"Fictif;Deux;01/01/1960;Voiron;oui;oui;{SECRET};;1;",
            f"Fictif;Trois;01/01/1970;Voiron;oui;oui;Simple;Kiné, {SECRET};1;",
            "Fictif;Quatre;01/01/1970;Voiron;oui;oui;Simple;;51;",
            f"Fictif;Cinq;01/01/1970;Voiron;oui;oui;Simple;;1;{SECRET}",
            "Fictif;Six;01/01/1970;Voiron;oui;oui;Simple;;1;",
        ],
    )
    problems = result.problems  # type: ignore[attr-defined]
    shown = [str(p) for p in problems]
    assert shown == [
        "ligne 2, colonne « Personne isolée ? » : Personne isolée : oui ou non attendu",
        "ligne 3, colonne « Situation » : Situation : une réponse parmi « Simple », « Complexe »"
        " attendue",
        "ligne 4, colonne « Aides » : Aides : une ou plusieurs réponses parmi « Infirmier », "
        "« Kiné », « Aide à domicile » attendues",
        "ligne 5, colonne « Traitements » : Nombre de traitements : un nombre ≥ 0 et ≤ 50 attendu",
        "ligne 6, colonne « Sortie » : Sortie d'hôpital : une date (jj/mm/aaaa) attendue",
    ]
    assert all(SECRET not in text for text in shown)
    assert all(SECRET not in repr(p) for p in problems)
    assert SECRET in problems[0].value  # kept for the rejections file only
    assert [r.row for r in result.accepted] == [7]  # type: ignore[attr-defined]


def test_a_required_question_left_empty_rejects_the_row(tmp_path: Path) -> None:
    text = (POLICY + MAPPING).replace(
        "    type: oui_non\n", "    type: oui_non\n    required: true\n", 1
    )
    result = _import(
        tmp_path,
        [
            "Fictif;Un;01/01/1950;Voiron;oui;;Simple;;1;",
            "Fictif;Deux;01/01/1950;Voiron;oui;non;;;;",
        ],
        text,
    )
    assert [str(p) for p in result.problems] == [  # type: ignore[attr-defined]
        "ligne 2, colonne « Personne isolée ? » : réponse obligatoire attendue : Personne isolée"
    ]
    assert [r.row for r in result.accepted] == [3]  # type: ignore[attr-defined]


def test_a_missing_question_column_stops_the_import(tmp_path: Path) -> None:
    policy = load_policy(write(tmp_path, POLICY + MAPPING))
    path = tmp_path / "formulaire.csv"
    path.write_text(HEADER.replace(";Traitements", "") + "\n", encoding="utf-8")
    with pytest.raises(IntakeError, match="« Traitements » \\(question traitements"):
        import_file(path, policy, received=dt.date(2026, 3, 2))


def _load_error(tmp_path: Path, text: str) -> PolicyError:
    with pytest.raises(PolicyError) as info:
        load_policy(write(tmp_path, text))
    return info.value


def test_an_unknown_question_in_the_mapping_is_refused_with_the_known_ones(
    tmp_path: Path,
) -> None:
    err = _load_error(tmp_path, POLICY + MAPPING.replace("    isole:", "    isolement:"))
    assert err.path == "$.intake.questions.isolement"
    assert err.message.startswith(
        "question inconnue 'isolement' ; questions connues : isole, situation, aides"
    )
    assert err.line == (POLICY + MAPPING).splitlines().index('    isole: "Personne isolée ?"') + 1


def test_mapping_values_must_fit_the_question(tmp_path: Path) -> None:
    err = _load_error(tmp_path, POLICY + MAPPING.replace('"RAS": Simple', '"RAS": Banal'))
    assert err.path == "$.intake.questions.situation.values.RAS"
    assert "une réponse parmi « Simple », « Complexe » attendue" in err.message
    err = _load_error(tmp_path, POLICY + MAPPING.replace("{column: Aides,", "{colonne: Aides,"))
    assert err.path == "$.intake.questions.aides.colonne"
    err = _load_error(
        tmp_path, POLICY + MAPPING.replace("Traitements}", "Traitements, formats: x}")
    )
    assert "'formats' ne s'applique qu'à une question de type date" in err.message


def test_a_required_question_must_be_read_from_the_form(tmp_path: Path) -> None:
    text = (POLICY + MAPPING).replace(
        "    type: oui_non\n", "    type: oui_non\n    required: true\n", 1
    )
    err = _load_error(tmp_path, text.replace('    isole: "Personne isolée ?"\n', ""))
    assert err.path == "$.intake.questions"
    assert "question(s) obligatoire(s) non lue(s) du formulaire : isole" in err.message
    err = _load_error(
        tmp_path,
        text.replace(
            '    isole: "Personne isolée ?"', "    isole: {column: Isolé, optional: true}"
        ),
    )
    assert err.path == "$.intake.questions.isole.optional"
    # without an intake section, the import says which required question no column gives
    no_intake = POLICY.replace("    type: oui_non\n", "    type: oui_non\n    required: true\n", 1)
    policy = load_policy(write(tmp_path, no_intake))
    path = tmp_path / "formulaire.csv"
    path.write_text(HEADER + "\n", encoding="utf-8")
    with pytest.raises(IntakeError, match="lue\\(s\\) d'aucune colonne : isole"):
        import_file(path, policy, received=dt.date(2026, 3, 2))
