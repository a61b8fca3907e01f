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
* :meth:`Register.pull_lists` gives the month's lists shared with GPs (router ``pull``) and
  :meth:`Register.choose` records a GP's pick from their list as a proposal holding a place;
* :meth:`Register.cancel_proposal` cancels a pending proposal with a reason: its persons wait
  again, its place is freed, and its GP may be proposed the request again;
* :meth:`Register.resource_answer` records a resource's answer (``before`` mode: the
  request then enters its GP path);
* :meth:`Register.qualify` changes a request's answers to the CPTS's questions or its
  built-in criteria after the import, with a reason recorded in its history;
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

The class is assembled from parts by topic: :mod:`~mt_access.register_base` (state,
transactions, reading), :mod:`~mt_access.register_gps` (GPs),
:mod:`~mt_access.register_personal` (personal data), :mod:`~mt_access.register_matching`
(match runs), :mod:`~mt_access.register_pull` (lists shared with GPs, a GP's pick),
:mod:`~mt_access.register_qualify` (qualification changes) and
:mod:`~mt_access.register_follow_up` (migrating an existing follow-up sheet); requests and
their lifecycle are here. Every name is importable from here as before.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from mt_access.calendar import Month
from mt_access.intake.importer import IntakeResult
from mt_access.lifecycle import Actor, RequestFile, RequestState
from mt_access.model import PatientIdentity, Request
from mt_access.register_base import RegisterOperationError
from mt_access.register_follow_up import FollowUpMigration
from mt_access.register_gps import GPOperations
from mt_access.register_matching import MatchRun
from mt_access.register_personal import LocateOutcome, PersonalData
from mt_access.register_pull import PullPicks
from mt_access.register_qualify import Qualification, QualificationChange
from mt_access.store.base import KnownPerson

if TYPE_CHECKING:
    pass

__all__ = [
    "ImportOutcome",
    "LocateOutcome",
    "MatchRun",
    "QualificationChange",
    "Register",
    "RegisterOperationError",
]


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


class Register(PersonalData, GPOperations, PullPicks, Qualification, FollowUpMigration):
    """A CPTS register over a store, run with one policy.

    Args:
        store: where the register lives (:class:`~mt_access.store.sqlite.SQLiteStore` for a
            file, :class:`~mt_access.store.memory.MemoryStore` in memory).
        policy: the CPTS's policy (:func:`mt_access.load_policy`).
        plugin_manager: for the decision hooks; defaults to the policy's.
        distances: a distance cache reused across match runs (made on first use otherwise).
        shared: GPs and ledger lent by other register objects of this process
            (:class:`~mt_access.register_base.SharedState`: a web server's pages).

    The register keeps the GPs and the ledger in memory between operations and reloads them
    when the store's data was changed by someone else (its
    :meth:`~mt_access.store.base.Store.data_version` changed).
    """

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
        """The patient no longer searches: exit.

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
        """The patient withdraws: exit (pending proposals are closed, their places freed).

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
        """The request is not within the scheme: exit.

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
        """The patient found an MT by other means: exit.

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
        searching by default) to a GP by hand (e.g. one of an orientation's GPs; a GP's pick
        from their ``pull`` list is :meth:`choose`). Like a run's placement or a pick, the
        proposal holds one place per person in the GP's month of ``on`` in the ledger, so
        that the next match run cannot give those places to someone else; the place is
        released if the proposal is cancelled, or refused (unless the policy keeps refused
        places, ``capacity.refusal_frees_slot: false``), and kept on acceptance.

        Raises:
            RegisterOperationError: unknown GP, a GP not active and accepting on ``on``, or
                a GP with fewer places left in the month of ``on`` than persons proposed
                (nothing is recorded).
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
            new = file.propose(physician_id, on, comment=comment, persons=persons)
            proposed = len(new.history[-1].persons)
            left = self._places_left(physician_id, on)
            if left < proposed:
                raise RegisterOperationError(
                    f"demande {request_id} : le médecin {physician_id} n'a plus que {left} "
                    f"place(s) en {Month.of(on).label} pour {proposed} personne(s) "
                    "proposée(s) ; rien n'a été enregistré (enregistrez d'abord une "
                    "nouvelle capacité, ou proposez à un autre médecin)"
                )
            self._hold_places(physician, file.id, proposed, on)
            return new

        return self._event(request_id, change, on)

    def cancel_proposal(
        self, request_id: str, physician_id: str, on: dt.date, comment: str
    ) -> RequestFile:
        """Cancel a pending proposal without blocking the GP (``comment``, the reason, is
        required and recorded): the persons proposed to them go back to the waiting list,
        the GP is not added to ``declined_by`` (the request may be proposed to them again),
        and the place the proposal held in the ledger, if any, is released.

        Raises:
            LifecycleError: blank reason, or the request is not proposed to this GP.
        """
        return self._event(request_id, lambda f: f.cancel_proposal(physician_id, on, comment), on)

    def resource_answer(
        self, request_id: str, resource: str, on: dt.date, answer: str
    ) -> RequestFile:
        """Record the answer of the policy's resource ``resource`` for a request (event
        ``resource_answer``, by the coordinator; ``answer`` is required and kept in the
        event's comment, never put patient data in it): a request a ``before`` resource holds
        enters its GP path at the next match run.

        Raises:
            RegisterOperationError: unknown request, or no resource of that name in the
                policy (the known ones are listed).
            LifecycleError: blank answer, or the request has left the scheme.
        """
        names = [r.name for r in self.policy.resources]
        if resource not in names:
            known = ", ".join(names) or "aucune"
            raise RegisterOperationError(
                f"ressource inconnue {resource!r} ; ressources de la politique : {known}"
            )
        return self._event(request_id, lambda f: f.resource_answer(resource, on, answer), on)

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
        stay in the ledger (a proposal that holds none, recorded by an older version,
        takes one per person now, in the month of ``on``); another pending proposal
        covering one of them is closed and its places freed. A refusal adds the GP to the
        request's ``declined_by`` for good, puts the persons proposed back on the waiting
        list, and frees the places unless the policy keeps them
        (``capacity.refusal_frees_slot: false``).

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
                taken = len(new.history[-1].persons)
                self._hold_places(self.physician(physician_id), file.id, taken, on)
            return new

        return self._event(request_id, change, on)

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
