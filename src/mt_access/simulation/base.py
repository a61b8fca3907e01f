"""What the simulation's comparison, frames and plots share: how each indicator is shown.

A base module: it imports no other module of the simulation.
"""

from __future__ import annotations

__all__ = ["DAYS", "KM", "SHARES", "format_value"]

SHARES = frozenset(
    {
        "part placée",
        "part avec solution",
        "placées en 30 j",
        "placées en 90 j",
        "charge / capacité",
        "charge max d'un médecin",
        "médecins saturés",
    }
)
"""The indicators that are shares (shown as ``52 %``)."""

KM = frozenset({"distance moyenne (km)", "distance max (km)"})
"""The indicators in kilometres (one decimal)."""


DAYS = frozenset({"délai médian (j)", "délai P90 (j)", "attente médiane (j)", "attente P90 (j)"})
"""The indicators in days (no decimal)."""


def format_value(indicator: str, value: float) -> str:
    """French display of an indicator's value: ``52 %``, ``3,4`` (km), ``21`` (days),
    ``1 250`` or ``7,5`` (counts: one decimal below 10)."""
    if value != value:  # NaN
        return "–"
    if indicator in SHARES:
        return f"{value * 100:.0f} %"
    if indicator in KM or (indicator not in DAYS and abs(value) < 10 and value != round(value)):
        return f"{value:.1f}".replace(".", ",")
    return f"{value:,.0f}".replace(",", "\u202f")
