"""Built-in criterion kinds (plugin)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mt_access.model import HomeVisitNeed, SearchReason
from mt_access.plugins import hookimpl
from mt_access.policy import CriterionKind, CriterionTest, Param, ParamType

__all__ = ["BUILTIN_CRITERION_KINDS"]


def _age_at_least(params: Mapping[str, Any]) -> CriterionTest:
    years = int(params["years"])
    return lambda request, on: request.age(on) >= years


def _age_under(params: Mapping[str, Any]) -> CriterionTest:
    years = int(params["years"])
    return lambda request, on: request.age(on) < years


def _flag(name: str) -> Any:
    def build(_params: Mapping[str, Any]) -> CriterionTest:
        return lambda request, on: bool(getattr(request, name))

    return build


def _previous_mt_left(_params: Mapping[str, Any]) -> CriterionTest:
    return lambda request, on: request.reason is SearchReason.PREVIOUS_MT_LEFT


def _home_visits(params: Mapping[str, Any]) -> CriterionTest:
    if params["exclusive_only"]:
        return lambda request, on: request.home_visits is HomeVisitNeed.EXCLUSIVE
    return lambda request, on: request.home_visits is not HomeVisitNeed.NONE


def _household_with_children(_params: Mapping[str, Any]) -> CriterionTest:
    return lambda request, on: request.household.children > 0


def _reason_in(params: Mapping[str, Any]) -> CriterionTest:
    reasons = frozenset(SearchReason(r) for r in params["reasons"])
    return lambda request, on: request.reason in reasons


def _commune_in(params: Mapping[str, Any]) -> CriterionTest:
    communes = frozenset(params["communes"])
    return lambda request, on: request.commune in communes


def _waiting_at_least(params: Mapping[str, Any]) -> CriterionTest:
    days = int(params["days"])
    return lambda request, on: (on - request.received).days >= days


_YEARS = Param("years", ParamType.INT, "âge en années révolues", required=True, minimum=0)

BUILTIN_CRITERION_KINDS: tuple[CriterionKind, ...] = (
    CriterionKind(
        "age_at_least",
        "âge ≥ {years} ans",
        _age_at_least,
        (_YEARS,),
        "Patient aged at least `years` on the reference date.",
    ),
    CriterionKind(
        "age_under",
        "âge < {years} ans",
        _age_under,
        (_YEARS,),
        "Patient younger than `years` on the reference date (children).",
    ),
    CriterionKind(
        "ald", "affection de longue durée (ALD)", _flag("ald"), doc="Patient with an ALD."
    ),
    CriterionKind(
        "css",
        "bénéficiaire de la CSS",
        _flag("css"),
        doc="Patient covered by the complémentaire santé solidaire.",
    ),
    CriterionKind(
        "ame",
        "bénéficiaire de l'AME",
        _flag("ame"),
        doc="Patient covered by the aide médicale de l'État.",
    ),
    CriterionKind(
        "disability_or_chronic",
        "handicap ou maladie chronique",
        _flag("disability_or_chronic"),
        doc="Disability or chronic condition (without ALD).",
    ),
    CriterionKind(
        "urgent",
        "urgence : soins nécessaires sous un mois",
        _flag("urgent"),
        doc="Care needed within a month.",
    ),
    CriterionKind(
        "previous_mt_left",
        "médecin traitant parti (retraite, cessation d'activité)",
        _previous_mt_left,
        doc="The previous MT retired or left.",
    ),
    CriterionKind(
        "home_visits_needed",
        "besoin de visites à domicile",
        _home_visits,
        (
            Param(
                "exclusive_only",
                ParamType.BOOLEAN,
                "ne retenir que les besoins de visites exclusivement à domicile",
                default=False,
            ),
        ),
        "The patient needs home visits (occasional or exclusive).",
    ),
    CriterionKind(
        "household_with_children",
        "foyer avec enfant(s) de moins de 16 ans",
        _household_with_children,
        doc="The request covers at least one child under 16.",
    ),
    CriterionKind(
        "reason_in",
        "motif : {reasons}",
        _reason_in,
        (Param("reasons", ParamType.REASON_LIST, "motifs retenus", required=True),),
        "The reason for the search is one of `reasons` (used for exclusions).",
    ),
    CriterionKind(
        "commune_in",
        "commune : {communes}",
        _commune_in,
        (Param("communes", ParamType.COMMUNE_LIST, "codes INSEE", required=True),),
        "The patient lives in one of `communes`.",
    ),
    CriterionKind(
        "waiting_at_least",
        "en attente depuis ≥ {days} jours",
        _waiting_at_least,
        (Param("days", ParamType.INT, "jours depuis la réception", required=True, minimum=0),),
        "The request was received at least `days` days before the reference date.",
    ),
)


@hookimpl
def mt_access_criterion_kinds() -> list[CriterionKind]:
    return list(BUILTIN_CRITERION_KINDS)
