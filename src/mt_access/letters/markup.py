"""The letters' markup: a small subset of Markdown, turned into Markdown, plain text and HTML.

A letter template is written in Markdown (titles ``#``, lists ``-`` or ``1.``, ``**bold**``,
``*italics*``, rules ``---``, blank lines between paragraphs; a single line break is kept as a
line break, as in a letter). Jinja2 renders it once; every value printed by ``{{ ... }}`` is
wrapped by :func:`finalize` between private-use marks, so that the converter can tell the
template's own markup (trusted: the CPTS wrote it) from the data (names, comments, contacts:
never interpreted):

* in Markdown, the data is escaped (a name starting with ``#`` or holding ``*`` stays text);
* in plain text, the data is written as is and the template's markup is removed;
* in HTML, everything is escaped (``<`` → ``&lt;``), then the template's markup becomes tags.

Nothing here does I/O.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Iterator
from typing import Literal

import attrs

__all__ = ["Rendered", "convert", "escape_markdown", "finalize", "strip_marks"]

OPEN = "\ue000"
"""Starts a value printed by the template (data)."""
CLOSE = "\ue001"
"""Ends a value printed by the template."""
BREAK = "\ue002"
"""A line break inside a value."""
_MARKS = re.compile("[\ue000-\ue002]")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def strip_marks(text: str) -> str:
    """``text`` without the private-use marks (they must never come from a template or data)."""
    return _MARKS.sub("", text)


def _format_value(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, dt.date):
        return value.strftime("%d/%m/%Y")
    return str(value)


def finalize(value: object) -> str:
    """Jinja2's ``finalize``: a printed value, marked as data.

    ``None`` prints nothing, booleans ``oui``/``non``, dates ``jj/mm/aaaa``. Control
    characters are dropped and line breaks kept as :data:`BREAK`.
    """
    text = _format_value(value)
    text = strip_marks(text).replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub("", text).replace("\n", BREAK)
    return f"{OPEN}{text}{CLOSE}"


# --------------------------------------------------------------------------------------------
# Markdown escaping of data

_INLINE = re.compile(r"([\\`*_\[\]<>|~#])")
_ENTITY = re.compile(r"&(?=#?\w+;)")
_LINE_START = re.compile(r"^(\s*)([-+=>]|\d+(?=[.)]))")


def escape_markdown(text: str) -> str:
    """``text`` escaped so that Markdown shows it as written (one line; no block starts).

    Inline markers (``* _ [ ] < > | ~ # ` \\``) are backslash-escaped everywhere; a ``-``,
    ``+``, ``=``, ``>`` or a number followed by ``.`` or ``)`` at the start is escaped too, so
    the text cannot start a list, a quote or a title.
    """
    escaped = _ENTITY.sub(r"\\&", _INLINE.sub(r"\\\1", text))
    return _LINE_START.sub(r"\1\\\2", escaped)


# --------------------------------------------------------------------------------------------
# Parsing the rendered template

Segment = tuple[str, bool]
"""A piece of a line: its text and whether it is data."""


def _segments(line: str) -> list[Segment]:
    out: list[Segment] = []
    pos = 0
    while pos < len(line):
        start = line.find(OPEN, pos)
        if start < 0:
            out.append((line[pos:], False))
            break
        if start > pos:
            out.append((line[pos:start], False))
        end = line.find(CLOSE, start)
        if end < 0:  # cannot happen: marks are stripped from templates and data
            end = len(line)
        out.append((line[start + 1 : end], True))
        pos = end + 1
    return [s for s in out if s[0]]


BlockKind = Literal["blank", "heading", "rule", "item", "para"]


@attrs.frozen
class _Line:
    kind: BlockKind
    content: tuple[Segment, ...] = ()
    level: int = 0  # heading level, or list depth
    ordered: str = ""  # the number of an ordered item ("1."), empty for a bullet
    raw: str = ""  # the line's Markdown marker as written (for the Markdown output)


_HEADING = re.compile(r"^(#{1,6})[ \t]+")
_RULE = re.compile(r"^[ \t]*(?:-[ \t]*){3,}$|^[ \t]*(?:\*[ \t]*){3,}$")
_BULLET = re.compile(r"^([ \t]*)[-*+][ \t]+")
_ORDERED = re.compile(r"^([ \t]*)(\d{1,9}[.)])[ \t]+")


def _classify(line: str) -> _Line:
    segs = _segments(line)
    if not "".join(t for t, _ in segs).strip():
        return _Line("blank")
    first, first_data = segs[0]
    if not first_data:
        if len(segs) == 1 and _RULE.match(first):
            return _Line("rule", raw="---")
        for pattern, kind in ((_HEADING, "heading"), (_BULLET, "item"), (_ORDERED, "item")):
            m = pattern.match(first)
            if m is None:
                continue
            rest = tuple(s for s in ((first[m.end() :], False), *segs[1:]) if s[0])
            if kind == "heading":
                return _Line("heading", rest, level=len(m[1]), raw=m[0])
            depth = len(m[1].expandtabs(4)) // 2
            number = m[2] if pattern is _ORDERED else ""
            return _Line("item", rest, level=depth, ordered=number, raw=m[0])
    return _Line("para", tuple(segs))


# --------------------------------------------------------------------------------------------
# Inline markup of the template's own text

_INLINE_TOKEN = re.compile(r"\\([!-/:-@\[-`{-~])|(\*\*)|(\*)")

Token = tuple[Literal["text", "data", "strong", "em"], str]


def _tokens(content: tuple[Segment, ...]) -> list[Token]:
    tokens: list[Token] = []
    for text, is_data in content:
        if is_data:
            tokens.append(("data", text))
            continue
        pos = 0
        for m in _INLINE_TOKEN.finditer(text):
            if m.start() > pos:
                tokens.append(("text", text[pos : m.start()]))
            if m[1] is not None:
                tokens.append(("text", m[1]))
            elif m[2] is not None:
                tokens.append(("strong", m[2]))
            else:
                tokens.append(("em", m[3]))
            pos = m.end()
        if pos < len(text):
            tokens.append(("text", text[pos:]))
    # an unpaired marker is plain text
    for marker in ("strong", "em"):
        where = [i for i, (kind, _) in enumerate(tokens) if kind == marker]
        if len(where) % 2:
            i = where[-1]
            tokens[i] = ("text", tokens[i][1])
    return tokens


def _inline_text(content: tuple[Segment, ...]) -> str:
    out: list[str] = []
    for kind, value in _tokens(content):
        if kind in ("text", "data"):
            out.append(value.replace(BREAK, "\n"))
    return "".join(out)


def _inline_html(content: tuple[Segment, ...]) -> str:
    out: list[str] = []
    opened = {"strong": False, "em": False}
    for kind, value in _tokens(content):
        if kind == "text" or kind == "data":
            out.append(html.escape(value, quote=False).replace(BREAK, "<br>\n"))
        else:
            out.append(f"</{kind}>" if opened[kind] else f"<{kind}>")
            opened[kind] = not opened[kind]
    return "".join(out)


def _inline_markdown(content: tuple[Segment, ...]) -> str:
    out: list[str] = []
    for text, is_data in content:
        if is_data:
            out.append("  \n".join(escape_markdown(part) for part in text.split(BREAK)))
        else:
            out.append(text)
    return "".join(out)


# --------------------------------------------------------------------------------------------
# Output


@attrs.frozen
class Rendered:
    """A rendered letter in its three forms.

    Attributes:
        subject: the text of the letter's first title (empty when it has none).
        markdown: Markdown, data escaped.
        text: plain text, markup removed.
        html: a whole HTML page (UTF-8), everything escaped.
    """

    subject: str
    markdown: str
    text: str
    html: str


def _lines(rendered: str) -> list[_Line]:
    lines: list[_Line] = []
    for raw in rendered.split("\n"):
        line = _classify(raw.rstrip())
        if line.kind == "blank" and (not lines or lines[-1].kind == "blank"):
            continue
        lines.append(line)
    while lines and lines[-1].kind == "blank":
        lines.pop()
    return lines


def _markdown(lines: list[_Line]) -> str:
    out: list[str] = []
    for i, line in enumerate(lines):
        following = lines[i + 1] if i + 1 < len(lines) else None
        if line.kind == "blank":
            out.append("")
        elif line.kind == "rule":
            if out and out[-1]:
                out.append("")  # else the line above would become a title
            out.append("---")
        elif line.kind == "heading":
            out.append(line.raw + _inline_markdown(line.content).strip())
        else:
            text = _inline_markdown(line.content).strip()
            if line.kind == "item":
                text = line.raw + text
            if following is not None and following.kind == "para":
                text += "  "  # a line break, as in the template
            out.append(text)
    return "\n".join(out) + "\n"


def _text(lines: list[_Line]) -> str:
    out: list[str] = []
    for line in lines:
        if line.kind == "blank":
            out.append("")
        elif line.kind == "rule":
            out.append("-" * 40)
        elif line.kind == "heading":
            title = _inline_text(line.content).strip()
            out.append(title)
            if line.level <= 2:
                width = max(len(part) for part in title.split("\n"))
                out.append(("=" if line.level == 1 else "-") * width)
        elif line.kind == "item":
            marker = line.ordered or "-"
            body = _inline_text(line.content).strip()
            pad = "  " * line.level
            hang = "\n" + pad + " " * (len(marker) + 1)
            out.append(f"{pad}{marker} {body.replace(chr(10), hang)}")
        else:
            out.append(_inline_text(line.content).strip())
    return "\n".join(out) + "\n"


def _html_blocks(lines: list[_Line]) -> Iterator[str]:
    lists: list[str] = []  # open list tags, innermost last
    paragraph: list[str] = []

    def close_paragraph() -> Iterator[str]:
        if paragraph:
            yield "<p>" + "<br>\n".join(paragraph) + "</p>"
            paragraph.clear()

    def close_lists(depth: int) -> Iterator[str]:
        while len(lists) > depth:
            yield f"</li></{lists.pop()}>"

    for line in lines:
        if line.kind == "item":
            yield from close_paragraph()
            tag = "ol" if line.ordered else "ul"
            depth = min(line.level, len(lists))
            yield from close_lists(depth + 1)
            if len(lists) == depth + 1 and lists[-1] != tag:
                yield from close_lists(depth)
            if len(lists) == depth + 1:
                yield "</li>"
            else:
                lists.append(tag)
                yield f"<{tag}>"
            yield "<li>" + _inline_html(line.content).strip()
            continue
        if line.kind == "para" and lists and not paragraph:
            # a line right after a list item continues it
            yield "<br>\n" + _inline_html(line.content).strip()
            continue
        yield from close_lists(0)
        if line.kind == "para":
            paragraph.append(_inline_html(line.content).strip())
            continue
        yield from close_paragraph()
        if line.kind == "heading":
            yield f"<h{line.level}>{_inline_html(line.content).strip()}</h{line.level}>"
        elif line.kind == "rule":
            yield "<hr>"
    yield from close_paragraph()
    yield from close_lists(0)


def _html(lines: list[_Line], subject: str) -> str:
    body = "\n".join(_html_blocks(lines))
    title = html.escape(subject or "Courrier", quote=False)
    return (
        '<!DOCTYPE html>\n<html lang="fr">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{title}</title>\n</head>\n<body>\n{body}\n</body>\n</html>\n"
    )


def convert(rendered: str) -> Rendered:
    """Turn a template's output (values marked by :func:`finalize`) into the three forms."""
    lines = _lines(rendered)
    heading = next((line for line in lines if line.kind == "heading"), None)
    subject = "" if heading is None else " ".join(_inline_text(heading.content).split())
    return Rendered(
        subject=subject,
        markdown=_markdown(lines),
        text=_text(lines),
        html=_html(lines, subject),
    )
