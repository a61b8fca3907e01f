"""Adding a ledger's later entries to it (``CapacityLedger.extend_trusted``, what a register
does when another client committed) gives the same ledger as rebuilding it from all its entries
(``from_trusted_entries``): same entries and same indexes, so the same answers for every
capacity, use and placement query. Generated data only."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mt_access.calendar import Month
from mt_access.errors import LedgerError
from mt_access.ledger import (
    CapacityDeclared,
    CapacityLedger,
    LedgerEntry,
    PlacementRecorded,
    PlacementReleased,
)

_GPS = ("p1", "p2", "p3")
_REQUESTS = ("r1", "r2", "r3", "r4")
_MONTHS = [Month(2026, m) for m in range(1, 13)] + [Month(2027, 1), Month(2027, 2)]
_DAY = dt.date(2026, 1, 5)

_monthly = st.builds(
    CapacityDeclared,
    st.sampled_from(_GPS),
    st.sampled_from(_MONTHS),
    st.none() | st.integers(0, 12),
    st.just(_DAY),
)
_yearly = st.builds(
    CapacityDeclared,
    st.sampled_from(_GPS),
    st.sampled_from([Month(2026, 1), Month(2027, 1)]),
    st.none() | st.integers(0, 40),
    st.just(_DAY),
    period=st.just("year"),
)
_declared = _monthly | _yearly
_placed = st.builds(
    PlacementRecorded,
    st.sampled_from(_GPS),
    st.sampled_from(_MONTHS),
    st.sampled_from(_REQUESTS),
    st.integers(1, 4),
    st.just(_DAY),
)
_released = st.builds(
    PlacementReleased, st.sampled_from(_GPS), st.sampled_from(_REQUESTS), st.just(_DAY)
)


@st.composite
def histories(draw: st.DrawFn) -> list[LedgerEntry]:
    """A ledger's history as a register stores it: declarations (monthly, yearly, lifted),
    placements of a request with a GP it has no active placement with, releases of active
    placements (capacities are not checked again on reading, so any numbers go)."""
    entries: list[LedgerEntry] = []
    active: set[tuple[str, str]] = set()
    for candidate in draw(st.lists(_declared | _placed | _released, max_size=60)):
        if isinstance(candidate, CapacityDeclared):
            entries.append(candidate)
            continue
        pair = (candidate.physician_id, candidate.request_id)
        if isinstance(candidate, PlacementRecorded) and pair not in active:
            active.add(pair)
            entries.append(candidate)
        elif isinstance(candidate, PlacementReleased) and pair in active:
            active.discard(pair)
            entries.append(candidate)
    return entries


def _state(ledger: CapacityLedger) -> dict[str, object]:
    """Everything a ledger holds: its entries, every index, and the queries' answers."""
    state: dict[str, object] = {
        name: getattr(ledger, name)
        for name in (
            "_entries",
            "_declared",
            "_declared_months",
            "_yearly",
            "_yearly_years",
            "_used",
            "_used_year",
            "_active",
            "_by_request",
            "_by_slot",
        )
    }
    state["entries"] = ledger.entries
    for gp in _GPS:
        for month in _MONTHS:
            for carry_over in (False, True):
                state[f"remaining {gp} {month} {carry_over}"] = ledger.remaining(
                    gp, month, default=3, carry_over=carry_over
                )
            state[f"cap {gp} {month}"] = ledger.monthly_cap(gp, month, default=3)
            state[f"placed {gp} {month}"] = ledger.active_placements(physician_id=gp, month=month)
    for rid in _REQUESTS:
        state[f"of {rid}"] = ledger.placement_of(rid)
    return state


@given(history=histories(), data=st.data())
def test_adding_later_entries_is_rebuilding(
    history: list[LedgerEntry], data: st.DataObject
) -> None:
    cuts = sorted(data.draw(st.lists(st.integers(0, len(history)), max_size=4), label="cuts"))
    ledger = CapacityLedger.from_trusted_entries(history[: cuts[0]] if cuts else history)
    bounds = [*cuts, len(history)]
    for start, end in itertools.pairwise(bounds):
        ledger.extend_trusted(history[start:end])
        ledger.entries  # a cached view taken between two reads, as a register does  # noqa: B018
    rebuilt = CapacityLedger.from_trusted_entries(history)
    assert ledger == rebuilt
    assert _state(ledger) == _state(rebuilt)


@given(history=histories(), data=st.data())
def test_a_copy_extended_leaves_the_original(
    history: list[LedgerEntry], data: st.DataObject
) -> None:
    cut = data.draw(st.integers(0, len(history)), label="cut")
    original = CapacityLedger.from_trusted_entries(history[:cut])
    before = _state(original)
    extended = original.copy()
    extended.extend_trusted(history[cut:])
    assert _state(original) == before
    assert _state(extended) == _state(CapacityLedger.from_trusted_entries(history))


@given(history=histories(), data=st.data())
def test_a_copy_outlives_changes_to_its_original_and_to_its_own_copies(
    history: list[LedgerEntry], data: st.DataObject
) -> None:
    # a copy shares the per-GP and per-slot containers until one side changes its own (copy
    # on write): the web server's shared ledger advances after lending copies to its pages
    cut = data.draw(st.integers(0, len(history)), label="cut")
    original = CapacityLedger.from_trusted_entries(history[:cut])
    twin = original.copy()
    before = _state(twin)
    original.extend_trusted(history[cut:])
    assert _state(twin) == before
    third = twin.copy()
    third.extend_trusted(history[cut:])
    assert _state(twin) == before
    twin.extend_trusted(history[cut:])
    whole = _state(CapacityLedger.from_trusted_entries(history))
    assert _state(original) == _state(twin) == _state(third) == whole


def test_a_suffix_that_does_not_follow_is_refused_with_its_position() -> None:
    ledger = CapacityLedger.from_trusted_entries(
        [PlacementRecorded("p1", _MONTHS[0], "r1", 1, _DAY)]
    )
    with pytest.raises(LedgerError, match=r"entrée 2 : second placement actif du dossier r1"):
        ledger.extend_trusted([PlacementRecorded("p1", _MONTHS[1], "r1", 1, _DAY)])
    with pytest.raises(LedgerError, match=r"entrée 2 : libération sans placement actif"):
        ledger.extend_trusted([PlacementReleased("p2", "r1", _DAY)])
