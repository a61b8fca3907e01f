"""Persons, not requests: a household's persons are placed, proposed, accepted, refused and
closed on their own, and every count of persons agrees with the others."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mt_access
from factories import MOIRANS, VOIRON, VOREPPE, doc, req
from mt_access import Modality, RequestState
from mt_access.calendar import Month
from mt_access.indicators import Period, indicators
from mt_access.letters import referral_letter
from mt_access.lifecycle import ExitReason, LifecycleError, RequestFile
from mt_access.model import Household
from mt_access.register import Register, RegisterOperationError
from mt_access.store.memory import MemoryStore
from register_support import D1, add_waiting, join_gp, memory_register

RUN = dt.date(2026, 3, 5)
LATER = dt.date(2026, 3, 10)
NEXT_RUN = dt.date(2026, 4, 5)
MARCH = Month(2026, 3)


def _household(rid: str, adults: int, children: int, commune: str = VOIRON) -> mt_access.Request:
    return attrs.evolve(req(rid, commune, received=D1), household=Household(adults, children))


# --------------------------------------------------------------------------------------------
# The model


def test_members_are_numbered_adults_first_and_named_by_their_place() -> None:
    household = Household(adults=2, children=2)
    assert [m.label for m in household.members] == [
        "adulte 1 (demandeur)",
        "adulte 2",
        "enfant 1",
        "enfant 2",
    ]
    assert household.subset([2, 4]) == Household(adults=1, children=1)
    assert household.describe([3]) == "enfant 1"
    assert Household(adults=0, children=2).describe() == "enfant 1 (demandeur), enfant 2"
    with pytest.raises(ValueError, match="le foyer compte 4 personne"):
        household.member(5)


@pytest.mark.parametrize(("adults", "children"), [(21, 0), (1, 21), (1, 2**63), (-1, 2)])
def test_household_sizes_are_bounded(adults: int, children: int) -> None:
    with pytest.raises(ValueError, match="entier entre 0 et 20 attendu"):
        Household(adults=adults, children=children)


# --------------------------------------------------------------------------------------------
# The lifecycle, person by person


def _file(persons: int) -> RequestFile:
    return RequestFile.receive("R1", D1, persons=persons).acknowledge(D1).confirm(D1).to_waiting(D1)


def test_a_split_household_is_answered_person_by_person() -> None:
    file = _file(3).propose("A", RUN, persons=[1]).propose("B", RUN, persons=[2, 3])
    assert file.proposals == {"A": (1,), "B": (2, 3)}
    assert file.waiting_persons == ()
    accepted = file.accept("A", LATER)
    assert accepted.state is RequestState.PROPOSED  # B has not answered
    assert accepted.physicians_found == {1: "A"}
    assert accepted.proposed_to == {"B"}
    assert accepted.history[-1].persons == (1,)
    refused = accepted.refuse("B", LATER)
    assert refused.state is RequestState.WAITING
    assert refused.waiting_persons == (2, 3)
    assert refused.declined_by == {"B"}
    done = refused.propose("C", NEXT_RUN).accept("C", NEXT_RUN)
    assert done.state is RequestState.MT_FOUND
    assert done.exit_reason is ExitReason.MT_FOUND
    assert done.physicians_found == {1: "A", 2: "C", 3: "C"}
    assert done.physician_found == "A"  # the patient's


def test_persons_may_leave_on_their_own() -> None:
    file = _file(3).propose("A", RUN, persons=[1, 2])
    closed = file.close(LATER, "l'enfant a un pédiatre", persons=[3])
    assert closed.state is RequestState.PROPOSED
    assert closed.people.outcome(3) is ExitReason.CLOSED_BY_CPTS
    withdrawn = closed.withdraw(LATER, persons=[2])
    assert withdrawn.proposals == {"A": (1,)}  # person 2 no longer proposed
    found = withdrawn.accept("A", LATER)
    assert found.state is RequestState.MT_FOUND
    assert found.physicians_found == {1: "A"}
    with pytest.raises(LifecycleError, match="personne n° 3 a déjà une issue"):
        _file(3).close(LATER, "x", persons=[3]).close(LATER, "x", persons=[3])
    with pytest.raises(LifecycleError, match="inconnue"):
        _file(2).propose("A", RUN, persons=[3])


def test_a_household_whose_persons_all_leave_without_mt_exits() -> None:
    file = _file(2).withdraw(LATER, persons=[1])
    assert file.state is RequestState.WAITING
    file = file.other_solution(LATER, persons=[2])
    assert file.state is RequestState.EXITED
    assert file.exit_reason is ExitReason.OTHER_SOLUTION


def test_an_acceptance_closes_other_proposals_of_the_same_persons() -> None:
    file = _file(2).propose("A", RUN).propose("B", RUN)  # both for everyone
    found = file.accept("B", LATER)
    assert found.state is RequestState.MT_FOUND
    assert found.proposed_to == frozenset()
    assert found.physicians_found == {1: "B", 2: "B"}


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), persons=st.integers(1, 5))
def test_every_person_has_exactly_one_place_in_the_file(data: st.DataObject, persons: int) -> None:
    """Whatever events happen, each person is exactly one of: found (one GP), exited, pending
    with at least one GP, or waiting; the request is final exactly when nobody searches; the
    GPs it is proposed to are exactly those with a pending proposal."""
    file = _file(persons)
    day = RUN
    for _ in range(data.draw(st.integers(0, 12))):
        if file.is_exited:
            break
        searching = file.people.unresolved
        action = data.draw(st.sampled_from(["propose", "accept", "refuse", "close", "withdraw"]))
        some = data.draw(st.none() | st.sets(st.sampled_from(searching), min_size=1))
        try:
            if action == "propose":
                gp = data.draw(st.sampled_from(["A", "B", "C", "D"]))
                file = file.propose(gp, day, persons=some)
            elif action in ("accept", "refuse") and file.proposed_to:
                gp = data.draw(st.sampled_from(sorted(file.proposed_to)))
                file = file.accept(gp, day) if action == "accept" else file.refuse(gp, day)
            elif action == "close":
                file = file.close(day, "motif", persons=some)
            elif action == "withdraw":
                file = file.withdraw(day, persons=some)
        except LifecycleError:
            continue
        people = file.people
        found = {n for n, _ in people.found}
        exited = {n for n, _ in people.exits}
        assert not found & exited
        assert found | exited | people.pending | set(people.waiting) == set(range(1, persons + 1))
        assert not people.pending & (found | exited)
        assert file.proposed_to == frozenset(gp for gp, _ in people.proposals)
        assert file.is_exited == (not people.unresolved)
        if file.is_exited:
            assert (file.state is RequestState.MT_FOUND) == bool(found)


# --------------------------------------------------------------------------------------------
# The register: runs, answers, letters, ledger


def test_a_split_household_in_the_register(voironnais: mt_access.Policy) -> None:
    """The demo's case: a household of 3 split 1 to one GP and 2 to another; each GP's
    referral names its persons; the first acceptance finds an MT for its person only."""
    register = memory_register(voironnais, keep_households_together=False)
    join_gp(register, "MG1", VOIRON, capacity=1)
    join_gp(register, "MG2", VOREPPE, capacity=2)
    add_waiting(register, _household("R1", 2, 1))
    run = register.run_match(RUN)
    assert sorted(run.proposed) == [("R1", "MG1"), ("R1", "MG2")]
    file = register.file("R1")
    assert file.proposals == {"MG1": (1,), "MG2": (2, 3)}
    one = referral_letter(register, "R1", "MG1", RUN).text
    two = referral_letter(register, "R1", "MG2", RUN).text
    assert "concerne 1 personne d'un foyer de 3 : adulte 1 (demandeur)." in one
    assert "concerne 2 personnes d'un foyer de 3 : adulte 2, enfant 1." in two
    assert "Les autres membres du foyer sont suivis à part." in one
    fields_one = dict(register.referral("R1", RUN, "MG1"))
    fields_two = dict(register.referral("R1", RUN, "MG2"))
    label = "Personnes à suivre"
    if label in fields_one:
        assert fields_one[label].startswith("1 sur un foyer de 3")
        assert fields_two[label].startswith("2 sur un foyer de 3")

    register.answer("R1", "MG1", LATER, accepted=True)
    file = register.file("R1")
    assert file.state is RequestState.PROPOSED
    assert file.physicians_found == {1: "MG1"}
    assert register.ledger.used("MG1", MARCH) == 1
    assert register.ledger.used("MG2", MARCH) == 2
    register.answer("R1", "MG2", LATER, accepted=False)
    file = register.file("R1")
    assert file.state is RequestState.WAITING
    assert file.waiting_persons == (2, 3)
    assert register.ledger.used("MG2", MARCH) == 0  # the refusal freed both places
    (summary,) = register.waiting()
    assert summary.searching == 2

    # April: the two persons still waiting are routed, never to a GP who refused them nor
    # to the GP who already holds the patient
    join_gp(register, "MG3", MOIRANS, capacity=2)
    april = register.run_match(NEXT_RUN)
    assert april.proposed == (("R1", "MG3"),)
    assert register.file("R1").proposals == {"MG3": (2, 3)}
    register.answer("R1", "MG3", NEXT_RUN, accepted=True)
    file = register.file("R1")
    assert file.state is RequestState.MT_FOUND
    assert file.physicians_found == {1: "MG1", 2: "MG3", 3: "MG3"}

    report = indicators(register, Period(dt.date(2026, 3, 1), dt.date(2026, 4, 30)))
    assert report.persons_placed == 3
    rows = {row[0]: row for row in report.physicians.rows}
    assert rows["MG1"][9] == 1  # personnes acceptées
    assert rows["MG3"][9] == 2
    assert rows["MG2"][9] == 0


def test_a_household_kept_together_moves_as_one(voironnais: mt_access.Policy) -> None:
    register = memory_register(voironnais, keep_households_together=True)
    join_gp(register, "MG1", VOIRON, capacity=1)
    join_gp(register, "MG2", VOREPPE, capacity=3)
    add_waiting(register, _household("R1", 2, 1))
    run = register.run_match(RUN)
    assert run.proposed == (("R1", "MG2"),)
    assert register.file("R1").proposals == {"MG2": (1, 2, 3)}
    register.answer("R1", "MG2", LATER, accepted=True)
    assert register.file("R1").physicians_found == {1: "MG2", 2: "MG2", 3: "MG2"}


def test_a_hand_made_acceptance_takes_one_place_per_person(voironnais: mt_access.Policy) -> None:
    register = memory_register(voironnais)
    join_gp(register, "MG1", VOIRON, capacity=5)
    add_waiting(register, _household("R1", 1, 3))
    register.propose("R1", "MG1", RUN, persons=[2, 3])
    register.answer("R1", "MG1", LATER, accepted=True)
    assert register.ledger.used("MG1", MARCH) == 2
    assert register.file("R1").waiting_persons == (1, 4)
    with pytest.raises(RegisterOperationError, match="déjà le médecin traitant"):
        register.propose("R1", "MG1", LATER)


def test_a_referral_goes_only_where_a_proposal_exists(voironnais: mt_access.Policy) -> None:
    register = memory_register(voironnais)
    join_gp(register, "MG1")
    join_gp(register, "MG2")
    add_waiting(register, req("R1", received=D1))
    with pytest.raises(RegisterOperationError, match="aucune proposition"):
        register.referral("R1", RUN, "MG1")
    register.propose("R1", "MG1", RUN)
    assert register.referral("R1", RUN, "MG1")
    with pytest.raises(RegisterOperationError, match="médecin MG2"):
        referral_letter(register, "R1", "MG2", RUN)
    register.answer("R1", "MG1", LATER, accepted=False)
    with pytest.raises(RegisterOperationError, match="aucune proposition"):
        referral_letter(register, "R1", "MG1", LATER)


def test_persons_closed_on_their_own_in_the_register(voironnais: mt_access.Policy) -> None:
    register = memory_register(voironnais)
    join_gp(register, "MG1", VOIRON, capacity=2)
    add_waiting(register, _household("R1", 1, 2))
    register.close("R1", RUN, "a déjà un pédiatre", persons=[3])
    run = register.run_match(RUN)
    assert run.proposed == (("R1", "MG1"),)
    assert register.file("R1").proposals == {"MG1": (1, 2)}
    assert register.ledger.used("MG1", MARCH) == 2


# --------------------------------------------------------------------------------------------
# Every count of persons agrees: the run, the ledger, the indicators, the workbook, the map


def _accepted_in(register: Register, first: dt.date, last: dt.date) -> int:
    """Persons accepted by a GP between two dates, read straight from the histories."""
    total = 0
    for summary in register.store.summaries(None):
        file = register.file(summary.id)
        for t in file.history:
            if t.event.value == "accept" and first <= t.on <= last:
                total += len(t.persons) or summary.persons
    return total


@pytest.mark.parametrize("months", [2, 11], ids=["demo", "generated-year"])
def test_counts_of_persons_agree(voironnais: mt_access.Policy, months: int) -> None:
    from mt_access.examples import example_answers, example_register
    from mt_access.maps import availability_map

    register = Register(MemoryStore(), voironnais)
    month = Month(2026, 3)
    on = example_register(register, month=month, history_months=months)
    run = register.run_match(on)
    # the run: persons of the placements = persons of the proposals it recorded
    placed = sum(p.persons for p in run.result.placements)
    proposed = sum(len(register.file(rid).proposals[gp]) for rid, gp in run.proposed)
    assert placed == proposed
    example_answers(register, run, on + dt.timedelta(days=7))
    end = month.last_day
    report = indicators(register, month)
    # persons accepted: the indicators' key figure = the GP table's total = the histories
    gp_rows = {row[0]: row for row in report.physicians.rows}
    assert (
        report.persons_placed == gp_rows["total"][9] == _accepted_in(register, month.first_day, end)
    )
    # places held: the GP table = the ledger = the map
    held = sum(register.ledger.used(p.id, month) for p in register.physicians())
    assert report.places_held == gp_rows["total"][5] == held
    drawn = availability_map(register, end)
    assert sum(p.used for p in drawn.physicians) == held
    # persons waiting: the map = the persons still searching in the files
    searching = sum(
        len(register.file(s.id).people.unresolved)
        for s in register.store.summaries(None)
        if not s.state.is_final and s.received <= end
    )
    assert sum(c.waiting_persons for c in drawn.communes) == searching
    # no household is counted whole where only some of its persons were accepted
    for summary in register.store.summaries([RequestState.MT_FOUND, RequestState.PROPOSED]):
        file = register.file(summary.id)
        for gp in set(file.physicians_found.values()):
            mine = sum(1 for g in file.physicians_found.values() if g == gp)
            assert mine <= summary.persons


def test_the_referrers_feedback_gives_each_persons_outcome(voironnais: mt_access.Policy) -> None:
    from mt_access.letters import feedback_letter
    from mt_access.model import Referrer, ReferrerKind

    register = memory_register(voironnais, keep_households_together=False)
    join_gp(register, "MG1", VOIRON, capacity=1)
    join_gp(register, "MG2", VOREPPE, capacity=2)
    request = attrs.evolve(
        _household("R1", 2, 1), referrer=Referrer(ReferrerKind.HOSPITAL, "Service", "x@y.fr")
    )
    add_waiting(register, request)
    register.run_match(RUN)
    register.answer("R1", "MG1", LATER, accepted=True)
    text = feedback_letter(register, "R1", LATER).text
    assert "Pour chaque personne du foyer :" in text
    assert "- adulte 1 (demandeur) : médecin traitant trouvé : Dr MG1 (Voiron)" in text
    assert "- adulte 2 : proposée à un médecin, en attente de sa réponse" in text
    assert "- enfant 1 : proposée à un médecin, en attente de sa réponse" in text


def test_persons_from_the_command_line(tmp_path: Path, voironnais: mt_access.Policy) -> None:
    """`demande proposer/cloturer --personnes`, and the history that names each person."""
    import io

    from mt_access.cli import EXIT_OK, EXIT_USAGE, main
    from mt_access.store.sqlite import SQLiteStore

    path = tmp_path / "registre.sqlite"
    with SQLiteStore(path) as store:
        register = Register(store, voironnais)
        join_gp(register, "MG1", VOIRON, capacity=3)
        add_waiting(register, _household("R1", 2, 1))

    def run(*args: str) -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        code = main([*args, "--registre", str(path), "--politique", "voironnais"], out=out, err=err)
        return code, out.getvalue(), err.getvalue()

    assert (
        run("demande", "proposer", "R1", "MG1", "--personnes", "1,3", "--date", "05/03/2026")[0]
        == EXIT_OK
    )
    code, _, _ = run(
        "demande", "cloturer", "R1", "retrait", "--personnes", "2", "--date", "06/03/2026"
    )
    assert code == EXIT_OK
    code, out, _ = run("demande", "historique", "R1")
    assert code == EXIT_OK
    assert (
        "Personnes du foyer : 1 adulte 1 (demandeur) : proposée à MG1 ; "
        "2 adulte 2 : désistement du patient ; 3 enfant 1 : proposée à MG1"
    ) in out
    code, _, err = run("demande", "cloturer", "R1", "retrait", "--personnes", "deux")
    assert code == EXIT_USAGE
    assert "numéros de personnes attendus" in err
    code, out, err = run("medecin", "repondre", "MG1", "R1", "accepte", "--date", "07/03/2026")
    assert code == EXIT_OK, err
    with SQLiteStore(path, readonly=True) as store:
        file = Register(store, voironnais).file("R1")
        assert file.physicians_found == {1: "MG1", 3: "MG1"}
        assert file.state is RequestState.MT_FOUND


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    sizes=st.lists(st.tuples(st.integers(1, 3), st.integers(0, 3)), min_size=1, max_size=6),
    capacities=st.lists(st.integers(0, 5), min_size=1, max_size=4),
    together=st.booleans(),
)
def test_household_placements_person_by_person(
    voironnais: mt_access.Policy,
    sizes: list[tuple[int, int]],
    capacities: list[int],
    together: bool,
) -> None:
    """Kept together, a household's persons are all proposed to one GP; split, each GP is
    proposed distinct persons, as many as the engine placed with them; in both, no person is
    proposed twice and the GPs' places held equal the persons proposed."""
    register = memory_register(voironnais, keep_households_together=together)
    communes = [VOIRON, VOREPPE, MOIRANS]
    for i, capacity in enumerate(capacities):
        join_gp(register, f"MG{i}", communes[i % 3], capacity=capacity)
    for i, (adults, children) in enumerate(sizes):
        add_waiting(register, _household(f"R{i}", adults, children, communes[i % 3]))
    run = register.run_match(RUN)
    placed = {(p.request_id, p.physician_id): p.persons for p in run.result.placements}
    for i, (adults, children) in enumerate(sizes):
        file = register.file(f"R{i}")
        proposals = file.proposals
        seen = [n for persons in proposals.values() for n in persons]
        assert len(seen) == len(set(seen))  # nobody proposed twice
        for gp, persons in proposals.items():
            assert len(persons) == placed[f"R{i}", gp]
        if together and proposals:
            assert len(proposals) == 1
            assert sorted(seen) == list(range(1, adults + children + 1))
        assert sorted(seen + list(file.waiting_persons)) == list(range(1, adults + children + 1))
    held = sum(register.ledger.used(f"MG{i}", MARCH) for i in range(len(capacities)))
    assert held == sum(placed.values())


def test_an_orientation_of_a_partly_proposed_household_is_recorded() -> None:
    """A household of which one person is proposed to a GP and the others still wait may be
    oriented (Deûle Marque's non-priority path): the run records it, the household stays
    ``proposed`` and the orientation concerns the waiting persons only. Before, recording
    the orientation from the ``proposed`` state failed and the whole run with it."""
    policy = mt_access.load_policy("deule_marque")
    register = memory_register(policy)
    register.add_physician(doc("MG01", "59378", capacity=None))
    register.join("MG01", D1, monthly_capacity=2, modalities=[Modality.OFFICE])
    add_waiting(register, _household("F1", 2, 0, commune="59378"))
    register.propose("F1", "MG01", LATER, persons=[1])
    run = register.run_match(NEXT_RUN)
    assert run.oriented == ("F1",)
    request = register.file("F1")
    assert request.state is RequestState.PROPOSED
    last = request.history[-1]
    assert last.event.value == "orient"
    assert last.persons == (2,)
    assert request.proposals == {"MG01": (1,)}
