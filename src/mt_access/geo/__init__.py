"""Geography: the commune reference, name normalisation, points and geodesic distances."""

from __future__ import annotations

from mt_access.geo.communes import VINTAGE, Commune, CommuneReference, bundled_reference
from mt_access.geo.distance import DistanceCache, geodesic_km, geodesic_km_many
from mt_access.geo.names import normalize_name
from mt_access.geo.point import Point

__all__ = [
    "VINTAGE",
    "Commune",
    "CommuneReference",
    "DistanceCache",
    "Point",
    "bundled_reference",
    "geodesic_km",
    "geodesic_km_many",
    "normalize_name",
]
