"""String enums with French labels for user-facing text, shared by every module."""

from __future__ import annotations

import enum
from collections.abc import Mapping

__all__ = ["LabelledEnum", "register_labels"]


class LabelledEnum(enum.StrEnum):
    """A string enum whose members have a French label (``member.label``).

    Labels are given once per enum with :func:`register_labels`, next to the enum.
    """

    @property
    def label(self) -> str:
        return _LABELS[type(self), self.value]


# Keyed by (enum class, value): members of string enums compare equal to their value, so
# ReferrerKind.PATIENT and Actor.PATIENT would otherwise share one entry.
_LABELS: dict[tuple[type[LabelledEnum], str], str] = {}


def register_labels(labels: Mapping[LabelledEnum, str]) -> None:
    """Record the French labels of **one** enum; every member must have one.

    One enum per call: members of different string enums with the same value are equal
    (``ReferrerKind.OTHER == SearchReason.OTHER``), so a dict literal mixing them would
    silently keep only one of them.
    """
    classes = {type(member) for member in labels}
    if len(classes) != 1:
        names = ", ".join(sorted(c.__name__ for c in classes)) or "none"
        raise ValueError(f"register_labels takes the labels of one enum, got: {names}")
    (cls,) = classes
    keyed = {(cls, member.value): text for member, text in labels.items()}
    missing = [m.value for m in cls if (cls, m.value) not in keyed]
    if missing:
        raise ValueError(f"{cls.__name__}: no label for {', '.join(missing)}")
    _LABELS.update(keyed)
