"""Text no one types, refused by the forms before anything is recorded: control characters
(NUL, escape sequences) in any text field of the coordinators' pages and of the GP portal,
and a GP identifier that could not be the address of the GP's page (« / », « .. »). Each
refusal is a French message next to the field (or in the portal's message), nothing is
recorded. Generated data only."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("flask")
pytest.importorskip("flask_wtf")
pytest.importorskip("argon2")

from flask.testing import FlaskClient

from mt_access.export import write_rows
from mt_access.gp_file import GP_COLUMNS
from mt_access.loading import load_policy
from mt_access.rpps import rpps_key
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
    assert "Identifiant refusé : « / » et « \\ » interdits" in _plain(response)
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


# ------------------------------------------------------------------------------------------
# The corrections of a rejected row of an import (cells sent outside WTForms)

_REQUESTS = (
    "Date de réception;Nom;Prénom;Date de naissance;Commune;Consentement\n"
    "02/03/2026;Fictiftest;Alice;12/04/1950;Voiron;Oui\n"
    "03/03/2026;;Denis;01/01/1990;Voiron;Oui\n"
)
"""Row 3 rejected: no last name."""


def _upload(client: FlaskClient, base: str, name: str, data: bytes) -> None:
    form = {"csrf_token": csrf_token(client, base), "correspondance": "generique",
            "fichier": (io.BytesIO(data), name)}  # fmt: skip
    assert client.post(base, data=form, content_type="multipart/form-data").status_code == 303
    assert client.get(base + "apercu").status_code == 200


def test_control_characters_in_a_corrected_request_row_are_refused(
    client: FlaskClient, register_file: Path
) -> None:
    _upload(client, "/import/", "formulaire.csv", _REQUESTS.encode("utf-8"))
    page = text(client.get("/import/lignes/3"))
    assert 'name="colonne-0"' in page
    with open_store(register_file) as store:
        before = store.data_version()
    for value in CONTROLS:
        data = {"csrf_token": csrf_token(client, "/import/apercu"), "colonne-0": value}
        response = client.post("/import/lignes/3", data=data)
        assert response.status_code == 400, value
        assert CONTROL_MESSAGE in _plain(response)
    with open_store(register_file) as store:
        assert store.data_version() == before
    data = {"csrf_token": csrf_token(client, "/import/apercu"), "colonne-0": "Fictiftest"}
    assert client.post("/import/lignes/3", data=data).status_code == 303


def test_control_characters_in_a_corrected_gp_row_are_refused(
    client: FlaskClient, tmp_path: Path
) -> None:
    headings = [c.heading for c in GP_COLUMNS]
    rows = [{"RPPS": "1000000000" + rpps_key("1000000000"), "Commune d'exercice": "Voiron"}]
    path = write_rows([{h: r.get(h, "") for h in headings} for r in rows], headings,
                      tmp_path / "medecins.xlsx")  # fmt: skip
    base = "/medecins/importer/"
    _upload(client, base, "medecins.xlsx", path.read_bytes())
    page = text(client.get(base + "lignes/2"))
    field = "champ-last_name"  # the cell at fault (empty): the file's reader takes any text
    assert f'name="{field}"' in page
    step = _STEP.search(page)
    assert step is not None
    for value in CONTROLS:
        data = {"csrf_token": csrf_token(client, base + "apercu"), "etape": step.group(1),
                field: value}  # fmt: skip
        response = client.post(base + "lignes/2", data=data)
        assert response.status_code == 400, value
        assert CONTROL_MESSAGE in _plain(response)
    data = {"csrf_token": csrf_token(client, base + "apercu"), "etape": step.group(1),
            field: "Navigateur"}  # fmt: skip
    assert client.post(base + "lignes/2", data=data).status_code == 303
