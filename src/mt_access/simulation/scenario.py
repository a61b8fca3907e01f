"""A scenario: a territory, its volunteer GPs, the people asking for a GP, and what happens."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import attrs

from mt_access.calendar import Month
from mt_access.geo.communes import CommuneReference, bundled_reference
from mt_access.model import Physician
from mt_access.policy import Policy
from mt_access.simulation.events import (
    GPJoins,
    GPRetires,
    ScenarioEvent,
    month_index,
)
from mt_access.simulation.generator import (
    SimulationError,
    generate_physicians,
    territory_data,
)
from mt_access.simulation.rates import Behaviour, GPRates, PatientRates

if TYPE_CHECKING:
    from mt_access.simulation.runner import SimulationRun

__all__ = ["Scenario"]


def _territory(value: Iterable[str]) -> frozenset[str]:
    if isinstance(value, str):
        raise TypeError("territory : liste de codes INSEE attendue, pas une chaîne")
    return frozenset(value)


def _physicians(value: Iterable[Physician] | None) -> tuple[Physician, ...] | None:
    if value is None:
        return None
    return tuple(sorted(value, key=lambda p: p.id))


def _events(value: Iterable[ScenarioEvent]) -> tuple[ScenarioEvent, ...]:
    return tuple(value)


def _seed(_inst: object, attribute: attrs.Attribute[int], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{attribute.name} : entier ≥ 0 attendu, reçu {value!r}")


@functools.lru_cache(maxsize=16)
def _generated(
    territory: frozenset[str], gps: GPRates, seed: int, reference: CommuneReference
) -> tuple[Physician, ...]:
    return generate_physicians(territory_data(territory, reference), gps, seed)


@attrs.frozen
class Scenario:
    """What to simulate: a territory over ``months`` months from ``start``.

    The volunteer GPs are ``physicians`` when given (e.g. the CPTS's own register), else
    generated from ``gps`` and ``seed`` (:attr:`register`): the same for every replication,
    so that an event can name one of them. The requests and every random decision change
    with the replication (see :func:`mt_access.simulation.simulate`).

    Attributes:
        territory: INSEE codes of the communes the requests come from.
        start: the first simulated month.
        months: how many months.
        seed: the seed of everything random (with the replication number).
        patients: who asks and how many (:class:`PatientRates`).
        gps: the GPs generated when ``physicians`` is not given (:class:`GPRates`).
        behaviour: GP answers, patients' exits, GP churn (:class:`Behaviour`).
        physicians: the GPs of the scheme, when not generated.
        events: scheduled events (:class:`GPRetires`, :class:`GPJoins`...), in order.
        name: a label for tables.
        reference: the commune reference (default: the bundled one).
    """

    territory: frozenset[str] = attrs.field(converter=_territory)
    start: Month = attrs.field(factory=lambda: Month(2026, 1))
    months: int = attrs.field(default=12, validator=attrs.validators.ge(1))
    seed: int = attrs.field(default=0, validator=_seed)
    patients: PatientRates = attrs.field(factory=PatientRates)
    gps: GPRates = attrs.field(factory=GPRates)
    behaviour: Behaviour = attrs.field(factory=Behaviour)
    physicians: tuple[Physician, ...] | None = attrs.field(default=None, converter=_physicians)
    events: tuple[ScenarioEvent, ...] = attrs.field(default=(), converter=_events)
    name: str = ""
    reference: CommuneReference | None = attrs.field(default=None, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        if not self.territory:
            raise SimulationError("territoire vide : au moins une commune attendue")
        for event in self.events:
            index = month_index(event.month, self.start)
            if not 0 <= index < self.months:
                raise SimulationError(
                    f"{type(event).__name__} : le mois {event.month} est hors de la période "
                    f"simulée ({self.start}, {self.months} mois)"
                )

    # -- construction

    @classmethod
    def for_policy(cls, policy: Policy, **fields: Any) -> Scenario:
        """A scenario on the policy's territory (and commune reference); ``fields`` are the
        other attributes (``months=12``, ``seed=3``...)."""
        fields.setdefault("reference", policy.reference)
        return cls(territory=policy.territory, **fields)

    @classmethod
    def for_department(
        cls, department: str, *, reference: CommuneReference | None = None, **fields: Any
    ) -> Scenario:
        """A scenario on every commune of a département (``"59"``), e.g. to size a
        department-wide scheme."""
        ref = reference or bundled_reference()
        codes = [c.insee for c in ref if c.department == department and c.point is not None]
        if not codes:
            raise SimulationError(f"aucune commune du département {department!r}")
        return cls(territory=codes, reference=reference, **fields)

    def with_event(self, *events: ScenarioEvent) -> Scenario:
        """The same scenario with ``events`` added (after the existing ones)."""
        return attrs.evolve(self, events=(*self.events, *events))

    # -- derived

    def commune_reference(self) -> CommuneReference:
        """The commune reference the scenario uses."""
        return self.reference or bundled_reference()

    @property
    def register(self) -> tuple[Physician, ...]:
        """The GPs of the scheme at the start, sorted by id (given or generated)."""
        if self.physicians is not None:
            return self.physicians
        return _generated(self.territory, self.gps, self.seed, self.commune_reference())

    @property
    def population(self) -> int:
        """Inhabitants of the territory's communes that have a point."""
        return int(territory_data(self.territory, self.commune_reference()).total_population)

    @property
    def expected_monthly_requests(self) -> float:
        """Expected number of regular requests a month (events not counted)."""
        rates = self.patients
        if rates.monthly_requests is not None:
            return float(rates.monthly_requests)
        return self.population * rates.share_without_mt * rates.monthly_uptake

    @property
    def months_simulated(self) -> tuple[Month, ...]:
        months = [self.start]
        for _ in range(self.months - 1):
            months.append(months[-1].next())
        return tuple(months)

    @property
    def cohorts(self) -> tuple[str, ...]:
        """Names of the cohorts brought by ``GPRetires`` events, in event order."""
        return tuple(e.cohort for e in self.events if isinstance(e, GPRetires))

    @property
    def joining_ids(self) -> tuple[str, ...]:
        """Ids of the GPs brought by ``GPJoins`` events."""
        joins = [e for e in self.events if isinstance(e, GPJoins)]
        return tuple(e.physician_id or f"MGN{k + 1}" for k, e in enumerate(joins))

    def simulate(self, policy: Policy, *, replication: int = 0) -> SimulationRun:
        """Run one replication (:func:`mt_access.simulation.simulate`)."""
        from mt_access.simulation.runner import simulate

        return simulate(self, policy, replication=replication)
