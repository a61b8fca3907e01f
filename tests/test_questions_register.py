"""Answers in the register: stored with the request in both stores (and a version 5 file
upgraded), changed by ``Register.qualify`` with a recorded reason (the next run uses them),
erased with the personal data, and shown only where the policy says."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mt_access
from factories import doc, req
from mt_access import LifecycleError, Modality, PatientIdentity, RequestState
from mt_access.lifecycle import Event, IllegalTransitionError
from mt_access.privacy import export_columns, pseudonymised_row, referral
from mt_access.questions import AnswerError, shareable_answers, shown_answers
from mt_access.register import Register, RegisterOperationError
from mt_access.store import SCHEMA_VERSION, codec
from mt_access.store.memory import MemoryStore
from mt_access.store.migrations import APPLICATION_ID, MIGRATIONS
from mt_access.store.sqlite import SQLiteStore
from question_fixtures import load

D1 = dt.date(2026, 3, 2)
D2 = dt.date(2026, 3, 3)
RUN = dt.date(2026, 3, 10)
ANSWERS = {
    "isole": False,
    "situation": "Complexe",
    "aides": frozenset({"Kiné"}),
    "traitements": 2.5,
    "sortie": dt.date(2026, 1, 5),
    "precision": "Aidant-Secret",
}


@pytest.fixture(scope="module")
def policy(tmp_path_factory: pytest.TempPathFactory) -> mt_access.Policy:
    return load(tmp_path_factory.mktemp("policy"))


@pytest.fixture(params=["memory", "sqlite"])
def register(
    request: pytest.FixtureRequest, policy: mt_access.Policy, tmp_path: Path
) -> Iterator[Register]:
    if request.param == "memory":
        yield Register(MemoryStore(), policy)
        return
    store = SQLiteStore(tmp_path / "registre.sqlite")
    try:
        yield Register(store, policy)
    finally:
        store.close()


def _waiting(register: Register, rid: str, **answers: object) -> None:
    register.add_request(
        req(rid, received=D1, answers=answers), PatientIdentity(last_name="Fictif")
    )
    register.acknowledge(rid, D1)
    register.confirm(rid, D2)
    register.to_waiting(rid, D2)


def test_answers_round_trip_in_both_stores(register: Register) -> None:
    _waiting(register, "R1", **ANSWERS)
    assert register.request("R1").answers == ANSWERS
    assert register.store.requests()[0].answers == ANSWERS


def test_qualify_records_an_event_and_the_next_run_uses_the_new_answers(
    register: Register,
) -> None:
    register.add_physician(doc("MG1", capacity=None))
    register.join("MG1", D1, monthly_capacity=1, modalities=[Modality.OFFICE])
    _waiting(register, "R1", isole=False)  # older, not priority
    _waiting(register, "R2")
    assert register.preview_match(RUN).placements[0].request_id == "R1"

    file = register.qualify(
        "R2", D2, answers={"isole": True, "traitements": 4}, fields={"ald": True},
        reason="appel du patient",
    )  # fmt: skip
    last = file.history[-1]
    assert last.event is Event.QUALIFY
    assert last.actor.value == "coordinator"
    assert file.state is RequestState.WAITING
    assert last.comment == (
        "appel du patient — Personne isolée : — → oui ; Nombre de traitements : — → 4 ; "
        "ALD : non → oui"
    )
    request = register.request("R2")
    assert request.answers == {"isole": True, "traitements": 4}
    assert request.ald
    to_route, _ = register.to_route(RUN)
    assert {r.id: dict(r.answers) for r in to_route}["R2"] == {"isole": True, "traitements": 4}
    run = register.run_match(RUN)
    assert run.proposed == (("R2", "MG1"),)  # the level the answer drives

    # removing an answer, and what is refused
    register.qualify("R1", RUN, answers={"isole": None}, reason="erreur de saisie")
    assert register.request("R1").answers == {}
    with pytest.raises(RegisterOperationError, match="aucune modification"):
        register.qualify("R1", RUN, answers={"isole": None}, reason="encore")
    with pytest.raises(AnswerError, match="question inconnue 'isolement'"):
        register.qualify("R1", RUN, answers={"isolement": True}, reason="x")
    with pytest.raises(AnswerError, match="Personne isolée : oui ou non attendu"):
        register.qualify("R1", RUN, answers={"isole": "peut-être"}, reason="x")
    with pytest.raises(RegisterOperationError, match="champ inconnu 'age'"):
        register.qualify("R1", RUN, fields={"age": True}, reason="x")
    with pytest.raises(LifecycleError, match="doit être motivée"):
        register.qualify("R1", RUN, answers={"isole": True}, reason="  ")
    with pytest.raises(LifecycleError, match="antérieure"):
        register.qualify("R1", D1, answers={"isole": True}, reason="x")
    assert len(register.history("R1")) == 5  # the refusals recorded nothing
    register.close("R1", RUN, "clôture test")
    with pytest.raises(IllegalTransitionError):
        register.qualify("R1", RUN, answers={"isole": True}, reason="x")


def test_erasure_drops_the_answers_and_the_changes(register: Register) -> None:
    _waiting(register, "R1", **ANSWERS)
    register.qualify("R1", D2, answers={"precision": "Autre-Secret"}, reason="appel")
    register.erase("R1", RUN)
    assert register.request("R1").answers == {}
    assert all(t.comment == "" for t in register.history("R1"))
    with pytest.raises(RegisterOperationError, match="effacées"):
        register.qualify("R1", RUN, answers={"isole": True}, reason="x")


def test_a_version_5_register_is_upgraded_with_empty_answers(tmp_path: Path) -> None:
    path = tmp_path / "registre.sqlite"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    for step in MIGRATIONS[:5]:
        step(conn)
    request = req("R1", received=D1)
    columns = [c for c in codec.REQUEST_DATA_COLUMNS if c != "answers"]
    file = mt_access.RequestFile.from_request(request)
    conn.execute(
        f"INSERT INTO requests (id, {', '.join(columns)}, {', '.join(codec.FILE_COLUMNS)}) "
        f"VALUES ({', '.join('?' * (1 + len(columns) + len(codec.FILE_COLUMNS)))})",
        (request.id, *codec.request_row(request)[: len(columns)], *codec.file_row(file)),
    )
    conn.execute("INSERT INTO identities VALUES (?, '', '', '', '', '', '', '')", ("R1",))
    # a version 5 file has no transitions.resource column (version 7) nor run (version 10)
    t_columns = [c for c in codec.TRANSITION_COLUMNS if c not in ("resource", "run")]
    t_row = dict(zip(codec.TRANSITION_COLUMNS, codec.transition_row(file.history[0]), strict=True))
    conn.execute(
        f"INSERT INTO transitions ({', '.join(t_columns)}) "
        f"VALUES ({', '.join('?' * len(t_columns))})",
        tuple(t_row[c] for c in t_columns),
    )
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    conn.execute("PRAGMA user_version = 5")
    conn.execute("COMMIT")
    columns_before = {r[1] for r in conn.execute("PRAGMA table_info(requests)")}
    conn.close()
    assert "answers" not in columns_before
    with SQLiteStore(path) as store:
        assert store.schema_version == SCHEMA_VERSION
        assert store.get_request("R1") == request
        assert store.get_request("R1").answers == {}  # type: ignore[union-attr]
        assert store.integrity_check() == []
        with store.transaction():
            store.replace_request(req("R1", received=D1, answers=ANSWERS), PatientIdentity())
    with SQLiteStore(path, readonly=True) as store:
        assert store.get_request("R1").answers == ANSWERS  # type: ignore[union-attr]


# --------------------------------------------------------------------------------------------
# Where answers are shown


@settings(max_examples=40, deadline=None)
@given(
    chosen=st.sets(st.sampled_from(list(ANSWERS))),
    fields=st.sets(st.sampled_from(["last_name", "age", "ald"])),
)
def test_the_referral_shows_only_the_questions_of_referral_fields(
    policy: mt_access.Policy, chosen: set[str], fields: set[str]
) -> None:
    import attrs

    listed = tuple(sorted(fields)) + tuple(q for q in ANSWERS if q in chosen)
    changed = attrs.evolve(policy, referral_fields=listed)
    pairs = referral(req("R1", answers=ANSWERS), PatientIdentity(last_name="Fictif"), changed, D2)
    labels = [label for label, _ in pairs]
    for question in policy.questions:
        assert (question.label in labels) == (question.id in chosen)
    text = " ".join(value for _, value in pairs)
    assert ("Aidant-Secret" in text) == ("precision" in chosen)


def test_answers_in_letters_lists_and_exports_only_where_the_policy_says(
    policy: mt_access.Policy, tmp_path: Path
) -> None:
    request = req("R1", answers=ANSWERS)
    assert shown_answers(request, policy, "letters") == (("Personne isolée", "non"),)
    assert shown_answers(request, policy, "referrer_letters") == ()
    assert ("Situation", "Complexe") in shown_answers(request, policy, "lists")
    assert shareable_answers(request, policy) == (("Personne isolée", "non"),)
    file = mt_access.RequestFile.from_request(request)
    row = pseudonymised_row(request, file, policy)
    assert export_columns(policy)[-1] == "Personne isolée"
    assert row["Personne isolée"] == "non"
    assert not any("Complexe" in value or "Aidant" in value for value in row.values())
    with pytest.raises(ValueError, match="emplacement"):
        shown_answers(request, policy, "partout")

    from mt_access import letters

    register = Register(MemoryStore(), policy)
    register.add_request(request, PatientIdentity(last_name="Fictif"))
    ack = letters.acknowledgement(register, "R1", D2, to="patient")
    assert "Personne isolée : non" in ack.markdown
    assert "Complexe" not in ack.markdown
    assert "Aidant-Secret" not in ack.markdown


def test_the_follow_up_export_shows_answers_only_where_the_policy_says(
    policy: mt_access.Policy,
) -> None:
    from mt_access.workbook import follow_up_rows

    register = Register(MemoryStore(), policy)
    _waiting(register, "R1", **ANSWERS)
    columns, rows = follow_up_rows(register, "2026-03", all_requests=True)
    assert columns[-1] == "Personne isolée"  # shareable: in every export
    assert rows[0]["Personne isolée"] == "non"
    assert "Situation" not in columns
    columns, rows = follow_up_rows(register, "2026-03", personal=True, all_requests=True)
    assert columns[-6:] == (
        "Personne isolée", "Situation", "Aides", "Nombre de traitements", "Sortie d'hôpital",
        "Précision",
    )  # fmt: skip
    assert rows[0]["Situation"] == "Complexe"
    assert rows[0]["Nombre de traitements"] == "2,5"
    assert rows[0]["Précision"] == "Aidant-Secret"


def test_the_referral_letter_shows_only_the_listed_answer(policy: mt_access.Policy) -> None:
    from mt_access import letters

    register = Register(MemoryStore(), policy)
    register.add_physician(doc("MG1", capacity=None))
    register.join("MG1", D1, monthly_capacity=1, modalities=[Modality.OFFICE])
    _waiting(register, "R1", **ANSWERS)
    register.propose("R1", "MG1", D2)
    letter = letters.referral_letter(register, "R1", "MG1", D2)
    assert "**Situation** : Complexe" in letter.markdown  # situation is in referral_fields
    for hidden in ("Personne isolée", "Aidant-Secret", "Kiné", "Nombre de traitements"):
        assert hidden not in letter.markdown
    orientation = letters.orientation_letter(register, "R1", D2)
    assert "Personne isolée : non" in orientation.markdown  # show_in: [letters]
    assert "Complexe" not in orientation.markdown


def test_answers_are_typed_by_their_question_in_the_workbook_and_exports(
    policy: mt_access.Policy, tmp_path: Path
) -> None:
    import openpyxl

    from mt_access.export import ColumnType, write_rows
    from mt_access.workbook import follow_up_rows, follow_up_types, write_follow_up_workbook

    register = Register(MemoryStore(), policy)
    _waiting(register, "R1", **ANSWERS)
    types = follow_up_types(policy, personal=True)
    assert types["Nombre de traitements"] is ColumnType.DECIMAL
    assert types["Sortie d'hôpital"] is ColumnType.DATE
    assert types["Personne isolée"] is ColumnType.YES_NO
    assert types["Situation"] is ColumnType.TEXT  # a choice
    path = write_follow_up_workbook(
        register, tmp_path / "suivi.xlsx", "2026-03", personal=True, all_requests=True
    )
    sheet = openpyxl.load_workbook(path)["Entrées et sorties"]
    header = [c.value for c in sheet[1]]
    row = dict(zip(header, sheet[2], strict=True))
    assert row["Nombre de traitements"].value == 2.5
    assert row["Sortie d'hôpital"].value == dt.datetime(2026, 1, 5)
    assert row["Sortie d'hôpital"].number_format == "DD/MM/YYYY"
    assert row["Personne isolée"].value == "non"
    columns, rows = follow_up_rows(register, "2026-03", personal=True, all_requests=True)
    exported = write_rows(rows, columns, tmp_path / "export.xlsx", types=types)
    sheet = openpyxl.load_workbook(exported).active
    row = {name: cell.value for name, cell in zip(columns, sheet[2], strict=True)}
    assert row["Nombre de traitements"] == 2.5
    assert row["Sortie d'hôpital"] == dt.datetime(2026, 1, 5)
    assert row["reçue le"] == dt.datetime(2026, 3, 2)
