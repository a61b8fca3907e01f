"""Benchmark of ``mt-access reprise`` on a generated 5,000-row follow-up sheet.

Run with ``python benchmarks/bench_follow_up.py`` (mt_access importable, e.g. installed with
``pip install -e .``). The script writes its own follow-up workbook (entries from January
2024, exits with their outcomes and GPs, about one row in six still open; generated fake
people only) and a register file with the GPs in a temporary directory, deduces the mapping,
then times the migration as a coordinator runs it (a dry run, the migration, the same file
again), and its parts in a running process. It prints the figures; it never fails on a time.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROWS = 5_000
SEED = 2026
TODAY = dt.date(2026, 12, 1)
HEADERS = (
    "Date d'entrée",
    "Nom",
    "Prénom",
    "Date de naissance",
    "Commune",
    "Consentement",
    "Date de sortie",
    "Issue",
    "Médecin attribué",
)
OUTCOMES = (
    "MT trouvé",
    "Abandon",
    "Injoignable",
    "Hors territoire",
    "Réorienté",
    "Ne recherche plus",
    "Trouvé par ses propres moyens",
)
COMMUNES = ("Voiron", "Moirans", "Tullins", "Coublevie", "Voreppe", "Vourey")
GPS = 40


def write_sheet(path: Path, rows: int, seed: int) -> None:
    import openpyxl

    rng = random.Random(seed)
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("Suivi")
    sheet.append(list(HEADERS))
    start = dt.date(2024, 1, 1)
    for i in range(rows):
        entry = start + dt.timedelta(days=rng.randrange((TODAY - start).days - 10))
        exit_on = entry + dt.timedelta(days=rng.randrange(150))
        birth = dt.date(rng.randrange(1930, 2020), rng.randrange(1, 13), rng.randrange(1, 29))
        if rng.random() < 0.17 or exit_on > TODAY:
            exit_cell, outcome, gp = None, "En cours", ""
        else:
            exit_cell, outcome = dt.datetime.combine(exit_on, dt.time()), rng.choice(OUTCOMES)
            gp = f"1{rng.randrange(GPS):010d}" if outcome == "MT trouvé" else ""
        sheet.append(
            [
                dt.datetime.combine(entry, dt.time()),
                f"FICTIF{i}",
                rng.choice(("Alice", "Bruno", "Chloé", "Denis", "Élodie")),
                dt.datetime.combine(birth, dt.time()),
                COMMUNES[i % len(COMMUNES)],
                "Oui",
                exit_cell,
                outcome,
                gp,
            ]
        )
    book.save(path)


def make_register(path: Path) -> None:
    from mt_access import Physician, load_policy
    from mt_access.cli.common import POLICY_SETTING
    from mt_access.register import Register
    from mt_access.store.sqlite import SQLiteStore

    with SQLiteStore(path) as store:
        with store.transaction():
            store.put_setting(POLICY_SETTING, "voironnais")
        register = Register(store, load_policy("voironnais"))
        for n in range(GPS):
            register.add_physician(
                Physician(f"MG{n:03d}", f"Dr Fictif{n} Exemple", "38563", rpps=f"1{n:010d}")
            )


def _cli(*args: str) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "mt_access.cli", *args], check=True, capture_output=True, text=True
    )
    return time.perf_counter() - start, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=ROWS)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        sheet = Path(folder) / "suivi.xlsx"
        write_sheet(sheet, args.rows, SEED)
        size = sheet.stat().st_size / 1e6
        mapping = Path(folder) / "suivi.yaml"
        deduce, _ = _cli("formulaire", "deduire", str(sheet), "--sortie", str(mapping))
        register = Path(folder) / "r.sqlite"
        make_register(register)
        base = ("reprise", str(sheet), "--formulaire", str(mapping), "--registre", str(register))
        today = ("--aujourdhui", f"{TODAY:%d/%m/%Y}")
        dry, _ = _cli(*base, *today, "--simulation")
        migrate, out = _cli(*base, *today)
        assert f"{args.rows} demande(s) reprise(s)" in out, out
        again, out = _cli(*base, *today)
        assert "0 demande(s) reprise(s)" in out, out

        from mt_access import load_policy
        from mt_access.cli import main as cli
        from mt_access.intake.follow_up import read_follow_up
        from mt_access.intake.mapping_file import load_mapping_file
        from mt_access.intake.tabular import read_table
        from mt_access.register import Register
        from mt_access.store.memory import MemoryStore
        from mt_access.store.sqlite import SQLiteStore

        policy = load_policy("voironnais")
        start = time.perf_counter()
        table = read_table(sheet)
        reading = time.perf_counter() - start
        memory = Register(MemoryStore(), policy)
        with SQLiteStore(register, create=False, readonly=True) as store:
            for physician in Register(store, policy).physicians():
                memory.add_physician(physician)
        start = time.perf_counter()
        result = read_follow_up(
            table,
            policy,
            mapping=load_mapping_file(mapping),
            today=TODAY,
            physicians=memory.physicians(),
        )
        checking = time.perf_counter() - start
        start = time.perf_counter()
        memory.migrate_follow_up(result)
        recording = time.perf_counter() - start
        fresh = Path(folder) / "r2.sqlite"
        make_register(fresh)
        out_io, err_io = io.StringIO(), io.StringIO()
        start = time.perf_counter()
        code = cli([*base[:4], "--registre", str(fresh), *today], out=out_io, err=err_io)
        in_process = time.perf_counter() - start
        assert code == 0, err_io.getvalue()

    print(f"follow-up sheet: {args.rows:,} rows, {len(HEADERS)} columns, XLSX {size:.2f} MB")
    print(f"mt-access formulaire deduire (new process): {deduce:.2f} s")
    print(f"mt-access reprise --simulation (new process): {dry:.2f} s")
    print(f"mt-access reprise, SQLite register (new process): {migrate:.2f} s")
    print(f"mt-access reprise of the same file again, nothing recorded: {again:.2f} s")
    print(f"  in a running process, fresh register: {in_process:.2f} s")
    print(
        f"  parts: read_table {reading:.2f} s, read_follow_up {checking:.2f} s, "
        f"migrate_follow_up (memory store) {recording:.2f} s"
    )


if __name__ == "__main__":
    main()
