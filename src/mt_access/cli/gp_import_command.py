"""``mt-access medecin importer FICHIER``: the GPs of a CSV or XLSX file added to the register
(:mod:`mt_access.gp_file`), with a simulation and a rejections report."""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path
from typing import Any

from mt_access.cli.common import (
    EXIT_OK,
    Console,
    add_register,
    open_register,
    parse_date,
    shown_problems,
)
from mt_access.cli.registry_base import in_french

__all__ = ["add_gp_import", "cmd_gp_import"]


def cmd_gp_import(args: argparse.Namespace, console: Console) -> int:
    from mt_access.gp_file import read_gp_file
    from mt_access.gp_import import import_gps, write_gp_rejections
    from mt_access.gp_mapping import load_gp_mapping

    today = args.aujourdhui or dt.date.today()
    mapping = None if args.correspondance is None else load_gp_mapping(args.correspondance)
    with open_register(args, readonly=args.simulation) as register:
        result = read_gp_file(
            args.fichier,
            register.policy,
            physicians=register.physicians(),
            declarations=register.store.ledger_entries(),
            today=today,
            sheet=args.feuille,
            mapping=mapping,
        )
        for warning in result.warnings():
            console.warn(warning)
        console.say(result.summary() + ".")
        shown = [str(p) for p in result.problems] + [str(d) for d in result.duplicates]
        for line in shown[: args.max_problemes]:
            console.say(f"  {line}")
        if len(shown) > args.max_problemes:
            console.say(f"  ... et {len(shown) - args.max_problemes} autre(s)")
        for entry in result.changed:
            headings = ", ".join(f"« {h} »" for h in (*entry.differences, *entry.fixed))
            console.say(f"  ligne {entry.row} : médecin {entry.id} modifié ({headings})")
        if result.problems or result.duplicates:
            report = write_gp_rejections(result, args.rejets)
            console.say(f"Lignes non importées et leurs raisons : {report}")
        if args.simulation:
            console.say("Simulation : rien n'a été enregistré (relancez sans --simulation).")
            return EXIT_OK
        outcome = import_gps(
            register,
            result,
            update=args.mettre_a_jour,
            comment=f"import de {Path(args.fichier).name}",
        )
    console.say(outcome.summary() + ".")
    if outcome.added:
        console.say("Médecins ajoutés : " + ", ".join(pid for _, pid in outcome.added) + ".")
    if outcome.updated:
        console.say("Médecins mis à jour : " + ", ".join(pid for _, pid in outcome.updated) + ".")
    if outcome.not_updated and not args.mettre_a_jour:
        console.say(
            "Les médecins modifiés n'ont pas été changés : relancez avec --mettre-a-jour pour "
            "enregistrer les différences."
        )
    elif outcome.not_updated:
        for row, pid, fixed in outcome.not_updated:
            listed = ", ".join(f"« {h} »" for h in fixed)
            console.say(
                f"  ligne {row} : médecin {pid}, adhésion déjà enregistrée, à modifier sur sa "
                f"fiche : {listed}"
            )
    if outcome.nothing_new:
        console.say("Aucun médecin ajouté ni modifié.")
    return EXIT_OK


def add_gp_import(gp_sub: Any) -> None:
    """Add ``importer`` to the ``medecin`` sub-parsers."""
    summary = "importer des médecins depuis un fichier CSV ou XLSX (un médecin par ligne)"
    parser = gp_sub.add_parser(
        "importer",
        aliases=["import"],
        help=summary,
        description="Ajoute au registre les médecins d'un fichier CSV ou XLSX, une ligne par "
        "médecin, avec les en-têtes « RPPS », « Nom », « Prénom », « Commune d'exercice », "
        "« Places par mois », « Modalités », « Communes acceptées », « Date d'entrée », "
        "« Date de retrait » et les coordonnées du cabinet (voir docs/guide-coordinateur.md). "
        "Les lignes incorrectes sont refusées et listées dans un rapport ; les autres sont "
        "enregistrées ensemble. Un médecin déjà enregistré à l'identique est ignoré ; un "
        "médecin modifié n'est changé qu'avec --mettre-a-jour.",
    )
    parser.add_argument("fichier", metavar="FICHIER", help="fichier des médecins (.csv ou .xlsx)")
    parser.add_argument(
        "--simulation",
        "--dry-run",
        action="store_true",
        help="vérifier le fichier et compter les médecins sans rien enregistrer",
    )
    parser.add_argument(
        "--mettre-a-jour",
        dest="mettre_a_jour",
        action="store_true",
        help="enregistrer aussi les différences des médecins déjà enregistrés (nom, commune, "
        "RPPS, coordonnées, adhésion ou retrait manquant)",
    )
    parser.add_argument("--feuille", default=None, help="feuille du classeur XLSX")
    parser.add_argument(
        "--correspondance",
        default=None,
        metavar="COLONNES.yaml",
        help="fichier YAML des en-têtes propres à votre tableur (clé fields : rpps, "
        "last_name, commune...) ; voir docs/guide-coordinateur.md",
    )
    parser.add_argument(
        "--rejets",
        default=None,
        metavar="FICHIER",
        help="rapport des lignes non importées (<fichier>.rejets.csv par défaut ; .xlsx possible)",
    )
    parser.add_argument(
        "--max-problemes",
        dest="max_problemes",
        type=shown_problems,
        default=20,
        metavar="N",
        help="problèmes affichés au plus (20 ; tous sont dans le rapport des rejets)",
    )
    parser.add_argument(
        "--aujourdhui",
        type=parse_date,
        default=None,
        metavar="JJ/MM/AAAA",
        help="date du jour (une date d'entrée ou de retrait postérieure est refusée) ; "
        "aujourd'hui par défaut",
    )
    add_register(parser)
    parser.set_defaults(func=in_french(cmd_gp_import))
