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
        return _LABELS[self]


_LABELS: dict[LabelledEnum, str] = {}


def register_labels(labels: Mapping[LabelledEnum, str]) -> None:
    """Record the French labels of one or more enums; every member must have one."""
    for cls in {type(member) for member in labels}:
        missing = [m.value for m in cls if m not in labels]
        if missing:
            raise ValueError(f"{cls.__name__}: no label for {', '.join(missing)}")
    _LABELS.update(labels)
