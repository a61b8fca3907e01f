"""The coordinator's page of a GP's personal link (blueprint ``portal_admin``):
``/medecins/<id>/lien``, role ``coordinateur``. It makes a new link (shown once, never
stored: only the GP's link generation is) or revokes every link of the GP, as
``mt-access medecin lien`` does; both are written to the audit trail."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from wtforms import IntegerField
from wtforms.validators import InputRequired, NumberRange

from mt_access.bounds import MAX_LINK_DAYS
from mt_access.web import context
from mt_access.web.auth import actor, requires
from mt_access.web.portal import PortalForm
from mt_access.web.portal_links import (
    DEFAULT_DAYS,
    generation,
    issue_link,
    link_path,
    revoke,
)

__all__ = ["LinkForm", "RevokeForm", "blueprint"]

blueprint = Blueprint("portal_admin", __name__)


class LinkForm(PortalForm):
    """Making a new link for a GP."""

    jours = IntegerField(
        "Durée de validité (jours)",
        default=DEFAULT_DAYS,
        validators=[
            InputRequired(message="Indiquez une durée en jours."),
            NumberRange(
                min=1, max=MAX_LINK_DAYS, message=f"Un nombre de jours entre 1 et {MAX_LINK_DAYS}."
            ),
        ],
    )


class RevokeForm(PortalForm):
    """Revoking every link of a GP."""


def _render(
    physician_id: str, form: LinkForm, link: str | None, status: int = 200
) -> ResponseReturnValue:
    register = context.register()
    return render_template(
        "portal/link.html",
        physician=register.physician(physician_id),
        generation=generation(register.store, physician_id),
        form=form,
        revoke_form=RevokeForm(formdata=None),
        link=link,
    ), status


def _known(physician_id: str) -> None:
    if context.store().get_physician(physician_id) is None:
        abort(404)


@blueprint.route("/medecins/<physician_id>/lien", methods=["GET", "POST"])
@requires("coordinateur")
def gp_link(physician_id: str) -> ResponseReturnValue:
    _known(physician_id)
    if request.method == "GET":
        return _render(physician_id, LinkForm(formdata=None), None)
    form = LinkForm()
    if not form.validate():
        return _render(physician_id, form, None, 400)
    token = issue_link(
        context.store(),
        current_app.config["SECRET_KEY"],
        physician_id,
        actor=actor(),
        days=int(form.jours.data),
        clock=context.settings().clock,
    )
    link = request.host_url.rstrip("/") + link_path(token)
    return _render(physician_id, LinkForm(formdata=None), link)


@blueprint.route("/medecins/<physician_id>/lien/revoquer", methods=["POST"])
@requires("coordinateur")
def gp_link_revoke(physician_id: str) -> ResponseReturnValue:
    _known(physician_id)
    form = RevokeForm()
    if not form.validate():
        abort(400)
    revoke(context.store(), physician_id, actor=actor(), clock=context.settings().clock)
    flash(
        "Tous les liens de ce médecin sont révoqués : ils ne s'ouvrent plus. Créez-en un "
        "nouveau si besoin.",
        "succes",
    )
    return redirect(url_for("portal_admin.gp_link", physician_id=physician_id), 303)
