"""What the commands share: exit codes, dates, opening a register file, tables in French."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import sys
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from mt_access.bounds import MAX_MONTHLY_CAPACITY, MAX_YEARLY_CAPACITY, Bound, check_number
from mt_access.calendar import MONTH_NAMES_FR, Month
from mt_access.errors import CommandError, MtAccessError
from mt_access.loading import load_policy
from mt_access.policy import Policy
from mt_access.register import Register
from mt_access.store.locations import is_store_url, open_store, shown_location

__all__ = [
    "DEFAULT_REGISTER",
    "EXIT_BROKEN_PIPE",
    "EXIT_INTERNAL",
    "EXIT_INTERRUPTED",
    "EXIT_INVALID_INPUT",
    "EXIT_OK",
    "EXIT_REFUSED",
    "EXIT_STORE",
    "EXIT_USAGE",
    "CommandError",
    "Console",
    "add_date",
    "add_register",
    "bounded_int",
    "open_register",
    "parse_date",
    "parse_month",
    "shown_problems",
    "table",
    "whole_int",
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
version of mt-access; or a file cannot be found, read or written (a system error: missing,
permission, full disk...). A file that can be read but whose content is wrong is
:data:`EXIT_INVALID_INPUT`."""
EXIT_NOT_SENT = 75
"""``envoyer --envoyer``: some letters were not sent (server refusal, timeout, server out of
reach); the others were sent and recorded: run it again later (``EX_TEMPFAIL``)."""
EXIT_INTERNAL = 70
"""An unexpected error inside mt-access (a bug): one French line, the traceback with
``--debug`` (``EX_SOFTWARE`` of sysexits.h)."""
EXIT_INTERRUPTED = 130
"""Interrupted (Ctrl-C); a transaction in progress is rolled back."""
EXIT_BROKEN_PIPE = 141
"""The reader of the output went away (``mt-access demande liste | head -1``): nothing more is
printed, as for the standard tools killed by SIGPIPE (128 + 13)."""

DEFAULT_REGISTER = "registre.sqlite"
"""The register file used when neither ``--registre`` nor ``MT_ACCESS_REGISTRE`` is given."""

POLICY_SETTING = "policy"
"""The store setting naming the register's policy (a shipped name or a YAML path)."""


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


_FR_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")
_ISO_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")


YEARS = (1900, 2199)
"""The years a date or a month given on the command line may have: the register's months
start in 1900 (:class:`~mt_access.calendar.Month`), and a month near year 9999 would
overflow the calendar when the next months are computed."""


def parse_date(text: str) -> dt.date:
    """A date written ``JJ/MM/AAAA`` or ``AAAA-MM-JJ``.

    Raises:
        argparse.ArgumentTypeError: a wrongly written date (the expected formats are named),
            or a date that does not exist, named as such (« le 31 février 2026 n'existe pas »).
    """
    text = text.strip()
    if found := _FR_DATE.fullmatch(text):
        day, month, year = (int(g) for g in found.groups())
    elif found := _ISO_DATE.fullmatch(text):
        year, month, day = (int(g) for g in found.groups())
    else:
        raise argparse.ArgumentTypeError(
            f"date mal écrite : {text!r} ; attendu JJ/MM/AAAA (par exemple 15/03/2026) ou "
            "AAAA-MM-JJ"
        )
    if not 1 <= month <= 12:
        raise argparse.ArgumentTypeError(
            f"date impossible : {text!r} ; le mois {month} n'existe pas (1 à 12)"
        )
    if year < dt.MINYEAR:
        raise argparse.ArgumentTypeError(f"date impossible : {text!r} ; l'année 0 n'existe pas")
    if not YEARS[0] <= year <= YEARS[1]:
        raise argparse.ArgumentTypeError(
            f"date hors de la période possible : {text!r} ; année de {YEARS[0]} à {YEARS[1]} "
            "attendue"
        )
    try:
        return dt.date(year, month, day)
    except ValueError:
        named = f"{'1er' if day == 1 else day} {MONTH_NAMES_FR[month - 1]} {year}"
        raise argparse.ArgumentTypeError(
            f"date impossible : le {named} n'existe pas ({text!r})"
        ) from None


def parse_month(text: str) -> Month:
    """A month written ``AAAA-MM`` or ``MM/AAAA``."""
    text = text.strip()
    shown = text
    if "/" in text:
        month, _, year = text.partition("/")
        text = f"{year}-{month.zfill(2)}"
    found = re.fullmatch(r"(\d{4})-(\d{1,2})", text)
    if found and not 1 <= int(found[2]) <= 12:
        raise argparse.ArgumentTypeError(
            f"mois impossible : {shown!r} ; le mois {int(found[2])} n'existe pas (1 à 12)"
        )
    if found and not YEARS[0] <= int(found[1]) <= YEARS[1]:
        raise argparse.ArgumentTypeError(
            f"mois hors de la période possible : {shown!r} ; année de {YEARS[0]} à {YEARS[1]} "
            "attendue"
        )
    try:
        return Month.parse(text)
    except (ValueError, MtAccessError):
        raise argparse.ArgumentTypeError(
            f"mois mal écrit : {shown!r} ; attendu AAAA-MM (par exemple 2026-03) ou MM/AAAA"
        ) from None


CAPACITY = Bound(0, MAX_MONTHLY_CAPACITY, integer=True)
"""The bounds of a monthly capacity given on the command line."""

YEARLY_CAPACITY = Bound(0, MAX_YEARLY_CAPACITY, integer=True)
"""The bounds of a yearly capacity given on the command line (``--par-an``)."""


def whole_int(text: str) -> int:
    """An argparse ``type=`` for a whole number whose bounds depend on another option (checked
    by the command, e.g. a capacity per month or, with ``--par-an``, per year)."""
    try:
        return int(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"nombre entier attendu, reçu {text!r}") from None


def bounded_int(what: str, bound: Bound) -> Callable[[str], int]:
    """An argparse ``type=`` for a whole number within ``bound``.

    Text that is not a whole number is a usage error (exit code 2); a number outside the
    bounds is an invalid value (:class:`CommandError`, exit code 1), named with ``what``.
    """

    def convert(text: str) -> int:
        try:
            value = int(text.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"nombre entier attendu, reçu {text!r}") from None
        expected = check_number(value, bound)
        if expected is not None:
            shown = str(value) if len(str(value)) <= 12 else "nombre trop grand"
            raise CommandError(f"{what} : {shown} refusé ; {expected}", EXIT_INVALID_INPUT)
        return value

    return convert


SHOWN_PROBLEMS = Bound(0, 100_000, integer=True)
"""``--max-problemes``: the problems an import prints at most (all are in its report)."""


shown_problems = bounded_int("--max-problemes", SHOWN_PROBLEMS)
"""An argparse ``type=`` for ``--max-problemes`` (:data:`SHOWN_PROBLEMS`)."""


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
        metavar="FICHIER|URL",
        help=(
            "fichier du registre, ou base PostgreSQL (postgresql://…) ; variable "
            f"MT_ACCESS_REGISTRE, sinon {DEFAULT_REGISTER}"
        ),
    )
    parser.add_argument(
        "--politique",
        default=None,
        metavar="NOM|FICHIER",
        help="politique à utiliser au lieu de celle enregistrée dans le registre",
    )


_URL = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://")


def checked_location(location: str) -> str:
    """``location`` if it is a file path or a ``postgresql://`` URL.

    Raises:
        CommandError: another URL (``mysql://``, ``sqlite://``...), named by its scheme only
            (its text may hold a password).
    """
    found = _URL.match(location)
    if found and not is_store_url(location):
        raise CommandError(
            f"registre : adresse « {found['scheme']}://… » non reconnue ; un fichier (par "
            "exemple registre.sqlite) ou une base PostgreSQL (postgresql://…) attendu",
            EXIT_STORE,
        )
    return location


def register_location(args: argparse.Namespace) -> str:
    """The register named by ``--registre``, ``MT_ACCESS_REGISTRE`` or the default: a file
    path, or a ``postgresql://`` URL (:func:`~mt_access.store.locations.open_store`).

    Raises:
        CommandError: another kind of URL (:func:`checked_location`).
    """
    return checked_location(_given_location(args))


def _given_location(args: argparse.Namespace) -> str:
    chosen = getattr(args, "registre", None) or os.environ.get("MT_ACCESS_REGISTRE")
    return str(chosen or DEFAULT_REGISTER)


def register_path(args: argparse.Namespace) -> Path:
    """The register file named by ``--registre``, ``MT_ACCESS_REGISTRE`` or the default (for
    a URL, a path made of its text: use :func:`register_location` and
    :func:`register_shown` where a URL is accepted; not checked: also used to name the
    paths the user typed in error messages)."""
    return Path(_given_location(args))


def register_shown(args: argparse.Namespace) -> str:
    """The register as messages show it (a URL's password masked)."""
    return shown_location(register_location(args))


@contextmanager
def open_register(args: argparse.Namespace, *, readonly: bool = False) -> Iterator[Register]:
    """Open the register of the command (a file, which must exist, or a PostgreSQL URL)
    with its policy.

    Raises:
        CommandError: no such file, or no policy recorded and none given.
        StoreError: the register cannot be opened.
    """
    location = register_location(args)
    if not is_store_url(location) and not Path(location).exists():
        raise CommandError(
            f"{location} : registre introuvable ; créez-le avec « mt-access registre creer "
            f"{location} --politique NOM » ou indiquez-le avec --registre",
            EXIT_STORE,
        )
    store = open_store(location, create=False, readonly=readonly)
    try:
        policy = policy_of(store.settings(), getattr(args, "politique", None), register_shown(args))
        yield Register(store, policy)
    finally:
        store.close()


def policy_of(settings: dict[str, str], override: str | None, path: Path | str) -> Policy:
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
