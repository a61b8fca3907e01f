"""A file of GPs (CSV or XLSX) read, checked against the register, and imported through the
register's operations: ``mt-access medecin importer`` and the web page « Importer des
médecins ».

The file has one GP a row and French column headings (:data:`GP_COLUMNS`): « RPPS »
(or « Identifiant »), « Nom », « Commune d'exercice » are required; « Prénom », « Places par
mois » (or « Places par an »), « Modalités », « Communes acceptées », « Date d'entrée »,
« Date de retrait », « Commentaire » and the practice's contact columns are optional.
Headings are compared without case, accents, punctuation nor extra spaces, and each has
synonyms (« Numéro RPPS », « Capacité mensuelle », « Date d'adhésion »...). The CSV reading
is the request import's (:func:`~mt_access.intake.tabular.read_table`: encoding and
separator detected). A CPTS whose spreadsheet uses its own headings describes them in a
YAML file (:mod:`mt_access.gp_mapping`, ``--correspondance``).

:func:`read_gp_file` (:func:`read_gp_table` for a table already read) checks each row: the
RPPS number (11 digits and its Luhn key, :func:`~mt_access.rpps.rpps_key_ok`), the commune
(an INSEE code, or a name resolved with the policy's commune reference, « vouliez-vous dire »
suggestions when unknown), the capacity within :mod:`mt_access.bounds`, the dates (jj/mm/aaaa,
aaaa-mm-jj or « 3 janvier 2026 », not after today), the modalities and the contact details.
A bad cell rejects its row, with the row, the column and what was expected; the value of a
contact cell is never kept. The joining and the withdrawal are tried with the register's own
pure functions (:mod:`mt_access.gp_register`), so a row the register would refuse (a withdrawal
before the joining...) is rejected at reading, not halfway through the import.

Each row read is then one of:

* **nouveau**: no GP of the register has its id, its RPPS number, nor (for a GP recorded
  without RPPS) its name in its commune: it is added;
* **identique**: a GP of the register is the same for every cell the row fills: skipped, and
  said so (importing the same file twice adds nothing);
* **modifié**: a GP of the register differs (the headings that differ are listed, never the
  values): not changed, unless the import is asked to update (:func:`import_gps` with
  ``update=True``, ``--mettre-a-jour`` on the command line). An update replaces the name,
  commune, RPPS number and the contact cells the row fills (an empty cell never erases), and
  records a joining or a withdrawal the register does not have yet; it never rewrites a
  joining already recorded (its date, capacity, modalities, communes): those differences are
  listed as « à modifier sur la fiche du médecin ».

Rows repeating an earlier row (same id or RPPS number) and rows that look like a GP of the
register recorded without RPPS (same name, same commune, another id) are duplicates: not
imported. :func:`~mt_access.gp_import.import_gps` writes every new (and, asked,
changed) GP in one transaction: all of them or none;
:func:`~mt_access.gp_import.write_gp_rejections` writes the rows not imported and why.

Nothing here prints; only :func:`read_gp_file` reads a file.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import attrs

from mt_access.errors import RegisterError
from mt_access.gp_file_cells import (
    BY_FIELD,
    CONTACT_FIELDS,
    GP_COLUMNS,
    INSEE,
    MAX_COMMENT,
    MAX_NAME,
    MIN_GP_DATE,
    MONTHLY,
    YEARLY,
    GPColumn,
    RowReader,
    display_name,
    strip_title,
    table_columns,
)
from mt_access.gp_register import identifier_problem
from mt_access.gp_register import join as _join
from mt_access.gp_register import withdraw as _withdraw
from mt_access.intake.cells import BadCell
from mt_access.intake.communes import CommuneResolver
from mt_access.intake.records import IntakeProblem, shown_header
from mt_access.intake.tabular import (
    Row,
    Table,
    normalize_text,
    read_table,
)
from mt_access.ledger import CapacityDeclared, LedgerEntry, Period
from mt_access.model import (
    Modality,
    Physician,
    PhysicianStatus,
)
from mt_access.rpps import RPPS_EXPECTED, rpps_key_ok

if TYPE_CHECKING:
    from mt_access.gp_mapping import GPMapping
    from mt_access.policy import Policy

__all__ = [
    "CONTACT_FIELDS",
    "GP_COLUMNS",
    "MIN_GP_DATE",
    "GPColumn",
    "GPDuplicate",
    "GPEntry",
    "GPImportResult",
    "GPRowStatus",
    "display_name",
    "read_gp_file",
    "read_gp_table",
]

# ------------------------------------------------------------------------------------------
# What a reading returns


class GPRowStatus:
    """What a row read is for the register (French words, as the pages and the command line
    say them)."""

    NEW = "nouveau"
    IDENTICAL = "identique"
    CHANGED = "modifié"


@attrs.frozen
class GPEntry:
    """A row of the file read without problem.

    Attributes:
        row: the row number, as the spreadsheet shows it.
        physician: the GP's record from the row (id, name, commune, RPPS, contact details),
            without participation: what ``medecin ajouter`` records.
        joined: the joining date, if the row gives one.
        capacity: the capacity declared at the joining (``None``: no joining).
        period: ``"month"`` (« Places par mois ») or ``"year"`` (« Places par an »).
        modalities: the modalities declared at the joining.
        accepted_communes: the communes accepted, INSEE codes (empty: the policy's default).
        withdrawn: the withdrawal date, if the row gives one.
        comment: kept with the joining.
        filled: the fields (:attr:`GPColumn.field`) whose cell is not empty.
        existing: the id of the register's GP the row is (``None``: a new GP).
        differences: the headings whose cell differs from that GP, that an update records.
        fixed: the headings whose cell differs from a joining already recorded: an update
            leaves them (changed on the GP's page).
        to_join: the import records the row's joining (a new GP, or one the register does
            not have yet).
        to_withdraw: the import records the row's withdrawal.
    """

    row: int
    physician: Physician = attrs.field(repr=False)
    joined: dt.date | None = None
    capacity: int | None = None
    period: Period = "month"
    modalities: frozenset[Modality] = frozenset({Modality.OFFICE})
    accepted_communes: frozenset[str] = frozenset()
    withdrawn: dt.date | None = None
    comment: str = attrs.field(default="", repr=False)
    filled: frozenset[str] = frozenset()
    existing: str | None = None
    differences: tuple[str, ...] = ()
    fixed: tuple[str, ...] = ()
    to_join: bool = False
    to_withdraw: bool = False

    @property
    def id(self) -> str:
        return self.physician.id

    @property
    def status(self) -> str:
        """:class:`GPRowStatus`: ``nouveau``, ``identique`` or ``modifié``."""
        if self.existing is None:
            return GPRowStatus.NEW
        return GPRowStatus.CHANGED if self.differences or self.fixed else GPRowStatus.IDENTICAL


@attrs.frozen
class GPDuplicate:
    """A row not imported because it repeats an earlier row or a GP of the register.

    Attributes:
        row: the duplicate row.
        of_row: the earlier row of the file it repeats, if any.
        of_physician: the register's GP it looks like, if any.
        reason: how it was recognised (French).
    """

    row: int
    of_row: int | None
    of_physician: str | None
    reason: str

    @property
    def explanation(self) -> str:
        """What the row repeats and how it was recognised (French, without the row)."""
        if self.of_physician is not None:
            return (
                f"ressemble au médecin {self.of_physician} déjà enregistré ({self.reason}) ; "
                f"ligne non importée : indiquez l'identifiant {self.of_physician} dans la "
                "colonne « Identifiant » pour le mettre à jour"
            )
        return f"doublon de la ligne {self.of_row} ({self.reason}) ; ligne non importée"

    def __str__(self) -> str:
        return f"ligne {self.row} : {self.explanation}"


@attrs.frozen
class GPImportResult:
    """What :func:`read_gp_table` made of a file.

    Attributes:
        source: the file read (and ``[sheet]`` for a workbook).
        rows: the data rows read.
        entries: the rows read without problem, in file order.
        problems: the bad cells, by row then column.
        duplicates: the rows repeating an earlier row or a GP of the register, by row.
        columns: ``(field, heading as in the file)`` of the columns read.
        unread_columns: the file's headings no column of :data:`GP_COLUMNS` reads.
    """

    source: str
    rows: int
    entries: tuple[GPEntry, ...] = ()
    problems: tuple[IntakeProblem, ...] = ()
    duplicates: tuple[GPDuplicate, ...] = ()
    columns: tuple[tuple[str, str], ...] = ()
    unread_columns: tuple[str, ...] = ()

    def _with(self, status: str) -> tuple[GPEntry, ...]:
        return tuple(entry for entry in self.entries if entry.status == status)

    @property
    def new(self) -> tuple[GPEntry, ...]:
        """The GPs to add."""
        return self._with(GPRowStatus.NEW)

    @property
    def identical(self) -> tuple[GPEntry, ...]:
        """The rows the register already holds as they are: skipped."""
        return self._with(GPRowStatus.IDENTICAL)

    @property
    def changed(self) -> tuple[GPEntry, ...]:
        """The rows whose GP the register holds differently."""
        return self._with(GPRowStatus.CHANGED)

    @property
    def rejected_rows(self) -> tuple[int, ...]:
        """The rows not imported (a problem or a duplicate), sorted."""
        return tuple(sorted({p.row for p in self.problems} | {d.row for d in self.duplicates}))

    def summary(self) -> str:
        """One French sentence: rows read, new, identical, changed, rejected, duplicates."""
        rejected = len({p.row for p in self.problems})
        return (
            f"{self.rows} ligne(s) lue(s) : {len(self.new)} médecin(s) nouveau(x), "
            f"{len(self.identical)} déjà enregistré(s) à l'identique, {len(self.changed)} "
            f"modifié(s), {rejected} ligne(s) rejetée(s), {len(self.duplicates)} doublon(s)"
        )

    def warnings(self) -> list[str]:
        """The columns of the file not read, in French (one line, or none)."""
        if not self.unread_columns:
            return []
        listed = ", ".join(f"« {shown_header(h)} »" for h in self.unread_columns)
        return [
            f"{len(self.unread_columns)} colonne(s) du fichier non lue(s) (leur contenu n'est "
            f"pas importé) : {listed}"
        ]

    def digest(self) -> str:
        """A fingerprint of what an import would do now (each row's status, the differences,
        problems and duplicates): the web page's confirmation carries it, so that a register
        changed since the preview is noticed."""
        parts = [self.source.rsplit("/", 1)[-1], str(self.rows)]
        for entry in self.entries:
            parts.append(
                f"{entry.row}|{entry.id}|{entry.status}|{','.join(entry.differences)}|"
                f"{','.join(entry.fixed)}"
            )
        parts.extend(f"p{p.row}|{p.column}|{p.expected}" for p in self.problems)
        parts.extend(f"d{d.row}|{d.of_row}|{d.of_physician}" for d in self.duplicates)
        return hashlib.sha256("\n".join(parts).encode("utf-8")).hexdigest()[:24]


class _Reader:
    """Reads the rows of one table against the register's GPs."""

    def __init__(
        self,
        policy: Policy,
        physicians: Iterable[Physician],
        declarations: Iterable[LedgerEntry],
        today: dt.date,
    ) -> None:
        self.policy = policy
        self.today = today
        reference = policy.reference
        self.resolver = (
            None if reference is None else CommuneResolver(reference, policy.territory, True)
        )
        self.by_id: dict[str, Physician] = {}
        self.by_rpps: dict[str, Physician] = {}
        self.by_name: dict[tuple[str, str], Physician] = {}
        for physician in physicians:
            self.by_id[physician.id] = physician
            if physician.rpps:
                self.by_rpps.setdefault(physician.rpps, physician)
            else:
                self.by_name.setdefault(_name_key(physician.name, physician.commune), physician)
        self.declared: dict[tuple[str, dt.date], list[CapacityDeclared]] = {}
        for entry in declarations:
            if isinstance(entry, CapacityDeclared):
                self.declared.setdefault((entry.physician_id, entry.on), []).append(entry)

    def commune(self, text: str) -> str | BadCell:
        text = text.strip()
        if len(text) == 4 and text.isascii() and text.isdigit():
            text = "0" + text  # an INSEE code a spreadsheet kept as a number (01053 → 1053)
        if INSEE.fullmatch(text):
            code = text.upper()
            if self.resolver is None:
                return code
            found = self.resolver.resolve("insee", code)
        elif self.resolver is None:
            return BadCell(
                "code INSEE à 5 caractères attendu (la politique n'a pas de référentiel des "
                "communes pour lire un nom)"
            )
        else:
            found = self.resolver.resolve("name", text)
        return found if isinstance(found, BadCell) else found.insee

    def entry(self, row: Row, columns: Mapping[str, str]) -> GPEntry | list[IntakeProblem]:
        cells = RowReader(row, columns, today=self.today, resolve=self.commune)
        rpps = cells.cell("rpps").replace(" ", "")
        if rpps and not rpps_key_ok(rpps):
            cells.problem("rpps", RPPS_EXPECTED)
            rpps = ""
        pid = cells.cell("id")
        # a new GP's id (a GP already in the register keeps theirs)
        problem = identifier_problem(pid) if pid and pid not in self.by_id else None
        if problem is not None:
            cells.problem("id", f"identifiant du médecin : {problem}")
        if not pid and not rpps and "rpps" in columns and not cells.cell("rpps"):
            cells.problem("rpps", "numéro RPPS (ou identifiant) attendu : cellule vide")
        elif not pid and "rpps" not in columns:
            cells.problem("id", "identifiant du médecin attendu : cellule vide")
        last, first = cells.cell("last_name"), cells.cell("first_name")
        if not last:
            cells.problem("last_name", "nom du médecin attendu : cellule vide")
        elif len(last) + len(first) > MAX_NAME:
            cells.problem("last_name", f"nom et prénom de {MAX_NAME} caractères au plus attendus")
        commune_text = cells.cell("commune")
        commune = None
        if not commune_text:
            cells.problem("commune", "commune d'exercice attendue (code INSEE ou nom) : vide")
        else:
            commune = cells.commune("commune", commune_text)
        period: Period = "year" if cells.cell("yearly") else "month"
        capacity_field = "yearly" if period == "year" else "monthly"
        capacity = cells.capacity(capacity_field, YEARLY if period == "year" else MONTHLY)
        if period == "year" and cells.cell("monthly"):
            cells.problem(
                "yearly",
                "« Places par mois » ou « Places par an », pas les deux : la capacité d'un "
                "médecin est mensuelle ou annuelle",
            )
        modalities = cells.modalities()
        accepted = cells.accepted_communes()
        joined = cells.date("joined")
        withdrawn = cells.date("withdrawn")
        contact = cells.contact()
        comment = cells.cell("comment")
        if len(comment) > MAX_COMMENT:
            cells.problem("comment", f"commentaire de {MAX_COMMENT} caractères au plus attendu")
        filled = frozenset(f for f in columns if cells.cell(f))
        if joined is not None and capacity is None and capacity_field not in filled:
            cells.problem(
                capacity_field if capacity_field in columns else "joined",
                "« Places par mois » (ou « Places par an ») attendu avec une date d'entrée "
                "(nouveaux patients, 0 ou plus)",
            )
        if joined is None and "joined" not in filled:
            for field in ("monthly", "yearly", "modalities", "communes"):
                if field in filled:
                    cells.problem(
                        field,
                        f"« {BY_FIELD[field].heading} » renseigné sans « Date d'entrée » : "
                        "indiquez la date d'adhésion (ou videz la cellule pour un candidat)",
                    )
        if cells.problems or commune is None:
            return cells.problems
        physician = Physician(
            id=pid or rpps,
            name=display_name(last, first),
            commune=commune,
            rpps=rpps or None,
            contact=contact,
        )
        entry = GPEntry(
            row=row.number,
            physician=physician,
            joined=joined,
            capacity=capacity if joined is not None else None,
            period=period,
            modalities=modalities,
            accepted_communes=accepted,
            withdrawn=withdrawn,
            comment=comment,
            filled=filled,
        )
        return self.against_register(entry, cells)

    def against_register(self, entry: GPEntry, cells: RowReader) -> GPEntry | list[IntakeProblem]:
        """``entry`` with the register's GP it is and what differs; or the problems of a row
        the register would refuse."""
        physician = entry.physician
        explicit_id = bool(cells.cell("id"))
        existing = self.by_id.get(physician.id)
        if physician.rpps:
            holder = self.by_rpps.get(physician.rpps)
            if holder is not None and existing is not None and holder.id != existing.id:
                cells.problem(
                    "rpps",
                    f"numéro RPPS déjà enregistré pour un autre médecin ({holder.id}) que "
                    f"l'identifiant {existing.id}",
                )
                return cells.problems
            if holder is not None and existing is None:
                if explicit_id:
                    cells.problem(
                        "rpps",
                        f"numéro RPPS déjà enregistré pour le médecin {holder.id} : indiquez "
                        "son identifiant dans la colonne « Identifiant »",
                    )
                    return cells.problems
                existing = holder
        if existing is None:
            planned = self.plan(attrs.evolve(entry, existing=None), physician, cells)
            if planned is None:
                return cells.problems
            return attrs.evolve(
                entry,
                to_join=entry.joined is not None and entry.capacity is not None,
                to_withdraw=entry.withdrawn is not None,
            )
        return self.compare(
            attrs.evolve(
                entry, physician=attrs.evolve(physician, id=existing.id), existing=existing.id
            ),
            existing,
            cells,
        )

    def plan(self, entry: GPEntry, start: Physician, cells: RowReader) -> Physician | None:
        """``start`` after the row's joining and withdrawal, as the register would record
        them (``None``: refused, the problem recorded on the date's column)."""
        current = start
        if entry.joined is not None and entry.capacity is not None:
            try:
                current, _ = _join(
                    current,
                    entry.joined,
                    monthly_capacity=entry.capacity,
                    modalities=entry.modalities,
                    accepted_communes=entry.accepted_communes,
                    period=entry.period,
                )
            except RegisterError as exc:
                cells.problem("joined", _without_id(exc))
                return None
        if entry.withdrawn is not None:
            if not current.status_history:
                cells.problem(
                    "withdrawn",
                    "date de retrait d'un médecin qui n'a pas adhéré : "
                    "indiquez aussi sa « Date d'entrée »",
                )
                return None
            try:
                current = _withdraw(current, entry.withdrawn)
            except RegisterError as exc:
                cells.problem("withdrawn", _without_id(exc))
                return None
        return current

    def compare(
        self, entry: GPEntry, existing: Physician, cells: RowReader
    ) -> GPEntry | list[IntakeProblem]:
        heading = cells.columns.get
        mine = entry.physician
        differences: list[str] = []
        fixed: list[str] = []
        to_join = to_withdraw = False
        if mine.name != existing.name:
            differences.append(heading("last_name") or "Nom")
        if mine.commune != existing.commune:
            differences.append(heading("commune") or "Commune d'exercice")
        if mine.rpps and mine.rpps != existing.rpps:
            differences.append(heading("rpps") or "RPPS")
        for field in CONTACT_FIELDS:
            if field in entry.filled and getattr(mine.contact, field) != getattr(
                existing.contact, field
            ):
                differences.append(heading(field) or BY_FIELD[field].heading)
        current = existing
        if entry.joined is not None:
            recorded = any(
                c.on == entry.joined and c.status is PhysicianStatus.ACTIVE
                for c in existing.status_history
            )
            if recorded:
                fixed.extend(self.joining_differences(entry, existing, cells))
            else:
                try:
                    current, _ = _join(
                        existing,
                        entry.joined,
                        monthly_capacity=entry.capacity or 0,
                        modalities=entry.modalities,
                        accepted_communes=entry.accepted_communes,
                        period=entry.period,
                    )
                    differences.append(heading("joined") or "Date d'entrée")
                    to_join = True
                except RegisterError:
                    fixed.append(heading("joined") or "Date d'entrée")
        if entry.withdrawn is not None:
            recorded = any(
                c.on == entry.withdrawn and c.status is PhysicianStatus.WITHDRAWN
                for c in current.status_history
            )
            if not recorded and not current.status_history:
                fixed.append(heading("withdrawn") or "Date de retrait")  # never joined
            elif not recorded:
                try:
                    _withdraw(current, entry.withdrawn)
                    differences.append(heading("withdrawn") or "Date de retrait")
                    to_withdraw = True
                except RegisterError:
                    fixed.append(heading("withdrawn") or "Date de retrait")
        return attrs.evolve(
            entry,
            differences=tuple(differences),
            fixed=tuple(fixed),
            to_join=to_join,
            to_withdraw=to_withdraw,
        )

    def joining_differences(
        self, entry: GPEntry, existing: Physician, cells: RowReader
    ) -> list[str]:
        """The headings of a joining recorded on the row's date that the row differs from."""
        heading = cells.columns.get
        found: list[str] = []
        capacity_field = "yearly" if entry.period == "year" else "monthly"
        assert entry.joined is not None
        declared = self.declared.get((existing.id, entry.joined), [])
        if not any(d.capacity == entry.capacity and d.period == entry.period for d in declared):
            found.append(heading(capacity_field) or BY_FIELD[capacity_field].heading)
        if "modalities" in entry.filled and entry.modalities != existing.modalities:
            found.append(heading("modalities") or "Modalités")
        if "communes" in entry.filled and entry.accepted_communes != existing.accepted_communes:
            found.append(heading("communes") or "Communes acceptées")
        return found


def _without_id(exc: RegisterError) -> str:
    """The register's refusal without its « médecin ID : » prefix (the row says which)."""
    text = str(exc)
    prefix = f"médecin {exc.physician_id} : "
    return text[len(prefix) :] if text.startswith(prefix) else text


def _name_key(name: str, commune: str) -> tuple[str, str]:
    words = normalize_text(strip_title(name)).replace("-", " ").split()
    return " ".join(sorted(words)), commune


def read_gp_table(
    table: Table,
    policy: Policy,
    *,
    physicians: Iterable[Physician] = (),
    declarations: Iterable[LedgerEntry] = (),
    today: dt.date,
    mapping: GPMapping | None = None,
) -> GPImportResult:
    """Check the rows of a GP file against the register's ``physicians`` (and the capacity
    ``declarations`` of its ledger), as of ``today``; see the module's description. The
    columns are found by their built-in headings, or by ``mapping``'s for the fields it
    names (:mod:`mt_access.gp_mapping`).

    Raises:
        IntakeError: a required column is missing, or two columns read the same field.
    """
    columns, unread = table_columns(table, mapping)
    reader = _Reader(policy, physicians, declarations, today)
    entries: list[GPEntry] = []
    problems: list[IntakeProblem] = []
    duplicates: list[GPDuplicate] = []
    seen_ids: dict[str, int] = {}
    seen_rpps: dict[str, int] = {}
    for row in table.rows:
        read = reader.entry(row, columns)
        if isinstance(read, list):
            problems.extend(read)
            continue
        physician = read.physician
        duplicate: GPDuplicate | None = None
        if physician.rpps and physician.rpps in seen_rpps:
            duplicate = GPDuplicate(row.number, seen_rpps[physician.rpps], None, "même RPPS")
        elif physician.id in seen_ids:
            duplicate = GPDuplicate(row.number, seen_ids[physician.id], None, "même identifiant")
        elif read.existing is None:
            twin = reader.by_name.get(_name_key(physician.name, physician.commune))
            if twin is not None:
                duplicate = GPDuplicate(
                    row.number, None, twin.id, "même nom et même commune, sans RPPS au registre"
                )
        if duplicate is not None:
            duplicates.append(duplicate)
            continue
        seen_ids[physician.id] = row.number
        if physician.rpps:
            seen_rpps[physician.rpps] = row.number
        entries.append(read)
    order = {header: index for index, header in enumerate(table.headers)}
    problems.sort(key=lambda p: (p.row, order.get(p.column or "", -1)))
    return GPImportResult(
        source=table.source,
        rows=len(table.rows),
        entries=tuple(entries),
        problems=tuple(problems),
        duplicates=tuple(duplicates),
        columns=tuple(columns.items()),
        unread_columns=tuple(unread),
    )


def read_gp_file(
    path: str | Path,
    policy: Policy,
    *,
    physicians: Iterable[Physician] = (),
    declarations: Iterable[LedgerEntry] = (),
    today: dt.date,
    sheet: str | None = None,
    mapping: GPMapping | None = None,
) -> GPImportResult:
    """Read a GP file (``.csv``, ``.txt``, ``.xlsx``) and check it: :func:`read_gp_table`.

    Raises:
        IntakeError: unreadable file, a required column missing.
        OSError: the file cannot be opened.
    """
    table = read_table(path, sheet=sheet)
    return read_gp_table(
        table,
        policy,
        physicians=physicians,
        declarations=declarations,
        today=today,
        mapping=mapping,
    )
