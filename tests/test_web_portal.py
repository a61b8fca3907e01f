"""Issue 14, point 2: the GP portal at a GP's personal link. Their proposals answered through
the same register operation as ``mt-access medecin repondre`` (the register left in the same
state), the policy's referral fields before acceptance and the contact after, stale pages
refused, their shared list and picks in pull mode, the isolation of a GP link (no coordinator
page, no other GP's data), bad links refused with a French page, audited and throttled.
Generated data only."""

from __future__ import annotations

import io
import logging
import re
import shutil
from pathlib import Path

import pytest

pytest.importorskip("flask")
pytest.importorskip("flask_wtf")
pytest.importorskip("itsdangerous")

from collections.abc import Iterable
from contextlib import AbstractContextManager

from flask.testing import FlaskClient
from markupsafe import escape

from factories import MOIRANS, VOIRON
from mt_access.cli import main
from mt_access.lifecycle import Actor, Event, RequestState
from mt_access.loading import load_policy
from mt_access.register import Register
from mt_access.store.base import PersonalRecord
from mt_access.store.memory import MemoryStore
from mt_access.web.portal import BAD_LINK_LIMIT, INVALID_LINK, STALE_ANSWER
from mt_access.web.portal_links import make_token
from portal_support import (
    LAST_NAMES,
    PHONES,
    TODAY,
    Clock,
    answer,
    app_over,
    gp_register,
    link,
    load,
    messages,
    page_csrf,
    policy_text,
    proposed,
    state,
    waiting,
)
from web_support import (
    app,
    client,
    clock,
    login,
    make_app,
    open_store,
    register_file,
    register_template,
    text,
)

__all__ = ["app", "client", "clock", "register_file", "register_template"]

POLICY = load_policy("voironnais")


def _plain(response: object) -> str:
    return text(response).replace("&#39;", "'")


def _step(store: MemoryStore, rid: str) -> int:
    file = store.get_file(rid)
    assert file is not None
    return len(file.history)


def _audit(store: MemoryStore) -> list[tuple[str, str, str | None, str]]:
    return [(a.actor, a.action, a.subject, a.detail) for a in store.audit_entries()]


# ------------------------------------------------------------------------------------------
# The GP's page and isolation


def test_the_page_shows_the_gps_own_proposals_and_no_coordinator_session() -> None:
    register = gp_register(POLICY)
    mine = proposed(register, "A", "MG1")
    theirs = proposed(register, "B", "MG2")
    store = register.store
    app = app_over(store, POLICY)
    url = link(store, "MG1")
    with app.test_client() as gp:
        page = gp.get(url)
        assert page.status_code == 200
        body = _plain(page)
        assert "Dr MG1" in body
        assert f"Demande {mine}" in body
        assert theirs not in body
        assert LAST_NAMES["B"] not in body
        # the pending proposal holds one of its 3 places
        assert "Places restantes ce mois-ci : <strong>2</strong>" in body
        with gp.session_transaction() as session:
            assert "login" not in session
        assert "Se déconnecter" not in body
        assert 'href="/"' not in body  # no link into the coordinator's workspace
    lines = _audit(store)
    assert ("gp:MG1", "portail.afficher", "MG1", "") in lines
    assert ("gp:MG1", "identite.afficher", mine, "portail : dossier qualifié") in lines
    assert not [line for line in lines if line[2] == theirs]


def test_the_pages_audit_lines_do_not_wait_for_the_disk_its_answers_do(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A display's audit lines commit with ``durable=False`` (docs/web.md « Sous charge »);
    an answer and its line are an ordinary, durable transaction."""
    register = gp_register(POLICY)
    mine = proposed(register, "A", "MG1")
    store = register.store
    app = app_over(store, POLICY)
    url = link(store, "MG1")
    real = store.transaction
    calls: list[bool] = []

    def recording(*, durable: bool = True) -> AbstractContextManager[None]:
        calls.append(durable)
        return real(durable=durable)

    monkeypatch.setattr(store, "transaction", recording)
    with app.test_client() as gp:
        assert gp.get(url).status_code == 200
        assert calls
        assert not any(calls)  # the page's lines, nested or not
        step = _step(store, mine)
        data = {"csrf_token": page_csrf(gp, url), "demande": mine, "etape": str(step),
                "reponse": "accepte", "motif": ""}  # fmt: skip
        calls.clear()
        assert gp.post(f"{url}/reponse", data=data).status_code == 303
    assert calls
    assert all(calls)  # the answer and its line wait for the disk
    assert ("gp:MG1", "portail.repondre", mine, "accepte") in _audit(store)


def test_the_page_reads_its_patients_in_one_query_not_three_a_request(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``Store.personal_records`` once for the page; the same fields as read one by one."""
    register = gp_register(POLICY)
    first, second = proposed(register, "A", "MG1"), proposed(register, "B", "MG1")
    store = register.store
    app = app_over(store, POLICY)
    url = link(store, "MG1")
    on = TODAY
    expected = {rid: register.referral(rid, on, "MG1") for rid in (first, second)}
    batches: list[list[str]] = []
    real = store.personal_records

    def once(ids: Iterable[str]) -> dict[str, PersonalRecord]:
        batches.append(sorted(ids))
        return real(ids)

    def single(*_: object) -> None:
        raise AssertionError("read one by one")

    monkeypatch.setattr(store, "personal_records", once)
    for name in ("get_request", "get_identity", "erased_on"):
        monkeypatch.setattr(store, name, single)
    with app.test_client() as gp:
        page = gp.get(url)
    assert page.status_code == 200
    assert batches == [sorted((first, second))]
    body = _plain(page)
    for fields in expected.values():
        for _, value in fields:
            assert escape(value) in body


def _coordinator_urls(app: object) -> list[tuple[str, str]]:
    urls = []
    for rule in app.url_map.iter_rules():  # type: ignore[attr-defined]
        if rule.endpoint == "static" or rule.endpoint.startswith("portal."):
            continue
        if rule.endpoint in ("auth.login", "auth.logout"):
            continue
        values = dict.fromkeys(rule.arguments, "MG2")
        if "rid" in rule.arguments:
            values["rid"] = "voironnais-000001"
        if "action" in rule.arguments:
            values["action"] = "accuser"
        path = rule.rule
        for name, value in values.items():
            path = re.sub(rf"<(?:int|float):{name}>", "1", path)
            path = re.sub(rf"<(?:\w+:)?{name}>", value, path)
        for method in sorted((rule.methods or set()) & {"GET", "POST"}):
            urls.append((method, path))
    return urls


def test_a_gp_link_reaches_no_coordinator_page(client: FlaskClient, register_file: Path) -> None:
    with open_store(register_file) as store:
        gp = next(s.proposed_to[0] for s in store.summaries([RequestState.PROPOSED]))
        token = make_token(client.application.config["SECRET_KEY"], gp, 0, clock=Clock())
    url = f"/medecin/{token}"
    assert client.get(url).status_code == 200
    csrf = page_csrf(client, url)
    urls = _coordinator_urls(client.application)
    assert ("GET", "/") in urls
    assert ("POST", "/medecins/MG2/lien/revoquer") in urls
    with open_store(register_file) as store:
        before = (len(store.transitions()), store.settings())
    for method, path in urls:
        if method == "GET":
            response = client.get(path)
        else:
            response = client.post(path, data={"csrf_token": csrf, "jours": "30",
                                               "etape": "1"})  # fmt: skip
        assert response.status_code in (302, 403), (method, path, response.status_code)
        if response.status_code == 302:
            assert response.headers["Location"].startswith("/connexion"), (method, path)
    with open_store(register_file) as store:
        assert (len(store.transitions()), store.settings()) == before
        assert not [a for a in store.audit_entries() if a.action.startswith("portail.lien.")]


def test_a_gp_cannot_answer_another_gps_proposal() -> None:
    register = gp_register(POLICY)
    theirs = proposed(register, "B", "MG2")
    store = register.store
    app = app_over(store, POLICY)
    before = state(store)
    url = link(store, "MG1")
    with app.test_client() as gp:
        for reponse in ("accepte", "refuse"):
            response = answer(gp, url, theirs, _step(store, theirs), reponse)
            assert response.status_code == 404
        missing = answer(gp, url, "voironnais-999999", 1, "accepte")
        assert missing.status_code == 404
    assert state(store) == before
    assert not [line for line in _audit(store) if line[1] == "portail.repondre"]


# ------------------------------------------------------------------------------------------
# Answers, recorded as the command line records them


def _twin(register_file: Path, tmp_path: Path) -> Path:
    twin = tmp_path / "jumeau.sqlite"
    shutil.copy(register_file, twin)
    return twin


def _cli(*argv: str) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue() + err.getvalue()


@pytest.mark.parametrize("reponse", ["accepte", "refuse"])
def test_an_answer_from_the_portal_is_recorded_as_the_command_line_records_it(
    client: FlaskClient, register_file: Path, tmp_path: Path, reponse: str
) -> None:
    twin = _twin(register_file, tmp_path)
    with open_store(register_file) as store:
        summary = next(s for s in store.summaries([RequestState.PROPOSED]))
        rid, gp = summary.id, summary.proposed_to[0]
        step = len(store.get_file(rid).history)  # type: ignore[union-attr]
        token = make_token(client.application.config["SECRET_KEY"], gp, 0, clock=Clock())
    url = f"/medecin/{token}"
    response = answer(client, url, rid, step, reponse, "cabinet complet ce mois-ci")
    assert response.status_code == 303
    code, said = _cli("medecin", "repondre", gp, rid, reponse, "--date", TODAY.isoformat(),
                      "-c", "cabinet complet ce mois-ci", "--registre", str(twin))  # fmt: skip
    assert code == 0, said
    with open_store(register_file) as web, open_store(twin) as cli:
        assert web.transitions() == cli.transitions()
        assert web.ledger_entries() == cli.ledger_entries()
        assert web.summaries(None) == cli.summaries(None)
        last = web.get_file(rid).history[-1]  # type: ignore[union-attr]
        assert last.event is (Event.ACCEPT if reponse == "accepte" else Event.REFUSE)
        assert last.physician_id == gp
        lines = [(a.actor, a.action, a.subject, a.detail) for a in web.audit_entries()]
    assert (f"gp:{gp}", "portail.repondre", rid, reponse) in lines
    assert not any("cabinet complet" in str(line) for line in lines)
    after = client.get(url)
    if reponse == "accepte":
        assert "Merci : vous acceptez la demande" in _plain(after)
        assert f"Demande {rid} · acceptée le 16/03/2026" in _plain(after)
    else:
        assert f"Votre refus de la demande {rid} est enregistré" in _plain(after)
        assert f"Demande {rid}" not in _plain(after)


def test_a_stale_page_records_nothing(tmp_path: Path) -> None:
    register = gp_register(POLICY)
    rid = proposed(register, "A", "MG1")
    store = register.store
    app = app_over(store, POLICY)
    url = link(store, "MG1")
    shown = _step(store, rid)
    # the coordinator cancels the proposal and proposes it again meanwhile
    register.cancel_proposal(rid, "MG1", TODAY, "erreur de saisie")
    register.propose(rid, "MG1", TODAY)
    before = state(store)
    with app.test_client() as gp:
        response = answer(gp, url, rid, shown, "accepte")
        assert response.status_code == 303
        page = gp.get(response.headers["Location"])
        assert STALE_ANSWER in _plain(page)
        assert "cette demande a changé depuis" in _plain(page).lower()
        assert state(store) == before
        # answered once: the same form sent again is stale too
        fresh = _step(store, rid)
        assert answer(gp, url, rid, fresh, "refuse").status_code == 303
        after = state(store)
        again = answer(gp, url, rid, fresh, "accepte")
        assert STALE_ANSWER in _plain(gp.get(again.headers["Location"]))
        assert state(store) == after
        incomplete = answer(gp, url, rid, "", "accepte")
        assert incomplete.status_code == 303
        assert state(store) == after
    assert [line[3] for line in _audit(store) if line[1] == "portail.repondre"] == ["refuse"]


def test_an_answer_without_choice_or_csrf_records_nothing() -> None:
    register = gp_register(POLICY)
    rid = proposed(register, "A", "MG1")
    store = register.store
    app = app_over(store, POLICY)
    url = link(store, "MG1")
    before = state(store)
    with app.test_client() as gp:
        no_choice = answer(gp, url, rid, _step(store, rid), "")
        assert no_choice.status_code == 303
        shown = messages(gp.get(no_choice.headers["Location"])).replace("&#39;", "'")
        assert "Choisissez « J'accepte » ou « Je refuse »." in shown
        no_csrf = gp.post(f"{url}/reponse", data={"demande": rid, "etape": "5",
                                                  "reponse": "accepte"})  # fmt: skip
        assert no_csrf.status_code == 400
    assert state(store) == before


# ------------------------------------------------------------------------------------------
# What the GP sees before and after acceptance


def test_before_acceptance_only_the_referral_fields_after_it_the_contact(tmp_path: Path) -> None:
    policy = load(tmp_path, policy_text(fields="age, commune, level"))
    register = gp_register(policy)
    rid = proposed(register, "A", "MG1")
    store = register.store
    app = app_over(store, policy)
    url = link(store, "MG1")
    with app.test_client() as gp:
        before = _plain(gp.get(url))
        assert f"Demande {rid}" in before
        assert "<dt>Âge</dt><dd>40 ans</dd>" in before.replace("\n", "")
        assert "<dt>Commune</dt>" in before
        for secret in (LAST_NAMES["A"], PHONES["A"], "a@example.org", "Camille"):
            assert secret not in before
        assert not [line for line in _audit(store) if line[1] == "identite.afficher"]
        assert answer(gp, url, rid, _step(store, rid), "accepte").status_code == 303
        after = _plain(gp.get(url))
    accepted = after.split("<h2>Patients que vous avez acceptés</h2>")[1]
    for shown in (LAST_NAMES["A"], "Camille", PHONES["A"], "a@example.org", "40 ans"):
        assert shown in accepted
    assert ("gp:MG1", "identite.afficher", rid, "portail : patient accepté") in _audit(store)


def test_another_gp_never_sees_the_contact_of_a_patient_accepted_by_a_colleague() -> None:
    register = gp_register(POLICY)
    rid = proposed(register, "A", "MG1")
    register.answer(rid, "MG1", TODAY, accepted=True)
    store = register.store
    app = app_over(store, POLICY)
    with app.test_client() as gp:
        assert LAST_NAMES["A"] in _plain(gp.get(link(store, "MG1")))
        other = _plain(gp.get(link(store, "MG2")))
    assert LAST_NAMES["A"] not in other
    assert rid not in other


# ------------------------------------------------------------------------------------------
# Pull mode


def test_a_gp_picks_from_their_list_as_register_choose_does(tmp_path: Path) -> None:
    policy = load(tmp_path, policy_text(pull=True, pick_limit=1))
    twins = []
    for _ in range(2):
        register = gp_register(policy, {"MG1": 2, "MG2": 2})
        waiting(register, "A", VOIRON)
        waiting(register, "B", MOIRANS)
        twins.append(register)
    web, lib = twins
    app = app_over(web.store, policy)
    url = link(web.store, "MG1")
    own = next(x for x in web.pull_lists(TODAY) if x.physician_id == "MG1")
    first, second = own.entries[0].pseudonym, own.entries[1].pseudonym
    with app.test_client() as gp:
        page = _plain(gp.get(url))
        assert "Votre liste de demandes à choisir" in page
        assert first in page
        assert second in page
        assert LAST_NAMES["A"] not in page
        assert LAST_NAMES["B"] not in page
        assert "au plus 1 demande choisie" in page
        csrf = page_csrf(gp, url)
        picked = gp.post(f"{url}/choix", data={"csrf_token": csrf, "pseudonyme": first})
        assert picked.status_code == 303
        done = _plain(gp.get(picked.headers["Location"]))
        assert f"Vous avez choisi la demande {first}" in done
        assert "Choisie par vous sur votre liste" in done
        assert "Places restantes ce mois-ci : <strong>1</strong>" in done
        lib.choose("MG1", first, TODAY)
        assert state(web.store) == state(lib.store)
        rid = web.pending_picks("MG1")[0]
        assert web.store.get_file(rid).history[-1].actor is Actor.PHYSICIAN  # type: ignore[union-attr]
        # the policy's pick_limit: a second pick is refused in French, nothing recorded
        before = state(web.store)
        refused = gp.post(f"{url}/choix", data={"csrf_token": csrf, "pseudonyme": second})
        shown = messages(gp.get(refused.headers["Location"]))
        assert "la limite de la politique (1 à la fois)" in shown
        assert "rien n'a été enregistré" in shown.replace("&#39;", "'")
        unknown = gp.post(f"{url}/choix", data={"csrf_token": csrf, "pseudonyme": "zzz"})
        assert "ne figure plus sur la liste" in messages(gp.get(unknown.headers["Location"]))
        assert state(web.store) == before
    lines = _audit(web.store)
    assert ("gp:MG1", "portail.choisir", rid, f"pseudonyme {first}") in lines
    assert len([line for line in lines if line[1] == "portail.choisir"]) == 1


def test_without_pull_levels_there_is_no_list_and_no_pick(tmp_path: Path) -> None:
    register = gp_register(POLICY)
    waiting(register, "A")
    store = register.store
    app = app_over(store, POLICY)
    url = link(store, "MG1")
    with app.test_client() as gp:
        assert "Votre liste de demandes à choisir" not in _plain(gp.get(url))
        csrf = page_csrf(gp, url)
        response = gp.post(f"{url}/choix", data={"csrf_token": csrf, "pseudonyme": "x"})
        assert response.status_code == 404


# ------------------------------------------------------------------------------------------
# Bad links


def test_forged_expired_and_revoked_links_get_a_french_page_logged_without_the_token(
    caplog: pytest.LogCaptureFixture,
) -> None:
    register = gp_register(POLICY)
    store = register.store
    clock = Clock()
    app = app_over(store, POLICY, clock)
    good = link(store, "MG1", days=2, clock=clock)
    token = good.removeprefix("/medecin/")
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    with caplog.at_level(logging.WARNING), app.test_client() as gp:
        page = gp.get(f"/medecin/{forged}")
        assert page.status_code == 403
        assert INVALID_LINK in _plain(page)
        assert "demandez-en un nouveau à la coordination" in _plain(page)
        assert "Se connecter" not in _plain(page)
        assert gp.get("/medecin/" + "x" * 1000).status_code == 403
        clock.advance(days=2, seconds=1)
        expired = gp.get(good)
        assert expired.status_code == 410
        assert INVALID_LINK in _plain(expired)
        clock.advance(days=-2)
        assert gp.get(good).status_code == 200
        from mt_access.web.portal_links import revoke

        revoke(store, "MG1", actor="cli:tests")
        assert gp.get(good).status_code == 410
        csrf = page_csrf(gp, "/connexion")
        posted = gp.post(f"{good}/reponse", data={"csrf_token": csrf, "demande": "x",
                                                  "etape": "1", "reponse": "accepte"})  # fmt: skip
        assert posted.status_code == 410
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert "lien refusé (invalide)" in logged
    assert "lien refusé (expire), médecin MG1" in logged
    assert "lien refusé (revoque), médecin MG1" in logged
    assert token not in logged
    assert forged not in logged
    refusals = [line for line in _audit(store) if line[1] == "portail.lien.refuse"]
    assert [line[3] for line in reversed(refusals)] == ["invalide", "invalide", "expire", "revoque",
                                              "revoque"]  # fmt: skip
    assert all(token not in str(line) and forged not in str(line) for line in _audit(store))


def test_bad_links_from_one_address_are_throttled() -> None:
    store = gp_register(POLICY).store
    app = app_over(store, POLICY)
    good = link(store, "MG1")
    with app.test_client() as gp:
        codes = [gp.get(f"/medecin/faux{n}").status_code for n in range(BAD_LINK_LIMIT + 5)]
        assert codes[:BAD_LINK_LIMIT] == [403] * BAD_LINK_LIMIT
        assert codes[BAD_LINK_LIMIT:] == [429] * 5
        assert gp.get(good).status_code == 200  # a good link still opens
    with app.test_client() as other:
        other.environ_base["REMOTE_ADDR"] = "10.0.0.9"
        assert other.get("/medecin/faux").status_code == 403
    refusals = [line for line in _audit(store) if line[1] == "portail.lien.refuse"]
    assert len(refusals) == BAD_LINK_LIMIT + 1


def test_a_coordinator_sees_an_answer_given_through_the_portal(
    client: FlaskClient, register_file: Path, clock: Clock
) -> None:
    with open_store(register_file) as store:
        summary = next(s for s in store.summaries([RequestState.PROPOSED]))
        rid, gp = summary.id, summary.proposed_to[0]
        step = len(store.get_file(rid).history)  # type: ignore[union-attr]
    app = client.application
    token = make_token(app.config["SECRET_KEY"], gp, 0, clock=clock)
    with app.test_client() as portal:
        assert answer(portal, f"/medecin/{token}", rid, step, "refuse").status_code == 303
    login(client, "lea")
    page = _plain(client.get(f"/demandes/{rid}"))
    assert "refus" in page.lower()


def test_the_coordinators_dashboard_shows_a_portal_answer_at_once(
    register_file: Path, clock: Clock
) -> None:
    with open_store(register_file) as store:
        summary = next(s for s in store.summaries([RequestState.PROPOSED]))
        rid, gp = summary.id, summary.proposed_to[0]
        step = len(store.get_file(rid).history)  # type: ignore[union-attr]
        count = sum(gp in s.proposed_to for s in store.summaries([RequestState.PROPOSED]))
    row = re.compile(rf"\({gp}\)</th><td class=\"number\">(\d+)</td>")
    app = make_app(register_file, clock)
    coordinator, portal = app.test_client(), app.test_client()
    login(coordinator, "lea")
    shown = row.search(text(coordinator.get("/")))
    assert shown is not None
    assert int(shown.group(1)) == count
    token = make_token(app.config["SECRET_KEY"], gp, 0, clock=clock)
    assert answer(portal, f"/medecin/{token}", rid, step, "accepte").status_code == 303
    # the clock has not moved: the figures kept for a minute were forgotten by the answer
    shown = row.search(text(coordinator.get("/")))
    assert (int(shown.group(1)) if shown else 0) == count - 1


# ------------------------------------------------------------------------------------------
# The library: what a GP sees after acceptance


def test_accepted_fields_add_the_contact_to_the_policys_referral_fields(tmp_path: Path) -> None:
    from mt_access.privacy import ACCEPTED_CONTACT_FIELDS, accepted_fields

    policy = load(tmp_path, policy_text(fields="age, phone, commune"))
    assert accepted_fields(policy) == ("age", "phone", "commune", "last_name", "first_name",
                                       "email")  # fmt: skip
    assert set(ACCEPTED_CONTACT_FIELDS) <= set(accepted_fields(POLICY))
    assert accepted_fields(POLICY)[: len(POLICY.referral_fields)] == POLICY.referral_fields


def test_accepted_referral_is_for_the_gp_who_accepted_only(tmp_path: Path) -> None:
    from mt_access.register import RegisterOperationError

    policy = load(tmp_path, policy_text(fields="age"))
    register = gp_register(policy)
    rid = proposed(register, "A", "MG1")
    with pytest.raises(RegisterOperationError, match="n'a accepté aucune personne"):
        register.accepted_referral(rid, TODAY, "MG1")  # proposed, not accepted yet
    assert register.referral(rid, TODAY, "MG1") == (("Âge", "40 ans"),)
    register.answer(rid, "MG1", TODAY, accepted=True)
    shown = dict(register.accepted_referral(rid, TODAY, "MG1"))
    assert shown == {"Âge": "40 ans", "Nom": LAST_NAMES["A"], "Prénom": "Camille",
                     "Téléphone": PHONES["A"], "Courriel": "a@example.org"}  # fmt: skip
    with pytest.raises(RegisterOperationError):
        register.accepted_referral(rid, TODAY, "MG2")
    register.erase(rid, TODAY)
    with pytest.raises(RegisterOperationError, match="effacées"):
        register.accepted_referral(rid, TODAY, "MG1")


def test_a_coordinator_logged_in_the_same_browser_does_not_act_on_the_gp_page() -> None:
    register = gp_register(POLICY)
    rid = proposed(register, "A", "MG1")
    store = register.store
    app = app_over(store, POLICY)
    url = link(store, "MG1")
    with app.test_client() as browser:
        login(browser, "claire")
        page = _plain(browser.get(url))
        assert "Se déconnecter" not in page
        assert 'href="/demandes"' not in page
        assert answer(browser, url, rid, _step(store, rid), "refuse").status_code == 303
    lines = _audit(store)
    assert ("gp:MG1", "portail.repondre", rid, "refuse") in lines
    assert not [line for line in lines if line[0] == "user:claire" and line[1] != "connexion"]


def test_a_gp_of_sud_est_grenoblois_picks_two_requests_and_accepts_one() -> None:
    """The shipped pull-mode policy, on a generated register."""
    from mt_access.calendar import Month
    from mt_access.examples import example_register

    policy = load_policy("sud_est_grenoblois")
    register = Register(MemoryStore(), policy)
    example_register(register, month=Month(2026, 3), requests_per_month=30)
    own = next(x for x in register.pull_lists(TODAY) if (x.places_left or 0) >= 2)
    gp = own.physician_id
    left = own.places_left or 0
    app = app_over(register.store, policy)
    url = link(register.store, gp)
    with app.test_client() as browser:
        page = _plain(browser.get(url))
        assert "au plus 5 demandes choisies" in page
        assert f"Places restantes ce mois-ci : <strong>{left}</strong>" in page
        # the page's own pick forms: the session's CSRF token and each entry's pseudonym
        forms = re.findall(
            r'<form method="post" action="([^"]+/choix)" class="inline">\s*'
            r'<input name="csrf_token" type="hidden" value="([^"]+)">\s*'
            r'<input name="pseudonyme" type="hidden" value="([^"]+)">',
            page,
        )
        assert [pseudonym for _, _, pseudonym in forms] == [e.pseudonym for e in own.entries]
        for action, csrf, pseudonym in forms[:2]:
            done = browser.post(action, data={"csrf_token": csrf, "pseudonyme": pseudonym})
            assert done.status_code == 303
        picked = register.pending_picks(gp)
        assert len(picked) == 2
        page = _plain(browser.get(url))
        assert page.count("Choisie par vous sur votre liste") == 2
        assert f"Places restantes ce mois-ci : <strong>{left - 2}</strong>" in page
        rid = picked[0]
        assert answer(browser, url, rid, _step(register.store, rid), "accepte").status_code == 303
        page = _plain(browser.get(url))
    assert page.count("Choisie par vous sur votre liste") == 1
    assert f"Demande {rid} · acceptée le 16/03/2026" in page
    assert set(register.file(rid).physicians_found.values()) == {gp}


def test_wtforms_own_messages_are_french_on_the_portal() -> None:
    register = gp_register(POLICY)
    rid = proposed(register, "A", "MG1")
    store = register.store
    app = app_over(store, POLICY)
    url = link(store, "MG1")
    before = state(store)
    with app.test_client() as gp:
        bad = answer(gp, url, rid, _step(store, rid), "peut-etre")
        shown = messages(gp.get(bad.headers["Location"]))
    assert "choix valide" in shown
    assert "Not a valid" not in shown
    assert state(store) == before
    with app.test_client() as client:
        login(client, "claire")
        token = page_csrf(client, "/medecins/MG1/lien")
        page = client.post("/medecins/MG1/lien", data={"csrf_token": token, "jours": "dix"})
    assert page.status_code == 400
    assert "Not a valid" not in _plain(page)


def test_an_erased_patient_leaves_the_page_of_the_gp_who_accepted_them() -> None:
    register = gp_register(POLICY)
    rid = proposed(register, "A", "MG1")
    register.answer(rid, "MG1", TODAY, accepted=True)
    store = register.store
    app = app_over(store, POLICY)
    url = link(store, "MG1")
    with app.test_client() as gp:
        assert f"Demande {rid} · acceptée" in _plain(gp.get(url))
        register.erase(rid, TODAY)
        page = _plain(gp.get(url))
    assert rid not in page
    assert LAST_NAMES["A"] not in page
    shown = [line for line in _audit(store) if line[1] == "identite.afficher"]
    assert len(shown) == 1


def test_a_long_pull_list_is_shown_a_page_at_a_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The nearest SHOWN entries first, then « Demandes suivantes » (``?debut=``); a start
    that is not a whole number, or past the list's end, shows its beginning."""
    from mt_access.web import portal, portal_pull

    monkeypatch.setattr(portal_pull, "SHOWN", 2)
    monkeypatch.setattr(portal, "SHOWN", 2)
    policy = load(tmp_path, policy_text(pull=True))
    register = gp_register(policy)
    for key, commune in zip("ABCAB", (VOIRON, MOIRANS, VOIRON, MOIRANS, VOIRON), strict=True):
        waiting(register, key, commune)
    app = app_over(register.store, policy)
    url = link(register.store, "MG1")
    own = next(x for x in register.pull_lists(TODAY) if x.physician_id == "MG1")
    names = [e.pseudonym for e in own.entries]
    assert len(names) == 5
    with app.test_client() as gp:
        first = _plain(gp.get(url))
        assert [n for n in names if n in first] == names[:2]
        assert "(5) : les 2 plus proches" in first
        assert f"{url}?debut=2" in first
        assert "Demandes précédentes" not in first
        second = _plain(gp.get(f"{url}?debut=3"))  # rounded down to a page's start
        assert [n for n in names if n in second] == names[2:4]
        assert "de la 3<sup>e</sup> à la 4<sup>e</sup>" in second
        assert f'href="{url}"' in second  # back to the beginning
        assert f"{url}?debut=4" in second
        last = _plain(gp.get(f"{url}?debut=4"))
        assert [n for n in names if n in last] == names[4:]
        assert "Demandes suivantes" not in last
        for bogus in ("-2", "deux", "99999999999", "40"):
            page = _plain(gp.get(f"{url}?debut={bogus}"))
            assert [n for n in names if n in page] == names[:2]
