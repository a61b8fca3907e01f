"""Issue 12, point 3: resources with conditions and a mode (alongside, instead, before), the
``orientation`` router without GPs, the verifier's warnings, and the command line."""

from __future__ import annotations

import datetime as dt
import random
import re
import textwrap
from pathlib import Path

import pytest
import yaml

import mt_access
from cli_support import run as _run
from factories import ON, VOIRON, VOREPPE, doc, req
from mt_access import PatientIdentity, PolicyError, ReasonCode, match
from mt_access.cli import EXIT_OK, EXIT_REFUSED
from mt_access.letters import feedback_letter, letters_for_run, resources_letter
from mt_access.lifecycle import Event, LifecycleError, RequestFile, RequestState
from mt_access.policy import policy_from_mapping
from mt_access.register import Register, RegisterOperationError
from mt_access.resources import ResourceContact, resource_contacts, resource_warnings
from mt_access.store.memory import MemoryStore

ROOT = Path(__file__).resolve().parents[1]
VOIRONNAIS = (ROOT / "policies" / "voironnais.yaml").read_text(encoding="utf-8")

MEDIATOR = """\
- name: Médiateur santé
  kind: médiation en santé (droits)
  contact: 04 00 00 00 01
  mode: alongside
  when:
    - kind: any_of
      of:
        - kind: css
        - kind: ame
"""
DAC = """\
- name: DAC
  kind: dispositif d'appui à la coordination
  contact: 04 00 00 00 02
  mode: before
  wait_days: 30
  when:
    - kind: disability_or_chronic
      label: situation complexe
"""
CENTRE = """\
- name: Centre de santé
  kind: centre de santé
  contact: 04 00 00 00 03
  mode: instead
  levels: [non prioritaire]
  when:
    - kind: home_visits_needed
"""


def policy_text(resources: str, *, base: str = VOIRONNAIS, router: str | None = None) -> str:
    text = base
    if router is not None:
        text = text.replace("router: monthly_quota", f"router: {router}")
    return text + "\nresources:\n" + textwrap.indent(resources, "  ")


def load(tmp_path: Path, resources: str, **kw: str) -> mt_access.Policy:
    path = tmp_path / "politique.yaml"
    path.write_text(policy_text(resources, **kw), encoding="utf-8")
    return mt_access.load_policy(path)


@pytest.fixture
def policy(tmp_path: Path) -> mt_access.Policy:
    return load(tmp_path, MEDIATOR + DAC + CENTRE)


# ------------------------------------------------------------------------------------------
# Reading


def test_resources_are_read_with_their_conditions(policy: mt_access.Policy) -> None:
    mediator, dac, centre = policy.resources
    assert (mediator.mode, dac.mode, centre.mode) == ("alongside", "before", "instead")
    assert [c.kind for c in mediator.when] == ["any_of"]
    assert [c.kind for c in mediator.when[0].of] == ["css", "ame"]
    assert dac.when[0].label == "situation complexe"
    assert dac.wait_days == 30
    assert centre.levels == frozenset({"non prioritaire"})
    assert mediator.wait_days is None


def test_a_resource_without_mode_reads_as_before(tmp_path: Path) -> None:
    plain = load(tmp_path, "- name: CMSI\n  kind: soins immédiats\n").resources[0]
    assert plain.mode == ""
    assert not plain.conditional
    assert plain.describe() == "CMSI (soins immédiats)"


BAD = [
    (DAC.replace("mode: before", "mode: apres"), "mode", "mode parmi alongside, instead, before"),
    (DAC.replace("wait_days: 30", "wait_days: 0"), "wait_days", "1"),
    (DAC.replace("wait_days: 30", "wait_days: 400"), "wait_days", "365"),
    (DAC.replace("mode: before", "mode: alongside"), "wait_days", "qu'avec le mode 'before'"),
    (CENTRE.replace("[non prioritaire]", "[urgent]"), "levels[0]", "niveau inconnu 'urgent' ; "
     "niveaux de la politique : prioritaire, non prioritaire"),
    (CENTRE.replace("  mode: instead\n", ""), "when", "demande un 'mode'"),
    (DAC.replace("disability_or_chronic", "situation"), "when[0].kind",
     "type de critère inconnu 'situation'"),
    (DAC.replace("  when:\n    - kind: disability_or_chronic\n      label: situation complexe\n",
                 "  when: []\n"), "when", "au moins un critère"),
    (DAC + DAC.replace("contact: 04 00 00 00 02", "contact: autre"), "[1].name",
     "nom de ressource en double : 'DAC'"),
]  # fmt: skip


@pytest.mark.parametrize(("resources", "key", "message"), BAD)
def test_bad_resources_are_located(tmp_path: Path, resources: str, key: str, message: str) -> None:
    with pytest.raises(PolicyError) as caught:
        load(tmp_path, resources)
    err = caught.value
    assert message in err.message
    assert err.path.startswith("$.resources["), err.path
    assert err.path.endswith(key), err.path
    text = policy_text(resources).splitlines()
    assert err.line is not None
    # the line named holds the key (or the item) in error
    last = key.split(".")[-1].split("[")[0] or "name"
    assert last in text[err.line - 1] or text[err.line - 1].lstrip().startswith("-"), (
        err.line,
        text[err.line - 1],
    )
    assert str(err).startswith(f"{tmp_path / 'politique.yaml'}:{err.line}: $.resources[")


# ------------------------------------------------------------------------------------------
# The engine


def test_alongside_keeps_the_gp_path(policy: mt_access.Policy) -> None:
    requests = [req("R-css", css=True), req("R-plain")]
    result = match(requests, [doc("G1", capacity=2)], policy, None, ON)
    assert {p.request_id for p in result.placements} == {"R-css", "R-plain"}
    (attached,) = result.resources_for("R-css")
    assert (attached.name, attached.mode, attached.status) == (
        "Médiateur santé",
        "alongside",
        "attached",
    )
    assert attached.first_time
    assert attached.involved_on == ON
    assert attached.contact == "04 00 00 00 01"
    assert result.resources_for("R-plain") == ()


def test_alongside_request_stays_on_the_pull_lists(tmp_path: Path) -> None:
    policy = load(tmp_path, MEDIATOR, router="pull")
    result = match([req("R-css", css=True)], [doc("G1"), doc("G2")], policy, None, ON)
    assert [len(pl.entries) for pl in result.pull_lists] == [1, 1]
    assert result.waiting[0].reason is ReasonCode.AWAITING_GP_CHOICE
    assert [a.name for a in result.resources_for("R-css")] == ["Médiateur santé"]


def test_instead_answers_with_the_resource(policy: mt_access.Policy) -> None:
    needs = mt_access.HomeVisitNeed.OCCASIONAL
    home = doc("G1", modalities=frozenset(mt_access.Modality))
    result = match([req("R-home", home_visits=needs)], [home], policy, None, ON)
    assert result.placements == ()
    (orientation,) = result.orientations
    assert orientation.router == "resources"
    assert orientation.physicians == ()
    assert orientation.resources == ("Centre de santé (centre de santé) – 04 00 00 00 03",)
    assert "à la place d'un médecin généraliste" in orientation.explanation
    assert result.resources_for("R-home")[0].status == "instead"
    # a priority request (ALD) is not of the level the centre is for: placed
    result = match([req("R-home", home_visits=needs, ald=True)], [home], policy, None, ON)
    assert [p.request_id for p in result.placements] == ["R-home"]


def test_before_holds_the_request_until_answer_or_delay(policy: mt_access.Policy) -> None:
    gps = [doc("G1", capacity=3)]
    complex_ = req("R-dac", disability_or_chronic=True)
    result = match([complex_, req("R-plain")], gps, policy, None, ON)
    assert [p.request_id for p in result.placements] == ["R-plain"]
    (held,) = result.waiting
    assert held.request_id == "R-dac"
    assert held.reason is ReasonCode.AWAITING_RESOURCE
    assert held.detail == "en attente de la réponse de : DAC (jusqu'au 14/04/2026)"
    (dac,) = result.resources_for("R-dac")
    assert (dac.status, dac.until) == ("awaiting", dt.date(2026, 4, 14))
    # answered: routed
    answered = {"R-dac": {"DAC": ResourceContact(dt.date(2026, 3, 1), dt.date(2026, 3, 10))}}
    result = match([complex_], gps, policy, None, ON, resource_contacts=answered)
    assert [p.request_id for p in result.placements] == ["R-dac"]
    assert result.resources_for("R-dac")[0].status == "answered"
    # involved 30 days ago without an answer: released
    late = {"R-dac": {"DAC": ResourceContact(ON - dt.timedelta(30))}}
    result = match([complex_], gps, policy, None, ON, resource_contacts=late)
    assert [p.request_id for p in result.placements] == ["R-dac"]
    assert result.resources_for("R-dac")[0].status == "expired"
    # involved 29 days ago: still held
    early = {"R-dac": {"DAC": ResourceContact(ON - dt.timedelta(29))}}
    result = match([complex_], gps, policy, None, ON, resource_contacts=early)
    assert result.placements == ()
    assert result.waiting[0].detail.endswith("DAC (jusqu'au 16/03/2026)")


def test_whatever_the_input_order(policy: mt_access.Policy) -> None:
    requests = [
        req(f"R{i:02}", css=i % 2 == 0, disability_or_chronic=i % 3 == 0, ame=i % 5 == 0)
        for i in range(20)
    ]
    gps = [doc(f"G{i}", commune, capacity=2) for i, commune in enumerate([VOIRON, VOREPPE])]
    first = match(requests, gps, policy, None, ON)
    for seed in range(3):
        shuffled = requests[:]
        random.Random(seed).shuffle(shuffled)
        assert match(shuffled, gps[::-1], policy, None, ON) == first
    ids = [a.request_id for a in first.attached_resources]
    assert ids == sorted(ids)
    assert [a.name for a in first.resources_for("R00")] == ["Médiateur santé", "DAC"]


def test_orientation_without_the_communes_gps(deule_marque: mt_access.Policy) -> None:
    raw = (ROOT / "policies" / "deule_marque.yaml").read_text(encoding="utf-8")
    assert "router: orientation" in raw
    marcq = "59378"
    gps = [doc("G1", marcq, accepted=frozenset({marcq}))]
    requests = [req("R1", marcq)]
    before = match(requests, gps, deule_marque, None, ON)
    assert before.orientations[0].physicians  # the commune's GPs, as before
    text = raw.replace("router: orientation", "router: orientation\n    include_commune_gps: false")
    policy = policy_from_mapping(yaml.safe_load(text), reference=deule_marque.reference)
    (orientation,) = match(requests, gps, policy, None, ON).orientations
    assert orientation.physicians == ()
    assert orientation.resources == before.orientations[0].resources
    assert len(orientation.resources) == 3
    assert orientation.explanation.startswith("Orientation vers les ressources du territoire")


# ------------------------------------------------------------------------------------------
# The lifecycle and the register

DAY = dt.date(2026, 3, 2)


def test_resource_events_keep_the_state() -> None:
    file = RequestFile.receive("D-1", DAY).acknowledge(DAY).confirm(DAY).to_waiting(DAY)
    file = file.resource_involved("DAC", DAY)
    assert file.state is RequestState.WAITING
    with pytest.raises(LifecycleError, match="ne peut pas être vide"):
        file.resource_answer("DAC", DAY, "  ")
    file = file.resource_answer("DAC", DAY + dt.timedelta(3), "situation évaluée")
    last = file.history[-1]
    assert (last.event, last.resource, last.actor.value) == (
        Event.RESOURCE_ANSWER,
        "DAC",
        "coordinator",
    )
    assert "ressource DAC" in last.describe()
    assert resource_contacts(file.history) == {"DAC": ResourceContact(DAY, DAY + dt.timedelta(3))}


def _register(policy: mt_access.Policy, store: object | None = None) -> Register:
    register = Register(store or MemoryStore(), policy)  # type: ignore[arg-type]
    register.add_physician(doc("MG1", VOIRON, capacity=None))
    register.join("MG1", DAY, monthly_capacity=5, modalities=["office"])
    return register


def _waiting(register: Register, **kw: object) -> str:
    rid = register.next_request_id()
    register.add_request(
        req(rid, VOIRON, received=DAY, **kw),
        PatientIdentity(last_name="Fictif", first_name="Camille"),
    )
    register.acknowledge(rid, DAY)
    register.confirm(rid, DAY)
    register.to_waiting(rid, DAY)
    return rid


def test_register_before_then_gp_after_the_answer(policy: mt_access.Policy) -> None:
    register = _register(policy)
    rid = _waiting(register, disability_or_chronic=True)
    run = register.run_match(dt.date(2026, 3, 5))
    assert run.proposed == ()
    assert run.result.eligible(rid) is None  # held: not routed, no eligible set to show
    involved = [t for t in register.file(rid).history if t.event is Event.RESOURCE_INVOLVED]
    assert [(t.resource, t.on, t.actor.value) for t in involved] == [
        ("DAC", dt.date(2026, 3, 5), "system")
    ]
    # a month later: still held, the delay counted from the first involvement
    run = register.run_match(dt.date(2026, 4, 1))
    assert run.proposed == ()
    assert run.result.waiting[0].detail.endswith("(jusqu'au 04/04/2026)")
    assert len([t for t in register.file(rid).history if t.event is Event.RESOURCE_INVOLVED]) == 1
    with pytest.raises(RegisterOperationError, match="ressources de la politique : Médiateur"):
        register.resource_answer(rid, "CMSI", dt.date(2026, 4, 2), "vu")
    held = resources_letter(register, rid, dt.date(2026, 4, 1)).text
    assert "après la réponse de cette ressource" in held
    assert "Nous attendons sa réponse jusqu'au 04/04/2026" in held
    register.resource_answer(rid, "DAC", dt.date(2026, 4, 2), "évaluation faite")
    answered = resources_letter(register, rid, dt.date(2026, 4, 2)).text
    assert "reste proposée aux médecins" in answered
    assert "jusqu'au" not in answered
    run = register.run_match(dt.date(2026, 4, 3))
    assert run.proposed == ((rid, "MG1"),)


def test_register_before_released_after_wait_days(policy: mt_access.Policy) -> None:
    register = _register(policy)
    rid = _waiting(register, disability_or_chronic=True)
    assert register.run_match(dt.date(2026, 3, 5)).proposed == ()
    assert register.run_match(dt.date(2026, 4, 3)).proposed == ()
    run = register.run_match(dt.date(2026, 4, 4))
    assert run.proposed == ((rid, "MG1"),)
    assert run.result.resources_for(rid)[0].status == "expired"


def test_position_of_a_held_request_says_what_it_waits_for(policy: mt_access.Policy) -> None:
    """``demande position``: a request held by a ``before`` resource is told so, with the
    date the hold ends; once answered, the note is gone."""
    from mt_access.indicators import waiting_position

    register = _register(policy)
    rid = _waiting(register, disability_or_chronic=True)
    register.run_match(dt.date(2026, 3, 5))
    text = waiting_position(register, rid, dt.date(2026, 3, 10)).message
    assert "Elle est retenue, en attente de la réponse de : DAC (jusqu'au 04/04/2026)" in text
    register.resource_answer(rid, "DAC", dt.date(2026, 3, 12), "évaluation faite")
    assert "retenue" not in waiting_position(register, rid, dt.date(2026, 3, 12)).message


def test_alongside_letters_name_the_resource(policy: mt_access.Policy) -> None:
    register = _register(policy)
    rid = _waiting(register, css=True)
    other = _waiting(register)
    run = register.run_match(dt.date(2026, 3, 5))
    assert sorted(run.proposed) == [(rid, "MG1"), (other, "MG1")]
    letters = letters_for_run(register, run, dt.date(2026, 3, 5))
    kinds = [(letter.kind.value, letter.request_id) for letter in letters]
    assert ("dossier_medecin", rid) in kinds
    assert ("ressources_patient", rid) in kinds
    assert ("ressources_patient", other) not in kinds
    letter = next(x for x in letters if x.kind.value == "ressources_patient")
    for text in ("Médiateur santé", "médiation en santé (droits)", "04 00 00 00 01"):
        assert text in letter.text
    assert "reste proposée aux médecins" in letter.text
    # from the history, the same resources
    assert "Médiateur santé" in resources_letter(register, rid, dt.date(2026, 3, 6)).text
    with pytest.raises(mt_access.MtAccessError, match="aucune ressource"):
        resources_letter(register, other, dt.date(2026, 3, 6))
    # a second run does not write the letter again
    register.answer(rid, "MG1", dt.date(2026, 3, 7), accepted=False)
    again = letters_for_run(register, register.run_match(dt.date(2026, 3, 8)), dt.date(2026, 3, 8))
    assert all(x.kind.value != "ressources_patient" for x in again)


def test_instead_letter_lists_the_resource_only(policy: mt_access.Policy) -> None:
    register = Register(MemoryStore(), policy)
    register.add_physician(doc("MG1", VOIRON, capacity=None))
    register.join("MG1", DAY, monthly_capacity=5, modalities=["office", "home_visits"])
    rid = _waiting(register, home_visits=mt_access.HomeVisitNeed.OCCASIONAL)
    run = register.run_match(dt.date(2026, 3, 5))
    assert run.oriented == (rid,)
    assert run.proposed == ()
    (letter,) = letters_for_run(register, run, dt.date(2026, 3, 5))
    assert letter.kind.value == "orientation"
    assert "Centre de santé" in letter.text
    assert "04 00 00 00 03" in letter.text
    assert "Médecins généralistes à contacter" not in letter.text
    assert "Ressources à contacter" in letter.text


def test_referrer_feedback_names_the_resource(policy: mt_access.Policy) -> None:
    register = _register(policy)
    rid = register.next_request_id()
    referrer = mt_access.Referrer(mt_access.ReferrerKind.SOCIAL_WORKER, "Service social", "x")
    register.add_request(
        req(rid, VOIRON, received=DAY, disability_or_chronic=True, referrer=referrer),
        PatientIdentity(last_name="Fictif"),
    )
    for step in (register.acknowledge, register.confirm, register.to_waiting):
        step(rid, DAY)
    register.run_match(dt.date(2026, 3, 5))
    text = feedback_letter(register, rid, dt.date(2026, 3, 6)).text
    assert "Ressources sollicitées pour ce patient" in text
    assert "DAC (dispositif d'appui à la coordination) — 04 00 00 00 02" in text


# ------------------------------------------------------------------------------------------
# The verifier


def test_verifier_warns_about_resources_never_involved(tmp_path: Path) -> None:
    listed = "- name: CMSI\n  kind: soins immédiats\n"
    excluded = (
        "- name: Conciergerie\n  mode: alongside\n  when:\n    - kind: reason_in\n"
        "      reasons: [convenience]\n"
    )
    contradiction = (
        "- name: Personne\n  mode: instead\n  when:\n    - kind: all_of\n      of:\n"
        "        - kind: ald\n        - kind: not\n          of: {kind: ald}\n"
    )
    outside = '- name: Loin\n  mode: alongside\n  communes: ["38185"]\n'
    waiting = DAC.replace("  wait_days: 30\n", "")
    policy = load(tmp_path, listed + excluded + contradiction + outside + waiting + MEDIATOR)
    warnings = resource_warnings(policy)
    assert len(warnings) == 5, warnings
    assert "« CMSI » n'est associée par aucune règle : elle n'a pas de 'mode'" in warnings[0]
    assert "« Conciergerie » n'est associée par aucune règle" in warnings[1]
    assert "« Personne » n'est associée par aucune règle" in warnings[2]
    assert "« Loin » ne dessert aucune commune du territoire" in warnings[3]
    assert "« DAC » (mode before) n'a pas de 'wait_days'" in warnings[4]
    code, out, err = _run("politique", "verifier", str(tmp_path / "politique.yaml"))
    assert code == EXIT_OK, err
    assert out.count("attention : la ressource") == 5
    code, out, _ = _run("politique", "afficher", str(tmp_path / "politique.yaml"))
    assert "Ressource : Médiateur santé (médiation en santé (droits)) – 04 00 00 00 01 — en " in out


def test_verifier_refuses_an_unknown_level_with_its_location(tmp_path: Path) -> None:
    path = tmp_path / "politique.yaml"
    text = policy_text(CENTRE.replace("[non prioritaire]", "[urgent]"))
    path.write_text(text, encoding="utf-8")
    code, _, err = _run("politique", "verifier", str(path))
    assert code != EXIT_OK
    line = text.splitlines().index("    levels: [urgent]") + 1
    assert f"politique.yaml:{line}" in err
    assert "$.resources[0].levels[0]" in err
    assert "niveau inconnu 'urgent' ; niveaux de la politique : prioritaire, non prioritaire" in err


def test_verifier_is_silent_for_a_listed_resource_with_an_orientation() -> None:
    assert resource_warnings(mt_access.load_policy("deule_marque")) == []


# ------------------------------------------------------------------------------------------
# The command line


def test_cli_before_then_gp(tmp_path: Path, policy: mt_access.Policy) -> None:
    from mt_access.store.sqlite import SQLiteStore

    path = tmp_path / "registre.sqlite"
    policy_file = tmp_path / "politique.yaml"
    code, _, err = _run("registre", "creer", str(path), "--politique", str(policy_file))
    assert code == EXIT_OK, err
    with SQLiteStore(path) as store:
        register = _register(policy, store)
        rid = _waiting(register, disability_or_chronic=True)
        plain = _waiting(register, css=True)
        _waiting(register, home_visits=mt_access.HomeVisitNeed.OCCASIONAL)
    reg = ("--registre", str(path))
    code, out, err = _run("apparier", "--date", "05/03/2026", *reg)
    assert code == EXIT_OK, err
    assert "en attente de la réponse de : DAC (jusqu'au 04/04/2026)" in out
    assert "Ressources sollicitées" in out
    assert re.search(rf"{plain} +Médiateur santé +en complément", out), out
    code, out, err = _run("demande", "ressource", rid, "CMSI", "--reponse", "x", *reg)
    assert code == EXIT_REFUSED
    assert "ressource inconnue 'CMSI' ; ressources de la politique : Médiateur santé, DAC" in err
    code, out, err = _run(
        "demande", "ressource", rid, "DAC", "--reponse", "évaluation faite",
        "--date", "10/03/2026", *reg,
    )  # fmt: skip
    assert code == EXIT_OK, err
    assert "Réponse de la ressource « DAC » enregistrée" in out
    assert "au prochain appariement" in out
    code, out, _ = _run("demande", "historique", rid, *reg)
    assert re.search(r"05/03/2026 +ressource sollicitée : DAC", out), out
    assert re.search(
        r"10/03/2026 +réponse de la ressource enregistrée : DAC .*évaluation faite", out
    ), out
    code, out, err = _run("apparier", "--date", "11/03/2026", *reg)
    assert code == EXIT_OK, err
    with SQLiteStore(path, readonly=True) as store:
        file = store.get_files([rid])[rid]
        assert file.state is RequestState.PROPOSED
        assert [t.resource for t in file.history if t.resource] == ["DAC", "DAC"]
    code, out, err = _run("demande", "courrier", plain, "ressources", *reg)
    assert code == EXIT_OK, err
    assert "Médiateur santé" in out


# ------------------------------------------------------------------------------------------
# The simulation: nobody answers, a before resource releases its requests after wait_days


def test_simulation_releases_before_requests_after_wait_days(tmp_path: Path) -> None:
    from mt_access.calendar import Month
    from mt_access.simulation import GPRates, PatientRates, Scenario, simulate

    everyone = DAC.replace(
        "    - kind: disability_or_chronic\n      label: situation complexe\n",
        "    - kind: age_at_least\n      years: 0\n",
    )
    policy = load(tmp_path, everyone)
    scenario = Scenario.for_policy(
        policy,
        start=Month(2026, 1),
        months=3,
        seed=11,
        patients=PatientRates(monthly_requests=20),
        gps=GPRates(count=8),
    )
    results = simulate(scenario, policy, replication=0).results
    # the first run holds every request: none is placed
    assert results[0].placements == ()
    assert {w.reason for w in results[0].waiting} == {ReasonCode.AWAITING_RESOURCE}
    # a month later (30 days or more), the requests of the first run are released
    first = {w.request_id for w in results[0].waiting}
    released = {a.request_id for a in results[1].attached_resources if a.status == "expired"}
    assert released
    assert released <= first
    assert any(p.request_id in first for r in results[1:] for p in r.placements)
