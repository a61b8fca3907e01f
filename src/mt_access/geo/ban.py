"""The BAN geocoder: addresses sent to the Base Adresse Nationale through geopy, throttled,
cached, checked against the commune, with the commune's point as fallback.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from functools import partial
from types import TracebackType
from typing import Any, Final, Literal, Self
from urllib.error import URLError
from urllib.parse import urlencode

import attrs
from geopy.adapters import AdapterHTTPError, URLLibAdapter
from geopy.exc import (
    GeocoderRateLimited,
    GeocoderTimedOut,
    GeocoderUnavailable,
    GeopyError,
)
from geopy.extra.rate_limiter import RateLimiter
from geopy.geocoders import BANFrance
from geopy.geocoders.base import DEFAULT_SENTINEL

from mt_access.errors import ReferenceDataError
from mt_access.geo.communes import Commune, CommuneReference, bundled_reference
from mt_access.geo.distance import geodesic_km
from mt_access.geo.geocode_base import Flag, GeocodeResult, ProgressCallback, resolve_all
from mt_access.geo.geocode_cache import AnswerCache, CachedAnswer
from mt_access.geo.offline import commune_point
from mt_access.geo.point import Point

__all__ = ["BAN_DEFAULT_DOMAIN", "BANGeocoder"]


# The logger keeps the name of the module the BAN geocoder was first written in.
_log = logging.getLogger("mt_access.geo.geocoding")

BAN_DEFAULT_DOMAIN: Final = "api-adresse.data.gouv.fr"
"""Host of the public BAN search API (geopy's default for :class:`~geopy.geocoders.BANFrance`)."""

# Flags of failures of the service itself: not cached, retried next time, and counted by the
# circuit breaker of BANGeocoder.geocode_many.
_TRANSIENT_FLAGS: Final = frozenset({"timeout", "rate_limited", "server_error", "unavailable"})

# Municipal arrondissements: the BAN gives addresses of Paris, Marseille and Lyon the code of
# their arrondissement (75101-75120, 13201-13216, 69381-69389), not the commune's.
_ARRONDISSEMENTS: Final[Mapping[str, frozenset[str]]] = {
    "75056": frozenset(f"751{n:02d}" for n in range(1, 21)),
    "13055": frozenset(f"132{n:02d}" for n in range(1, 17)),
    "69123": frozenset(f"6938{n}" for n in range(1, 10)),
}

# The BAN search API takes queries of 3 to 200 characters starting with a letter or a digit.
_QUERY_MIN: Final = 3
_QUERY_MAX: Final = 200
_MARKS_RE = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]+")
_NON_WORD_RE = re.compile(r"[\W_]+")
_SPACE_RE = re.compile(r"\s+")
_LEADING_JUNK_RE = re.compile(r"^[\W_]+")
_ARRONDISSEMENT_SUFFIX_RE = re.compile(r"\s+\d.*$")


# -- BAN ----------------------------------------------------------------------------------


def _normalize_address(text: str) -> str:
    """Case-folded, accent-free words of ``text`` joined by one space: the cache key's text."""
    folded = unicodedata.normalize("NFKD", text.casefold().replace("œ", "oe").replace("æ", "ae"))
    return _NON_WORD_RE.sub(" ", _MARKS_RE.sub("", folded)).strip()


def _city_name(commune: Commune) -> str:
    """The city name as an address writes it (``"Paris"`` for ``"Paris 15e Arrondissement"``)."""
    if commune.kind == "arrondissement":
        return _ARRONDISSEMENT_SUFFIX_RE.sub("", commune.name)
    return commune.name


def _query_text(address: str, commune: Commune) -> str:
    """The ``q`` sent to the BAN: the address, then the city name when the address lacks it.

    The BAN scores an answer by its likeness to the whole label (number, street, postcode,
    city), so a query without the city gets a lower score for the same, right, answer.
    """
    text = _LEADING_JUNK_RE.sub("", _SPACE_RE.sub(" ", address).strip())
    city = _city_name(commune)
    if _normalize_address(city) not in _normalize_address(text):
        text = f"{text[: _QUERY_MAX - len(city) - 1].rstrip()} {city}"
    return text[:_QUERY_MAX].rstrip()


@attrs.frozen(repr=False)
class _Query:
    """One BAN query. Its ``repr`` hides the address: geopy's RateLimiter logs its arguments."""

    text: str
    citycode: str | None

    def __repr__(self) -> str:
        return "<requête BAN masquée>"


class _MalformedAnswerError(Exception):
    """The BAN answered, but not with a usable GeoJSON feature."""


class _FilteredBANFrance(BANFrance):  # type: ignore[misc]  # geopy is untyped
    """geopy's BANFrance, with the ``citycode`` filter and ``autocomplete=0``.

    ``BANFrance.geocode`` only sends ``q`` and ``limit``, and logs the URL (hence the address)
    at DEBUG level. This override sends the filters the BAN search API documents and logs
    nothing; the request, the HTTP error mapping and the parsing are geopy's.
    """

    def geocode(
        self,
        query: str,
        *,
        citycode: str | None = None,
        limit: int | None = None,
        exactly_one: bool = True,
        timeout: Any = DEFAULT_SENTINEL,
    ) -> Any:
        params: dict[str, str | int] = {"q": query, "autocomplete": 0}
        if citycode is not None:
            params["citycode"] = citycode
        if limit is not None:
            params["limit"] = limit
        url = "?".join((self.geocode_api, urlencode(params)))
        callback = partial(self._parse_json, exactly_one=exactly_one)
        return self._call_geocoder(url, callback, timeout=timeout)


def _answer_from(location: Any, now: datetime) -> CachedAnswer:
    """Read geopy's Location (or ``None``) into an :class:`_Answer`."""
    if location is None:
        return CachedAnswer(found=False, fetched_at=now)
    try:
        point = Point(location.latitude, location.longitude)
        raw = location.raw if isinstance(location.raw, Mapping) else {}
        properties = raw.get("properties")
        properties = properties if isinstance(properties, Mapping) else {}
        score = properties.get("score")
        if score is not None:
            if isinstance(score, bool) or not isinstance(score, int | float):
                raise _MalformedAnswerError("score non numérique")
            score = float(score)
            if not math.isfinite(score):
                raise _MalformedAnswerError("score non fini")
        citycode = properties.get("citycode")
        result_type = properties.get("type")
    except (TypeError, ValueError, AttributeError) as exc:
        raise _MalformedAnswerError(type(exc).__name__) from exc
    return CachedAnswer(
        found=True,
        fetched_at=now,
        point=point,
        score=score,
        citycode=citycode if isinstance(citycode, str) else None,
        result_type=result_type if isinstance(result_type, str) else None,
    )


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen and len(seen) < 10:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def _failure_flag(exc: BaseException) -> Flag:
    """The flag of a failed request, from geopy's exception and what caused it."""
    chain = _chain(exc)
    status = next(
        (e.status_code for e in chain if isinstance(e, AdapterHTTPError) and e.status_code),
        None,
    )
    if isinstance(exc, GeocoderRateLimited) or status == 429:
        return "rate_limited"
    if status is not None:
        # geopy maps 503 and 504 to GeocoderTimedOut: the server answered, with an error.
        return "timeout" if status == 408 else "server_error"
    if isinstance(exc, GeocoderTimedOut):
        return "timeout"
    if isinstance(exc, GeocoderUnavailable):
        return "unavailable"
    for cause in chain[1:]:
        if isinstance(cause, TimeoutError):
            return "timeout"
        if isinstance(cause, URLError | ConnectionError) and not isinstance(
            cause, AdapterHTTPError
        ):
            return "unavailable"
    return "server_error"


@attrs.frozen
class _Target:
    """A resolved commune and what the checks need of it."""

    commune: Commune
    point: Point | None
    citycodes: frozenset[str]  # the BAN citycodes accepted as this commune
    citycode_filter: str | None  # the citycode sent to the BAN


class BANGeocoder:
    """Address geocoding through the Base Adresse Nationale (BAN), with fallbacks.

    Each address is sent, with the city name appended when it lacks one, to the BAN search
    API (geopy's :class:`~geopy.geocoders.BANFrance`), filtered on the commune's INSEE code
    (``citycode``; not for Paris, Marseille and Lyon, whose addresses carry their
    arrondissement's code). The best answer is used when:

    - it is an address, a street or a locality (an answer for the municipality as a whole
      gives ``"not_found"``);
    - its score is at least ``min_score`` (else ``"low_score"``);
    - it lies in the commune (else ``"outside_commune"``): ``contains(insee, point)`` when
      given (a polygon check such as ``CommuneShapes.contains``), else its ``citycode`` must
      be the commune's (or one of its arrondissements') and the point within ``max_km`` of
      the commune's point.

    Otherwise the result is the commune's point with the flag. Timeouts (``"timeout"``),
    HTTP 429 (``"rate_limited"``), other HTTP errors and malformed answers
    (``"server_error"``) and connection failures (``"unavailable"``) fall back the same way,
    after geopy's rate limiter has retried ``max_retries`` times; they never raise.

    Answers, including "nothing found", are cached in SQLite (``cache_path``, or memory when
    ``None``) by the INSEE code and the normalised address (case, accents, punctuation and
    spacing do not matter), so a batch run twice sends each address once. Failures are not
    cached: the next run asks again. "Nothing found" answers older than
    ``not_found_max_age`` (and any answer older than ``max_age``, when set) are asked again.
    The checks run on the cached answer each time, so changing ``min_score``, ``max_km`` or
    ``contains`` needs no new request.

    Close the geocoder (or use it in a ``with`` block) to close the cache file.

    Args:
        reference: the commune reference; the bundled one by default.
        domain: host (and path prefix) of the BAN search API; the local server in tests.
        scheme: ``"https"`` or ``"http"``.
        timeout: seconds to wait for each answer.
        user_agent: the HTTP ``User-Agent``.
        proxies: geopy's proxies mapping; ``None`` uses the environment's (``HTTPS_PROXY``...).
        min_delay_seconds: least delay between two requests (geopy's RateLimiter). The public
            BAN allows 50 requests a second per IP address.
        max_retries: retries of a failed request (timeout, HTTP error) before falling back.
        error_wait_seconds: wait before each retry; at least ``min_delay_seconds``.
        cache_path: the SQLite cache file (created if missing), or ``None`` for memory.
        max_age: answers older than this are asked again; ``None``: kept for ever.
        not_found_max_age: "nothing found" answers older than this are asked again (the BAN
            gains addresses every week); ``None``: kept for ever.
        min_score: least BAN score (0 to 1) to use an answer.
        max_km: when ``contains`` is ``None``, greatest distance in km from the commune's point
            for an answer to be in the commune. Raise it for very large communes (Arles,
            Guyane) or give ``contains``.
        contains: ``contains(insee, point)`` tells whether the point lies in the commune. A
            :class:`LookupError` or :class:`~mt_access.errors.ReferenceDataError` from it (no
            outline for this commune) falls back to the citycode and distance check.
        max_consecutive_failures: in :meth:`geocode_many`, after this many failures in a row
            the service is deemed down: the remaining addresses not in the cache are not sent
            and get their commune's point with ``"unavailable"``. ``None``: never.

    Raises:
        ValueError: a setting is out of range.
        GeocodeCacheError: the cache file cannot be opened or is not a geocoding cache.
    """

    def __init__(
        self,
        *,
        reference: CommuneReference | None = None,
        domain: str = BAN_DEFAULT_DOMAIN,
        scheme: Literal["http", "https"] = "https",
        timeout: float = 10.0,
        user_agent: str = "mt-access",
        proxies: Mapping[str, str] | None = None,
        min_delay_seconds: float = 0.05,
        max_retries: int = 2,
        error_wait_seconds: float = 5.0,
        cache_path: str | os.PathLike[str] | None = None,
        max_age: timedelta | None = None,
        not_found_max_age: timedelta | None = timedelta(days=90),
        min_score: float = 0.5,
        max_km: float = 15.0,
        contains: Callable[[str, Point], bool] | None = None,
        max_consecutive_failures: int | None = 3,
    ) -> None:
        if scheme not in ("http", "https"):
            raise ValueError(f"scheme : 'http' ou 'https' attendu, reçu {scheme!r}")
        if not timeout > 0:
            raise ValueError(f"timeout : nombre de secondes positif attendu, reçu {timeout!r}")
        if not min_delay_seconds >= 0:
            raise ValueError(
                f"min_delay_seconds : nombre positif ou nul attendu, reçu {min_delay_seconds!r}"
            )
        if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
            raise ValueError(f"max_retries : entier positif ou nul attendu, reçu {max_retries!r}")
        if not error_wait_seconds >= min_delay_seconds:
            raise ValueError(
                "error_wait_seconds doit être au moins égal à min_delay_seconds, reçu "
                f"{error_wait_seconds!r} < {min_delay_seconds!r}"
            )
        if not 0.0 <= min_score <= 1.0:
            raise ValueError(f"min_score : nombre entre 0 et 1 attendu, reçu {min_score!r}")
        if not max_km > 0:
            raise ValueError(f"max_km : distance positive attendue, reçu {max_km!r}")
        if max_consecutive_failures is not None and (
            isinstance(max_consecutive_failures, bool)
            or not isinstance(max_consecutive_failures, int)
            or max_consecutive_failures < 1
        ):
            raise ValueError(
                "max_consecutive_failures : entier strictement positif ou None attendu, reçu "
                f"{max_consecutive_failures!r}"
            )
        self._reference = reference if reference is not None else bundled_reference()
        self._ban = _FilteredBANFrance(
            domain=domain,
            scheme=scheme,
            timeout=timeout,
            proxies=DEFAULT_SENTINEL if proxies is None else dict(proxies),
            user_agent=user_agent,
            # The standard library's HTTP client, always: geopy prefers `requests` when it is
            # installed (another package may bring it), and its adapter retries on its own
            # (urllib3), which would hide timeouts and rate limits from the retry policy below.
            adapter_factory=URLLibAdapter,
        )
        self._send = RateLimiter(
            self._request,
            min_delay_seconds=min_delay_seconds,
            max_retries=max_retries,
            error_wait_seconds=error_wait_seconds,
            swallow_exceptions=False,
        )
        self._max_age = max_age
        self._not_found_max_age = not_found_max_age
        self._min_score = float(min_score)
        self._max_km = float(max_km)
        self._contains = contains
        self._max_consecutive_failures = max_consecutive_failures
        self._cache = AnswerCache(cache_path)
        self._closed = False

    def __repr__(self) -> str:
        return f"<BANGeocoder: {self._ban.geocode_api}, cache {self._cache.path}>"

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the cache and geopy's HTTP adapter. Calling it again does nothing."""
        if not self._closed:
            self._closed = True
            self._cache.close()
            self._ban.__exit__(None, None, None)

    @property
    def reference(self) -> CommuneReference:
        """The commune reference communes are resolved in."""
        return self._reference

    @property
    def url(self) -> str:
        """The search URL requests are sent to (without the query)."""
        return str(self._ban.geocode_api)

    @property
    def cache_path(self) -> str:
        """The cache file, or ``":memory:"``."""
        return self._cache.path

    @property
    def cached_answers(self) -> int:
        """How many answers the cache holds."""
        return len(self._cache)

    # -- geocoding ------------------------------------------------------------------------

    def geocode(self, address: str | None, commune: str) -> GeocodeResult:
        """Return the point of ``address`` in ``commune``, or the commune's point with a flag.

        Without an address (``None`` or blank), the commune's point without a flag.

        Raises:
            UnknownCommuneError: the commune is not in the reference.
            AmbiguousCommuneError: the commune's name matches several communes.
            ReferenceDataError: the commune has no point in the reference and the address
                could not be placed (nothing to fall back to).
            GeocodeCacheError: the cache file cannot be read or written.
        """
        target = self._target(self._reference.resolve(commune))
        result, _outcome = self._geocode(address, target, send=True)
        return result

    def geocode_many(
        self,
        items: Sequence[tuple[str | None, str]],
        progress: ProgressCallback | None = None,
    ) -> list[GeocodeResult]:
        """Geocode ``(address, commune)`` pairs, in order.

        Every commune is resolved before the first request, so an unknown commune raises
        before anything is sent (with a note naming the item). ``progress(done, total)`` is
        called after each item. See :meth:`geocode` and ``max_consecutive_failures``.
        """
        communes = resolve_all(self._reference, items)
        targets: dict[str, _Target] = {}
        total = len(items)
        results: list[GeocodeResult] = []
        outcomes: Counter[str] = Counter()
        failures_in_a_row = 0
        tripped = False
        for done, ((address, _text), commune) in enumerate(zip(items, communes, strict=True), 1):
            target = targets.get(commune.insee)
            if target is None:
                target = targets[commune.insee] = self._target(commune)
            result, outcome = self._geocode(address, target, send=not tripped)
            outcomes[outcome] += 1
            if outcome == "request":
                if result.flag in _TRANSIENT_FLAGS:
                    failures_in_a_row += 1
                    limit = self._max_consecutive_failures
                    if limit is not None and failures_in_a_row >= limit and not tripped:
                        tripped = True
                        _log.warning(
                            "géocodage BAN : %d échecs consécutifs (dernier : %s), service jugé "
                            "indisponible ; les adresses restantes hors cache sont placées au "
                            "point de leur commune",
                            failures_in_a_row,
                            result.flag,
                        )
                else:
                    failures_in_a_row = 0
            results.append(result)
            if progress is not None:
                progress(done, total)
        flags = Counter(r.flag for r in results if r.flag is not None)
        _log.info(
            "géocodage BAN : %d élément(s), %d au point de l'adresse, %d au point de la commune "
            "; %d requête(s), %d réponse(s) du cache, %d sans adresse, %d non envoyée(s) ; "
            "signaux : %s",
            total,
            sum(r.precision == "address" for r in results),
            sum(r.precision == "commune" for r in results),
            outcomes["request"],
            outcomes["cache"],
            outcomes["no_address"],
            outcomes["skipped"],
            ", ".join(f"{flag} {n}" for flag, n in sorted(flags.items())) or "aucun",
        )
        return results

    # -- helpers --------------------------------------------------------------------------

    def _target(self, commune: Commune) -> _Target:
        arrondissements = _ARRONDISSEMENTS.get(commune.insee)
        return _Target(
            commune=commune,
            point=commune.point,
            citycodes=frozenset({commune.insee}) | (arrondissements or frozenset()),
            citycode_filter=None if arrondissements else commune.insee,
        )

    def _fallback(self, target: _Target, flag: Flag | None, score: float | None) -> GeocodeResult:
        point = commune_point(self._reference, target.commune)
        return GeocodeResult(point, target.commune.insee, "commune", flag, score)

    def _geocode(
        self, address: str | None, target: _Target, *, send: bool
    ) -> tuple[GeocodeResult, str]:
        """Geocode one address; also say where the answer came from.

        Outcomes: ``"no_address"``, ``"cache"``, ``"request"`` (sent, answered or failed),
        ``"skipped"`` (not sent: the service is deemed down).
        """
        insee = target.commune.insee
        if address is None or not address.strip():
            return self._fallback(target, None, None), "no_address"
        normalized = _normalize_address(address)
        if len(normalized.replace(" ", "")) < _QUERY_MIN:
            _log.debug("géocodage BAN : commune %s, adresse trop courte pour la BAN", insee)
            return self._fallback(target, "not_found", None), "no_address"
        key = hashlib.sha256(f"{insee}\x1f{normalized}".encode()).hexdigest()
        answer = self._cache.get(key)
        if answer is not None and not self._expired(answer):
            result = self._evaluate(answer, target)
            _log.debug("géocodage BAN : commune %s, cache, signal %s", insee, result.flag)
            return result, "cache"
        if not send:
            return self._fallback(target, "unavailable", None), "skipped"
        query = _Query(_query_text(address, target.commune), target.citycode_filter)
        try:
            location = self._send(query)
            answer = _answer_from(location, datetime.now(UTC))
        except (GeopyError, _MalformedAnswerError) as exc:
            flag = "server_error" if isinstance(exc, _MalformedAnswerError) else _failure_flag(exc)
            _log.debug("géocodage BAN : commune %s, échec %s (%s)", insee, flag, type(exc).__name__)
            return self._fallback(target, flag, None), "request"
        self._cache.put(key, insee, answer)
        result = self._evaluate(answer, target)
        _log.debug("géocodage BAN : commune %s, réponse, signal %s", insee, result.flag)
        return result, "request"

    def _request(self, query: _Query) -> Any:
        """One HTTP request through geopy; what :attr:`_send` rate-limits and retries."""
        try:
            return self._ban.geocode(query.text, citycode=query.citycode, limit=1)
        except GeopyError:
            raise
        except (KeyError, IndexError, TypeError, ValueError, AttributeError) as exc:
            # geopy's parsing of a feature without coordinates, or of a non-object answer.
            raise _MalformedAnswerError(type(exc).__name__) from exc

    def _expired(self, answer: CachedAnswer) -> bool:
        age = datetime.now(UTC) - answer.fetched_at
        if self._max_age is not None and age > self._max_age:
            return True
        return (
            not answer.found and self._not_found_max_age is not None
        ) and age > self._not_found_max_age

    def _evaluate(self, answer: CachedAnswer, target: _Target) -> GeocodeResult:
        """Apply the checks to an answer (fresh or cached)."""
        if not answer.found or answer.point is None or answer.result_type == "municipality":
            return self._fallback(target, "not_found", answer.score)
        if answer.score is not None and answer.score < self._min_score:
            return self._fallback(target, "low_score", answer.score)
        if not self._inside(answer.point, answer.citycode, target):
            return self._fallback(target, "outside_commune", answer.score)
        return GeocodeResult(answer.point, target.commune.insee, "address", None, answer.score)

    def _inside(self, point: Point, citycode: str | None, target: _Target) -> bool:
        insee = target.commune.insee
        if self._contains is not None:
            try:
                return bool(self._contains(insee, point))
            except (LookupError, ReferenceDataError) as exc:
                _log.debug(
                    "géocodage BAN : commune %s, pas de contour (%s), contrôle par code et "
                    "distance",
                    insee,
                    type(exc).__name__,
                )
        if citycode not in target.citycodes:
            return False
        return target.point is None or geodesic_km(target.point, point) <= self._max_km
