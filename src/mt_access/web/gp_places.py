"""A GP's places this month for their portal page, from their own ledger entries.

:func:`mt_access.cli.places.month_places` reads the register's whole capacity ledger (a copy
of it per page, and a new read of every GP at each change of the register's data: 0.1 to
0.3 s on a register of 1,000 GPs, at every GP's page while GPs answer). A GP's places depend
only on their own entries (capacities declared, places held and released), so the process
keeps the ledger's entries by GP (:class:`GpLedgers`), reads only those recorded since at
each page (the ledger is append-only: :meth:`~mt_access.store.base.Store.ledger_entries_after`)
and rebuilds the one GP's ledger from their few entries.
"""

from __future__ import annotations

import datetime as dt
import threading

from flask import current_app

from mt_access.cli.places import MonthPlaces, month_places
from mt_access.errors import LedgerError
from mt_access.ledger import CapacityLedger, LedgerEntry
from mt_access.model import Physician
from mt_access.register import Register
from mt_access.store.base import Store

__all__ = ["GpLedgers", "gp_places"]

_EXTENSION = "mt_access_gp_ledgers"


class GpLedgers:
    """The register's ledger entries by GP, as read so far by this process (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._read = 0
        self._by_gp: dict[str, list[LedgerEntry]] = {}

    def entries(self, store: Store, physician_id: str) -> list[LedgerEntry]:
        """``physician_id``'s entries, in recording order, with those recorded since the
        last call read from ``store``."""
        with self._lock:
            if self._read == 0:
                new = store.ledger_entries()
            else:
                new = store.ledger_entries_after(self._read)
            for entry in new:
                self._by_gp.setdefault(entry.physician_id, []).append(entry)
            self._read += len(new)
            return list(self._by_gp.get(physician_id, ()))


def gp_places(register: Register, physician: Physician, on: dt.date) -> MonthPlaces:
    """``physician``'s places in the month of ``on``: :func:`month_places` from their own
    ledger entries (the whole ledger read as the command line does if they do not make a
    ledger, which a stored ledger always does)."""
    found = current_app.extensions.get(_EXTENSION)
    if found is None:
        found = current_app.extensions.setdefault(_EXTENSION, GpLedgers())
    assert isinstance(found, GpLedgers)
    try:
        own = CapacityLedger.from_trusted_entries(found.entries(register.store, physician.id))
    except LedgerError:
        return month_places(register, physician, on)
    return month_places(register, physician, on, ledger=own)
