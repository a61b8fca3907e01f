"""The GP register: joining, capacity, suspension, resumption, withdrawal, follow-up."""

from __future__ import annotations

import datetime as dt

import pytest

from mt_access.calendar import Month
from mt_access.errors import MtAccessError
from mt_access.gp_register import (
    GPMonth,
    RegisterError,
    change_capacity,
    gp_follow_up,
    join,
    resume,
    suspend,
    withdraw,
)
from mt_access.ledger import CapacityDeclared, CapacityLedger
from mt_access.lifecycle import RequestFile
from mt_access.model import Modality, Physician, PhysicianStatus, StatusChange

D = dt.date
VOIRON = "38563"
VOREPPE = "38565"
JOIN_DAY = D(2026, 1, 5)


def candidate(pid: str = "dr-a") -> Physician:
    return Physician(id=pid, name="Dr Test", commune=VOIRON, accepting_new_patients=False)


def joined(pid: str = "dr-a", on: dt.date = JOIN_DAY) -> Physician:
    physician, _ = join(candidate(pid), on, monthly_capacity=3, modalities=[Modality.OFFICE])
    return physician


# --- join


def test_join_declares_the_charter() -> None:
    physician, entry = join(
        candidate(),
        D(2026, 1, 5),
        monthly_capacity=4,
        modalities=["office", Modality.HOME_VISITS],
        accepted_communes=[VOIRON, VOREPPE],
        comment="pas de VAD le mercredi",
    )
    assert physician.accepting_new_patients
    assert physician.monthly_capacity == 4
    assert physician.modalities == {Modality.OFFICE, Modality.HOME_VISITS}
    assert physician.accepted_communes == {VOIRON, VOREPPE}
    assert physician.status_history == (
        StatusChange(D(2026, 1, 5), PhysicianStatus.ACTIVE, note="pas de VAD le mercredi"),
    )
    assert entry == CapacityDeclared(
        "dr-a", Month(2026, 1), 4, D(2026, 1, 5), "pas de VAD le mercredi"
    )
    ledger = CapacityLedger()
    ledger.record(entry)
    assert ledger.capacity("dr-a", Month(2026, 2)) == 4


def test_join_errors() -> None:
    with pytest.raises(RegisterError, match="médecin dr-a : au moins une modalité"):
        join(candidate(), D(2026, 1, 5), monthly_capacity=3, modalities=[])
    with pytest.raises(RegisterError, match="modalité inconnue"):
        join(candidate(), D(2026, 1, 5), monthly_capacity=3, modalities=["teleconsultation"])
    with pytest.raises(RegisterError, match="capacité mensuelle invalide"):
        join(candidate(), D(2026, 1, 5), monthly_capacity=-1, modalities=["office"])
    with pytest.raises(RegisterError, match="capacité mensuelle invalide"):
        join(candidate(), D(2026, 1, 5), monthly_capacity=True, modalities=["office"])
    with pytest.raises(RegisterError, match="commune acceptée invalide"):
        join(
            candidate(),
            D(2026, 1, 5),
            monthly_capacity=3,
            modalities=["office"],
            accepted_communes=["Voiron"],
        )
    with pytest.raises(RegisterError, match="déjà inscrit"):
        join(joined(), D(2026, 2, 1), monthly_capacity=3, modalities=["office"])


def test_rejoin_after_withdrawal() -> None:
    gone = withdraw(joined(), D(2026, 3, 1))
    back, entry = join(gone, D(2026, 6, 1), monthly_capacity=1, modalities=["office"])
    assert back.status_on(D(2026, 4, 1)) is PhysicianStatus.WITHDRAWN
    assert back.status_on(D(2026, 6, 1)) is PhysicianStatus.ACTIVE
    assert len(back.status_history) == 3  # history kept
    assert entry.month == Month(2026, 6)


def test_errors_are_project_value_errors() -> None:
    with pytest.raises(MtAccessError):
        withdraw(withdraw(joined(), D(2026, 2, 1)), D(2026, 3, 1))
    with pytest.raises(ValueError, match="déjà retiré") as info:
        withdraw(withdraw(joined(), D(2026, 2, 1)), D(2026, 3, 1))
    assert isinstance(info.value, RegisterError)
    assert info.value.physician_id == "dr-a"


# --- change_capacity


def test_change_capacity_from_a_month() -> None:
    physician = joined()
    ledger = CapacityLedger()
    ledger.declare_capacity("dr-a", Month(2026, 1), 3, D(2026, 1, 5))
    ledger.record(change_capacity(physician, Month(2026, 3), 1, D(2026, 2, 10), "congé"))
    assert ledger.capacity("dr-a", Month(2026, 2)) == 3
    assert ledger.capacity("dr-a", Month(2026, 3)) == 1
    # the physician value is not changed: the ledger overrides it from March
    assert physician.monthly_capacity == 3


def test_change_capacity_errors() -> None:
    physician = joined()
    with pytest.raises(RegisterError, match="mois 2026-01 est antérieur"):
        change_capacity(physician, Month(2026, 1), 2, D(2026, 2, 10))
    with pytest.raises(RegisterError, match="capacité mensuelle invalide"):
        change_capacity(physician, Month(2026, 3), -2, D(2026, 2, 10))
    with pytest.raises(RegisterError, match="médecin dr-a : retiré du dispositif"):
        change_capacity(withdraw(physician, D(2026, 2, 1)), Month(2026, 3), 2, D(2026, 2, 10))
    # a suspended GP may prepare their capacity for when they come back
    suspended = suspend(physician, D(2026, 2, 1), D(2026, 2, 28))
    assert change_capacity(suspended, Month(2026, 3), 2, D(2026, 2, 10)).capacity == 2


# --- suspend / resume / withdraw: the engine sees the state on the date


def test_suspend_until_a_date() -> None:
    physician = suspend(joined(), D(2026, 2, 1), D(2026, 2, 28), "congé maternité")
    assert physician.is_available_on(D(2026, 1, 31))
    assert physician.status_on(D(2026, 2, 1)) is PhysicianStatus.SUSPENDED
    assert not physician.is_available_on(D(2026, 2, 28))
    assert physician.is_available_on(D(2026, 3, 1))


def test_suspend_without_end_then_resume() -> None:
    physician = suspend(joined(), D(2026, 2, 1), None)
    assert physician.status_on(D(2027, 1, 1)) is PhysicianStatus.SUSPENDED
    physician = resume(physician, D(2026, 2, 15), "reprise anticipée")
    assert not physician.is_available_on(D(2026, 2, 14))
    assert physician.is_available_on(D(2026, 2, 15))
    assert [c.status for c in physician.status_history] == [
        PhysicianStatus.ACTIVE,
        PhysicianStatus.SUSPENDED,
        PhysicianStatus.ACTIVE,
    ]


def test_extend_a_suspension() -> None:
    physician = suspend(joined(), D(2026, 2, 1), D(2026, 2, 28))
    physician = suspend(physician, D(2026, 2, 20), D(2026, 3, 31))
    assert not physician.is_available_on(D(2026, 3, 15))
    assert physician.is_available_on(D(2026, 4, 1))


def test_withdraw_at_any_time_without_reason() -> None:
    physician = withdraw(suspend(joined(), D(2026, 2, 1), D(2026, 5, 31)), D(2026, 3, 1))
    assert physician.status_on(D(2026, 2, 15)) is PhysicianStatus.SUSPENDED
    assert physician.status_on(D(2026, 3, 1)) is PhysicianStatus.WITHDRAWN
    assert physician.status_on(D(2026, 7, 1)) is PhysicianStatus.WITHDRAWN
    assert physician.is_available_on(D(2026, 1, 20))
    assert physician.status_history[-1].note == ""


def test_status_errors() -> None:
    physician = joined()
    with pytest.raises(RegisterError, match="précède son début"):
        suspend(physician, D(2026, 2, 10), D(2026, 2, 1))
    with pytest.raises(RegisterError, match="antérieure à la dernière modification"):
        suspend(physician, D(2025, 12, 1), D(2026, 2, 1))
    with pytest.raises(RegisterError, match="n'est pas suspendu"):
        resume(physician, D(2026, 2, 1))
    gone = withdraw(physician, D(2026, 2, 1))
    with pytest.raises(RegisterError, match=r"médecin dr-a : retiré du dispositif .* suspendu"):
        suspend(gone, D(2026, 3, 1), D(2026, 3, 31))
    with pytest.raises(RegisterError, match="nouvelle adhésion"):
        resume(gone, D(2026, 3, 1))
    with pytest.raises(RegisterError, match="déjà retiré"):
        withdraw(gone, D(2026, 3, 1))
    # resuming on the day a suspension starts would sort before it: refused
    suspended = suspend(physician, D(2026, 2, 1), None)
    with pytest.raises(RegisterError, match="datez la nouvelle modification du lendemain"):
        resume(suspended, D(2026, 2, 1))
    # after a suspension has ended, the GP is active: nothing to resume
    with pytest.raises(RegisterError, match="n'est pas suspendu"):
        resume(suspend(physician, D(2026, 2, 1), D(2026, 2, 5)), D(2026, 2, 6))
    with pytest.raises(RegisterError, match="date de suspension : date attendue"):
        suspend(physician, "2026-02-01", None)  # type: ignore[arg-type]


def test_same_day_changes_that_sort_last_are_allowed() -> None:
    physician = withdraw(joined(on=D(2026, 1, 5)), D(2026, 1, 5))
    assert physician.status_on(D(2026, 1, 5)) is PhysicianStatus.WITHDRAWN


def test_history_is_never_rewritten() -> None:
    first = joined()
    second = suspend(first, D(2026, 2, 1), D(2026, 2, 28))
    assert second.status_history[: len(first.status_history)] == first.status_history
    assert len(first.status_history) == 1  # the original value is unchanged


# --- follow-up


def _waiting(rid: str) -> RequestFile:
    return (
        RequestFile.receive(rid, D(2026, 1, 2))
        .acknowledge(D(2026, 1, 3))
        .confirm(D(2026, 1, 4))
        .to_waiting(D(2026, 1, 5))
    )


def test_gp_follow_up_counts_per_physician_and_month() -> None:
    a, b = joined("dr-a"), joined("dr-b")
    ledger = CapacityLedger()
    ledger.declare_capacity("dr-a", Month(2026, 1), 3, D(2026, 1, 5))
    ledger.declare_capacity("dr-a", Month(2026, 2), 1, D(2026, 1, 20))
    ledger.place("dr-a", Month(2026, 1), "r1", 2, D(2026, 1, 10))
    ledger.place("dr-b", Month(2026, 2), "r2", 1, D(2026, 2, 3), default=3)
    files = [
        # r1: proposed to A in January, accepted in January
        _waiting("r1").propose("dr-a", D(2026, 1, 10)).accept("dr-a", D(2026, 1, 20)),
        # r2: proposed to A and B in January; A refuses in January, B accepts in February
        _waiting("r2")
        .propose("dr-a", D(2026, 1, 11))
        .propose("dr-b", D(2026, 1, 11))
        .refuse("dr-a", D(2026, 1, 25))
        .accept("dr-b", D(2026, 2, 3)),
        # r3: proposed to B in February, refused in March (month not asked), and to an unknown GP
        _waiting("r3")
        .propose("dr-b", D(2026, 2, 10))
        .propose("dr-x", D(2026, 2, 10))
        .refuse("dr-b", D(2026, 3, 2)),
    ]
    rows = gp_follow_up(files, ledger, [b, a], [Month(2026, 2), Month(2026, 1), Month(2026, 2)])
    assert rows == [
        GPMonth(
            "dr-a",
            Month(2026, 1),
            3,
            proposed=2,
            accepted=1,
            refused=1,
            placed_persons=2,
            accepted_persons=1,
        ),
        GPMonth("dr-a", Month(2026, 2), 1, proposed=0, accepted=0, refused=0, placed_persons=0),
        # dr-b declared nothing in the ledger: the physician's monthly capacity applies
        GPMonth("dr-b", Month(2026, 1), 3, proposed=1, accepted=0, refused=0, placed_persons=0),
        GPMonth(
            "dr-b",
            Month(2026, 2),
            3,
            proposed=1,
            accepted=1,
            refused=0,
            placed_persons=1,
            accepted_persons=1,
        ),
    ]


def test_gp_follow_up_last_declaration_of_a_month_wins_and_none_when_undeclared() -> None:
    ledger = CapacityLedger()
    ledger.declare_capacity("dr-a", Month(2026, 1), 3, D(2026, 1, 5))
    ledger.declare_capacity("dr-a", Month(2026, 1), 5, D(2026, 1, 6))
    plain = Physician(id="dr-c", name="Dr C", commune=VOIRON)
    rows = gp_follow_up([], ledger, [joined("dr-a"), plain], [Month(2025, 12), Month(2026, 1)])
    assert [(r.physician_id, str(r.month), r.declared_capacity) for r in rows] == [
        ("dr-a", "2025-12", 3),
        ("dr-a", "2026-01", 5),
        ("dr-c", "2025-12", None),
        ("dr-c", "2026-01", None),
    ]


def test_gp_follow_up_rejects_duplicate_physicians() -> None:
    with pytest.raises(RegisterError, match="médecin dr-a : présent plusieurs fois"):
        gp_follow_up([], CapacityLedger(), [joined(), joined()], [Month(2026, 1)])
