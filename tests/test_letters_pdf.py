"""Letters as PDF (mt_access.letters.pdf): text read back with pdftotext, page 1 rendered to
PNG with pdftoppm (kept under $MT_ACCESS_ARTEFACTS when set), metadata, the CLI, and the
French message when WeasyPrint is missing. Every person here is generated."""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import shutil
import subprocess
import sys
import zlib
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

import attrs
import pytest

import mt_access
from cli_support import new_register
from cli_support import run as _run
from factories import VOIRON, doc, req
from mt_access import Modality, PatientIdentity, PracticeContact
from mt_access.cli import EXIT_OK
from mt_access.letters import (
    Letter,
    LetterError,
    LetterKind,
    orientation_letter,
    referral_letter,
)
from mt_access.letters import pdf as pdf_module
from mt_access.letters.pdf import NBSP, NNBSP, french_typography, letters_pdf, print_html
from mt_access.register import Register
from mt_access.store.memory import MemoryStore
from register_support import D1, add_waiting


def _weasyprint_loads() -> bool:
    try:
        import weasyprint  # type: ignore[import-untyped]  # noqa: F401
    except (ImportError, OSError):
        return False
    return True


# Without WeasyPrint (or Pango) and poppler the PDF tests are skipped, unless
# MT_ACCESS_REQUIRE_PDF=1 (set by .ci/run, which installs them) makes their absence a failure.
REQUIRED = os.environ.get("MT_ACCESS_REQUIRE_PDF") == "1"
HAVE_WEASYPRINT = _weasyprint_loads()
HAVE_POPPLER = shutil.which("pdftotext") is not None and shutil.which("pdftoppm") is not None

needs_weasyprint = pytest.mark.skipif(
    not HAVE_WEASYPRINT and not REQUIRED, reason="WeasyPrint ou Pango absent (extra « pdf »)"
)
needs_poppler = pytest.mark.skipif(
    not HAVE_POPPLER and not REQUIRED,
    reason="pdftotext/pdftoppm absents (paquet poppler-utils)",
)


def test_the_pdf_tools_are_there_when_required() -> None:
    """In CI (MT_ACCESS_REQUIRE_PDF=1) the PDF tests must run, not skip."""
    if not REQUIRED:
        pytest.skip("MT_ACCESS_REQUIRE_PDF n'est pas demandé")
    assert HAVE_WEASYPRINT, "WeasyPrint ou Pango absent alors que MT_ACCESS_REQUIRE_PDF=1"
    assert HAVE_POPPLER, "pdftotext/pdftoppm absents alors que MT_ACCESS_REQUIRE_PDF=1"


RUN = dt.date(2026, 3, 5)
MARCQ = "59378"


@pytest.fixture(scope="module")
def identity() -> PatientIdentity:
    faker = pytest.importorskip("faker").Faker("fr_FR")
    faker.seed_instance(15)
    return PatientIdentity(
        last_name=faker.last_name(), first_name=faker.first_name(), phone="0600000001"
    )


def _referral(identity: PatientIdentity) -> Letter:
    register = Register(MemoryStore(), mt_access.load_policy("voironnais"))
    register.add_physician(doc("MG1", VOIRON, capacity=None))
    register.join("MG1", D1, monthly_capacity=1, modalities=[Modality.OFFICE])
    add_waiting(register, req("R1", age=75, ald=True, received=D1), identity)
    register.propose("R1", "MG1", RUN)
    return referral_letter(register, "R1", "MG1", RUN)


PRACTICE = PracticeContact(
    practice="Maison de santé « Les Tilleuls »", notes="Rendez-vous : en ligne uniquement !"
)


def _orientation(identity: PatientIdentity) -> Letter:
    register = Register(MemoryStore(), mt_access.load_policy("deule_marque"))
    register.add_physician(doc("MG1", MARCQ, capacity=None, contact=PRACTICE))
    register.join("MG1", D1, monthly_capacity=1, modalities=[Modality.OFFICE])
    add_waiting(register, req("R1", MARCQ, age=30, received=D1), identity)
    return orientation_letter(register, "R1", RUN)


def _pdftotext(path: Path) -> str:
    return subprocess.run(
        ["pdftotext", "-enc", "UTF-8", "-layout", str(path), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def _streams(data: bytes) -> bytes:
    """The PDF with its compressed streams inflated (the catalog is in an object stream)."""
    out = [data]
    for m in re.finditer(rb"stream\r?\n(.*?)endstream", data, re.S):
        try:
            out.append(zlib.decompress(m.group(1)))
        except zlib.error:
            continue
    return b"\n".join(out)


def _page_one_png(pdf: Path, tmp_path: Path) -> Path:
    prefix = tmp_path / pdf.stem
    subprocess.run(
        ["pdftoppm", "-png", "-r", "50", "-f", "1", "-l", "1", str(pdf), str(prefix)],
        check=True,
        capture_output=True,
    )
    (png,) = tmp_path.glob(f"{pdf.stem}*.png")
    assert png.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    header = png.read_bytes()[16:24]
    width, height = int.from_bytes(header[:4]), int.from_bytes(header[4:])
    assert abs(width - 413) <= 1  # A4 at 50 dpi (210 x 297 mm)
    assert abs(height - 585) <= 1
    assert png.stat().st_size > 5000  # text drawn (a blank page is ~1 kB)
    artefacts = os.environ.get("MT_ACCESS_ARTEFACTS")
    if artefacts:
        Path(artefacts).mkdir(parents=True, exist_ok=True)
        shutil.copy(png, Path(artefacts) / f"courrier_{png.name}")
    return png


def test_french_typography() -> None:
    assert french_typography("Contact : « oui » ; merci ! Vraiment ?") == (
        f"Contact{NBSP}: «{NBSP}oui{NBSP}»{NNBSP}; merci{NNBSP}! Vraiment{NNBSP}?"
    )
    assert french_typography("«oui»") == f"«{NBSP}oui{NBSP}»"
    assert french_typography("demande n° 12") == f"demande n°{NBSP}12"
    # glued colons (times, addresses) and a line starting with punctuation stay as written
    assert (
        french_typography("à 14:30, https://exemple.fr/?a=1") == "à 14:30, https://exemple.fr/?a=1"
    )


def test_print_html_typesets_text_not_tags(identity: PatientIdentity) -> None:
    page = print_html(_orientation(identity))
    assert page.startswith('<!DOCTYPE html>\n<html lang="fr">')
    assert "<title>Votre recherche de médecin traitant" in page
    assert f"Maison de santé «{NBSP}Les Tilleuls{NBSP}»" in page
    assert f"Rendez-vous{NBSP}: en ligne uniquement{NNBSP}!" in page
    assert '<header class="entete">\n<div class="cpts">CPTS Deûle Marque</div>' in page


@needs_weasyprint
@needs_poppler
@pytest.mark.parametrize("which", ["referral", "orientation"])
def test_letter_pdf_text_metadata_and_page_image(
    which: str,
    identity: PatientIdentity,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    letter = _referral(identity) if which == "referral" else _orientation(identity)
    data = letter.pdf()
    assert data.startswith(b"%PDF-")
    pdf = tmp_path / f"{which}.pdf"
    pdf.write_bytes(data)
    text = _pdftotext(pdf)
    name = f"{identity.first_name} {identity.last_name}"
    flat = " ".join(text.split())  # words as read, whatever the line breaks
    if which == "referral":
        assert flat.count("CPTS du Voironnais") >= 2  # the letterhead and the letter
        assert identity.last_name in flat
        assert identity.first_name in flat
        assert "Le 5 mars 2026" in flat
        assert "Niveau de priorité : prioritaire" in flat
    else:
        assert "CPTS Deûle Marque" in flat
        assert f"Bonjour {name}" in flat
        assert "Le 5 mars 2026" in flat
        assert "Maison de santé « Les Tilleuls »" in flat
        assert "Rendez-vous : en ligne uniquement !" in flat
    assert "Page 1 sur" in flat
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True)
    assert re.search(rf"^Title: +{re.escape(letter.subject)}$", info.stdout, re.MULTILINE)
    assert "Tagged:          yes" in info.stdout
    assert "(A4)" in info.stdout
    raw = _streams(data)
    assert b"/Lang (fr)" in raw
    assert b"/DisplayDocTitle true" in raw
    # pdftotext reads every space as a space: the no-break ones are seen in the fonts' maps
    # from glyphs to characters (ToUnicode), where the text drawn uses them
    mapped = {m.lower() for m in re.findall(rb"<[0-9a-fA-F]{4}> ?<(00[aA]0|202[fF])>", raw)}
    assert mapped == {b"00a0", b"202f"}
    if which == "referral":  # the structure a screen reader follows
        tree = subprocess.run(
            ["pdfinfo", "-struct-text", str(pdf)], capture_output=True, text=True, check=True
        ).stdout
        tags = [line.strip() for line in tree.splitlines() if not line.strip().startswith('"')]
        assert tags.count("H1 (block)") == 1
        assert tags.count("H2 (block)") == 2  # Dossier qualifié, Votre réponse
        assert "L (block)" in tags
        assert "LI (block)" in tags
        assert "Page 1 sur" not in tree  # the page numbers and letterhead are not read
        first = next(line.strip() for line in tree.splitlines() if line.strip().startswith('"'))
        assert first == '"CPTS du Voironnais"'  # reading starts with the letter's own text
        assert tree.count('"CPTS du Voironnais"') == 1
    _page_one_png(pdf, tmp_path)
    for record in caplog.records:  # nothing personal in the logs
        assert identity.last_name not in record.getMessage()
        assert identity.first_name not in record.getMessage()


def _text_of(data: bytes, path: Path) -> str:
    path.write_bytes(data)
    return _pdftotext(path)


@needs_weasyprint
@needs_poppler
def test_letters_pdf_in_worker_processes_gives_the_same_tagged_letters_in_order(
    identity: PatientIdentity, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    letters = [_referral(identity), _orientation(identity), _referral(identity)]
    alone = [letter.pdf() for letter in letters]
    workers: set[int] = set()

    class Watched(ProcessPoolExecutor):
        def shutdown(self, *args: Any, **kw: Any) -> None:
            workers.update(self._processes or {})
            super().shutdown(*args, **kw)

    monkeypatch.setattr(pdf_module, "ProcessPoolExecutor", Watched)
    pooled = list(letters_pdf(letters, processes=2))
    assert len(pooled) == 3
    assert len(workers) == 2  # made by two other processes
    assert os.getpid() not in workers
    for i, (one, other) in enumerate(zip(alone, pooled, strict=True)):
        assert _text_of(one, tmp_path / f"a{i}.pdf") == _text_of(other, tmp_path / f"b{i}.pdf")
        info = subprocess.run(
            ["pdfinfo", str(tmp_path / f"b{i}.pdf")], capture_output=True, text=True, check=True
        ).stdout
        assert "Tagged:          yes" in info
        assert re.search(rf"^Title: +{re.escape(letters[i].subject)}$", info, re.MULTILINE)
    # closing early cancels the rest without waiting for it
    made = letters_pdf(letters * 4, processes=2)
    assert next(made).startswith(b"%PDF-")
    made.close()

    # workers that cannot run: the letters are made here
    class Broken:
        def __init__(self, **_kw: object) -> None:
            pass

        def submit(self, *_a: object) -> None:
            raise BrokenProcessPool("pas de processus")

        def shutdown(self, **_kw: object) -> None:
            pass

    monkeypatch.setattr(pdf_module, "ProcessPoolExecutor", Broken)
    fallback = list(letters_pdf(letters, processes=2))
    assert [_text_of(d, tmp_path / f"c{i}.pdf") for i, d in enumerate(fallback)] == [
        _text_of(d, tmp_path / f"a{i}.pdf") for i, d in enumerate(alone)
    ]


def test_workers_only_for_many_letters(monkeypatch: pytest.MonkeyPatch) -> None:
    for processors, letters, workers in ((8, 99, 0), (8, 100, 4), (2, 500, 2), (1, 500, 1)):
        monkeypatch.setattr(os, "sched_getaffinity", lambda _pid, n=processors: set(range(n)))
        assert pdf_module.worker_processes(letters) == workers
    started: list[int] = []

    def pool(pages: list[str], processes: int) -> Any:
        started.append(processes)
        return iter(())

    monkeypatch.setattr(pdf_module, "_in_workers", pool)
    monkeypatch.setattr(pdf_module, "require_weasyprint", lambda: None)
    letter = Letter(
        kind=LetterKind.ORIENTATION, request_id="R1", recipient="patient", subject="Objet",
        text="x", markdown="x", html="<body>\nx\n</body>",
    )  # fmt: skip
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: {0, 1, 2})
    letters_pdf([letter] * 99)
    letters_pdf([letter] * 100)
    assert started == [3]
    letters_pdf([letter] * 3, processes=2)
    assert started[-1] == 2
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: {0})
    letters_pdf([letter] * 100)  # one processor: no worker
    assert len(started) == 2


def test_letters_pdf_checks_every_letter_before_making_any(
    identity: PatientIdentity, monkeypatch: pytest.MonkeyPatch
) -> None:
    letter = _orientation(identity)
    without_html = attrs.evolve(letter, html=None)
    with pytest.raises(LetterError, match="sans HTML"):
        letters_pdf([letter, without_html])
    monkeypatch.setitem(sys.modules, "weasyprint", None)
    with pytest.raises(LetterError, match="WeasyPrint"):
        letters_pdf([letter] * 30)


def test_missing_weasyprint_is_a_french_error(
    identity: PatientIdentity, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "weasyprint", None)  # import weasyprint: ImportError
    letter = _orientation(identity)
    with pytest.raises(LetterError, match=r"pip install 'mt-access\[pdf\]'") as info:
        letter.pdf()
    assert "Pango" in str(info.value)
    assert identity.last_name not in str(info.value)
    from mt_access.letters import write_letters

    with pytest.raises(LetterError, match="WeasyPrint"):
        write_letters([letter], tmp_path / "sortie", formats=("md", "pdf"))
    assert not (tmp_path / "sortie").exists()  # nothing half written


# --------------------------------------------------------------------------------------------
# The command line


@pytest.fixture
def cli_register(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    new_register(tmp_path, monkeypatch, "voironnais")
    form = tmp_path / "formulaire.csv"
    form.write_text(
        "Date de réception;Nom;Prénom;Date de naissance;Commune;Adresse;Consentement\n"
        "02/03/2026;Testnom;Testprénom;01/01/1990;Voiron;1 rue Test;oui\n",
        encoding="utf-8",
    )
    code, out, err = _run("import", str(form), "--formulaire", "generique",
                          "--sans-progression", "--date", "02/03/2026")  # fmt: skip
    assert code == EXIT_OK, err
    return out.split("Demandes créées : ")[1].split(" ")[0].rstrip(".")


@needs_weasyprint
def test_cli_letter_as_pdf(cli_register: str, tmp_path: Path) -> None:
    rid = cli_register
    code, out, err = _run("demande", "courrier", rid, "orientation", "--date", "05/03/2026",
                          "--format", "pdf", "--format", "md", "--dossier", "sortie")  # fmt: skip
    assert code == EXIT_OK, err
    written = sorted((tmp_path / "sortie").iterdir())
    assert [p.suffix for p in written] == [".md", ".pdf"]
    assert written[1].read_bytes().startswith(b"%PDF")
    assert "Testnom" not in out + err
    code, out, err = _run("demande", "courrier", rid, "orientation", "--format", "pdf")
    assert code != EXIT_OK
    assert "ajoutez --dossier" in err


def test_cli_match_letter_formats_are_checked_before_the_run(cli_register: str) -> None:
    code, out, err = _run("apparier", "--date", "15/03/2026", "--courriers", "c",
                          "--format-courriers", "md,docx")  # fmt: skip
    assert code != EXIT_OK
    assert "--format-courriers : format inconnu ou absent « docx »" in err
    assert "appariement n°" not in out  # nothing ran


@needs_weasyprint
def test_cli_match_writes_the_letters_as_pdf(cli_register: str, tmp_path: Path) -> None:
    rid = cli_register
    for args in (
        ("medecin", "ajouter", "MG1", "--nom", "Dr Fictif", "--commune", "Voiron"),
        ("medecin", "adherer", "MG1", "--capacite", "2", "--date", "01/03/2026"),
        ("demande", "accuser", rid, "--date", "04/03/2026"),
        ("demande", "confirmer", rid, "--date", "06/03/2026"),
    ):
        code, out, err = _run(*args)
        assert code == EXIT_OK, (args, out, err)
    code, out, err = _run("apparier", "--date", "15/03/2026", "--courriers", "c",
                          "--format-courriers", "md,pdf")  # fmt: skip
    assert code == EXIT_OK, err
    assert "1 courrier(s) écrit(s) dans c (2 fichiers : md, pdf)" in out
    (pdf,) = (tmp_path / "c").glob("*.pdf")
    assert pdf.name == f"{rid}_dossier_medecin_MG1.pdf"
    assert pdf.read_bytes().startswith(b"%PDF")
