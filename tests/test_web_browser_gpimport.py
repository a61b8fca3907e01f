"""« Importer des médecins » in a real browser (Debian's Chromium through Playwright): a
coordinator uploads a generated GP file from the GP list, sees the preview with its rejected
row and its duplicate, downloads the rejections report, corrects the rejected row on the
page, confirms, finds the new GPs in the
list, then records a candidate's joining on a past date. Every page reached is checked with
axe-core, for ids used twice and CSP messages, and screenshotted
(:mod:`web_browser_support`). Generated data only."""

from __future__ import annotations

from pathlib import Path

from mt_access.export import write_rows
from mt_access.gp_file import GP_COLUMNS
from mt_access.model import PhysicianStatus
from mt_access.rpps import rpps_key
from mt_access.store.sqlite import SQLiteStore
from web_browser_support import (
    LiveApp,
    OpenVisit,
    browser,
    browser_register,
    click,
    downloaded,
    live,
    open_visit,
)
from web_support import TODAY

__all__ = ["browser", "browser_register", "live", "open_visit"]

R1 = "1055555555" + rpps_key("1055555555")
R2 = "1066666666" + rpps_key("1066666666")
R3 = "1077777777" + rpps_key("1077777777")


def _gp_file(path: Path) -> Path:
    rows = [
        {"RPPS": R1, "Nom": "Chromium", "Prénom": "Anne", "Commune d'exercice": "Voiron",
         "Places par mois": "2", "Modalités": "cabinet et domicile",
         "Communes acceptées": "Voiron; Coublevie", "Date d'entrée": "02/03/2026"},
        {"RPPS": R2, "Nom": "Playwright", "Prénom": "Paul", "Commune d'exercice": "Voreppe"},
        {"RPPS": "10000000001", "Nom": "Faux", "Commune d'exercice": "Voirno"},
        {"RPPS": R2, "Nom": "Playwright", "Prénom": "Paul", "Commune d'exercice": "Voreppe"},
    ]  # fmt: skip
    headings = [c.heading for c in GP_COLUMNS]
    return write_rows([{h: r.get(h, "") for h in headings} for r in rows], headings, path)


def test_a_coordinator_imports_a_gp_file(
    open_visit: OpenVisit, live: LiveApp, tmp_path: Path
) -> None:
    visit = open_visit("claire")
    page = visit.login("claire")
    visit.submit(click("Médecins", role="link"), "liste des médecins")
    visit.submit(click("Importer des médecins", role="link"), "importer des médecins")
    page.get_by_label("Fichier des médecins (.csv ou .xlsx)").set_input_files(
        str(_gp_file(tmp_path / "medecins.xlsx"))
    )
    visit.submit(click("Voir l'aperçu"), "aperçu de l'import des médecins")
    main = page.locator("main").inner_text()
    assert "Dr Anne Chromium" in main
    assert "vouliez-vous dire « Voiron »" in main
    assert "doublon de la ligne 3" in main
    name, data = downloaded(
        page, click("Télécharger le rapport des lignes non importées (CSV)", role="link")
    )
    assert name == "medecins.rejets.csv"
    assert "Voirno" in data.decode("utf-8-sig")

    # the rejected row corrected on the page, then imported with the others
    visit.submit(click("Corriger la ligne 4", role="link"), "correction de la ligne 4")
    page.get_by_label("RPPS", exact=True).fill("10000000002")
    page.get_by_label("Commune d'exercice", exact=True).fill("Voiron")
    visit.submit(click("Garder la ligne corrigée"), "ligne 4 encore refusée")
    assert "numéro RPPS attendu" in page.locator("#champ-rpps-erreur").inner_text()
    page.get_by_label("RPPS", exact=True).fill(R3)
    visit.submit(click("Garder la ligne corrigée"), "ligne 4 corrigée")
    assert any("Ligne 4 corrigée" in m for m in visit.messages())
    assert "Dr Faux" in page.locator("main").inner_text()

    visit.submit(click("Confirmer l'import de 3 médecin(s)"), "import confirmé")
    assert any("Import confirmé" in m for m in visit.messages())
    visit.submit(click("Voir la liste des médecins", role="link"), "liste avec les importés")
    listed = page.locator("main table").inner_text()
    assert f"Dr Anne Chromium ({R1})" in listed
    assert f"Dr Paul Playwright ({R2})" in listed

    visit.submit(click(f"Dr Paul Playwright ({R2})", role="link"), "fiche du candidat importé")
    page.locator("#adherer-date").fill("2026-03-09")
    page.locator("#adherer-capacite").fill("1")
    visit.submit(click("Enregistrer l'adhésion"), "adhésion datée enregistrée")
    assert any("Adhésion enregistrée." in m for m in visit.messages())
    with SQLiteStore(live.path, create=False) as store:
        anne = store.get_physician(R1)
        paul = store.get_physician(R2)
        faux = store.get_physician(R3)
    assert anne is not None
    assert paul is not None
    assert faux is not None
    assert anne.status_on(TODAY) is PhysicianStatus.ACTIVE
    assert paul.status_history[-1].on.isoformat() == "2026-03-09"
