"""The CPTS register: requests, their lifecycles, the volunteer GPs, the ledger and match runs.

A :class:`Register` ties the pure core together over a :class:`~mt_access.store.base.Store`:

* requests come in (:meth:`Register.add_request`, or a form export through
  :meth:`Register.import_intake`) and follow the lifecycle of :mod:`mt_access.lifecycle`
  (acknowledgement, confirmation, waiting list, proposals, exits);
* GPs join, change capacity, suspend, resume and withdraw (:mod:`mt_access.gp_register`),
  their capacity declarations going to the ledger;
* :meth:`Register.run_match` routes the waiting requests with the policy's routers and records
  what the run decided: a placement becomes a *proposal* to the GP, which holds a place in the
  GP's month in the ledger; an orientation is recorded on the request; a request out of scope
  exits;
* :meth:`Register.answer` records the GP's answer: an acceptance is the exit ``mt_found``; a
  refusal puts the request back on the waiting list, the GP is never proposed it again, and
  the place is given back unless the policy says otherwise (``capacity.refusal_frees_slot``).

Every operation is one store transaction: it is recorded whole or not at all, so a process
killed in the middle of a match run leaves the register as it was before the run. The register
does no I/O itself; :class:`~mt_access.store.sqlite.SQLiteStore` keeps it in a file.

Errors are :class:`RegisterOperationError` (unknown request or GP, a date before the request's
last event...), :class:`~mt_access.lifecycle.LifecycleError` (an event the request's state does
not allow), :class:`~mt_access.gp_register.RegisterError` (GP register),
:class:`~mt_access.errors.CapacityExceededError` (an acceptance beyond the GP's capacity). Their
messages name requests and GPs by id, never a patient.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import attrs
import pluggy

from mt_access.calendar import Month
from mt_access.engine import match
from mt_access.errors import MtAccessError
from mt_access.geo.distance import DistanceCache
from mt_access.gp_register import GPMonth, gp_follow_up
from mt_access.gp_register import change_capacity as _change_capacity
from mt_access.gp_register import join as _join
from mt_access.gp_register import resume as _resume
from mt_access.gp_register import suspend as _suspend
from mt_access.gp_register import withdraw as _withdraw
from mt_access.intake.importer import IntakeResult
from mt_access.ledger import (
    CapacityDeclared,
    CapacityLedger,
    LedgerEntry,
    PlacementRecorded,
    PlacementReleased,
)
from mt_access.lifecycle import Actor, RequestFile, RequestState, Transition
from mt_access.model import Modality, PatientIdentity, Physician, Request
from mt_access.policy import Policy
from mt_access.privacy import anonymised, pseudonymised_row, referral
from mt_access.result import MatchResult
from mt_access.store.base import KnownPerson, RequestSummary, RunRecord, Store

if TYPE_CHECKING:
    from mt_access.geo.geocoding import Geocoder

__all__ = [
    "ImportOutcome",
    "LocateOutcome",
    "MatchRun",
    "Register",
    "RegisterOperationError",
]


class RegisterOperationError(MtAccessError, ValueError):
    """An operation on the register cannot be done: unknown request or GP, duplicate id,
    a GP the request cannot be proposed to..."""


@attrs.frozen
class MatchRun:
    """A committed match run: what the engine decided and how the register recorded it.

    Attributes:
        result: the engine's :class:`~mt_access.result.MatchResult`.
        record: the run as stored (number, date, counts).
        proposed: ``(request id, physician id)`` proposals the run made, sorted.
        oriented: ids of the requests sent an orientation, sorted.
        out_of_scope: ids of the requests that exited as out of scope, sorted.
        skipped: ids of waiting requests left out because their last event is dated after
            the run, sorted.
    """

    result: MatchResult
    record: RunRecord
    proposed: tuple[tuple[str, str], ...]
    oriented: tuple[str, ...]
    out_of_scope: tuple[str, ...]
    skipped: tuple[str, ...] = ()


@attrs.frozen
class ImportOutcome:
    """What :meth:`Register.import_intake` recorded.

    Attributes:
        source: the file imported.
        registered: ``(row, request id)`` of every registered row, in row order.
        out_of_scope: ids of the requests recorded out of scope (commune outside the
            territory).
        rejected_rows: rows not imported (a problem or a duplicate): see the import's report.
        duplicates: how many rows repeated a person.
        already_imported: ``(row, request id)`` of the rows skipped because they were
            already imported (before, or by another import at the same moment), by row.
    """

    source: str
    registered: tuple[tuple[int, str], ...]
    out_of_scope: tuple[str, ...]
    rejected_rows: tuple[int, ...]
    duplicates: int
    already_imported: tuple[tuple[int, str], ...] = ()

    @property
    def nothing_new(self) -> bool:
        """Every row that could be imported already was: the file was imported before."""
        return not self.registered and bool(self.already_imported)

    def summary(self) -> str:
        """One French sentence for the coordinator."""
        already = ""
        if self.already_imported:
            already = f", {len(self.already_imported)} ligne(s) déjà importée(s) (ignorée(s))"
        return (
            f"{self.source} : {len(self.registered)} demande(s) enregistrée(s) (dont "
            f"{len(self.out_of_scope)} hors territoire, sorties du dispositif), "
            f"{len(self.rejected_rows)} ligne(s) non importée(s) dont {self.duplicates} "
            f"doublon(s){already}"
        )


@attrs.frozen
class LocateOutcome:
    """What :meth:`Register.locate` did.

    Attributes:
        located: ids of the requests whose home is now located at the address's point.
        at_commune: ``(request id, flag)`` of the addresses not located precisely (the flag
            says why: ``"not_found"``, ``"low_score"``, ``"timeout"``...): the commune's
            point stays in use for them.
        without_address: requests in progress without a location and without an address.
    """

    located: tuple[str, ...]
    at_commune: tuple[tuple[str, str], ...]
    without_address: int

    def summary(self) -> str:
        """One French sentence for the coordinator."""
        return (
            f"{len(self.located)} adresse(s) localisée(s) ; {len(self.at_commune)} laissée(s) "
            f"au centre de leur commune ; {self.without_address} demande(s) sans adresse"
        )


class Register:
    """A CPTS register over a store, run with one policy.

    Args:
        store: where the register lives (:class:`~mt_access.store.sqlite.SQLiteStore` for a
            file, :class:`~mt_access.store.memory.MemoryStore` in memory).
        policy: the CPTS's policy (:func:`mt_access.load_policy`).
        plugin_manager: for the decision hooks; defaults to the policy's.
        distances: a distance cache reused across match runs (made on first use otherwise).

    The register keeps the GPs and the ledger in memory between operations and reloads them
    when the store was written by someone else (its :attr:`~Store.version` changed).
    """

    def __init__(
        self,
        store: Store,
        policy: Policy,
        *,
        plugin_manager: pluggy.PluginManager | None = None,
        distances: DistanceCache | None = None,
    ) -> None:
        self.store = store
        self.policy = policy
        self.plugin_manager = plugin_manager or policy.plugin_manager
        self._distances = distances
        self._ledger: CapacityLedger | None = None
        self._physicians: dict[str, Physician] | None = None
        self._seen_version: int | None = None

    # ---------------------------------------------------------------------------------------
    # Caches and transactions

    def _sync(self) -> None:
        version = self.store.version
        if version != self._seen_version or self._ledger is None or self._physicians is None:
            self._ledger = CapacityLedger.from_trusted_entries(self.store.ledger_entries())
            self._physicians = {p.id: p for p in self.store.physicians()}
            self._seen_version = version

    def _invalidate(self) -> None:
        self._ledger = None
        self._physicians = None
        self._seen_version = None

    @contextmanager
    def _operation(self) -> Iterator[None]:
        try:
            with self.store.transaction():
                self._sync()
                yield
        except BaseException:
            self._invalidate()
            raise
        self._seen_version = self.store.version

    @property
    def ledger(self) -> CapacityLedger:
        """A copy of the capacity ledger as recorded."""
        self._sync()
        assert self._ledger is not None
        return self._ledger.copy()

    # ---------------------------------------------------------------------------------------
    # Reading

    def request(self, request_id: str) -> Request:
        """The request (``declined_by`` holds every GP who refused it)."""
        request = self.store.get_request(request_id)
        if request is None:
            raise RegisterOperationError(f"demande inconnue : {request_id}")
        return request

    def identity(self, request_id: str) -> PatientIdentity:
        """The patient's identity (blank once erased)."""
        identity = self.store.get_identity(request_id)
        if identity is None:
            raise RegisterOperationError(f"demande inconnue : {request_id}")
        return identity

    def file(self, request_id: str) -> RequestFile:
        """The request's lifecycle: state and history."""
        file = self.store.get_file(request_id)
        if file is None:
            raise RegisterOperationError(f"demande inconnue : {request_id}")
        return file

    def history(self, request_id: str) -> tuple[Transition, ...]:
        """Every transition of the request, oldest first."""
        return self.file(request_id).history

    def list_requests(self, *states: RequestState) -> list[RequestSummary]:
        """Listing lines of the requests in ``states`` (every request when none is given),
        by id; no personal data."""
        return self.store.summaries(states or None)

    def waiting(self) -> list[RequestSummary]:
        """The waiting list (requests in state ``waiting``), by id."""
        return self.store.summaries([RequestState.WAITING])

    def physician(self, physician_id: str) -> Physician:
        self._sync()
        assert self._physicians is not None
        found = self._physicians.get(physician_id)
        if found is None:
            raise RegisterOperationError(f"médecin inconnu : {physician_id}")
        return found

    def physicians(self) -> list[Physician]:
        """Every GP of the register, by id."""
        self._sync()
        assert self._physicians is not None
        return [self._physicians[pid] for pid in sorted(self._physicians)]

    def runs(self) -> list[RunRecord]:
        """The committed match runs, oldest first."""
        return self.store.runs()

    def gp_follow_up(self, months: Sequence[Month]) -> list[GPMonth]:
        """Per GP and per month: proposed, accepted, refused, against capacity and places."""
        ids = {t.request_id for t in self.store.transitions() if t.physician_id is not None}
        files = self.store.get_files(ids).values()
        return gp_follow_up(files, self.ledger, self.physicians(), months)

    # ---------------------------------------------------------------------------------------
    # Requests

    def next_request_id(self) -> str:
        """A new request id: the policy's code and a sequence number (``VOIRONNAIS-000042``)."""
        return next(self._fresh_ids())

    def _fresh_ids(self) -> Iterator[str]:
        """Unused ids in sequence, from the number of requests stored (ids of the yielded
        ones must be stored before the next is asked for)."""
        n = self.store.count_requests() + 1
        while True:
            candidate = f"{self.policy.code}-{n:06d}"
            if self.store.get_file(candidate) is None:
                yield candidate
            n += 1

    def add_request(
        self,
        request: Request,
        identity: PatientIdentity | None = None,
        *,
        actor: Actor = Actor.COORDINATOR,
        comment: str = "",
        out_of_scope: bool = False,
    ) -> RequestFile:
        """Register a new request, received on ``request.received``.

        With ``out_of_scope`` (e.g. a commune outside the territory) the request is recorded
        and exits at once as out of scope: it is counted, never dropped.

        Raises:
            RegisterOperationError: a request with that id exists.
        """
        with self._operation():
            return self._add(request, identity or PatientIdentity(), actor, comment, out_of_scope)

    def _add(
        self,
        request: Request,
        identity: PatientIdentity,
        actor: Actor,
        comment: str,
        out_of_scope: bool,
    ) -> RequestFile:
        if self.store.get_file(request.id) is not None:
            raise RegisterOperationError(f"la demande {request.id} existe déjà")
        file = RequestFile.from_request(request, actor=actor, comment=comment)
        if out_of_scope:
            file = file.out_of_scope(
                request.received, Actor.SYSTEM, "commune hors du territoire de la CPTS"
            )
        self.store.add_request(request, identity, file)
        return file

    def add_requests(
        self, items: Iterable[tuple[Request, PatientIdentity, bool]], *, comment: str = ""
    ) -> list[RequestFile]:
        """Register several requests in one transaction: ``(request, identity,
        out_of_scope)`` triples. All are recorded or none."""
        with self._operation():
            return [
                self._add(request, identity, Actor.COORDINATOR, comment, oos)
                for request, identity, oos in items
            ]

    def known_persons(self) -> list[KnownPerson]:
        """The persons of the register's requests (erased ones excepted), for recognising
        duplicates at import (``import_table(..., known=register.known_persons())``)."""
        return list(self.store.known_persons())

    def import_intake(self, result: IntakeResult, *, comment: str = "") -> ImportOutcome:
        """Register the accepted rows of a form import (:func:`mt_access.intake.import_table`),
        in one transaction: all rows or none.

        Each row gets a new id (:meth:`next_request_id`, in row order); the members of one
        household get the id of the household's first request as ``household_id``; a row
        whose commune is outside the territory is recorded and exits at once as out of
        scope. Rejected rows and duplicates stay in the result's report.

        The digest of each registered row (:attr:`IntakeRecord.digest`) is recorded in the
        same transaction; a row whose digest is already recorded (imported before, or by
        another process since the file was read) is skipped and listed in
        ``already_imported``: importing the same export twice, even at the same moment,
        never creates a request twice.
        """
        with self._operation():
            registered: list[tuple[int, str]] = []
            out: list[str] = []
            households: dict[str, str] = {}
            already = list(result.already_imported)
            digests = [record.digest for record in result.accepted if record.digest]
            recorded = self.store.imported_rows(digests) if digests else {}
            new_rows: list[tuple[str, str]] = []
            ids = self._fresh_ids()
            for record in sorted(result.accepted, key=lambda r: r.row):
                if record.digest and record.digest in recorded:
                    already.append((record.row, recorded[record.digest]))
                    continue
                rid = next(ids)
                household_id = None
                if record.household_link is not None:
                    household_id = households.setdefault(record.household_link, rid)
                request = attrs.evolve(record.request, id=rid, household_id=household_id)
                note = comment or f"import de {result.source}, ligne {record.row}"
                self._add(
                    request, record.identity, Actor.COORDINATOR, note, not record.in_territory
                )
                registered.append((record.row, rid))
                if record.digest:
                    recorded[record.digest] = rid
                    new_rows.append((record.digest, rid))
                if not record.in_territory:
                    out.append(rid)
            if new_rows:
                self.store.add_imported_rows(new_rows)
            return ImportOutcome(
                source=result.source,
                registered=tuple(registered),
                out_of_scope=tuple(out),
                rejected_rows=result.rejected_rows,
                duplicates=len(result.duplicates),
                already_imported=tuple(sorted(already)),
            )

    def imported_rows(self, digests: Sequence[str]) -> dict[str, str]:
        """Of the row digests ``digests`` (:func:`mt_access.intake.row_digest`), those of
        rows already imported, with the request each became
        (``import_table(..., imported=register.imported_rows)``)."""
        return self.store.imported_rows(digests)

    def _event(
        self, request_id: str, change: Callable[[RequestFile], RequestFile], on: dt.date
    ) -> RequestFile:
        """Apply one lifecycle event in a transaction, releasing the places of proposals
        that end without the GP taking the patient."""
        with self._operation():
            file = self.file(request_id)
            new = change(file)
            self._release_dropped(file, new, on)
            self.store.save_file(new, len(new.history) - len(file.history))
            return new

    def _release_dropped(self, old: RequestFile, new: RequestFile, on: dt.date) -> None:
        """Release the ledger places of proposals ``old`` had pending that ``new`` no longer
        has, except an accepted one (and a refused one when the policy keeps it)."""
        dropped = old.proposed_to - new.proposed_to
        if not dropped:
            return
        assert self._ledger is not None
        keep = set(new.physicians_found.values()) - set(old.physicians_found.values())
        if not self.policy.refusal_frees_slot:
            keep |= new.declined_by - old.declined_by
        releases: list[LedgerEntry] = []
        for placement in self._ledger.placement_of(new.id):
            pid = placement.physician_id
            if pid in dropped and pid not in keep:
                reason = "refus du médecin" if pid in new.declined_by else "proposition close"
                releases.append(PlacementReleased(pid, new.id, on, reason))
        if releases:
            self._ledger.extend(releases)
            self.store.append_ledger(releases)

    def acknowledge(self, request_id: str, on: dt.date, comment: str = "") -> RequestFile:
        """The acknowledgement was sent: ``received`` → ``acknowledged``."""
        return self._event(request_id, lambda f: f.acknowledge(on, comment=comment), on)

    def confirm(self, request_id: str, on: dt.date, comment: str = "") -> RequestFile:
        """The patient still searches: ``acknowledged`` → ``confirmed``."""
        return self._event(request_id, lambda f: f.confirm(on, comment=comment), on)

    def not_searching(
        self,
        request_id: str,
        on: dt.date,
        comment: str = "",
        *,
        persons: Iterable[int] | None = None,
    ) -> RequestFile:
        """The patient no longer searches: exit

        ``persons``: those of a household concerned (every person still searching by
        default).
        """
        return self._event(
            request_id, lambda f: f.not_searching(on, comment=comment, persons=persons), on
        )

    def to_waiting(self, request_id: str, on: dt.date, comment: str = "") -> RequestFile:
        """Put a confirmed request on the waiting list."""
        return self._event(request_id, lambda f: f.to_waiting(on, comment=comment), on)

    def record_contact(
        self, request_id: str, on: dt.date, succeeded: bool, comment: str = ""
    ) -> RequestFile:
        """An attempt to reach the patient; the policy's ``follow_up.max_contact_attempts``
        failures in a row exit the request as unreachable."""
        attempts = self.policy.max_contact_attempts
        return self._event(
            request_id,
            lambda f: f.record_contact_attempt(on, succeeded, attempts, comment=comment),
            on,
        )

    def withdraw(
        self,
        request_id: str,
        on: dt.date,
        comment: str = "",
        *,
        persons: Iterable[int] | None = None,
    ) -> RequestFile:
        """The patient withdraws: exit (pending proposals are closed, their places freed)

        ``persons``: those of a household concerned (every person still searching by
        default).
        """
        return self._event(
            request_id, lambda f: f.withdraw(on, comment=comment, persons=persons), on
        )

    def out_of_scope(
        self,
        request_id: str,
        on: dt.date,
        comment: str = "",
        *,
        persons: Iterable[int] | None = None,
    ) -> RequestFile:
        """The request is not within the scheme: exit

        ``persons``: those of a household concerned (every person still searching by
        default).
        """
        return self._event(
            request_id, lambda f: f.out_of_scope(on, comment=comment, persons=persons), on
        )

    def other_solution(
        self,
        request_id: str,
        on: dt.date,
        comment: str = "",
        *,
        persons: Iterable[int] | None = None,
    ) -> RequestFile:
        """The patient found an MT by other means: exit

        ``persons``: those of a household concerned (every person still searching by
        default).
        """
        return self._event(
            request_id, lambda f: f.other_solution(on, comment=comment, persons=persons), on
        )

    def close(
        self,
        request_id: str,
        on: dt.date,
        comment: str,
        *,
        persons: Iterable[int] | None = None,
    ) -> RequestFile:
        """The CPTS closes the request, or ``persons`` of a household (``comment``
        required): exit."""
        return self._event(request_id, lambda f: f.close(on, comment, persons=persons), on)

    def propose(
        self,
        request_id: str,
        physician_id: str,
        on: dt.date,
        comment: str = "",
        *,
        persons: Iterable[int] | None = None,
    ) -> RequestFile:
        """Propose a waiting request (``persons`` of a household, every person still
        searching by default) to a GP by hand (e.g. a GP who picked it from their ``pull``
        list, or one of an orientation's GPs). No place is held: the acceptance takes one
        per person.

        Raises:
            RegisterOperationError: unknown GP, or a GP not active and accepting on ``on``.
        """

        def change(file: RequestFile) -> RequestFile:
            physician = self.physician(physician_id)
            if physician_id in file.physicians_found.values():
                raise RegisterOperationError(
                    f"demande {request_id} : le médecin {physician_id} est déjà le médecin "
                    "traitant d'autres personnes de ce foyer ; pour lui confier aussi les "
                    "suivantes, notez-le dans le dossier et clôturez-les (autre solution)"
                )
            if not physician.is_available_on(on):
                raise RegisterOperationError(
                    f"le médecin {physician_id} ne prend pas de nouveaux patients le "
                    f"{on:%d/%m/%Y} ({physician.status_on(on).label})"
                )
            return file.propose(physician_id, on, comment=comment, persons=persons)

        return self._event(request_id, change, on)

    def answer(
        self,
        request_id: str,
        physician_id: str,
        on: dt.date,
        *,
        accepted: bool,
        comment: str = "",
    ) -> RequestFile:
        """Record a GP's answer to a proposal.

        An acceptance finds an MT for the persons proposed to this GP (``mt_found`` for
        them; the request exits once every person has an outcome): the GP's places for them
        stay in the ledger (a hand-made proposal takes one per person now, in the month of
        ``on``); another pending proposal covering one of them is closed and its places
        freed. A refusal adds the GP to the request's ``declined_by`` for good, puts the
        persons proposed back on the waiting list, and frees the places unless the policy
        keeps them (``capacity.refusal_frees_slot: false``).

        Raises:
            LifecycleError: the request is not proposed to this GP.
            CapacityExceededError: a hand-made proposal is accepted while the GP has no place
                left this month: record a capacity change first.
        """

        def change(file: RequestFile) -> RequestFile:
            if not accepted:
                return file.refuse(physician_id, on, comment)
            new = file.accept(physician_id, on, comment=comment)
            assert self._ledger is not None
            if not any(p.physician_id == physician_id for p in self._ledger.placement_of(file.id)):
                physician = self.physician(physician_id)
                taken = len(new.history[-1].persons)
                entry = PlacementRecorded(physician_id, Month.of(on), file.id, taken, on)
                self._ledger.record(
                    entry,
                    default_capacity={physician_id: self.policy.monthly_capacity_of(physician)},
                    carry_over=self.policy.carry_over,
                )
                self.store.append_ledger([entry])
            return new

        return self._event(request_id, change, on)

    # ---------------------------------------------------------------------------------------
    # Personal data

    def referral_persons(self, request_id: str, physician_id: str) -> tuple[int, ...]:
        """The persons of the request proposed to ``physician_id`` (pending), or that the GP
        accepted: those the GP's « dossier qualifié » is about.

        Raises:
            RegisterOperationError: unknown request, or the request was never proposed to
                this GP (or no longer is: refused, closed): no referral may go to them.
        """
        file = self.file(request_id)
        pending = file.people.proposed_to(physician_id)
        if pending:
            return pending
        accepted = tuple(n for n, gp in file.people.found if gp == physician_id)
        if accepted:
            return accepted
        raise RegisterOperationError(
            f"demande {request_id} : aucune proposition en cours ni acceptée pour le médecin "
            f"{physician_id} ; le dossier qualifié ne se transmet qu'au médecin à qui la "
            "demande est proposée"
        )

    def referral(
        self, request_id: str, on: dt.date, physician_id: str | None = None
    ) -> tuple[tuple[str, str], ...]:
        """The « dossier qualifié » for a GP: only the policy's ``privacy.referral_fields``,
        as ``(French label, value)`` pairs (:func:`mt_access.privacy.referral`).

        With ``physician_id``, the request must be proposed to that GP (or accepted by
        them), and the persons shown are those of that proposal.

        Raises:
            RegisterOperationError: the request's personal data was erased, or it is not
                proposed to ``physician_id``.
        """
        if self.store.erased_on(request_id) is not None:
            raise RegisterOperationError(
                f"demande {request_id} : données personnelles effacées, "
                "pas de dossier à transmettre"
            )
        persons = None
        if physician_id is not None:
            persons = self.referral_persons(request_id, physician_id)
        return referral(
            self.request(request_id),
            self.identity(request_id),
            self.policy,
            on,
            plugin_manager=self.plugin_manager,
            persons=persons,
        )

    def erase(self, request_id: str, on: dt.date) -> RequestFile:
        """Erase the patient's personal data at their request (RGPD).

        An active request first exits (``withdraw``, by the patient; pending proposals are
        closed and their places freed). Then the identity is blanked, the request keeps only
        what :func:`mt_access.privacy.anonymised` keeps, and the comments of its history are
        blanked: the counts by state, exit, commune, age band and level stay right.

        Raises:
            RegisterOperationError: unknown request, or already erased.
        """
        with self._operation():
            if self.store.erased_on(request_id) is not None:
                raise RegisterOperationError(f"demande {request_id} : déjà effacée")
            file = self.file(request_id)
            if not file.is_exited:
                new = file.withdraw(on, Actor.PATIENT)
                self._release_dropped(file, new, on)
                self.store.save_file(new, len(new.history) - len(file.history))
            request = self.request(request_id)
            self.store.replace_request(anonymised(request), PatientIdentity(), erased_on=on)
            return self.file(request_id)

    def locate(
        self,
        geocoder: Geocoder,
        *,
        progress: Callable[[int, int], None] | None = None,
    ) -> LocateOutcome:
        """Locate the homes of the requests in progress that have an address and no location
        yet, with ``geocoder`` (e.g. :class:`~mt_access.geo.geocoding.BANGeocoder`), so that
        distances to GPs are measured from the home rather than the commune's point.

        The addresses are geocoded first, outside any transaction (a web service may be slow);
        the locations found at the address (``precision == "address"``) are then recorded in
        one transaction, skipping a request changed meanwhile. ``progress(done, total)`` is
        passed to :meth:`~mt_access.geo.geocoding.Geocoder.geocode_many`.
        """
        in_progress = [state for state in RequestState if not state.is_final]
        identities = {p.request_id: p.identity for p in self.store.known_persons()}
        wanted: list[tuple[Request, PatientIdentity]] = []
        without_address = 0
        for request in self.store.requests(in_progress):
            if request.patient.location is not None:
                continue
            identity = identities.get(request.id, PatientIdentity())
            if not identity.address.strip():
                without_address += 1
                continue
            wanted.append((request, identity))
        results = geocoder.geocode_many(
            [(identity.address, request.patient.commune) for request, identity in wanted],
            progress=progress,
        )
        located: list[str] = []
        at_commune: list[tuple[str, str]] = []
        with self._operation():
            for (request, identity), result in zip(wanted, results, strict=True):
                if result.precision != "address":
                    at_commune.append((request.id, result.flag or "commune"))
                    continue
                current = self.store.get_request(request.id)
                if current != request:
                    continue  # changed since it was read: left for the next run
                patient = attrs.evolve(request.patient, location=result.point)
                self.store.replace_request(attrs.evolve(request, patient=patient), identity)
                located.append(request.id)
        return LocateOutcome(tuple(located), tuple(at_commune), without_address)

    def pseudonymised_rows(self, *states: RequestState) -> list[dict[str, str]]:
        """Rows of a shareable export (:data:`mt_access.privacy.EXPORT_COLUMNS`) for the
        requests in ``states`` (all when none is given), in pseudonym order so that the row
        order reveals nothing. Write them with :func:`mt_access.export.write_rows`."""
        requests = self.store.requests(states or None)
        files = self.store.get_files(r.id for r in requests)
        rows = [
            pseudonymised_row(r, files[r.id], self.policy, plugin_manager=self.plugin_manager)
            for r in requests
        ]
        return sorted(rows, key=lambda row: row["pseudonyme"])

    # ---------------------------------------------------------------------------------------
    # GPs

    def add_physician(self, physician: Physician) -> Physician:
        """Add a GP to the register (a candidate, e.g. from the RPPS directory, or a GP
        already taking part: see :func:`mt_access.gp_register.join`).

        Raises:
            RegisterOperationError: a GP with that id exists.
        """
        with self._operation():
            assert self._physicians is not None
            if physician.id in self._physicians:
                raise RegisterOperationError(f"le médecin {physician.id} existe déjà")
            self._put(physician)
        return physician

    def update_physicians(self, physicians: Iterable[Physician]) -> None:
        """Replace GPs by id (e.g. after :func:`mt_access.rpps.merge_directory`), adding the
        new ones, in one transaction."""
        with self._operation():
            for physician in physicians:
                self._put(physician)

    def _put(self, physician: Physician) -> None:
        assert self._physicians is not None
        self.store.put_physician(physician)
        self._physicians[physician.id] = physician

    def _declare(self, entry: LedgerEntry) -> None:
        assert self._ledger is not None
        self._ledger.record(entry)
        self.store.append_ledger([entry])

    def join(
        self,
        physician_id: str,
        on: dt.date,
        *,
        monthly_capacity: int,
        modalities: Iterable[Modality | str],
        accepted_communes: Iterable[str] = (),
        comment: str = "",
    ) -> Physician:
        """The GP signs the charter: active from ``on`` with a monthly capacity, modalities
        and accepted communes (see :func:`mt_access.gp_register.join`)."""
        with self._operation():
            physician, declared = _join(
                self.physician(physician_id),
                on,
                monthly_capacity=monthly_capacity,
                modalities=modalities,
                accepted_communes=accepted_communes,
                comment=comment,
            )
            self._put(physician)
            self._declare(declared)
            return physician

    def change_capacity(
        self,
        physician_id: str,
        on: dt.date,
        capacity: int,
        *,
        month: Month | None = None,
        note: str = "",
    ) -> CapacityDeclared:
        """A new monthly capacity, declared on ``on``, from ``month`` (the month of ``on`` by
        default) onwards; places already held that month are kept."""
        with self._operation():
            declared = _change_capacity(
                self.physician(physician_id), month or Month.of(on), capacity, on, note
            )
            self._declare(declared)
            return declared

    def suspend(
        self, physician_id: str, on: dt.date, until: dt.date | None, note: str = ""
    ) -> Physician:
        """Suspend the GP's participation from ``on`` through ``until`` (open-ended if None)."""
        return self._gp(physician_id, lambda p: _suspend(p, on, until, note))

    def resume(self, physician_id: str, on: dt.date, note: str = "") -> Physician:
        """End a suspension early."""
        return self._gp(physician_id, lambda p: _resume(p, on, note))

    def withdraw_physician(self, physician_id: str, on: dt.date, note: str = "") -> Physician:
        """The GP leaves the scheme (no reason needed). Proposals already made stay for the
        GP to answer."""
        return self._gp(physician_id, lambda p: _withdraw(p, on, note))

    def _gp(self, physician_id: str, change: Callable[[Physician], Physician]) -> Physician:
        with self._operation():
            physician = change(self.physician(physician_id))
            self._put(physician)
            return physician

    # ---------------------------------------------------------------------------------------
    # Match runs

    def preview_match(self, on: dt.date) -> MatchResult:
        """What a match run on ``on`` would decide, without recording anything."""
        self._sync()
        return self._match(on, self.to_route(on)[0])

    def to_route(self, on: dt.date) -> tuple[list[Request], list[str]]:
        """The requests a run on ``on`` routes, by id, each with only its persons still
        waiting: the waiting list, and the households of which some persons are proposed and
        others wait (routed for the rest). Also the ids of such requests left out because
        their last event is dated after ``on``."""
        searching = (RequestState.WAITING, RequestState.PROPOSED)
        summaries = self.store.summaries(searching)
        households = [s.id for s in summaries if s.persons > 1]
        files = self.store.get_files(households)
        partial: dict[str, tuple[int, ...]] = {}
        for rid, file in files.items():
            if len(file.waiting_persons) < file.persons:
                partial[rid] = file.waiting_persons
        candidates = [
            s
            for s in summaries
            if (s.state is RequestState.WAITING or partial.get(s.id)) and partial.get(s.id, (1,))
        ]
        late = sorted(s.id for s in candidates if s.last_event > on)
        skip = frozenset(late)
        wanted = {s.id for s in candidates if s.id not in skip}
        requests = [r for r in self.store.requests([RequestState.WAITING]) if r.id in wanted]
        requests += [
            self.request(rid)
            for rid in sorted(wanted)
            if rid in partial and files[rid].state is RequestState.PROPOSED
        ]
        routed = []
        for request in sorted(requests, key=lambda r: r.id):
            numbers = partial.get(request.id)
            if numbers is not None:
                # A GP who holds a place for persons of this household (pending or accepted)
                # is not proposed the others in a run: the ledger keeps one placement per
                # request and GP. The coordinator may still propose them by hand.
                file = files[request.id]
                holding: set[str] = set(file.proposed_to) | set(file.physicians_found.values())
                holding.update(request.declined_by)
                request = attrs.evolve(  # attrs' evolve types a converter field loosely
                    request,
                    household=request.household.subset(numbers),
                    declined_by=holding,  # type: ignore[arg-type]
                )
            routed.append(request)
        return routed, late

    def _match(self, on: dt.date, requests: list[Request]) -> MatchResult:
        assert self._ledger is not None
        assert self._physicians is not None
        if self._distances is None:
            from mt_access.geo.communes import bundled_reference

            self._distances = DistanceCache(self.policy.reference or bundled_reference())
        return match(
            requests,
            self._physicians.values(),
            self.policy,
            self._ledger,
            on,
            distances=self._distances,
            plugin_manager=self.plugin_manager,
        )

    def run_match(self, on: dt.date) -> MatchRun:
        """Route the waiting requests on ``on`` and record the outcome, in one transaction.

        * each placement becomes a proposal to the GP (``propose`` by the system) and holds
          the place in the GP's month in the ledger;
        * each orientation is recorded on the request (``orient``; it stays waiting);
        * each request out of scope exits (``out_of_scope``);
        * waiting requests stay waiting.

        Waiting requests whose last event is dated after ``on`` are left out
        (:attr:`MatchRun.skipped`).
        """
        with self._operation():
            requests, late = self.to_route(on)
            result = self._match(on, requests)
            return self._commit(on, result, late)

    def _commit(self, on: dt.date, result: MatchResult, late: list[str]) -> MatchRun:
        assert self._ledger is not None
        number = len(self.store.runs()) + 1
        touched: set[str] = {p.request_id for p in result.placements}
        touched |= {o.request_id for o in result.orientations}
        touched |= {r.request_id for r in result.rejected}
        files = self.store.get_files(touched)
        updated: dict[str, RequestFile] = {}

        def current(rid: str) -> RequestFile:
            return updated.get(rid) or files[rid]

        label = f"appariement n° {number}"
        proposed: list[tuple[str, str]] = []
        for p in result.placements:
            file = current(p.request_id)
            # the persons still waiting, first numbers first, in the engine's order
            persons = file.waiting_persons[: p.persons]
            updated[p.request_id] = file.propose(
                p.physician_id, on, Actor.SYSTEM, f"{label} ({p.level})", persons=persons
            )
            proposed.append((p.request_id, p.physician_id))
        for o in result.orientations:
            listed = ", ".join(x.physician_id for x in o.physicians) or "aucun médecin"
            updated[o.request_id] = current(o.request_id).orient(
                on, Actor.SYSTEM, f"{label} : {listed}"
            )
        for r in result.rejected:
            updated[r.request_id] = current(r.request_id).out_of_scope(
                on, Actor.SYSTEM, f"{label} : {r.reason.label}"
            )
        result.record(self._ledger)
        self.store.append_ledger(result.ledger_entries)
        for rid in sorted(updated):
            new = updated[rid]
            self.store.save_file(new, len(new.history) - len(files[rid].history))
        record = self.store.add_run(
            RunRecord(
                number=0,
                on=on,
                month=result.month,
                policy_code=result.policy_code,
                placements=len(result.placements),
                orientations=len(result.orientations),
                waiting=len(result.waiting),
                rejected=len(result.rejected),
            )
        )
        return MatchRun(
            result=result,
            record=record,
            proposed=tuple(sorted(proposed)),
            oriented=tuple(sorted(o.request_id for o in result.orientations)),
            out_of_scope=tuple(sorted(r.request_id for r in result.rejected)),
            skipped=tuple(late),
        )

    def describe(self) -> dict[str, Any]:
        """Counts for a quick look: requests by state, GPs, ledger entries, runs."""
        counts: dict[str, int] = {s.value: 0 for s in RequestState}
        for summary in self.store.summaries(None):
            counts[summary.state.value] += 1
        return {
            "requests": counts,
            "physicians": len(self.physicians()),
            "ledger_entries": len(self.ledger.entries),
            "runs": len(self.runs()),
        }
