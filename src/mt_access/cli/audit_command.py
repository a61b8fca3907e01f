"""``mt-access journal``: the register's audit trail as CSV (French Excel style), printed or
written to a file, for the administrator (the audit trail holds no personal data)."""

from __future__ import annotations

import argparse
import csv
import datetime as dt
from collections.abc import Sequence
from contextlib import closing
from pathlib import Path
from typing import Any

from mt_access.cli.common import (
    EXIT_OK,
    EXIT_STORE,
    CommandError,
    Console,
    parse_date,
    register_location,
)
from mt_access.column_types import ColumnType
from mt_access.store.base import AuditRecord
from mt_access.store.locations import is_store_url, open_store

__all__ = ["AUDIT_COLUMNS", "AUDIT_TYPES", "add_commands", "audit_rows", "cmd_audit"]

AUDIT_COLUMNS: tuple[str, ...] = ("n°", "date", "heure (UTC)", "qui", "quoi", "objet", "détail")
"""The columns of the exported audit trail, in French."""

AUDIT_TYPES: dict[str, ColumnType] = {"n°": ColumnType.INTEGER, "date": ColumnType.DATE}
"""Their types (the others are text)."""


def audit_rows(
    records: Sequence[AuditRecord], since: dt.date | None = None
) -> list[dict[str, Any]]:
    """The lines of ``records`` (in any order) dated ``since`` or later (UTC), oldest first,
    as rows of :data:`AUDIT_COLUMNS`."""
    rows: list[dict[str, Any]] = []
    for record in sorted(records, key=lambda r: r.seq):
        at = record.at if record.at.tzinfo is None else record.at.astimezone(dt.UTC)
        if since is not None and at.date() < since:
            continue
        rows.append(
            {
                "n°": record.seq,
                "date": at.date(),
                "heure (UTC)": f"{at:%H:%M:%S}",
                "qui": record.actor,
                "quoi": record.action,
                "objet": record.subject or "",
                "détail": record.detail,
            }
        )
    return rows


def _print_csv(rows: Sequence[dict[str, Any]], console: Console) -> None:
    """The rows as French Excel's CSV (``;``, dates ``jj/mm/aaaa``), without the byte order
    mark of a file; text that a spreadsheet would run as a formula is neutralised."""
    from mt_access.export import neutralise

    writer = csv.writer(console.out, delimiter=";", lineterminator="\n")
    writer.writerow(AUDIT_COLUMNS)
    for row in rows:
        writer.writerow(
            [
                str(row["n°"]),
                f"{row['date']:%d/%m/%Y}",
                row["heure (UTC)"],
                *(neutralise(str(row[c])) for c in AUDIT_COLUMNS[3:]),
            ]
        )


def cmd_audit(args: argparse.Namespace, console: Console) -> int:
    """``journal [--depuis JJ/MM/AAAA] [--sortie FICHIER.csv]``."""
    target = None if args.sortie is None else Path(args.sortie)
    if target is not None and target.suffix.lower() not in (".csv", ".xlsx"):
        raise CommandError(f"{target} : le journal s'écrit en .csv (ou .xlsx)")
    location = register_location(args)
    if not is_store_url(location) and not Path(location).exists():
        raise CommandError(
            f"{location} : registre introuvable ; indiquez-le avec --registre", EXIT_STORE
        )
    with closing(open_store(location, create=False, readonly=True)) as store:
        rows = audit_rows(store.audit_entries(), args.depuis)
    if target is None:
        _print_csv(rows, console)
        return EXIT_OK
    from mt_access.export import write_rows

    write_rows(rows, AUDIT_COLUMNS, target, sheet="journal", types=AUDIT_TYPES)
    since = "" if args.depuis is None else f" depuis le {args.depuis:%d/%m/%Y}"
    console.say(f"Journal d'audit{since} : {len(rows)} ligne(s) écrite(s) dans {target}")
    return EXIT_OK


def add_commands(sub: Any) -> None:
    """Add ``journal`` to the ``mt-access`` sub-parsers."""
    from mt_access.cli.common import DEFAULT_REGISTER

    journal = sub.add_parser(
        "journal",
        aliases=["audit"],
        help="journal d'audit du registre en CSV (administrateur)",
        description="Affiche ou écrit le journal d'audit du registre (écritures et "
        "affichages d'identité faits par l'application web et les commandes de comptes), du "
        "plus ancien au plus récent, en CSV comme Excel en français l'ouvre (séparateur ;, "
        "dates jj/mm/aaaa ; dans un fichier : UTF-8 avec BOM). Le journal ne contient aucune "
        "donnée personnelle. Outil de l'administrateur.",
    )
    journal.add_argument(
        "-r",
        "--registre",
        default=None,
        metavar="FICHIER|URL",
        help=(
            "fichier du registre, ou base PostgreSQL (postgresql://…) ; variable "
            f"MT_ACCESS_REGISTRE, sinon {DEFAULT_REGISTER}"
        ),
    )
    journal.add_argument(
        "--depuis",
        type=parse_date,
        default=None,
        metavar="JJ/MM/AAAA",
        help="seulement les lignes de ce jour (UTC) et des suivants",
    )
    journal.add_argument(
        "--sortie",
        default=None,
        metavar="FICHIER.csv",
        help="écrire le journal dans ce fichier (.csv, ou .xlsx) au lieu de l'afficher",
    )
    journal.set_defaults(func=cmd_audit)
