"""Copying a register from one store to another (``mt-access registre copier``): an SQLite
file to a PostgreSQL database and back, or between two stores of the same kind.

:func:`copy_register` reads everything through the :class:`~mt_access.store.base.Store`
interface and writes it into an empty destination in one transaction (nothing is written if
anything fails); :func:`differences` compares two stores through the same reading methods,
which is how the copy is checked. Requests are copied one after the other, each with its whole
history: the recording order of each request's transitions, of the ledger, of the runs, of
the sendings and of the audit trail is kept; only the interleaving of different requests'
transitions in ``transitions()`` (all requests) follows the order of the requests' first
events. The web application's accounts are copied as they are (password hashes, locks and
session epochs included); the audit trail's lines keep their time, and the destination numbers
them 1, 2, ... in the same order (:func:`differences` compares them without their numbers).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

from mt_access.store.base import AuditRecord, Store, StoreError

__all__ = ["CopyCounts", "copy_register", "differences"]


@attrs.frozen
class CopyCounts:
    """What was copied."""

    requests: int
    physicians: int
    ledger_entries: int
    runs: int
    sendings: int
    imported_rows: int
    settings: int
    users: int = 0
    audit_entries: int = 0


def _imported(store: Store) -> dict[str, str]:
    every: Callable[[], dict[str, str]] | None = getattr(store, "all_imported_rows", None)
    if every is None:
        raise StoreError(
            f"{type(store).__name__} : ce registre ne sait pas lister ses lignes importées"
        )
    return every()


def _is_empty(store: Store) -> bool:
    return not (
        store.count_requests()
        or store.physicians()
        or store.ledger_entries()
        or store.runs()
        or store.sendings()
        or store.settings()
        or store.users()
        or store.audit_entries(limit=1)
    )


def _audit_in_order(store: Store) -> list[AuditRecord]:
    """The audit trail, oldest first."""
    return list(reversed(store.audit_entries()))


def copy_register(source: Store, destination: Store) -> CopyCounts:
    """Copy every value of ``source`` into ``destination``, which must be empty, in one
    transaction of ``destination``.

    Raises:
        StoreError: ``destination`` is not empty, or a read or a write failed (then nothing
            was written).
    """
    if not _is_empty(destination):
        raise StoreError(
            "la destination contient déjà des données : copie refusée (choisissez un registre vide)"
        )
    summaries = source.summaries()
    ids = [s.id for s in summaries]
    files = source.get_files(ids)
    first_event = {t.request_id: n for n, t in reversed(list(enumerate(source.transitions())))}
    order = sorted(ids, key=lambda rid: (first_event.get(rid, len(first_event)), rid))
    requests = {r.id: r for r in source.requests()}
    imported = _imported(source)
    settings = source.settings()
    physicians = source.physicians()
    ledger = source.ledger_entries()
    runs = source.runs()
    sendings = source.sendings()
    users = source.users()
    audit = _audit_in_order(source)
    with destination.transaction():
        for key, value in settings.items():
            destination.put_setting(key, value)
        for physician in physicians:
            destination.put_physician(physician)
        for rid in order:
            identity = source.get_identity(rid)
            if identity is None:
                raise StoreError(f"demande {rid} : identité absente de la source")
            destination.add_request(requests[rid], identity, files[rid])
            erased = source.erased_on(rid)
            if erased is not None:
                destination.replace_request(requests[rid], identity, erased_on=erased)
        if imported:
            destination.add_imported_rows(sorted(imported.items()))
        destination.append_ledger(ledger)
        for run in runs:
            destination.add_run(run)
        for sending in sendings:
            destination.add_sending(sending)
        for user in users:
            destination.put_user(user)
        for record in audit:
            destination.add_audit(record)  # keeps its time; numbered by the destination
    return CopyCounts(
        len(ids), len(physicians), len(ledger), len(runs), len(sendings), len(imported),
        len(settings), len(users), len(audit),
    )  # fmt: skip


def _contents(store: Store) -> dict[str, Any]:
    ids = [s.id for s in store.summaries()]
    return {
        "demandes": store.requests(),
        "liste des demandes": store.summaries(),
        "identités": [store.get_identity(rid) for rid in ids],
        "dossiers": store.get_files(ids),
        "effacements": [store.erased_on(rid) for rid in ids],
        "personnes connues": list(store.known_persons()),
        "médecins": store.physicians(),
        "registre de capacités": store.ledger_entries(),
        "appariements": store.runs(),
        "envois": store.sendings(),
        "réglages": store.settings(),
        "lignes importées": _imported(store),
        "comptes": store.users(),
        "journal d'audit": [attrs.evolve(r, seq=0) for r in _audit_in_order(store)],
    }


def differences(first: Store, second: Store) -> list[str]:
    """What differs between two stores, by part (in French, no values): empty when every
    reading method gives the same answer (the recording order of all transitions aside)."""
    a, b = _contents(first), _contents(second)
    return [part for part in a if a[part] != b[part]]
