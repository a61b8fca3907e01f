"""``match`` on the columnar path (issue 13, point 3): a run of the built-in
``monthly_quota`` router goes through :mod:`mt_access.columnar` (requests as columns, cells
with whole-array steps, objects only for the result), the other runs through the routers.

The columnar path must change no result: the whole :class:`~mt_access.MatchResult`
(placements with their explanations, waiting requests, eligible sets, ledger entries) is the
one the objects' path gives, on Hypothesis instances with households (split, or kept
together: those take the objects' path), per-level maximum distances, refusals, homes with
coordinates and ledgers; ``match_columns`` agrees with ``match``; neither depends on the
order of its inputs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

import attrs
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import mt_access
from columnar_support import CAPS, VOIRONNAIS, leveled, levels_policy, placed
from factories import ON, VOIRON, VOREPPE, doc, req
from mt_access import (
    Classification,
    MatchResult,
    Policy,
    columnar_routing,
    engine_rows,
    flow,
    match,
)
from mt_access.columnar import MatchInput, match_columns
from mt_access.columnar_routing import places_left
from mt_access.geo import Point
from mt_access.ledger import CapacityLedger
from mt_access.plugins import hookimpl
from strategies import Instance, Variant, apply_variant, instances, variants


@contextmanager
def _objects_path() -> Iterator[None]:
    """Every run of ``match`` through the routers, as before the columnar path."""
    with mock.patch.object(engine_rows.ColumnarPath, "of", return_value=None):
        yield


@contextmanager
def _columnar_calls() -> Iterator[list[int]]:
    """The number of requests of each run routed on the columnar path."""
    calls: list[int] = []
    inner = columnar_routing.route_requests

    def spy(*args: Any, **kwargs: Any) -> Any:
        calls.append(len(args[2]))
        return inner(*args, **kwargs)

    with mock.patch.object(columnar_routing, "route_requests", spy):
        yield calls


def _both(instance: Instance, policy: Policy, **kw: Any) -> tuple[MatchResult, MatchResult]:
    got = match(instance.requests, instance.physicians, policy, instance.ledger, ON, **kw)
    with _objects_path():
        expected = match(instance.requests, instance.physicians, policy, instance.ledger, ON, **kw)
    return got, expected


# --------------------------------------------------------------------------------------------
# which runs take the columnar path


def test_a_monthly_quota_run_takes_the_columnar_path() -> None:
    requests = [req("R1"), req("R2", VOREPPE, persons=3), req("R3", ald=True)]
    doctors = [doc("G1", capacity=2), doc("G2", VOREPPE, capacity=2)]
    with _columnar_calls() as calls:
        result = match(requests, doctors, VOIRONNAIS, None, ON)
    assert calls == [3]  # one run, every request in scope
    with _objects_path():
        assert match(requests, doctors, VOIRONNAIS, None, ON) == result


def test_other_routers_and_kept_households_take_the_objects_path() -> None:
    deule = mt_access.load_policy("deule_marque")  # nearest / orientation
    with _columnar_calls() as calls:
        match([req("R1", "59378"), req("R2", "59378")], [doc("G1", "59378")], deule, None, ON)
    assert calls == []
    kept = levels_policy((None, None, None), keep_together=True)
    requests = [req("R1", persons=2), req("R2")]
    with _columnar_calls() as calls:
        match(requests, [doc("G1", capacity=3)], kept, None, ON)
    assert calls == []  # a household kept together: the households' planner
    with _columnar_calls() as calls:
        match([req("R1"), req("R2")], [doc("G1", capacity=3)], kept, None, ON)
    assert calls == [2]  # one-person requests only: nothing to keep together
    home = req("R2")
    home = attrs.evolve(home, patient=attrs.evolve(home.patient, location=Point(45.36, 5.59)))
    located = [req("R1"), home]
    with _columnar_calls() as calls:
        match(located, [doc("G1")], VOIRONNAIS, None, ON)
    assert calls == []  # a home with coordinates: cells are not communes


class _OtherLevel:
    """A plugin that classifies every request in a level the policy does not have."""

    @hookimpl(tryfirst=True)
    def mt_access_classify(
        self, requests: list[Any], policy: Policy, on: dt.date
    ) -> list[Classification]:
        return [Classification("autre", 9, False)] * len(requests)


def test_a_level_the_policy_does_not_have_takes_the_objects_path() -> None:
    pm = mt_access.get_plugin_manager()
    pm.register(_OtherLevel())
    requests = [req("R1"), req("R2")]
    with _columnar_calls() as calls:
        got = match(requests, [doc("G1")], VOIRONNAIS, None, ON, plugin_manager=pm)
    assert calls == []
    assert {w.level for w in got.waiting} | {p.level for p in got.placements} == {"autre"}


# --------------------------------------------------------------------------------------------
# the same results


@given(instance=instances(locations=True, max_requests=14), variant=variants())
def test_match_is_the_same_on_both_paths(instance: Instance, variant: Variant) -> None:
    """The Voironnais policy and its variants (households kept together or split, maximum
    distance, default accepted communes, carry-over, default capacity), homes with
    coordinates, refusals, ledgers: the whole result, explanations included."""
    got, expected = _both(instance, apply_variant(VOIRONNAIS, variant), explain="full")
    assert got == expected


_LEVELED = leveled(max_requests=14, max_physicians=6, needs=True)


@given(instance=_LEVELED, caps=CAPS)
def test_levels_with_their_own_caps_are_the_same_on_both_paths(
    instance: Instance, caps: tuple[float | None, ...]
) -> None:
    """Three levels with a maximum distance each (one run), needs for home visits,
    refusals, households split: the whole result, and ``match_columns`` agrees."""
    policy = levels_policy(caps)
    got, expected = _both(instance, policy, explain="full")
    assert got == expected
    columns, _ = MatchInput.from_requests(instance.requests, policy, ON)
    mine = match_columns(columns, instance.physicians, policy, None, ON)
    assert mine.ledger_entries() == got.ledger_entries
    assert list(mine.waiting()) == list(got.waiting)
    assert placed(mine.placements(), full=False) == placed(got.placements, full=False)


@given(instance=_LEVELED, caps=CAPS, data=st.data())
def test_match_columns_does_not_depend_on_the_order_of_its_rows(
    instance: Instance, caps: tuple[float | None, ...], data: st.DataObject
) -> None:
    """Rows of the input and physicians in any order: the same placements (request, GP,
    persons, distance) and waiting rows (request, reason, persons, detail)."""
    policy = levels_policy(caps)
    columns, _ = MatchInput.from_requests(instance.requests, policy, ON)
    n = len(columns)
    perm = np.array(data.draw(st.permutations(range(n)), label="rows"), dtype=np.int64)
    shuffled = MatchInput(
        request_ids=columns.request_ids[perm],
        rank=columns.rank[perm],
        order=columns.order[perm],
        commune=columns.commune[perm],
        communes=columns.communes,
        need=columns.need[perm],
        persons=columns.persons[perm],
        declined=None if columns.declined is None else columns.declined[perm],
        declined_sets=columns.declined_sets,
    )
    physicians = data.draw(st.permutations(instance.physicians), label="physicians")
    a = match_columns(columns, instance.physicians, policy, None, ON)
    b = match_columns(shuffled, physicians, policy, None, ON)
    assert a.placements() == b.placements()
    assert a.waiting() == b.waiting()
    assert a.ledger_entries() == b.ledger_entries()


@given(instance=instances(max_requests=14), variant=variants(keep_together=False), data=st.data())
def test_match_on_the_columnar_path_does_not_depend_on_the_order_of_its_inputs(
    instance: Instance, variant: Variant, data: st.DataObject
) -> None:
    policy = apply_variant(VOIRONNAIS, variant)
    expected = match(instance.requests, instance.physicians, policy, instance.ledger, ON)
    requests = data.draw(st.permutations(instance.requests), label="requests")
    physicians = data.draw(st.permutations(instance.physicians), label="physicians")
    assert match(requests, physicians, policy, instance.ledger, ON) == expected


# --------------------------------------------------------------------------------------------
# the pieces


@given(
    sizes=st.lists(st.integers(0, 4), min_size=1, max_size=6),
    data=st.data(),
)
def test_assign_nearest_is_the_same_on_ragged_arrays(sizes: list[int], data: st.DataObject) -> None:
    n_gp = 5
    capacity = np.array(data.draw(st.lists(st.integers(0, 3), min_size=n_gp, max_size=n_gp)))
    candidates = [
        np.array(data.draw(st.permutations(range(n_gp)))[:k], dtype=np.int64) for k in sizes
    ]
    km = [
        np.sort(
            np.array(data.draw(st.lists(st.sampled_from((0.0, 1.0, 2.5)), min_size=k, max_size=k)))
        )
        for k in sizes
    ]
    unit_cell = np.arange(len(sizes), dtype=np.int64)
    chosen = flow.select_by_priority(capacity, candidates, unit_cell, np.full(len(sizes), 2))
    bounds = np.concatenate(([0], np.cumsum(sizes))).astype(np.int64)
    ragged = flow.Ragged(np.concatenate([*candidates, np.empty(0, np.int64)]), bounds)
    ragged_km = flow.Ragged(np.concatenate([*km, np.empty(0)]), bounds)
    assert [list(c) for c in ragged] == [list(c) for c in candidates]
    chosen_r = flow.select_by_priority(capacity, ragged, unit_cell, np.full(len(sizes), 2))
    assert chosen.tolist() == chosen_r.tolist()
    expected = flow.assign_nearest(capacity, candidates, km, chosen)
    assert flow.assign_nearest(capacity, ragged, ragged_km, chosen) == expected


@pytest.mark.parametrize("carry_over", [False, True])
def test_places_left_on_an_empty_ledger_are_asked_once_per_default(carry_over: bool) -> None:
    doctors = [doc(f"G{j}", capacity=j % 3) for j in range(7)]
    defaults = {p.id: j % 3 for j, p in enumerate(doctors)}
    ledger = CapacityLedger()
    month = mt_access.Month.of(ON)
    expected = [
        ledger.remaining(p.id, month, default=defaults[p.id], carry_over=carry_over)
        for p in doctors
    ]
    asked: list[str] = []
    inner = CapacityLedger.remaining

    def spy(self: CapacityLedger, pid: str, *args: Any, **kwargs: Any) -> int:
        asked.append(pid)
        return inner(self, pid, *args, **kwargs)

    with mock.patch.object(CapacityLedger, "remaining", spy):
        got = places_left(ledger, doctors, defaults, month, carry_over)
    assert got.tolist() == expected
    assert len(asked) == 3  # the defaults 0, 1 and 2


def test_a_commune_without_a_point_is_named_as_on_the_objects_path() -> None:
    from mt_access.geo import CommuneReference, DistanceCache, bundled_reference

    full = bundled_reference()
    reference = CommuneReference(
        [attrs.evolve(c, point=None) if c.insee == VOIRON else c for c in full],
        vintage=full.vintage,
        source=full.source,
    )
    requests = [req("R1"), req("R2", VOREPPE)]
    doctors = [doc("G1", VOREPPE, accepted=frozenset({VOIRON, VOREPPE}))]
    with pytest.raises(mt_access.MatchInputError) as got:
        match(requests, doctors, VOIRONNAIS, None, ON, distances=DistanceCache(reference))
    with _objects_path(), pytest.raises(mt_access.MatchInputError) as expected:
        match(requests, doctors, VOIRONNAIS, None, ON, distances=DistanceCache(reference))
    assert str(got.value) == str(expected.value)
    assert "R1" in str(got.value)
