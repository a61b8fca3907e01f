"""The base of the geography objects that never change once built."""

from __future__ import annotations

__all__ = ["Frozen"]


class Frozen:
    """A base for the classes whose objects never change once built (the commune reference,
    the commune outlines, a territory): setting or deleting an attribute raises
    ``AttributeError`` naming the class. Such a class sets its attributes while it is built
    with ``object.__setattr__``."""

    __slots__ = ()

    def __setattr__(self, name: str, value: object) -> None:
        kind = type(self).__name__
        raise AttributeError(f"{kind} est immuable : impossible de modifier {name!r}")

    def __delattr__(self, name: str) -> None:
        kind = type(self).__name__
        raise AttributeError(f"{kind} est immuable : impossible de supprimer {name!r}")
