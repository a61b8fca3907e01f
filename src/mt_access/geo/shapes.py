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

The code is split by topic: :mod:`~mt_access.geo.outline` (:class:`CommuneOutline` and the
helpers the others share), :mod:`~mt_access.geo.geojson` (reading and checking a GeoJSON
file), :mod:`~mt_access.geo.territory` (:class:`Territory`); this module holds
:class:`CommuneShapes` and the bundled outlines, and offers every name it offered.
"""

from __future__ import annotations

import functools
import importlib.resources
import os
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely

from mt_access.errors import ReferenceDataError, UnknownCommuneError
from mt_access.geo.datafile import insee_key, normalize_code, read_data_file
from mt_access.geo.frozen import Frozen
from mt_access.geo.geojson import parse_outlines
from mt_access.geo.outline import (
    CommuneOutline,
    Geometry,
    coordinates,
    department_of,
)
from mt_access.geo.point import Point
from mt_access.geo.territory import Territory

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


# -- CommuneShapes ----------------------------------------------------------------------------


class CommuneShapes(Frozen):
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
        return tuple(sorted({department_of(code) for code in self._by_insee}))

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
        return isinstance(insee, str) and normalize_code(insee) in self._by_insee

    # -- lookups ----------------------------------------------------------------------------

    def get(self, insee: str) -> CommuneOutline:
        """Return the outline of the commune with this INSEE code (``"2a004"`` → ``"2A004"``).

        Raises:
            UnknownCommuneError: no outline has this code.
        """
        outline = self._by_insee.get(insee_key(insee))
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
        lat, lon, shape = coordinates(lats, lons)
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
        data = read_data_file(filename, "contours")
        return _parse_shapes(
            data, filename, vintage=vintage, source=filename if source is None else source
        )

    def _strtree(self) -> Any:
        tree = self._tree
        if tree is None:
            tree = shapely.STRtree(self._geometries)
            object.__setattr__(self, "_tree", tree)
        return tree


def _parse_shapes(data: bytes, filename: str, *, vintage: str, source: str) -> CommuneShapes:
    """The outlines of a GeoJSON file's bytes (:func:`~mt_access.geo.geojson.parse_outlines`)."""
    return CommuneShapes._trusted(parse_outlines(data, filename), vintage=vintage, source=source)


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
