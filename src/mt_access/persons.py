"""Where each person of a request stands: :class:`People`, derived from the request's history
by replaying its transitions (a household's persons may be proposed, placed or exit apart).
"""

from __future__ import annotations

from collections.abc import Iterable

import attrs

from mt_access.transitions import Event, ExitReason, Transition

__all__ = ["People"]


def frozen_ids(value: Iterable[str]) -> frozenset[str]:
    return frozenset(value)


@attrs.frozen
class People:
    """Where each person of a request stands (derived from the request's history).

    Attributes:
        total: the persons the request covers.
        proposals: pending proposals: GP id → the persons proposed to them, sorted by GP.
        found: person → the GP who accepted them as their MT.
        exits: person → why they left without an MT found through the scheme.
    """

    total: int
    proposals: tuple[tuple[str, tuple[int, ...]], ...] = ()
    found: tuple[tuple[int, str], ...] = ()
    exits: tuple[tuple[int, ExitReason], ...] = ()

    @property
    def resolved(self) -> frozenset[int]:
        """Persons with an outcome (an MT found, or an exit)."""
        return frozenset(n for n, _ in self.found) | frozenset(n for n, _ in self.exits)

    @property
    def unresolved(self) -> tuple[int, ...]:
        """Persons still searching, pending proposals or not."""
        done = self.resolved
        return tuple(n for n in range(1, self.total + 1) if n not in done)

    @property
    def pending(self) -> frozenset[int]:
        """Persons covered by at least one pending proposal."""
        return frozenset(n for _, persons in self.proposals for n in persons)

    @property
    def waiting(self) -> tuple[int, ...]:
        """Persons still searching and proposed to nobody: those the next match run places."""
        pending = self.pending
        return tuple(n for n in self.unresolved if n not in pending)

    def proposed_to(self, physician_id: str) -> tuple[int, ...]:
        """The persons pending with ``physician_id`` (empty when none)."""
        return dict(self.proposals).get(physician_id, ())

    def outcome(self, number: int) -> str | ExitReason | None:
        """Person ``number``'s outcome: an :class:`ExitReason`, the GP id who accepted them,
        or ``None`` while they search. Test for :class:`ExitReason` first: its members are
        strings too."""
        found = dict(self.found)
        if number in found:
            return found[number]
        return dict(self.exits).get(number)


def apply_transition(
    people: People,
    event: Event,
    physician_id: str | None,
    persons: tuple[int, ...],
    reason: ExitReason | None,
) -> tuple[People, tuple[int, ...]]:
    """``people`` after one event, and the persons the event concerned (explicit)."""
    pending = dict(people.proposals)
    found = dict(people.found)
    exits = dict(people.exits)
    unresolved = people.unresolved
    concerned: tuple[int, ...] = persons
    if event is Event.PROPOSE and physician_id is not None:
        concerned = persons or unresolved
        pending[physician_id] = concerned
    elif event is Event.ACCEPT and physician_id is not None:
        concerned = persons or pending.get(physician_id, unresolved)
        for n in concerned:
            found[n] = physician_id
        pending.pop(physician_id, None)
        taken = set(concerned)
        # a proposal sharing a person with the accepted one is closed: its GP's place is freed
        pending = {gp: ns for gp, ns in pending.items() if not taken & set(ns)}
    elif event in (Event.REFUSE, Event.CANCEL_PROPOSAL) and physician_id is not None:
        concerned = persons or pending.get(physician_id, ())
        pending.pop(physician_id, None)
    elif reason is not None:
        concerned = persons or unresolved
        leaving = set(concerned)
        for n in concerned:
            exits[n] = reason
        pending = {
            gp: tuple(n for n in ns if n not in leaving)
            for gp, ns in pending.items()
            if set(ns) - leaving
        }
    elif event is Event.ORIENT:
        concerned = persons or tuple(n for n in unresolved if n not in people.pending)
    new = People(
        people.total,
        tuple(sorted(pending.items())),
        tuple(sorted(found.items())),
        tuple(sorted(exits.items())),
    )
    return new, concerned


def replay_people(total: int, history: Iterable[Transition]) -> People:
    people = People(total)
    for t in history:
        people, _ = apply_transition(people, t.event, t.physician_id, t.persons, t.reason)
    return people
