"""What a request's page and its actions share: the stale-page check (the page carries the
request's number of events) and the French message of a refused action."""

from __future__ import annotations

from mt_access.cli.registry_base import french_dates
from mt_access.errors import IllegalTransitionError, MtAccessError
from mt_access.lifecycle import RequestFile

__all__ = ["STALE_MESSAGE", "action_message", "request_step"]

STALE_MESSAGE = (
    "Cette demande a changé depuis l'affichage de la page (par un autre coordinateur, un "
    "médecin ou un appariement) : rien n'a été enregistré. Vérifiez son état ci-dessous, "
    "puis recommencez si besoin."
)
"""« cette demande a changé depuis »: a stale page's action, refused."""


def request_step(file: RequestFile) -> str:
    """What a page carries to detect a change of the request since: its number of events."""
    return str(len(file.history))


def action_message(exc: MtAccessError) -> str:
    """The French message of an action the register refused."""
    if isinstance(exc, IllegalTransitionError):
        return (
            f"Impossible : la demande est « {exc.state.label} » ; "
            f"« {exc.event.label} » ne peut pas être enregistré dans cet état."
        )
    return french_dates(str(exc))
