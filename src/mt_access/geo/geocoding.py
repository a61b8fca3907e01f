"""Geocoding: turning a patient's address and commune into a point.

Two geocoders implement the :class:`Geocoder` protocol:

- :class:`CommuneGeocoder`, the default, works offline: every request is placed at its
  commune's point (the chef-lieu of the bundled reference), whatever the address says.
- :class:`BANGeocoder` sends the address to the Base Adresse Nationale (BAN) search API
  through geopy's :class:`~geopy.geocoders.BANFrance`, throttled by geopy's
  :class:`~geopy.extra.rate_limiter.RateLimiter`, with a persistent SQLite cache. It checks
  that the point found lies in the commune given with the address; when it does not, and when
  the service fails (timeout, HTTP 429 or 5xx, no answer, low score), it falls back to the
  commune's point and says why in :attr:`GeocodeResult.flag`. Network failures never raise.

Privacy: addresses leave the machine only with :class:`BANGeocoder`, and only to the BAN
service configured. Nothing here logs an address or puts one in an exception message: logs
carry counts, INSEE codes and flags only, the cache is keyed by a SHA-256 digest of the
normalised address, and the query handed to geopy's rate limiter has a masked ``repr`` (the
rate limiter logs its arguments when it retries).

The code is split by topic: :mod:`~mt_access.geo.geocode_base` (the result, its flags and the
protocol), :mod:`~mt_access.geo.offline` (:class:`CommuneGeocoder`),
:mod:`~mt_access.geo.ban` (:class:`BANGeocoder`) and :mod:`~mt_access.geo.geocode_cache` (the
BAN answers' SQLite cache); every name is importable from here as before.
"""

from __future__ import annotations

from mt_access.errors import GeocodeCacheError
from mt_access.geo.ban import BAN_DEFAULT_DOMAIN, BANGeocoder
from mt_access.geo.geocode_base import GEOCODE_FLAGS, PRECISIONS, Geocoder, GeocodeResult
from mt_access.geo.offline import CommuneGeocoder

__all__ = [
    "BAN_DEFAULT_DOMAIN",
    "GEOCODE_FLAGS",
    "PRECISIONS",
    "BANGeocoder",
    "CommuneGeocoder",
    "GeocodeCacheError",
    "GeocodeResult",
    "Geocoder",
]
