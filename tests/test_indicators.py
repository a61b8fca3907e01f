"""Monthly indicators, the waiting list over time and a patient's waiting position.

A hand-built register (``scenario``) checks every figure by hand; Hypothesis checks that the
counts add up on random registers, and that reading a register in bulk gives the same
indicators as the plain-data function.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mt_access
from factories import MOIRANS, VOIRON, VOREPPE, doc, req
from mt_access import (
    CapacityDeclared,
    CapacityLedger,
    MemoryStore,
    Modality,
    Month,
    PatientIdentity,
    PlacementRecorded,
    Referrer,
    ReferrerKind,
    Register,
    RegisterOperationError,
    Request,
    RequestFile,
    RequestState,
    SearchReason,
)
from mt_access.indicators import (
    ALL_LEVELS,
    Indicators,
    IndicatorsError,
    Period,
    compute_indicators,
    compute_waiting_list_series,
    compute_waiting_position,
    indicators,
    reception_levels,
    waiting_list_series,
    waiting_position,
)
from mt_access.lifecycle import Event, ExitReason

GRENOBLE = "38185"  # outside the Voironnais territory
FEB = Period.month("2026-02")
PRIO, NON_PRIO = "prioritaire", "non prioritaire"


def _wait(register: Register, request: Request, on: dt.date | None = None) -> None:
    day = on or request.received
    register.add_request(request, PatientIdentity(last_name="Testnom", phone="0600000000"))
    register.acknowledge(request.id, day)
    register.confirm(request.id, day)
    register.to_waiting(request.id, day)


def scenario(policy: mt_access.Policy) -> Register:
    """A small register whose February 2026 figures are computed by hand in the tests.

    * R8 (received 20/11/2025, 40 years) and R7 (01/12/2025, 75 years): proposed to MG1 on
      02/12/2025, accepted on 10/01/2026 and 15/01/2026;
    * R6 (10/12/2025, 80 years): acknowledged only, still in progress;
    * R1 (05/01/2026, 75 years, prioritaire) and R2 (20/01/2026, 40 years): proposed to MG1
      on 02/02/2026; R1 accepted on 10/02/2026 (36 days), R2 refused on 11/02/2026 and back
      on the waiting list;
    * R3 (03/02/2026, Voreppe, moved, sent by a social worker): withdrawn on 20/02/2026;
    * R4 (15/02/2026, Grenoble, outside the territory): out of scope at once;
    * R5 (02/03/2026): after February.
    """
    register = Register(MemoryStore(), policy)
    register.add_physician(doc("MG1", capacity=None))
    register.join("MG1", dt.date(2025, 11, 1), monthly_capacity=2, modalities=[Modality.OFFICE])
    _wait(register, req("R8", age=40, received=dt.date(2025, 11, 20)))
    _wait(register, req("R7", age=75, received=dt.date(2025, 12, 1)))
    register.run_match(dt.date(2025, 12, 2))
    register.add_request(req("R6", age=80, received=dt.date(2025, 12, 10)))
    register.acknowledge("R6", dt.date(2025, 12, 11))
    register.answer("R8", "MG1", dt.date(2026, 1, 10), accepted=True)
    register.answer("R7", "MG1", dt.date(2026, 1, 15), accepted=True)
    _wait(register, req("R1", age=75, received=dt.date(2026, 1, 5)))
    _wait(register, req("R2", age=40, received=dt.date(2026, 1, 20)))
    run = register.run_match(dt.date(2026, 2, 2))
    assert run.proposed == (("R1", "MG1"), ("R2", "MG1"))
    register.answer("R1", "MG1", dt.date(2026, 2, 10), accepted=True)
    register.answer("R2", "MG1", dt.date(2026, 2, 11), accepted=False)
    r3 = req(
        "R3",
        VOREPPE,
        received=dt.date(2026, 2, 3),
        reason=SearchReason.MOVED,
        referrer=Referrer(kind=ReferrerKind.SOCIAL_WORKER),
        persons=3,
    )
    _wait(register, r3)
    register.withdraw("R3", dt.date(2026, 2, 20))
    register.add_request(req("R4", GRENOBLE, received=dt.date(2026, 2, 15)), out_of_scope=True)
    register.add_request(req("R5", received=dt.date(2026, 3, 2)))
    return register


@pytest.fixture(scope="module")
def feb(voironnais: mt_access.Policy) -> Indicators:
    return indicators(scenario(voironnais), FEB)


# --------------------------------------------------------------------------------------------
# Periods


def test_periods() -> None:
    march = Period.month("2026-03")
    assert (march.start, march.end, march.days) == (dt.date(2026, 3, 1), dt.date(2026, 3, 31), 31)
    assert march.is_month
    assert march.label == "mars 2026"
    assert march.months == (Month(2026, 3),)
    assert march.previous() == Period.month(Month(2026, 2))
    assert Period.of(Month(2026, 3)) == march == Period.of("2026-03") == Period.of(march)
    span = Period(dt.date(2026, 1, 20), dt.date(2026, 3, 5))
    assert not span.is_month
    assert span.label == "du 20/01/2026 au 05/03/2026"
    assert span.months == (Month(2026, 1), Month(2026, 2), Month(2026, 3))
    assert span.previous() == Period(dt.date(2025, 12, 6), dt.date(2026, 1, 19))
    assert dt.date(2026, 2, 1) in span
    assert dt.date(2026, 3, 6) not in span
    assert str(Period.month("2026-08")) == "août 2026"
    with pytest.raises(IndicatorsError, match="précède"):
        Period(dt.date(2026, 3, 2), dt.date(2026, 3, 1))
    with pytest.raises(IndicatorsError, match="AAAA-MM"):
        Period.of("2026-13")


# --------------------------------------------------------------------------------------------
# Every figure of the scenario, by hand


def test_headline_figures(feb: Indicators) -> None:
    assert feb.period == FEB
    assert feb.policy_code == "voironnais"
    assert feb.entries == 2  # R3, R4
    assert feb.entries_persons == 3 + 1
    assert feb.exits == 3  # R1 (MT found), R3 (withdrawn), R4 (out of scope)
    assert feb.placed == 1  # R1
    assert feb.waiting_start == 3  # R1, R2, R6 (R7 and R8 left in January)
    assert feb.waiting_end == 2  # R2, R6
    assert feb.net_change == -1 == feb.entries - feb.exits
    assert feb.median_wait_days == feb.p90_wait_days == 36.0  # R1: 05/01 -> 10/02
    # 30 days: received 02/01-29/01 (R1, R2), none placed within 30 days
    assert (feb.placed_within_30, feb.cohort_30) == (0.0, 2)
    # 90 days: received 03/11-30/11/2025 (R8), placed 51 days after
    assert (feb.placed_within_90, feb.cohort_90) == (1.0, 1)
    assert (feb.capacity, feb.places_held) == (2, 1)  # R2's place was freed by the refusal
    assert feb.utilisation == 0.5


def test_entries_tables(feb: Indicators) -> None:
    by_reason = feb.entries_by_reason
    assert by_reason.row(SearchReason.MOVED.label)["demandes"] == 1
    assert by_reason.row(SearchReason.NEW_ARRIVAL.label) == {
        "motif de la recherche": SearchReason.NEW_ARRIVAL.label,
        "demandes": 1,
        "part": 0.5,
    }
    assert by_reason.row("total")["demandes"] == 2
    assert len(by_reason) == len(SearchReason) + 1
    by_level = feb.entries_by_level
    assert by_level.columns == ("niveau", "demandes", "personnes", "part")
    assert by_level.row(NON_PRIO)["demandes"] == 2
    assert by_level.row(NON_PRIO)["personnes"] == 4
    assert by_level.row(PRIO)["demandes"] == 0
    by_referrer = feb.entries_by_referrer
    assert by_referrer.column("demandes") == (1, 0, 1, 0, 0, 2)  # patient, ..., social worker
    assert by_referrer.rows[2][0] == ReferrerKind.SOCIAL_WORKER.label


def test_exits_table(feb: Indicators) -> None:
    exits = {row[0]: row[1] for row in feb.exits_by_reason.rows}
    assert exits[ExitReason.MT_FOUND.label] == 1
    assert exits[ExitReason.WITHDRAWN.label] == 1
    assert exits[ExitReason.OUT_OF_SCOPE.label] == 1
    assert exits["total"] == 3
    assert sum(exits.values()) == 6


def test_waiting_at_the_end_by_level(feb: Indicators) -> None:
    table = feb.waiting_by_level
    assert table.row(PRIO) == {
        "niveau": PRIO,
        "demandes": 1,  # R6, 80 years on reception
        "personnes": 1,
        "à qualifier": 1,  # acknowledged only
        "en liste d'attente": 0,
        "proposées à un médecin": 0,
        "ancienneté médiane (jours)": 80.0,  # 10/12/2025 -> 28/02/2026
        "en attente depuis plus de 90 jours": 0,
    }
    assert table.row(NON_PRIO)["en liste d'attente"] == 1  # R2, back after the refusal
    assert table.row(NON_PRIO)["ancienneté médiane (jours)"] == 39.0
    assert table.row(ALL_LEVELS)["demandes"] == 2
    assert table.row(ALL_LEVELS)["ancienneté médiane (jours)"] == 59.5


def test_waits_by_level(feb: Indicators) -> None:
    table = feb.waits_by_level
    prio = table.row(PRIO)
    assert prio["placées"] == 1
    assert prio["délai médian (jours)"] == prio["délai P90 (jours)"] == 36.0
    assert prio["cohorte 30 jours"] == 1  # R1
    assert prio["placées en 30 jours (part)"] == 0.0
    assert prio["cohorte 90 jours"] == 0
    assert prio["placées en 90 jours (part)"] is None
    non = table.row(NON_PRIO)
    assert non["placées"] == 0
    assert non["délai médian (jours)"] is None
    assert non["cohorte 90 jours"] == 1
    assert non["placées en 90 jours (part)"] == 1.0
    assert feb.waits == ((PRIO, (36,)), (NON_PRIO, ()))


def test_physicians_table(feb: Indicators) -> None:
    mg1 = feb.physicians.row("MG1")
    assert mg1 == {
        "médecin": "MG1",
        "nom": "Dr MG1",
        "commune (INSEE)": VOIRON,
        "statut à la fin": "actif",
        "capacité déclarée": 2,
        "places retenues": 1,
        "taux d'utilisation": 0.5,
        "propositions": 2,  # R1 and R2 on 02/02
        "acceptations": 1,
        "personnes acceptées": 1,
        "refus": 1,
        "capacité annuelle": None,
    }
    assert feb.physicians.row("total")["acceptations"] == feb.placed


def test_communes_table(feb: Indicators) -> None:
    communes = feb.communes
    voreppe = communes.row(VOREPPE)
    assert voreppe["commune"] == "Voreppe"
    assert voreppe["territoire"] == "oui"
    assert voreppe["nouvelles demandes"] == 1
    population = voreppe["population"]
    assert isinstance(population, int)
    assert population > 0
    assert voreppe["nouvelles demandes pour 1 000 habitants"] == pytest.approx(1000 / population)
    grenoble = communes.row(GRENOBLE)
    assert grenoble["territoire"] == "non"
    assert grenoble["nouvelles demandes"] == 1
    assert communes.row(VOIRON)["demandes en cours à la fin"] == 2
    new = [n for n in communes.column("nouvelles demandes") if isinstance(n, int)]
    assert sum(new) == feb.entries


def test_key_figures_and_summary(feb: Indicators) -> None:
    key = feb.key_figures
    assert key.row("variation nette")["valeur"] == -1
    assert key.row("taux d'utilisation")["valeur"] == 0.5
    assert next(t.name for t in feb.tables) == "key_figures"
    assert feb.table("communes") is feb.communes
    with pytest.raises(IndicatorsError, match="tableau inconnu"):
        feb.table("nope")
    with pytest.raises(IndicatorsError, match="pas de ligne"):
        key.row("nope")
    with pytest.raises(IndicatorsError, match="colonne inconnue"):
        key.column("nope")
    text = feb.summary()
    assert text.splitlines()[0].endswith("février 2026")
    assert "2 nouvelle(s) demande(s) (4 personne(s))" in text
    assert "variation nette de -1" in text
    assert "36 jours en médiane" in text
    assert "0 % en 30 jours ou moins (sur 2) ; 100 % en 90 jours ou moins (sur 1)" in text
    assert "Testnom" not in text


def test_frames(feb: Indicators) -> None:
    frame = feb.to_frame()
    assert list(frame.columns) == ["indicateur", "valeur", "définition"]
    frames = feb.frames()
    assert set(frames) == {t.name for t in feb.tables}
    waits = frames["waits_by_level"]
    assert str(waits["placées"].dtype) == "Int64"
    assert str(waits["délai médian (jours)"].dtype) == "float64"
    assert waits["délai médian (jours)"].isna().tolist() == [False, True, False]
    assert str(frames["physicians"]["nom"].dtype) in ("object", "str", "string")


def test_register_and_plain_data_agree(voironnais: mt_access.Policy, feb: Indicators) -> None:
    register = scenario(voironnais)
    store = register.store
    requests = store.requests(None)
    files = store.get_files(r.id for r in requests)
    plain = compute_indicators(
        requests,
        files,
        "2026-02",
        policy=voironnais,
        physicians=register.physicians(),
        ledger=register.ledger,
    )
    assert plain == feb


def test_a_range_of_days(voironnais: mt_access.Policy) -> None:
    register = scenario(voironnais)
    span = indicators(register, Period(dt.date(2026, 1, 10), dt.date(2026, 2, 10)))
    assert span.placed == 3  # R8 (10/01), R7 (15/01), R1 (10/02)
    assert span.entries == 2  # R2, R3 (R1 came on 05/01)
    assert span.waiting_start == 4  # R8, R7 (proposed), R6
    assert span.waiting_end == span.waiting_start + span.entries - span.exits
    assert span.capacity == 4  # two months of 2 places
    assert span.median_wait_days == 45.0  # 51, 45, 36


def test_errors(voironnais: mt_access.Policy) -> None:
    request = req("R1")
    with pytest.raises(IndicatorsError, match="R1 : dossier"):
        compute_indicators([request], {}, FEB, policy=voironnais)
    file = RequestFile.from_request(request)
    with pytest.raises(IndicatorsError, match="niveau de priorité inconnu"):
        compute_indicators([request], {"R1": file}, FEB, policy=voironnais, levels={})


def test_reception_levels_use_the_day_of_reception(voironnais: mt_access.Policy) -> None:
    # 69 on reception, 70 later: the level on reception stays « non prioritaire »
    birthday = dt.date(1956, 3, 20)
    request = attrs.evolve(
        req("R1", received=dt.date(2026, 3, 1)),
        patient=mt_access.Patient(birth_date=birthday, commune=VOIRON),
    )
    many = [attrs.evolve(request, id=f"R{i:03d}") for i in range(70)]  # vectorised path
    levels = reception_levels([request, *many], voironnais)
    assert set(levels.values()) == {NON_PRIO}
    later = attrs.evolve(request, id="R2", received=dt.date(2026, 3, 25))
    assert reception_levels([later], voironnais) == {"R2": PRIO}


# --------------------------------------------------------------------------------------------
# The waiting list over time


def test_waiting_list_series(voironnais: mt_access.Policy, feb: Indicators) -> None:
    register = scenario(voironnais)
    series = waiting_list_series(register, dt.date(2026, 1, 31), dt.date(2026, 2, 28), step_days=7)
    assert series.days[0] == dt.date(2026, 1, 31)
    assert series.days[-1] == dt.date(2026, 2, 28)
    assert series.days[1] == dt.date(2026, 2, 7)
    assert series.levels == (PRIO, NON_PRIO)
    assert series.totals[0] == feb.waiting_start
    assert series.totals[-1] == feb.waiting_end
    frame = series.to_frame()
    assert list(frame.columns) == ["jour", PRIO, NON_PRIO, "total"]
    assert frame["total"].tolist() == list(series.totals)
    with pytest.raises(IndicatorsError, match="pas de la série"):
        waiting_list_series(register, dt.date(2026, 1, 1), dt.date(2026, 2, 1), step_days=0)
    with pytest.raises(IndicatorsError, match="précède"):
        waiting_list_series(register, dt.date(2026, 2, 1), dt.date(2026, 1, 1))


# --------------------------------------------------------------------------------------------
# Waiting position and estimated wait

ON = dt.date(2026, 7, 6)


def _placed(
    rid: str, received: dt.date, accepted: dt.date, age: int = 40
) -> tuple[Request, RequestFile]:
    request = req(rid, age=age, received=received)
    file = (
        RequestFile.from_request(request)
        .acknowledge(received)
        .confirm(received)
        .to_waiting(received)
        .propose("MG1", accepted)
        .accept("MG1", accepted)
    )
    return request, file


def _waiting(
    rid: str, received: dt.date, age: int = 40, **kw: object
) -> tuple[Request, RequestFile]:
    request = req(rid, age=age, received=received, **kw)  # type: ignore[arg-type]
    file = RequestFile.from_request(request).acknowledge(received).confirm(received)
    return request, file.to_waiting(received)


def _queue(placements_per_month: Sequence[int]) -> dict[str, tuple[Request, RequestFile]]:
    """Three priority requests and three non-priority ones waiting on ON, and the given
    non-priority placements in each of the months before July 2026 (oldest first)."""
    items = {
        "P1": _waiting("P1", dt.date(2026, 5, 1), age=80),
        "P2": _waiting("P2", dt.date(2026, 5, 2), age=80),
        "P3": _waiting("P3", dt.date(2026, 6, 20), age=80),
        "N1": _waiting("N1", dt.date(2026, 4, 1)),
        "N2": _waiting("N2", dt.date(2026, 4, 2)),
        "N3": _waiting("N3", dt.date(2026, 6, 1)),
    }
    month = Month(2026, 7)
    months = []
    for _ in placements_per_month:
        month = month.previous()
        months.append(month)
    for month, count in zip(reversed(months), placements_per_month, strict=True):
        for k in range(count):
            rid = f"H{month}-{k}"
            items[rid] = _placed(rid, month.first_day - dt.timedelta(days=40), month.first_day)
    return items


def _position(
    items: dict[str, tuple[Request, RequestFile]], rid: str, policy: mt_access.Policy, **kw: object
) -> mt_access.indicators.WaitingPosition:
    requests = [r for r, _ in items.values()]
    files = {r.id: f for r, f in items.values()}
    return compute_waiting_position(rid, requests, files, ON, policy=policy, **kw)  # type: ignore[arg-type]


def test_position_in_the_policy_order(voironnais: mt_access.Policy) -> None:
    items = _queue([2, 2, 3, 1, 2, 2])
    position = _position(items, "N2", voironnais)
    assert position.state is RequestState.WAITING
    assert position.level == NON_PRIO
    assert (position.position, position.ahead) == (5, 4)  # P1, P2, P3, N1
    assert (position.ahead_higher, position.ahead_same_level) == (3, 1)
    assert position.waiting_total == 6
    estimate = position.estimate
    assert estimate is not None
    assert estimate.possible
    assert estimate.months == tuple(Month(2026, m) for m in range(1, 7))
    assert estimate.placements == (2, 2, 3, 1, 2, 2)
    assert estimate.needed == 2  # N1 and N2 itself
    assert estimate.median_rate == 2.0
    assert estimate.low_rate == 1.5
    assert estimate.high_rate == 2.5
    assert estimate.median_months == 1.0
    assert estimate.shortest_months == pytest.approx(0.8)
    assert estimate.longest_months == pytest.approx(4 / 3)
    assert "rang 5 sur 6" in position.message
    assert "dont 3 d'un niveau plus prioritaire et 1 du même niveau" in position.message
    assert "2 par mois en médiane, de 1 à 3 selon les mois" in position.message
    assert "d'environ 1 mois" in position.message
    assert "pas un engagement" in position.message
    first = _position(items, "P1", voironnais)
    assert (first.position, first.ahead) == (1, 0)
    assert first.estimate is not None
    assert not first.estimate.possible
    assert "Pas d'estimation possible" in first.message


def test_no_recent_placement_no_estimate(voironnais: mt_access.Policy) -> None:
    position = _position(_queue([0, 0, 0]), "N3", voironnais, months=3)
    assert position.position == 6
    assert position.estimate is not None
    assert position.estimate.median_months is None
    assert position.estimate.placements == (0, 0, 0)
    assert "pas d'estimation possible" in position.message.lower()
    assert "au cours des 3 derniers mois complets" in position.message


def test_irregular_placements_give_no_upper_bound(voironnais: mt_access.Policy) -> None:
    position = _position(_queue([0, 4, 0, 0, 3, 0]), "N1", voironnais)
    estimate = position.estimate
    assert estimate is not None
    assert estimate.median_rate == 0.0
    assert estimate.low_rate == 0.0
    assert estimate.median_months == pytest.approx(1 / (7 / 6))  # mean rate when median is 0
    assert estimate.longest_months is None
    assert "pas lui donner de limite haute" in position.message
    assert "très irrégulier" in position.message


def test_history_shorter_than_asked(voironnais: mt_access.Policy) -> None:
    items = {k: v for k, v in _queue([3, 3]).items() if not k.startswith("P")}
    position = _position(items, "N1", voironnais, months=12)
    assert position.estimate is not None
    # nothing before the first request (received 22/03, 40 days before its acceptance)
    assert position.estimate.months == tuple(Month(2026, m) for m in (3, 4, 5, 6))
    assert position.estimate.placements == (0, 0, 3, 3)


def test_position_of_requests_not_waiting(voironnais: mt_access.Policy) -> None:
    items = _queue([1, 1])
    request = req("X1", received=dt.date(2026, 6, 30))
    items["X1"] = (request, RequestFile.from_request(request).acknowledge(dt.date(2026, 7, 1)))
    before = _position(items, "X1", voironnais)
    assert before.state is RequestState.ACKNOWLEDGED
    assert before.position == 7
    assert before.waiting_total == 6
    assert "pas encore inscrite" in before.message
    assert "rang 7 sur 7" in before.message
    proposed = items["N1"][1].propose("MG2", dt.date(2026, 7, 2))
    items["N1"] = (items["N1"][0], proposed)
    now = _position(items, "N1", voironnais)
    assert now.position is None
    assert now.estimate is None
    assert "proposée à 1 médecin(s)" in now.message
    gone = _position(items, "H2026-06-0", voironnais)
    assert gone.state is RequestState.MT_FOUND
    assert gone.position is None
    assert "sortie du dispositif le 01/06/2026 (médecin traitant trouvé)" in gone.message
    outside, outside_file = _waiting("Z1", dt.date(2026, 6, 1), commune=GRENOBLE)
    items["Z1"] = (outside, outside_file)
    away = _position(items, "Z1", voironnais)
    assert away.position is None
    assert "n'entre pas dans le champ" in away.message
    # in the past: N1 was waiting on 1 July, before its proposal
    back = compute_waiting_position(
        "N1",
        [r for r, _ in items.values()],
        {r.id: f for r, f in items.values()},
        dt.date(2026, 7, 1),
        policy=voironnais,
    )
    assert back.state is RequestState.WAITING
    assert back.position == 4


def test_position_errors(voironnais: mt_access.Policy) -> None:
    items = _queue([1])
    with pytest.raises(IndicatorsError, match="demande inconnue : NOPE"):
        _position(items, "NOPE", voironnais)
    with pytest.raises(IndicatorsError, match="entier ≥ 1"):
        _position(items, "N1", voironnais, months=0)
    late = req("L1", received=dt.date(2026, 8, 1))
    items["L1"] = (late, RequestFile.from_request(late))
    with pytest.raises(IndicatorsError, match="après le 06/07/2026"):
        _position(items, "L1", voironnais)


def test_register_waiting_position(voironnais: mt_access.Policy) -> None:
    register = scenario(voironnais)
    on = dt.date(2026, 3, 10)
    _wait(register, req("R9", age=40, received=dt.date(2026, 3, 3)))
    position = waiting_position(register, "R9", on)
    assert position.position == 2
    assert position.ahead_same_level == 1
    assert position.estimate is not None
    # placements of R8 (January, non-priority on acceptance), R7 and R1 (priority)
    # November 2025 (the first request) to February 2026; R8 (January) is the only
    # non-priority placement (R7 and R1 were priority requests)
    assert position.estimate.months == (
        Month(2025, 11),
        Month(2025, 12),
        Month(2026, 1),
        Month(2026, 2),
    )
    assert position.estimate.placements == (0, 0, 1, 0)
    requests = register.store.requests(None)
    files = register.store.get_files(r.id for r in requests)
    plain = compute_waiting_position("R9", requests, files, on, policy=voironnais)
    assert position == plain
    with pytest.raises(RegisterOperationError):
        waiting_position(register, "NOPE", on)
    # in the past: on 25 January, R1 (placed since) was waiting before R2
    past = waiting_position(register, "R2", dt.date(2026, 1, 25))
    assert (past.position, past.ahead_higher, past.waiting_total) == (2, 1, 2)
    assert past == compute_waiting_position(
        "R2", requests, files, dt.date(2026, 1, 25), policy=voironnais
    )


# --------------------------------------------------------------------------------------------
# Properties on random registers

_START = dt.date(2025, 10, 1)
_GPS = ("MG1", "MG2", "MG3")
_COMMUNES = (VOIRON, VOREPPE, MOIRANS, GRENOBLE)
_EVENTS = (
    Event.ACKNOWLEDGE,
    Event.CONFIRM,
    Event.TO_WAITING,
    Event.PROPOSE,
    Event.ACCEPT,
    Event.REFUSE,
    Event.ORIENT,
    Event.WITHDRAW,
    Event.OTHER_SOLUTION,
    Event.OUT_OF_SCOPE,
    Event.NOT_SEARCHING,
)
_FORWARD = frozenset(
    {Event.ACKNOWLEDGE, Event.CONFIRM, Event.TO_WAITING, Event.PROPOSE, Event.ACCEPT}
)


def _apply(file: RequestFile, event: Event, on: dt.date, gp: str) -> RequestFile:
    if event not in file.allowed_events:
        return file
    if event is Event.PROPOSE:
        if gp in file.declined_by or gp in file.proposed_to:
            return file
        return file.propose(gp, on)
    if event in (Event.ACCEPT, Event.REFUSE):
        if not file.proposed_to:
            return file
        pending = sorted(file.proposed_to)[0]
        return file.accept(pending, on) if event is Event.ACCEPT else file.refuse(pending, on)
    method = {
        Event.ACKNOWLEDGE: file.acknowledge,
        Event.CONFIRM: file.confirm,
        Event.TO_WAITING: file.to_waiting,
        Event.ORIENT: file.orient,
        Event.WITHDRAW: file.withdraw,
        Event.OTHER_SOLUTION: file.other_solution,
        Event.OUT_OF_SCOPE: file.out_of_scope,
        Event.NOT_SEARCHING: file.not_searching,
    }[event]
    return method(on)


@st.composite
def registers(draw: st.DrawFn) -> tuple[list[Request], dict[str, RequestFile], CapacityLedger]:
    n = draw(st.integers(0, 12))
    requests: list[Request] = []
    files: dict[str, RequestFile] = {}
    declared = [
        CapacityDeclared(gp, Month.of(_START), draw(st.integers(0, 3)), _START) for gp in _GPS
    ]
    entries: list[PlacementRecorded] = []
    for i in range(n):
        received = _START + dt.timedelta(days=draw(st.integers(0, 200)))
        request = req(
            f"R{i:02d}",
            draw(st.sampled_from(_COMMUNES)),
            age=draw(st.sampled_from([5, 40, 75])),
            received=received,
            persons=draw(st.integers(1, 3)),
            reason=draw(st.sampled_from(list(SearchReason))),
            referrer=Referrer(kind=draw(st.sampled_from(list(ReferrerKind)))),
            ald=draw(st.booleans()),
        )
        file = RequestFile.from_request(request)
        day = received
        for _ in range(draw(st.integers(0, 9))):
            if file.is_exited:
                break
            day += dt.timedelta(days=draw(st.integers(0, 25)))
            allowed = [e for e in _EVENTS if e in file.allowed_events]
            forward = [e for e in allowed if e in _FORWARD]
            others = [e for e in allowed if e not in _FORWARD]
            if forward and (not others or draw(st.integers(0, 4)) > 0):
                event = draw(st.sampled_from(forward))
            else:
                event = draw(st.sampled_from(others))
            gp = draw(st.sampled_from(_GPS))
            before = file
            file = _apply(file, event, day, gp)
            if event is Event.PROPOSE and file is not before:
                entries.append(PlacementRecorded(gp, Month.of(day), request.id, 1, day))
        requests.append(request)
        files[request.id] = file
    return requests, files, CapacityLedger.from_trusted_entries([*declared, *entries])


_physicians = [doc(gp, capacity=2) for gp in _GPS]


@st.composite
def periods(draw: st.DrawFn) -> Period:
    start = _START + dt.timedelta(days=draw(st.integers(-30, 260)))
    if draw(st.booleans()):
        return Period.month(Month.of(start))
    return Period(start, start + dt.timedelta(days=draw(st.integers(0, 150))))


@given(data=registers(), period=periods())
def test_counts_add_up(
    voironnais: mt_access.Policy,
    data: tuple[list[Request], dict[str, RequestFile], CapacityLedger],
    period: Period,
) -> None:
    requests, files, ledger = data
    result = compute_indicators(
        requests, files, period, policy=voironnais, physicians=_physicians, ledger=ledger
    )
    assert result.waiting_end - result.waiting_start == result.entries - result.exits
    assert result.net_change == result.entries - result.exits
    for table in (result.entries_by_reason, result.entries_by_level, result.entries_by_referrer):
        counts = table.column("demandes")
        assert sum(counts[:-1]) == counts[-1] == result.entries  # type: ignore[arg-type]
    assert result.entries_by_level.row("total")["personnes"] == result.entries_persons
    exits = result.exits_by_reason.column("demandes")
    assert sum(exits[:-1]) == exits[-1] == result.exits  # type: ignore[arg-type]
    assert result.exits_by_reason.row(ExitReason.MT_FOUND.label)["demandes"] == result.placed
    waiting = result.waiting_by_level.row(ALL_LEVELS)
    assert waiting["demandes"] == result.waiting_end
    parts = ("à qualifier", "en liste d'attente", "proposées à un médecin")
    assert sum(waiting[p] for p in parts) == result.waiting_end  # type: ignore[misc]
    assert result.waits_by_level.row(ALL_LEVELS)["placées"] == result.placed
    assert sum(len(w) for _, w in result.waits) == result.placed
    assert result.physicians.row("total")["acceptations"] == result.placed
    assert sum(result.communes.column("nouvelles demandes")) == result.entries  # type: ignore[arg-type]
    for table in result.tables:
        for j, label in enumerate(table.columns):
            if "part" in label or "taux" in label:
                for row in table.rows:
                    share = row[j]
                    if share is not None and table.name != "physicians":
                        assert 0.0 <= share <= 1.0  # type: ignore[operator]
    for row in result.waits_by_level.rows:
        median, p90 = row[2], row[3]
        assert (median is None) == (p90 is None)
        if median is not None:
            assert 0 <= median <= p90  # type: ignore[operator]
    series = compute_waiting_list_series(
        requests, files, period.start - dt.timedelta(days=1), period.end, policy=voironnais
    )
    assert series.totals[0] == result.waiting_start
    assert series.totals[-1] == result.waiting_end


@settings(max_examples=25)
@given(data=registers(), period=periods())
def test_reading_a_register_gives_the_same_indicators(
    voironnais: mt_access.Policy,
    data: tuple[list[Request], dict[str, RequestFile], CapacityLedger],
    period: Period,
) -> None:
    requests, files, ledger = data
    store = MemoryStore()
    with store.transaction():
        for request in requests:
            store.add_request(request, PatientIdentity(), files[request.id])
        for physician in _physicians:
            store.put_physician(physician)
        store.append_ledger(ledger.entries)
    register = Register(store, voironnais)
    plain = compute_indicators(
        requests, files, period, policy=voironnais, physicians=_physicians, ledger=ledger
    )
    assert indicators(register, period) == plain
    start, end = period.start - dt.timedelta(days=40), period.end
    assert waiting_list_series(register, start, end) == compute_waiting_list_series(
        requests, files, start, end, policy=voironnais
    )
