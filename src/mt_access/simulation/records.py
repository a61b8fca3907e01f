"""The records of a simulated run: what became of each request, the files at each month's end,
each GP's month, and the run itself (:class:`SimulationRun`). They import no other step of the
simulation: the metrics, frames and plots read them.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np
import numpy.typing as npt

from mt_access.calendar import Month
from mt_access.ledger import CapacityLedger
from mt_access.lifecycle import (
    ExitReason,
    RequestFile,
    RequestState,
)
from mt_access.model import Physician
from mt_access.result import MatchResult

if TYPE_CHECKING:
    from mt_access.simulation.scenario import Scenario

__all__ = [
    "ROUTE_LIST",
    "ROUTE_PROPOSAL",
    "ROUTE_PULL",
    "GPMonthLoad",
    "MonthState",
    "RequestOutcome",
    "RunSummary",
    "SimulationRun",
]


ROUTE_PROPOSAL = "proposition"
ROUTE_LIST = "liste"
ROUTE_PULL = "liste partagée"


@attrs.frozen
class RequestOutcome:
    """What became of one simulated request by the end of the simulation.

    Attributes:
        request_id: the request.
        parent_id: for the persons left of a household placed in part, the original request.
        received: the reception date (the original one for a continuation).
        commune: INSEE code of the patient's commune.
        persons: persons covered.
        level: its level (the policy's level name) in its first matching run, or on
            reception when it left before any; ``rank`` its rank.
        fragile: meets a Sud Est Grenoblois priority criterion (over 70, under 6, ALD,
            CSS/AME) on reception.
        cohort: the ``GPRetires`` cohort that brought it, else ``""``.
        state: its lifecycle state at the end (``MT_FOUND``, ``EXITED`` or ``WAITING``).
        exit_reason: why it exited, else ``None``.
        end: the date it exited, else ``None``.
        physician_id: the GP who accepted the patient (``MT_FOUND``).
        distance_km: the distance to that GP.
        route: how: ``proposition`` (placed by the engine and accepted), ``liste`` (a list
            the patient called) or ``liste partagée`` (a GP's pull list); ``""`` otherwise.
        persons_placed: persons placed with GPs for it.
    """

    request_id: str
    parent_id: str | None
    received: dt.date
    commune: str
    persons: int
    level: str
    rank: int
    fragile: bool
    cohort: str
    state: RequestState
    exit_reason: ExitReason | None
    end: dt.date | None
    physician_id: str | None
    distance_km: float | None
    route: str
    persons_placed: int

    @property
    def placed(self) -> bool:
        return self.state is RequestState.MT_FOUND

    @property
    def wait_days(self) -> int | None:
        """Days from reception to the GP's acceptance, for a placed request."""
        if self.state is not RequestState.MT_FOUND or self.end is None:
            return None
        return (self.end - self.received).days


@attrs.frozen
class MonthState:
    """The request files at the end of a simulated month.

    Attributes:
        month: the month.
        arrivals: requests received during the month (continuations not counted).
        continuations: continuations created during the month.
        files: request files created so far (arrivals and continuations).
        by_state: number of files in each lifecycle state, every state listed.
        exits: number of files exited so far, by exit reason, every reason listed.
        placed: requests whose patient found a GP through the scheme this month.
        persons_placed: persons placed with GPs this month (the ledger's active placements).
    """

    month: Month
    arrivals: int
    continuations: int
    files: int
    by_state: tuple[tuple[RequestState, int], ...]
    exits: tuple[tuple[ExitReason, int], ...]
    placed: int
    persons_placed: int

    def count(self, state: RequestState) -> int:
        return dict(self.by_state)[state]


@attrs.frozen
class GPMonthLoad:
    """One GP's month: the capacity offered and the persons placed.

    Attributes:
        physician_id: the GP.
        month: the month.
        available: active and accepting new patients on the day of the matching run.
        capacity: persons the GP could take that month (capacity in force, plus the
            carry-over when the policy has one); 0 when not available.
        used: persons placed with the GP, counted in that month.
    """

    physician_id: str
    month: Month
    available: bool
    capacity: int
    used: int


@attrs.frozen(eq=False)
class SimulationRun:
    """One replication of a scenario under a policy.

    Attributes:
        scenario: the scenario.
        policy_code: the policy's code; ``levels`` its level names, highest first.
        replication: the replication number.
        outcomes: what became of each request (:class:`RequestOutcome`), in creation order.
        months: the state of the files at the end of each month (:class:`MonthState`).
        loads: each GP's capacity and load, month by month (:class:`GPMonthLoad`).
        files: every request's lifecycle (:class:`~mt_access.RequestFile`), by request id.
        ledger: the capacity ledger at the end.
        physicians: the GPs at the end (with their status histories), sorted by id.
        results: each month's :class:`~mt_access.MatchResult` (placements with their French
            explanations, waiting requests with their reasons), in month order.
    """

    scenario: Scenario
    policy_code: str
    levels: tuple[str, ...]
    replication: int
    outcomes: tuple[RequestOutcome, ...]
    months: tuple[MonthState, ...]
    loads: tuple[GPMonthLoad, ...]
    files: dict[str, RequestFile]
    ledger: CapacityLedger
    physicians: tuple[Physician, ...]
    results: tuple[MatchResult, ...] = ()

    @property
    def end(self) -> dt.date:
        """The last simulated day."""
        return self.months[-1].month.last_day

    def summary(self) -> dict[tuple[str, str], float]:
        """The indicators of :data:`mt_access.simulation.INDICATORS`, by (group, indicator)."""
        from mt_access.simulation.metrics import summarise

        return summarise(self.outcomes, self.loads, self.levels, self.scenario.cohorts, self.end)

    # -- frames (pandas, imported on use)

    def to_frame(self) -> Any:
        """One row per request (:class:`RequestOutcome`), French column labels."""
        from mt_access.simulation.frames import outcomes_frame

        return outcomes_frame(self.outcomes)

    def monthly_frame(self) -> Any:
        """One row per month: arrivals, files by state, exits by reason, placements."""
        from mt_access.simulation.frames import months_frame

        return months_frame(self.months)

    def physicians_frame(self) -> Any:
        """One row per GP and month: availability, capacity offered, persons placed."""
        from mt_access.simulation.frames import loads_frame

        return loads_frame(self.loads)

    def summary_frame(self) -> Any:
        """The indicators as a table: one row per group, one column per indicator."""
        from mt_access.simulation.frames import summary_frame

        return summary_frame(self.summary())

    def plot(self, path: Any = None) -> Any:
        """The files by state, month by month (stacked areas); saved as PNG to ``path``
        when given. Returns the matplotlib ``Figure``."""
        from mt_access.simulation.plots import plot_run

        return plot_run(self, path)


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
