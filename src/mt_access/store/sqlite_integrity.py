"""The register's invariants, checked by
:meth:`~mt_access.store.sqlite.SQLiteStore.integrity_check` over a snapshot of the file.
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any, Protocol

from mt_access.ledger import PlacementRecorded, PlacementReleased
from mt_access.lifecycle import Event
from mt_access.store import codec, codec_records
from mt_access.store.sql_common import (
    FILE_SELECT,
    IDENTITY_SELECT,
    LEDGER_SELECT,
    PHYSICIAN_SELECT,
    REQUEST_SELECT,
    RUN_SELECT,
    TRANSITION_SELECT,
)
from mt_access.store.sqlite_schema import (
    REGISTER_FORMAT,
    name_tokens,
)

__all__ = ["Queryable", "data_invariants", "register_invariants"]


class Queryable(Protocol):
    """A connection that runs a query without parameters and returns its rows (an
    :class:`sqlite3.Connection`, or the PostgreSQL store's connection over views of one
    CPTS's rows)."""

    def execute(self, sql: str, /) -> Any: ...


def register_invariants(conn: Queryable) -> list[str]:
    """The register's invariants in a snapshot ``conn``: the file's marks, the requests and
    their histories, persons recorded twice, the physicians, the ledger, the runs; the
    problems found, in French (ids, never patient data)."""
    return _check_meta(conn) + data_invariants(conn)


def data_invariants(conn: Queryable) -> list[str]:
    """The invariants of the data (:func:`register_invariants` without the file's marks):
    the tables ``requests``, ``identities``, ``transitions``, ``physicians``, ``ledger`` and
    ``runs`` as ``conn`` names them."""
    problems: list[str] = []
    problems.extend(_check_requests(conn))
    problems.extend(_check_doubles(conn))
    problems.extend(_check_physicians(conn))
    problems.extend(_check_ledger(conn))
    problems.extend(_check_runs(conn))
    return problems


def _check_meta(conn: Queryable) -> list[str]:
    problems = []
    meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
    if meta.get("format") != REGISTER_FORMAT:
        problems.append("table meta : format du registre absent ou invalide")
    commits = meta.get("commits")
    if not isinstance(commits, int) or commits < 0:
        problems.append("table meta : compteur de transactions absent ou invalide")
    return problems


def _check_requests(conn: Queryable) -> list[str]:
    problems: list[str] = []
    histories: dict[str, list[Any]] = {}
    for row in conn.execute(
        f"SELECT {TRANSITION_SELECT} FROM transitions ORDER BY request_id, seq"
    ):
        histories.setdefault(row[0], []).append(row)
    identities = {
        row[0]: row[1:]
        for row in conn.execute(f"SELECT request_id, {IDENTITY_SELECT} FROM identities")
    }
    receive = Event.RECEIVE.value
    for row in conn.execute(
        f"SELECT id, persons, {FILE_SELECT}, {REQUEST_SELECT} FROM requests ORDER BY id"
    ):
        rid, persons, state, last_event = row[0], row[1], row[2], row[3]
        width = 2 + len(codec.FILE_COLUMNS)
        file_values, request_values = row[2:width], row[width:]
        where = f"demande {rid}"
        rows = histories.get(rid, [])
        if not rows:
            problems.append(f"{where} : aucune transition enregistrée")
        else:
            first, last = rows[0], rows[-1]
            if first[2] != receive or first[3] is not None:
                problems.append(f"{where} : la première transition n'est pas la réception")
            for before, after in pairwise(rows):
                if after[3] != before[4]:
                    problems.append(
                        f"{where} : transition partant de l'état {after[3]} alors que la "
                        f"précédente menait à {before[4]}"
                    )
                    break
                if after[1] < before[1]:
                    problems.append(f"{where} : dates de transitions qui reculent")
                    break
            if last[4] != state:
                problems.append(
                    f"{where} : état enregistré {state} différent de celui de sa dernière "
                    f"transition ({last[4]})"
                )
            if last[1] != last_event:
                problems.append(
                    f"{where} : date du dernier événement {last_event} différente de celle "
                    f"de sa dernière transition ({last[1]})"
                )
        identity = identities.get(rid)
        if identity is None:
            problems.append(f"{where} : pas de ligne d'identité")
        try:
            request = codec.decode_requests((request_values,), validate=True)[0]
            if persons != request.persons:
                problems.append(f"{where} : nombre de personnes incohérent")
            if rows:
                file = codec.decode_file(
                    rid, file_values, codec.decode_transitions(rows), persons=persons
                )
                if file.proposed_to != frozenset(file.proposals):
                    problems.append(
                        f"{where} : propositions en cours incohérentes avec l'historique"
                    )
                if file.proposed_to & file.declined_by:
                    problems.append(
                        f"{where} : proposée à un médecin qui l'a refusée "
                        f"({', '.join(sorted(file.proposed_to & file.declined_by))})"
                    )
            if identity is not None:
                codec.decode_identity(identity)
        except (KeyError, ValueError, TypeError, AttributeError, OverflowError) as exc:
            problems.append(f"{where} : valeur illisible ou invalide ({type(exc).__name__})")
    return problems


def _check_doubles(conn: Queryable) -> list[str]:
    """Requests recorded twice: the same person (name and birth date) received the same
    day, as two imports of one export at the same moment used to leave."""
    groups: dict[tuple[tuple[str, ...], str, str], list[str]] = {}
    for rid, birth, received, last, first in conn.execute(
        "SELECT r.id, r.birth_date, r.received, i.last_name, i.first_name "
        "FROM requests AS r JOIN identities AS i ON i.request_id = r.id "
        "WHERE r.erased_on IS NULL ORDER BY r.id"
    ):
        tokens = name_tokens(f"{last} {first}")
        if tokens:
            groups.setdefault((tokens, str(birth), str(received)), []).append(str(rid))
    problems = []
    for ids in groups.values():
        if len(ids) > 1:
            listed = ", ".join(ids[:5]) + (f" (et {len(ids) - 5} autres)" if len(ids) > 5 else "")
            problems.append(
                f"demandes {listed} : même personne (nom, prénom, date de naissance) reçue "
                "le même jour : demande enregistrée en double ?"
            )
    return problems


def _check_physicians(conn: Queryable) -> list[str]:
    problems = []
    for row in conn.execute(f"SELECT {PHYSICIAN_SELECT} FROM physicians ORDER BY id"):
        try:
            codec.decode_physician(row)
        except (KeyError, ValueError, TypeError, AttributeError) as exc:
            problems.append(
                f"médecin {row[0]} : valeur illisible ou invalide ({type(exc).__name__})"
            )
    return problems


def _check_ledger(conn: Queryable) -> list[str]:
    problems = []
    active: set[tuple[str, str]] = set()
    for seq, *values in conn.execute(f"SELECT seq, {LEDGER_SELECT} FROM ledger ORDER BY seq"):
        where = f"registre de capacités, entrée {seq}"
        try:
            (entry,) = codec.decode_ledger((values,))
        except (KeyError, ValueError, TypeError, AttributeError) as exc:
            problems.append(f"{where} : valeur illisible ou invalide ({type(exc).__name__})")
            continue
        if isinstance(entry, PlacementRecorded):
            pair = (entry.physician_id, entry.request_id)
            if pair in active:
                problems.append(
                    f"{where} : second placement actif du dossier {entry.request_id} chez "
                    f"le médecin {entry.physician_id}"
                )
            active.add(pair)
        elif isinstance(entry, PlacementReleased):
            pair = (entry.physician_id, entry.request_id)
            if pair not in active:
                problems.append(
                    f"{where} : libération sans placement actif du dossier "
                    f"{entry.request_id} chez le médecin {entry.physician_id}"
                )
            active.discard(pair)
    return problems


def _check_runs(conn: Queryable) -> list[str]:
    problems = []
    expected = 1
    for row in conn.execute(f"SELECT {RUN_SELECT} FROM runs ORDER BY number"):
        if row[0] != expected:
            problems.append(f"passages d'appariement : numéro {row[0]} au lieu de {expected}")
            expected = row[0]
        expected += 1
        try:
            codec_records.decode_run(row)
        except (KeyError, ValueError, TypeError) as exc:
            problems.append(
                f"passage d'appariement {row[0]} : valeur illisible ({type(exc).__name__})"
            )
    unknown = conn.execute(
        "SELECT DISTINCT run FROM transitions WHERE run IS NOT NULL "
        "AND run NOT IN (SELECT number FROM runs) ORDER BY run"
    ).fetchall()
    for (number,) in unknown:
        problems.append(f"transitions : appariement n° {number} inconnu de la table runs")
    return problems
