"""The storage interface of a CPTS register, and the values it stores besides the domain model.

The :class:`~mt_access.register.Register` does every operation through a :class:`Store`: it reads
what it needs, computes the change with the pure core (lifecycle, GP register, ledger, engine)
and writes the change inside one :meth:`Store.transaction`. A store keeps:

* the requests, each with the patient's :class:`~mt_access.model.PatientIdentity` (kept apart,
  erasable) and its :class:`~mt_access.lifecycle.RequestFile` (state and the append-only history
  of transitions);
* the physicians (with their status history);
* the capacity ledger's entries, append-only;
* the match runs;
* the accounts of the web application's users and its audit trail (append-only).

Two implementations ship: :class:`~mt_access.store.memory.MemoryStore` (tests, notebooks,
what-if copies) and :class:`~mt_access.store.sqlite.SQLiteStore` (one file on the CPTS's own
machine, the default). Another backend implements this protocol; the contract tests in
``tests/test_store_contract.py`` say what it must do.

Contract shared by every method:

* reads return values in a deterministic order (requests and physicians by id; transitions
  and ledger entries in recording order);
* ``Request.declined_by`` as read back is the request file's ``declined_by`` (GPs who refused
  it, here or before it arrived);
* writes outside a :meth:`Store.transaction` raise :class:`StoreError`; a transaction that
  raises leaves the store exactly as before it; nested transactions join the outer one;
* :attr:`Store.version` changes at every committed transaction, so a register can tell that
  another process wrote in the meantime;
* :meth:`Store.data_version` changes at every committed transaction that changed the register's
  data (requests, identities, files, physicians, ledger, runs, imported rows), and not at one
  that only wrote the audit trail, accounts, settings or sendings: figures computed from the
  whole register (waiting list ranks, dashboard, listing lines) are kept under it;
* :meth:`Store.physicians_version` changes at every committed transaction that wrote a
  physician, and not at one that only wrote other data: a register keeps its GPs under it;
* :meth:`Store.changed_requests` tells which requests changed since a data version, so that a
  figure kept per request (a level, a rank) is computed again for those alone.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Protocol, runtime_checkable

import attrs

from mt_access.errors import StoreError
from mt_access.ledger import LedgerEntry
from mt_access.lifecycle import RequestFile, RequestState, Transition
from mt_access.model import KnownPerson, PatientIdentity, Physician, Request

__all__ = [
    "NESTED_DURABLE",
    "ROLES",
    "AuditRecord",
    "KnownPerson",
    "PersonalRecord",
    "RequestSummary",
    "RunRecord",
    "SendingRecord",
    "Store",
    "StoreError",
    "UserRecord",
    "check_history",
    "erased_answer",
    "ledger_position",
    "version_number",
]

NESTED_DURABLE = (
    "transaction durable demandée dans une transaction qui n'attend pas le disque : "
    "rien n'a été enregistré"
)
"""The message of :meth:`Store.transaction` when a durable transaction is nested in a
non-durable one (a program error)."""

ROLES: tuple[str, ...] = ("admin", "coordinateur", "lecture")
"""The roles of a web application account, from the most to the least rights: ``admin``
(everything, accounts and audit trail included), ``coordinateur`` (every register action),
``lecture`` (read only)."""


@attrs.frozen
class RequestSummary:
    """One line of a listing of requests: enough to show and sort, no personal data.

    Attributes:
        id: the request.
        state: its current state.
        received: when the CPTS received it.
        last_event: the date of its latest transition.
        commune: INSEE code of the patient's commune.
        persons: the persons it covers (its household's size).
        urgent: care needed within a month.
        proposed_to: GPs it is currently proposed to, sorted.
        searching: its persons still searching (no MT found, no exit; pending proposals
            included); 0 once the request exited. The waiting demand counts these.
    """

    id: str
    state: RequestState
    received: dt.date
    last_event: dt.date
    commune: str
    persons: int
    urgent: bool
    proposed_to: tuple[str, ...] = ()
    searching: int = 0


@attrs.frozen
class PersonalRecord:
    """What :meth:`Store.personal_records` reads of one request at once.

    Attributes:
        request: as :meth:`Store.get_request` reads it.
        identity: as :meth:`Store.get_identity` reads it (``None`` if the register has none).
        erased_on: as :meth:`Store.erased_on` reads it.
    """

    request: Request
    identity: PatientIdentity | None
    erased_on: dt.date | None


@attrs.frozen
class RunRecord:
    """A committed match run.

    Attributes:
        number: 1, 2, ... in commit order (0 before the store numbers it).
        on: the run's reference date.
        month: the capacity month, ``YYYY-MM``.
        policy_code: the policy used.
        placements, orientations, waiting, rejected: counts of the run's outcomes (requests
            for orientations, waiting and rejected; placements for placements).
        tagged: the run's number is recorded on the events it made
            (:attr:`~mt_access.transitions.Transition.run`): its letters are found by its
            number. ``False`` for a run recorded before (SQLite schema 10, PostgreSQL schema
            12): its events are found by its date, shared with any run of the same day.
    """

    number: int
    on: dt.date
    month: str
    policy_code: str
    placements: int
    orientations: int
    waiting: int
    rejected: int
    tagged: bool = True


@attrs.frozen
class SendingRecord:
    """One attempt at sending a letter by e-mail (``mt-access envoyer``).

    No body, no full address, no credentials: the recipient is kept masked (first character
    and domain, ``d***@exemple.mssante.fr``), enough to tell which address was used without
    keeping it; the server's answer is kept with any address in it masked the same way.

    Attributes:
        request_id: the request the letter is about.
        letter: the letter's kind (``LetterKind`` value).
        physician_id: the GP of a referral file; ``""`` for the other letters.
        recipient_kind: ``medecin``, ``patient`` or ``adresseur``.
        recipient: the masked address.
        at: when the attempt ended (UTC, to the second).
        attempt: 1, 2, ... for this letter.
        code: the server's reply code (``0`` when there was none: timeout, connection lost).
        answer: the server's reply text (or the French reason), addresses masked.
        sent: whether the server accepted the message.
    """

    request_id: str
    letter: str
    physician_id: str
    recipient_kind: str
    recipient: str
    at: dt.datetime
    attempt: int
    code: int
    answer: str
    sent: bool

    @property
    def key(self) -> tuple[str, str, str]:
        """Which letter: request, kind and GP."""
        return (self.request_id, self.letter, self.physician_id)

    def erased(self) -> SendingRecord:
        """The record as kept once the request's personal data is erased: no recipient, and
        each address in the answer (masked or not) replaced by ``***``."""
        return attrs.evolve(self, recipient="", answer=erased_answer(self.answer))


_ADDRESS_LIKE = re.compile(r"[^\s<>@\"']*@[^\s<>@\"']+")


def erased_answer(answer: str) -> str:
    """A server's answer with each address in it (masked or not) replaced by ``***``: what a
    :class:`SendingRecord` keeps of it once the request is erased."""
    return _ADDRESS_LIKE.sub("***", answer)


def check_history(
    file: RequestFile,
    transitions: Iterable[Transition],
    fail: Callable[[str], StoreError] = StoreError,
) -> None:
    """Check that ``transitions`` (the part of ``file``'s history being written) all belong
    to ``file``'s request.

    Raises:
        StoreError: ``fail(message)`` (the store's own, naming its file or database) for the
            first transition of another request.
    """
    for transition in transitions:
        if transition.request_id != file.id:
            raise fail(
                f"le dossier {file.id} contient une transition de la demande "
                f"{transition.request_id}"
            )


def ledger_position(position: object) -> int:
    """``position`` of :meth:`Store.ledger_entries_after`, checked: an ``int`` ≥ 0.

    Raises:
        StoreError: anything else.
    """
    if isinstance(position, bool) or not isinstance(position, int) or position < 0:
        raise StoreError(
            f"position dans le registre de capacités : entier positif ou nul attendu, "
            f"reçu {type(position).__name__}"
        )
    return position


def version_number(version: str) -> int | None:
    """A data version (:meth:`Store.data_version`) of the stores that count their changes, as
    a number; ``None`` for a text that is not one (:meth:`Store.changed_requests` then cannot
    tell what changed since it)."""
    if not version.isascii() or not version.isdigit() or len(version) > 18:
        return None
    return int(version)


@attrs.frozen
class UserRecord:
    """An account of the web application (``mt-access serve``), kept in the register.

    Attributes:
        login: the account's name (letters, digits, ``.``, ``_``, ``-``).
        display_name: the name shown in the pages.
        role: one of :data:`ROLES`.
        password_hash: the Argon2 hash of the password (never the password).
        active: a disabled account cannot log in.
        session_epoch: sessions carry the epoch they were opened in; raising it (account
            disabled, password changed) ends every open session of the account.
        failed_logins: failed logins since the last successful one (throttling).
        locked_until: no login is accepted before this time (UTC), ``None``: not locked.
        created: when the account was created (UTC).
    """

    login: str
    display_name: str
    role: str
    password_hash: str
    active: bool = True
    session_epoch: int = 0
    failed_logins: int = 0
    locked_until: dt.datetime | None = None
    created: dt.datetime = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


@attrs.frozen
class AuditRecord:
    """One line of the audit trail: who did or saw what, when. Append-only; no personal data.

    Attributes:
        at: when (UTC, to the second).
        actor: who: ``user:<login>`` for an account, ``gp:<id>`` for a GP's link, ``cli:<name>``
            for the command line, ``anonyme`` for a failed login with an unknown name.
        action: what, a short code (``demande.accuser``, ``identite.afficher``, ``connexion``...).
        subject: the request id, GP id or login concerned, or ``None``.
        detail: a short text without personal data.
        seq: the recording order (0 before the store numbers it).
    """

    at: dt.datetime
    actor: str
    action: str
    subject: str | None = None
    detail: str = ""
    seq: int = 0


@runtime_checkable
class Store(Protocol):
    """What a register's storage does. See the module's docstring for the shared contract."""

    # -- transactions

    def transaction(self, *, durable: bool = True) -> AbstractContextManager[None]:
        """A context in which writes are allowed, committed together at its end, or not at
        all if it raises. Nested calls join the outermost transaction.

        ``durable=False`` is for writes whose loss costs little, such as the audit lines
        saying a page was displayed: the commit does not wait for the disk (SQLite's
        ``synchronous = NORMAL``, PostgreSQL's ``synchronous_commit = off``). A crash of the
        process loses nothing; a power cut or a crash of the machine may lose the last such
        transactions, whole, never half of one, and never anything a later durable commit
        followed. A durable transaction cannot be nested in a non-durable one
        (:class:`~mt_access.errors.StoreError`): its writes would not wait for the disk."""
        ...

    @property
    def version(self) -> int:
        """Changes at every committed transaction (also those of another process)."""
        ...

    def data_version(self) -> str:
        """A cheap fingerprint of the register's data: changes whenever a committed
        transaction (of this or another process or connection) changed requests, identities,
        files, physicians, the ledger, the runs or the imported rows; unchanged by the audit
        trail, accounts, settings and sendings. Opaque: compare it for equality only.

        Inside a write transaction that changed the data, the value is the one its commit
        will leave (writers take turns, so no other commit can come in between): a caller
        that reads it before committing knows the version of exactly what it saw and did."""
        ...

    def physicians_version(self) -> str:
        """A cheap fingerprint of the physicians alone: changes whenever a committed
        transaction (of this or another process or connection) wrote a physician; unchanged
        by every other write. Opaque: compare it for equality only. A change of it is also a
        change of :meth:`data_version`.

        Inside a write transaction that wrote a physician, the value is the one its commit
        will leave, as for :meth:`data_version`."""
        ...

    def changed_requests(self, since: str) -> list[str] | None:
        """The ids, sorted, of the requests that the transactions committed after the data
        version ``since`` (a value of :meth:`data_version`) added or changed: the request, its
        identity, its file or history (an erasure included). Inside a write transaction, its
        own changes count already, as for :meth:`data_version`. A figure computed per request
        and kept under a data version is thus brought up to date by computing it again for
        these alone.

        ``None`` when the store cannot tell: ``since`` is not one of its versions (another
        register's, a later one), or is older than its record of changes (a file upgraded from
        SQLite schema 10 or a database from PostgreSQL schema 12 knows only the changes made
        after its upgrade). The caller then computes everything again."""
        ...

    def close(self) -> None:
        """Release the storage; the store is unusable afterwards."""
        ...

    # -- requests

    def add_request(self, request: Request, identity: PatientIdentity, file: RequestFile) -> None:
        """Store a new request with its identity and its file (whole history).

        Raises:
            StoreError: a request with that id exists.
        """
        ...

    def save_file(self, file: RequestFile, appended: int) -> None:
        """Store the request file's new state; its last ``appended`` transitions are new and
        are appended to the stored history (the ones before are already stored).

        Raises:
            StoreError: unknown request, or the stored history is not the prefix of the
                file's.
        """
        ...

    def save_files(self, changes: Sequence[tuple[RequestFile, int]]) -> None:
        """:meth:`save_file` for each ``(file, appended)`` of ``changes``, in order, all or
        none (a match run's commit): a store may write them together (the PostgreSQL store
        does, one statement per table).

        Raises:
            StoreError: as :meth:`save_file`, for the first change refused; nothing of
                ``changes`` is then written.
        """
        ...

    def replace_request(
        self, request: Request, identity: PatientIdentity, *, erased_on: dt.date | None = None
    ) -> None:
        """Replace a stored request and identity (same id). With ``erased_on``, the request is
        marked erased on that date, the comments of its transitions are blanked, and so are
        the masked addresses of its sendings (:meth:`SendingRecord.erased`).

        Raises:
            StoreError: unknown request.
        """
        ...

    def get_request(self, request_id: str) -> Request | None: ...

    def get_identity(self, request_id: str) -> PatientIdentity | None: ...

    def get_file(self, request_id: str) -> RequestFile | None: ...

    def get_files(self, request_ids: Iterable[str]) -> dict[str, RequestFile]:
        """The files of the given requests that exist, by id."""
        ...

    def erased_on(self, request_id: str) -> dt.date | None:
        """The date the request's personal data was erased, or ``None``."""
        ...

    def personal_records(self, request_ids: Iterable[str]) -> dict[str, PersonalRecord]:
        """The request, identity and erasure date of the given requests that exist, by id
        (sorted), read together (one query, where :meth:`get_request`, :meth:`get_identity` and
        :meth:`erased_on` take one each per request: a GP's portal page shows a dozen)."""
        ...

    def requests(self, states: Iterable[RequestState] | None = None) -> list[Request]:
        """The requests currently in one of ``states`` (all when ``None``), by id."""
        ...

    def summaries(self, states: Iterable[RequestState] | None = None) -> list[RequestSummary]:
        """Listing lines of the requests in one of ``states`` (all when ``None``), by id."""
        ...

    def summary_slice(
        self,
        states: Iterable[RequestState] | None = None,
        *,
        commune: str | None = None,
        order: str = "id",
        on: dt.date | None = None,
        offset: int = 0,
        limit: int | None = None,
    ) -> tuple[int, list[RequestSummary]]:
        """A page of the listing: how many requests are in one of ``states`` (all when
        ``None``) and of ``commune`` (INSEE code; all when ``None``), and their listing lines
        in ``order`` from the ``offset``-th (0 first), at most ``limit`` (all when ``None``).
        The store filters, sorts and cuts, so a page of a large register reads one page.

        ``order`` is one of :data:`~mt_access.store.listing.SLICE_ORDERS`, each ending by
        id: ``id``, ``received``, ``last_event``, ``commune``, or ``waiting`` (longest wait
        on ``on`` first: by received date, those received on or after ``on`` last, by id).

        Raises:
            StoreError: an unknown ``order``, or ``waiting`` without ``on``.
        """
        ...

    def count_requests(self) -> int:
        """How many requests were ever stored (erased ones included)."""
        ...

    def known_persons(self) -> Iterator[KnownPerson]:
        """The persons of the stored, non-erased requests, by request id."""
        ...

    def transitions(self, request_id: str | None = None) -> list[Transition]:
        """The recorded transitions of one request (all requests when ``None``), in
        recording order."""
        ...

    def run_transitions(self, number: int) -> list[Transition]:
        """The transitions recorded with the match run ``number``
        (:attr:`~mt_access.lifecycle.Transition.run`), in recording order: a run's letters
        read its own events (an index on the run), not every request's history. Empty for an
        unknown run and for a run recorded before runs were numbered on their events
        (:attr:`RunRecord.tagged` false)."""
        ...

    def physician_requests(self, physician_id: str, since: dt.date | None = None) -> list[str]:
        """The ids, sorted, of the requests with a transition naming the GP
        ``physician_id`` (a proposal, an answer, a cancelled proposal...) dated on or after
        ``since`` (any date when ``None``): what a GP's page and follow-up read, instead of
        every request's history."""
        ...

    # -- imported form rows

    def imported_rows(self, digests: Iterable[str]) -> dict[str, str]:
        """Of ``digests`` (digests of form rows, :func:`mt_access.intake.row_digest`), those
        already recorded, each with the request it became."""
        ...

    def add_imported_rows(self, rows: Sequence[tuple[str, str]]) -> None:
        """Record imported form rows as ``(digest, request id)`` pairs (inside a transaction,
        with the requests they became).

        Raises:
            StoreError: a digest is already recorded (the row was imported before, perhaps by
                another process at the same moment), or appears twice in ``rows``, or the
                request is unknown.
        """
        ...

    # -- physicians

    def put_physician(self, physician: Physician) -> None:
        """Store a physician, replacing the one with the same id."""
        ...

    def get_physician(self, physician_id: str) -> Physician | None: ...

    def physicians(self) -> list[Physician]:
        """Every physician, by id."""
        ...

    # -- ledger

    def append_ledger(self, entries: Sequence[LedgerEntry]) -> None:
        """Append entries to the stored ledger (already validated by the caller)."""
        ...

    def ledger_entries(self) -> list[LedgerEntry]:
        """Every ledger entry, in recording order."""
        ...

    def ledger_entries_after(self, position: int) -> list[LedgerEntry]:
        """The ledger entries recorded after the first ``position`` ones, in recording order
        (``ledger_entries()[position:]``, without reading the others); empty when there are
        no more than ``position``. The ledger is append-only, so a reader that kept the first
        ``position`` entries gets the whole ledger by adding these."""
        ...

    # -- runs

    def add_run(self, run: RunRecord) -> RunRecord:
        """Store a committed run; returns it with its number."""
        ...

    def runs(self) -> list[RunRecord]:
        """Every run, by number."""
        ...

    # -- sendings

    def add_sending(self, record: SendingRecord) -> None:
        """Record one attempt at sending a letter (inside a transaction)."""
        ...

    def sendings(self, request_id: str | None = None) -> list[SendingRecord]:
        """The attempts recorded (of one request, or all), in recording order."""
        ...

    # -- settings

    def settings(self) -> dict[str, str]:
        """The register's own settings (the policy it is run with, for the command line)."""
        ...

    def put_setting(self, key: str, value: str) -> None:
        """Record a setting (inside a transaction); replaces the previous value."""
        ...

    # -- web accounts and audit trail

    def put_user(self, user: UserRecord) -> None:
        """Record an account (inside a transaction); replaces the one with the same login."""
        ...

    def get_user(self, login: str) -> UserRecord | None: ...

    def users(self) -> list[UserRecord]:
        """Every account, by login."""
        ...

    def add_audit(self, record: AuditRecord) -> AuditRecord:
        """Append a line to the audit trail (inside a transaction); returns it numbered."""
        ...

    def audit_entries(
        self, *, subject: str | None = None, before: int | None = None, limit: int | None = None
    ) -> list[AuditRecord]:
        """Lines of the audit trail, newest first: those about ``subject`` (all when
        ``None``), numbered below ``before`` (all when ``None``), at most ``limit``."""
        ...
