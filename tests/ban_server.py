"""A local stand-in for the BAN search API, for the geocoding tests.

:class:`BANServer` is an HTTP server on 127.0.0.1 (ephemeral port, its own thread) that
answers ``GET /search`` and ``GET /search/`` like api-adresse.data.gouv.fr: a GeoJSON
FeatureCollection whose features have a Point geometry ``[lon, lat]`` and the BAN properties
(``label``, ``score``, ``citycode``, ``postcode``, ``city``, ``type``...). Tests script its
answers and read back the requests it received::

    with BANServer() as server:
        server.answer("12 rue Mainssieux Voiron", feature(45.36, 5.59, citycode="38563"))
        server.fail_next(Reply(status=503))
        geocoder = BANGeocoder(domain=server.domain, scheme="http", ...)
        ...
        assert server.request_count == 2

Only the loopback interface is used; nothing here reaches the internet.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Mapping, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

import attrs

__all__ = ["BANServer", "Reply", "feature"]


def feature(
    lat: float,
    lon: float,
    *,
    label: str = "12 Rue Mainssieux 38500 Voiron",
    score: float | None = 0.93,
    citycode: str = "38563",
    postcode: str = "38500",
    city: str = "Voiron",
    type: str = "housenumber",
) -> dict[str, Any]:
    """A BAN search feature (GeoJSON), with the properties the real API returns."""
    properties: dict[str, Any] = {
        "label": label,
        "housenumber": label.split(" ", 1)[0],
        "id": f"{citycode}_xxxx_00012",
        "name": label.rsplit(f" {postcode}", 1)[0],
        "postcode": postcode,
        "citycode": citycode,
        "x": 911000.0,
        "y": 6475000.0,
        "city": city,
        "context": "38, Isère, Auvergne-Rhône-Alpes",
        "type": type,
        "importance": 0.62,
        "street": "Rue Mainssieux",
    }
    if score is not None:
        properties["score"] = score
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
        "properties": properties,
    }


@attrs.frozen
class Reply:
    """One scripted answer.

    Attributes:
        features: the features of the FeatureCollection (empty: nothing found).
        status: the HTTP status; with an error status the body is ``body`` or a BAN-like error.
        delay: seconds to wait before answering (to provoke client timeouts).
        headers: extra response headers (``Retry-After``...).
        body: a raw body replacing the FeatureCollection (malformed answers).
    """

    features: Sequence[Mapping[str, Any]] = ()
    status: int = 200
    delay: float = 0.0
    headers: Mapping[str, str] = attrs.field(factory=dict)
    body: str | None = None


@attrs.frozen
class Received:
    """A request the server received: its path and query parameters (first value of each)."""

    path: str
    params: Mapping[str, str]


class BANServer:
    """The local BAN stand-in; a context manager that starts and stops it.

    Answers, by priority: a reply queued with :meth:`fail_next` (each used once, in order),
    the reply registered with :meth:`answer` for the exact ``q``, else :attr:`default`
    (nothing found).
    """

    def __init__(self) -> None:
        self.default = Reply()
        self._by_query: dict[str, Reply] = {}
        self._queued: deque[Reply] = deque()
        self._received: list[Received] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    # -- lifecycle ------------------------------------------------------------------------

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stopping.set()  # releases the handlers waiting out a delay
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    @property
    def domain(self) -> str:
        """``host:port`` to give geopy's ``domain``."""
        host, port = self._httpd.server_address[:2]
        return f"{host!s}:{port}"

    # -- scripting ------------------------------------------------------------------------

    def answer(self, query: str, *features: Mapping[str, Any], **reply: Any) -> None:
        """Answer ``features`` (or the ``Reply`` fields in ``reply``) when ``q == query``."""
        with self._lock:
            self._by_query[query] = Reply(features=features, **reply)

    def fail_next(self, *replies: Reply) -> None:
        """Queue replies for the next requests, whatever their query."""
        with self._lock:
            self._queued.extend(replies)

    # -- what was received ----------------------------------------------------------------

    @property
    def received(self) -> list[Received]:
        with self._lock:
            return list(self._received)

    @property
    def request_count(self) -> int:
        with self._lock:
            return len(self._received)

    # -- serving --------------------------------------------------------------------------

    def _reply_for(self, received: Received) -> Reply:
        with self._lock:
            self._received.append(received)
            if self._queued:
                return self._queued.popleft()
            return self._by_query.get(received.params.get("q", ""), self.default)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep the test output clean (and the queries out of it)

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                if parts.path.rstrip("/") != "/search":
                    self._send(404, {"code": 404, "message": "not found"}, {})
                    return
                params = {k: v[0] for k, v in parse_qs(parts.query).items()}
                reply = server._reply_for(Received(parts.path, params))
                if reply.delay and server._stopping.wait(reply.delay):
                    return  # shutting down
                if reply.body is not None:
                    self._send(reply.status, reply.body, reply.headers)
                elif reply.status >= 400:
                    error = {"code": reply.status, "message": "scripted error"}
                    self._send(reply.status, error, reply.headers)
                else:
                    collection = {
                        "type": "FeatureCollection",
                        "version": "draft",
                        "features": list(reply.features),
                        "attribution": "BAN",
                        "licence": "ETALAB-2.0",
                        "query": params.get("q", ""),
                        "filters": {k: params[k] for k in ("citycode", "postcode") if k in params},
                        "limit": int(params.get("limit", "5")),
                    }
                    self._send(reply.status, collection, reply.headers)

            def _send(self, status: int, payload: object, headers: Mapping[str, str]) -> None:
                text = payload if isinstance(payload, str) else json.dumps(payload)
                data = text.encode("utf-8")
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json; charset=utf-8")
                    self.send_header("Content-Length", str(len(data)))
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout tests)

        return Handler
