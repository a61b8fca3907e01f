"""Command line ``mt-access`` (French messages, ``--help`` on every command).

Exit codes (:mod:`mt_access.cli.common`): 0 success; 1 invalid data or policy; 2 wrong usage
of the command; 3 operation refused by the register (unknown request or GP, an event
impossible in the request's state, no place left); 4 register file unusable (missing, not a
register, locked, newer schema) or a file that cannot be written; 70 internal error; 130
interrupted; 141 output closed by its reader. :mod:`mt_access.cli.errors` turns errors into
French lines, :mod:`mt_access.cli.parser` makes argparse speak French.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import sys
import traceback
from collections.abc import Sequence
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from mt_access.bounds import Bound
from mt_access.calendar import Month
from mt_access.cli.common import (
    EXIT_BROKEN_PIPE,
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    POLICY_SETTING,
    Console,
    bounded_int,
    parse_month,
    register_path,
    whole_int,
)
from mt_access.cli.errors import describe, exit_code
from mt_access.cli.parser import FrenchParser
from mt_access.cli.summary import render_run
from mt_access.geo.names import normalize_name
from mt_access.loading import available_policies, load_policy
from mt_access.policy import Policy
from mt_access.resources import MODE_LABELS, Resource, resource_warnings
from mt_access.result import format_km

if TYPE_CHECKING:
    from mt_access.register import Register

__all__ = ["main"]

DEMO_REQUESTS = Bound(0, 1000, integer=True)
"""``demo --demandes``: requests generated a month (a large CPTS receives a few hundred)."""
DEMO_HISTORY = Bound(0, 36, integer=True)
"""``demo --historique``: months generated before the demo's month."""


def _remove_register(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def _cmd_demo(args: argparse.Namespace, console: Console) -> int:
    from mt_access.cli.outputs import write_report
    from mt_access.cli.places import places_by_physician
    from mt_access.examples import example_register
    from mt_access.register import Register
    from mt_access.store.sqlite import SQLiteStore

    policy = load_policy(args.politique)
    month: Month = args.mois
    folder = Path(args.dossier)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "registre.sqlite"
    _remove_register(path)
    console.err.write("Construction du registre d'exemple...\n")
    with SQLiteStore(path) as store:
        with store.transaction():
            store.put_setting(POLICY_SETTING, str(args.politique))
        register = Register(store, policy)
        on = example_register(
            register,
            month=month,
            history_months=args.historique,
            requests_per_month=args.demandes,
            seed=args.graine,
        )
        routed, late = register.to_route(on)
        examined = sorted([r.id for r in routed] + late)
        before = places_by_physician(register, on)
        run = register.run_match(on)
        console.say(
            "Données d'exemple générées (aucun patient réel) : registre de "
            f"{register.store.count_requests()} demandes sur {args.historique + 1} mois, "
            f"{len(register.physicians())} médecins."
        )
        console.say("")
        console.say(
            render_run(
                run.result,
                policy,
                register.physicians(),
                total_requests=len(examined),
                run=run,
                details=args.details,
                examined=examined,
                places_before=before,
                places_after=places_by_physician(register, on),
            )
        )
        console.err.write("Courriers, réponses des médecins, rapport et carte...\n")
        from mt_access.examples import example_answers
        from mt_access.letters import letters_for_run, write_letters

        letters = write_letters(letters_for_run(register, run, on), folder / "courriers")
        answered_on = on + dt.timedelta(days=7)
        accepted = example_answers(register, run, answered_on, seed=args.graine)
        console.say(
            f"Réponses des médecins (générées) le {answered_on:%d/%m/%Y} : {accepted} "
            f"acceptation(s), {len(run.proposed) - accepted} refus ou sans objet."
        )
        lists_written = _demo_pull_lists(register, on, folder / "listes", console, args.graine)
        console.say("")
        written = write_report(register, month, folder, console, personal=False)
    console.say("")
    console.say(f"Fichiers écrits dans {folder} :")
    console.say(f"  {path} (le registre)")
    console.say(f"  {folder / 'courriers'} ({len(letters)} courriers)")
    if lists_written:
        console.say(f"  {folder / 'listes'} ({lists_written} listes de médecins)")
    for item in written:
        console.say(f"  {item}")
    console.say("")
    console.say(
        f"Pour continuer : mt-access demande liste --registre {path} ; "
        f"mt-access medecin liste --registre {path} --date {on:%d/%m/%Y}"
    )
    return EXIT_OK


def _demo_pull_lists(
    register: Register, on: dt.date, folder: Path, console: Console, seed: int
) -> int:
    """For a policy with shared lists (``pull``): write the month's list of each GP to
    ``folder`` (XLSX and HTML), then record generated picks from them two days later and the
    GPs' answers a week after; return the number of files written."""
    from mt_access.examples import example_answers, example_picks
    from mt_access.pull_lists import pages_by_physician, write_pull_lists

    if not register.pull_levels():
        return 0
    names = {p.id: p.name for p in register.physicians()}
    pages = pages_by_physician(register.pull_lists(on), names, on, cpts=register.policy.name)
    written = write_pull_lists(pages, folder, formats=["xlsx", "html"])
    picked_on = on + dt.timedelta(days=2)
    picks = example_picks(register, picked_on, seed=seed)
    accepted = example_answers(register, picks, picked_on + dt.timedelta(days=7), seed=seed)
    console.say(
        f"Listes partagées : {len(pages)} médecin(s) ont reçu leur liste ; choix des médecins "
        f"(générés) le {picked_on:%d/%m/%Y} : {len(picks)} demande(s) choisie(s), "
        f"{accepted} acceptée(s) après envoi du dossier."
    )
    return len(written)


def _show_intake(policy: Policy, out: TextIO) -> None:
    mapping = policy.intake
    if mapping is None:
        out.write("Formulaire de demande : modèle générique (pas de section intake)\n")
        return
    preset = f" (modèle {mapping.preset})" if mapping.preset else ""
    out.write(f"Formulaire de demande : {mapping.name or 'sans nom'}{preset}\n")
    for name, field in mapping.fields.items():
        if field.constant is not None:
            source = f"toujours {field.constant!r}"
        else:
            joiner = " + " if field.join else " ou "
            source = joiner.join(f"« {c} »" for c in field.columns)
            if field.optional:
                source += " (facultatif)"
        out.write(f"  {name} ← {source}\n")
    for qid, asked in mapping.questions.items():
        source = " ou ".join(f"« {c} »" for c in asked.columns)
        out.write(f"  question {qid} ← {source}{' (facultatif)' if asked.optional else ''}\n")


_TYPES = {
    "oui_non": "oui/non",
    "choix": "une réponse parmi",
    "choix_multiple": "une ou plusieurs réponses parmi",
    "nombre": "nombre",
    "date": "date",
    "texte": "texte court",
}
_PLACES = {
    "letters": "courriers au patient",
    "referrer_letters": "courriers à l'adresseur",
    "lists": "listes",
    "exports": "exports nominatifs",
}


def _show_questions(policy: Policy, out: TextIO) -> None:
    for q in policy.questions:
        kind = _TYPES[q.type.value]
        if q.options:
            kind += " " + ", ".join(q.options)
        notes = [kind]
        if q.required:
            notes.append("obligatoire")
        if q.shareable:
            notes.append("partageable (listes pseudonymisées)")
        if q.id in policy.referral_fields:
            notes.append("dans le dossier du médecin")
        shown = [_PLACES[p] for p in _PLACES if p in q.show_in]
        if shown:
            notes.append("montrée dans : " + ", ".join(shown))
        out.write(f"Question « {q.id} » : {q.label} ({' ; '.join(notes)})\n")


def _resource_rule(resource: Resource) -> str:
    """`` — avant le parcours vers un médecin, si : ALD ou âge ≥ 70 ans (niveaux : ...)``."""
    if not resource.conditional:
        return ""
    text = f" — {MODE_LABELS[resource.mode]}"
    conditions = []
    if resource.when:
        conditions.append(" ou ".join(f"({c.label})" if c.compound else c.label
                                      for c in resource.when))  # fmt: skip
    if resource.levels:
        conditions.append("niveaux : " + ", ".join(sorted(resource.levels)))
    if conditions:
        text += ", si " + " ; ".join(conditions)
    if resource.wait_days is not None:
        text += f" (attente de sa réponse : {resource.wait_days} jours au plus)"
    return text


def _cmd_policy(args: argparse.Namespace, console: Console) -> int:
    out = console.out
    if args.action == "lister":
        for name, path in available_policies().items():
            out.write(f"{name}\t{path}\n")
        return EXIT_OK
    policy = load_policy(args.fichier)
    if args.action == "verifier":
        out.write(
            f"{policy.source} : politique valide ({policy.name}, {len(policy.territory)} communes, "
            f"{len(policy.levels)} niveau(x) de priorité"
            + (f", {len(policy.questions)} question(s) propre(s)" if policy.questions else "")
            + ").\n"
        )
        privacy = policy.raw.get("privacy")
        if not isinstance(privacy, dict) or "pseudonym_key" not in privacy:
            out.write(
                "attention : privacy.pseudonym_key n'est pas renseignée ; les pseudonymes des "
                "listes partagées sont calculés avec le code de la CPTS, que chacun connaît. "
                "Renseignez une clé secrète pour les listes et exports partagés.\n"
            )
        for warning in resource_warnings(policy):
            out.write(warning + ".\n")
        return EXIT_OK
    out.write(f"{policy.name} ({policy.code}, département {policy.department})\n")
    out.write(f"Territoire : {len(policy.territory)} communes\n")
    names = sorted((policy.commune_name(c) for c in policy.territory), key=normalize_name)
    out.write("  " + ", ".join(names) + "\n")
    for level in policy.levels:
        joined = " ou " if level.match == "any" else " et "
        out.write(
            f"Niveau {level.rank} « {level.name} » : "
            f"{joined.join(f'({c.label})' if c.compound else c.label for c in level.criteria)}\n"
        )
    out.write(f"Niveau {policy.non_priority_rank} « {policy.non_priority_level} » : les autres\n")
    for crit in policy.exclusions:
        out.write(f"Exclusion : {crit.label}\n")
    for label, rule in (
        ("prioritaires", policy.routing_priority),
        ("non prioritaires", policy.routing_non_priority),
        *((f"niveau {k}", v) for k, v in policy.routing_by_level.items()),
    ):
        dist = f", distance max {format_km(rule.max_distance_km)}" if rule.max_distance_km else ""
        out.write(f"Orientation des {label} : {rule.router.label}{dist}\n")
    for res in policy.resources:
        out.write(f"Ressource : {res.describe()}{_resource_rule(res)}\n")
    order = {"received": "ancienneté de la demande", "urgent": "urgence", "age": "âge du patient"}
    out.write(
        "Ordre dans un niveau : "
        + ", puis ".join(order[k] for k in policy.ordering_keys)
        + f", puis {'pseudonyme' if policy.tie_break == 'pseudonym' else 'identifiant'}\n"
    )
    default = (
        "tout le territoire"
        if policy.default_accepted_communes == "territory"
        else "sa commune d'exercice"
    )
    out.write(f"Médecin sans communes déclarées : accepte {default}\n")
    out.write(
        f"Capacité mensuelle par défaut : {policy.default_monthly_capacity} ; report des places "
        f"non utilisées : {'oui' if policy.carry_over else 'non'}\n"
    )
    out.write(
        "Foyers : "
        + (
            "placés ensemble chez un même médecin"
            if policy.keep_households_together
            else "chaque personne peut être placée séparément"
        )
        + "\n"
    )
    out.write(f"Tentatives de contact avant sortie : {policy.max_contact_attempts}\n")
    _show_questions(policy, out)
    _show_intake(policy, out)
    return EXIT_OK


def _parser() -> argparse.ArgumentParser:
    from mt_access.cli import (
        audit_command,
        follow_up_command,
        form_commands,
        outputs,
        registry,
        send_command,
        web_commands,
    )

    parser = FrenchParser(
        prog="mt-access",
        description="Accès au médecin traitant : demandes, médecins volontaires et leurs "
        "capacités, appariement, courriers, rapports et carte. Le guide du coordinateur "
        "(docs/guide-coordinateur.md) montre un mois complet.",
        epilog="Codes de sortie : 0 succès ; 1 données ou politique invalides ; 2 mauvaise "
        "utilisation de la commande ; 3 opération refusée par le registre ; 4 fichier du "
        "registre inutilisable, fichier introuvable ou impossible à écrire ; 70 erreur "
        "interne (détail avec --debug) ; 75 courriers non envoyés (envoyer : relancer plus "
        "tard) ; 130 interruption ; 141 sortie fermée par le lecteur "
        "(| head).",
    )
    parser.add_argument(
        "--debug",
        action="store_true",
        help="en cas d'erreur interne, afficher le détail technique (variable MT_ACCESS_DEBUG=1)",
    )
    sub = parser.add_subparsers(dest="command", metavar="commande", required=True)
    demo = sub.add_parser(
        "demo",
        help="un mois d'exemple de bout en bout (données générées) : registre, appariement, "
        "courriers, rapport et carte",
        description="Construit un registre d'exemple (patients et médecins fictifs) sur "
        "quelques mois, lance l'appariement du mois, puis écrit les courriers, le rapport "
        "mensuel et la carte dans un dossier. Le registre du dossier est remplacé à chaque fois.",
    )
    demo.add_argument("--politique", default="voironnais", help="nom ou fichier YAML (voironnais)")
    demo.add_argument(
        "--mois", type=parse_month, default=Month(2026, 3), help="mois AAAA-MM (2026-03)"
    )
    demo.add_argument(
        "--dossier", default="mt-access-demo", help="dossier de sortie (mt-access-demo)"
    )
    demo.add_argument(
        "--demandes",
        type=bounded_int("--demandes", DEMO_REQUESTS),
        default=40,
        help=f"demandes par mois, de 0 à {DEMO_REQUESTS.high} (40)",
    )
    demo.add_argument(
        "--historique",
        type=bounded_int("--historique", DEMO_HISTORY),
        default=2,
        help=f"mois d'historique avant, de 0 à {DEMO_HISTORY.high} (2)",
    )
    demo.add_argument("--graine", type=whole_int, default=2026, help="graine aléatoire (2026)")
    demo.add_argument(
        "--details", action="store_true", help="expliquer chaque attribution et orientation"
    )
    demo.set_defaults(func=_cmd_demo)

    pol = sub.add_parser(
        "politique",
        aliases=["policy"],
        help="vérifier, afficher ou lister les politiques",
        description="Vérifie ou affiche une politique (nom livré ou fichier YAML).",
    )
    pol.add_argument(
        "action",
        choices=["verifier", "afficher", "lister", "check", "show", "list"],
        help="verifier|afficher|lister",
    )
    pol.add_argument("fichier", nargs="?", default="voironnais", help="nom ou fichier YAML")
    pol.set_defaults(func=_cmd_policy)
    registry.add_commands(sub)
    outputs.add_commands(sub)
    form_commands.add_commands(sub)
    follow_up_command.add_commands(sub)
    send_command.add_send_parser(sub)
    web_commands.add_commands(sub)
    audit_command.add_commands(sub)
    return parser


_ALIASES = {"check": "verifier", "show": "afficher", "list": "lister"}


def _exit_code(exc: BaseException) -> int:
    """The documented exit code of an error a command let out (see :mod:`.errors`)."""
    return exit_code(exc)


def _typed_paths(args: argparse.Namespace | None) -> list[str]:
    """The file and folder names the user gave, to name them as typed in messages."""
    typed = [str(register_path(args))] if args is not None else []
    for value in vars(args).values() if args is not None else ():
        if isinstance(value, str | Path) and str(value):
            typed.append(str(value))
    return typed


class _Nowhere(io.StringIO):
    """Where the lines for a stream closed before the command started go: nowhere."""

    def write(self, text: str) -> int:
        return len(text)


def _silence_stdout() -> None:
    """After a broken pipe: point standard output at /dev/null so that the flush at exit
    does not fail again (Python documentation, « Note on SIGPIPE »)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # pragma: no cover - stdout without a file descriptor
        pass


def _debug_wanted(argv: Sequence[str]) -> bool:
    return "--debug" in argv or os.environ.get("MT_ACCESS_DEBUG", "") not in ("", "0")


def main(
    argv: Sequence[str] | None = None, out: TextIO | None = None, err: TextIO | None = None
) -> int:
    """Entry point of ``mt-access``; returns the exit code.

    Every error is one French line on the error stream (``erreur : ...``) and a documented
    exit code (:mod:`mt_access.cli.common`); an unexpected one is an « erreur interne » whose
    traceback ``--debug`` (or ``MT_ACCESS_DEBUG=1``) shows. A reader that closes the output
    early (``| head``) ends the command silently with code 141.

    Args:
        argv: the arguments (``sys.argv[1:]`` by default).
        out: where results go (standard output by default).
        err: where warnings, errors and progress go (standard error by default).
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    # a stream closed when the command started (``>&-``, a service without output) is None
    console = Console(out or sys.stdout or _Nowhere(), err or sys.stderr or _Nowhere())
    debug = _debug_wanted(argv)
    argv = [a for a in argv if a != "--debug"]  # accepted anywhere on the line
    args: argparse.Namespace | None = None
    try:
        try:
            with redirect_stdout(console.out), redirect_stderr(console.err):
                args = _parser().parse_args(argv)
        except SystemExit as exc:
            return EXIT_USAGE if exc.code else EXIT_OK
        if getattr(args, "command", None) in ("politique", "policy") and args.action in _ALIASES:
            args.action = _ALIASES[args.action]
        code: int = args.func(args, console)
        console.out.flush()
        return code
    except KeyboardInterrupt:
        console.err.write("interrompu\n")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        if console.out is sys.stdout:
            _silence_stdout()
        return EXIT_BROKEN_PIPE
    except Exception as exc:  # every error ends as one French line, never a traceback
        message, code = describe(exc, _typed_paths(args))
        try:
            console.err.write(f"erreur : {message}\n")
            if debug and code == EXIT_INTERNAL:
                traceback.print_exception(exc, file=console.err)
        except (BrokenPipeError, ValueError):  # pragma: no cover - error stream closed too
            pass
        return code


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
