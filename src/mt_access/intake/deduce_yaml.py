"""Writing a :class:`~mt_access.intake.deduce.Deduction` as a commented YAML mapping file,
in French, that loads as an intake mapping
(:func:`~mt_access.intake.mapping_file.load_mapping_file`).

Every header and wording is written double-quoted (JSON strings are YAML strings), so that
« Oui », « true » or « 1 » stay texts. The columns proposed as new questions are written
commented out, with the ``questions:`` entries to add to the policy; the columns left out
and the required fields not found close the file.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from typing import Any

from mt_access.intake.deduce import Deduction, FieldProposal, QuestionProposal
from mt_access.intake.forms import FIELDS

__all__ = ["mapping_yaml"]


def _q(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return _q(str(value))


def _comment(text: str, indent: str = "") -> list[str]:
    return [f"{indent}# {line}".rstrip() for line in text.splitlines() or [""]]


def _field_lines(proposal: FieldProposal) -> list[str]:
    spec = FIELDS[proposal.field]
    lines = _comment(
        f"« {proposal.header} » → {spec.label} : {proposal.how} ({proposal.score:.0f} %)", "  "
    )
    for note in proposal.notes:
        lines += _comment(note, "  ")
    name = proposal.field
    plain = (
        not proposal.values
        and proposal.otherwise is None
        and not proposal.formats
        and proposal.order is None
    )
    if plain:
        return [*lines, f"  {name}: {_q(proposal.header)}"]
    lines += [f"  {name}:", f"    column: {_q(proposal.header)}"]
    if proposal.values:
        lines.append("    values:")
        lines += [f"      {_q(w)}: {_value(v)}" for w, v in proposal.values]
    if proposal.otherwise is not None:
        lines.append(f"    otherwise: {_value(proposal.otherwise)}")
    if proposal.formats:
        lines.append("    formats:")
        for fmt, description in proposal.formats:
            lines.append(f"      - {_q(fmt)}  # {description}")
    if proposal.order is not None:
        described = "prénom puis nom" if proposal.order == "first_last" else "nom puis prénom"
        lines.append(f"    order: {proposal.order}  # {described}")
    return lines


def _question_lines(question: QuestionProposal, prefix: str) -> list[str]:
    if not question.values:
        return [f"{prefix}  {question.id}: {_q(question.header)}"]
    lines = [f"{prefix}  {question.id}:", f"{prefix}    column: {_q(question.header)}"]
    lines.append(f"{prefix}    values:")
    lines += [f"{prefix}      {_q(w)}: {_value(v)}" for w, v in question.values]
    return lines


def _declaration(question: QuestionProposal) -> list[str]:
    lines = [
        f"#   - id: {question.id}",
        f"#     label: {_q(question.label)}",
        f"#     type: {question.type}",
    ]
    if question.options:
        lines.append(f"#     options: [{', '.join(_q(o) for o in question.options)}]")
    return lines


def _block(title: str, items: Iterable[str]) -> list[str]:
    listed = list(items)
    if not listed:
        return []
    return ["", *_comment(title), *(f"#   {item}" for item in listed)]


def mapping_yaml(deduction: Deduction, *, file_name: str, today: dt.date | None = None) -> str:
    """The YAML text of the mapping ``deduction`` proposes (``file_name``: the export's name,
    shown in the comments)."""
    today = today or dt.date.today()
    if deduction.is_follow_up:
        steps = (
            "ce qui est faux. C'est un suivi existant (issue, date de sortie) : comptez ce\n"
            "qui serait repris, sans rien enregistrer :\n"
            f"  mt-access reprise {file_name} --formulaire CE_FICHIER.yaml --simulation\n"
            "puis reprenez-le avec son historique (sans --simulation).\n"
            "Référence : docs/reprise.md (« Reprendre un suivi existant »)."
        )
    else:
        steps = (
            "ce qui est faux, puis vérifiez sur les premières lignes :\n"
            f"  mt-access formulaire tester {file_name} CE_FICHIER.yaml\n"
            "et importez :\n"
            f"  mt-access import {file_name} --formulaire CE_FICHIER.yaml\n"
            "Référence des clés : docs/intake.md (« Déduire la correspondance d'un formulaire »)."
        )
    lines = _comment(
        f"Correspondance du formulaire déduite par « mt-access formulaire deduire » le "
        f"{today:%d/%m/%Y}\n"
        f"depuis {file_name} ({deduction.rows} ligne(s), les {deduction.sampled} premières "
        "examinées).\n"
        "\n"
        "À RELIRE : chaque champ est une proposition (le commentaire dit pourquoi). Corrigez\n"
        f"{steps}\n"
        "Les en-têtes et les libellés sont comparés sans majuscules, accents ni ponctuation."
    )
    lines += ["", f"name: {_q(f'Formulaire déduit de {file_name}')}", "", "fields:"]
    for proposal in deduction.fields:
        lines += _field_lines(proposal)
    for name, _ in deduction.missing:
        lines += _comment(f"À COMPLÉTER : {FIELDS[name].label} (champ obligatoire)", "  ")
        lines.append(f'  # {name}: "en-tête de la colonne"')
        if name == "consent":
            lines += _comment(
                "(sans colonne : un formulaire dont l'envoi vaut consentement, ou un suivi dont\n"
                "chaque patient a consenti à son inscription, s'écrit consent: {value: true})",
                "  ",
            )
    declared = [q for q in deduction.questions if q.declared]
    if declared:
        lines += ["", *_comment("Questions de la politique lues dans le formulaire."), "questions:"]
        for question in declared:
            lines += _comment(f"« {question.header} » → question {question.label}", "  ")
            lines += _question_lines(question, "")
    proposed = [q for q in deduction.questions if not q.declared]
    if proposed:
        lines += [""]
        lines += _comment(
            "QUESTIONS PROPOSÉES : colonnes à peu de réponses différentes qu'aucun champ ne lit.\n"
            "Pour les garder, déclarez-les dans la section « questions: » de la politique\n"
            "(docs/questions.md), par exemple :\n"
            "\n"
            "questions:"
        )
        for question in proposed:
            lines += _declaration(question)
        lines += _comment(
            "\npuis lisez-les dans ce fichier (section « questions: », à décommenter) :\n"
            "\nquestions:"
        )
        for question in proposed:
            lines += ["# " + line for line in _question_lines(question, "")]
    lines += _block(
        "COLONNES NON PLACÉES (ni champ ni question proposés ; elles ne seront pas lues) :",
        (f"« {header} » : {why}" for header, why in deduction.unplaced),
    )
    lines += _block(
        "CHAMPS OBLIGATOIRES NON TROUVÉS (à compléter ci-dessus avant l'import) :",
        (explanation for _, explanation in deduction.missing),
    )
    return "\n".join(lines) + "\n"
