"""The coordinator's month in a real browser (Debian's Chromium through Playwright): import a
generated export with one bad row, correct that row, run the month, preview and download a
letter, record a GP's acceptance on a request's page; then the map, report, exports, GP,
admin and expired-link pages. Every page reached is checked with axe-core, for ids used
twice and CSP messages, and screenshotted (:mod:`web_browser_support`). Both scenarios share
one served register (module scope), in this order. Generated data only."""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from mt_access.lifecycle import RequestState
from mt_access.loading import load_policy
from mt_access.register import Register
from mt_access.store.sqlite import SQLiteStore
from web_browser_support import (
    SPARE_PLACES,
    LiveApp,
    OpenVisit,
    browser,
    browser_register,
    click,
    downloaded,
    open_visit,
    serve,
)
from web_support import T0, TODAY

__all__ = ["browser", "browser_register", "live", "open_visit"]

HEADERS = ["Date de réception", "Nom", "Prénom", "Date de naissance", "Commune", "Consentement"]
COMMUNES = ("Voiron", "Voreppe", "Moirans", "Coublevie")
BAD_ROW = 4
"""The file's row (header = row 1) whose birth date is impossible."""
FIXED_BIRTH = dt.date(1981, 3, 14)


def generated_export(rows: int = 5, *, seed: int = 14) -> bytes:
    """A form export (the generic preset's columns, ``;``, UTF-8) of made-up patients; the
    row :data:`BAD_ROW` has a month 13 in its birth date."""
    rng = random.Random(seed)
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")
    writer.writerow(HEADERS)
    for i in range(rows):
        born = dt.date(1940 + rng.randrange(60), 1 + rng.randrange(12), 1 + rng.randrange(28))
        birth = born.strftime("%d/%m/%Y")
        if i + 2 == BAD_ROW:
            birth = f"{born.day:02d}/13/{born.year}"
        writer.writerow(
            [
                f"0{2 + i}/03/2026",
                f"Navigatest{chr(65 + i)}",
                rng.choice(("Camille", "Dominique", "Sacha", "Alix", "Noa")),
                birth,
                rng.choice(COMMUNES),
                "Oui",
            ]
        )
    return out.getvalue().encode("utf-8")


@pytest.fixture(scope="module")
def live(browser_register: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApp]:
    """One served copy of the generated register for the module's scenarios (in order)."""
    yield from serve(browser_register, tmp_path_factory.mktemp("navigateur-ops"))


def _register(live: LiveApp) -> tuple[SQLiteStore, Register]:
    store = SQLiteStore(live.path, create=False)
    return store, Register(store, load_policy("voironnais"))


def _cards(page_text: str) -> dict[str, int]:
    """The « cards » of a page (a term and its number)."""
    return {k.strip(): int(v) for k, v in re.findall(r"^([^\n\t]+)\n\s*(\d+)\s*$", page_text, re.M)}


def test_a_coordinator_imports_corrects_runs_the_month_and_downloads_a_letter(
    open_visit: OpenVisit, live: LiveApp, tmp_path: Path
) -> None:
    from mt_access.web.ops_run import run_letters  # (flask: after the support's skips)

    store, register = _register(live)
    with store:
        before = {s.id for s in store.summaries()}
        runs = len(store.runs())
    export = tmp_path / "formulaire_navigateur.csv"
    export.write_bytes(generated_export())

    visit = open_visit("claire")
    page = visit.login("claire")

    # Upload, preview: the bad row is shown rejected, nothing is recorded yet.
    visit.submit(click("Import", role="link"), "import : envoi du fichier")
    page.get_by_label("Export du formulaire (.csv ou .xlsx)").set_input_files(str(export))
    page.get_by_label("Correspondance des colonnes").select_option("generique")
    visit.submit(click("Voir l'aperçu"), "import : aperçu")
    assert "Aperçu : rien n'est encore enregistré." in page.locator("main").inner_text()
    rejected = page.locator("h2:has-text('Lignes rejetées') ~ table").first
    assert rejected.locator("tbody th[scope=row]").all_inner_texts() == [str(BAD_ROW)]
    assert "Date de naissance" in rejected.inner_text()
    with SQLiteStore(live.path, create=False) as check:
        assert {s.id for s in check.summaries()} == before

    # Confirm: the four good rows become requests.
    visit.submit(click("Confirmer l'import de 4 demande(s)"), "import confirmé")
    assert "Import confirmé." in page.locator("main").inner_text()
    with SQLiteStore(live.path, create=False) as check:
        imported = {s.id for s in check.summaries()} - before
    assert len(imported) == 4
    created = page.locator("h2:has-text('Demandes créées') + table tbody td").all_inner_texts()
    assert set(created) == imported

    # The rejected row's request, through the correction form.
    visit.submit(click(f"Corriger la ligne {BAD_ROW}", role="link"), "import : correction")
    field = page.get_by_label("Date de naissance")
    assert field.get_attribute("aria-invalid") == "true"
    field.fill(FIXED_BIRTH.strftime("%d/%m/%Y"))
    visit.submit(click("Enregistrer la demande corrigée"), "ligne corrigée : page de la demande")
    with SQLiteStore(live.path, create=False) as check:
        fixed = {s.id for s in check.summaries()} - before - imported
        assert len(fixed) == 1
        rid = fixed.pop()
        file = check.get_file(rid)
        assert file is not None
        assert file.state is RequestState.RECEIVED
        request = check.get_request(rid)
        assert request is not None
        persons = {p.request_id: p.identity for p in check.known_persons()}
    assert request.patient.birth_date == FIXED_BIRTH
    assert persons[rid].last_name == f"Navigatest{chr(65 + BAD_ROW - 2)}"
    assert f"Ligne {BAD_ROW} corrigée : demande {rid} enregistrée." in visit.messages()
    assert page.get_by_role("heading", level=1).inner_text() == f"Demande {rid}"

    # The month's run: preview (GPs with places left get proposals), then record.
    visit.submit(click("Appariement", role="link"), "appariement : aperçu")
    proposals = _cards(page.locator("dl.cards").inner_text())["Propositions aux médecins"]
    assert proposals > 0
    placed = page.locator("h2:has-text('Propositions') + table tbody tr td:first-of-type")
    assert {re.sub(r".*\((\w+)\)$", r"\1", t) for t in placed.all_inner_texts()} <= set(
        SPARE_PLACES
    )
    visit.submit(click("Enregistrer cet appariement"), "appariement enregistré")
    number = runs + 1
    assert page.url.endswith(f"/appariement/{number}")
    with SQLiteStore(live.path, create=False) as check:
        assert len(check.runs()) == number
        assert check.runs()[-1].placements == proposals

    # A letter of the run: its preview, then its download (Markdown).
    visit.submit(click("Voir le courrier 1", role="link"), "courrier : aperçu")
    shown = page.locator("section.letter").inner_text()
    name, data = downloaded(page, click("Markdown", role="link"))
    store, register = _register(live)
    with store:
        found = run_letters(register, number)
    assert found is not None
    letter = found[1][0]
    assert name == letter.filename("md")
    assert data == letter.markdown.encode("utf-8")
    assert letter.request_id in shown
    with SQLiteStore(live.path, create=False) as check:
        actions = [(e.action, e.subject) for e in check.audit_entries()]
    assert actions.count(("courrier.telecharger", letter.request_id)) == 1
    assert ("import.corriger", rid) in actions

    # The GP phoned: the coordinator records their acceptance on the request's page.
    with SQLiteStore(live.path, create=False) as check:
        placed_id, gp = next(
            (s.id, next(iter(s.proposed_to)))
            for s in check.summaries([RequestState.PROPOSED])
            if len(s.proposed_to) == 1 and set(s.proposed_to) <= set(SPARE_PLACES)
        )
    visit.goto(f"/demandes/{placed_id}", "demande proposée : réponse du médecin")
    form = page.locator("#form-reponse-medecin")
    form.get_by_label("Médecin", exact=True).select_option(gp)
    form.get_by_label("Il accepte").check()
    visit.submit(click("Enregistrer la réponse"), "réponse du médecin enregistrée")
    assert any("devient le médecin traitant" in m for m in visit.messages())
    with SQLiteStore(live.path, create=False) as check:
        accepted = check.get_file(placed_id)
        assert accepted is not None
        assert accepted.state is RequestState.MT_FOUND
        assert ("demande.reponse-medecin", placed_id) in [
            (e.action, e.subject) for e in check.audit_entries(subject=placed_id)
        ]


def test_the_map_downloads_gp_admin_and_expired_link_pages(
    open_visit: OpenVisit, live: LiveApp
) -> None:
    from mt_access.web.portal import INVALID_LINK  # (flask: after the support's skips)
    from mt_access.web.portal_links import issue_link

    visit = open_visit("alice")
    page = visit.login("alice")

    visit.submit(click("Carte, rapport, exports", role="link"), "carte, rapport, exports")
    visit.submit(click("Carte des disponibilités", role="link"), "carte des disponibilités")
    frame = page.frame_locator("iframe.map-frame")
    assert frame.locator("body").inner_text()  # the map's own page, sandboxed
    visit.goto("/sorties", "carte, rapport, exports")
    visit.submit(click("Rapport du mois", role="link"), "rapport du mois")
    name, data = downloaded(page, click("Télécharger le rapport"))
    assert name == "rapport_2026-02.zip"
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.namelist()
        assert all(n.startswith("rapport_2026-02/") for n in archive.namelist())
    visit.goto("/exports", "exports des demandes")
    page.get_by_label("Format").select_option("csv")
    name, data = downloaded(page, click("Télécharger l'export"))
    assert name == f"export_standard_{TODAY.isoformat()}.csv"
    with SQLiteStore(live.path, create=False) as check:
        count = check.count_requests()
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    assert len(rows) == count + 1

    visit.submit(click("Médecins", role="link"), "liste des médecins")
    gp = next(iter(SPARE_PLACES))
    visit.submit(click(re.compile(rf"\({gp}\)$"), role="link"), "page d'un médecin")
    assert page.get_by_role("heading", level=1).inner_text().endswith(f"({gp})")

    visit.submit(click("Journal d'audit", role="link"), "journal d'audit")
    assert page.locator("main table tbody tr").count() > 0
    visit.submit(click("Comptes", role="link"), "comptes")
    logins = page.locator("main table tbody th").all_inner_texts()
    assert {"alice", "claire", "lea"} <= {x.strip() for x in logins}

    # A GP's link made three days ago for one day: the plain French page, status 410.
    with SQLiteStore(live.path, create=False) as store:
        token = issue_link(
            store,
            str(live.app.config["SECRET_KEY"]),
            gp,
            actor="cli:tests",
            days=1,
            clock=lambda: T0 - dt.timedelta(days=3),
        )
    gp_visit = open_visit("medecin-lien-expire")
    shown = gp_visit.goto(f"/medecin/{token}", "lien expiré", status=410)
    assert INVALID_LINK in shown.locator("main").inner_text()
    assert shown.get_by_role("navigation").count() == 0
