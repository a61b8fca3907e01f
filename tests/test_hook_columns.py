"""The column forms of the decision hooks (``mt_access_check_scope_columns``,
``mt_access_classify_columns``, ``mt_access_order_keys_columns``) and the request table they
read (:class:`mt_access.columns.RequestTable`).

``match`` asks the built-in decisions in column form; a third-party plugin that answers the
hooks one object per request (here: with the built-in per-request answers) must get the very
same result, on Hypothesis instances, large batches (vectorised criteria), every ordering of
the policy and the pseudonym tie-break. Column answers are checked like list answers, and the
plugin is named.
"""

from __future__ import annotations

import datetime as dt
import weakref
from collections.abc import Sequence
from typing import Any

import attrs
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mt_access
from factories import ON, doc, req
from mt_access import (
    Classification,
    PluginError,
    Policy,
    ReasonCode,
    Request,
    ScopeDecision,
    get_plugin_manager,
    hookimpl,
    match,
)
from mt_access.columns import Coded, RequestTable
from mt_access.engine import rank_requests
from mt_access.model import age_on
from mt_access.policies import decisions
from strategies import NORD_COMMUNES, Instance, Variant, apply_variant, instances, variants


class PerRequestBuiltins:
    """A third-party plugin answering the decision hooks one object per request (with the
    built-in per-request answers), without their column forms: it is asked first."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    @hookimpl
    def mt_access_check_scope(
        self, requests: Sequence[Request], policy: Policy, on: dt.date
    ) -> list[ScopeDecision]:
        self.calls.append("scope")
        return decisions.mt_access_check_scope(requests, policy, on)

    @hookimpl
    def mt_access_classify(
        self, requests: Sequence[Request], policy: Policy, on: dt.date
    ) -> list[Classification]:
        self.calls.append("classify")
        return decisions.mt_access_classify(requests, policy, on)

    @hookimpl
    def mt_access_order_keys(
        self,
        requests: Sequence[Request],
        classifications: Sequence[Classification],
        policy: Policy,
        on: dt.date,
    ) -> list[tuple[object, ...]]:
        self.calls.append("order")
        return decisions.mt_access_order_keys(requests, classifications, policy, on)


ORDERINGS = st.tuples(
    st.lists(st.sampled_from(("received", "urgent", "age")), unique=True, max_size=3),
    st.sampled_from(("id", "pseudonym")),
)


def _ordered(policy: Policy, ordering: tuple[list[str], str]) -> Policy:
    keys, tie_break = ordering
    return attrs.evolve(policy, ordering_keys=tuple(keys), tie_break=tie_break)


def _both_ways(
    instance: Instance, policy: Policy, data: st.DataObject | None = None
) -> mt_access.MatchResult:
    """``match`` through the column forms and through the per-request plugin: equal (and
    the ranking of the requests: decisions, levels, keys and order)."""
    plugin = PerRequestBuiltins()
    pm = get_plugin_manager(plugins=[plugin])
    ordered = sorted(instance.requests, key=lambda r: r.id)
    assert rank_requests(ordered, policy, ON, pm) == rank_requests(
        ordered, policy, ON, get_plugin_manager()
    )
    plugin.calls.clear()
    per_request = match(
        instance.requests, instance.physicians, policy, instance.ledger, ON, plugin_manager=pm
    )
    assert plugin.calls == ["scope", "classify", "order"]
    requests, physicians = instance.requests, instance.physicians
    if data is not None:  # the column forms' answers do not depend on the input's order
        requests = data.draw(st.permutations(requests), label="requests")
        physicians = data.draw(st.permutations(physicians), label="physicians")
    in_columns = match(requests, physicians, policy, instance.ledger, ON)
    assert in_columns == per_request
    assert [p.explanation for p in in_columns.placements] == [
        p.explanation for p in per_request.placements
    ]
    assert list(in_columns.waiting) == list(per_request.waiting)
    return in_columns


@given(
    instance=instances(out_of_scope=("38185",)),
    variant=variants(),
    name=st.sampled_from(("voironnais", "deule_marque")),
    ordering=ORDERINGS,
    data=st.data(),
)
def test_a_plugin_answering_per_request_gets_the_same_result(
    voironnais: Policy,
    deule_marque: Policy,
    instance: Instance,
    variant: Variant,
    name: str,
    ordering: tuple[list[str], str],
    data: st.DataObject,
) -> None:
    """Scope (consent, territory, exclusions), levels, order keys and the pseudonym
    tie-break: the same placements, explanations, waiting requests, rejections and eligible
    sets whether the decisions come per request or in columns, in any input order."""
    policy = voironnais if name == "voironnais" else deule_marque
    if name == "deule_marque":
        instance = data.draw(instances(NORD_COMMUNES, out_of_scope=("59350",)), label="nord")
    _both_ways(instance, _ordered(apply_variant(policy, variant), ordering), data)


@settings(max_examples=max(10, settings().max_examples // 5))
@given(
    instance=instances(out_of_scope=("38185",), min_requests=64, max_requests=90, max_physicians=4),
    ordering=ORDERINGS,
)
def test_large_batches_get_the_same_result(
    voironnais: Policy, instance: Instance, ordering: tuple[list[str], str]
) -> None:
    """From 64 requests the criteria are vectorised in both forms: the same result."""
    _both_ways(instance, _ordered(voironnais, ordering))


def test_rank_requests_is_the_per_request_ranking(voironnais: Policy) -> None:
    """``rank_requests`` (the waiting position's) gives what the per-request hooks give."""
    requests = [
        req("R3", received=dt.date(2026, 1, 3), ald=True),
        req("R1", received=dt.date(2026, 1, 3)),
        req("R2", "38185"),
        req("R4", consent=mt_access.Consent(False)),
        req("R5", received=dt.date(2026, 1, 1)),
    ]
    pm = get_plugin_manager()
    got = rank_requests(requests, voironnais, ON, pm)
    hooks = mt_access.hooks.Hooks(pm)
    assert got.decisions == hooks.check_scope(requests, voironnais, ON)
    in_scope = [r for r, d in zip(requests, got.decisions, strict=True) if d.in_scope]
    assert got.in_scope == in_scope
    assert got.classes == hooks.classify(in_scope, voironnais, ON)
    keys, order = hooks.order(in_scope, got.classes, voironnais, ON)
    assert (got.keys, got.order) == (keys, order)
    assert [in_scope[i].id for i in got.order] == ["R3", "R5", "R1"]


# --------------------------------------------------------------------------------------------
# Column answers checked, the plugin named


def _columns_plugin(hook: str, answer: Any) -> object:
    """A plugin whose column form of ``hook`` answers ``answer(table)`` (and whose
    per-request form would fail)."""
    asked = "the column form is asked"
    if hook == "mt_access_check_scope":

        class ColumnPlugin:
            @hookimpl
            def mt_access_check_scope(self, requests: Any, policy: Any, on: Any) -> Any:
                raise AssertionError(asked)

            @hookimpl
            def mt_access_check_scope_columns(self, table: Any, policy: Any, on: Any) -> Any:
                return answer(table)

    elif hook == "mt_access_classify":

        class ColumnPlugin:  # type: ignore[no-redef]
            @hookimpl
            def mt_access_classify(self, requests: Any, policy: Any, on: Any) -> Any:
                raise AssertionError(asked)

            @hookimpl
            def mt_access_classify_columns(self, table: Any, policy: Any, on: Any) -> Any:
                return answer(table)

    else:

        class ColumnPlugin:  # type: ignore[no-redef]
            @hookimpl
            def mt_access_order_keys(
                self, requests: Any, classifications: Any, policy: Any, on: Any
            ) -> Any:
                raise AssertionError(asked)

            @hookimpl
            def mt_access_order_keys_columns(
                self, table: Any, classifications: Any, policy: Any, on: Any
            ) -> Any:
                return answer(table)

    return ColumnPlugin()


def _coded_scope(table: RequestTable) -> Coded[ScopeDecision]:
    return Coded(np.zeros(len(table), dtype=np.int64), (ScopeDecision.accept(),))


BAD_COLUMN_ANSWERS: list[tuple[str, str, Any]] = [
    ("mt_access_check_scope", "a list", lambda t: [ScopeDecision.accept()] * len(t)),
    ("mt_access_check_scope", "short codes", lambda t: Coded(np.zeros(1, np.int64), ("x",))),
    (
        "mt_access_check_scope",
        "float codes",
        lambda t: Coded(np.zeros(len(t)), (ScopeDecision.accept(),)),
    ),
    (
        "mt_access_check_scope",
        "code out of range",
        lambda t: Coded(np.ones(len(t), np.int64), (ScopeDecision.accept(),)),
    ),
    (
        "mt_access_check_scope",
        "rejection without reason",
        lambda t: Coded(np.zeros(len(t), np.int64), (ScopeDecision(False),)),
    ),
    (
        "mt_access_classify",
        "not a classification",
        lambda t: Coded(np.zeros(len(t), np.int64), ("prioritaire",)),
    ),
    ("mt_access_order_keys", "not a list", lambda t: np.zeros(len(t))),
    ("mt_access_order_keys", "wrong length", lambda t: [np.zeros(len(t) + 1, np.int64)]),
    ("mt_access_order_keys", "objects", lambda t: [np.array([None] * len(t), dtype=object)]),
    ("mt_access_order_keys", "NaN", lambda t: [np.full(len(t), np.nan)]),
]


@pytest.mark.parametrize(
    ("hook", "label", "answer"),
    BAD_COLUMN_ANSWERS,
    ids=[f"{h}-{lab}" for h, lab, _ in BAD_COLUMN_ANSWERS],
)
def test_a_bad_column_answer_is_a_plugin_error_naming_the_plugin(
    voironnais: Policy, hook: str, label: str, answer: Any
) -> None:
    pm = get_plugin_manager(plugins=[_columns_plugin(hook, answer)])
    with pytest.raises(PluginError, match="ColumnPlugin") as info:
        match([req("R1"), req("R2")], [doc("G")], voironnais, None, ON, plugin_manager=pm)
    assert f"{hook}_columns" in str(info.value)


def test_a_failing_column_form_is_a_plugin_error(voironnais: Policy) -> None:
    def boom(table: RequestTable) -> object:
        raise ZeroDivisionError("division")

    pm = get_plugin_manager(plugins=[_columns_plugin("mt_access_classify", boom)])
    with pytest.raises(PluginError, match=r"mt_access_classify_columns.*ColumnPlugin.*Zero"):
        match([req("R1")], [doc("G")], voironnais, None, ON, plugin_manager=pm)


def test_a_good_column_answer_decides(voironnais: Policy) -> None:
    """The plugin's column form is asked (its per-request form is not), before the
    built-in one."""
    level = voironnais.levels[0]

    def everybody_first(table: RequestTable) -> Coded[Classification]:
        top = Classification(level.name, level.rank, True, ("décision locale",))
        return Coded(np.zeros(len(table), dtype=np.int64), (top,))

    pm = get_plugin_manager(plugins=[_columns_plugin("mt_access_classify", everybody_first)])
    result = match([req("R1")], [doc("G")], voironnais, None, ON, plugin_manager=pm)
    assert result.placements[0].criteria == ("décision locale",)


def test_a_column_form_without_the_hook_is_refused(voironnais: Policy) -> None:
    class OnlyColumns:
        @hookimpl
        def mt_access_classify_columns(
            self, table: RequestTable, policy: Policy, on: dt.date
        ) -> None:
            return None

    pm = get_plugin_manager(plugins=[OnlyColumns()])
    with pytest.raises(PluginError, match=r"OnlyColumns.*sans implémenter mt_access_classify"):
        match([req("R1")], [doc("G")], voironnais, None, ON, plugin_manager=pm)


def test_a_wrapper_of_a_column_form_is_refused(voironnais: Policy) -> None:
    class Wrapping:
        @hookimpl(wrapper=True)
        def mt_access_check_scope_columns(self, table: Any, policy: Any, on: Any) -> Any:
            return (yield)

    pm = get_plugin_manager(plugins=[Wrapping()])
    with pytest.raises(PluginError, match=r"Wrapping.*envelopper mt_access_check_scope"):
        match([req("R1")], [doc("G")], voironnais, None, ON, plugin_manager=pm)


def test_a_wrapper_of_the_hook_sees_the_list_answers(voironnais: Policy) -> None:
    """With a wrapper on the hook, the built-in answers per request under it."""
    seen: list[object] = []

    class Wrapping:
        @hookimpl(wrapper=True)
        def mt_access_classify(self, requests: Any, policy: Any, on: Any) -> Any:
            answer = yield
            seen.append(type(answer))
            return answer

    pm = get_plugin_manager(plugins=[Wrapping()])
    result = match([req("R1")], [doc("G")], voironnais, None, ON, plugin_manager=pm)
    assert seen == [list]
    assert result == match([req("R1")], [doc("G")], voironnais, None, ON)


def test_a_plugin_returning_none_in_columns_leaves_the_decision(voironnais: Policy) -> None:
    pm = get_plugin_manager(plugins=[_columns_plugin("mt_access_check_scope", lambda t: None)])
    result = match([req("R1")], [doc("G")], voironnais, None, ON, plugin_manager=pm)
    assert result == match([req("R1")], [doc("G")], voironnais, None, ON)
    assert _coded_scope(RequestTable([req("R1")])).tolist() == [ScopeDecision.accept()]


# --------------------------------------------------------------------------------------------
# The request table


@given(births=st.lists(st.dates(), min_size=1, max_size=30), on=st.dates())
def test_ages_are_the_models(births: list[dt.date], on: dt.date) -> None:
    """Ages worked out from the birth dates' ordinals with whole-array steps: the model's."""
    requests = [req(f"R{k}") for k in range(len(births))]
    requests = [
        attrs.evolve(r, patient=attrs.evolve(r.patient, birth_date=b))
        for r, b in zip(requests, births, strict=True)
    ]
    got = RequestTable(requests).ages(on).tolist()
    assert got == [age_on(b, on) for b in births]


def test_a_subset_keeps_the_columns_read() -> None:
    requests = [
        req("R1", "38563", urgent=True, declined_by=frozenset({"G2"})),
        req("R2", "38565", persons=2),
        req("R3", "38565", home_visits=mt_access.HomeVisitNeed.EXCLUSIVE),
    ]
    table = RequestTable(requests)
    _ = (table.urgent, table.ids, table.commune_index, table.declined, table.persons)
    sub = table.take(np.array([2, 1]))
    fresh = RequestTable([requests[2], requests[1]])
    for name in ("urgent", "persons", "home_visits", "commune_index", "declined", "located"):
        assert getattr(sub, name).tolist() == getattr(fresh, name).tolist(), name
    assert sub.ids == ["R3", "R2"]
    assert sub.communes == ("38565",)
    assert sub.declined_sets == (frozenset(),)
    assert table.declined_sets == (frozenset(), frozenset({"G2"}))
    assert sub.commune.tolist() == ["38565", "38565"]


_TABLE_COLUMNS = (
    "ids",
    "consent",
    "ald",
    "css",
    "ame",
    "disability_or_chronic",
    "urgent",
    "reason",
    "home_visits",
    "adults",
    "children",
    "persons",
    "commune_index",
    "communes",
    "declined",
    "declined_sets",
    "located",
    "received",
    "birth",
    "commune_codes",
)


def _read(table: RequestTable, name: str) -> Any:
    value = getattr(table, name)
    return (value.dtype, value.tolist()) if isinstance(value, np.ndarray) else value


@given(data=st.data())
def test_a_subset_reads_what_its_requests_give(data: st.DataObject) -> None:
    """Every column of ``take(rows)`` (the coded ones renumbered) is what a table of those
    requests reads, with no list of Python objects copied but the requests and their ids."""
    n = data.draw(st.integers(1, 12))
    refusals = [frozenset(), frozenset({"G1"}), frozenset({"G1", "G2"})]
    requests = [
        req(
            f"R{k:02d}",
            data.draw(st.sampled_from(["38563", "38565", "38111"])),
            age=data.draw(st.integers(0, 95)),
            persons=data.draw(st.integers(1, 4)),
            declined_by=data.draw(st.sampled_from(refusals)),
            urgent=data.draw(st.booleans()),
        )
        for k in range(n)
    ]
    rows = data.draw(st.lists(st.integers(0, n - 1), unique=True))
    table = RequestTable(requests)
    for name in _TABLE_COLUMNS:
        getattr(table, name)
    sub = table.take(np.array(rows, dtype=np.int64))
    copied = [k for k, v in sub.__dict__.items() if isinstance(v, list)]
    assert sorted(copied) == ["ids", "requests"]
    fresh = RequestTable([requests[i] for i in rows])
    for name in _TABLE_COLUMNS:
        assert _read(sub, name) == _read(fresh, name), name


def test_release_lets_the_columns_go_and_they_are_read_again() -> None:
    requests = [req("R1", urgent=True, declined_by=frozenset({"G2"})), req("R2", persons=3)]
    table = RequestTable(requests)
    before = {name: _read(table, name) for name in _TABLE_COLUMNS}
    ages = table.ages(ON).tolist()
    gone = [weakref.ref(table.birth), weakref.ref(table.commune_index)]
    table.release()
    assert [ref() for ref in gone] == [None, None]
    assert sorted(table.__dict__) == ["ids", "requests"]
    assert {name: _read(table, name) for name in _TABLE_COLUMNS} == before
    assert table.ages(ON).tolist() == ages


def test_match_releases_the_table_of_the_requests_in_scope(voironnais: Policy) -> None:
    """The table the decision hooks read keeps only the requests and their ids once ``match``
    has taken the columns it routes with (a France-sized month: its columns went only at the
    end of the run)."""
    seen: list[RequestTable] = []

    def capture(table: RequestTable) -> None:
        seen.append(table)

    pm = get_plugin_manager(plugins=[_columns_plugin("mt_access_classify", capture)])
    requests = [req("R1"), req("R2", persons=2), req("R3", urgent=True)]
    result = match(requests, [doc("G", capacity=2)], voironnais, None, ON, plugin_manager=pm)
    assert result == match(requests, [doc("G", capacity=2)], voironnais, None, ON)
    assert len(seen) == 1
    assert sorted(seen[0].__dict__) == ["ids", "requests"]


def test_the_columns_are_narrow() -> None:
    """Columns kept narrow (a France-sized month reads 6 million of each); persons, which the
    routing adds up, stays ``int64``."""
    table = RequestTable([req("R1"), req("R2", persons=3, age=90)])
    narrow = {"birth": np.int32, "received": np.int32, "adults": np.int8, "children": np.int8}
    narrow["reason"] = np.int8
    assert {name: getattr(table, name).dtype for name in narrow} == {
        name: np.dtype(t) for name, t in narrow.items()
    }
    assert (table.persons.dtype, table.persons.tolist()) == (np.dtype(np.int64), [1, 3])
    assert table.ages(ON).dtype == np.int64


def test_coded_answers_round_trip() -> None:
    a, b = ScopeDecision.accept(), ScopeDecision.reject(ReasonCode.NO_CONSENT)
    answers = [a, b, a, a]
    coded = Coded.of(answers)
    assert coded.values == (a, b)
    assert coded.codes.tolist() == [0, 1, 0, 0]
    assert coded.tolist() == answers
    assert list(coded) == answers
    assert (len(coded), coded[1]) == (4, b)
