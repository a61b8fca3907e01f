"""Hypothesis strategies: small random matching instances over real communes (never real people).

Requests and physicians are drawn over a handful of neighbouring communes, so that the GPs'
accepted-commune sets overlap and the capacities (0 to 4 a month) are scarce. Ids are
``R00``, ``R01``... for requests and ``G0``, ``G1``... for physicians, in drawing order (the
engine must not care: see the permutation property).
"""

from __future__ import annotations

import datetime as dt

import attrs
from hypothesis import strategies as st

from mt_access import (
    CapacityLedger,
    Consent,
    HomeVisitNeed,
    Household,
    Modality,
    Month,
    Patient,
    Physician,
    PhysicianStatus,
    Point,
    Policy,
    Request,
    SearchReason,
    StatusChange,
)
from mt_access.geo import bundled_reference

ON = dt.date(2026, 3, 15)
MONTH = Month.of(ON)

# Voironnais (Isère): all in the territory of the voironnais policy.
VOIRON = "38563"
VOREPPE = "38565"
MOIRANS = "38239"
RIVES = "38337"
TULLINS = "38517"
COUBLEVIE = "38133"
LA_BUISSE = "38061"
SAINT_JEAN_DE_MOIRANS = "38400"
VOIRONNAIS_COMMUNES = (
    VOIRON,
    VOREPPE,
    MOIRANS,
    RIVES,
    TULLINS,
    COUBLEVIE,
    LA_BUISSE,
    SAINT_JEAN_DE_MOIRANS,
)
GRENOBLE = "38185"  # outside the Voironnais territory

# Deûle Marque (Nord): all in the territory of the deule_marque policy.
MARCQ = "59378"
MARQUETTE = "59386"
WAMBRECHIES = "59636"
SAINT_ANDRE = "59527"
LA_MADELEINE = "59368"
BONDUES = "59090"
NORD_COMMUNES = (MARCQ, MARQUETTE, WAMBRECHIES, SAINT_ANDRE, LA_MADELEINE, BONDUES)
LILLE = "59350"  # outside the Deûle Marque territory

OFFICE = frozenset({Modality.OFFICE})
HOME = frozenset({Modality.HOME_VISITS})
BOTH = frozenset(Modality)

_NEEDS = (HomeVisitNeed.NONE,) * 3 + (HomeVisitNeed.OCCASIONAL, HomeVisitNeed.EXCLUSIVE)
_REASONS = tuple(r for r in SearchReason if r is not SearchReason.CONVENIENCE)


def _years_ago(on: dt.date, years: int) -> dt.date:
    return on.replace(year=on.year - years)  # ON is 15 March: no 29 February


@st.composite
def near(draw: st.DrawFn, commune: str, km: int = 2) -> Point:
    """A point within about ``km`` km of the commune's point (steps of about 100 m)."""
    base = bundled_reference().point(commune)
    steps = 9 * km  # 0.001 degree of latitude is about 111 m
    dlat = draw(st.integers(-steps, steps)) / 1000
    dlon = draw(st.integers(-steps, steps)) / 1000
    return Point(base.lat + dlat, base.lon + dlon)


@st.composite
def request(
    draw: st.DrawFn,
    rid: str,
    communes: tuple[str, ...] = VOIRONNAIS_COMMUNES,
    *,
    households: int = 4,
    out_of_scope: tuple[str, ...] = (),
    declined_pool: tuple[str, ...] = (),
    locations: bool = False,
    on: dt.date = ON,
) -> Request:
    """One request.

    Args:
        rid: its id.
        communes: communes of residence to draw from.
        households: about one request in ``households`` covers several persons (adults and
            children); 0: none does.
        out_of_scope: communes outside the territory; when given, some requests are also
            without consent or for a change of GP by convenience (the scope rules reject them).
        declined_pool: physician ids that may have declined the request already.
        locations: whether the patient may have geocoded home coordinates.
        on: the reference date (ages are drawn relative to it).
    """
    commune = draw(st.sampled_from(communes))
    consent = Consent(True, on)
    reason: SearchReason = draw(st.sampled_from(_REASONS))
    if out_of_scope:
        trouble = draw(st.sampled_from(("none",) * 12 + ("outside", "no_consent", "convenience")))
        if trouble == "outside":
            commune = draw(st.sampled_from(out_of_scope))
        elif trouble == "no_consent":
            consent = Consent(False)
        elif trouble == "convenience":
            reason = SearchReason.CONVENIENCE
    # an age band (with the policies' thresholds 16, 18 and 70), an age, then a birth date:
    # one in four on the eve, the day or the morrow of a birthday
    low, high = draw(st.sampled_from(((0, 15), (16, 69), (16, 69), (70, 95), (15, 18))))
    years = draw(st.integers(low, high))
    if draw(st.integers(0, 3)) == 0:
        birth = _years_ago(on, years) + dt.timedelta(days=draw(st.integers(-1, 1)))
    else:
        birth = draw(
            st.dates(
                min_value=_years_ago(on, years + 1) + dt.timedelta(days=1),
                max_value=_years_ago(on, years),
            )
        )
    ald = css = ame = chronic = False
    if draw(st.integers(0, 3)) == 0:  # about one request in four has a medical or social flag
        ald, css, ame, chronic = draw(st.tuples(*(st.booleans(),) * 4))
    household = Household()
    if households and draw(st.integers(1, households)) == 1:
        adults = draw(st.integers(0, 3))
        household = Household(adults, draw(st.integers(max(0, 2 - adults), 2)))
    declined: frozenset[str] = frozenset()
    if declined_pool and draw(st.integers(0, 7)) == 0:
        declined = draw(st.frozensets(st.sampled_from(declined_pool), min_size=1, max_size=2))
    location = None
    if locations and draw(st.integers(0, 2)) == 0 and commune in communes:
        location = draw(near(commune))
    return Request(
        id=rid,
        received=on - dt.timedelta(days=draw(st.integers(0, 60))),
        patient=Patient(birth_date=birth, commune=commune, location=location),
        ald=ald,
        css=css,
        ame=ame,
        disability_or_chronic=chronic,
        home_visits=draw(st.sampled_from(_NEEDS)),
        reason=reason,
        household=household,
        consent=consent,
        declined_by=declined,  # type: ignore[arg-type]
        household_id=draw(st.sampled_from((None, None, "F1", "F2"))),
    )


@st.composite
def request_lists(
    draw: st.DrawFn,
    /,
    communes: tuple[str, ...] = VOIRONNAIS_COMMUNES,
    *,
    min_size: int = 0,
    max_size: int = 10,
    **kw: object,
) -> list[Request]:
    """Requests ``R00``, ``R01``...; keyword arguments as :func:`request`."""
    n = draw(st.integers(min_size, max_size))
    return [draw(request(f"R{i:02d}", communes, **kw)) for i in range(n)]  # type: ignore[arg-type]


# Participation on ON: name -> (status changes, available on ON?)
_STATUSES: dict[str, tuple[tuple[StatusChange, ...], bool]] = {
    "active": ((), True),
    "suspended": (
        (
            StatusChange(
                ON - dt.timedelta(days=10), PhysicianStatus.SUSPENDED, ON + dt.timedelta(5)
            ),
        ),
        False,
    ),
    "suspended_until_today": (
        (StatusChange(ON - dt.timedelta(days=10), PhysicianStatus.SUSPENDED, ON),),
        False,
    ),
    "suspended_open_ended": (
        (StatusChange(ON - dt.timedelta(days=30), PhysicianStatus.SUSPENDED),),
        False,
    ),
    "suspension_over": (
        (
            StatusChange(
                ON - dt.timedelta(days=40), PhysicianStatus.SUSPENDED, ON - dt.timedelta(days=1)
            ),
        ),
        True,
    ),
    "suspension_later": (
        (StatusChange(ON + dt.timedelta(days=1), PhysicianStatus.SUSPENDED),),
        True,
    ),
    "withdrawn": ((StatusChange(ON - dt.timedelta(days=20), PhysicianStatus.WITHDRAWN),), False),
    "withdrawn_today": ((StatusChange(ON, PhysicianStatus.WITHDRAWN),), False),
    "back_after_withdrawal": (
        (
            StatusChange(ON - dt.timedelta(days=90), PhysicianStatus.WITHDRAWN),
            StatusChange(ON - dt.timedelta(days=5), PhysicianStatus.ACTIVE),
        ),
        True,
    ),
    "withdraws_later": (
        (StatusChange(ON + dt.timedelta(days=3), PhysicianStatus.WITHDRAWN),),
        True,
    ),
}


@st.composite
def physician(
    draw: st.DrawFn,
    pid: str,
    communes: tuple[str, ...] = VOIRONNAIS_COMMUNES,
    *,
    unavailable: bool = True,
    locations: bool = False,
    max_capacity: int = 4,
    status_changes: int = 5,
) -> Physician:
    """One physician: capacity 0 to ``max_capacity`` or undeclared (``None``: the policy's
    default), modalities, an optional list of accepted communes (overlapping with the
    others'), and, when ``unavailable``, a status history for about one physician in
    ``status_changes`` (suspended, withdrawn, back, or changing later: available on :data:`ON`
    or not) and about one in ten not accepting new patients."""
    commune = draw(st.sampled_from(communes))
    status = "active"
    if unavailable and draw(st.integers(1, status_changes)) == 1:
        status = draw(st.sampled_from(tuple(_STATUSES)))
    accepting = not (unavailable and draw(st.integers(0, 9)) == 0)
    accepted = draw(
        st.one_of(st.just(frozenset()), st.frozensets(st.sampled_from(communes), min_size=1))
    )
    location = draw(near(commune, 1)) if locations and draw(st.integers(0, 3)) == 0 else None
    return Physician(
        id=pid,
        name=f"Dr {pid}",
        commune=commune,
        location=location,
        accepting_new_patients=accepting,
        monthly_capacity=(
            None if draw(st.integers(0, 5)) == 0 else draw(st.integers(0, max_capacity))
        ),
        modalities=draw(st.sampled_from((OFFICE, OFFICE, BOTH, BOTH, HOME))),
        accepted_communes=accepted,
        status_history=_STATUSES[status][0],
    )


@st.composite
def physician_lists(
    draw: st.DrawFn,
    /,
    communes: tuple[str, ...] = VOIRONNAIS_COMMUNES,
    *,
    min_size: int = 0,
    max_size: int = 6,
    **kw: object,
) -> list[Physician]:
    """Physicians ``G0``, ``G1``...; keyword arguments as :func:`physician`."""
    n = draw(st.integers(min_size, max_size))
    return [draw(physician(f"G{i}", communes, **kw)) for i in range(n)]  # type: ignore[arg-type]


@st.composite
def ledgers(draw: st.DrawFn, physicians: list[Physician], *, on: dt.date = ON) -> CapacityLedger:
    """A ledger with some history for these physicians: capacities declared this month or
    before (overriding ``monthly_capacity``), placements earlier this month and last month
    (requests ``L-...``, never the ids of :func:`request_lists`), some of them released.
    Every entry is valid without carry-over and with a default capacity of 0 for undeclared
    capacities, so also with carry-over and any policy default."""
    ledger = CapacityLedger()
    month = Month.of(on)
    previous = month.previous()
    for p in physicians:
        if draw(st.booleans()):
            declared = draw(st.sampled_from((month, previous, previous.previous())))
            ledger.declare_capacity(p.id, declared, draw(st.integers(0, 4)), declared.first_day)
        for m in (previous, month):
            default = p.monthly_capacity or 0
            left = ledger.remaining(p.id, m, default=default)
            if left and draw(st.booleans()):
                rid = f"L-{p.id}-{m}"
                n = draw(st.integers(1, min(left, 3)))
                ledger.place(p.id, m, rid, n, m.first_day, default=default)
                if draw(st.integers(0, 3)) == 0:
                    ledger.release(p.id, rid, m.first_day, "refus du patient")
    return ledger


@attrs.frozen
class Instance:
    """A match input: requests, physicians, ledger (``None`` is an empty one) and date."""

    requests: list[Request]
    physicians: list[Physician]
    ledger: CapacityLedger | None
    on: dt.date = ON


@st.composite
def instances(
    draw: st.DrawFn,
    communes: tuple[str, ...] = VOIRONNAIS_COMMUNES,
    *,
    min_requests: int = 2,
    max_requests: int = 10,
    min_physicians: int = 1,
    max_physicians: int = 5,
    with_ledger: bool = True,
    households: int = 4,
    out_of_scope: tuple[str, ...] = (),
    locations: bool = False,
    unavailable: bool = True,
    max_communes: int = 4,
    max_capacity: int = 4,
    status_changes: int = 5,
) -> Instance:
    """Requests, physicians and (sometimes, when ``with_ledger``) a non-empty ledger, over up
    to ``max_communes`` of the ``communes`` (so that the physicians' accepted communes overlap
    and requests share cells); ``households`` as in :func:`request`."""
    communes = tuple(
        draw(st.lists(st.sampled_from(communes), min_size=1, max_size=max_communes, unique=True))
    )
    physicians = draw(
        physician_lists(
            communes,
            min_size=min_physicians,
            max_size=max_physicians,
            unavailable=unavailable,
            locations=locations,
            max_capacity=max_capacity,
            status_changes=status_changes,
        )
    )
    requests = draw(
        request_lists(
            communes,
            min_size=min_requests,
            max_size=max_requests,
            households=households,
            out_of_scope=out_of_scope,
            declined_pool=tuple(p.id for p in physicians),
            locations=locations,
        )
    )
    ledger = None
    if with_ledger and draw(st.booleans()):
        ledger = draw(ledgers(physicians))
    return Instance(requests, physicians, ledger)


@attrs.frozen
class Variant:
    """Changes to a shipped policy (see :func:`apply_variant`).

    Attributes:
        keep_households_together: ``households.keep_together``.
        max_distance_km: maximum distance of every routing rule (``None``: the policy's).
        default_accepted_communes: ``territory`` or ``practice_commune``.
        carry_over: ``capacity.carry_over``.
        default_monthly_capacity: ``capacity.default_monthly`` (``None``: the policy's).
    """

    keep_households_together: bool = False
    max_distance_km: float | None = None
    default_accepted_communes: str = "territory"
    carry_over: bool = False
    default_monthly_capacity: int | None = None


# Maximum distances chosen at least 40 m away from every distance between the communes above
# (checked in test_engine_properties), so that the metre-level differences between distance
# algorithms cannot change eligibility.
MAX_DISTANCES_KM = (3.0, 4.0, 6.0)


@st.composite
def variants(
    draw: st.DrawFn, *, keep_together: bool | None = None, max_distance: bool | None = None
) -> Variant:
    """A :class:`Variant`; ``keep_together`` forces ``keep_households_together``,
    ``max_distance`` forces a maximum distance (True) or none (False)."""
    if max_distance is None:
        max_km = draw(st.sampled_from((None,) * 6 + MAX_DISTANCES_KM))
    else:
        max_km = draw(st.sampled_from(MAX_DISTANCES_KM)) if max_distance else None
    return Variant(
        keep_households_together=draw(st.booleans()) if keep_together is None else keep_together,
        max_distance_km=max_km,
        default_accepted_communes=draw(st.sampled_from(("territory",) * 3 + ("practice_commune",))),
        carry_over=draw(st.booleans()),
        default_monthly_capacity=draw(st.sampled_from((None, None, 0, 1, 2))),
    )


def apply_variant(policy: Policy, variant: Variant) -> Policy:
    """``policy`` with the changes of ``variant`` (every routing rule gets the maximum
    distance, when one is set)."""
    changes: dict[str, object] = {
        "keep_households_together": variant.keep_households_together,
        "default_accepted_communes": variant.default_accepted_communes,
        "carry_over": variant.carry_over,
    }
    if variant.default_monthly_capacity is not None:
        changes["default_monthly_capacity"] = variant.default_monthly_capacity
    if variant.max_distance_km is not None:
        km = variant.max_distance_km
        changes["routing_priority"] = attrs.evolve(policy.routing_priority, max_distance_km=km)
        changes["routing_non_priority"] = attrs.evolve(
            policy.routing_non_priority, max_distance_km=km
        )
        changes["routing_by_level"] = {
            name: attrs.evolve(rule, max_distance_km=km)
            for name, rule in policy.routing_by_level.items()
        }
    return attrs.evolve(policy, **changes)  # type: ignore[arg-type]
