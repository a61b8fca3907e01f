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

The package's modules follow those sections: :mod:`~mt_access.indicators.period`,
:mod:`~mt_access.indicators.dataset` (reading the data once),
:mod:`~mt_access.indicators.key_figures` (:class:`Indicators`),
:mod:`~mt_access.indicators.breakdowns` (by reason, level and referrer; the waiting list and the
waits), :mod:`~mt_access.indicators.gps`, :mod:`~mt_access.indicators.communes`,
:mod:`~mt_access.indicators.series` (the waiting list over time) and
:mod:`~mt_access.indicators.position` (a patient's position and an estimated wait);
:mod:`~mt_access.indicators.base` and :mod:`~mt_access.indicators.table` are what they share.
Every name is importable from ``mt_access.indicators`` as before (the private ones used by
:mod:`mt_access.workbook` and :mod:`mt_access.plots` included).
"""

from __future__ import annotations

from mt_access.indicators.base import ALL_LEVELS, IndicatorsError
from mt_access.indicators.base import EXIT_REASONS as EXIT_REASONS
from mt_access.indicators.base import Cell as Cell
from mt_access.indicators.breakdowns import reference_maps as reference_maps
from mt_access.indicators.dataset import Dataset as Dataset
from mt_access.indicators.dataset import _union as _union
from mt_access.indicators.dataset import period_needs as period_needs
from mt_access.indicators.dataset import reception_levels
from mt_access.indicators.dataset import register_dataset as register_dataset
from mt_access.indicators.dataset import series_needs as series_needs
from mt_access.indicators.gps import accepted_persons as accepted_persons
from mt_access.indicators.key_figures import Indicators, compute_indicators, indicators
from mt_access.indicators.key_figures import _indicators as _indicators
from mt_access.indicators.period import Period
from mt_access.indicators.position import (
    WaitEstimate,
    WaitingPosition,
    compute_waiting_position,
    waiting_position,
)
from mt_access.indicators.series import (
    WaitingListSeries,
    compute_waiting_list_series,
    waiting_list_series,
)
from mt_access.indicators.series import _series as _series
from mt_access.indicators.table import Table

# The dataset pipeline mt_access.workbook and mt_access.plots build on, under the private names
# they import from here (as before the split; the modules name them publicly).
_EXIT_REASONS = EXIT_REASONS
_reference_maps = reference_maps
_Dataset = Dataset
_period_needs = period_needs
_register_dataset = register_dataset
_series_needs = series_needs

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
