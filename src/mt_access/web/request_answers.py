"""More actions of a request's page (their routes are in :mod:`mt_access.web.request_pages`,
which shows their forms): a GP's answer recorded by the
coordinator, a resource's answer, putting a confirmed request on the waiting list, the
qualification (:mod:`mt_access.web.request_qualify`), and, for a household, a proposal or an
exit of some of its persons: the per-request commands of the command line the lifecycle
actions of :mod:`mt_access.web.request_pages` do not cover.

Each is a POST form with its CSRF token and ``etape`` (the number of events the page showed),
checked like the lifecycle actions of :mod:`mt_access.web.request_pages`: a stale page gets
« cette demande a changé depuis » and nothing is recorded; the check, the register operation
(the same as the command line's) and the audit line ``demande.<action>`` run in one store
transaction. A refusal of the register is shown in French above the form, whose values are
kept; nothing is recorded.

The request's page asks :func:`page_context` for these forms (a bound form with its errors
is left in ``flask.g`` by the action that failed).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import flash, g
from flask_wtf import FlaskForm
from wtforms import RadioField, SelectField, SelectMultipleField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length
from wtforms.widgets import CheckboxInput, ListWidget

from mt_access.cli.request_commands import EXITS, persons_line
from mt_access.lifecycle import RequestFile, RequestState
from mt_access.model import Request
from mt_access.register import Register
from mt_access.resources import MODE_LABELS
from mt_access.web import context
from mt_access.web.auth import has_role
from mt_access.web.forms import ActionForm, CloseForm, ProposeForm, choices
from mt_access.web.request_common import request_step
from mt_access.web.request_qualify import (
    QualifyForm,
    qualification_changes,
    qualify_form,
    qualify_request,
)

__all__ = [
    "BOUND_FORM",
    "FORM_ERRORS",
    "MORE_ACTIONS",
    "GpAnswerForm",
    "HouseholdCloseForm",
    "HouseholdProposeForm",
    "ResourceAnswerForm",
    "WaitingForm",
    "fill_choices",
    "page_context",
]

FORM_ERRORS = "Le formulaire contient des erreurs : voir les messages sous les champs."

BOUND_FORM = "request_more_bound"
"""The ``flask.g`` key of the bound form of an action that failed."""


class GpAnswerForm(ActionForm):
    """A GP's answer to a proposal, recorded by the coordinator (the GP phoned or wrote): the
    same as ``mt-access medecin repondre``."""

    medecin = SelectField(
        "Médecin", choices=[], validators=[InputRequired(message="Choisissez un médecin.")]
    )
    reponse = RadioField(
        "Réponse du médecin",
        choices=choices([("accepte", "Il accepte"), ("refuse", "Il refuse")]),
        validators=[InputRequired(message="Choisissez « Il accepte » ou « Il refuse ».")],
    )
    commentaire = TextAreaField(
        "Motif ou commentaire (facultatif)",
        validators=[Length(max=500, message="500 caractères au plus.")],
    )


class ResourceAnswerForm(ActionForm):
    """The answer of one of the policy's resources (``mt-access demande ressource``)."""

    ressource = SelectField(
        "Ressource", choices=[], validators=[InputRequired(message="Choisissez une ressource.")]
    )
    reponse = TextAreaField(
        "Réponse de la ressource",
        validators=[
            DataRequired(message="Indiquez la réponse de la ressource."),
            Length(max=500, message="500 caractères au plus."),
        ],
    )


class WaitingForm(ActionForm):
    """A confirmed request put on the waiting list (``mt-access demande attente``)."""


def _persons_field(label: str) -> SelectMultipleField:
    return SelectMultipleField(
        label,
        choices=[],
        validators=[DataRequired(message="Cochez au moins une personne.")],
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
    )


class HouseholdProposeForm(ProposeForm):
    """A proposal of some persons of a household (``demande proposer --personnes``)."""

    personnes = _persons_field("Personnes proposées")


class HouseholdCloseForm(CloseForm):
    """The exit of some persons of a household (``demande cloturer --personnes``)."""

    personnes = _persons_field("Personnes qui sortent")


def _gp_choices(register: Register, file: RequestFile, req: Request) -> list[Any]:
    names = {p.id: p.name for p in context.physicians()}
    household = req.household.persons > 1
    out = []
    for gp in sorted(file.proposed_to):
        label = f"{names.get(gp, gp)} ({gp})"
        persons = file.people.proposed_to(gp)
        if household and persons:
            label += f" : personne(s) {', '.join(str(n) for n in persons)}"
        out.append((gp, label))
    return choices(out)


def _available_gps(file: RequestFile) -> list[Any]:
    """The GPs a request may be proposed to by hand (as the page's « Proposer » lists them)."""
    on = context.today()
    return choices(
        (p.id, f"{p.name} ({p.id})")
        for p in context.physicians()
        if p.is_available_on(on) and p.id not in file.proposed_to and p.id not in file.declined_by
    )


def _members(req: Request, numbers: Any) -> list[Any]:
    wanted = set(numbers)
    return choices(
        (str(m.number), f"{m.number} : {m.label}")
        for m in req.household.members
        if m.number in wanted
    )


def _resource_choices(register: Register) -> list[Any]:
    return choices(
        (r.name, r.name + (f" ({MODE_LABELS[r.mode]})" if r.mode in MODE_LABELS else ""))
        for r in register.policy.resources
    )


def _blank(name: str, step: str, register: Register, file: RequestFile, req: Request) -> FlaskForm:
    if name == "qualifier":
        return qualify_form(register.policy, req, step)
    form_class = MORE_ACTIONS[name][0]
    form = form_class(formdata=None, etape=step)
    fill_choices(name, form, register, file, req)
    return form


def fill_choices(
    name: str, form: FlaskForm, register: Register, file: RequestFile, req: Request
) -> None:
    if name == "reponse-medecin":
        form.medecin.choices = _gp_choices(register, file, req)
    elif name == "ressource":
        form.ressource.choices = _resource_choices(register)
    elif name == "proposer-personnes":
        form.medecin.choices = _available_gps(file)
        form.personnes.choices = _members(req, file.people.waiting)
    elif name == "sortie-personnes":
        form.personnes.choices = _members(req, file.people.unresolved)


def page_context(register: Register, rid: str, file: RequestFile, req: Request) -> dict[str, Any]:
    """What the request's page shows of this module: the forms of the actions this request
    may take (for coordinators), and the qualification changes of its history."""
    erased = register.store.erased_on(rid) is not None
    forms: dict[str, FlaskForm] = {}
    if has_role("coordinateur") and not file.is_exited:
        step = request_step(file)
        wanted = []
        if file.proposed_to:
            wanted.append("reponse-medecin")
        if file.state is RequestState.CONFIRMED:
            wanted.append("attente")
        if register.policy.resources:
            wanted.append("ressource")
        if not erased:
            wanted.append("qualifier")
        if file.persons > 1:
            if file.people.waiting and file.state in (RequestState.WAITING, RequestState.PROPOSED):
                wanted.append("proposer-personnes")
            wanted.append("sortie-personnes")
        for name in wanted:
            forms[name] = _blank(name, step, register, file, req)
    bound = g.get(BOUND_FORM)
    if bound is not None and bound[0] in forms:
        name, form = bound
        fill_choices(name, form, register, file, req)
        forms[name] = form
    elif bound is not None:  # its form is no longer offered: its messages at the top
        for message in bound[1].form_errors:
            flash(message, "erreur")
    return {
        "more_forms": forms,
        "qualifications": qualification_changes(file),
        "household_line": persons_line(register, file) if file.persons > 1 else "",
    }


# ------------------------------------------------------------------------------------------
# The actions

Operation = Callable[[Register, str, Any], str]
"""The register operation of an action: returns the French message on success."""


def _answer(register: Register, rid: str, form: Any) -> str:
    gp = str(form.medecin.data)
    accepted = form.reponse.data == "accepte"
    file = register.answer(
        rid, gp, context.today(), accepted=accepted, comment=form.commentaire.data or ""
    )
    name = register.physician(gp).name
    if accepted:
        return f"{name} devient le médecin traitant ; demande {file.id} : {file.state.label}."
    return f"Refus de {name} enregistré ; demande {file.id} : {file.state.label}."


def _resource(register: Register, rid: str, form: Any) -> str:
    name = str(form.ressource.data)
    register.resource_answer(rid, name, context.today(), str(form.reponse.data))
    resource = next(r for r in register.policy.resources if r.name == name)
    text = f"Réponse de la ressource « {resource.name} » enregistrée"
    if resource.mode == "before":
        text += " : la demande entrera dans son parcours vers un médecin au prochain appariement"
    return text + "."


def _waiting(register: Register, rid: str, form: Any) -> str:
    file = register.to_waiting(rid, context.today(), form.commentaire.data or "")
    return f"Demande {file.id} : {file.state.label}."


def _persons(form: Any) -> tuple[int, ...]:
    return tuple(sorted(int(n) for n in form.personnes.data))


def _propose_persons(register: Register, rid: str, form: Any) -> str:
    register.propose(
        rid,
        str(form.medecin.data),
        context.today(),
        form.commentaire.data or "",
        persons=_persons(form),
    )
    return "Proposition au médecin enregistrée."


def _close_persons(register: Register, rid: str, form: Any) -> str:
    exit_of = EXITS[str(form.motif.data)]
    file = exit_of(register, rid, context.today(), form.commentaire.data or "", _persons(form))
    shown = ", ".join(str(n) for n in _persons(form))
    return (
        f"Sortie enregistrée pour la ou les personnes {shown} ; demande {rid} : {file.state.label}."
    )


def _persons_detail(form: Any) -> str:
    return "personnes " + ",".join(str(n) for n in _persons(form))


def _qualify(register: Register, rid: str, form: Any) -> str:
    return qualify_request(register, rid, context.today(), form)


MORE_ACTIONS: dict[str, tuple[type[FlaskForm], Operation, Callable[[Any], str]]] = {
    "reponse-medecin": (
        GpAnswerForm,
        _answer,
        lambda f: f"médecin {f.medecin.data} {f.reponse.data}",
    ),
    "ressource": (ResourceAnswerForm, _resource, lambda f: f"ressource {f.ressource.data}"),
    "attente": (WaitingForm, _waiting, lambda f: ""),
    "qualifier": (QualifyForm, _qualify, lambda f: f.changed_keys()),
    "proposer-personnes": (
        HouseholdProposeForm,
        _propose_persons,
        lambda f: f"médecin {f.medecin.data} {_persons_detail(f)}",
    ),
    "sortie-personnes": (
        HouseholdCloseForm,
        _close_persons,
        lambda f: f"{f.motif.data} {_persons_detail(f)}",
    ),
}
"""Each action: its form class, the register operation (as the command line does it), the
audit line's detail (ids and names of the policy only: never a comment, an answer or a
reason). Its audit line is ``demande.<action>``."""
