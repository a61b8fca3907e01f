"""The ``mt-access`` command's entry point (``mt_access_start``): a Ctrl-C while the package
loads ends like a Ctrl-C during a command, in French with exit code 130, not with Python's
English traceback."""

from __future__ import annotations

import builtins
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

import mt_access_start
from mt_access.cli.common import EXIT_INTERRUPTED

ROOT = Path(__file__).resolve().parents[1]


def test_the_command_starts_from_the_module_outside_the_package() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert project["project"]["scripts"]["mt-access"] == "mt_access_start:main"
    wheel = project["tool"]["hatch"]["build"]["targets"]["wheel"]
    assert wheel["force-include"]["src/mt_access_start.py"] == "mt_access_start.py"
    assert mt_access_start.EXIT_INTERRUPTED == EXIT_INTERRUPTED


def test_a_ctrl_c_while_the_package_loads_is_told_in_french(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    real_import = builtins.__import__

    def interrupted(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "mt_access.cli":
            raise KeyboardInterrupt
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", interrupted)
    assert mt_access_start.main() == EXIT_INTERRUPTED
    assert capsys.readouterr().err == "interrompu\n"


def test_the_entry_point_runs_the_command() -> None:
    """In a new interpreter, as the installed script calls it."""
    done = subprocess.run(
        [sys.executable, "-c", "import sys, mt_access_start; sys.exit(mt_access_start.main())",
         "--help"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("utilisation : mt-access")


def test_a_real_ctrl_c_while_the_command_loads_ends_in_french() -> None:
    """A real SIGINT while a new interpreter is inside the command's import (held there by
    an import hook that says so, then waits): « interrompu » and 130, not a traceback."""
    import signal

    code = (
        "import builtins, sys, time, mt_access_start\n"
        "real = builtins.__import__\n"
        "def held(name, *args, **kwargs):\n"
        "    if name == 'mt_access.cli':\n"
        "        sys.stderr.write('go\\n'); sys.stderr.flush(); time.sleep(60)\n"
        "    return real(name, *args, **kwargs)\n"
        "builtins.__import__ = held\n"
        "sys.exit(mt_access_start.main())\n"
    )
    with subprocess.Popen(
        [sys.executable, "-c", code, "demande", "liste"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        # a shell's background job may have SIGINT ignored: the default, as at a terminal
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    ) as child:
        assert child.stderr is not None
        assert child.stderr.readline() == "go\n"
        child.send_signal(signal.SIGINT)
        err = child.stderr.read()
        assert child.wait(timeout=120) == EXIT_INTERRUPTED, err
    assert err == "interrompu\n"
