"""A Hypothesis state machine drives the whole register (requests, match runs, GP answers,
capacity changes, suspensions, exits, erasure) against a simple model of what must be true.

Invariants checked after every step:

* every request's state, pending proposals (GP → persons) and refusals are those of the
  model (a cancelled proposal frees its place and never declines its GP; a hand proposal to
  a GP with too few places left is refused and records nothing), which follows each person
  of a household on their own;
* the ledger's active placements are exactly the model's (no place lost or doubled);
* a GP never holds more persons in a month than the largest capacity in force that month;
* a request with an MT has, for each person, the GP who accepted them, and those GPs hold its
  places;
* every recorded transition was allowed in the state before it, and the last one gives the
  current state.

The ``ci`` Hypothesis profile (``.ci/run``) runs thousands of steps; the SQLite store runs the
same machine with fewer examples (every step is a committed transaction on disk).
"""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from collections import defaultdict

import attrs
import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

import mt_access
from factories import MOIRANS, RIVES, VOIRON, VOREPPE, doc, req
from mt_access import CapacityExceededError, PatientIdentity, RequestState, SearchReason
from mt_access.calendar import Month
from mt_access.lifecycle import ALLOWED, Event
from mt_access.register import Register, RegisterOperationError
from mt_access.store.base import Store
from mt_access.store.memory import MemoryStore
from pg_server import Server

START = dt.date(2026, 1, 5)
GPS = {"MG1": VOIRON, "MG2": VOREPPE, "MG3": MOIRANS, "MG4": RIVES}
COMMUNES = [VOIRON, VOREPPE, MOIRANS, RIVES]
POLICY = mt_access.load_policy("voironnais")


@attrs.define
class ModelRequest:
    state: RequestState
    persons: int
    convenience: bool
    pending: dict[str, set[int]] = attrs.field(factory=dict)  # GP -> persons proposed
    by_run: set[str] = attrs.field(factory=set)  # proposals that hold a place
    declined: set[str] = attrs.field(factory=set)
    found: dict[int, str] = attrs.field(factory=dict)  # person -> GP who accepted them
    exited: set[int] = attrs.field(factory=set)
    erased: bool = False

    @property
    def proposed_to(self) -> set[str]:
        return set(self.pending)

    @property
    def unresolved(self) -> set[int]:
        return set(range(1, self.persons + 1)) - set(self.found) - self.exited

    @property
    def waiting_persons(self) -> set[int]:
        return self.unresolved - {n for ns in self.pending.values() for n in ns}

    def settle(self) -> None:
        """The request's state from its persons', as the lifecycle derives it."""
        if not self.unresolved:
            self.state = RequestState.MT_FOUND if self.found else RequestState.EXITED
        elif self.pending:
            self.state = RequestState.PROPOSED
        elif self.state in (RequestState.WAITING, RequestState.PROPOSED):
            self.state = RequestState.WAITING


@attrs.define
class ModelGP:
    capacity: dict[Month, int] = attrs.field(factory=dict)
    suspended_until: dt.date | None = None
    withdrawn: bool = False
    last_change: dt.date = START

    def capacity_in(self, month: Month) -> int:
        found = 0
        for m in sorted(self.capacity):
            if m <= month:
                found = self.capacity[m]
        return found

    def available(self, on: dt.date) -> bool:
        if self.withdrawn:
            return False
        return self.suspended_until is None or on > self.suspended_until


class RegisterMachine(RuleBasedStateMachine):
    store_kind = "memory"

    def __init__(self) -> None:
        super().__init__()
        self.tmp: str | None = None
        self.register = Register(self._store(), POLICY)
        self.today = START
        self.requests: dict[str, ModelRequest] = {}
        self.gps: dict[str, ModelGP] = {}
        # active places: (request id, GP) -> (month, persons)
        self.places: dict[tuple[str, str], tuple[Month, int]] = {}
        self.max_capacity: dict[tuple[str, Month], int] = defaultdict(int)
        for pid, commune in GPS.items():
            self.register.add_physician(doc(pid, commune, capacity=None))
            self.register.join(pid, START, monthly_capacity=1, modalities=["office"])
            self.gps[pid] = ModelGP(capacity={Month.of(START): 1})
            self._note_capacity(pid)

    def _store(self) -> Store:
        return MemoryStore()

    def teardown(self) -> None:
        self.register.store.close()
        if self.tmp is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)

    # -- helpers

    def _note_capacity(self, pid: str) -> None:
        month = Month.of(self.today)
        key = (pid, month)
        self.max_capacity[key] = max(self.max_capacity[key], self.gps[pid].capacity_in(month))

    def _ids(self, *states: RequestState) -> list[str]:
        return sorted(r for r, m in self.requests.items() if m.state in states)

    def _exit(self, rid: str, persons: set[int] | None = None) -> None:
        """``persons`` (every person still searching by default) leave without an MT."""
        model = self.requests[rid]
        leaving = model.unresolved if persons is None else persons
        model.exited |= leaving
        for pid in list(model.pending):
            model.pending[pid] -= leaving
            if not model.pending[pid]:
                del model.pending[pid]
                if pid in model.by_run:
                    self.places.pop((rid, pid), None)
                    model.by_run.discard(pid)
        model.settle()

    # -- time

    @rule(days=st.integers(0, 20))
    def advance(self, days: int) -> None:
        self.today += dt.timedelta(days=days)
        for pid in self.gps:
            self._note_capacity(pid)

    # -- requests

    @rule(
        age=st.integers(0, 95),
        ald=st.booleans(),
        persons=st.integers(1, 3),
        commune=st.sampled_from(COMMUNES),
        convenience=st.integers(0, 9).map(lambda x: x == 0),
        stage=st.integers(0, 3),
    )
    def new_request(
        self, age: int, ald: bool, persons: int, commune: str, convenience: bool, stage: int
    ) -> None:
        rid = self.register.next_request_id()
        reason = SearchReason.CONVENIENCE if convenience else SearchReason.NEW_ARRIVAL
        request = req(rid, commune, age=age, ald=ald, persons=persons, received=self.today)
        request = attrs.evolve(request, reason=reason)
        self.register.add_request(request, PatientIdentity(last_name=f"Nomfictif{rid}"))
        model = ModelRequest(RequestState.RECEIVED, persons, convenience)
        self.requests[rid] = model
        for _ in range(stage):
            self._step(rid)

    def _step(self, rid: str) -> None:
        model = self.requests[rid]
        if model.state is RequestState.RECEIVED:
            self.register.acknowledge(rid, self.today)
            model.state = RequestState.ACKNOWLEDGED
        elif model.state is RequestState.ACKNOWLEDGED:
            self.register.confirm(rid, self.today)
            model.state = RequestState.CONFIRMED
        elif model.state is RequestState.CONFIRMED:
            self.register.to_waiting(rid, self.today)
            model.state = RequestState.WAITING

    @precondition(
        lambda self: bool(
            self._ids(RequestState.RECEIVED, RequestState.ACKNOWLEDGED, RequestState.CONFIRMED)
        )
    )
    @rule(data=st.data())
    def move_on(self, data: st.DataObject) -> None:
        ids = self._ids(RequestState.RECEIVED, RequestState.ACKNOWLEDGED, RequestState.CONFIRMED)
        self._step(data.draw(st.sampled_from(ids)))

    @precondition(lambda self: bool(self._active_ids()))
    @rule(data=st.data(), how=st.sampled_from(["withdraw", "other_solution", "contact_failed"]))
    def patient_side(self, data: st.DataObject, how: str) -> None:
        rid = data.draw(st.sampled_from(self._active_ids()))
        if how == "withdraw":
            self.register.withdraw(rid, self.today)
            self._exit(rid)
        elif how == "other_solution":
            self.register.other_solution(rid, self.today)
            self._exit(rid)
        else:
            file = self.register.record_contact(rid, self.today, succeeded=False)
            if file.is_exited:
                self._exit(rid)

    def _active_ids(self) -> list[str]:
        return [r for r, m in sorted(self.requests.items()) if not m.state.is_final]

    @precondition(lambda self: any(m.persons > 1 for m in self._active_models()))
    @rule(data=st.data())
    def close_some_persons(self, data: st.DataObject) -> None:
        rid = data.draw(
            st.sampled_from([r for r in self._active_ids() if self.requests[r].persons > 1])
        )
        model = self.requests[rid]
        some = data.draw(st.sets(st.sampled_from(sorted(model.unresolved)), min_size=1))
        self.register.close(rid, self.today, "clôture partielle", persons=some)
        self._exit(rid, some)

    def _active_models(self) -> list[ModelRequest]:
        return [m for m in self.requests.values() if not m.state.is_final]

    @precondition(lambda self: any(not m.erased for m in self.requests.values()))
    @rule(data=st.data())
    def erase(self, data: st.DataObject) -> None:
        rid = data.draw(
            st.sampled_from(sorted(r for r, m in self.requests.items() if not m.erased))
        )
        self.register.erase(rid, self.today)
        model = self.requests[rid]
        if not model.state.is_final:
            self._exit(rid)
        model.erased = True
        assert self.register.identity(rid) == PatientIdentity()

    # -- match runs and answers

    @rule()
    def run_match(self) -> None:
        waiting = set(self._ids(RequestState.WAITING))
        routed = waiting | {
            r for r in self._ids(RequestState.PROPOSED) if self.requests[r].waiting_persons
        }
        before = {pid: self._used(pid, Month.of(self.today)) for pid in self.gps}
        run = self.register.run_match(self.today)
        month = Month.of(self.today)
        placed: dict[str, int] = defaultdict(int)
        for rid, pid in run.proposed:
            model = self.requests[rid]
            assert rid in routed
            assert pid not in model.declined
            assert pid not in model.pending
            assert pid not in model.found.values()
            assert self.gps[pid].available(self.today)
            assert not model.convenience
            placement = next(
                p for p in run.result.placements if p.request_id == rid and p.physician_id == pid
            )
            persons = set(self.register.file(rid).proposals[pid])
            assert len(persons) == placement.persons
            assert persons <= model.waiting_persons
            model.pending[pid] = persons
            model.by_run.add(pid)
            model.settle()
            self.places[rid, pid] = (month, placement.persons)
            placed[pid] += placement.persons
        for pid, persons_placed in placed.items():
            assert before[pid] + persons_placed <= self.gps[pid].capacity_in(month)
        for rid in run.out_of_scope:
            assert rid in routed
            assert self.requests[rid].convenience
            self._exit(rid)
        for rid in waiting - {r for r, _ in run.proposed} - set(run.out_of_scope):
            assert not self.requests[rid].convenience or rid in run.skipped

    def _used(self, pid: str, month: Month) -> int:
        return sum(n for (_, p), (m, n) in self.places.items() if p == pid and m == month)

    @precondition(lambda self: bool(self._ids(RequestState.PROPOSED)))
    @rule(data=st.data(), accept=st.booleans())
    def answer(self, data: st.DataObject, accept: bool) -> None:
        rid = data.draw(st.sampled_from(self._ids(RequestState.PROPOSED)))
        model = self.requests[rid]
        pid = data.draw(st.sampled_from(sorted(model.pending)))
        persons = model.pending[pid]
        if not accept:
            self.register.answer(rid, pid, self.today, accepted=False)
            del model.pending[pid]
            model.declined.add(pid)
            if pid in model.by_run:
                self.places.pop((rid, pid), None)
                model.by_run.discard(pid)
            model.settle()
            return
        if pid not in model.by_run:
            month = Month.of(self.today)
            fits = self._used(pid, month) + len(persons) <= self.gps[pid].capacity_in(month)
            if not fits:
                with pytest.raises(CapacityExceededError):
                    self.register.answer(rid, pid, self.today, accepted=True)
                return
            self.register.answer(rid, pid, self.today, accepted=True)
            self.places[rid, pid] = (month, len(persons))
            model.by_run.add(pid)
        else:
            self.register.answer(rid, pid, self.today, accepted=True)
        del model.pending[pid]
        model.by_run.discard(pid)  # its place now belongs to persons with an MT
        for n in persons:
            model.found[n] = pid
        for other in [g for g, ns in model.pending.items() if ns & persons]:
            del model.pending[other]  # closed: it shared a person with the acceptance
            if other in model.by_run:
                self.places.pop((rid, other), None)
                model.by_run.discard(other)
        model.settle()

    @precondition(lambda self: bool(self._ids(RequestState.WAITING)))
    @rule(data=st.data(), pid=st.sampled_from(sorted(GPS)))
    def propose_by_hand(self, data: st.DataObject, pid: str) -> None:
        rid = data.draw(st.sampled_from(self._ids(RequestState.WAITING)))
        model = self.requests[rid]
        if (
            pid in model.declined
            or pid in model.found.values()
            or not self.gps[pid].available(self.today)
        ):
            with pytest.raises(mt_access.MtAccessError):
                self.register.propose(rid, pid, self.today)
            return
        month = Month.of(self.today)
        left = max(0, self.gps[pid].capacity_in(month) - self._used(pid, month))
        if left < len(model.unresolved):
            # a GP with too few places left: refused before anything is recorded
            before = self.register.file(rid)
            with pytest.raises(RegisterOperationError, match="place"):
                self.register.propose(rid, pid, self.today)
            assert self.register.file(rid) == before
            return
        self.register.propose(rid, pid, self.today)
        model.pending[pid] = model.unresolved
        # a hand-made proposal holds its places, like a run's placement
        self.places[rid, pid] = (month, len(model.unresolved))
        model.by_run.add(pid)
        model.settle()

    @precondition(lambda self: bool(self._ids(RequestState.PROPOSED)))
    @rule(data=st.data())
    def cancel_proposal(self, data: st.DataObject) -> None:
        rid = data.draw(st.sampled_from(self._ids(RequestState.PROPOSED)))
        model = self.requests[rid]
        pid = data.draw(st.sampled_from(sorted(model.pending)))
        with pytest.raises(mt_access.MtAccessError):
            self.register.cancel_proposal(rid, pid, self.today, "  ")
        self.register.cancel_proposal(rid, pid, self.today, "plus de place ce mois-ci")
        del model.pending[pid]  # the GP is not declined: they may be proposed it again
        if pid in model.by_run:
            self.places.pop((rid, pid), None)
            model.by_run.discard(pid)
        model.settle()

    # -- GPs

    @rule(pid=st.sampled_from(sorted(GPS)), capacity=st.integers(0, 4))
    def change_capacity(self, pid: str, capacity: int) -> None:
        gp = self.gps[pid]
        if gp.withdrawn:
            with pytest.raises(mt_access.MtAccessError):
                self.register.change_capacity(pid, self.today, capacity)
            return
        self.register.change_capacity(pid, self.today, capacity)
        gp.capacity[Month.of(self.today)] = capacity
        self._note_capacity(pid)

    @rule(pid=st.sampled_from(sorted(GPS)), days=st.none() | st.integers(0, 40))
    def suspend(self, pid: str, days: int | None) -> None:
        gp = self.gps[pid]
        if gp.withdrawn or self.today <= gp.last_change:
            return
        until = None if days is None else self.today + dt.timedelta(days=days)
        self.register.suspend(pid, self.today, until)
        gp.suspended_until = until if until is not None else dt.date.max
        gp.last_change = self.today

    @rule(pid=st.sampled_from(sorted(GPS)))
    def resume(self, pid: str) -> None:
        gp = self.gps[pid]
        if gp.withdrawn or gp.suspended_until is None or self.today <= gp.last_change:
            return
        if self.today > gp.suspended_until:
            return  # the suspension is over already
        self.register.resume(pid, self.today)
        gp.suspended_until = None
        gp.last_change = self.today

    @rule(pid=st.sampled_from(sorted(GPS)))
    def withdraw_gp(self, pid: str) -> None:
        gp = self.gps[pid]
        if gp.withdrawn or self.today <= gp.last_change:
            return
        self.register.withdraw_physician(pid, self.today)
        gp.withdrawn = True
        gp.last_change = self.today

    # -- invariants

    @invariant()
    def states_match_the_model(self) -> None:
        summaries = {s.id: s for s in self.register.list_requests()}
        assert set(summaries) == set(self.requests)
        for rid, model in self.requests.items():
            summary = summaries[rid]
            assert summary.state is model.state, rid
            assert set(summary.proposed_to) == model.proposed_to, rid

    @invariant()
    def places_match_the_model(self) -> None:
        ledger = self.register.ledger
        active = {}
        for rid in self.requests:
            for p in ledger.placement_of(rid):
                active[rid, p.physician_id] = (p.month, p.persons)
        assert active == self.places

    @invariant()
    def capacity_is_kept(self) -> None:
        used: dict[tuple[str, Month], int] = defaultdict(int)
        for (_, pid), (month, persons) in self.places.items():
            used[pid, month] += persons
        for key, persons in used.items():
            assert persons <= self.max_capacity[key], key

    @invariant()
    def one_mt_per_person(self) -> None:
        for rid, model in self.requests.items():
            file = self.register.file(rid)
            assert file.physicians_found == model.found, rid
            assert {gp: set(ns) for gp, ns in file.proposals.items()} == model.pending, rid
            if model.state is RequestState.MT_FOUND:
                held = {p.physician_id for p in self.register.ledger.placement_of(rid)}
                assert held == set(model.found.values())

    @invariant()
    def histories_are_consistent(self) -> None:
        for rid in self.requests:
            file = self.register.file(rid)
            assert file.history[0].event is Event.RECEIVE
            for before, after in zip(file.history, file.history[1:], strict=False):
                assert after.from_state is before.to_state
                assert after.event in ALLOWED[before.to_state]
                assert after.on >= before.on
            assert file.history[-1].to_state is file.state
            assert file.declined_by == frozenset(self.requests[rid].declined)


RegisterMachine.TestCase.settings = settings(deadline=None, report_multiple_bugs=False)
TestRegisterMachine = RegisterMachine.TestCase


class SQLiteRegisterMachine(RegisterMachine):
    """The same machine on a register file: every step is a committed SQLite transaction."""

    def _store(self) -> Store:
        from mt_access.store.sqlite import SQLiteStore

        self.tmp = tempfile.mkdtemp(prefix="mt-access-machine-")
        return SQLiteStore(f"{self.tmp}/registre.sqlite")

    def teardown(self) -> None:
        store = self.register.store
        assert store.integrity_check() == []  # type: ignore[attr-defined]
        super().teardown()


SQLiteRegisterMachine.TestCase.settings = settings(
    deadline=None,
    report_multiple_bugs=False,
    max_examples=max(10, settings.default.max_examples // 10),
)
TestSQLiteRegisterMachine = SQLiteRegisterMachine.TestCase


class PostgresRegisterMachine(RegisterMachine):
    """The same machine on a PostgreSQL register (a fresh database of the throwaway server
    for each run): every step is a committed PostgreSQL transaction."""

    server: Server | None = None

    def _store(self) -> Store:
        from mt_access.store.postgres import PostgresStore

        assert self.server is not None
        self.database = self.server.new_database()
        return PostgresStore(self.server.url(self.database))

    def teardown(self) -> None:
        store = self.register.store
        try:
            assert store.integrity_check() == []  # type: ignore[attr-defined]
            super().teardown()
        finally:
            assert self.server is not None
            self.server.drop_database(self.database)


def test_postgres_register_machine(pg_server: Server) -> None:
    PostgresRegisterMachine.server = pg_server
    run_state_machine_as_test(
        PostgresRegisterMachine,
        settings=settings(
            deadline=None,
            report_multiple_bugs=False,
            max_examples=max(10, settings.default.max_examples // 10),
        ),
    )
