"""Benchmark of :func:`mt_access.geo.nearest.k_nearest`: the 3 nearest eligible GPs of every
request of a department month.

Run with ``.venv/bin/python benchmarks/bench_geo_nearest.py`` (``--repeat N`` timed runs,
default 5; ``--extra`` and ``--france`` add the larger cases 4 and 5 below; everything takes
about 30 s). Target: the 3 nearest eligible GPs of 250,000 requests among 2,500 GPs in at
most 2 s. Prints figures; never fails on a time.

Instance (seed 59, generated: no real person):

* 250,000 requests in the communes of the Nord (59) of the bundled reference, drawn in
  proportion to population, each at its commune's point; a need for home visits drawn as in
  ``instances.territory_month`` (none 95 %, occasional 3 %, exclusive 2 %).
* 2,500 GPs practising in communes drawn in proportion to population, at the commune's point
  (so several GPs share a point, and distances tie: ties go to the lower GP index).
* Eligibility, per cell (commune × need, the engine's grouping of requests): an independent
  random mask keeping each GP with probability 0.8 (``--density``), one boolean row per cell
  (``eligible=``, ``origin_group=`` = the cell of each request).

Measured, each the median (and best) of ``--repeat`` runs after one warm-up run:

1. 3 nearest eligible GPs (the target);
2. 3 nearest GPs without eligibility;
3. the engine-like eligibility: a GP is eligible for a cell when its commune is within 10 km
   of the cell's commune and it serves the cell's need (sparse: about 5 % of the GPs);
4. with ``--extra``: every request at its own point (the commune's point moved by up to about
   1 km), so 250,000 distinct origins, without eligibility and with the 80 % masks;
5. with ``--france``: a France-sized month, 6,000,000 requests in every commune of the
   reference (arrondissements for Paris, Lyon, Marseille) and 50,000 GPs, drawn as above;
   without eligibility, and with an eligibility function (``eligible=`` a callable, since a
   dense matrix of 78,000 cells x 50,000 GPs would take 4 GB) keeping a pseudo-random 80 %
   of the GPs of each cell. One timed run each.

A sample of requests of each case is checked against a brute-force answer
(:func:`mt_access.geo.geodesic_km_many` on every GP, stable sort by distance).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from mt_access.geo import bundled_reference, geodesic_km_many
from mt_access.geo.nearest import KNearest, k_nearest

N_REQUESTS = 250_000
N_GPS = 2_500
K = 3
TARGET_S = 2.0
SEED = 59
NEED_SHARES = (0.95, 0.03, 0.02)  # none, occasional, exclusive home visits
# Which GPs serve which need: office only (60 %), office + home (35 %), home only (5 %).
MODALITY_SHARES = (0.60, 0.35, 0.05)
SERVES = np.array([[True, False, False], [True, True, True], [False, False, True]])  # [kind, need]
ACCEPT_RADIUS_KM = 10.0

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


def timed_runs(repeat: int, function: Callable[[], KNearest]) -> tuple[list[float], KNearest]:
    result = function()  # warm-up
    seconds = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        seconds.append(time.perf_counter() - start)
    return seconds, result


def check(
    result: KNearest,
    o_lat: FloatArray,
    o_lon: FloatArray,
    g_lat: FloatArray,
    g_lon: FloatArray,
    mask_of: Callable[[int], BoolArray] | None,
    rng: np.random.Generator,
    sample: int = 300,
) -> str:
    """Compare ``sample`` random requests with a brute-force answer."""
    for i in rng.choice(o_lat.size, size=min(sample, o_lat.size), replace=False).tolist():
        km = np.asarray(geodesic_km_many(o_lat[i], o_lon[i], g_lat, g_lon), dtype=np.float64)
        candidates = np.arange(g_lat.size) if mask_of is None else np.flatnonzero(mask_of(i))
        order = candidates[np.argsort(km[candidates], kind="stable")][:K]
        expected = np.full(K, -1, dtype=np.int64)
        expected[: order.size] = order
        if result.indices[i].tolist() != expected.tolist():
            return f"MISMATCH at request {i}"
        if result.distances_km[i, : order.size].tolist() != km[order].tolist():
            return f"MISMATCH (distances) at request {i}"
    return f"{min(sample, o_lat.size)} requests checked against brute force"


def report(label: str, seconds: list[float], note: str, target: float | None = None) -> None:
    median = statistics.median(seconds)
    verdict = ""
    if target is not None:
        verdict = f"  target <= {target:.1f} s: {'met' if median <= target else 'MISSED'}"
    print(f"{label:<44} median {median:6.3f} s  best {min(seconds):6.3f} s{verdict}")
    print(f"{'':<44} {note}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per case (default 5)")
    parser.add_argument(
        "--density", type=float, default=0.8, help="share of eligible GPs per cell (0.8)"
    )
    parser.add_argument("--extra", action="store_true", help="also 250,000 distinct origins")
    parser.add_argument("--france", action="store_true", help="also a France-sized month")
    args = parser.parse_args()

    rng = np.random.default_rng(SEED)
    communes = [c for c in bundled_reference() if c.department == "59" and c.point is not None]
    lat = np.array([c.point.lat for c in communes if c.point is not None])
    lon = np.array([c.point.lon for c in communes if c.point is not None])
    population = np.array([max(c.population or 0, 1) for c in communes], dtype=np.float64)
    weights = population / population.sum()

    gp_commune = rng.choice(lat.size, size=N_GPS, p=weights)
    gp_kind = rng.choice(3, size=N_GPS, p=MODALITY_SHARES)
    g_lat, g_lon = lat[gp_commune], lon[gp_commune]
    request_commune = rng.choice(lat.size, size=N_REQUESTS, p=weights)
    request_need = rng.choice(3, size=N_REQUESTS, p=NEED_SHARES)
    o_lat, o_lon = lat[request_commune], lon[request_commune]
    cell_keys, cell_of_request = np.unique(request_commune * 3 + request_need, return_inverse=True)
    cell_commune, cell_need = np.divmod(cell_keys, 3)
    n_cells = cell_keys.size
    random_mask = rng.random((n_cells, N_GPS)) < args.density

    print(
        f"Nord (59): {lat.size} communes; {N_REQUESTS:,} requests in "
        f"{np.unique(request_commune).size} communes, {n_cells:,} cells (commune x need); "
        f"{N_GPS:,} GPs at {np.unique(gp_commune).size} distinct points; k = {K}; "
        f"{args.repeat} timed runs after a warm-up"
    )
    print()

    seconds, result = timed_runs(
        args.repeat,
        lambda: k_nearest(
            o_lat, o_lon, g_lat, g_lon, K, eligible=random_mask, origin_group=cell_of_request
        ),
    )
    checked = check(
        result, o_lat, o_lon, g_lat, g_lon, lambda i: random_mask[cell_of_request[i]], rng
    )
    report(
        f"1. 3 nearest eligible ({args.density:.0%} mask per cell):",
        seconds,
        f"mean of the 3rd distance {np.mean(result.distances_km[:, 2]):.2f} km; {checked}",
        TARGET_S,
    )

    seconds, result = timed_runs(args.repeat, lambda: k_nearest(o_lat, o_lon, g_lat, g_lon, K))
    checked = check(result, o_lat, o_lon, g_lat, g_lon, None, rng)
    report(
        "2. 3 nearest, no eligibility:",
        seconds,
        f"mean of the 3rd distance {np.mean(result.distances_km[:, 2]):.2f} km; {checked}",
        TARGET_S,
    )

    # 3. Engine-like eligibility: GP commune within 10 km of the cell's commune, need served.
    commune_km = np.asarray(
        geodesic_km_many(lat[:, None], lon[:, None], lat[None, :], lon[None, :]), dtype=np.float64
    )
    engine_mask = (commune_km[cell_commune][:, gp_commune] <= ACCEPT_RADIUS_KM) & SERVES[gp_kind].T[
        cell_need
    ]
    seconds, result = timed_runs(
        args.repeat,
        lambda: k_nearest(
            o_lat, o_lon, g_lat, g_lon, K, eligible=engine_mask, origin_group=cell_of_request
        ),
    )
    checked = check(
        result, o_lat, o_lon, g_lat, g_lon, lambda i: engine_mask[cell_of_request[i]], rng
    )
    padded = np.count_nonzero(result.indices[:, K - 1] < 0)
    report(
        "3. engine-like eligibility (10 km, need):",
        seconds,
        f"{engine_mask.mean():.1%} of the GPs eligible per cell on average; "
        f"{padded:,} requests with fewer than {K}; {checked}",
    )

    if args.extra:
        # 4. Every request at its own point: 250,000 distinct origins.
        j_lat = o_lat + rng.uniform(-0.01, 0.01, N_REQUESTS)
        j_lon = o_lon + rng.uniform(-0.015, 0.015, N_REQUESTS)
        seconds, result = timed_runs(args.repeat, lambda: k_nearest(j_lat, j_lon, g_lat, g_lon, K))
        checked = check(result, j_lat, j_lon, g_lat, g_lon, None, rng)
        report("4a. distinct origins, no eligibility:", seconds, checked)
        seconds, result = timed_runs(
            args.repeat,
            lambda: k_nearest(
                j_lat, j_lon, g_lat, g_lon, K, eligible=random_mask, origin_group=cell_of_request
            ),
        )
        checked = check(
            result, j_lat, j_lon, g_lat, g_lon, lambda i: random_mask[cell_of_request[i]], rng
        )
        report(f"4b. distinct origins, {args.density:.0%} masks:", seconds, checked)

    if args.france:
        bench_france(rng)


def bench_france(rng: np.random.Generator) -> None:
    cities = {"75056", "69123", "13055"}  # represented by their arrondissements
    communes = [c for c in bundled_reference() if c.point is not None and c.insee not in cities]
    lat = np.array([c.point.lat for c in communes if c.point is not None])
    lon = np.array([c.point.lon for c in communes if c.point is not None])
    population = np.array([max(c.population or 0, 1) for c in communes], dtype=np.float64)
    weights = population / population.sum()
    n_requests, n_gps = 6_000_000, 50_000
    gp_commune = rng.choice(lat.size, size=n_gps, p=weights)
    g_lat, g_lon = lat[gp_commune], lon[gp_commune]
    request_commune = rng.choice(lat.size, size=n_requests, p=weights)
    request_need = rng.choice(3, size=n_requests, p=NEED_SHARES)
    o_lat, o_lon = lat[request_commune], lon[request_commune]
    _, cell_of_request = np.unique(request_commune * 3 + request_need, return_inverse=True)
    n_cells = int(cell_of_request.max()) + 1

    def eligible(groups: IntArray, targets: IntArray) -> BoolArray:
        mixed = groups[:, None] * 2654435761 + targets[None, :] * 40503
        result: BoolArray = mixed % 1000 < 800
        return result

    print()
    print(
        f"France: {lat.size:,} communes; {n_requests:,} requests, {n_cells:,} cells; "
        f"{n_gps:,} GPs at {np.unique(gp_commune).size:,} distinct points; k = {K}"
    )
    seconds, result = timed_runs(1, lambda: k_nearest(o_lat, o_lon, g_lat, g_lon, K))
    checked = check(result, o_lat, o_lon, g_lat, g_lon, None, rng, sample=100)
    report("5a. France, no eligibility:", seconds, checked)
    seconds, result = timed_runs(
        1,
        lambda: k_nearest(
            o_lat, o_lon, g_lat, g_lon, K, eligible=eligible, origin_group=cell_of_request
        ),
    )
    checked = check(
        result,
        o_lat,
        o_lon,
        g_lat,
        g_lon,
        lambda i: eligible(cell_of_request[i : i + 1], np.arange(n_gps))[0],
        rng,
        sample=100,
    )
    report("5b. France, 80 % eligibility function:", seconds, checked)


if __name__ == "__main__":
    main()
