"""Scheduled events of a scenario: a GP retires, joins, changes capacity, suspends, withdraws.

An event's ``month`` is a calendar :class:`~mt_access.Month` (``Month(2027, 4)``) or the
number of the simulated month, counting from 1 (``month=4``: the fourth simulated month).
GP events take effect on the first day of their month, through the GP register's operations
(:mod:`mt_access.gp_register`): ``withdraw``, ``join``, ``change_capacity``, ``suspend``.
"""

from __future__ import annotations

from collections.abc import Iterable

import attrs

from mt_access.calendar import Month
from mt_access.model import Modality
from mt_access.simulation.rates import PatientRates

__all__ = [
    "CapacityChange",
    "GPJoins",
    "GPRetires",
    "GPSuspends",
    "GPWithdraws",
    "ScenarioEvent",
    "month_index",
]


def _month(_inst: object, attribute: attrs.Attribute[Month | int], value: object) -> None:
    if isinstance(value, Month):
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(
            f"{attribute.name} : mois attendu (Month, ou numéro du mois simulé à partir de 1), "
            f"reçu {value!r}"
        )


def month_index(month: Month | int, start: Month) -> int:
    """The 0-based index of ``month`` in a simulation starting at ``start``."""
    if isinstance(month, Month):
        return (month.year - start.year) * 12 + month.month - start.month
    return month - 1


def _modalities(value: Iterable[Modality | str]) -> frozenset[Modality]:
    return frozenset(Modality(v) for v in value)


@attrs.frozen
class GPRetires:
    """A GP stops practising (« mon médecin cesse son activité »): from ``month`` on, they
    leave the scheme if they were in it, and ``patients_entering`` of their patients register
    with the CPTS, spread evenly over ``spread_months`` months.

    The patients live in the communes of the territory within ``radius_km`` of the practice
    (drawn in proportion to population), have the profile ``rates`` (by default
    :meth:`PatientRates.patient_list`: a GP's patient list, older and more often in ALD than
    the usual requests), and search because their GP left (``previous_mt`` names the GP).
    The Cœur Essonne pathway (source document 003) has the CPAM identify the fragile patients
    of a GP who stops and invite them to contact the CPTS: ``fragile_only=True`` keeps only
    patients meeting a Sud Est Grenoblois priority criterion (over 70, under 6, ALD, CSS/AME).

    Attributes:
        month: the first month of the retirement.
        patients_entering: how many requests (households) enter the scheme in all.
        physician_id: the GP, when they take part in the scheme (they are withdrawn); else
            ``None`` and ``commune`` says where they practised.
        commune: INSEE code of the practice when ``physician_id`` is not set (otherwise the
            GP's commune).
        spread_months: over how many months the patients register.
        radius_km: where the patients live, around the practice.
        rates: their profile.
        fragile_only: keep only fragile patients (drawn until there are enough).
        label: name of this cohort in the results (default « patients de <id or commune> »).
    """

    month: Month | int = attrs.field(validator=_month)
    patients_entering: int = attrs.field(validator=attrs.validators.ge(0))
    physician_id: str | None = None
    commune: str | None = None
    spread_months: int = attrs.field(default=3, validator=attrs.validators.ge(1))
    radius_km: float = attrs.field(default=10.0, validator=attrs.validators.ge(0))
    rates: PatientRates = attrs.field(factory=PatientRates.patient_list)
    fragile_only: bool = False
    label: str = ""

    def __attrs_post_init__(self) -> None:
        if self.physician_id is None and self.commune is None:
            raise ValueError("GPRetires : physician_id ou commune attendu")

    @property
    def cohort(self) -> str:
        """The name of the cohort of its patients in the results."""
        return self.label or f"patients de {self.physician_id or self.commune}"


@attrs.frozen
class GPJoins:
    """A new GP joins the scheme on the first day of ``month`` with a monthly ``capacity``
    (through :func:`mt_access.gp_register.join`).

    Attributes:
        month: when they join.
        capacity: their monthly capacity.
        commune: INSEE code of the practice; ``None``: drawn in proportion to population.
        modalities: office and/or home visits.
        accepted_communes: the communes they accept (empty: the policy's default).
        physician_id: their id; default ``MGN`` followed by the event's position.
        name: as shown; default a generated name (Faker, French locale).
    """

    month: Month | int = attrs.field(validator=_month)
    capacity: int = attrs.field(validator=attrs.validators.ge(0))
    commune: str | None = None
    modalities: frozenset[Modality] = attrs.field(
        default=frozenset({Modality.OFFICE}), converter=_modalities
    )
    accepted_communes: frozenset[str] = attrs.field(default=frozenset(), converter=frozenset)
    physician_id: str | None = None
    name: str | None = None


@attrs.frozen
class CapacityChange:
    """A GP declares a new monthly ``capacity`` from ``month`` on."""

    physician_id: str
    month: Month | int = attrs.field(validator=_month)
    capacity: int = attrs.field(validator=attrs.validators.ge(0))


@attrs.frozen
class GPSuspends:
    """A GP suspends their participation for ``months`` months from ``month``."""

    physician_id: str
    month: Month | int = attrs.field(validator=_month)
    months: int = attrs.field(default=1, validator=attrs.validators.ge(1))


@attrs.frozen
class GPWithdraws:
    """A GP leaves the scheme from ``month`` (their patients do not enter: see GPRetires)."""

    physician_id: str
    month: Month | int = attrs.field(validator=_month)


ScenarioEvent = GPRetires | GPJoins | CapacityChange | GPSuspends | GPWithdraws
"""Any scheduled event."""
