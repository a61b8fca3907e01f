"""What the tests of a request's page (test_web_requests.py, test_web_request_answers.py)
share: the page's forms (CSRF token and step), posting one of its actions, the messages shown,
the request's file and its steps as stored, the audit entries of its actions, and an
application over a register in memory. Generated data only."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("flask")
pytest.importorskip("flask_wtf")
pytest.importorskip("argon2")

from flask import Flask
from flask.testing import FlaskClient

from mt_access.lifecycle import RequestFile, RequestState
from mt_access.policy import Policy
from mt_access.store.base import AuditRecord, Store
from mt_access.web.app import create_app
from web_support import FAST_HASHER, TODAY, csrf_token, open_store, text

_STEP = re.compile(r'id="(?P<form>[\w-]+)-etape" name="etape" type="hidden" value="(\d+)"')


def request_form(client: FlaskClient, rid: str) -> tuple[str, str, str]:
    """The request's page as text, a CSRF token and the step of the page's forms."""
    page = text(client.get(f"/demandes/{rid}"))
    token = csrf_token(client, f"/demandes/{rid}")
    step = _STEP.search(page)
    assert step is not None, page[:2000]
    return page, token, step.group(2)


def post_action(client: FlaskClient, rid: str, action: str, **data: Any) -> Any:
    """``action`` posted from the request's page as it is now (its token and step)."""
    _, token, step = request_form(client, rid)
    data.setdefault("etape", step)
    return client.post(f"/demandes/{rid}/{action}", data={"csrf_token": token, **data})


def messages(page: Any) -> str:
    """The flashed messages of a page, apostrophes unescaped."""
    found = re.findall(r'class="message message-\w+"[^>]*>([^<]*)<', text(page))
    return " ".join(found).replace("&#39;", "'")


def first_in(path: Path, state: RequestState) -> str:
    """The id of a request of the register file in this state."""
    with open_store(path) as store:
        return next(s.id for s in store.summaries([state]))


def stored_file(path: Path, rid: str) -> RequestFile:
    """The request's file as the register file holds it now."""
    with open_store(path) as store:
        file = store.get_file(rid)
    assert file is not None
    return file


def steps(path: Path, rid: str) -> int:
    """How many steps (transitions) the request has in the register file."""
    with open_store(path) as store:
        return len(store.transitions(rid))


def request_audits(store: Store, rid: str, action: str | None = None) -> list[AuditRecord]:
    """The audit entries of the request's page actions (``demande.*``, or only ``action``)
    about ``rid``."""
    return [
        r
        for r in store.audit_entries(subject=rid)
        if (r.action == action if action else r.action.startswith("demande."))
    ]


def memory_app(store: Store, policy: Policy) -> Flask:
    """The application over a register in memory, on :data:`TODAY`."""
    return create_app(
        store,
        policy,
        config={"SECRET_KEY": "s" * 40, "MT_ACCESS_HASHER": FAST_HASHER,
                "MT_ACCESS_TODAY": lambda: TODAY},
    )  # fmt: skip
