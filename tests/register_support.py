"""What the tests of a register in memory share: the register, GPs who joined on :data:`D1`
and requests on the waiting list (received and acknowledged on :data:`D1`, confirmed on
:data:`D2`). Generated data only."""

from __future__ import annotations

import datetime as dt

import attrs

import mt_access
from factories import VOIRON, doc
from mt_access import Modality, PatientIdentity
from mt_access.register import Register
from mt_access.store.memory import MemoryStore

D1 = dt.date(2026, 3, 2)
D2 = dt.date(2026, 3, 3)
IDENTITY = PatientIdentity(last_name="Testnom", first_name="Testprénom")


def memory_register(policy: mt_access.Policy, **changes: object) -> Register:
    """A register in memory under ``policy`` (with these attributes changed)."""
    return Register(MemoryStore(), attrs.evolve(policy, **changes) if changes else policy)


def add_waiting(
    register: Register, request: mt_access.Request, identity: PatientIdentity = IDENTITY
) -> None:
    """The request received and acknowledged on D1, confirmed and on the waiting list on D2."""
    register.add_request(request, identity)
    register.acknowledge(request.id, D1)
    register.confirm(request.id, D2)
    register.to_waiting(request.id, D2)


def join_gp(register: Register, pid: str, commune: str = VOIRON, capacity: int = 1) -> None:
    """A GP of ``commune`` who joined on D1 with ``capacity`` places a month, at the office."""
    register.add_physician(doc(pid, commune, capacity=None))
    register.join(pid, D1, monthly_capacity=capacity, modalities=[Modality.OFFICE])


def register_state(register: Register) -> tuple[object, ...]:
    """What a refused operation must leave unchanged: the store's version, its transitions and
    ledger entries, and the requests' listing."""
    store = register.store
    return (
        store.version,
        tuple(store.transitions()),
        tuple(store.ledger_entries()),
        tuple(register.list_requests()),
    )
