"""mt-access: accès au médecin traitant for French CPTS.

The namespace has layers (``docs/architecture.md``):

* **core**, imported with ``import mt_access``: the domain model (requests, physicians,
  households), policies (:func:`load_policy`), the matching engine (:func:`match`), the
  capacity ledger, match results, the lifecycle of a request and every exception
  (:mod:`mt_access.errors`). Importing it loads no template engine, spreadsheet writer,
  geometry or plotting library.
* **everything else** stays reachable from here, loaded on first use: the register and its
  stores (``mt_access.Register``, ``mt_access.SQLiteStore``), intake, indicators, reports,
  letters, the map, the RPPS directory. Each name also lives in its module (the table below,
  :data:`LAZY`), which is where the documentation describes it.
* **plugin authors** import :mod:`mt_access.plugin`: hooks, kinds, sections, routing types.

Other modules may change; the names exported here (``__all__``) and by ``mt_access.plugin``,
``mt_access.errors``, ``mt_access.store``, ``mt_access.indicators``, ``mt_access.privacy``,
``mt_access.frames``, ``mt_access.plots``, ``mt_access.simulation``, ``mt_access.letters``,
``mt_access.maps`` and ``mt_access.cli`` are the public API.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mt_access._lazy import lazy_names
from mt_access.answers import Answers
from mt_access.calendar import (
    Month,
)
from mt_access.engine import (
    match,
)
from mt_access.errors import (
    AmbiguousCommuneError,
    CapacityExceededError,
    CommandError,
    ExportError,
    FramesError,
    GeocodeCacheError,
    IllegalTransitionError,
    IndicatorsError,
    IntakeError,
    LedgerError,
    LetterError,
    LetterTemplateError,
    LifecycleError,
    MapError,
    MatchInputError,
    MtAccessError,
    PlotError,
    PluginError,
    PolicyError,
    ReferenceDataError,
    RegisterError,
    RegisterOperationError,
    SimulationError,
    StoreError,
    UnknownCommuneError,
    WorkbookError,
)
from mt_access.geo.point import (
    Point,
)
from mt_access.ledger import (
    CapacityDeclared,
    CapacityLedger,
    LedgerEntry,
    PlacementRecorded,
    PlacementReleased,
)
from mt_access.lifecycle import (
    Actor,
    Event,
    ExitReason,
    RequestFile,
    RequestState,
    Transition,
)
from mt_access.loading import (
    available_policies,
    load_policy,
)
from mt_access.model import (
    Consent,
    HomeVisitNeed,
    Household,
    Modality,
    Patient,
    PatientIdentity,
    Physician,
    PhysicianStatus,
    PracticeContact,
    PreviousDoctor,
    Referrer,
    ReferrerKind,
    Request,
    SearchReason,
    StatusChange,
)
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
from mt_access.questions import (
    AnswerError,
    Question,
    QuestionType,
    shareable_answers,
    shown_answers,
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

__version__ = "0.1.0"

LAZY: dict[str, str] = {
    "write_rows": "mt_access.export",
    "GPMonth": "mt_access.gp_register",
    "gp_follow_up": "mt_access.gp_register",
    "Indicators": "mt_access.indicators",
    "Period": "mt_access.indicators",
    "WaitEstimate": "mt_access.indicators",
    "WaitingListSeries": "mt_access.indicators",
    "WaitingPosition": "mt_access.indicators",
    "compute_indicators": "mt_access.indicators",
    "waiting_list_series": "mt_access.indicators",
    "waiting_position": "mt_access.indicators",
    "DuplicateReason": "mt_access.intake",
    "FormField": "mt_access.intake",
    "FormMapping": "mt_access.intake",
    "IntakeDuplicate": "mt_access.intake",
    "IntakeProblem": "mt_access.intake",
    "IntakeRecord": "mt_access.intake",
    "IntakeResult": "mt_access.intake",
    "available_presets": "mt_access.intake",
    "form_mapping": "mt_access.intake",
    "import_file": "mt_access.intake",
    "import_table": "mt_access.intake",
    "load_preset": "mt_access.intake",
    "write_rejections": "mt_access.intake",
    "Letter": "mt_access.letters",
    "LetterKind": "mt_access.letters",
    "LetterTemplates": "mt_access.letters",
    "letters_for_run": "mt_access.letters",
    "write_letters": "mt_access.letters",
    "AvailabilityMap": "mt_access.maps",
    "availability_map": "mt_access.maps",
    "DEFAULT_PLUGINS": "mt_access.plugins",
    "get_plugin_manager": "mt_access.plugins",
    "hookimpl": "mt_access.plugins",
    "ImportOutcome": "mt_access.register",
    "MatchRun": "mt_access.register",
    "Register": "mt_access.register",
    "Cell": "mt_access.routing",
    "RoutableItem": "mt_access.routing",
    "RouterOutput": "mt_access.routing",
    "RoutingTask": "mt_access.routing",
    "DirectoryExtract": "mt_access.rpps",
    "DirectoryGP": "mt_access.rpps",
    "DirectoryUpdate": "mt_access.rpps",
    "FieldChange": "mt_access.rpps",
    "PracticeSite": "mt_access.rpps",
    "merge_directory": "mt_access.rpps",
    "read_extraction": "mt_access.rpps",
    "to_physicians": "mt_access.rpps",
    "KnownPerson": "mt_access.model",
    "RequestSummary": "mt_access.store.base",
    "RunRecord": "mt_access.store.base",
    "Store": "mt_access.store.base",
    "MemoryStore": "mt_access.store.memory",
    "SQLiteStore": "mt_access.store.sqlite",
    "MonthlyReport": "mt_access.workbook",
    "write_follow_up_workbook": "mt_access.workbook",
    "write_monthly_report": "mt_access.workbook",
}
"""The names ``mt_access`` exports without importing their module until first used: name →
the module that defines it."""


__getattr__, __dir__ = lazy_names(__name__, globals(), LAZY)


if TYPE_CHECKING:  # for type checkers and editors: the lazy names, typed
    from mt_access.export import (
        write_rows,
    )
    from mt_access.gp_register import (
        GPMonth,
        gp_follow_up,
    )
    from mt_access.indicators import (
        Indicators,
        Period,
        WaitEstimate,
        WaitingListSeries,
        WaitingPosition,
        compute_indicators,
        waiting_list_series,
        waiting_position,
    )
    from mt_access.intake import (
        DuplicateReason,
        FormField,
        FormMapping,
        IntakeDuplicate,
        IntakeProblem,
        IntakeRecord,
        IntakeResult,
        available_presets,
        form_mapping,
        import_file,
        import_table,
        load_preset,
        write_rejections,
    )
    from mt_access.letters import (
        Letter,
        LetterKind,
        LetterTemplates,
        letters_for_run,
        write_letters,
    )
    from mt_access.maps import (
        AvailabilityMap,
        availability_map,
    )
    from mt_access.plugins import (
        DEFAULT_PLUGINS,
        get_plugin_manager,
        hookimpl,
    )
    from mt_access.register import (
        ImportOutcome,
        MatchRun,
        Register,
    )
    from mt_access.routing import (
        Cell,
        RoutableItem,
        RouterOutput,
        RoutingTask,
    )
    from mt_access.rpps import (
        DirectoryExtract,
        DirectoryGP,
        DirectoryUpdate,
        FieldChange,
        PracticeSite,
        merge_directory,
        read_extraction,
        to_physicians,
    )
    from mt_access.store.base import (
        KnownPerson,
        RequestSummary,
        RunRecord,
        Store,
    )
    from mt_access.store.memory import (
        MemoryStore,
    )
    from mt_access.store.sqlite import (
        SQLiteStore,
    )
    from mt_access.workbook import (
        MonthlyReport,
        write_follow_up_workbook,
        write_monthly_report,
    )

__all__ = [
    "DEFAULT_PLUGINS",
    "Actor",
    "AmbiguousCommuneError",
    "AnswerError",
    "Answers",
    "AvailabilityMap",
    "CapacityDeclared",
    "CapacityExceededError",
    "CapacityLedger",
    "Cell",
    "Classification",
    "CommandError",
    "Consent",
    "Criterion",
    "CriterionKind",
    "DirectoryExtract",
    "DirectoryGP",
    "DirectoryUpdate",
    "DuplicateReason",
    "Event",
    "ExitReason",
    "ExportError",
    "FieldChange",
    "FormField",
    "FormMapping",
    "FramesError",
    "GPMonth",
    "GeocodeCacheError",
    "HomeVisitNeed",
    "Household",
    "IllegalTransitionError",
    "ImportOutcome",
    "Indicators",
    "IndicatorsError",
    "IntakeDuplicate",
    "IntakeError",
    "IntakeProblem",
    "IntakeRecord",
    "IntakeResult",
    "KnownPerson",
    "LedgerEntry",
    "LedgerError",
    "Letter",
    "LetterError",
    "LetterKind",
    "LetterTemplateError",
    "LetterTemplates",
    "LifecycleError",
    "MapError",
    "MatchInputError",
    "MatchResult",
    "MatchRun",
    "MemoryStore",
    "Modality",
    "Month",
    "MonthlyReport",
    "MtAccessError",
    "Orientation",
    "OrientedPhysician",
    "Param",
    "ParamType",
    "Patient",
    "PatientIdentity",
    "Period",
    "Physician",
    "PhysicianStatus",
    "Placement",
    "PlacementRecorded",
    "PlacementReleased",
    "PlotError",
    "PluginError",
    "Point",
    "Policy",
    "PolicyError",
    "PracticeContact",
    "PracticeSite",
    "PreviousDoctor",
    "PriorityLevel",
    "PullEntry",
    "PullList",
    "Question",
    "QuestionType",
    "ReasonCode",
    "ReferenceDataError",
    "Referrer",
    "ReferrerKind",
    "Register",
    "RegisterError",
    "RegisterOperationError",
    "Rejected",
    "Request",
    "RequestFile",
    "RequestState",
    "RequestSummary",
    "Resource",
    "RoutableItem",
    "RouterKind",
    "RouterOutput",
    "RoutingRule",
    "RoutingTask",
    "RunRecord",
    "SQLiteStore",
    "ScopeDecision",
    "SearchReason",
    "SimulationError",
    "StatusChange",
    "Store",
    "StoreError",
    "Transition",
    "UnknownCommuneError",
    "WaitEstimate",
    "Waiting",
    "WaitingListSeries",
    "WaitingPosition",
    "WorkbookError",
    "__version__",
    "availability_map",
    "available_policies",
    "available_presets",
    "compute_indicators",
    "form_mapping",
    "get_plugin_manager",
    "gp_follow_up",
    "hookimpl",
    "import_file",
    "import_table",
    "letters_for_run",
    "load_policy",
    "load_preset",
    "match",
    "merge_directory",
    "read_extraction",
    "shareable_answers",
    "shown_answers",
    "to_physicians",
    "waiting_list_series",
    "waiting_position",
    "write_follow_up_workbook",
    "write_letters",
    "write_monthly_report",
    "write_rejections",
    "write_rows",
]
