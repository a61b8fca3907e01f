"""The rejections file: the problems and duplicates of an import, for the coordinator,
formula-like cells neutralised.
"""

from __future__ import annotations

import re
from pathlib import Path

from mt_access.export import ColumnType, neutralise, write_rows
from mt_access.intake.records import IntakeResult

__all__ = ["neutralize_cell", "write_rejections"]


_REPORT_HEADERS = ("ligne", "colonne", "valeur", "message")
_REPORT_TYPES = {"ligne": ColumnType.INTEGER}  # the rest is text, the cell's value as read
_SHEET_SUFFIX = re.compile(r"(.+)\[[^\[\]]*\]")


def neutralize_cell(text: str) -> str:
    """``text`` made safe for a spreadsheet: a cell starting with ``=``, ``+``, ``-``, ``@``,
    a tab or a carriage return is prefixed with ``'``, so that it is never run as a formula
    (:func:`mt_access.export.neutralise`)."""
    return neutralise(text)


def _report_rows(result: IntakeResult) -> list[tuple[int, str, str, str]]:
    rows: list[tuple[int, int, str, str, str]] = []
    for index, problem in enumerate(result.problems):
        rows.append((problem.row, index, problem.column or "", problem.value, problem.expected))
    for index, duplicate in enumerate(result.duplicates, start=len(rows)):
        rows.append((duplicate.row, index, "", "", duplicate.explanation))
    rows.sort(key=lambda r: (r[0], r[1]))
    return [(row, column, value, message) for row, _, column, value, message in rows]


def _default_report_path(source: str) -> Path:
    path = Path(source)
    match = _SHEET_SUFFIX.fullmatch(source)
    if match is not None and not path.exists():
        path = Path(match[1])
    return path.with_name(f"{path.stem}.rejets.csv")


def write_rejections(result: IntakeResult, path: str | Path | None = None) -> Path:
    """Write the rows not imported (problems and duplicates) for the coordinator.

    One line per problem or duplicate, by row: ``ligne``, ``colonne``, ``valeur`` (the cell's
    text), ``message`` (in French). A ``.xlsx`` path writes a workbook (the row number as a
    number, the rest as text, never a formula; frozen header, autofilter); a ``.csv`` path a
    CSV file as French Excel reads it (``;`` separators, UTF-8 with a byte order mark), where
    a text starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is prefixed
    with ``'`` (:func:`neutralize_cell`), so that a spreadsheet never runs it as a formula
    (:func:`mt_access.export.write_rows`).

    Args:
        result: what :func:`import_table` returned.
        path: the file to write; by default ``<stem>.rejets.csv`` next to the file imported.

    Returns:
        The path written.
    """
    target = Path(path) if path is not None else _default_report_path(result.source)
    rows = [
        dict(zip(_REPORT_HEADERS, (str(row), column, value, message), strict=True))
        for row, column, value, message in _report_rows(result)
    ]
    write_rows(rows, _REPORT_HEADERS, target, sheet="Rejets", types=_REPORT_TYPES)
    return target
