"""The GPs' pages (blueprint ``pages``): the list with this month's places, a GP's page, and
the coordinator's actions on a GP: a new capacity, a suspension, a resumption. Each goes
through the register operation of ``mt-access medecin capacite|suspendre|reprendre`` and
writes its audit line in the same transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from flask import abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, IntegerField, TextAreaField
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from mt_access.bounds import MAX_MONTHLY_CAPACITY, MAX_YEARLY_CAPACITY
from mt_access.cli.places import month_places
from mt_access.cli.registry_base import french_dates
from mt_access.errors import MtAccessError
from mt_access.register import Register
from mt_access.web import context
from mt_access.web.auth import audit, has_role, requires
from mt_access.web.forms import FrenchForm
from mt_access.web.pages import blueprint, commune_name

__all__ = ["GP_ACTIONS", "CapacityForm", "ResumeForm", "SuspendForm"]

_NOTE = [Optional(), Length(max=300, message="300 caractères au plus.")]


class CapacityForm(FrenchForm):
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
        value = self.capacite.data
        if valid and not self.par_an.data and value is not None and value > MAX_MONTHLY_CAPACITY:
            self.capacite.errors = [
                f"Une capacité mensuelle va de 0 à {MAX_MONTHLY_CAPACITY} ; cochez « par année "
                "civile » pour une capacité annuelle."
            ]
            return False
        return valid


class SuspendForm(FrenchForm):
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


class ResumeForm(FrenchForm):
    """The end of a suspension, today."""

    note = TextAreaField("Commentaire", validators=_NOTE)


GpAction = Callable[[Register, str, Any], object]

GP_ACTIONS: Mapping[str, tuple[type[FlaskForm], GpAction, str]] = {
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
}  # fmt: skip
"""Each action on a GP: its form, the register operation, the French message on success.
Its audit line is ``medecin.<action>``."""


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
            (physician, physician.status_on(on).label, commune_name(policy, physician.commune),
             places)
        )  # fmt: skip
    return render_template("gps.html", rows=rows, on=on)


def _render_gp(pid: str, bound: tuple[str, FlaskForm] | None = None, status: int = 200) -> Any:
    register = context.register()
    on = context.today()
    physician = register.physician(pid)
    forms: dict[str, FlaskForm] = {
        name: form_class(formdata=None) for name, (form_class, _, _) in GP_ACTIONS.items()
    }
    forms["suspendre"].du.data = on
    if bound is not None:
        forms[bound[0]] = bound[1]
    return render_template(
        "gp.html",
        physician=physician,
        status_label=physician.status_on(on).label,
        places=month_places(register, physician, on),
        commune=commune_name(register.policy, physician.commune),
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


@blueprint.route("/medecins/<pid>/<action>", methods=["POST"])
@requires("coordinateur")
def gp_action(pid: str, action: str) -> ResponseReturnValue:
    if action not in GP_ACTIONS:
        abort(404)
    register = context.register()
    if register.store.get_physician(pid) is None:
        abort(404)
    form_class, operation, done = GP_ACTIONS[action]
    form = form_class()
    if not form.validate():
        flash("Le formulaire contient des erreurs : voir les messages sous les champs.", "erreur")
        result: ResponseReturnValue = _render_gp(pid, (action, form), 400)
        return result
    try:
        with register.store.transaction():
            operation(register, pid, form)
            audit(f"medecin.{action}", pid)
    except MtAccessError as exc:
        flash(french_dates(str(exc)), "erreur")
    else:
        context.forget_cached()
        flash(done, "succes")
    return redirect(url_for("pages.gp_page", pid=pid), 303)
