"""``mt-access medecin importer FICHIER [--simulation] [--mettre-a-jour]``: French output,
the rejections report, nothing recorded in a simulation, a second import adding nothing, and
changed GPs updated only when asked. Generated data only."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from mt_access.cli import EXIT_OK, main
from mt_access.export import write_rows
from mt_access.gp_file import GP_COLUMNS
from mt_access.model import PhysicianStatus
from mt_access.rpps import rpps_key
from mt_access.store.sqlite import SQLiteStore

R1 = "1000000000" + rpps_key("1000000000")
R2 = "1012345678" + rpps_key("1012345678")
HEADINGS = [c.heading for c in GP_COLUMNS]


def run(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(args), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def ok(*args: str) -> str:
    code, out, err = run(*args)
    assert code == EXIT_OK, (args, out, err)
    return out


@pytest.fixture
def register(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "registre.sqlite"
    monkeypatch.setenv("MT_ACCESS_REGISTRE", str(path))
    monkeypatch.chdir(tmp_path)
    ok("registre", "creer", str(path), "--politique", "voironnais")
    return path


def gp_file(path: Path, rows: list[dict[str, str]]) -> Path:
    return write_rows([{h: row.get(h, "") for h in HEADINGS} for row in rows], HEADINGS, path)


ROWS = [
    {"RPPS": R1, "Nom": "Martin", "Prénom": "Jean", "Commune d'exercice": "Voiron",
     "Places par mois": "3", "Date d'entrée": "05/01/2026", "Téléphone": "0476123456"},
    {"RPPS": R2, "Nom": "Petit", "Commune d'exercice": "38565"},
    {"RPPS": "10000000001", "Nom": "Faux", "Commune d'exercice": "Voirno",
     "MSSanté": "secret-non-valide"},
]  # fmt: skip


def test_simulation_then_import_then_again(register: Path, tmp_path: Path) -> None:
    path = gp_file(tmp_path / "medecins.csv", ROWS)
    out = ok("medecin", "importer", str(path), "--simulation", "--aujourdhui", "03/12/2026")
    assert out.startswith(
        "3 ligne(s) lue(s) : 2 médecin(s) nouveau(x), 0 déjà enregistré(s) à l'identique, "
        "0 modifié(s), 1 ligne(s) rejetée(s), 0 doublon(s)."
    )
    assert "ligne 4, colonne « RPPS » : numéro RPPS attendu" in out
    assert "vouliez-vous dire « Voiron »" in out
    assert "secret-non-valide" not in out
    assert "Simulation : rien n'a été enregistré" in out
    with SQLiteStore(register, create=False) as store:
        assert store.physicians() == []
    report = tmp_path / "medecins.rejets.csv"
    assert report.is_file()
    content = report.read_text(encoding="utf-8-sig")
    assert "Voirno" in content
    assert "secret-non-valide" not in content

    out = ok("medecin", "importer", str(path), "--rejets", str(tmp_path / "r.xlsx"))
    assert "2 médecin(s) ajouté(s), 0 mis à jour" in out
    assert f"Médecins ajoutés : {R1}, {R2}." in out
    assert (tmp_path / "r.xlsx").is_file()
    listed = ok("medecin", "liste", "--date", "03/12/2026")
    assert "Dr Jean Martin" in listed
    assert "04 76 12 34 56" in listed

    out = ok("medecin", "importer", str(path))
    assert "0 médecin(s) ajouté(s), 0 mis à jour, 2 déjà enregistré(s) à l'identique" in out
    assert "Aucun médecin ajouté ni modifié." in out


def test_changed_gps_are_updated_only_when_asked(register: Path, tmp_path: Path) -> None:
    ok("medecin", "importer", str(gp_file(tmp_path / "a.csv", ROWS[:2])))
    changed = [
        {**ROWS[0], "Date de retrait": "01/06/2026", "Places par mois": "4"},
        {**ROWS[1], "Cabinet": "Maison de santé des Tilleuls"},
    ]
    path = gp_file(tmp_path / "b.xlsx", changed)
    out = ok("medecin", "importer", str(path))
    assert f"ligne 2 : médecin {R1} modifié (« Date de retrait », « Places par mois »)" in out
    assert "relancez avec --mettre-a-jour" in out
    with SQLiteStore(register, create=False) as store:
        martin = store.get_physician(R1)
    assert martin is not None
    assert martin.status_on(martin.status_history[-1].on) is PhysicianStatus.ACTIVE

    out = ok("medecin", "importer", str(path), "--mettre-a-jour")
    assert "0 médecin(s) ajouté(s), 2 mis à jour" in out
    assert "adhésion déjà enregistrée, à modifier sur sa fiche : « Places par mois »" in out
    with SQLiteStore(register, create=False) as store:
        martin = store.get_physician(R1)
        petit = store.get_physician(R2)
    assert martin is not None
    assert petit is not None
    assert martin.status_history[-1].status is PhysicianStatus.WITHDRAWN
    assert petit.contact.practice == "Maison de santé des Tilleuls"


def test_a_file_without_its_required_columns_is_refused(register: Path, tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    path.write_text("Nom;Ville\nMartin;Voiron\n", encoding="utf-8")
    code, _out, err = run("medecin", "importer", str(path))
    assert code != EXIT_OK
    assert "colonne(s) obligatoire(s) absente(s) : « RPPS (ou Identifiant) »" in err


# --- a mapping file of the CPTS's own headings (--correspondance)

OWN = ["N° praticien", "NOM", "Prénom du Dr", "Lieu d'exercice", "Commune", "Spécialité"]
OWN_ROWS = [
    {"N° praticien": R1, "NOM": "Martin", "Prénom du Dr": "Jean", "Lieu d'exercice": "Voiron",
     "Commune": "sans objet", "Spécialité": "MG"},
]  # fmt: skip
MAPPING = """\
name: Tableau de la CPTS
fields:
  rpps: N° praticien
  last_name: NOM
  first_name: [Prénom du Dr, Prénom d'exercice]
  commune: Lieu d'exercice
ignore: [Spécialité]
"""


def test_a_mapping_file_reads_the_cpts_own_headings(register: Path, tmp_path: Path) -> None:
    path = write_rows(OWN_ROWS, OWN, tmp_path / "propre.xlsx")
    code, _out, err = run("medecin", "importer", str(path))
    assert code != EXIT_OK
    assert "décrivez-les dans un fichier de correspondance" in err

    mapping = tmp_path / "colonnes.yaml"
    mapping.write_text(MAPPING, encoding="utf-8")
    code, out, err = run("medecin", "importer", str(path), "--correspondance", str(mapping))
    assert code == EXIT_OK, err
    assert "1 médecin(s) ajouté(s)" in out
    # « Commune », a built-in synonym of the commune, is read here from « Lieu d'exercice »
    # only: it is reported as not read; « Spécialité », ignored, is not
    assert (
        "1 colonne(s) du fichier non lue(s) (leur contenu n'est pas importé) : « Commune »" in err
    )
    with SQLiteStore(register, create=False) as store:
        martin = store.get_physician(R1)
    assert martin is not None
    assert martin.name == "Dr Jean Martin"
    assert martin.commune == "38563"


def test_the_mapping_names_the_missing_columns(register: Path, tmp_path: Path) -> None:
    path = write_rows(OWN_ROWS, OWN, tmp_path / "propre.csv")
    mapping = tmp_path / "colonnes.yaml"
    mapping.write_text("fields:\n  rpps: N° praticien\n  commune: Ville du cabinet\n")
    code, _out, err = run("medecin", "importer", str(path), "--correspondance", str(mapping))
    assert code != EXIT_OK
    assert "colonne(s) obligatoire(s) absente(s) : « Ville du cabinet »" in err
    assert "(d'après le fichier de correspondance)" in err


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("fields:\n  rpps: A\n  nom: B\n",
         "colonnes.yaml:3: $.fields.nom: clé inconnue 'nom' ; clés possibles ici : id, rpps"),
        ("champs:\n  rpps: A\n", "colonnes.yaml:1: $.champs: clé inconnue 'champs'"),
        ("name: X\n", "colonnes.yaml:1: $: clé 'fields' obligatoire manquante"),
        ("fields:\n  rpps: [A, B]\n  last_name: b\n",
         "colonnes.yaml:3: $.fields.last_name: en-tête déjà donné pour le champ rpps"),
        ("fields:\n  rpps: []\n", "colonnes.yaml:2: $.fields.rpps: champ rpps : liste vide"),
        ("fields:\n  rpps: {column: A}\n", "$.fields.rpps: champ rpps : un en-tête (texte)"),
        ("fields:\n  rpps: '***'\n", "en-tête sans lettre ni chiffre"),
        ("fields:\n  rpps: A\nignore: [a]\n",
         "colonnes.yaml:3: $.ignore[0]: en-tête lu par le champ rpps"),
        ("fields:\n  rpps: !!python/object/apply:os.system [ls]\n",
         "colonnes.yaml:2: $.fields.rpps: YAML invalide : étiquette"),
        ("a: &a [*a]\n", "colonnes.yaml"),
        ("", "colonnes.yaml: $: fichier vide"),
    ],
)  # fmt: skip
def test_a_bad_mapping_file_is_refused_with_its_line_and_key(
    register: Path, tmp_path: Path, text: str, expected: str
) -> None:
    path = gp_file(tmp_path / "medecins.csv", ROWS[:1])
    (tmp_path / "colonnes.yaml").write_text(text, encoding="utf-8")
    code, _out, err = run("medecin", "importer", str(path), "--correspondance", "colonnes.yaml")
    assert code != EXIT_OK
    assert expected in err
    with SQLiteStore(register, create=False) as store:
        assert store.physicians() == []


def test_a_mapping_file_must_be_yaml(register: Path, tmp_path: Path) -> None:
    path = gp_file(tmp_path / "medecins.csv", ROWS[:1])
    code, _out, err = run("medecin", "importer", str(path), "--correspondance", str(path))
    assert code != EXIT_OK
    assert "fichier de correspondance .yaml ou .yml attendu" in err
    code, _out, err = run("medecin", "importer", str(path), "--correspondance", "absent.yaml")
    assert "absent.yaml: $: fichier introuvable" in err
