"""The command line: French output, documented exit codes."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest

from mt_access.cli import EXIT_INVALID_INPUT, EXIT_OK, EXIT_USAGE, main


def run(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(args), out=out)
    return code, out.getvalue()


def test_demo_prints_a_french_summary() -> None:
    code, text = run("demo")
    assert code == EXIT_OK
    assert "aucun patient réel" in text
    assert "CPTS du Voironnais : appariement du 15/03/2026" in text
    for section in ("Demandes attribuées à un médecin", "Demandes en attente", "Places attribuées"):
        assert section in text
    assert "Demande prioritaire (niveau 1 « prioritaire »)" in text
    assert "capacité des médecins éligibles épuisée" in text


def test_demo_is_deterministic() -> None:
    assert run("demo") == run("demo")
    assert run("demo", "--graine", "7") != run("demo")


def test_demo_deule_marque() -> None:
    code, text = run("demo", "--politique", "deule_marque")
    assert code == EXIT_OK
    assert "Demandes orientées" in text
    assert "CMSI" in text


def test_policy_check_and_show() -> None:
    code, text = run("politique", "verifier", "voironnais")
    assert code == EXIT_OK
    assert "politique valide" in text
    code, text = run("policy", "show", "deule_marque")
    assert code == EXIT_OK
    assert "Marquette-lez-Lille" in text
    assert "médecin le plus proche" in text
    code, text = run("politique", "lister")
    assert "voironnais" in text


def test_invalid_policy_exit_code(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("identity: 3\n", encoding="utf-8")
    code, _ = run("politique", "verifier", str(bad))
    assert code == EXIT_INVALID_INPUT
    err = capsys.readouterr().err
    assert "erreur :" in err
    assert "bad.yaml" in err


def test_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert run("nimportequoi")[0] == EXIT_USAGE
    assert run()[0] == EXIT_USAGE
    assert run("--help")[0] == EXIT_OK
    assert "demo" in capsys.readouterr().out


def test_console_script_runs() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "mt_access.cli", "politique", "verifier", "deule_marque"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "politique valide" in proc.stdout
