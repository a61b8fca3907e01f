"""The commands on the register itself: ``registre creer|info|verifier|copier`` and
``import``. A register is a file (SQLite) or a ``postgresql://`` URL (PostgreSQL)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from mt_access.cli.common import (
    EXIT_INVALID_INPUT,
    EXIT_OK,
    EXIT_STORE,
    POLICY_SETTING,
    CommandError,
    Console,
    checked_location,
    open_register,
    register_location,
    register_shown,
    table,
)
from mt_access.cli.registry_base import fr_date
from mt_access.cli.summary import month_label
from mt_access.lifecycle import (
    RequestState,
)
from mt_access.loading import load_policy
from mt_access.progress import ProgressBar
from mt_access.store.base import StoreError
from mt_access.store.locations import is_store_url, open_store, shown_location

if TYPE_CHECKING:
    from mt_access.intake.forms import FormMapping

# ------------------------------------------------------------------------------------------
# registre


def cmd_register_create(args: argparse.Namespace, console: Console) -> int:
    location = register_location(args)
    shown = register_shown(args)
    if is_store_url(location):
        _refuse_existing_database(location, shown)
    elif Path(location).exists():
        raise CommandError(
            f"{location} : le fichier existe déjà ; choisissez un autre nom", EXIT_STORE
        )
    policy = load_policy(args.politique)
    recorded = str(args.politique)
    if Path(recorded).suffix.lower() in (".yaml", ".yml"):
        recorded = str(Path(recorded).resolve())
    with open_store(location, create=True) as store, store.transaction():
        store.put_setting(POLICY_SETTING, recorded)
    console.say(f"Registre créé : {shown} (politique : {policy.name}).")
    return EXIT_OK


def _refuse_existing_database(location: str, shown: str) -> None:
    """A PostgreSQL register that already exists (with a policy or data) is not created
    again."""
    try:
        store = open_store(location, create=False, readonly=True)
    except StoreError:
        return  # no register there yet (or the server will say why when creating it)
    with store:
        if store.settings() or store.count_requests():
            raise CommandError(
                f"{shown} : cette base contient déjà ce registre ; choisissez une autre CPTS "
                "(paramètre cpts=) ou une autre base",
                EXIT_STORE,
            )


def cmd_register_info(args: argparse.Namespace, console: Console) -> int:
    with open_register(args, readonly=True) as register:
        info = register.describe()
        console.say(f"Registre {register_shown(args)} : {register.policy.name}")
        rows = [
            (state.label, info["requests"][state.value])
            for state in RequestState
            if info["requests"][state.value]
        ]
        total = sum(n for _, n in rows)
        console.say(f"{total} demande(s)")
        if rows:
            console.say(table(("état", "demandes"), rows, right=(1,)))
        console.say(
            f"{info['physicians']} médecin(s) ; {info['runs']} appariement(s) enregistré(s)."
        )
        runs = register.runs()
        if runs:
            last = runs[-1]
            console.say(
                f"Dernier appariement : n° {last.number} du {fr_date(last.on)} "
                f"(mois de {month_label(last.month)})."
            )
    return EXIT_OK


def cmd_register_check(args: argparse.Namespace, console: Console) -> int:
    location = register_location(args)
    shown = register_shown(args)
    if not is_store_url(location) and not Path(location).exists():
        raise CommandError(f"{location} : registre introuvable", EXIT_STORE)
    with open_store(location, create=False, readonly=True) as store:
        problems = store.integrity_check()
    if not problems:
        console.say(f"{shown} : registre intègre.")
        return EXIT_OK
    console.say(f"{shown} : {len(problems)} problème(s) :")
    for problem in problems:
        console.say(f"- {problem}")
    return EXIT_STORE


def cmd_register_copy(args: argparse.Namespace, console: Console) -> int:
    """``registre copier SOURCE DESTINATION``: the whole register into an empty one (a new
    file, or a PostgreSQL database / CPTS without data), checked afterwards."""
    from mt_access.store.copy import copy_register, differences

    source = checked_location(str(args.source))
    destination = checked_location(str(args.destination))
    shown_source, shown_destination = shown_location(source), shown_location(destination)
    if not is_store_url(source) and not Path(source).exists():
        raise CommandError(f"{source} : registre introuvable", EXIT_STORE)
    if not is_store_url(destination) and Path(destination).exists():
        raise CommandError(
            f"{destination} : le fichier existe déjà ; la copie se fait dans un nouveau fichier",
            EXIT_STORE,
        )
    with open_store(source, create=False, readonly=True) as origin:
        try:
            with open_store(destination, create=True) as target:
                counts = copy_register(origin, target)
                problems = target.integrity_check()
                different = differences(origin, target)
        except BaseException:
            if not is_store_url(destination):  # the new file holds nothing: remove it
                for suffix in ("", "-wal", "-shm", "-journal"):
                    Path(f"{destination}{suffix}").unlink(missing_ok=True)
            raise
    console.say(
        f"Registre copié : {shown_source} → {shown_destination} ({counts.requests} demande(s), "
        f"{counts.physicians} médecin(s), {counts.ledger_entries} entrée(s) du registre de "
        f"capacités, {counts.runs} appariement(s), {counts.sendings} envoi(s), "
        f"{counts.users} compte(s), {counts.audit_entries} ligne(s) du journal d'audit)."
    )
    if problems or different:
        for problem in problems:
            console.say(f"- {problem}")
        if different:
            console.say(f"- copie différente de la source : {', '.join(different)}")
        found = len(problems) + len(different)
        console.say(f"{shown_destination} : copie à vérifier ({found} problème(s)).")
        return EXIT_STORE
    console.say("Vérification : registre intègre, mêmes listes que la source.")
    return EXIT_OK


def cmd_register_grant(args: argparse.Namespace, console: Console) -> int:
    """``registre rattacher ROLE``: give a coordinator's PostgreSQL role the register of the
    CPTS named by the (administrator's) URL, and that one only."""
    from mt_access.store.postgres import DEFAULT_CPTS
    from mt_access.store.postgres_errors import split_url
    from mt_access.store.postgres_roles import grant_cpts

    location = register_location(args)
    if not is_store_url(location):
        raise CommandError(
            "registre rattacher : réservé aux registres PostgreSQL (--registre postgresql://…)",
            EXIT_STORE,
        )
    cpts = split_url(location)[1] or DEFAULT_CPTS
    grant_cpts(location, args.role, cpts)
    console.say(
        f"Rôle PostgreSQL {args.role} rattaché au registre de la CPTS {cpts} "
        f"({register_shown(args)}) : il n'a accès qu'à celui-ci."
    )
    return EXIT_OK


# ------------------------------------------------------------------------------------------
# import


def _refuse_follow_up(mapping: FormMapping | None, source: str) -> None:
    """A mapping that reads a follow-up sheet's outcomes is for ``mt-access reprise``:
    importing its rows as new requests would lose their exits."""
    read = [n for n in ("exit_date", "outcome") if mapping is not None and n in mapping.fields]
    if read:
        raise CommandError(
            f"{source} : la correspondance lit l'issue d'un suivi existant "
            f"({', '.join(read)}) : pour reprendre ce suivi avec son historique, utilisez "
            "« mt-access reprise » ; pour importer des demandes nouvelles, retirez ces champs "
            "de la correspondance",
            EXIT_INVALID_INPUT,
        )


def cmd_import(args: argparse.Namespace, console: Console) -> int:
    from mt_access.intake import import_file, write_rejections
    from mt_access.intake.mapping_file import load_mapping

    with open_register(args) as register:
        mapping = (
            load_mapping(args.formulaire, register.policy.questions) if args.formulaire else None
        )
        _refuse_follow_up(mapping or register.policy.intake, args.fichier)
        result = import_file(
            args.fichier,
            register.policy,
            sheet=args.feuille,
            mapping=mapping,
            known=register.known_persons(),
            received=args.date,
            progress=None if args.sans_progression else ProgressBar("Import", stream=console.err),
            imported=register.imported_rows,
        )
        used = mapping or register.policy.intake
        for warning in result.warnings(absent=used is not None and used.preset != "generique"):
            console.warn(warning)
        outcome = register.import_intake(result, comment=f"import de {Path(args.fichier).name}")
        if outcome.nothing_new:
            console.say(
                f"{args.fichier} : déjà importé : ses {len(outcome.already_imported)} ligne(s) "
                "importable(s) l'ont déjà été ; aucune demande ajoutée."
            )
        console.say(outcome.summary() + ".")
        if result.problems or result.duplicates:
            report = write_rejections(result, args.rejets)
            console.say(f"Lignes non importées et leurs raisons : {report}")
        if outcome.registered:
            first, last = outcome.registered[0][1], outcome.registered[-1][1]
            console.say(f"Demandes créées : {first} à {last}.")
    return EXIT_OK
