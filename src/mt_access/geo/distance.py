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
    arrays = np.broadcast_arrays(
        *(np.asarray(x, dtype=np.float64) for x in (lat1, lon1, lat2, lon2))
    )
    shape = arrays[0].shape
    la1, lo1, la2, lo2 = (np.ravel(x) for x in arrays)
    if not (np.isfinite(lo1).all() and np.isfinite(lo2).all()):
        raise ValueError("longitude non finie : des degrés décimaux WGS84 sont attendus")
    for lat in (la1, la2):
        if not ((lat >= -90.0) & (lat <= 90.0)).all():  # also catches NaN
            raise ValueError("latitude hors de [-90, 90] ou non finie : degrés WGS84 attendus")
    # Canonical order of each pair (lexicographic on (lat, lon)) makes the result symmetric.
    swap = (la1 > la2) | ((la1 == la2) & (lo1 > lo2))
    if swap.any():
        la1, la2 = np.where(swap, la2, la1), np.where(swap, la1, la2)
        lo1, lo2 = np.where(swap, lo2, lo1), np.where(swap, lo1, lo2)
    km = _vincenty_km(la1, lo1, la2, lo2)
    return km.reshape(shape)


def _vincenty_km(
    lat1: npt.NDArray[np.float64],
    lon1: npt.NDArray[np.float64],
    lat2: npt.NDArray[np.float64],
    lon2: npt.NDArray[np.float64],
) -> npt.NDArray[np.float64]:
    n = lat1.size
    phi1, phi2 = np.radians(lat1), np.radians(lat2)
    # Reduced latitudes, from atan2 so that the poles need no special case.
    u1 = np.arctan2((1 - _F) * np.sin(phi1), np.cos(phi1))
    u2 = np.arctan2((1 - _F) * np.sin(phi2), np.cos(phi2))
    sin_u1, cos_u1, sin_u2, cos_u2 = np.sin(u1), np.cos(u1), np.sin(u2), np.cos(u2)
    big_l = np.radians(np.remainder(lon2 - lon1 + 180.0, 360.0) - 180.0)

    # Results of each pair's last iteration.
    sin_sigma = np.zeros(n)
    cos_sigma = np.ones(n)
    sigma = np.zeros(n)
    cos2_alpha = np.ones(n)
    cos_2sigma_m = np.zeros(n)
    failed = np.zeros(n, dtype=bool)

    # Work arrays hold only the pairs still iterating; a pair leaves them when it converges,
    # so its values come from its own iterations only.
    index = np.arange(n)
    w_l, w_su1, w_cu1, w_su2, w_cu2 = big_l, sin_u1, cos_u1, sin_u2, cos_u2
    lam = big_l
    for _ in range(_MAX_ITERATIONS):
        if index.size == 0:
            break
        sin_lam, cos_lam = np.sin(lam), np.cos(lam)
        a = w_cu2 * sin_lam
        b = w_cu1 * w_su2 - w_su1 * w_cu2 * cos_lam
        s_sigma = np.sqrt(a * a + b * b)
        c_sigma = w_su1 * w_su2 + w_cu1 * w_cu2 * cos_lam
        sig = np.arctan2(s_sigma, c_sigma)
        coincident = s_sigma == 0.0
        sin_alpha = np.where(
            coincident, 0.0, w_cu1 * w_cu2 * sin_lam / np.where(coincident, 1.0, s_sigma)
        )
        c2_alpha = 1.0 - sin_alpha * sin_alpha
        equatorial = c2_alpha == 0.0
        c_2sm = np.where(
            equatorial,
            0.0,
            c_sigma - 2.0 * w_su1 * w_su2 / np.where(equatorial, 1.0, c2_alpha),
        )
        c = _F / 16.0 * c2_alpha * (4.0 + _F * (4.0 - 3.0 * c2_alpha))
        new_lam = w_l + (1.0 - c) * _F * sin_alpha * (
            sig + c * s_sigma * (c_2sm + c * c_sigma * (-1.0 + 2.0 * c_2sm * c_2sm))
        )
        bad = ~(np.abs(new_lam) <= math.pi)  # diverging (nearly antipodal), or NaN
        done = bad | coincident | (np.abs(new_lam - lam) <= _TOLERANCE)
        if done.any():
            finished = index[done]
            sin_sigma[finished] = s_sigma[done]
            cos_sigma[finished] = c_sigma[done]
            sigma[finished] = sig[done]
            cos2_alpha[finished] = c2_alpha[done]
            cos_2sigma_m[finished] = c_2sm[done]
            failed[index[bad]] = True
            keep = ~done
            index = index[keep]
            w_l, w_su1, w_cu1 = w_l[keep], w_su1[keep], w_cu1[keep]
            w_su2, w_cu2 = w_su2[keep], w_cu2[keep]
            new_lam = new_lam[keep]
        lam = new_lam
    failed[index] = True  # did not converge within _MAX_ITERATIONS

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
                cos_sigma * (-1.0 + 2.0 * c2m2)
                - big_b
                / 6.0
                * cos_2sigma_m
                * (-3.0 + 4.0 * sin_sigma * sin_sigma)
                * (-3.0 + 4.0 * c2m2)
            )
        )
    )
    km: npt.NDArray[np.float64] = _B * big_a * (sigma - delta_sigma) / 1000.0
    for i in np.flatnonzero(failed):
        km[i] = _geopy_km(float(lat1[i]), float(lon1[i]), float(lat2[i]), float(lon2[i]))
    return km


class DistanceCache:
    """Memoised geodesic distances (km) between the communes of a reference and between points.

    Distances are symmetric (``between_communes(a, b) == between_communes(b, a)`` exactly) and
    computed with :func:`geodesic_km_many`, whichever method computes them. The cache grows
    without bound: keep one per run.

    Attributes:
        reference: the commune reference the INSEE codes are looked up in.
    """

    __slots__ = ("_communes", "_points", "reference")

    def __init__(self, reference: CommuneReference) -> None:
        self.reference = reference
        self._communes: dict[tuple[str, str], float] = {}
        self._points: dict[tuple[Point, Point], float] = {}

    def __repr__(self) -> str:
        cached = len(self._communes) + len(self._points)
        return f"<DistanceCache: {cached} distances, {self.reference!r}>"

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
