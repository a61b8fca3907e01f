"""The layered namespace: a light ``import mt_access``, every public name reachable, every
exception in ``mt_access.errors``, and one facade for plugin authors."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import mt_access
import mt_access.errors
import mt_access.plugin

HEAVY = ("jinja2", "folium", "shapely", "openpyxl", "matplotlib", "pandas", "faker")


def test_import_mt_access_stays_light() -> None:
    """``import mt_access`` gives the core (model, policy, match, ledger, results, lifecycle,
    errors) without loading a template engine, spreadsheet writer, geometry, plotting or
    data-frame library; those load when a name that needs them is first used."""
    code = (
        "import sys, mt_access\n"
        "policy = mt_access.load_policy('voironnais')\n"
        "mt_access.match([], [], policy, mt_access.CapacityLedger(), __import__('datetime')"
        ".date(2026, 3, 15))\n"
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out in ("", "jinja2"), out  # the letters plugin's section may load jinja2
    bare = subprocess.run(
        [
            sys.executable,
            "-c",
            f"import sys, mt_access; print(','.join(m for m in {HEAVY!r} if m in sys.modules))",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert bare == "", bare


def test_every_exported_name_resolves_to_its_module() -> None:
    for name in mt_access.__all__:
        value = getattr(mt_access, name)
        module = mt_access.LAZY.get(name)
        if module is not None:
            assert getattr(importlib.import_module(module), name) is value, name
    assert set(mt_access.__all__) <= set(dir(mt_access))
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        _ = mt_access.nothing_here  # type: ignore[attr-defined]


def test_lazy_names_are_loaded_on_first_use() -> None:
    code = (
        "import sys, mt_access\n"
        "assert 'mt_access.letters' not in sys.modules\n"
        "mt_access.Letter\n"
        "assert 'mt_access.letters' in sys.modules\n"
        "import mt_access.geo\n"
        "assert 'shapely' not in sys.modules\n"
        "mt_access.geo.bundled_shapes\n"
        "assert 'shapely' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def _all_modules() -> list[str]:
    names = ["mt_access"]
    for info in pkgutil.walk_packages(mt_access.__path__, "mt_access."):
        if ".cli.__main__" in info.name:
            continue
        names.append(info.name)
    return names


def test_every_exception_lives_in_mt_access_errors() -> None:
    """A coordinator's tool or a plugin catches any mt-access error from one module (private
    exceptions a module raises and catches itself excepted)."""
    found = {}
    for name in _all_modules():
        module = importlib.import_module(name)
        for value in vars(module).values():
            if (
                inspect.isclass(value)
                and issubclass(value, BaseException)
                and value.__module__.startswith("mt_access")
                and not value.__qualname__.startswith("_")  # a module's own control flow
            ):
                found[value.__qualname__] = value
    for qualname, cls in found.items():
        assert cls.__module__ == "mt_access.errors", f"{qualname} defined in {cls.__module__}"
        assert issubclass(cls, mt_access.errors.MtAccessError), qualname
        assert getattr(mt_access.errors, qualname) is cls
        assert qualname in mt_access.errors.__all__


def test_the_plugin_facade_gives_what_a_plugin_needs() -> None:
    for name in mt_access.plugin.__all__:
        assert getattr(mt_access.plugin, name) is not None, name
    for needed in ("hookimpl", "CriterionKind", "RouterKind", "PolicySection", "RoutingTask"):
        assert needed in mt_access.plugin.__all__
    assert mt_access.plugin.hookimpl is mt_access.plugins.hookimpl


def test_the_plugin_guide_imports_from_the_facade() -> None:
    guide = (Path(__file__).parent.parent / "docs" / "plugins.md").read_text(encoding="utf-8")
    imports = [
        line
        for line in guide.splitlines()
        if line.startswith(("from mt_access", "import mt_access"))
    ]
    assert imports
    for line in imports:
        module = line.split()[1]
        assert module in ("mt_access", "mt_access.plugin"), line


# --------------------------------------------------------------------------------------------
# Layers: dependencies go one way (docs/architecture.md)

LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("cli", ("mt_access.cli", "mt_access.web")),
    (
        "reports",
        (
            "mt_access.indicators",
            "mt_access.workbook",
            "mt_access.plots",
            "mt_access.frames",
            "mt_access.maps",
            "mt_access.letters",
            "mt_access.simulation",
            "mt_access.examples",
            "mt_access.pull_lists",
        ),
    ),
    (
        "register",
        (
            "mt_access.register",
            "mt_access.register_base",
            "mt_access.register_gps",
            "mt_access.register_matching",
            "mt_access.register_personal",
            "mt_access.register_pull",
            "mt_access.pull_index",
            "mt_access.register_qualify",
            "mt_access.register_follow_up",
            "mt_access.store",
            "mt_access.gp_register",
            "mt_access.gp_file",
            "mt_access.gp_file_cells",
            "mt_access.gp_import",
            "mt_access.gp_mapping",
            "mt_access.rpps",
            "mt_access.rpps_extraction",
            "mt_access.privacy",
        ),
    ),
    (
        "edge",
        (
            "mt_access.intake",
            "mt_access.loading",
            "mt_access.yamlread",
            "mt_access.export",
            "mt_access._xlsx",
            "mt_access.progress",
            "mt_access.geo.shapes",
            "mt_access.geo.outline",
            "mt_access.geo.geojson",
            "mt_access.geo.territory",
            "mt_access.geo.geocoding",
            "mt_access.geo.geocode_base",
            "mt_access.geo.geocode_cache",
            "mt_access.geo.offline",
            "mt_access.geo.ban",
        ),
    ),
    ("plugins", ("mt_access.policies",)),
)
"""From the top down; a module not listed is in the core. The package roots
(``mt_access``, ``mt_access.geo``) and the plugin facade only re-export."""

_FACADES = ("mt_access", "mt_access.geo", "mt_access.plugin")


def _layer(module: str) -> int:
    for rank, (_, prefixes) in enumerate(LAYERS):
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return len(LAYERS) - rank
    return 0  # the core


def _imports(path: Path) -> set[str]:
    """The mt_access modules a file imports, leaving out ``if TYPE_CHECKING:`` blocks."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped |= {id(n) for n in ast.walk(node)}
    found = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "mt_access":
                found |= {f"mt_access.{a.name}" for a in node.names}
            elif node.module.startswith("mt_access."):
                found.add(node.module)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("mt_access.")}
    return found


def test_dependencies_go_one_way() -> None:
    """The core imports no plugin, edge, register, report or CLI module; plugins only the
    core; the edge no register, report or CLI; the register no report or CLI; reports no
    CLI. (The plugin manager loads the built-in plugins by name, like third-party ones.)"""
    src = Path(mt_access.__file__).parent
    wrong = []
    for path in sorted(src.rglob("*.py")):
        parts = path.relative_to(src.parent).with_suffix("").parts
        module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        if module in _FACADES:
            continue
        for imported in _imports(path):
            if imported in _FACADES:
                continue
            if _layer(imported) > _layer(module):
                wrong.append(f"{module} → {imported}")
    assert not wrong, wrong
