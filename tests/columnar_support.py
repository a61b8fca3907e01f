"""What the columnar tests (test_columnar.py, test_columnar_match.py) share: the Voironnais
policy, a policy of three levels each routed by ``monthly_quota`` with its own maximum
distance, instances drawn over a few communes of it, and the placements as comparable rows.
Generated data only."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from hypothesis import strategies as st

import mt_access
from factories import COUBLEVIE, MOIRANS, TULLINS, VOIRON, VOREPPE, doc, req
from mt_access import Policy
from mt_access.model import HomeVisitNeed
from mt_access.policy import policy_from_mapping
from strategies import Instance

VOIRONNAIS = mt_access.load_policy("voironnais")
COMMUNES = (VOIRON, VOREPPE, MOIRANS, TULLINS, COUBLEVIE)
# the maximum distance of each of the three levels (None: no maximum)
CAPS = st.tuples(*(st.sampled_from((None, 2.5, 4.5, 7.5, 12.5)) for _ in range(3)))

_MODALITIES = (
    frozenset({mt_access.Modality.OFFICE}),
    frozenset({mt_access.Modality.OFFICE, mt_access.Modality.HOME_VISITS}),
)
_NEEDS = (HomeVisitNeed.NONE,) * 3 + tuple(HomeVisitNeed)


def levels_policy(caps: tuple[float | None, ...], *, keep_together: bool = False) -> Policy:
    """Three levels routed by ``monthly_quota``, each with its own maximum distance."""

    def rule(cap: float | None) -> dict[str, Any]:
        return {"router": "monthly_quota"} | ({"max_distance_km": cap} if cap else {})

    return policy_from_mapping(
        {
            "version": 1,
            "identity": {"name": "T", "code": "t", "department": "38"},
            "territory": {"communes": list(COMMUNES)},
            "priority": {
                "levels": [
                    {"name": "N1", "criteria": [{"kind": "ald"}]},
                    {"name": "N2", "criteria": [{"kind": "urgent"}]},
                ],
                "non_priority_name": "non prioritaire",
            },
            "routing": {
                "priority": rule(caps[0]),
                "non_priority": rule(caps[2]),
                "levels": {"N2": rule(caps[1])},
            },
            "households": {"keep_together": keep_together},
        }
    )


@st.composite
def leveled(
    draw: st.DrawFn, *, max_requests: int, max_physicians: int, needs: bool = False
) -> Instance:
    """Requests (ALD, urgent or neither; households of 1 to 3) and GPs over ``COMMUNES``,
    no ledger. With ``needs``: GPs who do home visits or not, requests that need them, and
    requests declined by some of the GPs."""
    physicians = [
        doc(
            f"G{j}",
            draw(st.sampled_from(COMMUNES)),
            capacity=draw(st.integers(0, 3)),
            accepted=frozenset(draw(st.sets(st.sampled_from(COMMUNES), min_size=1, max_size=4))),
            **({"modalities": draw(st.sampled_from(_MODALITIES))} if needs else {}),
        )
        for j in range(draw(st.integers(1, max_physicians)))
    ]
    ids = [p.id for p in physicians]
    requests = [
        req(
            f"R{i:02d}",
            draw(st.sampled_from(COMMUNES)),
            received=dt.date(2026, 1, 1) + dt.timedelta(days=draw(st.integers(0, 40))),
            ald=draw(st.booleans()),
            urgent=draw(st.booleans()),
            persons=draw(st.integers(1, 3)),
            **(
                {
                    "home_visits": draw(st.sampled_from(_NEEDS)),
                    "declined_by": draw(st.frozensets(st.sampled_from(ids), max_size=2)),
                }
                if needs
                else {}
            ),
        )
        for i in range(draw(st.integers(1, max_requests)))
    ]
    return Instance(requests, physicians, None)


def placed(placements: Iterable[Any], *, full: bool = True) -> list[tuple[Any, ...]]:
    """Placements as rows (request, GP, persons, distance and, if ``full``, level and rank)."""
    return [
        (p.request_id, p.physician_id, p.persons, p.distance_km)
        + ((p.level, p.rank) if full else ())
        for p in placements
    ]
