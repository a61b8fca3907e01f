"""The web application's accounts and audit trail, over a register's store (no Flask here).

Used by the pages (:mod:`mt_access.web.auth`) and by ``mt-access utilisateur``:

* an account (:class:`~mt_access.store.base.UserRecord`) has a login, a display name, a role
  (:data:`~mt_access.store.base.ROLES`) and the Argon2 hash of its password (argon2-cffi's
  :class:`~argon2.PasswordHasher`, never a hand-made scheme);
* :func:`authenticate` checks a password with throttling: after :data:`MAX_FAILURES` failures
  in a row the account is locked for a delay that doubles at each further failure (one minute,
  two, four... at most :data:`MAX_LOCK`); an unknown login, a wrong password, a locked or a
  disabled account all get the same answer (``None``), so that a visitor cannot tell which
  logins exist;
* disabling an account or changing its password raises its session epoch, which ends every
  session opened before;
* every change is written to the audit trail in the same transaction (:func:`write_audit`).

Messages are French and never contain a password.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from typing import TYPE_CHECKING

import attrs

from mt_access.bounds import MIN_PASSWORD_LENGTH
from mt_access.errors import AccountError
from mt_access.store.base import ROLES, AuditRecord, Store, UserRecord

if TYPE_CHECKING:
    from argon2 import PasswordHasher

__all__ = [
    "MAX_FAILURES",
    "MAX_LOCK",
    "ROLES",
    "authenticate",
    "check_password",
    "create_user",
    "disable_user",
    "lock_delay",
    "password_hasher",
    "set_password",
    "utc_now",
    "write_audit",
]

MAX_FAILURES = 5
"""Failed logins in a row before the account is locked."""

MAX_LOCK = dt.timedelta(hours=1)
"""The longest lock after failed logins."""

_LOGIN = re.compile(r"[a-z0-9][a-z0-9._-]{0,39}")
_MAX_NAME = 100


def utc_now() -> dt.datetime:
    """The current time, UTC, to the second."""
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def password_hasher() -> PasswordHasher:
    """argon2-cffi's hasher with its recommended parameters (RFC 9106, low memory profile).

    Raises:
        AccountError: argon2-cffi is not installed (the ``web`` extra).
    """
    try:
        from argon2 import PasswordHasher
    except ImportError:  # pragma: no cover - argon2-cffi is in the web and dev extras
        raise AccountError(
            "les comptes de l'application web demandent argon2-cffi : installez "
            "« pip install 'mt-access[web]' »"
        ) from None
    return PasswordHasher()


def check_password(password: str) -> None:
    """Refuse a password shorter than :data:`~mt_access.bounds.MIN_PASSWORD_LENGTH`.

    Raises:
        AccountError: the password is too short (its length is not told either).
    """
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(
            f"mot de passe trop court : au moins {MIN_PASSWORD_LENGTH} caractères ; une phrase "
            "de plusieurs mots est plus facile à retenir"
        )


def write_audit(
    store: Store,
    actor: str,
    action: str,
    subject: str | None = None,
    detail: str = "",
    *,
    at: dt.datetime | None = None,
    durable: bool = True,
) -> AuditRecord:
    """Append a line to the audit trail, in its own transaction or the caller's (a write and
    its audit line are then recorded together or not at all). ``detail`` holds no personal
    data. ``durable=False`` for a line that says what was displayed, in its own transaction:
    its commit does not wait for the disk (see :meth:`Store.transaction`)."""
    record = AuditRecord(at or utc_now(), actor, action, subject, detail[:200])
    with store.transaction(durable=durable):
        return store.add_audit(record)


def _check_login(login: str) -> None:
    if not _LOGIN.fullmatch(login):
        raise AccountError(
            f"identifiant invalide : « {login[:40]} » ; attendu 1 à 40 caractères parmi les "
            "lettres minuscules sans accent, les chiffres, « . », « _ » et « - » (par exemple "
            "« c.martin »)"
        )


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise AccountError(f"rôle inconnu : « {role} » ; rôles possibles : {', '.join(ROLES)}")


def _user(store: Store, login: str) -> UserRecord:
    user = store.get_user(login)
    if user is None:
        raise AccountError(f"compte inconnu : « {login[:40]} »")
    return user


def create_user(
    store: Store,
    login: str,
    role: str,
    password: str,
    *,
    display_name: str = "",
    actor: str,
    hasher: PasswordHasher | None = None,
    now: dt.datetime | None = None,
) -> UserRecord:
    """Create an account, and its audit line.

    Raises:
        AccountError: login badly written or taken, unknown role, password too short.
    """
    _check_login(login)
    _check_role(role)
    check_password(password)
    name = (display_name.strip() or login)[:_MAX_NAME]
    hashed = (hasher or password_hasher()).hash(password)
    at = now or utc_now()
    with store.transaction():
        if store.get_user(login) is not None:
            raise AccountError(f"le compte « {login} » existe déjà")
        user = UserRecord(login, name, role, hashed, created=at)
        store.put_user(user)
        write_audit(store, actor, "compte.creer", login, f"rôle {role}", at=at)
    return user


def disable_user(
    store: Store, login: str, *, actor: str, now: dt.datetime | None = None
) -> UserRecord:
    """Disable an account: it can no longer log in and its open sessions end.

    Raises:
        AccountError: unknown account.
    """
    at = now or utc_now()
    with store.transaction():
        user = _user(store, login)
        changed = attrs.evolve(user, active=False, session_epoch=user.session_epoch + 1)
        store.put_user(changed)
        write_audit(store, actor, "compte.desactiver", login, at=at)
    return changed


def set_password(
    store: Store,
    login: str,
    password: str,
    *,
    actor: str,
    hasher: PasswordHasher | None = None,
    now: dt.datetime | None = None,
) -> UserRecord:
    """Change an account's password: its open sessions end and its lock is lifted.

    Raises:
        AccountError: unknown account, password too short.
    """
    check_password(password)
    hashed = (hasher or password_hasher()).hash(password)
    at = now or utc_now()
    with store.transaction():
        user = _user(store, login)
        changed = attrs.evolve(
            user,
            password_hash=hashed,
            session_epoch=user.session_epoch + 1,
            failed_logins=0,
            locked_until=None,
        )
        store.put_user(changed)
        write_audit(store, actor, "compte.mot-de-passe", login, at=at)
    return changed


def lock_delay(failures: int) -> dt.timedelta:
    """How long an account stays locked after ``failures`` failed logins in a row: nothing
    before :data:`MAX_FAILURES`, then one minute, doubling at each further failure, at most
    :data:`MAX_LOCK`."""
    if failures < MAX_FAILURES:
        return dt.timedelta(0)
    doubled: int = 2 ** min(failures - MAX_FAILURES, 12)
    return min(dt.timedelta(minutes=doubled), MAX_LOCK)


def authenticate(
    store: Store,
    login: str,
    password: str,
    *,
    hasher: PasswordHasher | None = None,
    now: dt.datetime | None = None,
) -> UserRecord | None:
    """The account if ``password`` is its password and it may log in now, else ``None``
    (unknown login, wrong password, disabled or locked account: the same answer).

    A failure on a known account counts towards its lock; a success resets the count. Both
    are written to the audit trail (an unknown login as actor ``anonyme``, the name typed not
    kept: it may be a password typed in the wrong field).
    """
    from argon2.exceptions import InvalidHashError, VerificationError

    verifier = hasher or password_hasher()
    at = now or utc_now()
    user = store.get_user(login) if _LOGIN.fullmatch(login) else None
    if user is None:
        # the same work as for a known account, so that timing tells nothing
        with contextlib.suppress(VerificationError, InvalidHashError):
            verifier.verify(_dummy_hash(verifier), password)
        write_audit(store, "anonyme", "connexion.echec", None, "identifiant inconnu", at=at)
        return None
    locked = user.locked_until is not None and at < user.locked_until
    good: bool
    try:
        good = bool(verifier.verify(user.password_hash, password))
    except (VerificationError, InvalidHashError):
        good = False
    actor = f"user:{user.login}"
    with store.transaction():
        current = store.get_user(user.login) or user
        if good and current.active and not locked:
            changed = attrs.evolve(current, failed_logins=0, locked_until=None)
            if changed != current:
                store.put_user(changed)
            write_audit(store, actor, "connexion", user.login, at=at)
            return changed
        if not current.active:
            write_audit(store, actor, "connexion.echec", user.login, "compte désactivé", at=at)
            return None
        if locked:
            write_audit(store, actor, "connexion.echec", user.login, "compte verrouillé", at=at)
            return None
        failures = current.failed_logins + 1
        delay = lock_delay(failures)
        store.put_user(
            attrs.evolve(
                current, failed_logins=failures, locked_until=at + delay if delay else None
            )
        )
        detail = f"mot de passe erroné ({failures} échec(s))"
        write_audit(store, actor, "connexion.echec", user.login, detail, at=at)
    return None


_DUMMIES: dict[tuple[int, int, int], str] = {}


def _dummy_hash(hasher: PasswordHasher) -> str:
    """A hash made with ``hasher``'s parameters, to verify against for unknown logins."""
    key = (hasher.time_cost, hasher.memory_cost, hasher.parallelism)
    if key not in _DUMMIES:
        _DUMMIES[key] = hasher.hash("mt-access: compte inexistant")
    return _DUMMIES[key]
