"""Geographic points (WGS84 degrees)."""

from __future__ import annotations

import attrs

__all__ = ["Point"]


def _finite(_inst: object, attribute: attrs.Attribute[float], value: float) -> None:
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(f"{attribute.name} must be a finite number, got {value!r}")


@attrs.frozen(order=True)
class Point:
    """A WGS84 point in decimal degrees. There is no "missing point" value: use ``None``."""

    lat: float = attrs.field(
        converter=float,
        validator=[_finite, attrs.validators.ge(-90.0), attrs.validators.le(90.0)],
    )
    lon: float = attrs.field(
        converter=float,
        validator=[_finite, attrs.validators.ge(-180.0), attrs.validators.le(180.0)],
    )
