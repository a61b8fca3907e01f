"""Import of form exports: the rows of a :class:`~mt_access.intake.tabular.Table` become
requests, problems and duplicates.

:func:`import_table` reads every row with the policy's :class:`~mt_access.intake.forms.FormMapping`
and returns an :class:`IntakeResult`:

* ``accepted``: one :class:`IntakeRecord` per good row (a :class:`~mt_access.model.Request`
  with a provisional id, the :class:`~mt_access.model.PatientIdentity`, whether the commune is
  in the policy's territory, the household link);
* ``problems``: one :class:`IntakeProblem` per bad cell (row, column, what was expected, in
  French); a row with a problem is not imported, the others are;
* ``duplicates``: one :class:`IntakeDuplicate` per row that repeats a person already imported
  from an earlier row of the file or already known to the register; it is not imported;
* ``already_imported``: the rows the register already imported from this or an earlier
  export (same content, recognised by :func:`row_digest`); they are skipped, not rejected;
* warnings: the file's columns the mapping does not read (``unread_columns``, with a hint
  when one looks like a field, ``column_hints``) and the optional columns of the mapping
  absent from the file (``absent_columns``).

:func:`write_rejections` writes the problems and duplicates as a CSV (or XLSX) file for the
coordinator, with formula-like cells neutralised.

No message, ``str()`` or ``repr()`` of a problem holds a cell's value: the value, which may
identify a patient, is only in :attr:`IntakeProblem.value`, for the rejections file.

The import is split by topic: :mod:`~mt_access.intake.records` (what an import returns),
:mod:`~mt_access.intake.cells` (reading a field's cells), :mod:`~mt_access.intake.communes`
(finding the commune), :mod:`~mt_access.intake.headers` (which columns each field reads),
:mod:`~mt_access.intake.duplicates` (rows repeating a person) and
:mod:`~mt_access.intake.rejections` (the rejections file); this module runs the import and
still offers every name it offered.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from mt_access.errors import IntakeError
from mt_access.geo.communes import Commune, CommuneReference, bundled_reference
from mt_access.intake.cells import MIN_BIRTH_YEAR, BadCell, FieldReader
from mt_access.intake.communes import POSTAL_CODE, CommuneResolver
from mt_access.intake.duplicates import DuplicateFinder, address_key, person_key
from mt_access.intake.forms import (
    COMMUNE_FIELDS,
    FormMapping,
    default_mapping,
    split_full_name,
)
from mt_access.intake.headers import column_plan, hints_for_unread
from mt_access.intake.question_fields import BadAnswer, QuestionReader, question_columns
from mt_access.intake.records import (
    DuplicateReason,
    IntakeDuplicate,
    IntakeProblem,
    IntakeRecord,
    IntakeResult,
    row_digest,
)
from mt_access.intake.rejections import neutralize_cell, write_rejections
from mt_access.intake.tabular import (
    Row,
    Table,
    normalize_text,
    read_table,
)
from mt_access.model import (
    Consent,
    HomeVisitNeed,
    Household,
    KnownPerson,
    Patient,
    PatientIdentity,
    PreviousDoctor,
    Referrer,
    ReferrerKind,
    Request,
    SearchReason,
)

if TYPE_CHECKING:
    from mt_access.policy import Policy
    from mt_access.questions import Question

__all__ = [
    "DuplicateReason",
    "IntakeDuplicate",
    "IntakeProblem",
    "IntakeRecord",
    "IntakeResult",
    "KnownPerson",
    "import_file",
    "import_table",
    "neutralize_cell",
    "row_digest",
    "write_rejections",
]


class _Importer:
    def __init__(
        self,
        table: Table,
        mapping: FormMapping,
        reference: CommuneReference,
        territory: frozenset[str],
        received: dt.date | None,
        questions: Sequence[Question] = (),
    ) -> None:
        self.table = table
        self.mapping = mapping
        plan, self.absent = column_plan(table, mapping)
        unmapped = [q.id for q in questions if q.required and q.id not in mapping.questions]
        if unmapped:
            raise IntakeError(
                f"question(s) obligatoire(s) de la politique lue(s) d'aucune colonne : "
                f"{', '.join(unmapped)} ; ajoutez leur colonne sous intake.questions",
                source=table.source,
            )
        asked, absent = question_columns(table, mapping.questions)
        self.absent += absent
        self.answer_readers = [
            QuestionReader(mapping.questions[qid], column) for qid, column in asked.items()
        ]
        read = {column for columns in plan.values() for column in columns}
        read |= set(asked.values())
        self.unread = [header for header in table.headers if header not in read]
        self.hints = hints_for_unread(self.unread, plan, mapping)
        self.readers = {
            name: FieldReader(form_field, plan[name])
            for name, form_field in mapping.fields.items()
            if name in plan
        }
        if "received" not in self.readers and received is None:
            raise IntakeError(
                "le formulaire n'a pas de colonne de date de réception (champ « received ») : "
                "indiquez la date de réception des demandes de ce fichier",
                source=table.source,
            )
        self.received = received
        self.territory = territory
        self.communes = CommuneResolver(reference, territory, mapping.prefer_territory)

    def column(self, name: str) -> str | None:
        reader = self.readers.get(name)
        return reader.column if reader is not None else None

    def row(self, row: Row) -> tuple[dict[str, Any], list[IntakeProblem]]:
        """Every field's value, and the problems of the row."""
        values: dict[str, Any] = {}
        problems: list[IntakeProblem] = []
        for name, reader in self.readers.items():
            value = reader.read(row)
            if isinstance(value, BadCell):
                problems.append(
                    IntakeProblem(row.number, reader.column, value.expected, reader.cell(row))
                )
            else:
                values[name] = value
        answers: dict[str, Any] = {}
        for answer_reader in self.answer_readers:
            value = answer_reader.read(row)
            question = answer_reader.question
            if isinstance(value, BadAnswer):
                problems.append(
                    IntakeProblem(
                        row.number, answer_reader.column, value.expected, answer_reader.cell(row)
                    )
                )
            elif value is None:
                if question.required:
                    problems.append(
                        IntakeProblem(
                            row.number,
                            answer_reader.column,
                            f"réponse obligatoire attendue : {question.label}",
                        )
                    )
            else:
                answers[question.id] = value
        values["answers"] = answers
        return values, problems

    def problem(
        self, row: Row, name: str, expected: str, bad: BadCell | None = None
    ) -> IntakeProblem:
        reader = self.readers.get(name)
        value = reader.cell(row) if reader is not None and reader.field.constant is None else ""
        candidates = bad.candidates if bad is not None else ()
        return IntakeProblem(row.number, self.column(name), expected, value, candidates)

    def commune(self, row: Row, values: Mapping[str, Any]) -> Commune | IntakeProblem:
        def text(name: str) -> str:
            value = values.get(name)
            return value if isinstance(value, str) else ""

        def mapped(name: str, value: str) -> Commune | None:
            reader = self.readers.get(name)
            if reader is None:
                return None
            if reader.field.constant is not None:
                return self.communes.reference.get(reader.field.constant)
            code = reader.lookup.get(normalize_text(value))
            return self.communes.reference.get(code) if code is not None else None

        attempts: list[tuple[str, str, str, str]] = []  # (field, kind, text, postal code)
        insee, postal_code, name = text("commune_insee"), text("postal_code"), text("commune_name")
        if insee or mapped("commune_insee", insee):
            attempts.append(("commune_insee", "insee", insee, ""))
        elif postal_code and name:
            attempts.append(("commune_name", "name_with_postal_code", name, postal_code))
        elif postal_code:
            attempts.append(("postal_code", "postal_code", postal_code, ""))
        elif name or mapped("commune_name", name):
            attempts.append(("commune_name", "name", name, ""))
        elif text("commune") or mapped("commune", ""):
            attempts.append(("commune", "name", text("commune"), ""))
        elif text("address"):
            attempts.append(("address", "address", text("address"), ""))
        if not attempts:
            first = next(n for n in COMMUNE_FIELDS if n in self.readers)
            return self.problem(row, first, "commune du patient attendue")
        field, kind, cell, code = attempts[0]
        constant = mapped(field, cell)
        if constant is not None:
            return constant
        if kind == "name_with_postal_code" and not POSTAL_CODE.fullmatch(code):
            return self.problem(row, "postal_code", "code postal à 5 chiffres attendu")
        found = self.communes.resolve(kind, cell, code)
        if isinstance(found, BadCell):
            return self.problem(row, field, found.expected, found)
        return found

    def previous_mt(self, values: Mapping[str, Any]) -> PreviousDoctor | None:
        name: str = values.get("previous_mt_name", "")
        commune_text: str = values.get("previous_mt_commune", "")
        if not name and not commune_text:
            return None
        commune: str | None = None
        if commune_text:
            found = self.communes.resolve("name", commune_text)
            if isinstance(found, Commune):
                commune = found.insee
            else:  # informative only: keep what was written with the name
                name = f"{name} ({commune_text})" if name else commune_text
        return PreviousDoctor(name=name, commune=commune)

    def build(
        self, row: Row, values: dict[str, Any], problems: list[IntakeProblem]
    ) -> tuple[Request, PatientIdentity, str | None] | None:
        last_name: str = values.get("last_name", "")
        first_name: str = values.get("first_name", "")
        full_name = values.get("full_name", "")
        if full_name:
            order = self.mapping.fields["full_name"].order
            split_last, split_first = split_full_name(full_name, order)
            last_name, first_name = last_name or split_last, first_name or split_first
        name_field = "last_name" if "last_name" in self.readers else "full_name"
        if not last_name and not any(p.column == self.column(name_field) for p in problems):
            problems.append(self.problem(row, name_field, "nom du patient attendu"))

        received = values.get("received") or self.received
        if received is None and "received" in values:
            problems.append(
                self.problem(row, "received", "date de réception attendue (jj/mm/aaaa)")
            )

        birth_date: dt.date | None = values.get("birth_date")
        if birth_date is None:
            if "birth_date" in values:
                problems.append(
                    self.problem(row, "birth_date", "date de naissance attendue (jj/mm/aaaa)")
                )
        elif birth_date.year < MIN_BIRTH_YEAR:
            problems.append(
                self.problem(
                    row, "birth_date", f"date de naissance postérieure à {MIN_BIRTH_YEAR} attendue"
                )
            )
        elif received is not None and birth_date > received:
            problems.append(
                self.problem(
                    row,
                    "birth_date",
                    "date de naissance antérieure à la date de réception attendue",
                )
            )

        if values.get("consent") is False:
            problems.append(
                self.problem(
                    row,
                    "consent",
                    "consentement du patient attendu : sans lui, la demande ne peut pas être "
                    "enregistrée (recueillir le consentement, puis importer la ligne à nouveau)",
                )
            )

        commune = self.commune(row, values)
        if isinstance(commune, IntakeProblem):
            problems.append(commune)

        adults, children = values.get("adults", 1), values.get("children", 0)
        if isinstance(adults, int) and isinstance(children, int) and adults + children < 1:
            problems.append(
                self.problem(
                    row,
                    "adults" if "adults" in self.readers else "children",
                    "au moins une personne attendue dans le foyer (adultes + enfants)",
                )
            )
        if problems or received is None or birth_date is None or isinstance(commune, IntakeProblem):
            return None

        form_id = values.get("submission_id") or None
        consent_date = values.get("consent_date") or received
        request = Request(
            id=form_id or f"ligne-{row.number}",
            received=received,
            patient=Patient(birth_date=birth_date, commune=commune.insee),
            ald=values.get("ald", False),
            css=values.get("css", False),
            ame=values.get("ame", False),
            disability_or_chronic=values.get("disability_or_chronic", False),
            home_visits=values.get("home_visits", HomeVisitNeed.NONE),
            urgent=values.get("urgent", False),
            reason=values.get("reason", SearchReason.OTHER),
            previous_mt=self.previous_mt(values),
            household=Household(adults=adults, children=children),
            referrer=Referrer(
                kind=values.get("referrer_kind", ReferrerKind.PATIENT),
                name=values.get("referrer_name", ""),
                contact=values.get("referrer_contact", ""),
            ),
            consent=Consent(given=True, on=consent_date),
            comments=values.get("comments", ""),
            answers=values.get("answers", {}),
        )
        identity = PatientIdentity(
            last_name=last_name,
            first_name=first_name,
            birth_name=values.get("birth_name", ""),
            phone=values.get("phone", ""),
            email=values.get("email", ""),
            address=values.get("address", ""),
            identifier=values.get("identifier") or form_id or "",
        )
        return request, identity, form_id


@attrs.define
class _Accepted:
    row: int
    request: Request
    identity: PatientIdentity
    in_territory: bool
    form_id: str | None
    household: str  # the household column's text, normalised ("" when none)
    digest: str


def import_table(
    table: Table,
    policy: Policy,
    reference: CommuneReference | None = None,
    *,
    mapping: FormMapping | None = None,
    known: Iterable[KnownPerson] = (),
    received: dt.date | None = None,
    progress: Callable[[int, int], None] | None = None,
    imported: Callable[[Sequence[str]], Mapping[str, str]] | None = None,
) -> IntakeResult:
    """Import the rows of a form export as requests.

    Args:
        table: the export, read by :func:`~mt_access.intake.tabular.read_table`.
        policy: gives the form mapping (``policy.intake``; the ``generique`` preset when the
            policy has none) and the territory (``in_territory`` of each record).
        reference: the commune reference; by default the policy's, else the bundled one.
        mapping: a form mapping to use instead of the policy's.
        known: the persons the register already knows, as ``(request_id, identity,
            birth_date)``: a row repeating one of them is a duplicate.
        received: the reception date of rows without one (the form has no reception date
            column, or the cell is empty).
        progress: called as ``progress(done, total)`` every 500 rows and at the end (e.g. a
            :class:`~mt_access.progress.ProgressBar`).
        imported: looks up row digests (:func:`row_digest`) already imported, giving the
            request each became (:meth:`mt_access.register.Register.imported_rows`): those
            rows are reported in ``already_imported`` and skipped. Called once.

    Returns:
        The accepted rows, the problems and the duplicates; the same file gives the same
        result.

    Raises:
        IntakeError: the file cannot be imported at all: a column of the mapping is missing,
            two headers are confused, or no reception date is known.
    """
    mapping = mapping or policy.intake or default_mapping()
    if reference is None:
        reference = policy.reference if policy.reference is not None else bundled_reference()
    importer = _Importer(
        table, mapping, reference, frozenset(policy.territory), received, policy.questions
    )

    duplicates_of = DuplicateFinder(known)

    positions = {header: index for index, header in enumerate(table.headers)}

    def column_order(problem: IntakeProblem) -> int:
        """A row's problems in the file's column order."""
        first = (problem.column or "").split(" + ", 1)[0]
        return positions.get(first, len(positions))

    accepted: list[_Accepted] = []
    problems: list[IntakeProblem] = []
    duplicates: list[IntakeDuplicate] = []
    digests = [row_digest(row) for row in table.rows]
    done_before = dict(imported(digests)) if imported is not None and digests else {}
    already: list[tuple[int, str]] = []
    total = len(table.rows)
    for done, (row, digest) in enumerate(zip(table.rows, digests, strict=True)):
        if progress is not None and done % 500 == 0:
            progress(done, total)
        if digest in done_before:
            already.append((row.number, done_before[digest]))
            continue
        values, row_problems = importer.row(row)
        built = importer.build(row, values, row_problems)
        if built is None:
            problems.extend(sorted(row_problems, key=column_order))
            continue
        request, identity, form_id = built
        duplicate = duplicates_of.find(row.number, identity, request.patient.birth_date, form_id)
        if duplicate is not None:
            duplicates.append(duplicate)
            continue
        household = values.get("household_key", "")
        accepted.append(
            _Accepted(
                row=row.number,
                request=request,
                identity=identity,
                in_territory=request.patient.commune in importer.territory,
                form_id=form_id,
                household=address_key(household) if household else "",
                digest=digest,
            )
        )

    links = _household_links(accepted, by_column="household_key" in importer.readers)
    records = []
    for item in accepted:
        link = links.get(item.row)
        request = item.request
        if link is not None:
            request = attrs.evolve(request, household_id=link)
        records.append(
            IntakeRecord(
                row=item.row,
                request=request,
                identity=item.identity,
                in_territory=item.in_territory,
                form_id=item.form_id,
                household_link=link,
                digest=item.digest,
            )
        )
    if progress is not None:
        progress(total, total)
    return IntakeResult(
        source=table.source,
        rows=len(table.rows),
        accepted=tuple(records),
        problems=tuple(problems),
        duplicates=tuple(duplicates),
        already_imported=tuple(already),
        unread_columns=tuple(importer.unread),
        column_hints=tuple(importer.hints),
        absent_columns=tuple(importer.absent),
    )


def _household_links(accepted: list[_Accepted], *, by_column: bool) -> dict[int, str]:
    """``foyer-<first row>`` for every record of a household of two or more records: rows
    sharing the household column's text, or, without that column, the same last name and
    address."""
    groups: dict[Any, list[int]] = {}
    for item in accepted:
        if by_column:
            key: Any = item.household
        elif item.identity.address.strip():
            key = (person_key(item.identity.last_name, ""), address_key(item.identity.address))
        else:
            key = None
        if key:
            groups.setdefault(key, []).append(item.row)
    links: dict[int, str] = {}
    for rows in groups.values():
        if len(rows) > 1:
            link = f"foyer-{min(rows)}"
            links.update(dict.fromkeys(rows, link))
    return links


def import_file(
    path: str | Path,
    policy: Policy,
    reference: CommuneReference | None = None,
    *,
    sheet: str | None = None,
    encoding: str | None = None,
    delimiter: str | None = None,
    mapping: FormMapping | None = None,
    known: Iterable[KnownPerson] = (),
    received: dt.date | None = None,
    progress: Callable[[int, int], None] | None = None,
    imported: Callable[[Sequence[str]], Mapping[str, str]] | None = None,
) -> IntakeResult:
    """:func:`~mt_access.intake.tabular.read_table` then :func:`import_table`.

    Raises:
        IntakeError: the file cannot be read or imported at all.
        OSError: the file cannot be opened.
    """
    table = read_table(path, sheet=sheet, encoding=encoding, delimiter=delimiter)
    return import_table(
        table,
        policy,
        reference,
        mapping=mapping,
        known=known,
        received=received,
        progress=progress,
        imported=imported,
    )
