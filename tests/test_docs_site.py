"""The documentation site builds: ``mkdocs build --strict`` (mkdocs.yml), offline.

Strict mode turns every warning into a failure: a broken link or anchor between pages, a page
missing from the nav, a docstring that names a parameter the function does not have.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("mkdocs")
pytest.importorskip("mkdocstrings_handlers.python")
pytest.importorskip("material")

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_site_builds_in_strict_mode(tmp_path: Path) -> None:
    site = tmp_path / "site"
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}  # mkdocs-material's notice on stderr
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-5000:]
    assert "WARNING" not in done.stderr, done.stderr[-5000:]

    index = (site / "index.html").read_text(encoding="utf-8")
    assert "mt-access" in index
    assert 'lang="fr"' in index
    reference = (site / "yaml-reference" / "index.html").read_text(encoding="utf-8")
    assert 'id="routing"' in reference
    register = (site / "api" / "register" / "index.html").read_text(encoding="utf-8")
    assert 'id="mt_access.register.Register"' in register
    assert 'id="mt_access.register.Register.run_match"' in register
    # The test-only fence options are not shown (```python no-run, ```yaml file=...).
    concepts = (site / "concepts" / "index.html").read_text(encoding="utf-8")
    assert "no-run" not in concepts
    # Nothing is fetched from the network when the site is read.
    assert "fonts.googleapis.com" not in index
