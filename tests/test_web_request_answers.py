"""A request's page, its further actions: a GP's answer recorded by the coordinator, a
resource's answer, the waiting list, the qualification edited with a reason (fields built
from the policy's questions, French messages under the fields, the next run's level), each
checked for stale pages, read-only accounts and CSRF. Generated data only."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("flask")
pytest.importorskip("flask_wtf")
pytest.importorskip("argon2")

from flask.testing import FlaskClient

from factories import doc, req
from mt_access import Modality, PatientIdentity
from mt_access.lifecycle import Event, RequestState
from mt_access.loading import load_policy
from mt_access.register import Register
from mt_access.store.memory import MemoryStore
from mt_access.web.accounts import create_user
from mt_access.web.request_pages import STALE_MESSAGE
from question_fixtures import POLICY, load
from request_page_support import (
    first_in,
    memory_app,
    messages,
    post_action,
    request_audits,
    request_form,
    steps,
    stored_file,
)
from web_support import (
    FAST_HASHER,
    PASSWORD,
    TODAY,
    app,
    client,
    clock,
    csrf_token,
    login,
    open_store,
    register_file,
    register_template,
    text,
)

__all__ = ["app", "client", "clock", "register_file", "register_template"]


def _proposed(path: Path) -> tuple[str, str]:
    with open_store(path) as store:
        for summary in store.summaries([RequestState.PROPOSED]):
            file = store.get_file(summary.id)
            assert file is not None
            if len(file.proposed_to) == 1:
                return summary.id, next(iter(file.proposed_to))
    raise AssertionError("no proposed request")


# ------------------------------------------------------------------------------------------
# A GP's answer recorded by the coordinator


def test_the_coordinator_records_a_gps_acceptance_as_the_command_does(
    client: FlaskClient, register_file: Path
) -> None:
    rid, gp = _proposed(register_file)
    login(client, "claire")
    page, _, _ = request_form(client, rid)
    assert "Réponse d&#39;un médecin à la proposition" in page
    done = post_action(client, rid, "reponse-medecin", medecin=gp, reponse="accepte")
    assert done.status_code == 303
    shown = messages(client.get(f"/demandes/{rid}"))
    assert "devient le médecin traitant ; demande" in shown
    file = stored_file(register_file, rid)
    assert file.state is RequestState.MT_FOUND
    assert file.history[-1].event is Event.ACCEPT
    assert file.history[-1].physician_id == gp
    with open_store(register_file) as store:
        audits = [(r.action, r.detail) for r in store.audit_entries(subject=rid)]
    assert ("demande.reponse-medecin", f"médecin {gp} accepte") in audits


def test_a_refusal_with_its_reason_puts_the_request_back_on_the_waiting_list(
    client: FlaskClient, register_file: Path
) -> None:
    rid, gp = _proposed(register_file)
    login(client, "claire")
    done = post_action(
        client, rid, "reponse-medecin", medecin=gp, reponse="refuse", commentaire="secteur"
    )
    assert done.status_code == 303
    assert "Refus de" in messages(client.get(f"/demandes/{rid}"))
    file = stored_file(register_file, rid)
    assert file.state is RequestState.WAITING
    assert gp in file.declined_by
    assert file.history[-1].comment == "secteur"
    with open_store(register_file) as store:
        details = [r.detail for r in store.audit_entries(subject=rid)]
    assert "secteur" not in " ".join(details)  # the reason stays out of the audit


def test_an_answer_without_its_choice_gets_french_messages_under_the_fields(
    client: FlaskClient, register_file: Path
) -> None:
    rid, gp = _proposed(register_file)
    login(client, "claire")
    before = steps(register_file, rid)
    missing = post_action(client, rid, "reponse-medecin", medecin=gp)
    assert missing.status_code == 400
    assert "Choisissez « Il accepte » ou « Il refuse »." in text(missing)
    other = post_action(client, rid, "reponse-medecin", medecin="MG-INCONNU", reponse="accepte")
    assert other.status_code == 400
    assert "N&#39;est pas un choix valide" in text(other)
    assert steps(register_file, rid) == before


def test_a_stale_page_records_no_answer(client: FlaskClient, register_file: Path) -> None:
    rid, gp = _proposed(register_file)
    login(client, "claire")
    _, token, step = request_form(client, rid)
    with open_store(register_file) as store:  # meanwhile, the GP answers through their link
        Register(store, load_policy("voironnais")).answer(rid, gp, TODAY, accepted=False)
        before = len(store.transitions(rid))
    response = client.post(
        f"/demandes/{rid}/reponse-medecin",
        data={"csrf_token": token, "etape": step, "medecin": gp, "reponse": "accepte"},
    )
    assert response.status_code == 303
    assert STALE_MESSAGE.replace("'", "&#39;") in text(client.get(f"/demandes/{rid}"))
    assert steps(register_file, rid) == before
    with open_store(register_file) as store:
        assert not request_audits(store, rid)


def test_read_only_accounts_see_no_form_and_get_403(
    client: FlaskClient, register_file: Path
) -> None:
    rid, gp = _proposed(register_file)
    login(client, "lea")
    page = text(client.get(f"/demandes/{rid}"))
    assert "reponse-medecin" not in page
    assert "Modifier la qualification" not in page
    token = csrf_token(client, "/")
    before = steps(register_file, rid)
    for action, data in (
        ("reponse-medecin", {"medecin": gp, "reponse": "accepte"}),
        ("qualifier", {"champ_ald": "oui", "commentaire": "appel"}),
        ("attente", {}),
        ("ressource", {"ressource": "DAC", "reponse": "vu"}),
        ("proposer-personnes", {"medecin": gp, "personnes": ["1"]}),
        ("sortie-personnes", {"motif": "retrait", "personnes": ["1"]}),
    ):
        response = client.post(
            f"/demandes/{rid}/{action}", data={"csrf_token": token, "etape": str(before), **data}
        )
        assert response.status_code == 403, action
    assert steps(register_file, rid) == before


def test_an_answer_without_its_csrf_token_is_refused(
    client: FlaskClient, register_file: Path
) -> None:
    rid, gp = _proposed(register_file)
    login(client, "claire")
    _, _, step = request_form(client, rid)
    response = client.post(
        f"/demandes/{rid}/reponse-medecin",
        data={"etape": step, "medecin": gp, "reponse": "accepte"},
    )
    assert response.status_code == 400
    assert "Le formulaire a expiré" in text(response)
    assert stored_file(register_file, rid).state is RequestState.PROPOSED


def test_a_confirmed_request_goes_on_the_waiting_list(
    client: FlaskClient, register_file: Path
) -> None:
    rid = first_in(register_file, RequestState.ACKNOWLEDGED)
    login(client, "claire")
    assert post_action(client, rid, "confirmer", sans_attente="y").status_code == 303
    page, _, _ = request_form(client, rid)
    assert "Mettre en liste d&#39;attente" in page
    assert post_action(client, rid, "attente", commentaire="rappel").status_code == 303
    assert stored_file(register_file, rid).state is RequestState.WAITING
    with open_store(register_file) as store:
        assert "demande.attente" in [r.action for r in store.audit_entries(subject=rid)]


# ------------------------------------------------------------------------------------------
# The qualification and the resources, on a policy with questions and a ``before`` resource


RESOURCES = """\
resources:
  - name: DAC
    kind: dispositif d'appui à la coordination
    contact: 04 00 00 00 02
    mode: before
    when:
      - kind: disability_or_chronic
        label: situation complexe
"""
D1 = dt.date(2026, 3, 2)


@pytest.fixture
def questions_app(tmp_path: Path) -> Iterator[tuple[FlaskClient, Register]]:
    policy = load(tmp_path, POLICY + RESOURCES)
    store = MemoryStore()
    register = Register(store, policy)
    register.add_requests(
        [
            (req("Q-1", received=D1, answers={"isole": False}), PatientIdentity("Fictif"), False),
            (
                req("Q-2", received=D1, answers={"isole": False}, disability_or_chronic=True),
                PatientIdentity("Fictif"),
                False,
            ),
            (req("H-1", received=D1, persons=2), PatientIdentity("Foyer"), False),
        ]
    )
    for rid in ("Q-1", "Q-2", "H-1"):
        register.acknowledge(rid, D1)
        register.confirm(rid, D1)
        register.to_waiting(rid, D1)
    register.add_physician(doc("MG1", capacity=None))
    register.join("MG1", D1, monthly_capacity=0, modalities=[Modality.OFFICE])
    for login_, role in (("claire", "coordinateur"), ("lea", "lecture")):
        create_user(store, login_, role, PASSWORD, actor="t", hasher=FAST_HASHER)
    with memory_app(store, policy).test_client() as made:
        yield made, register


@pytest.fixture
def coordinator(
    questions_app: tuple[FlaskClient, Register],
) -> tuple[FlaskClient, Register]:
    """:func:`questions_app` with a coordinator logged in."""
    login(questions_app[0], "claire")
    return questions_app


def _level(client: FlaskClient, rid: str) -> str:
    page = text(client.get("/appariement"))
    found = re.search(rf'<a href="/demandes/{rid}">{rid}</a></th><td>([^<]*)</td>', page)
    assert found is not None, page[:3000]
    return found.group(1)


def _qualify_data(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "champ_ald": "non",
        "champ_css": "non",
        "champ_ame": "non",
        "champ_disability_or_chronic": "non",
        "champ_urgent": "non",
        "q_isole": "non",
    }
    data.update(changes)
    return data


def test_the_qualification_form_is_built_from_the_policys_questions(
    coordinator: tuple[FlaskClient, Register],
) -> None:
    client, _ = coordinator
    page, _, _ = request_form(client, "Q-1")
    assert "Modifier la qualification" in page
    labels = (
        "Personne isolée",
        "Situation",
        "Aides",
        "Nombre de traitements",
        "Sortie d&#39;hôpital",
        "Précision",
        "ALD",
        "Soins nécessaires sous un mois",
    )
    for label in labels:
        assert label in page, label
    assert '<select id="qualifier-q_situation"' in page
    assert 'type="checkbox"' in page  # the multiple choice
    assert "Une date (jj/mm/aaaa) attendue." in page  # the hint of the date's field


def test_a_qualification_changes_the_level_at_the_next_run_preview(
    coordinator: tuple[FlaskClient, Register],
) -> None:
    client, register = coordinator
    assert _level(client, "Q-1") == "non prioritaire"
    done = post_action(
        client, "Q-1", "qualifier",
        **_qualify_data(q_isole="oui", q_aides=["Kiné", "Infirmier"], q_traitements="2,5",
                        champ_ald="oui", commentaire="appel du patient"),
    )  # fmt: skip
    assert done.status_code == 303, text(done)[:3000]
    assert "Qualification modifiée" in messages(client.get("/demandes/Q-1"))
    request = register.request("Q-1")
    assert request.answers["isole"] is True
    assert request.answers["aides"] == frozenset({"Kiné", "Infirmier"})
    assert request.answers["traitements"] == 2.5
    assert request.ald is True
    assert _level(client, "Q-1") == "fragile"
    page = text(client.get("/demandes/Q-1"))
    assert "Modifications de la qualification" in page
    assert "appel du patient" in page
    assert "Personne isolée : non → oui" in page
    assert "Aides : — → Infirmier, Kiné" in page
    audit = request_audits(register.store, "Q-1", "demande.qualifier")
    assert [r.detail for r in audit] == ["ald, isole, aides, traitements"]


def test_bad_values_get_french_messages_under_their_fields(
    coordinator: tuple[FlaskClient, Register],
) -> None:
    client, register = coordinator
    before = len(register.history("Q-1"))
    bad = post_action(
        client, "Q-1", "qualifier",
        **_qualify_data(q_traitements="99", q_sortie="31/02/2026", q_precision="x" * 41,
                        commentaire=""),
    )  # fmt: skip
    assert bad.status_code == 400
    page = text(bad).replace("&#39;", "'")
    assert re.search(r'id="qualifier-q_traitements-erreur">Un nombre ≥ 0 et ≤ 50 attendu', page)
    assert 'id="qualifier-q_sortie-erreur">Une date (jj/mm/aaaa) attendue.' in page
    assert 'id="qualifier-q_precision-erreur">Un texte de 40 caractères au plus attendu.' in page
    assert "Indiquez la raison de la modification (obligatoire)." in page
    assert 'value="99"' in page  # what was typed stays in the form
    assert len(register.history("Q-1")) == before


def test_nothing_changed_and_a_blank_reason_are_refused_in_french(
    coordinator: tuple[FlaskClient, Register],
) -> None:
    client, register = coordinator
    before = len(register.history("Q-1"))
    same = post_action(client, "Q-1", "qualifier", **_qualify_data(commentaire="rien"))
    assert same.status_code == 400
    assert "aucune modification" in text(same)
    blank = post_action(
        client, "Q-1", "qualifier", **_qualify_data(q_isole="oui", commentaire="  ")
    )
    assert blank.status_code == 400
    assert "Indiquez la raison de la modification (obligatoire)." in text(blank)
    assert len(register.history("Q-1")) == before
    assert not request_audits(register.store, "Q-1")


def test_a_stale_qualification_records_nothing(
    coordinator: tuple[FlaskClient, Register],
) -> None:
    client, register = coordinator
    _, token, step = request_form(client, "Q-1")
    register.qualify("Q-1", TODAY, fields={"css": True}, reason="autre coordinateur")
    before = len(register.history("Q-1"))
    response = client.post(
        "/demandes/Q-1/qualifier",
        data={"csrf_token": token, "etape": step, **_qualify_data(q_isole="oui", commentaire="x")},
    )
    assert response.status_code == 303
    assert "Cette demande a changé depuis" in messages(client.get("/demandes/Q-1"))
    assert len(register.history("Q-1")) == before
    assert register.request("Q-1").answers["isole"] is False


def test_a_resources_answer_lets_the_request_enter_its_gp_path(
    coordinator: tuple[FlaskClient, Register],
) -> None:
    client, register = coordinator
    page, _, _ = request_form(client, "Q-2")
    assert "Réponse d&#39;une ressource" in page
    assert "DAC (avant le parcours vers un médecin)" in page
    empty = post_action(client, "Q-2", "ressource", ressource="DAC", reponse=" ")
    assert empty.status_code == 400
    assert "Indiquez la réponse de la ressource." in text(empty)
    done = post_action(client, "Q-2", "ressource", ressource="DAC", reponse="prise en charge")
    assert done.status_code == 303
    shown = messages(client.get("/demandes/Q-2"))
    assert "Réponse de la ressource « DAC » enregistrée : la demande entrera" in shown
    last = register.history("Q-2")[-1]
    assert last.event is Event.RESOURCE_ANSWER
    assert last.resource == "DAC"
    assert last.comment == "prise en charge"
    audit = request_audits(register.store, "Q-2", "demande.ressource")
    assert [r.detail for r in audit] == ["ressource DAC"]


def test_read_only_sees_the_qualification_changes_but_no_form(
    questions_app: tuple[FlaskClient, Register],
) -> None:
    client, register = questions_app
    register.qualify("Q-1", TODAY, answers={"isole": True}, reason="appel")
    login(client, "lea")
    page = text(client.get("/demandes/Q-1"))
    assert "Personne isolée : non → oui" in page
    assert "Modifier la qualification" not in page
    assert "Réponse d&#39;une ressource" not in page


# ------------------------------------------------------------------------------------------
# Some persons of a household


def test_some_persons_of_a_household_are_proposed_and_others_leave(
    questions_app: tuple[FlaskClient, Register],
) -> None:
    client, register = questions_app
    register.add_physician(doc("MG2", capacity=None))
    register.join("MG2", D1, monthly_capacity=3, modalities=[Modality.OFFICE])
    login(client, "claire")
    page, _, _ = request_form(client, "H-1")
    assert "Personnes du foyer : 1 adulte 1 (demandeur) : en attente ; 2 adulte 2 : en attente" in (
        page
    )
    none = post_action(client, "H-1", "proposer-personnes", medecin="MG2")
    assert none.status_code == 400
    assert "Cochez au moins une personne." in text(none)
    done = post_action(client, "H-1", "proposer-personnes", medecin="MG2", personnes=["2"])
    assert done.status_code == 303
    assert register.file("H-1").people.proposals == (("MG2", (2,)),)
    no_reason = post_action(client, "H-1", "sortie-personnes", motif="cloture", personnes=["1"])
    assert no_reason.status_code == 400
    assert "Une clôture par la CPTS demande un commentaire qui la justifie." in text(no_reason)
    left = post_action(client, "H-1", "sortie-personnes", motif="retrait", personnes=["1"])
    assert left.status_code == 303
    shown = messages(client.get("/demandes/H-1"))
    assert "Sortie enregistrée pour la ou les personnes 1 ; demande H-1 : proposée" in shown
    file = register.file("H-1")
    assert file.state is RequestState.PROPOSED
    assert file.people.outcome(1) is not None
    details = {(r.action, r.detail) for r in request_audits(register.store, "H-1")}
    assert details == {
        ("demande.proposer-personnes", "médecin MG2 personnes 2"),
        ("demande.sortie-personnes", "retrait personnes 1"),
    }
    # the GP answers for the person proposed: the household's last person finds an MT
    accepted = post_action(client, "H-1", "reponse-medecin", medecin="MG2", reponse="accepte")
    assert accepted.status_code == 303
    assert register.file("H-1").state is RequestState.MT_FOUND


def test_a_refusal_of_the_register_for_a_form_no_longer_shown_is_said_at_the_top(
    coordinator: tuple[FlaskClient, Register],
) -> None:
    client, register = coordinator
    _, token, _ = request_form(client, "Q-1")
    register.erase("Q-1", TODAY)  # meanwhile; the request exits
    step = str(len(register.history("Q-1")))
    refused = client.post(
        "/demandes/Q-1/qualifier",
        data={"csrf_token": token, "etape": step, **_qualify_data(q_isole="oui", commentaire="x")},
    )
    assert refused.status_code == 400
    assert "données personnelles effacées, qualification impossible" in messages(refused)
    assert "Modifier la qualification" not in text(refused)


NEW_ACTIONS = (
    "reponse-medecin",
    "ressource",
    "attente",
    "qualifier",
    "proposer-personnes",
    "sortie-personnes",
)


@pytest.mark.parametrize("action", NEW_ACTIONS)
def test_every_new_action_checks_the_page_step_and_its_csrf_token(
    coordinator: tuple[FlaskClient, Register], action: str
) -> None:
    client, register = coordinator
    _, token, step = request_form(client, "H-1")
    before = len(register.history("H-1"))
    data = {"medecin": "MG1", "reponse": "accepte", "ressource": "DAC", "personnes": ["1"]}
    data |= _qualify_data(champ_ald="oui", commentaire="appel", motif="retrait")
    stale = client.post(
        f"/demandes/H-1/{action}", data={"csrf_token": token, "etape": str(before - 1), **data}
    )
    assert stale.status_code == 303
    assert "Cette demande a changé depuis" in messages(client.get("/demandes/H-1"))
    forged = client.post(f"/demandes/H-1/{action}", data={"etape": step, **data})
    assert forged.status_code == 400
    assert "Le formulaire a expiré" in text(forged)
    assert len(register.history("H-1")) == before
    assert not request_audits(register.store, "H-1")
