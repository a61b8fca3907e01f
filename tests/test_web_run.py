"""The month's run from the browser: the preview (the register's preview, nothing recorded),
« enregistrer » (what ``mt-access apparier`` records), a stale preview refused, the run's
letters and a request's letters to preview and download, the audit trail and the
permissions. Generated data only."""

from __future__ import annotations

import io
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("flask")
pytest.importorskip("flask_wtf")
pytest.importorskip("argon2")

from flask.testing import FlaskClient

from factories import req
from mt_access import PatientIdentity, letters
from mt_access.cli import main
from mt_access.letters import sending
from mt_access.lifecycle import RequestState
from mt_access.loading import load_policy
from mt_access.register import Register
from mt_access.store.sqlite import SQLiteStore
from mt_access.web.ops_run import STALE_RUN, run_letters
from web_support import (
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

_VERSION = re.compile(r'name="version" type="hidden" value="([^"]+)"')


@pytest.fixture
def places(register_file: Path) -> Path:
    """The register with room this month: every GP's capacity raised to 20."""
    with open_store(register_file) as store:
        register = Register(store, load_policy("voironnais"))
        for gp in register.physicians():
            register.change_capacity(gp.id, TODAY, 20)
    return register_file


def _register(path: Path) -> tuple[SQLiteStore, Register]:
    store = open_store(path)
    return store, Register(store, load_policy("voironnais"))


def _record(client: FlaskClient, version: str | None = None) -> Any:
    page = client.get("/appariement")
    found = _VERSION.search(text(page))
    assert found is not None
    token = csrf_token(client, "/appariement")
    return client.post(
        "/appariement/enregistrer",
        data={"csrf_token": token, "version": version or found.group(1)},
    )


def _state(path: Path) -> dict[str, Any]:
    """What a run changes: the request files, the ledger, the runs."""
    with SQLiteStore(path, create=False, readonly=True) as store:
        return {
            "files": {s.id: store.get_file(s.id) for s in store.summaries()},
            "ledger": list(store.ledger_entries()),
            "runs": store.runs(),
        }


# ------------------------------------------------------------------------------------------
# Preview


def test_the_preview_shows_what_the_register_would_decide_and_records_nothing(
    client: FlaskClient, places: Path
) -> None:
    login(client, "lea")
    store, register = _register(places)
    with store:
        expected = register.preview_match(TODAY)
        version = store.version
    assert len(expected.placements) == 7
    page = client.get("/appariement")
    assert page.status_code == 200
    body = text(page)
    assert "Aperçu : rien n'est enregistré." in body
    cards = dict(re.findall(r"<dt>([^<]+)</dt><dd>(\d+)</dd>", body))
    assert cards["Propositions aux médecins"] == str(len(expected.placements))
    assert cards["Orientations"] == str(len(expected.orientations))
    assert cards["Restent en attente"] == str(len(expected.waiting))
    for placement in expected.placements:
        assert f">{placement.request_id}</a></th><td>" in body
    assert "Enregistrer cet appariement" not in body  # read-only role
    with open_store(places) as store:
        assert store.version == version
        assert len(store.runs()) == 3


def test_the_waiting_requests_are_shown_with_their_reason(client: FlaskClient) -> None:
    login(client, "claire")
    body = text(client.get("/appariement"))
    cards = dict(re.findall(r"<dt>([^<]+)</dt><dd>(\d+)</dd>", body))
    assert cards["Propositions aux médecins"] == "0"
    assert cards["Restent en attente"] == "7"
    assert "<h2>Restent en attente</h2>" in body
    assert body.count('<th scope="row"><a href="/demandes/') >= 7


# ------------------------------------------------------------------------------------------
# Record


def test_recording_records_what_the_command_line_records(
    client: FlaskClient, places: Path, tmp_path: Path
) -> None:
    twin = tmp_path / "jumeau.sqlite"
    shutil.copy(places, twin)
    out, err = io.StringIO(), io.StringIO()
    code = main(["apparier", "--registre", str(twin), "--date", "16/03/2026"], out=out, err=err)
    assert code == 0, err.getvalue()

    login(client, "claire")
    done = _record(client)
    assert done.status_code == 303
    assert done.headers["Location"].endswith("/appariement/4")
    page = client.get("/appariement/4")
    assert "Appariement n° 4 enregistré." in text(page)
    assert _state(places) == _state(twin)
    with open_store(places) as store:
        line = store.audit_entries(limit=1)[0]
    assert (line.action, line.subject, line.actor) == (
        "appariement.enregistrer",
        "appariement-4",
        "user:claire",
    )
    assert line.detail.startswith("7 proposition(s)")


def test_a_stale_preview_records_nothing(client: FlaskClient, places: Path) -> None:
    login(client, "claire")
    page = client.get("/appariement")
    seen = _VERSION.search(text(page))
    assert seen is not None
    store, register = _register(places)
    with store:
        rid = next(s.id for s in store.summaries([RequestState.RECEIVED]))
        register.acknowledge(rid, TODAY)  # another coordinator, meanwhile
    before = _state(places)
    refused = client.post(
        "/appariement/enregistrer",
        data={"csrf_token": csrf_token(client, "/appariement"), "version": seen.group(1)},
    )
    assert refused.status_code == 303
    assert refused.headers["Location"].endswith("/appariement")
    again = client.get("/appariement")
    assert STALE_RUN.replace("'", "&#39;") in text(again)
    assert _state(places) == before
    assert _record(client).status_code == 303  # from the new preview, it is recorded
    assert len(_state(places)["runs"]) == 4


def test_a_display_elsewhere_does_not_make_the_preview_stale(
    client: FlaskClient, places: Path
) -> None:
    """Displays and logins write audit lines (``Store.version`` moves), not the register's
    data: the preview is still the run that gets recorded."""
    login(client, "claire")
    page = client.get("/appariement")
    seen = _VERSION.search(text(page))
    assert seen is not None
    with open_store(places) as store:
        rid = next(s.id for s in store.summaries([RequestState.WAITING]))
        audit_before = store.version
    assert client.get(f"/demandes/{rid}").status_code == 200  # in another tab, meanwhile
    with open_store(places) as store:
        assert store.version != audit_before
    done = client.post(
        "/appariement/enregistrer",
        data={"csrf_token": csrf_token(client, "/appariement"), "version": seen.group(1)},
    )
    assert done.status_code == 303
    assert "/appariement/" in done.headers["Location"]
    assert len(_state(places)["runs"]) == 4


def test_a_forged_or_missing_version_records_nothing(client: FlaskClient, places: Path) -> None:
    login(client, "claire")
    before = _state(places)
    token = csrf_token(client, "/appariement")
    for data in ({"csrf_token": token}, {"csrf_token": token, "version": "999999"}):
        assert client.post("/appariement/enregistrer", data=data).status_code == 303
    assert client.post("/appariement/enregistrer", data={"version": "1"}).status_code == 400
    assert _state(places) == before


def test_the_read_only_role_cannot_record_a_run(client: FlaskClient, places: Path) -> None:
    login(client, "lea")
    before = _state(places)
    page = client.get("/appariement")
    version = _VERSION.search(text(page))
    token = csrf_token(client, "/demandes/recherche")
    refused = client.post(
        "/appariement/enregistrer",
        data={"csrf_token": token, "version": version.group(1) if version else "0"},
    )
    assert refused.status_code == 403
    assert _state(places) == before


# ------------------------------------------------------------------------------------------
# The run's letters


def test_the_runs_letters_are_listed_previewed_and_downloaded(
    client: FlaskClient, places: Path
) -> None:
    login(client, "claire")
    _record(client)
    store, register = _register(places)
    with store:
        made = run_letters(register, 4)
    assert made is not None
    record, expected = made
    assert len(expected) == record.placements == 7
    page = text(client.get("/appariement/4"))
    assert page.count("/appariement/4/courriers/") == 2 * len(expected) + len(expected)
    first = expected[0]
    shown = client.get("/appariement/4/courriers/0")
    assert shown.status_code == 200
    body = text(shown)
    assert "<script" not in body.split("<main", 1)[1]
    assert body.split("<main", 1)[1].count("<h1") == 1  # the letter's titles come below
    assert first.request_id in body
    with open_store(places) as store:
        line = store.audit_entries(limit=1)[0]
    assert (line.action, line.subject) == ("courrier.afficher", first.request_id)
    markdown = client.get("/appariement/4/courriers/0.md")
    assert markdown.status_code == 200
    assert markdown.headers["Content-Type"] == "text/markdown; charset=utf-8"
    assert markdown.headers["Content-Disposition"] == (
        f"attachment; filename={first.filename('md')}"
    )
    assert markdown.get_data(as_text=True) == first.markdown
    with open_store(places) as store:
        line = store.audit_entries(limit=1)[0]
    assert (line.action, line.detail) == ("courrier.telecharger", "dossier_medecin (md)")
    for index, letter in enumerate(expected):  # each written alone is the same letter
        got = client.get(f"/appariement/4/courriers/{index}.md")
        assert got.get_data(as_text=True) == letter.markdown
    assert client.get("/appariement/4/courriers/99").status_code == 404
    assert client.get("/appariement/4/courriers/0.exe").status_code == 404


def test_the_runs_letters_are_those_apparier_writes(
    client: FlaskClient, places: Path, tmp_path: Path
) -> None:
    twin = tmp_path / "jumeau.sqlite"
    shutil.copy(places, twin)
    folder = tmp_path / "courriers"
    out, err = io.StringIO(), io.StringIO()
    code = main(
        ["apparier", "--registre", str(twin), "--date", "16/03/2026", "--courriers",
         str(folder), "--format-courriers", "md"],
        out=out, err=err,
    )  # fmt: skip
    assert code == 0, err.getvalue()
    login(client, "claire")
    _record(client)
    store, register = _register(places)
    with store:
        made = run_letters(register, 4)
    assert made is not None
    written = {p.name: p.read_text(encoding="utf-8") for p in folder.iterdir()}
    assert {x.filename("md"): x.markdown for x in made[1]} == written


def test_the_letters_of_a_run_recorded_by_the_command_line_are_listed_too(
    client: FlaskClient, register_file: Path
) -> None:
    # run 3 was recorded by Register.run_match, as « mt-access apparier » does: no letters
    # kept for the pages; they are those « mt-access envoyer » rebuilds from the register
    login(client, "lea")
    store, register = _register(register_file)
    with store:
        expected, lost = sending.letters_of_run(register, 3)
        record = next(r for r in register.runs() if r.number == 3)
        made = run_letters(register, 3)
    assert not lost
    assert len(expected) >= record.placements >= 1
    page = text(client.get("/appariement/3"))
    assert "enregistré hors de l'application" in page
    assert page.count("/appariement/3/courriers/") == 3 * len(expected)
    for index, letter in enumerate(expected):
        assert letter.request_id in page
        got = client.get(f"/appariement/3/courriers/{index}.md")
        assert got.status_code == 200
        assert got.headers["Content-Disposition"] == (
            f"attachment; filename={letter.filename('md')}"
        )
        assert got.get_data(as_text=True) == letter.markdown
    shown = client.get("/appariement/3/courriers/0")
    assert shown.status_code == 200
    assert expected[0].request_id in text(shown)
    with open_store(register_file) as store:
        line = store.audit_entries(limit=1)[0]
    assert (line.action, line.subject) == ("courrier.afficher", expected[0].request_id)
    assert made is not None
    assert made[1] == expected
    assert client.get(f"/appariement/3/courriers/{len(expected)}").status_code == 404
    assert client.get("/appariement/42").status_code == 404


def test_a_letter_of_a_command_line_run_no_longer_possible_says_why(
    client: FlaskClient, register_file: Path
) -> None:
    login(client, "claire")
    store, register = _register(register_file)
    with store:
        _, targets = sending.run_letter_targets(register, 3)
        index, (_, rid, _) = next(
            (i, t) for i, t in enumerate(targets) if t[0] is letters.LetterKind.REFERRAL
        )
        register.erase(rid, TODAY)
    answer = client.get(f"/appariement/3/courriers/{index}")
    assert answer.status_code == 303
    shown = text(client.get(answer.headers["Location"]))
    assert "Courrier non disponible" in shown


def test_a_pdf_letter_without_weasyprint_gets_a_french_message(
    client: FlaskClient, places: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mt_access.letters import pdf

    def missing() -> None:
        raise letters.LetterError(pdf.MISSING)

    monkeypatch.setattr(pdf, "_weasyprint", missing)
    login(client, "claire")
    _record(client)
    page = text(client.get("/appariement/4"))
    assert "PDF indisponible sur ce serveur" in page
    assert "courriers/0.pdf" not in page
    refused = client.get("/appariement/4/courriers/0.pdf", follow_redirects=True)
    assert "Courrier non disponible : le format PDF demande WeasyPrint" in text(refused)


def test_a_pdf_letter_is_downloaded(client: FlaskClient, places: Path) -> None:
    from mt_access.letters.pdf import require_weasyprint

    try:
        require_weasyprint()
    except letters.LetterError:
        pytest.skip("WeasyPrint absent")
    login(client, "claire")
    _record(client)
    got = client.get("/appariement/4/courriers/0.pdf")
    assert got.status_code == 200
    assert got.headers["Content-Type"] == "application/pdf"
    assert got.headers["Content-Disposition"].startswith("attachment; filename=")
    assert got.headers["Content-Disposition"].endswith(".pdf")
    assert got.data.startswith(b"%PDF")


# ------------------------------------------------------------------------------------------
# A request's letters


def test_a_requests_letters_are_listed_previewed_and_downloaded(
    client: FlaskClient, register_file: Path
) -> None:
    with open_store(register_file) as store:
        rid = next(s.id for s in store.summaries([RequestState.PROPOSED]))
        file = store.get_file(rid)
    assert file is not None
    gp = sorted(file.proposed_to)[0]
    login(client, "lea")
    assert f'href="/demandes/{rid}/courriers"' in text(client.get(f"/demandes/{rid}"))
    page = text(client.get(f"/demandes/{rid}/courriers"))
    assert "Accusé de réception au patient" in page
    assert f"/demandes/{rid}/courriers/dossier-medecin?medecin={gp}" in page
    shown = client.get(f"/demandes/{rid}/courriers/accuse-patient")
    assert shown.status_code == 200
    with open_store(register_file) as store:
        register = Register(store, load_policy("voironnais"))
        expected = letters.acknowledgement(register, rid, TODAY, to="patient")
        referral = letters.referral_letter(register, rid, gp, TODAY)
        line = store.audit_entries(limit=1)[0]
    assert (line.action, line.subject, line.actor) == ("courrier.afficher", rid, "user:lea")
    got = client.get(f"/demandes/{rid}/courriers/accuse-patient.md")
    assert got.headers["Content-Type"] == "text/markdown; charset=utf-8"
    assert got.headers["Content-Disposition"] == f"attachment; filename={expected.filename('md')}"
    assert got.get_data(as_text=True) == expected.markdown
    got = client.get(f"/demandes/{rid}/courriers/dossier-medecin.md?medecin={gp}")
    assert got.get_data(as_text=True) == referral.markdown
    refused = client.get(f"/demandes/{rid}/courriers/dossier-medecin.md", follow_redirects=True)
    assert "Courrier non disponible" in text(refused)
    assert client.get(f"/demandes/{rid}/courriers/inconnu").status_code == 404
    assert client.get("/demandes/NOPE-1/courriers").status_code == 404


def test_a_letters_preview_escapes_what_the_register_holds(
    client: FlaskClient, register_file: Path
) -> None:
    store, register = _register(register_file)
    with store:
        register.add_request(
            req("WEB-1", received=TODAY),
            PatientIdentity(last_name="<script>alert(1)</script>", first_name="<b>Zoé</b>"),
        )
    login(client, "lea")
    page = text(client.get("/demandes/WEB-1/courriers/accuse-patient"))
    main_part = page.split("<main", 1)[1]
    assert "<script>alert(1)</script>" not in main_part
    assert "<b>Zoé</b>" not in main_part
    assert "&lt;script&gt;" in main_part


def test_each_letter_of_a_run_kept_and_written_alone_is_the_one_apparier_writes() -> None:
    """A policy with orientations and resources (coeur_essonne): what the run keeps gives
    the same letters, and each one written alone is the same as in the whole list."""
    import json

    from mt_access.calendar import Month
    from mt_access.examples import example_register
    from mt_access.store.memory import MemoryStore
    from mt_access.web.ops_run import _keep, _run_of, run_letter_at, run_letter_list

    register = Register(MemoryStore(), load_policy("coeur_essonne"))
    on = example_register(register, month=Month(2026, 3), requests_per_month=30)
    run = register.run_match(on)
    assert run.proposed
    assert run.result.orientations
    assert any(a.first_time for a in run.result.attached_resources)
    expected = letters.letters_for_run(register, run, on)
    kept = _run_of(register, run.record, json.loads(_keep(run, on)))
    assert letters.letters_for_run(register, kept, on) == expected
    listed = run_letter_list(kept)
    assert [(x.kind, x.request_id, x.physician_id) for x in listed] == [
        (x.kind, x.request_id, x.physician_id) for x in expected
    ]
    assert {x.kind for x in listed} == {
        letters.LetterKind.REFERRAL,
        letters.LetterKind.ORIENTATION,
        letters.LetterKind.RESOURCES,
    }
    for index, letter in enumerate(expected):
        assert run_letter_at(register, kept, on, index) == letter
