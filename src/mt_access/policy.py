"""CPTS policies: what plugins register (criterion kinds, routers) and the compiled policy.

A policy file is YAML (see ``docs/yaml-reference.md``). Reading the file is done at the edge
(:mod:`mt_access.loading`); this module turns an already-parsed mapping into a validated,
immutable :class:`Policy`, naming the key path (``$.routing.priority.router``) and, when the
caller knows it, the line of every error.
"""

from __future__ import annotations

import datetime as dt
import enum
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from mt_access.bounds import (
    MAX_CONTACT_ATTEMPTS,
    MAX_DISTANCE_KM,
    MAX_MONTHLY_CAPACITY,
)
from mt_access.errors import PolicyError
from mt_access.model import Physician, Request, SearchReason

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    import pluggy

    from mt_access.columns import RequestTable
    from mt_access.geo.communes import CommuneReference
    from mt_access.intake.forms import FormMapping
    from mt_access.letters.settings import LetterSettings
    from mt_access.routing import RouterOutput, RoutingTask

__all__ = [
    "DEFAULT_REFERRAL_FIELDS",
    "REFERRAL_FIELDS",
    "Criterion",
    "CriterionKind",
    "Param",
    "ParamType",
    "Policy",
    "PriorityLevel",
    "Resource",
    "RouterKind",
    "RoutingRule",
    "policy_from_mapping",
]

CriterionTest = Callable[[Request, dt.date], bool]
"""A compiled criterion: does ``request`` meet it on reference date ``on``?"""

VectorTest = Callable[["RequestTable", dt.date], "npt.NDArray[np.bool_]"]
"""A compiled criterion over many requests at once: one boolean per row of the table."""


class ParamType(enum.StrEnum):
    """Types a plugin can declare for the parameters of its criterion kinds and routers."""

    INT = "int"
    NUMBER = "number"
    STRING = "string"
    BOOLEAN = "boolean"
    STRING_LIST = "string_list"
    COMMUNE_LIST = "commune_list"
    REASON_LIST = "reason_list"
    CHOICE = "choice"


_TYPE_LABELS = {
    ParamType.INT: "un nombre entier",
    ParamType.NUMBER: "un nombre",
    ParamType.STRING: "un texte",
    ParamType.BOOLEAN: "true ou false",
    ParamType.STRING_LIST: "une liste de textes",
    ParamType.COMMUNE_LIST: "une liste de codes INSEE",
    ParamType.REASON_LIST: "une liste de motifs",
    ParamType.CHOICE: "une valeur parmi une liste",
}


@attrs.frozen
class Param:
    """A parameter of a criterion kind or router, as written in the YAML file.

    Attributes:
        name: the YAML key.
        type: its type.
        doc: what it means (shown in the YAML reference).
        required: whether the key must be present.
        default: value used when absent (ignored when required).
        minimum: lower bound for numbers.
        maximum: upper bound for numbers (see :mod:`mt_access.bounds`); ``None``: none.
        choices: allowed values for ``CHOICE``.
    """

    name: str
    type: ParamType = attrs.field(converter=ParamType)
    doc: str = ""
    required: bool = False
    default: Any = None
    minimum: float | None = None
    choices: tuple[str, ...] = ()
    maximum: float | None = None


@attrs.frozen
class CriterionKind:
    """A kind of priority criterion a plugin registers (``mt_access_criterion_kinds``).

    Attributes:
        name: the ``kind:`` used in YAML, e.g. ``age_at_least``.
        label: French label template, formatted with the parameters, e.g. ``"âge ≥ {years} ans"``.
        build: turns validated parameters into a test ``(request, on) -> bool``.
        params: the parameters it takes.
        doc: one-line description for the YAML reference.
        build_vectorized: optional; turns the parameters into a test over a
            :class:`mt_access.columns.RequestTable` (one boolean per request), which must agree
            with ``build``. When every criterion of a policy has one, classification of large
            batches is vectorised.
    """

    name: str
    label: str
    build: Callable[[Mapping[str, Any]], CriterionTest]
    params: tuple[Param, ...] = ()
    doc: str = ""
    build_vectorized: Callable[[Mapping[str, Any]], VectorTest] | None = None


@attrs.frozen
class RouterKind:
    """A routing rule a plugin registers (``mt_access_routers``).

    Attributes:
        name: the ``router:`` used in YAML, e.g. ``monthly_quota``.
        label: French name shown to coordinators.
        route: the routing function; see :class:`mt_access.routing.RoutingTask`.
        params: the parameters it takes besides ``router`` and ``max_distance_km``.
        consumes_capacity: whether it places patients (and so uses GP capacity).
        doc: one-line description for the YAML reference.
    """

    name: str
    label: str
    route: Callable[[RoutingTask], RouterOutput]
    params: tuple[Param, ...] = ()
    consumes_capacity: bool = False
    doc: str = ""


@attrs.frozen
class Criterion:
    """A compiled criterion: its kind, its French label and its test."""

    kind: str
    label: str
    params: tuple[tuple[str, Any], ...]
    test: CriterionTest = attrs.field(eq=False, repr=False)
    vector: VectorTest | None = attrs.field(default=None, eq=False, repr=False)

    def __call__(self, request: Request, on: dt.date) -> bool:
        return self.test(request, on)


@attrs.frozen
class PriorityLevel:
    """A priority level: a request meeting its criteria (any, or all) takes it.

    Attributes:
        name: short name, used in results (``"prioritaire"``).
        rank: 1 for the highest level.
        criteria: the criteria.
        match: ``"any"`` (default) or ``"all"``.
        label: French description for letters and reports.
    """

    name: str
    rank: int
    criteria: tuple[Criterion, ...]
    match: str = "any"
    label: str = ""

    def matched(self, request: Request, on: dt.date) -> tuple[str, ...] | None:
        """Labels of the criteria met, or ``None`` if the request does not take this level."""
        met = tuple(c.label for c in self.criteria if c(request, on))
        if self.match == "all":
            return met if len(met) == len(self.criteria) else None
        return met if met else None


@attrs.frozen
class RoutingRule:
    """Which router handles a group of requests, with its parameters."""

    router: RouterKind
    params: tuple[tuple[str, Any], ...] = ()
    max_distance_km: float | None = None

    @property
    def key(self) -> tuple[Any, ...]:
        """Requests whose rules have equal keys are routed together, in one call."""
        return (self.router.name, self.params, self.max_distance_km)

    def param(self, name: str) -> Any:
        return dict(self.params)[name]


@attrs.frozen
class Resource:
    """An orientation resource other than a GP (health centre, teleconsultation...)."""

    name: str
    kind: str = ""
    contact: str = ""
    communes: frozenset[str] = frozenset()
    notes: str = ""

    def serves(self, commune: str) -> bool:
        """Empty ``communes`` means the whole territory."""
        return not self.communes or commune in self.communes

    def describe(self) -> str:
        parts = [self.name]
        if self.kind:
            parts.append(f"({self.kind})")
        if self.contact:
            parts.append(f"– {self.contact}")
        return " ".join(parts)


DEFAULT_ACCEPTED_CHOICES = ("territory", "practice_commune")
ORDERING_KEYS = ("received", "urgent", "age")
"""Sort keys allowed in ``ordering.keys``: oldest request first, urgent first, oldest
patient first."""
TIE_BREAKS = ("id", "pseudonym")

REFERRAL_FIELDS = (
    "last_name",
    "first_name",
    "birth_name",
    "phone",
    "email",
    "address",
    "birth_date",
    "age",
    "commune",
    "persons",
    "level",
    "criteria",
    "urgent",
    "home_visits",
    "ald",
    "css",
    "ame",
    "disability_or_chronic",
    "reason",
    "previous_mt",
    "referrer",
    "comments",
)
"""Fields a GP referral (``privacy.referral_fields``) may contain; see :mod:`mt_access.privacy`."""

DEFAULT_REFERRAL_FIELDS = (
    "last_name",
    "first_name",
    "phone",
    "age",
    "commune",
    "persons",
    "level",
    "criteria",
    "urgent",
    "home_visits",
)
"""What a GP needs to contact the patient and judge the request: the « dossier qualifié »."""


@attrs.frozen
class Policy:
    """A CPTS's policy, validated and compiled.

    Build one with :func:`mt_access.load_policy` (YAML file or shipped name) or
    :func:`policy_from_mapping`.
    """

    name: str
    code: str
    department: str
    territory: frozenset[str]
    levels: tuple[PriorityLevel, ...]
    non_priority_level: str
    exclusions: tuple[Criterion, ...]
    routing_priority: RoutingRule
    routing_non_priority: RoutingRule
    routing_by_level: Mapping[str, RoutingRule]
    resources: tuple[Resource, ...] = ()
    carry_over: bool = False
    default_monthly_capacity: int = 0
    refusal_frees_slot: bool = True
    keep_households_together: bool = False
    default_accepted_communes: str = "territory"
    max_contact_attempts: int = 3
    ordering_keys: tuple[str, ...] = ("received",)
    tie_break: str = "id"
    pseudonym_key: str = ""
    referral_fields: tuple[str, ...] = DEFAULT_REFERRAL_FIELDS
    intake: FormMapping | None = None
    letters: LetterSettings | None = None
    notes: str = ""
    source: str = "<dict>"
    reference: CommuneReference | None = attrs.field(default=None, eq=False, repr=False)
    plugin_manager: pluggy.PluginManager | None = attrs.field(default=None, eq=False, repr=False)
    raw: Mapping[str, Any] = attrs.field(factory=dict, eq=False, repr=False)

    @property
    def non_priority_rank(self) -> int:
        return len(self.levels) + 1

    def rule_for(self, level: str, priority: bool) -> RoutingRule:
        """The routing rule for requests of ``level``."""
        if level in self.routing_by_level:
            return self.routing_by_level[level]
        return self.routing_priority if priority else self.routing_non_priority

    def rules(self) -> tuple[RoutingRule, ...]:
        """Every routing rule of the policy."""
        return (self.routing_priority, self.routing_non_priority, *self.routing_by_level.values())

    def commune_name(self, insee: str) -> str:
        """The commune's name from the policy's reference, else its INSEE code."""
        if self.reference is not None and insee in self.reference:
            return self.reference.get(insee).name
        return insee

    def monthly_capacity_of(self, physician: Physician) -> int:
        """The physician's declared monthly capacity, else the policy's default."""
        if physician.monthly_capacity is None:
            return self.default_monthly_capacity
        return physician.monthly_capacity

    def accepted_by_default(self, physician_commune: str) -> frozenset[str]:
        """Communes a physician with no declared list accepts."""
        if self.default_accepted_communes == "practice_commune":
            return frozenset({physician_commune})
        return self.territory


# --------------------------------------------------------------------------------------------
# Validation


@attrs.frozen
class _Ctx:
    source: str
    lines: Mapping[str, int]

    def error(self, path: str, message: str) -> PolicyError:
        line = self.lines.get(path)
        if line is None:  # report the nearest enclosing key we know a line for
            parent = path
            while line is None and ("." in parent or "[" in parent):
                cut = max(parent.rfind("."), parent.rfind("["))
                parent = parent[:cut]
                line = self.lines.get(parent)
        return PolicyError(message, source=self.source, line=line, path=path)


def yaml_kind(value: object) -> str:
    """A French description of a YAML value's type (and short value), for error messages."""
    if value is None:
        return "vide (null)"
    if isinstance(value, bool):
        return f"booléen {value!r}"
    if isinstance(value, int | float):
        return f"nombre {value!r}"
    if isinstance(value, str):
        return f"texte {value!r}"
    if isinstance(value, list):
        return "une liste"
    if isinstance(value, dict):
        return "un dictionnaire"
    if isinstance(value, dt.date):
        return f"date {value.isoformat()}"
    return type(value).__name__


def _mapping(ctx: _Ctx, path: str, value: object, allowed: Iterable[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ctx.error(path, f"dictionnaire (clé: valeur) attendu, reçu {yaml_kind(value)}")
    allowed = tuple(allowed)
    for key in value:
        if key not in allowed:
            raise ctx.error(
                f"{path}.{key}",
                f"clé inconnue {key!r} ; clés possibles ici : {', '.join(allowed)}",
            )
    return value


def _str(ctx: _Ctx, path: str, value: object, *, allow_empty: bool = False) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or (not allow_empty and not value.strip()):
        raise ctx.error(path, f"texte non vide attendu, reçu {yaml_kind(value)}")
    return value.strip()


def _bool(ctx: _Ctx, path: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise ctx.error(path, f"true ou false attendu, reçu {yaml_kind(value)}")
    return value


def _number(
    ctx: _Ctx,
    path: str,
    value: object,
    *,
    integer: bool,
    minimum: float | None,
    maximum: float | None = None,
    positive: bool = False,
) -> int | float:
    """A number of the policy, finite and within ``[minimum, maximum]`` (``> 0`` when
    ``positive``); the bounds come from :mod:`mt_access.bounds`."""
    ok = isinstance(value, int) if integer else isinstance(value, int | float)
    if isinstance(value, bool) or not ok:
        expected = "un nombre entier" if integer else "un nombre"
        raise ctx.error(path, f"{expected} attendu, reçu {yaml_kind(value)}")
    assert isinstance(value, int | float)
    if isinstance(value, float) and not math.isfinite(value):
        raise ctx.error(path, "nombre fini attendu, reçu une valeur non finie (.nan ou .inf)")
    if positive and value <= 0:
        raise ctx.error(path, f"valeur > 0 attendue, reçu {_shown(value)}")
    if minimum is not None and value < minimum:
        raise ctx.error(path, f"valeur ≥ {minimum:g} attendue, reçu {_shown(value)}")
    if maximum is not None and value > maximum:
        raise ctx.error(
            path,
            f"valeur ≤ {maximum:g} attendue (limite de mt-access, voir la référence YAML), "
            f"reçu {_shown(value)}",
        )
    return value


def _shown(value: float) -> str:
    """A number for a message (a number with hundreds of digits is only described)."""
    text = repr(value)
    return text if len(text) <= 20 else f"un nombre de {len(text)} caractères"


def _list(ctx: _Ctx, path: str, value: object) -> list[Any]:
    if not isinstance(value, list):
        raise ctx.error(path, f"liste attendue, reçu {yaml_kind(value)}")
    return value


def _communes(
    ctx: _Ctx, path: str, value: object, reference: CommuneReference | None
) -> frozenset[str]:
    codes = []
    for i, item in enumerate(_list(ctx, path, value)):
        code = _str(ctx, f"{path}[{i}]", item)
        hint = (
            ' ; écrivez les codes INSEE entre guillemets (par ex. "01053") : sans guillemets, '
            "YAML lit un nombre et un zéro initial change sa valeur"
            if isinstance(item, int)
            else ""
        )
        if not (len(code) == 5 and code.isalnum()):
            raise ctx.error(
                f"{path}[{i}]", f"code INSEE à 5 caractères attendu, reçu {code!r}{hint}"
            )
        if reference is not None and code not in reference:
            raise ctx.error(
                f"{path}[{i}]",
                f"code INSEE {code} absent du référentiel des communes ({reference.vintage}){hint}",
            )
        codes.append(code)
    return frozenset(codes)


def _param_value(
    ctx: _Ctx, path: str, param: Param, value: object, reference: CommuneReference | None
) -> Any:
    t = param.type
    if t is ParamType.INT or t is ParamType.NUMBER:
        return _number(
            ctx,
            path,
            value,
            integer=t is ParamType.INT,
            minimum=param.minimum,
            maximum=param.maximum,
        )
    if t is ParamType.STRING:
        return _str(ctx, path, value, allow_empty=True)
    if t is ParamType.BOOLEAN:
        return _bool(ctx, path, value)
    if t is ParamType.STRING_LIST:
        return tuple(_str(ctx, f"{path}[{i}]", v) for i, v in enumerate(_list(ctx, path, value)))
    if t is ParamType.COMMUNE_LIST:
        return tuple(sorted(_communes(ctx, path, value, reference)))
    if t is ParamType.REASON_LIST:
        reasons = []
        known = [r.value for r in SearchReason]
        for i, v in enumerate(_list(ctx, path, value)):
            text = _str(ctx, f"{path}[{i}]", v)
            if text not in known:
                raise ctx.error(
                    f"{path}[{i}]",
                    f"motif inconnu {text!r} ; motifs possibles : {', '.join(known)}",
                )
            reasons.append(text)
        return tuple(sorted(set(reasons)))
    # CHOICE
    text = _str(ctx, path, value)
    if text not in param.choices:
        raise ctx.error(path, f"valeur parmi {', '.join(param.choices)} attendue, reçu {text!r}")
    return text


def _params(
    ctx: _Ctx,
    path: str,
    mapping: Mapping[str, Any],
    params: Sequence[Param],
    reference: CommuneReference | None,
) -> tuple[tuple[str, Any], ...]:
    out: dict[str, Any] = {}
    for param in params:
        if param.name in mapping:
            out[param.name] = _param_value(
                ctx, f"{path}.{param.name}", param, mapping[param.name], reference
            )
        elif param.required:
            raise ctx.error(
                path,
                f"paramètre {param.name!r} obligatoire ({_TYPE_LABELS[param.type]} : {param.doc})",
            )
        else:
            out[param.name] = param.default
    return tuple(sorted(out.items()))


def _criterion(
    ctx: _Ctx,
    path: str,
    value: object,
    kinds: Mapping[str, CriterionKind],
    reference: CommuneReference | None,
) -> Criterion:
    if not isinstance(value, dict):
        raise ctx.error(path, f"critère attendu (kind: ...), reçu {yaml_kind(value)}")
    if "kind" not in value:
        raise ctx.error(
            path, f"clé 'kind' manquante ; types possibles : {', '.join(sorted(kinds))}"
        )
    name = _str(ctx, f"{path}.kind", value["kind"])
    if name not in kinds:
        raise ctx.error(
            f"{path}.kind",
            f"type de critère inconnu {name!r} ; types connus : {', '.join(sorted(kinds))}",
        )
    kind = kinds[name]
    _mapping(ctx, path, value, ["kind", *(p.name for p in kind.params)])
    params = _params(ctx, path, value, kind.params, reference)
    values = dict(params)
    reason_params = {p.name for p in kind.params if p.type is ParamType.REASON_LIST}
    shown = {
        k: (
            ", ".join(SearchReason(x).label if k in reason_params else str(x) for x in v)
            if isinstance(v, tuple)
            else v
        )
        for k, v in values.items()
    }
    return Criterion(
        kind=name,
        label=kind.label.format(**shown),
        params=params,
        test=kind.build(values),
        vector=kind.build_vectorized(values) if kind.build_vectorized is not None else None,
    )


_RULE_KEYS = ("router", "max_distance_km")


def _rule(
    ctx: _Ctx,
    path: str,
    value: object,
    routers: Mapping[str, RouterKind],
    default_max: float | None,
    reference: CommuneReference | None,
) -> RoutingRule:
    if not isinstance(value, dict):
        raise ctx.error(
            path, f"règle d'orientation attendue (router: ...), reçu {yaml_kind(value)}"
        )
    if "router" not in value:
        raise ctx.error(
            path, f"clé 'router' manquante ; routeurs connus : {', '.join(sorted(routers))}"
        )
    name = _str(ctx, f"{path}.router", value["router"])
    if name not in routers:
        raise ctx.error(
            f"{path}.router",
            f"routeur inconnu {name!r} ; routeurs connus : {', '.join(sorted(routers))}",
        )
    kind = routers[name]
    _mapping(ctx, path, value, [*_RULE_KEYS, *(p.name for p in kind.params)])
    max_km = default_max
    if value.get("max_distance_km") is not None:
        max_km = float(
            _number(
                ctx,
                f"{path}.max_distance_km",
                value["max_distance_km"],
                integer=False,
                minimum=0,
                maximum=MAX_DISTANCE_KM,
                positive=True,
            )
        )
    params = _params(ctx, path, value, kind.params, reference)
    return RoutingRule(router=kind, params=params, max_distance_km=max_km)


_TOP_KEYS = (
    "version",
    "identity",
    "territory",
    "priority",
    "exclusions",
    "routing",
    "physicians",
    "capacity",
    "households",
    "resources",
    "follow_up",
    "privacy",
    "ordering",
    "intake",
    "letters",
)


def policy_from_mapping(
    data: object,
    *,
    criterion_kinds: Mapping[str, CriterionKind],
    routers: Mapping[str, RouterKind],
    reference: CommuneReference | None = None,
    source: str = "<dict>",
    lines: Mapping[str, int] | None = None,
    plugin_manager: pluggy.PluginManager | None = None,
) -> Policy:
    """Validate a parsed policy mapping and compile it.

    Args:
        data: the mapping (as ``yaml.safe_load`` returns it).
        criterion_kinds: known criterion kinds by name (from the plugins).
        routers: known routers by name (from the plugins).
        reference: commune reference used to check INSEE codes (skipped when ``None``).
        source: the file name, for error messages.
        lines: line of each key path (``$.routing.priority``), for error messages.
        plugin_manager: kept on the policy for the decision hooks at match time.

    Raises:
        PolicyError: naming the source, line, key path and what was expected.
    """
    ctx = _Ctx(source=source, lines=lines or {})
    top = _mapping(ctx, "$", data, _TOP_KEYS)
    for required in ("identity", "territory", "priority", "routing"):
        if required not in top:
            raise ctx.error("$", f"section {required!r} obligatoire manquante")
    if "version" in top and top["version"] != 1:
        raise ctx.error("$.version", f"version 1 attendue, reçu {top['version']!r}")

    ident = _mapping(ctx, "$.identity", top["identity"], ("name", "code", "department", "notes"))
    for key in ("name", "code", "department"):
        if key not in ident:
            raise ctx.error("$.identity", f"clé {key!r} obligatoire manquante")
    name = _str(ctx, "$.identity.name", ident["name"])
    code = _str(ctx, "$.identity.code", ident["code"])
    department = _str(ctx, "$.identity.department", ident["department"])
    notes = _str(ctx, "$.identity.notes", ident.get("notes", ""), allow_empty=True)

    terr = _mapping(
        ctx, "$.territory", top["territory"], ("communes", "reference_file", "reference_vintage")
    )
    for key in ("reference_file", "reference_vintage"):
        if key in terr:
            _str(ctx, f"$.territory.{key}", terr[key])
    if "communes" not in terr:
        raise ctx.error("$.territory", "clé 'communes' obligatoire (liste de codes INSEE)")
    territory = _communes(ctx, "$.territory.communes", terr["communes"], reference)
    if not territory:
        raise ctx.error("$.territory.communes", "au moins une commune attendue")

    prio = _mapping(ctx, "$.priority", top["priority"], ("levels", "non_priority_name"))
    raw_levels = _list(ctx, "$.priority.levels", prio.get("levels", []))
    levels: list[PriorityLevel] = []
    seen_names: set[str] = set()
    for i, raw in enumerate(raw_levels):
        lpath = f"$.priority.levels[{i}]"
        lvl = _mapping(ctx, lpath, raw, ("name", "label", "match", "criteria"))
        if "name" not in lvl:
            raise ctx.error(lpath, "clé 'name' obligatoire (nom du niveau)")
        lname = _str(ctx, f"{lpath}.name", lvl["name"])
        if lname in seen_names:
            raise ctx.error(f"{lpath}.name", f"nom de niveau en double : {lname!r}")
        seen_names.add(lname)
        match = _str(ctx, f"{lpath}.match", lvl.get("match", "any"))
        if match not in ("any", "all"):
            raise ctx.error(f"{lpath}.match", f"'any' ou 'all' attendu, reçu {match!r}")
        crit_list = _list(ctx, f"{lpath}.criteria", lvl.get("criteria"))
        if not crit_list:
            raise ctx.error(f"{lpath}.criteria", "au moins un critère attendu")
        criteria = tuple(
            _criterion(ctx, f"{lpath}.criteria[{j}]", c, criterion_kinds, reference)
            for j, c in enumerate(crit_list)
        )
        label = _str(ctx, f"{lpath}.label", lvl.get("label", ""), allow_empty=True)
        levels.append(PriorityLevel(lname, i + 1, criteria, match, label))
    non_priority = _str(
        ctx, "$.priority.non_priority_name", prio.get("non_priority_name", "non prioritaire")
    )
    if non_priority in seen_names:
        raise ctx.error("$.priority.non_priority_name", "ce nom est déjà celui d'un niveau")

    exclusions = tuple(
        _criterion(ctx, f"$.exclusions[{i}]", c, criterion_kinds, reference)
        for i, c in enumerate(_list(ctx, "$.exclusions", top.get("exclusions", [])))
    )

    routing = _mapping(
        ctx, "$.routing", top["routing"], ("max_distance_km", "priority", "non_priority", "levels")
    )
    default_max: float | None = None
    if routing.get("max_distance_km") is not None:
        default_max = float(
            _number(
                ctx,
                "$.routing.max_distance_km",
                routing["max_distance_km"],
                integer=False,
                minimum=0,
                maximum=MAX_DISTANCE_KM,
                positive=True,
            )
        )
    for key in ("priority", "non_priority"):
        if key not in routing:
            raise ctx.error("$.routing", f"règle {key!r} obligatoire manquante")
    rule_p = _rule(ctx, "$.routing.priority", routing["priority"], routers, default_max, reference)
    rule_np = _rule(
        ctx, "$.routing.non_priority", routing["non_priority"], routers, default_max, reference
    )
    by_level: dict[str, RoutingRule] = {}
    if "levels" in routing:
        all_names = [lv.name for lv in levels] + [non_priority]
        overrides = _mapping(ctx, "$.routing.levels", routing["levels"], all_names)
        for lname, raw_rule in overrides.items():
            by_level[lname] = _rule(
                ctx, f"$.routing.levels.{lname}", raw_rule, routers, default_max, reference
            )

    phys = _mapping(ctx, "$.physicians", top.get("physicians", {}), ("default_accepted_communes",))
    default_accepted = _str(
        ctx,
        "$.physicians.default_accepted_communes",
        phys.get("default_accepted_communes", "territory"),
    )
    if default_accepted not in DEFAULT_ACCEPTED_CHOICES:
        raise ctx.error(
            "$.physicians.default_accepted_communes",
            f"valeur parmi {', '.join(DEFAULT_ACCEPTED_CHOICES)} attendue, "
            f"reçu {default_accepted!r}",
        )

    cap = _mapping(
        ctx,
        "$.capacity",
        top.get("capacity", {}),
        ("carry_over", "default_monthly", "refusal_frees_slot"),
    )
    carry_over = _bool(ctx, "$.capacity.carry_over", cap.get("carry_over", False))
    refusal_frees_slot = _bool(
        ctx, "$.capacity.refusal_frees_slot", cap.get("refusal_frees_slot", True)
    )
    default_monthly = int(
        _number(
            ctx,
            "$.capacity.default_monthly",
            cap.get("default_monthly", 0),
            integer=True,
            minimum=0,
            maximum=MAX_MONTHLY_CAPACITY,
        )
    )
    house = _mapping(ctx, "$.households", top.get("households", {}), ("keep_together",))
    keep_together = _bool(ctx, "$.households.keep_together", house.get("keep_together", False))
    follow = _mapping(ctx, "$.follow_up", top.get("follow_up", {}), ("max_contact_attempts",))
    attempts = int(
        _number(
            ctx,
            "$.follow_up.max_contact_attempts",
            follow.get("max_contact_attempts", 3),
            integer=True,
            minimum=1,
            maximum=MAX_CONTACT_ATTEMPTS,
        )
    )
    ordering = _mapping(ctx, "$.ordering", top.get("ordering", {}), ("keys", "tie_break"))
    ordering_keys: list[str] = []
    for i, raw_key in enumerate(_list(ctx, "$.ordering.keys", ordering.get("keys", ["received"]))):
        key = _str(ctx, f"$.ordering.keys[{i}]", raw_key)
        if key not in ORDERING_KEYS or key in ordering_keys:
            raise ctx.error(
                f"$.ordering.keys[{i}]",
                f"clé de tri parmi {', '.join(ORDERING_KEYS)} (sans doublon) attendue, "
                f"reçu {key!r}",
            )
        ordering_keys.append(key)
    tie_break = _str(ctx, "$.ordering.tie_break", ordering.get("tie_break", "id"))
    if tie_break not in TIE_BREAKS:
        raise ctx.error(
            "$.ordering.tie_break",
            f"valeur parmi {', '.join(TIE_BREAKS)} attendue, reçu {tie_break!r}",
        )
    privacy = _mapping(
        ctx, "$.privacy", top.get("privacy", {}), ("pseudonym_key", "referral_fields")
    )
    pseudonym_key = _str(ctx, "$.privacy.pseudonym_key", privacy.get("pseudonym_key", code))
    referral_fields: list[str] = []
    raw_fields = privacy.get("referral_fields", list(DEFAULT_REFERRAL_FIELDS))
    for i, raw_field in enumerate(_list(ctx, "$.privacy.referral_fields", raw_fields)):
        field = _str(ctx, f"$.privacy.referral_fields[{i}]", raw_field)
        if field not in REFERRAL_FIELDS or field in referral_fields:
            raise ctx.error(
                f"$.privacy.referral_fields[{i}]",
                f"champ parmi {', '.join(REFERRAL_FIELDS)} (sans doublon) attendu, reçu {field!r}",
            )
        referral_fields.append(field)

    resources = []
    for i, raw in enumerate(_list(ctx, "$.resources", top.get("resources", []))):
        rpath = f"$.resources[{i}]"
        res = _mapping(ctx, rpath, raw, ("name", "kind", "contact", "communes", "notes"))
        if "name" not in res:
            raise ctx.error(rpath, "clé 'name' obligatoire")
        resources.append(
            Resource(
                name=_str(ctx, f"{rpath}.name", res["name"]),
                kind=_str(ctx, f"{rpath}.kind", res.get("kind", ""), allow_empty=True),
                contact=_str(ctx, f"{rpath}.contact", res.get("contact", ""), allow_empty=True),
                communes=_communes(ctx, f"{rpath}.communes", res.get("communes", []), reference),
                notes=_str(ctx, f"{rpath}.notes", res.get("notes", ""), allow_empty=True),
            )
        )

    intake: FormMapping | None = None
    if "intake" in top:
        from mt_access.intake.forms import intake_from_policy  # only policies with intake need it

        intake = intake_from_policy(
            top["intake"], error=ctx.error, path="$.intake", reference=reference
        )

    letters: LetterSettings | None = None
    if "letters" in top:
        from mt_access.letters.settings import letters_from_policy  # only policies with letters

        letters = letters_from_policy(
            top["letters"], error=ctx.error, path="$.letters", source=source
        )

    return Policy(
        name=name,
        code=code,
        department=department,
        territory=territory,
        levels=tuple(levels),
        non_priority_level=non_priority,
        exclusions=exclusions,
        routing_priority=rule_p,
        routing_non_priority=rule_np,
        routing_by_level=by_level,
        resources=tuple(resources),
        carry_over=carry_over,
        refusal_frees_slot=refusal_frees_slot,
        default_monthly_capacity=default_monthly,
        keep_households_together=keep_together,
        default_accepted_communes=default_accepted,
        max_contact_attempts=attempts,
        ordering_keys=tuple(ordering_keys),
        tie_break=tie_break,
        pseudonym_key=pseudonym_key,
        referral_fields=tuple(referral_fields),
        intake=intake,
        letters=letters,
        notes=notes,
        source=source,
        reference=reference,
        plugin_manager=plugin_manager,
        raw=top,
    )
