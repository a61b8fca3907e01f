"""The commands of the web application: ``utilisateur`` (its accounts) and ``serve``.

Both need the ``web`` extra (``pip install 'mt-access[web]'``): argon2-cffi for the accounts,
Flask and waitress for ``serve``; without it they say in French what to install.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import getpass
import ipaddress
import os
import signal
import socket
import threading
import warnings
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

from mt_access.bounds import Bound
from mt_access.cli.common import (
    EXIT_INVALID_INPUT,
    EXIT_OK,
    EXIT_STORE,
    CommandError,
    Console,
    add_register,
    bounded_int,
    register_location,
    register_shown,
    table,
    whole_int,
)
from mt_access.cli.errors import os_reason
from mt_access.cli.registry_base import in_french
from mt_access.store.base import ROLES, Store
from mt_access.store.locations import is_store_url, open_store

__all__ = ["PASSWORD_ENV", "add_commands", "cmd_serve", "cmd_user"]

PASSWORD_ENV = "MT_ACCESS_MOT_DE_PASSE"
"""The environment variable giving the password to ``utilisateur ajouter|mot-de-passe``
(scripts, tests) instead of asking for it twice."""

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")

SERVE_THREADS = 4
"""waitress threads of ``serve`` by default. The pages share one interpreter (its lock): with
8 threads, 20 pages each needing 20 ms of processor time are served side by side, each in
turns of 5 ms, so all of them end late; with 4, the others wait in waitress' queue and each
page, once started, ends sooner. The load benchmark (5 coordinators and 50 GPs on 100,000
requests) gave a p95 of 212 ms against 313 ms on a quiet machine, and 516/456 ms against
606/704 ms under load (docs/benchmarks.md, web load)."""

_THREADS = Bound(1, 64, integer=True)
_threads = bounded_int("--fils", _THREADS)

PORTS = (1, 65535)
"""The ports ``serve --port`` accepts."""


def port_number(text: str) -> int:
    """An argparse ``type=`` for ``--port``: a whole number from 1 to 65535."""
    value = whole_int(text)
    if not PORTS[0] <= value <= PORTS[1]:
        shown = str(value) if len(str(value)) <= 12 else "nombre trop grand"
        raise argparse.ArgumentTypeError(
            f"port entre {PORTS[0]} et {PORTS[1]} attendu, reçu {shown}"
        )
    return value


def listen_host(text: str) -> str:
    """An argparse ``type=`` for ``--hote``: an IP address, or a machine name (letters,
    digits, dots and hyphens) that resolves; whether it is one of this machine's is checked
    when listening (:func:`_check_listen`)."""
    given = text.strip()
    bare = given[1:-1] if given.startswith("[") and given.endswith("]") else given
    with contextlib.suppress(ValueError):
        return str(ipaddress.ip_address(bare))
    labels = bare.split(".")
    syntax = 0 < len(bare) <= 253 and all(
        0 < len(label) <= 63
        and label.replace("-", "").isascii()
        and label.replace("-", "").isalnum()
        and not label.startswith("-")
        for label in labels
    )
    if not syntax:
        raise argparse.ArgumentTypeError(
            f"adresse IP ou nom de machine attendu (ex. 127.0.0.1), reçu {text!r}"
        )
    if _addresses(bare, 0) is None:
        raise argparse.ArgumentTypeError(
            f"adresse de ce poste attendue (ex. 127.0.0.1), « {bare} » est un nom inconnu"
        )
    return bare


def _addresses(host: str, port: int) -> list[Any] | None:
    """What ``host`` resolves to for listening, ``None`` when it does not resolve."""
    try:
        return socket.getaddrinfo(
            host, port, socket.AF_UNSPEC, socket.SOCK_STREAM, 0, socket.AI_PASSIVE
        )
    except (OSError, UnicodeError):
        return None


def _check_listen(host: str, port: int) -> None:
    """Refuse in French, before anything is printed, an address this machine cannot listen
    on: an address that is not this machine's, a port already taken or reserved."""
    found = _addresses(host, port)
    if not found:  # resolved when the command line was read, not any more
        raise CommandError(f"--hote : « {host} » est un nom inconnu", EXIT_STORE)
    family, kind, proto, _, address = found[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            raise _listen_error(host, port, exc) from None


def _listen_error(host: str, port: int, exc: OSError) -> CommandError:
    if exc.errno == errno.EADDRINUSE:
        return CommandError(
            f"--port : le port {port} est déjà utilisé (une autre application, ou mt-access "
            "déjà lancé) ; choisissez-en un autre avec --port",
            EXIT_STORE,
        )
    if exc.errno == errno.EADDRNOTAVAIL:
        return CommandError(
            f"--hote : {host} n'est pas une adresse de ce poste ; indiquez-en une "
            "(127.0.0.1 par défaut)",
            EXIT_STORE,
        )
    if exc.errno in (errno.EACCES, errno.EPERM):
        return CommandError(
            f"--port : le port {port} est réservé (ports sous 1024 : administrateur) ; "
            "choisissez-en un autre avec --port, par exemple 8000",
            EXIT_STORE,
        )
    return CommandError(f"écoute impossible sur {host}, port {port} : {os_reason(exc)}", EXIT_STORE)


@contextmanager
def _stopped_by_sigterm() -> Iterator[None]:
    """SIGTERM (``kill``, a service manager) ends ``serve`` as Ctrl-C does: waitress stops and
    the worker process is shut down (its semaphores released), instead of the process dying
    with them still held."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, frame: object) -> None:
        raise SystemExit(0)

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _missing_extra(what: str) -> CommandError:
    return CommandError(
        f"{what} demande l'extra « web » de mt-access : pip install 'mt-access[web]'",
        EXIT_INVALID_INPUT,
    )


def _actor() -> str:
    try:
        name = getpass.getuser()
    except (KeyError, OSError):  # pragma: no cover - no user name in this environment
        name = "inconnu"
    return f"cli:{name}"


def _open(args: argparse.Namespace) -> Store:
    """The register of ``--registre`` / ``MT_ACCESS_REGISTRE``: a file, which must exist, or
    a PostgreSQL URL."""
    location = register_location(args)
    if not is_store_url(location) and not Path(location).exists():
        raise CommandError(
            f"{location} : registre introuvable ; créez-le avec « mt-access registre creer "
            f"{location} --politique NOM » ou indiquez-le avec --registre",
            EXIT_STORE,
        )
    return open_store(location, create=False)


def _typed_password(prompt: str) -> str:
    """A password typed on the terminal, not shown.

    Raises:
        CommandError: no terminal to type it on (a script, a service: getpass would warn in
            English and show what is typed), or its end (Ctrl-D).
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", getpass.GetPassWarning)
            return getpass.getpass(prompt)
    except (getpass.GetPassWarning, EOFError):
        raise CommandError(
            "pas de terminal où taper le mot de passe : donnez-le dans la variable "
            f"{PASSWORD_ENV} ; rien n'a été enregistré"
        ) from None


def _new_password(console: Console) -> str:
    from mt_access.web.accounts import check_password

    given = os.environ.get(PASSWORD_ENV)
    if given:
        check_password(given)
        return given
    first = _typed_password("Mot de passe : ")
    check_password(first)
    second = _typed_password("Mot de passe (encore une fois) : ")
    if first != second:
        raise CommandError("les deux mots de passe tapés diffèrent ; rien n'a été enregistré")
    return first


def cmd_user(args: argparse.Namespace, console: Console) -> int:
    """``utilisateur ajouter|lister|desactiver|mot-de-passe``."""
    try:
        from mt_access.web import accounts
    except ImportError:  # pragma: no cover - argon2-cffi is in the web and dev extras
        raise _missing_extra("la gestion des comptes") from None
    action = args.action
    with closing(_open(args)) as store:
        if action == "lister":
            users = store.users()
            if not users:
                console.say("Aucun compte ; créez-en un avec « mt-access utilisateur ajouter ».")
                return EXIT_OK
            rows = [
                (u.login, u.display_name, u.role, "actif" if u.active else "désactivé",
                 f"{u.created:%d/%m/%Y}")
                for u in users
            ]  # fmt: skip
            console.say(table(("identifiant", "nom", "rôle", "état", "créé le"), rows))
            return EXIT_OK
        if action == "ajouter":
            if store.get_user(args.login) is not None:
                raise CommandError(f"le compte « {args.login} » existe déjà")
            password = _new_password(console)
            user = accounts.create_user(
                store, args.login, args.role, password, display_name=args.nom or "",
                actor=_actor(),
            )  # fmt: skip
            console.say(f"Compte « {user.login} » créé ({user.role}).")
        elif action == "desactiver":
            accounts.disable_user(store, args.login, actor=_actor())
            console.say(f"Compte « {args.login} » désactivé ; ses sessions sont fermées.")
        else:
            if store.get_user(args.login) is None:
                raise CommandError(f"compte inconnu : « {args.login} »")
            password = _new_password(console)
            accounts.set_password(store, args.login, password, actor=_actor())
            console.say(
                f"Mot de passe du compte « {args.login} » changé ; ses sessions sont fermées."
            )
    return EXIT_OK


def cmd_serve(args: argparse.Namespace, console: Console) -> int:
    """``serve``: the web application on ``--hote``:``--port``, with waitress."""
    try:
        import waitress

        from mt_access.web import dashboard_figures
        from mt_access.web.app import create_app
    except ImportError:  # pragma: no cover - flask and waitress are in the web and dev extras
        raise _missing_extra("mt-access serve") from None
    from mt_access.cli.common import policy_of

    location = register_location(args)
    with closing(_open(args)) as store:
        policy = policy_of(store.settings(), getattr(args, "politique", None), register_shown(args))
        has_users = bool(store.users())
    _check_listen(args.hote, args.port)
    app = create_app(location if is_store_url(location) else Path(location), policy)
    if args.hote not in LOCAL_HOSTS:
        console.warn(
            f"l'application écoute sur {args.hote} : d'autres machines du réseau peuvent "
            "l'atteindre. Les données de santé demandent un réseau de confiance et du HTTPS "
            "(un serveur mandataire devant mt-access) ; par défaut, restez sur 127.0.0.1."
        )
    if not has_users:
        console.warn(
            "aucun compte : créez-en un avec « mt-access utilisateur ajouter LOGIN --role admin »"
        )
    shown = f"[{args.hote}]" if ":" in args.hote else args.hote
    console.say(f"mt-access : http://{shown}:{args.port}/ (Ctrl-C pour arrêter)")
    console.out.flush()
    with _stopped_by_sigterm():
        try:
            dashboard_figures.warm_up(app)  # the month's indicators, in their worker process
            try:
                waitress.serve(
                    app, host=args.hote, port=args.port, threads=args.fils, ident="mt-access"
                )
            except OSError as exc:  # taken between the check and now
                raise _listen_error(args.hote, args.port, exc) from None
        finally:
            dashboard_figures.shut_down(app)
    console.err.write("mt-access arrêté.\n")
    return EXIT_OK


def add_commands(sub: Any) -> None:
    """Add ``utilisateur`` and ``serve`` to the ``mt-access`` sub-parsers."""
    user = sub.add_parser(
        "utilisateur",
        aliases=["user"],
        help="comptes de l'application web (mt-access serve) : ajouter, lister, désactiver, "
        "changer un mot de passe",
        description="Les comptes des coordinateurs pour l'application web, gardés dans le "
        "registre (mot de passe haché avec Argon2). Rôles : admin (tout, comptes et journal "
        "d'audit compris), coordinateur (toutes les actions sur le registre), lecture "
        "(consultation seulement).",
    )
    actions = user.add_subparsers(dest="action", metavar="action", required=True)
    add = actions.add_parser(
        "ajouter",
        help="créer un compte (mot de passe demandé deux fois)",
        description="Crée un compte. Le mot de passe (12 caractères au moins) est demandé deux "
        f"fois, ou lu dans la variable {PASSWORD_ENV} (scripts).",
    )
    add.add_argument("login", metavar="LOGIN", help="identifiant (ex. c.martin)")
    add.add_argument("--role", required=True, choices=list(ROLES), help="|".join(ROLES))
    add.add_argument("--nom", default=None, metavar="NOM", help="nom affiché dans les pages")
    listing = actions.add_parser("lister", help="lister les comptes")
    disable = actions.add_parser(
        "desactiver",
        help="désactiver un compte (ses sessions sont fermées)",
        description="Désactive un compte : il ne peut plus se connecter et ses sessions "
        "ouvertes sont fermées.",
    )
    disable.add_argument("login", metavar="LOGIN")
    password = actions.add_parser(
        "mot-de-passe",
        help="changer le mot de passe d'un compte (ses sessions sont fermées)",
        description="Change le mot de passe d'un compte et lève son blocage ; ses sessions "
        f"ouvertes sont fermées. Mot de passe demandé deux fois, ou lu dans {PASSWORD_ENV}.",
    )
    password.add_argument("login", metavar="LOGIN")
    for parser in (add, listing, disable, password):
        add_register(parser)
        parser.set_defaults(func=in_french(cmd_user))

    serve = sub.add_parser(
        "serve",
        aliases=["servir"],
        help="lancer l'application web des coordinateurs sur ce poste",
        description="Lance l'application web (en français) sur le registre : tableau de bord, "
        "liste d'attente, demandes et leurs actions. Elle écoute sur 127.0.0.1 (ce poste "
        "seulement) par défaut. Voir docs/web.md.",
    )
    add_register(serve)
    serve.add_argument(
        "--hote",
        type=listen_host,
        default="127.0.0.1",
        metavar="ADRESSE",
        help="adresse d'écoute (127.0.0.1)",
    )
    serve.add_argument(
        "--port",
        type=port_number,
        default=8000,
        metavar="PORT",
        help=f"port d'écoute, de {PORTS[0]} à {PORTS[1]} (8000)",
    )
    serve.add_argument(
        "--fils",
        type=_threads,
        default=SERVE_THREADS,
        metavar="N",
        help=f"fils d'exécution qui servent les pages en même temps ({SERVE_THREADS}) ; les "
        "suivantes attendent leur tour",
    )
    serve.set_defaults(func=in_french(cmd_serve))
