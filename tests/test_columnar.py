"""The columnar path (``mt_access.columnar.match_columns``) against ``match``.

Same requests, GPs, policy, ledger and date: the same placements (request, GP, persons,
distance, level), the same waiting requests with the same reasons and details, the same
ledger entries and places at the start, on Hypothesis instances; and the policies it does not
cover are refused in French.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import mt_access
from factories import COUBLEVIE, MOIRANS, ON, TULLINS, VOIRON, VOREPPE, doc, req
from mt_access import MatchInputError, Policy, match
from mt_access.columnar import REASONS, MatchInput, match_columns
from mt_access.policy import policy_from_mapping
from strategies import Instance, Variant, apply_variant, instances, variants

VOIRONNAIS = mt_access.load_policy("voironnais")
COMMUNES = (VOIRON, VOREPPE, MOIRANS, TULLINS, COUBLEVIE)


def _three_levels(caps: tuple[float | None, ...]) -> Policy:
    def rule(cap: float | None) -> dict[str, Any]:
        return {"router": "monthly_quota"} | ({"max_distance_km": cap} if cap else {})

    return policy_from_mapping(
        {
            "version": 1,
            "identity": {"name": "T", "code": "t", "department": "38"},
            "territory": {"communes": list(COMMUNES)},
            "priority": {
                "levels": [
                    {"name": "N1", "criteria": [{"kind": "ald"}]},
                    {"name": "N2", "criteria": [{"kind": "urgent"}]},
                ],
                "non_priority_name": "non prioritaire",
            },
            "routing": {
                "priority": rule(caps[0]),
                "non_priority": rule(caps[2]),
                "levels": {"N2": rule(caps[1])},
            },
        }
    )


def _same(instance: Instance, policy: Policy) -> None:
    result = match(instance.requests, instance.physicians, policy, instance.ledger, instance.on)
    columns, rejected = MatchInput.from_requests(instance.requests, policy, instance.on)
    got = match_columns(columns, instance.physicians, policy, instance.ledger, instance.on)

    def placed(placements: Any) -> list[tuple[Any, ...]]:
        return [
            (p.request_id, p.physician_id, p.persons, p.distance_km, p.level, p.rank)
            for p in placements
        ]

    assert placed(got.placements()) == placed(result.placements)
    assert list(got.waiting()) == list(result.waiting)
    assert rejected == sorted(result.rejected, key=lambda r: r.request_id)
    assert got.ledger_entries() == result.ledger_entries
    assert got.places_at_start == result.places_at_start
    # the columns agree with the objects built from them
    assert [REASONS[k] for k in got.waiting_reason.tolist()] == [w.reason for w in result.waiting]
    assert int(got.placed_persons.sum()) == sum(p.persons for p in result.placements)


@given(instance=instances(), variant=variants(keep_together=False))
def test_match_columns_places_as_match_does(instance: Instance, variant: Variant) -> None:
    """The Voironnais policy (monthly_quota), households split, with its variants (maximum
    distance, default accepted communes, carry-over, default capacity) and ledgers."""
    _same(instance, apply_variant(VOIRONNAIS, variant))


@st.composite
def _leveled(draw: st.DrawFn) -> Instance:
    n = draw(st.integers(1, 12))
    requests = [
        req(
            f"R{i:02d}",
            draw(st.sampled_from(COMMUNES)),
            received=dt.date(2026, 1, 1) + dt.timedelta(days=draw(st.integers(0, 40))),
            ald=draw(st.booleans()),
            urgent=draw(st.booleans()),
            persons=draw(st.integers(1, 3)),
        )
        for i in range(n)
    ]
    physicians = [
        doc(
            f"G{j}",
            draw(st.sampled_from(COMMUNES)),
            capacity=draw(st.integers(0, 3)),
            accepted=frozenset(draw(st.sets(st.sampled_from(COMMUNES), min_size=1, max_size=4))),
        )
        for j in range(draw(st.integers(1, 5)))
    ]
    return Instance(requests, physicians, None)


@given(
    instance=_leveled(),
    caps=st.tuples(*(st.sampled_from((None, 2.5, 4.5, 7.5, 12.5)) for _ in range(3))),
)
def test_match_columns_with_levels_and_caps(
    instance: Instance, caps: tuple[float | None, ...]
) -> None:
    """Three levels, each with its own maximum distance (one run), GPs of one commune in
    ties: the same outcome as ``match``."""
    _same(instance, _three_levels(caps))


def test_policies_it_does_not_cover_are_refused() -> None:
    deule = mt_access.load_policy("deule_marque")  # nearest / orientation
    requests = [req("R1"), req("R2")]
    columns, _ = MatchInput.from_requests(requests, deule, ON)
    with pytest.raises(MatchInputError, match="seul monthly_quota"):
        match_columns(columns, [doc("G1")], deule, None, ON)


def test_inconsistent_columns_are_refused() -> None:
    columns, _ = MatchInput.from_requests([req("R1"), req("R2")], VOIRONNAIS, ON)
    twice = MatchInput(
        request_ids=np.array(["R1", "R1"]),
        rank=columns.rank,
        order=columns.order,
        commune=columns.commune,
        communes=columns.communes,
        need=columns.need,
        persons=columns.persons,
    )
    with pytest.raises(MatchInputError, match="en double : R1"):
        match_columns(twice, [doc("G1")], VOIRONNAIS, None, ON)
    short = MatchInput(
        request_ids=columns.request_ids,
        rank=columns.rank,
        order=columns.order,
        commune=columns.commune[:1],
        communes=columns.communes,
        need=columns.need,
        persons=columns.persons,
    )
    with pytest.raises(MatchInputError, match="commune n'a pas 2 lignes"):
        match_columns(short, [doc("G1")], VOIRONNAIS, None, ON)
