"""What the command-line tests share: ``mt-access`` called in the test process (its code, what
it wrote on stdout and on stderr), and a new register file made through the command line as
the working register. Generated data only."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from mt_access.cli import EXIT_OK, main


def run(*args: str) -> tuple[int, str, str]:
    """``mt-access`` with these arguments: its exit code, stdout and stderr."""
    out, err = io.StringIO(), io.StringIO()
    code = main(list(args), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def ok(*args: str) -> str:
    """``mt-access`` with these arguments, which must succeed: its stdout."""
    code, out, err = run(*args)
    assert code == EXIT_OK, (args, out, err)
    return out


def new_register(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, policy: str) -> Path:
    """``mt-access registre creer`` in ``tmp_path`` (the working folder) with ``policy`` (a
    shipped policy's name or a file), made the working register (MT_ACCESS_REGISTRE)."""
    path = tmp_path / "registre.sqlite"
    monkeypatch.setenv("MT_ACCESS_REGISTRE", str(path))
    monkeypatch.chdir(tmp_path)
    ok("registre", "creer", str(path), "--politique", policy)
    return path
