"""The matching engine on small, hand-checked scenarios of both seed policies."""

from __future__ import annotations

import datetime as dt
import random

import attrs
import pytest

import mt_access
from factories import COUBLEVIE, MOIRANS, ON, RIVES, TULLINS, VOIRON, VOREPPE, doc, req
from mt_access import (
    CapacityLedger,
    Consent,
    HomeVisitNeed,
    Modality,
    Month,
    PhysicianStatus,
    Point,
    ReasonCode,
    SearchReason,
    StatusChange,
    match,
)
from mt_access.geo import geodesic_km

MARCQ = "59378"
MARQUETTE = "59386"
WAMBRECHIES = "59636"
BONDUES = "59090"


def test_priority_requests_are_placed_first(voironnais: mt_access.Policy) -> None:
    requests = [
        req("A-old", received=dt.date(2025, 12, 1)),  # non-priority, oldest
        req("B-ald", received=dt.date(2026, 3, 1), ald=True),
        req("C-child", age=8, received=dt.date(2026, 2, 1)),
    ]
    result = match(requests, [doc("G1", capacity=2)], voironnais, CapacityLedger(), ON)
    assert {p.request_id for p in result.placements} == {"B-ald", "C-child"}
    (waiting,) = result.waiting
    assert waiting.request_id == "A-old"
    assert waiting.reason is ReasonCode.CAPACITY_EXHAUSTED
    assert waiting.level == "non prioritaire"


def test_older_requests_first_inside_a_level(voironnais: mt_access.Policy) -> None:
    requests = [
        req("new", received=dt.date(2026, 3, 1)),
        req("old", received=dt.date(2026, 1, 1)),
        req("mid", received=dt.date(2026, 2, 1)),
    ]
    result = match(requests, [doc("G1", capacity=2)], voironnais, None, ON)
    assert [p.request_id for p in result.placements] == ["mid", "old"]


def test_flow_does_not_strand_a_patient_with_a_single_possible_gp(
    voironnais: mt_access.Policy,
) -> None:
    """Greedy by seniority would give the Voiron patient the nearest GP (in Voiron, who also
    accepts Voreppe) and strand the Voreppe patient; the engine places both."""
    requests = [
        req("voiron", VOIRON, received=dt.date(2026, 1, 1)),
        req("voreppe", VOREPPE, received=dt.date(2026, 2, 1)),
    ]
    physicians = [
        doc("near", VOIRON, accepted=frozenset({VOIRON, VOREPPE})),
        doc("far", TULLINS, accepted=frozenset({VOIRON})),
    ]
    result = match(requests, physicians, voironnais, None, ON)
    assert {(p.request_id, p.physician_id) for p in result.placements} == {
        ("voiron", "far"),
        ("voreppe", "near"),
    }
    assert not result.waiting


def test_physicians_receive_only_accepted_communes_and_served_needs(
    voironnais: mt_access.Policy,
) -> None:
    requests = [
        req("home", VOIRON, home_visits=HomeVisitNeed.EXCLUSIVE),
        req("rives", RIVES),
    ]
    physicians = [doc("G1", VOIRON, capacity=5, accepted=frozenset({VOIRON}))]
    result = match(requests, physicians, voironnais, None, ON)
    assert not result.placements
    assert {w.request_id: w.reason for w in result.waiting} == {
        "home": ReasonCode.NO_ELIGIBLE_GP,
        "rives": ReasonCode.NO_ELIGIBLE_GP,
    }
    home_doc = doc("G2", VOIRON, capacity=5, modalities=frozenset(Modality))
    result = match(requests, [*physicians, home_doc], voironnais, None, ON)
    assert {(p.request_id, p.physician_id) for p in result.placements} == {
        ("home", "G2"),
        ("rives", "G2"),
    }


def test_unavailable_physicians_receive_nothing(voironnais: mt_access.Policy) -> None:
    suspended = doc(
        "S",
        capacity=3,
        status_history=(
            StatusChange(dt.date(2026, 3, 1), PhysicianStatus.SUSPENDED, dt.date(2026, 3, 31)),
        ),
    )
    withdrawn = doc(
        "W",
        capacity=3,
        status_history=(StatusChange(dt.date(2026, 1, 1), PhysicianStatus.WITHDRAWN),),
    )
    closed = doc("N", capacity=3, accepting_new_patients=False)
    requests = [req(f"R{i}") for i in range(3)]
    result = match(requests, [suspended, withdrawn, closed], voironnais, None, ON)
    assert not result.placements
    # the suspension ends on 31 March: in April the physician takes patients again
    result = match(requests, [suspended], voironnais, None, dt.date(2026, 4, 2))
    assert len(result.placements) == 3


def test_scope_rejections(voironnais: mt_access.Policy) -> None:
    requests = [
        req("no-consent", consent=Consent(False)),
        req("outside", "59378"),
        req("convenience", reason=SearchReason.CONVENIENCE),
        req("ok"),
    ]
    result = match(requests, [doc("G1", capacity=5)], voironnais, None, ON)
    assert {r.request_id: r.reason for r in result.rejected} == {
        "no-consent": ReasonCode.NO_CONSENT,
        "outside": ReasonCode.OUT_OF_TERRITORY,
        "convenience": ReasonCode.EXCLUDED_REASON,
    }
    assert [p.request_id for p in result.placements] == ["ok"]
    assert result.rejected[0].label  # French label


def test_explanation_says_why(voironnais: mt_access.Policy) -> None:
    requests = [req("R1", MOIRANS, ald=True, age=75)]
    result = match(requests, [doc("G1", VOIRON, capacity=1)], voironnais, None, ON)
    (p,) = result.placements
    assert p.level == "prioritaire"
    assert p.rank == 1
    assert p.criteria == ("affection de longue durée (ALD)", "âge ≥ 70 ans")
    ref = voironnais.reference
    assert ref is not None
    expected = geodesic_km(ref.point(MOIRANS), ref.point(VOIRON))
    assert p.distance_km == pytest.approx(expected, abs=1e-3)
    assert "Dr G1" in p.explanation
    assert "ALD" in p.explanation
    assert "km" in p.explanation


def test_nearer_full_physicians_are_named(voironnais: mt_access.Policy) -> None:
    requests = [req("R1", VOIRON, received=dt.date(2026, 1, 1)), req("R2", VOIRON)]
    physicians = [doc("near", VOIRON), doc("far", TULLINS)]
    result = match(requests, physicians, voironnais, None, ON)
    by_id = {p.request_id: p for p in result.placements}
    assert by_id["R1"].physician_id == "near" or by_id["R2"].physician_id == "near"
    far = next(p for p in result.placements if p.physician_id == "far")
    assert far.nearer_full == ("near",)
    assert "Dr near" in far.explanation


def test_ledger_is_read_not_changed(voironnais: mt_access.Policy) -> None:
    month = Month.of(ON)
    ledger = CapacityLedger()
    ledger.declare_capacity("G1", month, 3, dt.date(2026, 3, 1))
    ledger.place("G1", month, "earlier", 2, dt.date(2026, 3, 2), default=3)
    before = ledger.entries
    requests = [req(f"R{i}") for i in range(3)]
    result = match(requests, [doc("G1", capacity=1)], voironnais, ledger, ON)
    assert ledger.entries == before
    assert len(result.placements) == 1  # 3 declared - 2 used
    ledger.extend(result.ledger_entries, default_capacity={"G1": 1})
    assert ledger.remaining("G1", month, default=1) == 0


def test_same_inputs_in_any_order_same_result(voironnais: mt_access.Policy) -> None:
    requests = [req(f"R{i:02d}", [VOIRON, VOREPPE, MOIRANS, RIVES][i % 4], ald=i % 3 == 0,
                    received=dt.date(2026, 1, 1 + i)) for i in range(20)]  # fmt: skip
    physicians = [doc(f"G{i}", [VOIRON, MOIRANS, COUBLEVIE][i % 3], capacity=1 + i % 2)
                  for i in range(6)]  # fmt: skip
    expected = match(requests, physicians, voironnais, None, ON)
    rng = random.Random(1)
    for _ in range(3):
        rng.shuffle(requests)
        rng.shuffle(physicians)
        assert match(requests, physicians, voironnais, None, ON) == expected


def test_duplicate_ids_are_an_error(voironnais: mt_access.Policy) -> None:
    with pytest.raises(mt_access.MatchInputError, match="R1"):
        match([req("R1"), req("R1")], [], voironnais, None, ON)


# --------------------------------------------------------------------------------------------
# Deûle Marque: nearest for priority, orientation for the others


def test_deule_marque_priority_goes_to_the_single_nearest_gp(
    deule_marque: mt_access.Policy,
) -> None:
    physicians = [
        doc("marcq", MARCQ, capacity=2),
        doc("wambrechies", WAMBRECHIES, capacity=2),
        doc("bondues", BONDUES, capacity=2),
    ]
    result = match([req("R1", MARQUETTE, age=80)], physicians, deule_marque, None, ON)
    (p,) = result.placements
    ref = deule_marque.reference
    assert ref is not None
    nearest = min(physicians, key=lambda d: geodesic_km(ref.point(MARQUETTE), ref.point(d.commune)))
    assert p.physician_id == nearest.id
    assert p.router == "nearest"


def test_deule_marque_non_priority_gets_orientation(deule_marque: mt_access.Policy) -> None:
    physicians = [
        doc("marcq1", MARCQ, capacity=0),
        doc("marcq2", MARCQ, capacity=2, accepting_new_patients=False),
        doc("bondues", BONDUES, capacity=2),
    ]
    result = match([req("R1", MARCQ, age=30)], physicians, deule_marque, None, ON)
    assert not result.placements
    (o,) = result.orientations
    assert [d.physician_id for d in o.physicians] == ["marcq1"]  # only accepting ones
    assert len(o.resources) == 3
    assert any("CMSI" in r for r in o.resources)
    assert any("téléconsultation" in r for r in o.resources)
    # a commune without GP: the 3 nearest are listed
    result = match([req("R2", "59356", age=30)], physicians, deule_marque, None, ON)
    (o,) = result.orientations
    assert {d.physician_id for d in o.physicians} == {"marcq1", "bondues"}


def test_nearest_skips_full_gps_and_names_them(deule_marque: mt_access.Policy) -> None:
    physicians = [doc("marcq", MARCQ, capacity=1), doc("bondues", BONDUES, capacity=1)]
    requests = [
        req("R1", MARCQ, age=80, received=dt.date(2026, 1, 1)),
        req("R2", MARCQ, age=80, received=dt.date(2026, 2, 1)),
        req("R3", MARCQ, age=80, received=dt.date(2026, 3, 1)),
    ]
    result = match(requests, physicians, deule_marque, None, ON)
    by_id = {p.request_id: p for p in result.placements}
    assert by_id["R1"].physician_id == "marcq"
    assert by_id["R2"].physician_id == "bondues"
    assert by_id["R2"].nearer_full == ("marcq",)
    assert [w.request_id for w in result.waiting] == ["R3"]


def test_max_distance(tmp_path: object, deule_marque: mt_access.Policy) -> None:
    rule = attrs.evolve(deule_marque.routing_priority, max_distance_km=1.0)
    policy = attrs.evolve(deule_marque, routing_priority=rule)
    result = match([req("R1", WAMBRECHIES, age=80)], [doc("m", MARCQ)], policy, None, ON)
    (w,) = result.waiting
    assert w.reason is ReasonCode.BEYOND_MAX_DISTANCE


def test_patient_coordinates_are_used(deule_marque: mt_access.Policy) -> None:
    """A patient in Marcq living right next to the Bondues practice goes to Bondues."""
    bondues_point = deule_marque.reference.point(BONDUES)  # type: ignore[union-attr]
    near_bondues = Point(bondues_point.lat + 0.001, bondues_point.lon)
    request = req("R1", MARCQ, age=80)
    request = attrs.evolve(request, patient=attrs.evolve(request.patient, location=near_bondues))
    physicians = [doc("marcq", MARCQ), doc("bondues", BONDUES)]
    (p,) = match([request], physicians, deule_marque, None, ON).placements
    assert p.physician_id == "bondues"
    assert p.distance_km < 0.5


# --------------------------------------------------------------------------------------------
# Households


def test_household_kept_together_is_never_split(voironnais: mt_access.Policy) -> None:
    policy = attrs.evolve(voironnais, keep_households_together=True)
    physicians = [doc("G1", capacity=2), doc("G2", capacity=2)]
    result = match([req("H", persons=3, ald=True)], physicians, policy, None, ON)
    assert not result.placements
    assert result.waiting[0].reason is ReasonCode.HOUSEHOLD_TOO_LARGE
    physicians = [doc("G1", capacity=2), doc("G2", capacity=3)]
    result = match([req("H", persons=3, ald=True)], physicians, policy, None, ON)
    (p,) = result.placements
    assert (p.physician_id, p.persons) == ("G2", 3)


def test_household_not_kept_together_may_be_split(voironnais: mt_access.Policy) -> None:
    physicians = [doc("G1", capacity=2), doc("G2", capacity=2)]
    result = match([req("H", persons=3, ald=True)], physicians, voironnais, None, ON)
    assert sum(p.persons for p in result.placements) == 3
    assert len(result.placements) == 2


def test_household_does_not_take_a_place_a_higher_level_single_needs(
    voironnais: mt_access.Policy,
) -> None:
    policy = attrs.evolve(voironnais, keep_households_together=True)
    requests = [req("H", persons=2, received=dt.date(2025, 1, 1)), req("S", ald=True)]
    result = match(requests, [doc("G1", capacity=2)], policy, None, ON)
    assert [p.request_id for p in result.placements] == ["S"]
    assert result.outcome_of("H") == "waiting"


# --------------------------------------------------------------------------------------------
# k_nearest and pull


def _with_router(policy: mt_access.Policy, name: str, **params: object) -> mt_access.Policy:
    pm = policy.plugin_manager
    assert pm is not None
    from mt_access.plugins import collect_routers

    kind = collect_routers(pm)[name]
    defaults = {p.name: p.default for p in kind.params}
    defaults.update(params)
    rule = mt_access.RoutingRule(kind, tuple(sorted(defaults.items())))
    return attrs.evolve(policy, routing_priority=rule, routing_non_priority=rule)


def test_k_nearest_lists_k_gps_without_using_capacity(voironnais: mt_access.Policy) -> None:
    policy = _with_router(voironnais, "k_nearest", k=2)
    physicians = [
        doc("V", VOIRON),
        doc("C", COUBLEVIE),
        doc("T", TULLINS),
        doc("Z", VOIRON, capacity=0),
    ]
    result = match([req("R1", VOIRON), req("R2", VOIRON)], physicians, policy, None, ON)
    assert not result.placements
    assert not result.ledger_entries
    for o in result.orientations:
        assert [d.physician_id for d in o.physicians] == ["V", "C"]


def test_pull_lists_are_pseudonymised_and_ordered(voironnais: mt_access.Policy) -> None:
    policy = _with_router(voironnais, "pull", list_size=10)
    requests = [
        req("R-young", received=dt.date(2026, 1, 1)),
        req("R-ald", ald=True, received=dt.date(2026, 3, 1)),
    ]
    result = match(requests, [doc("G1")], policy, None, ON)
    assert not result.placements
    (lst,) = result.pull_lists
    assert [e.level for e in lst.entries] == ["prioritaire", "non prioritaire"]
    text = repr(lst)
    for rid in ("R-young", "R-ald"):
        assert rid not in text
    assert "1986" not in text  # no birth date
    assert all(w.reason is ReasonCode.AWAITING_GP_CHOICE for w in result.waiting)
    again = match(requests, [doc("G1")], policy, None, ON)
    assert again.pull_lists == result.pull_lists  # stable pseudonyms


# --------------------------------------------------------------------------------------------
# Review fixes: level runs, seniority of households, recording, defaults


def test_a_level_with_its_own_rule_still_goes_before_lower_levels(tmp_path: object) -> None:
    """Levels urgent > prioritaire > non prioritaire; only prioritaire has its own rule. The
    non-priority requests share urgent's rule but must not run before prioritaire."""
    from pathlib import Path

    text = """\
version: 1
identity: {name: T, code: t, department: "38"}
territory: {communes: ["38563"]}
priority:
  levels:
    - {name: urgent, criteria: [{kind: urgent}]}
    - {name: prioritaire, criteria: [{kind: ald}]}
routing:
  priority: {router: monthly_quota}
  non_priority: {router: monthly_quota}
  levels:
    prioritaire: {router: nearest}
"""
    path = Path(str(tmp_path)) / "p.yaml"
    path.write_text(text, encoding="utf-8")
    policy = mt_access.load_policy(path)
    requests = [
        req("np", received=dt.date(2025, 1, 1)),
        req("ald", ald=True, received=dt.date(2026, 3, 1)),
    ]
    result = match(requests, [doc("G", capacity=1)], policy, None, ON)
    assert [p.request_id for p in result.placements] == ["ald"]


def test_household_kept_together_competes_by_seniority(voironnais: mt_access.Policy) -> None:
    """An older household of the same level is served before a newer single request."""
    policy = attrs.evolve(voironnais, keep_households_together=True)
    requests = [
        req("H", persons=3, ald=True, received=dt.date(2026, 1, 1)),
        req("S", ald=True, received=dt.date(2026, 3, 1)),
    ]
    result = match(requests, [doc("G", capacity=3)], policy, None, ON)
    assert [(p.request_id, p.persons) for p in result.placements] == [("H", 3)]
    assert [w.request_id for w in result.waiting] == ["S"]


def test_result_record_uses_the_run_capacities(voironnais: mt_access.Policy) -> None:
    ledger = CapacityLedger()
    result = match([req("R1"), req("R2")], [doc("G", capacity=2)], voironnais, ledger, ON)
    result.record(ledger)
    assert ledger.used("G", Month.of(ON)) == 2
    again = match([req("R3")], [doc("G", capacity=2)], voironnais, ledger, ON)
    assert not again.placements
    with pytest.raises(mt_access.LedgerError):
        result.record(ledger)  # recording twice is refused: nothing is recorded
    assert ledger.used("G", Month.of(ON)) == 2


def test_undeclared_capacity_takes_the_policy_default(voironnais: mt_access.Policy) -> None:
    undeclared = doc("G", capacity=None)  # type: ignore[arg-type]
    assert not match([req("R1")], [undeclared], voironnais, None, ON).placements
    policy = attrs.evolve(voironnais, default_monthly_capacity=2)
    result = match([req("R1"), req("R2"), req("R3")], [undeclared], policy, None, ON)
    assert len(result.placements) == 2


def test_orientation_fallback_respects_the_maximum_distance(
    deule_marque: mt_access.Policy,
) -> None:
    rule = attrs.evolve(deule_marque.routing_non_priority, max_distance_km=0.5)
    policy = attrs.evolve(deule_marque, routing_non_priority=rule)
    result = match([req("R1", "59356", age=30)], [doc("m", MARCQ)], policy, None, ON)
    assert result.orientations[0].physicians == ()


def test_pull_uses_the_run_plugin_manager(voironnais: mt_access.Policy) -> None:
    class Fixed:
        @mt_access.hookimpl
        def mt_access_pseudonym(self, request_id: str, policy: mt_access.Policy) -> str:
            return "FIXE"

    policy = attrs.evolve(_with_router(voironnais, "pull"), plugin_manager=None)
    pm = mt_access.get_plugin_manager(plugins=[Fixed()])
    result = match([req("R1")], [doc("G")], policy, None, ON, plugin_manager=pm)
    assert result.pull_lists[0].entries[0].pseudonym == "FIXE"
    default = match([req("R1")], [doc("G")], policy, None, ON)
    assert default.pull_lists[0].entries[0].pseudonym.startswith("P-")
