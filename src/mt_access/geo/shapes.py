"""Commune outlines and territories (shapely 2).

- :class:`CommuneShapes` is an immutable set of commune outlines (polygons or multipolygons,
  WGS84 longitude/latitude) keyed by INSEE code. :func:`bundled_shapes` gives the outlines
  bundled with mt-access (Isère 38 and Nord 59); :meth:`CommuneShapes.from_geojson` reads any
  other département's GeoJSON file with the same properties (``insee``, ``name``).
- :meth:`CommuneShapes.locate` and :meth:`CommuneShapes.locate_many` find the commune of
  points through an :class:`shapely.STRtree` of the outlines and prepared geometries.
- :class:`Territory` is the union of some communes of a :class:`CommuneShapes` (a CPTS
  territory): point-in-territory tests, the communes adjacent to it, distances to it.

A point on a border shared by several communes belongs to each of them for
:meth:`CommuneShapes.contains`; :meth:`CommuneShapes.locate` then picks the lowest INSEE code,
so that the answer never depends on the order of the data. A point on a territory's outline is
in the territory.

The bundled outlines are IGN ADMIN EXPRESS COG 2018 outlines, simplified, brought up to the
COG 2026 commune list (``data/SOURCES.md``, section 3): borders are accurate to some tens of
metres only.
"""

from __future__ import annotations

import functools
import gzip
import importlib.resources
import json
import math
import numbers
import os
import re
import zlib
from collections.abc import Iterable, Iterator
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt
import shapely

from mt_access.errors import ReferenceDataError, UnknownCommuneError
from mt_access.geo.distance import geodesic_km_many
from mt_access.geo.point import Point

__all__ = [
    "BUNDLED_DEPARTMENTS",
    "SHAPES_SOURCE",
    "SHAPES_VINTAGE",
    "CommuneOutline",
    "CommuneShapes",
    "Territory",
    "bundled_shapes",
]

BUNDLED_DEPARTMENTS = ("38", "59")
"""Départements whose commune outlines are bundled with mt-access."""

SHAPES_VINTAGE = (
    "contours IGN ADMIN EXPRESS COG 2018 (simplifiés), liste des communes ramenée au COG 2026"
)
"""Vintage of the bundled outlines, as stated in ``data/SOURCES.md``."""

SHAPES_SOURCE = (
    "IGN, ADMIN EXPRESS COG 2018, via gregoiredavid/france-geojson (Licence Ouverte / Open Licence)"
)
"""Source (producer, distribution and licence) of the bundled outlines."""

_DATA_PACKAGE = "mt_access.geo"
_GEOMETRY_TYPES = ("Polygon", "MultiPolygon")
_INSEE_RE = re.compile(r"(?:[0-9][0-9]|2[AB])[0-9]{3}")
_EXPECTED_FEATURE = (
    "entité GeoJSON de type Feature, avec des propriétés « insee » (code INSEE de 5 caractères, "
    "ex. 38563) et « name » (nom de la commune) et une géométrie Polygon ou MultiPolygon en "
    "WGS84 (longitude, latitude)"
)
_MAX_FOUND = 60
_MAX_LISTED = 10

# Degrees to radians, for the local equirectangular projection in which Territory finds the
# nearest point of its outline (the distances themselves are geodesic).
_DEG = math.pi / 180.0

Geometry = Any
"""A shapely ``Polygon`` or ``MultiPolygon`` (shapely has no type annotations)."""

FloatArray = npt.NDArray[np.float64]


# -- domain values ----------------------------------------------------------------------------


def _check_geometry(_inst: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, shapely.Polygon | shapely.MultiPolygon):
        raise ReferenceDataError(
            f"contour de commune : Polygon ou MultiPolygon shapely attendu, reçu "
            f"{type(value).__name__}"
        )


def _check_insee(_inst: object, attribute: attrs.Attribute[str], value: str) -> None:
    if not isinstance(value, str) or not _INSEE_RE.fullmatch(value):
        raise ReferenceDataError(
            f"contour de commune : code INSEE de 5 caractères attendu (ex. 38563, 2A004), "
            f"reçu {value!r}"
        )


@attrs.frozen
class CommuneOutline:
    """The outline of one commune.

    Attributes:
        insee: INSEE code, 5 characters (``"38563"``).
        name: commune name, as given by the outline file.
        geometry: shapely ``Polygon`` or ``MultiPolygon``, WGS84 (x = longitude,
            y = latitude), valid.
    """

    insee: str = attrs.field(validator=_check_insee)
    name: str
    geometry: Geometry = attrs.field(validator=_check_geometry, repr=False)


# -- helpers ----------------------------------------------------------------------------------


def _normalize_code(code: str) -> str:
    return code.strip().upper()


def _department(insee: str) -> str:
    return insee[:3] if insee.startswith("97") else insee[:2]


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= _MAX_FOUND else text[: _MAX_FOUND - 1] + "…"


def _listed(codes: Iterable[str]) -> str:
    items = list(codes)
    shown = ", ".join(items[:_MAX_LISTED])
    if len(items) > _MAX_LISTED:
        shown += f" et {len(items) - _MAX_LISTED} autre(s)"
    return shown


def _coordinates(
    lats: npt.ArrayLike, lons: npt.ArrayLike
) -> tuple[FloatArray, FloatArray, tuple[int, ...]]:
    """Broadcast ``lats`` and ``lons`` as float arrays; return them flat, and their shape."""
    lat_array = np.asarray(lats, dtype=np.float64)
    lon_array = np.asarray(lons, dtype=np.float64)
    try:
        lat_b, lon_b = np.broadcast_arrays(lat_array, lon_array)
    except ValueError:
        raise ValueError(
            f"latitudes et longitudes de formes incompatibles : {lat_array.shape} et "
            f"{lon_array.shape}"
        ) from None
    shape = tuple(int(n) for n in lat_b.shape)
    return np.ravel(lat_b), np.ravel(lon_b), shape


def _union(geometries: Iterable[Geometry]) -> Geometry:
    return shapely.union_all(np.array(list(geometries), dtype=object))


# -- CommuneShapes ----------------------------------------------------------------------------


class CommuneShapes:
    """An immutable set of commune outlines, keyed by INSEE code.

    Iteration yields :class:`CommuneOutline` sorted by INSEE code; every tuple or array
    returned is sorted by INSEE code too, whatever the order of the input. The outlines are
    expected not to overlap (those of one département's file never do); where they touch, a
    point on the shared border belongs to each of them.
    """

    __slots__ = (
        "_by_insee",
        "_codes",
        "_geometries",
        "_outlines",
        "_source",
        "_tree",
        "_vintage",
    )

    _outlines: tuple[CommuneOutline, ...]
    _by_insee: dict[str, CommuneOutline]
    _codes: npt.NDArray[np.str_]
    _geometries: npt.NDArray[np.object_]
    _tree: Any
    _source: str
    _vintage: str

    def __init__(self, outlines: Iterable[CommuneOutline], *, vintage: str, source: str) -> None:
        """Hold ``outlines``; ``vintage`` and ``source`` describe them (see the properties).

        Raises:
            ReferenceDataError: an item is not a :class:`CommuneOutline`, a code appears
                twice or a geometry is not valid (:func:`shapely.is_valid`).
        """
        by_insee: dict[str, CommuneOutline] = {}
        for outline in outlines:
            if not isinstance(outline, CommuneOutline):
                kind = type(outline).__name__
                raise ReferenceDataError(
                    f"contours de communes : objet CommuneOutline attendu, reçu {kind}"
                )
            previous = by_insee.setdefault(outline.insee, outline)
            if previous is not outline:
                raise ReferenceDataError(
                    f"contours de communes : code INSEE {outline.insee} en double "
                    f"({previous.name!r} et {outline.name!r})"
                )
        ordered = tuple(by_insee[code] for code in sorted(by_insee))
        geometries = np.empty(len(ordered), dtype=object)
        geometries[:] = [outline.geometry for outline in ordered]
        invalid = np.flatnonzero(~shapely.is_valid(geometries))
        if invalid.size:
            first = ordered[int(invalid[0])]
            raise ReferenceDataError(
                f"contours de communes : contour invalide pour {first.name} ({first.insee}) : "
                f"{shapely.is_valid_reason(first.geometry)} ; contour valide attendu "
                f"({invalid.size} contour(s) invalide(s))"
            )
        self._init(ordered, geometries, vintage=vintage, source=source)

    def _init(
        self,
        ordered: tuple[CommuneOutline, ...],
        geometries: npt.NDArray[np.object_],
        *,
        vintage: str,
        source: str,
    ) -> None:
        shapely.prepare(geometries)
        codes = np.array([outline.insee for outline in ordered], dtype="<U5")
        setattr_ = object.__setattr__
        setattr_(self, "_outlines", ordered)
        setattr_(self, "_by_insee", {outline.insee: outline for outline in ordered})
        setattr_(self, "_codes", codes)
        setattr_(self, "_geometries", geometries)
        setattr_(self, "_tree", None)  # built on the first query
        setattr_(self, "_vintage", vintage)
        setattr_(self, "_source", source)

    @classmethod
    def _trusted(
        cls, ordered: tuple[CommuneOutline, ...], *, vintage: str, source: str
    ) -> CommuneShapes:
        """Build from outlines already sorted, unique and valid."""
        shapes = object.__new__(cls)
        geometries = np.empty(len(ordered), dtype=object)
        geometries[:] = [outline.geometry for outline in ordered]
        shapes._init(ordered, geometries, vintage=vintage, source=source)
        return shapes

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"CommuneShapes est immuable : impossible de modifier {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"CommuneShapes est immuable : impossible de supprimer {name!r}")

    def __repr__(self) -> str:
        departments = ", ".join(self.departments) or "-"
        return f"<CommuneShapes: {len(self._outlines)} communes, départements {departments}>"

    # -- properties -------------------------------------------------------------------------

    @property
    def vintage(self) -> str:
        """What the outlines describe and when (e.g. :data:`SHAPES_VINTAGE`)."""
        return self._vintage

    @property
    def source(self) -> str:
        """Where the outlines come from (producers, licences, or the file read)."""
        return self._source

    @property
    def insee_codes(self) -> tuple[str, ...]:
        """The INSEE codes, sorted."""
        return tuple(self._by_insee)

    @property
    def departments(self) -> tuple[str, ...]:
        """The départements of the communes, sorted."""
        return tuple(sorted({_department(code) for code in self._by_insee}))

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """``(min_lon, min_lat, max_lon, max_lat)`` of all the outlines.

        Raises:
            ReferenceDataError: the set is empty.
        """
        if not self._outlines:
            raise ReferenceDataError("contours de communes : ensemble vide, aucune emprise")
        bounds = shapely.total_bounds(self._geometries)
        return (float(bounds[0]), float(bounds[1]), float(bounds[2]), float(bounds[3]))

    def __len__(self) -> int:
        return len(self._outlines)

    def __iter__(self) -> Iterator[CommuneOutline]:
        return iter(self._outlines)

    def __contains__(self, insee: object) -> bool:
        return isinstance(insee, str) and _normalize_code(insee) in self._by_insee

    # -- lookups ----------------------------------------------------------------------------

    def get(self, insee: str) -> CommuneOutline:
        """Return the outline of the commune with this INSEE code (``"2a004"`` → ``"2A004"``).

        Raises:
            UnknownCommuneError: no outline has this code.
        """
        if not isinstance(insee, str):
            raise UnknownCommuneError(
                repr(insee), f"code INSEE attendu sous forme de texte, reçu {insee!r}"
            )
        outline = self._by_insee.get(_normalize_code(insee))
        if outline is None:
            departments = ", ".join(self.departments) or "aucun"
            raise UnknownCommuneError(
                insee,
                f"commune {insee!r} absente des contours chargés (départements : "
                f"{departments}) ; pour un autre département, charger son fichier GeoJSON "
                "avec CommuneShapes.from_geojson(chemin)",
            )
        return outline

    def polygon(self, insee: str) -> Geometry:
        """Return the outline (shapely ``Polygon`` or ``MultiPolygon``) of this commune.

        The geometry is prepared (:func:`shapely.prepare`); do not modify it.

        Raises:
            UnknownCommuneError: no outline has this code.
        """
        return self.get(insee).geometry

    def contains(self, insee: str, point: Point) -> bool:
        """Tell whether ``point`` lies in the commune ``insee`` (inside or on its border).

        Raises:
            UnknownCommuneError: no outline has this code.
        """
        geometry = self.get(insee).geometry
        return bool(shapely.intersects_xy(geometry, point.lon, point.lat))

    def locate(self, lat: float, lon: float) -> str | None:
        """Return the INSEE code of the commune holding the point, or ``None``.

        A point on a border shared by several communes gets the lowest of their codes.
        ``None`` for a point outside every outline (or not a finite number).
        """
        code = str(self.locate_many(lat, lon).item())
        return code or None

    def locate_many(self, lats: npt.ArrayLike, lons: npt.ArrayLike) -> npt.NDArray[np.str_]:
        """Return the INSEE code of the commune holding each point, ``""`` where none.

        ``lats`` and ``lons`` (degrees, WGS84) broadcast together like numpy arrays; the
        result is an array of 5-character strings with their broadcast shape. A point on a
        border shared by several communes gets the lowest of their codes; a point outside
        every outline, or with a coordinate that is not a finite number, gets ``""``.

        An STRtree of the outlines' bounding boxes gives the candidates, then a
        prepared-geometry point-in-polygon test (:func:`shapely.intersects_xy`) keeps the
        communes that hold the point.
        """
        lat, lon, shape = _coordinates(lats, lons)
        count = len(self._outlines)
        best = np.full(lat.shape, count, dtype=np.intp)
        finite = np.flatnonzero(np.isfinite(lat) & np.isfinite(lon))
        if count and finite.size:
            points = shapely.points(lon[finite], lat[finite])
            point_index, tree_index = self._strtree().query(points)
            if point_index.size:
                rows = finite[point_index]
                hit = shapely.intersects_xy(self._geometries[tree_index], lon[rows], lat[rows])
                # Tree index order is INSEE order: the smallest index is the lowest code.
                np.minimum.at(best, rows[hit], tree_index[hit])
        codes = np.append(self._codes, np.array([""], dtype="<U5"))
        return codes[best].reshape(shape)

    def territory(self, insee_codes: Iterable[str]) -> Territory:
        """Return the territory made of these communes (see :class:`Territory`).

        Raises:
            UnknownCommuneError: a code has no outline in this set.
            ReferenceDataError: no code is given.
        """
        return Territory(self, insee_codes)

    # -- combining and loading ---------------------------------------------------------------

    def merged(self, *others: CommuneShapes) -> CommuneShapes:
        """Return the outlines of this set and of ``others`` together.

        A code present in several sets must have the same outline in each (compared
        topologically); the vintages and sources are joined with `` ; ``.

        Raises:
            ReferenceDataError: a code has different outlines in two sets.
        """
        by_insee = dict(self._by_insee)
        vintages = [self._vintage]
        sources = [self._source]
        for other in others:
            if not isinstance(other, CommuneShapes):
                raise ReferenceDataError(
                    f"contours de communes : CommuneShapes attendu, reçu {type(other).__name__}"
                )
            for code, outline in other._by_insee.items():
                previous = by_insee.setdefault(code, outline)
                if previous is not outline and not (
                    previous.geometry is outline.geometry
                    or shapely.equals(previous.geometry, outline.geometry)
                ):
                    raise ReferenceDataError(
                        f"contours de communes : la commune {code} a deux contours différents "
                        f"({self._source} et {other._source}) ; un seul contour par code "
                        "INSEE attendu"
                    )
            vintages.append(other._vintage)
            sources.append(other._source)
        ordered = tuple(by_insee[code] for code in sorted(by_insee))
        return CommuneShapes._trusted(
            ordered,
            vintage=" ; ".join(dict.fromkeys(v for v in vintages if v)),
            source=" ; ".join(dict.fromkeys(s for s in sources if s)),
        )

    @classmethod
    def from_geojson(
        cls, path: str | os.PathLike[str], *, vintage: str = "", source: str | None = None
    ) -> CommuneShapes:
        """Read commune outlines from a GeoJSON file (UTF-8, optionally gzip-compressed).

        The file is a ``FeatureCollection`` whose features each have the properties
        ``insee`` (INSEE code, text of 5 characters) and ``name`` (other properties are
        ignored) and a ``Polygon`` or ``MultiPolygon`` geometry in WGS84 longitude/latitude
        (RFC 7946), valid in the OGC sense. ``source`` defaults to the file's path.

        Raises:
            ReferenceDataError: the file cannot be read or a feature is invalid; the message
                names the file, the feature (``features[i]``, 0-based) and what was expected.
        """
        filename = os.fspath(path)
        try:
            with open(filename, "rb") as stream:
                data = stream.read()
        except OSError as exc:
            raise ReferenceDataError(
                f"{filename} : lecture du fichier de contours impossible ({exc.strerror or exc})"
            ) from exc
        return _parse_shapes(
            data, filename, vintage=vintage, source=filename if source is None else source
        )

    def _strtree(self) -> Any:
        tree = self._tree
        if tree is None:
            tree = shapely.STRtree(self._geometries)
            object.__setattr__(self, "_tree", tree)
        return tree


# -- Territory --------------------------------------------------------------------------------


class Territory:
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
        outline = _union(outlines[code].geometry for code in codes)
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

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"Territory est immuable : impossible de modifier {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"Territory est immuable : impossible de supprimer {name!r}")

    def __repr__(self) -> str:
        return f"<Territory: {len(self._codes)} communes ({_listed(self._codes)})>"

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
        lat, lon, shape = _coordinates(lats, lons)
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
        lat, lon, shape = _coordinates(lats, lons)
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


# -- GeoJSON parsing --------------------------------------------------------------------------


class _FeatureError(Exception):
    """A feature is invalid: ``where`` in it, what was ``expected``, what was ``found``."""

    def __init__(self, where: str, expected: str, found: str) -> None:
        super().__init__(where)
        self.where = where
        self.expected = expected
        self.found = found


def _decode_json(data: bytes, filename: str) -> Any:
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise ReferenceDataError(
                f"{filename} : fichier gzip illisible ou tronqué ({exc})"
            ) from exc
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ReferenceDataError(
            f"{filename} : encodage UTF-8 attendu, octet {data[exc.start]:#04x} invalide "
            f"à la position {exc.start}"
        ) from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ReferenceDataError(
            f"{filename}, ligne {exc.lineno}, colonne {exc.colno} : JSON invalide ({exc.msg})"
        ) from exc
    except RecursionError as exc:
        raise ReferenceDataError(f"{filename} : JSON trop imbriqué") from exc


def _ring(value: object, where: str) -> npt.NDArray[np.float64]:
    expected = (
        "anneau fermé d'au moins 4 positions [longitude, latitude] (la dernière égale à la "
        "première)"
    )
    if not isinstance(value, list):
        raise _FeatureError(where, expected, _short(value))
    try:
        array = np.asarray(value)
    except (ValueError, TypeError):
        raise _FeatureError(where, expected, _short(value)) from None
    if array.ndim != 2 or array.shape[0] < 4 or array.shape[1] < 2 or array.dtype.kind not in "iuf":
        raise _FeatureError(where, expected, _short(value))
    xy = np.ascontiguousarray(array[:, :2], dtype=np.float64)
    in_range = (
        np.isfinite(xy).all(axis=1) & (np.abs(xy[:, 0]) <= 180.0) & (np.abs(xy[:, 1]) <= 90.0)
    )
    if not in_range.all():
        bad = int(np.flatnonzero(~in_range)[0])
        raise _FeatureError(
            f"{where}[{bad}]",
            "position [longitude, latitude] en degrés WGS84 (un fichier en Lambert-93 doit "
            "être reprojeté en WGS84)",
            _short(value[bad]),
        )
    if not np.array_equal(xy[0], xy[-1]):
        raise _FeatureError(
            where,
            expected,
            f"un anneau ouvert, de {_short(value[0])} à {_short(value[-1])}",
        )
    return xy


def _polygon(value: object, where: str) -> Geometry:
    if not isinstance(value, list) or not value:
        raise _FeatureError(
            where, "liste d'anneaux (contour extérieur puis trous éventuels)", _short(value)
        )
    rings = [_ring(ring, f"{where}[{k}]") for k, ring in enumerate(value)]
    return shapely.Polygon(rings[0], rings[1:])


def _geometry(value: object, where: str) -> Geometry:
    if not isinstance(value, dict):
        raise _FeatureError(where, "géométrie Polygon ou MultiPolygon", _short(value))
    kind = value.get("type")
    if kind not in _GEOMETRY_TYPES:
        raise _FeatureError(f"{where}.type", "« Polygon » ou « MultiPolygon »", _short(kind))
    coordinates = value.get("coordinates")
    where = f"{where}.coordinates"
    if kind == "Polygon":
        return _polygon(coordinates, where)
    if not isinstance(coordinates, list) or not coordinates:
        raise _FeatureError(where, "liste non vide de polygones", _short(coordinates))
    return shapely.MultiPolygon(
        [_polygon(polygon, f"{where}[{k}]") for k, polygon in enumerate(coordinates)]
    )


def _feature(feature: object, index: int) -> tuple[str, str, Geometry]:
    where = f"features[{index}]"
    if not isinstance(feature, dict):
        raise _FeatureError(where, _EXPECTED_FEATURE, _short(feature))
    if feature.get("type") != "Feature":
        raise _FeatureError(f"{where}.type", "« Feature »", _short(feature.get("type")))
    properties = feature.get("properties")
    if not isinstance(properties, dict):
        raise _FeatureError(
            f"{where}.properties",
            "objet avec les propriétés « insee » et « name »",
            _short(properties),
        )
    insee = properties.get("insee")
    if not isinstance(insee, str) or not _INSEE_RE.fullmatch(_normalize_code(insee)):
        raise _FeatureError(
            f"{where}.properties.insee",
            'code INSEE de 5 caractères sous forme de texte (ex. "38563", "2A004")',
            _short(insee),
        )
    name = properties.get("name")
    if not isinstance(name, str) or not name.strip():
        raise _FeatureError(
            f"{where}.properties.name", "nom de commune non vide (texte)", _short(name)
        )
    geometry = _geometry(feature.get("geometry"), f"{where}.geometry")
    return _normalize_code(insee), name.strip(), geometry


def _parse_shapes(data: bytes, filename: str, *, vintage: str, source: str) -> CommuneShapes:
    document = _decode_json(data, filename)
    if not isinstance(document, dict) or document.get("type") != "FeatureCollection":
        found = document.get("type") if isinstance(document, dict) else type(document).__name__
        raise ReferenceDataError(
            f"{filename} : FeatureCollection GeoJSON attendue (objet de type "
            f"« FeatureCollection »), trouvé {_short(found)}"
        )
    features = document.get("features")
    if not isinstance(features, list) or not features:
        raise ReferenceDataError(
            f"{filename} : liste « features » non vide attendue (une entité par commune), "
            f"trouvé {_short(features)}"
        )
    outlines: list[CommuneOutline] = []
    first_index: dict[str, int] = {}
    for index, feature in enumerate(features):
        try:
            insee, name, geometry = _feature(feature, index)
        except _FeatureError as exc:
            raise ReferenceDataError(
                f"{filename}, {exc.where} : {exc.expected} attendu, trouvé {exc.found}"
            ) from None
        previous = first_index.setdefault(insee, index)
        if previous != index:
            raise ReferenceDataError(
                f"{filename}, features[{index}].properties.insee : code INSEE {insee} déjà "
                f"présent dans features[{previous}] ; un code unique par entité attendu"
            )
        outlines.append(CommuneOutline(insee, name, geometry))
    geometries = np.empty(len(outlines), dtype=object)
    geometries[:] = [outline.geometry for outline in outlines]
    invalid = np.flatnonzero(~shapely.is_valid(geometries))
    if invalid.size:
        index = int(invalid[0])
        outline = outlines[index]
        reason = shapely.is_valid_reason(outline.geometry)
        raise ReferenceDataError(
            f"{filename}, features[{index}].geometry : contour valide attendu pour "
            f"{outline.name} ({outline.insee}), trouvé : {reason} "
            f"({invalid.size} contour(s) invalide(s) dans le fichier ; les corriger, par exemple "
            "avec shapely.make_valid ou mapshaper -clean)"
        )
    ordered = tuple(sorted(outlines, key=lambda outline: outline.insee))
    return CommuneShapes._trusted(ordered, vintage=vintage, source=source)


# -- bundled outlines -------------------------------------------------------------------------


@functools.cache
def _bundled_department(department: str) -> CommuneShapes:
    name = f"communes_{department}.geojson.gz"
    resource = importlib.resources.files(_DATA_PACKAGE) / "data" / name
    filename = f"{_DATA_PACKAGE.replace('.', '/')}/data/{name}"
    try:
        data = resource.read_bytes()
    except OSError as exc:
        raise ReferenceDataError(
            f"{filename} : contours intégrés introuvables ; les régénérer avec "
            "scripts/build_geo_data.py"
        ) from exc
    return _parse_shapes(data, filename, vintage=SHAPES_VINTAGE, source=SHAPES_SOURCE)


@functools.cache
def _bundled_combination(departments: tuple[str, ...]) -> CommuneShapes:
    first, *others = (_bundled_department(department) for department in departments)
    return first.merged(*others) if others else first


def bundled_shapes(departments: str | Iterable[str] = BUNDLED_DEPARTMENTS) -> CommuneShapes:
    """Return the commune outlines bundled with mt-access for these départements.

    ``departments`` is one code (``"38"``) or several (``("38", "59")``, the default: every
    bundled département); only the files asked for are read, each once per process, and
    the same request (in any order) returns the same object.

    Raises:
        ReferenceDataError: a département has no bundled outlines (see
            :data:`BUNDLED_DEPARTMENTS`; load other départements with
            :meth:`CommuneShapes.from_geojson`) or none is given.
    """
    if isinstance(departments, str):
        departments = (departments,)
    asked: set[str] = set()
    for department in departments:
        if not isinstance(department, str):
            raise ReferenceDataError(
                f'code de département attendu sous forme de texte (ex. "38"), reçu {department!r}'
            )
        code = department.strip().upper()
        if code not in BUNDLED_DEPARTMENTS:
            raise ReferenceDataError(
                f"pas de contours de communes intégrés pour le département {department!r} ; "
                f"départements intégrés : {', '.join(BUNDLED_DEPARTMENTS)} ; pour un autre "
                "département, charger son fichier GeoJSON avec CommuneShapes.from_geojson(chemin)"
            )
        asked.add(code)
    if not asked:
        raise ReferenceDataError(
            f"au moins un département attendu parmi {', '.join(BUNDLED_DEPARTMENTS)}"
        )
    return _bundled_combination(tuple(sorted(asked)))
