"""Command line ``mt-access`` (French messages).

Exit codes: 0 success, 1 invalid input (policy, data), 2 wrong usage of the command.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TextIO

from mt_access.calendar import Month
from mt_access.errors import MtAccessError
from mt_access.examples import example_month
from mt_access.geo.communes import CommuneReference
from mt_access.geo.names import normalize_name
from mt_access.ledger import CapacityLedger
from mt_access.loading import available_policies, load_policy
from mt_access.model import Physician
from mt_access.policy import Policy
from mt_access.result import MatchResult, Placement, format_km

__all__ = ["main", "render_summary"]

EXIT_OK = 0
EXIT_INVALID_INPUT = 1
EXIT_USAGE = 2


def _commune_name(reference: CommuneReference | None, insee: str) -> str:
    if reference is not None and insee in reference:
        return reference.get(insee).name
    return insee


def render_summary(
    result: MatchResult,
    policy: Policy,
    physicians: Sequence[Physician],
    *,
    total_requests: int,
) -> str:
    """A readable French summary of a match run: placements with their reasons, orientations,
    waiting and rejected requests, and the capacity used per physician."""
    ref = policy.reference
    names = {p.id: p for p in physicians}
    lines: list[str] = []
    add = lines.append
    add(f"{policy.name} : appariement du {result.on:%d/%m/%Y} (mois {result.month})")
    add("=" * len(lines[0]))
    placed_persons = sum(p.persons for p in result.placements)
    placed_requests = len({p.request_id for p in result.placements})
    add(
        f"{total_requests} demandes examinées : {placed_requests} attribuée(s) "
        f"({placed_persons} personne(s)), {len(result.orientations)} orientée(s), "
        f"{len({w.request_id for w in result.waiting})} en attente, "
        f"{len(result.rejected)} hors dispositif."
    )
    add("")
    if result.placements:
        add("Demandes attribuées à un médecin")
        add("--------------------------------")
        by_request: dict[str, list[Placement]] = {}
        for p in sorted(result.placements, key=lambda p: (p.rank, p.request_id, p.distance_km)):
            by_request.setdefault(p.request_id, []).append(p)
        for rid, group in by_request.items():
            who = ", ".join(f"{names[p.physician_id].name} ({p.persons} pers.)" for p in group)
            add(f"- {rid} → {who}")
            for p in group:
                add(f"    {p.explanation}")
        add("")
    if result.orientations:
        add("Demandes orientées (liste remise au demandeur)")
        add("----------------------------------------------")
        for o in result.orientations:
            docs = ", ".join(
                f"{d.name} ({_commune_name(ref, d.commune)}, {format_km(d.distance_km)})"
                for d in o.physicians
            )
            add(f"- {o.request_id} [{o.level}] : {o.explanation}")
            if docs:
                add(f"    Médecins : {docs}")
            if o.resources:
                add(f"    Ressources : {' ; '.join(o.resources)}")
        add("")
    if result.waiting:
        add("Demandes en attente")
        add("-------------------")
        for w in sorted(result.waiting, key=lambda w: (w.rank, w.request_id)):
            extra = f" ({w.detail})" if w.detail else ""
            add(f"- {w.request_id} [{w.level}, {w.persons} pers.] : {w.label}{extra}")
        add("")
    if result.rejected:
        add("Demandes hors dispositif")
        add("------------------------")
        for r in result.rejected:
            extra = f" ({r.detail})" if r.detail else ""
            add(f"- {r.request_id} : {r.label}{extra}")
        add("")
    load = result.load_by_physician()
    if load:
        add("Places attribuées par médecin ce mois-ci")
        add("----------------------------------------")
        for pid, n in load.items():
            doc = names[pid]
            add(
                f"- {doc.name} ({_commune_name(ref, doc.commune)}) : {n} / capacité déclarée "
                f"{policy.monthly_capacity_of(doc)}"
            )
    return "\n".join(lines).rstrip() + "\n"


def _cmd_demo(args: argparse.Namespace, out: TextIO) -> int:
    policy = load_policy(args.politique)
    assert policy.reference is not None
    month = Month.parse(args.mois)
    data = example_month(
        policy, policy.reference, month=month, requests=args.demandes, seed=args.graine
    )
    from mt_access.engine import match

    result = match(data.requests, data.physicians, policy, CapacityLedger(), data.on)
    out.write(
        "Données d'exemple générées (aucun patient réel) : "
        f"{len(data.requests)} demandes, {len(data.physicians)} médecins.\n\n"
    )
    out.write(render_summary(result, policy, data.physicians, total_requests=len(data.requests)))
    return EXIT_OK


def _cmd_policy(args: argparse.Namespace, out: TextIO) -> int:
    if args.action == "lister":
        for name, path in available_policies().items():
            out.write(f"{name}\t{path}\n")
        return EXIT_OK
    policy = load_policy(args.fichier)
    if args.action == "verifier":
        out.write(
            f"{policy.source} : politique valide ({policy.name}, {len(policy.territory)} communes, "
            f"{len(policy.levels)} niveau(x) de priorité).\n"
        )
        privacy = policy.raw.get("privacy")
        if not isinstance(privacy, dict) or "pseudonym_key" not in privacy:
            out.write(
                "attention : privacy.pseudonym_key n'est pas renseignée ; les pseudonymes des "
                "listes partagées sont calculés avec le code de la CPTS, que chacun connaît. "
                "Renseignez une clé secrète pour les listes et exports partagés.\n"
            )
        return EXIT_OK
    out.write(f"{policy.name} ({policy.code}, département {policy.department})\n")
    out.write(f"Territoire : {len(policy.territory)} communes\n")
    ref = policy.reference
    names = sorted((_commune_name(ref, c) for c in policy.territory), key=normalize_name)
    out.write("  " + ", ".join(names) + "\n")
    for level in policy.levels:
        joined = " ou " if level.match == "any" else " et "
        out.write(
            f"Niveau {level.rank} « {level.name} » : "
            f"{joined.join(c.label for c in level.criteria)}\n"
        )
    out.write(f"Niveau {policy.non_priority_rank} « {policy.non_priority_level} » : les autres\n")
    for crit in policy.exclusions:
        out.write(f"Exclusion : {crit.label}\n")
    for label, rule in (
        ("prioritaires", policy.routing_priority),
        ("non prioritaires", policy.routing_non_priority),
        *((f"niveau {k}", v) for k, v in policy.routing_by_level.items()),
    ):
        dist = f", distance max {format_km(rule.max_distance_km)}" if rule.max_distance_km else ""
        out.write(f"Orientation des {label} : {rule.router.label}{dist}\n")
    for res in policy.resources:
        out.write(f"Ressource : {res.describe()}\n")
    order = {"received": "ancienneté de la demande", "urgent": "urgence", "age": "âge du patient"}
    out.write(
        "Ordre dans un niveau : "
        + ", puis ".join(order[k] for k in policy.ordering_keys)
        + f", puis {'pseudonyme' if policy.tie_break == 'pseudonym' else 'identifiant'}\n"
    )
    default = (
        "tout le territoire"
        if policy.default_accepted_communes == "territory"
        else "sa commune d'exercice"
    )
    out.write(f"Médecin sans communes déclarées : accepte {default}\n")
    out.write(
        f"Capacité mensuelle par défaut : {policy.default_monthly_capacity} ; report des places "
        f"non utilisées : {'oui' if policy.carry_over else 'non'}\n"
    )
    out.write(
        "Foyers : "
        + (
            "placés ensemble chez un même médecin"
            if policy.keep_households_together
            else "chaque personne peut être placée séparément"
        )
        + "\n"
    )
    out.write(f"Tentatives de contact avant sortie : {policy.max_contact_attempts}\n")
    return EXIT_OK


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mt-access",
        description="Accès au médecin traitant : demandes, capacités des médecins, appariement.",
        epilog="Codes de sortie : 0 succès, 1 données ou politique invalides, "
        "2 mauvaise utilisation.",
    )
    sub = parser.add_subparsers(dest="command", metavar="commande")
    sub.required = True
    demo = sub.add_parser(
        "demo",
        help="appariement d'un mois d'exemple (données générées)",
        description="Génère un mois de demandes et de médecins fictifs, lance l'appariement et "
        "affiche le résultat.",
    )
    demo.add_argument("--politique", default="voironnais", help="nom ou fichier YAML (voironnais)")
    demo.add_argument("--mois", default="2026-03", help="mois AAAA-MM (2026-03)")
    demo.add_argument("--demandes", type=int, default=60, help="nombre de demandes (60)")
    demo.add_argument("--graine", type=int, default=2026, help="graine aléatoire (2026)")
    demo.set_defaults(func=_cmd_demo)

    pol = sub.add_parser(
        "politique",
        aliases=["policy"],
        help="vérifier, afficher ou lister les politiques",
        description="Vérifie ou affiche une politique (nom livré ou fichier YAML).",
    )
    pol.add_argument(
        "action",
        choices=["verifier", "afficher", "lister", "check", "show", "list"],
        help="verifier|afficher|lister",
    )
    pol.add_argument("fichier", nargs="?", default="voironnais", help="nom ou fichier YAML")
    pol.set_defaults(func=_cmd_policy)
    return parser


_ALIASES = {"check": "verifier", "show": "afficher", "list": "lister"}


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Entry point of ``mt-access``; returns the exit code."""
    out = out or sys.stdout
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0) and EXIT_USAGE
    if getattr(args, "action", None) in _ALIASES:
        args.action = _ALIASES[args.action]
    try:
        code: int = args.func(args, out)
    except MtAccessError as exc:
        sys.stderr.write(f"erreur : {exc}\n")
        return EXIT_INVALID_INPUT
    except ValueError as exc:
        sys.stderr.write(f"erreur : {exc}\n")
        return EXIT_INVALID_INPUT
    return code


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
