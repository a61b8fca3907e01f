"""Reading a file of GPs (mt_access.gp_file): headings, each check of a row, duplicates,
the comparison with the register's GPs, the import through the register's operations (all
or none, idempotent, updates only when asked), the rejections report, and a round trip of
generated GP files through CSV and XLSX. Generated data only."""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Sequence
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mt_access.bounds import MAX_MONTHLY_CAPACITY
from mt_access.errors import IntakeError, RegisterOperationError
from mt_access.examples import example_gp_rows, write_example_gp_file
from mt_access.export import write_rows
from mt_access.gp_file import GP_COLUMNS, GPImportResult, display_name, read_gp_file
from mt_access.gp_import import import_gps, write_gp_rejections
from mt_access.gp_mapping import parse_gp_mapping
from mt_access.intake.tabular import normalize_text
from mt_access.ledger import CapacityDeclared
from mt_access.model import Modality, PhysicianStatus
from mt_access.policy import Policy
from mt_access.register import Register
from mt_access.rpps import rpps_key, rpps_key_ok
from mt_access.store.memory import MemoryStore

TODAY = dt.date(2026, 12, 3)
HEADINGS = [c.heading for c in GP_COLUMNS]


def rpps(first_ten: str) -> str:
    return first_ten + rpps_key(first_ten)


R1, R2, R3 = rpps("1000000000"), rpps("1012345678"), rpps("1099999999")


def write(path: Path, rows: Sequence[dict[str, str]], headings: Sequence[str] = ()) -> Path:
    columns = list(headings) or sorted({h for row in rows for h in row}, key=_order)
    full = [{c: row.get(c, "") for c in columns} for row in rows]
    return write_rows(full, columns, path)


def _order(heading: str) -> int:
    return HEADINGS.index(heading) if heading in HEADINGS else len(HEADINGS)


def gp(**cells: str) -> dict[str, str]:
    base = {"RPPS": R1, "Nom": "Martin", "Prénom": "Jean", "Commune d'exercice": "Voiron"}
    base.update(cells)
    return base


def read(path: Path, policy: Policy, register: Register | None = None) -> GPImportResult:
    return read_gp_file(
        path,
        policy,
        physicians=register.physicians() if register else (),
        declarations=register.store.ledger_entries() if register else (),
        today=TODAY,
    )


@pytest.fixture
def register(voironnais: Policy) -> Register:
    return Register(MemoryStore(), voironnais)


# --- RPPS key


def test_rpps_key_is_the_luhn_digit() -> None:
    assert rpps_key("7992739871") == "3"  # the Luhn algorithm's textbook example
    assert rpps_key_ok(R1)
    assert rpps_key_ok(R2)
    assert not rpps_key_ok(R1[:-1] + str((int(R1[-1]) + 1) % 10))
    assert not rpps_key_ok("1000000000")
    assert not rpps_key_ok("１" * 11)
    with pytest.raises(ValueError, match="10 chiffres"):
        rpps_key("12")


# --- headings


def test_headings_are_tolerant_and_unknown_ones_are_warned(
    tmp_path: Path, voironnais: Policy
) -> None:
    path = tmp_path / "medecins.csv"
    path.write_text(
        "numéro rpps;NOM D'EXERCICE;prénom;COMMUNE;Capacité mensuelle;Date d'adhésion;Divers\n"
        f"{R1};Martin;Jean;38563;3;5 janvier 2026;x\n"
        f"{R2};Petit;;1053;;;\n",  # an INSEE code a spreadsheet kept as a number (01053)
        encoding="cp1252",
    )
    result = read(path, voironnais)
    assert not result.problems
    entry, other = result.entries
    assert other.physician.commune == "01053"
    assert entry.physician.name == "Dr Jean Martin"
    assert entry.physician.commune == "38563"
    assert (entry.joined, entry.capacity, entry.period) == (dt.date(2026, 1, 5), 3, "month")
    assert result.warnings() == [
        "1 colonne(s) du fichier non lue(s) (leur contenu n'est pas importé) : « Divers »"
    ]


def test_missing_or_doubled_columns_refuse_the_file(tmp_path: Path, voironnais: Policy) -> None:
    path = write(tmp_path / "a.csv", [{"Nom": "Martin", "Commune": "Voiron"}])
    with pytest.raises(IntakeError, match=r"RPPS \(ou Identifiant\)"):
        read(path, voironnais)
    path = tmp_path / "b.csv"
    path.write_text(f"RPPS;Nom;Nom du médecin;Commune\n{R1};A;B;Voiron\n", encoding="utf-8")
    with pytest.raises(IntakeError, match="désignent toutes deux « Nom »"):
        read(path, voironnais)


def test_display_name() -> None:
    assert display_name("Martin", "Jean") == "Dr Jean Martin"
    assert display_name("Dr  Martin") == "Dr Martin"
    assert display_name("docteur Martin", "Anne") == "Dr Anne Martin"


# --- checks of a row


def test_each_bad_cell_is_rejected_with_row_column_and_expectation(
    tmp_path: Path, voironnais: Policy
) -> None:
    day = {"Date d'entrée": "05/01/2026", "Places par mois": "1"}
    rows = [
        gp(RPPS="10000000001"),  # wrong key
        gp(RPPS=R2, **{"Commune d'exercice": "Voirno"}),
        gp(RPPS=R3, **{**day, "Places par mois": str(MAX_MONTHLY_CAPACITY + 1)}),
        gp(Identifiant="MG1", RPPS="", **{**day, "Date d'entrée": "05/01/2027"}),
        gp(Identifiant="MG2", RPPS="", **{**day, "Date d'entrée": "le cinq"}),
        gp(Identifiant="MG3", RPPS="", **{"Places par mois": "2"}),
        gp(Identifiant="MG4", RPPS="", **{**day, "Modalités": "téléconsultation"}),
        gp(Identifiant="MG5", RPPS="", Téléphone="06 12 AB CD EF", MSSanté="pas-une-adresse"),
        gp(Identifiant="MG6", RPPS="", **{**day, "Date de retrait": "01/01/2026"}),
        gp(Identifiant="MG7", RPPS="", **{**day, "Communes acceptées": "Voiron; Zzzville"}),
    ]
    path = write(tmp_path / "medecins.csv", rows)
    result = read(path, voironnais)
    assert not result.entries
    assert not result.duplicates
    found = {(p.row, p.column): p.expected for p in result.problems}
    assert "clé de contrôle" in found[2, "RPPS"]
    assert "vouliez-vous dire « Voiron »" in found[3, "Commune d'exercice"]
    assert "entier entre 0 et 1 000 attendu" in found[4, "Places par mois"]
    assert "postérieure à aujourd'hui (03/12/2026)" in found[5, "Date d'entrée"]
    assert "jj/mm/aaaa" in found[6, "Date d'entrée"]
    assert "sans « Date d'entrée »" in found[7, "Places par mois"]
    assert "« cabinet », « domicile »" in found[8, "Modalités"]
    assert found[9, "Téléphone"].startswith("téléphone : numéro attendu")
    assert found[9, "MSSanté"].startswith("adresse MSSanté")
    assert "antérieure à la dernière modification" in found[10, "Date de retrait"]
    assert "commune n° 2 de la liste" in found[11, "Communes acceptées"]
    contact = [p for p in result.problems if p.column in ("Téléphone", "MSSanté")]
    assert contact
    assert all(p.value == "" for p in contact)
    for problem in result.problems:  # the message never holds a contact cell
        assert "AB CD" not in str(problem)
        assert "pas-une-adresse" not in str(problem)
    report = write_gp_rejections(result, tmp_path / "rejets.csv")
    content = report.read_text(encoding="utf-8-sig")
    assert "AB CD" not in content
    assert "pas-une-adresse" not in content
    assert "Voirno" in content  # a commune is not a contact detail: its cell is reported
    lines = list(csv.reader(content.splitlines(), delimiter=";"))
    assert lines[0] == ["ligne", "colonne", "valeur", "message"]
    assert {int(line[0]) for line in lines[1:]} == set(range(2, 12))


def test_capacity_per_year_and_modalities(tmp_path: Path, voironnais: Policy) -> None:
    yearly = {"Places par an": "150", "Date d'entrée": "2026-01-05"}
    rows = [
        gp(**yearly, Modalités="Cabinet + visites à domicile"),
        gp(RPPS=R2, **{**yearly, "Places par mois": "3"}),
    ]
    result = read(write(tmp_path / "m.xlsx", rows), voironnais)
    (entry,) = result.entries
    assert (entry.capacity, entry.period) == (150, "year")
    assert entry.modalities == {Modality.OFFICE, Modality.HOME_VISITS}
    (problem,) = result.problems
    assert (problem.row, problem.column) == (3, "Places par an")


# --- duplicates and the register


def test_duplicates_in_the_file_and_against_the_register(
    tmp_path: Path, voironnais: Policy, register: Register
) -> None:
    from mt_access.model import Physician

    register.add_physician(Physician(id="MG001", name="Dr Anne Durand", commune="38563"))
    register.add_physician(Physician(id="MG002", name="Dr Paul Roux", commune="38563", rpps=R3))
    rows = [
        gp(),
        gp(Prénom="Jeanne"),  # same RPPS as row 2
        gp(RPPS=R2, Nom="DURAND", Prénom="Anne"),  # looks like MG001 (no RPPS recorded)
        gp(RPPS=R3, Nom="Roux", Prénom="Paul"),  # MG002, by its RPPS
        gp(Identifiant="MG009", RPPS=R3, Nom="Roux", Prénom="Paul"),  # RPPS of MG002
    ]
    result = read(write(tmp_path / "m.csv", rows), voironnais, register)
    assert [(d.row, d.of_row, d.of_physician) for d in result.duplicates] == [
        (3, 2, None),
        (4, None, "MG001"),
    ]
    assert "Identifiant" in result.duplicates[1].explanation
    assert [(e.row, e.id, e.status) for e in result.entries] == [
        (2, R1, "nouveau"),
        (5, "MG002", "identique"),
    ]
    (problem,) = result.problems
    assert (problem.row, problem.column) == (6, "RPPS")
    assert "MG002" in problem.expected


def test_import_is_idempotent_and_changes_wait_for_an_update(
    tmp_path: Path, voironnais: Policy, register: Register
) -> None:
    joined = {"Date d'entrée": "05/01/2026", "Places par mois": "2", "Modalités": "cabinet"}
    first = [gp(**joined), gp(RPPS=R2, Nom="Petit", Téléphone="0476123456")]
    result = read(write(tmp_path / "m.csv", first), voironnais, register)
    outcome = import_gps(register, result, comment="import de m.csv")
    assert outcome.added == ((2, R1), (3, R2))
    martin = register.physician(R1)
    assert martin.status_on(TODAY) is PhysicianStatus.ACTIVE
    assert martin.status_history[0].on == dt.date(2026, 1, 5)
    assert register.physician(R2).contact.phone == "04 76 12 34 56"
    assert not register.physician(R2).status_history  # a candidate
    declared = [e for e in register.store.ledger_entries() if isinstance(e, CapacityDeclared)]
    assert [(e.physician_id, e.capacity) for e in declared] == [(R1, 2)]

    again = read(write(tmp_path / "m.csv", first), voironnais, register)
    assert [e.status for e in again.entries] == ["identique", "identique"]
    assert import_gps(register, again).identical == ((2, R1), (3, R2))

    later = {"Date d'entrée": "01/02/2026", "Places par mois": "1"}
    changed = [
        gp(**{**joined, "Places par mois": "3", "Date de retrait": "01/06/2026"}),
        gp(RPPS=R2, Nom="Petit", Téléphone="", Cabinet="Maison de santé", **later),
    ]
    result = read(write(tmp_path / "m.csv", changed), voironnais, register)
    martin_row, petit_row = result.entries
    assert martin_row.status == petit_row.status == "modifié"
    assert martin_row.differences == ("Date de retrait",)
    assert martin_row.fixed == ("Places par mois",)
    assert petit_row.differences == ("Cabinet", "Date d'entrée")
    before = register.store.data_version()
    outcome = import_gps(register, result)
    assert outcome.nothing_new
    assert len(outcome.not_updated) == 2
    assert register.store.data_version() == before

    outcome = import_gps(register, result, update=True)
    assert outcome.updated == ((2, R1), (3, R2))
    assert outcome.not_updated == ((2, R1, ("Places par mois",)),)
    assert register.physician(R1).status_on(TODAY) is PhysicianStatus.WITHDRAWN
    petit = register.physician(R2)
    assert petit.contact.practice == "Maison de santé"
    assert petit.contact.phone == "04 76 12 34 56"  # an empty cell never erases
    assert petit.status_on(TODAY) is PhysicianStatus.ACTIVE


def test_an_import_records_all_its_gps_or_none(
    tmp_path: Path, voironnais: Policy, register: Register
) -> None:
    from mt_access.model import Physician

    rows = [gp(), gp(RPPS=R2, Nom="Petit")]
    result = read(write(tmp_path / "m.csv", rows), voironnais, register)
    register.add_physician(Physician(id=R2, name="Dr Autre", commune="38563"))  # meanwhile
    with pytest.raises(RegisterOperationError):
        import_gps(register, result)
    assert [p.id for p in register.physicians()] == [R2]


def test_the_example_gp_file_imports_cleanly(
    tmp_path: Path, voironnais: Policy, register: Register
) -> None:
    assert voironnais.reference is not None
    path = write_example_gp_file(tmp_path / "medecins.xlsx", voironnais, voironnais.reference)
    result = read(path, voironnais, register)
    assert not result.problems
    assert not result.duplicates
    assert len(result.new) == 14
    assert import_gps(register, result).added
    rows = example_gp_rows(voironnais, voironnais.reference)
    assert all(rpps_key_ok(row["RPPS"]) for row in rows)


# --- round trip of generated files


_FIRST = st.sampled_from(["Jean", "Anne", "Léa", "Éric", "Françoise", "Jean-Pierre", ""])
_LAST = st.sampled_from(["Martin", "Durand", "Lefèvre", "N'Diaye", "Dupont-Moreau", "Œuvray"])
_DAYS = st.dates(min_value=dt.date(2000, 1, 1), max_value=TODAY)


@st.composite
def gp_rows(draw: st.DrawFn, communes: Sequence[tuple[str, str]]) -> list[dict[str, str]]:
    count = draw(st.integers(min_value=1, max_value=8))
    numbers = draw(
        st.lists(
            st.integers(min_value=0, max_value=10**8 - 1), min_size=count, max_size=count,
            unique=True,
        )
    )  # fmt: skip
    rows = []
    for number in numbers:
        insee, name = draw(st.sampled_from(communes))
        row = {
            "RPPS": rpps(f"10{number:08d}"),
            "Nom": draw(_LAST),
            "Prénom": draw(_FIRST),
            "Commune d'exercice": draw(st.sampled_from([insee, name, name.upper()])),
            "Téléphone": draw(st.sampled_from(["", "0476123456", "+33 4 76 12 34 56"])),
        }
        if draw(st.booleans()):
            joined = draw(_DAYS)
            row["Date d'entrée"] = draw(st.sampled_from([f"{joined:%d/%m/%Y}", joined.isoformat()]))
            row["Places par mois"] = str(draw(st.integers(0, MAX_MONTHLY_CAPACITY)))
            row["Modalités"] = draw(
                st.sampled_from(["cabinet", "domicile", "cabinet et domicile", ""])
            )
            accepted = draw(st.lists(st.sampled_from(communes), max_size=3, unique=True))
            row["Communes acceptées"] = "; ".join(n for _, n in accepted)
            if draw(st.booleans()):
                withdrawn = draw(st.dates(min_value=joined + dt.timedelta(days=1),
                                          max_value=TODAY + dt.timedelta(days=1)))  # fmt: skip
                if withdrawn <= TODAY:
                    row["Date de retrait"] = f"{withdrawn:%d/%m/%Y}"
        rows.append(row)
    return rows


@pytest.fixture(scope="module")
def commune_names(voironnais: Policy) -> list[tuple[str, str]]:
    reference = voironnais.reference
    assert reference is not None
    names = [(c, reference.get(c).name) for c in sorted(voironnais.territory)]
    unique = [pair for pair in names if [n for _, n in names].count(pair[1]) == 1]
    return [(c, n) for c, n in unique if len(reference.search(n)) <= 1][:25] or unique[:25]


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    data=st.data(),
    form=st.sampled_from([".xlsx", ".csv", ("cp1252", ","), ("utf-8", "\t"), ("cp1252", ";")]),
)
def test_a_generated_gp_file_reads_back_as_written(
    data: st.DataObject,
    form: str | tuple[str, str],
    tmp_path: Path,
    voironnais: Policy,
    commune_names: list[tuple[str, str]],
) -> None:
    rows = data.draw(gp_rows(commune_names))
    if isinstance(form, str):  # as mt-access writes it (French Excel's CSV, or a workbook)
        path = write(tmp_path / f"medecins{form}", rows, HEADINGS)
    else:  # as another spreadsheet may: its encoding and separator, detected when read
        encoding, delimiter = form
        path = tmp_path / "medecins.csv"
        with path.open("w", encoding=encoding, newline="") as stream:
            writer = csv.writer(stream, delimiter=delimiter)
            writer.writerow(HEADINGS)
            writer.writerows([[row.get(h, "") for h in HEADINGS] for row in rows])
    by_name = {n: c for c, n in commune_names}
    folded = {normalize_text(n): c for c, n in commune_names}
    result = read_gp_file(path, voironnais, today=TODAY)
    assert not result.problems
    assert not result.duplicates
    assert len(result.entries) == len(rows)
    for row, entry in zip(rows, result.entries, strict=True):
        physician = entry.physician
        assert physician.id == physician.rpps == row["RPPS"]
        assert physician.name == display_name(row["Nom"], row["Prénom"])
        commune = row["Commune d'exercice"]
        assert physician.commune == folded.get(normalize_text(commune), commune)
        assert physician.commune in voironnais.territory
        if "Date d'entrée" in row:
            assert entry.joined is not None
            assert entry.capacity == int(row["Places par mois"])
            expected = {n.strip() for n in row["Communes acceptées"].split(";") if n.strip()}
            assert entry.accepted_communes == {by_name[n] for n in expected}
            mods = row["Modalités"] or "cabinet"
            assert (Modality.HOME_VISITS in entry.modalities) == ("domicile" in mods)
            if "Date de retrait" in row:
                assert f"{entry.withdrawn:%d/%m/%Y}" == row["Date de retrait"]
        else:
            assert entry.joined is None
            assert entry.capacity is None
    register = Register(MemoryStore(), voironnais)
    import_gps(register, result)
    again = read_gp_file(
        path,
        voironnais,
        physicians=register.physicians(),
        declarations=register.store.ledger_entries(),
        today=TODAY,
    )
    assert [e.status for e in again.entries] == ["identique"] * len(rows)


def test_an_update_never_rewrites_a_recorded_joining(
    tmp_path: Path, voironnais: Policy, register: Register
) -> None:
    joined = {"Date d'entrée": "05/01/2026", "Places par mois": "2"}
    import_gps(register, read(write(tmp_path / "a.csv", [gp(**joined)]), voironnais, register))
    moved = {"Date d'entrée": "01/02/2026", "Places par mois": "2", "Téléphone": "0476999999"}
    result = read(write(tmp_path / "b.csv", [gp(**moved)]), voironnais, register)
    (entry,) = result.entries
    assert entry.fixed == ("Date d'entrée",)
    assert entry.differences == ("Téléphone",)
    assert not entry.to_join
    outcome = import_gps(register, result, update=True)  # the joining is left, not refused
    assert outcome.updated == ((2, R1),)
    assert outcome.not_updated == ((2, R1, ("Date d'entrée",)),)
    martin = register.physician(R1)
    assert [c.on for c in martin.status_history] == [dt.date(2026, 1, 5)]
    assert martin.contact.phone == "04 76 99 99 99"


def test_a_mapping_renames_the_fields_it_names_only(voironnais: Policy, tmp_path: Path) -> None:
    rows = [gp(**{"Commune": "Coublevie", "Date d'entrée": "02/03/2026",
                  "Places par mois": "2"})]  # fmt: skip
    path = write(tmp_path / "m.csv", rows)
    with pytest.raises(IntakeError, match="désignent toutes deux « Commune d'exercice »"):
        read(path, voironnais)  # « Commune » is a synonym of the practice's commune
    mapping = parse_gp_mapping("fields:\n  communes: Commune\n", "colonnes.yaml")
    result = read_gp_file(path, voironnais, today=TODAY, mapping=mapping)
    assert not result.problems
    (entry,) = result.entries
    assert entry.physician.commune == "38563"  # « Commune d'exercice », built-in, still read
    assert entry.accepted_communes == frozenset({"38133"})
    assert ("communes", "Commune") in result.columns
