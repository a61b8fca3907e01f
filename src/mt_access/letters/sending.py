"""Sending letters by e-mail: the dry run, the sending and its record in the register.

:func:`plan_sending` says, for each letter, where it would go (recipient kind, masked
address, attachment format) or why it is refused: a GP referral goes only to an MSSanté address
of the policy's ``sending.mssante_domains``; a patient's letter only to a patient who gave an
address and answered « oui » to the policy's ``sending.patient_consent_question``; a letter to
a referrer only when ``sending.referrers_by_email`` allows it. :func:`send_letters` does the
same, and with ``send=True`` sends one message per letter (a short text body without health
data, the letter attached) over SMTP with STARTTLS, records every attempt in the register
(:class:`~mt_access.store.SendingRecord`), never sends again a letter the register says was
sent, and retries failures with backoff up to ``sending.max_attempts`` attempts per letter.

:func:`due_letters` gathers what ``mt-access envoyer`` sends: the acknowledgements of the
requests not acknowledged yet, the letters of a match run (:func:`letters_of_run`) and the
feedback to the referrers of the requests closed lately; :func:`acknowledge_sent` records the
acknowledgement of a request whose acknowledgement went.
"""

from __future__ import annotations

import datetime as dt
import email.policy
import smtplib
import ssl
import time
from collections.abc import Callable, Iterable, Sequence
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Literal

import attrs

from mt_access.errors import RegisterOperationError, SendingError
from mt_access.letters.compose import Letter
from mt_access.letters.service import (
    acknowledgement,
    feedback_letter,
    orientation_letter,
    referral_letter,
    resources_letter,
)
from mt_access.letters.settings import SENDING, SendingSettings
from mt_access.letters.smtp import (
    SmtpSettings,
    close,
    connect,
    deliver,
    is_valid_address,
    lost_reason,
    mask_address,
)
from mt_access.letters.templates import LetterError, LetterKind, LetterTemplates
from mt_access.lifecycle import EXIT_STATES, Actor, Event, LifecycleError, RequestState
from mt_access.model import ReferrerKind
from mt_access.register import Register
from mt_access.store.base import RunRecord, SendingRecord

__all__ = [
    "ATTACHMENTS",
    "FEEDBACK_DAYS",
    "GROUPS",
    "DueLetters",
    "Group",
    "Planned",
    "SendingReport",
    "Status",
    "acknowledge_sent",
    "default_attachment",
    "due_letters",
    "letters_of_run",
    "plan_sending",
    "run_letter_targets",
    "run_target_letter",
    "send_letters",
]

ATTACHMENTS = ("pdf", "md", "txt")
"""The formats a letter is attached in."""

RecipientKind = Literal["medecin", "patient", "adresseur"]
Status = Literal["a_envoyer", "envoye", "deja_envoye", "refuse", "echec", "abandonne", "non_tente"]
"""What became of a letter: to send (dry run), sent, already sent before, refused (no
acceptable address), failed (the server refused or did not answer: retried at the next
``envoyer``), given up (``max_attempts`` reached), not tried (the server was unreachable)."""

STATUS_LABELS: dict[Status, str] = {
    "a_envoyer": "à envoyer",
    "envoye": "envoyé",
    "deja_envoye": "déjà envoyé",
    "refuse": "refusé",
    "echec": "échec",
    "abandonne": "abandonné",
    "non_tente": "non tenté",
}
"""The French word for each :data:`Status`."""

_PATIENT_KINDS = (LetterKind.ACK_PATIENT, LetterKind.ORIENTATION, LetterKind.RESOURCES)
_REFERRER_KINDS = (LetterKind.ACK_REFERRER, LetterKind.FEEDBACK)
_ACK_KINDS = (LetterKind.ACK_PATIENT, LetterKind.ACK_REFERRER)


def default_attachment() -> str:
    """``pdf`` when WeasyPrint (the ``pdf`` extra) can render, else ``md``."""
    from mt_access.errors import LetterError
    from mt_access.letters.pdf import require_weasyprint

    try:
        require_weasyprint()
    except LetterError:
        return "md"
    return "pdf"


@attrs.frozen
class Planned:
    """One letter and where it goes.

    Attributes:
        letter: the letter.
        recipient_kind: ``medecin``, ``patient`` or ``adresseur``.
        masked: the address masked (``d***@exemple.mssante.fr``), ``""`` when none.
        attachment: the format it is attached in.
        status: what became of it (:data:`Status`).
        reason: why it is refused, failed or given up (French; ids, never personal data).
        attempts: the attempts recorded for it so far (this run's included).
        code: the server's last reply code (0: none).
        answer: the server's last answer, addresses masked.
    """

    letter: Letter
    recipient_kind: RecipientKind
    masked: str
    attachment: str
    status: Status
    reason: str = ""
    attempts: int = 0
    code: int = 0
    answer: str = ""
    address: str = attrs.field(default="", repr=False)

    @property
    def key(self) -> tuple[str, str, str]:
        """Which letter: request, kind and GP (as :attr:`SendingRecord.key`)."""
        return (self.letter.request_id, self.letter.kind.value, self.letter.physician_id or "")


@attrs.frozen
class SendingReport:
    """What :func:`send_letters` did (or would do, for a dry run).

    Attributes:
        letters: each letter with its outcome, in the order given.
        sent: whether it was a real sending (``False``: a dry run).
    """

    letters: tuple[Planned, ...]
    sent: bool

    def count(self, status: Status) -> int:
        """How many letters have ``status``."""
        return sum(1 for p in self.letters if p.status == status)

    @property
    def complete(self) -> bool:
        """Nothing failed, was given up or left untried."""
        return not any(p.status in ("echec", "abandonne", "non_tente") for p in self.letters)


def run_letter_targets(
    register: Register, number: int | None = None
) -> tuple[RunRecord, list[tuple[LetterKind, str, str | None]]]:
    """Which letters a committed match run calls for, found in the register (the events
    recorded with the run's number; for a run recorded before runs were recorded on their
    events, :attr:`~mt_access.store.RunRecord.tagged` false, the events the system recorded
    on the run's date without a run number): a referral file for each proposal (request, GP), an
    orientation letter for each request oriented, a resources letter for each other request a
    resource was involved for; in the order :func:`letters_of_run` writes them.

    Args:
        register: the CPTS's register.
        number: the run (``None``: the last one).

    Returns:
        The run, and each letter's kind, request and GP (``None`` but for a referral file).

    Raises:
        SendingError: no such run.
    """
    runs = register.runs()
    if not runs:
        raise SendingError("aucun appariement enregistré : rien à envoyer")
    chosen = runs[-1] if number is None else next((r for r in runs if r.number == number), None)
    if chosen is None:
        raise SendingError(f"appariement n° {number} inconnu (1 à {len(runs)})")
    proposals: set[tuple[str, str]] = set()
    oriented: set[str] = set()
    involved: set[str] = set()
    # a tagged run's own events, read through the index by run; an older run's by its date
    events = (
        register.store.run_transitions(chosen.number)
        if chosen.tagged
        else register.store.transitions()
    )
    for t in events:
        if chosen.tagged:
            if t.run != chosen.number:
                continue
        elif t.run is not None or t.on != chosen.on or t.actor is not Actor.SYSTEM:
            continue
        if t.event is Event.PROPOSE and t.physician_id is not None:
            proposals.add((t.request_id, t.physician_id))
        elif t.event is Event.ORIENT:
            oriented.add(t.request_id)
        elif t.event is Event.RESOURCE_INVOLVED:
            involved.add(t.request_id)
    targets: list[tuple[LetterKind, str, str | None]] = [
        (LetterKind.REFERRAL, rid, pid) for rid, pid in sorted(proposals)
    ]
    targets += [(LetterKind.ORIENTATION, rid, None) for rid in sorted(oriented)]
    targets += [(LetterKind.RESOURCES, rid, None) for rid in sorted(involved - oriented)]
    return chosen, targets


def run_target_letter(
    register: Register,
    target: tuple[LetterKind, str, str | None],
    on: dt.date,
    *,
    templates: LetterTemplates | None = None,
) -> Letter:
    """The letter of one of :func:`run_letter_targets`'s targets, dated ``on``: a referral
    file, an orientation letter (the GPs of the patient's commune and the policy's resources,
    as ``mt-access demande courrier`` writes it) or a resources letter.

    Raises:
        LetterError: the request's personal data was erased, or a template fails.
        RegisterOperationError: the request is no longer proposed to this GP.
    """
    kind, rid, pid = target
    if kind is LetterKind.REFERRAL:
        return referral_letter(register, rid, str(pid), on, templates=templates)
    if kind is LetterKind.ORIENTATION:
        return orientation_letter(register, rid, on, templates=templates)
    return resources_letter(register, rid, on, templates=templates)


def letters_of_run(
    register: Register, number: int | None = None, on: dt.date | None = None
) -> tuple[list[Letter], list[str]]:
    """The letters of a committed match run, rebuilt from the register
    (:func:`run_letter_targets`): a referral file for each proposal the run made, an
    orientation letter for each request it oriented (the GPs of the patient's commune and
    the policy's resources, as ``mt-access demande courrier`` writes it), a resources letter
    for each other request it involved a resource for.

    Args:
        register: the CPTS's register.
        number: the run (``None``: the last one).
        on: the letters' date (``None``: the run's date).

    Returns:
        The letters, and the ids of the requests whose letters cannot be written any more
        (personal data erased, or a proposal since withdrawn).

    Raises:
        SendingError: no such run.
    """
    chosen, targets = run_letter_targets(register, number)
    day = on or chosen.on
    templates = LetterTemplates.for_policy(register.policy)
    letters: list[Letter] = []
    missing: list[str] = []
    for target in targets:
        try:
            letters.append(run_target_letter(register, target, day, templates=templates))
        except (LetterError, RegisterOperationError):
            missing.append(target[1])
    return letters, missing


Group = Literal["accuses", "appariement", "retours"]
"""Which letters :func:`due_letters` gathers: the acknowledgements due (``accuses``), a match
run's letters (``appariement``), the feedback to referrers due (``retours``)."""

GROUPS: tuple[Group, ...] = ("accuses", "appariement", "retours")
"""Every :data:`Group`, in the order their letters come."""

FEEDBACK_DAYS = 31
"""By default, :func:`due_letters` gives the feedback of the requests closed in the
``FEEDBACK_DAYS`` days up to the letters' date (not those closed long before)."""


@attrs.frozen
class DueLetters:
    """What :func:`due_letters` found.

    Attributes:
        letters: the letters, acknowledgements first, then the run's, then the feedback.
        missing: the ids of the requests whose run letters cannot be written any more.
        run: the number of the run whose letters are included (``None``: none).
    """

    letters: tuple[Letter, ...]
    missing: tuple[str, ...]
    run: int | None


def due_letters(
    register: Register,
    on: dt.date,
    *,
    groups: Iterable[Group] = GROUPS,
    run: int | None = None,
    run_on: dt.date | None = None,
    since: dt.date | None = None,
) -> DueLetters:
    """The letters due, to send by e-mail (or see in a dry run).

    * ``accuses``: for each request not acknowledged yet (state ``received``, personal data
      kept, received on or before ``on``), the acknowledgement to the patient, and to the
      referrer when someone else made the request;
    * ``appariement``: the letters of the match run ``run`` (the last one by default), as
      :func:`letters_of_run` rebuilds them, dated ``run_on`` (the run's date by default);
      nothing when no run was ever made, unless ``run`` or this group alone is asked;
    * ``retours``: the feedback to the referrer of each request referred by someone else and
      closed (MT found or exit) between ``since`` (:data:`FEEDBACK_DAYS` days before ``on`` by
      default) and ``on``.

    A letter already sent is given too: :func:`plan_sending` says « déjà envoyé » and
    :func:`send_letters` never sends it again.

    Args:
        register: the CPTS's register.
        on: the date of the acknowledgements and feedback.
        groups: which letters (:data:`GROUPS`).
        run: the run's number (``None``: the last one).
        run_on: the date of the run's letters (``None``: the run's date).
        since: the first closing date of the feedback.

    Raises:
        SendingError: an unknown group; no such run (or no run at all when asked for).
    """
    wanted = list(dict.fromkeys(groups))
    for group in wanted:
        if group not in GROUPS:
            raise SendingError(f"courriers inconnus : {group!r} ({', '.join(GROUPS)})")
    templates = LetterTemplates.for_policy(register.policy)
    store = register.store
    letters: list[Letter] = []
    missing: list[str] = []
    number: int | None = None
    if "accuses" in wanted:
        for line in store.summaries([RequestState.RECEIVED]):
            if line.last_event > on or store.erased_on(line.id) is not None:
                continue
            letters.append(acknowledgement(register, line.id, on, templates=templates))
            if register.request(line.id).referrer.kind is not ReferrerKind.PATIENT:
                letters.append(
                    acknowledgement(register, line.id, on, to="referrer", templates=templates)
                )
    runs = register.runs() if "appariement" in wanted else []
    if "appariement" in wanted and (runs or run is not None or wanted == ["appariement"]):
        found, lost = letters_of_run(register, run, run_on)
        letters += found
        missing += lost
        number = run if run is not None else runs[-1].number
    if "retours" in wanted:
        first = since if since is not None else on - dt.timedelta(days=FEEDBACK_DAYS)
        for line in store.summaries(sorted(EXIT_STATES, key=lambda s: s.value)):
            if not first <= line.last_event <= on or store.erased_on(line.id) is not None:
                continue
            if register.request(line.id).referrer.kind is not ReferrerKind.PATIENT:
                letters.append(feedback_letter(register, line.id, on, templates=templates))
    return DueLetters(tuple(letters), tuple(missing), number)


def acknowledge_sent(register: Register, report: SendingReport, on: dt.date) -> list[str]:
    """Record the acknowledgement (``received`` → ``acknowledged``, on ``on``) of each request
    still ``received`` whose acknowledgement, to the patient or to the referrer, the register
    says was sent (this time or before: a sending cut short before this step is completed).

    Returns:
        The ids of the requests acknowledged now.
    """
    done: list[str] = []
    for planned in report.letters:
        rid = planned.letter.request_id
        if planned.letter.kind not in _ACK_KINDS or planned.status not in ("envoye", "deja_envoye"):
            continue
        if rid in done or register.file(rid).state is not RequestState.RECEIVED:
            continue
        try:
            register.acknowledge(rid, on, comment="accusé de réception envoyé par courriel")
        except LifecycleError:  # an event recorded after ``on`` meanwhile
            continue
        done.append(rid)
    return done


def _recipient_kind(kind: LetterKind) -> RecipientKind:
    if kind is LetterKind.REFERRAL:
        return "medecin"
    return "adresseur" if kind in _REFERRER_KINDS else "patient"


def _address(
    register: Register, letter: Letter, kind: RecipientKind, settings: SendingSettings
) -> tuple[str, str]:
    """``(address, "")`` where the letter may go, or ``("", French reason)``."""
    rid = letter.request_id
    if register.store.erased_on(rid) is not None:
        return "", "données personnelles effacées"
    if kind == "medecin":
        pid = letter.physician_id or ""
        address = register.physician(pid).contact.mssante
        if not address:
            return "", f"pas d'adresse MSSanté pour le médecin {pid}"
        if not is_valid_address(address):
            return "", f"adresse MSSanté du médecin {pid} invalide"
        if not settings.is_mssante(address):
            return "", (
                f"adresse du médecin {pid} hors MSSanté (domaines acceptés : "
                f"{', '.join(settings.mssante_domains)}) : le dossier qualifié ne part que par "
                "messagerie sécurisée de santé"
            )
        return address, ""
    if kind == "adresseur":
        if not settings.referrers_by_email:
            return (
                "",
                "courriel aux adresseurs non prévu par la politique (sending.referrers_by_email)",
            )
        address = register.request(rid).referrer.contact.strip()
        if not address:
            return "", "l'adresseur n'a pas donné de contact"
        if not is_valid_address(address):
            return "", "le contact de l'adresseur n'est pas une adresse électronique valide"
        return address, ""
    question = settings.patient_consent_question
    if question is None:
        return "", (
            "courriel aux patients non prévu par la politique (sending.patient_consent_question)"
        )
    if register.request(rid).answers.get(question) is not True:
        return "", f"le patient n'a pas accepté les courriels (question « {question} »)"
    address = register.identity(rid).email.strip()
    if not address:
        return "", "le patient n'a pas donné d'adresse électronique"
    if not is_valid_address(address):
        return "", "adresse électronique du patient invalide"
    return address, ""


def plan_sending(
    register: Register,
    letters: Iterable[Letter],
    *,
    attachment: str | None = None,
) -> list[Planned]:
    """Where each letter would go, or why it cannot (nothing is sent or recorded).

    A letter the register records as sent is ``deja_envoye``; one whose attempts reached
    ``sending.max_attempts`` is ``abandonne``.

    Args:
        register: the CPTS's register (the addresses, consents and past sendings).
        letters: the letters (e.g. :func:`~mt_access.letters.letters_for_run`).
        attachment: ``pdf``, ``md`` or ``txt`` (``None``: :func:`default_attachment`).

    Raises:
        SendingError: an unknown attachment format.
    """
    fmt = attachment or default_attachment()
    if fmt not in ATTACHMENTS:
        raise SendingError(f"format de pièce jointe inconnu : {fmt!r} ({', '.join(ATTACHMENTS)})")
    if fmt == "pdf":
        from mt_access.letters.pdf import require_weasyprint

        require_weasyprint()  # before anything is sent
    settings = register.policy.section(SENDING)
    attempts: dict[tuple[str, str, str], int] = {}
    sent: set[tuple[str, str, str]] = set()
    for record in register.store.sendings():
        attempts[record.key] = attempts.get(record.key, 0) + 1
        if record.sent:
            sent.add(record.key)
    out = []
    for letter in letters:
        kind = _recipient_kind(letter.kind)
        address, reason = _address(register, letter, kind, settings)
        planned = Planned(letter, kind, mask_address(address) if address else "", fmt, "a_envoyer")
        tried = attempts.get(planned.key, 0)
        status: Status = "a_envoyer"
        if planned.key in sent:
            status, reason = "deja_envoye", ""
        elif reason:
            status = "refuse"
        elif tried >= settings.max_attempts:
            status, reason = "abandonne", f"{tried} tentative(s) déjà faites (sending.max_attempts)"
        out.append(
            attrs.evolve(planned, status=status, reason=reason, attempts=tried, address=address)
        )
    return out


def _message(planned: Planned, sender: str, cpts: str, pdf: bytes | None = None) -> EmailMessage:
    """One message: a short body without health data, the letter attached (``pdf``: its PDF
    when already made)."""
    letter = planned.letter
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = planned.address
    msg["Subject"] = f"{cpts} : {letter.kind.label} (demande {letter.request_id})"
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2])
    msg.set_content(
        f"Bonjour,\n\nVeuillez trouver en pièce jointe un courrier de {cpts} "
        f"({letter.kind.label}, demande n° {letter.request_id}).\n\n"
        "Ce message est envoyé par l'outil de coordination de la CPTS ; pour toute question, "
        "répondez à cette adresse.\n"
    )
    name = letter.filename(planned.attachment)
    if planned.attachment == "pdf":
        data = pdf if pdf is not None else letter.pdf()
        msg.add_attachment(data, maintype="application", subtype="pdf", filename=name)
    else:
        subtype = "markdown" if planned.attachment == "md" else "plain"
        msg.add_attachment(letter.content(planned.attachment), subtype=subtype, filename=name)
    return msg


def send_letters(
    register: Register,
    letters: Iterable[Letter],
    *,
    send: bool = False,
    smtp: SmtpSettings | None = None,
    attachment: str | None = None,
    tls: ssl.SSLContext | None = None,
    backoff: float = 2.0,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], dt.datetime] | None = None,
) -> SendingReport:
    """Send the letters by e-mail, or (by default) only say what would be sent.

    With ``send=True``: one message per letter to be sent, over one SMTP connection with
    STARTTLS and login (reopened after a lost connection); each attempt is recorded in the
    register right after the server's answer (one transaction each). A temporary failure
    (4xx code, timeout, lost connection) is retried after ``backoff``, then twice as long...,
    up to ``sending.max_attempts`` attempts of the letter in all; a permanent refusal (5xx)
    is not retried now (the next ``envoyer`` tries again, within the same bound). When the
    server cannot be reached at all, the letters after are left ``non_tente``.

    Args:
        register: the CPTS's register.
        letters: the letters.
        send: really send (``False``: a dry run, nothing sent or recorded).
        smtp: the server (required with ``send``; :meth:`SmtpSettings.from_env`).
        attachment: ``pdf``, ``md`` or ``txt`` (``None``: PDF when WeasyPrint is there).
        tls: the TLS context (``None``: the system's authorities, :attr:`SmtpSettings.cafile`).
        backoff: seconds before the first retry.
        sleep: how to wait (tests pass a no-op).
        clock: the time recorded (UTC now by default).

    Raises:
        SendingError: ``send`` without ``smtp`` or without ``sending.sender``; the server
            offers no STARTTLS or refuses the login (sendings before are recorded).
    """
    planned = plan_sending(register, letters, attachment=attachment)
    if not send:
        return SendingReport(tuple(planned), sent=False)
    settings = register.policy.section(SENDING)
    if smtp is None:
        raise SendingError("serveur SMTP non indiqué (variables MT_ACCESS_SMTP_*)")
    if not settings.sender:
        raise SendingError(
            "adresse d'expédition absente : ajoutez « sending.sender » à la politique"
        )
    now = clock or (lambda: dt.datetime.now(dt.UTC).replace(microsecond=0))
    sender = _Sender(register, settings, smtp, tls, backoff, sleep, now)
    if planned and planned[0].attachment == "pdf":
        sender.pdfs = _Pdfs(planned)
    return SendingReport(tuple(sender.run(planned)), sent=True)


class _Pdfs:
    """The PDFs of the letters to send, made ahead in order (:func:`letters_pdf`: in worker
    processes when there are many) while the ones before are sent."""

    def __init__(self, planned: Sequence[Planned]) -> None:
        from mt_access.letters.pdf import letters_pdf

        keys: dict[tuple[str, str, str], Letter] = {}
        for item in planned:
            if item.status == "a_envoyer":
                keys.setdefault(item.key, item.letter)  # the same letter twice goes once
        letters = list(keys.values())
        self._keys = iter(keys)
        self._made = letters_pdf(letters)

    def get(self, key: tuple[str, str, str]) -> bytes | None:
        """The PDF of the letter ``key``; ``None`` when it was not made ahead."""
        for made in self._keys:
            data = next(self._made)
            if made == key:
                return data
        return None

    def close(self) -> None:
        """Cancel the PDFs not made yet (the server is gone, or an error)."""
        self._made.close()


@attrs.define
class _Sender:
    register: Register
    settings: SendingSettings
    smtp: SmtpSettings
    tls: ssl.SSLContext | None
    backoff: float
    sleep: Callable[[float], None]
    now: Callable[[], dt.datetime]
    conn: smtplib.SMTP | None = None
    unreachable: bool = False
    pdfs: _Pdfs | None = None

    def run(self, planned: Sequence[Planned]) -> list[Planned]:
        out: list[Planned] = []
        done: set[tuple[str, str, str]] = set()
        try:
            for item in planned:
                if item.status == "a_envoyer" and item.key in done:  # the same letter twice
                    out.append(attrs.evolve(item, status="deja_envoye"))
                elif item.status != "a_envoyer":
                    out.append(item)
                elif self.unreachable:
                    out.append(attrs.evolve(item, status="non_tente", reason="serveur injoignable"))
                else:
                    out.append(self._send(item))
                    done.add(item.key)
        finally:
            if self.pdfs is not None:
                self.pdfs.close()
            if self.conn is not None:
                close(self.conn)
        return out

    def _send(self, item: Planned) -> Planned:
        cpts = self.register.policy.name
        pdf = self.pdfs.get(item.key) if self.pdfs is not None else None
        message = _message(item, self.settings.sender, cpts, pdf)
        payload = message.as_bytes(policy=email.policy.SMTP)
        attempt = item.attempts
        delay = self.backoff
        while True:
            attempt += 1
            code, answer, lost = self._attempt(item, payload)
            self._record(item, attempt, code, answer)
            if code == 250:
                return attrs.evolve(
                    item, status="envoye", attempts=attempt, code=code, answer=answer
                )
            final = attempt >= self.settings.max_attempts
            if 500 <= code < 600 or final:
                status: Status = "abandonne" if final else "echec"
                if lost and final:
                    self.unreachable = True
                return attrs.evolve(
                    item, status=status, attempts=attempt, code=code, answer=answer,
                    reason=f"{answer} ({attempt} tentative(s))",
                )  # fmt: skip
            self.sleep(delay)
            delay *= 2

    def _attempt(self, item: Planned, payload: bytes) -> tuple[int, str, bool]:
        """``(code, answer, lost)``: the server's reply, or ``(0, reason, True)`` when the
        connection failed (it is dropped, and reopened at the next attempt)."""
        try:
            if self.conn is None:
                self.conn = connect(self.smtp, self.tls)
            code, answer = deliver(self.conn, self.settings.sender, item.address, payload)
            return code, answer, False
        except SendingError:
            raise
        except (OSError, smtplib.SMTPException) as exc:
            if self.conn is not None:
                self.conn.close()
                self.conn = None
            return 0, lost_reason(exc), True

    def _record(self, item: Planned, attempt: int, code: int, answer: str) -> None:
        letter = item.letter
        record = SendingRecord(
            request_id=letter.request_id,
            letter=letter.kind.value,
            physician_id=letter.physician_id or "",
            recipient_kind=item.recipient_kind,
            recipient=item.masked,
            at=self.now(),
            attempt=attempt,
            code=code,
            answer=answer,
            sent=code == 250,
        )
        store = self.register.store
        with store.transaction():
            store.add_sending(record)
