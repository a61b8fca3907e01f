"""The built-in criterion kind ``answer``: a test on the answer to one of the CPTS's own
questions (the policy's ``questions:`` section)::

    - kind: answer
      question: isole
      equals: true

``question`` names the question; exactly one of ``equals``, ``in``, ``at_least``,
``at_most``, ``is_set`` says what is tested, checked at load against the question's type.
A request without an answer to the question meets none of them, except ``is_set: false``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import numpy as np

from mt_access.model import Request
from mt_access.policy_kinds import (
    CriterionKind,
    CriterionTest,
    Param,
    ParamType,
    ReadContext,
    VectorTest,
)
from mt_access.questions import Question, QuestionType, format_answer
from mt_access.yamlcheck import Node, shown_number, yaml_kind

__all__ = ["ANSWER_KIND", "OPERATORS"]

OPERATORS = ("equals", "in", "at_least", "at_most", "is_set")
"""The keys of an ``answer`` criterion, exactly one of which is given."""

_ALLOWED: Mapping[QuestionType, tuple[str, ...]] = {
    QuestionType.OUI_NON: ("equals", "is_set"),
    QuestionType.CHOIX: ("equals", "in", "is_set"),
    QuestionType.CHOIX_MULTIPLE: ("equals", "in", "is_set"),
    QuestionType.NOMBRE: OPERATORS,
    QuestionType.DATE: OPERATORS,
    QuestionType.TEXTE: ("equals", "in", "is_set"),
}


def _one_value(node: Node, question: Question) -> Any:
    """One value of ``equals`` or ``in`` (or a bound), checked against the question's type."""
    value = node.value
    kind = question.type
    if kind is QuestionType.OUI_NON:
        if not isinstance(value, bool):
            raise node.error(
                f"true ou false attendu (question {question.id} de type oui_non), reçu "
                f"{yaml_kind(value)}"
            )
        return value
    if kind in (QuestionType.CHOIX, QuestionType.CHOIX_MULTIPLE):
        if not isinstance(value, str) or value.strip() not in question.options:
            raise node.error(
                f"une option de la question {question.id} attendue : "
                f"{', '.join(question.options)} ; reçu {yaml_kind(value)}"
            )
        return value.strip()
    if kind is QuestionType.NOMBRE:
        return node.number(integer=False)
    if kind is QuestionType.DATE:
        if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
            raise node.error(
                f"date aaaa-mm-jj attendue, sans guillemets (question {question.id} de type "
                f"date), reçu {yaml_kind(value)}"
            )
        return value
    return node.text(expected="texte non vide").casefold()


def _prepare(node: Node, values: Mapping[str, Any], context: ReadContext) -> Mapping[str, Any]:
    known = {q.id: q for q in context.questions}
    qnode = node.at("question")
    qid = qnode.text(expected="identifiant de question")
    if qid not in known:
        listed = ", ".join(known) or "aucune (la politique n'a pas de section questions)"
        raise qnode.error(f"question inconnue {qid!r} ; questions connues : {listed}")
    question = known[qid]
    given = [op for op in OPERATORS if op in node]
    if len(given) != 1:
        raise node.error(
            f"une et une seule des clés {', '.join(OPERATORS)} attendue pour un critère "
            f"'answer', reçu {len(given)}"
        )
    (op,) = given
    onode = node.at(op)
    allowed = _ALLOWED[question.type]
    if op not in allowed:
        raise onode.error(
            f"'{op}' ne s'applique pas à la question {qid} de type {question.type.value} ; "
            f"clés possibles : {', '.join(allowed)}"
        )
    value: Any
    if op == "is_set":
        value = onode.boolean()
    elif op == "in":
        items = onode.items(expected="liste de valeurs")
        if not items:
            raise onode.error("au moins une valeur attendue")
        value = frozenset(_one_value(item, question) for item in items)
    else:
        value = _one_value(onode, question)
    return {"question": qid, "operator": op, "value": value, "of": question}


def _test(values: Mapping[str, Any]) -> CriterionTest:
    qid: str = values["question"]
    op: str = values["operator"]
    target: Any = values["value"]
    question: Question = values["of"]
    multiple = question.type is QuestionType.CHOIX_MULTIPLE
    text = question.type is QuestionType.TEXTE

    def test(request: Request, on: dt.date) -> bool:
        answers = request.answers
        if op == "is_set":
            return (qid in answers) is target
        if qid not in answers:
            return False
        answer: Any = answers[qid]
        if text:
            answer = answer.strip().casefold()
        if op == "equals":
            return target in answer if multiple else bool(answer == target)
        if op == "in":
            return bool(answer & target) if multiple else answer in target
        if op == "at_least":
            return bool(answer >= target)
        return bool(answer <= target)

    return test


def _vector(values: Mapping[str, Any]) -> VectorTest:
    test = _test(values)

    def vector(table: Any, on: dt.date) -> Any:
        requests = table.requests
        return np.fromiter((test(r, on) for r in requests), bool, len(requests))

    return vector


def _shown(question: Question, value: Any) -> str:
    if question.type is QuestionType.TEXTE:
        return str(value)
    if question.type is QuestionType.NOMBRE:
        return shown_number(value).replace(".", ",")
    return format_answer(question, value)


def _describe(values: Mapping[str, Any]) -> str:
    question: Question = values["of"]
    op: str = values["operator"]
    value: Any = values["value"]
    label = question.label
    if op == "is_set":
        return f"{label} : {'renseigné' if value else 'non renseigné'}"
    if op == "in":
        shown = sorted(_shown(question, v) for v in value)
        if question.options:
            shown = [o for o in question.options if o in value]
        return f"{label} : {' ou '.join(shown)}"
    if op == "equals":
        return f"{label} : {_shown(question, value)}"
    if question.type is QuestionType.DATE:
        word = "à partir du" if op == "at_least" else "jusqu'au"
        return f"{label} : {word} {_shown(question, value)}"
    return f"{label} {'≥' if op == 'at_least' else '≤'} {_shown(question, value)}"


ANSWER_KIND = CriterionKind(
    "answer",
    "réponse à une question",
    _test,
    (
        Param("question", ParamType.STRING, "identifiant d'une question (questions:)",
              required=True),
        Param("equals", ParamType.ANY, "la réponse est cette valeur (pour choix_multiple : "
              "cette option est cochée)"),
        Param("in", ParamType.ANY, "la réponse est l'une de ces valeurs (pour "
              "choix_multiple : l'une de ces options est cochée)"),
        Param("at_least", ParamType.ANY, "la réponse est ≥ à cette valeur (nombre, date)"),
        Param("at_most", ParamType.ANY, "la réponse est ≤ à cette valeur (nombre, date)"),
        Param("is_set", ParamType.BOOLEAN, "true : la question a une réponse ; false : elle "
              "n'en a pas"),
    ),
    "The answer to one of the policy's own questions (`questions:`) meets a test.",
    build_vectorized=_vector,
    prepare=_prepare,
    describe=_describe,
)  # fmt: skip
"""The ``answer`` criterion kind (registered with the other built-in kinds)."""
