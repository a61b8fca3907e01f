"""What the tests in a real browser (the map in test_maps_browser.py, the web app through
web_browser_support.py) share: Debian's Chromium, skipped where absent unless CI requires it,
and where the screenshots go. Needs nothing but pytest."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

REQUIRED = os.environ.get("MT_ACCESS_REQUIRE_CHROMIUM") == "1"
"""CI: a missing browser (or, for the web app, Playwright or axe-core) fails the tests
instead of skipping them."""


def chromium_path() -> str:
    """Debian's Chromium (Playwright's own browser download is not used); skips the test
    where it is absent, or fails it if :data:`REQUIRED`."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        reason = (
            "Chromium absent : tests du navigateur non exécutés (apt-get install chromium) / "
            "Chromium not found: browser tests skipped"
        )
        if REQUIRED:
            pytest.fail(reason + " ; MT_ACCESS_REQUIRE_CHROMIUM=1 l'exige")
        pytest.skip(reason)
    return found


def artefacts_dir(fallback: Path, sub: str = "") -> Path:
    """Where screenshots go: ``$MT_ACCESS_ARTEFACTS`` (its folder ``sub`` if given), else
    ``fallback``."""
    folder = os.environ.get("MT_ACCESS_ARTEFACTS")
    path = Path(folder) / sub if folder else fallback
    path.mkdir(parents=True, exist_ok=True)
    return path
