"""Dates written with French month names: « 3 janvier 2026 », « 03-janv-2026 », « 1er mars
2026 », « janv. 2026 ».

``strptime``'s ``%b`` and ``%B`` read the month names of the C locale (English) only, and
switching the process locale is neither portable nor thread-safe. A date column written with
French month names is declared in a mapping's ``formats:`` with one of two named formats
(:data:`FRENCH_FORMATS`), which :func:`read_dated` tries like the ``strptime`` ones:

* :data:`DAY_MONTH_YEAR` (``"jj mois aaaa"``): a day (``1er`` accepted), a French month name
  or abbreviation (``janvier``, ``janv.``, ``janv``, ``févr.``, ``fev``, ``juil.``,
  ``sept.``...) and a four-digit year, separated by spaces, dashes, slashes or dots; a
  weekday before (« lundi 5 janvier 2026 ») and a time after (« à 10h30 ») are ignored;
* :data:`MONTH_YEAR` (``"mois aaaa"``): a month and a year only, read as **the first day of
  the month**. That is what a follow-up sheet kept by month means (« janv. 2026 »): the
  request is counted in its month; a wait computed from such a date is only accurate to the
  month. :mod:`mt_access.intake.deduce` never proposes it for a birth date.

Nothing here does I/O.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping

from mt_access.intake.tabular import normalize_text

__all__ = [
    "DAY_MONTH_YEAR",
    "FRENCH_FORMATS",
    "FRENCH_MONTHS",
    "MONTH_YEAR",
    "parse_french_date",
    "read_dated",
]

DAY_MONTH_YEAR = "jj mois aaaa"
"""The named format of « 3 janvier 2026 », « 03-janv-2026 »."""

MONTH_YEAR = "mois aaaa"
"""The named format of « janv. 2026 », « janvier 2026 »: the first day of the month."""

FRENCH_FORMATS: Mapping[str, str] = {
    DAY_MONTH_YEAR: "mois en toutes lettres « 3 janvier 2026 », « 03-janv-2026 »",
    MONTH_YEAR: "mois et année « janv. 2026 », lus comme le 1er du mois",
}
"""The named formats a ``formats:`` list accepts besides ``strptime`` formats, with their
French description."""

FRENCH_MONTHS: Mapping[str, int] = {
    **dict.fromkeys(("janvier", "janv", "jan", "janvie"), 1),
    **dict.fromkeys(("fevrier", "fevr", "fev", "fevrie"), 2),
    **dict.fromkeys(("mars", "mar"), 3),
    **dict.fromkeys(("avril", "avr"), 4),
    **dict.fromkeys(("mai",), 5),
    **dict.fromkeys(("juin",), 6),
    **dict.fromkeys(("juillet", "juil", "jul"), 7),
    **dict.fromkeys(("aout", "aou"), 8),
    **dict.fromkeys(("septembre", "sept", "sep"), 9),
    **dict.fromkeys(("octobre", "oct"), 10),
    **dict.fromkeys(("novembre", "nov"), 11),
    **dict.fromkeys(("decembre", "dec"), 12),
}
"""French month names and abbreviations (without accents nor the final dot) → month."""

_WEEKDAY = r"(?:(?:lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche)[\s,]+)?"
_SEP = r"[\s./-]*"
_TIME = r"(?:[\s,]+(?:a\s+)?\d{1,2}[:h]\d{2}(?::\d{2})?)?"
_DMY = re.compile(rf"{_WEEKDAY}(\d{{1,2}}|1er){_SEP}([a-z]+)\.?{_SEP}(\d{{4}}){_TIME}", re.ASCII)
_MY = re.compile(rf"([a-z]+)\.?{_SEP}(\d{{4}})", re.ASCII)


def parse_french_date(text: str, fmt: str = DAY_MONTH_YEAR) -> dt.date | None:
    """The date ``text`` holds in the named format ``fmt`` (:data:`DAY_MONTH_YEAR` or
    :data:`MONTH_YEAR`), or ``None`` when it does not (unknown month name, impossible
    date)."""
    key = normalize_text(text)
    if fmt == DAY_MONTH_YEAR:
        match = _DMY.fullmatch(key)
        if match is None:
            return None
        day_text, month_text, year_text = match.groups()
        day = 1 if day_text == "1er" else int(day_text)
    elif fmt == MONTH_YEAR:
        match = _MY.fullmatch(key)
        if match is None:
            return None
        month_text, year_text = match.groups()
        day = 1
    else:
        return None
    month = FRENCH_MONTHS.get(month_text)
    if month is None:
        return None
    try:
        return dt.date(int(year_text), month, day)
    except ValueError:
        return None


def read_dated(text: str, formats: Iterable[str]) -> dt.date | None:
    """The date ``text`` holds in the first of ``formats`` that reads it (``strptime``
    formats and the named French ones, :data:`FRENCH_FORMATS`), or ``None``."""
    stripped = text.strip()
    for fmt in formats:
        if fmt in FRENCH_FORMATS:
            found = parse_french_date(stripped, fmt)
            if found is not None:
                return found
            continue
        try:
            return dt.datetime.strptime(stripped, fmt).date()
        except ValueError:
            continue
    return None
