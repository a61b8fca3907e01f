"""Plots of a register's indicators, saved as PNG files (matplotlib, Agg backend).

* :func:`plot_waiting_list`: the requests in progress over time, stacked by priority level
  (:func:`mt_access.indicators.waiting_list_series`);
* :func:`plot_waits_by_level`: the days from request to médecin traitant of the requests
  placed in a period, one box per level (:class:`mt_access.indicators.Indicators`);
* :func:`report_plots`: both, for a register and a period, into a report folder.

The figures are drawn on matplotlib's Agg canvas directly (no ``pyplot``, no window, no
global state), with French labels. Each function writes one file and returns its path.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from mt_access.calendar import Month
from mt_access.errors import PlotError
from mt_access.indicators import (
    Indicators,
    Period,
    WaitingListSeries,
    _indicators,
    _period_needs,
    _register_dataset,
    _series,
    _series_needs,
    _union,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from mt_access.register import Register

__all__ = [
    "PlotError",
    "plot_waiting_list",
    "plot_waits_by_level",
    "report_plots",
]

_COLOURS = ("#c0392b", "#e67e22", "#f1c40f", "#27ae60", "#2980b9", "#8e44ad", "#7f8c8d")


def _figure(width: float = 10.0, height: float = 5.0) -> tuple[Figure, Axes]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    return figure, figure.add_subplot()


def _save(figure: Figure, folder: str | os.PathLike[str], filename: str) -> Path:
    target = Path(folder) / filename
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.tmp")
        figure.savefig(tmp, format="png")
        os.replace(tmp, target)
    except OSError as exc:
        raise PlotError(f"{target} : écriture impossible ({exc.strerror or exc})") from exc
    return target


def _colour(index: int, count: int) -> str:
    if index == count - 1:
        return _COLOURS[-1]  # the non-priority level, last, in grey
    return _COLOURS[index % (len(_COLOURS) - 1)]


def plot_waiting_list(
    series: WaitingListSeries,
    folder: str | os.PathLike[str],
    *,
    filename: str = "liste_attente.png",
    title: str = "Demandes en cours (liste d'attente)",
) -> Path:
    """Draw the requests in progress over time, stacked by level, with the total; write
    ``folder/filename`` (PNG) and return its path.

    Raises:
        PlotError: the file cannot be written.
    """
    from matplotlib.dates import AutoDateLocator, DateFormatter
    from matplotlib.ticker import MaxNLocator

    figure, ax = _figure()
    days = np.array(series.days, dtype="datetime64[D]")
    if series.counts:
        ax.stackplot(
            days,
            *[list(c) for c in series.counts],
            labels=[f"niveau « {level} »" for level in series.levels],
            colors=[_colour(i, len(series.levels)) for i in range(len(series.levels))],
            alpha=0.8,
            step="post",
        )
    ax.step(days, list(series.totals), where="post", color="black", linewidth=1.2, label="total")
    ax.set_title(title)
    ax.set_ylabel("demandes en cours")
    ax.set_xlabel(f"du {_fr(series.days[0])} au {_fr(series.days[-1])}")
    ax.xaxis.set_major_locator(AutoDateLocator())  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_formatter(DateFormatter("%d/%m/%Y"))  # type: ignore[no-untyped-call]
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylim(0, max([*series.totals, 1]) * 1.25)  # room for the legend
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend(loc="upper left", fontsize="small")
    return _save(figure, folder, filename)


def plot_waits_by_level(
    result: Indicators,
    folder: str | os.PathLike[str],
    *,
    filename: str = "delais_par_niveau.png",
) -> Path:
    """Draw the days from request to médecin traitant of the requests placed in the
    period, one box per level (median, quartiles; whiskers at the 10th and 90th
    percentiles), with the 30- and 90-day marks; write ``folder/filename`` (PNG) and return
    its path. A period without placement gives a figure saying so.

    Raises:
        PlotError: the file cannot be written.
    """
    figure, ax = _figure(8.0, 5.0)
    levels = [(name, list(waits)) for name, waits in result.waits if waits]
    ax.set_title(f"Délai entre la demande et le médecin traitant — {result.period.label}")
    if levels:
        boxes = ax.boxplot(
            [waits for _, waits in levels],
            whis=(10, 90),
            showfliers=True,
            patch_artist=True,
            medianprops={"color": "black"},
        )
        names = [name for name, _ in result.waits]
        for patch, (name, _) in zip(boxes["boxes"], levels, strict=True):
            patch.set_facecolor(_colour(names.index(name), len(names)))
            patch.set_alpha(0.7)
        ax.set_xticks(
            range(1, len(levels) + 1),
            [f"{name}\n({len(waits)} placée(s))" for name, waits in levels],
        )
        for days in (30, 90):
            ax.axhline(days, color="grey", linestyle="--", linewidth=0.8)
            ax.annotate(
                f"{days} jours",
                (1.0, days),
                xycoords=("axes fraction", "data"),
                xytext=(-4, 2),
                textcoords="offset points",
                ha="right",
                fontsize="small",
                color="grey",
            )
        ax.set_ylim(bottom=0)
        ax.set_ylabel("jours, de la réception à l'acceptation par le médecin")
        ax.set_xlabel("boîte : quartiles et médiane ; moustaches : 10e et 90e centiles")
        ax.grid(True, axis="y", alpha=0.3)
    else:
        ax.set_axis_off()
        ax.text(
            0.5,
            0.5,
            "Aucune demande n'a trouvé de médecin traitant sur la période.",
            ha="center",
            va="center",
            transform=ax.transAxes,
        )
    return _save(figure, folder, filename)


def report_plots(
    register: Register,
    period: Period | Month | str,
    folder: str | os.PathLike[str],
    *,
    months: int = 12,
) -> tuple[Path, Path]:
    """Both plots for a register: the waiting list over the ``months`` months up to the end
    of ``period`` (one point a day), and the waits of the requests placed in ``period``.
    Returns the two paths (``liste_attente.png``, ``delais_par_niveau.png``)."""
    chosen = Period.of(period)
    first = Month.of(chosen.end)
    for _ in range(max(months, 1) - 1):
        first = first.previous()
    needs = _union(_period_needs(chosen), _series_needs(first.first_day, chosen.end))
    data = _register_dataset(register, needs)
    series = _series(data, first.first_day, chosen.end, 1)
    result = _indicators(
        data, chosen, register.policy, register.physicians(), register.ledger, None, None
    )
    return plot_waiting_list(series, folder), plot_waits_by_level(result, folder)


def _fr(day: dt.date) -> str:
    return day.strftime("%d/%m/%Y")
