"""The web caches after one change of the data: the positions' waiting list and the level
filter's levels, on a copy of a large register (``docs/benchmarks.md``, web load).

Opens the web application on ``--chemin`` (a register file, e.g. the 100,000-request one that
``bench_web.py`` prepares; work on a copy: the file is written, and upgraded by a newer
schema), computes both caches once as a first page would, then ``--tours`` times: another
connection records one contact attempt on a waiting request (the data version changes), the
clock moves past the level filter's minute, and both caches are asked for again as the next
page would (``web.waiting_cache.kept_waiting_list`` when this code has it, else
``context.by_data(..., read_waiting_list)``; ``web.levels.every_level``). Prints the processor
time (``time.process_time``) and the wall time of each, in milliseconds. Run it with the
sources to measure first on the path (``PYTHONPATH=…/src``), before and after a change.
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
from pathlib import Path
from typing import Any

from mt_access.indicators.position import read_waiting_list
from mt_access.lifecycle import RequestState
from mt_access.loading import load_policy
from mt_access.register import Register
from mt_access.store.sqlite import SQLiteStore
from mt_access.web import context, levels
from mt_access.web.app import create_app


def _timed(compute: Any) -> tuple[float, float]:
    cpu, wall = time.process_time(), time.perf_counter()
    compute()
    return (time.process_time() - cpu) * 1000, (time.perf_counter() - wall) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--chemin", type=Path, required=True, help="a copy of a register file")
    parser.add_argument("--tours", type=int, default=3, help="changes measured (3)")
    args = parser.parse_args()
    with SQLiteStore(args.chemin) as store:
        settings = store.settings()
        policy = load_policy(settings.get("policy", "voironnais"))
        on = dt.date.fromisoformat(settings.get("bench_web_date", dt.date.today().isoformat()))
        waiting = [s.id for s in store.summaries([RequestState.WAITING])]
    now = [dt.datetime.combine(on, dt.time(9), tzinfo=dt.UTC)]
    app = create_app(
        args.chemin,
        config={
            "SECRET_KEY": "banc d'essai " * 4,
            "MT_ACCESS_CLOCK": lambda: now[0],
            "MT_ACCESS_TODAY": lambda: on,
        },
    )

    def position_list() -> object:
        register = context.register()
        try:
            from mt_access.web.waiting_cache import kept_waiting_list
        except ImportError:  # the code before the change
            return context.by_data(
                f"position:{on.isoformat()}", lambda: read_waiting_list(register, on)
            )
        return kept_waiting_list(register, on)

    with app.app_context():
        first = _timed(position_list), _timed(levels.every_level)
    print(
        f"première fois : position {first[0][0]:.0f} ms ({first[0][1]:.0f} ms réels), "
        f"niveaux {first[1][0]:.0f} ms ({first[1][1]:.0f} ms réels)"
    )
    for round_ in range(args.tours):
        with SQLiteStore(args.chemin) as writer:
            Register(writer, policy).record_contact(waiting[round_], on, False)
        now[0] += dt.timedelta(seconds=levels.LEVELS_SECONDS + 1)
        with app.app_context():
            position = _timed(position_list)
            kept = _timed(levels.every_level)
        print(
            f"après une écriture {round_ + 1} : position {position[0]:.0f} ms "
            f"({position[1]:.0f} ms réels), niveaux {kept[0]:.0f} ms ({kept[1]:.0f} ms réels)"
        )


if __name__ == "__main__":
    main()
