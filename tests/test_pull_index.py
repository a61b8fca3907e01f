"""Pull mode at 100,000 requests (issue 14): the shared lists held as columns
(:class:`mt_access.pull_index.PullIndex`) equal the lists the ``pull`` router writes (the
computation before, kept here as the reference), and a pick checked against an index made
before the write transaction (while the data changed meanwhile) succeeds or is refused as
the lists as they stand say. Two GPs picking the same request at once: one succeeds, the
other is told the request is no longer on their list. Generated data only."""

from __future__ import annotations

import datetime as dt
import functools
import pickle
import tempfile
import threading
from pathlib import Path

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mt_access
from factories import COUBLEVIE, MOIRANS, RIVES, TULLINS, VOIRON, VOREPPE, doc, req
from mt_access import PatientIdentity
from mt_access.calendar import Month
from mt_access.hooks import Hooks
from mt_access.lifecycle import Actor, Event, RequestState
from mt_access.pull_index import per_request_exact
from mt_access.register import Register, RegisterOperationError
from mt_access.result import PullEntry, PullList
from mt_access.store import SQLiteStore
from mt_access.store.memory import MemoryStore
from register_support import register_state

ROOT = Path(__file__).parent.parent
VOIRONNAIS = (ROOT / "policies" / "voironnais.yaml").read_text(encoding="utf-8")
DAY = dt.date(2026, 3, 2)
COMMUNES = [VOIRON, VOREPPE, MOIRANS, RIVES, TULLINS, COUBLEVIE]
GONE = "cette demande ne figure plus sur la liste de ce médecin"

# (priority router, non-priority rule's extra lines): every way a list is made
VARIANTS = {
    "pull": ("pull", "\n    pick_limit: 2"),
    "quota_above": ("monthly_quota", ""),
    "list_size": ("pull", "\n    list_size: 2"),
    "distance": ("pull", "\n    max_distance_km: 8"),
}


@functools.cache
def _policy(variant: str) -> mt_access.Policy:
    priority, extra = VARIANTS[variant]
    head, rest = VOIRONNAIS.split("routing:\n", 1)
    rest = rest.replace(
        "  priority:\n    router: monthly_quota", f"  priority:\n    router: {priority}", 1
    )
    rest = rest.replace(
        "  non_priority:\n    router: monthly_quota", f"  non_priority:\n    router: pull{extra}", 1
    )
    path = Path(tempfile.mkdtemp()) / f"{variant}.yaml"
    path.write_text(head + "routing:\n" + rest, encoding="utf-8")
    return mt_access.load_policy(path)


# ------------------------------------------------------------------------------------------
# The reference: the lists as the pull router writes them (the computation before)


def old_lists(register: Register, on: dt.date) -> tuple[PullList, ...]:
    """``Register.pull_lists`` as it was: a whole match whose ``pull`` router writes every
    entry, the lists of one GP joined, the households' sizes from the listing."""
    requests, _ = register.to_route(on)
    result = register.preview_match(on)
    if not result.pull_lists:
        return ()
    ids = [r.id for r in requests]
    names = Hooks.of(register.policy, register.plugin_manager).pseudonyms(ids, register.policy)
    reverse: dict[str, str] = {}
    for name, rid in zip(names, ids, strict=True):
        reverse[name] = "" if name in reverse else rid
    searching = (RequestState.WAITING, RequestState.PROPOSED)
    sizes = {s.id: s.persons for s in register.store.summaries(searching) if s.id in set(ids)}

    def whole(entry: PullEntry) -> PullEntry:
        return attrs.evolve(entry, household=sizes.get(reverse.get(entry.pseudonym, ""), 0))

    out: list[PullList] = []
    for x in result.pull_lists:
        x = attrs.evolve(x, entries=tuple(whole(e) for e in x.entries))
        if out and out[-1].physician_id == x.physician_id:
            last = out[-1]
            out[-1] = PullList(x.physician_id, last.entries + x.entries, last.places_left)
        else:
            out.append(x)
    return tuple(out)


def old_pending_picks(register: Register, physician_id: str) -> int:
    """The GP's pending picks as counted before: every proposed request read."""
    summaries = register.store.summaries([RequestState.PROPOSED])
    ids = [s.id for s in summaries if physician_id in s.proposed_to]
    count = 0
    for file in register.store.get_files(ids).values():
        last = next(
            t
            for t in reversed(file.history)
            if t.event is Event.PROPOSE and t.physician_id == physician_id
        )
        count += last.actor is Actor.PHYSICIAN
    return count


# ------------------------------------------------------------------------------------------
# Generated registers

GP = st.tuples(
    st.sampled_from(COMMUNES),  # practice
    st.integers(0, 3),  # monthly capacity
    st.booleans(),  # accepts the territory (else its own commune only)
    st.booleans(),  # home visits
)
REQUEST = st.tuples(
    st.sampled_from(COMMUNES),
    st.integers(1, 3),  # persons
    st.booleans(),  # ALD: the priority level
    st.integers(0, 60),  # days waiting
    st.booleans(),  # needs home visits
)
EVENT = st.tuples(
    st.sampled_from(["propose", "propose_one", "refuse", "pick"]),
    st.integers(0, 20),
    st.integers(0, 5),
)


def _build(
    variant: str,
    gps: list[tuple[str, int, bool, bool]],
    requests: list[tuple[str, int, bool, int, bool]],
    events: list[tuple[str, int, int]],
    store: MemoryStore | SQLiteStore | None = None,
) -> Register:
    register = Register(store or MemoryStore(), _policy(variant))
    for i, (commune, capacity, territory, visits) in enumerate(gps):
        pid = f"MG{i}"
        register.add_physician(doc(pid, commune, capacity=None))
        modalities = ["office", "home_visits"] if visits else ["office"]
        accepted = () if territory else (commune,)
        register.join(
            pid,
            DAY,
            monthly_capacity=capacity,
            modalities=modalities,
            accepted_communes=accepted,
        )
    ids = []
    for commune, persons, ald, days, visits in requests:
        rid = register.next_request_id()
        need = mt_access.HomeVisitNeed.OCCASIONAL if visits else mt_access.HomeVisitNeed.NONE
        request = req(
            rid,
            commune,
            persons=persons,
            ald=ald,
            home_visits=need,
            received=DAY - dt.timedelta(days=days),
        )
        register.add_request(request, PatientIdentity(last_name="Fictivelle", first_name="Lou"))
        register.acknowledge(rid, DAY)
        register.confirm(rid, DAY)
        register.to_waiting(rid, DAY)
        ids.append(rid)
    for kind, r, g in events:
        _event(register, kind, ids[r % len(ids)], f"MG{g % len(gps)}")
    return register


def _event(register: Register, kind: str, rid: str, gp: str) -> None:
    """One change of the register; refused changes change nothing."""
    try:
        if kind == "propose":
            register.propose(rid, gp, DAY)
        elif kind == "propose_one":
            register.propose(rid, gp, DAY, persons=register.file(rid).waiting_persons[:1])
        elif kind == "refuse":
            file = register.file(rid)
            if file.proposed_to:
                register.answer(rid, sorted(file.proposed_to)[0], DAY, accepted=False)
        else:
            lists = {x.physician_id: x for x in register.pull_lists(DAY)}
            if gp in lists and lists[gp].entries:
                register.choose(gp, lists[gp].entries[-1].pseudonym, DAY)
    except mt_access.MtAccessError:
        pass


# ------------------------------------------------------------------------------------------
# The lists


@settings(deadline=None, max_examples=60)
@given(
    variant=st.sampled_from(sorted(VARIANTS)),
    gps=st.lists(GP, min_size=1, max_size=5),
    requests=st.lists(REQUEST, min_size=1, max_size=10),
    events=st.lists(EVENT, max_size=5),
)
def test_the_index_lists_are_the_routers_lists(
    variant: str,
    gps: list[tuple[str, int, bool, bool]],
    requests: list[tuple[str, int, bool, int, bool]],
    events: list[tuple[str, int, int]],
) -> None:
    register = _build(variant, gps, requests, events)
    expected = old_lists(register, DAY)
    assert register.pull_lists(DAY) == expected
    index = register.pull_index(DAY)
    assert index.physician_ids() == [x.physician_id for x in expected]
    for x in expected:
        assert index.count(x.physician_id) == len(x.entries)
        assert index.list_of(x.physician_id, limit=1) == attrs.evolve(x, entries=x.entries[:1])
        for e in x.entries:
            assert index.entry(x.physician_id, e.pseudonym) == e
        # the portal's one pass: the first entries and the length, without some requests
        skip = {index.requests[e.pseudonym] for e in x.entries[::2]} - {""}
        rest = tuple(e for e in x.entries if index.requests[e.pseudonym] not in skip)
        for limit in (0, 1, 2, None):
            shown = rest if limit is None else rest[:limit]
            assert index.list_and_count(x.physician_id, skip=skip, limit=limit) == (
                attrs.evolve(x, entries=shown),
                len(rest),
            )
        assert index.count(x.physician_id, skip=skip) == len(rest)
    # as a worker process sends it back (mt_access.web.portal_pull): its columns only
    copy = pickle.loads(pickle.dumps(index))
    assert copy.lists() == expected
    assert copy.requests == index.requests


def test_per_request_exact_policies() -> None:
    assert per_request_exact(_policy("pull"))
    assert per_request_exact(_policy("distance"))
    assert not per_request_exact(_policy("list_size"))
    assert not per_request_exact(_policy("quota_above"))
    voironnais = mt_access.load_policy("voironnais")
    assert per_request_exact(voironnais)  # no pull level at all
    assert voironnais.code


# ------------------------------------------------------------------------------------------
# A pick against an index made before


@settings(deadline=None, max_examples=60)
@given(
    variant=st.sampled_from(sorted(VARIANTS)),
    gps=st.lists(GP, min_size=1, max_size=4),
    requests=st.lists(REQUEST, min_size=1, max_size=8),
    events=st.lists(EVENT, max_size=4),
    change=EVENT,
    data=st.data(),
)
def test_a_pick_with_an_index_made_before_a_change_is_judged_on_the_lists_now(
    variant: str,
    gps: list[tuple[str, int, bool, bool]],
    requests: list[tuple[str, int, bool, int, bool]],
    events: list[tuple[str, int, int]],
    change: tuple[str, int, int],
    data: st.DataObject,
) -> None:
    register = _build(variant, gps, requests, events)
    before = register.pull_index(DAY)  # as a portal page made it
    listed = sorted({e.pseudonym for pid in before.physician_ids() for e in _all(before, pid)})
    kind, r, g = change
    ids = sorted(before.pseudonyms)
    if ids:
        _event(register, kind, ids[r % len(ids)], f"MG{g % len(gps)}")
    gp = data.draw(st.sampled_from([f"MG{i}" for i in range(len(gps))]))
    pseudonym = data.draw(st.sampled_from([*listed, "P-AUCU-NEDE-MAND-EXXX"]))
    # what the lists as they stand say (the reference computation)
    now = {x.physician_id: x for x in old_lists(register, DAY)}
    entry = (
        next((e for e in now[gp].entries if e.pseudonym == pseudonym), None) if gp in now else None
    )
    physician = register.physician(gp)
    policy = register.policy
    left = register.ledger.remaining(
        gp, Month.of(DAY), default=policy.monthly_capacity_of(physician), carry_over=False
    )
    limit = register.pick_limit(entry.level) if entry is not None else 0
    expected = (
        entry is not None
        and physician.is_available_on(DAY)
        and left >= entry.persons
        and (not limit or old_pending_picks(register, gp) < limit)
    )
    snapshot = register_state(register)
    if not expected:
        with pytest.raises(RegisterOperationError):
            register.choose(gp, pseudonym, DAY, index=before)
        assert register_state(register) == snapshot
        return
    assert entry is not None
    file = register.choose(gp, pseudonym, DAY, index=before)
    assert before.requests[pseudonym] == file.id
    assert file.proposals[gp] == tuple(register.file(file.id).proposals[gp])
    assert len(file.proposals[gp]) == entry.persons
    assert file.history[-1].actor is Actor.PHYSICIAN
    for x in old_lists(register, DAY):
        assert pseudonym not in {e.pseudonym for e in x.entries} or x.physician_id != gp


def _all(index: mt_access.pull_index.PullIndex, pid: str) -> tuple[PullEntry, ...]:
    own = index.list_of(pid)
    return () if own is None else own.entries


# ------------------------------------------------------------------------------------------
# Two GPs, one request, at once


def test_two_gps_picking_one_request_at_once_one_succeeds(tmp_path: Path) -> None:
    path = tmp_path / "registre.sqlite"
    gps = [(VOIRON, 2, True, False), (VOREPPE, 2, True, False)]
    first = _build("pull", gps, [(VOIRON, 1, False, 10, False)], [], SQLiteStore(path))
    index = first.pull_index(DAY)  # the page both GPs saw
    (pseudonym,) = index.requests
    assert index.entry("MG0", pseudonym) is not None
    assert index.entry("MG1", pseudonym) is not None
    policy = first.policy
    first.store.close()
    barrier = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def pick(gp: str) -> None:
        # each GP's page through its own connection, as two server threads or processes
        with SQLiteStore(path, create=False) as store:
            register = Register(store, policy)
            register.pull_levels()
            barrier.wait()
            try:
                register.choose(gp, pseudonym, DAY, index=index)
                outcomes[gp] = "ok"
            except RegisterOperationError as exc:
                outcomes[gp] = str(exc)

    threads = [threading.Thread(target=pick, args=(gp,)) for gp in ("MG0", "MG1")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(outcomes) == ["MG0", "MG1"]
    winners = [gp for gp, said in outcomes.items() if said == "ok"]
    assert len(winners) == 1
    (loser,) = set(outcomes) - set(winners)
    assert GONE in outcomes[loser]
    assert "choisie par un autre médecin" in outcomes[loser]
    with SQLiteStore(path, create=False) as store:
        register = Register(store, policy)
        file = register.file(index.requests[pseudonym])
        assert file.proposed_to == frozenset(winners)
        assert len(register.ledger.placement_of(file.id)) == 1
