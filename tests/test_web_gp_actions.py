"""The GPs' pages beyond capacity, suspension and resumption: adding a GP, joining,
withdrawing, contact details (edit, erase), the stale-page refusal, permissions and the
follow-up per month. Each action is compared with what the command line records on a copy of
the same register. Generated data only."""

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

from mt_access.cli import EXIT_OK, main
from mt_access.indicators import indicators
from mt_access.ledger import CapacityDeclared
from mt_access.loading import load_policy
from mt_access.model import PhysicianStatus, PracticeContact
from mt_access.register import Register
from mt_access.web.gp_follow_up import follow_up
from mt_access.web.gp_forms import STALE_GP_MESSAGE
from web_support import (
    MONTH,
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

_STEP = re.compile(r'name="etape" type="hidden" value="([^"]+)"')


def _step(client: FlaskClient, pid: str) -> str:
    found = _STEP.search(text(client.get(f"/medecins/{pid}")))
    assert found, "no GP step on the page"
    return found.group(1)


def _act(client: FlaskClient, pid: str, action: str, step: str | None = None, **data: str) -> Any:
    step = _step(client, pid) if step is None else step
    return client.post(
        f"/medecins/{pid}/{action}",
        data={"csrf_token": csrf_token(client, "/"), "etape": step, **data},
    )


def _cli(path: Path, *args: str) -> None:
    out, err = io.StringIO(), io.StringIO()
    code = main([*args, "--registre", str(path)], out=out, err=err)
    assert code == EXIT_OK, err.getvalue()


def _twin(register_file: Path, tmp_path: Path) -> Path:
    """A copy of the register, for the command line."""
    twin = tmp_path / "jumeau.sqlite"
    shutil.copy(register_file, twin)
    return twin


def _gp_state(path: Path, pid: str) -> tuple[object, list[CapacityDeclared]]:
    with open_store(path) as store:
        physician = store.get_physician(pid)
        declared = [
            e for e in store.ledger_entries()
            if isinstance(e, CapacityDeclared) and e.physician_id == pid
        ]  # fmt: skip
    return physician, declared


def _audited(path: Path, pid: str) -> list[tuple[str, str]]:
    with open_store(path) as store:
        return [(r.action, r.detail) for r in store.audit_entries(subject=pid)]


def _status(path: Path, pid: str) -> PhysicianStatus:
    physician, _ = _gp_state(path, pid)
    assert physician is not None
    return physician.status_on(TODAY)  # type: ignore[attr-defined, no-any-return]


# ------------------------------------------------------------------------------------------
# Adding a GP and joining


def test_adding_a_gp_then_joining_records_what_the_cli_records(
    client: FlaskClient, register_file: Path, tmp_path: Path
) -> None:
    twin = _twin(register_file, tmp_path)
    login(client, "claire")
    token = csrf_token(client, "/medecins/ajouter")
    added = client.post(
        "/medecins/ajouter",
        data={"csrf_token": token, "identifiant": "MG900", "nom": "Dr Essai",
              "commune": "Voiron", "rpps": "10000000009"},
    )  # fmt: skip
    assert added.status_code == 303
    assert added.headers["Location"].endswith("/medecins/MG900")
    assert "candidat" in text(client.get("/medecins/MG900"))
    listed = re.search(
        r"MG900\)</a></th>\s*<td>[^<]*</td><td>([^<]*)</td>", text(client.get("/medecins"))
    )
    assert listed is not None
    assert listed.group(1) == "candidat"  # as « medecin liste » shows it
    joined = _act(
        client, "MG900", "adherer", capacite="4", cabinet="y", domicile="y", communes="Voiron"
    )
    assert joined.status_code == 303
    assert "Adhésion enregistrée." in text(client.get("/medecins/MG900"))

    cli_date = TODAY.strftime("%d/%m/%Y")
    _cli(twin, "medecin", "ajouter", "MG900", "--nom", "Dr Essai", "--commune", "Voiron",
         "--rpps", "10000000009")  # fmt: skip
    _cli(twin, "medecin", "adherer", "MG900", "--capacite", "4", "--modalites", "cabinet",
         "domicile", "--communes", "Voiron", "--date", cli_date)  # fmt: skip
    web, cli = _gp_state(register_file, "MG900"), _gp_state(twin, "MG900")
    assert web == cli
    assert web[0].commune == "38563"  # type: ignore[union-attr]
    assert [d.capacity for d in web[1]] == [4]
    assert sorted(a for a, _ in _audited(register_file, "MG900")) == [
        "medecin.adherer",
        "medecin.ajouter",
    ]


def test_a_yearly_join_and_its_bound(client: FlaskClient, register_file: Path) -> None:
    login(client, "claire")
    token = csrf_token(client, "/medecins/ajouter")
    client.post(
        "/medecins/ajouter",
        data={"csrf_token": token, "identifiant": "MG901", "nom": "Dr Annuel", "commune": "38563"},
    )
    too_many = _act(client, "MG901", "adherer", capacite="5000", cabinet="y")
    assert too_many.status_code == 400
    body = text(too_many)
    assert 'id="adherer-capacite-erreur"' in body
    assert "cochez « par année civile »" in body
    no_modality = _act(client, "MG901", "adherer", capacite="3")
    assert no_modality.status_code == 400
    assert "Cochez au moins une modalité" in text(no_modality)
    assert (
        _act(client, "MG901", "adherer", capacite="150", par_an="y", cabinet="y").status_code == 303
    )
    _, declared = _gp_state(register_file, "MG901")
    assert [(d.capacity, d.period) for d in declared] == [(150, "year")]


def test_an_unknown_accepted_commune_is_refused_next_to_the_field(
    client: FlaskClient, register_file: Path
) -> None:
    login(client, "claire")
    _act(client, "MG002", "retirer", confirmation="y")
    response = _act(client, "MG002", "adherer", capacite="2", cabinet="y", communes="Zzzville")
    assert response.status_code == 400
    assert 'id="adherer-communes-erreur"' in text(response)
    assert _status(register_file, "MG002") is PhysicianStatus.WITHDRAWN
    assert [a for a, _ in _audited(register_file, "MG002")] == ["medecin.retirer"]


def test_adding_a_gp_is_validated_in_french_next_to_the_fields(
    client: FlaskClient, register_file: Path
) -> None:
    login(client, "claire")
    token = csrf_token(client, "/medecins/ajouter")
    empty = client.post("/medecins/ajouter", data={"csrf_token": token})
    assert empty.status_code == 400
    body = text(empty)
    for fid in ("ajout-identifiant", "ajout-nom", "ajout-commune"):
        assert f'id="{fid}-erreur"' in body
    assert "Indiquez la commune d&#39;exercice." in body
    unknown = client.post(
        "/medecins/ajouter",
        data={"csrf_token": token, "identifiant": "MG902", "nom": "Dr X", "commune": "Zzzville"},
    )
    assert unknown.status_code == 400
    assert 'id="ajout-commune-erreur"' in text(unknown)
    twice = client.post(
        "/medecins/ajouter",
        data={"csrf_token": token, "identifiant": "MG002", "nom": "Dr X", "commune": "38563"},
    )
    assert twice.status_code == 400
    assert 'id="ajout-identifiant-erreur"' in text(twice)
    assert "existe déjà" in text(twice)
    # an RPPS number whose key is wrong, as « medecin importer » and « medecin ajouter » say
    wrong_key = client.post(
        "/medecins/ajouter",
        data={"csrf_token": token, "identifiant": "MG902", "nom": "Dr X", "commune": "38563",
              "rpps": "10000000000"},
    )  # fmt: skip
    assert wrong_key.status_code == 400
    assert 'id="ajout-rpps-erreur"' in text(wrong_key)
    assert "11 chiffres dont le dernier est la clé de contrôle" in text(wrong_key)
    spaced = client.post(
        "/medecins/ajouter",
        data={"csrf_token": token, "identifiant": "MG903", "nom": "Dr Y", "commune": "38563",
              "rpps": "10 0000 0000 9"},
    )  # fmt: skip
    assert spaced.status_code == 303
    with open_store(register_file) as store:
        assert store.get_physician("MG902") is None
        added = [r for r in store.audit_entries() if r.action == "medecin.ajouter"]
        assert [r.subject for r in added] == ["MG903"]
        assert store.get_physician("MG903").rpps == "10000000009"  # type: ignore[union-attr]


# ------------------------------------------------------------------------------------------
# Withdrawing


def test_withdrawing_records_what_the_cli_records(
    client: FlaskClient, register_file: Path, tmp_path: Path
) -> None:
    twin = _twin(register_file, tmp_path)
    login(client, "claire")
    unconfirmed = _act(client, "MG002", "retirer", note="départ")
    assert unconfirmed.status_code == 400
    assert 'id="retirer-confirmation-erreur"' in text(unconfirmed)
    assert _status(register_file, "MG002") is PhysicianStatus.ACTIVE
    done = _act(client, "MG002", "retirer", confirmation="y", note="départ")
    assert done.status_code == 303
    page = text(client.get("/medecins/MG002"))
    assert "Retrait du dispositif enregistré." in page
    assert "Retirer du dispositif" not in page  # the form is gone
    assert "Enregistrer l'adhésion" in page  # a withdrawn GP may join again
    _cli(twin, "medecin", "retirer", "MG002", "--date", TODAY.strftime("%d/%m/%Y"),
         "-c", "départ")  # fmt: skip
    assert _gp_state(register_file, "MG002") == _gp_state(twin, "MG002")
    assert _status(register_file, "MG002") is PhysicianStatus.WITHDRAWN


# ------------------------------------------------------------------------------------------
# Contact details


def test_contact_details_are_shown_edited_and_erased_as_the_cli_does(
    client: FlaskClient, register_file: Path, tmp_path: Path
) -> None:
    twin = _twin(register_file, tmp_path)
    login(client, "claire")
    response = _act(
        client, "MG003", "coordonnees", telephone="0476123456",
        mssante="dr.essai@medecin.mssante.fr", adresse="1 rue de l'Essai, Voiron",
        cabinet="Maison de santé Essai", notes="rendez-vous en ligne",
    )  # fmt: skip
    assert response.status_code == 303
    page = text(client.get("/medecins/MG003"))
    assert "04 76 12 34 56" in page
    assert "Coordonnées enregistrées." in page
    _cli(twin, "medecin", "coordonnees", "MG003", "--effacer", "--telephone", "0476123456",
         "--mssante", "dr.essai@medecin.mssante.fr", "--adresse", "1 rue de l'Essai, Voiron",
         "--cabinet", "Maison de santé Essai", "--notes", "rendez-vous en ligne")  # fmt: skip
    assert _gp_state(register_file, "MG003") == _gp_state(twin, "MG003")
    ((action, detail),) = _audited(register_file, "MG003")
    assert action == "medecin.coordonnees"
    assert "téléphone" in detail
    assert "04" not in detail  # labels, never values
    assert "mssante.fr" not in detail

    unconfirmed = _act(client, "MG003", "effacer-coordonnees")
    assert unconfirmed.status_code == 400
    assert 'id="effacer-confirmation-erreur"' in text(unconfirmed)
    assert _act(client, "MG003", "effacer-coordonnees", confirmation="y").status_code == 303
    physician, _ = _gp_state(register_file, "MG003")
    assert physician.contact == PracticeContact()  # type: ignore[union-attr]
    assert "Coordonnées effacées." in text(client.get("/medecins/MG003"))


def test_a_wrong_phone_is_refused_next_to_its_field(
    client: FlaskClient, register_file: Path
) -> None:
    login(client, "claire")
    before, _ = _gp_state(register_file, "MG003")
    response = _act(client, "MG003", "coordonnees", telephone="appeler", mssante="pas-une-adresse")
    assert response.status_code == 400
    body = text(response)
    assert 'id="coordonnees-telephone-erreur"' in body
    assert "téléphone : numéro attendu" in body
    assert 'id="coordonnees-mssante-erreur"' in body
    assert _gp_state(register_file, "MG003")[0] == before
    assert _audited(register_file, "MG003") == []


# ------------------------------------------------------------------------------------------
# Stale pages, permissions


@pytest.mark.parametrize(
    ("action", "data"),
    [
        ("capacite", {"capacite": "5"}),
        ("suspendre", {"du": "2026-03-20"}),
        ("retirer", {"confirmation": "y"}),
        ("coordonnees", {"telephone": "04 76 00 00 00"}),
        ("effacer-coordonnees", {"confirmation": "y"}),
    ],
)
def test_a_stale_page_records_nothing(
    client: FlaskClient, register_file: Path, action: str, data: dict[str, str]
) -> None:
    login(client, "claire")
    shown = _step(client, "MG004")
    assert _act(client, "MG004", "capacite", capacite="6").status_code == 303
    before = _gp_state(register_file, "MG004")
    response = _act(client, "MG004", action, step=shown, **data)
    assert response.status_code == 303
    assert STALE_GP_MESSAGE.replace("'", "&#39;") in text(client.get("/medecins/MG004"))
    assert _gp_state(register_file, "MG004") == before
    assert [a for a, _ in _audited(register_file, "MG004")] == ["medecin.capacite"]


def test_a_page_without_its_step_records_nothing(client: FlaskClient, register_file: Path) -> None:
    login(client, "claire")
    response = client.post(
        "/medecins/MG004/retirer", data={"csrf_token": csrf_token(client, "/"), "confirmation": "y"}
    )
    assert response.status_code == 303
    assert _status(register_file, "MG004") is PhysicianStatus.ACTIVE
    assert _audited(register_file, "MG004") == []


@pytest.mark.parametrize(
    "action", ["adherer", "retirer", "coordonnees", "effacer-coordonnees", "capacite"]
)
def test_a_read_only_account_cannot_act(
    client: FlaskClient, register_file: Path, action: str
) -> None:
    login(client, "lea")
    page = text(client.get("/medecins/MG002"))
    assert "etape" not in page  # no form for a read-only account
    assert "Suivi par mois" in page
    token = csrf_token(client, "/")
    data = {"csrf_token": token, "capacite": "3", "confirmation": "y", "telephone": "0476000000"}
    assert client.post(f"/medecins/MG002/{action}", data=data).status_code == 403
    assert client.get("/medecins/ajouter").status_code == 403
    added = client.post(
        "/medecins/ajouter",
        data={"csrf_token": token, "identifiant": "MG903", "nom": "Dr X", "commune": "38563"},
    )
    assert added.status_code == 403
    assert _audited(register_file, "MG002") == []
    with open_store(register_file) as store:
        assert store.get_physician("MG903") is None


def test_a_write_without_csrf_token_is_refused(client: FlaskClient, register_file: Path) -> None:
    login(client, "claire")
    step = _step(client, "MG002")
    response = client.post("/medecins/MG002/retirer", data={"etape": step, "confirmation": "y"})
    assert response.status_code == 400
    assert _status(register_file, "MG002") is PhysicianStatus.ACTIVE


# ------------------------------------------------------------------------------------------
# Follow-up per month


def test_the_follow_up_counts_what_the_monthly_report_counts(
    client: FlaskClient, register_file: Path
) -> None:
    with open_store(register_file) as store:
        register = Register(store, load_policy("voironnais"))
        report = indicators(register, MONTH)
        by_id = {row[0]: row for row in report.physicians.rows}
        busy = next(pid for pid, row in by_id.items() if pid != "total" and row[7])
        months = follow_up(register, register.physician(busy), TODAY)
        ledger_only = follow_up(register, register.physician(busy), TODAY, activity=False)
        previous = indicators(register, MONTH.previous())
    assert [m.month for m in months][:2] == [MONTH, MONTH.previous()]
    assert len(months) == 12
    row = by_id[busy]
    now = months[0]
    assert (now.capacity, now.held, now.proposals, now.acceptances, now.refusals) == (
        row[4], row[5], row[7], row[8], row[10]
    )  # fmt: skip
    old = {r[0]: r for r in previous.physicians.rows}.get(busy)
    if old is not None:
        assert (months[1].proposals, months[1].acceptances) == (old[7], old[8])
    assert [(m.capacity, m.held) for m in ledger_only] == [(m.capacity, m.held) for m in months]
    login(client, "lea")
    page = text(client.get(f"/medecins/{busy}"))
    assert "Suivi par mois" in page
    assert f'href="/medecins/{busy}/suivi"' in page
    full = text(client.get(f"/medecins/{busy}/suivi"))
    assert f'<th scope="row">{MONTH.label}</th><td class="number">{now.capacity}</td>' in full
    assert client.get("/medecins/MG999/suivi").status_code == 404


def test_the_follow_up_of_every_gp_is_the_monthly_report_s_row(register_file: Path) -> None:
    """The follow-up reads only the GP's requests (those with an event naming them): the
    figures are still those of the report, which reads the whole register."""
    with open_store(register_file) as store:
        register = Register(store, load_policy("voironnais"))
        reports = [indicators(register, MONTH), indicators(register, MONTH.previous())]
        for physician in register.physicians():
            months = follow_up(register, physician, TODAY)
            for report, month in zip(reports, months, strict=False):
                row = {r[0]: r for r in report.physicians.rows}.get(physician.id)
                figures = (month.proposals, month.acceptances, month.refusals)
                expected = (0, 0, 0) if row is None else (row[7], row[8], row[10])
                assert figures == expected, (physician.id, month.month)


def test_the_gp_page_has_unique_ids(client: FlaskClient) -> None:
    login(client, "claire")
    for url in ("/medecins/MG002", "/medecins/ajouter", "/medecins/MG002/suivi"):
        ids = re.findall(r'\sid="([^"]+)"', text(client.get(url)))
        assert len(ids) == len(set(ids)), url
