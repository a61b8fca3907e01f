"""Criteria combinators (``all_of``, ``any_of``, ``not``) and the ``label:`` override."""

from __future__ import annotations

import datetime as dt
import io
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mt_access
from factories import ON, VOIRON, doc, req
from mt_access import (
    HomeVisitNeed,
    PatientIdentity,
    PolicyError,
    Request,
    SearchReason,
    load_policy,
)
from mt_access.bounds import MAX_CRITERION_LABEL
from mt_access.cli import main
from mt_access.columns import RequestTable
from mt_access.engine import match
from mt_access.errors import PluginError
from mt_access.plugins import collect_criterion_kinds, get_plugin_manager
from mt_access.policies import decisions
from mt_access.policy import Criterion, CriterionKind, Param, ParamType, policy_from_mapping
from mt_access.privacy import referral
from test_criteria import COMMUNES, requests

Plain = Callable[[Request, dt.date], bool]


def _age(r: Request, on: dt.date) -> int:
    b = r.patient.birth_date
    return on.year - b.year - ((on.month, on.day) < (b.month, b.day))


LEAVES: list[tuple[dict[str, Any], Plain]] = [
    ({"kind": "ald"}, lambda r, on: r.ald),
    ({"kind": "css"}, lambda r, on: r.css),
    ({"kind": "ame"}, lambda r, on: r.ame),
    ({"kind": "urgent"}, lambda r, on: r.urgent),
    ({"kind": "disability_or_chronic"}, lambda r, on: r.disability_or_chronic),
    ({"kind": "age_at_least", "years": 70}, lambda r, on: _age(r, on) >= 70),
    ({"kind": "age_under", "years": 16}, lambda r, on: _age(r, on) < 16),
    ({"kind": "waiting_at_least", "days": 90}, lambda r, on: (on - r.received).days >= 90),
    ({"kind": "commune_in", "communes": [COMMUNES[0]]}, lambda r, on: r.commune == COMMUNES[0]),
    (
        {"kind": "reason_in", "reasons": ["convenience", "moved"]},
        lambda r, on: r.reason in (SearchReason.CONVENIENCE, SearchReason.MOVED),
    ),
    (
        {"kind": "home_visits_needed", "exclusive_only": True},
        lambda r, on: r.home_visits is HomeVisitNeed.EXCLUSIVE,
    ),
    ({"kind": "household_with_children"}, lambda r, on: r.household.children > 0),
    ({"kind": "previous_mt_left"}, lambda r, on: r.reason is SearchReason.PREVIOUS_MT_LEFT),
]

Tree = tuple[dict[str, Any], Plain]


def _combine(children: st.SearchStrategy[Tree]) -> st.SearchStrategy[Tree]:
    def all_of(items: list[Tree]) -> Tree:
        tests = [t for _, t in items]
        return {"kind": "all_of", "of": [y for y, _ in items]}, lambda r, on: all(
            t(r, on) for t in tests
        )

    def any_of(items: list[Tree]) -> Tree:
        tests = [t for _, t in items]
        return {"kind": "any_of", "of": [y for y, _ in items]}, lambda r, on: any(
            t(r, on) for t in tests
        )

    def not_(item: Tree) -> Tree:
        yaml, test = item
        return {"kind": "not", "of": yaml}, lambda r, on: not test(r, on)

    lists = st.lists(children, min_size=1, max_size=4)
    return st.one_of(lists.map(all_of), lists.map(any_of), children.map(not_))


trees = st.recursive(st.sampled_from(LEAVES), _combine, max_leaves=12)


def policy_with(
    criteria: list[Any], exclusions: list[Any] | None = None, **kw: Any
) -> mt_access.Policy:
    return policy_from_mapping(
        {
            "version": 1,
            "identity": {"name": "CPTS Test", "code": "test", "department": "38"},
            "territory": {"communes": COMMUNES},
            "priority": {"levels": [{"name": "prioritaire", "criteria": criteria}]},
            "exclusions": exclusions or [],
            "routing": {
                "priority": {"router": "monthly_quota"},
                "non_priority": {"router": "monthly_quota"},
            },
        },
        **kw,
    )


def compiled(tree: dict[str, Any]) -> Criterion:
    return policy_with([tree]).levels[0].criteria[0]


@settings(max_examples=60, deadline=None)
@given(
    trees,
    st.lists(requests(), min_size=1, max_size=30),
    st.dates(dt.date(2026, 1, 1), dt.date(2027, 12, 31)),
)
def test_combinators_equal_their_boolean_meaning(
    tree: Tree, batch: list[Request], on: dt.date
) -> None:
    """A random tree of combinators over built-in criteria gives, scalar and vectorised, the
    answer of a plain Python evaluation written from the request's fields."""
    yaml, plain = tree
    criterion = compiled(yaml)
    expected = [plain(r, on) for r in batch]
    assert [criterion(r, on) for r in batch] == expected
    assert criterion.vector is not None
    column = criterion.vector(RequestTable(batch), on)
    assert column.dtype == bool
    assert list(column) == expected


def test_default_labels_are_french() -> None:
    tree = {
        "kind": "any_of",
        "of": [
            {"kind": "ald"},
            {"kind": "all_of", "of": [{"kind": "age_at_least", "years": 70}, {"kind": "css"}]},
        ],
    }
    assert compiled(tree).label == (
        "affection de longue durée (ALD) ou (âge ≥ 70 ans et bénéficiaire de la CSS)"
    )
    not_urgent = compiled({"kind": "not", "of": {"kind": "urgent", "label": "urgent"}})
    assert not_urgent.label == "pas urgent"
    named = compiled(
        {"kind": "any_of", "of": [{"kind": "ald", "label": "ALD"}, {"kind": "css", "label": "CSS"}]}
    )
    assert named.label == "ALD ou CSS"
    assert compiled({"kind": "any_of", "of": [{"kind": "ald"}], "label": "x"}).label == "x"


def test_a_combinator_has_a_vector_only_when_every_child_has_one() -> None:
    kinds = dict(collect_criterion_kinds(get_plugin_manager()))
    kinds["plain"] = CriterionKind("plain", "simple", lambda p: lambda r, on: r.css)
    tree = {"kind": "any_of", "of": [{"kind": "ald"}, {"kind": "not", "of": {"kind": "plain"}}]}
    policy = policy_with([tree], criterion_kinds=kinds)
    crit = policy.levels[0].criteria[0]
    assert crit.vector is None
    assert crit.of[0].vector is not None
    assert crit.of[1].vector is None
    request = req("R1", VOIRON, css=False)
    assert crit(request, ON) is True
    assert crit.label == "affection de longue durée (ALD) ou pas simple"


def test_label_overrides_the_kind_label_in_explanation_and_referral() -> None:
    label = "maladie chronique complexe"
    policy = policy_with([{"kind": "disability_or_chronic", "label": label}])
    request = req("R1", VOIRON, disability_or_chronic=True)
    result = match([request], [doc("G1", VOIRON, capacity=1)], policy, None, ON)
    (placement,) = result.placements
    assert placement.criteria == (label,)
    assert label in placement.explanation
    assert "handicap ou maladie chronique" not in placement.explanation
    fields = dict(referral(request, PatientIdentity(last_name="Test"), policy, ON))
    assert label in fields.values()
    assert "handicap ou maladie chronique" not in " ".join(fields.values())


def test_label_on_an_exclusion_shows_in_the_rejection() -> None:
    policy = policy_with(
        [{"kind": "ald"}],
        exclusions=[
            {"kind": "all_of", "of": [{"kind": "reason_in", "reasons": ["convenience"]},
                                      {"kind": "not", "of": {"kind": "urgent"}}],
             "label": "convenance sans urgence"}
        ],
    )  # fmt: skip
    request = req("R1", VOIRON, reason=SearchReason.CONVENIENCE)
    result = match([request], [doc("G1", VOIRON, capacity=1)], policy, None, ON)
    (rejected,) = result.rejected
    assert rejected.detail == "convenance sans urgence"


BASE = """\
version: 1
identity: {name: CPTS Test, code: test, department: "38"}
territory:
  communes: ["38563", "38565"]
priority:
  levels:
    - name: prioritaire
      criteria:
        - kind: ald
        - kind: any_of
          of:
            - kind: css
            - CHILD
routing:
  priority: {router: monthly_quota}
  non_priority: {router: orientation}
"""


def error_for(tmp_path: Path, child: str, base: str = BASE) -> PolicyError:
    path = tmp_path / "politique.yaml"
    path.write_text(textwrap.dedent(base.replace("CHILD", child)), encoding="utf-8")
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    assert info.value.source.endswith("politique.yaml")
    return info.value


def test_the_base_file_loads(tmp_path: Path) -> None:
    path = tmp_path / "politique.yaml"
    path.write_text(BASE.replace("CHILD", "kind: ame"), encoding="utf-8")
    assert load_policy(path).levels[0].criteria[1].kind == "any_of"


def test_unknown_kind_inside_a_combinator(tmp_path: Path) -> None:
    err = error_for(tmp_path, "kind: aldd")
    assert err.path == "$.priority.levels[0].criteria[1].of[1].kind"
    assert err.line == 13
    assert "type de critère inconnu" in err.message
    for known in ("all_of", "any_of", "not", "ald"):
        assert known in err.message


def test_empty_of(tmp_path: Path) -> None:
    err = error_for(tmp_path, "{kind: all_of, of: []}")
    assert err.path == "$.priority.levels[0].criteria[1].of[1].of"
    assert err.line == 13
    assert "au moins un critère" in err.message


def test_missing_of(tmp_path: Path) -> None:
    err = error_for(tmp_path, "{kind: any_of}")
    assert err.path == "$.priority.levels[0].criteria[1].of[1]"
    assert "clé 'of' obligatoire" in err.message


def test_of_of_the_wrong_type(tmp_path: Path) -> None:
    err = error_for(tmp_path, "{kind: all_of, of: ald}")
    assert err.path == "$.priority.levels[0].criteria[1].of[1].of"
    assert "liste de critères attendue" in err.message
    err = error_for(tmp_path, "{kind: not, of: [{kind: ald}]}")
    assert err.path == "$.priority.levels[0].criteria[1].of[1].of"
    assert "un seul critère" in err.message


def test_a_child_that_is_not_a_mapping(tmp_path: Path) -> None:
    err = error_for(tmp_path, "{kind: all_of, of: [ald]}")
    assert err.path == "$.priority.levels[0].criteria[1].of[1].of[0]"
    assert "critère attendu (kind: ...)" in err.message


def test_unknown_key_in_a_combinator(tmp_path: Path) -> None:
    err = error_for(tmp_path, "{kind: not, of: {kind: ald}, years: 3}")
    assert err.path == "$.priority.levels[0].criteria[1].of[1].years"
    assert "clé inconnue" in err.message


def test_bad_parameter_deep_inside(tmp_path: Path) -> None:
    err = error_for(tmp_path, "{kind: not, of: {kind: age_at_least, years: vieux}}")
    assert err.path == "$.priority.levels[0].criteria[1].of[1].of.years"
    assert "un nombre entier attendu" in err.message


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ('""', "libellé (texte non vide) attendu"),
        ("12", "libellé (texte non vide) attendu"),
        ("[a]", "libellé (texte non vide) attendu"),
        ("x" * (MAX_CRITERION_LABEL + 1), f"{MAX_CRITERION_LABEL} caractères au plus"),
    ],
)
def test_bad_label(tmp_path: Path, label: str, expected: str) -> None:
    err = error_for(tmp_path, f"{{kind: css, label: {label}}}")
    assert err.path == "$.priority.levels[0].criteria[1].of[1].label"
    assert err.line == 13
    assert expected in err.message
    assert "x" * 30 not in err.message


def test_bad_label_on_a_top_level_criterion(tmp_path: Path) -> None:
    err = error_for(tmp_path, "kind: ame", BASE.replace("- kind: ald", "- {kind: ald, label: ''}"))
    assert err.path == "$.priority.levels[0].criteria[0].label"
    assert err.line == 9


def test_a_plugin_kind_cannot_take_a_combinator_name() -> None:
    kinds = dict(collect_criterion_kinds(get_plugin_manager()))
    kinds["not"] = CriterionKind("not", "non", lambda p: lambda r, on: True)
    with pytest.raises(PluginError, match="critère combiné de base"):
        policy_with([{"kind": "not", "of": {"kind": "ald"}}], criterion_kinds=kinds)


COMBINED_LEVELS = [
    {
        "name": "urgent",
        "criteria": [
            {"kind": "all_of", "of": [{"kind": "urgent"}, {"kind": "not", "of": {"kind": "ame"}}]}
        ],
    },
    {
        "name": "prioritaire",
        "match": "all",
        "criteria": [
            {"kind": "any_of", "of": [{"kind": "ald"}, {"kind": "css"}]},
            {"kind": "not", "of": {"kind": "age_under", "years": 16}, "label": "adulte"},
        ],
    },
]


@settings(max_examples=10, deadline=None)
@given(st.lists(requests(), min_size=decisions.VECTOR_MIN, max_size=100, unique_by=lambda r: r.id))
def test_vectorised_classification_with_combinators_equals_per_request(
    batch: list[Request],
) -> None:
    """A large batch is classified by the vectorised path with the same levels and matched
    labels as one request at a time, when levels and exclusions use combinators."""
    base = policy_with([{"kind": "ald"}])
    policy = policy_from_mapping(
        {
            **base.raw,
            "priority": {"levels": COMBINED_LEVELS},
            "exclusions": [
                {"kind": "any_of", "of": [{"kind": "reason_in", "reasons": ["convenience"]}]}
            ],
        }
    )
    assert all(c.vector is not None for lv in policy.levels for c in lv.criteria)
    on = dt.date(2026, 3, 15)
    fast = decisions.mt_access_classify(batch, policy, on)
    slow = [decisions.mt_access_classify([r], policy, on)[0] for r in batch]
    assert fast == slow
    fast_scope = decisions.mt_access_check_scope(batch, policy, on)
    slow_scope = [decisions.mt_access_check_scope([r], policy, on)[0] for r in batch]
    assert fast_scope == slow_scope


def test_label_on_a_plugin_kind() -> None:
    kinds = dict(collect_criterion_kinds(get_plugin_manager()))
    kinds["isolated"] = CriterionKind("isolated", "personne isolée", lambda p: lambda r, on: True)
    policy = policy_with([{"kind": "isolated", "label": "isolement"}], criterion_kinds=kinds)
    assert policy.levels[0].criteria[0].label == "isolement"


def test_policy_display_puts_a_combination_in_parentheses(tmp_path: Path) -> None:
    path = tmp_path / "politique.yaml"
    path.write_text(BASE.replace("CHILD", "{kind: all_of, of: [{kind: ame}, {kind: urgent}]}"))
    out = io.StringIO()
    assert main(["politique", "afficher", str(path)], out=out, err=io.StringIO()) == 0
    assert (
        "affection de longue durée (ALD) ou (bénéficiaire de la CSS ou (bénéficiaire de l'AME "
        "et urgence : soins nécessaires sous un mois))"
    ) in out.getvalue()


def test_a_label_on_several_lines_is_refused() -> None:
    with pytest.raises(PolicyError, match="une seule ligne") as info:
        policy_with([{"kind": "ald", "label": "ALD\nou pas"}])
    assert info.value.path == "$.priority.levels[0].criteria[0].label"


def test_a_plugin_kind_cannot_declare_a_label_parameter() -> None:
    kinds = dict(collect_criterion_kinds(get_plugin_manager()))
    kinds["odd"] = CriterionKind(
        "odd", "x", lambda p: lambda r, on: True, (Param("label", ParamType.STRING),)
    )
    with pytest.raises(PluginError, match="paramètre 'kind' ou 'label'"):
        policy_with([{"kind": "odd"}], criterion_kinds=kinds)
