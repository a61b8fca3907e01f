"""Which columns of the file each field of the form mapping reads, the optional fields
whose columns are absent, and hints for unread columns that look like a field.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from mt_access.errors import IntakeError
from mt_access.intake.forms import (
    COMMUNE_FIELDS,
    FIELDS,
    FormMapping,
    header_key,
)
from mt_access.intake.records import shown_header
from mt_access.intake.tabular import (
    HeaderIndex,
    Table,
)


def column_plan(
    table: Table, mapping: FormMapping
) -> tuple[dict[str, tuple[str, ...]], list[tuple[str, str]]]:
    """The file's headers read by each field (constant fields: none), and the optional
    fields whose columns are absent, as ``(headers, field label)``."""
    index = HeaderIndex(table)
    plan: dict[str, tuple[str, ...]] = {}
    missing: dict[str, list[str]] = {}
    absent: list[tuple[str, str]] = []
    for name, form_field in mapping.fields.items():
        if form_field.constant is not None:
            plan[name] = ()
            continue
        found: list[str] = []
        for column in form_field.columns:
            header = index.find(column)
            if header is not None:
                found.append(header)
                if not form_field.join:
                    break
        options = " ou ".join(f"« {column} »" for column in form_field.columns)
        if found:
            plan[name] = tuple(found)
        elif not form_field.optional:
            missing.setdefault(options, []).append(form_field.spec.label)
        else:
            absent.append((options, form_field.spec.label))
    if missing:
        listed = " ; ".join(
            f"{options} ({', '.join(labels)})" for options, labels in missing.items()
        )
        raise IntakeError(
            f"colonne(s) absente(s) du fichier : {listed} ; vérifiez la ligne "
            "d'en-têtes du fichier, ou adaptez la section « intake » de la politique",
            source=table.source,
            value=" | ".join(table.headers),
        )
    if not any(name in plan for name in COMMUNE_FIELDS):
        wanted = [
            f"« {wanted_field.columns[0]} »"
            for name in COMMUNE_FIELDS
            if (wanted_field := mapping.field(name)) is not None and wanted_field.columns
        ]
        raise IntakeError(
            f"aucune colonne pour la commune du patient : {' ou '.join(wanted)} attendue",
            source=table.source,
            value=" | ".join(table.headers),
        )
    return plan, absent


_LOOKALIKES: Mapping[str, tuple[str, ...]] = {
    "ald": ("ald", "affection longue duree", "affection de longue duree"),
    "css": ("css", "c2s", "cmu", "cmuc", "complementaire sante solidaire"),
    "ame": ("ame", "aide medicale"),
    "children": ("enfant", "enfants"),
    "adults": ("adulte", "adultes"),
    "urgent": ("urgent", "urgente", "urgence", "urgences"),
    "home_visits": ("domicile", "vad"),
    "disability_or_chronic": ("handicap", "chronique"),
    "birth_date": ("naissance",),
    "consent": ("consentement",),
    "phone": ("telephone", "tel", "portable"),
    "email": ("mail", "email", "courriel"),
    "household_key": ("foyer",),
    "reason": ("motif",),
}
"""Words that make an unread column look like a field (compared like headers)."""


def hints_for_unread(
    unread: Iterable[str], plan: Mapping[str, tuple[str, ...]], mapping: FormMapping
) -> list[tuple[str, str]]:
    """``(header, explanation)`` for each unread column that looks like a field."""
    hints: list[tuple[str, str]] = []
    for header in unread:
        padded = f" {header_key(header)} "
        fields = [
            name
            for name, words in _LOOKALIKES.items()
            if any(f" {word} " in padded for word in words)
        ]
        if not fields:
            continue
        parts = []
        for name in fields:
            label = FIELDS[name].label
            read_from = plan.get(name)
            if read_from:
                listed = ", ".join(f"« {shown_header(column)} »" for column in read_from)
                parts.append(f"ressemble au champ {name} ({label}), déjà lu dans {listed}")
            elif name in mapping.fields and mapping.fields[name].constant is not None:
                parts.append(f"ressemble au champ {name} ({label}), de valeur fixe ici")
            else:
                parts.append(
                    f"ressemble au champ {name} ({label}), que le formulaire ne lit pas dans "
                    f"ce fichier : ajoutez cet en-tête au champ {name} de la section "
                    "« intake » de la politique"
                )
        hints.append((header, " ; ".join(parts)))
    return hints
