"""A GP's practice contact (issue 12, point 4): the value, the ``medecin coordonnees`` and
``medecin ajouter`` options, ``medecin liste`` and the orientation letter from the CLI.

Generated data only: the phones and addresses are fictitious."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from cli_support import new_register, ok, run
from mt_access import Physician, PracticeContact
from mt_access.cli import EXIT_OK
from mt_access.model import CONTACT_MAX_LENGTHS, format_phone
from mt_access.store.sqlite import SQLiteStore

PHONE = "04 76 00 00 09"


@pytest.fixture
def register(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return new_register(tmp_path, monkeypatch, "voironnais")


def _stored(path: Path, gp: str = "MG1") -> PracticeContact:
    with SQLiteStore(path, readonly=True) as store:
        physician = store.get_physician(gp)
    assert physician is not None
    return physician.contact


# -- the value --------------------------------------------------------------------------------


def test_a_physician_has_no_contact_by_default() -> None:
    physician = Physician(id="MG1", name="Dr X", commune="38563")
    assert physician.contact == PracticeContact()
    assert not physician.contact
    assert Physician(id="MG1", name="Dr X", commune="38563", contact=None).contact == (
        PracticeContact()
    )


@pytest.mark.parametrize(
    ("given", "written"),
    [
        ("0476000009", "04 76 00 00 09"),
        ("04.76.00.00.09", "04 76 00 00 09"),
        ("+33476000009", "+33 4 76 00 00 09"),
        ("+33 (0)4 76 00 00 09", "+33 (0)4 76 00 00 09"),  # lenient: kept as given
        (" 15 ", "15"),
    ],
)
def test_phone_format(given: str, written: str) -> None:
    assert format_phone(given) == written


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("phone", "04 76 AB", "téléphone : numéro attendu"),
        ("phone", "123", "de 4 à 15 chiffres"),
        ("phone", "0" * 16, "de 4 à 15 chiffres"),
        ("mssante", "dr.martin", "adresse MSSanté : adresse électronique attendue"),
        ("mssante", "dr martin@medecin.mssante.fr", "adresse électronique attendue"),
        ("address", "x" * 301, "adresse postale : 300 caractères au plus"),
        ("practice", "x" * 201, "nom du cabinet : 200 caractères au plus"),
        ("notes", "x" * 1001, "informations pour les patients : 1000 caractères au plus"),
    ],
)
def test_bad_contacts_are_refused_without_the_value(field: str, value: str, expected: str) -> None:
    with pytest.raises(ValueError, match=expected) as caught:
        PracticeContact(**{field: value})
    assert value.strip() not in str(caught.value)


def test_accepted_contacts() -> None:
    contact = PracticeContact(
        phone=" +33 4 76 00 00 09 ",
        mssante="prenom.nom@medecin.mssante.fr",
        address="x" * CONTACT_MAX_LENGTHS["address"],
        notes="  rendez-vous en ligne ",
    )
    assert (contact.phone, contact.notes) == ("+33 4 76 00 00 09", "rendez-vous en ligne")
    assert PracticeContact(mssante="cabinet@exemple.fr").mssante == "cabinet@exemple.fr"


# -- the CLI ----------------------------------------------------------------------------------


def test_coordonnees_sets_shows_and_clears(register: Path) -> None:
    ok("medecin", "ajouter", "MG1", "--nom", "Dr Fictif", "--commune", "Voiron")
    shown = ok("medecin", "coordonnees", "MG1")
    assert "téléphone : (non renseigné)" in shown
    out = ok(
        "medecin",
        "coordonnees",
        "MG1",
        "--telephone",
        "0476000009",
        "--mssante",
        "dr.fictif@medecin.mssante.fr",
        "--adresse",
        "9 rue Fictive, 38500 Voiron",
        "--cabinet",
        "Cabinet fictif",
        "--notes",
        "Rendez-vous en ligne.",
    )
    assert "enregistrées" in out
    assert f"téléphone : {PHONE}" in out
    assert _stored(register) == PracticeContact(
        PHONE,
        "dr.fictif@medecin.mssante.fr",
        "9 rue Fictive, 38500 Voiron",
        "Cabinet fictif",
        "Rendez-vous en ligne.",
    )
    # one field changed, the others kept; "" clears one
    ok("medecin", "coordonnees", "MG1", "--notes", "", "--cabinet", "Maison de santé fictive")
    contact = _stored(register)
    assert (contact.phone, contact.practice, contact.notes) == (
        PHONE,
        "Maison de santé fictive",
        "",
    )
    assert "inchangées" in ok("medecin", "coordonnees", "MG1", "--telephone", PHONE)
    ok("medecin", "coordonnees", "MG1", "--effacer", "--telephone", "0476000010")
    assert _stored(register) == PracticeContact(phone="04 76 00 00 10")
    # the GP list shows the phone
    listed = ok("medecin", "liste", "--date", "01/03/2026")
    assert "téléphone" in listed
    assert "04 76 00 00 10" in listed


def test_ajouter_takes_the_contact_options(register: Path) -> None:
    ok("medecin", "ajouter", "MG1", "--nom", "Dr Fictif", "--commune", "Voiron",
       "--telephone", "0476000009", "--cabinet", "Cabinet fictif")  # fmt: skip
    assert _stored(register) == PracticeContact(phone=PHONE, practice="Cabinet fictif")


def test_bad_contact_is_refused_in_french_without_the_value(
    register: Path, caplog: pytest.LogCaptureFixture
) -> None:
    ok("medecin", "ajouter", "MG1", "--nom", "Dr Fictif", "--commune", "Voiron")
    caplog.set_level(logging.DEBUG)
    for option, value, expected in (
        ("--telephone", "appelez-nous", "téléphone : numéro attendu"),
        ("--mssante", "pas-une-adresse", "adresse MSSanté"),
        ("--notes", "n" * 1001, "1000 caractères au plus"),
    ):
        code, out, err = run("medecin", "coordonnees", "MG1", option, value)
        assert code != EXIT_OK
        assert expected in err, err
        assert value not in out + err
    assert _stored(register) == PracticeContact()
    assert not caplog.records  # nothing logged
    code, _, err = run("medecin", "coordonnees", "MG9", "--telephone", PHONE)
    assert code != EXIT_OK
    assert "MG9" in err


def test_contact_reaches_the_orientation_letter_and_no_log(
    register: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    ok("medecin", "ajouter", "MG1", "--nom", "Dr Fictif", "--commune", "Voiron",
       "--telephone", "0476000009", "--adresse", "9 rue Fictive, 38500 Voiron")  # fmt: skip
    ok("medecin", "adherer", "MG1", "--capacite", "2", "--date", "01/03/2026")
    form = tmp_path / "formulaire.csv"
    form.write_text(
        "Date de réception;Nom;Prénom;Date de naissance;Commune;Adresse;Consentement\n"
        "02/03/2026;Testnom;Testprénom;01/01/1990;Voiron;1 rue Test;oui\n",
        encoding="utf-8",
    )
    out = ok("import", str(form), "--formulaire", "generique", "--sans-progression",
             "--date", "02/03/2026")  # fmt: skip
    rid = out.split("Demandes créées : ")[1].split(" ")[0].rstrip(".")
    letter = ok("demande", "courrier", rid, "orientation", "--date", "05/03/2026")
    assert "Dr Fictif" in letter
    assert f"Téléphone : {PHONE}" in letter
    assert "Adresse : 9 rue Fictive, 38500 Voiron" in letter
    for record in caplog.records:
        assert PHONE not in record.getMessage()
        assert "rue Fictive" not in record.getMessage()
