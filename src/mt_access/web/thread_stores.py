"""One SQLite store a server thread, kept between its pages (:class:`ThreadStores`).

Opening a register file costs more than most pages' reads: the connection, the file's header
and schema checked, the pragmas, the schema parsed again by SQLite, and a cold page cache.
waitress serves the pages with a few long-lived threads, so each thread keeps its store open
between the pages it serves, for at most :data:`KEEP_SECONDS`; then it is closed (which
refreshes SQLite's statistics, see ``SQLiteConnection._optimize``) and opened again, so that
a file replaced or upgraded meanwhile is seen within that time. A page that ended with an
error closes its thread's store: the next page starts from a fresh connection. The store
keeps no data in memory (each call reads the file), so a kept store sees every other
connection's commits as a new one would.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from mt_access.store.sqlite import SQLiteStore

__all__ = ["KEEP_SECONDS", "ThreadStores"]

KEEP_SECONDS = 600.0
"""Seconds a thread keeps its store open between pages, at most."""


class ThreadStores:
    """The stores of the server's threads over one register file.

    Args:
        path: the register file (it must exist).
        keep_seconds: how long a thread keeps its store, at most.
    """

    def __init__(self, path: Path, keep_seconds: float = KEEP_SECONDS) -> None:
        self._path = path
        self._keep = keep_seconds
        self._local = threading.local()

    def open(self) -> SQLiteStore:
        """The calling thread's store: the one it kept, or a new one."""
        kept: tuple[SQLiteStore, float] | None = getattr(self._local, "kept", None)
        if kept is not None:
            store, since = kept
            if not store.closed and time.monotonic() - since < self._keep:
                return store
            self._local.kept = None
            store.close()
        store = SQLiteStore(self._path, create=False)
        self._local.kept = (store, time.monotonic())
        return store

    def release(self, store: SQLiteStore, failed: bool) -> None:
        """End of a page: keep ``store`` for the thread's next page, or close it if the page
        failed or it is not the thread's kept store."""
        kept: tuple[SQLiteStore, float] | None = getattr(self._local, "kept", None)
        if kept is not None and kept[0] is store and not failed and not store.closed:
            return
        if kept is not None and kept[0] is store:
            self._local.kept = None
        store.close()
