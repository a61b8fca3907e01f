"""A territory: the union of some communes of a :class:`~mt_access.geo.shapes.CommuneShapes`."""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import shapely

from mt_access.errors import ReferenceDataError
from mt_access.geo.distance import geodesic_km_many
from mt_access.geo.frozen import Frozen
from mt_access.geo.outline import FloatArray, Geometry, coordinates, listed_codes, union_all
from mt_access.geo.point import Point

if TYPE_CHECKING:
    from mt_access.geo.shapes import CommuneShapes

__all__ = ["Territory"]


# Degrees to radians, for the local equirectangular projection in which Territory finds the
# nearest point of its outline (the distances themselves are geodesic).
_DEG = math.pi / 180.0


# -- Territory --------------------------------------------------------------------------------


class Territory(Frozen):
    """The union of some communes of a :class:`CommuneShapes`: a CPTS territory.

    A point on the outline is in the territory. The outline may be a ``MultiPolygon`` (for
    a territory in several pieces) and may have holes (a commune enclosed by the territory
    but not part of it).
    """

    __slots__ = ("_adjacent", "_codes", "_outline", "_projected", "_scale", "_shapes")

    _shapes: CommuneShapes
    _codes: tuple[str, ...]
    _outline: Geometry
    _adjacent: tuple[str, ...] | None
    _projected: Geometry
    _scale: float

    def __init__(self, shapes: CommuneShapes, insee_codes: Iterable[str]) -> None:
        if isinstance(insee_codes, str):
            raise TypeError(
                f"insee_codes attend une séquence de codes INSEE, pas une chaîne : {insee_codes!r}"
            )
        outlines = {outline.insee: outline for outline in map(shapes.get, insee_codes)}
        if not outlines:
            raise ReferenceDataError("territoire : au moins une commune attendue, aucune reçue")
        codes = tuple(sorted(outlines))
        outline = union_all(outlines[code].geometry for code in codes)
        shapely.prepare(outline)
        min_lat, max_lat = shapely.bounds(outline)[[1, 3]]
        scale = math.cos((float(min_lat) + float(max_lat)) / 2.0 * _DEG)
        projected = shapely.transform(outline, lambda xy: xy * np.array([scale, 1.0]))
        setattr_ = object.__setattr__
        setattr_(self, "_shapes", shapes)
        setattr_(self, "_codes", codes)
        setattr_(self, "_outline", outline)
        setattr_(self, "_adjacent", None)  # computed on first use
        setattr_(self, "_projected", projected)
        setattr_(self, "_scale", scale)

    def __repr__(self) -> str:
        return f"<Territory: {len(self._codes)} communes ({listed_codes(self._codes)})>"

    @property
    def shapes(self) -> CommuneShapes:
        """The outlines the territory was built from."""
        return self._shapes

    @property
    def insee_codes(self) -> tuple[str, ...]:
        """The communes of the territory, sorted by INSEE code."""
        return self._codes

    @property
    def outline(self) -> Geometry:
        """The union of the communes' outlines (prepared ``Polygon`` or ``MultiPolygon``)."""
        return self._outline

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """``(min_lon, min_lat, max_lon, max_lat)`` of the outline."""
        bounds = shapely.bounds(self._outline)
        return (float(bounds[0]), float(bounds[1]), float(bounds[2]), float(bounds[3]))

    def contains(self, point: Point) -> bool:
        """Tell whether ``point`` lies in the territory (inside or on its outline)."""
        return bool(shapely.intersects_xy(self._outline, point.lon, point.lat))

    def contains_many(self, lats: npt.ArrayLike, lons: npt.ArrayLike) -> npt.NDArray[np.bool_]:
        """Tell, for each point, whether it lies in the territory (inside or on its outline).

        ``lats`` and ``lons`` broadcast together; the result has their broadcast shape. A
        coordinate that is not a finite number gives ``False``.
        """
        lat, lon, shape = coordinates(lats, lons)
        inside = np.asarray(shapely.intersects_xy(self._outline, lon, lat), dtype=np.bool_)
        return inside.reshape(shape)

    def adjacent_communes(self) -> tuple[str, ...]:
        """Return the communes of :attr:`shapes` that touch the territory but are not in it.

        Sorted INSEE codes. A commune touching the territory at a single point counts.
        Only the communes of :attr:`shapes` are considered: for a territory on the edge of a
        département, merge in the neighbouring département's outlines
        (:meth:`CommuneShapes.merged`) to get its communes too.
        """
        adjacent = self._adjacent
        if adjacent is None:
            shapes = self._shapes
            hits = shapes._strtree().query(self._outline, predicate="intersects")
            members = set(self._codes)
            adjacent = tuple(
                code for code in sorted(str(shapes._codes[i]) for i in hits) if code not in members
            )
            object.__setattr__(self, "_adjacent", adjacent)
        return adjacent

    def distance_km(self, point: Point) -> float:
        """Return the distance in km from ``point`` to the territory (0.0 in it)."""
        return float(self.distance_km_many(point.lat, point.lon).item())

    def distance_km_many(self, lats: npt.ArrayLike, lons: npt.ArrayLike) -> FloatArray:
        """Return the distance in km from each point to the territory (0.0 in it).

        The nearest point of the outline is found in a local equirectangular projection
        (longitudes scaled by the cosine of the territory's middle latitude), then the
        distance to it is geodesic (WGS84, :func:`~mt_access.geo.distance.geodesic_km_many`).
        Meant for points up to some tens of km away: farther, the nearest point found may
        not be the true nearest and the distance may be slightly too long. ``nan`` where a
        coordinate is not a finite number.
        """
        lat, lon, shape = coordinates(lats, lons)
        distances = np.full(lat.shape, np.nan)
        finite = np.isfinite(lat) & np.isfinite(lon)
        inside = np.zeros(lat.shape, dtype=np.bool_)
        inside[finite] = shapely.intersects_xy(self._outline, lon[finite], lat[finite])
        distances[inside] = 0.0
        outside = np.flatnonzero(finite & ~inside)
        if outside.size:
            points = shapely.points(lon[outside] * self._scale, lat[outside])
            lines = shapely.shortest_line(self._projected, points)
            nearest = shapely.get_coordinates(lines).reshape(-1, 2, 2)[:, 0, :]
            distances[outside] = geodesic_km_many(
                lat[outside], lon[outside], nearest[:, 1], nearest[:, 0] / self._scale
            )
        return distances.reshape(shape)

    def within_km_of_border(
        self, lats: npt.ArrayLike, lons: npt.ArrayLike, km: float
    ) -> npt.NDArray[np.bool_]:
        """Tell, for each point, whether it lies just outside the territory: not in it, and at
        most ``km`` from its outline (e.g. a GP whose office is across the border).

        Distances as :meth:`distance_km_many`. ``False`` for points in the territory and for
        coordinates that are not finite numbers.

        Raises:
            ValueError: ``km`` is not a finite number ≥ 0.
        """
        real = isinstance(km, numbers.Real) and not isinstance(km, bool | np.bool_)
        limit = float(km) if real else math.nan
        if not (math.isfinite(limit) and limit >= 0.0):
            raise ValueError(f"km : distance finie positive ou nulle attendue, reçu {km!r}")
        distances = self.distance_km_many(lats, lons)
        with np.errstate(invalid="ignore"):
            return np.asarray((distances > 0.0) & (distances <= limit), dtype=np.bool_)
