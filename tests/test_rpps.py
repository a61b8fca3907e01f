"""Tests of the RPPS extraction import, on small files written in the exact published format."""

from __future__ import annotations

import datetime as dt
import io
import tracemalloc
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest

from mt_access.errors import MatchInputError, ReferenceDataError
from mt_access.geo.communes import CommuneReference
from mt_access.geo.point import Point
from mt_access.model import Modality, Physician, PhysicianStatus, PracticeContact, StatusChange
from mt_access.rpps import (
    HEADER,
    MAX_WARNINGS,
    DirectoryExtract,
    PracticeSite,
    merge_directory,
    read_extraction,
    to_physicians,
)

# Copied from the format description (docs of the Annuaire Santé extraction), not from the code.
HEADER_LINE = (
    "Type d'identifiant PP|Identifiant PP|Identification nationale PP|Code civilité "
    "d'exercice|Libellé civilité d'exercice|Code civilité|Libellé civilité|Nom d'exercice|"
    "Prénom d'exercice|Code profession|Libellé profession|Code catégorie professionnelle|"
    "Libellé catégorie professionnelle|Code type savoir-faire|Libellé type savoir-faire|Code "
    "savoir-faire|Libellé savoir-faire|Code mode exercice|Libellé mode exercice|Numéro SIRET "
    "site|Numéro SIREN site|Numéro FINESS site|Numéro FINESS établissement juridique|"
    "Identifiant technique de la structure|Raison sociale site|Enseigne commerciale site|"
    "Complément destinataire (coord. structure)|Complément point géographique (coord. "
    "structure)|Numéro Voie (coord. structure)|Indice répétition voie (coord. structure)|Code "
    "type de voie (coord. structure)|Libellé type de voie (coord. structure)|Libellé Voie "
    "(coord. structure)|Mention distribution (coord. structure)|Bureau cedex (coord. "
    "structure)|Code postal (coord. structure)|Code commune (coord. structure)|Libellé commune "
    "(coord. structure)|Code pays (coord. structure)|Libellé pays (coord. structure)|Téléphone "
    "(coord. structure)|Téléphone 2 (coord. structure)|Télécopie (coord. structure)|Adresse "
    "e-mail (coord. structure)|Code Département (structure)|Libellé Département (structure)|"
    "Ancien identifiant de la structure|Autorité d'enregistrement|Code secteur d'activité|"
    "Libellé secteur d'activité|Code section tableau pharmaciens|Libellé section tableau "
    "pharmaciens|Code rôle|Libellé rôle|Code genre activité|Libellé genre activité|"
)
COLUMNS = HEADER_LINE.split("|")[:-1]

VOIRON, COUBLEVIE, MOIRANS, GRENOBLE = "38563", "38133", "38239", "38185"
TERRITORY = (VOIRON, COUBLEVIE)


def gp_line(rpps: str, **fields: str) -> dict[str, str]:
    """A line of a GP practising in Voiron, with ``fields`` overriding (keys: column names)."""
    values = {
        "Type d'identifiant PP": "8",
        "Identifiant PP": rpps,
        "Identification nationale PP": "8" + rpps,
        "Code civilité d'exercice": "DR",
        "Libellé civilité d'exercice": "Docteur",
        "Code civilité": "M",
        "Libellé civilité": "Monsieur",
        "Nom d'exercice": "MARTIN",
        "Prénom d'exercice": "Jean",
        "Code profession": "10",
        "Libellé profession": "Médecin",
        "Code catégorie professionnelle": "C",
        "Libellé catégorie professionnelle": "Civil",
        "Code type savoir-faire": "S",
        "Libellé type savoir-faire": "Spécialité ordinale",
        "Code savoir-faire": "SM54",
        "Libellé savoir-faire": "Médecine générale",
        "Code mode exercice": "L",
        "Libellé mode exercice": "Libéral",
        "Numéro SIRET site": "12345678900011",
        "Numéro Voie (coord. structure)": "12",
        "Indice répétition voie (coord. structure)": "B",
        "Libellé type de voie (coord. structure)": "Avenue",
        "Libellé Voie (coord. structure)": "Jules Ravat",
        "Code postal (coord. structure)": "38500",
        "Code commune (coord. structure)": VOIRON,
        "Libellé commune (coord. structure)": "VOIRON",
        "Code pays (coord. structure)": "99000",
        "Libellé pays (coord. structure)": "France",
        "Téléphone (coord. structure)": "0476000000",
        "Code Département (structure)": "38",
        "Libellé Département (structure)": "Isère",
    }
    values.update(fields)
    return values


def render(row: Mapping[str, str]) -> str:
    unknown = set(row) - set(COLUMNS)
    assert not unknown, unknown
    return "|".join(row.get(column, "") for column in COLUMNS) + "|"


def write(path: Path, rows: Iterable[Mapping[str, str] | str], *, bom: bool = False) -> Path:
    lines = [HEADER_LINE, *(row if isinstance(row, str) else render(row) for row in rows)]
    path.write_text(("\ufeff" if bom else "") + "\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_header_constant_matches_the_published_format() -> None:
    assert tuple(COLUMNS) == HEADER


def test_filters_gps_of_the_territory(tmp_path: Path, reference: CommuneReference) -> None:
    rows = [
        gp_line("10000000001"),
        gp_line(
            "10000000002", **{"Libellé savoir-faire": "Cardiologie", "Code savoir-faire": "SM04"}
        ),
        gp_line(
            "10000000003",
            **{"Libellé profession": "Infirmier", "Code profession": "60"},
        ),
        gp_line(
            "10000000004",
            **{
                "Code commune (coord. structure)": GRENOBLE,
                "Code postal (coord. structure)": "38000",
                "Libellé commune (coord. structure)": "GRENOBLE",
            },
        ),
    ]
    extract = read_extraction(
        write(tmp_path / "PS.txt", rows), communes=TERRITORY, reference=reference
    )
    assert [gp.rpps for gp in extract.gps] == ["10000000001"]
    assert extract.lines_read == 4
    assert extract.warnings == ()
    gp = extract.gps[0]
    assert gp.display_name == "Dr Jean MARTIN"
    assert gp.civility == "Docteur"
    assert gp.sites == (
        PracticeSite(
            commune=VOIRON,
            postal_code="38500",
            city="VOIRON",
            address="12 B Avenue Jules Ravat",
            phone="0476000000",
            mode="Libéral",
            siret="12345678900011",
            finess=None,
        ),
    )


def test_multi_site_gp_is_grouped_and_sorted(tmp_path: Path) -> None:
    coublevie = {
        "Code commune (coord. structure)": COUBLEVIE,
        "Libellé commune (coord. structure)": "COUBLEVIE",
        "Libellé mode exercice": "Salarié",
        "Numéro FINESS site": "380000001",
        "Numéro SIRET site": "",
    }
    rows = [
        gp_line("20000000009", **{"Nom d'exercice": "DURAND", "Prénom d'exercice": "Anne"}),
        gp_line("10000000001"),
        gp_line("10000000001", **coublevie),
        gp_line("10000000001"),  # same activity twice: one site
    ]
    extract = read_extraction(write(tmp_path / "PS.txt", rows), communes=TERRITORY)
    assert [gp.rpps for gp in extract.gps] == ["10000000001", "20000000009"]
    sites = extract.gps[0].sites
    assert [(s.commune, s.mode, s.siret, s.finess) for s in sites] == [
        (VOIRON, "Libéral", "12345678900011", None),
        (COUBLEVIE, "Salarié", None, "380000001"),
    ]


def test_empty_commune_code_resolved_from_postal_code_and_label(
    tmp_path: Path, reference: CommuneReference
) -> None:
    blank = {"Code commune (coord. structure)": ""}
    rows = [
        gp_line("10000000001", **blank, **{"Libellé commune (coord. structure)": "COUBLEVIE"}),
        gp_line("10000000002", **blank, **{"Libellé commune (coord. structure)": "LA BUISSE"}),
        gp_line(
            "10000000003",
            **blank,
            **{
                "Code postal (coord. structure)": "38000",
                "Libellé commune (coord. structure)": "GRENOBLE",
            },
        ),
        gp_line("10000000004", **blank, **{"Libellé commune (coord. structure)": "NOWHERE"}),
    ]
    path = write(tmp_path / "PS.txt", rows)
    extract = read_extraction(path, communes=TERRITORY, reference=reference)
    # La Buisse shares Voiron's postal code but is outside the territory; Grenoble too.
    assert [(gp.rpps, gp.sites[0].commune) for gp in extract.gps] == [("10000000001", COUBLEVIE)]
    assert len(extract.warnings) == 1
    assert "ligne 5" in extract.warnings[0]
    assert "NOWHERE" in extract.warnings[0]
    assert str(path) in extract.warnings[0]
    # Without a reference, such sites cannot be placed.
    assert read_extraction(path, communes=TERRITORY).gps == ()


def test_margin_adds_neighbouring_communes(tmp_path: Path, reference: CommuneReference) -> None:
    def at(rpps: str, insee: str, postal: str) -> dict[str, str]:
        return gp_line(
            rpps,
            **{"Code commune (coord. structure)": insee, "Code postal (coord. structure)": postal},
        )

    rows = [at("10000000001", VOIRON, "38500"), at("10000000002", MOIRANS, "38430")]
    rows.append(at("10000000003", GRENOBLE, "38000"))
    path = write(tmp_path / "PS.txt", rows)
    without = read_extraction(path, communes=[VOIRON], reference=reference)
    assert [gp.rpps for gp in without.gps] == ["10000000001"]
    with_margin = read_extraction(path, communes=[VOIRON], reference=reference, margin_km=5)
    assert [gp.rpps for gp in with_margin.gps] == ["10000000001", "10000000002"]
    assert MOIRANS in with_margin.zone
    assert with_margin.territory == frozenset({VOIRON})
    with pytest.raises(ValueError, match="référentiel"):
        read_extraction(path, communes=[VOIRON], margin_km=5)
    with pytest.raises(TypeError, match="collection"):
        read_extraction(path, communes=VOIRON)


def test_malformed_lines_are_warnings(tmp_path: Path) -> None:
    good = render(gp_line("10000000001"))
    rows = [good, good + "extra|", "a|b|c|", render(gp_line("10000000002"))]
    path = write(tmp_path / "PS.txt", rows)
    extract = read_extraction(path, communes=TERRITORY)
    assert [gp.rpps for gp in extract.gps] == ["10000000001", "10000000002"]
    assert extract.malformed_lines == 2
    assert extract.lines_read == 4
    assert [w.split(",")[1].strip() for w in extract.warnings] == ["ligne 3", "ligne 4"]
    assert all(w.startswith(str(path)) for w in extract.warnings)


def test_warnings_are_capped(tmp_path: Path) -> None:
    extract = read_extraction(write(tmp_path / "PS.txt", ["a|b|"] * 150), communes=TERRITORY)
    assert extract.malformed_lines == 150
    assert len(extract.warnings) == MAX_WARNINGS + 1
    assert extract.warnings[-1].startswith("… et 50 autre(s)")


def test_bad_rpps_is_a_warning(tmp_path: Path) -> None:
    path = write(tmp_path / "PS.txt", [gp_line("123", **{"Identification nationale PP": "8123"})])
    extract = read_extraction(path, communes=TERRITORY)
    assert extract.gps == ()
    assert "ligne 2, colonne 2 (Identifiant PP)" in extract.warnings[0]


def test_wrong_header_is_fatal(tmp_path: Path) -> None:
    path = tmp_path / "PS.txt"
    path.write_text(HEADER_LINE.replace("Nom d'exercice", "Nom") + "\n", encoding="utf-8")
    with pytest.raises(ReferenceDataError, match=r"PS\.txt, ligne 1, colonne 8 .*Nom d'exercice"):
        read_extraction(path, communes=TERRITORY)
    path.write_text("", encoding="utf-8")
    with pytest.raises(ReferenceDataError, match="fichier vide"):
        read_extraction(path, communes=TERRITORY)
    with pytest.raises(ReferenceDataError, match="lecture"):
        read_extraction(tmp_path / "missing.txt", communes=TERRITORY)


def test_bom_and_crlf_tolerated_and_streams_accepted(tmp_path: Path) -> None:
    path = write(tmp_path / "PS.txt", [gp_line("10000000001")], bom=True)
    assert [gp.rpps for gp in read_extraction(path, communes=TERRITORY).gps] == ["10000000001"]
    crlf = path.read_bytes().replace(b"\n", b"\r\n")
    assert len(read_extraction(io.BytesIO(crlf), communes=TERRITORY).gps) == 1
    text = io.StringIO(crlf.decode("utf-8"), newline="")
    extract = read_extraction(text, communes=TERRITORY)
    assert extract.gps[0].sites[0].commune == VOIRON
    assert extract.source == "<flux>"


def test_to_physicians_are_candidates(tmp_path: Path) -> None:
    rows = [gp_line("10000000001"), gp_line("10000000002", **{"Prénom d'exercice": "Léa"})]
    extract = read_extraction(write(tmp_path / "PS.txt", rows), communes=TERRITORY)
    physicians = to_physicians(extract)
    assert [(p.id, p.name, p.commune, p.rpps) for p in physicians] == [
        ("RPPS-10000000001", "Dr Jean MARTIN", VOIRON, "10000000001"),
        ("RPPS-10000000002", "Dr Léa MARTIN", VOIRON, "10000000002"),
    ]
    assert not any(p.accepting_new_patients for p in physicians)
    assert all(p.monthly_capacity is None for p in physicians)
    assert to_physicians(extract, id_prefix="MG-")[0].id == "MG-10000000001"


def _extract(tmp_path: Path, rows: list[dict[str, str]]) -> DirectoryExtract:
    return read_extraction(write(tmp_path / "PS.txt", rows), communes=TERRITORY)


def test_merge_keeps_what_the_cpts_recorded(tmp_path: Path) -> None:
    history = (StatusChange(dt.date(2026, 3, 1), PhysicianStatus.SUSPENDED, dt.date(2026, 4, 1)),)
    known = Physician(
        id="MG-07",
        name="Dr Martin",
        commune=VOIRON,
        location=Point(45.36, 5.59),
        accepting_new_patients=True,
        monthly_capacity=4,
        modalities={Modality.OFFICE, Modality.HOME_VISITS},
        accepted_communes={VOIRON, COUBLEVIE},
        rpps="10000000001",
        status_history=history,
    )
    moved = Physician(id="MG-08", name="Dr Lebrun", commune=VOIRON, rpps="10000000002")
    retired = Physician(id="MG-09", name="Dr Petit", commune=VOIRON, rpps="10000000003")
    manual = Physician(id="MG-10", name="Dr Sans Rpps", commune=VOIRON)
    rows = [
        gp_line("10000000001"),
        gp_line(
            "10000000002",
            **{
                "Nom d'exercice": "LEBRUN",
                "Prénom d'exercice": "Paul",
                "Code commune (coord. structure)": COUBLEVIE,
            },
        ),
        gp_line("10000000004", **{"Nom d'exercice": "NOUVEAU"}),
    ]
    update = merge_directory([known, moved, retired, manual], _extract(tmp_path, rows))
    refreshed, moved_after, retired_after, manual_after = update.physicians
    assert refreshed.name == "Dr Jean MARTIN"
    assert (refreshed.commune, refreshed.location) == (VOIRON, known.location)
    for field in (
        "accepting_new_patients",
        "monthly_capacity",
        "modalities",
        "accepted_communes",
        "status_history",
        "id",
        "rpps",
    ):
        assert getattr(refreshed, field) == getattr(known, field), field
    assert (moved_after.commune, moved_after.name) == (COUBLEVIE, "Dr Paul LEBRUN")
    assert retired_after == retired
    assert manual_after == manual
    assert update.disappeared == (retired,)
    assert [(p.id, p.rpps, p.accepting_new_patients) for p in update.added] == [
        ("RPPS-10000000004", "10000000004", False)
    ]
    # the directory's phone and address complete the empty contacts
    assert update.changed == {
        "10000000001": ("name", "contact.phone", "contact.address"),
        "10000000002": ("name", "commune", "contact.phone", "contact.address"),
    }


def test_merge_is_idempotent(tmp_path: Path) -> None:
    extract = _extract(tmp_path, [gp_line("10000000001"), gp_line("10000000002")])
    first = to_physicians(extract)
    update = merge_directory(first, extract)
    assert update.physicians == tuple(first)
    assert (update.added, update.disappeared, update.changes) == ((), (), ())


def test_merge_rejects_duplicate_rpps(tmp_path: Path) -> None:
    extract = _extract(tmp_path, [gp_line("10000000001")])
    twins = [
        Physician(id=f"MG-{i}", name="Dr X", commune=VOIRON, rpps="10000000001") for i in (1, 2)
    ]
    with pytest.raises(MatchInputError, match="en double"):
        merge_directory(twins, extract)


@pytest.mark.slow
def test_million_lines_in_bounded_memory(tmp_path: Path) -> None:
    not_gp = {
        "Libellé profession": "Infirmier",
        "Code profession": "60",
        "Libellé savoir-faire": "",
        "Code savoir-faire": "",
    }
    nurse = render(gp_line("30000000000", **not_gp)) + "\n"
    other_gp = render(gp_line("40000000000", **{"Code commune (coord. structure)": "59350"}))
    path = tmp_path / "PS_LibreAcces_Personne_activite_big.txt"
    lines = 1_000_000
    with path.open("w", encoding="utf-8") as out:
        out.write(HEADER_LINE + "\n")
        block = nurse * 9_990 + (other_gp + "\n") * 9 + render(gp_line("10000000001")) + "\n"
        for _ in range(lines // 10_000):
            out.write(block)
    tracemalloc.start()
    try:
        extract = read_extraction(path, communes=TERRITORY)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert extract.lines_read == lines
    assert [gp.rpps for gp in extract.gps] == ["10000000001"]
    assert peak < 50 * 1024 * 1024, peak


def test_tracked_gps_tell_moved_from_gone(tmp_path: Path, reference: CommuneReference) -> None:
    grenoble = {
        "Code commune (coord. structure)": GRENOBLE,
        "Code postal (coord. structure)": "38000",
        "Libellé commune (coord. structure)": "GRENOBLE",
    }
    rows = [
        gp_line("10000000001", **grenoble),  # known, moved to Grenoble
        gp_line("10000000002", **grenoble),  # known, practises in Grenoble and Voiron
        gp_line("10000000002"),
        gp_line("10000000005", **grenoble),  # not known, outside: dropped
        gp_line(  # known, moved, site without commune code: resolved anywhere
            "10000000006", **grenoble | {"Code commune (coord. structure)": ""}
        ),
    ]
    known = [
        Physician(id=f"MG-{n}", name="Dr X", commune=VOIRON, rpps=f"1000000000{n}")
        for n in (1, 2, 3, 6)
    ]
    extract = read_extraction(
        write(tmp_path / "PS.txt", rows),
        communes=TERRITORY,
        reference=reference,
        track_rpps={p.rpps for p in known if p.rpps},
    )
    assert [gp.rpps for gp in extract.gps] == [
        "10000000001",
        "10000000002",
        "10000000006",
    ]
    assert [s.commune for s in extract.gps[1].sites] == [GRENOBLE, VOIRON]
    assert [gp.rpps for gp in extract.in_zone()] == ["10000000002"]
    assert to_physicians(extract)[0].commune == VOIRON
    update = merge_directory(known, extract)
    assert [p.id for p in update.left_zone] == ["MG-1", "MG-6"]
    assert [p.id for p in update.disappeared] == ["MG-3"]
    assert update.added == ()
    assert update.physicians[0] == known[0]
    assert update.physicians[1].commune == VOIRON
    assert update.changed == {"10000000002": ("name", "contact.phone", "contact.address")}


# -- practice contact -------------------------------------------------------------------------

CONTACT_FIELDS = {
    "Raison sociale site": "SCM DES TILLEULS",
    "Enseigne commerciale site": "Cabinet des Tilleuls",
    "Téléphone (coord. structure)": "0476000001",
    "Adresse e-mail (coord. structure)": "jean.martin@medecin.mssante.fr",
}


def test_candidates_get_their_site_contact(tmp_path: Path) -> None:
    rows = [
        gp_line("10000000001", **CONTACT_FIELDS),
        gp_line(  # a plain e-mail is not an MSSanté address; a 2nd phone stands in
            "10000000002",
            **{
                "Téléphone (coord. structure)": "",
                "Téléphone 2 (coord. structure)": "+33476000002",
                "Adresse e-mail (coord. structure)": "cabinet@exemple.fr",
                "Raison sociale site": "SELARL FICTIVE",
            },
        ),
        gp_line(  # a phone that is not one is left out, the rest kept
            "10000000003", **{"Téléphone (coord. structure)": "voir site"}
        ),
    ]
    first, second, third = to_physicians(_extract(tmp_path, rows))
    assert first.contact == PracticeContact(
        phone="04 76 00 00 01",
        mssante="jean.martin@medecin.mssante.fr",
        address="12 B Avenue Jules Ravat, 38500 VOIRON",
        practice="Cabinet des Tilleuls",
    )
    assert second.contact == PracticeContact(
        phone="+33 4 76 00 00 02",
        address="12 B Avenue Jules Ravat, 38500 VOIRON",
        practice="SELARL FICTIVE",
    )
    assert third.contact == PracticeContact(address="12 B Avenue Jules Ravat, 38500 VOIRON")


def test_reimport_keeps_the_contact_the_coordinator_entered(tmp_path: Path) -> None:
    entered = PracticeContact(
        phone="04 76 99 99 99",
        mssante="",
        address="",
        practice="Maison de santé fictive",
        notes="prise de rendez-vous en ligne",
    )
    known = Physician(
        id="MG-01", name="Dr Jean MARTIN", commune=VOIRON, rpps="10000000001", contact=entered
    )
    empty = {
        "Téléphone (coord. structure)": "",
        "Numéro Voie (coord. structure)": "",
        "Indice répétition voie (coord. structure)": "",
        "Libellé type de voie (coord. structure)": "",
        "Libellé Voie (coord. structure)": "",
        "Code postal (coord. structure)": "",
        "Libellé commune (coord. structure)": "",
    }
    # a directory with no details: nothing blanked
    update = merge_directory([known], _extract(tmp_path, [gp_line("10000000001", **empty)]))
    assert update.physicians == (known,)
    assert update.changes == ()
    # a directory with details: the empty fields are completed, the entered ones kept
    update = merge_directory(
        [known], _extract(tmp_path, [gp_line("10000000001", **CONTACT_FIELDS)])
    )
    assert update.physicians[0].contact == PracticeContact(
        phone="04 76 99 99 99",
        mssante="jean.martin@medecin.mssante.fr",
        address="12 B Avenue Jules Ravat, 38500 VOIRON",
        practice="Maison de santé fictive",
        notes="prise de rendez-vous en ligne",
    )
    assert update.changed == {"10000000001": ("contact.mssante", "contact.address")}
    # merging again changes nothing
    again = merge_directory(
        update.physicians, _extract(tmp_path, [gp_line("10000000001", **CONTACT_FIELDS)])
    )
    assert again.changes == ()


def test_a_gp_who_moved_gets_the_new_practice_contact(tmp_path: Path) -> None:
    known = Physician(
        id="MG-01",
        name="Dr Jean MARTIN",
        commune=VOIRON,
        rpps="10000000001",
        contact=PracticeContact(phone="04 76 99 99 99", notes="entrée par la cour"),
    )
    row = gp_line(
        "10000000001",
        **{
            "Code commune (coord. structure)": COUBLEVIE,
            "Libellé commune (coord. structure)": "COUBLEVIE",
            "Téléphone (coord. structure)": "0476000003",
        },
    )
    (moved,) = merge_directory([known], _extract(tmp_path, [row])).physicians
    assert moved.commune == COUBLEVIE
    assert moved.contact.phone == "04 76 00 00 03"
    assert moved.contact.address.endswith("38500 COUBLEVIE")
    assert moved.contact.notes == "entrée par la cour"
