"""The list's level filter on any number of requests (:mod:`mt_access.web.levels`): the
levels kept by the process give the same requests as classifying them now, requests added by
another process since are classified at once, and no number of requests is refused.
Generated data only."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("flask")
pytest.importorskip("flask_wtf")
pytest.importorskip("argon2")

from flask.testing import FlaskClient

from factories import req
from mt_access import PatientIdentity
from mt_access.indicators.dataset import reception_levels
from mt_access.lifecycle import RequestFile
from mt_access.loading import load_policy
from mt_access.web import levels
from web_support import (
    TODAY,
    app,
    client,
    clock,
    login,
    open_store,
    register_file,
    register_template,
    text,
)

__all__ = ["app", "client", "clock", "register_file", "register_template"]

_ROW = re.compile(r'href="/demandes/([^"/?]+)"')
_TOTAL = re.compile(r"(\d+) demande\(s\)\.")


def _expected(path: Path, level: str) -> list[str]:
    with open_store(path) as store:
        found = reception_levels(store.requests(None), load_policy("voironnais"))
    return sorted(rid for rid, name in found.items() if name == level)


def _filtered(client: FlaskClient, level: str) -> tuple[int, list[str]]:
    ids: list[str] = []
    page = 1
    while True:
        body = text(client.get(f"/demandes?niveau={level}&tri=id&page={page}"))
        total = _TOTAL.search(body)
        assert total is not None
        shown = [rid for rid in dict.fromkeys(_ROW.findall(body)) if rid != "recherche"]
        ids += [rid for rid in shown if rid not in ids]
        if len(ids) >= int(total.group(1)) or not shown:
            return int(total.group(1)), ids
        page += 1


@pytest.fixture
def kept(monkeypatch: pytest.MonkeyPatch) -> None:
    """Levels kept by the process from 5 requests (the register is small)."""
    monkeypatch.setattr(levels, "ONE_BY_ONE", 5)


def test_the_kept_levels_filter_as_the_current_ones(
    client: FlaskClient, register_file: Path, kept: None, app: Any
) -> None:
    login(client, "lea")
    for level in ("prioritaire", "non prioritaire"):
        expected = _expected(register_file, level)
        assert len(expected) > 5
        total, ids = _filtered(client, level)
        assert (total, sorted(ids)) == (len(expected), expected)
    assert "niveaux" in app.extensions["mt_access"].data_cache


def test_a_request_added_by_another_process_is_filtered_at_once(
    client: FlaskClient, register_file: Path, kept: None
) -> None:
    login(client, "lea")
    level = "non prioritaire"
    before, _ = _filtered(client, level)
    with open_store(register_file) as store, store.transaction():
        added = req("R-NOUVELLE", received=TODAY)
        store.add_request(
            added, PatientIdentity(last_name="Exemple"), RequestFile.from_request(added)
        )
    expected = _expected(register_file, level)
    total, ids = _filtered(client, level)
    assert (total, sorted(ids)) == (len(expected), expected)
    assert ("R-NOUVELLE" in ids) == ("R-NOUVELLE" in expected)
    assert total in (before, before + 1)
