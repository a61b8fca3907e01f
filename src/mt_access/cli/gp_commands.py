"""The commands ``medecin``: add, contact details, join, capacity, list, answer."""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Callable
from typing import Any

import attrs

from mt_access.bounds import check_number
from mt_access.calendar import Month
from mt_access.capacity_view import capacity_in_force
from mt_access.cli.common import (
    CAPACITY,
    EXIT_INVALID_INPUT,
    EXIT_OK,
    YEARLY_CAPACITY,
    CommandError,
    Console,
    day_of,
    open_register,
    table,
)
from mt_access.cli.places import month_places
from mt_access.cli.registry_base import MODALITIES, Handler, fr_date
from mt_access.gp_register import identifier_problem
from mt_access.ledger import Period
from mt_access.model import CONTACT_LABELS, Physician, PracticeContact, format_phone
from mt_access.register import Register
from mt_access.rpps import RPPS_EXPECTED, rpps_key_ok


def _check_new_gp(args: argparse.Namespace) -> None:
    """What ``medecin importer`` checks in a row, for ``medecin ajouter``: an id, a name and,
    when given, an RPPS number with its key (spaces taken out: « 10 0000 0000 9 »)."""
    problem = identifier_problem(args.id)
    if problem is not None:
        raise CommandError(f"identifiant du médecin : {problem}", EXIT_INVALID_INPUT)
    if not args.nom.strip():
        raise CommandError("--nom : nom du médecin attendu (ex. « Dr Martin »)", EXIT_INVALID_INPUT)
    if args.rpps is not None:
        args.rpps = args.rpps.replace(" ", "") or None
        if args.rpps is not None and not rpps_key_ok(args.rpps):
            raise CommandError(f"--rpps : {RPPS_EXPECTED}", EXIT_INVALID_INPUT)


def cmd_gp_add(args: argparse.Namespace, console: Console) -> int:
    _check_new_gp(args)
    with open_register(args) as register:
        reference = register.policy.reference
        commune = args.commune
        if reference is not None and not (commune.isdigit() or commune[:2] in ("2A", "2B")):
            commune = reference.resolve(commune).insee
        physician = Physician(
            id=args.id,
            name=args.nom,
            commune=commune,
            rpps=args.rpps,
            contact=_contact(PracticeContact(), args),
        )
        register.add_physician(physician)
        console.say(
            f"Médecin ajouté : {physician.name} ({physician.id}, "
            f"{register.policy.commune_name(commune)}). Son adhésion : « mt-access medecin "
            f"adherer {physician.id} --capacite N »."
        )
    return EXIT_OK


CONTACT_OPTIONS: dict[str, str] = {
    "phone": "telephone",
    "mssante": "mssante",
    "address": "adresse",
    "practice": "cabinet",
    "notes": "notes",
}
"""The :class:`PracticeContact` field behind each option of ``medecin coordonnees``."""


def _contact(current: PracticeContact, args: argparse.Namespace) -> PracticeContact:
    """``current`` with the fields given on the command line (``""`` clears one); the phone
    written the French way. Raises ``ValueError`` (in French, without the value) when a field
    does not fit."""
    changes: dict[str, str] = {}
    for field, option in CONTACT_OPTIONS.items():
        value = getattr(args, option, None)
        if value is not None:
            changes[field] = format_phone(value) if field == "phone" else value
    return attrs.evolve(current, **changes) if changes else current


def _contact_lines(contact: PracticeContact) -> list[str]:
    lines = []
    for field in CONTACT_OPTIONS:
        value = getattr(contact, field)
        lines.append(f"  {CONTACT_LABELS[field]} : {value or '(non renseigné)'}")
    return lines


def cmd_gp_contact(args: argparse.Namespace, console: Console) -> int:
    given = [f for f, option in CONTACT_OPTIONS.items() if getattr(args, option) is not None]
    if not given and not args.effacer:
        with open_register(args, readonly=True) as register:
            physician = register.physician(args.id)
        console.say(f"Coordonnées de {physician.name} ({physician.id}) :")
        console.say("\n".join(_contact_lines(physician.contact)))
        return EXIT_OK
    with open_register(args) as register:
        physician = register.physician(args.id)
        start = PracticeContact() if args.effacer else physician.contact
        contact = _contact(start, args)
        register.update_physicians([attrs.evolve(physician, contact=contact)])
    changed = [
        CONTACT_LABELS[f]
        for f in CONTACT_OPTIONS
        if getattr(contact, f) != getattr(physician.contact, f)
    ]
    if not changed:
        console.say(f"Coordonnées de {physician.name} ({physician.id}) inchangées.")
    else:
        console.say(
            f"Coordonnées de {physician.name} ({physician.id}) enregistrées ; modifié(es) : "
            f"{', '.join(changed)}."
        )
    console.say("\n".join(_contact_lines(contact)))
    return EXIT_OK


def _period(args: argparse.Namespace, what: str) -> str:
    """``"year"`` with ``--par-an``, else ``"month"``; the capacity checked against the bound
    of its period (the parser only read a whole number)."""
    period = "year" if args.par_an else "month"
    expected = check_number(args.capacite, YEARLY_CAPACITY if args.par_an else CAPACITY)
    if expected is not None:
        shown = str(args.capacite) if len(str(args.capacite)) <= 12 else "nombre trop grand"
        hint = "" if args.par_an else " (une capacité par an : --par-an)"
        raise CommandError(
            f"{what} : {shown} refusé ; {expected} {_per(period)}{hint}", EXIT_INVALID_INPUT
        )
    return period


def _per(period: str) -> str:
    return "par an" if period == "year" else "par mois"


def cmd_gp_join(args: argparse.Namespace, console: Console) -> int:
    period = _period(args, "--capacite")
    modalities = sorted({MODALITIES[m] for m in args.modalites})
    with open_register(args) as register:
        reference = register.policy.reference
        communes = []
        for text in args.communes:
            if reference is not None and not text.isdigit():
                communes.append(reference.resolve(text).insee)
            else:
                communes.append(text)
        physician = register.join(
            args.id,
            day_of(args),
            monthly_capacity=args.capacite,
            modalities=modalities,
            accepted_communes=communes,
            comment=args.commentaire,
            period="year" if period == "year" else "month",
        )
        console.say(
            f"{physician.name} participe au dispositif depuis le {fr_date(day_of(args))} : "
            f"{args.capacite} nouveau(x) patient(s) {_per(period)}."
        )
    return EXIT_OK


def _capacity_request(args: argparse.Namespace) -> tuple[Period, bool]:
    """The period of ``capacite``'s declaration and whether it also lifts the other period's
    cap (a capacity and a lift of the other period: a switch); a lift alone is a declaration
    without capacity. Contradictory options are refused before the register is opened."""
    monthly_lift, yearly_lift = args.sans_plafond_mensuel, args.sans_plafond_annuel
    if args.capacite is None:
        if args.par_an:
            raise CommandError(
                "--par-an : indiquez la capacité annuelle (ex. capacite MG01 150 --par-an)",
                EXIT_INVALID_INPUT,
            )
        if monthly_lift == yearly_lift:
            raise CommandError(
                "indiquez une capacité, ou un seul plafond à lever : --sans-plafond-mensuel "
                "ou --sans-plafond-annuel (un médecin garde toujours un plafond)",
                EXIT_INVALID_INPUT,
            )
        return ("month" if monthly_lift else "year"), False
    period: Period = "year" if _period(args, "capacité") == "year" else "month"
    if (period == "year" and yearly_lift) or (period == "month" and monthly_lift):
        which = "annuelle" if period == "year" else "mensuelle"
        raise CommandError(
            f"une capacité {which} ne peut pas lever son propre plafond : pour passer d'une "
            "capacité par mois à une capacité par an, --par-an --sans-plafond-mensuel ; "
            "pour revenir à une capacité par mois, --sans-plafond-annuel",
            EXIT_INVALID_INPUT,
        )
    return period, monthly_lift or yearly_lift


def cmd_gp_capacity(args: argparse.Namespace, console: Console) -> int:
    period, lift_other = _capacity_request(args)
    with open_register(args) as register:
        on = day_of(args)
        month = args.mois or Month.of(on)
        register.change_capacity(
            args.id,
            on,
            args.capacite,
            month=month,
            note=args.commentaire,
            period=period,
            lift_other=lift_other,
        )
        physician = register.physician(args.id)
        since = f"l'année {month.year}" if period == "year" else month.label
        if args.capacite is None:
            kind = "annuel" if period == "year" else "mensuel"
            done = f"plafond {kind} levé à partir de {since}"
        else:
            done = f"capacité de {args.capacite} {_per(period)} à partir de {since}"
        caps = capacity_in_force(
            register.ledger,
            physician.id,
            month,
            default=register.policy.monthly_capacity_of(physician),
        )
        console.say(f"{physician.name} : {done}.")
        console.say(f"Capacité en vigueur en {month.label} : {caps.label()}.")
        if caps.monthly is not None and caps.yearly is not None:
            console.say(
                "Les deux plafonds s'appliquent ; pour n'en garder qu'un : "
                "--sans-plafond-mensuel ou --sans-plafond-annuel."
            )
    return EXIT_OK


def gp_status(
    action: Callable[[Register, argparse.Namespace, dt.date], Physician], verb: str
) -> Handler:
    def handler(args: argparse.Namespace, console: Console) -> int:
        with open_register(args) as register:
            on = day_of(args)
            physician = action(register, args, on)
            console.say(f"{physician.name} ({physician.id}) {verb} le {fr_date(on)}.")
        return EXIT_OK

    return handler


def _physician_rows(register: Register, on: dt.date) -> list[tuple[Any, ...]]:
    policy = register.policy
    rows = []
    for p in sorted(register.physicians(), key=lambda p: p.id):
        status = p.status_on(on)
        places = month_places(register, p, on)
        rows.append(
            (
                p.id,
                p.name,
                policy.commune_name(p.commune),
                p.contact.phone,
                status.label if p.status_history else "candidat",
                ", ".join(m.label for m in sorted(p.modalities, key=lambda m: m.value)),
                places.capacity_text,
                places.used,
                places.left,
            )
        )
    return rows


def cmd_gp_list(args: argparse.Namespace, console: Console) -> int:
    with open_register(args, readonly=True) as register:
        on = day_of(args)
        rows = _physician_rows(register, on)
    if not rows:
        console.say("Aucun médecin dans le registre.")
        return EXIT_OK
    console.say(f"Médecins au {fr_date(on)} (places du mois de {Month.of(on).label})")
    headers = (
        "id",
        "nom",
        "commune",
        "téléphone",
        "statut",
        "modalités",
        "capacité",
        "prises",
        "restantes",
    )
    console.say(table(headers, rows, right=(6, 7, 8), max_width=60))
    return EXIT_OK


def cmd_gp_answer(args: argparse.Namespace, console: Console) -> int:
    accepted = args.reponse in ("accepte", "accept", "oui")
    with open_register(args) as register:
        file = register.answer(
            args.demande, args.medecin, day_of(args), accepted=accepted, comment=args.commentaire
        )
        name = register.physician(args.medecin).name
    if accepted:
        console.say(f"{name} devient le médecin traitant ; demande {file.id} : {file.state.label}.")
    else:
        console.say(f"Refus de {name} enregistré ; demande {file.id} : {file.state.label}.")
    return EXIT_OK
