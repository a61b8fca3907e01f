"""Tests of the request lifecycle state machine (:mod:`mt_access.lifecycle`)."""

from __future__ import annotations

import datetime as dt
import itertools

import attrs
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
)

from mt_access.errors import MtAccessError
from mt_access.lifecycle import (
    ACTIVE_STATES,
    ALLOWED,
    EXIT_STATES,
    Actor,
    Event,
    ExitReason,
    IllegalTransitionError,
    LifecycleError,
    RequestFile,
    RequestState,
    Transition,
)
from mt_access.model import Patient, Request

D0 = dt.date(2026, 1, 5)


def day(n: int) -> dt.date:
    return D0 + dt.timedelta(days=n)


def waiting() -> RequestFile:
    return (
        RequestFile.receive("D-001", day(0)).acknowledge(day(1)).confirm(day(2)).to_waiting(day(3))
    )


def proposed(*gps: str) -> RequestFile:
    f = waiting()
    for gp in gps:
        f = f.propose(gp, day(4))
    return f


# --------------------------------------------------------------------------------------------
# Labels and table


def test_every_enum_member_has_a_french_label() -> None:
    for enum_cls in (RequestState, ExitReason, Actor, Event):
        for member in enum_cls:
            assert member.label.strip(), member


def test_table_covers_every_state_and_final_states_allow_nothing() -> None:
    assert set(ALLOWED) == set(RequestState)
    for state in EXIT_STATES:
        assert ALLOWED[state] == ()
    for state in ACTIVE_STATES:
        assert ALLOWED[state], state
        assert Event.RECEIVE not in ALLOWED[state]
    assert set(ACTIVE_STATES) | EXIT_STATES == set(RequestState)


# --------------------------------------------------------------------------------------------
# The happy path, transition by transition


def test_receive() -> None:
    f = RequestFile.receive("D-001", day(0), comment="formulaire en ligne")
    assert f.state is RequestState.RECEIVED
    assert f.exit_reason is None
    assert not f.is_exited
    (t,) = f.history
    assert t == Transition(
        "D-001", day(0), Event.RECEIVE, None, RequestState.RECEIVED, Actor.COORDINATOR,
        None, "formulaire en ligne", None,
    )  # fmt: skip


def test_receive_rejects_a_blank_id() -> None:
    with pytest.raises(LifecycleError, match="identifiant"):
        RequestFile.receive("  ", day(0))


def test_from_request_carries_declined_by() -> None:
    req = Request(
        "D-100", day(-3), Patient(dt.date(1980, 1, 1), "38563"), declined_by=frozenset({"GP-9"})
    )
    f = RequestFile.from_request(req)
    assert f.id == req.id
    assert f.history[0].on == req.received
    assert f.declined_by == {"GP-9"}


def test_acknowledge_confirm_to_waiting() -> None:
    f0 = RequestFile.receive("D-001", day(0))
    f1 = f0.acknowledge(day(1), comment="AR envoyé")
    assert f1.state is RequestState.ACKNOWLEDGED
    assert f0.state is RequestState.RECEIVED  # the original is untouched
    f2 = f1.confirm(day(2), Actor.PATIENT)
    assert f2.state is RequestState.CONFIRMED
    assert f2.history[-1].actor is Actor.PATIENT
    f3 = f2.to_waiting(day(2))
    assert f3.state is RequestState.WAITING
    assert [t.event for t in f3.history] == [
        Event.RECEIVE,
        Event.ACKNOWLEDGE,
        Event.CONFIRM,
        Event.TO_WAITING,
    ]


def test_not_searching_exits_at_confirmation() -> None:
    f = RequestFile.receive("D-001", day(0)).acknowledge(day(1)).not_searching(day(2))
    assert f.state is RequestState.EXITED
    assert f.exit_reason is ExitReason.NOT_SEARCHING_ANYMORE
    assert f.history[-1].reason is ExitReason.NOT_SEARCHING_ANYMORE


def test_propose_to_several_gps_then_accept() -> None:
    f = proposed("GP-1", "GP-2")
    assert f.state is RequestState.PROPOSED
    assert f.proposed_to == {"GP-1", "GP-2"}
    done = f.accept("GP-2", day(5), comment="premier RDV le 12")
    assert done.state is RequestState.MT_FOUND
    assert done.exit_reason is ExitReason.MT_FOUND
    assert done.physician_found == "GP-2"
    assert done.proposed_to == frozenset()
    assert done.history[-1].actor is Actor.PHYSICIAN
    assert done.is_exited
    assert f.physician_found is None


def test_refuse_with_another_proposal_pending_stays_proposed() -> None:
    f = proposed("GP-1", "GP-2").refuse("GP-1", day(5), "patientèle complète")
    assert f.state is RequestState.PROPOSED
    assert f.proposed_to == {"GP-2"}
    assert f.declined_by == {"GP-1"}
    assert f.history[-1].comment == "patientèle complète"


def test_refuse_of_last_proposal_goes_back_to_waiting() -> None:
    f = proposed("GP-1").refuse("GP-1", day(5))
    assert f.state is RequestState.WAITING
    assert f.proposed_to == frozenset()
    assert f.declined_by == {"GP-1"}
    assert f.history[-1].physician_id == "GP-1"


def test_a_gp_who_refused_is_never_proposed_again() -> None:
    f = proposed("GP-1").refuse("GP-1", day(5))
    with pytest.raises(LifecycleError, match="GP-1 a déjà refusé") as info:
        f.propose("GP-1", day(6))
    assert info.value.request_id == "D-001"
    assert f.propose("GP-2", day(6)).proposed_to == {"GP-2"}


def test_declined_by_given_at_reception_is_honoured() -> None:
    f = RequestFile.receive("D-7", day(0), declined_by=["GP-1"])
    f = f.acknowledge(day(0)).confirm(day(0)).to_waiting(day(0))
    with pytest.raises(LifecycleError, match="déjà refusé"):
        f.propose("GP-1", day(1))


def test_propose_twice_to_the_same_gp_is_an_error() -> None:
    with pytest.raises(LifecycleError, match="déjà proposée au médecin GP-1"):
        proposed("GP-1").propose("GP-1", day(5))


@pytest.mark.parametrize("method", ["accept", "refuse"])
def test_accept_or_refuse_needs_a_pending_proposal(method: str) -> None:
    f = proposed("GP-1")
    with pytest.raises(LifecycleError, match=r"pas proposée au médecin GP-2.*GP-1"):
        getattr(f, method)("GP-2", day(5))


def test_blank_physician_id_is_an_error() -> None:
    with pytest.raises(LifecycleError, match="identifiant de médecin"):
        waiting().propose(" ", day(5))


# --------------------------------------------------------------------------------------------
# Contact attempts


def test_contact_attempts_exit_unreachable_after_n_failures_in_a_row() -> None:
    f = waiting()
    f = f.record_contact_attempt(day(4), succeeded=False, max_attempts=3)
    f = f.record_contact_attempt(day(5), succeeded=False, max_attempts=3)
    assert f.state is RequestState.WAITING
    assert f.contact_attempts == 2
    f = f.record_contact_attempt(day(6), succeeded=False, max_attempts=3)
    assert f.state is RequestState.EXITED
    assert f.exit_reason is ExitReason.UNREACHABLE
    assert f.history[-1].event is Event.CONTACT_FAILED
    assert f.history[-1].from_state is RequestState.WAITING


def test_a_successful_contact_resets_the_count() -> None:
    f = waiting()
    f = f.record_contact_attempt(day(4), succeeded=False, max_attempts=3)
    f = f.record_contact_attempt(day(4), succeeded=False, max_attempts=3)
    f = f.record_contact_attempt(day(5), succeeded=True, max_attempts=3)
    assert f.contact_attempts == 0
    assert f.history[-1].event is Event.CONTACT_SUCCEEDED
    assert f.history[-1].from_state is f.history[-1].to_state is RequestState.WAITING
    f = f.record_contact_attempt(day(6), succeeded=False, max_attempts=3)
    assert f.state is RequestState.WAITING
    assert f.contact_attempts == 1


def test_max_attempts_one_exits_at_first_failure() -> None:
    f = waiting().record_contact_attempt(day(4), succeeded=False, max_attempts=1)
    assert f.exit_reason is ExitReason.UNREACHABLE


def test_contact_attempts_while_proposed_clear_the_proposals_on_exit() -> None:
    f = proposed("GP-1").record_contact_attempt(day(5), succeeded=False, max_attempts=1)
    assert f.state is RequestState.EXITED
    assert f.proposed_to == frozenset()


@pytest.mark.parametrize("bad", [0, -1, True, 2.5])
def test_max_attempts_must_be_a_positive_int(bad: object) -> None:
    with pytest.raises(LifecycleError, match="tentatives de contact"):
        waiting().record_contact_attempt(day(4), succeeded=False, max_attempts=bad)  # type: ignore[arg-type]


def test_max_attempts_from_the_policy_default() -> None:
    from mt_access.policy import Policy

    n = attrs.fields(Policy).max_contact_attempts.default
    assert n == 3
    f = waiting()
    for i in range(n):
        f = f.record_contact_attempt(day(4 + i), succeeded=False, max_attempts=n)
    assert f.exit_reason is ExitReason.UNREACHABLE


# --------------------------------------------------------------------------------------------
# Other exits


@pytest.mark.parametrize(
    ("call", "reason", "actor"),
    [
        (lambda f: f.withdraw(day(9)), ExitReason.WITHDRAWN, Actor.PATIENT),
        (lambda f: f.out_of_scope(day(9)), ExitReason.OUT_OF_SCOPE, Actor.COORDINATOR),
        (lambda f: f.other_solution(day(9)), ExitReason.OTHER_SOLUTION, Actor.COORDINATOR),
        (lambda f: f.close(day(9), "doublon"), ExitReason.CLOSED_BY_CPTS, Actor.COORDINATOR),
    ],
)
@pytest.mark.parametrize("state", ACTIVE_STATES)
def test_exits_from_every_active_state(
    call: object, reason: ExitReason, actor: Actor, state: RequestState
) -> None:
    f = _in_state(state)
    out = call(f)  # type: ignore[operator]
    assert out.state is RequestState.EXITED
    assert out.exit_reason is reason
    assert out.history[-1].from_state is state
    assert out.history[-1].reason is reason
    assert out.history[-1].actor is actor
    assert out.proposed_to == frozenset()


def test_close_needs_a_comment() -> None:
    with pytest.raises(LifecycleError, match="motivée"):
        waiting().close(day(9), "  ")


def test_an_exited_file_refuses_every_event() -> None:
    f = waiting().withdraw(day(4))
    with pytest.raises(IllegalTransitionError) as info:
        f.propose("GP-1", day(5))
    err = info.value
    assert err.request_id == "D-001"
    assert err.state is RequestState.EXITED
    assert err.allowed == ()
    assert "D-001" in str(err)
    assert "sortie du dispositif" in str(err)
    for call in (
        lambda: f.acknowledge(day(5)),
        lambda: f.withdraw(day(5)),
        lambda: f.close(day(5), "x"),
        lambda: f.record_contact_attempt(day(5), succeeded=True, max_attempts=3),
    ):
        with pytest.raises(IllegalTransitionError):
            call()


# --------------------------------------------------------------------------------------------
# Errors


def test_illegal_transition_names_id_state_and_allowed_events() -> None:
    f = RequestFile.receive("D-042", day(0))
    with pytest.raises(IllegalTransitionError) as info:
        f.propose("GP-1", day(1))
    err = info.value
    assert isinstance(err, MtAccessError)
    assert isinstance(err, ValueError)
    assert err.event is Event.PROPOSE
    assert err.allowed == ALLOWED[RequestState.RECEIVED]
    msg = str(err)
    assert "D-042" in msg
    assert RequestState.RECEIVED.label in msg
    for event in ALLOWED[RequestState.RECEIVED]:
        assert f"« {event.label} »" in msg
    # French only: the internal English names of the events are not shown
    assert "(acknowledge)" not in msg
    assert "propose" not in msg


@pytest.mark.parametrize(
    ("state", "call"),
    [
        (RequestState.RECEIVED, lambda f: f.confirm(day(9))),
        (RequestState.RECEIVED, lambda f: f.not_searching(day(9))),
        (RequestState.ACKNOWLEDGED, lambda f: f.to_waiting(day(9))),
        (RequestState.CONFIRMED, lambda f: f.acknowledge(day(9))),
        (RequestState.CONFIRMED, lambda f: f.propose("GP-1", day(9))),
        (RequestState.WAITING, lambda f: f.accept("GP-1", day(9))),
        (RequestState.WAITING, lambda f: f.refuse("GP-1", day(9))),
        (RequestState.PROPOSED, lambda f: f.to_waiting(day(9))),
        (RequestState.PROPOSED, lambda f: f.not_searching(day(9))),
    ],
)
def test_illegal_transitions(state: RequestState, call: object) -> None:
    with pytest.raises(IllegalTransitionError, match=state.label):
        call(_in_state(state))  # type: ignore[operator]


def test_dates_cannot_go_backwards() -> None:
    f = RequestFile.receive("D-001", day(3))
    with pytest.raises(LifecycleError, match="antérieure") as info:
        f.acknowledge(day(2))
    assert not isinstance(info.value, IllegalTransitionError)
    assert f.acknowledge(day(3)).state is RequestState.ACKNOWLEDGED  # same day is fine


def test_inconsistent_construction_is_rejected() -> None:
    f = waiting()
    with pytest.raises(LifecycleError):
        attrs.evolve(f, exit_reason=ExitReason.WITHDRAWN)
    with pytest.raises(LifecycleError):
        attrs.evolve(f, state=RequestState.PROPOSED)
    with pytest.raises(LifecycleError):
        RequestFile("D-1", RequestState.RECEIVED, ())


# --------------------------------------------------------------------------------------------
# History listing


def test_history_listing_is_french_and_holds_ids_only() -> None:
    f = proposed("GP-1").refuse("GP-1", day(5), "secteur trop éloigné").withdraw(day(6))
    lines = f.describe_history()
    assert len(lines) == len(f.history) == 7
    assert lines[0].startswith("05/01/2026 — réception de la demande")
    assert "médecin GP-1" in lines[5]
    assert "secteur trop éloigné" in lines[5]
    assert "motif de sortie : désistement du patient" in lines[6]


def _in_state(state: RequestState) -> RequestFile:
    f = RequestFile.receive("D-001", day(0))
    path = {
        RequestState.RECEIVED: [],
        RequestState.ACKNOWLEDGED: [lambda f: f.acknowledge(day(1))],
        RequestState.CONFIRMED: [lambda f: f.acknowledge(day(1)), lambda f: f.confirm(day(2))],
    }
    if state in path:
        for step in path[state]:
            f = step(f)
        return f
    if state is RequestState.WAITING:
        return waiting()
    assert state is RequestState.PROPOSED
    return proposed("GP-1")


# --------------------------------------------------------------------------------------------
# Random event sequences against a simple model

GPS = ("GP-1", "GP-2", "GP-3", "GP-4")
_EXIT_METHODS = {
    Event.NOT_SEARCHING: ExitReason.NOT_SEARCHING_ANYMORE,
    Event.WITHDRAW: ExitReason.WITHDRAWN,
    Event.OUT_OF_SCOPE: ExitReason.OUT_OF_SCOPE,
    Event.OTHER_SOLUTION: ExitReason.OTHER_SOLUTION,
    Event.CLOSE: ExitReason.CLOSED_BY_CPTS,
}
_SIMPLE_MOVES = {
    Event.ACKNOWLEDGE: RequestState.ACKNOWLEDGED,
    Event.CONFIRM: RequestState.CONFIRMED,
    Event.TO_WAITING: RequestState.WAITING,
}
deltas = st.integers(min_value=-1, max_value=3)
gps = st.sampled_from(GPS)


class LifecycleMachine(RuleBasedStateMachine):
    """Drives random events; the model predicts the outcome, the invariants check the file."""

    def __init__(self) -> None:
        super().__init__()
        self.file = RequestFile.receive("D-SM", D0)
        self.today = D0
        self.max_attempts = 3
        # The model.
        self.state = RequestState.RECEIVED
        self.proposed: set[str] = set()
        self.declined: set[str] = set()
        self.attempts = 0
        self.frozen_exit: RequestFile | None = None

    @initialize(n=st.integers(min_value=1, max_value=4))
    def set_max_attempts(self, n: int) -> None:
        self.max_attempts = n

    # -- helpers ---------------------------------------------------------------------------

    def _apply(self, event: Event, delta: int, call: object) -> bool:
        """Run ``call(date)``; check that it fails as the model predicts. True if it ran."""
        on = self.today + dt.timedelta(days=delta)
        before = self.file
        if event not in ALLOWED[self.state]:
            with pytest.raises(IllegalTransitionError) as info:
                call(on)  # type: ignore[operator]
            assert info.value.request_id == "D-SM"
            assert info.value.state is self.state
            assert self.file is before
            return False
        if delta < 0:
            with pytest.raises(LifecycleError, match="antérieure"):
                call(on)  # type: ignore[operator]
            return False
        return self._run(on, call)

    def _run(self, on: dt.date, call: object) -> bool:
        self.file = call(on)  # type: ignore[operator]
        self.today = on
        return True

    def _exit(self) -> None:
        self.state = RequestState.EXITED
        self.proposed.clear()

    # -- rules -----------------------------------------------------------------------------

    @rule(event=st.sampled_from(list(_SIMPLE_MOVES)), delta=deltas)
    def simple_move(self, event: Event, delta: int) -> None:
        method = getattr(self.file, event.value)
        if self._apply(event, delta, method):
            self.state = _SIMPLE_MOVES[event]

    @rule(event=st.sampled_from(list(_EXIT_METHODS)), delta=deltas, dice=st.integers(0, 5))
    def exit_event(self, event: Event, delta: int, dice: int) -> None:
        if dice:  # exits are rarer than the other events, so that sequences go further
            return
        if event is Event.CLOSE:

            def call(on: dt.date) -> RequestFile:
                return self.file.close(on, "clôture de test")
        else:
            call = getattr(self.file, event.value)
        if self._apply(event, delta, call):
            self._exit()
            assert self.file.exit_reason is _EXIT_METHODS[event]

    @rule(gp=gps, delta=st.integers(min_value=0, max_value=2))
    def advance(self, gp: str, delta: int) -> None:
        """The natural next step, so that random sequences reach the later states."""
        nxt = {
            RequestState.RECEIVED: Event.ACKNOWLEDGE,
            RequestState.ACKNOWLEDGED: Event.CONFIRM,
            RequestState.CONFIRMED: Event.TO_WAITING,
        }
        if self.state in nxt:
            self.simple_move(nxt[self.state], delta)
        elif self.state in (RequestState.WAITING, RequestState.PROPOSED):
            self.propose(gp, delta)

    @rule(gp=gps, delta=deltas)
    def propose(self, gp: str, delta: int) -> None:
        allowed = Event.PROPOSE in ALLOWED[self.state] and delta >= 0
        if allowed and (gp in self.declined or gp in self.proposed):
            with pytest.raises(LifecycleError, match=gp):
                self.file.propose(gp, self.today + dt.timedelta(days=delta))
            return
        if self._apply(Event.PROPOSE, delta, lambda on: self.file.propose(gp, on)):
            self.state = RequestState.PROPOSED
            self.proposed.add(gp)

    @rule(gp=gps, delta=deltas)
    def accept(self, gp: str, delta: int) -> None:
        allowed = Event.ACCEPT in ALLOWED[self.state] and delta >= 0
        if allowed and gp not in self.proposed:
            with pytest.raises(LifecycleError, match="pas proposée"):
                self.file.accept(gp, self.today + dt.timedelta(days=delta))
            return
        if self._apply(Event.ACCEPT, delta, lambda on: self.file.accept(gp, on)):
            self.state = RequestState.MT_FOUND
            self.proposed.clear()
            assert self.file.physician_found == gp

    @rule(gp=gps, delta=deltas)
    def refuse(self, gp: str, delta: int) -> None:
        allowed = Event.REFUSE in ALLOWED[self.state] and delta >= 0
        if allowed and gp not in self.proposed:
            with pytest.raises(LifecycleError, match="pas proposée"):
                self.file.refuse(gp, self.today + dt.timedelta(days=delta))
            return
        if self._apply(Event.REFUSE, delta, lambda on: self.file.refuse(gp, on)):
            self.proposed.discard(gp)
            self.declined.add(gp)
            self.state = RequestState.PROPOSED if self.proposed else RequestState.WAITING

    @rule(index=st.integers(min_value=0, max_value=3), delta=st.integers(0, 2), yes=st.booleans())
    def answer_pending(self, index: int, delta: int, yes: bool) -> None:
        """A GP the request is proposed to answers (mostly refusals, to exercise them)."""
        if self.proposed:
            gp = sorted(self.proposed)[index % len(self.proposed)]
            if yes and index == 0:
                self.accept(gp, delta)
            else:
                self.refuse(gp, delta)

    @rule(succeeded=st.booleans(), delta=deltas)
    def contact(self, succeeded: bool, delta: int) -> None:
        event = Event.CONTACT_SUCCEEDED if succeeded else Event.CONTACT_FAILED

        def call(on: dt.date) -> RequestFile:
            return self.file.record_contact_attempt(on, succeeded, self.max_attempts)

        if self._apply(event, delta, call):
            if succeeded:
                self.attempts = 0
                assert self.file.contact_attempts == 0
            else:
                self.attempts += 1
                if self.attempts >= self.max_attempts:
                    self._exit()
                    assert self.file.exit_reason is ExitReason.UNREACHABLE

    # -- invariants ------------------------------------------------------------------------

    @invariant()
    def matches_the_model(self) -> None:
        f = self.file
        assert f.state is self.state
        assert f.proposed_to == self.proposed
        assert f.declined_by == self.declined
        assert f.contact_attempts == self.attempts
        assert f.allowed_events == ALLOWED[self.state]

    @invariant()
    def an_exited_file_never_changes(self) -> None:
        if self.file.is_exited:
            if self.frozen_exit is None:
                self.frozen_exit = self.file
            assert self.file is self.frozen_exit
        else:
            assert self.frozen_exit is None

    @invariant()
    def exactly_one_exit_reason_iff_exited(self) -> None:
        f = self.file
        reasons = [t.reason for t in f.history if t.reason is not None]
        if f.is_exited:
            assert f.exit_reason is not None
            assert reasons == [f.exit_reason]
            assert f.history[-1].reason is f.exit_reason
        else:
            assert f.exit_reason is None
            assert reasons == []

    @invariant()
    def history_is_consistent(self) -> None:
        h = self.file.history
        assert h[0].event is Event.RECEIVE
        assert h[0].from_state is None
        for prev, cur in itertools.pairwise(h):
            assert prev.on <= cur.on
            assert cur.from_state is prev.to_state
            assert cur.event in ALLOWED[prev.to_state]
            assert cur.request_id == "D-SM"
        assert h[-1].to_state is self.file.state

    @invariant()
    def declined_gps_are_never_proposed_again(self) -> None:
        declined_at: dict[str, int] = {}
        for i, t in enumerate(self.file.history):
            if t.event is Event.REFUSE and t.physician_id is not None:
                declined_at.setdefault(t.physician_id, i)
            if t.event is Event.PROPOSE:
                assert t.physician_id not in declined_at
        assert not (self.file.proposed_to & self.file.declined_by)


LifecycleMachine.TestCase.settings = settings(
    max_examples=150,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestLifecycleMachine = LifecycleMachine.TestCase


# --------------------------------------------------------------------------------------------
# The documentation's table is the code's table


def test_docs_transition_table_matches_allowed() -> None:
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "docs" / "lifecycle.md").read_text("utf-8")
    rows: dict[str, tuple[str, ...]] = {}
    for state, events in re.findall(r"^\| `(\w+)` \| ((?:`\w+`(?:, )?)+|none) \|$", text, re.M):
        rows[state] = tuple(re.findall(r"`(\w+)`", events))
    assert rows == {s.value: tuple(e.value for e in ALLOWED[s]) for s in RequestState}
    for state in RequestState:
        assert f"| `{state.value}` | {state.label} |" in text
