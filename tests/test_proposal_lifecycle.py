"""Issue 12, point 6: a proposal cancelled without blocking its GP, and a hand proposal to a
GP with no place left refused before anything is recorded (API and command line)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mt_access
from cli_support import run as _run
from factories import COUBLEVIE, MOIRANS, ON, RIVES, TULLINS, VOIRON, VOREPPE, doc, req
from mt_access import PatientIdentity
from mt_access.calendar import Month
from mt_access.cli import EXIT_OK, EXIT_REFUSED, EXIT_USAGE
from mt_access.engine import match
from mt_access.lifecycle import Event, LifecycleError, RequestFile, RequestState
from mt_access.register import Register, RegisterOperationError
from mt_access.store.memory import MemoryStore
from register_support import register_state

DAY = dt.date(2026, 3, 2)
POLICY = mt_access.load_policy("voironnais")


def _register(capacities: dict[str, int]) -> Register:
    register = Register(MemoryStore(), POLICY)
    for pid, commune in zip(capacities, [VOIRON, VOREPPE, MOIRANS], strict=False):
        register.add_physician(doc(pid, commune, capacity=None))
        register.join(pid, DAY, monthly_capacity=capacities[pid], modalities=["office"])
    return register


def _waiting(register: Register, persons: int) -> str:
    rid = register.next_request_id()
    register.add_request(
        req(rid, VOIRON, persons=persons, received=DAY), PatientIdentity(last_name="Fictif")
    )
    register.acknowledge(rid, DAY)
    register.confirm(rid, DAY)
    register.to_waiting(rid, DAY)
    return rid


# ------------------------------------------------------------------------------------------
# The lifecycle


def test_a_cancelled_proposal_does_not_decline_the_gp() -> None:
    file = RequestFile.receive("D-1", DAY, persons=2).acknowledge(DAY).confirm(DAY)
    file = file.to_waiting(DAY).propose("MG1", DAY, persons=[1]).propose("MG2", DAY, persons=[2])
    with pytest.raises(LifecycleError, match="motivée"):
        file.cancel_proposal("MG1", DAY, " ")
    with pytest.raises(LifecycleError, match="n'est pas proposée au médecin MG3"):
        file.cancel_proposal("MG3", DAY, "erreur")
    file = file.cancel_proposal("MG1", DAY, "proposition faite par erreur")
    assert file.state is RequestState.PROPOSED
    assert file.proposals == {"MG2": (2,)}
    assert file.waiting_persons == (1,)
    assert file.declined_by == frozenset()
    last = file.history[-1]
    assert last.event is Event.CANCEL_PROPOSAL
    assert last.comment == "proposition faite par erreur"
    assert "proposition annulée" in last.describe()
    file = file.cancel_proposal("MG2", DAY, "plus de place")
    assert file.state is RequestState.WAITING
    assert file.waiting_persons == (1, 2)
    file = file.propose("MG1", DAY)  # proposed again to the same GP
    assert file.proposals == {"MG1": (1, 2)}


# ------------------------------------------------------------------------------------------
# The register


@settings(deadline=None, max_examples=40)
@given(
    capacities=st.lists(st.integers(0, 4), min_size=1, max_size=3),
    households=st.lists(st.integers(1, 3), min_size=1, max_size=6),
    data=st.data(),
)
def test_a_cancelled_proposal_frees_exactly_its_placement(
    capacities: list[int], households: list[int], data: st.DataObject
) -> None:
    register = _register({f"MG{i + 1}": c for i, c in enumerate(capacities)})
    ids = [_waiting(register, n) for n in households]
    run = register.run_match(DAY)
    if not run.proposed:
        return
    rid, pid = data.draw(st.sampled_from(sorted(run.proposed)))
    month = Month.of(DAY)
    ledger = register.ledger
    (placement,) = [p for p in ledger.placement_of(rid) if p.physician_id == pid]
    used = {g: ledger.used(g, month) for g in (p.id for p in register.physicians())}
    others = {r: register.ledger.placement_of(r) for r in ids if r != rid}
    declined = register.request(rid).declined_by
    file = register.cancel_proposal(rid, pid, DAY, "plus de place ce mois-ci")
    after = register.ledger
    assert after.used(pid, month) == used[pid] - placement.persons
    for g, n in used.items():
        if g != pid:
            assert after.used(g, month) == n
    assert {r: after.placement_of(r) for r in others} == others
    assert pid not in file.declined_by
    assert file.declined_by == declined
    assert pid not in register.request(rid).declined_by
    assert pid not in file.proposed_to
    assert file.history[-1].event is Event.CANCEL_PROPOSAL
    # the GP may be proposed the request again, by hand (their place is free again)
    cancelled = file.history[-1].persons
    assert len(cancelled) == placement.persons
    assert set(cancelled) <= set(file.waiting_persons)
    again = register.propose(rid, pid, DAY, persons=cancelled)
    assert pid in again.proposed_to


@settings(deadline=None, max_examples=40)
@given(capacity=st.integers(0, 3), taken=st.integers(0, 3), persons=st.integers(1, 3))
def test_proposing_to_a_full_gp_records_nothing(capacity: int, taken: int, persons: int) -> None:
    register = _register({"MG1": capacity})
    for _ in range(min(taken, capacity)):  # places taken by accepted hand proposals
        rid = _waiting(register, 1)
        register.propose(rid, "MG1", DAY)
        register.answer(rid, "MG1", DAY, accepted=True)
    left = capacity - min(taken, capacity)
    rid = _waiting(register, persons)
    before = register_state(register)
    if left >= persons:
        register.propose(rid, "MG1", DAY)
        assert register.file(rid).proposed_to == {"MG1"}
        return
    with pytest.raises(RegisterOperationError) as raised:
        register.propose(rid, "MG1", DAY)
    assert f"n'a plus que {left} place(s) en mars 2026 pour {persons} personne(s)" in str(
        raised.value
    )
    assert "Fictif" not in str(raised.value)
    assert register_state(register) == before


def test_a_hand_proposal_holds_its_place() -> None:
    """A hand proposal holds a place at once: a second proposal beyond capacity is refused
    before anything is recorded, and cancelling the first frees its place without blocking
    the GP."""
    register = _register({"MG1": 1})
    a, b = _waiting(register, 1), _waiting(register, 1)
    register.propose(a, "MG1", DAY)
    with pytest.raises(RegisterOperationError, match="place"):
        register.propose(b, "MG1", DAY)
    file = register.cancel_proposal(a, "MG1", DAY, "plus de place ce mois-ci")
    assert file.state is RequestState.WAITING
    assert file.declined_by == frozenset()
    register.propose(b, "MG1", DAY)
    register.answer(b, "MG1", DAY, accepted=True)


# ------------------------------------------------------------------------------------------
# The command line


def test_cli_cancel_and_full_gp(tmp_path: Path) -> None:
    path = tmp_path / "registre.sqlite"
    from mt_access.store.sqlite import SQLiteStore

    assert _run("registre", "creer", str(path), "--politique", "voironnais")[0] == EXIT_OK
    with SQLiteStore(path) as store:
        register = Register(store, POLICY)
        register.add_physician(doc("MG1", VOIRON, capacity=None))
        register.join("MG1", DAY, monthly_capacity=1, modalities=["office"])
        a, b = _waiting(register, 1), _waiting(register, 2)
    reg = ("--registre", str(path))
    code, out, err = _run("demande", "proposer", b, "MG1", "--date", "03/03/2026", *reg)
    assert code == EXIT_REFUSED, (out, err)
    assert "n'a plus que 1 place(s) en mars 2026 pour 2 personne(s)" in err
    assert "rien n'a été enregistré" in err
    code, out, err = _run("demande", "proposer", a, "MG1", "--date", "03/03/2026", *reg)
    assert code == EXIT_OK, err
    # the reason is required
    code, _, err = _run("demande", "annuler-proposition", a, "MG1", *reg)
    assert code == EXIT_USAGE, err
    code, out, err = _run(
        "demande", "annuler-proposition", a, "MG1", "-c", "erreur de saisie",
        "--date", "04/03/2026", *reg,
    )  # fmt: skip
    assert code == EXIT_OK, err
    assert "en liste d'attente" in out
    code, out, err = _run("demande", "historique", a, *reg)
    assert re.search(r"04/03/2026 +proposition annulée .*erreur de saisie", out), out
    # not proposed any more: refused in French
    code, out, err = _run(
        "demande", "annuler-proposition", a, "MG1", "-c", "x", "--date", "04/03/2026", *reg
    )
    assert code == EXIT_REFUSED
    assert "annuler-proposition" not in out
    # proposed to the same GP again
    code, _, err = _run("demande", "proposer", a, "MG1", "--date", "05/03/2026", *reg)
    assert code == EXIT_OK, err
    # a proposed request: the refusal names the answer and the cancellation
    code, _, err = _run("demande", "accuser", a, "--date", "05/03/2026", *reg)
    assert code == EXIT_REFUSED
    assert f"« mt-access demande annuler-proposition {a} MEDECIN -c MOTIF »" in err, err


# ------------------------------------------------------------------------------------------
# k_nearest: places left shown, overbooking capped


def _k_nearest(k: int, overbooking: float) -> mt_access.Policy:
    from mt_access.plugins import collect_routers

    pm = POLICY.plugin_manager
    assert pm is not None
    kind = collect_routers(pm)["k_nearest"]
    params = {"k": k, "overbooking": overbooking}
    rule = mt_access.RoutingRule(kind, tuple(sorted(params.items())))
    return attrs.evolve(POLICY, routing_priority=rule, routing_non_priority=rule)


COMMUNES = [VOIRON, VOREPPE, MOIRANS, RIVES, TULLINS, COUBLEVIE]


@settings(deadline=None, max_examples=60)
@given(
    k=st.integers(1, 4),
    overbooking=st.sampled_from([0, 0.5, 1, 1.5, 2, 3]),
    gps=st.lists(st.tuples(st.sampled_from(COMMUNES), st.integers(0, 3)), min_size=1, max_size=5),
    requests=st.lists(st.sampled_from(COMMUNES), min_size=1, max_size=25),
)
def test_k_nearest_never_lists_a_gp_beyond_the_overbooking_cap(
    k: int, overbooking: float, gps: list[tuple[str, int]], requests: list[str]
) -> None:
    policy = _k_nearest(k, overbooking)
    physicians = [doc(f"G{i}", c, capacity=n) for i, (c, n) in enumerate(gps)]
    capacity = {p.id: n for p, (_, n) in zip(physicians, gps, strict=True)}
    result = match(
        [req(f"R{i:02d}", c) for i, c in enumerate(requests)], physicians, policy, None, ON
    )
    assert not result.placements
    listed: dict[str, int] = {}
    for o in result.orientations:
        assert 1 <= len(o.physicians) <= k
        for p in o.physicians:
            assert p.places_left == capacity[p.physician_id] > 0
            assert f"{p.physician_id} : {p.places_left} place(s) restante(s)" in o.explanation
            listed[p.physician_id] = listed.get(p.physician_id, 0) + 1
    for pid, n in listed.items():
        if overbooking:
            assert n <= max(capacity[pid], int(capacity[pid] * overbooking)), (pid, n)
    if overbooking == 0:  # no cap: every list names the k nearest GPs with a place left
        with_room = sum(1 for n in capacity.values() if n > 0)
        for o in result.orientations:
            assert len(o.physicians) == min(k, with_room)
            assert "surréservation" not in o.explanation
    # a list (or a wait) shortened by the cap says so
    for o in result.orientations:
        if len(o.physicians) < min(k, sum(1 for n in capacity.values() if n > 0)):
            assert "surréservation" in o.explanation
    assert len(result.orientations) + len(result.waiting) == len(requests)


def test_one_place_gp_is_not_listed_to_eleven_patients() -> None:
    policy = _k_nearest(1, 2)
    physicians = [doc("MG1", VOIRON, capacity=1), doc("MG2", VOREPPE, capacity=5)]
    result = match([req(f"R{i:02d}", VOIRON) for i in range(11)], physicians, policy, None, ON)
    firsts = [o.physicians[0].physician_id for o in result.orientations]
    assert firsts.count("MG1") == 2
    assert firsts.count("MG2") == 9
    later = [o for o in result.orientations if o.physicians[0].physician_id == "MG2"]
    assert all("MG1 (1 place(s) restante(s))" in o.explanation for o in later)
    assert "surréservation (2 patient(s) par place restante)" in later[0].explanation


_VOIRONNAIS = (Path(__file__).parents[1] / "policies" / "voironnais.yaml").read_text(
    encoding="utf-8"
)
_PRIORITY = "    router: monthly_quota\n  non_priority:"


def test_overbooking_is_read_from_yaml_and_bounded(tmp_path: Path) -> None:
    assert _VOIRONNAIS.count(_PRIORITY) == 1
    path = tmp_path / "politique.yaml"
    k_nearest = "    router: k_nearest\n    k: 3\n    overbooking: {}\n  non_priority:"
    path.write_text(_VOIRONNAIS.replace(_PRIORITY, k_nearest.format("1.5")), encoding="utf-8")
    policy = mt_access.load_policy(path)
    assert policy.routing_priority.param("overbooking") == 1.5
    for bad, message in (("101", "valeur ≤ 100 attendue"), ("-1", "≥ 0"), ("beaucoup", "")):
        path.write_text(_VOIRONNAIS.replace(_PRIORITY, k_nearest.format(bad)), encoding="utf-8")
        with pytest.raises(mt_access.PolicyError) as caught:
            mt_access.load_policy(path)
        assert caught.value.path == "$.routing.priority.overbooking"
        assert message in caught.value.message
        assert caught.value.line == _VOIRONNAIS.count("\n", 0, _VOIRONNAIS.index(_PRIORITY)) + 3


def test_the_run_summary_shows_places_left() -> None:
    from mt_access.cli.summary import render_run

    policy = _k_nearest(2, 2)
    physicians = [doc("MG1", VOIRON, capacity=1), doc("MG2", VOREPPE, capacity=3)]
    result = match([req("R1", VOIRON)], physicians, policy, None, ON)
    text = render_run(result, policy, physicians, total_requests=1, details=True)
    assert "Dr MG1 (Voiron, " in text
    assert ", 1 place(s))" in text
    assert ", 3 place(s))" in text
    assert "MG1 : 1 place(s) restante(s)" in text
