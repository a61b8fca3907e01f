"""Several processes recording in one register at the same moment: nothing lost, nothing
recorded twice, no deadlock.

Four workers (``tests/concurrency_worker.py``) start together on a register with pending
proposals: each imports the same form export with the command line, then answers its share
of the proposals and adds requests of its own, each operation one transaction. Afterwards:

* the register is intact (``integrity_check``);
* every worker succeeded, and the register's ``version`` grew by exactly the number of
  transactions they committed (none lost);
* each form row became exactly one request, whichever worker imported it;
* each proposal has exactly one recorded answer, and each worker's requests are all there.

On the SQLite file and on the PostgreSQL store (throwaway server, ``tests/pg_server.py``).
Generated data only.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from concurrency_worker import NEW_REQUESTS
from crash_worker import START, register_on, setup
from mt_access import Event, RequestState
from mt_access.store import open_store
from test_cli_commands import _export, _person

WORKER = Path(__file__).with_name("concurrency_worker.py")
WORKERS = 4
ROWS = 20


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_concurrent_writers_lose_nothing_and_double_nothing(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    location: Path | str = (
        request.getfixturevalue("pg_url") if backend == "postgres" else tmp_path / "r.sqlite"
    )
    with open_store(location, create=True) as store:
        register = register_on(store)
        setup(register)
        with store.transaction():
            store.put_setting("policy", "voironnais")
        register.run_match(START + dt.timedelta(days=7))
        pending = {
            (s.id, gp) for s in store.summaries([RequestState.PROPOSED]) for gp in s.proposed_to
        }
        before = store.version
        first_transition = len(store.transitions())
    assert pending
    export = _export(tmp_path / "formulaire.csv", [_person(n) for n in range(1, ROWS + 1)])
    workers = [
        subprocess.Popen(
            [sys.executable, str(WORKER), str(location), str(n), str(WORKERS), str(export)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(WORKERS)
    ]
    try:
        for worker in workers:
            assert worker.stdout is not None
            assert worker.stdout.readline() == "ready\n", worker.stderr.read()  # type: ignore[union-attr]
        for worker in workers:
            assert worker.stdin is not None
            worker.stdin.write("go\n")
            worker.stdin.flush()
        outputs = [worker.communicate(timeout=600) for worker in workers]
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
    committed = 0
    for worker, (out, err) in zip(workers, outputs, strict=True):
        assert worker.returncode == 0, err
        committed += int(out.split()[-1])

    with open_store(location, readonly=True) as store:
        assert store.integrity_check() == []
        assert store.version - before == committed  # no transaction lost
        imported = store.all_imported_rows()
        assert len(imported) == ROWS
        assert len(set(imported.values())) == ROWS  # each row one request
        history = store.transitions()[first_transition:]
        received = Counter(
            t.request_id for t in history if t.event is Event.RECEIVE and "import" in t.comment
        )
        assert sorted(received.values()) == [1] * ROWS
        answers = Counter(
            (t.request_id, t.physician_id)
            for t in history
            if t.event in (Event.ACCEPT, Event.REFUSE)
        )
        assert set(answers.values()) <= {1}  # never twice
        answered_requests = {rid for rid, _ in answers}
        assert answered_requests == {rid for rid, _ in pending}
        ids = {s.id for s in store.summaries()}
        assert {f"W{w}-{n}" for w in range(WORKERS) for n in range(NEW_REQUESTS)} <= ids
