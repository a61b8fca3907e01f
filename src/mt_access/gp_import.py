"""Importing a GP file once read (:mod:`mt_access.gp_file`): :func:`import_gps` records
its GPs through the register's operations, all or none; :func:`write_gp_rejections` writes
the rows not imported and why, for the coordinator.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import attrs

from mt_access.export import ColumnType, write_rows
from mt_access.gp_file import CONTACT_FIELDS, GPEntry, GPImportResult, GPRowStatus
from mt_access.model import Physician

if TYPE_CHECKING:
    from mt_access.register import Register

__all__ = ["GPImportOutcome", "import_gps", "write_gp_rejections"]


# ------------------------------------------------------------------------------------------
# Importing


@attrs.frozen
class GPImportOutcome:
    """What :func:`import_gps` recorded.

    Attributes:
        added: ``(row, GP id)`` of the GPs added.
        updated: ``(row, GP id)`` of the GPs updated (``update=True``).
        identical: ``(row, GP id)`` of the rows skipped, the register holding them already.
        not_updated: ``(row, GP id, headings)`` of the changed rows left as they are:
            all of them without ``update``; with it, the differences an update does not
            record (a joining already recorded).
    """

    added: tuple[tuple[int, str], ...] = ()
    updated: tuple[tuple[int, str], ...] = ()
    identical: tuple[tuple[int, str], ...] = ()
    not_updated: tuple[tuple[int, str, tuple[str, ...]], ...] = ()

    @property
    def nothing_new(self) -> bool:
        return not self.added and not self.updated

    def summary(self) -> str:
        """One French sentence: GPs added, updated, already recorded, not updated."""
        return (
            f"{len(self.added)} médecin(s) ajouté(s), {len(self.updated)} mis à jour, "
            f"{len(self.identical)} déjà enregistré(s) à l'identique, "
            f"{len(self.not_updated)} modifié(s) non mis à jour"
        )


def import_gps(
    register: Register, result: GPImportResult, *, update: bool = False, comment: str = ""
) -> GPImportOutcome:
    """Record the GPs of ``result`` through the register's operations, in one transaction
    (all or none): ``add_physician``, then ``join`` and ``withdraw_physician`` when the row
    gives their dates (as ``mt-access medecin ajouter|adherer|retirer``); with ``update``,
    the changed GPs' record by ``update_physicians`` (as ``medecin coordonnees``) and their
    missing joining or withdrawal. ``comment`` goes with a joining whose row has none.

    ``result`` should be read just before (:func:`read_gp_file` against the register as it
    is): a row the register refuses anyway raises and nothing is recorded.

    Raises:
        RegisterOperationError, RegisterError: the register refused an operation (nothing
            recorded).
    """
    added: list[tuple[int, str]] = []
    updated: list[tuple[int, str]] = []
    identical: list[tuple[int, str]] = []
    not_updated: list[tuple[int, str, tuple[str, ...]]] = []
    with register.store.transaction():
        for entry in result.entries:
            status = entry.status
            if status == GPRowStatus.IDENTICAL:
                identical.append((entry.row, entry.id))
                continue
            if status == GPRowStatus.CHANGED and not update:
                not_updated.append((entry.row, entry.id, (*entry.differences, *entry.fixed)))
                continue
            if status == GPRowStatus.NEW:
                register.add_physician(entry.physician)
                _participation(register, entry, comment)
                added.append((entry.row, entry.id))
                continue
            existing = register.physician(entry.id)
            if entry.differences:
                register.update_physicians([_updated_record(existing, entry)])
                _participation(register, entry, comment)
                updated.append((entry.row, entry.id))
            if entry.fixed:
                not_updated.append((entry.row, entry.id, entry.fixed))
    return GPImportOutcome(tuple(added), tuple(updated), tuple(identical), tuple(not_updated))


def _updated_record(existing: Physician, entry: GPEntry) -> Physician:
    mine = entry.physician
    contact = attrs.evolve(
        existing.contact,
        **{f: getattr(mine.contact, f) for f in CONTACT_FIELDS if f in entry.filled},
    )
    return attrs.evolve(
        existing,
        name=mine.name,
        commune=mine.commune,
        rpps=mine.rpps or existing.rpps,
        contact=contact,
    )


def _participation(register: Register, entry: GPEntry, comment: str) -> None:
    """The row's joining and withdrawal, those the reading found the register does not have
    yet (:attr:`GPEntry.to_join`, :attr:`GPEntry.to_withdraw`)."""
    if entry.to_join and entry.joined is not None and entry.capacity is not None:
        register.join(
            entry.id,
            entry.joined,
            monthly_capacity=entry.capacity,
            modalities=entry.modalities,
            accepted_communes=entry.accepted_communes,
            comment=entry.comment or comment,
            period=entry.period,
        )
    if entry.to_withdraw and entry.withdrawn is not None:
        register.withdraw_physician(entry.id, entry.withdrawn, entry.comment or comment)


# ------------------------------------------------------------------------------------------
# The rejections report


_REPORT_HEADERS = ("ligne", "colonne", "valeur", "message")


def write_gp_rejections(result: GPImportResult, path: str | Path | None = None) -> Path:
    """Write the rows not imported (problems and duplicates) for the coordinator, as the
    request import's report (:func:`~mt_access.intake.write_rejections`): ``ligne``,
    ``colonne``, ``valeur`` (the cell's text; empty for a contact column), ``message``;
    ``.csv`` (French Excel's) or ``.xlsx`` by the suffix, formula-like cells neutralised.

    Args:
        result: what :func:`read_gp_table` returned.
        path: the file to write; by default ``<stem>.rejets.csv`` next to the file read.

    Returns:
        The path written.
    """
    if path is None:
        source = Path(re.sub(r"\[[^\[\]]*\]$", "", result.source))
        path = source.with_name(f"{source.stem}.rejets.csv")
    lines: list[tuple[int, int, str, str, str]] = []
    for index, problem in enumerate(result.problems):
        lines.append((problem.row, index, problem.column or "", problem.value, problem.expected))
    for index, duplicate in enumerate(result.duplicates, start=len(lines)):
        lines.append((duplicate.row, index, "", "", duplicate.explanation))
    lines.sort(key=lambda line: line[:2])
    rows = [
        dict(zip(_REPORT_HEADERS, (str(row), column, value, message), strict=True))
        for row, _, column, value, message in lines
    ]
    return write_rows(
        rows, _REPORT_HEADERS, Path(path), sheet="Rejets", types={"ligne": ColumnType.INTEGER}
    )
