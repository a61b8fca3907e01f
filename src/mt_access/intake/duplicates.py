"""Rows that repeat a person: the keys that compare names, identifiers and addresses, and
:class:`DuplicateFinder`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable

from mt_access.intake.records import DuplicateReason, IntakeDuplicate
from mt_access.intake.tabular import (
    normalize_text,
)
from mt_access.model import (
    KnownPerson,
    PatientIdentity,
)

__all__ = ["DuplicateFinder"]


_TOKENS = re.compile(r"[^\W_]+")
_ID_SEPARATORS = re.compile(r"[\s.\-_/]+")


def person_key(last_name: str, first_name: str) -> tuple[str, ...]:
    """Name tokens without case, accents nor punctuation, sorted (so a swapped last and first
    name still match)."""
    text = f"{last_name} {first_name}"
    if text.isascii():  # most names: no accent to strip
        text = text.casefold()
    else:
        text = normalize_text(text).replace("œ", "oe").replace("æ", "ae")
    return tuple(sorted(_TOKENS.findall(text)))


def _identifier_key(identifier: str) -> str:
    return _ID_SEPARATORS.sub("", identifier).casefold()


def address_key(address: str) -> str:
    return " ".join(_TOKENS.findall(normalize_text(address)))


class DuplicateFinder:
    """Finds the rows that repeat a person: the same form submission, the same identifier
    or the same name and birth date as a person the register knows or an earlier row of the
    file. The register's persons come first; the lowest request id wins among them."""

    def __init__(self, known: Iterable[KnownPerson] = ()) -> None:
        self.known_people: dict[tuple[tuple[str, ...], dt.date], str] = {}
        self.known_ids: dict[str, str] = {}
        for known_person in known:
            request_id = known_person.request_id
            identity, birth_date = known_person.identity, known_person.birth_date
            if identity.last_name or identity.first_name:
                key = (person_key(identity.last_name, identity.first_name), birth_date)
                if key not in self.known_people or request_id < self.known_people[key]:
                    self.known_people[key] = request_id
            if identity.identifier:
                id_key = _identifier_key(identity.identifier)
                if id_key not in self.known_ids or request_id < self.known_ids[id_key]:
                    self.known_ids[id_key] = request_id
        self.seen_people: dict[tuple[tuple[str, ...], dt.date], int] = {}
        self.seen_ids: dict[str, int] = {}
        self.seen_forms: dict[str, int] = {}

    def find(
        self, row: int, identity: PatientIdentity, birth_date: dt.date, form_id: str | None
    ) -> IntakeDuplicate | None:
        """The duplicate ``row`` is, or ``None``; a row that is not one is remembered, so a
        later row repeating it is."""
        known_people, known_ids = self.known_people, self.known_ids
        seen_people, seen_ids, seen_forms = self.seen_people, self.seen_ids, self.seen_forms
        person = (person_key(identity.last_name, identity.first_name), birth_date)
        id_key = _identifier_key(identity.identifier) if identity.identifier else ""
        duplicate: IntakeDuplicate | None = None
        if form_id is not None and form_id in seen_forms:
            duplicate = IntakeDuplicate(
                row, seen_forms[form_id], None, DuplicateReason.SAME_SUBMISSION
            )
        elif id_key and id_key in known_ids:
            duplicate = IntakeDuplicate(
                row, None, known_ids[id_key], DuplicateReason.SAME_IDENTIFIER
            )
        elif person in known_people:
            duplicate = IntakeDuplicate(
                row, None, known_people[person], DuplicateReason.SAME_PERSON
            )
        elif id_key and id_key in seen_ids:
            duplicate = IntakeDuplicate(
                row, seen_ids[id_key], None, DuplicateReason.SAME_IDENTIFIER
            )
        elif person in seen_people:
            duplicate = IntakeDuplicate(row, seen_people[person], None, DuplicateReason.SAME_PERSON)
        if duplicate is not None:
            return duplicate
        if form_id is not None:
            seen_forms[form_id] = row
        if id_key:
            seen_ids.setdefault(id_key, row)
        seen_people.setdefault(person, row)
        return None
