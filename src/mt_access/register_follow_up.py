"""The follow-up migration part of :class:`~mt_access.register.Register`: a CPTS's existing
follow-up sheet, read by :func:`mt_access.intake.follow_up.read_follow_up`, becomes past
requests with their backdated histories (:meth:`FollowUpMigration.migrate_follow_up`).

Every entry is recorded with its whole lifecycle (received on its entry date, then its exit
on its exit date, or waiting), in one transaction, with the digest of its row: importing the
same sheet again records nothing twice. An MT found is a proposal to the GP and their
acceptance, both on the exit date; it holds **no place in the capacity ledger** (the GP's
past capacities are not known), but counts everywhere the indicators count acceptances.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import attrs

from mt_access.errors import RegisterOperationError
from mt_access.intake.follow_up import FollowUpResult, renamed_file
from mt_access.intake.outcomes import FollowUpOutcome
from mt_access.register_base import RegisterBase

__all__ = ["FollowUpMigration", "MigrationOutcome"]


@attrs.frozen
class MigrationOutcome:
    """What :meth:`FollowUpMigration.migrate_follow_up` recorded.

    Attributes:
        source: the sheet.
        registered: ``(row, request id)`` of every row recorded, in row order.
        counts: requests recorded per outcome (open rows outside the territory count as out
            of scope).
        skipped: rows already in the register (recorded before), skipped.
    """

    source: str
    registered: tuple[tuple[int, str], ...]
    counts: dict[FollowUpOutcome, int]
    skipped: int = 0

    @property
    def nothing_new(self) -> bool:
        return not self.registered and self.skipped > 0

    def summary(self) -> str:
        """One French sentence."""
        return (
            f"{self.source} : {len(self.registered)} demande(s) reprise(s) avec leur "
            f"historique, {self.skipped} ligne(s) déjà dans le registre (ignorée(s))"
        )


class FollowUpMigration(RegisterBase):
    """The register's migration of an existing follow-up sheet (:meth:`migrate_follow_up`)."""

    def _fresh_ids(self) -> Iterator[str]:  # pragma: no cover - Register's own
        raise NotImplementedError

    def received_dates(self) -> dict[str, dt.date]:
        """Each request's reception date, by id (no personal data)."""
        return {summary.id: summary.received for summary in self.store.summaries(None)}

    def migrate_follow_up(self, result: FollowUpResult) -> MigrationOutcome:
        """Record the entries of a follow-up sheet as past requests, in one transaction: all
        or none.

        Raises:
            RegisterOperationError: the sheet has problems (nothing is recorded: correct
                the rows, or remove them, and migrate again), or a GP named is no longer in
                the register.
        """
        if result.problems:
            raise RegisterOperationError(
                f"{result.source} : {len(result.rejected_rows)} ligne(s) refusée(s) ; rien "
                "n'est repris tant qu'une ligne est refusée (corrigez-les ou retirez-les du "
                "fichier, puis recommencez)"
            )
        with self._operation():
            assert self._physicians is not None
            digests = [entry.digest for entry in result.entries]
            recorded = self.store.imported_rows(digests) if digests else {}
            ids = self._fresh_ids()
            registered: list[tuple[int, str]] = []
            new_rows: list[tuple[str, str]] = []
            counts = dict.fromkeys(FollowUpOutcome, 0)
            skipped = len(result.already_imported) + len(result.already_in_register)
            for entry in sorted(result.entries, key=lambda e: e.row):
                if entry.digest in recorded:
                    skipped += 1
                    continue
                pid = entry.physician_id
                if pid is not None and pid not in self._physicians:
                    raise RegisterOperationError(f"médecin inconnu : {pid}")
                rid = next(ids)
                file = renamed_file(entry.file, rid)
                request = attrs.evolve(entry.request, id=rid)
                self.store.add_request(request, entry.identity, file)
                registered.append((entry.row, rid))
                recorded[entry.digest] = rid
                new_rows.append((entry.digest, rid))
                counts[entry.final_outcome] += 1
            if new_rows:
                self.store.add_imported_rows(new_rows)
        return MigrationOutcome(result.source, tuple(registered), counts, skipped)
