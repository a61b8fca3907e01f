"""Shared fixtures and Hypothesis profiles.

Profiles: ``dev`` (default, quick) and ``ci`` (thorough; selected by HYPOTHESIS_PROFILE=ci,
which .ci/run sets).
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

import mt_access
from mt_access.geo.communes import CommuneReference, bundled_reference
from pg_server import pg_server, pg_url  # noqa: F401  (fixtures: a throwaway PostgreSQL)

settings.register_profile("dev", max_examples=60, deadline=None)
settings.register_profile(
    "ci",
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    stateful_step_count=100,
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


@pytest.fixture(scope="session")
def reference() -> CommuneReference:
    return bundled_reference()


@pytest.fixture(scope="session")
def voironnais() -> mt_access.Policy:
    return mt_access.load_policy("voironnais")


@pytest.fixture(scope="session")
def deule_marque() -> mt_access.Policy:
    return mt_access.load_policy("deule_marque")


@pytest.fixture(scope="session")
def wheel_files(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    """The names of the files in the project's wheel, built once per session (skips without
    the ``build`` package). For the tests that shipped files are packaged (mark them slow)."""
    pytest.importorskip("build")
    folder = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(folder)],
        cwd=Path(__file__).resolve().parents[1],
        check=True,
        capture_output=True,
    )
    (wheel,) = folder.glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        return set(archive.namelist())
