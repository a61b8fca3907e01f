"""Benchmark of « vouliez-vous dire … ? » for commune names: difflib against rapidfuzz.

Run with ``python benchmarks/bench_suggest.py`` (mt_access importable; rapidfuzz installed
for its column). Queries are the normalised names of the bundled reference (35,014 communes)
with one to two random typing errors (a letter dropped, doubled, swapped with the next or
replaced); a query is found when the name it came from is among the first three suggestions.
Prints the time per query and how often the right name is first / in the first three.
"""

from __future__ import annotations

import difflib
import random
import string
import time
from collections.abc import Callable, Sequence

from mt_access.geo import bundled_reference
from mt_access.geo.names import normalize_name, suggest_names

QUERIES = 300
SEED = 2026


def typo(name: str, rng: random.Random) -> str:
    chars = list(name)
    for _ in range(rng.choice((1, 1, 2))):
        i = rng.randrange(len(chars))
        kind = rng.choice(("drop", "double", "swap", "replace"))
        if kind == "drop" and len(chars) > 3:
            del chars[i]
        elif kind == "double":
            chars.insert(i, chars[i])
        elif kind == "swap" and i + 1 < len(chars):
            chars[i], chars[i + 1] = chars[i + 1], chars[i]
        else:
            chars[i] = rng.choice(string.ascii_lowercase)
    return "".join(chars)


def run(name: str, suggest: Callable[[str], Sequence[str]], cases: list[tuple[str, str]]) -> None:
    first = three = 0
    start = time.perf_counter()
    for query, truth in cases:
        found = list(suggest(query))
        first += bool(found) and found[0] == truth
        three += truth in found[:3]
    seconds = time.perf_counter() - start
    print(
        f"{name:<28} {1000 * seconds / len(cases):8.2f} ms/query   "
        f"first {100 * first / len(cases):5.1f} %   in first 3 {100 * three / len(cases):5.1f} %"
    )


def main() -> None:
    keys = sorted({normalize_name(c.name) for c in bundled_reference()})
    rng = random.Random(SEED)
    cases = []
    while len(cases) < QUERIES:
        truth = rng.choice(keys)
        query = typo(truth, rng)
        if query not in keys:
            cases.append((query, truth))
    print(f"{len(keys):,} distinct normalised names, {len(cases)} queries with typos")
    run(
        "difflib (cutoff 0.8)",
        lambda q: difflib.get_close_matches(q, keys, n=3, cutoff=0.8),
        cases,
    )
    run(
        "difflib (cutoff 0.6)",
        lambda q: difflib.get_close_matches(q, keys, n=3, cutoff=0.6),
        cases,
    )
    try:
        from rapidfuzz import fuzz, process
    except ImportError:
        print("rapidfuzz not installed: skipped")
        return
    for cutoff in (80, 70):
        run(
            f"rapidfuzz ratio (cutoff {cutoff})",
            lambda q, c=cutoff: [
                m[0] for m in process.extract(q, keys, scorer=fuzz.ratio, limit=3, score_cutoff=c)
            ],
            cases,
        )
    start = time.perf_counter()
    fuzz.ratio("a", "b")
    print(f"(rapidfuzz first call {1000 * (time.perf_counter() - start):.1f} ms)")
    run("mt_access suggest_names", lambda q: suggest_names(q, keys), cases)


if __name__ == "__main__":
    main()
