"""Exports people sort and filter (issue 15, point 2): typed XLSX cells from the columns'
declared types, frozen header, autofilter, widths; CSV as French Excel opens it, or standard;
user text never a formula in either."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mt_access._xlsx import clean
from mt_access.cli import EXIT_OK, main
from mt_access.export import STANDARD, ColumnType, ExportError, neutralise, typed, write_rows
from mt_access.privacy import EXPORT_COLUMNS, EXPORT_TYPES
from mt_access.pull_lists import LIST_COLUMNS, LIST_TYPES
from mt_access.workbook import FOLLOW_UP_COLUMNS, FOLLOW_UP_TYPES

COLUMNS = ("reçue le", "personnes", "distance (km)", "ALD", "téléphone", "commune (INSEE)")
TYPES = {
    "reçue le": ColumnType.DATE,
    "personnes": ColumnType.INTEGER,
    "distance (km)": ColumnType.DECIMAL,
    "ALD": ColumnType.YES_NO,
}
ROWS = [
    {
        "reçue le": "01/02/2026",
        "personnes": "2",
        "distance (km)": "2,5",
        "ALD": "oui",
        "téléphone": "0639980101",
        "commune (INSEE)": "01004",
    },
    {
        "reçue le": dt.date(2026, 3, 15),
        "personnes": 3,
        "distance (km)": 12.25,
        "ALD": False,
        "téléphone": "+33 6 39 98 01 02",
        "commune (INSEE)": '=HYPERLINK("http://x","clic")',
    },
    {
        "reçue le": "",
        "personnes": "2 sur 3",
        "distance (km)": None,
        "ALD": "",
        "téléphone": "",
        "commune (INSEE)": "38563",
    },
]


def _sheet(path: Path) -> Any:
    return openpyxl.load_workbook(path).active


def test_xlsx_cells_have_the_columns_types(tmp_path: Path) -> None:
    sheet = _sheet(write_rows(ROWS, COLUMNS, tmp_path / "f.xlsx", types=TYPES))
    first, second, third = (list(row) for row in sheet.iter_rows(min_row=2))
    assert first[0].value == dt.datetime(2026, 2, 1)
    assert first[0].is_date
    assert first[0].number_format == "DD/MM/YYYY"
    assert second[0].value == dt.datetime(2026, 3, 15)
    assert (first[1].value, first[1].data_type) == (2, "n")
    assert isinstance(second[1].value, int)
    assert (first[2].value, second[2].value) == (2.5, 12.25)
    assert (first[3].value, second[3].value) == ("oui", "non")
    # text columns stay text, leading zeros and all: types come from the column, not the text
    assert (first[4].value, first[4].data_type) == ("0639980101", "s")
    assert (first[5].value, first[5].data_type) == ("01004", "s")
    assert (second[4].value, second[4].data_type) == ("+33 6 39 98 01 02", "s")
    assert (second[5].value, second[5].data_type) == ('=HYPERLINK("http://x","clic")', "s")
    # empty is empty; a value that does not read as the column's type stays text
    assert [c.value for c in third] == [None, "2 sur 3", None, None, None, "38563"]


def test_xlsx_header_frozen_filtered_and_widths_fitted(tmp_path: Path) -> None:
    rows = [{**ROWS[0], "téléphone": "x" * 200}] * 40
    sheet = _sheet(write_rows(rows, COLUMNS, tmp_path / "f.xlsx", types=TYPES))
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == "A1:F41"
    widths = {k: d.width for k, d in sheet.column_dimensions.items()}
    assert widths["E"] == 60  # bounded
    assert widths["A"] >= 10  # a date's width
    assert widths["B"] >= len("personnes")
    assert all(6 <= w <= 60 for w in widths.values())


def test_french_csv_is_what_french_excel_opens(tmp_path: Path) -> None:
    data = write_rows(ROWS, COLUMNS, tmp_path / "f.csv", types=TYPES).read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    lines = data[3:].decode("utf-8").splitlines()
    assert lines[0] == ";".join(COLUMNS)
    assert lines[1] == "01/02/2026;2;2,5;oui;0639980101;01004"
    assert lines[2].startswith("15/03/2026;3;12,25;non;'+33 6 39 98 01 02;")
    read = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    assert read[2][5] == '\'=HYPERLINK("http://x","clic")'  # OWASP: quoted, never run
    assert read[3] == ["", "2 sur 3", "", "", "", "38563"]


def test_standard_csv_for_analysis_tools(tmp_path: Path) -> None:
    path = write_rows(ROWS, COLUMNS, tmp_path / "f.csv", types=TYPES, csv_format=STANDARD)
    data = path.read_bytes()
    assert not data.startswith(b"\xef\xbb\xbf")
    read = list(csv.reader(io.StringIO(data.decode("utf-8"))))
    assert read[0] == list(COLUMNS)
    assert read[1] == ["2026-02-01", "2", "2.5", "oui", "0639980101", "01004"]
    assert read[2][:3] == ["2026-03-15", "3", "12.25"]
    assert read[2][4] == "'+33 6 39 98 01 02"  # the formula guard holds here too
    with pytest.raises(ExportError, match="format CSV"):
        write_rows(ROWS, COLUMNS, tmp_path / "g.csv", csv_format="tsv")  # type: ignore[arg-type]


def test_typed_reads_the_projects_text_and_keeps_the_rest() -> None:
    assert typed("2026-03-01", ColumnType.DATE) == dt.date(2026, 3, 1)
    assert typed("31/02/2026", ColumnType.DATE) == "31/02/2026"
    assert typed(dt.datetime(2026, 3, 1, 12), ColumnType.DATE) == dt.date(2026, 3, 1)
    assert typed("-4", ColumnType.INTEGER) == -4
    assert typed(True, ColumnType.INTEGER) == "oui"
    assert typed("1,0", ColumnType.DECIMAL) == 1.0
    assert typed(float("nan"), ColumnType.DECIMAL) == "nan"
    assert typed(True, ColumnType.YES_NO) == "oui"
    assert typed(7, ColumnType.TEXT) == "7"
    assert typed("", ColumnType.INTEGER) is None


def test_declared_types_name_real_columns() -> None:
    assert set(EXPORT_TYPES) <= set(EXPORT_COLUMNS)
    assert set(FOLLOW_UP_TYPES) <= set(FOLLOW_UP_COLUMNS)
    assert set(LIST_TYPES) <= set(LIST_COLUMNS)
    for codes in ("commune (INSEE)", "téléphone", "médecin traitant", "pseudonyme"):
        assert codes not in {**EXPORT_TYPES, **FOLLOW_UP_TYPES, **LIST_TYPES}


@settings(max_examples=60, deadline=None)
@given(
    texts=st.lists(st.text(max_size=40), min_size=1, max_size=5),
    kind=st.sampled_from(list(ColumnType)),
)
def test_user_text_round_trips_as_text_never_a_formula(
    tmp_path_factory: pytest.TempPathFactory, texts: list[str], kind: ColumnType
) -> None:
    folder = tmp_path_factory.mktemp("x")
    rows = [{"a": t} for t in texts]
    sheet: Any = _sheet(write_rows(rows, ["a"], folder / "f.xlsx"))
    for i, text in enumerate(texts, start=2):
        cell = sheet.cell(row=i, column=1)
        expected = clean(text)
        if expected:
            assert (cell.value, cell.data_type) == (expected, "s")
        else:
            assert cell.value is None
    # in a typed column, a text is its type or stays text: never a formula
    sheet = _sheet(write_rows(rows, ["a"], folder / "g.xlsx", types={"a": kind}))
    for i in range(2, len(texts) + 2):
        cell = sheet.cell(row=i, column=1)
        assert cell.data_type != "f"
        if isinstance(cell.value, str):
            assert cell.data_type == "s"
    # and in CSV, the text comes back whole, behind a quote where it could run
    path = write_rows(rows, ["a"], folder / "f.csv")
    with path.open(encoding="utf-8-sig", newline="") as handle:
        read = [r[0] if r else "" for r in list(csv.reader(handle, delimiter=";"))[1:]]
    assert read == [neutralise(t) for t in texts]


# --- through the command line, on the demo register


def _run(*args: str) -> int:
    return main(list(args), out=io.StringIO(), err=io.StringIO())


@pytest.fixture(scope="module")
def demo_register(tmp_path_factory: pytest.TempPathFactory) -> str:
    folder = tmp_path_factory.mktemp("demo") / "sortie"
    assert _run("demo", "--dossier", str(folder)) == EXIT_OK
    return str(folder / "registre.sqlite")


def test_export_command_writes_typed_cells(tmp_path: Path, demo_register: str) -> None:
    target = tmp_path / "demandes.xlsx"
    args = ("--registre", demo_register, "--date", "31/03/2026")
    assert _run("export", str(target), *args, "--nominatif") == EXIT_OK
    sheet = _sheet(target)
    header = [c.value for c in sheet[1]]
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    assert rows
    column = {name: [r[header.index(name)] for r in rows] for name in header}
    assert all(isinstance(v, dt.datetime) for v in column["reçue le"])
    assert all(isinstance(v, int) for v in column["personnes"])
    assert all(isinstance(v, str) for v in column["commune (INSEE)"])
    assert all(isinstance(v, str) and v.startswith("0") for v in column["téléphone"] if v)
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == f"A1:{sheet.cell(1, len(header)).column_letter}{len(rows) + 1}"

    shared = tmp_path / "partage.xlsx"
    assert _run("export", str(shared), *args, "--pseudonymise") == EXIT_OK
    sheet = _sheet(shared)
    header = [c.value for c in sheet[1]]
    (first, *_) = sheet.iter_rows(min_row=2, values_only=True)
    assert isinstance(first[header.index("reçue le")], dt.datetime)
    assert isinstance(first[header.index("propositions")], int)
    assert first[header.index("ALD")] in ("oui", "non")


def test_export_command_csv_formats(tmp_path: Path, demo_register: str) -> None:
    args = ("--registre", demo_register, "--date", "31/03/2026")
    french, plain = tmp_path / "fr.csv", tmp_path / "std.csv"
    assert _run("export", str(french), *args) == EXIT_OK
    assert _run("export", str(plain), *args, "--csv-standard") == EXIT_OK
    first = french.read_bytes()
    assert first.startswith(b"\xef\xbb\xbfdemande;re\xc3\xa7ue le;")
    line = first.decode("utf-8-sig").splitlines()[1].split(";")
    assert dt.datetime.strptime(line[1], "%d/%m/%Y")
    line = plain.read_text(encoding="utf-8").splitlines()[1].split(",")
    assert dt.date.fromisoformat(line[1])
    assert _run("export", str(tmp_path / "x.xlsx"), *args, "--csv-standard") != EXIT_OK
