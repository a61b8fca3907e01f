"""``mt-access serve`` in a real browser: Debian's Chromium driven by Playwright.

Each scenario works on a fresh copy of a generated register served on a loopback port
(:mod:`web_browser_support`); every page reached is checked with axe-core (no serious or
critical violation), screenshotted as an artefact, and no console message may report a
Content-Security-Policy violation. Scenarios: a coordinator's round (login, filtered and paged
list, a request's page, a contact attempt and a proposal, the dashboard changing, logout); a
read-only account sees no action; a stale page's action is refused; a form sent without its
CSRF token is refused; the French error pages. Two self-checks show that the axe and CSP
checks do catch a problem. Generated data only.

Adding a scenario (GP portal, import...): a test taking ``open_visit`` and ``live`` (the
fixtures and helpers of :mod:`web_browser_support`); see docs/web-tests.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from mt_access.lifecycle import RequestState
from mt_access.transitions import Event
from web_browser_support import (
    PAGE_SIZE,
    SPARE_PLACES,
    STALE_MESSAGE,
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
)

if TYPE_CHECKING:
    from playwright.sync_api import Browser

__all__ = ["browser", "browser_register", "live", "open_visit"]

pytestmark = pytest.mark.slow

# ------------------------------------------------------------------------------------------
# Scenarios


def test_a_coordinator_filters_opens_a_request_acts_and_sees_the_dashboard_change(
    open_visit: OpenVisit, live: LiveApp
) -> None:
    visit = open_visit("claire")
    page = visit.login("claire")
    before = unanswered_proposals(page)

    visit.submit(click("Demandes", role="link"), "liste des demandes")
    assert len(listed_requests(page)) == PAGE_SIZE
    page.get_by_label("Trier par").select_option("attente")
    visit.marked()
    visit.swap(click("Filtrer"), "liste triée par attente")  # htmx: no reload
    visit.swap(click("Page suivante", role="link"), "liste triée, page 2")
    assert "page=2" in page.url  # the pager keeps the filters
    assert "tri=attente" in page.url
    assert "Page 2 sur 2" in page.locator(".pager").inner_text()
    assert listed_requests(page)
    page.get_by_label("État").select_option(RequestState.WAITING.value)
    visit.swap(click("Filtrer"), "liste filtrée")
    assert visit.still_marked()
    assert "etat=waiting" in page.url
    assert "page=" not in page.url
    rows = listed_requests(page)
    assert rows, "aucune demande en liste d'attente dans le registre généré"
    assert {state for _, state in rows} == {RequestState.WAITING.label}
    rid = listed_requests(page)[0][0]

    visit.submit(click(rid, role="link"), "page d'une demande")
    assert page.get_by_role("heading", level=1).inner_text() == f"Demande {rid}"
    start = events(live, rid)

    page.get_by_label("Patient joint").check()
    page.locator("#contact-commentaire, form[action$='/contact'] textarea").first.fill(
        "Rappel fait, toujours en recherche."
    )
    visit.swap(click("Enregistrer la tentative"), "tentative de contact enregistrée")
    assert "Tentative de contact enregistrée." in visit.messages()

    gp = next(iter(SPARE_PLACES))
    page.locator("form[action$='/proposer']").get_by_label("Médecin").select_option(gp)
    visit.swap(click("Proposer"), "proposition enregistrée")
    assert "Proposition au médecin enregistrée." in visit.messages()
    assert RequestState.PROPOSED.label in page.locator("main > p").first.inner_text()
    assert events(live, rid) == [*start, Event.CONTACT_SUCCEEDED, Event.PROPOSE]

    visit.submit(click("Tableau de bord", role="link"), "tableau de bord après les actions")
    after = unanswered_proposals(page)
    assert after.get(gp, 0) == before.get(gp, 0) + 1
    assert {k: v for k, v in after.items() if k != gp} == {
        k: v for k, v in before.items() if k != gp
    }

    visit.submit(click("Se déconnecter"), "déconnexion")
    assert "Vous êtes déconnecté." in visit.messages()
    visit.goto("/", "tableau de bord sans connexion : page de connexion")
    assert page.url.startswith(live.url + "/connexion")


def test_a_read_only_account_sees_no_action(open_visit: OpenVisit, live: LiveApp) -> None:
    visit = open_visit("lea")
    page = visit.login("lea")
    visit.submit(click("Demandes", role="link"), "liste des demandes")
    rid = listed_requests(page)[0][0]
    visit.submit(click(rid, role="link"), "page d'une demande")
    assert page.get_by_role("heading", name="Identité").count() == 1
    assert page.get_by_role("heading", name="Actions").count() == 0
    assert page.locator("form[action*='/demandes/']").count() == 0
    assert page.locator("main button").count() == 0
    buttons = [b.strip() for b in page.get_by_role("button").all_inner_texts()]
    assert buttons == ["Se déconnecter"]
    # The search by name (by POST, audited) is open to a read-only account.
    visit.submit(click("Demandes", role="link"), "liste des demandes")
    visit.submit(click("Rechercher par nom", role="link"), "recherche par nom")
    page.get_by_label("Nom ou prénom").fill("zz")
    visit.submit(click("Rechercher"), "résultats de la recherche par nom")
    assert "trouvée(s)" in page.get_by_role("status").inner_text()


def _a_waiting_request(visit: Visit) -> str:
    """Logged in as the coordinator, the first request of the waiting list."""
    visit.login("claire")
    visit.goto("/demandes?etat=waiting", "liste en attente")
    return listed_requests(visit.page)[0][0]


def test_a_stale_page_is_refused_and_nothing_is_recorded(
    open_visit: OpenVisit, live: LiveApp
) -> None:
    visit = open_visit("claire")
    rid = _a_waiting_request(visit)
    first = visit.goto(f"/demandes/{rid}", "page d'une demande (onglet 1)")
    second = visit.goto(f"/demandes/{rid}", "page d'une demande (onglet 2)", page=visit.new_page())
    start = events(live, rid)

    first.get_by_label("Patient joint").check()
    visit.swap(click("Enregistrer la tentative"), "onglet 1 : contact enregistré", page=first)
    assert "Tentative de contact enregistrée." in visit.messages(first)

    second.get_by_label("Injoignable").check()
    visit.swap(click("Enregistrer la tentative"), "onglet 2 : page périmée", page=second)
    assert STALE_MESSAGE in visit.messages(second)
    assert "a changé depuis" in STALE_MESSAGE
    assert events(live, rid) == [*start, Event.CONTACT_SUCCEEDED]


def test_a_form_sent_without_its_csrf_token_is_refused(
    open_visit: OpenVisit, live: LiveApp
) -> None:
    visit = open_visit("claire")
    rid = _a_waiting_request(visit)
    page = visit.goto(f"/demandes/{rid}", "page d'une demande")
    start = events(live, rid)
    form = page.locator("form[action$='/contact']")
    form.locator("input[name=csrf_token]").evaluate("input => input.remove()")
    page.evaluate("() => document.body.removeAttribute('hx-headers')")  # htmx's copy of it
    form.get_by_label("Patient joint").check()
    visit.swap(click("Enregistrer la tentative"), "envoi sans jeton CSRF : refus")
    assert page.get_by_role("heading", level=1).inner_text() == "Requête invalide"
    assert "rien n'a été enregistré" in page.locator("main").inner_text()
    assert events(live, rid) == start


def test_the_error_pages(open_visit: OpenVisit, live: LiveApp) -> None:
    visit = open_visit("erreurs")
    page = visit.goto("/connexion", "connexion")
    page.get_by_label("Identifiant").fill("claire")
    page.get_by_label("Mot de passe").fill("pas le bon mot de passe")
    visit.submit(click("Se connecter"), "connexion refusée")
    assert page.get_by_role("alert").count() == 1
    page.get_by_label("Identifiant").fill("")
    page.get_by_label("Mot de passe").fill("")
    visit.submit(click("Se connecter"), "connexion : champs vides")
    assert page.locator(".field-error").count() == 2
    visit.login("lea")
    visit.goto("/demandes/INCONNUE-0000", "page introuvable", status=404)
    assert page.get_by_role("heading", level=1).inner_text() == "Page introuvable"
    visit.goto("/deconnexion", "action impossible (GET)", status=405)
    assert page.get_by_role("heading", level=1).inner_text() == "Action impossible"
    visit.goto("/demandes?attente_min=-3", "filtre invalide", status=400)
    assert page.locator(".field-error").count() == 1
    # A read-only account sending a coordinator's action: the French 403 page.
    visit.goto("/demandes?etat=waiting", "liste en attente")
    rid = listed_requests(page)[0][0]
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    with page.expect_navigation():
        page.evaluate(
            """([action, token]) => {
                const form = document.createElement('form');
                form.method = 'post';
                form.action = action;
                for (const [name, value] of [['csrf_token', token], ['etape', '1'],
                                             ['resultat', 'joint']]) {
                    const input = document.createElement('input');
                    input.type = 'hidden'; input.name = name; input.value = value;
                    form.append(input);
                }
                document.body.append(form);
                form.submit();
            }""",
            [f"/demandes/{rid}/contact", token],
        )
    visit.arrived("accès refusé")
    assert page.get_by_role("heading", level=1).inner_text() == "Accès refusé"


# ------------------------------------------------------------------------------------------
# The checks themselves catch problems


def test_the_checks_see_an_accessibility_and_a_csp_violation(
    browser: Browser, live: LiveApp, tmp_path: Path
) -> None:
    visit = Visit(browser, live, tmp_path, "auto-controle")
    try:
        page = visit.goto("/connexion", "connexion")
        assert not visit.accessibility
        assert not visit.csp
        page.evaluate(
            """() => {
                const image = document.createElement('img');
                image.src = 'data:image/gif;base64,R0lGODlhAQABAAAAACw=';
                document.querySelector('main').append(image);
                const script = document.createElement('script');
                script.textContent = 'window.inline = 1;';
                document.body.append(script);
            }"""
        )
        page.wait_for_timeout(200)
        visit.arrived("connexion modifiée")
        assert any("image-alt" in found for found in visit.accessibility), visit.accessibility
        assert visit.csp, "la violation de la CSP (script en ligne) n'a pas été vue"
        assert page.evaluate("window.inline === undefined")
        with pytest.raises(AssertionError, match="image-alt"):
            visit.check()
    finally:
        visit.close()
