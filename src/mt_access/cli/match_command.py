"""The command ``apparier``: a match run over the register, previewed or committed."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from mt_access.calendar import Month
from mt_access.cli.common import (
    EXIT_OK,
    EXIT_STORE,
    CommandError,
    Console,
    day_of,
    open_register,
)
from mt_access.cli.errors import describe
from mt_access.cli.places import places_by_physician
from mt_access.cli.summary import render_run
from mt_access.errors import MtAccessError
from mt_access.lifecycle import (
    RequestState,
)
from mt_access.model import Physician
from mt_access.register import MatchRun, Register
from mt_access.result import MatchResult

__all__ = ["month_capacity"]


def month_capacity(register: Register, month: Month) -> Callable[[Physician], int]:
    """A physician's capacity in ``month`` as the register's ledger records it: the monthly
    cap in force; for a GP with a yearly capacity and no monthly cap, what the year allows
    this month (places held plus places left, as :class:`~mt_access.cli.places.MonthPlaces`)."""
    ledger = register.ledger
    policy = register.policy

    def capacity(physician: Physician) -> int:
        default = policy.monthly_capacity_of(physician)
        cap = ledger.monthly_cap(physician.id, month, default=default)
        if cap is not None:
            return cap
        left = ledger.remaining(physician.id, month, default=default, carry_over=policy.carry_over)
        return ledger.used(physician.id, month) + left

    return capacity


def _not_examined(register: Register, routed: set[str]) -> list[tuple[str, int]]:
    """``(French reason, count)`` of the requests in progress a run does not route."""
    reasons = (
        (RequestState.RECEIVED, "reçue(s) sans accusé de réception"),
        (RequestState.ACKNOWLEDGED, "à confirmer par le patient"),
        (RequestState.CONFIRMED, "confirmée(s) pas encore inscrite(s) en liste d'attente"),
        (RequestState.PROPOSED, "déjà proposée(s) à un médecin (réponse attendue)"),
    )
    counts = {
        state: sum(1 for s in register.list_requests(state) if s.id not in routed)
        for state, _ in reasons
    }
    return [(reason, counts[state]) for state, reason in reasons if counts[state]]


def _letter_formats(given: str) -> tuple[str, ...]:
    """The formats of ``--format-courriers`` (checked before the run; PDF needs WeasyPrint)."""
    from mt_access.letters import FORMATS

    formats = tuple(dict.fromkeys(p.strip().lower() for p in given.split(",") if p.strip()))
    unknown = [f for f in formats if f not in FORMATS]
    if not formats or unknown:
        raise CommandError(
            f"--format-courriers : format inconnu ou absent « {', '.join(unknown) or given} » "
            f"(formats : {', '.join(FORMATS)}, séparés par des virgules)"
        )
    if "pdf" in formats:
        from mt_access.letters.pdf import require_weasyprint

        require_weasyprint()
    return formats


def cmd_match(args: argparse.Namespace, console: Console) -> int:
    formats = _letter_formats(args.format_courriers) if args.courriers else ()
    if args.courriers and Path(args.courriers).exists() and not Path(args.courriers).is_dir():
        raise CommandError(
            f"--courriers : {args.courriers} est un fichier, pas un dossier ; rien n'est "
            "enregistré",
            EXIT_STORE,
        )
    with open_register(args, readonly=args.apercu) as register:
        on = day_of(args)
        routed, late = register.to_route(on)
        examined = sorted([r.id for r in routed] + late)
        before = places_by_physician(register, on)
        not_examined = _not_examined(register, set(examined))

        def show(result: MatchResult, run: MatchRun | None = None) -> str:
            return render_run(
                result,
                register.policy,
                register.physicians(),
                total_requests=len(examined),
                run=run,
                examined=examined,
                skipped=late,
                not_examined=not_examined,
                places_before=before,
                places_after=None if run is None else places_by_physician(register, on),
            )

        if args.apercu:
            console.say("Aperçu : rien n'est enregistré.")
            preview = register.preview_match(on)
            console.say(show(preview))
            _pull_hint(preview, console)
            return EXIT_OK
        run = register.run_match(on)
        console.say(show(run.result, run))
        _pull_hint(run.result, console)
        if args.courriers:
            from mt_access.letters import letters_for_run, write_letters

            try:
                letters = letters_for_run(register, run, on)
                written = write_letters(letters, args.courriers, formats=formats)
            except (MtAccessError, OSError) as exc:
                raise CommandError(
                    f"l'appariement n° {run.record.number} est enregistré, mais les courriers "
                    f"n'ont pas pu être écrits ({describe(exc, [args.courriers])[0]}) ; "
                    "écrivez-les avec « mt-access demande "
                    "courrier »",
                    EXIT_STORE,
                ) from exc
            console.say(
                f"{len(letters)} courrier(s) écrit(s) dans {args.courriers} "
                f"({len(written)} fichiers : {', '.join(formats)})."
            )
    return EXIT_OK


def _pull_hint(result: MatchResult, console: Console) -> None:
    """For a policy with lists shared with GPs: how many GPs get one, and the command that
    writes them."""
    if not result.pull_lists:
        return
    gps = len({x.physician_id for x in result.pull_lists})
    console.say(
        f"Listes partagées : {gps} médecin(s) en reçoivent une ; écrivez-les avec « mt-access "
        "listes --dossier DOSSIER » et enregistrez chaque choix avec « mt-access demande "
        "choisir MEDECIN PSEUDONYME »."
    )
