"""A register store kept in memory: for tests, notebooks and what-if copies of a register.

It follows the whole :class:`~mt_access.store.base.Store` contract, transactions included: a
transaction works on a copy of the data, swapped in at commit, so a transaction that raises
leaves nothing behind. Nothing survives the process.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager

import attrs

from mt_access.ledger import LedgerEntry
from mt_access.lifecycle import RequestFile, RequestState, Transition
from mt_access.model import PatientIdentity, Physician, Request
from mt_access.store.base import (
    NESTED_DURABLE,
    AuditRecord,
    KnownPerson,
    PersonalRecord,
    RequestSummary,
    RunRecord,
    SendingRecord,
    StoreError,
    UserRecord,
    check_history,
    ledger_position,
    version_number,
)
from mt_access.store.listing import check_slice_order

__all__ = ["MemoryStore"]


@attrs.define
class _Data:
    requests: dict[str, Request] = attrs.field(factory=dict)
    identities: dict[str, PatientIdentity] = attrs.field(factory=dict)
    files: dict[str, RequestFile] = attrs.field(factory=dict)
    erased: dict[str, dt.date] = attrs.field(factory=dict)
    physicians: dict[str, Physician] = attrs.field(factory=dict)
    ledger: list[LedgerEntry] = attrs.field(factory=list)
    runs: list[RunRecord] = attrs.field(factory=list)
    log: list[Transition] = attrs.field(factory=list)
    settings: dict[str, str] = attrs.field(factory=dict)
    imported: dict[str, str] = attrs.field(factory=dict)
    sendings: list[SendingRecord] = attrs.field(factory=list)
    users: dict[str, UserRecord] = attrs.field(factory=dict)
    audit: list[AuditRecord] = attrs.field(factory=list)
    changed: dict[str, int] = attrs.field(factory=dict)  # data version of the last change

    def copy(self) -> _Data:
        return _Data(
            dict(self.requests),
            dict(self.identities),
            dict(self.files),
            dict(self.erased),
            dict(self.physicians),
            list(self.ledger),
            list(self.runs),
            list(self.log),
            dict(self.settings),
            dict(self.imported),
            list(self.sendings),
            dict(self.users),
            list(self.audit),
            dict(self.changed),
        )


def _states(states: Iterable[RequestState] | None) -> frozenset[RequestState] | None:
    return None if states is None else frozenset(RequestState(s) for s in states)


def _blank_comments(file: RequestFile) -> RequestFile:
    history = tuple(attrs.evolve(t, comment="") for t in file.history)
    return attrs.evolve(file, history=history)


class MemoryStore:
    """A :class:`~mt_access.store.base.Store` in memory."""

    def __init__(self) -> None:
        self._data = _Data()
        self._work: _Data | None = None
        self._version = 0
        self._data_version = 0
        self._data_changed = False
        self._gps_version = 0
        self._gps_changed = False
        self._closed = False
        self._durable = True

    # -- transactions

    @contextmanager
    def transaction(self, *, durable: bool = True) -> Iterator[None]:
        self._check_open()
        if self._work is not None:
            if durable and not self._durable:
                raise StoreError(NESTED_DURABLE)
            yield
            return
        self._durable = durable  # nothing to wait for in memory: the rule is checked only
        self._work = self._data.copy()
        self._data_changed = self._gps_changed = False
        try:
            yield
        except BaseException:
            self._work = None
            self._data_changed = self._gps_changed = False
            raise
        self._data, self._work = self._work, None
        self._version += 1
        if self._data_changed:
            self._data_changed = False
            self._data_version += 1
        if self._gps_changed:
            self._gps_changed = False
            self._gps_version += 1

    @property
    def version(self) -> int:
        return self._version

    def data_version(self) -> str:
        self._check_open()
        # inside a transaction that changed the data, its own commit counts already
        pending = self._work is not None and self._data_changed
        return str(self._data_version + pending)

    def physicians_version(self) -> str:
        self._check_open()
        pending = self._work is not None and self._gps_changed
        return str(self._gps_version + pending)

    def changed_requests(self, since: str) -> list[str] | None:
        start = version_number(since)
        current = int(self.data_version())
        if start is None or start > current:
            return None
        changed = self._read().changed
        return sorted(rid for rid, version in changed.items() if version > start)

    def _touch(self, data: _Data, request_id: str) -> None:
        """Record that the transaction in progress changed the request (:meth:`_write_data`
        was called: its commit leaves the next data version)."""
        data.changed[request_id] = self._data_version + 1

    def close(self) -> None:
        self._closed = True

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError("registre fermé")

    def _read(self) -> _Data:
        self._check_open()
        return self._work if self._work is not None else self._data

    def _write(self) -> _Data:
        self._check_open()
        if self._work is None:
            raise StoreError("écriture hors transaction : utilisez « with store.transaction() »")
        return self._work

    def _write_data(self) -> _Data:
        """:meth:`_write` for the register's data (:meth:`data_version` changes at commit)."""
        work = self._write()
        self._data_changed = True
        return work

    # -- requests

    def add_request(self, request: Request, identity: PatientIdentity, file: RequestFile) -> None:
        data = self._write_data()
        if request.id in data.requests:
            raise StoreError(f"la demande {request.id} existe déjà")
        if file.id != request.id:
            raise StoreError(f"le dossier {file.id} n'est pas celui de la demande {request.id}")
        check_history(file, file.history)
        data.requests[request.id] = request
        data.identities[request.id] = identity
        data.files[request.id] = file
        data.log.extend(file.history)
        self._touch(data, request.id)

    def save_file(self, file: RequestFile, appended: int) -> None:
        data = self._write_data()
        old = data.files.get(file.id)
        if old is None:
            raise StoreError(f"demande inconnue : {file.id}")
        kept = len(file.history) - appended
        if appended < 0 or kept != len(old.history) or file.history[:kept] != old.history:
            raise StoreError(
                f"demande {file.id} : l'historique enregistré n'est pas le début du nouveau"
            )
        check_history(file, file.history)
        data.files[file.id] = file
        data.log.extend(file.history[kept:])
        self._touch(data, file.id)

    def save_files(self, changes: Sequence[tuple[RequestFile, int]]) -> None:
        data = self._write_data()
        files, logged, changed = dict(data.files), len(data.log), dict(data.changed)
        try:
            for file, appended in changes:
                self.save_file(file, appended)
        except StoreError:
            data.files = files
            data.changed = changed
            del data.log[logged:]
            raise

    def replace_request(
        self, request: Request, identity: PatientIdentity, *, erased_on: dt.date | None = None
    ) -> None:
        data = self._write_data()
        if request.id not in data.requests:
            raise StoreError(f"demande inconnue : {request.id}")
        data.requests[request.id] = request
        data.identities[request.id] = identity
        self._touch(data, request.id)
        if erased_on is not None:
            data.erased[request.id] = erased_on
            data.files[request.id] = _blank_comments(data.files[request.id])
            data.log = [
                attrs.evolve(t, comment="") if t.request_id == request.id else t for t in data.log
            ]
            data.sendings = [r.erased() if r.request_id == request.id else r for r in data.sendings]

    def get_request(self, request_id: str) -> Request | None:
        data = self._read()
        request = data.requests.get(request_id)
        if request is None:
            return None
        declined: frozenset[str] = data.files[request_id].declined_by
        return attrs.evolve(request, declined_by=declined)  # type: ignore[arg-type]

    def get_identity(self, request_id: str) -> PatientIdentity | None:
        return self._read().identities.get(request_id)

    def get_file(self, request_id: str) -> RequestFile | None:
        return self._read().files.get(request_id)

    def get_files(self, request_ids: Iterable[str]) -> dict[str, RequestFile]:
        files = self._read().files
        return {rid: files[rid] for rid in sorted(set(request_ids)) if rid in files}

    def personal_records(self, request_ids: Iterable[str]) -> dict[str, PersonalRecord]:
        data = self._read()
        found: dict[str, PersonalRecord] = {}
        for rid in sorted(set(request_ids)):
            request = data.requests.get(rid)
            if request is not None:  # as get_request: with the file's refusals
                declined: frozenset[str] = data.files[rid].declined_by
                request = attrs.evolve(request, declined_by=declined)  # type: ignore[arg-type]
                found[rid] = PersonalRecord(request, data.identities.get(rid), data.erased.get(rid))
        return found

    def erased_on(self, request_id: str) -> dt.date | None:
        return self._read().erased.get(request_id)

    def _ids(self, states: Iterable[RequestState] | None) -> list[str]:
        data = self._read()
        wanted = _states(states)
        return [
            rid
            for rid in sorted(data.requests)
            if wanted is None or data.files[rid].state in wanted
        ]

    def requests(self, states: Iterable[RequestState] | None = None) -> list[Request]:
        result = []
        for rid in self._ids(states):
            request = self.get_request(rid)
            assert request is not None
            result.append(request)
        return result

    def summaries(self, states: Iterable[RequestState] | None = None) -> list[RequestSummary]:
        data = self._read()
        result = []
        for rid in self._ids(states):
            request, file = data.requests[rid], data.files[rid]
            result.append(
                RequestSummary(
                    id=rid,
                    state=file.state,
                    received=request.received,
                    last_event=file.last_date,
                    commune=request.commune,
                    persons=request.persons,
                    urgent=request.urgent,
                    proposed_to=tuple(sorted(file.proposed_to)),
                    searching=0 if file.state.is_final else len(file.people.unresolved),
                )
            )
        return result

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
        check_slice_order(order, on)
        lines = [s for s in self.summaries(states) if commune is None or s.commune == commune]
        if order == "waiting":
            assert on is not None
            lines.sort(key=lambda s: (min(s.received, on), s.id))
        elif order != "id":
            lines.sort(key=lambda s: (getattr(s, order), s.id))
        start = max(offset, 0)
        return len(lines), lines[start : None if limit is None else start + max(limit, 0)]

    def count_requests(self) -> int:
        return len(self._read().requests)

    def known_persons(self) -> Iterator[KnownPerson]:
        data = self._read()
        for rid in sorted(data.requests):
            if rid in data.erased:
                continue
            yield KnownPerson(
                rid,
                data.identities[rid],
                data.requests[rid].patient.birth_date,
                not data.files[rid].is_exited,
            )

    def transitions(self, request_id: str | None = None) -> list[Transition]:
        data = self._read()
        if request_id is not None:
            file = data.files.get(request_id)
            return [] if file is None else list(file.history)
        return list(data.log)

    def run_transitions(self, number: int) -> list[Transition]:
        return [t for t in self._read().log if t.run is not None and t.run == number]

    def physician_requests(self, physician_id: str, since: dt.date | None = None) -> list[str]:
        return sorted(
            {
                t.request_id
                for t in self._read().log
                if t.physician_id == physician_id and (since is None or t.on >= since)
            }
        )

    # -- imported form rows

    def imported_rows(self, digests: Iterable[str]) -> dict[str, str]:
        imported = self._read().imported
        return {digest: imported[digest] for digest in digests if digest in imported}

    def all_imported_rows(self) -> dict[str, str]:
        """Every imported row's digest with its request (to copy a register: not part of
        the :class:`~mt_access.store.base.Store` protocol)."""
        return dict(sorted(self._read().imported.items()))

    def add_imported_rows(self, rows: Sequence[tuple[str, str]]) -> None:
        data = self._write_data()
        added: dict[str, str] = {}
        for digest, request_id in rows:
            if digest in data.imported or digest in added:
                raise StoreError("ligne de formulaire déjà importée : import refusé")
            if request_id not in data.requests:
                raise StoreError(f"demande inconnue : {request_id}")
            added[digest] = request_id
        data.imported.update(added)

    # -- physicians

    def put_physician(self, physician: Physician) -> None:
        data = self._write_data()
        self._gps_changed = True  # physicians_version changes at commit
        data.physicians[physician.id] = physician

    def get_physician(self, physician_id: str) -> Physician | None:
        return self._read().physicians.get(physician_id)

    def physicians(self) -> list[Physician]:
        data = self._read()
        return [data.physicians[pid] for pid in sorted(data.physicians)]

    # -- ledger

    def append_ledger(self, entries: Sequence[LedgerEntry]) -> None:
        self._write_data().ledger.extend(entries)

    def ledger_entries(self) -> list[LedgerEntry]:
        return list(self._read().ledger)

    def ledger_entries_after(self, position: int) -> list[LedgerEntry]:
        return list(self._read().ledger[ledger_position(position) :])

    # -- runs

    def add_run(self, run: RunRecord) -> RunRecord:
        data = self._write_data()
        numbered = attrs.evolve(run, number=len(data.runs) + 1)
        data.runs.append(numbered)
        return numbered

    def runs(self) -> list[RunRecord]:
        return list(self._read().runs)

    # -- sendings

    def add_sending(self, record: SendingRecord) -> None:
        self._write().sendings.append(record)

    def sendings(self, request_id: str | None = None) -> list[SendingRecord]:
        return [
            r for r in self._read().sendings if request_id is None or r.request_id == request_id
        ]

    def settings(self) -> dict[str, str]:
        return dict(self._read().settings)

    def put_setting(self, key: str, value: str) -> None:
        self._write().settings[key] = value

    # -- web accounts and audit trail

    def put_user(self, user: UserRecord) -> None:
        locked = None if user.locked_until is None else _second(user.locked_until)
        self._write().users[user.login] = attrs.evolve(
            user, locked_until=locked, created=_second(user.created)
        )

    def get_user(self, login: str) -> UserRecord | None:
        return self._read().users.get(login)

    def users(self) -> list[UserRecord]:
        data = self._read()
        return [data.users[login] for login in sorted(data.users)]

    def add_audit(self, record: AuditRecord) -> AuditRecord:
        data = self._write()
        numbered = attrs.evolve(record, seq=len(data.audit) + 1, at=_second(record.at))
        data.audit.append(numbered)
        return numbered

    def audit_entries(
        self, *, subject: str | None = None, before: int | None = None, limit: int | None = None
    ) -> list[AuditRecord]:
        found = [
            r
            for r in reversed(self._read().audit)
            if (subject is None or r.subject == subject) and (before is None or r.seq < before)
        ]
        return found if limit is None else found[: max(limit, 0)]


def _second(at: dt.datetime) -> dt.datetime:
    """``at`` in UTC, to the second (as the SQLite store keeps it)."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=dt.UTC)
    return at.astimezone(dt.UTC).replace(microsecond=0)
