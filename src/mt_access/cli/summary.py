"""A match run shown to the coordinator, in French: tables of placements, orientations,
waiting and rejected requests, and the places used per GP."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from mt_access.calendar import Month
from mt_access.cli.common import table
from mt_access.cli.places import MonthPlaces
from mt_access.errors import MtAccessError
from mt_access.model import Physician
from mt_access.policy import Policy
from mt_access.result import MatchResult, ReasonCode, Waiting, format_km

if TYPE_CHECKING:
    from mt_access.register import MatchRun

__all__ = ["month_label", "render_run", "render_summary"]


def _title(lines: list[str], text: str) -> None:
    lines.extend(("", text, "-" * len(text)))


def month_label(month: str) -> str:
    """A month ``AAAA-MM`` in French words (``mars 2026``)."""
    try:
        return Month.parse(month).label
    except (ValueError, MtAccessError):
        return month


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n <= 1 else many}"


def _categories(
    result: MatchResult, examined: Sequence[str], skipped: Sequence[str]
) -> dict[str, list[str]]:
    """Each examined request in exactly one category, by the outcome the run gave it."""
    placed = {p.request_id for p in result.placements}
    waiting = {w.request_id for w in result.waiting}
    oriented = {o.request_id for o in result.orientations}
    rejected = {r.request_id for r in result.rejected}
    left_out = set(skipped)
    found: dict[str, list[str]] = {key: [] for key in _CATEGORY_ORDER}
    for rid in examined:
        if rid in left_out:
            key = "skipped"
        elif rid in placed:
            key = "partly" if rid in waiting else "placed"
        elif rid in waiting:
            key = "waiting"
        elif rid in oriented:
            key = "oriented"
        elif rid in rejected:
            key = "rejected"
        else:
            key = "undecided"
        found[key].append(rid)
    return found


_CATEGORY_ORDER = ("placed", "partly", "oriented", "waiting", "rejected", "skipped", "undecided")


def render_run(
    result: MatchResult,
    policy: Policy,
    physicians: Sequence[Physician],
    *,
    total_requests: int,
    run: MatchRun | None = None,
    details: bool = False,
    capacity_of: Callable[[Physician], int] | None = None,
    examined: Sequence[str] | None = None,
    skipped: Sequence[str] = (),
    not_examined: Sequence[tuple[str, int]] = (),
    places_before: Mapping[str, MonthPlaces] | None = None,
    places_after: Mapping[str, MonthPlaces] | None = None,
) -> str:
    """A readable French summary of a match run: a table per outcome and the places of each
    physician; with ``details``, each placement's and orientation's explanation.

    Every request of ``examined`` (the waiting list when the run started, in any order) is
    counted in exactly one category of the first line: attributed, partly attributed,
    oriented, still waiting, out of scope, or left out (``skipped``, or the run's
    :attr:`~mt_access.register.MatchRun.skipped`: its last event is dated after the run),
    and the ones left out are listed with their reason. Without ``examined``, the requests
    the result names are counted, and those of ``total_requests`` it does not name are
    counted « sans décision ».
    ``not_examined`` gives ``(French reason, count)`` of the requests outside the waiting
    list (not confirmed yet, already proposed...), shown on a line of their own.

    The table of places shows, for each physician, ``places_before`` (used before the run
    and left; :mod:`mt_access.cli.places`), the persons this run attributed, and the places
    left after it: ``places_after`` when given (a committed run, read back from the ledger),
    else those before minus the run's. Without ``places_before``, the table shows the run's
    persons and ``capacity_of`` (a physician's capacity for the run's month; the policy's
    :meth:`~mt_access.Policy.monthly_capacity_of` by default)."""
    names = {p.id: p for p in physicians}
    lines: list[str] = []
    add = lines.append
    number = f" n° {run.record.number}" if run is not None else ""
    head = (
        f"{policy.name} : appariement{number} du {result.on:%d/%m/%Y} "
        f"(mois de {month_label(result.month)})"
    )
    add(head)
    add("=" * len(head))
    left_out = tuple(skipped) or (run.skipped if run is not None else ())
    if examined is None:
        named = {p.request_id for p in result.placements}
        named |= {w.request_id for w in result.waiting}
        named |= {o.request_id for o in result.orientations}
        named |= {r.request_id for r in result.rejected}
        examined = sorted(named | set(left_out))
    found = _categories(result, examined, left_out)
    # requests the caller counted but no outcome names (given by number only): undecided
    unnamed = max(total_requests - len(examined), 0)
    placed_persons = sum(p.persons for p in result.placements)
    parts = [
        f"{len(found['placed'])} attribuée(s) ({_plural(placed_persons, 'personne', 'personnes')})"
    ]
    if found["partly"]:
        parts.append(f"{len(found['partly'])} attribuée(s) en partie")
    parts += [
        f"{len(found['oriented'])} orientée(s)",
        f"{len(found['waiting'])} en attente",
        f"{len(found['rejected'])} hors dispositif",
    ]
    if found["skipped"]:
        parts.append(f"{len(found['skipped'])} laissée(s) de côté")
    if found["undecided"] or unnamed:
        parts.append(f"{len(found['undecided']) + unnamed} sans décision")
    total = len(examined) + unnamed
    add(f"{total} demande(s) en liste d'attente examinée(s) : {', '.join(parts)}.")
    if not_examined:
        listed = " ; ".join(f"{n} {reason}" for reason, n in not_examined if n)
        if listed:
            add(f"Non examinées (pas en liste d'attente) : {listed}.")
    if found["skipped"]:
        _title(lines, "Demandes laissées de côté")
        reason = (
            f"dernier événement daté après le {result.on:%d/%m/%Y} : elle sera examinée par "
            "un appariement à une date postérieure"
        )
        add(table(("demande", "raison"), [(rid, reason) for rid in sorted(found["skipped"])],
                  max_width=110))  # fmt: skip
    if found["undecided"]:
        _title(lines, "Demandes sans décision")
        add(table(("demande", "raison"),
                  [(rid, "l'appariement ne l'a pas traitée") for rid in found["undecided"]],
                  max_width=90))  # fmt: skip
    if result.placements:
        _title(lines, "Demandes attribuées à un médecin")
        rows: list[tuple[Any, ...]] = []
        for p in sorted(result.placements, key=lambda p: (p.rank, p.request_id, p.distance_km)):
            doc = names[p.physician_id]
            rows.append(
                (
                    p.request_id,
                    p.level,
                    p.persons,
                    f"{doc.name} ({doc.id})",
                    policy.commune_name(doc.commune),
                    format_km(p.distance_km),
                )
            )
        add(table(("demande", "niveau", "pers.", "médecin", "commune", "distance"), rows,
                  right=(2, 5)))  # fmt: skip
        if details:
            add("")
            for p in result.placements:
                add(f"- {p.request_id} : {p.explanation}")
    if result.orientations:
        _title(lines, "Demandes orientées (liste remise au demandeur)")
        rows = []
        for o in result.orientations:
            docs = ", ".join(
                f"{d.name} ({policy.commune_name(d.commune)}, {format_km(d.distance_km)}"
                + ("" if d.places_left is None else f", {d.places_left} place(s)")
                + ")"
                for d in o.physicians
            )
            rows.append((o.request_id, o.level, docs or "aucun médecin", len(o.resources)))
        add(table(("demande", "niveau", "médecins de la liste", "ressources"), rows,
                  max_width=90, right=(3,)))  # fmt: skip
        if details:
            add("")
            for o in result.orientations:
                add(f"- {o.request_id} : {o.explanation}")
                if o.resources:
                    add(f"    Ressources : {' ; '.join(o.resources)}")
    if result.waiting:
        _title(lines, "Demandes en attente")
        rows = [
            (w.request_id, w.level, w.persons, _waiting_reason(w))
            for w in sorted(result.waiting, key=lambda w: (w.rank, w.request_id))
        ]
        add(table(("demande", "niveau", "pers.", "raison"), rows, max_width=90, right=(2,)))
    if result.attached_resources:
        _title(lines, "Ressources sollicitées (conditions de la politique remplies)")
        modes = {"alongside": "en complément", "instead": "à la place", "before": "avant"}
        rows = [
            (
                a.request_id,
                a.name,
                modes.get(a.mode, a.mode),
                a.status_label
                + (f" (jusqu'au {a.until:%d/%m/%Y})" if a.until and a.status == "awaiting" else ""),
            )
            for a in result.attached_resources
        ]
        add(table(("demande", "ressource", "mode", "état"), rows, max_width=90))
    if result.rejected:
        _title(lines, "Demandes hors dispositif")
        rows = [
            (r.request_id, r.label + (f" ({r.detail})" if r.detail else ""))
            for r in result.rejected
        ]
        add(table(("demande", "raison"), rows, max_width=90))
    load = result.load_by_physician()
    if places_before is not None:
        _places_table(lines, policy, names, load, places_before, places_after, result)
    elif load:
        capacity = capacity_of or policy.monthly_capacity_of
        _title(lines, "Places attribuées par médecin ce mois-ci")
        rows = []
        for pid, n in load.items():
            doc = names[pid]
            rows.append(
                (
                    f"{doc.name} ({doc.id})",
                    policy.commune_name(doc.commune),
                    n,
                    capacity(doc),
                )
            )
        add(table(("médecin", "commune", "attribuées", "capacité du mois"), rows,
                  right=(2, 3)))  # fmt: skip
    return "\n".join(lines).rstrip() + "\n"


def _waiting_reason(w: Waiting) -> str:
    """The reason a request waits, with its detail; a request held by a ``before`` resource
    shows the detail alone (« en attente de la réponse de : DAC (jusqu'au 12/03/2026) »)."""
    if w.reason is ReasonCode.AWAITING_RESOURCE and w.detail:
        return w.detail
    return w.label + (f" ({w.detail})" if w.detail else "")


def render_summary(
    result: MatchResult,
    policy: Policy,
    physicians: Sequence[Physician],
    *,
    total_requests: int,
) -> str:
    """:func:`render_run` with every explanation (kept for callers of earlier versions)."""
    return render_run(result, policy, physicians, total_requests=total_requests, details=True)


def _places_table(
    lines: list[str],
    policy: Policy,
    names: Mapping[str, Physician],
    load: Mapping[str, int],
    before: Mapping[str, MonthPlaces],
    after: Mapping[str, MonthPlaces] | None,
    result: MatchResult,
) -> None:
    rows: list[tuple[Any, ...]] = []
    for pid in sorted(before):
        places = before[pid]
        n = load.get(pid, 0)
        then = after.get(pid, places.after(n)) if after is not None else places.after(n)
        if not (n or places.used or places.left or then.left):
            continue
        doc = names[pid]
        rows.append(
            (
                f"{doc.name} ({doc.id})",
                policy.commune_name(doc.commune),
                places.capacity_text,
                places.used,
                n,
                then.left,
            )
        )
    if not rows:
        return
    _title(lines, f"Places du mois {month_label(result.month)} par médecin (en personnes)")
    lines.append(
        table(
            ("médecin", "commune", "capacité", "prises avant", "attribuées", "restantes"),
            rows,
            right=(2, 3, 4, 5),
            max_width=60,
        )
    )
