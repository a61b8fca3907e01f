"""A throwaway PostgreSQL server for the tests, started with Debian's own binaries.

:func:`start_server` runs ``initdb`` and ``pg_ctl`` (found in ``/usr/lib/postgresql/*/bin``,
or in ``$MT_ACCESS_PG_BINDIR``) in a temporary folder: a cluster listening on a free loopback
port, its unix socket in that folder, trust authentication (loopback only), no fsync. As root
(``initdb`` refuses to run as root) the cluster belongs to the ``postgres`` system user,
created if missing. The fixtures:

* ``pg_server`` (session): the server, stopped and deleted at the end of the session; the
  tests that use it skip when the binaries are absent, and fail instead when
  ``MT_ACCESS_REQUIRE_POSTGRES=1`` (CI);
* ``pg_url``: the URL of a fresh database for one test (copied from a template database
  that already holds the register's schema), dropped afterwards.
"""

from __future__ import annotations

import contextlib
import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest

REQUIRE = "MT_ACCESS_REQUIRE_POSTGRES"
SYSTEM_USER = "postgres"
TEMPLATE = "mt_access_template"


def bindir() -> Path | None:
    """The folder of ``initdb`` and ``pg_ctl`` (the newest Debian version), or ``None``."""
    chosen = os.environ.get("MT_ACCESS_PG_BINDIR")
    if chosen:
        return Path(chosen) if (Path(chosen) / "initdb").exists() else None
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: (
            int(Path(p).parent.parent.name) if Path(p).parent.parent.name.isdigit() else 0
        ),
    )
    return Path(found[-1]).parent if found else None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _system_user() -> str | None:
    """The user the cluster runs as: ``None`` (this one) unless we are root."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
             SYSTEM_USER],
            check=True, capture_output=True,
        )  # fmt: skip
    return SYSTEM_USER


@attrs.define
class Server:
    """A running cluster."""

    folder: Path
    bindir: Path
    port: int
    user: str | None
    _names: Iterator[int] = attrs.field(factory=itertools.count)

    @property
    def socket_dir(self) -> Path:
        return self.folder / "socket"

    def url(self, database: str = "postgres", user: str = "postgres") -> str:
        return f"postgresql://{user}@127.0.0.1:{self.port}/{database}"

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        command = list(args)
        if self.user is not None:
            command = ["runuser", "-u", self.user, "--", *command]
        return subprocess.run(command, check=True, capture_output=True, text=True, timeout=120)

    def admin(self, statement: str, database: str = "postgres") -> None:
        import psycopg

        with psycopg.connect(self.url(database), autocommit=True) as conn:
            conn.execute(statement)

    def new_database(self) -> str:
        name = f"t{os.getpid()}_{next(self._names)}"
        self.admin(f'CREATE DATABASE "{name}" TEMPLATE {TEMPLATE}')
        return name

    def drop_database(self, name: str) -> None:
        with contextlib.suppress(Exception):
            self.admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self.run(str(self.bindir / "pg_ctl"), "-D", str(self.folder / "data"), "-m",
                     "immediate", "-w", "stop")  # fmt: skip
        shutil.rmtree(self.folder, ignore_errors=True)


def start_server() -> Server:
    """Start a throwaway cluster (see the module's docstring).

    Raises:
        FileNotFoundError: PostgreSQL's binaries are absent.
        subprocess.CalledProcessError: initdb or pg_ctl failed.
    """
    found = bindir()
    if found is None:
        raise FileNotFoundError("initdb introuvable (paquet postgresql absent)")
    user = _system_user()
    folder = Path(tempfile.mkdtemp(prefix="mt-access-pg-"))
    (folder / "socket").mkdir()
    if user is not None:
        shutil.chown(folder, user)
        shutil.chown(folder / "socket", user)
    server = Server(folder, found, 0, user)
    try:
        server.run(str(found / "initdb"), "-D", str(folder / "data"), "-U", "postgres",
                   "--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync")  # fmt: skip
        for _attempt in range(5):
            server.port = _free_port()
            options = (
                f"-p {server.port} -k {folder / 'socket'} -c listen_addresses=127.0.0.1 "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
                "-c max_connections=200"
            )
            try:
                server.run(str(found / "pg_ctl"), "-D", str(folder / "data"), "-o", options,
                           "-l", str(folder / "server.log"), "-w", "-t", "60", "start")  # fmt: skip
                break
            except subprocess.CalledProcessError:
                continue  # the port was taken in the meantime
        else:
            raise RuntimeError("le serveur PostgreSQL de test ne démarre pas")
        from mt_access.store.postgres import PostgresStore

        server.admin(f"CREATE DATABASE {TEMPLATE}")
        PostgresStore(server.url(TEMPLATE)).close()  # the schema, once for every test
    except BaseException:
        server.stop()
        raise
    return server


@pytest.fixture(scope="session")
def pg_server() -> Iterator[Server]:
    try:
        server = start_server()
    except FileNotFoundError as exc:
        if os.environ.get(REQUIRE) == "1":
            pytest.fail(f"{REQUIRE}=1 mais PostgreSQL est absent : {exc}")
        pytest.skip(f"PostgreSQL absent : {exc}")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def pg_url(pg_server: Server) -> Iterator[str]:
    name = pg_server.new_database()
    yield pg_server.url(name)
    pg_server.drop_database(name)
