"""Reading policy files (the edge: file I/O and YAML parsing, with safe loading only)."""

from __future__ import annotations

import os
from pathlib import Path

import pluggy

from mt_access.errors import PolicyError, ReferenceDataError
from mt_access.geo.communes import CommuneReference
from mt_access.hook_base import collected
from mt_access.plugins import get_plugin_manager, merge_references, registry
from mt_access.policy import Policy, policy_from_mapping
from mt_access.yamlcheck import Locator
from mt_access.yamlread import parse_yaml, read_yaml_file

__all__ = ["available_policies", "load_policy", "parse_yaml", "reference_from_plugins"]


def reference_from_plugins(pm: pluggy.PluginManager) -> CommuneReference:
    """The commune reference registered by the plugins (merged; the plugin registered last
    wins for an INSEE code several of them know): ``registry(pm).reference()``."""
    return registry(pm).reference()


def available_policies(pm: pluggy.PluginManager | None = None) -> dict[str, Path]:
    """Policy files loadable by name: ``{name: path}`` from every registered directory."""
    pm = pm or get_plugin_manager()
    found: dict[str, Path] = {}
    entries: list[tuple[str, str | os.PathLike[str]]] = collected(
        pm, "mt_access_policy_directories", (str, os.PathLike), "dossiers"
    )
    for _, entry in entries:
        directory = Path(entry)
        if directory.is_dir():
            for path in sorted(directory.glob("*.yaml")):
                found.setdefault(path.stem, path)
    return dict(sorted(found.items()))


def _looks_like_path(value: str | os.PathLike[str]) -> bool:
    if isinstance(value, os.PathLike):
        return True
    return value.endswith((".yaml", ".yml")) or os.sep in value or "/" in value


def load_policy(
    name_or_path: str | os.PathLike[str],
    *,
    plugin_manager: pluggy.PluginManager | None = None,
    reference: CommuneReference | None = None,
) -> Policy:
    """Load a policy: a shipped one by name (``"voironnais"``, ``"deule_marque"``) or any
    YAML file by path.

    Args:
        name_or_path: a policy name or a path to a YAML file.
        plugin_manager: the plugins to use (criterion kinds, routers, decision hooks);
            :func:`mt_access.get_plugin_manager` by default.
        reference: the commune reference to check INSEE codes against; by default the one
            the plugins register (the bundled reference of every French commune).

    Raises:
        PolicyError: unknown name, unreadable file, invalid YAML or invalid policy; the message
            names the file, the line, the key path and what was expected.
    """
    pm = plugin_manager or get_plugin_manager()
    if _looks_like_path(name_or_path):
        path = Path(name_or_path)
    else:
        known = available_policies(pm)
        name = str(name_or_path)
        if name not in known:
            raise PolicyError(
                f"politique inconnue {name!r} ; politiques disponibles : "
                f"{', '.join(known) or 'aucune'}"
                " (ou donnez le chemin d'un fichier YAML)",
                source=name,
            )
        path = known[name]
    source = str(path)
    text = read_yaml_file(path, source)
    data, lines = parse_yaml(text, source)
    found = registry(pm)
    if reference is None:
        reference = found.reference()
        own = _own_reference(data, lines, path, source)
        if own is not None:
            reference = merge_references(reference, own)
    return policy_from_mapping(
        data,
        registry=found,
        reference=reference,
        source=source,
        lines=lines,
        plugin_manager=pm,
    )


def _own_reference(
    data: object, lines: dict[str, int], path: Path, source: str
) -> CommuneReference | None:
    """The policy's own commune file (``territory.reference_file``), relative to the policy."""
    territory = Locator(source, lines).root(data).at("territory")
    if "reference_file" not in territory:
        return None
    node = territory.at("reference_file")
    value = node.value
    if not isinstance(value, str) or not value.strip():
        raise node.error("chemin d'un fichier de communes attendu")
    file = (path.parent / value).resolve()
    vintage = territory.at("reference_vintage", None).value
    try:
        return CommuneReference.from_csv(
            file,
            vintage=str(vintage) if vintage else f"fichier {file.name}",
            source=str(file),
        )
    except ReferenceDataError as exc:
        raise node.error(str(exc)) from None
