"""Tests for :mod:`mt_access.geo.nearest`: brute-force geodesic answers are the reference."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mt_access.errors import MatchInputError
from mt_access.geo import CommuneReference, geodesic_km_many
from mt_access.geo import nearest as nearest_module
from mt_access.geo.nearest import HAVERSINE_RADIUS_KM, KNearest, haversine_km_many, k_nearest

# Metropolitan France, Corsica included.
LAT_MIN, LAT_MAX = 41.3, 51.1
LON_MIN, LON_MAX = -5.2, 9.6

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


def brute_force(
    o_lat: FloatArray,
    o_lon: FloatArray,
    t_lat: FloatArray,
    t_lon: FloatArray,
    k: int,
    mask: BoolArray | None = None,
    max_km: float | None = None,
) -> tuple[IntArray, FloatArray]:
    """Every pair by geodesic_km_many; ``mask`` is ``[n_origins, n_targets]``."""
    n, m = o_lat.size, t_lat.size
    indices = np.full((n, k), -1, dtype=np.int64)
    distances = np.full((n, k), np.inf)
    for i in range(n):
        km = np.asarray(geodesic_km_many(o_lat[i], o_lon[i], t_lat, t_lon), dtype=np.float64)
        keep = np.ones(m, dtype=bool) if mask is None else mask[i].copy()
        if max_km is not None:
            keep &= km <= max_km
        candidates = np.flatnonzero(keep)
        order = candidates[np.argsort(km[candidates], kind="stable")][:k]  # ties: index
        indices[i, : order.size] = order
        distances[i, : order.size] = km[order]
    return indices, distances


def assert_same(result: KNearest, expected: tuple[IntArray, FloatArray]) -> None:
    assert result.indices.dtype == np.int64
    assert result.distances_km.dtype == np.float64
    np.testing.assert_array_equal(result.indices, expected[0])
    np.testing.assert_array_equal(result.distances_km, expected[1])


# -- strategies -------------------------------------------------------------------------------

france_lats = st.floats(min_value=LAT_MIN, max_value=LAT_MAX)
france_lons = st.floats(min_value=LON_MIN, max_value=LON_MAX)


@st.composite
def nearest_cases(draw: st.DrawFn) -> dict[str, object]:
    """Origins and targets in France, drawn partly from a small pool of points (ties,
    co-located origins and targets), with groups, an eligibility matrix and max_km."""
    pool = draw(st.lists(st.tuples(france_lats, france_lons), min_size=1, max_size=6))
    # A cluster a few km wide, so that distances of a few metres to a few km occur too.
    centre = draw(st.tuples(france_lats, france_lons))
    near = st.tuples(
        st.floats(min_value=centre[0] - 0.05, max_value=centre[0] + 0.05),
        st.floats(min_value=centre[1] - 0.05, max_value=centre[1] + 0.05),
    )
    point = st.one_of(st.sampled_from(pool), st.tuples(france_lats, france_lons), near)
    origins = draw(st.lists(point, min_size=0, max_size=25))
    targets = draw(st.lists(point, min_size=0, max_size=25))
    n_groups = draw(st.integers(min_value=1, max_value=4))
    group = np.array(
        [draw(st.integers(min_value=0, max_value=n_groups - 1)) for _ in origins], dtype=np.int64
    )
    density = draw(st.sampled_from([0.0, 0.2, 0.8, 1.0]))
    seed = draw(st.integers(min_value=0, max_value=2**32 - 1))
    matrix = np.random.default_rng(seed).random((n_groups, len(targets))) < density
    return {
        "o_lat": np.array([p[0] for p in origins], dtype=np.float64),
        "o_lon": np.array([p[1] for p in origins], dtype=np.float64),
        "t_lat": np.array([p[0] for p in targets], dtype=np.float64),
        "t_lon": np.array([p[1] for p in targets], dtype=np.float64),
        "group": group,
        "matrix": matrix,
        "k": draw(st.integers(min_value=0, max_value=8)),
        "max_km": draw(st.one_of(st.none(), st.floats(min_value=0.0, max_value=400.0))),
        "form": draw(st.sampled_from(["none", "matrix", "function", "rows", "mask"])),
    }


# -- k_nearest against brute force ------------------------------------------------------------


@given(nearest_cases())
def test_k_nearest_equals_brute_force(case: dict[str, object]) -> None:
    o_lat, o_lon = case["o_lat"], case["o_lon"]
    t_lat, t_lon = case["t_lat"], case["t_lon"]
    group, matrix = case["group"], case["matrix"]
    k, max_km, form = case["k"], case["max_km"], case["form"]
    assert isinstance(o_lat, np.ndarray)
    assert isinstance(o_lon, np.ndarray)
    assert isinstance(t_lat, np.ndarray)
    assert isinstance(t_lon, np.ndarray)
    assert isinstance(group, np.ndarray)
    assert isinstance(matrix, np.ndarray)
    assert isinstance(k, int)
    assert max_km is None or isinstance(max_km, float)

    calls: list[tuple[int, int]] = []

    def function(groups: IntArray, targets: IntArray) -> BoolArray:
        calls.append((groups.size, targets.size))
        result: BoolArray = matrix[groups[:, None], targets[None, :]]
        return result

    if form == "none":
        result = k_nearest(o_lat, o_lon, t_lat, t_lon, k, max_km=max_km)
        mask = None
    elif form == "matrix":
        result = k_nearest(
            o_lat, o_lon, t_lat, t_lon, k, eligible=matrix, origin_group=group, max_km=max_km
        )
        mask = matrix[group]
    elif form == "function":
        result = k_nearest(
            o_lat, o_lon, t_lat, t_lon, k, eligible=function, origin_group=group, max_km=max_km
        )
        mask = matrix[group]
    elif form == "rows":  # one row per origin, no origin_group
        result = k_nearest(o_lat, o_lon, t_lat, t_lon, k, eligible=matrix[group], max_km=max_km)
        mask = matrix[group]
    else:  # one mask for every origin
        result = k_nearest(o_lat, o_lon, t_lat, t_lon, k, eligible=matrix[0], max_km=max_km)
        mask = np.broadcast_to(matrix[0], (o_lat.size, t_lat.size))
    assert_same(result, brute_force(o_lat, o_lon, t_lat, t_lon, k, mask, max_km))


@pytest.mark.parametrize("seed", range(6))
def test_k_nearest_many_leaves(seed: int) -> None:
    """Hundreds of distinct origins (several leaves, several radius doublings): clustered
    points as communes are, sparse eligibility (as GPs accepting nearby communes only)."""
    rng = np.random.default_rng(seed)
    centres_lat = rng.uniform(LAT_MIN, LAT_MAX, 8)
    centres_lon = rng.uniform(LON_MIN, LON_MAX, 8)

    def clustered(size: int) -> tuple[FloatArray, FloatArray]:
        which = rng.integers(0, 8, size)
        spread = rng.choice([0.0, 0.02, 0.3], size)
        return (
            centres_lat[which] + rng.normal(0.0, 1.0, size) * spread,
            centres_lon[which] + rng.normal(0.0, 1.0, size) * spread,
        )

    o_lat, o_lon = clustered(400)
    t_lat, t_lon = clustered(150)
    n_groups = 30
    group = rng.integers(0, n_groups, o_lat.size)
    matrix = rng.random((n_groups, t_lat.size)) < rng.choice([0.02, 0.3, 0.9], (n_groups, 1))
    k = int(rng.integers(1, 6))
    max_km = [None, 25.0, 150.0][seed % 3]
    result = k_nearest(
        o_lat, o_lon, t_lat, t_lon, k, eligible=matrix, origin_group=group, max_km=max_km
    )
    assert_same(result, brute_force(o_lat, o_lon, t_lat, t_lon, k, matrix[group], max_km))
    plain = k_nearest(o_lat, o_lon, t_lat, t_lon, k, max_km=max_km)
    assert_same(plain, brute_force(o_lat, o_lon, t_lat, t_lon, k, None, max_km))


def test_k_nearest_whole_globe() -> None:
    """Nothing is specific to France: poles, the antimeridian, nearly antipodal pairs."""
    rng = np.random.default_rng(7)
    o_lat = np.concatenate([rng.uniform(-90, 90, 60), [90.0, -90.0, 0.0, 0.0]])
    o_lon = np.concatenate([rng.uniform(-180, 180, 60), [0.0, 0.0, 179.999, -180.0]])
    t_lat = np.concatenate([rng.uniform(-90, 90, 40), [89.9, 0.0, 0.0, -0.5]])
    t_lon = np.concatenate([rng.uniform(-180, 180, 40), [45.0, -179.999, 180.0, 0.2]])
    for k in (1, 3, 50):
        assert_same(
            k_nearest(o_lat, o_lon, t_lat, t_lon, k), brute_force(o_lat, o_lon, t_lat, t_lon, k)
        )


def test_ties_broken_by_target_index() -> None:
    # Three GPs in the same practice, one elsewhere at the same distance as... itself.
    t_lat = np.array([45.3, 45.36, 45.36, 45.36, 45.42])
    t_lon = np.array([5.59, 5.59, 5.59, 5.59, 5.59])
    result = k_nearest([45.36], [5.59], t_lat, t_lon, 4)
    assert result.indices.tolist() == [[1, 2, 3, 0]]
    assert result.distances_km[0, :3].tolist() == [0.0, 0.0, 0.0]
    # Two targets symmetric about the origin's parallel are at exactly the same distance.
    result = k_nearest([45.0], [5.0], [45.0, 45.0, 45.0], [5.1, 4.9, 5.1], 3)
    assert result.indices.tolist() == [[0, 1, 2]]
    assert result.distances_km[0, 0] == result.distances_km[0, 1] == result.distances_km[0, 2]


def test_padding_when_fewer_than_k_eligible() -> None:
    t_lat = np.array([45.0, 45.1, 45.2, 45.3])
    t_lon = np.array([5.0, 5.0, 5.0, 5.0])
    matrix = np.array([[True, False, True, False], [False, False, False, False]])
    result = k_nearest(
        [45.0, 45.0, 45.05],
        [5.0, 5.0, 5.0],
        t_lat,
        t_lon,
        5,
        eligible=matrix,
        origin_group=[0, 1, 0],
    )
    assert result.indices.tolist() == [[0, 2, -1, -1, -1], [-1] * 5, [0, 2, -1, -1, -1]]
    assert np.isinf(result.distances_km[0, 2:]).all()
    assert np.isinf(result.distances_km[1]).all()
    # max_km drops the farther eligible target; k larger than the number of targets.
    result = k_nearest([45.0], [5.0], t_lat, t_lon, 10, max_km=12.0)
    assert result.indices.tolist() == [[0, 1] + [-1] * 8]


def test_max_km_is_inclusive_and_geodesic() -> None:
    km = float(geodesic_km_many(45.0, 5.0, 45.1, 5.0))
    assert k_nearest([45.0], [5.0], [45.1], [5.0], 1, max_km=km).indices.tolist() == [[0]]
    below = math.nextafter(km, 0.0)
    assert k_nearest([45.0], [5.0], [45.1], [5.0], 1, max_km=below).indices.tolist() == [[-1]]
    assert k_nearest([45.0], [5.0], [45.0], [5.0], 1, max_km=0.0).indices.tolist() == [[0]]
    result = k_nearest([45.0], [5.0], [45.1], [5.0], 1, max_km=math.inf)
    assert result.indices.tolist() == [[0]]


def test_empty_inputs_and_zero_k() -> None:
    result = k_nearest([], [], [45.0], [5.0], 3)
    assert result.indices.shape == (0, 3)
    assert result.distances_km.shape == (0, 3)
    result = k_nearest([45.0, 46.0], [5.0, 5.0], [], [], 2)
    assert result.indices.tolist() == [[-1, -1], [-1, -1]]
    assert result.distances_km.shape == (2, 2)
    result = k_nearest([45.0], [5.0], [45.0], [5.0], 0)
    assert result.indices.shape == (1, 0)


def test_same_origins_share_work_but_keep_their_rows() -> None:
    calls: list[int] = []

    def function(groups: IntArray, targets: IntArray) -> BoolArray:
        calls.append(groups.size)
        return np.broadcast_to(
            (targets % 2 == 0)[None, :] == (groups[:, None] == 0), (groups.size, targets.size)
        ).copy()

    o_lat = np.full(1000, 45.0)
    o_lon = np.full(1000, 5.0)
    group = np.arange(1000) % 2
    t_lat = np.linspace(45.0, 45.5, 10)
    t_lon = np.full(10, 5.0)
    result = k_nearest(o_lat, o_lon, t_lat, t_lon, 2, eligible=function, origin_group=group)
    assert sum(calls) <= 2 * 8  # two distinct queries (a few radius doublings at most)
    assert result.indices[0].tolist() == [0, 2]
    assert result.indices[1].tolist() == [1, 3]
    assert (result.indices[::2] == [0, 2]).all()
    assert (result.indices[1::2] == [1, 3]).all()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"k": -1}, "k :"),
        ({"k": 1.5}, "k :"),
        ({"k": True}, "k :"),
        ({"max_km": -1.0}, "max_km"),
        ({"max_km": math.nan}, "max_km"),
        ({"max_km": "far"}, "max_km"),
        ({"eligible": np.ones(3, dtype=bool)}, "eligible"),
        ({"eligible": np.ones((2, 2), dtype=int)}, "booléen"),
        ({"eligible": np.ones((3, 2), dtype=bool)}, "une ligne par origine"),
        ({"eligible": np.ones((1, 2), dtype=bool), "origin_group": [0, 1]}, "hors de"),
        ({"origin_group": [0]}, "origin_group"),
        ({"origin_group": [0.0, 1.0]}, "origin_group"),
        ({"origin_group": [0, -1]}, "positifs"),
        ({"eligible": lambda g, t: np.ones((1, 1), dtype=bool)}, "forme"),
    ],
)
def test_invalid_arguments(kwargs: dict[str, object], message: str) -> None:
    arguments: dict[str, object] = {"k": 1, **kwargs}
    with pytest.raises(MatchInputError, match=message):
        k_nearest([45.0, 46.0], [5.0, 5.0], [45.0, 45.5], [5.0, 5.0], **arguments)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("o_lat", "o_lon", "t_lat", "t_lon"),
    [
        ([91.0], [5.0], [45.0], [5.0]),
        ([45.0], [math.nan], [45.0], [5.0]),
        ([45.0], [5.0], [math.nan], [5.0]),
        ([45.0], [5.0], [45.0], [math.inf]),
        ([45.0, 46.0], [5.0], [45.0], [5.0]),
        ([[45.0]], [[5.0]], [45.0], [5.0]),
        (["a"], [5.0], [45.0], [5.0]),
    ],
)
def test_invalid_coordinates(
    o_lat: list[object], o_lon: list[object], t_lat: list[object], t_lon: list[object]
) -> None:
    with pytest.raises(MatchInputError):
        k_nearest(o_lat, o_lon, t_lat, t_lon, 1)  # type: ignore[arg-type]


def test_k_nearest_on_communes(reference: CommuneReference) -> None:
    """Real commune points of the Nord (GPs share their commune's point)."""
    communes = [c for c in reference if c.department == "59" and c.point is not None]
    rng = np.random.default_rng(59)
    lat = np.array([c.point.lat for c in communes if c.point is not None])
    lon = np.array([c.point.lon for c in communes if c.point is not None])
    gp = rng.integers(0, lat.size, 300)
    origins = rng.integers(0, lat.size, 200)
    group = rng.integers(0, 5, origins.size)
    matrix = rng.random((5, gp.size)) < 0.5
    result = k_nearest(
        lat[origins],
        lon[origins],
        lat[gp],
        lon[gp],
        3,
        eligible=matrix,
        origin_group=group,
        max_km=15.0,
    )
    expected = brute_force(lat[origins], lon[origins], lat[gp], lon[gp], 3, matrix[group], 15.0)
    assert_same(result, expected)


def test_origins_grouped_when_hashes_collide(monkeypatch: pytest.MonkeyPatch) -> None:
    """Origins are grouped by a hash of their coordinates; a collision falls back to a sort."""
    rng = np.random.default_rng(3)
    pool_lat, pool_lon = rng.uniform(45.0, 46.0, 20), rng.uniform(4.0, 6.0, 20)
    pick = rng.integers(0, 20, 300)
    o_lat, o_lon = pool_lat[pick], pool_lon[pick]
    t_lat, t_lon = rng.uniform(45.0, 46.0, 50), rng.uniform(4.0, 6.0, 50)
    group = rng.integers(0, 3, 300)
    matrix = rng.random((3, 50)) < 0.5
    expected = k_nearest(o_lat, o_lon, t_lat, t_lon, 4, eligible=matrix, origin_group=group)
    assert_same(expected, brute_force(o_lat, o_lon, t_lat, t_lon, 4, matrix[group]))

    def colliding(columns: tuple[npt.NDArray[np.generic], ...]) -> npt.NDArray[np.uint64]:
        return np.zeros(columns[0].size, dtype=np.uint64)

    monkeypatch.setattr(nearest_module, "_row_hash", colliding)
    result = k_nearest(o_lat, o_lon, t_lat, t_lon, 4, eligible=matrix, origin_group=group)
    assert_same(result, (expected.indices, expected.distances_km))
    inverse, first = nearest_module._distinct_rows(o_lat, o_lon, group)
    assert first.size == len(set(zip(o_lat.tolist(), o_lon.tolist(), group.tolist(), strict=True)))
    np.testing.assert_array_equal(o_lat[first][inverse], o_lat)
    np.testing.assert_array_equal(group[first][inverse], group)


# -- haversine --------------------------------------------------------------------------------


@st.composite
def france_pairs_1_to_200_km(draw: st.DrawFn) -> tuple[float, float, float, float]:
    lat, lon = draw(france_lats), draw(france_lons)
    km = draw(st.floats(min_value=1.0, max_value=200.0))
    azimuth = draw(st.floats(min_value=0.0, max_value=2 * math.pi))
    lat2 = lat + km * math.cos(azimuth) / 111.0
    lon2 = lon + km * math.sin(azimuth) / (111.0 * math.cos(math.radians(lat)))
    return lat, lon, lat2, lon2


@given(france_pairs_1_to_200_km())
def test_haversine_within_half_a_percent_of_geodesic(
    pair: tuple[float, float, float, float],
) -> None:
    reference = float(geodesic_km_many(*pair))
    assert abs(float(haversine_km_many(*pair)) / reference - 1.0) <= 0.005


def test_haversine_error_over_france() -> None:
    """The documented bound (0.23 %) on a dense sample of directions, places and lengths."""
    rng = np.random.default_rng(2026)
    n = 200_000
    lat = rng.uniform(LAT_MIN, LAT_MAX, n)
    lon = rng.uniform(LON_MIN, LON_MAX, n)
    km = rng.uniform(1.0, 200.0, n)
    azimuth = rng.uniform(0.0, 2 * math.pi, n)
    lat2 = lat + km * np.cos(azimuth) / 111.0
    lon2 = lon + km * np.sin(azimuth) / (111.0 * np.cos(np.radians(lat)))
    ratio = haversine_km_many(lat, lon, lat2, lon2) / geodesic_km_many(lat, lon, lat2, lon2)
    assert float(np.max(np.abs(ratio - 1.0))) <= 0.0023
    # The radius is the minimax one: errors of both signs, about equally large.
    assert ratio.min() < 0.998
    assert ratio.max() > 1.002


def test_haversine_bounds_on_the_whole_globe() -> None:
    """Anywhere, the sphere of radius R is within R / N_max and R / M_min of the ellipsoid."""
    rng = np.random.default_rng(11)
    n = 20_000
    lat1, lat2 = rng.uniform(-90.0, 90.0, n), rng.uniform(-90.0, 90.0, n)
    lon1, lon2 = rng.uniform(-180.0, 180.0, n), rng.uniform(-180.0, 180.0, n)
    ratio = haversine_km_many(lat1, lon1, lat2, lon2) / geodesic_km_many(lat1, lon1, lat2, lon2)
    assert ratio.min() >= 1 - 0.0036
    assert ratio.max() <= 1 + 0.0065


def test_haversine_shapes_and_values() -> None:
    assert haversine_km_many(45.0, 5.0, 45.0, 5.0) == 0.0
    quarter = float(haversine_km_many(0.0, 0.0, 0.0, 90.0))
    assert quarter == pytest.approx(HAVERSINE_RADIUS_KM * math.pi / 2)
    assert float(haversine_km_many(0.0, 179.5, 0.0, -179.5)) == pytest.approx(
        HAVERSINE_RADIUS_KM * math.radians(1.0)
    )
    out = haversine_km_many(45.0, 5.0, [45.1, 45.2, 45.3], [5.0, 5.0, 5.0])
    assert out.shape == (3,)
    assert np.all(np.diff(out) > 0)
    with pytest.raises(MatchInputError):
        haversine_km_many(95.0, 5.0, 45.0, 5.0)
    with pytest.raises(MatchInputError):
        haversine_km_many(45.0, math.inf, 45.0, 5.0)
