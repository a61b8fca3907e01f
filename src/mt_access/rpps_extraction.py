"""Read the public RPPS extraction (Annuaire Santé): the general practitioners of a territory.

The national directory publishes ``PS_LibreAcces_Personne_activite_<timestamp>.txt``: UTF-8,
``|``-separated, a header line, a trailing ``|`` on every line, one line per practice activity
(over a million lines, all professions). :func:`read_extraction` reads it as a stream, one line
at a time, and keeps the general practitioners (profession "Médecin", savoir-faire "Médecine
générale") who practise in the territory's communes, or within a margin around them.

The public names are re-exported by :mod:`mt_access.rpps`, which also turns an extract into
physicians and refreshes a known list from it.
"""

from __future__ import annotations

import math
import os
from collections.abc import Collection, Iterator
from typing import IO

import attrs

from mt_access.errors import ReferenceDataError
from mt_access.geo.communes import CommuneReference
from mt_access.geo.distance import DistanceCache
from mt_access.geo.point import Point
from mt_access.model import PracticeContact, format_phone

__all__ = [
    "HEADER",
    "MAX_WARNINGS",
    "DirectoryExtract",
    "DirectoryGP",
    "PracticeSite",
    "read_extraction",
]

HEADER: tuple[str, ...] = (
    "Type d'identifiant PP",
    "Identifiant PP",
    "Identification nationale PP",
    "Code civilité d'exercice",
    "Libellé civilité d'exercice",
    "Code civilité",
    "Libellé civilité",
    "Nom d'exercice",
    "Prénom d'exercice",
    "Code profession",
    "Libellé profession",
    "Code catégorie professionnelle",
    "Libellé catégorie professionnelle",
    "Code type savoir-faire",
    "Libellé type savoir-faire",
    "Code savoir-faire",
    "Libellé savoir-faire",
    "Code mode exercice",
    "Libellé mode exercice",
    "Numéro SIRET site",
    "Numéro SIREN site",
    "Numéro FINESS site",
    "Numéro FINESS établissement juridique",
    "Identifiant technique de la structure",
    "Raison sociale site",
    "Enseigne commerciale site",
    "Complément destinataire (coord. structure)",
    "Complément point géographique (coord. structure)",
    "Numéro Voie (coord. structure)",
    "Indice répétition voie (coord. structure)",
    "Code type de voie (coord. structure)",
    "Libellé type de voie (coord. structure)",
    "Libellé Voie (coord. structure)",
    "Mention distribution (coord. structure)",
    "Bureau cedex (coord. structure)",
    "Code postal (coord. structure)",
    "Code commune (coord. structure)",
    "Libellé commune (coord. structure)",
    "Code pays (coord. structure)",
    "Libellé pays (coord. structure)",
    "Téléphone (coord. structure)",
    "Téléphone 2 (coord. structure)",
    "Télécopie (coord. structure)",
    "Adresse e-mail (coord. structure)",
    "Code Département (structure)",
    "Libellé Département (structure)",
    "Ancien identifiant de la structure",
    "Autorité d'enregistrement",
    "Code secteur d'activité",
    "Libellé secteur d'activité",
    "Code section tableau pharmaciens",
    "Libellé section tableau pharmaciens",
    "Code rôle",
    "Libellé rôle",
    "Code genre activité",
    "Libellé genre activité",
)
"""Columns of the extraction, in order (each line also ends with a trailing ``|``)."""


PROFESSION_PHYSICIAN = "Médecin"
SAVOIR_FAIRE_GP = "Médecine générale"
MAX_WARNINGS = 100
"""Detailed warnings kept per read; further ones are only counted (bounded memory)."""

_SEPARATORS = len(HEADER)  # one "|" after each field, the last one included
_COL = {name: index for index, name in enumerate(HEADER)}
_ID_PP = _COL["Identifiant PP"]
_NATIONAL_ID = _COL["Identification nationale PP"]
_CIVILITY_EX = _COL["Libellé civilité d'exercice"]
_CIVILITY = _COL["Libellé civilité"]
_LAST_NAME = _COL["Nom d'exercice"]
_FIRST_NAME = _COL["Prénom d'exercice"]
_PROFESSION = _COL["Libellé profession"]
_SAVOIR_FAIRE = _COL["Libellé savoir-faire"]
_MODE = _COL["Libellé mode exercice"]
_SIRET = _COL["Numéro SIRET site"]
_FINESS = _COL["Numéro FINESS site"]
_STRUCTURE = _COL["Raison sociale site"]
_SIGN = _COL["Enseigne commerciale site"]
_ADDRESS_EXTRA = _COL["Complément point géographique (coord. structure)"]
_STREET = (
    _COL["Numéro Voie (coord. structure)"],
    _COL["Indice répétition voie (coord. structure)"],
    _COL["Libellé type de voie (coord. structure)"],
    _COL["Libellé Voie (coord. structure)"],
)
_DISTRIBUTION = _COL["Mention distribution (coord. structure)"]
_POSTAL_CODE = _COL["Code postal (coord. structure)"]
_COMMUNE = _COL["Code commune (coord. structure)"]
_CITY = _COL["Libellé commune (coord. structure)"]
_PHONE = _COL["Téléphone (coord. structure)"]
_PHONE_2 = _COL["Téléphone 2 (coord. structure)"]
_EMAIL = _COL["Adresse e-mail (coord. structure)"]

_BOM = "\ufeff"

Source = str | os.PathLike[str] | IO[str] | IO[bytes]
"""A path, or an open stream (text or binary) positioned at the header line."""


@attrs.frozen
class PracticeSite:
    """A practice site of a GP, as published in the directory.

    Attributes:
        commune: INSEE code of the site's commune (from the directory, or resolved from the
            postal code and commune label).
        postal_code: postal code of the site.
        city: commune label as published (often upper case).
        address: street fields joined (complement, number, repetition index, street type and
            name, distribution mention).
        phone: the site's phone number ("" when absent).
        mode: "Libéral", "Salarié" or "Bénévole" (as published; may be empty).
        siret: SIRET of the site, when published.
        finess: FINESS of the site, when published.
        structure: company name of the site ("Raison sociale site"), when published.
        email: the site's e-mail address, when published ("" when absent).
        sign: the site's trading name ("Enseigne commerciale site"), when published.
    """

    commune: str
    postal_code: str
    city: str
    address: str
    phone: str = ""
    mode: str = ""
    siret: str | None = None
    finess: str | None = None
    structure: str = ""
    email: str = ""
    sign: str = ""

    def contact(self) -> PracticeContact:
        """The site as a GP's :class:`~mt_access.model.PracticeContact`.

        The phone (when it has the shape of one), the postal address (street fields, postal
        code and commune label), the practice's name (the trading name, else the company
        name) and, as MSSanté address, the site's e-mail when it is an ``mssante.fr`` one.
        A value too long for the contact's bounds is left out; no note.
        """
        email = self.email.strip()
        mssante = email if email.lower().endswith("mssante.fr") else ""
        town = " ".join(part for part in (self.postal_code, self.city) if part)
        address = ", ".join(part for part in (self.address, town) if part)
        return _safe_contact(
            phone=format_phone(self.phone) if self.phone else "",
            mssante=mssante,
            address=address,
            practice=self.sign or self.structure,
        )


def _safe_contact(**fields: str) -> PracticeContact:
    """A contact from directory values, each left out when it does not fit the contact."""
    kept: dict[str, str] = {}
    for name, value in fields.items():
        try:
            PracticeContact(**{name: value})
        except ValueError:
            continue
        kept[name] = value
    return PracticeContact(**kept)


@attrs.frozen
class DirectoryGP:
    """One general practitioner of the directory and their practice sites in the zone.

    Attributes:
        rpps: 11-digit RPPS number.
        civility: "Docteur" (civilité d'exercice) or the civility when no exercise one.
        last_name: as published (usually upper case).
        first_name: as published.
        sites: practice sites in the zone (territory and margin), in file order, no duplicate;
            every site for a GP tracked with ``track_rpps``.
    """

    rpps: str
    civility: str
    last_name: str
    first_name: str
    sites: tuple[PracticeSite, ...]

    @property
    def display_name(self) -> str:
        """Name as shown to coordinators: ``"Dr Prénom Nom"``."""
        name = " ".join(part for part in (self.first_name, self.last_name) if part)
        return f"Dr {name}" if name else "Dr"

    def practises_in(self, communes: Collection[str]) -> bool:
        """Whether one of the sites is in ``communes``."""
        return any(site.commune in communes for site in self.sites)

    def main_site(self, *preferred: Collection[str]) -> PracticeSite:
        """The first site in the first of ``preferred`` that holds one, else the first site."""
        for communes in preferred:
            for site in self.sites:
                if site.commune in communes:
                    return site
        return self.sites[0]


@attrs.frozen
class DirectoryExtract:
    """The GPs of a territory read from an extraction.

    Attributes:
        gps: one entry per GP, sorted by RPPS number.
        lines_read: data lines read (the header and blank lines excluded).
        warnings: French messages (file and line) about skipped lines, at most
            :data:`MAX_WARNINGS` detailed ones plus a summary line.
        malformed_lines: lines skipped because of their field count or encoding.
        territory: INSEE codes of the territory asked for.
        zone: INSEE codes accepted (the territory plus the communes within the margin).
        tracked: the RPPS numbers given as ``track_rpps``: those GPs are kept wherever they
            practise, with all their sites.
        source: the file name (or the stream's name).
    """

    gps: tuple[DirectoryGP, ...]
    lines_read: int
    warnings: tuple[str, ...] = ()
    malformed_lines: int = 0
    territory: frozenset[str] = frozenset()
    zone: frozenset[str] = frozenset()
    tracked: frozenset[str] = frozenset()
    source: str = "<flux>"

    def by_rpps(self) -> dict[str, DirectoryGP]:
        """The GPs by RPPS number."""
        return {gp.rpps: gp for gp in self.gps}

    def in_zone(self) -> tuple[DirectoryGP, ...]:
        """The GPs with at least one site in the zone (tracked GPs may have none)."""
        return tuple(gp for gp in self.gps if gp.practises_in(self.zone))


# -- reading --------------------------------------------------------------------------------


class _Warnings:
    def __init__(self) -> None:
        self.kept: list[str] = []
        self.dropped = 0

    def add(self, message: str) -> None:
        if len(self.kept) < MAX_WARNINGS:
            self.kept.append(message)
        else:
            self.dropped += 1

    def result(self) -> tuple[str, ...]:
        if self.dropped:
            return (*self.kept, f"… et {self.dropped} autre(s) avertissement(s) non détaillé(s)")
        return tuple(self.kept)


class _GPBuilder:
    __slots__ = ("civility", "first_name", "last_name", "sites")

    def __init__(self, civility: str, last_name: str, first_name: str) -> None:
        self.civility = civility
        self.last_name = last_name
        self.first_name = first_name
        self.sites: list[PracticeSite] = []


def _lines(source: Source) -> tuple[str, Iterator[str | bytes], IO[str] | IO[bytes] | None]:
    if isinstance(source, str | os.PathLike):
        name = os.fspath(source)
        try:
            stream: IO[bytes] = open(name, "rb")  # noqa: SIM115 - closed by the caller
        except OSError as exc:
            raise ReferenceDataError(
                f"{name} : lecture de l'extraction RPPS impossible ({exc.strerror or exc})"
            ) from exc
        return name, iter(stream), stream
    name = str(getattr(source, "name", "<flux>"))
    return name, iter(source), None


def _check_header(line: str | bytes | None, filename: str) -> None:
    if line is None:
        raise ReferenceDataError(f"{filename}, ligne 1 : fichier vide ; en-tête RPPS attendu")
    if isinstance(line, bytes):
        try:
            line = line.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ReferenceDataError(
                f"{filename}, ligne 1, colonne {exc.start + 1} : encodage UTF-8 attendu"
            ) from exc
    fields = line.lstrip(_BOM).rstrip("\r\n").split("|")
    if fields and fields[-1] == "":
        fields.pop()
    for index, expected in enumerate(HEADER):
        found = fields[index].strip() if index < len(fields) else None
        if found != expected:
            shown = "absente" if found is None else f"{found!r}"
            raise ReferenceDataError(
                f"{filename}, ligne 1, colonne {index + 1} : en-tête de l'extraction RPPS "
                f"(PS_LibreAcces_Personne_activite) attendu, colonne {expected!r} attendue, "
                f"trouvé {shown}"
            )
    if len(fields) > len(HEADER):
        raise ReferenceDataError(
            f"{filename}, ligne 1, colonne {len(HEADER) + 1} : {len(fields)} colonnes au lieu "
            f"de {len(HEADER)} ; en-tête de l'extraction RPPS attendu"
        )


def _zone(
    territory: frozenset[str], margin_km: float, distances: DistanceCache | None
) -> frozenset[str]:
    """The territory plus every commune of the reference within ``margin_km`` of it."""
    if margin_km <= 0 or distances is None:
        return territory
    reference = distances.reference
    centres: list[tuple[str, Point]] = []
    for code in sorted(territory):
        if code in reference:
            commune = reference.get(code)
            if commune.point is not None:
                centres.append((commune.insee, commune.point))
    zone = set(territory)
    lat_slack = margin_km / 110.0 + 0.01
    for commune in reference:
        point = commune.point
        if point is None or commune.insee in zone:
            continue
        for centre, at in centres:
            # Cheap bounding box first (1° of latitude is over 110 km), exact geodesic then.
            if abs(point.lat - at.lat) > lat_slack:
                continue
            cos_lat = max(math.cos(math.radians(max(abs(point.lat), abs(at.lat)))), 0.01)
            lon_gap = abs(point.lon - at.lon) % 360.0
            if min(lon_gap, 360.0 - lon_gap) > margin_km / (110.0 * cos_lat) + 0.01:
                continue
            if distances.between_communes(commune.insee, centre) <= margin_km:
                zone.add(commune.insee)
                break
    return frozenset(zone)


def _address(fields: list[str]) -> str:
    street = " ".join(part for part in (fields[i].strip() for i in _STREET) if part)
    parts = (fields[_ADDRESS_EXTRA].strip(), street, fields[_DISTRIBUTION].strip())
    return ", ".join(part for part in parts if part)


def read_extraction(
    path_or_stream: Source,
    *,
    communes: Collection[str],
    reference: CommuneReference | None = None,
    margin_km: float = 0,
    distances: DistanceCache | None = None,
    track_rpps: Collection[str] = (),
) -> DirectoryExtract:
    """Read the GPs practising in ``communes`` (and the margin) from an RPPS extraction.

    The file is read line by line and never held in memory; only the GPs kept are. A line is
    kept when its profession is "Médecin" and its savoir-faire "Médecine générale" and its
    site's commune is in the zone: the INSEE codes ``communes``, plus, when ``margin_km`` is
    positive, every commune of the reference whose point lies within ``margin_km`` of one of
    them. The site's commune is the ``Code commune (coord. structure)`` field, or, when it is
    empty, the commune of the reference with that postal code and label. Lines of one RPPS
    number are grouped into one :class:`DirectoryGP`; a GP's sites outside the zone are not
    kept.

    Args:
        path_or_stream: the file's path, or an open stream (binary or text) at the header.
        communes: INSEE codes of the territory.
        reference: commune reference, to resolve sites without a commune code and for the
            margin (defaults to ``distances.reference``).
        margin_km: distance around the territory's communes (chef-lieu to chef-lieu).
        distances: distance cache to use for the margin (one is built from ``reference``).
        track_rpps: RPPS numbers of GPs the CPTS already knows: they are kept wherever they
            practise, with all their sites, so that :func:`merge_directory` can tell a GP who
            left the zone from one who left the directory.

    Raises:
        ReferenceDataError: the file cannot be opened, or its first line is not the header of
            the extraction (message: file, line 1, column). Malformed data lines are not
            fatal: they are skipped and reported in :attr:`DirectoryExtract.warnings`.
        ValueError: ``margin_km`` is negative, or positive without a reference.
        TypeError: ``communes`` is a single string.
    """
    if isinstance(communes, str):
        raise TypeError(
            f"communes attend une collection de codes INSEE, pas une chaîne : {communes!r}"
        )
    if margin_km < 0 or math.isnan(margin_km):
        raise ValueError(f"marge négative ou invalide : {margin_km!r} km")
    if reference is None and distances is not None:
        reference = distances.reference
    if margin_km > 0:
        if reference is None:
            raise ValueError("une marge en km demande un référentiel de communes (reference=)")
        if distances is None:
            distances = DistanceCache(reference)
    territory = frozenset(code.strip().upper() for code in communes)
    zone = _zone(territory, margin_km, distances)
    filename, lines, owned = _lines(path_or_stream)
    try:
        _check_header(next(lines, None), filename)
        return _read_body(lines, filename, territory, zone, reference, frozenset(track_rpps))
    finally:
        if owned is not None:
            owned.close()


def _read_body(
    lines: Iterator[str | bytes],
    filename: str,
    territory: frozenset[str],
    zone: frozenset[str],
    reference: CommuneReference | None,
    track: frozenset[str],
) -> DirectoryExtract:
    warnings = _Warnings()
    malformed = 0
    gps: dict[str, _GPBuilder] = {}
    postal_in_zone: dict[str, bool] = {}
    resolved: dict[tuple[str, str], str | None] = {}
    count = 0
    marker = SAVOIR_FAIRE_GP
    marker_bytes = SAVOIR_FAIRE_GP.encode()
    for number, raw in enumerate(lines, start=2):
        # Cheap tests first: most lines are other professions or specialities.
        if isinstance(raw, bytes):
            if raw in (b"\n", b"\r\n", b""):
                continue
            count += 1
            if raw.count(b"|") != _SEPARATORS:
                malformed += 1
                warnings.add(_field_count_message(filename, number, raw.count(b"|")))
                continue
            if marker_bytes not in raw:
                continue
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                malformed += 1
                warnings.add(
                    f"{filename}, ligne {number}, octet {exc.start + 1} : encodage UTF-8 "
                    "attendu ; ligne ignorée"
                )
                continue
        else:
            if raw in ("\n", "\r\n", ""):
                continue
            count += 1
            if raw.count("|") != _SEPARATORS:
                malformed += 1
                warnings.add(_field_count_message(filename, number, raw.count("|")))
                continue
            if marker not in raw:
                continue
            line = raw
        fields = line.rstrip("\r\n").split("|")
        if (
            fields[_PROFESSION].strip() != PROFESSION_PHYSICIAN
            or fields[_SAVOIR_FAIRE].strip() != SAVOIR_FAIRE_GP
        ):
            continue
        rpps = fields[_ID_PP].strip()
        if not rpps:
            national = fields[_NATIONAL_ID].strip()
            rpps = national[1:] if len(national) == 12 else national
        tracked = rpps in track
        commune = fields[_COMMUNE].strip().upper()
        postal_code = fields[_POSTAL_CODE].strip()
        city = fields[_CITY].strip()
        if commune:
            if commune not in zone and not tracked:
                continue
        elif not postal_code:
            continue  # no practice site (e.g. a registration without activity)
        else:
            found = _resolve(
                postal_code, city, zone, reference, postal_in_zone, resolved, anywhere=tracked
            )
            if found is None:
                continue
            if not found:
                warnings.add(
                    f"{filename}, ligne {number}, colonne {_COMMUNE + 1} "
                    f"({HEADER[_COMMUNE]}) : commune vide et non retrouvée d'après le code "
                    f"postal {postal_code} et le libellé {city!r} ; site ignoré"
                )
                continue
            commune = found
        if not (len(rpps) == 11 and rpps.isdigit()):
            warnings.add(
                f"{filename}, ligne {number}, colonne {_ID_PP + 1} ({HEADER[_ID_PP]}) : numéro "
                f"RPPS à 11 chiffres attendu, trouvé {rpps!r} ; ligne ignorée"
            )
            continue
        site = PracticeSite(
            commune=commune,
            postal_code=postal_code,
            city=city,
            address=_address(fields),
            phone=fields[_PHONE].strip() or fields[_PHONE_2].strip(),
            mode=fields[_MODE].strip(),
            siret=fields[_SIRET].strip() or None,
            finess=fields[_FINESS].strip() or None,
            structure=fields[_STRUCTURE].strip(),
            email=fields[_EMAIL].strip(),
            sign=fields[_SIGN].strip(),
        )
        builder = gps.get(rpps)
        if builder is None:
            civility = fields[_CIVILITY_EX].strip() or fields[_CIVILITY].strip()
            builder = _GPBuilder(civility, fields[_LAST_NAME].strip(), fields[_FIRST_NAME].strip())
            gps[rpps] = builder
        if site not in builder.sites:
            builder.sites.append(site)
    result = tuple(
        DirectoryGP(rpps, b.civility, b.last_name, b.first_name, tuple(b.sites))
        for rpps, b in sorted(gps.items())
    )
    return DirectoryExtract(
        gps=result,
        lines_read=count,
        warnings=warnings.result(),
        malformed_lines=malformed,
        territory=territory,
        zone=zone,
        tracked=track,
        source=filename,
    )


def _field_count_message(filename: str, number: int, separators: int) -> str:
    return (
        f"{filename}, ligne {number}, colonne {min(separators, _SEPARATORS) + 1} : "
        f"{separators} séparateur(s) « | » au lieu de {_SEPARATORS} (un après chacune des "
        f"{len(HEADER)} colonnes) ; ligne ignorée"
    )


def _resolve(
    postal_code: str,
    city: str,
    zone: frozenset[str],
    reference: CommuneReference | None,
    postal_in_zone: dict[str, bool],
    resolved: dict[tuple[str, str], str | None],
    *,
    anywhere: bool = False,
) -> str | None:
    """INSEE code of a site without commune code: ``None`` outside the zone, ``""`` unknown.

    With ``anywhere`` (a tracked GP), a site outside the zone is resolved too.
    """
    if reference is None:
        return ""
    in_zone = postal_in_zone.get(postal_code)
    if in_zone is None:
        in_zone = any(c.insee in zone for c in reference.by_postal_code(postal_code))
        postal_in_zone[postal_code] = in_zone
    if not in_zone and not anywhere:
        return None  # no commune of this postal code is in the zone
    key = (postal_code, city)
    if key not in resolved:
        insee: str | None = ""
        candidates = reference.by_postal_code(postal_code)
        try:
            insee = reference.find(city, postal_code=postal_code).insee
        except ReferenceDataError:
            if len(candidates) == 1:
                insee = candidates[0].insee
        resolved[key] = insee
    found = resolved[key]
    if found and found not in zone and not anywhere:
        return None
    return found
