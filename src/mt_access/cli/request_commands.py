"""The commands ``demande``: list, history, events, exits, position, letters, erasure,
locating addresses.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import sys
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from mt_access.bounds import MAX_ADULTS, MAX_CHILDREN
from mt_access.cli.common import (
    EXIT_OK,
    EXIT_USAGE,
    CommandError,
    Console,
    day_of,
    open_register,
    register_location,
    register_path,
    table,
)
from mt_access.cli.qualify_command import answers_line
from mt_access.cli.registry_base import ACTIVE, STATES, Handler, fr_date
from mt_access.lifecycle import (
    Event,
    ExitReason,
    RequestFile,
    RequestState,
    Transition,
)
from mt_access.progress import ProgressBar
from mt_access.questions import shown_answers
from mt_access.register import Register, RegisterOperationError
from mt_access.store.locations import is_store_url

__all__ = ["LOCATE_REASONS", "locate_report", "person_numbers", "persons_line"]


def _listed_answers(register: Register, states: tuple[RequestState, ...]) -> dict[str, str]:
    """The answers ``demande liste`` shows (questions with ``show_in: [lists]``), by request
    id; empty when the policy has no such question."""
    policy = register.policy
    if not any("lists" in q.show_in for q in policy.questions):
        return {}
    return {
        r.id: answers_line(shown_answers(r, policy, "lists"))
        for r in register.store.requests(states or None)
    }


def _request_rows(register: Register, states: tuple[RequestState, ...]) -> list[tuple[Any, ...]]:
    policy = register.policy
    answers = _listed_answers(register, states)
    rows = []
    for s in register.list_requests(*states):
        extra = (answers.get(s.id, ""),) if answers else ()
        rows.append(
            (
                s.id,
                fr_date(s.received),
                s.state.label,
                fr_date(s.last_event),
                policy.commune_name(s.commune),
                s.persons if s.searching in (0, s.persons) else f"{s.searching}/{s.persons}",
                "oui" if s.urgent else "",
                ", ".join(s.proposed_to),
                *extra,
            )
        )
    return rows


def cmd_request_list(args: argparse.Namespace, console: Console) -> int:
    states = tuple(STATES[s] for s in args.etat) if args.etat else ACTIVE
    with open_register(args, readonly=True) as register:
        rows = _request_rows(register, states)
    if not rows:
        console.say("Aucune demande.")
        return EXIT_OK
    headers: tuple[str, ...] = (
        "demande",
        "reçue le",
        "état",
        "depuis le",
        "commune",
        "pers.",
        "urgent",
        "proposée à",
    )
    if rows and len(rows[0]) > len(headers):
        headers += ("réponses",)
    console.say(table(headers, rows, right=(5,)))
    console.say(f"{len(rows)} demande(s).")
    return EXIT_OK


def _say_state(console: Console, file: RequestFile) -> None:
    console.say(f"Demande {file.id} : {file.state.label}.")


def request_event_command(
    action: Callable[[Register, argparse.Namespace, dt.date], RequestFile],
) -> Handler:
    def handler(args: argparse.Namespace, console: Console) -> int:
        with open_register(args) as register:
            _say_state(console, action(register, args, day_of(args)))
        return EXIT_OK

    return handler


def cmd_request_resource(args: argparse.Namespace, console: Console) -> int:
    """``demande ressource DEMANDE NOM --reponse TEXTE``: a resource's answer."""
    with open_register(args) as register:
        file = register.resource_answer(args.demande, args.ressource, day_of(args), args.reponse)
        resource = next(r for r in register.policy.resources if r.name == args.ressource)
    _say_state(console, file)
    text = f"Réponse de la ressource « {resource.name} » enregistrée"
    if resource.mode == "before":
        text += " : la demande entrera dans son parcours vers un médecin au prochain appariement"
    console.say(text + ".")
    return EXIT_OK


def confirm_request(register: Register, args: argparse.Namespace, on: dt.date) -> RequestFile:
    file = register.confirm(args.demande, on, args.commentaire)
    if args.sans_attente:
        return file
    return register.to_waiting(args.demande, on, args.commentaire)


_Exit = Callable[[Register, str, dt.date, str, "tuple[int, ...] | None"], RequestFile]
EXITS: dict[str, _Exit] = {
    "retrait": lambda r, i, d, c, p: r.withdraw(i, d, c, persons=p),
    "ne-cherche-plus": lambda r, i, d, c, p: r.not_searching(i, d, c, persons=p),
    "autre-solution": lambda r, i, d, c, p: r.other_solution(i, d, c, persons=p),
    "hors-dispositif": lambda r, i, d, c, p: r.out_of_scope(i, d, c, persons=p),
    "cloture": lambda r, i, d, c, p: r.close(i, d, c, persons=p),
}


def person_numbers(text: str) -> tuple[int, ...]:
    """``--personnes 2,3``: the numbers of persons of a household (argparse type)."""
    try:
        numbers = tuple(sorted({int(part) for part in text.replace(" ", "").split(",") if part}))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"numéros de personnes attendus, séparés par des virgules (par exemple 2,3), "
            f"reçu « {text} »"
        ) from None
    if not numbers or numbers[0] < 1 or numbers[-1] > MAX_ADULTS + MAX_CHILDREN:
        raise argparse.ArgumentTypeError(
            f"numéros de personnes entre 1 et {MAX_ADULTS + MAX_CHILDREN} attendus "
            "(1 : le demandeur, puis les autres adultes, puis les enfants)"
        )
    return numbers


def add_persons(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument(
        "--personnes",
        type=person_numbers,
        metavar="N,N",
        help=f"pour un foyer : les personnes {what}, par numéro (1 : le demandeur, puis les "
        "autres adultes, puis les enfants ; voir « demande historique ») ; par défaut toutes "
        "celles qui cherchent encore",
    )


def close_request(register: Register, args: argparse.Namespace, on: dt.date) -> RequestFile:
    if args.motif == "cloture" and not args.commentaire.strip():
        raise CommandError("une clôture par la CPTS demande un --commentaire qui la justifie")
    return EXITS[args.motif](register, args.demande, on, args.commentaire, args.personnes)


def _history_rows(register: Register, history: tuple[Transition, ...]) -> list[tuple[Any, ...]]:
    names = {p.id: p.name for p in register.physicians()}
    rows = []
    for t in history:
        who = ""
        if t.physician_id:
            who = f"{names.get(t.physician_id, t.physician_id)} ({t.physician_id})"
        rows.append(
            (
                fr_date(t.on),
                t.event.label + (f" : {t.resource}" if t.resource else ""),
                t.to_state.label,
                t.actor.label,
                who,
                ", ".join(str(n) for n in t.persons),
                t.reason.label if t.reason else "",
                t.comment,
            )
        )
    return rows


def persons_line(register: Register, file: RequestFile) -> str:
    """« Personnes : 1 adulte 1 (demandeur) : médecin traitant trouvé (MG01) ; 2 ... »."""
    household = register.request(file.id).household
    people = file.people
    parts = []
    for member in household.members:
        outcome = people.outcome(member.number)
        if isinstance(outcome, ExitReason):  # before str: the enum's values are strings
            where = outcome.label
        elif outcome is not None:
            where = f"médecin traitant trouvé ({outcome})"
        elif member.number in people.pending:
            gps = [gp for gp, ns in people.proposals if member.number in ns]
            where = f"proposée à {', '.join(gps)}"
        else:
            where = "en attente"
        parts.append(f"{member.number} {member.label} : {where}")
    return "Personnes du foyer : " + " ; ".join(parts)


def cmd_request_history(args: argparse.Namespace, console: Console) -> int:
    with open_register(args, readonly=True) as register:
        history = register.history(args.demande)
        file = register.file(args.demande)
        rows = _history_rows(register, history)
        persons = persons_line(register, file) if file.persons > 1 else ""
        request = register.request(args.demande)
        answers = answers_line(shown_answers(request, register.policy, "lists"))
    console.say(f"Demande {args.demande} : {file.state.label}")
    if persons:
        console.say(persons)
    if answers:
        console.say(f"Réponses : {answers}")
    headers = (
        "date",
        "événement",
        "nouvel état",
        "par",
        "médecin",
        "personnes",
        "motif",
        "commentaire",
    )
    console.say(table(headers, rows, max_width=60))
    for t in history:
        if t.event is Event.QUALIFY and t.comment:
            console.say(f"Qualification du {fr_date(t.on)} : {t.comment}")
    return EXIT_OK


def cmd_request_position(args: argparse.Namespace, console: Console) -> int:
    from mt_access.indicators import waiting_position

    with open_register(args, readonly=True) as register:
        position = waiting_position(register, args.demande, day_of(args))
    console.say(position.message)
    return EXIT_OK


def cmd_request_letter(args: argparse.Namespace, console: Console) -> int:
    from mt_access import letters

    with open_register(args, readonly=True) as register:
        on = day_of(args)
        kind = args.type
        if kind == "accuse-patient":
            letter = letters.acknowledgement(register, args.demande, on, to="patient")
        elif kind == "accuse-adresseur":
            letter = letters.acknowledgement(register, args.demande, on, to="referrer")
        elif kind == "retour-adresseur":
            letter = letters.feedback_letter(register, args.demande, on)
        elif kind == "orientation":
            letter = letters.orientation_letter(register, args.demande, on)
        elif kind == "ressources":
            letter = letters.resources_letter(register, args.demande, on)
        else:
            if not args.medecin:
                raise CommandError("le dossier pour un médecin demande --medecin ID")
            letter = letters.referral_letter(register, args.demande, args.medecin, on)
    formats = tuple(dict.fromkeys(args.format or ["md"]))
    if not args.dossier and set(formats) - {"txt", "md"}:
        raise CommandError("les formats html et pdf s'écrivent dans un dossier : ajoutez --dossier")
    if args.dossier:
        for path in letters.write_letters([letter], args.dossier, formats=formats):
            console.say(f"Écrit : {path}")
    else:
        console.say(letter.markdown if "md" in formats else letter.text)
    return EXIT_OK


def _ask(question: str, console: Console) -> bool:
    """Ask ``question`` on the terminal; true when the answer is « o » or « oui »."""
    console.err.write(f"{question} [o/N] ")
    console.err.flush()
    answer = sys.stdin.readline()
    if not answer.endswith("\n"):
        console.err.write("\n")
    return answer.strip().lower() in ("o", "oui")


def _interactive() -> bool:
    stdin = sys.stdin
    return stdin is not None and not stdin.closed and stdin.isatty()


def cmd_request_erase(args: argparse.Namespace, console: Console) -> int:
    rid = args.demande
    with open_register(args) as register:
        on = day_of(args)
        file = register.file(rid)  # an unknown request is refused before asking anything
        if register.store.erased_on(rid) is not None:
            raise RegisterOperationError(f"demande {rid} : données personnelles déjà effacées")
        if not args.oui:
            if not _interactive():
                raise CommandError(
                    f"l'effacement des données personnelles de la demande {rid} est définitif "
                    "et demande une confirmation ; hors d'un terminal, ajoutez --oui : "
                    f"« mt-access demande effacer {rid} --oui »",
                    EXIT_USAGE,
                )
            question = f"Effacer définitivement les données personnelles de la demande {rid} ?"
            if not _ask(question, console):
                console.say(f"Effacement annulé : rien n'est modifié pour la demande {rid}.")
                return EXIT_OK
        was_active = not file.is_exited
        register.erase(rid, on)
    console.say(
        f"Demande {rid} : données personnelles effacées le {fr_date(on)} (nom, date de naissance "
        "exacte, adresse, coordonnées, commentaires)."
    )
    if was_active:
        console.say("La demande était en cours : elle sort du dispositif (désistement du patient).")
    console.say(
        "Sont gardés, sans identité : l'historique pseudonymisé (dates, états, motif de "
        "sortie), la commune, la tranche d'âge et les critères de priorité, pour que les "
        "chiffres du dispositif restent justes."
    )
    return EXIT_OK


@contextmanager
def _quiet_geocoding_logs() -> Iterator[None]:
    """Keep the geocoding libraries' log records (retries with their tracebacks) off the
    coordinator's terminal while the command runs: the command says what failed, in French."""
    loggers = [logging.getLogger(name) for name in ("geopy", "mt_access.geo")]
    saved = [(log, log.propagate, list(log.handlers)) for log in loggers]
    for log in loggers:
        log.addHandler(logging.NullHandler())
        log.propagate = False
    try:
        yield
    finally:
        for log, propagate, handlers in saved:
            log.handlers[:] = handlers
            log.propagate = propagate


LOCATE_REASONS: dict[str, str] = {
    "unavailable": "réseau injoignable",
    "timeout": "délai dépassé",
    "rate_limited": "service saturé, trop de requêtes",
    "server_error": "service refusant la requête ou en erreur",
    "not_found": "adresse introuvable",
    "low_score": "adresse trop incertaine",
    "outside_commune": "adresse trouvée hors de la commune",
    "commune": "adresse trop courte pour être cherchée",
}
"""The French reason of each geocoding flag, as ``demande localiser`` prints it."""

_RETRY_LATER = frozenset({"unavailable", "timeout", "rate_limited", "server_error"})


def locate_report(located: int, failed: Sequence[tuple[str, str]], without_address: int) -> str:
    """The final sentence of ``demande localiser``: addresses located, failures by reason,
    and whether running the command again later may help."""
    text = f"{located} adresse(s) localisée(s)"
    if failed:
        by_reason = Counter(LOCATE_REASONS.get(flag, flag) for _, flag in failed)
        reasons = ", ".join(
            f"{n} {reason}" if len(by_reason) > 1 else reason
            for reason, n in sorted(by_reason.items(), key=lambda item: (-item[1], item[0]))
        )
        text += f", {len(failed)} en échec ({reasons})"
    else:
        text += ", aucune en échec"
    if without_address:
        text += f" ; {without_address} demande(s) sans adresse"
    if any(flag in _RETRY_LATER for _, flag in failed):
        text += " ; relancez plus tard « mt-access demande localiser » pour les adresses en échec"
    return text + "."


GEOCODING_CACHE_OF_A_DATABASE = "mt-access.geocodage.sqlite"
"""The default cache of ``demande localiser`` for a register in a PostgreSQL database."""


def cmd_request_locate(args: argparse.Namespace, console: Console) -> int:
    from mt_access.geo.geocoding import BAN_DEFAULT_DOMAIN, BANGeocoder

    path = register_path(args)
    cache = Path(args.cache) if args.cache else path.with_name(f"{path.stem}.geocodage.sqlite")
    if not args.cache and is_store_url(register_location(args)):
        cache = Path(GEOCODING_CACHE_OF_A_DATABASE)  # in the current folder
    with open_register(args) as register, _quiet_geocoding_logs():
        geocoder = BANGeocoder(
            reference=register.policy.reference,
            domain=args.ban or BAN_DEFAULT_DOMAIN,
            scheme="http" if args.http else "https",
            cache_path=cache,
        )
        with geocoder:
            outcome = register.locate(
                geocoder,
                progress=None
                if args.sans_progression
                else ProgressBar("Géocodage", stream=console.err),
            )
    for rid, flag in outcome.at_commune:
        reason = LOCATE_REASONS.get(flag, flag)
        console.say(f"demande {rid} : adresse non localisée ({reason}) ; point de sa commune")
    console.say(locate_report(len(outcome.located), outcome.at_commune, outcome.without_address))
    return EXIT_OK
