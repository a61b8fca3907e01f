"""``match`` builds its :class:`~mt_access.result.Waiting` objects when they are read (issue
13, point 3): on the columnar path, :attr:`MatchResult.waiting` is a
:class:`~mt_access.result.LazySequence` that must be indistinguishable from the tuple the
objects' path builds eagerly: same items (read one by one before anything is built, or all
at once), same order, equal results, same hash, and a register run that reads only its
length.
"""

from __future__ import annotations

import copy
import datetime as dt
import itertools
import pickle
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

import attrs
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import mt_access
from factories import COUBLEVIE, MOIRANS, ON, TULLINS, VOIRON, VOREPPE, doc, req
from mt_access import Policy, engine_rows, hooks, match
from mt_access.columnar_routing import REASONS
from mt_access.model import HomeVisitNeed, Modality
from mt_access.policy import policy_from_mapping
from mt_access.result import LazySequence, ReasonCode, Waiting
from strategies import request_lists

COMMUNES = (VOIRON, VOREPPE, MOIRANS, TULLINS, COUBLEVIE)


# --------------------------------------------------------------------------------------------
# LazySequence: a tuple whose items are built when read


def _lazy(items: tuple[int, ...], built: list[int] | None = None) -> LazySequence[int]:
    def one(k: int) -> int:
        if built is not None:
            built.append(k)
        return items[k]

    return LazySequence(len(items), one, lambda: list(items))


def test_a_lazy_sequence_reads_as_its_tuple() -> None:
    items = (3, 1, 4, 1, 5)
    lazy = _lazy(items)
    assert len(lazy) == 5
    assert lazy
    assert not lazy.built
    assert (lazy[0], lazy[-1], lazy[1:4], lazy[::-2]) == (3, 5, (1, 4, 1), (5, 4, 3))
    with pytest.raises(IndexError):
        lazy[5]
    with pytest.raises(IndexError):
        lazy[-6]
    assert not lazy.built  # read by index: nothing kept
    assert lazy == items
    assert items == lazy
    assert lazy == _lazy(items)
    assert not (lazy != items)  # noqa: SIM202 - __ne__ itself
    assert lazy != (3, 1, 4)
    assert lazy != list(items)  # a list is not its tuple
    assert hash(lazy) == hash(items)
    assert repr(lazy) == repr(items)
    assert lazy.built
    assert list(lazy) == list(items)
    assert list(reversed(lazy)) == list(reversed(items))
    assert 4 in lazy
    assert 9 not in lazy
    assert (lazy.index(1), lazy.count(1)) == (1, 2)
    assert lazy + (9,) == (*items, 9)  # noqa: RUF005 - __add__ itself
    assert (0,) + lazy == (0, *items)  # noqa: RUF005 - __radd__ itself
    assert pickle.loads(pickle.dumps(lazy)) == items
    assert copy.deepcopy(lazy) == items
    assert type(copy.copy(lazy)) is tuple
    assert not _lazy(())
    assert _lazy(()) == ()


def test_an_item_read_by_index_is_built_alone() -> None:
    built: list[int] = []
    lazy = _lazy((7, 8, 9), built)
    assert (lazy[2], lazy[0]) == (9, 7)
    assert built == [2, 0]
    assert lazy.items() == (7, 8, 9)
    assert lazy[1] == 8
    assert built == [2, 0]  # read from the kept tuple


# --------------------------------------------------------------------------------------------
# match: the same waiting requests as the objects' path


@contextmanager
def _objects_path() -> Iterator[None]:
    """Every run of ``match`` through the routers, waiting requests built eagerly."""
    with mock.patch.object(engine_rows.ColumnarPath, "of", return_value=None):
        yield


def _policy(caps: tuple[float | None, float | None], middle: str, before: bool) -> Policy:
    """N1 (ALD) and non-priority levels routed by ``monthly_quota`` (the columnar path),
    each with a maximum distance; N2 (urgent) by ``middle``; a ``before`` resource holding
    the requests in a complex situation (waiting requests that are objects)."""

    def rule(router: str, cap: float | None = None) -> dict[str, Any]:
        return {"router": router} | ({"max_distance_km": cap} if cap else {})

    mapping: dict[str, Any] = {
        "version": 1,
        "identity": {"name": "T", "code": "t", "department": "38"},
        "territory": {"communes": list(COMMUNES)},
        "priority": {
            "levels": [
                {"name": "N1", "criteria": [{"kind": "ald"}]},
                {"name": "N2", "criteria": [{"kind": "urgent"}]},
            ],
            "non_priority_name": "non prioritaire",
        },
        "routing": {
            "priority": rule("monthly_quota", caps[0]),
            "non_priority": rule("monthly_quota", caps[1]),
            "levels": {"N2": rule(middle)},
        },
    }
    if before:
        mapping["resources"] = [
            {
                "name": "DAC",
                "kind": "dispositif d'appui",
                "mode": "before",
                "wait_days": 30,
                "when": [{"kind": "disability_or_chronic"}],
            }
        ]
    return policy_from_mapping(mapping)


@st.composite
def _month(draw: st.DrawFn) -> tuple[list[mt_access.Request], list[mt_access.Physician]]:
    physicians = [
        doc(
            f"G{j}",
            draw(st.sampled_from(COMMUNES)),
            capacity=draw(st.integers(0, 3)),
            accepted=frozenset(draw(st.sets(st.sampled_from(COMMUNES), min_size=1, max_size=4))),
            modalities=draw(
                st.sampled_from(
                    (
                        frozenset({Modality.OFFICE}),
                        frozenset({Modality.OFFICE, Modality.HOME_VISITS}),
                    )
                )
            ),
        )
        for j in range(draw(st.integers(1, 5)))
    ]
    ids = [p.id for p in physicians]
    n = draw(st.integers(1, 16))
    order = draw(st.permutations(range(n)))  # ids not in the order of the input
    requests = [
        req(
            f"R{order[i]:02d}",
            draw(st.sampled_from(COMMUNES)),
            received=dt.date(2026, 1, 1) + dt.timedelta(days=draw(st.integers(0, 40))),
            ald=draw(st.booleans()),
            urgent=draw(st.booleans()),
            disability_or_chronic=draw(st.integers(0, 4)) == 0,
            persons=draw(st.integers(1, 3)),
            home_visits=draw(st.sampled_from((HomeVisitNeed.NONE,) * 3 + tuple(HomeVisitNeed))),
            declined_by=draw(st.frozensets(st.sampled_from(ids), max_size=2)),
        )
        for i in range(n)
    ]
    return requests, physicians


_CAPS = st.tuples(*(st.sampled_from((None, 2.5, 4.5, 12.5)) for _ in range(2)))


@given(
    month=_month(),
    caps=_CAPS,
    middle=st.sampled_from(("monthly_quota", "nearest")),
    before=st.booleans(),
    explain=st.sampled_from(("full", "counts", "none")),
    data=st.data(),
)
def test_lazy_waiting_is_the_eager_tuple(
    month: tuple[list[mt_access.Request], list[mt_access.Physician]],
    caps: tuple[float | None, float | None],
    middle: str,
    before: bool,
    explain: str,
    data: st.DataObject,
) -> None:
    """Columnar runs, runs of another router and requests held by a resource in one month:
    the waiting requests read one by one (in any order, before anything is built), then all
    at once, are the objects' path's tuple, item for item; the results are equal and hash
    alike."""
    requests, physicians = month
    policy = _policy(caps, middle, before)
    with _objects_path():
        expected = match(requests, physicians, policy, None, ON, explain=explain)  # type: ignore[arg-type]
    assert type(expected.waiting) is tuple
    got = match(requests, physicians, policy, None, ON, explain=explain)  # type: ignore[arg-type]
    waiting = got.waiting
    assert len(waiting) == len(expected.waiting)
    if isinstance(waiting, LazySequence):
        picks = data.draw(st.lists(st.integers(0, max(len(waiting) - 1, 0)), max_size=6))
        for k in picks if waiting else []:
            assert waiting[k] == expected.waiting[k]
            assert waiting[k - len(waiting)] == expected.waiting[k]
        assert not waiting.built
        assert waiting[1:] == expected.waiting[1:]
    assert list(waiting) == list(expected.waiting)
    assert got.eligibility == expected.eligibility
    assert got == expected
    assert expected == got
    assert hash(got) == hash(expected)


def test_a_columnar_run_gives_a_lazy_waiting_list_with_every_reason() -> None:
    """Capacity exhausted, no eligible GP, beyond the maximum distance (with its detail) and
    held by a resource, sorted by request id."""
    policy = _policy((2.5, None), "monthly_quota", True)
    requests = [
        req("R4", VOIRON),  # capacity exhausted (R1 takes the only place)
        req("R1", VOIRON, received=dt.date(2026, 1, 1)),
        req("R3", TULLINS, ald=True),  # N1, cap 2.5 km: G1 is too far
        req("R2", MOIRANS),  # nobody accepts Moirans
        req("R0", VOIRON, disability_or_chronic=True),  # held by the DAC
    ]
    gps = [doc("G1", VOIRON, accepted=frozenset({VOIRON, TULLINS}))]
    result = match(requests, gps, policy, None, ON)
    assert isinstance(result.waiting, LazySequence)
    assert [p.request_id for p in result.placements] == ["R1"]
    got = [(w.request_id, w.reason, w.detail) for w in result.waiting]
    assert got[0][:2] == ("R0", ReasonCode.AWAITING_RESOURCE)
    assert got[1:] == [
        ("R2", ReasonCode.NO_ELIGIBLE_GP, ""),
        ("R3", ReasonCode.BEYOND_MAX_DISTANCE, "distance maximale 2,5 km"),
        ("R4", ReasonCode.CAPACITY_EXHAUSTED, ""),
    ]
    assert all(isinstance(w, Waiting) for w in result.waiting)
    with _objects_path():
        assert match(requests, gps, policy, None, ON) == result


def test_a_register_run_does_not_build_its_waiting_objects() -> None:
    """The register records a run's placements and counts its waiting requests: the
    waiting objects are built only when the result's waiting list is read."""
    register = mt_access.Register(mt_access.MemoryStore(), mt_access.load_policy("voironnais"))
    register.add_physician(doc("MG1", capacity=None))
    register.join("MG1", dt.date(2026, 3, 1), monthly_capacity=1, modalities=[Modality.OFFICE])
    for rid in ("B1", "B2", "B3"):
        register.add_request(req(rid, received=dt.date(2026, 3, 2)))
        register.acknowledge(rid, dt.date(2026, 3, 2))
        register.confirm(rid, dt.date(2026, 3, 2))
        register.to_waiting(rid, dt.date(2026, 3, 2))
    run = register.run_match(dt.date(2026, 3, 3))
    waiting = run.result.waiting
    assert isinstance(waiting, LazySequence)
    assert run.record.waiting == len(waiting) == 2
    assert not waiting.built
    assert [w.request_id for w in waiting] == ["B2", "B3"]
    assert waiting.built


# --------------------------------------------------------------------------------------------
# the priority order with whole-array steps


_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "int": st.integers(-3, 3) | st.integers(-(2**70), 2**70),
    "bool": st.booleans(),
    "float": st.sampled_from((0.0, -0.0, 1.5, -2.0, float("inf"), float("nan"))),
    "str": st.text(alphabet="ab\x00é", max_size=3),
    "mixed": st.one_of(st.integers(0, 2), st.text(alphabet="ab", max_size=2)),
}


@st.composite
def _decorated(draw: st.DrawFn) -> tuple[list[int], list[tuple[Any, ...]], list[str]]:
    n = draw(st.integers(1, 40))
    kinds = draw(st.lists(st.sampled_from(sorted(_VALUES)), max_size=3))
    columns = [draw(st.lists(_VALUES[k], min_size=n, max_size=n)) for k in kinds]
    keys = [tuple(c[i] for c in columns) for i in range(n)]
    ranks = draw(st.lists(st.integers(1, 3), min_size=n, max_size=n))
    ids = draw(st.lists(st.text(alphabet="RS0\x00", max_size=4), min_size=n, max_size=n))
    if draw(st.booleans()):
        ids = [f"R{i:03d}" for i in range(n)]  # sorted and unique, as in match
        if draw(st.booleans()):
            keys = [(*k, rid) for k, rid in zip(keys, ids, strict=True)]  # the built-in's
    return ranks, keys, ids


@given(_decorated())
def test_the_whole_array_order_is_the_sorted_order(
    decorated: tuple[list[int], list[tuple[Any, ...]], list[str]],
) -> None:
    """Ints (beyond 64 bits too), bools, floats (NaN, -0.0), texts (NUL), mixed: the fast
    order is the order of the sorted (rank, key, id) tuples, or it declines."""
    ranks, keys, ids = decorated
    with mock.patch.object(hooks, "WHOLE_ARRAY_ORDER_MIN", 1):
        got = hooks._whole_array_order(ranks, keys, ids)
    try:
        expected = sorted(range(len(ids)), key=lambda i: (ranks[i], keys[i], ids[i]))
    except TypeError:
        assert got is None
        return
    if got is not None:
        assert got == expected
    simple = all(
        {type(x) for x in column} <= {int} and all(abs(x) < 2**63 for x in column)
        for column in zip(*keys, strict=True)
    )
    if simple and not any("\x00" in rid for rid in ids):
        assert got == expected  # the usual keys take the fast path


def test_the_built_in_order_keys_are_the_policy_s() -> None:
    """``received``, ``urgent`` and ``age`` (and unknown names skipped): one tuple per
    request, ending with its id, as the loop per request gave them."""
    policy = _policy((None, None), "monthly_quota", False)
    policy = attrs.evolve(policy, ordering_keys=("urgent", "age", "received"))
    requests = [
        req("R1", urgent=True, age=30, received=dt.date(2026, 1, 3)),
        req("R2", age=70, received=dt.date(2026, 1, 2)),
    ]
    keys = hooks.Hooks.of(policy).order_keys(requests, [], policy, ON)
    assert keys == [
        (0, dt.date(ON.year - 30, 1, 1).toordinal(), dt.date(2026, 1, 3).toordinal(), "R1"),
        (1, dt.date(ON.year - 70, 1, 1).toordinal(), dt.date(2026, 1, 2).toordinal(), "R2"),
    ]
    assert all(type(x) is int for k in keys for x in k[:-1])


def test_equal_dates_in_the_order_keys_are_one_object() -> None:
    """Requests received (or born) on the same day share their ordinal's int object: a
    France-sized month's keys hold a few hundred distinct dates, not 6 million ints."""
    policy = _policy((None, None), "monthly_quota", False)
    policy = attrs.evolve(policy, ordering_keys=("age", "received"))
    requests = [
        req(f"R{i}", age=40 + i % 2, received=dt.date(2026, 1, 2 + i % 3)) for i in range(12)
    ]
    keys = hooks.Hooks.of(policy).order_keys(requests, [], policy, ON)
    for position in (0, 1):
        values = [k[position] for k in keys]
        assert len({id(v) for v in values}) == len(set(values)) < len(values)


# --------------------------------------------------------------------------------------------
# scope and classification of a large batch: the answers one request at a time


@given(
    requests=request_lists(max_size=8, min_size=1, out_of_scope=("38000", "69123")),
    name=st.sampled_from(("voironnais", "deule_marque", "coeur_essonne", "lievin")),
)
def test_a_large_batch_is_scoped_and_classified_as_one_request_at_a_time(
    requests: list[mt_access.Request], name: str
) -> None:
    """Consent, territory and exclusions read in C and classifications shared per level and
    criteria met (batches of at least 64): the answers of one request at a time."""
    policy = mt_access.load_policy(name)
    communes = itertools.cycle([*sorted(policy.territory), "38000", "69123"])
    batch = [
        attrs.evolve(r, id=f"R{k:03d}", patient=attrs.evolve(r.patient, commune=next(communes)))
        for k, r in enumerate(itertools.islice(itertools.cycle(requests), 80))
    ]
    assert len(batch) >= 64
    h = hooks.Hooks.of(policy)
    decisions = h.check_scope(batch, policy, ON)
    assert decisions == [h.check_scope([r], policy, ON)[0] for r in batch]
    assert h.classify(batch, policy, ON) == [h.classify([r], policy, ON)[0] for r in batch]


# --------------------------------------------------------------------------------------------
# the waiting requests' columns: narrow, sorted once, the parts let go


@given(
    parts=st.lists(
        st.one_of(
            st.lists(st.integers(0, 9), max_size=5).map(lambda rows: ("rows", rows)),
            st.lists(st.integers(0, 9), min_size=1, max_size=3).map(lambda r: ("objects", r)),
        ),
        min_size=1,
        max_size=5,
    ),
    data=st.data(),
)
def test_waiting_parts_read_as_the_sorted_tuple(
    parts: list[tuple[str, list[int]]], data: st.DataObject
) -> None:
    """Columns and objects given in any mix (a request in several parts too): the sequence
    is every waiting request sorted by id, then in the order the parts came, read one by
    one or all at once; its columns are narrow and the parts' columns are let go."""
    ids = [f"R{i}" for i in range(10)]
    classes = [mt_access.Classification(f"L{i % 3}", i % 3 + 1, True) for i in range(10)]
    waits = engine_rows.WaitingParts(ids, classes)
    came: list[Waiting] = []
    for k, (kind, rows) in enumerate(parts):
        if kind == "objects":
            made = [Waiting(ids[i], "X", 9, ReasonCode.AWAITING_RESOURCE, k + 1) for i in rows]
            waits.add_objects(made)
            came.extend(made)
            continue
        reason = [(i + k) % 3 for i in rows]
        detail = [(i + k) % 2 for i in rows]
        waits.add_rows(
            *(np.array(x, dtype=np.int64) for x in (rows, reason, [k + 1] * len(rows), detail)),
            ["", f"texte {k}"],
        )
        came.extend(
            Waiting(
                ids[i],
                classes[i].level,
                classes[i].rank,
                REASONS[r],
                k + 1,
                f"texte {k}" if d else "",
            )
            for i, r, d in zip(rows, reason, detail, strict=True)
        )
    expected = tuple(sorted(came, key=lambda w: w.request_id))  # stable: as they came
    got = waits.sequence()
    assert waits.columns == []
    if waits.sorted_rows is not None:
        assert waits.sorted_rows.dtype == np.int32
        assert isinstance(got, LazySequence)
    assert len(got) == len(expected)
    if expected:
        for k in data.draw(st.lists(st.integers(0, len(expected) - 1), max_size=8)):
            assert got[k] == expected[k]
    assert tuple(got) == expected
    assert sorted(waits.rows().tolist()) == sorted(int(w.request_id[1:]) for w in came)
