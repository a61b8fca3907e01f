"""Personal data: referrals limited to the policy's fields, pseudonymised exports, erasure, and
no patient data in log lines or exception messages."""

from __future__ import annotations

import csv
import datetime as dt
import logging
from pathlib import Path

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mt_access
from factories import VOIRON, doc, req
from mt_access import PatientIdentity, RequestState
from mt_access.calendar import Month
from mt_access.export import ExportError, neutralise, write_rows
from mt_access.lifecycle import ExitReason
from mt_access.model import age_band
from mt_access.privacy import EXPORT_COLUMNS, REFERRAL_LABELS, anonymised, referral
from mt_access.register import Register
from mt_access.store.memory import MemoryStore

D1 = dt.date(2026, 3, 2)
RUN = dt.date(2026, 3, 5)

IDENTITY = PatientIdentity(
    last_name="Fictifnom",
    first_name="Fictifprénom",
    birth_name="Fictifnaissance",
    phone="06 00 00 00 01",
    email="fictif@example.invalid",
    address="1 rue de l'Exemple, 38500 Voiron",
    identifier="FORM-0001",
)


def _register(policy: mt_access.Policy) -> Register:
    register = Register(MemoryStore(), policy)
    register.add_physician(doc("MG1", capacity=None))
    register.join("MG1", D1, monthly_capacity=2, modalities=["office"])
    return register


def _waiting(register: Register, request: mt_access.Request, identity: PatientIdentity) -> None:
    register.add_request(request, identity)
    register.acknowledge(request.id, D1)
    register.confirm(request.id, D1)
    register.to_waiting(request.id, D1)


# --- referral


def test_referral_has_only_the_policy_fields(voironnais: mt_access.Policy) -> None:
    request = req("R1", age=75, ald=True, comments="suivi cardiologique")
    pairs = referral(request, IDENTITY, voironnais, RUN)
    labels = [label for label, _ in pairs]
    assert labels == [REFERRAL_LABELS[f] for f in voironnais.referral_fields]
    values = dict(pairs)
    assert values["Nom"] == "Fictifnom"
    assert values["Âge"] == "75 ans"
    assert "Voiron" in values["Commune"]
    text = repr(pairs)
    for secret in (IDENTITY.email, IDENTITY.address, "suivi cardiologique", "1951"):
        assert secret not in text


def test_referral_follows_a_narrower_policy(voironnais: mt_access.Policy) -> None:
    narrow = attrs.evolve(voironnais, referral_fields=("age", "commune", "home_visits"))
    pairs = referral(req("R1"), IDENTITY, narrow, RUN)
    assert [label for label, _ in pairs] == ["Âge", "Commune", "Visites à domicile"]
    assert "Fictif" not in repr(pairs)


def test_referral_fields_are_checked_in_yaml() -> None:
    from mt_access.errors import PolicyError

    text = Path(mt_access.available_policies()["voironnais"]).read_text("utf-8")
    bad = text + "\nprivacy:\n  referral_fields: [last_name, nir]\n"
    with pytest.raises(PolicyError, match="referral_fields"):
        _load(bad)


def _load(text: str) -> mt_access.Policy:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "p.yaml"
        path.write_text(text, "utf-8")
        return mt_access.load_policy(path)


# --- pseudonymised export


def test_pseudonymised_rows_hold_no_personal_data(
    voironnais: mt_access.Policy, tmp_path: Path
) -> None:
    register = _register(voironnais)
    birth = dt.date(1951, 7, 14)
    request = attrs.evolve(
        req("R1", received=D1), patient=mt_access.Patient(birth_date=birth, commune=VOIRON)
    )
    _waiting(register, request, IDENTITY)
    _waiting(register, req("R2", received=D1), PatientIdentity(last_name="Autrefictif"))
    register.run_match(RUN)
    rows = register.pseudonymised_rows()
    assert [list(r) for r in rows] == [list(EXPORT_COLUMNS)] * 2
    by_pseudonym = {r["pseudonyme"]: r for r in rows}
    pseudo = mt_access.privacy.pseudonym("R1", voironnais)
    row = by_pseudonym[pseudo]
    assert row["tranche d'âge"] == "70 ans et plus"
    assert row["état"] == RequestState.PROPOSED.label
    assert row["propositions"] == "1"
    flat = repr(rows)
    for secret in (*attrs.astuple(IDENTITY), "Autrefictif", "R1", "R2", "1951-07-14", "14/07/1951"):
        assert secret not in flat
    for suffix in (".csv", ".xlsx"):
        path = write_rows(rows, EXPORT_COLUMNS, tmp_path / f"export{suffix}")
        assert path.exists()
    with (tmp_path / "export.csv").open(encoding="utf-8-sig", newline="") as handle:
        read = list(csv.DictReader(handle, delimiter=";"))
    assert read == rows


def test_pseudonyms_are_stable_and_keyed(voironnais: mt_access.Policy) -> None:
    from mt_access.privacy import pseudonym

    assert pseudonym("R1", voironnais) == pseudonym("R1", voironnais)
    assert pseudonym("R1", voironnais) != pseudonym("R2", voironnais)
    other = attrs.evolve(voironnais, pseudonym_key="une autre clé secrète")
    assert pseudonym("R1", voironnais) != pseudonym("R1", other)


# --- spreadsheets never run user text as formulas


@pytest.mark.parametrize("text", ["=cmd|' /C calc'!A0", "+1+1", "-2", "@SUM(A1)", "\t=1"])
def test_formula_like_text_is_neutralised(text: str, tmp_path: Path) -> None:
    assert neutralise(text) == "'" + text
    rows = [{"a": text}]
    write_rows(rows, ["a"], tmp_path / "f.csv")
    with (tmp_path / "f.csv").open(encoding="utf-8-sig", newline="") as handle:
        assert list(csv.reader(handle, delimiter=";"))[1] == ["'" + text]
    write_rows(rows, ["a"], tmp_path / "f.xlsx")
    import openpyxl

    cell = openpyxl.load_workbook(tmp_path / "f.xlsx").active["A2"]
    assert cell.value == text
    assert cell.data_type == "s"


def test_plain_text_is_kept_and_bad_formats_refused(tmp_path: Path) -> None:
    assert neutralise("Voiron") == "Voiron"
    with pytest.raises(ExportError, match="format"):
        write_rows([], ["a"], tmp_path / "f.ods")
    with pytest.raises(ExportError, match="colonne"):
        write_rows([{"b": "x"}], ["a"], tmp_path / "f.csv")


# --- erasure


def test_erasure_keeps_anonymous_counts(voironnais: mt_access.Policy) -> None:
    register = _register(voironnais)
    birth = dt.date(1950, 5, 5)
    request = attrs.evolve(
        req("R1", received=D1, comments="voisin du Dr X", ald=True),
        patient=mt_access.Patient(birth_date=birth, commune=VOIRON),
    )
    _waiting(register, request, IDENTITY)
    register.run_match(RUN)
    assert register.ledger.used("MG1", Month(2026, 3)) == 1
    before = register.pseudonymised_rows()

    file = register.erase("R1", RUN)
    assert file.exit_reason is ExitReason.WITHDRAWN
    assert register.identity("R1") == PatientIdentity()
    erased = register.request("R1")
    assert erased.patient.birth_date != birth
    assert age_band(erased.age(erased.received)) == age_band(request.age(request.received))
    assert erased.comments == ""
    assert erased.ald
    assert all(t.comment == "" for t in register.history("R1"))
    assert register.ledger.used("MG1", Month(2026, 3)) == 0
    assert list(register.store.known_persons()) == []
    after = register.pseudonymised_rows()
    for column in ("pseudonyme", "tranche d'âge", "commune (INSEE)", "niveau de priorité"):
        assert after[0][column] == before[0][column]
    with pytest.raises(mt_access.register.RegisterOperationError, match="déjà effacée"):
        register.erase("R1", RUN)
    with pytest.raises(mt_access.register.RegisterOperationError, match="effacées"):
        register.referral("R1", RUN)


def test_anonymised_keeps_the_band_on_reception_for_every_age() -> None:
    for age in range(0, 105):
        request = req("R1", age=age, received=dt.date(2024, 2, 29))
        assert age_band(anonymised(request).age(request.received)) == age_band(
            request.age(request.received)
        )


# --- no patient data in logs or exception messages

_WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=6, max_size=12)


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    last=_WORD,
    first=_WORD,
    phone=st.from_regex(r"0[67]\d{8}", fullmatch=True),
    street=_WORD,
    birth=st.dates(min_value=dt.date(1920, 1, 1), max_value=dt.date(2020, 12, 31)),
)
def test_no_patient_data_in_logs_or_errors(
    voironnais: mt_access.Policy,
    caplog: pytest.LogCaptureFixture,
    last: str,
    first: str,
    phone: str,
    street: str,
    birth: dt.date,
) -> None:
    """Drive the register through good and bad operations with marked personal data, and
    scan every log line and exception message for it."""
    identity = PatientIdentity(
        last_name="Zz" + last,
        first_name="Yy" + first,
        phone=phone,
        email=f"{last}@example.invalid",
        address=f"3 rue {street}, 38500 Voiron",
        identifier="ID" + last,
    )
    secrets = [
        identity.last_name,
        identity.first_name,
        identity.phone,
        identity.email,
        identity.address,
        identity.identifier,
        birth.isoformat(),
        birth.strftime("%d/%m/%Y"),
    ]
    messages: list[str] = []
    caplog.clear()
    with caplog.at_level(logging.DEBUG):
        register = _register(voironnais)
        request = attrs.evolve(
            req("R1", received=D1), patient=mt_access.Patient(birth_date=birth, commune=VOIRON)
        )
        attempts = [
            lambda: register.add_request(request, identity),
            lambda: register.add_request(request, identity),  # duplicate id
            lambda: register.to_waiting("R1", D1),  # illegal in "received"
            lambda: register.acknowledge("R1", D1),
            lambda: register.acknowledge("R1", D1),  # illegal twice
            lambda: register.confirm("R1", dt.date(2026, 1, 1)),  # date going back
            lambda: register.confirm("R1", D1),
            lambda: register.to_waiting("R1", D1),
            lambda: register.answer("R1", "MG1", RUN, accepted=True),  # not proposed
            lambda: register.propose("R1", "MG404", RUN),  # unknown GP
            lambda: register.run_match(RUN),
            lambda: register.referral("R1", RUN),
            lambda: register.pseudonymised_rows(),
            lambda: register.close("R1", RUN, ""),  # a closure needs a comment
            lambda: register.erase("R1", RUN),
            lambda: register.erase("R1", RUN),  # twice
            lambda: register.referral("R1", RUN),  # erased
            lambda: mt_access.Request(
                id="R2", received=D1, patient=mt_access.Patient(birth_date=birth, commune=phone)
            ),
        ]
        for attempt in attempts:
            try:
                attempt()
            except Exception as error:
                messages.append(str(error))
                messages.append(repr(error))
    assert len(messages) >= 10
    logged = [r.getMessage() for r in caplog.records]
    for text in messages + logged:
        for secret in secrets:
            assert secret not in text, (secret, text)


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    last=_WORD,
    first=_WORD,
    phone=st.from_regex(r"0[67]\d{8}", fullmatch=True),
    birth=st.dates(min_value=dt.date(1920, 1, 1), max_value=dt.date(2020, 12, 31)),
    misplaced=st.sampled_from(["Date de naissance", "Commune", "Consentement", "Nom"]),
)
def test_no_patient_data_in_intake_messages(
    voironnais: mt_access.Policy,
    caplog: pytest.LogCaptureFixture,
    tmp_path_factory: pytest.TempPathFactory,
    last: str,
    first: str,
    phone: str,
    birth: dt.date,
    misplaced: str,
) -> None:
    """Rows with personal data in the wrong columns: every problem, duplicate and error
    message of the import names rows and columns, never the data."""
    from mt_access.intake import import_table, read_table

    policy = attrs.evolve(voironnais, intake=None)
    name, given_name = "Zz" + last, "Yy" + first
    good = {
        "Identifiant": "F1",
        "Date de réception": "02/03/2026",
        "Nom": name,
        "Prénom": given_name,
        "Date de naissance": birth.strftime("%d/%m/%Y"),
        "Commune": "Voiron",
        "Consentement": "Oui",
    }
    bad = dict(good, Identifiant="F2")
    bad[misplaced] = f"{name} {phone}"
    header = ";".join(good)
    lines = [header, ";".join(good.values()), ";".join(bad.values()), ";".join(good.values())]
    path = tmp_path_factory.mktemp("fuzz") / "export.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    secrets = [name, given_name, phone, birth.isoformat(), birth.strftime("%d/%m/%Y")]
    caplog.clear()
    with caplog.at_level(logging.DEBUG):
        try:
            result = import_table(read_table(path), policy)
            texts = [str(p) for p in result.problems] + [repr(p) for p in result.problems]
            texts += [str(d) for d in result.duplicates] + [result.summary()]
        except mt_access.MtAccessError as error:
            texts = [str(error), repr(error)]
    texts += [r.getMessage() for r in caplog.records]
    for text in texts:
        for secret in secrets:
            assert secret not in text, (secret, text)


def test_repr_hides_personal_fields() -> None:
    """A repr ends up in tracebacks, logs and test reports: it says a personal field is
    filled, never what it holds."""
    import datetime as dt

    from mt_access.lifecycle import RequestFile
    from mt_access.model import Patient, PatientIdentity, Referrer, ReferrerKind, Request
    from mt_access.store.base import KnownPerson

    secrets = ("Zorglub", "Zoé", "0612345678", "zz@example.org", "12 rue Secrète", "1980")
    identity = PatientIdentity(
        last_name=secrets[0],
        first_name=secrets[1],
        phone=secrets[2],
        email=secrets[3],
        address=secrets[4],
        identifier="NIR-SECRET",
    )
    request = Request(
        id="R1",
        received=dt.date(2026, 3, 2),
        patient=Patient(dt.date(1980, 5, 17), "38563"),
        comments=f"appeler {secrets[1]} le soir",
        referrer=Referrer(ReferrerKind.HOSPITAL, "Dr Secretus", "secretus@example.org"),
    )
    file = RequestFile.from_request(request, comment=f"note sur {secrets[0]}")
    shown = " ".join(
        repr(x)
        for x in (identity, request, file, KnownPerson("R1", identity, dt.date(1980, 5, 17), True))
    )
    for secret in (*secrets, "NIR-SECRET", "Secretus", "17"):
        assert secret not in shown, secret
    assert "R1" in shown  # ids stay readable
    assert "<masqué>" in shown
    assert "birth_name=''" in repr(identity)  # an empty field shows as empty
