"""Deterministic benchmark instances for the matching engine (generated data, no real person).

Three sizes:

* :func:`cpts_month`: a CPTS month, the Voironnais policy and its 19 communes
  (:func:`mt_access.examples.example_month`, 500 requests and 60 GPs by default).
* :func:`territory_month` with :func:`nord_communes`: a département month (the Nord, 59:
  250,000 requests, 2,500 GPs by default).
* :func:`territory_month` with :func:`france_communes`: a France-sized month (every commune of
  the bundled reference that has a point; about 6 million requests, 50,000 GPs).

The same arguments (seed included) give the same instance. The territory instances use a
policy with four priority levels plus the non-priority level (:func:`four_level_policy`), all
routed by ``monthly_quota``, and record, next to the ``Request`` objects, the compact arrays a
reference solver needs (commune, need and level of each request, capacity and accepted
communes of each GP), worked out by the generator itself and not by the engine.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

import mt_access
from mt_access.examples import example_month
from mt_access.geo import Commune, CommuneReference, bundled_reference, geodesic_km_many
from mt_access.model import (
    Consent,
    HomeVisitNeed,
    Household,
    Modality,
    Patient,
    Physician,
    Referrer,
    Request,
    SearchReason,
)
from mt_access.plugins import collect_criterion_kinds, collect_routers, get_plugin_manager
from mt_access.policy import Policy, policy_from_mapping

__all__ = [
    "LEVEL_NAMES",
    "NEEDS",
    "CptsInstance",
    "TerritoryInstance",
    "communes_within",
    "cpts_households_month",
    "cpts_month",
    "four_level_policy",
    "france_communes",
    "nord_communes",
    "territory_month",
]

IntArray = npt.NDArray[np.int64]

#: Reference date of every generated month (a Monday in March 2026).
ON = dt.date(2026, 3, 16)

#: Needs for home visits, indexed as in :attr:`TerritoryInstance.request_need`.
NEEDS: tuple[HomeVisitNeed, ...] = (
    HomeVisitNeed.NONE,
    HomeVisitNeed.OCCASIONAL,
    HomeVisitNeed.EXCLUSIVE,
)

#: Level names of :func:`four_level_policy`, rank 1 first; the last one is non-priority.
LEVEL_NAMES: tuple[str, ...] = (
    "urgence",
    "ald",
    "ages_vulnerables",
    "precarite",
    "non_prioritaire",
)

# Shares of the generated requests (independent draws; the highest level met wins).
P_URGENT = 0.005  # level 1: care needed within a month
P_ALD = 0.010  # level 2: affection de longue durée
P_VULNERABLE_AGE = 0.010  # level 3: under 6 or 80 and over
P_CSS = 0.010  # level 4: complémentaire santé solidaire ...
P_AME = 0.005  # ... or aide médicale de l'État
P_OCCASIONAL = 0.03  # occasional home visits (a GP doing office *and* home visits)
P_EXCLUSIVE = 0.02  # home visits only (any GP doing home visits)
P_NOT_ACCEPTING = 0.02  # GPs not accepting new patients this month
# GP modalities: office only / office and home visits / home visits only.
MODALITY_SHARES = (0.60, 0.35, 0.05)
# Household sizes 1..4 (a household may be split among GPs: keep_together is false).
HOUSEHOLD_SHARES = (0.85, 0.08, 0.05, 0.02)


@dataclass(frozen=True)
class CptsInstance:
    """A CPTS month: requests, GPs, policy and reference date."""

    requests: tuple[Request, ...]
    physicians: tuple[Physician, ...]
    policy: Policy
    on: dt.date


def cpts_month(n_requests: int = 500, n_physicians: int = 60, *, seed: int = 2026) -> CptsInstance:
    """A Voironnais month (19 communes): the library's own realistic generator.

    About a third of the requests are priority ones, 1 in 15 needs home visits, 1 in 25 has
    no consent, a few come from outside the territory; capacities are 1 to 4.
    """
    policy = mt_access.load_policy("voironnais")
    month = example_month(
        policy, bundled_reference(), requests=n_requests, physicians=n_physicians, seed=seed
    )
    return CptsInstance(month.requests, month.physicians, policy, month.on)


def cpts_households_month(
    n_requests: int = 800,
    n_physicians: int = 60,
    *,
    seed: int = 2026,
    household_share: float = 0.30,
    located_share: float = 0.30,
    capacity: tuple[int, int] = (3, 16),
) -> CptsInstance:
    """:func:`cpts_month` with households kept together: about ``household_share`` of the
    one-person requests become households of 2 to 4 persons, ``located_share`` of the requests
    have their own (generated) home coordinates, so cells are many, and each GP has
    ``capacity[0]`` to ``capacity[1]`` places."""
    import random

    import attrs

    from mt_access.geo import Point

    base = cpts_month(n_requests, n_physicians, seed=seed)
    rng = random.Random(seed)
    reference = bundled_reference()
    requests = []
    for r in base.requests:
        if r.persons == 1 and rng.random() < household_share:
            size = rng.choice([2, 2, 2, 3, 3, 4])
            r = attrs.evolve(r, household=Household(adults=1, children=size - 1))
        if rng.random() < located_share:
            p = reference.point(r.commune)
            home = Point(p.lat + rng.uniform(-0.02, 0.02), p.lon + rng.uniform(-0.02, 0.02))
            r = attrs.evolve(r, patient=attrs.evolve(r.patient, location=home))
        requests.append(r)
    physicians = tuple(
        attrs.evolve(p, monthly_capacity=rng.randint(*capacity)) for p in base.physicians
    )
    policy = attrs.evolve(base.policy, keep_households_together=True)
    return CptsInstance(tuple(requests), physicians, policy, base.on)


# --------------------------------------------------------------------------------------------
# Territories


def nord_communes(reference: CommuneReference | None = None) -> list[Commune]:
    """The communes of the Nord (département 59) that have a point, by INSEE code."""
    reference = reference or bundled_reference()
    return [c for c in reference if c.department == "59" and c.point is not None]


def france_communes(reference: CommuneReference | None = None) -> list[Commune]:
    """Every commune (and municipal arrondissement) of the reference that has a point.

    Paris, Lyon and Marseille are represented by their arrondissements only, so that each
    inhabitant is counted once.
    """
    reference = reference or bundled_reference()
    cities = {"75056", "69123", "13055"}
    return [c for c in reference if c.point is not None and c.insee not in cities]


def four_level_policy(
    reference: CommuneReference,
    communes: Sequence[str],
    *,
    code: str = "bench",
    name: str = "Benchmark à quatre niveaux",
    department: str = "59",
) -> Policy:
    """A policy with four priority levels (plus the non-priority level) on ``communes``,
    every level routed by ``monthly_quota``; a GP without a list accepts the territory."""
    data = {
        "version": 1,
        "identity": {"name": name, "code": code, "department": department},
        "territory": {"communes": sorted(communes)},
        "priority": {
            "levels": [
                {"name": LEVEL_NAMES[0], "criteria": [{"kind": "urgent"}]},
                {"name": LEVEL_NAMES[1], "criteria": [{"kind": "ald"}]},
                {
                    "name": LEVEL_NAMES[2],
                    "criteria": [
                        {"kind": "age_under", "years": 6},
                        {"kind": "age_at_least", "years": 80},
                    ],
                },
                {"name": LEVEL_NAMES[3], "criteria": [{"kind": "css"}, {"kind": "ame"}]},
            ],
            "non_priority_name": LEVEL_NAMES[4],
        },
        "routing": {
            "priority": {"router": "monthly_quota"},
            "non_priority": {"router": "monthly_quota"},
        },
        "physicians": {"default_accepted_communes": "territory"},
        "capacity": {"carry_over": False},
        "households": {"keep_together": False},
    }
    pm = get_plugin_manager()
    return policy_from_mapping(
        data,
        criterion_kinds=collect_criterion_kinds(pm),
        routers=collect_routers(pm),
        reference=reference,
        source="<benchmarks/instances.py>",
        plugin_manager=pm,
    )


def communes_within(
    lat: npt.NDArray[np.float64],
    lon: npt.NDArray[np.float64],
    centres: IntArray,
    radius_km: float,
) -> list[IntArray]:
    """For each commune index in ``centres``, the indices of the communes (of ``lat``/``lon``)
    whose point is within ``radius_km`` (geodesic, :func:`geodesic_km_many`), sorted.

    A grid of about ``radius_km`` squares prefilters the pairs, so this stays near-linear for
    the 35,000 communes of France.
    """
    # Grid squares at least radius_km wide everywhere (a degree of latitude is >= 110.5 km,
    # a degree of longitude >= 111.3 km x cos(latitude)), so the 3 x 3 squares around a
    # commune hold every commune within radius_km of it.
    cell_lat = radius_km / 110.0
    widest = float(np.max(np.abs(lat))) if lat.size else 0.0
    cell_lon = radius_km / (111.0 * max(math.cos(math.radians(widest)), 0.05))
    gy = np.floor(lat / cell_lat).astype(np.int64)
    gx = np.floor(lon / cell_lon).astype(np.int64)
    buckets: dict[tuple[int, int], list[int]] = {}
    for i, key in enumerate(zip(gy.tolist(), gx.tolist(), strict=True)):
        buckets.setdefault(key, []).append(i)
    bucket_arrays = {k: np.array(v, dtype=np.int64) for k, v in buckets.items()}
    empty = np.empty(0, dtype=np.int64)
    pair_centre: list[IntArray] = []
    pair_other: list[IntArray] = []
    for k, c in enumerate(centres.tolist()):
        near = [
            bucket_arrays.get((gy[c] + dy, gx[c] + dx), empty)
            for dy in (-1, 0, 1)
            for dx in (-1, 0, 1)
        ]
        others = np.concatenate(near)
        pair_centre.append(np.full(others.size, k, dtype=np.int64))
        pair_other.append(others)
    pc = np.concatenate(pair_centre) if pair_centre else empty
    po = np.concatenate(pair_other) if pair_other else empty
    cidx = centres[pc]
    km = geodesic_km_many(lat[cidx], lon[cidx], lat[po], lon[po])
    keep = (km <= radius_km) | (cidx == po)
    pc, po = pc[keep], po[keep]
    order = np.lexsort((po, pc))
    pc, po = pc[order], po[order]
    bounds = np.searchsorted(pc, np.arange(centres.size + 1))
    return [po[bounds[k] : bounds[k + 1]] for k in range(centres.size)]


@dataclass(frozen=True)
class TerritoryInstance:
    """A generated month on a territory, with the arrays a reference solver needs.

    Attributes:
        requests: the requests (ids ``R0000000``..., index = ``int(id[1:])``).
        physicians: the GPs (ids ``G000000``..., index = ``int(id[1:])``), practice at the
            commune's point (no own location).
        policy: :func:`four_level_policy` on the territory's communes.
        on: reference date.
        communes: INSEE codes of the territory, indexed like the arrays below.
        lat, lon: point of each commune.
        request_commune, request_need, request_level, request_persons: per request: commune
            index, need index (:data:`NEEDS`), level rank (1..5) and persons.
        request_received: per request, the received date's proleptic ordinal.
        physician_commune, physician_capacity: per GP: practice commune index and places this
            month (0 when not accepting new patients).
        physician_needs: per GP, a boolean row over :data:`NEEDS`: the needs it serves.
        accepted: per GP, the commune indices it accepts (within ``radius_km``).
        radius_km: the acceptance radius.
    """

    requests: list[Request]
    physicians: list[Physician]
    policy: Policy
    on: dt.date
    communes: tuple[str, ...]
    lat: npt.NDArray[np.float64]
    lon: npt.NDArray[np.float64]
    request_commune: IntArray
    request_need: IntArray
    request_level: IntArray
    request_persons: IntArray
    request_received: IntArray
    physician_commune: IntArray
    physician_capacity: IntArray
    physician_needs: npt.NDArray[np.bool_]
    accepted: list[IntArray]
    radius_km: float


def _age(birth: dt.date, on: dt.date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def _levels(
    birth_ordinal: IntArray,
    on: dt.date,
    urgent: npt.NDArray[np.bool_],
    ald: npt.NDArray[np.bool_],
    precarious: npt.NDArray[np.bool_],
) -> IntArray:
    """The level rank of each request (as the loop of :func:`territory_month` finds it),
    with whole-array steps: ages on ``on`` from the birth dates' ordinals."""
    days = (birth_ordinal - dt.date(1970, 1, 1).toordinal()).astype("datetime64[D]")
    year = days.astype("datetime64[Y]")
    month = days.astype("datetime64[M]")
    b_year = year.astype(np.int64) + 1970
    b_month = (month - year).astype(np.int64) + 1
    b_day = (days - month).astype(np.int64) + 1
    before = (on.month < b_month) | ((on.month == b_month) & (on.day < b_day))
    years = on.year - b_year - before
    vulnerable = (years < 6) | (years >= 80)
    level = np.full(birth_ordinal.size, 5, dtype=np.int64)
    level[precarious] = 4
    level[vulnerable] = 3
    level[ald] = 2
    level[urgent] = 1
    return level


def territory_month(
    communes: Sequence[Commune],
    *,
    n_requests: int,
    n_physicians: int,
    seed: int,
    radius_km: float = 10.0,
    code: str = "bench",
    department: str = "59",
    reference: CommuneReference | None = None,
    demand_spread: float = 0.7,
    objects: bool = True,
) -> TerritoryInstance:
    """Generate a month of ``n_requests`` waiting requests and ``n_physicians`` GPs.

    * GPs practise in communes drawn in proportion to population; each accepts the communes
      whose point is within ``radius_km`` of its commune's (an explicit ``accepted_communes``),
      has a capacity of 1 to 8 (uniform), does office visits only (60 %), office and home
      visits (35 %) or home visits only (5 %); 2 % do not accept new patients this month.
    * Requests come from communes drawn in proportion to population times a log-normal
      "pressure" factor per commune (``demand_spread`` is its sigma), so supply and demand do
      not match exactly everywhere. Levels: urgent 0.5 %, ALD 1 %, under 6 or 80+ 1 %,
      CSS 1 % or AME 0.5 % (the highest level met wins), the rest non-priority; 3 % need
      occasional home visits, 2 % home visits only; households of 1 (85 %) to 4 persons;
      received over the six months before the reference date.

    ``objects=False``: no :class:`Request` objects (``requests`` is empty; the arrays are
    the same, levels computed with whole-array steps): for the columnar path
    (:func:`mt_access.columnar.match_columns`), whose process then holds only the columns.
    """
    reference = reference or bundled_reference()
    rng = np.random.default_rng(seed)
    on = ON
    codes = tuple(c.insee for c in communes)
    n_communes = len(codes)
    lat = np.array([c.point.lat for c in communes if c.point is not None], dtype=np.float64)
    lon = np.array([c.point.lon for c in communes if c.point is not None], dtype=np.float64)
    if lat.size != n_communes:
        raise ValueError("every commune of a territory needs a point")
    population = np.array([max(c.population or 0, 1) for c in communes], dtype=np.float64)

    # -- physicians
    phys_commune = rng.choice(n_communes, size=n_physicians, p=population / population.sum())
    capacity = rng.integers(1, 9, size=n_physicians)
    modality_kind = rng.choice(3, size=n_physicians, p=MODALITY_SHARES)
    accepting = rng.random(n_physicians) >= P_NOT_ACCEPTING
    centres = np.unique(phys_commune)
    near = communes_within(lat, lon, centres, radius_km)
    accepted_of_centre = dict(zip(centres.tolist(), near, strict=True))
    accepted_codes = {
        c: frozenset(codes[k] for k in idx.tolist()) for c, idx in accepted_of_centre.items()
    }
    modality_sets = (
        frozenset({Modality.OFFICE}),
        frozenset({Modality.OFFICE, Modality.HOME_VISITS}),
        frozenset({Modality.HOME_VISITS}),
    )
    # serves[kind][need]: see Physician.serves
    serves = np.array(
        [[True, False, False], [True, True, True], [False, False, True]], dtype=np.bool_
    )
    physicians: list[Physician] = []
    for j, (c, cap, kind, acc) in enumerate(
        zip(
            phys_commune.tolist(),
            capacity.tolist(),
            modality_kind.tolist(),
            accepting.tolist(),
            strict=True,
        )
    ):
        physicians.append(
            Physician(
                id=f"G{j:06d}",
                name=f"Dr G{j:06d}",
                commune=codes[c],
                accepting_new_patients=acc,
                monthly_capacity=cap,
                modalities=modality_sets[kind],
                accepted_communes=accepted_codes[c],
            )
        )

    # -- requests
    pressure = rng.lognormal(0.0, demand_spread, size=n_communes)
    weight = population * pressure
    req_commune = rng.choice(n_communes, size=n_requests, p=weight / weight.sum())
    urgent = rng.random(n_requests) < P_URGENT
    ald = rng.random(n_requests) < P_ALD
    vulnerable = rng.random(n_requests) < P_VULNERABLE_AGE
    css = rng.random(n_requests) < P_CSS
    ame = (~css) & (rng.random(n_requests) < P_AME / (1 - P_CSS))
    # Ages: vulnerable ones in 0..5 or 80..99, others in 6..79; birth date uniform in the year.
    age_young = rng.integers(0, 6, size=n_requests)
    age_old = rng.integers(80, 100, size=n_requests)
    age_mid = rng.integers(6, 80, size=n_requests)
    young = rng.random(n_requests) < 0.5
    age = np.where(vulnerable, np.where(young, age_young, age_old), age_mid)
    birth_ordinal = on.toordinal() - np.floor(age * 365.25).astype(np.int64)
    birth_ordinal -= rng.integers(1, 365, size=n_requests)
    received_ordinal = on.toordinal() - rng.integers(0, 183, size=n_requests)
    u = rng.random(n_requests)
    need = np.where(u < P_EXCLUSIVE, 2, np.where(u < P_EXCLUSIVE + P_OCCASIONAL, 1, 0))
    persons = rng.choice(4, size=n_requests, p=HOUSEHOLD_SHARES) + 1

    households = [Household(adults=1, children=k) for k in range(4)]
    referrer = Referrer()
    consent = Consent(given=True)
    dates: dict[int, dt.date] = {}

    def date_of(ordinal: int) -> dt.date:
        d = dates.get(ordinal)
        if d is None:
            d = dates[ordinal] = dt.date.fromordinal(ordinal)
        return d

    level = np.full(n_requests, 5, dtype=np.int64)
    requests: list[Request] = []
    append = requests.append
    if not objects:
        level = _levels(birth_ordinal, on, urgent, ald, css | ame)
    for i, (c, b, r, nd, p, ur, al, cs, am) in enumerate(
        zip(
            req_commune.tolist(),
            birth_ordinal.tolist(),
            received_ordinal.tolist(),
            need.tolist(),
            persons.tolist(),
            urgent.tolist(),
            ald.tolist(),
            css.tolist(),
            ame.tolist(),
            strict=True,
        )
        if objects
        else ()
    ):
        birth = date_of(b)
        years = _age(birth, on)
        if ur:
            level[i] = 1
        elif al:
            level[i] = 2
        elif years < 6 or years >= 80:
            level[i] = 3
        elif cs or am:
            level[i] = 4
        append(
            Request(
                id=f"R{i:07d}",
                received=date_of(r),
                patient=Patient(birth_date=birth, commune=codes[c]),
                ald=al,
                css=cs,
                ame=am,
                home_visits=NEEDS[nd],
                urgent=ur,
                reason=SearchReason.PREVIOUS_MT_LEFT,
                household=households[p - 1],
                referrer=referrer,
                consent=consent,
            )
        )

    policy = four_level_policy(reference, codes, code=code, department=department)
    return TerritoryInstance(
        requests=requests,
        physicians=physicians,
        policy=policy,
        on=on,
        communes=codes,
        lat=lat,
        lon=lon,
        request_commune=req_commune.astype(np.int64),
        request_need=need.astype(np.int64),
        request_level=level,
        request_persons=persons.astype(np.int64),
        request_received=received_ordinal.astype(np.int64),
        physician_commune=phys_commune.astype(np.int64),
        physician_capacity=np.where(accepting, capacity, 0).astype(np.int64),
        physician_needs=serves[modality_kind],
        accepted=[accepted_of_centre[c] for c in phys_commune.tolist()],
        radius_km=radius_km,
    )
