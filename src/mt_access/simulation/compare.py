"""Comparing scenarios and policies over replications, in parallel.

:func:`compare` runs every (scenario, policy) pair on the same replications: replication
``r`` of every pair sees the same requests and the same patients' decisions (common random
numbers), so the differences between variants are the policies' and the events', not
chance's. The replications are spread over this process and worker processes
(:mod:`mt_access.simulation.pool`: ``spawn``, so it works the same everywhere, in notebooks
and in plain scripts alike); each worker rebuilds the policies from their YAML mapping once.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from mt_access.calendar import Month
from mt_access.geo.communes import bundled_reference
from mt_access.policy import Policy
from mt_access.simulation.base import SHARES, format_value
from mt_access.simulation.generator import SimulationError
from mt_access.simulation.metrics import ALL, INDICATORS
from mt_access.simulation.metrics import REQUEST_INDICATORS as _REQUEST_ONLY
from mt_access.simulation.pool import recipe, run_all
from mt_access.simulation.records import RunSummary
from mt_access.simulation.scenario import Scenario

__all__ = ["AUTO_PARALLEL_RUNS", "Comparison", "RunSummary", "compare", "format_value"]


# --------------------------------------------------------------------------------------------
# Sending scenarios to worker processes


def _portable(scenario: Scenario) -> Scenario | None:
    """The scenario as a worker can receive it (the bundled reference is reloaded there)."""
    if scenario.reference is None:
        return scenario
    if scenario.reference is bundled_reference():
        return attrs.evolve(scenario, reference=None)
    return None


AUTO_PARALLEL_RUNS = 16
"""With ``workers=None``, :func:`compare` uses worker processes from this many runs
(replications × variants) on: below, a worker would spend more time starting (about 3 s)
than it saves."""


# --------------------------------------------------------------------------------------------
# compare


def _labelled(value: Any, kind: type, default: str, what: str) -> tuple[list[str], list[Any]]:
    if isinstance(value, kind):
        label = getattr(value, "name", "") or default
        return [label], [value]
    if isinstance(value, Mapping):
        if not value:
            raise SimulationError(f"au moins un(e) {what} attendu(e)")
        for item in value.values():
            if not isinstance(item, kind):
                raise SimulationError(f"{what} : {kind.__name__} attendu, reçu {item!r}")
        return [str(k) for k in value], list(value.values())
    raise SimulationError(f"{what} : {kind.__name__} ou dictionnaire libellé → {kind.__name__}")


def compare(
    scenarios: Scenario | Mapping[str, Scenario],
    policies: Policy | Mapping[str, Policy],
    *,
    replications: int = 100,
    workers: int | None = None,
    level: float = 0.9,
    first_replication: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> Comparison:
    """Run every scenario under every policy, ``replications`` times, and compare.

    Args:
        scenarios: a scenario, or labelled scenarios (``{"sans départ": s, "départ": s2}``).
        policies: a policy, or labelled policies (``{"quota": p, "plus proche": p2}``).
        replications: replications per variant (numbers ``first_replication`` onwards).
        workers: processes running replications, this one included: ``workers - 1``
            worker processes are started, once for the whole comparison, and this process
            runs replications too while they start and run. By default
            ``os.cpu_count()``, or ``1`` (this process alone) for fewer than
            :data:`AUTO_PARALLEL_RUNS` runs in all. Pairs whose policy a worker cannot
            rebuild (see :func:`policy_variant`) run in this process. The results are the
            same whatever the number of processes.
        level: the share of the replications each interval covers (0.9: from the 5th to
            the 95th percentile of the replications).
        first_replication: the number of the first replication.
        progress: called as ``progress(done, total)`` with the runs done so far, after each
            replication run here and each chunk of replications a worker finishes (e.g. a
            :class:`~mt_access.progress.ProgressBar`).

    Returns:
        A :class:`Comparison`; its variants are the (scenario, policy) pairs, labelled by the
        scenario's label, the policy's, or both (« départ · quota ») when both vary.
    """
    s_labels, s_values = _labelled(scenarios, Scenario, "scénario", "scénario")
    p_labels, p_values = _labelled(policies, Policy, "politique", "politique")
    if replications < 1:
        raise SimulationError("au moins une réplication attendue")
    if not 0 < level < 1:
        raise SimulationError("niveau des intervalles entre 0 et 1 attendu")
    labels: list[str] = []
    pairs: list[tuple[int, int, int]] = []
    for si, s_label in enumerate(s_labels):
        for pi, p_label in enumerate(p_labels):
            if len(s_labels) > 1 and len(p_labels) > 1:
                label = f"{s_label} · {p_label}"
            elif len(s_labels) > 1:
                label = s_label
            else:
                label = p_label
            pairs.append((len(labels), si, pi))
            labels.append(label)
    if len(set(labels)) != len(labels):
        raise SimulationError(f"libellés de variantes en double : {labels}")
    reps = list(range(first_replication, first_replication + replications))
    if workers is None:  # below this, starting a worker would cost more than it saves
        workers = (os.cpu_count() or 1) if len(reps) * len(pairs) >= AUTO_PARALLEL_RUNS else 1
    workers = min(max(1, int(workers)), len(reps))
    total = len(reps) * len(pairs)
    finished = 0

    def advance(runs: int) -> None:
        nonlocal finished
        finished += runs
        if progress is not None:
            progress(finished, total)

    if progress is not None:
        progress(0, total)
    results, used = run_all(
        reps,
        pairs,
        s_values,
        p_values,
        workers=workers,
        portable=[_portable(s) for s in s_values] if workers > 1 else [],
        recipes=[recipe(p) for p in p_values] if workers > 1 else [],
        done=advance,
    )
    results.sort(key=lambda run: (run.variant, run.replication))
    months = max(s.months for s in s_values)
    return Comparison(
        variants=tuple(labels),
        replications=replications,
        level=level,
        runs=tuple(results),
        months=months,
        start=s_values[0].start,
        workers=used,
    )


# --------------------------------------------------------------------------------------------
# Comparison

_SHARES = SHARES  # the former private name, kept for code that imported it


@attrs.frozen(eq=False)
class Comparison:
    """The indicators of every variant over the replications, with intervals.

    Attributes:
        variants: the variants' labels.
        replications: replications per variant.
        level: the share of the replications an interval covers.
        runs: every run's indicators (:class:`RunSummary`), by variant then replication.
        months: simulated months (the longest scenario's).
        start: the first simulated month (of the first scenario).
        workers: processes used: this one, and the worker processes that ran replications.
    """

    variants: tuple[str, ...]
    replications: int
    level: float
    runs: tuple[RunSummary, ...]
    months: int
    start: Month
    workers: int = 1

    @property
    def groups(self) -> tuple[str, ...]:
        """Every group, in the order of the first run that has it."""
        seen: dict[str, None] = {}
        for run in self.runs:
            for group, _ in run.values:
                seen.setdefault(group, None)
        return tuple(seen)

    def values(self, group: str, indicator: str) -> dict[str, npt.NDArray[np.float64]]:
        """The indicator's value in each replication, per variant (NaN where undefined)."""
        if indicator not in INDICATORS:
            raise SimulationError(
                f"indicateur inconnu {indicator!r} ; indicateurs : {', '.join(INDICATORS)}"
            )
        out: dict[str, list[float]] = {label: [] for label in self.variants}
        for run in self.runs:
            out[self.variants[run.variant]].append(run.values.get((group, indicator), math.nan))
        return {k: np.array(v, dtype=np.float64) for k, v in out.items()}

    def _bounds(self, values: npt.NDArray[np.float64]) -> tuple[float, float, float, int]:
        finite = values[~np.isnan(values)]
        if finite.size == 0:
            return math.nan, math.nan, math.nan, 0
        tail = (1 - self.level) / 2
        low, high = np.quantile(finite, [tail, 1 - tail])
        return float(finite.mean()), float(low), float(high), int(finite.size)

    def _select(
        self, groups: Sequence[str] | str | None, indicators: Sequence[str] | str | None
    ) -> tuple[list[str], list[str]]:
        if isinstance(groups, str):
            groups = [groups]
        if isinstance(indicators, str):
            indicators = [indicators]
        chosen_groups = list(self.groups if groups is None else groups)
        chosen = list(INDICATORS if indicators is None else indicators)
        for name in chosen:
            if name not in INDICATORS:
                raise SimulationError(
                    f"indicateur inconnu {name!r} ; indicateurs : {', '.join(INDICATORS)}"
                )
        for group in chosen_groups:
            if group not in self.groups:
                raise SimulationError(
                    f"groupe inconnu {group!r} ; groupes : {', '.join(self.groups)}"
                )
        return chosen_groups, chosen

    def _cells(
        self, groups: Sequence[str] | str | None, indicators: Sequence[str] | str | None
    ) -> list[tuple[str, str]]:
        """The ``(group, indicator)`` pairs asked for (checked by :meth:`_select`), groups
        first: a group other than every request (``ALL``) only with the indicators about
        requests."""
        chosen_groups, chosen = self._select(groups, indicators)
        return [
            (group, indicator)
            for group in chosen_groups
            for indicator in chosen
            if group == ALL or indicator in _REQUEST_ONLY
        ]

    def rows(
        self,
        groups: Sequence[str] | str | None = None,
        indicators: Sequence[str] | str | None = None,
    ) -> list[dict[str, Any]]:
        """The comparison as records (no pandas needed): variant, group, indicator, mean,
        low, high and the number of replications where the indicator is defined."""
        rows = []
        for group, indicator in self._cells(groups, indicators):
            for variant, values in self.values(group, indicator).items():
                mean, low, high, n = self._bounds(values)
                rows.append(
                    {
                        "variante": variant,
                        "groupe": group,
                        "indicateur": indicator,
                        "moyenne": mean,
                        "bas": low,
                        "haut": high,
                        "réplications": n,
                    }
                )
        return rows

    def to_frame(
        self,
        groups: Sequence[str] | str | None = None,
        indicators: Sequence[str] | str | None = None,
    ) -> Any:
        """A pandas DataFrame, one row per (variant, group, indicator): ``moyenne`` over the
        replications, ``bas`` and ``haut`` the interval holding ``level`` of them."""
        from mt_access.simulation.frames import comparison_frame

        return comparison_frame(self, self.rows(groups, indicators))

    def table(
        self,
        groups: Sequence[str] | str | None = None,
        indicators: Sequence[str] | str | None = None,
    ) -> Any:
        """A table to read: one row per (group, variant), one column per indicator, each
        cell « mean [low – high] » formatted in French."""
        from mt_access.simulation.frames import comparison_table

        return comparison_table(self, self.rows(groups, indicators))

    def runs_frame(self) -> Any:
        """Every run's indicators: one row per (variant, replication), one column per
        (group, indicator)."""
        from mt_access.simulation.frames import runs_frame

        return runs_frame(self)

    def versus(
        self,
        baseline: str,
        groups: Sequence[str] | str | None = None,
        indicators: Sequence[str] | str | None = None,
    ) -> Any:
        """The difference of every other variant with ``baseline``, replication by
        replication (the same patients: common random numbers), with its interval. An
        interval that does not contain 0 is a difference the replications agree on."""
        from mt_access.simulation.frames import versus_frame

        if baseline not in self.variants:
            raise SimulationError(
                f"variante inconnue {baseline!r} ; variantes : {', '.join(self.variants)}"
            )
        rows = []
        for group, indicator in self._cells(groups, indicators):
            values = self.values(group, indicator)
            base = values[baseline]
            for variant in self.variants:
                if variant == baseline:
                    continue
                mean, low, high, n = self._bounds(values[variant] - base)
                rows.append(
                    {
                        "variante": variant,
                        "référence": baseline,
                        "groupe": group,
                        "indicateur": indicator,
                        "écart moyen": mean,
                        "bas": low,
                        "haut": high,
                        "réplications": n,
                    }
                )
        return versus_frame(self, rows)

    def monthly(self, what: str = "waiting") -> dict[str, npt.NDArray[np.float64]]:
        """Per variant, a (replications × months) array of the requests ``waiting`` at the
        end of each month, or ``placed`` during it (NaN past a shorter scenario's end)."""
        if what not in ("waiting", "placed"):
            raise SimulationError("'waiting' ou 'placed' attendu")
        out: dict[str, list[npt.NDArray[np.float64]]] = {v: [] for v in self.variants}
        for run in self.runs:
            series = np.full(self.months, math.nan)
            data = run.waiting if what == "waiting" else run.placed
            series[: data.size] = data
            out[self.variants[run.variant]].append(series)
        return {k: np.vstack(v) if v else np.zeros((0, self.months)) for k, v in out.items()}

    def plot(
        self,
        indicator: str = "part placée",
        path: Any = None,
        groups: Sequence[str] | str | None = None,
    ) -> Any:
        """One indicator, per group and variant: the mean and the interval. Saved as PNG to
        ``path`` when given; returns the matplotlib ``Figure``."""
        from mt_access.simulation.plots import plot_comparison

        chosen_groups, _ = self._select(groups, indicator)
        if indicator not in _REQUEST_ONLY:
            chosen_groups = [ALL]
        return plot_comparison(self, indicator, chosen_groups, path)

    def plot_waiting_list(self, path: Any = None) -> Any:
        """The waiting list month by month, per variant: the mean and the interval band.
        Saved as PNG to ``path`` when given; returns the matplotlib ``Figure``."""
        from mt_access.simulation.plots import plot_waiting_list

        return plot_waiting_list(self, path)
