"""Text no one types, refused by the forms before anything is recorded: control characters
(NUL, escape sequences) in any text field of the coordinators' pages and of the GP portal,
and a GP identifier that could not be the address of the GP's page (« / », « .. »). Each
refusal is a French message next to the field (or in the portal's message), nothing is
recorded. Generated data only."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("flask")
pytest.importorskip("flask_wtf")
pytest.importorskip("argon2")

from flask.testing import FlaskClient

from mt_access.loading import load_policy
from mt_access.web.forms import CONTROL_MESSAGE
from portal_support import answer, app_over, gp_register, link, proposed
from web_support import (
    Clock,
    clock,
    csrf_token,
    login,
    make_app,
    open_store,
    register_file,
    register_template,
    text,
)

__all__ = ["clock", "register_file", "register_template"]

_STEP = re.compile(r'name="etape" type="hidden" value="([^"]+)"')
CONTROLS = ("a\x00b", "\x1b[31mrouge", "cloche\x07", "c1\x85")


@pytest.fixture
def client(register_file: Path, clock: Clock) -> Iterator[FlaskClient]:
    with make_app(register_file, clock).test_client() as made:
        login(made, "claire")
        yield made


def _plain(response: object) -> str:
    return text(response).replace("&#39;", "'")


def _gp(path: Path) -> str:
    with open_store(path) as store:
        return store.physicians()[0].id


def _contact(path: Path, pid: str) -> object:
    with open_store(path) as store:
        found = store.get_physician(pid)
        assert found is not None
        return found.contact


@pytest.mark.parametrize("field", ["adresse", "cabinet", "notes"])
def test_control_characters_in_a_gps_contact_are_refused_next_to_the_field(
    client: FlaskClient, register_file: Path, field: str
) -> None:
    pid = _gp(register_file)
    url = f"/medecins/{pid}"
    before = _contact(register_file, pid)
    for value in CONTROLS:
        page = text(client.get(url))
        step = _STEP.search(page)
        assert step is not None
        data = {"csrf_token": csrf_token(client, url), "etape": step.group(1), field: value}
        response = client.post(f"{url}/coordonnees", data=data)
        assert response.status_code == 400, (field, value)
        assert CONTROL_MESSAGE in _plain(response)
        assert _contact(register_file, pid) == before
    page = text(client.get(url))
    step = _STEP.search(page)
    assert step is not None
    data = {"csrf_token": csrf_token(client, url), "etape": step.group(1),
            field: "ligne 1\r\nligne 2\tfin"}  # fmt: skip
    assert client.post(f"{url}/coordonnees", data=data).status_code == 303  # tab, line breaks


@pytest.mark.parametrize(
    ("field", "value"),
    [("identifiant", "MG\x00"), ("nom", "Dr \x1b[31mRouge"), ("rpps", "1\x002")],
)
def test_control_characters_in_a_new_gp_are_refused(
    client: FlaskClient, register_file: Path, field: str, value: str
) -> None:
    data = {"identifiant": "MG-NOUVEAU", "nom": "Dr Nouveau", "commune": "Voiron", field: value}
    data["csrf_token"] = csrf_token(client, "/medecins/ajouter")
    with open_store(register_file) as store:
        before = store.data_version()
    response = client.post("/medecins/ajouter", data=data)
    assert response.status_code == 400
    assert CONTROL_MESSAGE in _plain(response)
    with open_store(register_file) as store:
        assert store.data_version() == before


@pytest.mark.parametrize("identifier", ["../x", "a/b", "..", ".", "a\\b"])
def test_a_gp_identifier_that_cannot_be_an_address_is_refused(
    client: FlaskClient, register_file: Path, identifier: str
) -> None:
    # /medecins/<identifiant>: a GP « ../x » was recorded, their page out of reach
    data = {"identifiant": identifier, "nom": "Dr Nouveau", "commune": "Voiron",
            "csrf_token": csrf_token(client, "/medecins/ajouter")}  # fmt: skip
    response = client.post("/medecins/ajouter", data=data)
    assert response.status_code == 400
    assert "L'identifiant ne peut pas contenir « / »" in _plain(response)
    with open_store(register_file) as store:
        assert store.get_physician(identifier) is None


def test_control_characters_in_a_gps_reason_on_the_portal_are_refused() -> None:
    policy = load_policy("voironnais")
    register = gp_register(policy)
    rid = proposed(register, "A", "MG1")
    store = register.store
    app = app_over(store, policy)
    url = link(store, "MG1")
    with app.test_client() as gp:
        step = len(register.file(rid).history)
        for value in CONTROLS:
            response = answer(gp, url, rid, step, "refuse", value)
            assert response.status_code == 303
            page = _plain(gp.get(url))
            assert CONTROL_MESSAGE in page
            assert len(register.file(rid).history) == step  # nothing recorded
        assert answer(gp, url, rid, step, "refuse", "Patientèle\ncomplète").status_code == 303
        assert len(register.file(rid).history) == step + 1
