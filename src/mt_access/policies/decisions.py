"""Built-in answers to the decision hooks (plugin); each is ``trylast`` so any plugin can
take over.

The scope, classification and order hooks are answered in both forms: for a list of requests
(the hooks themselves, one object per request) and in column form (``..._columns``: read from
a :class:`~mt_access.columns.RequestTable`, answered with :class:`~mt_access.columns.Coded`
answers and key columns), with the same answers; the engine asks the column forms."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import itertools
import operator
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from mt_access.columns import Coded, RequestTable
from mt_access.errors import MtAccessError, PluginError
from mt_access.hooks import Hooks, owner_of, plugin_manager
from mt_access.model import Request
from mt_access.plugins import hookimpl
from mt_access.policy import Criterion, Policy, PriorityLevel
from mt_access.result import Classification, ReasonCode, ScopeDecision

BoolMatrix = npt.NDArray[np.bool_]


_ACCEPT = ScopeDecision.accept()
VECTOR_MIN = 64
"""Batches at least this large are classified with the vectorised criteria, when every
criterion of the policy has one (same answers, much faster on large batches)."""


def _vectorised(criteria: Sequence[Criterion], n: int) -> bool:
    return n >= VECTOR_MIN and all(c.vector is not None for c in criteria)


def _failed(policy: Policy, c: Criterion, exc: Exception) -> PluginError:
    who = owner_of(plugin_manager(policy), "mt_access_criterion_kinds", c.kind)
    return PluginError(f"le critère {c.kind!r} ({who}) a échoué ({type(exc).__name__})")


def _hit(policy: Policy, c: Criterion, request: Request, on: dt.date) -> bool:
    """``c(request, on)``, checked to be a bool (the plugin of the criterion kind is named
    otherwise)."""
    try:
        hit = c.test(request, on)
    except MtAccessError:
        raise
    except Exception as exc:
        raise _failed(policy, c, exc) from exc
    if hit is True or hit is False:
        return hit
    return bool(Hooks(plugin_manager(policy)).check_criterion(c.kind, hit))


def _matched(
    policy: Policy, level: PriorityLevel, request: Request, on: dt.date
) -> tuple[str, ...] | None:
    """:meth:`PriorityLevel.matched`, each criterion's answer checked."""
    met = tuple(c.label for c in level.criteria if _hit(policy, c, request, on))
    if level.match == "all":
        return met if len(met) == len(level.criteria) else None
    return met if met else None


def _met(
    policy: Policy, criteria: Sequence[Criterion], table: RequestTable, on: dt.date
) -> BoolMatrix:
    columns = []
    for c in criteria:
        if c.vector is None:
            continue
        try:
            found = c.vector(table, on)
        except MtAccessError:
            raise
        except Exception as exc:
            raise _failed(policy, c, exc) from exc
        columns.append(Hooks(plugin_manager(policy)).check_criterion(c.kind, found, len(table)))
    return np.stack(columns, axis=1) if columns else np.zeros((len(table), 0), dtype=bool)


def _exclusions_met(
    policy: Policy,
    excluded_rows: BoolMatrix | None,
    requests: Sequence[Request],
    i: int,
    on: dt.date,
) -> list[str]:
    """The labels of the policy's exclusions that request ``i`` meets, in the policy's
    order: read from row ``i`` of ``excluded_rows`` when they were evaluated for all the
    requests at once (:func:`_met`), else tested on ``requests[i]``."""
    exclusions = policy.exclusions
    if excluded_rows is not None:
        return [c.label for c, hit in zip(exclusions, excluded_rows[i], strict=True) if hit]
    return [c.label for c in exclusions if _hit(policy, c, requests[i], on)]


@hookimpl(trylast=True)
def mt_access_check_scope(
    requests: Sequence[Request], policy: Policy, on: dt.date
) -> list[ScopeDecision]:
    excluded_rows: BoolMatrix | None = None
    if policy.exclusions and _vectorised(policy.exclusions, len(requests)):
        excluded_rows = _met(policy, policy.exclusions, RequestTable(requests), on)
    territory, exclusions = policy.territory, policy.exclusions
    n = len(requests)
    # consent and territory read in C for every request; only the others looked at one by one
    communes = list(map(_commune, requests))
    given = np.fromiter(map(_consent_given, requests), bool, n)
    inside = np.fromiter(map(territory.__contains__, communes), bool, n)
    decisions = [_ACCEPT] * n
    no_consent = ScopeDecision.reject(ReasonCode.NO_CONSENT)
    for i in np.flatnonzero(~given).tolist():
        decisions[i] = no_consent
    for i in np.flatnonzero(given & ~inside).tolist():
        decisions[i] = ScopeDecision.reject(ReasonCode.OUT_OF_TERRITORY, f"commune {communes[i]}")
    if not exclusions:
        return decisions
    candidates = given & inside
    if excluded_rows is not None:  # only the rows an exclusion hit
        candidates &= excluded_rows.any(axis=1)
    for i in np.flatnonzero(candidates).tolist():
        excluded = _exclusions_met(policy, excluded_rows, requests, i, on)
        if excluded:
            decisions[i] = ScopeDecision.reject(ReasonCode.EXCLUDED_REASON, " ; ".join(excluded))
    return decisions


_commune = operator.attrgetter("patient.commune")
_consent_given = operator.attrgetter("consent.given")


@hookimpl(trylast=True)
def mt_access_check_scope_columns(
    table: RequestTable, policy: Policy, on: dt.date
) -> Coded[ScopeDecision]:
    """:func:`mt_access_check_scope`'s decisions, coded: acceptance, no consent, one
    rejection per commune outside the territory and per set of exclusions met."""
    n = len(table)
    territory, exclusions = policy.territory, policy.exclusions
    communes, commune = table.communes, table.commune_index
    inside = np.fromiter(map(territory.__contains__, communes), bool, len(communes))[commune]
    given = table.consent
    values: list[ScopeDecision] = [_ACCEPT, ScopeDecision.reject(ReasonCode.NO_CONSENT)]
    codes = np.where(given, 0, 1).astype(np.int64)
    outside = np.flatnonzero(given & ~inside)
    if outside.size:
        places, which = np.unique(commune[outside], return_inverse=True)
        codes[outside] = len(values) + which.reshape(-1)
        values.extend(
            ScopeDecision.reject(ReasonCode.OUT_OF_TERRITORY, f"commune {communes[c]}")
            for c in places.tolist()
        )
    if not exclusions:
        return Coded(codes, tuple(values))
    candidates = given & inside
    excluded_rows: BoolMatrix | None = None
    if _vectorised(exclusions, n):
        excluded_rows = _met(policy, exclusions, table, on)
        candidates &= excluded_rows.any(axis=1)
    by_labels: dict[str, int] = {}
    requests = table.requests
    for i in np.flatnonzero(candidates).tolist():
        excluded = _exclusions_met(policy, excluded_rows, requests, i, on)
        if excluded:
            detail = " ; ".join(excluded)
            k = by_labels.get(detail)
            if k is None:
                k = by_labels[detail] = len(values)
                values.append(ScopeDecision.reject(ReasonCode.EXCLUDED_REASON, detail))
            codes[i] = k
    return Coded(codes, tuple(values))


@hookimpl(trylast=True)
def mt_access_classify(
    requests: Sequence[Request], policy: Policy, on: dt.date
) -> list[Classification]:
    non_priority = Classification(policy.non_priority_level, policy.non_priority_rank, False)
    every = [c for level in policy.levels for c in level.criteria]
    if not _vectorised(every, len(requests)):
        return _classify_each(policy, requests, on, non_priority)
    assigned, bits, width = _levels_met(policy, RequestTable(requests), on)
    # one Classification per distinct (level, criteria met), shared by its requests
    if width + len(policy.levels).bit_length() > 62:  # the pair does not fit in one int64
        return _shared(policy, assigned.tolist(), bits.tolist(), non_priority)
    code = (assigned + 1) << width | bits
    made: dict[int, Classification] = {}
    for c in np.unique(code).tolist():
        made[c] = _classification(policy, (c >> width) - 1, c & ((1 << width) - 1), non_priority)
    return list(map(made.__getitem__, code.tolist()))


@hookimpl(trylast=True)
def mt_access_classify_columns(
    table: RequestTable, policy: Policy, on: dt.date
) -> Coded[Classification]:
    """:func:`mt_access_classify`'s answers, coded: one object per distinct (level, criteria
    met)."""
    non_priority = Classification(policy.non_priority_level, policy.non_priority_rank, False)
    every = [c for level in policy.levels for c in level.criteria]
    if not _vectorised(every, len(table)):
        return _by_value(_classify_each(policy, table.requests, on, non_priority))
    assigned, bits, width = _levels_met(policy, table, on)
    if width + len(policy.levels).bit_length() > 62:  # the pair does not fit in one int64
        return _by_value(_shared(policy, assigned.tolist(), bits.tolist(), non_priority))
    code = (assigned + 1) << width | bits
    distinct, inverse = np.unique(code, return_inverse=True)
    values = [
        _classification(policy, (c >> width) - 1, c & ((1 << width) - 1), non_priority)
        for c in distinct.tolist()
    ]
    return Coded(inverse.reshape(-1).astype(np.int64, copy=False), tuple(values))


def _classify_each(
    policy: Policy, requests: Sequence[Request], on: dt.date, non_priority: Classification
) -> list[Classification]:
    """The classification of each request, one criterion at a time."""
    out = []
    for request in requests:
        for level in policy.levels:
            met = _matched(policy, level, request, on)
            if met is not None:
                out.append(Classification(level.name, level.rank, True, met))
                break
        else:
            out.append(non_priority)
    return out


def _levels_met(
    policy: Policy, table: RequestTable, on: dt.date
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], int]:
    """With the vectorised criteria: each request's level (its index among the policy's
    levels, -1: non-priority), the criteria of that level it meets (bit ``k``: criterion
    ``k``), and the widest level's number of criteria."""
    n = len(table)
    assigned = np.full(n, -1, dtype=np.int64)
    bits = np.zeros(n, dtype=np.int64)
    for index, level in enumerate(policy.levels):
        hits = _met(policy, level.criteria, table, on)
        takes = hits.all(axis=1) if level.match == "all" else hits.any(axis=1)
        new = takes & (assigned < 0)
        assigned[new] = index
        weights = np.left_shift(1, np.arange(hits.shape[1], dtype=np.int64))
        bits[new] = hits[new].astype(np.int64) @ weights
    width = max((len(level.criteria) for level in policy.levels), default=0)
    return assigned, bits, width


T = TypeVar("T")


def _by_value(answers: Sequence[T]) -> Coded[T]:
    """The coded form of ``answers``, equal answers sharing one value."""
    index: dict[T, int] = {}
    codes = [index.setdefault(a, len(index)) for a in answers]
    return Coded(np.array(codes, dtype=np.int64), tuple(index))


def _classification(
    policy: Policy, level_index: int, met: int, non_priority: Classification
) -> Classification:
    """The classification in level ``level_index`` (-1: non-priority) with the criteria of
    the bits of ``met``."""
    if level_index < 0:
        return non_priority
    level = policy.levels[level_index]
    labels = tuple(c.label for k, c in enumerate(level.criteria) if met >> k & 1)
    return Classification(level.name, level.rank, True, labels)


def _shared(
    policy: Policy, assigned: list[int], bits: list[int], non_priority: Classification
) -> list[Classification]:
    """:func:`_classification` of each request, one object per distinct pair."""
    cache: dict[tuple[int, int], Classification] = {}
    result = []
    for pair in zip(assigned, bits, strict=True):
        found = cache.get(pair)
        if found is None:
            found = cache[pair] = _classification(policy, *pair, non_priority)
        result.append(found)
    return result


_id = operator.attrgetter("id")
_ordinal = operator.methodcaller("toordinal")
_received = operator.attrgetter("received")
_urgent = operator.attrgetter("urgent")
_birth = operator.attrgetter("patient.birth_date")


def _equal_as_one(values: Iterable[int]) -> Iterator[int]:
    """``values``, equal ones as one int object (in C: ``dict.setdefault`` mapped): a date's
    ordinal is a new 32-byte int for each request, and a France-sized month's order keys
    held 6 million of them for a few hundred distinct dates received."""
    seen: dict[int, int] = {}
    keys, defaults = itertools.tee(values)
    return map(seen.setdefault, keys, defaults)


_ORDER_KEYS: dict[str, Callable[[Sequence[Request]], Iterable[object]]] = {
    # the date's ordinal
    "received": lambda rs: _equal_as_one(map(_ordinal, map(_received, rs))),
    # 0 if urgent, else 1
    "urgent": lambda rs: map(int, map(operator.not_, map(_urgent, rs))),
    # the birth date's ordinal: oldest first
    "age": lambda rs: _equal_as_one(map(_ordinal, map(_birth, rs))),
}
"""The built-in order keys (the policy's ``ordering.keys``), each one value per request."""


@hookimpl(trylast=True)
def mt_access_order_keys(
    requests: Sequence[Request],
    classifications: Sequence[Classification],
    policy: Policy,
    on: dt.date,
) -> list[tuple[object, ...]]:
    # one pass per key, in C (map, zip): the same tuples as a loop per request, faster
    columns = [_ORDER_KEYS[name](requests) for name in policy.ordering_keys if name in _ORDER_KEYS]
    keys: list[tuple[object, ...]] = list(zip(*columns, map(_id, requests), strict=True))
    if policy.tie_break == "pseudonym":
        # the manager of the running match (the one given to ``match``), else the policy's
        names = Hooks(plugin_manager(policy)).pseudonyms([r.id for r in requests], policy)
        keys = [(*k[:-1], name, k[-1]) for k, name in zip(keys, names, strict=True)]
    return keys


_ORDER_COLUMNS: dict[str, Callable[[RequestTable], npt.NDArray[np.integer[Any]]]] = {
    "received": lambda t: t.received,
    "urgent": lambda t: (~t.urgent).astype(np.int8),
    "age": lambda t: t.birth,
}
"""The built-in order keys as columns: the values of :data:`_ORDER_KEYS`."""


@hookimpl(trylast=True)
def mt_access_order_keys_columns(
    table: RequestTable,
    classifications: Coded[Classification],
    policy: Policy,
    on: dt.date,
) -> list[npt.NDArray[np.generic]]:
    """:func:`mt_access_order_keys`' keys as columns (without the request id, which the
    caller adds)."""
    columns: list[npt.NDArray[np.generic]] = [
        _ORDER_COLUMNS[name](table) for name in policy.ordering_keys if name in _ORDER_COLUMNS
    ]
    if policy.tie_break == "pseudonym":
        names = Hooks(plugin_manager(policy)).pseudonyms(list(table.ids), policy)
        columns.append(_texts(names))
    return columns


def _texts(texts: Sequence[str]) -> npt.NDArray[np.generic]:
    """``texts`` as a column numpy sorts as Python sorts them: the texts themselves, or their
    ranks when one holds a NUL character (numpy drops trailing ones)."""
    if "\0" not in "".join(texts):
        return np.array(texts, dtype=str)
    distinct = sorted(set(texts))
    rank = {text: k for k, text in enumerate(distinct)}
    return np.fromiter(map(rank.__getitem__, texts), np.int64, len(texts))


PSEUDONYM_BITS = 80
"""Bits of the built-in pseudonym: with 250,000 requests the chance that two share one is
about 3 in 10¹⁴ (it was 2.8 % with the former 40 bits; see ``docs/hooks.md``)."""


def pseudonym_digest(request_id: str, key: str) -> bytes:
    """HMAC-SHA256 of the request id under ``key`` (any length: HMAC hashes a key longer than
    its block, RFC 2104), cut to :data:`PSEUDONYM_BITS`."""
    mac = hmac.new(key.encode("utf-8"), request_id.encode("utf-8"), hashlib.sha256)
    return mac.digest()[: PSEUDONYM_BITS // 8]


@hookimpl(trylast=True)
def mt_access_pseudonym(request_id: str, policy: Policy) -> str:
    text = base64.b32encode(pseudonym_digest(request_id, policy.pseudonym_key)).decode("ascii")
    return "P-" + "-".join(text[k : k + 4] for k in range(0, len(text), 4))
