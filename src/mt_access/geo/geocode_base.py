"""What every geocoder shares: :class:`GeocodeResult`, its precisions and flags, and the
:class:`Geocoder` protocol.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Final, Literal, Protocol, runtime_checkable

import attrs

from mt_access.errors import MtAccessError
from mt_access.geo.communes import Commune, CommuneReference
from mt_access.geo.point import Point

__all__ = [
    "GEOCODE_FLAGS",
    "PRECISIONS",
    "Flag",
    "GeocodeResult",
    "Geocoder",
    "Precision",
    "ProgressCallback",
]


Precision = Literal["address", "commune"]
Flag = Literal[
    "outside_commune",
    "not_found",
    "timeout",
    "rate_limited",
    "server_error",
    "unavailable",
    "low_score",
]

PRECISIONS: Final = ("address", "commune")
"""Allowed values of :attr:`GeocodeResult.precision`."""

GEOCODE_FLAGS: Final[Mapping[str, str]] = {
    "outside_commune": "adresse trouvée hors de la commune indiquée",
    "not_found": "adresse introuvable dans la Base Adresse Nationale",
    "low_score": "adresse trouvée avec un score de confiance trop faible",
    "timeout": "le service de géocodage n'a pas répondu à temps",
    "rate_limited": "trop de requêtes envoyées au service de géocodage (HTTP 429)",
    "server_error": "erreur du service de géocodage",
    "unavailable": "service de géocodage injoignable",
}
"""Each :attr:`GeocodeResult.flag` code and its French label, for coordinators."""


def _check_flag(_inst: object, _attribute: attrs.Attribute[str | None], value: str | None) -> None:
    if value is not None and value not in GEOCODE_FLAGS:
        raise ValueError(
            f"flag : un des codes {', '.join(GEOCODE_FLAGS)} ou None attendu, reçu {value!r}"
        )


def _check_score(
    _inst: object, _attribute: attrs.Attribute[float | None], value: float | None
) -> None:
    if value is not None and not math.isfinite(value):
        raise ValueError(f"score : nombre fini ou None attendu, reçu {value!r}")


@attrs.frozen
class GeocodeResult:
    """Where a request was placed, and how precisely.

    Attributes:
        point: the point to measure distances from (WGS84).
        insee: INSEE code of the commune the request gave (resolved from a postal code or a
            name when needed); the point lies in it, as far as the checks can tell.
        precision: ``"address"`` when ``point`` is the address's, ``"commune"`` when it is the
            commune's point (the chef-lieu).
        flag: ``None`` when nothing went wrong, else why the address's point was not used: a
            key of :data:`GEOCODE_FLAGS`. Always ``None`` with precision ``"address"``; also
            ``None`` for a commune point when no address was given or when the geocoder never
            looks at addresses (:class:`CommuneGeocoder`).
        score: the geocoding service's confidence in its answer (0 to 1), when it gave one;
            kept with ``"low_score"`` and ``"outside_commune"`` so the coordinator can judge.
    """

    point: Point = attrs.field(validator=attrs.validators.instance_of(Point))
    insee: str = attrs.field(validator=attrs.validators.instance_of(str))
    precision: Precision = attrs.field(validator=attrs.validators.in_(PRECISIONS))
    flag: Flag | None = attrs.field(default=None, validator=_check_flag)
    score: float | None = attrs.field(default=None, validator=_check_score)

    def __attrs_post_init__(self) -> None:
        if self.precision == "address" and self.flag is not None:
            raise ValueError(f"un point d'adresse ne porte pas de signal, reçu {self.flag!r}")

    @property
    def flag_label(self) -> str | None:
        """The French label of :attr:`flag` (see :data:`GEOCODE_FLAGS`), or ``None``."""
        return None if self.flag is None else GEOCODE_FLAGS[self.flag]


ProgressCallback = Callable[[int, int], None]
"""Called as ``progress(done, total)`` after each item of a batch."""


@runtime_checkable
class Geocoder(Protocol):
    """What the rest of mt-access needs from a geocoder.

    ``commune`` is an INSEE code or any text :meth:`CommuneReference.resolve` accepts
    (``"38500 Voiron"``, ``"Voiron (38)"``...). An unknown or ambiguous commune is the caller's
    error: :class:`~mt_access.errors.UnknownCommuneError` or
    :class:`~mt_access.errors.AmbiguousCommuneError`. A geocoding service that fails must not
    raise: the result falls back to the commune's point, with a flag.
    """

    def geocode(self, address: str | None, commune: str) -> GeocodeResult:
        """Return the point of ``address`` in ``commune`` (or of the commune itself)."""
        ...

    def geocode_many(
        self,
        items: Sequence[tuple[str | None, str]],
        progress: ProgressCallback | None = None,
    ) -> list[GeocodeResult]:
        """Geocode ``(address, commune)`` pairs, in order; call ``progress(done, total)``
        after each one."""
        ...


def resolve_all(
    reference: CommuneReference, items: Sequence[tuple[str | None, str]]
) -> list[Commune]:
    """Resolve every commune of a batch before any work, naming the faulty item on error."""
    resolved: dict[str, Commune] = {}
    communes: list[Commune] = []
    for index, (_address, text) in enumerate(items):
        commune = resolved.get(text) if isinstance(text, str) else None
        if commune is None:
            try:
                commune = reference.resolve(text)
            except MtAccessError as exc:
                exc.add_note(f"élément n° {index + 1} du lot à géocoder")
                raise
            resolved[text] = commune
        communes.append(commune)
    return communes
