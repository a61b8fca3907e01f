"""The physicians' tables :func:`mt_access.routing.build_cells` keeps between calls: the cells
are exactly those worked out from scratch (the former implementation, kept below), whatever
was cached before; a table is reused only for the same physicians' ids, communes, locations,
modalities and accepted communes (never across a change of one of them), and a capacity or
status change reuses it."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import attrs
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mt_access
from mt_access import routing
from mt_access.errors import MatchInputError, ReferenceDataError
from mt_access.geo import DistanceCache, bundled_reference
from mt_access.geo.distance import geodesic_km_many
from mt_access.model import HomeVisitNeed, Physician, Request
from mt_access.policy import Policy
from mt_access.routing import Cell, build_cells
from strategies import (
    BOTH,
    MAX_DISTANCES_KM,
    OFFICE,
    ON,
    VOIRON,
    VOREPPE,
    apply_variant,
    instances,
    variants,
)


def former_build_cells(
    requests: Sequence[Request],
    physicians: Sequence[Physician],
    policy: Policy,
    caps: Sequence[float | None],
    distances: DistanceCache,
) -> tuple[list[int], list[Cell]]:
    """``build_cells`` as it was before the tables (commit 498d0bf): everything per call,
    the distances of a cell at its commune's point through the distance cache."""
    reference = distances.reference
    n = len(physicians)
    by_commune: dict[str, list[int]] = defaultdict(list)
    for j, p in enumerate(physicians):
        for commune in p.accepted_communes or policy.accepted_by_default(p.commune):
            by_commune[commune].append(j)
    lat, lon = np.empty(n), np.empty(n)
    own_location = np.zeros(n, dtype=bool)
    for j, p in enumerate(physicians):
        point = p.location if p.location is not None else reference.point(p.commune)
        lat[j], lon[j] = point.lat, point.lon
        own_location[j] = p.location is not None
    ids = np.array([p.id for p in physicians], dtype=object)
    need_masks = {
        need: np.array([p.serves(need) for p in physicians], dtype=bool) for need in HomeVisitNeed
    }
    phys_communes = [p.commune for p in physicians]
    cell_index: dict[tuple[object, ...], int] = {}
    cells: list[Cell] = []
    of_item: list[int] = []
    for request, limit in zip(requests, caps, strict=True):
        origin = request.patient.location
        own = origin is not None
        key = (request.commune, origin, request.home_visits, request.declined_by, limit)
        index = cell_index.get(key)
        if index is None:
            if origin is None:
                try:
                    origin = reference.point(request.commune)
                except ReferenceDataError as exc:
                    raise MatchInputError(f"demande {request.id} : {exc}") from exc
            cand = np.array(by_commune.get(request.commune, ()), dtype=np.int64)
            if cand.size:
                cand = cand[need_masks[request.home_visits][cand]]
            if cand.size and request.declined_by:
                keep = np.array([ids[j] not in request.declined_by for j in cand], dtype=bool)
                cand = cand[keep]
            if cand.size:
                if own or own_location[cand].any():
                    dist = geodesic_km_many(origin.lat, origin.lon, lat[cand], lon[cand])
                else:
                    dist = distances.communes_matrix(
                        [request.commune], [phys_communes[j] for j in cand]
                    )[0]
                dist = np.asarray(dist, dtype=np.float64)
            else:
                dist = np.empty(0)
            beyond = 0
            if limit is not None and cand.size:
                within = dist <= limit
                beyond = int((~within).sum())
                cand, dist = cand[within], dist[within]
            order = np.lexsort((ids[cand].astype(str) if cand.size else cand, dist))
            cand, dist = cand[order], dist[order]
            index = len(cells)
            cell_index[key] = index
            cells.append(Cell(request.commune, request.home_visits, cand, dist, beyond, limit))
        of_item.append(index)
    return of_item, cells


@pytest.fixture(scope="module")
def voironnais() -> Policy:
    return mt_access.load_policy("voironnais")


@settings(max_examples=80, deadline=None)
@given(
    instance=instances(locations=True, max_requests=14, max_physicians=6),
    variant=variants(),
    caps=st.lists(st.sampled_from((None, *MAX_DISTANCES_KM)), min_size=14, max_size=14),
    warm=st.booleans(),
    left_out=st.sets(st.integers(0, 5)),
)
def test_cells_are_those_worked_out_from_scratch(
    voironnais: Policy,
    instance: object,
    variant: object,
    caps: list[float | None],
    warm: bool,
    left_out: set[int],
) -> None:
    """Same cell of each request and same cells (candidates, distances bit for bit, beyond,
    caps), whether the physicians' table is new or was kept from an earlier call, and when
    it is built on more physicians (``among``: every GP, the cells for some of them)."""
    policy = apply_variant(voironnais, variant)  # type: ignore[arg-type]
    requests = instance.requests  # type: ignore[attr-defined]
    everyone = sorted(instance.physicians, key=lambda p: p.id)  # type: ignore[attr-defined]
    limits = caps[: len(requests)]
    if not warm:
        routing.clear_cell_caches()
    for physicians in (everyone, [p for j, p in enumerate(everyone) if j not in left_out]):
        expected = former_build_cells(
            requests, physicians, policy, limits, DistanceCache(bundled_reference())
        )
        for among in (None, everyone, None):  # the last call reuses the table
            found = build_cells(
                requests,
                physicians,
                policy,
                limits,
                DistanceCache(bundled_reference()),
                among=among,
            )
            assert found == expected


def _gps() -> list[Physician]:
    return [
        Physician(id="A", name="Dr A", commune=VOIRON, monthly_capacity=2, modalities=OFFICE),
        Physician(id="B", name="Dr B", commune=VOREPPE, monthly_capacity=2, modalities=BOTH),
    ]


def _cells(policy: Policy, gps: list[Physician]) -> list[Cell]:
    asks = [
        mt_access.Request(
            id=f"R{k}",
            received=ON,
            patient=mt_access.Patient(birth_date=ON.replace(year=1980), commune=commune),
            home_visits=need,
        )
        for k, (commune, need) in enumerate(
            [(VOIRON, HomeVisitNeed.NONE), (VOREPPE, HomeVisitNeed.OCCASIONAL)]
        )
    ]
    return build_cells(asks, gps, policy, None, DistanceCache(bundled_reference()))[1]


def test_a_table_is_reused_across_capacities_and_statuses(voironnais: Policy) -> None:
    routing.clear_cell_caches()
    gps = _gps()
    first = routing._physician_table(gps, voironnais, bundled_reference())
    changed = [
        attrs.evolve(gps[0], monthly_capacity=0, name="Dr A bis"),
        attrs.evolve(gps[1], accepting_new_patients=False),
    ]
    assert routing._physician_table(changed, voironnais, bundled_reference()) is first
    assert _cells(voironnais, changed) == _cells(voironnais, gps)


@pytest.mark.parametrize(
    "change",
    [
        lambda p: attrs.evolve(p, commune=VOREPPE),
        lambda p: attrs.evolve(p, location=mt_access.Point(45.30, 5.60)),
        lambda p: attrs.evolve(p, modalities=BOTH),
        lambda p: attrs.evolve(p, accepted_communes=frozenset({VOREPPE})),
        lambda p: attrs.evolve(p, id="C"),
    ],
    ids=["commune", "location", "modalities", "accepted communes", "id"],
)
def test_a_change_of_what_eligibility_reads_makes_a_new_table(voironnais: Policy, change) -> None:  # type: ignore[no-untyped-def]
    """Each change gives a new table and the cells a table worked out from scratch gives."""
    gps = _gps()
    _cells(voironnais, gps)  # the table of the unchanged GPs is kept
    table = routing._physician_table(gps, voironnais, bundled_reference())
    moved = [change(gps[0]), gps[1]]
    assert routing._physician_table(moved, voironnais, bundled_reference()) is not table
    fresh = _cells(voironnais, moved)
    routing.clear_cell_caches()
    assert fresh == _cells(voironnais, moved)
    if moved[0].id == "A":  # a new id alone gives the same cells
        assert fresh != _cells(voironnais, gps)


def test_the_policys_default_communes_are_part_of_the_key(voironnais: Policy) -> None:
    gps = [attrs.evolve(p, accepted_communes=frozenset()) for p in _gps()]
    territory = _cells(voironnais, gps)
    practice = attrs.evolve(voironnais, default_accepted_communes="practice_commune")
    assert _cells(practice, gps) != territory
    assert _cells(voironnais, gps) == territory


def test_the_tables_kept_are_bounded(voironnais: Policy) -> None:
    routing.clear_cell_caches()
    for k in range(routing.TABLE_CACHE_SIZE + 3):
        gps = [attrs.evolve(p, id=f"{p.id}{k}") for p in _gps()]
        routing._physician_table(gps, voironnais, bundled_reference())
    assert len(routing._tables) == routing.TABLE_CACHE_SIZE


def test_among_must_hold_the_physicians_in_order(voironnais: Policy) -> None:
    """Physicians that are not a subsequence of ``among`` (same objects, same order): the
    table is built on them, not on ``among``."""
    gps = _gps()
    cells = _cells(voironnais, gps)
    assert routing._places_in(gps[::-1], gps) is None
    places = routing._places_in([*gps, gps[0]], gps[1:])
    assert places is not None
    assert places.tolist() == [-1, 0, -1]
    asks = [
        mt_access.Request(
            id="R0",
            received=ON,
            patient=mt_access.Patient(birth_date=ON.replace(year=1980), commune=VOIRON),
        )
    ]
    found = build_cells(
        asks, gps, voironnais, None, DistanceCache(bundled_reference()), among=gps[::-1]
    )
    assert found[1][0] == cells[0]


def test_an_unknown_commune_still_names_the_request(voironnais: Policy) -> None:
    ask = mt_access.Request(
        id="R-X",
        received=ON,
        patient=mt_access.Patient(birth_date=ON.replace(year=1980), commune="97501"),
    )
    for _ in range(2):  # not cached as a result
        with pytest.raises(MatchInputError, match="demande R-X"):
            build_cells([ask], _gps(), voironnais, None, DistanceCache(bundled_reference()))
