"""The ``letters:`` section of a policy: where the CPTS's own templates are, and what to sign.

```yaml
letters:
  folder: courriers/        # relative to the policy file
  signature: "L'équipe de coordination de la CPTS du Voironnais"
  contact: "contact@cptsduvoironnais.com"
```

Validated when the policy is loaded (:func:`letters_from_policy`); the templates themselves are
read by :meth:`mt_access.letters.LetterTemplates.for_policy`. Nothing here does I/O.

This module is a built-in plugin (:data:`mt_access.plugins.DEFAULT_PLUGINS`): it registers the
``letters:`` section (:data:`LETTERS`, hook ``mt_access_policy_sections``), which the compiled
policy gives back with ``policy.section(LETTERS)`` (or ``policy.letters``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import attrs

from mt_access.plugins import hookimpl
from mt_access.policy_kinds import PolicySection, ReadContext
from mt_access.yamlcheck import ErrorFactory, Locator, Node

__all__ = ["LETTERS", "LETTERS_KEYS", "LetterSettings", "letters_from_policy"]

LETTERS_KEYS = ("folder", "signature", "contact")
"""The keys of the ``letters:`` section."""


@attrs.frozen
class LetterSettings:
    """A policy's ``letters:`` section.

    Attributes:
        folder: the folder of the CPTS's templates as written (relative to the policy file),
            or ``None`` to use the shipped templates only.
        signature: how letters are signed; empty for the default (« L'équipe de coordination
            — <name of the CPTS> »).
        contact: how to reach the coordination (free text shown in letters).
        base: the folder of the policy file, which ``folder`` is relative to (``None`` for a
            policy built from a mapping: the current directory).
    """

    folder: str | None = None
    signature: str = ""
    contact: str = ""
    base: Path | None = None

    def folder_path(self) -> Path | None:
        """Where the CPTS's templates are, or ``None`` when the policy names no folder."""
        if self.folder is None:
            return None
        folder = Path(self.folder).expanduser()
        if folder.is_absolute() or self.base is None:
            return folder
        return self.base / folder


def letters_from_policy(
    value: object, *, error: ErrorFactory, path: str = "$.letters", source: str = "<dict>"
) -> LetterSettings:
    """Validate the ``letters:`` section of a policy.

    Args:
        value: the section, as ``yaml.safe_load`` returns it.
        error: builds the :class:`~mt_access.errors.PolicyError` for a key path and a French
            message (with the file and line).
        path: the key path of the section.
        source: the policy file (``folder`` is relative to its folder), or ``"<dict>"``.

    Raises:
        PolicyError: an unknown key, or a value that is not text.
    """
    return _read(Node(value, path, Locator(factory=error)), ReadContext(source=source))


def _read(node: Node, context: ReadContext) -> LetterSettings:
    if node.value is None:
        node = Node({}, node.path, node.locator)
    expected = "dictionnaire attendu (clés : " + ", ".join(LETTERS_KEYS) + ")"
    section = node.mapping(LETTERS_KEYS, expected=expected)
    texts = {
        key: section.at(key).text(allow_empty=True, expected="texte", numbers=False)
        for key in LETTERS_KEYS
        if section.at(key, None).value is not None
    }
    folder = texts.get("folder") or None
    if "folder" in section and folder is None:
        raise section.at("folder").error("chemin d'un dossier de modèles attendu (texte non vide)")
    source = context.source
    return LetterSettings(
        folder=folder,
        signature=texts.get("signature", ""),
        contact=texts.get("contact", ""),
        base=None if source.startswith("<") else Path(source).absolute().parent,
    )


LETTERS: PolicySection[LetterSettings | None] = PolicySection(
    name="letters",
    read=_read,
    default=None,
    doc="the CPTS's own letter templates (a folder) and how letters are signed",
)
"""The ``letters:`` section: ``policy.section(LETTERS)`` is the policy's
:class:`LetterSettings`, or ``None`` (the shipped templates) when the file has none."""


@hookimpl
def mt_access_policy_sections() -> list[PolicySection[Any]]:
    """This module is a built-in plugin: it contributes the ``letters:`` section."""
    return [LETTERS]
