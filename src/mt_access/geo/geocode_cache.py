"""The persistent SQLite cache of the BAN's answers, keyed by a digest of the normalised
address (never the address itself).
"""

from __future__ import annotations

import os
import sqlite3
import threading
from datetime import UTC, datetime
from typing import Final

import attrs

from mt_access.errors import GeocodeCacheError
from mt_access.geo.point import Point

_SCHEMA_VERSION: Final = 1

_REASONS: Final = {
    "SQLITE_NOTADB": "ce fichier n'est pas une base SQLite",
    "SQLITE_CANTOPEN": "fichier impossible à ouvrir : dossier absent ou à sa place, ou "
    "permission refusée",
    "SQLITE_CORRUPT": "fichier endommagé",
    "SQLITE_FULL": "disque plein",
    "SQLITE_READONLY": "fichier ou support en lecture seule",
    "SQLITE_IOERR": "erreur de lecture ou d'écriture sur le disque",
    "SQLITE_PERM": "permission refusée",
    "SQLITE_AUTH": "permission refusée",
    "SQLITE_BUSY": "fichier occupé par un autre processus",
    "SQLITE_LOCKED": "fichier occupé par un autre processus",
}


def _reason(exc: sqlite3.Error) -> str:
    """SQLite's error in French, from its code (its English text is not shown)."""
    name = str(getattr(exc, "sqlite_errorname", "") or "")
    return _REASONS.get("_".join(name.split("_")[:2]), f"erreur SQLite {name}".strip())


@attrs.frozen
class CachedAnswer:
    """What the BAN answered for one query, as cached: a feature, or nothing (``found=False``)."""

    found: bool
    fetched_at: datetime
    point: Point | None = None
    score: float | None = None
    citycode: str | None = None
    result_type: str | None = None


class AnswerCache:
    """BAN answers by key, in SQLite (a file, or memory). Thread-safe."""

    def __init__(self, path: str | os.PathLike[str] | None) -> None:
        self.path = ":memory:" if path is None else os.fspath(path)
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(self.path, check_same_thread=False)
        except sqlite3.Error as exc:
            raise GeocodeCacheError(
                self.path, f"ouverture du cache de géocodage impossible ({_reason(exc)})"
            ) from exc
        try:
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            tables = {
                row[0]
                for row in self._db.execute("SELECT name FROM sqlite_master WHERE type='table'")
            }
            if version == 0 and not tables:
                with self._db:
                    self._db.execute(
                        "CREATE TABLE ban_answers ("
                        " key TEXT PRIMARY KEY,"  # SHA-256 of the INSEE code and the address
                        " insee TEXT NOT NULL,"
                        " found INTEGER NOT NULL,"
                        " lat REAL, lon REAL, score REAL, citycode TEXT, result_type TEXT,"
                        " fetched_at TEXT NOT NULL)"  # ISO 8601, UTC
                    )
                    self._db.execute(f"PRAGMA user_version = {_SCHEMA_VERSION}")
            elif version != _SCHEMA_VERSION or "ban_answers" not in tables:
                raise GeocodeCacheError(
                    self.path,
                    f"ce fichier n'est pas un cache de géocodage mt-access (version "
                    f"{_SCHEMA_VERSION} attendue) ; indiquer un autre fichier",
                )
        except sqlite3.Error as exc:
            self._db.close()
            raise GeocodeCacheError(
                self.path,
                f"cache de géocodage illisible ({_reason(exc)}) ; le supprimer ou en changer",
            ) from exc
        except GeocodeCacheError:
            self._db.close()
            raise

    def get(self, key: str) -> CachedAnswer | None:
        try:
            with self._lock:
                row = self._db.execute(
                    "SELECT found, lat, lon, score, citycode, result_type, fetched_at"
                    " FROM ban_answers WHERE key = ?",
                    (key,),
                ).fetchone()
        except sqlite3.Error as exc:
            raise GeocodeCacheError(
                self.path, f"lecture du cache impossible ({_reason(exc)})"
            ) from exc
        if row is None:
            return None
        found, lat, lon, score, citycode, result_type, fetched_at = row
        try:
            when = datetime.fromisoformat(fetched_at)
            if when.tzinfo is None:
                when = when.replace(tzinfo=UTC)
            point = Point(lat, lon) if found else None
        except (TypeError, ValueError):
            return None  # an unreadable row is as good as none: ask again
        return CachedAnswer(
            found=bool(found),
            fetched_at=when,
            point=point,
            score=score,
            citycode=citycode,
            result_type=result_type,
        )

    def put(self, key: str, insee: str, answer: CachedAnswer) -> None:
        point = answer.point
        row = (
            key,
            insee,
            int(answer.found),
            None if point is None else point.lat,
            None if point is None else point.lon,
            answer.score,
            answer.citycode,
            answer.result_type,
            answer.fetched_at.isoformat(),
        )
        try:
            with self._lock, self._db:
                self._db.execute(
                    "INSERT OR REPLACE INTO ban_answers VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", row
                )
        except sqlite3.Error as exc:
            raise GeocodeCacheError(
                self.path, f"écriture du cache impossible ({_reason(exc)})"
            ) from exc

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT count(*) FROM ban_answers").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()
