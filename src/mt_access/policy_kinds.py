"""What a plugin registers to extend the policy language.

* :class:`CriterionKind` (hook ``mt_access_criterion_kinds``): a ``kind:`` of priority
  criterion, with its :class:`Param` declarations;
* :class:`RouterKind` (hook ``mt_access_routers``): a ``router:`` of routing rule;
* :class:`PolicySection` (hook ``mt_access_policy_sections``): a top-level section of the
  policy file (``intake:``, ``letters:``, or a CPTS plugin's own), read into a typed value
  that :meth:`mt_access.Policy.section` gives back.

This module sits under :mod:`mt_access.policy` and :mod:`mt_access.plugins`: both import it,
it imports neither.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import attrs

from mt_access.model import Request
from mt_access.yamlcheck import Node

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from mt_access.columns import RequestTable
    from mt_access.geo.communes import CommuneReference
    from mt_access.questions import Question
    from mt_access.routing import RouterOutput, RoutingTask

__all__ = [
    "TYPE_LABELS",
    "CriterionKind",
    "CriterionTest",
    "Param",
    "ParamType",
    "PolicySection",
    "ReadContext",
    "RouterKind",
    "VectorTest",
]

T = TypeVar("T")

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
    ANY = "any"


TYPE_LABELS: Mapping[ParamType, str] = {
    ParamType.INT: "un nombre entier",
    ParamType.NUMBER: "un nombre",
    ParamType.STRING: "un texte",
    ParamType.BOOLEAN: "true ou false",
    ParamType.STRING_LIST: "une liste de textes",
    ParamType.COMMUNE_LIST: "une liste de codes INSEE",
    ParamType.REASON_LIST: "une liste de motifs",
    ParamType.CHOICE: "une valeur parmi une liste",
    ParamType.ANY: "une valeur (vérifiée par le type de critère)",
}
"""How each parameter type is named in French messages."""


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
        prepare: optional; checks the parameters read against the rest of the policy (e.g.
            its questions, in the :class:`ReadContext`) and returns them completed, before
            ``build``; raises the node's errors (``node.error(...)``).
        describe: optional; the French label from the prepared parameters, instead of the
            ``label`` template.
    """

    name: str
    label: str
    build: Callable[[Mapping[str, Any]], CriterionTest]
    params: tuple[Param, ...] = ()
    doc: str = ""
    build_vectorized: Callable[[Mapping[str, Any]], VectorTest] | None = None
    prepare: Callable[[Node, Mapping[str, Any], ReadContext], Mapping[str, Any]] | None = None
    describe: Callable[[Mapping[str, Any]], str] | None = None


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
class ReadContext:
    """What a section's reader may need besides its own YAML.

    Attributes:
        reference: the commune reference INSEE codes are checked against (``None``: not
            checked).
        source: the policy file (``"<dict>"`` for a mapping built in Python); paths written
            in a section are relative to its folder.
        questions: the policy's own questions (its ``questions:`` section), for a section
            or a criterion kind that refers to them by id.
    """

    reference: CommuneReference | None = attrs.field(default=None, eq=False, repr=False)
    source: str = "<dict>"
    questions: tuple[Question, ...] = ()


@attrs.frozen
class PolicySection(Generic[T]):
    """A top-level section of the policy file, contributed by a plugin
    (``mt_access_policy_sections``), and the typed key to read its value back:
    ``policy.section(SECTION)`` is a ``T``.

    Attributes:
        name: the top-level YAML key (``"intake"``).
        read: turns the section's YAML (a :class:`~mt_access.yamlcheck.Node`: the value and
            its key path ``$.intake``) into a ``T``; raises the node's errors
            (``node.error(...)``, :class:`~mt_access.errors.PolicyError` with the file, line
            and key path).
        default: the value when the file has no such section.
        doc: one line for the YAML reference.
    """

    name: str
    read: Callable[[Node, ReadContext], T] = attrs.field(eq=False)
    default: T
    doc: str = ""
