"""Closing a SQLite register refreshes SQLite's statistics (``PRAGMA optimize``) bounded,
at most once in a while per process and file, and never waiting for a writer: a web server
closes its register at every page."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from factories import doc
from mt_access.store import SQLiteStore, sqlite_connection
from mt_access.store.sqlite_connection import _writer_lock


@pytest.fixture
def path(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "registre.sqlite"
    store = SQLiteStore(path)
    with store.transaction():
        store.put_physician(doc("MG1"))
    store.close()
    sqlite_connection._OPTIMIZED.pop(str(path.resolve()), None)
    yield path
    sqlite_connection._OPTIMIZED.pop(str(path.resolve()), None)


def _closed_with_trace(path: Path) -> list[str]:
    """The statements a store runs from its close, after a read of the transitions."""
    store = SQLiteStore(path, create=False)
    store.data_version()
    conn = store._connection()
    conn.execute("SELECT count(*) FROM transitions WHERE run = 1").fetchall()
    statements: list[str] = []
    conn.set_trace_callback(statements.append)
    store.close()
    return statements


def _stats(path: Path) -> set[str]:
    conn = sqlite3.connect(path)
    try:
        return {row[0] for row in conn.execute("SELECT idx FROM sqlite_stat1")}
    except sqlite3.OperationalError:
        return set()
    finally:
        conn.close()


def test_optimize_samples_with_a_limit_then_waits_before_running_again(path: Path) -> None:
    first = _closed_with_trace(path)
    assert f"PRAGMA analysis_limit = {sqlite_connection.ANALYSIS_LIMIT}" in first
    assert first.index("PRAGMA optimize") > first.index(
        f"PRAGMA analysis_limit = {sqlite_connection.ANALYSIS_LIMIT}"
    )
    # the partial index of a run's events is empty until a run is tagged: it never gets
    # its row of statistics, so every optimize would analyse the transitions again
    assert "transitions_by_run" not in _stats(path)
    assert "PRAGMA optimize" not in _closed_with_trace(path)  # within OPTIMIZE_SECONDS


def test_optimize_runs_again_after_its_delay(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _closed_with_trace(path)
    monkeypatch.setattr(sqlite_connection, "OPTIMIZE_SECONDS", 0.0)
    assert "PRAGMA optimize" in _closed_with_trace(path)


def test_optimize_is_skipped_while_another_thread_writes_the_file(path: Path) -> None:
    lock = _writer_lock(path)
    with lock:  # another thread's transaction
        assert "PRAGMA optimize" not in _closed_with_trace(path)
