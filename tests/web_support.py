"""What the web tests share: a generated register file, accounts, the app and logging in.

Everything is generated (mt_access.examples): no real person. The register is built once per
session and copied for each test.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("flask")
pytest.importorskip("flask_wtf")
pytest.importorskip("argon2")

from argon2 import PasswordHasher
from flask import Flask
from flask.testing import FlaskClient

from mt_access.calendar import Month
from mt_access.examples import example_register
from mt_access.loading import load_policy
from mt_access.register import Register
from mt_access.store.sqlite import SQLiteStore
from mt_access.web.accounts import create_user
from mt_access.web.app import create_app

FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
"""Argon2 with small parameters: the tests check the logic, not the cost."""

PASSWORD = "une phrase de passe assez longue"
USERS = {"alice": "admin", "claire": "coordinateur", "lea": "lecture"}
T0 = dt.datetime(2026, 3, 16, 9, 0, tzinfo=dt.UTC)
MONTH = Month(2026, 3)
TODAY = dt.date(2026, 3, 16)


class Clock:
    """A clock the tests move by hand."""

    def __init__(self, at: dt.datetime = T0) -> None:
        self.at = at

    def __call__(self) -> dt.datetime:
        return self.at

    def advance(self, **delta: float) -> None:
        self.at += dt.timedelta(**delta)


def build_register(path: Path, *, requests_per_month: int = 30) -> None:
    """A generated register at ``path``: two months of history and the March run recorded,
    and the accounts of :data:`USERS`."""
    policy = load_policy("voironnais")
    with SQLiteStore(path) as store:
        with store.transaction():
            store.put_setting("policy", "voironnais")
        register = Register(store, policy)
        on = example_register(register, month=MONTH, requests_per_month=requests_per_month)
        register.run_match(on)
        for login, role in USERS.items():
            create_user(
                store,
                login,
                role,
                PASSWORD,
                display_name=login.capitalize() + " Exemple",
                actor="cli:tests",
                hasher=FAST_HASHER,
                now=T0,
            )


@pytest.fixture(scope="session")
def register_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("web") / "modele.sqlite"
    build_register(path)
    return path


@pytest.fixture
def register_file(register_template: Path, tmp_path: Path) -> Path:
    path = tmp_path / "registre.sqlite"
    shutil.copy(register_template, path)
    return path


@pytest.fixture
def clock() -> Clock:
    return Clock()


def make_app(path: Any, clock: Clock, **config: Any) -> Flask:
    settings: dict[str, Any] = {
        "SECRET_KEY": "clé de test " * 4,
        "TESTING": True,
        "MT_ACCESS_HASHER": FAST_HASHER,
        "MT_ACCESS_CLOCK": clock,
        "MT_ACCESS_TODAY": lambda: TODAY,
        # the dashboard's indicators in the page thread: these tests check the pages;
        # test_web_dashboard_figures checks the worker process
        "MT_ACCESS_FIGURES": False,
    }
    settings.update(config)
    return create_app(path, config=settings)


@pytest.fixture
def app(register_file: Path, clock: Clock) -> Flask:
    return make_app(register_file, clock)


@pytest.fixture
def client(app: Flask) -> Iterator[FlaskClient]:
    with app.test_client() as made:
        yield made


_TOKEN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def csrf_token(client: FlaskClient, url: str) -> str:
    """The CSRF token of a page's form."""
    page = client.get(url)
    found = _TOKEN.search(page.get_data(as_text=True))
    assert found, f"no CSRF token on {url} ({page.status_code})"
    return found.group(1)


def login(client: FlaskClient, name: str, password: str = PASSWORD) -> Any:
    token = csrf_token(client, "/connexion")
    return client.post(
        "/connexion", data={"login": name, "password": password, "csrf_token": token}
    )


def text(response: Any) -> str:
    return str(response.get_data(as_text=True))


def open_store(path: Path) -> SQLiteStore:
    return SQLiteStore(path, create=False)
