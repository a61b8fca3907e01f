"""« Importer des médecins » (the web page over ``mt-access medecin importer``): the checks of
the file sent, the preview (the command line's counts, no contact cell shown), the
confirmation (what the command line records, audited, all GPs or none), a stale preview, the
rejections report, the permission matrix; and the date of the joining and withdrawal forms
of a GP's page. Generated data only."""

from __future__ import annotations

import io
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("flask")
pytest.importorskip("flask_wtf")
pytest.importorskip("argon2")

from flask.testing import FlaskClient

from mt_access.cli import EXIT_OK, main
from mt_access.export import write_rows
from mt_access.gp_file import GP_COLUMNS
from mt_access.model import Physician, PhysicianStatus
from mt_access.rpps import rpps_key
from mt_access.web.gp_forms import gp_step
from mt_access.web.gp_import import STALE_IMPORT_MESSAGE
from web_support import (
    TODAY,
    app,
    client,
    clock,
    csrf_token,
    login,
    open_store,
    register_file,
    register_template,
    text,
)

__all__ = ["app", "client", "clock", "register_file", "register_template"]

R1 = "1000000000" + rpps_key("1000000000")
R2 = "1012345678" + rpps_key("1012345678")
HEADINGS = [c.heading for c in GP_COLUMNS]
ROWS = [
    {"RPPS": R1, "Nom": "Navigateur", "Prénom": "Jean", "Commune d'exercice": "Voiron",
     "Places par mois": "3", "Date d'entrée": "02/03/2026", "Téléphone": "0476123456"},
    {"RPPS": R2, "Nom": "Petit", "Commune d'exercice": "38565"},
    {"RPPS": "10000000001", "Nom": "Faux", "Commune d'exercice": "Voirno",
     "MSSanté": "secret-non-valide"},
    {"RPPS": R2, "Nom": "Petit", "Commune d'exercice": "Voreppe"},
]  # fmt: skip
"""Two new GPs (row 2 joins on 02/03/2026), a bad row (RPPS key, commune), a duplicate."""


def _file(tmp_path: Path, rows: list[dict[str, str]] = ROWS, name: str = "medecins.xlsx") -> bytes:
    path = write_rows([{h: r.get(h, "") for h in HEADINGS} for r in rows], HEADINGS,
                      tmp_path / name)  # fmt: skip
    return path.read_bytes()


def _upload(client: FlaskClient, data: bytes, name: str = "medecins.xlsx") -> Any:
    token = csrf_token(client, "/medecins/importer/")
    return client.post(
        "/medecins/importer/",
        data={"csrf_token": token, "fichier": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


_STEP = re.compile(r'id="etape" name="etape" type="hidden" value="([^"]+)"')


def _step(client: FlaskClient) -> str:
    found = _STEP.search(text(client.get("/medecins/importer/apercu")))
    assert found, "no step on the preview"
    return found.group(1)


def _confirm(client: FlaskClient, step: str | None = None, **extra: str) -> Any:
    step = _step(client) if step is None else step
    token = csrf_token(client, "/medecins/importer/apercu")
    return client.post(
        "/medecins/importer/confirmer", data={"csrf_token": token, "etape": step, **extra}
    )


def _audited(path: Path, action: str) -> list[str]:
    with open_store(path) as store:
        return [r.detail for r in store.audit_entries() if r.action == action]


def test_the_gp_list_links_to_the_import_for_coordinators(client: FlaskClient) -> None:
    login(client, "claire")
    assert 'href="/medecins/importer/"' in text(client.get("/medecins"))
    page = text(client.get("/medecins/importer/"))
    assert "Importer des médecins" in page
    assert "Commune d&#39;exercice" in page  # the columns are documented on the page
    client.post("/deconnexion", data={"csrf_token": csrf_token(client, "/")})
    login(client, "lea")
    assert "/medecins/importer/" not in text(client.get("/medecins"))


def test_preview_confirm_and_again(
    client: FlaskClient, register_file: Path, tmp_path: Path
) -> None:
    twin = tmp_path / "twin.sqlite"
    shutil.copy(register_file, twin)
    login(client, "claire")
    data = _file(tmp_path)
    assert _upload(client, data).status_code == 303
    page = text(client.get("/medecins/importer/apercu"))
    assert "Aperçu : rien n'est encore enregistré." in page
    assert "Dr Jean Navigateur" in page
    assert "vouliez-vous dire « Voiron »" in page
    assert "doublon de la ligne 3" in page
    assert "secret-non-valide" not in page
    assert "04 76 12 34 56" not in page  # contact details are not shown in the preview
    with open_store(register_file) as store:
        assert store.get_physician(R1) is None

    response = _confirm(client)
    assert response.status_code == 303
    page = text(client.get("/medecins/importer/apercu"))
    assert "Import confirmé." in page
    with open_store(register_file) as store:
        jean = store.get_physician(R1)
        assert store.get_physician(R2) is not None
    assert jean is not None
    assert jean.status_on(TODAY) is PhysicianStatus.ACTIVE
    assert jean.contact.phone == "04 76 12 34 56"
    assert _audited(register_file, "medecin.importer") == [
        "2 médecin(s) ajouté(s), 0 mis à jour, 0 identique(s), 0 non mis à jour, "
        "2 ligne(s) non importée(s)"
    ]
    listed = text(client.get("/medecins"))
    assert f"Dr Jean Navigateur ({R1})" in listed

    # the command line on a copy records the same GPs
    source = tmp_path / "medecins.xlsx"
    code = main(["medecin", "importer", str(source), "--registre", str(twin),
                 "--aujourdhui", TODAY.strftime("%d/%m/%Y")])  # fmt: skip
    assert code == EXIT_OK
    with open_store(twin) as cli_store, open_store(register_file) as web_store:
        assert cli_store.get_physician(R1) == web_store.get_physician(R1)
        assert cli_store.get_physician(R2) == web_store.get_physician(R2)

    # the same file again: nothing to import
    assert _upload(client, data).status_code == 303
    page = text(client.get("/medecins/importer/apercu"))
    assert "Médecins déjà enregistrés à l'identique" in page
    assert "Confirmer l'import" not in page


def test_a_stale_preview_records_nothing(
    client: FlaskClient, register_file: Path, tmp_path: Path
) -> None:
    login(client, "claire")
    _upload(client, _file(tmp_path))
    step = _step(client)
    with open_store(register_file) as store, store.transaction():
        store.put_physician(Physician(id=R2, name="Dr Petit", commune="38563"))  # meanwhile
    response = _confirm(client, step)
    assert response.status_code == 409
    assert STALE_IMPORT_MESSAGE.replace("'", "&#39;") in text(response)
    with open_store(register_file) as store:
        assert store.get_physician(R1) is None
    assert _audited(register_file, "medecin.importer") == []
    assert _confirm(client).status_code == 303  # the new preview's step
    with open_store(register_file) as store:
        assert store.get_physician(R1) is not None


def test_changed_gps_are_updated_when_ticked(
    client: FlaskClient, register_file: Path, tmp_path: Path
) -> None:
    login(client, "claire")
    with open_store(register_file) as store:
        mg002 = store.get_physician("MG002")
    assert mg002 is not None
    row = {"Identifiant": "MG002", "Nom": mg002.name, "Commune d'exercice": mg002.commune,
           "Cabinet": "Maison de santé du Test"}  # fmt: skip
    _upload(client, _file(tmp_path, [row]))
    page = text(client.get("/medecins/importer/apercu"))
    assert "modifiés dans le fichier" in page
    assert _confirm(client).status_code == 303
    with open_store(register_file) as store:
        assert store.get_physician("MG002") == mg002
    _upload(client, _file(tmp_path, [row]))
    assert _confirm(client, mettre_a_jour="y").status_code == 303
    with open_store(register_file) as store:
        updated = store.get_physician("MG002")
    assert updated is not None
    assert updated.contact.practice == "Maison de santé du Test"


def test_the_upload_is_checked(client: FlaskClient, tmp_path: Path) -> None:
    login(client, "claire")
    refused = _upload(client, b"%PDF-1.4 ...", "medecins.pdf")
    assert refused.status_code == 400
    assert "Type de fichier non accepté" in text(refused)
    fake = _upload(client, b"PK\x03\x04 not a workbook", "medecins.xlsx")
    assert fake.status_code == 400
    empty = _upload(client, b"", "medecins.csv")
    assert "Le fichier est vide." in text(empty)
    _upload(client, b"Nom;Ville\nMartin;Voiron\n", "medecins.csv")
    page = client.get("/medecins/importer/apercu", follow_redirects=True)
    assert "Import impossible" in text(page)
    assert "colonne(s) obligatoire(s) absente(s)" in text(page)
    assert str(tmp_path) not in text(page)


def test_the_rejections_report_downloads_and_is_audited(
    client: FlaskClient, register_file: Path, tmp_path: Path
) -> None:
    login(client, "claire")
    _upload(client, _file(tmp_path))
    response = client.get("/medecins/importer/rejets")
    assert response.status_code == 200
    content = response.get_data().decode("utf-8-sig")
    assert content.startswith("ligne;colonne;valeur;message")
    assert "Voirno" in content
    assert "secret-non-valide" not in content
    assert _audited(register_file, "medecin.importer.rejets")


ROLES = ("anonyme", "lecture", "coordinateur", "admin")


@pytest.mark.parametrize("role", ROLES)
def test_permission_matrix(
    client: FlaskClient, register_file: Path, tmp_path: Path, role: str
) -> None:
    if role != "anonyme":
        login(client, {"lecture": "lea", "coordinateur": "claire", "admin": "alice"}[role])
    page = client.get("/medecins/importer/")
    token = csrf_token(client, "/connexion" if role == "anonyme" else "/")
    sent = client.post(
        "/medecins/importer/",
        data={"csrf_token": token, "fichier": (io.BytesIO(_file(tmp_path)), "m.xlsx")},
        content_type="multipart/form-data",
    )
    confirmed = client.post(
        "/medecins/importer/confirmer", data={"csrf_token": token, "etape": "x"}
    )
    report = client.get("/medecins/importer/rejets")
    if role == "anonyme":
        assert page.status_code == 302
        assert page.headers["Location"].startswith("/connexion")
        assert {sent.status_code, confirmed.status_code, report.status_code} == {302}
    elif role == "lecture":
        assert {page.status_code, sent.status_code, confirmed.status_code} == {403}
        assert report.status_code == 403
    else:
        assert page.status_code == 200
        assert sent.status_code == 303
        assert confirmed.status_code == 409  # a wrong step: refused, nothing recorded
        assert report.status_code == 200
    with open_store(register_file) as store:
        assert store.get_physician(R1) is None


def test_a_confirmation_without_csrf_token_is_refused(
    client: FlaskClient, register_file: Path, tmp_path: Path
) -> None:
    login(client, "claire")
    _upload(client, _file(tmp_path))
    response = client.post("/medecins/importer/confirmer", data={"etape": _step(client)})
    assert response.status_code == 400
    with open_store(register_file) as store:
        assert store.get_physician(R1) is None


# --- the date of the joining and withdrawal forms


def _act(client: FlaskClient, path: Path, pid: str, action: str, **data: str) -> Any:
    with open_store(path) as store:
        physician = store.get_physician(pid)
        assert physician is not None
        step = gp_step(physician, store.ledger_entries())
    return client.post(
        f"/medecins/{pid}/{action}",
        data={"csrf_token": csrf_token(client, "/"), "etape": step, **data},
    )


def test_join_and_withdraw_take_a_date(client: FlaskClient, register_file: Path) -> None:
    login(client, "claire")
    with open_store(register_file) as store, store.transaction():
        store.put_physician(Physician(id="MG900", name="Dr Daté", commune="38563"))
    page = text(client.get("/medecins/MG900"))
    assert 'id="adherer-date"' in page
    assert f'value="{TODAY.isoformat()}"' in page  # today by default

    future = _act(
        client, register_file, "MG900", "adherer", date="2026-03-17", capacite="2", cabinet="y"
    )
    assert future.status_code == 400
    assert "postérieure à aujourd&#39;hui (16/03/2026)" in text(future)
    typo = _act(
        client, register_file, "MG900", "adherer", date="16 mars", capacite="2", cabinet="y"
    )
    assert "Date attendue au format jj/mm/aaaa." in text(typo)
    old = _act(
        client, register_file, "MG900", "adherer", date="1999-12-31", capacite="2", cabinet="y"
    )
    assert old.status_code == 400

    done = _act(
        client, register_file, "MG900", "adherer", date="01/02/2026", capacite="2", cabinet="y"
    )
    assert done.status_code == 303
    with open_store(register_file) as store:
        joined = store.get_physician("MG900")
    assert joined is not None
    assert joined.status_history[-1].on.isoformat() == "2026-02-01"

    before = _act(client, register_file, "MG900", "retirer", date="2026-01-15", confirmation="y")
    assert before.status_code == 303  # the register refuses a date before the joining
    with open_store(register_file) as store:
        still = store.get_physician("MG900")
    assert still is not None
    assert still.status_on(TODAY) is PhysicianStatus.ACTIVE

    left = _act(client, register_file, "MG900", "retirer", date="2026-03-01", confirmation="y")
    assert left.status_code == 303
    with open_store(register_file) as store:
        withdrawn = store.get_physician("MG900")
    assert withdrawn is not None
    assert withdrawn.status_history[-1].status is PhysicianStatus.WITHDRAWN
    assert withdrawn.status_history[-1].on.isoformat() == "2026-03-01"
