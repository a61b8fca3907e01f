"""What :func:`mt_access.match` does differently for large batches (issue 13, point 3): the
cyclic garbage collector paused while it runs, hook answers checked once per distinct
object, nearer GPs put in candidate order without a dict over every candidate. None of it
may change a result."""

from __future__ import annotations

import datetime as dt
import gc
import random
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mt_access
from factories import MOIRANS, ON, VOIRON, VOREPPE, doc, req
from mt_access import (
    Classification,
    Physician,
    PluginError,
    Request,
    engine,
    get_plugin_manager,
    match,
)
from mt_access.plugins import hookimpl
from mt_access.policy import policy_from_mapping
from mt_access.routing import _in_candidate_order


@pytest.fixture
def gc_on() -> Iterator[None]:
    was = gc.isenabled()
    gc.enable()
    yield
    if was:
        gc.enable()
    else:
        gc.disable()


def _spy(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Record whether the collector is on while the engine works."""
    seen: list[bool] = []
    inner = engine._match

    def spy(*args: Any, **kwargs: Any) -> Any:
        seen.append(gc.isenabled())
        return inner(*args, **kwargs)

    monkeypatch.setattr(engine, "_match", spy)
    return seen


def test_the_collector_is_paused_for_a_large_batch_and_restored(
    voironnais: mt_access.Policy, monkeypatch: pytest.MonkeyPatch, gc_on: None
) -> None:
    requests = [req(f"R{k}") for k in range(5)]
    doctors = [doc("G1", capacity=2), doc("G2", capacity=1)]
    seen = _spy(monkeypatch)
    monkeypatch.setattr(engine, "GC_PAUSE_MIN_REQUESTS", 10**9)
    small = match(requests, doctors, voironnais, None, ON)
    monkeypatch.setattr(engine, "GC_PAUSE_MIN_REQUESTS", 1)
    large = match(requests, doctors, voironnais, None, ON)
    assert seen == [True, False]
    assert gc.isenabled()
    assert large == small


def test_a_collector_the_caller_disabled_stays_disabled(
    voironnais: mt_access.Policy, monkeypatch: pytest.MonkeyPatch, gc_on: None
) -> None:
    monkeypatch.setattr(engine, "GC_PAUSE_MIN_REQUESTS", 1)
    gc.disable()
    match([req("R1")], [doc("G1")], voironnais, None, ON)
    assert not gc.isenabled()


def test_the_collector_is_restored_when_match_fails(
    voironnais: mt_access.Policy, monkeypatch: pytest.MonkeyPatch, gc_on: None
) -> None:
    monkeypatch.setattr(engine, "GC_PAUSE_MIN_REQUESTS", 1)
    with pytest.raises(mt_access.MatchInputError):
        match([req("R1"), req("R1")], [doc("G1")], voironnais, None, ON)
    assert gc.isenabled()


def _classifier(answer: list[Classification]) -> object:
    class SharedAnswers:
        @hookimpl
        def mt_access_classify(self, requests: Any, policy: Any, on: Any) -> object:
            return answer[: len(requests)]

    return SharedAnswers()


def test_a_bad_answer_after_shared_good_ones_is_named_at_its_position(
    voironnais: mt_access.Policy,
) -> None:
    """Distinct answers are checked once each; a bad one still names its first position."""
    good = Classification("non prioritaire", 9, False)
    bad = Classification("x", 0, True)
    pm = get_plugin_manager(plugins=[_classifier([good, good, bad, good, bad])])
    requests = [req(f"R{k}") for k in range(5)]
    with pytest.raises(PluginError, match="en position 2"):
        match(requests, [doc("G1")], voironnais, None, ON, plugin_manager=pm)


@given(
    candidates=st.lists(st.integers(0, 40), unique=True, max_size=30),
    extra=st.sets(st.integers(0, 60), max_size=10),
    data=st.data(),
)
def test_nearer_gps_come_in_candidate_order(
    candidates: list[int], extra: set[int], data: st.DataObject
) -> None:
    """The same order as sorting by rank among the candidates, others last (the former
    rule, a dict over every candidate)."""
    chosen = data.draw(st.sets(st.sampled_from(candidates))) if candidates else set()
    wanted = chosen | extra
    rank = {j: k for k, j in enumerate(candidates)}
    expected = sorted(wanted, key=lambda j: rank.get(j, len(rank)))
    got = _in_candidate_order(np.array(candidates, dtype=np.int64), wanted)
    assert got == expected


def test_a_large_batch_gives_the_same_result_paused_or_not(
    voironnais: mt_access.Policy, monkeypatch: pytest.MonkeyPatch, gc_on: None
) -> None:
    """Households, several GPs, more requests than places: identical results."""
    communes = (VOIRON, VOREPPE, MOIRANS)
    requests = [
        req(f"R{k:03d}", communes[k % 3], persons=1 + k % 3, age=5 + k % 80) for k in range(120)
    ]
    doctors = [doc(f"G{k}", communes[k % 3], capacity=3 + k) for k in range(6)]
    monkeypatch.setattr(engine, "GC_PAUSE_MIN_REQUESTS", 10**9)
    plain = match(requests, doctors, voironnais, None, ON)
    monkeypatch.setattr(engine, "GC_PAUSE_MIN_REQUESTS", 1)
    assert match(requests, doctors, voironnais, None, ON) == plain


COMMUNES = (VOIRON, VOREPPE, MOIRANS)


def _levels_policy(keep_together: bool) -> mt_access.Policy:
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
                "priority": {"router": "monthly_quota"},
                "non_priority": {"router": "monthly_quota"},
            },
            "households": {"keep_together": keep_together},
        }
    )


@st.composite
def months(draw: st.DrawFn) -> tuple[list[Request], list[Physician]]:
    """Households of 1 to 4 persons on three levels (sometimes enough requests for the
    vectorised criteria), GPs with 0 to 4 places accepting some of the communes."""
    n_req = draw(st.integers(1, 80))
    requests = [
        req(
            f"R{i:02d}",
            draw(st.sampled_from(COMMUNES)),
            persons=draw(st.integers(1, 4)),
            received=dt.date(2026, 1, 1) + dt.timedelta(days=draw(st.integers(0, 60))),
            ald=draw(st.booleans()),
            urgent=draw(st.booleans()),
        )
        for i in range(n_req)
    ]
    physicians = [
        doc(
            f"G{j}",
            draw(st.sampled_from(COMMUNES)),
            capacity=draw(st.integers(0, 4)),
            accepted=frozenset(draw(st.sets(st.sampled_from(COMMUNES), min_size=1))),
        )
        for j in range(draw(st.integers(1, 6)))
    ]
    return requests, physicians


@settings(deadline=None)
@given(month=months(), keep_together=st.booleans(), seed=st.integers(0, 2**16))
def test_the_large_batch_path_gives_the_same_result_whatever_the_input_order(
    month: tuple[list[Request], list[Physician]], keep_together: bool, seed: int
) -> None:
    """Paused collector or not, requests and GPs shuffled or not: one result."""
    requests, physicians = month
    policy = _levels_policy(keep_together)
    collecting = gc.isenabled()
    was = engine.GC_PAUSE_MIN_REQUESTS
    try:
        engine.GC_PAUSE_MIN_REQUESTS = 10**9
        plain = match(requests, physicians, policy, None, ON)
        engine.GC_PAUSE_MIN_REQUESTS = 1
        rng = random.Random(seed)
        shuffled = match(
            rng.sample(requests, len(requests)),
            rng.sample(physicians, len(physicians)),
            policy,
            None,
            ON,
        )
    finally:
        engine.GC_PAUSE_MIN_REQUESTS = was
    assert shuffled == plain
    assert gc.isenabled() == collecting
