"""What the register commands share: the handler type, the state names of the command line,
and the French messages for the register's refusals (the event that would be next, and the
command that records it).
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
from collections.abc import Callable

from mt_access.cli.common import (
    EXIT_REFUSED,
    CommandError,
    Console,
)
from mt_access.errors import IntakeError, MtAccessError, PolicyError
from mt_access.lifecycle import (
    Event,
    IllegalTransitionError,
    RequestState,
)
from mt_access.store.base import StoreError

__all__ = ["Handler", "event_command", "french_dates", "refusal_message"]


Handler = Callable[[argparse.Namespace, Console], int]

STATES = {
    "recue": RequestState.RECEIVED,
    "accusee": RequestState.ACKNOWLEDGED,
    "confirmee": RequestState.CONFIRMED,
    "attente": RequestState.WAITING,
    "proposee": RequestState.PROPOSED,
    "mt-trouve": RequestState.MT_FOUND,
    "sortie": RequestState.EXITED,
}
ACTIVE = (
    RequestState.RECEIVED,
    RequestState.ACKNOWLEDGED,
    RequestState.CONFIRMED,
    RequestState.WAITING,
    RequestState.PROPOSED,
)
MODALITIES = {"cabinet": "office", "domicile": "home_visits", "visites": "home_visits"}


def fr_date(day: dt.date) -> str:
    return f"{day:%d/%m/%Y}"


# ------------------------------------------------------------------------------------------
# French messages for the register's refusals

_ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")

# Where each event stands on a request's way, and the command that records it.
_STAGE: dict[Event, int] = {
    Event.RECEIVE: 0,
    Event.ACKNOWLEDGE: 1,
    Event.CONFIRM: 2,
    Event.NOT_SEARCHING: 2,
    Event.TO_WAITING: 3,
    Event.PROPOSE: 4,
    Event.ORIENT: 4,
    Event.ACCEPT: 5,
    Event.REFUSE: 5,
    Event.CANCEL_PROPOSAL: 5,
}
_NEXT_STEPS = (Event.ACKNOWLEDGE, Event.CONFIRM, Event.TO_WAITING, Event.ORIENT, Event.PROPOSE,
               Event.ACCEPT, Event.REFUSE, Event.CANCEL_PROPOSAL)  # fmt: skip


def event_command(event: Event, request_id: str) -> str:
    """The ``mt-access`` command that records ``event`` for a request."""
    commands = {
        Event.RECEIVE: "mt-access import FICHIER",
        Event.ACKNOWLEDGE: f"mt-access demande accuser {request_id}",
        Event.CONFIRM: f"mt-access demande confirmer {request_id}",
        Event.NOT_SEARCHING: f"mt-access demande cloturer {request_id} ne-cherche-plus",
        Event.TO_WAITING: f"mt-access demande attente {request_id}",
        Event.PROPOSE: f"mt-access demande proposer {request_id} MEDECIN",
        Event.ORIENT: "mt-access apparier",
        Event.ACCEPT: f"mt-access medecin repondre MEDECIN {request_id} accepte",
        Event.REFUSE: f"mt-access medecin repondre MEDECIN {request_id} refuse",
        Event.CANCEL_PROPOSAL: (
            f"mt-access demande annuler-proposition {request_id} MEDECIN -c MOTIF"
        ),
        Event.CONTACT_SUCCEEDED: f"mt-access demande contact {request_id} joint",
        Event.CONTACT_FAILED: f"mt-access demande contact {request_id} injoignable",
        Event.WITHDRAW: f"mt-access demande cloturer {request_id} retrait",
        Event.OUT_OF_SCOPE: f"mt-access demande cloturer {request_id} hors-dispositif",
        Event.OTHER_SOLUTION: f"mt-access demande cloturer {request_id} autre-solution",
        Event.CLOSE: f"mt-access demande cloturer {request_id} cloture -c MOTIF",
        Event.QUALIFY: (
            f"mt-access demande qualifier {request_id} --reponse ID=VALEUR --motif MOTIF"
        ),
    }
    return commands[event]


def refusal_message(exc: IllegalTransitionError) -> str:
    """A French sentence for an event the request's state does not allow, naming the
    ``mt-access`` commands to run instead (never the lifecycle's internal event names)."""
    rid = exc.request_id
    state = f"la demande {rid} est « {exc.state.label} »"
    if not exc.allowed:
        return f"impossible : {state} ; plus aucun événement ne peut être enregistré"
    steps = [e for e in _NEXT_STEPS if e in exc.allowed]
    if not steps:
        return f"impossible : {state}"
    commands = [event_command(e, rid) for e in steps if e is not Event.REFUSE]
    if Event.ACCEPT in steps:  # a proposal pending: its answer (or its cancellation) comes next
        commands = [
            f"mt-access medecin repondre MEDECIN {rid} accepte|refuse",
            event_command(Event.CANCEL_PROPOSAL, rid),
        ]
    listed = " ou ".join(f"« {command} »" for command in commands)
    stage = _STAGE.get(exc.event, 0) if isinstance(exc.event, Event) else 0
    if min(_STAGE[e] for e in steps) <= stage:
        return f"impossible : {state} ; faites d'abord {listed}"
    return f"impossible : {state}, cette étape est passée ; étape suivante : {listed}"


def in_french(handler: Handler) -> Handler:
    """``handler`` with the register's refusals told in French: an event impossible in the
    request's state names the commands to run instead, and dates read JJ/MM/AAAA."""

    def run(args: argparse.Namespace, console: Console) -> int:
        try:
            return handler(args, console)
        except IllegalTransitionError as exc:
            raise CommandError(refusal_message(exc), EXIT_REFUSED) from exc
        except MtAccessError as exc:
            # Messages that name no file: a date in them is the register's, not a path's.
            named_file = (CommandError, PolicyError, IntakeError, StoreError, OSError)
            (message,) = exc.args if len(exc.args) == 1 else (None,)
            if not isinstance(exc, named_file) and isinstance(message, str):
                exc.args = (french_dates(message),)
            raise

    return run


def french_dates(text: str) -> str:
    """``text`` with its ISO dates (AAAA-MM-JJ) written JJ/MM/AAAA."""
    return _ISO_DATE.sub(r"\3/\2/\1", text)
