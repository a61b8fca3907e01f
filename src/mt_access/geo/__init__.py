"""Geography: the commune reference, outlines and territories, geocoding, distances.

Everything a router needs about places comes from here; routers never compute distances
themselves. See ``docs/geography.md`` and ``docs/geocoding.md``.
"""

from __future__ import annotations

from mt_access.geo.communes import VINTAGE, Commune, CommuneReference, bundled_reference
from mt_access.geo.distance import DistanceCache, geodesic_km, geodesic_km_many
from mt_access.geo.geocoding import (
    GEOCODE_FLAGS,
    BANGeocoder,
    CommuneGeocoder,
    Geocoder,
    GeocodeResult,
)
from mt_access.geo.names import normalize_name
from mt_access.geo.nearest import HAVERSINE_RADIUS_KM, KNearest, haversine_km_many, k_nearest
from mt_access.geo.point import Point
from mt_access.geo.shapes import (
    BUNDLED_DEPARTMENTS,
    SHAPES_SOURCE,
    SHAPES_VINTAGE,
    CommuneOutline,
    CommuneShapes,
    Territory,
    bundled_shapes,
)

__all__ = [
    "BUNDLED_DEPARTMENTS",
    "GEOCODE_FLAGS",
    "HAVERSINE_RADIUS_KM",
    "SHAPES_SOURCE",
    "SHAPES_VINTAGE",
    "VINTAGE",
    "BANGeocoder",
    "Commune",
    "CommuneGeocoder",
    "CommuneOutline",
    "CommuneReference",
    "CommuneShapes",
    "DistanceCache",
    "GeocodeResult",
    "Geocoder",
    "KNearest",
    "Point",
    "Territory",
    "bundled_reference",
    "bundled_shapes",
    "geodesic_km",
    "geodesic_km_many",
    "haversine_km_many",
    "k_nearest",
    "normalize_name",
]
