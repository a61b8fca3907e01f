"""What a match run returns: placements, orientations, waiting and rejected requests."""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
import operator
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, TypeVar, overload

import attrs

from mt_access.errors import MatchInputError
from mt_access.frame_base import FramesError, records_frame, table_frame
from mt_access.labels import LabelledEnum, register_labels
from mt_access.ledger import CapacityLedger, PlacementRecorded

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "RESOURCE_STATUSES",
    "RESULT_COLUMNS",
    "RESULT_PARTS",
    "AttachedResource",
    "Classification",
    "Eligibility",
    "LazySequence",
    "MatchResult",
    "Orientation",
    "OrientedPhysician",
    "Placement",
    "PullEntry",
    "PullList",
    "ReasonCode",
    "Rejected",
    "ScopeDecision",
    "Waiting",
    "format_km",
]


class ReasonCode(LabelledEnum):
    """Why a request is not placed; ``code.label`` is the French label."""

    NO_CONSENT = "no_consent"
    OUT_OF_TERRITORY = "out_of_territory"
    EXCLUDED_REASON = "excluded_reason"
    NO_ELIGIBLE_GP = "no_eligible_gp"
    CAPACITY_EXHAUSTED = "capacity_exhausted"
    BEYOND_MAX_DISTANCE = "beyond_max_distance"
    AWAITING_GP_CHOICE = "awaiting_gp_choice"
    HOUSEHOLD_TOO_LARGE = "household_too_large"
    AWAITING_RESOURCE = "awaiting_resource"


register_labels(
    {
        ReasonCode.NO_CONSENT: "consentement du patient absent",
        ReasonCode.OUT_OF_TERRITORY: "commune hors du territoire de la CPTS",
        ReasonCode.EXCLUDED_REASON: "motif de demande exclu du dispositif",
        ReasonCode.NO_ELIGIBLE_GP: "aucun médecin éligible (commune, modalités, statut)",
        ReasonCode.CAPACITY_EXHAUSTED: "capacité des médecins éligibles épuisée ce mois-ci",
        ReasonCode.BEYOND_MAX_DISTANCE: "médecins éligibles tous au-delà de la distance maximale",
        ReasonCode.AWAITING_GP_CHOICE: "en attente du choix d'un médecin (liste partagée)",
        ReasonCode.HOUSEHOLD_TOO_LARGE: (
            "aucun médecin éligible n'a assez de places pour tout le foyer"
        ),
        ReasonCode.AWAITING_RESOURCE: (
            "en attente de la réponse d'une ressource sollicitée avant le parcours vers un médecin"
        ),
    }
)


T = TypeVar("T")


class LazySequence(Sequence[T]):
    """A read-only sequence whose items are built when they are first read: what
    :func:`mt_access.match` gives as :attr:`MatchResult.waiting` when most of a large run's
    requests wait (a département's month: 240,000 :class:`Waiting` objects nobody may read;
    the register only counts them).

    It behaves as the tuple of its items: equal to that tuple (and to another sequence of
    this kind with the same items), with the same hash and ``repr``; ``+`` with a tuple gives
    a tuple; it is pickled and copied as a tuple. Its length is known without building
    anything; an item read by index is built alone; iterating, comparing, hashing or
    searching builds every item once and keeps them.

    Args:
        length: the number of items.
        one: builds item ``k`` (``0 <= k < length``).
        every: builds all the items, in order (the same values as ``one``; faster).
    """

    __slots__ = ("_every", "_items", "_length", "_one")

    def __init__(
        self, length: int, one: Callable[[int], T], every: Callable[[], Iterable[T]]
    ) -> None:
        self._length = length
        self._one: Callable[[int], T] | None = one
        self._every: Callable[[], Iterable[T]] | None = every
        self._items: tuple[T, ...] | None = None

    def items(self) -> tuple[T, ...]:
        """Every item, as a tuple (built on the first call, then kept)."""
        items = self._items
        if items is None:
            assert self._every is not None
            items = tuple(self._every())
            if len(items) != self._length:  # pragma: no cover - a builder's bug
                raise RuntimeError(
                    f"LazySequence: {len(items)} items built, {self._length} expected"
                )
            self._items = items
            self._one = self._every = None  # the builders' columns are no longer needed
        return items

    @property
    def built(self) -> bool:
        """Whether every item has been built (:meth:`items`)."""
        return self._items is not None

    def __len__(self) -> int:
        return self._length

    @overload
    def __getitem__(self, index: int) -> T: ...

    @overload
    def __getitem__(self, index: slice) -> tuple[T, ...]: ...

    def __getitem__(self, index: int | slice) -> T | tuple[T, ...]:
        items, one = self._items, self._one
        if items is not None or one is None:
            return self.items()[index]
        if isinstance(index, slice):
            return tuple(one(k) for k in range(*index.indices(self._length)))
        k = operator.index(index)
        if k < 0:
            k += self._length
        if not 0 <= k < self._length:
            raise IndexError("LazySequence index out of range")
        return one(k)

    def __iter__(self) -> Iterator[T]:
        return iter(self.items())

    def __reversed__(self) -> Iterator[T]:
        return reversed(self.items())

    def __contains__(self, value: object) -> bool:
        return value in self.items()

    def index(self, value: Any, start: int = 0, stop: int = sys.maxsize) -> int:
        return self.items().index(value, start, stop)

    def count(self, value: Any) -> int:
        return self.items().count(value)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, LazySequence):
            return self._length == other._length and self.items() == other.items()
        if isinstance(other, tuple):
            return self._length == len(other) and self.items() == other
        return NotImplemented

    def __ne__(self, other: object) -> bool:
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    def __hash__(self) -> int:
        return hash(self.items())

    def __add__(self, other: object) -> tuple[T, ...]:
        if isinstance(other, LazySequence | tuple):
            return self.items() + tuple(other)
        return NotImplemented

    def __radd__(self, other: object) -> tuple[Any, ...]:
        if isinstance(other, tuple):
            return other + self.items()
        return NotImplemented

    def __repr__(self) -> str:
        return repr(self.items())

    def __reduce__(self) -> tuple[type[tuple[T, ...]], tuple[tuple[T, ...]]]:
        return tuple, (self.items(),)


def format_km(km: float) -> str:
    """French formatting of a distance: ``3,2 km``."""
    return f"{km:.1f}".replace(".", ",") + " km"


@attrs.frozen
class ScopeDecision:
    """Outcome of the scope check: in scope, or rejected with a reason."""

    in_scope: bool
    reason: ReasonCode | None = None
    detail: str = ""

    @classmethod
    def accept(cls) -> ScopeDecision:
        return cls(True)

    @classmethod
    def reject(cls, reason: ReasonCode, detail: str = "") -> ScopeDecision:
        return cls(False, reason, detail)


@attrs.frozen
class Classification:
    """A request's priority level and the criteria that put it there.

    Attributes:
        level: the level's name (``policy.non_priority_level`` for non-priority requests).
        rank: 1 for the highest level; non-priority requests have the largest rank.
        priority: whether the level is one of the policy's priority levels.
        criteria: French labels of the criteria the request meets for that level.
    """

    level: str
    rank: int
    priority: bool
    criteria: tuple[str, ...] = ()


@attrs.frozen
class Placement:
    """A request (or part of a household) placed with a physician this month.

    Attributes:
        request_id: the request.
        physician_id: the physician who takes the patient(s).
        persons: places used (a household may use several).
        level: the request's level name; ``rank`` its rank.
        criteria: French labels of the criteria that gave the level.
        distance_km: geodesic distance between the patient and the practice.
        router: the router that made the placement.
        nearer_full: physicians eligible for the request, nearer than the chosen one, that had
            no place left: the reason this physician and not another.
        explanation: the whole explanation in French.

    The physicians eligible for the request are on the run's result
    (:meth:`MatchResult.eligible`, :meth:`MatchResult.eligible_count`).
    """

    request_id: str
    physician_id: str
    persons: int
    level: str
    rank: int
    criteria: tuple[str, ...]
    distance_km: float
    router: str
    nearer_full: tuple[str, ...] = ()
    explanation: str = ""


@attrs.frozen
class OrientedPhysician:
    """A physician listed in an orientation (name, commune, distance).

    Attributes:
        places_left: the GP's places left this month when the list was made (``k_nearest``);
            ``None`` when the router does not say (``orientation``).
    """

    physician_id: str
    name: str
    commune: str
    distance_km: float
    places_left: int | None = None


@attrs.frozen
class Orientation:
    """A request answered with a list: physicians to contact and other resources.

    Produced by the ``orientation`` router (the GPs of the patient's commune and the policy's
    resources) and the ``k_nearest`` router (the k nearest eligible GPs; no capacity is used
    until one of them accepts).
    """

    request_id: str
    level: str
    rank: int
    router: str
    physicians: tuple[OrientedPhysician, ...]
    resources: tuple[str, ...] = ()
    explanation: str = ""


RESOURCE_STATUSES: dict[str, str] = {
    "attached": "associée à la demande",
    "instead": "proposée à la place d'un médecin",
    "awaiting": "en attente de sa réponse",
    "answered": "réponse reçue",
    "expired": "délai d'attente de sa réponse écoulé",
}
"""The :attr:`AttachedResource.status` values and their French labels."""


@attrs.frozen
class AttachedResource:
    """A resource of the policy involved for a request in a run (its conditions hold).

    Attributes:
        request_id: the request.
        name, kind, contact: the resource (as the policy names it).
        mode: ``alongside``, ``instead`` or ``before``.
        status: one of :data:`RESOURCE_STATUSES`: ``attached`` (alongside), ``instead``,
            ``awaiting`` (before, the request is held), ``answered`` or ``expired`` (before,
            the request entered its GP path).
        involved_on: the date of the first run that involved it for this request.
        first_time: whether this run is that first one (the register then records the
            event ``resource_involved``).
        until: for ``before`` with ``wait_days``, the date the request stops waiting.
        criteria: French labels of the resource's ``when`` criteria the request meets.
    """

    request_id: str
    name: str
    mode: str
    status: str
    involved_on: dt.date
    kind: str = ""
    contact: str = ""
    first_time: bool = False
    until: dt.date | None = None
    criteria: tuple[str, ...] = ()

    @property
    def status_label(self) -> str:
        return RESOURCE_STATUSES[self.status]

    def describe(self) -> str:
        """« DAC (dispositif d'appui) – 01 02 03 04 05 »."""
        return describe_resource(self.name, self.kind, self.contact)


def describe_resource(name: str, kind: str, contact: str) -> str:
    """A resource on one line: « DAC (dispositif d'appui) – 01 02 03 04 05 »."""
    parts = [name]
    if kind:
        parts.append(f"({kind})")
    if contact:
        parts.append(f"– {contact}")
    return " ".join(parts)


@attrs.frozen
class Waiting:
    """A request in scope that stays on the waiting list, with the reason. The physicians
    eligible for the request are on the run's result (:meth:`MatchResult.eligible`,
    :meth:`MatchResult.eligible_count`)."""

    request_id: str
    level: str
    rank: int
    reason: ReasonCode
    persons: int = 1
    detail: str = ""

    @property
    def label(self) -> str:
        return self.reason.label


@attrs.frozen
class Rejected:
    """A request out of the scheme's scope (no consent, outside the territory, excluded)."""

    request_id: str
    reason: ReasonCode
    detail: str = ""

    @property
    def label(self) -> str:
        return self.reason.label


@attrs.frozen
class PullEntry:
    """One line of a physician's pull list: pseudonymised, no name, contact or birth date.

    Attributes:
        pseudonym: the request's stable pseudonym (the ``mt_access_pseudonym`` hook); the GP
            picks a request by it (:meth:`mt_access.Register.choose`).
        level: the request's level name; ``rank`` its rank.
        waiting_days: days since the request was received.
        commune: INSEE code of the patient's commune.
        age_band: the applicant's age band (:func:`mt_access.model.age_band`).
        persons: persons of the request still searching (those the GP would take).
        home_visits: the French label of the need for home visits.
        distance_km: distance between the patient and the GP's practice.
        level_label: the level in French for the GP (name, and the level's ``label``).
        commune_name: the commune's name (its INSEE code when the reference lacks it).
        urgent: care needed within a month.
        household: persons of the whole household (``0``: not known; the register fills
            it in :meth:`mt_access.Register.pull_lists`).
        extra: further ``(French label, text)`` columns shared with the GP, in order: the
            answers to the CPTS's own questions marked ``shareable``
            (:func:`mt_access.questions.shareable_answers`).
    """

    pseudonym: str
    level: str
    rank: int
    waiting_days: int
    commune: str
    age_band: str
    persons: int
    home_visits: str
    distance_km: float
    level_label: str = ""
    commune_name: str = ""
    urgent: bool = False
    household: int = 0
    extra: tuple[tuple[str, str], ...] = ()


@attrs.frozen
class PullList:
    """The ordered list of waiting requests a physician could take (``pull`` router).

    Attributes:
        physician_id: the GP.
        entries: the requests, highest level first, then in the policy's order.
        places_left: the GP's places left in the month when the list was made (``None``
            when the router does not say).
    """

    physician_id: str
    entries: tuple[PullEntry, ...]
    places_left: int | None = None


@attrs.frozen(repr=False)
class Eligibility:
    """The physicians eligible for each request placed (even partly) or left waiting in a
    match run: available, accepting the request's commune, serving its need for home visits,
    not having declined it, within its level's maximum distance, whatever their places left
    (the set the router chose from). Built once by :func:`mt_access.match`
    (:attr:`MatchResult.eligibility`); a value like any other: frozen, hashable, never changed.

    Attributes:
        request_ids: the requests, sorted and unique.
        counts: the number of physicians eligible for each, in the same order.
        physician_ids: the ids (sorted) of the physicians eligible for each, in the same
            order (requests of one cell share one tuple), or ``None`` when the run only
            counted them (``explain="counts"``).

    Raises:
        MatchInputError: ``request_ids`` not sorted or not unique, or ``counts`` or
            ``physician_ids`` not of their length.
    """

    request_ids: tuple[str, ...] = ()
    counts: tuple[int, ...] = ()
    physician_ids: tuple[tuple[str, ...], ...] | None = None

    def __attrs_post_init__(self) -> None:
        n = len(self.request_ids)
        if len(self.counts) != n or (
            self.physician_ids is not None and len(self.physician_ids) != n
        ):
            raise MatchInputError(
                f"éligibilité : {n} demandes, mais {len(self.counts)} nombres de médecins"
                + (
                    ""
                    if self.physician_ids is None
                    else f" et {len(self.physician_ids)} listes de médecins"
                )
            )
        ids = self.request_ids
        if not all(map(operator.lt, ids, itertools.islice(ids, 1, None))):
            raise MatchInputError(
                "éligibilité : les identifiants de demandes doivent être triés et uniques"
            )

    def _position(self, request_id: str) -> int | None:
        i = bisect.bisect_left(self.request_ids, request_id)
        if i < len(self.request_ids) and self.request_ids[i] == request_id:
            return i
        return None

    def of(self, request_id: str) -> tuple[str, ...] | None:
        """Ids (sorted) of the physicians eligible for ``request_id``; ``None`` if not
        listed (counts only, or a request not in the table)."""
        i = self._position(request_id)
        return None if i is None or self.physician_ids is None else self.physician_ids[i]

    def count(self, request_id: str) -> int | None:
        """How many physicians were eligible for ``request_id``; ``None`` for a request not
        in the table."""
        i = self._position(request_id)
        return None if i is None else self.counts[i]

    def __len__(self) -> int:
        return len(self.request_ids)

    def __contains__(self, request_id: object) -> bool:
        return isinstance(request_id, str) and self._position(request_id) is not None

    def __repr__(self) -> str:
        what = "counts" if self.physician_ids is None else "ids and counts"
        return f"Eligibility({len(self)} requests, {what})"


EMPTY_ELIGIBILITY = Eligibility()
"""The eligibility of a run that gave none (``explain="none"``)."""


@attrs.frozen
class MatchResult:
    """Everything a match run decided. Nothing here has been recorded yet.

    Attributes:
        on: the reference date of the run.
        month: the capacity month, ``YYYY-MM``.
        policy_code: the policy used.
        placements: sorted by request id, then physician id.
        orientations, waiting, rejected: sorted by request id. ``waiting`` is a tuple, or,
            when the run routed requests on the columnar path, a :class:`LazySequence`
            that builds its :class:`Waiting` objects when they are read and is equal to the
            tuple of them.
        pull_lists: sorted by physician id.
        attached_resources: the policy's conditional resources involved for each request,
            sorted by request id, then in the policy's order (:meth:`resources_for`).
        ledger_entries: the placements to record in the capacity ledger: use
            :meth:`record`.
        capacity_defaults: the monthly capacity the run used for each physician without a
            declaration in the ledger (``(physician id, capacity)``).
        carry_over: whether the policy carries unused capacity over.
        places_at_start: ``(physician id, places)`` for every physician given to the run,
            sorted by id: the places the run could use, before any placement — the month's
            places left in the ledger (capacity declared, else the physician's or the
            policy's default; carried-over places; yearly cap), 0 for a physician not
            available on ``on``. With the eligible sets (:attr:`eligibility`), what another
            tool needs to check the run.
        explain: what the run put in :attr:`eligibility`: ``"full"`` (the ids and number
            of the physicians eligible for every request placed or waiting), ``"counts"``
            (their number only) or ``"none"`` (nothing); see :func:`mt_access.match`.
        eligibility: the physicians eligible for each request placed or waiting
            (:class:`Eligibility`); read it with :meth:`eligible` and
            :meth:`eligible_count`.
    """

    on: dt.date
    month: str
    policy_code: str
    placements: tuple[Placement, ...] = ()
    orientations: tuple[Orientation, ...] = ()
    waiting: Sequence[Waiting] = ()
    rejected: tuple[Rejected, ...] = ()
    pull_lists: tuple[PullList, ...] = ()
    ledger_entries: tuple[PlacementRecorded, ...] = ()
    attached_resources: tuple[AttachedResource, ...] = ()
    capacity_defaults: tuple[tuple[str, int], ...] = ()
    carry_over: bool = False
    places_at_start: tuple[tuple[str, int], ...] = ()
    explain: str = "none"
    eligibility: Eligibility = EMPTY_ELIGIBILITY

    def eligible(self, request_id: str) -> tuple[str, ...] | None:
        """Ids (sorted) of the physicians eligible for a request placed or waiting in this
        run (:meth:`Eligibility.of`); ``None`` if the run did not list them
        (``explain`` other than ``"full"``) or the request was neither placed nor waiting."""
        return self.eligibility.of(request_id)

    def eligible_count(self, request_id: str) -> int | None:
        """How many physicians were eligible for a request placed or waiting in this run
        (:meth:`Eligibility.count`); ``None`` with ``explain="none"`` or for a request
        neither placed nor waiting."""
        return self.eligibility.count(request_id)

    def record(self, ledger: CapacityLedger) -> None:
        """Record the run's placements in ``ledger``, all or nothing, with the capacities
        the run used. Raises :class:`mt_access.CapacityExceededError` if the ledger changed
        since the run and the placements no longer fit (nothing is then recorded)."""
        ledger.extend(
            self.ledger_entries,
            default_capacity=dict(self.capacity_defaults),
            carry_over=self.carry_over,
        )

    def resources_for(self, request_id: str) -> tuple[AttachedResource, ...]:
        """The resources involved for ``request_id`` in this run, in the policy's order."""
        return tuple(a for a in self.attached_resources if a.request_id == request_id)

    def placements_of(self, request_id: str) -> tuple[Placement, ...]:
        return tuple(p for p in self.placements if p.request_id == request_id)

    def outcome_of(self, request_id: str) -> str:
        """``placed``, ``partly_placed``, ``oriented``, ``waiting``, ``rejected`` or ``unknown``."""
        placed = any(p.request_id == request_id for p in self.placements)
        waiting = any(w.request_id == request_id for w in self.waiting)
        if placed:
            return "partly_placed" if waiting else "placed"
        if waiting:
            return "waiting"
        if any(o.request_id == request_id for o in self.orientations):
            return "oriented"
        if any(r.request_id == request_id for r in self.rejected):
            return "rejected"
        return "unknown"

    def placed_by_level(self) -> dict[str, int]:
        """Persons placed per level name."""
        counts: Counter[str] = Counter()
        for p in self.placements:
            counts[p.level] += p.persons
        return dict(sorted(counts.items()))

    def rows(self) -> list[dict[str, object]]:
        """Every request of the run as one row of :data:`RESULT_COLUMNS` (placement,
        orientation, waiting or rejected, ``outcome`` saying which), sorted by request id."""
        rows: list[dict[str, object]] = []
        for name in RESULT_PARTS:
            for value in getattr(self, name):
                reason = getattr(value, "reason", None)
                physicians = getattr(value, "physicians", None)
                physician = getattr(value, "physician_id", None)
                if physician is None and physicians:
                    physician = ", ".join(p.physician_id for p in physicians)
                rows.append(
                    {
                        "request_id": value.request_id,
                        "outcome": _OUTCOMES[name],
                        "level": getattr(value, "level", None),
                        "rank": getattr(value, "rank", None),
                        "physician_id": physician,
                        "persons": getattr(value, "persons", None),
                        "distance_km": getattr(value, "distance_km", None),
                        "router": getattr(value, "router", None),
                        "reason": None if reason is None else reason.value,
                        "reason_label": None if reason is None else reason.label,
                        "detail": getattr(value, "detail", None),
                        "explanation": getattr(value, "explanation", None),
                    }
                )
        rows.sort(key=lambda row: (str(row["request_id"]), str(row["outcome"])))
        return rows

    def to_frame(self, part: str | None = None) -> pd.DataFrame:
        """The outcome as a pandas frame (also :func:`mt_access.frames.result_frame`): one
        row per placement, orientation, waiting and rejected request (columns
        :data:`RESULT_COLUMNS`), or one ``part`` alone (``"placements"``,
        ``"orientations"``, ``"waiting"``, ``"rejected"``) with all its attributes; placements
        and waiting requests also get ``eligible`` (the ids joined with ``", "``) and
        ``eligible_count`` from :attr:`eligibility`.
        Needs pandas (``pip install 'mt-access[analysis]'``).

        Raises:
            FramesError: an unknown part.
        """
        if part is not None:
            cls = RESULT_PARTS.get(part)
            if cls is None:
                known = ", ".join(RESULT_PARTS)
                raise FramesError(f"partie inconnue : {part!r} (parties : {known})")
            values = getattr(self, part)
            extra: dict[str, list[object]] | None = None
            if part in ("placements", "waiting"):
                extra = self._eligible_columns(v.request_id for v in values)
            return records_frame(values, cls, extra)
        return table_frame(self.rows(), RESULT_COLUMNS)

    def _eligible_columns(self, request_ids: Iterable[str]) -> dict[str, list[object]]:
        """The ``eligible`` (ids) and ``eligible_count`` cells of these requests."""
        table = self.eligibility
        where = dict(zip(table.request_ids, range(len(table)), strict=True))
        ids, counts = table.physician_ids, table.counts
        positions = [where.get(rid) for rid in request_ids]
        return {
            "eligible": [None if i is None or ids is None else ids[i] for i in positions],
            "eligible_count": [None if i is None else counts[i] for i in positions],
        }

    def load_by_physician(self) -> dict[str, int]:
        """Persons placed per physician in this run."""
        counts: Counter[str] = Counter()
        for p in self.placements:
            counts[p.physician_id] += p.persons
        return dict(sorted(counts.items()))


RESULT_PARTS: dict[str, type] = {
    "placements": Placement,
    "orientations": Orientation,
    "waiting": Waiting,
    "rejected": Rejected,
}
"""The parts of a :class:`MatchResult` :meth:`~MatchResult.to_frame` can give."""

RESULT_COLUMNS: tuple[str, ...] = (
    "request_id",
    "outcome",
    "level",
    "rank",
    "physician_id",
    "persons",
    "distance_km",
    "router",
    "reason",
    "reason_label",
    "detail",
    "explanation",
)
"""The columns of :meth:`MatchResult.to_frame`'s combined frame (the keys of
:meth:`MatchResult.rows`)."""

_OUTCOMES = {
    "placements": "placed",
    "orientations": "oriented",
    "waiting": "waiting",
    "rejected": "rejected",
}
