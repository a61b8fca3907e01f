"""Bad input on the GP portal (the pages reached by a GP's signed link), in pull mode so that
the GP's list and its picks are there too: links truncated, forged, expired, revoked, of a
withdrawn GP or of a GP the register does not know; query strings and answers with bad
values. No answer is a server error, each is a plain French page, a refusal records
nothing, and the logs name neither the patient nor the link. Generated data only."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("flask")
pytest.importorskip("flask_wtf")
pytest.importorskip("itsdangerous")

from flask.testing import FlaskClient

from factories import MOIRANS, VOIRON
from mt_access.register import Register
from mt_access.web.portal_links import make_token, revoke
from portal_support import (
    DAY,
    LAST_NAMES,
    PHONES,
    SECRET,
    Clock,
    app_over,
    gp_register,
    link,
    load,
    page_csrf,
    policy_text,
    proposed,
    waiting,
)
from web_support import text
from web_sweep_support import BAD_VALUES, QUERIES, check_answer

_FIELDS = ("demande", "etape", "reponse", "motif", "pseudonyme", "version")


def _register(tmp_path: Path) -> tuple[Register, str]:
    register = gp_register(load(tmp_path, policy_text(pull=True)))
    for key, commune in zip("ABC", (VOIRON, MOIRANS, VOIRON), strict=True):
        waiting(register, key, commune)
    rid = proposed(register, "A", "MG1")
    return register, rid


def _send(client: FlaskClient, register: Register, method: str, url: str, **kw: Any) -> Any:
    before = register.store.data_version()
    response = client.open(url, method=method, **kw)
    where = f"{method} {url[:60]} {str(kw)[:120]}"
    check_answer(response, where)
    if response.status_code >= 400:
        assert register.store.data_version() == before, where
    return response


def _clean_logs(caplog: pytest.LogCaptureFixture, *secrets: str) -> None:
    logged = "\n".join(r.getMessage() for r in caplog.records)
    for word in [*LAST_NAMES.values(), *PHONES.values(), *secrets]:
        assert word not in logged


@pytest.mark.slow
def test_the_portal_with_bad_query_strings_and_bad_answers(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    register, rid = _register(tmp_path)
    app = app_over(register.store, register.policy)
    url = link(register.store, "MG1")
    with app.test_client() as gp:
        assert "Votre liste de demandes à choisir" in text(gp.get(url))
        for query in QUERIES:
            status = _send(gp, register, "GET", url, query_string=query).status_code
            nul = any("\x00" in f"{k}{v}" for k, v in query.items())
            assert status == (400 if nul else 200), query
        token = page_csrf(gp, url)
        for action in ("reponse", "choix"):
            _send(gp, register, "POST", f"{url}/{action}", data={"csrf_token": token})
            _send(gp, register, "POST", f"{url}/{action}", data={"csrf_token": "faux"})
            _send(gp, register, "POST", f"{url}/{action}")
            for value in BAD_VALUES:
                data = dict.fromkeys(_FIELDS, value)
                _send(gp, register, "POST", f"{url}/{action}", data={**data, "csrf_token": token})
                for field in _FIELDS:  # one bad field, the others good
                    good = {"demande": rid, "etape": "5", "reponse": "refuse", "motif": "",
                            "csrf_token": token, field: value}  # fmt: skip
                    _send(gp, register, "POST", f"{url}/{action}", data=good)
            for method in ("GET", "PUT", "DELETE"):
                _send(gp, register, method, f"{url}/{action}")
    _clean_logs(caplog, url.removeprefix("/medecin/"))


def test_bad_links_get_a_french_page_and_record_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    register, rid = _register(tmp_path)
    store = register.store
    clock = Clock()
    app = app_over(store, register.policy, clock)
    url = link(store, "MG1", days=2, clock=clock)
    token = url.removeprefix("/medecin/")
    others = {
        "tronqué": token[: len(token) // 2],
        "sans signature": token.rsplit(".", 1)[0],
        "forgé": token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB"),
        "médecin inconnu": make_token(SECRET, "INCONNU", 0, clock=clock),
        "identifiant NUL": make_token(SECRET, "MG\x001", 0, clock=clock),
        "génération énorme": make_token(SECRET, "MG1", 10**30, clock=clock),
        "unicode": "é😀" * 10,
        "NUL": "%00",
        "chemin": "..%2F..%2Fadmin",
    }
    with app.test_client() as gp:
        csrf = page_csrf(gp, url)
        for name, bad in others.items():
            for suffix, method in (("", "GET"), ("/reponse", "POST"), ("/choix", "POST")):
                data = {"csrf_token": csrf, "demande": rid, "etape": "5", "reponse": "accepte",
                        "pseudonyme": "x"}  # fmt: skip
                response = _send(gp, register, method, f"/medecin/{bad}{suffix}", data=data)
                assert response.status_code in (403, 404, 410, 429), (name, suffix)
        clock.advance(days=2, seconds=1)
        assert _send(gp, register, "GET", url).status_code == 410  # expired
        clock.advance(days=-2)
        revoke(store, "MG1", actor="cli:tests")
        assert _send(gp, register, "GET", url).status_code == 410  # revoked
    _clean_logs(caplog, token)


def test_a_withdrawn_gps_link_answers_in_french(tmp_path: Path) -> None:
    register, rid = _register(tmp_path)
    app = app_over(register.store, register.policy)
    url = link(register.store, "MG1")
    with app.test_client() as gp:
        csrf = page_csrf(gp, url)
        register.withdraw_physician("MG1", DAY + dt.timedelta(days=5))
        check_answer(gp.get(url), "page")
        data = {"csrf_token": csrf, "demande": rid, "etape": "5", "reponse": "accepte"}
        check_answer(gp.post(f"{url}/reponse", data=data), "reponse")
        check_answer(gp.post(f"{url}/choix", data={"csrf_token": csrf, "pseudonyme": "x"}), "x")


def test_a_start_in_other_digits_shows_the_beginning_of_the_list(tmp_path: Path) -> None:
    # « ² » is a digit for str.isdigit() but not for int(): a server error before
    register, _rid = _register(tmp_path)
    app = app_over(register.store, register.policy)
    url = link(register.store, "MG1")
    with app.test_client() as gp:
        first = text(gp.get(url))
        for start in ("²", "¹²", "٣", "１"):
            response = gp.get(url, query_string={"debut": start})
            assert response.status_code == 200, start
            assert text(response) == first, start
