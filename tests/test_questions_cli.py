"""``mt-access demande qualifier`` end to end, in French: answers and criteria changed with a
reason, shown by ``demande historique`` and ``demande liste``, used by the next run."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli_support import new_register, ok, run
from mt_access.cli import EXIT_OK
from question_fixtures import POLICY, write

MAPPING = """\
intake:
  preset: generique
  questions:
    isole: "Personne isolée ?"
"""
FORM = """\
Date de réception;Nom;Prénom;Date de naissance;Commune;Consentement;Personne isolée ?
02/03/2026;Fictif;Un;01/01/1970;Voiron;Oui;non
02/03/2026;Fictif;Deux;01/01/1971;Voiron;Oui;non
"""


@pytest.fixture
def register(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = new_register(tmp_path, monkeypatch, str(write(tmp_path, POLICY + MAPPING)))
    (tmp_path / "formulaire.csv").write_text(FORM, encoding="utf-8")
    ok("import", "formulaire.csv")
    for rid in ("questions-000001", "questions-000002"):
        ok("demande", "accuser", rid, "--date", "03/03/2026")
        ok("demande", "confirmer", rid, "--date", "03/03/2026")
    ok("medecin", "ajouter", "MG1", "--nom", "Dr Fictif", "--commune", "Voiron")
    ok("medecin", "adherer", "MG1", "--capacite", "1", "--date", "01/03/2026")
    return path


def test_qualifier_changes_answers_and_the_next_run_uses_them(register: Path) -> None:
    before = ok("apparier", "--apercu", "--date", "10/03/2026")
    assert "questions-000001  non prioritaire" in before

    out = ok(
        "demande", "qualifier", "questions-000002", "--reponse", "isole=oui",
        "--reponse", "aides=kiné; infirmier", "--champ", "ald=oui",
        "--motif", "appel du patient", "--date", "05/03/2026",
    )  # fmt: skip
    assert out.splitlines() == [
        "Demande questions-000002 : qualification modifiée le 05/03/2026 (en liste d'attente).",
        "  Personne isolée : non → oui",
        "  Aides : — → Infirmier, Kiné",
        "  ALD : non → oui",
        "Le prochain appariement classe la demande avec sa nouvelle qualification.",
    ]
    history = ok("demande", "historique", "questions-000002")
    assert "Réponses : Personne isolée : oui ; Aides : Infirmier, Kiné" in history
    assert "qualification modifiée par la coordination" in history
    assert (
        "Qualification du 05/03/2026 : appel du patient — Personne isolée : non → oui ; "
        "Aides : — → Infirmier, Kiné ; ALD : non → oui" in history
    )
    listing = ok("demande", "liste")
    assert "réponses" in listing.splitlines()[0]
    assert "Personne isolée : oui" in listing

    after = ok("apparier", "--date", "10/03/2026")
    assert "questions-000002  fragile" in after
    assert "questions-000002" in ok("demande", "liste", "--etat", "proposee")


def test_qualifier_refuses_bad_input_in_french(register: Path) -> None:
    code, _, err = run(
        "demande", "qualifier", "questions-000001", "--reponse", "isole=Secret-Zz", "--motif", "x"
    )
    assert code != EXIT_OK
    assert "--reponse isole : Personne isolée : oui ou non attendu" in err
    assert "Secret-Zz" not in err
    code, _, err = run(
        "demande", "qualifier", "questions-000001", "--reponse", "isolement=oui", "--motif", "x"
    )
    assert "question inconnue « isolement » ; questions : isole, situation, aides" in err
    code, _, err = run("demande", "qualifier", "questions-000001", "--motif", "x")
    assert "rien à modifier" in err
    code, _, err = run("demande", "qualifier", "questions-000001", "--reponse", "isole=oui")
    assert code != EXIT_OK
    assert "--motif" in err
    code, _, err = run(
        "demande", "qualifier", "questions-000001", "--reponse", "isole=non", "--motif", "x"
    )
    assert "aucune modification" in err
    assert "questions-000001" in err


def test_politique_shows_the_questions_and_their_columns(tmp_path: Path) -> None:
    policy = write(tmp_path, POLICY + MAPPING)
    shown = ok("politique", "afficher", str(policy))
    assert (
        "Question « isole » : Personne isolée (oui/non ; partageable (listes pseudonymisées) ; "
        "montrée dans : courriers au patient, listes, exports nominatifs)" in shown
    )
    assert (
        "Question « situation » : Situation (une réponse parmi Simple, Complexe ; dans le "
        "dossier du médecin" in shown
    )
    assert "  question isole ← « Personne isolée ? »" in shown
    assert "6 question(s) propre(s)" in ok("politique", "verifier", str(policy))
