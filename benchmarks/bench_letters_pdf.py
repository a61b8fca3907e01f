"""Benchmark of the letters as PDF (mt_access.letters.pdf, WeasyPrint): 100 letters.

Run with ``python benchmarks/bench_letters_pdf.py [N]`` (mt_access importable, the ``pdf``
extra and Pango installed; ``N`` letters, 100 by default). Builds an in-memory register of the
Voironnais policy with N waiting requests of generated patients and 10 GPs, composes one
orientation letter each (the longest letter: GPs and resources), then times: importing
WeasyPrint, the first PDF (fonts loaded and cached), the N PDFs one after the other in this
process as before (a new font configuration per letter), the same with the font configuration
shared (:func:`letter_pdf` now), :func:`letters_pdf` as it chooses (no worker below 100
letters) and with one worker per processor (their start included). Checks that all give the
same bytes and the same text (``pdftotext``, when there). Prints the figures; it asserts
nothing on time.
"""

from __future__ import annotations

import datetime as dt
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import mt_access
from factories import VOIRON, doc, req
from mt_access import Modality, PatientIdentity
from mt_access.letters import LetterTemplates, orientation_letter
from mt_access.letters.pdf import PDF_VARIANT, letters_pdf, print_html, worker_processes
from mt_access.register import Register
from mt_access.store.memory import MemoryStore

LETTERS = int(sys.argv[1]) if len(sys.argv) > 1 else 100
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

    css = weasyprint.CSS(string=mt_access.letters.pdf.print_stylesheet())

    def before(letter: mt_access.letters.Letter) -> bytes:
        """As letter_pdf rendered a letter before: the style parsed once, but a new font
        configuration (fontconfig, Pango's font map) for each letter."""
        data: bytes = weasyprint.HTML(string=print_html(letter), base_url=None).write_pdf(
            stylesheets=[css], pdf_variant=PDF_VARIANT, pdf_tags=True
        )
        return data

    def one_by_one(render: Callable[[mt_access.letters.Letter], bytes]) -> list[bytes]:
        return [render(letter) for letter in letters]

    processors = len(os.sched_getaffinity(0))
    runs = {
        "before (font configuration per letter)": lambda: one_by_one(before),
        "letter_pdf, one after the other": lambda: one_by_one(lambda x: x.pdf()),
        f"letters_pdf, {worker_processes(LETTERS)} workers (its choice)": lambda: list(
            letters_pdf(letters)
        ),
        f"letters_pdf, {processors} worker processes": lambda: list(
            letters_pdf(letters, processes=processors)
        ),
    }
    print(f"WeasyPrint {weasyprint.__version__}, {LETTERS} orientation letters (Voironnais)")
    print(f"processors: {processors}, load: {os.getloadavg()[0]:.1f}")
    print(f"import weasyprint          {imported:6.2f} s")
    print(f"first letter (fonts)       {first_time:6.2f} s   ({len(first) // 1024} KiB)")
    texts = []
    outputs = []
    for label, run in runs.items():
        cpu = time.process_time()
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        pdfs = run()
        total = time.perf_counter() - start
        cpu = time.process_time() - cpu
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        workers = after.ru_utime + after.ru_stime - children.ru_utime - children.ru_stime
        size = statistics.mean(len(p) for p in pdfs) / 1024
        print(
            f"{label:42} {total:6.2f} s wall, CPU {cpu:5.2f} s here + {workers:5.2f} s in "
            f"workers, {1000 * total / LETTERS:4.0f} ms a letter, {size:.0f} KiB on average"
        )
        texts.append(_texts(pdfs[:5]))
        outputs.append(pdfs)
    print(f"same bytes: {'yes' if all(o == outputs[0] for o in outputs) else 'NO'}")
    if texts[0] is not None:
        same = all(t == texts[0] for t in texts)
        print(f"same text (pdftotext, first 5 letters): {'yes' if same else 'NO'}")


def _texts(pdfs: list[bytes]) -> list[str] | None:
    if shutil.which("pdftotext") is None:
        return None
    out = []
    with tempfile.TemporaryDirectory() as folder:
        for i, data in enumerate(pdfs):
            path = Path(folder) / f"{i}.pdf"
            path.write_bytes(data)
            run = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, check=True)
            out.append(run.stdout.decode("utf-8"))
    return out


if __name__ == "__main__":
    main()
