"""The availability map opened in a real browser: headless Chromium (Debian's ``chromium``).

The saved page (``tiles=None``: no network) is opened twice at the same time, each with a
fresh profile: once to dump the DOM after the scripts ran (the map, the legend, one SVG path
per commune and per GP), once for a screenshot, kept as an artefact in
``$MT_ACCESS_ARTEFACTS`` (else in pytest's temporary folder; the path is printed).

Without Chromium the tests are skipped, unless ``MT_ACCESS_REQUIRE_CHROMIUM=1`` (CI) makes
them fail.
"""

from __future__ import annotations

import os
import signal
import struct
import subprocess
import time
from html.parser import HTMLParser
from pathlib import Path

import pytest

import mt_access
from chromium_support import artefacts_dir, chromium_path
from mt_access import MemoryStore, PatientIdentity, Register
from mt_access.examples import example_month
from mt_access.maps import AvailabilityMap, availability_map

TIMEOUT_S = 60
WINDOW = (1200, 900)
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--no-default-browser-check",
    "--hide-scrollbars",
    "--enable-logging=stderr",
    "--virtual-time-budget=2000",
)


@pytest.fixture(scope="module")
def chromium() -> str:
    return chromium_path()


def _example(name: str) -> AvailabilityMap:
    """The example month of a shipped policy after a match run; in March, four GPs declare
    more places so that the map shows GPs with places left, full and suspended."""
    policy = mt_access.load_policy(name)
    assert policy.reference is not None
    example = example_month(policy, policy.reference, requests=40)
    register = Register(MemoryStore(), policy)
    register.update_physicians(example.physicians)
    for request in example.requests:
        outside = request.commune not in policy.territory
        register.add_request(request, PatientIdentity(last_name="Zébulonne"), out_of_scope=outside)
        if not outside:
            register.acknowledge(request.id, request.received)
            register.confirm(request.id, request.received)
            register.to_waiting(request.id, request.received)
    register.run_match(example.on)
    for i, physician in enumerate(register.physicians()[:4]):
        register.change_capacity(physician.id, example.on, 5 + i)
    return availability_map(register, example.on)


class _Dom(HTMLParser):
    """What the test looks for in the dumped DOM."""

    def __init__(self) -> None:
        super().__init__()
        self.containers = 0
        self.interactive_paths = 0
        self.paths = 0
        self.legend_depth = 0
        self.legend_text: list[str] = []
        self.attribution_text: list[str] = []
        self._attribution_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        classes = (dict(attrs).get("class") or "").split()
        if "leaflet-container" in classes:
            self.containers += 1
        if tag == "path":
            self.paths += 1
            if "leaflet-interactive" in classes:
                self.interactive_paths += 1
        if self.legend_depth or "mt-legende" in classes:
            self.legend_depth += 1
        if self._attribution_depth or "leaflet-control-attribution" in classes:
            self._attribution_depth += 1

    def handle_endtag(self, tag: str) -> None:
        if self.legend_depth:
            self.legend_depth -= 1
        if self._attribution_depth:
            self._attribution_depth -= 1

    def handle_data(self, data: str) -> None:
        if self.legend_depth:
            self.legend_text.append(data)
        if self._attribution_depth:
            self.attribution_text.append(data)


def _command(chromium: str, profile: Path, *action: str) -> list[str]:
    return [chromium, *FLAGS, f"--user-data-dir={profile}", *action]


def _run(commands: list[list[str]]) -> list[subprocess.CompletedProcess[str]]:
    """Run the browsers at the same time, each in its own process group (killed whole on
    timeout)."""
    running = [
        subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        for command in commands
    ]
    done = []
    for process, command in zip(running, commands, strict=True):
        try:
            out, err = process.communicate(timeout=TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            pytest.fail(f"Chromium n'a pas répondu en {TIMEOUT_S} s : {' '.join(command)}")
        done.append(subprocess.CompletedProcess(command, process.returncode, out, err))
    return done


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG file"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


@pytest.mark.parametrize("name", ["voironnais", "deule_marque"])
def test_the_map_renders_in_chromium(
    chromium: str, name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    amap = _example(name)
    page = amap.save(tmp_path / f"carte_{name}.html", tiles=None)
    screenshot = artefacts_dir(tmp_path) / f"carte_{name}.png"
    screenshot.unlink(missing_ok=True)
    url = page.resolve().as_uri()

    start = time.monotonic()
    dump, shot = _run(
        [
            _command(chromium, tmp_path / "profil-dom", "--dump-dom", url),
            _command(
                chromium,
                tmp_path / "profil-capture",
                f"--window-size={WINDOW[0]},{WINDOW[1]}",
                f"--screenshot={screenshot}",
                url,
            ),
        ]
    )
    elapsed = time.monotonic() - start
    assert dump.returncode == 0, dump.stderr[-2000:]
    assert shot.returncode == 0, shot.stderr[-2000:]
    for run in (dump, shot):
        assert "Uncaught" not in run.stderr, run.stderr[-2000:]

    dom = _Dom()
    dom.feed(dump.stdout)
    assert dom.containers == 1
    legend = " ".join("".join(dom.legend_text).split())
    assert "Demande en attente pour 1 000 habitants" in legend
    assert amap.policy_name in legend
    assert amap.month_label in legend
    for label in amap.class_labels:
        assert " ".join(label.split()) in legend
    assert "places disponibles" in legend
    assert "IGN ADMIN EXPRESS" in "".join(dom.attribution_text)
    outlined = sum(c.has_outline for c in amap.communes)
    circles = sum(not c.has_outline and c.lat is not None for c in amap.communes)
    markers = sum(p.lat is not None for p in amap.physicians)
    # one interactive path per commune and per GP; the territory's outline is not interactive
    assert dom.interactive_paths == outlined + circles + markers
    assert dom.paths == dom.interactive_paths + 1

    assert screenshot.is_file()
    assert _png_size(screenshot) == WINDOW
    assert screenshot.stat().st_size > 20_000  # a drawn map, not a blank page
    with capsys.disabled():
        print(f"\ncarte {name} : capture {screenshot} (Chromium : {elapsed:.1f} s)")
