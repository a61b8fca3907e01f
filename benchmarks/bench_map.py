"""The folium decision, measured: what folium brings to the availability map, and costs.

Run with ``python benchmarks/bench_map.py`` (mt_access importable). Prints:

* the packages installed only for folium (folium and what it requires, less what the rest of
  mt-access requires anyway) and their size on disk, when they are installed;
* the import time of folium and branca (if installed), in a fresh process, against Jinja2
  alone (the letters already need it) and the map's renderer;
* the time to draw the availability map of a generated register (the Voironnais and
  Deûle-Marque policies), and the share of it spent inside folium and branca (cProfile).
"""

from __future__ import annotations

import contextlib
import cProfile
import datetime as dt
import importlib.metadata
import pstats
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _requires(name: str) -> set[str]:
    found = set()
    for requirement in importlib.metadata.requires(name) or []:
        if "extra ==" in requirement:
            continue
        found.add(re.split(r"[\s<>=!~;\[(]", requirement, maxsplit=1)[0].lower())
    return found


def _closure(names: set[str]) -> set[str]:
    seen: set[str] = set()
    todo = list(names)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            todo.extend(_requires(name))
    return seen


def _size(name: str) -> int:
    files = importlib.metadata.distribution(name).files or []
    total = 0
    for file in files:
        path = Path(str(file.locate()))
        if path.is_file():
            total += path.stat().st_size
    return total


def packages() -> None:
    core = _requires("mt-access") | {"folium"}  # as it was before issue 17
    with_folium = _closure(core)
    without = _closure(core - {"folium"})
    only = sorted(with_folium - without)
    sizes = {name: _size(name) for name in only}
    print(f"packages installed only for folium: {len(only)}")
    for name in only:
        version = importlib.metadata.version(name)
        print(f"  {name:<22} {version:<10} {sizes[name] / 2**20:6.2f} MiB")
    print(f"  total {sum(sizes.values()) / 2**20:.2f} MiB on disk")


def import_time(module: str) -> float:
    code = f"import time; s = time.perf_counter(); import {module}; print(time.perf_counter() - s)"
    runs = [
        float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             check=True).stdout)
        for _ in range(3)
    ]  # fmt: skip
    return min(runs)


def render(policy_name: str) -> None:
    import mt_access
    from mt_access.examples import example_register
    from mt_access.maps import availability_map
    from mt_access.store import SQLiteStore

    with tempfile.TemporaryDirectory() as folder:
        policy = mt_access.load_policy(policy_name)
        register = mt_access.Register(SQLiteStore(Path(folder) / "r.sqlite"), policy)
        on = example_register(register, requests_per_month=200, physicians=40)
        amap = availability_map(register, on + dt.timedelta(days=1))
        amap.html(tiles=None)  # warm: imports, outlines
        best = min(_timed(lambda: amap.html(tiles=None)) for _ in range(3))
        profile = cProfile.Profile()
        profile.enable()
        page = amap.html(tiles=None)
        profile.disable()
        stats = pstats.Stats(profile)
        total = stats.total_tt  # type: ignore[attr-defined]
        inside = sum(
            row[2]  # own time of each function
            for (file, _, _), row in stats.stats.items()  # type: ignore[attr-defined]
            if "/folium/" in file or "/branca/" in file
        )
        print(
            f"{policy_name:<14} {len(amap.communes):4d} communes, {len(amap.physicians):3d} GPs: "
            f"html() {best:.3f} s, page {len(page) / 1024:.0f} KiB; own time in folium/branca "
            f"{100 * inside / total:.0f} % of the profiled call (0 % once folium is gone)"
        )


def _timed(function: object) -> float:
    start = time.perf_counter()
    function()  # type: ignore[operator]
    return time.perf_counter() - start


def main() -> None:
    packages()
    for module in ("numpy", "jinja2", "branca", "folium", "mt_access", "mt_access.maps._render"):
        try:
            print(f"import {module:<24} {1000 * import_time(module):6.0f} ms (fresh process)")
        except subprocess.CalledProcessError:
            print(f"import {module:<24} not installed")
    for name in ("voironnais", "deule_marque"):
        render(name)


if __name__ == "__main__":
    main()
