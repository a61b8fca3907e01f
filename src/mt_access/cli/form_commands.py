"""The ``formulaire`` commands: ``deduire`` writes a form mapping proposed from an export,
``tester`` shows how the first rows of an export would import with a mapping (nothing is
recorded). The mapping is then used by ``mt-access import --formulaire FICHIER.yaml``."""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path
from typing import Any

import attrs

from mt_access.bounds import Bound
from mt_access.cli.common import (
    EXIT_INVALID_INPUT,
    EXIT_OK,
    EXIT_STORE,
    CommandError,
    Console,
    bounded_int,
    table,
)
from mt_access.loading import load_policy
from mt_access.policy import Policy

__all__ = ["add_commands", "cmd_form_deduce", "cmd_form_test"]

TRIED_LINES = Bound(1, 1000, integer=True)
"""``formulaire tester --lignes``: the lines of the export tried."""

_DEFAULT_POLICY = "voironnais"
_FLAGS = (
    ("ald", "ALD"),
    ("css", "CSS"),
    ("ame", "AME"),
    ("disability_or_chronic", "handicap ou maladie chronique"),
    ("urgent", "urgent"),
)


def _policy(name: str | None) -> Policy:
    return load_policy(name if name is not None else _DEFAULT_POLICY)


def _output(args: argparse.Namespace) -> Path:
    if args.sortie is not None:
        return Path(args.sortie)
    source = Path(args.fichier)
    if not source.name:  # "", "." or "/": no file to write the mapping beside
        raise CommandError(
            f"« {args.fichier} » : fichier de l'export attendu (.csv, .txt ou .xlsx)",
            EXIT_INVALID_INPUT,
        )
    return source.with_name(f"{source.stem}.correspondance.yaml")


def cmd_form_deduce(args: argparse.Namespace, console: Console) -> int:
    from mt_access.intake.deduce import deduce_mapping
    from mt_access.intake.deduce_yaml import mapping_yaml
    from mt_access.intake.tabular import read_table

    questions = _policy(args.politique).questions if args.politique is not None else ()
    output = _output(args)
    if output.exists() and not args.ecraser:
        raise CommandError(
            f"{output} : le fichier existe déjà ; choisissez un autre nom (--sortie) ou "
            "ajoutez --ecraser",
            EXIT_STORE,
        )
    export = read_table(args.fichier, sheet=args.feuille)
    deduction = deduce_mapping(export, questions=questions)
    text = mapping_yaml(deduction, file_name=Path(args.fichier).name)
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise CommandError(f"{output} : écriture impossible ({exc.strerror})", EXIT_STORE) from exc
    declared = sum(1 for q in deduction.questions if q.declared)
    proposed = len(deduction.questions) - declared
    console.say(f"Correspondance proposée écrite dans {output} :")
    console.say(
        f"  {len(deduction.fields)} colonne(s) lue(s) par un champ, {declared} par une question "
        f"de la politique, {proposed} question(s) proposée(s) (en commentaire), "
        f"{len(deduction.unplaced)} colonne(s) non placée(s)."
    )
    rows = [(f"« {p.header} »", p.field, f"{p.score:.0f} %") for p in deduction.fields]
    rows += [(f"« {q.header} »", f"question {q.id}", "") for q in deduction.questions if q.declared]
    console.say(table(("colonne", "champ", "confiance"), rows, right=(2,)))
    for header, why in deduction.unplaced:
        console.say(f"  non placée : « {header} » ({why})")
    for question in deduction.questions:
        if not question.declared:
            console.say(
                f"  question proposée : « {question.header} » ({question.type}) : à déclarer "
                "dans la politique"
            )
    if deduction.missing:
        for _, missing in deduction.missing:
            console.warn(f"champ obligatoire non trouvé : {missing}")
        console.say(f"Complétez {output} (lignes « À COMPLÉTER ») avant l'import.")
        return EXIT_INVALID_INPUT
    if deduction.is_follow_up:
        console.say(
            "Suivi existant reconnu (issue ou date de sortie) : relisez la correspondance, "
            f"puis : mt-access reprise {args.fichier} --formulaire {output} --simulation"
        )
        return EXIT_OK
    console.say(
        f"Relisez-la, puis : mt-access formulaire tester {args.fichier} {output}"
        + (f" --politique {args.politique}" if args.politique else "")
    )
    return EXIT_OK


def _commune_name(policy: Policy, code: str) -> str:
    from mt_access.geo.communes import bundled_reference

    reference = policy.reference if policy.reference is not None else bundled_reference()
    try:
        return f"{reference.get(code).name} ({code})"
    except (KeyError, LookupError):
        return code


def _answers(policy: Policy, answers: Any) -> str:
    from mt_access.questions import format_answer

    shown = []
    for question in policy.questions:
        value = answers.get(question.id) if answers is not None else None
        if value is not None:
            shown.append(f"{question.label} : {format_answer(question, value)}")
    return " ; ".join(shown)


def cmd_form_test(args: argparse.Namespace, console: Console) -> int:
    from mt_access.intake.importer import import_table
    from mt_access.intake.mapping_file import load_mapping
    from mt_access.intake.tabular import read_table

    policy = _policy(args.politique)
    mapping = load_mapping(args.correspondance, policy.questions)
    export = read_table(args.fichier, sheet=args.feuille)
    count = max(1, args.lignes)
    first = attrs.evolve(export, rows=export.rows[:count])
    received = args.date or dt.date.today()
    result = import_table(first, policy, mapping=mapping, received=received)
    shown = len(first.rows)
    console.say(
        f"Essai de {args.correspondance} sur les {shown} première(s) ligne(s) de "
        f"{args.fichier} ({len(export.rows)} au total) : rien n'est enregistré."
    )
    rows = []
    for record in result.accepted:
        request, identity = record.request, record.identity
        flags = [label for name, label in _FLAGS if getattr(request, name)]
        place = _commune_name(policy, request.patient.commune)
        if args.politique is not None and not record.in_territory:
            place += " — hors territoire"
        rows.append(
            (
                record.row,
                identity.last_name,
                identity.first_name,
                f"{request.patient.birth_date:%d/%m/%Y}",
                place,
                f"{request.received:%d/%m/%Y}",
                ", ".join(flags) or "—",
                _answers(policy, request.answers) or "—",
            )
        )
    if rows:
        console.say("Lignes importables :")
        headers = ("ligne", "nom", "prénom", "naissance", "commune", "reçue le", "critères")
        console.say(table((*headers, "réponses"), rows, right=(0,), max_width=30))
    problems: dict[int, list[str]] = {}
    for problem in result.problems:
        where = f"colonne « {problem.column} » : " if problem.column else ""
        problems.setdefault(problem.row, []).append(where + problem.expected)
    for duplicate in result.duplicates:
        problems.setdefault(duplicate.row, []).append(duplicate.explanation)
    if problems:
        console.say("Lignes refusées :")
        for number, reasons in sorted(problems.items()):
            console.say(f"  ligne {number} : {' ; '.join(reasons)}")
    if result.unread_columns:
        listed = ", ".join(f"« {c} »" for c in result.unread_columns)
        console.say(f"Colonnes non lues : {listed}")
    for header, hint in result.column_hints:
        console.say(f"  « {header} » {hint}")
    if "received" not in mapping.fields:
        console.say(
            f"Sans colonne de date de réception, les demandes sont reçues le {received:%d/%m/%Y} "
            "(--date à l'import)."
        )
    console.say(
        f"Résultat : {len(result.accepted)} ligne(s) importable(s), {len(problems)} refusée(s) "
        f"sur {shown}."
    )
    return EXIT_OK


def add_commands(sub: Any) -> None:
    """Add ``formulaire deduire`` and ``formulaire tester`` to the ``mt-access`` parsers."""
    from mt_access.cli.common import parse_date

    form = sub.add_parser(
        "formulaire",
        aliases=["form"],
        help="déduire la correspondance d'un export de formulaire, la tester",
        description="La correspondance entre les colonnes de l'export du formulaire de la CPTS "
        "et les champs d'une demande : la déduire de l'export, puis la tester sur ses "
        "premières lignes ; « mt-access import --formulaire FICHIER.yaml » l'utilise.",
    )
    form_sub = form.add_subparsers(dest="action", metavar="action", required=True)
    deduce = form_sub.add_parser(
        "deduire",
        aliases=["deduce"],
        help="proposer une correspondance (fichier YAML commenté) d'après l'export",
        description="Lit les en-têtes et les 200 premières lignes de l'export et écrit une "
        "correspondance YAML commentée : un champ proposé pour chaque colonne, les questions "
        "proposées pour les autres, ce qui n'a pas pu être placé.",
    )
    deduce.add_argument("fichier", metavar="EXPORT", help="export CSV ou XLSX du formulaire")
    deduce.add_argument(
        "--politique",
        default=None,
        help="nom livré ou fichier YAML : ses questions sont lues dans les colonnes qui "
        "leur correspondent",
    )
    deduce.add_argument(
        "--sortie",
        default=None,
        metavar="FICHIER",
        help="fichier YAML à écrire (<export>.correspondance.yaml par défaut)",
    )
    deduce.add_argument("--ecraser", action="store_true", help="remplacer le fichier de sortie")
    deduce.add_argument("--feuille", default=None, help="feuille du classeur XLSX")
    deduce.set_defaults(func=cmd_form_deduce)

    test = form_sub.add_parser(
        "tester",
        aliases=["test"],
        help="montrer comment les premières lignes de l'export seraient importées",
        description="Lit les premières lignes de l'export avec la correspondance et montre "
        "les champs lus de chaque ligne et les lignes refusées avec leur raison. Rien n'est "
        "enregistré.",
    )
    test.add_argument("fichier", metavar="EXPORT", help="export CSV ou XLSX du formulaire")
    test.add_argument(
        "correspondance",
        metavar="CORRESPONDANCE",
        help="fichier YAML de correspondance, ou modèle livré (generique, voironnais...)",
    )
    test.add_argument(
        "--politique",
        default=None,
        help=f"nom livré ou fichier YAML (territoire, questions ; {_DEFAULT_POLICY} par défaut)",
    )
    test.add_argument(
        "--lignes",
        type=bounded_int("--lignes", TRIED_LINES),
        default=5,
        help=f"nombre de lignes à essayer, de 1 à {TRIED_LINES.high} (5)",
    )
    test.add_argument("--feuille", default=None, help="feuille du classeur XLSX")
    test.add_argument(
        "--date",
        type=parse_date,
        default=None,
        metavar="JJ/MM/AAAA",
        help="date de réception des lignes qui n'en ont pas (aujourd'hui par défaut)",
    )
    test.set_defaults(func=cmd_form_test)
