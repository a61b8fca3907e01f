"""Benchmark of sending letters by e-mail (mt_access.letters.sending): 500 letters.

Run with ``python benchmarks/bench_sending.py [--pdf [--processus N]] [--sqlite]`` (mt_access
importable, aiosmtpd and the ``openssl`` command installed: the dev extra). Builds an in-memory
register of the Deûle Marque policy with a ``sending:`` section and 500 waiting requests of
generated patients who agreed to e-mail, composes one orientation letter each, starts a local
SMTP server on 127.0.0.1 (aiosmtpd, STARTTLS with a throwaway certificate, AUTH) and times
:func:`send_letters`: one message per letter over one connection, each attempt recorded in the
register. The letters are attached as Markdown (``--pdf``: as PDF, whose rendering is then most
of the time, in worker processes from 100 letters, see ``bench_letters_pdf.py``; ``--processus
N``: N workers, ``0`` for none). Prints the figures, with the processor time: this process's
(sending, and the test server's thread) and the PDF workers'; asserts nothing on time.
``--sqlite``: the register is an SQLite file (one committed transaction per attempt).
"""

from __future__ import annotations

import datetime as dt
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import mt_access
from factories import doc, req
from mt_access import Modality, PatientIdentity
from mt_access.letters import LetterTemplates, orientation_letter
from mt_access.letters.sending import send_letters
from mt_access.letters.smtp import SmtpSettings
from mt_access.register import Register
from mt_access.store import MemoryStore, SQLiteStore
from smtp_server import PASSWORD, USER, Recorder, make_certificate, start

LETTERS = 500
MARCQ = "59378"
D1 = dt.date(2026, 3, 2)
D2 = dt.date(2026, 3, 3)
ON = dt.date(2026, 3, 5)
EXTRA = """
questions:
  - {id: accepte_courriel, label: Accepte les courriers par courriel, type: oui_non}
sending:
  sender: coordination@cpts-bench.mssante.fr
  patient_consent_question: accepte_courriel
"""


def main() -> None:
    pdf = "--pdf" in sys.argv[1:]
    if "--processus" in sys.argv[1:]:  # as many PDF workers (0: none)
        from mt_access.letters import pdf as pdf_module

        count = int(sys.argv[sys.argv.index("--processus") + 1])
        pdf_module.worker_processes = lambda _letters: count
    folder = Path(tempfile.mkdtemp(prefix="bench-sending-"))
    policy_file = folder / "politique.yaml"
    text = mt_access.available_policies()["deule_marque"].read_text(encoding="utf-8")
    policy_file.write_text(text + EXTRA, encoding="utf-8")
    policy = mt_access.load_policy(policy_file)
    sqlite = "--sqlite" in sys.argv[1:]
    store = SQLiteStore(folder / "registre.sqlite") if sqlite else MemoryStore()
    register = Register(store, policy)
    for i in range(5):
        register.add_physician(doc(f"MG{i}", MARCQ, capacity=None))
        register.join(f"MG{i}", D1, monthly_capacity=1, modalities=[Modality.OFFICE])
    for i in range(LETTERS):
        rid = f"R{i:03d}"
        identity = PatientIdentity(
            last_name=f"Testnom{i}", first_name="Testprénom", email=f"patient{i}@example.org"
        )
        request = req(rid, MARCQ, age=30, received=D1, answers={"accepte_courriel": True})
        register.add_request(request, identity)
        register.acknowledge(rid, D1)
        register.confirm(rid, D2)
        register.to_waiting(rid, D2)
    templates = LetterTemplates.for_policy(policy)
    letters = [
        orientation_letter(register, f"R{i:03d}", ON, templates=templates) for i in range(LETTERS)
    ]
    cert, key = make_certificate(folder)
    handler = Recorder()
    controller = start(handler, cert, key)
    smtp = SmtpSettings(
        "127.0.0.1", controller.port, user=USER, password=PASSWORD, cafile=str(cert)
    )
    try:
        cpu = time.process_time()
        children = _children_cpu()
        begin = time.perf_counter()
        report = send_letters(
            register, letters, send=True, smtp=smtp, attachment="pdf" if pdf else "md"
        )
        elapsed = time.perf_counter() - begin
        cpu = time.process_time() - cpu
        children = _children_cpu() - children
    finally:
        controller.stop()
    where = "registre SQLite" if sqlite else "registre en mémoire"
    print(f"{LETTERS} courriers ({'PDF' if pdf else 'Markdown'}, {where}) : {elapsed:.2f} s")
    print(
        f"  processeur : {cpu:.1f} s ici (envoi et serveur de test) + {children:.1f} s dans "
        f"les processus de rendu PDF ; {len(os.sched_getaffinity(0))} processeurs, charge "
        f"{os.getloadavg()[0]:.1f}"
    )
    print(f"  envoyés : {report.count('envoye')}, reçus par le serveur : {len(handler.messages)}")
    print(f"  tentatives enregistrées : {len(register.store.sendings())}")
    print(f"  par courrier : {1000 * elapsed / LETTERS:.1f} ms (objectif : 500 en 30 s au plus)")


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


if __name__ == "__main__":
    main()
