"""A process importing form exports into register files at the same moment as another one:
the subject of ``test_intake_register.py``.

:func:`import_rounds` runs ``mt-access import`` (the command line's own code, in this
process) once per round, every worker of the test starting the round together at a barrier.
Generated data only: no real person.
"""

from __future__ import annotations

import csv
import io
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from pathlib import Path

HEADERS = ("Date de réception", "Nom", "Prénom", "Date de naissance", "Commune", "Consentement")


def write_export(path: Path, rows: int, *, start: int = 0) -> Path:
    """A generic-form export of ``rows`` made-up persons (``Fictif<n>``) living in Voiron."""
    with path.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream, delimiter=";")
        writer.writerow(HEADERS)
        for n in range(start, start + rows):
            birth = f"{1 + n % 28:02d}/{1 + n % 12:02d}/{1940 + n % 60}"
            writer.writerow(("05/03/2026", f"Fictif{n}", "Alix", birth, "Voiron", "Oui"))
    return path


def import_rounds(
    export: str, registers: list[str], barrier: Barrier, results: Queue[tuple[int, int, str]]
) -> None:
    """For each register file in turn: wait for the other workers, then import ``export``
    into it; put ``(round, exit code, output)`` on ``results``."""
    from mt_access.cli import main

    for number, register in enumerate(registers):
        barrier.wait(timeout=120)
        out, err = io.StringIO(), io.StringIO()
        code = main(
            [
                "import", export, "--registre", register,
                "--formulaire", "generique", "--sans-progression",
            ],
            out=out,
            err=err,
        )  # fmt: skip
        results.put((number, code, out.getvalue() + err.getvalue()))
