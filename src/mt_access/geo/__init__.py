"""Geography: the commune reference, outlines and territories, geocoding, distances.

Everything a router needs about places comes from here; routers never compute distances
themselves. See ``docs/geography.md`` and ``docs/geocoding.md``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mt_access._lazy import lazy_names
from mt_access.geo.point import Point

LAZY: dict[str, str] = {
    "Commune": "mt_access.geo.communes",
    "CommuneReference": "mt_access.geo.communes",
    "VINTAGE": "mt_access.geo.communes",
    "bundled_reference": "mt_access.geo.communes",
    "DistanceCache": "mt_access.geo.distance",
    "geodesic_km": "mt_access.geo.distance",
    "geodesic_km_many": "mt_access.geo.distance",
    "BANGeocoder": "mt_access.geo.geocoding",
    "CommuneGeocoder": "mt_access.geo.geocoding",
    "GEOCODE_FLAGS": "mt_access.geo.geocoding",
    "GeocodeResult": "mt_access.geo.geocoding",
    "Geocoder": "mt_access.geo.geocoding",
    "normalize_name": "mt_access.geo.names",
    "HAVERSINE_RADIUS_KM": "mt_access.geo.nearest",
    "KNearest": "mt_access.geo.nearest",
    "haversine_km_many": "mt_access.geo.nearest",
    "k_nearest": "mt_access.geo.nearest",
    "BUNDLED_DEPARTMENTS": "mt_access.geo.shapes",
    "CommuneOutline": "mt_access.geo.shapes",
    "CommuneShapes": "mt_access.geo.shapes",
    "SHAPES_SOURCE": "mt_access.geo.shapes",
    "SHAPES_VINTAGE": "mt_access.geo.shapes",
    "Territory": "mt_access.geo.shapes",
    "bundled_shapes": "mt_access.geo.shapes",
}
"""Names loaded on first use (the outlines need shapely, geocoding needs geopy)."""

__getattr__, __dir__ = lazy_names(__name__, globals(), LAZY)

if TYPE_CHECKING:
    from mt_access.geo.communes import (
        VINTAGE,
        Commune,
        CommuneReference,
        bundled_reference,
    )
    from mt_access.geo.distance import (
        DistanceCache,
        geodesic_km,
        geodesic_km_many,
    )
    from mt_access.geo.geocoding import (
        GEOCODE_FLAGS,
        BANGeocoder,
        CommuneGeocoder,
        Geocoder,
        GeocodeResult,
    )
    from mt_access.geo.names import (
        normalize_name,
    )
    from mt_access.geo.nearest import (
        HAVERSINE_RADIUS_KM,
        KNearest,
        haversine_km_many,
        k_nearest,
    )
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
