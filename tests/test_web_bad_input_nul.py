"""A NUL character (« %00 ») in an address or a GP's answer never reaches the store: the
PostgreSQL store refuses a NUL in any text (a StoreError, which a page showed as a server
error). The register here is in memory, its store refusing a NUL as PostgreSQL does.
Generated data only."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pytest

pytest.importorskip("flask")
pytest.importorskip("flask_wtf")
pytest.importorskip("argon2")

from factories import VOIRON, doc
from mt_access.errors import StoreError
from mt_access.loading import load_policy
from mt_access.register import Register
from mt_access.store.memory import MemoryStore
from portal_support import DAY, app_over, link, page_csrf, proposed
from web_support import login
from web_sweep_support import check_answer, fill, rules

POLICY = load_policy("voironnais")


def _refuse_nul(values: Iterable[Any]) -> None:
    for value in values:
        if isinstance(value, str) and "\x00" in value:
            raise StoreError("texte refusé : PostgreSQL n'accepte pas le caractère NUL (0x00)")


class NulRefusingStore(MemoryStore):
    """A store in memory that refuses a NUL in the texts it is asked for, as PostgreSQL."""

    def get_file(self, request_id: str) -> Any:
        _refuse_nul([request_id])
        return super().get_file(request_id)

    def get_physician(self, physician_id: str) -> Any:
        _refuse_nul([physician_id])
        return super().get_physician(physician_id)

    def get_user(self, login: str) -> Any:
        _refuse_nul([login])
        return super().get_user(login)

    def audit_entries(self, **kwargs: Any) -> Any:
        _refuse_nul(kwargs.values())
        return super().audit_entries(**kwargs)

    def summary_slice(self, *args: Any, **kwargs: Any) -> Any:
        _refuse_nul([*args, *kwargs.values()])
        return super().summary_slice(*args, **kwargs)


def _register() -> tuple[Register, str]:
    register = Register(NulRefusingStore(), POLICY)
    for pid in ("MG1", "MG2"):
        register.add_physician(doc(pid, VOIRON, capacity=None))
        register.join(pid, DAY, monthly_capacity=3, modalities=["office"])
    return register, proposed(register, "A", "MG1")


@pytest.mark.parametrize("role", ["alice", "claire", "lea"])
def test_a_nul_in_a_path_or_a_query_string_gets_a_french_refusal(role: str) -> None:
    register, rid = _register()
    app = app_over(register.store, POLICY)
    good = {"rid": rid, "pid": "MG1", "physician_id": "MG1", "login": "lea", "number": "1",
            "index": "0", "fmt": "md", "kind": "accuse-patient", "action": "accuser",
            "token": link(register.store, "MG1").removeprefix("/medecin/")}  # fmt: skip
    with app.test_client() as client:
        login(client, role)
        for rule in rules(app):
            for name in rule.arguments:
                if f"<int:{name}>" in rule.rule:
                    continue
                url = fill(rule, {**good, name: "a%00b"})
                for method in sorted((rule.methods or set()) & {"GET", "POST"}):
                    response = client.open(url, method=method, data={"x": "y"})
                    check_answer(response, f"{method} {url}")
                    assert response.status_code in (302, 400, 403, 404), (url, response.status_code)
            if "GET" in (rule.methods or set()):
                url = fill(rule, good)
                for query in ({"objet": "a\x00b"}, {"commune": "\x00"}, {"medecin": "MG\x00"},
                              {"a\x00": "b"}):  # fmt: skip
                    response = client.get(url, query_string=query)
                    check_answer(response, f"GET {url} {query!r}")
                    assert response.status_code in (302, 400, 403), (url, query)


def test_a_nul_in_the_request_a_gp_answers_gets_the_404_page() -> None:
    register, rid = _register()
    app = app_over(register.store, POLICY)
    url = link(register.store, "MG1")
    with app.test_client() as gp:
        csrf = page_csrf(gp, url)
        data = {"csrf_token": csrf, "demande": rid + "\x00", "etape": "5", "reponse": "accepte"}
        response = gp.post(f"{url}/reponse", data=data)
        check_answer(response, "reponse")
        assert response.status_code == 404
    assert "Page introuvable" in response.get_data(as_text=True)
