"""The match-run part of :class:`~mt_access.register.Register`: which requests are routed, the
run with the policy's routers, and what the run decided recorded in one transaction.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import attrs

from mt_access.engine import match
from mt_access.geo.distance import DistanceCache
from mt_access.lifecycle import Actor, RequestFile, RequestState
from mt_access.model import Request
from mt_access.register_base import RegisterBase
from mt_access.resources import ResourceContact, resource_contacts
from mt_access.result import MatchResult
from mt_access.store.base import RunRecord

if TYPE_CHECKING:
    pass

__all__ = ["MatchRun", "MatchRuns", "waiting_part"]


def waiting_part(request: Request, file: RequestFile, numbers: tuple[int, ...]) -> Request:
    """``request`` narrowed to the persons ``numbers`` of its household still waiting
    (``file`` is its file), as a match run routes it.

    A GP who holds a place for other persons of this household (pending or accepted) is
    added to its ``declined_by``: they are not proposed the others in a run, as the ledger
    keeps one placement per request and GP. The coordinator may still propose them by hand.
    """
    holding: set[str] = set(file.proposed_to) | set(file.physicians_found.values())
    holding.update(request.declined_by)
    return attrs.evolve(  # attrs' evolve types a converter field loosely
        request,
        household=request.household.subset(numbers),
        declined_by=holding,  # type: ignore[arg-type]
    )


@attrs.frozen
class MatchRun:
    """A committed match run: what the engine decided and how the register recorded it.

    Attributes:
        result: the engine's :class:`~mt_access.result.MatchResult`.
        record: the run as stored (number, date, counts).
        proposed: ``(request id, physician id)`` proposals the run made, sorted.
        oriented: ids of the requests sent an orientation, sorted.
        out_of_scope: ids of the requests that exited as out of scope, sorted.
        skipped: ids of waiting requests left out because their last event is dated after
            the run, sorted.
    """

    result: MatchResult
    record: RunRecord
    proposed: tuple[tuple[str, str], ...]
    oriented: tuple[str, ...]
    out_of_scope: tuple[str, ...]
    skipped: tuple[str, ...] = ()


class MatchRuns(RegisterBase):
    """The register's match runs: preview, run and commit."""

    def preview_match(self, on: dt.date) -> MatchResult:
        """What a match run on ``on`` would decide, without recording anything."""
        self._sync()
        return self._match(on, self.to_route(on)[0])

    def to_route(self, on: dt.date) -> tuple[list[Request], list[str]]:
        """The requests a run on ``on`` routes, by id, each with only its persons still
        waiting: the waiting list, and the households of which some persons are proposed and
        others wait (routed for the rest). Also the ids of such requests left out because
        their last event is dated after ``on``."""
        routed, late, _ = self._to_route(on)
        return routed, late

    def _to_route(self, on: dt.date) -> tuple[list[Request], list[str], dict[str, int]]:
        """:meth:`to_route`, and the persons of each routed request's whole household (read
        with them: the shared lists show it)."""
        searching = (RequestState.WAITING, RequestState.PROPOSED)
        summaries = self.store.summaries(searching)
        households = [s.id for s in summaries if s.persons > 1]
        files = self.store.get_files(households)
        partial: dict[str, tuple[int, ...]] = {}
        for rid, file in files.items():
            if len(file.waiting_persons) < file.persons:
                partial[rid] = file.waiting_persons
        # the waiting list whole, and the households with some persons still waiting
        candidates = [
            s
            for s in summaries
            if partial.get(s.id) or (s.state is RequestState.WAITING and s.id not in partial)
        ]
        late = sorted(s.id for s in candidates if s.last_event > on)
        skip = frozenset(late)
        wanted = {s.id for s in candidates if s.id not in skip}
        requests = [r for r in self.store.requests([RequestState.WAITING]) if r.id in wanted]
        requests += [
            self.request(rid)
            for rid in sorted(wanted)
            if rid in partial and files[rid].state is RequestState.PROPOSED
        ]
        routed = []
        for request in sorted(requests, key=lambda r: r.id):
            numbers = partial.get(request.id)
            if numbers is not None:
                request = waiting_part(request, files[request.id], numbers)
            routed.append(request)
        sizes = {s.id: s.persons for s in candidates if s.id in wanted}
        return routed, late, sizes

    def resource_contacts(self, request_ids: list[str]) -> dict[str, dict[str, ResourceContact]]:
        """For each request of ``request_ids`` with a resource event, what its history says
        about the policy's resources (first involved, answered), by resource name. Empty when
        the policy has no conditional resource (nothing to read)."""
        if not any(r.conditional for r in self.policy.resources):
            return {}
        files = self.store.get_files(request_ids)
        out = {rid: resource_contacts(file.history) for rid, file in files.items()}
        return {rid: contacts for rid, contacts in out.items() if contacts}

    def _match(self, on: dt.date, requests: list[Request]) -> MatchResult:
        assert self._ledger is not None
        assert self._physicians is not None
        if self._distances is None:
            from mt_access.geo.communes import bundled_reference

            self._distances = DistanceCache(self.policy.reference or bundled_reference())
        return match(
            requests,
            self._physicians.values(),
            self.policy,
            self._ledger,
            on,
            distances=self._distances,
            plugin_manager=self.plugin_manager,
            resource_contacts=self.resource_contacts([r.id for r in requests]),
        )

    def run_match(self, on: dt.date) -> MatchRun:
        """Route the waiting requests on ``on`` and record the outcome, in one transaction.

        * each placement becomes a proposal to the GP (``propose`` by the system) and holds
          the place in the GP's month in the ledger;
        * each orientation is recorded on the request (``orient``; it stays waiting);
        * each request out of scope exits (``out_of_scope``);
        * each resource of the policy involved for a request for the first time is recorded
          on it (``resource_involved``): a ``before`` resource's ``wait_days`` count from it;
        * waiting requests stay waiting.

        Waiting requests whose last event is dated after ``on`` are left out
        (:attr:`MatchRun.skipped`).
        """
        with self._operation():
            requests, late = self.to_route(on)
            result = self._match(on, requests)
            return self._commit(on, result, late)

    def _commit(self, on: dt.date, result: MatchResult, late: list[str]) -> MatchRun:
        assert self._ledger is not None
        runs = self.store.runs()  # numbered as the store numbers it: after the last one
        number = (runs[-1].number if runs else 0) + 1
        touched: set[str] = {p.request_id for p in result.placements}
        touched |= {o.request_id for o in result.orientations}
        touched |= {r.request_id for r in result.rejected}
        first = [a for a in result.attached_resources if a.first_time]
        touched |= {a.request_id for a in first}
        files = self.store.get_files(touched)
        updated: dict[str, RequestFile] = {}

        def current(rid: str) -> RequestFile:
            return updated.get(rid) or files[rid]

        label = f"appariement n° {number}"
        for a in first:
            updated[a.request_id] = current(a.request_id).resource_involved(
                a.name, on, Actor.SYSTEM, f"{label} : {a.status_label}"
            )
        proposed: list[tuple[str, str]] = []
        for p in result.placements:
            file = current(p.request_id)
            # the persons still waiting, first numbers first, in the engine's order
            persons = file.waiting_persons[: p.persons]
            updated[p.request_id] = file.propose(
                p.physician_id, on, Actor.SYSTEM, f"{label} ({p.level})", persons=persons
            )
            proposed.append((p.request_id, p.physician_id))
        for o in result.orientations:
            listed = ", ".join(x.physician_id for x in o.physicians) or "aucun médecin"
            updated[o.request_id] = current(o.request_id).orient(
                on, Actor.SYSTEM, f"{label} : {listed}"
            )
        for r in result.rejected:
            updated[r.request_id] = current(r.request_id).out_of_scope(
                on, Actor.SYSTEM, f"{label} : {r.reason.label}"
            )
        result.record(self._ledger)
        self.store.append_ledger(result.ledger_entries)
        self.store.save_files(
            [
                _tagged(updated[rid], len(updated[rid].history) - len(files[rid].history), number)
                for rid in sorted(updated)
            ]
        )
        record = self.store.add_run(
            RunRecord(
                number=0,
                on=on,
                month=result.month,
                policy_code=result.policy_code,
                placements=len(result.placements),
                orientations=len(result.orientations),
                waiting=len(result.waiting),
                rejected=len(result.rejected),
            )
        )
        assert record.number == number, "the run is numbered after the last one"
        return MatchRun(
            result=result,
            record=record,
            proposed=tuple(sorted(proposed)),
            oriented=tuple(sorted(o.request_id for o in result.orientations)),
            out_of_scope=tuple(sorted(r.request_id for r in result.rejected)),
            skipped=tuple(late),
        )


def _tagged(file: RequestFile, appended: int, number: int) -> tuple[RequestFile, int]:
    """``file`` with the run's number on its ``appended`` last transitions (those the run
    made: :func:`mt_access.letters.sending.run_letter_targets` finds a run's letters by it),
    and ``appended``."""
    kept = len(file.history) - appended
    made = tuple(attrs.evolve(t, run=number) for t in file.history[kept:])
    return attrs.evolve(file, history=(*file.history[:kept], *made)), appended
