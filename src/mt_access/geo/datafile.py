"""What the readers of reference data files (the communes' CSV, the outlines' GeoJSON)
share: reading a file's bytes and undoing its gzip compression.
"""

from __future__ import annotations

import gzip
import zlib

from mt_access.errors import ReferenceDataError

__all__ = ["gunzipped", "read_data_file"]


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
