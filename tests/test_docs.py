"""The documentation is tested: its examples run and it covers the whole public surface.

Conventions for the fenced blocks of ``docs/*.md``:

* ```` ```python ```` blocks run, in order, in one namespace per page (a page is
  self-contained); ```` ```python no-run ```` blocks are skipped.
* A block whose info string has ``file=NAME`` (```` ```yaml file=ma_cpts.yaml ````,
  ```` ```python file=cpts_isolement.py ````) is written to ``NAME`` in a scratch directory,
  which is the current directory while the page runs and is on ``sys.path``; a Python file
  block is then imported, so it runs too. Later blocks can load or import it.
* ```` ```yaml ```` blocks must parse (``yaml.safe_load``) unless marked ``no-run``.

Besides running the examples, the tests check that every hook, built-in criterion kind,
built-in router, top-level policy key, reason code and public name is documented.
"""

from __future__ import annotations

import importlib
import inspect
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import pytest
import yaml

import mt_access
from mt_access import hookspecs
from mt_access import policy as policy_module
from mt_access.plugins import (
    collect_criterion_kinds,
    collect_routers,
    get_plugin_manager,
    registry,
)

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PAGES = sorted(DOCS.glob("*.md"))
# Every page of the site, the API reference's included (paths relative to docs/).
SITE_PAGES = sorted(p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md"))

_FENCE = re.compile(
    r"^(?P<indent>[ \t]*)```(?P<info>[^`\n]*)\n(?P<body>.*?)^(?P=indent)```[ \t]*$",
    re.MULTILINE | re.DOTALL,
)
_LINK = re.compile(r"\]\((?P<target>[^)\s]+)\)")
# Pages that other work writes: the other pages may link them before they exist.
PENDING_PAGES: frozenset[str] = frozenset()


class Block(NamedTuple):
    """A fenced block of a page."""

    page: Path
    line: int  # 1-based line of the block's first body line
    lang: str
    options: frozenset[str]
    file: str | None
    body: str

    @property
    def runs(self) -> bool:
        return "no-run" not in self.options


def blocks(page: Path) -> Iterator[Block]:
    """The fenced blocks of ``page``, in order, with their indentation removed."""
    text = page.read_text(encoding="utf-8")
    for m in _FENCE.finditer(text):
        words = m["info"].split()
        lang = words[0].lower() if words else ""
        options = frozenset(words[1:])
        file = next((w.split("=", 1)[1] for w in words[1:] if w.startswith("file=")), None)
        indent = m["indent"]
        lines = m["body"].splitlines(keepends=True)
        body = "".join(ln[len(indent) :] if ln.startswith(indent) else ln for ln in lines)
        line = text.count("\n", 0, m.start("body")) + 1
        yield Block(page, line, lang, options, file, body)


def page_text(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


def section(text: str, heading: str) -> str:
    """The text under the Markdown heading whose title is exactly ``heading``, up to the
    next heading of the same or a higher level. Comment lines of code blocks are not
    headings."""
    text = _FENCE.sub(lambda f: re.sub(r"(?m)^([ \t]*)#", r"\1 #", f[0]), text)
    m = re.search(rf"^(?P<hashes>#+)[ \t]+{re.escape(heading)}[ \t]*$", text, re.MULTILINE)
    assert m is not None, f"heading {heading!r} not found"
    level = len(m["hashes"])
    end = re.compile(rf"^#{{1,{level}}}[ \t]", re.MULTILINE).search(text, m.end())
    return text[m.end() : end.start() if end else len(text)]


def test_docs_exist() -> None:
    names = {p.name for p in PAGES}
    expected = {
        "index.md",
        "quickstart.md",
        "concepts.md",
        "yaml-reference.md",
        "hooks.md",
        "plugins.md",
        "politiques.md",
    }
    assert expected <= names


# --------------------------------------------------------------------------------------------
# The examples run


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_python_examples_run(page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every ```python block of the page runs, in order, in one namespace."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    namespace: dict[str, object] = {"__name__": f"docs_{page.stem.replace('-', '_')}"}
    imported: list[str] = []
    try:
        for block in blocks(page):
            if not block.runs:
                continue
            if block.file is not None:
                (tmp_path / block.file).write_text(block.body, encoding="utf-8")
                if block.lang == "python":
                    module = Path(block.file).stem
                    imported.append(module)
                    sys.modules.pop(module, None)
                    importlib.invalidate_caches()
                    importlib.import_module(module)
            elif block.lang == "python":
                # Pad so that a traceback names the line of the Markdown page.
                code = compile("\n" * (block.line - 1) + block.body, str(page), "exec")
                exec(code, namespace)
    finally:
        for module in imported:
            sys.modules.pop(module, None)


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_yaml_examples_parse(page: Path) -> None:
    for block in blocks(page):
        if block.lang == "yaml" and block.runs:
            try:
                yaml.safe_load(block.body)
            except yaml.YAMLError as exc:  # pragma: no cover - reported as a failure
                pytest.fail(f"{page.name}:{block.line}: invalid YAML: {exc}")


@pytest.mark.parametrize("page", SITE_PAGES)
def test_relative_links_resolve(page: str) -> None:
    """Relative links point to files of docs/: the site holds nothing else (a link to
    ``../src/...`` or ``../README.md`` would be broken there)."""
    path = DOCS / page
    text = path.read_text(encoding="utf-8")
    for m in _LINK.finditer(text):
        target = m["target"].split("#", 1)[0]
        if not target or "://" in target or target.startswith("mailto:"):
            continue
        if target in PENDING_PAGES:
            continue
        resolved = (path.parent / target).resolve()
        assert resolved.is_relative_to(DOCS), f"{page}: link {m['target']} leaves docs/"
        assert resolved.exists(), f"{page}: broken link {m['target']}"


def test_index_links_every_page() -> None:
    index = page_text("index.md")
    for page in PAGES:
        if page.name != "index.md":
            assert f"({page.name})" in index, f"index.md does not link {page.name}"


def _nav_pages(entry: object) -> Iterator[str]:
    """The page paths of a piece of ``mkdocs.yml``'s ``nav``."""
    if isinstance(entry, str):
        if "://" not in entry:
            yield entry
    elif isinstance(entry, list):
        for item in entry:
            yield from _nav_pages(item)
    elif isinstance(entry, dict):
        for value in entry.values():
            yield from _nav_pages(value)


def test_every_page_is_in_the_site_nav() -> None:
    """Each page of docs/ (API reference included) is in mkdocs.yml's nav, once, and the nav
    names no missing page."""
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    nav = list(_nav_pages(config["nav"]))
    assert sorted(set(nav)) == sorted(nav), "a page is twice in mkdocs.yml's nav"
    missing = [page for page in SITE_PAGES if page not in nav]
    assert not missing, f"not in mkdocs.yml's nav: {', '.join(missing)}"
    unknown = [page for page in nav if not (DOCS / page).is_file()]
    assert not unknown, f"in mkdocs.yml's nav but not in docs/: {', '.join(unknown)}"


# --------------------------------------------------------------------------------------------
# Coverage of the public surface


def _hook_names() -> list[str]:
    return sorted(n for n in dir(hookspecs) if n.startswith("mt_access_"))


def test_every_hook_is_documented() -> None:
    """Each hook has its own heading in hooks.md, naming its kind and its arguments."""
    text = page_text("hooks.md")
    names = _hook_names()
    assert names, "no hook found in mt_access.hookspecs"
    for name in names:
        body = section(text, f"`{name}`")
        spec = getattr(hookspecs, name)
        firstresult = spec.mt_access_spec["firstresult"]
        kind = "decision" if firstresult else "collection"
        assert f"**Kind:** {kind}" in body, f"{name}: its kind ({kind}) is not stated"
        for arg in inspect.signature(spec).parameters:
            assert f"`{arg}`" in body, f"{name}: argument {arg!r} is not documented"


def test_every_builtin_criterion_kind_and_router_is_documented() -> None:
    """Each built-in criterion kind and router has a heading in yaml-reference.md that
    names every one of its parameters."""
    text = page_text("yaml-reference.md")
    pm = get_plugin_manager(load_entry_points=False)
    kinds = collect_criterion_kinds(pm)
    routers = collect_routers(pm)
    assert kinds
    assert routers
    for name, kind in kinds.items():
        body = section(text, f"`{name}`")
        for param in kind.params:
            assert f"`{param.name}`" in body, f"criterion {name}: {param.name} undocumented"
    for name, router in routers.items():
        body = section(text, f"`{name}`")
        for param in router.params:
            assert f"`{param.name}`" in body, f"router {name}: {param.name} undocumented"


def test_every_top_level_policy_key_is_documented() -> None:
    text = page_text("yaml-reference.md")
    keys = policy_module._TOP_KEYS
    assert "routing" in keys
    sections = registry(get_plugin_manager(load_entry_points=False)).sections
    assert {"intake", "letters"} <= set(sections)  # the built-in plugins' sections
    for key in (*keys, *sections):
        section(text, f"`{key}`")


def test_every_reason_code_is_documented() -> None:
    text = page_text("concepts.md")
    for code in mt_access.ReasonCode:
        assert f"`{code.name}`" in text, f"ReasonCode.{code.name} not in concepts.md"
        assert code.label in text, f"label of ReasonCode.{code.name} not in concepts.md"


def _code_text(page: Path) -> str:
    """The code of a page: its fenced blocks and its inline code spans."""
    text = page.read_text(encoding="utf-8")
    fenced = [b.body for b in blocks(page)]
    inline = re.findall(r"`([^`\n]+)`", _FENCE.sub("", text))
    return "\n".join(fenced + inline)


def test_every_public_name_is_mentioned() -> None:
    """Every name of ``mt_access.__all__`` appears in code somewhere in docs/."""
    code = "\n".join(_code_text(p) for p in PAGES)
    missing = [
        name
        for name in mt_access.__all__
        if not re.search(rf"(?<!\w){re.escape(name)}(?!\w)", code)
    ]
    assert not missing, f"not mentioned in docs/: {', '.join(missing)}"


def _router_example_months(tmp_path: Path) -> Iterator[tuple[Block, str]]:
    """Each router example of the YAML reference: its ``Résultat`` block and the summary
    mt-access prints for its policy file on the page's small case."""
    import datetime as dt

    from mt_access.cli.summary import render_run

    page = DOCS / "yaml-reference.md"
    all_blocks = list(blocks(page))
    case = next(b for b in all_blocks if b.lang == "python" and "def month_with" in b.body)
    namespace: dict[str, object] = {"mt_access": mt_access, "dt": dt}
    exec(compile(case.body, f"{page}:{case.line}", "exec"), namespace)
    gps = namespace["GPS"]
    requests = namespace["REQUESTS"]
    assert isinstance(gps, list)
    assert isinstance(requests, list)
    for k, block in enumerate(all_blocks):
        if not (block.file or "").startswith("exemple_"):
            continue
        shown = next((b for b in all_blocks[k + 1 :] if b.lang == "text"), None)
        if shown is None or not shown.body.startswith("CPTS Exemple : appariement"):
            continue
        path = tmp_path / block.file  # type: ignore[operator]
        path.write_text(block.body, encoding="utf-8")
        policy = mt_access.load_policy(path)
        result = mt_access.match(requests, gps, policy, None, dt.date(2026, 3, 16))
        yield shown, render_run(result, policy, gps, total_requests=len(requests), details=True)


def test_router_example_transcripts_are_what_mt_access_prints(tmp_path: Path) -> None:
    """The month summaries pasted in the YAML reference's router examples cannot drift from
    what the engine and the summary print today."""
    checked = 0
    for shown, printed in _router_example_months(tmp_path):
        assert shown.body.rstrip("\n") == printed.rstrip("\n"), f"line {shown.line}"
        checked += 1
    assert checked >= 4
