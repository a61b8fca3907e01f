"""The communes' table: entries, placements, waiting list and demand per 1,000 inhabitants."""

from __future__ import annotations

from collections.abc import Mapping

from mt_access.indicators.base import BoolArray, Cell, fr_date
from mt_access.indicators.breakdowns import counts_of, reference_maps
from mt_access.indicators.dataset import Dataset
from mt_access.indicators.period import Period
from mt_access.indicators.table import Table
from mt_access.policy import Policy


def commune_table(
    data: Dataset,
    policy: Policy,
    entered: BoolArray,
    active_end: BoolArray,
    populations: Mapping[str, int | None] | None,
    commune_names: Mapping[str, str] | None,
    period: Period,
) -> Table:
    size = len(data.communes)
    new = counts_of(data.commune, entered, size)
    waiting = counts_of(data.commune, active_end, size)
    new_by = {code: int(new[i]) for i, code in enumerate(data.communes)}
    waiting_by = {code: int(waiting[i]) for i, code in enumerate(data.communes)}
    codes = sorted(
        set(policy.territory)
        | {c for c, n in new_by.items() if n}
        | {c for c, n in waiting_by.items() if n}
    )
    pops, names = reference_maps(policy, populations, commune_names, codes)
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
        f"{fr_date(period.end)}.",
    )
