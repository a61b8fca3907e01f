"""Where a register keeps its data: the :class:`Store` interface and its two implementations.

* :class:`SQLiteStore`: one SQLite file, the default (see ``docs/store.md``);
* :class:`MemoryStore`: in memory, for tests, notebooks and what-if copies;
* ``PostgresStore`` (:mod:`mt_access.store.postgres`, the ``postgres`` extra): one CPTS's
  register in a PostgreSQL database; :func:`open_store` chooses by the location (a
  ``postgresql://`` URL or a file path).
"""

from __future__ import annotations

from mt_access.store.base import (
    ROLES,
    AuditRecord,
    KnownPerson,
    PersonalRecord,
    RequestSummary,
    RunRecord,
    SendingRecord,
    Store,
    StoreError,
    UserRecord,
)
from mt_access.store.locations import open_store
from mt_access.store.memory import MemoryStore
from mt_access.store.migrations import SCHEMA_VERSION
from mt_access.store.sqlite import SQLiteStore

__all__ = [
    "ROLES",
    "SCHEMA_VERSION",
    "AuditRecord",
    "KnownPerson",
    "MemoryStore",
    "PersonalRecord",
    "RequestSummary",
    "RunRecord",
    "SQLiteStore",
    "SendingRecord",
    "Store",
    "StoreError",
    "UserRecord",
    "open_store",
]
