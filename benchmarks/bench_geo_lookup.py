"""Benchmark of the geo layer: reference loading, name lookups, geodesic distances.

Run with ``python benchmarks/bench_geo_lookup.py`` (mt_access importable, e.g. installed with
``pip install -e .``). Targets: loading well under 0.5 s, at least 100,000 name lookups per
second.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable

import numpy as np

from mt_access.geo import DistanceCache, bundled_reference, geodesic_km_many
from mt_access.geo import names as names_module
from mt_access.geo.communes import Commune, CommuneReference

LOOKUPS = 200_000
SEED = 2026


def timed(function: Callable[[], object]) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def best_of(repeat: int, function: Callable[[], object]) -> float:
    return min(timed(function) for _ in range(repeat))


def rate(count: int, seconds: float) -> str:
    return f"{count / seconds:>12,.0f} /s"


def bench_loading() -> CommuneReference:
    load = bundled_reference.__wrapped__  # uncached: build a new reference each time
    seconds = best_of(5, load)
    reference = load()
    index = timed(lambda: reference.search("Voiron"))  # first lookup by name builds the index
    print(f"bundled reference construction: {seconds * 1000:7.1f} ms (best of 5)")
    print(f"name index, built on first use: {index * 1000:7.1f} ms")
    return reference


def bench_lookups(reference: CommuneReference) -> None:
    rng = random.Random(SEED)
    communes: list[Commune] = rng.choices(list(reference), k=LOOKUPS)
    by_name = [(c.name, c.department) for c in communes]
    unique = [c.name for c in communes if len(reference.search(c.name)) == 1]
    resolve_texts = [f"{name} ({department})" for name, department in by_name]
    postal_texts = [f"{c.postal_codes[0]} {c.name}" for c in communes if c.postal_codes]
    variants = [
        re.sub(r"\bSAINT\b", "ST", name.upper()).replace("-", " ") for name, _ in by_name[:35_000]
    ]

    def find_unique() -> None:
        for name in unique:
            reference.find(name)

    def find_department() -> None:
        for name, department in by_name:
            reference.find(name, department=department)

    def resolve_name_department() -> None:
        for text in resolve_texts:
            reference.resolve(text)

    def resolve_postal() -> None:
        for text in postal_texts:
            reference.resolve(text)

    def find_cold() -> None:
        names_module._normalize_cached.cache_clear()
        for variant, (_, department) in zip(variants, by_name, strict=False):
            reference.find(variant, department=department)

    def report(label: str, count: int, function: Callable[[], None], note: str = "") -> None:
        print(f"{label:<38}{rate(count, best_of(3, function))}{note}")

    find_unique()  # warm the normalisation cache, as a long-running process would
    report("find(name), unique names:", len(unique), find_unique)
    report("find(name, department=...):", LOOKUPS, find_department)
    report("resolve('Name (dep)'):", LOOKUPS, resolve_name_department)
    report("resolve('38500 Name'):", len(postal_texts), resolve_postal)
    report(
        "find, uncached 'ST NAME' spellings:",
        len(variants),
        find_cold,
        "  (every name normalised afresh)",
    )


def bench_distances(reference: CommuneReference) -> None:
    rng = np.random.default_rng(SEED)
    n = 1_000_000
    lat1, lat2 = rng.uniform(42.0, 51.0, n), rng.uniform(42.0, 51.0, n)
    lon1, lon2 = rng.uniform(-5.0, 8.0, n), rng.uniform(-5.0, 8.0, n)
    seconds = best_of(3, lambda: geodesic_km_many(lat1, lon1, lat2, lon2))
    print(f"geodesic_km_many, 1,000,000 pairs:    {rate(n, seconds)} pairs ({seconds:.2f} s)")

    dest_lat, dest_lon = lat2[:500], lon2[:500]
    calls = 2_000

    def one_to_many() -> None:
        for i in range(calls):
            geodesic_km_many(lat1[i], lon1[i], dest_lat, dest_lon)

    seconds = best_of(3, one_to_many)
    print(
        f"geodesic_km_many, 1 origin x 500:     {rate(calls, seconds)} calls "
        f"({calls * 500 / seconds:,.0f} pairs/s)"
    )

    def single_pairs() -> None:
        for i in range(calls):
            geodesic_km_many(lat1[i], lon1[i], lat2[i], lon2[i])

    print(f"geodesic_km_many, single pair:        {rate(calls, best_of(3, single_pairs))} calls")

    with_point = [c.insee for c in reference if c.point is not None]
    sample = random.Random(SEED).sample(with_point, 600)
    origins, destinations = sample[:100], sample[100:]

    def matrix() -> None:
        DistanceCache(reference).communes_matrix(origins, destinations)

    seconds = best_of(3, matrix)
    print(
        f"DistanceCache.communes_matrix 100x500, empty cache: {seconds * 1000:.0f} ms "
        f"({50_000 / seconds:,.0f} pairs/s)"
    )
    cache = DistanceCache(reference)
    cache.communes_matrix(origins, destinations)
    seconds = best_of(3, lambda: cache.communes_matrix(origins, destinations))
    print(f"DistanceCache.communes_matrix 100x500, from cache: {seconds * 1000:.0f} ms")


def main() -> None:
    reference = bench_loading()
    bench_lookups(reference)
    bench_distances(reference)


if __name__ == "__main__":
    main()
