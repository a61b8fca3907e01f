"""Built-in criterion kinds (plugin).

Each kind has a scalar test (one request) and a vectorised one (a whole
:class:`~mt_access.columns.RequestTable`); a test in ``tests/`` checks they agree.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from mt_access.bounds import MAX_AGE_YEARS, MAX_WAITING_DAYS
from mt_access.columns import RequestTable
from mt_access.model import HomeVisitNeed, SearchReason
from mt_access.plugins import hookimpl
from mt_access.policies.answer_kind import ANSWER_KIND
from mt_access.policy import CriterionKind, CriterionTest, Param, ParamType, VectorTest

__all__ = ["BUILTIN_CRITERION_KINDS"]

_REASON_INDEX = {r: i for i, r in enumerate(SearchReason)}
_NEED_INDEX = {h: i for i, h in enumerate(HomeVisitNeed)}


def _age_at_least(params: Mapping[str, Any]) -> CriterionTest:
    years = int(params["years"])
    return lambda request, on: request.age(on) >= years


def _age_at_least_v(params: Mapping[str, Any]) -> VectorTest:
    years = int(params["years"])
    return lambda table, on: table.ages(on) >= years


def _age_under(params: Mapping[str, Any]) -> CriterionTest:
    years = int(params["years"])
    return lambda request, on: request.age(on) < years


def _age_under_v(params: Mapping[str, Any]) -> VectorTest:
    years = int(params["years"])
    return lambda table, on: table.ages(on) < years


def _flag(name: str) -> Any:
    def build(_params: Mapping[str, Any]) -> CriterionTest:
        return lambda request, on: bool(getattr(request, name))

    return build


def _flag_v(name: str) -> Any:
    def build(_params: Mapping[str, Any]) -> VectorTest:
        def test(table: RequestTable, on: Any) -> Any:
            return getattr(table, name)

        return test

    return build


def _previous_mt_left(_params: Mapping[str, Any]) -> CriterionTest:
    return lambda request, on: request.reason is SearchReason.PREVIOUS_MT_LEFT


def _previous_mt_left_v(_params: Mapping[str, Any]) -> VectorTest:
    code = _REASON_INDEX[SearchReason.PREVIOUS_MT_LEFT]
    return lambda table, on: table.reason == code


def _home_visits(params: Mapping[str, Any]) -> CriterionTest:
    if params["exclusive_only"]:
        return lambda request, on: request.home_visits is HomeVisitNeed.EXCLUSIVE
    return lambda request, on: request.home_visits is not HomeVisitNeed.NONE


def _home_visits_v(params: Mapping[str, Any]) -> VectorTest:
    if params["exclusive_only"]:
        code = _NEED_INDEX[HomeVisitNeed.EXCLUSIVE]
        return lambda table, on: table.home_visits == code
    none = _NEED_INDEX[HomeVisitNeed.NONE]
    return lambda table, on: table.home_visits != none


def _household_with_children(_params: Mapping[str, Any]) -> CriterionTest:
    return lambda request, on: request.household.children > 0


def _household_with_children_v(_params: Mapping[str, Any]) -> VectorTest:
    return lambda table, on: table.children > 0


def _reason_in(params: Mapping[str, Any]) -> CriterionTest:
    reasons = frozenset(SearchReason(r) for r in params["reasons"])
    return lambda request, on: request.reason in reasons


def _reason_in_v(params: Mapping[str, Any]) -> VectorTest:
    codes = np.array([_REASON_INDEX[SearchReason(r)] for r in params["reasons"]], dtype=np.int64)
    return lambda table, on: np.isin(table.reason, codes)


def _commune_in(params: Mapping[str, Any]) -> CriterionTest:
    communes = frozenset(params["communes"])
    return lambda request, on: request.commune in communes


def _commune_in_v(params: Mapping[str, Any]) -> VectorTest:
    communes = frozenset(params["communes"])

    def test(table: RequestTable, on: Any) -> Any:
        # on the communes' codes: one test per distinct commune, no text per request
        hit = np.fromiter(map(communes.__contains__, table.communes), bool, len(table.communes))
        return hit[table.commune_index]

    return test


def _waiting_at_least(params: Mapping[str, Any]) -> CriterionTest:
    days = int(params["days"])
    return lambda request, on: (on - request.received).days >= days


def _waiting_at_least_v(params: Mapping[str, Any]) -> VectorTest:
    days = int(params["days"])
    return lambda table, on: (on.toordinal() - table.received) >= days


_YEARS = Param(
    "years",
    ParamType.INT,
    "âge en années révolues",
    required=True,
    minimum=0,
    maximum=MAX_AGE_YEARS,
)


def _kind(
    name: str,
    label: str,
    build: Any,
    vector: Any,
    doc: str,
    params: tuple[Param, ...] = (),
) -> CriterionKind:
    return CriterionKind(name, label, build, params, doc, build_vectorized=vector)


BUILTIN_CRITERION_KINDS: tuple[CriterionKind, ...] = (
    _kind(
        "age_at_least",
        "âge ≥ {years} ans",
        _age_at_least,
        _age_at_least_v,
        "Patient aged at least `years` on the reference date.",
        (_YEARS,),
    ),
    _kind(
        "age_under",
        "âge < {years} ans",
        _age_under,
        _age_under_v,
        "Patient younger than `years` on the reference date (children).",
        (_YEARS,),
    ),
    _kind("ald", "affection de longue durée (ALD)", _flag("ald"), _flag_v("ald"),
          "Patient with an ALD."),
    _kind("css", "bénéficiaire de la CSS", _flag("css"), _flag_v("css"),
          "Patient covered by the complémentaire santé solidaire."),
    _kind("ame", "bénéficiaire de l'AME", _flag("ame"), _flag_v("ame"),
          "Patient covered by the aide médicale de l'État."),
    _kind("disability_or_chronic", "handicap ou maladie chronique",
          _flag("disability_or_chronic"), _flag_v("disability_or_chronic"),
          "Disability or chronic condition (without ALD)."),
    _kind("urgent", "urgence : soins nécessaires sous un mois", _flag("urgent"),
          _flag_v("urgent"), "Care needed within a month."),
    _kind("previous_mt_left", "médecin traitant parti (retraite, cessation d'activité)",
          _previous_mt_left, _previous_mt_left_v, "The previous MT retired or left."),
    _kind(
        "home_visits_needed",
        "besoin de visites à domicile",
        _home_visits,
        _home_visits_v,
        "The patient needs home visits (occasional or exclusive).",
        (
            Param(
                "exclusive_only",
                ParamType.BOOLEAN,
                "ne retenir que les besoins de visites exclusivement à domicile",
                default=False,
            ),
        ),
    ),
    _kind("household_with_children", "foyer avec enfant(s) de moins de 16 ans",
          _household_with_children, _household_with_children_v,
          "The request covers at least one child under 16."),
    _kind(
        "reason_in",
        "motif : {reasons}",
        _reason_in,
        _reason_in_v,
        "The reason for the search is one of `reasons` (used for exclusions).",
        (Param("reasons", ParamType.REASON_LIST, "motifs retenus", required=True),),
    ),
    _kind(
        "commune_in",
        "commune : {communes}",
        _commune_in,
        _commune_in_v,
        "The patient lives in one of `communes`.",
        (Param("communes", ParamType.COMMUNE_LIST, "codes INSEE", required=True),),
    ),
    _kind(
        "waiting_at_least",
        "en attente depuis ≥ {days} jours",
        _waiting_at_least,
        _waiting_at_least_v,
        "The request was received at least `days` days before the reference date.",
        (
            Param(
                "days",
                ParamType.INT,
                "jours depuis la réception",
                required=True,
                minimum=0,
                maximum=MAX_WAITING_DAYS,
            ),
        ),
    ),
    ANSWER_KIND,
)  # fmt: skip


@hookimpl
def mt_access_criterion_kinds() -> list[CriterionKind]:
    return list(BUILTIN_CRITERION_KINDS)
