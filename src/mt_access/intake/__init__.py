"""Intake of patients' requests from exports of web forms and spreadsheets (CSV, XLSX)."""

from __future__ import annotations

from mt_access.intake.tabular import (
    IntakeError,
    Row,
    Table,
    normalize_text,
    parse_choice,
    parse_date,
    parse_decimal,
    parse_int,
    parse_yes_no,
    read_csv,
    read_table,
    read_xlsx,
)

__all__ = [
    "IntakeError",
    "Row",
    "Table",
    "normalize_text",
    "parse_choice",
    "parse_date",
    "parse_decimal",
    "parse_int",
    "parse_yes_no",
    "read_csv",
    "read_table",
    "read_xlsx",
]
