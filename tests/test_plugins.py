"""Plugins: a third-party CPTS plugin adds criterion kinds and routers used from YAML, takes
over decision hooks, and is found through the ``mt_access`` entry-point group."""

from __future__ import annotations

import datetime as dt
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import pytest

import mt_access
from factories import ON, VOIRON, VOREPPE, doc, req
from mt_access import (
    Classification,
    CriterionKind,
    Param,
    ParamType,
    PluginError,
    ReasonCode,
    RouterKind,
    RouterOutput,
    RoutingTask,
    ScopeDecision,
    get_plugin_manager,
    hookimpl,
    load_policy,
    match,
)
from mt_access.columns import Coded, RequestTable
from mt_access.geo.communes import Commune, CommuneReference
from mt_access.hookspecs import PROJECT_NAME
from mt_access.intake.forms import INTAKE
from mt_access.letters.settings import LETTERS, SENDING
from mt_access.plugins import (
    DEFAULT_PLUGINS,
    Registry,
    collect_criterion_kinds,
    collect_routers,
    registry,
)
from mt_access.policy_kinds import PolicySection, ReadContext
from mt_access.yamlcheck import Node


def _isolated(params: dict[str, Any]) -> Any:
    word = params["word"]
    return lambda request, on: word in request.comments.lower()


def _first_physician(task: RoutingTask) -> RouterOutput:
    """Toy router: every request to the first physician with room, by id."""
    left = list(task.remaining)
    placements, waiting = [], []
    for item in task.items:
        for j in range(len(task.physicians)):
            if left[j] >= item.request.persons:
                left[j] -= item.request.persons
                placements.append(task.placement(item, j, item.request.persons, 0.0, [], "test"))
                break
        else:
            waiting.append(task.waiting(item, ReasonCode.CAPACITY_EXHAUSTED))
    return RouterOutput(placements=tuple(placements), waiting=tuple(waiting))


class ThrowawayPlugin:
    """A CPTS plugin adding a criterion kind and a router."""

    @hookimpl
    def mt_access_criterion_kinds(self) -> list[CriterionKind]:
        return [
            CriterionKind(
                "isolated",
                "personne isolée ({word})",
                _isolated,
                (Param("word", ParamType.STRING, "mot à chercher", default="isolé"),),
            )
        ]

    @hookimpl
    def mt_access_routers(self) -> list[RouterKind]:
        return [
            RouterKind(
                "first_physician", "premier médecin", _first_physician, consumes_capacity=True
            )
        ]


POLICY = """\
version: 1
identity: {name: CPTS Plugin, code: plugin, department: "38"}
territory: {communes: ["38563", "38565"]}
priority:
  levels:
    - name: isolé
      criteria: [{kind: isolated, word: seul}]
routing:
  priority: {router: first_physician}
  non_priority: {router: first_physician}
"""


def test_throwaway_plugin_adds_a_criterion_kind_and_a_router(tmp_path: Path) -> None:
    path = tmp_path / "plugin.yaml"
    path.write_text(POLICY, encoding="utf-8")
    with pytest.raises(mt_access.PolicyError, match="isolated"):
        load_policy(path)  # unknown without the plugin
    pm = get_plugin_manager(plugins=[ThrowawayPlugin()])
    policy = load_policy(path, plugin_manager=pm)
    assert policy.levels[0].criteria[0].label == "personne isolée (seul)"
    requests = [req("R1", received=dt.date(2026, 2, 1)), req("R2", comments="Vit seul")]
    result = match(
        requests, [doc("B", capacity=1), doc("A", VOREPPE, capacity=1)], policy, None, ON
    )
    by_id = {p.request_id: p for p in result.placements}
    assert by_id["R2"].physician_id == "A"  # level 1 first, to the first physician by id
    assert by_id["R2"].criteria == ("personne isolée (seul)",)
    assert by_id["R2"].router == "first_physician"
    assert by_id["R1"].physician_id == "B"


def test_builtins_are_registered_like_third_party_plugins() -> None:
    pm = get_plugin_manager()
    names = {pm.get_name(p) for p in pm.get_plugins()}
    assert set(DEFAULT_PLUGINS) <= names
    for name in DEFAULT_PLUGINS:
        assert pm.get_plugin(name) is sys.modules[name]


def test_each_manager_is_fresh() -> None:
    a = get_plugin_manager(plugins=[ThrowawayPlugin()])
    b = get_plugin_manager()
    assert "isolated" in collect_criterion_kinds(a)
    assert "isolated" not in collect_criterion_kinds(b)


def test_duplicate_names_are_a_plugin_error() -> None:
    class Dup:
        @hookimpl
        def mt_access_routers(self) -> list[RouterKind]:
            return [RouterKind("nearest", "copie", _first_physician)]

    with pytest.raises(PluginError, match="nearest"):
        collect_routers(get_plugin_manager(plugins=[Dup()]))


def test_wrong_return_type_is_a_plugin_error() -> None:
    class Wrong:
        @hookimpl
        def mt_access_criterion_kinds(self) -> list[str]:
            return ["not a kind"]

    with pytest.raises(PluginError):
        collect_criterion_kinds(get_plugin_manager(plugins=[Wrong()]))


def test_a_router_exceeding_capacity_is_caught(voironnais: mt_access.Policy) -> None:
    def greedy(task: RoutingTask) -> RouterOutput:
        return RouterOutput(
            placements=tuple(task.placement(it, 0, 1, 0.0, [], "x") for it in task.items)
        )

    import attrs

    rule = mt_access.RoutingRule(RouterKind("greedy", "g", greedy, consumes_capacity=True))
    policy = attrs.evolve(voironnais, routing_priority=rule, routing_non_priority=rule)
    with pytest.raises(PluginError, match="capacité"):
        match([req("R1"), req("R2")], [doc("G", capacity=1)], policy, None, ON)


# --------------------------------------------------------------------------------------------
# Decision hooks: a plugin takes over without patching


def test_check_scope_hook(voironnais: mt_access.Policy) -> None:
    class OnlyOdd:
        @hookimpl
        def mt_access_check_scope(
            self, requests: Sequence[mt_access.Request], policy: mt_access.Policy, on: dt.date
        ) -> list[ScopeDecision]:
            return [
                ScopeDecision.accept()
                if int(r.id[1:]) % 2
                else ScopeDecision.reject(ReasonCode.EXCLUDED_REASON, "pair")
                for r in requests
            ]

    pm = get_plugin_manager(plugins=[OnlyOdd()])
    result = match(
        [req("R1"), req("R2")], [doc("G", capacity=5)], voironnais, None, ON, plugin_manager=pm
    )
    assert [r.request_id for r in result.rejected] == ["R2"]


def test_classify_hook(voironnais: mt_access.Policy) -> None:
    class EverybodyPriority:
        @hookimpl
        def mt_access_classify(
            self, requests: Sequence[mt_access.Request], policy: mt_access.Policy, on: dt.date
        ) -> list[Classification]:
            return [Classification("prioritaire", 1, True, ("décision locale",)) for _ in requests]

    pm = get_plugin_manager(plugins=[EverybodyPriority()])
    result = match([req("R1")], [doc("G")], voironnais, None, ON, plugin_manager=pm)
    assert result.placements[0].criteria == ("décision locale",)


def test_order_keys_hook(voironnais: mt_access.Policy) -> None:
    class NewestFirst:
        @hookimpl
        def mt_access_order_keys(
            self,
            requests: Sequence[mt_access.Request],
            classifications: Sequence[Classification],
            policy: mt_access.Policy,
            on: dt.date,
        ) -> list[tuple[object, ...]]:
            return [(-r.received.toordinal(), r.id) for r in requests]

    requests = [req("old", received=dt.date(2026, 1, 1)), req("new", received=dt.date(2026, 3, 1))]
    default = match(requests, [doc("G")], voironnais, None, ON)
    assert default.placements[0].request_id == "old"
    pm = get_plugin_manager(plugins=[NewestFirst()])
    result = match(requests, [doc("G")], voironnais, None, ON, plugin_manager=pm)
    assert result.placements[0].request_id == "new"


class NewestOddFirst:
    """Rejects the even ids, puts everybody in the first level, newest first: one object per
    request, and (when ``columns``) the same decisions in column form."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    @hookimpl
    def mt_access_check_scope(
        self, requests: Sequence[mt_access.Request], policy: mt_access.Policy, on: dt.date
    ) -> list[ScopeDecision]:
        self.asked.append("scope")
        odd = ScopeDecision.reject(ReasonCode.EXCLUDED_REASON, "pair")
        return [ScopeDecision.accept() if int(r.id[1:]) % 2 else odd for r in requests]

    @hookimpl
    def mt_access_classify(
        self, requests: Sequence[mt_access.Request], policy: mt_access.Policy, on: dt.date
    ) -> list[Classification]:
        self.asked.append("classify")
        return [Classification("prioritaire", 1, True, ("local",)) for _ in requests]

    @hookimpl
    def mt_access_order_keys(
        self,
        requests: Sequence[mt_access.Request],
        classifications: Sequence[Classification],
        policy: mt_access.Policy,
        on: dt.date,
    ) -> list[tuple[object, ...]]:
        self.asked.append("order")
        return [(-r.received.toordinal(), r.id) for r in requests]


class NewestOddFirstInColumns(NewestOddFirst):
    @hookimpl
    def mt_access_check_scope_columns(
        self, table: RequestTable, policy: mt_access.Policy, on: dt.date
    ) -> Coded[ScopeDecision]:
        self.asked.append("scope_columns")
        even = np.array([int(i[1:]) % 2 == 0 for i in table.ids], dtype=np.int64)
        odd = ScopeDecision.reject(ReasonCode.EXCLUDED_REASON, "pair")
        return Coded(even, (ScopeDecision.accept(), odd))

    @hookimpl
    def mt_access_classify_columns(
        self, table: RequestTable, policy: mt_access.Policy, on: dt.date
    ) -> Coded[Classification]:
        self.asked.append("classify_columns")
        first = Classification("prioritaire", 1, True, ("local",))
        return Coded(np.zeros(len(table), dtype=np.int64), (first,))

    @hookimpl
    def mt_access_order_keys_columns(
        self,
        table: RequestTable,
        classifications: Coded[Classification],
        policy: mt_access.Policy,
        on: dt.date,
    ) -> list[np.ndarray]:  # type: ignore[type-arg]
        self.asked.append("order_columns")
        return [-table.received]


def test_column_forms_of_the_decision_hooks(voironnais: mt_access.Policy) -> None:
    """A plugin with the column forms is asked in them; its result is the per-request one."""
    requests = [
        req(f"R{k}", received=dt.date(2026, 1, 1) + dt.timedelta(days=k)) for k in range(1, 6)
    ]
    results = []
    for plugin in (NewestOddFirst(), NewestOddFirstInColumns()):
        pm = get_plugin_manager(plugins=[plugin])
        results.append(
            match(requests, [doc("G", capacity=2)], voironnais, None, ON, plugin_manager=pm)
        )
        columns = isinstance(plugin, NewestOddFirstInColumns)
        suffix = "_columns" if columns else ""
        assert plugin.asked == [f"scope{suffix}", f"classify{suffix}", f"order{suffix}"]
    assert results[0] == results[1]
    assert [p.request_id for p in results[1].placements] == ["R3", "R5"]
    assert [r.request_id for r in results[1].rejected] == ["R2", "R4"]


def test_pseudonym_hook(voironnais: mt_access.Policy) -> None:
    import attrs

    class Plain:
        @hookimpl
        def mt_access_pseudonym(self, request_id: str, policy: mt_access.Policy) -> str:
            return "X-" + request_id[::-1]

    pm = get_plugin_manager(plugins=[Plain()])
    pull = collect_routers(pm)["pull"]
    rule = mt_access.RoutingRule(pull, (("list_size", 0),))
    policy = attrs.evolve(
        voironnais, routing_priority=rule, routing_non_priority=rule, plugin_manager=pm
    )
    result = match([req("R1")], [doc("G")], policy, None, ON)
    assert result.pull_lists[0].entries[0].pseudonym == "X-1R"
    default = mt_access.policies.decisions.mt_access_pseudonym("R1", voironnais)
    assert default.startswith("P-")
    assert "R1" not in default


def test_commune_references_hook(tmp_path: Path) -> None:
    """A plugin can add a commune the bundled reference lacks (a CPTS with its own file)."""

    class Extra:
        @hookimpl
        def mt_access_commune_references(self) -> list[CommuneReference]:
            extra = Commune(
                "99001",
                "Commune de test",
                "commune",
                "99",
                ("99000",),
                10,
                mt_access.Point(45.0, 5.0),
            )
            return [CommuneReference([extra], vintage="test", source="test")]

    text = POLICY.replace('"38565"', '"99001"').replace("isolated, word: seul", "ald")
    text = text.replace("first_physician", "monthly_quota")
    path = tmp_path / "p.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(mt_access.PolicyError, match="99001"):
        load_policy(path)
    policy = load_policy(path, plugin_manager=get_plugin_manager(plugins=[Extra()]))
    assert "99001" in policy.territory
    assert policy.reference is not None
    assert VOIRON in policy.reference  # merged with the bundled reference


def test_policy_directories_hook(tmp_path: Path) -> None:
    (tmp_path / "ma_cpts.yaml").write_text(
        POLICY.replace("isolated, word: seul", "ald").replace("first_physician", "nearest"),
        encoding="utf-8",
    )

    class Dirs:
        @hookimpl
        def mt_access_policy_directories(self) -> list[Path]:
            return [tmp_path]

    pm = get_plugin_manager(plugins=[Dirs()])
    assert "ma_cpts" in mt_access.available_policies(pm)
    assert load_policy("ma_cpts", plugin_manager=pm).code == "plugin"


# --------------------------------------------------------------------------------------------
# Entry points


def test_plugins_are_found_through_the_entry_point_group(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An installed distribution declaring ``[mt_access] name = module`` is loaded."""
    (tmp_path / "cpts_exemple_plugin.py").write_text(
        textwrap.dedent(
            """
            from mt_access import CriterionKind, hookimpl

            @hookimpl
            def mt_access_criterion_kinds():
                return [CriterionKind("toujours", "toujours vrai", lambda p: (lambda r, on: True))]
            """
        ),
        encoding="utf-8",
    )
    dist = tmp_path / "cpts_exemple_plugin-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: cpts-exemple-plugin\nVersion: 1.0\n", encoding="utf-8"
    )
    (dist / "entry_points.txt").write_text(
        f"[{PROJECT_NAME}]\nexemple = cpts_exemple_plugin\n", encoding="utf-8"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "cpts_exemple_plugin", raising=False)
    assert "toujours" in collect_criterion_kinds(get_plugin_manager())
    assert "toujours" not in collect_criterion_kinds(get_plugin_manager(load_entry_points=False))


# --------------------------------------------------------------------------------------------
# Policy sections contributed by plugins


@attrs.frozen
class Outreach:
    """A CPTS plugin's own section: how many calls before an outreach visit."""

    calls: int
    team: str


def _read_outreach(node: Node, context: ReadContext) -> Outreach:
    section = node.mapping(("calls", "team"))
    return Outreach(
        calls=int(section.at("calls", 2).number(integer=True, minimum=1, maximum=10)),
        team=section.required("team").text(),
    )


OUTREACH: PolicySection[Outreach | None] = PolicySection("outreach", _read_outreach, None)


class OutreachPlugin:
    @hookimpl
    def mt_access_policy_sections(self) -> list[PolicySection[Any]]:
        return [OUTREACH]


def test_a_plugin_adds_a_policy_section_read_back_typed(tmp_path: Path) -> None:
    path = tmp_path / "outreach.yaml"
    path.write_text(MINIMAL_POLICY + "outreach:\n  calls: 3\n  team: équipe mobile\n")
    with pytest.raises(mt_access.PolicyError) as unknown:
        load_policy(path)  # without the plugin, the key is unknown, with its line
    assert unknown.value.path == "$.outreach"
    assert unknown.value.line == 11
    assert "clé inconnue 'outreach'" in unknown.value.message
    assert "intake, letters" in unknown.value.message  # the known keys come from the plugins
    pm = get_plugin_manager(plugins=[OutreachPlugin()])
    policy = load_policy(path, plugin_manager=pm)
    assert policy.section(OUTREACH) == Outreach(calls=3, team="équipe mobile")
    assert policy.sections["outreach"] == Outreach(calls=3, team="équipe mobile")
    # Absent from a file: the section's default.
    bare = tmp_path / "bare.yaml"
    bare.write_text(MINIMAL_POLICY)
    assert load_policy(bare, plugin_manager=pm).section(OUTREACH) is None
    # Not registered when the policy was compiled: the default too.
    assert load_policy(bare).section(OUTREACH) is None


def test_a_plugin_section_error_names_the_file_line_and_key_path(tmp_path: Path) -> None:
    pm = get_plugin_manager(plugins=[OutreachPlugin()])
    path = tmp_path / "outreach.yaml"
    path.write_text(MINIMAL_POLICY + "outreach:\n  calls: 30\n  team: mobile\n")
    with pytest.raises(mt_access.PolicyError, match="valeur ≤ 10 attendue") as info:
        load_policy(path, plugin_manager=pm)
    assert (info.value.source, info.value.line, info.value.path) == (
        str(path),
        12,
        "$.outreach.calls",
    )
    path.write_text(MINIMAL_POLICY + "outreach:\n  calls: 3\n")
    with pytest.raises(mt_access.PolicyError, match="clé 'team' obligatoire") as info:
        load_policy(path, plugin_manager=pm)
    assert (info.value.line, info.value.path) == (11, "$.outreach")


def test_intake_and_letters_are_sections_of_built_in_plugins(
    voironnais: mt_access.Policy,
) -> None:
    assert {"mt_access.intake.forms", "mt_access.letters.settings"} <= set(DEFAULT_PLUGINS)
    found = registry(get_plugin_manager(load_entry_points=False))
    assert found.sections == {"intake": INTAKE, "letters": LETTERS, "sending": SENDING}
    assert voironnais.intake is voironnais.section(INTAKE)
    assert voironnais.letters is voironnais.section(LETTERS)
    assert voironnais.section(INTAKE) is not None
    # attrs.evolve still sets them as before they were sections.
    changed = attrs.evolve(voironnais, intake=None)
    assert changed.intake is None
    assert changed.letters == voironnais.letters
    assert changed.sections.keys() == voironnais.sections.keys()


def test_registry_collects_every_registration_once() -> None:
    pm = get_plugin_manager(plugins=[ThrowawayPlugin(), OutreachPlugin()], load_entry_points=False)
    found = registry(pm)
    assert isinstance(found, Registry)
    assert "isolated" in found.criterion_kinds
    assert "first_physician" in found.routers
    assert set(found.sections) == {"intake", "letters", "outreach", "sending"}
    assert VOIRON in found.reference()
    with pytest.raises(mt_access.PolicyError, match="aucun référentiel"):
        Registry({}, {}, {}).reference()


def test_a_section_registered_twice_or_named_like_a_core_one_is_refused(tmp_path: Path) -> None:
    class Twice:
        @hookimpl
        def mt_access_policy_sections(self) -> list[PolicySection[Any]]:
            return [attrs.evolve(OUTREACH)]

    with pytest.raises(PluginError, match="section de politique 'outreach' enregistré"):
        registry(get_plugin_manager(plugins=[OutreachPlugin(), Twice()]))

    class Core:
        @hookimpl
        def mt_access_policy_sections(self) -> list[PolicySection[Any]]:
            return [PolicySection("routing", _read_outreach, None)]

    path = tmp_path / "p.yaml"
    path.write_text(MINIMAL_POLICY)
    with pytest.raises(PluginError, match=r"'routing'.*section de base"):
        load_policy(path, plugin_manager=get_plugin_manager(plugins=[Core()]))

    class Wrong:
        @hookimpl
        def mt_access_policy_sections(self) -> list[Any]:
            return ["outreach"]

    with pytest.raises(
        PluginError, match=r"le plugin .*Wrong. a renvoyé str au lieu de section de politique"
    ):
        registry(get_plugin_manager(plugins=[Wrong()]))


def test_a_criterion_label_naming_an_unknown_parameter_is_a_plugin_error(tmp_path: Path) -> None:
    class BadLabel:
        @hookimpl
        def mt_access_criterion_kinds(self) -> list[CriterionKind]:
            return [CriterionKind("bad_label", "âge ≥ {annees}", lambda p: lambda r, on: True)]

    path = tmp_path / "p.yaml"
    path.write_text(MINIMAL_POLICY.replace("kind: ald", "kind: bad_label"))
    with pytest.raises(PluginError, match=r"'bad_label'.*'annees'"):
        load_policy(path, plugin_manager=get_plugin_manager(plugins=[BadLabel()]))


MINIMAL_POLICY = """\
version: 1
identity: {name: CPTS Test, code: test, department: "38"}
territory: {communes: ["38563", "38565"]}
priority:
  levels:
    - name: prioritaire
      criteria: [{kind: ald}]
routing:
  priority: {router: nearest}
  non_priority: {router: nearest}
"""


def test_every_hook_has_a_test() -> None:
    """Each hook of the hookspecs module is exercised by a test of this module."""
    import mt_access.hookspecs as specs

    hooks = {n for n in dir(specs) if n.startswith("mt_access_")}
    source = Path(__file__).read_text(encoding="utf-8")
    untested = sorted(h for h in hooks if f"def {h}" not in source)
    assert not untested, untested


def test_a_kind_registered_by_two_plugins_names_both() -> None:
    """The collection block is one (plugins.registry): its errors name the plugins."""
    from mt_access.plugins import registry

    class First:
        @hookimpl
        def mt_access_routers(self) -> list[RouterKind]:
            return [RouterKind("twice", "premier", lambda task: None)]  # type: ignore[arg-type,return-value]

    class Second:
        @hookimpl
        def mt_access_routers(self) -> list[RouterKind]:
            return [RouterKind("twice", "second", lambda task: None)]  # type: ignore[arg-type,return-value]

    pm = get_plugin_manager(load_entry_points=False, plugins=[First(), Second()])
    with pytest.raises(
        PluginError,
        match=r"routeur 'twice' enregistré par deux plugins : .*First.*Second|.*Second.*First",
    ):
        registry(pm)
