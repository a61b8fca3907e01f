"""Errors shown to the coordinator: French text, the paths they typed, the documented codes.

:func:`describe` turns any exception a command lets out into one French line and its exit
code (docs/cli.md, « Codes de sortie »). System errors (:class:`OSError`) are told in French
with the path the user gave: a temporary file written next to a target (``.x.csv.tmp``,
``.x.html.ab12cd34.tmp``) is reported as the target itself.
"""

from __future__ import annotations

import errno
import os
import re
from collections.abc import Iterable
from pathlib import Path

from mt_access.cli.common import (
    EXIT_INTERNAL,
    EXIT_INVALID_INPUT,
    EXIT_REFUSED,
    EXIT_STORE,
    CommandError,
)
from mt_access.errors import LedgerError, MtAccessError
from mt_access.gp_register import RegisterError
from mt_access.lifecycle import LifecycleError
from mt_access.register import RegisterOperationError
from mt_access.store.base import StoreError

__all__ = ["describe", "exit_code", "os_reason", "user_path"]

_REASONS = {
    errno.ENOENT: "fichier ou dossier introuvable",
    errno.EACCES: "permission refusée",
    errno.EPERM: "opération non permise",
    errno.EISDIR: "c'est un dossier, pas un fichier",
    errno.ENOTDIR: "un élément du chemin n'est pas un dossier",
    errno.ENOSPC: "disque plein",
    errno.EDQUOT: "quota de disque dépassé",
    errno.EROFS: "support en lecture seule",
    errno.EEXIST: "un fichier de ce nom existe déjà",
    errno.ENAMETOOLONG: "nom de fichier trop long",
    errno.EIO: "erreur de lecture ou d'écriture sur le disque",
    errno.EMFILE: "trop de fichiers ouverts",
    errno.ENFILE: "trop de fichiers ouverts",
    errno.EBUSY: "fichier ou périphérique occupé",
    errno.ETXTBSY: "fichier occupé",
    errno.ELOOP: "trop de liens symboliques",
    errno.EINVAL: "nom de fichier ou opération invalide",
    errno.EXDEV: "déplacement impossible entre deux disques",
    errno.ENOTEMPTY: "le dossier n'est pas vide",
    errno.ETIMEDOUT: "délai dépassé",
    errno.ECONNREFUSED: "connexion refusée",
    errno.EHOSTUNREACH: "machine injoignable",
    errno.ENETUNREACH: "réseau injoignable",
}

# ".name.tmp" (export, workbook, letters) or ".name.XXXXXXXX.tmp" (tempfile.mkstemp)
_TMP = re.compile(r"^\.(?P<target>.+?)(?:\.[A-Za-z0-9_]{6,12})?\.tmp$")
_TMP_IN_TEXT = re.compile(r"(?P<path>[^\s«»()]*\.[^\s/«»()]+\.tmp)\b")


def os_reason(exc: OSError) -> str:
    """What went wrong, in French (no path)."""
    if exc.errno in _REASONS:
        return _REASONS[exc.errno]
    if isinstance(exc, TimeoutError):
        return "délai dépassé"
    if isinstance(exc, ConnectionError):
        return "connexion interrompue"
    name = errno.errorcode.get(exc.errno or 0)
    return f"erreur système{f' {name}' if name else ''}"


def user_path(name: str | os.PathLike[str], typed: Iterable[str] = ()) -> str:
    """``name`` as the user knows it: a temporary file becomes its target; a path equal to
    (or inside) one the user typed is written from what they typed."""
    path = Path(name)
    match = _TMP.match(path.name)
    if match:
        path = path.with_name(match["target"])
    absolute = os.path.abspath(path)
    for text in typed:
        mine = os.path.abspath(text)
        if absolute == mine:
            return text
        if absolute.startswith(mine.rstrip(os.sep) + os.sep):
            return os.path.join(text, os.path.relpath(absolute, mine))
    return str(path)


def _os_message(exc: OSError, typed: Iterable[str]) -> str:
    typed = list(typed)
    names = [n for n in (exc.filename, exc.filename2) if n not in (None, "")]
    reason = os_reason(exc)
    if not names:
        return reason
    # os.replace(tmp, target): the target is the file the user asked for
    shown = user_path(str(names[-1] if len(names) > 1 else names[0]), typed)
    return f"{shown} : {reason}"


def _cause(exc: BaseException) -> OSError | None:
    seen = exc.__cause__ or exc.__context__
    while seen is not None:
        if isinstance(seen, OSError) and not isinstance(seen, MtAccessError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def _clean(message: str, exc: BaseException, typed: Iterable[str]) -> str:
    """A project message with any English system reason and temporary path replaced."""
    typed = list(typed)
    cause = _cause(exc)
    if cause is not None and cause.strerror and cause.strerror in message:
        message = message.replace(cause.strerror, os_reason(cause))
    return _TMP_IN_TEXT.sub(lambda m: user_path(m["path"], typed), message)


def exit_code(exc: BaseException) -> int:
    """The documented exit code of an error a command let out."""
    if isinstance(exc, CommandError):
        return exc.code
    if isinstance(exc, StoreError | OSError) or _cause(exc) is not None:
        return EXIT_STORE
    if isinstance(exc, RegisterOperationError | LifecycleError | LedgerError | RegisterError):
        return EXIT_REFUSED
    if isinstance(exc, MtAccessError | ValueError):
        return EXIT_INVALID_INPUT
    return EXIT_INTERNAL


def describe(exc: BaseException, typed: Iterable[str] = ()) -> tuple[str, int]:
    """One French line (without ``erreur :``) and the exit code for ``exc``.

    Only the project's own messages (which never hold personal data) and system errors are
    shown; anything else is an internal error named by its type only.
    """
    typed = list(typed)
    code = exit_code(exc)
    if isinstance(exc, OSError) and not isinstance(exc, MtAccessError):
        return _os_message(exc, typed), code
    if isinstance(exc, MtAccessError):
        return _clean(str(exc), exc, typed), code
    if isinstance(exc, MemoryError):
        return "mémoire insuffisante pour cette opération", EXIT_INTERNAL
    if isinstance(exc, RecursionError):
        return "structure trop profonde pour être traitée", EXIT_INTERNAL
    if code == EXIT_INVALID_INPUT and _looks_french(str(exc)):
        return _clean(str(exc), exc, typed), code
    return (
        f"erreur interne ({type(exc).__name__}) ; relancez avec --debug pour le détail",
        EXIT_INTERNAL,
    )


_FRENCH_MARKS = re.compile(r"[éèêàùçôî]| attendue?s? | reçu ")


def _looks_french(text: str) -> bool:
    """The project's own plain ``ValueError``s (model validators) are written in French;
    a library's English message is not shown."""
    return bool(_FRENCH_MARKS.search(text))
