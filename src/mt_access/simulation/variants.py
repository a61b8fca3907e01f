"""Variants of a policy: the same rules with another router, a distance cap, other levels.

A variant is compiled from the policy's YAML mapping (``policy.raw``) with the changes
applied, by the same validator as a file, so it is a real policy: the engine routes it as it
would route a CPTS's file, and a comparison can rebuild it in its worker processes.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from mt_access.hooks import plugin_manager
from mt_access.plugins import registry
from mt_access.policy import Policy, policy_from_mapping
from mt_access.simulation.generator import SimulationError

__all__ = ["policy_variant"]


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()

_RULES = ("priority", "non_priority")


def _merge(base: dict[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``changes`` merged in: mappings are merged key by key, anything else
    (lists included) replaces; a value ``None`` removes the key."""
    out = dict(base)
    for key, value in changes.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _merge(dict(out[key]), value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def policy_variant(
    policy: Policy,
    *,
    router: str | None = None,
    rules: str = "all",
    max_distance_km: float | None = UNSET,
    changes: Mapping[str, Any] | None = None,
    name: str | None = None,
    **router_params: Any,
) -> Policy:
    """The same policy with another router, a distance cap, or any other change.

    Args:
        policy: a policy loaded from YAML (:func:`mt_access.load_policy`) or another variant.
        router: the router to use (``nearest``, ``monthly_quota``, ``k_nearest``, ``pull``,
            ``orientation`` or a plugin's), with ``router_params`` (``k=3``...).
        rules: which rules change: ``"all"`` (priority, non-priority and the per-level
            rules), ``"priority"``, ``"non_priority"``, or a level's name (a per-level rule).
        max_distance_km: a distance cap for the changed rules (``None`` removes it); left as
            it is when not given.
        changes: any other change, merged into the YAML mapping (a mapping merges key by
            key, a list or a value replaces, ``None`` removes a key), e.g.
            ``{"capacity": {"carry_over": True}}`` or new ``priority`` levels.
        name: the variant's ``identity.name`` (default: the policy's).

    Raises:
        SimulationError: the policy has no YAML mapping (``policy.raw`` is empty: built by
            hand or with ``attrs.evolve``); PolicyError: the variant is not a valid policy.
    """
    if not policy.raw:
        raise SimulationError(
            f"la politique {policy.code!r} n'a pas de contenu YAML (policy.raw) : chargez-la "
            "avec load_policy pour en faire une variante"
        )
    raw: dict[str, Any] = copy.deepcopy(dict(policy.raw))
    if changes:
        raw = _merge(raw, changes)
    if name is not None:
        raw["identity"] = {**raw.get("identity", {}), "name": name}
    routing: dict[str, Any] = dict(raw.get("routing", {}))
    targets: list[tuple[dict[str, Any], str]] = []
    levels: dict[str, Any] = dict(routing.get("levels") or {})
    if rules == "all":
        targets = [(routing, key) for key in _RULES] + [(levels, key) for key in levels]
    elif rules in _RULES:
        targets = [(routing, rules)]
    else:
        level_names = [lv.name for lv in policy.levels] + [policy.non_priority_level]
        if rules not in level_names:
            raise SimulationError(
                f"règle inconnue {rules!r} : 'all', 'priority', 'non_priority' ou un niveau "
                f"({', '.join(level_names)})"
            )
        if rules not in levels:
            base = policy.rule_for(rules, rules != policy.non_priority_level)
            levels[rules] = {
                "router": base.router.name,
                **dict(base.params),
                **({"max_distance_km": base.max_distance_km} if base.max_distance_km else {}),
            }
        targets = [(levels, rules)]
    if router_params and router is None:
        raise SimulationError("des paramètres de routeur sans routeur : précisez router=...")
    for container, key in targets:
        rule = dict(container.get(key) or {})
        if router is not None:
            kept = {k: v for k, v in rule.items() if k == "max_distance_km"}
            rule = {"router": router, **kept, **router_params}
        if max_distance_km is not UNSET:
            if max_distance_km is None:
                rule.pop("max_distance_km", None)
            else:
                rule["max_distance_km"] = float(max_distance_km)
        container[key] = rule
    if max_distance_km is None and rules == "all":
        routing.pop("max_distance_km", None)
    if levels:
        routing["levels"] = levels
    raw["routing"] = routing
    pm = plugin_manager(policy)
    return policy_from_mapping(
        raw,
        registry=registry(pm),
        reference=policy.reference,
        source=policy.source,
        plugin_manager=pm,
    )
