"""The base of :class:`~mt_access.register.Register`: its state (store, policy, plugin manager,
the GPs and the ledger cached between operations), transactions and reading.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

import pluggy

from mt_access.calendar import Month
from mt_access.errors import LedgerError, RegisterOperationError
from mt_access.geo.distance import DistanceCache
from mt_access.gp_register import GPMonth, gp_follow_up
from mt_access.ledger import (
    CapacityLedger,
    LedgerEntry,
    PlacementRecorded,
    PlacementReleased,
)
from mt_access.lifecycle import Event, RequestFile, RequestState, Transition
from mt_access.model import PatientIdentity, Physician, Request
from mt_access.policy import Policy
from mt_access.store.base import RequestSummary, RunRecord, Store

if TYPE_CHECKING:
    pass

__all__ = ["RegisterBase", "RegisterOperationError", "SharedState"]


class SharedState:
    """The capacity ledger and the GPs of a register, shared by the :class:`RegisterBase`
    objects of a process (a web server opens one per page): each takes a copy instead of
    reading and rebuilding them from the store. Thread-safe; what is kept here is only
    changed under the lock and handed out as copies.

    The ledger is kept at one data version and brought to a newer one by :meth:`advance`
    (the entries recorded since). The GPs are kept apart, at the GPs' own version
    (:meth:`~mt_access.store.base.Store.physicians_version`), once a register read them
    (:meth:`put_physicians`): a change of the data that writes no GP (a GP's answer, a
    contact attempt: several a second under load) neither drops nor re-reads them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._version: str | None = None
        self._ledger: CapacityLedger | None = None
        self._gps_version: str | None = None
        self._physicians: dict[str, Physician] | None = None

    def get(self, version: str) -> CapacityLedger | None:
        """A copy of the ledger kept at ``version``, or ``None``."""
        with self._lock:
            if self._ledger is None or self._version != version:
                return None
            return self._ledger.copy()

    def latest_ledger(self) -> CapacityLedger | None:
        """A copy of the ledger kept last, whatever its version (``None`` before the first):
        the entries recorded since can be added to it."""
        with self._lock:
            return None if self._ledger is None else self._ledger.copy()

    def advance(self, version: str, entries_after: Callable[[int], Sequence[LedgerEntry]]) -> bool:
        """Bring the kept ledger to ``version`` with ``entries_after(its length)`` (the
        entries recorded since: the ledger is append-only); ``False`` when none is kept or
        those entries do not continue it (it is dropped). Take a copy with :meth:`get`."""
        with self._lock:
            if self._ledger is None:
                return False
            if self._version != version:
                try:
                    self._ledger.extend_trusted(entries_after(len(self._ledger.entries)))
                except LedgerError:
                    self._ledger, self._version = None, None
                    return False
                self._version = version
            return True

    def has(self, version: str) -> bool:
        """Whether the ledger kept is ``version``'s."""
        with self._lock:
            return self._ledger is not None and self._version == version

    def put(self, version: str, ledger: CapacityLedger) -> None:
        """Keep a copy of ``ledger`` as read at ``version``."""
        kept = ledger.copy()
        with self._lock:
            self._version, self._ledger = version, kept

    def physicians(self, gps_version: str) -> dict[str, Physician] | None:
        """A copy of the GPs kept at the GPs' version ``gps_version``, or ``None``."""
        with self._lock:
            if self._physicians is None or self._gps_version != gps_version:
                return None
            return dict(self._physicians)

    def put_physicians(self, gps_version: str, physicians: dict[str, Physician]) -> None:
        """Keep a copy of the GPs read after the GPs' version was ``gps_version``."""
        gps = dict(physicians)
        with self._lock:
            self._gps_version, self._physicians = gps_version, gps


class RegisterBase:
    """What every part of :class:`~mt_access.register.Register` shares: the store, the policy,
    the plugin manager, the GPs and the ledger kept in memory between operations, one store
    transaction per operation, and reading.

    Args:
        store: where the register lives.
        policy: the CPTS's policy.
        plugin_manager: for the decision hooks; defaults to the policy's.
        distances: a distance cache reused across match runs (made on first use otherwise).
        shared: the ledger and GPs already read by another register object of this process
            (:class:`SharedState`), taken when the store's data did not change since.
    """

    def __init__(
        self,
        store: Store,
        policy: Policy,
        *,
        plugin_manager: pluggy.PluginManager | None = None,
        distances: DistanceCache | None = None,
        shared: SharedState | None = None,
    ) -> None:
        self.store = store
        self._shared = shared
        self.policy = policy
        self.plugin_manager = plugin_manager or policy.plugin_manager
        self._distances = distances
        self._own_ledger: CapacityLedger | None = None
        self._lent: str | None = None  # the shared ledger's version to copy when first needed
        self._gps: dict[str, Physician] | None = None
        self._gps_due = False
        self._seen_version: str | None = None
        self._seen_gps: str | None = None  # the GPs' version of ``_gps`` (None: unknown)
        self._pending_gps: str | None = None  # the GPs' version read before ``_gps`` is

    # ---------------------------------------------------------------------------------------
    # Caches and transactions

    def _sync(self) -> None:
        # the data version, not ``version``: an audit line or a login changes neither
        version = self.store.data_version()
        if version != self._seen_version or (self._own_ledger is None and self._lent is None):
            # read after the data version (so what is read is at least as new as it) and
            # before the GPs (so they are at least as new as it)
            gps = self.store.physicians_version()
            if self._shared is not None and self._shared.has(version):
                self._ledger, self._lent = None, version  # copied when first needed
            else:
                # dropped while reading: a failed read leaves no half-extended ledger behind
                kept, self._ledger = self._own_ledger, None
                advanced = False
                if kept is None and self._shared is not None:
                    advanced = self._shared.advance(version, self.store.ledger_entries_after)
                if advanced:
                    self._lent = version  # copied when first needed (a contact needs none)
                else:
                    self._ledger = self._read_ledger(kept)
                    if self._shared is not None:
                        self._shared.put(version, self._ledger)
            if gps != self._seen_gps:  # the GPs changed: read again when first needed
                self._gps = None
            self._seen_gps = gps if self._gps is not None else None
            self._pending_gps = gps
            self._gps_due = self._gps is None  # read when first needed (_physicians)
            self._seen_version = version

    @property
    def _physicians(self) -> dict[str, Physician] | None:
        """The GPs by id, read when first needed after a change of the GPs (most operations,
        a GP's answer or a contact attempt, need the ledger only): those kept by the shared
        state at the GPs' version, else from the store."""
        if self._gps is None and self._gps_due:
            label = self._pending_gps
            found = None
            if self._shared is not None and label is not None:
                found = self._shared.physicians(label)
            if found is None:
                found = {p.id: p for p in self.store.physicians()}
                if self._shared is not None and label is not None:
                    self._shared.put_physicians(label, found)
            self._gps = found
            self._gps_due = False
            self._seen_gps, self._pending_gps = label, None
        return self._gps

    @_physicians.setter
    def _physicians(self, value: dict[str, Physician] | None) -> None:
        self._gps, self._gps_due = value, False

    @property
    def _ledger(self) -> CapacityLedger | None:
        """The register's own ledger: a copy of the shared one (:class:`SharedState`) taken
        when first needed after a change of the data (a contact attempt needs none)."""
        if self._own_ledger is None and self._lent is not None:
            self._own_ledger = self._lend()
            if self._own_ledger is None:  # the shared one moved on: it and entries since
                self._own_ledger = self._read_ledger(None)
            self._lent = None
        return self._own_ledger

    @_ledger.setter
    def _ledger(self, value: CapacityLedger | None) -> None:
        self._own_ledger, self._lent = value, None

    def _lend(self) -> CapacityLedger | None:
        """A copy of the shared ledger at the version lent, if it is still there."""
        if self._shared is None or self._lent is None:
            return None
        return self._shared.get(self._lent)

    def _read_ledger(self, kept: CapacityLedger | None) -> CapacityLedger:
        """The ledger as stored: the one kept in memory (or the shared one) with the entries
        recorded since (the ledger is append-only), or read whole when none is kept."""
        if kept is None and self._shared is not None:
            kept = self._shared.latest_ledger()
        if kept is None:
            return CapacityLedger.from_trusted_entries(self.store.ledger_entries())
        try:
            kept.extend_trusted(self.store.ledger_entries_after(len(kept.entries)))
        except LedgerError:
            # not a continuation of the kept entries: read it whole (raises if the stored
            # ledger itself is not a ledger's history)
            return CapacityLedger.from_trusted_entries(self.store.ledger_entries())
        return kept

    def _invalidate(self) -> None:
        self._ledger = None
        self._physicians = None
        self._seen_version = None
        self._seen_gps = None

    @contextmanager
    def _operation(self) -> Iterator[None]:
        try:
            with self.store.transaction():
                self._sync()
                yield
                # read before the commit, while this writer holds the lock: read after it,
                # another client's commit in between would pass for one already seen
                version = self.store.data_version()
                gps = self._seen_gps
                if gps is not None and version != self._seen_version:
                    gps = self.store.physicians_version()  # this operation may have written
        except BaseException:
            self._invalidate()
            raise
        self._seen_version, self._seen_gps = version, gps

    @property
    def ledger(self) -> CapacityLedger:
        """A copy of the capacity ledger as recorded."""
        self._sync()
        if self._own_ledger is None:
            lent = self._lend()  # a copy of the shared one: no need for a second
            if lent is not None:
                return lent
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

    def _places_left(self, physician_id: str, on: dt.date) -> int:
        """The GP's places left in the month of ``on`` (the policy's default capacity and
        carry-over applied)."""
        assert self._ledger is not None
        physician = self.physician(physician_id)
        return self._ledger.remaining(
            physician_id,
            Month.of(on),
            default=self.policy.monthly_capacity_of(physician),
            carry_over=self.policy.carry_over,
        )

    def _hold_places(
        self, physician: Physician, request_id: str, persons: int, on: dt.date
    ) -> None:
        """Hold ``persons`` places for the request in the GP's month of ``on``: a placement
        recorded in the ledger (the policy's default capacity and carry-over applied) and
        appended to the store, in the current transaction."""
        assert self._ledger is not None
        held = PlacementRecorded(physician.id, Month.of(on), request_id, persons, on)
        self._ledger.record(
            held,
            default_capacity={physician.id: self.policy.monthly_capacity_of(physician)},
            carry_over=self.policy.carry_over,
        )
        self.store.append_ledger([held])

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
        last = new.history[-1]
        cancelled = last.physician_id if last.event is Event.CANCEL_PROPOSAL else None
        releases: list[LedgerEntry] = []
        for placement in self._ledger.placement_of(new.id):
            pid = placement.physician_id
            if pid in dropped and pid not in keep:
                if pid == cancelled:
                    reason = "proposition annulée"
                elif pid in new.declined_by:
                    reason = "refus du médecin"
                else:
                    reason = "proposition close"
                releases.append(PlacementReleased(pid, new.id, on, reason))
        if releases:
            self._ledger.extend(releases)
            self.store.append_ledger(releases)
