"""The follow-up workbook (XLSX), the plots (PNG) and the monthly report folder."""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path
from xml.etree import ElementTree

import pytest
from openpyxl import load_workbook

import mt_access
from factories import VOIRON, req
from mt_access import Modality, PatientIdentity, Register
from mt_access.indicators import Period, WaitingListSeries, indicators, waiting_list_series
from mt_access.plots import PlotError, plot_waiting_list, plot_waits_by_level, report_plots
from mt_access.workbook import (
    FOLLOW_UP_COLUMNS,
    PERSONAL_COLUMNS,
    SHEETS,
    WorkbookError,
    write_follow_up_workbook,
    write_monthly_report,
)
from test_indicators import scenario

FEB = Period.month("2026-02")
FORMULA = "=cmd|' /C calc'!A0"
PNG = b"\x89PNG\r\n\x1a\n"

# Generated identities, marked so that a leak is easy to spot (no real person).
IDENTITY = PatientIdentity(
    last_name="Zorglubnom",
    first_name="Zorglubprénom",
    phone="06 99 99 99 99",
    email="zorglub@example.invalid",
    address="1 rue Zorglub",
)


def _register(policy: mt_access.Policy) -> Register:
    """The scenario of test_indicators, plus a request and a GP with formula-like text."""
    register = scenario(policy)
    register.add_physician(mt_access.Physician(id="MG2", name='=HYPERLINK("x")', commune=VOIRON))
    register.join("MG2", dt.date(2026, 2, 1), monthly_capacity=1, modalities=[Modality.OFFICE])
    request = req(
        "@R9",
        age=40,
        received=dt.date(2026, 2, 4),
        comments=FORMULA + "\x07 remarque",
    )
    register.add_request(request, IDENTITY)
    register.acknowledge("@R9", dt.date(2026, 2, 4))
    register.confirm("@R9", dt.date(2026, 2, 4))
    register.to_waiting("@R9", dt.date(2026, 2, 4))
    register.propose("@R9", "MG2", dt.date(2026, 2, 5))
    register.answer("@R9", "MG2", dt.date(2026, 2, 25), accepted=True)
    return register


@pytest.fixture(scope="module")
def register(voironnais: mt_access.Policy) -> Register:
    return _register(voironnais)


@pytest.fixture(scope="module")
def book_path(register: Register, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_follow_up_workbook(register, tmp_path_factory.mktemp("wb") / "suivi.xlsx", FEB)


def _cells(path: Path) -> list[str]:
    book = load_workbook(path)
    return [
        str(cell.value)
        for sheet in book.worksheets
        for row in sheet.iter_rows()
        for cell in row
        if cell.value is not None
    ]


def test_the_workbook_opens_with_its_three_sheets(book_path: Path) -> None:
    book = load_workbook(book_path)
    assert book.sheetnames == list(SHEETS)
    assert SHEETS == ("Entrées et sorties", "Indicateurs", "Médecins")
    sheet = book[SHEETS[0]]
    header = [c.value for c in sheet[1]]
    assert header == list(FOLLOW_UP_COLUMNS)
    assert all(c.font.bold for c in sheet[1])
    ids = [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)]
    # followed in February: received by its end, not exited before its start
    assert ids == ["R6", "R1", "R2", "R3", "@R9", "R4"]


def test_rows_of_entries_and_exits(book_path: Path) -> None:
    sheet = load_workbook(book_path)[SHEETS[0]]
    rows = {
        row[0]: dict(zip(FOLLOW_UP_COLUMNS, row, strict=True))
        for row in sheet.iter_rows(min_row=2, values_only=True)
    }
    r1 = rows["R1"]
    assert r1["reçue le"] == dt.datetime(2026, 1, 5)
    assert r1["commune"] == "Voiron"
    assert r1["tranche d'âge"] == "70 ans et plus"
    assert r1["niveau à la réception"] == "prioritaire"
    assert r1["état à la fin de la période"] == "médecin traitant trouvé"
    assert r1["motif de sortie"] == "médecin traitant trouvé"
    assert r1["sortie le"] == dt.datetime(2026, 2, 10)
    assert r1["délai (jours)"] == 36
    assert (r1["médecin traitant"], r1["nom du médecin"]) == ("MG1", "Dr MG1")
    r2 = rows["R2"]
    assert r2["état à la fin de la période"] == "en liste d'attente"
    assert r2["motif de sortie"] is None
    assert r2["sortie le"] is None
    assert rows["R3"]["motif de sortie"] == "désistement du patient"
    assert rows["R4"]["motif de sortie"] == "hors du champ du dispositif"
    assert rows["R6"]["état à la fin de la période"] == "accusé de réception envoyé"
    date_cell = sheet["B2"]
    assert date_cell.number_format == "DD/MM/YYYY"
    assert date_cell.is_date


def test_layout_and_print_setup(book_path: Path) -> None:
    book = load_workbook(book_path)
    entries, figures, gps = (book[name] for name in SHEETS)
    assert entries.freeze_panes == "B2"
    assert entries.auto_filter.ref == "A1:O7"
    assert gps.freeze_panes == "C2"
    assert gps.auto_filter.ref == "A1:L4"  # the last column: « capacité annuelle »
    for sheet in (entries, figures, gps):
        assert sheet.page_setup.orientation == "landscape"
        assert sheet.page_setup.fitToWidth == 1
        assert sheet.page_setup.fitToHeight == 0
        assert sheet.sheet_properties.pageSetUpPr.fitToPage
        assert sheet.print_title_rows == "$1:$1"
        assert "&P" in sheet.oddFooter.right.text
    assert entries.column_dimensions["A"].width >= len("demande")
    assert entries.column_dimensions["H"].width > 20  # motif de la recherche


def test_indicators_sheet(book_path: Path, register: Register) -> None:
    sheet = load_workbook(book_path)[SHEETS[1]]
    values = list(sheet.iter_rows(values_only=True))
    assert "février 2026" in str(values[0][0])
    assert sheet["A1"].font.bold
    labels = {row[0]: row for row in values if row[0] is not None}
    expected = indicators(register, FEB)
    assert labels["nouvelles demandes"][1] == expected.entries == 3
    assert labels["variation nette"][1] == expected.net_change
    titles = [t.title for t in expected.tables if t.name != "physicians"]
    for title in titles:
        assert title in labels
    share = next(c for row in sheet.iter_rows() for c in row if c.value == "taux d'utilisation")
    value_cell = sheet.cell(row=share.row, column=2)
    assert value_cell.number_format == "0.0%"


def test_physicians_sheet(book_path: Path) -> None:
    sheet = load_workbook(book_path)[SHEETS[2]]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "médecin"
    assert [r[0] for r in rows[1:]] == ["MG1", "MG2", "total"]
    assert rows[2][1] == '=HYPERLINK("x")'  # a name, not a formula
    assert sheet["G2"].number_format == "0.0%"
    assert sheet["A4"].font.bold  # total row


def test_formula_like_text_stays_text(register: Register, tmp_path: Path) -> None:
    path = write_follow_up_workbook(register, tmp_path / "perso.xlsx", FEB, personal=True)
    book = load_workbook(path)
    sheet = book[SHEETS[0]]
    header = [c.value for c in sheet[1]]
    assert header == list(FOLLOW_UP_COLUMNS + PERSONAL_COLUMNS)
    row = next(r for r in sheet.iter_rows(min_row=2) if r[0].value == "@R9")
    cells = dict(zip(header, row, strict=True))
    assert cells["demande"].data_type == "s"
    assert cells["commentaires"].value == FORMULA + " remarque"  # control character dropped
    assert cells["commentaires"].data_type == "s"
    assert cells["nom du médecin"].value == '=HYPERLINK("x")'
    assert cells["nom du médecin"].data_type == "s"
    assert cells["nom"].value == IDENTITY.last_name
    assert cells["courriel"].value == IDENTITY.email
    gp = book[SHEETS[2]]["B3"]
    assert (gp.value, gp.data_type) == ('=HYPERLINK("x")', "s")
    with zipfile.ZipFile(path) as archive:
        for name in archive.namelist():
            if name.startswith("xl/worksheets/"):
                xml = archive.read(name)
                ElementTree.fromstring(xml)  # well-formed
                assert b"<f>" not in xml  # no formula anywhere


def test_no_personal_data_by_default(book_path: Path) -> None:
    text = "\n".join(_cells(book_path))
    for value in (
        IDENTITY.last_name,
        IDENTITY.first_name,
        IDENTITY.phone,
        IDENTITY.email,
        "Testnom",
        "0600000000",
        "remarque",
    ):
        assert value not in text
    with zipfile.ZipFile(book_path) as archive:
        raw = b"".join(archive.read(n) for n in archive.namelist())
    assert IDENTITY.last_name.encode() not in raw
    assert IDENTITY.phone.encode() not in raw


def test_every_request(register: Register, tmp_path: Path) -> None:
    path = write_follow_up_workbook(register, tmp_path / "tout.xlsx", FEB, all_requests=True)
    sheet = load_workbook(path)[SHEETS[0]]
    ids = [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert ids == ["R8", "R7", "R6", "R1", "R2", "R3", "@R9", "R4"]  # R5: March
    r8 = next(r for r in sheet.iter_rows(min_row=2, values_only=True) if r[0] == "R8")
    assert r8[FOLLOW_UP_COLUMNS.index("délai (jours)")] == 51


def test_write_errors(register: Register, tmp_path: Path) -> None:
    with pytest.raises(WorkbookError, match="écriture impossible"):
        write_follow_up_workbook(register, tmp_path / "absent" / "suivi.xlsx", FEB)
    assert not list(tmp_path.iterdir())
    blocker = tmp_path / "fichier"
    blocker.write_text("x")
    with pytest.raises(WorkbookError):
        write_monthly_report(register, FEB, blocker / "rapport")
    with pytest.raises(PlotError):
        report_plots(register, FEB, blocker / "plots")


def test_plots(register: Register, tmp_path: Path) -> None:
    series = waiting_list_series(register, dt.date(2025, 11, 1), dt.date(2026, 2, 28))
    path = plot_waiting_list(series, tmp_path)
    assert path == tmp_path / "liste_attente.png"
    assert path.read_bytes().startswith(PNG)
    waits = plot_waits_by_level(indicators(register, FEB), tmp_path / "sous-dossier")
    assert waits.read_bytes().startswith(PNG)
    empty = plot_waits_by_level(indicators(register, "2025-11"), tmp_path, filename="vide.png")
    assert empty.read_bytes().startswith(PNG)
    nothing = WaitingListSeries(days=(dt.date(2026, 1, 1),), levels=(), counts=())
    assert plot_waiting_list(nothing, tmp_path, filename="rien.png").exists()
    first, second = report_plots(register, FEB, tmp_path / "rapport", months=3)
    assert (first.name, second.name) == ("liste_attente.png", "delais_par_niveau.png")
    assert not list(tmp_path.glob("**/*.tmp"))


def test_monthly_report(register: Register, tmp_path: Path) -> None:
    report = write_monthly_report(register, "2026-02", tmp_path / "rapport")
    assert report.folder == tmp_path / "rapport"
    assert report.workbook == report.folder / "suivi_2026-02.xlsx"
    assert [p.name for p in report.plots] == ["liste_attente.png", "delais_par_niveau.png"]
    assert report.indicators == indicators(register, FEB)
    assert load_workbook(report.workbook).sheetnames == list(SHEETS)
    span = Period(dt.date(2026, 1, 15), dt.date(2026, 2, 14))
    other = write_monthly_report(register, span, tmp_path / "rapport", months=2)
    assert other.workbook.name == "suivi_2026-01-15_2026-02-14.xlsx"
    assert "Zorglubnom" not in "\n".join(_cells(other.workbook))
