"""Built-in routers (plugin): nearest, monthly_quota, k_nearest, pull, orientation."""

from __future__ import annotations

from collections import defaultdict
from typing import NamedTuple

import attrs
import numpy as np
import numpy.typing as npt

from mt_access import flow
from mt_access.bounds import MAX_MONTHLY_CAPACITY, MAX_NEAREST, MAX_OVERBOOKING, MAX_SHARED_LIST
from mt_access.flow import Slot
from mt_access.flow import take_slots as _take_slots
from mt_access.hooks import Hooks
from mt_access.model import PhysicianStatus, age_band
from mt_access.plugins import hookimpl
from mt_access.policies import households
from mt_access.policy import Param, ParamType, Policy, RouterKind
from mt_access.questions import shareable_answers
from mt_access.result import (
    Orientation,
    OrientedPhysician,
    Placement,
    PullEntry,
    PullList,
    ReasonCode,
    Waiting,
)
from mt_access.routing import RoutableItem, RouterOutput, RoutingTask, quota_placements

__all__ = ["BUILTIN_ROUTERS", "Slot", "age_band", "level_labels", "pull_entry"]

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


def _sorted_output(
    placements: list[Placement],
    orientations: list[Orientation] | None = None,
    waiting: list[Waiting] | None = None,
    pull_lists: list[PullList] | None = None,
) -> RouterOutput:
    return RouterOutput(
        placements=tuple(placements),
        orientations=tuple(orientations or ()),
        waiting=tuple(waiting or ()),
        pull_lists=tuple(pull_lists or ()),
    )


def _keep_together(task: RoutingTask, item: RoutableItem) -> bool:
    return task.policy.keep_households_together and item.request.persons > 1


def _shortage_reason(task: RoutingTask, item: RoutableItem, best_capacity: int) -> ReasonCode:
    if _keep_together(task, item) and best_capacity < item.request.persons:
        return ReasonCode.HOUSEHOLD_TOO_LARGE
    return ReasonCode.CAPACITY_EXHAUSTED


# --------------------------------------------------------------------------------------------
# nearest


def route_nearest(task: RoutingTask) -> RouterOutput:
    """Each request, in priority order, goes to the nearest eligible physician who still has
    room for it (a household kept together needs room for all its persons)."""
    left = list(task.remaining)
    placements: list[Placement] = []
    waiting: list[Waiting] = []
    for item in task.items:
        cell = task.cells[item.cell]
        if cell.candidates.size == 0:
            waiting.append(task.waiting(item, task.no_candidate_reason(cell)))
            continue
        cands = cell.candidates.tolist()
        dists = cell.distances_km.tolist()
        persons = item.request.persons
        if _keep_together(task, item) or persons == 1:
            for k, j in enumerate(cands):
                if left[j] >= persons:
                    full = [c for c in cands[:k] if left[c] < persons]
                    left[j] -= persons
                    placements.append(
                        task.placement(
                            item,
                            j,
                            persons,
                            dists[k],
                            full,
                            "médecin éligible le plus proche ayant une place ce mois-ci",
                        )
                    )
                    break
            else:
                best = max((task.remaining[c] for c in cands), default=0)
                waiting.append(task.waiting(item, _shortage_reason(task, item, best)))
            continue
        # a household that may be split: fill from the nearest physician outwards
        todo = persons
        skipped: list[int] = []
        for k, j in enumerate(cands):
            if todo == 0:
                break
            if left[j] == 0:
                skipped.append(j)
                continue
            take = min(left[j], todo)
            left[j] -= take
            todo -= take
            placements.append(
                task.placement(
                    item,
                    j,
                    take,
                    dists[k],
                    list(skipped),
                    "médecin éligible le plus proche ayant de la place (foyer réparti)",
                )
            )
        if todo:
            waiting.append(task.waiting(item, ReasonCode.CAPACITY_EXHAUSTED, todo))
    return _sorted_output(placements, waiting=waiting)


# --------------------------------------------------------------------------------------------
# monthly_quota


class _Quota(NamedTuple):
    """The task's columns the ``monthly_quota`` router works on (row ``i``: request ``i`` in
    priority order)."""

    capacity: IntArray  # places left per physician before this router
    candidates: list[IntArray]  # eligible physicians per cell, nearest first
    item_cell: IntArray  # cell of each request
    item_persons: IntArray  # persons of each request
    keep: BoolArray  # households kept together (more than one person, policy says so)
    singles: IntArray  # the other requests, in priority order

    @classmethod
    def of(cls, task: RoutingTask) -> _Quota:
        n = len(task.requests)
        persons = np.fromiter((r.household.persons for r in task.requests), np.int64, n)
        keep = (persons > 1) & task.policy.keep_households_together
        return cls(
            np.array(task.remaining, dtype=np.int64),
            [c.candidates for c in task.cells],
            task.item_cells,
            persons,
            keep,
            np.flatnonzero(~keep),
        )

    def cell_totals(self, units: IntArray, amounts: IntArray) -> IntArray:
        """Persons per cell: ``amounts[k]`` for the request ``units[k]``."""
        return np.bincount(
            self.item_cell[units], weights=amounts, minlength=len(self.candidates)
        ).astype(np.int64)


def route_monthly_quota(task: RoutingTask) -> RouterOutput:
    """Place as many requests as the physicians' monthly capacities allow, level by level
    (maximal at each level without removing any higher-level placement), older requests first
    inside a level, then assign the chosen requests to physicians with the smallest total
    distance. See :mod:`mt_access.flow`.

    Two algorithms, one after the other: households kept together first
    (:func:`_place_households`), then the other requests in one solve
    (:func:`_place_singles`), on the capacity the households left.

    Works on the task's columns: one object is built per placed request, not per request.
    """
    quota = _Quota.of(task)
    placements: list[Placement] = []
    waiting: list[Waiting] = []
    latest = np.full(quota.capacity.size, -1, dtype=np.int64)
    residual = _place_households(task, quota, latest, placements, waiting)
    _place_singles(task, quota, residual, latest, placements, waiting)
    return _sorted_output(placements, waiting=waiting)


def _place_households(
    task: RoutingTask,
    quota: _Quota,
    latest: IntArray,
    placements: list[Placement],
    waiting: list[Waiting],
) -> IntArray:
    """Households kept together (:func:`mt_access.policies.households.plan`): the seniority
    greedy (in priority order, each at the nearest GP where it fits whole without depriving a
    request before it in the order), or, when that misses places, the assignment that places
    the most persons level by level.

    Returns the places left per physician; ``latest[j]`` becomes the last request in the
    order placed with physician ``j`` (-1: none).
    """
    ranks = np.fromiter((c.rank for c in task.classifications), np.int64, len(task.requests))
    problem = households.HouseholdProblem(
        quota.capacity,
        quota.candidates,
        [c.distances_km for c in task.cells],
        quota.item_cell,
        quota.item_persons,
        ranks,
        quota.keep,
    )
    chosen = households.plan(problem)
    final = households.residual(problem, chosen.assignment)
    for household, gp in chosen.assignment.items():
        latest[gp] = max(int(latest[gp]), household)
    running = quota.capacity.copy()  # places left before each household, in order
    for i in problem.households:
        cell = task.cells[int(quota.item_cell[i])]
        size = int(quota.item_persons[i])
        if cell.candidates.size == 0:
            waiting.append(task.waiting(task.item(i), task.no_candidate_reason(cell)))
            continue
        j = chosen.assignment.get(i)
        if j is None:
            best = int(quota.capacity[cell.candidates].max())
            reason = (
                ReasonCode.HOUSEHOLD_TOO_LARGE if best < size else ReasonCode.CAPACITY_EXHAUSTED
            )
            waiting.append(task.waiting(task.item(i), reason))
            continue
        k = int(np.flatnonzero(cell.candidates == j)[0])
        nearer = cell.candidates[:k].tolist()
        if chosen.method == "greedy":  # the households before it in the order took them
            full, taken = [c for c in nearer if running[c] < size], []
        else:  # one assignment for all: a nearer GP given to a later household is said so
            gone = [c for c in nearer if final[c] < size]
            taken = [c for c in gone if size <= quota.capacity[c] and latest[c] > i]
            full = [c for c in gone if c not in taken]
        running[j] -= size
        placements.append(
            task.placement(
                task.item(i),
                j,
                size,
                float(cell.distances_km[k]),
                full,
                _HOUSEHOLD_WHY[chosen.method],
                taken,
            )
        )
    return final


_HOUSEHOLD_WHY = {
    "greedy": "médecin éligible le plus proche pouvant accueillir tout le foyer "
    "sans priver une demande plus prioritaire ou plus ancienne",
    "optimum": "médecin éligible pouvant accueillir tout le foyer, dans la répartition des "
    "places du mois qui place le plus de personnes, niveau de priorité après niveau",
}


def _place_singles(
    task: RoutingTask,
    quota: _Quota,
    residual: IntArray,
    latest: IntArray,
    placements: list[Placement],
    waiting: list[Waiting],
) -> None:
    """Single requests (and households that may be split): who is placed, for all levels in
    one solve (:func:`mt_access.flow.select_by_priority`), then with whom
    (:func:`mt_access.flow.assign_nearest`); each placed request takes its cell's slots,
    nearest first. ``latest``: as left by :func:`_place_households`, for the explanations."""
    singles = quota.singles
    cells_of = quota.item_cell[singles]
    ranks = np.fromiter((c.rank for c in task.classifications), np.int64, len(task.requests))
    chosen = flow.select_by_priority(
        residual, quota.candidates, cells_of, quota.item_persons[singles], ranks[singles]
    )
    supply = quota.cell_totals(singles, chosen)
    assigned = flow.assign_nearest(
        residual, quota.candidates, [c.distances_km for c in task.cells], supply
    )
    left = residual.copy()
    pending: dict[int, list[Slot]] = {}
    for c, cell_slots in enumerate(assigned):
        for j, count, _ in cell_slots:
            left[j] -= count
        if cell_slots:
            pending[c] = [Slot(j, count, d) for j, count, d in cell_slots]
    persons = quota.item_persons[singles]
    taken: list[tuple[int, list[Slot]]] = []
    for k in np.flatnonzero(chosen).tolist():  # the placed, in priority order: few
        i, c = int(singles[k]), int(cells_of[k])
        slots = _take_slots(int(chosen[k]), pending[c])
        for slot in slots:
            latest[slot.physician] = max(int(latest[slot.physician]), i)
        taken.append((i, slots))
    waiting.extend(_waiting_singles(task, singles, cells_of, persons - chosen))
    placements.extend(quota_placements(task, taken, left, latest))


def _waiting_singles(
    task: RoutingTask, singles: IntArray, cells_of: IntArray, left_out: IntArray
) -> list[Waiting]:
    """A :class:`Waiting` for each request of ``singles`` with persons ``left_out`` (in
    priority order), its reason and detail worked out once per cell."""
    rows = np.flatnonzero(left_out > 0)
    why: dict[int, tuple[ReasonCode, str]] = {}
    for c in np.unique(cells_of[rows]).tolist():
        cell = task.cells[c]
        if cell.candidates.size:
            why[c] = (ReasonCode.CAPACITY_EXHAUSTED, "")
        else:
            reason = task.no_candidate_reason(cell)
            detail = task.distance_detail(c) if reason is ReasonCode.BEYOND_MAX_DISTANCE else ""
            why[c] = (reason, detail)
    requests, classes = task.requests, task.classifications
    out = []
    for i, c, n in zip(
        singles[rows].tolist(), cells_of[rows].tolist(), left_out[rows].tolist(), strict=True
    ):
        cl = classes[i]
        reason, detail = why[c]
        out.append(Waiting(requests[i].id, cl.level, cl.rank, reason, n, detail))
    return out


# --------------------------------------------------------------------------------------------
# k_nearest


def route_k_nearest(task: RoutingTask) -> RouterOutput:
    """Hand each request the list of the k nearest eligible physicians with a place left this
    month; no capacity is used until one of them accepts.

    With ``overbooking`` (a factor > 0), a GP is listed to at most ``places left × factor``
    patients in the run (rounded down, at least one per place left), requests taken in
    priority order: once a GP reaches it, the next nearest GP with a place left takes their
    turn on the later lists, and each such list says which nearer GPs were left out and why.
    ``0`` puts no limit (every list names the k nearest GPs with a place left)."""
    k = int(task.param("k"))  # type: ignore[call-overload]
    factor = float(task.param("overbooking") or 0)  # type: ignore[arg-type]
    caps = [max(left, int(left * factor)) if factor > 0 else None for left in task.remaining]
    listed = [0] * len(task.remaining)
    orientations: list[Orientation] = []
    waiting: list[Waiting] = []
    for item in task.items:
        cell = task.cells[item.cell]
        chosen: list[tuple[int, float]] = []
        left_out: list[int] = []
        for j, d in zip(cell.candidates.tolist(), cell.distances_km.tolist(), strict=True):
            if len(chosen) == k:
                break
            if task.remaining[j] <= 0:
                continue
            cap = caps[j]
            if cap is not None and listed[j] >= cap:
                left_out.append(j)
                continue
            chosen.append((j, d))
        capped = _capped_detail(task, left_out, factor)
        if not chosen:
            reason = (
                task.no_candidate_reason(cell)
                if cell.candidates.size == 0
                else ReasonCode.CAPACITY_EXHAUSTED
            )
            wait = task.waiting(item, reason)
            if capped:
                wait = attrs.evolve(wait, detail=capped)
            waiting.append(wait)
            continue
        for j, _ in chosen:
            listed[j] += 1
        physicians = tuple(
            OrientedPhysician(
                task.physicians[j].id,
                task.physicians[j].name,
                task.physicians[j].commune,
                round(d, 3),
                places_left=task.remaining[j],
            )
            for j, d in chosen
        )
        places = ", ".join(
            f"{p.physician_id} : {p.places_left} place(s) restante(s)" for p in physicians
        )
        explanation = (
            f"Liste des {len(physicians)} médecin(s) éligible(s) le(s) plus proche(s) "
            f"acceptant de nouveaux patients ce mois-ci, à contacter par le patient ({places})."
        )
        if capped:
            explanation += f" {capped[0].upper()}{capped[1:]}."
        orientations.append(
            Orientation(
                item.request.id,
                item.classification.level,
                item.classification.rank,
                "k_nearest",
                physicians,
                explanation=explanation,
            )
        )
    return _sorted_output([], orientations, waiting)


def _capped_detail(task: RoutingTask, left_out: list[int], factor: float) -> str:
    """French words for the nearer GPs left out of a list by the overbooking factor."""
    if not left_out:
        return ""
    names = ", ".join(
        f"{task.physicians[j].id} ({task.remaining[j]} place(s) restante(s))" for j in left_out
    )
    return (
        f"non listé(s) car déjà remis à autant de patients que le permet le facteur de "
        f"surréservation ({format_factor(factor)} patient(s) par place restante) : {names}"
    )


def format_factor(factor: float) -> str:
    """``2`` or ``1,5``: a factor in French."""
    text = f"{factor:g}"
    return text.replace(".", ",")


# --------------------------------------------------------------------------------------------
# pull


def route_pull(task: RoutingTask) -> RouterOutput:
    """No physician is chosen by the CPTS: each physician with a place left gets the ordered,
    pseudonymised list of waiting requests they could take (level, then waiting time).

    ``pick_limit`` is not used here: the register checks it when a GP picks a request
    (:meth:`mt_access.Register.choose`)."""
    size = int(task.param("list_size"))  # type: ignore[call-overload]
    by_physician: dict[int, list[tuple[int, PullEntry]]] = defaultdict(list)
    waiting: list[Waiting] = []
    hooks = Hooks(task.plugin_manager)
    labels = level_labels(task.policy)
    for item in task.items:
        cell = task.cells[item.cell]
        listed = False
        request = item.request
        base: PullEntry | None = None
        for j, d in zip(cell.candidates.tolist(), cell.distances_km.tolist(), strict=True):
            if task.remaining[j] <= 0:
                continue
            if base is None:
                base = pull_entry(task, item, hooks.pseudonym(request.id, task.policy), labels)
            by_physician[j].append((item.position, attrs.evolve(base, distance_km=round(d, 1))))
            listed = True
        if listed:
            waiting.append(task.waiting(item, ReasonCode.AWAITING_GP_CHOICE))
        elif cell.candidates.size == 0:
            waiting.append(task.waiting(item, task.no_candidate_reason(cell)))
        else:
            waiting.append(task.waiting(item, ReasonCode.CAPACITY_EXHAUSTED))
    lists = []
    for j in sorted(by_physician, key=lambda j: task.physicians[j].id):
        entries = [e for _, e in sorted(by_physician[j], key=lambda t: t[0])]
        if size:
            entries = entries[:size]
        lists.append(PullList(task.physicians[j].id, tuple(entries), task.remaining[j]))
    return _sorted_output([], waiting=waiting, pull_lists=lists)


def pull_entry(
    task: RoutingTask, item: RoutableItem, pseudonym: str, labels: dict[str, str]
) -> PullEntry:
    """The line of a pull list for ``item`` (``distance_km`` 0: each GP's list sets its own),
    ``labels`` from :func:`level_labels`; shared with :mod:`mt_access.pull_index`."""
    request = item.request
    level = item.classification.level
    commune = request.commune
    reference = task.distances.reference
    return PullEntry(
        pseudonym=pseudonym,
        level=level,
        rank=item.classification.rank,
        waiting_days=(task.on - request.received).days,
        commune=commune,
        age_band=age_band(request.age(task.on)),
        persons=request.persons,
        home_visits=request.home_visits.label,
        distance_km=0.0,
        level_label=labels.get(level, level),
        commune_name=reference.get(commune).name if commune in reference else commune,
        urgent=request.urgent,
        extra=shareable_answers(request, task.policy),
    )


def level_labels(policy: Policy) -> dict[str, str]:
    """The French words for each level of ``policy`` on a list shared with GPs: the level's
    name, and its ``label`` in parentheses when it has one."""
    labels = {lv.name: f"{lv.name} ({lv.label})" if lv.label else lv.name for lv in policy.levels}
    labels.setdefault(policy.non_priority_level, policy.non_priority_level)
    return labels


# --------------------------------------------------------------------------------------------
# orientation


def route_orientation(task: RoutingTask) -> RouterOutput:
    """No physician is chosen: the patient receives the list of the GPs of their commune
    (accepting new patients, by default) and the policy's listed resources (those without a
    ``mode``) serving the commune; with ``include_commune_gps: false``, the resources only."""
    only_accepting = bool(task.param("only_accepting"))
    fallback = int(task.param("fallback_nearest"))  # type: ignore[call-overload]
    with_gps = bool(task.param("include_commune_gps"))
    in_scheme = [
        p
        for p in task.all_physicians
        if with_gps
        and p.status_on(task.on) is PhysicianStatus.ACTIVE
        and (p.accepting_new_patients or not only_accepting)
    ]
    by_commune: dict[str, list[int]] = defaultdict(list)
    for j, p in enumerate(in_scheme):
        by_commune[p.commune].append(j)
    listed = [r for r in task.policy.resources if not r.conditional]
    orientations: list[Orientation] = []
    for item in task.items:
        commune = item.request.commune
        local = by_commune.get(commune, [])
        pool = local if local else list(range(len(in_scheme)))
        ranked = sorted(
            ((task.distance_km(item, in_scheme[j]), in_scheme[j].id, j) for j in pool),
        )
        if not local:
            limit = task.rule.max_distance_km
            if limit is not None:
                ranked = [r for r in ranked if r[0] <= limit]
            ranked = ranked[:fallback]
        physicians = tuple(
            OrientedPhysician(in_scheme[j].id, in_scheme[j].name, in_scheme[j].commune, round(d, 3))
            for d, _, j in ranked
        )
        resources = tuple(r.describe() for r in listed if r.serves(commune))
        if not with_gps:
            text = (
                "Orientation vers les ressources du territoire (sans liste de médecins)."
                if resources
                else "Aucune ressource du territoire pour la commune du patient."
            )
        else:
            if local:
                text = "Liste des médecins généralistes exerçant dans la commune du patient"
            elif physicians:
                text = (
                    "Aucun médecin généraliste du dispositif dans la commune du patient : "
                    f"liste des {len(physicians)} plus proches"
                )
            else:
                text = "Aucun médecin généraliste à proposer"
            text += " et ressources du territoire." if resources else "."
        orientations.append(
            Orientation(
                item.request.id,
                item.classification.level,
                item.classification.rank,
                "orientation",
                physicians,
                resources,
                text,
            )
        )
    return _sorted_output([], orientations)


BUILTIN_ROUTERS: tuple[RouterKind, ...] = (
    RouterKind(
        "nearest",
        "médecin le plus proche",
        route_nearest,
        consumes_capacity=True,
        doc="Each request, in priority order, to the single nearest eligible GP with room.",
    ),
    RouterKind(
        "monthly_quota",
        "quota mensuel des médecins",
        route_monthly_quota,
        consumes_capacity=True,
        doc="As many requests as monthly capacities allow, level by level (max flow), "
        "then the smallest total distance.",
    ),
    RouterKind(
        "k_nearest",
        "liste des k médecins les plus proches",
        route_k_nearest,
        (
            Param(
                "k",
                ParamType.INT,
                "nombre de médecins proposés",
                default=3,
                minimum=1,
                maximum=MAX_NEAREST,
            ),
            Param(
                "overbooking",
                ParamType.NUMBER,
                "nombre maximal de patients à qui un médecin est remis par place restante, "
                "dans un appariement (0 : sans limite)",
                default=0,
                minimum=0,
                maximum=MAX_OVERBOOKING,
            ),
        ),
        doc="The k nearest eligible GPs with a place left, as a list for the patient; "
        "no capacity used; with ``overbooking``, a GP is listed to at most places left × "
        "factor patients in a run.",
    ),
    RouterKind(
        "pull",
        "liste partagée aux médecins",
        route_pull,
        (
            Param(
                "list_size",
                ParamType.INT,
                "nombre maximal de demandes par liste (0 : toutes)",
                default=0,
                minimum=0,
                maximum=MAX_SHARED_LIST,
            ),
            Param(
                "pick_limit",
                ParamType.INT,
                "nombre maximal de demandes choisies sur sa liste qu'un médecin peut avoir en "
                "attente de sa réponse (0 : sans limite)",
                default=0,
                minimum=0,
                maximum=MAX_MONTHLY_CAPACITY,
            ),
        ),
        doc="Each GP with a place left gets the ordered, pseudonymised list of the requests "
        "they could take; with ``pick_limit``, a GP holds at most that many pending picks.",
    ),
    RouterKind(
        "orientation",
        "orientation (liste des médecins de la commune et ressources)",
        route_orientation,
        (
            Param(
                "only_accepting",
                ParamType.BOOLEAN,
                "ne lister que les médecins acceptant de nouveaux patients",
                default=True,
            ),
            Param(
                "fallback_nearest",
                ParamType.INT,
                "sans médecin dans la commune, nombre de médecins les plus proches listés",
                default=3,
                minimum=0,
                maximum=MAX_NEAREST,
            ),
            Param(
                "include_commune_gps",
                ParamType.BOOLEAN,
                "lister les médecins de la commune (false : les ressources seulement)",
                default=True,
            ),
        ),
        doc="The GPs of the patient's commune (unless ``include_commune_gps: false``) and the "
        "policy's listed resources; no GP chosen.",
    ),
)


@hookimpl
def mt_access_routers() -> list[RouterKind]:
    return list(BUILTIN_ROUTERS)
