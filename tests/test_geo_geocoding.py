"""Tests for :mod:`mt_access.geo.geocoding`.

The BAN tests go through geopy for real (its BANFrance geocoder, adapter, error mapping and
RateLimiter), with the domain pointed at a local stand-in of the BAN search API on 127.0.0.1
(``ban_server.py``). No test reaches the internet: ``proxies={}`` keeps even a configured
proxy out of the way.
"""

from __future__ import annotations

import logging
import socket
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import attrs
import pytest

from ban_server import BANServer, Reply, feature
from mt_access.errors import (
    AmbiguousCommuneError,
    MtAccessError,
    ReferenceDataError,
    UnknownCommuneError,
)
from mt_access.geo import CommuneReference, Point
from mt_access.geo.geocoding import (
    GEOCODE_FLAGS,
    BANGeocoder,
    CommuneGeocoder,
    GeocodeCacheError,
    Geocoder,
    GeocodeResult,
)

VOIRON = "38563"
GRENOBLE = "38185"
VOIRON_POINT = Point(45.3627, 5.59146)
# A made-up address: its words must never show up in logs or in the cache file.
ADDRESS = "12 rue Zéphyrine Mainssieux"
QUERY = "12 rue Zéphyrine Mainssieux Voiron"  # the city is appended to the query
HOME = Point(45.36512, 5.58833)  # in Voiron, 0.4 km from the chef-lieu
GRENOBLE_HOME = Point(45.18811, 5.72447)

BANFactory = Callable[..., BANGeocoder]


@pytest.fixture
def server() -> Iterator[BANServer]:
    with BANServer() as srv:
        yield srv


@pytest.fixture
def make_geocoder(server: BANServer, reference: CommuneReference) -> Iterator[BANFactory]:
    """Build BANGeocoders aimed at the local server, closed at the end of the test."""
    made: list[BANGeocoder] = []

    def make(**overrides: Any) -> BANGeocoder:
        settings: dict[str, Any] = {
            "reference": reference,
            "domain": server.domain,
            "scheme": "http",
            "timeout": 2.0,
            "proxies": {},
            "min_delay_seconds": 0.0,
            "max_retries": 0,
            "error_wait_seconds": 0.0,
            **overrides,
        }
        geocoder = BANGeocoder(**settings)
        made.append(geocoder)
        return geocoder

    yield make
    for geocoder in made:
        geocoder.close()


def voiron_feature(**props: Any) -> dict[str, Any]:
    return feature(HOME.lat, HOME.lon, label="12 Rue Zéphyrine Mainssieux 38500 Voiron", **props)


# --------------------------------------------------------------------------------------------
# GeocodeResult and the protocol


def test_result_validation() -> None:
    result = GeocodeResult(VOIRON_POINT, VOIRON, "commune", "not_found", 0.3)
    assert result.flag_label == GEOCODE_FLAGS["not_found"]
    assert GeocodeResult(HOME, VOIRON, "address", score=0.9).flag_label is None
    with pytest.raises(ValueError, match="precision"):
        GeocodeResult(HOME, VOIRON, "street")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="flag"):
        GeocodeResult(HOME, VOIRON, "commune", "lost")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="signal"):
        GeocodeResult(HOME, VOIRON, "address", "low_score")
    with pytest.raises(ValueError, match="score"):
        GeocodeResult(HOME, VOIRON, "address", score=float("nan"))
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        result.flag = None  # type: ignore[misc]


def test_every_flag_has_a_french_label() -> None:
    assert set(GEOCODE_FLAGS) == {
        "outside_commune",
        "not_found",
        "timeout",
        "rate_limited",
        "server_error",
        "unavailable",
        "low_score",
    }


def test_geocoders_implement_the_protocol(make_geocoder: BANFactory) -> None:
    assert isinstance(CommuneGeocoder(), Geocoder)
    assert isinstance(make_geocoder(), Geocoder)

    class Fixed:
        """Another geocoder: anything with these two methods plugs in."""

        def geocode(self, address: str | None, commune: str) -> GeocodeResult:
            return GeocodeResult(HOME, VOIRON, "address")

        def geocode_many(
            self,
            items: Sequence[tuple[str | None, str]],
            progress: Callable[[int, int], None] | None = None,
        ) -> list[GeocodeResult]:
            return [self.geocode(a, c) for a, c in items]

    assert isinstance(Fixed(), Geocoder)


# --------------------------------------------------------------------------------------------
# CommuneGeocoder


@pytest.mark.parametrize("commune", [VOIRON, "38500 Voiron", "Voiron (38)", "voiron"])
def test_commune_geocoder_places_at_the_commune_point(
    reference: CommuneReference, commune: str
) -> None:
    result = CommuneGeocoder(reference).geocode(ADDRESS, commune)
    assert result == GeocodeResult(VOIRON_POINT, VOIRON, "commune")


def test_commune_geocoder_batch_and_progress(reference: CommuneReference) -> None:
    calls: list[tuple[int, int]] = []
    items = [(ADDRESS, VOIRON), (None, "Grenoble"), ("", "38000 Grenoble")]
    results = CommuneGeocoder(reference).geocode_many(
        items, progress=lambda d, t: calls.append((d, t))
    )
    assert [r.insee for r in results] == [VOIRON, GRENOBLE, GRENOBLE]
    assert {r.precision for r in results} == {"commune"}
    assert calls == [(1, 3), (2, 3), (3, 3)]
    assert CommuneGeocoder(reference).geocode_many([]) == []


def test_commune_geocoder_caller_errors(reference: CommuneReference) -> None:
    geocoder = CommuneGeocoder(reference)
    with pytest.raises(UnknownCommuneError):
        geocoder.geocode(None, "99999")
    with pytest.raises(AmbiguousCommuneError):
        geocoder.geocode(None, "Saint-Martin")
    with pytest.raises(UnknownCommuneError) as info:
        geocoder.geocode_many([(None, VOIRON), (None, "Atlantide")])
    assert "élément n° 2 du lot à géocoder" in info.value.__notes__
    without_point = reference.without_point()[0]
    with pytest.raises(ReferenceDataError, match="coordonnées"):
        geocoder.geocode(None, without_point.insee)


# --------------------------------------------------------------------------------------------
# BANGeocoder: answers


def test_address_found_in_its_commune(server: BANServer, make_geocoder: BANFactory) -> None:
    server.answer(QUERY, voiron_feature(score=0.93))
    geocoder = make_geocoder()
    result = geocoder.geocode(ADDRESS, "38500 Voiron")
    assert result == GeocodeResult(HOME, VOIRON, "address", None, 0.93)
    [request] = server.received
    assert request.path == "/search"  # geopy's BANFrance path
    assert request.params == {"q": QUERY, "autocomplete": "0", "citycode": VOIRON, "limit": "1"}
    assert geocoder.url == f"http://{server.domain}/search"


def test_city_not_appended_twice(server: BANServer, make_geocoder: BANFactory) -> None:
    server.answer("12 rue Zéphyrine Mainssieux, 38500 VOIRON", voiron_feature())
    result = make_geocoder().geocode("  12 rue Zéphyrine   Mainssieux, 38500 VOIRON ", VOIRON)
    assert result.precision == "address"


def test_outside_commune_keeps_the_commune_point(
    server: BANServer, make_geocoder: BANFactory
) -> None:
    server.answer(
        QUERY,
        feature(GRENOBLE_HOME.lat, GRENOBLE_HOME.lon, citycode=GRENOBLE, score=0.81),
    )
    result = make_geocoder().geocode(ADDRESS, VOIRON)
    assert result == GeocodeResult(VOIRON_POINT, VOIRON, "commune", "outside_commune", 0.81)


def test_right_citycode_but_too_far(server: BANServer, make_geocoder: BANFactory) -> None:
    # Grenoble's coordinates under Voiron's code: 25 km away, beyond the default 15 km.
    server.answer(QUERY, feature(GRENOBLE_HOME.lat, GRENOBLE_HOME.lon, citycode=VOIRON))
    assert make_geocoder().geocode(ADDRESS, VOIRON).flag == "outside_commune"
    assert make_geocoder(max_km=40).geocode(ADDRESS, VOIRON).precision == "address"


def test_contains_callback_decides(server: BANServer, make_geocoder: BANFactory) -> None:
    server.answer(QUERY, feature(GRENOBLE_HOME.lat, GRENOBLE_HOME.lon, citycode=GRENOBLE))
    calls: list[tuple[str, Point]] = []

    def everywhere(insee: str, point: Point) -> bool:
        calls.append((insee, point))
        return True

    def nowhere(insee: str, point: Point) -> bool:
        return False

    def no_outline(insee: str, point: Point) -> bool:
        raise ReferenceDataError(f"pas de contour pour {insee}")

    assert make_geocoder(contains=everywhere).geocode(ADDRESS, VOIRON).point == GRENOBLE_HOME
    assert calls == [(VOIRON, GRENOBLE_HOME)]
    server.answer(QUERY, voiron_feature())
    assert make_geocoder(contains=nowhere).geocode(ADDRESS, VOIRON).flag == "outside_commune"
    # No outline: the citycode and distance check decides.
    assert make_geocoder(contains=no_outline).geocode(ADDRESS, VOIRON).point == HOME


def test_empty_answer_is_not_found_and_cached(server: BANServer, make_geocoder: BANFactory) -> None:
    geocoder = make_geocoder()
    first = geocoder.geocode(ADDRESS, VOIRON)
    assert first == GeocodeResult(VOIRON_POINT, VOIRON, "commune", "not_found", None)
    assert geocoder.geocode(ADDRESS, VOIRON) == first
    assert server.request_count == 1


def test_municipality_answer_is_not_an_address(
    server: BANServer, make_geocoder: BANFactory
) -> None:
    server.answer(QUERY, voiron_feature(type="municipality", score=0.6))
    result = make_geocoder().geocode(ADDRESS, VOIRON)
    assert (result.precision, result.flag, result.score) == ("commune", "not_found", 0.6)


def test_low_score(server: BANServer, make_geocoder: BANFactory, tmp_path: Path) -> None:
    server.answer(QUERY, voiron_feature(score=0.31))
    cache = tmp_path / "ban.sqlite"
    result = make_geocoder(cache_path=cache).geocode(ADDRESS, VOIRON)
    assert result == GeocodeResult(VOIRON_POINT, VOIRON, "commune", "low_score", 0.31)
    # The checks run on the cached answer: a lower threshold needs no new request.
    lenient = make_geocoder(cache_path=cache, min_score=0.3)
    assert lenient.geocode(ADDRESS, VOIRON) == GeocodeResult(HOME, VOIRON, "address", None, 0.31)
    assert server.request_count == 1


def test_answer_without_score(server: BANServer, make_geocoder: BANFactory) -> None:
    server.answer(QUERY, voiron_feature(score=None))
    assert make_geocoder().geocode(ADDRESS, VOIRON) == GeocodeResult(HOME, VOIRON, "address")


def test_no_address_sends_nothing(server: BANServer, make_geocoder: BANFactory) -> None:
    geocoder = make_geocoder()
    for address in (None, "", "   "):
        assert geocoder.geocode(address, VOIRON) == GeocodeResult(VOIRON_POINT, VOIRON, "commune")
    # Too short for the BAN (3 characters at least): not found, without a request.
    assert geocoder.geocode(" 1, ", VOIRON).flag == "not_found"
    assert server.request_count == 0


def test_paris_arrondissement_codes(server: BANServer, make_geocoder: BANFactory) -> None:
    lat, lon = 48.84201, 2.29912
    server.answer(
        "5 rue Zéphyrine Paris",
        feature(lat, lon, citycode="75115", postcode="75015", city="Paris 15e Arrondissement"),
    )
    result = make_geocoder().geocode("5 rue Zéphyrine", "75056")
    assert result == GeocodeResult(Point(lat, lon), "75056", "address", None, 0.93)
    # No citycode filter for Paris: the BAN gives its addresses their arrondissement's code.
    assert "citycode" not in server.received[0].params
    # An arrondissement is filtered on its own code.
    assert make_geocoder().geocode("5 rue Zéphyrine", "75115").precision == "address"
    assert server.received[1].params["citycode"] == "75115"


def test_commune_without_point(
    server: BANServer, make_geocoder: BANFactory, reference: CommuneReference
) -> None:
    commune = reference.without_point()[0]
    query = f"{ADDRESS} {commune.name}"
    server.answer(query, voiron_feature(citycode=commune.insee))
    geocoder = make_geocoder()
    # The address places the request although its commune has no point...
    assert geocoder.geocode(ADDRESS, commune.insee).point == HOME
    # ... but without an address there is nothing to fall back to.
    with pytest.raises(ReferenceDataError, match="coordonnées"):
        geocoder.geocode("3 place Zéphyrine", commune.insee)


# --------------------------------------------------------------------------------------------
# BANGeocoder: failures fall back, never raise, and are not cached


def test_rate_limited(server: BANServer, make_geocoder: BANFactory) -> None:
    server.answer(QUERY, voiron_feature())
    server.fail_next(Reply(status=429, headers={"Retry-After": "1"}))
    geocoder = make_geocoder()
    result = geocoder.geocode(ADDRESS, VOIRON)
    assert result == GeocodeResult(VOIRON_POINT, VOIRON, "commune", "rate_limited")
    # Not cached: the next call asks again, and gets the address.
    assert geocoder.geocode(ADDRESS, VOIRON).precision == "address"
    assert server.request_count == 2


@pytest.mark.parametrize("status", [500, 502, 503, 504, 400])
def test_server_errors(server: BANServer, make_geocoder: BANFactory, status: int) -> None:
    server.default = Reply(status=status)
    geocoder = make_geocoder()
    assert geocoder.geocode(ADDRESS, VOIRON).flag == "server_error"
    assert geocoder.geocode(ADDRESS, VOIRON).flag == "server_error"
    assert server.request_count == 2
    assert geocoder.cached_answers == 0


@pytest.mark.parametrize(
    "reply",
    [
        Reply(body="<html>maintenance</html>"),
        Reply(body='{"type": "FeatureCollection", "features": [{"type": "Feature"}]}'),
        Reply(features=[{"geometry": {"coordinates": [5.5, 95.0]}, "properties": {}}]),
        Reply(features=[feature(45.36, 5.59, score="high")]),  # type: ignore[arg-type]
    ],
    ids=["not-json", "no-geometry", "latitude-out-of-range", "score-not-a-number"],
)
def test_malformed_answers(server: BANServer, make_geocoder: BANFactory, reply: Reply) -> None:
    server.default = reply
    geocoder = make_geocoder()
    assert geocoder.geocode(ADDRESS, VOIRON).flag == "server_error"
    assert geocoder.cached_answers == 0


def test_timeout(server: BANServer, make_geocoder: BANFactory) -> None:
    server.default = Reply(features=[voiron_feature()], delay=3.0)
    geocoder = make_geocoder(timeout=0.3)
    start = time.perf_counter()
    result = geocoder.geocode(ADDRESS, VOIRON)
    assert time.perf_counter() - start < 2.0
    assert result == GeocodeResult(VOIRON_POINT, VOIRON, "commune", "timeout")
    assert geocoder.cached_answers == 0


def test_unreachable_service(reference: CommuneReference) -> None:
    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with BANGeocoder(
        reference=reference,
        domain=f"127.0.0.1:{port}",
        scheme="http",
        timeout=2.0,
        proxies={},
        min_delay_seconds=0.0,
        max_retries=0,
        error_wait_seconds=0.0,
    ) as geocoder:
        assert geocoder.geocode(ADDRESS, VOIRON).flag == "unavailable"


def test_retries_then_succeeds(server: BANServer, make_geocoder: BANFactory) -> None:
    server.answer(QUERY, voiron_feature())
    server.fail_next(Reply(status=503))
    result = make_geocoder(max_retries=1).geocode(ADDRESS, VOIRON)
    assert result.precision == "address"
    assert server.request_count == 2


def test_circuit_breaker(server: BANServer, make_geocoder: BANFactory) -> None:
    server.answer("1 rue Zéphyrine Voiron", voiron_feature())
    geocoder = make_geocoder(max_consecutive_failures=2)
    assert geocoder.geocode("1 rue Zéphyrine", VOIRON).precision == "address"  # now cached
    server.default = Reply(status=503)
    server.answer("1 rue Zéphyrine Voiron", status=503)
    items: list[tuple[str | None, str]] = [(f"{n} rue Zéphyrine", VOIRON) for n in range(2, 7)]
    items.insert(3, ("1 rue Zéphyrine", VOIRON))
    results = geocoder.geocode_many(items)
    assert [r.flag for r in results] == [
        "server_error",
        "server_error",
        "unavailable",  # not sent: the service is deemed down
        None,  # from the cache
        "unavailable",
        "unavailable",
    ]
    assert server.request_count == 1 + 2


# --------------------------------------------------------------------------------------------
# Caller errors


def test_unknown_commune_is_a_caller_error(server: BANServer, make_geocoder: BANFactory) -> None:
    geocoder = make_geocoder()
    with pytest.raises(UnknownCommuneError):
        geocoder.geocode(ADDRESS, "99999")
    with pytest.raises(UnknownCommuneError) as info:
        geocoder.geocode_many([(ADDRESS, VOIRON), (ADDRESS, "Atlantide (38)")])
    assert "élément n° 2 du lot à géocoder" in info.value.__notes__
    assert server.request_count == 0  # every commune is resolved before the first request


@pytest.mark.parametrize(
    "setting",
    [
        {"min_score": 1.5},
        {"max_km": 0},
        {"timeout": 0},
        {"max_retries": -1},
        {"min_delay_seconds": 1.0, "error_wait_seconds": 0.5},
        {"max_consecutive_failures": 0},
        {"scheme": "ftp"},
    ],
)
def test_invalid_settings(make_geocoder: BANFactory, setting: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=next(iter(setting))):
        make_geocoder(**setting)


# --------------------------------------------------------------------------------------------
# The persistent cache


def test_cache_survives_reopening(
    server: BANServer, make_geocoder: BANFactory, tmp_path: Path
) -> None:
    server.answer(QUERY, voiron_feature())
    server.answer(
        "3 avenue Zéphyrine Grenoble",
        feature(GRENOBLE_HOME.lat, GRENOBLE_HOME.lon, citycode=GRENOBLE),
    )
    items: list[tuple[str | None, str]] = [
        (ADDRESS, VOIRON),
        ("3 avenue Zéphyrine", "38000 Grenoble"),
        ("9 chemin Zéphyrine", VOIRON),  # not found: cached too
        (None, VOIRON),
    ]
    cache = tmp_path / "cache" / "ban.sqlite"
    cache.parent.mkdir()
    with make_geocoder(cache_path=cache) as geocoder:
        first = geocoder.geocode_many(items)
        assert geocoder.cached_answers == 3
    assert server.request_count == 3
    assert [r.precision for r in first] == ["address", "address", "commune", "commune"]

    reopened = make_geocoder(cache_path=cache)
    assert reopened.geocode_many(items) == first
    # Case, accents, punctuation and spacing do not matter.
    assert reopened.geocode("12, RUE ZEPHYRINE   mainssieux", VOIRON) == first[0]
    assert server.request_count == 3  # no request the second time


def test_memory_cache_is_per_instance(server: BANServer, make_geocoder: BANFactory) -> None:
    server.answer(QUERY, voiron_feature())
    geocoder = make_geocoder(cache_path=None)
    assert geocoder.cache_path == ":memory:"
    geocoder.geocode(ADDRESS, VOIRON)
    geocoder.geocode(ADDRESS, VOIRON)
    assert server.request_count == 1
    make_geocoder(cache_path=None).geocode(ADDRESS, VOIRON)
    assert server.request_count == 2


def test_cache_is_keyed_by_commune(server: BANServer, make_geocoder: BANFactory) -> None:
    geocoder = make_geocoder()
    geocoder.geocode(ADDRESS, VOIRON)
    geocoder.geocode(ADDRESS, GRENOBLE)
    assert server.request_count == 2


def _age_answers(path: Path, days: float) -> None:
    when = (datetime.now(UTC) - timedelta(days=days)).isoformat()
    with sqlite3.connect(path) as db:
        db.execute("UPDATE ban_answers SET fetched_at = ?", (when,))
    db.close()


def test_not_found_expires(server: BANServer, make_geocoder: BANFactory, tmp_path: Path) -> None:
    cache = tmp_path / "ban.sqlite"
    with make_geocoder(cache_path=cache) as geocoder:
        assert geocoder.geocode(ADDRESS, VOIRON).flag == "not_found"
    _age_answers(cache, days=100)
    server.answer(QUERY, voiron_feature())  # the address has since been added to the BAN
    with make_geocoder(cache_path=cache) as geocoder:
        assert geocoder.geocode(ADDRESS, VOIRON).precision == "address"
    assert server.request_count == 2
    # Found answers are kept for ever by default, and expire with max_age.
    _age_answers(cache, days=1000)
    server.answer(QUERY)
    assert make_geocoder(cache_path=cache).geocode(ADDRESS, VOIRON).precision == "address"
    assert server.request_count == 2
    expiring = make_geocoder(cache_path=cache, max_age=timedelta(days=365))
    assert expiring.geocode(ADDRESS, VOIRON).flag == "not_found"
    assert server.request_count == 3


def test_cache_file_holds_no_address(
    server: BANServer, make_geocoder: BANFactory, tmp_path: Path
) -> None:
    server.answer(QUERY, voiron_feature())
    cache = tmp_path / "ban.sqlite"
    with make_geocoder(cache_path=cache) as geocoder:
        geocoder.geocode(ADDRESS, VOIRON)
        geocoder.geocode("9 chemin Zéphyrine", VOIRON)
    data = cache.read_bytes().lower()
    for word in ("zéphyrine", "zephyrine", "mainssieux", "chemin"):
        assert word.encode() not in data


def test_not_a_cache_file(make_geocoder: BANFactory, tmp_path: Path) -> None:
    garbage = tmp_path / "notes.txt"
    garbage.write_text("pas une base SQLite\n" * 100, encoding="utf-8")
    with pytest.raises(GeocodeCacheError) as info:
        make_geocoder(cache_path=garbage)
    assert isinstance(info.value, MtAccessError)
    assert isinstance(info.value, OSError)
    assert str(garbage) in str(info.value)
    other = tmp_path / "other.sqlite"
    with sqlite3.connect(other) as db:
        db.execute("CREATE TABLE patients (name TEXT)")
    db.close()
    with pytest.raises(GeocodeCacheError, match="pas un cache de géocodage"):
        make_geocoder(cache_path=other)
    with pytest.raises(GeocodeCacheError):
        make_geocoder(cache_path=tmp_path / "missing" / "dir" / "ban.sqlite")


# --------------------------------------------------------------------------------------------
# Progress and privacy


def test_progress_callback(server: BANServer, make_geocoder: BANFactory) -> None:
    server.answer(QUERY, voiron_feature())
    calls: list[tuple[int, int]] = []
    items: list[tuple[str | None, str]] = [(ADDRESS, VOIRON), (None, GRENOBLE), ("7 rue Z", VOIRON)]
    results = make_geocoder().geocode_many(items, progress=lambda d, t: calls.append((d, t)))
    assert calls == [(1, 3), (2, 3), (3, 3)]
    assert len(results) == 3
    assert make_geocoder().geocode_many([], progress=lambda d, t: calls.append((d, t))) == []
    assert len(calls) == 3


def test_logs_hold_no_address(
    server: BANServer, make_geocoder: BANFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # everything, geopy's loggers included
    server.answer(QUERY, voiron_feature())
    server.answer("4 rue Zéphyrine Voiron", status=500)
    server.fail_next(Reply(status=503))  # retried by geopy's RateLimiter, which logs it
    geocoder = make_geocoder(max_retries=1, timeout=0.3)
    items: list[tuple[str | None, str]] = [
        (ADDRESS, VOIRON),
        ("4 rue Zéphyrine", VOIRON),
        ("5 rue Zéphyrine", GRENOBLE),
    ]
    results = geocoder.geocode_many(items)
    server.default = Reply(delay=3.0)
    results.append(geocoder.geocode("6 impasse Zéphyrine", VOIRON))
    assert [r.flag for r in results] == [None, "server_error", "not_found", "timeout"]
    assert any("RateLimiter" in r.getMessage() for r in caplog.records)
    assert any(r.name == "mt_access.geo.geocoding" for r in caplog.records)
    logged = caplog.text.lower()  # messages and tracebacks
    for word in ("zéphyrine", "zephyrine", "z%c3%a9phyrine", "mainssieux", "impasse"):
        assert word not in logged
    assert VOIRON in logged  # INSEE codes are fine
