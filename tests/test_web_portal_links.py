"""Issue 14, point 2: the GPs' personal links. Signed with itsdangerous (a salt of their own),
expiring (the clock injected), revocable by a generation kept in the store's settings, one GP
only and no personal data; made and revoked from the command line (``mt-access medecin lien``)
and from the coordinator's page, both audited. Generated data only."""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
from pathlib import Path

import pytest

pytest.importorskip("flask")
pytest.importorskip("itsdangerous")

from itsdangerous import URLSafeTimedSerializer

from mt_access.cli import main
from mt_access.errors import MtAccessError
from mt_access.loading import load_policy
from mt_access.store.sqlite import SQLiteStore
from mt_access.web.portal_links import (
    GENERATION_PREFIX,
    LINK_SALT,
    LinkRefused,
    RefusalReason,
    generation,
    make_token,
    read_token,
    revoke,
)
from portal_support import SECRET, T0, Clock, app_over, gp_register, link, page_csrf
from web_support import PASSWORD, login, make_app, text

POLICY = load_policy("voironnais")


def _reason(token: str, store: object, clock: Clock, secret: str = SECRET) -> RefusalReason:
    with pytest.raises(LinkRefused) as caught:
        read_token(secret, token, store, clock=clock)  # type: ignore[arg-type]
    assert token not in str(caught.value)
    return caught.value.reason


# ------------------------------------------------------------------------------------------
# Tokens


def test_a_link_names_its_gp_and_expires_after_its_days() -> None:
    store = gp_register(POLICY).store
    clock = Clock()
    token = make_token(SECRET, "MG1", 0, days=30, clock=clock)
    claim = read_token(SECRET, token, store, clock=clock)
    assert (claim.physician_id, claim.generation, claim.days, claim.issued) == ("MG1", 0, 30, T0)
    clock.advance(days=30)
    assert read_token(SECRET, token, store, clock=clock).physician_id == "MG1"
    clock.advance(seconds=1)
    assert _reason(token, store, clock) is RefusalReason.EXPIRED
    short = make_token(SECRET, "MG2", 0, days=1, clock=Clock())
    assert _reason(short, store, Clock(T0 + dt.timedelta(days=1, seconds=1))) is (
        RefusalReason.EXPIRED
    )
    # a link dated in the future (a clock set wrong when it was made) is not honoured
    assert _reason(short, store, Clock(T0 - dt.timedelta(hours=1))) is RefusalReason.EXPIRED


def test_revoking_ends_every_older_link_of_that_gp_only() -> None:
    store = gp_register(POLICY).store
    clock = Clock()
    first, second = link(store, "MG1"), link(store, "MG1", days=90)
    other = link(store, "MG2")
    assert generation(store, "MG1") == 0
    assert revoke(store, "MG1", actor="cli:tests", clock=clock) == 1
    assert store.settings()[GENERATION_PREFIX + "MG1"] == "1"
    for path in (first, second):
        assert _reason(path.removeprefix("/medecin/"), store, clock) is RefusalReason.REVOKED
    assert read_token(SECRET, other.removeprefix("/medecin/"), store, clock=clock)
    fresh = link(store, "MG1")
    assert read_token(SECRET, fresh.removeprefix("/medecin/"), store, clock=clock).generation == 1
    actions = [(a.actor, a.action, a.subject) for a in store.audit_entries()]
    assert ("cli:tests", "portail.lien.revoquer", "MG1") in actions
    assert actions.count(("cli:tests", "portail.lien.creer", "MG1")) == 3


def test_forged_tokens_are_refused() -> None:
    store = gp_register(POLICY).store
    clock = Clock()
    token = make_token(SECRET, "MG1", 0, clock=clock)
    flipped = token[:-3] + ("A" if token[-3] != "A" else "B") + token[-2:]
    assert _reason(flipped, store, clock) is RefusalReason.FORGED
    assert _reason(token, store, clock, secret="une autre clé " * 4) is RefusalReason.FORGED
    assert _reason("pas-un-jeton", store, clock) is RefusalReason.FORGED
    # the same payload signed without the links' salt (e.g. another signed value of the app)
    unsalted = URLSafeTimedSerializer(SECRET).dumps({"m": "MG1", "g": 0, "j": 30})
    assert _reason(unsalted, store, clock) is RefusalReason.FORGED
    # well signed but not a link's payload
    salted = URLSafeTimedSerializer(SECRET, salt=LINK_SALT)
    for payload in ({"m": "MG1"}, ["MG1", 0, 30], {"m": "MG1", "g": "0", "j": 30},
                    {"m": "MG1", "g": 0, "j": 10_000}, {"m": "", "g": 0, "j": 30}):  # fmt: skip
        assert _reason(salted.dumps(payload), store, Clock()) is RefusalReason.FORGED
    assert _reason(make_token(SECRET, "MG9", 0), store, Clock(dt.datetime.now(dt.UTC))) is (
        RefusalReason.UNKNOWN_GP
    )


def test_a_link_holds_the_gp_id_its_generation_and_its_days_only() -> None:
    token = make_token(SECRET, "MG1", 4, days=12, clock=Clock())
    body = token.split(".")[0]
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    assert payload == {"m": "MG1", "g": 4, "j": 12}


@pytest.mark.parametrize("days", [0, -1, 367, True])
def test_a_link_lasts_one_to_366_days(days: int) -> None:
    with pytest.raises(MtAccessError, match="entre 1 et 366"):
        make_token(SECRET, "MG1", 0, days=days)


# ------------------------------------------------------------------------------------------
# mt-access medecin lien


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def register_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("MT_ACCESS_WEB_SECRET", raising=False)
    path = tmp_path / "registre.sqlite"
    assert run("registre", "creer", str(path), "--politique", "voironnais")[0] == 0
    code, _, err = run("medecin", "ajouter", "MG1", "--nom", "Dr Exemple", "--commune", "38563",
                       "--registre", str(path))  # fmt: skip
    assert code == 0, err
    monkeypatch.setenv("MT_ACCESS_REGISTRE", str(path))
    return path


def test_the_command_prints_a_link_the_application_opens(register_path: Path) -> None:
    code, out, err = run("medecin", "lien", "MG1")
    assert code == 0, err
    url = out.strip()
    assert url.startswith("http://127.0.0.1:8000/medecin/")
    assert "Dr Exemple" in err
    assert "30 jours" in err
    # signed with the key of « mt-access serve » for this register (its .secret file)
    app = make_app(register_path, Clock(dt.datetime.now(dt.UTC)), SECRET_KEY=None)
    with app.test_client() as client:
        page = client.get(url.removeprefix("http://127.0.0.1:8000"))
        assert page.status_code == 200
        assert "Dr Exemple" in text(page)
    code, out, _ = run("medecin", "lien", "MG1", "--jours", "7", "--adresse",
                       "https://mt.cpts.example/")  # fmt: skip
    assert code == 0
    assert out.startswith("https://mt.cpts.example/medecin/")
    with SQLiteStore(register_path, create=False) as store:
        lines = [(a.action, a.subject, a.detail) for a in store.audit_entries()]
    assert ("portail.lien.creer", "MG1", "7 jours") in lines
    assert ("portail.lien.creer", "MG1", "30 jours") in lines
    assert all(url.rsplit("/", 1)[1] not in str(line) for line in lines)


def test_the_command_revokes_every_link_of_the_gp(register_path: Path) -> None:
    url = run("medecin", "lien", "MG1")[1].strip()
    code, out, _ = run("medecin", "lien", "MG1", "--revoquer")
    assert code == 0
    assert "révoqués" in out
    app = make_app(register_path, Clock(dt.datetime.now(dt.UTC)), SECRET_KEY=None)
    with app.test_client() as client:
        page = client.get(url.removeprefix("http://127.0.0.1:8000"))
    assert page.status_code == 410
    assert "ce lien n'est plus valable" in text(page).replace("&#39;", "'").lower()


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (("MG9",), 3),
        (("MG1", "--jours", "0"), 2),
        (("MG1", "--jours", "400"), 2),
        (("MG1", "--adresse", "ftp://x"), 2),
        (("MG1", "--adresse", "https://x/?a=1"), 2),
    ],
)
def test_the_command_refuses_bad_input_in_french(
    register_path: Path, argv: tuple[str, ...], expected: int
) -> None:
    code, out, err = run("medecin", "lien", *argv)
    assert code == expected
    assert out == ""
    assert "erreur" in err or "attendu" in err


# ------------------------------------------------------------------------------------------
# The coordinator's page


def test_a_coordinator_makes_and_revokes_a_link_from_the_gp_link_page() -> None:
    register = gp_register(POLICY)
    store = register.store
    app = app_over(store, POLICY)
    with app.test_client() as client:
        assert client.get("/medecins/MG1/lien").status_code == 302  # to the login page
        login(client, "lea")
        assert client.get("/medecins/MG1/lien").status_code == 403
    with app.test_client() as client:
        login(client, "claire")
        page = client.get("/medecins/MG1/lien")
        assert page.status_code == 200
        assert client.get("/medecins/MG9/lien").status_code == 404
        token = page_csrf(client, "/medecins/MG1/lien")
        made = client.post("/medecins/MG1/lien", data={"csrf_token": token, "jours": "10"})
        assert made.status_code == 200
        found = text(made).split("<code>http://localhost/medecin/")[1].split("</code>")[0]
        bad = client.post("/medecins/MG1/lien", data={"csrf_token": token, "jours": "0"})
        assert bad.status_code == 400
        assert "Un nombre de jours entre 1 et 366." in text(bad)
    with app.test_client() as gp:
        assert gp.get(f"/medecin/{found}").status_code == 200
    with app.test_client() as client:
        login(client, "claire")
        token = page_csrf(client, "/medecins/MG1/lien")
        done = client.post("/medecins/MG1/lien/revoquer", data={"csrf_token": token})
        assert done.status_code == 303
    with app.test_client() as gp:
        assert gp.get(f"/medecin/{found}").status_code == 410
    lines = [(a.actor, a.action, a.subject, a.detail) for a in store.audit_entries()]
    assert ("user:claire", "portail.lien.creer", "MG1", "10 jours") in lines
    assert ("user:claire", "portail.lien.revoquer", "MG1", "") in lines
    assert not any(found in str(line) for line in lines)


def test_a_reader_cannot_post_to_the_link_page() -> None:
    store = gp_register(POLICY).store
    app = app_over(store, POLICY)
    with app.test_client() as client:
        login(client, "lea")
        token = page_csrf(client, "/demandes")
        for url in ("/medecins/MG1/lien", "/medecins/MG1/lien/revoquer"):
            assert client.post(url, data={"csrf_token": token, "jours": "5"}).status_code == 403
    assert not [a for a in store.audit_entries() if a.action.startswith("portail.lien")]
    assert PASSWORD  # the accounts of app_over use it
