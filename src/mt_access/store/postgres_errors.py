"""PostgreSQL errors in French, and the register's URL: :func:`guard` turns every psycopg
error into a :class:`~mt_access.store.base.StoreError` naming the operation and a reason
chosen by the error's SQLSTATE, never the server's text (its ``DETAIL`` may quote a row, with
personal data in it); :func:`split_url` reads a ``postgresql://`` URL and :func:`mask_url`
hides its password.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from urllib.parse import parse_qsl, urlencode, urlsplit

import psycopg

from mt_access.store.base import StoreError
from mt_access.store.sql_common import unreadable

__all__ = [
    "OWN_ERRORS",
    "connection_error",
    "guard",
    "is_postgres_url",
    "mask_url",
    "reason",
    "split_url",
]

OWN_ERRORS = "MTA01"
"""The SQLSTATE of the errors raised by the schema's own triggers (French messages)."""

URL_SCHEMES = ("postgresql", "postgres")

_BY_STATE = {
    "23505": "valeur déjà enregistrée (contrainte d'unicité du registre)",
    "23503": "référence à une ligne absente du registre",
    "23514": "valeur refusée par une contrainte du registre",
    "23502": "valeur manquante refusée par le registre",
    "22003": "nombre trop grand pour le registre ; rien n'a été enregistré",
    "22P05": "texte refusé par le serveur (caractère NUL ou encodage invalide)",
    "22021": "texte refusé par le serveur (caractère NUL ou encodage invalide)",
    "42501": (
        "permission refusée : ce rôle PostgreSQL n'a pas ce droit sur ce registre "
        "(ou la ligne appartient à une autre CPTS)"
    ),
    "40001": "conflit avec une autre écriture au même moment ; réessayez",
    "40P01": "interblocage avec une autre écriture au même moment ; réessayez",
    "53100": "disque plein sur le serveur PostgreSQL",
    "53200": "mémoire insuffisante sur le serveur PostgreSQL",
    "53300": "trop de connexions au serveur PostgreSQL ; réessayez plus tard",
    "57P01": "le serveur PostgreSQL s'est arrêté pendant l'opération",
    "25006": "transaction en lecture seule",
    "3D000": "base de données PostgreSQL introuvable",
    "42704": "objet introuvable sur le serveur (rôle PostgreSQL inexistant ?)",
    "28P01": "authentification refusée par le serveur PostgreSQL",
    "28000": "authentification refusée par le serveur PostgreSQL",
}


def reason(exc: psycopg.Error) -> str:
    """The error in French, from its SQLSTATE (no text from the server but the schema's own
    messages)."""
    state = exc.sqlstate or ""
    if state == OWN_ERRORS:
        return exc.diag.message_primary or "opération refusée par le registre"
    if state in _BY_STATE:
        return _BY_STATE[state]
    if not state and isinstance(exc, psycopg.DataError) and "NUL" in str(exc):
        return "texte refusé : PostgreSQL n'accepte pas le caractère NUL (0x00)"
    if state.startswith("08") or (not state and isinstance(exc, psycopg.OperationalError)):
        return "connexion au serveur PostgreSQL perdue ou impossible"
    return f"erreur PostgreSQL (SQLSTATE {state or 'inconnu'})"


@contextmanager
def guard(what: str, fail: Callable[[str], StoreError], timeout: float) -> Iterator[None]:
    """Turn psycopg errors and undecodable values into :class:`StoreError`; the message
    names the operation, never a stored value. ``fail`` builds the error (it names the
    register); ``timeout`` is the time waited for a lock, in seconds."""
    try:
        yield
    except StoreError:
        raise
    except psycopg.Error as exc:
        if exc.sqlstate in ("55P03", "57014"):  # lock_timeout, statement cancelled
            raise fail(
                f"{what} : registre occupé par une autre connexion depuis plus de "
                f"{timeout:g} s ; réessayez"
            ) from None
        raise fail(f"{what} : {reason(exc)}") from None
    except OverflowError:
        raise fail(
            f"{what} : nombre trop grand pour le registre ; rien n'a été enregistré"
        ) from None
    except (KeyError, ValueError, TypeError, AttributeError) as exc:
        raise fail(unreadable(what, exc)) from None


def _join(scheme: str, netloc: str, path: str, query: str) -> str:
    """A URL from its parts (``urlunsplit`` drops the ``//`` of an empty host, which libpq
    needs: ``postgresql:///base?host=/run/postgresql``)."""
    return f"{scheme}://{netloc}{path}" + (f"?{query}" if query else "")


def is_postgres_url(location: str) -> bool:
    """Whether ``location`` is a ``postgresql://`` (or ``postgres://``) URL."""
    scheme, sep, _ = location.partition("://")
    return bool(sep) and scheme.lower() in URL_SCHEMES


def mask_url(url: str) -> str:
    """``url`` with its password (in the authority or a ``password=`` parameter) replaced by
    ``***``: what messages and listings show."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<URL illisible>"
    netloc = parts.netloc
    if "@" in netloc:
        credentials, _, host = netloc.rpartition("@")
        user, colon, _password = credentials.partition(":")
        netloc = f"{user}:***@{host}" if colon else f"{user}@{host}"
    query = [
        (key, "***" if key.lower() == "password" else value)
        for key, value in parse_qsl(parts.query, keep_blank_values=True)
    ]
    return _join(parts.scheme, netloc, parts.path, urlencode(query, safe="*/:"))


def split_url(url: str) -> tuple[str, str | None]:
    """The connection URL for libpq and the CPTS named by its ``cpts=`` parameter (``None``
    without one): libpq refuses parameters it does not know, so ``cpts`` is taken out."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    cpts = [value for key, value in query if key == "cpts"]
    rest = [(key, value) for key, value in query if key != "cpts"]
    conninfo = _join(parts.scheme, parts.netloc, parts.path, urlencode(rest, safe="/:"))
    return conninfo, (cpts[-1] if cpts else None)


def connection_error(exc: BaseException) -> str:
    """Why a connection could not be had from the pool, in French."""
    if isinstance(exc, psycopg.Error):
        return f"connexion impossible ({reason(exc)})"
    return "aucune connexion libre au serveur PostgreSQL dans le délai ; réessayez"
