"""Geodesic distances on the WGS84 ellipsoid.

- :func:`geodesic_km` is the reference: :func:`geopy.distance.geodesic` (Karney's algorithm).
- :func:`geodesic_km_many` is a vectorised Vincenty inverse in numpy, within a millimetre of
  the reference; the pairs where Vincenty's iteration does not converge (nearly antipodal
  points) are handed to geopy.
- :class:`DistanceCache` memoises distances between communes and between points, and computes
  them all with :func:`geodesic_km_many`, so that a distance is the same float whichever
  method asked for it first.

:func:`geodesic_km_many` is symmetric to the last bit (each pair is put in a canonical order
before computing) and computes each pair on its own, so the distance of a pair does not depend
on the other pairs of the call.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from geopy.distance import geodesic

from mt_access.geo.communes import CommuneReference
from mt_access.geo.point import Point

__all__ = ["DistanceCache", "geodesic_km", "geodesic_km_many"]

# WGS84 ellipsoid.
_A = 6378137.0
_F = 1 / 298.257223563
_B = (1 - _F) * _A
_EP2 = (_A * _A - _B * _B) / (_B * _B)

_TOLERANCE = 1e-12  # on lambda, radians: a few micrometres
_MAX_ITERATIONS = 200


def geodesic_km(a: Point, b: Point) -> float:
    """Return the geodesic distance in km between two points (geopy, WGS84): the reference."""
    return float(geodesic((a.lat, a.lon), (b.lat, b.lon), ellipsoid="WGS-84").km)


def _geopy_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    return float(geodesic((lat1, lon1), (lat2, lon2), ellipsoid="WGS-84").km)


def geodesic_km_many(
    lat1: npt.ArrayLike, lon1: npt.ArrayLike, lat2: npt.ArrayLike, lon2: npt.ArrayLike
) -> npt.NDArray[np.float64]:
    """Return the geodesic distances in km between points 1 and points 2 (degrees, WGS84).

    The four arguments broadcast together like numpy arrays (e.g. one origin against an array
    of destinations); the result has the broadcast shape (a 0-d array for four scalars).
    Vincenty's inverse formula, iterated until convergence; the pairs that do not converge
    (nearly antipodal points) are computed by geopy. Agrees with :func:`geodesic_km` to
    better than a millimetre.

    Raises:
        ValueError: a latitude is outside [-90, 90] or a coordinate is not finite.
    """
    arrays = [np.asarray(x, dtype=np.float64) for x in (lat1, lon1, lat2, lon2)]
    shape = arrays[0].shape
    if any(x.shape != shape for x in arrays):
        arrays = list(np.broadcast_arrays(*arrays))
        shape = arrays[0].shape
    la1, lo1, la2, lo2 = (x.ravel() for x in arrays)
    if np.count_nonzero(~(np.isfinite(lo1) & np.isfinite(lo2))):
        raise ValueError("longitude non finie : des degrés décimaux WGS84 sont attendus")
    if np.count_nonzero(~((np.abs(la1) <= 90.0) & (np.abs(la2) <= 90.0))):  # also NaN
        raise ValueError("latitude hors de [-90, 90] ou non finie : degrés WGS84 attendus")
    # Canonical order of each pair (lexicographic on (lat, lon)) makes the result symmetric.
    swap = (la1 > la2) | ((la1 == la2) & (lo1 > lo2))
    if np.count_nonzero(swap):
        la1, lo1, la2, lo2 = la1.copy(), lo1.copy(), la2.copy(), lo2.copy()
        np.copyto(la1, arrays[2].ravel(), where=swap)
        np.copyto(lo1, arrays[3].ravel(), where=swap)
        np.copyto(la2, arrays[0].ravel(), where=swap)
        np.copyto(lo2, arrays[1].ravel(), where=swap)
    return _vincenty_km(la1, lo1, la2, lo2).reshape(shape)


def _vincenty_km(
    lat1: npt.NDArray[np.float64],
    lon1: npt.NDArray[np.float64],
    lat2: npt.NDArray[np.float64],
    lon2: npt.NDArray[np.float64],
) -> npt.NDArray[np.float64]:
    """Vincenty's inverse formula on 1-d arrays; see :func:`geodesic_km_many`.

    Each pair leaves the iteration when it converges, and its final values come from its own
    iterations only, so a pair's result does not depend on the other pairs. Written with few
    numpy calls, since their fixed cost dominates for the small arrays of a routing step.
    """
    phi1, phi2 = np.radians(lat1), np.radians(lat2)
    # Reduced latitudes, from atan2 so that the poles need no special case.
    u1 = np.arctan2((1 - _F) * np.sin(phi1), np.cos(phi1))
    u2 = np.arctan2((1 - _F) * np.sin(phi2), np.cos(phi2))
    sin_u1, cos_u1, sin_u2, cos_u2 = np.sin(u1), np.cos(u1), np.sin(u2), np.cos(u2)
    big_l = np.radians(np.remainder(lon2 - lon1 + 180.0, 360.0) - 180.0)
    cc = cos_u1 * cos_u2
    ss = sin_u1 * sin_u2
    cs = cos_u1 * sin_u2
    sc = sin_u1 * cos_u2

    # Results of each pair's last iteration, filled as pairs converge.
    n = lat1.size
    sin_sigma, cos_sigma, sigma = np.empty(n), np.empty(n), np.empty(n)
    cos2_alpha, cos_2sigma_m = np.empty(n), np.empty(n)
    failed = np.zeros(n, dtype=bool)

    # Work arrays hold only the pairs still iterating.
    index = np.arange(n)
    w_l, w_cu2, w_cc, w_ss, w_cs, w_sc = big_l, cos_u2, cc, ss, cs, sc
    lam = big_l
    for _ in range(_MAX_ITERATIONS):
        if index.size == 0:
            break
        sin_lam, cos_lam = np.sin(lam), np.cos(lam)
        s_sigma = np.hypot(w_cu2 * sin_lam, w_cs - w_sc * cos_lam)
        c_sigma = w_ss + w_cc * cos_lam
        sig = np.arctan2(s_sigma, c_sigma)
        # Coincident points (sin sigma = 0) have a zero numerator: sin alpha = 0.
        coincident = s_sigma == 0.0
        sin_alpha = w_cc * sin_lam / (s_sigma + coincident)
        c2_alpha = 1.0 - sin_alpha * sin_alpha
        # Along the equator (cos² alpha = 0), C and B below are 0: cos 2sigma_m is unused.
        c_2sm = c_sigma - 2.0 * w_ss / (c2_alpha + (c2_alpha == 0.0))
        c = _F / 16.0 * c2_alpha * (4.0 + _F * (4.0 - 3.0 * c2_alpha))
        new_lam = w_l + (1.0 - c) * _F * sin_alpha * (
            sig + c * s_sigma * (c_2sm + c * c_sigma * (2.0 * c_2sm * c_2sm - 1.0))
        )
        bad = ~(np.abs(new_lam) <= math.pi)  # diverging (nearly antipodal), or NaN
        done = bad | coincident | (np.abs(new_lam - lam) <= _TOLERANCE)
        if np.count_nonzero(done):
            finished = index[done]
            sin_sigma[finished] = s_sigma[done]
            cos_sigma[finished] = c_sigma[done]
            sigma[finished] = sig[done]
            cos2_alpha[finished] = c2_alpha[done]
            cos_2sigma_m[finished] = c_2sm[done]
            if np.count_nonzero(bad):
                failed[index[bad]] = True
            keep = ~done
            index = index[keep]
            if index.size == 0:
                break
            w_l, w_cu2, w_cc = w_l[keep], w_cu2[keep], w_cc[keep]
            w_ss, w_cs, w_sc = w_ss[keep], w_cs[keep], w_sc[keep]
            new_lam = new_lam[keep]
        lam = new_lam
    if index.size:  # did not converge within _MAX_ITERATIONS
        failed[index] = True
        sin_sigma[index] = cos_sigma[index] = sigma[index] = 0.0
        cos2_alpha[index] = cos_2sigma_m[index] = 0.0

    u2sq = cos2_alpha * _EP2
    big_a = 1.0 + u2sq / 16384.0 * (4096.0 + u2sq * (-768.0 + u2sq * (320.0 - 175.0 * u2sq)))
    big_b = u2sq / 1024.0 * (256.0 + u2sq * (-128.0 + u2sq * (74.0 - 47.0 * u2sq)))
    c2m2 = cos_2sigma_m * cos_2sigma_m
    delta_sigma = (
        big_b
        * sin_sigma
        * (
            cos_2sigma_m
            + big_b
            / 4.0
            * (
                cos_sigma * (2.0 * c2m2 - 1.0)
                - big_b
                / 6.0
                * cos_2sigma_m
                * (4.0 * sin_sigma * sin_sigma - 3.0)
                * (4.0 * c2m2 - 3.0)
            )
        )
    )
    km: npt.NDArray[np.float64] = (_B / 1000.0) * big_a * (sigma - delta_sigma)
    if np.count_nonzero(failed):
        for i in np.flatnonzero(failed).tolist():
            km[i] = _geopy_km(float(lat1[i]), float(lon1[i]), float(lat2[i]), float(lon2[i]))
    return km


class DistanceCache:
    """Memoised geodesic distances (km) between the communes of a reference and between points.

    Distances are symmetric (``between_communes(a, b) == between_communes(b, a)`` exactly) and
    computed with :func:`geodesic_km_many`, whichever method computes them. The cache grows
    without bound: keep one per run.
    """

    __slots__ = ("_communes", "_points", "_reference", "_rows")

    def __init__(self, reference: CommuneReference) -> None:
        self._reference = reference
        self._communes: dict[tuple[str, str], float] = {}
        self._points: dict[tuple[Point, Point], float] = {}
        self._rows: dict[tuple[float, float], dict[tuple[float, float], float]] = {}

    def __repr__(self) -> str:
        cached = len(self._communes) + len(self._points) + sum(map(len, self._rows.values()))
        return f"<DistanceCache: {cached} distances, {self.reference!r}>"

    @property
    def reference(self) -> CommuneReference:
        """The commune reference the INSEE codes are looked up in."""
        return self._reference

    def between_communes(self, insee_a: str, insee_b: str) -> float:
        """Return the distance in km between the points of two communes (0 for the same one).

        Raises:
            UnknownCommuneError: a code is not in the reference.
            ReferenceDataError: a commune has no coordinates in the reference.
        """
        key = (insee_a, insee_b) if insee_a <= insee_b else (insee_b, insee_a)
        cached = self._communes.get(key)
        if cached is not None:
            return cached
        a = self.reference.get(insee_a).insee
        b = self.reference.get(insee_b).insee
        key = (a, b) if a <= b else (b, a)
        cached = self._communes.get(key)
        if cached is None:
            point_a, point_b = self.reference.point(key[0]), self.reference.point(key[1])
            cached = 0.0 if a == b else _km(point_a, point_b)
            self._communes[key] = cached
        return cached

    def between(self, a: Point, b: Point) -> float:
        """Return the distance in km between two points."""
        key = (a, b) if a <= b else (b, a)
        cached = self._points.get(key)
        if cached is None:
            cached = _km(a, b)
            self._points[key] = cached
        return cached

    def between_many(self, origin: Point, targets: Sequence[Point]) -> npt.NDArray[np.float64]:
        """Return the distances in km from ``origin`` to each of ``targets`` (the same floats
        as :meth:`between`), memoised per origin: the pairs not cached yet are computed in
        one call of :func:`geodesic_km_many`."""
        row = self._rows.get((origin.lat, origin.lon))
        if row is None:
            row = self._rows[(origin.lat, origin.lon)] = {}
        out = np.empty(len(targets), dtype=np.float64)
        missing: list[int] = []
        for k, target in enumerate(targets):
            cached = row.get((target.lat, target.lon))
            if cached is None:
                missing.append(k)
            else:
                out[k] = cached
        if missing:
            lat = [targets[k].lat for k in missing]
            lon = [targets[k].lon for k in missing]
            km = geodesic_km_many(origin.lat, origin.lon, lat, lon).tolist()
            for k, y, x, value in zip(missing, lat, lon, km, strict=True):
                row[(y, x)] = value
                out[k] = value
        return out

    def communes_matrix(
        self, origins: Sequence[str], destinations: Sequence[str]
    ) -> npt.NDArray[np.float64]:
        """Return the distances in km, shape ``(len(origins), len(destinations))``.

        The distances not cached yet are computed in one call of :func:`geodesic_km_many`
        and cached.

        Raises:
            UnknownCommuneError: a code is not in the reference.
            ReferenceDataError: a commune has no coordinates in the reference.
        """
        reference = self.reference
        codes: dict[str, str] = {}
        points: dict[str, Point] = {}
        for code in (*origins, *destinations):
            if code not in codes:
                insee = reference.get(code).insee
                codes[code] = insee
                if insee not in points:
                    points[insee] = reference.point(insee)
        rows = [codes[code] for code in origins]
        cols = [codes[code] for code in destinations]
        cache = self._communes
        missing: dict[tuple[str, str], None] = {}
        for a in rows:
            for b in cols:
                key = (a, b) if a <= b else (b, a)
                if key not in cache and key not in missing:
                    missing[key] = None
        if missing:
            keys = list(missing)
            first = [points[a] for a, _ in keys]
            second = [points[b] for _, b in keys]
            km = geodesic_km_many(
                [p.lat for p in first],
                [p.lon for p in first],
                [p.lat for p in second],
                [p.lon for p in second],
            )
            for key, value in zip(keys, km.tolist(), strict=True):
                cache[key] = 0.0 if key[0] == key[1] else value
        result = np.empty((len(rows), len(cols)), dtype=np.float64)
        for i, a in enumerate(rows):
            result[i, :] = [cache[(a, b) if a <= b else (b, a)] for b in cols]
        return result


def _km(a: Point, b: Point) -> float:
    return float(geodesic_km_many(a.lat, a.lon, b.lat, b.lon))
