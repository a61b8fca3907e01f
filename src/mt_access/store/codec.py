"""Hand-written codecs between the domain values and the rows of an SQLite register.

Each ``*_row`` function turns a value into the tuple of column values of its table (in the
order of the matching ``*_COLUMNS`` constant); each ``decode_*`` function does the reverse.
The round trip is exact: dates as ISO text (``YYYY-MM-DD``), months as ``YYYY-MM``, enums by
their value, sets of ids as sorted JSON lists, points as two REAL columns (``NULL`` for
``None``), booleans as 0/1, ``None`` as ``NULL`` (never confused with ``""``).

Decoding is the hot path of a match run (every waiting request is read): enum values are
looked up in dictionaries, and the small immutable values that many requests share
(households, referrers, consents, previous doctors, months) are built once per batch and
shared.

A value that cannot be decoded (a damaged or hand-edited file) raises :class:`ValueError`,
:class:`KeyError` or :class:`TypeError`; the store turns them into a
:class:`~mt_access.store.base.StoreError`.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable, Sequence
from enum import Enum
from typing import Any, TypeVar

import attrs

from mt_access.answers import decode_answers, encode_answers
from mt_access.calendar import Month
from mt_access.geo.point import Point
from mt_access.ledger import CapacityDeclared, LedgerEntry, PlacementRecorded, PlacementReleased
from mt_access.lifecycle import Actor, Event, ExitReason, RequestFile, RequestState, Transition
from mt_access.model import (
    Consent,
    HomeVisitNeed,
    Household,
    Modality,
    Patient,
    PatientIdentity,
    Physician,
    PhysicianStatus,
    PracticeContact,
    PreviousDoctor,
    Referrer,
    ReferrerKind,
    Request,
    SearchReason,
    StatusChange,
)
from mt_access.store.base import RequestSummary

__all__ = [
    "FILE_COLUMNS",
    "IDENTITY_COLUMNS",
    "LEDGER_COLUMNS",
    "PHYSICIAN_COLUMNS",
    "REQUEST_COLUMNS",
    "REQUEST_DATA_COLUMNS",
    "SUMMARY_COLUMNS",
    "TRANSITION_COLUMNS",
    "decode_date",
    "decode_file",
    "decode_identity",
    "decode_ids",
    "decode_ledger",
    "decode_month",
    "decode_persons",
    "decode_physician",
    "decode_requests",
    "decode_summaries",
    "decode_transition",
    "decode_transitions",
    "encode_ids",
    "encode_persons",
    "file_row",
    "identity_row",
    "ledger_row",
    "physician_row",
    "request_row",
    "transition_row",
]

Row = Sequence[Any]
E = TypeVar("E", bound=Enum)


def _by_value(enum: type[E]) -> dict[str, E]:
    return {member.value: member for member in enum}


_STATES = _by_value(RequestState)
_EVENTS = _by_value(Event)
_ACTORS = _by_value(Actor)
_EXITS = _by_value(ExitReason)
_NEEDS = _by_value(HomeVisitNeed)
_REASONS = _by_value(SearchReason)
_REFERRERS = _by_value(ReferrerKind)
_MODALITIES = _by_value(Modality)
_STATUSES = _by_value(PhysicianStatus)
_EMPTY: frozenset[str] = frozenset()

decode_date = dt.date.fromisoformat
"""``YYYY-MM-DD`` to a date."""


def _date_or_none(text: str | None) -> dt.date | None:
    return None if text is None else decode_date(text)


def _iso_or_none(day: dt.date | None) -> str | None:
    return None if day is None else day.isoformat()


def decode_month(text: str) -> Month:
    """``YYYY-MM`` to a :class:`Month`."""
    year, dash, month = text.rpartition("-")
    if not (dash and year.isdigit() and len(month) == 2 and month.isdigit()):
        raise ValueError(f"mois illisible : {text!r}")
    return Month(int(year), int(month))


def encode_ids(ids: Iterable[str]) -> str:
    """A set of ids as a sorted JSON list (``[]`` when empty)."""
    return json.dumps(sorted(ids), ensure_ascii=False, separators=(",", ":"))


def decode_ids(text: str) -> frozenset[str]:
    """The reverse of :func:`encode_ids`."""
    if text == "[]":
        return _EMPTY
    values = json.loads(text)
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise ValueError("liste d'identifiants illisible")
    return frozenset(values)


def _sorted_ids(text: str) -> tuple[str, ...]:
    if text == "[]":
        return ()
    return tuple(sorted(decode_ids(text)))


# --------------------------------------------------------------------------------------------
# Requests: the ``requests`` table holds the request and the state of its file.

REQUEST_DATA_COLUMNS: tuple[str, ...] = (
    "received",
    "commune",
    "persons",
    "urgent",
    "birth_date",
    "lat",
    "lon",
    "ald",
    "css",
    "ame",
    "disability_or_chronic",
    "home_visits",
    "reason",
    "previous_mt_name",
    "previous_mt_commune",
    "adults",
    "children",
    "referrer_kind",
    "referrer_name",
    "referrer_contact",
    "consent_given",
    "consent_on",
    "comments",
    "household_id",
    "answers",
)
"""The columns :func:`request_row` fills (the request's own fields; ``answers`` is the JSON
text of :func:`mt_access.answers.encode_answers`)."""

FILE_COLUMNS: tuple[str, ...] = (
    "state",
    "last_event",
    "proposed_to",
    "declined_by",
    "contact_attempts",
    "exit_reason",
    "searching",
)
"""The columns :func:`file_row` fills (the state of the request's file; ``searching`` is the
number of its persons still searching, 0 once it exited)."""

REQUEST_COLUMNS: tuple[str, ...] = (
    "id",
    "received",
    "birth_date",
    "commune",
    "lat",
    "lon",
    "ald",
    "css",
    "ame",
    "disability_or_chronic",
    "home_visits",
    "urgent",
    "reason",
    "previous_mt_name",
    "previous_mt_commune",
    "adults",
    "children",
    "referrer_kind",
    "referrer_name",
    "referrer_contact",
    "consent_given",
    "consent_on",
    "comments",
    "declined_by",
    "household_id",
    "answers",
)
"""The columns :func:`decode_requests` reads, in this order."""


def request_row(request: Request) -> tuple[Any, ...]:
    """The values of :data:`REQUEST_DATA_COLUMNS` for ``request``."""
    patient = request.patient
    location = patient.location
    previous = request.previous_mt
    household = request.household
    referrer = request.referrer
    consent = request.consent
    return (
        request.received.isoformat(),
        patient.commune,
        household.persons,
        int(request.urgent),
        patient.birth_date.isoformat(),
        None if location is None else location.lat,
        None if location is None else location.lon,
        int(request.ald),
        int(request.css),
        int(request.ame),
        int(request.disability_or_chronic),
        request.home_visits.value,
        request.reason.value,
        None if previous is None else previous.name,
        None if previous is None else previous.commune,
        household.adults,
        household.children,
        referrer.kind.value,
        referrer.name,
        referrer.contact,
        int(consent.given),
        _iso_or_none(consent.on),
        request.comments,
        request.household_id,
        encode_answers(request.answers),
    )


def file_row(file: RequestFile) -> tuple[Any, ...]:
    """The values of :data:`FILE_COLUMNS` for ``file``."""
    return (
        file.state.value,
        file.last_date.isoformat(),
        encode_ids(file.proposed_to),
        encode_ids(file.declined_by),
        file.contact_attempts,
        None if file.exit_reason is None else file.exit_reason.value,
        0 if file.state.is_final else len(file.people.unresolved),
    )


def _slot_setters(cls: type) -> tuple[Callable[[Any, Any], None], ...] | None:
    """The slot setters of an attrs class's fields, in order; ``None`` if it has no slots."""
    setters = []
    for field in attrs.fields(cls):
        descriptor = cls.__dict__.get(field.name)
        setter = getattr(descriptor, "__set__", None)
        if setter is None or not hasattr(descriptor, "__delete__"):
            return None
        setters.append(setter)
    return tuple(setters)


_REQUEST_SETTERS = _slot_setters(Request)


def _trusted_request(*values: Any) -> Request:
    """A :class:`Request` from values read back from a register file, without running the
    validators and converters again: the values were validated when the request was built,
    and the codec rebuilds them with their exact types (enums, frozensets, dates)."""
    request: Request = object.__new__(Request)
    for setter, value in zip(_REQUEST_SETTERS or (), values, strict=True):
        setter(request, value)
    return request


def decode_requests(rows: Iterable[Row], *, validate: bool = False) -> list[Request]:
    """Requests from rows of :data:`REQUEST_COLUMNS` (``declined_by`` is the file's).

    Args:
        validate: run the validators of :class:`Request` (what the integrity check does);
            by default they are skipped, as the stored values were validated when written
            (the patient, household and other parts are always validated).
    """
    build: Callable[..., Request] = Request
    if not validate and _REQUEST_SETTERS is not None:
        build = _trusted_request
    households: dict[tuple[int, int], Household] = {}
    referrers: dict[tuple[str, str, str], Referrer] = {}
    consents: dict[tuple[int, str | None], Consent] = {}
    previous: dict[tuple[str, str | None], PreviousDoctor] = {}
    declined: dict[str, frozenset[str]] = {"[]": _EMPTY}
    date = decode_date
    out: list[Request] = []
    append = out.append
    for (
        rid,
        received,
        birth,
        commune,
        lat,
        lon,
        ald,
        css,
        ame,
        disability,
        need,
        urgent,
        reason,
        previous_name,
        previous_commune,
        adults,
        children,
        referrer_kind,
        referrer_name,
        referrer_contact,
        consent_given,
        consent_on,
        comments,
        declined_by,
        household_id,
        answers,
    ) in rows:
        household = households.get((adults, children))
        if household is None:
            household = households[adults, children] = Household(adults, children)
        referrer = referrers.get((referrer_kind, referrer_name, referrer_contact))
        if referrer is None:
            referrer = Referrer(_REFERRERS[referrer_kind], referrer_name, referrer_contact)
            referrers[referrer_kind, referrer_name, referrer_contact] = referrer
        consent = consents.get((consent_given, consent_on))
        if consent is None:
            consent = consents[consent_given, consent_on] = Consent(
                bool(consent_given), _date_or_none(consent_on)
            )
        doctor = None
        if previous_name is not None:
            doctor = previous.get((previous_name, previous_commune))
            if doctor is None:
                doctor = PreviousDoctor(previous_name, previous_commune)
                previous[previous_name, previous_commune] = doctor
        refused = declined.get(declined_by)
        if refused is None:
            refused = declined[declined_by] = decode_ids(declined_by)
        append(
            build(
                rid,
                date(received),
                Patient(date(birth), commune, None if lat is None else Point(lat, lon)),
                bool(ald),
                bool(css),
                bool(ame),
                bool(disability),
                _NEEDS[need],
                bool(urgent),
                _REASONS[reason],
                doctor,
                household,
                referrer,
                consent,
                comments,
                refused,
                household_id,
                decode_answers(answers),
            )
        )
    return out


SUMMARY_COLUMNS: tuple[str, ...] = (
    "id",
    "state",
    "received",
    "last_event",
    "commune",
    "persons",
    "urgent",
    "proposed_to",
    "searching",
)
"""The columns :func:`decode_summaries` reads, in this order."""


def decode_summaries(rows: Iterable[Row]) -> list[RequestSummary]:
    """Listing lines from rows of :data:`SUMMARY_COLUMNS`."""
    date = decode_date
    dates: dict[str, dt.date] = {}
    out: list[RequestSummary] = []
    append = out.append
    for rid, state, received, last_event, commune, persons, urgent, proposed_to, searching in rows:
        day = dates.get(received)
        if day is None:
            day = dates[received] = date(received)
        last = dates.get(last_event)
        if last is None:
            last = dates[last_event] = date(last_event)
        append(
            RequestSummary(
                rid,
                _STATES[state],
                day,
                last,
                commune,
                persons,
                bool(urgent),
                _sorted_ids(proposed_to),
                searching,
            )
        )
    return out


# --------------------------------------------------------------------------------------------
# Identities

IDENTITY_COLUMNS: tuple[str, ...] = (
    "last_name",
    "first_name",
    "birth_name",
    "phone",
    "email",
    "address",
    "identifier",
)
"""The columns of a :class:`PatientIdentity`, in its fields' order."""


def identity_row(identity: PatientIdentity) -> tuple[str, ...]:
    """The values of :data:`IDENTITY_COLUMNS`."""
    return (
        identity.last_name,
        identity.first_name,
        identity.birth_name,
        identity.phone,
        identity.email,
        identity.address,
        identity.identifier,
    )


def decode_identity(row: Row) -> PatientIdentity:
    """A :class:`PatientIdentity` from a row of :data:`IDENTITY_COLUMNS`."""
    return PatientIdentity(*row)


# --------------------------------------------------------------------------------------------
# Transitions and files

TRANSITION_COLUMNS: tuple[str, ...] = (
    "request_id",
    "on_date",
    "event",
    "from_state",
    "to_state",
    "actor",
    "physician_id",
    "comment",
    "reason",
    "persons",
    "resource",
    "run",
)
"""The columns of a :class:`Transition`, in its fields' order."""


def encode_persons(persons: Sequence[int]) -> str:
    """Person numbers as ``1,3`` (empty text when none)."""
    return ",".join(str(n) for n in persons)


def decode_persons(text: str) -> tuple[int, ...]:
    """The reverse of :func:`encode_persons`."""
    if not text:
        return ()
    return tuple(int(n) for n in text.split(","))


def transition_row(transition: Transition) -> tuple[Any, ...]:
    """The values of :data:`TRANSITION_COLUMNS`."""
    origin = transition.from_state
    reason = transition.reason
    return (
        transition.request_id,
        transition.on.isoformat(),
        transition.event.value,
        None if origin is None else origin.value,
        transition.to_state.value,
        transition.actor.value,
        transition.physician_id,
        transition.comment,
        None if reason is None else reason.value,
        encode_persons(transition.persons),
        transition.resource,
        transition.run,
    )


def decode_transition(row: Row) -> Transition:
    """A :class:`Transition` from a row of :data:`TRANSITION_COLUMNS`."""
    rid, on, event, origin, target, actor, physician_id, comment, reason, persons, resource, run = (
        row
    )
    return Transition(
        rid,
        decode_date(on),
        _EVENTS[event],
        None if origin is None else _STATES[origin],
        _STATES[target],
        _ACTORS[actor],
        physician_id,
        comment,
        None if reason is None else _EXITS[reason],
        decode_persons(persons),
        resource,
        None if run is None else int(run),
    )


def decode_transitions(rows: Iterable[Row]) -> list[Transition]:
    """:func:`decode_transition` over ``rows``."""
    return [decode_transition(row) for row in rows]


def decode_file(
    request_id: str,
    row: Row,
    history: Sequence[Transition],
    persons: int = 1,
) -> RequestFile:
    """A :class:`RequestFile` from a row of :data:`FILE_COLUMNS`, its history and the
    request's number of persons."""
    state, _last_event, proposed_to, declined_by, attempts, exit_reason, _searching = row
    return RequestFile(
        request_id,
        _STATES[state],
        tuple(history),
        attempts,
        decode_ids(proposed_to),
        decode_ids(declined_by),
        None if exit_reason is None else _EXITS[exit_reason],
        persons=persons,
    )


# --------------------------------------------------------------------------------------------
# Physicians

PHYSICIAN_COLUMNS: tuple[str, ...] = (
    "id",
    "name",
    "commune",
    "lat",
    "lon",
    "accepting_new_patients",
    "monthly_capacity",
    "modalities",
    "accepted_communes",
    "rpps",
    "status_history",
    "contact_phone",
    "contact_mssante",
    "contact_address",
    "contact_practice",
    "contact_notes",
)
"""The columns of the ``physicians`` table (the ``contact_`` ones since version 5)."""


def physician_row(physician: Physician) -> tuple[Any, ...]:
    """The values of :data:`PHYSICIAN_COLUMNS`."""
    location = physician.location
    history = [
        [c.on.isoformat(), c.status.value, _iso_or_none(c.until), c.note]
        for c in physician.status_history
    ]
    return (
        physician.id,
        physician.name,
        physician.commune,
        None if location is None else location.lat,
        None if location is None else location.lon,
        int(physician.accepting_new_patients),
        physician.monthly_capacity,
        encode_ids(m.value for m in physician.modalities),
        encode_ids(physician.accepted_communes),
        physician.rpps,
        json.dumps(history, ensure_ascii=False, separators=(",", ":")),
        physician.contact.phone,
        physician.contact.mssante,
        physician.contact.address,
        physician.contact.practice,
        physician.contact.notes,
    )


def decode_physician(row: Row) -> Physician:
    """A :class:`Physician` from a row of :data:`PHYSICIAN_COLUMNS`."""
    pid, name, commune, lat, lon, accepting, capacity, modalities, accepted, rpps, history = row[
        :11
    ]
    phone, mssante, address, practice, notes = row[11:16]
    changes = []
    for on, status, until, note in json.loads(history):
        changes.append(StatusChange(decode_date(on), _STATUSES[status], _date_or_none(until), note))
    return Physician(
        pid,
        name,
        commune,
        None if lat is None else Point(lat, lon),
        bool(accepting),
        capacity,
        frozenset(_MODALITIES[m] for m in decode_ids(modalities)),
        decode_ids(accepted),
        rpps,
        tuple(changes),
        PracticeContact(phone, mssante, address, practice, notes),
    )


# --------------------------------------------------------------------------------------------
# Ledger

LEDGER_COLUMNS: tuple[str, ...] = (
    "kind",
    "physician_id",
    "request_id",
    "month",
    "capacity",
    "persons",
    "on_date",
    "note",
)
"""The columns of the ``ledger`` table (``note`` is a declaration's note or a release's
reason).

A yearly capacity declaration (``period="year"``) is a ``declared`` row whose ``month`` holds
the year alone (``YYYY``, no dash); a monthly one holds ``YYYY-MM``. The schema's CHECK
constraint accepts both, so no migration was needed.

A declaration that lifts a cap (``capacity=None``, :mod:`mt_access.ledger`) has a NULL
``capacity``: the CHECK's ``capacity >= 0`` is then NULL, not false, which SQLite accepts (a
CHECK fails only when its expression is false), so no migration was needed either."""

DECLARED, PLACED, RELEASED = "declared", "placed", "released"


def ledger_row(entry: LedgerEntry) -> tuple[Any, ...]:
    """The values of :data:`LEDGER_COLUMNS`.

    Raises:
        TypeError: ``entry`` is not a ledger entry.
    """
    if isinstance(entry, PlacementRecorded):
        return (
            PLACED,
            entry.physician_id,
            entry.request_id,
            str(entry.month),
            None,
            entry.persons,
            entry.on.isoformat(),
            "",
        )
    if isinstance(entry, PlacementReleased):
        return (
            RELEASED,
            entry.physician_id,
            entry.request_id,
            None,
            None,
            None,
            entry.on.isoformat(),
            entry.reason,
        )
    if isinstance(entry, CapacityDeclared):
        return (
            DECLARED,
            entry.physician_id,
            None,
            f"{entry.month.year:04d}" if entry.period == "year" else str(entry.month),
            entry.capacity,
            None,
            entry.on.isoformat(),
            entry.note,
        )
    raise TypeError(f"entrée du registre de capacités attendue, reçu {type(entry).__name__}")


def decode_ledger(rows: Iterable[Row]) -> list[LedgerEntry]:
    """Ledger entries from rows of :data:`LEDGER_COLUMNS`."""
    months: dict[str, Month] = {}
    out: list[LedgerEntry] = []
    append = out.append
    for kind, physician_id, request_id, month_text, capacity, persons, on, note in rows:
        if kind == RELEASED:
            append(PlacementReleased(physician_id, request_id, decode_date(on), note))
            continue
        if kind == DECLARED and len(month_text) == 4 and month_text.isdigit():
            append(
                CapacityDeclared(
                    physician_id,
                    Month(int(month_text), 1),
                    capacity,
                    decode_date(on),
                    note,
                    period="year",
                )
            )
            continue
        month = months.get(month_text)
        if month is None:
            month = months[month_text] = decode_month(month_text)
        if kind == PLACED:
            append(PlacementRecorded(physician_id, month, request_id, persons, decode_date(on)))
        elif kind == DECLARED:
            append(CapacityDeclared(physician_id, month, capacity, decode_date(on), note))
        else:
            raise ValueError(f"type d'entrée inconnu : {kind!r}")
    return out
