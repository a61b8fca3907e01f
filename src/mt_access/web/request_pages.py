"""A request's page and its lifecycle actions (blueprint ``pages``).

Each action is a POST form with its CSRF token and ``etape``, the number of events of the
request the page showed: if the request changed since (another coordinator, a GP, a match
run), the action is refused with « cette demande a changé depuis » and nothing is recorded.
The check, the register operation (the same as the command line's) and the audit line run in
one store transaction: all are recorded, or none.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from flask import abort, flash, g, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_wtf import FlaskForm

from mt_access.cli.request_commands import EXITS
from mt_access.errors import IndicatorsError, MtAccessError
from mt_access.indicators.position import waiting_position
from mt_access.lifecycle import RequestFile
from mt_access.questions import format_answer
from mt_access.register import Register
from mt_access.web import context, htmx
from mt_access.web.auth import DISPLAYED, audit, has_role, requires
from mt_access.web.forms import (
    COMMENT_HINT,
    ActionForm,
    CancelProposalForm,
    CloseForm,
    ConfirmForm,
    ContactForm,
    EraseForm,
    ProposeForm,
    choices,
)
from mt_access.web.pages import blueprint, commune_name
from mt_access.web.request_answers import (
    BOUND_FORM,
    FORM_ERRORS,
    MORE_ACTIONS,
    fill_choices,
    page_context,
)
from mt_access.web.request_common import STALE_MESSAGE, action_message, request_step
from mt_access.web.request_qualify import qualify_form
from mt_access.web.waiting_cache import kept_waiting_list

__all__ = ["ACTIONS", "STALE_MESSAGE", "action_message", "request_step"]

Action = Callable[[Register, str, Any], object]


def _confirm(register: Register, rid: str, form: Any) -> object:
    on = context.today()
    file = register.confirm(rid, on, form.commentaire.data or "")
    if form.sans_attente.data:
        return file
    return register.to_waiting(rid, on, form.commentaire.data or "")


def _close(register: Register, rid: str, form: Any) -> object:
    exit_of = EXITS[str(form.motif.data)]
    return exit_of(register, rid, context.today(), form.commentaire.data or "", None)


ACTIONS: Mapping[str, tuple[type[ActionForm], Action, str]] = {
    "accuser": (
        ActionForm,
        lambda r, rid, f: r.acknowledge(rid, context.today(), f.commentaire.data or ""),
        "Accusé de réception enregistré.",
    ),
    "confirmer": (ConfirmForm, _confirm, "Confirmation enregistrée."),
    "contact": (
        ContactForm,
        lambda r, rid, f: r.record_contact(
            rid, context.today(), f.resultat.data == "joint", f.commentaire.data or ""
        ),
        "Tentative de contact enregistrée.",
    ),
    "proposer": (
        ProposeForm,
        lambda r, rid, f: r.propose(
            rid, str(f.medecin.data), context.today(), f.commentaire.data or ""
        ),
        "Proposition au médecin enregistrée.",
    ),
    "annuler-proposition": (
        CancelProposalForm,
        lambda r, rid, f: r.cancel_proposal(
            rid, str(f.medecin.data), context.today(), str(f.commentaire.data)
        ),
        "Proposition annulée ; la demande revient en liste d'attente.",
    ),
    "cloturer": (CloseForm, _close, "Sortie du dispositif enregistrée."),
    "effacer": (
        EraseForm,
        lambda r, rid, f: r.erase(rid, context.today()),
        "Données personnelles effacées.",
    ),
}
"""Each action: its form, the register operation (as the command line does it), the French
message on success. Its audit line is ``demande.<action>``."""


def _forms(register: Register, rid: str, file: RequestFile) -> dict[str, FlaskForm]:
    """Blank forms of the actions, with the choices of this request."""
    on = context.today()
    step = request_step(file)
    forms: dict[str, FlaskForm] = {}
    for name, (form_class, _, _) in ACTIONS.items():
        form = form_class(formdata=None, etape=step)
        forms[name] = form
    physicians = context.physicians()
    names = {p.id: p.name for p in physicians}
    available = [
        (p.id, f"{p.name} ({p.id})")
        for p in physicians
        if p.is_available_on(on) and p.id not in file.proposed_to
        and p.id not in file.declined_by
    ]  # fmt: skip
    forms["proposer"].medecin.choices = choices(available)
    forms["annuler-proposition"].medecin.choices = choices(
        (pid, f"{names.get(pid, pid)} ({pid})") for pid in sorted(file.proposed_to)
    )
    return forms


def _render(
    rid: str, bound: tuple[str, FlaskForm] | None = None, status: int = 200
) -> ResponseReturnValue:
    register = context.register()
    policy = register.policy
    file = register.file(rid)
    req = register.request(rid)
    identity = register.identity(rid)
    erased = register.store.erased_on(rid)
    template = htmx.page_or_fragment("request.html", "partials/request_live.html")
    if template == "request.html":  # the fragment after an htmx action shows no identity
        audit("identite.afficher", rid, durable=DISPLAYED)
    forms = _forms(register, rid, file)
    if bound is not None:
        name, form = bound
        choices = getattr(forms[name], "medecin", None)
        if choices is not None:
            form.medecin.choices = choices.choices
        forms[name] = form
    answers = [
        (q.label, format_answer(q, req.answers[q.id]))
        for q in policy.questions
        if q.id in req.answers
    ]
    names = {p.id: p.name for p in context.physicians()}
    return render_template(
        template,
        **page_context(register, rid, file, req),
        rid=rid,
        req=req,
        identity=identity,
        erased=erased,
        file=file,
        history=file.history,
        answers=answers,
        names=names,
        forms=forms,
        commune=commune_name(policy, req.patient.commune),
        can_act=has_role("coordinateur"),
        comment_hint=COMMENT_HINT,
    ), status


@blueprint.route("/demandes/<rid>")
@requires("lecture")
def request_page(rid: str) -> ResponseReturnValue:
    if context.store().get_file(rid) is None:
        abort(404)
    return _render(rid)


@blueprint.route("/demandes/<rid>/position")
@requires("lecture")
def request_position(rid: str) -> ResponseReturnValue:
    """The request's position in the waiting list and its estimated wait: a page of its own.
    The waiting list is read and ranked once, then shared by every request's position and
    brought up to date with the requests changed since (:func:`kept_waiting_list`)."""
    register = context.register()
    file = register.store.get_file(rid)
    if file is None:
        abort(404)
    position = None
    problem = None
    if file.is_exited:
        problem = "La demande est sortie du dispositif : elle n'a plus de position."
    else:
        try:
            on = context.today()
            prepared = kept_waiting_list(register, on)
            position = waiting_position(register, rid, on, prepared=prepared)
        except IndicatorsError as exc:
            problem = str(exc)
    return render_template("position.html", rid=rid, position=position, problem=problem)


@blueprint.route("/demandes/<rid>/<action>", methods=["POST"])
@requires("coordinateur")
def request_action(rid: str, action: str) -> ResponseReturnValue:
    if action not in ACTIONS:
        abort(404)
    register = context.register()
    store = register.store
    file = store.get_file(rid)
    if file is None:
        abort(404)
    form_class, operation, done = ACTIONS[action]
    form = form_class()
    blank = _forms(register, rid, file)[action]
    if hasattr(form, "medecin"):
        form.medecin.choices = blank.medecin.choices
    if not form.validate():
        # a page older than the request: its choices (the GPs to propose to, the proposals
        # to cancel) may be gone because of that change, which is what the user must hear
        if "etape" in form.errors or str(form.etape.data) != request_step(file):
            flash(STALE_MESSAGE, "erreur")
            return redirect(url_for("pages.request_page", rid=rid), 303)
        flash("Le formulaire contient des erreurs : voir les messages sous les champs.", "erreur")
        return _render(rid, (action, form), 400)
    if action == "effacer" and str(form.confirmation.data).strip() != rid:
        form.confirmation.errors.append(
            "L'identifiant recopié n'est pas celui de cette demande : rien n'a été effacé."
        )
        return _render(rid, (action, form), 400)
    try:
        with store.transaction():
            current = store.get_file(rid)
            if current is None or request_step(current) != str(form.etape.data):
                raise _Stale
            operation(register, rid, form)
            audit(f"demande.{action}", rid, _detail(action, form))
    except _Stale:
        flash(STALE_MESSAGE, "erreur")
        return redirect(url_for("pages.request_page", rid=rid), 303)
    except MtAccessError as exc:
        flash(action_message(exc), "erreur")
        return redirect(url_for("pages.request_page", rid=rid), 303)
    context.forget_cached()
    flash(done, "succes")
    return redirect(url_for("pages.request_page", rid=rid), 303)


def _detail(action: str, form: Any) -> str:
    """The audit line's detail: the GP, the result or the reason; never the comment."""
    if action in ("proposer", "annuler-proposition"):
        return f"médecin {form.medecin.data}"
    if action == "contact":
        return str(form.resultat.data)
    if action == "cloturer":
        return str(form.motif.data)
    return ""


class _Stale(Exception):
    """The request changed since the page was shown."""


# ------------------------------------------------------------------------------------------
# The actions of mt_access.web.request_answers (a GP's answer, qualification, households...)


def _failed(rid: str, name: str, form: FlaskForm) -> ResponseReturnValue:
    g.setdefault(BOUND_FORM, (name, form))
    return _render(rid, None, 400)


@blueprint.route("/demandes/<rid>/reponse-medecin", methods=["POST"])
@requires("coordinateur")
def request_gp_answer(rid: str) -> ResponseReturnValue:
    return _act(rid, "reponse-medecin")


@blueprint.route("/demandes/<rid>/ressource", methods=["POST"])
@requires("coordinateur")
def request_resource_answer(rid: str) -> ResponseReturnValue:
    return _act(rid, "ressource")


@blueprint.route("/demandes/<rid>/attente", methods=["POST"])
@requires("coordinateur")
def request_to_waiting(rid: str) -> ResponseReturnValue:
    return _act(rid, "attente")


@blueprint.route("/demandes/<rid>/proposer-personnes", methods=["POST"])
@requires("coordinateur")
def request_propose_persons(rid: str) -> ResponseReturnValue:
    return _act(rid, "proposer-personnes")


@blueprint.route("/demandes/<rid>/sortie-personnes", methods=["POST"])
@requires("coordinateur")
def request_close_persons(rid: str) -> ResponseReturnValue:
    return _act(rid, "sortie-personnes")


@blueprint.route("/demandes/<rid>/qualifier", methods=["POST"])
@requires("coordinateur")
def request_qualify(rid: str) -> ResponseReturnValue:
    return _act(rid, "qualifier")


def _act(rid: str, name: str) -> ResponseReturnValue:
    register = context.register()
    store = register.store
    file = store.get_file(rid)
    if file is None:
        abort(404)
    req = register.request(rid)
    _, operation, detail = MORE_ACTIONS[name]
    if name == "qualifier":
        form: Any = qualify_form(register.policy, req, None)
    else:
        form = MORE_ACTIONS[name][0]()
        fill_choices(name, form, register, file, req)
    back = redirect(url_for("pages.request_page", rid=rid), 303)
    if str(form.etape.data or "") != request_step(file):  # before the choices of a changed page
        flash(STALE_MESSAGE, "erreur")
        return back
    if not form.validate():
        flash(FORM_ERRORS, "erreur")
        return _failed(rid, name, form)
    try:
        with store.transaction():
            current = store.get_file(rid)
            if current is None or request_step(current) != str(form.etape.data):
                raise _Stale
            done = operation(register, rid, form)
            audit(f"demande.{name}", rid, detail(form))
    except _Stale:
        flash(STALE_MESSAGE, "erreur")
        return back
    except MtAccessError as exc:
        form.form_errors.append(action_message(exc))
        flash("Rien n'a été enregistré : voir le message du formulaire.", "erreur")
        return _failed(rid, name, form)
    context.forget_cached()
    flash(done, "succes")
    return back
