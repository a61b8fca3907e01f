"""The qualification form of a request's page: the built-in yes/no criteria
(:data:`~mt_access.register_qualify.QUALIFIABLE_FIELDS`) and the policy's own questions,
each field built from its question's type, changed with a reason through
:meth:`~mt_access.register.Register.qualify` (the same as ``mt-access demande qualifier``).

A value is read as the command line reads ``--reponse`` (:func:`parse_answer`): a value that
does not fit its question gets what was expected, in French, under the field (never the
value). Only what the coordinator touched is sent as a change: a question left blank that had
no answer is not sent; the register itself refuses « aucune modification », a blank reason or
a required answer removed.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import attrs
from wtforms import Field, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from mt_access.errors import IntakeError
from mt_access.intake.question_fields import parse_answer
from mt_access.lifecycle import Event, RequestFile
from mt_access.model import Request
from mt_access.policy import Policy
from mt_access.questions import Question, QuestionType, answer_problem, format_answer
from mt_access.register import Register
from mt_access.register_qualify import QUALIFIABLE_FIELDS
from mt_access.web.forms import ActionForm, choices

__all__ = [
    "NO_ANSWER",
    "QualificationEntry",
    "QualifyForm",
    "qualification_changes",
    "qualify_form",
    "qualify_request",
]

NO_ANSWER = "sans réponse"
"""The blank option of a question's select."""

_FIELD = "champ_"
_QUESTION = "q_"


class QualifyForm(ActionForm):
    """The qualification form; :func:`qualify_form` adds a field per criterion and per
    question of the policy."""

    commentaire = TextAreaField(
        "Raison de la modification",
        validators=[
            DataRequired(message="Indiquez la raison de la modification (obligatoire)."),
            Length(max=500, message="500 caractères au plus."),
        ],
    )
    changed: tuple[str, ...] = ()

    questions: tuple[Question, ...] = ()

    def criteria(self) -> list[Field]:
        return [self[_FIELD + name] for name in QUALIFIABLE_FIELDS]

    def question_fields(self) -> list[tuple[Question, Field]]:
        return [(q, self[_QUESTION + q.id]) for q in self.questions]

    def changed_keys(self) -> str:
        """The audit line's detail: the ids of what changed (never a value)."""
        return ", ".join(self.changed)


class _Answer:
    """A field's validator: the text read as ``--reponse`` reads it."""

    def __init__(self, question: Question) -> None:
        self.question = question

    def __call__(self, form: Any, field: Field) -> None:
        if self.question.type is QuestionType.CHOIX_MULTIPLE:
            return
        expected = f"{self.question.expected[:1].upper()}{self.question.expected[1:]}."
        try:
            value = parse_answer(str(field.data or ""), self.question)
        except IntakeError:
            raise ValidationError(expected) from None
        if value is not None and answer_problem(self.question, value) is not None:
            raise ValidationError(expected)


def _question_field(q: Question) -> Field:
    kind = q.type
    if kind is QuestionType.OUI_NON:
        options = [("", NO_ANSWER), ("oui", "oui"), ("non", "non")]
        return SelectField(q.label, choices=choices(options), validators=[Optional(), _Answer(q)])
    if kind is QuestionType.CHOIX:
        options = [("", NO_ANSWER), *((o, o) for o in q.options)]
        return SelectField(q.label, choices=choices(options), validators=[Optional(), _Answer(q)])
    if kind is QuestionType.CHOIX_MULTIPLE:
        return SelectMultipleField(
            q.label,
            choices=choices((o, o) for o in q.options),
            validators=[Optional()],
            widget=ListWidget(prefix_label=False),
            option_widget=CheckboxInput(),
        )
    if kind is QuestionType.TEXTE:
        return StringField(q.label, validators=[Optional(), _Answer(q)])
    return StringField(q.label, validators=[Optional(), _Answer(q)])


def _form_class(policy: Policy) -> type[QualifyForm]:
    fields: dict[str, Any] = {
        _FIELD + name: SelectField(
            label, choices=choices([("oui", "oui"), ("non", "non")]), validators=[DataRequired()]
        )
        for name, label in QUALIFIABLE_FIELDS.items()
    }
    for q in policy.questions:
        fields[_QUESTION + q.id] = _question_field(q)
    fields["questions"] = tuple(policy.questions)
    return type("PolicyQualifyForm", (QualifyForm,), fields)


def _shown(q: Question, value: Any) -> Any:
    if q.type is QuestionType.CHOIX_MULTIPLE:
        return [o for o in q.options if value and o in value]
    return format_answer(q, value)


def qualify_form(policy: Policy, req: Request, step: str | None) -> QualifyForm:
    """The form of ``req``'s qualification: blank (filled with the request's values) when
    ``step`` is given, else bound to the request's form data."""
    form_class = _form_class(policy)
    if step is None:
        return form_class()
    data: dict[str, Any] = {
        _FIELD + n: "oui" if getattr(req, n) else "non" for n in QUALIFIABLE_FIELDS
    }
    for q in policy.questions:
        data[_QUESTION + q.id] = _shown(q, req.answers.get(q.id))
    return form_class(formdata=None, etape=step, **data)


def _value(q: Question, field: Field) -> Any:
    if q.type is QuestionType.CHOIX_MULTIPLE:
        return frozenset(field.data) if field.data else None
    return parse_answer(str(field.data or ""), q)


def qualify_request(register: Register, rid: str, on: dt.date, form: QualifyForm) -> str:
    """Record the form's qualification of request ``rid`` (:meth:`Register.qualify`); the
    French message of the change. Sets ``form.changed`` (the keys changed, for the audit).

    Raises:
        MtAccessError: the register's refusal (nothing changes, a required answer removed...).
    """
    before = register.request(rid)
    answers: dict[str, object | None] = {}
    for q, field in form.question_fields():
        value = _value(q, field)
        if value is None and q.id not in before.answers:
            continue  # blank and unanswered: nothing to send
        answers[q.id] = value
    fields = {name: form[_FIELD + name].data == "oui" for name in QUALIFIABLE_FIELDS}
    file = register.qualify(
        rid, on, answers=answers, fields=fields, reason=str(form.commentaire.data or "")
    )
    after = register.request(rid)
    changed = [n for n in QUALIFIABLE_FIELDS if getattr(before, n) != getattr(after, n)]
    changed += [q.id for q in form.questions if before.answers.get(q.id) != after.answers.get(q.id)]
    form.changed = tuple(changed)
    return (
        f"Qualification modifiée ({file.state.label}) : le prochain appariement classe la "
        "demande avec sa nouvelle qualification."
    )


@attrs.frozen
class QualificationEntry:
    """A ``qualify`` event of the history, as the request's page shows it."""

    on: dt.date
    reason: str
    changes: tuple[str, ...]


def qualification_changes(file: RequestFile) -> list[QualificationEntry]:
    """The qualification changes of the request's history (reason, then each change
    « label : before → after »), oldest first; erased comments are left out."""
    out = []
    for t in file.history:
        if t.event is not Event.QUALIFY or not t.comment:
            continue
        reason, sep, listed = t.comment.partition(" — ")
        changes = tuple(listed.split(" ; ")) if sep else ()
        out.append(QualificationEntry(t.on, reason if sep else t.comment, changes))
    return out
