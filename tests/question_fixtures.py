"""A policy with its own questions, for the tests of the CPTS's questions (generated data)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import mt_access
from mt_access import load_policy

QUESTIONS = """\
questions:
  - id: isole
    label: Personne isolée
    type: oui_non
    shareable: true
    show_in: [letters, lists, exports]
  - id: situation
    label: Situation
    type: choix
    options: [Simple, Complexe]
  - id: aides
    label: Aides
    type: choix_multiple
    options: [Infirmier, Kiné, Aide à domicile]
  - id: traitements
    label: Nombre de traitements
    type: nombre
    min: 0
    max: 50
  - id: sortie
    label: Sortie d'hôpital
    type: date
  - id: precision
    label: Précision
    type: texte
    max_length: 40
"""

BASE = """\
version: 1
identity: {name: CPTS Questions, code: questions, department: "38"}
territory:
  communes: ["38563", "38565"]
priority:
  levels:
    - name: fragile
      criteria:
        - kind: answer
          question: isole
          equals: true
routing:
  priority: {router: monthly_quota}
  non_priority: {router: monthly_quota}
privacy:
  referral_fields: [last_name, age, situation]
"""
"""A policy whose only priority level is driven by the answer to « isole »."""

POLICY = BASE + QUESTIONS


def write(tmp_path: Path, text: str, name: str = "politique.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def load(tmp_path: Path, text: str = POLICY) -> mt_access.Policy:
    return load_policy(write(tmp_path, text))
