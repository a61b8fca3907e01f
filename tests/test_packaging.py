"""What pyproject.toml says about the dependencies, checked against the code and the
installed packages."""

from __future__ import annotations

import importlib.metadata
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


def _project() -> dict[str, object]:
    with PYPROJECT.open("rb") as stream:
        project: dict[str, object] = tomllib.load(stream)["project"]
    return project


def _names(requirements: object) -> set[str]:
    assert isinstance(requirements, list)
    return {re.split(r"[\s<>=!~;\[]", str(r), maxsplit=1)[0].lower() for r in requirements}


def _extras() -> dict[str, set[str]]:
    extras = _project()["optional-dependencies"]
    assert isinstance(extras, dict)
    return {name: _names(requirements) for name, requirements in extras.items()}


def test_the_core_install_lists_neither_pandas_nor_faker() -> None:
    core = _names(_project()["dependencies"])
    assert "pandas" not in core
    assert "faker" not in core
    assert "folium" not in core  # the map is one Jinja2 template (docs/carte.md)
    assert {"ortools", "matplotlib", "chardet", "rapidfuzz"} <= core


def test_the_extras_add_only_what_they_say() -> None:
    extras = _extras()
    assert extras["analysis"] == {"pandas"}
    assert extras["simulation"] == {"pandas", "faker"}  # matplotlib is a core dependency
    assert extras["docs"] <= extras["dev"]
    assert extras["analysis"] | extras["simulation"] <= extras["dev"]
    assert extras["pdf"] == {"weasyprint"}
    assert extras["pdf"] <= extras["dev"]
    assert extras["web"] == {"flask", "flask-wtf", "argon2-cffi", "waitress"}
    assert extras["web"] <= extras["dev"]
    assert extras["postgres"] == {"psycopg", "psycopg-pool"}
    assert extras["postgres"] <= extras["dev"]


def test_ortools_still_requires_pandas() -> None:
    # pyproject.toml says that pandas is installed with the core through OR-Tools: when this
    # fails, OR-Tools dropped pandas and the comments of pyproject.toml and the docs must change.
    required = _names(importlib.metadata.requires("ortools") or [])
    assert "pandas" in required


_WITHOUT = """
import importlib.abc
import sys


class Blocker(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {blocked!r}:
            raise ModuleNotFoundError(f"blocked for the test: {{name}}", name=name)
        return None


sys.meta_path.insert(0, Blocker())
import mt_access
from mt_access.examples import example_month
from mt_access.geo import bundled_reference

policy = mt_access.load_policy("voironnais")
month = example_month(policy, bundled_reference(), requests=30, physicians=6)
result = mt_access.match(
    month.requests, month.physicians, policy, mt_access.CapacityLedger(), month.on
)
assert result.placements, "nothing placed"
import mt_access.maps._render  # the map's renderer, without folium
print("ok", len(result.placements), sorted(m for m in {blocked!r} if m in sys.modules))
"""


@pytest.mark.slow
def test_import_match_and_the_map_renderer_without_pandas_faker_folium_nor_psycopg() -> None:
    blocked = {"pandas", "faker", "folium", "branca", "psycopg"}
    done = subprocess.run(
        [sys.executable, "-c", _WITHOUT.format(blocked=blocked)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.startswith("ok ")
    assert done.stdout.rstrip().endswith("[]")


def test_the_wheel_ships_the_web_pages_templates_and_htmx() -> None:
    hatchling = pytest.importorskip("hatchling.builders.wheel")
    root = PYPROJECT.parent
    shipped = {
        f.distribution_path for f in hatchling.WheelBuilder(str(root)).recurse_included_files()
    }
    web = root / "src" / "mt_access" / "web"
    for folder in ("templates", "static"):
        for path in (web / folder).rglob("*"):
            if path.is_file():
                assert path.relative_to(root / "src").as_posix() in shipped, path
    for name in ("htmx.min.js", "LICENSE", "README.md"):  # the script with its licence and notice
        assert f"mt_access/web/static/htmx/{name}" in shipped
