"""The capacity ledger's entries: a declared capacity, a recorded placement, a released one.

Values (frozen attrs classes) validated on construction, with French messages naming physician
ids, request ids, months and numbers, never the free-text ``note``/``reason`` fields. The
ledger itself and its rules are in :mod:`mt_access.ledger`, which re-exports these names.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, Literal, TypeAlias

import attrs

from mt_access.bounds import MAX_MONTHLY_CAPACITY, MAX_YEARLY_CAPACITY, Bound
from mt_access.calendar import Month
from mt_access.errors import LedgerError

__all__ = [
    "CapacityDeclared",
    "LedgerEntry",
    "Period",
    "PlacementRecorded",
    "PlacementReleased",
]


# --- field validators (French messages; TypeError for a wrong type, LedgerError for a bad value)


def check_int(value: object, what: str) -> int:
    # bool is an int subclass, but True persons or capacity False is a bug, not a number.
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{what} : entier attendu, reçu {type(value).__name__}")
    return value


def _identifier(_inst: object, attribute: attrs.Attribute[str], value: object) -> None:
    if not isinstance(value, str):
        raise TypeError(f"{attribute.name} : chaîne attendue, reçu {type(value).__name__}")
    if not value.strip():
        raise LedgerError(f"{attribute.name} : identifiant vide")


def _month(_inst: object, attribute: attrs.Attribute[Month], value: object) -> None:
    if not isinstance(value, Month):
        raise TypeError(f"{attribute.name} : Month attendu, reçu {type(value).__name__}")


def _day(_inst: object, attribute: attrs.Attribute[dt.date], value: object) -> None:
    if not isinstance(value, dt.date):
        raise TypeError(f"{attribute.name} : date attendue, reçu {type(value).__name__}")


def _text(_inst: object, attribute: attrs.Attribute[str], value: object) -> None:
    if not isinstance(value, str):
        raise TypeError(f"{attribute.name} : chaîne attendue, reçu {type(value).__name__}")


def _at_least(
    minimum: int, label: str, maximum: int | None = None
) -> Callable[[Any, attrs.Attribute[Any], object], None]:
    """Validator of an integer field ``>= minimum`` (and ``<= maximum``, a documented bound of
    :mod:`mt_access.bounds`); the message names physician and month, and the bound."""

    def validate(inst: Any, attribute: attrs.Attribute[Any], value: object) -> None:
        number = check_int(value, attribute.name)
        if number < minimum:
            raise LedgerError(
                f"{label} invalide pour le médecin {inst.physician_id} en {inst.month} : "
                f"{number} (entier >= {minimum} attendu)"
            )
        if maximum is not None and number > maximum:
            # The number itself is not echoed: it may be thousands of digits long.
            raise LedgerError(
                f"{label} invalide pour le médecin {inst.physician_id} en {inst.month} : "
                f"{Bound(minimum, maximum, integer=True).describe()} attendu"
            )

    return validate


# --- entries

Period: TypeAlias = Literal["month", "year"]
"""The period a capacity is declared for: ``"month"`` or ``"year"`` (a calendar year)."""

_PERIODS: tuple[Period, ...] = ("month", "year")

_check_monthly = _at_least(0, "capacité déclarée", MAX_MONTHLY_CAPACITY)
_check_yearly = _at_least(0, "capacité annuelle déclarée", MAX_YEARLY_CAPACITY)


def _capacity(inst: Any, attribute: attrs.Attribute[int | None], value: object) -> None:
    if value is None:  # lifts the cap of the period
        return
    # attrs runs the validators once every field is set: ``period`` is readable here (and
    # checked by its own validator; an unknown period gets the yearly bound meanwhile).
    if inst.period == "month":
        _check_monthly(inst, attribute, value)
    else:
        _check_yearly(inst, attribute, value)


def _period(inst: Any, _attribute: attrs.Attribute[str], value: object) -> None:
    if value not in _PERIODS:
        shown = repr(value) if isinstance(value, str) and len(value) <= 20 else "?"
        raise LedgerError(
            f"période de capacité invalide pour le médecin {inst.physician_id} : {shown} "
            "(« month » ou « year » attendu)"
        )
    if value == "year" and isinstance(inst.month, Month) and inst.month.month != 1:
        raise LedgerError(
            f"capacité annuelle du médecin {inst.physician_id} déclarée pour {inst.month} : "
            f"une capacité annuelle vaut pour l'année civile (mois {inst.month.year}-01 attendu)"
        )


@attrs.frozen
class CapacityDeclared:
    """A physician's capacity per month from ``month`` onwards, or per calendar year from
    ``month.year`` onwards (``period="year"``), until a later declaration of the same period.

    Attributes:
        physician_id: the physician.
        month: first month the capacity applies to; January of the first year for a yearly
            capacity.
        capacity: persons the physician accepts per month (``0`` to
            :data:`~mt_access.bounds.MAX_MONTHLY_CAPACITY`) or per calendar year (``0`` to
            :data:`~mt_access.bounds.MAX_YEARLY_CAPACITY`); ``None`` lifts the cap of the
            period from ``month`` (its year) on.
        on: day the declaration was made.
        note: free text for coordinators; never shown in error messages.
        period: ``"month"`` (the default) or ``"year"``; see the module docstring for how a
            monthly and a yearly capacity combine.
    """

    physician_id: str = attrs.field(validator=_identifier)
    month: Month = attrs.field(validator=_month)
    capacity: int | None = attrs.field(validator=_capacity)
    on: dt.date = attrs.field(validator=_day)
    note: str = attrs.field(default="", validator=_text)
    period: Period = attrs.field(default="month", kw_only=True, validator=_period)


@attrs.frozen
class PlacementRecorded:
    """``persons`` placed with a physician for a request, counted in ``month``.

    Attributes:
        physician_id: the physician.
        month: month the persons are counted in.
        request_id: the request (a patient or a household) being placed.
        persons: persons placed (``>= 1``).
        on: day the placement was recorded.
    """

    physician_id: str = attrs.field(validator=_identifier)
    month: Month = attrs.field(validator=_month)
    request_id: str = attrs.field(validator=_identifier)
    persons: int = attrs.field(validator=_at_least(1, "nombre de personnes"))
    on: dt.date = attrs.field(validator=_day)


@attrs.frozen
class PlacementReleased:
    """Cancels the active placement of ``request_id`` with ``physician_id``.

    The persons are freed in the month where the placement was counted.

    Attributes:
        physician_id: the physician.
        request_id: the request whose placement is cancelled.
        on: day of the release.
        reason: free text for coordinators (e.g. "refus du médecin"); never shown in errors.
    """

    physician_id: str = attrs.field(validator=_identifier)
    request_id: str = attrs.field(validator=_identifier)
    on: dt.date = attrs.field(validator=_day)
    reason: str = attrs.field(default="", validator=_text)


LedgerEntry: TypeAlias = CapacityDeclared | PlacementRecorded | PlacementReleased
