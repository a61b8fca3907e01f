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

__all__ = [
    "LETTERS",
    "LETTERS_KEYS",
    "SENDING",
    "SENDING_KEYS",
    "LetterSettings",
    "SendingSettings",
    "letters_from_policy",
]

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


SENDING_KEYS = (
    "sender",
    "mssante_domains",
    "patient_consent_question",
    "referrers_by_email",
    "max_attempts",
)
"""The keys of the ``sending:`` section."""

MAX_SEND_ATTEMPTS = 10
"""The most attempts at sending one letter ``sending.max_attempts`` allows."""


@attrs.frozen
class SendingSettings:
    """A policy's ``sending:`` section: how ``mt-access envoyer`` sends letters by e-mail.

    ```yaml
    sending:
      sender: coordination@cpts-exemple.mssante.fr
      mssante_domains: [mssante.fr]          # a domain and its subdomains
      patient_consent_question: accepte_courriel
      referrers_by_email: false
      max_attempts: 3
    ```

    Attributes:
        sender: the address letters are sent from (the CPTS's MSSanté mailbox); required to
            send, not for a dry run.
        mssante_domains: the domains a GP referral may go to; an address of one of them or of
            a subdomain (``…@exemple.mssante.fr`` for ``mssante.fr``) is accepted.
        patient_consent_question: the id of a yes/no question of the policy's ``questions:``
            recording that the patient agreed to receive letters by e-mail; a patient's letter
            goes by e-mail only when the answer is « oui » (none: never by e-mail).
        referrers_by_email: whether letters to referrers may go to the e-mail address they
            gave as contact (a professional who gave an address to be answered).
        max_attempts: attempts at most for one letter, over every ``envoyer``.
    """

    sender: str = ""
    mssante_domains: tuple[str, ...] = ("mssante.fr",)
    patient_consent_question: str | None = None
    referrers_by_email: bool = False
    max_attempts: int = 3

    def is_mssante(self, address: str) -> bool:
        """Whether ``address``'s domain is one of :attr:`mssante_domains` or a subdomain."""
        domain = address.rpartition("@")[2].casefold()
        return any(domain == d or domain.endswith("." + d) for d in self.mssante_domains)


def _read_sending(node: Node, context: ReadContext) -> SendingSettings:
    if node.value is None:
        node = Node({}, node.path, node.locator)
    expected = "dictionnaire attendu (clés : " + ", ".join(SENDING_KEYS) + ")"
    section = node.mapping(SENDING_KEYS, expected=expected)
    default = SendingSettings()
    sender = ""
    if "sender" in section:
        sender = section.at("sender").text(expected="adresse électronique", numbers=False)
        if sender.count("@") != 1 or any(c in sender for c in " \r\n<>,;"):
            raise section.at("sender").error("adresse électronique attendue (nom@domaine)")
    domains = default.mssante_domains
    if "mssante_domains" in section:
        items = section.at("mssante_domains").items(expected="liste de domaines")
        domains = tuple(
            i.text(expected="domaine (texte)", numbers=False).casefold().lstrip(".") for i in items
        )
        for item, domain in zip(items, domains, strict=True):
            if "." not in domain or "@" in domain or " " in domain:
                raise item.error(f"nom de domaine attendu (ex. mssante.fr), reçu {domain!r}")
        if not domains:
            raise section.at("mssante_domains").error("au moins un domaine attendu")
    question = None
    if "patient_consent_question" in section:
        at = section.at("patient_consent_question")
        question = at.text(expected="identifiant d'une question", numbers=False)
        known = {q.id: q for q in context.questions}
        if question not in known:
            raise at.error(
                f"question inconnue {question!r} : une question oui/non de « questions: » attendue"
            )
        if known[question].type.value != "oui_non":
            raise at.error(f"la question {question!r} doit être de type oui_non")
    by_email = default.referrers_by_email
    if "referrers_by_email" in section:
        by_email = section.at("referrers_by_email").boolean()
    attempts = default.max_attempts
    if "max_attempts" in section:
        attempts = int(
            section.at("max_attempts").number(integer=True, minimum=1, maximum=MAX_SEND_ATTEMPTS)
        )
    return SendingSettings(sender, domains, question, by_email, attempts)


SENDING: PolicySection[SendingSettings] = PolicySection(
    name="sending",
    read=_read_sending,
    default=SendingSettings(),
    doc="sending letters by e-mail: sender, MSSanté domains, patients' consent to e-mail",
)
"""The ``sending:`` section: ``policy.section(SENDING)`` is the policy's
:class:`SendingSettings` (the defaults when the file has none: referrals to ``mssante.fr``
only, no letter to patients or referrers by e-mail, no sender)."""


@hookimpl
def mt_access_policy_sections() -> list[PolicySection[Any]]:
    """This module is a built-in plugin: it contributes the ``letters:`` and ``sending:``
    sections."""
    return [LETTERS, SENDING]
