"""Benchmark of the commune outlines: loading, point → commune, point-in-territory.

Run with ``python benchmarks/bench_geo_shapes.py`` (mt_access importable, e.g. installed with
``pip install -e .``). Target: 100,000 random points → commune in at most 2 s
(:meth:`CommuneShapes.locate_many` on the bundled outlines of Isère and Nord). Prints the
figures; the exit status is 1 when the target is missed.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from mt_access.geo import shapes as shapes_module
from mt_access.geo.shapes import CommuneShapes, bundled_shapes

SEED = 2026
TARGET_S = 2.0
VOIRONNAIS = (  # noqa: SIM905
    "38563 38432 38362 38383 38133 38407 38565 38061 38239 38400 38084 38373 38331 38337 "
    "38368 38270 38566 38332 38517"
).split()

Floats = npt.NDArray[np.float64]


def timed(function: Callable[[], object]) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def best_of(repeat: int, function: Callable[[], object]) -> float:
    return min(timed(function) for _ in range(repeat))


def report(label: str, figures: str) -> None:
    print(f"{label:<48}{figures}")


def random_points(
    shapes: CommuneShapes, count: int, rng: np.random.Generator
) -> tuple[Floats, Floats]:
    """Uniform points in the bounding box of ``shapes``."""
    min_lon, min_lat, max_lon, max_lat = shapes.bounds
    return rng.uniform(min_lat, max_lat, count), rng.uniform(min_lon, max_lon, count)


def bench_loading(repeat: int) -> None:
    load = shapes_module._bundled_department.__wrapped__  # uncached: parse the file each time
    for department in ("38", "59"):
        seconds = best_of(repeat, lambda department=department: load(department))
        report(f"load bundled outlines {department}:", f"{seconds * 1000:8.1f} ms")


def bench_locate(count: int, repeat: int) -> float:
    """Time ``locate_many`` on ``count`` points; return the time for Isère + Nord."""
    rng = np.random.default_rng(SEED)
    isere, nord, both = bundled_shapes("38"), bundled_shapes("59"), bundled_shapes()
    lats, lons = random_points(isere, count, rng)
    # Isère + Nord: half the points in each département's box (the boxes are far apart).
    lats_a, lons_a = random_points(isere, count // 2, rng)
    lats_b, lons_b = random_points(nord, count - count // 2, rng)
    cases = [
        ("Isère", isere, lats, lons),
        ("Isère + Nord", both, np.concatenate([lats_a, lats_b]), np.concatenate([lons_a, lons_b])),
    ]
    seconds = 0.0
    for label, shapes, case_lats, case_lons in cases:
        first = timed(lambda s=shapes, a=case_lats, o=case_lons: s.locate_many(a, o))
        seconds = best_of(repeat, lambda s=shapes, a=case_lats, o=case_lons: s.locate_many(a, o))
        found = int((shapes.locate_many(case_lats, case_lons) != "").sum())
        verdict = "met" if seconds <= TARGET_S else "MISSED"
        report(
            f"locate_many, {count:,} points, {label}:",
            f"{seconds:8.3f} s  ({count / seconds:,.0f} points/s; {found:,} in a commune; "
            f"first call with the STRtree build {first:.3f} s)  target ≤ {TARGET_S:.0f} s: "
            f"{verdict}",
        )
    single = 2_000
    per_call = best_of(
        repeat,
        lambda: [
            isere.locate(float(lat), float(lon))
            for lat, lon in zip(lats[:single], lons[:single], strict=True)
        ],
    )
    report("locate, one point per call:", f"{single / per_call:8,.0f} calls/s")
    return seconds


def bench_territory(count: int, repeat: int) -> None:
    shapes = bundled_shapes("38")
    rng = np.random.default_rng(SEED + 1)
    build = best_of(repeat, lambda: shapes.territory(VOIRONNAIS))
    report("territory of the 19 Voironnais communes:", f"{build * 1000:8.1f} ms")
    adjacent = best_of(repeat, lambda: shapes.territory(VOIRONNAIS).adjacent_communes())
    report("territory + adjacent_communes():", f"{adjacent * 1000:8.1f} ms")
    territory = shapes.territory(VOIRONNAIS)
    min_lon, min_lat, max_lon, max_lat = territory.bounds
    lats = rng.uniform(min_lat - 0.1, max_lat + 0.1, count)
    lons = rng.uniform(min_lon - 0.1, max_lon + 0.1, count)
    seconds = best_of(repeat, lambda: territory.contains_many(lats, lons))
    report(
        f"contains_many, {count:,} points:", f"{seconds:8.3f} s  ({count / seconds:,.0f} points/s)"
    )
    small = max(count // 10, 1)
    seconds = best_of(repeat, lambda: territory.distance_km_many(lats[:small], lons[:small]))
    report(
        f"distance_km_many, {small:,} points:",
        f"{seconds:8.3f} s  ({small / seconds:,.0f} points/s)",
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--points", type=int, default=100_000, help="points per run (100,000)")
    parser.add_argument("--repeat", type=int, default=5, help="runs, best kept (5)")
    args = parser.parse_args(argv)
    bench_loading(args.repeat)
    seconds = bench_locate(args.points, args.repeat)
    bench_territory(args.points, args.repeat)
    return 0 if seconds <= TARGET_S else 1


if __name__ == "__main__":
    raise SystemExit(main())
