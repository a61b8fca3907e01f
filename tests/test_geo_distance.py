"""Tests for :mod:`mt_access.geo.distance`: geopy is the reference for every distance."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from geopy.distance import geodesic
from hypothesis import assume, given
from hypothesis import strategies as st

from mt_access.errors import ReferenceDataError, UnknownCommuneError
from mt_access.geo import (
    Commune,
    CommuneReference,
    DistanceCache,
    Point,
    geodesic_km,
    geodesic_km_many,
)
from mt_access.geo import distance as distance_module

VOIRON, VOREPPE, RIVES, MARQUETTE = "38563", "38565", "38337", "59386"
ONE_METRE_KM = 1e-3

latitudes = st.floats(min_value=-90.0, max_value=90.0, allow_nan=False)
longitudes = st.floats(min_value=-180.0, max_value=180.0, allow_nan=False)
points = st.tuples(latitudes, longitudes)


def geopy_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    return float(geodesic((lat1, lon1), (lat2, lon2), ellipsoid="WGS-84").km)


def near_antipode(draw: st.DrawFn) -> tuple[float, float, float, float]:
    lat, lon = draw(latitudes), draw(longitudes)
    dlat = draw(st.floats(min_value=-1.0, max_value=1.0))
    dlon = draw(st.floats(min_value=-1.0, max_value=1.0))
    lat2 = min(90.0, max(-90.0, -lat + dlat))
    lon2 = ((lon + 180.0 + dlon + 180.0) % 360.0) - 180.0
    return lat, lon, lat2, lon2


@st.composite
def pairs(draw: st.DrawFn) -> tuple[float, float, float, float]:
    kind = draw(st.sampled_from(["any", "any", "near", "antipodal"]))
    if kind == "antipodal":
        return near_antipode(draw)
    lat1, lon1 = draw(points)
    if kind == "near":  # a few km apart, as communes of one CPTS
        dlat = draw(st.floats(min_value=-0.3, max_value=0.3))
        dlon = draw(st.floats(min_value=-0.3, max_value=0.3))
        return lat1, lon1, min(90.0, max(-90.0, lat1 + dlat)), lon1 + dlon
    lat2, lon2 = draw(points)
    return lat1, lon1, lat2, lon2


class CallCounter:
    def __init__(self, function: Callable[..., Any]) -> None:
        self.function = function
        self.calls = 0

    def __call__(self, *args: Any) -> Any:
        self.calls += 1
        return self.function(*args)


# -- geodesic_km ------------------------------------------------------------------------


def test_geodesic_km_between_known_communes(reference: CommuneReference) -> None:
    voiron, marquette = reference.point(VOIRON), reference.point(MARQUETTE)
    expected = geopy_km(45.36270, 5.59146, 50.67670, 3.06434)
    assert geodesic_km(voiron, marquette) == pytest.approx(expected, rel=0.01)
    assert 600 < geodesic_km(voiron, marquette) < 640
    assert geodesic_km(voiron, voiron) == 0.0
    assert geodesic_km(voiron, marquette) == geodesic_km(marquette, voiron)


# -- geodesic_km_many -------------------------------------------------------------------


@given(st.lists(pairs(), min_size=1, max_size=6))
def test_geodesic_km_many_matches_geopy(rows: list[tuple[float, float, float, float]]) -> None:
    lat1, lon1, lat2, lon2 = (np.array(column) for column in zip(*rows, strict=True))
    km = geodesic_km_many(lat1, lon1, lat2, lon2)
    assert km.shape == (len(rows),)
    expected = np.array([geopy_km(*row) for row in rows])
    np.testing.assert_allclose(km, expected, rtol=0, atol=ONE_METRE_KM)
    # Exactly symmetric, and each pair is computed on its own.
    assert np.array_equal(geodesic_km_many(lat2, lon2, lat1, lon1), km)
    assert float(geodesic_km_many(*rows[0])) == km[0]


@given(st.composite(near_antipode)())
def test_geodesic_km_many_nearly_antipodal(row: tuple[float, float, float, float]) -> None:
    assert float(geodesic_km_many(*row)) == pytest.approx(geopy_km(*row), abs=ONE_METRE_KM)


def test_fallback_to_geopy_where_vincenty_does_not_converge(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    counter = CallCounter(distance_module._geopy_km)
    monkeypatch.setattr(distance_module, "_geopy_km", counter)
    # (0, 0) and (0.5, 179.7) are nearly antipodal: Vincenty's iteration diverges.
    lat1 = np.array([0.0, 45.0, 0.0])
    lon1 = np.array([0.0, 5.0, 0.0])
    lat2 = np.array([0.5, 45.1, 0.0])
    lon2 = np.array([179.7, 5.1, 179.9])
    km = geodesic_km_many(lat1, lon1, lat2, lon2)
    assert counter.calls == 2
    expected = [geopy_km(a, b, c, d) for a, b, c, d in zip(lat1, lon1, lat2, lon2, strict=True)]
    np.testing.assert_allclose(km, expected, rtol=0, atol=1e-6)


def test_millimetre_accuracy_on_a_fixed_sample() -> None:
    rng = np.random.default_rng(2026)
    n = 300
    lat1, lat2 = rng.uniform(-90, 90, n), rng.uniform(-90, 90, n)
    lon1, lon2 = rng.uniform(-180, 180, n), rng.uniform(-180, 180, n)
    km = geodesic_km_many(lat1, lon1, lat2, lon2)
    expected = [geopy_km(*row) for row in zip(lat1, lon1, lat2, lon2, strict=True)]
    np.testing.assert_allclose(km, expected, rtol=0, atol=1e-6)  # 1 mm


def test_special_cases() -> None:
    cases = [
        (45.0, 5.0, 45.0, 5.0),  # same point
        (90.0, 0.0, 90.0, 123.0),  # the pole, two longitudes
        (90.0, 0.0, -90.0, 0.0),  # pole to pole
        (0.0, 0.0, 0.0, 90.0),  # along the equator
        (0.0, 0.0, 0.0, 179.0),
        (10.0, 179.9, 10.0, -179.9),  # across the antimeridian
        (10.0, 190.0, 10.0, -170.0),  # same point, longitude beyond 180
    ]
    for row in cases:
        lat1, lon1, lat2, lon2 = row
        expected = geopy_km(lat1, ((lon1 + 180) % 360) - 180, lat2, ((lon2 + 180) % 360) - 180)
        assert float(geodesic_km_many(*row)) == pytest.approx(expected, abs=1e-6), row
    assert float(geodesic_km_many(45.0, 5.0, 45.0, 5.0)) == 0.0


def test_broadcasting() -> None:
    scalar = geodesic_km_many(45.36270, 5.59146, 50.67670, 3.06434)
    assert scalar.shape == ()
    one_to_many = geodesic_km_many(45.0, 5.0, [45.0, 45.1, 46.0], [5.0, 5.1, 6.0])
    assert one_to_many.shape == (3,)
    assert one_to_many[0] == 0.0
    grid = geodesic_km_many([[45.0], [46.0]], [[5.0], [6.0]], [45.0, 46.0, 47.0], 5.5)
    assert grid.shape == (2, 3)
    assert grid.dtype == np.float64
    assert geodesic_km_many([], [], [], []).shape == (0,)
    with pytest.raises(ValueError, match=r"mismatch|broadcast"):
        geodesic_km_many([1.0, 2.0], [1.0, 2.0, 3.0], 0.0, 0.0)


@pytest.mark.parametrize(
    "row",
    [(91.0, 0.0, 0.0, 0.0), (0.0, 0.0, -90.5, 0.0), (float("nan"), 0.0, 0.0, 0.0)],
)
def test_invalid_latitude(row: tuple[float, float, float, float]) -> None:
    with pytest.raises(ValueError, match="latitude"):
        geodesic_km_many(*row)


def test_invalid_longitude() -> None:
    with pytest.raises(ValueError, match="longitude"):
        geodesic_km_many(0.0, float("inf"), 0.0, 0.0)


# -- DistanceCache ----------------------------------------------------------------------


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> CallCounter:
    counter = CallCounter(distance_module.geodesic_km_many)
    monkeypatch.setattr(distance_module, "geodesic_km_many", counter)
    return counter


def test_between_communes(reference: CommuneReference, counted: CallCounter) -> None:
    cache = DistanceCache(reference)
    assert cache.reference is reference
    with pytest.raises(AttributeError):
        cache.reference = reference  # type: ignore[misc]
    km = cache.between_communes(VOIRON, MARQUETTE)
    expected = geodesic_km(reference.point(VOIRON), reference.point(MARQUETTE))
    assert km == pytest.approx(expected, rel=0.01)
    assert km == pytest.approx(expected, abs=1e-6)
    assert counted.calls == 1
    assert cache.between_communes(MARQUETTE, VOIRON) == km  # symmetric, from the cache
    assert cache.between_communes(VOIRON, MARQUETTE) == km
    assert counted.calls == 1
    assert cache.between_communes(VOIRON, VOIRON) == 0.0
    # Paris and its 4th arrondissement share the town hall point.
    assert cache.between_communes("75056", "75104") == 0.0


def test_between_communes_normalises_codes(reference: CommuneReference) -> None:
    cache = DistanceCache(reference)
    assert cache.between_communes("2a004", "2B033") == cache.between_communes("2B033", "2A004")


def test_between_communes_errors(reference: CommuneReference) -> None:
    cache = DistanceCache(reference)
    with pytest.raises(UnknownCommuneError):
        cache.between_communes(VOIRON, "99999")
    with pytest.raises(ReferenceDataError, match="n'a pas de coordonnées"):
        cache.between_communes(VOIRON, "98411")
    with pytest.raises(ReferenceDataError, match="n'a pas de coordonnées"):
        cache.between_communes("98411", "98411")
    with pytest.raises(ReferenceDataError, match="n'a pas de coordonnées"):
        cache.communes_matrix([VOIRON], ["98411"])


def test_between_points(counted: CallCounter, reference: CommuneReference) -> None:
    cache = DistanceCache(reference)
    a, b = Point(45.36270, 5.59146), Point(50.67670, 3.06434)
    km = cache.between(a, b)
    assert km == pytest.approx(geodesic_km(a, b), abs=1e-6)
    assert cache.between(b, a) == km
    assert counted.calls == 1
    assert cache.between(a, a) == 0.0


@given(points, points)
def test_between_is_symmetric(p: tuple[float, float], q: tuple[float, float]) -> None:
    reference = CommuneReference([], vintage="v", source="s")
    a, b = Point(*p), Point(*q)
    first, second = DistanceCache(reference), DistanceCache(reference)
    assert first.between(a, b) == second.between(b, a)
    assume(a != b)
    assert first.between(a, b) == pytest.approx(geodesic_km(a, b), abs=ONE_METRE_KM)


def test_communes_matrix(reference: CommuneReference, counted: CallCounter) -> None:
    cache = DistanceCache(reference)
    origins = [VOIRON, RIVES]
    destinations = [VOREPPE, VOIRON, MARQUETTE]
    matrix = cache.communes_matrix(origins, destinations)
    assert matrix.shape == (2, 3)
    assert matrix.dtype == np.float64
    assert counted.calls == 1  # one vectorised call for the whole matrix
    assert matrix[0, 1] == 0.0
    for i, a in enumerate(origins):
        for j, b in enumerate(destinations):
            assert matrix[i, j] == cache.between_communes(b, a)
            expected = geodesic_km(reference.point(a), reference.point(b))
            assert matrix[i, j] == pytest.approx(expected, abs=1e-6)
    assert counted.calls == 1  # between_communes answered from the cache
    transposed = cache.communes_matrix(destinations, origins)
    assert np.array_equal(transposed, matrix.T)
    assert counted.calls == 1


def test_communes_matrix_does_not_depend_on_call_order(reference: CommuneReference) -> None:
    codes = [c.insee for c in reference.subset(["38563", "38565", "38337", "59386", "2A004"])]
    pairwise = DistanceCache(reference)
    singles = np.array([[pairwise.between_communes(a, b) for b in codes] for a in codes])
    batched = DistanceCache(reference).communes_matrix(codes, codes)
    assert np.array_equal(singles, batched)
    assert np.array_equal(batched, batched.T)
    assert np.all(np.diag(batched) == 0.0)


def test_communes_matrix_empty(reference: CommuneReference) -> None:
    cache = DistanceCache(reference)
    empty: npt.NDArray[np.float64] = cache.communes_matrix([], [VOIRON])
    assert empty.shape == (0, 1)
    assert cache.communes_matrix([VOIRON], []).shape == (1, 0)


def test_cache_on_a_small_reference() -> None:
    voiron = Commune("38563", "Voiron", "commune", "38", ("38500",), 1, Point(45.3627, 5.59146))
    nowhere = Commune("98411", "Îles", "commune", "984", (), None, None)
    cache = DistanceCache(CommuneReference([voiron, nowhere], vintage="v", source="s"))
    assert cache.between_communes("38563", "38563") == 0.0
    with pytest.raises(ReferenceDataError):
        cache.between_communes("38563", "98411")
