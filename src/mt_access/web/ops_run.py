"""The month's run from the browser and the letters (blueprint ``run``).

* ``/appariement``: the preview of a run today (:meth:`Register.preview_match`, the function
  ``mt-access apparier --apercu`` uses: nothing recorded), the register's data version seen
  (:meth:`~mt_access.store.base.Store.data_version`: requests, GPs, ledger, runs; not the
  audit trail, so a display elsewhere meanwhile does not make the preview stale) carried by
  the form « enregistrer »;
* ``/appariement/enregistrer``: the run recorded (:meth:`Register.run_match`, as
  ``mt-access apparier``), only if the register did not change since the preview, else
  « le registre a changé depuis l'aperçu » and nothing is recorded;
* ``/appariement/<n>``: a run and its letters to preview and to download (Markdown, PDF when
  WeasyPrint is installed): for a run recorded from here, those of
  :func:`mt_access.letters.letters_for_run` (as ``apparier --courriers``); for a run recorded
  elsewhere (the command line), those :func:`mt_access.letters.sending.letters_of_run`
  rebuilds from the register (as ``mt-access envoyer`` sends them);
* ``/demandes/<id>/courriers``: a request's letters (as ``mt-access demande courrier``).

What a run decided that its letters need (its proposals, orientations and resources
involved: ids, GPs, distances, never a patient's data) is kept in a store setting
``webops.appariement.<n>`` recorded with the run.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import attrs
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_wtf import FlaskForm
from wtforms import HiddenField
from wtforms.validators import InputRequired

from mt_access import letters
from mt_access.cli.match_command import _not_examined
from mt_access.cli.places import places_by_physician
from mt_access.errors import MtAccessError, RegisterOperationError
from mt_access.letters import Letter, LetterError, LetterKind
from mt_access.letters.sending import letters_of_run, run_letter_targets, run_target_letter
from mt_access.register import MatchRun, Register
from mt_access.result import AttachedResource, MatchResult, Orientation, OrientedPhysician
from mt_access.store.base import RunRecord
from mt_access.web import context
from mt_access.web.auth import DISPLAYED, audit, has_role, requires
from mt_access.web.ops_support import forget_cached, letter_body, letter_download

__all__ = [
    "RUN_SETTING",
    "STALE_RUN",
    "RunLetter",
    "blueprint",
    "request_letter",
    "run_letter_at",
    "run_letter_list",
    "run_letters",
]

STALE_RUN = (
    "Le registre a changé depuis l'aperçu (une demande, un médecin ou le journal a été modifié "
    "entre-temps) : rien n'a été enregistré. Voici le nouvel aperçu ; vérifiez-le puis "
    "enregistrez de nouveau."
)
"""« le registre a changé depuis l'aperçu »: a run recorded from a stale preview, refused."""

RUN_SETTING = "webops.appariement."
"""The prefix of the store settings keeping what a run's letters need."""

FORMATS = ("md", "pdf")
"""The letters' download formats."""

blueprint = Blueprint("run", __name__)


class RunForm(FlaskForm):  # type: ignore[misc]
    """« Enregistrer l'appariement »: the register's data version the preview saw."""

    version = HiddenField(validators=[InputRequired(message="Aperçu incomplet : rechargez-le.")])


def _pdf_problem() -> str | None:
    """Why PDF letters cannot be made here (French), or ``None``."""
    from mt_access.letters.pdf import require_weasyprint

    try:
        require_weasyprint()
    except LetterError as exc:
        return str(exc)
    return None


# ------------------------------------------------------------------------------------------
# Preview and record


@blueprint.route("/appariement")
@requires("lecture")
def preview() -> ResponseReturnValue:
    register = context.register()
    on = context.today()
    version = register.store.data_version()
    routed, late = register.to_route(on)
    examined = sorted([r.id for r in routed] + late)
    result = register.preview_match(on)
    names = {p.id: p.name for p in register.physicians()}
    places = places_by_physician(register, on)
    load = result.load_by_physician()
    gp_rows = [
        (pid, names.get(pid, pid), places[pid].left, load.get(pid, 0))
        for pid in sorted(places)
        if places[pid].left or load.get(pid)
    ]
    return render_template(
        "ops/run_preview.html",
        on=on,
        result=result,
        examined=len(examined),
        late=late,
        not_examined=_not_examined(register, set(examined)),
        names=names,
        gp_rows=gp_rows,
        runs=list(reversed(register.runs()))[:12],
        kept={
            k.removeprefix(RUN_SETTING)
            for k in register.store.settings()
            if k.startswith(RUN_SETTING)
        },
        form=RunForm(formdata=None, version=str(version)),
        can_act=has_role("coordinateur"),
    )


@blueprint.route("/appariement/enregistrer", methods=["POST"])
@requires("coordinateur")
def record() -> ResponseReturnValue:
    form = RunForm()
    if not form.validate():
        flash(STALE_RUN, "erreur")
        return redirect(url_for("run.preview"), 303)
    register = context.register()
    store = register.store
    on = context.today()
    try:
        with store.transaction():
            if store.data_version() != str(form.version.data):
                raise _Stale
            run = register.run_match(on)
            store.put_setting(f"{RUN_SETTING}{run.record.number}", _keep(run, on))
            audit(
                "appariement.enregistrer",
                f"appariement-{run.record.number}",
                f"{len(run.proposed)} proposition(s), {len(run.oriented)} orientation(s), "
                f"{len(run.result.waiting)} en attente, {len(run.out_of_scope)} hors dispositif",
            )
    except _Stale:
        flash(STALE_RUN, "erreur")
        return redirect(url_for("run.preview"), 303)
    except MtAccessError as exc:
        flash(f"Appariement non enregistré : {exc}", "erreur")
        return redirect(url_for("run.preview"), 303)
    forget_cached()
    flash(f"Appariement n° {run.record.number} enregistré.", "succes")
    return redirect(url_for("run.run_page", number=run.record.number), 303)


class _Stale(Exception):
    """The register changed since the preview."""


# ------------------------------------------------------------------------------------------
# What a run's letters need, kept with the run


def _keep(run: MatchRun, on: dt.date) -> str:
    """JSON of what :func:`mt_access.letters.letters_for_run` reads of a run (ids, GPs,
    distances, resources: no patient data)."""
    result = run.result
    return json.dumps(
        {
            "on": on.isoformat(),
            "proposed": [list(pair) for pair in run.proposed],
            "orientations": [attrs.asdict(o) for o in result.orientations],
            "attached": [
                attrs.asdict(a, value_serializer=_dates) for a in result.attached_resources
            ],
        },
        ensure_ascii=False,
    )


def _dates(_inst: Any, _field: Any, value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date) else value


def _kept(register: Register, number: int) -> dict[str, Any] | None:
    text = register.store.settings().get(f"{RUN_SETTING}{number}")
    if not text:
        return None
    found: dict[str, Any] = json.loads(text)
    return found


def _orientation(data: dict[str, Any]) -> Orientation:
    physicians = tuple(OrientedPhysician(**p) for p in data.pop("physicians"))
    return Orientation(
        **{**data, "physicians": physicians, "resources": tuple(data.get("resources", ()))}
    )


def _attached(data: dict[str, Any]) -> AttachedResource:
    day = dt.date.fromisoformat
    return AttachedResource(
        **{
            **data,
            "involved_on": day(data["involved_on"]),
            "until": day(data["until"]) if data.get("until") else None,
            "criteria": tuple(data.get("criteria", ())),
        }
    )


def _run_of(register: Register, record: RunRecord, kept: dict[str, Any]) -> MatchRun:
    result = MatchResult(
        on=record.on,
        month=record.month,
        policy_code=record.policy_code,
        orientations=tuple(_orientation(dict(o)) for o in kept["orientations"]),
        attached_resources=tuple(_attached(dict(a)) for a in kept["attached"]),
    )
    proposed = tuple((str(r), str(p)) for r, p in kept["proposed"])
    return MatchRun(
        result=result,
        record=record,
        proposed=proposed,
        oriented=tuple(sorted(o.request_id for o in result.orientations)),
        out_of_scope=(),
    )


def _recorded(register: Register, number: int) -> tuple[MatchRun, dt.date] | None:
    """Run ``number`` as its letters need it, and their date; ``None`` when the run is
    unknown or its letters were not kept."""
    record = next((r for r in register.runs() if r.number == number), None)
    kept = _kept(register, number) if record is not None else None
    if record is None or kept is None:
        return None
    return _run_of(register, record, kept), dt.date.fromisoformat(kept["on"])


@attrs.frozen
class RunLetter:
    """One letter of a run, before it is written: its kind, request and GP."""

    kind: LetterKind
    request_id: str
    physician_id: str | None = None


def run_letter_list(run: MatchRun) -> list[RunLetter]:
    """The letters of ``run`` in the order of :func:`mt_access.letters.letters_for_run`:
    a referral file per proposal, an orientation letter per orientation, a resources letter
    per request a resource is involved for the first time without an orientation."""
    result = run.result
    found = [RunLetter(LetterKind.REFERRAL, rid, pid) for rid, pid in run.proposed]
    found += [RunLetter(LetterKind.ORIENTATION, o.request_id) for o in result.orientations]
    oriented = {o.request_id for o in result.orientations}
    found += [
        RunLetter(LetterKind.RESOURCES, rid)
        for rid in sorted(
            {
                a.request_id
                for a in result.attached_resources
                if a.first_time and a.status != "instead" and a.request_id not in oriented
            }
        )
    ]
    return found


def run_letter_at(register: Register, run: MatchRun, on: dt.date, index: int) -> Letter:
    """The ``index``-th letter of ``run`` (:func:`run_letter_list`), written by
    :func:`mt_access.letters.letters_for_run` on the part of the run it is about (the others
    are not written).

    Raises:
        IndexError: no such letter.
        LetterError: the request's personal data was erased since the run, or a template
            fails.
    """
    wanted = run_letter_list(run)[index]
    result = run.result
    attached = tuple(a for a in result.attached_resources if a.request_id == wanted.request_id)
    if wanted.kind is LetterKind.REFERRAL:
        pair = (wanted.request_id, str(wanted.physician_id))
        part = attrs.evolve(
            run,
            proposed=(pair,),
            result=attrs.evolve(result, orientations=(), attached_resources=()),
        )
    else:
        orientations = tuple(o for o in result.orientations if o.request_id == wanted.request_id)
        if wanted.kind is LetterKind.RESOURCES:
            orientations = ()
        part = attrs.evolve(
            run,
            proposed=(),
            result=attrs.evolve(result, orientations=orientations, attached_resources=attached),
        )
    return letters.letters_for_run(register, part, on)[0]


def _elsewhere(register: Register, record: RunRecord) -> list[RunLetter]:
    """The letters of a run recorded elsewhere (the command line), found in the register as
    :func:`mt_access.letters.sending.letters_of_run` finds them (kept until the register's
    data changes: it reads every request's history)."""
    found: list[tuple[LetterKind, str, str | None]] = context.by_data(
        f"run-letters:{record.number}", lambda: run_letter_targets(register, record.number)[1]
    )
    return [RunLetter(kind, rid, pid) for kind, rid, pid in found]


def _run_letters_of(register: Register, number: int) -> tuple[RunRecord, list[RunLetter]] | None:
    """Run ``number`` and its letters, wherever it was recorded; ``None`` when unknown."""
    record = next((r for r in register.runs() if r.number == number), None)
    if record is None:
        return None
    found = _recorded(register, number)
    if found is not None:
        return record, run_letter_list(found[0])
    return record, _elsewhere(register, record)


def run_letters(register: Register, number: int) -> tuple[RunRecord, list[Letter]] | None:
    """Every letter of run ``number``: for a run recorded from the web pages, as ``apparier
    --courriers`` writes them; for a run recorded elsewhere (the command line), as
    :func:`mt_access.letters.sending.letters_of_run` rebuilds them (those that can no longer
    be written left out); ``None`` when the run is unknown.

    Raises:
        LetterError: a request's personal data was erased since the run (a run recorded
            from the web pages), or a template fails.
    """
    found = _recorded(register, number)
    if found is None:
        record = next((r for r in register.runs() if r.number == number), None)
        if record is None:
            return None
        return record, letters_of_run(register, number)[0]
    run, on = found
    return run.record, letters.letters_for_run(register, run, on)


@blueprint.route("/appariement/<int:number>")
@requires("lecture")
def run_page(number: int) -> ResponseReturnValue:
    register = context.register()
    listed = _run_letters_of(register, number)
    if listed is None:
        abort(404)
    record, found = listed
    return render_template(
        "ops/run_page.html",
        record=record,
        letters=list(enumerate(found)),
        kept=_kept(register, number) is not None,
        pdf_problem=_pdf_problem(),
    )


def _run_letter(number: int, index: int) -> Letter:
    """The ``index``-th letter of run ``number`` (404 when there is none).

    Raises:
        LetterError: the request's personal data was erased since the run, or a template
            fails.
        RegisterOperationError: (a run recorded elsewhere) the request is no longer proposed
            to the GP.
    """
    register = context.register()
    found = _recorded(register, number)
    if found is not None:
        if not 0 <= index < len(run_letter_list(found[0])):
            abort(404)
        return run_letter_at(register, found[0], found[1], index)
    listed = _run_letters_of(register, number)
    if listed is None or not 0 <= index < len(listed[1]):
        abort(404)
    record, wanted = listed[0], listed[1][index]
    target = (wanted.kind, wanted.request_id, wanted.physician_id)
    return run_target_letter(register, target, record.on)


@blueprint.route("/appariement/<int:number>/courriers/<int:index>")
@requires("lecture")
def run_letter(number: int, index: int) -> ResponseReturnValue:
    back = url_for("run.run_page", number=number)
    try:
        letter = _run_letter(number, index)
    except (LetterError, RegisterOperationError) as exc:
        flash(f"Courrier non disponible : {exc}", "erreur")
        return redirect(back, 303)
    audit("courrier.afficher", letter.request_id, letter.kind.value, durable=DISPLAYED)
    downloads = {
        fmt: url_for("run.run_letter_file", number=number, index=index, fmt=fmt) for fmt in FORMATS
    }
    return render_template(
        "ops/letter.html",
        letter=letter,
        body=letter_body(letter),
        downloads=downloads,
        back=back,
        back_label=f"Retour à l'appariement n° {number}",
        pdf_problem=_pdf_problem(),
    )


@blueprint.route("/appariement/<int:number>/courriers/<int:index>.<fmt>")
@requires("lecture")
def run_letter_file(number: int, index: int, fmt: str) -> ResponseReturnValue:
    if fmt not in FORMATS:
        abort(404)
    back = url_for("run.run_page", number=number)
    try:
        letter = _run_letter(number, index)
    except (LetterError, RegisterOperationError) as exc:
        flash(f"Courrier non disponible : {exc}", "erreur")
        return redirect(back, 303)
    return letter_download(lambda: letter, fmt, back, letter.request_id)


# ------------------------------------------------------------------------------------------
# A request's letters

KINDS: dict[str, str] = {
    "accuse-patient": "Accusé de réception au patient",
    "accuse-adresseur": "Accusé de réception à l'adresseur",
    "retour-adresseur": "Retour à l'adresseur",
    "orientation": "Courrier d'orientation",
    "ressources": "Ressources sollicitées (au patient)",
    "dossier-medecin": "Dossier qualifié pour le médecin",
}
"""The letters of a request, by the name ``mt-access demande courrier --type`` gives them."""


def request_letter(register: Register, rid: str, kind: str, gp: str | None, on: dt.date) -> Letter:
    """The letter ``kind`` of request ``rid`` (as ``mt-access demande courrier``).

    Raises:
        LetterError: the letter cannot be made for this request (French reason).
        RegisterOperationError: unknown request or GP, or not proposed to this GP.
    """
    makers: dict[str, Callable[[], Letter]] = {
        "accuse-patient": lambda: letters.acknowledgement(register, rid, on, to="patient"),
        "accuse-adresseur": lambda: letters.acknowledgement(register, rid, on, to="referrer"),
        "retour-adresseur": lambda: letters.feedback_letter(register, rid, on),
        "orientation": lambda: letters.orientation_letter(register, rid, on),
        "ressources": lambda: letters.resources_letter(register, rid, on),
    }
    if kind == "dossier-medecin":
        if not gp:
            raise LetterError("le dossier pour un médecin demande le médecin")
        return letters.referral_letter(register, rid, gp, on)
    return makers[kind]()


def _request_gps(register: Register, rid: str) -> list[str]:
    file = register.file(rid)
    return sorted(set(file.proposed_to) | set(file.physicians_found.values()))


@blueprint.route("/demandes/<rid>/courriers")
@requires("lecture")
def request_letters(rid: str) -> ResponseReturnValue:
    register = context.register()
    if register.store.get_file(rid) is None:
        abort(404)
    on = context.today()
    names = {p.id: p.name for p in register.physicians()}
    rows: list[tuple[str, str | None, str, str | None]] = []
    wanted: list[tuple[str, str | None]] = [(k, None) for k in KINDS if k != "dossier-medecin"]
    wanted += [("dossier-medecin", gp) for gp in _request_gps(register, rid)]
    for kind, gp in wanted:
        label = KINDS[kind] + (f" : {names.get(gp, gp)} ({gp})" if gp else "")
        try:
            request_letter(register, rid, kind, gp, on)
            rows.append((kind, gp, label, None))
        except MtAccessError as exc:
            rows.append((kind, gp, label, str(exc)))
    return render_template(
        "ops/request_letters.html", rid=rid, rows=rows, formats=FORMATS, pdf_problem=_pdf_problem()
    )


def _request_letter_or_back(rid: str, kind: str) -> Letter | ResponseReturnValue:
    register = context.register()
    if kind not in KINDS or register.store.get_file(rid) is None:
        abort(404)
    gp = request.args.get("medecin") or None
    try:
        return request_letter(register, rid, kind, gp, context.today())
    except MtAccessError as exc:
        flash(f"Courrier non disponible : {exc}", "erreur")
        return redirect(url_for("run.request_letters", rid=rid), 303)


@blueprint.route("/demandes/<rid>/courriers/<kind>")
@requires("lecture")
def request_letter_page(rid: str, kind: str) -> ResponseReturnValue:
    made = _request_letter_or_back(rid, kind)
    if not isinstance(made, Letter):
        return made
    audit("courrier.afficher", rid, made.kind.value, durable=DISPLAYED)
    gp = request.args.get("medecin") or None
    downloads = {
        fmt: url_for("run.request_letter_file", rid=rid, kind=kind, fmt=fmt, medecin=gp)
        for fmt in FORMATS
    }
    return render_template(
        "ops/letter.html",
        letter=made,
        body=letter_body(made),
        downloads=downloads,
        back=url_for("run.request_letters", rid=rid),
        back_label=f"Retour aux courriers de la demande {rid}",
        pdf_problem=_pdf_problem(),
    )


@blueprint.route("/demandes/<rid>/courriers/<kind>.<fmt>")
@requires("lecture")
def request_letter_file(rid: str, kind: str, fmt: str) -> ResponseReturnValue:
    if fmt not in FORMATS:
        abort(404)
    made = _request_letter_or_back(rid, kind)
    if not isinstance(made, Letter):
        return made
    back = url_for("run.request_letters", rid=rid)
    return letter_download(lambda: made, fmt, back, rid)
