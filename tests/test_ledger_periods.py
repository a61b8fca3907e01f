"""Capacity periods (issue 12, point 7): a GP declares a capacity per month or per calendar
year (Québec: 150 new patients a year), and the ledger enforces both.

Unit tests pin each rule; a Hypothesis test replays random monthly and yearly declarations,
placements and releases against a naive oracle; then the register, both stores, the engine and
the command line.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mt_access
from cli_support import new_register
from cli_support import run as _run
from factories import ON, doc, req
from mt_access import CapacityLedger, Modality, Month, match
from mt_access.bounds import MAX_MONTHLY_CAPACITY, MAX_YEARLY_CAPACITY
from mt_access.cli import EXIT_OK
from mt_access.errors import CapacityExceededError, LedgerError
from mt_access.ledger import (
    CapacityDeclared,
    LedgerEntry,
    PlacementRecorded,
    PlacementReleased,
)
from mt_access.register import Register
from mt_access.store import codec
from mt_access.store.memory import MemoryStore
from mt_access.store.sqlite import SQLiteStore

DAY = dt.date(2026, 1, 10)
NOV, DEC = Month(2025, 11), Month(2025, 12)
JAN, FEB, MAR = Month(2026, 1), Month(2026, 2), Month(2026, 3)


# --- entries and bounds


def test_yearly_declaration_is_for_january_and_bounded() -> None:
    entry = CapacityDeclared("p1", JAN, 150, DAY, period="year")
    assert entry.period == "year"
    assert CapacityDeclared("p1", JAN, 5, DAY).period == "month"
    assert MAX_YEARLY_CAPACITY == 12 * MAX_MONTHLY_CAPACITY
    CapacityDeclared("p1", JAN, MAX_YEARLY_CAPACITY, DAY, period="year")
    with pytest.raises(LedgerError, match="capacité annuelle déclarée invalide"):
        CapacityDeclared("p1", JAN, MAX_YEARLY_CAPACITY + 1, DAY, period="year")
    with pytest.raises(LedgerError, match="capacité déclarée invalide"):
        CapacityDeclared("p1", JAN, MAX_MONTHLY_CAPACITY + 1, DAY)
    with pytest.raises(LedgerError, match="année civile"):
        CapacityDeclared("p1", MAR, 150, DAY, period="year")
    with pytest.raises(LedgerError, match="période de capacité invalide"):
        CapacityDeclared("p1", JAN, 5, DAY, period="week")  # type: ignore[arg-type]


def test_declare_capacity_per_year_normalises_to_january() -> None:
    ledger = CapacityLedger()
    entry = ledger.declare_capacity("p1", MAR, 150, DAY, period="year")
    assert entry == CapacityDeclared("p1", JAN, 150, DAY, period="year")
    assert ledger.yearly_capacity("p1", 2026) == 150
    assert ledger.yearly_capacity("p1", 2030) == 150  # until a later yearly declaration
    assert ledger.yearly_capacity("p1", 2025) is None


# --- enforcement


def test_yearly_only_gp_has_no_monthly_cap_and_ignores_the_default() -> None:
    ledger = CapacityLedger()
    ledger.declare_capacity("p1", JAN, 3, DAY, period="year")
    assert ledger.monthly_cap("p1", FEB, default=1) is None
    assert ledger.remaining("p1", FEB, default=1) == 3
    ledger.place("p1", FEB, "r1", 2, DAY, default=1)  # beyond the default of 1 a month
    assert ledger.used_in_year("p1", 2026) == 2
    assert ledger.remaining("p1", MAR, default=1) == 1  # counted in the year, not the month
    with pytest.raises(CapacityExceededError):
        ledger.place("p1", MAR, "r2", 2, DAY, default=1)
    ledger.place("p1", MAR, "r2", 1, DAY, default=1)
    assert ledger.remaining("p1", MAR, default=1) == 0
    # Before the yearly declaration's year, the default monthly cap applies.
    assert ledger.monthly_cap("p1", DEC, default=1) == 1
    assert ledger.remaining("p1", DEC, default=1) == 1


def test_remaining_is_the_smaller_room() -> None:
    ledger = CapacityLedger()
    ledger.declare_capacity("p1", JAN, 2, DAY)
    ledger.declare_capacity("p1", JAN, 5, DAY, period="year")
    assert ledger.remaining("p1", JAN) == 2  # the month binds
    ledger.place("p1", JAN, "r1", 2, DAY)
    ledger.place("p1", FEB, "r2", 2, DAY)
    assert ledger.remaining("p1", MAR) == 1  # the year binds: 5 - 4
    ledger.release("p1", "r1", DAY)
    assert ledger.remaining("p1", MAR) == 2  # released in January: the year has room again
    assert ledger.used_in_year("p1", 2026) == 2


def test_placements_count_in_the_calendar_year_of_their_month() -> None:
    ledger = CapacityLedger()
    ledger.declare_capacity("p1", DEC, 2, DAY, period="year")  # for 2025 onwards
    ledger.place("p1", DEC, "r1", 2, DAY)
    assert ledger.remaining("p1", DEC) == 0
    assert ledger.remaining("p1", JAN) == 2  # a new year, nothing carried
    assert ledger.remaining("p1", JAN, carry_over=True) == 2


def test_yearly_declared_mid_year_covers_earlier_months() -> None:
    ledger = CapacityLedger()
    ledger.declare_capacity("p1", JAN, 10, DAY)
    ledger.place("p1", JAN, "r1", 8, DAY)
    ledger.declare_capacity("p1", MAR, 9, DAY, period="year")
    assert ledger.remaining("p1", MAR) == 1


def test_carry_over_stays_monthly_and_within_the_year() -> None:
    ledger = CapacityLedger()
    ledger.declare_capacity("p1", JAN, 3, DAY)
    assert ledger.remaining("p1", FEB, carry_over=True) == 6
    ledger.declare_capacity("p1", JAN, 4, DAY, period="year")
    assert ledger.remaining("p1", FEB, carry_over=True) == 4


def test_lowering_a_yearly_capacity_below_use_leaves_zero() -> None:
    ledger = CapacityLedger()
    ledger.declare_capacity("p1", JAN, 10, DAY, period="year")
    ledger.place("p1", JAN, "r1", 6, DAY)
    ledger.declare_capacity("p1", JAN, 4, DAY, period="year")
    assert ledger.remaining("p1", FEB) == 0
    assert ledger.active_placements(physician_id="p1")  # the placement stays


def test_copy_replay_and_trusted_rebuild_keep_yearly_state() -> None:
    ledger = CapacityLedger()
    ledger.declare_capacity("p1", JAN, 3, DAY, period="year")
    ledger.place("p1", FEB, "r1", 2, DAY)
    for twin in (
        ledger.copy(),
        CapacityLedger.from_entries(ledger.entries),
        CapacityLedger.from_trusted_entries(ledger.entries),
    ):
        assert twin == ledger
        assert twin.remaining("p1", MAR) == 1
        assert twin.used_in_year("p1", 2026) == 2
    bad = [*ledger.entries, PlacementRecorded("p1", MAR, "r2", 2, DAY)]
    with pytest.raises(CapacityExceededError):
        ledger.extend(bad[2:])
    assert ledger.remaining("p1", MAR) == 1  # the failed batch left the yearly count alone


# --- Hypothesis: random monthly and yearly declarations (and lifts of either cap, the way
# back from one period to the other) against a naive oracle

PIDS = ("p1", "p2")
MONTHS = (NOV, DEC, JAN, FEB)  # across two calendar years
REQS = ("r1", "r2", "r3", "r4", "r5")
DEFAULTS = {"p1": 1, "p2": 0}

_ops = st.lists(
    st.one_of(
        st.tuples(
            st.just("month"),
            st.sampled_from(PIDS),
            st.sampled_from(MONTHS),
            st.one_of(st.none(), st.integers(0, 4)),  # None: the monthly cap lifted
        ),
        st.tuples(
            st.just("year"),
            st.sampled_from(PIDS),
            st.sampled_from(MONTHS),
            st.one_of(st.none(), st.integers(0, 6)),  # None: the yearly cap lifted
        ),
        st.tuples(
            st.just("place"),
            st.sampled_from(PIDS),
            st.sampled_from(MONTHS),
            st.sampled_from(REQS),
            st.integers(1, 3),
            st.booleans(),
        ),
        st.tuples(st.just("release"), st.sampled_from(PIDS), st.sampled_from(REQS)),
    ),
    max_size=40,
)


@attrs.define
class _Oracle:
    monthly: list[tuple[str, Month, int | None]] = attrs.field(factory=list)
    yearly: list[tuple[str, int, int | None]] = attrs.field(factory=list)
    active: dict[tuple[str, str], PlacementRecorded] = attrs.field(factory=dict)

    def yearly_cap(self, pid: str, year: int) -> int | None:
        found = [(y, i, c) for i, (p, y, c) in enumerate(self.yearly) if p == pid and y <= year]
        return max(found)[2] if found else None

    def monthly_cap(self, pid: str, month: Month) -> int | None:
        key = (month.year, month.month)
        found = [
            ((m.year, m.month), i, c)
            for i, (p, m, c) in enumerate(self.monthly)
            if p == pid and (m.year, m.month) <= key
        ]
        if found and max(found)[2] is not None:  # a lift: as if nothing was declared
            return max(found)[2]
        if self.yearly_cap(pid, month.year) is not None:
            return None
        return DEFAULTS[pid]

    def used(self, pid: str, month: Month) -> int:
        return sum(
            e.persons for e in self.active.values() if (e.physician_id, e.month) == (pid, month)
        )

    def used_year(self, pid: str, year: int) -> int:
        return sum(
            e.persons
            for e in self.active.values()
            if e.physician_id == pid and e.month.year == year
        )

    def remaining(self, pid: str, month: Month, carry_over: bool) -> int:
        rooms = []
        cap = self.monthly_cap(pid, month)
        if cap is not None:
            carried = 0
            before = self.monthly_cap(pid, month.previous())
            if carry_over and before is not None:
                carried = max(0, before - self.used(pid, month.previous()))
            rooms.append(cap + carried - self.used(pid, month))
        yearly = self.yearly_cap(pid, month.year)
        if yearly is not None:
            rooms.append(yearly - self.used_year(pid, month.year))
        return max(0, min(rooms))


@settings(deadline=None)
@given(ops=_ops)
def test_random_monthly_and_yearly_declarations_never_overfill(ops: list[tuple]) -> None:  # type: ignore[type-arg]
    ledger = CapacityLedger()
    oracle = _Oracle()
    for op in ops:
        if op[0] == "month":
            _, pid, month, capacity = op
            ledger.declare_capacity(pid, month, capacity, DAY)
            oracle.monthly.append((pid, month, capacity))
        elif op[0] == "year":
            _, pid, month, capacity = op
            ledger.declare_capacity(pid, month, capacity, DAY, period="year")
            oracle.yearly.append((pid, month.year, capacity))
        elif op[0] == "place":
            _, pid, month, rid, persons, carry = op
            room = oracle.remaining(pid, month, carry)
            default = DEFAULTS[pid]
            if (pid, rid) in oracle.active:
                with pytest.raises(LedgerError):
                    ledger.place(pid, month, rid, persons, DAY, default=default, carry_over=carry)
            elif persons > room:
                with pytest.raises(CapacityExceededError):
                    ledger.place(pid, month, rid, persons, DAY, default=default, carry_over=carry)
            else:
                entry = ledger.place(
                    pid, month, rid, persons, DAY, default=default, carry_over=carry
                )
                oracle.active[pid, rid] = entry
                # Right after an accepted placement, neither cap is exceeded.
                cap = oracle.monthly_cap(pid, month)
                if cap is not None and not carry:
                    assert ledger.used(pid, month) <= cap
                yearly = oracle.yearly_cap(pid, month.year)
                if yearly is not None:
                    assert ledger.used_in_year(pid, month.year) <= yearly
        else:
            _, pid, rid = op
            if (pid, rid) in oracle.active:
                ledger.release(pid, rid, DAY)
                del oracle.active[pid, rid]
            else:
                with pytest.raises(LedgerError):
                    ledger.release(pid, rid, DAY)
        for pid in PIDS:
            for month in MONTHS:
                for carry in (False, True):
                    expected = oracle.remaining(pid, month, carry)
                    got = ledger.remaining(pid, month, default=DEFAULTS[pid], carry_over=carry)
                    assert got == expected, (pid, month, carry)
                assert ledger.monthly_cap(pid, month, default=DEFAULTS[pid]) == (
                    oracle.monthly_cap(pid, month)
                )
                assert ledger.used_in_year(pid, month.year) == oracle.used_year(pid, month.year)
    replayed = CapacityLedger.from_entries(
        ledger.entries, default_capacity=DEFAULTS, carry_over=True
    )
    assert replayed == ledger


# --- storage: both stores keep the period (no schema change)


@pytest.mark.parametrize("backend", ["memory", "sqlite"])
def test_stores_keep_yearly_declarations(backend: str, tmp_path: Path) -> None:
    store = MemoryStore() if backend == "memory" else SQLiteStore(tmp_path / "registre.sqlite")
    entries: list[LedgerEntry] = [
        CapacityDeclared("MG1", JAN, 150, DAY, "charte", period="year"),
        CapacityDeclared("MG1", FEB, 20, DAY),
        PlacementRecorded("MG1", FEB, "R1", 2, DAY),
        PlacementReleased("MG1", "R1", DAY, "refus"),
    ]
    with store.transaction():
        store.append_ledger(entries)
    assert store.ledger_entries() == entries
    store.close()


def test_codec_writes_the_year_alone_for_a_yearly_declaration() -> None:
    row = codec.ledger_row(CapacityDeclared("MG1", JAN, 150, DAY, period="year"))
    assert row[3] == "2026"
    assert codec.ledger_row(CapacityDeclared("MG1", JAN, 15, DAY))[3] == "2026-01"


# --- register, engine, command line


def test_register_declares_and_reopens_a_yearly_capacity(
    voironnais: mt_access.Policy, tmp_path: Path
) -> None:
    path = tmp_path / "registre.sqlite"
    with SQLiteStore(path) as store:
        register = Register(store, voironnais)
        register.add_physician(doc("MG1", capacity=None))
        joined = register.join(
            "MG1", dt.date(2026, 3, 1), monthly_capacity=150, modalities=[Modality.OFFICE],
            period="year",
        )  # fmt: skip
        assert joined.monthly_capacity is None
        assert register.ledger.yearly_capacity("MG1", 2026) == 150
        assert register.ledger.monthly_cap("MG1", MAR, default=4) is None
        declared = register.change_capacity(
            "MG1", dt.date(2026, 3, 2), 120, month=Month(2027, 5), period="year"
        )
        assert declared.month == Month(2027, 1)
        with pytest.raises(mt_access.RegisterError, match="année 2025"):
            register.change_capacity(
                "MG1", dt.date(2026, 3, 2), 10, month=Month(2025, 5), period="year"
            )
    with SQLiteStore(path) as store:
        ledger = Register(store, voironnais).ledger
        assert ledger.yearly_capacity("MG1", 2026) == 150
        assert ledger.yearly_capacity("MG1", 2027) == 120


def test_engine_never_places_beyond_a_yearly_cap(voironnais: mt_access.Policy) -> None:
    month = Month.of(ON)
    ledger = CapacityLedger()
    ledger.declare_capacity("G1", month, 5, dt.date(2026, 1, 2), period="year")
    ledger.place("G1", Month(2026, 1), "earlier", 3, dt.date(2026, 1, 20), default=10)
    requests = [req(f"R{i}") for i in range(6)]
    # The physician's own monthly capacity (10) is the policy default: a yearly-only GP has
    # no monthly cap, so only the 2 places left in the year count.
    result = match(requests, [doc("G1", capacity=10)], voironnais, ledger, ON)
    assert len(result.placements) == 2
    ledger.extend(result.ledger_entries, default_capacity={"G1": 10})
    assert ledger.used_in_year("G1", 2026) == 5
    again = match([req("R9")], [doc("G1", capacity=10)], voironnais, ledger, ON)
    assert not again.placements
    # Without the yearly cap, the 10 monthly places would have been used.
    free = match(requests, [doc("G1", capacity=10)], voironnais, CapacityLedger(), ON)
    assert len(free.placements) == 6


def test_cli_par_an(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = new_register(tmp_path, monkeypatch, "voironnais")
    assert _run("medecin", "ajouter", "MG1", "--nom", "Dr Un", "--commune", "Voiron")[0] == 0
    code, out, err = _run(
        "medecin", "adherer", "MG1", "--capacite", "150", "--par-an", "--date", "01/03/2026"
    )
    assert code == EXIT_OK, err
    assert "150 nouveau(x) patient(s) par an" in out
    code, out, err = _run("medecin", "capacite", "MG1", "1500", "--date", "02/03/2026")
    assert code != EXIT_OK
    assert "par mois" in err
    assert "--par-an" in err
    code, out, err = _run(
        "medecin", "capacite", "MG1", "1500", "--par-an", "--mois", "2027-01",
        "--date", "02/03/2026",
    )  # fmt: skip
    assert code == EXIT_OK, err
    assert "capacité de 1500 par an à partir de l'année 2027" in out
    with SQLiteStore(path) as store:
        declared = [e for e in store.ledger_entries() if isinstance(e, CapacityDeclared)]
    assert [(e.period, e.month, e.capacity) for e in declared] == [
        ("year", JAN, 150),
        ("year", Month(2027, 1), 1500),
    ]


def test_medecin_liste_shows_places_left_in_the_year(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    new_register(tmp_path, monkeypatch, "voironnais")
    assert _run("medecin", "ajouter", "MG1", "--nom", "Dr Un", "--commune", "Voiron")[0] == 0
    assert _run("medecin", "adherer", "MG1", "--capacite", "30", "--par-an",
                "--date", "01/03/2026")[0] == EXIT_OK  # fmt: skip
    code, out, err = _run("medecin", "liste", "--date", "10/03/2026")
    assert code == EXIT_OK, err
    line = next(row for row in out.splitlines() if row.startswith("MG1"))
    assert "30 par an (reste 30 en 2026)" in line
    assert line.split()[-2:] == ["0", "30"]  # taken, left
