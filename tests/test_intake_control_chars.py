"""Control characters in a form export or a GP file (NUL, escape sequences...) are taken out
when the cells are read: invisible in a spreadsheet, meaningless in a name, and refused by
PostgreSQL in any text (a NUL in one cell stopped a whole import at the store)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mt_access.intake.tabular import read_table, visible

DIRTY = "Fict\x00ive\x1b[31m"


def test_visible_keeps_tabs_and_line_breaks_only() -> None:
    assert visible("a\x00b\x07c\x0bd\x0ce\x1bf\x7fg") == "abcdefg"
    assert visible("ligne 1\nligne 2\r\n\tfin") == "ligne 1\nligne 2\r\n\tfin"
    assert visible("Élodie Œ ß 😀") == "Élodie Œ ß 😀"


@pytest.mark.parametrize("encoding", ["utf-8", "cp1252", "utf-16"])
def test_a_csv_cell_loses_its_control_characters(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "export.csv"
    path.write_text(f"Nom;Commune\n{DIRTY};Voiron\n", encoding=encoding)
    table = read_table(path)
    assert table.headers == ("Nom", "Commune")
    [row] = table.rows
    assert row.values == {"Nom": "Fictive[31m", "Commune": "Voiron"}
