"""Answers: the immutable mapping on a request, its JSON codec, their checking against the
policy's questions, and the ``answer`` criterion kind equal to its boolean meaning."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from factories import req
from mt_access.answers import Answers, decode_answers, encode_answers
from mt_access.columns import RequestTable
from mt_access.criterion import Criterion
from mt_access.questions import AnswerError, Question, check_answers, format_answer
from question_fixtures import POLICY, load

ON = dt.date(2026, 3, 1)


def test_answers_are_an_immutable_hashable_mapping() -> None:
    answers = Answers({"b": 2, "a": True, "c": {"x", "y"}})
    assert list(answers) == ["a", "b", "c"]
    assert answers["c"] == frozenset({"x", "y"})
    assert hash(answers) == hash(Answers({"c": frozenset({"y", "x"}), "b": 2, "a": True}))
    assert answers != Answers({"b": 2, "a": 1, "c": {"x", "y"}})  # True is not 1
    with pytest.raises(AttributeError):
        answers._items = ()  # type: ignore[misc]
    assert "True" not in repr(answers)  # answers are personal data: repr names ids only
    assert answers.replace({"a": None, "d": "texte"}) == {"b": 2, "c": {"x", "y"}, "d": "texte"}
    with pytest.raises(TypeError):
        Answers({"a": dt.datetime(2026, 1, 1, 12, 0)})
    with pytest.raises(TypeError):
        Answers({"a": [1, 2]})
    request = req("R1", answers={"isole": True})
    assert request.answers == Answers({"isole": True})
    assert hash(request) == hash(req("R1", answers={"isole": True}))
    assert req("R2").answers == Answers()


_values = (
    st.booleans()
    | st.integers(-(10**9), 10**9)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
    | st.dates()
    | st.frozensets(st.text(max_size=8), max_size=4)
)


@given(st.dictionaries(st.from_regex(r"[a-z][a-z0-9_]{0,12}", fullmatch=True), _values))
def test_the_json_codec_round_trips_exactly(values: dict[str, Any]) -> None:
    answers = Answers(values)
    text = encode_answers(answers)
    back = decode_answers(text)
    assert back == answers
    assert [type(v) for v in back.values()] == [type(v) for v in answers.values()]
    assert encode_answers(back) == text


def test_the_codec_refuses_damaged_text() -> None:
    for text in ("[]", '{"a": {"set": 3}}', '{"a": {"date": "hier"}}', '{"a": null}'):
        with pytest.raises(ValueError, match=r"\w") as info:
            decode_answers(text)
        assert not isinstance(info.value, KeyError)


SECRET = "Valeur-Secrète-123"


def test_check_answers_names_the_question_never_the_value(tmp_path: Path) -> None:
    questions = load(tmp_path).questions
    good = check_answers(
        {"isole": True, "aides": ["Kiné"], "traitements": 3, "precision": "  court "}, questions
    )
    assert good == {"isole": True, "aides": {"Kiné"}, "traitements": 3, "precision": "court"}
    bad = [
        ({"isole": SECRET}, "réponse à la question isole (Personne isolée : oui ou non attendu)"),
        ({"situation": SECRET}, "une réponse parmi « Simple », « Complexe » attendue"),
        ({"aides": [SECRET]}, "une ou plusieurs réponses parmi"),
        ({"traitements": 51}, "un nombre ≥ 0 et ≤ 50 attendu"),
        ({"traitements": True}, "un nombre ≥ 0 et ≤ 50 attendu"),
        ({"sortie": SECRET}, "une date (jj/mm/aaaa) attendue"),
        ({"precision": SECRET * 5}, "un texte de 40 caractères au plus attendu"),
        ({"inconnue": SECRET}, "question inconnue 'inconnue' ; questions connues : isole, "),
    ]
    for answers, message in bad:
        with pytest.raises(AnswerError) as info:
            check_answers(answers, questions)
        assert message in str(info.value)
        assert SECRET not in str(info.value)
    required = (Question("q", "Q", "oui_non", required=True),)
    with pytest.raises(AnswerError, match="réponse obligatoire manquante : q"):
        check_answers({}, required, complete=True)


def test_answers_are_shown_in_french() -> None:
    aides = Question("aides", "Aides", "choix_multiple", options=("Infirmier", "Kiné"))
    assert format_answer(aides, frozenset({"Kiné", "Infirmier"})) == "Infirmier, Kiné"
    assert format_answer(Question("n", "N", "nombre"), 2.5) == "2,5"
    assert format_answer(Question("n", "N", "nombre"), 3.0) == "3"
    assert format_answer(Question("d", "D", "date"), dt.date(2026, 3, 5)) == "05/03/2026"
    assert format_answer(Question("o", "O", "oui_non"), False) == "non"
    assert format_answer(Question("o", "O", "oui_non"), None) == ""


# --------------------------------------------------------------------------------------------
# The ``answer`` kind equals its boolean meaning

CRITERIA = """\
        - {kind: answer, question: isole, equals: true}
        - {kind: answer, question: isole, equals: false}
        - {kind: answer, question: isole, is_set: true}
        - {kind: answer, question: isole, is_set: false}
        - {kind: answer, question: situation, equals: Complexe}
        - {kind: answer, question: situation, in: [Simple, Complexe]}
        - {kind: answer, question: aides, equals: Kiné}
        - {kind: answer, question: aides, in: [Infirmier, Aide à domicile]}
        - {kind: answer, question: traitements, equals: 3}
        - {kind: answer, question: traitements, in: [1, 2.5]}
        - {kind: answer, question: traitements, at_least: 5}
        - {kind: answer, question: traitements, at_most: 2.5}
        - {kind: answer, question: sortie, at_least: 2026-01-01}
        - {kind: answer, question: sortie, at_most: 2026-01-01}
        - {kind: answer, question: sortie, equals: 2026-01-01}
        - {kind: answer, question: precision, equals: Aidant absent}
        - {kind: answer, question: precision, in: [aidant ABSENT, autre]}
"""
_OPTIONS = ["Infirmier", "Kiné", "Aide à domicile"]


def meaning(index: int, answers: dict[str, Any]) -> bool:
    """What each criterion of CRITERIA means, written plainly."""
    isole, situation = answers.get("isole"), answers.get("situation")
    aides, count = answers.get("aides"), answers.get("traitements")
    sortie, text = answers.get("sortie"), answers.get("precision")
    day = dt.date(2026, 1, 1)
    folded = text.strip().casefold() if text is not None else None
    return [
        isole is True,
        isole is False,
        isole is not None,
        isole is None,
        situation == "Complexe",
        situation in ("Simple", "Complexe"),
        aides is not None and "Kiné" in aides,
        aides is not None and bool({"Infirmier", "Aide à domicile"} & aides),
        count is not None and count == 3,
        count is not None and count in (1, 2.5),
        count is not None and count >= 5,
        count is not None and count <= 2.5,
        sortie is not None and sortie >= day,
        sortie is not None and sortie <= day,
        sortie == day,
        folded == "aidant absent",
        folded in ("aidant absent", "autre"),
    ][index]


_answers = st.fixed_dictionaries(
    {},
    optional={
        "isole": st.booleans(),
        "situation": st.sampled_from(["Simple", "Complexe"]),
        "aides": st.frozensets(st.sampled_from(_OPTIONS), min_size=1),
        "traitements": st.integers(0, 50) | st.sampled_from([2.5, 1.0, 3.0]),
        "sortie": st.dates(dt.date(2025, 12, 25), dt.date(2026, 1, 7)),
        "precision": st.sampled_from(["Aidant absent", " aidant absent ", "autre", "rien"]),
    },
)


@pytest.fixture(scope="module")
def criteria(tmp_path_factory: pytest.TempPathFactory) -> tuple[Criterion, ...]:
    text = POLICY.replace(
        """        - kind: answer
          question: isole
          equals: true
""",
        CRITERIA,
    )
    return load(tmp_path_factory.mktemp("criteria"), text).levels[0].criteria


@given(batch=st.lists(_answers, min_size=1, max_size=12))
def test_the_answer_kind_equals_its_boolean_meaning(
    criteria: tuple[Criterion, ...], batch: list[dict[str, Any]]
) -> None:
    requests = [req(f"R{i}", answers=a) for i, a in enumerate(batch)]
    table = RequestTable(requests)
    for index, criterion in enumerate(criteria):
        expected = [meaning(index, a) for a in batch]
        assert [criterion(r, ON) for r in requests] == expected, criterion.label
        assert criterion.vector is not None
        assert list(criterion.vector(table, ON)) == expected, criterion.label
