"""The hooks wrapper (``mt_access.hooks``): every hook's answer checked, the plugin named in every
error, one plugin-manager fallback; and the defects it fixed (the pseudonym tie-break ignoring
the manager given to ``match``, a bad ``ScopeDecision``, ``Cell`` equality, short pseudonyms)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import pytest

import mt_access
from factories import ON, VOIRON, doc, req
from mt_access import (
    Classification,
    CriterionKind,
    PluginError,
    ReasonCode,
    RouterKind,
    RouterOutput,
    RoutingTask,
    ScopeDecision,
    get_plugin_manager,
    hookimpl,
    match,
)
from mt_access.hooks import Hooks, collected, plugin_manager
from mt_access.hookspecs import PROJECT_NAME
from mt_access.policies.decisions import PSEUDONYM_BITS, pseudonym_digest
from mt_access.privacy import pseudonym
from mt_access.routing import Cell

# --------------------------------------------------------------------------------------------
# The pseudonym tie-break uses the manager given to ``match``


def _tie_break_policy(policy: mt_access.Policy) -> mt_access.Policy:
    return attrs.evolve(policy, ordering_keys=("received",), tie_break="pseudonym")


def _namer(first: str) -> object:
    class Namer:
        @hookimpl
        def mt_access_pseudonym(self, request_id: str, policy: mt_access.Policy) -> str:
            return "A" if request_id == first else "B-" + request_id

    return Namer()


def test_pseudonym_tie_break_uses_the_given_plugin_manager(voironnais: mt_access.Policy) -> None:
    policy = _tie_break_policy(voironnais)
    requests = [req("R1"), req("R2")]  # same day, same level: the pseudonym decides
    placed = []
    for first in ("R1", "R2"):
        pm = get_plugin_manager(plugins=[_namer(first)])
        result = match(requests, [doc("G", capacity=1)], policy, None, ON, plugin_manager=pm)
        placed.append([p.request_id for p in result.placements])
    assert placed == [["R1"], ["R2"]]


def test_pseudonym_tie_break_uses_the_policys_manager_by_default(
    voironnais: mt_access.Policy,
) -> None:
    pm = get_plugin_manager(plugins=[_namer("R2")])
    policy = attrs.evolve(_tie_break_policy(voironnais), plugin_manager=pm)
    result = match([req("R1"), req("R2")], [doc("G", capacity=1)], policy, None, ON)
    assert [p.request_id for p in result.placements] == ["R2"]


def test_one_fallback_for_the_plugin_manager(voironnais: mt_access.Policy) -> None:
    given = get_plugin_manager()
    assert plugin_manager(voironnais, given) is given
    assert plugin_manager(voironnais) is voironnais.plugin_manager
    fresh = plugin_manager(attrs.evolve(voironnais, plugin_manager=None))
    assert fresh is not voironnais.plugin_manager
    assert fresh.get_plugin("mt_access.policies.decisions") is not None


# --------------------------------------------------------------------------------------------
# Pseudonyms


def test_pseudonyms_have_at_least_80_bits(voironnais: mt_access.Policy) -> None:
    assert PSEUDONYM_BITS >= 80
    assert len(pseudonym_digest("R1", "clé")) * 8 >= 80
    value = pseudonym("R1", voironnais)
    assert value.startswith("P-")
    symbols = value[2:].replace("-", "")
    assert len(symbols) * 5 >= 80  # base 32: 5 bits a symbol
    ids = [f"R{k}" for k in range(20_000)]
    assert len({pseudonym(r, voironnais) for r in ids}) == len(ids)


def test_long_keys_are_used_whole(voironnais: mt_access.Policy) -> None:
    base = "k" * 64
    a = attrs.evolve(voironnais, pseudonym_key=base + "a")
    b = attrs.evolve(voironnais, pseudonym_key=base + "b")
    assert pseudonym("R1", a) != pseudonym("R1", b)  # were equal: cut to 64 bytes
    long = attrs.evolve(voironnais, pseudonym_key="é" * 500)
    assert pseudonym("R1", long) != pseudonym("R1", voironnais)


# --------------------------------------------------------------------------------------------
# Cells compare and hash by value


def test_cells_compare_and_hash_by_value() -> None:
    need = mt_access.HomeVisitNeed.NONE
    a = Cell(VOIRON, need, np.array([0, 2]), np.array([1.0, 2.5]), 1)
    b = Cell(VOIRON, need, [0, 2], [1.0, 2.5], 1)
    c = Cell(VOIRON, need, np.array([0, 3]), np.array([1.0, 2.5]), 1)
    assert a == b
    assert hash(a) == hash(b)
    assert a != c
    assert len({a, b, c}) == 2
    with pytest.raises(ValueError, match="read-only"):
        a.candidates[0] = 5


# --------------------------------------------------------------------------------------------
# Misbehaving plugins, through every decision hook


def _scope(requests: Sequence[Any]) -> list[ScopeDecision]:
    return [ScopeDecision.accept() for _ in requests]


def _classes(requests: Sequence[Any]) -> list[Classification]:
    return [Classification("non prioritaire", 9, False) for _ in requests]


BAD_ANSWERS: dict[str, list[tuple[str, Callable[[Sequence[Any]], object]]]] = {
    "mt_access_check_scope": [
        ("not a list", lambda rs: "oui"),
        ("too short", lambda rs: _scope(rs)[1:]),
        ("too long", lambda rs: [*_scope(rs), ScopeDecision.accept()]),
        ("wrong type", lambda rs: [True for _ in rs]),
        ("rejected without reason", lambda rs: [ScopeDecision(False) for _ in rs]),
        (
            "accepted with a reason",
            lambda rs: [ScopeDecision(True, ReasonCode.NO_CONSENT)] * len(rs),
        ),
        ("reason not a code", lambda rs: [ScopeDecision(False, "non") for _ in rs]),  # type: ignore[arg-type]
        ("in_scope not a bool", lambda rs: [ScopeDecision(1) for _ in rs]),  # type: ignore[arg-type]
    ],
    "mt_access_classify": [
        ("not a list", lambda rs: tuple(_classes(rs))),
        ("too short", lambda rs: _classes(rs)[1:]),
        ("wrong type", lambda rs: ["prioritaire" for _ in rs]),
        ("rank not an int", lambda rs: [Classification("x", "1", True) for _ in rs]),  # type: ignore[arg-type]
        ("criteria not texts", lambda rs: [Classification("x", 1, True, (1,)) for _ in rs]),  # type: ignore[arg-type]
    ],
    "mt_access_order_keys": [
        ("not a list", lambda rs: None if False else {r.id: (0,) for r in rs}),
        ("too long", lambda rs: [(0,) for _ in [*rs, None]]),
        ("wrong type", lambda rs: [[0] for _ in rs]),
        ("not comparable", lambda rs: [(0,) if k % 2 else ("a",) for k in range(len(rs))]),
    ],
}


def _bad_decision_plugin(hook: str, answer: Callable[[Sequence[Any]], object]) -> object:
    class BadDecisionPlugin:
        pass

    if hook == "mt_access_check_scope" or hook == "mt_access_classify":

        def impl(self: object, requests: Any, policy: Any, on: Any) -> object:
            return answer(requests)
    else:

        def impl(self: object, requests: Any, classifications: Any, policy: Any, on: Any) -> object:  # type: ignore[misc]
            return answer(requests)

    impl.__name__ = hook
    setattr(BadDecisionPlugin, hook, hookimpl(impl))
    return BadDecisionPlugin()


CASES = [(hook, label, fn) for hook, cases in BAD_ANSWERS.items() for label, fn in cases]


@pytest.mark.parametrize(
    ("hook", "label", "answer"), CASES, ids=[f"{h}-{lab}" for h, lab, _ in CASES]
)
def test_a_bad_decision_answer_is_a_plugin_error_naming_the_plugin(
    voironnais: mt_access.Policy, hook: str, label: str, answer: Callable[[Sequence[Any]], object]
) -> None:
    pm = get_plugin_manager(plugins=[_bad_decision_plugin(hook, answer)])
    with pytest.raises(PluginError, match="BadDecisionPlugin") as info:
        match([req("R1"), req("R2")], [doc("G")], voironnais, None, ON, plugin_manager=pm)
    assert hook in str(info.value)


@pytest.mark.parametrize("hook", sorted(BAD_ANSWERS))
def test_a_failing_decision_hook_is_a_plugin_error_naming_the_plugin(
    voironnais: mt_access.Policy, hook: str
) -> None:
    def boom(requests: Sequence[Any]) -> object:
        raise ZeroDivisionError("division")

    pm = get_plugin_manager(plugins=[_bad_decision_plugin(hook, boom)])
    with pytest.raises(PluginError, match=r"BadDecisionPlugin.*ZeroDivisionError") as info:
        match([req("R1")], [doc("G")], voironnais, None, ON, plugin_manager=pm)
    assert isinstance(info.value.__cause__, ZeroDivisionError)


def test_an_mt_access_error_from_a_plugin_goes_through(voironnais: mt_access.Policy) -> None:
    def refuse(requests: Sequence[Any]) -> object:
        raise mt_access.MatchInputError("refus voulu")

    pm = get_plugin_manager(plugins=[_bad_decision_plugin("mt_access_classify", refuse)])
    with pytest.raises(mt_access.MatchInputError, match="refus voulu"):
        match([req("R1")], [doc("G")], voironnais, None, ON, plugin_manager=pm)


class BadPseudonymPlugin:
    def __init__(self, answer: object) -> None:
        self.answer = answer

    @hookimpl
    def mt_access_pseudonym(self, request_id: str, policy: mt_access.Policy) -> object:
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


@pytest.mark.parametrize("answer", [42, "", b"P-1", KeyError("x")], ids=repr)
def test_a_bad_pseudonym_is_a_plugin_error_naming_the_plugin(
    voironnais: mt_access.Policy, answer: object
) -> None:
    pm = get_plugin_manager(plugins=[BadPseudonymPlugin(answer)])
    with pytest.raises(PluginError, match=r"mt_access_pseudonym.*BadPseudonymPlugin"):
        pseudonym("R1", voironnais, pm)
    policy = _tie_break_policy(voironnais)  # through the built-in order keys
    with pytest.raises(PluginError, match=r"mt_access_pseudonym.*BadPseudonymPlugin"):
        match([req("R1")], [doc("G")], policy, None, ON, plugin_manager=pm)


def test_no_answer_at_all_is_a_plugin_error(voironnais: mt_access.Policy) -> None:
    pm = get_plugin_manager()
    pm.unregister(name="mt_access.policies.decisions")

    class Silent:
        @hookimpl
        def mt_access_classify(self, requests: Any, policy: Any, on: Any) -> None:
            return None

    pm.register(Silent())
    with pytest.raises(PluginError, match="aucun plugin"):
        Hooks(pm).classify([req("R1")], voironnais, ON)


def test_wrappers_still_adjust_answers_and_errors_name_them(voironnais: mt_access.Policy) -> None:
    class Wrapping:
        def __init__(self, bad: bool) -> None:
            self.bad = bad

        @hookimpl(wrapper=True)
        def mt_access_pseudonym(self, request_id: str, policy: Any) -> Any:
            answer = yield
            return 7 if self.bad else f"W-{answer}"

    good = get_plugin_manager(plugins=[Wrapping(False)])
    assert pseudonym("R1", voironnais, good).startswith("W-P-")
    bad = get_plugin_manager(plugins=[Wrapping(True)])
    with pytest.raises(PluginError, match="Wrapping"):
        pseudonym("R1", voironnais, bad)


# --------------------------------------------------------------------------------------------
# Routers and criteria registered by plugins


def _router_plugin(route: Callable[[RoutingTask], object], consumes: bool = True) -> object:
    class BadRouterPlugin:
        @hookimpl
        def mt_access_routers(self) -> list[RouterKind]:
            return [RouterKind("bad_router", "mauvais", route, consumes_capacity=consumes)]  # type: ignore[arg-type]

    return BadRouterPlugin()


def _placing(task: RoutingTask) -> RouterOutput:
    return RouterOutput(
        placements=tuple(task.placement(it, 0, 1, 0.0, [], "x") for it in task.items)
    )


BAD_ROUTERS: list[tuple[str, Callable[[RoutingTask], object], bool]] = [
    ("wrong type", lambda task: [], True),
    ("raises", lambda task: 1 / 0, True),
    ("forgets a request", lambda task: RouterOutput(), True),
    (
        "invents a request",
        lambda task: RouterOutput(
            waiting=(mt_access.Waiting("ZZ", "x", 1, ReasonCode.CAPACITY_EXHAUSTED, 1),)
        ),
        True,
    ),
    ("places twice", lambda task: RouterOutput(placements=_placing(task).placements * 2), True),
    ("places without consuming", _placing, False),
    ("exceeds capacity", _placing, True),
    ("malformed output", lambda task: RouterOutput(placements=(None,)), True),  # type: ignore[arg-type]
]


@pytest.mark.parametrize(
    ("label", "route", "consumes"), BAD_ROUTERS, ids=[b[0] for b in BAD_ROUTERS]
)
def test_a_misbehaving_router_is_a_plugin_error_naming_the_plugin(
    voironnais: mt_access.Policy,
    label: str,
    route: Callable[[RoutingTask], object],
    consumes: bool,
) -> None:
    pm = get_plugin_manager(plugins=[_router_plugin(route, consumes)])
    kind = mt_access.plugins.collect_routers(pm)["bad_router"]
    rule = mt_access.RoutingRule(kind)
    policy = attrs.evolve(voironnais, routing_priority=rule, routing_non_priority=rule)
    requests = [req("R1"), req("R2")] if label == "exceeds capacity" else [req("R1")]
    with pytest.raises(PluginError, match=r"bad_router.*BadRouterPlugin"):
        match(requests, [doc("G", capacity=1)], policy, None, ON, plugin_manager=pm)


def _criterion_plugin(test: Callable[..., object], vector: Callable[..., object] | None) -> object:
    class BadCriterionPlugin:
        @hookimpl
        def mt_access_criterion_kinds(self) -> list[CriterionKind]:
            return [
                CriterionKind(
                    "bad_kind",
                    "mauvais critère",
                    lambda params: test,
                    build_vectorized=(lambda params: vector) if vector is not None else None,
                )
            ]

    return BadCriterionPlugin()


POLICY = """\
version: 1
identity: {name: CPTS Test, code: test, department: "38"}
territory: {communes: ["38563", "38565"]}
priority:
  levels:
    - name: niveau
      criteria: [{kind: bad_kind}]
routing:
  priority: {router: nearest}
  non_priority: {router: nearest}
"""


def _boom(*args: Any) -> object:
    raise ZeroDivisionError


BAD_CRITERIA: list[tuple[str, Callable[..., object], Callable[..., object] | None, int]] = [
    ("scalar not a bool", lambda r, on: "oui", None, 2),
    ("scalar raises", _boom, None, 2),
    ("vector not bools", lambda r, on: True, lambda t, on: np.ones(len(t), dtype=np.int64), 80),
    ("vector too short", lambda r, on: True, lambda t, on: np.ones(len(t) - 1, dtype=bool), 80),
    ("vector raises", lambda r, on: True, _boom, 80),
]


@pytest.mark.parametrize(
    ("label", "test", "vector", "n"), BAD_CRITERIA, ids=[b[0] for b in BAD_CRITERIA]
)
def test_a_misbehaving_criterion_is_a_plugin_error_naming_the_plugin(
    tmp_path: Path,
    label: str,
    test: Callable[..., object],
    vector: Callable[..., object] | None,
    n: int,
) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(POLICY, encoding="utf-8")
    pm = get_plugin_manager(plugins=[_criterion_plugin(test, vector)])
    policy = mt_access.load_policy(path, plugin_manager=pm)
    requests = [req(f"R{k:03d}") for k in range(n)]
    with pytest.raises(PluginError, match=r"bad_kind.*BadCriterionPlugin"):
        match(requests, [doc("G")], policy, None, ON)


def test_criteria_answering_numpy_bools_are_accepted(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(POLICY, encoding="utf-8")
    plugin = _criterion_plugin(lambda r, on: np.bool_(r.id == "R1"), None)
    policy = mt_access.load_policy(path, plugin_manager=get_plugin_manager(plugins=[plugin]))
    result = match([req("R1"), req("R2")], [doc("G")], policy, None, ON)
    assert [p.request_id for p in result.placements] == ["R1"]


# --------------------------------------------------------------------------------------------
# Collection hooks


class BadCollectionPlugin:
    def __init__(self, hook: str, answer: object) -> None:
        def impl() -> object:
            if isinstance(answer, Exception):
                raise answer
            return answer

        impl.__name__ = hook
        setattr(self, hook, hookimpl(impl))


COLLECTION_HOOKS = {
    "mt_access_criterion_kinds": CriterionKind,
    "mt_access_routers": RouterKind,
    "mt_access_commune_references": mt_access.geo.communes.CommuneReference,
    "mt_access_policy_directories": Path,
}


@pytest.mark.parametrize("hook", sorted(COLLECTION_HOOKS))
@pytest.mark.parametrize("answer", ["texte", ["texte"], RuntimeError("x")], ids=repr)
def test_a_bad_collection_answer_is_a_plugin_error_naming_the_plugin(
    hook: str, answer: object
) -> None:
    pm = get_plugin_manager(plugins=[BadCollectionPlugin(hook, answer)])
    assert pm.project_name == PROJECT_NAME
    with pytest.raises(PluginError, match=rf"{hook}.*BadCollectionPlugin"):
        collected(pm, hook, COLLECTION_HOOKS[hook], "éléments")


@pytest.mark.parametrize("hook", sorted(COLLECTION_HOOKS))
def test_collection_names_who_registered_each_item(hook: str) -> None:
    pm = get_plugin_manager()
    found = collected(pm, hook, COLLECTION_HOOKS[hook], "éléments")
    assert found
    assert all(name.startswith("mt_access.policies.") for name, _ in found)


def test_the_given_manager_answers_on_a_day(voironnais: mt_access.Policy) -> None:
    """The wrapper's answers are the built-in ones when no plugin takes over."""
    hooks = Hooks.of(voironnais)
    requests = [req("R1", received=dt.date(2026, 1, 2)), req("R2", received=dt.date(2026, 1, 1))]
    assert [d.in_scope for d in hooks.check_scope(requests, voironnais, ON)] == [True, True]
    classes = hooks.classify(requests, voironnais, ON)
    keys, order = hooks.order(requests, classes, voironnais, ON)
    assert order == [1, 0]
    assert len(keys) == 2


# --------------------------------------------------------------------------------------------
# A criterion label naming an unknown parameter


class UnknownLabelParameter:
    @hookimpl
    def mt_access_criterion_kinds(self) -> list[CriterionKind]:
        return [CriterionKind("bad_kind", "critère {inconnu}", lambda params: lambda r, on: True)]


def test_a_criterion_label_naming_an_unknown_parameter_is_a_plugin_error(tmp_path: Path) -> None:
    """The label is the plugin's: a wrong one is a PluginError naming the kind, never a bare
    KeyError from load_policy."""
    path = tmp_path / "policy.yaml"
    path.write_text(POLICY, encoding="utf-8")
    pm = get_plugin_manager(plugins=[UnknownLabelParameter()])
    with pytest.raises(PluginError, match="libellé du type de critère 'bad_kind'"):
        mt_access.load_policy(path, plugin_manager=pm)
