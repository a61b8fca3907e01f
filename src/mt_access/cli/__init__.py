"""Command line ``mt-access`` (French messages, ``--help`` on every command).

See :mod:`mt_access.cli.app` for the commands and :mod:`mt_access.cli.common` for the exit
codes; ``docs/cli.md`` for the coordinator's reference.
"""

from __future__ import annotations

from mt_access.cli.app import main
from mt_access.cli.common import (
    EXIT_BROKEN_PIPE,
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXIT_INVALID_INPUT,
    EXIT_NOT_SENT,
    EXIT_OK,
    EXIT_REFUSED,
    EXIT_STORE,
    EXIT_USAGE,
)
from mt_access.cli.summary import render_run, render_summary

__all__ = [
    "EXIT_BROKEN_PIPE",
    "EXIT_INTERNAL",
    "EXIT_INTERRUPTED",
    "EXIT_INVALID_INPUT",
    "EXIT_NOT_SENT",
    "EXIT_OK",
    "EXIT_REFUSED",
    "EXIT_STORE",
    "EXIT_USAGE",
    "main",
    "render_run",
    "render_summary",
]
