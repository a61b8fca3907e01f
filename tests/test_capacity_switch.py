"""Yearly capacities shown where capacity is shown, and the way back from one period to the
other (issue 12, point 7): lifting a monthly or a yearly cap in the ledger, the register and
``mt-access medecin capacite``; a yearly capacity on the map, in the indicators, the follow-up
workbook, ``medecin liste`` and the GP follow-up.
"""

from __future__ import annotations

import datetime as dt
from fractions import Fraction
from pathlib import Path

import pytest
from openpyxl import load_workbook

import mt_access
from cli_support import new_register
from cli_support import run as _run
from factories import doc, req
from mt_access import CapacityLedger, Modality, Month, match
from mt_access.capacity_view import CapacityInForce, capacity_in_force, places_number
from mt_access.cli import EXIT_OK
from mt_access.errors import CapacityExceededError, RegisterOperationError
from mt_access.gp_register import gp_follow_up
from mt_access.indicators import Period, compute_indicators
from mt_access.ledger import CapacityDeclared, LedgerEntry, PlacementRecorded
from mt_access.maps import build_availability_map
from mt_access.register import Register
from mt_access.store import codec
from mt_access.store.memory import MemoryStore
from mt_access.store.sqlite import SQLiteStore

DAY = dt.date(2026, 1, 5)
JAN, FEB, MAR, APR, MAY = (Month(2026, m) for m in range(1, 6))


# --- the ledger: lifting a cap


def test_lifting_the_monthly_cap_leaves_the_yearly_one() -> None:
    ledger = CapacityLedger()
    ledger.declare_capacity("p1", JAN, 2, DAY)
    ledger.declare_capacity("p1", JAN, 10, DAY, period="year")
    ledger.place("p1", FEB, "r1", 2, DAY)
    assert ledger.remaining("p1", FEB) == 0  # the monthly cap binds
    ledger.declare_capacity("p1", MAR, None, DAY)  # from March: yearly only
    assert ledger.monthly_cap("p1", FEB, default=5) == 2  # earlier months unchanged
    assert ledger.monthly_cap("p1", MAR, default=5) is None
    assert ledger.capacity("p1", MAR, default=5) == 5  # no monthly declaration in force
    assert ledger.remaining("p1", MAR, default=5) == 8
    ledger.place("p1", MAR, "r2", 8, DAY, default=5)  # beyond the former 2 a month
    with pytest.raises(CapacityExceededError):
        ledger.place("p1", APR, "r3", 1, DAY, default=5)  # the year is full


def test_lifting_the_yearly_cap_returns_to_monthly_only() -> None:
    ledger = CapacityLedger()
    ledger.declare_capacity("p1", JAN, 3, DAY, period="year")
    ledger.place("p1", JAN, "r1", 3, DAY, default=9)
    assert ledger.remaining("p1", APR, default=9) == 0  # the year is full
    ledger.declare_capacity("p1", APR, 2, DAY)
    ledger.declare_capacity("p1", APR, None, DAY, period="year")  # the whole of 2026
    assert ledger.yearly_capacity("p1", 2026) is None
    assert ledger.yearly_capacity("p1", 2027) is None
    assert ledger.remaining("p1", APR, default=9) == 2
    ledger.place("p1", APR, "r2", 2, DAY, default=9)
    with pytest.raises(CapacityExceededError):
        ledger.place("p1", APR, "r3", 1, DAY, default=9)
    # Before April, no monthly declaration and no yearly cap: the default applies.
    assert ledger.monthly_cap("p1", MAR, default=9) == 9
    # A later yearly declaration puts a yearly cap back.
    ledger.declare_capacity("p1", Month(2027, 1), 20, DAY, period="year")
    assert ledger.yearly_capacity("p1", 2027) == 20
    assert ledger.monthly_cap("p1", Month(2027, 3), default=9) == 2


def test_with_both_caps_lifted_the_default_applies() -> None:
    ledger = CapacityLedger()
    ledger.declare_capacity("p1", JAN, 50, DAY, period="year")
    ledger.declare_capacity("p1", JAN, None, DAY)
    ledger.declare_capacity("p1", JAN, None, DAY, period="year")
    assert ledger.monthly_cap("p1", FEB, default=1) == 1
    assert ledger.remaining("p1", FEB, default=1) == 1  # never unlimited


def test_lifts_replay_copy_and_trusted_rebuild() -> None:
    ledger = CapacityLedger()
    ledger.declare_capacity("p1", JAN, 4, DAY)
    ledger.declare_capacity("p1", JAN, 10, DAY, period="year")
    ledger.declare_capacity("p1", FEB, None, DAY)
    ledger.place("p1", FEB, "r1", 6, DAY)
    for twin in (
        ledger.copy(),
        CapacityLedger.from_entries(ledger.entries),
        CapacityLedger.from_trusted_entries(ledger.entries),
    ):
        assert twin == ledger
        assert twin.monthly_cap("p1", MAR) is None
        assert twin.remaining("p1", MAR) == 4


@pytest.mark.parametrize("backend", ["memory", "sqlite"])
def test_stores_keep_lifts(backend: str, tmp_path: Path) -> None:
    path = tmp_path / "registre.sqlite"
    store = MemoryStore() if backend == "memory" else SQLiteStore(path)
    entries: list[LedgerEntry] = [
        CapacityDeclared("MG1", JAN, 2, DAY),
        CapacityDeclared("MG1", JAN, 150, DAY, period="year"),
        CapacityDeclared("MG1", MAR, None, DAY, "passe à l'année"),
        CapacityDeclared("MG1", JAN, None, DAY, period="year"),
        PlacementRecorded("MG1", FEB, "R1", 1, DAY),
    ]
    with store.transaction():
        store.append_ledger(entries)
    assert store.ledger_entries() == entries
    store.close()
    if backend == "sqlite":
        with SQLiteStore(path) as again:
            assert again.ledger_entries() == entries
    assert codec.ledger_row(entries[2])[4] is None


# --- the register


def _joined(voironnais: mt_access.Policy, *, capacity: int, period: str = "month") -> Register:
    register = Register(MemoryStore(), voironnais)
    register.add_physician(doc("MG1", capacity=None))
    register.join(
        "MG1",
        dt.date(2026, 1, 2),
        monthly_capacity=capacity,
        modalities=[Modality.OFFICE],
        period="year" if period == "year" else "month",
    )
    return register


def test_register_switches_monthly_to_yearly_and_back(voironnais: mt_access.Policy) -> None:
    register = _joined(voironnais, capacity=2)
    on = dt.date(2026, 3, 1)
    register.change_capacity("MG1", on, 30, period="year", lift_other=True)
    ledger = register.ledger
    assert ledger.monthly_cap("MG1", MAR) is None
    assert ledger.monthly_cap("MG1", FEB) == 2  # past months kept
    assert ledger.yearly_capacity("MG1", 2026) == 30
    register.change_capacity("MG1", dt.date(2026, 5, 1), 4, lift_other=True)
    ledger = register.ledger
    assert ledger.yearly_capacity("MG1", 2026) is None
    assert ledger.monthly_cap("MG1", MAY) == 4
    # lift_other with nothing to lift is fine: a plain declaration
    register.change_capacity("MG1", dt.date(2026, 5, 2), 5, lift_other=True)
    assert register.ledger.monthly_cap("MG1", MAY) == 5


def test_register_refuses_a_lift_without_a_cap_to_lift(voironnais: mt_access.Policy) -> None:
    register = _joined(voironnais, capacity=2)
    on = dt.date(2026, 3, 1)
    with pytest.raises(RegisterOperationError, match="pas de capacité annuelle en 2026"):
        register.change_capacity("MG1", on, None)  # the monthly cap, no yearly one
    with pytest.raises(RegisterOperationError, match="pas de plafond annuel en 2026"):
        register.change_capacity("MG1", on, None, period="year")
    yearly = _joined(voironnais, capacity=40, period="year")
    with pytest.raises(RegisterOperationError, match="pas de plafond mensuel en 2026-03"):
        yearly.change_capacity("MG1", on, None)
    assert len(register.ledger.entries) == 1
    assert len(yearly.ledger.entries) == 1


# --- what people see


def test_capacity_in_force_labels_and_month_share() -> None:
    yearly = CapacityInForce(MAR, None, 150, used_in_year=113)
    assert yearly.label() == "150 par an (reste 37 en 2026)"
    assert yearly.month_share() == Fraction(25, 2)
    both = CapacityInForce(MAR, 10, 60, used_in_year=70)
    assert both.label() == "10 par mois et 60 par an (reste 0 en 2026)"
    assert both.month_share() == 5
    assert CapacityInForce(MAR, 3, None).label() == "3 par mois"
    assert CapacityInForce(MAR, 3, 120).month_share() == 3
    assert places_number(Fraction(25, 2)) == 12.5
    assert places_number(Fraction(150)) == 150


def _yearly_ledger() -> CapacityLedger:
    ledger = CapacityLedger()
    ledger.declare_capacity("MG1", JAN, 150, DAY, period="year")
    for i in range(113):
        ledger.place("MG1", JAN if i < 110 else MAR, f"old{i}", 1, DAY)
    return ledger


def test_map_shows_the_yearly_capacity(voironnais: mt_access.Policy) -> None:
    ledger = _yearly_ledger()
    on = dt.date(2026, 3, 15)
    amap = build_availability_map(voironnais, [doc("MG1", capacity=None)], ledger, [], on)
    (gp,) = amap.physicians
    assert gp.capacity_label == "150 par an (reste 37 en 2026)"
    assert (gp.yearly_capacity, gp.year_left) == (150, 37)
    assert (gp.used, gp.remaining, gp.capacity) == (3, 37, 40)
    page = amap.html(tiles=None)
    assert "150 par an (reste 37 en 2026)" in page
    assert amap.to_frame("physicians")["yearly_capacity"].tolist() == [150]


def test_indicators_count_a_twelfth_of_a_yearly_capacity(voironnais: mt_access.Policy) -> None:
    ledger = _yearly_ledger()
    gps = [doc("MG1", capacity=None), doc("MG2", capacity=4)]
    march = compute_indicators([], {}, MAR, policy=voironnais, physicians=gps, ledger=ledger)
    mg1 = march.physicians.row("MG1")
    assert mg1["capacité déclarée"] == 12.5  # not 0 (no monthly cap), not unlimited
    assert mg1["capacité annuelle"] == 150
    assert mg1["places retenues"] == 3
    assert mg1["taux d'utilisation"] == pytest.approx(3 / 12.5)
    assert march.capacity == 16.5  # 12.5 + MG2's 4
    assert "16,5 place(s) déclarée(s) sur la période" in march.summary()
    year = Period(dt.date(2026, 1, 1), dt.date(2026, 12, 31))
    whole = compute_indicators([], {}, year, policy=voironnais, physicians=gps, ledger=ledger)
    assert whole.physicians.row("MG1")["capacité déclarée"] == 150  # twelve twelfths
    assert whole.physicians.row("MG1")["taux d'utilisation"] == pytest.approx(113 / 150)


def test_workbook_gp_sheet_shows_the_yearly_capacity(
    voironnais: mt_access.Policy, tmp_path: Path
) -> None:
    register = _joined(voironnais, capacity=150, period="year")
    path = mt_access.write_follow_up_workbook(register, tmp_path / "suivi.xlsx", MAR)
    sheet = load_workbook(path)["Médecins"]
    rows = list(sheet.iter_rows(values_only=True))
    header, mg1 = rows[0], next(r for r in rows if r[0] == "MG1")
    row = dict(zip(header, mg1, strict=True))
    assert row["capacité déclarée"] == 12.5
    assert row["capacité annuelle"] == 150


def test_gp_follow_up_after_a_switch(voironnais: mt_access.Policy) -> None:
    register = _joined(voironnais, capacity=2)
    register.change_capacity("MG1", dt.date(2026, 3, 1), 30, period="year", lift_other=True)
    rows = {r.month: r for r in register.gp_follow_up([FEB, MAR])}
    assert (rows[FEB].declared_capacity, rows[FEB].yearly_capacity) == (2, 30)
    assert (rows[MAR].declared_capacity, rows[MAR].yearly_capacity) == (None, 30)
    assert rows[MAR].placed_in_year == 0
    plain = gp_follow_up([], CapacityLedger(), [doc("MG9", capacity=3)], [MAR])
    assert (plain[0].declared_capacity, plain[0].yearly_capacity) == (3, None)


def test_capacity_in_force_reads_the_ledger() -> None:
    caps = capacity_in_force(_yearly_ledger(), "MG1", MAR, default=4)
    assert caps == CapacityInForce(MAR, None, 150, 113)


def test_engine_after_switching_back_to_monthly(voironnais: mt_access.Policy) -> None:
    ledger = CapacityLedger()
    ledger.declare_capacity("G1", JAN, 3, DAY, period="year")
    ledger.place("G1", JAN, "earlier", 3, DAY, default=10)
    on = dt.date(2026, 3, 15)
    requests = [req(f"R{i}") for i in range(6)]
    assert not match(requests, [doc("G1", capacity=10)], voironnais, ledger, on).placements
    ledger.declare_capacity("G1", MAR, 2, on)
    ledger.declare_capacity("G1", MAR, None, on, period="year")
    result = match(requests, [doc("G1", capacity=10)], voironnais, ledger, on)
    assert len(result.placements) == 2  # the new monthly cap, the yearly one gone


# --- the command line


def _liste(date: str) -> str:
    code, out, err = _run("medecin", "liste", "--date", date)
    assert code == EXIT_OK, err
    return next(row for row in out.splitlines() if row.startswith("MG1"))


def test_cli_way_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = new_register(tmp_path, monkeypatch, "voironnais")
    assert _run("medecin", "ajouter", "MG1", "--nom", "Dr Un", "--commune", "Voiron")[0] == 0
    assert _run("medecin", "adherer", "MG1", "--capacite", "10",
                "--date", "01/03/2026")[0] == EXIT_OK  # fmt: skip
    # A yearly capacity alone keeps the monthly cap, and says how to lift it.
    code, out, err = _run("medecin", "capacite", "MG1", "150", "--par-an", "--date", "02/03/2026")
    assert code == EXIT_OK, err
    assert "10 par mois et 150 par an (reste 150 en 2026)" in out
    assert "--sans-plafond-mensuel" in out
    # Lift the monthly cap from April: yearly only.
    code, out, err = _run(
        "medecin", "capacite", "MG1", "--sans-plafond-mensuel", "--mois", "2026-04",
        "--date", "02/03/2026",
    )  # fmt: skip
    assert code == EXIT_OK, err
    assert "plafond mensuel levé à partir de avril 2026" in out
    assert "Capacité en vigueur en avril 2026 : 150 par an (reste 150 en 2026)." in out
    assert "150 par an (reste 150 en 2026)" in _liste("10/04/2026")
    assert _liste("10/04/2026").split()[-2:] == ["0", "150"]
    # Back to monthly only, from May.
    code, out, err = _run(
        "medecin", "capacite", "MG1", "8", "--sans-plafond-annuel", "--date", "02/05/2026"
    )
    assert code == EXIT_OK, err
    assert "Capacité en vigueur en mai 2026 : 8 par mois." in out
    assert _liste("10/05/2026").split()[-3:] == ["8", "0", "8"]
    # And to yearly only again, in one command.
    code, out, err = _run(
        "medecin", "capacite", "MG1", "100", "--par-an", "--sans-plafond-mensuel",
        "--date", "03/05/2026",
    )  # fmt: skip
    assert code == EXIT_OK, err
    assert "Capacité en vigueur en mai 2026 : 100 par an (reste 100 en 2026)." in out
    with SQLiteStore(path) as store:
        declared = [e for e in store.ledger_entries() if isinstance(e, CapacityDeclared)]
    assert [(e.period, str(e.month), e.capacity) for e in declared] == [
        ("month", "2026-03", 10),
        ("year", "2026-01", 150),
        ("month", "2026-04", None),
        ("month", "2026-05", 8),
        ("year", "2026-01", None),
        ("year", "2026-01", 100),
        ("month", "2026-05", None),
    ]


def test_cli_refuses_contradictions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = new_register(tmp_path, monkeypatch, "voironnais")
    assert _run("medecin", "ajouter", "MG1", "--nom", "Dr Un", "--commune", "Voiron")[0] == 0
    assert _run("medecin", "adherer", "MG1", "--capacite", "10",
                "--date", "01/03/2026")[0] == EXIT_OK  # fmt: skip
    cases = [
        (("MG1",), "indiquez une capacité"),
        (("MG1", "--sans-plafond-mensuel", "--sans-plafond-annuel"), "un seul plafond"),
        (("MG1", "--par-an"), "indiquez la capacité annuelle"),
        (("MG1", "5", "--sans-plafond-mensuel"), "son propre plafond"),
        (("MG1", "150", "--par-an", "--sans-plafond-annuel"), "son propre plafond"),
        (("MG1", "--sans-plafond-mensuel"), "pas de capacité annuelle en 2026"),
        (("MG1", "--sans-plafond-annuel"), "pas de plafond annuel en 2026"),
    ]
    for extra, message in cases:
        code, _out, err = _run("medecin", "capacite", *extra, "--date", "02/03/2026")
        assert code != EXIT_OK, extra
        assert message in err, (extra, err)
    with SQLiteStore(path) as store:
        assert len(store.ledger_entries()) == 1  # nothing recorded


def test_month_capacity_of_a_yearly_gp(voironnais: mt_access.Policy) -> None:
    from mt_access.cli.registry import month_capacity

    register = _joined(voironnais, capacity=30, period="year")
    physician = register.physician("MG1")
    assert month_capacity(register, MAR)(physician) == 30  # not the policy's default
    register.change_capacity("MG1", dt.date(2026, 3, 1), 4)
    assert month_capacity(register, MAR)(physician) == 4
