"""Resources other than a GP (health centre, mediator, DAC...): reading them from a policy
file and deciding, for one request of a match run, which are involved and how.

A resource of the policy's ``resources:`` section is either *listed* (no ``mode:``: the
``orientation`` router lists it, as before conditions existed) or *conditional*: it is
involved for a request when its conditions hold (``when:`` criteria, ORed like a level's;
``levels:``; ``communes:``), with a ``mode:``

* ``alongside``: the request keeps its normal path (routed, proposed, on the pull lists);
  the resource is attached to it in the run's result and named in the letters;
* ``instead``: the request is answered with the resource(s) instead of a GP (an
  orientation without GP);
* ``before``: the request waits for the resource's answer, recorded by the coordinator
  (event ``resource_answer``), or for ``wait_days`` days after the resource was first
  involved (event ``resource_involved``, recorded by the run), then enters its GP path.

Core module: no I/O. :func:`decide` is what the engine calls for each request.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

import attrs

from mt_access.bounds import MAX_RESOURCE_WAIT_DAYS
from mt_access.criterion import Criterion, read_communes
from mt_access.model import Request
from mt_access.result import describe_resource
from mt_access.transitions import Event, Transition
from mt_access.yamlcheck import Node

if TYPE_CHECKING:
    from mt_access.geo.communes import CommuneReference
    from mt_access.policy import Policy

__all__ = [
    "RESOURCE_MODES",
    "Resource",
    "ResourceContact",
    "ResourceDecision",
    "decide",
    "read_resources",
    "resource_contacts",
    "resource_status",
    "resource_warnings",
]

RESOURCE_MODES = ("alongside", "instead", "before")
"""The ``mode:`` values of a conditional resource."""

MODE_LABELS = {
    "alongside": "en complément du parcours vers un médecin",
    "instead": "à la place d'un médecin",
    "before": "avant le parcours vers un médecin",
}
"""French words for each mode (explanations, letters)."""


def french_date(day: dt.date) -> str:
    return day.strftime("%d/%m/%Y")


@attrs.frozen
class Resource:
    """A resource other than a GP (health centre, teleconsultation, mediator, DAC...).

    Attributes:
        name: its name, unique in the policy (the coordinator records its answer by name).
        kind, contact, notes: shown to the patient.
        communes: the communes it serves (empty: the whole territory).
        mode: ``""`` (listed by the ``orientation`` router only), or one of
            :data:`RESOURCE_MODES`.
        when: criteria, one of which must hold (none: no condition on the request).
        levels: priority level names the request must have (empty: any level).
        wait_days: for ``before``, days after which the request enters its GP path without
            the resource's answer (``None``: it waits for the answer).
    """

    name: str
    kind: str = ""
    contact: str = ""
    communes: frozenset[str] = frozenset()
    notes: str = ""
    mode: str = ""
    when: tuple[Criterion, ...] = ()
    levels: frozenset[str] = frozenset()
    wait_days: int | None = None

    def serves(self, commune: str) -> bool:
        """Empty ``communes`` means the whole territory."""
        return not self.communes or commune in self.communes

    @property
    def conditional(self) -> bool:
        """Whether the resource has a mode (involved by its conditions, not by a router)."""
        return bool(self.mode)

    def describe(self) -> str:
        return describe_resource(self.name, self.kind, self.contact)

    def applies(self, request: Request, level: str, on: dt.date) -> tuple[str, ...] | None:
        """The labels of the ``when`` criteria met (empty without ``when``), or ``None`` when
        the resource is not involved for ``request`` (of level ``level``) on ``on``."""
        if not self.conditional or not self.serves(request.commune):
            return None
        if self.levels and level not in self.levels:
            return None
        if not self.when:
            return ()
        met = tuple(c.label for c in self.when if c(request, on))
        return met if met else None


@attrs.frozen
class ResourceContact:
    """What the register knows about a resource for one request.

    Attributes:
        involved_on: the date of the first run that involved it (``None``: never).
        answered_on: the date the coordinator recorded its answer (``None``: no answer).
    """

    involved_on: dt.date | None = None
    answered_on: dt.date | None = None


def resource_contacts(history: Iterable[Transition]) -> dict[str, ResourceContact]:
    """Each resource's :class:`ResourceContact` from a request's history (by name): the
    first ``resource_involved`` and the first ``resource_answer`` events."""
    out: dict[str, ResourceContact] = {}
    for t in history:
        if t.resource is None:
            continue
        known = out.get(t.resource, ResourceContact())
        if t.event is Event.RESOURCE_INVOLVED and known.involved_on is None:
            out[t.resource] = attrs.evolve(known, involved_on=t.on)
        elif t.event is Event.RESOURCE_ANSWER and known.answered_on is None:
            out[t.resource] = attrs.evolve(known, answered_on=t.on)
    return out


@attrs.frozen
class Involvement:
    """One resource involved for one request in a run (see
    :class:`mt_access.result.AttachedResource`, built from it)."""

    resource: Resource
    status: str
    involved_on: dt.date
    first_time: bool
    until: dt.date | None
    criteria: tuple[str, ...]


@attrs.frozen
class ResourceDecision:
    """What the conditional resources decide for one request.

    Attributes:
        involved: every resource involved, in the policy's order.
        instead: whether an ``instead`` resource answers the request (no GP path).
        held: whether a ``before`` resource still holds the request out of routing.
    """

    involved: tuple[Involvement, ...] = ()

    @property
    def instead(self) -> bool:
        return any(i.status == "instead" for i in self.involved)

    @property
    def held(self) -> bool:
        return any(i.status == "awaiting" for i in self.involved)

    def waiting_detail(self) -> str:
        """« en attente de la réponse de : DAC (jusqu'au 12/03/2026) »."""
        names = []
        for i in self.involved:
            if i.status == "awaiting":
                until = f" (jusqu'au {french_date(i.until)})" if i.until is not None else ""
                names.append(f"{i.resource.name}{until}")
        return "en attente de la réponse de : " + ", ".join(names)


def resource_status(
    resource: Resource, contact: ResourceContact, on: dt.date
) -> tuple[str, dt.date | None]:
    """The status of a conditional resource for a request on ``on`` (``attached``,
    ``instead``, or for ``before``: ``awaiting``, ``answered``, ``expired``) and, for
    ``before`` with ``wait_days``, the date the request stops waiting."""
    if resource.mode != "before":
        return ("instead" if resource.mode == "instead" else "attached"), None
    involved = contact.involved_on or on
    until = None if resource.wait_days is None else involved + dt.timedelta(resource.wait_days)
    if contact.answered_on is not None and contact.answered_on <= on:
        return "answered", until
    if until is not None and on >= until:
        return "expired", until
    return "awaiting", until


def decide(
    resources: Sequence[Resource],
    request: Request,
    level: str,
    on: dt.date,
    contacts: Mapping[str, ResourceContact],
) -> ResourceDecision:
    """The conditional resources involved for ``request`` (of level ``level``) on ``on``,
    knowing what the register recorded about them (``contacts``, by resource name)."""
    involved = []
    for resource in resources:
        met = resource.applies(request, level, on)
        if met is None:
            continue
        contact = contacts.get(resource.name, ResourceContact())
        status, until = resource_status(resource, contact, on)
        involved.append(
            Involvement(
                resource=resource,
                status=status,
                involved_on=contact.involved_on or on,
                first_time=contact.involved_on is None,
                until=until,
                criteria=met,
            )
        )
    return ResourceDecision(tuple(involved))


# --------------------------------------------------------------------------------------------
# Reading


_KEYS = ("name", "kind", "contact", "communes", "notes", "mode", "when", "levels", "wait_days")


def _levels(node: Node, level_names: Sequence[str]) -> frozenset[str]:
    names = []
    for item in node.items(expected="liste de noms de niveaux"):
        name = item.text()
        if name not in level_names:
            raise item.error(
                f"niveau inconnu {name!r} ; niveaux de la politique : {', '.join(level_names)}"
            )
        names.append(name)
    if not names:
        raise node.error("au moins un nom de niveau attendu")
    return frozenset(names)


def _when(node: Node, criterion: Callable[[Node], Criterion]) -> tuple[Criterion, ...]:
    items = node.items(expected="liste de critères (kind: ...)")
    if not items:
        raise node.error("au moins un critère attendu sous 'when'")
    return tuple(criterion(item) for item in items)


def _resource(
    node: Node,
    criterion: Callable[[Node], Criterion],
    reference: CommuneReference | None,
    level_names: Sequence[str],
) -> Resource:
    res = node.mapping(_KEYS)
    name = res.required("name", "clé 'name' obligatoire").text()
    mode = res.at("mode", "").text(allow_empty=True)
    if mode and mode not in RESOURCE_MODES:
        raise res.at("mode").error(f"mode parmi {', '.join(RESOURCE_MODES)} attendu, reçu {mode!r}")
    if not mode:
        for key in ("when", "levels", "wait_days"):
            if key in res:
                raise res.at(key).error(
                    f"la clé {key!r} demande un 'mode' ({', '.join(RESOURCE_MODES)}) ; "
                    "sans mode, la ressource est seulement listée par le routeur 'orientation'"
                )
    wait_days = None
    if "wait_days" in res:
        wait = res.at("wait_days")
        if mode != "before":
            raise wait.error("'wait_days' ne s'emploie qu'avec le mode 'before'")
        wait_days = int(wait.number(integer=True, minimum=1, maximum=MAX_RESOURCE_WAIT_DAYS))
    return Resource(
        name=name,
        kind=res.at("kind", "").text(allow_empty=True),
        contact=res.at("contact", "").text(allow_empty=True),
        communes=read_communes(res.at("communes", []), reference),
        notes=res.at("notes", "").text(allow_empty=True),
        mode=mode,
        when=_when(res.at("when"), criterion) if "when" in res else (),
        levels=_levels(res.at("levels"), level_names) if "levels" in res else frozenset(),
        wait_days=wait_days,
    )


def read_resources(
    node: Node,
    criterion: Callable[[Node], Criterion],
    reference: CommuneReference | None,
    level_names: Sequence[str],
) -> tuple[Resource, ...]:
    """The ``resources:`` section: a list of resources with unique names.

    Args:
        node: the section (absent: no resource).
        criterion: reads one criterion (the policy's reader, so that every criterion kind the
            policy knows, plugins' and combinators included, works under ``when``).
        reference: the commune reference (INSEE codes checked when given).
        level_names: the policy's level names (priority levels and the non-priority one).

    Raises:
        PolicyError: naming the file, line and key path.
    """
    out: list[Resource] = []
    for item in node.items():
        resource = _resource(item, criterion, reference, level_names)
        if any(r.name == resource.name for r in out):
            raise item.at("name").error(
                f"nom de ressource en double : {resource.name!r} (le nom désigne la ressource, "
                "par exemple pour enregistrer sa réponse)"
            )
        out.append(resource)
    return tuple(out)


# --------------------------------------------------------------------------------------------
# Checking (``mt-access politique verifier``)


Shape = tuple[object, ...]


def _shape(c: Criterion) -> Shape:
    """What a criterion tests, its label aside."""
    return (c.kind, c.params, tuple(_shape(x) for x in c.of))


def _never(c: Criterion, excluded: frozenset[Shape]) -> bool:
    """Whether no request the policy routes can meet ``c``: it is an exclusion (an excluded
    request never reaches the resources), or a combination that cannot hold (``all_of`` with
    a criterion and its ``not``, or with a part that never holds; ``any_of`` of such parts)."""
    shape = _shape(c)
    if shape in excluded:
        return True
    if c.kind == "all_of":
        shapes = {_shape(x) for x in c.of}
        if any(("not", (), (x,)) in shapes for x in shapes):
            return True
        return any(_never(x, excluded) for x in c.of)
    if c.kind == "any_of":
        return all(_never(x, excluded) for x in c.of)
    return False


def resource_warnings(policy: Policy) -> list[str]:
    """French warnings about the policy's resources that no rule can ever involve: a resource
    without ``mode`` while no routing rule uses the ``orientation`` router, a resource whose
    communes are all outside the territory, a ``when`` whose criteria can never hold for a
    request in scope (each is an exclusion, or a contradiction); and a ``before`` resource
    without ``wait_days`` (its requests wait for its answer with no limit)."""
    names = [lv.name for lv in policy.levels]
    rules = [policy.rule_for(n, True) for n in names]
    rules.append(policy.rule_for(policy.non_priority_level, False))
    orientation = any(rule.router.name == "orientation" for rule in rules)
    excluded = frozenset(_shape(c) for c in policy.exclusions)
    out = []
    for r in policy.resources:
        head = f"attention : la ressource « {r.name} »"
        if r.communes and not r.communes & policy.territory:
            out.append(
                f"{head} ne dessert aucune commune du territoire : aucune demande ne peut "
                "lui être associée"
            )
        elif not r.conditional and not orientation:
            out.append(
                f"{head} n'est associée par aucune règle : elle n'a pas de 'mode' (alongside, "
                "instead, before) et aucune règle de 'routing' n'utilise le routeur "
                "'orientation'"
            )
        elif r.when and all(_never(c, excluded) for c in r.when):
            out.append(
                f"{head} n'est associée par aucune règle : aucune demande du dispositif ne "
                "peut remplir ses conditions 'when' (critère d'exclusion de la politique, ou "
                "critères contradictoires)"
            )
        if r.mode == "before" and r.wait_days is None:
            out.append(
                f"{head} (mode before) n'a pas de 'wait_days' : ses demandes attendent sa "
                "réponse sans limite de durée (demande ressource pour l'enregistrer)"
            )
    return out
