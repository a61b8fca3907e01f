"""The availability and demand map: waiting demand by commune and the GPs' places this month.

A CPTS shows its territory on one page (as some do with « CartoDispo »): the communes shaded
by the demand waiting for a GP per 1,000 inhabitants, and the volunteer GPs with the places
they have left this month. No patient is shown individually.

The data and the drawing are separate:

* :func:`build_availability_map` computes an :class:`AvailabilityMap` from plain values (the
  policy, the GPs, the capacity ledger, the listing lines of the requests, a date); it does no
  I/O besides reading the commune outlines bundled with mt-access, and reads no clock.
  :func:`availability_map` reads a :class:`~mt_access.register.Register` once and calls it.
* :meth:`AvailabilityMap.html` draws it as a self-contained HTML page (one Jinja2 template
  over Leaflet, with Leaflet's own files inlined: the page opens without internet access;
  the OpenStreetMap background needs it, and can be left out with ``tiles=None``);
  :meth:`AvailabilityMap.save` writes that page to a file; :meth:`AvailabilityMap.to_frame`
  gives pandas tables.

Definitions (see ``docs/carte.md``):

* **waiting demand of a commune**: the persons still searching (``RequestSummary.searching``:
  no MT found and no exit yet, a household's persons already placed left out) of the requests
  still in progress, i.e. in one of the active states of the lifecycle
  (:data:`~mt_access.lifecycle.ACTIVE_STATES`, the definition of the waiting list in
  :mod:`mt_access.indicators`), received on or before the map's date, whose patient lives in
  that commune. The states are those recorded in the register when it is read.
* **demand per 1,000 inhabitants**: waiting persons / population municipale (INSEE, from the
  commune reference) × 1,000; ``None`` when the population is unknown or zero.
* **a GP's places this month**: from the capacity ledger, for the month of the map's date:
  the monthly cap in force (:meth:`~mt_access.ledger.CapacityLedger.monthly_cap`, the policy's
  default when nothing is declared), the yearly capacity in force that calendar year and the
  places left in the year (:mod:`mt_access.capacity_view`: a GP with « 150 par an » shows
  « 150 par an (reste 37 en 2026) »), the places held
  (:meth:`~mt_access.ledger.CapacityLedger.used`: proposals and acceptances) and the places
  left (:meth:`~mt_access.ledger.CapacityLedger.remaining`, with the policy's carry-over rule).
  Active and suspended GPs are shown; GPs who withdrew are not.

Privacy: the drawn page never shows an exact number of waiting persons below
:data:`SMALL_COUNT` (« moins de 5 »), nor a rate that would give it away (the class of the
rate is shown instead); the shading uses the exact rate. The tables of
:meth:`AvailabilityMap.to_frame` hold the exact counts: they are for the CPTS's own use.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np
import shapely

from mt_access.calendar import Month
from mt_access.capacity_view import capacity_in_force
from mt_access.errors import MapError
from mt_access.geo.communes import CommuneReference, bundled_reference
from mt_access.geo.shapes import BUNDLED_DEPARTMENTS, CommuneShapes, bundled_shapes
from mt_access.ledger import CapacityLedger
from mt_access.lifecycle import ACTIVE_STATES
from mt_access.model import Modality, Physician, PhysicianStatus
from mt_access.policy import Policy
from mt_access.store.base import RequestSummary

if TYPE_CHECKING:
    import pandas as pd  # type: ignore[import-untyped, import-not-found, unused-ignore]

    from mt_access.register import Register

__all__ = [
    "MAP_PARTS",
    "MAX_CLASSES",
    "SMALL_COUNT",
    "AvailabilityMap",
    "CommuneDemand",
    "MapError",
    "PhysicianAvailability",
    "automatic_breaks",
    "availability_map",
    "build_availability_map",
]

SMALL_COUNT = 5
"""Below this number of waiting persons, the drawn map says « moins de 5 » instead of the
number, and gives the class of the rate instead of the rate."""

MAX_CLASSES = 6
"""The most classes the demand shading can have (colour scale: ColorBrewer BuPu)."""

MAP_PARTS = ("communes", "physicians")
"""The parts :meth:`AvailabilityMap.to_frame` can give."""

Geometry = Any
"""A shapely ``Polygon`` or ``MultiPolygon`` (shapely has no type annotations)."""


_SHOWN_STATUSES = frozenset({PhysicianStatus.ACTIVE, PhysicianStatus.SUSPENDED})


# ------------------------------------------------------------------------------------------
# Values


@attrs.frozen
class CommuneDemand:
    """The waiting demand of one commune.

    Attributes:
        insee: INSEE code of the commune.
        name: its name in the commune reference (empty when the reference does not know it).
        population: population municipale (INSEE), or ``None`` when unknown.
        waiting_persons: persons of the requests in progress from this commune (exact: the
            drawn map hides counts below :data:`SMALL_COUNT`).
        per_thousand: ``waiting_persons`` per 1,000 inhabitants, or ``None`` when the
            population is unknown or zero.
        has_outline: whether the commune's outline is known; without it the map draws a
            circle at the commune's point (or nothing when it has no point either).
        waiting_requests: requests in progress from this commune.
        in_territory: whether the commune is in the CPTS's territory (other communes appear
            only when requests in progress come from them).
        lat: latitude of the commune's point (chef-lieu), or ``None``.
        lon: longitude of the commune's point (chef-lieu), or ``None``.
    """

    insee: str
    name: str
    population: int | None
    waiting_persons: int
    per_thousand: float | None
    has_outline: bool
    waiting_requests: int = 0
    in_territory: bool = True
    lat: float | None = None
    lon: float | None = None


@attrs.frozen
class PhysicianAvailability:
    """A GP's places in the map's month.

    Attributes:
        physician_id: the CPTS's identifier of the GP.
        name: as shown to coordinators (``"Dr Martin"``).
        commune: INSEE code of the practice.
        lat: latitude of the practice (the commune's point when the practice has no
            coordinates), or ``None`` when neither is known (the GP is then not drawn).
        lon: longitude, as ``lat``.
        capacity: the monthly cap in force in the month; for a GP with a yearly capacity and no
            monthly cap, what the year allows this month (``used + remaining``).
        used: places held in the month (proposals and acceptances).
        remaining: places left in the month (with the policy's carry-over rule).
        status: participation on the map's date, in French (``"actif"``, ``"suspendu"``).
        modalities: how the GP receives new patients, in French (``"en cabinet"``,
            ``"visites à domicile"``).
        commune_name: name of the practice's commune.
        available: active and accepting new patients on the map's date.
        accepting_new_patients: the GP's declared willingness to take new patients.
        at_commune_point: the position is the commune's point, not the practice's.
        yearly_capacity: the yearly capacity in force in the month's calendar year (``None``:
            none).
        year_left: places left in that calendar year (``None`` without a yearly capacity).
        capacity_label: the capacity in French (« 10 par mois », « 150 par an (reste 37 en
            2026) »...).
    """

    physician_id: str
    name: str
    commune: str
    lat: float | None
    lon: float | None
    capacity: int
    used: int
    remaining: int
    status: str
    modalities: tuple[str, ...]
    commune_name: str = ""
    available: bool = True
    accepting_new_patients: bool = True
    at_commune_point: bool = False
    yearly_capacity: int | None = None
    year_left: int | None = None
    capacity_label: str = ""


@attrs.frozen
class AvailabilityMap:
    """The availability and demand map of a CPTS on a date.

    Attributes:
        policy_name: the CPTS's name (``"CPTS du Voironnais"``).
        month: the month whose places are shown (that of ``on``).
        on: the map's date.
        communes: the territory's communes, then the other communes from which requests in
            progress come, by INSEE code.
        physicians: the active and suspended GPs, by id.
        breaks: class edges of the demand per 1,000 inhabitants, increasing, from 0: class
            ``i`` holds the rates ``r`` with ``breaks[i] < r <= breaks[i + 1]`` (the last
            class also holds any rate above the last edge); empty when no commune has demand.
        outlines: outline (shapely geometry) of each commune that has one, by INSEE code.
        territory_outline: union of the territory communes' outlines, or ``None``.
        outline_source: where the outlines come from, for the map's attribution.
        notes: remarks in French shown with the legend (communes without outline...).
    """

    policy_name: str
    month: Month
    on: dt.date
    communes: tuple[CommuneDemand, ...]
    physicians: tuple[PhysicianAvailability, ...]
    breaks: tuple[float, ...]
    outlines: Mapping[str, Geometry] = attrs.field(factory=dict, eq=False, repr=False)
    territory_outline: Geometry | None = attrs.field(default=None, eq=False, repr=False)
    outline_source: str = ""
    notes: tuple[str, ...] = ()

    @property
    def month_label(self) -> str:
        """The month in French: ``"mars 2026"``."""
        return _month_label(self.month)

    @property
    def class_labels(self) -> tuple[str, ...]:
        """The legend's label of each class of :attr:`breaks`, in French
        (``"0,5 – 1,0 ‰"``; the last one ``"5,0 ‰ et plus"`` when a rate exceeds the last
        edge)."""
        if len(self.breaks) < 2:
            return ()
        decimals = _decimals(self.breaks)
        texts = [_fr_number(b, decimals) for b in self.breaks]
        labels = [f"{texts[i]} – {texts[i + 1]} ‰" for i in range(len(self.breaks) - 1)]
        rates = [c.per_thousand for c in self.communes if c.per_thousand is not None]
        if rates and max(rates) > self.breaks[-1]:
            labels[-1] = f"{texts[-2]} ‰ et plus"
        return tuple(labels)

    def class_of(self, rate: float | None) -> int | None:
        """The index of the class of ``rate`` in :attr:`breaks`, or ``None`` for no rate, a
        rate of 0 or no classes."""
        if rate is None or rate <= 0 or len(self.breaks) < 2:
            return None
        for i in range(len(self.breaks) - 1):
            if rate <= self.breaks[i + 1]:
                return i
        return len(self.breaks) - 2

    def to_frame(self, part: str = "communes") -> pd.DataFrame:
        """One row per commune (``part="communes"``) or per GP (``"physicians"``), with the
        attribute names as columns. pandas is imported on first use.

        The commune rows hold the exact counts: keep them within the CPTS.

        Args:
            part: ``"communes"`` or ``"physicians"``.

        Returns:
            A pandas DataFrame.

        Raises:
            MapError: ``part`` is not one of :data:`MAP_PARTS`.
        """
        from mt_access.frames import records_frame

        if part == "communes":
            return records_frame(self.communes, CommuneDemand)
        if part == "physicians":
            return records_frame(self.physicians, PhysicianAvailability)
        raise MapError(f"partie inconnue : {part!r} (parties : {', '.join(MAP_PARTS)})")

    def html(self, *, tiles: str | None = "OpenStreetMap") -> str:
        """The map as one self-contained HTML page (Leaflet inlined, no other script).

        The same map gives the same page, byte for byte.

        Args:
            tiles: the background map: ``"OpenStreetMap"`` (needs internet access when the
                page is opened; the map's own layers draw without it),
                ``"CartoDB Positron"`` (a light background; case, spaces and dots do not
                matter), or ``None`` for no background.

        Returns:
            The HTML text.

        Raises:
            MapError: an unknown tile provider ``tiles``.
        """
        from mt_access.maps._render import render_html

        return render_html(self, tiles=tiles)

    def save(self, path: str | os.PathLike[str], *, tiles: str | None = "OpenStreetMap") -> Path:
        """Write :meth:`html` to ``path`` (UTF-8), atomically: a temporary file in the same
        folder, renamed over ``path`` once complete, so that a reader never sees half a page.

        Args:
            path: the file to write (``carte.html``); its folder must exist.
            tiles: as for :meth:`html`.

        Returns:
            The path written.

        Raises:
            MapError: as for :meth:`html`.
            OSError: the file cannot be written.
        """
        target = Path(path)
        data = self.html(tiles=tiles).encode("utf-8")
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(tmp, 0o644)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return target


# ------------------------------------------------------------------------------------------
# French text


def _month_label(month: Month) -> str:
    """``"mars 2026"``."""
    return month.label


def _fr_number(value: float, decimals: int) -> str:
    """A number in French: decimal comma, no-break space between thousands."""
    text = f"{value:,.{decimals}f}"
    return text.replace(",", "\u00a0").replace(".", ",")


def _fr_int(value: int) -> str:
    """An integer in French, no-break space between thousands (``"28\u00a0105"``)."""
    return f"{value:,}".replace(",", "\u00a0")


def _decimals(values: Iterable[float]) -> int:
    """Decimals needed to write every value exactly (at most 2; 1 at least if one is not
    whole)."""
    needed = 0
    for value in values:
        for d in range(3):
            if abs(value * 10**d - round(value * 10**d)) < 1e-9:
                needed = max(needed, d)
                break
        else:
            needed = 2
    return max(needed, 1) if needed else 0


# ------------------------------------------------------------------------------------------
# Class breaks


def _nice_values(low: float, high: float) -> list[float]:
    """The 1-2-5 ladder values between ``low`` and ``high`` inclusive (both > 0)."""
    values: list[float] = []
    exponent = math.floor(math.log10(low)) - 1
    while True:
        for mantissa in (1.0, 2.0, 5.0):
            value = round(mantissa * 10.0**exponent, 10)
            if value > high * 10:
                return values
            values.append(value)
        exponent += 1


def automatic_breaks(rates: Iterable[float | None], classes: int = 5) -> tuple[float, ...]:
    """Class edges for the demand shading, on the 1-2-5 ladder (0.1, 0.2, 0.5, 1, 2...).

    The inner edges are the quantiles of the positive rates, each rounded to the nearest
    ladder value and kept when some rates lie on each side of it; the last edge is the
    smallest ladder value at or above the highest rate. Fewer classes result when quantiles
    round to the same value.

    Args:
        rates: demand per 1,000 inhabitants of each commune (``None`` and zeros are left
            out).
        classes: the number of classes wanted, 1 to :data:`MAX_CLASSES`.

    Returns:
        The edges, from 0, increasing; empty when no rate is positive.

    Raises:
        MapError: ``classes`` is out of range.
    """
    if not 1 <= classes <= MAX_CLASSES:
        raise MapError(f"nombre de classes attendu entre 1 et {MAX_CLASSES}, reçu {classes}")
    positive = sorted(r for r in rates if r is not None and r > 0)
    if not positive:
        return ()
    ladder = _nice_values(positive[0], positive[-1])
    top = next(v for v in ladder if v >= positive[-1])
    inner: set[float] = set()
    for i in range(1, classes):
        q = float(np.quantile(np.array(positive), i / classes))
        nearest = min(ladder, key=lambda v: (abs(math.log(v / q)), v))
        if positive[0] <= nearest < positive[-1]:  # rates on both sides of the edge
            inner.add(nearest)
    return (0.0, *sorted(inner), top)


def _checked_breaks(breaks: Sequence[float]) -> tuple[float, ...]:
    edges = tuple(float(b) for b in breaks)
    if len(edges) < 2 or len(edges) - 1 > MAX_CLASSES:
        raise MapError(
            f"bornes des classes : entre 2 et {MAX_CLASSES + 1} valeurs attendues (de 1 à "
            f"{MAX_CLASSES} classes), reçu {len(edges)}"
        )
    if edges[0] < 0 or any(not math.isfinite(b) for b in edges):
        raise MapError("bornes des classes : nombres finis et positifs attendus")
    if any(b >= a for a, b in zip(edges[1:], edges, strict=False)):
        raise MapError("bornes des classes : valeurs strictement croissantes attendues")
    return edges


# ------------------------------------------------------------------------------------------
# Building the map


def build_availability_map(
    policy: Policy,
    physicians: Iterable[Physician],
    ledger: CapacityLedger,
    waiting: Iterable[RequestSummary],
    on: dt.date,
    *,
    reference: CommuneReference | None = None,
    shapes: CommuneShapes | None = None,
    breaks: Sequence[float] | None = None,
) -> AvailabilityMap:
    """Compute the map's data from plain values (no register, no clock).

    Args:
        policy: the CPTS's policy (territory, default capacity, carry-over rule).
        physicians: the register's GPs (withdrawn ones are left out here).
        ledger: the capacity ledger.
        waiting: listing lines of the requests (``register.list_requests()``); only those in
            an active state received on or before ``on`` count.
        on: the map's date; its month is the month of the places shown.
        reference: the commune reference (names, populations, points); the policy's, else
            the one bundled with mt-access.
        shapes: commune outlines; by default those bundled with mt-access for the
            départements of the communes shown (Isère and Nord).
        breaks: class edges of the demand shading (e.g. ``(0, 0.5, 1, 2, 5)``, to compare
            months with the same classes); by default :func:`automatic_breaks`.

    Returns:
        The map's data, ready to draw.

    Raises:
        MapError: ``breaks`` are not increasing finite numbers from 0 or more, or make more
            than :data:`MAX_CLASSES` classes.
    """
    reference = reference or policy.reference or bundled_reference()
    month = Month.of(on)
    waiting_persons: dict[str, int] = {}
    waiting_requests: dict[str, int] = {}
    active = frozenset(ACTIVE_STATES)
    for summary in waiting:
        if summary.state not in active or summary.received > on:
            continue
        waiting_persons[summary.commune] = waiting_persons.get(summary.commune, 0) + (
            summary.searching
        )
        waiting_requests[summary.commune] = waiting_requests.get(summary.commune, 0) + 1
    codes = sorted(set(policy.territory) | {c for c, n in waiting_persons.items() if n})

    if shapes is None:
        departments = sorted(
            {reference.get(c).department for c in codes if c in reference}
            & set(BUNDLED_DEPARTMENTS)
        )
        shapes = bundled_shapes(departments) if departments else None
    outlines = {c: shapes.polygon(c) for c in codes if shapes is not None and c in shapes}

    communes: list[CommuneDemand] = []
    for code in codes:
        known = reference.get(code) if code in reference else None
        population = known.population if known is not None else None
        persons = waiting_persons.get(code, 0)
        point = known.point if known is not None else None
        communes.append(
            CommuneDemand(
                insee=code,
                name=known.name if known is not None else "",
                population=population,
                waiting_persons=persons,
                per_thousand=persons * 1000 / population if population else None,
                has_outline=code in outlines,
                waiting_requests=waiting_requests.get(code, 0),
                in_territory=code in policy.territory,
                lat=point.lat if point is not None else None,
                lon=point.lon if point is not None else None,
            )
        )

    if breaks is None:
        edges = automatic_breaks(c.per_thousand for c in communes)
    else:
        edges = _checked_breaks(breaks)

    gps: list[PhysicianAvailability] = []
    for physician in sorted(physicians, key=lambda p: p.id):
        status = physician.status_on(on)
        if status not in _SHOWN_STATUSES:
            continue
        gps.append(_physician(physician, status, policy, ledger, reference, month, on))

    territory = [outlines[c] for c in sorted(policy.territory) if c in outlines]
    territory_outline = shapely.union_all(np.array(territory, dtype=object)) if territory else None
    return AvailabilityMap(
        policy_name=policy.name,
        month=month,
        on=on,
        communes=tuple(communes),
        physicians=tuple(gps),
        breaks=edges,
        outlines=outlines,
        territory_outline=territory_outline,
        outline_source=shapes.source if shapes is not None and outlines else "",
        notes=_notes(communes, gps),
    )


def _physician(
    physician: Physician,
    status: PhysicianStatus,
    policy: Policy,
    ledger: CapacityLedger,
    reference: CommuneReference,
    month: Month,
    on: dt.date,
) -> PhysicianAvailability:
    default = policy.monthly_capacity_of(physician)
    caps = capacity_in_force(ledger, physician.id, month, default=default)
    used = ledger.used(physician.id, month)
    remaining = ledger.remaining(physician.id, month, default=default, carry_over=policy.carry_over)
    known = reference.get(physician.commune) if physician.commune in reference else None
    point = physician.location or (known.point if known is not None else None)
    return PhysicianAvailability(
        physician_id=physician.id,
        name=physician.name,
        commune=physician.commune,
        lat=point.lat if point is not None else None,
        lon=point.lon if point is not None else None,
        capacity=used + remaining if caps.monthly is None else caps.monthly,
        used=used,
        remaining=remaining,
        status=status.label,
        modalities=tuple(m.label for m in Modality if m in physician.modalities),
        commune_name=known.name if known is not None else "",
        available=physician.is_available_on(on),
        accepting_new_patients=physician.accepting_new_patients,
        at_commune_point=physician.location is None,
        yearly_capacity=caps.yearly,
        year_left=caps.year_left,
        capacity_label=caps.label(),
    )


def _notes(
    communes: Sequence[CommuneDemand], physicians: Sequence[PhysicianAvailability]
) -> tuple[str, ...]:
    notes: list[str] = []
    circles = [c for c in communes if not c.has_outline and c.lat is not None]
    missing = [c for c in communes if not c.has_outline and c.lat is None]
    if circles:
        notes.append(
            f"{len(circles)} commune(s) sans contour disponible, représentée(s) par un cercle "
            "à leur chef-lieu."
        )
    if missing:
        codes = ", ".join(c.insee for c in missing)
        notes.append(f"Commune(s) sans contour ni coordonnées, non représentée(s) : {codes}.")
    unplaced = [p for p in physicians if p.lat is None]
    if unplaced:
        ids = ", ".join(p.physician_id for p in unplaced)
        notes.append(f"Médecin(s) sans coordonnées, non représenté(s) : {ids}.")
    return tuple(notes)


def availability_map(register: Register, on: dt.date | None = None) -> AvailabilityMap:
    """The availability and demand map of a register (read once), on ``on``.

    Args:
        register: the CPTS's register.
        on: the map's date (today by default); its month is the month of the places shown.

    Returns:
        The map's data: draw it with :meth:`AvailabilityMap.save` or
        :meth:`AvailabilityMap.html`.
    """
    day = on if on is not None else dt.date.today()
    return build_availability_map(
        register.policy,
        register.physicians(),
        register.ledger,
        register.list_requests(*ACTIVE_STATES),
        day,
    )
