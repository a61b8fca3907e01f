"""The coordinator's pages: dashboard, list of requests (filters, sort, pagination), a
request's page and its lifecycle actions, stale pages. Generated data only."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("flask")
pytest.importorskip("flask_wtf")
pytest.importorskip("argon2")

from flask.testing import FlaskClient

from factories import MOIRANS, VOIRON, req
from mt_access import PatientIdentity
from mt_access.cli.places import places_by_physician
from mt_access.lifecycle import RequestState
from mt_access.loading import load_policy
from mt_access.register import Register
from mt_access.store.memory import MemoryStore
from mt_access.web.accounts import create_user
from mt_access.web.pages import PAGE_SIZE
from mt_access.web.request_pages import STALE_MESSAGE
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

_ROW_ID = re.compile(r'<th scope="row"><a href="/demandes/([^"]+)">')


def _ids(page: Any) -> list[str]:
    return _ROW_ID.findall(text(page))


# ------------------------------------------------------------------------------------------
# Dashboard


def test_the_dashboard_shows_the_month_the_levels_the_places_and_the_alerts(
    client: FlaskClient, register_file: Path
) -> None:
    login(client, "lea")
    page = text(client.get("/"))
    assert "Tableau de bord · mars 2026" in page
    assert "Chiffres du mois" in page
    assert "Attente par niveau de priorité" in page
    assert "Propositions sans réponse des médecins" in page
    with open_store(register_file) as store:
        proposed = store.summaries([RequestState.PROPOSED])
        physicians = store.physicians()
    pending = {pid for s in proposed for pid in s.proposed_to}
    assert pending
    for pid in pending:
        assert f"({pid})</th>" in page
    for physician in physicians:
        assert physician.id in page  # places left per GP
    assert "à accuser" in page


# ------------------------------------------------------------------------------------------
# List: filters, sort, search by id


def test_the_list_filters_by_state_and_sorts_by_waiting_time(
    client: FlaskClient, register_file: Path
) -> None:
    login(client, "lea")
    with open_store(register_file) as store:
        waiting = store.summaries([RequestState.WAITING])
    page = client.get("/demandes", query_string={"etat": "waiting", "tri": "attente"})
    assert page.status_code == 200
    expected = [s.id for s in sorted(waiting, key=lambda s: (s.received, s.id))]
    assert _ids(page) == expected
    assert f"{len(waiting)} demande(s)." in text(page)


def test_the_list_filters_by_commune_urgency_waiting_time_and_id(
    client: FlaskClient, register_file: Path
) -> None:
    login(client, "lea")
    with open_store(register_file) as store:
        every = store.summaries()
    commune = every[0].commune
    page = client.get("/demandes", query_string={"commune": commune})
    assert _ids(page) == [s.id for s in every if s.commune == commune]
    page = client.get("/demandes", query_string={"urgent": "oui"})
    assert _ids(page) == [s.id for s in every if s.urgent][:PAGE_SIZE]
    page = client.get("/demandes", query_string={"attente_min": "60"})
    old = [s.id for s in every if (TODAY - s.received).days >= 60]
    assert _ids(page) == old[:PAGE_SIZE]
    page = client.get("/demandes", query_string={"id": every[3].id})
    assert _ids(page) == [every[3].id]


def test_a_bad_filter_gets_a_french_message_next_to_the_field(client: FlaskClient) -> None:
    login(client, "lea")
    page = client.get("/demandes", query_string={"attente_min": "-3"})
    assert page.status_code == 400
    assert 'id="attente_min-erreur"' in text(page)
    assert "Un nombre de jours entre 0 et 3660." in text(page)


def test_the_list_filters_by_level(client: FlaskClient) -> None:
    login(client, "lea")
    policy = load_policy("voironnais")
    counts = {}
    for level in [lv.name for lv in policy.levels] + [policy.non_priority_level]:
        page = client.get("/demandes", query_string={"niveau": level, "etat": "waiting"})
        assert page.status_code == 200
        counts[level] = len(_ids(page))
        for cell in re.findall(r"</td><td>([^<]*)</td><td>\d\d/", text(page)):
            assert cell == level
    every = client.get("/demandes", query_string={"etat": "waiting"})
    assert sum(counts.values()) == len(_ids(every))


# ------------------------------------------------------------------------------------------
# Pagination over many requests, from the listing lines only


class CountingStore(MemoryStore):
    """A memory store that counts the full reads of requests."""

    def __init__(self) -> None:
        super().__init__()
        self.full_reads = 0

    def requests(self, states: Any = None) -> Any:
        self.full_reads += 10**6  # never wanted by the list
        return super().requests(states)

    def get_request(self, request_id: str) -> Any:
        self.full_reads += 1
        return super().get_request(request_id)


def test_pagination_reads_listing_lines_not_whole_requests() -> None:
    policy = load_policy("voironnais")
    store = CountingStore()
    register = Register(store, policy)
    day = dt.date(2026, 1, 1)
    items = [
        (req(f"G-{n:05d}", VOIRON if n % 3 else MOIRANS, received=day + dt.timedelta(days=n % 60)),
         PatientIdentity(last_name=f"Nom{n}", first_name="Exemple"), False)
        for n in range(1, 2 * PAGE_SIZE + 8)
    ]  # fmt: skip
    register.add_requests(items)
    create_user(store, "lea", "lecture", PASSWORD, actor="t", hasher=FAST_HASHER)
    with memory_app(store, policy).test_client() as client:
        login(client, "lea")
        store.full_reads = 0
        first = client.get("/demandes")
        assert "Page 1 sur 3" in text(first)
        assert _ids(first) == [f"G-{n:05d}" for n in range(1, PAGE_SIZE + 1)]
        assert store.full_reads <= PAGE_SIZE  # the levels of the page shown, nothing more
        third = client.get("/demandes", query_string={"page": "3"})
        assert _ids(third) == [f"G-{n:05d}" for n in range(2 * PAGE_SIZE + 1, 2 * PAGE_SIZE + 8)]
        assert 'rel="prev"' in text(third)
        assert 'rel="next"' not in text(third)
        beyond = client.get("/demandes", query_string={"page": "99"})
        assert _ids(beyond) == _ids(third)
        kept = client.get("/demandes", query_string={"tri": "commune", "commune": ""})
        # the filters stay on the next page, the empty ones are left out
        assert 'href="/demandes?page=2&amp;tri=commune" rel="next"' in text(kept)


# ------------------------------------------------------------------------------------------
# A request's page and its actions


def test_a_request_page_shows_identity_qualification_history_and_position(
    client: FlaskClient, register_file: Path
) -> None:
    rid = first_in(register_file, RequestState.WAITING)
    with open_store(register_file) as store:
        identity = store.get_identity(rid)
    assert identity is not None
    login(client, "lea")
    page = client.get(f"/demandes/{rid}")
    assert page.status_code == 200
    body = text(page)
    assert identity.last_name in body
    assert "Qualification" in body
    assert "Historique" in body
    assert "Position et attente estimée" in body
    position = client.get(f"/demandes/{rid}/position")
    assert position.status_code == 200
    assert "Rang dans la liste d'attente" in text(position)
    assert "Actions" not in body  # read-only account


def test_the_lifecycle_actions_go_through_the_register(
    client: FlaskClient, register_file: Path
) -> None:
    login(client, "claire")
    received = first_in(register_file, RequestState.RECEIVED)
    response = post_action(client, received, "accuser", commentaire="courrier envoyé")
    assert response.status_code == 303
    assert "Accusé de réception enregistré." in messages(client.get(f"/demandes/{received}"))
    post_action(client, received, "confirmer")
    file = stored_file(register_file, received)
    assert file.state is RequestState.WAITING
    assert file.history[1].comment == "courrier envoyé"
    post_action(client, received, "contact", resultat="injoignable")
    assert stored_file(register_file, received).contact_attempts == 1
    with open_store(register_file) as store:
        register = Register(store, load_policy("voironnais"))
        places = places_by_physician(register, TODAY)
    free = next((pid for pid, p in places.items() if p.left > 0), None)
    if free is not None:
        post_action(client, received, "proposer", medecin=free)
        assert stored_file(register_file, received).proposed_to == {free}
        post_action(client, received, "annuler-proposition", medecin=free, commentaire="erreur")
    post_action(client, received, "cloturer", motif="autre-solution")
    assert stored_file(register_file, received).state is RequestState.EXITED


def test_cancelling_a_proposal_needs_a_reason(client: FlaskClient, register_file: Path) -> None:
    rid = first_in(register_file, RequestState.PROPOSED)
    before = stored_file(register_file, rid)
    login(client, "claire")
    pid = sorted(before.proposed_to)[0]
    response = post_action(client, rid, "annuler-proposition", medecin=pid)
    assert response.status_code == 400
    assert "Indiquez le motif." in text(response)
    done = post_action(client, rid, "annuler-proposition", medecin=pid, commentaire="doublon")
    assert done.status_code == 303
    assert pid not in stored_file(register_file, rid).proposed_to


def test_an_event_the_state_forbids_is_refused_in_french(
    client: FlaskClient, register_file: Path
) -> None:
    rid = first_in(register_file, RequestState.WAITING)
    before = steps(register_file, rid)
    login(client, "claire")
    post_action(client, rid, "accuser")
    shown = messages(client.get(f"/demandes/{rid}"))
    assert "Impossible : la demande est « en liste d'attente »" in shown
    assert steps(register_file, rid) == before
    with open_store(register_file) as store:
        assert not request_audits(store, rid)


def test_erasure_needs_the_id_typed_again(client: FlaskClient, register_file: Path) -> None:
    rid = first_in(register_file, RequestState.WAITING)
    login(client, "claire")
    wrong = post_action(client, rid, "effacer", confirmation="autre")
    assert wrong.status_code == 400
    assert "rien n'a été effacé" in text(wrong).replace("&#39;", "'")
    with open_store(register_file) as store:
        assert store.erased_on(rid) is None
    right = post_action(client, rid, "effacer", confirmation=rid)
    assert right.status_code == 303
    with open_store(register_file) as store:
        assert store.erased_on(rid) == TODAY
        identity = store.get_identity(rid)
        assert identity == PatientIdentity()
    assert "Données personnelles effacées le" in text(client.get(f"/demandes/{rid}"))


def test_a_stale_page_changes_nothing(client: FlaskClient, register_file: Path) -> None:
    rid = first_in(register_file, RequestState.RECEIVED)
    login(client, "claire")
    _, token, step = request_form(client, rid)
    # meanwhile, another coordinator acknowledges it
    with open_store(register_file) as store:
        Register(store, load_policy("voironnais")).acknowledge(rid, TODAY)
        before = len(store.transitions(rid))
        audit_before = len(store.audit_entries())
    response = client.post(
        f"/demandes/{rid}/cloturer",
        data={"csrf_token": token, "etape": step, "motif": "retrait"},
    )
    assert response.status_code == 303
    shown = client.get(f"/demandes/{rid}")
    assert "Cette demande a changé depuis" in text(shown)
    assert STALE_MESSAGE.startswith("Cette demande a changé depuis")
    assert stored_file(register_file, rid).state is RequestState.ACKNOWLEDGED
    assert steps(register_file, rid) == before
    with open_store(register_file) as store:
        new = store.audit_entries()[: len(store.audit_entries()) - audit_before]
        assert all(not r.action.startswith("demande.") for r in new)


def test_a_stale_cancellation_whose_gp_answered_meanwhile_is_called_stale(
    client: FlaskClient, register_file: Path
) -> None:
    """The GP answered between the page and the cancellation: the GP is no longer a choice of
    the form, and the user is told the request changed (not « le formulaire contient des
    erreurs »); nothing is recorded."""
    rid = first_in(register_file, RequestState.PROPOSED)
    login(client, "claire")
    _, token, step = request_form(client, rid)
    gp = sorted(stored_file(register_file, rid).proposed_to)[0]
    with open_store(register_file) as store:
        Register(store, load_policy("voironnais")).answer(rid, gp, TODAY, accepted=False)
        before = len(store.transitions(rid))
    response = client.post(
        f"/demandes/{rid}/annuler-proposition",
        data={"csrf_token": token, "etape": step, "medecin": gp, "commentaire": "x"},
    )
    assert response.status_code == 303
    assert "Cette demande a changé depuis" in messages(client.get(f"/demandes/{rid}"))
    assert steps(register_file, rid) == before


def test_the_dashboard_alerts_are_current_and_the_month_figures_lag_a_minute_at_most(
    client: FlaskClient, register_file: Path, clock: Any
) -> None:
    login(client, "claire")
    first = text(client.get("/"))
    assert "chiffres du mois calculés le 16/03/2026 à 09:00 UTC" in first
    count = re.compile(r"(\d+) demande\(s\) reçue\(s\) à accuser")
    before = count.search(first)
    assert before is not None
    clock.advance(seconds=90)
    unchanged = text(client.get("/"))  # nothing changed: the figures are not computed again
    assert "chiffres du mois calculés le 16/03/2026 à 09:00 UTC" in unchanged
    received = first_in(register_file, RequestState.RECEIVED)
    with open_store(register_file) as store:  # another process writes: the alerts see it
        Register(store, load_policy("voironnais")).acknowledge(received, TODAY)
    page = text(client.get("/"))
    later = count.search(page)
    assert later is not None
    assert int(later.group(1)) == int(before.group(1)) - 1
    assert "chiffres du mois calculés le 16/03/2026 à 09:01 UTC" in page  # changed: again
    # an action through the pages: the alerts at once, the month's figures within a minute
    other = first_in(register_file, RequestState.RECEIVED)
    clock.advance(seconds=30)
    post_action(client, other, "accuser")
    page = text(client.get("/"))
    after = count.search(page)
    assert after is not None
    assert int(after.group(1)) == int(before.group(1)) - 2
    assert "chiffres du mois calculés le 16/03/2026 à 09:01 UTC" in page
    clock.advance(seconds=31)
    assert "chiffres du mois calculés le 16/03/2026 à 09:02 UTC" in text(client.get("/"))


def test_wtforms_own_messages_are_french(client: FlaskClient, register_file: Path) -> None:
    rid = first_in(register_file, RequestState.WAITING)
    login(client, "claire")
    response = post_action(client, rid, "proposer", medecin="MG-INCONNU")
    assert response.status_code == 400
    assert "N&#39;est pas un choix valide." in text(response)
    token = csrf_token(client, "/")
    capacity = client.post(
        "/medecins/MG001/capacite", data={"csrf_token": token, "capacite": "dix"}
    )
    assert capacity.status_code == 400
    assert "N&#39;est pas un entier valide." in text(capacity)
    assert "Not a valid" not in text(capacity)


def test_the_gps_select_writes_the_same_html_as_wtforms(app: Any) -> None:
    from wtforms.widgets import Select

    from mt_access.web.forms import ProposeForm, choices

    with app.test_request_context():
        form = ProposeForm(formdata=None, etape="1")
        form.medecin.choices = choices(
            [("MG1", "Dr <Exemple> & Fils (MG1)"), ("MG2", 'Ç\'est "guillemets" (MG2)')]
        )
        form.medecin.data = "MG2"
        fast = form.medecin(id="proposer-medecin")
        assert 'required><option value="MG1">Dr &lt;Exemple&gt; &amp; Fils' in fast
        assert fast == Select()(form.medecin, id="proposer-medecin")
