"""How the engine cuts a month into runs (issue 13, point 1).

The rule (docs/concepts.md, "The matching engine"): runs are cut along the policy's levels,
empty or not. Consecutive levels routed by the same capacity router with the same parameters
form one run, whatever their maximum distances (a cap is part of each request's
eligibility); inside a run, as many persons as possible are placed level by level (a
higher-level request may go to a farther eligible GP so that a lower-level one is placed too,
never at the cost of a higher-level placement). A later run sees the places the earlier runs
left and never moves their placements.

The judge of the lexicographic maximum is restated here with networkx, from the policy's
eligibility (accepted communes, the level's maximum distance), independently of the engine.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from typing import Any

import networkx as nx  # type: ignore[import-untyped]
from hypothesis import example, given
from hypothesis import strategies as st

from factories import COUBLEVIE, MOIRANS, ON, RIVES, TULLINS, VOIRON, VOREPPE, doc, req
from mt_access import Physician, Policy, ReasonCode, Request, match
from mt_access.geo import DistanceCache
from mt_access.geo.communes import bundled_reference
from mt_access.policy import policy_from_mapping

COMMUNES = (VOIRON, VOREPPE, MOIRANS, TULLINS, COUBLEVIE)
OUTSIDE = RIVES  # accepted only by a GP of its own: requests there compete with no one
CAPS = (None, 2.5, 4.5, 7.5, 12.5)  # km, away from the distances between these communes
LEVELS = ("N1", "N2", "non prioritaire")
DISTANCES = DistanceCache(bundled_reference())


def _policy(routers: tuple[str, str, str], caps: tuple[float | None, ...] = (None,) * 3) -> Policy:
    """Levels N1 (ALD), N2 (urgent) and « non prioritaire », with their routers and caps."""

    def rule(router: str, cap: float | None) -> dict[str, Any]:
        return {"router": router} | ({"max_distance_km": cap} if cap is not None else {})

    return policy_from_mapping(
        {
            "version": 1,
            "identity": {"name": "T", "code": "t", "department": "38"},
            "territory": {"communes": [*COMMUNES, OUTSIDE]},
            "priority": {
                "levels": [
                    {"name": "N1", "criteria": [{"kind": "ald"}]},
                    {"name": "N2", "criteria": [{"kind": "urgent"}]},
                ],
                "non_priority_name": "non prioritaire",
            },
            "routing": {
                "priority": rule(routers[0], caps[0]),
                "non_priority": rule(routers[2], caps[2]),
                "levels": {"N2": rule(routers[1], caps[1])},
            },
        }
    )


def _request(rid: str, commune: str, level: int, received: dt.date) -> Request:
    return req(rid, commune, received=received, ald=level == 0, urgent=level == 1)


# --------------------------------------------------------------------------------------------
# The example: G1 (Voiron, 1 place, accepts Voiron and Coublevie), G2 (Tullins,
# 1 place, accepts Voiron); a: N1 in Voiron, c: non-priority in Coublevie, b: N2.

G1_G2 = [
    doc("G1", VOIRON, accepted=frozenset({VOIRON, COUBLEVIE})),
    doc("G2", TULLINS, accepted=frozenset({VOIRON})),
]
A = _request("a", VOIRON, 0, dt.date(2026, 2, 1))
C = _request("c", COUBLEVIE, 2, dt.date(2026, 1, 1))


def _outcome(requests: list[Request], physicians: list[Physician], policy: Policy) -> set[Any]:
    result = match(requests, physicians, policy, None, ON)
    return {(p.request_id, p.physician_id) for p in result.placements} | {
        (w.request_id, w.reason) for w in result.waiting
    }


def test_an_empty_level_in_between_does_not_change_the_outcome() -> None:
    """N1 monthly_quota, N2 nearest, non-priority monthly_quota: N1 and the non-priority
    level are two runs, so a keeps G1 at 0 km and c waits, with or without an N2 request
    (before: with N2 empty they were one run and a was sent 10.7 km to G2)."""
    policy = _policy(("monthly_quota", "nearest", "monthly_quota"))
    alone = _outcome([A, C], G1_G2, policy)
    assert alone == {("a", "G1"), ("c", ReasonCode.CAPACITY_EXHAUSTED)}
    b_unrelated = _request("b", OUTSIDE, 1, dt.date(2026, 1, 5))
    g3 = doc("G3", OUTSIDE, accepted=frozenset({OUTSIDE}))
    assert _outcome([A, b_unrelated, C], [*G1_G2, g3], policy) == alone | {("b", "G3")}
    b_voiron = _request("b", VOIRON, 1, dt.date(2026, 1, 5))  # the b: takes G2
    assert _outcome([A, b_voiron, C], G1_G2, policy) == alone | {("b", "G2")}


def test_inside_one_run_the_count_comes_first_and_the_explanation_says_so() -> None:
    """N1 and the non-priority level share a run: a goes to G2 so that c has G1, and a's
    explanation says G1's place was given to another request, not that it had none."""
    policy = _policy(("monthly_quota", "monthly_quota", "monthly_quota"))
    result = match([A, C], G1_G2, policy, None, ON)
    placed = {p.request_id: p for p in result.placements}
    assert {r: p.physician_id for r, p in placed.items()} == {"a": "G2", "c": "G1"}
    assert placed["a"].nearer_full == ("G1",)
    assert "sans place disponible" not in placed["a"].explanation
    assert "venant après celle-ci dans l'ordre de priorité" in placed["a"].explanation
    assert "Dr G1" in placed["a"].explanation


def test_a_gp_full_before_the_run_is_said_to_have_no_place() -> None:
    """A nearer GP with no place left at the start of the run is said so."""
    policy = _policy(("monthly_quota", "monthly_quota", "monthly_quota"))
    physicians = [doc("G1", VOIRON, capacity=0), doc("G2", TULLINS)]
    (placed,) = match([A], physicians, policy, None, ON).placements
    assert placed.physician_id == "G2"
    assert placed.nearer_full == ("G1",)
    assert "sans place disponible : Dr G1" in placed.explanation
    assert "venant après celle-ci" not in placed.explanation


def test_a_level_cap_does_not_cost_a_placement() -> None:
    """N1 capped at 12.5 km, the others not: one run, so a goes to G2 (10.7 km, within its
    cap) and c has G1; two runs (before) placed a at G1 and left c waiting."""
    policy = _policy(("monthly_quota",) * 3, (12.5, None, None))
    assert _outcome([A, C], G1_G2, policy) == {("a", "G2"), ("c", "G1")}


def test_a_level_cap_still_applies_in_a_shared_run() -> None:
    """N1 capped at 4.5 km: G2 is beyond it for a, who keeps G1; c waits; a request of N1
    with only G2 waits beyond the maximum distance of its own level."""
    policy = _policy(("monthly_quota",) * 3, (4.5, None, None))
    far = _request("far", VOIRON, 0, dt.date(2026, 3, 1))
    result = match([A, C, far], G1_G2, policy, None, ON)
    assert {(p.request_id, p.physician_id) for p in result.placements} == {("a", "G1")}
    waits = {w.request_id: w for w in result.waiting}
    assert waits["c"].reason is ReasonCode.CAPACITY_EXHAUSTED
    assert waits["far"].reason is ReasonCode.CAPACITY_EXHAUSTED
    lonely = _request("lonely", VOIRON, 0, dt.date(2026, 3, 1))
    only_g2 = [doc("G2", TULLINS, accepted=frozenset({VOIRON}))]
    (wait,) = match([lonely], only_g2, policy, None, ON).waiting
    assert wait.reason is ReasonCode.BEYOND_MAX_DISTANCE
    assert wait.detail == "distance maximale 4,5 km"


# --------------------------------------------------------------------------------------------
# Properties


@st.composite
def instances(draw: st.DrawFn, levels: tuple[int, ...] = (0, 1, 2)) -> tuple[Any, ...]:
    """Single-person requests of the given levels over a few communes, and GPs with at most
    two places, each accepting some of these communes (never ``OUTSIDE``)."""
    n_req = draw(st.integers(1, 9))
    requests = [
        _request(
            f"R{i}",
            draw(st.sampled_from(COMMUNES)),
            draw(st.sampled_from(levels)),
            dt.date(2026, 1, 1) + dt.timedelta(days=draw(st.integers(0, 60))),
        )
        for i in range(n_req)
    ]
    n_phys = draw(st.integers(1, 4))
    physicians = [
        doc(
            f"G{j}",
            draw(st.sampled_from(COMMUNES)),
            capacity=draw(st.integers(0, 2)),
            accepted=frozenset(draw(st.sets(st.sampled_from(COMMUNES), min_size=1, max_size=3))),
        )
        for j in range(n_phys)
    ]
    return requests, physicians


def _eligible(r: Request, p: Physician, cap: float | None) -> bool:
    accepted = p.accepted_communes or frozenset(COMMUNES) | {OUTSIDE}
    if r.commune not in accepted:
        return False
    return cap is None or DISTANCES.between_communes(r.commune, p.commune) <= cap


def _level(r: Request) -> int:
    return 0 if r.ald else 1 if r.urgent else 2


def _judge(requests: list[Request], physicians: list[Physician], caps: Any) -> list[int]:
    """Persons placed per level in the lexicographic maximum: for a matroid, level k gets
    max flow(levels ≤ k) - max flow(levels < k)."""

    def max_flow(upto: int) -> int:
        g = nx.DiGraph()
        g.add_nodes_from(("s", "t"))
        for r in requests:
            if _level(r) <= upto:
                g.add_edge("s", r.id, capacity=1)
                for p in physicians:
                    if _eligible(r, p, caps[_level(r)]):
                        g.add_edge(r.id, p.id)
        for p in physicians:
            g.add_edge(p.id, "t", capacity=p.monthly_capacity)
        return int(nx.maximum_flow_value(g, "s", "t"))

    flows = [0, *(max_flow(k) for k in range(3))]
    return [flows[k + 1] - flows[k] for k in range(3)]


@given(
    instance=instances(),
    caps=st.tuples(*(st.sampled_from(CAPS) for _ in range(3))),
    seed=st.integers(0, 2**16),
)
def test_per_level_caps_keep_the_lexicographic_maximum(
    instance: tuple[Any, ...], caps: tuple[float | None, ...], seed: int
) -> None:
    """With a maximum distance per monthly_quota level, persons placed per level are the
    judge's lexicographic maximum, every placement is eligible under its level's cap, and
    shuffled inputs give the same result."""
    requests, physicians = instance
    policy = _policy(("monthly_quota",) * 3, caps)
    result = match(requests, physicians, policy, None, ON)
    by_id = {r.id: r for r in requests}
    gps = {p.id: p for p in physicians}
    per_level = [0, 0, 0]
    for p in result.placements:
        r = by_id[p.request_id]
        assert _eligible(r, gps[p.physician_id], caps[_level(r)])
        per_level[_level(r)] += p.persons
    assert per_level == _judge(requests, physicians, caps)
    load = Counter(p.physician_id for p in result.placements)
    assert all(n <= gps[pid].monthly_capacity for pid, n in load.items())  # type: ignore[operator]
    rng = random.Random(seed)
    shuffled = match(
        rng.sample(requests, len(requests)),
        rng.sample(physicians, len(physicians)),
        policy,
        None,
        ON,
    )
    assert shuffled == result


# Found by Hypothesis against the engine before canonical ties (20,000 examples): G1 and G2
# are at the same distance from R0 and R4 (Moirans); the solver gave the tie one way
# without B's node and the other way with it.
TIE_EXAMPLE = (
    [
        _request(rid, commune, 0, dt.date(2026, 1, 1))
        for rid, commune in (
            ("R0", MOIRANS),
            ("R1", VOIRON),
            ("R2", VOREPPE),
            ("R3", VOREPPE),
            ("R4", MOIRANS),
            ("R5", TULLINS),
            ("R6", COUBLEVIE),
        )
    ],
    [
        doc("G0", VOIRON, capacity=0, accepted=frozenset({VOIRON})),
        doc("G1", VOIRON, capacity=1, accepted=frozenset({MOIRANS})),
        doc("G2", VOREPPE, capacity=1, accepted=frozenset({MOIRANS})),
        doc("G3", VOREPPE, capacity=2, accepted=frozenset({MOIRANS, VOIRON})),
    ],
)


@given(
    instance=instances(levels=(0, 2)),
    routers=st.sampled_from(("nearest", "monthly_quota")),
    own_gp=st.booleans(),
)
@example(instance=TIE_EXAMPLE, routers="monthly_quota", own_gp=False)
def test_a_request_of_another_level_never_changes_the_others(
    instance: tuple[Any, ...], routers: str, own_gp: bool
) -> None:
    """N1 and the non-priority level monthly_quota, N2 ``routers``: adding an N2 request that
    no other request's GPs accept (with a GP of its own or none) changes nothing for the
    other requests: the same GP for each, the same explanation, the same waiting requests
    and reasons. Ties between GPs at the same distance are broken canonically (by GP id,
    docs/concepts.md « Ties »), so neither the first run's choice nor the places it leaves
    to a later run depend on an unrelated node of the graph."""
    requests, physicians = instance
    policy = _policy(("monthly_quota", routers, "monthly_quota"))
    before = match(requests, physicians, policy, None, ON)
    extra = _request("B", OUTSIDE, 1, dt.date(2026, 1, 1))
    own = [doc("GB", OUTSIDE, accepted=frozenset({OUTSIDE}))] if own_gp else []
    after = match([*requests, extra], [*physicians, *own], policy, None, ON)
    assert [p for p in after.placements if p.request_id != "B"] == list(before.placements)
    assert [w for w in after.waiting if w.request_id != "B"] == list(before.waiting)


def _named(explanation: str, opening: str) -> set[str]:
    """The GP names an explanation lists after ``opening`` (up to the sentence's end)."""
    start = explanation.find(opening)
    if start < 0:
        return set()
    listed = explanation[start:].split(" : ", 1)[1].split(".", 1)[0]
    return set(listed.split(", "))


@given(instance=instances(), caps=st.tuples(*(st.sampled_from(CAPS) for _ in range(3))))
def test_explanations_say_why_a_nearer_gp_was_not_given(
    instance: tuple[Any, ...], caps: tuple[float | None, ...]
) -> None:
    """For each placement, the eligible GPs nearer than the chosen one with no place left
    after the run are exactly ``nearer_full``; the explanation says "sans place disponible"
    for those whose places all went to requests before it in the order (or who had none),
    and names apart those who gave a place to a request after it."""
    requests, physicians = instance
    policy = _policy(("monthly_quota",) * 3, caps)
    result = match(requests, physicians, policy, None, ON)
    by_id = {r.id: r for r in requests}
    gps = {p.id: p for p in physicians}

    def key(rid: str) -> tuple[int, dt.date, str]:
        return (_level(by_id[rid]), by_id[rid].received, rid)

    at: dict[str, list[str]] = {}
    for p in result.placements:
        at.setdefault(p.physician_id, []).append(p.request_id)
    for p in result.placements:
        r = by_id[p.request_id]
        cap = caps[_level(r)]
        nearer = {
            g.id
            for g in physicians
            if _eligible(r, g, cap)
            and DISTANCES.between_communes(r.commune, g.commune) < p.distance_km - 0.001
            and len(at.get(g.id, ())) == g.monthly_capacity
        }
        assert set(p.nearer_full) == nearer
        later = {g for g in nearer if any(key(o) > key(r.id) for o in at.get(g, ()))}
        full = _named(p.explanation, "sans place disponible")
        taken = _named(p.explanation, "venant après celle-ci")
        assert full == {gps[g].name for g in nearer - later}
        assert taken == {gps[g].name for g in later}
