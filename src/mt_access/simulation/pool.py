"""Worker processes for :func:`~mt_access.simulation.compare`, started once per comparison.

Each worker is a ``spawn`` process (the same on Linux, macOS and Windows). It receives the
scenarios and the policies' YAML mappings once, compiles the policies, loads the commune
reference and generates the GPs once, then runs chunks of replications until told to stop:
nothing is rebuilt or re-imported per replication.

The workers never import the caller's main module. ``multiprocessing`` in ``spawn`` mode
normally re-runs the top level of the script that started it in every worker (so that
functions defined there can be unpickled), which is why scripts usually need an
``if __name__ == "__main__":`` guard. The workers only run mt_access code, so the main module
is hidden while they start: a plain script that calls ``compare`` at its top level works,
and its top level runs once (a test runs the documentation's example as such a script).

A worker says when it is ready; only then is it given chunks of replications (two at a time,
so that it never waits for the next one; smaller towards the end, so that every process
finishes together). Meanwhile the calling process runs replications itself, one at a time,
feeding the workers in between: a comparison never waits for a worker to start, and a short
one may end before any worker is ready.
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
import pickle
import signal
import traceback
from collections.abc import Callable, Iterator, Sequence
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from typing import Any, cast

import attrs

from mt_access.errors import PolicyError
from mt_access.plugins import get_plugin_manager, registry
from mt_access.policy import Policy, policy_from_mapping
from mt_access.processes import main_module_hidden
from mt_access.simulation.generator import Arrival, SimulationError
from mt_access.simulation.records import RunSummary
from mt_access.simulation.runner import run_summary
from mt_access.simulation.scenario import Scenario

__all__ = [
    "PolicyRecipe",
    "WorkerPool",
    "compile_recipe",
    "main_module_hidden",
    "recipe",
    "run_replications",
]

Pair = tuple[int, int, int]
"""A variant to run: (variant, scenario index, policy index)."""

_READY = "ready"
_DONE = "done"
_FAILED = "failed"


# --------------------------------------------------------------------------------------------
# What the workers run


@attrs.frozen(eq=False)
class PolicyRecipe:
    """How a worker rebuilds a policy: its YAML mapping and where it came from."""

    raw: dict[str, Any]
    source: str


def compile_recipe(recipe: PolicyRecipe) -> Policy:
    """The policy of ``recipe``, with the installed plugins and the bundled references."""
    pm = get_plugin_manager()
    found = registry(pm)
    return policy_from_mapping(
        recipe.raw,
        registry=found,
        reference=found.reference(),
        source=recipe.source,
        plugin_manager=pm,
    )


def recipe(policy: Policy) -> PolicyRecipe | None:
    """How a worker rebuilds ``policy``, or ``None`` when it cannot (no YAML mapping, a
    change made with ``attrs.evolve``, plugins or a commune file of its own)."""
    if not policy.raw:
        return None
    found = PolicyRecipe(dict(policy.raw), policy.source)
    try:
        rebuilt = compile_recipe(found)
    except PolicyError:
        return None
    if rebuilt != policy or (
        policy.reference is not None and policy.reference is not rebuilt.reference
    ):
        return None
    return found


def run_replications(
    pairs: Sequence[Pair],
    replications: Sequence[int],
    scenarios: Sequence[Scenario],
    policies: Sequence[Policy],
    done: Callable[[int], None] | None = None,
) -> list[RunSummary]:
    """Every pair on every replication; ``done(runs)`` after each replication."""
    out: list[RunSummary] = []
    for r in replications:
        cache: dict[Any, list[Arrival]] = {}  # the variants of a replication share arrivals
        for v, si, pi in pairs:
            values, waiting, placed = run_summary(scenarios[si], policies[pi], r, cache)
            out.append(RunSummary(v, r, values, waiting, placed))
        if done is not None:
            done(len(pairs))
    return out


# --------------------------------------------------------------------------------------------
# The workers


def _serve(
    connection: Connection,
    scenarios: Sequence[Scenario | None],
    recipes: Sequence[PolicyRecipe | None],
) -> None:
    """A worker's life: set up once, then run the chunks it is sent until ``None``. (The
    scenarios and policies it does not run are ``None``.)"""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the calling process's to handle
    try:
        policies = [compile_recipe(r) if r is not None else None for r in recipes]
        for scenario in scenarios:
            if scenario is not None:
                _ = scenario.register  # generated once per worker
    except BaseException as exc:  # reported to the calling process
        connection.send((_FAILED, None, _portable_error(exc)))
        return
    # The commune reference, the policies and the GPs live as long as the worker: keep the
    # garbage collector from scanning them again and again.
    gc.freeze()
    connection.send((_READY, None, None))
    while True:
        try:
            message = connection.recv()
        except EOFError:  # the calling process has gone
            return
        if message is None:
            return
        number, pairs, replications = message
        try:
            # The pairs sent name only scenarios and policies that are there (not None).
            runs = run_replications(pairs, replications, cast(Any, scenarios), cast(Any, policies))
        except BaseException as exc:  # reported to the calling process
            connection.send((_FAILED, number, _portable_error(exc)))
            return
        connection.send((_DONE, number, runs))


def _portable_error(exc: BaseException) -> BaseException:
    """``exc`` with the worker's traceback as a note, or a :class:`SimulationError` that says
    the same when ``exc`` cannot be sent back."""
    text = "".join(traceback.format_exception(exc))
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:  # any pickling failure
        return SimulationError(f"erreur dans un processus de calcul :\n{text}")
    exc.add_note(f"dans un processus de calcul :\n{text}")
    return exc


class WorkerPool:
    """``count`` worker processes running chunks of one comparison.

    Args:
        count: processes to start.
        scenarios: the scenarios as the workers receive them (``None`` for those they do
            not run), indexed as the pairs index them.
        recipes: how the workers rebuild the policies (``None`` for those they do not run).
        pairs: the (variant, scenario, policy) the workers run on each replication.
    """

    def __init__(
        self,
        count: int,
        scenarios: Sequence[Scenario | None],
        recipes: Sequence[PolicyRecipe | None],
        pairs: Sequence[Pair],
    ) -> None:
        self.pairs = list(pairs)
        self._context = multiprocessing.get_context("spawn")
        self._connections: list[Connection] = []
        self._processes: list[BaseProcess | None] = []
        self._ready: set[int] = set()
        self._in_flight: dict[int, list[int]] = {}
        self._chunks = 0
        self.used: set[int] = set()  # the workers that ran a chunk
        try:
            with main_module_hidden():
                for k in range(count):
                    mine, theirs = self._context.Pipe(duplex=True)
                    process = self._context.Process(
                        target=_serve,
                        args=(theirs, list(scenarios), list(recipes)),
                        name=f"mt-access-simulation-{k + 1}",
                        daemon=True,
                    )
                    process.start()
                    theirs.close()
                    self._connections.append(mine)
                    self._processes.append(process)
                    self._in_flight[k] = []
        except BaseException:
            self.close()
            raise

    @property
    def busy(self) -> bool:
        """Are chunks running, or queued, in a worker?"""
        return any(self._in_flight.values())

    def feed(self, pending: list[int], processes: int) -> None:
        """Send each ready worker replications taken from the front of ``pending`` until it
        has two chunks: chunks of :data:`RUNS_PER_CHUNK` runs, smaller towards the end
        (``pending`` over twice the ``processes``), so that the processes finish together."""
        per_chunk = max(1, RUNS_PER_CHUNK // len(self.pairs))
        for k in sorted(self._ready):
            queue = self._in_flight[k]
            while pending and len(queue) < 2:
                size = max(1, min(per_chunk, -(-len(pending) // (2 * processes))))
                replications = pending[:size]
                del pending[:size]
                self._chunks += 1
                self._connections[k].send((self._chunks, self.pairs, replications))
                queue.append(self._chunks)

    def collect(self, timeout: float | None) -> list[tuple[int, list[RunSummary]]]:
        """The chunks the workers finished, as (number, runs), waiting up to ``timeout``
        seconds for one (``None``: as long as it takes); notes the workers now ready.

        Raises:
            SimulationError: a worker stopped without answering.
            Exception: the error a worker met, with its traceback as a note.
        """
        live = [c for k, c in enumerate(self._connections) if self._processes[k] is not None]
        finished: list[tuple[int, list[RunSummary]]] = []
        for connection in wait(live, timeout) if live else ():
            k = self._connections.index(connection)  # type: ignore[arg-type]
            try:
                kind, number, payload = self._connections[k].recv()
            except EOFError:
                raise SimulationError(
                    "un processus de calcul de la comparaison s'est arrêté sans répondre "
                    "(voir ses messages d'erreur ci-dessus)"
                ) from None
            if kind == _FAILED:
                raise payload
            if kind == _READY:
                self._ready.add(k)
                continue
            self._in_flight[k].remove(number)
            self.used.add(k)
            finished.append((number, payload))
        return finished

    def close(self) -> None:
        """Stop the workers: an idle worker is told to stop, the others (still starting, or
        after an error) are terminated."""
        for k, process in enumerate(self._processes):
            if process is None:
                continue
            try:
                if k in self._ready and not self._in_flight[k]:
                    self._connections[k].send(None)
                else:
                    process.terminate()
            except OSError:  # pragma: no cover - the worker has already gone
                process.terminate()
        for k, process in enumerate(self._processes):
            if process is None:
                continue
            process.join(timeout=10)
            if process.is_alive():  # pragma: no cover - a worker that ignores the signal
                process.kill()
                process.join()
            self._connections[k].close()
            self._processes[k] = None

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _sendable(*values: object) -> bool:
    """Can ``values`` go to a worker? Not when they hold an object defined in the caller's
    script (e.g. a subclass of an event): the workers do not import it."""
    with main_module_hidden():
        try:
            pickle.dumps(values)
        except (pickle.PicklingError, AttributeError, TypeError):
            return False
    return True


CALLER_RUNS_CHUNKS = True
"""Whether the calling process runs chunks of the workers' pairs while it waits for them
(tests set it to ``False`` to have the workers run every such chunk)."""

RUNS_PER_CHUNK = 12
"""Runs (replications × variants) sent to a worker at a time, at most: about a second of
work for a CPTS, so that progress is reported often."""


@contextlib.contextmanager
def _old_objects_frozen() -> Iterator[None]:
    """While this process runs replications: the objects that existed before (the commune
    reference, the caller's own) are left out of the garbage collector's scans, then put
    back (unless the caller froze objects already)."""
    if gc.get_freeze_count():
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def run_all(
    replications: Sequence[int],
    pairs: Sequence[Pair],
    scenarios: Sequence[Scenario],
    policies: Sequence[Policy],
    *,
    workers: int,
    portable: Sequence[Scenario | None] = (),
    recipes: Sequence[PolicyRecipe | None] = (),
    done: Callable[[int], None] | None = None,
) -> tuple[list[RunSummary], int]:
    """Every pair on every replication, with ``workers`` processes in all (this one
    included); and the processes used: this one and the workers that ran replications.

    The pairs whose scenario is ``portable`` and policy has a ``recipe`` may run in worker
    processes (unless an object of the caller's script is in them); the others run here. The
    results do not depend on where each ran.
    """
    remote = [
        (v, si, pi)
        for v, si, pi in pairs
        if workers > 1
        and si < len(portable)
        and portable[si] is not None
        and pi < len(recipes)
        and recipes[pi] is not None
    ]
    if remote and not _sendable(portable, recipes):
        remote = []
    local = [pair for pair in pairs if pair not in remote]
    runs: list[RunSummary] = []

    def here(chosen: Sequence[Pair], reps: Sequence[int]) -> None:
        runs.extend(run_replications(chosen, reps, scenarios, policies, done))

    with _old_objects_frozen():
        if not remote:
            here(pairs, replications)
            return runs, 1
        pending = list(replications)  # the replications of the remote pairs not given out
        local_todo = list(replications) if local else []  # their local pairs not run yet

        def collected(part: list[tuple[int, list[RunSummary]]]) -> None:
            for _, chunk in part:
                runs.extend(chunk)
                if done is not None:
                    done(len(chunk))

        with WorkerPool(workers - 1, portable, recipes, remote) as pool:
            while pending or local_todo or pool.busy:
                collected(pool.collect(0))
                pool.feed(pending, workers)
                # This process runs one replication at a time, to feed the workers often.
                if pending and CALLER_RUNS_CHUNKS:
                    r = pending.pop(0)
                    if r in local_todo:
                        local_todo.remove(r)
                        here([*remote, *local], [r])
                    else:
                        here(remote, [r])
                elif local_todo:
                    here(local, [local_todo.pop(0)])
                elif pool.busy or pending:
                    collected(pool.collect(None))
            used = 1 + len(pool.used)
    return runs, used
