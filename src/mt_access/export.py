"""Writing tables for people: CSV as French spreadsheets read it, and XLSX.

Every cell is written as text. A cell that a spreadsheet would run as a formula (it starts with
``=``, ``+``, ``-``, ``@``, a tab or a carriage return: text typed by users, e.g.
``=cmd|' /C calc'!A0``) is neutralised: in CSV it is prefixed with an apostrophe, as OWASP
recommends; in XLSX it is stored as a text cell, never as a formula, and the control
characters XML cannot hold are dropped, as in the follow-up workbook: both write XLSX through
the same fast path (:mod:`mt_access._xlsx`: 100,000 rows in about a third of the time of
openpyxl's normal mode, without holding the sheet in memory).
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from mt_access._xlsx import column_letters, rows_xml, splice_rows
from mt_access.errors import ExportError

__all__ = ["ExportError", "neutralise", "write_rows"]

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(text: str) -> str:
    """``text`` made safe for a CSV cell: prefixed with ``'`` if a spreadsheet would read it
    as a formula."""
    if text.startswith(_FORMULA_STARTS):
        return "'" + text
    return text


def write_rows(
    rows: Sequence[Mapping[str, str]],
    columns: Sequence[str],
    path: str | os.PathLike[str],
    *,
    sheet: str = "export",
) -> Path:
    """Write ``rows`` (text cells by column name) to ``path``, in ``columns`` order.

    The format follows the suffix: ``.csv`` (``;`` separator, UTF-8 with BOM so that Excel
    reads the accents) or ``.xlsx`` (one sheet, header row in bold, frozen). The file is
    written next to its final place then renamed, so a reader never sees half a file.

    Raises:
        ExportError: an unknown suffix, or a row without one of the columns.
    """
    target = Path(path)
    suffix = target.suffix.lower()
    for number, row in enumerate(rows, start=1):
        missing = [c for c in columns if c not in row]
        if missing:
            raise ExportError(f"{target} : ligne {number} sans la colonne {missing[0]!r}")
    if suffix not in (".csv", ".xlsx"):
        raise ExportError(f"{target} : format inconnu {suffix!r} (.csv ou .xlsx attendu)")
    tmp = target.with_name(f".{target.name}.tmp")
    try:
        if suffix == ".csv":
            with tmp.open("w", encoding="utf-8-sig", newline="") as handle:
                writer = csv.writer(handle, delimiter=";", quoting=csv.QUOTE_MINIMAL)
                writer.writerow([neutralise(c) for c in columns])
                for row in rows:
                    writer.writerow([neutralise(str(row[c])) for c in columns])
        else:
            _write_xlsx(rows, columns, tmp, sheet)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)  # nothing half-written is left behind
    return target


def _write_xlsx(
    rows: Sequence[Mapping[str, str]], columns: Sequence[str], path: Path, sheet: str
) -> None:
    from openpyxl import Workbook  # type: ignore[import-untyped, unused-ignore]
    from openpyxl.cell import WriteOnlyCell  # type: ignore[import-untyped, unused-ignore]
    from openpyxl.styles import Font  # type: ignore[import-untyped, unused-ignore]

    book = Workbook(write_only=True)
    ws: Any = book.create_sheet(sheet[:31])
    title = ws.title
    letters = column_letters(len(columns))
    for letter, name in zip(letters, columns, strict=True):
        width = max([len(name), *(len(str(r[name])) for r in rows[:200])])
        ws.column_dimensions[letter].width = min(width + 2, 60)
    ws.freeze_panes = "A2"
    header = []
    bold = Font(bold=True)
    for name in columns:
        cell = WriteOnlyCell(ws, value=name)
        cell.data_type = "s"  # text, even when it starts with "=": never a formula
        cell.font = bold
        header.append(cell)
    ws.append(header)
    frame = io.BytesIO()
    book.save(frame)  # the header and the sheet's setup; the rows are streamed in
    cells = ([str(row[name]) for name in columns] for row in rows)
    with path.open("wb") as stream:
        splice_rows(frame.getvalue(), {title: rows_xml(cells, 2)}, stream)
