"""Commands that write files from a register: ``rapport``, ``export``, ``carte``."""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path
from typing import Any

from mt_access.calendar import Month
from mt_access.cli.common import (
    EXIT_OK,
    CommandError,
    Console,
    add_date,
    add_register,
    day_of,
    open_register,
    parse_month,
)
from mt_access.register import Register

__all__ = ["add_commands", "export_table", "write_map", "write_report"]


def write_report(
    register: Register, month: Month, folder: Path, console: Console, *, personal: bool
) -> list[Path]:
    """The monthly report in ``folder``: workbook, plots and map; the files written."""
    from mt_access.workbook import write_monthly_report

    report = write_monthly_report(register, month, folder, personal=personal)
    written = [report.workbook, *report.plots]
    written.append(write_map(register, month.last_day, folder / f"carte_{month}.html"))
    console.say(report.indicators.summary())
    return written


def write_map(register: Register, on: dt.date, path: Path, *, tiles: bool = True) -> Path:
    """The availability map of ``on`` written to ``path``."""
    from mt_access.maps import availability_map

    return availability_map(register, on).save(path, tiles="OpenStreetMap" if tiles else None)


def _cmd_report(args: argparse.Namespace, console: Console) -> int:
    with open_register(args, readonly=True) as register:
        month = args.mois or Month.of(dt.date.today()).previous()
        folder = Path(args.dossier or f"rapport_{month}")
        written = write_report(register, month, folder, console, personal=args.nominatif)
    console.say("Fichiers écrits :")
    for path in written:
        console.say(f"  {path}")
    return EXIT_OK


def export_table(
    register: Register, on: dt.date, *, pseudonymised: bool, personal: bool
) -> tuple[tuple[str, ...], list[dict[str, Any]], dict[str, Any]]:
    """What ``mt-access export`` writes: the columns, the rows and the column types of the
    pseudonymised export, or of every request's follow-up up to ``on`` (with names and
    contacts when ``personal``)."""
    if pseudonymised:
        from mt_access.privacy import export_columns, export_types

        return (
            tuple(export_columns(register.policy)),
            list(register.pseudonymised_rows()),
            dict(export_types(register.policy)),
        )
    from mt_access.indicators import Period
    from mt_access.workbook import follow_up_rows, follow_up_types

    summaries = register.list_requests()
    first = min((s.received for s in summaries), default=on)
    period = Period(first, max(on, first))
    columns, rows = follow_up_rows(register, period, personal=personal, all_requests=True)
    return (
        tuple(columns),
        list(rows),
        dict(follow_up_types(register.policy, personal=personal)),
    )


def _cmd_export(args: argparse.Namespace, console: Console) -> int:
    from mt_access.export import EXCEL_FR, STANDARD, write_rows

    target = Path(args.fichier)
    if target.suffix.lower() not in (".csv", ".xlsx"):
        raise CommandError(f"{target} : l'export s'écrit en .csv ou .xlsx")
    if args.pseudonymise and args.nominatif:
        raise CommandError("--pseudonymise et --nominatif s'excluent")
    if args.csv_standard and target.suffix.lower() != ".csv":
        raise CommandError("--csv-standard ne s'applique qu'à un fichier .csv")
    with open_register(args, readonly=True) as register:
        columns, rows, types = export_table(
            register, day_of(args), pseudonymised=args.pseudonymise, personal=args.nominatif
        )
        write_rows(
            rows,
            columns,
            target,
            sheet="demandes",
            types=types,
            csv_format=STANDARD if args.csv_standard else EXCEL_FR,
        )
    kind = "pseudonymisé" if args.pseudonymise else ("nominatif" if args.nominatif else "")
    console.say(f"Export {kind + ' ' if kind else ''}de {len(rows)} demande(s) : {target}")
    if args.nominatif:
        console.warn("cet export contient des données personnelles : ne le partagez pas.")
    return EXIT_OK


def _cmd_map(args: argparse.Namespace, console: Console) -> int:
    if Path(args.sortie).suffix.lower() not in (".html", ".htm"):
        raise CommandError(
            f"{args.sortie} : la carte s'écrit en .html (une page à ouvrir dans le navigateur)"
        )
    with open_register(args, readonly=True) as register:
        on = day_of(args)
        path = write_map(register, on, Path(args.sortie), tiles=not args.sans_fond)
    console.say(f"Carte des disponibilités au {on:%d/%m/%Y} : {path}")
    return EXIT_OK


def add_commands(sub: Any) -> None:
    """Add ``rapport``, ``export`` and ``carte`` to the ``mt-access`` sub-parsers."""
    rep = sub.add_parser(
        "rapport",
        aliases=["report"],
        help="rapport du mois : classeur de suivi, indicateurs, graphiques, carte",
        description="Écrit dans un dossier le classeur de suivi (entrées et sorties, "
        "indicateurs, médecins), les graphiques de la liste d'attente et des délais, et la "
        "carte des disponibilités.",
    )
    add_register(rep)
    rep.add_argument(
        "--mois", type=parse_month, default=None, help="mois AAAA-MM (le mois dernier par défaut)"
    )
    rep.add_argument("--dossier", default=None, help="dossier du rapport (rapport_AAAA-MM)")
    rep.add_argument(
        "--nominatif",
        action="store_true",
        help="ajouter noms et coordonnées des patients au classeur (à ne pas partager)",
    )
    rep.set_defaults(func=_cmd_report)

    exp = sub.add_parser(
        "export",
        help="exporter les demandes en CSV ou XLSX (pseudonymisé pour un partage)",
        description="Exporte la liste des demandes (entrées et sorties) en XLSX (dates, nombres "
        "et oui/non typés, en-tête figé, filtres) ou en CSV comme Excel en français l'ouvre "
        "(séparateur ;, UTF-8 avec BOM, virgule décimale, dates jj/mm/aaaa). --pseudonymise "
        "remplace l'identifiant par un pseudonyme et la date de naissance par une tranche "
        "d'âge, pour un partage.",
    )
    add_register(exp)
    exp.add_argument("fichier", metavar="FICHIER", help="fichier .csv ou .xlsx à écrire")
    exp.add_argument("--pseudonymise", action="store_true", help="export pseudonymisé")
    exp.add_argument(
        "--nominatif", action="store_true", help="ajouter noms et coordonnées (à ne pas partager)"
    )
    exp.add_argument(
        "--csv-standard",
        action="store_true",
        help="CSV pour les outils d'analyse : séparateur virgule, UTF-8 sans BOM, point "
        "décimal, dates AAAA-MM-JJ",
    )
    add_date(exp, "date de fin de l'export")
    exp.set_defaults(func=_cmd_export)

    carte = sub.add_parser(
        "carte",
        aliases=["map"],
        help="carte des disponibilités des médecins et de la demande en attente",
        description="Écrit une carte HTML : territoire, communes colorées selon la demande en "
        "attente pour 1 000 habitants, médecins et places restantes du mois.",
    )
    add_register(carte)
    carte.add_argument("--sortie", default="carte.html", help="fichier HTML (carte.html)")
    carte.add_argument(
        "--sans-fond",
        action="store_true",
        help="sans fond de carte OpenStreetMap (utilisable hors connexion)",
    )
    add_date(carte, "date de la carte")
    carte.set_defaults(func=_cmd_map)
