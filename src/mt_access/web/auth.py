"""Login, logout, who is acting, roles and the audit trail of the pages.

* The session is Flask's signed cookie (itsdangerous): it holds the login and the account's
  session epoch, nothing else. Each request reloads the account: a disabled account, or one
  whose epoch changed (password changed, disabled), is logged out at once.
* :func:`requires` guards a view by role; an anonymous visitor is sent to the login page.
* :func:`audit` writes a line to the audit trail for the current actor (``user:<login>``, or
  what another blueprint sets in ``g.actor``, such as ``gp:<id>``).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, ParamSpec, TypeVar, cast
from urllib.parse import urlsplit

from flask import Blueprint, abort, flash, g, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from mt_access.store.base import ROLES, AuditRecord, UserRecord
from mt_access.web import context
from mt_access.web.accounts import authenticate, write_audit
from mt_access.web.forms import FrenchForm

__all__ = [
    "DISPLAYED",
    "ROLE_LABELS",
    "ROLE_RANK",
    "LoginForm",
    "actor",
    "audit",
    "blueprint",
    "current_user",
    "has_role",
    "load_user",
    "requires",
]

ROLE_RANK: dict[str, int] = {"lecture": 1, "coordinateur": 2, "admin": 3}
"""Each role's rights: a role may do what every role of a lower rank may do."""
assert set(ROLE_RANK) == set(ROLES)

ROLE_LABELS: dict[str, str] = {
    "admin": "administrateur",
    "coordinateur": "coordinateur",
    "lecture": "lecture seule",
}

LOGIN_FAILED = (
    "Identifiant ou mot de passe incorrect, ou compte momentanément bloqué après plusieurs "
    "essais. Réessayez dans quelques minutes ou demandez à l'administrateur."
)

blueprint = Blueprint("auth", __name__)

P = ParamSpec("P")
R = TypeVar("R")


def current_user() -> UserRecord | None:
    """The account logged in for this request, or ``None``."""
    return cast(UserRecord | None, g.get("user"))


def actor() -> str:
    """Who acts in this request, for the audit trail: ``user:<login>``, ``g.actor`` when a
    blueprint set it (``gp:<id>``), else ``anonyme``."""
    chosen = g.get("actor")
    if isinstance(chosen, str) and chosen:
        return chosen
    user = current_user()
    return f"user:{user.login}" if user is not None else "anonyme"


def has_role(role: str) -> bool:
    """The account logged in has ``role`` or a higher one."""
    user = current_user()
    return user is not None and ROLE_RANK[user.role] >= ROLE_RANK[role]


DISPLAYED = False
"""``durable=`` of the audit lines that say what a page displayed (``identite.afficher``,
``portail.afficher``, a letter, a row of an import, a search's results): their commit does
not wait for the disk, unlike every write of the register and its own line. A GP's portal
page writes one such transaction at each display: with the disk synced at each (4 to 20 ms
under load), the writers' queue made a large part of the load test's slowest pages. A power
cut may lose the last of these lines (never half of one, never a write's own line); a crash
of the server process loses none."""


def audit(
    action: str, subject: str | None = None, detail: str = "", *, durable: bool = True
) -> AuditRecord:
    """Write a line to the audit trail for the current actor, now (joining the transaction in
    progress, if any: wrap a register operation and its line in ``store().transaction()`` to
    record both or neither). ``detail`` holds no personal data. ``durable=False`` for what
    was displayed (:data:`DISPLAYED`): the commit of its own transaction does not wait for
    the disk."""
    return write_audit(
        context.store(), actor(), action, subject, detail, at=context.now(), durable=durable
    )


def requires(role: str) -> Callable[[Callable[P, R]], Callable[P, R | ResponseReturnValue]]:
    """Guard a view: an anonymous visitor is sent to the login page (then back), an account
    without ``role`` (or a higher one) gets the French 403 page."""
    if role not in ROLE_RANK:
        raise ValueError(f"unknown role {role!r}")

    def decorate(view: Callable[P, R]) -> Callable[P, R | ResponseReturnValue]:
        @wraps(view)
        def guarded(*args: P.args, **kwargs: P.kwargs) -> R | ResponseReturnValue:
            if current_user() is None:
                target = request.full_path if request.method == "GET" else None
                return redirect(url_for("auth.login", suivant=_safe_next(target)))
            if not has_role(role):
                abort(403)
            return view(*args, **kwargs)

        return guarded

    return decorate


def load_user() -> None:
    """Before each request: the account of the session, if it is still active and its
    session epoch unchanged; otherwise the session is cleared."""
    g.user = None
    if request.endpoint == "static" or "login" not in session:
        return
    user = context.store().get_user(str(session.get("login", "")))
    if user is None or not user.active or user.session_epoch != session.get("epoch"):
        session.clear()
        return
    g.user = user


def _safe_next(target: str | None) -> str | None:
    """A path on this site to go back to after login (never another site)."""
    if not target:
        return None
    target = target.rstrip("?")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target or any(ord(c) < 32 or ord(c) == 127 for c in target):
        return None  # a newline (« %0A » decoded) in the Location header: a server error
    return target


class LoginForm(FrenchForm):
    """The login form."""

    login = StringField(
        "Identifiant",
        validators=[
            DataRequired(message="Indiquez votre identifiant."),
            Length(max=40, message="Identifiant trop long (40 caractères au plus)."),
        ],
    )
    password = PasswordField(
        "Mot de passe",
        validators=[
            DataRequired(message="Indiquez votre mot de passe."),
            Length(max=1000, message="Mot de passe trop long."),
        ],
    )


class LogoutForm(FrenchForm):
    """The logout button (a POST with its CSRF token)."""


@blueprint.route("/connexion", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    form = LoginForm()
    failed = False
    target = _safe_next(request.args.get("suivant"))
    if form.validate_on_submit():
        chosen = context.settings()
        user = authenticate(
            context.store(),
            str(form.login.data).strip().lower(),
            str(form.password.data),
            hasher=chosen.hasher,
            now=context.now(),
        )
        if user is not None:
            session.clear()
            session["login"] = user.login
            session["epoch"] = user.session_epoch
            session.permanent = True
            return redirect(target or url_for("pages.dashboard"))
        failed = True
    status = 401 if failed else 200
    return render_template("login.html", form=form, failed=failed, message=LOGIN_FAILED), status


@blueprint.route("/deconnexion", methods=["POST"])
def logout() -> ResponseReturnValue:
    form = LogoutForm()
    if form.validate_on_submit() and current_user() is not None:
        audit("deconnexion")
    session.clear()
    flash("Vous êtes déconnecté.", "info")
    return redirect(url_for("auth.login"))


def template_globals() -> dict[str, Any]:
    """Names every template sees: the account, its role checks, the logout form."""
    return {
        "current_user": current_user(),
        "has_role": has_role,
        "role_labels": ROLE_LABELS,
        "logout_form": LogoutForm(formdata=None),  # never reads the request (a 413 page)
    }
