"""SQLite errors in French: the translation of SQLite's error codes and :func:`guard`, which
turns every SQLite error and undecodable value into a :class:`~mt_access.store.base.StoreError`
naming the operation, never a stored value.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from mt_access.store.base import StoreError
from mt_access.store.sql_common import unreadable

__all__ = ["guard"]


SQLITE_REASONS = {
    "SQLITE_FULL": "disque plein : le registre ne peut pas être écrit ; libérez de la place",
    "SQLITE_CANTOPEN": "fichier impossible à ouvrir (dossier absent ou permission refusée)",
    "SQLITE_READONLY": "fichier ou support en lecture seule",
    "SQLITE_PERM": "permission refusée",
    "SQLITE_AUTH": "permission refusée",
    "SQLITE_IOERR": "erreur de lecture ou d'écriture sur le disque",
    "SQLITE_NOMEM": "mémoire insuffisante",
    "SQLITE_CORRUPT": "fichier endommagé : restaurez la dernière sauvegarde du registre",
    "SQLITE_NOTADB": "ce fichier n'est pas une base SQLite : ce n'est pas un registre mt-access",
}


def sqlite_reason(exc: sqlite3.Error) -> str | None:
    """SQLite's error in French, from its code (``SQLITE_IOERR_WRITE`` is an ``SQLITE_IOERR``),
    or ``None`` for a code without a translation."""
    name = str(getattr(exc, "sqlite_errorname", "") or "")
    return SQLITE_REASONS.get("_".join(name.split("_")[:2]))


@contextmanager
def guard(what: str, fail: Callable[[str], StoreError], timeout: float) -> Iterator[None]:
    """Turn SQLite errors and undecodable values into :class:`StoreError`; the message
    names the operation, never a stored value. ``fail`` builds the error (it names the file);
    ``timeout`` is the time waited for a busy register, in seconds."""
    try:
        yield
    except StoreError:
        raise
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            raise fail(
                f"{what} : registre occupé par un autre processus depuis plus de "
                f"{timeout:g} s ; réessayez"
            ) from exc
        reason = sqlite_reason(exc) or f"erreur SQLite ({exc})"
        raise fail(f"{what} : {reason}") from exc
    except sqlite3.Error as exc:
        reason = sqlite_reason(exc) or f"erreur SQLite ({exc})"
        raise fail(f"{what} : {reason}") from exc
    except OverflowError:
        # sqlite3 binds Python ints as 64-bit integers: a number out of the documented
        # bounds (mt_access.bounds) that got this far is refused here, nothing written.
        raise fail(
            f"{what} : nombre trop grand pour le registre (entier de 64 bits au plus) ; "
            "rien n'a été enregistré"
        ) from None
    except (KeyError, ValueError, TypeError, AttributeError) as exc:
        raise fail(unreadable(what, exc)) from None
