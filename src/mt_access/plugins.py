"""The plugin manager: built-in plugins and third-party ones, registered the same way.

:func:`get_plugin_manager` builds a manager; :func:`registry` collects, once, what its
plugins register for policy files (criterion kinds, routers, sections, commune references).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Mapping
from types import ModuleType
from typing import Any, TypeVar

import attrs
import pluggy

from mt_access import hookspecs
from mt_access.errors import PluginError, PolicyError
from mt_access.geo.communes import CommuneReference
from mt_access.hook_base import collected
from mt_access.policy_kinds import CriterionKind, PolicySection, RouterKind

__all__ = [
    "DEFAULT_PLUGINS",
    "ENTRY_POINT_GROUP",
    "Registry",
    "collect_criterion_kinds",
    "collect_routers",
    "collect_sections",
    "get_plugin_manager",
    "hookimpl",
    "merge_references",
    "registry",
]

T = TypeVar("T")

hookimpl = pluggy.HookimplMarker(hookspecs.PROJECT_NAME)
"""Marker for hook implementations: ``@hookimpl def mt_access_routers(): ...``."""

ENTRY_POINT_GROUP = "mt_access"
"""Entry-point group through which installed CPTS plugins are found."""

DEFAULT_PLUGINS: tuple[str, ...] = (
    "mt_access.policies.criteria",
    "mt_access.policies.routers",
    "mt_access.policies.decisions",
    "mt_access.policies.reference",
    "mt_access.intake.forms",
    "mt_access.letters.settings",
)
"""Built-in plugins, registered exactly like third-party ones (the last two contribute the
``intake:`` and ``letters:`` sections of policy files)."""


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


def _collect(pm: pluggy.PluginManager, hook: str, expected: type[T], what: str) -> dict[str, T]:
    """The items answered to the collection hook ``hook``, by name; an item of the wrong type,
    a failing plugin or a name given twice is a :class:`PluginError` naming the plugins."""
    found: dict[str, T] = {}
    owners: dict[str, str] = {}
    for plugin, item in collected(pm, hook, expected, what):
        name = str(getattr(item, "name"))  # noqa: B009 - every collected kind has a name
        if name in found:
            raise PluginError(
                f"{what} {name!r} enregistré par deux plugins : {owners[name]!r} et {plugin!r}"
            )
        found[name] = item
        owners[name] = plugin
    return dict(sorted(found.items()))


def collect_criterion_kinds(pm: pluggy.PluginManager) -> dict[str, CriterionKind]:
    """Every criterion kind registered through ``mt_access_criterion_kinds``, by name."""
    return _collect(pm, "mt_access_criterion_kinds", CriterionKind, "type de critère")


def collect_routers(pm: pluggy.PluginManager) -> dict[str, RouterKind]:
    """Every router registered through ``mt_access_routers``, by name."""
    return _collect(pm, "mt_access_routers", RouterKind, "routeur")


def collect_sections(pm: pluggy.PluginManager) -> dict[str, PolicySection[Any]]:
    """Every policy section registered through ``mt_access_policy_sections``, by name."""
    return _collect(pm, "mt_access_policy_sections", PolicySection, "section de politique")


def merge_references(base: CommuneReference, own: CommuneReference) -> CommuneReference:
    """``own`` communes replace or extend ``base``'s."""
    merged = {c.insee: c for c in base}
    merged.update((c.insee, c) for c in own)
    return CommuneReference(
        merged.values(),
        vintage=f"{base.vintage} + {own.vintage}",
        source=f"{base.source} + {own.source}",
    )


@attrs.frozen
class Registry:
    """What the plugins of one manager register for policy files (see :func:`registry`).

    Attributes:
        criterion_kinds: the criterion kinds by name (``kind:`` of a criterion).
        routers: the routers by name (``router:`` of a routing rule).
        sections: the top-level sections plugins contribute, by name (``intake``...).
        plugin_manager: the manager they come from (``None``: registrations given by hand).
    """

    criterion_kinds: Mapping[str, CriterionKind]
    routers: Mapping[str, RouterKind]
    sections: Mapping[str, PolicySection[Any]]
    plugin_manager: pluggy.PluginManager | None = attrs.field(default=None, eq=False, repr=False)

    def reference(self) -> CommuneReference:
        """The commune reference the plugins register (``mt_access_commune_references``),
        merged: for an INSEE code several of them know, the plugin registered last wins.

        Raises:
            PolicyError: no plugin registers a reference.
        """
        pm = self.plugin_manager
        refs = []
        if pm is not None:
            answered = collected(
                pm, "mt_access_commune_references", CommuneReference, "référentiels de communes"
            )
            refs = [reference for _, reference in answered]
        if not refs:
            raise PolicyError("aucun référentiel de communes n'est enregistré par les plugins")
        merged: CommuneReference = refs[-1]
        for ref in reversed(refs[:-1]):  # pluggy calls the last registered first
            merged = merge_references(merged, ref)
        return merged


def registry(pm: pluggy.PluginManager) -> Registry:
    """Collect what the plugins of ``pm`` register for policy files, checking each answer
    (a list of the right type, no name registered twice).

    The commune reference is collected when asked (:meth:`Registry.reference`): a caller
    that brings its own does not pay for the bundled one.

    Raises:
        PluginError: a plugin answers something else than a list of the expected type, or
            two plugins register the same name.
    """
    return Registry(
        criterion_kinds=collect_criterion_kinds(pm),
        routers=collect_routers(pm),
        sections=collect_sections(pm),
        plugin_manager=pm,
    )
