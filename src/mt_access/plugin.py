"""Everything a plugin author needs, in one import: ``from mt_access.plugin import ...``.

A CPTS plugin (see ``docs/plugins.md``) implements hooks (:data:`hookimpl`) that register
criterion kinds, routers, commune references, shipped policies and policy sections, or take a
decision (scope, classification, order, pseudonym). This module gathers the names it uses:
the marker and the plugin manager, the kinds it registers and their parameters, the typed
policy sections and the YAML node they read, the columnar request table of vectorised
criteria, the routing task and the outputs a router returns, the domain values it reads, and
the errors it raises. The names stay where they are defined too; this facade is the stable
place to import them from.
"""

from __future__ import annotations

from mt_access.columns import Coded, RequestTable
from mt_access.errors import PluginError, PolicyError
from mt_access.hooks import Hooks, plugin_manager
from mt_access.hookspecs import PROJECT_NAME
from mt_access.model import HomeVisitNeed, Modality, Physician, Request, SearchReason
from mt_access.plugins import (
    DEFAULT_PLUGINS,
    ENTRY_POINT_GROUP,
    Registry,
    get_plugin_manager,
    hookimpl,
    registry,
)
from mt_access.policy import Criterion, Policy, PriorityLevel, Resource, RoutingRule
from mt_access.policy_kinds import (
    CriterionKind,
    Param,
    ParamType,
    PolicySection,
    ReadContext,
    RouterKind,
)
from mt_access.result import (
    Classification,
    Orientation,
    OrientedPhysician,
    Placement,
    PullEntry,
    PullList,
    ReasonCode,
    Rejected,
    ScopeDecision,
    Waiting,
)
from mt_access.routing import Cell, RoutableItem, RouterOutput, RoutingTask
from mt_access.yamlcheck import Node

__all__ = [
    "DEFAULT_PLUGINS",
    "ENTRY_POINT_GROUP",
    "PROJECT_NAME",
    "Cell",
    "Classification",
    "Coded",
    "Criterion",
    "CriterionKind",
    "HomeVisitNeed",
    "Hooks",
    "Modality",
    "Node",
    "Orientation",
    "OrientedPhysician",
    "Param",
    "ParamType",
    "Physician",
    "Placement",
    "PluginError",
    "Policy",
    "PolicyError",
    "PolicySection",
    "PriorityLevel",
    "PullEntry",
    "PullList",
    "ReadContext",
    "ReasonCode",
    "Registry",
    "Rejected",
    "Request",
    "RequestTable",
    "Resource",
    "RoutableItem",
    "RouterKind",
    "RouterOutput",
    "RoutingRule",
    "RoutingTask",
    "ScopeDecision",
    "SearchReason",
    "Waiting",
    "get_plugin_manager",
    "hookimpl",
    "plugin_manager",
    "registry",
]
