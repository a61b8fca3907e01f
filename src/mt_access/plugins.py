"""The plugin manager: built-in plugins and third-party ones, registered the same way."""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from types import ModuleType

import pluggy

from mt_access import hookspecs
from mt_access.errors import PluginError
from mt_access.policy import CriterionKind, RouterKind

__all__ = [
    "DEFAULT_PLUGINS",
    "ENTRY_POINT_GROUP",
    "collect_criterion_kinds",
    "collect_routers",
    "get_plugin_manager",
    "hookimpl",
]

hookimpl = pluggy.HookimplMarker(hookspecs.PROJECT_NAME)
"""Marker for hook implementations: ``@hookimpl def mt_access_routers(): ...``."""

ENTRY_POINT_GROUP = "mt_access"
"""Entry-point group through which installed CPTS plugins are found."""

DEFAULT_PLUGINS: tuple[str, ...] = (
    "mt_access.policies.criteria",
    "mt_access.policies.routers",
    "mt_access.policies.decisions",
    "mt_access.policies.reference",
)
"""Built-in plugins, registered exactly like third-party ones."""


def get_plugin_manager(
    *,
    load_entry_points: bool = True,
    plugins: Iterable[object] = (),
) -> pluggy.PluginManager:
    """Build a fresh plugin manager.

    Adds the hook specifications, registers :data:`DEFAULT_PLUGINS`, then the installed
    plugins of the ``mt_access`` entry-point group (unless ``load_entry_points`` is false),
    then ``plugins`` (modules or objects with hook implementations), and checks that every
    hook implementation matches a specification.

    There is no global manager: each call returns a new one, so notebooks and tests can use
    different plugin sets side by side.
    """
    pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    for name in DEFAULT_PLUGINS:
        module: ModuleType = importlib.import_module(name)
        pm.register(module, name)
    if load_entry_points:
        pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
    for plugin in plugins:
        pm.register(plugin)
    pm.check_pending()
    return pm


def _collect(results: list[list[object]], expected: type[object], what: str) -> dict[str, object]:
    found: dict[str, object] = {}
    for batch in results:
        if not isinstance(batch, list | tuple):
            raise PluginError(
                f"un plugin a renvoyé {type(batch).__name__} au lieu d'une liste de {what}"
            )
        for item in batch:
            if not isinstance(item, expected):
                raise PluginError(
                    f"un plugin a renvoyé {type(item).__name__} au lieu de {expected.__name__}"
                )
            name = str(getattr(item, "name"))  # noqa: B009 - item is typed as object here
            if name in found:
                raise PluginError(f"{what} {name!r} enregistré par deux plugins")
            found[name] = item
    return dict(sorted(found.items()))


def collect_criterion_kinds(pm: pluggy.PluginManager) -> dict[str, CriterionKind]:
    """Every criterion kind registered through ``mt_access_criterion_kinds``, by name."""
    found = _collect(pm.hook.mt_access_criterion_kinds(), CriterionKind, "type de critère")
    return {k: v for k, v in found.items() if isinstance(v, CriterionKind)}


def collect_routers(pm: pluggy.PluginManager) -> dict[str, RouterKind]:
    """Every router registered through ``mt_access_routers``, by name."""
    found = _collect(pm.hook.mt_access_routers(), RouterKind, "routeur")
    return {k: v for k, v in found.items() if isinstance(v, RouterKind)}
