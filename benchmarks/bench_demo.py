"""Benchmark of ``mt-access demo`` (the README's first command), target ≤ 10 s wall.

Runs the installed console script in a fresh process, as a coordinator would after
``pip install``, several times into a temporary folder, and prints the wall time of each run
(process start, imports, the example register on SQLite, the month's matching, letters,
generated GP answers, the monthly report with its plots, and the map). Prints figures, never
asserts on time. Usage::

    .venv/bin/python benchmarks/bench_demo.py [--runs 3] [--politique deule_marque]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--politique", default="voironnais")
    args = parser.parse_args()
    script = Path(sys.executable).with_name("mt-access")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "mt_access.cli"]
    times = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.runs):
            folder = Path(tmp) / f"demo{i}"
            start = time.perf_counter()
            subprocess.run(
                [*command, "demo", "--dossier", str(folder), "--politique", args.politique],
                check=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            times.append(time.perf_counter() - start)
            print(f"run {i + 1}: {times[-1]:.2f} s")
            shutil.rmtree(folder)
    print(
        f"mt-access demo ({args.politique}): median {statistics.median(times):.2f} s, "
        f"max {max(times):.2f} s over {args.runs} runs (target ≤ 10 s)"
    )


if __name__ == "__main__":
    main()
