"""A GP's follow-up per month: for each of the last twelve months, the capacity declared, the
places held, the proposals, acceptances and refusals, as the monthly report's GPs' table
counts them (:func:`mt_access.indicators.gps.physician_table`).

Capacity and places come from the ledger alone (cheap: shown on the GP's page); proposals,
acceptances and refusals need the files of the requests with an event naming the GP in those
months (:meth:`~mt_access.store.base.Store.physician_requests`: the GP's few requests, not the
whole register; shown on the GP's follow-up page only)."""

from __future__ import annotations

import datetime as dt

import attrs

from mt_access.calendar import Month
from mt_access.engine import policy_plugin_manager
from mt_access.indicators.dataset import build_dataset
from mt_access.indicators.gps import physician_table
from mt_access.indicators.period import Period
from mt_access.model import Physician
from mt_access.register import Register

__all__ = ["FOLLOW_UP_MONTHS", "MonthFollowUp", "follow_up"]

FOLLOW_UP_MONTHS = 12
"""Months shown on a GP's page, the current one included."""


@attrs.frozen
class MonthFollowUp:
    """One month of a GP's follow-up (the report's columns for that GP and month)."""

    month: Month
    capacity: int | float
    held: int
    proposals: int
    acceptances: int
    refusals: int


def follow_up(
    register: Register,
    physician: Physician,
    on: dt.date,
    months: int = FOLLOW_UP_MONTHS,
    *,
    activity: bool = True,
) -> list[MonthFollowUp]:
    """``physician``'s last ``months`` months up to the month of ``on``, most recent first;
    without ``activity``, from the ledger alone (proposals, acceptances and refusals are 0)."""
    last = Month.of(on)
    chosen = [last]
    while len(chosen) < months:
        chosen.append(chosen[-1].previous())
    pm = policy_plugin_manager(register.policy, register.plugin_manager)
    if activity:
        # only the requests with an event naming this GP since the first month count in
        # their row of the report's table: the same figures as from the whole register
        store = register.store
        files = store.get_files(store.physician_requests(physician.id, chosen[-1].first_day))
        requests = [r for r in (store.get_request(rid) for rid in files) if r is not None]
        data = build_dataset(requests, files, register.policy, None, pm)
    else:
        data = build_dataset([], {}, register.policy, {}, pm)
    policy, ledger = register.policy, register.ledger
    rows = []
    for month in chosen:
        table, _, _, _ = physician_table(
            data, Period.month(month), policy, [physician], ledger, only=[physician.id]
        )
        row = next((r for r in table.rows if r[0] == physician.id), None)
        if row is None:
            rows.append(MonthFollowUp(month, 0, 0, 0, 0, 0))
            continue
        capacity, held = row[4], row[5]
        proposals, acceptances, refusals = row[7], row[8], row[10]
        rows.append(
            MonthFollowUp(
                month,
                capacity if isinstance(capacity, int | float) else 0,
                int(held or 0),  # type: ignore[arg-type]
                int(proposals or 0),  # type: ignore[arg-type]
                int(acceptances or 0),  # type: ignore[arg-type]
                int(refusals or 0),  # type: ignore[arg-type]
            )
        )
    return rows
