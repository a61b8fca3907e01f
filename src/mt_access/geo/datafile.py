"""What the readers of reference data files (the communes' CSV, the outlines' GeoJSON)
share: reading a file's bytes, undoing its gzip compression, and the INSEE code as a key
of their lookups.
"""

from __future__ import annotations

import gzip
import zlib

from mt_access.errors import ReferenceDataError, UnknownCommuneError

__all__ = ["gunzipped", "insee_key", "normalize_code", "read_data_file"]


def read_data_file(filename: str, what: str) -> bytes:
    """The bytes of the file ``filename``, a file of ``what`` (« communes », « contours »).

    Raises:
        ReferenceDataError: the file cannot be read (the reason given by the system).
    """
    try:
        with open(filename, "rb") as stream:
            return stream.read()
    except OSError as exc:
        raise ReferenceDataError(
            f"{filename} : lecture du fichier de {what} impossible ({exc.strerror or exc})"
        ) from exc


def gunzipped(data: bytes, filename: str) -> bytes:
    """``data`` decompressed when it is gzip-compressed (its first two bytes say so), else
    as it is.

    Raises:
        ReferenceDataError: a gzip stream that does not decompress (damaged, truncated).
    """
    if data[:2] != b"\x1f\x8b":
        return data
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as exc:
        raise ReferenceDataError(f"{filename} : fichier gzip illisible ou tronqué ({exc})") from exc


def normalize_code(code: str) -> str:
    """An INSEE code as the lookups key it (``" 2a004"`` → ``"2A004"``)."""
    return code.strip().upper()


def insee_key(insee: object) -> str:
    """The key of the INSEE code ``insee`` (:func:`normalize_code`) for a lookup.

    Raises:
        UnknownCommuneError: ``insee`` is not a text.
    """
    if not isinstance(insee, str):
        raise UnknownCommuneError(
            repr(insee), f"code INSEE attendu sous forme de texte, reçu {insee!r}"
        )
    return normalize_code(insee)
