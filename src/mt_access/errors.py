"""The project's exception hierarchy.

Every exception raised on purpose by mt-access derives from :class:`MtAccessError`.
Subclasses also inherit the matching builtin (``ValueError``, ``KeyError``, ``LookupError``)
so that generic ``except ValueError`` code keeps working, as attrs and geopy do.

Messages name *where* (file, line, row, key path, field) and *what was expected*. They never
contain a patient's name, birth date, contact or address: only identifiers chosen by the CPTS
(request ids, INSEE codes, physician ids).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = [
    "AmbiguousCommuneError",
    "CapacityExceededError",
    "GeocodeCacheError",
    "IntakeError",
    "LedgerError",
    "MatchInputError",
    "MtAccessError",
    "PluginError",
    "PolicyError",
    "ReferenceDataError",
    "UnknownCommuneError",
]


class MtAccessError(Exception):
    """Base class of every error raised by mt-access."""


class PolicyError(MtAccessError, ValueError):
    """A policy file (or mapping) is invalid.

    Attributes:
        message: what is wrong and what was expected (French, for coordinators).
        source: the file the policy came from, or ``"<dict>"``.
        line: 1-based line in ``source`` where the faulty value starts, when known.
        path: JSON-path-like location of the faulty key, e.g. ``$.routing.priority.router``.
    """

    def __init__(
        self,
        message: str,
        *,
        source: str = "<dict>",
        line: int | None = None,
        path: str = "$",
    ) -> None:
        self.message = message
        self.source = source
        self.line = line
        self.path = path
        where = source if line is None else f"{source}:{line}"
        super().__init__(f"{where}: {path}: {message}")


class MatchInputError(MtAccessError, ValueError):
    """The inputs of a match run are inconsistent (duplicate ids, commune without a point...)."""


class PluginError(MtAccessError, RuntimeError):
    """A plugin registered something invalid (duplicate kind name, wrong return type...)."""


class ReferenceDataError(MtAccessError, ValueError):
    """Reference data (commune file, outlines) is malformed or lacks something needed."""


class UnknownCommuneError(ReferenceDataError, LookupError):
    """A commune (INSEE code, postal code or name) is not in the reference.

    Attributes:
        query: what was looked up.
        suggestions: for a name, the names of the reference closest to it (« vouliez-vous
            dire … ? », also at the end of the message), closest first; else empty.
    """

    def __init__(
        self, query: str, message: str | None = None, suggestions: Sequence[str] = ()
    ) -> None:
        self.query = query
        self.suggestions = tuple(suggestions)
        super().__init__(message or f"commune inconnue du référentiel : {query!r}")


class AmbiguousCommuneError(ReferenceDataError, LookupError):
    """A commune name matches several communes.

    Attributes:
        query: what was looked up.
        candidates: ``(insee, name, department)`` of each matching commune, sorted.
    """

    def __init__(self, query: str, candidates: Sequence[tuple[str, str, str]]) -> None:
        self.query = query
        self.candidates = tuple(candidates)
        listed = ", ".join(f"{name} ({insee}, dép. {dep})" for insee, name, dep in self.candidates)
        super().__init__(
            f"nom de commune ambigu : {query!r} correspond à {len(self.candidates)} communes : "
            f"{listed} ; précisez le code INSEE ou le code postal"
        )


class GeocodeCacheError(MtAccessError, OSError):
    """The geocoding cache file cannot be opened, read or written.

    Attributes:
        path: the cache file.
    """

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        super().__init__(f"{path} : {message}")


class IntakeError(MtAccessError, ValueError):
    """An intake file or one of its cells cannot be read.

    ``str(error)`` names where (file, row, column) and what was expected, never the offending
    value: that may identify a patient, so it is only kept in :attr:`value`, for the per-row
    report shown to the coordinator.

    Attributes:
        expected: what was expected (French, for coordinators).
        source: the file, when known.
        row: the spreadsheet row number (the header row is usually 1), when known.
        column: the column header, when known.
        value: the offending cell text, when the error is about one cell.
    """

    def __init__(
        self,
        expected: str,
        *,
        source: str | None = None,
        row: int | None = None,
        column: str | None = None,
        value: str | None = None,
    ) -> None:
        self.expected = expected
        self.source = source
        self.row = row
        self.column = column
        self.value = value
        where = []
        if source is not None:
            where.append(source)
        if row is not None:
            where.append(f"ligne {row}")
        if column is not None:
            where.append(f"colonne « {column} »")
        super().__init__(f"{', '.join(where)} : {expected}" if where else expected)

    def at(
        self, *, source: str | None = None, row: int | None = None, column: str | None = None
    ) -> IntakeError:
        """A copy of this error located at ``source``/``row``/``column`` (unset ones are kept)."""
        return IntakeError(
            self.expected,
            source=self.source if source is None else source,
            row=self.row if row is None else row,
            column=self.column if column is None else column,
            value=self.value,
        )

    def __reduce__(self) -> tuple[Any, ...]:
        kwargs = {
            "source": self.source,
            "row": self.row,
            "column": self.column,
            "value": self.value,
        }
        return (_rebuild_intake_error, (self.expected, kwargs))


def _rebuild_intake_error(expected: str, kwargs: dict[str, Any]) -> IntakeError:
    return IntakeError(expected, **kwargs)


class LedgerError(MtAccessError, ValueError):
    """An operation on a capacity ledger is not allowed."""


class CapacityExceededError(LedgerError):
    """A placement would exceed a physician's capacity for the month.

    Attributes:
        physician_id: the physician.
        month: the month, as ``YYYY-MM``.
        requested: persons the placement asked for.
        remaining: persons still available that month.
    """

    def __init__(self, physician_id: str, month: str, requested: int, remaining: int) -> None:
        self.physician_id = physician_id
        self.month = month
        self.requested = requested
        self.remaining = remaining
        super().__init__(
            f"capacité dépassée pour le médecin {physician_id} en {month} : "
            f"{requested} personne(s) demandée(s), {remaining} place(s) restante(s)"
        )
