"""Rows of the register's tables for the records that are not the domain model: match runs,
web accounts and the audit trail (times as UTC ISO text, to the second). The same rows in
every SQL store (SQLite, PostgreSQL); the domain model's rows are in
:mod:`mt_access.store.codec`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from mt_access.store.base import AuditRecord, RunRecord, SendingRecord, UserRecord
from mt_access.store.codec import Row, decode_date

__all__ = [
    "AUDIT_COLUMNS",
    "RUN_COLUMNS",
    "SENDING_COLUMNS",
    "USER_COLUMNS",
    "audit_row",
    "decode_audit",
    "decode_run",
    "decode_sending",
    "decode_user",
    "run_row",
    "sending_row",
    "user_row",
    "utc_second",
]


# --------------------------------------------------------------------------------------------
# Runs

RUN_COLUMNS: tuple[str, ...] = (
    "number",
    "on_date",
    "month",
    "policy_code",
    "placements",
    "orientations",
    "waiting",
    "rejected",
    "tagged",
)
"""The columns of the ``runs`` table, in :class:`RunRecord`'s fields' order."""


def run_row(run: RunRecord) -> tuple[Any, ...]:
    """The values of :data:`RUN_COLUMNS`."""
    return (
        run.number,
        run.on.isoformat(),
        run.month,
        run.policy_code,
        run.placements,
        run.orientations,
        run.waiting,
        run.rejected,
        int(run.tagged),
    )


def decode_run(row: Row) -> RunRecord:
    """A :class:`RunRecord` from a row of :data:`RUN_COLUMNS`."""
    number, on, month, policy_code, placements, orientations, waiting, rejected, tagged = row
    return RunRecord(
        number,
        decode_date(on),
        month,
        policy_code,
        placements,
        orientations,
        waiting,
        rejected,
        bool(tagged),
    )


# --------------------------------------------------------------------------------------------
# Web accounts and audit trail (times as UTC ISO text, to the second)


def utc_second(at: dt.datetime) -> dt.datetime:
    """``at`` in UTC, to the second (a naive time is taken as UTC): what a store keeps."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=dt.UTC)
    return at.astimezone(dt.UTC).replace(microsecond=0)


USER_COLUMNS: tuple[str, ...] = (
    "login",
    "display_name",
    "role",
    "password_hash",
    "active",
    "session_epoch",
    "failed_logins",
    "locked_until",
    "created",
)
"""The columns of the ``users`` table, in :class:`UserRecord`'s fields' order."""


def user_row(user: UserRecord) -> tuple[Any, ...]:
    """The values of :data:`USER_COLUMNS`."""
    locked = None if user.locked_until is None else utc_second(user.locked_until).isoformat()
    return (
        user.login,
        user.display_name,
        user.role,
        user.password_hash,
        int(user.active),
        user.session_epoch,
        user.failed_logins,
        locked,
        utc_second(user.created).isoformat(),
    )


def decode_user(row: Row) -> UserRecord:
    """A :class:`UserRecord` from a row of :data:`USER_COLUMNS`."""
    login, name, role, password_hash, active, epoch, failed, locked, created = row
    return UserRecord(
        login=str(login),
        display_name=str(name),
        role=str(role),
        password_hash=str(password_hash),
        active=bool(active),
        session_epoch=int(epoch),
        failed_logins=int(failed),
        locked_until=None if locked is None else dt.datetime.fromisoformat(str(locked)),
        created=dt.datetime.fromisoformat(str(created)),
    )


AUDIT_COLUMNS: tuple[str, ...] = ("seq", "at", "actor", "action", "subject", "detail")
"""The columns of the ``audit`` table."""


def audit_row(record: AuditRecord) -> tuple[Any, ...]:
    """The values of :data:`AUDIT_COLUMNS` (``at`` to the second, in UTC)."""
    at = utc_second(record.at).isoformat()
    return (record.seq, at, record.actor, record.action, record.subject, record.detail)


def decode_audit(row: Row) -> AuditRecord:
    """An :class:`AuditRecord` from a row of :data:`AUDIT_COLUMNS`."""
    seq, at, actor, action, subject, detail = row
    return AuditRecord(
        seq=int(seq),
        at=dt.datetime.fromisoformat(str(at)),
        actor=str(actor),
        action=str(action),
        subject=None if subject is None else str(subject),
        detail=str(detail),
    )


SENDING_COLUMNS: tuple[str, ...] = (
    "request_id",
    "letter",
    "physician_id",
    "recipient_kind",
    "recipient",
    "at",
    "attempt",
    "code",
    "answer",
    "sent",
)
"""The columns of the ``sendings`` table read back, in :class:`SendingRecord`'s order."""


def sending_row(record: SendingRecord) -> tuple[Any, ...]:
    """The values of :data:`SENDING_COLUMNS` for ``record``."""
    return (
        record.request_id,
        record.letter,
        record.physician_id,
        record.recipient_kind,
        record.recipient,
        record.at.isoformat(),
        record.attempt,
        record.code,
        record.answer,
        int(record.sent),
    )


def decode_sending(row: Row) -> SendingRecord:
    """A :class:`SendingRecord` from a row of :data:`SENDING_COLUMNS`."""
    rid, letter, physician_id, kind, recipient, at, attempt, code, answer, sent = row
    return SendingRecord(
        str(rid),
        str(letter),
        str(physician_id),
        str(kind),
        str(recipient),
        dt.datetime.fromisoformat(str(at)),
        int(attempt),
        int(code),
        str(answer),
        bool(sent),
    )
