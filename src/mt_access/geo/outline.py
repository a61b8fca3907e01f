"""A commune's outline and the helpers the shapes, the GeoJSON reader and the territories
share.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt
import shapely

from mt_access.errors import ReferenceDataError

__all__ = ["CommuneOutline", "FloatArray", "Geometry"]


GEOMETRY_TYPES = ("Polygon", "MultiPolygon")
INSEE_RE = re.compile(r"(?:[0-9][0-9]|2[AB])[0-9]{3}")


_MAX_FOUND = 60
_MAX_LISTED = 10


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
    if not isinstance(value, str) or not INSEE_RE.fullmatch(value):
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


def department_of(insee: str) -> str:
    return insee[:3] if insee.startswith("97") else insee[:2]


def short_text(value: object) -> str:
    text = repr(value)
    return text if len(text) <= _MAX_FOUND else text[: _MAX_FOUND - 1] + "…"


def listed_codes(codes: Iterable[str]) -> str:
    items = list(codes)
    shown = ", ".join(items[:_MAX_LISTED])
    if len(items) > _MAX_LISTED:
        shown += f" et {len(items) - _MAX_LISTED} autre(s)"
    return shown


def coordinates(
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


def union_all(geometries: Iterable[Geometry]) -> Geometry:
    return shapely.union_all(np.array(list(geometries), dtype=object))
