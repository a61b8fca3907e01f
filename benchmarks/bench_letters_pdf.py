"""Benchmark of the letters as PDF (mt_access.letters.pdf, WeasyPrint): 100 letters.

Run with ``python benchmarks/bench_letters_pdf.py`` (mt_access importable, the ``pdf`` extra
and Pango installed). Builds an in-memory register of the Voironnais policy with 100 waiting
requests of generated patients and 10 GPs, composes one orientation letter each (the longest
letter: GPs and resources), then times: importing WeasyPrint, the first PDF (fonts loaded and
cached), and the 100 PDFs one after the other in the same process. Prints the figures; it
asserts nothing on time.
"""

from __future__ import annotations

import datetime as dt
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import mt_access
from factories import VOIRON, doc, req
from mt_access import Modality, PatientIdentity
from mt_access.letters import LetterTemplates, orientation_letter
from mt_access.register import Register
from mt_access.store.memory import MemoryStore

LETTERS = 100
D1 = dt.date(2026, 3, 2)
D2 = dt.date(2026, 3, 3)
ON = dt.date(2026, 3, 5)


def main() -> None:
    policy = mt_access.load_policy("voironnais")
    register = Register(MemoryStore(), policy)
    for i in range(10):
        register.add_physician(doc(f"MG{i}", VOIRON, capacity=None))
        register.join(f"MG{i}", D1, monthly_capacity=1, modalities=[Modality.OFFICE])
    for i in range(LETTERS):
        rid = f"R{i:03d}"
        identity = PatientIdentity(last_name=f"Testnom{i}", first_name="Testprénom")
        register.add_request(req(rid, age=30 + i % 40, received=D1), identity)
        register.acknowledge(rid, D1)
        register.confirm(rid, D2)
        register.to_waiting(rid, D2)
    templates = LetterTemplates.for_policy(policy)
    letters = [
        orientation_letter(register, f"R{i:03d}", ON, templates=templates) for i in range(LETTERS)
    ]

    start = time.perf_counter()
    import weasyprint  # type: ignore[import-untyped]

    imported = time.perf_counter() - start
    start = time.perf_counter()
    first = letters[0].pdf()
    first_time = time.perf_counter() - start

    times: list[float] = []
    sizes: list[int] = []
    cpu = time.process_time()
    start = time.perf_counter()
    for letter in letters:
        t0 = time.perf_counter()
        sizes.append(len(letter.pdf()))
        times.append(time.perf_counter() - t0)
    total = time.perf_counter() - start
    cpu = time.process_time() - cpu

    print(f"WeasyPrint {weasyprint.__version__}, {LETTERS} orientation letters (Voironnais)")
    print(f"import weasyprint          {imported:6.2f} s")
    print(f"first letter (fonts)       {first_time:6.2f} s   ({len(first) // 1024} KiB)")
    print(f"{LETTERS} letters               {total:6.2f} s wall, {cpu:6.2f} s CPU")
    print(
        f"per letter                 median {1000 * statistics.median(times):.0f} ms, "
        f"max {1000 * max(times):.0f} ms, {statistics.mean(sizes) / 1024:.0f} KiB on average"
    )


if __name__ == "__main__":
    main()
