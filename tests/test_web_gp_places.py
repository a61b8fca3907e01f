"""A GP's places on their portal page from their own ledger entries
(:mod:`mt_access.web.gp_places`): the same as from the whole ledger, and up to date after
another process's write. Generated data only."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("flask")
pytest.importorskip("flask_wtf")
pytest.importorskip("argon2")

from flask import Flask

from mt_access.cli.places import month_places
from mt_access.loading import load_policy
from mt_access.register import Register
from mt_access.web import context
from mt_access.web.gp_places import gp_places
from web_support import TODAY, app, clock, open_store, register_file, register_template

__all__ = ["app", "clock", "register_file", "register_template"]


def _both(app: Flask) -> list[tuple[object, object]]:
    with app.test_request_context():
        register = context.register()
        try:
            return [
                (gp_places(register, p, TODAY), month_places(register, p, TODAY))
                for p in register.physicians()
            ]
        finally:
            context.close_register()


def test_a_gp_s_places_are_those_of_the_whole_ledger(app: Flask, register_file: Path) -> None:
    pairs = _both(app)
    assert len(pairs) > 3
    assert all(own == whole for own, whole in pairs)
    with open_store(register_file) as store:  # another process changes places meanwhile
        register = Register(store, load_policy("voironnais"))
        gps = register.physicians()
        register.change_capacity(gps[0].id, TODAY, 17)
        waiting = [s.id for s in store.summaries() if s.state.value == "waiting"]
        register.propose(waiting[0], gps[0].id, TODAY)
    after = _both(app)
    assert all(own == whole for own, whole in after)
    assert after[0][0] != pairs[0][0]
