"""Import general practitioners from the public RPPS extraction (Annuaire Santé).

The national directory publishes ``PS_LibreAcces_Personne_activite_<timestamp>.txt``: UTF-8,
``|``-separated, a header line, a trailing ``|`` on every line, one line per practice activity
(over a million lines, all professions). :func:`read_extraction` reads it as a stream, one line
at a time, and keeps the general practitioners (profession "Médecin", savoir-faire "Médecine
générale") who practise in the territory's communes, or within a margin around them.

:func:`to_physicians` turns the extract into candidate :class:`~mt_access.model.Physician`
values (not accepting patients until the coordinator marks them), and :func:`merge_directory`
refreshes a known list of physicians from a newer extraction without touching what the CPTS
recorded, reporting who appeared and who disappeared from the directory.

Only public, professional data is read (name, profession, practice address, phone and e-mail); an
extract made for a CPTS stays inside the CPTS's tools.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from mt_access.errors import MatchInputError
from mt_access.model import Physician
from mt_access.rpps_extraction import (
    HEADER,
    MAX_WARNINGS,
    DirectoryExtract,
    DirectoryGP,
    PracticeSite,
    read_extraction,
)

__all__ = [
    "HEADER",
    "MAX_WARNINGS",
    "RPPS_EXPECTED",
    "DirectoryExtract",
    "DirectoryGP",
    "DirectoryUpdate",
    "FieldChange",
    "PracticeSite",
    "merge_directory",
    "read_extraction",
    "rpps_key",
    "rpps_key_ok",
    "to_physicians",
]


def rpps_key(first_ten: str) -> str:
    """The key (last digit) of the RPPS number starting with the ten digits ``first_ten``:
    the Luhn check digit (ISO/IEC 7812), as the RPPS numbers of the directory carry it.

    Raises:
        ValueError: ``first_ten`` is not ten ASCII digits.
    """
    if len(first_ten) != 10 or not (first_ten.isascii() and first_ten.isdigit()):
        raise ValueError("10 chiffres attendus")
    total = 0
    for index, char in enumerate(reversed(first_ten)):
        digit = int(char)
        if index % 2 == 0:  # doubled: the key, added after them, takes the odd place
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return str((10 - total % 10) % 10)


RPPS_EXPECTED = "numéro RPPS attendu : 11 chiffres dont le dernier est la clé de contrôle"
"""What a coordinator is told when a number is not written as an RPPS number."""


def rpps_key_ok(number: str) -> bool:
    """Whether ``number`` is written as an RPPS number: 11 ASCII digits, the last one the Luhn
    key of the first ten (:func:`rpps_key`)."""
    if len(number) != 11 or not (number.isascii() and number.isdigit()):
        return False
    return rpps_key(number[:10]) == number[10]


@attrs.frozen
class FieldChange:
    """A field of a known physician refreshed from the directory."""

    rpps: str
    physician_id: str
    field: str
    old: object
    new: object


@attrs.frozen
class DirectoryUpdate:
    """Result of :func:`merge_directory`.

    Attributes:
        physicians: the current physicians, in their order, with name, commune and location
            refreshed from the directory when matched by RPPS; everything else untouched.
        added: GPs of the directory not yet known, as candidates (see :func:`to_physicians`).
        disappeared: known physicians whose RPPS is no longer in the extract: they left the
            directory ("mon médecin cesse son activité": retirement, end of practice) or, when
            the extract was not read with their number in ``track_rpps``, maybe only the zone.
        left_zone: known physicians still in the directory (tracked with ``track_rpps``) but
            with no site left in the zone: they moved away.
        changes: every refreshed field, by RPPS then field.
    """

    physicians: tuple[Physician, ...]
    added: tuple[Physician, ...]
    disappeared: tuple[Physician, ...]
    left_zone: tuple[Physician, ...]
    changes: tuple[FieldChange, ...]

    @property
    def changed(self) -> dict[str, tuple[str, ...]]:
        """Names of the refreshed fields, by RPPS number."""
        result: dict[str, tuple[str, ...]] = {}
        for change in self.changes:
            result[change.rpps] = (*result.get(change.rpps, ()), change.field)
        return result


# -- physicians -----------------------------------------------------------------------------


def _candidate(gp: DirectoryGP, extract: DirectoryExtract, id_prefix: str) -> Physician:
    site = gp.main_site(extract.territory, extract.zone)
    return Physician(
        id=f"{id_prefix}{gp.rpps}",
        name=gp.display_name,
        commune=site.commune,
        accepting_new_patients=False,
        monthly_capacity=None,
        rpps=gp.rpps,
        contact=site.contact(),
    )


_CONTACT_FIELDS = ("phone", "mssante", "address", "practice")


def _merge_contact(
    physician: Physician, site: PracticeSite, *, moved: bool, changes: list[FieldChange]
) -> Physician:
    """The physician's contact refreshed from ``site``: a field the directory leaves empty is
    kept; a field already recorded is kept too unless the GP ``moved`` (the old practice's
    details are then wrong); notes are the CPTS's and never touched."""
    rpps = physician.rpps or ""
    directory = site.contact()
    current = physician.contact
    updated: dict[str, str] = {}
    for name in _CONTACT_FIELDS:
        new = getattr(directory, name)
        old = getattr(current, name)
        if new and new != old and (moved or not old):
            updated[name] = new
            changes.append(FieldChange(rpps, physician.id, f"contact.{name}", old, new))
    if not updated:
        return physician
    return attrs.evolve(physician, contact=attrs.evolve(current, **updated))


def to_physicians(extract: DirectoryExtract, *, id_prefix: str = "RPPS-") -> list[Physician]:
    """Candidate physicians, one per GP of the extract practising in the zone, by RPPS number.

    Each has id ``id_prefix + rpps``, the name ``"Dr Prénom Nom"``, the commune of their first
    site in the territory (else their first site) and that site's contact
    (:meth:`PracticeSite.contact`), no location (the commune's point applies),
    ``accepting_new_patients=False`` and no declared capacity: they are candidates until the
    coordinator marks them as members of the scheme.
    """
    return [_candidate(gp, extract, id_prefix) for gp in extract.in_zone()]


def merge_directory(
    current: Sequence[Physician], extract: DirectoryExtract, *, id_prefix: str = "RPPS-"
) -> DirectoryUpdate:
    """Refresh known physicians from a newer extraction.

    Physicians are matched by RPPS number. A matched physician gets the directory's name and,
    when none of their sites is in their recorded commune any more, the commune of their main
    site (their location is then cleared, as it was the old practice's); capacity, status
    history, modalities, accepted communes and the accepting flag are never touched.
    Their practice contact (phone, MSSanté, address, practice name) is completed from the site
    in their commune: a field the directory leaves empty never blanks what the coordinator
    entered, and a field already recorded is only replaced when the GP moved (new commune);
    the notes for patients are never touched.
    Physicians without an RPPS number are kept as they are.

    A known RPPS missing from the extract is reported in :attr:`DirectoryUpdate.disappeared`;
    a known GP whose sites are all outside the extract's zone (possible when the extract was
    read with ``track_rpps``) in :attr:`DirectoryUpdate.left_zone`. Both stay, unchanged, in
    :attr:`DirectoryUpdate.physicians`, for the coordinator to decide. Read the extraction with
    ``track_rpps`` set to the known numbers so that ``disappeared`` means "no longer in the
    directory as a GP".

    Raises:
        MatchInputError: two current physicians have the same RPPS number.
    """
    directory = extract.by_rpps()
    seen: dict[str, str] = {}
    physicians: list[Physician] = []
    disappeared: list[Physician] = []
    left_zone: list[Physician] = []
    changes: list[FieldChange] = []
    for physician in current:
        rpps = physician.rpps
        if rpps is None:
            physicians.append(physician)
            continue
        previous = seen.setdefault(rpps, physician.id)
        if previous != physician.id:
            raise MatchInputError(
                f"numéro RPPS {rpps} en double : médecins {previous} et {physician.id}"
            )
        gp = directory.get(rpps)
        if gp is None:
            disappeared.append(physician)
            physicians.append(physician)
            continue
        if not gp.practises_in(extract.zone):
            left_zone.append(physician)
            physicians.append(physician)
            continue
        updated = physician
        if physician.name != gp.display_name:
            updated = attrs.evolve(updated, name=gp.display_name)
            changes.append(FieldChange(rpps, physician.id, "name", physician.name, updated.name))
        moved = all(site.commune != physician.commune for site in gp.sites)
        if moved:
            site = gp.main_site(extract.territory, extract.zone)
            commune = site.commune
            updated = attrs.evolve(updated, commune=commune, location=None)
            changes.append(FieldChange(rpps, physician.id, "commune", physician.commune, commune))
            if physician.location is not None:
                changes.append(
                    FieldChange(rpps, physician.id, "location", physician.location, None)
                )
        else:
            site = gp.main_site([physician.commune])
        updated = _merge_contact(updated, site, moved=moved, changes=changes)
        physicians.append(updated)
    added = tuple(
        _candidate(gp, extract, id_prefix) for gp in extract.in_zone() if gp.rpps not in seen
    )
    return DirectoryUpdate(
        physicians=tuple(physicians),
        added=added,
        disappeared=tuple(disappeared),
        left_zone=tuple(left_zone),
        changes=tuple(changes),
    )
