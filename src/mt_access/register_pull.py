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

from mt_access.calendar import Month
from mt_access.engine import match
from mt_access.geo.distance import DistanceCache
from mt_access.hooks import Hooks
from mt_access.lifecycle import Actor, Event, RequestFile, RequestState
from mt_access.model import Request
from mt_access.pull_index import (
    PullIndex,
    PullPart,
    capturing_policy,
    per_request_exact,
    pull_levels,
)
from mt_access.register_base import RegisterOperationError
from mt_access.register_matching import MatchRuns, waiting_part
from mt_access.result import PullEntry, PullList
from mt_access.routing import RoutingTask

__all__ = ["PICK_COMMENT", "PullPicks"]

PICK_COMMENT = "choisie par le médecin sur sa liste partagée"
"""The comment recorded with a pick when the coordinator gives none."""


class PullPicks(MatchRuns):
    """The register's shared lists: the lists of the month and the GPs' picks."""

    def pull_levels(self) -> tuple[str, ...]:
        """The levels of the policy whose requests go on lists shared with GPs (router
        ``pull``), highest first."""
        return pull_levels(self.policy)

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
        return self.pull_index(on).lists()

    def pull_index(self, on: dt.date, previous: PullIndex | None = None) -> PullIndex:
        """The lists of :meth:`pull_lists` held as columns (:class:`~mt_access.pull_index.
        PullIndex`): one run of the engine, each GP's list made when asked for. The index
        says the data version it was made at; :meth:`choose` takes it (made before its
        transaction) and checks a pick against it while the data has not changed.
        ``previous``: an index made earlier, whose pseudonyms are taken again (the
        ``mt_access_pseudonym`` hook gives a request the same pseudonym every time) instead
        of being asked of the hook."""
        version = self.store.data_version()
        self._sync()
        assert self._ledger is not None
        position = len(self._ledger.entries)
        exact = per_request_exact(self.policy)
        if not self.pull_levels():
            return PullIndex(on, version, position, (), exact=exact)
        requests, _, sizes = self._to_route(on)
        ids = [r.id for r in requests]
        parts = self._pull_parts(on, requests)
        if not parts:
            return PullIndex(on, version, position, (), exact=exact)
        known = previous.pseudonyms if previous is not None else {}
        missing = [rid for rid in ids if rid not in known]
        hooks = Hooks.of(self.policy, self.plugin_manager)
        asked = dict(zip(missing, hooks.pseudonyms(missing, self.policy), strict=True))
        names = [known.get(rid) or asked[rid] for rid in ids]
        households = [sizes.get(rid, -1) for rid in ids]
        return PullIndex(on, version, position, parts, ids, names, households, exact)

    def _pull_parts(self, on: dt.date, requests: list[Request]) -> tuple[PullPart, ...]:
        """The ``pull`` router's tasks of a run of ``requests`` on ``on`` (nothing listed)."""
        assert self._ledger is not None
        assert self._physicians is not None
        if not requests or not self.pull_levels():
            return ()
        if self._distances is None:
            from mt_access.geo.communes import bundled_reference

            self._distances = DistanceCache(self.policy.reference or bundled_reference())
        tasks: list[RoutingTask] = []
        match(
            requests,
            self._physicians.values(),
            capturing_policy(self.policy, tasks),
            self._ledger,
            on,
            distances=self._distances,
            plugin_manager=self.plugin_manager,
            resource_contacts=self.resource_contacts([r.id for r in requests]),
            explain="none",
        )
        position = {r.id: k for k, r in enumerate(requests)}
        return tuple(PullPart(t, position) for t in tasks if t.items)

    def _routed_one(self, request_id: str, on: dt.date) -> Request | None:
        """The request as :meth:`to_route` would route it on ``on`` (its persons still
        waiting), or ``None`` when a run would not route it."""
        file = self.store.get_file(request_id)
        if file is None or file.state not in (RequestState.WAITING, RequestState.PROPOSED):
            return None
        numbers = file.waiting_persons
        partial = file.persons > 1 and len(numbers) < file.persons
        if (partial and not numbers) or (not partial and file.state is not RequestState.WAITING):
            return None
        if file.last_date > on:
            return None
        request = self.request(request_id)
        if partial:
            request = waiting_part(request, file, numbers)
        return request

    def _entry_now(self, physician_id: str, request_id: str, on: dt.date) -> PullEntry | None:
        """The request's entry on the GP's list as it stands now, from a run of that request
        alone: exact when :func:`~mt_access.pull_index.per_request_exact` (no cut list, no
        level above placing patients)."""
        request = self._routed_one(request_id, on)
        if request is None:
            return None
        parts = self._pull_parts(on, [request])
        name = Hooks.of(self.policy, self.plugin_manager).pseudonym(request_id, self.policy)
        file = self.store.get_file(request_id)
        assert file is not None
        index = PullIndex(on, "", 0, parts, (request_id,), (name,), (file.persons,))
        return index.entry(physician_id, name)

    def pending_picks(self, physician_id: str) -> tuple[str, ...]:
        """The requests the GP picked from their list and has not answered yet (proposals
        recorded by :meth:`choose` still pending), by id."""
        # the GP's own requests (the store's index by GP), not every proposed request
        files = self.store.get_files(self.store.physician_requests(physician_id))
        picked = []
        for rid, file in sorted(files.items()):
            if file.state is not RequestState.PROPOSED or physician_id not in file.proposed_to:
                continue
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
        index: PullIndex | None = None,
    ) -> RequestFile:
        """A GP picked the request ``pseudonym`` from their list: propose it to them (event
        ``propose`` by the GP), holding the place in their month of ``on`` in the ledger.

        The pick is checked against the GP's list as it stands on ``on``
        (:meth:`pull_lists`): a request picked, placed or gone since the list was written is
        refused. ``persons``: those of a household the GP takes (every person on the list by
        default). The GP's answer is then recorded with :meth:`answer`.

        ``index``: the lists (:meth:`pull_index`) made before the write transaction (made
        here, before it, when not given or of another day). The pseudonym is looked up in
        it; inside the transaction, the entry is taken from it when the data has not changed
        since it was made, else from a run of the picked request alone when the policy allows
        it (:func:`~mt_access.pull_index.per_request_exact`), else from the lists made again
        (a whole run, as before). A request added after the index was made cannot be picked
        with it.

        Raises:
            RegisterOperationError: unknown GP; the policy has no shared lists; a GP not
                active and accepting on ``on``, with no place left, or already holding the
                policy's ``pick_limit`` of pending picks; a pseudonym not on that GP's list
                (unknown, or no longer waiting); more persons than the GP's places left.
                Nothing is recorded.
        """
        if index is None or index.on != on:
            self.physician(physician_id)  # an unknown GP refused before the lists are made
            index = self.pull_index(on)
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
            rid = index.requests.get(pseudonym, "")
            entry = None
            if rid and self.store.data_version() == index.version:
                entry = index.entry(physician_id, pseudonym)
            elif rid and index.exact:
                entry = self._entry_now(physician_id, rid, on)
            elif rid:  # the lists as they stand: a whole run, inside the transaction
                index = self.pull_index(on)
                rid = index.requests.get(pseudonym, "")
                entry = index.entry(physician_id, pseudonym) if rid else None
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
            self._hold_places(physician, rid, len(chosen), on)
            self.store.save_file(new, len(new.history) - len(file.history))
            return new
