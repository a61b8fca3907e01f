"""The commune reference: INSEE codes, names, postal codes, populations and one point each.

The bundled reference (:func:`bundled_reference`) holds every current commune of France and
the municipal arrondissements of Paris, Marseille and Lyon (35,014 rows), built by
``scripts/build_geo_data.py`` from the shared reference data; ``data/SOURCES.md`` next to this
module gives the sources, vintages and licences.

Some communes have no point (overseas collectivities outside the CPTS system, the
"villages morts" of the Meuse, a few communes nouvelles created after 2020). They are in the
reference with ``point=None``; :meth:`CommuneReference.point` raises
:class:`~mt_access.errors.ReferenceDataError` for them. They are never placed at (0, 0).
"""

from __future__ import annotations

import csv
import functools
import importlib.resources
import io
import math
import os
import re
from collections.abc import Iterable, Iterator, Sequence

import attrs

from mt_access.collector import collector_paused
from mt_access.errors import AmbiguousCommuneError, ReferenceDataError, UnknownCommuneError
from mt_access.geo.datafile import gunzipped, insee_key, normalize_code, read_data_file
from mt_access.geo.frozen import Frozen
from mt_access.geo.names import did_you_mean, normalize_name, suggest_names
from mt_access.geo.point import Point

__all__ = [
    "BUNDLED_SOURCE",
    "KINDS",
    "VINTAGE",
    "Commune",
    "CommuneReference",
    "bundled_reference",
]

VINTAGE = (
    "INSEE COG 2026 (codes, noms ; populations légales millésime 2023 ; codes postaux La Poste), "
    "paquet Etalab @etalab/decoupage-administratif 6.0.0 ; "
    "points chefs-lieux IGN ADMIN EXPRESS COG CARTO 2020"
)
"""Vintage of the bundled reference, as stated in ``data/SOURCES.md``."""

BUNDLED_SOURCE = (
    "Etalab, découpage administratif 6.0.0 (Licence Ouverte) ; "
    "IGN, ADMIN EXPRESS COG CARTO 2020, couche chef_lieu_carto (Licence Ouverte 2.0)"
)
"""Source (producers and licences) of the bundled reference."""

KINDS = ("commune", "arrondissement")
"""Allowed values of :attr:`Commune.kind`."""

_DATA_PACKAGE = "mt_access.geo"
_DATA_FILE = "communes_france.csv.gz"

_REQUIRED_COLUMNS = ("insee", "name", "department", "postal_codes", "population", "lat", "lon")
_EXPECTED_COLUMNS = (
    "insee, name, kind (facultative), department, postal_codes, population, lat, lon"
)

# INSEE commune code: 2-character département (01-95, 2A, 2B) then 3 digits; overseas codes
# (97x, 98x) are 5 digits too.
_INSEE_RE = re.compile(r"(?:[0-9][0-9]|2[AB])[0-9]{3}")
_DEPARTMENT_RE = re.compile(r"[0-9][0-9]|2[AB]|9[78][0-9]")
_POSTAL_CODE_RE = re.compile(r"[0-9]{5}")
_POPULATION_RE = re.compile(r"[0-9]+")
_DECIMAL_RE = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")

# Forms accepted by CommuneReference.resolve (matched on the stripped text).
_RESOLVE_POSTAL_FIRST = re.compile(r"([0-9]{5})(?:\s*[,;:\-–—]\s*|\s+)(\S.*)")
_RESOLVE_POSTAL_LAST = re.compile(r"(.*\S)(?:\s*[,;:\-–—]\s*|\s+)([0-9]{5})")
_RESOLVE_PARENTHESES = re.compile(r"(.*\S)\s*\(\s*([0-9]{5}|[0-9][0-9]|2[AaBb]|9[78][0-9])\s*\)")

_MAX_LISTED = 10


def _to_postal_codes(value: Iterable[str]) -> tuple[str, ...]:
    if isinstance(value, str):
        raise TypeError(
            f"postal_codes attend une séquence de codes postaux, pas une chaîne : {value!r}"
        )
    return tuple(value)


@attrs.frozen
class Commune:
    """One commune (or municipal arrondissement) of the reference.

    Attributes:
        insee: INSEE code, 5 characters (``"38563"``, ``"2A004"``).
        name: official COG name, with its article (``"La Sure en Chartreuse"``).
        kind: ``"commune"`` or ``"arrondissement"`` (municipal arrondissements of Paris,
            Marseille and Lyon).
        department: département code (``"38"``, ``"2A"``, ``"974"``).
        postal_codes: postal codes, sorted; empty for a few uninhabited territories.
        population: population municipale, or ``None`` when the source gives none.
        point: chef-lieu point (WGS84), or ``None`` when the reference has no coordinates.
    """

    insee: str
    name: str
    kind: str = attrs.field(validator=attrs.validators.in_(KINDS))
    department: str
    postal_codes: tuple[str, ...] = attrs.field(converter=_to_postal_codes)
    population: int | None
    point: Point | None


def _candidates(communes: Iterable[Commune]) -> list[tuple[str, str, str]]:
    return [(c.insee, c.name, c.department) for c in communes]


def _describe(communes: Sequence[Commune]) -> str:
    shown = [
        f"{c.name} ({c.insee}, dép. {c.department}, CP {'/'.join(c.postal_codes) or '-'})"
        for c in communes[:_MAX_LISTED]
    ]
    if len(communes) > _MAX_LISTED:
        shown.append(f"et {len(communes) - _MAX_LISTED} autre(s)")
    return ", ".join(shown)


def _normalize_department(department: str) -> str:
    dep = department.strip().upper()
    return "0" + dep if len(dep) == 1 and dep.isdigit() else dep


class CommuneReference(Frozen):
    """An immutable set of communes, indexed by INSEE code, postal code and normalised name.

    Iteration yields the communes sorted by INSEE code; every tuple returned is sorted by INSEE
    code too, whatever the order of the input.
    """

    __slots__ = (
        "_by_insee",
        "_by_name",
        "_by_postal_code",
        "_communes",
        "_departments",
        "_source",
        "_vintage",
        "_without_point",
    )

    _vintage: str
    _source: str
    _communes: tuple[Commune, ...]
    _by_insee: dict[str, Commune]
    _by_name: dict[str, tuple[Commune, ...]] | None
    _by_postal_code: dict[str, tuple[Commune, ...]]
    _departments: frozenset[str]
    _without_point: tuple[Commune, ...]

    def __init__(self, communes: Iterable[Commune], *, vintage: str, source: str) -> None:
        by_insee: dict[str, Commune] = {}
        for commune in communes:
            if not isinstance(commune, Commune):
                kind = type(commune).__name__
                raise ReferenceDataError(
                    f"référentiel de communes : objet Commune attendu, reçu {kind}"
                )
            previous = by_insee.setdefault(commune.insee, commune)
            if previous is not commune:
                raise ReferenceDataError(
                    f"référentiel de communes : code INSEE {commune.insee} en double "
                    f"({previous.name!r} et {commune.name!r})"
                )
        ordered = tuple(by_insee[code] for code in sorted(by_insee))
        by_postal_code: dict[str, list[Commune]] = {}
        for commune in ordered:
            for code in commune.postal_codes:
                by_postal_code.setdefault(code, []).append(commune)
        setattr_ = object.__setattr__
        setattr_(self, "_vintage", vintage)
        setattr_(self, "_source", source)
        setattr_(self, "_communes", ordered)
        setattr_(self, "_by_insee", {c.insee: c for c in ordered})
        setattr_(self, "_by_name", None)  # built on the first lookup by name
        setattr_(self, "_by_postal_code", {k: tuple(v) for k, v in by_postal_code.items()})
        setattr_(self, "_departments", frozenset(c.department for c in ordered))
        setattr_(self, "_without_point", tuple(c for c in ordered if c.point is None))

    def __repr__(self) -> str:
        return f"<CommuneReference: {len(self._communes)} communes>"

    @property
    def vintage(self) -> str:
        """What the data describes and when (e.g. :data:`VINTAGE`)."""
        return self._vintage

    @property
    def source(self) -> str:
        """Where the data comes from (producers, licences)."""
        return self._source

    def __len__(self) -> int:
        return len(self._communes)

    def __iter__(self) -> Iterator[Commune]:
        return iter(self._communes)

    def __contains__(self, insee: object) -> bool:
        return isinstance(insee, str) and normalize_code(insee) in self._by_insee

    # -- lookups ------------------------------------------------------------------------

    def get(self, insee: str) -> Commune:
        """Return the commune with this INSEE code (``"2a004"`` is read as ``"2A004"``).

        Raises:
            UnknownCommuneError: no commune has this code.
        """
        commune = self._by_insee.get(insee_key(insee))
        if commune is None:
            raise UnknownCommuneError(insee, self._unknown_code_message(insee))
        return commune

    def point(self, insee: str) -> Point:
        """Return the point of the commune with this INSEE code.

        Raises:
            UnknownCommuneError: no commune has this code.
            ReferenceDataError: the commune is in the reference but has no coordinates.
        """
        commune = self.get(insee)
        if commune.point is None:
            raise ReferenceDataError(
                f"la commune {commune.name} ({commune.insee}) n'a pas de coordonnées dans le "
                "référentiel des communes (par exemple collectivité d'outre-mer hors du système "
                "des CPTS, village mort de la Meuse ou commune nouvelle créée après 2020) : "
                "aucune distance ne peut être calculée pour elle"
            )
        return commune.point

    def by_postal_code(self, code: str) -> tuple[Commune, ...]:
        """Return the communes served by this postal code, sorted by INSEE code.

        An unknown or malformed code gives an empty tuple. A postal code often covers several
        communes, and the commune of Paris, Lyon or Marseille shares its codes with its
        arrondissements.
        """
        return self._by_postal_code.get(code.strip(), ())

    def search(self, name: str) -> tuple[Commune, ...]:
        """Return every commune whose normalised name equals the normalised ``name``.

        See :func:`~mt_access.geo.names.normalize_name`; the result is sorted by INSEE code
        and empty when nothing matches.
        """
        return self._name_index().get(normalize_name(name), ())

    def find(
        self, name: str, postal_code: str | None = None, department: str | None = None
    ) -> Commune:
        """Return the one commune of this name, narrowed by postal code and/or département.

        Raises:
            UnknownCommuneError: no commune has this name (with this postal code/département).
            AmbiguousCommuneError: several communes remain; their codes, names and
                départements are listed.
        """
        return self._find(name, postal_code, department, query=name)

    def resolve(self, text: str) -> Commune:
        """Return the commune described by ``text``.

        Accepted forms: an INSEE code (``"38563"``, ``"2A004"``); a postal code and a name
        (``"38500 Voiron"``, ``"Voiron 38500"``, ``"Voiron (38500)"``); a name and a
        département (``"Voiron (38)"``); a name alone (``"Voiron"``). A bare 5-character code is
        always read as an INSEE code, never as a postal code.

        Raises:
            UnknownCommuneError: nothing matches.
            AmbiguousCommuneError: several communes match.
        """
        if not isinstance(text, str):
            raise UnknownCommuneError(
                repr(text), f"commune attendue sous forme de texte, reçu {text!r}"
            )
        stripped = text.strip()
        if len(stripped) == 5 and _INSEE_RE.fullmatch(stripped.upper()):
            return self.get(stripped)
        # Cheap tests first: most texts are a name alone.
        if stripped[:1].isdigit():
            match = _RESOLVE_POSTAL_FIRST.fullmatch(stripped)
            if match:
                return self._find(match[2], match[1], None, query=text)
        elif stripped[-1:].isdigit():
            match = _RESOLVE_POSTAL_LAST.fullmatch(stripped)
            if match:
                return self._find(match[1], match[2], None, query=text)
        elif stripped.endswith(")"):
            match = _RESOLVE_PARENTHESES.fullmatch(stripped)
            if match:
                code = match[2]
                if len(code) == 5:
                    return self._find(match[1], code, None, query=text)
                return self._find(match[1], None, code, query=text)
        return self._find(stripped, None, None, query=text)

    def without_point(self) -> tuple[Commune, ...]:
        """Return the communes that have no coordinates, sorted by INSEE code."""
        return self._without_point

    def subset(self, insee_codes: Iterable[str]) -> CommuneReference:
        """Return a reference holding only these communes (same vintage and source).

        Raises:
            UnknownCommuneError: a code is not in this reference.
        """
        chosen: dict[str, Commune] = {}
        for code in insee_codes:
            commune = self.get(code)
            chosen[commune.insee] = commune
        return CommuneReference(chosen.values(), vintage=self.vintage, source=self.source)

    # -- loading ------------------------------------------------------------------------

    @classmethod
    def from_csv(
        cls, path: str | os.PathLike[str], *, vintage: str, source: str
    ) -> CommuneReference:
        """Read a commune file (UTF-8 CSV, optionally gzip-compressed).

        Columns: ``insee, name, kind, department, postal_codes, population, lat, lon``
        (in any order; other columns are ignored). ``kind`` may be absent (every row is then a
        ``"commune"``), as in ``communes_38_59.csv``. ``postal_codes`` are joined by ``;``;
        ``postal_codes``, ``population`` and the pair ``lat``/``lon`` may be empty.

        Raises:
            ReferenceDataError: the file cannot be read or a row is invalid; the message names
                the file, the line, the column and what was expected.
        """
        filename = os.fspath(path)
        data = read_data_file(filename, "communes")
        with collector_paused():
            return cls(_parse_communes(data, filename), vintage=vintage, source=source)

    # -- helpers ------------------------------------------------------------------------

    def _find(
        self, name: str, postal_code: str | None, department: str | None, *, query: str
    ) -> Commune:
        if not isinstance(name, str):
            raise UnknownCommuneError(
                repr(name), f"nom de commune attendu sous forme de texte, reçu {name!r}"
            )
        index = self._name_index()
        found = index.get(normalize_name(name), ())
        if not found:
            suggestions = tuple(index[key][0].name for key in suggest_names(name, list(index)))
            raise UnknownCommuneError(
                query,
                f"aucune commune nommée {name.strip()!r} dans le référentiel"
                + did_you_mean(suggestions),
                suggestions,
            )
        narrowed = found
        criteria: list[str] = []
        if postal_code is not None:
            code = postal_code.strip()
            criteria.append(f"le code postal {code}")
            narrowed = tuple(c for c in narrowed if code in c.postal_codes)
        if department is not None:
            dep = _normalize_department(department)
            criteria.append(f"le département {dep}")
            if dep not in self._departments:
                raise UnknownCommuneError(query, f"département inconnu du référentiel : {dep!r}")
            narrowed = tuple(c for c in narrowed if c.department == dep)
        if len(narrowed) == 1:
            return narrowed[0]
        if not narrowed:
            raise UnknownCommuneError(
                query,
                f"aucune commune nommée {name.strip()!r} avec {' et '.join(criteria)} ; "
                f"communes de ce nom : {_describe(found)}",
            )
        raise AmbiguousCommuneError(query, _candidates(narrowed))

    def _name_index(self) -> dict[str, tuple[Commune, ...]]:
        """Return the index by normalised name, building it on first use.

        Building it costs about as much as the rest of the construction, and many uses (by
        INSEE code only) never need it. Two threads may both build it; they build equal
        indexes, and the reference stays observably immutable.
        """
        index = self._by_name
        if index is None:
            grouped: dict[str, list[Commune]] = {}
            with collector_paused():
                for commune in self._communes:
                    grouped.setdefault(normalize_name(commune.name), []).append(commune)
                index = {key: tuple(value) for key, value in grouped.items()}
            object.__setattr__(self, "_by_name", index)
        return index

    def _unknown_code_message(self, insee: str) -> str:
        message = f"code INSEE inconnu du référentiel : {insee!r}"
        served = self._by_postal_code.get(insee.strip())
        if served:
            message += f" ; c'est un code postal, celui de : {_describe(served)}"
        return message


# -- CSV parsing ------------------------------------------------------------------------


class _FieldError(Exception):
    def __init__(self, column: str, expected: str, found: str) -> None:
        super().__init__(column)
        self.column = column
        self.expected = expected
        self.found = found


def _parse_coordinate(column: str, text: str, low: float, high: float) -> float:
    value = float(text) if _DECIMAL_RE.fullmatch(text) else math.nan
    if not (low <= value <= high):  # also false for NaN
        raise _FieldError(column, f"nombre décimal entre {low:g} et {high:g} (degrés WGS84)", text)
    return value


def _parse_row(row: list[str], columns: dict[str, int]) -> Commune:
    insee = row[columns["insee"]].strip()
    if not _INSEE_RE.fullmatch(insee):
        raise _FieldError("insee", "code INSEE de 5 caractères (ex. 38563, 2A004)", insee)
    name = row[columns["name"]].strip()
    if not name:
        raise _FieldError("name", "nom de commune non vide", name)
    kind_index = columns.get("kind")
    kind = "commune" if kind_index is None else row[kind_index].strip()
    if kind not in KINDS:
        raise _FieldError("kind", "« commune » ou « arrondissement »", kind)
    department = row[columns["department"]].strip()
    if not _DEPARTMENT_RE.fullmatch(department):
        raise _FieldError("department", "code de département (ex. 38, 2A, 974)", department)
    if not insee.startswith(department):
        raise _FieldError(
            "department", f"département cohérent avec le code INSEE {insee}", department
        )
    postal_text = row[columns["postal_codes"]].strip()
    postal_codes: tuple[str, ...] = ()
    if postal_text:
        codes = [code.strip() for code in postal_text.split(";")]
        if not all(_POSTAL_CODE_RE.fullmatch(code) for code in codes):
            raise _FieldError(
                "postal_codes",
                "codes postaux de 5 chiffres séparés par « ; » (ou champ vide)",
                postal_text,
            )
        postal_codes = tuple(sorted(set(codes)))
    population_text = row[columns["population"]].strip()
    population: int | None = None
    if population_text:
        if not _POPULATION_RE.fullmatch(population_text):
            raise _FieldError(
                "population", "nombre entier positif ou nul (ou champ vide)", population_text
            )
        population = int(population_text)
    lat_text = row[columns["lat"]].strip()
    lon_text = row[columns["lon"]].strip()
    point: Point | None = None
    if lat_text or lon_text:
        if not lat_text:
            raise _FieldError("lat", "latitude renseignée puisque lon l'est", lat_text)
        if not lon_text:
            raise _FieldError("lon", "longitude renseignée puisque lat l'est", lon_text)
        lat = _parse_coordinate("lat", lat_text, -90.0, 90.0)
        lon = _parse_coordinate("lon", lon_text, -180.0, 180.0)
        if lat == 0.0 and lon == 0.0:
            raise _FieldError(
                "lat",
                "un vrai point ; (0, 0) n'est pas un chef-lieu : laisser lat et lon vides "
                "quand la commune n'a pas de coordonnées",
                f"{lat_text}, {lon_text}",
            )
        point = _trusted_point(lat, lon)
    return Commune(insee, name, kind, department, postal_codes, population, point)


def _decode(data: bytes, filename: str) -> str:
    data = gunzipped(data, filename)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ReferenceDataError(
            f"{filename}, ligne {line} : encodage UTF-8 attendu, octet {data[exc.start]:#04x} "
            "invalide"
        ) from exc


# _trusted_point relies on Point having exactly these two float fields.
_POINT_FIELDS_AS_EXPECTED = tuple(field.name for field in attrs.fields(Point)) == ("lat", "lon")


def _trusted_point(lat: float, lon: float) -> Point:
    """Build a :class:`Point` from coordinates already checked to be finite and in range.

    Skips the converters and validators of ``Point.__init__``, which would otherwise be the
    largest cost of loading the 35,000 communes of the bundled reference.
    """
    if not _POINT_FIELDS_AS_EXPECTED:  # pragma: no cover - Point changed shape
        return Point(lat, lon)
    point = object.__new__(Point)
    object.__setattr__(point, "lat", lat)
    object.__setattr__(point, "lon", lon)
    return point


# Whole-file fast path for well-formed files with the canonical header (no quoting, no
# spaces around fields, Unix or Windows line ends). Anything it does not accept goes to the
# csv-module path below, which gives the same communes and explains any error.
_HEADER_WITH_KIND = "insee,name,kind,department,postal_codes,population,lat,lon"
_HEADER_WITHOUT_KIND = "insee,name,department,postal_codes,population,lat,lon"
_FAST_INSEE = r"((?:[0-9][0-9]|2[AB])[0-9]{3}),"
_FAST_NAME = r'([^,"\s](?:[^,"\r\n]*[^,"\s])?),'
_FAST_REST = (
    r"([0-9][0-9]|2[AB]|9[78][0-9]),((?:[0-9]{5}(?:;[0-9]{5})*)?),([0-9]*),"
    r"(-?[0-9]{1,2}(?:\.[0-9]+)?|),(-?[0-9]{1,3}(?:\.[0-9]+)?|)\r?$"
)
_FAST_ROWS = {
    _HEADER_WITH_KIND: re.compile(
        f"^{_FAST_INSEE}{_FAST_NAME}(commune|arrondissement),{_FAST_REST}", re.MULTILINE
    ),
    _HEADER_WITHOUT_KIND: re.compile(f"^{_FAST_INSEE}{_FAST_NAME}(){_FAST_REST}", re.MULTILINE),
}


def _parse_fast(text: str) -> list[Commune] | None:
    """Parse a canonical file; ``None`` when anything is unusual or invalid."""
    header, _, body = text.partition("\n")
    row_re = _FAST_ROWS.get(header.rstrip("\r"))
    if row_re is None:
        return None
    rows = row_re.findall(body)
    lines = body.count("\n") + (1 if body and not body.endswith("\n") else 0)
    if len(rows) != lines:
        return None
    communes: list[Commune] = []
    append = communes.append
    for insee, name, kind, department, postal_text, population, lat_text, lon_text in rows:
        if not insee.startswith(department):
            return None
        point: Point | None = None
        if lat_text:
            if not lon_text:
                return None
            lat = float(lat_text)
            lon = float(lon_text)
            if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0) or (lat == 0.0 == lon):
                return None
            point = _trusted_point(lat, lon)
        elif lon_text:
            return None
        if ";" in postal_text:
            postal_codes: tuple[str, ...] = tuple(sorted(set(postal_text.split(";"))))
        else:
            postal_codes = (postal_text,) if postal_text else ()
        append(
            Commune(
                insee,
                name,
                kind or "commune",
                department,
                postal_codes,
                int(population) if population else None,
                point,
            )
        )
    if len({commune.insee for commune in communes}) != len(communes):
        return None
    return communes


def _parse_communes(data: bytes, filename: str) -> list[Commune]:
    text = _decode(data, filename)
    communes = _parse_fast(text)
    return _parse_checked(text, filename) if communes is None else communes


def _parse_checked(text: str, filename: str) -> list[Commune]:
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
        if header is None:
            raise ReferenceDataError(
                f"{filename}, ligne 1 : fichier vide ; en-tête attendu : {_EXPECTED_COLUMNS}"
            )
        names = [column.strip() for column in header]
        columns: dict[str, int] = {}
        for index, column in enumerate(names):
            if column in columns and column in (*_REQUIRED_COLUMNS, "kind"):
                raise ReferenceDataError(
                    f"{filename}, ligne 1 : colonne {column!r} en double ; "
                    f"colonnes attendues : {_EXPECTED_COLUMNS}"
                )
            columns.setdefault(column, index)
        missing = [column for column in _REQUIRED_COLUMNS if column not in columns]
        if missing:
            raise ReferenceDataError(
                f"{filename}, ligne 1 : colonne(s) manquante(s) : {', '.join(missing)} ; "
                f"colonnes attendues : {_EXPECTED_COLUMNS}"
            )
        width = len(header)
        communes: list[Commune] = []
        first_line: dict[str, int] = {}
        for row in reader:
            if not row or (len(row) == 1 and not row[0].strip()):
                continue  # blank line
            line = reader.line_num
            if len(row) != width:
                raise ReferenceDataError(
                    f"{filename}, ligne {line} : {len(row)} champ(s) au lieu de {width} "
                    f"(un par colonne de l'en-tête)"
                )
            try:
                commune = _parse_row(row, columns)
            except _FieldError as exc:
                raise ReferenceDataError(
                    f"{filename}, ligne {line}, colonne {exc.column} : {exc.expected} attendu, "
                    f"trouvé {exc.found!r}"
                ) from None
            previous = first_line.setdefault(commune.insee, line)
            if previous != line:
                raise ReferenceDataError(
                    f"{filename}, ligne {line}, colonne insee : code INSEE {commune.insee} "
                    f"déjà présent ligne {previous} ; un code unique par ligne attendu"
                )
            communes.append(commune)
    except csv.Error as exc:
        raise ReferenceDataError(
            f"{filename}, ligne {reader.line_num} : CSV mal formé ({exc})"
        ) from exc
    return communes


@functools.cache
def bundled_reference() -> CommuneReference:
    """Return the reference bundled with mt-access (all of France; see :data:`VINTAGE`).

    The file is read once; later calls return the same object.
    """
    resource = importlib.resources.files(_DATA_PACKAGE) / "data" / _DATA_FILE
    filename = f"{_DATA_PACKAGE.replace('.', '/')}/data/{_DATA_FILE}"
    try:
        data = resource.read_bytes()
    except OSError as exc:
        raise ReferenceDataError(
            f"{filename} : référentiel de communes intégré introuvable ; "
            "le régénérer avec scripts/build_geo_data.py"
        ) from exc
    with collector_paused():
        return CommuneReference(
            _parse_communes(data, filename), vintage=VINTAGE, source=BUNDLED_SOURCE
        )
