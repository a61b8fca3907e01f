"""Benchmark of the RPPS extraction import: a 1,000,000-line file read as a stream.

Run with ``python benchmarks/bench_rpps.py [--lines N] [--gp-share F]`` (mt_access importable,
e.g. installed with ``pip install -e .``). Writes a synthetic file in the exact published
format (a temporary directory), then prints the write time, the read time (best of 3), the
read rate and the peak memory traced during one more read (tracemalloc slows that read down;
its time is not the figure). Target: 1M lines in under 5 s, peak traced memory under 50 MB.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
import tracemalloc
from pathlib import Path

from mt_access.geo.communes import bundled_reference
from mt_access.rpps import HEADER, read_extraction

SEED = 2026
TERRITORY = ("38563", "38133", "38061", "38373", "38432", "38239")  # around Voiron
TARGET_SECONDS = 5.0
TARGET_PEAK_MB = 50.0


def _line(values: dict[str, str]) -> str:
    return "|".join(values.get(column, "") for column in HEADER) + "|\n"


def _row(rng: random.Random, gp: bool, communes: list[tuple[str, str, str]]) -> str:
    insee, postal, name = rng.choice(communes)
    rpps = f"1{rng.randrange(10**10):010d}"
    values = {
        "Type d'identifiant PP": "8",
        "Identifiant PP": rpps,
        "Identification nationale PP": "8" + rpps,
        "Libellé civilité d'exercice": "Docteur" if gp else "",
        "Nom d'exercice": f"NOM{rng.randrange(10**6)}",
        "Prénom d'exercice": "Camille",
        "Code profession": "10" if gp else "60",
        "Libellé profession": "Médecin" if gp else "Infirmier",
        "Libellé savoir-faire": "Médecine générale" if gp else "",
        "Libellé mode exercice": rng.choice(("Libéral", "Salarié")),
        "Numéro Voie (coord. structure)": str(rng.randrange(1, 200)),
        "Libellé type de voie (coord. structure)": "Rue",
        "Libellé Voie (coord. structure)": "de la République",
        "Code postal (coord. structure)": postal,
        "Code commune (coord. structure)": "" if rng.random() < 0.1 else insee,
        "Libellé commune (coord. structure)": name.upper(),
        "Téléphone (coord. structure)": "0400000000",
    }
    return _line(values)


def write_file(path: Path, lines: int, gp_share: float) -> None:
    rng = random.Random(SEED)
    reference = bundled_reference()
    communes = [
        (c.insee, c.postal_codes[0], c.name)
        for c in reference
        if c.postal_codes and c.department == "38"
    ]
    pool = [_row(rng, rng.random() < gp_share, communes) for _ in range(20_000)]
    with path.open("w", encoding="utf-8") as out:
        out.write("|".join(HEADER) + "|\n")
        for start in range(0, lines, len(pool)):
            out.writelines(pool[: min(len(pool), lines - start)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--gp-share", type=float, default=0.1, help="share of GP lines")
    parser.add_argument("--margin-km", type=float, default=5.0)
    args = parser.parse_args()
    reference = bundled_reference()
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "PS_LibreAcces_Personne_activite_bench.txt"
        start = time.perf_counter()
        write_file(path, args.lines, args.gp_share)
        written = time.perf_counter() - start
        size = path.stat().st_size / 1e6
        print(f"file: {args.lines:,} lines, {size:,.0f} MB, written in {written:.1f} s")

        def read() -> int:
            extract = read_extraction(
                path, communes=TERRITORY, reference=reference, margin_km=args.margin_km
            )
            return len(extract.gps)

        times = []
        for _ in range(3):
            start = time.perf_counter()
            kept = read()
            times.append(time.perf_counter() - start)
        best = min(times)
        tracemalloc.start()
        read()
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    verdict = "met" if best < TARGET_SECONDS else "MISSED"
    print(f"read (best of 3): {best:.2f} s, {args.lines / best:,.0f} lines/s [{verdict}]")
    print(f"GPs kept (territory + {args.margin_km:g} km): {kept}")
    verdict = "met" if peak / 1e6 < TARGET_PEAK_MB else "MISSED"
    print(f"peak traced memory during a read: {peak / 1e6:.1f} MB [{verdict}]")


if __name__ == "__main__":
    main()
