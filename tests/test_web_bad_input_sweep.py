"""Bad input, everywhere: every URL rule of the web application walked as each role (admin,
coordinator, read-only, a GP's link, anonymous) with wrong methods, path ids that do not
exist, are huge or hold unicode, NUL or ``../``, query strings with bad values, and forms
with missing, empty, very long, NUL-holding, out-of-range or unknown values, a missing or
wrong CSRF token. No answer is a server error (the test client raises what the application
does not handle), a refusal is a plain French page, a refusal records nothing, and the logs
name no patient. Then one focused test for each problem the sweep found. Generated data
only."""

from __future__ import annotations

import logging
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("flask")
pytest.importorskip("flask_wtf")
pytest.importorskip("argon2")

from flask import Flask
from flask.testing import FlaskClient

from mt_access.lifecycle import RequestState
from mt_access.store.sqlite import SQLiteStore
from mt_access.web.accounts import create_user
from mt_access.web.portal_links import issue_link
from web_support import (
    FAST_HASHER,
    PASSWORD,
    T0,
    Clock,
    build_register,
    clock,
    csrf_token,
    login,
    make_app,
    open_store,
    register_file,
    register_template,
    text,
)
from web_sweep_support import (
    BAD_VALUES,
    QUERIES,
    bad_paths,
    check_answer,
    fill,
    methods,
    rules,
)

__all__ = ["clock", "register_file", "register_template"]

ROLES = ("admin", "coordinateur", "lecture", "medecin", "anonyme")
ACCOUNT = {"admin": "alice", "coordinateur": "claire", "lecture": "lea"}
FIELDS = [
    "attente_min",
    "au",
    "cabinet",
    "capacite",
    "commentaire",
    "commune",
    "communes",
    "confirmation",
    "contenu",
    "correspondance",
    "date",
    "date_reception",
    "demande",
    "domicile",
    "du",
    "etape",
    "etat",
    "feuille",
    "format",
    "id",
    "identifiant",
    "jours",
    "login",
    "medecin",
    "mettre_a_jour",
    "mois",
    "mot_de_passe",
    "motif",
    "niveau",
    "nom",
    "nominatif",
    "note",
    "notes",
    "par_an",
    "password",
    "pseudonyme",
    "reponse",
    "ressource",
    "resultat",
    "role",
    "rpps",
    "sans_attente",
    "tri",
    "urgent",
    "version",
    "personnes",
]
"""Every field name of the application's forms (and a few more)."""

PER_FIELD = ("x" * 100_000, "a\x00b", "99999999999999999999999")
"""The bad values also sent one field at a time (the others left out)."""

_CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


class Sweep:
    """The application over a copy of the generated register, a GP's link, the good values
    of the paths' arguments, and what the sweep checks after each answer."""

    def __init__(self, path: Path, clock: Clock) -> None:
        self.path = path
        with open_store(path) as store:
            create_user(store, "zoe", "lecture", PASSWORD, actor="cli:tests",
                        hasher=FAST_HASHER, now=T0)  # fmt: skip
        self.app: Flask = make_app(path, clock)
        self.store = SQLiteStore(path, create=False)
        proposed = next(iter(self.store.summaries([RequestState.PROPOSED])))
        self.rid = proposed.id
        self.gp = proposed.proposed_to[0]
        secret = self.app.config["SECRET_KEY"]
        token = issue_link(self.store, secret, self.gp, actor="cli:tests", days=30, clock=clock)
        self.token = token
        self.names = self._patient_words()

    def _patient_words(self) -> set[str]:
        words: set[str] = set()
        for person in self.store.known_persons():
            identity = person.identity
            for value in (identity.last_name, identity.phone, identity.email):
                if len(value) >= 4:
                    words.add(value)
        assert words
        return words

    def good(self, rule: Any) -> dict[str, str]:
        action = "capacite" if rule.rule.startswith("/medecins/") else "accuser"
        return {"rid": self.rid, "pid": self.gp, "physician_id": self.gp, "login": "zoe",
                "number": "1", "index": "0", "fmt": "md", "kind": "accuse-patient",
                "token": self.token, "action": action}  # fmt: skip

    def step(self) -> str:
        file = self.store.get_file(self.rid)
        assert file is not None
        return str(len(file.history))

    def client(self, role: str) -> Iterator[tuple[FlaskClient, str]]:
        with self.app.test_client() as made:
            if role in ACCOUNT:
                assert login(made, ACCOUNT[role]).status_code == 302
            url = f"/medecin/{self.token}" if role == "medecin" else "/connexion"
            found = _CSRF.search(text(made.get(url)))
            assert found, role
            yield made, found.group(1)

    def send(self, client: FlaskClient, method: str, url: str, **kwargs: Any) -> Any:
        """Send, check the answer; a refusal (4xx) leaves the register's data unchanged."""
        before = self.store.data_version()
        response = client.open(url, method=method, **kwargs)
        where = f"{method} {url[:100]} {str(kwargs)[:200]}"
        check_answer(response, where)
        if response.status_code >= 400:
            assert self.store.data_version() == before, where
        response.close()
        return response

    def still_in(self, client: FlaskClient, role: str, after: str) -> None:
        """The role's account is still logged in (else the rest of the sweep would only see
        the login page)."""
        if role in ACCOUNT:
            assert client.get("/").status_code == 200, (role, after)

    def close(self) -> None:
        self.store.close()


@pytest.fixture(scope="module")
def small_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A smaller register than the other web tests' (8 requests a month): the sweeps send
    thousands of requests, some to pages that read the whole register."""
    path = tmp_path_factory.mktemp("balayage") / "modele.sqlite"
    build_register(path, requests_per_month=8)
    return path


@pytest.fixture
def small_file(small_template: Path, tmp_path: Path) -> Path:
    path = tmp_path / "registre.sqlite"
    shutil.copy(small_template, path)
    return path


@pytest.fixture
def sweep(small_file: Path, clock: Clock) -> Iterator[Sweep]:
    made = Sweep(small_file, clock)
    yield made
    made.close()


def _no_patient_in_logs(sweep: Sweep, caplog: pytest.LogCaptureFixture) -> None:
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert not [w for w in sweep.names if w in logged]
    assert sweep.token not in logged


# ------------------------------------------------------------------------------------------
# The sweeps


@pytest.mark.slow
@pytest.mark.parametrize("role", ROLES)
def test_every_rule_with_wrong_methods_and_bad_ids(
    sweep: Sweep, role: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    for client, token in sweep.client(role):
        for rule in rules(sweep.app):
            if rule.endpoint == "auth.logout":
                continue  # logs the role out; its bad input is in the forms' sweep
            for url in bad_paths(rule, sweep.good(rule)):
                for method in methods(rule):
                    if method == "POST":
                        sweep.send(client, method, url, data={"csrf_token": token})
                        sweep.send(client, method, url, data={"csrf_token": "faux"})
                        sweep.send(client, method, url)
                    else:
                        sweep.send(client, method, url)
                        sweep.send(client, method, url, headers={"HX-Request": "true"})
            sweep.still_in(client, role, rule.rule)
    _no_patient_in_logs(sweep, caplog)


@pytest.mark.slow
@pytest.mark.parametrize("role", ROLES)
def test_every_page_with_bad_query_strings(
    sweep: Sweep, role: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    for client, _token in sweep.client(role):
        for rule in rules(sweep.app):
            if "GET" not in (rule.methods or set()):
                continue
            url = fill(rule, sweep.good(rule))
            for query in QUERIES:
                sweep.send(client, "GET", url, query_string=query)
            sweep.still_in(client, role, rule.rule)
    _no_patient_in_logs(sweep, caplog)


@pytest.mark.slow
@pytest.mark.parametrize("role", ["admin", "coordinateur", "medecin"])
def test_every_form_with_bad_values(
    sweep: Sweep, role: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    for client, token in sweep.client(role):
        for rule in rules(sweep.app):
            if "POST" not in (rule.methods or set()) or rule.endpoint == "auth.logout":
                continue
            url = fill(rule, sweep.good(rule))
            sweep.send(client, "POST", url, data={"csrf_token": token})  # every field missing
            one_by_one = role != "admin" or rule.endpoint.startswith("admin.")
            for value in BAD_VALUES:
                if len(value) < 1000:  # 100 KB in each field: 5 MB, sent one field at a time
                    data = dict.fromkeys(FIELDS, value)
                    sweep.send(client, "POST", url, data={**data, "csrf_token": token,
                                                          "etape": sweep.step()})  # fmt: skip
                    sweep.send(client, "POST", url, data={**data, "csrf_token": token})
                if value not in PER_FIELD or not one_by_one:
                    continue
                for field in FIELDS:
                    data = {field: value, "csrf_token": token, "etape": sweep.step()}
                    sweep.send(client, "POST", url, data=data)
            sweep.still_in(client, role, rule.rule)
        sweep.send(client, "POST", "/deconnexion", data={"csrf_token": "faux"})
        sweep.send(client, "POST", "/deconnexion", data={"csrf_token": token, "x": "\x00"})
    _no_patient_in_logs(sweep, caplog)


def test_the_login_form_with_bad_values(sweep: Sweep) -> None:
    for client, token in sweep.client("anonyme"):
        for value in BAD_VALUES:
            for data in ({"login": value, "password": value}, {"login": "alice", "password":
                         value}, {"login": value}):  # fmt: skip
                response = sweep.send(client, "POST", "/connexion",
                                      data={**data, "csrf_token": token})  # fmt: skip
                assert response.status_code in (200, 401), (value[:20], response.status_code)
            response = sweep.send(client, "POST", "/connexion", data={"login": value})
            assert response.status_code == 400  # no CSRF token
            assert "Le formulaire a expiré" in text(response).replace("&#39;", "'")


# ------------------------------------------------------------------------------------------
# What the sweeps found


def test_a_huge_page_number_shows_the_last_page_of_the_list(
    client: FlaskClient, register_file: Path
) -> None:
    login(client, "lea")
    last = client.get("/demandes", query_string={"page": "999999"})
    assert last.status_code == 200
    for page in ("99999999999999999999", "9" * 400, "²", "-3", " 2 "):
        response = client.get("/demandes", query_string={"page": page})
        assert response.status_code == 200, page
        check_answer(response, page)
    huge = client.get("/demandes", query_string={"page": "99999999999999999999"})
    assert _rows(huge) == _rows(last)
    with_filter = client.get("/demandes", query_string={"page": "9" * 30, "tri": "etat"})
    assert with_filter.status_code == 200


def _rows(response: Any) -> list[str]:
    return re.findall(r'href="/demandes/([^"/]+)"', text(response))


def test_a_huge_or_odd_audit_line_number_shows_the_latest_lines(client: FlaskClient) -> None:
    login(client, "alice")
    latest = client.get("/admin/journal")
    for before in ("99999999999999999999", "9" * 400, "²", "-1", "abc"):
        response = client.get("/admin/journal", query_string={"avant": before})
        assert response.status_code == 200, before
        check_answer(response, before)
        assert text(response).count("<tr") == text(latest).count("<tr"), before


@pytest.fixture
def client(register_file: Path, clock: Clock) -> Iterator[FlaskClient]:
    with make_app(register_file, clock).test_client() as made:
        yield made


@pytest.mark.parametrize(
    "query",
    [
        {"endpoint": "x"},
        {"_method": "POST"},
        {"_external": "1", "_anchor": "x"},
        {"etat": "", "_scheme": "https", "_external": "1"},
    ],
)
def test_url_for_s_own_names_in_the_query_string_are_left_out_of_the_lists_links(
    client: FlaskClient, query: dict[str, str]
) -> None:
    # the list's pager and htmx's pushed address gave the query back to url_for, whose own
    # arguments they are: a TypeError (endpoint), a BuildError (_method), an absolute URL
    login(client, "lea")
    for headers in ({}, {"HX-Request": "true"}):
        response = client.get("/demandes", query_string=query, headers=headers)
        assert response.status_code == 200, (query, headers)
        assert "Page suivante" in text(response)
        assert 'href="/demandes?page=2"' in text(response)
        pushed = response.headers.get("HX-Push-Url")
        assert pushed in (None, "/demandes"), pushed


@pytest.mark.parametrize("range_header", ["bytes=99999999-", "bytes=abc"])
def test_an_error_without_its_own_text_keeps_its_code_on_the_french_page(
    client: FlaskClient, range_header: str
) -> None:
    # a range past the stylesheet's end is a 416: the French page said 400 instead
    response = client.get("/static/mt-access.css", headers={"Range": range_header})
    check_answer(response, range_header)
    assert response.status_code == 416, response.status_code
    assert "Requête invalide" in text(response)


@pytest.mark.parametrize(
    "path", ["/demandes/%0Ax", "/nulle%0D%0Apart", "/medecins/%0A", "/%E2%80%A8"]
)
def test_an_htmx_request_for_a_missing_page_with_a_newline_in_its_address(
    client: FlaskClient, path: str
) -> None:
    # htmx is told to open the error page as a page (HX-Redirect, this request's address):
    # the address decoded held a newline, refused in a header (a server error), or a
    # character a header cannot hold (Latin-1 only)
    for who in (None, "claire"):
        if who is not None:
            login(client, who)
        response = client.get(path, headers={"HX-Request": "true"})
        check_answer(response, path)
        assert response.status_code in (302, 404), (who, response.status_code)
        for value in response.headers.values():
            assert "\n" not in value
            assert "\r" not in value
            value.encode("latin-1")
        if response.status_code == 404:
            assert response.headers["HX-Redirect"] == path


@pytest.mark.parametrize("target", ["/a%0Ab", "/d%0D%0ASet-Cookie:x=y", "/demandes/%09x"])
def test_a_return_address_with_a_control_character_goes_to_the_dashboard_after_login(
    client: FlaskClient, target: str
) -> None:
    # ?suivant= decoded held a newline, put as such in the Location header: a server error
    # after a good login (the address of a page asked before logging in comes this way)
    token = csrf_token(client, "/connexion")
    data = {"login": "lea", "password": PASSWORD, "csrf_token": token}
    response = client.post(f"/connexion?suivant={target}", data=data)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_a_page_asked_before_login_with_a_newline_in_its_address(client: FlaskClient) -> None:
    asked = client.get("/demandes/%0Ax")
    assert asked.status_code == 302
    login_page = asked.headers["Location"]
    token = csrf_token(client, "/connexion")
    response = client.post(login_page, data={"login": "lea", "password": PASSWORD,
                                             "csrf_token": token})  # fmt: skip
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
