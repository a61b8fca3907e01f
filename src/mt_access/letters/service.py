"""Letters over a :class:`~mt_access.register.Register`, and writing them to files (the edge).

The functions here read what a letter needs from the register (request, identity, lifecycle,
GPs, the referral's fields) and call the pure ``compose_*`` functions of
:mod:`mt_access.letters.compose`. Without ``templates``, they load the policy's templates
(:meth:`LetterTemplates.for_policy`), which reads files: pass them when writing many letters.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Generator, Iterable, Iterator, Sequence
from pathlib import Path

from mt_access.letters.compose import (
    FORMATS,
    Letter,
    Recipient,
    compose_acknowledgement,
    compose_feedback,
    compose_orientation,
    compose_referral,
    compose_resources,
)
from mt_access.letters.templates import LetterError, LetterTemplates
from mt_access.model import Physician
from mt_access.policy import Policy, Resource
from mt_access.privacy import classify
from mt_access.register import MatchRun, Register
from mt_access.resources import resource_contacts, resource_status
from mt_access.result import AttachedResource, Orientation, OrientedPhysician

__all__ = [
    "acknowledgement",
    "commune_physicians",
    "feedback_letter",
    "letters_for_run",
    "orientation_letter",
    "referral_letter",
    "resources_letter",
    "write_letters",
]


def _templates(register: Register, templates: LetterTemplates | None) -> LetterTemplates:
    return templates if templates is not None else LetterTemplates.for_policy(register.policy)


def _check_not_erased(register: Register, request_id: str) -> None:
    register.file(request_id)  # unknown request: RegisterOperationError
    if register.store.erased_on(request_id) is not None:
        raise LetterError(
            f"demande {request_id} : données personnelles effacées, aucun courrier possible"
        )


def acknowledgement(
    register: Register,
    request_id: str,
    on: dt.date,
    *,
    to: Recipient = "patient",
    templates: LetterTemplates | None = None,
) -> Letter:
    """The acknowledgement of a request, to the patient or to the referrer.

    Args:
        register: the CPTS's register.
        request_id: the request.
        on: the letter's date.
        to: ``"patient"`` or ``"referrer"``.
        templates: the CPTS's templates (loaded from the policy when ``None``).

    Each GP listed comes with their practice contact as the register holds it (phone,
    address, practice name, notes for patients).

    Returns:
        The letter.

    Raises:
        RegisterOperationError: unknown request.
        LetterError: the request's personal data was erased, or ``to="referrer"`` and the
            patient made the request themselves.
        LetterTemplateError: a template fails.
    """
    _check_not_erased(register, request_id)
    return compose_acknowledgement(
        register.request(request_id),
        register.identity(request_id),
        register.policy,
        on,
        templates=_templates(register, templates),
        to=to,
    )


def referral_letter(
    register: Register,
    request_id: str,
    physician_id: str,
    on: dt.date,
    *,
    templates: LetterTemplates | None = None,
) -> Letter:
    """The « dossier qualifié » for the GP ``physician_id``: only the policy's
    ``privacy.referral_fields`` (:meth:`Register.referral`), the request's id, date and
    priority level, the persons of the household proposed to this GP, and how to answer.
    Only a GP the request is proposed to (or who accepted it) gets one.

    Args:
        register: the CPTS's register.
        request_id: the request.
        physician_id: the GP it is sent to.
        on: the letter's date (the age and the level are those on that date).
        templates: the CPTS's templates (loaded from the policy when ``None``).

    Returns:
        The letter.

    Raises:
        RegisterOperationError: unknown request or GP, or the request is not proposed to
            this GP.
        LetterError: the request's personal data was erased.
        LetterTemplateError: a template fails.
    """
    _check_not_erased(register, request_id)
    physician = register.physician(physician_id)
    request = register.request(request_id)
    persons = register.referral_persons(request_id, physician_id)
    fields = register.referral(request_id, on, physician_id)
    level = classify(request, register.policy, on, register.plugin_manager)
    return compose_referral(
        request.id,
        request.received,
        fields,
        physician,
        register.policy,
        on,
        level=level.level,
        priority=level.priority,
        templates=_templates(register, templates),
        persons=request.household.describe(persons),
        household=(len(persons), request.persons),
    )


def feedback_letter(
    register: Register,
    request_id: str,
    on: dt.date,
    *,
    templates: LetterTemplates | None = None,
) -> Letter:
    """The feedback to the referrer: MT found (with which GP), orientation given, still
    waiting, or exit with its reason.

    Args:
        register: the CPTS's register.
        request_id: the request.
        on: the letter's date.
        templates: the CPTS's templates (loaded from the policy when ``None``).

    Returns:
        The letter.

    Raises:
        RegisterOperationError: unknown request.
        LetterError: the request's personal data was erased, or the patient made the request
            themselves (no referrer).
        LetterTemplateError: a template fails.
    """
    _check_not_erased(register, request_id)
    file = register.file(request_id)
    physician = None
    if file.physician_found is not None:
        physician = register.physician(file.physician_found)
    found = {gp: register.physician(gp) for gp in set(file.physicians_found.values())}
    return compose_feedback(
        register.request(request_id),
        register.identity(request_id),
        file,
        register.policy,
        on,
        templates=_templates(register, templates),
        physician=physician,
        physicians=found,
    )


def commune_physicians(register: Register, commune: str, on: dt.date) -> list[OrientedPhysician]:
    """The register's GPs practising in ``commune``, active and accepting new patients on
    ``on``, by name (what an orientation lists when no match result is at hand).

    Args:
        register: the CPTS's register.
        commune: INSEE code of the patient's commune.
        on: the date.

    Returns:
        The GPs, distance 0.
    """
    local: list[Physician] = [
        p for p in register.physicians() if p.commune == commune and p.is_available_on(on)
    ]
    local.sort(key=lambda p: (p.name.casefold(), p.id))
    return [OrientedPhysician(p.id, p.name, p.commune, 0.0) for p in local]


def _lists_gps(policy: Policy, orientation: Orientation) -> bool:
    """Whether an orientation lists GPs by design: not one an ``instead`` resource made
    (router ``resources``), nor one of an ``orientation`` rule with ``include_commune_gps:
    false``."""
    if orientation.router == "resources":
        return False
    if orientation.router != "orientation":
        return True
    rule = policy.rule_for(orientation.level, orientation.rank <= len(policy.levels))
    params = dict(rule.params)
    return rule.router.name != "orientation" or bool(params.get("include_commune_gps", True))


def orientation_letter(
    register: Register,
    request_id: str,
    on: dt.date,
    *,
    orientation: Orientation | None = None,
    templates: LetterTemplates | None = None,
    attached: Sequence[AttachedResource] = (),
) -> Letter:
    """The orientation letter: GPs to contact and the territory's resources.

    Args:
        register: the CPTS's register.
        request_id: the request.
        on: the letter's date.
        orientation: the request's orientation in a match result (its GPs and resources);
            when ``None``, the GPs of the patient's commune who accept new patients
            (:func:`commune_physicians`) and the policy's resources serving the commune.
        templates: the CPTS's templates (loaded from the policy when ``None``).
        attached: the resources the run involved for the request besides the orientation's
            (``MatchResult.resources_for``), listed too.

    Returns:
        The letter.

    Raises:
        RegisterOperationError: unknown request.
        LetterError: the request's personal data was erased, or ``orientation`` is about
            another request.
        LetterTemplateError: a template fails.
    """
    _check_not_erased(register, request_id)
    request = register.request(request_id)
    policy = register.policy
    if orientation is not None:
        if orientation.request_id != request_id:
            raise LetterError(
                f"l'orientation donnée concerne la demande {orientation.request_id}, "
                f"pas la demande {request_id}"
            )
        with_gps = _lists_gps(policy, orientation)
        physicians: Sequence[OrientedPhysician] = orientation.physicians
        resources: Sequence[Resource | AttachedResource | str] = [
            *orientation.resources,
            *(a for a in attached if a.status != "instead"),
        ]
    else:
        with_gps = True
        physicians = commune_physicians(register, request.commune, on)
        resources = [r for r in policy.resources if not r.conditional and r.serves(request.commune)]
    listed = {p.physician_id for p in physicians}
    contacts = {p.id: p.contact for p in register.physicians() if p.id in listed}
    return compose_orientation(
        request,
        register.identity(request_id),
        policy,
        on,
        physicians=physicians,
        resources=resources,
        templates=_templates(register, templates),
        contacts=contacts,
        with_gps=with_gps,
    )


def _recorded_resources(register: Register, request_id: str, on: dt.date) -> list[AttachedResource]:
    """The policy's resources the request's history says were involved, with their status
    on ``on`` (a ``before`` resource answered, still awaited or past its ``wait_days``)."""
    contacts = resource_contacts(register.file(request_id).history)
    out = []
    for r in register.policy.resources:
        contact = contacts.get(r.name)
        if contact is None or contact.involved_on is None or not r.conditional:
            continue
        status, until = resource_status(r, contact, on)
        out.append(
            AttachedResource(
                request_id, r.name, r.mode, status, contact.involved_on, r.kind, r.contact,
                until=until,
            )
        )  # fmt: skip
    return out


def resources_letter(
    register: Register,
    request_id: str,
    on: dt.date,
    *,
    attached: Sequence[AttachedResource] | None = None,
    templates: LetterTemplates | None = None,
) -> Letter:
    """The letter to the patient naming the resources involved for their request (modes
    ``alongside`` and ``before``).

    Args:
        register: the CPTS's register.
        request_id: the request.
        on: the letter's date.
        attached: the resources a run involved (``MatchResult.resources_for``); when
            ``None``, those the request's history records (events ``resource_involved``).
        templates: the CPTS's templates (loaded from the policy when ``None``).

    Raises:
        RegisterOperationError: unknown request.
        LetterError: the request's personal data was erased, or no resource is involved.
        LetterTemplateError: a template fails.
    """
    _check_not_erased(register, request_id)
    policy = register.policy
    if attached is None:
        attached = _recorded_resources(register, request_id, on)
    resources = [a for a in attached if a.status != "instead"]
    if not resources:
        raise LetterError(f"demande {request_id} : aucune ressource sollicitée")
    return compose_resources(
        register.request(request_id),
        register.identity(request_id),
        policy,
        on,
        resources=resources,
        templates=_templates(register, templates),
    )


def letters_for_run(
    register: Register,
    run: MatchRun,
    on: dt.date,
    *,
    templates: LetterTemplates | None = None,
) -> list[Letter]:
    """The letters after a match run: a referral file for each proposal, an orientation
    letter for each orientation (naming the resources the run involved too), and a letter to
    the patient for each request another resource is involved for the first time
    (``alongside``, ``before``) that has no orientation.

    Args:
        register: the CPTS's register.
        run: the run (:meth:`Register.run_match`).
        on: the letters' date.
        templates: the CPTS's templates (loaded once from the policy when ``None``).

    Returns:
        The referral files (by request, then GP), the orientation letters (by request), then
        the resource letters (by request).

    Raises:
        LetterError: a request's personal data was erased since the run.
        LetterTemplateError: a template fails.
    """
    loaded = _templates(register, templates)
    letters = [
        referral_letter(register, rid, pid, on, templates=loaded) for rid, pid in run.proposed
    ]
    result = run.result
    for orientation in result.orientations:
        letters.append(
            orientation_letter(
                register,
                orientation.request_id,
                on,
                orientation=orientation,
                templates=loaded,
                attached=result.resources_for(orientation.request_id),
            )
        )
    oriented = {o.request_id for o in result.orientations}
    new = sorted(
        {
            a.request_id
            for a in result.attached_resources
            if a.first_time and a.status != "instead" and a.request_id not in oriented
        }
    )
    for rid in new:
        letters.append(
            resources_letter(
                register, rid, on, attached=result.resources_for(rid), templates=loaded
            )
        )
    return letters


def write_letters(
    letters: Iterable[Letter],
    folder: str | os.PathLike[str],
    formats: Sequence[str] = ("txt", "md"),
) -> list[Path]:
    """Write each letter in each format to ``folder`` (created if needed), in UTF-8 (or PDF).

    File names are :meth:`Letter.filename`: request id, kind (and GP id), never a patient's
    name. Each file is written next to its place then renamed, so a reader never sees half
    a letter; an existing file of the same name is replaced.

    Args:
        letters: the letters.
        folder: where to write them.
        formats: among ``txt``, ``md``, ``html``, ``pdf`` (the ``pdf`` extra:
            :mod:`mt_access.letters.pdf`).

    Returns:
        The files written, in order.

    Raises:
        LetterError: an unknown format, two letters with the same file name, or PDF asked
            without WeasyPrint (checked before any file is written).
    """
    for fmt in formats:
        if fmt not in FORMATS:
            raise LetterError(f"format de courrier inconnu : {fmt!r} ({', '.join(FORMATS)})")
    todo = list(letters)
    names = [letter.filename(fmt) for letter in todo for fmt in formats]
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise LetterError(f"deux courriers auraient le même nom de fichier : {name}")
        seen.add(name)
    pdfs: Iterator[bytes] = iter(())
    if "pdf" in formats:
        from mt_access.letters.pdf import letters_pdf

        pdfs = letters_pdf(todo)  # WeasyPrint checked now; many letters: worker processes
    target = Path(folder)
    written: list[Path] = []
    try:
        target.mkdir(parents=True, exist_ok=True)
        for letter in todo:
            for fmt in formats:
                path = target / letter.filename(fmt)
                tmp = path.with_name(f".{path.name}.tmp")
                payload = next(pdfs) if fmt == "pdf" else letter.content(fmt).encode("utf-8")
                try:
                    tmp.write_bytes(payload)
                    os.replace(tmp, path)
                finally:
                    tmp.unlink(missing_ok=True)
                written.append(path)
    finally:
        if isinstance(pdfs, Generator):
            pdfs.close()  # a failure half-way: the PDFs not made yet are cancelled
    return written
