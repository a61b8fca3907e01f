"""Reading a CPTS's existing follow-up sheet (entries and exits, with dates and outcomes) as
past requests, so that the register keeps the CPTS's past figures.

The sheet is read with a form mapping (:mod:`mt_access.intake.forms`, usually written by
``mt-access formulaire deduire``) that, besides the patient's identity, reads:

* ``received``: the entry date (« Date d'entrée », « Date de la demande »);
* ``exit_date``: the exit date (« Date de sortie », « Date d'attribution »), empty while the
  request is open;
* ``outcome``: the outcome (« Issue », « Motif de sortie »), its wordings mapped by
  ``values:`` to :class:`~mt_access.intake.outcomes.FollowUpOutcome` (``open`` or an exit
  reason of the register);
* ``physician``: for an MT found, the GP who took the patient, found among the register's
  GPs by RPPS number, id or name (:class:`PhysicianFinder`). A sheet without an outcome
  column (« Date d'attribution », « MT attribué » only) reads a row with an exit date and a
  GP as an MT found.

:func:`read_follow_up` checks every row against the lifecycle's rules and returns a
:class:`FollowUpResult`: an exit before the entry, an entry or exit in the future, an
unknown outcome, an exit without outcome (or an outcome without exit date), an MT found
without a GP of the register are problems on their row and column, whose messages never
hold the cell's value. :func:`migrated_file` builds the backdated lifecycle of one entry
(each entry keeps it, :attr:`FollowUpEntry.file`);
:meth:`mt_access.register.Register.migrate_follow_up` records them all, or none.

Nothing here does I/O (but :func:`read_follow_up_file`, which reads the file) or reads the
clock: ``today`` is passed in.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import attrs

from mt_access.calendar import Month
from mt_access.errors import IntakeError, LifecycleError
from mt_access.geo.communes import CommuneReference, bundled_reference
from mt_access.intake.duplicates import person_key
from mt_access.intake.forms import FormMapping
from mt_access.intake.importer import _Importer
from mt_access.intake.outcomes import FollowUpOutcome
from mt_access.intake.records import IntakeProblem, IntakeResult, row_digest
from mt_access.intake.tabular import Row, Table, header_key, read_table
from mt_access.lifecycle import Actor, RequestFile
from mt_access.model import KnownPerson, PatientIdentity, Physician, Request

if TYPE_CHECKING:
    from mt_access.policy import Policy

__all__ = [
    "FollowUpEntry",
    "FollowUpResult",
    "PhysicianFinder",
    "migrated_file",
    "read_follow_up",
    "read_follow_up_file",
    "renamed_file",
]

MIGRATION_COMMENT = "reprise du suivi existant"
"""The comment of every transition a migration records (never patient data)."""

_TITLES = frozenset({"dr", "docteur", "doctoresse", "pr", "professeur", "medecin", "mt"})


@attrs.frozen
class FollowUpEntry:
    """One row of the follow-up sheet, checked: a past request and what became of it.

    Attributes:
        row: the row number, as the spreadsheet shows it.
        request: the request, with a provisional id (``ligne-<row>``); ``received`` is the
            entry date.
        identity: the patient's identity.
        in_territory: whether the commune is in the policy's territory.
        outcome: the outcome read (``open``: no exit yet).
        exit_on: the exit date (``None`` while open).
        physician_id: for an MT found, the register's GP who took the patient.
        digest: the row's digest (:func:`~mt_access.intake.records.row_digest`), so that
            importing the sheet again records nothing twice.
        file: its backdated lifecycle (:func:`migrated_file`), under the provisional id.
    """

    row: int
    request: Request
    identity: PatientIdentity
    in_territory: bool
    outcome: FollowUpOutcome
    exit_on: dt.date | None
    physician_id: str | None
    digest: str
    file: RequestFile = attrs.field(eq=False, repr=False)

    @property
    def entry_on(self) -> dt.date:
        return self.request.received

    @property
    def final_outcome(self) -> FollowUpOutcome:
        """What the register records: an open row whose commune is outside the territory
        exits at once as out of scope, as at any import."""
        return _final(self.outcome, self.in_territory, self.entry_on, self.exit_on)[0]

    @property
    def final_exit_on(self) -> dt.date | None:
        """The exit date the register records (the entry date for such an open row)."""
        return _final(self.outcome, self.in_territory, self.entry_on, self.exit_on)[1]


def _final(
    outcome: FollowUpOutcome, in_territory: bool, entry_on: dt.date, exit_on: dt.date | None
) -> tuple[FollowUpOutcome, dt.date | None]:
    if outcome is FollowUpOutcome.OPEN and not in_territory:
        return FollowUpOutcome.OUT_OF_SCOPE, entry_on
    return outcome, exit_on


@attrs.frozen
class FollowUpResult:
    """What :func:`read_follow_up` made of a follow-up sheet.

    Attributes:
        source: the file read.
        rows: the number of data rows.
        entries: the good rows not recorded yet, in file order.
        problems: the bad cells, by row then column order; while there is one, nothing is
            recorded (the migration is all or nothing).
        already_imported: ``(row, request id)`` of the rows recorded by an earlier
            migration or import (same content): skipped.
        already_in_register: ``(row, request id)`` of the rows whose patient has a request
            with the same entry date in the register (the sheet changed since it was
            migrated, or the request was entered by hand), and of the open rows whose
            patient has a request in progress in the register (the same search, imported
            from the form): skipped, never recorded twice.
        unread_columns, column_hints, absent_columns: as for a form import.
        unknown_physicians: the distinct GP cells of MT found rows that no GP of the
            register fits (first writing of each), to add to the register first; they are
            in the rejections file, never in a message.
    """

    source: str
    rows: int
    entries: tuple[FollowUpEntry, ...] = ()
    problems: tuple[IntakeProblem, ...] = ()
    already_imported: tuple[tuple[int, str], ...] = ()
    already_in_register: tuple[tuple[int, str], ...] = ()
    unread_columns: tuple[str, ...] = ()
    column_hints: tuple[tuple[str, str], ...] = ()
    absent_columns: tuple[tuple[str, str], ...] = ()
    unknown_physicians: tuple[str, ...] = attrs.field(default=(), repr=False)

    @property
    def rejected_rows(self) -> tuple[int, ...]:
        return tuple(sorted({p.row for p in self.problems}))

    def counts(self) -> dict[FollowUpOutcome, int]:
        """Entries per outcome as the register records them (open rows out of the territory
        count as out of scope), every outcome listed."""
        found = Counter(entry.final_outcome for entry in self.entries)
        return {outcome: found[outcome] for outcome in FollowUpOutcome}

    def months(self) -> list[tuple[Month, int, int]]:
        """``(month, entries, exits)`` for each month with an entry or an exit, in order."""
        entries: Counter[Month] = Counter(Month.of(e.entry_on) for e in self.entries)
        exits: Counter[Month] = Counter(
            Month.of(day) for e in self.entries if (day := e.final_exit_on) is not None
        )
        return [(m, entries[m], exits[m]) for m in sorted(set(entries) | set(exits))]

    def summary(self) -> str:
        """One French sentence."""
        skipped = len(self.already_imported) + len(self.already_in_register)
        return (
            f"{self.rows} ligne(s) lue(s) : {len(self.entries)} demande(s) à reprendre, "
            f"{len(self.rejected_rows)} ligne(s) refusée(s), {skipped} déjà dans le registre"
        )

    def as_intake_result(self) -> IntakeResult:
        """The problems as a form import's result, for
        :func:`~mt_access.intake.rejections.write_rejections`."""
        return IntakeResult(source=self.source, rows=self.rows, problems=self.problems)

    def warnings(self) -> list[str]:
        """The warnings about the file's columns, in French."""
        return IntakeResult(
            source=self.source,
            rows=self.rows,
            unread_columns=self.unread_columns,
            column_hints=self.column_hints,
            absent_columns=self.absent_columns,
        ).warnings()


# --------------------------------------------------------------------------------------------
# The register's GPs


def _name_key(text: str) -> tuple[str, ...]:
    return tuple(sorted(w for w in header_key(text).split() if w not in _TITLES))


class PhysicianFinder:
    """Finds a register's GP from a follow-up cell: an RPPS number, the GP's id, or their
    name (« Dr Martin », « MARTIN Jeanne », « Jeanne Martin »: without case, accents, titles
    nor word order; a name that is part of exactly one GP's name is theirs)."""

    def __init__(self, physicians: Iterable[Physician]) -> None:
        self.by_id: dict[str, str] = {}
        self.by_rpps: dict[str, str] = {}
        self.by_name: dict[tuple[str, ...], list[str]] = {}
        for physician in physicians:
            self.by_id[header_key(physician.id)] = physician.id
            if physician.rpps:
                self.by_rpps[physician.rpps.strip()] = physician.id
            key = _name_key(physician.name)
            if key:
                self.by_name.setdefault(key, []).append(physician.id)

    def find(self, text: str) -> str | list[str] | None:
        """The GP's id; the ids of the GPs it may name when it is ambiguous; ``None``
        when no GP of the register fits."""
        stripped = "".join(text.split())
        if stripped.isdigit() and stripped in self.by_rpps:
            return self.by_rpps[stripped]
        found = self.by_id.get(header_key(text))
        if found is not None:
            return found
        key = _name_key(text)
        if not key:
            return None
        exact = self.by_name.get(key)
        if exact is not None:
            return exact[0] if len(exact) == 1 else sorted(exact)
        words = set(key)
        partial = sorted(
            pid for name, ids in self.by_name.items() if words <= set(name) for pid in ids
        )
        if len(partial) == 1:
            return partial[0]
        return partial or None


# --------------------------------------------------------------------------------------------
# Lifecycle


def migrated_file(
    request: Request,
    outcome: FollowUpOutcome,
    exit_on: dt.date | None,
    physician_id: str | None,
    *,
    comment: str = MIGRATION_COMMENT,
) -> RequestFile:
    """The backdated lifecycle of one past request: received, acknowledged, confirmed and
    on the waiting list on its entry date, then its exit on ``exit_on``:

    * ``mt_found``: proposed to ``physician_id`` and accepted by them;
    * ``not_searching_anymore``: the patient said so at confirmation;
    * ``unreachable``: one failed contact attempt, recorded as the last one;
    * ``withdrawn``, ``out_of_scope``, ``other_solution``, ``closed_by_cpts``: that exit;
    * ``open`` stays on the waiting list.

    Raises:
        LifecycleError: the lifecycle refuses it (an exit before the entry, an MT found
            without a GP...).
    """
    entry = request.received
    file = RequestFile.from_request(request, comment=comment)
    file = file.acknowledge(entry, comment=comment)
    if outcome is FollowUpOutcome.NOT_SEARCHING_ANYMORE:
        assert exit_on is not None
        return file.not_searching(exit_on, comment=comment)
    file = file.confirm(entry, comment=comment).to_waiting(entry, comment=comment)
    if outcome is FollowUpOutcome.OPEN:
        return file
    if exit_on is None:
        raise LifecycleError(request.id, "date de sortie attendue pour une demande sortie")
    if outcome is FollowUpOutcome.MT_FOUND:
        if physician_id is None:
            raise LifecycleError(request.id, "médecin attendu pour un médecin traitant trouvé")
        file = file.propose(physician_id, exit_on, comment=comment)
        return file.accept(physician_id, exit_on, actor=Actor.COORDINATOR, comment=comment)
    if outcome is FollowUpOutcome.UNREACHABLE:
        return file.record_contact_attempt(exit_on, False, 1, comment=comment)
    if outcome is FollowUpOutcome.WITHDRAWN:
        return file.withdraw(exit_on, actor=Actor.COORDINATOR, comment=comment)
    if outcome is FollowUpOutcome.OUT_OF_SCOPE:
        return file.out_of_scope(exit_on, comment=comment)
    if outcome is FollowUpOutcome.OTHER_SOLUTION:
        return file.other_solution(exit_on, comment=comment)
    return file.close(exit_on, comment)


def renamed_file(file: RequestFile, request_id: str) -> RequestFile:
    """``file`` under the register's ``request_id`` (every transition names it)."""
    history = tuple(attrs.evolve(t, request_id=request_id) for t in file.history)
    return attrs.evolve(file, id=request_id, history=history)


# --------------------------------------------------------------------------------------------
# Reading


@attrs.frozen
class _Checks:
    importer: _Importer
    finder: PhysicianFinder
    today: dt.date
    unknown: dict[str, str] = attrs.field(factory=dict)  # header_key → first writing

    def column(self, name: str) -> str | None:
        return self.importer.column(name)

    def entry(
        self, row: Row, request: Request, values: Mapping[str, object]
    ) -> tuple[FollowUpOutcome, dt.date | None, str | None, list[IntakeProblem]]:
        problems: list[IntakeProblem] = []
        importer = self.importer
        outcome = values.get("outcome", FollowUpOutcome.OPEN)
        assert isinstance(outcome, FollowUpOutcome)
        exit_value = values.get("exit_date")
        exit_on = exit_value if isinstance(exit_value, dt.date) else None
        if "outcome" not in importer.readers and exit_on is not None and values.get("physician"):
            # A sheet without an outcome column (« Date d'attribution », « MT attribué »):
            # an exit with a GP named is an MT found.
            outcome = FollowUpOutcome.MT_FOUND
        entry_on = request.received
        if entry_on > self.today:
            problems.append(
                importer.problem(row, "received", "date d'entrée passée ou du jour attendue")
            )
        if exit_on is not None:
            if exit_on < entry_on:
                problems.append(
                    importer.problem(
                        row,
                        "exit_date",
                        "date de sortie postérieure ou égale à la date d'entrée attendue",
                    )
                )
            elif exit_on > self.today:
                problems.append(
                    importer.problem(row, "exit_date", "date de sortie passée ou du jour attendue")
                )
            if outcome is FollowUpOutcome.OPEN:
                where = "outcome" if "outcome" in importer.readers else "exit_date"
                problems.append(
                    importer.problem(
                        row,
                        where,
                        "issue de la demande attendue quand la date de sortie est remplie "
                        "(MT trouvé, abandon, injoignable...)",
                    )
                )
        elif outcome is not FollowUpOutcome.OPEN:
            where = "exit_date" if "exit_date" in importer.readers else "outcome"
            problems.append(
                importer.problem(
                    row,
                    where,
                    f"date de sortie attendue pour l'issue « {outcome.label} »",
                )
            )
        physician_id = None
        if outcome is FollowUpOutcome.MT_FOUND:
            physician_id, problem = self.physician(row, values)
            if problem is not None:
                problems.append(problem)
        return outcome, exit_on, physician_id, problems

    def physician(
        self, row: Row, values: Mapping[str, object]
    ) -> tuple[str | None, IntakeProblem | None]:
        importer = self.importer
        if "physician" not in importer.readers:
            return None, importer.problem(
                row,
                "outcome",
                "médecin traitant trouvé : la correspondance ne lit aucune colonne du médecin "
                "attribué (champ physician) ; ajoutez-la (RPPS ou nom du médecin)",
            )
        text = values.get("physician", "")
        assert isinstance(text, str)
        if not text:
            return None, importer.problem(
                row, "physician", "médecin attribué attendu (RPPS, identifiant ou nom)"
            )
        found = self.finder.find(text)
        if isinstance(found, str):
            return found, None
        if found:
            listed = ", ".join(found[:5])
            return None, importer.problem(
                row,
                "physician",
                f"nom de médecin ambigu : {len(found)} médecins du registre possibles "
                f"({listed}) ; écrivez son numéro RPPS ou son identifiant",
            )
        self.unknown.setdefault(header_key(text), text)
        return None, importer.problem(
            row,
            "physician",
            "médecin inconnu du registre : ajoutez-le d'abord (mt-access medecin ajouter), ou "
            "écrivez son numéro RPPS ou son identifiant",
        )


def read_follow_up(
    table: Table,
    policy: Policy,
    *,
    mapping: FormMapping,
    today: dt.date,
    physicians: Iterable[Physician] = (),
    known: Iterable[KnownPerson] = (),
    known_received: Mapping[str, dt.date] | None = None,
    reference: CommuneReference | None = None,
    imported: Callable[[Sequence[str]], Mapping[str, str]] | None = None,
) -> FollowUpResult:
    """Check every row of a follow-up sheet and build its past requests.

    Args:
        table: the sheet (:func:`~mt_access.intake.tabular.read_table`).
        policy: the territory, the communes, the CPTS's questions.
        mapping: the sheet's mapping; it must read the entry date (``received``) and the
            outcome or the exit date.
        today: dates after it are refused.
        physicians: the register's GPs (an MT found names one of them).
        known: the register's persons; with ``known_received`` (request id → entry date),
            a row whose patient has a request received on the same date is skipped
            (``already_in_register``), and so is an open row whose patient has a request
            in progress.
        reference: the communes; by default the policy's, else the bundled one.
        imported: looks up row digests already recorded
            (:meth:`mt_access.register.Register.imported_rows`).

    Raises:
        IntakeError: the sheet cannot be read at all: a column of the mapping is missing,
            or the mapping reads neither the entry date nor an outcome or exit date.
    """
    if "received" not in mapping.fields:
        raise IntakeError(
            "la correspondance du suivi doit lire la date d'entrée de chaque demande "
            "(champ received : « Date d'entrée », « Date de la demande »...)",
            source=table.source,
        )
    if "outcome" not in mapping.fields and "exit_date" not in mapping.fields:
        raise IntakeError(
            "la correspondance ne lit ni l'issue (champ outcome : « Issue », « Motif de "
            "sortie »...) ni la date de sortie (champ exit_date) : ce n'est pas un suivi ; "
            "pour importer des demandes nouvelles, utilisez mt-access import",
            source=table.source,
        )
    if reference is None:
        reference = policy.reference if policy.reference is not None else bundled_reference()
    importer = _Importer(
        table, mapping, reference, frozenset(policy.territory), None, policy.questions
    )
    checks = _Checks(importer, PhysicianFinder(physicians), today)
    positions = {header: index for index, header in enumerate(table.headers)}
    registered: dict[tuple[tuple[str, ...], dt.date, dt.date], str] = {}
    searching: dict[tuple[tuple[str, ...], dt.date], str] = {}
    received_of = known_received or {}
    for known_person in known:
        key = person_key(known_person.identity.last_name, known_person.identity.first_name)
        on = received_of.get(known_person.request_id)
        if on is not None:
            registered.setdefault((key, known_person.birth_date, on), known_person.request_id)
        if known_person.active:
            searching.setdefault((key, known_person.birth_date), known_person.request_id)

    digests = [row_digest(row) for row in table.rows]
    done_before = dict(imported(digests)) if imported is not None and digests else {}
    entries: list[FollowUpEntry] = []
    problems: list[IntakeProblem] = []
    already: list[tuple[int, str]] = []
    in_register: list[tuple[int, str]] = []
    seen: dict[tuple[tuple[str, ...], dt.date, dt.date], int] = {}
    for row, digest in zip(table.rows, digests, strict=True):
        if digest in done_before:
            already.append((row.number, done_before[digest]))
            continue
        values, row_problems = importer.row(row)
        built = importer.build(row, values, row_problems)
        outcome = FollowUpOutcome.OPEN
        exit_on: dt.date | None = None
        physician_id: str | None = None
        if built is not None:
            request, identity, _ = built
            outcome, exit_on, physician_id, more = checks.entry(row, request, values)
            row_problems.extend(more)
            person = (
                person_key(identity.last_name, identity.first_name),
                request.patient.birth_date,
                request.received,
            )
            if person in registered:
                in_register.append((row.number, registered[person]))
                continue
            active = searching.get(person[:2])
            if active is not None and outcome is FollowUpOutcome.OPEN and not more:
                # still searching in the register: the same search, entered there already
                in_register.append((row.number, active))
                continue
            if person in seen:
                row_problems.append(
                    IntakeProblem(
                        row.number,
                        None,
                        f"même patient et même date d'entrée qu'à la ligne {seen[person]} : "
                        "ligne en double",
                    )
                )
            seen.setdefault(person, row.number)
        if row_problems or built is None:
            problems.extend(
                sorted(
                    row_problems,
                    key=lambda p: positions.get((p.column or "").split(" + ", 1)[0], 10**6),
                )
            )
            continue
        request, identity, _ = built
        in_territory = request.patient.commune in importer.territory
        final, final_exit = _final(outcome, in_territory, request.received, exit_on)
        try:
            file = migrated_file(request, final, final_exit, physician_id)
        except LifecycleError:
            problems.append(
                IntakeProblem(
                    row.number,
                    checks.column("outcome") or checks.column("exit_date"),
                    "historique refusé par les règles du cycle de vie d'une demande : "
                    "vérifiez les dates et l'issue",
                )
            )
            continue
        entries.append(
            FollowUpEntry(
                row=row.number,
                request=request,
                identity=identity,
                in_territory=in_territory,
                outcome=outcome,
                exit_on=exit_on,
                physician_id=physician_id,
                digest=digest,
                file=file,
            )
        )
    return FollowUpResult(
        source=table.source,
        rows=len(table.rows),
        entries=tuple(entries),
        problems=tuple(problems),
        already_imported=tuple(already),
        already_in_register=tuple(in_register),
        unread_columns=tuple(importer.unread),
        column_hints=tuple(importer.hints),
        absent_columns=tuple(importer.absent),
        unknown_physicians=tuple(checks.unknown.values()),
    )


def read_follow_up_file(
    path: str | Path,
    policy: Policy,
    *,
    mapping: FormMapping,
    today: dt.date,
    sheet: str | None = None,
    physicians: Iterable[Physician] = (),
    known: Iterable[KnownPerson] = (),
    known_received: Mapping[str, dt.date] | None = None,
    imported: Callable[[Sequence[str]], Mapping[str, str]] | None = None,
) -> FollowUpResult:
    """:func:`~mt_access.intake.tabular.read_table` then :func:`read_follow_up`.

    Raises:
        IntakeError: the file cannot be read or is not a follow-up sheet for ``mapping``.
        OSError: the file cannot be opened.
    """
    table = read_table(path, sheet=sheet)
    return read_follow_up(
        table,
        policy,
        mapping=mapping,
        today=today,
        physicians=physicians,
        known=known,
        known_received=known_received,
        imported=imported,
    )
