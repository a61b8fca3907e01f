"""The ``letters:`` section of a policy: where the CPTS's own templates are, and what to sign.

```yaml
letters:
  folder: courriers/        # relative to the policy file
  signature: "L'équipe de coordination de la CPTS du Voironnais"
  contact: "contact@cptsduvoironnais.com"
```

Validated when the policy is loaded (:func:`letters_from_policy`); the templates themselves are
read by :meth:`mt_access.letters.LetterTemplates.for_policy`. Nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import attrs

from mt_access.errors import PolicyError
from mt_access.policy import yaml_kind

__all__ = ["LETTERS_KEYS", "LetterSettings", "letters_from_policy"]

LETTERS_KEYS = ("folder", "signature", "contact")
"""The keys of the ``letters:`` section."""

ErrorFactory = Callable[[str, str], PolicyError]
"""Builds the error for a key path and a French message (the policy loader's ``ctx.error``)."""


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
    if value is None:
        value = {}
    if not isinstance(value, dict):
        raise error(path, "dictionnaire attendu (clés : " + ", ".join(LETTERS_KEYS) + ")")
    for key in value:
        if key not in LETTERS_KEYS:
            raise error(
                f"{path}.{key}",
                f"clé inconnue {key!r} ; clés possibles ici : {', '.join(LETTERS_KEYS)}",
            )
    texts: dict[str, str] = {}
    for key in LETTERS_KEYS:
        raw = value.get(key)
        if raw is None:
            continue
        if not isinstance(raw, str):
            raise error(f"{path}.{key}", f"texte attendu, reçu {yaml_kind(raw)}")
        texts[key] = raw.strip()
    folder = texts.get("folder") or None
    if "folder" in value and folder is None:
        raise error(f"{path}.folder", "chemin d'un dossier de modèles attendu (texte non vide)")
    base = None if source.startswith("<") else Path(source).absolute().parent
    return LetterSettings(
        folder=folder,
        signature=texts.get("signature", ""),
        contact=texts.get("contact", ""),
        base=base,
    )
