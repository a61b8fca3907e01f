"""Simulation and policy comparison: "what if" questions for a CPTS, answered with intervals.

* A **synthetic generator** of requests and volunteer GPs for any territory of the commune
  reference, reproducible from a seed (:class:`Scenario`, :class:`PatientRates`,
  :class:`GPRates`), with default rates from public figures and the Sud Est Grenoblois review.
* A **month-by-month simulation** (:func:`simulate`) on the real engine
  (:func:`mt_access.match`), the capacity ledger, the requests' lifecycle and the GP
  register, with GP answers, capacity changes, suspensions, withdrawals, patients who find a
  GP elsewhere or cannot be reached (:class:`Behaviour`), and events (:class:`GPRetires`,
  :class:`GPJoins`, :class:`CapacityChange`, :class:`GPSuspends`, :class:`GPWithdraws`).
* **Comparison** of scenarios and policies (:func:`compare`, :func:`policy_variant`) over
  replications in parallel, as pandas tables and matplotlib plots with intervals
  (:class:`Comparison`).

See ``docs/simulation.md``. The tables need pandas, the plots matplotlib and the generated
names Faker: ``pip install 'mt-access[simulation]'``.
"""

from __future__ import annotations

from mt_access.simulation.calibration import (
    SEG_COMMUNES,
    SEG_MONTHLY_CAPACITY,
    SEG_PUBLISHED,
    seg_policy,
    seg_scenario,
)
from mt_access.simulation.compare import (
    AUTO_PARALLEL_RUNS,
    Comparison,
    RunSummary,
    compare,
    format_value,
)
from mt_access.simulation.events import (
    CapacityChange,
    GPJoins,
    GPRetires,
    GPSuspends,
    GPWithdraws,
    ScenarioEvent,
)
from mt_access.simulation.generator import (
    Arrival,
    SimulationError,
    generate_identity,
    generate_physicians,
    generate_requests,
    rng_for,
    territory_data,
)
from mt_access.simulation.metrics import (
    ALL,
    FRAGILE,
    GP_INDICATORS,
    INDICATORS,
    REQUEST_INDICATORS,
    summarise,
)
from mt_access.simulation.rates import (
    SEG_MONTHLY_REQUESTS,
    SEG_POPULATION,
    SHARE_WITHOUT_MT,
    AgeBand,
    Behaviour,
    GPRates,
    PatientRates,
)
from mt_access.simulation.runner import (
    GPMonthLoad,
    MonthState,
    RequestOutcome,
    SimulationRun,
    simulate,
)
from mt_access.simulation.scenario import Scenario
from mt_access.simulation.variants import policy_variant

__all__ = [
    "ALL",
    "AUTO_PARALLEL_RUNS",
    "FRAGILE",
    "GP_INDICATORS",
    "INDICATORS",
    "REQUEST_INDICATORS",
    "SEG_COMMUNES",
    "SEG_MONTHLY_CAPACITY",
    "SEG_MONTHLY_REQUESTS",
    "SEG_POPULATION",
    "SEG_PUBLISHED",
    "SHARE_WITHOUT_MT",
    "AgeBand",
    "Arrival",
    "Behaviour",
    "CapacityChange",
    "Comparison",
    "GPJoins",
    "GPMonthLoad",
    "GPRates",
    "GPRetires",
    "GPSuspends",
    "GPWithdraws",
    "MonthState",
    "PatientRates",
    "RequestOutcome",
    "RunSummary",
    "Scenario",
    "ScenarioEvent",
    "SimulationError",
    "SimulationRun",
    "compare",
    "format_value",
    "generate_identity",
    "generate_physicians",
    "generate_requests",
    "policy_variant",
    "rng_for",
    "seg_policy",
    "seg_scenario",
    "simulate",
    "summarise",
    "territory_data",
]
