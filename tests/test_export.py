"""XLSX exports (mt_access.export) through the fast path shared with the follow-up workbook
(mt_access._xlsx): the same treatment of text cells in both."""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path

import openpyxl
import pytest

from mt_access._xlsx import column_letters, rows_xml
from mt_access.export import write_rows

TRICKY = [
    "=cmd|' /C calc'!A0",
    "+33 6 12 34 56 78",
    "-2",
    "@SUM(A1)",
    "#N/A",
    "\t=1",
    "  espaces autour  ",
    "a < b & c > d",
    "Œuvrard, Zoé — « 50 € »",
]


@pytest.mark.parametrize("text", TRICKY)
def test_text_cells_stay_text(tmp_path: Path, text: str) -> None:
    path = write_rows([{"a": text, "b": "x"}], ["a", "b"], tmp_path / "f.xlsx")
    sheet = openpyxl.load_workbook(path).active
    assert sheet["A2"].value == text
    assert sheet["A2"].data_type == "s"
    assert sheet["B2"].value == "x"


def test_control_characters_are_dropped_as_in_the_workbook(tmp_path: Path) -> None:
    path = write_rows([{"a": "=x\x07 remarque\x00"}], ["a"], tmp_path / "f.xlsx")
    assert openpyxl.load_workbook(path).active["A2"].value == "=x remarque"


def test_header_bold_frozen_and_sheet_name(tmp_path: Path) -> None:
    rows = [{"nom": f"n{i}", "commune": "Voiron"} for i in range(30)]
    path = write_rows(rows, ["nom", "commune"], tmp_path / "f.xlsx", sheet="Rejets")
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["Rejets"]
    sheet = book["Rejets"]
    assert [c.value for c in sheet[1]] == ["nom", "commune"]
    assert sheet["A1"].font.bold
    assert sheet.freeze_panes == "A2"
    assert sheet.max_row == 31
    assert [c.value for c in sheet[31]] == ["n29", "Voiron"]


def test_the_rows_are_written_as_inline_strings_not_formulas(tmp_path: Path) -> None:
    path = write_rows([{"a": "=1+1"}], ["a"], tmp_path / "f.xlsx")
    with zipfile.ZipFile(path) as archive:
        xml = archive.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in xml
    assert 't="inlineStr"><is><t>=1+1</t></is>' in xml


def test_empty_export_and_many_columns(tmp_path: Path) -> None:
    columns = [f"c{j}" for j in range(30)]
    path = write_rows([], columns, tmp_path / "f.xlsx")
    sheet = openpyxl.load_workbook(path).active
    assert [c.value for c in sheet[1]] == columns
    assert sheet.max_row == 1
    assert column_letters(28)[-3:] == ["Z", "AA", "AB"]


def test_rows_xml_types_and_styles() -> None:
    (row,) = rows_xml([("t", 3, 2.5, True, dt.date(2026, 3, 1), None, "")], 7, (0, 4))
    assert row.startswith('<row r="7"><c r="A7" t="inlineStr">')
    assert '<c r="B7" s="4" t="n"><v>3</v></c>' in row
    assert '<c r="D7" t="b"><v>1</v></c>' in row
    assert '<c r="E7" t="n"><v>46082</v></c>' in row
    assert "F7" not in row
    assert "G7" not in row
