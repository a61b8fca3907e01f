"""What an import of a form export returns: the accepted records, the problems, the
duplicates, the result, and the digest that recognises a row already imported.
"""

from __future__ import annotations

import hashlib
import unicodedata

import attrs

from mt_access.intake.forms import (
    header_key,
)
from mt_access.intake.tabular import (
    Row,
)
from mt_access.labels import LabelledEnum, register_labels
from mt_access.model import (
    PatientIdentity,
    Request,
)

__all__ = [
    "DuplicateReason",
    "IntakeDuplicate",
    "IntakeProblem",
    "IntakeRecord",
    "IntakeResult",
    "row_digest",
]


@attrs.frozen
class IntakeProblem:
    """A bad cell (or row): the row is not imported.

    ``str(problem)`` (« ligne 4, colonne « Date de naissance » : date attendue... ») never
    holds the cell's value, which may identify a patient.

    Attributes:
        row: the row number, as the spreadsheet shows it.
        column: the column header, as written in the file (``None`` for the whole row).
        expected: what was expected, in French.
        value: the cell's text, for the rejections file only (left out of ``str`` and
            ``repr``).
        candidates: for an ambiguous commune name, ``(insee, name, department)`` of each
            commune it fits.
    """

    row: int
    column: str | None
    expected: str
    value: str = attrs.field(default="", repr=False)
    candidates: tuple[tuple[str, str, str], ...] = ()

    def __str__(self) -> str:
        where = f"ligne {self.row}"
        if self.column is not None:
            where += f", colonne « {self.column} »"
        return f"{where} : {self.expected}"


class DuplicateReason(LabelledEnum):
    """Why a row is recognised as a person already imported or known."""

    SAME_PERSON = "same_person"
    SAME_IDENTIFIER = "same_identifier"
    SAME_SUBMISSION = "same_submission"


register_labels(
    {
        DuplicateReason.SAME_PERSON: "mêmes nom, prénom et date de naissance",
        DuplicateReason.SAME_IDENTIFIER: "même identifiant de la personne",
        DuplicateReason.SAME_SUBMISSION: "même identifiant de réponse au formulaire",
    }
)


@attrs.frozen
class IntakeDuplicate:
    """A row repeating a person imported from an earlier row or already known: not imported.

    Attributes:
        row: the duplicate row.
        of_row: the earlier row of the same file it repeats, if any.
        of_request: the id of the known request it repeats, if any.
        reason: how it was recognised.
    """

    row: int
    of_row: int | None
    of_request: str | None
    reason: DuplicateReason

    def __str__(self) -> str:
        return f"ligne {self.row} : {self.explanation}"

    @property
    def explanation(self) -> str:
        """What the row repeats, and how it was recognised (French, without the row)."""
        if self.of_request is not None:
            what = f"personne déjà enregistrée (demande {self.of_request})"
        else:
            what = f"doublon de la ligne {self.of_row}"
        return f"{what} ({self.reason.label}) ; ligne non importée"


@attrs.frozen
class IntakeRecord:
    """A row imported as a request.

    Attributes:
        row: the row number, as the spreadsheet shows it.
        request: the request, with a provisional id (the form's submission id when the form
            has one, else ``ligne-<row>``); the register gives the final id.
        identity: the patient's name, contact and address (personal data; left out of
            ``repr``).
        in_territory: whether the patient's commune is in the policy's territory; a request
            from outside is recorded out of scope by the register.
        form_id: the form's submission id, when the form has one.
        household_link: the same text on every record of one household (rows sharing the
            household column, or, without one, the same last name and address), else
            ``None``; also the request's ``household_id``.
        digest: the row's :func:`row_digest`, recorded by the register with the request so
            that the same row is never imported twice (``""``: not recorded).
    """

    row: int
    request: Request
    identity: PatientIdentity = attrs.field(repr=False)
    in_territory: bool
    form_id: str | None = None
    household_link: str | None = None
    digest: str = ""


@attrs.frozen
class IntakeResult:
    """What :func:`import_table` made of a file.

    Attributes:
        source: the file read (and ``[sheet]`` for a workbook).
        rows: the number of data rows read.
        accepted: the imported rows, in file order.
        problems: the bad cells, by row then column order.
        duplicates: the rows repeating a person, by row.
        already_imported: ``(row, request id)`` of the rows already imported (the same
            content was imported before, from this file or another export), by row: skipped.
        unread_columns: the file's column headers no field of the mapping reads, in file
            order (a warning: their content is not imported).
        column_hints: ``(header, explanation)`` for the unread columns that look like a
            field (« ALD », « Nb enfants »...): which field, and why it was not read.
        absent_columns: ``(headers, field label)`` of the optional fields whose column is
            not in the file (a warning: the field takes its default value).
    """

    source: str
    rows: int
    accepted: tuple[IntakeRecord, ...] = ()
    problems: tuple[IntakeProblem, ...] = ()
    duplicates: tuple[IntakeDuplicate, ...] = ()
    already_imported: tuple[tuple[int, str], ...] = ()
    unread_columns: tuple[str, ...] = ()
    column_hints: tuple[tuple[str, str], ...] = ()
    absent_columns: tuple[tuple[str, str], ...] = ()

    @property
    def requests(self) -> tuple[Request, ...]:
        """The requests of the accepted rows."""
        return tuple(record.request for record in self.accepted)

    @property
    def out_of_territory(self) -> tuple[IntakeRecord, ...]:
        """The accepted rows whose commune is outside the territory."""
        return tuple(record for record in self.accepted if not record.in_territory)

    @property
    def rejected_rows(self) -> tuple[int, ...]:
        """The rows not imported (a problem or a duplicate), sorted."""
        rows = {p.row for p in self.problems} | {d.row for d in self.duplicates}
        return tuple(sorted(rows))

    def summary(self) -> str:
        """One French sentence: rows read, imported (out of territory), rejected, duplicates,
        already imported."""
        out = len(self.out_of_territory)
        rejected = len({p.row for p in self.problems})
        already = (
            f", {len(self.already_imported)} ligne(s) déjà importée(s)"
            if self.already_imported
            else ""
        )
        return (
            f"{self.rows} ligne(s) lue(s) : {len(self.accepted)} demande(s) importée(s)"
            f" (dont {out} hors territoire), {rejected} ligne(s) rejetée(s),"
            f" {len(self.duplicates)} doublon(s){already}"
        )

    def warnings(self, *, absent: bool = True) -> list[str]:
        """The warnings about the file's columns, in French, one line each: columns not
        read (with the field an unread column looks like) and, with ``absent``, optional
        columns absent (the ``generique`` preset names many columns a spreadsheet may not
        have: the command line leaves that line out for it)."""
        lines: list[str] = []
        hinted = dict(self.column_hints)
        plain = [header for header in self.unread_columns if header not in hinted]
        if plain:
            listed = ", ".join(f"« {shown_header(header)} »" for header in plain)
            lines.append(
                f"{len(plain)} colonne(s) du fichier non lue(s) par le formulaire "
                f"(leur contenu n'est pas importé) : {listed}"
            )
        for header, hint in self.column_hints:
            lines.append(f"colonne « {shown_header(header)} » non lue : {hint}")
        if absent and self.absent_columns:
            listed = " ; ".join(f"{headers} ({label})" for headers, label in self.absent_columns)
            lines.append(
                f"colonne(s) facultative(s) absente(s) du fichier, champ(s) non lu(s) : {listed}"
            )
        return lines


def shown_header(header: str) -> str:
    """A header as a message shows it: at most 80 characters, on one line."""
    text = " ".join(header.split())
    return text if len(text) <= 80 else text[:79] + "…"


_DIGEST_DOMAIN = b"mt-access intake row v1\n"


def row_digest(row: Row) -> str:
    """The digest of a form row's content: what makes a second import of the same row
    recognisable, from the same file or from a later, bigger export.

    SHA-256 of the non-empty cells (text stripped, Unicode NFC) keyed by their header
    compared like headers (:func:`~mt_access.intake.forms.header_key`): the row number, the
    column order, empty columns and the file's encoding or format do not change it; any
    change of a cell does. Only the digest is kept by the register, never the cells.
    """
    cells = sorted(
        (header_key(header), unicodedata.normalize("NFC", text.strip()))
        for header, text in row.values.items()
        if text.strip()
    )
    digest = hashlib.sha256(_DIGEST_DOMAIN)
    for key, text in cells:
        for part in (key, text):
            data = part.encode("utf-8", "surrogatepass")
            digest.update(len(data).to_bytes(8, "big"))
            digest.update(data)
    return digest.hexdigest()
