"""Progressive enhancement with htmx (:mod:`mt_access.web.htmx`), through Flask's test client:
the same routes answer a fragment to an htmx request (``HX-Request``) and the whole page
otherwise; the list pushes its address; the dashboard's refresh answers 204 when nothing
changed and does not extend the session; a request's action through htmx keeps its CSRF
check (form field or ``X-CSRFToken`` header), its stale-page check and its messages, and
its fragment shows (and audits) no identity; htmx itself is shipped in the package with its
licence. Generated data only."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("flask")
pytest.importorskip("flask_wtf")
pytest.importorskip("argon2")

from flask.testing import FlaskClient

import mt_access.web
from mt_access.lifecycle import RequestState
from mt_access.loading import load_policy
from mt_access.register import Register
from mt_access.transitions import Event
from mt_access.web.htmx import HTMX_CONFIG, REFRESH_SECONDS
from mt_access.web.request_pages import STALE_MESSAGE
from request_page_support import first_in
from web_support import (
    TODAY,
    Clock,
    app,
    client,
    clock,
    csrf_token,
    login,
    make_app,
    open_store,
    register_file,
    register_template,
    text,
)

__all__ = ["app", "client", "clock", "register_file", "register_template"]

HX = {"HX-Request": "true"}
STATIC = Path(mt_access.web.__file__).parent / "static" / "htmx"
_ROW_ID = re.compile(r'<th scope="row"><a href="/demandes/([^"]+)">')
_STEP = re.compile(r'name="etape" type="hidden" value="(\d+)"')
_HEADERS = re.compile(r"<body hx-headers='([^']+)'>")
_VERSION = re.compile(r"hx-vals='([^']+)'")


def _a_waiting_request(client: FlaskClient, path: Path) -> tuple[str, Any]:
    """Logged in as the coordinator, a waiting request's id and its page."""
    login(client, "claire")
    rid = first_in(path, RequestState.WAITING)
    return rid, client.get(f"/demandes/{rid}")


def _events(path: Path, rid: str) -> list[Event]:
    with open_store(path) as store:
        found = store.get_file(rid)
        assert found is not None
        return [t.event for t in found.history]


def _header_token(page: Any) -> str:
    """The CSRF token htmx sends in its header (the body's ``hx-headers``)."""
    found = _HEADERS.search(text(page))
    assert found is not None
    headers: dict[str, str] = json.loads(found.group(1))
    return headers["X-CSRFToken"]


def _step(page: Any) -> str:
    found = _STEP.search(text(page))
    assert found is not None
    return found.group(1)


# ------------------------------------------------------------------------------------------
# Every page: htmx from the package, configured for the CSP


def test_htmx_is_shipped_in_the_package_with_its_licence_and_version(
    client: FlaskClient,
) -> None:
    script = (STATIC / "htmx.min.js").read_bytes()
    notice = (STATIC / "README.md").read_text(encoding="utf-8")
    assert 'version:"2.0.11"' in script.decode("utf-8")
    assert "htmx 2.0.11" in notice
    assert hashlib.sha256(script).hexdigest() in notice  # the file as the registry has it
    assert "Zero-Clause BSD" in (STATIC / "LICENSE").read_text(encoding="utf-8")
    served = client.get("/static/htmx/htmx.min.js")
    assert served.status_code == 200
    assert served.data == script
    assert "javascript" in served.headers["Content-Type"]
    served.close()


def test_every_page_loads_htmx_from_the_package_configured_without_eval(
    client: FlaskClient,
) -> None:
    page = text(client.get("/connexion"))
    assert '<script src="/static/htmx/htmx.min.js" defer></script>' in page
    found = re.search(r'<meta name="htmx-config" content="([^"]+)">', page)
    assert found is not None
    config = json.loads(found.group(1).replace("&#34;", '"'))
    assert config == HTMX_CONFIG
    assert config["allowEval"] is False
    assert config["includeIndicatorStyles"] is False  # no <style> injected
    assert config["historyCacheSize"] == 0  # no page (patient data) kept in the browser
    assert "hx-headers" not in page  # no account, no token for htmx
    login(client, "claire")
    assert "X-CSRFToken" in text(client.get("/"))


# ------------------------------------------------------------------------------------------
# The list of requests


def test_the_list_answers_htmx_with_the_filters_and_results_alone(
    client: FlaskClient, register_file: Path
) -> None:
    login(client, "lea")
    query = {"etat": "waiting", "tri": "attente", "commune": "", "id": ""}
    page = client.get("/demandes", query_string=query)
    fragment = client.get("/demandes", query_string=query, headers=HX)
    assert page.status_code == fragment.status_code == 200
    assert "<html" in text(page)
    assert "<html" not in text(fragment)
    assert "Navigation principale" not in text(fragment)
    assert text(fragment).lstrip().startswith('<div id="liste-demandes"')
    assert _ROW_ID.findall(text(fragment)) == _ROW_ID.findall(text(page))
    assert _ROW_ID.findall(text(fragment))
    # the address pushed has the filters asked, without the blank ones: back comes back to it
    assert fragment.headers["HX-Push-Url"] == "/demandes?etat=waiting&tri=attente"
    assert "HX-Push-Url" not in page.headers
    assert "HX-Request" in fragment.headers["Vary"]
    assert "HX-Request" in page.headers["Vary"]
    # the results' count takes the focus in the fragment only
    assert "autofocus" in text(fragment)
    assert "autofocus" not in text(page)


def test_the_lists_pages_and_an_invalid_filter_through_htmx(client: FlaskClient) -> None:
    login(client, "lea")
    second = client.get("/demandes", query_string={"page": "2"}, headers=HX)
    assert second.status_code == 200
    assert "Page 2 sur" in text(second)
    assert second.headers["HX-Push-Url"] == "/demandes?page=2"
    assert 'hx-boost="true"' in text(second)  # the pager's links go through htmx too
    bad = client.get("/demandes", query_string={"attente_min": "-3"}, headers=HX)
    assert bad.status_code == 400  # swapped all the same: the message next to the field
    assert "<html" not in text(bad)
    assert 'id="attente_min-erreur"' in text(bad)


def test_a_history_restore_gets_the_whole_page(client: FlaskClient) -> None:
    login(client, "lea")
    page = client.get("/demandes", headers={**HX, "HX-History-Restore-Request": "true"})
    assert "<html" in text(page)


# ------------------------------------------------------------------------------------------
# The dashboard


def test_the_dashboard_refreshes_itself_and_answers_204_when_nothing_changed(
    client: FlaskClient, register_file: Path
) -> None:
    login(client, "claire")
    page = client.get("/")
    assert f'hx-trigger="every {REFRESH_SECONDS}s"' in text(page)
    assert "Arrêter la mise à jour automatique" in text(page)
    found = _VERSION.search(text(page))
    assert found is not None
    version = json.loads(found.group(1))["version"]

    same = client.get("/", query_string={"version": version}, headers=HX)
    assert same.status_code == 204
    assert same.data == b""

    rid = first_in(register_file, RequestState.RECEIVED)
    with open_store(register_file) as store:  # another actor: the command line
        Register(store, load_policy("voironnais")).acknowledge(rid, TODAY, "")
        received = len(store.summaries([RequestState.RECEIVED]))
    changed = client.get("/", query_string={"version": version}, headers=HX)
    assert changed.status_code == 200
    fragment = text(changed)
    assert fragment.lstrip().startswith('<div id="tableau-de-bord-suivi"')
    assert "<html" not in fragment
    assert f"{received} demande(s) reçue(s) à accuser" in fragment
    assert f"{received + 1} demande(s) reçue(s) à accuser" in text(page)
    assert f'hx-trigger="every {REFRESH_SECONDS}s"' in fragment  # and it goes on


def test_the_dashboards_refresh_period_is_a_setting_and_can_be_stopped(
    register_file: Path, clock: Clock
) -> None:
    app = make_app(register_file, clock, DASHBOARD_REFRESH_SECONDS=5)
    with app.test_client() as client:
        login(client, "lea")
        assert 'hx-trigger="every 5s"' in text(client.get("/"))
        stopped = text(client.get("/", query_string={"actualiser": "non"}))
        assert "hx-trigger" not in stopped
        assert "Mise à jour automatique arrêtée." in stopped


def test_the_dashboards_refresh_does_not_extend_the_session(client: FlaskClient) -> None:
    login(client, "lea")
    person = client.get("/")
    assert any("mt_access_session=" in c for c in person.headers.getlist("Set-Cookie"))
    refresh = client.get("/", headers={**HX, "HX-Trigger": "tableau-de-bord-suivi"})
    assert refresh.status_code == 200
    assert "<html" not in text(refresh)
    assert refresh.headers.getlist("Set-Cookie") == []


def test_a_whole_page_answering_htmx_is_opened_as_a_page(client: FlaskClient) -> None:
    # e.g. the dashboard's refresh after the session ended: the login page, as a page
    refresh = client.get("/", headers={**HX, "HX-Trigger": "tableau-de-bord-suivi"})
    assert refresh.status_code == 302
    login_page = client.get(refresh.headers["Location"], headers=HX)
    assert login_page.headers["HX-Redirect"].startswith("/connexion")


# ------------------------------------------------------------------------------------------
# A request's actions


def test_an_action_through_htmx_answers_the_actions_state_and_history_without_identity(
    client: FlaskClient, register_file: Path
) -> None:
    rid, page = _a_waiting_request(client, register_file)
    assert 'hx-post="/demandes/' in text(page)
    assert f'hx-post="/demandes/{rid}/effacer"' not in text(page)  # the erasure: a page
    start = _events(register_file, rid)
    with open_store(register_file) as store:
        identity = store.get_identity(rid)
        audited = len(store.audit_entries(subject=rid))
    assert identity is not None
    assert identity.last_name in text(page)

    # the token in htmx's header only (the form's field left out)
    sent = client.post(
        f"/demandes/{rid}/contact",
        data={"etape": _step(page), "resultat": "joint"},
        headers={**HX, "X-CSRFToken": _header_token(page)},
    )
    assert sent.status_code == 303
    assert _events(register_file, rid) == [*start, Event.CONTACT_SUCCEEDED]
    fragment = client.get(sent.headers["Location"], headers=HX)
    shown = text(fragment)
    assert fragment.status_code == 200
    assert "<html" not in shown
    assert '<p id="demande-etat" hx-swap-oob="true">' in shown
    assert '<div id="demande-actions">' in shown
    assert '<div id="demande-historique" hx-swap-oob="true">' in shown
    assert "Tentative de contact enregistrée." in shown
    assert f'name="etape" type="hidden" value="{len(start) + 1}"' in shown
    assert identity.last_name not in shown
    assert identity.phone not in shown
    with open_store(register_file) as store:
        lines = store.audit_entries(subject=rid)
    assert [a.action for a in lines[: len(lines) - audited]] == ["demande.contact"]


def test_an_htmx_action_without_a_csrf_token_is_refused_and_shown_as_a_page(
    client: FlaskClient, register_file: Path
) -> None:
    rid, page = _a_waiting_request(client, register_file)
    start = _events(register_file, rid)
    for headers in (HX, {**HX, "X-CSRFToken": "faux"}):
        refused = client.post(
            f"/demandes/{rid}/contact",
            data={"etape": _step(page), "resultat": "joint"},
            headers=headers,
        )
        assert refused.status_code == 400
        assert "Le formulaire a expiré" in text(refused)
        assert refused.headers["HX-Retarget"] == "body"  # the error page, not in the actions
    assert _events(register_file, rid) == start


def test_a_stale_htmx_action_says_so_and_records_nothing(
    client: FlaskClient, register_file: Path
) -> None:
    rid, page = _a_waiting_request(client, register_file)
    token = csrf_token(client, f"/demandes/{rid}")
    step = _step(page)
    first = client.post(
        f"/demandes/{rid}/contact",
        data={"etape": step, "resultat": "joint", "csrf_token": token},
        headers=HX,
    )
    assert first.status_code == 303
    client.get(first.headers["Location"], headers=HX)  # its message shown
    recorded = _events(register_file, rid)
    stale = client.post(
        f"/demandes/{rid}/contact",
        data={"etape": step, "resultat": "injoignable", "csrf_token": token},
        headers=HX,
    )
    assert stale.status_code == 303
    shown = text(client.get(stale.headers["Location"], headers=HX))
    assert STALE_MESSAGE in shown.replace("&#39;", "'")
    assert "a changé depuis" in STALE_MESSAGE
    assert _events(register_file, rid) == recorded


def test_an_htmx_action_with_errors_answers_the_fragment_with_the_messages(
    client: FlaskClient, register_file: Path
) -> None:
    rid, page = _a_waiting_request(client, register_file)
    start = _events(register_file, rid)
    sent = client.post(
        f"/demandes/{rid}/proposer",
        data={"etape": _step(page), "csrf_token": csrf_token(client, f"/demandes/{rid}")},
        headers=HX,
    )
    assert sent.status_code == 400
    shown = text(sent)
    assert "<html" not in shown
    assert "Le formulaire contient des erreurs" in shown
    assert 'class="error"' in shown
    assert _events(register_file, rid) == start


def test_an_htmx_action_also_renews_the_pages_other_forms(
    client: FlaskClient, register_file: Path
) -> None:
    """The forms of the request's other actions (a GP's answer, the qualification...) carry
    the page's step too: the fragment swaps them with the new step, else the next of them
    would be refused as coming from a stale page."""
    rid, page = _a_waiting_request(client, register_file)
    start = _events(register_file, rid)
    assert f'id="qualifier-etape" name="etape" type="hidden" value="{len(start)}"' in text(page)
    sent = client.post(
        f"/demandes/{rid}/contact",
        data={"etape": _step(page), "resultat": "joint"},
        headers={**HX, "X-CSRFToken": _header_token(page)},
    )
    fragment = text(client.get(sent.headers["Location"], headers=HX))
    assert '<div id="demande-plus" hx-swap-oob="true">' in fragment
    assert f'id="qualifier-etape" name="etape" type="hidden" value="{len(start) + 1}"' in fragment
