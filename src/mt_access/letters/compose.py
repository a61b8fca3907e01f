"""Composing letters from data: the pure core of :mod:`mt_access.letters`.

Each ``compose_*`` function builds the variables of one letter's template from the domain
values (request, identity, lifecycle, policy, GPs, dates) and renders it with already loaded
:class:`~mt_access.letters.templates.LetterTemplates`. Nothing here reads a file or the clock.

What each letter may show is decided here, not in the templates: the GP referral gets only the
``(label, value)`` pairs of :func:`mt_access.privacy.referral` (the policy's
``privacy.referral_fields``) and non-personal context; the feedback to the referrer gets the
patient's name and the outcome, no medical detail.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import attrs

from mt_access.calendar import MONTH_NAMES_FR
from mt_access.letters.markup import Rendered
from mt_access.letters.settings import LETTERS
from mt_access.letters.templates import LetterError, LetterKind, LetterTemplates
from mt_access.lifecycle import Event, ExitReason, RequestFile, RequestState
from mt_access.model import PatientIdentity, Physician, PracticeContact, ReferrerKind, Request
from mt_access.policy import Policy, Resource
from mt_access.questions import ShowPlace, shown_answers
from mt_access.resources import MODE_LABELS
from mt_access.result import AttachedResource, OrientedPhysician, format_km

__all__ = [
    "FORMATS",
    "Letter",
    "Recipient",
    "compose_acknowledgement",
    "compose_feedback",
    "compose_orientation",
    "compose_referral",
    "compose_resources",
    "french_date",
    "long_french_date",
    "outcome",
]

FORMATS = ("txt", "md", "html", "pdf")
"""The formats a letter is written in: plain text, Markdown, HTML and PDF (A4, through
WeasyPrint: :mod:`mt_access.letters.pdf`, the ``pdf`` extra)."""

Recipient = Literal["patient", "referrer"]
"""Who an acknowledgement goes to."""

_UNSAFE_FILE_CHARS = re.compile(r"[^A-Za-z0-9_.-]+")


def french_date(day: dt.date) -> str:
    """``15/03/2026``."""
    return day.strftime("%d/%m/%Y")


def long_french_date(day: dt.date) -> str:
    """``15 mars 2026``, ``1er mars 2026``."""
    first = "1er" if day.day == 1 else str(day.day)
    return f"{first} {MONTH_NAMES_FR[day.month - 1]} {day.year}"


@attrs.frozen
class Letter:
    """A rendered letter.

    Attributes:
        kind: which letter.
        request_id: the request it is about.
        recipient: who it goes to, in French (``patient``, the referrer's name, the GP's
            name).
        subject: the subject (the letter's first title).
        text: plain text.
        markdown: Markdown (data escaped).
        html: a whole HTML page (everything escaped).
        physician_id: the GP, for a referral file.
        sender: the CPTS's name, for the letterhead of the PDF.
        sender_contact: how to reach the coordination (``letters.contact``), for the
            letterhead of the PDF; empty when the policy gives none.
    """

    kind: LetterKind
    request_id: str
    recipient: str
    subject: str
    text: str
    markdown: str
    html: str | None = None
    physician_id: str | None = None
    sender: str = ""
    sender_contact: str = ""

    def content(self, fmt: str) -> str:
        """The letter in ``fmt`` (``txt``, ``md`` or ``html``); the PDF, which is bytes, is
        :meth:`pdf`.

        Args:
            fmt: the format.

        Raises:
            LetterError: an unknown format, or HTML for a letter without it.
        """
        if fmt == "txt":
            return self.text
        if fmt == "md":
            return self.markdown
        if fmt == "html" and self.html is not None:
            return self.html
        raise LetterError(
            f"format de courrier inconnu ou absent : {fmt!r} (txt, md ou html attendu ; "
            "le PDF s'obtient avec pdf())"
        )

    def pdf(self) -> bytes:
        """The letter as an A4 PDF (:func:`mt_access.letters.pdf.letter_pdf`).

        Raises:
            LetterError: WeasyPrint (the ``pdf`` extra) or the Pango library is missing, or
                the letter has no HTML.
        """
        from mt_access.letters.pdf import letter_pdf

        return letter_pdf(self)

    def filename(self, fmt: str = "txt") -> str:
        """A file name for the letter: the request id, the kind (and the GP's id for a
        referral file); never a patient's name.

        Args:
            fmt: the format, used as the suffix (``txt``, ``md``, ``html`` or ``pdf``).

        Raises:
            LetterError: an unknown format.
        """
        if fmt not in FORMATS:
            raise LetterError(f"format de courrier inconnu : {fmt!r} ({', '.join(FORMATS)})")
        parts = [self.request_id, self.kind.value]
        if self.physician_id is not None:
            parts.append(self.physician_id)
        stem = "_".join(_UNSAFE_FILE_CHARS.sub("-", p).strip(".-") or "x" for p in parts)
        return f"{stem}.{fmt}"


# --------------------------------------------------------------------------------------------
# Variables shared by every letter


def _cpts(policy: Policy) -> dict[str, str]:
    settings = policy.section(LETTERS)
    signature = settings.signature if settings is not None else ""
    return {
        "nom": policy.name,
        "code": policy.code,
        "signature": signature or f"L'équipe de coordination — {policy.name}",
        "contact": settings.contact if settings is not None else "",
    }


def _base(policy: Policy, request_id: str, received: dt.date, on: dt.date) -> dict[str, Any]:
    return {
        "cpts": _cpts(policy),
        "date": french_date(on),
        "date_longue": long_french_date(on),
        "demande": {
            "numero": request_id,
            "recue_le": french_date(received),
            "recue_le_long": long_french_date(received),
        },
    }


def _patient(identity: PatientIdentity, policy: Policy, request: Request) -> dict[str, str]:
    """The patient as the patient's own letters show them."""
    return {
        **_patient_name(identity),
        "adresse": identity.address,
        "telephone": identity.phone,
        "courriel": identity.email,
        "commune": policy.commune_name(request.commune),
    }


def _patient_name(identity: PatientIdentity) -> dict[str, str]:
    """Only the name: enough for a referrer to know whom a letter is about."""
    full = " ".join(p for p in (identity.first_name, identity.last_name) if p.strip())
    return {"prenom": identity.first_name, "nom": identity.last_name, "nom_complet": full}


def _answers(request: Request, policy: Policy, where: ShowPlace) -> list[dict[str, str]]:
    """The answers the policy shows in this kind of letter (``show_in``), as the ``reponses``
    variable: ``libelle`` and ``valeur``."""
    return [
        {"libelle": label, "valeur": value}
        for label, value in shown_answers(request, policy, where)
    ]


def _referrer(request: Request) -> dict[str, str]:
    referrer = request.referrer
    if referrer.kind is ReferrerKind.PATIENT:
        raise LetterError(
            f"demande {request.id} : pas d'adresseur (le patient a fait la demande lui-même), "
            "pas de courrier à l'adresseur"
        )
    return {
        "nom": referrer.name,
        "contact": referrer.contact,
        "type": referrer.kind.label,
        "designation": referrer.name or referrer.kind.label,
    }


def _render(
    templates: LetterTemplates,
    kind: LetterKind,
    context: dict[str, Any],
    *,
    request_id: str,
    recipient: str,
    physician_id: str | None = None,
) -> Letter:
    rendered: Rendered = templates.render(kind, {**context, "courrier": kind.label})
    subject = rendered.subject or f"{kind.label[0].upper()}{kind.label[1:]} — demande {request_id}"
    cpts = context.get("cpts", {})
    return Letter(
        kind=kind,
        request_id=request_id,
        recipient=recipient,
        subject=subject,
        text=rendered.text,
        markdown=rendered.markdown,
        html=rendered.html,
        physician_id=physician_id,
        sender=str(cpts.get("nom", "")),
        sender_contact=str(cpts.get("contact", "")),
    )


# --------------------------------------------------------------------------------------------
# The letters


def compose_acknowledgement(
    request: Request,
    identity: PatientIdentity,
    policy: Policy,
    on: dt.date,
    *,
    templates: LetterTemplates,
    to: Recipient = "patient",
) -> Letter:
    """The acknowledgement of a request, to the patient or to the referrer.

    Args:
        request: the request.
        identity: the patient's identity.
        policy: the CPTS's policy (name, signature, contact).
        on: the letter's date.
        templates: the CPTS's templates.
        to: ``"patient"`` or ``"referrer"``.

    Returns:
        The letter (:attr:`LetterKind.ACK_PATIENT` or :attr:`LetterKind.ACK_REFERRER`).

    Raises:
        LetterError: ``to`` is neither, or the referrer is asked for and the patient made the
            request themselves.
        LetterTemplateError: the template fails.
    """
    context = _base(policy, request.id, request.received, on)
    if to == "patient":
        context["reponses"] = _answers(request, policy, "letters")
        context["patient"] = _patient(identity, policy, request)
        context["adresseur"] = None
        if request.referrer.kind is not ReferrerKind.PATIENT:
            context["adresseur"] = _referrer(request)
        return _render(
            templates, LetterKind.ACK_PATIENT, context, request_id=request.id, recipient="patient"
        )
    if to == "referrer":
        referrer = _referrer(request)
        context["adresseur"] = referrer
        context["patient"] = _patient_name(identity)
        context["reponses"] = _answers(request, policy, "referrer_letters")
        return _render(
            templates,
            LetterKind.ACK_REFERRER,
            context,
            request_id=request.id,
            recipient=referrer["designation"],
        )
    raise LetterError(f"destinataire inconnu : {to!r} (« patient » ou « referrer » attendu)")


def compose_referral(
    request_id: str,
    received: dt.date,
    fields: Sequence[tuple[str, str]],
    physician: Physician,
    policy: Policy,
    on: dt.date,
    *,
    level: str,
    priority: bool,
    templates: LetterTemplates,
    persons: str = "",
    household: tuple[int, int] = (1, 1),
) -> Letter:
    """The « dossier qualifié » sent to a GP the request is proposed to.

    It shows the ``fields`` and nothing else about the patient: pass the pairs of
    :func:`mt_access.privacy.referral` (:meth:`mt_access.Register.referral`), limited to the
    policy's ``privacy.referral_fields``.

    Args:
        request_id: the request.
        received: the date the CPTS received it.
        fields: ``(French label, value)`` pairs to show.
        physician: the GP.
        policy: the CPTS's policy (name, signature, contact).
        on: the letter's date.
        level: the request's priority level (its name).
        priority: whether that level is a priority one.
        templates: the CPTS's templates.
        persons: the persons of the household proposed to this GP, as
            :meth:`~mt_access.model.Household.describe` names them (« adulte 2, enfant 1 »).
        household: (persons proposed to this GP, persons of the request).

    Returns:
        The letter (:attr:`LetterKind.REFERRAL`).

    Raises:
        LetterTemplateError: the template fails.
    """
    context = _base(policy, request_id, received, on)
    context["demande"].update({"niveau": level, "prioritaire": priority})
    context["proposition"] = {
        "personnes": persons,
        "nombre": household[0],
        "foyer": household[1],
    }
    context["dossier"] = [{"libelle": label, "valeur": value} for label, value in fields]
    context["medecin"] = {
        "nom": physician.name,
        "identifiant": physician.id,
        "commune": policy.commune_name(physician.commune),
    }
    return _render(
        templates,
        LetterKind.REFERRAL,
        context,
        request_id=request_id,
        recipient=physician.name,
        physician_id=physician.id,
    )


def outcome(
    file: RequestFile, policy: Policy, physician: Physician | None = None
) -> dict[str, Any]:
    """Where the request stands, for the referrer: the ``issue`` variable of the feedback.

    Args:
        file: the request's lifecycle.
        policy: the policy (commune names).
        physician: the GP who took the patient, when the request is ``mt_found``.
    """
    state = file.state
    medecin = None
    motif = ""
    on = file.last_date
    if state is RequestState.MT_FOUND:
        kind = "medecin_trouve"
        label = "médecin traitant trouvé"
        if physician is not None:
            medecin = {"nom": physician.name, "commune": policy.commune_name(physician.commune)}
    elif state is RequestState.EXITED:
        kind = "sortie"
        assert file.exit_reason is not None
        label = motif = file.exit_reason.label
    elif state is RequestState.PROPOSED:
        kind = "proposition"
        label = "demande proposée à un médecin du dispositif, en attente de sa réponse"
    elif state is RequestState.WAITING:
        oriented = [t for t in file.history if t.event is Event.ORIENT]
        if oriented:
            kind = "orientation"
            label = "orientation envoyée (liste de médecins et ressources du territoire)"
            on = oriented[-1].on
        else:
            kind = "attente"
            label = "en liste d'attente"
    else:
        kind = "en_cours"
        label = f"demande en cours de traitement ({state.label})"
    return {
        "type": kind,
        "libelle": label,
        "etat": state.label,
        "date": french_date(on),
        "medecin": medecin,
        "motif": motif,
    }


def person_outcomes(
    request: Request,
    file: RequestFile,
    policy: Policy,
    physicians: Mapping[str, Physician],
) -> list[dict[str, str]]:
    """Each person's outcome for a household request (empty for one person): ``personne``
    (« adulte 2 ») and ``issue`` in French."""
    if request.persons == 1:
        return []
    people = file.people
    pending = people.pending
    rows = []
    for member in request.household.members:
        result = people.outcome(member.number)
        if isinstance(result, ExitReason):  # before str: the enum's values are strings
            text = f"sortie du dispositif ({result.label})"
        elif result is not None:
            gp = physicians.get(result)
            where = f" : {gp.name} ({policy.commune_name(gp.commune)})" if gp else ""
            text = f"médecin traitant trouvé{where}"
        elif member.number in pending:
            text = "proposée à un médecin, en attente de sa réponse"
        else:
            text = "en liste d'attente"
        rows.append({"personne": member.label, "issue": text})
    return rows


def compose_feedback(
    request: Request,
    identity: PatientIdentity,
    file: RequestFile,
    policy: Policy,
    on: dt.date,
    *,
    templates: LetterTemplates,
    physician: Physician | None = None,
    physicians: Mapping[str, Physician] | None = None,
) -> Letter:
    """The feedback to the referrer on the outcome of the request: the patient's name and
    the outcome only (no medical detail); for a household, the outcome of each person
    (``issue.personnes``).

    Args:
        request: the request.
        identity: the patient's identity (only the name is shown).
        file: the request's lifecycle.
        policy: the CPTS's policy.
        on: the letter's date.
        templates: the CPTS's templates.
        physician: the GP who took the patient, when the request is ``mt_found``.
        physicians: the GPs who took persons of the household, by id (their names and
            communes are shown).

    Returns:
        The letter (:attr:`LetterKind.FEEDBACK`).

    Raises:
        LetterError: the patient made the request themselves (no referrer).
        LetterTemplateError: the template fails.
    """
    referrer = _referrer(request)
    context = _base(policy, request.id, request.received, on)
    context["adresseur"] = referrer
    context["patient"] = _patient_name(identity)
    context["issue"] = outcome(file, policy, physician)
    context["issue"]["personnes"] = person_outcomes(request, file, policy, physicians or {})
    context["issue"]["ressources"] = involved_resources(file, policy)
    context["reponses"] = _answers(request, policy, "referrer_letters")
    return _render(
        templates,
        LetterKind.FEEDBACK,
        context,
        request_id=request.id,
        recipient=referrer["designation"],
    )


def _resource(item: Resource | AttachedResource | str, policy: Policy) -> dict[str, str]:
    """A resource's template variables (``nom``, ``type``, ``contact``, ``notes``, ``texte``,
    ``mode``, ``etat``, ``jusqu_au``)."""
    status = until = ""
    if isinstance(item, AttachedResource):
        status = item.status_label
        until = french_date(item.until) if item.until and item.status == "awaiting" else ""
        item = next((r for r in policy.resources if r.name == item.name), None) or Resource(
            item.name, item.kind, item.contact
        )
    if isinstance(item, str):
        known = next((r for r in policy.resources if r.describe() == item), None)
        if known is None:
            return {
                "texte": item,
                "nom": item,
                "type": "",
                "contact": "",
                "notes": "",
                "mode": "",
                "etat": "",
                "jusqu_au": "",
            }
        item = known
    return {
        "texte": item.describe(),
        "nom": item.name,
        "type": item.kind,
        "contact": item.contact,
        "notes": item.notes,
        "mode": MODE_LABELS.get(item.mode, ""),
        "etat": status,
        "jusqu_au": until,
    }


def involved_resources(file: RequestFile, policy: Policy) -> list[dict[str, str]]:
    """The resources the history says were involved for the request (events
    ``resource_involved``), once each, oldest first, as template variables."""
    names: list[str] = []
    for t in file.history:
        if t.event is Event.RESOURCE_INVOLVED and t.resource and t.resource not in names:
            names.append(t.resource)
    known = {r.name: r for r in policy.resources}
    return [_resource(known.get(name) or Resource(name), policy) for name in names]


def _contact(contact: PracticeContact) -> dict[str, str]:
    return {
        "telephone": contact.phone,
        "adresse": contact.address,
        "cabinet": contact.practice,
        "mssante": contact.mssante,
        "informations": contact.notes,
    }


def compose_orientation(
    request: Request,
    identity: PatientIdentity,
    policy: Policy,
    on: dt.date,
    *,
    physicians: Sequence[OrientedPhysician],
    resources: Sequence[Resource | AttachedResource | str],
    templates: LetterTemplates,
    contacts: Mapping[str, PracticeContact] | None = None,
    with_gps: bool = True,
) -> Letter:
    """The orientation letter to the patient: GPs to contact and the territory's resources.

    Args:
        request: the request.
        identity: the patient's identity.
        policy: the CPTS's policy.
        on: the letter's date.
        physicians: the GPs to contact (an :class:`~mt_access.result.Orientation`'s, or the
            GPs of the patient's commune).
        resources: the resources (the policy's :class:`~mt_access.policy.Resource`, or their
            ``describe()`` text as in an orientation).
        templates: the CPTS's templates.
        contacts: the GPs' practice contacts by physician id (phone, postal address,
            practice name, notes for patients; the MSSanté address, for professionals, is
            given to the template too); a GP missing has none.
        with_gps: ``False`` when the orientation lists no GP by design (an ``instead``
            resource, or ``include_commune_gps: false``): the template's ``liste_medecins``.

    Returns:
        The letter (:attr:`LetterKind.ORIENTATION`).

    Raises:
        LetterTemplateError: the template fails.
    """
    context = _base(policy, request.id, request.received, on)
    context["patient"] = _patient(identity, policy, request)
    context["commune"] = policy.commune_name(request.commune)
    known = contacts or {}
    context["medecins"] = [
        {
            "nom": p.name,
            "commune": policy.commune_name(p.commune),
            "distance": format_km(p.distance_km) if p.commune != request.commune else "",
            **_contact(known.get(p.physician_id, PracticeContact())),
        }
        for p in physicians
    ]
    context["ressources"] = [_resource(r, policy) for r in resources]
    context["liste_medecins"] = with_gps
    context["reponses"] = _answers(request, policy, "letters")
    return _render(
        templates, LetterKind.ORIENTATION, context, request_id=request.id, recipient="patient"
    )


def compose_resources(
    request: Request,
    identity: PatientIdentity,
    policy: Policy,
    on: dt.date,
    *,
    resources: Sequence[AttachedResource | Resource],
    templates: LetterTemplates,
) -> Letter:
    """The letter to the patient naming the resources the policy involves for their request
    (``alongside``: in addition to the search for a GP; ``before``: first, the request waiting
    for the resource's answer).

    Args:
        request: the request.
        identity: the patient's identity.
        policy: the CPTS's policy.
        on: the letter's date.
        resources: the resources (a run's :class:`~mt_access.result.AttachedResource`, or
            the policy's :class:`~mt_access.policy.Resource`).
        templates: the CPTS's templates.

    Returns:
        The letter (:attr:`LetterKind.RESOURCES`).

    Raises:
        LetterTemplateError: the template fails.
    """
    context = _base(policy, request.id, request.received, on)
    context["patient"] = _patient(identity, policy, request)
    context["ressources"] = [_resource(r, policy) for r in resources]
    context["avant"] = any(
        (r.mode == "before" and (not isinstance(r, AttachedResource) or r.status == "awaiting"))
        for r in resources
    )
    return _render(
        templates, LetterKind.RESOURCES, context, request_id=request.id, recipient="patient"
    )
