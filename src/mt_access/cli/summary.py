"""A match run shown to the coordinator, in French: tables of placements, orientations,
waiting and rejected requests, and the places used per GP."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from mt_access.cli.common import table
from mt_access.model import Physician
from mt_access.policy import Policy
from mt_access.result import MatchResult, format_km

if TYPE_CHECKING:
    from mt_access.register import MatchRun

__all__ = ["render_run", "render_summary"]


def _title(lines: list[str], text: str) -> None:
    lines.extend(("", text, "-" * len(text)))


def render_run(
    result: MatchResult,
    policy: Policy,
    physicians: Sequence[Physician],
    *,
    total_requests: int,
    run: MatchRun | None = None,
    details: bool = False,
    capacity_of: Callable[[Physician], int] | None = None,
) -> str:
    """A readable French summary of a match run: a table per outcome and the capacity used
    per physician; with ``details``, each placement's and orientation's explanation.

    ``capacity_of`` gives a physician's capacity for the run's month (a register's ledger
    knows the declarations); the policy's :meth:`~mt_access.Policy.monthly_capacity_of` by
    default."""
    capacity = capacity_of or policy.monthly_capacity_of
    names = {p.id: p for p in physicians}
    lines: list[str] = []
    add = lines.append
    number = f" n° {run.record.number}" if run is not None else ""
    head = f"{policy.name} : appariement{number} du {result.on:%d/%m/%Y} (mois {result.month})"
    add(head)
    add("=" * len(head))
    placed_persons = sum(p.persons for p in result.placements)
    placed_requests = len({p.request_id for p in result.placements})
    add(
        f"{total_requests} demande(s) examinée(s) : {placed_requests} attribuée(s) "
        f"({placed_persons} personne(s)), {len(result.orientations)} orientée(s), "
        f"{len({w.request_id for w in result.waiting})} en attente, "
        f"{len(result.rejected)} hors dispositif."
    )
    if run is not None and run.skipped:
        add(
            f"{len(run.skipped)} demande(s) laissée(s) de côté : leur dernier événement est "
            f"daté après l'appariement ({', '.join(run.skipped)})."
        )
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
                f"{d.name} ({policy.commune_name(d.commune)}, {format_km(d.distance_km)})"
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
            (w.request_id, w.level, w.persons, w.label + (f" ({w.detail})" if w.detail else ""))
            for w in sorted(result.waiting, key=lambda w: (w.rank, w.request_id))
        ]
        add(table(("demande", "niveau", "pers.", "raison"), rows, max_width=90, right=(2,)))
    if result.rejected:
        _title(lines, "Demandes hors dispositif")
        rows = [
            (r.request_id, r.label + (f" ({r.detail})" if r.detail else ""))
            for r in result.rejected
        ]
        add(table(("demande", "raison"), rows, max_width=90))
    load = result.load_by_physician()
    if load:
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


def render_summary(
    result: MatchResult,
    policy: Policy,
    physicians: Sequence[Physician],
    *,
    total_requests: int,
) -> str:
    """:func:`render_run` with every explanation (kept for callers of earlier versions)."""
    return render_run(result, policy, physicians, total_requests=total_requests, details=True)
