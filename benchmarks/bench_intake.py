"""Benchmark of the intake of form exports: read a 10,000-row CSV, parse and resolve it.

Run with ``python benchmarks/bench_intake.py`` (mt_access importable, e.g. installed with
``pip install -e .``). The script writes its own synthetic export (Voironnais preset headers,
generated fake people, communes of the Isère written as people write them, a few bad rows and
duplicates) in a temporary directory, then times ``read_table`` and ``import_table``.

Target: read + parse + resolve of 10,000 rows in at most 2 s. The commune reference is loaded
(and its name index built) before timing: it is loaded once per process, and its cost is
printed apart.
"""

from __future__ import annotations

import argparse
import csv
import random
import re
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import mt_access
from mt_access.geo.communes import bundled_reference
from mt_access.intake import import_table, read_table, write_rejections

ROWS = 10_000
SEED = 2026
TARGET_SECONDS = 2.0

LAST_NAMES = ("Testeur", "Fictif", "Exemple", "Modèle", "Démo", "Essai", "Échantillon", "Factice")
FIRST_NAMES = ("Alice", "Bruno", "Chloé", "Denis", "Élodie", "Fabien", "Gaëlle", "Hugo", "Inès")
PROFESSIONS = ("Patient lui-même", "Médecin", "Infirmier(e)", "Assistant(e) social(e)", "Mairie")
VISITS = ("Non", "Non", "Non", "Oui", "Oui, exclusivement")
COVERAGE = ("Régime général", "CSS", "AME", "Mutuelle", "")


def timed(function: Callable[[], object]) -> tuple[float, object]:
    start = time.perf_counter()
    value = function()
    return time.perf_counter() - start, value


def spelled(name: str, rng: random.Random) -> str:
    """The commune's name as someone might type it."""
    choice = rng.random()
    if choice < 0.3:
        return name
    if choice < 0.5:
        return re.sub(r"\bSaint\b", "St", name).replace("-", " ")
    if choice < 0.7:
        return name.upper()
    if choice < 0.85:
        return name.lower().replace("é", "e").replace("è", "e")
    return f"  {name.replace('-', ' - ')} "


def write_export(path: Path, rows: int, seed: int) -> None:
    rng = random.Random(seed)
    policy = mt_access.load_policy("voironnais")
    assert policy.intake is not None
    headers = list(policy.intake.headers)
    reference = bundled_reference()
    communes = [c for c in reference if c.department == "38" and c.postal_codes]
    territory = [reference.get(code) for code in sorted(policy.territory)]
    with path.open("w", encoding="utf-8-sig", newline="") as stream:
        writer = csv.writer(stream, delimiter=";")
        writer.writerow(headers)
        previous: list[dict[str, str]] = []
        for number in range(rows):
            if previous and rng.random() < 0.01:  # the same person sent twice
                cells = dict(rng.choice(previous))
                cells["N° de demande"] = f"F{number:06d}"
            else:
                commune = rng.choice(territory) if rng.random() < 0.8 else rng.choice(communes)
                birth = (
                    f"{rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/{rng.randint(1930, 2024)}"
                )
                if rng.random() < 0.01:
                    birth = "31/02/1980"  # a bad row
                with_postal_code = rng.random() < 0.7
                cells = {
                    "N° de demande": f"F{number:06d}",
                    "Date de réception": f"{rng.randint(1, 28):02d}/0{rng.randint(1, 3)}/2026",
                    "Demandeur - Profession": rng.choice(PROFESSIONS),
                    "Nom du patient": f"{rng.choice(LAST_NAMES)}-{number}",
                    "Prénom du patient": rng.choice(FIRST_NAMES),
                    "Date de naissance": birth,
                    "Adresse": f"{rng.randint(1, 200)} rue Imaginaire",
                    "Code postal": commune.postal_codes[0] if with_postal_code else "",
                    "Commune": spelled(commune.name, rng),
                    "Téléphone": f"06 00 00 {rng.randint(10, 99)} {rng.randint(10, 99)}",
                    "E-mail": f"personne{number}@example.invalid",
                    "Couverture sociale / Complémentaire Santé Solidaire": rng.choice(COVERAGE),
                    "ALD / maladie chronique / situation de handicap": rng.choice(("Oui", "Non")),
                    "Nécessité de visites à domicile": rng.choice(VISITS),
                    "Enfants de moins de 16 ans": rng.choice(("Non", "Non", "1", "2")),
                    "Consentement du patient": "Oui" if rng.random() < 0.995 else "Non",
                    "Autres informations / commentaires": "RAS" if rng.random() < 0.3 else "",
                }
                previous.append(cells)
            writer.writerow([cells.get(header, "") for header in headers])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rows", type=int, default=ROWS, help=f"rows (default {ROWS:,})")
    parser.add_argument("--repeat", type=int, default=3, help="runs, the best is kept")
    args = parser.parse_args()

    load = bundled_reference.__wrapped__  # uncached: a fresh reference
    seconds, _ = timed(load)
    index, _ = timed(lambda: bundled_reference().search("Voiron"))
    print(f"commune reference, loaded once per process: {seconds * 1000:7.1f} ms")
    print(f"its name index, built on first use:         {index * 1000:7.1f} ms")
    policy = mt_access.load_policy("voironnais")

    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "export.csv"
        write_export(path, args.rows, SEED)
        size = path.stat().st_size
        print(f"synthetic export: {args.rows:,} rows, {size / 1e6:.1f} MB ({path.name})")
        best = (float("inf"), 0.0, 0.0)
        result = None
        for _ in range(args.repeat):
            read_s, table = timed(lambda: read_table(path))
            import_s, result = timed(lambda: import_table(table, policy))  # noqa: B023
            if read_s + import_s < best[0]:
                best = (read_s + import_s, read_s, import_s)
        total, read_s, import_s = best
        assert result is not None
        report_s, _ = timed(lambda: write_rejections(result, Path(directory) / "rejets.csv"))
        print(f"read_table:    {read_s * 1000:7.1f} ms")
        print(f"import_table:  {import_s * 1000:7.1f} ms  ({args.rows / import_s:,.0f} rows/s)")
        verdict = "met" if total <= TARGET_SECONDS * args.rows / ROWS else "MISSED"
        print(
            f"read + import: {total * 1000:7.1f} ms  (best of {args.repeat}; "
            f"target ≤ {TARGET_SECONDS:.1f} s for {ROWS:,} rows: {verdict})"
        )
        print(f"write_rejections: {report_s * 1000:.1f} ms")
        print(result.summary())


if __name__ == "__main__":
    main()
