"""The columnar path (``mt_access.columnar.match_columns``) against ``match``.

Same requests, GPs, policy, ledger and date: the same placements (request, GP, persons,
distance, level), the same waiting requests with the same reasons and details, the same
ledger entries and places at the start, on Hypothesis instances; and the policies it does not
cover are refused in French.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given

import mt_access
from columnar_support import CAPS, VOIRONNAIS, leveled, levels_policy, placed
from factories import ON, doc, req
from mt_access import MatchInputError, Policy, match
from mt_access.columnar import REASONS, MatchInput, match_columns
from strategies import Instance, Variant, apply_variant, instances, variants


def _same(instance: Instance, policy: Policy) -> None:
    result = match(instance.requests, instance.physicians, policy, instance.ledger, instance.on)
    columns, rejected = MatchInput.from_requests(instance.requests, policy, instance.on)
    got = match_columns(columns, instance.physicians, policy, instance.ledger, instance.on)

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


@given(instance=leveled(max_requests=12, max_physicians=5), caps=CAPS)
def test_match_columns_with_levels_and_caps(
    instance: Instance, caps: tuple[float | None, ...]
) -> None:
    """Three levels, each with its own maximum distance (one run), GPs of one commune in
    ties: the same outcome as ``match``."""
    _same(instance, levels_policy(caps))


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
