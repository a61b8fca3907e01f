"""Personal data (RGPD): GP referrals limited to what the policy lists, pseudonymised rows for
sharing, and the anonymised request left after an erasure.

* :func:`referral` gives the « dossier qualifié » sent to a GP: only the fields of the policy's
  ``privacy.referral_fields``, with French labels.
* :func:`pseudonymised_row` gives one line of a shareable export: a stable pseudonym instead of
  the request id, the age band instead of the birth date, the commune, the priority level, the
  state and the exit, the counts of proposals and refusals; no name, contact, exact birth date
  or address. :mod:`mt_access.export` writes such rows as CSV or XLSX.
* :func:`anonymised` is what an erased request keeps: the birth date moved to the first
  birthday of the age band the patient was in on reception (so counts by age band and by
  priority level on reception stay right), the home coordinates, the last MT's name, the
  referrer's name and contact, the comments and the answers to the CPTS's own questions
  removed.

Nothing here does I/O.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

import attrs
import pluggy

from mt_access.answers import Answers
from mt_access.column_types import ColumnType
from mt_access.hooks import Hooks
from mt_access.lifecycle import Event, RequestFile, Transition
from mt_access.model import (
    PatientIdentity,
    PreviousDoctor,
    Referrer,
    Request,
    age_band,
    age_band_floor,
    age_on,
)
from mt_access.policy import REFERRAL_FIELDS, Policy
from mt_access.questions import answer_types, format_answer, shareable_columns
from mt_access.result import Classification

__all__ = [
    "ACCEPTED_CONTACT_FIELDS",
    "EXPORT_COLUMNS",
    "EXPORT_TYPES",
    "REFERRAL_LABELS",
    "accepted_fields",
    "anonymised",
    "classify",
    "export_columns",
    "export_types",
    "pseudonym",
    "pseudonymised_row",
    "referral",
]

REFERRAL_LABELS: dict[str, str] = {
    "last_name": "Nom",
    "first_name": "Prénom",
    "birth_name": "Nom de naissance",
    "phone": "Téléphone",
    "email": "Courriel",
    "address": "Adresse",
    "birth_date": "Date de naissance",
    "age": "Âge",
    "commune": "Commune",
    "persons": "Personnes à suivre",
    "level": "Niveau de priorité",
    "criteria": "Critères de priorité",
    "urgent": "Soins nécessaires sous un mois",
    "home_visits": "Visites à domicile",
    "ald": "ALD",
    "css": "CSS",
    "ame": "AME",
    "disability_or_chronic": "Handicap ou maladie chronique",
    "reason": "Motif de la recherche",
    "previous_mt": "Dernier médecin traitant",
    "referrer": "Demande adressée par",
    "comments": "Commentaires",
}
"""The French label of each field a referral may contain (every name of
:data:`mt_access.policy.REFERRAL_FIELDS`)."""

assert set(REFERRAL_LABELS) == set(REFERRAL_FIELDS)

ACCEPTED_CONTACT_FIELDS: tuple[str, ...] = ("last_name", "first_name", "phone", "email")
"""What a GP who accepted a patient sees on top of the policy's ``privacy.referral_fields``:
the identity and contact needed to call the patient for a first consultation (the referral
letter asks the GP who accepts to contact the patient), and nothing more."""

assert set(ACCEPTED_CONTACT_FIELDS) <= set(REFERRAL_FIELDS)


def accepted_fields(policy: Policy) -> tuple[str, ...]:
    """The fields shown to a GP once they accepted the patient: the policy's
    ``privacy.referral_fields``, then those of :data:`ACCEPTED_CONTACT_FIELDS` it lacks."""
    wanted = policy.referral_fields
    return (*wanted, *(f for f in ACCEPTED_CONTACT_FIELDS if f not in wanted))


EXPORT_COLUMNS: tuple[str, ...] = (
    "pseudonyme",
    "reçue le",
    "état",
    "motif de sortie",
    "sortie le",
    "commune (INSEE)",
    "commune",
    "tranche d'âge",
    "niveau de priorité",
    "personnes",
    "urgent",
    "ALD",
    "CSS",
    "AME",
    "visites à domicile",
    "motif de la recherche",
    "adressée par",
    "propositions",
    "refus",
)
"""The columns of a pseudonymised export, in order."""

EXPORT_TYPES: dict[str, ColumnType] = {
    "reçue le": ColumnType.DATE,
    "sortie le": ColumnType.DATE,
    "personnes": ColumnType.INTEGER,
    "urgent": ColumnType.YES_NO,
    "ALD": ColumnType.YES_NO,
    "CSS": ColumnType.YES_NO,
    "AME": ColumnType.YES_NO,
    "propositions": ColumnType.INTEGER,
    "refus": ColumnType.INTEGER,
}
"""The type of the columns of :data:`EXPORT_COLUMNS` that are not text
(:func:`mt_access.export.write_rows`); the INSEE code stays text."""


def pseudonym(
    request_id: str, policy: Policy, plugin_manager: pluggy.PluginManager | None = None
) -> str:
    """The request's stable pseudonym (the ``mt_access_pseudonym`` hook; by default a keyed
    hash with the policy's ``privacy.pseudonym_key``)."""
    return Hooks.of(policy, plugin_manager).pseudonym(request_id, policy)


def classify(
    request: Request,
    policy: Policy,
    on: dt.date,
    plugin_manager: pluggy.PluginManager | None = None,
) -> Classification:
    """The request's priority level on ``on`` (the ``mt_access_classify`` hook)."""
    return Hooks.of(policy, plugin_manager).classify([request], policy, on)[0]


def _yes_no(value: bool) -> str:
    return "oui" if value else "non"


def referral(
    request: Request,
    identity: PatientIdentity,
    policy: Policy,
    on: dt.date,
    *,
    reference_names: dict[str, str] | None = None,
    plugin_manager: pluggy.PluginManager | None = None,
    persons: Sequence[int] | None = None,
    fields: Sequence[str] | None = None,
) -> tuple[tuple[str, str], ...]:
    """The « dossier qualifié » sent to a GP: ``(French label, value)`` pairs for the fields of
    ``policy.referral_fields`` only, in that order. A question id listed there gives the
    question's label and the request's answer (``""`` when unanswered); the answers to the
    other questions never appear.

    The ``persons`` field says which persons of the household the GP is asked to follow
    (``persons``: those proposed to this GP; every person when ``None``), e.g. « 2 sur un
    foyer de 3 : adulte 2, enfant 1 ».

    Args:
        request: the request.
        identity: the patient's identity.
        policy: gives the fields, the levels and the commune reference.
        on: the date of the referral (age and priority level on that date).
        reference_names: INSEE code → commune name (the policy's reference by default).
        fields: the fields to give instead of ``policy.referral_fields`` (names of
            :data:`~mt_access.policy.REFERRAL_FIELDS` or question ids), e.g.
            :func:`accepted_fields` for a GP who accepted the patient.
    """
    wanted = policy.referral_fields if fields is None else tuple(fields)
    level = None
    if "level" in wanted or "criteria" in wanted:
        level = classify(request, policy, on, plugin_manager)

    def commune_name(code: str) -> str:
        if reference_names is not None:
            return reference_names.get(code, code)
        if policy.reference is not None and code in policy.reference:
            return f"{policy.reference.get(code).name} ({code})"
        return code

    values: dict[str, str] = {
        "last_name": identity.last_name,
        "first_name": identity.first_name,
        "birth_name": identity.birth_name,
        "phone": identity.phone,
        "email": identity.email,
        "address": identity.address,
        "birth_date": request.patient.birth_date.strftime("%d/%m/%Y"),
        "age": f"{request.age(on)} ans",
        "commune": commune_name(request.commune),
        "persons": _persons(request, persons),
        "level": "" if level is None else level.level,
        "criteria": "" if level is None else ", ".join(level.criteria),
        "urgent": _yes_no(request.urgent),
        "home_visits": request.home_visits.label,
        "ald": _yes_no(request.ald),
        "css": _yes_no(request.css),
        "ame": _yes_no(request.ame),
        "disability_or_chronic": _yes_no(request.disability_or_chronic),
        "reason": request.reason.label,
        "previous_mt": _previous(request.previous_mt, commune_name),
        "referrer": request.referrer.kind.label,
        "comments": request.comments,
    }
    labels = dict(REFERRAL_LABELS)
    for question in policy.questions:
        if question.id in wanted:
            labels[question.id] = question.label
            values[question.id] = format_answer(question, request.answers.get(question.id))
    return tuple((labels[name], values[name]) for name in wanted)


def _persons(request: Request, persons: Sequence[int] | None) -> str:
    total = request.persons
    if total == 1:
        return "1"
    chosen = tuple(range(1, total + 1)) if persons is None else tuple(sorted(persons))
    who = request.household.describe(chosen)
    if len(chosen) == total:
        return f"{total} ({who})"
    return f"{len(chosen)} sur un foyer de {total} ({who})"


def _previous(doctor: PreviousDoctor | None, commune_name: Callable[[str], str]) -> str:
    if doctor is None:
        return ""
    parts = [doctor.name] if doctor.name else []
    if doctor.commune is not None:
        parts.append(commune_name(doctor.commune))
    return ", ".join(parts)


def anonymised(request: Request) -> Request:
    """What an erased request keeps (see the module's docstring)."""
    age = age_on(request.patient.birth_date, request.received)
    floor = age_band_floor(max(age, 0))
    birth = _years_before(request.received, floor)
    previous = None
    if request.previous_mt is not None:
        previous = PreviousDoctor(name="", commune=request.previous_mt.commune)
    return attrs.evolve(
        request,
        patient=attrs.evolve(request.patient, birth_date=birth, location=None),
        previous_mt=previous,
        referrer=Referrer(kind=request.referrer.kind),
        comments="",
        answers=Answers(),
    )


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def pseudonymised_row(
    request: Request,
    file: RequestFile,
    policy: Policy,
    *,
    plugin_manager: pluggy.PluginManager | None = None,
    commune_names: dict[str, str] | None = None,
) -> dict[str, str]:
    """One line of a shareable export (columns :data:`EXPORT_COLUMNS`, then one per question
    marked ``shareable: true``, :func:`export_columns`): no name, contact, exact birth date
    or address; the age band and the priority level are those on the day the request was
    received."""
    pm = Hooks.of(policy, plugin_manager).pm
    level = classify(request, policy, request.received, pm)
    exit_date = file.last_date if file.is_exited else None
    names = commune_names or {}
    if not names and policy.reference is not None and request.commune in policy.reference:
        names = {request.commune: policy.reference.get(request.commune).name}
    counts = _counts(file.history)
    shared = [q for q in policy.questions if q.shareable]
    answers = {
        column: format_answer(q, request.answers.get(q.id))
        for q, column in zip(shared, shareable_columns(policy, EXPORT_COLUMNS), strict=True)
    }
    return {
        "pseudonyme": pseudonym(request.id, policy, pm),
        "reçue le": request.received.isoformat(),
        "état": file.state.label,
        "motif de sortie": "" if file.exit_reason is None else file.exit_reason.label,
        "sortie le": "" if exit_date is None else exit_date.isoformat(),
        "commune (INSEE)": request.commune,
        "commune": names.get(request.commune, ""),
        "tranche d'âge": age_band(max(request.age(request.received), 0)),
        "niveau de priorité": level.level,
        "personnes": str(request.persons),
        "urgent": _yes_no(request.urgent),
        "ALD": _yes_no(request.ald),
        "CSS": _yes_no(request.css),
        "AME": _yes_no(request.ame),
        "visites à domicile": request.home_visits.label,
        "motif de la recherche": request.reason.label,
        "adressée par": request.referrer.kind.label,
        "propositions": str(counts[Event.PROPOSE]),
        "refus": str(counts[Event.REFUSE]),
        **answers,
    }


def export_columns(policy: Policy) -> tuple[str, ...]:
    """The columns of the policy's pseudonymised export: :data:`EXPORT_COLUMNS`, then the
    labels of its shareable questions."""
    return (*EXPORT_COLUMNS, *shareable_columns(policy, EXPORT_COLUMNS))


def export_types(policy: Policy) -> dict[str, ColumnType]:
    """The types of :func:`export_columns`: :data:`EXPORT_TYPES`, then those of the
    shareable questions' answers (:func:`mt_access.questions.answer_types`)."""
    shared = (q for q in policy.questions if q.shareable)
    return {**EXPORT_TYPES, **answer_types(shared, EXPORT_COLUMNS)}


def _counts(history: Sequence[Transition]) -> dict[Event, int]:
    counts = {Event.PROPOSE: 0, Event.REFUSE: 0}
    for transition in history:
        if transition.event in counts:
            counts[transition.event] += 1
    return counts
