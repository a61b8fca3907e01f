"""The commands of the lists shared with GPs (router ``pull``): ``listes`` prints each GP's
list and writes it as files, ``demande choisir`` records a GP's pick."""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

from mt_access.calendar import Month
from mt_access.cli.common import (
    EXIT_OK,
    EXIT_REFUSED,
    CommandError,
    Console,
    day_of,
    open_register,
    table,
)
from mt_access.cli.registry_base import fr_date
from mt_access.register import Register
from mt_access.result import PullList

__all__ = ["cmd_choose", "cmd_lists", "list_date"]


def list_date(month: Month | None, chosen: dt.date | None, today: dt.date) -> dt.date:
    """The day the lists are made on: ``--date``; else, with ``--mois``, today when it falls
    in that month, the month's last day for a past month, its first day for a month to come;
    else today."""
    if chosen is not None:
        return chosen
    if month is None or Month.of(today) == month:
        return today
    if month.last_day < today:
        return month.last_day
    return month.first_day


def _pick_limit(register: Register) -> int:
    """The smallest ``pick_limit`` of the policy's shared levels (0: none)."""
    limits = [register.pick_limit(level) for level in register.pull_levels()]
    return min((n for n in limits if n), default=0)


def _no_pull_level(register: Register) -> CommandError:
    return CommandError(
        f"la politique « {register.policy.name} » ne partage aucune liste avec les médecins : "
        "aucun niveau n'a le routeur « pull » (voir la page « Listes partagées » de la "
        "documentation) ; rien n'est écrit",
        EXIT_REFUSED,
    )


def cmd_lists(args: argparse.Namespace, console: Console) -> int:
    from mt_access.pull_lists import ListPage, write_pull_lists

    formats = _formats(args.format)  # checked before anything is read
    with open_register(args, readonly=True) as register:
        if not register.pull_levels():
            raise _no_pull_level(register)
        on = list_date(args.mois, args.date, dt.date.today())
        if args.medecin:
            register.physician(args.medecin)  # an unknown GP is refused
        index = register.pull_index(on)  # the lists as columns: each GP's made when written
        names = {p.id: p.name for p in register.physicians()}
        limit = _pick_limit(register)
        cpts = register.policy.name
    listed = index.physician_ids()
    if args.medecin:
        listed = [pid for pid in listed if pid == args.medecin]
    month = Month.of(on)
    if not listed:
        who = f"le médecin {args.medecin}" if args.medecin else "aucun médecin"
        console.say(
            f"Listes du {fr_date(on)} ({month.label}) : aucune liste pour {who} (plus de "
            "place ce mois-ci, ou aucune demande en attente qu'il puisse accueillir)."
        )
        return EXIT_OK
    console.say(f"Listes partagées du {fr_date(on)} ({month.label}) : {len(listed)} médecin(s).")
    if limit:
        console.say(f"Au plus {limit} demande(s) choisie(s) à la fois par médecin.")
    written: list[Path] = []
    # one GP's list at a time: printed, written, let go (not every entry of every list)
    for x in index.iter_lists(listed):
        page = ListPage(x, names.get(x.physician_id, x.physician_id), on, cpts, limit)
        _print_list(x, page.physician_name, console)
        if args.dossier:
            written += write_pull_lists([page], args.dossier, formats=formats)
    if args.dossier:
        console.say("")
        console.say(
            f"{len(written)} fichier(s) écrit(s) dans {args.dossier} ({', '.join(formats)}), "
            "un par médecin et par format, sans nom ni coordonnées de patient."
        )
    console.say("")
    console.say(
        "Un médecin choisit une demande : « mt-access demande choisir MEDECIN PSEUDONYME »."
    )
    return EXIT_OK


def _print_list(x: PullList, name: str, console: Console) -> None:
    """One GP's list as a table on the console."""
    console.say("")
    left = "" if x.places_left is None else f", {x.places_left} place(s) restante(s)"
    console.say(f"{name} ({x.physician_id}) : {len(x.entries)} demande(s){left}")
    # the answers to the questions the policy marks shareable
    extras = list(dict.fromkeys(label for e in x.entries for label, _ in e.extra))
    rows = [
        (
            e.pseudonym,
            e.level_label or e.level,
            e.waiting_days,
            e.commune_name or e.commune,
            f"{e.distance_km:.1f}".replace(".", ","),
            e.age_band,
            e.persons if e.household <= e.persons else f"{e.persons}/{e.household}",
            e.home_visits,
            "oui" if e.urgent else "",
            *(dict(e.extra).get(label, "") for label in extras),
        )
        for e in x.entries
    ]
    headers = (
        "pseudonyme",
        "niveau",
        "attente (j)",
        "commune",
        "km",
        "âge",
        "pers.",
        "visites à domicile",
        "urgent",
        *extras,
    )
    console.say(table(headers, rows, right=(2, 4, 6)))


def _formats(given: list[str] | None) -> tuple[str, ...]:
    from mt_access.pull_lists import LIST_FORMATS

    if not given:
        return LIST_FORMATS
    chosen: list[str] = []
    for text in given:
        for part in text.replace(" ", "").split(","):
            if not part:
                continue
            if part not in LIST_FORMATS:
                raise CommandError(
                    f"--format : format inconnu « {part} » (formats : {', '.join(LIST_FORMATS)})"
                )
            if part not in chosen:
                chosen.append(part)
    return tuple(chosen) or LIST_FORMATS


def cmd_choose(args: argparse.Namespace, console: Console) -> int:
    with open_register(args) as register:
        on = day_of(args)
        if not register.pull_levels():
            raise _no_pull_level(register)
        file = register.choose(
            args.medecin, args.pseudonyme, on, args.commentaire, persons=args.personnes
        )
        left = register.ledger.remaining(
            args.medecin,
            Month.of(on),
            default=register.policy.monthly_capacity_of(register.physician(args.medecin)),
            carry_over=register.policy.carry_over,
        )
    rid = file.id
    persons = len(file.history[-1].persons)
    console.say(
        f"Demande {args.pseudonyme} choisie par le médecin {args.medecin} le {fr_date(on)} : "
        f"c'est la demande {rid}, proposée à ce médecin ({persons} personne(s)) ; une place "
        f"lui est réservée ({left} place(s) restante(s) en {Month.of(on).label})."
    )
    console.say(
        f"Envoyez-lui le dossier qualifié : « mt-access demande courrier {rid} dossier-medecin "
        f"--medecin {args.medecin} » ; puis enregistrez sa réponse : « mt-access medecin "
        f"repondre {args.medecin} {rid} accepte|refuse »."
    )
    return EXIT_OK
