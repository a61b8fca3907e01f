"""Deducing a form mapping from an export: which field each column fills.

:func:`deduce_mapping` reads the headers of a :class:`~mt_access.intake.tabular.Table` and a
sample of its values (the first :data:`SAMPLE_ROWS` rows) and proposes, for each column, a
field of :data:`~mt_access.intake.forms.FIELDS`:

* headers are compared with the wordings of the shipped presets and a few synonyms,
  abbreviations expanded (« DDN », « Tél. », « CP », « Nb »...) and filler words dropped
  (« Votre », « du patient »...): exact first, then a known wording inside the header, then
  rapidfuzz's ``token_sort_ratio`` (:mod:`mt_access.intake.wordings`);
* a proposal is kept only when the sample fits the field (dates for a date field...); the
  sample also gives the ``values:`` of yes/no columns written ``true``/``false`` or
  ``Présent``, the ``formats:`` of dates written the Zoho way (« 05-Mar-2026 10:30:12 »)
  and the wordings of choice fields;
* columns no field matches, with few distinct values, are proposed as the CPTS's own
  questions (``oui_non`` or ``choix``, :mod:`mt_access.questions`); with a policy, those
  matching one of its declared questions are read into it.

:func:`~mt_access.intake.deduce_yaml.mapping_yaml` writes the result as a commented YAML
file, loadable as an intake mapping. Nothing here writes files or prints.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import attrs
from rapidfuzz import fuzz, process

from mt_access.bounds import MAX_CRITERION_LABEL, MAX_OPTIONS
from mt_access.errors import IntakeError
from mt_access.intake.forms import (
    FIELDS,
    FieldType,
    available_presets,
    load_preset,
)
from mt_access.intake.french_dates import FRENCH_FORMATS, MONTH_YEAR, parse_french_date
from mt_access.intake.outcomes import OUTCOME_WORDINGS
from mt_access.intake.tabular import Table, header_key, normalize_text, parse_date
from mt_access.intake.wordings import (
    FILLERS,
    REQUIRED,
    expected_fields,
    known_wordings,
    match_header,
    match_key,
)
from mt_access.questions import Question, QuestionType

__all__ = [
    "MAX_CHOICES",
    "SAMPLE_ROWS",
    "ColumnProfile",
    "Deduction",
    "FieldProposal",
    "QuestionProposal",
    "deduce_mapping",
    "profile_column",
]

SAMPLE_ROWS = 200
"""Rows of the export whose values are examined."""

MAX_CHOICES = 12
"""A column with more distinct values than this is not a choice."""

_DATE_FORMATS: tuple[tuple[str, str], ...] = (
    ("%d-%b-%Y %H:%M:%S", "Zoho « 05-Mar-2026 10:30:12 »"),
    ("%d-%b-%Y %H:%M", "« 05-Mar-2026 10:30 »"),
    ("%d-%b-%Y", "« 05-Mar-2026 »"),
    ("%d %b %Y", "« 05 Mar 2026 »"),
    ("%b %d, %Y", "« Mar 05, 2026 »"),
    ("%m/%d/%Y %H:%M:%S", "américain « 03/05/2026 10:30:12 »"),
    ("%Y/%m/%d", "« 2026/03/05 »"),
    ("%d/%m/%Y %H:%M:%S", "« 05/03/2026 10:30:12 »"),
)
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[a-z]{2,}", re.IGNORECASE)
_PHONE = re.compile(r"(?:\+33|0033|0)\s*[1-9](?:[\s.-]*\d{2}){4}")
_POSTAL = re.compile(r"\d{5}")
_NEGATION = re.compile(r" (?:non|pas|aucun|aucune|refus\w*|ne) ")
_YES = frozenset({"oui", "o", "x", "yes", "vrai", "1"})
_NO = frozenset({"non", "n", "no", "faux", "0"})
_EXTRA_YES = frozenset({"true", "y", "present", "coche", "ok", "v"})
_EXTRA_NO = frozenset({"false", "absent", "aucun", "aucune", "-", "neant"})


@attrs.frozen
class ColumnProfile:
    """What the sample of one column looks like.

    Attributes:
        header: the column header, as in the file.
        filled: the non-empty cells of the sample.
        counts: ``(text, count)`` of the distinct non-empty texts (the first writing of each
            normalised text), most frequent first; at most :data:`MAX_CHOICES` + 1 kept.
        distinct: the number of distinct normalised texts.
        kind: ``empty``, ``yes_no``, ``date``, ``integer``, ``choice`` or ``text``.
        date_formats: for ``date``, the ``strptime`` formats needed beyond jj/mm/aaaa and
            aaaa-mm-jj, with their French description.
        date_style: for ``date``, the style read (« jj/mm/aaaa », « aaaa-mm-jj »...).
        unreadable: for ``date``, the distinct texts that are not readable dates.
    """

    header: str
    filled: int
    counts: tuple[tuple[str, int], ...]
    distinct: int
    kind: str
    date_formats: tuple[tuple[str, str], ...] = ()
    date_style: str = ""
    unreadable: int = 0

    @property
    def few_values(self) -> bool:
        """Few distinct values, each repeated: a choice the form offers."""
        return 0 < self.distinct <= MAX_CHOICES and self.distinct * 2 <= max(self.filled, 2)

    @property
    def wordings(self) -> tuple[str, ...]:
        return tuple(text for text, _ in self.counts)


@attrs.frozen
class FieldProposal:
    """A column proposed for a field.

    Attributes:
        field: the field name.
        header: the column header.
        score: how sure (100: a known wording).
        how: why, in French (« libellé connu », « abréviation reconnue »...).
        values: ``(wording, value)`` pairs to write under ``values:``.
        otherwise: the ``otherwise:`` value, or ``None``.
        formats: ``(strptime format, description)`` to write under ``formats:``.
        order: for ``full_name``, the order of the names.
        notes: remarks for the coordinator, in French.
    """

    field: str
    header: str
    score: float
    how: str
    values: tuple[tuple[str, Any], ...] = ()
    otherwise: Any = None
    formats: tuple[tuple[str, str], ...] = ()
    order: str | None = None
    notes: tuple[str, ...] = ()


@attrs.frozen
class QuestionProposal:
    """A column read into a question.

    Attributes:
        id: the question's id (a policy's, or a proposed snake_case id).
        header: the column header.
        label: the proposed label.
        type: ``oui_non`` or ``choix``.
        options: the options of a ``choix`` question.
        declared: ``True`` when the policy declares the question (the entry is active),
            ``False`` for a proposal to declare first (written commented out).
        values: ``(wording, answer)`` pairs for yes/no wordings the default reading misses.
    """

    id: str
    header: str
    label: str
    type: str
    options: tuple[str, ...] = ()
    declared: bool = False
    values: tuple[tuple[str, Any], ...] = ()


@attrs.frozen
class Deduction:
    """What :func:`deduce_mapping` found.

    Attributes:
        source: the export read.
        rows: its data rows; ``sampled``: those examined.
        profiles: each column's profile, in file order.
        fields: the field proposals, in :data:`FIELDS` order.
        questions: the question proposals (declared ones first).
        unplaced: ``(header, why)`` of the columns left out, in French.
        missing: ``(field, explanation)`` for each required field no column fills (a field
            of the group, e.g. ``commune_name`` for the commune; the explanation in French,
            with the usual wordings).
    """

    source: str
    rows: int
    sampled: int
    profiles: tuple[ColumnProfile, ...]
    fields: tuple[FieldProposal, ...]
    questions: tuple[QuestionProposal, ...]
    unplaced: tuple[tuple[str, str], ...]
    missing: tuple[tuple[str, str], ...]

    def field(self, name: str) -> FieldProposal | None:
        return next((p for p in self.fields if p.field == name), None)

    @property
    def is_follow_up(self) -> bool:
        """Whether the file is an existing follow-up sheet (a column gives the outcome or
        the exit date): it is migrated by ``mt-access reprise``, not imported."""
        return any(p.field in ("outcome", "exit_date") for p in self.fields)


# --------------------------------------------------------------------------------------------
# Values


def _date_format(text: str) -> tuple[str, str] | None:
    """The extra format (and its description) that reads ``text``: a ``strptime`` one, or a
    named French one (« 3 janvier 2026 », « janv. 2026 »)."""
    for fmt, description in _DATE_FORMATS:
        try:
            dt.datetime.strptime(text.strip(), fmt)
        except ValueError:
            continue
        return fmt, description
    for fmt, description in FRENCH_FORMATS.items():
        if parse_french_date(text, fmt) is not None:
            return fmt, description
    return None


def _date_style(texts: Sequence[str]) -> tuple[str, tuple[tuple[str, str], ...], int] | None:
    """The style and extra formats of a column of dates and the texts that are not dates
    (a few typing errors are tolerated: one in ten), or ``None``."""
    extra: dict[str, str] = {}
    styles: set[str] = set()
    bad = 0
    tolerated = max(1, len(texts) // 10) if len(texts) >= 5 else 0
    for text in texts:
        try:
            parse_date(text)
            styles.add("aaaa-mm-jj" if text[:4].isdigit() else "jj/mm/aaaa")
            continue
        except IntakeError:
            pass
        found = _date_format(text)
        if found is not None:
            extra.setdefault(*found)
            styles.add(found[1])
            continue
        bad += 1
        if bad > tolerated:
            return None
    if not styles:
        return None
    return ", ".join(sorted(styles)), tuple(extra.items()), bad


def _is_yes_no(key: str) -> bool:
    return key in _YES or key in _NO or key in _EXTRA_YES or key in _EXTRA_NO


def _is_int(text: str) -> bool:
    return text.strip().lstrip("+-").isdigit()


def profile_column(header: str, texts: Sequence[str]) -> ColumnProfile:
    """The profile of a column from its sample's cells."""
    filled = [t for t in texts if t.strip()]
    first: dict[str, str] = {}
    counts: Counter[str] = Counter()
    for text in filled:
        key = normalize_text(text)
        first.setdefault(key, text.strip())
        counts[key] += 1
    ranked = tuple((first[k], n) for k, n in counts.most_common(MAX_CHOICES + 1))
    kind = "text"
    formats: tuple[tuple[str, str], ...] = ()
    style = ""
    unreadable = 0
    if not filled:
        kind = "empty"
    elif all(_is_yes_no(k) for k in counts):
        kind = "yes_no"
    elif all(_is_int(t) for t in first.values()):
        kind = "integer"
    else:
        dated = _date_style(list(first.values()))
        if dated is not None:
            kind, (style, formats, unreadable) = "date", dated
        elif 0 < len(counts) <= MAX_CHOICES and len(counts) * 2 <= len(filled):
            kind = "choice"
    return ColumnProfile(header, len(filled), ranked, len(counts), kind, formats, style, unreadable)


def _yes_no_values(profile: ColumnProfile) -> tuple[tuple[str, bool], ...]:
    """The wordings the default oui/non reading misses (« true », « Présent »...)."""
    values = []
    for text in profile.wordings:
        key = normalize_text(text)
        if key in _EXTRA_YES:
            values.append((text, True))
        elif key in _EXTRA_NO:
            values.append((text, False))
    return tuple(values)


_FIELD_WORDS: Mapping[str, tuple[str, ...]] = {
    "css": ("css", "c2s", "cmu", "complementaire sante solidaire"),
    "ame": ("ame", "aide medicale"),
    "ald": ("ald", "affection"),
}


@functools.cache
def _choice_wordings(name: str) -> dict[str, str]:
    """Normalised wording → enum value, from the presets' ``values`` and the enum's labels."""
    spec = FIELDS[name]
    assert spec.choices is not None
    known = {normalize_text(m.label): m.value for m in spec.choices}
    known.update({normalize_text(m.value): m.value for m in spec.choices})
    for preset in available_presets():
        form_field = load_preset(preset).field(name)
        if form_field is not None:
            for wording, value in form_field.values:
                known.setdefault(normalize_text(wording), value)
    if name == "outcome":
        for wording, outcome in OUTCOME_WORDINGS.items():
            known.setdefault(normalize_text(wording), outcome.value)
    return known


def _fit(name: str, profile: ColumnProfile) -> FieldProposal | str:
    """The value settings of field ``name`` read from ``profile``, or why it does not fit."""
    spec = FIELDS[name]
    kind = profile.kind
    if kind == "empty":
        return FieldProposal(
            name, profile.header, 0.0, "", notes=("colonne vide dans l'échantillon",)
        )
    if spec.type is FieldType.DATE:
        if kind != "date":
            return "des dates étaient attendues"
        if name == "birth_date" and any(fmt == MONTH_YEAR for fmt, _ in profile.date_formats):
            return "des dates complètes (jour, mois, année) étaient attendues"
        remarks = [f"dates {profile.date_style}"]
        if profile.unreadable:
            remarks.append(
                f"{profile.unreadable} valeur(s) de l'échantillon illisible(s) comme date : "
                "ces lignes seront refusées à l'import"
            )
        return FieldProposal(
            name, profile.header, 0.0, "", formats=profile.date_formats, notes=tuple(remarks)
        )
    if spec.type is FieldType.BOOLEAN:
        if kind == "yes_no":
            return FieldProposal(name, profile.header, 0.0, "", values=_yes_no_values(profile))
        if not profile.few_values:
            return "oui/non ou quelques libellés attendus"
        words = _FIELD_WORDS.get(name, ())
        values: list[tuple[str, bool]] = []
        for text in profile.wordings:
            key = normalize_text(text)
            if key in _YES or key in _NO:
                continue  # the default reading
            if key in _EXTRA_YES or key in _EXTRA_NO:
                values.append((text, key in _EXTRA_YES))
                continue
            padded = f" {header_key(text)} "
            if words:
                values.append((text, any(f" {w} " in padded for w in words)))
            else:  # « J'accepte », « Je ne consens pas »...
                values.append((text, not _NEGATION.search(padded)))
        return FieldProposal(
            name,
            profile.header,
            0.0,
            "",
            values=tuple(values),
            otherwise=False,
            notes=("libellés lus comme oui ou non : à vérifier",),
        )
    if spec.type is FieldType.INTEGER:
        if kind == "integer":
            return FieldProposal(name, profile.header, 0.0, "")
        others = [t for t in profile.wordings if not _is_int(t)]
        zero = [t for t in others if normalize_text(t) in ("non", "aucun", "aucune", "neant")]
        if len(zero) != len(others):
            return "des nombres étaient attendus"
        return FieldProposal(name, profile.header, 0.0, "", values=tuple((t, 0) for t in zero))
    if spec.type is FieldType.CHOICE:
        known = _choice_wordings(name)
        every_known = 0 < profile.distinct <= MAX_CHOICES and all(
            normalize_text(text) in known for text in profile.wordings
        )
        if kind not in ("choice", "yes_no") and not profile.few_values and not every_known:
            return "quelques libellés attendus"
        pairs: list[tuple[str, str]] = []
        unknown: list[str] = []
        for text in profile.wordings:
            key = normalize_text(text)
            if key in known:
                pairs.append((text, known[key]))
                continue
            close = process.extractOne(key, list(known), scorer=fuzz.ratio, score_cutoff=85)
            if close is not None:
                pairs.append((text, known[close[0]]))
            else:
                unknown.append(text)
        notes: tuple[str, ...] = ()
        otherwise = None
        if unknown:
            fallback = "other" if "other" in [m.value for m in spec.choices or ()] else None
            otherwise = fallback
            listed = ", ".join(f"« {t} »" for t in unknown)
            notes = (f"libellés non reconnus, lus comme « {fallback} » : {listed}",)
            if fallback is None:
                notes = (f"libellés non reconnus, à ajouter sous values : {listed}",)
        return FieldProposal(
            name, profile.header, 0.0, "", values=tuple(pairs), otherwise=otherwise, notes=notes
        )
    names = ("last_name", "first_name", "full_name")
    if name in names and kind in ("date", "integer", "yes_no"):
        return "du texte était attendu"
    return FieldProposal(name, profile.header, 0.0, "")


def _by_values(profile: ColumnProfile) -> str | None:
    """A field guessed from the values alone (e-mails, phone numbers, postal codes)."""
    texts = profile.wordings
    if profile.filled < 3 or not texts:
        return None
    if all(_EMAIL.fullmatch(t) for t in texts):
        return "email"
    if all(_PHONE.fullmatch(t) for t in texts):
        return "phone"
    if all(_POSTAL.fullmatch(t) for t in texts) and profile.distinct <= MAX_CHOICES:
        return "postal_code"
    return None


# --------------------------------------------------------------------------------------------
# Questions


def _question_id(header: str, taken: set[str]) -> str:
    words = [w for w in header_key(header).split() if w not in FILLERS] or ["question"]
    base = "_".join(words)[:40].strip("_")
    if not base or not base[0].isalpha():
        base = f"q_{base}".strip("_")
    base = re.sub(r"[^a-z0-9_]", "", base) or "question"
    qid, n = base, 2
    while qid in taken or qid in FIELDS:
        qid, n = f"{base}_{n}", n + 1
    taken.add(qid)
    return qid


def _label(header: str) -> str:
    label = header.strip().rstrip("?*: ").strip() or header.strip()
    return label[:MAX_CRITERION_LABEL]


def _declared_match(header: str, questions: Sequence[Question]) -> Question | None:
    if not questions:
        return None
    key = match_key(header)
    keys = {match_key(q.label): q for q in questions}
    keys.update({match_key(q.id.replace("_", " ")): q for q in questions})
    if key in keys:
        return keys[key]
    found = process.extractOne(key, list(keys), scorer=fuzz.token_sort_ratio, score_cutoff=85)
    return keys[found[0]] if found is not None else None


def _propose_question(
    profile: ColumnProfile, questions: Sequence[Question], taken: set[str]
) -> QuestionProposal | None:
    declared = _declared_match(profile.header, questions)
    if declared is not None and declared.id not in taken:
        taken.add(declared.id)
        values = _yes_no_values(profile) if declared.type is QuestionType.OUI_NON else ()
        return QuestionProposal(
            declared.id,
            profile.header,
            declared.label,
            declared.type.value,
            declared.options,
            declared=True,
            values=values,
        )
    if profile.kind == "yes_no":
        qid = _question_id(profile.header, taken)
        return QuestionProposal(
            qid, profile.header, _label(profile.header), "oui_non", values=_yes_no_values(profile)
        )
    if profile.kind == "choice" and profile.distinct <= MAX_OPTIONS:
        options = tuple(t[:MAX_CRITERION_LABEL] for t in profile.wordings)
        qid = _question_id(profile.header, taken)
        return QuestionProposal(qid, profile.header, _label(profile.header), "choix", options)
    return None


# --------------------------------------------------------------------------------------------
# Deduction


def _shared_coverage(
    chosen: dict[str, FieldProposal], profiles: Mapping[str, ColumnProfile]
) -> None:
    """A coverage column (« CSS », « AME », « Aucune ») read for the CSS is also read for the
    AME (and the other way round) when its wordings name it, as the Voironnais preset does."""
    for found, other in (("css", "ame"), ("ame", "css")):
        proposal = chosen.get(found)
        if proposal is None or other in chosen or not proposal.values:
            continue
        profile = profiles[proposal.header]
        words = _FIELD_WORDS[other]
        if any(any(f" {w} " in f" {header_key(t)} " for w in words) for t in profile.wordings):
            fitted = _fit(other, profile)
            if not isinstance(fitted, str):
                how = (
                    f"même colonne que le champ {found}, dont les libellés nomment "
                    f"l'{other.upper()}"
                )
                chosen[other] = attrs.evolve(fitted, score=proposal.score, how=how)


def _unplaced_reason(profile: ColumnProfile) -> str:
    if profile.kind == "empty":
        return "colonne vide dans l'échantillon"
    if profile.kind == "date":
        return f"dates ({profile.date_style}) : aucun champ reconnu dans l'en-tête"
    if profile.kind == "integer":
        return "nombres : aucun champ reconnu dans l'en-tête"
    return f"texte libre ({profile.distinct} valeurs différentes) : aucun champ reconnu"


def _full_name_order(header: str) -> str:
    words = header_key(header).split()
    if "nom" in words and "prenom" in words:
        return "last_first" if words.index("nom") < words.index("prenom") else "first_last"
    return "first_last"


def deduce_mapping(
    table: Table, *, questions: Sequence[Question] = (), sample: int = SAMPLE_ROWS
) -> Deduction:
    """Propose a field (or a question) for each column of ``table``.

    Args:
        table: the export (:func:`~mt_access.intake.tabular.read_table`).
        questions: the policy's own questions: a column matching one is read into it.
        sample: the rows examined.

    Raises:
        IntakeError: no column matches any required field: the message lists what was
            expected (the required fields and their usual wordings), never a cell.
    """
    rows = table.rows[:sample]
    profiles = tuple(
        profile_column(header, [row.values.get(header, "") for row in rows])
        for header in table.headers
    )
    candidates: dict[str, list[FieldProposal]] = {}
    rejected: dict[str, str] = {}
    for profile in profiles:
        matched = match_header(profile.header)
        if matched is None:
            guessed = _by_values(profile)
            if guessed is None:
                continue
            matched = (guessed, 70.0, "déduit des valeurs de la colonne")
        name, score, how = matched
        fitted = _fit(name, profile)
        if isinstance(fitted, str):
            rejected[profile.header] = (
                f"ressemble au champ {name} ({FIELDS[name].label}), mais {fitted} "
                "dans l'échantillon"
            )
            continue
        order = _full_name_order(profile.header) if name == "full_name" else None
        candidates.setdefault(name, []).append(
            attrs.evolve(fitted, score=score, how=how, order=order)
        )
    chosen: dict[str, FieldProposal] = {}
    for name, proposals in candidates.items():
        best = max(proposals, key=lambda p: p.score)  # the first of equals
        chosen[name] = best
        for other in proposals:
            if other is not best:
                rejected[other.header] = (
                    f"ressemble au champ {name} ({FIELDS[name].label}), déjà lu dans "
                    f"« {best.header} »"
                )
    _shared_coverage(chosen, {p.header: p for p in profiles})
    if "physician" in chosen and not ("outcome" in chosen or "exit_date" in chosen):
        dropped = chosen.pop("physician")
        rejected[dropped.header] = (
            "ressemble au médecin attribué d'un suivi existant, lu seulement avec une issue ou "
            "une date de sortie"
        )
    if "last_name" in chosen and "full_name" in chosen:
        dropped = chosen.pop("full_name")
        rejected[dropped.header] = "prénom et nom : le nom est déjà lu dans une autre colonne"
    if not any(name in chosen for names, _ in REQUIRED for name in names):
        listed = " ; ".join(expected_fields())
        raise IntakeError(
            "aucune colonne du fichier ne correspond à un champ connu ; attendu au moins : "
            f"{listed}",
            source=table.source,
        )
    placed = {p.header for p in chosen.values()}
    taken: set[str] = set()
    proposed: list[QuestionProposal] = []
    unplaced: list[tuple[str, str]] = []
    for profile in profiles:
        if profile.header in placed:
            continue
        question = _propose_question(profile, questions, taken)
        if question is not None:
            proposed.append(question)
        else:
            unplaced.append(
                (profile.header, rejected.get(profile.header) or _unplaced_reason(profile))
            )
    missing = []
    wordings = known_wordings()
    for names, description in REQUIRED:
        if not any(name in chosen for name in names):
            name = "commune_name" if "commune_name" in names else names[0]
            usual = ", ".join(f"« {w} »" for w in wordings[name][:4])
            missing.append((name, f"{description} ({name}) : en-têtes usuels {usual}"))
    fields = tuple(chosen[name] for name in FIELDS if name in chosen)
    proposed.sort(key=lambda q: not q.declared)
    return Deduction(
        source=table.source,
        rows=len(table.rows),
        sampled=len(rows),
        profiles=profiles,
        fields=fields,
        questions=tuple(proposed),
        unplaced=tuple(unplaced),
        missing=tuple(missing),
    )
