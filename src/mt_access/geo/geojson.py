"""Reading commune outlines from a GeoJSON ``FeatureCollection``, checking every feature
and naming the faulty one (``features[i]``) and what was expected.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely

from mt_access.errors import ReferenceDataError
from mt_access.geo.datafile import gunzipped, normalize_code
from mt_access.geo.outline import (
    GEOMETRY_TYPES,
    INSEE_RE,
    CommuneOutline,
    Geometry,
    short_text,
)

__all__ = ["parse_outlines"]

_EXPECTED_FEATURE = (
    "entité GeoJSON de type Feature, avec des propriétés « insee » (code INSEE de 5 caractères, "
    "ex. 38563) et « name » (nom de la commune) et une géométrie Polygon ou MultiPolygon en "
    "WGS84 (longitude, latitude)"
)


class _FeatureError(Exception):
    """A feature is invalid: ``where`` in it, what was ``expected``, what was ``found``."""

    def __init__(self, where: str, expected: str, found: str) -> None:
        super().__init__(where)
        self.where = where
        self.expected = expected
        self.found = found


def _decode_json(data: bytes, filename: str) -> Any:
    data = gunzipped(data, filename)
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
        raise _FeatureError(where, expected, short_text(value))
    try:
        array = np.asarray(value)
    except (ValueError, TypeError):
        raise _FeatureError(where, expected, short_text(value)) from None
    if array.ndim != 2 or array.shape[0] < 4 or array.shape[1] < 2 or array.dtype.kind not in "iuf":
        raise _FeatureError(where, expected, short_text(value))
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
            short_text(value[bad]),
        )
    if not np.array_equal(xy[0], xy[-1]):
        raise _FeatureError(
            where,
            expected,
            f"un anneau ouvert, de {short_text(value[0])} à {short_text(value[-1])}",
        )
    return xy


def _polygon(value: object, where: str) -> Geometry:
    if not isinstance(value, list) or not value:
        raise _FeatureError(
            where, "liste d'anneaux (contour extérieur puis trous éventuels)", short_text(value)
        )
    rings = [_ring(ring, f"{where}[{k}]") for k, ring in enumerate(value)]
    return shapely.Polygon(rings[0], rings[1:])


def _geometry(value: object, where: str) -> Geometry:
    if not isinstance(value, dict):
        raise _FeatureError(where, "géométrie Polygon ou MultiPolygon", short_text(value))
    kind = value.get("type")
    if kind not in GEOMETRY_TYPES:
        raise _FeatureError(f"{where}.type", "« Polygon » ou « MultiPolygon »", short_text(kind))
    coordinates = value.get("coordinates")
    where = f"{where}.coordinates"
    if kind == "Polygon":
        return _polygon(coordinates, where)
    if not isinstance(coordinates, list) or not coordinates:
        raise _FeatureError(where, "liste non vide de polygones", short_text(coordinates))
    return shapely.MultiPolygon(
        [_polygon(polygon, f"{where}[{k}]") for k, polygon in enumerate(coordinates)]
    )


def _feature(feature: object, index: int) -> tuple[str, str, Geometry]:
    where = f"features[{index}]"
    if not isinstance(feature, dict):
        raise _FeatureError(where, _EXPECTED_FEATURE, short_text(feature))
    if feature.get("type") != "Feature":
        raise _FeatureError(f"{where}.type", "« Feature »", short_text(feature.get("type")))
    properties = feature.get("properties")
    if not isinstance(properties, dict):
        raise _FeatureError(
            f"{where}.properties",
            "objet avec les propriétés « insee » et « name »",
            short_text(properties),
        )
    insee = properties.get("insee")
    if not isinstance(insee, str) or not INSEE_RE.fullmatch(normalize_code(insee)):
        raise _FeatureError(
            f"{where}.properties.insee",
            'code INSEE de 5 caractères sous forme de texte (ex. "38563", "2A004")',
            short_text(insee),
        )
    name = properties.get("name")
    if not isinstance(name, str) or not name.strip():
        raise _FeatureError(
            f"{where}.properties.name", "nom de commune non vide (texte)", short_text(name)
        )
    geometry = _geometry(feature.get("geometry"), f"{where}.geometry")
    return normalize_code(insee), name.strip(), geometry


def parse_outlines(data: bytes, filename: str) -> tuple[CommuneOutline, ...]:
    """The outlines of a GeoJSON file's bytes (UTF-8, optionally gzip-compressed), sorted by
    INSEE code.

    Raises:
        ReferenceDataError: naming the file, the feature and what was expected.
    """
    document = _decode_json(data, filename)
    if not isinstance(document, dict) or document.get("type") != "FeatureCollection":
        found = document.get("type") if isinstance(document, dict) else type(document).__name__
        raise ReferenceDataError(
            f"{filename} : FeatureCollection GeoJSON attendue (objet de type "
            f"« FeatureCollection »), trouvé {short_text(found)}"
        )
    features = document.get("features")
    if not isinstance(features, list) or not features:
        raise ReferenceDataError(
            f"{filename} : liste « features » non vide attendue (une entité par commune), "
            f"trouvé {short_text(features)}"
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
    return tuple(sorted(outlines, key=lambda outline: outline.insee))
