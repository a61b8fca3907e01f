"""Checking a parsed policy file: one reader that names the key path and the line of every error.

:mod:`mt_access.yamlread` parses the text (and records the line of each key path);
this module checks what was parsed. Every section of a policy, the core ones
(:mod:`mt_access.policy`) and those contributed by plugins (``intake:``, ``letters:``...),
is read through a :class:`Node`: a value with its key path. A child is reached by its key
(``node.at("default_monthly")``), so the path ``$.capacity.default_monthly`` is derived, never
written by hand, and every error is a :class:`~mt_access.errors.PolicyError` built by one
function, :meth:`Locator.error`, which looks up the line of the path (or of the nearest
enclosing key whose line is known).

Messages are French, and never repeat a value longer than a short word or number.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import attrs

from mt_access.errors import PolicyError

__all__ = ["ABSENT", "ErrorFactory", "Locator", "Node", "shown_number", "yaml_kind"]

ErrorFactory = Callable[[str, str], PolicyError]
"""Builds the error for a key path and a French message (:meth:`Locator.error`)."""


class _Absent:
    """The value of a key the mapping does not have."""

    def __repr__(self) -> str:
        return "ABSENT"


ABSENT: Any = _Absent()
"""The value of a :class:`Node` for a missing key without a default."""


def yaml_kind(value: object) -> str:
    """A French description of a YAML value's type (and short value), for error messages."""
    if value is None:
        return "vide (null)"
    if isinstance(value, bool):
        return f"booléen {value!r}"
    if isinstance(value, int | float):
        return f"nombre {shown_number(value)}"
    if isinstance(value, str):
        return f"texte {value!r}"
    if isinstance(value, list):
        return "une liste"
    if isinstance(value, dict):
        return "un dictionnaire"
    if isinstance(value, dt.date):
        return f"date {value.isoformat()}"
    return type(value).__name__


def shown_number(value: float) -> str:
    """A number for a message (a number with hundreds of digits is only described)."""
    text = repr(value)
    return text if len(text) <= 20 else f"un nombre de {len(text)} caractères"


def _parent(path: str) -> str | None:
    """``$.a.b[2]`` → ``$.a.b`` → ``$.a`` → ``$`` → ``None``."""
    if "." not in path and "[" not in path:
        return None
    return path[: max(path.rfind("."), path.rfind("["))]


@attrs.frozen
class Locator:
    """Where a policy's text comes from, to locate its errors.

    Attributes:
        source: the file name (``"<dict>"`` for a mapping built in Python).
        lines: the line of each key path, as :func:`mt_access.yamlread.parse_yaml` gives them.
        factory: an error factory to use instead of the default one (kept for callers of
            :func:`mt_access.intake.forms.intake_from_policy` that pass their own).
    """

    source: str = "<dict>"
    lines: Mapping[str, int] = attrs.field(factory=dict)
    factory: ErrorFactory | None = attrs.field(default=None, eq=False, repr=False)

    def line(self, path: str) -> int | None:
        """The line of ``path``, else of the nearest enclosing key with a known line."""
        current: str | None = path
        while current is not None:
            line = self.lines.get(current)
            if line is not None:
                return line
            current = _parent(current)
        return None

    def error(self, path: str, message: str) -> PolicyError:
        """The error for ``path``: the file, the line, the key path and the message."""
        if self.factory is not None:
            return self.factory(path, message)
        return PolicyError(message, source=self.source, line=self.line(path), path=path)

    def root(self, value: object, path: str = "$") -> Node:
        """The node of a whole parsed document (or of a section at ``path``)."""
        return Node(value, path, self)


@attrs.frozen
class Node:
    """A value of a policy file at its key path, with the checks every section uses.

    Children are reached by key (:meth:`at`, :meth:`required`) or by position
    (:meth:`items`); their paths are derived from this one.
    """

    value: Any
    path: str
    locator: Locator = attrs.field(factory=Locator, repr=False)

    # -- navigation ---------------------------------------------------------------------------

    @property
    def present(self) -> bool:
        """Whether the key was in the file (a default counts as absent)."""
        return self.value is not ABSENT

    def __contains__(self, key: str) -> bool:
        return isinstance(self.value, dict) and key in self.value

    def at(self, key: str, default: Any = ABSENT) -> Node:
        """The child ``key`` (its value is ``default`` when the mapping lacks it)."""
        value = self.value.get(key, default) if isinstance(self.value, dict) else default
        return Node(value, f"{self.path}.{key}", self.locator)

    def required(self, key: str, missing: str | None = None) -> Node:
        """The child ``key``; an error at this node when it is absent (``missing``: the
        message, by default « clé 'key' obligatoire manquante »)."""
        if key not in self:
            raise self.error(missing or f"clé {key!r} obligatoire manquante")
        return self.at(key)

    def children(self) -> Iterator[tuple[str, Node]]:
        """The keys of a mapping (checked with :meth:`mapping` first) and their nodes."""
        for key in self.value:
            yield key, self.at(key)

    def items(self, *, expected: str = "liste") -> list[Node]:
        """The elements of a list, each with its path (``$.resources[2]``)."""
        if not isinstance(self.value, list):
            raise self.error(f"{expected} attendue, reçu {yaml_kind(self.value)}")
        return [Node(v, f"{self.path}[{i}]", self.locator) for i, v in enumerate(self.value)]

    # -- errors -------------------------------------------------------------------------------

    def error(self, message: str) -> PolicyError:
        """The :class:`PolicyError` for this node: file, line, key path and ``message``."""
        return self.locator.error(self.path, message)

    # -- checks -------------------------------------------------------------------------------

    def mapping(self, allowed: Iterable[str], *, expected: str | None = None) -> Node:
        """This node, checked to be a mapping whose keys are all in ``allowed``."""
        allowed = tuple(allowed)
        if not isinstance(self.value, dict):
            raise self.error(
                expected or f"dictionnaire (clé: valeur) attendu, reçu {yaml_kind(self.value)}"
            )
        for key in self.value:
            if key not in allowed:
                raise self.at(str(key)).error(
                    f"clé inconnue {key!r} ; clés possibles ici : {', '.join(allowed)}"
                )
        return self

    def text(
        self, *, allow_empty: bool = False, expected: str = "texte non vide", numbers: bool = True
    ) -> str:
        """A text, stripped (a number is read as its text when ``numbers``)."""
        value = self.value
        if numbers and isinstance(value, int | float) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str) or (not allow_empty and not value.strip()):
            raise self.error(f"{expected} attendu, reçu {yaml_kind(self.value)}")
        return value.strip()

    def boolean(self) -> bool:
        if not isinstance(self.value, bool):
            raise self.error(f"true ou false attendu, reçu {yaml_kind(self.value)}")
        return self.value

    def choice(self, choices: Sequence[str]) -> str:
        """A text among ``choices``."""
        text = self.text()
        if text not in choices:
            raise self.error(f"valeur parmi {', '.join(choices)} attendue, reçu {text!r}")
        return text

    def number(
        self,
        *,
        integer: bool,
        minimum: float | None = None,
        maximum: float | None = None,
        positive: bool = False,
    ) -> int | float:
        """A finite number within ``[minimum, maximum]`` (``> 0`` when ``positive``); the
        bounds come from :mod:`mt_access.bounds`."""
        value = self.value
        ok = isinstance(value, int) if integer else isinstance(value, int | float)
        if isinstance(value, bool) or not ok:
            expected = "un nombre entier" if integer else "un nombre"
            raise self.error(f"{expected} attendu, reçu {yaml_kind(value)}")
        assert isinstance(value, int | float)
        if isinstance(value, float) and not math.isfinite(value):
            raise self.error("nombre fini attendu, reçu une valeur non finie (.nan ou .inf)")
        if positive and value <= 0:
            raise self.error(f"valeur > 0 attendue, reçu {shown_number(value)}")
        if minimum is not None and value < minimum:
            raise self.error(f"valeur ≥ {minimum:g} attendue, reçu {shown_number(value)}")
        if maximum is not None and value > maximum:
            raise self.error(
                f"valeur ≤ {maximum:g} attendue (limite de mt-access, voir la référence YAML), "
                f"reçu {shown_number(value)}"
            )
        return value
