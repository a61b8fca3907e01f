"""The GP management pages in a real browser (Debian's Chromium through Playwright): a
coordinator adds a GP (first with a commune the reference does not know), records the GP's
joining, the practice's contact details, opens the follow-up per month, then withdraws the GP.
Every page reached is checked with axe-core, for ids used twice and CSP messages, and
screenshotted (:mod:`web_browser_support`). Generated data only."""

from __future__ import annotations

from mt_access.model import PhysicianStatus
from mt_access.store.sqlite import SQLiteStore
from web_browser_support import (
    LiveApp,
    OpenVisit,
    browser,
    browser_register,
    click,
    live,
    open_visit,
)
from web_support import TODAY

__all__ = ["browser", "browser_register", "live", "open_visit"]


def test_a_coordinator_adds_a_gp_who_joins_then_withdraws(
    open_visit: OpenVisit, live: LiveApp
) -> None:
    visit = open_visit("claire")
    page = visit.login("claire")
    visit.submit(click("Médecins", role="link"), "liste des médecins")
    visit.submit(click("Ajouter un médecin", role="link"), "ajouter un médecin")
    page.get_by_label("Identifiant du médecin").fill("MG950")
    page.get_by_label("Nom affiché").fill("Dr Navigateur")
    page.get_by_label("Commune d'exercice").fill("Zzzville")
    visit.submit(click("Ajouter le médecin"), "ajout refusé : commune inconnue")
    assert page.locator("#ajout-commune-erreur").inner_text()
    page.get_by_label("Commune d'exercice").fill("Voiron")
    visit.submit(click("Ajouter le médecin"), "fiche du nouveau médecin")
    assert page.get_by_role("heading", level=1).inner_text().endswith("(MG950)")

    page.locator("#adherer-capacite").fill("3")
    page.locator("#adherer-communes").fill("Voiron; Voreppe")
    visit.submit(click("Enregistrer l'adhésion"), "adhésion enregistrée")
    assert any("Adhésion enregistrée." in m for m in visit.messages())

    page.locator("#coordonnees-telephone").fill("0476999999")
    page.locator("#coordonnees-cabinet").fill("Cabinet Navigateur")
    visit.submit(click("Enregistrer les coordonnées"), "coordonnées enregistrées")
    assert "04 76 99 99 99" in page.locator("main").inner_text()

    visit.submit(
        click("Suivi complet par mois : propositions, acceptations et refus", role="link"),
        "suivi par mois",
    )
    assert page.locator("main table tbody tr").count() == 12
    page.go_back()
    page.reload()
    visit.arrived("retour à la fiche")
    page.get_by_label("Je confirme que ce médecin quitte le dispositif").check()
    visit.submit(click("Enregistrer le retrait du dispositif"), "retrait enregistré")
    assert any("Retrait du dispositif enregistré." in m for m in visit.messages())
    with SQLiteStore(live.path, create=False) as store:
        physician = store.get_physician("MG950")
    assert physician is not None
    assert physician.status_on(TODAY) is PhysicianStatus.WITHDRAWN
    assert physician.contact.practice == "Cabinet Navigateur"
