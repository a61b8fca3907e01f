"""Criteria: the :class:`Criterion` value, its combinators (``all_of``, ``any_of``, ``not``)
and the reading of a criterion from a policy file.

A criterion is an instance of a criterion kind (registered by a plugin,
:class:`~mt_access.policy_kinds.CriterionKind`) with its validated parameters, or a
combination of criteria; it answers for one request (``test``) or, when every part can, for
a whole :class:`~mt_access.columns.RequestTable` at once (``vector``). :mod:`mt_access.policy`
reads the levels and exclusions with :func:`read_criterion`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import attrs

from mt_access.bounds import (
    MAX_CRITERION_LABEL,
)
from mt_access.errors import MtAccessError, PluginError
from mt_access.model import Request, SearchReason
from mt_access.policy_kinds import (
    TYPE_LABELS,
    CriterionKind,
    CriterionTest,
    Param,
    ParamType,
    ReadContext,
    VectorTest,
)
from mt_access.yamlcheck import Node, yaml_kind

if TYPE_CHECKING:
    from mt_access.geo.communes import CommuneReference
    from mt_access.questions import Question


__all__ = ["COMBINATORS", "Criterion", "read_communes", "read_criterion", "read_params"]

T = TypeVar("T")


@attrs.frozen
class Criterion:
    """A compiled criterion: its kind, its French label and its test.

    Attributes:
        kind: the ``kind:`` of the file (a registered kind, or a combinator of
            :data:`COMBINATORS`).
        label: the French label results, letters and referrals show (the file's ``label:``
            when it has one, else the kind's).
        params: the kind's parameters, validated.
        test: the scalar test.
        vector: the vectorised test, when the kind (every child, for a combinator) has one.
        of: a combinator's children (empty for any other kind).
        custom_label: whether ``label`` was written in the file.
    """

    kind: str
    label: str
    params: tuple[tuple[str, Any], ...]
    test: CriterionTest = attrs.field(eq=False, repr=False)
    vector: VectorTest | None = attrs.field(default=None, eq=False, repr=False)
    of: tuple[Criterion, ...] = ()
    custom_label: bool = False

    def __call__(self, request: Request, on: dt.date) -> bool:
        return self.test(request, on)

    @property
    def compound(self) -> bool:
        """Whether the label joins several labels with « et » / « ou » (so it is written in
        parentheses next to other labels)."""
        return self.kind in ("all_of", "any_of") and len(self.of) > 1 and not self.custom_label


COMBINATORS: Mapping[str, str] = {
    "all_of": "every criterion of `of` is met",
    "any_of": "at least one criterion of `of` is met",
    "not": "the criterion `of` is not met",
}
"""The combinator kinds, read by the policy itself (a plugin cannot register these names)."""


def _child_hit(child: Criterion, request: Request, on: dt.date) -> bool:
    """A combinator's child answer, checked to be a bool (the child's kind named otherwise)."""
    try:
        hit = child.test(request, on)
    except MtAccessError:
        raise
    except Exception as exc:
        raise PluginError(f"le critère {child.kind!r} a échoué ({type(exc).__name__})") from exc
    if hit is True or hit is False:
        return hit
    if type(hit).__name__ == "bool_":  # numpy.bool_, without importing numpy in the core
        return bool(hit)
    raise PluginError(
        f"le critère {child.kind!r} a renvoyé {type(hit).__name__} au lieu d'un booléen"
    )


def _child_column(child: Criterion, table: Any, on: dt.date) -> Any:
    """A combinator's child vectorised answer, checked to be one bool per row."""
    assert child.vector is not None
    try:
        found = child.vector(table, on)
    except MtAccessError:
        raise
    except Exception as exc:
        raise PluginError(f"le critère {child.kind!r} a échoué ({type(exc).__name__})") from exc
    dtype = getattr(found, "dtype", None)
    shape = getattr(found, "shape", None)
    if dtype is None or dtype.kind != "b" or shape != (len(table),):
        raise PluginError(
            f"le critère {child.kind!r} a renvoyé {type(found).__name__} au lieu de "
            f"{len(table)} booléen(s)"
        )
    return found


def _combined_tests(
    kind: str, of: tuple[Criterion, ...]
) -> tuple[CriterionTest, VectorTest | None]:
    """The scalar and (when every child has one) vectorised tests of a combinator."""
    if kind == "not":
        (only,) = of

        def test(request: Request, on: dt.date) -> bool:
            return not _child_hit(only, request, on)

        def vector(table: Any, on: dt.date) -> Any:
            return ~_child_column(only, table, on)

    elif kind == "all_of":

        def test(request: Request, on: dt.date) -> bool:
            return all(_child_hit(c, request, on) for c in of)

        def vector(table: Any, on: dt.date) -> Any:
            out = _child_column(of[0], table, on).copy()
            for c in of[1:]:
                out &= _child_column(c, table, on)
            return out

    else:  # any_of

        def test(request: Request, on: dt.date) -> bool:
            return any(_child_hit(c, request, on) for c in of)

        def vector(table: Any, on: dt.date) -> Any:
            out = _child_column(of[0], table, on).copy()
            for c in of[1:]:
                out |= _child_column(c, table, on)
            return out

    return test, (vector if all(c.vector is not None for c in of) else None)


def _combined_label(kind: str, of: tuple[Criterion, ...]) -> str:
    """A combinator's French label: « ALD ou (âge ≥ 70 ans et CSS) », « pas urgent »."""

    def part(c: Criterion) -> str:
        return f"({c.label})" if c.compound else c.label

    if kind == "not":
        return f"pas {part(of[0])}"
    return (" et " if kind == "all_of" else " ou ").join(part(c) for c in of)


def read_communes(node: Node, reference: CommuneReference | None) -> frozenset[str]:
    codes = []
    for item in node.items():
        code = item.text()
        hint = (
            ' ; écrivez les codes INSEE entre guillemets (par ex. "01053") : sans guillemets, '
            "YAML lit un nombre et un zéro initial change sa valeur"
            if isinstance(item.value, int)
            else ""
        )
        if not (len(code) == 5 and code.isalnum()):
            raise item.error(f"code INSEE à 5 caractères attendu, reçu {code!r}{hint}")
        if reference is not None and code not in reference:
            raise item.error(
                f"code INSEE {code} absent du référentiel des communes ({reference.vintage}){hint}"
            )
        codes.append(code)
    return frozenset(codes)


def _reasons(node: Node) -> tuple[str, ...]:
    known = [r.value for r in SearchReason]
    reasons = []
    for item in node.items():
        text = item.text()
        if text not in known:
            raise item.error(f"motif inconnu {text!r} ; motifs possibles : {', '.join(known)}")
        reasons.append(text)
    return tuple(sorted(set(reasons)))


def _param_value(node: Node, param: Param, reference: CommuneReference | None) -> Any:
    t = param.type
    if t is ParamType.INT or t is ParamType.NUMBER:
        return node.number(integer=t is ParamType.INT, minimum=param.minimum, maximum=param.maximum)
    if t is ParamType.STRING:
        return node.text(allow_empty=True)
    if t is ParamType.BOOLEAN:
        return node.boolean()
    if t is ParamType.STRING_LIST:
        return tuple(item.text() for item in node.items())
    if t is ParamType.COMMUNE_LIST:
        return tuple(sorted(read_communes(node, reference)))
    if t is ParamType.REASON_LIST:
        return _reasons(node)
    if t is ParamType.ANY:  # checked by the kind's ``prepare``
        return tuple(node.value) if isinstance(node.value, list) else node.value
    return node.choice(param.choices)  # CHOICE


def read_params(
    node: Node, params: tuple[Param, ...], reference: CommuneReference | None
) -> tuple[tuple[str, Any], ...]:
    out: dict[str, Any] = {}
    for param in params:
        if param.name in node:
            out[param.name] = _param_value(node.at(param.name), param, reference)
        elif param.required:
            raise node.error(
                f"paramètre {param.name!r} obligatoire ({TYPE_LABELS[param.type]} : {param.doc})"
            )
        else:
            out[param.name] = param.default
    return tuple(sorted(out.items()))


def _label(kind: CriterionKind, values: Mapping[str, Any]) -> str:
    """The criterion's French label: its kind's template, formatted with its parameters."""
    reason_params = {p.name for p in kind.params if p.type is ParamType.REASON_LIST}
    shown = {
        k: (
            ", ".join(SearchReason(x).label if k in reason_params else str(x) for x in v)
            if isinstance(v, tuple)
            else v
        )
        for k, v in values.items()
    }
    try:
        return kind.label.format(**shown)
    except (KeyError, IndexError, ValueError) as exc:
        raise PluginError(
            f"le libellé du type de critère {kind.name!r} ({kind.label!r}) ne peut pas être "
            f"formé avec ses paramètres ({', '.join(shown) or 'aucun'}) : {exc!r}"
        ) from None


def _criterion_label(node: Node) -> str:
    """A criterion's ``label:``: a non-empty text of at most :data:`MAX_CRITERION_LABEL`
    characters on one line."""
    label = node.text(expected="libellé (texte non vide)", numbers=False)
    if len(label) > MAX_CRITERION_LABEL:
        raise node.error(
            f"libellé de {MAX_CRITERION_LABEL} caractères au plus attendu, reçu {len(label)} "
            "caractères"
        )
    if "\n" in label or "\r" in label:
        raise node.error("libellé sur une seule ligne attendu")
    return label


def _combinator(
    node: Node,
    name: str,
    kinds: Mapping[str, CriterionKind],
    reference: CommuneReference | None,
    questions: Sequence[Question],
) -> Criterion:
    node.mapping(("kind", "of", "label"))
    of_node = node.required(
        "of",
        f"clé 'of' obligatoire pour {name!r} : "
        + ("un critère (kind: ...)" if name == "not" else "une liste de critères"),
    )
    if name == "not":
        if not isinstance(of_node.value, dict):
            raise of_node.error(
                f"un seul critère (kind: ...) attendu sous 'not', reçu {yaml_kind(of_node.value)}"
            )
        of: tuple[Criterion, ...] = (
            read_criterion(of_node, kinds, reference, questions=questions),
        )
    else:
        items = of_node.items(expected="liste de critères")
        if not items:
            raise of_node.error(f"au moins un critère attendu sous {name!r}")
        of = tuple(read_criterion(item, kinds, reference, questions=questions) for item in items)
    test, vector = _combined_tests(name, of)
    custom = "label" in node
    return Criterion(
        kind=name,
        label=_criterion_label(node.at("label")) if custom else _combined_label(name, of),
        params=(),
        test=test,
        vector=vector,
        of=of,
        custom_label=custom,
    )


def read_criterion(
    node: Node,
    kinds: Mapping[str, CriterionKind],
    reference: CommuneReference | None,
    *,
    questions: Sequence[Question] = (),
) -> Criterion:
    """A criterion of a policy file: a registered kind with its parameters, or a combinator
    (``all_of``, ``any_of``, ``not``); ``questions`` are the policy's own (for the kinds that
    refer to them, such as ``answer``).

    Raises:
        PolicyError: naming the file, line, key path and what was expected.
    """
    if not isinstance(node.value, dict):
        raise node.error(f"critère attendu (kind: ...), reçu {yaml_kind(node.value)}")
    known = ", ".join(sorted({*kinds, *COMBINATORS}))
    name_node = node.required("kind", f"clé 'kind' manquante ; types possibles : {known}")
    name = name_node.text()
    if name in COMBINATORS:
        if name in kinds:
            raise PluginError(
                f"type de critère {name!r} enregistré par un plugin : ce nom est celui d'un "
                "critère combiné de base (all_of, any_of, not)"
            )
        return _combinator(node, name, kinds, reference, questions)
    if name not in kinds:
        raise name_node.error(f"type de critère inconnu {name!r} ; types connus : {known}")
    kind = kinds[name]
    if any(p.name in ("kind", "label") for p in kind.params):
        raise PluginError(
            f"le type de critère {name!r} déclare un paramètre 'kind' ou 'label' : ces clés "
            "sont celles de tout critère"
        )
    node.mapping(["kind", "label", *(p.name for p in kind.params)])
    params = read_params(node, kind.params, reference)
    values = dict(params)
    if kind.prepare is not None:
        context = ReadContext(reference=reference, questions=tuple(questions))
        values = dict(kind.prepare(node, values, context))
        params = tuple(sorted(values.items()))
    custom = "label" in node
    if custom:
        label = _criterion_label(node.at("label"))
    elif kind.describe is not None:
        label = kind.describe(values)
    else:
        label = _label(kind, values)
    return Criterion(
        kind=name,
        label=label,
        params=params,
        test=kind.build(values),
        vector=kind.build_vectorized(values) if kind.build_vectorized is not None else None,
        custom_label=custom,
    )
