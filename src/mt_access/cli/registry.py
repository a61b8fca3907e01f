"""Commands on a register file: ``registre``, ``import``, ``apparier``, ``demande``,
``medecin``."""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import re
import sys
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from mt_access.bounds import MAX_ADULTS, MAX_CHILDREN
from mt_access.calendar import Month
from mt_access.cli.common import (
    CAPACITY,
    EXIT_OK,
    EXIT_REFUSED,
    EXIT_STORE,
    EXIT_USAGE,
    POLICY_SETTING,
    CommandError,
    Console,
    add_date,
    add_register,
    bounded_int,
    day_of,
    open_register,
    parse_date,
    parse_month,
    register_path,
    table,
)
from mt_access.cli.places import month_places, places_by_physician
from mt_access.cli.summary import month_label, render_run
from mt_access.errors import IntakeError, MtAccessError, PolicyError
from mt_access.lifecycle import (
    Event,
    ExitReason,
    IllegalTransitionError,
    RequestFile,
    RequestState,
    Transition,
)
from mt_access.loading import load_policy
from mt_access.model import Physician
from mt_access.progress import ProgressBar
from mt_access.register import MatchRun, Register, RegisterOperationError
from mt_access.result import MatchResult
from mt_access.store.base import StoreError
from mt_access.store.sqlite import SQLiteStore

__all__ = ["add_commands"]

Handler = Callable[[argparse.Namespace, Console], int]

_STATES = {
    "recue": RequestState.RECEIVED,
    "accusee": RequestState.ACKNOWLEDGED,
    "confirmee": RequestState.CONFIRMED,
    "attente": RequestState.WAITING,
    "proposee": RequestState.PROPOSED,
    "mt-trouve": RequestState.MT_FOUND,
    "sortie": RequestState.EXITED,
}
_ACTIVE = (
    RequestState.RECEIVED,
    RequestState.ACKNOWLEDGED,
    RequestState.CONFIRMED,
    RequestState.WAITING,
    RequestState.PROPOSED,
)
_MODALITIES = {"cabinet": "office", "domicile": "home_visits", "visites": "home_visits"}


def _fr(day: dt.date) -> str:
    return f"{day:%d/%m/%Y}"


# ------------------------------------------------------------------------------------------
# French messages for the register's refusals

_ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")

# Where each event stands on a request's way, and the command that records it.
_STAGE: dict[Event, int] = {
    Event.RECEIVE: 0,
    Event.ACKNOWLEDGE: 1,
    Event.CONFIRM: 2,
    Event.NOT_SEARCHING: 2,
    Event.TO_WAITING: 3,
    Event.PROPOSE: 4,
    Event.ORIENT: 4,
    Event.ACCEPT: 5,
    Event.REFUSE: 5,
}
_NEXT_STEPS = (Event.ACKNOWLEDGE, Event.CONFIRM, Event.TO_WAITING, Event.ORIENT, Event.PROPOSE,
               Event.ACCEPT, Event.REFUSE)  # fmt: skip


def event_command(event: Event, request_id: str) -> str:
    """The ``mt-access`` command that records ``event`` for a request."""
    commands = {
        Event.RECEIVE: "mt-access import FICHIER",
        Event.ACKNOWLEDGE: f"mt-access demande accuser {request_id}",
        Event.CONFIRM: f"mt-access demande confirmer {request_id}",
        Event.NOT_SEARCHING: f"mt-access demande cloturer {request_id} ne-cherche-plus",
        Event.TO_WAITING: f"mt-access demande attente {request_id}",
        Event.PROPOSE: f"mt-access demande proposer {request_id} MEDECIN",
        Event.ORIENT: "mt-access apparier",
        Event.ACCEPT: f"mt-access medecin repondre MEDECIN {request_id} accepte",
        Event.REFUSE: f"mt-access medecin repondre MEDECIN {request_id} refuse",
        Event.CONTACT_SUCCEEDED: f"mt-access demande contact {request_id} joint",
        Event.CONTACT_FAILED: f"mt-access demande contact {request_id} injoignable",
        Event.WITHDRAW: f"mt-access demande cloturer {request_id} retrait",
        Event.OUT_OF_SCOPE: f"mt-access demande cloturer {request_id} hors-dispositif",
        Event.OTHER_SOLUTION: f"mt-access demande cloturer {request_id} autre-solution",
        Event.CLOSE: f"mt-access demande cloturer {request_id} cloture -c MOTIF",
    }
    return commands[event]


def refusal_message(exc: IllegalTransitionError) -> str:
    """A French sentence for an event the request's state does not allow, naming the
    ``mt-access`` commands to run instead (never the lifecycle's internal event names)."""
    rid = exc.request_id
    state = f"la demande {rid} est « {exc.state.label} »"
    if not exc.allowed:
        return f"impossible : {state} ; plus aucun événement ne peut être enregistré"
    steps = [e for e in _NEXT_STEPS if e in exc.allowed]
    if not steps:
        return f"impossible : {state}"
    commands = [event_command(e, rid) for e in steps if e is not Event.REFUSE]
    if Event.ACCEPT in steps:  # a proposal pending: its answer comes next
        commands = [f"mt-access medecin repondre MEDECIN {rid} accepte|refuse"]
    listed = " ou ".join(f"« {command} »" for command in commands)
    if min(_STAGE[e] for e in steps) <= _STAGE.get(exc.event, 0):
        return f"impossible : {state} ; faites d'abord {listed}"
    return f"impossible : {state}, cette étape est passée ; étape suivante : {listed}"


def _in_french(handler: Handler) -> Handler:
    """``handler`` with the register's refusals told in French: an event impossible in the
    request's state names the commands to run instead, and dates read JJ/MM/AAAA."""

    def run(args: argparse.Namespace, console: Console) -> int:
        try:
            return handler(args, console)
        except IllegalTransitionError as exc:
            raise CommandError(refusal_message(exc), EXIT_REFUSED) from exc
        except MtAccessError as exc:
            # Messages that name no file: a date in them is the register's, not a path's.
            named_file = (CommandError, PolicyError, IntakeError, StoreError, OSError)
            (message,) = exc.args if len(exc.args) == 1 else (None,)
            if not isinstance(exc, named_file) and isinstance(message, str):
                exc.args = (french_dates(message),)
            raise

    return run


def french_dates(text: str) -> str:
    """``text`` with its ISO dates (AAAA-MM-JJ) written JJ/MM/AAAA."""
    return _ISO_DATE.sub(r"\3/\2/\1", text)


# ------------------------------------------------------------------------------------------
# registre


def _cmd_register_create(args: argparse.Namespace, console: Console) -> int:
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


def _cmd_register_info(args: argparse.Namespace, console: Console) -> int:
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
                f"Dernier appariement : n° {last.number} du {_fr(last.on)} "
                f"(mois de {month_label(last.month)})."
            )
    return EXIT_OK


def _cmd_register_check(args: argparse.Namespace, console: Console) -> int:
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


def _cmd_import(args: argparse.Namespace, console: Console) -> int:
    from mt_access.intake import import_file, load_preset, write_rejections

    with open_register(args) as register:
        mapping = load_preset(args.formulaire) if args.formulaire else None
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


# ------------------------------------------------------------------------------------------
# apparier


def month_capacity(register: Register, month: Month) -> Callable[[Physician], int]:
    """A physician's capacity in ``month`` as the register's ledger records it."""
    ledger = register.ledger
    policy = register.policy

    def capacity(physician: Physician) -> int:
        default = policy.monthly_capacity_of(physician)
        return ledger.capacity(physician.id, month, default=default)

    return capacity


def _not_examined(register: Register, routed: set[str]) -> list[tuple[str, int]]:
    """``(French reason, count)`` of the requests in progress a run does not route."""
    reasons = (
        (RequestState.RECEIVED, "reçue(s) sans accusé de réception"),
        (RequestState.ACKNOWLEDGED, "à confirmer par le patient"),
        (RequestState.CONFIRMED, "confirmée(s) pas encore inscrite(s) en liste d'attente"),
        (RequestState.PROPOSED, "déjà proposée(s) à un médecin (réponse attendue)"),
    )
    counts = {
        state: sum(1 for s in register.list_requests(state) if s.id not in routed)
        for state, _ in reasons
    }
    return [(reason, counts[state]) for state, reason in reasons if counts[state]]


def _cmd_match(args: argparse.Namespace, console: Console) -> int:
    with open_register(args, readonly=args.apercu) as register:
        on = day_of(args)
        routed, late = register.to_route(on)
        examined = sorted([r.id for r in routed] + late)
        before = places_by_physician(register, on)
        not_examined = _not_examined(register, set(examined))

        def show(result: MatchResult, run: MatchRun | None = None) -> str:
            return render_run(
                result,
                register.policy,
                register.physicians(),
                total_requests=len(examined),
                run=run,
                examined=examined,
                skipped=late,
                not_examined=not_examined,
                places_before=before,
                places_after=None if run is None else places_by_physician(register, on),
            )

        if args.apercu:
            console.say("Aperçu : rien n'est enregistré.")
            console.say(show(register.preview_match(on)))
            return EXIT_OK
        run = register.run_match(on)
        console.say(show(run.result, run))
        if args.courriers:
            from mt_access.letters import letters_for_run, write_letters

            try:
                letters = letters_for_run(register, run, on)
                written = write_letters(letters, args.courriers)
            except (MtAccessError, OSError) as exc:
                raise CommandError(
                    f"l'appariement n° {run.record.number} est enregistré, mais les courriers "
                    f"n'ont pas pu être écrits ({exc}) ; écrivez-les avec « mt-access demande "
                    "courrier »",
                    EXIT_STORE,
                ) from exc
            console.say(
                f"{len(letters)} courrier(s) écrit(s) dans {args.courriers} "
                f"({len(written)} fichiers : texte et Markdown)."
            )
    return EXIT_OK


# ------------------------------------------------------------------------------------------
# demande


def _request_rows(register: Register, states: tuple[RequestState, ...]) -> list[tuple[Any, ...]]:
    policy = register.policy
    rows = []
    for s in register.list_requests(*states):
        rows.append(
            (
                s.id,
                _fr(s.received),
                s.state.label,
                _fr(s.last_event),
                policy.commune_name(s.commune),
                s.persons if s.searching in (0, s.persons) else f"{s.searching}/{s.persons}",
                "oui" if s.urgent else "",
                ", ".join(s.proposed_to),
            )
        )
    return rows


def _cmd_request_list(args: argparse.Namespace, console: Console) -> int:
    states = tuple(_STATES[s] for s in args.etat) if args.etat else _ACTIVE
    with open_register(args, readonly=True) as register:
        rows = _request_rows(register, states)
    if not rows:
        console.say("Aucune demande.")
        return EXIT_OK
    headers = (
        "demande",
        "reçue le",
        "état",
        "depuis le",
        "commune",
        "pers.",
        "urgent",
        "proposée à",
    )
    console.say(table(headers, rows, right=(5,)))
    console.say(f"{len(rows)} demande(s).")
    return EXIT_OK


def _say_state(console: Console, file: RequestFile) -> None:
    console.say(f"Demande {file.id} : {file.state.label}.")


def _event_command(
    action: Callable[[Register, argparse.Namespace, dt.date], RequestFile],
) -> Handler:
    def handler(args: argparse.Namespace, console: Console) -> int:
        with open_register(args) as register:
            _say_state(console, action(register, args, day_of(args)))
        return EXIT_OK

    return handler


def _confirm(register: Register, args: argparse.Namespace, on: dt.date) -> RequestFile:
    file = register.confirm(args.demande, on, args.commentaire)
    if args.sans_attente:
        return file
    return register.to_waiting(args.demande, on, args.commentaire)


_Exit = Callable[[Register, str, dt.date, str, "tuple[int, ...] | None"], RequestFile]
_EXITS: dict[str, _Exit] = {
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


def _add_persons(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument(
        "--personnes",
        type=person_numbers,
        metavar="N,N",
        help=f"pour un foyer : les personnes {what}, par numéro (1 : le demandeur, puis les "
        "autres adultes, puis les enfants ; voir « demande historique ») ; par défaut toutes "
        "celles qui cherchent encore",
    )


def _close(register: Register, args: argparse.Namespace, on: dt.date) -> RequestFile:
    if args.motif == "cloture" and not args.commentaire.strip():
        raise CommandError("une clôture par la CPTS demande un --commentaire qui la justifie")
    return _EXITS[args.motif](register, args.demande, on, args.commentaire, args.personnes)


def _history_rows(register: Register, history: tuple[Transition, ...]) -> list[tuple[Any, ...]]:
    names = {p.id: p.name for p in register.physicians()}
    rows = []
    for t in history:
        who = ""
        if t.physician_id:
            who = f"{names.get(t.physician_id, t.physician_id)} ({t.physician_id})"
        rows.append(
            (
                _fr(t.on),
                t.event.label,
                t.to_state.label,
                t.actor.label,
                who,
                ", ".join(str(n) for n in t.persons),
                t.reason.label if t.reason else "",
                t.comment,
            )
        )
    return rows


def _persons_line(register: Register, file: RequestFile) -> str:
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


def _cmd_request_history(args: argparse.Namespace, console: Console) -> int:
    with open_register(args, readonly=True) as register:
        history = register.history(args.demande)
        file = register.file(args.demande)
        rows = _history_rows(register, history)
        persons = _persons_line(register, file) if file.persons > 1 else ""
    console.say(f"Demande {args.demande} : {file.state.label}")
    if persons:
        console.say(persons)
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
    return EXIT_OK


def _cmd_request_position(args: argparse.Namespace, console: Console) -> int:
    from mt_access.indicators import waiting_position

    with open_register(args, readonly=True) as register:
        position = waiting_position(register, args.demande, day_of(args))
    console.say(position.message)
    return EXIT_OK


def _cmd_request_letter(args: argparse.Namespace, console: Console) -> int:
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
        else:
            if not args.medecin:
                raise CommandError("le dossier pour un médecin demande --medecin ID")
            letter = letters.referral_letter(register, args.demande, args.medecin, on)
    formats = tuple(args.format or ["md"])
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


def _cmd_request_erase(args: argparse.Namespace, console: Console) -> int:
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
        f"Demande {rid} : données personnelles effacées le {_fr(on)} (nom, date de naissance "
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


def _cmd_request_locate(args: argparse.Namespace, console: Console) -> int:
    from mt_access.geo.geocoding import BAN_DEFAULT_DOMAIN, BANGeocoder

    path = register_path(args)
    cache = Path(args.cache) if args.cache else path.with_name(f"{path.stem}.geocodage.sqlite")
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


# ------------------------------------------------------------------------------------------
# medecin


def _cmd_gp_add(args: argparse.Namespace, console: Console) -> int:
    with open_register(args) as register:
        reference = register.policy.reference
        commune = args.commune
        if reference is not None and not (commune.isdigit() or commune[:2] in ("2A", "2B")):
            commune = reference.resolve(commune).insee
        physician = Physician(id=args.id, name=args.nom, commune=commune, rpps=args.rpps)
        register.add_physician(physician)
        console.say(
            f"Médecin ajouté : {physician.name} ({physician.id}, "
            f"{register.policy.commune_name(commune)}). Son adhésion : « mt-access medecin "
            f"adherer {physician.id} --capacite N »."
        )
    return EXIT_OK


def _cmd_gp_join(args: argparse.Namespace, console: Console) -> int:
    modalities = sorted({_MODALITIES[m] for m in args.modalites})
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
        )
        console.say(
            f"{physician.name} participe au dispositif depuis le {_fr(day_of(args))} : "
            f"{args.capacite} nouveau(x) patient(s) par mois."
        )
    return EXIT_OK


def _cmd_gp_capacity(args: argparse.Namespace, console: Console) -> int:
    with open_register(args) as register:
        on = day_of(args)
        month = args.mois or Month.of(on)
        register.change_capacity(args.id, on, args.capacite, month=month, note=args.commentaire)
        console.say(
            f"{register.physician(args.id).name} : capacité de {args.capacite} par mois "
            f"à partir de {month.label}."
        )
    return EXIT_OK


def _gp_status(
    action: Callable[[Register, argparse.Namespace, dt.date], Physician], verb: str
) -> Handler:
    def handler(args: argparse.Namespace, console: Console) -> int:
        with open_register(args) as register:
            on = day_of(args)
            physician = action(register, args, on)
            console.say(f"{physician.name} ({physician.id}) {verb} le {_fr(on)}.")
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
                status.label if p.status_history else "candidat",
                ", ".join(m.label for m in sorted(p.modalities, key=lambda m: m.value)),
                places.capacity,
                places.used,
                places.left,
            )
        )
    return rows


def _cmd_gp_list(args: argparse.Namespace, console: Console) -> int:
    with open_register(args, readonly=True) as register:
        on = day_of(args)
        rows = _physician_rows(register, on)
    if not rows:
        console.say("Aucun médecin dans le registre.")
        return EXIT_OK
    console.say(f"Médecins au {_fr(on)} (places du mois de {Month.of(on).label})")
    headers = ("id", "nom", "commune", "statut", "modalités", "capacité", "prises", "restantes")
    console.say(table(headers, rows, right=(5, 6, 7)))
    return EXIT_OK


def _cmd_gp_answer(args: argparse.Namespace, console: Console) -> int:
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


# ------------------------------------------------------------------------------------------
# parser


def _comment(parser: argparse.ArgumentParser, *, required: bool = False) -> None:
    parser.add_argument(
        "-c",
        "--commentaire",
        default="",
        required=required,
        help="commentaire gardé dans l'historique (pas de donnée médicale)",
    )


def _sub(
    group: Any, name: str, aliases: list[str], summary: str, handler: Handler
) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = group.add_parser(
        name, aliases=aliases, help=summary, description=summary[0].upper() + summary[1:] + "."
    )
    add_register(parser)
    parser.set_defaults(func=_in_french(handler))
    return parser


def add_commands(sub: Any) -> None:
    """Add the register commands to the ``mt-access`` sub-parsers."""
    # registre
    reg = sub.add_parser(
        "registre",
        aliases=["register"],
        help="créer un registre, le décrire, vérifier son intégrité",
        description="Le registre de la CPTS : un fichier SQLite qui garde les demandes, les "
        "médecins, leurs capacités et chaque appariement.",
    )
    reg_sub = reg.add_subparsers(dest="action", metavar="action", required=True)
    create = reg_sub.add_parser(
        "creer",
        aliases=["create"],
        help="créer un registre vide pour une politique",
        description="Crée un registre vide et y enregistre la politique à utiliser.",
    )
    create.add_argument("registre", metavar="FICHIER", help="fichier à créer")
    create.add_argument("--politique", required=True, help="nom livré ou fichier YAML")
    create.set_defaults(func=_cmd_register_create)
    _sub(reg_sub, "info", [], "compter les demandes par état, les médecins, les appariements",
         _cmd_register_info)  # fmt: skip
    _sub(reg_sub, "verifier", ["check"], "vérifier l'intégrité du fichier du registre",
         _cmd_register_check)  # fmt: skip

    # import
    imp = _sub(sub, "import", ["importer"], "importer l'export d'un formulaire de demandes",
               _cmd_import)  # fmt: skip
    imp.add_argument("fichier", metavar="FICHIER", help="export CSV ou XLSX du formulaire")
    imp.add_argument(
        "--formulaire",
        default=None,
        help="modèle de formulaire livré (voironnais, lievin, sud_est_grenoblois, generique) ; "
        "par défaut celui de la politique",
    )
    imp.add_argument("--feuille", default=None, help="feuille du classeur XLSX")
    imp.add_argument(
        "--rejets",
        default=None,
        metavar="FICHIER",
        help="rapport des lignes non importées (<fichier>.rejets.csv par défaut)",
    )
    imp.add_argument(
        "--date",
        type=parse_date,
        default=None,
        metavar="JJ/MM/AAAA",
        help="date de réception des lignes qui n'en ont pas",
    )
    imp.add_argument("--sans-progression", action="store_true", help="pas de barre de progression")

    # apparier
    match = _sub(
        sub,
        "apparier",
        ["match"],
        "lancer l'appariement du mois : propositions aux médecins, orientations",
        _cmd_match,
    )
    add_date(match, "date de l'appariement")
    match.add_argument(
        "--apercu", "--dry-run", action="store_true", help="montrer sans rien enregistrer"
    )
    match.add_argument(
        "--courriers",
        default=None,
        metavar="DOSSIER",
        help="écrire les dossiers pour les médecins et les courriers d'orientation",
    )

    # demande
    req = sub.add_parser(
        "demande",
        aliases=["request"],
        help="suivre une demande : lister, accuser réception, confirmer, relancer, clôturer",
        description="Les événements de la vie d'une demande.",
    )
    req_sub = req.add_subparsers(dest="action", metavar="action", required=True)
    lst = _sub(req_sub, "liste", ["list"], "lister les demandes (en cours par défaut)",
               _cmd_request_list)  # fmt: skip
    lst.add_argument(
        "--etat", action="append", choices=sorted(_STATES), help="état (répétable)", default=[]
    )
    for name, aliases, summary, action in (
        ("accuser", ["acknowledge"], "l'accusé de réception a été envoyé",
         lambda r, a, d: r.acknowledge(a.demande, d, a.commentaire)),
        ("attente", ["wait"], "mettre une demande confirmée en liste d'attente",
         lambda r, a, d: r.to_waiting(a.demande, d, a.commentaire)),
    ):  # fmt: skip
        p = _sub(req_sub, name, aliases, summary, _event_command(action))
        p.add_argument("demande", help="identifiant de la demande")
        add_date(p)
        _comment(p)
    conf = _sub(
        req_sub,
        "confirmer",
        ["confirm"],
        "le patient cherche toujours : confirmer et mettre en liste d'attente",
        _event_command(_confirm),
    )
    conf.add_argument("demande", help="identifiant de la demande")
    conf.add_argument(
        "--sans-attente", action="store_true", help="confirmer sans mettre en liste d'attente"
    )
    add_date(conf)
    _comment(conf)
    contact = _sub(
        req_sub,
        "contact",
        [],
        "noter une tentative de contact du patient",
        _event_command(
            lambda r, a, d: r.record_contact(a.demande, d, a.resultat == "joint", a.commentaire)
        ),
    )
    contact.add_argument("demande", help="identifiant de la demande")
    contact.add_argument(
        "resultat",
        choices=["joint", "injoignable"],
        help="joint, ou injoignable (au bout du nombre de tentatives de la politique, la "
        "demande sort du dispositif)",
    )
    add_date(contact)
    _comment(contact)
    close = _sub(
        req_sub,
        "cloturer",
        ["close"],
        "faire sortir une demande du dispositif, avec son motif",
        _event_command(_close),
    )
    close.add_argument("demande", help="identifiant de la demande")
    close.add_argument("motif", choices=sorted(_EXITS), help="motif de sortie")
    _add_persons(close, "qui sortent")
    add_date(close)
    _comment(close)
    prop = _sub(
        req_sub,
        "proposer",
        ["propose"],
        "proposer une demande en attente à un médecin, à la main",
        _event_command(
            lambda r, a, d: r.propose(a.demande, a.medecin, d, a.commentaire, persons=a.personnes)
        ),
    )
    prop.add_argument("demande", help="identifiant de la demande")
    prop.add_argument("medecin", help="identifiant du médecin")
    _add_persons(prop, "proposées")
    add_date(prop)
    _comment(prop)
    erase = _sub(
        req_sub,
        "effacer",
        ["erase"],
        "effacer définitivement les données personnelles d'un patient à sa demande (RGPD) ; "
        "demande confirmation",
        _cmd_request_erase,
    )
    erase.add_argument("demande", help="identifiant de la demande")
    erase.add_argument(
        "--oui",
        action="store_true",
        help="effacer sans poser la question (obligatoire hors d'un terminal, dans un script)",
    )
    add_date(erase, "date de l'effacement")
    loc = _sub(
        req_sub,
        "localiser",
        ["locate"],
        "localiser l'adresse des demandes en cours (Base Adresse Nationale), pour mesurer "
        "les distances depuis le domicile",
        _cmd_request_locate,
    )
    loc.add_argument(
        "--cache",
        default=None,
        metavar="FICHIER",
        help="cache des réponses (<registre>.geocodage.sqlite par défaut)",
    )
    loc.add_argument(
        "--ban", default=None, metavar="HÔTE", help="adresse du service BAN (le service public)"
    )
    loc.add_argument("--http", action="store_true", help="service BAN en http (serveur local)")
    loc.add_argument("--sans-progression", action="store_true", help="pas de barre de progression")
    hist = _sub(req_sub, "historique", ["history"], "montrer l'historique d'une demande",
                _cmd_request_history)  # fmt: skip
    hist.add_argument("demande", help="identifiant de la demande")
    pos = _sub(
        req_sub,
        "position",
        [],
        "rang dans la liste d'attente et délai estimé (avec son incertitude)",
        _cmd_request_position,
    )
    pos.add_argument("demande", help="identifiant de la demande")
    add_date(pos, "date de référence")
    letter = _sub(
        req_sub,
        "courrier",
        ["letter"],
        "écrire un courrier : accusé de réception, dossier pour un médecin, retour, orientation",
        _cmd_request_letter,
    )
    letter.add_argument("demande", help="identifiant de la demande")
    letter.add_argument(
        "type",
        choices=["accuse-patient", "accuse-adresseur", "dossier-medecin", "retour-adresseur",
                 "orientation"],
        help="le courrier à écrire",
    )  # fmt: skip
    letter.add_argument("--medecin", default=None, help="pour le dossier : le médecin")
    letter.add_argument(
        "--dossier", default=None, metavar="DOSSIER", help="écrire dans ce dossier (sinon affiché)"
    )
    letter.add_argument(
        "--format",
        action="append",
        choices=["txt", "md"],
        default=None,
        help="txt ou md (répétable ; md par défaut)",
    )
    letter.set_defaults(format=None)
    add_date(letter, "date du courrier")

    # medecin
    gp = sub.add_parser(
        "medecin",
        aliases=["gp"],
        help="les médecins volontaires : ajouter, adhérer, capacité, suspendre, répondre",
        description="Les médecins volontaires du dispositif et leurs réponses.",
    )
    gp_sub = gp.add_subparsers(dest="action", metavar="action", required=True)
    lst = _sub(gp_sub, "liste", ["list"], "lister les médecins et leurs places du mois",
               _cmd_gp_list)  # fmt: skip
    add_date(lst, "date de référence")
    add = _sub(gp_sub, "ajouter", ["add"], "ajouter un médecin (candidat) au registre", _cmd_gp_add)
    add.add_argument("id", help="identifiant du médecin (ex. RPPS)")
    add.add_argument("--nom", required=True, help="nom affiché (ex. « Dr Martin »)")
    add.add_argument("--commune", required=True, help="commune d'exercice : code INSEE ou nom")
    add.add_argument("--rpps", default=None, help="numéro RPPS")
    join = _sub(gp_sub, "adherer", ["join"], "le médecin signe la charte et déclare sa capacité",
                _cmd_gp_join)  # fmt: skip
    join.add_argument("id", help="identifiant du médecin")
    join.add_argument(
        "--capacite",
        type=bounded_int("--capacite", CAPACITY),
        required=True,
        help="nouveaux patients par mois (0 ou plus)",
    )
    join.add_argument(
        "--modalites",
        nargs="+",
        choices=sorted(_MODALITIES),
        default=["cabinet"],
        help="cabinet et/ou domicile (cabinet par défaut)",
    )
    join.add_argument(
        "--communes",
        nargs="*",
        default=[],
        help="communes acceptées (codes INSEE ou noms ; par défaut selon la politique)",
    )
    add_date(join, "date d'adhésion")
    _comment(join)
    cap = _sub(gp_sub, "capacite", ["capacity"], "changer la capacité mensuelle", _cmd_gp_capacity)
    cap.add_argument("id", help="identifiant du médecin")
    cap.add_argument(
        "capacite", type=bounded_int("capacité", CAPACITY), help="nouveaux patients par mois"
    )
    cap.add_argument(
        "--mois", type=parse_month, default=None, help="à partir du mois AAAA-MM (celui de --date)"
    )
    add_date(cap, "date de la déclaration")
    _comment(cap)
    susp = _sub(
        gp_sub,
        "suspendre",
        ["suspend"],
        "suspendre la participation",
        _gp_status(lambda r, a, d: r.suspend(a.id, d, a.jusqu_au, a.commentaire), "suspendu"),
    )
    susp.add_argument("id", help="identifiant du médecin")
    susp.add_argument(
        "--jusqu-au",
        dest="jusqu_au",
        type=parse_date,
        default=None,
        metavar="JJ/MM/AAAA",
        help="dernier jour de la suspension (sans fin par défaut)",
    )
    add_date(susp, "premier jour de la suspension")
    _comment(susp)
    for name, aliases, summary, action, verb in (
        ("reprendre", ["resume"], "mettre fin à une suspension",
         lambda r, a, d: r.resume(a.id, d, a.commentaire), "reprend"),
        ("retirer", ["withdraw"], "le médecin quitte le dispositif",
         lambda r, a, d: r.withdraw_physician(a.id, d, a.commentaire), "quitte le dispositif"),
    ):  # fmt: skip
        p = _sub(gp_sub, name, aliases, summary, _gp_status(action, verb))
        p.add_argument("id", help="identifiant du médecin")
        add_date(p)
        _comment(p)
    ans = _sub(
        gp_sub,
        "repondre",
        ["answer"],
        "réponse du médecin à une proposition : accepte ou refuse",
        _cmd_gp_answer,
    )
    ans.add_argument("medecin", help="identifiant du médecin")
    ans.add_argument("demande", help="identifiant de la demande")
    ans.add_argument("reponse", choices=["accepte", "refuse"], help="accepte ou refuse")
    add_date(ans, "date de la réponse")
    _comment(ans)
