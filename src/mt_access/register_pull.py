"""The shared lists part of :class:`~mt_access.register.Register`: the month's pull lists
(levels whose router is ``pull``) computed from the register, and a GP's pick from their list
turned into a proposal.

A pick is a *proposal to confirm*, not an acceptance: the list a GP receives is pseudonymised,
so the GP picks on the level, waiting time, commune, needs and age band only; the coordinator
then sends them the qualified file (« dossier qualifié ») and records their answer
(:meth:`~mt_access.register.Register.answer`), as for a proposal of a match run. The pick holds
a place in the GP's month in the ledger, as a match run's proposal does: a refusal frees it
unless the policy keeps it (``capacity.refusal_frees_slot``), a cancellation frees it, an
acceptance keeps it.

The reverse of a pseudonym (which request it names) is worked out in memory each time, from
the pseudonyms of the requests the lists are made of (the ``mt_access_pseudonym`` hook): it is
never written anywhere.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import attrs

from mt_access.calendar import Month
from mt_access.hooks import Hooks
from mt_access.ledger import PlacementRecorded
from mt_access.lifecycle import Actor, Event, RequestFile, RequestState
from mt_access.register_base import RegisterOperationError
from mt_access.register_matching import MatchRuns
from mt_access.result import PullEntry, PullList

__all__ = ["PICK_COMMENT", "PullPicks", "PullState"]

PICK_COMMENT = "choisie par le médecin sur sa liste partagée"
"""The comment recorded with a pick when the coordinator gives none."""


@attrs.frozen
class PullState:
    """The month's pull lists and, in memory only, which request each pseudonym names.

    Attributes:
        lists: one list per GP with a place left, by GP id.
        requests: pseudonym → request id, for the requests routed (never stored).
    """

    lists: tuple[PullList, ...]
    requests: dict[str, str] = attrs.field(repr=False)

    def list_of(self, physician_id: str) -> PullList | None:
        return next((x for x in self.lists if x.physician_id == physician_id), None)


class PullPicks(MatchRuns):
    """The register's shared lists: the lists of the month and the GPs' picks."""

    def pull_levels(self) -> tuple[str, ...]:
        """The levels of the policy whose requests go on lists shared with GPs (router
        ``pull``), highest first."""
        policy = self.policy
        levels = [(lv.name, True) for lv in policy.levels]
        levels.append((policy.non_priority_level, False))
        return tuple(
            name
            for name, priority in levels
            if policy.rule_for(name, priority).router.name == "pull"
        )

    def pull_lists(self, on: dt.date) -> tuple[PullList, ...]:
        """The lists shared with GPs on ``on``, one per GP with a place left, by GP id: the
        requests a match run on ``on`` would put on them (the waiting requests of the levels
        whose router is ``pull``, after the levels above them took their places). Nothing is
        recorded.

        A GP has one list even when the levels go through different ``pull`` rules (their
        lists joined, highest level first; ``list_size`` applies to each rule's part).
        Each entry is pseudonymised (:class:`~mt_access.result.PullEntry`: no name, contact
        or birth date) and says how many persons the whole household counts.
        """
        self._sync()
        return self._pull_state(on).lists

    def _pull_state(self, on: dt.date) -> PullState:
        requests, _ = self.to_route(on)
        result = self._match(on, requests)
        if not result.pull_lists:
            return PullState((), {})
        ids = [r.id for r in requests]
        names = Hooks.of(self.policy, self.plugin_manager).pseudonyms(ids, self.policy)
        reverse: dict[str, str] = {}
        for name, rid in zip(names, ids, strict=True):
            # two requests with one pseudonym (a plugin's hook): neither can be picked
            reverse[name] = "" if name in reverse else rid
        wanted = set(ids)
        searching = (RequestState.WAITING, RequestState.PROPOSED)
        sizes = {s.id: s.persons for s in self.store.summaries(searching) if s.id in wanted}

        def whole(entry: PullEntry) -> PullEntry:
            rid = reverse.get(entry.pseudonym, "")
            return attrs.evolve(entry, household=sizes.get(rid, entry.persons))

        lists = tuple(
            attrs.evolve(x, entries=tuple(whole(e) for e in x.entries))
            for x in _merged(result.pull_lists)
        )
        return PullState(lists, reverse)

    def pending_picks(self, physician_id: str) -> tuple[str, ...]:
        """The requests the GP picked from their list and has not answered yet (proposals
        recorded by :meth:`choose` still pending), by id."""
        summaries = self.store.summaries([RequestState.PROPOSED])
        ids = [s.id for s in summaries if physician_id in s.proposed_to]
        picked = []
        for rid, file in sorted(self.store.get_files(ids).items()):
            last = next(
                t
                for t in reversed(file.history)
                if t.event is Event.PROPOSE and t.physician_id == physician_id
            )
            if last.actor is Actor.PHYSICIAN:
                picked.append(rid)
        return tuple(picked)

    def pick_limit(self, level: str) -> int:
        """The most pending picks a GP may hold when picking a request of ``level`` (the
        ``pick_limit`` of the level's ``pull`` rule; ``0``: no limit)."""
        policy = self.policy
        priority = level in {lv.name for lv in policy.levels}
        params = dict(policy.rule_for(level, priority).params)
        return int(params.get("pick_limit") or 0)

    def choose(
        self,
        physician_id: str,
        pseudonym: str,
        on: dt.date,
        comment: str = "",
        *,
        persons: Iterable[int] | None = None,
    ) -> RequestFile:
        """A GP picked the request ``pseudonym`` from their list: propose it to them (event
        ``propose`` by the GP), holding the place in their month of ``on`` in the ledger.

        The pick is checked against the GP's list as it stands on ``on``
        (:meth:`pull_lists`): a request picked, placed or gone since the list was written is
        refused. ``persons``: those of a household the GP takes (every person on the list by
        default). The GP's answer is then recorded with :meth:`answer`.

        Raises:
            RegisterOperationError: unknown GP; the policy has no shared lists; a GP not
                active and accepting on ``on``, with no place left, or already holding the
                policy's ``pick_limit`` of pending picks; a pseudonym not on that GP's list
                (unknown, or no longer waiting); more persons than the GP's places left.
                Nothing is recorded.
        """
        with self._operation():
            physician = self.physician(physician_id)
            if not self.pull_levels():
                raise RegisterOperationError(
                    f"la politique {self.policy.code} ne partage aucune liste avec les "
                    "médecins (aucun niveau n'a le routeur « pull ») : proposez la demande "
                    "à la main"
                )
            if not physician.is_available_on(on):
                raise RegisterOperationError(
                    f"le médecin {physician_id} ne prend pas de nouveaux patients le "
                    f"{on:%d/%m/%Y} ({physician.status_on(on).label}) : rien n'a été enregistré"
                )
            month = Month.of(on)
            left = self._places_left(physician_id, on)
            if left <= 0:
                raise RegisterOperationError(
                    f"le médecin {physician_id} n'a plus de place en {month.label} : rien n'a "
                    "été enregistré (enregistrez d'abord une nouvelle capacité)"
                )
            state = self._pull_state(on)
            own = state.list_of(physician_id)
            entry = None
            if own is not None:
                entry = next((e for e in own.entries if e.pseudonym == pseudonym), None)
            rid = state.requests.get(pseudonym, "")
            if entry is None or not rid:
                raise RegisterOperationError(
                    f"{pseudonym} : cette demande ne figure plus sur la liste de ce médecin "
                    f"({physician_id}) le {on:%d/%m/%Y} (pseudonyme inconnu, demande choisie "
                    "par un autre médecin, hors de ses communes ou de ses modalités, ou plus "
                    "en attente) : rien n'a été enregistré ; réécrivez sa liste pour lui "
                    "donner les demandes qu'il peut encore choisir"
                )
            limit = self.pick_limit(entry.level)
            if limit:
                pending = self.pending_picks(physician_id)
                if len(pending) >= limit:
                    raise RegisterOperationError(
                        f"le médecin {physician_id} a déjà {len(pending)} demande(s) choisie(s) "
                        f"en attente de sa réponse, la limite de la politique ({limit} à la "
                        "fois) : rien n'a été enregistré ; enregistrez d'abord ses réponses "
                        "aux demandes qu'il a choisies"
                    )
            file = self.file(rid)
            offered = file.waiting_persons
            chosen = offered if persons is None else tuple(sorted(set(persons)))
            if not chosen or not set(chosen) <= set(offered):
                numbers = ", ".join(str(n) for n in offered)
                raise RegisterOperationError(
                    f"{pseudonym} : seules les personnes {numbers} de ce foyer sont sur la "
                    "liste ; rien n'a été enregistré"
                )
            if left < len(chosen):
                raise RegisterOperationError(
                    f"{pseudonym} : le médecin {physician_id} n'a plus que {left} place(s) en "
                    f"{month.label} pour {len(chosen)} personne(s) : rien n'a été enregistré "
                    "(choisissez les personnes qu'il prend)"
                )
            note = comment or PICK_COMMENT
            new = file.propose(physician_id, on, Actor.PHYSICIAN, note, persons=chosen)
            assert self._ledger is not None
            held = PlacementRecorded(physician_id, month, rid, len(chosen), on)
            self._ledger.record(
                held,
                default_capacity={physician_id: self.policy.monthly_capacity_of(physician)},
                carry_over=self.policy.carry_over,
            )
            self.store.append_ledger([held])
            self.store.save_file(new, len(new.history) - len(file.history))
            return new


def _merged(lists: tuple[PullList, ...]) -> list[PullList]:
    """One list per GP: levels routed by different ``pull`` rules give a GP one list per rule
    (in the run's order, highest level first), joined here; the places left are those the GP
    had for the first of them."""
    out: list[PullList] = []
    for x in lists:
        if out and out[-1].physician_id == x.physician_id:
            last = out[-1]
            places = last.places_left if last.places_left is not None else x.places_left
            out[-1] = PullList(x.physician_id, last.entries + x.entries, places)
        else:
            out.append(x)
    return out
