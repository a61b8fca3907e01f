"""Progressive enhancement with htmx in a real browser (Debian's Chromium through Playwright):
the list filtered and paged without reloading the page (its address updated, the back button
coming back to the previous list); the dashboard showing, without being reloaded, what a GP
answered through their link and what the command line recorded; a request's actions swapped
in place (a form's errors next to the field, the history and the state updated); and the
same pages without JavaScript. Every page reached is checked with axe-core, for ids used
twice and for CSP console messages, and screenshotted (:mod:`web_browser_support`).
Generated data only."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from mt_access.lifecycle import RequestState
from mt_access.loading import load_policy
from mt_access.register import Register
from mt_access.store.sqlite import SQLiteStore
from mt_access.transitions import Event
from mt_access.web.portal_links import issue_link, link_path
from web_browser_support import (
    SPARE_PLACES,
    LiveApp,
    OpenVisit,
    Visit,
    browser,
    browser_register,
    click,
    events,
    listed_requests,
    live,
    open_visit,
    unanswered_proposals,
    visits,
)
from web_support import TODAY, Clock

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

__all__ = ["browser", "browser_register", "live", "open_visit"]

pytestmark = pytest.mark.slow

ANSWERING_GP = "MG007"
"""A GP with unanswered proposals in the generated register (the March run)."""
REFRESH = 1
"""The dashboard's refresh period in these scenarios (seconds; 30 by default)."""


def _pager(page: Page) -> str:
    return page.locator(".pager").inner_text()


def _focused_id(page: Page) -> str:
    return str(page.evaluate("() => document.activeElement && document.activeElement.id"))


def _reloaded(visit: Visit) -> Page:
    """Wait until the document marked by :meth:`Visit.marked` was replaced by a new one."""
    visit.page.wait_for_function("() => window.mtNotReloaded !== true")
    visit.page.wait_for_load_state("load")
    return visit.page


# ------------------------------------------------------------------------------------------
# The list


def test_the_list_is_filtered_and_paged_without_reload_and_back_comes_back(
    open_visit: OpenVisit, live: LiveApp
) -> None:
    visit = open_visit("claire")
    page = visit.login("claire")
    visit.submit(click("Demandes", role="link"), "liste des demandes")
    visit.marked()

    page.get_by_label("Trier par").select_option("attente")
    visit.swap(click("Filtrer"), "liste triée par attente, sans rechargement")
    assert page.url == live.url + "/demandes?tri=attente"  # the blank filters left out
    assert _focused_id(page) == "demandes-nombre"  # the count of results takes the focus
    by_wait = listed_requests(page)
    visit.swap(click("Page suivante", role="link"), "liste triée, page 2, sans rechargement")
    assert page.url == live.url + "/demandes?page=2&tri=attente"
    assert "Page 2 sur 2" in _pager(page)
    second = listed_requests(page)
    assert second
    assert not set(second) & set(by_wait)
    page.get_by_label("État").select_option(RequestState.WAITING.value)
    visit.swap(click("Filtrer"), "liste filtrée, sans rechargement")
    assert page.url == live.url + "/demandes?etat=waiting&tri=attente"
    assert {state for _, state in listed_requests(page)} == {RequestState.WAITING.label}
    assert visit.still_marked()  # all of it in the same document

    # Back: the previous list, read again from the server (nothing kept in the browser)
    page.go_back()
    _reloaded(visit)
    visit.arrived("retour : liste triée, page 2")
    assert page.url == live.url + "/demandes?page=2&tri=attente"
    assert listed_requests(page) == second
    assert page.get_by_label("Trier par").input_value() == "attente"
    visit.marked()
    page.go_back()
    _reloaded(visit)
    visit.arrived("retour : liste triée")
    assert page.url == live.url + "/demandes?tri=attente"
    assert listed_requests(page) == by_wait
    # no copy of the pages kept in the browser's storage (patient data): only the address
    stored = page.evaluate("() => [Object.keys(sessionStorage), Object.keys(localStorage)]")
    assert stored == [["htmx-current-path-for-history"], []]


# ------------------------------------------------------------------------------------------
# The dashboard


@pytest.fixture
def quick_live(browser_register: Path, tmp_path: Path) -> Iterator[LiveApp]:
    """A fresh copy of the generated register, served with the dashboard refreshed every
    :data:`REFRESH` second."""
    path = tmp_path / "registre.sqlite"
    path.write_bytes(browser_register.read_bytes())
    with LiveApp(path, Clock(), DASHBOARD_REFRESH_SECONDS=REFRESH) as served:
        yield served


@pytest.fixture
def quick_visit(
    browser: Browser, quick_live: LiveApp, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[OpenVisit]:
    yield from visits(browser, quick_live, tmp_path, request)


def _to_acknowledge(page: Page) -> int:
    found = re.search(r"(\d+) demande\(s\) reçue\(s\) à accuser", page.locator("main").inner_text())
    assert found is not None
    return int(found.group(1))


def test_the_dashboard_updates_with_what_a_gp_and_the_command_line_record(
    quick_visit: OpenVisit, quick_live: LiveApp
) -> None:
    coordinator = quick_visit("claire")
    page = coordinator.login("claire")
    assert f"toutes les {REFRESH} secondes" in page.locator("main").inner_text()
    before = unanswered_proposals(page)
    assert before[ANSWERING_GP] >= 1
    acknowledge = _to_acknowledge(page)
    assert acknowledge >= 1
    coordinator.marked()

    # A GP accepts a proposal through their link, in their own browser.
    with SQLiteStore(quick_live.path, create=False) as store:
        token = issue_link(
            store,
            quick_live.app.config["SECRET_KEY"],
            ANSWERING_GP,
            actor="cli:test",
            clock=quick_live.clock,
        )
    gp = quick_visit("medecin")
    portal = gp.goto(link_path(token), "portail du médecin")
    section = portal.locator("section:has(form[action$='/reponse'])").first
    section.get_by_label("J'accepte ce patient").check()
    gp.submit(lambda p: section.get_by_role("button", name="Envoyer ma réponse").click(), "accepté")

    # The coordinator's dashboard shows it, without being reloaded.
    page.wait_for_function(
        """([gp, count]) => [...document.querySelectorAll('main tbody th')].some(
            th => th.textContent.endsWith('(' + gp + ')') &&
                  th.nextElementSibling.textContent.trim() === String(count))
            || (count === 0 && !document.body.innerText.includes('(' + gp + ')'))""",
        arg=[ANSWERING_GP, before[ANSWERING_GP] - 1],
    )
    coordinator.arrived("tableau de bord : réponse du médecin")
    after = unanswered_proposals(page)
    assert after.get(ANSWERING_GP, 0) == before[ANSWERING_GP] - 1
    assert {k: v for k, v in after.items() if k != ANSWERING_GP} == {
        k: v for k, v in before.items() if k != ANSWERING_GP
    }

    # Another process records an acknowledgement (as « mt-access demande accuser » does).
    with SQLiteStore(quick_live.path, create=False) as store:
        rid = store.summaries([RequestState.RECEIVED])[0].id
        Register(store, load_policy("voironnais")).acknowledge(rid, TODAY, "")
    page.wait_for_function(
        """count => document.querySelector('main').innerText.includes(
            count + ' demande(s) reçue(s) à accuser')""",
        arg=acknowledge - 1,
    )
    coordinator.arrived("tableau de bord : accusé enregistré ailleurs")
    assert _to_acknowledge(page) == acknowledge - 1
    assert coordinator.still_marked()  # the same document: never reloaded

    # Stopped on request (WCAG 2.2.2): the page says so and polls no more.
    coordinator.submit(
        click("Arrêter la mise à jour automatique", role="link"), "mise à jour arrêtée"
    )
    assert page.locator("[hx-trigger]").count() == 0


# ------------------------------------------------------------------------------------------
# A request's actions


def test_actions_are_swapped_in_place_with_their_errors_and_messages(
    open_visit: OpenVisit, live: LiveApp
) -> None:
    visit = open_visit("claire")
    visit.login("claire")
    visit.goto("/demandes?etat=waiting", "liste en attente")
    rid = listed_requests(visit.page)[0][0]
    page = visit.goto(f"/demandes/{rid}", "page d'une demande")
    start = events(live, rid)
    history = page.locator("#demande-historique tbody tr").count()
    visit.marked()

    gp = next(iter(SPARE_PLACES))
    page.locator("form[action$='/proposer']").get_by_label("Médecin").select_option(gp)
    visit.swap(click("Proposer"), "proposition enregistrée, sans rechargement")
    assert "Proposition au médecin enregistrée." in visit.messages()
    assert page.evaluate("() => document.activeElement.classList.contains('messages')")
    assert RequestState.PROPOSED.label in page.locator("#demande-etat").inner_text()
    assert page.locator("#demande-historique tbody tr").count() == history + 1

    # The cancellation's reason left blank: the error next to the field, nothing recorded.
    visit.swap(click("Annuler la proposition"), "annulation sans motif : erreur")
    cancel = page.locator("form[action$='/annuler-proposition']")
    assert cancel.locator(".field-error").count() == 1
    assert events(live, rid) == [*start, Event.PROPOSE]
    cancel.get_by_label("Motif").fill("Le patient a trouvé un médecin par lui-même.")
    visit.swap(click("Annuler la proposition"), "proposition annulée, sans rechargement")
    assert RequestState.WAITING.label in page.locator("#demande-etat").inner_text()
    assert events(live, rid) == [*start, Event.PROPOSE, Event.CANCEL_PROPOSAL]
    assert visit.still_marked()
    # the identity was shown (and audited) once: the fragments show none
    with SQLiteStore(live.path, create=False) as store:
        shown = [a for a in store.audit_entries(subject=rid) if a.action == "identite.afficher"]
    assert len(shown) == 1


# ------------------------------------------------------------------------------------------
# Without JavaScript


def test_the_same_pages_work_without_javascript(
    browser: Browser, live: LiveApp, tmp_path: Path
) -> None:
    visit = Visit(browser, live, tmp_path, "sans-javascript", script=False)
    try:
        page = visit.login("claire")
        assert unanswered_proposals(page)
        visit.submit(click("Demandes", role="link"), "liste des demandes")
        page.get_by_label("État").select_option(RequestState.WAITING.value)
        visit.submit(click("Filtrer"), "liste filtrée (page rechargée)")
        assert "etat=waiting" in page.url
        rid = listed_requests(page)[0][0]
        visit.submit(click(rid, role="link"), "page d'une demande")
        start = events(live, rid)
        page.get_by_label("Patient joint").check()
        visit.submit(click("Enregistrer la tentative"), "tentative enregistrée (page rechargée)")
        assert "Tentative de contact enregistrée." in visit.messages()
        assert events(live, rid) == [*start, Event.CONTACT_SUCCEEDED]
        visit.check()
    finally:
        visit.close()
