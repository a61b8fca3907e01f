"""What the commands share: exit codes, dates, opening a register file, tables in French."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import unicodedata
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from mt_access.calendar import Month
from mt_access.errors import MtAccessError
from mt_access.loading import load_policy
from mt_access.policy import Policy
from mt_access.register import Register
from mt_access.store.sqlite import SQLiteStore

__all__ = [
    "DEFAULT_REGISTER",
    "EXIT_INVALID_INPUT",
    "EXIT_OK",
    "EXIT_REFUSED",
    "EXIT_STORE",
    "EXIT_USAGE",
    "CommandError",
    "Console",
    "add_date",
    "add_register",
    "open_register",
    "parse_date",
    "parse_month",
    "table",
]

EXIT_OK = 0
"""Success."""
EXIT_INVALID_INPUT = 1
"""Invalid data or policy: a YAML file, a form export, a value given on the command line."""
EXIT_USAGE = 2
"""Wrong usage of the command (unknown option, missing argument)."""
EXIT_REFUSED = 3
"""The register refused the operation: unknown request or GP, an event impossible in the
request's state, no place left..."""
EXIT_STORE = 4
"""The register file cannot be used: missing, not a register, locked, or newer than this
version of mt-access; or an output file cannot be written."""
EXIT_INTERRUPTED = 130
"""Interrupted (Ctrl-C); a transaction in progress is rolled back."""

DEFAULT_REGISTER = "registre.sqlite"
"""The register file used when neither ``--registre`` nor ``MT_ACCESS_REGISTRE`` is given."""

POLICY_SETTING = "policy"
"""The store setting naming the register's policy (a shipped name or a YAML path)."""


class CommandError(MtAccessError):
    """A command cannot run as asked (French message); exit code in :attr:`code`."""

    def __init__(self, message: str, code: int = EXIT_INVALID_INPUT) -> None:
        super().__init__(message)
        self.code = code


class Console:
    """Where a command writes: ``out`` for results, ``err`` for warnings and progress."""

    def __init__(self, out: TextIO, err: TextIO | None = None) -> None:
        self.out = out
        self.err = err if err is not None else sys.stderr

    def say(self, text: str = "") -> None:
        """Write a line of results."""
        self.out.write(text + "\n")

    def warn(self, text: str) -> None:
        """Write a warning line (``attention : ...``) to the error stream."""
        self.err.write(f"attention : {text}\n")


def parse_date(text: str) -> dt.date:
    """A date written ``JJ/MM/AAAA`` or ``AAAA-MM-JJ``."""
    text = text.strip()
    for fmt in ("%d/%m/%Y", "%Y-%m-%d"):
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise argparse.ArgumentTypeError(f"date attendue JJ/MM/AAAA ou AAAA-MM-JJ, reçu {text!r}")


def parse_month(text: str) -> Month:
    """A month written ``AAAA-MM`` or ``MM/AAAA``."""
    text = text.strip()
    if "/" in text:
        month, _, year = text.partition("/")
        text = f"{year}-{month.zfill(2)}"
    try:
        return Month.parse(text)
    except (ValueError, MtAccessError):
        raise argparse.ArgumentTypeError(f"mois attendu AAAA-MM, reçu {text!r}") from None


def add_date(parser: argparse.ArgumentParser, what: str = "date de l'événement") -> None:
    """``--date``: the day the event happened (today by default)."""
    parser.add_argument(
        "--date",
        type=parse_date,
        default=None,
        metavar="JJ/MM/AAAA",
        help=f"{what} (aujourd'hui par défaut)",
    )


def day_of(args: argparse.Namespace) -> dt.date:
    """The ``--date`` given, or today."""
    chosen = getattr(args, "date", None)
    return chosen if isinstance(chosen, dt.date) else dt.date.today()


def add_register(parser: argparse.ArgumentParser) -> None:
    """``--registre`` and ``--politique``, for the commands that work on a register file."""
    parser.add_argument(
        "-r",
        "--registre",
        default=None,
        metavar="FICHIER",
        help=f"fichier du registre (variable MT_ACCESS_REGISTRE, sinon {DEFAULT_REGISTER})",
    )
    parser.add_argument(
        "--politique",
        default=None,
        metavar="NOM|FICHIER",
        help="politique à utiliser au lieu de celle enregistrée dans le registre",
    )


def register_path(args: argparse.Namespace) -> Path:
    """The register file named by ``--registre``, ``MT_ACCESS_REGISTRE`` or the default."""
    chosen = getattr(args, "registre", None) or os.environ.get("MT_ACCESS_REGISTRE")
    return Path(chosen or DEFAULT_REGISTER)


@contextmanager
def open_register(args: argparse.Namespace, *, readonly: bool = False) -> Iterator[Register]:
    """Open the register file of the command (it must exist) with its policy.

    Raises:
        CommandError: no such file, or no policy recorded and none given.
    """
    path = register_path(args)
    if not path.exists():
        raise CommandError(
            f"{path} : registre introuvable ; créez-le avec « mt-access registre creer "
            f"{path} --politique NOM » ou indiquez-le avec --registre",
            EXIT_STORE,
        )
    store = SQLiteStore(path, create=False, readonly=readonly)
    try:
        policy = policy_of(store.settings(), getattr(args, "politique", None), path)
        yield Register(store, policy)
    finally:
        store.close()


def policy_of(settings: dict[str, str], override: str | None, path: Path) -> Policy:
    """The policy given on the command line, else the one recorded in the register."""
    chosen = override or settings.get(POLICY_SETTING)
    if not chosen:
        raise CommandError(
            f"{path} : aucune politique enregistrée dans ce registre ; indiquez --politique"
        )
    return load_policy(chosen)


def _width(text: str) -> int:
    return sum(0 if unicodedata.combining(c) else 1 for c in text)


def _cut(text: str, width: int) -> str:
    if _width(text) <= width:
        return text
    return text[: max(width - 1, 1)] + "…"


def table(
    headers: Sequence[str],
    rows: Sequence[Sequence[object]],
    *,
    max_width: int = 40,
    right: Sequence[int] = (),
) -> str:
    """A plain-text table: a header, a rule, one line per row; columns padded, cells longer
    than ``max_width`` cut with « … »; columns in ``right`` aligned right (numbers)."""
    cells = [[_cut(str(c), max_width) for c in row] for row in rows]
    widths = [_width(h) for h in headers]
    for row in cells:
        for j, cell in enumerate(row):
            widths[j] = max(widths[j], _width(cell))

    def line(values: Sequence[str]) -> str:
        parts = []
        for j, value in enumerate(values):
            pad = " " * (widths[j] - _width(value))
            parts.append(pad + value if j in right else value + pad)
        return "  ".join(parts).rstrip()

    out = [line(list(headers)), line(["-" * w for w in widths])]
    out.extend(line(row) for row in cells)
    return "\n".join(out)
