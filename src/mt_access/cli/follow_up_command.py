"""The ``reprise`` command: migrate a CPTS's existing follow-up sheet (entries and exits with
dates and outcomes) into the register as past requests with their histories, so that the
reports keep the CPTS's past figures (:mod:`mt_access.intake.follow_up`)."""

from __future__ import annotations

import argparse
import datetime as dt
from typing import Any

from mt_access.cli.common import (
    EXIT_INVALID_INPUT,
    EXIT_OK,
    Console,
    add_register,
    open_register,
    shown_problems,
    table,
)
from mt_access.cli.registry_base import in_french

__all__ = ["add_commands", "cmd_follow_up"]


def cmd_follow_up(args: argparse.Namespace, console: Console) -> int:
    from mt_access.intake.follow_up import read_follow_up_file
    from mt_access.intake.mapping_file import load_mapping
    from mt_access.intake.rejections import write_rejections

    today = args.aujourdhui or dt.date.today()
    with open_register(args, readonly=args.simulation) as register:
        mapping = load_mapping(args.formulaire, register.policy.questions)
        result = read_follow_up_file(
            args.fichier,
            register.policy,
            mapping=mapping,
            today=today,
            sheet=args.feuille,
            physicians=register.physicians(),
            known=register.known_persons(),
            known_received=register.received_dates(),
            imported=register.imported_rows,
        )
        for warning in result.warnings():
            console.warn(warning)
        console.say(result.summary() + ".")
        counts = result.counts()
        rows = [(outcome.label, n) for outcome, n in counts.items() if n]
        if rows:
            console.say(table(("issue", "demandes"), rows, right=(1,)))
            months = [(m.label, e, x) for m, e, x in result.months()]
            console.say(table(("mois", "entrées", "sorties"), months, right=(1, 2)))
        if result.problems:
            for problem in result.problems[: args.max_problemes]:
                console.say(f"  {problem}")
            hidden = len(result.problems) - args.max_problemes
            if hidden > 0:
                console.say(f"  ... et {hidden} autre(s) problème(s)")
            if result.unknown_physicians:
                console.say(
                    f"{len(result.unknown_physicians)} médecin(s) attribué(s) inconnu(s) du "
                    "registre (leurs noms sont dans le fichier des rejets) : ajoutez-les avec "
                    "« mt-access medecin ajouter ID --nom ... --commune ... --rpps ... », même "
                    "s'ils ont quitté le dispositif depuis."
                )
            report = write_rejections(result.as_intake_result(), args.rejets)
            console.say(f"Lignes refusées et leurs raisons : {report}")
            console.say(
                "Rien n'a été repris : la reprise se fait en entier ou pas du tout. Corrigez ou "
                "retirez ces lignes, puis relancez."
            )
            return EXIT_INVALID_INPUT
        if args.simulation:
            console.say("Simulation : rien n'a été enregistré (relancez sans --simulation).")
            return EXIT_OK
        outcome = register.migrate_follow_up(result)
        if outcome.nothing_new:
            console.say(f"{args.fichier} : déjà repris ; aucune demande ajoutée.")
        console.say(outcome.summary() + ".")
        if outcome.registered:
            first, last = outcome.registered[0][1], outcome.registered[-1][1]
            console.say(f"Demandes créées : {first} à {last}.")
    return EXIT_OK


def add_commands(sub: Any) -> None:
    """Add ``reprise`` to the ``mt-access`` sub-parsers."""
    from mt_access.cli.common import parse_date

    summary = (
        "reprendre un suivi existant (entrées et sorties datées, avec leur issue) comme "
        "historique du registre"
    )
    parser = sub.add_parser(
        "reprise",
        aliases=["reprendre"],
        help=summary,
        description="Chaque ligne du suivi (le tableur où la CPTS note les entrées et les "
        "sorties du dispositif) devient une demande reçue à sa date d'entrée, puis sortie à sa "
        "date de sortie avec son issue (ou en liste d'attente si elle est encore ouverte). "
        "La correspondance se déduit avec « mt-access formulaire deduire SUIVI ». Tout ou "
        "rien : une seule ligne refusée, et rien n'est enregistré. Un fichier repris deux fois "
        "n'ajoute rien.",
    )
    parser.add_argument("fichier", metavar="SUIVI", help="suivi CSV ou XLSX")
    parser.add_argument(
        "--formulaire",
        required=True,
        metavar="FICHIER.yaml",
        help="correspondance YAML du suivi (mt-access formulaire deduire SUIVI)",
    )
    parser.add_argument(
        "--simulation",
        "--dry-run",
        action="store_true",
        help="compter les demandes par issue et par mois sans rien enregistrer",
    )
    parser.add_argument("--feuille", default=None, help="feuille du classeur XLSX")
    parser.add_argument(
        "--rejets",
        default=None,
        metavar="FICHIER",
        help="rapport des lignes refusées (<fichier>.rejets.csv par défaut)",
    )
    parser.add_argument(
        "--max-problemes",
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
        help="date du jour (une date postérieure est refusée) ; aujourd'hui par défaut",
    )
    add_register(parser)
    parser.set_defaults(func=in_french(cmd_follow_up))
