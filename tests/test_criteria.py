"""Built-in criteria: French labels, and the vectorised path agrees with the scalar one."""

from __future__ import annotations

import datetime as dt

import attrs
from hypothesis import given, settings
from hypothesis import strategies as st

import mt_access
from mt_access import HomeVisitNeed, Household, Patient, Request, SearchReason
from mt_access.columns import RequestTable
from mt_access.plugins import collect_criterion_kinds, get_plugin_manager
from mt_access.policies import decisions
from mt_access.questions import Question

ISOLE = Question("isole", "Personne isolée", "oui_non")
COUNT = Question("traitements", "Traitements", "nombre", minimum=0, maximum=20)

COMMUNES = ["38563", "38565", "38239", "38337"]


@st.composite
def requests(draw: st.DrawFn) -> Request:
    birth = draw(st.dates(dt.date(1920, 1, 1), dt.date(2026, 3, 1)))
    return Request(
        id=f"R{draw(st.integers(0, 10**9))}",
        received=draw(st.dates(dt.date(2025, 1, 1), dt.date(2026, 3, 15))),
        patient=Patient(birth_date=birth, commune=draw(st.sampled_from(COMMUNES))),
        ald=draw(st.booleans()),
        css=draw(st.booleans()),
        ame=draw(st.booleans()),
        disability_or_chronic=draw(st.booleans()),
        urgent=draw(st.booleans()),
        home_visits=draw(st.sampled_from(list(HomeVisitNeed))),
        reason=draw(st.sampled_from(list(SearchReason))),
        household=Household(draw(st.integers(1, 2)), draw(st.integers(0, 2)))
        if draw(st.booleans())
        else Household(),
        answers=draw(
            st.fixed_dictionaries(
                {}, optional={"isole": st.booleans(), "traitements": st.integers(0, 20)}
            )
        ),
    )


PARAMS = {
    "age_at_least": [{"years": 70}, {"years": 0}],
    "age_under": [{"years": 16}, {"years": 6}],
    "home_visits_needed": [{"exclusive_only": False}, {"exclusive_only": True}],
    "reason_in": [{"reasons": ("convenience", "moved")}],
    "commune_in": [{"communes": ("38563",)}],
    "waiting_at_least": [{"days": 30}],
    "answer": [
        {"question": "isole", "operator": "equals", "value": True, "of": ISOLE},
        {"question": "isole", "operator": "is_set", "value": False, "of": ISOLE},
        {"question": "traitements", "operator": "at_least", "value": 5, "of": COUNT},
        {"question": "traitements", "operator": "in", "value": frozenset({1, 2}), "of": COUNT},
    ],
}


@given(
    st.lists(requests(), min_size=1, max_size=40),
    st.dates(dt.date(2026, 1, 1), dt.date(2027, 12, 31)),
)
def test_vectorised_criteria_agree_with_scalar_ones(batch: list[Request], on: dt.date) -> None:
    """For every built-in kind and parameters, the vectorised test gives, for each request,
    exactly the scalar test's answer (birthdays, 29 February and leap years included)."""
    table = RequestTable(batch)
    for name, kind in collect_criterion_kinds(get_plugin_manager()).items():
        assert kind.build_vectorized is not None, name
        for params in PARAMS.get(name, [{}]):
            scalar = kind.build(params)
            vector = kind.build_vectorized(params)
            assert list(vector(table, on)) == [scalar(r, on) for r in batch], (name, params)


@settings(max_examples=15)
@given(st.lists(requests(), min_size=decisions.VECTOR_MIN, max_size=120, unique_by=lambda r: r.id))
def test_vectorised_classification_equals_per_request(
    voironnais: mt_access.Policy, batch: list[Request]
) -> None:
    """Large batches are classified by the vectorised path with the same levels and the same
    matched criteria as one request at a time."""
    policy = voironnais
    on = dt.date(2026, 3, 15)
    fast = decisions.mt_access_classify(batch, policy, on)
    slow = [decisions.mt_access_classify([r], policy, on)[0] for r in batch]
    assert fast == slow
    fast_scope = decisions.mt_access_check_scope(batch, policy, on)
    slow_scope = [decisions.mt_access_check_scope([r], policy, on)[0] for r in batch]
    assert fast_scope == slow_scope


def test_criterion_without_vector_falls_back(voironnais: mt_access.Policy) -> None:
    level = voironnais.levels[0]
    plain = attrs.evolve(
        level, criteria=tuple(attrs.evolve(c, vector=None) for c in level.criteria)
    )
    policy = attrs.evolve(voironnais, levels=(plain,))
    batch = [
        Request(
            id=f"R{i}",
            received=dt.date(2026, 1, 1),
            patient=Patient(dt.date(1950 + i, 1, 1), "38563"),
        )
        for i in range(70)
    ]
    on = dt.date(2026, 3, 15)
    assert decisions.mt_access_classify(batch, policy, on) == decisions.mt_access_classify(
        batch, voironnais, on
    )
