"""A process that works on a register file until it is killed: the subject of
``test_store_crash.py``.

Usage: ``python tests/crash_worker.py REGISTER`` (a file, or a ``postgresql://`` URL; the
register is made by :func:`setup`). The worker prints ``ready`` once the register is open,
then does :func:`step` after :func:`step`, each one store transaction, printing ``begin N``
before and ``done N`` after, until it is killed (or after :data:`MAX_STEPS` steps or
:data:`MAX_SECONDS` seconds).

The next step depends only on what the register holds, so the test replays the same steps on
a :class:`~mt_access.store.memory.MemoryStore` and compares. A step is one of:

* ``run``: a match run through :meth:`Register.run_match` (proposals, orientations,
  out-of-scope exits, ledger placements and the run record: hundreds of writes in one
  transaction), a week after the previous run;
* ``answers``: the GPs answer every pending proposal (an accept or a refusal, decided by a
  hash of the ids), all in one transaction;
* ``intake``: new requests when the waiting list runs low, brought to the waiting list, in
  one transaction.

All data is generated (:func:`mt_access.examples.example_month` and a seeded generator): no
real person.
"""

from __future__ import annotations

import datetime as dt
import random
import sys
import time
import zlib

import mt_access
from mt_access import (
    Consent,
    Household,
    Patient,
    PatientIdentity,
    Request,
    RequestState,
)
from mt_access.examples import example_month
from mt_access.geo import bundled_reference
from mt_access.register import Register
from mt_access.store.base import Store

POLICY = "voironnais"
START = dt.date(2026, 3, 2)
REQUESTS = 240
PHYSICIANS = 40
LOW_WATER = 120
INTAKE = 60
MAX_STEPS = 10_000
MAX_SECONDS = 120.0


def register_on(store: Store) -> Register:
    return Register(store, mt_access.load_policy(POLICY))


def _to_waiting(register: Register, request: Request, identity: PatientIdentity) -> None:
    day = request.received
    register.add_request(request, identity, comment="demande générée")
    register.acknowledge(request.id, day)
    register.confirm(request.id, day)
    register.to_waiting(request.id, day)


def setup(register: Register, seed: int = 2026) -> None:
    """The starting register: GPs and a waiting list, in one transaction."""
    policy = register.policy
    month = example_month(
        policy, bundled_reference(), requests=REQUESTS, physicians=PHYSICIANS, seed=seed
    )
    with register.store.transaction():
        register.update_physicians(month.physicians)
        for n, request in enumerate(month.requests):
            if request.received > START:
                continue
            _to_waiting(register, request, PatientIdentity(last_name=f"Fictif{n}"))


def _new_request(register: Register, n: int, on: dt.date) -> Request:
    rng = random.Random(n)
    communes = sorted(register.policy.territory)
    return Request(
        id=f"N{n:05d}",
        received=on,
        patient=Patient(
            birth_date=dt.date(rng.randint(1930, 2020), rng.randint(1, 12), rng.randint(1, 28)),
            commune=rng.choice(communes),
        ),
        ald=rng.random() < 0.3,
        urgent=rng.random() < 0.1,
        household=Household(adults=1, children=rng.choice((0, 0, 0, 1, 2))),
        consent=Consent(True, on),
    )


def step(register: Register) -> str:
    """Do the next step (one store transaction) and return its kind."""
    store = register.store
    runs = store.runs()
    today = runs[-1].on if runs else START
    proposed = store.summaries([RequestState.PROPOSED])
    if proposed:
        with store.transaction():
            for summary in proposed:
                for gp in summary.proposed_to:
                    accepted = zlib.crc32(f"{summary.id}/{gp}".encode()) % 3 == 0
                    register.answer(summary.id, gp, today, accepted=accepted, comment="réponse")
                    if accepted:
                        break
        return "answers"
    if len(store.summaries([RequestState.WAITING])) < LOW_WATER:
        first = store.count_requests() + 1
        with store.transaction():
            for n in range(first, first + INTAKE):
                _to_waiting(register, _new_request(register, n, today), PatientIdentity())
        return "intake"
    register.run_match(today + dt.timedelta(days=7))
    return "run"


def main(argv: list[str]) -> int:
    from mt_access.store.locations import open_store

    store = open_store(argv[1], create=False)
    register = register_on(store)
    register.preview_match(START)  # load the commune reference before saying ready
    print("ready", flush=True)
    started = time.monotonic()
    for n in range(MAX_STEPS):
        if time.monotonic() - started > MAX_SECONDS:
            break
        print(f"begin {n}", flush=True)
        kind = step(register)
        print(f"done {n} {kind}", flush=True)
    store.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
