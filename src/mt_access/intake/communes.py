"""Finding a row's commune from an INSEE code, a postal code, a name or an address."""

from __future__ import annotations

import re
from collections.abc import Iterable

from mt_access.errors import AmbiguousCommuneError, UnknownCommuneError
from mt_access.geo.communes import Commune, CommuneReference
from mt_access.geo.names import did_you_mean
from mt_access.intake.cells import BadCell

POSTAL_CODE = re.compile(r"[0-9]{5}")
_ADDRESS_POSTAL_CODE = re.compile(r"(?<![0-9])([0-9]{5})(?![0-9])")
_CEDEX = re.compile(r"\bcedex\b.*$", re.IGNORECASE | re.DOTALL)
_TRIM = " \t\r\n,;:-–—."
_NAME_HINT = "précisez le code postal ou le code INSEE"
_ADDRESS_EXPECTED = (
    "adresse avec le code postal et la commune à la fin attendue "
    "(par ex. « 12 rue des Lilas, 38500 Voiron »)"
)


def _listed(candidates: Iterable[tuple[str, str, str]]) -> str:
    return ", ".join(f"{name} ({insee}, dép. {dep})" for insee, name, dep in candidates)


class CommuneResolver:
    """Resolves commune cells with the reference, caching by text."""

    def __init__(self, reference: CommuneReference, territory: frozenset[str], prefer: bool):
        self.reference = reference
        self.territory = territory
        self.prefer = prefer
        self.cache: dict[tuple[str, str, str], Commune | BadCell] = {}

    def resolve(self, kind: str, text: str, postal_code: str = "") -> Commune | BadCell:
        key = (kind, text, postal_code)
        found = self.cache.get(key)
        if found is None:
            found = self.cache[key] = self._resolve(kind, text.strip(), postal_code.strip())
        return found

    def _ambiguous(
        self, candidates: tuple[tuple[str, str, str], ...], what: str, hint: str
    ) -> Commune | BadCell:
        if self.prefer:
            local = [c for c in candidates if c[0] in self.territory]
            if len(local) == 1:
                return self.reference.get(local[0][0])
        return BadCell(
            f"{what} ambigu : {len(candidates)} communes possibles : {_listed(candidates)} ; "
            f"{hint}",
            candidates,
        )

    def _by_name(self, name: str, postal_code: str | None) -> Commune | BadCell:
        try:
            if postal_code is None:
                return self.reference.resolve(name)
            return self.reference.find(name, postal_code=postal_code)
        except AmbiguousCommuneError as exc:
            return self._ambiguous(exc.candidates, "nom de commune", _NAME_HINT)
        except UnknownCommuneError as unknown:
            if postal_code is not None and self.reference.search(name):
                served = self.reference.by_postal_code(postal_code)
                listed = _listed((c.insee, c.name, c.department) for c in served)
                return BadCell(
                    "commune et code postal incohérents"
                    + (f" ; communes de ce code postal : {listed}" if served else "")
                )
            return BadCell(
                "commune inconnue du référentiel des communes : nom de commune attendu, écrit "
                "en entier (par ex. « Saint-Étienne-de-Crossey » ou « St Etienne de Crossey »)"
                + did_you_mean(unknown.suggestions)
            )

    def _resolve(self, kind: str, text: str, postal_code: str) -> Commune | BadCell:
        reference = self.reference
        if kind == "insee":
            try:
                return reference.get(text)
            except UnknownCommuneError:
                served = reference.by_postal_code(text)
                hint = " ; c'est un code postal, pas un code INSEE" if served else ""
                return BadCell(
                    f"code INSEE (5 caractères, par ex. 38563) du référentiel attendu{hint}"
                )
        if kind == "postal_code":
            if not POSTAL_CODE.fullmatch(text):
                return BadCell("code postal à 5 chiffres attendu")
            served = reference.by_postal_code(text)
            if not served:
                return BadCell("code postal inconnu du référentiel des communes")
            if len(served) == 1:
                return served[0]
            candidates = tuple((c.insee, c.name, c.department) for c in served)
            return self._ambiguous(candidates, "code postal", "précisez la commune")
        if kind == "name_with_postal_code":
            return self._by_name(text, postal_code)
        if kind == "name":
            return self._by_name(text, None)
        return self._address(text)

    def _address(self, text: str) -> Commune | BadCell:
        codes = list(_ADDRESS_POSTAL_CODE.finditer(text))
        if not codes:
            tail = text.rsplit(",", 1)[-1].strip(_TRIM) if "," in text else ""
            if tail:
                found = self._by_name(tail, None)
                if isinstance(found, Commune):
                    return found
            return BadCell(_ADDRESS_EXPECTED)
        match = codes[-1]
        postal_code = match[1]
        after = _CEDEX.sub("", text[match.end() :]).strip(_TRIM)
        before = text[: match.start()].strip(_TRIM)
        names = []
        if after:
            names.append(after)
        words = before.rsplit(",", 1)[-1].split()
        names.extend(" ".join(words[-k:]) for k in range(1, min(len(words), 6) + 1))
        for name in names:
            try:
                return self.reference.find(name, postal_code=postal_code)
            except UnknownCommuneError:
                continue
            except AmbiguousCommuneError as exc:
                return self._ambiguous(exc.candidates, "nom de commune", _NAME_HINT)
        served = self.reference.by_postal_code(postal_code)
        if len(served) == 1:
            return served[0]
        if served:
            candidates = tuple((c.insee, c.name, c.department) for c in served)
            return self._ambiguous(
                candidates, "commune de l'adresse", "écrivez la commune après le code postal"
            )
        return BadCell(f"code postal inconnu du référentiel des communes ; {_ADDRESS_EXPECTED}")
