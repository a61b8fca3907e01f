"""The GP portal (blueprint ``portal``): a GP's page at their personal link.

A GP has no account: their link ``/medecin/<jeton>`` (:mod:`mt_access.web.portal_links`) is
their key. It opens one page, theirs, and its two actions; it sets no coordinator session
(the session cookie holds at most the CSRF token of the forms and the page's messages), and
every audit line of these pages is written by ``gp:<id>``.

* Their pending proposals (from a match run, by hand, or picked from their list), each with
  accept or refuse and a reason: the same :meth:`~mt_access.register.Register.answer` as
  ``mt-access medecin repondre``. The form carries the request's step: a page that no longer
  matches the request gets « cette demande a changé depuis » and nothing is recorded.
* Before acceptance a proposal shows only the policy's ``privacy.referral_fields``
  (:meth:`~mt_access.register.Register.referral`); a patient they accepted (in the last
  :data:`ACCEPTED_SHOWN_DAYS` days) shows the identity and contact needed to call them
  (:meth:`~mt_access.register.Register.accepted_referral`). Each display of an identity is
  audited (``identite.afficher``).
* In pull mode, their pseudonymised list (:meth:`~mt_access.register.Register.pull_lists`,
  kept by the process: :mod:`mt_access.web.portal_pull`; its first
  :data:`~mt_access.web.portal_pull.SHOWN` entries) with a « choisir » button per entry
  (:meth:`~mt_access.register.Register.choose`, the policy's ``pick_limit``), and their
  places left.
* An expired, revoked or forged link gets a plain French page (410 or 403) and an audit line
  (without the token); past :data:`BAD_LINK_LIMIT` bad links from one address in
  :data:`BAD_LINK_WINDOW`, further ones get 429 and are no longer written.
"""

from __future__ import annotations

import collections
import datetime as dt
import threading
from collections.abc import Callable
from typing import Any

import attrs
from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_wtf import FlaskForm
from flask_wtf.csrf import generate_csrf
from wtforms import HiddenField, RadioField, TextAreaField
from wtforms.meta import DefaultMeta
from wtforms.validators import InputRequired, Length, Optional

from mt_access.cli.registry_base import french_dates
from mt_access.errors import IllegalTransitionError, LinkRefused, MtAccessError
from mt_access.lifecycle import Actor, Event, RequestFile
from mt_access.pull_lists import list_columns, list_rows
from mt_access.register import Register
from mt_access.store.base import PersonalRecord
from mt_access.web import context
from mt_access.web.auth import DISPLAYED, audit
from mt_access.web.forms import choices, refuse_control_characters
from mt_access.web.gp_places import gp_places
from mt_access.web.portal_links import LinkClaim, RefusalReason, read_token
from mt_access.web.portal_pull import SHOWN, gp_list, kept_index
from mt_access.web.request_common import request_step

__all__ = [
    "ACCEPTED_SHOWN_DAYS",
    "BAD_LINK_LIMIT",
    "BAD_LINK_WINDOW",
    "INVALID_LINK",
    "STALE_ANSWER",
    "PortalAnswerForm",
    "PortalForm",
    "PortalPickForm",
    "blueprint",
]

ACCEPTED_SHOWN_DAYS = 60
"""Days a patient the GP accepted stays on their page (with the contact to call them)."""

BAD_LINK_LIMIT = 20
"""Bad links from one address, at most, in :data:`BAD_LINK_WINDOW` before 429."""

BAD_LINK_WINDOW = dt.timedelta(minutes=10)

MAX_TOKEN_LENGTH = 400
"""A longer token is refused before it is read."""

INVALID_LINK = "Ce lien n'est plus valable ; demandez-en un nouveau à la coordination de la CPTS."
"""« ce lien n'est plus valable »: an expired, revoked or forged link."""

STALE_ANSWER = (
    "Cette demande a changé depuis l'affichage de la page (réponse déjà enregistrée, "
    "proposition annulée par la coordination...) : rien n'a été enregistré. Voici la page à "
    "jour."
)
"""« cette demande a changé depuis »: an answer from a page older than the request."""

IDENTITY_FIELDS = frozenset(
    {"last_name", "first_name", "birth_name", "phone", "email", "address", "birth_date"}
)
"""Fields whose display is a display of the patient's identity (audited)."""

ANSWER_CHOICES: tuple[tuple[str, str], ...] = (
    ("accepte", "J'accepte ce patient"),
    ("refuse", "Je refuse"),
)
"""The GP's answers to a proposal (value, label)."""

MOTIF_LABEL = "Motif (facultatif)"
MOTIF_MAX = 500
"""The longest reason a GP may give with an answer."""

blueprint = Blueprint("portal", __name__)


class PortalForm(FlaskForm):  # type: ignore[misc]
    """A form of the portal's pages: WTForms' own messages (« N'est pas un choix valide. »)
    in French."""

    class Meta:
        locales = ("fr_FR", "fr")

        def get_translations(self, form: Any) -> Any:
            # WTForms' own catalogue, whether Flask-WTF's Babel hook is on or not
            return DefaultMeta.get_translations(self, form)

    def validate(self, extra_validators: Any = None) -> bool:
        valid = bool(super().validate(extra_validators))
        return refuse_control_characters(self) and valid  # a NUL or escape in the reason


class PortalAnswerForm(PortalForm):
    """A GP's answer to one proposal."""

    demande = HiddenField(validators=[InputRequired(), Length(max=60)])
    etape = HiddenField(validators=[InputRequired(message="Page incomplète : rechargez-la.")])
    reponse = RadioField(
        "Votre réponse",
        choices=choices(ANSWER_CHOICES),
        validators=[InputRequired(message="Choisissez « J'accepte » ou « Je refuse ».")],
    )
    motif = TextAreaField(
        MOTIF_LABEL,
        validators=[
            Optional(),
            Length(max=MOTIF_MAX, message=f"{MOTIF_MAX} caractères au plus."),
        ],
    )


class PortalPickForm(PortalForm):
    """A GP's pick from their shared list."""

    pseudonyme = HiddenField(validators=[InputRequired(), Length(max=100)])


@attrs.frozen
class Proposal:
    """A pending proposal as the GP's page shows it."""

    request_id: str
    proposed_on: dt.date
    picked: bool
    persons: int
    fields: tuple[tuple[str, str], ...]
    step: str
    """The request's step when the page was made (:func:`request_step`), sent back with the
    answer (:class:`PortalAnswerForm`)."""


@attrs.frozen
class Accepted:
    """A patient the GP accepted, with the contact to call them."""

    request_id: str
    accepted_on: dt.date
    fields: tuple[tuple[str, str], ...]


# ------------------------------------------------------------------------------------------
# The link


class _BadLinks:
    """Bad links by client address, in memory (a light brake on guessing)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: dict[str, collections.deque[dt.datetime]] = {}

    def over_limit(self, address: str, now: dt.datetime) -> bool:
        """Count one more bad link from ``address``; whether it is past the limit."""
        with self._lock:
            if len(self._seen) > 10_000:
                self._seen.clear()
            seen = self._seen.setdefault(address, collections.deque())
            while seen and now - seen[0] > BAD_LINK_WINDOW:
                seen.popleft()
            seen.append(now)
            return len(seen) > BAD_LINK_LIMIT


def _bad_links() -> _BadLinks:
    found = current_app.extensions.get("mt_access_portal_bad_links")
    if found is None:
        found = current_app.extensions.setdefault("mt_access_portal_bad_links", _BadLinks())
    assert isinstance(found, _BadLinks)
    return found


def _claim(token: str) -> LinkClaim | ResponseReturnValue:
    """The GP of the link, or the page refusing it."""
    secret = current_app.config["SECRET_KEY"]
    try:
        if len(token) > MAX_TOKEN_LENGTH:
            raise LinkRefused(RefusalReason.FORGED)
        claim = read_token(secret, token, context.store(), clock=context.settings().clock)
    except LinkRefused as refused:
        return _refused(refused)
    g.actor = f"gp:{claim.physician_id}"
    return claim


def _refused(refused: LinkRefused) -> ResponseReturnValue:
    address = request.remote_addr or "inconnue"
    if _bad_links().over_limit(address, context.now()):
        return render_template("portal/invalid.html", message=INVALID_LINK), 429
    reason = RefusalReason(refused.reason)
    current_app.logger.warning(
        "portail des médecins : lien refusé (%s)%s",
        reason.value,
        "" if refused.physician_id is None else f", médecin {refused.physician_id}",
    )
    audit("portail.lien.refuse", refused.physician_id, reason.value)
    return render_template("portal/invalid.html", message=INVALID_LINK), reason.status


# ------------------------------------------------------------------------------------------
# The GP's page


def _gp_files(register: Register, physician_id: str) -> dict[str, RequestFile]:
    """The files of the requests with an event naming the GP (their proposals, answers...),
    read by the store (:meth:`~mt_access.store.base.Store.physician_requests`): a GP's page
    reads their few requests, not the register's proposed ones or those changed lately."""
    store = register.store
    return store.get_files(store.physician_requests(physician_id))


def _proposals(
    register: Register,
    physician_id: str,
    on: dt.date,
    files: dict[str, RequestFile],
    records: dict[str, PersonalRecord],
) -> list[Proposal]:
    out = []
    for rid in sorted(files):
        file = files[rid]
        if physician_id not in file.proposed_to:
            continue
        last = next(
            t
            for t in reversed(file.history)
            if t.event is Event.PROPOSE and t.physician_id == physician_id
        )
        out.append(
            Proposal(
                request_id=rid,
                proposed_on=last.on,
                picked=last.actor is Actor.PHYSICIAN,
                persons=len(file.people.proposed_to(physician_id)),
                fields=_safe(register.referral, file, on, physician_id, records),
                step=request_step(file),
            )
        )
    return out


def _accepted(
    register: Register,
    physician_id: str,
    on: dt.date,
    files: dict[str, RequestFile],
    records: dict[str, PersonalRecord],
) -> list[Accepted]:
    since = on - dt.timedelta(days=ACCEPTED_SHOWN_DAYS)
    out = []
    # a household's request may have exited (other persons' exits) after the acceptance
    for rid, file in sorted(files.items()):
        accepted_on = _accepted_on(file, physician_id)
        if accepted_on is None or accepted_on < since:
            continue
        fields = _safe(register.accepted_referral, file, on, physician_id, records)
        if fields:  # nothing left to show once the patient's data was erased
            out.append(Accepted(rid, accepted_on, fields))
    out.sort(key=lambda a: (a.accepted_on, a.request_id), reverse=True)
    return out


def _accepted_on(file: RequestFile, physician_id: str) -> dt.date | None:
    if physician_id not in file.physicians_found.values():
        return None
    return max(
        (t.on for t in file.history if t.event is Event.ACCEPT and t.physician_id == physician_id),
        default=None,
    )


def _safe(
    fields: Callable[..., tuple[tuple[str, str], ...]],
    file: RequestFile,
    on: dt.date,
    physician_id: str,
    records: dict[str, PersonalRecord],
) -> tuple[tuple[str, str], ...]:
    try:
        found = fields(file.id, on, physician_id, file=file, personal=records.get(file.id))
    except MtAccessError:  # erased since: nothing to show
        return ()
    return found


def _pull(
    register: Register, physician_id: str, on: dt.date, places_left: int
) -> dict[str, Any] | None:
    levels = register.pull_levels()
    if not levels:
        return None
    # the lists kept by the process, without what was placed since (web/portal_pull.py),
    # a page of SHOWN entries at a time
    start = _start()
    own, total = gp_list(register, physician_id, on, places_left, start)
    if start and own is not None and not own.entries:  # the list got shorter: its start
        start = 0
        own, total = gp_list(register, physician_id, on, places_left, start)
    limits = [register.pick_limit(level) for level in levels]
    limit = min((n for n in limits if n), default=0)
    if own is None:
        return {
            "columns": (),
            "rows": [],
            "limit": limit,
            "total": 0,
            "total_label": "0",
            "start": 0,
        }
    # one plain form per entry (the session's CSRF token and the pseudonym), validated by
    # PortalPickForm: a WTForms object per entry would cost seconds on a long list
    total = max(total, start + len(own.entries))
    return {
        "columns": list_columns(own),
        "rows": list_rows(own),
        "limit": limit,
        "total": total,
        "total_label": _number(total),
        "start": start,
        "first": _number(start + 1),
        "last": _number(start + len(own.entries)),
        "previous": max(0, start - SHOWN) if start else None,
        "next": start + SHOWN if start + SHOWN < total else None,
    }


def _number(n: int) -> str:
    return f"{n:,}".replace(",", "\u202f")  # 27 118


def _start() -> int:
    """The first entry of the list shown (``?debut=``): a multiple of SHOWN, 0 when absent
    or not a whole number."""
    text = request.args.get("debut", "")
    if not text.isascii() or not text.isdigit() or len(text) > 9:  # not « ² »: int() refuses it
        return 0
    return int(text) // SHOWN * SHOWN


def _render(claim: LinkClaim, token: str, status: int = 200) -> ResponseReturnValue:
    register = context.register()
    store = register.store
    on = context.today()
    gp = claim.physician_id
    physician = store.get_physician(gp)  # one GP read, not the register's GPs
    if physician is None:  # removed meanwhile: as the command line says it
        physician = register.physician(gp)
    files = _gp_files(register, gp)
    shown = [r for r, f in files.items() if gp in f.proposed_to or _accepted_on(f, gp) is not None]
    records = store.personal_records(shown)  # one query for the page, not three a request
    proposals = _proposals(register, gp, on, files, records)
    accepted = _accepted(register, gp, on, files, records)
    places = gp_places(register, physician, on)
    pull = _pull(register, gp, on, places.left)
    shows_identity = bool(IDENTITY_FIELDS & set(register.policy.referral_fields))
    with store.transaction(durable=DISPLAYED):  # what a page showed: see docs/web.md
        audit("portail.afficher", gp, durable=DISPLAYED)
        if shows_identity:
            for proposal in proposals:
                if proposal.fields:
                    rid = proposal.request_id
                    audit("identite.afficher", rid, "portail : dossier qualifié", durable=DISPLAYED)
        for patient in accepted:
            rid = patient.request_id
            audit("identite.afficher", rid, "portail : patient accepté", durable=DISPLAYED)
    expires = claim.issued + dt.timedelta(days=claim.days)
    return render_template(
        "portal/page.html",
        token=token,
        physician=physician,
        proposals=proposals,
        accepted=accepted,
        accepted_days=ACCEPTED_SHOWN_DAYS,
        pull=pull,
        # the GP's pending picks are among their proposals (read above)
        picks=sum(p.picked for p in proposals),
        csrf=generate_csrf(),
        answer_url=url_for("portal.gp_answer", token=token),
        pick_url=url_for("portal.gp_pick", token=token),
        answer_choices=ANSWER_CHOICES,
        motif_label=MOTIF_LABEL,
        motif_max=MOTIF_MAX,
        places=places,
        on=on,
        expires=expires,
    ), status


@blueprint.route("/medecin/<token>")
def gp_page(token: str) -> ResponseReturnValue:
    claim = _claim(token)
    if not isinstance(claim, LinkClaim):
        return claim
    return _render(claim, token)


def _message(exc: MtAccessError) -> str:
    if isinstance(exc, IllegalTransitionError):
        return STALE_ANSWER
    return french_dates(str(exc))


@blueprint.route("/medecin/<token>/reponse", methods=["POST"])
def gp_answer(token: str) -> ResponseReturnValue:
    claim = _claim(token)
    if not isinstance(claim, LinkClaim):
        return claim
    gp = claim.physician_id
    form = PortalAnswerForm()
    rid = str(form.demande.data or "")
    register = context.register()
    store = register.store
    file = store.get_file(rid) if rid and "\x00" not in rid else None  # PostgreSQL: no NUL
    if file is None or not _concerns(file, gp):
        abort(404)
    if not form.validate():
        if "etape" in form.errors or "demande" in form.errors:
            flash(STALE_ANSWER, "erreur")
            return redirect(url_for("portal.gp_page", token=token), 303)
        flash(" ".join(e for errors in form.errors.values() for e in errors), "erreur")
        return redirect(url_for("portal.gp_page", token=token), 303)
    accepted = form.reponse.data == "accepte"
    try:
        with store.transaction():
            current = store.get_file(rid)
            if (
                current is None
                or gp not in current.proposed_to
                or request_step(current) != str(form.etape.data)
            ):
                raise _Stale
            register.answer(
                rid, gp, context.today(), accepted=accepted, comment=form.motif.data or ""
            )
            audit("portail.repondre", rid, "accepte" if accepted else "refuse")
    except _Stale:
        flash(STALE_ANSWER, "erreur")
        return redirect(url_for("portal.gp_page", token=token), 303)
    except MtAccessError as exc:
        flash(_message(exc), "erreur")
        return redirect(url_for("portal.gp_page", token=token), 303)
    context.forget_cached()  # the coordinator's dashboard shows the answer at once
    if accepted:
        flash(
            f"Merci : vous acceptez la demande {rid}. Les coordonnées du patient sont "
            "ci-dessous, dans « Patients que vous avez acceptés ».",
            "succes",
        )
    else:
        flash(f"Votre refus de la demande {rid} est enregistré. Merci de votre réponse.", "succes")
    return redirect(url_for("portal.gp_page", token=token), 303)


def _concerns(file: RequestFile, physician_id: str) -> bool:
    """The request was ever proposed to this GP (else another GP's: 404)."""
    return any(
        t.physician_id == physician_id
        for t in file.history
        if t.event in (Event.PROPOSE, Event.ACCEPT, Event.REFUSE)
    )


@blueprint.route("/medecin/<token>/choix", methods=["POST"])
def gp_pick(token: str) -> ResponseReturnValue:
    claim = _claim(token)
    if not isinstance(claim, LinkClaim):
        return claim
    gp = claim.physician_id
    form = PortalPickForm()
    register = context.register()
    if not register.pull_levels():
        abort(404)
    if not form.validate():
        flash("Formulaire incomplet : rechargez la page et recommencez.", "erreur")
        return redirect(url_for("portal.gp_page", token=token), 303)
    pseudonym = str(form.pseudonyme.data)
    store = register.store
    try:
        today = context.today()
        # the kept lists (made before the write transaction): choose checks the pick
        # against the register as it is
        index = kept_index(register, today, refresh=False)
        with store.transaction():
            file = register.choose(gp, pseudonym, today, index=index)
            audit("portail.choisir", file.id, f"pseudonyme {pseudonym}")
    except MtAccessError as exc:
        flash(_message(exc), "erreur")
        return redirect(url_for("portal.gp_page", token=token), 303)
    context.forget_cached()
    flash(
        f"Vous avez choisi la demande {pseudonym} : elle vous est proposée (demande "
        f"{file.id}) et une place vous est réservée. Son dossier est ci-dessous ; "
        "donnez-nous votre réponse.",
        "succes",
    )
    return redirect(url_for("portal.gp_page", token=token), 303)


class _Stale(Exception):
    """The request changed since the page was shown."""
