"""Letters: French wording, privacy of the GP referral, templates a CPTS overrides, sandbox,
escaping, and writing the files. Every person here is generated."""

from __future__ import annotations

import datetime as dt
import html
import re
import string
from pathlib import Path

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mt_access
from factories import MOIRANS, doc, req
from mt_access import PatientIdentity, PolicyError, Referrer, ReferrerKind
from mt_access.letters import (
    Letter,
    LetterError,
    LetterKind,
    LetterTemplateError,
    LetterTemplates,
    acknowledgement,
    compose_referral,
    default_templates_folder,
    feedback_letter,
    letters_for_run,
    orientation_letter,
    referral_letter,
    write_letters,
)
from mt_access.letters.markup import escape_markdown
from mt_access.policy import REFERRAL_FIELDS
from mt_access.privacy import classify, referral
from mt_access.register import Register, RegisterOperationError
from register_support import D1, D2, add_waiting, join_gp, memory_register

RUN = dt.date(2026, 3, 5)
LATER = dt.date(2026, 3, 10)
MARCQ = "59378"
MARQUETTE = "59386"

IDENTITY = PatientIdentity(
    last_name="Testnom",
    first_name="Testprénom",
    phone="0600000001",
    email="patient.test@example.org",
    address="1 rue de l'Essai, 38500 Voiron",
)
REFERRER = Referrer(ReferrerKind.SOCIAL_WORKER, "Service social Testville", "social@example.org")


@pytest.fixture(scope="module")
def deule() -> mt_access.Policy:
    return mt_access.load_policy("deule_marque")


@pytest.fixture(scope="module")
def templates() -> LetterTemplates:
    return LetterTemplates.from_folder()


def _waiting(
    register: Register, request: mt_access.Request, identity: PatientIdentity = IDENTITY
) -> None:
    add_waiting(register, request, identity)


# --------------------------------------------------------------------------------------------
# The shipped templates


def test_shipped_templates_are_package_resources() -> None:
    folder = default_templates_folder()
    for kind in LetterKind:
        assert folder.joinpath(kind.template).is_file()
        assert "{{" in folder.joinpath(kind.template).read_text(encoding="utf-8")
    templates = LetterTemplates.from_folder()
    assert all(templates.is_default(kind) for kind in LetterKind)
    assert "_signature.md.j2" in templates.names()


# --------------------------------------------------------------------------------------------
# Acknowledgements


def test_acknowledgement_to_the_patient(voironnais: mt_access.Policy) -> None:
    register = memory_register(voironnais)
    register.add_request(req("R1", received=D1, referrer=REFERRER), IDENTITY)
    letter = acknowledgement(register, "R1", D2)
    assert letter.kind is LetterKind.ACK_PATIENT
    assert letter.recipient == "patient"
    assert letter.subject == "Accusé de réception de votre demande de médecin traitant"
    for text in (letter.text, letter.markdown):
        assert "CPTS du Voironnais" in text
        assert "Bonjour Testprénom Testnom" in text
        assert "Nous avons bien reçu, le 2 mars 2026" in text
        assert "R1" in text
        assert "transmise par Service social Testville" in text
        # the policy's letters section: signature and contact
        assert "L'équipe de coordination de la CPTS du Voironnais" in text
        assert "contact@cptsduvoironnais.com" in text
    assert "Le 3 mars 2026" in letter.text
    assert "**R1**" in letter.markdown
    assert "**" not in letter.text
    assert letter.html is not None
    assert "<h1>Accusé de réception de votre demande de médecin traitant</h1>" in letter.html


def test_acknowledgement_to_the_referrer(voironnais: mt_access.Policy) -> None:
    register = memory_register(voironnais)
    request = req("R1", received=D1, referrer=REFERRER, ald=True, comments="suivi diabète")
    register.add_request(request, IDENTITY)
    letter = acknowledgement(register, "R1", D2, to="referrer")
    assert letter.kind is LetterKind.ACK_REFERRER
    assert letter.recipient == "Service social Testville"
    assert "À l'attention de Service social Testville (travailleur social" in letter.text
    assert "pour Testprénom Testnom" in letter.text
    # no medical detail, no contact of the patient
    for absent in ("ALD", "diabète", IDENTITY.phone, IDENTITY.email, IDENTITY.address):
        assert absent not in letter.text
        assert absent not in letter.markdown


def test_no_referrer_no_letter_to_the_referrer(voironnais: mt_access.Policy) -> None:
    register = memory_register(voironnais)
    register.add_request(req("R1", received=D1), IDENTITY)  # the patient asked themselves
    with pytest.raises(LetterError, match="R1 : pas d'adresseur") as info:
        acknowledgement(register, "R1", D2, to="referrer")
    assert "Testnom" not in str(info.value)
    with pytest.raises(LetterError, match="pas d'adresseur"):
        feedback_letter(register, "R1", D2)
    with pytest.raises(LetterError, match="destinataire inconnu"):
        acknowledgement(register, "R1", D2, to="médecin")  # type: ignore[arg-type]


def test_blank_identity_gets_a_formal_greeting(voironnais: mt_access.Policy) -> None:
    register = memory_register(voironnais)
    register.add_request(req("R1", received=D1))
    assert "Madame, Monsieur," in acknowledgement(register, "R1", D2).text


# --------------------------------------------------------------------------------------------
# The GP referral


def test_referral_letter(voironnais: mt_access.Policy) -> None:
    register = memory_register(voironnais)
    join_gp(register, "MG1")
    _waiting(register, req("R1", age=75, ald=True, received=D1, referrer=REFERRER))
    with pytest.raises(RegisterOperationError, match="aucune proposition en cours"):
        referral_letter(register, "R1", "MG1", RUN)
    register.propose("R1", "MG1", RUN)
    letter = referral_letter(register, "R1", "MG1", RUN)
    assert letter.kind is LetterKind.REFERRAL
    assert letter.recipient == "Dr MG1"
    assert letter.physician_id == "MG1"
    assert letter.filename("md") == "R1_dossier_medecin_MG1.md"
    text = letter.text
    assert "CPTS du Voironnais" in text
    assert "À l'attention de Dr MG1 (Voiron)" in text
    assert "Niveau de priorité : prioritaire" in text
    assert "J'accepte" in text
    assert "Je refuse" in text
    assert "reçue le 02/03/2026" in text
    for label, value in register.referral("R1", RUN, "MG1"):
        assert f"- {label} : {value or 'non renseigné'}" in text
    # fields the policy does not list (defaults: no e-mail, no address, no referrer)
    for absent in (IDENTITY.email, IDENTITY.address, "Service social Testville"):
        assert absent not in text
        assert absent not in letter.markdown
        assert absent not in (letter.html or "")


_MARKER = st.text(alphabet=string.ascii_uppercase, min_size=8, max_size=12)


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    fields=st.lists(st.sampled_from(REFERRAL_FIELDS), unique=True, max_size=len(REFERRAL_FIELDS)),
    suffix=_MARKER,
)
def test_referral_never_shows_excluded_fields(
    voironnais: mt_access.Policy,
    templates: LetterTemplates,
    fields: list[str],
    suffix: str,
) -> None:
    policy = attrs.evolve(voironnais, referral_fields=tuple(fields))
    markers = {
        "last_name": f"Nomzq{suffix}",
        "first_name": f"Prenomzq{suffix}",
        "birth_name": f"Naisszq{suffix}",
        "phone": f"Telzq{suffix}",
        "email": f"Mailzq{suffix}@example.org",
        "address": f"Adrzq{suffix}",
        "identifier": f"Identzq{suffix}",
        "comments": f"Commzq{suffix}",
        "previous_mt": f"Ancienzq{suffix}",
    }
    identity = PatientIdentity(**{k: v for k, v in markers.items() if hasattr(IDENTITY, k)})
    request = req(
        "R1",
        received=D1,
        comments=markers["comments"],
        previous_mt=mt_access.PreviousDoctor(markers["previous_mt"], MOIRANS),
        referrer=Referrer(ReferrerKind.HOSPITAL, f"Adresseurzq{suffix}", f"Contzq{suffix}"),
    )
    pairs = referral(request, identity, policy, RUN)
    level = classify(request, policy, RUN)
    letter = compose_referral(
        "R1",
        D1,
        pairs,
        doc("MG1"),
        policy,
        RUN,
        level=level.level,
        priority=level.priority,
        templates=templates,
    )
    rendered = (letter.text, letter.markdown, letter.html or "", letter.subject)
    for field, marker in markers.items():
        shown = any(marker in part for part in rendered)
        assert shown == (field in fields), field
    # the referrer's name and contact are never in a referral
    assert not any("Adresseurzq" in part or "Contzq" in part for part in rendered)


def test_referral_refuses_erased_requests(voironnais: mt_access.Policy) -> None:
    register = memory_register(voironnais)
    join_gp(register, "MG1")
    _waiting(register, req("R1", received=D1, referrer=REFERRER))
    register.erase("R1", RUN)
    calls = [
        lambda: referral_letter(register, "R1", "MG1", LATER),
        lambda: acknowledgement(register, "R1", LATER),
        lambda: acknowledgement(register, "R1", LATER, to="referrer"),
        lambda: feedback_letter(register, "R1", LATER),
        lambda: orientation_letter(register, "R1", LATER),
    ]
    for call in calls:
        with pytest.raises(LetterError, match="R1 : données personnelles effacées"):
            call()
    with pytest.raises(RegisterOperationError, match="demande inconnue : R9"):
        acknowledgement(register, "R9", LATER)
    register2 = memory_register(voironnais)
    _waiting(register2, req("R1", received=D1))
    with pytest.raises(RegisterOperationError, match="médecin inconnu : MG9"):
        referral_letter(register2, "R1", "MG9", LATER)


# --------------------------------------------------------------------------------------------
# Feedback to the referrer


def test_feedback_mt_found_names_the_gp(voironnais: mt_access.Policy) -> None:
    register = memory_register(voironnais)
    join_gp(register, "MG1", MOIRANS)
    _waiting(register, req("R1", received=D1, referrer=REFERRER, ald=True, comments="diabète"))
    before = feedback_letter(register, "R1", D2)
    assert "La demande est en liste d'attente" in before.text
    register.run_match(RUN)
    assert "proposée à un médecin généraliste du dispositif" in (
        feedback_letter(register, "R1", RUN).text
    )
    register.answer("R1", "MG1", LATER, accepted=True)
    letter = feedback_letter(register, "R1", LATER)
    assert letter.kind is LetterKind.FEEDBACK
    assert letter.recipient == "Service social Testville"
    assert "Un médecin traitant a été trouvé : Dr MG1 (Moirans), le 10/03/2026" in letter.text
    assert "pour Testprénom Testnom" in letter.text
    for absent in ("ALD", "diabète", IDENTITY.phone, IDENTITY.address, "prioritaire"):
        assert absent not in letter.text


@pytest.mark.parametrize(
    ("exit_", "reason"),
    [
        ("withdraw", "désistement du patient"),
        ("out_of_scope", "hors du champ du dispositif"),
        ("other_solution", "autre solution trouvée"),
    ],
)
def test_feedback_gives_the_exit_reason_in_french(
    voironnais: mt_access.Policy, exit_: str, reason: str
) -> None:
    register = memory_register(voironnais)
    _waiting(register, req("R1", received=D1, referrer=REFERRER))
    getattr(register, exit_)("R1", RUN, "commentaire interne")
    text = feedback_letter(register, "R1", LATER).text
    assert f"La demande est sortie du dispositif le 05/03/2026. Motif : {reason}." in text
    assert "commentaire interne" not in text


def test_feedback_after_an_orientation(deule: mt_access.Policy) -> None:
    register = memory_register(deule)
    join_gp(register, "MG1", MARCQ)
    _waiting(register, req("R1", MARCQ, age=30, received=D1, referrer=REFERRER))
    run = register.run_match(RUN)
    assert run.oriented == ("R1",)
    text = feedback_letter(register, "R1", LATER).text
    assert "Une orientation a été transmise le 05/03/2026" in text


# --------------------------------------------------------------------------------------------
# Orientation


def test_orientation_letters_after_a_run(deule: mt_access.Policy) -> None:
    register = memory_register(deule)
    join_gp(register, "MG1", MARCQ)
    join_gp(register, "MG2", MARCQ)
    _waiting(register, req("R1", MARCQ, age=30, received=D1))  # not priority: orientation
    _waiting(register, req("R2", MARCQ, age=80, received=D1))  # priority: nearest GP
    run = register.run_match(RUN)
    letters = letters_for_run(register, run, RUN)
    kinds = [(letter.kind, letter.request_id, letter.physician_id) for letter in letters]
    assert kinds == [
        (LetterKind.REFERRAL, "R2", run.proposed[0][1]),
        (LetterKind.ORIENTATION, "R1", None),
    ]
    text = letters[1].text
    assert "CPTS Deûle Marque" in text
    assert "- Dr MG1 — Marcq-en-Barœul" in text
    assert "- Dr MG2 — Marcq-en-Barœul" in text
    for resource in deule.resources:
        assert resource.name in text
    assert "téléconsultation" in text
    assert "Centre de téléconsultation de Marcq-en-Barœul" in letters[1].markdown


def test_orientation_without_a_match_result_lists_the_commune_gps(
    deule: mt_access.Policy,
) -> None:
    register = memory_register(deule)
    join_gp(register, "MG1", MARCQ)
    join_gp(register, "MG2", MARCQ)
    join_gp(register, "MG3", MARQUETTE)  # another commune
    join_gp(register, "MG4", MARCQ)
    register.suspend("MG4", D2, None)  # not active
    register.add_physician(doc("MG5", MARCQ, accepting_new_patients=False))
    _waiting(register, req("R1", MARCQ, age=30, received=D1))
    letter = orientation_letter(register, "R1", RUN)
    assert "Dr MG1" in letter.text
    assert "Dr MG2" in letter.text
    for absent in ("Dr MG3", "Dr MG4", "Dr MG5"):
        assert absent not in letter.text
    assert "CMSI" in letter.text
    # no GP in the commune
    _waiting(register, req("R2", "59636", age=30, received=D1))
    empty = orientation_letter(register, "R2", RUN)
    assert "Aucun médecin généraliste du dispositif n'accepte actuellement" in empty.text
    assert "(Wambrechies)" in empty.text


TILLEULS = mt_access.PracticeContact(
    phone="03 20 00 00 01",
    mssante="dr.mg1@medecin.mssante.fr",
    address="1 rue Fictive, 59700 Marcq-en-Barœul",
    practice="Cabinet des Tilleuls",
    notes="Rendez-vous en ligne uniquement.",
)


def test_orientation_letters_give_the_gps_contact(deule: mt_access.Policy) -> None:
    register = memory_register(deule)
    join_gp(register, "MG1", MARCQ)
    join_gp(register, "MG2", MARCQ)  # no contact recorded
    (mg1,) = [p for p in register.physicians() if p.id == "MG1"]
    register.update_physicians([attrs.evolve(mg1, contact=TILLEULS)])
    _waiting(register, req("R1", MARCQ, age=30, received=D1))
    run = register.run_match(RUN)
    (letter,) = [x for x in letters_for_run(register, run, RUN) if x.request_id == "R1"]
    text = letter.text
    assert "- Dr MG1, Cabinet des Tilleuls — Marcq-en-Barœul" in text
    assert "Adresse : 1 rue Fictive, 59700 Marcq-en-Barœul" in text
    assert "Téléphone : 03 20 00 00 01" in text
    assert "Rendez-vous en ligne uniquement." in text
    assert "mssante" not in text  # for professionals, not in the patient's letter
    assert "- Dr MG2 — Marcq-en-Barœul" in text
    assert text.count("Téléphone :") == 1
    # without a match result (the commune's GPs) too
    assert "Téléphone : 03 20 00 00 01" in orientation_letter(register, "R1", RUN).text


def test_k_nearest_orientation_letter_lists_each_gps_contact(
    deule: mt_access.Policy,
) -> None:
    register = memory_register(deule)
    for n, commune in enumerate((MARQUETTE, MARCQ, "59636"), 1):
        join_gp(register, f"MG{n}", commune)
    by_id = {p.id: p for p in register.physicians()}
    register.update_physicians(
        [
            attrs.evolve(
                by_id[f"MG{n}"],
                contact=mt_access.PracticeContact(
                    phone=f"03 20 00 00 0{n}", address=f"{n} rue Fictive"
                ),
            )
            for n in (1, 2, 3)
        ]
    )
    _waiting(register, req("R1", MARCQ, age=30, received=D1))
    nearest = mt_access.Orientation(
        "R1",
        "non prioritaire",
        1,
        "k_nearest",
        tuple(
            mt_access.OrientedPhysician(pid, f"Dr {pid}", commune, km)
            for pid, commune, km in (
                ("MG2", MARCQ, 0.0),
                ("MG1", MARQUETTE, 2.4),
                ("MG3", "59636", 7.1),
            )
        ),
    )
    text = orientation_letter(register, "R1", RUN, orientation=nearest).text
    positions = [text.index(f"Téléphone : 03 20 00 00 0{n}") for n in (2, 1, 3)]
    assert positions == sorted(positions)
    assert "Adresse : 1 rue Fictive" in text
    assert "(à 2,4 km)" in text


def test_orientation_of_another_request_is_refused(deule: mt_access.Policy) -> None:
    register = memory_register(deule)
    join_gp(register, "MG1", MARCQ)
    _waiting(register, req("R1", MARCQ, age=30, received=D1))
    _waiting(register, req("R2", MARCQ, age=30, received=D1))
    run = register.run_match(RUN)
    with pytest.raises(LetterError, match="concerne la demande R1"):
        orientation_letter(register, "R2", RUN, orientation=run.result.orientations[0])


# --------------------------------------------------------------------------------------------
# Templates of a CPTS


def _policy_with_folder(tmp_path: Path, voironnais: mt_access.Policy) -> mt_access.Policy:
    source = Path(voironnais.source).read_text(encoding="utf-8")
    source = source.replace("letters:\n", "letters:\n  folder: courriers/\n", 1)
    assert "folder: courriers/" in source
    path = tmp_path / "ma_cpts.yaml"
    path.write_text(source, encoding="utf-8")
    (tmp_path / "courriers").mkdir(exist_ok=True)
    return mt_access.load_policy(path)


def test_a_policy_folder_replaces_templates_one_by_one(
    tmp_path: Path, voironnais: mt_access.Policy
) -> None:
    policy = _policy_with_folder(tmp_path, voironnais)
    assert policy.letters is not None
    assert policy.letters.folder_path() == tmp_path / "courriers"
    (tmp_path / "courriers" / "accuse_reception_patient.md.j2").write_text(
        "# Bien reçu\n\nBonjour {{ patient.prenom }}, demande {{ demande.numero }}.\n\n"
        '{% include "_signature.md.j2" %}',
        encoding="utf-8",
    )
    (tmp_path / "courriers" / "_signature.md.j2").write_text(
        "Signé : {{ cpts.signature }}\n", encoding="utf-8"
    )
    templates = LetterTemplates.for_policy(policy)
    assert not templates.is_default(LetterKind.ACK_PATIENT)
    assert templates.is_default(LetterKind.ACK_REFERRER)
    register = memory_register(policy)
    register.add_request(req("R1", received=D1, referrer=REFERRER), IDENTITY)
    mine = acknowledgement(register, "R1", D2, templates=templates)
    assert mine.subject == "Bien reçu"
    assert "Bonjour Testprénom, demande R1." in mine.text
    assert "Signé : L'équipe de coordination de la CPTS du Voironnais" in mine.text
    shipped = acknowledgement(register, "R1", D2, to="referrer", templates=templates)
    assert "Nous avons bien reçu, le 2 mars 2026" in shipped.text
    assert "Signé : L'équipe" in shipped.text  # the partial is replaced for every letter


def _acknowledgement_error(
    tmp_path: Path, voironnais: mt_access.Policy, template: str
) -> tuple[Path, LetterTemplateError]:
    """The patient's acknowledgement of a request made with this template in the policy's
    folder: the template's path and the error it raised."""
    policy = _policy_with_folder(tmp_path, voironnais)
    path = tmp_path / "courriers" / "accuse_reception_patient.md.j2"
    path.write_text(template)
    register = memory_register(policy)
    register.add_request(req("R1", received=D1), IDENTITY)
    with pytest.raises(LetterTemplateError) as info:
        acknowledgement(register, "R1", D2)
    return path, info.value


def test_undefined_variable_names_the_file_and_line(
    tmp_path: Path, voironnais: mt_access.Policy
) -> None:
    template = "# Titre\n\nBonjour {{ patient.prenom }},\n{{ patient.prenomm }}\n"
    path, error = _acknowledgement_error(tmp_path, voironnais, template)
    assert error.template == str(path)
    assert error.line == 4
    assert "prenomm" in str(error)
    assert f"{path}, ligne 4" in str(error)
    assert isinstance(error, mt_access.MtAccessError)
    assert "Testprénom" not in str(error)


def test_a_computed_undefined_name_is_not_repeated(
    tmp_path: Path, voironnais: mt_access.Policy
) -> None:
    """A key computed from data may be personal data: the message does not repeat it."""
    _, error = _acknowledgement_error(tmp_path, voironnais, "{{ cpts[patient.nom] }}\n")
    assert "variable ou attribut inconnu" in str(error)
    assert "Testnom" not in str(error)
    assert error.line == 1


def test_syntax_error_names_the_file_and_line_at_load(
    tmp_path: Path, voironnais: mt_access.Policy
) -> None:
    policy = _policy_with_folder(tmp_path, voironnais)
    path = tmp_path / "courriers" / "orientation.md.j2"
    path.write_text("# Titre\n\n{% for m in medecins %}\n- {{ m.nom }}\n")
    with pytest.raises(LetterTemplateError, match="syntaxe invalide") as info:
        LetterTemplates.for_policy(policy)
    assert info.value.template == str(path)
    assert info.value.line is not None


def test_unknown_template_file_and_missing_folder(
    tmp_path: Path, voironnais: mt_access.Policy
) -> None:
    policy = _policy_with_folder(tmp_path, voironnais)
    typo = tmp_path / "courriers" / "accuse_reception_patien.md.j2"
    typo.write_text("x")
    with pytest.raises(LetterTemplateError, match="ne remplace aucun modèle") as info:
        LetterTemplates.for_policy(policy)
    assert "accuse_reception_patient.md.j2" in str(info.value)
    typo.unlink()
    (tmp_path / "courriers").rmdir()
    with pytest.raises(LetterTemplateError, match="dossier de modèles introuvable"):
        LetterTemplates.for_policy(policy)


@pytest.mark.parametrize(
    ("added", "message"),
    [
        ("  dossier: courriers/\n", r"\$\.letters\.dossier: clé inconnue 'dossier'"),
        ("  signature: [a, b]\n", r"\$\.letters\.signature: texte attendu, reçu une liste"),
        ("  folder: ''\n", r"\$\.letters\.folder: chemin d'un dossier"),
    ],
)
def test_letters_section_errors_name_the_key_and_line(
    tmp_path: Path, added: str, message: str
) -> None:
    base = Path(mt_access.load_policy("voironnais").source).read_text(encoding="utf-8")
    path = tmp_path / "p.yaml"
    head = base[: base.index("\nletters:\n")]  # the shipped section is the last one
    path.write_text(f"{head}\nletters:\n{added}", encoding="utf-8")
    with pytest.raises(PolicyError, match=message) as info:
        mt_access.load_policy(path)
    assert info.value.line is not None
    assert info.value.source == str(path)


# --------------------------------------------------------------------------------------------
# Sandbox and escaping


@pytest.mark.parametrize(
    "body",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ cpts.__class__.__init__.__globals__ }}",
        "{{ dossier.append('x') }}",
        "{% set x = cpts.update({'nom': 'x'}) %}",
    ],
)
def test_the_sandbox_refuses_python_internals(
    tmp_path: Path, voironnais: mt_access.Policy, body: str
) -> None:
    policy = _policy_with_folder(tmp_path, voironnais)
    (tmp_path / "courriers" / "dossier_medecin.md.j2").write_text(f"# T\n\n{body}\n")
    register = memory_register(policy)
    join_gp(register, "MG1")
    _waiting(register, req("R1", received=D1))
    register.propose("R1", "MG1", RUN)
    with pytest.raises(LetterTemplateError) as info:
        referral_letter(register, "R1", "MG1", RUN)
    assert info.value.line == 3
    assert "object" not in str(info.value)


def test_data_is_never_compiled_as_a_template(voironnais: mt_access.Policy) -> None:
    register = memory_register(voironnais)
    hostile = PatientIdentity(last_name="{{ cpts.nom }}", first_name="{% for x in y %}")
    register.add_request(req("R1", received=D1), hostile)
    letter = acknowledgement(register, "R1", D2)
    assert "Bonjour {% for x in y %} {{ cpts.nom }}," in letter.text


def test_markdown_escapes_a_hostile_name(voironnais: mt_access.Policy) -> None:
    markdown = pytest.importorskip("markdown")
    register = memory_register(voironnais)
    hostile = PatientIdentity(
        last_name="**Gras** [lien](http://example.org) <script>alert(1)</script>",
        first_name="# Titre",
    )
    request = req("R1", received=D1, referrer=REFERRER, comments="ligne 1\n# ligne 2\n- ligne 3")
    register.add_request(request, hostile)
    letter = acknowledgement(register, "R1", D2)
    assert "Bonjour # Titre **Gras** [lien](http://example.org) <script>" in letter.text
    assert "\\# Titre \\*\\*Gras\\*\\* \\[lien\\](http://example.org) \\<script\\>" in (
        letter.markdown
    )
    as_html = markdown.markdown(letter.markdown)
    assert "<h1>Titre" not in as_html
    assert "<strong>Gras</strong>" not in as_html
    assert "<a href" not in as_html
    assert "<script>" not in as_html
    assert letter.html is not None
    assert "<script>" not in letter.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in letter.html
    assert "<strong>Gras</strong>" not in letter.html
    # free text with line breaks (comments) in a referral, when the policy shows them
    policy = attrs.evolve(voironnais, referral_fields=("age", "comments"))
    pairs = referral(request, hostile, policy, RUN)
    level = classify(request, policy, RUN)
    templates = LetterTemplates.from_folder()
    letter = compose_referral(
        "R1", D1, pairs, doc("MG1"), policy, RUN, level=level.level, priority=False,
        templates=templates,
    )  # fmt: skip
    as_html = markdown.markdown(letter.markdown)
    assert "<h1>ligne 2" not in as_html
    assert "ligne 1" in letter.text
    assert "# ligne 2" in letter.text


@given(st.text(alphabet=st.characters(blacklist_categories=["Cc", "Cs", "Co"]), max_size=40))
def test_escape_markdown_is_reversible(text: str) -> None:
    escaped = escape_markdown(text)
    assert re.sub(r"\\(.)", r"\1", escaped, flags=re.DOTALL) == text


@settings(max_examples=50, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    name=st.text(
        alphabet=st.characters(blacklist_categories=["Cc", "Cs", "Co", "Zl", "Zp"]),
        min_size=1,
        max_size=30,
    ).filter(lambda s: s.strip() == s and s.strip())
)
def test_any_name_is_shown_as_written(
    voironnais: mt_access.Policy, templates: LetterTemplates, name: str
) -> None:
    from mt_access.letters import compose_acknowledgement

    identity = PatientIdentity(last_name=name)
    letter = compose_acknowledgement(
        req("R1", received=D1), identity, voironnais, D2, templates=templates
    )
    assert f"Bonjour {name}," in letter.text
    assert letter.html is not None
    assert f"Bonjour {html.escape(name, quote=False)}," in letter.html


# --------------------------------------------------------------------------------------------
# Writing


def test_write_letters_names_files_by_request_and_kind(
    tmp_path: Path, voironnais: mt_access.Policy
) -> None:
    register = memory_register(voironnais)
    join_gp(register, "MG1")
    _waiting(register, req("R1", received=D1, referrer=REFERRER))
    register.propose("R1", "MG1", RUN)
    letters = [
        acknowledgement(register, "R1", D2),
        acknowledgement(register, "R1", D2, to="referrer"),
        referral_letter(register, "R1", "MG1", RUN),
    ]
    written = write_letters(letters, tmp_path / "sortie", formats=("txt", "md", "html"))
    names = sorted(p.name for p in written)
    assert names == sorted(
        f"R1_{kind}.{fmt}"
        for kind in (
            "accuse_reception_patient",
            "accuse_reception_adresseur",
            "dossier_medecin_MG1",
        )
        for fmt in ("txt", "md", "html")
    )
    for path in written:
        assert "Testnom" not in path.name
        assert "Testprénom" not in path.name
    assert sorted(p.name for p in (tmp_path / "sortie").iterdir()) == names  # no temporary file
    text = (tmp_path / "sortie" / "R1_accuse_reception_patient.txt").read_text(encoding="utf-8")
    assert text == letters[0].text
    with pytest.raises(LetterError, match="format de courrier inconnu"):
        write_letters(letters, tmp_path, formats=("docx",))
    with pytest.raises(LetterError, match="même nom de fichier"):
        write_letters([letters[0], letters[0]], tmp_path)


def test_letter_file_names_are_safe() -> None:
    letter = Letter(
        kind=LetterKind.REFERRAL,
        request_id="../CPTS 001",
        recipient="Dr X",
        subject="s",
        text="t",
        markdown="m",
        physician_id="MG/1",
    )
    assert letter.filename("txt") == "CPTS-001_dossier_medecin_MG-1.txt"
    with pytest.raises(LetterError):
        letter.filename("exe")
    with pytest.raises(LetterError):
        letter.content("html")
