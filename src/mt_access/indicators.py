"""Monthly indicators of a CPTS register, the waiting list over time and a patient's position.

Everything here is computed from the register's data (requests, their lifecycle files, the GPs,
the capacity ledger, the policy and the communes' populations) for a :class:`Period`: a
calendar month or any range of days, both ends included. Nothing here does I/O or reads the
clock: dates are passed in. The definitions (see ``docs/indicators.md``):

* **entries**: requests *received* in the period (``Request.received``);
* **exits**: requests whose file reached a final state (``mt_found`` or ``exited``) in the
  period, by :class:`~mt_access.lifecycle.ExitReason`; the exit date is the date of the final
  transition;
* **placed**: exits with the reason ``mt_found`` (a GP accepted the patient), by exit date;
* **waiting list**: requests *in progress*, i.e. in one of the active states
  (:data:`~mt_access.lifecycle.ACTIVE_STATES`: received, acknowledged, confirmed, waiting,
  proposed) at the end of a day: received on or before that day and not exited on or before
  it. « Au début » is the end of the day before the period, « à la fin » the end of its last
  day; the net change is their difference, and always equals entries − exits;
* **priority level**: the level of the request on the day it was received (the
  ``mt_access_classify`` hook, called once per reception date for all the requests received
  that day);
* **wait**: days from reception to the ``accept`` transition, for the requests placed in the
  period; median and 90th percentile (linear interpolation, :func:`numpy.percentile`);
* **placed within 30 / 90 days**: of the requests received between ``start - N`` and
  ``end - N`` days (whose N-day window closes in the period, so each is fully observed), the
  share that found a GP at most N days after reception;
* **GPs**: per GP, proposals, acceptances and refusals dated in the period, the places held in
  the ledger in the months the period overlaps, against the capacity declared for those months
  (counted for the months in which the GP was available at least one day of the period);
* **demand per 1,000 inhabitants**: entries of a commune / its population × 1,000.

:func:`indicators` reads a :class:`~mt_access.register.Register` in bulk: every listing line
at once, then only the requests and files the period needs (the store has no bulk read by id,
so those are read one by one when they are few, else all at once);
:func:`compute_indicators` takes plain sequences. Every table is a
:class:`Table` with French column labels and a ``to_frame()`` (pandas, imported on first
use). :func:`waiting_position` tells a patient where their request stands in the policy's
order and estimates the wait from recent placements, saying plainly how uncertain it is.
"""

from __future__ import annotations

import datetime as dt
import importlib
import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np
import numpy.typing as npt
import pluggy

from mt_access.calendar import MONTH_NAMES_FR, Month
from mt_access.engine import policy_plugin_manager, rank_requests
from mt_access.errors import MtAccessError
from mt_access.hooks import Hooks
from mt_access.ledger import CapacityLedger
from mt_access.lifecycle import (
    ACTIVE_STATES,
    Event,
    ExitReason,
    RequestFile,
    RequestState,
    Transition,
)
from mt_access.model import Physician, ReferrerKind, Request, SearchReason
from mt_access.policy import Policy
from mt_access.result import Classification

if TYPE_CHECKING:
    import pandas as pd  # type: ignore[import-untyped, import-not-found, unused-ignore]

    from mt_access.register import Register
    from mt_access.store.base import Store

__all__ = [
    "ALL_LEVELS",
    "Indicators",
    "IndicatorsError",
    "Period",
    "Table",
    "WaitEstimate",
    "WaitingListSeries",
    "WaitingPosition",
    "compute_indicators",
    "compute_waiting_list_series",
    "compute_waiting_position",
    "indicators",
    "reception_levels",
    "waiting_list_series",
    "waiting_position",
]

Cell = str | int | float | dt.date | None
"""A table cell: text, a count, a share or a number of days, a date, or nothing."""

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

_NEVER = dt.date.max.toordinal()
"""Exit ordinal of a request still in progress."""


_BEFORE_LIST = frozenset({RequestState.RECEIVED, RequestState.ACKNOWLEDGED, RequestState.CONFIRMED})
_EXIT_REASONS: tuple[ExitReason, ...] = tuple(ExitReason)
_MT_FOUND = _EXIT_REASONS.index(ExitReason.MT_FOUND)
_REASONS: tuple[SearchReason, ...] = tuple(SearchReason)
_REFERRERS: tuple[ReferrerKind, ...] = tuple(ReferrerKind)
ALL_LEVELS = "ensemble"
"""The label of the row that adds up every level."""


class IndicatorsError(MtAccessError, ValueError):
    """Indicators cannot be computed as asked (a period ending before it starts, a request
    without its file, an unknown table...). Messages name ids and dates, never a patient."""


# ------------------------------------------------------------------------------------------
# Periods


def _fr_date(day: dt.date) -> str:
    return day.strftime("%d/%m/%Y")


@attrs.frozen
class Period:
    """A range of days, both ends included: a calendar month (:meth:`month`) or any range.

    Attributes:
        start: the first day.
        end: the last day (``>= start``).
    """

    start: dt.date
    end: dt.date

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.start, dt.date) or not isinstance(self.end, dt.date):
            raise IndicatorsError("période : dates de début et de fin attendues")
        if self.end < self.start:
            raise IndicatorsError(
                f"période : la fin ({self.end:%d/%m/%Y}) précède le début ({self.start:%d/%m/%Y})"
            )

    @classmethod
    def month(cls, month: Month | str) -> Period:
        """The calendar month ``month`` (a :class:`~mt_access.calendar.Month` or ``"2026-03"``)."""
        m = Month.parse(month) if isinstance(month, str) else month
        return cls(m.first_day, m.last_day)

    @classmethod
    def of(cls, value: Period | Month | str) -> Period:
        """``value`` as a period: a period is returned as is, a month (or ``"YYYY-MM"``)
        becomes that calendar month."""
        if isinstance(value, Period):
            return value
        try:
            return cls.month(value)
        except ValueError as exc:
            raise IndicatorsError(f"période : mois attendu au format AAAA-MM ({exc})") from exc

    @property
    def months(self) -> tuple[Month, ...]:
        """The calendar months the period overlaps, in order."""
        out = [Month.of(self.start)]
        last = Month.of(self.end)
        while out[-1] < last:
            out.append(out[-1].next())
        return tuple(out)

    @property
    def days(self) -> int:
        """Number of days, both ends included."""
        return (self.end - self.start).days + 1

    @property
    def is_month(self) -> bool:
        """Whether the period is exactly one calendar month."""
        m = Month.of(self.start)
        return self.start == m.first_day and self.end == m.last_day

    @property
    def label(self) -> str:
        """French label: ``mars 2026`` for a month, else ``du 01/03/2026 au 15/04/2026``."""
        if self.is_month:
            return f"{MONTH_NAMES_FR[self.start.month - 1]} {self.start.year}"
        return f"du {_fr_date(self.start)} au {_fr_date(self.end)}"

    def previous(self) -> Period:
        """The period just before: the previous month for a month, else the same number of
        days ending the day before ``start``."""
        if self.is_month:
            return Period.month(Month.of(self.start).previous())
        end = self.start - dt.timedelta(days=1)
        return Period(end - dt.timedelta(days=self.days - 1), end)

    def __contains__(self, day: object) -> bool:
        return isinstance(day, dt.date) and self.start <= day <= self.end

    def __str__(self) -> str:
        return self.label


# ------------------------------------------------------------------------------------------
# Tables


def _pandas() -> Any:
    try:
        return importlib.import_module("pandas")
    except ImportError as exc:  # pragma: no cover - pandas is a dependency
        raise IndicatorsError("pandas est nécessaire pour to_frame() : pip install pandas") from exc


@attrs.frozen
class Table:
    """One table of indicators, with French column labels.

    Attributes:
        name: its key (``entries_by_reason``...).
        title: French title, as printed in the workbook.
        columns: French column labels.
        rows: the rows, cells in column order (counts are ``int``, shares ``float`` in
            [0, 1], days ``float``; ``None`` when there is nothing to compute).
        note: French definition, printed under the title.
    """

    name: str
    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]
    note: str = ""

    def __attrs_post_init__(self) -> None:
        for row in self.rows:
            if len(row) != len(self.columns):
                raise IndicatorsError(f"tableau {self.name} : ligne de {len(row)} cellules")

    def __len__(self) -> int:
        return len(self.rows)

    def column(self, label: str) -> tuple[Cell, ...]:
        """The cells of one column, by its French label."""
        try:
            j = self.columns.index(label)
        except ValueError:
            raise IndicatorsError(f"tableau {self.name} : colonne inconnue {label!r}") from None
        return tuple(row[j] for row in self.rows)

    def row(self, key: str) -> dict[str, Cell]:
        """The row whose first cell is ``key``, as ``{column label: cell}``."""
        for row in self.rows:
            if row[0] == key:
                return dict(zip(self.columns, row, strict=True))
        raise IndicatorsError(f"tableau {self.name} : pas de ligne {key!r}")

    def records(self) -> list[dict[str, Cell]]:
        """Every row as ``{column label: cell}``."""
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]

    def to_frame(self) -> pd.DataFrame:
        """The table as a :class:`pandas.DataFrame` (French column labels). Counts are
        nullable integers (``Int64``), shares and days floats (``NaN`` when there is nothing
        to compute), text and mixed columns objects."""
        pd_ = _pandas()
        data: dict[str, Any] = {}
        for j, label in enumerate(self.columns):
            values = [row[j] for row in self.rows]
            data[label] = pd_.array(values, dtype=_dtype(values))
        frame: pd.DataFrame = pd_.DataFrame(data, columns=list(self.columns))
        return frame


def _dtype(values: Sequence[Cell]) -> str:
    present = [v for v in values if v is not None]
    if present and all(isinstance(v, int) and not isinstance(v, bool) for v in present):
        return "Int64"
    if present and all(isinstance(v, int | float) and not isinstance(v, bool) for v in present):
        return "float64"
    if not present and values:
        return "float64"
    return "object"


# ------------------------------------------------------------------------------------------
# Reading the data once


def _classify_by_day(
    pairs: Iterable[tuple[Request, dt.date]], policy: Policy, pm: pluggy.PluginManager
) -> dict[str, Classification]:
    """Each request's classification on its own day, with one hook call per distinct day."""
    by_day: dict[dt.date, list[Request]] = defaultdict(list)
    for request, day in pairs:
        by_day[day].append(request)
    out: dict[str, Classification] = {}
    for day in sorted(by_day):
        batch = by_day[day]
        found = Hooks(pm).classify(batch, policy, day)
        for request, classification in zip(batch, found, strict=True):
            out[request.id] = classification
    return out


def reception_levels(
    requests: Iterable[Request],
    policy: Policy,
    *,
    plugin_manager: pluggy.PluginManager | None = None,
) -> dict[str, str]:
    """Each request's priority level (name) on the day it was received, by request id.

    The ``mt_access_classify`` hook is called once per reception date with every request
    received that day, so the built-in classification is vectorised on large registers.
    """
    pm = policy_plugin_manager(policy, plugin_manager)
    found = _classify_by_day(((r, r.received) for r in requests), policy, pm)
    return {rid: c.level for rid, c in found.items()}


def _level_names(policy: Policy) -> list[str]:
    levels = sorted(policy.levels, key=lambda level: level.rank)
    return [level.name for level in levels] + [policy.non_priority_level]


def _state_on(file: RequestFile, day: dt.date) -> RequestState | None:
    """The file's state at the end of ``day`` (``None`` before its reception)."""
    if file.last_date <= day:
        return file.state
    state: RequestState | None = None
    for transition in file.history:
        if transition.on > day:
            break
        state = transition.to_state
    return state


_UNKNOWN_EXIT = -2
"""Exit reason of an exited request whose file was not read (only ``mt_found`` or not is
known, from its state)."""


@attrs.frozen(eq=False)
class _Dataset:
    """The requests of a register as parallel arrays, built once for several computations.

    Every request has its dates, state, commune and persons (a listing line is enough); the
    request itself (``requests[i]``, for its level, reason, referrer) and its file
    (``files[i]``, for its exit reason and events) are read only for the requests a
    computation needs, and are ``None`` for the others (``level``, ``reason``, ``referrer``
    -1; ``exit_reason`` :data:`_UNKNOWN_EXIT` for an exit other than ``mt_found``).
    """

    ids: list[str]
    requests: list[Request | None]
    files: list[RequestFile | None]
    states: list[RequestState]  # current state
    level_names: list[str]
    received: IntArray  # ordinal of the reception date
    exit: IntArray  # ordinal of the exit date, _NEVER while in progress
    last: IntArray  # ordinal of the last transition
    exit_reason: IntArray  # index in _EXIT_REASONS, -1 while in progress
    level: IntArray  # index in level_names (level on reception)
    persons: IntArray
    reason: IntArray  # index in _REASONS
    referrer: IntArray  # index in _REFERRERS
    commune: IntArray  # index in communes
    communes: list[str]

    @property
    def size(self) -> int:
        return len(self.ids)

    def request(self, i: int) -> Request:
        found = self.requests[i]
        if found is None:  # pragma: no cover - a loader bug
            raise IndicatorsError(f"demande {self.ids[i]} : non lue")
        return found

    def file(self, i: int) -> RequestFile:
        found = self.files[i]
        if found is None:  # pragma: no cover - a loader bug
            raise IndicatorsError(f"demande {self.ids[i]} : dossier non lu")
        return found

    def state_on(self, i: int, day: dt.date) -> RequestState | None:
        """The state of request ``i`` at the end of ``day``."""
        if self.last[i] <= day.toordinal():
            return self.states[i] if self.received[i] <= day.toordinal() else None
        return _state_on(self.file(i), day)


@attrs.frozen(eq=False)
class _Lines:
    """What the dataset needs of every request, as read from listing lines: ids, current
    states, reception and last-event ordinals, communes, persons."""

    ids: list[str]
    states: list[RequestState]
    received: IntArray
    last: IntArray
    communes: list[str]
    persons: IntArray

    @property
    def exit(self) -> IntArray:
        final = np.fromiter((s.is_final for s in self.states), bool, len(self.states))
        return np.where(final, np.maximum(self.last, self.received), _NEVER).astype(np.int64)

    @classmethod
    def of(
        cls,
        items: Sequence[tuple[str, dt.date, dt.date, RequestState, str, int]],
    ) -> _Lines:
        n = len(items)
        return cls(
            ids=[x[0] for x in items],
            states=[x[3] for x in items],
            received=np.fromiter((x[1].toordinal() for x in items), np.int64, n),
            last=np.fromiter((x[2].toordinal() for x in items), np.int64, n),
            communes=[x[4] for x in items],
            persons=np.fromiter((x[5] for x in items), np.int64, n),
        )


def _assemble(
    lines: _Lines,
    requests: Mapping[str, Request],
    files: Mapping[str, RequestFile],
    levels: Mapping[str, str],
    policy: Policy,
) -> _Dataset:
    n = len(lines.ids)
    names = _level_names(policy)
    index = {name: i for i, name in enumerate(names)}
    position = {rid: i for i, rid in enumerate(lines.ids)}
    commune_index: dict[str, int] = {}
    commune = np.fromiter(
        (commune_index.setdefault(c, len(commune_index)) for c in lines.communes), np.int64, n
    )
    exit_ = lines.exit
    mt_found = np.fromiter((s is RequestState.MT_FOUND for s in lines.states), bool, n)
    exit_reason = np.where(
        exit_ == _NEVER, -1, np.where(mt_found, _MT_FOUND, _UNKNOWN_EXIT)
    ).astype(np.int64)
    fls: list[RequestFile | None] = [None] * n
    exit_index = {r: i for i, r in enumerate(_EXIT_REASONS)}
    for rid, file in files.items():
        i = position.get(rid)
        if i is None:
            continue
        fls[i] = file
        if file.exit_reason is not None and exit_reason[i] != -1:
            exit_reason[i] = exit_index[file.exit_reason]
    level = np.full(n, -1, dtype=np.int64)
    reason = np.full(n, -1, dtype=np.int64)
    referrer = np.full(n, -1, dtype=np.int64)
    reqs: list[Request | None] = [None] * n
    reason_index = {r: i for i, r in enumerate(_REASONS)}
    referrer_index = {r: i for i, r in enumerate(_REFERRERS)}
    for rid, request in requests.items():
        i = position.get(rid)
        if i is None:
            continue
        reqs[i] = request
        name = levels.get(rid)
        if name is None:
            raise IndicatorsError(f"demande {rid} : niveau de priorité inconnu")
        if name not in index:
            index[name] = len(names)
            names.append(name)
        level[i] = index[name]
        reason[i] = reason_index[request.reason]
        referrer[i] = referrer_index[request.referrer.kind]
    return _Dataset(
        ids=lines.ids,
        requests=reqs,
        files=fls,
        states=lines.states,
        level_names=names,
        received=lines.received,
        exit=exit_,
        last=lines.last,
        exit_reason=exit_reason,
        level=level,
        persons=lines.persons,
        reason=reason,
        referrer=referrer,
        commune=commune,
        communes=list(commune_index),
    )


def _dataset(
    requests: Iterable[Request],
    files: Mapping[str, RequestFile],
    policy: Policy,
    levels: Mapping[str, str] | None,
    pm: pluggy.PluginManager,
) -> _Dataset:
    """Every request with its file (the plain-data entry points)."""
    reqs = sorted(requests, key=lambda r: r.id)
    missing = [r.id for r in reqs if r.id not in files]
    if missing:
        raise IndicatorsError(
            f"demande {missing[0]} : dossier (cycle de vie) absent"
            + (f", et {len(missing) - 1} autre(s)" if len(missing) > 1 else "")
        )
    if levels is None:
        levels = reception_levels(reqs, policy, plugin_manager=pm)
    lines = _Lines.of(
        [
            (r.id, r.received, files[r.id].last_date, files[r.id].state, r.commune, r.persons)
            for r in reqs
        ]
    )
    return _assemble(lines, {r.id: r for r in reqs}, files, levels, policy)


_Needs = Callable[[IntArray, IntArray, IntArray], tuple[BoolArray, BoolArray]]
"""From the received, exit and last-event ordinals of every request: which requests must be
read, and which files."""

_BULK_SHARE = 0.3
"""Past this share of the register, every request is read in one go rather than by id."""


def _register_dataset(register: Register, needs: _Needs) -> _Dataset:
    """A register's requests as a dataset: every listing line (one bulk read), and the
    requests and files ``needs`` asks for (bulk reads, or by id when they are few)."""
    store = register.store
    summaries = store.summaries(None)
    n = len(summaries)
    lines = _Lines(
        ids=[s.id for s in summaries],
        states=[s.state for s in summaries],
        received=np.fromiter((s.received.toordinal() for s in summaries), np.int64, n),
        last=np.fromiter((s.last_event.toordinal() for s in summaries), np.int64, n),
        communes=[s.commune for s in summaries],
        persons=np.fromiter((s.persons for s in summaries), np.int64, n),
    )
    del summaries
    want_request, want_file = needs(lines.received, lines.exit, lines.last)
    want_request |= want_file
    ids = lines.ids
    chosen = np.flatnonzero(want_request).tolist()
    requests = _read_requests(
        store,
        [ids[i] for i in chosen],
        any(not lines.states[i].is_final for i in chosen),
        n,
    )
    files = store.get_files(ids[i] for i in np.flatnonzero(want_file).tolist())
    pm = policy_plugin_manager(register.policy, register.plugin_manager)
    levels = reception_levels(requests.values(), register.policy, plugin_manager=pm)
    return _assemble(lines, requests, files, levels, register.policy)


def _read_requests(
    store: Store, wanted: Sequence[str], some_active: bool, size: int
) -> dict[str, Request]:
    """The requests ``wanted`` (ids): all the register's at once when they are many (past
    :data:`_BULK_SHARE` of its ``size``), else the requests in progress at once (when
    ``some_active``) and the others one by one."""
    chosen = set(wanted)
    if len(chosen) > _BULK_SHARE * max(size, 1):
        return {r.id: r for r in store.requests(None) if r.id in chosen}
    requests: dict[str, Request] = {}
    if some_active:
        requests = {r.id: r for r in store.requests(ACTIVE_STATES) if r.id in chosen}
    for rid in wanted:
        if rid not in requests:
            found = store.get_request(rid)
            if found is not None:
                requests[rid] = found
    return requests


def _period_needs(period: Period, *, rows: str | None = None) -> _Needs:
    """What the indicators of ``period`` read: the requests received from 90 days before it
    to its end (entries, cohorts) or in progress at some point of it (waiting list, exits,
    waits), and the files of those with an event in it (exit reasons, GP events, states).
    ``rows="all"`` also reads every request received by its end, with its file (the
    workbook of every request)."""
    s, e = period.start.toordinal(), period.end.toordinal()

    def needs(received: IntArray, exit_: IntArray, last: IntArray) -> tuple[BoolArray, BoolArray]:
        until = received <= e
        want_request = ((received >= s - 90) & until) | (until & (exit_ >= s))
        want_file = until & (last >= s)
        if rows == "all":
            want_request = want_request | until
            want_file = want_file | until
        return want_request, want_file

    return needs


def _union(*needs: _Needs) -> _Needs:
    """Reads what any of ``needs`` reads."""

    def union(received: IntArray, exit_: IntArray, last: IntArray) -> tuple[BoolArray, BoolArray]:
        want_request = np.zeros(received.shape, dtype=bool)
        want_file = np.zeros(received.shape, dtype=bool)
        for need in needs:
            a, b = need(received, exit_, last)
            want_request |= a
            want_file |= b
        return want_request, want_file

    return union


def _series_needs(start: dt.date, end: dt.date) -> _Needs:
    a, b = start.toordinal(), end.toordinal()

    def needs(received: IntArray, exit_: IntArray, last: IntArray) -> tuple[BoolArray, BoolArray]:
        del last
        return (received <= b) & (exit_ > a), np.zeros(received.shape, dtype=bool)

    return needs


# ------------------------------------------------------------------------------------------
# Indicators


@attrs.frozen
class Indicators:
    """The indicators of a register for a period (see the module's docstring for the
    definitions). The headline figures are attributes; the details are :class:`Table`.

    Attributes:
        period: the period.
        policy_code, policy_name: the policy's code and name.
        entries, entries_persons: requests received in the period, and their persons.
        placed: requests that found a GP in the period (exit ``mt_found``).
        persons_placed: persons accepted by a GP in the period (a household's persons may be
            accepted by different GPs, on different days).
        exits: requests that exited in the period, whatever the reason (``placed``
            included).
        waiting_start, waiting_end: requests in progress at the end of the day before the
            period, and at the end of its last day.
        median_wait_days, p90_wait_days: days from reception to the GP's acceptance, for the
            requests placed in the period (``None`` when none was).
        placed_within_30, placed_within_90: shares in [0, 1] (``None`` when the cohort is
            empty); ``cohort_30`` and ``cohort_90`` are the cohorts' sizes.
        capacity, places_held: the GPs' declared capacity over the period's months, and the
            places held in the ledger in those months.
        key_figures ... communes: the tables (:attr:`tables` lists them in order).
        waits: the waits (days) of the requests placed in the period, per level, for plots.
    """

    period: Period
    policy_code: str
    policy_name: str
    entries: int
    entries_persons: int
    placed: int
    exits: int
    waiting_start: int
    waiting_end: int
    median_wait_days: float | None
    p90_wait_days: float | None
    placed_within_30: float | None
    placed_within_90: float | None
    cohort_30: int
    cohort_90: int
    capacity: int
    places_held: int
    persons_placed: int
    key_figures: Table = attrs.field(repr=False)
    entries_by_reason: Table = attrs.field(repr=False)
    entries_by_level: Table = attrs.field(repr=False)
    entries_by_referrer: Table = attrs.field(repr=False)
    exits_by_reason: Table = attrs.field(repr=False)
    waiting_by_level: Table = attrs.field(repr=False)
    waits_by_level: Table = attrs.field(repr=False)
    physicians: Table = attrs.field(repr=False)
    communes: Table = attrs.field(repr=False)
    waits: tuple[tuple[str, tuple[int, ...]], ...] = attrs.field(default=(), repr=False)

    @property
    def net_change(self) -> int:
        """``waiting_end - waiting_start``; always ``entries - exits``."""
        return self.waiting_end - self.waiting_start

    @property
    def utilisation(self) -> float | None:
        """``places_held / capacity`` (``None`` without capacity)."""
        return _share(self.places_held, self.capacity)

    @property
    def tables(self) -> tuple[Table, ...]:
        """Every table, in the order of the workbook."""
        return (
            self.key_figures,
            self.entries_by_reason,
            self.entries_by_level,
            self.entries_by_referrer,
            self.exits_by_reason,
            self.waiting_by_level,
            self.waits_by_level,
            self.physicians,
            self.communes,
        )

    def table(self, name: str) -> Table:
        """The table named ``name`` (``entries_by_reason``...)."""
        for table in self.tables:
            if table.name == name:
                return table
        known = ", ".join(t.name for t in self.tables)
        raise IndicatorsError(f"tableau inconnu : {name!r} (tableaux : {known})")

    def to_frame(self) -> pd.DataFrame:
        """The key figures as a :class:`pandas.DataFrame` (``indicateur``, ``valeur``,
        ``définition``); :meth:`frames` gives every table."""
        return self.key_figures.to_frame()

    def frames(self) -> dict[str, pd.DataFrame]:
        """Every table as a :class:`pandas.DataFrame`, by table name."""
        return {table.name: table.to_frame() for table in self.tables}

    def summary(self) -> str:
        """A short French summary, one sentence a line."""
        lines = [
            f"Accès au médecin traitant — {self.policy_name} — {self.period.label}",
            f"{_n(self.entries)} nouvelle(s) demande(s) ({_n(self.entries_persons)} "
            f"personne(s)) ; {_n(self.placed)} demande(s) ont trouvé un médecin traitant "
            f"({_n(self.persons_placed)} personne(s) acceptée(s) par un médecin) ; "
            f"{_n(self.exits)} sortie(s) du dispositif, tous motifs confondus.",
            f"Demandes en cours (liste d'attente) : {_n(self.waiting_start)} au début de la "
            f"période, {_n(self.waiting_end)} à la fin, soit une variation nette de "
            f"{_signed(self.net_change)}.",
        ]
        if self.median_wait_days is None or self.p90_wait_days is None:
            lines.append(
                "Aucune demande n'a trouvé de médecin traitant sur la période : pas de délai "
                "à calculer."
            )
        else:
            lines.append(
                f"Délai entre la demande et le médecin traitant : {_days(self.median_wait_days)} "
                f"en médiane ; 9 demandes placées sur 10 l'ont été en "
                f"{_days(self.p90_wait_days)} ou moins."
            )
        shares = []
        for days, share, cohort in (
            (30, self.placed_within_30, self.cohort_30),
            (90, self.placed_within_90, self.cohort_90),
        ):
            if share is not None:
                shares.append(f"{_pct(share)} en {days} jours ou moins (sur {_n(cohort)})")
        if shares:
            lines.append(
                "Part des demandes ayant trouvé un médecin traitant : " + " ; ".join(shares) + "."
            )
        if self.capacity:
            lines.append(
                f"Médecins : {_n(self.capacity)} place(s) déclarée(s) sur la période, "
                f"{_n(self.places_held)} retenue(s) ({_pct(self.utilisation or 0.0)})."
            )
        by_level = [
            f"{_n(int(row[1]))} au niveau « {row[0]} »"  # type: ignore[arg-type]
            for row in self.waiting_by_level.rows
            if row[0] != ALL_LEVELS and row[1]
        ]
        if by_level:
            lines.append("À la fin de la période : " + ", ".join(by_level) + ".")
        return "\n".join(lines)


def _shifted(period: Period, days: int) -> str:
    shift = dt.timedelta(days=days)
    return f"{_fr_date(period.start - shift)} au {_fr_date(period.end - shift)}"


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _n(value: int) -> str:
    return f"{value:,}".replace(",", " ")


def _signed(value: int) -> str:
    return f"+{_n(value)}" if value > 0 else _n(value)


def _decimal(value: float) -> str:
    text = f"{value:.1f}".replace(".", ",")
    return text[:-2] if text.endswith(",0") else text


def _days(value: float) -> str:
    return f"{_decimal(value)} jour{'s' if value >= 2 else ''}"


def _pct(share: float) -> str:
    return f"{_decimal(share * 100)} %"


def _percentiles(values: IntArray) -> tuple[float | None, float | None]:
    if values.size == 0:
        return None, None
    median, p90 = np.percentile(values.astype(np.float64), [50, 90])
    return float(median), float(p90)


def compute_indicators(
    requests: Iterable[Request],
    files: Mapping[str, RequestFile],
    period: Period | Month | str,
    *,
    policy: Policy,
    physicians: Sequence[Physician] = (),
    ledger: CapacityLedger | None = None,
    populations: Mapping[str, int | None] | None = None,
    commune_names: Mapping[str, str] | None = None,
    levels: Mapping[str, str] | None = None,
    plugin_manager: pluggy.PluginManager | None = None,
) -> Indicators:
    """The indicators of ``period`` from plain data.

    Args:
        requests: every request of the register (those received after the period are
            ignored).
        files: the lifecycle file of each request, by id (extra files are ignored).
        period: a :class:`Period`, a :class:`~mt_access.calendar.Month` or ``"YYYY-MM"``.
        policy: gives the levels, the territory, default capacities and the hooks.
        physicians: the GPs (for names, availability and default capacities).
        ledger: the capacity ledger (declared capacities, places held); empty by default.
        populations: INSEE code → population; the policy's commune reference (else the
            bundled one) by default.
        commune_names: INSEE code → name; from the same reference by default.
        levels: request id → level name on reception, when already known
            (:func:`reception_levels`).
        plugin_manager: for the hooks; the policy's by default.

    Raises:
        IndicatorsError: a request without its file, an invalid period.
    """
    pm = policy_plugin_manager(policy, plugin_manager)
    data = _dataset(requests, files, policy, levels, pm)
    return _indicators(
        data,
        Period.of(period),
        policy,
        physicians,
        ledger or CapacityLedger(),
        populations,
        commune_names,
    )


def indicators(register: Register, period: Period | Month | str) -> Indicators:
    """The indicators of ``period`` for a register: every listing line in one read, then only
    the requests the period needs (received from 90 days before it, or in progress during
    it) and the files of those with an event in it; the GPs and the ledger once."""
    chosen = Period.of(period)
    data = _register_dataset(register, _period_needs(chosen))
    return _indicators(
        data,
        chosen,
        register.policy,
        register.physicians(),
        register.ledger,
        None,
        None,
    )


def _reference_maps(
    policy: Policy,
    populations: Mapping[str, int | None] | None,
    names: Mapping[str, str] | None,
    codes: Iterable[str],
) -> tuple[dict[str, int | None], dict[str, str]]:
    wanted = sorted(set(codes))
    pops: dict[str, int | None] = {}
    labels: dict[str, str] = {}
    if populations is None or names is None:
        from mt_access.geo.communes import bundled_reference

        reference = policy.reference or bundled_reference()
        for code in wanted:
            if code in reference:
                commune = reference.get(code)
                pops[code] = commune.population
                labels[code] = commune.name
    if populations is not None:
        pops = {code: populations.get(code) for code in wanted}
    if names is not None:
        labels = {code: names.get(code, "") for code in wanted}
    return pops, labels


def _counts(values: IntArray, mask: BoolArray, size: int, weights: IntArray | None = None) -> Any:
    chosen = values[mask]
    if chosen.size and int(chosen.min()) < 0:  # pragma: no cover - a loader bug
        raise IndicatorsError("données incomplètes : demandes non lues")
    if weights is None:
        return np.bincount(chosen, minlength=size)
    return np.bincount(chosen, weights=weights[mask], minlength=size).astype(np.int64)


def _share_table(
    name: str,
    title: str,
    first: str,
    labels: Sequence[str],
    counts: Sequence[int],
    note: str,
    persons: Sequence[int] | None = None,
) -> Table:
    total = int(sum(counts))
    rows: list[tuple[Cell, ...]] = []
    for i, label in enumerate(labels):
        row: list[Cell] = [label, int(counts[i])]
        if persons is not None:
            row.append(int(persons[i]))
        row.append(_share(int(counts[i]), total))
        rows.append(tuple(row))
    last: list[Cell] = ["total", total]
    if persons is not None:
        last.append(int(sum(persons)))
    last.append(1.0 if total else None)
    rows.append(tuple(last))
    columns = (first, "demandes", *(("personnes",) if persons is not None else ()), "part")
    return Table(name, title, columns, tuple(rows), note)


def _indicators(
    data: _Dataset,
    period: Period,
    policy: Policy,
    physicians: Sequence[Physician],
    ledger: CapacityLedger,
    populations: Mapping[str, int | None] | None,
    commune_names: Mapping[str, str] | None,
) -> Indicators:
    s, e = period.start.toordinal(), period.end.toordinal()
    rec, ext = data.received, data.exit
    entered = (rec >= s) & (rec <= e)
    exited = (ext >= s) & (ext <= e)
    active_start = (rec < s) & (ext >= s)
    active_end = (rec <= e) & (ext > e)
    mt_found = data.exit_reason == _MT_FOUND
    placed = exited & mt_found
    n_levels = len(data.level_names)

    entries = int(entered.sum())
    entries_persons = int(data.persons[entered].sum())
    n_placed = int(placed.sum())
    n_exits = int(exited.sum())

    # -- entries
    by_reason = _share_table(
        "entries_by_reason",
        "Nouvelles demandes par motif de la recherche",
        "motif de la recherche",
        [r.label for r in _REASONS],
        _counts(data.reason, entered, len(_REASONS)),
        "Demandes reçues dans la période, selon le motif déclaré dans le formulaire.",
    )
    by_level = _share_table(
        "entries_by_level",
        "Nouvelles demandes par niveau de priorité",
        "niveau",
        data.level_names,
        _counts(data.level, entered, n_levels),
        "Niveau de priorité de la demande le jour de sa réception.",
        persons=_counts(data.level, entered, n_levels, data.persons),
    )
    by_referrer = _share_table(
        "entries_by_referrer",
        "Nouvelles demandes selon qui les a adressées",
        "adressée par",
        [r.label for r in _REFERRERS],
        _counts(data.referrer, entered, len(_REFERRERS)),
        "Demandes reçues dans la période, selon la personne ou la structure qui les a adressées.",
    )

    # -- exits
    exit_counts = _counts(data.exit_reason, exited, len(_EXIT_REASONS))
    exits = _share_table(
        "exits_by_reason",
        "Sorties du dispositif par motif",
        "motif de sortie",
        [r.label for r in _EXIT_REASONS],
        exit_counts,
        "Demandes sorties dans la période (date de la dernière transition) ; « médecin "
        "traitant trouvé » compte les demandes placées.",
    )

    # -- waiting list at the end
    waiting_by_level = _waiting_table(data, active_end, period)

    # -- waits
    waits_table, waits, headline = _waits_table(data, period, placed)

    # -- GPs
    gp_table, capacity, held, persons_found = _physician_table(
        data, period, policy, physicians, ledger
    )

    # -- communes
    communes = _commune_table(data, policy, entered, active_end, populations, commune_names, period)

    median, p90, within_30, within_90, cohort_30, cohort_90 = headline
    waiting_start = int(active_start.sum())
    waiting_end = int(active_end.sum())
    key = Table(
        "key_figures",
        f"Chiffres clés — {period.label}",
        ("indicateur", "valeur", "définition"),
        (
            ("nouvelles demandes", entries, "demandes reçues dans la période"),
            ("personnes (nouvelles demandes)", entries_persons, "membres des foyers concernés"),
            (
                "médecin traitant trouvé",
                n_placed,
                "demandes sorties avec le motif « médecin traitant trouvé » dans la période",
            ),
            (
                "personnes ayant trouvé un médecin traitant",
                persons_found,
                "personnes acceptées par un médecin dans la période (une demande de foyer peut "
                "en compter plusieurs, chez des médecins différents)",
            ),
            ("sorties (tous motifs)", n_exits, "demandes sorties du dispositif dans la période"),
            (
                "demandes en cours au début",
                waiting_start,
                f"reçues avant le {_fr_date(period.start)} et pas encore sorties ce jour-là",
            ),
            (
                "demandes en cours à la fin",
                waiting_end,
                f"reçues au plus tard le {_fr_date(period.end)} et pas sorties à cette date",
            ),
            (
                "variation nette",
                waiting_end - waiting_start,
                "demandes en cours à la fin − au début (= nouvelles demandes − sorties)",
            ),
            ("délai médian (jours)", median, "de la réception à l'acceptation par le médecin"),
            ("délai P90 (jours)", p90, "9 demandes placées sur 10 l'ont été en ce délai ou moins"),
            (
                "placées en 30 jours (part)",
                within_30,
                f"part des {cohort_30} demandes reçues du {_shifted(period, 30)} placées en 30 "
                "jours ou moins",
            ),
            (
                "placées en 90 jours (part)",
                within_90,
                f"part des {cohort_90} demandes reçues du {_shifted(period, 90)} placées en 90 "
                "jours ou moins",
            ),
            ("capacité déclarée", capacity, "places déclarées par les médecins disponibles"),
            ("places retenues", held, "places retenues dans le registre des capacités"),
            ("taux d'utilisation", _share(held, capacity), "places retenues / capacité"),
        ),
        "Définitions détaillées : docs/indicators.md.",
    )
    return Indicators(
        period=period,
        policy_code=policy.code,
        policy_name=policy.name,
        entries=entries,
        entries_persons=entries_persons,
        placed=n_placed,
        exits=n_exits,
        waiting_start=waiting_start,
        waiting_end=waiting_end,
        median_wait_days=median,
        p90_wait_days=p90,
        placed_within_30=within_30,
        placed_within_90=within_90,
        cohort_30=cohort_30,
        cohort_90=cohort_90,
        capacity=capacity,
        places_held=held,
        persons_placed=persons_found,
        key_figures=key,
        entries_by_reason=by_reason,
        entries_by_level=by_level,
        entries_by_referrer=by_referrer,
        exits_by_reason=exits,
        waiting_by_level=waiting_by_level,
        waits_by_level=waits_table,
        physicians=gp_table,
        communes=communes,
        waits=waits,
    )


def _waiting_table(data: _Dataset, active_end: BoolArray, period: Period) -> Table:
    e = period.end.toordinal()
    n_levels = len(data.level_names)
    before = np.zeros(n_levels, dtype=np.int64)
    waiting = np.zeros(n_levels, dtype=np.int64)
    proposed = np.zeros(n_levels, dtype=np.int64)
    for i in np.flatnonzero(active_end).tolist():
        state = data.state_on(i, period.end)
        lvl = data.level[i]
        if state is RequestState.PROPOSED:
            proposed[lvl] += 1
        elif state is RequestState.WAITING:
            waiting[lvl] += 1
        else:
            before[lvl] += 1
    ages = e - data.received
    rows: list[tuple[Cell, ...]] = []
    for index, name in [*enumerate(data.level_names), (-1, ALL_LEVELS)]:
        mask = active_end if index < 0 else active_end & (data.level == index)
        pick: slice | int = slice(None) if index < 0 else index
        level_ages = ages[mask]
        rows.append(
            (
                name,
                int(mask.sum()),
                int(data.persons[mask].sum()),
                int(np.sum(before[pick])),
                int(np.sum(waiting[pick])),
                int(np.sum(proposed[pick])),
                float(np.median(level_ages)) if level_ages.size else None,
                int((level_ages > 90).sum()),
            )
        )
    return Table(
        "waiting_by_level",
        f"Demandes en cours au {_fr_date(period.end)} par niveau de priorité",
        (
            "niveau",
            "demandes",
            "personnes",
            "à qualifier",
            "en liste d'attente",
            "proposées à un médecin",
            "ancienneté médiane (jours)",
            "en attente depuis plus de 90 jours",
        ),
        tuple(rows),
        "Demandes reçues et pas encore sorties à la fin de la période, par niveau à la "
        "réception ; « à qualifier » : reçue, accusé de réception envoyé ou recherche "
        "confirmée, pas encore inscrite en liste d'attente.",
    )


def _waits_table(
    data: _Dataset, period: Period, placed: BoolArray
) -> tuple[
    Table,
    tuple[tuple[str, tuple[int, ...]], ...],
    tuple[float | None, float | None, float | None, float | None, int, int],
]:
    s, e = period.start.toordinal(), period.end.toordinal()
    wait = data.exit - data.received
    mt_found = data.exit_reason == _MT_FOUND
    cohorts: dict[int, tuple[BoolArray, BoolArray]] = {}
    for days in (30, 90):
        cohort = (data.received >= s - days) & (data.received <= e - days)
        quick = cohort & mt_found & (wait <= days)
        cohorts[days] = (cohort, quick)
    rows: list[tuple[Cell, ...]] = []
    waits: list[tuple[str, tuple[int, ...]]] = []
    headline: tuple[float | None, float | None, float | None, float | None, int, int] = (
        None,
        None,
        None,
        None,
        0,
        0,
    )
    for index, name in [*enumerate(data.level_names), (-1, ALL_LEVELS)]:
        level_mask = np.ones(data.size, dtype=bool) if index < 0 else data.level == index
        level_waits = wait[placed & level_mask]
        median, p90 = _percentiles(level_waits)
        c30, q30 = (int((m & level_mask).sum()) for m in cohorts[30])
        c90, q90 = (int((m & level_mask).sum()) for m in cohorts[90])
        rows.append(
            (
                name,
                int(level_waits.size),
                median,
                p90,
                _share(q30, c30),
                c30,
                _share(q90, c90),
                c90,
            )
        )
        if index >= 0:
            waits.append((name, tuple(int(x) for x in np.sort(level_waits).tolist())))
        else:
            headline = (median, p90, _share(q30, c30), _share(q90, c90), c30, c90)
    d30 = (period.start - dt.timedelta(days=30), period.end - dt.timedelta(days=30))
    d90 = (period.start - dt.timedelta(days=90), period.end - dt.timedelta(days=90))
    table = Table(
        "waits_by_level",
        "Délai entre la demande et le médecin traitant, par niveau de priorité",
        (
            "niveau",
            "placées",
            "délai médian (jours)",
            "délai P90 (jours)",
            "placées en 30 jours (part)",
            "cohorte 30 jours",
            "placées en 90 jours (part)",
            "cohorte 90 jours",
        ),
        tuple(rows),
        "Délai : de la réception à l'acceptation par le médecin, pour les demandes placées "
        "dans la période. Placées en 30 jours : parmi les demandes reçues du "
        f"{_fr_date(d30[0])} au {_fr_date(d30[1])} (cohorte 30 jours), part placée au plus "
        "30 jours après la réception ; de même en 90 jours pour les demandes reçues du "
        f"{_fr_date(d90[0])} au {_fr_date(d90[1])}.",
    )
    return table, tuple(waits), headline


def _available_during(physician: Physician | None, first: dt.date, last: dt.date) -> bool:
    if physician is None:
        return True
    day = first
    while day <= last:
        if physician.is_available_on(day):
            return True
        day += dt.timedelta(days=1)
    return False


def accepted_persons(transition: Transition, persons: int) -> int:
    """The persons an acceptance found an MT for: those of the GP's proposal (the whole
    request's ``persons`` in files written before persons were recorded)."""
    return len(transition.persons) or persons


def _physician_table(
    data: _Dataset,
    period: Period,
    policy: Policy,
    physicians: Sequence[Physician],
    ledger: CapacityLedger,
) -> tuple[Table, int, int, int]:
    s = period.start.toordinal()
    by_id = {p.id: p for p in physicians}
    counts: dict[str, list[int]] = defaultdict(
        lambda: [0, 0, 0, 0]
    )  # propose, accept, persons, refuse
    slot = {Event.PROPOSE: 0, Event.ACCEPT: 1, Event.REFUSE: 3}
    with_events = (data.last >= s) & (data.received <= period.end.toordinal())
    for i in np.flatnonzero(with_events).tolist():
        for transition in data.file(i).history:
            pid = transition.physician_id
            if pid is None or transition.on not in period:
                continue
            j = slot.get(transition.event)
            if j is None:
                continue
            row = counts[pid]
            row[j] += 1
            if j == 1:
                row[2] += accepted_persons(transition, int(data.persons[i]))
    months = period.months
    ledger_ids = {
        entry.physician_id for entry in ledger.entries if getattr(entry, "month", None) in months
    }
    ids = sorted(set(by_id) | set(counts) | ledger_ids)
    rows: list[tuple[Cell, ...]] = []
    total_capacity = total_held = 0
    totals = [0, 0, 0, 0]
    for pid in ids:
        physician = by_id.get(pid)
        default = policy.monthly_capacity_of(physician) if physician is not None else 0
        capacity = 0
        for month in months:
            first = max(month.first_day, period.start)
            last = min(month.last_day, period.end)
            if _available_during(physician, first, last):
                capacity += ledger.capacity(pid, month, default=default)
        held = sum(ledger.used(pid, month) for month in months)
        activity = counts.get(pid, [0, 0, 0, 0])
        if not capacity and not held and not any(activity):
            continue
        status = physician.status_on(period.end).label if physician is not None else ""
        rows.append(
            (
                pid,
                physician.name if physician is not None else "",
                physician.commune if physician is not None else "",
                status,
                capacity,
                held,
                _share(held, capacity),
                activity[0],
                activity[1],
                activity[2],
                activity[3],
            )
        )
        total_capacity += capacity
        total_held += held
        totals = [a + b for a, b in zip(totals, activity, strict=True)]
    rows.append(
        (
            "total",
            "",
            "",
            "",
            total_capacity,
            total_held,
            _share(total_held, total_capacity),
            *totals,
        )
    )
    table = Table(
        "physicians",
        "Médecins : placements et capacité déclarée",
        (
            "médecin",
            "nom",
            "commune (INSEE)",
            "statut à la fin",
            "capacité déclarée",
            "places retenues",
            "taux d'utilisation",
            "propositions",
            "acceptations",
            "personnes acceptées",
            "refus",
        ),
        tuple(rows),
        "Capacité déclarée : somme, sur les mois de la période, de la capacité mensuelle en "
        "vigueur (registre des capacités, sinon celle de la politique), pour les mois où le "
        "médecin était disponible au moins un jour de la période. Places retenues : personnes "
        "comptées dans le registre des capacités ces mois-là. Propositions, acceptations et "
        "refus : événements datés dans la période.",
    )
    return table, total_capacity, total_held, totals[2]


def _commune_table(
    data: _Dataset,
    policy: Policy,
    entered: BoolArray,
    active_end: BoolArray,
    populations: Mapping[str, int | None] | None,
    commune_names: Mapping[str, str] | None,
    period: Period,
) -> Table:
    size = len(data.communes)
    new = _counts(data.commune, entered, size)
    waiting = _counts(data.commune, active_end, size)
    new_by = {code: int(new[i]) for i, code in enumerate(data.communes)}
    waiting_by = {code: int(waiting[i]) for i, code in enumerate(data.communes)}
    codes = sorted(
        set(policy.territory)
        | {c for c, n in new_by.items() if n}
        | {c for c, n in waiting_by.items() if n}
    )
    pops, names = _reference_maps(policy, populations, commune_names, codes)
    rows: list[tuple[Cell, ...]] = []
    for code in codes:
        population = pops.get(code)
        n_new = new_by.get(code, 0)
        n_wait = waiting_by.get(code, 0)
        per = population is not None and population > 0
        rows.append(
            (
                code,
                names.get(code, ""),
                "oui" if code in policy.territory else "non",
                population,
                n_new,
                n_new * 1000 / population if per and population else None,
                n_wait,
                n_wait * 1000 / population if per and population else None,
            )
        )
    return Table(
        "communes",
        "Demande par commune",
        (
            "code INSEE",
            "commune",
            "territoire",
            "population",
            "nouvelles demandes",
            "nouvelles demandes pour 1 000 habitants",
            "demandes en cours à la fin",
            "demandes en cours pour 1 000 habitants",
        ),
        tuple(rows),
        "Communes du territoire et autres communes d'où viennent des demandes ; population "
        "municipale du référentiel des communes (INSEE). Demandes en cours au "
        f"{_fr_date(period.end)}.",
    )


# ------------------------------------------------------------------------------------------
# The waiting list over time


@attrs.frozen
class WaitingListSeries:
    """Requests in progress at the end of each day of a range, per level on reception.

    Attributes:
        days: the days, oldest first.
        levels: level names, in rank order (non-priority last).
        counts: ``counts[k][i]`` is the number of requests of ``levels[k]`` in progress at
            the end of ``days[i]``.
    """

    days: tuple[dt.date, ...]
    levels: tuple[str, ...]
    counts: tuple[tuple[int, ...], ...]

    @property
    def totals(self) -> tuple[int, ...]:
        """Requests in progress, every level, for each day."""
        if not self.counts:
            return tuple(0 for _ in self.days)
        return tuple(int(x) for x in np.sum(np.array(self.counts), axis=0).tolist())

    def to_frame(self) -> pd.DataFrame:
        """One row per day: ``jour``, one column per level, ``total``."""
        pd_ = _pandas()
        columns: dict[str, Any] = {"jour": pd_.to_datetime(list(self.days))}
        for level, counts in zip(self.levels, self.counts, strict=True):
            columns[level] = list(counts)
        columns["total"] = list(self.totals)
        frame: pd.DataFrame = pd_.DataFrame(columns)
        return frame


def _series(data: _Dataset, start: dt.date, end: dt.date, step_days: int) -> WaitingListSeries:
    if end < start:
        raise IndicatorsError(
            f"période : la fin ({end:%d/%m/%Y}) précède le début ({start:%d/%m/%Y})"
        )
    if step_days < 1:
        raise IndicatorsError(f"pas de la série : nombre de jours ≥ 1 attendu, reçu {step_days}")
    days = list(range(start.toordinal(), end.toordinal() + 1, step_days))
    if days[-1] != end.toordinal():
        days.append(end.toordinal())
    points = np.array(days, dtype=np.int64)
    counts: list[tuple[int, ...]] = []
    for index in range(len(data.level_names)):
        mask = data.level == index
        received = np.sort(data.received[mask])
        exits = np.sort(data.exit[mask])
        active = np.searchsorted(received, points, side="right") - np.searchsorted(
            exits, points, side="right"
        )
        counts.append(tuple(int(x) for x in active.tolist()))
    return WaitingListSeries(
        days=tuple(dt.date.fromordinal(d) for d in days),
        levels=tuple(data.level_names),
        counts=tuple(counts),
    )


def compute_waiting_list_series(
    requests: Iterable[Request],
    files: Mapping[str, RequestFile],
    start: dt.date,
    end: dt.date,
    *,
    policy: Policy,
    step_days: int = 1,
    levels: Mapping[str, str] | None = None,
    plugin_manager: pluggy.PluginManager | None = None,
) -> WaitingListSeries:
    """The number of requests in progress at the end of every ``step_days``-th day from
    ``start`` (and of ``end``), per level on reception."""
    pm = policy_plugin_manager(policy, plugin_manager)
    return _series(_dataset(requests, files, policy, levels, pm), start, end, step_days)


def waiting_list_series(
    register: Register, start: dt.date, end: dt.date, *, step_days: int = 1
) -> WaitingListSeries:
    """:func:`compute_waiting_list_series` for a register."""
    return _series(_register_dataset(register, _series_needs(start, end)), start, end, step_days)


# ------------------------------------------------------------------------------------------
# A patient's position and an estimated wait


@attrs.frozen
class WaitEstimate:
    """An estimated wait from the placements of recent months at the request's level.

    Attributes:
        level: the level.
        months: the full months looked at (at most the ``months`` before the reference date,
            none before the register's first request).
        placements: requests of that level that found a GP in each of those months (level
            on the day of the GP's acceptance).
        needed: placements of that level still needed before the request's turn (the
            requests of the same level ahead of it, plus itself).
        median_rate, low_rate, high_rate: placements per month: median, 10th and 90th
            percentiles over ``months``.
        median_months: ``needed / median_rate`` (the mean rate when the median is 0);
            ``None`` when there was no placement at all.
        shortest_months: ``needed / high_rate``.
        longest_months: ``needed / low_rate``; ``None`` when some months had too few
            placements to give an upper bound (``low_rate`` is 0).
    """

    level: str
    months: tuple[Month, ...]
    placements: tuple[int, ...]
    needed: int
    median_rate: float
    low_rate: float
    high_rate: float
    median_months: float | None
    shortest_months: float | None
    longest_months: float | None

    @property
    def possible(self) -> bool:
        """Whether there were placements at that level to estimate from."""
        return self.median_months is not None


@attrs.frozen
class WaitingPosition:
    """Where a request stands in the policy's order on a date, and how long it may wait.

    Attributes:
        request_id: the request.
        on: the reference date.
        state: its state at the end of ``on``.
        level: its level on ``on`` (``None`` once exited).
        position: its rank in the waiting list, 1 first (``None`` when it is not waiting:
            proposed, exited, out of scope); for a request not yet on the list (received,
            acknowledged, confirmed), the rank it would have if it were.
        ahead: requests before it; ``ahead_higher`` of them at a higher level,
            ``ahead_same_level`` at its own.
        waiting_total: requests on the waiting list (state ``waiting``, in scope) on ``on``.
        estimate: the estimated wait (``None`` when there is no position).
        message: a French text for the patient or the coordinator, saying how uncertain the
            estimate is.
    """

    request_id: str
    on: dt.date
    state: RequestState
    level: str | None
    position: int | None
    ahead: int | None
    ahead_higher: int | None
    ahead_same_level: int | None
    waiting_total: int
    estimate: WaitEstimate | None
    message: str


def _months_text(value: float) -> str:
    if value < 1:
        return "moins d'un mois"
    rounded = max(1, round(value))
    return f"{rounded} mois"


def _estimate(
    level: str,
    needed: int,
    placed: Sequence[tuple[dt.date, str]],
    first_received: dt.date | None,
    on: dt.date,
    months: int,
) -> WaitEstimate:
    current = Month.of(on)
    window: list[Month] = []
    m = current
    for _ in range(months):
        m = m.previous()
        if first_received is not None and m < Month.of(first_received):
            break
        window.append(m)
    window.reverse()
    per_month = dict.fromkeys(window, 0)
    for day, name in placed:
        month = Month.of(day)
        if name == level and month in per_month:
            per_month[month] += 1
    counts = np.array([per_month[m] for m in window], dtype=np.float64)
    if counts.size == 0 or counts.sum() == 0:
        return WaitEstimate(
            level, tuple(window), tuple(int(x) for x in counts), needed, 0.0, 0.0, 0.0, None,
            None, None,
        )  # fmt: skip
    low, median, high = (float(x) for x in np.percentile(counts, [10, 50, 90]))
    rate = median if median > 0 else float(counts.mean())
    return WaitEstimate(
        level=level,
        months=tuple(window),
        placements=tuple(int(x) for x in counts),
        needed=needed,
        median_rate=median,
        low_rate=low,
        high_rate=high,
        median_months=needed / rate,
        shortest_months=needed / high if high > 0 else needed / rate,
        longest_months=needed / low if low > 0 else None,
    )


def _estimate_text(estimate: WaitEstimate) -> str:
    if not estimate.months:
        return (
            "Pas d'estimation possible : le registre n'a pas encore un mois complet d'historique."
        )
    span = len(estimate.months)
    over = f"au cours des {span} derniers mois complets" if span > 1 else "le mois dernier"
    if estimate.median_months is None:
        return (
            f"Pas d'estimation possible : aucune demande du niveau « {estimate.level} » n'a "
            f"trouvé de médecin traitant {over}."
        )
    if estimate.median_rate > 0:
        pace = (
            f"{_decimal(estimate.median_rate)} par mois en médiane, de "
            f"{min(estimate.placements)} à {max(estimate.placements)} selon les mois"
        )
    else:
        pace = f"{sum(estimate.placements)} en {span} mois seulement"
    central = estimate.median_months
    text = (
        f"{over.capitalize()}, les demandes du niveau « {estimate.level} » ont trouvé un "
        f"médecin traitant au rythme de {pace}. À ce rythme, l'attente serait "
        + ("de moins d'un mois" if central < 1 else f"d'environ {_months_text(central)}")
    )
    assert estimate.shortest_months is not None
    if estimate.longest_months is None:
        text += (
            " ; mais elle peut aussi être beaucoup plus longue : certains mois, presque aucune "
            "demande de ce niveau n'a été placée, si bien qu'on ne peut pas lui donner de "
            "limite haute."
        )
    else:
        low, high = math.floor(estimate.shortest_months), math.ceil(estimate.longest_months)
        if high <= 1:
            text += "."
        elif low < 1:
            text += f", probablement moins de {high} mois."
        else:
            text += f", probablement entre {low} et {high} mois."
    sparse = (
        " Le rythme est très irrégulier, l'estimation l'est donc aussi."
        if (estimate.median_rate == 0)
        else ""
    )
    return (
        text
        + sparse
        + " Ce n'est qu'une estimation, pas un engagement : elle suppose que les médecins "
        "continuent d'accepter des patients au même rythme et que les demandes plus "
        "prioritaires arrivent comme d'habitude ; des départs ou suspensions de médecins, "
        "des refus ou un afflux de demandes prioritaires peuvent l'allonger nettement."
    )


def compute_waiting_position(
    request_id: str,
    requests: Iterable[Request],
    files: Mapping[str, RequestFile],
    on: dt.date,
    *,
    policy: Policy,
    months: int = 6,
    since: dt.date | None = None,
    plugin_manager: pluggy.PluginManager | None = None,
) -> WaitingPosition:
    """The position of ``request_id`` in the policy's order on ``on``, and an estimated wait.

    The waiting list is the requests in state ``waiting`` at the end of ``on`` that the
    policy's scope accepts (``mt_access_check_scope``), in the engine's order: level on
    ``on`` (``mt_access_classify``), then the policy's ordering keys
    (``mt_access_order_keys``), then the id. The estimate divides the placements still
    needed at the request's level (the requests of that level ahead of it, plus itself) by
    the monthly placements at that level over the last ``months`` full months (median, and
    10th–90th percentiles for the range).

    Args:
        request_id: the request.
        requests: the register's requests (at least those in progress on ``on`` and those
            placed in the last ``months`` months).
        files: their lifecycle files, by id.
        on: the reference date.
        policy: the policy (levels, order, scope, hooks).
        months: how many full months of placements to estimate from (≥ 1).
        since: the register's first reception date: months before it are not looked at
            (the earliest reception of ``requests`` by default).

    Raises:
        IndicatorsError: unknown request, a request received after ``on``, ``months`` < 1.
    """
    if months < 1:
        raise IndicatorsError(f"nombre de mois : entier ≥ 1 attendu, reçu {months}")
    pm = policy_plugin_manager(policy, plugin_manager)
    reqs = list(requests)
    request = next((r for r in reqs if r.id == request_id), None)
    file = files.get(request_id)
    if request is None or file is None:
        raise IndicatorsError(f"demande inconnue : {request_id}")
    state = _state_on(file, on)
    if state is None or request.received > on:
        raise IndicatorsError(
            f"demande {request_id} : reçue le {request.received:%d/%m/%Y}, après le {on:%d/%m/%Y}"
        )
    day = _fr_date(on)

    # the waiting list on `on`, and the request itself when it is not on it yet
    waiting: list[Request] = []
    for r in reqs:
        f = files.get(r.id)
        if r.received <= on and f is not None and _state_on(f, on) is RequestState.WAITING:
            waiting.append(r)
    hypothetical = state in _BEFORE_LIST
    candidates = [*waiting, request] if hypothetical else waiting
    ranked = rank_requests(candidates, policy, on, pm)
    decisions = ranked.decisions
    total = sum(1 for d in decisions[: len(waiting)] if d.in_scope)
    in_scope = ranked.in_scope
    own_decision = next(
        (d for r, d in zip(candidates, decisions, strict=True) if r.id == request_id), None
    )

    def outside(message: str) -> WaitingPosition:
        return WaitingPosition(
            request_id, on, state, None, None, None, None, None, total, None, message
        )

    if state in (RequestState.MT_FOUND, RequestState.EXITED):
        reason = file.exit_reason.label if file.exit_reason is not None else ""
        return outside(
            f"La demande {request_id} est sortie du dispositif le {_fr_date(file.last_date)} "
            f"({reason}) : elle n'est plus en liste d'attente."
        )
    if state is RequestState.PROPOSED:
        pending = _proposed_on(file, on)
        return outside(
            f"Le {day}, la demande {request_id} est proposée à {len(pending)} médecin(s) et "
            "attend leur réponse : elle n'est pas en liste d'attente. En cas de refus, elle "
            "y revient à son rang."
        )
    assert own_decision is not None
    if not own_decision.in_scope:
        assert own_decision.reason is not None
        return outside(
            f"Le {day}, la demande {request_id} n'entre pas dans le champ du dispositif "
            f"({own_decision.reason.label}) : la prochaine mise en relation la sortira de la "
            "liste d'attente."
        )
    classes, order = ranked.classes, ranked.order
    index = next(k for k, i in enumerate(order) if in_scope[i].id == request_id)
    own = classes[order[index]]
    higher = sum(1 for i in order[:index] if classes[i].rank < own.rank)
    same = index - higher

    # placements of the last months, by level on the day of the acceptance
    first_month = Month.of(on)
    for _ in range(months):
        first_month = first_month.previous()
    placed_pairs: list[tuple[Request, dt.date]] = []
    for r in reqs:
        f = files.get(r.id)
        if (
            f is not None
            and f.state is RequestState.MT_FOUND
            and first_month.first_day <= f.last_date < Month.of(on).first_day
        ):
            placed_pairs.append((r, f.last_date))
    levels_then = _classify_by_day(placed_pairs, policy, pm)
    placed = [(d, levels_then[r.id].level) for r, d in placed_pairs]
    if since is None:
        since = min(r.received for r in reqs)
    estimate = _estimate(own.level, same + 1, placed, since, on, months)

    if hypothetical:
        head = (
            f"Le {day}, la demande {request_id} n'est pas encore inscrite en liste d'attente "
            f"(étape : {state.label}). Une fois inscrite, elle serait au rang {index + 1} sur "
            f"{total + 1}, au niveau « {own.level} » : {index} demande(s) passeraient avant "
            f"elle, dont {higher} d'un niveau plus prioritaire et {same} du même niveau."
        )
    else:
        head = (
            f"Le {day}, la demande {request_id} est au rang {index + 1} sur {total} en liste "
            f"d'attente, au niveau « {own.level} » : {index} demande(s) passent avant elle, "
            f"dont {higher} d'un niveau plus prioritaire et {same} du même niveau."
        )
    return WaitingPosition(
        request_id=request_id,
        on=on,
        state=state,
        level=own.level,
        position=index + 1,
        ahead=index,
        ahead_higher=higher,
        ahead_same_level=same,
        waiting_total=total,
        estimate=estimate,
        message=head + " " + _estimate_text(estimate),
    )


def _proposed_on(file: RequestFile, day: dt.date) -> frozenset[str]:
    if file.last_date <= day:
        return file.proposed_to
    pending: set[str] = set()
    for transition in file.history:
        if transition.on > day:
            break
        if transition.event is Event.PROPOSE and transition.physician_id is not None:
            pending.add(transition.physician_id)
        elif transition.event in (Event.ACCEPT, Event.REFUSE) and transition.physician_id:
            pending.discard(transition.physician_id)
        if transition.to_state.is_final:
            pending.clear()
    return frozenset(pending)


def waiting_position(
    register: Register, request_id: str, on: dt.date, *, months: int = 6
) -> WaitingPosition:
    """:func:`compute_waiting_position` for a register; reads only the requests in progress
    (and those exited after ``on``) and those placed in the last ``months`` months.

    Raises:
        RegisterOperationError: unknown request.
        IndicatorsError: see :func:`compute_waiting_position`.
    """
    register.file(request_id)  # unknown request: RegisterOperationError
    store = register.store
    start = Month.of(on)
    for _ in range(max(months, 1)):
        start = start.previous()
    wanted: list[str] = [request_id]
    some_active = False
    first_received: dt.date | None = None
    summaries = store.summaries(None)
    for summary in summaries:
        if first_received is None or summary.received < first_received:
            first_received = summary.received
        if summary.received > on or summary.id == request_id:
            continue
        if not summary.state.is_final:
            wanted.append(summary.id)
            some_active = True
        elif summary.last_event > on or (
            summary.state is RequestState.MT_FOUND and summary.last_event >= start.first_day
        ):
            wanted.append(summary.id)  # in progress on `on`, or placed in the months looked at
    requests = list(_read_requests(store, wanted, some_active, len(summaries)).values())
    have = [r.id for r in requests]
    files = store.get_files(have)
    return compute_waiting_position(
        request_id,
        requests,
        files,
        on,
        policy=register.policy,
        months=months,
        since=first_received,
        plugin_manager=register.plugin_manager,
    )
