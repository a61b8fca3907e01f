"""Letters of a CPTS, rendered from templates the CPTS can change without code.

Six letters (:class:`LetterKind`): the acknowledgement of a request to the patient and to the
referrer, the « dossier qualifié » sent to a GP, the feedback to the referrer on the outcome,
the orientation letter (GPs of the patient's commune and the territory's resources), and the
letter naming the resources the policy involves for a request (``resources:`` with a mode). Each
is rendered as plain text, Markdown and HTML (:class:`Letter`).

The shipped French templates (``mt_access/letters/templates/*.md.j2``) are replaced one by
one by the files of the policy's ``letters.folder``; see ``docs/courriers.md``.

* :mod:`mt_access.letters.compose`: the pure core, from domain values;
* :mod:`mt_access.letters.service`: the same over a :class:`~mt_access.register.Register`, and
  :func:`write_letters`;
* :mod:`mt_access.letters.templates`: loading and rendering templates in Jinja2's sandbox;
* :mod:`mt_access.letters.markup`: the Markdown subset of the templates, turned into
  Markdown, text and HTML with the data escaped.
"""

from __future__ import annotations

from mt_access.letters.compose import (
    FORMATS,
    Letter,
    Recipient,
    compose_acknowledgement,
    compose_feedback,
    compose_orientation,
    compose_referral,
    compose_resources,
)
from mt_access.letters.service import (
    acknowledgement,
    commune_physicians,
    feedback_letter,
    letters_for_run,
    orientation_letter,
    referral_letter,
    resources_letter,
    write_letters,
)
from mt_access.letters.settings import LetterSettings
from mt_access.letters.templates import (
    LetterError,
    LetterKind,
    LetterTemplateError,
    LetterTemplates,
    default_templates_folder,
)

__all__ = [
    "FORMATS",
    "Letter",
    "LetterError",
    "LetterKind",
    "LetterSettings",
    "LetterTemplateError",
    "LetterTemplates",
    "Recipient",
    "acknowledgement",
    "commune_physicians",
    "compose_acknowledgement",
    "compose_feedback",
    "compose_orientation",
    "compose_referral",
    "compose_resources",
    "default_templates_folder",
    "feedback_letter",
    "letters_for_run",
    "orientation_letter",
    "referral_letter",
    "resources_letter",
    "write_letters",
]
