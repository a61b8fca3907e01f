"""The application factory of ``mt-access serve``: :func:`create_app`.

What Flask and its extensions give here (see ``docs/web.md``, « Pourquoi Flask »): the signed
cookie session (itsdangerous), CSRF protection on every POST (Flask-WTF's
:class:`~flask_wtf.csrf.CSRFProtect`), forms validated on the server (WTForms, French
messages), Jinja2 templates with autoescape, and the test client of the tests. Added here:
the security headers of every response, the French error pages, and one register opened per
request.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import stat
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from flask import Flask, Response, abort, render_template, request
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import HTTPException

from mt_access.errors import StoreError
from mt_access.loading import load_policy
from mt_access.policy import Policy
from mt_access.store.base import Store
from mt_access.store.locations import is_store_url, shown_location, store_opener
from mt_access.store.sqlite import SQLiteStore
from mt_access.web import (
    admin,
    auth,
    context,
    dashboard_figures,
    filters,
    gp_import,
    gp_pages,
    htmx,
    ops_downloads,
    ops_import,
    ops_run,
    pages,
    portal,
    portal_admin,
    request_answers,
    request_pages,
)
from mt_access.web.accounts import password_hasher
from mt_access.web.thread_stores import ThreadStores

__all__ = [
    "CONTENT_SECURITY_POLICY",
    "POLICY_SETTING",
    "SECRET_ENV",
    "StoreSource",
    "create_app",
    "secret_key",
]

StoreSource = str | os.PathLike[str] | Store | Callable[[], Store]
"""What :func:`create_app` serves: a register file (an SQLite store is opened for each
request), a ``postgresql://`` URL (:func:`~mt_access.store.locations.store_opener`: each
request's store borrows a connection kept open by the process), a store object (shared by
every request: tests, notebooks), or a function that opens a store (called for each request,
the store closed at its end: another backend)."""

SECRET_ENV = "MT_ACCESS_WEB_SECRET"
"""The environment variable holding the key that signs the sessions."""

POLICY_SETTING = "policy"
"""The store setting naming the register's policy (as ``mt-access registre creer`` records)."""

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
"""No inline script or style, nothing from another site, no framing."""

SECURITY_HEADERS: Mapping[str, str] = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}

ERROR_TEXTS: Mapping[int, tuple[str, str]] = {
    400: ("Requête invalide", "La demande envoyée n'a pas pu être comprise."),
    401: ("Connexion requise", "Connectez-vous pour voir cette page."),
    403: ("Accès refusé", "Votre compte n'a pas le droit de voir cette page ou de faire cela."),
    404: ("Page introuvable", "Cette page n'existe pas, ou plus."),
    405: ("Action impossible", "Cette page ne permet pas cette action."),
    413: ("Envoi trop volumineux", "Le fichier ou le formulaire envoyé est trop gros."),
    500: (
        "Erreur interne",
        "Une erreur inattendue est survenue ; rien n'a été enregistré de l'action en cours. "
        "Réessayez, puis prévenez l'administrateur si cela recommence.",
    ),
}

_SECRET_BYTES = 32

_PAGES = (pages, request_pages, request_answers, gp_pages)
"""The modules whose routes are on the ``pages`` blueprint (imported for them)."""


def create_app(
    store_or_path: StoreSource,
    policy: Policy | None = None,
    *,
    config: Mapping[str, Any] | None = None,
) -> Flask:
    """The web application over a register.

    Args:
        store_or_path: the register (:data:`StoreSource`).
        policy: its policy; by default the one recorded in the register.
        config: Flask settings to set or override (``SECRET_KEY``, ``TESTING``...), and
            ``MT_ACCESS_CLOCK`` (a function giving the current time, UTC),
            ``MT_ACCESS_TODAY`` (the date of the events recorded), ``MT_ACCESS_HASHER``
            (an argon2-cffi ``PasswordHasher``) and ``MT_ACCESS_FIGURES`` (where the
            dashboard's indicators are computed: :mod:`mt_access.web.dashboard_figures`).

    The key that signs the sessions is ``config["SECRET_KEY"]``, else the environment
    variable ``MT_ACCESS_WEB_SECRET``, else a file next to the register
    (``<registre>.secret``, created readable by its owner only), else (a store given as an
    object) a random key that lasts as long as the application. A register in PostgreSQL has
    no file to put the key next to: one of the first two is required.

    Raises:
        StoreError: the register cannot be opened, records no policy, its key file is
            readable by others, or it is a PostgreSQL URL and no key is given.
        PolicyError: the policy cannot be loaded.
    """
    chosen = dict(config or {})
    url = store_or_path if isinstance(store_or_path, str) and is_store_url(store_or_path) else None
    if url is not None and not chosen.get("SECRET_KEY"):
        secret_key(url)  # refused before connecting when no key is given
    opener, close_after, path = _store_opener(store_or_path)
    release = _release(opener)
    if policy is None:
        policy = _recorded_policy(opener, close_after, path if url is None else url)
    app = Flask(__name__)
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_NAME="mt_access_session",
        PERMANENT_SESSION_LIFETIME=dt.timedelta(hours=10),
        MAX_CONTENT_LENGTH=20 * 1024 * 1024,
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session
        WTF_I18N_ENABLED=False,  # WTForms' own French messages (FrenchForm), not Babel
        TEMPLATES_AUTO_RELOAD=False,
    )
    app.config.update({k: v for k, v in chosen.items() if not k.startswith("MT_ACCESS_")})
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = secret_key(path if url is None else url)
    clock: Callable[[], dt.datetime] = chosen.get("MT_ACCESS_CLOCK") or (
        lambda: dt.datetime.now(dt.UTC)
    )
    today: Callable[[], dt.date] = chosen.get("MT_ACCESS_TODAY") or dt.date.today
    app.extensions[context.EXTENSION] = context.WebSettings(
        open_store=opener,
        close_after=close_after,
        policy=policy,
        path=path,
        clock=clock,
        today=today,
        hasher=chosen.get("MT_ACCESS_HASHER") or password_hasher(),
        release_store=release,
    )
    served = path if url is None and isinstance(store_or_path, str | os.PathLike) else url
    dashboard_figures.install(  # the month's indicators: a worker process when it can open it
        app, served, policy, chosen.get(dashboard_figures.EXECUTOR_SETTING)
    )
    CSRFProtect(app)
    app.jinja_env.autoescape = True
    app.before_request(_refuse_nul_address)
    app.before_request(auth.load_user)
    app.teardown_appcontext(context.close_register)
    app.context_processor(auth.template_globals)
    app.after_request(_security_headers)
    _error_pages(app)
    filters.install(app)
    htmx.install(app)
    app.register_blueprint(auth.blueprint)
    app.register_blueprint(pages.blueprint)
    app.register_blueprint(admin.blueprint)
    app.register_blueprint(portal.blueprint)
    app.register_blueprint(portal_admin.blueprint)
    app.register_blueprint(ops_import.blueprint)
    app.register_blueprint(ops_run.blueprint)
    app.register_blueprint(ops_downloads.blueprint)
    app.register_blueprint(gp_import.blueprint)
    return app


def _release(opener: Callable[[], Store]) -> Callable[[Store, bool], None]:
    """How a page gives back its store: to its thread (:class:`ThreadStores`), or closed."""
    stores = getattr(opener, "__self__", None)

    def release(store: Store, failed: bool) -> None:
        if isinstance(stores, ThreadStores) and isinstance(store, SQLiteStore):
            stores.release(store, failed)
        else:  # a PostgreSQL store goes back to its pool
            store.close()

    return release


def _store_opener(source: StoreSource) -> tuple[Callable[[], Store], bool, Path | None]:
    if isinstance(source, str) and is_store_url(source):
        return store_opener(source), True, None  # connections kept open, lent to each page
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        if not path.is_file():
            raise StoreError(
                "registre introuvable ; créez-le avec « mt-access registre creer »",
                path=str(path),
            )
        return ThreadStores(path).open, True, path  # one store a thread, kept between pages
    if isinstance(source, Store):
        shared = source
        return (lambda: shared), False, getattr(shared, "path", None)
    return source, True, None


def _recorded_policy(
    opener: Callable[[], Store], close_after: bool, path: Path | str | None
) -> Policy:
    store = opener()
    try:
        recorded = store.settings().get(POLICY_SETTING)
    finally:
        if close_after:
            store.close()
    if not recorded:
        raise StoreError(
            "aucune politique enregistrée dans ce registre ; indiquez-la (--politique)",
            path=None if path is None else shown_location(path),
        )
    return load_policy(recorded)


def secret_key(path: Path | str | None) -> bytes:
    """The key that signs the sessions and the GPs' links (see :func:`create_app`) of the
    register at ``path`` (a file, a ``postgresql://`` URL, or ``None`` for a store without
    a file); never printed.

    Raises:
        StoreError: the key file is readable or writable by others than its owner, or too
            short; or ``path`` is a URL and ``MT_ACCESS_WEB_SECRET`` is not set.
    """
    from_env = os.environ.get(SECRET_ENV, "")
    if from_env:
        if len(from_env) < _SECRET_BYTES:
            raise StoreError(
                f"la variable {SECRET_ENV} est trop courte : au moins {_SECRET_BYTES} caractères "
                "(par exemple la sortie de « python -c 'import secrets; "
                "print(secrets.token_hex(32))' »)"
            )
        return from_env.encode("utf-8")
    if path is None:
        return secrets.token_bytes(_SECRET_BYTES)
    if isinstance(path, str) and is_store_url(path):
        raise StoreError(
            "registre PostgreSQL : pas de fichier de clé des sessions à côté d'une base de "
            f"données ; définissez la variable {SECRET_ENV} (au moins {_SECRET_BYTES} "
            "caractères, la même pour « mt-access serve » et « mt-access medecin lien » ; "
            "par exemple la sortie de « python -c 'import secrets; "
            "print(secrets.token_hex(32))' »)",
            path=shown_location(path),
        )
    path = Path(path)
    key_file = path.with_name(path.name + ".secret")
    try:
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_key(key_file)
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(secrets.token_hex(_SECRET_BYTES))
    return _read_key(key_file)


def _read_key(key_file: Path) -> bytes:
    if os.name == "posix" and key_file.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise StoreError(
            "le fichier de clé des sessions est lisible par d'autres comptes : "
            "« chmod 600 » sur ce fichier, ou supprimez-le pour qu'un nouveau soit créé",
            path=str(key_file),
        )
    key = key_file.read_text(encoding="ascii").strip()
    if len(key) < _SECRET_BYTES:
        raise StoreError(
            "fichier de clé des sessions trop court ; supprimez-le pour qu'un nouveau soit créé",
            path=str(key_file),
        )
    return key.encode("ascii")


def _refuse_nul_address() -> None:
    """Before each request: an address holding a NUL character (« %00 ») is refused before
    a store reads it (PostgreSQL refuses a NUL in any text: a StoreError, a server error):
    the French 404 page for a path, the 400 page for a query string."""
    if any(isinstance(v, str) and "\x00" in v for v in (request.view_args or {}).values()):
        abort(404)
    if any("\x00" in k or "\x00" in v for k, v in request.args.items(multi=True)):
        abort(400)


def _security_headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if request.endpoint != "static":
        response.headers["Cache-Control"] = "no-store"
        response.headers["Pragma"] = "no-cache"
    return response


def _error_pages(app: Flask) -> None:
    def render(code: int, detail: str | None = None) -> tuple[str, int]:
        title, text = ERROR_TEXTS.get(code) or ERROR_TEXTS[500 if code >= 500 else 400]
        return render_template("error.html", code=code, title=title, text=detail or text), code

    def on_http(exc: HTTPException) -> tuple[str, int] | HTTPException:
        code = exc.code or 500
        if code < 400:
            return exc
        return render(code)  # its own code (416, 431...), with the 400 page's text

    def on_csrf(_exc: CSRFError) -> tuple[str, int]:
        return render(
            400,
            "Le formulaire a expiré ou n'a pas été envoyé depuis cette application ; rien n'a "
            "été enregistré. Rechargez la page et recommencez.",
        )

    def on_internal(_exc: Exception) -> tuple[str, int]:
        return render(500)

    app.register_error_handler(CSRFError, on_csrf)
    app.register_error_handler(HTTPException, on_http)
    app.register_error_handler(500, on_internal)
