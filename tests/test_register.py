"""The register: requests through their lifecycle, GP operations, match runs and GP answers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

import attrs
import pytest

import mt_access
from factories import MOIRANS, VOREPPE, doc, req
from mt_access import (
    IllegalTransitionError,
    LifecycleError,
    Modality,
    PatientIdentity,
    RequestState,
)
from mt_access.bounds import MAX_MONTHLY_CAPACITY
from mt_access.calendar import Month
from mt_access.errors import LedgerError
from mt_access.geo.geocoding import GeocodeResult
from mt_access.lifecycle import Event, ExitReason
from mt_access.register import Register, RegisterOperationError
from mt_access.store.memory import MemoryStore
from mt_access.store.sqlite import SQLiteStore
from register_support import D1, D2, add_waiting, join_gp, memory_register

RUN = dt.date(2026, 3, 5)
LATER = dt.date(2026, 3, 10)


def test_a_month_from_request_to_mt(voironnais: mt_access.Policy) -> None:
    register = memory_register(voironnais)
    join_gp(register, "MG1")
    add_waiting(register, req("R1", age=75, ald=True, received=D1))
    assert [s.id for s in register.waiting()] == ["R1"]

    run = register.run_match(RUN)
    assert run.proposed == (("R1", "MG1"),)
    assert run.record.number == 1
    assert register.file("R1").state is RequestState.PROPOSED
    assert register.ledger.used("MG1", Month(2026, 3)) == 1
    assert register.waiting() == []

    register.answer("R1", "MG1", LATER, accepted=True, comment="premier rendez-vous fixé")
    file = register.file("R1")
    assert file.state is RequestState.MT_FOUND
    assert file.physician_found == "MG1"
    assert register.ledger.used("MG1", Month(2026, 3)) == 1
    events = [t.event for t in register.history("R1")]
    assert events == [
        Event.RECEIVE,
        Event.ACKNOWLEDGE,
        Event.CONFIRM,
        Event.TO_WAITING,
        Event.PROPOSE,
        Event.ACCEPT,
    ]
    assert register.history("R1")[4].actor is mt_access.Actor.SYSTEM


def test_refusal_frees_the_place_and_is_never_proposed_again(
    voironnais: mt_access.Policy,
) -> None:
    register = memory_register(voironnais)
    join_gp(register, "MG1")
    add_waiting(register, req("R1", received=D1))
    register.run_match(RUN)
    register.answer("R1", "MG1", RUN, accepted=False, comment="patientèle complète")
    assert register.file("R1").state is RequestState.WAITING
    assert register.request("R1").declined_by == frozenset({"MG1"})
    assert register.ledger.used("MG1", Month(2026, 3)) == 0
    # the next run does not propose it to MG1 again, even with a place free
    again = register.run_match(LATER)
    assert again.proposed == ()
    assert register.file("R1").state is RequestState.WAITING


def test_refusal_keeps_the_place_when_the_policy_says_so(voironnais: mt_access.Policy) -> None:
    register = memory_register(voironnais, refusal_frees_slot=False)
    join_gp(register, "MG1", capacity=2)
    add_waiting(register, req("R1", received=D1))
    register.run_match(RUN)
    register.answer("R1", "MG1", RUN, accepted=False)
    assert register.ledger.used("MG1", Month(2026, 3)) == 1


def test_exit_while_proposed_frees_the_place(voironnais: mt_access.Policy) -> None:
    register = memory_register(voironnais)
    join_gp(register, "MG1")
    add_waiting(register, req("R1", received=D1))
    register.run_match(RUN)
    register.withdraw("R1", LATER, "a trouvé par ailleurs")
    assert register.file("R1").exit_reason is ExitReason.WITHDRAWN
    assert register.ledger.used("MG1", Month(2026, 3)) == 0


def test_priority_first_within_capacity(voironnais: mt_access.Policy) -> None:
    register = memory_register(voironnais)
    join_gp(register, "MG1", capacity=1)
    add_waiting(register, req("R-old", received=dt.date(2026, 1, 1)))
    add_waiting(register, req("R-ald", received=dt.date(2026, 2, 1), ald=True))
    run = register.run_match(RUN)
    assert run.proposed == (("R-ald", "MG1"),)
    assert [s.id for s in register.waiting()] == ["R-old"]


def test_hand_made_proposal_holds_a_place_until_answered(voironnais: mt_access.Policy) -> None:
    register = memory_register(voironnais)
    join_gp(register, "MG1", capacity=1)
    add_waiting(register, req("R1", received=D1))
    add_waiting(register, req("R2", received=D1))
    register.propose("R1", "MG1", RUN)
    # the place is held at once: the month's run cannot give it to R2
    assert register.ledger.used("MG1", Month(2026, 3)) == 1
    assert register.run_match(RUN).proposed == ()
    with pytest.raises(RegisterOperationError, match="0 place"):
        register.propose("R2", "MG1", RUN)
    assert register.file("R2").state is RequestState.WAITING
    # cancelling the proposal releases the place; proposing again holds it again
    register.cancel_proposal("R1", "MG1", RUN, "erreur de saisie")
    assert register.ledger.used("MG1", Month(2026, 3)) == 0
    register.propose("R2", "MG1", RUN)
    # the acceptance keeps the place it held, without taking a second one
    register.answer("R2", "MG1", RUN, accepted=True)
    assert register.ledger.used("MG1", Month(2026, 3)) == 1
    register.change_capacity("MG1", RUN, 2)
    register.propose("R1", "MG1", RUN)
    assert register.ledger.used("MG1", Month(2026, 3)) == 2
    # a refusal frees it (the policy does not keep refused places)
    register.answer("R1", "MG1", RUN, accepted=False, comment="patientèle complète")
    assert register.ledger.used("MG1", Month(2026, 3)) == 1


def test_suspended_gp_receives_nothing(voironnais: mt_access.Policy) -> None:
    register = memory_register(voironnais)
    join_gp(register, "MG1")
    register.suspend("MG1", D2, until=LATER)
    add_waiting(register, req("R1", received=D1))
    assert register.run_match(RUN).proposed == ()
    with pytest.raises(RegisterOperationError, match="MG1"):
        register.propose("R1", "MG1", RUN)
    register.resume("MG1", dt.date(2026, 3, 6))
    assert register.run_match(dt.date(2026, 3, 7)).proposed == (("R1", "MG1"),)


def test_outside_territory_is_recorded_out_of_scope(voironnais: mt_access.Policy) -> None:
    register = memory_register(voironnais)
    lille = "59350"
    file = register.add_request(req("R1", lille, received=D1), out_of_scope=True)
    assert file.exit_reason is ExitReason.OUT_OF_SCOPE
    assert register.list_requests(RequestState.EXITED)[0].id == "R1"


def test_illegal_events_and_unknown_ids(voironnais: mt_access.Policy) -> None:
    register = memory_register(voironnais)
    register.add_request(req("R1", received=D1))
    with pytest.raises(IllegalTransitionError):
        register.to_waiting("R1", D2)
    with pytest.raises(RegisterOperationError, match="R9"):
        register.acknowledge("R9", D2)
    with pytest.raises(RegisterOperationError, match="existe déjà"):
        register.add_request(req("R1", received=D1))
    register.acknowledge("R1", D2)
    with pytest.raises(LifecycleError):
        register.confirm("R1", D1)  # before the last event


def test_contact_attempts_exit_after_the_policy_number(voironnais: mt_access.Policy) -> None:
    register = memory_register(voironnais, max_contact_attempts=2)
    register.add_request(req("R1", received=D1))
    register.record_contact("R1", D1, succeeded=False)
    file = register.record_contact("R1", D2, succeeded=False)
    assert file.exit_reason is ExitReason.UNREACHABLE


def test_late_requests_are_skipped(voironnais: mt_access.Policy) -> None:
    register = memory_register(voironnais)
    join_gp(register, "MG1")
    add_waiting(register, req("R1", received=D1))
    register.record_contact("R1", LATER, succeeded=True)
    run = register.run_match(RUN)
    assert run.skipped == ("R1",)
    assert run.proposed == ()


def test_run_is_one_transaction(voironnais: mt_access.Policy) -> None:
    """If recording fails half-way, nothing of the run is recorded."""
    register = memory_register(voironnais)
    join_gp(register, "MG1", capacity=2)
    add_waiting(register, req("R1", received=D1))
    add_waiting(register, req("R2", received=D1))
    store = register.store
    assert isinstance(store, MemoryStore)
    before = (store.version, store.ledger_entries(), store.transitions())

    original = store.add_run

    def failing_add_run(run: object) -> object:
        raise RuntimeError("panne simulée")

    store.add_run = failing_add_run  # type: ignore[method-assign,assignment]
    with pytest.raises(RuntimeError):
        register.run_match(RUN)
    store.add_run = original  # type: ignore[method-assign]
    assert (store.version, store.ledger_entries(), store.transitions()) == before
    assert len(register.waiting()) == 2
    assert register.ledger.used("MG1", Month(2026, 3)) == 0
    assert len(register.run_match(RUN).proposed) == 2


def test_gp_follow_up_counts_answers(voironnais: mt_access.Policy) -> None:
    register = memory_register(voironnais)
    join_gp(register, "MG1", capacity=2)
    join_gp(register, "MG2", VOREPPE, capacity=0)
    add_waiting(register, req("R1", received=D1))
    add_waiting(register, req("R2", MOIRANS, received=D1))
    register.run_match(RUN)
    register.answer("R1", "MG1", LATER, accepted=True)
    register.answer("R2", "MG1", LATER, accepted=False)
    rows = {r.physician_id: r for r in register.gp_follow_up([Month(2026, 3)])}
    assert (rows["MG1"].proposed, rows["MG1"].accepted, rows["MG1"].refused) == (2, 1, 1)
    assert rows["MG1"].declared_capacity == 2
    assert rows["MG1"].placed_persons == 1
    assert rows["MG2"].proposed == 0


def test_second_register_on_the_same_store_sees_changes(voironnais: mt_access.Policy) -> None:
    store = MemoryStore()
    first = Register(store, voironnais)
    second = Register(store, voironnais)
    first.add_physician(doc("MG1", capacity=None))
    first.join("MG1", D1, monthly_capacity=3, modalities=["office"])
    assert second.physician("MG1").status_on(D2) is mt_access.PhysicianStatus.ACTIVE
    assert second.ledger.capacity("MG1", Month(2026, 3)) == 3


# --- import of a form export


def test_import_intake_registers_rows_and_links_households(
    voironnais: mt_access.Policy, tmp_path: object
) -> None:
    from pathlib import Path

    from mt_access.intake import import_table, read_table

    policy = attrs.evolve(voironnais, intake=None)  # the generic preset
    header = "Identifiant;Date de réception;Nom;Prénom;Date de naissance;Commune;Consentement"
    rows = [
        "F1;05/03/2026;Fictif;Alix;12/04/1950;Voiron;Oui",
        "F2;05/03/2026;Exemple;Noa;01/02/1990;Lille;Oui",  # outside the territory
        "F3;05/03/2026;Essai;Lou;03/03/1985;Voreppe;Non",  # no consent: not registered
        "F4;05/03/2026;FICTIF;alix;12/04/1950;Voiron;Oui",  # the same person as row 2
    ]
    path = Path(str(tmp_path)) / "export.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    register = memory_register(policy)
    result = import_table(read_table(path), policy, known=register.known_persons())
    outcome = register.import_intake(result)
    assert [row for row, _ in outcome.registered] == [2, 3]
    first, lille = (rid for _, rid in outcome.registered)
    assert first == f"{policy.code}-000001"
    assert outcome.out_of_scope == (lille,)
    assert register.file(lille).exit_reason is ExitReason.OUT_OF_SCOPE
    assert register.file(first).state is RequestState.RECEIVED
    assert register.identity(first).last_name == "Fictif"
    assert set(outcome.rejected_rows) == {4, 5}
    assert outcome.duplicates == 1
    assert "2 demande(s) enregistrée(s)" in outcome.summary()
    # importing the same file again registers nobody: everyone is known
    again = import_table(read_table(path), policy, known=register.known_persons())
    assert register.import_intake(again).registered == ()


def test_from_form_export_to_mt_in_a_register_file(
    voironnais: mt_access.Policy, tmp_path: object
) -> None:
    """The issue's "done when": form export → register file → month → GP answer → every step
    found again after reopening the file."""
    from pathlib import Path

    from mt_access import SQLiteStore, import_file, write_rejections, write_rows
    from mt_access.privacy import EXPORT_COLUMNS

    folder = Path(str(tmp_path))
    policy = attrs.evolve(voironnais, intake=None)
    export = folder / "export.csv"
    export.write_text(
        "Identifiant;Date de réception;Nom;Prénom;Date de naissance;Commune;Consentement\n"
        "F1;02/03/2026;Fictif;Alix;12/04/1950;Voiron;Oui\n"
        "F2;02/03/2026;Essai;Lou;03/03/1985;St-Jean-de-Moirans;oui\n"
        "F3;02/03/2026;Exemple;Noa;xx/03/1985;Voreppe;Oui\n",
        encoding="cp1252",
    )
    path = folder / "registre.sqlite"
    with SQLiteStore(path) as store:
        register = Register(store, policy)
        register.add_physician(doc("MG1", capacity=None))
        register.join("MG1", D1, monthly_capacity=1, modalities=[Modality.OFFICE])
        result = import_file(export, policy, known=register.known_persons())
        outcome = register.import_intake(result)
        assert write_rejections(result).name == "export.rejets.csv"
        ids = [rid for _, rid in outcome.registered]
        assert len(ids) == 2
        for rid in ids:
            register.acknowledge(rid, D2)
            register.confirm(rid, D2)
            register.to_waiting(rid, D2)
        run = register.run_match(RUN)
        (proposal,) = run.proposed
        assert proposal[0] == ids[0]  # over 70: priority level
        register.answer(ids[0], "MG1", LATER, accepted=True)
        register.close(ids[1], LATER, "orientée vers le centre de santé")
    with SQLiteStore(path, readonly=True) as store:
        again = Register(store, policy)
        assert again.file(ids[0]).physician_found == "MG1"
        assert [t.event for t in again.history(ids[0])][-2:] == [Event.PROPOSE, Event.ACCEPT]
        assert again.file(ids[1]).exit_reason is ExitReason.CLOSED_BY_CPTS
        assert again.ledger.used("MG1", Month(2026, 3)) == 1
        assert again.runs()[0].placements == 1
        rows = again.pseudonymised_rows()
        write_rows(rows, EXPORT_COLUMNS, folder / "partage.xlsx")
        assert "Fictif" not in repr(rows)


class _FakeGeocoder:
    """Answers at the address for '1 rue Haute', at the commune otherwise."""

    def __init__(self, register: Register | None = None) -> None:
        self.register = register
        self.asked: list[tuple[str | None, str]] = []

    def geocode(self, address: str | None, commune: str) -> GeocodeResult:
        return self.geocode_many([(address, commune)])[0]

    def geocode_many(
        self, items: Sequence[tuple[str | None, str]], progress: object = None
    ) -> list[GeocodeResult]:
        self.asked.extend(items)
        if self.register is not None:  # another user changes R2 while the service answers
            request = self.register.request("R2")
            with self.register.store.transaction():
                self.register.store.replace_request(
                    attrs.evolve(request, comments="changé"), self.register.identity("R2")
                )
        point = mt_access.Point(45.37, 5.59)
        return [
            GeocodeResult(point, commune, "address")
            if address == "1 rue Haute"
            else GeocodeResult(point, commune, "commune", "not_found")
            for address, commune in items
        ]


def test_locate_records_homes_found_at_their_address(voironnais: mt_access.Policy) -> None:
    register = memory_register(voironnais)
    register.add_request(req("R1"), PatientIdentity(last_name="A", address="1 rue Haute"))
    register.add_request(req("R2"), PatientIdentity(last_name="B", address="1 rue Haute"))
    register.add_request(req("R3"), PatientIdentity(last_name="C", address="9 rue Basse"))
    register.add_request(req("R4"), PatientIdentity(last_name="D"))
    register.add_request(req("R5"), PatientIdentity(last_name="E", address="1 rue Haute"))
    register.withdraw("R5", D2)
    with register.store.transaction():
        register.store.replace_request(
            attrs.evolve(req("R2"), comments="avant"), register.identity("R2")
        )
    geocoder = _FakeGeocoder(register)
    outcome = register.locate(geocoder)
    assert [address for address, _ in geocoder.asked] == [
        "1 rue Haute",
        "1 rue Haute",
        "9 rue Basse",
    ]
    assert outcome.located == ("R1",)  # R2 changed meanwhile: left for the next run
    assert outcome.at_commune == (("R3", "not_found"),)
    assert outcome.without_address == 1
    assert register.request("R1").patient.location == mt_access.Point(45.37, 5.59)
    assert register.request("R2").patient.location is None
    assert register.request("R5").patient.location is None  # exited: not asked
    assert "1 adresse(s) localisée(s)" in outcome.summary()
    again = _FakeGeocoder()
    assert register.locate(again).located == ("R2",)
    assert [a for a, _ in again.asked] == ["1 rue Haute", "9 rue Basse"]


# --- numbers out of bounds


@pytest.mark.parametrize("capacity", [MAX_MONTHLY_CAPACITY + 1, 2**63, 10**30])
def test_an_absurd_capacity_is_a_ledger_error_naming_the_bound(
    voironnais: mt_access.Policy, tmp_path: Path, capacity: int
) -> None:
    """A capacity of 10^30 used to reach SQLite and come out as OverflowError."""
    with SQLiteStore(tmp_path / "registre.sqlite") as store:
        register = Register(store, voironnais)
        join_gp(register, "MG1")
        before = register.ledger.entries
        with pytest.raises(LedgerError) as caught:
            register.change_capacity("MG1", D2, capacity)
        assert isinstance(caught.value, ValueError)
        assert "capacité déclarée invalide pour le médecin MG1" in str(caught.value)
        assert "entier entre 0 et 1 000 attendu" in str(caught.value)
        assert str(capacity) not in str(caught.value)
        assert register.ledger.entries == before
        declared = register.change_capacity("MG1", D2, MAX_MONTHLY_CAPACITY)
        assert declared.capacity == MAX_MONTHLY_CAPACITY


def test_the_command_line_refuses_an_absurd_capacity(tmp_path: Path) -> None:
    import io

    from mt_access.cli import main

    def cli(*args: str) -> tuple[int, str]:
        out, err = io.StringIO(), io.StringIO()
        code = main([*args, "--registre", str(tmp_path / "r.sqlite")], out=out, err=err)
        return code, out.getvalue() + err.getvalue()

    assert main(["registre", "creer", str(tmp_path / "r.sqlite"), "--politique", "voironnais"],
                out=io.StringIO()) == 0  # fmt: skip
    assert cli("medecin", "ajouter", "MG01", "--nom", "Dr Testeur", "--commune", "Voiron")[0] == 0
    assert cli("medecin", "adherer", "MG01", "--capacite", "4", "--date", "01/03/2026")[0] == 0
    code, text = cli("medecin", "capacite", "MG01", "1" + "0" * 30, "--date", "02/03/2026")
    assert code != 0
    assert "entier entre 0 et 1 000 attendu" in text
    assert "OverflowError" not in text
    assert "integrity_check" not in text
