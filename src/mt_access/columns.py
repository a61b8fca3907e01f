"""A columnar view of many requests, for vectorised criteria (pure, no I/O).

Classifying a department's month (250,000 requests) one request and one criterion at a time
costs seconds in Python; criterion kinds may instead provide a vectorised test over a
:class:`RequestTable`, evaluated once for all requests.
"""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Sequence
from functools import cached_property

import numpy as np
import numpy.typing as npt

from mt_access.model import HomeVisitNeed, Request, SearchReason

__all__ = ["RequestTable"]

BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]


_birth_date = operator.attrgetter("patient.birth_date")
_year = operator.attrgetter("year")
_month = operator.attrgetter("month")
_day = operator.attrgetter("day")
_reason = operator.attrgetter("reason")
_home_visits = operator.attrgetter("home_visits")
_children = operator.attrgetter("household.children")
_commune = operator.attrgetter("patient.commune")
_received = operator.attrgetter("received")
_ordinal = operator.methodcaller("toordinal")


class RequestTable:
    """Columns of a sequence of requests, computed on first use.

    Attributes:
        requests: the requests, in the given order (row ``i`` is ``requests[i]``).
    """

    def __init__(self, requests: Sequence[Request]) -> None:
        self.requests = requests

    def __len__(self) -> int:
        return len(self.requests)

    def _flag(self, name: str) -> BoolArray:
        return np.fromiter(map(operator.attrgetter(name), self.requests), bool, len(self.requests))

    @cached_property
    def _birth(self) -> tuple[IntArray, IntArray]:
        n = len(self.requests)
        births = list(map(_birth_date, self.requests))
        years = np.fromiter(map(_year, births), np.int64, n)
        month_day = np.fromiter(map(_month, births), np.int64, n) * 100 + np.fromiter(
            map(_day, births), np.int64, n
        )
        return years, month_day

    def ages(self, on: dt.date) -> IntArray:
        """Age in whole years on ``on`` (same rule as :func:`mt_access.model.age_on`)."""
        years, month_day = self._birth
        before_birthday = (on.month * 100 + on.day) < month_day
        return on.year - years - before_birthday.astype(np.int64)

    @cached_property
    def ald(self) -> BoolArray:
        return self._flag("ald")

    @cached_property
    def css(self) -> BoolArray:
        return self._flag("css")

    @cached_property
    def ame(self) -> BoolArray:
        return self._flag("ame")

    @cached_property
    def disability_or_chronic(self) -> BoolArray:
        return self._flag("disability_or_chronic")

    @cached_property
    def urgent(self) -> BoolArray:
        return self._flag("urgent")

    @cached_property
    def reason(self) -> npt.NDArray[np.int64]:
        """Index of the reason in ``list(SearchReason)``."""
        codes = {r: i for i, r in enumerate(SearchReason)}
        return np.fromiter(
            map(codes.__getitem__, map(_reason, self.requests)), np.int64, len(self.requests)
        )

    @cached_property
    def home_visits(self) -> npt.NDArray[np.int64]:
        """Index of the need in ``list(HomeVisitNeed)`` (0 is no home visit)."""
        codes = {h: i for i, h in enumerate(HomeVisitNeed)}
        return np.fromiter(
            map(codes.__getitem__, map(_home_visits, self.requests)), np.int64, len(self.requests)
        )

    @cached_property
    def children(self) -> IntArray:
        return np.fromiter(map(_children, self.requests), np.int64, len(self.requests))

    @cached_property
    def commune(self) -> npt.NDArray[np.str_]:
        return np.array(list(map(_commune, self.requests)), dtype="U5")

    @cached_property
    def received(self) -> IntArray:
        """Received date as a proleptic ordinal."""
        return np.fromiter(
            map(_ordinal, map(_received, self.requests)), np.int64, len(self.requests)
        )
