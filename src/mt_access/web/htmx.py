"""Progressive enhancement of the coordinator's pages with htmx (shipped in
``static/htmx/``, no CDN).

Every page works without JavaScript; with it, htmx (configured by :data:`HTMX_CONFIG`: no
eval, no inline script or style, nothing kept in the browser's storage) asks the *same
routes* with the ``HX-Request`` header, and they answer with a fragment of the page:

* the list of requests: its filters, sort and pages update the list in place, the address
  pushed (``HX-Push-Url``) so that the back button works;
* the dashboard: refreshed every :data:`REFRESH_SECONDS` seconds (Flask setting
  ``DASHBOARD_REFRESH_SECONDS``); an unchanged dashboard answers 204 (nothing swapped);
* a request's lifecycle actions: the state, the actions and the history swapped in place
  (the stale-page message kept), the CSRF token sent in the ``X-CSRFToken`` header too.

A view picks its template with :func:`page_or_fragment`; :func:`install` adds, after each
request, ``Vary: HX-Request`` and, for an htmx request that got a whole page instead of a
fragment (the login page after the session expired, an error page), what makes htmx show it
as a page. The dashboard's periodic refresh does not extend the session (:class:`_Session`):
an unattended dashboard is logged out as any other page.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, Final
from urllib.parse import quote

from flask import Flask, Response, current_app, g, request, url_for
from flask.sessions import SecureCookieSessionInterface, SessionMixin

__all__ = [
    "BACKGROUND_TRIGGERS",
    "HTMX_CONFIG",
    "REFRESH_SECONDS",
    "REFRESH_SETTING",
    "install",
    "is_fragment_request",
    "page_or_fragment",
    "push_url",
    "query_values",
    "refresh_seconds",
    "unchanged",
]

HTMX_CONFIG: Final[dict[str, Any]] = {
    "allowEval": False,  # no eval/new Function: the CSP has no 'unsafe-eval'
    "allowScriptTags": False,  # a fragment's <script> is never run
    "includeIndicatorStyles": False,  # no <style> injected: the CSP has no inline style
    # nor copied: an element's style set by a script (CSSOM) is not set again as an attribute
    "attributesToSettle": ["class", "width", "height"],
    "historyCacheSize": 0,  # no page snapshot (patient data) kept in sessionStorage
    "refreshOnHistoryMiss": True,  # back/forward reload the page from the server
    "historyRestoreAsHxRequest": False,
    "selfRequestsOnly": True,
    "scrollIntoViewOnBoost": False,
    # Swap every answer but 204: a form's errors (400) are a fragment to show in place; a
    # whole page (error, login) is sent elsewhere by the headers of :func:`_after_request`.
    "responseHandling": [{"code": "204", "swap": False}, {"code": "...", "swap": True}],
}
"""htmx's settings, in the ``htmx-config`` meta tag of ``base.html``."""

REFRESH_SETTING = "DASHBOARD_REFRESH_SECONDS"
"""The Flask setting for the dashboard's refresh period, in seconds."""

REFRESH_SECONDS = 30
"""The dashboard's refresh period by default."""

BACKGROUND_TRIGGERS = frozenset({"tableau-de-bord-suivi"})
"""Ids of the elements whose requests are made by the page itself, not by the person (the
dashboard's periodic refresh): they do not extend the session."""


def is_fragment_request() -> bool:
    """An htmx request (``HX-Request: true``) that wants a fragment (not a history restore,
    which wants the whole page)."""
    return (
        request.headers.get("HX-Request") == "true"
        and request.headers.get("HX-History-Restore-Request") != "true"
    )


def page_or_fragment(page: str, fragment: str) -> str:
    """The template to render: ``fragment`` for an htmx request, else ``page``. The
    response then varies on ``HX-Request``; templates see ``htmx_fragment`` (true when
    rendering the fragment alone)."""
    g.htmx_varies = True
    if is_fragment_request():
        g.htmx_fragment = True
        return fragment
    return page


def push_url() -> None:
    """Have htmx push this request's address, without its empty parameters (the list's
    filters left blank), so that the back button comes back to it."""
    values: dict[str, Any] = dict(request.view_args or {})
    values.update((k, v) for k, v in query_values(request.args.items()).items() if k not in values)
    g.htmx_push = url_for(str(request.endpoint), **values)


def query_values(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """The query parameters ``pairs`` that ``url_for`` may take back as ``**values``: the
    non-empty ones, without ``endpoint`` and the names starting with ``_`` (``_method``,
    ``_external``, ``_anchor``... are ``url_for``'s own: ``?endpoint=x`` or
    ``?_method=POST`` in an address made a server error)."""
    return {k: v for k, v in pairs if v and k != "endpoint" and not k.startswith("_")}


def unchanged(key: str) -> bool:
    """An htmx refresh whose page was drawn from the data ``key`` (its ``version``
    parameter): nothing to redraw."""
    return is_fragment_request() and request.args.get("version") == key


def refresh_seconds() -> int:
    """The dashboard's refresh period (:data:`REFRESH_SETTING`)."""
    return max(int(current_app.config.get(REFRESH_SETTING, REFRESH_SECONDS)), 1)


def install(app: Flask) -> None:
    """Add the template globals, the response headers and the session rule of htmx."""
    app.session_interface = _Session()
    app.after_request(_after_request)
    config = json.dumps(HTMX_CONFIG, separators=(",", ":"))
    app.context_processor(
        lambda: {"htmx_config": config, "htmx_fragment": bool(g.get("htmx_fragment"))}
    )


def _after_request(response: Response) -> Response:
    if g.get("htmx_varies"):
        response.vary.add("HX-Request")
    if request.headers.get("HX-Request") != "true":
        return response
    if g.get("htmx_fragment") and response.status_code < 500:  # (500: the error page)
        if g.get("htmx_push"):
            response.headers["HX-Push-Url"] = g.htmx_push
        return response
    if response.status_code in (204, 301, 302, 303, 307, 308):
        return response  # nothing to show, or followed by the browser (then seen here)
    if response.mimetype != "text/html":
        return response
    if request.method == "GET":
        # A whole page (the login page, an error page): open it as a page.
        response.headers["HX-Redirect"] = _this_address()
    else:
        # A whole page answering a form (CSRF refused, 403, 500): shown as the page.
        response.headers["HX-Retarget"] = "body"
        response.headers["HX-Reswap"] = "innerHTML show:window:top"
    return response


def _this_address() -> str:
    """This request's address as a header holds it: the path percent-encoded again (decoded,
    « /demandes/%0A » holds a newline, which a header refuses: a server error; and a header
    holds Latin-1 only), the query string as it was sent."""
    path = quote(request.path, safe="/")
    query = request.query_string.decode("latin-1")
    return f"{path}?{query}" if query else path


class _Session(SecureCookieSessionInterface):
    """Flask's signed cookie session, not renewed by a request the page makes by itself
    (:data:`BACKGROUND_TRIGGERS`): the session's lifetime counts from the person's last
    action, not from the dashboard's last refresh."""

    def should_set_cookie(self, app: Flask, session: SessionMixin) -> bool:
        if (
            request.headers.get("HX-Request") == "true"
            and request.headers.get("HX-Trigger") in BACKGROUND_TRIGGERS
        ):
            return bool(session.modified)
        return bool(super().should_set_cookie(app, session))
