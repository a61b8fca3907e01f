"""Reading the cells of a form field: text, numbers, dates, yes/no and choices, with a French
message naming what was expected when a cell is bad (never its value).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from mt_access.errors import IntakeError
from mt_access.intake.forms import (
    FieldType,
    FormField,
)
from mt_access.intake.french_dates import read_dated
from mt_access.intake.outcomes import FollowUpOutcome
from mt_access.intake.tabular import (
    Row,
    normalize_text,
    parse_date,
    parse_int,
    parse_yes_no,
)
from mt_access.model import (
    HomeVisitNeed,
    ReferrerKind,
    SearchReason,
)

MIN_BIRTH_YEAR = 1900


class BadCell:
    """A cell that cannot be read (cached like a value)."""

    __slots__ = ("candidates", "expected")

    def __init__(self, expected: str, candidates: tuple[tuple[str, str, str], ...] = ()) -> None:
        self.expected = expected
        self.candidates = candidates


_DEFAULTS: Mapping[str, Any] = {
    "adults": 1,
    "children": 0,
    "home_visits": HomeVisitNeed.NONE,
    "reason": SearchReason.OTHER,
    "referrer_kind": ReferrerKind.PATIENT,
    "outcome": FollowUpOutcome.OPEN,
}


_DIGITS = re.compile(r"[+-]?[0-9][0-9 \u00a0\u202f]*", re.ASCII)
_TOO_BIG = 2**63  # stands for a number with too many digits: outside every bound


def _count(number: int) -> str:
    """``120 000``: thousands separated by a non-breaking space, as French writes them."""
    return f"{number:,}".replace(",", "\u00a0")


def _wordings(pairs: Iterable[str]) -> str:
    return ", ".join(f"« {wording} »" for wording in pairs)


class FieldReader:
    """Reads one field of every row: finds its cell, converts it, caches by cell text."""

    __slots__ = ("cache", "column", "columns", "convert", "field", "lookup")

    def __init__(self, form_field: FormField, columns: tuple[str, ...]) -> None:
        self.field = form_field
        self.columns = columns
        self.column: str | None = (
            " + ".join(columns) if form_field.join else (columns or (None,))[0]
        )
        self.lookup = form_field.lookup()
        self.cache: dict[str, Any] | None = None
        spec = form_field.spec
        self.convert: Callable[[str], Any]
        if spec.type is FieldType.TEXT:
            self.convert = self._text
        elif spec.type is FieldType.DATE:
            self.convert, self.cache = self._date, {}
        elif spec.type is FieldType.BOOLEAN:
            self.convert, self.cache = self._boolean, {}
        elif spec.type is FieldType.INTEGER:
            self.convert, self.cache = self._integer, {}
        elif spec.type is FieldType.CHOICE:
            self.convert, self.cache = self._choice, {}
            assert spec.choices is not None
            self.lookup = {
                **{normalize_text(m.label): m for m in spec.choices},
                **{normalize_text(m.value): m for m in spec.choices},
                **{k: spec.choices(v) for k, v in self.lookup.items()},
            }
        else:  # COMMUNE: resolved later, with the other commune fields
            self.convert = str.strip

    def cell(self, row: Row) -> str:
        values = row.values
        if self.field.join:
            parts = [f"{column} : {values[column]}" for column in self.columns if values[column]]
            return "\n".join(parts)
        return values[self.columns[0]]

    def read(self, row: Row) -> Any:
        """The field's value in ``row`` (the constant, when the field has one), or a _Bad."""
        if self.field.constant is not None:
            constant = self.field.constant
            choices = self.field.spec.choices
            return choices(constant) if choices is not None else constant
        text = self.cell(row)
        cache = self.cache
        if cache is None:
            return self.convert(text)
        value = cache.get(text, BadCell)
        if value is BadCell:
            value = cache[text] = self.convert(text)
        return value

    # -- converters -------------------------------------------------------------------------

    def _text(self, text: str) -> Any:
        text = text.strip()
        limit = self.field.spec.max_length
        if len(text) > limit:
            return BadCell(
                f"texte trop long : {_count(len(text))} caractères, {_count(limit)} au plus"
            )
        return text

    def _date(self, text: str) -> Any:
        if not text.strip():
            return None
        try:
            return parse_date(text)
        except IntakeError as exc:
            found = read_dated(text, self.field.formats)
            if found is not None:
                return found
            extra = f" (ou {', '.join(self.field.formats)})" if self.field.formats else ""
            return BadCell(exc.expected + extra)

    def _boolean(self, text: str) -> Any:
        key = normalize_text(text)
        if key in self.lookup:
            return self.lookup[key]
        if not key:
            return False
        if self.field.otherwise is not None:
            return self.field.otherwise
        try:
            return parse_yes_no(text)
        except IntakeError as exc:
            if self.field.values:
                return BadCell(f"{exc.expected}, ou {_wordings(w for w, _ in self.field.values)}")
            return BadCell(exc.expected)

    def _integer(self, text: str) -> Any:
        key = normalize_text(text)
        if key in self.lookup:
            return self._bounded(self.lookup[key])
        if not key:
            return _DEFAULTS.get(self.field.name, 0)
        if self.field.otherwise is not None:
            return self._bounded(self.field.otherwise)
        try:
            value = parse_int(text)
        except IntakeError as exc:
            if _DIGITS.fullmatch(text.strip()):  # a number, too long to be read
                return self._bounded(_TOO_BIG)
            if self.field.values:
                return BadCell(f"{exc.expected}, ou {_wordings(w for w, _ in self.field.values)}")
            return BadCell(exc.expected)
        if value < 0:
            return BadCell("nombre entier positif ou nul attendu")
        return self._bounded(value)

    def _bounded(self, value: Any) -> Any:
        """``value``, or a _Bad naming the field's bounds (:mod:`mt_access.bounds`)."""
        expected = self.field.spec.check(value)
        return value if expected is None else BadCell(expected)

    def _choice(self, text: str) -> Any:
        key = normalize_text(text)
        if key in self.lookup:
            return self.lookup[key]
        if not key:
            return _DEFAULTS[self.field.name]
        if self.field.otherwise is not None:
            choices = self.field.spec.choices
            assert choices is not None
            return choices(self.field.otherwise)
        if self.field.values:
            listed = _wordings(w for w, _ in self.field.values)
        else:
            choices = self.field.spec.choices
            assert choices is not None
            listed = _wordings(m.label for m in choices)
        return BadCell(f"une des réponses suivantes attendue : {listed}")
