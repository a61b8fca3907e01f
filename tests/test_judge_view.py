"""The judge's view on a match result: another tool checks a month from the result alone.

:attr:`MatchResult.places_at_start` gives every GP's places before the run, and the eligible
sets (:attr:`MatchResult.eligibility`, read with :meth:`MatchResult.eligible`) the GPs each
request placed or waiting could have.
:func:`judge` below is such a tool: an independent max-flow check (networkx) that sees
nothing but those fields and the placements, never the requests, the physicians, the ledger
or the policy. That the fields state the policy's rules (places left, eligibility) is checked
against an independent restatement in ``test_engine_properties`` (property 15).
"""

from __future__ import annotations

import datetime as dt
import doctest
from collections import Counter
from typing import Any

import attrs
import networkx as nx  # type: ignore[import-untyped]
import pytest
from hypothesis import given
from hypothesis import strategies as st

import mt_access
from mt_access import (
    Eligibility,
    MatchResult,
    Physician,
    Policy,
    ReasonCode,
    Request,
    Waiting,
    match,
)
from mt_access import policy as policy_module
from mt_access.engine import EXPLAIN_FULL_MAX_REQUESTS
from mt_access.errors import MatchInputError
from strategies import (
    COUBLEVIE,
    GRENOBLE,
    ON,
    TULLINS,
    VOIRON,
    VOIRONNAIS_COMMUNES,
    Instance,
    apply_variant,
    instances,
    variants,
)

# --------------------------------------------------------------------------------------------
# The judge


def judge(result: MatchResult) -> list[str]:
    """What is wrong with ``result`` for a single-run ``monthly_quota`` policy, seen from the
    result alone (empty: nothing): a placement with a GP outside the request's eligible set,
    a GP given more persons than their places at the start, or, for some level ``k``, fewer
    persons placed at the levels ``<= k`` than the most the places allow for those levels'
    requests (a max flow): the placements must be the lexicographic optimum, level by level.

    Needs ``explain="full"`` (every request placed or waiting with its eligible set)."""
    places = dict(result.places_at_start)
    eligible: dict[str, tuple[str, ...]] = {}
    rank: dict[str, int] = {}
    demand: Counter[str] = Counter()
    load: Counter[str] = Counter()
    problems: list[str] = []
    for part in (result.placements, result.waiting):
        for x in part:
            ids = result.eligible(x.request_id)
            assert ids is not None, "the judge needs explain='full'"
            eligible[x.request_id] = ids
            rank[x.request_id] = x.rank
            demand[x.request_id] += x.persons
    for p in result.placements:
        load[p.physician_id] += p.persons
        if p.physician_id not in eligible[p.request_id]:
            problems.append(f"{p.request_id} placed with {p.physician_id}, not eligible")
    problems += [
        f"{pid}: {n} placed, {places.get(pid, 0)} places"
        for pid, n in sorted(load.items())
        if n > places.get(pid, 0)
    ]
    for k in sorted(set(rank.values())):
        wanted = {rid: n for rid, n in demand.items() if rank[rid] <= k}
        best = _max_flow(wanted, eligible, places)
        placed = sum(p.persons for p in result.placements if p.rank <= k)
        if placed != best:
            problems.append(f"levels <= {k}: {placed} persons placed, optimum {best}")
    return problems


def _max_flow(
    demand: dict[str, int], eligible: dict[str, tuple[str, ...]], places: dict[str, int]
) -> int:
    """Most persons of ``demand`` placeable with their eligible GPs within ``places``."""
    g = nx.DiGraph()
    g.add_nodes_from(("source", "sink"))
    for rid, n in demand.items():
        g.add_edge("source", ("r", rid), capacity=n)
        for pid in eligible[rid]:
            g.add_edge(("r", rid), ("g", pid))  # no capacity: unbounded
    for pid, n in places.items():
        if n > 0:
            g.add_edge(("g", pid), "sink", capacity=n)
    return int(nx.maximum_flow_value(g, "source", "sink"))


# --------------------------------------------------------------------------------------------
# Policies: Voironnais (one priority level) and three levels, built in code


@pytest.fixture(scope="module")
def policies(voironnais: Policy) -> dict[str, Policy]:
    """Single-run ``monthly_quota`` policies: the shipped Voironnais one, and the same with
    three priority levels built with :func:`mt_access.policy_from_mapping`."""
    data: dict[str, Any] = {**voironnais.raw, "identity": {**voironnais.raw["identity"]}}
    data["identity"]["code"] = "voironnais_3_niveaux"
    data["priority"] = {
        **voironnais.raw["priority"],
        "levels": [
            {"name": "ALD", "criteria": [{"kind": "ald"}]},
            {"name": "vulnérables", "criteria": [{"kind": "css"}, {"kind": "ame"}]},
            {"name": "enfants", "criteria": [{"kind": "age_under", "years": 16}]},
        ],
    }
    three = mt_access.policy_from_mapping(data)
    assert [lv.name for lv in three.levels] == ["ALD", "vulnérables", "enfants"]
    return {"voironnais": voironnais, "three": three}


@st.composite
def quota_cases(draw: st.DrawFn) -> tuple[str, Any, Instance]:
    """A policy name, a variant (households may be split; perhaps a maximum distance, other
    default communes or capacity, carry-over) and an instance, capacity scarce or not."""
    name = draw(st.sampled_from(("voironnais", "three")))
    variant = draw(variants(keep_together=False))
    scarce = draw(st.booleans())
    instance = draw(
        instances(
            VOIRONNAIS_COMMUNES,
            min_requests=5 if scarce else 2,
            max_requests=12,
            max_physicians=5,
            max_capacity=2 if scarce else 4,
            max_communes=2 if scarce else 4,
            households=8 if scarce else 4,
            out_of_scope=() if scarce else (GRENOBLE,),
            locations=True,
        )
    )
    return name, variant, instance


@given(case=quota_cases())
def test_the_judge_finds_every_level_optimal_from_the_result_alone(
    policies: dict[str, Policy], case: tuple[str, Any, Instance]
) -> None:
    """For single-run ``monthly_quota`` policies, a judge who sees only the result's places
    at the start and eligible sets finds the placements within the eligible sets and the
    places, and placed per level equal to the lexicographic optimum (max flow)."""
    name, variant, instance = case
    policy = apply_variant(policies[name], variant)
    result = match(instance.requests, instance.physicians, policy, instance.ledger, instance.on)
    assert result.explain == "full"
    assert judge(result) == []


def _gp(pid: str, commune: str, capacity: int, accepted: tuple[str, ...]) -> Physician:
    return Physician(
        id=pid,
        name=f"Dr {pid}",
        commune=commune,
        monthly_capacity=capacity,
        accepted_communes=accepted,
    )


def _request(rid: str, commune: str) -> Request:
    return Request(
        id=rid,
        received=ON,
        patient=mt_access.Patient(birth_date=dt.date(1980, 1, 1), commune=commune),
    )


def _small_month(voironnais: Policy) -> MatchResult:
    """G1 (Voiron, 1 place, accepts Voiron and Coublevie), G2 (Tullins, 1 place, accepts
    Voiron), G3 (Tullins, 2 places, not accepting new patients); non-priority requests a and
    d (Voiron) and c (Coublevie): c gets G1, a gets G2, d waits with its two GPs."""
    return match(*_small_inputs(), voironnais, None, ON)


def _small_inputs() -> tuple[list[Request], list[Physician]]:
    physicians = [
        _gp("G1", VOIRON, 1, (VOIRON, COUBLEVIE)),
        _gp("G2", TULLINS, 1, (VOIRON,)),
        attrs.evolve(_gp("G3", TULLINS, 2, (VOIRON,)), accepting_new_patients=False),
    ]
    requests = [_request("a", VOIRON), _request("c", COUBLEVIE), _request("d", VOIRON)]
    return requests, physicians


def test_the_judge_sees_a_shortfall(voironnais: Policy) -> None:
    """The judge is not blind: with a placement taken back (a shortfall), or an eligible set
    narrowed so that a placement falls outside it, it says so."""
    result = _small_month(voironnais)
    assert judge(result) == []
    assert sorted(p.request_id for p in result.placements) == ["a", "c"]
    (w,) = result.waiting
    assert w.request_id == "d"
    assert (result.eligible("d"), result.eligible_count("d")) == (("G1", "G2"), 2)
    assert result.eligibility.request_ids == ("a", "c", "d")
    assert w.reason is ReasonCode.CAPACITY_EXHAUSTED
    assert result.places_at_start == (("G1", 1), ("G2", 1), ("G3", 0))
    dropped = result.placements[0]
    shortfall = attrs.evolve(
        result,
        placements=result.placements[1:],
        waiting=(
            *result.waiting,
            Waiting(dropped.request_id, dropped.level, dropped.rank, ReasonCode.NO_ELIGIBLE_GP),
        ),
    )  # fmt: skip
    assert judge(shortfall) == [f"levels <= {dropped.rank}: 1 persons placed, optimum 2"]
    table = result.eligibility
    assert table.physician_ids is not None
    i = table.request_ids.index(dropped.request_id)
    narrowed = attrs.evolve(
        result,
        placements=(dropped,),
        eligibility=attrs.evolve(
            table, physician_ids=(*table.physician_ids[:i], (), *table.physician_ids[i + 1 :])
        ),
    )
    assert judge(narrowed)[0] == f"a placed with {dropped.physician_id}, not eligible"


def test_explain_counts_none_and_auto(voironnais: Policy, monkeypatch: pytest.MonkeyPatch) -> None:
    """``explain="counts"`` gives the number of eligible GPs of each request placed or
    waiting only, ``"none"`` nothing; ``"auto"`` is ``"full"`` up to
    :data:`~mt_access.engine.EXPLAIN_FULL_MAX_REQUESTS` requests in scope, ``"counts"`` beyond;
    the places at the start and the decisions are the same in every mode; an unknown value
    is refused."""
    full = _small_month(voironnais)
    requests, physicians = _small_inputs()

    def run(explain: Any) -> MatchResult:
        return match(requests, physicians, voironnais, None, ON, explain=explain)

    assert run("full") == full
    assert full.eligibility.counts == (2, 1, 2)  # a, c, d
    counts = run("counts")
    assert counts.explain == "counts"
    assert counts.eligibility == Eligibility(("a", "c", "d"), (2, 1, 2))
    assert [(counts.eligible(r), counts.eligible_count(r)) for r in "acd"] == [
        (None, 2),
        (None, 1),
        (None, 2),
    ]
    none = run("none")
    assert none.explain == "none"
    assert len(none.eligibility) == 0
    assert (none.eligible("d"), none.eligible_count("d")) == (None, None)
    for other in (counts, none):
        assert attrs.evolve(other, explain="full", eligibility=full.eligibility) == full
    assert (full.eligible("nobody"), full.eligible_count("nobody")) == (None, None)
    assert EXPLAIN_FULL_MAX_REQUESTS >= 1_000  # a CPTS month gets the full view
    monkeypatch.setattr(mt_access.engine, "EXPLAIN_FULL_MAX_REQUESTS", 2)
    assert run("auto").explain == "counts"
    with pytest.raises(MatchInputError, match="explain"):
        run("tout")


def test_the_judges_view_is_a_value_beside_the_decisions(voironnais: Policy) -> None:
    """The eligible sets are a table of the result, not fields written into the routers'
    frozen placements and waiting requests: those stay as the routers made them (no
    ``eligible`` attribute), equal across modes; the result and its table are values (equal
    when built alike, hashable); the requests of one cell share one tuple of ids; a table
    whose parts differ in length or whose ids are not sorted and unique is refused."""
    full = _small_month(voironnais)
    for value in (*full.placements, *full.waiting):
        assert not hasattr(value, "eligible")
        assert not hasattr(value, "eligible_count")
    again = _small_month(voironnais)
    assert again == full
    assert hash(again) == hash(full)
    assert hash(full.eligibility) == hash(again.eligibility)
    table = full.eligibility
    assert table.physician_ids is not None
    assert table.physician_ids[0] is table.physician_ids[2]  # a and d: Voiron
    assert "d" in table
    assert "b" not in table
    assert len(table) == 3
    assert repr(table) == "Eligibility(3 requests, ids and counts)"
    with pytest.raises(MatchInputError, match="éligibilité"):
        Eligibility(("a", "b"), (1,))
    with pytest.raises(MatchInputError, match="éligibilité"):
        Eligibility(("a",), (1,), ())
    for unsorted in (("b", "a"), ("a", "a")):
        with pytest.raises(MatchInputError, match="triés et uniques"):
            Eligibility(unsorted, (1, 1))


def test_policy_from_mapping_is_public_and_its_example_runs() -> None:
    """``mt_access.policy_from_mapping`` builds a policy in code; its docstring example runs
    (doctest) and gives what it shows."""
    assert mt_access.policy_from_mapping is policy_module.policy_from_mapping
    assert "policy_from_mapping" in mt_access.__all__
    finder = doctest.DocTestFinder()
    (test,) = finder.find(policy_module.policy_from_mapping, "policy_from_mapping", globs={})
    assert len(test.examples) >= 3
    outcome = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS).run(test)
    assert outcome.failed == 0
