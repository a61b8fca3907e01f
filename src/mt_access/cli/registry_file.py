"""The commands on the register file itself: ``registre creer|info|verifier`` and ``import``."""

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
    open_register,
    register_path,
    table,
)
from mt_access.cli.registry_base import fr_date
from mt_access.cli.summary import month_label
from mt_access.lifecycle import (
    RequestState,
)
from mt_access.loading import load_policy
from mt_access.progress import ProgressBar
from mt_access.store.sqlite import SQLiteStore

if TYPE_CHECKING:
    from mt_access.intake.forms import FormMapping

# ------------------------------------------------------------------------------------------
# registre


def cmd_register_create(args: argparse.Namespace, console: Console) -> int:
    path = register_path(args)
    if path.exists():
        raise CommandError(f"{path} : le fichier existe déjà ; choisissez un autre nom", EXIT_STORE)
    policy = load_policy(args.politique)
    recorded = str(args.politique)
    if Path(recorded).suffix.lower() in (".yaml", ".yml"):
        recorded = str(Path(recorded).resolve())
    with SQLiteStore(path) as store, store.transaction():
        store.put_setting(POLICY_SETTING, recorded)
    console.say(f"Registre créé : {path} (politique : {policy.name}).")
    return EXIT_OK


def cmd_register_info(args: argparse.Namespace, console: Console) -> int:
    with open_register(args, readonly=True) as register:
        info = register.describe()
        path = register_path(args)
        console.say(f"Registre {path} : {register.policy.name}")
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
    path = register_path(args)
    if not path.exists():
        raise CommandError(f"{path} : registre introuvable", EXIT_STORE)
    with SQLiteStore(path, create=False, readonly=True) as store:
        problems = store.integrity_check()
    if not problems:
        console.say(f"{path} : registre intègre.")
        return EXIT_OK
    console.say(f"{path} : {len(problems)} problème(s) :")
    for problem in problems:
        console.say(f"- {problem}")
    return EXIT_STORE


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
