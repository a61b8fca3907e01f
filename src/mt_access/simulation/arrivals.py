"""Step 3 of a simulated month: the month's requests (and those of retiring GPs' patients),
received on their day, acknowledged, then waiting or no longer searching.
"""

from __future__ import annotations

from mt_access.calendar import Month
from mt_access.lifecycle import ExitReason, RequestFile
from mt_access.model import PreviousDoctor
from mt_access.simulation.events import (
    GPRetires,
    month_index,
)
from mt_access.simulation.generator import (
    ARRIVALS,
    EVENTS,
    Arrival,
    generate_requests,
    near_weights,
    rng_for,
)
from mt_access.simulation.state import SimulationState, Track, waiting_file

__all__ = ["ArrivalSteps"]


class ArrivalSteps(SimulationState):
    """The arrivals of the month."""

    def _regular_arrivals(self, i: int, month: Month) -> list[Arrival]:
        key = (self.s.territory, self.s.start, self.seed, self.s.patients, self.b, self.rep, i)
        cache = self.arrivals_cache
        if cache is not None and key in cache:
            return cache[key]
        b = self.b
        found = generate_requests(
            self.territory,
            self.s.patients,
            month,
            rng_for(self.seed, ARRIVALS, self.rep, i),
            id_prefix=f"D{month.year}{month.month:02d}",
            key=(ARRIVALS, self.rep, i),
            not_searching=b.not_searching,
            other_solution=b.other_solution,
            unreachable=b.unreachable,
        )
        if cache is not None:
            if len(cache) > 256:
                cache.clear()
            cache[key] = found
        return found

    def _cohort_arrivals(self, i: int, month: Month) -> list[Arrival]:
        found: list[Arrival] = []
        b = self.b
        cohort = -1
        for e_index, event in enumerate(self.s.events):
            if not isinstance(event, GPRetires):
                continue
            cohort += 1
            k = i - month_index(event.month, self.s.start)
            if not 0 <= k < event.spread_months:
                continue
            base, extra = divmod(event.patients_entering, event.spread_months)
            count = base + (1 if k < extra else 0)
            if count == 0:
                continue
            if event.physician_id is not None:
                gp = self._physician(event.physician_id, event)
                previous = PreviousDoctor(name=gp.name, commune=gp.commune)
                point = gp.location or self.reference.point(gp.commune)
            else:
                assert event.commune is not None
                previous = PreviousDoctor(name="", commune=event.commune)
                point = self.reference.point(event.commune)
            found.extend(
                generate_requests(
                    self.territory,
                    event.rates,
                    month,
                    rng_for(self.seed, EVENTS, self.rep, e_index, k),
                    id_prefix=f"E{e_index + 1}-{month.year}{month.month:02d}",
                    key=(EVENTS, self.rep, e_index, k),
                    count=count,
                    weights=near_weights(self.territory, point.lat, point.lon, event.radius_km),
                    cohort=cohort,
                    previous_mt=previous,
                    fragile_only=event.fragile_only,
                    not_searching=b.not_searching,
                    other_solution=b.other_solution,
                    unreachable=b.unreachable,
                )
            )
        return found

    def _arrivals(self, i: int, month: Month) -> int:
        arrivals = self._regular_arrivals(i, month) + self._cohort_arrivals(i, month)
        if not arrivals:
            return 0
        arrivals.sort(key=lambda a: (a.request.received, a.request.id))
        for arrival in arrivals:
            request = arrival.request
            received = request.received
            file: RequestFile | None = None
            if not self.keep_files:
                pass
            elif arrival.not_searching:
                file = RequestFile.from_request(request).acknowledge(received)
                file = file.not_searching(received)
            else:
                file = waiting_file(request.id, received)
            track = Track(arrival, request, file, i)
            self.tracks[request.id] = track
            if arrival.not_searching:
                track.end = received
                track.exit_reason = ExitReason.NOT_SEARCHING_ANYMORE
                continue
            self.active[request.id] = track
            self._schedule_exit(track, i)
        return len(arrivals)
