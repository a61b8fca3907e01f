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
Int32Array = npt.NDArray[np.int32]
Int8Array = npt.NDArray[np.int8]

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
        already read taken from this one rather than read again (the coded ones renumbered
        as the subset would number them; no list of Python objects but the requests and
        their ids is copied)."""
        picked = rows.tolist()
        requests = self.requests
        sub = RequestTable(list(map(requests.__getitem__, picked)))
        known = self.__dict__
        if "ids" in known:
            sub.__dict__["ids"] = list(map(known["ids"].__getitem__, picked))
        for name in self._CARRIED:
            if name in known:
                sub.__dict__[name] = known[name][rows]
        if "_communes" in known:
            index, communes = known["_communes"]
            sub.__dict__["_communes"] = _first_seen(index[rows], communes)
        if "_declined" in known:
            sets, declined = known["_declined"]
            codes, kept = _first_seen(declined[rows], sets, first=0)  # the empty set first
            sub.__dict__["_declined"] = (kept, codes)
        return sub

    def release(self) -> None:
        """Forget every column read so far but the ids (a column asked again is read again
        from the requests): what :func:`mt_access.match` does once it has taken the columns
        it routes with, so that the others (birth dates, flags, order key columns, the lists
        they were read from) do not stay for the whole run."""
        for name in [n for n in self.__dict__ if n not in ("requests", "ids")]:
            del self.__dict__[name]

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
    def birth(self) -> Int32Array:
        """The patient's birth date as a proleptic ordinal (``int32``: dates up to the year
        9999 are below 3.7 million)."""
        return np.fromiter(
            map(_ordinal, map(_birth_date, self._patients)), np.int32, len(self.requests)
        )

    @cached_property
    def _birth(self) -> tuple[npt.NDArray[np.int16], npt.NDArray[np.int16]]:
        # the year and month * 100 + day, narrow (4 bytes a request, not 16)
        days = (self.birth.astype(np.int64) - _EPOCH).astype("datetime64[D]")
        years = days.astype("datetime64[Y]")
        months = days.astype("datetime64[M]")
        month = (months - years).astype(np.int16) + 1
        day = (days - months).astype(np.int16) + 1
        del days, months
        return years.astype(np.int16) + 1970, month * 100 + day

    def ages(self, on: dt.date) -> IntArray:
        """Age in whole years on ``on`` (same rule as :func:`mt_access.model.age_on`)."""
        years, month_day = self._birth
        before_birthday = (on.month * 100 + on.day) < month_day
        return on.year - years.astype(np.int64) - before_birthday.astype(np.int64)

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
    def reason(self) -> Int8Array:
        """Index of the reason in ``list(SearchReason)`` (``int8``)."""
        codes = {r: i for i, r in enumerate(SearchReason)}
        return np.fromiter(
            map(codes.__getitem__, map(_reason, self.requests)), np.int8, len(self.requests)
        )

    @cached_property
    def home_visits(self) -> npt.NDArray[np.int64]:
        """Index of the need in ``list(HomeVisitNeed)`` (0 is no home visit)."""
        codes = {h: i for i, h in enumerate(HomeVisitNeed)}
        return np.fromiter(
            map(codes.__getitem__, map(_home_visits, self.requests)), np.int64, len(self.requests)
        )

    def _read_households(self, name: str) -> Int8Array:
        """Read both household columns at once (the list of households is not kept)."""
        households = list(map(_household, self.requests))
        n = len(households)  # int8: at most MAX_ADULTS and MAX_CHILDREN (mt_access.bounds)
        self.__dict__["adults"] = np.fromiter(map(_adults, households), np.int8, n)
        self.__dict__["children"] = np.fromiter(map(_children, households), np.int8, n)
        column: Int8Array = self.__dict__[name]
        return column

    @cached_property
    def adults(self) -> Int8Array:
        """Adults of each request's household (the patient included; ``int8``)."""
        return self._read_households("adults")

    @cached_property
    def children(self) -> Int8Array:
        """Children of each request's household (``int8``)."""
        return self._read_households("children")

    @property
    def persons(self) -> IntArray:
        """Persons of each request's household (the places it needs)."""
        return np.add(self.adults, self.children, dtype=np.int64)

    @cached_property
    def commune_codes(self) -> list[str]:
        """Each request's commune (INSEE code)."""
        return list(map(_commune, self._patients))

    @cached_property
    def _communes(self) -> tuple[IntArray, tuple[str, ...]]:
        # the list of codes is not kept (unless asked for itself): the index stands for it
        codes = self.__dict__.get("commune_codes") or list(map(_commune, self._patients))
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
    def _declined(self) -> tuple[tuple[frozenset[str], ...], IntArray]:
        refused: list[frozenset[str]] = list(map(_declined_by, self.requests))
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
    def received(self) -> Int32Array:
        """Received date as a proleptic ordinal (``int32``, as :attr:`birth`)."""
        ordinals = _Ordinals()  # a month's requests share few dates: each worked out once
        return np.fromiter(
            map(ordinals.__getitem__, map(_received, self.requests)), np.int32, len(self.requests)
        )


def _first_seen(
    codes: IntArray, values: tuple[T, ...], *, first: int | None = None
) -> tuple[IntArray, tuple[T, ...]]:
    """``codes`` (indexes into ``values``) renumbered into the values they use, in the order
    each first appears in ``codes`` (``first``, if given, before all and kept even if
    unused): what reading the coded column again from a subset's requests would give."""
    distinct, at = np.unique(codes, return_index=True)
    used = distinct[np.argsort(at, kind="stable")]
    if first is not None:
        used = np.concatenate((np.array([first], dtype=used.dtype), used[used != first]))
    number = np.zeros(len(values), dtype=np.int64)
    number[used] = np.arange(used.size, dtype=np.int64)
    return number[codes], tuple(map(values.__getitem__, used.tolist()))


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
