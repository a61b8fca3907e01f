"""The ``mt-access`` command's entry point, kept outside the ``mt_access`` package.

Importing the package takes about half a second (numpy, OR-Tools, the engine, the
commands). A Ctrl-C in that time used to stop Python in the middle of an import and print an
English traceback, before the command's own handling (« interrompu », exit code 130) was in
place. This module imports nothing of the project until :func:`main` runs, so it can catch
that Ctrl-C and answer as the command does.
"""

from __future__ import annotations

import sys

__all__ = ["main"]

EXIT_INTERRUPTED = 130
"""``mt_access.cli.errors.EXIT_INTERRUPTED``, written here: importing it is what can be
interrupted."""


def main() -> int:
    """Load the command line, then run it (:func:`mt_access.cli.main`)."""
    try:
        from mt_access.cli import main as run
    except KeyboardInterrupt:
        if sys.stderr is not None:  # a service started without an error stream
            sys.stderr.write("interrompu\n")
        return EXIT_INTERRUPTED
    return run()
