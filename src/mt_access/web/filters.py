"""Jinja2 filters of the pages: dates and times in French, labels of states and events."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Flask

__all__ = ["cell", "fr_date", "fr_datetime", "install", "label"]


def fr_date(value: dt.date | None) -> str:
    """``15/03/2026``; empty for ``None``."""
    return "" if value is None else f"{value:%d/%m/%Y}"


def fr_datetime(value: dt.datetime | None) -> str:
    """``15/03/2026 à 09:30 UTC``; empty for ``None``."""
    if value is None:
        return ""
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC)
    return f"{value:%d/%m/%Y à %H:%M} UTC"


def label(value: Any) -> str:
    """The French label of an enum value of the library (``.label``), else its text."""
    found = getattr(value, "label", None)
    if isinstance(found, str):
        return found
    return "" if value is None else str(getattr(value, "value", value))


def cell(value: Any) -> str:
    """A table cell: a number in French (« 12,5 »), « — » for nothing."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, float):
        return f"{value:.1f}".replace(".", ",")
    return str(value)


def install(app: Flask) -> None:
    """Add the filters to the application's templates."""
    app.add_template_filter(fr_date, "date_fr")
    app.add_template_filter(fr_datetime, "heure_fr")
    app.add_template_filter(label, "libelle")
    app.add_template_filter(cell, "cellule")
