"""The parameters of a simulation: who asks for a GP, which GPs take part, how people behave.

Every rate is a field of a frozen ``attrs`` class with a documented default, so a user changes
one with ``attrs.evolve(PatientRates(), css=0.2)``. The defaults come from public figures and
from the project's source documents; where no figure exists, the default is an assumption,
said so in the field's description (see ``docs/simulation.md``, *Default rates and sources*).

Sources:

* **SEG**: CPTS Sud Est Grenoblois, review after 6 months (June 2022), in the Hauts-de-France
  workshop slides (source document 004): 250 people registered in 6 months, a solution found
  for half of them; 1 person in 3 with at least one priority criterion (over 70, under 6, ALD,
  CSS/AME); home visits needed for 1 person in 15; main reasons: retirement of the GP, new
  arrivals, follow-up impossible with the current GP (too far, no home visits, bad
  relationship). The territory: Saint-Martin-d'Hères, Eybens and Poisat (50,361 inhabitants
  in the bundled commune reference).
* **SNDS 2022** (same slides, « Rezone, source DCIR/SNDS/SNIIRAM ») : 11.9 % of patients
  aged 17 or more have no médecin traitant in France (9.3 % in Hauts-de-France); 6.0 % of
  those aged 70 or more; 1.2 % of patients in ALD.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import attrs

from mt_access.examples import REASON_SHARES, REFERRER_SHARES
from mt_access.model import ReferrerKind, SearchReason

__all__ = [
    "SEG_MONTHLY_REQUESTS",
    "SEG_POPULATION",
    "SHARE_WITHOUT_MT",
    "AgeBand",
    "Behaviour",
    "GPRates",
    "PatientRates",
]

SHARE_WITHOUT_MT = 0.119
"""Share of patients aged 17 or more without a médecin traitant in France in 2022 (SNDS)."""

SEG_POPULATION = 37_695 + 10_493 + 2_173
"""Population of the Sud Est Grenoblois territory (Saint-Martin-d'Hères, Eybens, Poisat) in
the bundled commune reference (populations légales, millésime 2023)."""

SEG_MONTHLY_REQUESTS = 250 / 6
"""Requests per month registered by the CPTS Sud Est Grenoblois (250 in 6 months)."""

_DEFAULT_UPTAKE = SEG_MONTHLY_REQUESTS / (SEG_POPULATION * SHARE_WITHOUT_MT)


def _probability(_inst: object, attribute: attrs.Attribute[float], value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 <= value <= 1.0:
        raise ValueError(f"{attribute.name} : probabilité entre 0 et 1 attendue, reçu {value!r}")


def _non_negative(_inst: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ValueError(f"{attribute.name} : nombre ≥ 0 attendu, reçu {value!r}")


def _weights(value: Iterable[tuple[Any, float]]) -> tuple[tuple[Any, float], ...]:
    table = tuple((k, float(w)) for k, w in value)
    if not table or any(w < 0 for _, w in table) or sum(w for _, w in table) <= 0:
        raise ValueError("table de poids : au moins un poids > 0, aucun poids négatif")
    return table


@attrs.frozen
class AgeBand:
    """Ages ``low`` to ``high`` (inclusive, whole years) drawn with relative ``weight``."""

    low: int = attrs.field(validator=attrs.validators.ge(0))
    high: int = attrs.field(validator=attrs.validators.le(110))
    weight: float = attrs.field(validator=_non_negative)

    def __attrs_post_init__(self) -> None:
        if self.high < self.low:
            raise ValueError(f"tranche d'âge vide : {self.low}-{self.high}")


def _bands(value: Iterable[AgeBand | tuple[int, int, float]]) -> tuple[AgeBand, ...]:
    bands = tuple(b if isinstance(b, AgeBand) else AgeBand(*b) for b in value)
    if not bands or sum(b.weight for b in bands) <= 0:
        raise ValueError("tranches d'âge : au moins une tranche de poids > 0")
    return bands


# Ages of the people who ask a CPTS for a GP. Adults 70+ are 9 % of the requests: among the
# patients aged 17+ without a GP, the 70+ are 18.5 % (their share of the 17+ population)
# times 6.0 % / 11.9 % (SNDS 2022) = 9.3 %. Children under 6 (6 %) and the split of the other
# ages are assumptions.
_REQUEST_AGES = (
    AgeBand(0, 5, 0.06),
    AgeBand(6, 15, 0.07),
    AgeBand(16, 17, 0.02),
    AgeBand(18, 39, 0.36),
    AgeBand(40, 69, 0.40),
    AgeBand(70, 79, 0.06),
    AgeBand(80, 95, 0.03),
)

# Ages of a GP's patient list (France's population by age, INSEE 2023, rounded): the patients
# of a retiring GP who enter the scheme (GPRetires).
_PATIENT_LIST_AGES = (
    AgeBand(0, 5, 0.06),
    AgeBand(6, 15, 0.12),
    AgeBand(16, 17, 0.02),
    AgeBand(18, 39, 0.25),
    AgeBand(40, 69, 0.39),
    AgeBand(70, 79, 0.10),
    AgeBand(80, 99, 0.06),
)


@attrs.frozen
class PatientRates:
    """Who asks the CPTS for a médecin traitant, and how many.

    **Volume.** Each month, a commune of the territory sends a Poisson number of requests of
    mean ``population × share_without_mt × monthly_uptake``; or, when ``monthly_requests`` is
    set, ``monthly_requests`` for the whole territory, shared in proportion to population.

    **Profile.** Each request is one household (``Household``): the patient, whose age is
    drawn from ``ages``, plus the other members searching with them. With the defaults,
    1 request in 3 meets at least one of the Sud Est Grenoblois priority criteria (over 70,
    under 6, ALD, CSS/AME) and 1 in 15 needs home visits, as in that CPTS's review.

    Attributes:
        share_without_mt: share of the residents without a GP (SNDS 2022: 11.9 % of patients
            aged 17+).
        monthly_uptake: share of the residents without a GP who register with the CPTS in a
            month; the default, 0.70 %, gives the Sud Est Grenoblois volume (250 requests in
            6 months for 50,361 inhabitants: 0.83 request per 1,000 inhabitants a month).
        monthly_requests: when set, the expected number of requests a month for the whole
            territory, replacing the two rates above.
        ages: age bands of the patients, with weights (see the module's sources; 70+: 9 %).
        ald: probability of an ALD for a patient under 70 (assumption: 5 %; the SNDS shows
            that patients in ALD rarely lack a GP, 1.2 %).
        ald_70_plus: probability of an ALD for a patient aged 70 or more (assumption: 15 %).
        css: probability of the complémentaire santé solidaire (assumption: 15 %, above the
            11 % of the population: people without a GP are poorer on average).
        ame: probability of the aide médicale de l'État, for patients without the CSS
            (assumption: 2 %).
        disability_or_chronic: probability of a disability or chronic condition without an
            ALD (assumption: 5 %).
        urgent: probability of an urgent request (care needed within a month; the Sud Est
            Grenoblois protocol has this criterion without a figure; assumption: 5 %).
        home_visits: share of the requests needing home visits (SEG: 1 in 15).
        home_visits_70_plus: probability of needing home visits for a patient aged 70 or
            more (assumption: 30 %; lowered when ``home_visits`` is smaller than what the
            70+ alone would need); the rate of the younger patients is set so that the
            overall share is ``home_visits``.
        home_visits_exclusive: share of those needs that are exclusive (the patient cannot
            come to the office; the others are occasional). Assumption: 40 %.
        two_adults: probability that an adult's request also covers a second adult
            (assumption: 15 %).
        children: weights of 0, 1, 2, 3... children in the request of an adult aged 18 to 54
            (assumption).
        siblings: weights of 0, 1, 2... other children in a child's request (assumption).
        reasons: weights of the reasons for searching (SEG's main reasons, in an assumed
            order of frequency); ``convenience`` requests are out of scope in both shipped
            policies.
        referrers: weights of who sends the request (assumption).
        no_consent: probability that the form comes without consent (rejected; default 0).
    """

    share_without_mt: float = attrs.field(default=SHARE_WITHOUT_MT, validator=_probability)
    monthly_uptake: float = attrs.field(default=_DEFAULT_UPTAKE, validator=_probability)
    monthly_requests: float | None = attrs.field(default=None, validator=_non_negative)
    ages: tuple[AgeBand, ...] = attrs.field(default=_REQUEST_AGES, converter=_bands)
    ald: float = attrs.field(default=0.05, validator=_probability)
    ald_70_plus: float = attrs.field(default=0.15, validator=_probability)
    css: float = attrs.field(default=0.15, validator=_probability)
    ame: float = attrs.field(default=0.02, validator=_probability)
    disability_or_chronic: float = attrs.field(default=0.05, validator=_probability)
    urgent: float = attrs.field(default=0.05, validator=_probability)
    home_visits: float = attrs.field(default=1 / 15, validator=_probability)
    home_visits_70_plus: float = attrs.field(default=0.30, validator=_probability)
    home_visits_exclusive: float = attrs.field(default=0.40, validator=_probability)
    two_adults: float = attrs.field(default=0.15, validator=_probability)
    children: tuple[tuple[int, float], ...] = attrs.field(
        default=((0, 0.75), (1, 0.12), (2, 0.09), (3, 0.04)), converter=_weights
    )
    siblings: tuple[tuple[int, float], ...] = attrs.field(
        default=((0, 0.70), (1, 0.20), (2, 0.10)), converter=_weights
    )
    reasons: tuple[tuple[SearchReason, float], ...] = attrs.field(
        default=REASON_SHARES, converter=_weights
    )
    referrers: tuple[tuple[ReferrerKind, float], ...] = attrs.field(
        default=REFERRER_SHARES, converter=_weights
    )
    no_consent: float = attrs.field(default=0.0, validator=_probability)

    @classmethod
    def patient_list(cls) -> PatientRates:
        """The patients of a GP's list (used for a retiring GP's patients, ``GPRetires``):
        France's age structure, ALD for 1 in 5 under 70 and 1 in 2 from 70 (about 20 % of
        the population is in ALD), CSS 11 %, AME 1 %; all searching because their GP left."""
        return cls(
            ages=_PATIENT_LIST_AGES,
            ald=0.12,
            ald_70_plus=0.50,
            css=0.11,
            ame=0.01,
            reasons=((SearchReason.PREVIOUS_MT_LEFT, 1.0),),
        )

    def home_visit_probabilities(self) -> tuple[float, float]:
        """(under 70, 70 or more): the probabilities of needing home visits, such that the
        overall share is ``home_visits``."""
        total = sum(b.weight for b in self.ages)
        old = sum(_overlap(b, 70, 200) * b.weight for b in self.ages) / total
        if old >= 1.0:
            return self.home_visits, self.home_visits
        elderly = self.home_visits_70_plus
        if old > 0:
            elderly = min(elderly, self.home_visits / old)  # the overall share comes first
        young = (self.home_visits - old * elderly) / (1.0 - old)
        return min(1.0, max(0.0, young)), elderly


def _overlap(band: AgeBand, low: int, high: int) -> float:
    """Share of the ages of ``band`` within ``low``..``high`` (ages uniform in the band)."""
    inside = max(0, min(band.high, high) - max(band.low, low) + 1)
    return inside / (band.high - band.low + 1)


@attrs.frozen
class GPRates:
    """The volunteer GPs generated for a territory.

    Attributes:
        count: number of GPs; ``None``: ``per_10000`` per 10,000 inhabitants.
        per_10000: volunteer GPs per 10,000 inhabitants when ``count`` is not set
            (assumption: 7, a Voironnais-sized CPTS of 84,000 inhabitants has about 60;
            France has about 9 GPs per 10,000 inhabitants).
        capacities: weights of the monthly capacities (persons a month) the GPs declare
            (assumption: 1 to 5, mean 2.3).
        home_visits: share of the GPs who also do home visits (assumption: 35 %).
        home_visits_only: share of the GPs who only do home visits (assumption: 2 %).
        restricted: share of the GPs who accept only the communes within ``radius_km`` of
            their practice (the Voironnais charter lets each GP choose; assumption: 40 %);
            the others accept the policy's default.
        radius_km: radius of those accepted communes.
    """

    count: int | None = attrs.field(default=None, validator=_non_negative)
    per_10000: float = attrs.field(default=7.0, validator=_non_negative)
    capacities: tuple[tuple[int, float], ...] = attrs.field(
        default=((1, 0.30), (2, 0.30), (3, 0.22), (4, 0.12), (5, 0.06)), converter=_weights
    )
    home_visits: float = attrs.field(default=0.35, validator=_probability)
    home_visits_only: float = attrs.field(default=0.02, validator=_probability)
    restricted: float = attrs.field(default=0.40, validator=_probability)
    radius_km: float = attrs.field(default=10.0, validator=_non_negative)


@attrs.frozen
class Behaviour:
    """How GPs and patients act once a request is in the scheme. All are assumptions, to be
    set from a CPTS's own follow-up when it has one.

    Attributes:
        acceptance: probability that a GP accepts a patient the CPTS proposes to them (a
            placement by ``nearest`` or ``monthly_quota``; the charters let GPs refuse
            freely). A refusal frees the place (when the policy's ``refusal_frees_slot``) and
            the GP is never proposed the request again.
        list_acceptance: probability that a listed GP with a place left this month takes a
            patient who calls them (``k_nearest`` and ``orientation`` lists). A GP without a
            place left says no without it counting as a refusal.
        list_calls: how many GPs of their list a patient calls at most (``None``: all).
        pull_uptake: probability that a GP with a place left takes each request of their
            ``pull`` list, in the list's order.
        not_searching: probability that the patient no longer searches when the CPTS asks
            them to confirm (the Voironnais procedure's confirmation step).
        other_solution: monthly probability that a waiting patient finds a GP by other means.
        unreachable: monthly probability that a waiting patient can no longer be reached
            (recorded as ``max_contact_attempts`` failed contacts in a row).
        suspension: monthly probability that a GP suspends their participation for the month.
        withdrawal: monthly probability that a GP leaves the scheme.
        capacity_change: monthly probability that a GP changes their capacity by one place,
            up or down with equal chances (never below 0).
        match_day: day of the month of the CPTS's matching run.
        answer_days: days between the run and the GPs' answers (and the patients' calls).
    """

    acceptance: float = attrs.field(default=0.9, validator=_probability)
    list_acceptance: float = attrs.field(default=0.5, validator=_probability)
    list_calls: int | None = attrs.field(default=None, validator=_non_negative)
    pull_uptake: float = attrs.field(default=0.9, validator=_probability)
    not_searching: float = attrs.field(default=0.05, validator=_probability)
    other_solution: float = attrs.field(default=0.03, validator=_probability)
    unreachable: float = attrs.field(default=0.01, validator=_probability)
    suspension: float = attrs.field(default=0.01, validator=_probability)
    withdrawal: float = attrs.field(default=0.002, validator=_probability)
    capacity_change: float = attrs.field(default=0.03, validator=_probability)
    match_day: int = attrs.field(
        default=20, validator=[attrs.validators.ge(1), attrs.validators.le(28)]
    )
    answer_days: int = attrs.field(
        default=5, validator=[attrs.validators.ge(0), attrs.validators.le(8)]
    )
