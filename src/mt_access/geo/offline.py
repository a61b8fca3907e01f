"""The offline geocoder: every request at its commune's point."""

from __future__ import annotations

from collections.abc import Sequence

from mt_access.geo.communes import Commune, CommuneReference, bundled_reference
from mt_access.geo.geocode_base import GeocodeResult, ProgressCallback, resolve_all
from mt_access.geo.point import Point

__all__ = ["CommuneGeocoder"]


def commune_point(reference: CommuneReference, commune: Commune) -> Point:
    """The commune's point; raises ReferenceDataError (from the reference) when it has none."""
    return commune.point if commune.point is not None else reference.point(commune.insee)


class CommuneGeocoder:
    """The offline geocoder: every request at its commune's point (precision ``"commune"``).

    The address is ignored and never leaves the process.

    Args:
        reference: the commune reference; the bundled one by default.
    """

    def __init__(self, reference: CommuneReference | None = None) -> None:
        self._reference = reference if reference is not None else bundled_reference()

    def __repr__(self) -> str:
        return f"<CommuneGeocoder: {self._reference!r}>"

    @property
    def reference(self) -> CommuneReference:
        """The commune reference communes are resolved in."""
        return self._reference

    def geocode(self, address: str | None, commune: str) -> GeocodeResult:
        """Return the point of ``commune``.

        Raises:
            UnknownCommuneError: the commune is not in the reference.
            AmbiguousCommuneError: the commune's name matches several communes.
            ReferenceDataError: the commune has no point in the reference.
        """
        found = self._reference.resolve(commune)
        return GeocodeResult(commune_point(self._reference, found), found.insee, "commune")

    def geocode_many(
        self,
        items: Sequence[tuple[str | None, str]],
        progress: ProgressCallback | None = None,
    ) -> list[GeocodeResult]:
        """Return the point of each item's commune, in order.

        Every commune is resolved before the first result, so a faulty item raises at once;
        the exception has a note naming the item (1-based).
        """
        communes = resolve_all(self._reference, items)
        total = len(communes)
        results: list[GeocodeResult] = []
        for done, commune in enumerate(communes, start=1):
            point = commune_point(self._reference, commune)
            results.append(GeocodeResult(point, commune.insee, "commune"))
            if progress is not None:
                progress(done, total)
        return results
