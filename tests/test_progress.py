"""The text progress bar used for batches (geocoding...)."""

from __future__ import annotations

import io

from mt_access.geo import CommuneGeocoder
from mt_access.progress import ProgressBar


def test_line_in_french() -> None:
    bar = ProgressBar("Géocodage", width=10)
    assert bar.line(5, 10) == "Géocodage : [#####.....] 50 % (5/10)"
    assert bar.line(0, 0) == "Géocodage : [##########] 100 % (0/0)"


def test_non_interactive_stream_gets_a_line_per_tenth() -> None:
    out = io.StringIO()
    bar = ProgressBar("Géocodage", stream=out, width=10)
    for done in range(1, 101):
        bar(done, 100)
    lines = out.getvalue().splitlines()
    assert len(lines) == 11  # the start, then every tenth
    assert lines[-1].endswith("100 % (100/100)")


def test_used_by_a_geocoding_batch() -> None:
    out = io.StringIO()
    results = CommuneGeocoder().geocode_many(
        [(None, "38563"), (None, "38565")], progress=ProgressBar("Géocodage", stream=out)
    )
    assert len(results) == 2
    assert "(2/2)" in out.getvalue()
