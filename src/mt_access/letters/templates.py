"""Letter templates: the shipped French ones, replaced one by one by a CPTS's own.

Templates are Jinja2 files rendered in a sandbox
(:class:`jinja2.sandbox.ImmutableSandboxedEnvironment`) with :class:`jinja2.StrictUndefined`:
a misspelt variable raises :class:`LetterTemplateError` naming the template file and line
instead of printing nothing, and a template cannot reach Python internals
(``{{ ''.__class__ }}``) nor change the data it is given. Data is only ever passed as
variables, never compiled as a template.

Reading the template files is the edge: :meth:`LetterTemplates.for_policy` reads them all once
(and checks their syntax); rendering reads nothing.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Mapping
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import jinja2
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from mt_access.errors import LetterError, LetterTemplateError
from mt_access.letters import markup
from mt_access.letters.settings import LETTERS

if TYPE_CHECKING:
    from mt_access.policy import Policy

__all__ = [
    "TEMPLATE_SUFFIX",
    "LetterError",
    "LetterKind",
    "LetterTemplateError",
    "LetterTemplates",
    "default_templates_folder",
]

TEMPLATE_SUFFIX = ".md.j2"
"""Templates are Markdown files with Jinja2 tags: ``<kind>.md.j2``."""


class LetterKind(enum.StrEnum):
    """The letters mt-access writes; the value is the template's name (without suffix)."""

    ACK_PATIENT = "accuse_reception_patient"
    ACK_REFERRER = "accuse_reception_adresseur"
    REFERRAL = "dossier_medecin"
    FEEDBACK = "retour_adresseur"
    ORIENTATION = "orientation"
    RESOURCES = "ressources_patient"

    @property
    def template(self) -> str:
        """The template's file name, e.g. ``accuse_reception_patient.md.j2``."""
        return f"{self.value}{TEMPLATE_SUFFIX}"

    @property
    def label(self) -> str:
        """The letter's French name."""
        return _KIND_LABELS[self]


_KIND_LABELS = {
    LetterKind.ACK_PATIENT: "accusé de réception au patient",
    LetterKind.ACK_REFERRER: "accusé de réception à l'adresseur",
    LetterKind.REFERRAL: "dossier qualifié pour le médecin",
    LetterKind.FEEDBACK: "retour à l'adresseur",
    LetterKind.ORIENTATION: "courrier d'orientation",
    LetterKind.RESOURCES: "courrier des ressources sollicitées",
}


def default_templates_folder() -> Traversable:
    """The shipped templates (``mt_access/letters/templates``), through
    :mod:`importlib.resources` so that it works from a wheel too."""
    return resources.files("mt_access.letters").joinpath("templates")


_SAFE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")


class _Loader(jinja2.BaseLoader):
    """Templates of the CPTS's folder first, then the shipped ones; sources read once."""

    def __init__(self, sources: Mapping[str, tuple[str, str]]) -> None:
        self.sources = dict(sources)  # name -> (source, file name)

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str | None, Callable[[], bool] | None]:
        found = self.sources.get(template)
        if found is None:
            raise jinja2.TemplateNotFound(template)
        source, filename = found
        return source, filename, lambda: True

    def list_templates(self) -> list[str]:
        return sorted(self.sources)


def _read_folder(folder: Path | Traversable, *, custom: bool) -> dict[str, tuple[str, str]]:
    found: dict[str, tuple[str, str]] = {}
    known = {k.template for k in LetterKind}
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        name = entry.name
        if not name.endswith(".j2") or not entry.is_file():
            continue
        filename = str(entry)
        if not _SAFE_NAME.match(name):
            raise LetterTemplateError(
                "nom de fichier de modèle invalide (lettres, chiffres, « _ », « - », « . »)",
                template=filename,
            )
        if custom and name not in known and not name.startswith("_"):
            raise LetterTemplateError(
                "ce fichier ne remplace aucun modèle : noms attendus "
                + ", ".join(sorted(known))
                + " (ou un modèle partiel dont le nom commence par « _ »)",
                template=filename,
            )
        try:
            source = entry.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise LetterTemplateError(
                "le fichier doit être encodé en UTF-8", template=filename
            ) from None
        except OSError as exc:
            raise LetterTemplateError(
                f"lecture impossible : {exc.strerror}", template=filename
            ) from None
        found[name] = (markup.strip_marks(source), filename)
    return found


class LetterTemplates:
    """The templates of one CPTS: its own (from the policy's ``letters.folder``), falling back
    one by one to the shipped French templates.

    Build it once with :meth:`for_policy` (or :meth:`from_folder`) and pass it to the letter
    functions to avoid reading the files for every letter.

    Args:
        sources: template name → ``(source, file name)``: the templates to use.

    Raises:
        LetterTemplateError: a template has a syntax error.
    """

    def __init__(self, sources: Mapping[str, tuple[str, str]]) -> None:
        self._loader = _Loader(sources)
        self._env = ImmutableSandboxedEnvironment(
            loader=self._loader,
            undefined=jinja2.StrictUndefined,
            autoescape=False,  # the data is escaped by mt_access.letters.markup, per format
            finalize=markup.finalize,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
            auto_reload=False,
        )
        self._filenames = {filename: name for name, (_, filename) in self._loader.sources.items()}
        for name in self._loader.list_templates():
            self._compile(name)
        for kind in LetterKind:
            if kind.template not in self._loader.sources:
                # only when built by hand, without the shipped templates
                raise LetterTemplateError("modèle manquant", template=kind.template)

    @classmethod
    def from_folder(cls, folder: str | Path | None = None) -> LetterTemplates:
        """The shipped templates, replaced by those of ``folder`` (one by one).

        Args:
            folder: a folder of templates named like the shipped ones
                (``accuse_reception_patient.md.j2``...; partials start with ``_``), or
                ``None`` for the shipped templates only.

        Raises:
            LetterTemplateError: the folder does not exist, a file in it does not replace a
                template, cannot be read, or has a syntax error.
        """
        sources = _read_folder(default_templates_folder(), custom=False)
        if folder is not None:
            path = Path(folder)
            if not path.is_dir():
                raise LetterTemplateError(
                    "dossier de modèles introuvable (clé letters.folder de la politique)",
                    template=str(path),
                )
            sources.update(_read_folder(path, custom=True))
        return cls(sources)

    @classmethod
    def for_policy(cls, policy: Policy) -> LetterTemplates:
        """The templates of the policy: its ``letters.folder`` (relative to the policy file)
        over the shipped ones.

        Args:
            policy: the CPTS's policy.

        Raises:
            LetterTemplateError: see :meth:`from_folder`.
        """
        settings = policy.section(LETTERS)
        folder = None if settings is None else settings.folder_path()
        return cls.from_folder(folder)

    def filename(self, kind: LetterKind | str) -> str:
        """The file the template of ``kind`` comes from (shipped or the CPTS's).

        Args:
            kind: the letter kind, or a template name such as ``_signature.md.j2``.
        """
        name = kind.template if isinstance(kind, LetterKind) else kind
        return self._loader.sources[name][1]

    def is_default(self, kind: LetterKind) -> bool:
        """Whether the shipped template of ``kind`` is used (the CPTS did not replace it).

        Args:
            kind: the letter kind.
        """
        default = default_templates_folder().joinpath(kind.template)
        return self.filename(kind) == str(default)

    def names(self) -> list[str]:
        """Every template name (letters and partials), sorted."""
        return self._loader.list_templates()

    def _compile(self, name: str) -> jinja2.Template:
        try:
            return self._env.get_template(name)
        except jinja2.TemplateSyntaxError as exc:
            raise LetterTemplateError(
                f"syntaxe invalide : {exc.message}",
                template=exc.filename or self._loader.sources[name][1],
                line=exc.lineno,
            ) from None

    def render(self, kind: LetterKind, context: Mapping[str, Any]) -> markup.Rendered:
        """Render the template of ``kind`` with ``context`` (variables only).

        Args:
            kind: the letter kind.
            context: the template's variables.

        Raises:
            LetterTemplateError: an unknown variable, a forbidden access or any other
                error while rendering; the message names the template file and line, never
                a value of the data.
        """
        template = self._compile(kind.template)
        try:
            output = template.render(**context)
        except jinja2.TemplateSyntaxError as exc:  # in an included template
            raise LetterTemplateError(
                f"syntaxe invalide : {exc.message}",
                template=exc.filename or str(exc.name),
                line=exc.lineno,
            ) from None
        except jinja2.TemplateNotFound as exc:
            where, line = self._locate(exc.__traceback__, template)
            raise LetterTemplateError(
                f"modèle inclus introuvable : {exc.name!r} (modèles disponibles : "
                f"{', '.join(self.names())})",
                template=where,
                line=line,
            ) from None
        except SecurityError as exc:
            where, line = self._locate(exc.__traceback__, template)
            raise LetterTemplateError(
                "accès interdit dans un modèle (attribut réservé ou opération non permise)",
                template=where,
                line=line,
            ) from None
        except jinja2.UndefinedError as exc:
            where, line = self._locate(exc.__traceback__, template)
            raise LetterTemplateError(
                self._undefined_message(str(exc), where), template=where, line=line
            ) from None
        except Exception as exc:
            where, line = self._locate(exc.__traceback__, template)
            raise LetterTemplateError(
                f"erreur pendant le rendu ({type(exc).__name__})", template=where, line=line
            ) from None
        return markup.convert(output)

    def _locate(
        self, tb: TracebackType | None, template: jinja2.Template
    ) -> tuple[str, int | None]:
        """The innermost template frame of a traceback: (file, line)."""
        where: tuple[str, int | None] = (template.filename or str(template.name), None)
        while tb is not None:
            filename = tb.tb_frame.f_code.co_filename
            if filename in self._filenames:
                where = (filename, tb.tb_lineno)
            tb = tb.tb_next
        return where

    def _undefined_message(self, jinja_message: str, filename: str) -> str:
        """A French message for an undefined variable, naming it only when the name is
        written in the template (a name computed from data is not repeated)."""
        source = ""
        name = self._filenames.get(filename)
        if name is not None:
            source = self._loader.sources[name][0]
        names = re.findall(r"'([A-Za-z_][A-Za-z0-9_]*)'", jinja_message)
        shown = [n for n in names[-1:] if re.search(rf"\b{re.escape(n)}\b", source)]
        if shown:
            return (
                f"variable ou attribut inconnu « {shown[0]} » (voir la liste des variables "
                "de chaque courrier dans la documentation, page « Courriers »)"
            )
        return "variable ou attribut inconnu (voir la liste des variables de chaque courrier)"
