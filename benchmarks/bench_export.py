"""Benchmark of XLSX writing for exports: mt_access.export.write_rows against openpyxl's normal
mode (the writer export.py used before) and xlsxwriter's constant-memory mode.

Run with ``python benchmarks/bench_export.py [--rows 100000] [--methods ...]`` (mt_access
importable; xlsxwriter installed for its line). Each method runs in a fresh process on the
same generated rows (15 text columns, as the follow-up list; some cells formula-like user
text); printed: wall time of the write, the process's peak resident memory, and the same
peak for a process that only builds the rows (the difference is the writer's own).
"""

from __future__ import annotations

import argparse
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

COLUMNS = (
    "demande", "reçue le", "commune (INSEE)", "commune", "tranche d'âge", "personnes",
    "niveau à la réception", "motif de la recherche", "adressée par",
    "état à la fin de la période", "motif de sortie", "sortie le", "délai (jours)",
    "médecin traitant", "nom du médecin",
)  # fmt: skip
WORDS = ("Voiron", "Saint-Étienne-de-Crossey", "médecin parti", "=cmd|' /C calc'!A0", "+33 6",
         "en attente", "proposée", "ALD", "Œuvrard", "18 à 25 ans", "-2", "@SUM(A1)")  # fmt: skip


def make_rows(count: int) -> list[dict[str, str]]:
    rng = random.Random(2026)
    return [
        {c: f"{rng.choice(WORDS)} {i}" if j % 3 else str(rng.randrange(10**6)) for j, c in
         enumerate(COLUMNS)}
        for i in range(count)
    ]  # fmt: skip


def openpyxl_normal(rows: list[dict[str, str]], path: Path) -> None:
    """export.py's writer before issue 17: openpyxl's normal (in-memory) mode."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    ws = book.active
    ws.title = "export"
    for j, name in enumerate(COLUMNS, start=1):
        cell = ws.cell(row=1, column=j)
        cell.value, cell.data_type, cell.font = name, "s", Font(bold=True)
    for i, row in enumerate(rows, start=2):
        for j, name in enumerate(COLUMNS, start=1):
            cell = ws.cell(row=i, column=j)
            cell.value = row[name]
            cell.data_type = "s"
    ws.freeze_panes = "A2"
    book.save(path)


def xlsxwriter_constant_memory(rows: list[dict[str, str]], path: Path) -> None:
    import xlsxwriter

    book = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_formulas": False})
    sheet = book.add_worksheet("export")
    bold = book.add_format({"bold": True})
    for j, name in enumerate(COLUMNS):
        sheet.write_string(0, j, name, bold)
    for i, row in enumerate(rows, start=1):
        for j, name in enumerate(COLUMNS):
            sheet.write_string(i, j, row[name])
    sheet.freeze_panes(1, 0)
    book.close()


def export(rows: list[dict[str, str]], path: Path) -> None:
    from mt_access.export import write_rows

    write_rows(rows, COLUMNS, path)


def export_typed(rows: list[dict[str, str]], path: Path) -> None:
    """The same with the follow-up list's declared types (dates, integers): the digit
    columns' cells are read as integers, the others stay text."""
    from mt_access.export import ColumnType, write_rows

    types = {
        "reçue le": ColumnType.DATE,
        "personnes": ColumnType.INTEGER,
        "sortie le": ColumnType.DATE,
        "délai (jours)": ColumnType.INTEGER,
    }  # mt_access.workbook.FOLLOW_UP_TYPES, without importing the reports' modules
    write_rows(rows, COLUMNS, path, types=types)


METHODS = {
    "rows-only": None,
    "openpyxl-normal": openpyxl_normal,
    "xlsxwriter": xlsxwriter_constant_memory,
    "mt_access.export": export,
    "export-typed": export_typed,
}


def child(method: str, count: int) -> None:
    rows = make_rows(count)
    function = METHODS[method]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "export.xlsx"
        start = time.perf_counter()
        if function is not None:
            function(rows, path)
        seconds = time.perf_counter() - start
        size = path.stat().st_size if path.exists() else 0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    mib = size / 2**20
    print(f"{method:<18} {seconds:7.2f} s   peak RSS {peak:7.0f} MiB   file {mib:6.1f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--methods", nargs="*", default=list(METHODS))
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.rows)
        return
    print(f"{args.rows:,} rows x {len(COLUMNS)} text columns")
    for method in args.methods:
        subprocess.run(
            [sys.executable, __file__, "--child", method, "--rows", str(args.rows)], check=True
        )


if __name__ == "__main__":
    main()
