"""The lifecycle of one request, as a checked state machine.

A request goes ``received → acknowledged → confirmed → waiting → proposed`` and leaves the
scheme through exactly one *exit*, each with an :class:`ExitReason`: a GP accepts the patient
(``mt_found``), the patient no longer searches, withdraws or cannot be reached after N failed
contact attempts in a row, the request is out of scope, another solution was found, or the CPTS
closes it. A GP who refused a request is never proposed it again; a proposal the coordinator
cancels (:meth:`RequestFile.cancel_proposal`, with a reason) does not block its GP.

:class:`RequestFile` is an immutable value: every event method returns a *new* file with one
more :class:`Transition` in its history (date, actor, optional physician and comment). An event
that the current state does not allow raises :class:`IllegalTransitionError`, which names the
request id, the current state (French label) and the allowed events; other misuses (a date
before the last transition, a GP who already refused...) raise :class:`LifecycleError`.

**Persons.** A request covers one person or a household (:class:`~mt_access.model.Household`);
each person is numbered (1 is the patient who asked, then the other adults, then the
children) and is proposed, accepted, refused and closed on their own: a proposal names the
persons it covers (:attr:`RequestFile.proposals`), an acceptance finds an MT for those persons
only, an exit may name some persons and leave the others searching. The request's state is
derived from its persons': final once every person has an outcome (``mt_found`` when at least
one found an MT, ``exited`` otherwise), ``proposed`` while a proposal is pending, ``waiting``
otherwise. :attr:`RequestFile.people` says where each person stands. A household the policy
keeps together is simply proposed as a whole.

The transition table :data:`ALLOWED` is the single source of truth: the methods check it, and
the documentation and the tests read it. Nothing here does I/O or reads the clock: dates are
passed in.

The states, events, errors, the transition table and :class:`Transition` are in
:mod:`mt_access.transitions`; where each person of a household stands (:class:`People`) in
:mod:`mt_access.persons`; this module holds :class:`RequestFile` and offers every name it
offered.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable

import attrs

from mt_access.model import Request
from mt_access.persons import People, apply_transition, frozen_ids, replay_people
from mt_access.transitions import (
    ACTIVE_STATES,
    ALLOWED,
    EXIT_EVENTS,
    EXIT_STATES,
    Actor,
    Event,
    ExitReason,
    IllegalTransitionError,
    LifecycleError,
    RequestState,
    Transition,
)

__all__ = [
    "ACTIVE_STATES",
    "ALLOWED",
    "EXIT_STATES",
    "Actor",
    "Event",
    "ExitReason",
    "IllegalTransitionError",
    "LifecycleError",
    "People",
    "RequestFile",
    "RequestState",
    "Transition",
]


@attrs.frozen
class RequestFile:
    """The lifecycle of one request: its state, its history and what it needs to decide.

    Build one with :meth:`receive` (or :meth:`from_request`), then call the event methods,
    each of which returns a new file.

    Attributes:
        id: the request's id.
        state: the current state.
        history: every transition, oldest first; the first one is ``receive``.
        contact_attempts: failed contact attempts in a row (reset by a successful one).
        proposed_to: GPs the request is currently proposed to and who have not answered.
        declined_by: GPs who refused the request (for any of its persons); they are never
            proposed it again.
        exit_reason: why the request exited; ``None`` while it is active. ``mt_found`` as soon
            as one of its persons found an MT through the scheme (see :attr:`people` for each).
        persons: the persons the request covers (its household's size).
    """

    id: str
    state: RequestState
    history: tuple[Transition, ...]
    contact_attempts: int = 0
    proposed_to: frozenset[str] = attrs.field(default=frozenset(), converter=frozen_ids)
    declined_by: frozenset[str] = attrs.field(default=frozenset(), converter=frozen_ids)
    exit_reason: ExitReason | None = None
    persons: int = attrs.field(default=1, kw_only=True)

    def __attrs_post_init__(self) -> None:
        if not self.history or self.history[-1].to_state != self.state:
            raise LifecycleError(self.id, "historique vide ou incohérent avec l'état courant")
        if (self.exit_reason is None) == self.state.is_final:
            raise LifecycleError(
                self.id, "un motif de sortie est requis si et seulement si la demande est sortie"
            )

    # ---------------------------------------------------------------------------------------
    # Creation

    @classmethod
    def receive(
        cls,
        request_id: str,
        on: dt.date,
        *,
        actor: Actor = Actor.COORDINATOR,
        comment: str = "",
        declined_by: Iterable[str] = (),
        persons: int = 1,
    ) -> RequestFile:
        """A new file in state ``received`` for ``persons`` persons; ``declined_by`` carries
        GPs who already refused the request elsewhere (they will never be proposed it)."""
        if not isinstance(request_id, str) or not request_id.strip():
            raise LifecycleError(str(request_id), "identifiant de demande non vide attendu")
        if isinstance(persons, bool) or not isinstance(persons, int) or persons < 1:
            raise LifecycleError(request_id, "nombre de personnes : entier ≥ 1 attendu")
        first = Transition(
            request_id, on, Event.RECEIVE, None, RequestState.RECEIVED, actor, None, comment
        )
        return cls(
            request_id, RequestState.RECEIVED, (first,), declined_by=declined_by, persons=persons
        )

    @classmethod
    def from_request(
        cls, request: Request, *, actor: Actor = Actor.COORDINATOR, comment: str = ""
    ) -> RequestFile:
        """:meth:`receive` with the request's id, reception date and ``declined_by``."""
        return cls.receive(
            request.id,
            request.received,
            actor=actor,
            comment=comment,
            declined_by=request.declined_by,
            persons=request.persons,
        )

    # ---------------------------------------------------------------------------------------
    # Queries

    @property
    def is_exited(self) -> bool:
        """Has the request left the scheme (MT found or another exit)?"""
        return self.state.is_final

    @property
    def allowed_events(self) -> tuple[Event, ...]:
        """The events the current state allows."""
        return ALLOWED[self.state]

    @property
    def last_date(self) -> dt.date:
        """The date of the latest transition; a new event cannot be dated before it."""
        return self.history[-1].on

    @functools.cached_property
    def people(self) -> People:
        """Where each person stands: pending proposals, MTs found, exits."""
        return replay_people(self.persons, self.history)

    @property
    def proposals(self) -> dict[str, tuple[int, ...]]:
        """Pending proposals: GP id → the persons proposed to them."""
        return dict(self.people.proposals)

    @property
    def physicians_found(self) -> dict[int, str]:
        """Person → the GP who accepted them (persons without an MT are absent)."""
        return dict(self.people.found)

    @property
    def waiting_persons(self) -> tuple[int, ...]:
        """Persons still searching and proposed to nobody (placed by the next match run)."""
        if self.state.is_final:
            return ()
        return self.people.waiting

    @property
    def physician_found(self) -> str | None:
        """The GP who accepted the request, once it is in ``mt_found``: the first person's
        (the patient's) when several GPs took the household's persons; see
        :attr:`physicians_found` for each person."""
        if self.state is not RequestState.MT_FOUND:
            return None
        found = self.people.found
        return found[0][1] if found else self.history[-1].physician_id

    def describe_history(self) -> tuple[str, ...]:
        """The history as French lines, oldest first (no patient data: ids only)."""
        return tuple(t.describe() for t in self.history)

    # ---------------------------------------------------------------------------------------
    # Events

    def acknowledge(
        self, on: dt.date, actor: Actor = Actor.COORDINATOR, comment: str = ""
    ) -> RequestFile:
        """The CPTS acknowledged receipt: ``received`` → ``acknowledged``."""
        return self._move(Event.ACKNOWLEDGE, on, actor, comment, RequestState.ACKNOWLEDGED)

    def confirm(
        self, on: dt.date, actor: Actor = Actor.COORDINATOR, comment: str = ""
    ) -> RequestFile:
        """The patient confirmed they still search: ``acknowledged`` → ``confirmed``."""
        return self._move(Event.CONFIRM, on, actor, comment, RequestState.CONFIRMED)

    def not_searching(
        self,
        on: dt.date,
        actor: Actor = Actor.COORDINATOR,
        comment: str = "",
        *,
        persons: Iterable[int] | None = None,
    ) -> RequestFile:
        """The patient (or ``persons`` of the household) no longer searches (at
        confirmation): exit ``not_searching_anymore``."""
        return self._exit(Event.NOT_SEARCHING, on, actor, comment, persons)

    def to_waiting(
        self, on: dt.date, actor: Actor = Actor.COORDINATOR, comment: str = ""
    ) -> RequestFile:
        """Put the confirmed request on the waiting list: ``confirmed`` → ``waiting``."""
        return self._move(Event.TO_WAITING, on, actor, comment, RequestState.WAITING)

    def propose(
        self,
        physician_id: str,
        on: dt.date,
        actor: Actor = Actor.COORDINATOR,
        comment: str = "",
        *,
        persons: Iterable[int] | None = None,
    ) -> RequestFile:
        """Propose persons of the request to a GP: ``waiting``/``proposed`` → ``proposed``.

        ``persons`` (1-based numbers) defaults to every person still searching (a proposal
        may run alongside another GP's: the first to accept takes them).

        Raises:
            LifecycleError: the GP already refused this request, it is already proposed to
                them, or a person named has an outcome or is not in the request.
        """
        self._check(Event.PROPOSE, on)
        physician_id = self._physician(physician_id)
        if physician_id in self.declined_by:
            raise LifecycleError(
                self.id,
                f"le médecin {physician_id} a déjà refusé cette demande : elle ne peut pas "
                "lui être proposée de nouveau",
            )
        if physician_id in self.proposed_to:
            raise LifecycleError(self.id, f"la demande est déjà proposée au médecin {physician_id}")
        chosen = self._searching(persons)
        return self._record(
            Event.PROPOSE, on, actor, comment, physician_id=physician_id, persons=chosen
        )

    def orient(self, on: dt.date, actor: Actor = Actor.SYSTEM, comment: str = "") -> RequestFile:
        """The patient was sent a list of GPs to contact and other resources (an orientation,
        e.g. Deûle Marque's non-priority requests, or the k nearest GPs): the request stays
        ``waiting`` until the patient reports an outcome, or ``proposed`` when other persons
        of its household are proposed to a GP (the orientation concerns the persons still
        waiting). Put the GP ids in ``comment``, never patient data."""
        self._check(Event.ORIENT, on)
        return self._record(Event.ORIENT, on, actor, comment)

    def accept(
        self,
        physician_id: str,
        on: dt.date,
        actor: Actor = Actor.PHYSICIAN,
        comment: str = "",
    ) -> RequestFile:
        """A GP the request is proposed to accepts the persons proposed to them: they leave
        with ``mt_found``; the request exits once every person has an outcome. Another
        pending proposal covering one of these persons is closed.

        Raises:
            LifecycleError: the request is not currently proposed to this GP.
        """
        self._check(Event.ACCEPT, on)
        physician_id = self._pending(physician_id)
        return self._record(
            Event.ACCEPT,
            on,
            actor,
            comment,
            physician_id=physician_id,
            reason=ExitReason.MT_FOUND,
            persons=self.people.proposed_to(physician_id),
        )

    def refuse(
        self,
        physician_id: str,
        on: dt.date,
        reason_comment: str = "",
        actor: Actor = Actor.PHYSICIAN,
    ) -> RequestFile:
        """A GP the request is proposed to refuses it: they join ``declined_by`` for good;
        the persons proposed to them search again (the request goes back to ``waiting`` when
        no other proposal is pending).

        Raises:
            LifecycleError: the request is not currently proposed to this GP.
        """
        self._check(Event.REFUSE, on)
        physician_id = self._pending(physician_id)
        return self._record(
            Event.REFUSE,
            on,
            actor,
            reason_comment,
            physician_id=physician_id,
            persons=self.people.proposed_to(physician_id),
            declined_by=self.declined_by | {physician_id},
        )

    def cancel_proposal(
        self,
        physician_id: str,
        on: dt.date,
        reason_comment: str,
        actor: Actor = Actor.COORDINATOR,
    ) -> RequestFile:
        """Cancel a pending proposal without blocking its GP (e.g. the GP has no place left
        after all, or the proposal was a mistake): the persons proposed to them search
        again, the GP is **not** added to ``declined_by`` (the request may be proposed to
        them again), and the reason is recorded in the transition's comment.

        Raises:
            LifecycleError: ``reason_comment`` is blank, or the request is not currently
                proposed to this GP.
        """
        self._check(Event.CANCEL_PROPOSAL, on)
        physician_id = self._pending(physician_id)
        self._justified(
            reason_comment, "l'annulation d'une proposition doit être motivée (commentaire)"
        )
        return self._record(
            Event.CANCEL_PROPOSAL,
            on,
            actor,
            reason_comment,
            physician_id=physician_id,
            persons=self.people.proposed_to(physician_id),
        )

    def qualify(self, on: dt.date, comment: str, actor: Actor = Actor.COORDINATOR) -> RequestFile:
        """The coordinator changed the request's qualification (answers to the CPTS's
        questions, criteria such as ALD or urgency): the state does not change; the reason
        and the changes are recorded in the transition's comment (blanked by an erasure).

        Raises:
            LifecycleError: ``comment`` (the reason) is blank.
        """
        self._check(Event.QUALIFY, on)
        self._justified(comment, "une modification de la qualification doit être motivée (motif)")
        return self._record(Event.QUALIFY, on, actor, comment, self.state)

    def record_contact_attempt(
        self,
        on: dt.date,
        succeeded: bool,
        max_attempts: int,
        actor: Actor = Actor.COORDINATOR,
        comment: str = "",
    ) -> RequestFile:
        """Record an attempt to reach the patient; the state does not change, except after
        ``max_attempts`` failed attempts in a row (``Policy.max_contact_attempts``; New
        Brunswick uses 3), which exits ``unreachable``. A success resets the count.

        Raises:
            LifecycleError: ``max_attempts`` is below 1.
        """
        event = Event.CONTACT_SUCCEEDED if succeeded else Event.CONTACT_FAILED
        self._check(event, on)
        if isinstance(max_attempts, bool) or not isinstance(max_attempts, int) or max_attempts < 1:
            raise LifecycleError(
                self.id,
                f"nombre maximal de tentatives de contact : entier ≥ 1 attendu, reçu "
                f"{max_attempts!r}",
            )
        if succeeded:
            return self._record(event, on, actor, comment, self.state, contact_attempts=0)
        attempts = self.contact_attempts + 1
        if attempts >= max_attempts:
            return self._record(
                event,
                on,
                actor,
                comment,
                contact_attempts=attempts,
                reason=ExitReason.UNREACHABLE,
                persons=self.people.unresolved,
            )
        return self._record(event, on, actor, comment, self.state, contact_attempts=attempts)

    def resource_involved(
        self, resource: str, on: dt.date, actor: Actor = Actor.SYSTEM, comment: str = ""
    ) -> RequestFile:
        """A match run involved the policy's resource ``resource`` for the request (its
        conditions hold); the state does not change."""
        self._check(Event.RESOURCE_INVOLVED, on)
        return self._record(
            Event.RESOURCE_INVOLVED, on, actor, comment, self.state, resource=self._named(resource)
        )

    def resource_answer(
        self, resource: str, on: dt.date, comment: str, actor: Actor = Actor.COORDINATOR
    ) -> RequestFile:
        """The coordinator recorded the answer of the policy's resource ``resource`` (the
        answer, in ``comment``, is required; never put patient data in it); the state does
        not change. A request a ``before`` resource holds enters its GP path at the next run.

        Raises:
            LifecycleError: blank answer or resource name.
        """
        self._check(Event.RESOURCE_ANSWER, on)
        self._justified(comment, "la réponse de la ressource ne peut pas être vide")
        return self._record(
            Event.RESOURCE_ANSWER, on, actor, comment, self.state, resource=self._named(resource)
        )

    def withdraw(
        self,
        on: dt.date,
        actor: Actor = Actor.PATIENT,
        comment: str = "",
        *,
        persons: Iterable[int] | None = None,
    ) -> RequestFile:
        """The patient withdraws (``persons`` of the household, every person still searching
        by default): they leave with ``withdrawn``."""
        return self._exit(Event.WITHDRAW, on, actor, comment, persons)

    def out_of_scope(
        self,
        on: dt.date,
        actor: Actor = Actor.COORDINATOR,
        comment: str = "",
        *,
        persons: Iterable[int] | None = None,
    ) -> RequestFile:
        """The request (or ``persons`` of it) does not fall within the scheme: exit
        ``out_of_scope``."""
        return self._exit(Event.OUT_OF_SCOPE, on, actor, comment, persons)

    def other_solution(
        self,
        on: dt.date,
        actor: Actor = Actor.COORDINATOR,
        comment: str = "",
        *,
        persons: Iterable[int] | None = None,
    ) -> RequestFile:
        """The patient (or ``persons`` of the household) found a médecin traitant by other
        means: exit ``other_solution``."""
        return self._exit(Event.OTHER_SOLUTION, on, actor, comment, persons)

    def close(
        self,
        on: dt.date,
        comment: str,
        actor: Actor = Actor.COORDINATOR,
        *,
        persons: Iterable[int] | None = None,
    ) -> RequestFile:
        """The CPTS closes the request (or ``persons`` of it): exit ``closed_by_cpts``.

        Raises:
            LifecycleError: ``comment`` is blank (a closure must be justified).
        """
        self._check(Event.CLOSE, on)
        if not comment.strip():
            raise LifecycleError(self.id, "une clôture par la CPTS doit être motivée (commentaire)")
        return self._exit(Event.CLOSE, on, actor, comment, persons)

    # ---------------------------------------------------------------------------------------
    # Internals

    def _check(self, event: Event, on: dt.date) -> None:
        if event not in ALLOWED[self.state]:
            raise IllegalTransitionError(self.id, self.state, event, ALLOWED[self.state])
        if on < self.last_date:
            raise LifecycleError(
                self.id,
                f"date {on:%d/%m/%Y} antérieure à la dernière transition "
                f"({self.last_date:%d/%m/%Y}) : les dates ne peuvent pas reculer",
            )

    def _justified(self, comment: object, message: str) -> None:
        """Check that ``comment``, required for the event (a reason, an answer), is a
        non-blank text; else raise ``LifecycleError(message)``."""
        if not isinstance(comment, str) or not comment.strip():
            raise LifecycleError(self.id, message)

    def _physician(self, physician_id: str) -> str:
        if not isinstance(physician_id, str) or not physician_id.strip():
            raise LifecycleError(self.id, "identifiant de médecin non vide attendu")
        return physician_id

    def _named(self, resource: str) -> str:
        if not isinstance(resource, str) or not resource.strip():
            raise LifecycleError(self.id, "nom de ressource non vide attendu")
        return resource

    def _pending(self, physician_id: str) -> str:
        physician_id = self._physician(physician_id)
        if physician_id not in self.proposed_to:
            pending = ", ".join(sorted(self.proposed_to)) or "aucun"
            raise LifecycleError(
                self.id,
                f"la demande n'est pas proposée au médecin {physician_id} "
                f"(propositions en cours : {pending})",
            )
        return physician_id

    def _searching(self, persons: Iterable[int] | None) -> tuple[int, ...]:
        """``persons`` checked against those still searching (all of them when ``None``)."""
        searching = self.people.unresolved
        if persons is None:
            return searching
        chosen = tuple(sorted(set(persons)))
        if not chosen:
            raise LifecycleError(self.id, "au moins une personne attendue")
        for n in chosen:
            if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= self.persons:
                raise LifecycleError(
                    self.id,
                    f"personne {n!r} inconnue : la demande compte {self.persons} personne(s)",
                )
            if n not in searching:
                raise LifecycleError(self.id, f"la personne n° {n} a déjà une issue")
        return chosen

    def _move(
        self, event: Event, on: dt.date, actor: Actor, comment: str, to: RequestState
    ) -> RequestFile:
        self._check(event, on)
        return self._record(event, on, actor, comment, to)

    def _exit(
        self,
        event: Event,
        on: dt.date,
        actor: Actor,
        comment: str,
        persons: Iterable[int] | None,
    ) -> RequestFile:
        self._check(event, on)
        chosen = self._searching(persons)
        return self._record(event, on, actor, comment, reason=EXIT_EVENTS[event], persons=chosen)

    def _state_after(self, people: People) -> RequestState:
        if not people.unresolved:
            return RequestState.MT_FOUND if people.found else RequestState.EXITED
        if people.proposals:
            return RequestState.PROPOSED
        if self.state in (RequestState.WAITING, RequestState.PROPOSED):
            return RequestState.WAITING
        return self.state

    def _record(
        self,
        event: Event,
        on: dt.date,
        actor: Actor,
        comment: str,
        to: RequestState | None = None,
        *,
        physician_id: str | None = None,
        reason: ExitReason | None = None,
        persons: tuple[int, ...] = (),
        declined_by: frozenset[str] | None = None,
        contact_attempts: int | None = None,
        resource: str | None = None,
    ) -> RequestFile:
        """One more transition. ``to`` is given for events about the whole request; for an
        event about persons the state is derived from where the persons then stand."""
        people, persons = apply_transition(self.people, event, physician_id, persons, reason)
        if to is None:
            to = self._state_after(people)
        exit_reason = None
        if to.is_final:
            exit_reason = ExitReason.MT_FOUND if people.found else reason
        transition = Transition(
            self.id,
            on,
            event,
            self.state,
            to,
            Actor(actor),
            physician_id,
            comment,
            reason,
            persons,
            resource,
        )
        return attrs.evolve(
            self,
            state=to,
            history=(*self.history, transition),
            contact_attempts=(
                self.contact_attempts if contact_attempts is None else contact_attempts
            ),
            proposed_to=frozenset(gp for gp, _ in people.proposals),
            declined_by=self.declined_by if declined_by is None else declined_by,
            exit_reason=exit_reason,
        )
