"""Migrating a CPTS's existing follow-up sheet (mt-access reprise): deduction of its mapping,
backdated histories checked by the lifecycle, idempotence, past figures in the indicators,
French month names in dates. Every sheet is generated here (invented people)."""

from __future__ import annotations

import csv
import datetime as dt
import random
import re
from collections import Counter
from pathlib import Path

import openpyxl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cli_support import run as _run
from mt_access import Physician, load_policy
from mt_access.calendar import Month
from mt_access.cli import EXIT_INVALID_INPUT, EXIT_OK
from mt_access.errors import IntakeError, RegisterOperationError
from mt_access.indicators import indicators
from mt_access.intake.deduce import deduce_mapping
from mt_access.intake.deduce_yaml import mapping_yaml
from mt_access.intake.follow_up import PhysicianFinder, read_follow_up, read_follow_up_file
from mt_access.intake.french_dates import (
    DAY_MONTH_YEAR,
    MONTH_YEAR,
    parse_french_date,
    read_dated,
)
from mt_access.intake.mapping_file import load_mapping_file
from mt_access.intake.outcomes import FollowUpOutcome
from mt_access.intake.tabular import read_table
from mt_access.intake.wordings import match_header
from mt_access.lifecycle import Event, ExitReason, RequestState
from mt_access.register import Register
from mt_access.store.memory import MemoryStore
from mt_access.store.sqlite import SQLiteStore

TODAY = dt.date(2026, 12, 1)
POLICY = load_policy("voironnais")
HEADERS = (
    "Date d'entrée",
    "Nom",
    "Prénom",
    "Date de naissance",
    "Commune",
    "Consentement",
    "Date de sortie",
    "Issue",
    "Médecin attribué",
)
VOIRON = "38563"
GPS = (
    Physician("MG-1", "Dr Jeanne Martin", VOIRON, rpps="10000000001"),
    Physician("MG-2", "Dr Paul Durand", VOIRON, rpps="10000000002"),
    Physician("MG-3", "Dr Alice Bernard", VOIRON, rpps="10000000003"),
)
# sheet wording → outcome, and the GP cell written for an MT found
WORDINGS = {
    "MT trouvé": FollowUpOutcome.MT_FOUND,
    "Abandon": FollowUpOutcome.WITHDRAWN,
    "Injoignable": FollowUpOutcome.UNREACHABLE,
    "Hors territoire": FollowUpOutcome.OUT_OF_SCOPE,
    "Réorienté": FollowUpOutcome.CLOSED_BY_CPTS,
    "Ne recherche plus": FollowUpOutcome.NOT_SEARCHING_ANYMORE,
    "Trouvé par ses propres moyens": FollowUpOutcome.OTHER_SOLUTION,
    "En cours": FollowUpOutcome.OPEN,
}
GP_CELLS = ("Dr Martin", "10000000002", "BERNARD Alice", "Jeanne MARTIN", "MG-2")
COMMUNES = ("Voiron", "Moirans", "Tullins", "Coublevie", "Voreppe")


def _rows(n: int, seed: int) -> list[list[object]]:
    """Rows of a follow-up sheet: entries from January 2025, exits up to 150 days later
    (never after TODAY), about one row in six still open; the last row is an open request
    from outside the territory (Grenoble)."""
    rng = random.Random(seed)
    rows: list[list[object]] = []
    wordings = [w for w in WORDINGS if WORDINGS[w] is not FollowUpOutcome.OPEN]
    start = dt.date(2025, 1, 1)
    for i in range(n):
        entry = start + dt.timedelta(days=rng.randrange((TODAY - start).days - 10))
        exit_on = entry + dt.timedelta(days=rng.randrange(150))
        birth = dt.date(rng.randrange(1930, 2020), rng.randrange(1, 13), rng.randrange(1, 29))
        commune = COMMUNES[i % len(COMMUNES)]
        if rng.random() < 0.17 or exit_on > TODAY:
            outcome, exit_cell, gp = rng.choice(("En cours", "")), None, ""
        else:
            outcome, exit_cell = rng.choice(wordings), dt.datetime.combine(exit_on, dt.time())
            gp = rng.choice(GP_CELLS) if outcome == "MT trouvé" else ""
        rows.append(
            [
                dt.datetime.combine(entry, dt.time()),
                f"Testeur{i}",
                rng.choice(("Alix", "Camille", "Dominique")),
                dt.datetime.combine(birth, dt.time()),
                commune,
                "Oui",
                exit_cell,
                outcome,
                gp,
            ]
        )
    rows[-1][4], rows[-1][6], rows[-1][7], rows[-1][8] = "Grenoble", None, "En cours", ""
    return rows


def _workbook(path: Path, rows: list[list[object]]) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Suivi"
    sheet.append(list(HEADERS))
    for row in rows:
        sheet.append(row)
    for cells in sheet.iter_rows(min_row=2):
        for cell in cells:
            if isinstance(cell.value, dt.datetime):
                cell.number_format = "DD/MM/YYYY"
    book.save(path)
    return path


def _expected_months(rows: list[list[object]]) -> tuple[Counter[Month], Counter[Month]]:
    """Entries and exits per month, counted from the sheet itself."""
    entries: Counter[Month] = Counter()
    exits: Counter[Month] = Counter()
    for row in rows:
        entry = row[0]
        assert isinstance(entry, dt.datetime)
        entries[Month.of(entry.date())] += 1
        if isinstance(row[6], dt.datetime):
            exits[Month.of(row[6].date())] += 1
        elif row[4] == "Grenoble":  # open but outside the territory: out of scope on entry
            exits[Month.of(entry.date())] += 1
    return entries, exits


def _mapping(tmp_path: Path, sheet: Path) -> Path:
    deduction = deduce_mapping(read_table(sheet))
    out = tmp_path / "suivi.yaml"
    out.write_text(mapping_yaml(deduction, file_name=sheet.name), encoding="utf-8")
    return out


def _register(store: MemoryStore | SQLiteStore | None = None) -> Register:
    register = Register(store or MemoryStore(), POLICY)
    for gp in GPS:
        register.add_physician(gp)
    return register


def _read(register: Register, sheet: Path, mapping: Path):  # type: ignore[no-untyped-def]
    return read_follow_up_file(
        sheet,
        POLICY,
        mapping=load_mapping_file(mapping),
        today=TODAY,
        physicians=register.physicians(),
        known=register.known_persons(),
        known_received=register.received_dates(),
        imported=register.imported_rows,
    )


# --------------------------------------------------------------------------------------------
# Deduction


def test_deduction_recognises_the_follow_up_columns(tmp_path: Path) -> None:
    sheet = _workbook(tmp_path / "suivi.xlsx", _rows(80, seed=1))
    deduction = deduce_mapping(read_table(sheet))
    fields = {p.header: p.field for p in deduction.fields}
    assert fields["Date d'entrée"] == "received"
    assert fields["Date de sortie"] == "exit_date"
    assert fields["Issue"] == "outcome"
    assert fields["Médecin attribué"] == "physician"
    assert not deduction.missing
    outcome = deduction.field("outcome")
    assert outcome is not None
    assert dict(outcome.values) == {
        w: o.value for w, o in WORDINGS.items() if w in dict(outcome.values)
    }
    assert len(outcome.values) == len(WORDINGS)
    mapping = load_mapping_file(_mapping(tmp_path, sheet))
    assert set(mapping.fields) >= {"received", "exit_date", "outcome", "physician", "consent"}


def test_unknown_outcome_wordings_are_listed_to_complete(tmp_path: Path) -> None:
    rows = _rows(40, seed=2)
    for row in rows[:6]:
        if row[6] is not None:
            row[7] = "Parti au Canada"
    sheet = _workbook(tmp_path / "suivi.xlsx", rows)
    text = _mapping(tmp_path, sheet).read_text(encoding="utf-8")
    assert "libellés non reconnus, à ajouter sous values : « Parti au Canada »" in text


# --------------------------------------------------------------------------------------------
# Round trip: deduce → migrate → indicators


def test_round_trip_monthly_entries_and_exits_equal_the_report(tmp_path: Path) -> None:
    rows = _rows(300, seed=3)
    sheet = _workbook(tmp_path / "suivi.xlsx", rows)
    mapping = _mapping(tmp_path, sheet)
    register = _register()
    result = _read(register, sheet, mapping)
    assert not result.problems, [str(p) for p in result.problems[:3]]
    assert len(result.entries) == 300
    outcome = register.migrate_follow_up(result)
    assert len(outcome.registered) == 300
    expected_entries, expected_exits = _expected_months(rows)
    for month in sorted(set(expected_entries) | set(expected_exits)):
        figures = indicators(register, month)
        assert (figures.entries, figures.exits) == (
            expected_entries[month],
            expected_exits[month],
        ), month
    # what each outcome became in the register
    states = Counter(s.state for s in register.list_requests())
    open_rows = sum(1 for r in rows if r[6] is None and r[4] != "Grenoble")
    assert states[RequestState.WAITING] == open_rows
    found = sum(1 for r in rows if r[7] == "MT trouvé")
    assert states[RequestState.MT_FOUND] == found
    assert outcome.counts[FollowUpOutcome.MT_FOUND] == found
    assert outcome.counts[FollowUpOutcome.OUT_OF_SCOPE] == 1 + sum(
        1 for r in rows if r[7] == "Hors territoire"
    )


def test_histories_are_backdated_and_gps_matched(tmp_path: Path) -> None:
    rows = _rows(60, seed=4)
    rows[0][6:9] = [dt.datetime(2025, 5, 20), "MT trouvé", "Dr Martin"]
    rows[0][0] = dt.datetime(2025, 3, 2)
    rows[1][6:9] = [dt.datetime(2025, 4, 1), "Injoignable", ""]
    rows[1][0] = dt.datetime(2025, 3, 3)
    rows[2][6:9] = [dt.datetime(2025, 4, 2), "Ne recherche plus", ""]
    rows[2][0] = dt.datetime(2025, 3, 4)
    sheet = _workbook(tmp_path / "suivi.xlsx", rows)
    register = _register()
    recorded = dict(
        register.migrate_follow_up(_read(register, sheet, _mapping(tmp_path, sheet))).registered
    )
    first, second, third = (register.file(recorded[row]) for row in (2, 3, 4))
    assert first.state is RequestState.MT_FOUND
    assert first.physician_found == "MG-1"
    assert first.history[0].on == dt.date(2025, 3, 2)
    assert [t.event for t in first.history][-2:] == [Event.PROPOSE, Event.ACCEPT]
    assert first.last_date == dt.date(2025, 5, 20)
    assert second.exit_reason is ExitReason.UNREACHABLE
    assert second.last_date == dt.date(2025, 4, 1)
    assert third.exit_reason is ExitReason.NOT_SEARCHING_ANYMORE
    figures = indicators(register, Month(2025, 5))
    assert figures.placed >= 1
    # the migration holds no place in the GPs' capacity ledger
    assert not register.ledger.entries


def test_gp_finder_by_rpps_id_and_name() -> None:
    finder = PhysicianFinder([*GPS, Physician("MG-4", "Dr Luc Martin", VOIRON)])
    assert finder.find("10000000001") == "MG-1"
    assert finder.find("mg-3") == "MG-3"
    assert finder.find("Dr Paul DURAND") == "MG-2"
    assert finder.find("Durand") == "MG-2"
    assert finder.find("Docteur Martin") == ["MG-1", "MG-4"]
    assert finder.find("Dr Inconnu") is None


# --------------------------------------------------------------------------------------------
# Bad rows: all or nothing


def test_bad_rows_are_refused_on_their_row_and_column_without_their_value(
    tmp_path: Path,
) -> None:
    rows = _rows(30, seed=5)
    for row in rows[:5]:
        row[0] = dt.datetime(2026, 3, 10)
    rows[0][6:9] = [dt.datetime(2026, 3, 1), "Abandon", ""]  # exit before entry
    rows[1][6:9] = [dt.datetime(2026, 4, 1), "Parti au Canada", ""]  # unknown outcome
    rows[2][0] = dt.datetime(2027, 1, 5)  # entry in the future
    rows[2][6:9] = [None, "En cours", ""]
    rows[3][6:9] = [dt.datetime(2026, 4, 1), "MT trouvé", "Dr Inconnu"]  # GP not in register
    rows[4][6:9] = [dt.datetime(2026, 4, 1), "", ""]  # exit without outcome
    clean = _rows(30, seed=5)
    mapping = _mapping(tmp_path, _workbook(tmp_path / "propre.xlsx", clean))
    sheet = _workbook(tmp_path / "suivi.xlsx", rows)
    register = _register()
    result = _read(register, sheet, mapping)
    found = {(p.row, p.column): p for p in result.problems}
    assert "postérieure ou égale à la date d'entrée" in found[(2, "Date de sortie")].expected
    assert "une des réponses suivantes attendue" in found[(3, "Issue")].expected
    assert "passée ou du jour" in found[(4, "Date d'entrée")].expected
    assert "médecin inconnu du registre" in found[(5, "Médecin attribué")].expected
    assert "issue de la demande attendue" in found[(6, "Issue")].expected
    assert result.rejected_rows == (2, 3, 4, 5, 6)
    assert found[(5, "Médecin attribué")].value == "Dr Inconnu"
    assert result.unknown_physicians == ("Dr Inconnu",)
    assert "Inconnu" not in repr(result)
    for problem in result.problems:
        assert "Canada" not in str(problem)
        assert "Inconnu" not in str(problem)
        assert "2027" not in str(problem)
        assert "Testeur" not in str(problem)
    with pytest.raises(RegisterOperationError, match="rien n'est repris"):
        register.migrate_follow_up(result)
    assert register.store.count_requests() == 0


def test_a_sheet_without_outcome_nor_exit_is_not_a_follow_up(tmp_path: Path) -> None:
    path = tmp_path / "demandes.csv"
    path.write_text(
        "Date de la demande;Nom;Prénom;Date de naissance;Commune;Consentement\n"
        "05/03/2026;Testeur;Alix;12/04/1950;Voiron;Oui\n",
        encoding="utf-8",
    )
    mapping = _mapping(tmp_path, path)
    with pytest.raises(IntakeError, match="ce n'est pas un suivi"):
        read_follow_up(read_table(path), POLICY, mapping=load_mapping_file(mapping), today=TODAY)


# --------------------------------------------------------------------------------------------
# Command line, idempotence


def test_cli_dry_run_then_migration_then_nothing_twice(tmp_path: Path) -> None:
    rows = _rows(120, seed=6)
    sheet = _workbook(tmp_path / "suivi.xlsx", rows)
    mapping = tmp_path / "suivi.yaml"
    code, _, err = _run("formulaire", "deduire", str(sheet), "--sortie", str(mapping))
    assert code == EXIT_OK, err
    path = tmp_path / "r.sqlite"
    assert _run("registre", "creer", str(path), "--politique", "voironnais")[0] == EXIT_OK
    with SQLiteStore(path, create=False) as store:
        _register(store)
    base = ("reprise", str(sheet), "--formulaire", str(mapping), "--registre", str(path))
    today = ("--aujourdhui", "01/12/2026")
    code, out, err = _run(*base, *today, "--simulation")
    assert code == EXIT_OK, err
    found = sum(1 for r in rows if r[7] == "MT trouvé")
    assert re.search(rf"^médecin traitant trouvé +{found}$", out, re.MULTILINE), out
    month, entries = next(iter(_expected_months(rows)[0].items()))
    assert re.search(rf"^{month.label} +{entries} ", out, re.MULTILINE), out
    assert "Simulation : rien n'a été enregistré" in out
    with SQLiteStore(path, create=False, readonly=True) as store:
        assert store.count_requests() == 0
    code, out, err = _run(*base, *today)
    assert code == EXIT_OK, err
    assert "120 demande(s) reprise(s)" in out
    code, out, err = _run(*base, *today)
    assert code == EXIT_OK, err
    assert "0 demande(s) reprise(s)" in out
    assert "120 ligne(s) déjà dans le registre" in out
    with SQLiteStore(path, create=False, readonly=True) as store:
        assert store.count_requests() == 120
    # the same mapping is refused by the import of new requests
    code, _, err = _run("import", str(sheet), "--formulaire", str(mapping), "--registre", str(path))
    assert code == EXIT_INVALID_INPUT
    assert "mt-access reprise" in err


def test_cli_refuses_everything_when_a_row_is_bad(tmp_path: Path) -> None:
    rows = _rows(20, seed=7)
    mapping = tmp_path / "suivi.yaml"
    clean = _workbook(tmp_path / "propre.xlsx", rows)
    assert _run("formulaire", "deduire", str(clean), "--sortie", str(mapping))[0] == EXIT_OK
    rows[3][0], rows[3][6:9] = dt.datetime(2026, 5, 2), [dt.datetime(2026, 5, 1), "Abandon", ""]
    rows[4][0], rows[4][6:9] = dt.datetime(2026, 5, 2), [dt.datetime(2026, 6, 1), "MT trouvé", "X"]
    sheet = _workbook(tmp_path / "suivi.xlsx", rows)
    path = tmp_path / "r.sqlite"
    _run("registre", "creer", str(path), "--politique", "voironnais")
    with SQLiteStore(path, create=False) as store:
        _register(store)
    code, out, _ = _run(
        "reprise", str(sheet), "--formulaire", str(mapping), "--registre", str(path),
        "--aujourdhui", "01/12/2026",
    )  # fmt: skip
    assert code == EXIT_INVALID_INPUT
    assert "ligne 5, colonne « Date de sortie »" in out
    assert "Rien n'a été repris" in out
    assert "1 médecin(s) attribué(s) inconnu(s) du registre" in out
    rejections = tmp_path / "suivi.rejets.csv"
    assert rejections.exists()
    with SQLiteStore(path, create=False, readonly=True) as store:
        assert store.count_requests() == 0


def test_a_row_already_in_the_register_is_skipped_even_when_the_sheet_changed(
    tmp_path: Path,
) -> None:
    rows = _rows(20, seed=8)
    rows[0][6:9] = [None, "En cours", ""]
    sheet = _workbook(tmp_path / "suivi.xlsx", rows)
    mapping = _mapping(tmp_path, sheet)
    register = _register()
    register.migrate_follow_up(_read(register, sheet, mapping))
    rows[0][6:9] = [dt.datetime(2026, 11, 30), "Abandon", ""]  # closed since
    changed = _workbook(tmp_path / "suivi2.xlsx", rows)
    again = _read(register, changed, mapping)
    assert [row for row, _ in again.already_in_register] == [2]
    assert len(again.already_imported) == 19
    assert register.migrate_follow_up(again).registered == ()
    assert register.store.count_requests() == 20


# --------------------------------------------------------------------------------------------
# French month names


def test_french_month_names_are_deduced_and_imported(tmp_path: Path) -> None:
    path = tmp_path / "suivi.csv"
    with path.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream, delimiter=";")
        writer.writerow(
            ["Date de la demande", "Nom", "Prénom", "DDN", "Ville", "Consentement",
             "Date d'attribution", "Motif de sortie", "RPPS"]
        )  # fmt: skip
        entries = ["3 janvier 2026", "03-janv-2026", "1er févr. 2026", "15 mars 2026"] * 3
        exits = ["20 janvier 2026", "04-févr-2026", "", "2 avril 2026"] * 3
        outcomes = ["MT trouvé", "Abandon", "En cours", "Injoignable"] * 3
        for i, (entry, exit_cell, outcome) in enumerate(zip(entries, exits, outcomes, strict=True)):
            gp = "10000000003" if outcome == "MT trouvé" else ""
            writer.writerow(
                [entry, f"Testeur{i}", "Alix", "12/04/1950", "Voiron", "Oui", exit_cell, outcome,
                 gp]
            )  # fmt: skip
    deduction = deduce_mapping(read_table(path))
    received = deduction.field("received")
    assert received is not None
    assert received.formats == (
        (DAY_MONTH_YEAR, "mois en toutes lettres « 3 janvier 2026 », « 03-janv-2026 »"),
    )
    mapping = _mapping(tmp_path, path)
    assert '- "jj mois aaaa"' in mapping.read_text(encoding="utf-8")
    register = _register()
    result = _read(register, path, mapping)
    assert not result.problems, [str(p) for p in result.problems]
    recorded = dict(register.migrate_follow_up(result).registered)
    assert indicators(register, Month(2026, 1)).entries == 6
    assert indicators(register, Month(2026, 2)).exits == 3
    assert register.file(recorded[2]).physician_found == "MG-3"


def test_month_only_dates_are_the_first_of_the_month(tmp_path: Path) -> None:
    assert parse_french_date("janv. 2026", MONTH_YEAR) == dt.date(2026, 1, 1)
    assert parse_french_date("Août 2025", MONTH_YEAR) == dt.date(2025, 8, 1)
    assert parse_french_date("janv. 2026", DAY_MONTH_YEAR) is None
    assert parse_french_date("31 févr. 2026") is None  # impossible date
    assert parse_french_date("3 brumaire 2026") is None
    path = tmp_path / "suivi.csv"
    lines = ["Mois d'entrée;Nom;Prénom;Date de naissance;Commune;Consentement;Date de sortie;Issue"]
    for i in range(8):
        lines.append(f"janv. 2026;Testeur{i};Alix;12/04/1950;Voiron;Oui;mars 2026;Abandon")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    # « Mois d'entrée » is no known wording: the coordinator writes the mapping by hand
    mapping = tmp_path / "suivi.yaml"
    mapping.write_text(
        "fields:\n"
        '  received: {column: "Mois d\'entrée", formats: ["mois aaaa"]}\n'
        "  last_name: Nom\n  first_name: Prénom\n  birth_date: Date de naissance\n"
        "  commune: Commune\n  consent: Consentement\n"
        '  exit_date: {column: Date de sortie, formats: ["mois aaaa"]}\n'
        "  outcome: {column: Issue, values: {Abandon: withdrawn}}\n",
        encoding="utf-8",
    )
    register = _register()
    result = _read(register, path, mapping)
    assert not result.problems
    assert {e.entry_on for e in result.entries} == {dt.date(2026, 1, 1)}
    assert {e.exit_on for e in result.entries} == {dt.date(2026, 3, 1)}
    # a birth date column written by month only is not proposed as a birth date
    profile = deduce_mapping(read_table(path))
    assert profile.field("birth_date") is not None


def test_birth_dates_by_month_only_are_not_proposed(tmp_path: Path) -> None:
    path = tmp_path / "e.csv"
    lines = ["Nom;Date de naissance;Commune;Consentement"]
    lines += [f"Testeur{i};mars 19{50 + i};Voiron;Oui" for i in range(10)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    deduction = deduce_mapping(read_table(path))
    assert deduction.field("birth_date") is None
    assert any("dates complètes" in why for _, why in deduction.unplaced)


_MONTH_SPELLINGS = {
    1: ("janvier", "janv.", "Janv"),
    2: ("février", "févr.", "fevrier"),
    3: ("mars",),
    4: ("avril", "avr."),
    5: ("mai",),
    6: ("juin",),
    7: ("juillet", "juil."),
    8: ("août", "aout"),
    9: ("septembre", "sept."),
    10: ("octobre", "oct."),
    11: ("novembre", "nov."),
    12: ("décembre", "déc.", "DECEMBRE"),
}


@given(
    st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2100, 12, 31)),
    st.data(),
)
def test_every_french_spelling_reads_back(day: dt.date, data: st.DataObject) -> None:
    month = data.draw(st.sampled_from(_MONTH_SPELLINGS[day.month]))
    sep = data.draw(st.sampled_from((" ", "-", "/")))
    day_text = data.draw(st.sampled_from((str(day.day), f"{day.day:02d}")))
    if day.day == 1:
        day_text = data.draw(st.sampled_from((day_text, "1er")))
    text = f"{day_text}{sep}{month}{sep}{day.year}"
    assert read_dated(text, (DAY_MONTH_YEAR,)) == day
    assert read_dated(f"{month} {day.year}", (MONTH_YEAR,)) == day.replace(day=1)


def test_a_sheet_without_outcome_column_reads_an_attribution_as_mt_found(tmp_path: Path) -> None:
    path = tmp_path / "suivi.csv"
    path.write_text(
        "Date de la demande;Nom;Prénom;Date de naissance;Commune;Consentement;"
        "Date d'attribution;MT attribué\n"
        "05/01/2026;Testeur1;Alix;12/04/1950;Voiron;Oui;20/02/2026;Dr Durand\n"
        "06/01/2026;Testeur2;Alix;12/04/1951;Voiron;Oui;;\n"
        "07/01/2026;Testeur3;Alix;12/04/1952;Voiron;Oui;20/02/2026;\n",
        encoding="utf-8",
    )
    register = _register()
    result = _read(register, path, _mapping(tmp_path, path))
    assert [(e.row, e.outcome, e.physician_id) for e in result.entries] == [
        (2, FollowUpOutcome.MT_FOUND, "MG-2"),
        (3, FollowUpOutcome.OPEN, None),
    ]
    (problem,) = result.problems
    assert (problem.row, problem.column) == (4, "Date d'attribution")
    assert "issue de la demande attendue" in problem.expected


def test_an_open_row_of_a_patient_still_searching_in_the_register_is_skipped(
    tmp_path: Path,
) -> None:
    form = tmp_path / "demandes.csv"
    form.write_text(
        "Date de la demande;Nom;Prénom;Date de naissance;Commune;Consentement\n"
        "05/03/2026;Testeur1;Alix;12/04/1950;Voiron;Oui\n",
        encoding="utf-8",
    )
    register = _register()
    from mt_access.intake import import_file, load_preset

    register.import_intake(import_file(form, POLICY, mapping=load_preset("generique")))
    path = tmp_path / "suivi.csv"
    path.write_text(
        "Date de la demande;Nom;Prénom;Date de naissance;Commune;Consentement;Date de sortie;"
        "Issue\n"
        "01/03/2026;TESTEUR1;alix;12/04/1950;Voiron;Oui;;En cours\n"
        "01/03/2025;Testeur1;Alix;12/04/1950;Voiron;Oui;01/06/2025;Abandon\n",
        encoding="utf-8",
    )
    result = _read(register, path, _mapping(tmp_path, path))
    assert [row for row, _ in result.already_in_register] == [2]
    assert [e.row for e in result.entries] == [3]  # an earlier, closed search is history


def test_a_form_export_is_not_taken_for_a_follow_up(tmp_path: Path) -> None:
    path = tmp_path / "formulaire.csv"
    lines = [
        "Nom;Date de naissance;Commune;Consentement;Médecin traitant actuel;"
        "Date de fin de droits CSS;RPPS;Date de l'entretien;Résultats;Date de sorti"
    ]
    lines += [
        f"Testeur{i};12/04/1950;Voiron;Oui;Dr Ancien{i};01/0{1 + i % 9}/2027;1000000000{i};"
        f"0{1 + i % 9}/02/2026;{('Positif', 'Négatif')[i % 2]};0{1 + i % 9}/03/2026"
        for i in range(10)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    deduction = deduce_mapping(read_table(path))
    assert not deduction.is_follow_up
    placed = {p.field for p in deduction.fields}
    assert not placed & {"exit_date", "outcome", "physician", "received"}
    why = dict(deduction.unplaced)
    assert "lu seulement avec une issue ou une date de sortie" in why["RPPS"]
    # follow-up wordings are matched exactly or inside a header, never approximately
    assert match_header("Date de l'entretien") is None
    assert match_header("Date de sortie du dispositif")[0] == "exit_date"  # type: ignore[index]
    assert match_header("Issue de la demande (à remplir)")[0] == "outcome"  # type: ignore[index]
