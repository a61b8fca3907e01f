"""Reading YAML with bounds: every YAML file mt-access reads (policies, form mappings and
presets) goes through :func:`parse_yaml` or :func:`read_yaml_file`.

The text is parsed once, as a stream of events (libyaml's parser when PyYAML has it, else
PyYAML's own), and the Python data is built here, without recursion, while recording the line
of every key path. Only the safe YAML types are built (null, booleans, integers, floats, texts,
dates); any other tag is refused. A configuration file is small and flat, so the reader refuses,
with a :class:`~mt_access.errors.PolicyError` naming the file and line:

- a text larger than :data:`MAX_YAML_BYTES`;
- more than :data:`MAX_YAML_NODES` values once the aliases (``*nom``) are expanded: an alias
  counts every value of the anchored part each time it is used, so an "alias bomb" is refused
  after a bounded amount of work and memory;
- collections nested deeper than :data:`MAX_YAML_DEPTH` (aliases expanded);
- an alias used inside the part it names (a recursive structure), an unknown alias;
- NaN and infinities (``.nan``, ``.inf``), wherever they are written;
- several documents in one file.

Aliases share the Python object they name, as :func:`yaml.safe_load` does.
``docs/yaml-reference.md`` documents the limits.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
import yaml.constructor
import yaml.events
import yaml.resolver

from mt_access.errors import PolicyError

__all__ = [
    "MAX_YAML_BYTES",
    "MAX_YAML_DEPTH",
    "MAX_YAML_KEY_PATH",
    "MAX_YAML_NODES",
    "parse_yaml",
    "read_yaml_file",
]

MAX_YAML_BYTES = 2_000_000
"""Largest YAML text read, in bytes (UTF-8). The shipped policies are under 4 kB; listing
every commune of France (about 35,000) takes about 600 kB."""

MAX_YAML_NODES = 100_000
"""Most values (keys, texts, numbers, lists, dictionaries) in one YAML text, each alias
counted as the whole part it names, every time it is used."""

MAX_YAML_DEPTH = 50
"""Most lists and dictionaries nested in one another (the shipped files use at most 5)."""

MAX_YAML_KEY_PATH = 1_000
"""Longest key path (``$.intake.fields.reason.values.<wording>``), in characters: the
shipped files need at most 64; an answer's wording used as a key may be a sentence. Bounding
it bounds the memory of the lines recorded for the key paths."""

try:
    from yaml import CSafeLoader as _EventSource
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    from yaml import SafeLoader as _EventSource  # type: ignore[assignment]

_TAG_PREFIX = "tag:yaml.org,2002:"
_Construct = Callable[[Any, yaml.ScalarNode], Any]
_SCALAR_TAGS: dict[str, _Construct] = {
    _TAG_PREFIX + name: yaml.constructor.SafeConstructor.yaml_constructors[_TAG_PREFIX + name]
    for name in ("null", "bool", "int", "float", "str", "timestamp")
}
_MAPPING_TAGS = (None, "!", _TAG_PREFIX + "map")
_SEQUENCE_TAGS = (None, "!", _TAG_PREFIX + "seq")
_NO_KEY = object()


class _Anchor:
    """A completed anchored value: what an alias to it adds."""

    __slots__ = ("count", "end", "height", "line", "path", "raw", "start", "value")

    def __init__(
        self,
        value: Any,
        *,
        path: str,
        line: int,
        start: int,
        end: int,
        count: int,
        height: int,
        raw: str | None,
    ) -> None:
        self.value = value
        self.path = path
        self.line = line
        self.start = start
        self.end = end
        self.count = count
        self.height = height
        self.raw = raw


class _Frame:
    """An open list or dictionary."""

    __slots__ = (
        "anchor",
        "height",
        "index",
        "key",
        "key_path",
        "line",
        "nodes_before",
        "path",
        "seen",
        "start",
        "value",
    )

    def __init__(
        self, value: list[Any] | dict[Any, Any], path: str, line: int, start: int, nodes: int
    ) -> None:
        self.value = value
        self.path = path
        self.line = line
        self.start = start
        self.nodes_before = nodes
        self.anchor: str | None = None
        self.height = 0
        self.index = 0
        self.key: Any = _NO_KEY
        self.key_path = ""
        self.seen: set[str] = set()


def _size_text(size: int) -> str:
    if size >= 100_000:
        return f"{size / 1_000_000:.1f} Mo".replace(".", ",")
    return f"{size:,} octets".replace(",", " ")


def _check_size(size: int, source: str) -> None:
    if size > MAX_YAML_BYTES:
        raise PolicyError(
            f"fichier YAML trop volumineux : {_size_text(size)} pour une limite de "
            f"{_size_text(MAX_YAML_BYTES)} ; une politique ou une correspondance de formulaire "
            "tient en quelques kilo-octets (même avec toutes les communes de France) : "
            "vérifiez que c'est le bon fichier et retirez-en ce qui n'est pas de la "
            "configuration (données de patients, exports)",
            source=source,
        )


def _count(n: int) -> str:
    return f"{n:,}".replace(",", " ")


class _Builder:
    """Builds the data and the lines of each key path from the parser's events."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.resolver = yaml.resolver.Resolver()
        self.constructor = yaml.constructor.SafeConstructor()
        self.entries: list[tuple[str, int]] = []
        self.anchors: dict[str, _Anchor] = {}
        self.open_anchors: dict[str, int] = {}
        self.stack: list[_Frame] = []
        self.nodes = 0
        self.root: Any = None
        self.documents = 0

    def error(self, message: str, line: int | None, path: str = "$") -> PolicyError:
        return PolicyError(message, source=self.source, line=line, path=path)

    def build(self, events: _EventSource) -> tuple[Any, dict[str, int]]:
        while events.check_event():
            event = events.get_event()
            if event is not None:
                self.feed(event)
        return self.root, dict(self.entries)

    def feed(self, event: yaml.Event) -> None:
        line = event.start_mark.line + 1 if event.start_mark is not None else None
        if isinstance(event, yaml.DocumentStartEvent):
            self.documents += 1
            if self.documents > 1:
                raise self.error(
                    "un seul document YAML attendu (le fichier contient un second « --- »)",
                    line,
                )
            return
        if isinstance(event, yaml.SequenceEndEvent | yaml.MappingEndEvent):
            self.close()
            return
        if not isinstance(event, yaml.NodeEvent):
            return  # stream start and end, document end
        assert line is not None
        if self.stack and isinstance(self.stack[-1].value, dict):
            frame = self.stack[-1]
            if frame.key is _NO_KEY:
                self.key(frame, event, line)
                return
            path = frame.key_path
        elif self.stack:
            frame = self.stack[-1]
            path = f"{frame.path}[{frame.index}]"
            self.entries.append((path, line))
        else:
            path = "$"
            self.entries.append((path, line))
        if isinstance(event, yaml.AliasEvent):
            anchor = self.alias(str(event.anchor), path, line)
            self.add(anchor.value, anchor.height)
            return
        self.count(1, line, path)
        if isinstance(event, yaml.ScalarEvent):
            value = self.scalar(event, path, line)
            if event.anchor is not None:
                self.anchors[event.anchor] = _Anchor(
                    value, path=path, line=line, start=0, end=0, count=1, height=0, raw=event.value
                )
            self.add(value, 0)
            return
        collection: list[Any] | dict[Any, Any]
        if isinstance(event, yaml.MappingStartEvent):
            collection, allowed = {}, _MAPPING_TAGS
        else:
            assert isinstance(event, yaml.SequenceStartEvent)
            collection, allowed = [], _SEQUENCE_TAGS
        if event.tag not in allowed:
            raise self.error(
                f"YAML invalide : étiquette {_tag(event.tag)} non prise en charge", line, path
            )
        if len(self.stack) + 1 > MAX_YAML_DEPTH:
            raise self.error(
                f"imbrication trop profonde : plus de {MAX_YAML_DEPTH} niveaux de listes ou de "
                "dictionnaires les uns dans les autres (limite) ; un fichier de configuration "
                "en utilise moins de 10",
                line,
                path,
            )
        opened = _Frame(collection, path, line, len(self.entries), self.nodes - 1)
        if event.anchor is not None:
            opened.anchor = event.anchor
            self.open_anchors[event.anchor] = line
        self.stack.append(opened)

    def key(self, frame: _Frame, event: yaml.NodeEvent, line: int) -> None:
        if isinstance(event, yaml.AliasEvent):
            anchor = self.alias(str(event.anchor), frame.path, line)
            if anchor.raw is None:
                raise self.error(
                    "clé de dictionnaire : un texte est attendu, pas une liste ni un dictionnaire",
                    line,
                    frame.path,
                )
            value, raw = anchor.value, anchor.raw
        elif isinstance(event, yaml.ScalarEvent):
            self.count(1, line, frame.path)
            raw = event.value
            value = self.scalar(event, f"{frame.path}.{raw}", line)
            if event.anchor is not None:
                self.anchors[event.anchor] = _Anchor(
                    value, path="", line=line, start=0, end=0, count=1, height=0, raw=raw
                )
        else:
            raise self.error(
                "clé de dictionnaire : un texte est attendu, pas une liste ni un dictionnaire",
                line,
                frame.path,
            )
        child = f"{frame.path}.{raw}"
        self.check_path(child, line)
        if raw in frame.seen:
            raise self.error(f"clé {raw!r} en double dans ce dictionnaire", line, child)
        frame.seen.add(raw)
        frame.key = value
        frame.key_path = child
        self.entries.append((child, line))

    def count(self, added: int, line: int, path: str) -> None:
        self.nodes += added
        if self.nodes > MAX_YAML_NODES:
            raise self.error(
                f"trop de valeurs : plus de {_count(MAX_YAML_NODES)} (limite), chaque alias "
                "(*nom) comptant toutes les valeurs de la partie qu'il désigne à chaque emploi ; "
                "un fichier de configuration en compte quelques centaines : remplacez les alias "
                "par ce qu'ils doivent dire",
                line,
                path,
            )

    def alias(self, name: str, path: str, line: int) -> _Anchor:
        if name in self.open_anchors:
            raise self.error(
                f"structure récursive : l'alias *{name} est à l'intérieur de la partie qu'il "
                f"désigne (ancre &{name}, ligne {self.open_anchors[name]}) ; une configuration "
                "ne peut pas se contenir elle-même",
                line,
                path,
            )
        anchor = self.anchors.get(name)
        if anchor is None:
            raise self.error(
                f"alias *{name} inconnu : aucune ancre &{name} ne le précède", line, path
            )
        self.count(anchor.count, line, path)
        if len(self.stack) + anchor.height > MAX_YAML_DEPTH:
            raise self.error(
                f"imbrication trop profonde une fois l'alias *{name} remplacé par la partie "
                f"qu'il désigne (ancre &{name}, ligne {anchor.line}) : plus de "
                f"{MAX_YAML_DEPTH} niveaux (limite)",
                line,
                path,
            )
        cut = len(anchor.path)
        for sub, sub_line in self.entries[anchor.start : anchor.end]:
            copied = path + sub[cut:]
            self.check_path(copied, line)
            self.entries.append((copied, sub_line))
        return anchor

    def check_path(self, path: str, line: int) -> None:
        if len(path) > MAX_YAML_KEY_PATH:
            raise self.error(
                f"clé trop longue : le chemin de clés dépasse {_count(MAX_YAML_KEY_PATH)} "
                "caractères (limite) ; une clé est un nom court",
                line,
                path[:80] + "…",
            )

    def scalar(self, event: yaml.ScalarEvent, path: str, line: int) -> Any:
        tag = event.tag
        if tag is None or tag == "!":
            tag = self.resolver.resolve(  # type: ignore[no-untyped-call]
                yaml.ScalarNode, event.value, event.implicit
            )
        if tag == _TAG_PREFIX + "merge":
            raise self.error(
                "les clés de fusion « << » ne sont pas prises en charge : écrivez les clés",
                line,
                path,
            )
        construct = _SCALAR_TAGS.get(tag)
        if construct is None:
            raise self.error(
                f"YAML invalide : étiquette {_tag(tag)} non prise en charge (types acceptés : "
                "texte, nombre, booléen, date, null) ; si c'est un texte, écrivez-le entre "
                "guillemets",
                line,
                path,
            )
        node = yaml.ScalarNode(tag, event.value, None, None, event.style)
        try:
            value = construct(self.constructor, node)
        except (ValueError, TypeError, AttributeError, OverflowError, yaml.YAMLError):
            kind = {"int": "nombre entier", "float": "nombre", "timestamp": "date"}.get(
                tag.removeprefix(_TAG_PREFIX), "valeur"
            )
            raise self.error(f"{kind} illisible ou hors limites", line, path) from None
        if isinstance(value, float) and not math.isfinite(value):
            raise self.error(
                "nombre non fini (.nan, .inf ou trop grand) refusé : un nombre fini est attendu ; "
                "si c'est un texte, écrivez-le entre guillemets",
                line,
                path,
            )
        return value

    def add(self, value: Any, height: int) -> None:
        if not self.stack:
            self.root = value
            return
        frame = self.stack[-1]
        frame.height = max(frame.height, height)
        if isinstance(frame.value, dict):
            frame.value[frame.key] = value
            frame.key = _NO_KEY
        else:
            frame.value.append(value)
            frame.index += 1

    def close(self) -> None:
        frame = self.stack.pop()
        height = frame.height + 1
        if frame.anchor is not None:
            self.open_anchors.pop(frame.anchor, None)
            self.anchors[frame.anchor] = _Anchor(
                frame.value,
                path=frame.path,
                line=frame.line,
                start=frame.start,
                end=len(self.entries),
                count=self.nodes - frame.nodes_before,
                height=height,
                raw=None,
            )
        self.add(frame.value, height)


def _tag(tag: str | None) -> str:
    text = str(tag)
    if text.startswith(_TAG_PREFIX):
        return "!!" + text.removeprefix(_TAG_PREFIX)
    return text


def parse_yaml(text: str, source: str = "<texte>") -> tuple[Any, dict[str, int]]:
    """Parse YAML safely and within bounds; return the data and the line of each key path.

    Args:
        text: the YAML text.
        source: the file name, for error messages.

    Returns:
        ``(data, lines)``: the data as :func:`yaml.safe_load` would build it, and the 1-based
        line of every key path (``$.routing.priority``, ``$.territory.communes[0]``).

    Raises:
        PolicyError: a syntax error, a duplicated key, an unsupported tag, a NaN or an
            infinity, or a text beyond the limits of this module; with the file and line.
    """
    _check_size(len(text) if len(text) > MAX_YAML_BYTES else _utf8_size(text), source)
    try:
        events = _EventSource(text)
    except UnicodeEncodeError:
        raise PolicyError(
            "caractère invalide dans le texte (UTF-8 attendu)", source=source
        ) from None
    try:
        return _Builder(source).build(events)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise PolicyError(_syntax_message(exc), source=source, line=line) from None
    except yaml.YAMLError as exc:
        raise PolicyError(f"YAML invalide : {exc}", source=source) from None
    finally:
        events.dispose()


_SYNTAX = {
    "exceeded maximum nesting depth": f"imbrication trop profonde : plus de {MAX_YAML_DEPTH} "
    "niveaux de listes ou de dictionnaires les uns dans les autres (limite)",
    "mapping values are not allowed": "« : » inattendu ; un texte qui contient « : » s'écrit "
    "entre guillemets, et une clé doit être alignée sur les autres clés du même niveau",
    "could not find expected ':'": "« : » attendu après une clé",
    "did not find expected key": "clé attendue : vérifiez l'alignement (indentation) de "
    "cette ligne et de la précédente",
    "did not find expected node content": "valeur attendue",
    "did not find expected ','": "« , » ou « ] » / « } » attendu : crochet ou accolade non fermé ?",
    "did not find expected '-' indicator": "élément de liste « - » attendu : vérifiez "
    "l'alignement (indentation)",
    "that cannot start any token": "caractère inattendu en début de valeur "
    "(tabulation, « @ » ou « ` ») ; indentez avec des espaces, mettez le texte entre guillemets",
    "found unexpected end of stream": "fin du fichier inattendue "
    "(guillemet ou crochet non fermé ?)",
    "found undefined alias": "alias inconnu : aucune ancre &nom ne le précède",
    "found unknown escape character": "séquence d'échappement inconnue entre guillemets "
    "doubles ; écrivez le texte entre guillemets simples",
    "control characters are not allowed": "caractère de contrôle interdit dans le texte",
    "special characters are not allowed": "caractère spécial interdit dans le texte",
}


def _syntax_message(exc: yaml.MarkedYAMLError) -> str:
    """The French message for a syntax error (the parser's own, in English, otherwise)."""
    problem = str(exc.problem or exc)
    for english, french in _SYNTAX.items():
        if english in problem:
            return f"YAML invalide : {french}"
    return f"YAML invalide : {problem}"


def _utf8_size(text: str) -> int:
    return len(text.encode("utf-8", errors="surrogatepass"))


def read_yaml_file(path: Path, source: str | None = None) -> str:
    """The text of a YAML file, read only up to :data:`MAX_YAML_BYTES`.

    Raises:
        PolicyError: missing or unreadable file, not UTF-8, or larger than the limit.
    """
    source = str(path) if source is None else source
    try:
        with path.open("rb") as stream:
            data = stream.read(MAX_YAML_BYTES + 1)
            if len(data) > MAX_YAML_BYTES:
                _check_size(max(len(data), os.fstat(stream.fileno()).st_size), source)
    except FileNotFoundError:
        raise PolicyError("fichier introuvable", source=source) from None
    except IsADirectoryError:
        raise PolicyError("c'est un dossier, pas un fichier YAML", source=source) from None
    except PermissionError:
        raise PolicyError(
            "lecture non autorisée : vérifiez les droits sur ce fichier", source=source
        ) from None
    except OSError as exc:
        raise PolicyError(f"lecture impossible : {exc.strerror}", source=source) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise PolicyError(
            f"le fichier doit être encodé en UTF-8 (caractère illisible ligne {line} ; "
            "réenregistrez-le en UTF-8)",
            source=source,
        ) from None
