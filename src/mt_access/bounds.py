"""The documented bounds of every number mt-access accepts.

A coordinator's file (a policy, a form export, a GP list) can hold any number; the register
stores 64-bit integers and the engine works in floats. Every count, capacity and distance is
therefore checked against the bounds below where it enters (the policy reader, the intake, the
model's validators, the command line), with a French message that says where it was and what
was expected. ``docs/yaml-reference.md`` and ``docs/intake.md`` list them.

The limits are far above any real CPTS (a GP who takes 1,000 new patients a month, a household
of 30 persons) and far below what breaks storage or arithmetic.
"""

from __future__ import annotations

import math

__all__ = [
    "DEFAULT_LINK_DAYS",
    "MAX_ADULTS",
    "MAX_AGE_YEARS",
    "MAX_ANSWER_NUMBER",
    "MAX_ANSWER_TEXT",
    "MAX_CHILDREN",
    "MAX_CONTACT_ATTEMPTS",
    "MAX_CRITERION_LABEL",
    "MAX_DISTANCE_KM",
    "MAX_LINK_DAYS",
    "MAX_MONTHLY_CAPACITY",
    "MAX_NEAREST",
    "MAX_OPTIONS",
    "MAX_OVERBOOKING",
    "MAX_QUESTIONS",
    "MAX_RESOURCE_WAIT_DAYS",
    "MAX_SHARED_LIST",
    "MAX_WAITING_DAYS",
    "MAX_YEARLY_CAPACITY",
    "MIN_PASSWORD_LENGTH",
    "Bound",
    "check_number",
]

MAX_ADULTS = 20
"""Adults in one household request (the patient included)."""

MAX_CHILDREN = 20
"""Children in one household request."""

MAX_MONTHLY_CAPACITY = 1000
"""New patients a GP may declare for one month."""

MAX_YEARLY_CAPACITY = 12 * MAX_MONTHLY_CAPACITY
"""New patients a GP may declare for one calendar year (a yearly capacity, e.g. Québec's 150)."""

MAX_NEAREST = 50
"""GPs listed by a router that names the nearest ones (``k``)."""

MAX_OVERBOOKING = 100
"""The ``k_nearest`` router's ``overbooking`` factor: patients a GP may be listed to in one
run per place left."""

MAX_DISTANCE_KM = 1000.0
"""A distance cap in kilometres (metropolitan France is about 1,000 km across)."""

MAX_CONTACT_ATTEMPTS = 100
"""Failed contact attempts in a row before a request exits as unreachable."""

MAX_CRITERION_LABEL = 200
"""Characters of a criterion's ``label:`` in a policy (shown in letters and referrals)."""

MAX_AGE_YEARS = 130
"""An age in years in a policy criterion (``age_at_least``, ``age_under``)."""

MAX_WAITING_DAYS = 3660
"""Days of waiting in a policy criterion (``waiting_at_least``): ten years."""

MAX_RESOURCE_WAIT_DAYS = 365
"""Days a request waits for a resource's answer before entering its GP path (``wait_days``
of a ``before`` resource)."""

MAX_QUESTIONS = 100
"""Questions of a policy's ``questions:`` section."""

MAX_OPTIONS = 100
"""Options of one ``choix`` or ``choix_multiple`` question."""

MAX_ANSWER_TEXT = 1000
"""Characters of a ``texte`` answer (a question's ``max_length`` is at most this)."""

MAX_ANSWER_NUMBER = 1_000_000_000
"""Absolute value of a ``nombre`` answer, and of a question's ``min`` and ``max``."""

MAX_SHARED_LIST = 10_000
"""Requests in one list shared with a GP (``list_size`` of the ``pull`` router)."""

DEFAULT_LINK_DAYS = 30
"""Days a GP's personal link to the web portal lasts when none is given."""

MAX_LINK_DAYS = 366
"""Days a GP's personal link to the web portal may last (``mt-access medecin lien --jours``)."""

MIN_PASSWORD_LENGTH = 12
"""Characters of a web application account's password, at least (``mt-access utilisateur``)."""


class Bound:
    """An inclusive interval for a number, with its French description.

    Attributes:
        low: smallest accepted value.
        high: largest accepted value.
        integer: whether only integers are accepted.
    """

    __slots__ = ("high", "integer", "low")

    def __init__(self, low: float, high: float, *, integer: bool) -> None:
        self.low = low
        self.high = high
        self.integer = integer

    def describe(self) -> str:
        """``entier entre 0 et 1000`` / ``nombre entre 0 et 1000``."""
        kind = "entier" if self.integer else "nombre"
        return f"{kind} entre {_fr(self.low)} et {_fr(self.high)}"


def _fr(value: float) -> str:
    if float(value).is_integer():
        return f"{int(value):,}".replace(",", " ")
    return str(value).replace(".", ",")


def check_number(value: object, bound: Bound) -> str | None:
    """``None`` when ``value`` is a number inside ``bound``, else what was expected (French).

    Booleans are not numbers here; NaN and infinities are refused. The value itself is not
    echoed (it may come from a misplaced cell holding personal data).
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        return f"{bound.describe()} attendu"
    if bound.integer and not isinstance(value, int):
        return f"{bound.describe()} attendu (pas de décimales)"
    if isinstance(value, float) and not math.isfinite(value):
        return f"{bound.describe()} attendu, reçu une valeur non finie"
    if not bound.low <= value <= bound.high:
        return f"{bound.describe()} attendu"
    return None
