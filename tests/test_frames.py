"""pandas frames of match results, register views and indicators."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

import mt_access
from factories import VOIRON, doc, req
from mt_access import CapacityLedger, Modality, Month
from mt_access.frames import (
    RESULT_COLUMNS,
    RESULT_PARTS,
    FramesError,
    gp_months_frame,
    ledger_frame,
    records_frame,
    result_frame,
    rows_frame,
    runs_frame,
    summaries_frame,
    transitions_frame,
)
from mt_access.indicators import Period, indicators, waiting_list_series
from mt_access.privacy import EXPORT_COLUMNS
from test_indicators import scenario

OUTSIDE = "38185"  # Grenoble, outside the Voironnais territory
ON = dt.date(2026, 3, 16)


@pytest.fixture(scope="module")
def result(voironnais: mt_access.Policy) -> mt_access.MatchResult:
    requests = [
        req("A1", age=75, received=dt.date(2026, 1, 5)),  # priority: placed
        req("A2", age=40, received=dt.date(2026, 1, 6)),  # no place left: waiting
        req("A3", OUTSIDE, received=dt.date(2026, 1, 7)),  # outside the territory
    ]
    physicians = [doc("MG1", capacity=1)]
    return mt_access.match(requests, physicians, voironnais, CapacityLedger(), ON)


def test_result_frame_has_one_row_per_outcome(result: mt_access.MatchResult) -> None:
    frame = result_frame(result)
    assert list(frame.columns) == list(RESULT_COLUMNS)
    assert frame["request_id"].tolist() == ["A1", "A2", "A3"]
    assert frame["outcome"].tolist() == ["placed", "waiting", "rejected"]
    assert frame["outcome"].tolist() == [result.outcome_of(r) for r in ("A1", "A2", "A3")]
    placed = frame.iloc[0]
    assert placed["physician_id"] == "MG1"
    assert placed["level"] == "prioritaire"
    assert placed["distance_km"] == 0.0
    waiting = frame.iloc[1]
    assert waiting["reason"] == mt_access.ReasonCode.CAPACITY_EXHAUSTED.value
    assert waiting["reason_label"] == mt_access.ReasonCode.CAPACITY_EXHAUSTED.label
    assert frame.iloc[2]["reason"] == "out_of_territory"
    assert pd.isna(frame.iloc[2]["level"])


def test_result_parts(result: mt_access.MatchResult) -> None:
    placements = result_frame(result, "placements")
    assert list(placements.columns)[:5] == [
        "request_id",
        "physician_id",
        "persons",
        "level",
        "rank",
    ]
    assert placements["criteria"].tolist() == ["âge ≥ 70 ans"]
    assert str(placements["distance_km"].dtype) == "float64"
    waiting = result_frame(result, "waiting")
    assert waiting.columns.tolist() == [
        "request_id",
        "level",
        "rank",
        "reason",
        "reason_label",
        "persons",
        "detail",
        "eligible",
        "eligible_count",
    ]
    assert waiting["eligible"].tolist() == ["MG1"]  # from result.eligibility, ids joined
    assert waiting["eligible_count"].tolist() == [1]
    assert placements.columns.tolist()[-2:] == ["eligible", "eligible_count"]
    assert placements["eligible"].tolist() == ["MG1"]
    assert placements["eligible_count"].tolist() == [1]
    assert waiting["reason_label"].tolist() == [mt_access.ReasonCode.CAPACITY_EXHAUSTED.label]
    assert len(result_frame(result, "orientations")) == 0
    assert "physicians" in result_frame(result, "orientations").columns
    rejected = result_frame(result, "rejected")
    assert rejected["reason"].tolist() == ["out_of_territory"]
    assert set(RESULT_PARTS) == {"placements", "orientations", "waiting", "rejected"}
    with pytest.raises(FramesError, match="partie inconnue"):
        result_frame(result, "nope")


def test_eligible_columns_follow_explain(voironnais: mt_access.Policy) -> None:
    """The ``eligible`` and ``eligible_count`` columns of the placements and waiting frames
    come from the result's eligibility table: ids and count with ``explain="full"``, the
    count only with ``"counts"``, empty cells with ``"none"``."""
    requests = [req("A1", age=75), req("A2", age=40), req("A3", age=41)]
    physicians = [doc("MG1", capacity=1), doc("MG2", capacity=0)]
    cells: dict[str, object] = {}
    for explain in ("full", "counts", "none"):
        r = mt_access.match(requests, physicians, voironnais, CapacityLedger(), ON, explain=explain)
        frame = result_frame(r, "waiting")
        cells[explain] = (frame["eligible"].tolist(), frame["eligible_count"].tolist())
        assert result_frame(r, "placements")["request_id"].tolist() == ["A1"]
    assert cells["full"] == (["MG1, MG2", "MG1, MG2"], [2, 2])
    assert cells["counts"] == ([None, None], [2, 2])
    assert cells["none"] == ([None, None], [None, None])


def test_register_views(voironnais: mt_access.Policy) -> None:
    register = scenario(voironnais)
    summaries = summaries_frame(register.list_requests())
    assert summaries["id"].tolist() == ["R1", "R2", "R3", "R4", "R5", "R6", "R7", "R8"]
    assert summaries.columns.tolist() == [
        "id",
        "state",
        "state_label",
        "received",
        "last_event",
        "commune",
        "persons",
        "urgent",
        "proposed_to",
        "searching",
    ]
    assert str(summaries["received"].dtype).startswith("datetime64")
    assert summaries.loc[summaries["id"] == "R2", "state_label"].item() == "en liste d'attente"
    assert summaries["persons"].sum() == 10
    empty = summaries_frame([])
    assert empty.columns.tolist() == summaries.columns.tolist()
    assert len(empty) == 0

    history = transitions_frame(register.history("R2"))
    assert history["event"].tolist() == [
        "receive",
        "acknowledge",
        "confirm",
        "to_waiting",
        "propose",
        "refuse",
    ]
    assert history["event_label"].iloc[-1] == "refus du médecin"
    assert history["actor_label"].iloc[-1] == "médecin"
    assert history["physician_id"].iloc[-2] == "MG1"
    assert history["from_state_label"].isna().tolist()[0]

    runs = runs_frame(register.runs())
    assert runs["number"].tolist() == [1, 2]
    assert runs["placements"].tolist() == [2, 2]

    follow = gp_months_frame(register.gp_follow_up([Month(2026, 1), Month(2026, 2)]))
    assert follow["month"].tolist() == ["2026-01", "2026-02"]
    assert follow["accepted"].tolist() == [2, 1]
    assert follow["refused"].tolist() == [0, 1]

    ledger = ledger_frame(register.ledger)
    assert ledger["kind"].tolist()[0] == "capacity_declared"
    assert "placement_released" in ledger["kind"].tolist()
    released = ledger[ledger["kind"] == "placement_released"]
    assert released["request_id"].tolist() == ["R2"]
    assert ledger_frame(register.ledger.entries).equals(ledger)

    rows = rows_frame(register.pseudonymised_rows())
    assert rows.columns.tolist() == list(EXPORT_COLUMNS)
    assert len(rows) == 8
    assert "Testnom" not in rows.to_string()
    assert rows_frame([], columns=EXPORT_COLUMNS).columns.tolist() == list(EXPORT_COLUMNS)


def test_records_frame_checks_its_input(voironnais: mt_access.Policy) -> None:
    register = scenario(voironnais)
    with pytest.raises(FramesError, match="plusieurs classes"):
        records_frame([*register.runs(), *register.list_requests()])
    with pytest.raises(FramesError, match="classe attrs"):
        records_frame([1, 2])
    assert records_frame([]).empty
    physicians = records_frame(register.physicians())
    assert physicians["modalities"].tolist() == ["office"]
    assert physicians["status_history"].tolist() == ["2025-11-01"]


def test_indicator_frames(voironnais: mt_access.Policy) -> None:
    register = scenario(voironnais)
    feb = indicators(register, Period.month("2026-02"))
    key = feb.to_frame()
    assert key.set_index("indicateur").loc["nouvelles demandes", "valeur"] == 2
    frames = feb.frames()
    entries = frames["entries_by_level"]
    assert entries.columns.tolist() == ["niveau", "demandes", "personnes", "part"]
    assert str(entries["demandes"].dtype) == "Int64"
    assert entries["part"].tolist() == [0.0, 1.0, 1.0]
    communes = frames["communes"]
    assert str(communes["population"].dtype) == "Int64"
    series = waiting_list_series(register, dt.date(2026, 2, 1), dt.date(2026, 2, 28)).to_frame()
    assert len(series) == 28
    assert str(series["jour"].dtype).startswith("datetime64")
    assert series["total"].iloc[-1] == feb.waiting_end


def test_a_match_run_of_the_register(voironnais: mt_access.Policy) -> None:
    register = mt_access.Register(mt_access.MemoryStore(), voironnais)
    register.add_physician(doc("MG1", capacity=None))
    register.join("MG1", dt.date(2026, 3, 1), monthly_capacity=1, modalities=[Modality.OFFICE])
    for rid in ("B1", "B2"):
        request = req(rid, received=dt.date(2026, 3, 2))
        register.add_request(request)
        register.acknowledge(rid, dt.date(2026, 3, 2))
        register.confirm(rid, dt.date(2026, 3, 2))
        register.to_waiting(rid, dt.date(2026, 3, 2))
    run = register.run_match(dt.date(2026, 3, 3))
    frame = result_frame(run.result)
    assert frame["outcome"].tolist() == ["placed", "waiting"]
    assert frame["physician_id"].tolist()[0] == "MG1"
    assert VOIRON in summaries_frame(register.waiting())["commune"].tolist()


def test_match_result_to_frame_delegates(result: mt_access.MatchResult) -> None:
    from mt_access.frames import result_frame

    assert result.to_frame().equals(result_frame(result))
    assert result.to_frame("waiting").equals(result_frame(result, "waiting"))
