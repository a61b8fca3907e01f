"""The qualification part of :class:`~mt_access.register.Register`: the coordinator changes a
request's answers to the CPTS's questions, or its built-in criteria (ALD, CSS, AME, disability
or chronic condition, urgency), after the import, with a reason.

The change is one ``qualify`` event of the request's history (actor: the coordination), whose
comment holds the reason and each change (« Personne isolée : non → oui »); the request is
replaced in the store, so the next match run classifies it with its new qualification. An
erasure blanks the comment with the other personal data.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import attrs

from mt_access.errors import RegisterOperationError
from mt_access.lifecycle import RequestFile
from mt_access.model import Request
from mt_access.questions import AnswerError, check_answers, format_answer
from mt_access.register_base import RegisterBase

__all__ = ["QUALIFIABLE_FIELDS", "Qualification", "QualificationChange"]

QUALIFIABLE_FIELDS: Mapping[str, str] = {
    "ald": "ALD",
    "css": "CSS",
    "ame": "AME",
    "disability_or_chronic": "Handicap ou maladie chronique",
    "urgent": "Soins nécessaires sous un mois",
}
"""The request's own yes/no criteria the coordinator may change (``--champ``), with their
French labels."""


@attrs.frozen
class QualificationChange:
    """One change of a qualification: the question id or field, its French label, the
    answer before and after as letters show them (``""``: no answer)."""

    key: str
    label: str
    before: str
    after: str

    def describe(self) -> str:
        return f"{self.label} : {self.before or '—'} → {self.after or '—'}"


def _yes_no(value: bool) -> str:
    return "oui" if value else "non"


class Qualification(RegisterBase):
    """The register's qualification changes (:meth:`qualify`)."""

    def qualify(
        self,
        request_id: str,
        on: dt.date,
        *,
        answers: Mapping[str, object | None] | None = None,
        fields: Mapping[str, bool] | None = None,
        reason: str,
    ) -> RequestFile:
        """Change the request's answers (question id → typed value, ``None`` to remove an
        answer) and built-in criteria (:data:`QUALIFIABLE_FIELDS` → ``True``/``False``),
        recording a ``qualify`` event with ``reason`` and the changes (before → after).

        The next match run (:meth:`to_route`, :meth:`run_match`) uses the new
        qualification.

        Raises:
            AnswerError: an unknown question, an answer that does not fit its question, or
                a required question's answer removed.
            RegisterOperationError: unknown request, erased request, unknown field, or
                nothing changes.
            LifecycleError: blank reason, a date before the request's last event, or the
                request has exited.
        """
        answers = dict(answers or {})
        fields = dict(fields or {})
        with self._operation():
            if self.store.erased_on(request_id) is not None:
                raise RegisterOperationError(
                    f"demande {request_id} : données personnelles effacées, qualification "
                    "impossible"
                )
            file = self.file(request_id)
            request = self.request(request_id)
            new_request, changes = self._changed(request, answers, fields)
            if not changes:
                raise RegisterOperationError(
                    f"demande {request_id} : aucune modification (les valeurs données sont "
                    "déjà celles de la demande)"
                )
            # a blank reason stays blank: the lifecycle refuses it, with its message
            listed = " ; ".join(c.describe() for c in changes)
            comment = f"{reason.strip()} — {listed}" if reason.strip() else ""
            new = file.qualify(on, comment)
            self.store.replace_request(new_request, self.identity(request_id))
            self.store.save_file(new, 1)
            return new

    def _changed(
        self, request: Request, answers: dict[str, object | None], fields: dict[str, bool]
    ) -> tuple[Request, tuple[QualificationChange, ...]]:
        questions = self.policy.questions
        known = {q.id: q for q in questions}
        set_values = check_answers({k: v for k, v in answers.items() if v is not None}, questions)
        changes: list[QualificationChange] = []
        for qid in answers:
            question = known.get(qid)
            if question is None:  # removing an unknown question's answer
                raise AnswerError(
                    f"question inconnue {qid!r} ; questions connues : "
                    f"{', '.join(known) or 'aucune'}"
                )
            if answers[qid] is None and question.required:
                raise AnswerError(
                    f"question {qid} obligatoire : sa réponse peut être changée, pas effacée"
                )
            before = request.answers.get(qid)
            after = set_values.get(qid)
            if before != after or type(before) is not type(after):
                changes.append(
                    QualificationChange(
                        qid,
                        question.label,
                        format_answer(question, before),
                        format_answer(question, after),
                    )
                )
        evolved: dict[str, Any] = {}
        for name, value in fields.items():
            if name not in QUALIFIABLE_FIELDS:
                raise RegisterOperationError(
                    f"champ inconnu {name!r} ; champs modifiables : {', '.join(QUALIFIABLE_FIELDS)}"
                )
            if not isinstance(value, bool):
                raise RegisterOperationError(f"champ {name} : oui ou non attendu")
            if getattr(request, name) != value:
                evolved[name] = value
                changes.append(
                    QualificationChange(
                        name,
                        QUALIFIABLE_FIELDS[name],
                        _yes_no(getattr(request, name)),
                        _yes_no(value),
                    )
                )
        new_answers = request.answers.replace(
            {qid: (set_values.get(qid) if answers[qid] is not None else None) for qid in answers}
        )
        new_request = attrs.evolve(request, answers=new_answers, **evolved)
        return new_request, tuple(changes)
