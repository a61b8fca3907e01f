"""A French text progress bar for batches (the edge: it writes to a stream).

Anything that takes a ``progress(done, total)`` callback (geocoding batches, later imports
and simulations) can be given ``ProgressBar("Géocodage")``. No dependency: on a terminal the
line is redrawn in place; elsewhere (logs, CI) a line is written every 10 %.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

__all__ = ["ProgressBar"]


class ProgressBar:
    """``progress(done, total)`` callback drawing ``Géocodage : [#####.....] 50 % (500/1000)``.

    Attributes:
        label: what is being done, in French.
        stream: where to write (standard error by default).
        width: characters of the bar.
    """

    def __init__(self, label: str, *, stream: TextIO | None = None, width: int = 30) -> None:
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.width = width
        self._interactive = bool(getattr(self.stream, "isatty", lambda: False)())
        self._last_decile = -1
        self._last_draw = 0.0

    def line(self, done: int, total: int) -> str:
        """The text for ``done`` items out of ``total``."""
        share = done / total if total else 1.0
        filled = round(share * self.width)
        bar = "#" * filled + "." * (self.width - filled)
        percent = f"{share * 100:.0f}".replace(".", ",")
        return f"{self.label} : [{bar}] {percent} % ({done}/{total})"

    def __call__(self, done: int, total: int) -> None:
        finished = done >= total
        if self._interactive:
            now = time.monotonic()
            if finished or now - self._last_draw >= 0.1:
                self._last_draw = now
                self.stream.write("\r" + self.line(done, total) + ("\n" if finished else ""))
                self.stream.flush()
            return
        decile = int(10 * done / total) if total else 10
        if decile > self._last_decile or finished:
            self._last_decile = decile
            self.stream.write(self.line(done, total) + "\n")
            self.stream.flush()
