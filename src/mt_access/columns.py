"""Columnar views of many requests, for vectorised criteria and the decision hooks' column
forms (pure, no I/O).

Classifying a department's month (250,000 requests) one request and one criterion at a time
costs seconds in Python; criterion kinds may instead provide a vectorised test over a
:class:`RequestTable`, evaluated once for all requests. The decision hooks have column forms
too (``mt_access_check_scope_columns``...): they read a :class:`RequestTable` and answer
with :class:`Coded` answers or arrays, so that a match run reads each attribute of its
requests once and builds no object per request for its decisions.
"""

from __future__ import annotations

import datetime as dt
import itertools
import operator
from collections.abc import Iterator, Sequence
from functools import cached_property
from typing import Any, Generic, TypeVar

import attrs
import numpy as np
import numpy.typing as npt

from mt_access.model import HomeVisitNeed, Request, SearchReason

__all__ = ["Coded", "RequestTable"]

BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]

T = TypeVar("T")

_id = operator.attrgetter("id")
_patient = operator.attrgetter("patient")
_birth_date = operator.attrgetter("birth_date")
_reason = operator.attrgetter("reason")
_home_visits = operator.attrgetter("home_visits")
_household = operator.attrgetter("household")
_adults = operator.attrgetter("adults")
_children = operator.attrgetter("children")
_commune = operator.attrgetter("commune")
_location = operator.attrgetter("location")
_consent = operator.attrgetter("consent.given")
_declined_by = operator.attrgetter("declined_by")
_received = operator.attrgetter("received")
_ordinal = operator.methodcaller("toordinal")

_EPOCH = dt.date(1970, 1, 1).toordinal()


class RequestTable:
    """Columns of a sequence of requests, each read (in one pass over the requests) on first
    use and kept.

    Attributes:
        requests: the requests, in the given order (row ``i`` is ``requests[i]``).
    """

    _CARRIED = (
        "ald",
        "css",
        "ame",
        "disability_or_chronic",
        "urgent",
        "consent",
        "reason",
        "home_visits",
        "adults",
        "children",
        "received",
        "birth",
        "located",
    )
    """The array columns :meth:`take` carries over to a subset (the others are read again or
    worked out from these)."""

    def __init__(self, requests: Sequence[Request], *, ids: Sequence[str] | None = None) -> None:
        self.requests = requests
        if ids is not None:  # already read (they are the requests' ids, in the same order)
            self.__dict__["ids"] = ids

    def __len__(self) -> int:
        return len(self.requests)

    def take(self, rows: IntArray) -> RequestTable:
        """The table of the requests ``rows`` (indices, in that order), with the columns
        already read taken from this one rather than read again."""
        picked = rows.tolist()
        requests = self.requests
        sub = RequestTable(list(map(requests.__getitem__, picked)))
        known = self.__dict__
        for name in ("ids", "commune_codes", "_patients", "_households", "_refusals"):
            if name in known:
                sub.__dict__[name] = list(map(known[name].__getitem__, picked))
        for name in self._CARRIED:
            if name in known:
                sub.__dict__[name] = known[name][rows]
        return sub

    def _flag(self, name: str) -> BoolArray:
        return np.fromiter(map(operator.attrgetter(name), self.requests), bool, len(self.requests))

    @cached_property
    def ids(self) -> Sequence[str]:
        """The requests' ids."""
        return list(map(_id, self.requests))

    @cached_property
    def _patients(self) -> list[Any]:
        # read once: reading their attributes from this list is faster than through the
        # requests each time (``patient.commune``)
        return list(map(_patient, self.requests))

    @cached_property
    def birth(self) -> IntArray:
        """The patient's birth date as a proleptic ordinal."""
        return np.fromiter(
            map(_ordinal, map(_birth_date, self._patients)), np.int64, len(self.requests)
        )

    @cached_property
    def _birth(self) -> tuple[IntArray, IntArray]:
        days = (self.birth - _EPOCH).astype("datetime64[D]")
        years = days.astype("datetime64[Y]")
        months = days.astype("datetime64[M]")
        month = (months - years).astype(np.int64) + 1
        day = (days - months).astype(np.int64) + 1
        return years.astype(np.int64) + 1970, month * 100 + day

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
    def consent(self) -> BoolArray:
        """Whether the patient's consent is given."""
        return np.fromiter(map(_consent, self.requests), bool, len(self.requests))

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
    def _households(self) -> list[Any]:
        return list(map(_household, self.requests))

    @cached_property
    def adults(self) -> IntArray:
        """Adults of each request's household (the patient included)."""
        return np.fromiter(map(_adults, self._households), np.int64, len(self.requests))

    @cached_property
    def children(self) -> IntArray:
        return np.fromiter(map(_children, self._households), np.int64, len(self.requests))

    @property
    def persons(self) -> IntArray:
        """Persons of each request's household (the places it needs)."""
        return self.adults + self.children

    @cached_property
    def commune_codes(self) -> list[str]:
        """Each request's commune (INSEE code)."""
        return list(map(_commune, self._patients))

    @cached_property
    def _communes(self) -> tuple[IntArray, tuple[str, ...]]:
        codes = self.commune_codes
        commune_of = {code: k for k, code in enumerate(dict.fromkeys(codes))}  # first seen
        index = np.fromiter(map(commune_of.__getitem__, codes), np.int64, len(codes))
        return index, tuple(commune_of)

    @property
    def commune_index(self) -> IntArray:
        """Each request's commune as an index in :attr:`communes`."""
        return self._communes[0]

    @property
    def communes(self) -> tuple[str, ...]:
        """The requests' communes, each once, in the order they first appear."""
        return self._communes[1]

    @cached_property
    def commune(self) -> npt.NDArray[np.str_]:
        """Each request's commune (INSEE code), as texts."""
        index, communes = self._communes
        return np.array(communes, dtype="U5")[index] if communes else np.empty(0, dtype="U5")

    @cached_property
    def _refusals(self) -> list[frozenset[str]]:
        return list(map(_declined_by, self.requests))

    @cached_property
    def _declined(self) -> tuple[tuple[frozenset[str], ...], IntArray]:
        refused = self._refusals
        # the empty set first, then as first seen
        sets = {s: k for k, s in enumerate(dict.fromkeys(itertools.chain((frozenset(),), refused)))}
        return tuple(sets), np.fromiter(map(sets.__getitem__, refused), np.int64, len(refused))

    @property
    def declined(self) -> IntArray:
        """Each request's set of GPs who declined it, as an index in :attr:`declined_sets`."""
        return self._declined[1]

    @property
    def declined_sets(self) -> tuple[frozenset[str], ...]:
        """The sets of GPs who declined requests, each once: the empty set first, then in the
        order they first appear."""
        return self._declined[0]

    @cached_property
    def located(self) -> BoolArray:
        """Whether the patient has coordinates of their own."""
        return np.fromiter(
            map(operator.is_not, map(_location, self._patients), itertools.repeat(None)),
            bool,
            len(self.requests),
        )

    @cached_property
    def received(self) -> IntArray:
        """Received date as a proleptic ordinal."""
        ordinals = _Ordinals()  # a month's requests share few dates: each worked out once
        return np.fromiter(
            map(ordinals.__getitem__, map(_received, self.requests)), np.int64, len(self.requests)
        )


class _Ordinals(dict[dt.date, int]):
    """Dates' proleptic ordinals, each worked out on first use."""

    def __missing__(self, day: dt.date) -> int:
        ordinal = self[day] = day.toordinal()
        return ordinal


@attrs.frozen(eq=False)
class Coded(Generic[T]):
    """One answer per request given as the distinct answers and, for each request, the index
    of its own: how the column forms of the decision hooks answer
    (``mt_access_check_scope_columns``, ``mt_access_classify_columns``), without an object
    per request. Request ``i``'s answer is ``values[codes[i]]``.

    Attributes:
        codes: one index into ``values`` per request (integers).
        values: the distinct answers (a value may appear more than once; a value no request
            uses is allowed).
    """

    codes: IntArray
    values: tuple[T, ...] = attrs.field(converter=tuple)

    def __len__(self) -> int:
        return int(np.shape(self.codes)[0])

    def __getitem__(self, i: int) -> T:
        return self.values[int(self.codes[i])]

    def __iter__(self) -> Iterator[T]:
        return iter(self.tolist())

    def tolist(self) -> list[T]:
        """Each request's answer (the values shared, not copied)."""
        return list(map(self.values.__getitem__, np.asarray(self.codes).tolist()))

    @classmethod
    def of(cls, answers: Sequence[T]) -> Coded[T]:
        """The coded form of one answer per request (the distinct objects kept, by identity)."""
        distinct = dict(zip(map(id, answers), answers, strict=True))  # in C: no frame per answer
        index = {key: k for k, key in enumerate(distinct)}
        codes = np.fromiter(map(index.__getitem__, map(id, answers)), np.int64, len(answers))
        return cls(codes, tuple(distinct.values()))
