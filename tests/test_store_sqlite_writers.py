"""The threads of one process that write one SQLite register queue on the process's writer
lock (woken when the write before theirs ends) instead of polling in SQLite's busy handler."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from factories import doc
from mt_access.store import SQLiteStore, StoreError
from mt_access.store.sqlite_connection import _writer_lock


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "registre.sqlite"


def test_a_transaction_holds_the_process_writer_lock_of_its_file(path: Path) -> None:
    store = SQLiteStore(path)
    (path.parent / "lien").symlink_to(path.parent, target_is_directory=True)
    other = SQLiteStore(path.parent / "lien" / path.name, timeout=0.05)  # the same file
    lock = _writer_lock(path)
    assert not lock.locked()
    with store.transaction():
        store.put_physician(doc("MG1"))
        assert lock.locked()
        assert _writer_lock(other.path) is lock
        with pytest.raises(StoreError, match="occupé"), other.transaction():
            pass
    assert not lock.locked()

    def cancelled() -> None:
        with store.transaction():
            store.put_physician(doc("MG2"))
            raise RuntimeError("annulée")

    with pytest.raises(RuntimeError):
        cancelled()
    assert not lock.locked()  # released after a rollback too
    assert [p.id for p in other.physicians()] == ["MG1"]
    store.close()
    other.close()


def test_threads_writing_one_file_all_commit(path: Path) -> None:
    SQLiteStore(path).close()
    errors: list[BaseException] = []

    def write(worker: int) -> None:
        store = SQLiteStore(path)
        try:
            for n in range(15):
                with store.transaction():
                    store.put_physician(doc(f"MG{worker}-{n}"))
        except BaseException as exc:
            errors.append(exc)
        finally:
            store.close()

    threads = [threading.Thread(target=write, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    reader = SQLiteStore(path)
    assert len(reader.physicians()) == 60
    assert reader.integrity_check() == []
    reader.close()
