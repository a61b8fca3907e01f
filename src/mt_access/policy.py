"""CPTS policies: the compiled policy, and the reading of a policy file's mapping into one.

A policy file is YAML (see ``docs/yaml-reference.md``). Reading the file is done at the edge
(:mod:`mt_access.loading`); this module turns an already-parsed mapping into a validated,
immutable :class:`Policy`, naming the key path (``$.routing.priority.router``) and, when the
caller knows it, the line of every error (through :class:`mt_access.yamlcheck.Node`).

The core sections (``identity``, ``territory``, ``priority``, ``routing``...) are read here,
one small function each. Other sections (``intake``, ``letters``, a CPTS plugin's own) are
contributed by plugins (:class:`~mt_access.policy_kinds.PolicySection`, hook
``mt_access_policy_sections``) and read back with :meth:`Policy.section`. What plugins register
is described in :mod:`mt_access.policy_kinds` (re-exported here).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

import attrs

from mt_access import plugins
from mt_access.bounds import (
    MAX_CONTACT_ATTEMPTS,
    MAX_DISTANCE_KM,
    MAX_MONTHLY_CAPACITY,
)
from mt_access.criterion import COMBINATORS, Criterion, read_communes, read_criterion, read_params
from mt_access.errors import PluginError
from mt_access.model import Physician, Request
from mt_access.plugins import Registry
from mt_access.policy_kinds import (
    CriterionKind,
    CriterionTest,
    Param,
    ParamType,
    PolicySection,
    ReadContext,
    RouterKind,
    VectorTest,
)
from mt_access.questions import Question, read_questions
from mt_access.resources import RESOURCE_MODES, Resource, read_resources
from mt_access.yamlcheck import Locator, Node, yaml_kind

if TYPE_CHECKING:
    import pluggy

    from mt_access.geo.communes import CommuneReference
    from mt_access.intake.forms import FormMapping
    from mt_access.letters.settings import LetterSettings

__all__ = [
    "COMBINATORS",
    "DEFAULT_REFERRAL_FIELDS",
    "REFERRAL_FIELDS",
    "RESOURCE_MODES",
    "Criterion",
    "CriterionKind",
    "CriterionTest",
    "Param",
    "ParamType",
    "Policy",
    "PolicySection",
    "PriorityLevel",
    "Question",
    "Resource",
    "RouterKind",
    "RoutingRule",
    "VectorTest",
    "policy_from_mapping",
    "yaml_kind",
]

T = TypeVar("T")


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
        """Router, parameters and maximum distance. Consecutive levels whose rules have
        equal keys are routed together, in one call; for a capacity router the maximum
        distance does not count (it is per request; see ``mt_access.engine._run_keys``)."""
        return (self.router.name, self.params, self.max_distance_km)

    def param(self, name: str) -> Any:
        return dict(self.params)[name]


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


_UNCHANGED: Any = object()


@attrs.frozen(init=False)
class Policy:
    """A CPTS's policy, validated and compiled.

    Build one with :func:`mt_access.load_policy` (YAML file or shipped name) or
    :func:`policy_from_mapping`.

    The sections plugins contribute are in ``sections`` (by name) and read back, typed, with
    :meth:`section`. ``intake`` and ``letters`` stay readable as attributes, and settable
    through ``attrs.evolve(policy, intake=...)`` as before they were sections.
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
    questions: tuple[Question, ...] = ()
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
    sections: Mapping[str, Any] = attrs.field(factory=dict)
    notes: str = ""
    source: str = "<dict>"
    reference: CommuneReference | None = attrs.field(default=None, eq=False, repr=False)
    plugin_manager: pluggy.PluginManager | None = attrs.field(default=None, eq=False, repr=False)
    raw: Mapping[str, Any] = attrs.field(factory=dict, eq=False, repr=False)

    def __init__(
        self, *, intake: Any = _UNCHANGED, letters: Any = _UNCHANGED, **fields: Any
    ) -> None:
        """The attrs fields by keyword; ``intake`` and ``letters`` set those sections."""
        given = {"intake": intake, "letters": letters}
        if any(value is not _UNCHANGED for value in given.values()):
            sections = dict(fields.get("sections", {}))
            sections.update((k, v) for k, v in given.items() if v is not _UNCHANGED)
            fields["sections"] = sections
        self.__attrs_init__(**fields)

    def question(self, question_id: str) -> Question | None:
        """The question ``question_id`` of the ``questions:`` section, or ``None``."""
        return next((q for q in self.questions if q.id == question_id), None)

    def section(self, key: PolicySection[T]) -> T:
        """The value of the section ``key`` (its default when the file has none, or when
        the plugins that compiled the policy did not register it)."""
        if key.name in self.sections:
            return cast(T, self.sections[key.name])
        return key.default

    @property
    def intake(self) -> FormMapping | None:
        """The ``intake:`` section (``policy.section(mt_access.intake.forms.INTAKE)``);
        ``None`` when absent: the generic preset is used."""
        return cast("FormMapping | None", self.sections.get("intake"))

    @property
    def letters(self) -> LetterSettings | None:
        """The ``letters:`` section (``policy.section(mt_access.letters.settings.LETTERS)``);
        ``None`` when absent: the shipped templates are used."""
        return cast("LetterSettings | None", self.sections.get("letters"))

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
# Reading a policy mapping: one function per section, each key written once


def _distance(node: Node, default: float | None) -> float | None:
    """A ``max_distance_km`` (``default`` when absent or null)."""
    if node.value is None or not node.present:
        return default
    return float(node.number(integer=False, minimum=0, maximum=MAX_DISTANCE_KM, positive=True))


def _rule(
    node: Node,
    routers: Mapping[str, RouterKind],
    default_max: float | None,
    reference: CommuneReference | None,
) -> RoutingRule:
    if not isinstance(node.value, dict):
        raise node.error(
            f"règle d'orientation attendue (router: ...), reçu {yaml_kind(node.value)}"
        )
    known = ", ".join(sorted(routers))
    name_node = node.required("router", f"clé 'router' manquante ; routeurs connus : {known}")
    name = name_node.text()
    if name not in routers:
        raise name_node.error(f"routeur inconnu {name!r} ; routeurs connus : {known}")
    kind = routers[name]
    node.mapping(["router", "max_distance_km", *(p.name for p in kind.params)])
    return RoutingRule(
        router=kind,
        params=read_params(node, kind.params, reference),
        max_distance_km=_distance(node.at("max_distance_km"), default_max),
    )


@attrs.frozen
class _Reading:
    """What every section function gets: the plugins' registrations and the reference."""

    registry: Registry
    reference: CommuneReference | None
    questions: tuple[Question, ...] = ()

    def criterion(self, node: Node) -> Criterion:
        return read_criterion(
            node, self.registry.criterion_kinds, self.reference, questions=self.questions
        )


def _identity(top: Node, reading: _Reading, read: Mapping[str, Any]) -> dict[str, Any]:
    ident = top.at("identity").mapping(("name", "code", "department", "notes"))
    for key in ("name", "code", "department"):
        ident.required(key)
    return {
        "name": ident.at("name").text(),
        "code": ident.at("code").text(),
        "department": ident.at("department").text(),
        "notes": ident.at("notes", "").text(allow_empty=True),
    }


def _territory(top: Node, reading: _Reading, read: Mapping[str, Any]) -> dict[str, Any]:
    terr = top.at("territory").mapping(("communes", "reference_file", "reference_vintage"))
    for key in ("reference_file", "reference_vintage"):  # read by the loader
        if key in terr:
            terr.at(key).text()
    communes = terr.required("communes", "clé 'communes' obligatoire (liste de codes INSEE)")
    territory = read_communes(communes, reading.reference)
    if not territory:
        raise communes.error("au moins une commune attendue")
    return {"territory": territory}


def _questions(top: Node, reading: _Reading, read: Mapping[str, Any]) -> dict[str, Any]:
    return {"questions": read_questions(top.at("questions"), reserved=REFERRAL_FIELDS)}


def _level(node: Node, rank: int, reading: _Reading, taken: list[str]) -> PriorityLevel:
    lvl = node.mapping(("name", "label", "match", "criteria"))
    name_node = lvl.required("name", "clé 'name' obligatoire (nom du niveau)")
    name = name_node.text()
    if name in taken:
        raise name_node.error(f"nom de niveau en double : {name!r}")
    match = lvl.at("match", "any").choice(("any", "all"))
    criteria = lvl.at("criteria", None).items()
    if not criteria:
        raise lvl.at("criteria").error("au moins un critère attendu")
    return PriorityLevel(
        name=name,
        rank=rank,
        criteria=tuple(reading.criterion(c) for c in criteria),
        match=match,
        label=lvl.at("label", "").text(allow_empty=True),
    )


def _priority(top: Node, reading: _Reading, read: Mapping[str, Any]) -> dict[str, Any]:
    prio = top.at("priority").mapping(("levels", "non_priority_name"))
    levels: list[PriorityLevel] = []
    for i, item in enumerate(prio.at("levels", []).items()):
        levels.append(_level(item, i + 1, reading, [lv.name for lv in levels]))
    non_priority = prio.at("non_priority_name", "non prioritaire")
    name = non_priority.text()
    if name in (lv.name for lv in levels):
        raise non_priority.error("ce nom est déjà celui d'un niveau")
    return {"levels": tuple(levels), "non_priority_level": name}


def _exclusions(top: Node, reading: _Reading, read: Mapping[str, Any]) -> dict[str, Any]:
    return {"exclusions": tuple(reading.criterion(c) for c in top.at("exclusions", []).items())}


def _routing(top: Node, reading: _Reading, read: Mapping[str, Any]) -> dict[str, Any]:
    level_names = [lv.name for lv in read["levels"]] + [read["non_priority_level"]]
    routing = top.at("routing").mapping(("max_distance_km", "priority", "non_priority", "levels"))
    default_max = _distance(routing.at("max_distance_km"), None)
    for key in ("priority", "non_priority"):
        routing.required(key, f"règle {key!r} obligatoire manquante")
    routers, reference = reading.registry.routers, reading.reference
    fields: dict[str, Any] = {
        "routing_priority": _rule(routing.at("priority"), routers, default_max, reference),
        "routing_non_priority": _rule(routing.at("non_priority"), routers, default_max, reference),
        "routing_by_level": {},
    }
    if "levels" in routing:
        for name, rule in routing.at("levels").mapping(level_names).children():
            fields["routing_by_level"][name] = _rule(rule, routers, default_max, reference)
    return fields


def _physicians(top: Node, reading: _Reading, read: Mapping[str, Any]) -> dict[str, Any]:
    phys = top.at("physicians", {}).mapping(("default_accepted_communes",))
    accepted = phys.at("default_accepted_communes", "territory")
    return {"default_accepted_communes": accepted.choice(DEFAULT_ACCEPTED_CHOICES)}


def _capacity(top: Node, reading: _Reading, read: Mapping[str, Any]) -> dict[str, Any]:
    cap = top.at("capacity", {}).mapping(("carry_over", "default_monthly", "refusal_frees_slot"))
    monthly = cap.at("default_monthly", 0)
    return {
        "carry_over": cap.at("carry_over", False).boolean(),
        "refusal_frees_slot": cap.at("refusal_frees_slot", True).boolean(),
        "default_monthly_capacity": int(
            monthly.number(integer=True, minimum=0, maximum=MAX_MONTHLY_CAPACITY)
        ),
    }


def _households(top: Node, reading: _Reading, read: Mapping[str, Any]) -> dict[str, Any]:
    house = top.at("households", {}).mapping(("keep_together",))
    return {"keep_households_together": house.at("keep_together", False).boolean()}


def _follow_up(top: Node, reading: _Reading, read: Mapping[str, Any]) -> dict[str, Any]:
    follow = top.at("follow_up", {}).mapping(("max_contact_attempts",))
    attempts = follow.at("max_contact_attempts", 3)
    return {
        "max_contact_attempts": int(
            attempts.number(integer=True, minimum=1, maximum=MAX_CONTACT_ATTEMPTS)
        )
    }


def _distinct(node: Node, allowed: tuple[str, ...], expected: str) -> tuple[str, ...]:
    """A list of texts among ``allowed``, without duplicates (``expected``: « clé de tri
    parmi {} (sans doublon) attendue », with ``{}`` for the allowed values)."""
    out: list[str] = []
    for item in node.items():
        text = item.text()
        if text not in allowed or text in out:
            raise item.error(f"{expected.format(', '.join(allowed))}, reçu {text!r}")
        out.append(text)
    return tuple(out)


def _ordering(top: Node, reading: _Reading, read: Mapping[str, Any]) -> dict[str, Any]:
    ordering = top.at("ordering", {}).mapping(("keys", "tie_break"))
    return {
        "ordering_keys": _distinct(
            ordering.at("keys", ["received"]),
            ORDERING_KEYS,
            "clé de tri parmi {} (sans doublon) attendue",
        ),
        "tie_break": ordering.at("tie_break", "id").choice(TIE_BREAKS),
    }


def _privacy(top: Node, reading: _Reading, read: Mapping[str, Any]) -> dict[str, Any]:
    privacy = top.at("privacy", {}).mapping(("pseudonym_key", "referral_fields"))
    fields = privacy.at("referral_fields", list(DEFAULT_REFERRAL_FIELDS))
    question_ids = tuple(q.id for q in read["questions"])
    return {
        "pseudonym_key": privacy.at("pseudonym_key", read["code"]).text(),
        "referral_fields": _distinct(
            fields,
            (*REFERRAL_FIELDS, *question_ids),
            "champ (ou identifiant de question) parmi {} (sans doublon) attendu",
        ),
    }


def _resources(top: Node, reading: _Reading, read: Mapping[str, Any]) -> dict[str, Any]:
    level_names = [lv.name for lv in read["levels"]] + [read["non_priority_level"]]
    node = top.at("resources", [])
    return {"resources": read_resources(node, reading.criterion, reading.reference, level_names)}


def _plugin_sections(top: Node, reading: _Reading, source: str) -> dict[str, Any]:
    context = ReadContext(reference=reading.reference, source=source, questions=reading.questions)
    values: dict[str, Any] = {}
    for name, section in reading.registry.sections.items():
        node = top.at(name)
        values[name] = section.read(node, context) if node.present else section.default
    return {"sections": values}


_CoreSection = Callable[[Node, _Reading, Mapping[str, Any]], dict[str, Any]]
"""Reads one core section: the whole mapping, the registrations, and the fields read so far
(``routing`` needs the level names, ``privacy`` the code); returns fields of :class:`Policy`."""

_CORE_SECTIONS: tuple[_CoreSection, ...] = (
    _identity,
    _territory,
    _questions,
    _priority,
    _exclusions,
    _routing,
    _physicians,
    _capacity,
    _households,
    _follow_up,
    _ordering,
    _privacy,
    _resources,
)
"""The core sections, in the order they are checked (so the first error of a file is the
same from one version to the next)."""

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
    "questions",
)
"""The core top-level keys; the sections plugins register come after them."""

_REQUIRED = ("identity", "territory", "priority", "routing")


def _top(node: Node, sections: Mapping[str, PolicySection[Any]]) -> Node:
    """The whole mapping, checked: known keys only, required sections, version."""
    clashing = sorted(set(sections) & set(_TOP_KEYS))
    if clashing:
        raise PluginError(
            f"section de politique {clashing[0]!r} enregistrée par un plugin : ce nom est "
            "celui d'une section de base"
        )
    top = node.mapping((*_TOP_KEYS, *sections))
    for required in _REQUIRED:
        top.required(required, f"section {required!r} obligatoire manquante")
    if "version" in top and top.at("version").value != 1:
        raise top.at("version").error(f"version 1 attendue, reçu {top.at('version').value!r}")
    return top


def policy_from_mapping(
    data: object,
    *,
    registry: Registry | None = None,
    criterion_kinds: Mapping[str, CriterionKind] | None = None,
    routers: Mapping[str, RouterKind] | None = None,
    sections: Mapping[str, PolicySection[Any]] | None = None,
    reference: CommuneReference | None = None,
    source: str = "<dict>",
    lines: Mapping[str, int] | None = None,
    plugin_manager: pluggy.PluginManager | None = None,
) -> Policy:
    """Validate a parsed policy mapping and compile it: a policy built in code, with the
    keys and checks of a policy file (the YAML reference, ``docs/yaml-reference.md``;
    :func:`mt_access.load_policy` reads a file and calls this). Also exported as
    ``mt_access.policy_from_mapping``.

    Example:
        A CPTS of two communes, one priority level, every request routed by
        ``monthly_quota``, one place a month for a GP who declared none:

        >>> import mt_access
        >>> policy = mt_access.policy_from_mapping(
        ...     {
        ...         "version": 1,
        ...         "identity": {"name": "CPTS d'essai", "code": "essai", "department": "38"},
        ...         "territory": {"communes": ["38563", "38133"]},
        ...         "priority": {"levels": [{"name": "ALD", "criteria": [{"kind": "ald"}]}]},
        ...         "routing": {
        ...             "priority": {"router": "monthly_quota"},
        ...             "non_priority": {"router": "monthly_quota"},
        ...         },
        ...         "capacity": {"default_monthly": 1},
        ...     },
        ...     reference=mt_access.geo.bundled_reference(),  # check the INSEE codes
        ... )
        >>> [level.name for level in policy.levels], policy.non_priority_level
        (['ALD'], 'non prioritaire')
        >>> policy.routing_priority.router.name, policy.default_monthly_capacity
        ('monthly_quota', 1)

    Args:
        data: the mapping (as ``yaml.safe_load`` returns it).
        registry: what the plugins register (:func:`mt_access.plugins.registry`); by
            default, that of ``plugin_manager``, else of a fresh
            :func:`~mt_access.plugins.get_plugin_manager`.
        criterion_kinds: known criterion kinds by name, instead of the registry's.
        routers: known routers by name, instead of the registry's.
        sections: the sections plugins contribute, by name, instead of the registry's.
        reference: commune reference used to check INSEE codes (skipped when ``None``).
        source: the file name, for error messages.
        lines: line of each key path (``$.routing.priority``), for error messages.
        plugin_manager: kept on the policy for the decision hooks at match time.

    Raises:
        PolicyError: naming the source, line, key path and what was expected.
    """
    if registry is None:
        if criterion_kinds is None or routers is None or sections is None:
            registry = plugins.registry(plugin_manager or plugins.get_plugin_manager())
        else:
            registry = Registry(criterion_kinds, routers, sections, plugin_manager)
    registry = attrs.evolve(
        registry,
        criterion_kinds=registry.criterion_kinds if criterion_kinds is None else criterion_kinds,
        routers=registry.routers if routers is None else routers,
        sections=registry.sections if sections is None else sections,
    )
    reading = _Reading(registry=registry, reference=reference)
    top = _top(Locator(source, lines or {}).root(data), registry.sections)
    fields: dict[str, Any] = {}
    for read_section in _CORE_SECTIONS:
        fields.update(read_section(top, reading, fields))
        if read_section is _questions:  # the criteria and sections after it check ids
            reading = attrs.evolve(reading, questions=fields["questions"])
    fields.update(_plugin_sections(top, reading, source))
    return Policy(
        **fields,
        source=source,
        reference=reference,
        plugin_manager=plugin_manager,
        raw=cast(dict[str, Any], top.value),
    )
