"""What keeps the coordinator's pages fast on a large register gives the same results as
computing them from scratch: the waiting list ranked for a request's position reads only
the listing lines, the requests it ranks and the files of requests with an event after the
reference date (not every file), before and after writes by another connection.
Generated data only."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from mt_access.calendar import Month
from mt_access.engine import policy_plugin_manager
from mt_access.examples import example_register
from mt_access.indicators.dataset import build_dataset
from mt_access.indicators.gps import physician_table
from mt_access.indicators.period import Period
from mt_access.indicators.position import (
    compute_waiting_position,
    rank_waiting_list,
    read_waiting_list,
    waiting_position,
)
from mt_access.ledger import CapacityLedger
from mt_access.lifecycle import RequestState
from mt_access.loading import load_policy
from mt_access.register import Register
from mt_access.register_base import SharedState
from mt_access.store.sqlite import SQLiteStore

MONTH = Month(2026, 3)
POLICY = load_policy("voironnais")


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dt.date]:
    path = tmp_path_factory.mktemp("vitesse") / "modele.sqlite"
    with SQLiteStore(path) as store:
        register = Register(store, POLICY)
        on = example_register(register, month=MONTH, requests_per_month=30)
        register.run_match(on)
    return path, on


@pytest.fixture
def path(template: tuple[Path, dt.date], tmp_path: Path) -> Path:
    copy = tmp_path / "registre.sqlite"
    copy.write_bytes(template[0].read_bytes())
    return copy


class _Counted(SQLiteStore):
    """A store that records the ids of the files it reads."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.files_read: list[str] = []

    def get_files(self, request_ids: Any) -> Any:
        ids = list(request_ids)
        self.files_read += ids
        return super().get_files(ids)


def _from_scratch(store: SQLiteStore, on: dt.date) -> Any:
    requests = store.requests(None)
    return requests, store.get_files([r.id for r in requests])


def _check_same(store: _Counted, on: dt.date) -> list[str]:
    """The waiting list read by :func:`read_waiting_list` is the one ranked from every
    request and file, and so is every request's position; the files it read."""
    register = Register(store, POLICY)
    store.files_read.clear()
    prepared = read_waiting_list(register, on)
    read = sorted(store.files_read)
    late = sorted(s.id for s in store.summaries(None) if s.last_event > on and s.received <= on)
    assert read == late  # only the files of requests changed after `on`
    requests, files = _from_scratch(store, on)
    whole = rank_waiting_list(requests, files, on, policy=POLICY)
    assert [r.id for r in prepared.waiting] == [r.id for r in whole.waiting]
    assert prepared.index_of == whole.index_of
    assert prepared.decision_of == whole.decision_of
    assert prepared.total == whole.total
    assert sorted(prepared.placed) == sorted(whole.placed)
    assert prepared.since == whole.since
    for request in requests:
        if request.received > on:
            continue
        assert waiting_position(register, request.id, on, prepared=prepared) == (
            compute_waiting_position(request.id, requests, files, on, policy=POLICY)
        )
    return read


def test_the_waiting_list_of_a_position_reads_no_file_on_the_last_day(
    path: Path, template: tuple[Path, dt.date]
) -> None:
    on = template[1]
    with _Counted(path, create=False) as store:
        assert _check_same(store, on) == []


def test_the_waiting_list_of_an_earlier_day_reads_the_files_changed_since(
    path: Path, template: tuple[Path, dt.date]
) -> None:
    on = template[1] - dt.timedelta(days=12)
    with _Counted(path, create=False) as store:
        assert _check_same(store, on)  # some requests changed after that day


def test_the_waiting_list_after_writes_by_another_connection(
    path: Path, template: tuple[Path, dt.date]
) -> None:
    on = template[1]
    with _Counted(path, create=False) as store:
        _check_same(store, on)
        with SQLiteStore(path, create=False) as other:
            writer = Register(other, POLICY)
            waiting = [s.id for s in other.summaries([RequestState.WAITING])]
            gp = next(p.id for p in writer.physicians() if p.is_available_on(on))
            writer.change_capacity(gp, on, 50)
            writer.propose(waiting[0], gp, on, "essai")
            writer.record_contact(waiting[1], on, False, "essai")
            writer.qualify(waiting[2], on, fields={"urgent": True}, reason="essai")
            received = [s.id for s in other.summaries([RequestState.RECEIVED])]
            if received:
                writer.withdraw(received[0], on, "essai")
        _check_same(store, on)


def test_a_contact_attempt_copies_no_ledger_and_a_proposal_sees_the_one_stored(
    path: Path, template: tuple[Path, dt.date], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pages' registers share the ledger (:class:`SharedState`): after another
    connection's writes, a contact attempt takes no copy of it, and a proposal then works on
    the ledger as stored (the same as read whole), places left included."""
    on = template[1]
    shared = SharedState()
    with SQLiteStore(path, create=False) as store:
        assert Register(store, POLICY, shared=shared).ledger.entries  # kept by the shared state
        waiting = [s.id for s in store.summaries([RequestState.WAITING])]
    with SQLiteStore(path, create=False) as other:  # another process: a proposal, a contact
        writer = Register(other, POLICY)
        gp = next(p.id for p in writer.physicians() if p.is_available_on(on))
        writer.change_capacity(gp, on, 50)
        writer.propose(waiting[0], gp, on, "essai")
        writer.record_contact(waiting[1], on, False, "essai")
    copies: list[int] = []
    plain = CapacityLedger.copy

    def counted(self: CapacityLedger) -> CapacityLedger:
        copies.append(1)
        return plain(self)

    monkeypatch.setattr(CapacityLedger, "copy", counted)
    with SQLiteStore(path, create=False) as store:
        register = Register(store, POLICY, shared=shared)
        register.record_contact(waiting[2], on, True, "essai")
        assert copies == []
        register.propose(waiting[3], gp, on, "essai")
        whole = CapacityLedger.from_trusted_entries(store.ledger_entries())
        assert register.ledger.entries == whole.entries
        fresh = Register(store, POLICY)
        assert register.ledger.remaining(gp, Month.of(on)) == fresh.ledger.remaining(
            gp, Month.of(on)
        )
        assert {(s.id, s.proposed_to) for s in store.summaries([RequestState.PROPOSED])} >= {
            (waiting[0], (gp,)),
            (waiting[3], (gp,)),
        }


@pytest.mark.parametrize("known", [True, False])
def test_a_gp_s_row_alone_is_the_row_of_the_whole_table(
    path: Path, template: tuple[Path, dt.date], known: bool
) -> None:
    """A GP's follow-up computes that GP's row alone (``only``): the same as in the table of
    every GP, for each GP and month, also for a GP known only by the ledger."""
    on = template[1]
    with SQLiteStore(path, create=False) as store:
        register = Register(store, POLICY)
        requests = store.requests(None)
        files = store.get_files([r.id for r in requests])
        pm = policy_plugin_manager(POLICY, None)
        data = build_dataset(requests, files, POLICY, None, pm)
        ledger = register.ledger
        gps = register.physicians() if known else []
        ids = sorted({e.physician_id for e in ledger.entries})
        for month in (Month.of(on), Month.of(on).previous()):
            period = Period.month(month)
            whole, *_ = physician_table(data, period, POLICY, gps, ledger)
            rows = {row[0]: row for row in whole.rows}
            for pid in ids:
                alone, *_ = physician_table(data, period, POLICY, gps, ledger, only=[pid])
                assert [r for r in alone.rows if r[0] != "total"] == (
                    [rows[pid]] if pid in rows else []
                )
