"""The web caches brought up to date with the requests changed since their data version
(:meth:`Store.changed_requests`): the level filter's levels (:mod:`mt_access.web.levels`) and
the waiting list of the positions (:mod:`mt_access.web.waiting_cache`) are, after random
sequences of writes by another process, exactly what computing them again from scratch gives,
and only the changed requests are read and classified again. Generated data only."""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path
from typing import Any

import attrs
import pytest

pytest.importorskip("flask")
pytest.importorskip("flask_wtf")
pytest.importorskip("argon2")

from flask import Flask

from factories import req
from mt_access import PatientIdentity
from mt_access.errors import MtAccessError
from mt_access.indicators.dataset import reception_levels
from mt_access.indicators.position import WaitingList, waiting_position
from mt_access.lifecycle import RequestState
from mt_access.loading import load_policy
from mt_access.register import Register
from mt_access.web import context, levels, waiting_cache
from web_support import TODAY, app, clock, open_store, register_file, register_template

__all__ = ["app", "clock", "register_file", "register_template"]

POLICY = load_policy("voironnais")


def _write(path: Path, rng: random.Random, step: int) -> set[str]:
    """One random write by another process (another connection to the file); the requests
    it changed."""
    with open_store(path) as store:
        register = Register(store, POLICY)
        summaries = store.summaries(None)
        open_ = [
            s for s in summaries if s.state not in (RequestState.MT_FOUND, RequestState.EXITED)
        ]
        target = rng.choice(open_ or summaries)
        rid = target.id
        day = TODAY
        kind = rng.choice(("contact", "propose", "answer", "withdraw", "replace", "add", "gp"))
        try:
            if kind == "contact":
                register.record_contact(rid, day, rng.random() < 0.3)
            elif kind == "propose":
                gp = rng.choice(store.physicians()).id
                register.propose(rid, gp, day)
            elif kind == "answer":
                proposed = [s for s in summaries if s.proposed_to]
                if not proposed:
                    return set()
                chosen = rng.choice(proposed)
                rid = chosen.id
                register.answer(rid, chosen.proposed_to[0], day, accepted=rng.random() < 0.5)
            elif kind == "withdraw":
                register.withdraw(rid, day)
            elif kind == "replace":  # another level: a criterion changed by hand
                request = store.get_request(rid)
                person = store.get_identity(rid)
                assert request is not None
                assert person is not None
                changed = attrs.evolve(request, ald=not request.ald, urgent=not request.urgent)
                with store.transaction():
                    store.replace_request(changed, person)
            elif kind == "add":  # perhaps received before every other request
                rid = f"N{step:04d}"
                received = dt.date(2025, 6, 1) if rng.random() < 0.2 else TODAY
                register.add_request(
                    req(rid, received=received, ald=rng.random() < 0.4),
                    PatientIdentity(last_name="Fictif"),
                )
            else:  # data that is no request's
                return set()
        except MtAccessError:
            return set()  # not allowed in its state: nothing written
        return {rid}


def _full_levels(path: Path) -> dict[str, str]:
    with open_store(path) as store:
        return reception_levels(store.requests(None), POLICY)


@pytest.mark.parametrize("seed", range(3))
def test_the_kept_levels_are_brought_up_to_date_as_computing_them_again(
    app: Flask, register_file: Path, seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    classified: list[int] = []
    original = levels.reception_levels

    def counting(requests: Any, policy: Any, **kw: Any) -> dict[str, str]:
        made = list(requests)
        classified.append(len(made))
        return original(made, policy, **kw)

    monkeypatch.setattr(levels, "reception_levels", counting)
    rng = random.Random(seed)
    with app.app_context():
        _, first = levels.every_level()
    assert first == _full_levels(register_file)
    everything = classified[0]
    assert everything > 50
    for step in range(12):
        changed = _write(register_file, rng, step)
        classified.clear()
        with app.app_context():  # no clock moved: the data changed within the minute
            _, kept = levels.every_level()
        assert kept == _full_levels(register_file)
        assert sum(classified) == len(changed)  # only the changed requests classified


def test_a_level_changed_by_another_process_filters_at_once(
    app: Flask, register_file: Path
) -> None:
    with app.app_context():
        _, before = levels.every_level()
    with open_store(register_file) as store:
        rid = next(s.id for s in store.summaries() if before[s.id] == "non prioritaire")
        request = store.get_request(rid)
        person = store.get_identity(rid)
        assert request is not None
        assert person is not None
        with store.transaction():
            store.replace_request(attrs.evolve(request, ald=True, urgent=True), person)
    assert _full_levels(register_file)[rid] != "non prioritaire"
    with app.app_context():
        _, after = levels.every_level()
    assert after[rid] == _full_levels(register_file)[rid]


def _same_list(kept: WaitingList, full: WaitingList) -> None:
    assert [r.id for r in kept.waiting] == [r.id for r in full.waiting]
    assert kept.waiting == full.waiting
    assert kept.index_of == full.index_of
    assert kept.decision_of == full.decision_of
    assert kept.total == full.total
    assert kept.ranked.classes == full.ranked.classes
    assert kept.ranked.order == full.ranked.order
    assert kept.placed == full.placed
    assert kept.placed_ids == full.placed_ids
    assert kept.since == full.since
    assert kept.requests == full.requests
    assert dict(kept.files) == dict(full.files)


@pytest.mark.parametrize(("seed", "days_before"), [(0, 0), (1, 0), (2, 1), (3, 1)])
def test_the_kept_waiting_list_is_brought_up_to_date_as_reading_it_again(
    app: Flask, register_file: Path, seed: int, days_before: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The list on the day (changes of that day) or on the day before (every change is then
    an event after the list's date, read in the request's history)."""
    reads: list[dt.date] = []
    original = waiting_cache.read_waiting_list

    def counting(register: Register, on: dt.date, **kw: Any) -> WaitingList:
        reads.append(on)
        return original(register, on, **kw)

    monkeypatch.setattr(waiting_cache, "read_waiting_list", counting)
    rng = random.Random(seed)
    on = TODAY - dt.timedelta(days=days_before)
    with app.app_context():
        waiting_cache.kept_waiting_list(context.register(), on)
    assert reads == [on]
    for step in range(12):
        _write(register_file, rng, step)
        with app.app_context():
            register = context.register()
            kept = waiting_cache.kept_waiting_list(register, on)
            full = original(register, on)
            _same_list(kept, full)
            sample = rng.sample(sorted(full.index_of), min(5, len(full.index_of)))
            for rid in sample:
                assert waiting_position(register, rid, on, prepared=kept) == waiting_position(
                    register, rid, on, prepared=full
                )
    assert reads == [on]  # never read whole again: only the changed requests were read
