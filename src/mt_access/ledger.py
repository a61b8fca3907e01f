"""Append-only capacity ledger: what each GP can take, and has taken, month by month.

The ledger records three kinds of entries, never changed nor removed once recorded:

* :class:`CapacityDeclared`: a physician's intake capacity per month (``period="month"``) from a
  month onwards, or per calendar year (``period="year"``) from a year onwards, until a later
  declaration of the same period. Several declarations of one period for the same month (year):
  the last recorded wins. A declaration whose ``capacity`` is ``None`` *lifts* the cap of its
  period from then on (see below).
* :class:`PlacementRecorded`: persons (a patient or a household) placed with a physician,
  counted in one month.
* :class:`PlacementReleased`: an active placement is cancelled (e.g. the GP refused the patient);
  its persons are freed in the month where they were counted.

Rules enforced on every recording (methods, :meth:`CapacityLedger.record`,
:meth:`CapacityLedger.extend`, :meth:`CapacityLedger.from_entries`):

* no negative capacity, no placement of fewer than one person;
* a placement never exceeds what :meth:`CapacityLedger.remaining` returns when it is recorded;
* a (request, physician) pair has at most one active placement; the same request may be placed
  with *different* physicians at once (a household split among several GPs);
* only an active placement can be released; once released, the pair may be placed again.

Lowering a capacity below what is already used in a month is allowed: the placements stay and
``remaining`` is 0 for that month. ``remaining`` is never negative.

**Monthly and yearly capacities.** A GP may declare a monthly capacity, a yearly one (Québec:
150 new patients a year), or both; the two are enforced together:

* the *monthly cap* in force in a month is that of the latest monthly declaration up to that
  month; when there is none, it is the ``default`` capacity, *unless* a yearly capacity is in
  force that year: a GP who declared only a yearly capacity has no monthly cap;
* the *yearly cap* in force in a calendar year is that of the latest yearly declaration whose
  year is ``<=`` that year (none: no yearly cap). A yearly declaration is for whole calendar
  years (its ``month`` is January): declared in July, it covers the placements already counted
  from January on;
* a placement counts in its month and in the calendar year of that month;
* ``remaining(month) = max(0, min(monthly room, yearly room))`` where the monthly room is
  ``cap + carried - used(month)`` (no monthly cap: unbounded) and the yearly room is
  ``yearly cap - used(year)`` (no yearly cap: unbounded).

**Lifting a cap** (the way back from one period to the other): a monthly declaration with
``capacity=None`` ends the monthly declarations from its month on: the month is then as if no
monthly capacity had ever been declared (no monthly cap while a yearly capacity is in force,
else the ``default``); a yearly declaration with ``capacity=None`` ends the yearly cap from its
calendar year on (the whole year, like a yearly declaration). So a GP is never left without any
cap: with neither cap in force, the ``default`` applies.

Carry-over (below) concerns the monthly cap only: a month without a monthly cap carries nothing
over, and nothing is carried from one year to the next for a yearly cap.

**Carry-over** (``carry_over=True``): the previous month's own unused capacity,
``max(0, capacity(prev) - used(prev))``, is added to the month's capacity. It is one month deep,
not cumulative: what was unused two months ago is lost, and what the previous month itself
received from the month before does not pass on.

Error messages are in French and name physician ids, request ids, months and numbers, never the
free-text ``note``/``reason`` fields nor any patient data.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Iterable, Mapping

import attrs

from mt_access.calendar import Month
from mt_access.errors import CapacityExceededError, LedgerError
from mt_access.ledger_entries import (
    CapacityDeclared,
    LedgerEntry,
    Period,
    PlacementRecorded,
    PlacementReleased,
    check_int,
)

__all__ = [
    "CapacityDeclared",
    "CapacityLedger",
    "LedgerEntry",
    "Period",
    "PlacementRecorded",
    "PlacementReleased",
]


# --- the ledger


def _ordinal(month: Month) -> int:
    """Months as consecutive integers: cheaper to hash and compare than ``Month``."""
    return month.year * 12 + month.month - 1


def _require_month(month: object) -> Month:
    if not isinstance(month, Month):
        raise TypeError(f"month : Month attendu, reçu {type(month).__name__}")
    return month


def _require_default(default: object, physician_id: str) -> int:
    number = check_int(default, "capacité par défaut")
    if number < 0:
        raise LedgerError(
            f"capacité par défaut invalide pour le médecin {physician_id} : "
            f"{number} (entier >= 0 attendu)"
        )
    return number


@attrs.define(repr=False)
class CapacityLedger:
    """Append-only record of GP capacities and placements, with indexed queries.

    Construct it empty (``CapacityLedger()``) or from recorded entries
    (:meth:`from_entries`). Two ledgers are equal when they hold the same entries in the same
    order. Every query is a few dictionary look-ups (plus a binary search over the physician's
    declared months for :meth:`capacity`); recording one entry is amortised O(1) (plus the
    insertion of a newly declared month into the physician's sorted months).

    Attributes:
        _entries: every entry, in recording order; the only source of truth, the other
            fields are indexes derived from it.
        _entries_view: cached tuple of ``_entries`` (``None`` after an append).
        _declared: per physician, declared monthly capacity per month ordinal (last recorded
            wins; ``None``: the monthly cap lifted).
        _declared_months: per physician, the month ordinals of ``_declared``, sorted.
        _yearly: per physician, declared yearly capacity per year (last recorded wins;
            ``None``: the yearly cap lifted).
        _yearly_years: per physician, the years of ``_yearly``, sorted.
        _used: persons of active placements per (physician, month ordinal); absent means 0.
        _used_year: persons of active placements per (physician, year); absent means 0.
        _active: the active placement of each (physician, request) pair, in recording order.
        _by_request: active placements per request id, in recording order.
        _by_slot: active placements per (physician, month ordinal), keyed by request id, in
            recording order.
        _own_slots: the slots of ``_by_slot`` whose dictionary this ledger alone holds;
            the others are shared with copies (:meth:`copy`) and copied before a change.
        _own_caps: the physicians whose entries of ``_declared``, ``_declared_months``,
            ``_yearly`` and ``_yearly_years`` this ledger alone holds (as ``_own_slots``).
    """

    _entries: list[LedgerEntry] = attrs.field(init=False, factory=list)
    _entries_view: tuple[LedgerEntry, ...] | None = attrs.field(init=False, default=(), eq=False)
    _declared: dict[str, dict[int, int | None]] = attrs.field(init=False, factory=dict, eq=False)
    _declared_months: dict[str, list[int]] = attrs.field(init=False, factory=dict, eq=False)
    _yearly: dict[str, dict[int, int | None]] = attrs.field(init=False, factory=dict, eq=False)
    _yearly_years: dict[str, list[int]] = attrs.field(init=False, factory=dict, eq=False)
    _used: dict[tuple[str, int], int] = attrs.field(init=False, factory=dict, eq=False)
    _used_year: dict[tuple[str, int], int] = attrs.field(init=False, factory=dict, eq=False)
    _active: dict[tuple[str, str], PlacementRecorded] = attrs.field(
        init=False, factory=dict, eq=False
    )
    _by_request: dict[str, tuple[PlacementRecorded, ...]] = attrs.field(
        init=False, factory=dict, eq=False
    )
    _by_slot: dict[tuple[str, int], dict[str, PlacementRecorded]] = attrs.field(
        init=False, factory=dict, eq=False
    )
    _own_slots: set[tuple[str, int]] = attrs.field(init=False, factory=set, eq=False)
    _own_caps: set[str] = attrs.field(init=False, factory=set, eq=False)

    # -- construction

    @classmethod
    def from_entries(
        cls,
        entries: Iterable[LedgerEntry],
        *,
        default_capacity: Mapping[str, int] | None = None,
        carry_over: bool = False,
    ) -> CapacityLedger:
        """Replay ``entries`` with full validation, as :meth:`extend` does.

        ``default_capacity`` and ``carry_over`` must be those used when the entries were first
        recorded (they are not stored in the entries); replaying with ``carry_over=True``
        accepts everything recorded with or without it.

        Raises:
            LedgerError: an entry breaks a rule (CapacityExceededError for over-capacity).
        """
        ledger = cls()
        ledger.extend(entries, default_capacity=default_capacity, carry_over=carry_over)
        return ledger

    @classmethod
    def from_trusted_entries(cls, entries: Iterable[LedgerEntry]) -> CapacityLedger:
        """Rebuild a ledger from entries that were validated when first recorded, e.g. read
        back from a register: the indexes are rebuilt without checking capacities again (the
        default capacities and the carry-over rule in force then may have changed since).

        Raises:
            LedgerError: a release without an active placement to cancel, or a second active
                placement of the same request with the same GP (the entries are not a
                ledger's history).
        """
        ledger = cls()
        ledger.extend_trusted(entries)
        return ledger

    def extend_trusted(self, entries: Iterable[LedgerEntry]) -> None:
        """Add entries recorded after this ledger's, validated when first recorded (e.g. read
        back from a register after the ones already here), as :meth:`from_trusted_entries`
        does: ``ledger.extend_trusted(later)`` gives the same ledger as
        ``from_trusted_entries([*ledger.entries, *later])``.

        Raises:
            LedgerError: a release without an active placement to cancel, or a second active
                placement of the same request with the same GP; the entries before it are
                added, not the others.
        """
        start = len(self._entries)
        for i, entry in enumerate(entries, start):
            if isinstance(entry, PlacementReleased) and (
                (entry.physician_id, entry.request_id) not in self._active
            ):
                raise LedgerError(
                    f"entrée {i + 1} : libération sans placement actif du dossier "
                    f"{entry.request_id} chez le médecin {entry.physician_id}"
                )
            if isinstance(entry, PlacementRecorded) and (
                (entry.physician_id, entry.request_id) in self._active
            ):
                raise LedgerError(
                    f"entrée {i + 1} : second placement actif du dossier {entry.request_id} "
                    f"chez le médecin {entry.physician_id}"
                )
            self._rebuild_one(entry)

    def _rebuild_one(self, entry: LedgerEntry) -> None:
        if isinstance(entry, PlacementRecorded):
            self._commit_placement(entry)
        elif isinstance(entry, PlacementReleased):
            self._commit_release(entry, self._active[entry.physician_id, entry.request_id])
        else:
            self._commit_declared(entry)

    def copy(self) -> CapacityLedger:
        """An independent ledger with the same entries (no revalidation).

        The per-physician and per-slot containers are shared by both ledgers until one of
        them changes its own (copy on write): a copy costs the top-level dictionaries only
        (a register copies the ledger at each operation)."""
        new = CapacityLedger()
        new._entries = self._entries.copy()
        new._entries_view = self._entries_view
        new._declared = self._declared.copy()
        new._declared_months = self._declared_months.copy()
        new._yearly = self._yearly.copy()
        new._yearly_years = self._yearly_years.copy()
        new._used = self._used.copy()
        new._used_year = self._used_year.copy()
        new._active = self._active.copy()
        new._by_request = self._by_request.copy()  # values are immutable tuples
        new._by_slot = self._by_slot.copy()
        # now shared with ``new``: either copies a container before changing it
        self._own_slots.clear()
        self._own_caps.clear()
        return new

    def __repr__(self) -> str:
        return f"<CapacityLedger: {len(self._entries)} entrée(s)>"

    # -- queries

    @property
    def entries(self) -> tuple[LedgerEntry, ...]:
        """Every entry, in recording order."""
        view = self._entries_view
        if view is None:
            view = self._entries_view = tuple(self._entries)
        return view

    def capacity(self, physician_id: str, month: Month, *, default: int = 0) -> int:
        """The monthly capacity declared for ``month``.

        That of the latest monthly declaration whose month is ``<= month`` (for the same month,
        the last recorded); ``default`` when the physician declared no monthly capacity up to
        ``month`` or lifted it (``capacity=None``). Yearly declarations are not read: see
        :meth:`monthly_cap` for the monthly cap actually enforced and :meth:`yearly_capacity`
        for the yearly one.
        """
        default = _require_default(default, physician_id)
        return self._capacity_at(physician_id, _ordinal(_require_month(month)), default)

    def monthly_cap(self, physician_id: str, month: Month, *, default: int = 0) -> int | None:
        """The monthly cap enforced in ``month``: :meth:`capacity`, except ``None`` (no monthly
        cap) for a physician with a yearly capacity in force that year and no monthly
        declaration up to ``month`` (or a lifted one)."""
        default = _require_default(default, physician_id)
        return self._monthly_cap(physician_id, _ordinal(_require_month(month)), default)

    def yearly_capacity(self, physician_id: str, year: int) -> int | None:
        """The yearly capacity in force in calendar ``year``: that of the latest yearly
        declaration whose year is ``<= year``; ``None`` when there is none or it lifted the
        yearly cap."""
        return self._yearly_at(physician_id, check_int(year, "année"))

    def used(self, physician_id: str, month: Month) -> int:
        """Persons of the active (not released) placements counted in ``month``."""
        return self._used.get((physician_id, _ordinal(_require_month(month))), 0)

    def used_in_year(self, physician_id: str, year: int) -> int:
        """Persons of the active placements counted in the months of calendar ``year``."""
        return self._used_year.get((physician_id, check_int(year, "année")), 0)

    def remaining(
        self,
        physician_id: str,
        month: Month,
        *,
        default: int = 0,
        carry_over: bool = False,
    ) -> int:
        """Persons that can still be placed in ``month``: the smaller of the monthly room,
        ``cap + carried - used``, and the yearly room, ``yearly cap - used in the year``, never
        below 0 (a missing cap leaves its room unbounded; see the module docstring).

        ``carried`` is 0 unless ``carry_over`` is true; then it is the previous month's own
        unused monthly capacity, ``max(0, cap(prev) - used(prev))`` (0 when the previous month
        had no monthly cap): one month only, not cumulative. ``default`` is the monthly cap of
        a month with no monthly declaration up to it and no yearly capacity in force.
        """
        default = _require_default(default, physician_id)
        return self._remaining(physician_id, _ordinal(_require_month(month)), default, carry_over)

    def active_placements(
        self, *, month: Month | None = None, physician_id: str | None = None
    ) -> tuple[PlacementRecorded, ...]:
        """Active placements, in recording order, optionally only of a month and/or physician."""
        if month is not None and physician_id is not None:
            placed = self._by_slot.get((physician_id, _ordinal(_require_month(month))))
            return () if placed is None else tuple(placed.values())
        placements: Iterable[PlacementRecorded] = self._active.values()
        if month is not None:
            wanted = _require_month(month)
            placements = (p for p in placements if p.month == wanted)
        elif physician_id is not None:
            placements = (p for p in placements if p.physician_id == physician_id)
        return tuple(placements)

    def placement_of(self, request_id: str) -> tuple[PlacementRecorded, ...]:
        """The active placements of a request (several if split among GPs), in recording order."""
        return self._by_request.get(request_id, ())

    # -- recording

    def declare_capacity(
        self,
        physician_id: str,
        month: Month,
        capacity: int | None,
        on: dt.date,
        note: str = "",
        *,
        period: Period = "month",
    ) -> CapacityDeclared:
        """Record that ``physician_id`` accepts ``capacity`` persons a month from ``month`` on
        or, with ``period="year"``, ``capacity`` persons a calendar year from the year of
        ``month`` on (the entry's month is then January of that year). ``capacity=None`` lifts
        the cap of that period (see the module docstring).

        Raises:
            LedgerError: ``capacity`` is negative or above its bound, ``period`` unknown, or
                ``physician_id`` is empty.
        """
        if period == "year" and isinstance(month, Month):
            month = Month(month.year, 1)
        entry = CapacityDeclared(physician_id, month, capacity, on, note, period=period)
        self._commit_declared(entry)
        return entry

    def place(
        self,
        physician_id: str,
        month: Month,
        request_id: str,
        persons: int,
        on: dt.date,
        *,
        default: int = 0,
        carry_over: bool = False,
    ) -> PlacementRecorded:
        """Record ``persons`` placed with ``physician_id`` for ``request_id``, in ``month``.

        ``default`` and ``carry_over`` are passed to :meth:`remaining`.

        Raises:
            LedgerError: ``persons < 1``, or the pair (``request_id``, ``physician_id``)
                already has an active placement (checked first).
            CapacityExceededError: ``persons`` exceeds :meth:`remaining`.
        """
        entry = PlacementRecorded(physician_id, month, request_id, persons, on)
        self._place(entry, _require_default(default, physician_id), carry_over)
        return entry

    def release(
        self, physician_id: str, request_id: str, on: dt.date, reason: str = ""
    ) -> PlacementReleased:
        """Cancel the active placement of ``request_id`` with ``physician_id``.

        Its persons are freed in the month where they were counted.

        Raises:
            LedgerError: the pair has no active placement.
        """
        entry = PlacementReleased(physician_id, request_id, on, reason)
        self._commit_release(entry, self._check_release(entry))
        return entry

    def record(
        self,
        entry: LedgerEntry,
        *,
        default_capacity: Mapping[str, int] | None = None,
        carry_over: bool = False,
    ) -> None:
        """Validate ``entry`` exactly as the matching method would, then append it.

        For a placement, the default capacity is ``default_capacity.get(physician_id, 0)``.

        Raises:
            TypeError: ``entry`` is not a ledger entry.
            LedgerError: the entry breaks a rule (CapacityExceededError for over-capacity).
        """
        if isinstance(entry, PlacementRecorded):
            default = 0
            if default_capacity is not None:
                default = default_capacity.get(entry.physician_id, 0)
            self._place(entry, _require_default(default, entry.physician_id), carry_over)
        elif isinstance(entry, PlacementReleased):
            self._commit_release(entry, self._check_release(entry))
        elif isinstance(entry, CapacityDeclared):
            self._commit_declared(entry)
        else:
            raise TypeError(
                "entrée de registre attendue (CapacityDeclared, PlacementRecorded ou "
                f"PlacementReleased), reçu {type(entry).__name__}"
            )

    def extend(
        self,
        entries: Iterable[LedgerEntry],
        *,
        default_capacity: Mapping[str, int] | None = None,
        carry_over: bool = False,
    ) -> None:
        """Record ``entries`` in order (each validated as :meth:`record` does), all or nothing.

        If one entry fails, the ledger is left exactly as it was and the error propagates.
        ``entries`` is read to the end before anything is recorded.

        Each entry is validated against the ledger as extended by the entries before it, the
        ledger itself serving as the working copy: success costs no copy of the (possibly
        large) ledger; a failure truncates the entries back and rebuilds the indexes from
        them, O(size of the ledger), without revalidation.
        """
        batch = list(entries)
        mark = len(self._entries)
        try:
            for entry in batch:
                self.record(entry, default_capacity=default_capacity, carry_over=carry_over)
        except BaseException:
            if len(self._entries) != mark:
                self._rebuild(self._entries[:mark])
            raise

    # -- internals

    def _rebuild(self, entries: list[LedgerEntry]) -> None:
        """Reset the ledger to ``entries``, already validated, rebuilding every index."""
        self._entries = []
        self._entries_view = ()
        self._declared = {}
        self._declared_months = {}
        self._yearly = {}
        self._yearly_years = {}
        self._used = {}
        self._used_year = {}
        self._active = {}
        self._by_request = {}
        self._by_slot = {}
        self._own_slots = set()
        self._own_caps = set()
        for entry in entries:
            self._rebuild_one(entry)

    def _declared_at(self, physician_id: str, month: int) -> int | None:
        """The latest monthly declaration up to ``month``; ``None`` for none or a lift."""
        caps = self._declared.get(physician_id)
        if caps is None:
            return None
        if month in caps:
            return caps[month]
        months = self._declared_months[physician_id]
        i = bisect.bisect_right(months, month)
        return caps[months[i - 1]] if i else None

    def _capacity_at(self, physician_id: str, month: int, default: int) -> int:
        found = self._declared_at(physician_id, month)
        return default if found is None else found

    def _yearly_at(self, physician_id: str, year: int) -> int | None:
        caps = self._yearly.get(physician_id)
        if caps is None:
            return None
        if year in caps:
            return caps[year]
        years = self._yearly_years[physician_id]
        i = bisect.bisect_right(years, year)
        return caps[years[i - 1]] if i else None

    def _monthly_cap(self, physician_id: str, month: int, default: int) -> int | None:
        found = self._declared_at(physician_id, month)
        if found is not None:
            return found
        if physician_id in self._yearly and self._yearly_at(physician_id, month // 12) is not None:
            return None
        return default

    def _remaining(self, physician_id: str, month: int, default: int, carry_over: bool) -> int:
        cap = self._monthly_cap(physician_id, month, default)
        room: int | None = None
        if cap is not None:
            available = cap
            if carry_over:
                previous = month - 1
                before = self._monthly_cap(physician_id, previous, default)
                if before is not None:
                    available += max(0, before - self._used.get((physician_id, previous), 0))
            room = available - self._used.get((physician_id, month), 0)
        if physician_id in self._yearly:
            year = month // 12
            yearly = self._yearly_at(physician_id, year)
            if yearly is not None:
                yearly_room = yearly - self._used_year.get((physician_id, year), 0)
                room = yearly_room if room is None else min(room, yearly_room)
        # room is None only when no cap applies, which ``_monthly_cap`` rules out.
        return max(0, 0 if room is None else room)

    def _append(self, entry: LedgerEntry) -> None:
        self._entries.append(entry)
        self._entries_view = None

    def _own_caps_of(self, pid: str) -> None:
        """Make ``pid``'s declarations this ledger's own (copied if shared with a copy)."""
        if pid in self._own_caps:
            return
        for caps in (self._declared, self._yearly):
            if pid in caps:
                caps[pid] = dict(caps[pid])
        for months in (self._declared_months, self._yearly_years):
            if pid in months:
                months[pid] = list(months[pid])
        self._own_caps.add(pid)

    def _own_slot(self, slot: tuple[str, int]) -> dict[str, PlacementRecorded] | None:
        """The slot's placements, made this ledger's own (copied if shared with a copy)."""
        placed = self._by_slot.get(slot)
        if placed is not None and slot not in self._own_slots:
            placed = self._by_slot[slot] = dict(placed)
            self._own_slots.add(slot)
        return placed

    def _commit_declared(self, entry: CapacityDeclared) -> None:
        pid, month = entry.physician_id, _ordinal(entry.month)
        self._own_caps_of(pid)
        if entry.period == "year":
            year = entry.month.year
            yearly = self._yearly.setdefault(pid, {})
            if year not in yearly:
                bisect.insort(self._yearly_years.setdefault(pid, []), year)
            yearly[year] = entry.capacity
            self._append(entry)
            return
        caps = self._declared.setdefault(pid, {})
        if month not in caps:
            bisect.insort(self._declared_months.setdefault(pid, []), month)
        caps[month] = entry.capacity
        self._append(entry)

    def _place(self, entry: PlacementRecorded, default: int, carry_over: bool) -> None:
        """Check the placement rules, then record ``entry``."""
        pid, rid = entry.physician_id, entry.request_id
        current = self._active.get((pid, rid))
        if current is not None:
            raise LedgerError(
                f"le dossier {rid} a déjà un placement actif chez le médecin {pid} "
                f"({current.persons} personne(s) en {current.month}) ; "
                "libérez-le avant de le placer à nouveau"
            )
        left = self._remaining(pid, _ordinal(entry.month), default, carry_over)
        if entry.persons > left:
            raise CapacityExceededError(pid, str(entry.month), entry.persons, left)
        self._commit_placement(entry)

    def _commit_placement(self, entry: PlacementRecorded) -> None:
        pid, rid = entry.physician_id, entry.request_id
        slot = (pid, _ordinal(entry.month))
        self._used[slot] = self._used.get(slot, 0) + entry.persons
        year = (pid, entry.month.year)
        self._used_year[year] = self._used_year.get(year, 0) + entry.persons
        self._active[pid, rid] = entry
        by_request = self._by_request.get(rid)
        self._by_request[rid] = (entry,) if by_request is None else (*by_request, entry)
        placed = self._own_slot(slot)
        if placed is None:
            self._by_slot[slot] = {rid: entry}
            self._own_slots.add(slot)
        else:
            placed[rid] = entry
        self._entries.append(entry)
        self._entries_view = None

    def _check_release(self, entry: PlacementReleased) -> PlacementRecorded:
        placement = self._active.get((entry.physician_id, entry.request_id))
        if placement is None:
            raise LedgerError(
                f"aucun placement actif du dossier {entry.request_id} chez le médecin "
                f"{entry.physician_id} : rien à libérer"
            )
        return placement

    def _commit_release(self, entry: PlacementReleased, placement: PlacementRecorded) -> None:
        pid, rid = placement.physician_id, placement.request_id
        slot = (pid, _ordinal(placement.month))
        left = self._used[slot] - placement.persons
        if left:
            self._used[slot] = left
        else:
            del self._used[slot]
        year = (pid, placement.month.year)
        left = self._used_year[year] - placement.persons
        if left:
            self._used_year[year] = left
        else:
            del self._used_year[year]
        del self._active[pid, rid]
        rest = tuple(p for p in self._by_request[rid] if p is not placement)
        if rest:
            self._by_request[rid] = rest
        else:
            del self._by_request[rid]
        placed = self._own_slot(slot)
        assert placed is not None
        del placed[rid]
        if not placed:
            del self._by_slot[slot]
            self._own_slots.discard(slot)
        self._append(entry)
