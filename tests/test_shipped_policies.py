"""Every policy shipped with mt-access runs its CPTS's month, and follows its own rule."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pytest

import mt_access
from cli_support import new_register, ok
from mt_access.cli import EXIT_OK, main
from mt_access.examples import example_month
from mt_access.geo.communes import bundled_reference
from mt_access.hooks import Hooks
from mt_access.register import Register
from mt_access.store.memory import MemoryStore

SHIPPED = sorted(mt_access.available_policies())


def test_the_seed_cptss_are_shipped() -> None:
    assert {
        "deule_marque",
        "voironnais",
        "sud_loire_vignoble",
        "lievin",
        "sud_est_grenoblois",
        "coeur_essonne",
    } <= set(SHIPPED)


@pytest.mark.parametrize("name", SHIPPED)
def test_each_shipped_policy_runs_a_demo_month(tmp_path: Path, name: str) -> None:
    """``mt-access demo --politique NAME`` works for every shipped policy."""
    out, err = io.StringIO(), io.StringIO()
    code = main(["demo", "--politique", name, "--dossier", str(tmp_path)], out=out, err=err)
    assert code == EXIT_OK, err.getvalue()
    text = out.getvalue()
    assert "appariement n° 3 du 15/03/2026" in text
    assert (tmp_path / "registre.sqlite").exists()
    assert "Traceback" not in err.getvalue()


@pytest.mark.parametrize("name", SHIPPED)
def test_each_shipped_policy_says_what_the_cpts_must_confirm(name: str) -> None:
    """A policy written from the seeds says, in the file, what it guessed."""
    text = mt_access.available_policies()[name].read_text(encoding="utf-8")
    assert "Source" in text
    if name != "voironnais":  # Voironnais's procedure gives its communes and criteria
        assert "À CONFIRMER PAR LA CPTS" in text


def test_sud_loire_vignoble_hands_the_three_nearest_gps_in_order() -> None:
    """Sud Loire Vignoble: every request gets the 3 nearest GPs who accept it and have a place
    this month, nearest first; no place is taken until one accepts."""
    policy = mt_access.load_policy("sud_loire_vignoble")
    reference = bundled_reference()
    data = example_month(policy, reference, requests=40, physicians=12, seed=7)
    on = dt.date(2026, 3, 15)
    ledger = mt_access.CapacityLedger()
    result = mt_access.match(data.requests, data.physicians, policy, ledger, on)
    assert result.placements == ()
    assert result.orientations
    by_id = {p.id: p for p in data.physicians}
    requests = {r.id: r for r in data.requests}
    for orientation in result.orientations:
        listed = orientation.physicians
        assert 1 <= len(listed) <= 3
        kms = [o.distance_km for o in listed]
        assert kms == sorted(kms)
        request = requests[orientation.request_id]
        for o in listed:
            doctor = by_id[o.physician_id]
            assert doctor.is_available_on(on)
            assert doctor.serves(request.home_visits)
    # a request with three or more eligible GPs in its commune's reach gets three
    assert max(len(o.physicians) for o in result.orientations) == 3


# --------------------------------------------------------------------------------------------
# Sud Est Grenoblois: urgent > priority > others on lists GPs pick from; the mediator
# alongside for people who need help with their health-insurance rights.


def test_sud_est_grenoblois_lists_and_the_mediator_alongside() -> None:
    policy = mt_access.load_policy("sud_est_grenoblois")
    data = example_month(policy, bundled_reference(), requests=80, physicians=8, seed=11)
    on = data.on
    result = mt_access.match(data.requests, data.physicians, policy, mt_access.CapacityLedger(), on)
    requests = {r.id: r for r in data.requests}
    assert result.placements == ()
    assert result.pull_lists
    # every list: urgent first, then priority, then the others
    for pull_list in result.pull_lists:
        ranks = [e.rank for e in pull_list.entries]
        assert ranks == sorted(ranks)
    levels = {e.level for x in result.pull_lists for e in x.entries}
    assert {"urgent", "prioritaire", "autres demandes"} <= levels
    in_scope = {w.request_id for w in result.waiting} | {p.request_id for p in result.placements}
    with_mediator = {a.request_id for a in result.attached_resources}
    needing = {rid for rid in in_scope if requests[rid].answers.get("aide_droits") is True}
    assert needing  # the generated month has some
    assert with_mediator == needing
    for a in result.attached_resources:
        assert (a.name, a.mode, a.status) == ("Médiateur santé", "alongside", "attached")
    # alongside: the request keeps its path, it is on the GPs' lists like the others
    listed = {e.pseudonym for x in result.pull_lists for e in x.entries}
    names = dict(
        zip(
            sorted(needing),
            Hooks.of(policy, None).pseudonyms(sorted(needing), policy),
            strict=True,
        )
    )
    assert any(names[rid] in listed for rid in needing)
    waiting = {w.request_id: w for w in result.waiting}
    assert all(waiting[rid].reason.name == "AWAITING_GP_CHOICE" for rid in needing)


def test_sud_est_grenoblois_demo_writes_the_lists_and_records_picks(tmp_path: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    code = main(
        ["demo", "--politique", "sud_est_grenoblois", "--dossier", str(tmp_path)], out=out, err=err
    )
    assert code == EXIT_OK, err.getvalue()
    text = out.getvalue()
    assert "Médiateur santé" in text
    assert "Listes partagées : " in text
    written = sorted(p.name for p in (tmp_path / "listes").iterdir())
    assert written
    assert all(n.startswith("liste-MG") and n.endswith((".xlsx", ".html")) for n in written)


# --------------------------------------------------------------------------------------------
# Cœur Essonne: fragility from its own questions, GPs accept or refuse each file, the DAC
# before (or alongside) the GP for complex situations, the others to unscheduled care.


def _coeur_essonne_register() -> Register:
    policy = mt_access.load_policy("coeur_essonne")
    register = Register(MemoryStore(), policy)
    register.add_physician(mt_access.Physician(id="MG1", name="Dr Test", commune=ARPAJON))
    register.join("MG1", dt.date(2026, 3, 1), monthly_capacity=3, modalities=["office"])
    return register


ARPAJON = "91021"


def _waiting_request(register: Register, rid: str, **kw: object) -> str:
    request = mt_access.Request(
        id=rid,
        received=dt.date(2026, 3, 2),
        patient=mt_access.Patient(birth_date=dt.date(1980, 5, 1), commune=ARPAJON),
        **kw,  # type: ignore[arg-type]
    )
    register.add_request(request, mt_access.PatientIdentity(last_name="Fictif"))
    register.acknowledge(rid, dt.date(2026, 3, 3))
    register.confirm(rid, dt.date(2026, 3, 4))
    register.to_waiting(rid, dt.date(2026, 3, 4))
    return rid


def test_coeur_essonne_answers_drive_the_levels_and_the_dac_comes_first() -> None:
    register = _coeur_essonne_register()
    complex_ = _waiting_request(register, "C1", ald=True, answers={"situation_complexe": True})
    isolated = _waiting_request(register, "C2", answers={"personne_isolee": True})
    alongside = _waiting_request(
        register, "C3", ald=True, answers={"situation_complexe": True, "appui_dac": "pendant"}
    )
    other = _waiting_request(register, "C4", answers={"personne_isolee": False})
    run = register.run_match(dt.date(2026, 3, 15))
    result = run.result
    # « personne isolée » (a question of its form) makes a request fragile: proposed to a GP
    assert (isolated, "MG1") in run.proposed
    # the DAC before the GP for a complex situation: held, not proposed
    assert complex_ not in {rid for rid, _ in run.proposed}
    (dac,) = result.resources_for(complex_)
    assert (dac.name, dac.mode, dac.status) == ("DAC", "before", "awaiting")
    # « pendant » : the GP path and the DAC alongside
    assert (alongside, "MG1") in run.proposed
    assert [a.name for a in result.resources_for(alongside)] == ["DAC (accompagnement)"]
    # not fragile: unscheduled care only, no GP listed, no place taken
    (orientation,) = [o for o in result.orientations if o.request_id == other]
    assert orientation.physicians == ()
    assert any("Soins non programmés" in r for r in orientation.resources)
    # the GP accepts or refuses each file
    register.answer(isolated, "MG1", dt.date(2026, 3, 20), accepted=False)
    # the DAC answers: the complex request enters its GP path at the next run
    register.resource_answer(complex_, "DAC", dt.date(2026, 3, 25), "évaluation faite")
    later = register.run_match(dt.date(2026, 3, 28))
    assert (complex_, "MG1") in later.proposed


CE_FORM = """\
Date de réception;Nom;Prénom;Date de naissance;Commune;Consentement;ALD;Personne isolée;\
Situation complexe
02/03/2026;Fictif;Un;01/01/1980;Arpajon;Oui;Oui;Non;Oui
02/03/2026;Fictif;Deux;01/01/1981;Arpajon;Oui;Non;Oui;Non
02/03/2026;Fictif;Trois;01/01/1982;Arpajon;Oui;Non;Non;Non
"""


def test_coeur_essonne_month_from_the_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its form read with its own questions, then: the isolated person proposed to a GP, the
    complex situation held for the DAC until its answer, the other oriented to unscheduled
    care."""
    new_register(tmp_path, monkeypatch, "coeur_essonne")
    (tmp_path / "formulaire.csv").write_text(CE_FORM, encoding="utf-8")
    ok("import", "formulaire.csv", "--date", "02/03/2026")
    ids = [f"coeur_essonne-00000{i}" for i in (1, 2, 3)]
    for rid in ids:
        ok("demande", "accuser", rid, "--date", "03/03/2026")
        ok("demande", "confirmer", rid, "--date", "03/03/2026")
    ok("medecin", "ajouter", "MG1", "--nom", "Dr Fictif", "--commune", "Arpajon")
    ok("medecin", "adherer", "MG1", "--capacite", "3", "--date", "01/03/2026")
    first = ok("apparier", "--date", "15/03/2026")
    complex_, isolated, other = ids
    assert "en attente de la réponse de : DAC (jusqu'au 14/04/2026)" in first
    assert "Soins non programmés" in ok("demande", "courrier", other, "orientation")
    history = ok("demande", "historique", isolated)
    assert "proposition" in history
    assert "MG1" in history
    assert "MG1" not in ok("demande", "historique", complex_)
    ok(
        "demande",
        "ressource",
        complex_,
        "DAC",
        "--reponse",
        "évaluation faite",
        "--date",
        "20/03/2026",
    )
    ok("apparier", "--date", "21/03/2026")
    assert "MG1" in ok("demande", "historique", complex_)
