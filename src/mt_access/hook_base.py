"""What the plugin manager and the checked hook calls share: naming the plugin that answered,
and calling a collection hook one implementation at a time.

:mod:`mt_access.plugins` collects the kinds and sections with it, and
:mod:`mt_access.hooks` calls the decision hooks with it; it imports neither.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from contextvars import ContextVar
from typing import Any, TypeVar

import pluggy

from mt_access.errors import MtAccessError, PluginError

__all__ = ["ACTIVE", "active", "collected", "describe_plugin", "failed", "is_wrapper", "named"]

T = TypeVar("T")

ACTIVE: ContextVar[pluggy.PluginManager | None] = ContextVar(
    "mt_access_active_plugin_manager", default=None
)
"""The plugin manager whose hooks are running, if any."""


@contextlib.contextmanager
def active(pm: pluggy.PluginManager) -> Iterator[None]:
    """Mark ``pm`` as the manager whose hooks are running (for a hook implementation that
    calls another hook, e.g. the pseudonym tie-break): :data:`ACTIVE`."""
    token = ACTIVE.set(pm)
    try:
        yield
    finally:
        ACTIVE.reset(token)


def describe_plugin(pm: pluggy.PluginManager, plugin: object) -> str:
    """A plugin's name for a message: its registered name, else (a name pluggy made up from
    ``id()``) its module or class name."""
    name = pm.get_name(plugin)
    if name is None or name.isdigit():
        name = getattr(plugin, "__name__", None) or type(plugin).__qualname__
    return str(name)


def is_wrapper(impl: pluggy.HookImpl) -> bool:
    """Whether ``impl`` wraps the other implementations (old- or new-style wrapper)."""
    return bool(impl.hookwrapper or getattr(impl, "wrapper", False))


def named(names: Sequence[str]) -> str:
    """« le plugin 'x' » or « l'un des plugins 'x', 'y' », for a message."""
    quoted = ", ".join(repr(n) for n in names)
    return f"le plugin {quoted}" if len(names) == 1 else f"l'un des plugins {quoted}"


def failed(hook: str, who: object, exc: BaseException) -> str:
    """The message of a hook implementation that raised (its type only: the text of a
    plugin's exception may hold personal data)."""
    return f"{hook} : {who} a échoué ({type(exc).__name__})"


def collected(
    pm: pluggy.PluginManager,
    hook: str,
    expected: type[T] | tuple[type[Any], ...],
    what: str,
) -> list[tuple[str, T]]:
    """Every item answered to the collection hook ``hook``, with the plugin that gave it, in
    pluggy's call order.

    Raises:
        PluginError: an implementation failed, did not answer a list, or answered an item
            that is not ``expected``; the message names the plugin.
    """
    out: list[tuple[str, T]] = []
    caller = getattr(pm.hook, hook)
    with active(pm):
        for impl in reversed(caller.get_hookimpls()):
            if is_wrapper(impl):
                raise PluginError(
                    f"{hook} : le plugin {describe_plugin(pm, impl.plugin)!r} enveloppe un "
                    "hook de collecte, ce qui n'est pas pris en charge"
                )
            name = describe_plugin(pm, impl.plugin)
            try:
                batch = impl.function()
            except MtAccessError:
                raise
            except Exception as exc:
                raise PluginError(failed(hook, f"le plugin {name!r}", exc)) from exc
            if batch is None:
                continue
            if not isinstance(batch, list | tuple):
                raise PluginError(
                    f"{hook} : le plugin {name!r} a renvoyé {type(batch).__name__} au lieu "
                    f"d'une liste de {what}"
                )
            for item in batch:
                if not isinstance(item, expected):
                    raise PluginError(
                        f"{hook} : le plugin {name!r} a renvoyé {type(item).__name__} au lieu "
                        f"de {what}"
                    )
                out.append((name, item))
    return out
