"""The CPTS's own questions: the ``questions:`` section of a policy, the checking of a
request's answers against them, and how answers are shown.

A CPTS's form asks more than the fields every request has (ALD, CSS, urgency...): « personne
isolée ? », « situation complexe », « nombre de traitements »... The policy declares them::

    questions:
      - id: isole
        label: Personne isolée
        type: oui_non
        shareable: true
        show_in: [letters, lists, exports]

Each :class:`Question` has a type (:class:`QuestionType`); a request's answers
(:class:`~mt_access.answers.Answers`, ``Request.answers``) are checked by
:func:`check_answers`; the intake mapping reads them from the form's columns
(:mod:`mt_access.intake.question_fields`), criteria test them (the ``answer`` kind), the
coordinator edits them (``Register.qualify``). Where they are shown: the GP referral when the
question id is in ``privacy.referral_fields``; patient and referrer letters, coordinator lists
and exports when ``show_in`` says so (:func:`shown_answers`); pseudonymised exports and the
lists given to GPs only when ``shareable: true`` (:func:`shareable_answers`).

Nothing here does I/O.
"""

from __future__ import annotations

import datetime as dt
import enum
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Literal

import attrs

from mt_access.answers import Answers, AnswerValue
from mt_access.bounds import (
    MAX_ANSWER_NUMBER,
    MAX_ANSWER_TEXT,
    MAX_CRITERION_LABEL,
    MAX_OPTIONS,
    MAX_QUESTIONS,
)
from mt_access.column_types import ColumnType
from mt_access.errors import AnswerError
from mt_access.yamlcheck import Node, shown_number, yaml_kind

if TYPE_CHECKING:
    from mt_access.model import Request
    from mt_access.policy import Policy

__all__ = [
    "DEFAULT_SHOW_IN",
    "QUESTION_KEYS",
    "SHOW_PLACES",
    "AnswerError",
    "Question",
    "QuestionType",
    "answer_columns",
    "answer_problem",
    "answer_types",
    "check_answers",
    "format_answer",
    "question_by_id",
    "read_questions",
    "shareable_answers",
    "shareable_columns",
    "shown_answers",
]


class QuestionType(enum.StrEnum):
    """The type of a question: what its answer is."""

    OUI_NON = "oui_non"
    CHOIX = "choix"
    CHOIX_MULTIPLE = "choix_multiple"
    NOMBRE = "nombre"
    DATE = "date"
    TEXTE = "texte"


SHOW_PLACES = ("letters", "referrer_letters", "lists", "exports")
"""Where ``show_in`` may show a question's answer: the patient's letters (acknowledgement,
orientation), the referrer's letters (acknowledgement, feedback), the coordinator's lists
(``demande liste``, ``demande historique``), the coordinator's nominative exports. The GP
referral follows ``privacy.referral_fields``; pseudonymised exports and GPs' lists,
``shareable``."""

ShowPlace = Literal["letters", "referrer_letters", "lists", "exports"]

DEFAULT_SHOW_IN: tuple[str, ...] = ("lists", "exports")
"""``show_in`` when a question has none: the coordinator's own lists and exports."""

QUESTION_KEYS = (
    "id",
    "label",
    "type",
    "options",
    "min",
    "max",
    "max_length",
    "required",
    "shareable",
    "show_in",
)
"""The keys of one question in the ``questions:`` section."""

DEFAULT_MAX_LENGTH = 200
"""``max_length`` of a ``texte`` question that has none."""

_ID = re.compile(r"[a-z][a-z0-9_]*\Z")
_MAX_ID = 50


def _places(places: Iterable[str]) -> frozenset[str]:
    return frozenset(places)


@attrs.frozen
class Question:
    """A question of the CPTS's form (see the module's docstring).

    Attributes:
        id: its identifier (snake_case), used in the intake mapping, criteria and
            ``privacy.referral_fields``.
        label: its French label (« Personne isolée »).
        type: what the answer is.
        options: the possible answers of a ``choix`` or ``choix_multiple`` question.
        minimum: the smallest accepted ``nombre`` (``None``: no bound of its own).
        maximum: the largest accepted ``nombre``.
        max_length: the longest ``texte`` answer, in characters.
        required: an import row without an answer is rejected.
        shareable: the answer may appear in pseudonymised exports and GPs' lists.
        show_in: where else it is shown (:data:`SHOW_PLACES`).
    """

    id: str
    label: str
    type: QuestionType = attrs.field(converter=QuestionType)
    options: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    max_length: int = DEFAULT_MAX_LENGTH
    required: bool = False
    shareable: bool = False
    show_in: frozenset[str] = attrs.field(default=frozenset(DEFAULT_SHOW_IN), converter=_places)

    @property
    def expected(self) -> str:
        """What an answer must be, in French (« oui ou non attendu », « une réponse parmi
        « A », « B » attendue »)."""
        options = ", ".join(f"« {o} »" for o in self.options)
        if self.type is QuestionType.CHOIX:
            return f"une réponse parmi {options} attendue"
        if self.type is QuestionType.CHOIX_MULTIPLE:
            return f"une ou plusieurs réponses parmi {options} attendues"
        if self.type is QuestionType.NOMBRE:
            bounds = []
            if self.minimum is not None:
                bounds.append(f"≥ {shown_number(self.minimum)}")
            if self.maximum is not None:
                bounds.append(f"≤ {shown_number(self.maximum)}")
            return "un nombre" + (f" {' et '.join(bounds)}" if bounds else "") + " attendu"
        if self.type is QuestionType.TEXTE:
            return f"un texte de {self.max_length} caractères au plus attendu"
        if self.type is QuestionType.DATE:
            return "une date (jj/mm/aaaa) attendue"
        return "oui ou non attendu"


# --------------------------------------------------------------------------------------------
# Reading the ``questions:`` section


def _label(node: Node, what: str) -> str:
    label = node.text(expected=f"{what} (texte non vide)", numbers=False)
    if len(label) > MAX_CRITERION_LABEL:
        raise node.error(
            f"{what} de {MAX_CRITERION_LABEL} caractères au plus attendu, reçu {len(label)} "
            "caractères"
        )
    if "\n" in label or "\r" in label:
        raise node.error(f"{what} sur une seule ligne attendu")
    return label


def _options(node: Node, kind: QuestionType) -> tuple[str, ...]:
    if not node.present:
        raise node.error(f"clé 'options' obligatoire pour une question de type {kind.value}")
    items = node.items(expected="liste d'options")
    if not items:
        raise node.error("au moins une option attendue")
    if len(items) > MAX_OPTIONS:
        raise node.error(f"{MAX_OPTIONS} options au plus attendues, reçu {len(items)}")
    options: list[str] = []
    seen: set[str] = set()
    for item in items:
        if isinstance(item.value, bool):
            raise item.error(
                "option lue par YAML comme true ou false (yes, no, on, off...) : écrivez-la "
                'entre guillemets, par ex. "Yes"'
            )
        option = _label(item, "option")
        key = option.casefold()
        if key in seen:
            raise item.error(f"option en double : {option!r}")
        seen.add(key)
        options.append(option)
    return tuple(options)


def _bound(node: Node) -> float | None:
    if not node.present:
        return None
    return node.number(integer=False, minimum=-MAX_ANSWER_NUMBER, maximum=MAX_ANSWER_NUMBER)


def _show_in(node: Node) -> frozenset[str]:
    places: set[str] = set()
    for item in node.items(expected="liste d'emplacements"):
        place = item.text()
        if place == "referral":
            raise item.error(
                "'referral' n'est pas un emplacement de show_in : le dossier pour le médecin "
                "suit privacy.referral_fields ; ajoutez-y l'identifiant de la question"
            )
        if place not in SHOW_PLACES or place in places:
            raise item.error(
                f"emplacement parmi {', '.join(SHOW_PLACES)} (sans doublon) attendu, reçu {place!r}"
            )
        places.add(place)
    return frozenset(places)


def _question(node: Node, taken: Mapping[str, Question], reserved: Iterable[str]) -> Question:
    if not isinstance(node.value, dict):
        raise node.error(
            f"question attendue (id: ..., label: ..., type: ...), reçu {yaml_kind(node.value)}"
        )
    node.mapping(QUESTION_KEYS)
    id_node = node.required("id", "clé 'id' obligatoire (identifiant de la question)")
    qid = id_node.text(expected="identifiant (texte)", numbers=False)
    if not _ID.match(qid) or len(qid) > _MAX_ID:
        raise id_node.error(
            f"identifiant en snake_case attendu (lettres minuscules sans accent, chiffres et _, "
            f"commençant par une lettre, {_MAX_ID} caractères au plus), reçu {qid!r}"
        )
    if qid in taken:
        raise id_node.error(f"identifiant de question en double : {qid!r}")
    if qid in reserved:
        raise id_node.error(
            f"identifiant réservé {qid!r} : c'est le nom d'un champ de la demande "
            "(privacy.referral_fields) ; choisissez-en un autre"
        )
    label_node = node.required("label", "clé 'label' obligatoire (libellé en français)")
    label = _label(label_node, "libellé")
    types = [t.value for t in QuestionType]
    type_node = node.required(
        "type", f"clé 'type' obligatoire ; types possibles : {', '.join(types)}"
    )
    kind = QuestionType(type_node.choice(types))
    choices = kind in (QuestionType.CHOIX, QuestionType.CHOIX_MULTIPLE)
    for key, allowed in (
        ("options", choices),
        ("min", kind is QuestionType.NOMBRE),
        ("max", kind is QuestionType.NOMBRE),
        ("max_length", kind is QuestionType.TEXTE),
    ):
        if key in node and not allowed:
            raise node.at(key).error(
                f"'{key}' ne s'applique pas à une question de type {kind.value}"
            )
    minimum, maximum = _bound(node.at("min")), _bound(node.at("max"))
    if minimum is not None and maximum is not None and minimum > maximum:
        raise node.at("max").error(
            f"'max' ≥ 'min' attendu, reçu {shown_number(maximum)} < {shown_number(minimum)}"
        )
    max_length = DEFAULT_MAX_LENGTH
    if "max_length" in node:
        length = node.at("max_length").number(integer=True, minimum=1, maximum=MAX_ANSWER_TEXT)
        max_length = int(length)
    return Question(
        id=qid,
        label=label,
        type=kind,
        options=_options(node.at("options"), kind) if choices else (),
        minimum=minimum,
        maximum=maximum,
        max_length=max_length,
        required=node.at("required", False).boolean(),
        shareable=node.at("shareable", False).boolean(),
        show_in=_show_in(node.at("show_in")) if "show_in" in node else DEFAULT_SHOW_IN,
    )


def read_questions(node: Node, reserved: Iterable[str] = ()) -> tuple[Question, ...]:
    """The ``questions:`` section (a list of questions), checked: known keys, snake_case and
    distinct ids not among ``reserved`` (the request's own field names), a known type, the
    keys that type takes. Absent: no questions.

    Raises:
        PolicyError: naming the file, line and key path (``$.questions[1].type``).
    """
    if not node.present or node.value is None:
        return ()
    items = node.items(expected="liste de questions")
    if len(items) > MAX_QUESTIONS:
        raise node.error(f"{MAX_QUESTIONS} questions au plus attendues, reçu {len(items)}")
    reserved = frozenset(reserved)
    taken: dict[str, Question] = {}
    for item in items:
        question = _question(item, taken, reserved)
        taken[question.id] = question
    return tuple(taken.values())


def question_by_id(questions: Sequence[Question]) -> dict[str, Question]:
    return {q.id: q for q in questions}


# --------------------------------------------------------------------------------------------
# Checking answers


def answer_problem(question: Question, value: object) -> str | None:
    """``None`` when ``value`` fits ``question``, else what was expected, in French (the
    value itself is never in the text)."""
    kind = question.type
    expected = f"{question.label} : {question.expected}"
    if kind is QuestionType.OUI_NON:
        return None if isinstance(value, bool) else expected
    if kind is QuestionType.CHOIX:
        return None if isinstance(value, str) and value in question.options else expected
    if kind is QuestionType.CHOIX_MULTIPLE:
        ok = (
            isinstance(value, frozenset)
            and bool(value)
            and all(isinstance(v, str) and v in question.options for v in value)
        )
        return None if ok else expected
    if kind is QuestionType.NOMBRE:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return expected
        if isinstance(value, float) and not math.isfinite(value):
            return expected
        low = -MAX_ANSWER_NUMBER if question.minimum is None else question.minimum
        high = MAX_ANSWER_NUMBER if question.maximum is None else question.maximum
        return None if low <= value <= high else expected
    if kind is QuestionType.DATE:
        ok = isinstance(value, dt.date) and not isinstance(value, dt.datetime)
        return None if ok else expected
    if not isinstance(value, str) or not value.strip() or len(value) > question.max_length:
        return expected
    if "\x00" in value:
        return expected
    return None


def check_answers(
    answers: Mapping[str, object],
    questions: Sequence[Question],
    *,
    complete: bool = False,
) -> Answers:
    """``answers`` checked against the policy's ``questions``: each id is a question, each
    value fits its question's type (options, bounds, length); with ``complete``, every
    required question is answered. A ``set`` or ``list`` of options becomes a ``frozenset``;
    a text is stripped.

    Raises:
        AnswerError: the first problem, naming the question (and the known ids for an
            unknown one), never the value.
    """
    known = question_by_id(questions)
    values: dict[str, object] = {}
    for qid, value in answers.items():
        question = known.get(qid)
        if question is None:
            listed = ", ".join(known) or "aucune (la politique n'a pas de section questions)"
            raise AnswerError(f"question inconnue {qid!r} ; questions connues : {listed}")
        if isinstance(value, set | list | tuple):
            value = frozenset(value)
        if isinstance(value, str):
            value = value.strip()
        problem = answer_problem(question, value)
        if problem is not None:
            raise AnswerError(f"réponse à la question {qid} ({problem})")
        values[qid] = value
    if complete:
        missing = [q.id for q in questions if q.required and q.id not in values]
        if missing:
            raise AnswerError(f"réponse obligatoire manquante : {', '.join(missing)}")
    return Answers(values)


# --------------------------------------------------------------------------------------------
# Showing answers


def _number(value: float) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).replace(".", ",")


def format_answer(question: Question, value: AnswerValue | None) -> str:
    """An answer as letters and lists show it, in French: « oui », « non », « A, B »,
    « 2,5 », « 15/03/2026 »; ``""`` when not answered."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, frozenset):
        return ", ".join(o for o in question.options if o in value) or ", ".join(sorted(value))
    if isinstance(value, dt.date):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, int | float):
        return _number(value)
    return value


def _pairs(request: Request, questions: Iterable[Question]) -> tuple[tuple[str, str], ...]:
    answers = request.answers
    return tuple((q.label, format_answer(q, answers[q.id])) for q in questions if q.id in answers)


def shown_answers(
    request: Request, policy: Policy, where: ShowPlace | str
) -> tuple[tuple[str, str], ...]:
    """``(label, answer)`` of the request's answers to the questions whose ``show_in`` has
    ``where`` (``"letters"``, ``"lists"`` or ``"exports"``), in the policy's order;
    unanswered questions are left out.

    Raises:
        ValueError: ``where`` is not one of :data:`SHOW_PLACES`.
    """
    if where not in SHOW_PLACES:
        raise ValueError(f"emplacement parmi {', '.join(SHOW_PLACES)} attendu, reçu {where!r}")
    return _pairs(request, (q for q in policy.questions if where in q.show_in))


def shareable_answers(request: Request, policy: Policy) -> tuple[tuple[str, str], ...]:
    """``(label, answer)`` of the request's answers to the questions marked
    ``shareable: true``, in the policy's order: what pseudonymised exports and the lists
    given to GPs may show. Unanswered questions are left out."""
    return _pairs(request, (q for q in policy.questions if q.shareable))


def answer_columns(questions: Iterable[Question], existing: Sequence[str]) -> tuple[str, ...]:
    """The column names of ``questions`` in a list or export whose other columns are
    ``existing``: each question's label, followed by « (question ID) » when a column already
    has that name."""
    taken = set(existing)
    out: list[str] = []
    for q in questions:
        name = q.label if q.label not in taken else f"{q.label} (question {q.id})"
        taken.add(name)
        out.append(name)
    return tuple(out)


_ANSWER_TYPES = {
    QuestionType.OUI_NON: ColumnType.YES_NO,
    QuestionType.NOMBRE: ColumnType.DECIMAL,
    QuestionType.DATE: ColumnType.DATE,
}


def answer_types(questions: Iterable[Question], existing: Sequence[str]) -> dict[str, ColumnType]:
    """The type of each answer column of ``questions`` (named as :func:`answer_columns`
    names them) in a list or export whose other columns are ``existing``, from the
    question's type: numbers, dates and yes/no as such, choices and text as text."""
    chosen = tuple(questions)
    return {
        column: _ANSWER_TYPES.get(q.type, ColumnType.TEXT)
        for q, column in zip(chosen, answer_columns(chosen, existing), strict=True)
    }


def shareable_columns(policy: Policy, existing: Sequence[str] = ()) -> tuple[str, ...]:
    """The column names of the shareable questions, in the policy's order: the extra
    columns of a pseudonymised export or a GP's list (:func:`answer_columns`)."""
    return answer_columns((q for q in policy.questions if q.shareable), existing)
