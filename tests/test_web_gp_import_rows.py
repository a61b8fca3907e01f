"""« Importer des médecins »: a rejected row corrected on the page before the confirmation
(French messages next to the field, nothing kept nor recorded until valid and confirmed,
CSRF, a stale or expired preview, a confirmed import, audit, no contact value shown) and the
mapping file of a CPTS's own headings sent with the file. Generated data only."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("flask")
pytest.importorskip("flask_wtf")
pytest.importorskip("argon2")

from flask import Flask
from flask.testing import FlaskClient

from mt_access.export import write_rows
from mt_access.gp_file import GP_COLUMNS
from mt_access.model import Physician
from mt_access.rpps import rpps_key
from mt_access.web.gp_import_rows import STALE_ROW_MESSAGE
from web_support import (
    Clock,
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
R3 = "1098765432" + rpps_key("1098765432")
R4 = "1044444444" + rpps_key("1044444444")
HEADINGS = [c.heading for c in GP_COLUMNS]
ROWS = [
    {"RPPS": R1, "Nom": "Navigateur", "Prénom": "Jean", "Commune d'exercice": "Voiron",
     "Places par mois": "3", "Date d'entrée": "02/03/2026"},
    {"RPPS": R2, "Nom": "Petit", "Commune d'exercice": "38565"},
    {"RPPS": "10000000001", "Nom": "Faux", "Commune d'exercice": "Voirno",
     "MSSanté": "secret-non-valide"},
    {"RPPS": R2, "Nom": "Petit", "Commune d'exercice": "Voreppe"},
]  # fmt: skip
"""Row 2 and 3 new GPs, row 4 rejected (RPPS key, commune, MSSanté), row 5 a duplicate."""

BASE = "/medecins/importer"


def _file(tmp_path: Path, rows: list[dict[str, str]], headings: list[str] = HEADINGS) -> bytes:
    path = write_rows([{h: r.get(h, "") for h in headings} for r in rows], headings,
                      tmp_path / "medecins.xlsx")  # fmt: skip
    return path.read_bytes()


def _upload(client: FlaskClient, data: bytes, mapping: tuple[bytes, str] | None = None) -> Any:
    form: dict[str, Any] = {
        "csrf_token": csrf_token(client, f"{BASE}/"),
        "fichier": (io.BytesIO(data), "medecins.xlsx"),
    }
    if mapping is not None:
        form["correspondance"] = (io.BytesIO(mapping[0]), mapping[1])
    return client.post(f"{BASE}/", data=form, content_type="multipart/form-data")


_STEP = re.compile(r'id="etape" name="etape" type="hidden" value="([^"]+)"')


def _step(page: str) -> str:
    found = _STEP.search(page)
    assert found, "no step on the page"
    return found.group(1)


def _correct(client: FlaskClient, number: int, step: str | None = None, **cells: str) -> Any:
    page = text(client.get(f"{BASE}/lignes/{number}"))
    data = {"csrf_token": csrf_token(client, f"{BASE}/apercu"), "etape": step or _step(page)}
    data.update({f"champ-{field}": value for field, value in cells.items()})
    return client.post(f"{BASE}/lignes/{number}", data=data)


def _confirm(client: FlaskClient) -> Any:
    page = text(client.get(f"{BASE}/apercu"))
    return client.post(
        f"{BASE}/confirmer",
        data={"csrf_token": csrf_token(client, f"{BASE}/apercu"), "etape": _step(page)},
    )


def _audited(path: Path, action: str) -> list[str]:
    with open_store(path) as store:
        return [r.detail for r in store.audit_entries() if r.action == action]


def _error(page: str, field: str) -> str:
    found = re.search(rf'<p class="error" id="champ-{field}-erreur">([^<]*)</p>', page)
    return "" if found is None else found.group(1)


def test_a_rejected_row_is_corrected_then_imported_with_the_others(
    client: FlaskClient, register_file: Path, tmp_path: Path
) -> None:
    login(client, "claire")
    _upload(client, _file(tmp_path, ROWS))
    preview = text(client.get(f"{BASE}/apercu"))
    assert f'href="{BASE}/lignes/4"' in preview
    assert f'href="{BASE}/lignes/5"' in preview  # the duplicate too

    form = client.get(f"{BASE}/lignes/4")
    page = text(form)
    assert form.status_code == 200
    assert 'value="10000000001"' in page
    assert 'value="Voirno"' in page
    assert "numéro RPPS attendu" in _error(page, "rpps")
    assert "vouliez-vous dire « Voiron »" in _error(page, "commune")
    assert 'name="champ-mssante" value=""' in page  # the contact cell at fault, empty
    assert "secret-non-valide" not in page
    assert 'name="champ-phone"' not in page  # a contact column not at fault: not shown
    assert _audited(register_file, "medecin.importer.ligne.afficher") == ["ligne 4"]

    half = _correct(client, 4, rpps="10000000002", commune="Voiron", mssante="")
    assert half.status_code == 400
    page = text(half)
    assert "numéro RPPS attendu" in _error(page, "rpps")  # next to its field
    assert _error(page, "commune") == ""
    assert 'value="Voiron"' in page  # what was typed is kept
    assert _audited(register_file, "medecin.importer.corriger") == []
    assert "Ligne(s) corrigée(s)" not in text(client.get(f"{BASE}/apercu"))

    done = _correct(client, 4, rpps=R3, commune="Voiron", mssante="")
    assert done.status_code == 303
    assert done.headers["Location"].endswith(f"{BASE}/apercu")
    preview = text(client.get(f"{BASE}/apercu"))
    assert "Ligne 4 corrigée : elle sera importée à la confirmation" in preview
    assert "Ligne(s) corrigée(s) sur cette page : 4." in preview
    assert "Dr Faux" in preview
    assert f'href="{BASE}/lignes/4"' not in preview
    assert _audited(register_file, "medecin.importer.corriger") == ["ligne 4"]
    report = client.get(f"{BASE}/rejets").get_data().decode("utf-8-sig")
    assert "Voirno" not in report  # the report is the corrected reading's
    with open_store(register_file) as store:
        assert store.get_physician(R3) is None  # nothing recorded before the confirmation

    assert _confirm(client).status_code == 303
    with open_store(register_file) as store:
        faux = store.get_physician(R3)
        assert store.get_physician(R1) is not None
    assert faux is not None
    assert faux.name == "Dr Faux"
    assert faux.commune == "38563"
    assert faux.contact.mssante == ""
    assert _audited(register_file, "medecin.importer") == [
        "3 médecin(s) ajouté(s), 0 mis à jour, 0 identique(s), 0 non mis à jour, "
        "1 ligne(s) non importée(s), 1 ligne(s) corrigée(s) sur la page"
    ]
    # after the confirmation a row is no longer corrected here
    late = client.post(
        f"{BASE}/lignes/5", data={"csrf_token": csrf_token(client, f"{BASE}/apercu")}
    )
    assert late.status_code == 303
    assert "L&#39;import est déjà confirmé" in text(client.get(f"{BASE}/apercu"))


def test_a_duplicate_row_is_corrected(
    client: FlaskClient, register_file: Path, tmp_path: Path
) -> None:
    login(client, "claire")
    _upload(client, _file(tmp_path, ROWS))
    page = text(client.get(f"{BASE}/lignes/5"))
    assert "doublon de la ligne 3" in page
    again = _correct(client, 5, rpps=R2, last_name="Petit", commune="Voreppe")
    assert again.status_code == 400
    assert "doublon de la ligne 3" in text(again)
    assert _correct(client, 5, rpps=R3, last_name="Autre", commune="Voreppe").status_code == 303
    preview = text(client.get(f"{BASE}/apercu"))
    assert "Dr Autre" in preview
    assert "doublon de la ligne 3" not in preview


def test_a_stale_correction_keeps_nothing(
    client: FlaskClient, register_file: Path, tmp_path: Path
) -> None:
    login(client, "claire")
    _upload(client, _file(tmp_path, ROWS))
    step = _step(text(client.get(f"{BASE}/lignes/4")))
    with open_store(register_file) as store, store.transaction():
        store.put_physician(Physician(id=R2, name="Dr Petit", commune="38563"))  # meanwhile
    stale = _correct(client, 4, step, rpps=R3, commune="Voiron", mssante="")
    assert stale.status_code == 409
    assert STALE_ROW_MESSAGE.replace("'", "&#39;") in text(stale)
    assert _audited(register_file, "medecin.importer.corriger") == []
    assert f'href="{BASE}/lignes/4"' in text(client.get(f"{BASE}/apercu"))

    # another correction meanwhile (another tab): the form's preview is stale too
    step = _step(text(client.get(f"{BASE}/lignes/4")))
    assert _correct(client, 5, rpps=R4, last_name="Autre", commune="Voreppe").status_code == 303
    assert _correct(client, 4, step, rpps=R3, commune="Voiron", mssante="").status_code == 409
    assert _audited(register_file, "medecin.importer.corriger") == ["ligne 5"]
    assert _correct(client, 4, rpps=R3, commune="Voiron", mssante="").status_code == 303


def test_the_correction_form_is_guarded(
    client: FlaskClient, register_file: Path, tmp_path: Path, clock: Clock
) -> None:
    login(client, "claire")
    _upload(client, _file(tmp_path, ROWS))
    step = _step(text(client.get(f"{BASE}/lignes/4")))
    no_token = client.post(f"{BASE}/lignes/4", data={"etape": step, "champ-rpps": R3})
    assert no_token.status_code == 400
    too_long = _correct(client, 4, rpps="1" * 1001, commune="Voiron")
    assert too_long.status_code == 400
    assert "1000 caractères au plus." in _error(text(too_long), "rpps")
    assert client.get(f"{BASE}/lignes/99").status_code == 404
    fine = client.get(f"{BASE}/lignes/2")  # a row without problem
    assert fine.status_code == 303
    assert "La ligne 2 n&#39;a pas de problème à corriger." in text(client.get(f"{BASE}/apercu"))
    clock.advance(hours=3)
    expired = client.post(
        f"{BASE}/lignes/4",
        data={"csrf_token": csrf_token(client, "/"), "etape": step, "champ-rpps": R3},
    )
    assert expired.status_code == 303
    assert expired.headers["Location"].endswith(f"{BASE}/")
    assert "envoyez le fichier à nouveau" in text(client.get(f"{BASE}/"))
    assert _audited(register_file, "medecin.importer.corriger") == []


@pytest.mark.parametrize("role", ["anonyme", "lecture"])
def test_only_coordinators_correct(
    client: FlaskClient, register_file: Path, tmp_path: Path, role: str
) -> None:
    if role == "lecture":
        login(client, "lea")
    page = client.get(f"{BASE}/lignes/4")
    token = csrf_token(client, "/connexion" if role == "anonyme" else "/")
    sent = client.post(f"{BASE}/lignes/4", data={"csrf_token": token, "champ-rpps": R3})
    expected = {302} if role == "anonyme" else {403}
    assert {page.status_code, sent.status_code} == expected


# --- the mapping file of a CPTS's own headings

OWN = ["N° praticien", "NOM", "Lieu d'exercice", "Commune", "Spécialité"]
MAPPING = """\
name: Tableau de la CPTS
fields:
  rpps: N° praticien
  last_name: NOM
  commune: Lieu d'exercice
ignore: [Commune, Spécialité]
""".encode()


def _own_file(tmp_path: Path) -> bytes:
    rows = [
        {"N° praticien": R1, "NOM": "Propre", "Lieu d'exercice": "Voiron",
         "Commune": "sans objet", "Spécialité": "MG"},
        {"N° praticien": R2, "NOM": "Second", "Lieu d'exercice": "Voirno"},
    ]  # fmt: skip
    return _file(tmp_path, rows, OWN)


def test_a_mapping_file_reads_the_cpts_own_headings(
    client: FlaskClient, register_file: Path, tmp_path: Path
) -> None:
    login(client, "claire")
    without = _upload(client, _own_file(tmp_path))
    assert without.status_code == 303
    refused = text(client.get(f"{BASE}/apercu", follow_redirects=True))
    assert "colonne(s) obligatoire(s) absente(s)" in refused
    assert "fichier de correspondance" in refused

    sent = _upload(client, _own_file(tmp_path), (MAPPING, "colonnes.yaml"))
    assert sent.status_code == 303
    preview = text(client.get(f"{BASE}/apercu"))
    assert "fichier de correspondance « colonnes.yaml »" in preview
    assert "Dr Propre" in preview
    assert "non lue" not in preview  # the ignored headings are not reported
    form = text(client.get(f"{BASE}/lignes/3"))
    assert '<label for="champ-commune">Lieu d&#39;exercice</label>' in form
    assert _correct(client, 3, rpps=R2, last_name="Second", commune="Voiron").status_code == 303
    assert _confirm(client).status_code == 303
    with open_store(register_file) as store:
        assert store.get_physician(R1) is not None
        second = store.get_physician(R2)
    assert second is not None
    assert second.commune == "38563"


@pytest.mark.parametrize(
    ("content", "name", "expected"),
    [
        (b"fields:\n  rpps: N\xc2\xb0 praticien\n  nom: NOM\n", "colonnes.yaml",
         "colonnes.yaml:3: $.fields.nom: clé inconnue &#39;nom&#39;"),
        (b"fields:\n  rpps: X\ncolumns: {}\n", "colonnes.yaml",
         "colonnes.yaml:3: $.columns: clé inconnue &#39;columns&#39;"),
        (b"fields:\n  rpps: !!python/object/apply:os.system [ls]\n", "colonnes.yaml",
         "colonnes.yaml:2: $.fields.rpps: YAML invalide"),
        (b"fields:\n  rpps: X\n", "colonnes.txt", "Un fichier .yaml ou .yml est attendu."),
        (b"\xff\xfe", "colonnes.yaml", "texte UTF-8 attendu"),
    ],
)  # fmt: skip
def test_a_bad_mapping_file_is_refused_under_its_field(
    app: Flask, client: FlaskClient, tmp_path: Path, content: bytes, name: str, expected: str
) -> None:
    login(client, "claire")
    page = _upload(client, _own_file(tmp_path), (content, name))
    assert page.status_code == 400
    body = text(page)
    assert expected in body
    assert 'id="correspondance-erreur"' in body
    assert str(tmp_path) not in body
    assert client.get(f"{BASE}/apercu").status_code == 303  # nothing kept
