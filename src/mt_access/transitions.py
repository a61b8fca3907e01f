"""The vocabulary of a request's lifecycle: its states, exit reasons, actors and events, the
transition table :data:`ALLOWED`, one recorded :class:`Transition`, and the lifecycle's errors.
:mod:`mt_access.lifecycle` builds :class:`~mt_access.lifecycle.RequestFile` on them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import attrs

from mt_access.errors import IllegalTransitionError, LifecycleError
from mt_access.labels import LabelledEnum, register_labels
from mt_access.model import masked

__all__ = [
    "ACTIVE_STATES",
    "ALLOWED",
    "EXIT_STATES",
    "Actor",
    "Event",
    "ExitReason",
    "IllegalTransitionError",
    "LifecycleError",
    "RequestState",
    "Transition",
]


class RequestState(LabelledEnum):
    """Where a request stands. ``MT_FOUND`` and ``EXITED`` are final."""

    RECEIVED = "received"
    ACKNOWLEDGED = "acknowledged"
    CONFIRMED = "confirmed"
    WAITING = "waiting"
    PROPOSED = "proposed"
    MT_FOUND = "mt_found"
    EXITED = "exited"

    @property
    def is_final(self) -> bool:
        return self in EXIT_STATES


class ExitReason(LabelledEnum):
    """Why a request left the scheme."""

    MT_FOUND = "mt_found"
    NOT_SEARCHING_ANYMORE = "not_searching_anymore"
    WITHDRAWN = "withdrawn"
    UNREACHABLE = "unreachable"
    OUT_OF_SCOPE = "out_of_scope"
    OTHER_SOLUTION = "other_solution"
    CLOSED_BY_CPTS = "closed_by_cpts"


class Actor(LabelledEnum):
    """Who did a transition."""

    COORDINATOR = "coordinator"
    PHYSICIAN = "physician"
    PATIENT = "patient"
    SYSTEM = "system"


class Event(LabelledEnum):
    """What happened to a request; the names of :data:`ALLOWED`'s events."""

    RECEIVE = "receive"
    ACKNOWLEDGE = "acknowledge"
    CONFIRM = "confirm"
    NOT_SEARCHING = "not_searching"
    TO_WAITING = "to_waiting"
    PROPOSE = "propose"
    ORIENT = "orient"
    ACCEPT = "accept"
    REFUSE = "refuse"
    CANCEL_PROPOSAL = "cancel_proposal"
    CONTACT_SUCCEEDED = "contact_succeeded"
    CONTACT_FAILED = "contact_failed"
    WITHDRAW = "withdraw"
    OUT_OF_SCOPE = "out_of_scope"
    OTHER_SOLUTION = "other_solution"
    CLOSE = "close"
    RESOURCE_INVOLVED = "resource_involved"
    RESOURCE_ANSWER = "resource_answer"
    QUALIFY = "qualify"


register_labels(
    {
        RequestState.RECEIVED: "reçue",
        RequestState.ACKNOWLEDGED: "accusé de réception envoyé",
        RequestState.CONFIRMED: "recherche confirmée par le patient",
        RequestState.WAITING: "en liste d'attente",
        RequestState.PROPOSED: "proposée à un ou plusieurs médecins",
        RequestState.MT_FOUND: "médecin traitant trouvé",
        RequestState.EXITED: "sortie du dispositif",
    }
)

register_labels(
    {
        ExitReason.MT_FOUND: "médecin traitant trouvé",
        ExitReason.NOT_SEARCHING_ANYMORE: "le patient ne recherche plus de médecin traitant",
        ExitReason.WITHDRAWN: "désistement du patient",
        ExitReason.UNREACHABLE: "patient injoignable",
        ExitReason.OUT_OF_SCOPE: "hors du champ du dispositif",
        ExitReason.OTHER_SOLUTION: "autre solution trouvée",
        ExitReason.CLOSED_BY_CPTS: "clôturée par la CPTS",
    }
)

register_labels(
    {
        Actor.COORDINATOR: "coordination de la CPTS",
        Actor.PHYSICIAN: "médecin",
        Actor.PATIENT: "patient",
        Actor.SYSTEM: "système",
    }
)

register_labels(
    {
        Event.RECEIVE: "réception de la demande",
        Event.ACKNOWLEDGE: "accusé de réception",
        Event.CONFIRM: "confirmation de la recherche",
        Event.NOT_SEARCHING: "le patient ne recherche plus",
        Event.TO_WAITING: "inscription en liste d'attente",
        Event.PROPOSE: "proposition à un médecin",
        Event.ORIENT: "orientation envoyée (liste de médecins et ressources)",
        Event.ACCEPT: "acceptation par le médecin",
        Event.REFUSE: "refus du médecin",
        Event.CANCEL_PROPOSAL: "proposition annulée",
        Event.CONTACT_SUCCEEDED: "tentative de contact réussie",
        Event.CONTACT_FAILED: "tentative de contact sans réponse",
        Event.WITHDRAW: "désistement du patient",
        Event.OUT_OF_SCOPE: "hors du champ du dispositif",
        Event.OTHER_SOLUTION: "autre solution trouvée",
        Event.CLOSE: "clôture par la CPTS",
        Event.RESOURCE_INVOLVED: "ressource sollicitée",
        Event.RESOURCE_ANSWER: "réponse de la ressource enregistrée",
        Event.QUALIFY: "qualification modifiée par la coordination",
    }
)

EXIT_STATES: frozenset[RequestState] = frozenset({RequestState.MT_FOUND, RequestState.EXITED})
"""Final states: a request in one of them never changes again."""

ACTIVE_STATES: tuple[RequestState, ...] = tuple(s for s in RequestState if s not in EXIT_STATES)
"""States in which the request is still followed, in lifecycle order."""

_ANYTIME: tuple[Event, ...] = (
    Event.QUALIFY,
    Event.CONTACT_SUCCEEDED,
    Event.CONTACT_FAILED,
    Event.WITHDRAW,
    Event.OUT_OF_SCOPE,
    Event.OTHER_SOLUTION,
    Event.CLOSE,
    Event.RESOURCE_ANSWER,
)

ALLOWED: dict[RequestState, tuple[Event, ...]] = {
    RequestState.RECEIVED: (Event.ACKNOWLEDGE, *_ANYTIME),
    RequestState.ACKNOWLEDGED: (Event.CONFIRM, Event.NOT_SEARCHING, *_ANYTIME),
    RequestState.CONFIRMED: (Event.TO_WAITING, *_ANYTIME),
    RequestState.WAITING: (Event.PROPOSE, Event.ORIENT, Event.RESOURCE_INVOLVED, *_ANYTIME),
    RequestState.PROPOSED: (
        Event.PROPOSE,
        Event.ORIENT,
        Event.RESOURCE_INVOLVED,
        Event.ACCEPT,
        Event.REFUSE,
        Event.CANCEL_PROPOSAL,
        *_ANYTIME,
    ),
    RequestState.MT_FOUND: (),
    RequestState.EXITED: (),
}
"""The events each state allows. ``receive`` starts a file and is never allowed afterwards.

Targets: ``acknowledge`` → acknowledged, ``confirm`` → confirmed, ``to_waiting`` → waiting,
``propose`` → proposed, ``orient`` keeps the state (the patient was sent a list of GPs to
contact and other resources; a household whose other persons are proposed stays
``proposed``), ``accept`` → mt_found, ``refuse`` and ``cancel_proposal`` →
proposed while another proposal is pending, waiting otherwise (a cancelled proposal does not
block its GP); ``qualify`` (answers or criteria changed by the coordinator) keeps the state;
``contact_succeeded`` and ``contact_failed`` keep the state, except
the N-th failure in a row, which exits (unreachable); ``not_searching``, ``withdraw``,
``out_of_scope``, ``other_solution`` and ``close`` exit. ``resource_involved`` (a match run
involved a resource of the policy for the request) and ``resource_answer`` (the coordinator
recorded a resource's answer) keep the state and name the resource.
"""

EXIT_EVENTS: dict[Event, ExitReason] = {
    Event.NOT_SEARCHING: ExitReason.NOT_SEARCHING_ANYMORE,
    Event.WITHDRAW: ExitReason.WITHDRAWN,
    Event.OUT_OF_SCOPE: ExitReason.OUT_OF_SCOPE,
    Event.OTHER_SOLUTION: ExitReason.OTHER_SOLUTION,
    Event.CLOSE: ExitReason.CLOSED_BY_CPTS,
}


def _person_numbers(value: Iterable[int]) -> tuple[int, ...]:
    return tuple(sorted(set(value)))


@attrs.frozen
class Transition:
    """One recorded event of a request's lifecycle.

    Attributes:
        request_id: the request.
        on: the date of the event.
        event: what happened.
        from_state: the state before (``None`` for ``receive``, which creates the file).
        to_state: the state after (the same as before for a contact attempt that does not
            exit).
        actor: who did it.
        physician_id: the GP concerned (``propose``, ``accept``, ``refuse``,
            ``cancel_proposal``), else ``None``.
        comment: free text; never put patient data in it.
        reason: the exit reason of the persons this transition makes leave (``mt_found`` for
            an acceptance), else ``None``; the request itself exits only once every person
            has an outcome.
        persons: the persons (1-based numbers) the event concerns: those proposed, accepted,
            refused or exiting; empty for an event about the whole request (acknowledgement,
            confirmation...) and, in files written before persons were recorded, for every
            event (then it meant every person without an outcome).
        resource: the name of the policy's resource the event concerns
            (``resource_involved``, ``resource_answer``), else ``None``.
        run: the number of the match run that recorded the event (its proposals,
            orientations, exits out of scope and resources involved), else ``None``: an event
            recorded by hand, or by a run of a register written before runs were recorded on
            their events (SQLite schema 10, PostgreSQL schema 12).
    """

    request_id: str
    on: dt.date
    event: Event
    from_state: RequestState | None
    to_state: RequestState
    actor: Actor
    physician_id: str | None = None
    comment: str = attrs.field(default="", repr=masked)
    reason: ExitReason | None = None
    persons: tuple[int, ...] = attrs.field(default=(), converter=_person_numbers)
    resource: str | None = None
    run: int | None = None

    def describe(self) -> str:
        """A French one-line summary, e.g. for a coordinator's history listing."""
        parts = [f"{self.on.strftime('%d/%m/%Y')} — {self.event.label} ({self.actor.label})"]
        if self.physician_id is not None:
            parts.append(f"médecin {self.physician_id}")
        if self.resource is not None:
            parts.append(f"ressource {self.resource}")
        if self.persons:
            numbers = ", ".join(str(n) for n in self.persons)
            parts.append(f"personne{'s' if len(self.persons) > 1 else ''} n° {numbers}")
        if self.from_state != self.to_state:
            origin = "—" if self.from_state is None else self.from_state.label
            parts.append(f"{origin} → {self.to_state.label}")
        if self.reason is not None:
            parts.append(f"motif de sortie : {self.reason.label}")
        if self.comment:
            parts.append(self.comment)
        return " ; ".join(parts)
