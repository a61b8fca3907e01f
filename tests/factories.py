"""Small builders for generated test data (never real people)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from mt_access import (
    Consent,
    HomeVisitNeed,
    Household,
    Modality,
    Patient,
    Physician,
    Request,
    SearchReason,
)

ON = dt.date(2026, 3, 15)
VOIRON = "38563"
VOREPPE = "38565"
MOIRANS = "38239"
RIVES = "38337"
TULLINS = "38517"
COUBLEVIE = "38133"


def req(
    rid: str,
    commune: str = VOIRON,
    *,
    age: int = 40,
    received: dt.date = dt.date(2026, 1, 10),
    persons: int = 1,
    **kw: Any,
) -> Request:
    birth = dt.date(ON.year - age, 1, 1) if age else dt.date(ON.year, 1, 1)
    kw.setdefault("reason", SearchReason.NEW_ARRIVAL)
    kw.setdefault("home_visits", HomeVisitNeed.NONE)
    return Request(
        id=rid,
        received=received,
        patient=Patient(birth_date=birth, commune=commune),
        household=Household(adults=persons, children=0),
        consent=kw.pop("consent", Consent(True, received)),
        **kw,
    )


def doc(
    pid: str,
    commune: str = VOIRON,
    *,
    capacity: int | None = 1,
    modalities: frozenset[Modality] = frozenset({Modality.OFFICE}),
    accepted: frozenset[str] = frozenset(),
    **kw: Any,
) -> Physician:
    return Physician(
        id=pid,
        name=f"Dr {pid}",
        commune=commune,
        monthly_capacity=capacity,
        modalities=modalities,
        accepted_communes=accepted,
        **kw,
    )
