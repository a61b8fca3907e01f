"""Every policy shipped with mt-access runs its CPTS's month, and follows its own rule."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pytest

import mt_access
from mt_access.cli import EXIT_OK, main
from mt_access.examples import example_month
from mt_access.geo.communes import bundled_reference

SHIPPED = sorted(mt_access.available_policies())


def test_the_seed_cptss_are_shipped() -> None:
    assert {"deule_marque", "voironnais", "sud_loire_vignoble", "lievin"} <= set(SHIPPED)


@pytest.mark.parametrize("name", SHIPPED)
def test_each_shipped_policy_runs_a_demo_month(tmp_path: Path, name: str) -> None:
    """``mt-access demo --politique NAME`` works for every shipped policy."""
    out, err = io.StringIO(), io.StringIO()
    code = main(["demo", "--politique", name, "--dossier", str(tmp_path)], out=out, err=err)
    assert code == EXIT_OK, err.getvalue()
    text = out.getvalue()
    assert "appariement n° 3 du 15/03/2026" in text
    assert (tmp_path / "registre.sqlite").exists()
    assert "Traceback" not in err.getvalue()


@pytest.mark.parametrize("name", SHIPPED)
def test_each_shipped_policy_says_what_the_cpts_must_confirm(name: str) -> None:
    """A policy written from the seeds says, in the file, what it guessed."""
    text = mt_access.available_policies()[name].read_text(encoding="utf-8")
    assert "Source" in text
    if name != "voironnais":  # Voironnais's procedure gives its communes and criteria
        assert "À CONFIRMER PAR LA CPTS" in text


def test_sud_loire_vignoble_hands_the_three_nearest_gps_in_order() -> None:
    """Sud Loire Vignoble: every request gets the 3 nearest GPs who accept it and have a place
    this month, nearest first; no place is taken until one accepts."""
    policy = mt_access.load_policy("sud_loire_vignoble")
    reference = bundled_reference()
    data = example_month(policy, reference, requests=40, physicians=12, seed=7)
    on = dt.date(2026, 3, 15)
    ledger = mt_access.CapacityLedger()
    result = mt_access.match(data.requests, data.physicians, policy, ledger, on)
    assert result.placements == ()
    assert result.orientations
    by_id = {p.id: p for p in data.physicians}
    requests = {r.id: r for r in data.requests}
    for orientation in result.orientations:
        listed = orientation.physicians
        assert 1 <= len(listed) <= 3
        kms = [o.distance_km for o in listed]
        assert kms == sorted(kms)
        request = requests[orientation.request_id]
        for o in listed:
            doctor = by_id[o.physician_id]
            assert doctor.is_available_on(on)
            assert doctor.serves(request.home_visits)
    # a request with three or more eligible GPs in its commune's reach gets three
    assert max(len(o.physicians) for o in result.orientations) == 3
