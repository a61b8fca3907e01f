"""Bad files sent to the two imports of the web application (« Importer des demandes »,
/import/, and « Importer des médecins », /medecins/importer/): empty, too large, neither CSV
nor XLSX, an XLSX that is a zip of random files, a CSV in Latin-1 or UTF-16, a CSV with
headers only, odd file names (very long, unicode, ``../``, NUL), bad fields beside the file.
No answer is a server error, a refusal is a French message next to the field or a plain
French page, a refused file records nothing. Generated data only."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("flask")
pytest.importorskip("flask_wtf")
pytest.importorskip("argon2")

from flask.testing import FlaskClient

from mt_access.export import write_rows
from mt_access.gp_file import GP_COLUMNS
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
from web_sweep_support import BAD_VALUES, check_answer

__all__ = ["clock", "register_file", "register_template"]

IMPORTS = ("/import/", "/medecins/importer/")
LIMIT = 50_000
HEAD = "nom;prenom;date_naissance;commune;telephone\n"
ROW = "Fictivelle;Camille;01/02/1980;Voiron;0611223344\n"


def _zip(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return out.getvalue()


_NOISE = bytes((n * 37 + 11) % 256 for n in range(2000))  # fixed bytes, not random

FILES: dict[str, bytes] = {
    "vide.csv": b"",
    "gros.csv": b"a;b\n" * (LIMIT // 4 + 10),
    "texte.txt": b"bonjour",
    "document.pdf": b"%PDF-1.4 ...",
    "sans-extension": b"a;b\n1;2\n",
    "hasard.xlsx": _zip({"[Content_Types].xml": _NOISE, "xl/workbook.xml": _NOISE}),
    "presque.xlsx": _zip({"[Content_Types].xml": b"<x/>", "xl/x": b"y"}),
    "pas-un-zip.xlsx": b"PK\x03\x04" + _NOISE,
    "latin1.csv": (HEAD + ROW.replace("Fictivelle", "Fictivellé")).encode("latin-1"),
    "utf16.csv": (HEAD + ROW).encode("utf-16"),
    "utf16-sans-bom.csv": (HEAD + ROW).encode("utf-16-le"),
    "entetes.csv": HEAD.encode(),
    "lignes-vides.csv": b"\n\n\n",
    "binaire.csv": _NOISE.replace(b"\x00", b"x"),
    "nul.csv": b"a;b\n1\x002\n",
    "controle.csv": b"a;b\n\x01\x1b;\x7f\n",
    "longue-cellule.csv": ("a;b\n" + "x" * 40_000 + ";y\n").encode(),
    "colonnes.csv": (";".join(f"c{n}" for n in range(3000)) + "\n").encode(),
    "guillemet.csv": b'"a;b\n"pas fini',
    "../../etc/passwd.csv": (HEAD + ROW).encode(),
    "\x00.csv": (HEAD + ROW).encode(),
    "é😀.csv": (HEAD + ROW).encode(),
    "x" * 300 + ".csv": (HEAD + ROW).encode(),
    "é" * 200 + ".csv": (HEAD + ROW).encode(),
}

EXTRAS: tuple[dict[str, str], ...] = (
    {},
    {"correspondance": "inconnue"},
    {"feuille": "\x00" * 5},
    {"feuille": "x" * 100_000},
    {"date_reception": "2026-13-45"},
    {"date_reception": "31/02/2026"},
)


@pytest.fixture
def client(register_file: Path, clock: Clock) -> Iterator[FlaskClient]:
    app = make_app(register_file, clock, WEBOPS_MAX_UPLOAD=LIMIT)
    with app.test_client() as made:
        login(made, "claire")
        yield made


def _send(client: FlaskClient, base: str, name: str, data: bytes, **extra: Any) -> Any:
    form = {"csrf_token": csrf_token(client, base), "fichier": (io.BytesIO(data), name),
            "correspondance": "generique", **extra}  # fmt: skip
    response = client.post(base, data=form, content_type="multipart/form-data")
    check_answer(response, f"{base} {name[:40]} {str(extra)[:60]}")
    return response


def _version(path: Path) -> str:
    with open_store(path) as store:
        return store.data_version()


def _follow(client: FlaskClient, base: str) -> None:
    """The pages after an upload, then the import ended without confirming."""
    for page in ("apercu", "rejets", "lignes/0", "lignes/1", "lignes/99999999999999999999"):
        check_answer(client.get(base + page), base + page)
    token = csrf_token(client, base)
    for values in ({"colonne-0": "\x00"}, {"champ-nom": "x" * 100_000}, {}):
        response = client.post(base + "lignes/1", data={"csrf_token": token, **values})
        check_answer(response, base + "lignes/1")
    check_answer(client.post(base + "terminer", data={"csrf_token": token}), base + "terminer")


@pytest.mark.slow
@pytest.mark.parametrize("base", IMPORTS)
def test_bad_files_get_a_french_message_and_record_nothing(
    client: FlaskClient, register_file: Path, base: str
) -> None:
    before = _version(register_file)
    for name, data in FILES.items():
        for extra in EXTRAS:
            response = _send(client, base, name, data, **extra)
            assert response.status_code in (303, 400), (name[:40], extra)
            if response.status_code == 400:
                assert 'class="erreur' in text(response) or "erreur" in text(response)
            else:
                _follow(client, base)
    assert _version(register_file) == before  # nothing confirmed: nothing recorded


@pytest.mark.parametrize("base", IMPORTS)
@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("vide.csv", "Le fichier est vide."),
        ("gros.csv", "Fichier trop volumineux"),
        ("texte.txt", "Type de fichier non accepté"),
        ("pas-un-zip.xlsx", "endommagé ou incomplet"),
        ("nul.csv", "n'est pas un fichier texte .csv"),
    ],
)
def test_a_refused_file_has_its_reason_next_to_the_field(
    client: FlaskClient, base: str, name: str, message: str
) -> None:
    response = _send(client, base, name, FILES[name])
    assert response.status_code == 400
    assert message in text(response).replace("&#39;", "'")


@pytest.mark.parametrize("base", IMPORTS)
@pytest.mark.parametrize("name", ["x" * 300 + ".csv", "é" * 200 + ".csv"])
def test_an_export_with_a_very_long_name_is_read(client: FlaskClient, base: str, name: str) -> None:
    # the name was kept as sent: « File name too long » from the file system, a server error
    assert len(name.encode("utf-8")) > 255
    response = _send(client, base, name, (HEAD + ROW).encode())
    assert response.status_code == 303
    preview = client.get(base + "apercu", follow_redirects=True)  # read, its columns checked
    assert preview.status_code == 200
    check_answer(preview, name)
    assert name[:60] in text(preview) or "Import impossible" in text(preview)


def test_a_form_larger_than_the_server_takes_gets_the_french_413_page(
    register_file: Path, clock: Clock
) -> None:
    app = make_app(register_file, clock, MAX_CONTENT_LENGTH=10_000)
    with app.test_client() as made:
        login(made, "claire")
        for base in IMPORTS:
            response = _send(made, base, "gros.csv", b"a;b\n" * 5000)
            assert response.status_code == 413
            assert "Envoi trop volumineux" in text(response)


# ------------------------------------------------------------------------------------------
# Corrections of a rejected row, with bad values

_REQUESTS = (
    "Date de réception;Nom;Prénom;Date de naissance;Commune;Consentement\n"
    "02/03/2026;Fictiftest;Alice;12/04/1950;Voiron;Oui\n"
    "03/03/2026;Fictiftest;Denis;01/13/1990;Voiron;Oui\n"
)
"""Row 3 rejected (its birth date)."""

_CELL = re.compile(r'name="((?:colonne|champ)-[\w-]+)"')
_STEP = re.compile(r'name="etape" type="hidden" value="([^"]*)"')


def _gp_file(tmp_path: Path) -> bytes:
    headings = [c.heading for c in GP_COLUMNS]
    rows = [{"RPPS": "10000000001", "Nom": "Faux", "Commune d'exercice": "Voirno"}]
    path = write_rows([{h: r.get(h, "") for h in headings} for r in rows], headings,
                      tmp_path / "medecins.xlsx")  # fmt: skip
    return path.read_bytes()


@pytest.mark.parametrize("base", IMPORTS)
def test_a_rejected_rows_correction_with_bad_values_is_refused_in_french(
    client: FlaskClient, register_file: Path, tmp_path: Path, base: str
) -> None:
    before = _version(register_file)
    if base == "/import/":
        sent = _send(client, base, "formulaire.csv", _REQUESTS.encode("utf-8"))
        row = 3
    else:
        sent = _send(client, base, "medecins.xlsx", _gp_file(tmp_path))
        row = 2
    assert sent.status_code == 303
    assert client.get(base + "apercu").status_code == 200
    page = text(client.get(f"{base}lignes/{row}"))
    cells = sorted(set(_CELL.findall(page)))
    assert cells, page[:300]
    token = csrf_token(client, base + "apercu")
    for value in BAD_VALUES:
        step = _STEP.search(text(client.get(f"{base}lignes/{row}")))
        steps = {"etape": step.group(1)} if step else {}
        for data in (dict.fromkeys(cells, value), *({cell: value} for cell in cells)):
            response = client.post(f"{base}lignes/{row}",
                                   data={"csrf_token": token, **steps, **data})  # fmt: skip
            check_answer(response, f"{base} {value[:20]!r} {list(data)}")
        for bad_step in ({"etape": value}, {}):
            response = client.post(f"{base}confirmer", data={"csrf_token": token, **bad_step})
            check_answer(response, f"{base}confirmer {value[:20]!r}")
            assert _version(register_file) == before or response.status_code < 400
    check_answer(client.post(base + "terminer", data={"csrf_token": token}), base + "terminer")
