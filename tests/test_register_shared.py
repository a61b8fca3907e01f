"""The ledger and GPs shared by the registers of a process (``register_base.SharedState``):
after a change of the data the shared ledger advances by the entries recorded since (the same
ledger as read whole), and the GPs are kept by the GPs' own version: read again only after a
change of a GP, by a register that needs them (a GP's answer needs the ledger alone).
Generated data only."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from mt_access.calendar import Month
from mt_access.examples import example_register
from mt_access.ledger import CapacityLedger
from mt_access.lifecycle import RequestState
from mt_access.loading import load_policy
from mt_access.model import Physician
from mt_access.register import Register
from mt_access.register_base import SharedState
from mt_access.store.sqlite import SQLiteStore

MONTH = Month(2026, 3)


@pytest.fixture
def path(tmp_path: Path) -> Path:
    found = tmp_path / "registre.sqlite"
    with SQLiteStore(found) as store:
        register = Register(store, load_policy("voironnais"))
        on = example_register(register, month=MONTH, requests_per_month=20)
        register.run_match(on)
    return found


class _Counted(SQLiteStore):
    """A store that counts its reads of every GP."""

    reads = 0

    def physicians(self) -> list[Physician]:
        type(self).reads += 1
        return super().physicians()


def _register(path: Path, shared: SharedState) -> tuple[Any, Register]:
    store = _Counted(path, create=False)
    return store, Register(store, load_policy("voironnais"), shared=shared)


def test_an_answer_after_a_change_advances_the_ledger_and_reads_no_gp(path: Path) -> None:
    shared = SharedState()
    on = dt.date(2026, 3, 20)
    store, first = _register(path, shared)
    with store:
        assert first.physicians()  # the GPs and ledger of this version, kept
        proposed = store.summaries([RequestState.PROPOSED])
        assert len(proposed) >= 2
    with SQLiteStore(path, create=False) as other:  # another process: an answer
        rid, gp = proposed[0].id, proposed[0].proposed_to[0]
        Register(other, load_policy("voironnais")).answer(rid, gp, on, accepted=False)
    _Counted.reads = 0
    store, second = _register(path, shared)
    with store:
        rid, gp = proposed[1].id, proposed[1].proposed_to[0]
        second.answer(rid, gp, on, accepted=True)
        assert _Counted.reads == 0  # the ledger advanced, no GP read
        whole = CapacityLedger.from_trusted_entries(store.ledger_entries())
        assert second.ledger.entries == whole.entries
        gps = second.physicians()
        assert [p.id for p in gps] == [p.id for p in store.physicians()]
        # no GP was written: those read before the answer are kept (only the check reads)
        assert _Counted.reads == 1
    for _ in range(2):  # kept for the next registers too
        _Counted.reads = 0
        store, later = _register(path, shared)
        with store:
            assert later.ledger.entries == whole.entries
            assert later.physicians() == gps
            assert _Counted.reads == 0


def test_a_gp_added_elsewhere_is_seen_by_the_next_register(path: Path) -> None:
    shared = SharedState()
    store, first = _register(path, shared)
    with store:
        before = first.physicians()
    with SQLiteStore(path, create=False) as other:
        register = Register(other, load_policy("voironnais"))
        register.add_physician(
            Physician(id="MG-NOUVEAU", name="Dr Exemple", commune=before[0].commune)
        )
    store, second = _register(path, shared)
    with store:
        assert [p.id for p in second.physicians()] == sorted(
            [p.id for p in before] + ["MG-NOUVEAU"]
        )
