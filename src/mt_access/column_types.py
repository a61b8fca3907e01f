"""The declared type of a column of a table written for people (:mod:`mt_access.export`):
core, so that the modules building rows (questions, privacy, lists) can say what their
columns are without importing the writer."""

from __future__ import annotations

import enum

__all__ = ["ColumnType"]


class ColumnType(enum.StrEnum):
    """What the cells of an export column are: how they are written in XLSX and CSV
    (:func:`mt_access.export.write_rows`). The type comes from what the column means, never
    from what a cell's text looks like."""

    TEXT = "texte"
    DATE = "date"
    INTEGER = "entier"
    DECIMAL = "décimal"
    YES_NO = "oui_non"
