"""The GP portal in a real browser (Debian's Chromium through Playwright): a GP opens the link
the coordinator made on the GP's link page, accepts one proposal and refuses another, and the
coordinator's dashboard shows it; a GP of a CPTS sharing lists (Sud Est Grenoblois), with a
link from ``mt-access medecin lien``, picks two requests from their list. Every page reached
is checked with axe-core, for ids used twice and CSP messages, and screenshotted
(:mod:`web_browser_support`). Generated data only."""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from mt_access.cli import main
from mt_access.examples import example_register
from mt_access.loading import load_policy
from mt_access.register import Register
from mt_access.store.sqlite import SQLiteStore
from mt_access.transitions import Event
from web_browser_support import (
    LiveApp,
    OpenVisit,
    browser,
    browser_register,
    click,
    live,
    open_visit,
    unanswered_proposals,
    visits,
)
from web_support import MONTH, Clock

if TYPE_CHECKING:
    from playwright.sync_api import Browser

__all__ = ["browser", "browser_register", "live", "open_visit"]

ANSWERING_GP = "MG007"
"""A GP with four unanswered proposals in the generated register (the March run)."""
PULL_POLICY = "sud_est_grenoblois"
PICKING_GP = "MG002"
"""A GP of the generated Sud Est Grenoblois register with places left in March."""
REFUSAL = "Patientèle complète ce trimestre."


def _answers(live: LiveApp, gp: str) -> dict[str, list[Event]]:
    """Each request ever proposed to ``gp``: its events about ``gp`` (propose, accept,
    refuse), in order."""
    with SQLiteStore(live.path, create=False) as store:
        found: dict[str, list[Event]] = {}
        for summary in store.summaries():
            file = store.get_file(summary.id)
            assert file is not None
            mine = [t.event for t in file.history if t.physician_id == gp]
            if mine:
                found[summary.id] = mine
        return found


def test_a_gp_accepts_and_refuses_through_the_link_and_the_dashboard_shows_it(
    open_visit: OpenVisit, live: LiveApp
) -> None:
    coordinator = open_visit("claire")
    page = coordinator.login("claire")
    before = unanswered_proposals(page)
    assert before[ANSWERING_GP] >= 2
    answers_before = _answers(live, ANSWERING_GP)

    # The coordinator makes the GP's link from the GP's page.
    coordinator.submit(click("Médecins", role="link"), "liste des médecins")
    coordinator.submit(click(re.compile(rf"\({ANSWERING_GP}\)$"), role="link"), "page d'un médecin")
    coordinator.submit(
        click("Lien personnel du médecin vers son portail (créer ou révoquer)", role="link"),
        "lien du médecin",
    )
    coordinator.submit(click("Créer le lien"), "lien du médecin créé")
    link = page.locator("main code").inner_text().strip()
    assert link.startswith(live.url + "/medecin/")

    # The GP, in their own browser, answers two proposals.
    gp = open_visit("medecin")
    portal = gp.goto(link.removeprefix(live.url), "portail du médecin")
    sections = portal.locator("section:has(form[action$='/reponse'])")
    shown = sections.locator("h3").all_inner_texts()
    assert len(shown) == before[ANSWERING_GP]
    accepted, refused = (title.removeprefix("Demande ").strip() for title in shown[:2])

    first = portal.locator(f"section:has(h3:text-is('Demande {accepted}'))")
    first.get_by_label("J'accepte ce patient").check()
    gp.submit(lambda p: first.get_by_role("button", name="Envoyer ma réponse").click(), "accepté")
    assert any(f"vous acceptez la demande {accepted}" in m for m in gp.messages())
    second = portal.locator(f"section:has(h3:text-is('Demande {refused}'))")
    second.get_by_label("Je refuse").check()
    second.get_by_label("Motif (facultatif)").fill(REFUSAL)
    gp.submit(lambda p: second.get_by_role("button", name="Envoyer ma réponse").click(), "refusé")
    assert any(f"refus de la demande {refused} est enregistré" in m for m in gp.messages())
    assert portal.locator("section:has(form[action$='/reponse'])").count() == len(shown) - 2
    accepted_heads = portal.locator("h2:has-text('Patients que vous avez acceptés') ~ section h3")
    assert any(accepted in h for h in accepted_heads.all_inner_texts())

    # The register: each answer recorded once, nothing else changed for this GP.
    after = _answers(live, ANSWERING_GP)
    assert after[accepted] == [*answers_before[accepted], Event.ACCEPT]
    assert after[refused] == [*answers_before[refused], Event.REFUSE]
    assert {k: v for k, v in after.items() if k not in (accepted, refused)} == {
        k: v for k, v in answers_before.items() if k not in (accepted, refused)
    }
    with SQLiteStore(live.path, create=False) as store:
        file = store.get_file(refused)
        assert file is not None
        assert file.history[-1].comment == REFUSAL
        assert ANSWERING_GP in file.declined_by
        lines = [(a.actor, a.action, a.subject) for a in store.audit_entries()]
    author = f"gp:{ANSWERING_GP}"
    assert lines.count((author, "portail.repondre", accepted)) == 1
    assert lines.count((author, "portail.repondre", refused)) == 1

    # The coordinator's dashboard, reloaded: two unanswered proposals fewer for this GP.
    coordinator.submit(click("Tableau de bord", role="link"), "tableau de bord après les réponses")
    now = unanswered_proposals(page)
    assert now.get(ANSWERING_GP, 0) == before[ANSWERING_GP] - 2
    assert {k: v for k, v in now.items() if k != ANSWERING_GP} == {
        k: v for k, v in before.items() if k != ANSWERING_GP
    }


# ------------------------------------------------------------------------------------------
# Pull mode: Sud Est Grenoblois shares lists with its GPs


@pytest.fixture(scope="module")
def pull_live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApp]:
    """A generated Sud Est Grenoblois register (every level on lists shared with the GPs),
    served with the key of its own ``.secret`` file, as ``mt-access serve`` would, so that
    ``mt-access medecin lien`` makes links it opens."""
    path = tmp_path_factory.mktemp("navigateur-liste") / "registre.sqlite"
    with SQLiteStore(path) as store:
        with store.transaction():
            store.put_setting("policy", PULL_POLICY)
        example_register(Register(store, load_policy(PULL_POLICY)), month=MONTH)
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("MT_ACCESS_WEB_SECRET", raising=False)
        with LiveApp(path, Clock(dt.datetime.now(dt.UTC)), SECRET_KEY=None) as served:
            yield served


@pytest.fixture
def open_pull_visit(
    browser: Browser, pull_live: LiveApp, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[OpenVisit]:
    """:func:`web_browser_support.open_visit` on :func:`pull_live`."""
    yield from visits(browser, pull_live, tmp_path, request)


def test_a_pull_mode_gp_picks_two_requests_from_their_list(
    open_pull_visit: OpenVisit, pull_live: LiveApp
) -> None:
    out, err = io.StringIO(), io.StringIO()
    code = main(
        ["medecin", "lien", PICKING_GP, "--registre", str(pull_live.path), "--adresse",
         pull_live.url],
        out=out, err=err,
    )  # fmt: skip
    assert code == 0, err.getvalue()
    link = out.getvalue().strip()
    assert link.startswith(pull_live.url + "/medecin/")
    before = _answers(pull_live, PICKING_GP)

    gp = open_pull_visit("medecin-liste")
    page = gp.goto(link.removeprefix(pull_live.url), "portail : liste à choisir")
    listed = page.locator("table tbody th[scope=row]")
    assert listed.count() >= 2
    picked: list[str] = []
    for label in ("premier choix", "second choix"):
        pseudonym = listed.first.inner_text().strip()
        gp.submit(click(f"Choisir la demande {pseudonym}"), f"portail : {label}")
        message = next(m for m in gp.messages() if f"choisi la demande {pseudonym}" in m)
        found = re.search(r"\(demande ([^)]+)\)", message)
        assert found is not None, message
        picked.append(found.group(1))
        assert pseudonym not in listed.all_inner_texts()
    assert "(actuellement 2)" in page.locator("main").inner_text()
    titles = page.locator("section:has(form[action$='/reponse']) h3").all_inner_texts()
    assert sorted(t.removeprefix("Demande ").strip() for t in titles) == sorted(picked)

    after = _answers(pull_live, PICKING_GP)
    assert len(set(picked)) == 2
    for rid in picked:
        assert after[rid] == [*before.get(rid, []), Event.PROPOSE]
    assert {k: v for k, v in after.items() if k not in picked} == before
    with SQLiteStore(pull_live.path, create=False) as store:
        register = Register(store, load_policy(PULL_POLICY))
        assert sorted(register.pending_picks(PICKING_GP)) == sorted(picked)
        lines = [(a.actor, a.action, a.subject) for a in store.audit_entries()]
    for rid in picked:
        assert lines.count((f"gp:{PICKING_GP}", "portail.choisir", rid)) == 1
