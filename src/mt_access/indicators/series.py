"""The waiting list over time."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np
import pluggy

from mt_access.engine import policy_plugin_manager
from mt_access.indicators.base import IndicatorsError
from mt_access.indicators.dataset import Dataset, build_dataset, register_dataset, series_needs
from mt_access.indicators.table import import_pandas
from mt_access.lifecycle import (
    RequestFile,
)
from mt_access.model import Request
from mt_access.policy import Policy

if TYPE_CHECKING:
    import pandas as pd  # type: ignore[import-untyped, import-not-found, unused-ignore]

    from mt_access.register import Register

__all__ = ["WaitingListSeries", "compute_waiting_list_series", "waiting_list_series"]


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
        pd_ = import_pandas()
        columns: dict[str, Any] = {"jour": pd_.to_datetime(list(self.days))}
        for level, counts in zip(self.levels, self.counts, strict=True):
            columns[level] = list(counts)
        columns["total"] = list(self.totals)
        frame: pd.DataFrame = pd_.DataFrame(columns)
        return frame


def _series(data: Dataset, start: dt.date, end: dt.date, step_days: int) -> WaitingListSeries:
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
    return _series(build_dataset(requests, files, policy, levels, pm), start, end, step_days)


def waiting_list_series(
    register: Register, start: dt.date, end: dt.date, *, step_days: int = 1
) -> WaitingListSeries:
    """:func:`compute_waiting_list_series` for a register."""
    return _series(register_dataset(register, series_needs(start, end)), start, end, step_days)
