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
from typing import Any, Protocol

__all__ = [
    "AccountError",
    "AmbiguousCommuneError",
    "AnswerError",
    "CapacityExceededError",
    "CommandError",
    "ExportError",
    "FramesError",
    "GeocodeCacheError",
    "IllegalTransitionError",
    "IndicatorsError",
    "IntakeError",
    "LedgerError",
    "LetterError",
    "LetterTemplateError",
    "LifecycleError",
    "LinkRefused",
    "MapError",
    "MatchInputError",
    "MtAccessError",
    "PlotError",
    "PluginError",
    "PolicyError",
    "ReferenceDataError",
    "RegisterError",
    "RegisterOperationError",
    "SendingError",
    "SimulationError",
    "StoreError",
    "UnknownCommuneError",
    "WorkbookError",
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


class AnswerError(MtAccessError, ValueError):
    """Answers that do not fit the policy's own questions (unknown question, wrong type,
    option not listed, number out of bounds...). The message names the question and what was
    expected, never the value given."""


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


class Labelled(Protocol):
    """What an error needs of a state or an event: its French label."""

    @property
    def label(self) -> str: ...


class FramesError(MtAccessError, ValueError):
    """A frame cannot be built as asked (unknown part, values of different classes...)."""


class LetterError(MtAccessError, ValueError):
    """A letter cannot be written (erased request, no referrer, unknown format...).

    Messages name requests and GPs by id, never a patient.
    """


class SendingError(MtAccessError):
    """Letters cannot be sent: SMTP settings missing or too readable, the server offers no
    STARTTLS or refuses the login, no sender address...

    Messages never hold a password, a user name, a message body or a patient's address.
    """


class LetterTemplateError(LetterError):
    """A letter template is invalid: syntax error, unknown variable, forbidden access...

    Attributes:
        message: what is wrong (French, for coordinators).
        template: the template file.
        line: the line in ``template``, when known.
    """

    def __init__(self, message: str, *, template: str, line: int | None = None) -> None:
        self.message = message
        self.template = template
        self.line = line
        where = template if line is None else f"{template}, ligne {line}"
        super().__init__(f"modèle de courrier {where} : {message}")


class IndicatorsError(MtAccessError, ValueError):
    """Indicators cannot be computed as asked (a period ending before it starts, a request
    without its file, an unknown table...). Messages name ids and dates, never a patient."""


class PlotError(MtAccessError, OSError):
    """A plot could not be written (the folder cannot be created, a write failed)."""


class WorkbookError(MtAccessError, OSError):
    """The workbook could not be written (a folder that does not exist, a write failed)."""


class ExportError(MtAccessError):
    """A table could not be written (unknown format, a row missing a column...)."""


class RegisterError(MtAccessError, ValueError):
    """An operation on the GP register is not allowed (withdrawn GP, date going backwards...).

    Attributes:
        physician_id: the physician concerned.
    """

    def __init__(self, physician_id: str, message: str) -> None:
        self.physician_id = physician_id
        super().__init__(f"médecin {physician_id} : {message}")


class StoreError(MtAccessError):
    """The register's storage refused an operation (write outside a transaction, unknown or
    duplicate id, a register file written by a newer version, a damaged file...).

    Attributes:
        path: the register file, when there is one.
    """

    def __init__(self, message: str, *, path: str | None = None) -> None:
        self.path = path
        super().__init__(f"{path} : {message}" if path else message)


class MapError(MtAccessError, ValueError):
    """The map cannot be made as asked (class breaks out of order, unknown table part...)."""


class LifecycleError(MtAccessError, ValueError):
    """An operation on a request's lifecycle is not allowed (date going backwards, a GP who
    already refused the request, a GP who was not proposed it...).

    Attributes:
        request_id: the request concerned.
    """

    def __init__(self, request_id: str, message: str) -> None:
        self.request_id = request_id
        super().__init__(f"demande {request_id} : {message}")


class IllegalTransitionError(LifecycleError):
    """The event is not allowed in the request's current state.

    Attributes:
        request_id: the request concerned.
        state: its current state (a :class:`~mt_access.lifecycle.RequestState`).
        event: the refused event (an :class:`~mt_access.lifecycle.Event`).
        allowed: the events its current state allows (empty once the request has exited).
    """

    def __init__(
        self, request_id: str, state: Labelled, event: Labelled, allowed: Sequence[Labelled]
    ) -> None:
        self.state = state
        self.event = event
        self.allowed = tuple(allowed)
        if self.allowed:
            listed = ", ".join(f"« {e.label} »" for e in self.allowed)
            hint = f"événements possibles : {listed}"
        else:
            hint = "la demande est sortie du dispositif, aucun événement n'est plus possible"
        super().__init__(
            request_id,
            f"événement « {event.label} » impossible dans l'état « {state.label} » ; {hint}",
        )


class RegisterOperationError(MtAccessError, ValueError):
    """An operation on the register cannot be done: unknown request or GP, duplicate id,
    a GP the request cannot be proposed to..."""


class SimulationError(MtAccessError, ValueError):
    """A scenario, a policy or a comparison cannot be simulated as asked."""


class CommandError(MtAccessError):
    """A command of the ``mt-access`` command line cannot run as asked (French message); its
    exit code in :attr:`code` (see ``mt_access.cli``)."""

    def __init__(self, message: str, code: int = 1) -> None:  # 1: EXIT_INVALID_INPUT
        super().__init__(message)
        self.code = code


class AccountError(MtAccessError, ValueError):
    """An account of the web application cannot be created or changed as asked: a login
    already taken or badly written, an unknown role, a password too short (French message,
    never the password)."""


class LinkRefused(MtAccessError):
    """A GP's personal link to the web portal that cannot be used. ``reason`` is a short code
    (``invalide``: forged or damaged; ``expire``; ``revoque``; ``medecin-inconnu``), never the
    link; ``physician_id`` is the GP when the link could be read."""

    def __init__(self, reason: str, physician_id: str | None = None) -> None:
        super().__init__(f"lien médecin refusé : {reason}")
        self.reason = reason
        self.physician_id = physician_id
