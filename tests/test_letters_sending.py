"""Sending letters by e-mail (``mt-access envoyer``) against a local SMTP server (aiosmtpd on
127.0.0.1, STARTTLS with a throwaway certificate, AUTH): the dry run, delivery with the letter
attached, refusals per letter, server refusals and timeouts retried and recorded, never twice,
and credentials never shown. Every person here is generated."""

from __future__ import annotations

import datetime as dt
import io
import logging
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import mt_access
from factories import doc, req
from mt_access import Modality, PatientIdentity, PolicyError, Referrer, ReferrerKind
from mt_access.cli import main
from mt_access.errors import SendingError
from mt_access.letters import acknowledgement, referral_letter
from mt_access.letters.sending import (
    DueLetters,
    due_letters,
    letters_of_run,
    plan_sending,
    send_letters,
)
from mt_access.letters.settings import SENDING
from mt_access.letters.smtp import SmtpSettings, clean_answer, is_valid_address, mask_address
from mt_access.model import PracticeContact
from mt_access.register import Register
from mt_access.store import MemoryStore, SQLiteStore
from register_support import D1, D2, add_waiting
from smtp_server import PASSWORD, USER, Recorder, make_certificate, require_smtp, start

RUN = dt.date(2026, 3, 5)
MARCQ = "59378"
MSSANTE = "dr.un@marcq.mssante.fr"
NOT_MSSANTE = "dr.deux@exemple.fr"
PATIENT = "p.un@example.org"
NAME = "Testnomun"
SENDER = "coordination@cpts-test.mssante.fr"

EXTRA = f"""
questions:
  - id: accepte_courriel
    label: Accepte les courriers par courriel
    type: oui_non
sending:
  sender: {SENDER}
  mssante_domains: [mssante.fr]
  patient_consent_question: accepte_courriel
  max_attempts: 3
"""


@pytest.fixture(scope="module")
def policy_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    text = mt_access.available_policies()["deule_marque"].read_text(encoding="utf-8")
    path = tmp_path_factory.mktemp("policy") / "politique.yaml"
    path.write_text(text + EXTRA, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def policy(policy_file: Path) -> mt_access.Policy:
    return mt_access.load_policy(policy_file)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    require_smtp()
    return make_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def server(certificate: tuple[Path, Path]) -> Iterator[tuple[Any, Recorder]]:
    handler = Recorder()
    controller = start(handler, *certificate)
    try:
        yield controller, handler
    finally:
        controller.stop()


def _smtp(controller: Any, certificate: tuple[Path, Path], **kw: Any) -> SmtpSettings:
    values: dict[str, Any] = {"user": USER, "password": PASSWORD, "timeout": 10.0}
    values.update(kw)
    return SmtpSettings("127.0.0.1", controller.port, cafile=str(certificate[0]), **values)


def _identity(email: str, last: str = NAME) -> PatientIdentity:
    return PatientIdentity(last_name=last, first_name="Testprénom", email=email)


def _add_gps(register: Register, addresses: dict[str, str], capacity: int) -> None:
    """GPs of Marcq-en-Barœul with these MSSanté addresses, joined on D1."""
    for pid, address in addresses.items():
        register.add_physician(
            doc(pid, MARCQ, capacity=None, contact=PracticeContact(mssante=address))
        )
        register.join(pid, D1, monthly_capacity=capacity, modalities=[Modality.OFFICE])


def _add_waiting(
    register: Register, people: list[tuple[mt_access.Request, PatientIdentity]]
) -> None:
    """The requests received, acknowledged on D1, confirmed and waiting on D2."""
    for request, identity in people:
        add_waiting(register, request, identity)


def _build(register: Register) -> None:
    """Two GPs (one with an MSSanté address, one without); two priority requests proposed to
    them; three orientations: consent and address, no consent, consent and a bad address."""
    _add_gps(register, {"MG1": MSSANTE, "MG2": NOT_MSSANTE}, capacity=1)
    yes = {"accepte_courriel": True}
    people = [
        (req("R1", MARCQ, age=30, received=D1, answers=yes), _identity(PATIENT)),
        (req("R2", MARCQ, age=80, received=D1), _identity("")),
        (req("R3", MARCQ, age=81, received=D1), _identity("")),
        (req("R4", MARCQ, age=30, received=D1), _identity("p.quatre@example.org")),
        (req("R5", MARCQ, age=30, received=D1, answers=yes), _identity("pas une adresse")),
    ]
    _add_waiting(register, people)
    register.run_match(RUN)


@pytest.fixture
def register(policy: mt_access.Policy) -> Register:
    register = Register(MemoryStore(), policy)
    _build(register)
    return register


def _by_key(report: Any) -> dict[tuple[str, str, str], Any]:
    return {p.key: p for p in report.letters}


def _referral(register: Register, pid: str) -> tuple[str, str, str]:
    rid = next(r for r, p in [(t.request_id, t.physician_id) for t in register.store.transitions()
               if t.event.value == "propose"] if p == pid)  # fmt: skip
    return (rid, "dossier_medecin", pid)


# --------------------------------------------------------------------------------------------
# Addresses, settings


def test_addresses_are_checked_and_masked(policy: mt_access.Policy) -> None:
    assert is_valid_address(MSSANTE)
    for bad in ("pas une adresse", "a@b", "a@b.fr\nBcc: x@y.fr", "<a@b.fr>", "@b.fr", ""):
        assert not is_valid_address(bad)
    assert mask_address("dupont@exemple.mssante.fr") == "d***@exemple.mssante.fr"
    assert mask_address("sans-arobase") == "***"
    assert clean_answer("550 5.1.1 <jean.test@example.org>:\n inconnu") == (
        "550 5.1.1 <j***@example.org>: inconnu"
    )
    settings = policy.section(SENDING)
    assert settings.is_mssante(MSSANTE)
    assert settings.is_mssante("x@MSSANTE.FR")
    assert not settings.is_mssante(NOT_MSSANTE)
    assert not settings.is_mssante("x@faux-mssante.fr")
    assert mt_access.load_policy("deule_marque").section(SENDING).patient_consent_question is None


@pytest.mark.parametrize(
    ("sending", "expected", "key_path"),
    [
        (
            "patient_consent_question: accepte",
            "question inconnue 'accepte'",
            "$.sending.patient_consent_question",
        ),
        (
            "mssante_domains: [pas un domaine]",
            "nom de domaine attendu",
            "$.sending.mssante_domains[0]",
        ),
    ],
    ids=["consent question", "MSSanté domain"],
)
def test_the_consent_question_must_be_a_yes_no_question(
    tmp_path: Path, sending: str, expected: str, key_path: str
) -> None:
    text = mt_access.available_policies()["deule_marque"].read_text(encoding="utf-8")
    path = tmp_path / "p.yaml"
    path.write_text(f"{text}sending:\n  {sending}\n", encoding="utf-8")
    with pytest.raises(PolicyError, match=expected) as info:
        mt_access.load_policy(path)
    assert info.value.path == key_path


def test_smtp_settings_file_must_be_private(tmp_path: Path) -> None:
    file = tmp_path / "smtp.conf"
    file.write_text(
        f"# réglages\nMT_ACCESS_SMTP_HOST=smtp.exemple.fr\nMT_ACCESS_SMTP_USER={USER}\n"
        f"MT_ACCESS_SMTP_PASSWORD={PASSWORD}\n",
        encoding="utf-8",
    )
    file.chmod(0o644)
    with pytest.raises(SendingError, match="chmod 600") as info:
        SmtpSettings.from_file(file)
    assert PASSWORD not in str(info.value)
    file.chmod(0o600)
    settings = SmtpSettings.from_file(file)
    assert (settings.host, settings.port, settings.password) == ("smtp.exemple.fr", 587, PASSWORD)
    assert PASSWORD not in repr(settings)
    assert USER not in repr(settings)
    with pytest.raises(SendingError, match="MT_ACCESS_SMTP_HOST absent"):
        SmtpSettings.from_env({})
    with pytest.raises(SendingError, match="MT_ACCESS_SMTP_PORT : nombre attendu") as info:
        SmtpSettings.from_env({"MT_ACCESS_SMTP_HOST": "h", "MT_ACCESS_SMTP_PORT": PASSWORD})
    assert PASSWORD not in str(info.value)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (PASSWORD, r"ligne 2 : « MT_ACCESS_SMTP_CLÉ=valeur » attendu"),
        (f"PASSWORD={PASSWORD}", r"ligne 2 : « MT_ACCESS_SMTP_CLÉ=valeur » attendu"),
        (f"MT_ACCESS_SMTP_PASWORD={PASSWORD}", r"ligne 2 : clé inconnue \(clés possibles"),
        (f"MT_ACCESS_SMTP_{PASSWORD}=x", r"ligne 2 : clé inconnue"),
    ],
    ids=["a value alone", "a key without the prefix", "a misspelt key", "a value as key"],
)
def test_a_settings_file_line_is_checked_without_being_quoted(
    tmp_path: Path, line: str, expected: str
) -> None:
    file = tmp_path / "smtp.conf"
    file.touch(mode=0o600)
    file.write_text(f"MT_ACCESS_SMTP_HOST=h\n{line}\n", encoding="utf-8")
    with pytest.raises(SendingError, match=expected) as info:
        SmtpSettings.from_file(file)
    assert PASSWORD not in str(info.value)
    assert "PASWORD" not in str(info.value)


def test_a_settings_file_is_read_by_whole_lines_and_for_its_owner_only(tmp_path: Path) -> None:
    file = tmp_path / "smtp.conf"
    file.touch(mode=0o600)
    # a password may hold « = » and « # »; the comments are whole lines
    file.write_text(
        "# serveur de la CPTS\nMT_ACCESS_SMTP_HOST = smtp.exemple.fr\n"
        "MT_ACCESS_SMTP_PASSWORD=a=b#c\nMT_ACCESS_SMTP_PORT=465\n",
        encoding="utf-8",
    )
    settings = SmtpSettings.from_file(file)
    assert (settings.host, settings.port, settings.password) == ("smtp.exemple.fr", 465, "a=b#c")
    with pytest.raises(SendingError, match="introuvable"):
        SmtpSettings.from_file(tmp_path / "absent.conf")
    for mode in (0o604, 0o620, 0o660, 0o606):  # read or written by someone else
        file.chmod(mode)
        with pytest.raises(SendingError, match="chmod 600"):
            SmtpSettings.from_file(file)
    file.chmod(0o400)  # read-only for its owner is fine
    assert SmtpSettings.from_file(file).password == "a=b#c"


# --------------------------------------------------------------------------------------------
# Dry run and sending


def test_dry_run_shows_where_each_letter_goes_and_sends_nothing(
    register: Register, server: tuple[Any, Recorder]
) -> None:
    letters, missing = letters_of_run(register)
    assert missing == []
    report = send_letters(register, letters, attachment="md")
    assert not report.sent
    planned = _by_key(report)
    ok = planned[_referral(register, "MG1")]
    assert (ok.status, ok.recipient_kind, ok.masked) == (
        "a_envoyer",
        "medecin",
        "d***@marcq.mssante.fr",
    )
    refused = planned[_referral(register, "MG2")]
    assert refused.status == "refuse"
    assert "hors MSSanté" in refused.reason
    assert "mssante.fr" in refused.reason
    assert NOT_MSSANTE not in refused.reason
    assert planned[("R1", "orientation", "")].masked == "p***@example.org"
    assert "n'a pas accepté" in planned[("R4", "orientation", "")].reason
    assert planned[("R5", "orientation", "")].reason == "adresse électronique du patient invalide"
    assert report.count("a_envoyer") == 2
    assert report.count("refuse") == 3
    assert server[1].messages == []
    assert register.store.sendings() == []


def test_sending_delivers_one_message_per_letter_over_tls_with_the_pdf(
    register: Register, server: tuple[Any, Recorder], certificate: tuple[Path, Path]
) -> None:
    pytest.importorskip("weasyprint")
    controller, handler = server
    letters, _ = letters_of_run(register)
    report = send_letters(register, letters, send=True, smtp=_smtp(controller, certificate))
    assert report.count("envoye") == 2
    assert report.complete
    assert sorted(r for m in handler.messages for r in m.recipients) == sorted([MSSANTE, PATIENT])
    for received in handler.messages:
        assert received.tls
        assert received.authenticated
        assert received.sender == SENDER
        message = received.message
        (attachment,) = list(message.iter_attachments())
        assert attachment.get_content_type() == "application/pdf"
        assert attachment.get_content().startswith(b"%PDF")
        body = message.get_body(preferencelist=("plain",))
        assert body is not None
        text = body.get_content()
        for private in (NAME, PATIENT, "75 ans", "ALD"):
            assert private not in text
            assert private not in str(message["Subject"])
    records = register.store.sendings()
    assert [(r.attempt, r.code, r.sent) for r in records] == [(1, 250, True), (1, 250, True)]
    assert {r.recipient for r in records} == {"d***@marcq.mssante.fr", "p***@example.org"}


def test_pdfs_made_ahead_in_worker_processes_go_with_their_letters(
    register: Register,
    server: tuple[Any, Recorder],
    certificate: tuple[Path, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pytest.importorskip("weasyprint")
    import mt_access.letters.pdf as pdf_module

    monkeypatch.setattr(pdf_module, "worker_processes", lambda _letters: 2)  # for two letters
    controller, handler = server
    letters, _ = letters_of_run(register)
    expected = {letter.filename("pdf"): letter.pdf() for letter in letters}
    report = send_letters(register, letters, send=True, smtp=_smtp(controller, certificate))
    assert report.count("envoye") == 2
    assert len(handler.messages) == 2
    for received in handler.messages:
        (attachment,) = list(received.message.iter_attachments())
        assert attachment.get_content() == expected[attachment.get_filename()]


def test_a_letter_is_never_sent_twice(
    register: Register, server: tuple[Any, Recorder], certificate: tuple[Path, Path]
) -> None:
    controller, handler = server
    letters, _ = letters_of_run(register)
    smtp = _smtp(controller, certificate)
    first = send_letters(register, [*letters, letters[0]], send=True, smtp=smtp, attachment="md")
    second = send_letters(register, letters, send=True, smtp=smtp, attachment="md")
    assert first.count("envoye") == 2
    assert first.letters[-1].status == "deja_envoye"  # the same letter given twice
    assert second.count("envoye") == 0
    assert second.count("deja_envoye") == 2
    assert len(handler.messages) == 2
    (attachment,) = list(handler.messages[0].message.iter_attachments())
    assert attachment.get_content_type() == "text/markdown"
    assert len(register.store.sendings()) == 2


def test_a_server_refusal_is_recorded_and_retried_up_to_the_bound(
    register: Register, server: tuple[Any, Recorder], certificate: tuple[Path, Path]
) -> None:
    controller, handler = server
    handler.refused.add(MSSANTE)
    letters, _ = letters_of_run(register)
    smtp = _smtp(controller, certificate)
    key = _referral(register, "MG1")
    statuses = []
    for _ in range(4):
        report = send_letters(register, letters, send=True, smtp=smtp, attachment="md")
        statuses.append(_by_key(report)[key].status)
    assert statuses == ["echec", "echec", "abandonne", "abandonne"]
    refused = [r for r in register.store.sendings() if r.key == key]
    assert [(r.attempt, r.code, r.sent) for r in refused] == [
        (1, 550, False),
        (2, 550, False),
        (3, 550, False),
    ]
    assert all(MSSANTE not in r.answer and "d***@marcq.mssante.fr" in r.answer for r in refused)
    assert [m.recipients for m in handler.messages] == [(PATIENT,)]  # the other letter went


def test_a_timeout_is_retried_with_backoff_in_the_same_sending(
    register: Register, server: tuple[Any, Recorder], certificate: tuple[Path, Path]
) -> None:
    controller, handler = server
    handler.slow, handler.delay = 1, 3.0
    waits: list[float] = []
    letters, _ = letters_of_run(register)
    report = send_letters(
        register, letters, send=True, smtp=_smtp(controller, certificate, timeout=1.0),
        attachment="md", backoff=0.5, sleep=waits.append,
    )  # fmt: skip
    assert report.complete
    assert report.count("envoye") == 2
    assert waits == [0.5]
    records = register.store.sendings()
    assert [(r.attempt, r.code, r.sent) for r in records][:2] == [(1, 0, False), (2, 250, True)]
    assert "délai dépassé" in records[0].answer
    assert len(handler.messages) == 2


def test_no_starttls_no_sending(register: Register, certificate: tuple[Path, Path]) -> None:
    handler = Recorder()
    controller = start(handler, None, None)
    try:
        letters, _ = letters_of_run(register)
        with pytest.raises(SendingError, match="ne propose pas STARTTLS"):
            send_letters(register, letters, send=True, smtp=_smtp(controller, certificate))
    finally:
        controller.stop()
    assert handler.messages == []
    assert register.store.sendings() == []


def test_a_wrong_password_is_refused_without_being_shown(
    register: Register, server: tuple[Any, Recorder], certificate: tuple[Path, Path]
) -> None:
    controller, handler = server
    letters, _ = letters_of_run(register)
    smtp = _smtp(controller, certificate, password="Mauvais-Secret-42")
    with pytest.raises(SendingError, match="refuse l'authentification") as info:
        send_letters(register, letters, send=True, smtp=smtp)
    assert "Mauvais-Secret-42" not in str(info.value)
    assert USER not in str(info.value)
    assert handler.messages == []
    assert register.store.sendings() == []


def test_plan_without_a_sending_section_refuses_patients(register: Register) -> None:
    plain = Register(register.store, mt_access.load_policy("deule_marque"))
    letters, _ = letters_of_run(plain)
    planned = plan_sending(plain, letters, attachment="txt")
    patients = [p for p in planned if p.recipient_kind == "patient"]
    assert patients
    assert all("non prévu par la politique" in p.reason and p.status == "refuse" for p in patients)


def test_every_refusal_is_reported_per_letter_without_personal_data(
    referrers_policy_file: Path,
) -> None:
    """Issue 15, « Bad input »: an address missing, invalid, outside MSSanté or without
    consent refuses that letter only, with a French reason naming ids, never the address."""
    register = Register(MemoryStore(), mt_access.load_policy(referrers_policy_file))
    gps = {"MG3": "", "MG4": "dr..quatre@mssante.fr", "MG5": "dr.cinq@mssante.fr.exemple.com"}
    _add_gps(register, gps, capacity=5)
    yes = {"accepte_courriel": True}
    none = Referrer(kind=ReferrerKind.SOCIAL_WORKER, name="Service social", contact="")
    phone = Referrer(kind=ReferrerKind.HOSPITAL, name="Hôpital", contact="03 20 00 00 00")
    people = [
        (req("S1", MARCQ, received=D1, answers=yes, referrer=none), _identity("")),
        (req("S2", MARCQ, received=D1, referrer=phone), _identity(PATIENT)),
        *[(req(f"S{pid}", MARCQ, received=D1), _identity("")) for pid in gps],
    ]
    _add_waiting(register, people)
    letters = []
    for pid in gps:
        register.propose(f"S{pid}", pid, RUN)
        letters.append(referral_letter(register, f"S{pid}", pid, RUN))
    letters += [
        acknowledgement(register, "S1", RUN),
        acknowledgement(register, "S1", RUN, to="referrer"),
        acknowledgement(register, "S2", RUN),
        acknowledgement(register, "S2", RUN, to="referrer"),
    ]
    planned = plan_sending(register, letters, attachment="md")
    assert [p.status for p in planned] == ["refuse"] * 7
    reasons = [p.reason for p in planned]
    assert reasons == [
        "pas d'adresse MSSanté pour le médecin MG3",
        "adresse MSSanté du médecin MG4 invalide",
        "adresse du médecin MG5 hors MSSanté (domaines acceptés : mssante.fr) : le dossier "
        "qualifié ne part que par messagerie sécurisée de santé",
        "le patient n'a pas donné d'adresse électronique",
        "l'adresseur n'a pas donné de contact",
        "le patient n'a pas accepté les courriels (question « accepte_courriel »)",
        "le contact de l'adresseur n'est pas une adresse électronique valide",
    ]
    for text in reasons:
        for private in (PATIENT, "03 20 00 00 00", NAME, "dr.cinq", "quatre"):
            assert private not in text
    with pytest.raises(SendingError, match="format de pièce jointe inconnu"):
        plan_sending(register, letters, attachment="docx")


# --------------------------------------------------------------------------------------------
# The command line


def _register_file(path: Path, policy_file: Path) -> SQLiteStore:
    """A register file (SQLite) at ``path`` that names ``policy_file`` as its policy."""
    store = SQLiteStore(path)
    with store.transaction():
        store.put_setting("policy", str(policy_file))
    return store


@pytest.fixture
def built_file(tmp_path: Path, policy_file: Path, policy: mt_access.Policy) -> Path:
    """A register file with :func:`_build`'s GPs, requests and run."""
    path = tmp_path / "registre.sqlite"
    store = _register_file(path, policy_file)
    try:
        _build(Register(store, policy))
    finally:
        store.close()
    return path


def _smtp_env(
    monkeypatch: pytest.MonkeyPatch, controller: Any, certificate: tuple[Path, Path]
) -> None:
    """The test server in the MT_ACCESS_SMTP_* variables."""
    env = {
        "HOST": "127.0.0.1", "PORT": str(controller.port), "USER": USER,
        "PASSWORD": PASSWORD, "CAFILE": str(certificate[0]),
    }  # fmt: skip
    for key, value in env.items():
        monkeypatch.setenv(f"MT_ACCESS_SMTP_{key}", value)


def _cli(*args: str) -> str:
    """``mt-access`` with these arguments, which must succeed: what it wrote (out and err)."""
    out, err = io.StringIO(), io.StringIO()
    code = main(list(args), out=out, err=err)
    assert code == 0, err.getvalue()
    return out.getvalue() + err.getvalue()


def test_envoyer_command_never_shows_credentials(
    built_file: Path,
    server: tuple[Any, Recorder],
    certificate: tuple[Path, Path],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    controller, handler = server
    path = built_file
    _smtp_env(monkeypatch, controller, certificate)
    caplog.set_level(logging.DEBUG)
    outputs = [
        _cli("envoyer", "--registre", str(path), *args)
        for args in ([], ["--envoyer", "--format", "md"], ["--envoyer", "--format", "md"])
    ]
    assert "Aperçu : rien n'est envoyé" in outputs[0]
    assert "d***@marcq.mssante.fr" in outputs[0]
    assert "hors MSSanté" in outputs[0]
    assert "2 envoyé" in outputs[1]
    assert "2 déjà envoyé" in outputs[2]
    assert len(handler.messages) == 2
    # mt-access's own log lines (aiosmtpd, the test's server, logs what it receives)
    ours = [r.getMessage() for r in caplog.records if not r.name.startswith("mail.log")]
    everything = "\n".join(outputs + ours)
    for secret in (PASSWORD, USER, MSSANTE, PATIENT, NAME):
        assert secret not in everything
    conn = sqlite3.connect(path)
    rows = conn.execute("SELECT * FROM sendings").fetchall()
    conn.close()
    assert len(rows) == 2
    assert all(secret not in repr(rows) for secret in (PASSWORD, USER, MSSANTE, PATIENT))
    assert PASSWORD.encode() not in path.read_bytes()
    assert os.environ["MT_ACCESS_SMTP_PASSWORD"] == PASSWORD  # read, never stored


def test_envoyer_reads_the_server_from_a_private_settings_file(
    tmp_path: Path,
    built_file: Path,
    server: tuple[Any, Recorder],
    certificate: tuple[Path, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    controller, handler = server
    path = built_file
    conf = tmp_path / "smtp.conf"
    conf.touch(mode=0o600)
    conf.write_text(
        f"MT_ACCESS_SMTP_HOST=127.0.0.1\nMT_ACCESS_SMTP_PORT={controller.port}\n"
        f"MT_ACCESS_SMTP_USER={USER}\nMT_ACCESS_SMTP_PASSWORD={PASSWORD}\n"
        f"MT_ACCESS_SMTP_CAFILE={certificate[0]}\n",
        encoding="utf-8",
    )
    for key in ("HOST", "PORT", "USER", "PASSWORD", "CAFILE"):
        monkeypatch.delenv(f"MT_ACCESS_SMTP_{key}", raising=False)
    monkeypatch.setenv("MT_ACCESS_SMTP_FICHIER", str(conf))
    outputs = [
        _cli("envoyer", "--registre", str(path), "--envoyer", "--format", "md", *extra)
        for extra in ([], ["--smtp", str(conf)])
    ]
    assert "2 envoyé" in outputs[0]
    assert "2 déjà envoyé" in outputs[1]
    assert all(received.authenticated for received in handler.messages)
    for text in outputs:
        assert PASSWORD not in text
        assert USER not in text
    assert PASSWORD.encode() not in path.read_bytes()
    assert USER.encode() not in path.read_bytes()


def test_envoyer_refuses_a_readable_settings_file(
    tmp_path: Path, policy_file: Path, policy: mt_access.Policy
) -> None:
    path = tmp_path / "registre.sqlite"
    _register_file(path, policy_file).close()
    conf = tmp_path / "smtp.conf"
    conf.write_text(f"MT_ACCESS_SMTP_HOST=127.0.0.1\nMT_ACCESS_SMTP_PASSWORD={PASSWORD}\n")
    conf.chmod(0o640)
    out, err = io.StringIO(), io.StringIO()
    code = main(["envoyer", "--registre", str(path), "--envoyer", "--smtp", str(conf)], out, err)
    assert code == 1
    assert "chmod 600" in err.getvalue()
    assert PASSWORD not in err.getvalue() + out.getvalue()


# --------------------------------------------------------------------------------------------
# Every letter due: acknowledgements, the run's letters, feedback to referrers

REFERRER = "a.social@exemple.org"
D_LETTERS = dt.date(2026, 3, 10)


@pytest.fixture(scope="module")
def referrers_policy_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    text = mt_access.available_policies()["deule_marque"].read_text(encoding="utf-8")
    path = tmp_path_factory.mktemp("policy-referrers") / "politique.yaml"
    path.write_text(text + EXTRA + "  referrers_by_email: true\n", encoding="utf-8")
    return path


def _build_due(register: Register) -> None:
    """:func:`_build`'s run, then: RA received (not acknowledged) from a social worker, the
    patient agreeing to e-mail; RB received from the patient, who did not agree; RC referred,
    withdrawn after the run (its referrer is due a feedback); RD referred, closed long ago."""
    _build(register)
    social = Referrer(kind=ReferrerKind.SOCIAL_WORKER, name="Service social", contact=REFERRER)
    yes = {"accepte_courriel": True}
    register.add_request(
        req("RA", MARCQ, age=40, received=D2, answers=yes, referrer=social),
        _identity("p.ra@example.org", "Testnomra"),
    )
    register.add_request(req("RB", MARCQ, age=41, received=D2), _identity("p.rb@example.org"))
    register.add_request(
        req("RC", MARCQ, age=42, received=D1, referrer=social), _identity("", "Testnomrc")
    )
    register.withdraw("RC", RUN)
    register.add_request(
        req("RD", MARCQ, age=43, received=dt.date(2025, 1, 6), referrer=social), _identity("")
    )
    register.withdraw("RD", dt.date(2025, 1, 7))


def test_due_letters_gathers_acknowledgements_run_letters_and_feedback(
    referrers_policy_file: Path,
) -> None:
    register = Register(MemoryStore(), mt_access.load_policy(referrers_policy_file))
    _build_due(register)
    due = due_letters(register, D_LETTERS)
    keys = [(x.request_id, x.kind.value) for x in due.letters]
    assert keys[:3] == [
        ("RA", "accuse_reception_patient"),
        ("RA", "accuse_reception_adresseur"),
        ("RB", "accuse_reception_patient"),
    ]
    assert keys[-1] == ("RC", "retour_adresseur")  # not RD: closed more than a month ago
    assert len(keys) == 3 + 5 + 1
    assert due.run == 1
    assert [x.kind.value for x in due_letters(register, D_LETTERS, groups=["retours"]).letters] == [
        "retour_adresseur"
    ]
    older = due_letters(register, D_LETTERS, groups=["retours"], since=dt.date(2025, 1, 1))
    assert [x.request_id for x in older.letters] == ["RC", "RD"]
    assert due_letters(register, D1, groups=["accuses"]).letters == ()  # received after D1
    empty = Register(MemoryStore(), register.policy)
    assert due_letters(empty, D_LETTERS) == DueLetters((), (), None)  # no run: no error
    with pytest.raises(SendingError, match="aucun appariement"):
        due_letters(empty, D_LETTERS, groups=["appariement"])
    with pytest.raises(SendingError, match="courriers inconnus"):
        due_letters(empty, D_LETTERS, groups=["tout"])  # type: ignore[list-item]


def test_envoyer_sends_every_letter_due_once_and_records_acknowledgements(
    tmp_path: Path,
    referrers_policy_file: Path,
    server: tuple[Any, Recorder],
    certificate: tuple[Path, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    controller, handler = server
    path = tmp_path / "registre.sqlite"
    store = _register_file(path, referrers_policy_file)
    _build_due(Register(store, mt_access.load_policy(referrers_policy_file)))
    store.close()
    _smtp_env(monkeypatch, controller, certificate)

    def run(*args: str) -> str:
        base = ["envoyer", "--registre", str(path), "--date", "10/03/2026", "--format", "md"]
        return _cli(*base, *args)

    preview = run()
    assert "Aperçu" in preview
    assert "accusé de réception au patient" in preview
    assert "accusé de réception à l'adresseur" in preview
    assert "retour à l'adresseur" in preview
    assert "Courriers de l'appariement n° 1 compris." in preview
    assert "9 courrier(s) : 5 à envoyer, 4 refusé." in preview
    assert handler.messages == []
    only = run("--seulement", "accuses")
    assert "3 courrier(s) : 2 à envoyer, 1 refusé." in only
    assert "dossier qualifié" not in only

    sent = run("--envoyer")
    assert "5 envoyé" in sent
    assert "Accusé de réception enregistré pour 1 demande(s) (au 10/03/2026) : RA." in sent
    recipients = sorted(r for m in handler.messages for r in m.recipients)
    assert recipients == sorted([MSSANTE, PATIENT, "p.ra@example.org", REFERRER, REFERRER])
    subjects = sorted(str(m.message["Subject"]) for m in handler.messages)
    assert any("accusé de réception à l'adresseur (demande RA)" in s for s in subjects)
    assert any("retour à l'adresseur (demande RC)" in s for s in subjects)
    for secret in (PASSWORD, MSSANTE, PATIENT, REFERRER, "Testnomra", "Testnomrc"):
        assert secret not in sent

    again = run("--envoyer")
    assert "envoyé" not in again.replace("déjà envoyé", "")
    assert "3 déjà envoyé" in again  # the run's two letters and the feedback; RA is acknowledged
    assert not any(line.startswith("RA ") for line in again.splitlines())  # acknowledged
    assert any(line.startswith("RC ") for line in again.splitlines())
    assert len(handler.messages) == 5
    reopened = SQLiteStore(path)
    try:
        register = Register(reopened, mt_access.load_policy(referrers_policy_file))
        assert register.file("RA").state.value == "acknowledged"
        assert register.file("RB").state.value == "received"  # refused: send it by post
        assert len(reopened.sendings()) == 5
    finally:
        reopened.close()


def test_erasing_a_request_blanks_its_sendings(
    tmp_path: Path,
    policy_file: Path,
    policy: mt_access.Policy,
    server: tuple[Any, Recorder],
    certificate: tuple[Path, Path],
) -> None:
    controller, handler = server
    handler.refused.add(PATIENT)  # the answer names the address (masked)
    path = tmp_path / "registre.sqlite"
    store = _register_file(path, policy_file)
    register = Register(store, policy)
    _build(register)
    letters, _ = letters_of_run(register)
    send_letters(register, letters, send=True, smtp=_smtp(controller, certificate), attachment="md")
    kept = [r for r in store.sendings() if r.request_id == "R1"]
    assert kept
    assert all(r.recipient == "p***@example.org" for r in kept)
    assert any("p***@example.org" in r.answer for r in kept)
    store.close()
    _cli("demande", "effacer", "R1", "--oui", "--registre", str(path))
    store = SQLiteStore(path)
    try:
        erased = [r for r in store.sendings() if r.request_id == "R1"]
        assert [(r.attempt, r.code) for r in erased] == [(r.attempt, r.code) for r in kept]
        assert all(r.recipient == "" and "example.org" not in r.answer for r in erased)
        others = [r for r in store.sendings() if r.request_id != "R1"]
        assert [r.recipient for r in others] == ["d***@marcq.mssante.fr"]
        # erased, the request has no letter any more: nothing is planned for it
        again = Register(store, policy)
        assert all(
            p.status == "refuse" and p.reason == "données personnelles effacées"
            for p in plan_sending(again, letters, attachment="md")
            if p.letter.request_id == "R1"
        )
    finally:
        store.close()
    assert b"p***@example.org" not in path.read_bytes()
    conn = sqlite3.connect(path)
    try:  # the records are append-only again
        with pytest.raises(sqlite3.IntegrityError, match="ne se modifient pas"):
            conn.execute("UPDATE sendings SET answer = 'x'")
    finally:
        conn.close()


def test_the_cli_choices_are_the_groups() -> None:
    from mt_access.cli.send_command import SEND_GROUPS
    from mt_access.letters.sending import GROUPS

    assert SEND_GROUPS == GROUPS
