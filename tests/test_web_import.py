"""Importing a form export from the browser: the checks of the file sent, the preview (the
same counts as the command line), the confirmation (what ``mt-access import`` records), a
second upload (nothing twice), the rejections report, correcting a rejected row, the
temporary file, the audit trail and the permissions. Generated data only."""

from __future__ import annotations

import csv
import io
import re
import shutil
import zipfile
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("flask")
pytest.importorskip("flask_wtf")
pytest.importorskip("argon2")

from flask import Flask
from flask.testing import FlaskClient

from mt_access.cli import main
from mt_access.intake import import_file
from mt_access.intake.mapping_file import load_mapping
from mt_access.loading import load_policy
from mt_access.store.sqlite import SQLiteStore
from mt_access.web import ops_import
from web_support import (
    Clock,
    app,
    client,
    clock,
    csrf_token,
    login,
    make_app,
    open_store,
    register_file,
    register_template,
    text,
)

__all__ = ["app", "client", "clock", "register_file", "register_template"]

HEADERS = ["Date de réception", "Nom", "Prénom", "Date de naissance", "Commune", "Consentement"]
ROWS = [
    ["02/03/2026", "Fictiftest", "Alice", "12/04/1950", "Voiron", "Oui"],
    ["02/03/2026", "Fictiftest", "Bruno", "03/05/1980", "Voreppe", "Oui"],
    ["03/03/2026", "Fictiftest", "Chloé", "01/01/1990", "Lyon", "Oui"],
    ["03/03/2026", "Fictiftest", "Denis", "01/13/1990", "Voiron", "Oui"],
    ["04/03/2026", "Fictiftest", "Alice", "12/04/1950", "Voiron", "Oui"],
    ["04/03/2026", "Fictiftest", "Emma", "05/05/1985", "Voiron", "Non"],
]
"""Two good rows, one outside the territory (Lyon), a bad birth date (row 5), a duplicate of
row 2 (row 6), a refused consent (row 7)."""


def _csv(rows: list[list[str]] = ROWS) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")
    writer.writerow(HEADERS)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def _upload(client: FlaskClient, data: bytes, name: str = "formulaire.csv", **extra: Any) -> Any:
    token = csrf_token(client, "/import/")
    form = {
        "csrf_token": token,
        "correspondance": "generique",
        "fichier": (io.BytesIO(data), name),
        **extra,
    }
    return client.post("/import/", data=form, content_type="multipart/form-data")


def _post(client: FlaskClient, url: str, page: str = "/import/apercu", **data: str) -> Any:
    return client.post(url, data={"csrf_token": csrf_token(client, page), **data})


def _area(app: Flask) -> list[Path]:
    found = app.extensions.get("mt_access_imports")
    return sorted(found.iterdir()) if found else []


def _cli_import(path: Path, export: Path) -> str:
    out, err = io.StringIO(), io.StringIO()
    code = main(
        ["import", str(export), "--registre", str(path), "--formulaire", "generique",
         "--sans-progression"],
        out=out, err=err,
    )  # fmt: skip
    assert code == 0, err.getvalue()
    return out.getvalue()


def _register_content(path: Path) -> dict[str, Any]:
    """What an import changes: requests, identities, histories, imported rows."""
    with SQLiteStore(path, create=False, readonly=True) as store:
        files = {s.id: store.get_file(s.id) for s in store.summaries()}
        return {
            "files": files,
            "requests": {rid: store.get_request(rid) for rid in files},
            "persons": sorted(
                (p.request_id, p.identity.last_name, p.identity.first_name)
                for p in store.known_persons()
            ),
        }


# ------------------------------------------------------------------------------------------
# The file sent


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("formulaire.pdf", b"%PDF-1.4 ...", "Type de fichier non accepté"),
        ("formulaire.xls", b"\xd0\xcf\x11\xe0", "Type de fichier non accepté"),
        ("formulaire.xlsx", _csv(), "n&#39;est pas un classeur .xlsx"),
        ("formulaire.csv", b"PK\x03\x04" + b"\x00" * 40, "n&#39;est pas un fichier texte .csv"),
        ("formulaire.csv", b"", "Le fichier est vide."),
    ],
)
def test_a_file_of_the_wrong_type_is_refused_with_a_french_message(
    app: Flask, client: FlaskClient, name: str, data: bytes, message: str
) -> None:
    login(client, "claire")
    page = _upload(client, data, name)
    assert page.status_code == 400
    assert message in text(page)
    assert 'id="fichier-erreur"' in text(page)
    assert _area(app) == []


def test_a_file_too_big_is_refused_and_not_kept(register_file: Path, clock: Clock) -> None:
    app = make_app(register_file, clock, WEBOPS_MAX_UPLOAD=200)
    with app.test_client() as client:
        login(client, "claire")
        page = _upload(client, _csv())
        assert page.status_code == 400
        assert "Fichier trop volumineux : 200 octets au plus." in text(page)
        assert _area(app) == []
        assert len(_csv()) > 200


def test_the_checks_sniff_the_content() -> None:
    workbook = io.BytesIO()
    with zipfile.ZipFile(workbook, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
    assert ops_import.check_upload("a.xlsx", workbook.getvalue()) is None
    assert ops_import.check_upload("a.XLSX", workbook.getvalue()) is None
    assert ops_import.check_upload("a.csv", _csv()) is None
    utf16 = _csv().decode("utf-8").encode("utf-16")
    assert ops_import.check_upload("a.csv", utf16) is None
    assert "n'est pas un fichier texte" in str(ops_import.check_upload("a.csv", utf16[2:]))
    other = io.BytesIO()
    with zipfile.ZipFile(other, "w") as archive:
        archive.writestr("word/document.xml", "<w/>")
    assert "n'est pas un classeur" in str(ops_import.check_upload("a.xlsx", other.getvalue()))
    assert "trop volumineux" in str(ops_import.check_upload("a.csv", _csv(), limit=10))
    assert "non accepté" in str(ops_import.check_upload("a.exe", _csv()))


def test_the_flask_limit_answers_in_french(register_file: Path, clock: Clock) -> None:
    app = make_app(register_file, clock, MAX_CONTENT_LENGTH=1000, TESTING=False)
    with app.test_client() as client:
        login(client, "claire")
        page = _upload(client, _csv() * 20)
        assert page.status_code == 413
        assert "trop gros" in text(page)


# ------------------------------------------------------------------------------------------
# Preview, confirmation, second upload


def test_the_preview_counts_are_the_command_lines_and_show_no_cell_value(
    client: FlaskClient, register_file: Path, tmp_path: Path
) -> None:
    login(client, "claire")
    page = _upload(client, _csv())
    assert page.status_code == 303
    preview = client.get("/import/apercu")
    assert preview.status_code == 200
    export = tmp_path / "formulaire.csv"
    export.write_bytes(_csv())
    policy = load_policy("voironnais")
    with open_store(register_file) as store:
        from mt_access.register import Register

        register = Register(store, policy)
        expected = import_file(
            export,
            policy,
            mapping=load_mapping("generique", policy.questions),
            known=register.known_persons(),
            imported=register.imported_rows,
        )
    twin = tmp_path / "jumeau.sqlite"
    shutil.copy(register_file, twin)
    said = _cli_import(twin, export)
    found = re.search(
        r"(\d+) demande\(s\) enregistrée\(s\) \(dont (\d+) hors territoire, sorties du "
        r"dispositif\), (\d+) ligne\(s\) non importée\(s\) dont (\d+) doublon",
        said,
    )
    assert found is not None, said
    registered, outside, not_imported, duplicates = (int(g) for g in found.groups())
    body = text(preview)
    cards = dict(re.findall(r"<dt>([^<]+)</dt><dd>(\d+)</dd>", body))
    assert int(cards["Demandes qui seraient importées"]) == registered
    assert int(cards["dont hors territoire"]) == outside
    assert int(cards["Lignes rejetées"]) + int(cards["Doublons"]) == not_imported
    assert int(cards["Doublons"]) == duplicates
    assert cards["Lignes lues"] == str(expected.rows) == "6"
    assert cards["Demandes qui seraient importées"] == str(len(expected.accepted)) == "3"
    assert cards["dont hors territoire"] == str(len(expected.out_of_territory)) == "1"
    assert cards["Lignes rejetées"] == str(len({p.row for p in expected.problems})) == "2"
    assert cards["Doublons"] == str(len(expected.duplicates)) == "1"
    assert "Corriger la ligne 5" in body
    assert "doublon de la ligne 2" in body
    assert "Date de naissance" in body  # the column named, not its value
    for value in ("Fictiftest", "Alice", "01/13/1990", "12/04/1950"):
        assert value not in body
    with open_store(register_file) as store:
        assert not any(p.identity.last_name == "Fictiftest" for p in store.known_persons())


def test_confirming_records_what_the_command_line_records(
    client: FlaskClient, register_file: Path, tmp_path: Path
) -> None:
    twin = tmp_path / "jumeau.sqlite"
    shutil.copy(register_file, twin)
    export = tmp_path / "cli" / "formulaire.csv"
    export.parent.mkdir()
    export.write_bytes(_csv())
    said = _cli_import(twin, export)
    assert "3 demande(s) enregistrée(s)" in said

    login(client, "claire")
    _upload(client, _csv())
    done = _post(client, "/import/confirmer")
    assert done.status_code == 303
    page = client.get("/import/apercu")
    assert "Import confirmé." in text(page)
    assert "3 demande(s) enregistrée(s)" in text(page)
    assert _register_content(register_file) == _register_content(twin)
    with open_store(register_file) as store:
        line = store.audit_entries(limit=1)[0]
    assert line.action == "import.confirmer"
    assert line.actor == "user:claire"
    assert line.detail.startswith("3 demande(s) enregistrée(s)")
    assert "Fictif" not in line.detail


def test_uploading_the_same_export_again_imports_nothing_twice(
    client: FlaskClient, register_file: Path
) -> None:
    login(client, "claire")
    _upload(client, _csv())
    _post(client, "/import/confirmer")
    with open_store(register_file) as store:
        before = store.count_requests()
    _upload(client, _csv())
    preview = text(client.get("/import/apercu"))
    cards = dict(re.findall(r"<dt>([^<]+)</dt><dd>(\d+)</dd>", preview))
    assert cards["Déjà importées"] == "3"
    assert cards["Demandes qui seraient importées"] == "0"
    assert "Confirmer l&#39;import" not in preview
    again = _post(client, "/import/confirmer")
    assert again.status_code == 303
    assert "Déjà importé" in text(client.get("/import/apercu"))
    with open_store(register_file) as store:
        assert store.count_requests() == before


# ------------------------------------------------------------------------------------------
# Rejections report, correction, the temporary file


def test_the_rejections_report_is_the_command_lines_csv(
    client: FlaskClient, register_file: Path, tmp_path: Path
) -> None:
    export = tmp_path / "formulaire.csv"
    export.write_bytes(_csv())
    twin = tmp_path / "jumeau.sqlite"
    shutil.copy(register_file, twin)
    _cli_import(twin, export)
    expected = (tmp_path / "formulaire.rejets.csv").read_bytes()

    login(client, "claire")
    _upload(client, _csv())
    _post(client, "/import/confirmer")
    report = client.get("/import/rejets")
    assert report.status_code == 200
    assert report.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert report.headers["Content-Disposition"] == ("attachment; filename=formulaire.rejets.csv")
    assert report.data == expected
    assert report.data.startswith(b"\xef\xbb\xbf")  # French Excel: UTF-8 with a BOM, « ; »
    assert b"ligne;colonne;valeur;message" in report.data
    with open_store(register_file) as store:
        assert store.audit_entries(limit=1)[0].action == "import.rejets"


def test_a_rejected_row_is_corrected_and_recorded(client: FlaskClient, register_file: Path) -> None:
    login(client, "claire")
    _upload(client, _csv())
    _post(client, "/import/confirmer")
    form = client.get("/import/lignes/5")
    assert form.status_code == 200
    body = text(form)
    assert '<label for="colonne-0">Date de naissance</label>' in body
    assert 'value="01/13/1990"' in body  # what the coordinator sent, to correct it
    assert 'aria-invalid="true"' in body
    still = _post(client, "/import/lignes/5", "/import/lignes/5", **{"colonne-0": "31/02/1990"})
    assert still.status_code == 400
    assert 'id="colonne-0-erreur"' in text(still)
    done = _post(client, "/import/lignes/5", "/import/lignes/5", **{"colonne-0": "13/01/1990"})
    assert done.status_code == 303
    rid = done.headers["Location"].rsplit("/", 1)[-1]
    with open_store(register_file) as store:
        request = store.get_request(rid)
        assert request is not None
        assert str(request.patient.birth_date) == "1990-01-13"
        file = store.get_file(rid)
        assert file is not None
        assert "ligne 5 corrigée" in file.history[0].comment
        actions = [(a.action, a.subject) for a in store.audit_entries(limit=3)]
    assert ("import.corriger", rid) in actions
    assert ("import.ligne.afficher", None) in actions
    # the corrected row is no longer to correct; the duplicate links to its request
    again = client.get("/import/lignes/5")
    assert again.status_code == 303


def test_ending_the_import_deletes_the_file_sent(app: Flask, client: FlaskClient) -> None:
    login(client, "claire")
    _upload(client, _csv())
    kept = _area(app)
    assert len(kept) == 1
    assert (kept[0] / "formulaire.csv").read_bytes() == _csv()
    assert oct(kept[0].stat().st_mode & 0o777) == "0o700"
    _post(client, "/import/terminer")
    assert _area(app) == []
    assert client.get("/import/apercu").status_code == 303


def test_an_export_left_alone_expires(app: Flask, client: FlaskClient, clock: Clock) -> None:
    login(client, "claire")
    _upload(client, _csv())
    assert len(_area(app)) == 1
    clock.advance(hours=3)
    gone = client.get("/import/apercu")
    assert gone.status_code == 303
    assert _area(app) == []


def test_a_mapping_file_that_fails_is_named_without_the_servers_path(
    app: Flask, client: FlaskClient
) -> None:
    login(client, "claire")
    page = _upload(
        client,
        _csv(),
        correspondance="fichier",
        fichier_correspondance=(io.BytesIO(b"fields:\n  nimporte: 3\n"), "deduit.yaml"),
    )
    assert page.status_code == 303
    failed = client.get("/import/apercu", follow_redirects=True)
    body = text(failed)
    assert "Import impossible" in body
    assert "mt-access-imports" not in body
    assert _area(app) == []


# ------------------------------------------------------------------------------------------
# Permissions


def test_the_read_only_role_cannot_import(client: FlaskClient) -> None:
    login(client, "lea")
    assert client.get("/import/").status_code == 403
    token = csrf_token(client, "/demandes/recherche")
    for url in ("/import/", "/import/confirmer", "/import/terminer", "/import/lignes/5"):
        assert client.post(url, data={"csrf_token": token}).status_code == 403
    assert 'href="/import/"' not in text(client.get("/"))


def test_an_anonymous_visitor_is_sent_to_the_login_page(client: FlaskClient) -> None:
    for url in ("/import/", "/import/apercu", "/import/rejets"):
        page = client.get(url)
        assert page.status_code == 302
        assert "/connexion" in page.headers["Location"]


def test_another_account_does_not_see_an_import_in_progress(
    app: Flask, client: FlaskClient
) -> None:
    login(client, "claire")
    _upload(client, _csv())
    with client.session_transaction() as session:
        token = session["import_lot"]
    client.post("/deconnexion", data={"csrf_token": csrf_token(client, "/")})
    login(client, "alice")
    with client.session_transaction() as session:
        session["import_lot"] = token  # even given the folder's name
    page = client.get("/import/apercu")
    assert page.status_code == 303
    assert page.headers["Location"].endswith("/import/")


def test_a_bad_reception_date_gets_a_french_message(app: Flask, client: FlaskClient) -> None:
    login(client, "claire")
    page = _upload(client, _csv(), date_reception="31/02/2026")
    assert page.status_code == 400
    assert 'id="date_reception-erreur"' in text(page)
    assert "le 31 février 2026 n&#39;existe pas" in text(page)
    assert _area(app) == []
    page = _upload(client, _csv(), correspondance="autre")
    assert page.status_code == 400
    assert "Choix invalide" in text(page)


def test_the_preview_tables_are_bounded_but_the_counts_whole(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ops_import, "PREVIEW_ROWS", 1)
    login(client, "claire")
    _upload(client, _csv())
    body = text(client.get("/import/apercu"))
    assert "Les 1 premières sur 3." in body
    assert "Les 1 premières sur 2 : le rapport des lignes non importées les liste toutes." in body
    assert "Corriger la ligne 5" in body
    assert "Corriger la ligne 7" not in body
    cards = dict(re.findall(r"<dt>([^<]+)</dt><dd>(\d+)</dd>", body))
    assert cards["Demandes qui seraient importées"] == "3"
