"""The CPTS's own questions in the form mapping: ``intake.questions`` maps form columns and
wordings to the policy's questions (:mod:`mt_access.questions`), like ``intake.fields`` does
for the request's own fields::

    intake:
      preset: generique
      questions:
        isole: "Personne isolée ?"
        situation:
          column: Situation
          values: {"Situation complexe": Complexe}
          otherwise: Simple
        aides: {column: [Aides, Aides à domicile], optional: true}

A question takes ``column`` (a header, or several possible headers, the first present is
read), ``values`` (wording → answer), ``otherwise`` (the answer of any other non-empty
wording), ``formats`` (for a date question, ``strptime`` formats) and ``optional`` (the column
may be absent from the file). A plain header (or list of headers) is the same as
``column:``.

At import, each cell is read as its question's type (:class:`QuestionReader`): an empty cell
is no answer (a problem for a required question), a cell that does not fit is a problem on
its row and column (the value is kept out of the message).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs

from mt_access.errors import IntakeError
from mt_access.intake.french_dates import FRENCH_FORMATS, read_dated
from mt_access.intake.tabular import (
    HeaderIndex,
    Row,
    Table,
    normalize_text,
    parse_date,
    parse_decimal,
    parse_int,
    parse_yes_no,
)
from mt_access.questions import Question, QuestionType, answer_problem
from mt_access.yamlcheck import Node, yaml_kind

__all__ = [
    "QUESTION_FIELD_KEYS",
    "QuestionField",
    "QuestionReader",
    "parse_answer",
    "question_columns",
    "read_question_fields",
]

QUESTION_FIELD_KEYS = ("column", "values", "otherwise", "formats", "optional")
"""The keys of one question under ``intake.questions``."""

_HEADER = "en-tête de colonne (texte non vide)"
_SPLIT = re.compile(r"\s*[;\n|]\s*")


@attrs.frozen
class QuestionField:
    """How one question is read from the form export.

    Attributes:
        question: the policy's question.
        columns: the possible column headers (the first present in the file is read).
        values: ``(wording, answer)`` pairs (wordings compared without case nor accents).
        otherwise: the answer of any other non-empty wording (``None``: such a wording is
            read as the question's type, and is a problem if it does not fit).
        formats: for a date question, ``strptime`` formats tried after ``jj/mm/aaaa`` and
            ``aaaa-mm-jj``.
        optional: the column may be absent from the file; then no row has an answer.
    """

    question: Question
    columns: tuple[str, ...]
    values: tuple[tuple[str, Any], ...] = ()
    otherwise: Any = None
    formats: tuple[str, ...] = ()
    optional: bool = False

    def lookup(self) -> dict[str, Any]:
        return {normalize_text(wording): value for wording, value in self.values}


# --------------------------------------------------------------------------------------------
# Reading the mapping


def _headers(node: Node) -> tuple[str, ...]:
    items = node.items() if isinstance(node.value, list) else [node]
    if not items:
        raise node.error("au moins un en-tête de colonne attendu")
    return tuple(item.text(expected=_HEADER) for item in items)


def _target(node: Node, question: Question) -> Any:
    """An answer written in the mapping (``values``, ``otherwise``), checked for the
    question's type."""
    value = node.value
    if question.type is QuestionType.CHOIX_MULTIPLE:
        value = frozenset(value) if isinstance(value, list) else frozenset([value])
        if not all(isinstance(v, str) for v in value):
            raise node.error(
                f"option ou liste d'options de la question {question.id} attendue : "
                f"{', '.join(question.options)}"
            )
    elif isinstance(value, str) and question.type is not QuestionType.TEXTE:
        value = value.strip()
    problem = answer_problem(question, value)
    if problem is not None:
        raise node.error(f"{problem}, reçu {yaml_kind(node.value)}")
    return value


def _values(node: Node, question: Question) -> tuple[tuple[str, Any], ...]:
    return read_wordings(node, lambda child: _target(child, question), "réponse")


def read_wordings(
    node: Node, target: Callable[[Node], Any], what: str
) -> tuple[tuple[str, Any], ...]:
    """A ``values:`` mapping of form wordings to what each means (``target`` reads and
    checks one meaning), for a form field or a question: wordings unique once case and
    accents are ignored, never a YAML boolean or null."""
    if not isinstance(node.value, dict) or not node.value:
        raise node.error(f"dictionnaire « libellé: {what} » attendu, reçu {yaml_kind(node.value)}")
    pairs: list[tuple[str, Any]] = []
    seen: dict[str, str] = {}
    for wording, child in node.children():
        if isinstance(wording, bool) or wording is None:
            raise node.error(
                f"libellé {wording!r} lu par YAML comme {yaml_kind(wording)} "
                "(yes, no, on, off, ~...) : écrivez le libellé entre guillemets"
            )
        if not isinstance(wording, str | int | float):
            raise node.error(f"libellé texte attendu, reçu {yaml_kind(wording)}")
        text = str(wording).strip()
        checked = target(child)
        key = normalize_text(text)
        if key in seen:
            raise child.error(
                f"libellé en double (casse et accents ignorés) : {seen[key]!r} et {text!r}"
            )
        seen[key] = text
        pairs.append((text, checked))
    return tuple(pairs)


def _formats(node: Node, question: Question) -> tuple[str, ...]:
    if question.type is not QuestionType.DATE:
        raise node.error("'formats' ne s'applique qu'à une question de type date")
    return read_date_formats(node)


def read_date_formats(node: Node) -> tuple[str, ...]:
    """The ``formats:`` of a date column (one format or a list): each a ``strptime`` format
    that reads back a day, a month and a year, or a named French format
    (:data:`~mt_access.intake.french_dates.FRENCH_FORMATS`: ``jj mois aaaa``, ``mois aaaa``)."""
    out = []
    sample = dt.datetime(2001, 2, 3, 4, 5, 6)
    for item in node.items() if isinstance(node.value, list) else [node]:
        fmt = item.text(expected="format strptime (par ex. '%d-%b-%Y')")
        if fmt in FRENCH_FORMATS:
            out.append(fmt)
            continue
        try:
            ok = "%" in fmt and dt.datetime.strptime(sample.strftime(fmt), fmt).date() == (
                sample.date()
            )
        except ValueError:
            ok = False
        if not ok:
            raise item.error(
                f"format de date invalide {fmt!r} : jour, mois et année attendus "
                "(directives %d, %m ou %b, %Y de strptime), ou « jj mois aaaa », « mois aaaa » "
                "(mois en français)"
            )
        out.append(fmt)
    return tuple(out)


def _field(node: Node, question: Question) -> QuestionField:
    if isinstance(node.value, str | int | list) and not isinstance(node.value, bool):
        return QuestionField(question, _headers(node))
    raw = node.mapping(QUESTION_FIELD_KEYS)
    column = raw.required("column", "clé 'column' obligatoire (en-tête de la colonne)")
    optional = raw.at("optional", False).boolean()
    if optional and question.required:
        raise raw.at("optional").error(
            f"la question {question.id} est obligatoire (required: true) : 'optional' impossible"
        )
    return QuestionField(
        question=question,
        columns=_headers(column),
        values=_values(raw.at("values"), question) if "values" in raw else (),
        otherwise=_target(raw.at("otherwise"), question) if "otherwise" in raw else None,
        formats=_formats(raw.at("formats"), question) if "formats" in raw else (),
        optional=optional,
    )


def read_question_fields(node: Node, questions: Sequence[Question]) -> dict[str, QuestionField]:
    """The ``intake.questions`` mapping, checked against the policy's ``questions``: known
    ids (the known ones listed otherwise), headers, wordings and answers of the question's
    type, and every required question read from a column.

    Raises:
        PolicyError: naming the file, line and key path (``$.intake.questions.isole``).
    """
    known = {q.id: q for q in questions}
    fields: dict[str, QuestionField] = {}
    if node.present and node.value is not None:
        if not isinstance(node.value, dict):
            raise node.error(
                f"dictionnaire « question: colonne » attendu, reçu {yaml_kind(node.value)}"
            )
        for qid, child in node.children():
            if qid not in known:
                listed = ", ".join(known) or "aucune (la politique n'a pas de section questions)"
                raise child.error(f"question inconnue {qid!r} ; questions connues : {listed}")
            fields[qid] = _field(child, known[qid])
    missing = [q.id for q in questions if q.required and q.id not in fields]
    if missing:
        raise node.error(
            f"question(s) obligatoire(s) non lue(s) du formulaire : {', '.join(missing)} ; "
            "ajoutez leur colonne sous intake.questions"
        )
    return fields


# --------------------------------------------------------------------------------------------
# Reading the cells


def _number(text: str) -> int | float:
    try:
        return parse_int(text)
    except IntakeError:
        number = parse_decimal(text)
        return int(number) if number == number.to_integral_value() else float(number)


def _option(text: str, question: Question) -> str | None:
    key = normalize_text(text)
    return next((o for o in question.options if normalize_text(o) == key), None)


def parse_answer(text: str, question: Question, lookup: Mapping[str, Any] | None = None) -> Any:
    """The answer written ``text`` (a form cell, a command-line value) for ``question``, or
    ``None`` for an empty text; ``lookup`` gives the mapping's own wordings (normalised).

    Raises:
        IntakeError: the text does not fit the question (the message names what was
            expected, never the text).
    """
    lookup = lookup or {}
    key = normalize_text(text)
    if not key:
        return None
    if key in lookup:
        return lookup[key]
    kind = question.type
    expected = f"{question.label} : {question.expected}"
    try:
        if kind is QuestionType.OUI_NON:
            return parse_yes_no(text)
        if kind is QuestionType.CHOIX:
            option = _option(text, question)
            if option is None:
                raise IntakeError(expected)
            return option
        if kind is QuestionType.CHOIX_MULTIPLE:
            whole = _option(text, question)
            if whole is not None:
                return frozenset([whole])
            parts = [p for p in _SPLIT.split(text.strip()) if p]
            if len(parts) == 1:
                parts = [p for p in re.split(r"\s*,\s*", text.strip()) if p]
            chosen: set[str] = set()
            for part in parts:
                mapped = lookup.get(normalize_text(part))
                if isinstance(mapped, frozenset):
                    chosen |= mapped
                    continue
                option = _option(part, question)
                if option is None:
                    raise IntakeError(expected)
                chosen.add(option)
            return frozenset(chosen)
        if kind is QuestionType.NOMBRE:
            return _number(text)
        if kind is QuestionType.DATE:
            return parse_date(text)
        return text.strip()
    except IntakeError:
        raise IntakeError(expected) from None


class QuestionReader:
    """Reads one question's answer in every row: finds its cell, converts it, checks it."""

    __slots__ = ("cache", "column", "field", "lookup")

    def __init__(self, form_field: QuestionField, column: str) -> None:
        self.field = form_field
        self.column = column
        self.lookup = form_field.lookup()
        self.cache: dict[str, Any] = {}

    @property
    def question(self) -> Question:
        return self.field.question

    def cell(self, row: Row) -> str:
        return row.values[self.column]

    def read(self, row: Row) -> Any:
        """The answer in ``row``: a value, ``None`` (empty cell), or a :class:`BadAnswer`
        saying what was expected."""
        text = self.cell(row)
        if text not in self.cache:
            self.cache[text] = self._convert(text)
        return self.cache[text]

    def _convert(self, text: str) -> Any:
        question = self.question
        try:
            value = parse_answer(text, question, self.lookup)
        except IntakeError as exc:
            value = self._dated(text)
            if value is None:
                if self.field.otherwise is not None:
                    return self.field.otherwise
                return BadAnswer(exc.expected)
        if value is None:
            return None
        if isinstance(value, str) and question.type is QuestionType.TEXTE:
            limit = question.max_length
            if len(value) > limit:
                return BadAnswer(
                    f"{question.label} : texte trop long ({len(value)} caractères, {limit} au plus)"
                )
        problem = answer_problem(question, value)
        return value if problem is None else BadAnswer(problem)

    def _dated(self, text: str) -> dt.date | None:
        return read_dated(text, self.field.formats)


class BadAnswer:
    """A cell that does not fit its question: what was expected, in French."""

    __slots__ = ("expected",)

    def __init__(self, expected: str) -> None:
        self.expected = expected


def question_columns(
    table: Table, fields: Mapping[str, QuestionField]
) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """The file's header read by each question, and the optional questions whose columns
    are absent, as ``(headers, label)``.

    Raises:
        IntakeError: a question's column is missing (and not optional), or two columns of
            the file match one header.
    """
    index = HeaderIndex(table)
    plan: dict[str, str] = {}
    absent: list[tuple[str, str]] = []
    missing: list[str] = []
    for qid, form_field in fields.items():
        found = next((h for h in map(index.find, form_field.columns) if h is not None), None)
        options = " ou ".join(f"« {column} »" for column in form_field.columns)
        if found is not None:
            plan[qid] = found
        elif form_field.optional:
            absent.append((options, form_field.question.label))
        else:
            missing.append(f"{options} (question {qid} : {form_field.question.label})")
    if missing:
        raise IntakeError(
            f"colonne(s) absente(s) du fichier : {' ; '.join(missing)} ; vérifiez la ligne "
            "d'en-têtes du fichier, ou adaptez la section « intake » de la politique",
            source=table.source,
        )
    return plan, absent
