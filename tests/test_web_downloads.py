"""The map, the monthly report and the exports from the browser: the same files as the
command line, their content types and names, the map's own Content Security Policy, the
audit of exports with personal data and the permissions. Generated data only."""

from __future__ import annotations

import base64
import hashlib
import io
import re
import zipfile
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("flask")
pytest.importorskip("flask_wtf")
pytest.importorskip("argon2")

from flask.testing import FlaskClient

from mt_access.cli import main
from mt_access.loading import load_policy
from mt_access.maps import availability_map
from mt_access.register import Register
from mt_access.web.app import CONTENT_SECURITY_POLICY
from web_support import (
    TODAY,
    app,
    client,
    clock,
    login,
    open_store,
    register_file,
    register_template,
    text,
)

__all__ = ["app", "client", "clock", "register_file", "register_template"]


def _cli(*args: str) -> str:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(args), out=out, err=err)
    assert code == 0, err.getvalue()
    return out.getvalue()


def _audit_count(path: Path) -> int:
    with open_store(path) as store:
        return len(store.audit_entries())


def _last_audit(path: Path) -> Any:
    with open_store(path) as store:
        return store.audit_entries(limit=1)[0]


# ------------------------------------------------------------------------------------------
# Map


def test_the_map_is_framed_from_its_own_page_with_its_own_policy(
    client: FlaskClient, register_file: Path
) -> None:
    login(client, "lea")
    page = client.get("/carte")
    assert page.status_code == 200
    assert page.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert '<iframe class="map-frame" src="/carte/vue?fond=aucun"' in text(page)
    assert "title=" in text(page).split("<iframe", 1)[1].split(">", 1)[0]
    view = client.get("/carte/vue?fond=aucun")
    assert view.status_code == 200
    with open_store(register_file) as store:
        expected = availability_map(Register(store, load_policy("voironnais")), TODAY)
    assert text(view) == expected.html(tiles=None)
    policy = view.headers["Content-Security-Policy"]
    scripts = re.findall(r"<script>(.*?)</script>", text(view), flags=re.DOTALL)
    assert len(scripts) == 2  # Leaflet, then the map's own
    script_src = re.search(r"script-src ([^;]*);", policy)
    assert script_src is not None
    assert "unsafe" not in script_src.group(1)
    for script in scripts:
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in script_src.group(1)
    assert "frame-ancestors 'self'" in policy
    assert "sandbox allow-scripts" in policy
    assert "default-src 'none'" in policy
    assert "tile.openstreetmap.org" not in policy
    assert view.headers["X-Frame-Options"] == "SAMEORIGIN"
    # every other page keeps the application's policy: no inline script, no framing
    assert client.get("/").headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY


def test_the_map_with_tiles_allows_only_their_images(client: FlaskClient) -> None:
    login(client, "lea")
    view = client.get("/carte/vue?fond=osm")
    policy = view.headers["Content-Security-Policy"]
    assert "img-src 'self' data: https://tile.openstreetmap.org;" in policy
    assert "tile.openstreetmap.org/{z}" in text(view)
    assert "tile.openstreetmap.org" not in text(client.get("/carte/vue?fond=autre"))


def test_the_map_is_downloaded_as_the_command_line_writes_it(
    client: FlaskClient, register_file: Path, tmp_path: Path
) -> None:
    target = tmp_path / "carte.html"
    _cli("carte", "--registre", str(register_file), "--sortie", str(target), "--date",
         "16/03/2026")  # fmt: skip
    login(client, "lea")
    got = client.get("/carte/telecharger?fond=osm")
    assert got.status_code == 200
    assert got.headers["Content-Type"] == "text/html; charset=utf-8"
    assert got.headers["Content-Disposition"] == "attachment; filename=carte_2026-03-16.html"
    assert got.data == target.read_bytes()


# ------------------------------------------------------------------------------------------
# Monthly report


def test_the_report_is_the_command_lines_in_one_zip(
    client: FlaskClient, register_file: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "rapport"
    _cli("rapport", "--registre", str(register_file), "--mois", "2026-02", "--dossier",
         str(folder))  # fmt: skip
    login(client, "lea")
    form = client.get("/rapport")
    assert '<option selected value="2026-02">' in text(form)
    assert "nominatif" not in text(form)  # read-only role
    before = _audit_count(register_file)
    got = client.get("/rapport?mois=2026-02")
    assert got.status_code == 200
    assert got.headers["Content-Type"] == "application/zip"
    assert got.headers["Content-Disposition"] == "attachment; filename=rapport_2026-02.zip"
    with zipfile.ZipFile(io.BytesIO(got.data)) as archive:
        names = sorted(archive.namelist())
        assert names == sorted(f"rapport_2026-02/{p.name}" for p in folder.iterdir())
        carte = archive.read("rapport_2026-02/carte_2026-02.html")
    assert carte == (folder / "carte_2026-02.html").read_bytes()
    assert _audit_count(register_file) == before  # nothing personal: no audit line
    assert client.get("/rapport?mois=2026-02&nominatif=y").status_code == 403
    assert client.get("/rapport?mois=1999-01").status_code == 400


def test_a_personal_report_is_for_a_coordinator_and_audited(
    client: FlaskClient, register_file: Path
) -> None:
    login(client, "claire")
    assert "nominatif" in text(client.get("/rapport"))
    got = client.get("/rapport?mois=2026-02&nominatif=y")
    assert got.status_code == 200
    line = _last_audit(register_file)
    assert (line.action, line.actor, line.detail) == (
        "rapport.nominatif",
        "user:claire",
        "rapport de 2026-02",
    )


# ------------------------------------------------------------------------------------------
# Exports


@pytest.mark.parametrize(
    ("query", "options", "name"),
    [
        ("contenu=standard&format=csv", [], "export_standard_2026-03-16.csv"),
        (
            "contenu=pseudonymise&format=csv",
            ["--pseudonymise"],
            "export_pseudonymise_2026-03-16.csv",
        ),
        (
            "contenu=standard&format=csv-standard",
            ["--csv-standard"],
            "export_standard_2026-03-16.csv",
        ),
    ],
)
def test_an_export_is_the_command_lines(
    client: FlaskClient, register_file: Path, tmp_path: Path, query: str, options: list[str],
    name: str,
) -> None:  # fmt: skip
    target = tmp_path / "export.csv"
    _cli("export", str(target), "--registre", str(register_file), "--date", "16/03/2026",
         *options)  # fmt: skip
    login(client, "lea")
    before = _audit_count(register_file)
    got = client.get(f"/exports?{query}")
    assert got.status_code == 200
    assert got.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert got.headers["Content-Disposition"] == f"attachment; filename={name}"
    assert got.data == target.read_bytes()
    assert _audit_count(register_file) == before


def test_an_xlsx_export_is_a_workbook(client: FlaskClient) -> None:
    login(client, "lea")
    got = client.get("/exports?contenu=pseudonymise&format=xlsx")
    assert got.status_code == 200
    assert got.headers["Content-Type"] == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert got.headers["Content-Disposition"] == (
        "attachment; filename=export_pseudonymise_2026-03-16.xlsx"
    )
    with zipfile.ZipFile(io.BytesIO(got.data)) as archive:
        assert "xl/workbook.xml" in archive.namelist()


def test_a_personal_export_is_for_a_coordinator_and_audited(
    client: FlaskClient, register_file: Path, tmp_path: Path
) -> None:
    login(client, "lea")
    assert client.get("/exports?contenu=nominatif&format=csv").status_code == 403
    client.post("/deconnexion")
    target = tmp_path / "export.csv"
    _cli("export", str(target), "--registre", str(register_file), "--date", "16/03/2026",
         "--nominatif")  # fmt: skip
    login(client, "claire")
    got = client.get("/exports?contenu=nominatif&format=csv")
    assert got.status_code == 200
    assert got.data == target.read_bytes()
    line = _last_audit(register_file)
    assert (line.action, line.actor) == ("export.nominatif", "user:claire")
    assert re.fullmatch(r"\d+ demande\(s\), csv", line.detail)


def test_a_bad_export_choice_gets_a_french_message(client: FlaskClient) -> None:
    login(client, "lea")
    page = client.get("/exports?contenu=tout&format=pdf")
    assert page.status_code == 400
    assert "Not a valid choice" not in text(page)
    assert 'id="export-contenu-erreur"' in text(page)


def test_the_pages_need_an_account(client: FlaskClient) -> None:
    for url in ("/sorties", "/carte", "/carte/vue", "/carte/telecharger", "/rapport",
                "/exports?contenu=standard"):  # fmt: skip
        got = client.get(url)
        assert got.status_code == 302
        assert "/connexion" in got.headers["Location"]
