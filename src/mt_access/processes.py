"""Helpers for the worker processes some jobs start (the simulation's pool, PDF letters).

Kept apart from both users so that neither imports the other.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["main_module_hidden"]


@contextmanager
def main_module_hidden() -> Iterator[None]:
    """While starting ``spawn`` processes: ``__main__`` is an empty module, so that the
    children do not import the caller's script (they run mt_access code only)."""
    main = sys.modules.get("__main__")
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        if main is None:
            del sys.modules["__main__"]
        else:
            sys.modules["__main__"] = main
