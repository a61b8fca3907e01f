"""The GPs' pages (blueprint ``pages``): the list with this month's places, a GP's page with
its follow-up per month, adding a GP, and the coordinator's actions on a GP: joining the
scheme, a new capacity, a suspension, a resumption, withdrawing, the practice's contact details
(edit, erase). Each goes through the register operation of ``mt-access medecin
adherer|capacite|suspendre|reprendre|retirer|coordonnees|ajouter`` and writes its audit line in
the same transaction. A GP's page carries the GP's step (:func:`~mt_access.web.gp_forms.gp_step`):
an action from a page shown before the GP changed is refused (« ce médecin a changé depuis »)
and nothing is recorded.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

import attrs
from flask import abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, IntegerField, TextAreaField
from wtforms.validators import InputRequired, NumberRange, Optional

from mt_access.bounds import MAX_YEARLY_CAPACITY
from mt_access.cli.places import month_places
from mt_access.cli.registry_base import french_dates
from mt_access.errors import MtAccessError
from mt_access.model import CONTACT_LABELS, Physician, PhysicianStatus, PracticeContact
from mt_access.register import Register
from mt_access.web import context
from mt_access.web.auth import audit, has_role, requires
from mt_access.web.gp_follow_up import follow_up
from mt_access.web.gp_forms import (
    NOTE_VALIDATORS,
    STALE_GP_MESSAGE,
    AddGpForm,
    EraseContactForm,
    GpActionForm,
    GpContactForm,
    JoinForm,
    WithdrawForm,
    check_monthly,
    gp_step,
)
from mt_access.web.pages import blueprint, commune_name

__all__ = ["GP_ACTIONS", "CapacityForm", "ResumeForm", "SuspendForm"]

_NOTE = NOTE_VALIDATORS


class CapacityForm(GpActionForm):
    """A new capacity, from this month on."""

    capacite = IntegerField(
        "Nouvelle capacité (nouveaux patients)",
        validators=[
            InputRequired(message="Indiquez un nombre de places."),
            NumberRange(
                min=0,
                max=MAX_YEARLY_CAPACITY,
                message=f"Un nombre entier entre 0 et {MAX_YEARLY_CAPACITY}.",
            ),
        ],
    )
    par_an = BooleanField("Par année civile (au lieu de par mois)")
    note = TextAreaField("Commentaire", validators=_NOTE)

    def validate(self, extra_validators: Any = None) -> bool:
        valid = bool(super().validate(extra_validators))
        return check_monthly(self) and valid


class SuspendForm(GpActionForm):
    """A suspension from a date, until a date or open-ended."""

    du = DateField("Du", validators=[InputRequired(message="Indiquez la date de début.")])
    au = DateField("Jusqu'au (inclus ; vide : sans date de fin)", validators=[Optional()])
    note = TextAreaField("Commentaire (ex. congé)", validators=_NOTE)

    def validate(self, extra_validators: Any = None) -> bool:
        valid = bool(super().validate(extra_validators))
        if valid and self.au.data is not None and self.au.data < self.du.data:
            self.au.errors = ["La date de fin est avant la date de début."]
            return False
        return valid


class ResumeForm(GpActionForm):
    """The end of a suspension, today."""

    note = TextAreaField("Commentaire", validators=_NOTE)


GpAction = Callable[[Register, str, Any], object]


def _join(register: Register, pid: str, form: Any) -> object:
    return register.join(
        pid,
        form.date.data or context.today(),
        monthly_capacity=int(form.capacite.data),
        modalities=form.modalities(),
        accepted_communes=form.resolved,
        comment=form.note.data or "",
        period="year" if form.par_an.data else "month",
    )


def _set_contact(register: Register, pid: str, contact: PracticeContact) -> str:
    """Record ``contact`` as the GP's contact details; the audit detail: the labels of the
    fields changed (never their values)."""
    physician = register.physician(pid)
    register.update_physicians([attrs.evolve(physician, contact=contact)])
    changed = [
        label for field, label in CONTACT_LABELS.items()
        if getattr(contact, field) != getattr(physician.contact, field)
    ]  # fmt: skip
    return "modifié : " + ", ".join(changed) if changed else "inchangé"


GP_ACTIONS: Mapping[str, tuple[type[FlaskForm], GpAction, str]] = {
    "adherer": (JoinForm, _join, "Adhésion enregistrée."),
    "capacite": (
        CapacityForm,
        lambda r, pid, f: r.change_capacity(
            pid, context.today(), int(f.capacite.data), note=f.note.data or "",
            period="year" if f.par_an.data else "month",
        ),
        "Nouvelle capacité enregistrée.",
    ),
    "suspendre": (
        SuspendForm,
        lambda r, pid, f: r.suspend(pid, f.du.data, f.au.data, f.note.data or ""),
        "Suspension enregistrée.",
    ),
    "reprendre": (
        ResumeForm,
        lambda r, pid, f: r.resume(pid, context.today(), f.note.data or ""),
        "Reprise enregistrée.",
    ),
    "retirer": (
        WithdrawForm,
        lambda r, pid, f: r.withdraw_physician(
            pid, f.date.data or context.today(), f.note.data or ""
        ),
        "Retrait du dispositif enregistré.",
    ),
    "coordonnees": (
        GpContactForm,
        lambda r, pid, f: _set_contact(r, pid, f.contact()),
        "Coordonnées enregistrées.",
    ),
    "effacer-coordonnees": (
        EraseContactForm,
        lambda r, pid, f: _set_contact(r, pid, PracticeContact()),
        "Coordonnées effacées.",
    ),
}  # fmt: skip
"""Each action on a GP: its form, the register operation, the French message on success.
Its audit line is ``medecin.<action>`` (its detail: what an operation returns when it is a
text, e.g. the contact fields changed)."""


def resolve_commune(register: Register, text: str) -> str:
    """The INSEE code of ``text`` (a code or a name), as ``medecin ajouter|adherer`` read it:
    a name is looked up in the policy's reference; a code is kept as typed.

    Raises:
        MtAccessError: an unknown or ambiguous name (the reference's French message).
    """
    text = text.strip()
    reference = register.policy.reference
    if reference is not None and not (text.isdigit() or text[:2].upper() in ("2A", "2B")):
        return reference.resolve(text).insee
    return text


_INVALID = "Le formulaire contient des erreurs : voir les messages sous les champs."


class _Stale(Exception):
    """The GP changed since the page was shown."""


def _status_label(physician: Physician, on: dt.date) -> str:
    """The participation shown, as ``medecin liste`` shows it: « candidat » before joining."""
    return physician.status_on(on).label if physician.status_history else "candidat"


@blueprint.route("/medecins")
@requires("lecture")
def gps_list() -> ResponseReturnValue:
    register = context.register()
    on = context.today()
    policy = register.policy
    rows = []
    for physician in register.physicians():
        places = month_places(register, physician, on)
        rows.append(
            (physician, _status_label(physician, on), commune_name(policy, physician.commune),
             places)
        )  # fmt: skip
    return render_template("gps.html", rows=rows, on=on, can_act=has_role("coordinateur"))


def _render_gp(pid: str, bound: tuple[str, FlaskForm] | None = None, status: int = 200) -> Any:
    register = context.register()
    on = context.today()
    physician = register.physician(pid)
    step = gp_step(physician, register.store.ledger_entries())
    forms: dict[str, FlaskForm] = {
        name: form_class(formdata=None) for name, (form_class, _, _) in GP_ACTIONS.items()
    }
    forms["suspendre"].du.data = on
    forms["adherer"].date.data = on
    forms["retirer"].date.data = on
    forms["coordonnees"].fill(physician.contact)
    if bound is not None:
        forms[bound[0]] = bound[1]
    for form in forms.values():
        form.etape.data = step
    state = physician.status_on(on)
    return render_template(
        "gp.html",
        physician=physician,
        status_label=_status_label(physician, on),
        can_join=not physician.status_history or state is PhysicianStatus.WITHDRAWN,
        can_withdraw=state is not PhysicianStatus.WITHDRAWN,
        places=month_places(register, physician, on),
        commune=commune_name(register.policy, physician.commune),
        accepted=[commune_name(register.policy, c) for c in sorted(physician.accepted_communes)],
        contact_rows=[
            (label[0].upper() + label[1:], getattr(physician.contact, field))
            for field, label in CONTACT_LABELS.items()
        ],
        months=follow_up(register, physician, on, activity=False),
        forms=forms,
        can_act=has_role("coordinateur"),
        on=on,
    ), status


@blueprint.route("/medecins/<pid>")
@requires("lecture")
def gp_page(pid: str) -> ResponseReturnValue:
    if context.store().get_physician(pid) is None:
        abort(404)
    result: ResponseReturnValue = _render_gp(pid)
    return result


@blueprint.route("/medecins/<pid>/suivi")
@requires("lecture")
def gp_follow_up_page(pid: str) -> ResponseReturnValue:
    register = context.register()
    physician = register.store.get_physician(pid)
    if physician is None:
        abort(404)
    on = context.today()
    months = follow_up(register, register.physician(pid), on)
    return render_template("gp_follow_up.html", physician=physician, months=months, on=on)


@blueprint.route("/medecins/<pid>/<action>", methods=["POST"])
@requires("coordinateur")
def gp_action(pid: str, action: str) -> ResponseReturnValue:
    if action not in GP_ACTIONS:
        abort(404)
    register = context.register()
    store = register.store
    if store.get_physician(pid) is None:
        abort(404)
    form_class, operation, done = GP_ACTIONS[action]
    form: Any = form_class()
    result: ResponseReturnValue
    if not form.validate():
        if list(form.errors) == ["etape"]:
            flash(STALE_GP_MESSAGE, "erreur")
            return redirect(url_for("pages.gp_page", pid=pid), 303)
        flash(_INVALID, "erreur")
        result = _render_gp(pid, (action, form), 400)
        return result
    if isinstance(form, JoinForm):
        try:
            form.resolved = [resolve_commune(register, t) for t in form.commune_texts()]
        except MtAccessError as exc:
            form.communes.errors = [str(exc)]
            flash(_INVALID, "erreur")
            result = _render_gp(pid, (action, form), 400)
            return result
    try:
        with store.transaction():
            current = store.get_physician(pid)
            if current is None or gp_step(current, store.ledger_entries()) != form.etape.data:
                raise _Stale
            done_by = operation(register, pid, form)
            audit(f"medecin.{action}", pid, done_by if isinstance(done_by, str) else "")
    except _Stale:
        flash(STALE_GP_MESSAGE, "erreur")
    except MtAccessError as exc:
        flash(french_dates(str(exc)), "erreur")
    else:
        flash(done, "succes")
    context.forget_cached()
    return redirect(url_for("pages.gp_page", pid=pid), 303)


@blueprint.route("/medecins/ajouter", methods=["GET", "POST"])
@requires("coordinateur")
def gp_add() -> ResponseReturnValue:
    form = AddGpForm()
    if not form.is_submitted():
        return render_template("gp_add.html", form=form)
    if not form.validate():
        flash(_INVALID, "erreur")
        return render_template("gp_add.html", form=form), 400
    register = context.register()
    pid = str(form.identifiant.data).strip()
    try:
        commune = resolve_commune(register, str(form.commune.data))
        physician = Physician(
            id=pid,
            name=str(form.nom.data).strip(),
            commune=commune,
            rpps=str(form.rpps.data).replace(" ", "") or None,
        )
    except (MtAccessError, ValueError) as exc:
        form.commune.errors = [str(exc)]
        return render_template("gp_add.html", form=form), 400
    try:
        with register.store.transaction():
            register.add_physician(physician)
            audit("medecin.ajouter", pid)
    except MtAccessError as exc:
        form.identifiant.errors = [french_dates(str(exc))]
        context.forget_cached()
        return render_template("gp_add.html", form=form), 400
    context.forget_cached()
    flash(
        f"Médecin ajouté ({register.policy.commune_name(commune)}) ; enregistrez son adhésion "
        "ci-dessous quand il signe la charte.",
        "succes",
    )
    return redirect(url_for("pages.gp_page", pid=pid), 303)
