"""mt-access: accès au médecin traitant for French CPTS.

The public API is what this module exports (``__all__``); other modules may change.
"""

from __future__ import annotations

from mt_access.calendar import Month
from mt_access.engine import match
from mt_access.errors import (
    AmbiguousCommuneError,
    CapacityExceededError,
    GeocodeCacheError,
    IntakeError,
    LedgerError,
    MatchInputError,
    MtAccessError,
    PluginError,
    PolicyError,
    ReferenceDataError,
    UnknownCommuneError,
)
from mt_access.geo.point import Point
from mt_access.ledger import (
    CapacityDeclared,
    CapacityLedger,
    LedgerEntry,
    PlacementRecorded,
    PlacementReleased,
)
from mt_access.loading import available_policies, load_policy
from mt_access.model import (
    Consent,
    HomeVisitNeed,
    Household,
    Modality,
    Patient,
    Physician,
    PhysicianStatus,
    PreviousDoctor,
    Referrer,
    ReferrerKind,
    Request,
    SearchReason,
    StatusChange,
)
from mt_access.plugins import DEFAULT_PLUGINS, get_plugin_manager, hookimpl
from mt_access.policy import (
    Criterion,
    CriterionKind,
    Param,
    ParamType,
    Policy,
    PriorityLevel,
    Resource,
    RouterKind,
    RoutingRule,
)
from mt_access.result import (
    Classification,
    MatchResult,
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

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_PLUGINS",
    "AmbiguousCommuneError",
    "CapacityDeclared",
    "CapacityExceededError",
    "CapacityLedger",
    "Cell",
    "Classification",
    "Consent",
    "Criterion",
    "CriterionKind",
    "GeocodeCacheError",
    "HomeVisitNeed",
    "Household",
    "IntakeError",
    "LedgerEntry",
    "LedgerError",
    "MatchInputError",
    "MatchResult",
    "Modality",
    "Month",
    "MtAccessError",
    "Orientation",
    "OrientedPhysician",
    "Param",
    "ParamType",
    "Patient",
    "Physician",
    "PhysicianStatus",
    "Placement",
    "PlacementRecorded",
    "PlacementReleased",
    "PluginError",
    "Point",
    "Policy",
    "PolicyError",
    "PreviousDoctor",
    "PriorityLevel",
    "PullEntry",
    "PullList",
    "ReasonCode",
    "ReferenceDataError",
    "Referrer",
    "ReferrerKind",
    "Rejected",
    "Request",
    "Resource",
    "RoutableItem",
    "RouterKind",
    "RouterOutput",
    "RoutingRule",
    "RoutingTask",
    "ScopeDecision",
    "SearchReason",
    "StatusChange",
    "UnknownCommuneError",
    "Waiting",
    "__version__",
    "available_policies",
    "get_plugin_manager",
    "hookimpl",
    "load_policy",
    "match",
]
