"""Domain model: requests for a médecin traitant and the physicians who may take them.

Everything here is an immutable value (``attrs.frozen``). Nothing does I/O. Ages are computed at
a reference date and never stored.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Mapping

import attrs

from mt_access.answers import Answers
from mt_access.bounds import MAX_ADULTS, MAX_CHILDREN
from mt_access.geo.point import Point
from mt_access.labels import LabelledEnum, register_labels

__all__ = [
    "Consent",
    "HomeVisitNeed",
    "Household",
    "HouseholdMember",
    "KnownPerson",
    "Modality",
    "Patient",
    "PatientIdentity",
    "Physician",
    "PhysicianStatus",
    "PracticeContact",
    "PreviousDoctor",
    "Referrer",
    "ReferrerKind",
    "Request",
    "SearchReason",
    "StatusChange",
    "age_band",
    "age_on",
]


class HomeVisitNeed(LabelledEnum):
    """Does the patient need home visits (visites à domicile, VAD)?"""

    NONE = "none"
    OCCASIONAL = "occasional"
    EXCLUSIVE = "exclusive"


class SearchReason(LabelledEnum):
    """Why the patient is looking for a médecin traitant."""

    PREVIOUS_MT_LEFT = "previous_mt_left"
    NEW_ARRIVAL = "new_arrival"
    MOVED = "moved"
    PREVIOUS_MT_TOO_FAR = "previous_mt_too_far"
    RELATIONSHIP = "relationship"
    CONVENIENCE = "convenience"
    OTHER = "other"


class ReferrerKind(LabelledEnum):
    """Who sent the request."""

    PATIENT = "patient"
    HEALTH_PROFESSIONAL = "health_professional"
    SOCIAL_WORKER = "social_worker"
    HOSPITAL = "hospital"
    OTHER = "other"


class Modality(LabelledEnum):
    """How a physician receives new patients."""

    OFFICE = "office"
    HOME_VISITS = "home_visits"


class PhysicianStatus(LabelledEnum):
    """A physician's participation in the scheme at a given date."""

    ACTIVE = "active"
    SUSPENDED = "suspended"
    WITHDRAWN = "withdrawn"


register_labels(
    {
        HomeVisitNeed.NONE: "pas de visite à domicile",
        HomeVisitNeed.OCCASIONAL: "visites à domicile occasionnelles",
        HomeVisitNeed.EXCLUSIVE: "visites à domicile exclusivement",
    }
)

register_labels(
    {
        SearchReason.PREVIOUS_MT_LEFT: "médecin traitant parti ou en retraite",
        SearchReason.NEW_ARRIVAL: "nouvel arrivant sur le territoire",
        SearchReason.MOVED: "déménagement",
        SearchReason.PREVIOUS_MT_TOO_FAR: "médecin traitant trop éloigné",
        SearchReason.RELATIONSHIP: "mésentente avec le médecin traitant",
        SearchReason.CONVENIENCE: "changement de médecin par convenance",
        SearchReason.OTHER: "autre motif",
    }
)

register_labels(
    {
        ReferrerKind.PATIENT: "le patient lui-même",
        ReferrerKind.HEALTH_PROFESSIONAL: "professionnel de santé",
        ReferrerKind.SOCIAL_WORKER: "travailleur social ou médico-social",
        ReferrerKind.HOSPITAL: "établissement de santé",
        ReferrerKind.OTHER: "autre",
    }
)

register_labels(
    {
        Modality.OFFICE: "en cabinet",
        Modality.HOME_VISITS: "visites à domicile",
    }
)

register_labels(
    {
        PhysicianStatus.ACTIVE: "actif",
        PhysicianStatus.SUSPENDED: "suspendu",
        PhysicianStatus.WITHDRAWN: "retiré du dispositif",
    }
)


def age_on(birth_date: dt.date, on: dt.date) -> int:
    """Age in whole years on ``on`` (a person born on 29 February ages on 1 March)."""
    years = on.year - birth_date.year
    if (on.month, on.day) < (birth_date.month, birth_date.day):
        years -= 1
    return years


def age_band(age: int) -> str:
    """The age band shown instead of a birth date in shared lists and pseudonymised exports:
    ``0-5 ans``, ``6-15 ans``, ``16-19 ans``, ``20-29 ans``... ``60-69 ans``, ``70 ans et
    plus`` (the limits of the usual priority criteria: under 6, under 16, 70 and over)."""
    if age < 6:
        return "0-5 ans"
    if age < 16:
        return "6-15 ans"
    if age < 70:
        low = (age // 10) * 10
        return f"{max(low, 16)}-{low + 9} ans"
    return "70 ans et plus"


def age_band_floor(age: int) -> int:
    """The lowest age of ``age``'s band (0, 6, 16, 20, 30... 60, 70)."""
    if age < 6:
        return 0
    if age < 16:
        return 6
    if age < 70:
        return max((age // 10) * 10, 16)
    return 70


def masked(value: object) -> str:
    """How a personal field shows in ``repr()``: whether it is filled, never its value (a
    ``repr`` ends up in tracebacks, logs and test reports)."""
    return "<masqué>" if value not in ("", None) else repr(value)


def _need(value: HomeVisitNeed | str) -> HomeVisitNeed:
    return HomeVisitNeed(value)


def _reason(value: SearchReason | str) -> SearchReason:
    return SearchReason(value)


def _status(value: PhysicianStatus | str) -> PhysicianStatus:
    return PhysicianStatus(value)


def _history(value: Iterable[StatusChange]) -> tuple[StatusChange, ...]:
    return tuple(sorted(value))


def _insee(_inst: object, attribute: attrs.Attribute[str], value: str) -> None:
    if not (isinstance(value, str) and len(value) == 5 and value.isalnum()):
        # the value is not echoed: a misplaced cell may hold a name or a phone number
        found = f"{len(value)} caractère(s)" if isinstance(value, str) else type(value).__name__
        raise ValueError(f"{attribute.name}: code INSEE à 5 caractères attendu, reçu {found}")


def _non_empty(_inst: object, attribute: attrs.Attribute[str], value: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{attribute.name}: texte non vide attendu")


@attrs.frozen
class Patient:
    """The person looking for a médecin traitant.

    Attributes:
        birth_date: used to compute the age at a reference date; never shown in shared lists.
        commune: INSEE code of the commune of residence.
        location: the home's coordinates when geocoded; otherwise the commune's point is used.
    """

    birth_date: dt.date = attrs.field(repr=masked)
    commune: str = attrs.field(validator=_insee)
    location: Point | None = attrs.field(default=None, repr=masked)


def _text(_inst: object, attribute: attrs.Attribute[str], value: str) -> None:
    if not isinstance(value, str):
        raise TypeError(f"{attribute.name}: texte attendu")


@attrs.frozen
class PatientIdentity:
    """Who the patient is and how to reach them: personal data, kept apart from the request.

    The engine never sees it. The register stores it next to the request, uses it to recognise
    duplicates, puts in a GP referral only the fields the policy lists
    (``privacy.referral_fields``), leaves it out of pseudonymised exports, and blanks it when the
    patient asks for erasure. Never put it in a log line or an exception message.

    Attributes:
        last_name: nom d'usage.
        first_name: prénom.
        birth_name: nom de naissance, when different.
        phone: telephone number, as written.
        email: e-mail address.
        address: postal address (street, postal code and commune, as written).
        identifier: an identifier of the person, when the form has one (NIR, a form
            submission id...): two requests with the same identifier are the same person.
    """

    last_name: str = attrs.field(default="", validator=_text, repr=masked)
    first_name: str = attrs.field(default="", validator=_text, repr=masked)
    birth_name: str = attrs.field(default="", validator=_text, repr=masked)
    phone: str = attrs.field(default="", validator=_text, repr=masked)
    email: str = attrs.field(default="", validator=_text, repr=masked)
    address: str = attrs.field(default="", validator=_text, repr=masked)
    identifier: str = attrs.field(default="", validator=_text, repr=masked)

    @property
    def is_empty(self) -> bool:
        """No field filled (e.g. after erasure)."""
        return not any(attrs.astuple(self))


@attrs.frozen
class KnownPerson:
    """A person already in the register, for recognising duplicates at intake (never erased
    ones): what a store gives (``Store.known_persons``) and the intake compares.

    Attributes:
        request_id: the request the person made.
        identity: their identity.
        birth_date: their birth date.
        active: whether the request is still in progress.
    """

    request_id: str
    identity: PatientIdentity
    birth_date: dt.date = attrs.field(repr=masked)
    active: bool


@attrs.frozen
class PreviousDoctor:
    """The last médecin traitant, when known."""

    name: str = ""
    commune: str | None = attrs.field(default=None, validator=attrs.validators.optional(_insee))


@attrs.frozen
class HouseholdMember:
    """One person of a request, numbered from 1 within the request.

    Person 1 is the patient who made the request; then the other adults; then the children.
    A form gives only the household's counts, so a member is named by their place in it
    (« adulte 2 », « enfant 1 »), never by personal data.

    Attributes:
        number: 1-based number of the person within the request.
        child: whether the person is one of the household's children.
        rank: 1-based rank among the adults or among the children.
    """

    number: int
    child: bool
    rank: int

    @property
    def label(self) -> str:
        """« adulte 1 (demandeur) », « adulte 2 », « enfant 1 »..."""
        text = f"{'enfant' if self.child else 'adulte'} {self.rank}"
        return f"{text} (demandeur)" if self.number == 1 else text


def _count(low: int, high: int, what: str) -> Callable[[object, attrs.Attribute[int], int], None]:
    def check(_inst: object, attribute: attrs.Attribute[int], value: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{attribute.name} : entier attendu")
        if not low <= value <= high:
            raise ValueError(f"{what} : entier entre {low} et {high} attendu")

    return check


@attrs.frozen
class Household:
    """Members of the household looking for a médecin traitant, the patient included.

    Capacity counts persons: a request for a household of 2 adults and 1 child needs 3 places.
    Each person is placed, proposed, accepted and closed on their own
    (:class:`HouseholdMember`; :meth:`mt_access.lifecycle.RequestFile.people`), unless the
    policy keeps households together. Bounds: :data:`~mt_access.bounds.MAX_ADULTS` adults and
    :data:`~mt_access.bounds.MAX_CHILDREN` children.
    """

    adults: int = attrs.field(default=1, validator=_count(0, MAX_ADULTS, "nombre d'adultes"))
    children: int = attrs.field(default=0, validator=_count(0, MAX_CHILDREN, "nombre d'enfants"))

    def __attrs_post_init__(self) -> None:
        if self.adults + self.children < 1:
            raise ValueError("un foyer compte au moins une personne")

    @property
    def persons(self) -> int:
        return self.adults + self.children

    @property
    def members(self) -> tuple[HouseholdMember, ...]:
        """The persons, numbered: the adults first (the patient is person 1), then the
        children; a household of children only starts with its first child."""
        adults = tuple(HouseholdMember(i, False, i) for i in range(1, self.adults + 1))
        children = tuple(
            HouseholdMember(self.adults + i, True, i) for i in range(1, self.children + 1)
        )
        return adults + children

    def member(self, number: int) -> HouseholdMember:
        """Person ``number`` (1-based).

        Raises:
            ValueError: no such person in the household.
        """
        if not 1 <= number <= self.persons:
            raise ValueError(f"personne {number} : le foyer compte {self.persons} personne(s)")
        return self.members[number - 1]

    def subset(self, numbers: Iterable[int]) -> Household:
        """The household made of the persons ``numbers`` (e.g. those still waiting)."""
        chosen = [self.member(n) for n in sorted(set(numbers))]
        children = sum(1 for m in chosen if m.child)
        return Household(adults=len(chosen) - children, children=children)

    def describe(self, numbers: Iterable[int] | None = None) -> str:
        """« adulte 1 (demandeur), enfant 1 » for the persons ``numbers`` (all when None)."""
        chosen = self.members if numbers is None else [self.member(n) for n in sorted(numbers)]
        return ", ".join(m.label for m in chosen)


@attrs.frozen
class Referrer:
    """Who sent the request (kind, and a name and contact for the acknowledgement)."""

    kind: ReferrerKind = ReferrerKind.PATIENT
    name: str = attrs.field(default="", repr=masked)
    contact: str = attrs.field(default="", repr=masked)


@attrs.frozen
class Consent:
    """The patient's consent to the search and to sharing their data with the GPs."""

    given: bool
    on: dt.date | None = None


def _answers(value: Mapping[str, object] | None) -> Answers:
    return Answers.of(value)


@attrs.frozen
class Request:
    """A request for a médecin traitant.

    Attributes:
        id: the CPTS's identifier (no personal data in it).
        received: date the CPTS received the request.
        patient: the person (birth date, commune, optional coordinates).
        ald: affection de longue durée.
        css: complémentaire santé solidaire.
        ame: aide médicale de l'État.
        disability_or_chronic: disability or chronic condition without ALD.
        home_visits: need for home visits.
        urgent: care needed within a month.
        reason: why the patient is searching.
        previous_mt: last médecin traitant, when known.
        household: persons covered by the request (the patient included).
        referrer: who sent it.
        consent: the patient's consent.
        comments: free text from the form.
        declined_by: ids of physicians who already refused this request; they are never
            proposed it again.
        household_id: links separate requests of one household.
        answers: the answers to the CPTS's own questions (the policy's ``questions:``),
            question id → typed value (:class:`~mt_access.answers.Answers`; empty by
            default); checked against the policy by :func:`mt_access.questions.check_answers`.
    """

    id: str = attrs.field(validator=_non_empty)
    received: dt.date
    patient: Patient
    ald: bool = False
    css: bool = False
    ame: bool = False
    disability_or_chronic: bool = False
    home_visits: HomeVisitNeed = attrs.field(default=HomeVisitNeed.NONE, converter=_need)
    urgent: bool = False
    reason: SearchReason = attrs.field(default=SearchReason.OTHER, converter=_reason)
    previous_mt: PreviousDoctor | None = None
    household: Household = attrs.field(factory=Household)
    referrer: Referrer = attrs.field(factory=Referrer)
    consent: Consent = attrs.field(factory=lambda: Consent(given=True))
    comments: str = attrs.field(default="", repr=masked)
    declined_by: frozenset[str] = attrs.field(default=frozenset(), converter=frozenset)
    household_id: str | None = None
    answers: Answers = attrs.field(factory=Answers, converter=_answers)

    def age(self, on: dt.date) -> int:
        """The patient's age in whole years on ``on``."""
        return age_on(self.patient.birth_date, on)

    @property
    def persons(self) -> int:
        """Places this request needs (the household's size)."""
        return self.household.persons

    @property
    def commune(self) -> str:
        return self.patient.commune


@attrs.frozen(order=True)
class StatusChange:
    """A change in a physician's participation.

    ``SUSPENDED`` with ``until`` set is a suspension through that date inclusive; the physician
    is active again the day after. ``WITHDRAWN`` lasts until a later ``ACTIVE`` change.
    """

    on: dt.date
    status: PhysicianStatus = attrs.field(converter=_status)
    until: dt.date | None = None
    note: str = attrs.field(default="", order=False)

    def __attrs_post_init__(self) -> None:
        if self.until is not None:
            if self.status is not PhysicianStatus.SUSPENDED:
                raise ValueError("une date de fin n'a de sens que pour une suspension")
            if self.until < self.on:
                raise ValueError("la fin de suspension précède son début")


def _modalities(value: Iterable[Modality | str]) -> frozenset[Modality]:
    return frozenset(Modality(v) for v in value)


def _communes(value: Iterable[str]) -> frozenset[str]:
    return frozenset(value)


CONTACT_MAX_LENGTHS: dict[str, int] = {
    "phone": 30,
    "mssante": 254,
    "address": 300,
    "practice": 200,
    "notes": 1000,
}
"""Longest text accepted for each field of a :class:`PracticeContact`."""

CONTACT_LABELS: dict[str, str] = {
    "phone": "téléphone",
    "mssante": "adresse MSSanté",
    "address": "adresse postale",
    "practice": "nom du cabinet",
    "notes": "informations pour les patients",
}
"""French names of the fields of a :class:`PracticeContact` (for messages)."""

_PHONE_CHARACTERS = re.compile(r"\+?[0-9 .()/-]*")
_EMAIL_SHAPE = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")


def _bounded_text(instance: object, attribute: attrs.Attribute[str], value: str) -> None:
    if not isinstance(value, str):
        raise TypeError(f"{attribute.name} : texte attendu")
    limit = CONTACT_MAX_LENGTHS[attribute.name]
    if len(value) > limit:
        raise ValueError(
            f"{CONTACT_LABELS[attribute.name]} : {limit} caractères au plus ({len(value)} donnés)"
        )


def _phone(instance: object, attribute: attrs.Attribute[str], value: str) -> None:
    _bounded_text(instance, attribute, value)
    if not value:
        return
    digits = sum(c.isdigit() for c in value)
    if not _PHONE_CHARACTERS.fullmatch(value) or not 4 <= digits <= 15:
        raise ValueError(
            "téléphone : numéro attendu (chiffres, espaces, points, tirets, « + » initial ; "
            "de 4 à 15 chiffres, ex. 04 76 12 34 56 ou +33 4 76 12 34 56)"
        )


def _mssante(instance: object, attribute: attrs.Attribute[str], value: str) -> None:
    _bounded_text(instance, attribute, value)
    if value and not _EMAIL_SHAPE.fullmatch(value):
        raise ValueError(
            "adresse MSSanté : adresse électronique attendue (nom@domaine, "
            "ex. prenom.nom@medecin.mssante.fr)"
        )


def _stripped(value: str) -> str:
    return value.strip() if isinstance(value, str) else value


def format_phone(text: str) -> str:
    """A phone number written the French way when it is one (``"04 76 12 34 56"`` from
    ``"0476123456"``, ``"+33 4 76 12 34 56"`` from ``"+33476123456"``), else as given (stripped).
    """
    text = text.strip()
    digits = "".join(c for c in text if c.isdigit())
    if text.startswith("+33") and len(digits) == 11:
        rest = digits[2:]
        return "+33 " + rest[0] + " " + " ".join(rest[i : i + 2] for i in range(1, 9, 2))
    if not text.startswith("+") and len(digits) == 10 and digits.startswith("0"):
        return " ".join(digits[i : i + 2] for i in range(0, 10, 2))
    return text


@attrs.frozen
class PracticeContact:
    """How to reach a GP's practice: professional data, shown to patients in orientation
    letters and lists (never written to logs).

    Every field is optional (``""``: unknown) and stripped of surrounding blanks; lengths are
    bounded by :data:`CONTACT_MAX_LENGTHS`.

    Attributes:
        phone: the practice's phone number (digits, spaces, dots, dashes, a leading ``+``;
            4 to 15 digits).
        mssante: the GP's MSSanté address (secure messaging between professionals; any
            e-mail shape is accepted, typically ``…@….mssante.fr``).
        address: the practice's postal address, on one line.
        practice: the practice's name (cabinet, maison de santé).
        notes: free notes for patients (e.g. "prise de rendez-vous en ligne uniquement").
    """

    phone: str = attrs.field(default="", converter=_stripped, validator=_phone)
    mssante: str = attrs.field(default="", converter=_stripped, validator=_mssante)
    address: str = attrs.field(default="", converter=_stripped, validator=_bounded_text)
    practice: str = attrs.field(default="", converter=_stripped, validator=_bounded_text)
    notes: str = attrs.field(default="", converter=_stripped, validator=_bounded_text)

    def __bool__(self) -> bool:
        return any((self.phone, self.mssante, self.address, self.practice, self.notes))


def _contact(value: PracticeContact | None) -> PracticeContact:
    return PracticeContact() if value is None else value


@attrs.frozen
class Physician:
    """A general practitioner (médecin généraliste) taking part in the scheme.

    Attributes:
        id: the CPTS's identifier.
        name: as shown to coordinators and in orientation letters (e.g. "Dr Martin").
        commune: INSEE code of the practice.
        location: the practice's coordinates; the commune's point when absent.
        accepting_new_patients: declared willingness to take new patients.
        monthly_capacity: new patients per month by default (``None``: not declared, the
            policy's ``capacity.default_monthly`` applies); the ledger's declarations override
            it from a given month.
        modalities: office and/or home visits.
        accepted_communes: INSEE codes of the communes they accept patients from;
            empty means the policy's default.
        rpps: national RPPS number, when known.
        status_history: participation changes; empty means active since always.
        contact: the practice's phone, MSSanté address, postal address, name and notes for
            patients (empty by default).
    """

    id: str = attrs.field(validator=_non_empty)
    name: str
    commune: str = attrs.field(validator=_insee)
    location: Point | None = None
    accepting_new_patients: bool = True
    monthly_capacity: int | None = attrs.field(
        default=None, validator=attrs.validators.optional(attrs.validators.ge(0))
    )
    modalities: frozenset[Modality] = attrs.field(
        default=frozenset({Modality.OFFICE}), converter=_modalities
    )
    accepted_communes: frozenset[str] = attrs.field(default=frozenset(), converter=_communes)
    rpps: str | None = None
    status_history: tuple[StatusChange, ...] = attrs.field(default=(), converter=_history)
    contact: PracticeContact = attrs.field(factory=PracticeContact, converter=_contact)

    def status_on(self, on: dt.date) -> PhysicianStatus:
        """Participation on date ``on``."""
        current = PhysicianStatus.ACTIVE
        for change in self.status_history:
            if change.on > on:
                break
            current = change.status
            if (
                change.status is PhysicianStatus.SUSPENDED
                and change.until is not None
                and on > change.until
            ):
                current = PhysicianStatus.ACTIVE
        return current

    def is_available_on(self, on: dt.date) -> bool:
        """Active on ``on`` and accepting new patients."""
        return self.accepting_new_patients and self.status_on(on) is PhysicianStatus.ACTIVE

    def serves(self, need: HomeVisitNeed) -> bool:
        """Whether the physician's modalities meet a patient's need for home visits.

        No home visits: the physician receives in the office. Occasional: office and home
        visits. Exclusive: home visits.
        """
        if need is HomeVisitNeed.NONE:
            return Modality.OFFICE in self.modalities
        if need is HomeVisitNeed.OCCASIONAL:
            return {Modality.OFFICE, Modality.HOME_VISITS} <= self.modalities
        return Modality.HOME_VISITS in self.modalities
