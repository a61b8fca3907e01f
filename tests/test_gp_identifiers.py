"""A new GP's identifier is the address of their pages and a name in files: the register
refuses one with a « / », a control character, empty or too long, whichever way the GP comes
in (the library, a GP file, the command line and the web form say the same thing)."""

from __future__ import annotations

import datetime as dt

import pytest

import mt_access
from mt_access.gp_file import read_gp_table
from mt_access.gp_register import MAX_PHYSICIAN_ID, identifier_problem
from mt_access.intake.tabular import Row, Table
from mt_access.model import Physician
from mt_access.register_base import RegisterOperationError
from mt_access.store.memory import MemoryStore

BAD = ["a/b", "../x", "a\\b", ".", "..", "MG\x00001", "MG\x1b[31m", "M" * 65]


@pytest.mark.parametrize("identifier", BAD)
def test_the_register_refuses_a_new_gp_whose_id_cannot_be_one(identifier: str) -> None:
    register = mt_access.Register(MemoryStore(), mt_access.load_policy("voironnais"))
    with pytest.raises(RegisterOperationError, match="identifiant de médecin refusé : "):
        register.add_physician(Physician(id=identifier, name="Dr Essai", commune="38563"))
    assert register.physicians() == []


@pytest.mark.parametrize("identifier", ["MG001", "10003456789", "dr-martin_2", "M" * 64, "é.è"])
def test_ordinary_ids_are_taken(identifier: str) -> None:
    assert identifier_problem(identifier) is None
    register = mt_access.Register(MemoryStore(), mt_access.load_policy("voironnais"))
    register.add_physician(Physician(id=identifier, name="Dr Essai", commune="38563"))
    assert [p.id for p in register.physicians()] == [identifier]


def test_the_problems_are_said_in_french() -> None:
    assert identifier_problem("") == "identifiant vide"
    assert (
        identifier_problem("M" * 65) == f"{MAX_PHYSICIAN_ID} caractères au plus attendus, reçu 65"
    )
    assert identifier_problem("a\x07") == "caractère de contrôle (invisible) dans l'identifiant"
    assert (identifier_problem("a/b") or "").startswith("« / » et « \\ » interdits")


def _table(identifier: str) -> Table:
    headers = ("Identifiant", "Nom", "Commune d'exercice")
    return Table(
        source="medecins.csv",
        headers=headers,
        rows=(
            Row(
                number=2,
                values=dict(zip(headers, (identifier, "Dr Essai", "Voiron"), strict=True)),
            ),
        ),
    )


@pytest.mark.parametrize("identifier", ["a/b", "..", "MG\x1b1"])
def test_a_gp_file_row_with_such_an_id_is_a_problem_of_its_cell(identifier: str) -> None:
    result = read_gp_table(
        _table(identifier), mt_access.load_policy("voironnais"), today=dt.date(2026, 3, 1)
    )
    assert result.entries == ()
    [problem] = result.problems
    assert problem.row == 2
    assert problem.column == "Identifiant"
    assert problem.expected.startswith("identifiant du médecin : ")


def test_a_gp_already_in_the_register_keeps_their_id_in_a_file() -> None:
    """An id taken before this rule (e.g. « MG/1 ») is not refused when a file updates them."""
    existing = Physician(id="MG/1", name="Dr Essai", commune="38563")
    result = read_gp_table(
        _table("MG/1"),
        mt_access.load_policy("voironnais"),
        physicians=[existing],
        today=dt.date(2026, 3, 1),
    )
    assert result.problems == ()
    assert [e.physician.id for e in result.entries] == ["MG/1"]
