"""The command ``demande qualifier``: change a request's answers to the CPTS's own questions
(``--reponse ID=VALEUR``) or its built-in criteria (``--champ ald=oui``), with a reason
(``--motif``), recorded in its history; and the answers shown by ``demande liste`` and
``demande historique``.
"""

from __future__ import annotations

import argparse
from typing import Any

from mt_access.cli.common import EXIT_OK, CommandError, Console, day_of, open_register
from mt_access.cli.registry_base import fr_date
from mt_access.errors import IntakeError
from mt_access.intake.question_fields import parse_answer
from mt_access.intake.tabular import parse_yes_no
from mt_access.policy import Policy
from mt_access.register_qualify import QUALIFIABLE_FIELDS

__all__ = ["add_qualify_arguments", "answer_pair", "cmd_request_qualify", "parse_answers"]


def answer_pair(text: str) -> tuple[str, str]:
    """``--reponse isole=oui``: ``("isole", "oui")`` (argparse type)."""
    key, sep, value = text.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError(
            "IDENTIFIANT=VALEUR attendu (par exemple isole=oui ; « isole= » efface la réponse)"
        )
    if not key.strip():
        raise argparse.ArgumentTypeError("identifiant avant « = » attendu")
    return key.strip(), value


def parse_answers(pairs: list[tuple[str, str]], policy: Policy) -> dict[str, object | None]:
    """The typed answers of ``--reponse`` options (``None``: remove the answer).

    Raises:
        CommandError: an unknown question (the known ones listed), or a value that does not
            fit its question (what was expected; never the value).
    """
    known = {q.id: q for q in policy.questions}
    out: dict[str, object | None] = {}
    for qid, text in pairs:
        question = known.get(qid)
        if question is None:
            listed = ", ".join(known) or "aucune (la politique n'a pas de section questions)"
            raise CommandError(f"--reponse : question inconnue « {qid} » ; questions : {listed}")
        if qid in out:
            raise CommandError(f"--reponse : question « {qid} » donnée deux fois")
        try:
            out[qid] = parse_answer(text, question)
        except IntakeError as exc:
            raise CommandError(f"--reponse {qid} : {exc.expected}") from None
    return out


def _fields(pairs: list[tuple[str, str]]) -> dict[str, bool]:
    out: dict[str, bool] = {}
    for name, text in pairs:
        if name not in QUALIFIABLE_FIELDS:
            raise CommandError(
                f"--champ : champ inconnu « {name} » ; champs modifiables : "
                f"{', '.join(QUALIFIABLE_FIELDS)}"
            )
        if not text.strip():
            raise CommandError(f"--champ {name} : oui ou non attendu (un critère ne s'efface pas)")
        try:
            out[name] = parse_yes_no(text)
        except IntakeError:
            raise CommandError(f"--champ {name} : oui ou non attendu") from None
    return out


def cmd_request_qualify(args: argparse.Namespace, console: Console) -> int:
    if not args.reponse and not args.champ:
        raise CommandError("rien à modifier : donnez au moins une --reponse ou un --champ")
    if not args.motif.strip():
        raise CommandError("--motif : la raison de la modification est obligatoire")
    with open_register(args) as register:
        answers = parse_answers(args.reponse, register.policy)
        fields = _fields(args.champ)
        on = day_of(args)
        file = register.qualify(args.demande, on, answers=answers, fields=fields, reason=args.motif)
    prefix = f"{args.motif.strip()} — "
    changes = file.history[-1].comment.removeprefix(prefix).split(" ; ")
    console.say(
        f"Demande {file.id} : qualification modifiée le {fr_date(on)} ({file.state.label})."
    )
    for change in changes:
        console.say(f"  {change}")
    console.say("Le prochain appariement classe la demande avec sa nouvelle qualification.")
    return EXIT_OK


def add_qualify_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("demande", help="identifiant de la demande")
    parser.add_argument(
        "--reponse",
        action="append",
        type=answer_pair,
        default=[],
        metavar="ID=VALEUR",
        help="réponse à une question de la politique (répétable) : isole=oui, "
        'situation=Complexe, aides="Kiné; Infirmier", traitements=3, sortie=15/03/2026 ; '
        "ID= (sans valeur) efface la réponse",
    )
    parser.add_argument(
        "--champ",
        action="append",
        type=answer_pair,
        default=[],
        metavar="CHAMP=OUI|NON",
        help=f"critère de la demande (répétable) : {', '.join(QUALIFIABLE_FIELDS)}",
    )
    parser.add_argument(
        "--motif",
        required=True,
        help="raison de la modification, gardée dans l'historique (obligatoire)",
    )


def answers_line(labels_values: Any) -> str:
    """« Personne isolée : oui ; Situation : Complexe »."""
    return " ; ".join(f"{label} : {value}" for label, value in labels_values)
