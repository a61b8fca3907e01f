"""The indicators of a simulated run, per group of requests.

Groups: ``ensemble`` (every request), each level of the policy (the request's level in its
first matching run), ``patients fragiles`` (a Sud Est Grenoblois priority criterion on
reception: over 70, under 6, ALD, CSS/AME; the same definition whatever the policy, to
compare policies) and each cohort of a ``GPRetires`` event. Request counts are of the
requests received during the simulation (the persons left of a household placed in part are
not counted again); ``délai`` is the wait of the placed requests, ``attente`` that of every
request in the scheme; the shares « placées en 30 j / 90 j » are of the requests received at
least 30 / 90 days before the last simulated day.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from mt_access.lifecycle import ExitReason, RequestState

if TYPE_CHECKING:
    from mt_access.simulation.records import GPMonthLoad, RequestOutcome

__all__ = ["ALL", "FRAGILE", "GP_INDICATORS", "INDICATORS", "REQUEST_INDICATORS", "summarise"]

ALL = "ensemble"
"""The group of every request."""

FRAGILE = "patients fragiles"
"""The group of the requests meeting a Sud Est Grenoblois priority criterion."""

REQUEST_INDICATORS: dict[str, str] = {
    "demandes": "requests received during the simulation",
    "placées": "requests whose patient found a GP through the scheme",
    "part placée": "placées / demandes",
    "placées en 30 j": "share of the requests received 30+ days before the end placed within "
    "30 days of reception",
    "placées en 90 j": "same within 90 days (requests received 90+ days before the end)",
    "délai médian (j)": "median days from reception to a GP's acceptance (placed requests)",
    "délai P90 (j)": "90th percentile of those days",
    "attente médiane (j)": "median days waited by every request in the scheme (not out of "
    "scope, still searching after confirmation): to its placement, its exit, or the last "
    "simulated day for those still waiting (so a lower bound)",
    "attente P90 (j)": "90th percentile of those days",
    "part avec solution": "(placées + autre solution) / demandes: a GP found through the "
    "scheme or by other means (the Sud Est Grenoblois's « solution trouvée »)",
    "non placées": "demandes - placées: waiting at the end or exited without a GP",
    "en attente à la fin": "requests still waiting on the last day",
    "autre solution": "patients who found a GP by other means",
    "injoignables": "patients who could no longer be reached",
    "ne cherchent plus": "patients who no longer search (confirmation) or withdrew",
    "hors du champ": "requests rejected by the policy (exclusion, no consent, territory)",
    "distance moyenne (km)": "mean distance between the placed patients and their GP",
    "distance max (km)": "largest such distance",
    "personnes placées": "persons placed with GPs (households count every member)",
}
"""Indicators computed for every group: French label → meaning."""

GP_INDICATORS: dict[str, str] = {
    "capacité offerte": "persons the available GPs could take, summed over the months",
    "charge / capacité": "persons placed / capacité offerte",
    "charge max d'un médecin": "the largest persons placed / capacity offered of one GP",
    "médecins saturés": "share of the GP-months (available, capacity > 0) with every place taken",
}
"""Indicators of the GPs' load, in the group ``ensemble`` only: French label → meaning."""

INDICATORS: dict[str, str] = {**REQUEST_INDICATORS, **GP_INDICATORS}
"""Every indicator, in table order: French label → meaning."""

_NAN = math.nan
_NOT_WAITING = frozenset({ExitReason.OUT_OF_SCOPE, ExitReason.NOT_SEARCHING_ANYMORE})


def _share(part: int, whole: int) -> float:
    return part / whole if whole else _NAN


def _request_indicators(items: Sequence[RequestOutcome], end: dt.date) -> dict[str, float]:
    originals = [o for o in items if o.parent_id is None]
    n = len(originals)
    placed = [o for o in originals if o.state is RequestState.MT_FOUND]
    placed_waits = [o.wait_days or 0 for o in placed]
    waits = np.array(placed_waits, dtype=np.float64)
    distances = np.array(
        [o.distance_km for o in placed if o.distance_km is not None], dtype=np.float64
    )
    waited = np.array(
        [
            (o.end if o.end is not None else end).toordinal() - o.received.toordinal()
            for o in originals
            if o.exit_reason not in _NOT_WAITING
        ],
        dtype=np.float64,
    )
    reasons: dict[ExitReason | None, int] = defaultdict(int)
    for o in originals:
        reasons[o.exit_reason] += 1
    within: dict[int, float] = {}
    received = np.array([o.received.toordinal() for o in originals], dtype=np.int64)
    placed_received = np.array([o.received.toordinal() for o in placed], dtype=np.int64)
    for days in (30, 90):
        limit = (end - dt.timedelta(days=days)).toordinal()
        eligible = int(np.count_nonzero(received <= limit))
        quick = int(np.count_nonzero((placed_received <= limit) & (waits <= days)))
        within[days] = _share(quick, eligible)
    return {
        "demandes": float(n),
        "placées": float(len(placed)),
        "part placée": _share(len(placed), n),
        "placées en 30 j": within[30],
        "placées en 90 j": within[90],
        "délai médian (j)": float(np.median(waits)) if waits.size else _NAN,
        "délai P90 (j)": float(np.percentile(waits, 90)) if waits.size else _NAN,
        "attente médiane (j)": float(np.median(waited)) if waited.size else _NAN,
        "attente P90 (j)": float(np.percentile(waited, 90)) if waited.size else _NAN,
        "part avec solution": _share(len(placed) + reasons[ExitReason.OTHER_SOLUTION], n),
        "non placées": float(n - len(placed)),
        "en attente à la fin": float(sum(1 for o in originals if o.state is RequestState.WAITING)),
        "autre solution": float(reasons[ExitReason.OTHER_SOLUTION]),
        "injoignables": float(reasons[ExitReason.UNREACHABLE]),
        "ne cherchent plus": float(
            reasons[ExitReason.NOT_SEARCHING_ANYMORE] + reasons[ExitReason.WITHDRAWN]
        ),
        "hors du champ": float(reasons[ExitReason.OUT_OF_SCOPE]),
        "distance moyenne (km)": float(distances.mean()) if distances.size else _NAN,
        "distance max (km)": float(distances.max()) if distances.size else _NAN,
        "personnes placées": float(sum(o.persons_placed for o in items)),
    }


def _gp_indicators(loads: Iterable[GPMonthLoad]) -> dict[str, float]:
    offered: dict[str, int] = defaultdict(int)
    used: dict[str, int] = defaultdict(int)
    months = 0
    saturated = 0
    for load in loads:
        offered[load.physician_id] += load.capacity
        used[load.physician_id] += load.used
        if load.available and load.capacity > 0:
            months += 1
            saturated += load.used >= load.capacity
    total = sum(offered.values())
    ratios = [used[p] / offered[p] for p in offered if offered[p] > 0]
    return {
        "capacité offerte": float(total),
        "charge / capacité": _share(sum(used.values()), total),
        "charge max d'un médecin": max(ratios) if ratios else _NAN,
        "médecins saturés": _share(saturated, months),
    }


def summarise(
    outcomes: Sequence[RequestOutcome],
    loads: Iterable[GPMonthLoad],
    levels: Sequence[str],
    cohorts: Sequence[str],
    end: dt.date,
) -> dict[tuple[str, str], float]:
    """The indicators of a run, by (group, indicator); every group of ``levels`` and
    ``cohorts`` appears, with zero requests when it has none."""
    groups: dict[str, list[RequestOutcome]] = {ALL: list(outcomes)}
    for level in levels:
        groups[level] = []
    groups[FRAGILE] = []
    for cohort in cohorts:
        groups[cohort] = []
    for o in outcomes:
        groups.setdefault(o.level, []).append(o)
        if o.fragile:
            groups[FRAGILE].append(o)
        if o.cohort:
            groups[o.cohort].append(o)
    out: dict[tuple[str, str], float] = {}
    for group, items in groups.items():
        for name, value in _request_indicators(items, end).items():
            out[(group, name)] = value
    for name, value in _gp_indicators(loads).items():
        out[(ALL, name)] = value
    return out
