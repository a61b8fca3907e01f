"""What the bad-input sweeps of the web application share (tests/test_web_bad_input_*.py):
the checks every answer passes (no server error, a French page), the paths of every URL rule
filled with good or bad values, the bad values sent. Generated data only."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

pytest.importorskip("flask")
pytest.importorskip("flask_wtf")

from flask import Flask
from werkzeug.routing import Rule

ENGLISH = (
    "Bad Request",
    "Method Not Allowed",
    "Not Found",
    "Internal Server Error",
    "Forbidden",
    "Unauthorized",
    "Request Entity Too Large",
    "Traceback",
    "The requested URL",
    "The browser (or proxy)",
    "The server could not",
)
"""Werkzeug's English error pages and Python's tracebacks: never shown to a user."""

BAD_SEGMENTS = (
    "INCONNUE",
    "9" * 40,
    "é€😀",
    "%00",
    "a%00b",
    "..%2F..%2Fetc",
    "%2e%2e",
    "%0A",
    "a%0D%0Ab",
    "%E2%80%A8",
    "%20",
    "x" * 3000,
    "%FF%FE",
    "%3Cscript%3E",
    "²",
)
"""Bad values of a path's text segment (a request id, a GP id, an action...)."""

BAD_NUMBERS = ("0", "99999999999999999999999999", "0001")
"""Bad values of a path's ``<int:...>`` segment (a negative one does not match the rule)."""

BAD_VALUES = (
    "",
    "x" * 100_000,
    "a\x00b",
    "\x01\x02\x1b[31m\x7f",
    "-1",
    "99999999999999999999999",
    "2026-13-45",
    "31/02/2026",
    "abc",
    "1e400",
    "nan",
    "²",
    "١٢",
    "🙂" * 10,
    "../../etc/passwd",
)
"""Bad values of a form field or a query parameter."""

QUERIES: tuple[Mapping[str, str | list[str]], ...] = (
    {"debut": "-1"},
    {"debut": "abc"},
    {"debut": "²"},
    {"debut": "99999999999999999999999"},
    {"page": "99999999999999999999"},
    {"page": "-5"},
    {"page": "abc"},
    {"page": "²"},
    {"page": ["1", "2"]},
    {"tri": "inconnu"},
    {"niveau": "inconnu"},
    {"niveau": ["a", "b"]},
    {"etat": "inconnu"},
    {"urgent": "peut-etre"},
    {"attente_min": "99999999999999999999"},
    {"attente_min": "abc"},
    {"avant": "99999999999999999999"},
    {"avant": "-1"},
    {"avant": "²"},
    {"mois": "2026-13"},
    {"mois": "abc"},
    {"date": "2026-13-45"},
    {"du": "2026-13-45", "au": "0000-00-00"},
    {"format": "inconnu"},
    {"fond": "inconnu"},
    {"medecin": "INCONNU"},
    {"medecin": "\x00"},
    {"version": "x" * 10_000},
    {"suivant": "//ailleurs.example"},
    {"suivant": "/demandes\nx"},
    {"objet": "\x00"},
    {"commune": "\x00"},
    {"id": "\x00" * 70},
    {"actualiser": "\x00"},
    {"contenu": "inconnu", "format": "csv"},
    {"contenu": ["demandes", "x"], "format": "xlsx"},
    {"mois": "2026-03", "nominatif": "\x00"},
    {"mois": "1900-01"},
    {"mois": "9999-12"},
    {"endpoint": "x"},
    {"_method": "POST"},
    {"_external": "1", "_scheme": "javascript", "_anchor": "x"},
    {"rid": "INCONNUE", "values": "x"},
)
"""Query strings with bad values, sent to every page."""


def check_answer(response: Any, where: str) -> None:
    """No server error; headers a server can send; a refusal (4xx) as a plain French page;
    no traceback, no English page of Werkzeug."""
    assert response.status_code < 500, (where, response.status_code)
    for name, value in response.headers.items():  # what a server can send (Latin-1)
        value.encode("latin-1")
        assert "\n" not in value, (where, name)
    if response.direct_passthrough:  # a file sent as a download
        return
    body = response.get_data().decode("utf-8", "replace")
    if response.status_code >= 400 and response.mimetype == "text/html":
        assert '<html lang="fr">' in body, (where, response.status_code, body[:200])
    for english in ENGLISH:
        assert english not in body, (where, response.status_code, english)


def rules(app: Flask) -> list[Rule]:
    """The application's URL rules, static files apart, in a stable order."""
    return sorted(
        (r for r in app.url_map.iter_rules() if r.endpoint != "static"),
        key=lambda r: (r.rule, r.endpoint),
    )


def fill(rule: Rule, values: Mapping[str, str]) -> str:
    """The rule's path with ``values`` for its arguments."""
    path = rule.rule
    for name in rule.arguments:
        path = re.sub(rf"<(?:\w+:)?{name}>", values[name], path)
    return path


def bad_paths(rule: Rule, good: Mapping[str, str]) -> Iterator[str]:
    """The rule's path with good values, then with each argument bad in turn."""
    yield fill(rule, good)
    for name in sorted(rule.arguments):
        integer = f"<int:{name}>" in rule.rule
        for value in BAD_NUMBERS if integer else BAD_SEGMENTS:
            yield fill(rule, {**good, name: value})


def methods(rule: Rule) -> list[str]:
    """The methods the rule takes (HEAD and OPTIONS apart) and two it refuses."""
    taken = sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})
    return taken + [m for m in ("PUT", "DELETE") if m not in taken]
