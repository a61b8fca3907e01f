"""Control characters: the one rule for text no one types (NUL, escape sequences, the C1
controls), tab and line breaks apart. Invisible in a spreadsheet or a form, meaningless in a
name or an address, and PostgreSQL refuses a NUL in any text. The intake takes them out of
the cells it reads (:func:`visible`); the register refuses them in a new GP's id and the web
forms next to the field (:func:`has_control`)."""

from __future__ import annotations

import re

__all__ = ["CONTROL_CHARACTERS", "has_control", "visible"]

CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
"""The control characters: C0 but tab, line feed and carriage return; DEL; C1."""

_REMOVED = dict.fromkeys([*range(0, 9), 11, 12, *range(14, 32), *range(127, 160)])


def has_control(text: str) -> bool:
    """Whether ``text`` holds one of the :data:`CONTROL_CHARACTERS`."""
    return CONTROL_CHARACTERS.search(text) is not None


def visible(text: str) -> str:
    """``text`` without its :data:`CONTROL_CHARACTERS`."""
    return text.translate(_REMOVED)
