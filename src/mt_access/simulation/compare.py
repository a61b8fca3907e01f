"""Comparing scenarios and policies over replications, in parallel.

:func:`compare` runs every (scenario, policy) pair on the same replications: replication
``r`` of every pair sees the same requests and the same patients' decisions (common random
numbers), so the differences between variants are the policies' and the events', not
chance's. The replications are spread over worker processes (``spawn``, so it works the same
everywhere, notebooks included); each worker rebuilds the policies from their YAML mapping.
"""

from __future__ import annotations

import gc
import math
import multiprocessing
import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from mt_access.calendar import Month
from mt_access.errors import PolicyError
from mt_access.geo.communes import bundled_reference
from mt_access.plugins import get_plugin_manager, registry
from mt_access.policy import Policy, policy_from_mapping
from mt_access.simulation.base import SHARES, format_value
from mt_access.simulation.generator import Arrival, SimulationError
from mt_access.simulation.metrics import ALL, INDICATORS
from mt_access.simulation.metrics import REQUEST_INDICATORS as _REQUEST_ONLY
from mt_access.simulation.runner import run_summary
from mt_access.simulation.scenario import Scenario

__all__ = ["AUTO_PARALLEL_RUNS", "Comparison", "RunSummary", "compare", "format_value"]


@attrs.frozen(eq=False)
class RunSummary:
    """What a comparison keeps of one run.

    Attributes:
        variant: index of the variant in :attr:`Comparison.variants`.
        replication: the replication number.
        values: the indicators, by (group, indicator).
        waiting: requests waiting at the end of each month.
        placed: requests placed during each month.
    """

    variant: int
    replication: int
    values: dict[tuple[str, str], float]
    waiting: npt.NDArray[np.int64]
    placed: npt.NDArray[np.int64]


# --------------------------------------------------------------------------------------------
# Sending policies and scenarios to worker processes


@attrs.frozen(eq=False)
class _PolicyRecipe:
    raw: dict[str, Any]
    source: str


def _compile(recipe: _PolicyRecipe) -> Policy:
    pm = get_plugin_manager()
    found = registry(pm)
    return policy_from_mapping(
        recipe.raw,
        registry=found,
        reference=found.reference(),
        source=recipe.source,
        plugin_manager=pm,
    )


def _recipe(policy: Policy) -> _PolicyRecipe | None:
    """How a worker rebuilds ``policy``, or ``None`` when it cannot (no YAML mapping, a
    change made with ``attrs.evolve``, plugins or a commune file of its own)."""
    if not policy.raw:
        return None
    recipe = _PolicyRecipe(dict(policy.raw), policy.source)
    try:
        rebuilt = _compile(recipe)
    except PolicyError:
        return None
    if rebuilt != policy or (
        policy.reference is not None and policy.reference is not rebuilt.reference
    ):
        return None
    return recipe


def _portable(scenario: Scenario) -> Scenario | None:
    """The scenario as a worker can receive it (the bundled reference is reloaded there)."""
    if scenario.reference is None:
        return scenario
    if scenario.reference is bundled_reference():
        return attrs.evolve(scenario, reference=None)
    return None


_WORKER: dict[str, Any] = {}

AUTO_PARALLEL_RUNS = 16
"""With ``workers=None``, :func:`compare` uses worker processes from this many runs
(replications × variants) on."""


def _init_worker(scenarios: Sequence[Scenario], recipes: Sequence[_PolicyRecipe]) -> None:
    _WORKER["scenarios"] = list(scenarios)
    _WORKER["policies"] = [_compile(r) for r in recipes]
    for scenario in _WORKER["scenarios"]:
        _ = scenario.register  # generated once per worker, before the freeze below
    # The commune reference, the policies and the GPs live as long as the worker: keep the
    # garbage collector from scanning them again and again.
    gc.freeze()


def _run_replications(
    pairs: Sequence[tuple[int, int, int]],
    replications: Sequence[int],
    scenarios: Sequence[Scenario],
    policies: Sequence[Policy],
    done: Callable[[int], None] | None = None,
) -> list[RunSummary]:
    out: list[RunSummary] = []
    for r in replications:
        cache: dict[Any, list[Arrival]] = {}  # the variants of a replication share arrivals
        for v, si, pi in pairs:
            values, waiting, placed = run_summary(scenarios[si], policies[pi], r, cache)
            out.append(RunSummary(v, r, values, waiting, placed))
        if done is not None:
            done(len(pairs))
    return out


def _worker_chunk(pairs: Sequence[tuple[int, int, int]], replications: Sequence[int]) -> Any:
    return _run_replications(pairs, replications, _WORKER["scenarios"], _WORKER["policies"])


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
        workers: worker processes. By default ``os.cpu_count()``, or ``1`` (this process)
            for fewer than :data:`AUTO_PARALLEL_RUNS` runs in all, where starting workers
            would cost more than it saves. Pairs whose policy a worker cannot rebuild
            (see :func:`policy_variant`) run in this process.
        level: the share of the replications each interval covers (0.9: from the 5th to
            the 95th percentile of the replications).
        first_replication: the number of the first replication.
        progress: called as ``progress(done, total)`` with the runs done so far, after each
            replication run here and each batch of replications a worker finishes (e.g. a
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
    if workers is None:  # starting the workers costs about as much as 15 small runs
        workers = (os.cpu_count() or 1) if len(reps) * len(pairs) >= AUTO_PARALLEL_RUNS else 1
    workers = min(max(1, int(workers)), len(reps))

    # What the workers can rebuild runs there; the rest runs here.
    recipes = [_recipe(p) if workers > 1 else None for p in p_values]
    portable = [_portable(s) if workers > 1 else None for s in s_values]
    sent_scenarios: dict[int, Scenario] = {}
    sent_recipes: dict[int, _PolicyRecipe] = {}
    local: list[tuple[int, int, int]] = []
    for v, si, pi in pairs:
        scenario, recipe = portable[si], recipes[pi]
        if scenario is None or recipe is None:
            local.append((v, si, pi))
        else:
            sent_scenarios.setdefault(si, scenario)
            sent_recipes.setdefault(pi, recipe)
    s_index = {si: k for k, si in enumerate(sent_scenarios)}
    p_index = {pi: k for k, pi in enumerate(sent_recipes)}
    remote = [
        (v, s_index[si], p_index[pi])
        for v, si, pi in pairs
        if si in s_index and pi in p_index and (v, si, pi) not in local
    ]
    results: list[RunSummary] = []
    total = len(reps) * len(pairs)
    finished = 0

    def advance(runs: int) -> None:
        nonlocal finished
        finished += runs
        if progress is not None:
            progress(finished, total)

    if progress is not None:
        progress(0, total)
    if local:
        results.extend(_run_replications(local, reps, s_values, p_values, advance))
    if remote:
        chunk = max(1, math.ceil(len(reps) / (workers * 4)))
        chunks = [reps[i : i + chunk] for i in range(0, len(reps), chunk)]
        with ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_init_worker,
            initargs=(list(sent_scenarios.values()), list(sent_recipes.values())),
        ) as pool:
            for part in pool.map(_worker_chunk, [remote] * len(chunks), chunks):
                results.extend(part)
                advance(len(part))
    results.sort(key=lambda run: (run.variant, run.replication))
    months = max(s.months for s in s_values)
    return Comparison(
        variants=tuple(labels),
        replications=replications,
        level=level,
        runs=tuple(results),
        months=months,
        start=s_values[0].start,
        workers=workers if remote else 1,
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
        workers: processes used.
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

    def rows(
        self,
        groups: Sequence[str] | str | None = None,
        indicators: Sequence[str] | str | None = None,
    ) -> list[dict[str, Any]]:
        """The comparison as records (no pandas needed): variant, group, indicator, mean,
        low, high and the number of replications where the indicator is defined."""
        chosen_groups, chosen = self._select(groups, indicators)
        rows = []
        for group in chosen_groups:
            for indicator in chosen:
                if group != ALL and indicator not in _REQUEST_ONLY:
                    continue
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
        chosen_groups, chosen = self._select(groups, indicators)
        rows = []
        for group in chosen_groups:
            for indicator in chosen:
                if group != ALL and indicator not in _REQUEST_ONLY:
                    continue
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
