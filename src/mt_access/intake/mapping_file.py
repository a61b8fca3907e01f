"""A form mapping kept in its own YAML file: what a policy's ``intake:`` section holds
(``preset``, ``name``, ``prefer_territory``, ``fields``, ``questions``), used with
``mt-access import --formulaire FICHIER.yaml`` without copying the policy.

Errors are :class:`~mt_access.errors.PolicyError`, in French, naming the file, the line and
the key path (``$.fields.birth_date.formats[0]``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from mt_access.errors import PolicyError
from mt_access.intake.forms import FormMapping, available_presets, load_preset, mapping_from_yaml
from mt_access.questions import Question
from mt_access.yamlread import parse_yaml, read_yaml_file

__all__ = ["MAPPING_SUFFIXES", "is_mapping_file", "load_mapping", "load_mapping_file"]

MAPPING_SUFFIXES = (".yaml", ".yml")


def is_mapping_file(name: str) -> bool:
    """Whether ``name`` names a mapping file (``.yaml``/``.yml``) rather than a preset."""
    return Path(name).suffix.lower() in MAPPING_SUFFIXES


def load_mapping_file(path: str | Path, questions: Sequence[Question] = ()) -> FormMapping:
    """The form mapping written in the YAML file ``path``, checked like a policy's
    ``intake:`` section (``questions``: the policy's own questions, that ``questions:``
    refers to).

    Raises:
        PolicyError: missing or unreadable file, invalid YAML, or an invalid mapping; with
            the file, the line and the key path.
    """
    source = str(path)
    text = read_yaml_file(Path(path), source)
    data, lines = parse_yaml(text, source)
    if data is None:
        raise PolicyError(
            "fichier vide : correspondance attendue (clés fields, questions...)", source=source
        )
    return mapping_from_yaml(data, source=source, lines=lines, questions=tuple(questions))


def load_mapping(name: str, questions: Sequence[Question] = ()) -> FormMapping:
    """A preset by name, or a mapping file (``.yaml``/``.yml``).

    Raises:
        PolicyError: unknown preset (the presets are listed) or invalid file.
    """
    if is_mapping_file(name):
        return load_mapping_file(name, questions)
    if name not in available_presets() and Path(name).is_file():
        raise PolicyError(
            "fichier de correspondance .yaml ou .yml attendu (ou un modèle livré : "
            f"{', '.join(available_presets())})",
            source=name,
        )
    return load_preset(name)
