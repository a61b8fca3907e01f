"""The synthetic generator: volunteer GPs and monthly requests for any territory.

Everything is drawn from ``numpy.random.Generator`` streams keyed by (seed, purpose, ...):
the same seed gives the same GPs and the same requests whatever the order of the inputs, and
the requests of a replication do not depend on the policy they are run through (common
random numbers: two policies compared on the same replication see the same patients, who
would take the same decisions). GP names come from Faker's French locale, seeded too. No real
person: requests hold no name, and generated identities are fictitious.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Sequence
from typing import NamedTuple

import attrs
import numpy as np
import numpy.typing as npt

from mt_access.answers import Answers
from mt_access.calendar import Month
from mt_access.errors import SimulationError
from mt_access.geo.communes import CommuneReference
from mt_access.model import (
    Consent,
    HomeVisitNeed,
    Household,
    Modality,
    Patient,
    PatientIdentity,
    Physician,
    PreviousDoctor,
    Referrer,
    Request,
    SearchReason,
)
from mt_access.simulation.rates import GPRates, PatientRates

__all__ = [
    "Arrival",
    "SimulationError",
    "TerritoryData",
    "generate_identity",
    "generate_physicians",
    "generate_requests",
    "generated_request",
    "rng_for",
]

# Purposes of the random streams (the second key of every stream).
GPS, ARRIVALS, CHURN, EVENTS, EXTRA, NAMES, IDENTITIES = range(1, 8)

ANSWER_DRAWS = 6
"""Uniform draws kept with each request for its GP answers and calls (more are derived)."""

NEVER = 1_000_000
"""Months until an exit that never happens."""

_REQUEST_FIELDS = (
    "id",
    "received",
    "patient",
    "ald",
    "css",
    "ame",
    "disability_or_chronic",
    "home_visits",
    "urgent",
    "reason",
    "previous_mt",
    "household",
    "referrer",
    "consent",
    "comments",
    "declined_by",
    "household_id",
    "answers",
)
_PATIENT_FIELDS = ("birth_date", "commune", "location")
_NO_ANSWERS = Answers()
_NOBODY: frozenset[str] = frozenset()
_UNCHECKED = (
    tuple(f.name for f in attrs.fields(Request)) == _REQUEST_FIELDS
    and tuple(f.name for f in attrs.fields(Patient)) == _PATIENT_FIELDS
    and "__slots__" in Request.__dict__
    and "__slots__" in Patient.__dict__
)
"""Whether :func:`generated_request` may set the fields itself (the fields are the ones it
knows; otherwise it calls the checked constructors)."""


def generated_request(
    request_id: str,
    received: dt.date,
    birth_date: dt.date,
    commune: str,
    ald: bool,
    css: bool,
    ame: bool,
    disability_or_chronic: bool,
    home_visits: HomeVisitNeed,
    urgent: bool,
    reason: SearchReason,
    previous_mt: PreviousDoctor | None,
    household: Household,
    referrer: Referrer,
    consent: Consent,
) -> Request:
    """The :class:`~mt_access.model.Request` (and its :class:`~mt_access.model.Patient`) of a
    generated request, its fields set without the constructors' conversions and checks: the
    generator's values are already of the converted types (enum members, Python bools, an
    INSEE code of the reference), and a simulation builds a thousand requests a month, a
    fifth of a replication's time with the checked constructors. The same value as
    ``Request(...)`` (a test checks it on generated requests)."""
    if not _UNCHECKED:  # a field was added or renamed: the checked way
        return Request(
            id=request_id,
            received=received,
            patient=Patient(birth_date=birth_date, commune=commune),
            ald=ald,
            css=css,
            ame=ame,
            disability_or_chronic=disability_or_chronic,
            home_visits=home_visits,
            urgent=urgent,
            reason=reason,
            previous_mt=previous_mt,
            household=household,
            referrer=referrer,
            consent=consent,
        )
    patient = _new(Patient)
    _p_birth_date(patient, birth_date)
    _p_commune(patient, commune)
    _p_location(patient, None)
    request = _new(Request)
    _r_id(request, request_id)
    _r_received(request, received)
    _r_patient(request, patient)
    _r_ald(request, ald)
    _r_css(request, css)
    _r_ame(request, ame)
    _r_disability_or_chronic(request, disability_or_chronic)
    _r_home_visits(request, home_visits)
    _r_urgent(request, urgent)
    _r_reason(request, reason)
    _r_previous_mt(request, previous_mt)
    _r_household(request, household)
    _r_referrer(request, referrer)
    _r_consent(request, consent)
    _r_comments(request, "")
    _r_declined_by(request, _NOBODY)
    _r_household_id(request, None)
    _r_answers(request, _NO_ANSWERS)
    return request


def declined_copy(request: Request, declined_by: frozenset[str]) -> Request:
    """``attrs.evolve(request, declined_by=declined_by)``, its slots copied without the
    constructor's checks (``request`` passed them; ``declined_by`` is a frozenset of ids):
    the same value (a test checks it), for the refusals of a simulation's GPs."""
    if not _UNCHECKED:  # a field was added or renamed: the checked way
        return attrs.evolve(request, declined_by=declined_by)  # type: ignore[arg-type]
    copy = _new(Request)
    for get, put in _REQUEST_SLOTS:
        put(copy, get(request))
    _r_declined_by(copy, declined_by)
    return copy


def _setters(cls: type, names: tuple[str, ...]) -> list[Callable[[object, object], None]]:
    """The slots' own setters of ``cls`` (a frozen attrs class's ``__setattr__`` refuses),
    the way ``object.__setattr__`` sets them, without looking the name up each time."""
    if not _UNCHECKED:
        return [functools.partial(_unchecked_set, name) for name in names]
    return [cls.__dict__[name].__set__ for name in names]


def _unchecked_set(name: str, obj: object, value: object) -> None:  # pragma: no cover
    object.__setattr__(obj, name, value)


_new = object.__new__
(
    _r_id,
    _r_received,
    _r_patient,
    _r_ald,
    _r_css,
    _r_ame,
    _r_disability_or_chronic,
    _r_home_visits,
    _r_urgent,
    _r_reason,
    _r_previous_mt,
    _r_household,
    _r_referrer,
    _r_consent,
    _r_comments,
    _r_declined_by,
    _r_household_id,
    _r_answers,
) = _setters(Request, _REQUEST_FIELDS)
_p_birth_date, _p_commune, _p_location = _setters(Patient, _PATIENT_FIELDS)
_REQUEST_SLOTS = (
    [(Request.__dict__[name].__get__, Request.__dict__[name].__set__) for name in _REQUEST_FIELDS]
    if _UNCHECKED
    else []
)
"""Each slot of a Request: its getter and setter (:func:`declined_copy`)."""


def rng_for(seed: int, *keys: int) -> np.random.Generator:
    """An independent generator for ``seed`` and the stream ``keys`` (purpose, replication,
    month...): numpy's ``SeedSequence`` spawn keys, so streams never overlap."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=keys)))


@attrs.frozen(eq=False)
class TerritoryData:
    """The communes of a territory that have a point, as arrays, sorted by INSEE code."""

    codes: tuple[str, ...]
    population: npt.NDArray[np.float64]
    lat: npt.NDArray[np.float64]
    lon: npt.NDArray[np.float64]

    @property
    def total_population(self) -> float:
        return float(self.population.sum())

    def km_from(self, index: int) -> npt.NDArray[np.float64]:
        """Great-circle distances (km, haversine) from commune ``index`` to every commune."""
        la1, lo1 = np.radians(self.lat[index]), np.radians(self.lon[index])
        la2, lo2 = np.radians(self.lat), np.radians(self.lon)
        h = np.sin((la2 - la1) / 2) ** 2 + np.cos(la1) * np.cos(la2) * np.sin((lo2 - lo1) / 2) ** 2
        return np.asarray(2 * 6371.0088 * np.arcsin(np.sqrt(np.minimum(h, 1.0))))


@functools.lru_cache(maxsize=32)
def territory_data(territory: frozenset[str], reference: CommuneReference) -> TerritoryData:
    """The territory's communes with a point (the others cannot be placed on a map)."""
    communes = []
    for code in sorted(territory):
        if code not in reference:
            raise SimulationError(f"commune {code} absente du référentiel des communes")
        commune = reference.get(code)
        if commune.point is not None:
            communes.append(commune)
    if not communes:
        raise SimulationError("aucune commune du territoire n'a de coordonnées")
    return TerritoryData(
        codes=tuple(c.insee for c in communes),
        population=np.array([max(c.population or 0, 0) for c in communes], dtype=np.float64),
        lat=np.array([c.point.lat for c in communes if c.point], dtype=np.float64),
        lon=np.array([c.point.lon for c in communes if c.point], dtype=np.float64),
    )


def _faker(seed: int) -> object:
    try:
        from faker import Faker
    except ImportError:  # pragma: no cover - depends on the installation
        raise SimulationError(
            "la génération de noms demande Faker : pip install 'mt-access[simulation]'"
        ) from None
    fake = Faker("fr_FR")
    fake.seed_instance(seed)
    return fake


def gp_names(seed: int, count: int, stream: int = 0) -> list[str]:
    """``count`` fictitious GP names (« Dr Lemoine »), Faker's French locale, seeded."""
    fake = _faker(int(np.random.SeedSequence(seed, spawn_key=(NAMES, stream)).generate_state(1)[0]))
    return [f"Dr {fake.last_name()}" for _ in range(count)]  # type: ignore[attr-defined]


def generate_identity(seed: int, request_id: str) -> PatientIdentity:
    """A fictitious identity for a generated request (Faker, French locale), the same for
    the same seed and request id. For notebooks and demos; the simulation never needs one."""
    key = int.from_bytes(request_id.encode("utf-8")[-16:].rjust(16, b"\0"), "big")
    state = np.random.SeedSequence(seed, spawn_key=(IDENTITIES, key % 2**63)).generate_state(1)
    fake = _faker(int(state[0]))
    return PatientIdentity(
        last_name=fake.last_name(),  # type: ignore[attr-defined]
        first_name=fake.first_name(),  # type: ignore[attr-defined]
        phone=fake.phone_number(),  # type: ignore[attr-defined]
        email=fake.free_email(),  # type: ignore[attr-defined]
        address=fake.address().replace("\n", ", "),  # type: ignore[attr-defined]
        identifier=request_id,
    )


def weighted_choice(
    rng: np.random.Generator, p: npt.NDArray[np.float64], size: int
) -> npt.NDArray[np.int64]:
    """``rng.choice(len(p), size=size, p=p)`` for probabilities ``p`` the generator made (non
    negative, summing to 1): the same draws and the same indices, as numpy computes them
    (the cumulated probabilities, ``rng.random(size)`` searched in them), without the
    checks of ``p`` that made ``choice`` a large part of generating a month's requests. A
    test compares both."""
    cdf = np.asarray(p, dtype=np.float64).cumsum()
    cdf /= cdf[-1]
    found: npt.NDArray[np.int64] = cdf.searchsorted(rng.random(size), side="right")
    return found.astype(np.int64, copy=False)


def _pick(rng: np.random.Generator, table: Sequence[tuple[object, float]], size: int) -> list[int]:
    weights = np.array([w for _, w in table], dtype=np.float64)
    picked: list[int] = weighted_choice(rng, weights / weights.sum(), size).tolist()
    return picked


class _Tables(NamedTuple):
    """What :func:`generate_requests` reads of a :class:`PatientRates` besides the
    probabilities, worked out once per rates (the same arrays and objects every month)."""

    band_p: npt.NDArray[np.float64]
    band_low: npt.NDArray[np.int64]
    band_high: npt.NDArray[np.int64]
    children: npt.NDArray[np.int64]
    siblings: npt.NDArray[np.int64]
    home_visits: tuple[float, float]
    reasons: list[SearchReason]
    referrers: list[Referrer]


@functools.lru_cache(maxsize=16)
def _tables(rates: PatientRates) -> _Tables:
    bands = rates.ages
    bw = np.array([b.weight for b in bands], dtype=np.float64)
    return _Tables(
        band_p=bw / bw.sum(),
        band_low=np.array([b.low for b in bands]),
        band_high=np.array([b.high for b in bands]),
        children=np.array([int(c) for c, _ in rates.children]),
        siblings=np.array([int(c) for c, _ in rates.siblings]),
        home_visits=rates.home_visit_probabilities(),
        reasons=[SearchReason(r) for r, _ in rates.reasons],  # as Request converts them
        referrers=[Referrer(kind=k) for k, _ in rates.referrers],
    )


def generate_physicians(
    territory: TerritoryData,
    rates: GPRates,
    seed: int,
    *,
    prefix: str = "MG",
) -> tuple[Physician, ...]:
    """The volunteer GPs of a territory: practices in proportion to population, capacities,
    modalities and accepted communes drawn from ``rates``; ids ``MG001``, ``MG002``..."""
    rng = rng_for(seed, GPS)
    if rates.count is not None:
        count = int(rates.count)
    else:
        count = max(1, round(territory.total_population / 10_000 * rates.per_10000))
    if count == 0:
        return ()
    weights = territory.population + (territory.population.sum() == 0)
    communes = rng.choice(len(territory.codes), size=count, p=weights / weights.sum())
    capacities = _pick(rng, rates.capacities, count)
    u_modal = rng.random(count)
    u_restricted = rng.random(count)
    names = gp_names(seed, count)
    width = max(3, len(str(count)))
    physicians = []
    for i in range(count):
        c = int(communes[i])
        modalities = {Modality.OFFICE}
        if u_modal[i] < rates.home_visits_only:
            modalities = {Modality.HOME_VISITS}
        elif u_modal[i] < rates.home_visits_only + rates.home_visits:
            modalities.add(Modality.HOME_VISITS)
        accepted: frozenset[str] = frozenset()
        if u_restricted[i] < rates.restricted:
            near = np.flatnonzero(territory.km_from(c) <= rates.radius_km)
            accepted = frozenset(territory.codes[j] for j in near.tolist()) | {territory.codes[c]}
        physicians.append(
            Physician(
                id=f"{prefix}{i + 1:0{width}d}",
                name=names[i],
                commune=territory.codes[c],
                monthly_capacity=int(rates.capacities[capacities[i]][0]),
                modalities=frozenset(modalities),
                accepted_communes=accepted,
            )
        )
    return tuple(physicians)


class Arrival:
    """A generated request with the decisions its patient will take, drawn in advance.

    Attributes:
        request: the request (no personal data).
        fragile: meets a Sud Est Grenoblois priority criterion on reception (over 70,
            under 6, ALD, CSS/AME).
        cohort: index of the ``GPRetires`` event that brought it, else -1.
        not_searching: the patient no longer searches when asked to confirm.
        other_after: months after the month of reception when the patient finds a GP by other
            means, if still waiting then.
        unreachable_after: same, when the patient can no longer be reached.
        draws: uniform draws for the GPs' answers and the patient's calls, used in order.
        key: the stream keys of the request, to derive more draws.
    """

    __slots__ = (
        "cohort",
        "draws",
        "fragile",
        "key",
        "not_searching",
        "other_after",
        "request",
        "unreachable_after",
    )

    def __init__(
        self,
        request: Request,
        fragile: bool,
        cohort: int,
        not_searching: bool,
        other_after: int,
        unreachable_after: int,
        draws: list[float],
        key: tuple[int, ...],
    ) -> None:
        self.request = request
        self.fragile = fragile
        self.cohort = cohort
        self.not_searching = not_searching
        self.other_after = other_after
        self.unreachable_after = unreachable_after
        self.draws = draws
        self.key = key


def _geometric(rng: np.random.Generator, p: float, size: int) -> npt.NDArray[np.int64]:
    if p <= 0.0:
        return np.full(size, NEVER, dtype=np.int64)
    return rng.geometric(p, size=size).astype(np.int64)


def generate_requests(
    territory: TerritoryData,
    rates: PatientRates,
    month: Month,
    rng: np.random.Generator,
    *,
    id_prefix: str,
    key: tuple[int, ...],
    count: int | None = None,
    weights: npt.NDArray[np.float64] | None = None,
    cohort: int = -1,
    previous_mt: PreviousDoctor | None = None,
    fragile_only: bool = False,
    not_searching: float = 0.0,
    other_solution: float = 0.0,
    unreachable: float = 0.0,
) -> list[Arrival]:
    """The requests received in ``month``.

    Without ``count``, a Poisson number per commune (see :class:`PatientRates`); with it,
    exactly ``count`` requests over the communes in proportion to ``weights`` (default:
    population). Each request's patient decisions (confirmation, exits) are drawn too, with
    the behaviour's probabilities.
    """
    n_communes = len(territory.codes)
    w = territory.population if weights is None else weights
    if count is None:
        if rates.monthly_requests is not None:
            lam = float(rates.monthly_requests) * w / max(float(w.sum()), 1e-12)
        else:
            lam = w * rates.share_without_mt * rates.monthly_uptake
        per_commune = rng.poisson(lam)
        commune = np.repeat(np.arange(n_communes), per_commune)
    else:
        p = w / w.sum() if w.sum() > 0 else np.full(n_communes, 1.0 / n_communes)
        draw = count * 6 if fragile_only else count
        commune = np.sort(rng.choice(n_communes, size=draw, p=p)) if draw else np.zeros(0, int)
    n = int(commune.size)
    if n == 0:
        return []
    tables = _tables(rates)
    band = weighted_choice(rng, tables.band_p, n)
    low = tables.band_low[band]
    high = tables.band_high[band]
    years = rng.integers(low, high + 1)
    extra_days = rng.integers(0, 365, size=n)
    last_day = month.last_day.day
    day = rng.integers(1, last_day + 1, size=n)
    u = rng.random((n, 9))
    child_count = _pick(rng, rates.children, n)
    sibling_count = _pick(rng, rates.siblings, n)
    reasons = _pick(rng, rates.reasons, n)
    referrers = _pick(rng, rates.referrers, n)
    hv_young, hv_old = tables.home_visits
    not_searching_u = rng.random(n)
    other_after = _geometric(rng, other_solution, n)
    unreachable_after = _geometric(rng, unreachable, n)
    draws = rng.random((n, ANSWER_DRAWS))

    first = month.first_day.toordinal()
    codes = territory.codes
    # Every attribute is computed on arrays, then read from Python lists (indexing numpy
    # arrays one element at a time is slow).
    received_ord = first + day - 1
    birth_ord = received_ord - np.round(years * 365.2425).astype(np.int64) - extra_days
    old = years >= 70
    ald = u[:, 0] < np.where(old, rates.ald_70_plus, rates.ald)
    css = u[:, 1] < rates.css
    ame = ~css & (u[:, 2] < rates.ame)
    fragile = old | (years < 6) | ald | css | ame
    visits = u[:, 3] < np.where(old, hv_old, hv_young)
    exclusive = u[:, 4] < rates.home_visits_exclusive
    need_code = np.where(visits, np.where(exclusive, 2, 1), 0)
    child = years < 18
    adults = np.where(child, 0, np.where(u[:, 5] < rates.two_adults, 2, 1))
    child_values = tables.children[child_count]
    sibling_values = tables.siblings[sibling_count]
    children = np.where(child, 1 + sibling_values, np.where(years <= 54, child_values, 0))
    disability = ~ald & (u[:, 6] < rates.disability_or_chronic)
    urgent = u[:, 7] < rates.urgent
    consent = u[:, 8] >= rates.no_consent
    needs = (HomeVisitNeed.NONE, HomeVisitNeed.OCCASIONAL, HomeVisitNeed.EXCLUSIVE)
    reason_values = tables.reasons
    referrer_objects = tables.referrers
    households: dict[tuple[int, int], Household] = {}
    consents: dict[tuple[bool, int], Consent] = {}
    keep = np.flatnonzero(fragile) if fragile_only else np.arange(n)
    if count is not None:
        keep = keep[:count]
    columns = zip(
        keep.tolist(),
        commune[keep].tolist(),
        received_ord[keep].tolist(),
        birth_ord[keep].tolist(),
        ald[keep].tolist(),
        css[keep].tolist(),
        ame[keep].tolist(),
        fragile[keep].tolist(),
        need_code[keep].tolist(),
        adults[keep].tolist(),
        children[keep].tolist(),
        disability[keep].tolist(),
        urgent[keep].tolist(),
        consent[keep].tolist(),
        (not_searching_u[keep] < not_searching).tolist(),
        other_after[keep].tolist(),
        unreachable_after[keep].tolist(),
        draws[keep].tolist(),
        strict=True,
    )
    arrivals: list[Arrival] = []
    received_on: dict[int, dt.date] = {}
    for index, (
        i,
        c,
        r_ord,
        b_ord,
        al,
        cs,
        am,
        fr,
        nd,
        ad,
        ch,
        di,
        ur,
        co,
        ns,
        oa,
        ua,
        dr,
    ) in enumerate(columns):
        received = received_on.get(r_ord)
        if received is None:
            received = received_on[r_ord] = dt.date.fromordinal(r_ord)
        household = households.get((ad, ch))
        if household is None:
            household = households[(ad, ch)] = Household(adults=ad, children=ch)
        given = consents.get((co, r_ord))
        if given is None:
            given = consents[(co, r_ord)] = Consent(given=co, on=received)
        request = generated_request(
            f"{id_prefix}-{index + 1:05d}",
            received,
            dt.date.fromordinal(b_ord),
            codes[c],
            al,
            cs,
            am,
            di,
            needs[nd],
            ur,
            reason_values[reasons[i]],
            previous_mt,
            household,
            referrer_objects[referrers[i]],
            given,
        )
        arrivals.append(Arrival(request, fr, cohort, ns, oa, ua, dr, (*key, index)))
    return arrivals


def near_weights(
    territory: TerritoryData, lat: float, lon: float, radius_km: float
) -> npt.NDArray[np.float64]:
    """Population weights of the territory's communes within ``radius_km`` of a point (the
    nearest commune alone when none is that near)."""
    la1, lo1 = np.radians(lat), np.radians(lon)
    la2, lo2 = np.radians(territory.lat), np.radians(territory.lon)
    h = np.sin((la2 - la1) / 2) ** 2 + np.cos(la1) * np.cos(la2) * np.sin((lo2 - lo1) / 2) ** 2
    km = 2 * 6371.0088 * np.arcsin(np.sqrt(np.minimum(h, 1.0)))
    weights = np.where(km <= radius_km, territory.population, 0.0)
    if weights.sum() <= 0:
        weights = np.zeros_like(weights)
        weights[int(np.argmin(km))] = 1.0
    return np.asarray(weights, dtype=np.float64)
