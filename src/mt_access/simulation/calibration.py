"""The calibration case: the CPTS Sud Est Grenoblois's published outcome.

Source: « CPTS Sud Est Grenoblois — État des lieux après 6 mois de fonctionnement : juin
2022 », in the slides of the Hauts-de-France inter-CPTS workshop (source document 004):

* 250 people registered in 6 months; a solution was found for half of them;
* 1 person in 3 has at least one priority criterion (over 70, under 6, ALD, CSS/AME);
* home visits are needed for 1 person in 15;
* the territory: Saint-Martin-d'Hères, Eybens and Poisat (the CPTS's form).

The CPTS did not publish its number of volunteer GPs or their capacity, nor its routing:
:func:`seg_scenario` assumes the CPTS proposes each patient to GPs as the Voironnais does
(``monthly_quota``, priority patients first) and sets the GPs' total capacity to the value
that gives about half a solution (:data:`SEG_MONTHLY_CAPACITY`). A calibration check is then a
consistency check of the model (arrivals, exits, answers) with one published figure, not an
independent validation.
"""

from __future__ import annotations

from typing import Any

from mt_access.calendar import Month
from mt_access.plugins import get_plugin_manager, registry
from mt_access.policy import Policy, policy_from_mapping
from mt_access.simulation.rates import GPRates, PatientRates
from mt_access.simulation.scenario import Scenario

__all__ = [
    "SEG_COMMUNES",
    "SEG_MONTHLY_CAPACITY",
    "SEG_PUBLISHED",
    "seg_policy",
    "seg_scenario",
]

SEG_COMMUNES = ("38421", "38158", "38309")
"""Saint-Martin-d'Hères, Eybens, Poisat."""

SEG_PUBLISHED = {"registered": 250, "months": 6, "solution_share": 0.5}
"""The published outcome: 250 people registered in 6 months, a solution for half."""

SEG_MONTHLY_CAPACITY = 30
"""Persons a month the scheme's GPs can take, chosen so that the simulated share of requests
with a solution (a GP through the scheme, or found by other means) matches the published one:
15 GPs of 2 places. (A request is a household: 1.3 persons on average.)"""

_POLICY: dict[str, Any] = {
    "version": 1,
    "identity": {
        "name": "CPTS Sud Est Grenoblois (simulation)",
        "code": "sud_est_grenoblois",
        "department": "38",
        "notes": "Politique supposée pour la calibration : critères publiés, routage supposé.",
    },
    "territory": {"communes": list(SEG_COMMUNES)},
    "priority": {
        "levels": [
            {
                "name": "urgence",
                "label": "nécessité de débuter un suivi dans le mois",
                "criteria": [{"kind": "urgent"}],
            },
            {
                "name": "prioritaire",
                "label": "plus de 70 ans, moins de 6 ans, ALD, CSS/AME",
                "criteria": [
                    {"kind": "age_at_least", "years": 70},
                    {"kind": "age_under", "years": 6},
                    {"kind": "ald"},
                    {"kind": "css"},
                    {"kind": "ame"},
                ],
            },
        ],
        "non_priority_name": "non prioritaire",
    },
    "exclusions": [{"kind": "reason_in", "reasons": ["convenience"]}],
    "routing": {
        "priority": {"router": "monthly_quota"},
        "non_priority": {"router": "monthly_quota"},
    },
    "capacity": {"default_monthly": 0},
}


def seg_policy() -> Policy:
    """The Sud Est Grenoblois policy as the simulation assumes it: its published priority
    criteria (and urgency first), ``monthly_quota`` routing (an assumption)."""
    pm = get_plugin_manager()
    found = registry(pm)
    return policy_from_mapping(
        _POLICY,
        registry=found,
        reference=found.reference(),
        source="<sud_est_grenoblois>",
        plugin_manager=pm,
    )


def seg_scenario(*, seed: int = 2022, monthly_capacity: int = SEG_MONTHLY_CAPACITY) -> Scenario:
    """Six months of the Sud Est Grenoblois from January 2022: the default rates (which are
    the SEG's: 250 requests in 6 months, 1 in 3 with a priority criterion, home visits for
    1 in 15) and GPs of 2 places a month summing to ``monthly_capacity``."""
    gps = max(1, monthly_capacity // 2)
    return Scenario(
        territory=SEG_COMMUNES,
        start=Month(2022, 1),
        months=6,
        seed=seed,
        patients=PatientRates(),
        gps=GPRates(count=gps, capacities=((2, 1.0),)),
        name="Sud Est Grenoblois",
    )
