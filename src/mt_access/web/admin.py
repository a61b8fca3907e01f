"""The administrator's pages (blueprint ``admin``, role ``admin`` only): the audit trail and
the accounts (create, disable, set a new password), the same operations as
``mt-access utilisateur``, audited with the administrator as actor."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from wtforms import PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, Optional

from mt_access.bounds import MIN_PASSWORD_LENGTH
from mt_access.errors import AccountError
from mt_access.store.base import ROLES
from mt_access.web import context
from mt_access.web.accounts import create_user, disable_user, set_password
from mt_access.web.auth import ROLE_LABELS, actor, current_user, requires
from mt_access.web.forms import FrenchForm, choices, query_number

__all__ = ["AUDIT_PAGE_SIZE", "NewUserForm", "PasswordForm", "blueprint"]

AUDIT_PAGE_SIZE = 100
"""Lines of the audit trail per page."""

_LAST_SEQ = 2**63 - 1
"""The largest number of an audit line (the stores' 64-bit integers): ``?avant=`` beyond it
shows the latest lines."""

blueprint = Blueprint("admin", __name__, url_prefix="/admin")

_PASSWORD = [
    DataRequired(message="Indiquez le mot de passe."),
    Length(
        min=MIN_PASSWORD_LENGTH,
        max=1000,
        message=f"Au moins {MIN_PASSWORD_LENGTH} caractères.",
    ),
]


class PasswordForm(FrenchForm):
    """A new password, typed twice."""

    mot_de_passe = PasswordField("Nouveau mot de passe", validators=_PASSWORD)
    confirmation = PasswordField(
        "Le même, encore une fois",
        validators=[EqualTo("mot_de_passe", message="Les deux mots de passe diffèrent.")],
    )


class NewUserForm(PasswordForm):
    """A new account."""

    login = StringField(
        "Identifiant (ex. c.martin)",
        validators=[
            DataRequired(message="Indiquez l'identifiant."),
            Length(max=40, message="40 caractères au plus."),
        ],
    )
    nom = StringField("Nom affiché", validators=[Optional(), Length(max=100)])
    role = SelectField(
        "Rôle", choices=choices((r, ROLE_LABELS[r]) for r in ROLES), validators=[DataRequired()]
    )
    mot_de_passe = PasswordField("Mot de passe", validators=_PASSWORD)


class DisableForm(FrenchForm):
    """Disabling an account (a button)."""


@blueprint.route("/journal")
@requires("admin")
def audit_trail() -> ResponseReturnValue:
    subject = (request.args.get("objet") or "").strip()[:60] or None
    before = query_number("avant", maximum=_LAST_SEQ)
    lines = context.store().audit_entries(subject=subject, before=before, limit=AUDIT_PAGE_SIZE + 1)
    more = len(lines) > AUDIT_PAGE_SIZE
    lines = lines[:AUDIT_PAGE_SIZE]
    return render_template(
        "audit.html",
        lines=lines,
        subject=subject or "",
        older=lines[-1].seq if more and lines else None,
    )


def _users_page(new_form: NewUserForm | None = None, status: int = 200) -> tuple[str, int]:
    users = context.store().users()
    password_forms = {u.login: PasswordForm(formdata=None, prefix=u.login) for u in users}
    return render_template(
        "users.html",
        users=users,
        new_form=new_form or NewUserForm(formdata=None),
        password_forms=password_forms,
        disable_form=DisableForm(formdata=None),
        me=current_user(),
    ), status


@blueprint.route("/comptes")
@requires("admin")
def users() -> ResponseReturnValue:
    return _users_page()


@blueprint.route("/comptes", methods=["POST"])
@requires("admin")
def user_create() -> ResponseReturnValue:
    form = NewUserForm()
    if not form.validate():
        return _users_page(form, 400)
    chosen = context.settings()
    try:
        create_user(
            context.store(), str(form.login.data).strip(), str(form.role.data),
            str(form.mot_de_passe.data), display_name=form.nom.data or "", actor=actor(),
            hasher=chosen.hasher, now=context.now(),
        )  # fmt: skip
    except AccountError as exc:
        form.login.errors = [*form.login.errors, str(exc)]
        return _users_page(form, 400)
    flash(f"Compte « {form.login.data} » créé.", "succes")
    return redirect(url_for("admin.users"), 303)


@blueprint.route("/comptes/<login>/desactiver", methods=["POST"])
@requires("admin")
def user_disable(login: str) -> ResponseReturnValue:
    store = context.store()
    if store.get_user(login) is None:
        abort(404)
    me = current_user()
    if me is not None and me.login == login:
        flash("Vous ne pouvez pas désactiver votre propre compte.", "erreur")
        return redirect(url_for("admin.users"), 303)
    if DisableForm().validate():
        disable_user(store, login, actor=actor(), now=context.now())
        flash(f"Compte « {login} » désactivé ; ses sessions sont fermées.", "succes")
    return redirect(url_for("admin.users"), 303)


@blueprint.route("/comptes/<login>/mot-de-passe", methods=["POST"])
@requires("admin")
def user_password(login: str) -> ResponseReturnValue:
    store = context.store()
    if store.get_user(login) is None:
        abort(404)
    form = PasswordForm(prefix=login)
    if not form.validate():
        flash(
            "Mot de passe non changé : "
            + " ".join(e for errors in form.errors.values() for e in errors),
            "erreur",
        )
        return redirect(url_for("admin.users"), 303)
    set_password(
        store, login, str(form.mot_de_passe.data), actor=actor(),
        hasher=context.settings().hasher, now=context.now(),
    )  # fmt: skip
    flash(f"Mot de passe du compte « {login} » changé ; ses sessions sont fermées.", "succes")
    return redirect(url_for("admin.users"), 303)
