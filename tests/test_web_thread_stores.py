"""One SQLite store a server thread, kept between its pages (mt_access.web.thread_stores)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("flask")

from flask import Flask

from mt_access.store.sqlite import SQLiteStore
from mt_access.web import thread_stores
from mt_access.web.thread_stores import ThreadStores
from web_support import (
    Clock,
    app,
    client,
    clock,
    login,
    make_app,
    open_store,
    register_file,
    register_template,
)

__all__ = ["app", "client", "clock", "register_file", "register_template"]


def test_a_thread_keeps_its_store_between_pages(register_file: Path) -> None:
    stores = ThreadStores(register_file)
    first = stores.open()
    stores.release(first, failed=False)
    again = stores.open()
    assert again is first
    assert not first.closed
    stores.release(again, failed=True)  # a page that failed: closed, the next one is new
    assert first.closed
    fresh = stores.open()
    assert fresh is not first
    stores.release(fresh, failed=False)


def test_each_thread_has_its_own_store(register_file: Path) -> None:
    stores = ThreadStores(register_file)
    mine = stores.open()
    seen: list[SQLiteStore] = []

    def other() -> None:
        store = stores.open()
        seen.append(store)
        store.count_requests()  # usable in its own thread (sqlite3's same-thread rule)
        stores.release(store, failed=True)

    worker = threading.Thread(target=other)
    worker.start()
    worker.join()
    assert seen
    assert seen[0] is not mine
    assert not mine.closed


def test_a_store_kept_too_long_is_opened_again(register_file: Path) -> None:
    stores = ThreadStores(register_file, keep_seconds=0.0)
    first = stores.open()
    stores.release(first, failed=False)
    second = stores.open()
    assert second is not first
    assert first.closed
    stores.release(second, failed=False)


def test_a_kept_store_sees_other_connections_commits(register_file: Path) -> None:
    stores = ThreadStores(register_file)
    kept = stores.open()
    before = kept.data_version()
    stores.release(kept, failed=False)
    with open_store(register_file) as other, other.transaction():
        other.put_setting("essai", "1")
        other.put_physician(next(iter(other.physicians())))
    again = stores.open()
    assert again is kept
    assert again.settings()["essai"] == "1"
    assert again.data_version() != before


def test_the_application_opens_the_file_once_for_a_threads_pages(
    register_file: Path, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[Any] = []
    real = thread_stores.SQLiteStore

    def counting(*args: Any, **kwargs: Any) -> SQLiteStore:
        opened.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(thread_stores, "SQLiteStore", counting)
    made: Flask = make_app(register_file, clock)  # reads the recorded policy, then closes
    opened.clear()
    with made.test_client() as browser:
        login(browser, "claire")
        for url in ("/", "/demandes", "/medecins", "/demandes"):
            assert browser.get(url).status_code == 200
    assert len(opened) == 1
