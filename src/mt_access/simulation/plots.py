"""Plots of simulation results (matplotlib, French labels).

Figures are built with ``matplotlib.figure.Figure`` and written with the Agg renderer: no
pyplot, no global backend change, nothing is ever shown. Each function returns the
``Figure`` (a notebook displays it) and writes a PNG when given a path.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from mt_access.lifecycle import RequestState
from mt_access.simulation.base import SHARES
from mt_access.simulation.generator import SimulationError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from mt_access.simulation.compare import Comparison
    from mt_access.simulation.records import SimulationRun

__all__ = ["plot_comparison", "plot_run", "plot_waiting_list"]


def _figure(width: float = 8.0, height: float = 4.5) -> Figure:
    try:
        from matplotlib.figure import Figure
    except ImportError:  # pragma: no cover - depends on the installation
        raise SimulationError(
            "les graphiques demandent matplotlib : pip install 'mt-access[simulation]'"
        ) from None
    return Figure(figsize=(width, height), layout="constrained")


def _save(figure: Figure, path: str | os.PathLike[str] | None) -> Figure:
    if path is not None:
        figure.savefig(os.fspath(path), format="png", dpi=110)
    return figure


def plot_run(run: SimulationRun, path: str | os.PathLike[str] | None = None) -> Figure:
    """Request files by state at the end of each month (stacked areas)."""
    figure = _figure()
    ax = figure.subplots()
    months = [str(m.month) for m in run.months]
    x = np.arange(len(months))
    shown = [RequestState.WAITING, RequestState.MT_FOUND, RequestState.EXITED]
    series = [[m.count(s) for m in run.months] for s in shown]
    ax.stackplot(x, series, labels=[s.label for s in shown], alpha=0.85)
    ax.set_xticks(x, months, rotation=45, ha="right")
    ax.set_ylabel("demandes")
    ax.set_title(f"Demandes par état en fin de mois — {run.policy_code}")
    ax.legend(loc="upper left")
    return _save(figure, path)


def plot_comparison(
    comparison: Comparison,
    indicator: str,
    groups: Sequence[str],
    path: str | os.PathLike[str] | None = None,
) -> Figure:
    """For each group, each variant's mean (point) and interval (bar)."""
    figure = _figure(8.0, max(2.5, 0.5 + 0.45 * len(groups) * len(comparison.variants)))
    ax = figure.subplots()
    scale = 100.0 if indicator in SHARES else 1.0
    n = len(comparison.variants)
    height = 0.8 / max(n, 1)
    for k, variant in enumerate(comparison.variants):
        means, lows, highs = [], [], []
        for group in groups:
            values = comparison.values(group, indicator)[variant]
            mean, low, high, _ = comparison._bounds(values)
            means.append(mean * scale)
            lows.append((mean - low) * scale)
            highs.append((high - mean) * scale)
        y = np.arange(len(groups)) + (k - (n - 1) / 2) * height
        ax.errorbar(means, y, xerr=[lows, highs], fmt="o", capsize=4, label=variant, markersize=6)
    ax.set_yticks(np.arange(len(groups)), list(groups))
    ax.invert_yaxis()
    unit = " (%)" if indicator in SHARES else ""
    ax.set_xlabel(f"{indicator}{unit}")
    ax.set_title(
        f"{indicator} : moyenne et intervalle ({comparison.level:.0%} des réplications, "
        f"n = {comparison.replications})".replace("%", " %")
    )
    ax.grid(axis="x", alpha=0.3)
    ax.legend(loc="best", fontsize="small")
    return _save(figure, path)


def plot_waiting_list(comparison: Comparison, path: str | os.PathLike[str] | None = None) -> Figure:
    """The waiting list at the end of each month: mean line and interval band per variant."""
    figure = _figure()
    ax = figure.subplots()
    x = np.arange(1, comparison.months + 1)
    tail = (1 - comparison.level) / 2
    for variant, data in comparison.monthly("waiting").items():
        if data.size == 0:
            continue
        mean = np.nanmean(data, axis=0)
        low, high = np.nanquantile(data, [tail, 1 - tail], axis=0)
        (line,) = ax.plot(x, mean, marker="o", label=variant)
        ax.fill_between(x, low, high, color=line.get_color(), alpha=0.2)
    ax.set_xlabel(f"mois simulé (1 = {comparison.start})")
    ax.set_ylabel("demandes en attente en fin de mois")
    share = f"{comparison.level:.0%}".replace("%", " %")
    ax.set_title(f"Liste d'attente : moyenne et intervalle ({share} des réplications)")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", fontsize="small")
    return _save(figure, path)
