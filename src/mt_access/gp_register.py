"""The register of volunteer GPs: joining the scheme, capacity, suspension, withdrawal, follow-up.

A GP joins the scheme by declaring, as the charter asks, a monthly capacity, modalities (office,
home visits), the communes they accept patients from and free comments. Afterwards they may
change their capacity, suspend their participation until a date, resume it early, or withdraw
at any time without giving a reason.

Every operation is a pure function returning a *new* value; nothing is rewritten:

* the participation (active, suspended, withdrawn) is a new :class:`~mt_access.model.StatusChange`
  appended to :attr:`Physician.status_history <mt_access.model.Physician.status_history>`, so the
  engine, which calls :meth:`Physician.status_on <mt_access.model.Physician.status_on>` on the date
  it runs, sees the state in force on that date;
* the capacity is a :class:`~mt_access.ledger.CapacityDeclared` entry, returned for the caller
  to record in the :class:`~mt_access.ledger.CapacityLedger` (``ledger.record(entry)``); it is
  a monthly capacity, or a yearly one (``change_capacity(..., period="year")``, Québec's "150 new
  patients a year"), the ledger enforcing both (see :mod:`mt_access.ledger`); a capacity of
  ``None`` lifts the cap of its period (the way back from one period to the other).

A new status change may not be dated before the last one. On the same day, it is accepted only
when it sorts after the last one (``StatusChange`` histories are sorted by date, then status):
e.g. joining then suspending on the same day is fine, suspending then resuming on the same day
is not (resume the next day).

:func:`gp_follow_up` gives, per GP and per month, the patients proposed, accepted and refused
(from the requests' lifecycles) against the declared capacity and the persons placed (from the
ledger).

Errors are :class:`RegisterError`, in French, naming the physician id (never free text).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

import attrs

from mt_access.calendar import Month
from mt_access.controls import has_control
from mt_access.errors import RegisterError
from mt_access.ledger import CapacityDeclared, CapacityLedger, Period
from mt_access.lifecycle import Event, RequestFile
from mt_access.model import Modality, Physician, PhysicianStatus, StatusChange

__all__ = [
    "MAX_PHYSICIAN_ID",
    "GPMonth",
    "RegisterError",
    "change_capacity",
    "gp_follow_up",
    "identifier_problem",
    "join",
    "resume",
    "suspend",
    "withdraw",
]


# --- validation helpers

MAX_PHYSICIAN_ID = 64
"""Characters of a new GP's id (« Identifiant »), in the register, its files and its forms."""


def identifier_problem(identifier: str) -> str | None:
    """What is wrong with ``identifier`` as a new GP's id, in French (``None``: nothing).

    Checked by :meth:`mt_access.register.Register.add_physician` for every way a GP comes
    in (the command line, a GP file, the web form): an id is the address of the GP's page
    and a name in files, so it is 1 to :data:`MAX_PHYSICIAN_ID` characters, without a
    control character (NUL, escape sequences: invisible, and refused by PostgreSQL), without
    « / » or « \\ », and it is not « . » or « .. ». GPs already in a register are not
    checked again."""
    if not identifier.strip():
        return "identifiant vide"
    if len(identifier) > MAX_PHYSICIAN_ID:
        return f"{MAX_PHYSICIAN_ID} caractères au plus attendus, reçu {len(identifier)}"
    if has_control(identifier):
        return "caractère de contrôle (invisible) dans l'identifiant"
    if "/" in identifier or "\\" in identifier or identifier.strip() in (".", ".."):
        return (
            "« / » et « \\ » interdits, ainsi que « . » ou « .. » seuls (l'identifiant sert "
            "d'adresse à la page du médecin)"
        )
    return None


def _check_date(physician: Physician, value: object, what: str) -> dt.date:
    if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
        raise RegisterError(physician.id, f"{what} : date attendue, reçu {type(value).__name__}")
    return value


def _check_capacity(physician: Physician, value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise RegisterError(
            physician.id, f"capacité mensuelle invalide : {value!r} (entier >= 0 attendu)"
        )
    return value


def _check_communes(physician: Physician, communes: Iterable[str]) -> frozenset[str]:
    result = frozenset(communes)
    for code in sorted(result, key=str):
        if not (isinstance(code, str) and len(code) == 5 and code.isalnum()):
            raise RegisterError(
                physician.id, f"commune acceptée invalide : {code!r} (code INSEE à 5 caractères)"
            )
    return result


def _check_modalities(
    physician: Physician, modalities: Iterable[Modality | str]
) -> frozenset[Modality]:
    result: set[Modality] = set()
    for value in modalities:
        try:
            result.add(Modality(value))
        except ValueError:
            allowed = ", ".join(f"{m.value} ({m.label})" for m in Modality)
            raise RegisterError(
                physician.id, f"modalité inconnue : {value!r} (attendu : {allowed})"
            ) from None
    if not result:
        raise RegisterError(
            physician.id, "au moins une modalité attendue (en cabinet, visites à domicile)"
        )
    return frozenset(result)


def _append(physician: Physician, change: StatusChange) -> Physician:
    """``physician`` with ``change`` appended to its history, if it comes after the last one."""
    if physician.status_history:
        last = physician.status_history[-1]
        if change.on < last.on:
            raise RegisterError(
                physician.id,
                f"date {change.on:%d/%m/%Y} antérieure à la dernière modification de statut "
                f"({last.on:%d/%m/%Y}, {last.status.label}) : l'historique ne peut pas reculer",
            )
        if change.on == last.on and change < last:
            raise RegisterError(
                physician.id,
                f"une modification « {last.status.label} » est déjà enregistrée le "
                f"{last.on:%d/%m/%Y} : datez la nouvelle modification du lendemain",
            )
    return attrs.evolve(physician, status_history=(*physician.status_history, change))


# --- operations


def join(
    physician: Physician,
    on: dt.date,
    *,
    monthly_capacity: int,
    modalities: Iterable[Modality | str],
    accepted_communes: Iterable[str] = (),
    comment: str = "",
    period: Period = "month",
) -> tuple[Physician, CapacityDeclared]:
    """A GP joins the scheme on ``on`` by signing the charter.

    With ``period="year"``, ``monthly_capacity`` is a *yearly* capacity: the declaration is
    for the calendar year of ``on`` onwards, the physician's ``monthly_capacity`` is left unset
    (``None``) and no monthly cap applies (see :mod:`mt_access.ledger`).

    ``physician`` is a candidate (empty history) or a GP who withdrew earlier and comes back.
    The result is the physician, active from ``on`` and accepting new patients, with the
    declared modalities, communes and default capacity, and the capacity declaration, from the
    month of ``on``, to record in the ledger. ``comment`` goes to both the status change's note
    and the declaration's note.

    Raises:
        RegisterError: the GP already takes part in the scheme on ``on``, a date before the
            last status change, no or unknown modality, invalid capacity or commune code.
    """
    on = _check_date(physician, on, "date d'adhésion")
    capacity = _check_capacity(physician, monthly_capacity)
    if period not in ("month", "year"):
        raise RegisterError(
            physician.id, "période de capacité invalide (« month » ou « year » attendu)"
        )
    mods = _check_modalities(physician, modalities)
    communes = _check_communes(physician, accepted_communes)
    if physician.status_history:
        status = physician.status_on(on)
        if status is not PhysicianStatus.WITHDRAWN:
            raise RegisterError(
                physician.id,
                f"déjà inscrit dans le dispositif le {on:%d/%m/%Y} (statut : {status.label}) ; "
                "une nouvelle adhésion n'est possible qu'après un retrait",
            )
    if period == "year":
        declared = CapacityDeclared(
            physician.id, Month(on.year, 1), capacity, on, comment, period="year"
        )
    else:
        declared = CapacityDeclared(physician.id, Month.of(on), capacity, on, comment)
    joined = _append(
        attrs.evolve(
            physician,
            accepting_new_patients=True,
            monthly_capacity=capacity if period == "month" else None,
            modalities=mods,
            accepted_communes=communes,
        ),
        StatusChange(on, PhysicianStatus.ACTIVE, note=comment),
    )
    return joined, declared


def change_capacity(
    physician: Physician,
    month: Month,
    capacity: int | None,
    on: dt.date,
    note: str = "",
    *,
    period: Period = "month",
) -> CapacityDeclared:
    """The declaration, made on ``on``, that ``physician`` takes ``capacity`` persons a month
    from ``month`` onwards or, with ``period="year"``, ``capacity`` persons a calendar year from
    the year of ``month`` onwards; record it with ``ledger.record(entry)``.

    A suspended GP may change their capacity (for when they resume); a withdrawn one may not.
    ``month`` may not be before the month of ``on``: past months are not rewritten. A yearly
    capacity covers the whole calendar year, placements already counted in its earlier months
    included (its entry's month is January of that year); its year may not be before that of
    ``on``. ``capacity=None`` lifts the cap of the period from ``month`` (its year) on: the
    monthly cap, for a GP whose yearly capacity then suffices, or the yearly cap (see
    :mod:`mt_access.ledger`).

    Raises:
        RegisterError: the GP is withdrawn on ``on``, ``month`` (the year) is in the past,
            the capacity is not an integer ``>= 0`` or the period is unknown.
        LedgerError: the capacity is above its bound (``MAX_MONTHLY_CAPACITY`` a month,
            ``MAX_YEARLY_CAPACITY`` a year).
    """
    on = _check_date(physician, on, "date de la déclaration")
    if not isinstance(month, Month):
        raise RegisterError(physician.id, f"mois attendu (Month), reçu {type(month).__name__}")
    if capacity is not None:
        capacity = _check_capacity(physician, capacity)
    if physician.status_on(on) is PhysicianStatus.WITHDRAWN:
        raise RegisterError(
            physician.id,
            f"retiré du dispositif le {on:%d/%m/%Y} : sa capacité ne peut plus être modifiée "
            "(une nouvelle adhésion est nécessaire)",
        )
    if period == "year":
        if month.year < on.year:
            raise RegisterError(
                physician.id,
                f"l'année {month.year} est antérieure à la déclaration du {on:%d/%m/%Y} : "
                "la capacité d'une année passée ne peut pas être modifiée",
            )
        return CapacityDeclared(
            physician.id, Month(month.year, 1), capacity, on, note, period="year"
        )
    if period != "month":
        raise RegisterError(
            physician.id, "période de capacité invalide (« month » ou « year » attendu)"
        )
    if month < Month.of(on):
        raise RegisterError(
            physician.id,
            f"le mois {month} est antérieur à la déclaration du {on:%d/%m/%Y} : "
            "la capacité d'un mois passé ne peut pas être modifiée",
        )
    return CapacityDeclared(physician.id, month, capacity, on, note)


def suspend(physician: Physician, on: dt.date, until: dt.date | None, note: str = "") -> Physician:
    """``physician`` suspends their participation from ``on`` through ``until`` inclusive
    (active again the day after); ``until=None`` suspends until :func:`resume`.

    Suspending a GP already suspended replaces the current suspension from ``on`` (to extend
    or shorten it).

    Raises:
        RegisterError: the GP is withdrawn on ``on``, ``until`` is before ``on``, or ``on`` is
            before the last status change.
    """
    on = _check_date(physician, on, "date de suspension")
    if until is not None:
        until = _check_date(physician, until, "date de fin de suspension")
        if until < on:
            raise RegisterError(
                physician.id,
                f"la fin de suspension ({until:%d/%m/%Y}) précède son début ({on:%d/%m/%Y})",
            )
    if physician.status_on(on) is PhysicianStatus.WITHDRAWN:
        raise RegisterError(
            physician.id, f"retiré du dispositif le {on:%d/%m/%Y} : il ne peut pas être suspendu"
        )
    return _append(physician, StatusChange(on, PhysicianStatus.SUSPENDED, until, note))


def resume(physician: Physician, on: dt.date, note: str = "") -> Physician:
    """``physician``, suspended on ``on``, is active again from ``on`` (before the planned end
    of the suspension, or to end a suspension without end date).

    A withdrawn GP comes back with :func:`join` (a new charter), not with ``resume``.

    Raises:
        RegisterError: the GP is not suspended on ``on``, or ``on`` is before the last status
            change (or on the same day as the suspension).
    """
    on = _check_date(physician, on, "date de reprise")
    status = physician.status_on(on)
    if status is not PhysicianStatus.SUSPENDED:
        hint = (
            " ; un médecin retiré revient par une nouvelle adhésion"
            if status is PhysicianStatus.WITHDRAWN
            else ""
        )
        raise RegisterError(
            physician.id,
            f"n'est pas suspendu le {on:%d/%m/%Y} (statut : {status.label}){hint}",
        )
    return _append(physician, StatusChange(on, PhysicianStatus.ACTIVE, note=note))


def withdraw(physician: Physician, on: dt.date, note: str = "") -> Physician:
    """``physician`` leaves the scheme from ``on``; no reason is required (the charter allows
    withdrawal at any time). Active or suspended GPs may withdraw.

    Raises:
        RegisterError: the GP is already withdrawn on ``on``, or ``on`` is before the last
            status change.
    """
    on = _check_date(physician, on, "date de retrait")
    if physician.status_on(on) is PhysicianStatus.WITHDRAWN:
        raise RegisterError(physician.id, f"déjà retiré du dispositif le {on:%d/%m/%Y}")
    return _append(physician, StatusChange(on, PhysicianStatus.WITHDRAWN, note=note))


# --- follow-up


@attrs.frozen
class GPMonth:
    """One GP's activity in one month.

    Attributes:
        physician_id: the GP.
        month: the month.
        declared_capacity: the monthly capacity in force that month: the ledger's latest
            monthly declaration for a month ``<=`` it, else the physician's
            ``monthly_capacity``; ``None`` when nothing was declared, or when the GP has no
            monthly cap because a yearly capacity is in force (see ``yearly_capacity``).
        proposed: requests proposed to the GP (``propose`` events dated in the month).
        accepted: requests the GP accepted (``accept`` events dated in the month).
        refused: requests the GP refused (``refuse`` events dated in the month).
        placed_persons: persons of the GP's active ledger placements counted in the month.
        accepted_persons: persons the GP accepted in the month (a household's persons may be
            split between GPs: only those proposed to this GP count).
        yearly_capacity: the yearly capacity in force in the month's calendar year (``None``:
            no yearly cap).
        placed_in_year: persons of the GP's active ledger placements counted in the month's
            calendar year (all its months), to set against ``yearly_capacity`` (0 without a
            yearly capacity).
    """

    physician_id: str
    month: Month
    declared_capacity: int | None
    proposed: int
    accepted: int
    refused: int
    placed_persons: int
    accepted_persons: int = 0
    yearly_capacity: int | None = None
    placed_in_year: int = 0


_COUNTED = (Event.PROPOSE, Event.ACCEPT, Event.REFUSE)


def _declared(ledger: CapacityLedger, ids: frozenset[str]) -> dict[str, list[CapacityDeclared]]:
    """The monthly declarations of each physician of ``ids``, sorted by month, in recording
    order within a month (so the last one of a month wins). Yearly ones are left out: they are
    read from the ledger (``yearly_capacity``)."""
    found: dict[str, list[CapacityDeclared]] = {}
    for entry in ledger.entries:
        if (
            isinstance(entry, CapacityDeclared)
            and entry.period == "month"
            and entry.physician_id in ids
        ):
            found.setdefault(entry.physician_id, []).append(entry)
    for entries in found.values():
        entries.sort(key=lambda e: e.month)  # stable: recording order kept within a month
    return found


def gp_follow_up(
    files: Iterable[RequestFile],
    ledger: CapacityLedger,
    physicians: Sequence[Physician],
    months: Sequence[Month],
) -> list[GPMonth]:
    """Per GP and per month: patients proposed, accepted and refused, against the declared
    capacity and the persons placed.

    Events are counted in the month of their date; events of physicians not in
    ``physicians`` and months not in ``months`` are ignored. The rows are sorted by physician
    id, then month (duplicate months are counted once).

    Raises:
        RegisterError: two physicians share an id.
    """
    by_id: dict[str, Physician] = {}
    for physician in physicians:
        if physician.id in by_id:
            raise RegisterError(physician.id, "présent plusieurs fois dans la liste des médecins")
        by_id[physician.id] = physician
    wanted = sorted(set(months))
    wanted_set = frozenset(wanted)
    counts: dict[tuple[str, Month, Event], int] = {}
    persons: dict[tuple[str, Month], int] = {}
    for file in files:
        for transition in file.history:
            pid = transition.physician_id
            if transition.event not in _COUNTED or pid is None or pid not in by_id:
                continue
            month = Month.of(transition.on)
            if month in wanted_set:
                key = (pid, month, transition.event)
                counts[key] = counts.get(key, 0) + 1
                if transition.event is Event.ACCEPT:
                    persons[pid, month] = persons.get((pid, month), 0) + (
                        len(transition.persons) or file.persons
                    )
    declared = _declared(ledger, frozenset(by_id))
    rows: list[GPMonth] = []
    for pid in sorted(by_id):
        for month in wanted:
            capacity: int | None = None
            for entry in declared.get(pid, ()):
                if entry.month > month:
                    break
                capacity = entry.capacity  # None: the monthly cap lifted
            yearly = ledger.yearly_capacity(pid, month.year)
            if capacity is None and yearly is None:
                capacity = by_id[pid].monthly_capacity
            rows.append(
                GPMonth(
                    physician_id=pid,
                    month=month,
                    declared_capacity=capacity,
                    proposed=counts.get((pid, month, Event.PROPOSE), 0),
                    accepted=counts.get((pid, month, Event.ACCEPT), 0),
                    refused=counts.get((pid, month, Event.REFUSE), 0),
                    placed_persons=ledger.used(pid, month),
                    accepted_persons=persons.get((pid, month), 0),
                    yearly_capacity=yearly,
                    placed_in_year=0 if yearly is None else ledger.used_in_year(pid, month.year),
                )
            )
    return rows
