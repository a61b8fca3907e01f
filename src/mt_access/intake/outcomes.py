"""The outcome of a request in a CPTS's existing follow-up sheet (« Issue », « Motif de
sortie »): still open, or one of the register's exits (:class:`~mt_access.lifecycle.ExitReason`).

A follow-up sheet's wordings (« MT trouvé », « Abandon », « Injoignable », « Hors
territoire »...) are mapped to these values by the ``values:`` of the mapping's ``outcome``
field, like any form wording; :data:`OUTCOME_WORDINGS` holds the usual ones, which
``mt-access formulaire deduire`` proposes.
"""

from __future__ import annotations

from collections.abc import Mapping

from mt_access.labels import LabelledEnum, register_labels
from mt_access.transitions import ExitReason

__all__ = ["OUTCOME_WORDINGS", "FollowUpOutcome"]


class FollowUpOutcome(LabelledEnum):
    """Where a request of a follow-up sheet stands: ``open`` (no exit yet: it becomes a
    waiting request) or the reason it left the scheme (:attr:`exit_reason`)."""

    OPEN = "open"
    MT_FOUND = "mt_found"
    NOT_SEARCHING_ANYMORE = "not_searching_anymore"
    WITHDRAWN = "withdrawn"
    UNREACHABLE = "unreachable"
    OUT_OF_SCOPE = "out_of_scope"
    OTHER_SOLUTION = "other_solution"
    CLOSED_BY_CPTS = "closed_by_cpts"

    @property
    def exit_reason(self) -> ExitReason | None:
        """The register's exit reason; ``None`` for ``open``."""
        return None if self is FollowUpOutcome.OPEN else ExitReason(self.value)


register_labels(
    {
        FollowUpOutcome.OPEN: "en cours (pas encore sortie)",
        FollowUpOutcome.MT_FOUND: "médecin traitant trouvé",
        FollowUpOutcome.NOT_SEARCHING_ANYMORE: "ne recherche plus de médecin traitant",
        FollowUpOutcome.WITHDRAWN: "abandon ou désistement du patient",
        FollowUpOutcome.UNREACHABLE: "patient injoignable",
        FollowUpOutcome.OUT_OF_SCOPE: "hors du champ du dispositif",
        FollowUpOutcome.OTHER_SOLUTION: "autre solution trouvée",
        FollowUpOutcome.CLOSED_BY_CPTS: "clôturée par la CPTS",
    }
)

_O = FollowUpOutcome

OUTCOME_WORDINGS: Mapping[str, FollowUpOutcome] = {
    # still open
    "En cours": _O.OPEN,
    "En attente": _O.OPEN,
    "En recherche": _O.OPEN,
    "Liste d'attente": _O.OPEN,
    "Ouvert": _O.OPEN,
    "Non attribué": _O.OPEN,
    # a GP of the scheme took the patient
    "MT trouvé": _O.MT_FOUND,
    "Médecin trouvé": _O.MT_FOUND,
    "Médecin traitant trouvé": _O.MT_FOUND,
    "MT attribué": _O.MT_FOUND,
    "Attribué": _O.MT_FOUND,
    "Attribution": _O.MT_FOUND,
    "Pris en charge": _O.MT_FOUND,
    "Accepté": _O.MT_FOUND,
    "Solution trouvée": _O.MT_FOUND,
    # the patient no longer searches
    "Ne recherche plus": _O.NOT_SEARCHING_ANYMORE,
    "Plus de recherche": _O.NOT_SEARCHING_ANYMORE,
    "Plus besoin": _O.NOT_SEARCHING_ANYMORE,
    "Sans suite": _O.NOT_SEARCHING_ANYMORE,
    # the patient gave up
    "Abandon": _O.WITHDRAWN,
    "Désistement": _O.WITHDRAWN,
    "Annulé": _O.WITHDRAWN,
    "Annulation": _O.WITHDRAWN,
    "Refus du patient": _O.WITHDRAWN,
    # unreachable
    "Injoignable": _O.UNREACHABLE,
    "Patient injoignable": _O.UNREACHABLE,
    "Sans réponse": _O.UNREACHABLE,
    "Pas de réponse": _O.UNREACHABLE,
    # out of scope
    "Hors territoire": _O.OUT_OF_SCOPE,
    "Hors secteur": _O.OUT_OF_SCOPE,
    "Hors dispositif": _O.OUT_OF_SCOPE,
    "Hors critères": _O.OUT_OF_SCOPE,
    "Hors champ": _O.OUT_OF_SCOPE,
    "Changement de convenance": _O.OUT_OF_SCOPE,
    "Convenance": _O.OUT_OF_SCOPE,
    "Déménagement": _O.OUT_OF_SCOPE,
    "Déménagé": _O.OUT_OF_SCOPE,
    # found by other means
    "Autre solution": _O.OTHER_SOLUTION,
    "MT trouvé seul": _O.OTHER_SOLUTION,
    "Trouvé par ses propres moyens": _O.OTHER_SOLUTION,
    "Par ses propres moyens": _O.OTHER_SOLUTION,
    "Solution personnelle": _O.OTHER_SOLUTION,
    # closed by the CPTS (a reorientation included: see docs/reprise.md)
    "Clôturé": _O.CLOSED_BY_CPTS,
    "Clôture": _O.CLOSED_BY_CPTS,
    "Clos": _O.CLOSED_BY_CPTS,
    "Fermé": _O.CLOSED_BY_CPTS,
    "Réorienté": _O.CLOSED_BY_CPTS,
    "Réorientation": _O.CLOSED_BY_CPTS,
    "Orienté": _O.CLOSED_BY_CPTS,
    "Orientation": _O.CLOSED_BY_CPTS,
    "Décédé": _O.CLOSED_BY_CPTS,
    "Décès": _O.CLOSED_BY_CPTS,
}
"""Usual wordings of a follow-up sheet's outcome column, and what each means (compared
without case, accents nor extra spaces). A reorientation (the patient was sent to other
resources and the CPTS stopped searching) is a closure by the CPTS; review it in the
mapping if your sheet means otherwise."""
