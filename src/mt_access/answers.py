"""The answers of a request to the CPTS's own questions: an immutable, hashable mapping.

:class:`Answers` maps a question id (``isole``) to a typed value: ``bool`` (``oui_non``),
``str`` (``choix``, ``texte``), ``frozenset[str]`` (``choix_multiple``), ``int`` or ``float``
(``nombre``), :class:`datetime.date` (``date``). It only checks these generic types; whether a
value fits its question (options, bounds, length) is checked against the policy by
:func:`mt_access.questions.check_answers`.

Nothing here does I/O. The register stores answers as JSON text (:func:`encode_answers`,
:func:`decode_answers`).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Mapping
from typing import Any

__all__ = ["AnswerValue", "Answers", "decode_answers", "encode_answers"]

AnswerValue = bool | int | float | str | dt.date | frozenset[str]
"""The value of one answer (see the module's docstring)."""


def _checked(key: object, value: object) -> tuple[str, AnswerValue]:
    if not isinstance(key, str) or not key:
        raise TypeError("réponses : identifiant de question (texte non vide) attendu")
    if isinstance(value, dt.datetime):
        raise TypeError(f"réponse à la question {key} : date sans heure attendue")
    if isinstance(value, bool | int | float | str | dt.date):
        return key, value
    if isinstance(value, frozenset | set | list | tuple) and all(
        isinstance(item, str) for item in value
    ):
        return key, frozenset(value)
    raise TypeError(
        f"réponse à la question {key} : oui/non, texte, nombre, date ou ensemble de textes "
        f"attendu, reçu {type(value).__name__}"
    )


class Answers(Mapping[str, AnswerValue]):
    """Question id → answer, immutable and hashable; the ids are kept sorted.

    ``Answers({"isole": True})``; ``Answers()`` is empty. Two answers are equal when they
    have the same ids and values of the same types (``True`` is not ``1``).
    """

    __slots__ = ("_items",)

    _items: tuple[tuple[str, AnswerValue], ...]

    def __init__(self, values: Mapping[str, object] | None = None) -> None:
        pairs = [_checked(k, v) for k, v in (values or {}).items()]
        object.__setattr__(self, "_items", tuple(sorted(pairs, key=lambda kv: kv[0])))

    @classmethod
    def of(cls, values: Mapping[str, object] | None) -> Answers:
        """``values`` as :class:`Answers` (itself when it already is)."""
        return values if isinstance(values, Answers) else cls(values)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Answers est immuable")

    def __getitem__(self, key: str) -> AnswerValue:
        for k, v in self._items:
            if k == key:
                return v
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return (k for k, _ in self._items)

    def __len__(self) -> int:
        return len(self._items)

    def _typed(self) -> tuple[tuple[str, str, AnswerValue], ...]:
        return tuple((k, type(v).__name__, v) for k, v in self._items)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Answers):
            return self._typed() == other._typed()
        if isinstance(other, Mapping):
            return dict(self._items) == dict(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._items)

    def __repr__(self) -> str:
        # Answers are personal data: ``repr`` names the questions answered, never the values.
        return f"Answers({', '.join(k for k, _ in self._items)})"

    def replace(self, changes: Mapping[str, object | None]) -> Answers:
        """A copy with ``changes`` applied: a value sets the answer, ``None`` removes it."""
        values: dict[str, object] = dict(self._items)
        for key, value in changes.items():
            if value is None:
                values.pop(key, None)
            else:
                values[key] = value
        return Answers(values)


def encode_answers(answers: Mapping[str, AnswerValue]) -> str:
    """JSON text of ``answers``: an object by question id; a date as ``{"date": "aaaa-mm-jj"}``,
    a set of options as ``{"set": [sorted texts]}``, other values as JSON (``true``, ``3``,
    ``2.5``, ``"texte"``); ``{}`` when empty. Keys sorted, so equal answers give equal text."""
    out: dict[str, Any] = {}
    for key, value in Answers.of(answers).items():
        if isinstance(value, dt.date):
            out[key] = {"date": value.isoformat()}
        elif isinstance(value, frozenset):
            out[key] = {"set": sorted(value)}
        else:
            out[key] = value
    return json.dumps(out, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def decode_answers(text: str) -> Answers:
    """The reverse of :func:`encode_answers`.

    Raises:
        ValueError: the text is not such JSON.
    """
    if text == "{}":
        return _EMPTY
    data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError("réponses : objet JSON attendu")
    values: dict[str, object] = {}
    for key, value in data.items():
        if isinstance(value, dict) and set(value) == {"date"}:
            values[key] = dt.date.fromisoformat(value["date"])
        elif isinstance(value, dict) and set(value) == {"set"}:
            if not isinstance(value["set"], list):
                raise ValueError(f"réponses : liste attendue pour la question {key}")
            values[key] = frozenset(value["set"])
        else:
            values[key] = value
    try:
        return Answers(values)
    except TypeError as exc:
        raise ValueError(str(exc)) from None


_EMPTY = Answers()
