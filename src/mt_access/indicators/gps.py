"""The GPs' table: proposals, acceptances, refusals, places held against capacity."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Collection, Sequence
from fractions import Fraction

import numpy as np

from mt_access.capacity_view import capacity_in_force, places_number
from mt_access.indicators.base import Cell, share_of
from mt_access.indicators.dataset import Dataset
from mt_access.indicators.period import Period
from mt_access.indicators.table import Table
from mt_access.ledger import CapacityLedger
from mt_access.lifecycle import (
    Event,
    Transition,
)
from mt_access.model import Physician
from mt_access.policy import Policy

__all__ = ["accepted_persons"]


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


def physician_table(
    data: Dataset,
    period: Period,
    policy: Policy,
    physicians: Sequence[Physician],
    ledger: CapacityLedger,
    *,
    only: Collection[str] | None = None,
) -> tuple[Table, int | float, int, int]:
    """The GPs' table, with the places declared over the period, those held and the persons
    accepted. A month with a yearly capacity counts a twelfth of it (the smaller of that and
    the monthly cap when both are in force): see :mod:`mt_access.capacity_view`.

    With ``only``, the rows of those GPs alone (each the same as in the whole table), and a
    total over them: a GP's follow-up computes its own row, not every GP's."""
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
    if only is None:
        ledger_ids = {e.physician_id for e in ledger.entries if getattr(e, "month", None) in months}
        ids = sorted(set(by_id) | set(counts) | ledger_ids)
    else:
        wanted = set(only)
        found = wanted & (set(by_id) | set(counts))
        if wanted - found:  # GPs known only by the ledger
            found |= {
                e.physician_id
                for e in ledger.entries
                if e.physician_id in wanted and getattr(e, "month", None) in months
            }
        ids = sorted(found)
    rows: list[tuple[Cell, ...]] = []
    total_capacity = Fraction(0)
    total_held = 0
    totals = [0, 0, 0, 0]
    for pid in ids:
        physician = by_id.get(pid)
        default = policy.monthly_capacity_of(physician) if physician is not None else 0
        capacity = Fraction(0)
        for month in months:
            first = max(month.first_day, period.start)
            last = min(month.last_day, period.end)
            if _available_during(physician, first, last):
                capacity += capacity_in_force(ledger, pid, month, default=default).month_share()
        yearly = ledger.yearly_capacity(pid, period.end.year)
        held = sum(ledger.used(pid, month) for month in months)
        activity = counts.get(pid, [0, 0, 0, 0])
        if not capacity and not held and not any(activity) and yearly is None:
            continue
        status = physician.status_on(period.end).label if physician is not None else ""
        rows.append(
            (
                pid,
                physician.name if physician is not None else "",
                physician.commune if physician is not None else "",
                status,
                places_number(capacity),
                held,
                share_of(held, float(capacity)),
                activity[0],
                activity[1],
                activity[2],
                activity[3],
                yearly,
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
            places_number(total_capacity),
            total_held,
            share_of(total_held, float(total_capacity)),
            *totals,
            None,
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
            "capacité annuelle",
        ),
        tuple(rows),
        "Capacité déclarée : somme, sur les mois de la période, de la capacité mensuelle en "
        "vigueur (registre des capacités, sinon celle de la politique), pour les mois où le "
        "médecin était disponible au moins un jour de la période ; un mois d'un médecin qui a "
        "déclaré une capacité par an compte pour un douzième de celle-ci (150 par an : 12,5 "
        "par mois ; avec aussi un plafond mensuel, le plus petit des deux), de sorte que les "
        "douze mois d'une année totalisent la capacité annuelle. Capacité annuelle : celle en "
        "vigueur l'année de la fin de la période. Places retenues : personnes "
        "comptées dans le registre des capacités ces mois-là. Propositions, acceptations et "
        "refus : événements datés dans la période.",
    )
    return table, places_number(total_capacity), total_held, totals[2]
