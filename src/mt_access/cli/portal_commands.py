"""``mt-access medecin lien``: a GP's personal link to the web portal, or its revocation.

The link is signed with the key of ``mt-access serve`` for this register (the variable
``MT_ACCESS_WEB_SECRET``, else the file ``<registre>.secret``; a register in PostgreSQL needs
the variable), so that the application accepts it; it needs the ``web`` extra.
"""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
from contextlib import closing
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from mt_access.bounds import DEFAULT_LINK_DAYS, MAX_LINK_DAYS
from mt_access.cli.common import (
    EXIT_INVALID_INPUT,
    EXIT_OK,
    EXIT_REFUSED,
    EXIT_STORE,
    CommandError,
    Console,
    add_register,
    register_location,
)
from mt_access.cli.registry_base import in_french
from mt_access.store.locations import is_store_url, open_store

__all__ = ["DEFAULT_BASE_URL", "add_gp_link", "cmd_gp_link"]

DEFAULT_BASE_URL = "http://127.0.0.1:8000"
"""The address of ``mt-access serve`` put in front of a link by default."""


def _days(text: str) -> int:
    try:
        days = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"un nombre entier de jours entre 1 et {MAX_LINK_DAYS} attendu"
        ) from None
    if not 1 <= days <= MAX_LINK_DAYS:
        raise argparse.ArgumentTypeError(f"un nombre de jours entre 1 et {MAX_LINK_DAYS} attendu")
    return days


def _base_url(text: str) -> str:
    parts = urlsplit(text.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise argparse.ArgumentTypeError(
            "une adresse http(s) attendue, sans « ? » ni « # » (ex. https://mt.cpts.fr)"
        )
    return text.strip().rstrip("/")


def _actor() -> str:
    try:
        name = getpass.getuser()
    except (KeyError, OSError):  # pragma: no cover - no user name in this environment
        name = "inconnu"
    return f"cli:{name}"


def cmd_gp_link(args: argparse.Namespace, console: Console) -> int:
    """``medecin lien MEDECIN [--jours N] [--adresse URL] [--revoquer]``."""
    try:
        from mt_access.web.app import secret_key
        from mt_access.web.portal_links import issue_link, link_path, revoke
    except ImportError:  # pragma: no cover - flask and itsdangerous are in the web extra
        raise CommandError(
            "les liens des médecins demandent l'extra « web » de mt-access : "
            "pip install 'mt-access[web]'",
            EXIT_INVALID_INPUT,
        ) from None
    location = register_location(args)
    if not is_store_url(location) and not Path(location).exists():
        raise CommandError(
            f"{location} : registre introuvable ; indiquez-le avec --registre", EXIT_STORE
        )
    with closing(open_store(location, create=False)) as store:
        physician = store.get_physician(args.medecin)
        if physician is None:
            raise CommandError(f"médecin inconnu : {args.medecin}", EXIT_REFUSED)
        if args.revoquer:
            revoke(store, args.medecin, actor=_actor())
            console.say(
                f"Liens de {physician.name} ({args.medecin}) révoqués : ceux déjà donnés ne "
                "s'ouvrent plus. Créez-en un nouveau avec « mt-access medecin lien "
                f"{args.medecin} »."
            )
            return EXIT_OK
        key = secret_key(location if is_store_url(location) else Path(location))
        token = issue_link(store, key, args.medecin, actor=_actor(), days=args.jours)
    until = dt.date.today() + dt.timedelta(days=args.jours)
    console.say(args.adresse + link_path(token))
    console.err.write(
        f"Lien personnel de {physician.name} ({args.medecin}), valable {args.jours} jours "
        f"(jusqu'au {until:%d/%m/%Y}) : à transmettre par messagerie sécurisée ; "
        f"« mt-access medecin lien {args.medecin} --revoquer » le désactive.\n"
    )
    return EXIT_OK


def add_gp_link(gp_sub: Any) -> None:
    """Add ``lien`` to the ``medecin`` sub-parsers."""
    link = gp_sub.add_parser(
        "lien",
        aliases=["link"],
        help="lien personnel d'un médecin vers son espace web : créer ou révoquer",
        description="Affiche un lien personnel, signé et à durée limitée, vers l'espace du "
        "médecin dans l'application web (mt-access serve) : ses propositions à accepter ou "
        "refuser et, si la politique partage des listes, sa liste où choisir. Le lien ne "
        "contient aucune donnée de patient. --revoquer désactive tous les liens déjà donnés "
        "à ce médecin.",
    )
    link.add_argument("medecin", metavar="MEDECIN", help="identifiant du médecin")
    link.add_argument(
        "--jours",
        type=_days,
        default=DEFAULT_LINK_DAYS,
        metavar="N",
        help=f"durée de validité en jours ({DEFAULT_LINK_DAYS} ; au plus {MAX_LINK_DAYS})",
    )
    link.add_argument(
        "--adresse",
        type=_base_url,
        default=DEFAULT_BASE_URL,
        metavar="URL",
        help=f"adresse de l'application vue par le médecin ({DEFAULT_BASE_URL})",
    )
    link.add_argument(
        "--revoquer",
        action="store_true",
        help="révoquer tous les liens de ce médecin au lieu d'en créer un",
    )
    add_register(link)
    link.set_defaults(func=in_french(cmd_gp_link))
