"""Writing tables for people: XLSX they can sort and filter, and CSV as French spreadsheets
read it.

Each column has a declared type (:class:`ColumnType`), given where the rows are built (e.g.
:data:`mt_access.privacy.EXPORT_TYPES`): the type comes from what the column means, never
from what a cell's text looks like, so a phone number or an INSEE code with leading zeros in
a text column stays text. A cell of a typed column may be given as a Python value (a date,
an int...) or as the project's French text for it (``"01/01/2026"`` or ``"2026-01-01"``,
``"21"``, ``"2,5"``); a text that does not read as the column's type is written as text.

* XLSX: dates as real dates shown ``jj/mm/aaaa``, integers and decimals as numbers, yes/no as
  « oui » / « non », empty cells empty; a bold header row, frozen, an autofilter over the
  data, column widths fitted to the content (between 6 and 60 characters).
* CSV, by default as French Excel opens it (:data:`EXCEL_FR`): ``;`` separator, UTF-8 with a
  byte order mark, decimal comma, dates ``jj/mm/aaaa``. :data:`STANDARD` is the plain CSV
  of analysis tools: ``,`` separator, UTF-8 without BOM, decimal point, ISO dates.

Yes/no columns are written « oui » / « non » rather than spreadsheet booleans: the filter then
lists the words of the forms and letters (French Excel and LibreOffice show booleans as
VRAI/FAUX, and LibreOffice stores them as the numbers 1 and 0), ``NB.SI(…;"oui")`` counts
them, and the CSV and the XLSX say the same.

Text never runs as a formula. A text cell that a spreadsheet would read as one (it starts
with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return: text typed by users, e.g.
``=cmd|' /C calc'!A0``) is, in CSV, prefixed with an apostrophe, as OWASP recommends (in both
CSV formats); in XLSX every text is an inline string, never a formula, and the control
characters XML cannot hold are dropped, as in the follow-up workbook: both write XLSX
through the same fast path (:mod:`mt_access._xlsx`: 100,000 rows in about a third of the
time of openpyxl's normal mode, without holding the sheet in memory).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import os
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from mt_access._xlsx import Value, column_letters, rows_xml, splice_rows
from mt_access.column_types import ColumnType
from mt_access.errors import ExportError

__all__ = [
    "CSV_FORMATS",
    "EXCEL_FR",
    "STANDARD",
    "ColumnType",
    "CsvFormat",
    "ExportError",
    "neutralise",
    "typed",
    "write_rows",
]

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


CsvFormat = Literal["excel_fr", "standard"]
EXCEL_FR: CsvFormat = "excel_fr"
"""CSV as French Excel opens it: ``;``, UTF-8 with BOM, decimal comma, ``jj/mm/aaaa``."""
STANDARD: CsvFormat = "standard"
"""CSV for analysis tools: ``,``, UTF-8 without BOM, decimal point, ``AAAA-MM-JJ``."""
CSV_FORMATS: tuple[CsvFormat, ...] = (EXCEL_FR, STANDARD)

_DATE_FORMAT = "DD/MM/YYYY"  # shown jj/mm/aaaa by a French Excel or LibreOffice
_FRENCH_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")
_ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_INTEGER = re.compile(r"-?\d{1,15}")
_DECIMAL = re.compile(r"-?\d{1,15}(?:[.,]\d{1,15})?")
_WIDTH_SAMPLE = 500  # rows measured for the column widths
_MIN_WIDTH, _MAX_WIDTH = 6, 60


def neutralise(text: str) -> str:
    """``text`` made safe for a CSV cell: prefixed with ``'`` if a spreadsheet would read it
    as a formula."""
    if text.startswith(_FORMULA_STARTS):
        return "'" + text
    return text


def _date(value: object) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        text = value.strip()
        french, iso = _FRENCH_DATE.fullmatch(text), _ISO_DATE.fullmatch(text)
        try:
            if french is not None:
                return dt.date(int(french[3]), int(french[2]), int(french[1]))
            if iso is not None:
                return dt.date(int(iso[1]), int(iso[2]), int(iso[3]))
        except ValueError:
            return None
    return None


def _as_text(value: object) -> str:
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, dt.date):
        return f"{value:%d/%m/%Y}"
    return str(value)


def typed(value: object, kind: ColumnType) -> Value:
    """``value`` as the cell of a ``kind`` column: ``None`` when empty; a date, an int or a
    float for those types (read from the project's text for them when given as text); « oui »
    or « non » for a boolean; otherwise text (a value that does not read as ``kind`` stays
    as it is, in text)."""
    if isinstance(value, str) and kind is ColumnType.TEXT:
        return value or None  # the common case, first
    if value is None or value == "":
        return None
    if kind is ColumnType.DATE:
        day = _date(value)
        if day is not None:
            return day
    elif kind is ColumnType.INTEGER and not isinstance(value, bool):
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
            return int(value)
    elif kind is ColumnType.DECIMAL and not isinstance(value, bool):
        if isinstance(value, int | float) and math.isfinite(value):
            return value
        if isinstance(value, str) and _DECIMAL.fullmatch(value.strip()):
            number = float(value.replace(",", "."))
            return int(number) if number.is_integer() and "," not in value else number
    return _as_text(value)


def _csv_cell(value: Value, style: CsvFormat) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return neutralise(value)
    if isinstance(value, dt.date):
        return value.isoformat() if style == STANDARD else f"{value:%d/%m/%Y}"
    if isinstance(value, float):
        text = repr(value)
        return text if style == STANDARD else text.replace(".", ",")
    return str(value)


def write_rows(
    rows: Sequence[Mapping[str, object]],
    columns: Sequence[str],
    path: str | os.PathLike[str],
    *,
    sheet: str = "export",
    types: Mapping[str, ColumnType] | None = None,
    csv_format: CsvFormat = EXCEL_FR,
) -> Path:
    """Write ``rows`` (cells by column name) to ``path``, in ``columns`` order.

    Each cell is written as its column's type in ``types`` (:func:`typed`; a column not in
    ``types`` is text). The format follows the suffix: ``.csv`` (``csv_format``: French
    Excel's by default, or :data:`STANDARD`) or ``.xlsx`` (one sheet, typed cells, header
    row in bold, frozen, autofilter, fitted widths). The file is written next to its final
    place then renamed, so a reader never sees half a file.

    Raises:
        ExportError: an unknown suffix or CSV format, or a row without one of the columns.
    """
    target = Path(path)
    suffix = target.suffix.lower()
    for number, row in enumerate(rows, start=1):
        missing = [c for c in columns if c not in row]
        if missing:
            raise ExportError(f"{target} : ligne {number} sans la colonne {missing[0]!r}")
    if suffix not in (".csv", ".xlsx"):
        raise ExportError(f"{target} : format inconnu {suffix!r} (.csv ou .xlsx attendu)")
    if csv_format not in CSV_FORMATS:
        raise ExportError(f"format CSV inconnu {csv_format!r} (attendu : {', '.join(CSV_FORMATS)})")
    kinds = [(types or {}).get(c, ColumnType.TEXT) for c in columns]

    def cells(chosen: Sequence[Mapping[str, object]]) -> Iterator[list[Value]]:
        for row in chosen:
            yield [typed(row[c], k) for c, k in zip(columns, kinds, strict=True)]

    tmp = target.with_name(f".{target.name}.tmp")
    try:
        if suffix == ".csv":
            standard = csv_format == STANDARD
            encoding = "utf-8" if standard else "utf-8-sig"
            with tmp.open("w", encoding=encoding, newline="") as handle:
                writer = csv.writer(
                    handle, delimiter="," if standard else ";", quoting=csv.QUOTE_MINIMAL
                )
                writer.writerow([neutralise(c) for c in columns])
                for line in cells(rows):
                    writer.writerow([_csv_cell(v, csv_format) for v in line])
        else:
            sample = list(cells(rows[:_WIDTH_SAMPLE]))
            _write_xlsx(cells(rows), len(rows), sample, columns, kinds, tmp, sheet)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)  # nothing half-written is left behind
    return target


def _width(value: Value) -> int:
    if value is None:
        return 0
    if isinstance(value, dt.date):
        return 10
    if isinstance(value, float):
        return len(f"{value:.3f}".rstrip("0"))
    return len(str(value))


def _write_xlsx(
    rows: Iterable[list[Value]],
    count: int,
    sample: Sequence[Sequence[Value]],
    columns: Sequence[str],
    kinds: Sequence[ColumnType],
    path: Path,
    sheet: str,
) -> None:
    from openpyxl import Workbook  # type: ignore[import-untyped, unused-ignore]
    from openpyxl.cell import WriteOnlyCell  # type: ignore[import-untyped, unused-ignore]
    from openpyxl.styles import Font  # type: ignore[import-untyped, unused-ignore]

    book = Workbook(write_only=True)
    ws: Any = book.create_sheet(sheet[:31])
    title = ws.title
    letters = column_letters(len(columns))
    for j, (letter, name) in enumerate(zip(letters, columns, strict=True)):
        # the header's filter button takes about two characters
        width = max([len(name) + 2, *(_width(r[j]) for r in sample)])
        ws.column_dimensions[letter].width = min(max(width + 2, _MIN_WIDTH), _MAX_WIDTH)
    ws.freeze_panes = "A2"
    if columns:
        ws.auto_filter.ref = f"A1:{letters[-1]}{count + 1}"
    header = []
    bold = Font(bold=True)
    for name in columns:
        cell = WriteOnlyCell(ws, value=name)
        cell.data_type = "s"  # text, even when it starts with "=": never a formula
        cell.font = bold
        header.append(cell)
    ws.append(header)
    styles = []
    for kind in kinds:
        if kind is ColumnType.DATE:
            cell = WriteOnlyCell(ws, value=0)
            cell.number_format = _DATE_FORMAT
            styles.append(int(cell.style_id))
        else:
            styles.append(0)
    frame = io.BytesIO()
    book.save(frame)  # the header and the sheet's setup; the rows are streamed in
    with path.open("wb") as stream:
        splice_rows(frame.getvalue(), {title: rows_xml(rows, 2, styles)}, stream)
