"""The ``questions:`` section and the ``answer`` criterion kind: a good policy compiles; each
bad one is refused in French with the file, the line and the key path."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from mt_access import PolicyError, load_policy
from mt_access.questions import Question, QuestionType
from question_fixtures import BASE, POLICY, QUESTIONS, load, write


def test_questions_compile_with_their_types_and_defaults(tmp_path: Path) -> None:
    policy = load(tmp_path)
    ids = [q.id for q in policy.questions]
    assert ids == ["isole", "situation", "aides", "traitements", "sortie", "precision"]
    isole, situation, aides, count, _, text = policy.questions
    assert isole == Question(
        "isole", "Personne isolée", QuestionType.OUI_NON, shareable=True,
        show_in=frozenset({"letters", "lists", "exports"}),
    )  # fmt: skip
    assert situation.options == ("Simple", "Complexe")
    assert not situation.required
    assert not situation.shareable
    assert situation.show_in == {"lists", "exports"}  # the default
    assert aides.type is QuestionType.CHOIX_MULTIPLE
    assert (count.minimum, count.maximum) == (0, 50)
    assert text.max_length == 40
    assert policy.question("sortie") is not None
    assert policy.question("inconnue") is None
    # a question id may be listed in privacy.referral_fields
    assert policy.referral_fields == ("last_name", "age", "situation")


def test_the_answer_kind_gets_a_french_label_from_the_question(tmp_path: Path) -> None:
    text = POLICY.replace(
        """        - kind: answer
          question: isole
          equals: true
""",
        """        - kind: answer
          question: isole
          equals: true
        - {kind: answer, question: situation, in: [Complexe]}
        - {kind: answer, question: aides, equals: Kiné}
        - {kind: answer, question: traitements, at_least: 5}
        - {kind: answer, question: traitements, at_most: 2.5}
        - {kind: answer, question: sortie, at_least: 2026-01-01}
        - {kind: answer, question: precision, is_set: false}
        - {kind: answer, question: isole, equals: false, label: pas isolé}
""",
    )
    labels = [c.label for c in load(tmp_path, text).levels[0].criteria]
    assert labels == [
        "Personne isolée : oui",
        "Situation : Complexe",
        "Aides : Kiné",
        "Nombre de traitements ≥ 5",
        "Nombre de traitements ≤ 2,5",
        "Sortie d'hôpital : à partir du 01/01/2026",
        "Précision : non renseigné",
        "pas isolé",
    ]


def _error(tmp_path: Path, text: str) -> PolicyError:
    with pytest.raises(PolicyError) as info:
        load_policy(write(tmp_path, text))
    return info.value


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


BAD_QUESTIONS = [
    # (what replaces a line of QUESTIONS, the key path, the start of the message)
    ("    type: oui_non", "    type: booleen", "$.questions[0].type", "valeur parmi oui_non"),
    ("  - id: isole", "  - id: Isolé", "$.questions[0].id", "identifiant en snake_case"),
    ("  - id: situation", "  - id: isole", "$.questions[1].id",
     "identifiant de question en double"),
    ("    label: Situation", "    libelle: Situation", "$.questions[1].libelle",
     "clé inconnue 'libelle'"),
    ("    max_length: 40", "    max_length: 100000", "$.questions[5].max_length",
     "valeur ≤ 1000"),
    ("    max: 50", "    max: -1", "$.questions[3].max", "'max' ≥ 'min' attendu"),
    ("    options: [Simple, Complexe]", "    options: [Simple, simple]",
     "$.questions[1].options[1]", "option en double"),
    ("    show_in: [letters, lists, exports]", "    show_in: [referral]",
     "$.questions[0].show_in[0]", "'referral' n'est pas un emplacement"),
    ("    show_in: [letters, lists, exports]", "    show_in: [partout]",
     "$.questions[0].show_in[0]", "emplacement parmi letters"),
    ("  - id: precision", "  - id: age", "$.questions[5].id", "identifiant réservé 'age'"),
]  # fmt: skip


@pytest.mark.parametrize(("old", "new", "path", "message"), BAD_QUESTIONS)
def test_a_bad_question_is_refused_with_file_line_and_path(
    tmp_path: Path, old: str, new: str, path: str, message: str
) -> None:
    assert old in QUESTIONS
    text = BASE + QUESTIONS.replace(old, new, 1)
    err = _error(tmp_path, text)
    assert err.path == path, err
    assert message in err.message, err
    assert err.source.endswith("politique.yaml")
    assert err.line == BASE.count("\n") + QUESTIONS[: QUESTIONS.index(old)].count("\n") + 1


def test_options_on_a_number_and_bounds_on_a_choice_are_refused(tmp_path: Path) -> None:
    text = BASE + QUESTIONS.replace("    min: 0\n", "    min: 0\n    options: [A]\n")
    err = _error(tmp_path, text)
    assert err.path == "$.questions[3].options"
    assert "'options' ne s'applique pas à une question de type nombre" in err.message
    text = BASE + QUESTIONS.replace("    options: [Simple, Complexe]\n", "    max: 3\n", 1)
    err = _error(tmp_path, text)
    assert err.path == "$.questions[1].max"
    assert "'max' ne s'applique pas à une question de type choix" in err.message
    text = BASE + QUESTIONS.replace("    options: [Simple, Complexe]\n", "", 1)
    err = _error(tmp_path, text)
    assert err.path == "$.questions[1].options"
    assert "clé 'options' obligatoire pour une question de type choix" in err.message


def test_a_question_id_in_referral_fields_must_be_declared(tmp_path: Path) -> None:
    text = POLICY.replace("referral_fields: [last_name, age, situation]",
                          "referral_fields: [last_name, inconnue]")  # fmt: skip
    err = _error(tmp_path, text)
    assert err.path == "$.privacy.referral_fields[1]"
    assert "situation" in err.message
    assert "isole" in err.message


BAD_CRITERIA = [
    ("{kind: answer, question: isolement, equals: true}", "$.priority.levels[0].criteria[0]"
     ".question", "question inconnue 'isolement' ; questions connues : isole, situation"),
    ("{kind: answer, question: situation, in: [Compliquée]}",
     "$.priority.levels[0].criteria[0].in[0]", "une option de la question situation attendue"),
    ("{kind: answer, question: situation, at_least: Simple}",
     "$.priority.levels[0].criteria[0].at_least", "'at_least' ne s'applique pas"),
    ("{kind: answer, question: isole, equals: oui}", "$.priority.levels[0].criteria[0].equals",
     "true ou false attendu"),
    ("{kind: answer, question: sortie, at_least: '2026-01-01'}",
     "$.priority.levels[0].criteria[0].at_least", "date aaaa-mm-jj attendue, sans guillemets"),
    ("{kind: answer, question: isole, equals: true, is_set: true}",
     "$.priority.levels[0].criteria[0]", "une et une seule des clés"),
    ("{kind: answer, question: isole}", "$.priority.levels[0].criteria[0]",
     "une et une seule des clés"),
    ("{kind: answer, question: traitements, in: []}",
     "$.priority.levels[0].criteria[0].in", "au moins une valeur"),
    ("{kind: answer, question: isole, egal: true}", "$.priority.levels[0].criteria[0].egal",
     "clé inconnue 'egal'"),
]  # fmt: skip


@pytest.mark.parametrize(("criterion", "path", "message"), BAD_CRITERIA)
def test_a_bad_answer_criterion_is_refused(
    tmp_path: Path, criterion: str, path: str, message: str
) -> None:
    text = POLICY.replace(
        """        - kind: answer
          question: isole
          equals: true
""",
        f"        - {criterion}\n",
    )
    err = _error(tmp_path, text)
    assert err.path == path, err
    assert message in err.message, err
    assert err.line == _line_of(text, criterion)


def test_a_policy_without_questions_has_none_and_answer_criteria_say_so(tmp_path: Path) -> None:
    err = _error(tmp_path, BASE)
    assert err.path == "$.priority.levels[0].criteria[0].question"
    assert "aucune (la politique n'a pas de section questions)" in err.message


def test_questions_and_answers_do_not_change_the_shipped_policies() -> None:
    for name in ("voironnais", "deule_marque"):
        assert load_policy(name).questions == ()


def test_a_date_criterion_compares_dates(tmp_path: Path) -> None:
    text = POLICY.replace(
        "          question: isole\n          equals: true",
        "          question: sortie\n          at_least: 2026-01-01",
    )
    criterion = load(tmp_path, text).levels[0].criteria[0]
    from factories import req

    on = dt.date(2026, 3, 1)
    assert criterion(req("R1", answers={"sortie": dt.date(2026, 1, 1)}), on)
    assert not criterion(req("R2", answers={"sortie": dt.date(2025, 12, 31)}), on)
    assert not criterion(req("R3"), on)
