"""Tests for :mod:`mt_access.ledger`.

Unit tests pin each rule with a hand-written scenario; :class:`LedgerMachine` then checks, with
Hypothesis, that any sequence of declarations, placements, releases and batches keeps the ledger
equal to a naive oracle that recomputes everything from plain dicts and lists.
"""

from __future__ import annotations

import datetime as dt
import itertools

import attrs
import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from mt_access.calendar import Month
from mt_access.errors import CapacityExceededError, LedgerError
from mt_access.ledger import (
    CapacityDeclared,
    CapacityLedger,
    LedgerEntry,
    PlacementRecorded,
    PlacementReleased,
)

DAY = dt.date(2026, 1, 15)
DEC, JAN, FEB, MAR, APR = (
    Month(2025, 12),
    Month(2026, 1),
    Month(2026, 2),
    Month(2026, 3),
    Month(2026, 4),
)


def snapshot(ledger: CapacityLedger, physician_id: str = "p1") -> tuple[object, ...]:
    """Everything observable about ``physician_id`` over DEC..APR, to compare before/after."""
    months = (DEC, JAN, FEB, MAR, APR)
    return (
        ledger.entries,
        ledger.active_placements(),
        tuple(ledger.capacity(physician_id, m, default=1) for m in months),
        tuple(ledger.used(physician_id, m) for m in months),
        tuple(ledger.remaining(physician_id, m, default=1, carry_over=True) for m in months),
    )


# --- entries


def test_entries_are_frozen_values() -> None:
    entry = CapacityDeclared("p1", JAN, 5, DAY)
    assert entry == CapacityDeclared("p1", JAN, 5, DAY, note="")
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        entry.capacity = 6  # type: ignore[misc]


def test_negative_capacity_rejected() -> None:
    with pytest.raises(LedgerError, match=r"médecin p1 en 2026-01 : -1") as exc_info:
        CapacityDeclared("p1", JAN, -1, DAY)
    assert isinstance(exc_info.value, ValueError)
    ledger = CapacityLedger()
    with pytest.raises(LedgerError):
        ledger.declare_capacity("p1", JAN, -1, DAY)
    assert ledger.entries == ()


def test_zero_capacity_allowed() -> None:
    ledger = CapacityLedger()
    ledger.declare_capacity("p1", JAN, 0, DAY)
    assert ledger.capacity("p1", JAN, default=5) == 0
    assert ledger.remaining("p1", JAN, default=5) == 0


@pytest.mark.parametrize("persons", [0, -2])
def test_persons_below_one_rejected(persons: int) -> None:
    with pytest.raises(LedgerError, match=r"médecin p1 en 2026-01"):
        PlacementRecorded("p1", JAN, "r1", persons, DAY)
    ledger = CapacityLedger()
    ledger.declare_capacity("p1", JAN, 5, DAY)
    with pytest.raises(LedgerError):
        ledger.place("p1", JAN, "r1", persons, DAY)
    assert len(ledger.entries) == 1
    assert ledger.used("p1", JAN) == 0


@pytest.mark.parametrize(
    ("kind", "args", "error"),
    [
        (CapacityDeclared, ("p1", JAN, True, DAY), TypeError),
        (CapacityDeclared, ("p1", JAN, 2.0, DAY), TypeError),
        (CapacityDeclared, ("p1", "2026-01", 2, DAY), TypeError),
        (CapacityDeclared, ("", JAN, 2, DAY), LedgerError),
        (CapacityDeclared, ("p1", JAN, 2, "2026-01-15"), TypeError),
        (CapacityDeclared, ("p1", JAN, 2, DAY, None), TypeError),
        (PlacementRecorded, ("p1", JAN, " ", 1, DAY), LedgerError),
        (PlacementRecorded, ("p1", JAN, "r1", True, DAY), TypeError),
        (PlacementReleased, ("p1", 7, DAY), TypeError),
    ],
)
def test_entry_fields_validated(
    kind: type[LedgerEntry], args: tuple[object, ...], error: type[Exception]
) -> None:
    with pytest.raises(error):
        kind(*args)  # type: ignore[arg-type]


def test_negative_default_rejected() -> None:
    ledger = CapacityLedger()
    with pytest.raises(LedgerError, match="p1"):
        ledger.capacity("p1", JAN, default=-1)
    with pytest.raises(LedgerError):
        ledger.remaining("p1", JAN, default=-1)
    with pytest.raises(LedgerError):
        ledger.place("p1", JAN, "r1", 1, DAY, default=-1)
    with pytest.raises(LedgerError):
        ledger.record(PlacementRecorded("p1", JAN, "r1", 1, DAY), default_capacity={"p1": -1})
    assert ledger.entries == ()


# --- capacity over months


def test_declaration_applies_until_a_later_one() -> None:
    ledger = CapacityLedger()
    ledger.declare_capacity("p1", JAN, 5, DAY)
    ledger.declare_capacity("p1", APR, 3, DAY)
    assert [ledger.capacity("p1", m, default=9) for m in (DEC, JAN, FEB, MAR, APR)] == [
        9,
        5,
        5,
        5,
        3,
    ]
    assert ledger.capacity("p1", Month(2030, 1)) == 3
    assert ledger.capacity("p2", JAN, default=4) == 4  # other physicians unaffected
    assert ledger.capacity("p2", JAN) == 0


def test_declaration_recorded_out_of_month_order() -> None:
    ledger = CapacityLedger()
    ledger.declare_capacity("p1", APR, 2, DAY)
    ledger.declare_capacity("p1", FEB, 7, DAY)
    assert [ledger.capacity("p1", m) for m in (JAN, FEB, MAR, APR)] == [0, 7, 7, 2]


def test_same_month_last_recorded_wins() -> None:
    ledger = CapacityLedger()
    ledger.declare_capacity("p1", FEB, 5, DAY)
    ledger.declare_capacity("p1", FEB, 8, DAY)
    ledger.declare_capacity("p1", FEB, 3, DAY + dt.timedelta(days=1), note="congé")
    assert ledger.capacity("p1", FEB) == 3
    assert ledger.capacity("p1", MAR) == 3
    assert len(ledger.entries) == 3  # nothing overwritten in the ledger itself


# --- placements, used, remaining


def test_place_counts_in_its_month_only() -> None:
    ledger = CapacityLedger()
    ledger.declare_capacity("p1", JAN, 5, DAY)
    entry = ledger.place("p1", FEB, "r1", 2, DAY)
    assert entry == PlacementRecorded("p1", FEB, "r1", 2, DAY)
    assert ledger.entries[-1] is entry
    assert (ledger.used("p1", JAN), ledger.used("p1", FEB), ledger.used("p1", MAR)) == (0, 2, 0)
    assert ledger.remaining("p1", FEB) == 3
    assert ledger.remaining("p1", JAN) == 5


def test_place_uses_default_capacity() -> None:
    ledger = CapacityLedger()
    with pytest.raises(CapacityExceededError):
        ledger.place("p1", JAN, "r1", 1, DAY)  # default 0
    ledger.place("p1", JAN, "r1", 3, DAY, default=3)
    assert ledger.remaining("p1", JAN, default=3) == 0
    assert ledger.remaining("p1", JAN, default=10) == 7


def test_over_capacity_refused_with_details() -> None:
    ledger = CapacityLedger()
    ledger.declare_capacity("p1", JAN, 3, DAY)
    ledger.place("p1", JAN, "r1", 2, DAY)
    before = snapshot(ledger)
    with pytest.raises(CapacityExceededError) as exc_info:
        ledger.place("p1", JAN, "r2", 2, DAY)
    error = exc_info.value
    assert (error.physician_id, error.month, error.requested, error.remaining) == (
        "p1",
        "2026-01",
        2,
        1,
    )
    assert snapshot(ledger) == before
    ledger.place("p1", JAN, "r2", 1, DAY)  # exactly what remains
    assert ledger.remaining("p1", JAN) == 0


def test_capacity_lowered_mid_month() -> None:
    """Placements already made stay; remaining is 0, never negative."""
    ledger = CapacityLedger()
    ledger.declare_capacity("p1", JAN, 5, DAY)
    ledger.place("p1", JAN, "r1", 3, DAY)
    ledger.place("p1", JAN, "r2", 1, DAY)
    ledger.declare_capacity("p1", JAN, 2, DAY)
    assert ledger.capacity("p1", JAN) == 2
    assert ledger.used("p1", JAN) == 4
    assert ledger.remaining("p1", JAN) == 0
    assert ledger.remaining("p1", JAN, carry_over=True) == 0
    assert [p.request_id for p in ledger.active_placements()] == ["r1", "r2"]
    with pytest.raises(CapacityExceededError) as exc_info:
        ledger.place("p1", JAN, "r3", 1, DAY)
    assert exc_info.value.remaining == 0
    # Releases free persons, but the month stays full while used >= the lowered capacity.
    ledger.release("p1", "r2", DAY)
    assert ledger.remaining("p1", JAN) == 0
    ledger.release("p1", "r1", DAY)
    assert ledger.remaining("p1", JAN) == 2


# --- carry-over


def test_carry_over_off_by_default() -> None:
    ledger = CapacityLedger()
    ledger.declare_capacity("p1", JAN, 5, DAY)
    ledger.place("p1", JAN, "r1", 2, DAY)
    assert ledger.remaining("p1", FEB) == 5
    assert ledger.remaining("p1", FEB, carry_over=True) == 5 + 3
    with pytest.raises(CapacityExceededError):
        ledger.place("p1", FEB, "r2", 8, DAY)
    ledger.place("p1", FEB, "r2", 8, DAY, carry_over=True)
    assert ledger.used("p1", FEB) == 8
    assert ledger.remaining("p1", FEB, carry_over=True) == 0


def test_carry_over_is_one_month_only() -> None:
    """Unused capacity of JAN does not reach MAR, even through an unused FEB."""
    ledger = CapacityLedger()
    ledger.declare_capacity("p1", JAN, 5, DAY)
    assert ledger.remaining("p1", MAR, carry_over=True) == 10  # not 15
    # FEB's carried amount is its own unused capacity: 5 - 7 < 0, so nothing passes on.
    ledger.place("p1", FEB, "r1", 7, DAY, carry_over=True)
    assert ledger.remaining("p1", MAR, carry_over=True) == 5


def test_carry_over_uses_previous_month_capacity_and_default() -> None:
    ledger = CapacityLedger()
    ledger.declare_capacity("p1", FEB, 1, DAY)
    assert ledger.remaining("p1", FEB, default=4, carry_over=True) == 1 + 4  # JAN: default
    assert ledger.remaining("p1", JAN, default=4, carry_over=True) == 8
    ledger.declare_capacity("p1", MAR, 6, DAY)
    assert ledger.remaining("p1", MAR, carry_over=True) == 6 + 1


def test_remaining_never_negative_when_previous_month_overused() -> None:
    ledger = CapacityLedger()
    ledger.declare_capacity("p1", JAN, 2, DAY)
    ledger.place("p1", FEB, "r1", 4, DAY, carry_over=True)  # 2 + 2 carried
    ledger.place("p1", JAN, "r2", 2, DAY)  # JAN's unused capacity is now gone
    assert ledger.used("p1", FEB) == 4
    assert ledger.remaining("p1", FEB, carry_over=True) == 0


# --- release


def test_release_frees_the_slot_in_its_month() -> None:
    ledger = CapacityLedger()
    ledger.declare_capacity("p1", JAN, 2, DAY)
    ledger.place("p1", JAN, "r1", 2, DAY)
    with pytest.raises(CapacityExceededError):
        ledger.place("p1", JAN, "r2", 1, DAY)
    later = dt.date(2026, 3, 2)
    entry = ledger.release("p1", "r1", later, reason="refus du médecin")
    assert entry == PlacementReleased("p1", "r1", later, "refus du médecin")
    assert ledger.used("p1", JAN) == 0  # freed in JAN, not in the month of the release
    assert ledger.remaining("p1", JAN) == 2
    assert ledger.active_placements() == ()
    assert ledger.placement_of("r1") == ()
    ledger.place("p1", JAN, "r2", 1, DAY)
    ledger.place("p1", JAN, "r1", 1, DAY)  # the released pair may be placed again
    assert [p.request_id for p in ledger.active_placements()] == ["r2", "r1"]


def test_release_of_nothing_refused() -> None:
    ledger = CapacityLedger()
    ledger.declare_capacity("p1", JAN, 2, DAY)
    with pytest.raises(LedgerError, match=r"dossier r1 chez le médecin p1") as exc_info:
        ledger.release("p1", "r1", DAY, reason="Mme Dupont a déménagé")
    assert "Dupont" not in str(exc_info.value)  # free text never echoed
    ledger.place("p2", JAN, "r1", 1, DAY, default=1)
    with pytest.raises(LedgerError):
        ledger.release("p1", "r1", DAY)  # placed, but with another physician
    ledger.release("p2", "r1", DAY)
    before = snapshot(ledger)
    with pytest.raises(LedgerError):
        ledger.release("p2", "r1", DAY)  # already released
    assert snapshot(ledger) == before


# --- double placement, household split


def test_double_placement_refused() -> None:
    ledger = CapacityLedger()
    ledger.declare_capacity("p1", JAN, 10, DAY)
    ledger.place("p1", JAN, "r1", 1, DAY)
    before = snapshot(ledger)
    for month in (JAN, FEB):
        with pytest.raises(LedgerError, match=r"dossier r1 .* médecin p1") as exc_info:
            ledger.place("p1", month, "r1", 1, DAY)
        assert not isinstance(exc_info.value, CapacityExceededError)
    assert snapshot(ledger) == before


def test_double_placement_checked_before_capacity() -> None:
    ledger = CapacityLedger()
    ledger.declare_capacity("p1", JAN, 1, DAY)
    ledger.place("p1", JAN, "r1", 1, DAY)
    with pytest.raises(LedgerError) as exc_info:
        ledger.place("p1", JAN, "r1", 5, DAY)
    assert type(exc_info.value) is LedgerError


def test_household_split_among_physicians() -> None:
    ledger = CapacityLedger()
    ledger.declare_capacity("p1", JAN, 2, DAY)
    ledger.declare_capacity("p2", JAN, 3, DAY)
    a = ledger.place("p1", JAN, "r1", 2, DAY)
    b = ledger.place("p2", JAN, "r1", 3, DAY)
    assert ledger.placement_of("r1") == (a, b)
    assert ledger.placement_of("r9") == ()
    ledger.release("p1", "r1", DAY)
    assert ledger.placement_of("r1") == (b,)


def test_active_placements_filters_in_recording_order() -> None:
    ledger = CapacityLedger()
    a = ledger.place("p1", JAN, "r1", 1, DAY, default=5)
    b = ledger.place("p2", JAN, "r2", 1, DAY, default=5)
    c = ledger.place("p1", FEB, "r3", 1, DAY, default=5)
    d = ledger.place("p1", JAN, "r4", 1, DAY, default=5)
    assert ledger.active_placements() == (a, b, c, d)
    assert ledger.active_placements(month=JAN) == (a, b, d)
    assert ledger.active_placements(physician_id="p1") == (a, c, d)
    assert ledger.active_placements(month=JAN, physician_id="p1") == (a, d)
    assert ledger.active_placements(month=MAR, physician_id="p1") == ()
    ledger.release("p1", "r1", DAY)
    assert ledger.active_placements(month=JAN, physician_id="p1") == (d,)


# --- entries, record, extend, from_entries, copy


def test_entries_read_only_in_recording_order() -> None:
    ledger = CapacityLedger()
    e1 = ledger.declare_capacity("p1", JAN, 2, DAY)
    e2 = ledger.place("p1", JAN, "r1", 1, DAY)
    e3 = ledger.release("p1", "r1", DAY)
    assert ledger.entries == (e1, e2, e3)
    assert isinstance(ledger.entries, tuple)
    with pytest.raises(AttributeError):
        ledger.entries = ()  # type: ignore[misc]


def test_record_validates_like_methods() -> None:
    ledger = CapacityLedger()
    ledger.record(PlacementRecorded("p1", JAN, "r1", 2, DAY), default_capacity={"p1": 2})
    with pytest.raises(CapacityExceededError):
        ledger.record(PlacementRecorded("p2", JAN, "r2", 1, DAY), default_capacity={"p1": 2})
    with pytest.raises(CapacityExceededError):
        ledger.record(PlacementRecorded("p1", JAN, "r2", 1, DAY), default_capacity={"p1": 2})
    ledger.record(PlacementRecorded("p1", FEB, "r2", 2, DAY), default_capacity={"p1": 2})
    with pytest.raises(LedgerError):
        ledger.record(PlacementRecorded("p1", FEB, "r2", 1, DAY), default_capacity={"p1": 9})
    with pytest.raises(LedgerError):
        ledger.record(PlacementReleased("p1", "r3", DAY))
    with pytest.raises(TypeError):
        ledger.record("not an entry")  # type: ignore[arg-type]
    ledger.record(CapacityDeclared("p1", MAR, 1, DAY))
    assert len(ledger.entries) == 3
    assert ledger.capacity("p1", MAR) == 1


def test_extend_success() -> None:
    ledger = CapacityLedger()
    batch: list[LedgerEntry] = [
        CapacityDeclared("p1", JAN, 2, DAY),
        PlacementRecorded("p1", JAN, "r1", 2, DAY),
        PlacementReleased("p1", "r1", DAY),
        PlacementRecorded("p1", JAN, "r2", 2, DAY),
    ]
    ledger.extend(iter(batch))
    assert ledger.entries == tuple(batch)
    assert ledger.used("p1", JAN) == 2


@pytest.mark.parametrize(
    "bad",
    [
        PlacementRecorded("p1", JAN, "r9", 5, DAY),  # over capacity
        PlacementRecorded("p1", JAN, "r1", 1, DAY),  # r1 already active with p1
        PlacementReleased("p1", "r9", DAY),  # nothing to release
        "not an entry",
    ],
)
def test_extend_is_atomic(bad: object) -> None:
    ledger = CapacityLedger()
    ledger.declare_capacity("p1", JAN, 3, DAY)
    ledger.place("p1", JAN, "r1", 1, DAY)
    ledger.place("p1", JAN, "r2", 1, DAY)
    before, active = snapshot(ledger), ledger.active_placements()
    batch = [
        CapacityDeclared("p1", FEB, 4, DAY),
        PlacementReleased("p1", "r1", DAY),  # would reorder active placements
        PlacementRecorded("p1", JAN, "r1", 1, DAY),
        CapacityDeclared("p1", JAN, 6, DAY),
        bad,
        CapacityDeclared("p1", MAR, 0, DAY),
    ]
    with pytest.raises((LedgerError, TypeError)):
        ledger.extend(batch)  # type: ignore[arg-type]
    assert snapshot(ledger) == before
    assert ledger.placement_of("r1") == active[:1]
    assert ledger.active_placements(month=JAN, physician_id="p1") == active
    # Still fully usable afterwards.
    ledger.place("p1", JAN, "r3", 1, DAY)
    assert ledger.remaining("p1", JAN) == 0


def test_extend_atomic_when_iterable_fails() -> None:
    ledger = CapacityLedger()
    ledger.declare_capacity("p1", JAN, 3, DAY)

    def entries() -> object:
        yield PlacementRecorded("p1", JAN, "r1", 1, DAY)
        raise RuntimeError("source interrompue")

    with pytest.raises(RuntimeError):
        ledger.extend(entries())  # type: ignore[arg-type]
    assert len(ledger.entries) == 1
    assert ledger.used("p1", JAN) == 0


def test_from_entries_replays() -> None:
    defaults = {"p2": 2}
    ledger = CapacityLedger()
    ledger.declare_capacity("p1", JAN, 2, DAY)
    ledger.place("p1", JAN, "r1", 1, DAY)
    ledger.place("p1", FEB, "r2", 3, DAY, carry_over=True)
    ledger.place("p2", FEB, "r2", 2, DAY, default=2)
    ledger.release("p1", "r1", DAY)
    ledger.declare_capacity("p1", FEB, 1, DAY)
    replayed = CapacityLedger.from_entries(
        ledger.entries, default_capacity=defaults, carry_over=True
    )
    assert replayed == ledger
    assert replayed is not ledger
    for pid in ("p1", "p2"):
        assert snapshot(replayed, pid) == snapshot(ledger, pid)
    assert replayed.placement_of("r2") == ledger.placement_of("r2")
    # Without the options used at recording time, the same entries are not valid.
    with pytest.raises(CapacityExceededError) as exc_info:
        CapacityLedger.from_entries(ledger.entries, default_capacity=defaults)
    assert (exc_info.value.month, exc_info.value.requested) == ("2026-02", 3)
    with pytest.raises(LedgerError):
        CapacityLedger.from_entries([PlacementReleased("p1", "r1", DAY)])
    with pytest.raises(LedgerError):
        CapacityLedger.from_entries(
            [CapacityDeclared("p1", JAN, 1, DAY)] * 2 + [PlacementRecorded("p1", JAN, "r1", 2, DAY)]
        )


def test_copy_is_independent() -> None:
    ledger = CapacityLedger()
    ledger.declare_capacity("p1", JAN, 3, DAY)
    ledger.place("p1", JAN, "r1", 1, DAY)
    twin = ledger.copy()
    assert twin == ledger
    twin.place("p1", JAN, "r2", 2, DAY)
    twin.release("p1", "r1", DAY)
    twin.declare_capacity("p1", JAN, 9, DAY)
    assert ledger.used("p1", JAN) == 1
    assert ledger.capacity("p1", JAN) == 3
    assert len(ledger.entries) == 2
    assert twin != ledger
    assert "2 entrée(s)" in repr(ledger)


def test_recording_many_entries() -> None:
    """100,000 entries for 2,500 physicians are recorded and read back right (about 0.3 s;
    no time is asserted here: machines are shared)."""
    months = [Month(2026, m) for m in range(1, 13)]
    batch: list[LedgerEntry] = [CapacityDeclared(f"p{p}", JAN, 40, DAY) for p in range(2500)]
    batch += [
        PlacementRecorded(f"p{i % 2500}", months[(i // 2500) % 12], f"r{i}", 1, DAY)
        for i in range(97_500)
    ]
    ledger = CapacityLedger.from_entries(batch)
    assert len(ledger.entries) == 100_000
    assert ledger.used("p7", FEB) == 4
    assert ledger.remaining("p7", FEB, carry_over=True) == 36 + 36


# --- stateful model


PHYSICIANS = ("p1", "p2", "p3")
MONTHS = (JAN, FEB, MAR)
CHECKED_MONTHS = (DEC, JAN, FEB, MAR, APR)  # also the months around those of the rules
REQUESTS = ("r1", "r2", "r3", "r4")
DEFAULTS = {"p1": 0, "p2": 2}  # p3 absent: 0 through default_capacity.get(p, 0)

physicians = st.sampled_from(PHYSICIANS)
months = st.sampled_from(MONTHS)
requests = st.sampled_from(REQUESTS)
capacities = st.integers(min_value=0, max_value=5)
persons = st.integers(min_value=1, max_value=5)
entries = st.one_of(
    st.builds(CapacityDeclared, physicians, months, capacities, st.just(DAY)),
    st.builds(PlacementRecorded, physicians, months, requests, persons, st.just(DAY)),
    st.builds(PlacementReleased, physicians, requests, st.just(DAY)),
)


class Oracle:
    """The ledger's rules, written the obvious way: full scans of a list and a dict.

    Attributes:
        declarations: (physician, month, capacity) in recording order.
        active: active placement per (physician, request), in recording order.
        entries: every accepted entry.
        allowance: per (physician, month), ``capacity + carried`` (carried only if the call
            used carry-over) at the moment the latest accepted placement of that cell was
            checked.
    """

    def __init__(self) -> None:
        self.declarations: list[tuple[str, Month, int]] = []
        self.active: dict[tuple[str, str], PlacementRecorded] = {}
        self.entries: list[LedgerEntry] = []
        self.allowance: dict[tuple[str, Month], int] = {}

    def capacity(self, pid: str, month: Month) -> int:
        found: tuple[Month, int] | None = None
        for p, m, c in self.declarations:
            if p == pid and m <= month and (found is None or m >= found[0]):
                found = (m, c)
        return DEFAULTS.get(pid, 0) if found is None else found[1]

    def used(self, pid: str, month: Month) -> int:
        return sum(
            e.persons for e in self.active.values() if (e.physician_id, e.month) == (pid, month)
        )

    def carried(self, pid: str, month: Month) -> int:
        prev = month.previous()
        return max(0, self.capacity(pid, prev) - self.used(pid, prev))

    def remaining(self, pid: str, month: Month, carry_over: bool) -> int:
        carried = self.carried(pid, month) if carry_over else 0
        return max(0, self.capacity(pid, month) + carried - self.used(pid, month))

    def table(self) -> dict[tuple[str, Month], tuple[int, int, int, int]]:
        """(capacity, used, remaining, remaining with carry-over) of every checked cell.

        The same rules as above in one pass, months as (year, month) tuples (comparing
        ``Month`` objects is slow and this runs after every step).
        """
        around = [(m.year, m.month) for m in (CHECKED_MONTHS[0].previous(), *CHECKED_MONTHS)]
        capacity: dict[tuple[str, tuple[int, int]], int] = {}
        for pid in PHYSICIANS:
            mine = [((m.year, m.month), c) for p, m, c in self.declarations if p == pid]
            for ym in around:
                in_force = [(m, i, c) for i, (m, c) in enumerate(mine) if m <= ym]
                capacity[pid, ym] = max(in_force)[2] if in_force else DEFAULTS.get(pid, 0)
        used = dict.fromkeys(capacity, 0)
        for e in self.active.values():
            ym = (e.month.year, e.month.month)
            if (e.physician_id, ym) in used:
                used[e.physician_id, ym] += e.persons
        table = {}
        for pid in PHYSICIANS:
            for prev, month in itertools.pairwise(around):
                cap, use = capacity[pid, month], used[pid, month]
                carried = max(0, capacity[pid, prev] - used[pid, prev])
                table[pid, Month(*month)] = (
                    cap,
                    use,
                    max(0, cap - use),
                    max(0, cap + carried - use),
                )
        return table

    def copy(self) -> Oracle:
        twin = Oracle()
        twin.declarations = self.declarations.copy()
        twin.active = self.active.copy()
        twin.entries = self.entries.copy()
        twin.allowance = self.allowance.copy()
        return twin

    def error_of(self, entry: LedgerEntry, carry_over: bool) -> type[LedgerError] | None:
        """The exception class the ledger must raise for ``entry``, or None if accepted."""
        if isinstance(entry, PlacementRecorded):
            if (entry.physician_id, entry.request_id) in self.active:
                return LedgerError
            if entry.persons > self.remaining(entry.physician_id, entry.month, carry_over):
                return CapacityExceededError
        elif (
            isinstance(entry, PlacementReleased)
            and (entry.physician_id, entry.request_id) not in self.active
        ):
            return LedgerError
        return None

    def apply(self, entry: LedgerEntry, carry_over: bool) -> None:
        """Record an entry for which :meth:`error_of` returned None."""
        if isinstance(entry, CapacityDeclared):
            self.declarations.append((entry.physician_id, entry.month, entry.capacity))
        elif isinstance(entry, PlacementRecorded):
            pid, month = entry.physician_id, entry.month
            carried = self.carried(pid, month) if carry_over else 0
            self.allowance[pid, month] = self.capacity(pid, month) + carried
            self.active[pid, entry.request_id] = entry
        else:
            del self.active[entry.physician_id, entry.request_id]
        self.entries.append(entry)


class LedgerMachine(RuleBasedStateMachine):
    """Random declare/place/release/extend sequences over 3 physicians x 3 months.

    After every step the ledger answers exactly as the oracle: same entries, same capacity,
    used and remaining (with and without carry-over) for every physician and month, same
    active placements in the same order. A refused operation raises the oracle's exception
    class and leaves the entries unchanged.
    """

    def __init__(self) -> None:
        super().__init__()
        self.ledger = CapacityLedger()
        self.oracle = Oracle()

    # -- rules

    @rule(pid=physicians, month=months, capacity=capacities)
    def declare(self, pid: str, month: Month, capacity: int) -> None:
        """Any non-negative declaration is accepted and appended as given."""
        entry = self.ledger.declare_capacity(pid, month, capacity, DAY)
        assert entry == CapacityDeclared(pid, month, capacity, DAY)
        self.oracle.apply(entry, carry_over=False)

    @rule(pid=physicians, month=months, rid=requests, n=persons, carry_over=st.booleans())
    def place(self, pid: str, month: Month, rid: str, n: int, carry_over: bool) -> None:
        """A placement is accepted iff its pair is free and it fits in ``remaining``."""
        entry = PlacementRecorded(pid, month, rid, n, DAY)
        expected = self.oracle.error_of(entry, carry_over)
        before = self.ledger.entries
        if expected is None:
            got = self.ledger.place(
                pid, month, rid, n, DAY, default=DEFAULTS.get(pid, 0), carry_over=carry_over
            )
            assert got == entry
            self.oracle.apply(entry, carry_over)
            return
        with pytest.raises(expected) as exc_info:
            self.ledger.place(
                pid, month, rid, n, DAY, default=DEFAULTS.get(pid, 0), carry_over=carry_over
            )
        assert type(exc_info.value) is expected
        assert self.ledger.entries == before
        if isinstance(exc_info.value, CapacityExceededError):
            error = exc_info.value
            assert (error.physician_id, error.month, error.requested) == (pid, str(month), n)
            assert error.remaining == self.oracle.remaining(pid, month, carry_over)

    @rule(pid=physicians, rid=requests)
    def release(self, pid: str, rid: str) -> None:
        """A release is accepted iff the pair has an active placement."""
        entry = PlacementReleased(pid, rid, DAY)
        expected = self.oracle.error_of(entry, carry_over=False)
        before = self.ledger.entries
        if expected is None:
            assert self.ledger.release(pid, rid, DAY) == entry
            self.oracle.apply(entry, carry_over=False)
            return
        with pytest.raises(LedgerError) as exc_info:
            self.ledger.release(pid, rid, DAY)
        assert type(exc_info.value) is LedgerError
        assert self.ledger.entries == before

    @rule(batch=st.lists(entries, max_size=4), carry_over=st.booleans())
    def extend(self, batch: list[LedgerEntry], carry_over: bool) -> None:
        """A batch is recorded whole if every entry is valid in turn, else not at all."""
        trial = self.oracle.copy()
        expected: type[LedgerError] | None = None
        for entry in batch:
            expected = trial.error_of(entry, carry_over)
            if expected is not None:
                break
            trial.apply(entry, carry_over)
        before = self.ledger.entries
        if expected is None:
            self.ledger.extend(batch, default_capacity=DEFAULTS, carry_over=carry_over)
            self.oracle = trial
            return
        with pytest.raises(expected) as exc_info:
            self.ledger.extend(batch, default_capacity=DEFAULTS, carry_over=carry_over)
        assert type(exc_info.value) is expected
        assert self.ledger.entries == before

    @rule()
    def replay(self) -> None:
        """Replaying the entries (with carry-over, which accepts all) rebuilds an equal ledger."""
        replayed = CapacityLedger.from_entries(
            self.ledger.entries, default_capacity=DEFAULTS, carry_over=True
        )
        assert replayed == self.ledger
        for pid in PHYSICIANS:
            for month in CHECKED_MONTHS:
                assert replayed.used(pid, month) == self.ledger.used(pid, month)
                assert replayed.capacity(pid, month) == self.ledger.capacity(pid, month)
        assert replayed.active_placements() == self.ledger.active_placements()

    @rule(pid=physicians)
    def copy_is_independent(self, pid: str) -> None:
        """A copy equals the ledger, and changing it leaves the ledger alone."""
        twin = self.ledger.copy()
        assert twin == self.ledger
        before = self.ledger.entries
        twin.declare_capacity(pid, APR, 4, DAY)  # the rules never place in APR
        twin.place(pid, APR, "r-copy", 1, DAY)
        assert self.ledger.entries == before
        assert self.ledger.used(pid, APR) == self.oracle.used(pid, APR)

    # -- invariants

    @invariant()
    def entries_match(self) -> None:
        """The ledger holds exactly the accepted entries, in recording order."""
        assert self.ledger.entries == tuple(self.oracle.entries)

    def ledger_table(self) -> dict[tuple[str, Month], tuple[int, int, int, int]]:
        """The ledger's (capacity, used, remaining, remaining with carry-over) of each cell."""
        table = {}
        for pid in PHYSICIANS:
            default = DEFAULTS.get(pid, 0)
            for month in CHECKED_MONTHS:
                table[pid, month] = (
                    self.ledger.capacity(pid, month, default=default),
                    self.ledger.used(pid, month),
                    self.ledger.remaining(pid, month, default=default),
                    self.ledger.remaining(pid, month, default=default, carry_over=True),
                )
        return table

    @invariant()
    def queries_match(self) -> None:
        """capacity, used and remaining agree with the oracle for every physician and month.

        Also: nothing is negative, and used never exceeds the allowance its last placement
        was given. ``used <= capacity + carried`` cannot hold at every step: lowering a
        capacity below what is used is allowed, and so is consuming, later, the previous
        month's unused capacity that a carry-over placement relied on. What always holds is
        that a cell's used count never exceeds ``capacity + carried`` as it was when its
        latest accepted placement was checked (releases only lower it); without either of
        those two events, that is the current ``capacity + carried``.
        """
        table = self.ledger_table()
        assert table == self.oracle.table()
        for cell, (capacity, used, remaining, remaining_carry) in table.items():
            assert min(capacity, used, remaining, remaining_carry) >= 0
            assert remaining <= remaining_carry
            assert used <= self.oracle.allowance.get(cell, 0)

    @invariant()
    def active_placements_match(self) -> None:
        """Active placements, whole or filtered, are the oracle's, in recording order."""
        active = tuple(self.oracle.active.values())
        assert self.ledger.active_placements() == active
        for rid in REQUESTS:
            assert self.ledger.placement_of(rid) == tuple(p for p in active if p.request_id == rid)
        for pid in PHYSICIANS:
            mine = tuple(p for p in active if p.physician_id == pid)
            assert self.ledger.active_placements(physician_id=pid) == mine
            for month in MONTHS:
                assert self.ledger.active_placements(month=month, physician_id=pid) == tuple(
                    p for p in mine if p.month == month
                )
        for month in MONTHS:
            assert self.ledger.active_placements(month=month) == tuple(
                p for p in active if p.month == month
            )


# Examples and steps per example come from the loaded Hypothesis profile (tests/conftest.py:
# "dev" runs this machine in about 3 s, "ci" in about 30 s). One example is a whole run of steps,
# hence no deadline. Every failure here is one bug, "the ledger disagrees with the oracle":
# shrinking a single failure instead of each distinct one cuts a failing run from minutes to
# under one.
LedgerMachine.TestCase.settings = settings(deadline=None, report_multiple_bugs=False)
TestLedgerMachine = LedgerMachine.TestCase
