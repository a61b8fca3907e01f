"""The tables of requests by reason, level and referrer, the waiting list and the waits."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from mt_access.indicators.base import (
    ALL_LEVELS,
    MT_FOUND,
    BoolArray,
    Cell,
    IndicatorsError,
    IntArray,
    fr_date,
    percentiles,
    share_of,
)
from mt_access.indicators.dataset import Dataset
from mt_access.indicators.period import Period
from mt_access.indicators.table import Table
from mt_access.lifecycle import (
    RequestState,
)
from mt_access.policy import Policy


def reference_maps(
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


def counts_of(values: IntArray, mask: BoolArray, size: int, weights: IntArray | None = None) -> Any:
    chosen = values[mask]
    if chosen.size and int(chosen.min()) < 0:  # pragma: no cover - a loader bug
        raise IndicatorsError("données incomplètes : demandes non lues")
    if weights is None:
        return np.bincount(chosen, minlength=size)
    return np.bincount(chosen, weights=weights[mask], minlength=size).astype(np.int64)


def share_table(
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
        row.append(share_of(int(counts[i]), total))
        rows.append(tuple(row))
    last: list[Cell] = ["total", total]
    if persons is not None:
        last.append(int(sum(persons)))
    last.append(1.0 if total else None)
    rows.append(tuple(last))
    columns = (first, "demandes", *(("personnes",) if persons is not None else ()), "part")
    return Table(name, title, columns, tuple(rows), note)


def waiting_table(data: Dataset, active_end: BoolArray, period: Period) -> Table:
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
        f"Demandes en cours au {fr_date(period.end)} par niveau de priorité",
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


def wait_times_table(
    data: Dataset, period: Period, placed: BoolArray
) -> tuple[
    Table,
    tuple[tuple[str, tuple[int, ...]], ...],
    tuple[float | None, float | None, float | None, float | None, int, int],
]:
    s, e = period.start.toordinal(), period.end.toordinal()
    wait = data.exit - data.received
    mt_found = data.exit_reason == MT_FOUND
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
        median, p90 = percentiles(level_waits)
        c30, q30 = (int((m & level_mask).sum()) for m in cohorts[30])
        c90, q90 = (int((m & level_mask).sum()) for m in cohorts[90])
        rows.append(
            (
                name,
                int(level_waits.size),
                median,
                p90,
                share_of(q30, c30),
                c30,
                share_of(q90, c90),
                c90,
            )
        )
        if index >= 0:
            waits.append((name, tuple(int(x) for x in np.sort(level_waits).tolist())))
        else:
            headline = (median, p90, share_of(q30, c30), share_of(q90, c90), c30, c90)
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
        f"{fr_date(d30[0])} au {fr_date(d30[1])} (cohorte 30 jours), part placée au plus "
        "30 jours après la réception ; de même en 90 jours pour les demandes reçues du "
        f"{fr_date(d90[0])} au {fr_date(d90[1])}.",
    )
    return table, tuple(waits), headline
