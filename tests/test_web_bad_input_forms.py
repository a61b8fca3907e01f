"""Bad input in otherwise good forms: every form of the pages (a request in each state, a
GP's page, a new GP, the accounts, a GP's link, the month's run, the GP portal) read from
the page as a browser would fill it, then sent with one field bad (empty, 100 KB, negative,
huge, a bad date, an unknown choice, ``../``...). No answer is a server error, each is
French, a refusal records nothing. Generated data only."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("flask")
pytest.importorskip("flask_wtf")
pytest.importorskip("argon2")

from flask import Flask
from flask.testing import FlaskClient

from mt_access.lifecycle import RequestState
from mt_access.store.sqlite import SQLiteStore
from mt_access.web.portal_links import issue_link
from web_support import Clock, build_register, clock, login, make_app, open_store, text
from web_sweep_support import check_answer

__all__ = ["clock"]

BAD = ("", "x" * 100_000, "-1", "0", "99999999999999999999999", "2026-13-45", "31/02/2026",
       "abc", "1e400", "nan", "²", "inconnu", "../x", " ", "a\x00b")  # fmt: skip


class _Forms(HTMLParser):
    """The POST forms of a page: their action and the values a browser would send."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[tuple[str, dict[str, str]]] = []
        self._fields: dict[str, str] | None = None
        self._select: str | None = None

    def handle_starttag(self, tag: str, attributes: list[tuple[str, str | None]]) -> None:
        found = {k: v or "" for k, v in attributes}
        name = found.get("name", "")
        if tag == "form" and found.get("method", "").lower() == "post":
            self._fields = {}
            self.forms.append((found.get("action", ""), self._fields))
        elif self._fields is None or (not name and tag != "option"):
            return
        elif tag == "input" and found.get("type") in ("checkbox", "radio"):
            self._fields.setdefault(name, found.get("value") or "y")
        elif tag == "input" and found.get("type") != "file":
            self._fields[name] = found.get("value", "")
        elif tag == "textarea":
            self._fields[name] = ""
        elif tag == "select":
            self._select = name
            self._fields[name] = ""
        elif tag == "option" and self._select and not self._fields[self._select]:
            self._fields[self._select] = found.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._fields = None
        elif tag == "select":
            self._select = None


def _forms(client: FlaskClient, page: str) -> dict[str, dict[str, str]]:
    parser = _Forms()
    parser.feed(text(client.get(page)))
    return {action: fields for action, fields in parser.forms if action != "/deconnexion"}


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("formulaires") / "modele.sqlite"
    build_register(path, requests_per_month=8)
    return path


@pytest.fixture
def setting(template: Path, tmp_path: Path, clock: Clock) -> Iterator[tuple[Flask, SQLiteStore]]:
    path = tmp_path / "registre.sqlite"
    shutil.copy(template, path)
    app = make_app(path, clock)
    store = open_store(path)
    yield app, store
    store.close()


def _send(client: FlaskClient, store: SQLiteStore, url: str, data: dict[str, Any]) -> None:
    before = store.data_version()
    response = client.post(url, data=data)
    where = f"{url} {[(k, str(v)[:20]) for k, v in data.items() if k != 'csrf_token']}"
    check_answer(response, where)
    if response.status_code >= 400:
        assert store.data_version() == before, where


def _one_bad_field(client: FlaskClient, store: SQLiteStore, page: str) -> int:
    """Each form of ``page``, each field in turn bad (the page read again before each send:
    its step and choices are the current ones); the number of forms sent."""
    sent = 0
    for action, fields in _forms(client, page).items():
        for name in [n for n in fields if not n.endswith("csrf_token") and n != "etape"]:
            for value in BAD:
                current = _forms(client, page).get(action)
                if current is None:  # the form went with the request's state
                    break
                _send(client, store, action, {**current, name: value})
                sent += 1
    return sent


@pytest.mark.slow
def test_every_form_of_the_coordinators_pages_with_one_bad_field(
    setting: tuple[Flask, SQLiteStore],
) -> None:
    app, store = setting
    pages = ["/medecins/ajouter", "/admin/comptes", "/appariement"]
    for state in RequestState:
        pages += [f"/demandes/{s.id}" for s in store.summaries([state])][:1]
    pages += [f"/medecins/{p.id}" for p in store.physicians()[:2]]
    pages += [f"/medecins/{p.id}/lien" for p in store.physicians()[:1]]
    with app.test_client() as client:
        login(client, "alice")
        sent = sum(_one_bad_field(client, store, page) for page in pages)
        assert client.get("/").status_code == 200  # still logged in: the forms were sent
    assert sent > 200


@pytest.mark.slow
def test_every_form_of_the_gp_portal_with_one_bad_field(
    setting: tuple[Flask, SQLiteStore], clock: Clock
) -> None:
    app, store = setting
    proposed = next(iter(store.summaries([RequestState.PROPOSED])))
    secret = app.config["SECRET_KEY"]
    token = issue_link(store, secret, proposed.proposed_to[0], actor="cli:tests", days=30,
                       clock=clock)  # fmt: skip
    with app.test_client() as client:
        assert _one_bad_field(client, store, f"/medecin/{token}") > 10
