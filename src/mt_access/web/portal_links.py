"""The GPs' personal links to their portal: signed, expiring, revocable, one GP only.

No Flask here (``mt-access medecin lien`` uses it too); the signature is itsdangerous's
:class:`~itsdangerous.URLSafeTimedSerializer` (HMAC, with a salt of its own), keyed by the
application's ``SECRET_KEY`` (:func:`mt_access.web.app.secret_key`): no hand-made scheme.

* A link is ``<adresse>/medecin/<jeton>``. The token holds the GP's id, the GP's link
  generation and the link's lifetime in days, nothing else: no patient data, no name.
* Revoking (:func:`revoke`) raises the GP's generation, kept in the store's settings under
  ``portail.generation.<GP>``: every link made before dies at once.
* A link expires ``jours`` days after it was made (:data:`DEFAULT_DAYS` by default, at most
  :data:`~mt_access.bounds.MAX_LINK_DAYS`).
* :func:`read_token` says why a token is refused (:class:`LinkRefused`: forged, expired,
  revoked, unknown GP) without ever putting the token in a message.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable
from typing import Any

import attrs
from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer

from mt_access.bounds import DEFAULT_LINK_DAYS, MAX_LINK_DAYS
from mt_access.errors import LinkRefused, MtAccessError
from mt_access.store.base import Store
from mt_access.web.accounts import write_audit

__all__ = [
    "DEFAULT_DAYS",
    "GENERATION_PREFIX",
    "LINK_SALT",
    "LinkClaim",
    "LinkRefused",
    "RefusalReason",
    "generation",
    "issue_link",
    "link_path",
    "make_token",
    "read_token",
    "revoke",
]

LINK_SALT = "mt-access.portail-medecin"
"""The salt of the links' signatures: a session cookie or another signed value of the
application is never a valid link, nor the reverse."""

GENERATION_PREFIX = "portail.generation."
"""The store settings holding each GP's link generation (``portail.generation.<GP>``)."""

DEFAULT_DAYS = DEFAULT_LINK_DAYS
"""A link's lifetime when none is given."""

Clock = Callable[[], dt.datetime]


class RefusalReason(enum.StrEnum):
    """Why a link is refused: the :attr:`~mt_access.errors.LinkRefused.reason` of the error
    (the audit trail's detail, the log's text)."""

    FORGED = "invalide"
    EXPIRED = "expire"
    REVOKED = "revoque"
    UNKNOWN_GP = "medecin-inconnu"

    @property
    def status(self) -> int:
        """The HTTP status of the page: 410 for an expired or revoked link, else 403."""
        return 410 if self in (RefusalReason.EXPIRED, RefusalReason.REVOKED) else 403


@attrs.frozen
class LinkClaim:
    """What a valid link says: the GP, their link generation, the link's lifetime and when
    it was made (UTC)."""

    physician_id: str
    generation: int
    days: int
    issued: dt.datetime


def _serializer(secret: str | bytes, clock: Clock | None) -> URLSafeTimedSerializer:
    if clock is None:
        return URLSafeTimedSerializer(secret, salt=LINK_SALT)
    now = clock

    class ClockSigner(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(now().timestamp())

    return URLSafeTimedSerializer(secret, salt=LINK_SALT, signer=ClockSigner)


def _check_days(days: int) -> int:
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_LINK_DAYS:
        raise MtAccessError(
            f"durée du lien : un nombre de jours entre 1 et {MAX_LINK_DAYS} attendu"
        )
    return days


def make_token(
    secret: str | bytes,
    physician_id: str,
    generation: int,
    *,
    days: int = DEFAULT_DAYS,
    clock: Clock | None = None,
) -> str:
    """A signed token for the GP's link (see the module's docstring).

    Raises:
        MtAccessError: ``days`` outside 1..:data:`~mt_access.bounds.MAX_LINK_DAYS`.
    """
    payload = {"m": physician_id, "g": generation, "j": _check_days(days)}
    token = _serializer(secret, clock).dumps(payload)
    assert isinstance(token, str)
    return token


def read_token(
    secret: str | bytes, token: str, store: Store, *, clock: Clock | None = None
) -> LinkClaim:
    """The GP a link is for, when it is signed with ``secret``, younger than its lifetime,
    of the GP's current generation, and names a GP of the register.

    Raises:
        LinkRefused: the reason (never the token).
    """
    serializer = _serializer(secret, clock)
    try:
        payload, signed_at = serializer.loads(token, return_timestamp=True)
    except SignatureExpired as exc:  # only with max_age: not used here
        raise LinkRefused(RefusalReason.EXPIRED) from exc
    except BadSignature as exc:
        raise LinkRefused(RefusalReason.FORGED) from exc
    claim = _claim(payload, signed_at)
    now = clock() if clock is not None else dt.datetime.now(dt.UTC)
    age = now - claim.issued
    if age > dt.timedelta(days=claim.days) or age < -dt.timedelta(minutes=5):
        raise LinkRefused(RefusalReason.EXPIRED, claim.physician_id)
    if claim.generation != generation(store, claim.physician_id):
        raise LinkRefused(RefusalReason.REVOKED, claim.physician_id)
    if store.get_physician(claim.physician_id) is None:
        raise LinkRefused(RefusalReason.UNKNOWN_GP, claim.physician_id)
    return claim


def _claim(payload: Any, signed_at: dt.datetime) -> LinkClaim:
    if not isinstance(payload, dict) or set(payload) != {"m", "g", "j"}:
        raise LinkRefused(RefusalReason.FORGED)
    gp, gen, days = payload["m"], payload["g"], payload["j"]
    if not isinstance(gp, str) or not gp:
        raise LinkRefused(RefusalReason.FORGED)
    for number in (gen, days):
        if isinstance(number, bool) or not isinstance(number, int):
            raise LinkRefused(RefusalReason.FORGED)
    if not 1 <= days <= MAX_LINK_DAYS:
        raise LinkRefused(RefusalReason.FORGED)
    return LinkClaim(gp, gen, days, signed_at.astimezone(dt.UTC))


def generation(store: Store, physician_id: str) -> int:
    """The GP's current link generation (0 before any revocation)."""
    text = store.settings().get(GENERATION_PREFIX + physician_id, "0")
    try:
        return int(text)
    except ValueError:
        return 0


def link_path(token: str) -> str:
    """The path of a link on the application."""
    return f"/medecin/{token}"


def issue_link(
    store: Store,
    secret: str | bytes,
    physician_id: str,
    *,
    actor: str,
    days: int = DEFAULT_DAYS,
    clock: Clock | None = None,
) -> str:
    """A new link's token for the GP (their current generation), written to the audit
    trail (``portail.lien.creer``, the token never).

    Raises:
        MtAccessError: unknown GP, or ``days`` out of bounds.
    """
    _check_days(days)
    if store.get_physician(physician_id) is None:
        raise MtAccessError(f"médecin inconnu : {physician_id}")
    with store.transaction():
        token = make_token(
            secret, physician_id, generation(store, physician_id), days=days, clock=clock
        )
        write_audit(
            store, actor, "portail.lien.creer", physician_id, f"{days} jours", at=_at(clock)
        )
    return token


def revoke(store: Store, physician_id: str, *, actor: str, clock: Clock | None = None) -> int:
    """End every link of the GP made so far (their generation raised), written to the audit
    trail (``portail.lien.revoquer``); returns the new generation.

    Raises:
        MtAccessError: unknown GP.
    """
    if store.get_physician(physician_id) is None:
        raise MtAccessError(f"médecin inconnu : {physician_id}")
    with store.transaction():
        new = generation(store, physician_id) + 1
        store.put_setting(GENERATION_PREFIX + physician_id, str(new))
        write_audit(store, actor, "portail.lien.revoquer", physician_id, "", at=_at(clock))
    return new


def _at(clock: Clock | None) -> dt.datetime | None:
    if clock is None:
        return None
    return clock().astimezone(dt.UTC).replace(microsecond=0)
