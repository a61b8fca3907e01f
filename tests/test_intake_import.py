"""Import of form exports: rows to requests, problems, duplicates, households, and the
rejections report (mt_access.intake.importer). Every person here is made up."""

from __future__ import annotations

import csv
import datetime as dt
import random
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mt_access
from mt_access import (
    HomeVisitNeed,
    IntakeError,
    PatientIdentity,
    ReferrerKind,
    SearchReason,
)
from mt_access.geo.communes import CommuneReference
from mt_access.intake import (
    DuplicateReason,
    IntakeDuplicate,
    IntakeProblem,
    IntakeResult,
    Table,
    form_mapping,
    import_file,
    import_table,
    load_preset,
    neutralize_cell,
    read_table,
    write_rejections,
)
from mt_access.store.base import KnownPerson

CORPUS = Path(__file__).resolve().parent / "corpus" / "intake"
FORMULA = "=cmd|' /C calc'!A0"
RECEIVED = "05/03/2026"
VOIRON, VOREPPE, RIVES_38, GRENOBLE = "38563", "38565", "38337", "38185"

GENERIC = [
    "Identifiant",
    "Date de réception",
    "Nom",
    "Prénom",
    "Date de naissance",
    "Commune",
    "Consentement",
]


def person(**cells: str) -> dict[str, str]:
    """A row of the generic preset: a made-up person living in Voiron."""
    row = {
        "Identifiant": "",
        "Date de réception": RECEIVED,
        "Nom": "Testeur",
        "Prénom": "Alice",
        "Date de naissance": "12/04/1950",
        "Commune": "Voiron",
        "Consentement": "Oui",
    }
    row.update(cells)
    return row


def write_csv(
    path: Path,
    rows: Sequence[Mapping[str, str]],
    headers: Sequence[str] | None = None,
    *,
    sep: str = ";",
    encoding: str = "utf-8",
) -> Path:
    headers = list(headers or (rows[0] if rows else GENERIC))
    with path.open("w", encoding=encoding, newline="") as stream:
        writer = csv.writer(stream, delimiter=sep)
        writer.writerow(headers)
        for row in rows:
            writer.writerow([row.get(h, "") for h in headers])
    return path


def load(tmp_path: Path, rows: Sequence[Mapping[str, str]], **kw: object) -> Table:
    headers = kw.pop("headers", None)
    assert headers is None or isinstance(headers, list)
    return read_table(write_csv(tmp_path / "export.csv", rows, headers))


def run(
    tmp_path: Path,
    rows: Sequence[Mapping[str, str]],
    policy: mt_access.Policy,
    **kw: object,
) -> IntakeResult:
    headers = kw.pop("headers", None)
    table = load(tmp_path, rows, headers=headers)
    return import_table(table, policy, **kw)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def generic() -> mt_access.Policy:
    """The Voironnais territory, read with the generic preset (its policy without intake)."""
    import attrs

    policy = mt_access.load_policy("voironnais")
    return attrs.evolve(policy, intake=None)


# --------------------------------------------------------------------------------------------
# Accepted rows
# --------------------------------------------------------------------------------------------


def test_good_rows_become_requests(tmp_path: Path, generic: mt_access.Policy) -> None:
    result = run(
        tmp_path,
        [
            person(Identifiant="F-1"),
            person(Nom="Fictif", Prénom="Bruno", Commune="Voreppe", **{"Date de naissance": ""}),
            person(Nom="Exemple", Prénom="Chloé", Commune="Grenoble"),
        ],
        generic,
    )
    assert isinstance(result, IntakeResult)
    assert result.rows == 3
    assert [r.row for r in result.accepted] == [2, 4]
    first, third = result.accepted
    assert first.request.id == "F-1"
    assert first.form_id == "F-1"
    assert third.request.id == "ligne-4"
    assert third.form_id is None
    assert first.request.received == dt.date(2026, 3, 5)
    assert first.request.patient.birth_date == dt.date(1950, 4, 12)
    assert first.request.patient.commune == VOIRON
    assert first.request.consent == mt_access.Consent(True, dt.date(2026, 3, 5))
    assert first.identity == PatientIdentity(
        last_name="Testeur", first_name="Alice", identifier="F-1"
    )
    assert first.in_territory
    assert third.request.patient.commune == GRENOBLE
    assert not third.in_territory  # out of territory: a record, not a problem
    assert result.out_of_territory == (third,)
    assert result.requests == (first.request, third.request)
    assert [(p.row, p.column) for p in result.problems] == [(3, "Date de naissance")]
    assert result.rejected_rows == (3,)
    assert "3 ligne(s) lue(s) : 2 demande(s) importée(s) (dont 1 hors territoire)" in (
        result.summary()
    )


def test_voironnais_form_fields(tmp_path: Path, voironnais: mt_access.Policy) -> None:
    row = {
        "N° de demande": "V-7",
        "Date de réception": "2026-02-01",
        "Demandeur - Nom et prénom": "Dr Imaginaire",
        "Demandeur - Profession": "assistant(e) SOCIAL(E)",
        "Demandeur - Coordonnées": "04 00 00 00 00",
        "Nom du patient": "Modèle",
        "Prénom du patient": "Gaëlle",
        "Date de naissance": "03/03/1948",
        "Adresse": "3 chemin Inventé",
        "Code postal": "38960",
        "Commune": "st etienne de crossey",
        "Téléphone": "06 00 00 00 01",
        "E-mail": "gaelle@example.invalid",
        "Couverture sociale / Complémentaire Santé Solidaire": "Complémentaire santé solidaire",
        "Dernier médecin traitant": "Dr Ancien",
        "Commune d'exercice du dernier médecin traitant": "Voreppe",
        "Enfants de moins de 16 ans": "2",
        "ALD / maladie chronique / situation de handicap": "Oui",
        "Suivi par un spécialiste / autres professionnels de santé": "cardiologue",
        "Suivi par d'autres professionnels ou acteurs sociaux, médico-sociaux": "",
        "Nécessité de visites à domicile": "oui",
        "Autres informations / commentaires": "rappeler le matin",
        "Consentement du patient": "X",
    }
    result = run(tmp_path, [row], voironnais)
    assert result.problems == ()
    (record,) = result.accepted
    request = record.request
    assert request.id == "V-7"
    assert request.patient.commune == "38383"  # Saint-Étienne-de-Crossey
    assert request.css
    assert not request.ame
    assert not request.ald
    assert request.disability_or_chronic
    assert request.home_visits is HomeVisitNeed.OCCASIONAL
    assert request.household == mt_access.Household(adults=1, children=2)
    assert request.referrer == mt_access.Referrer(
        ReferrerKind.SOCIAL_WORKER, "Dr Imaginaire", "04 00 00 00 00"
    )
    assert request.previous_mt == mt_access.PreviousDoctor("Dr Ancien", VOREPPE)
    assert request.comments == (
        "Suivi par un spécialiste / autres professionnels de santé : cardiologue\n"
        "Autres informations / commentaires : rappeler le matin"
    )
    assert record.identity == PatientIdentity(
        last_name="Modèle",
        first_name="Gaëlle",
        phone="06 00 00 00 01",
        email="gaelle@example.invalid",
        address="3 chemin Inventé",
        identifier="V-7",
    )


def test_lievin_form(tmp_path: Path, voironnais: mt_access.Policy) -> None:
    rows = [
        {
            "N° de l'entrée": "101",
            "Date d'envoi": "2026-03-01 10:15:00",
            "Votre prénom et votre nom *": "Jean-Marc Exemple Démo",
            "Votre date de naissance": "1980-06-30",
            "Votre ville *": "Liévin",
            "Votre e-mail": "",
            "Votre numéro de téléphone": "",
            "Motif de la demande": "Mon médecin traitant a pris sa retraite",
            "Numéro de sécurité sociale": "1 80 06 62 510 000 00",
            "Nombre d'adultes": "2",
            "Nombre d'enfants": "1",
        }
    ]
    result = run(tmp_path, rows, voironnais, mapping=load_preset("lievin"))
    assert result.problems == ()
    (record,) = result.accepted
    assert (record.identity.first_name, record.identity.last_name) == ("Jean-Marc", "Exemple Démo")
    assert record.identity.identifier == "1 80 06 62 510 000 00"
    assert record.request.reason is SearchReason.PREVIOUS_MT_LEFT
    assert record.request.persons == 3
    assert record.request.consent.given  # sending the form is consent
    assert record.request.patient.commune == "62510"
    assert not record.in_territory  # Liévin is not in the Voironnais


def test_sud_est_grenoblois_form_reads_the_commune_in_the_address(
    tmp_path: Path, voironnais: mt_access.Policy
) -> None:
    mapping = load_preset("sud_est_grenoblois")
    base = {
        "Date": "10/03/2026",
        "Nom": "Essai",
        "Prénom": "Inès",
        "Date de naissance": "01/01/2020",
        "Adresse": "12 rue des Lilas, 38400 Saint-Martin-d'Hères",
        "Couverture sociale": "AME",
        "Raison de la recherche de médecin traitant": "le médecin ne se déplace plus",
        "Affection de longue durée (ALD)": "Non",
        "Pathologies particulières et/ou situation de handicap": "asthme sévère",
        "Nécessité de visites à domicile": "Oui, VAD exclusivement",
        "Urgence sanitaire (suivi à débuter sous 1 mois)": "Oui",
        "Consentement de la personne obtenu": "x",
    }
    addresses = {
        "12 rue des Lilas, 38400 Saint-Martin-d'Hères": "38421",
        "5 av. Imaginaire 38320 EYBENS": "38158",
        "5 av. Imaginaire, Poisat 38320": "38309",
        "BP 12, 38320 Eybens Cedex": "38158",
    }
    headers = [*mapping.headers]
    rows = [{**base, "Adresse": a, "Nom": f"Essai{i}"} for i, a in enumerate(addresses)]
    rows.append({**base, "Nom": "Sans", "Adresse": "quelque part sans code"})
    result = run(tmp_path, rows, voironnais, mapping=mapping, headers=headers)
    assert [r.request.patient.commune for r in result.accepted] == list(addresses.values())
    first = result.accepted[0].request
    assert first.ame
    assert not first.css
    assert first.urgent
    assert first.home_visits is HomeVisitNeed.EXCLUSIVE
    assert first.reason is SearchReason.OTHER  # a free text answer: « otherwise »
    assert first.disability_or_chronic
    assert first.referrer.kind is ReferrerKind.OTHER  # a constant of the preset
    assert "asthme sévère" in first.comments
    (problem,) = result.problems
    assert problem.column == "Adresse"
    assert "code postal et la commune à la fin" in problem.expected


def test_header_matching_is_tolerant(tmp_path: Path, generic: mt_access.Policy) -> None:
    headers = ["  IDENTIFIANT ", "date de reception", "NOM *", "prenom :", "Date  de  naissance"]
    headers += ["commune", "Consentement"]
    values = ["A", RECEIVED, "Testeur", "Alice", "12/04/1950", "Voiron", "oui"]
    path = tmp_path / "export.csv"
    path.write_text(";".join(headers) + "\n" + ";".join(values) + "\n", encoding="utf-8")
    result = import_table(read_table(path), generic)
    assert result.problems == ()
    assert result.accepted[0].identity.last_name == "Testeur"


def test_xlsx_export(tmp_path: Path, generic: mt_access.Policy) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Réponses"
    sheet.append(GENERIC)
    sheet.append(["Z1", dt.datetime(2026, 3, 5, 9, 30), "Testeur", "Alice", dt.date(1950, 4, 12)])
    sheet.cell(row=2, column=6, value="Voreppe")
    sheet.cell(row=2, column=7, value=True)
    path = tmp_path / "export.xlsx"
    workbook.save(path)
    result = import_file(path, generic)
    (record,) = result.accepted
    assert record.request.received == dt.date(2026, 3, 5)
    assert record.request.patient.commune == VOREPPE
    assert record.request.patient.birth_date == dt.date(1950, 4, 12)
    report = write_rejections(result)
    assert report == tmp_path / "export.rejets.csv"


# --------------------------------------------------------------------------------------------
# Problems
# --------------------------------------------------------------------------------------------


def test_every_bad_cell_is_reported_and_good_rows_still_import(
    tmp_path: Path, generic: mt_access.Policy
) -> None:
    rows = [
        person(Nom="Un"),
        person(Nom="Deux", **{"Date de naissance": "1950-02-30", "Consentement": "peut-être"}),
        person(Nom="Trois", **{"Date de réception": "5 mars"}),
        person(Nom="Quatre"),
        person(Nom="", Commune=""),
    ]
    result = run(tmp_path, rows, generic)
    assert [r.row for r in result.accepted] == [2, 5]
    assert [(p.row, p.column) for p in result.problems] == [
        (3, "Date de naissance"),
        (3, "Consentement"),
        (4, "Date de réception"),
        (6, "Nom"),
        (6, "Commune"),
    ]
    assert result.problems[1].value == "peut-être"
    assert "oui ou non attendu" in result.problems[1].expected
    assert "commune du patient attendue" in result.problems[4].expected


def test_problem_text_never_holds_the_value() -> None:
    problem = IntakeProblem(7, "Nom", "nom du patient attendu", value="Secretnom-Fictif")
    assert str(problem) == "ligne 7, colonne « Nom » : nom du patient attendu"
    assert "Secretnom" not in repr(problem)
    assert problem.value == "Secretnom-Fictif"
    assert str(IntakeProblem(3, None, "ligne vide")) == "ligne 3 : ligne vide"


def test_no_personal_data_in_messages(tmp_path: Path, generic: mt_access.Policy) -> None:
    """Names, birth dates, addresses and contacts never reach a message, str() or repr()."""
    secret = "Zyxwvut"
    rows = [
        person(Nom=secret, Prénom=secret + "a", **{"Date de naissance": "31/02/1977"}),
        person(Nom=secret, Prénom=secret + "b", Commune=secret),
        person(Nom=secret, Prénom=secret + "c", Consentement="Non"),
        person(Nom=secret + "d" * 300),
        person(Nom=secret, Prénom=secret + "e", Commune="Saint-Cassien"),
        person(Nom=secret, Prénom=secret + "f"),
        person(Nom=secret, Prénom=secret + "f"),
    ]
    result = run(tmp_path, rows, generic)
    assert len(result.problems) == 5
    assert len(result.duplicates) == 1
    texts = [str(p) for p in result.problems] + [repr(p) for p in result.problems]
    texts += [str(d) for d in result.duplicates] + [repr(d) for d in result.duplicates]
    texts += [repr(r) for r in result.accepted] + [result.summary()]
    for text in texts:
        assert secret not in text
        assert "1977" not in text
        assert "12/04/1950" not in text
        assert "1950-04-12" not in text


def test_missing_consent_is_a_problem(tmp_path: Path, generic: mt_access.Policy) -> None:
    result = run(
        tmp_path, [person(Consentement="Non"), person(Nom="Autre", Consentement="")], generic
    )
    assert result.accepted == ()
    assert [(p.row, p.column, p.value) for p in result.problems] == [
        (2, "Consentement", "Non"),
        (3, "Consentement", ""),
    ]
    assert all("consentement du patient attendu" in p.expected for p in result.problems)


def test_birth_date_checks(tmp_path: Path, generic: mt_access.Policy) -> None:
    rows = [
        person(**{"Date de naissance": "01/01/1850"}),
        person(Nom="B", **{"Date de naissance": "01/01/2027"}),
        person(Nom="C", **{"Date de naissance": "01/01/26"}),
    ]
    result = run(tmp_path, rows, generic)
    assert result.accepted == ()
    expected = [p.expected for p in result.problems]
    assert "postérieure à 1900" in expected[0]
    assert "antérieure à la date de réception" in expected[1]
    assert "année sur 4 chiffres" in expected[2]


def test_too_long_text_is_a_problem(tmp_path: Path, generic: mt_access.Policy) -> None:
    result = run(tmp_path, [person(Nom="N" * 100_000)], generic)
    (problem,) = result.problems
    assert problem.column == "Nom"
    assert "texte trop long : 100\u00a0000 caractères, 200 au plus" in problem.expected
    assert len(problem.value) == 100_000


def test_household_of_nobody(tmp_path: Path, generic: mt_access.Policy) -> None:
    rows = [person(Adultes="0", Enfants="0"), person(Nom="B", Adultes="-1"), person(Nom="C")]
    result = run(tmp_path, rows, generic, headers=[*GENERIC, "Adultes", "Enfants"])
    assert [(p.row, p.column) for p in result.problems] == [(2, "Adultes"), (3, "Adultes")]
    assert "au moins une personne" in result.problems[0].expected
    assert "positif ou nul" in result.problems[1].expected
    assert result.accepted[0].request.household == mt_access.Household(1, 0)  # empty: default


def test_choice_wordings(tmp_path: Path, generic: mt_access.Policy) -> None:
    headers = [*GENERIC, "Visites à domicile", "Motif", "Orienté par"]
    rows = [
        person(**{"Visites à domicile": "OUI, EXCLUSIVEMENT", "Motif": "déménagement"}),
        person(Nom="B", **{"Visites à domicile": "exclusive", "Motif": "new_arrival"}),
        person(Nom="C", **{"Motif": "nouvel arrivant sur le territoire"}),  # the French label
        person(Nom="D", **{"Motif": "parce que"}),
        person(Nom="E", **{"Orienté par": "voisin"}),
    ]
    result = run(tmp_path, rows, generic, headers=headers)
    requests = [r.request for r in result.accepted]
    assert [r.home_visits for r in requests] == [
        HomeVisitNeed.EXCLUSIVE,
        HomeVisitNeed.EXCLUSIVE,
        HomeVisitNeed.NONE,
    ]
    assert [r.reason for r in requests] == [
        SearchReason.MOVED,
        SearchReason.NEW_ARRIVAL,
        SearchReason.NEW_ARRIVAL,
    ]
    motif, referrer = result.problems
    assert motif.column == "Motif"
    assert "« Départ du médecin traitant »" in motif.expected
    assert referrer.column == "Orienté par"


def test_zoho_dates_with_formats(tmp_path: Path, generic: mt_access.Policy) -> None:
    headers = ["Added Time", *GENERIC[2:]]
    result = run(
        tmp_path, [person(**{"Added Time": "05-Mar-2026 10:30:12"})], generic, headers=headers
    )
    assert result.accepted[0].request.received == dt.date(2026, 3, 5)
    result = run(tmp_path, [person(**{"Added Time": "5 mars"})], generic, headers=headers)
    assert "%d-%b-%Y" in result.problems[0].expected


def test_missing_column_is_an_error_naming_the_expected_header(
    tmp_path: Path, voironnais: mt_access.Policy
) -> None:
    table = load(tmp_path, [person(Nom="Zyxwvut")])
    with pytest.raises(IntakeError) as info:
        import_table(table, voironnais)
    message = str(info.value)
    assert "colonne(s) absente(s) du fichier" in message
    assert "« Nom du patient » (nom du patient)" in message
    assert "Zyxwvut" not in message
    assert info.value.value is not None
    assert "Prénom" in info.value.value


def test_a_file_without_header_row_leaks_nothing(tmp_path: Path, generic: mt_access.Policy) -> None:
    path = tmp_path / "export.csv"
    path.write_text("Zyxwvut;Alice;12/04/1950;Voiron;Oui\n", encoding="utf-8")
    with pytest.raises(IntakeError) as info:
        import_table(read_table(path), generic)
    assert "Zyxwvut" not in str(info.value)
    assert "1950" not in str(info.value)


def test_optional_columns_may_be_absent_but_a_commune_is_needed(
    tmp_path: Path, generic: mt_access.Policy
) -> None:
    headers = ["Date de réception", "Nom", "Date de naissance", "Consentement"]
    with pytest.raises(IntakeError, match="aucune colonne pour la commune du patient"):
        run(tmp_path, [person()], generic, headers=headers)


def test_reception_date_from_the_caller(tmp_path: Path, generic: mt_access.Policy) -> None:
    headers = [h for h in GENERIC if h != "Date de réception"]
    with pytest.raises(IntakeError, match="date de réception"):
        run(tmp_path, [person()], generic, headers=headers)
    result = run(tmp_path, [person()], generic, headers=headers, received=dt.date(2026, 1, 2))
    assert result.accepted[0].request.received == dt.date(2026, 1, 2)
    # an empty cell takes the caller's date too
    result = run(
        tmp_path, [person(**{"Date de réception": ""})], generic, received=dt.date(2026, 1, 3)
    )
    assert result.accepted[0].request.received == dt.date(2026, 1, 3)


def test_confused_headers(tmp_path: Path, generic: mt_access.Policy) -> None:
    path = tmp_path / "export.csv"
    path.write_text(";".join([*GENERIC, "Nom *"]) + "\n", encoding="utf-8")
    with pytest.raises(
        IntakeError, match="2 colonnes du fichier correspondent à l'en-tête « Nom »"
    ):
        import_table(read_table(path), generic)


# --------------------------------------------------------------------------------------------
# Communes
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cells", "insee"),
    [
        ({"Commune": "38563"}, VOIRON),
        ({"Commune": "Voiron"}, VOIRON),
        ({"Commune": "VOIRON"}, VOIRON),
        ({"Commune": "38500 Voiron"}, VOIRON),
        ({"Commune": "Voiron (38)"}, VOIRON),
        ({"Commune": "  st   jean de moirans "}, "38400"),
        ({"Commune": "Saint-Jean-de-Moirans"}, "38400"),
        ({"Commune": "Marquette lès Lille"}, "59386"),
        ({"Commune": "Marquette-lez-Lille"}, "59386"),
        ({"Commune": "Rives", "Code postal": "38140"}, RIVES_38),
        ({"Commune": "", "Code postal": "38920"}, "38140"),  # Crolles: its own postal code
        ({"Commune": "Rives", "Code INSEE": "47223"}, "47223"),
        ({"Commune": "", "Adresse": "1 rue Factice, 38500 VOIRON CEDEX 9"}, VOIRON),
    ],
)
def test_commune_forms(
    tmp_path: Path, generic: mt_access.Policy, cells: dict[str, str], insee: str
) -> None:
    headers = [*GENERIC, "Code postal", "Code INSEE", "Adresse"]
    result = run(tmp_path, [person(**cells)], generic, headers=headers)
    assert result.problems == ()
    assert result.accepted[0].request.patient.commune == insee


@pytest.mark.parametrize(
    ("cells", "column", "expected"),
    [
        ({"Commune": "Nullepart-sur-Test"}, "Commune", "commune inconnue"),
        ({"Commune": "Saint-Cassien"}, "Commune", "nom de commune ambigu : 2 communes"),
        ({"Code INSEE": "38999"}, "Code INSEE", "code INSEE"),
        ({"Code INSEE": "38960"}, "Code INSEE", "c'est un code postal"),
        ({"Commune": "", "Code postal": "385"}, "Code postal", "code postal à 5 chiffres"),
        ({"Commune": "", "Code postal": "00000"}, "Code postal", "code postal inconnu"),
        ({"Commune": "", "Code postal": "38500"}, "Code postal", "code postal ambigu"),
        ({"Commune": "Voreppe", "Code postal": "38500"}, "Commune", "incohérents"),
        ({"Commune": "", "Adresse": "1 rue Factice"}, "Adresse", "code postal et la commune"),
    ],
)
def test_commune_problems(
    tmp_path: Path,
    generic: mt_access.Policy,
    cells: dict[str, str],
    column: str,
    expected: str,
) -> None:
    headers = [*GENERIC, "Code postal", "Code INSEE", "Adresse"]
    result = run(tmp_path, [person(**cells)], generic, headers=headers)
    assert result.accepted == ()
    (problem,) = result.problems
    assert problem.column == column
    assert expected in problem.expected


def test_unknown_commune_name_gets_suggestions(tmp_path: Path, generic: mt_access.Policy) -> None:
    result = run(tmp_path, [person(Commune="Voirron")], generic)
    (problem,) = result.problems
    assert "commune inconnue" in problem.expected
    assert "vouliez-vous dire « Voiron »" in problem.expected
    assert "Voirron" not in problem.expected  # the cell's text stays out of the message


def test_ambiguous_name_lists_candidates(tmp_path: Path, generic: mt_access.Policy) -> None:
    result = run(tmp_path, [person(Commune="ST CASSIEN")], generic)
    (problem,) = result.problems
    assert problem.candidates == (
        ("24384", "Saint-Cassien", "24"),
        ("38373", "Saint-Cassien", "38"),
    )
    assert "Saint-Cassien (24384, dép. 24), Saint-Cassien (38373, dép. 38)" in problem.expected
    assert "précisez le code postal" in problem.expected
    assert problem.value == "ST CASSIEN"


def test_prefer_territory(tmp_path: Path, generic: mt_access.Policy) -> None:
    mapping = form_mapping({"preset": "generique", "prefer_territory": True})
    rows = [person(Commune="Rives"), person(Nom="B", Commune="Grenay")]
    result = run(tmp_path, rows, generic, mapping=mapping)
    assert [r.request.patient.commune for r in result.accepted] == [RIVES_38]
    (problem,) = result.problems  # Grenay (38) and Grenay (62): neither in the territory
    assert len(problem.candidates) == 2


def test_commune_values_of_a_dropdown(tmp_path: Path, generic: mt_access.Policy) -> None:
    mapping = form_mapping(
        {
            "preset": "generique",
            "fields": {"commune_name": {"column": "Commune", "values": {"Voiron centre": VOIRON}}},
        }
    )
    rows = [person(Commune="VOIRON CENTRE"), person(Nom="B", Commune="Voreppe")]
    result = run(tmp_path, rows, generic, mapping=mapping)
    assert [r.request.patient.commune for r in result.accepted] == [VOIRON, VOREPPE]


def test_previous_doctor_commune_is_informative(tmp_path: Path, generic: mt_access.Policy) -> None:
    headers = [*GENERIC, "Médecin traitant précédent", "Commune du médecin traitant précédent"]
    rows = [
        person(
            **{
                "Médecin traitant précédent": "Dr Passé",
                "Commune du médecin traitant précédent": "Voreppe",
            }
        ),
        person(Nom="B", **{"Commune du médecin traitant précédent": "Saint-Cassien"}),
        person(Nom="C"),
    ]
    result = run(tmp_path, rows, generic, headers=headers)
    assert result.problems == ()
    previous = [r.request.previous_mt for r in result.accepted]
    assert previous == [
        mt_access.PreviousDoctor("Dr Passé", VOREPPE),
        mt_access.PreviousDoctor("Saint-Cassien", None),  # ambiguous: kept as written
        None,
    ]


def test_the_callers_reference_is_used(
    tmp_path: Path, generic: mt_access.Policy, reference: CommuneReference
) -> None:
    small = reference.subset([VOIRON, "24384", "38373"])
    result = run(tmp_path, [person(Commune="Voreppe")], generic, reference=small)
    assert "commune inconnue" in result.problems[0].expected


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    data=st.data(),
    insee=st.sampled_from(["38563", "38383", "38400", "38368", "38432", "38407", "59386"]),
)
def test_spelling_variants_resolve_to_the_same_commune(
    tmp_path: Path,
    generic: mt_access.Policy,
    reference: CommuneReference,
    data: st.DataObject,
    insee: str,
) -> None:
    name = reference.get(insee).name
    words = re.split(r"[-\s']+", name)
    separators = st.sampled_from(["-", " ", "  ", " - "])
    written = []
    for i, word in enumerate(words):
        if word in ("Saint", "Sainte"):
            word = data.draw(
                st.sampled_from(
                    [
                        word,
                        word[:1] + word[-1:] if word == "Saint" else "Ste",
                        "St." if word == "Saint" else "Ste.",
                    ]
                )
            )
        if word in ("lès", "lez", "les") and 0 < i < len(words) - 1:
            word = data.draw(st.sampled_from(["lès", "lez", "les", "LES"]))
        case = data.draw(st.sampled_from([str.upper, str.lower, str.title, str]))
        accents = data.draw(st.booleans())
        word = case(word)
        if accents:
            word = word.translate(str.maketrans("éèêÉÈÊ", "eeeEEE"))
        written.append(word)
        if i < len(words) - 1:
            written.append(data.draw(separators))
    text = data.draw(st.sampled_from(["", " ", "  "])) + "".join(written)
    result = run(tmp_path, [person(Commune=text)], generic)
    assert result.problems == (), text
    assert result.accepted[0].request.patient.commune == insee


# --------------------------------------------------------------------------------------------
# Duplicates and households
# --------------------------------------------------------------------------------------------


def test_duplicates_in_the_file(tmp_path: Path, generic: mt_access.Policy) -> None:
    headers = [*GENERIC, "N° de sécurité sociale"]
    rows = [
        person(Nom="Démo", Prénom="Élodie"),
        person(Nom="DEMO", Prénom="elodie", **{"Date de naissance": "1950-04-12"}),
        person(Nom="Démo", Prénom="Élodie", **{"Date de naissance": "13/04/1950"}),  # not her
        person(Nom="Fictif", **{"N° de sécurité sociale": "2 50 04 38 563 001 01"}),
        person(Nom="Autre", **{"N° de sécurité sociale": "250043856300101"}),
        person(Nom="Elodie", Prénom="Démo"),  # last and first name swapped
        person(Nom="Un", Identifiant="S-1"),
        person(Nom="Deux", Identifiant="S-1"),
    ]
    result = run(tmp_path, rows, generic, headers=headers)
    assert [r.row for r in result.accepted] == [2, 4, 5, 8]
    assert result.duplicates == (
        IntakeDuplicate(3, 2, None, DuplicateReason.SAME_PERSON),
        IntakeDuplicate(6, 5, None, DuplicateReason.SAME_IDENTIFIER),
        IntakeDuplicate(7, 2, None, DuplicateReason.SAME_PERSON),
        IntakeDuplicate(9, 8, None, DuplicateReason.SAME_SUBMISSION),
    )
    assert str(result.duplicates[0]) == (
        "ligne 3 : doublon de la ligne 2 (mêmes nom, prénom et date de naissance) ; "
        "ligne non importée"
    )
    assert result.rejected_rows == (3, 6, 7, 9)


def test_duplicates_of_known_persons(tmp_path: Path, generic: mt_access.Policy) -> None:
    known = [
        ("D-9", PatientIdentity(last_name="Testeur", first_name="Alice"), dt.date(1950, 4, 12)),
        ("D-3", PatientIdentity(last_name="TESTEUR", first_name="Alice"), dt.date(1950, 4, 12)),
        ("D-5", PatientIdentity(last_name="X", identifier="F-22"), dt.date(1990, 1, 1)),
        ("D-6", PatientIdentity(), dt.date(1950, 4, 12)),  # erased
    ]
    known = [KnownPerson(rid, identity, birth, True) for rid, identity, birth in known]
    rows = [
        person(),
        person(Nom="Autre", Identifiant="F-22"),
        person(Nom="Nouvelle"),
        person(Nom="Nouvelle"),
    ]
    result = run(tmp_path, rows, generic, known=iter(known))
    assert [r.row for r in result.accepted] == [4]
    assert result.duplicates == (
        IntakeDuplicate(2, None, "D-3", DuplicateReason.SAME_PERSON),  # the smallest id
        IntakeDuplicate(3, None, "D-5", DuplicateReason.SAME_IDENTIFIER),
        IntakeDuplicate(5, 4, None, DuplicateReason.SAME_PERSON),
    )
    assert "personne déjà enregistrée (demande D-3)" in str(result.duplicates[0])


def test_households_by_column(tmp_path: Path, generic: mt_access.Policy) -> None:
    headers = [*GENERIC, "Foyer"]
    rows = [
        person(Nom="A", Foyer="Famille 1"),
        person(Nom="B", Foyer=""),
        person(Nom="C", Foyer="famille  1"),
        person(Nom="D", Foyer="F2"),
    ]
    result = run(tmp_path, rows, generic, headers=headers)
    links = [r.household_link for r in result.accepted]
    assert links == ["foyer-2", None, "foyer-2", None]
    assert [r.request.household_id for r in result.accepted] == links


def test_households_by_last_name_and_address(tmp_path: Path, generic: mt_access.Policy) -> None:
    headers = [*GENERIC, "Adresse"]
    rows = [
        person(Nom="Essai", Prénom="Un", Adresse="3, rue Fictive"),
        person(Nom="Autre", Prénom="Deux", Adresse="3 rue Fictive"),
        person(
            Nom="ESSAI",
            Prénom="Trois",
            Adresse="3 Rue  Fictive",
            **{"Date de naissance": "01/01/2015"},
        ),
        person(Nom="Essai", Prénom="Quatre", Adresse=""),
        person(Nom="Essai", Prénom="Cinq", Adresse="", **{"Date de naissance": "01/01/2016"}),
    ]
    result = run(tmp_path, rows, generic, headers=headers)
    assert [r.household_link for r in result.accepted] == ["foyer-2", None, "foyer-2", None, None]


def test_same_file_same_result(tmp_path: Path, generic: mt_access.Policy) -> None:
    rows = [
        person(Nom=f"N{i % 7}", Commune=["Voiron", "Rives", "Grenoble"][i % 3]) for i in range(30)
    ]
    table = load(tmp_path, rows)
    first = import_table(table, generic)
    second = import_table(read_table(tmp_path / "export.csv"), generic)
    assert first == second


_PEOPLE = [
    ("Testeur", "Alice", "12/04/1950", "Voiron"),
    ("Fictif", "Bruno", "01/01/1980", "Rives"),
    ("Démo", "Élodie", "03/03/2001", "Grenoble"),
    ("Exemple", "Hugo", "04/04/1944", "Saint-Cassien"),
    ("Modèle", "Inès", "05/05/2019", "Voreppe"),
    ("Essai", "Zoé", "06/06/1966", "Moirans"),
]


@settings(max_examples=30, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    picks=st.lists(st.sampled_from(range(len(_PEOPLE))), min_size=1, max_size=12),
    seed=st.integers(0, 1000),
)
def test_row_order_does_not_change_who_is_imported(
    tmp_path: Path, generic: mt_access.Policy, picks: list[int], seed: int
) -> None:
    rows = [
        person(Nom=last, Prénom=first, Commune=commune, **{"Date de naissance": born})
        for last, first, born, commune in (_PEOPLE[i] for i in picks)
    ]
    shuffled = list(rows)
    random.Random(seed).shuffle(shuffled)

    def imported(result: IntakeResult) -> set[tuple[str, str, dt.date]]:
        return {
            (r.identity.last_name, r.identity.first_name, r.request.patient.birth_date)
            for r in result.accepted
        }

    a, b = run(tmp_path, rows, generic), run(tmp_path, shuffled, generic)
    assert imported(a) == imported(b)
    assert len(a.accepted) + len(a.duplicates) + len({p.row for p in a.problems}) == len(rows)
    assert len(a.duplicates) == len(b.duplicates)
    assert len(a.problems) == len(b.problems)


# --------------------------------------------------------------------------------------------
# Rejections report
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "safe"),
    [
        ("=1+1", "'=1+1"),
        ("+33 6 00", "'+33 6 00"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("Voiron", "Voiron"),
        ("", ""),
        (" =1", " =1"),
    ],
)
def test_neutralize_cell(text: str, safe: str) -> None:
    assert neutralize_cell(text) == safe


def test_rejections_csv(tmp_path: Path, generic: mt_access.Policy) -> None:
    rows = [
        person(),
        person(Nom="B", **{"Date de naissance": FORMULA}),
        person(),
        person(Nom="C", Commune="@Voiron", Consentement="-"),
    ]
    result = run(tmp_path, rows, generic)
    path = write_rejections(result)
    assert path == tmp_path / "export.rejets.csv"
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    lines = list(csv.reader(data.decode("utf-8-sig").splitlines(), delimiter=";"))
    assert lines[0] == ["ligne", "colonne", "valeur", "message"]
    assert lines[1][:3] == ["3", "Date de naissance", "'" + FORMULA]
    assert "date attendue" in lines[1][3]
    assert lines[2][0] == "4"
    assert "doublon de la ligne 2" in lines[2][3]
    assert lines[3][:3] == ["5", "Commune", "'@Voiron"]
    assert lines[4][:3] == ["5", "Consentement", "'-"]
    for line in lines[1:]:
        assert not line[2].startswith(("=", "+", "-", "@", "\t", "\r"))


def test_rejections_xlsx_cells_are_text_but_the_row_number(
    tmp_path: Path, generic: mt_access.Policy
) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    result = run(
        tmp_path, [person(**{"Date de naissance": FORMULA}), person(Nom="\x01=x")], generic
    )
    path = write_rejections(result, tmp_path / "rejets.xlsx")
    sheet = openpyxl.load_workbook(path).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("ligne", "colonne", "valeur", "message")
    assert rows[1][:3] == (2, "Date de naissance", FORMULA)  # a text cell, not a formula
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == f"A1:D{sheet.max_row}"
    for row in sheet.iter_rows(min_row=2):
        assert row[0].data_type == "n"  # the row number, to sort by
        for cell in row[1:]:
            assert cell.data_type == "s"


def test_rejections_of_a_workbook_go_next_to_it(tmp_path: Path, generic: mt_access.Policy) -> None:
    result = IntakeResult(source=str(tmp_path / "export.xlsx") + "[Feuil1]", rows=0)
    path = write_rejections(result)
    assert path == tmp_path / "export.rejets.csv"
    assert path.read_text(encoding="utf-8-sig").splitlines() == ["ligne;colonne;valeur;message"]


# --------------------------------------------------------------------------------------------
# Corpus of bad inputs
# --------------------------------------------------------------------------------------------

_EXPECTED = yaml.safe_load((CORPUS / "expected.yaml").read_text(encoding="utf-8"))


def test_corpus_manifest_covers_every_file() -> None:
    files = {p.name for p in CORPUS.iterdir() if p.name != "expected.yaml"}
    generated = {name for name, entry in _EXPECTED.items() if entry.get("generated")}
    assert files == set(_EXPECTED) - generated


@pytest.mark.parametrize("name", sorted(_EXPECTED))
def test_corpus(name: str, tmp_path: Path, generic: mt_access.Policy) -> None:
    entry = _EXPECTED[name]
    path = CORPUS / name
    if entry.get("generated") == "huge_cell":
        path = tmp_path / name
        path.write_text(
            ";".join(GENERIC)
            + "\n"
            + ";".join(["H", RECEIVED, "Testeur", "Alice", "12/04/1950", "Voiron", "x" * 1_000_000])
            + "\n",
            encoding="utf-8",
        )
    if entry.get("generated") == "huge_cell":
        result = import_table(read_table(path), generic)
        assert len(result.accepted) == entry["accepted"]
        (problem,) = result.problems
        assert (problem.row, problem.column) == (2, "Consentement")
        assert len(problem.value) == 1_000_000
        assert len(str(problem)) < 500
        return
    if "read_error" in entry:
        with pytest.raises(IntakeError) as info:
            read_table(path)
        assert entry["read_error"] in str(info.value)
        assert "Testeur" not in str(info.value)
        return
    table = read_table(path)
    if "encoding" in entry:
        assert table.encoding == entry["encoding"]
    if "delimiter" in entry:
        assert table.delimiter == entry["delimiter"]
    result = import_table(table, generic)
    assert len(result.accepted) == entry["accepted"]
    if entry.get("none"):
        assert result.problems == ()
        assert result.duplicates == ()
    if "unread" in entry:
        assert list(result.unread_columns) == entry["unread"]
    if "duplicate" in entry:
        expected = entry["duplicate"]
        assert [(d.row, d.of_row) for d in result.duplicates] == [
            (expected["row"], expected["of_row"])
        ]
    if "problem" in entry:
        expected = entry["problem"]
        matching = [
            p for p in result.problems if (p.row, p.column) == (expected["row"], expected["column"])
        ]
        assert len(matching) == 1, [str(p) for p in result.problems]
        problem = matching[0]
        assert expected["expected"] in problem.expected
        assert problem.value == expected["value"]
        if expected["value"] and not problem.candidates:  # candidates are reference data
            assert expected["value"] not in str(problem)
        report = write_rejections(result, tmp_path / "rejets.csv")
        lines = list(csv.reader(report.read_text(encoding="utf-8-sig").splitlines(), delimiter=";"))
        written = [line[2] for line in lines[1:] if line[0] == str(expected["row"])]
        assert neutralize_cell(expected["value"]) in written


def test_progress_is_reported_until_the_end(tmp_path: Path, generic: mt_access.Policy) -> None:
    rows = [person(Nom=f"Testeur{i}") for i in range(1200)]
    calls: list[tuple[int, int]] = []
    result = run(tmp_path, rows, generic, progress=lambda d, t: calls.append((d, t)))
    assert len(result.accepted) == 1200
    assert calls == [(0, 1200), (500, 1200), (1000, 1200), (1200, 1200)]


# --------------------------------------------------------------------------------------------
# Numbers out of bounds (mt_access.bounds)
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("column", "cell", "expected"),
    [
        ("Enfants", "9223372036854775808", "nombre d'enfants du foyer : entier entre 0 et 20"),
        ("Enfants", "9" * 5000, "nombre d'enfants du foyer : entier entre 0 et 20 attendu"),
        ("Enfants", "21", "nombre d'enfants du foyer : entier entre 0 et 20 attendu"),
        ("Adultes", "1 000 000", "nombre d'adultes du foyer : entier entre 0 et 20 attendu"),
        ("Adultes", "99999999999999999999999", "nombre d'adultes du foyer : entier entre 0 et"),
    ],
)
def test_a_number_out_of_bounds_is_a_problem_on_its_row_and_column(
    tmp_path: Path, generic: mt_access.Policy, column: str, cell: str, expected: str
) -> None:
    headers = [*GENERIC, "Adultes", "Enfants"]
    rows = [person(Nom="Testeur1"), person(Nom="Testeur2", **{column: cell})]
    result = run(tmp_path, rows, generic, headers=headers)
    assert [r.row for r in result.accepted] == [2]  # the other rows are imported
    (problem,) = result.problems
    assert (problem.row, problem.column) == (3, column)
    assert expected in problem.expected
    assert str(problem).startswith(f"ligne 3, colonne « {column} » : ")
    assert cell not in str(problem)  # the value is not echoed
    assert problem.value == cell  # only in the rejections file


def test_the_bounds_of_numbers_are_inclusive(tmp_path: Path, generic: mt_access.Policy) -> None:
    headers = [*GENERIC, "Adultes", "Enfants"]
    result = run(tmp_path, [person(Adultes="20", Enfants="20")], generic, headers=headers)
    assert result.problems == ()
    assert result.accepted[0].request.household == mt_access.Household(adults=20, children=20)


def test_a_mapped_wording_is_bounded_too(tmp_path: Path, generic: mt_access.Policy) -> None:
    with pytest.raises(mt_access.PolicyError, match="entier entre 0 et 20") as caught:
        form_mapping(
            {"preset": "generique", "fields": {"children": {"column": "E", "values": {"Six": 21}}}}
        )
    assert caught.value.path == "$.intake.fields.children.values.Six"


# --------------------------------------------------------------------------------------------
# Columns not read, optional columns absent, the generic form's usual headers
# --------------------------------------------------------------------------------------------


def test_columns_the_mapping_does_not_read_are_listed(
    tmp_path: Path, generic: mt_access.Policy
) -> None:
    headers = [*GENERIC, "Statut interne", "Nombre d'enfants à charge (moins de 18 ans)", "CSS"]
    result = run(tmp_path, [person(CSS="Oui")], generic, headers=headers)
    assert result.accepted[0].request.css
    assert result.unread_columns == (
        "Statut interne",
        "Nombre d'enfants à charge (moins de 18 ans)",
    )
    ((header, hint),) = result.column_hints
    assert header == "Nombre d'enfants à charge (moins de 18 ans)"
    assert "ressemble au champ children (nombre d'enfants du foyer)" in hint
    assert "ajoutez cet en-tête au champ children" in hint
    warnings = result.warnings()
    assert warnings[0] == (
        "1 colonne(s) du fichier non lue(s) par le formulaire (leur contenu n'est pas "
        "importé) : « Statut interne »"
    )
    assert warnings[1].startswith(
        "colonne « Nombre d'enfants à charge (moins de 18 ans) » non lue : ressemble au champ "
        "children"
    )


def test_a_look_alike_of_a_field_read_elsewhere_says_where(
    tmp_path: Path, generic: mt_access.Policy
) -> None:
    headers = [*GENERIC, "CSS", "C2S"]
    result = run(tmp_path, [person(CSS="Oui", C2S="Non")], generic, headers=headers)
    assert result.unread_columns == ("C2S",)
    assert result.column_hints == (
        ("C2S", "ressemble au champ css (complémentaire santé solidaire (CSS)), déjà lu dans "
         "« CSS »"),
    )  # fmt: skip


@pytest.mark.parametrize(
    ("cells", "field", "value"),
    [
        ({"ALD": "Oui"}, "ald", True),
        ({"Affection longue durée": "oui"}, "ald", True),
        ({"Affection de longue durée (ALD)": "Oui"}, "ald", True),
        ({"AFFECTION DE LONGUE DUREE - ALD :": "Oui"}, "ald", True),
        ({"CSS": "Oui"}, "css", True),
        ({"C2S": "oui"}, "css", True),
        ({"Complémentaire santé solidaire": "Oui"}, "css", True),
        ({"CMU-C": "Oui"}, "css", True),
        ({"CMU-C": "Non"}, "css", False),
        ({"AME": "Oui"}, "ame", True),
        ({"Aide médicale de l'État": "Oui"}, "ame", True),
        ({"Aide medicale de l'Etat (AME)": "oui"}, "ame", True),
        ({"Nombre d'enfants": "2"}, "children", 2),
        ({"Enfants": "3"}, "children", 3),
        ({"Nb enfants": "1"}, "children", 1),
        ({"Nb. d'enfants": "Aucun"}, "children", 0),
        ({"Nombre d'adultes": "2"}, "adults", 2),
        ({"Urgence": "Oui"}, "urgent", True),
        ({"Visite à domicile": "Oui"}, "home_visits", HomeVisitNeed.OCCASIONAL),
        ({"Maladie chronique": "Oui"}, "disability_or_chronic", True),
    ],
)
def test_the_generic_form_reads_the_usual_french_headers(
    tmp_path: Path, generic: mt_access.Policy, cells: dict[str, str], field: str, value: object
) -> None:
    headers = [*GENERIC, *cells]
    result = run(tmp_path, [person(**cells)], generic, headers=headers)
    assert result.problems == ()
    assert result.unread_columns == ()
    (record,) = result.accepted
    request = record.request
    actual = getattr(request.household, field) if field in ("adults", "children") else None
    if actual is None:
        actual = getattr(request, field)
    assert actual == value


def test_a_missing_optional_column_is_a_warning_not_a_rejection(
    tmp_path: Path, voironnais: mt_access.Policy
) -> None:
    """The issue's case: an export missing only the optional « E-mail » column."""
    row = {
        "N° de demande": "V-1",
        "Date de réception": "2026-02-01",
        "Nom du patient": "Modèle",
        "Prénom du patient": "Gaëlle",
        "Date de naissance": "03/03/1948",
        "Code postal": "38500",
        "Commune": "Voiron",
        "Téléphone": "06 00 00 00 01",
        "Consentement du patient": "Oui",
    }
    result = run(tmp_path, [row], voironnais)
    assert result.problems == ()
    (record,) = result.accepted
    assert record.identity.email == ""
    assert ("« E-mail »", "adresse e-mail") in result.absent_columns
    warning = result.warnings()[-1]
    assert warning.startswith("colonne(s) facultative(s) absente(s) du fichier, champ(s) non lu(s)")
    assert "« E-mail » (adresse e-mail)" in warning
    assert "« E-mail »" not in " ".join(result.warnings(absent=False))


@pytest.mark.parametrize("preset", ["voironnais", "lievin", "sud_est_grenoblois", "generique"])
def test_only_the_name_birth_date_commune_and_consent_are_required(preset: str) -> None:
    mapping = load_preset(preset)
    required = {
        name
        for name, field in mapping.fields.items()
        if not field.optional and field.constant is None
    }
    assert required <= {"last_name", "full_name", "birth_date", "consent"}
