"""MkDocs hooks (mkdocs.yml ``hooks:``): what the pages and docstrings write for other readers.

* **Fence options.** The pages mark their fenced blocks for ``tests/test_docs.py`` with
  words after the language (```` ```python no-run ````, ```` ```yaml file=ma_cpts.yaml ````),
  which Markdown does not read as a fence. For the site, the words are dropped and
  ``file=NAME`` becomes the block's title.
* **Sphinx roles in docstrings.** The docstrings name objects as Sphinx does
  (``:class:`~mt_access.store.base.Store```, ``:meth:`Register.run_match```), which the
  Google-style renderer shows as text. On the API pages they become code, linked to the
  object's entry when the site documents it (found from the docstring's own scope, then by
  name), plain code otherwise.
"""

from __future__ import annotations

import re
from typing import Any

_INFO = re.compile(
    r"^(?P<head>[ \t]*(?:`{3,}|~{3,})[\w#.+-]+)[ \t]+(?P<words>[^`\n]*?)[ \t]*$", re.M
)
_ROLE = re.compile(r":(?:class|meth|func|attr|data|mod|exc|obj):<code>(?P<target>[^<]+)</code>")
_ID = re.compile(r'\bid="(?P<id>mt_access(?:\.\w+)*)"')


def _fence(m: re.Match[str]) -> str:
    files = [w.split("=", 1)[1] for w in m["words"].split() if w.startswith("file=")]
    return f'{m["head"]} title="{files[0]}"' if files else m["head"]


def on_page_markdown(markdown: str, **_: Any) -> str:
    return _INFO.sub(_fence, markdown)


def _resolve(name: str, scope: str, ids: set[str], by_last: dict[str, list[str]]) -> str | None:
    """The documented object ``name`` means in the docstring of ``scope``, if any."""
    parts = scope.split(".")
    for end in range(len(parts), 0, -1):  # the scope, its class, its module, its package
        candidate = ".".join([*parts[:end], name])
        if candidate in ids:
            return candidate
    if name in ids:
        return name
    if "." not in name and not name[:1].isupper():
        return None  # a bare lower-case name (``value``) could mean anything
    found = by_last.get(name.rsplit(".", 1)[-1], [])  # mt_access.match: mt_access.engine.match
    return found[0] if len(found) == 1 else None


def _roles(html: str, ids: set[str], by_last: dict[str, list[str]]) -> str:
    anchors = [(m.start(), m["id"]) for m in _ID.finditer(html)]

    def replace(m: re.Match[str]) -> str:
        target = m["target"].strip()
        short = target.startswith("~")
        name = target.lstrip("~").removesuffix("()")
        title = name.rsplit(".", 1)[-1] if short else name
        scope = next((i for pos, i in reversed(anchors) if pos < m.start()), "mt_access")
        identifier = _resolve(name, scope, ids, by_last)
        if identifier is None:
            return f"<code>{title}</code>"
        return f'<autoref identifier="{identifier}" optional><code>{title}</code></autoref>'

    return _ROLE.sub(replace, html)


def on_env(env: Any, config: Any, files: Any) -> Any:
    """Runs before autorefs' ``on_env`` (priority -50), which then resolves the links."""
    pages = [f.page for f in files if f.page is not None and f.page.content]
    ids = {m["id"] for page in pages for m in _ID.finditer(page.content)}
    by_last: dict[str, list[str]] = {}
    for identifier in sorted(ids):
        by_last.setdefault(identifier.rsplit(".", 1)[-1], []).append(identifier)
    for page in pages:
        if _ROLE.search(page.content):
            page.content = _roles(page.content, ids, by_last)
    return env
