"""Step 5 of a simulated month: the answers to the matching run. Each placement is proposed
to its GP, who accepts or refuses; a patient given a list calls the listed GPs; with pull
lists, each GP with a place left takes requests of their list. A household placed only in
part continues as a new request.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

import attrs

from mt_access.calendar import Month
from mt_access.hooks import Hooks
from mt_access.lifecycle import RequestFile
from mt_access.model import Household, Physician, Request
from mt_access.result import MatchResult, Placement
from mt_access.simulation.events import (
    month_index,
)
from mt_access.simulation.quick_match import QuickPlacement, QuickResult
from mt_access.simulation.records import ROUTE_LIST, ROUTE_PROPOSAL, ROUTE_PULL
from mt_access.simulation.state import SimulationState, Track, proposed_and_accepted, with_declined

__all__ = ["AnswerSteps"]


class AnswerSteps(SimulationState):
    """The answers of the GPs and patients after the matching run."""

    def _answers(
        self, result: MatchResult | QuickResult, month: Month, match_on: dt.date, answer_on: dt.date
    ) -> None:
        if not result.placements:
            return
        by_request: dict[str, list[Placement | QuickPlacement]] = defaultdict(list)
        for placement in result.placements:  # sorted by request, then physician
            by_request[placement.request_id].append(placement)
        acceptance = self.b.acceptance
        for rid, placements in by_request.items():
            track = self.tracks[rid]
            if len(placements) == 1 and track.request.persons == placements[0].persons:
                p = placements[0]
                if self._draw(track) < acceptance:  # the usual case, built at once
                    if track.file is not None:
                        track.file = proposed_and_accepted(
                            track.file, p.physician_id, match_on, answer_on
                        )
                    track.persons_placed += p.persons
                    self._found(track, answer_on, p.physician_id, p.distance_km, ROUTE_PROPOSAL)
                    continue
                track.n_draw -= 1  # the draw is used again below
            file = track.file
            if file is not None:
                for p in placements:
                    file = file.propose(p.physician_id, match_on)
            accepted: list[Placement | QuickPlacement] = []
            refused: list[str] = []
            for p in placements:
                if self._draw(track) < self.b.acceptance:
                    accepted.append(p)
                else:
                    refused.append(p.physician_id)
                    if file is not None:
                        file = file.refuse(p.physician_id, answer_on)
                    if self.policy.refusal_frees_slot:
                        self.ledger.release(p.physician_id, rid, answer_on, "refus du médecin")
            request = track.request
            if refused:
                request = track.request = with_declined(request, refused)
            if not accepted:
                track.file = file
                continue
            chosen = accepted[0]
            track.file = file.accept(chosen.physician_id, answer_on) if file is not None else None
            placed = sum(p.persons for p in accepted)
            track.persons_placed += placed
            self._found(track, answer_on, chosen.physician_id, chosen.distance_km, ROUTE_PROPOSAL)
            left = request.persons - placed
            if left > 0:
                self._continue(track, request, left, answer_on)

    def _continue(self, parent: Track, request: Request, left: int, on: dt.date) -> None:
        """The persons of a household left after a partial placement: a new request."""
        children = min(request.household.children, left)
        root = parent.parent or request.id
        n = 1
        while f"{root}/{n}" in self.tracks:
            n += 1
        rid = f"{root}/{n}"
        new = attrs.evolve(
            request, id=rid, household=Household(adults=left - children, children=children)
        )
        file = None
        if self.keep_files:
            file = RequestFile.receive(rid, on, declined_by=new.declined_by)
            file = file.acknowledge(on).confirm(on).to_waiting(on)  # rare: the checked way
        track = Track(parent.arrival, new, file, parent.month_in)
        track.level, track.rank, track.parent = parent.level, parent.rank, root
        track.n_draw = parent.n_draw
        self.tracks[rid] = track
        self.active[rid] = track
        self._continuations += 1
        self._schedule_exit(track, month_index(Month.of(on), self.s.start))

    # -- lists (k_nearest, orientation) and pull lists

    def _room(self, physician: Physician, month: Month) -> int:
        return self.ledger.remaining(
            physician.id,
            month,
            default=self._capacity_default(physician),
            carry_over=self.policy.carry_over,
        )

    def _eligible(self, physician: Physician, request: Request, on: dt.date) -> bool:
        if not physician.is_available_on(on) or physician.id in request.declined_by:
            return False
        if not physician.serves(request.home_visits):
            return False
        accepted = physician.accepted_communes or self.policy.accepted_by_default(physician.commune)
        return request.commune in accepted

    def _take(self, track: Track, physician: Physician, month: Month, on: dt.date) -> None:
        persons = track.request.persons
        self.ledger.place(
            physician.id,
            month,
            track.request.id,
            persons,
            on,
            default=self._capacity_default(physician),
            carry_over=self.policy.carry_over,
        )
        track.persons_placed += persons

    def _lists(self, result: MatchResult | QuickResult, month: Month, answer_on: dt.date) -> None:
        if not result.orientations:
            return
        limit = self.b.list_calls
        ordered = sorted(
            result.orientations,
            key=lambda o: (o.rank, self.tracks[o.request_id].request.received, o.request_id),
        )
        for orientation in ordered:
            track = self.tracks[orientation.request_id]
            file = track.file
            request = track.request
            calls = orientation.physicians if limit is None else orientation.physicians[:limit]
            refused: set[str] = set()
            for listed in calls:
                physician = self.physicians.get(listed.physician_id)
                if physician is None or not self._eligible(physician, request, answer_on):
                    continue
                if self._room(physician, month) < request.persons:
                    continue  # no place left: not a refusal
                if file is not None:
                    file = file.propose(physician.id, answer_on)
                if self._draw(track) < self.b.list_acceptance:
                    self._take(track, physician, month, answer_on)
                    if file is not None:
                        track.file = file.accept(physician.id, answer_on)
                    self._found(track, answer_on, physician.id, listed.distance_km, ROUTE_LIST)
                    break
                if file is not None:
                    file = file.refuse(physician.id, answer_on)
                refused.add(physician.id)
            else:
                track.file = file
            if refused:
                track.request = with_declined(request, refused)

    def _pull(self, result: MatchResult | QuickResult, month: Month, answer_on: dt.date) -> None:
        if not result.pull_lists:
            return
        ids = list(self.active)
        by_pseudonym = dict(zip(Hooks(self.pm).pseudonyms(ids, self.policy), ids, strict=True))
        for pull in result.pull_lists:
            physician = self.physicians[pull.physician_id]
            room = self._room(physician, month)
            for entry in pull.entries:
                if room <= 0:
                    break
                rid = by_pseudonym.get(entry.pseudonym)
                track = self.active.get(rid) if rid is not None else None
                if track is None or track.request.persons > room:
                    continue
                if self._draw(track) >= self.b.pull_uptake:
                    continue
                self._take(track, physician, month, answer_on)
                room -= track.request.persons
                if track.file is not None:
                    track.file = track.file.propose(physician.id, answer_on).accept(
                        physician.id, answer_on
                    )
                self._found(track, answer_on, physician.id, entry.distance_km, ROUTE_PULL)
