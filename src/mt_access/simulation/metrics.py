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
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
import numpy.typing as npt

from mt_access.lifecycle import ExitReason, RequestState

if TYPE_CHECKING:
    from mt_access.simulation.records import GPMonthLoad, RequestOutcome

__all__ = [
    "ALL",
    "EXIT_REASONS",
    "FRAGILE",
    "GP_INDICATORS",
    "INDICATORS",
    "REQUEST_INDICATORS",
    "OutcomeColumns",
    "outcome_columns",
    "summarise",
    "summarise_columns",
]

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


def _share(part: int, whole: int) -> float:
    return part / whole if whole else _NAN


class OutcomeColumns(NamedTuple):
    """What the indicators read of a run's requests (:class:`RequestOutcome`), one row per
    request in creation order, as columns: ``level``, ``fragile`` and ``cohort`` as lists
    (for the groups), the rest as arrays (dates as ordinals; ``has_end``, ``distance`` NaN
    where ``None``; ``exit`` the index in :data:`EXIT_REASONS`, -1 while waiting)."""

    level: list[str]
    fragile: list[bool]
    cohort: list[str]
    original: npt.NDArray[np.bool_]
    received: npt.NDArray[np.int64]
    found: npt.NDArray[np.bool_]
    waiting: npt.NDArray[np.bool_]
    exit: npt.NDArray[np.int64]
    has_end: npt.NDArray[np.bool_]
    end: npt.NDArray[np.int64]
    distance: npt.NDArray[np.float64]
    persons_placed: npt.NDArray[np.int64]


EXIT_REASONS: tuple[ExitReason, ...] = tuple(ExitReason)
"""The exit reasons, indexed as in :attr:`OutcomeColumns.exit`."""

_EXIT_CODE: dict[ExitReason | None, int] = {r: k for k, r in enumerate(EXIT_REASONS)}
_EXIT_CODE[None] = -1


def outcome_columns(
    *,
    level: list[str],
    fragile: list[bool],
    cohort: list[str],
    original: Sequence[bool],
    received: Sequence[dt.date],
    state: Sequence[RequestState],
    exit_reason: Sequence[ExitReason | None],
    end: Sequence[dt.date | None],
    distance: Sequence[float | None],
    persons_placed: Sequence[int],
) -> OutcomeColumns:
    """The columns of a run's requests, given as lists in creation order (the fields of
    :class:`RequestOutcome`: ``original`` is ``parent_id is None``)."""
    code = _EXIT_CODE
    ends = np.array([0 if e is None else e.toordinal() for e in end], dtype=np.int64)
    return OutcomeColumns(
        level=level,
        fragile=fragile,
        cohort=cohort,
        original=np.array(original, dtype=bool),
        received=np.array([r.toordinal() for r in received], dtype=np.int64),
        found=np.array([s is RequestState.MT_FOUND for s in state], dtype=bool),
        waiting=np.array([s is RequestState.WAITING for s in state], dtype=bool),
        exit=np.array([code[r] for r in exit_reason], dtype=np.int64),
        has_end=ends > 0,
        end=ends,
        distance=np.array([_NAN if d is None else d for d in distance], dtype=np.float64),
        persons_placed=np.array(persons_placed, dtype=np.int64),
    )


_OTHER = _EXIT_CODE[ExitReason.OTHER_SOLUTION]
_UNREACHABLE = _EXIT_CODE[ExitReason.UNREACHABLE]
_NOT_SEARCHING = _EXIT_CODE[ExitReason.NOT_SEARCHING_ANYMORE]
_WITHDRAWN = _EXIT_CODE[ExitReason.WITHDRAWN]
_OUT_OF_SCOPE = _EXIT_CODE[ExitReason.OUT_OF_SCOPE]


def _request_indicators(
    c: OutcomeColumns, rows: npt.NDArray[np.int64], end: dt.date
) -> dict[str, float]:
    """The indicators of the requests ``rows`` (indexes in ``c``, in creation order)."""
    originals = rows[c.original[rows]]
    n = int(originals.size)
    placed = originals[c.found[originals]]
    # days from reception to the GP's acceptance (0 without an end date)
    waits = np.where(c.has_end[placed], c.end[placed] - c.received[placed], 0).astype(np.float64)
    km = c.distance[placed]
    distances = km[~np.isnan(km)]
    exit_code = c.exit[originals]
    in_scheme = originals[(exit_code != _OUT_OF_SCOPE) & (exit_code != _NOT_SEARCHING)]
    last = end.toordinal()
    waited = (
        np.where(c.has_end[in_scheme], c.end[in_scheme], last) - c.received[in_scheme]
    ).astype(np.float64)
    reasons = np.bincount(exit_code[exit_code >= 0], minlength=len(EXIT_REASONS)).tolist()
    within: dict[int, float] = {}
    received = c.received[originals]
    placed_received = c.received[placed]
    for days in (30, 90):
        limit = (end - dt.timedelta(days=days)).toordinal()
        eligible = int(np.count_nonzero(received <= limit))
        quick = int(np.count_nonzero((placed_received <= limit) & (waits <= days)))
        within[days] = _share(quick, eligible)
    n_placed = int(placed.size)
    return {
        "demandes": float(n),
        "placées": float(n_placed),
        "part placée": _share(n_placed, n),
        "placées en 30 j": within[30],
        "placées en 90 j": within[90],
        "délai médian (j)": float(np.median(waits)) if waits.size else _NAN,
        "délai P90 (j)": float(np.percentile(waits, 90)) if waits.size else _NAN,
        "attente médiane (j)": float(np.median(waited)) if waited.size else _NAN,
        "attente P90 (j)": float(np.percentile(waited, 90)) if waited.size else _NAN,
        "part avec solution": _share(n_placed + reasons[_OTHER], n),
        "non placées": float(n - n_placed),
        "en attente à la fin": float(np.count_nonzero(c.waiting[originals])),
        "autre solution": float(reasons[_OTHER]),
        "injoignables": float(reasons[_UNREACHABLE]),
        "ne cherchent plus": float(reasons[_NOT_SEARCHING] + reasons[_WITHDRAWN]),
        "hors du champ": float(reasons[_OUT_OF_SCOPE]),
        "distance moyenne (km)": float(distances.mean()) if distances.size else _NAN,
        "distance max (km)": float(distances.max()) if distances.size else _NAN,
        "personnes placées": float(int(c.persons_placed[rows].sum())),
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
    columns = outcome_columns(
        level=[o.level for o in outcomes],
        fragile=[o.fragile for o in outcomes],
        cohort=[o.cohort for o in outcomes],
        original=[o.parent_id is None for o in outcomes],
        received=[o.received for o in outcomes],
        state=[o.state for o in outcomes],
        exit_reason=[o.exit_reason for o in outcomes],
        end=[o.end for o in outcomes],
        distance=[o.distance_km for o in outcomes],
        persons_placed=[o.persons_placed for o in outcomes],
    )
    return summarise_columns(columns, loads, levels, cohorts, end)


def summarise_columns(
    columns: OutcomeColumns,
    loads: Iterable[GPMonthLoad],
    levels: Sequence[str],
    cohorts: Sequence[str],
    end: dt.date,
) -> dict[tuple[str, str], float]:
    """:func:`summarise` on the requests' columns (:func:`outcome_columns`): what a
    comparison's replication computes, without a :class:`RequestOutcome` per request."""
    groups: dict[str, list[int]] = {ALL: list(range(len(columns.level)))}
    for level in levels:
        groups[level] = []
    groups[FRAGILE] = []
    for cohort in cohorts:
        groups[cohort] = []
    for i, (level, fragile, cohort) in enumerate(
        zip(columns.level, columns.fragile, columns.cohort, strict=True)
    ):
        groups.setdefault(level, []).append(i)
        if fragile:
            groups[FRAGILE].append(i)
        if cohort:
            groups[cohort].append(i)
    out: dict[tuple[str, str], float] = {}
    for group, items in groups.items():
        rows = np.array(items, dtype=np.int64)
        for name, value in _request_indicators(columns, rows, end).items():
            out[(group, name)] = value
    for name, value in _gp_indicators(loads).items():
        out[(ALL, name)] = value
    return out
