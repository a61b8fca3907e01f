"""What the GP portal keeps between pages stays right: the shared lists of pull mode are
computed once per data version for every GP's page, and a change by another connection (the
command line, another server process) is seen at the next page. Generated data only."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("flask")
pytest.importorskip("flask_wtf")
pytest.importorskip("itsdangerous")

from factories import MOIRANS, VOIRON, VOREPPE, doc
from mt_access.register import Register
from mt_access.store import SQLiteStore
from mt_access.web.app import create_app
from portal_support import (
    DAY,
    SECRET,
    TODAY,
    Clock,
    link,
    load,
    policy_text,
    waiting,
)
from web_support import FAST_HASHER


def _register_file(tmp_path: Path) -> tuple[Path, Register, list[str]]:
    """An SQLite register in pull mode: GPs MG1 (Voiron) and MG2 (Voreppe), two waiting
    requests; their pseudonyms on MG1's list by request id."""
    policy = load(tmp_path, policy_text(pull=True))
    path = tmp_path / "registre.sqlite"
    register = Register(SQLiteStore(path, create=True), policy)
    for pid, commune in {"MG1": VOIRON, "MG2": VOREPPE}.items():
        register.add_physician(doc(pid, commune, capacity=None))
        register.join(pid, DAY, monthly_capacity=3, modalities=["office"])
    waiting(register, "A", VOIRON)
    waiting(register, "B", MOIRANS)
    own = next(x for x in register.pull_lists(TODAY) if x.physician_id == "MG1")
    return path, register, sorted(e.pseudonym for e in own.entries)


def test_pull_lists_are_computed_once_per_data_version_and_follow_another_connection(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, other, pseudonyms = _register_file(tmp_path)
    assert len(pseudonyms) == 2
    url = link(other.store, "MG1")
    app = create_app(
        path,
        other.policy,
        config={
            "SECRET_KEY": SECRET,
            "TESTING": True,
            "MT_ACCESS_HASHER": FAST_HASHER,
            "MT_ACCESS_CLOCK": Clock(),
            "MT_ACCESS_TODAY": lambda: TODAY,
        },
    )
    computed = []
    original = Register.pull_lists

    def counted(self: Register, on: object) -> object:
        computed.append(on)
        return original(self, on)  # type: ignore[arg-type]

    monkeypatch.setattr(Register, "pull_lists", counted)
    first, second = pseudonyms
    with app.test_client() as gp:
        for _ in range(3):  # the page's audit lines do not change the data's version
            page = gp.get(url).get_data(as_text=True)
            assert first in page
            assert second in page
        assert len(computed) == 1
        # another connection (the command line): MG2 picks one of the two requests
        other.choose("MG2", first, TODAY)
        page = gp.get(url).get_data(as_text=True)
        assert first not in page
        assert second in page
        assert len(computed) == 2
    other.store.close()
