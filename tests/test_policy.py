"""Policies: the shipped files load, bad files give a PolicyError that says where and what."""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path

import pytest

import mt_access
from mt_access import PolicyError, load_policy

REPO = Path(__file__).resolve().parent.parent

VOIRONNAIS_CODES = {
    "38563", "38432", "38362", "38383", "38133", "38407", "38565", "38061", "38239", "38400",
    "38084", "38373", "38331", "38337", "38368", "38270", "38566", "38332", "38517",
}  # fmt: skip


def test_every_shipped_policy_loads_and_validates() -> None:
    shipped = mt_access.available_policies()
    assert {"voironnais", "deule_marque"} <= set(shipped)
    for name, path in shipped.items():
        policy = load_policy(name)
        assert policy.code == name
        assert load_policy(path) == policy


def test_voironnais_policy(voironnais: mt_access.Policy) -> None:
    assert voironnais.territory == VOIRONNAIS_CODES
    assert voironnais.routing_priority.router.name == "monthly_quota"
    assert voironnais.routing_non_priority.router.name == "monthly_quota"
    kinds = {c.kind for c in voironnais.levels[0].criteria}
    assert {"ald", "css", "ame", "disability_or_chronic", "age_under"} <= kinds
    assert [c.kind for c in voironnais.exclusions] == ["reason_in"]


def test_deule_marque_policy(deule_marque: mt_access.Policy) -> None:
    assert {"59378", "59386", "59636"} <= deule_marque.territory
    assert deule_marque.routing_priority.router.name == "nearest"
    assert deule_marque.routing_non_priority.router.name == "orientation"
    labels = [c.label for c in deule_marque.levels[0].criteria]
    assert labels == [
        "âge ≥ 70 ans",
        "affection de longue durée (ALD)",
        "bénéficiaire de la CSS",
        "âge < 18 ans",
    ]
    assert len(deule_marque.resources) == 3
    text = Path(deule_marque.source).read_text(encoding="utf-8")
    assert "CONFIRMER" in text


MINIMAL = """\
version: 1
identity: {name: CPTS Test, code: test, department: "38"}
territory:
  communes: ["38563", "38565"]
priority:
  levels:
    - name: prioritaire
      criteria:
        - kind: ald
routing:
  priority: {router: monthly_quota}
  non_priority: {router: orientation}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "politique.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_minimal_policy_defaults(tmp_path: Path) -> None:
    policy = load_policy(write(tmp_path, MINIMAL))
    assert policy.non_priority_level == "non prioritaire"
    assert policy.carry_over is False
    assert policy.keep_households_together is False
    assert policy.routing_non_priority.param("fallback_nearest") == 3
    assert policy.max_contact_attempts == 3


def error_for(tmp_path: Path, text: str) -> PolicyError:
    with pytest.raises(PolicyError) as info:
        load_policy(write(tmp_path, text))
    return info.value


def test_error_names_file_line_path_and_expectation(tmp_path: Path) -> None:
    text = MINIMAL.replace(
        "priority: {router: monthly_quota}",
        "priority: {router: nearest, max_distance_km: loin}",
    )
    err = error_for(tmp_path, text)
    assert err.path == "$.routing.priority.max_distance_km"
    assert err.line == 11
    assert err.source.endswith("politique.yaml")
    assert "un nombre attendu" in str(err)
    assert str(err).startswith(f"{err.source}:11: $.routing.priority.max_distance_km")


def test_unknown_criterion_kind_lists_known_ones(tmp_path: Path) -> None:
    err = error_for(tmp_path, MINIMAL.replace("kind: ald", "kind: aldd"))
    assert err.path == "$.priority.levels[0].criteria[0].kind"
    assert err.line == 9
    for known in ("age_at_least", "ald", "css", "urgent"):
        assert known in err.message


def test_unknown_router_lists_known_ones(tmp_path: Path) -> None:
    err = error_for(tmp_path, MINIMAL.replace("router: orientation", "router: random"))
    assert err.path == "$.routing.non_priority.router"
    for known in ("k_nearest", "monthly_quota", "nearest", "orientation", "pull"):
        assert known in err.message


def test_unknown_insee_code_is_rejected(tmp_path: Path) -> None:
    err = error_for(tmp_path, MINIMAL.replace('"38565"', '"38999"'))
    assert err.path == "$.territory.communes[1]"
    assert "38999" in err.message


def test_malformed_insee_code_is_rejected(tmp_path: Path) -> None:
    err = error_for(tmp_path, MINIMAL.replace('"38565"', "3856"))
    assert err.path == "$.territory.communes[1]"


def test_unknown_key_is_rejected(tmp_path: Path) -> None:
    err = error_for(tmp_path, MINIMAL + "capacity: {carryover: true}\n")
    assert err.path == "$.capacity.carryover"
    assert "carry_over" in err.message


def test_missing_required_parameter(tmp_path: Path) -> None:
    err = error_for(tmp_path, MINIMAL.replace("- kind: ald", "- kind: age_at_least"))
    assert "years" in err.message
    assert err.path == "$.priority.levels[0].criteria[0]"


def test_wrong_parameter_type(tmp_path: Path) -> None:
    err = error_for(
        tmp_path, MINIMAL.replace("- kind: ald", "- kind: age_at_least\n          years: -3")
    )
    assert err.path == "$.priority.levels[0].criteria[0].years"


def test_missing_section(tmp_path: Path) -> None:
    err = error_for(tmp_path, MINIMAL.split("routing:")[0])
    assert "routing" in err.message


def test_duplicate_key_is_rejected(tmp_path: Path) -> None:
    err = error_for(tmp_path, MINIMAL + "capacity: {carry_over: true}\ncapacity: {}\n")
    assert err.path == "$.capacity"
    assert err.line == 14


def test_yaml_syntax_error_has_line(tmp_path: Path) -> None:
    err = error_for(tmp_path, MINIMAL + "routing: [\n")
    assert err.line is not None


def test_unsafe_yaml_tags_are_refused(tmp_path: Path) -> None:
    err = error_for(tmp_path, "!!python/object/apply:os.system ['echo pwned']\n")
    assert "YAML invalide" in err.message


def test_unknown_policy_name_lists_available(tmp_path: Path) -> None:
    with pytest.raises(PolicyError) as info:
        load_policy("atlantide")
    assert "voironnais" in str(info.value)
    assert "deule_marque" in str(info.value)


def test_missing_file() -> None:
    with pytest.raises(PolicyError, match="introuvable"):
        load_policy("/nonexistent/politique.yaml")


def test_policy_error_is_a_value_error() -> None:
    assert issubclass(PolicyError, ValueError)
    assert issubclass(PolicyError, mt_access.MtAccessError)


def test_level_override_and_distance_default(tmp_path: Path) -> None:
    text = MINIMAL.replace(
        "routing:\n",
        "routing:\n  max_distance_km: 12\n  levels:\n    prioritaire: {router: nearest}\n",
    )
    policy = load_policy(write(tmp_path, text))
    assert policy.rule_for("prioritaire", True).router.name == "nearest"
    assert policy.rule_for("prioritaire", True).max_distance_km == 12
    assert policy.routing_non_priority.max_distance_km == 12


@pytest.mark.slow
def test_policies_are_packaged_in_the_wheel(wheel_files: set[str]) -> None:
    """The shipped policy files must be reachable after a plain pip install of the wheel."""
    assert "mt_access/_policies/voironnais.yaml" in wheel_files
    assert "mt_access/_policies/deule_marque.yaml" in wheel_files
    assert "mt_access/py.typed" in wheel_files
    assert "mt_access/geo/data/communes_france.csv.gz" in wheel_files


def test_ordering_section(tmp_path: Path) -> None:
    import datetime as dt

    from factories import ON, doc, req

    text = MINIMAL + "ordering:\n  keys: [urgent, received]\n  tie_break: pseudonym\n"
    policy = load_policy(write(tmp_path, text))
    assert policy.ordering_keys == ("urgent", "received")
    requests = [
        req("old", "38563", received=dt.date(2026, 1, 1), ald=True),
        req("urgent", "38563", received=dt.date(2026, 3, 1), urgent=True, ald=True),
    ]
    result = mt_access.match(requests, [doc("G", "38563")], policy, None, ON)
    assert [p.request_id for p in result.placements] == ["urgent"]
    err = error_for(tmp_path, MINIMAL + "ordering: {keys: [taille]}\n")
    assert err.path == "$.ordering.keys[0]"
    assert "received" in err.message


def test_exclusion_labels_are_french(voironnais: mt_access.Policy) -> None:
    assert voironnais.exclusions[0].label == "motif : changement de médecin par convenance"


def test_unquoted_insee_code_gets_a_hint(tmp_path: Path) -> None:
    err = error_for(tmp_path, MINIMAL.replace('"38565"', "01053"))
    assert "guillemets" in err.message


def test_default_monthly_capacity(tmp_path: Path) -> None:
    policy = load_policy(write(tmp_path, MINIMAL + "capacity: {default_monthly: 2}\n"))
    assert policy.default_monthly_capacity == 2
    err = error_for(tmp_path, MINIMAL + "capacity: {default_monthly: -1}\n")
    assert err.path == "$.capacity.default_monthly"


def test_policy_can_bring_its_own_commune_file(tmp_path: Path) -> None:
    """A CPTS outside the bundled data (or with newer data) names its own commune file."""
    (tmp_path / "communes.csv").write_text(
        "insee,name,department,postal_codes,population,lat,lon\n"
        "97999,Commune d'essai,97,97000,1234,16.2,-61.5\n",
        encoding="utf-8",
    )
    text = MINIMAL.replace(
        '  communes: ["38563", "38565"]',
        "  reference_file: communes.csv\n  reference_vintage: essai 2026\n"
        '  communes: ["38563", "97999"]',
    )
    policy = load_policy(write(tmp_path, text))
    assert "97999" in policy.territory
    assert policy.reference is not None
    assert policy.reference.get("97999").name == "Commune d'essai"
    assert "essai 2026" in policy.reference.vintage
    assert "38563" in policy.reference  # still merged with the bundled reference


def test_bad_own_commune_file_is_a_policy_error(tmp_path: Path) -> None:
    (tmp_path / "communes.csv").write_text("insee,name\n97999\n", encoding="utf-8")
    text = MINIMAL.replace(
        '  communes: ["38563", "38565"]', '  reference_file: communes.csv\n  communes: ["38563"]'
    )
    err = error_for(tmp_path, text)
    assert err.path == "$.territory.reference_file"
    assert "communes.csv" in err.message
    text = MINIMAL.replace(
        '  communes: ["38563", "38565"]', '  reference_file: absent.csv\n  communes: ["38563"]'
    )
    assert error_for(tmp_path, text).path == "$.territory.reference_file"


# --------------------------------------------------------------------------------------------
# Layers: the core does not import the plugins that contribute sections


_PLUGIN_PACKAGES = ("mt_access.intake", "mt_access.letters")
_LAYERED = (
    "policy.py",
    "policy_kinds.py",
    "yamlcheck.py",
    "plugins.py",
    "loading.py",
    "hookspecs.py",
    "intake/forms.py",
    "letters/settings.py",
)


def _runtime_imports(path: Path) -> tuple[set[str], list[int]]:
    """The modules ``path`` imports outside ``if TYPE_CHECKING:``, and the lines of the
    imports made inside functions."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typing_only = {
        id(n)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        for stmt in node.body
        for n in ast.walk(stmt)
    }
    modules: set[str] = set()
    deferred: list[int] = []
    for func in ast.walk(tree):
        if isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
            deferred += [
                n.lineno for n in ast.walk(func) if isinstance(n, ast.Import | ast.ImportFrom)
            ]
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.ImportFrom) and node.module:
            modules.add(node.module)
            modules.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            modules.update(a.name for a in node.names)
    return modules, deferred


def test_policy_modules_import_one_way_without_deferred_imports() -> None:
    """policy, its base modules, the plugin manager and the loader never import the plugins
    that contribute sections (intake, letters), and nothing hides an import in a function."""
    src = REPO / "src" / "mt_access"
    for name in _LAYERED:
        modules, deferred = _runtime_imports(src / name)
        assert not deferred, f"{name}: imports inside functions at lines {deferred}"
        if not name.startswith(("intake/", "letters/")):
            plugins = {
                m for m in modules if m.startswith(("mt_access.intake", "mt_access.letters"))
            }
            assert not plugins, f"{name} imports the plugins {sorted(plugins)}"
    for base in ("policy_kinds.py", "yamlcheck.py", "plugins.py"):
        modules, _ = _runtime_imports(src / base)
        assert "mt_access.policy" not in modules, f"{base} imports mt_access.policy"
