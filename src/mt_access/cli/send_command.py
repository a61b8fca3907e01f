"""The command ``envoyer``: the letters due by e-mail (acknowledgements not sent yet, a match
run's letters, feedback to referrers of requests closed lately), a dry run by default."""

from __future__ import annotations

import argparse
import datetime as dt
import os
from typing import TYPE_CHECKING, Any

from mt_access.cli.common import (
    EXIT_NOT_SENT,
    EXIT_OK,
    Console,
    add_register,
    day_of,
    open_register,
    parse_date,
    table,
    whole_int,
)
from mt_access.cli.registry_base import in_french

if TYPE_CHECKING:
    from mt_access.letters.sending import Group

__all__ = ["SEND_GROUPS", "add_send_parser", "cmd_send"]

SEND_GROUPS: tuple[Group, ...] = ("accuses", "appariement", "retours")
"""The choices of ``--seulement``: :data:`mt_access.letters.sending.GROUPS` (not imported
here, so that building the parser does not load the letters; a test checks they agree)."""

SMTP_FILE_ENV = "MT_ACCESS_SMTP_FICHIER"
"""The environment variable naming the SMTP settings file (as ``--smtp``)."""


def add_send_parser(sub: Any) -> None:
    """Add ``envoyer`` to the ``mt-access`` sub-parsers."""
    summary = (
        "envoyer par courriel les courriers dus : accusés de réception pas encore faits, "
        "courriers du dernier appariement (dossiers qualifiés aux médecins par MSSanté, "
        "orientations), retours aux adresseurs des demandes closes depuis un mois ; sans "
        "--envoyer, montre seulement ce qui partirait"
    )
    parser: argparse.ArgumentParser = sub.add_parser(
        "envoyer",
        aliases=["send"],
        help=summary,
        description=summary[0].upper() + summary[1:] + ". Le serveur SMTP est lu dans les "
        "variables MT_ACCESS_SMTP_HOST, _PORT, _USER, _PASSWORD ou dans le fichier de --smtp.",
    )
    add_register(parser)
    parser.set_defaults(func=in_french(cmd_send))
    parser.add_argument(
        "--run",
        "--appariement",
        dest="run",
        type=whole_int,
        default=None,
        metavar="N",
        help="numéro de l'appariement (le dernier par défaut)",
    )
    parser.add_argument(
        "--date",
        type=parse_date,
        default=None,
        metavar="JJ/MM/AAAA",
        help="date des courriers (par défaut : aujourd'hui, et pour ceux de l'appariement sa date)",
    )
    parser.add_argument(
        "--seulement",
        action="append",
        choices=SEND_GROUPS,
        default=None,
        metavar="COURRIERS",
        help="seulement ces courriers (option répétable) : accuses (accusés de réception des "
        "demandes reçues pas encore accusées), appariement (dossiers qualifiés, orientations, "
        "ressources de l'appariement), retours (retours aux adresseurs des demandes closes) ; "
        "tous par défaut",
    )
    parser.add_argument(
        "--depuis",
        type=parse_date,
        default=None,
        metavar="JJ/MM/AAAA",
        help="retours aux adresseurs des demandes closes depuis cette date (par défaut : "
        "depuis un mois avant la date des courriers)",
    )
    parser.add_argument(
        "--envoyer",
        action="store_true",
        help="envoyer vraiment (sans cette option : aperçu, rien n'est envoyé ni enregistré)",
    )
    parser.add_argument(
        "--format",
        choices=("pdf", "md", "txt"),
        default=None,
        help="format de la pièce jointe (pdf si WeasyPrint est installé, sinon md)",
    )
    parser.add_argument(
        "--smtp",
        default=None,
        metavar="FICHIER",
        help="fichier de réglages SMTP (lignes MT_ACCESS_SMTP_CLÉ=valeur, droits 600) au lieu "
        f"des variables d'environnement ; aussi {SMTP_FILE_ENV}",
    )


def cmd_send(args: argparse.Namespace, console: Console) -> int:
    from mt_access.letters.sending import (
        STATUS_LABELS,
        acknowledge_sent,
        due_letters,
        send_letters,
    )
    from mt_access.letters.smtp import SmtpSettings

    smtp = None
    if args.envoyer:
        file = args.smtp or os.environ.get(SMTP_FILE_ENV)
        smtp = SmtpSettings.from_file(file) if file else SmtpSettings.from_env()
    on: dt.date = day_of(args)
    acknowledged: list[str] = []
    with open_register(args, readonly=not args.envoyer) as register:
        due = due_letters(
            register, on, groups=args.seulement or SEND_GROUPS, run=args.run, run_on=args.date,
            since=args.depuis,
        )  # fmt: skip
        report = send_letters(
            register, due.letters, send=args.envoyer, smtp=smtp, attachment=args.format
        )
        if report.sent:
            acknowledged = acknowledge_sent(register, report, on)
    if not args.envoyer:
        console.say("Aperçu : rien n'est envoyé ni enregistré (ajoutez --envoyer pour envoyer).")
    if due.run is not None:
        console.say(f"Courriers de l'appariement n° {due.run} compris.")
    rows = [
        (
            p.letter.request_id,
            p.letter.kind.label,
            p.recipient_kind,
            p.masked or "—",
            p.attachment,
            STATUS_LABELS[p.status],
            p.reason,
        )
        for p in report.letters
    ]
    headers = ("demande", "courrier", "destinataire", "adresse", "format", "état", "motif")
    console.say(table(headers, rows, max_width=160) if rows else "Aucun courrier à envoyer.")
    for rid in due.missing:
        console.warn(
            f"demande {rid} : courrier impossible à écrire (données effacées ou proposition "
            "retirée)"
        )
    counts = [f"{report.count(s)} {label}" for s, label in STATUS_LABELS.items() if report.count(s)]
    console.say(f"{len(report.letters)} courrier(s) : {', '.join(counts) or 'aucun'}.")
    if acknowledged:
        console.say(
            f"Accusé de réception enregistré pour {len(acknowledged)} demande(s) (au "
            f"{on:%d/%m/%Y}) : {', '.join(acknowledged)}."
        )
    if report.sent and not report.complete:
        console.warn(
            "des courriers ne sont pas partis ; relancez « mt-access envoyer --envoyer » plus "
            "tard (les courriers déjà envoyés ne le seront pas deux fois)"
        )
        return EXIT_NOT_SENT
    return EXIT_OK
