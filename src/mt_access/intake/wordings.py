"""The wordings of the form fields: which headers mean which field.

The shipped presets' columns and :data:`SYNONYMS` are the dictionary; headers are compared by
:func:`match_key` (:func:`~mt_access.intake.tabular.header_key`, abbreviations such as
« DDN », « Tél. », « CP », « Nb » expanded, filler words such as « Votre » or « du patient »
dropped): exact first, then a known wording inside the header, then rapidfuzz's
``token_sort_ratio`` (:func:`match_header`). Used by :mod:`mt_access.intake.deduce`.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

from rapidfuzz import fuzz, process

from mt_access.intake.forms import COMMUNE_FIELDS, FIELDS, available_presets, load_preset
from mt_access.intake.tabular import header_key

__all__ = [
    "FILLERS",
    "FUZZY_CUTOFF",
    "REQUIRED",
    "STRICT_WORDINGS",
    "SYNONYMS",
    "expected_fields",
    "known_wordings",
    "match_header",
    "match_key",
]

FUZZY_CUTOFF = 86.0
"""rapidfuzz ``token_sort_ratio`` (0-100) below which a header is not a wording's."""

SYNONYMS: Mapping[str, tuple[str, ...]] = {
    "submission_id": ("ID", "N° de l'entrée", "Numéro de demande", "Référence"),
    "received": (
        "Added Time",
        "Horodateur",
        "Date de soumission",
        "Date d'envoi",
        "Date de saisie",
        "Date de la demande",
        "Date de réception",
        "Date d'entrée",
        "Date d'inscription",
        "Date d'entrée dans le dispositif",
        "Entrée",
    ),
    "last_name": ("Nom", "Nom de famille", "Nom d'usage", "Nom du patient", "Nom patient"),
    "first_name": ("Prénom", "Prénom du patient", "Prénoms"),
    "full_name": ("Nom et prénom", "Prénom et nom", "Nom prénom", "Prénom nom", "Identité"),
    "birth_name": ("Nom de naissance", "Nom de jeune fille"),
    "birth_date": ("Date de naissance", "DDN", "Né le", "Née le", "Né(e) le", "Naissance"),
    "identifier": ("NIR", "N° de sécurité sociale", "Numéro de sécurité sociale", "N° sécu"),
    "phone": ("Téléphone", "Tél", "Portable", "Mobile", "Numéro de portable", "Tél portable"),
    "email": ("E-mail", "Courriel", "Adresse mail", "Mail"),
    "address": ("Adresse", "Adresse postale", "Rue"),
    "commune_insee": ("Code INSEE", "Code commune"),
    "postal_code": ("Code postal", "CP"),
    "commune_name": ("Commune", "Ville", "Commune de résidence", "Localité", "Ville de résidence"),
    "css": ("CSS", "C2S", "Bénéficiaire C2S", "Bénéficiaire CSS", "CMU-C"),
    "ame": ("AME", "Bénéficiaire AME"),
    "ald": ("ALD", "En ALD", "Affection longue durée"),
    "disability_or_chronic": ("Handicap", "Maladie chronique", "Handicap ou maladie chronique"),
    "home_visits": ("Visites à domicile", "VAD", "Besoin de visites à domicile"),
    "urgent": ("Urgent", "Urgence", "Demande urgente"),
    "reason": ("Motif", "Motif de la demande", "Raison de la demande"),
    "previous_mt_name": ("Médecin traitant précédent", "Ancien médecin traitant"),
    "previous_mt_commune": ("Commune du médecin traitant précédent",),
    "adults": ("Nombre d'adultes", "Nb adultes", "Adultes"),
    "children": ("Nombre d'enfants", "Nb enfants", "Enfants"),
    "referrer_kind": ("Orienté par", "Adressé par", "Type d'orienteur"),
    "referrer_name": ("Nom de l'orienteur", "Nom de l'adresseur"),
    "referrer_contact": ("Contact de l'orienteur", "Coordonnées de l'orienteur"),
    "consent": ("Consentement", "Consentement du patient", "Accord du patient", "J'accepte"),
    "consent_date": ("Date du consentement",),
    "comments": ("Commentaires", "Commentaire", "Remarques", "Observations"),
    "household_key": ("Foyer", "N° de foyer"),
    "exit_date": (
        "Date de sortie",
        "Date d'attribution",
        "Date de clôture",
        "Date d'attribution du MT",
        "Date MT trouvé",
        "Date de sortie du dispositif",
        "Date de la solution",
    ),
    "outcome": (
        "Issue",
        "Issue de la demande",
        "Résultat",
        "Résultat de la recherche",
        "Motif de sortie",
        "Motif de clôture",
        "Statut de la demande",
        "État de la demande",
        "Devenir",
        "Suite donnée",
    ),
    "physician": (
        "Médecin attribué",
        "Médecin traitant attribué",
        "MT attribué",
        "Médecin désigné",
        "Médecin traitant désigné",
        "RPPS",
        "RPPS du médecin",
        "N° RPPS",
    ),
}
"""Wordings of each field beyond the presets' columns."""

STRICT_WORDINGS: frozenset[str] = frozenset(
    {
        "Date d'entrée",
        "Date d'inscription",
        "Date d'entrée dans le dispositif",
        "Entrée",
        *SYNONYMS["exit_date"],
        *SYNONYMS["outcome"],
        *SYNONYMS["physician"],
    }
)
"""Wordings of a follow-up sheet's columns: matched exactly or inside a header, never
approximately (« Date de l'entretien » is not « Date d'entrée », « Médecin traitant
actuel » not « Médecin traitant attribué »)."""

_ABBREVIATIONS: Mapping[str, str] = {
    "ddn": "date naissance",
    "naiss": "naissance",
    "nee": "ne",
    "tel": "telephone",
    "tél": "telephone",
    "cp": "code postal",
    "nb": "nombre",
    "nbre": "nombre",
    "num": "numero",
    "no": "numero",
    "n": "numero",
    "c2s": "css",
    "cmuc": "css",
    "mail": "email",
    "courriel": "email",
    "secu": "securite sociale",
    "ss": "securite sociale",
    "med": "medecin",
    "mt": "medecin traitant",
    "tt": "traitant",
}
FILLERS = frozenset(
    {"votre", "vos", "ton", "ta", "tes", "le", "la", "les", "l", "du", "de", "d", "des", "a"}
    | {"au", "aux", "en", "un", "une", "patient", "patiente", "personne", "beneficiaire"}
    | {"e", "s"}
)
REQUIRED: tuple[tuple[tuple[str, ...], str], ...] = (
    (("last_name", "full_name"), "le nom du patient"),
    (("birth_date",), "la date de naissance"),
    (COMMUNE_FIELDS, "la commune du patient"),
    (("consent",), "le consentement du patient"),
)


def _tokens(text: str) -> list[str]:
    out: list[str] = []
    for word in header_key(text).split():
        out.extend(_ABBREVIATIONS.get(word, word).split())
    return out


def match_key(text: str) -> str:
    """The key a header is matched by: :func:`header_key`, abbreviations expanded, filler
    words dropped (« Date de naiss. du patient » → ``date naissance``)."""
    tokens = _tokens(text)
    kept = [t for t in tokens if t not in FILLERS]
    return " ".join(kept or tokens)


@functools.cache
def known_wordings() -> Mapping[str, tuple[str, ...]]:
    """Every known wording of each field: the shipped presets' columns, then
    :data:`SYNONYMS` (duplicates removed, first writing kept)."""
    found: dict[str, dict[str, str]] = {name: {} for name in FIELDS}
    for preset in available_presets():
        for name, form_field in load_preset(preset).fields.items():
            for column in form_field.columns:
                found[name].setdefault(match_key(column), column)
    for name, words in SYNONYMS.items():
        for word in words:
            found[name].setdefault(match_key(word), word)
    return {name: tuple(words.values()) for name, words in found.items()}


@functools.cache
def _index() -> dict[str, str]:
    """Match key → field (a key shared by two fields goes to the first in FIELDS order,
    except the keys of a preset's combined columns, which go to the field SYNONYMS names)."""
    index: dict[str, str] = {}
    for name, words in SYNONYMS.items():
        for word in words:
            index.setdefault(match_key(word), name)
    for name, words in known_wordings().items():
        for word in words:
            index.setdefault(match_key(word), name)
    return index


@functools.cache
def _fuzzy_keys() -> list[str]:
    """The match keys a header may be approximately equal to: all but
    :data:`STRICT_WORDINGS`."""
    strict = {match_key(word) for word in STRICT_WORDINGS}
    return [key for key in _index() if key not in strict]


def expected_fields() -> list[str]:
    """The required fields and their usual wordings, one French line each."""
    wordings = known_wordings()
    lines = []
    for names, description in REQUIRED:
        usual: list[str] = []
        for name in names:
            usual.extend(SYNONYMS.get(name, ())[:3] or wordings[name][:3])
        shown = ", ".join(f"« {w} »" for w in dict.fromkeys(usual))
        lines.append(f"{description} ({' ou '.join(names)}) : {shown}")
    return lines


def match_header(header: str) -> tuple[str, float, str] | None:
    """``(field, score, how)`` for a header, or ``None``."""
    key = match_key(header)
    if not key:
        return None
    index = _index()
    plain = " ".join(t for t in header_key(header).split() if t not in FILLERS)
    if key in index:
        how = "libellé connu" if plain == key else "libellé connu, abréviation reconnue"
        return index[key], 100.0, how
    padded = f" {key} "
    inside = [k for k in index if " " in k and f" {k} " in padded]
    if inside:
        best = max(inside, key=len)
        return index[best], 92.0, f"contient le libellé connu « {best} »"
    if len(key) <= 4:
        return None
    found = process.extractOne(
        key, _fuzzy_keys(), scorer=fuzz.token_sort_ratio, score_cutoff=FUZZY_CUTOFF
    )
    if found is None:
        return None
    wording, score, _ = found
    return index[wording], float(score), f"proche du libellé connu « {wording} »"
