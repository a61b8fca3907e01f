"""A process that records in a register at the same moment as others: the subject of
``test_store_concurrency.py``.

Usage: ``python tests/concurrency_worker.py REGISTER INDEX WORKERS EXPORT`` (a file or a
``postgresql://`` URL, made by the test). The worker opens the register, prints ``ready``,
waits for a line on its standard input (so that every worker starts at once), then:

* imports the form export ``EXPORT`` with the command line (every worker imports the same
  rows: each row must become one request, whoever imports it first);
* answers its share of the pending proposals (one transaction per answer), alternating with
  new requests of its own (``W<INDEX>-<n>``, one transaction each).

It prints ``done T`` with ``T`` the number of transactions it committed. Generated data only.
"""

from __future__ import annotations

import datetime as dt
import io
import sys
import zlib

import attrs

from crash_worker import START, _new_request, _to_waiting, register_on
from mt_access import PatientIdentity, RequestState
from mt_access.cli import main as cli
from mt_access.store.locations import open_store

NEW_REQUESTS = 8


def main(argv: list[str]) -> int:
    location, index, workers, export = argv[1], int(argv[2]), int(argv[3]), argv[4]
    store = open_store(location, create=False)
    register = register_on(store)
    print("ready", flush=True)
    sys.stdin.readline()
    out, err = io.StringIO(), io.StringIO()
    code = cli(
        ["import", export, "--registre", location, "--formulaire", "generique",
         "--sans-progression", "--date", "02/03/2026"],
        out=out, err=err,
    )  # fmt: skip
    if code != 0:
        print(f"import failed {code}: {err.getvalue()}", file=sys.stderr, flush=True)
        return 1
    committed = 1
    day = START + dt.timedelta(days=8)
    mine = [
        (summary.id, gp)
        for summary in store.summaries([RequestState.PROPOSED])
        if zlib.crc32(summary.id.encode()) % workers == index
        for gp in summary.proposed_to
    ]
    done: set[str] = set()
    for n in range(max(len(mine), NEW_REQUESTS)):
        if n < len(mine):
            rid, gp = mine[n]
            if rid not in done:  # one answer per request: an acceptance closes the others
                accepted = zlib.crc32(f"{rid}/{gp}".encode()) % 3 == 0
                register.answer(rid, gp, day, accepted=accepted, comment="réponse")
                committed += 1
                if accepted:
                    done.add(rid)
        if n < NEW_REQUESTS:
            request = attrs.evolve(
                _new_request(register, 1000 * index + n, day), id=f"W{index}-{n}"
            )
            with store.transaction():
                _to_waiting(register, request, PatientIdentity(last_name=f"Fictif{index}x{n}"))
            committed += 1
    store.close()
    print(f"done {committed}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
