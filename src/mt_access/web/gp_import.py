"""Importing a file of GPs from the browser (blueprint ``gp_import``, « Importer des
médecins » on the GP list): upload (with, optionally, the mapping of the file's headings,
:mod:`mt_access.gp_mapping`), preview, confirm, the rejections report; a rejected row is
corrected before the confirmation in :mod:`mt_access.web.gp_import_rows`, the file kept
between the pages by :mod:`mt_access.web.gp_import_batch`.

The steps are those of ``mt-access medecin importer`` with the same library calls:
:func:`~mt_access.gp_file.read_gp_table` on the file (with the corrections made on the page)
against the register as it is, then
:func:`~mt_access.gp_import.import_gps` (the register's operations, all GPs or
none) with its audit line in the same transaction, and
:func:`~mt_access.gp_import.write_gp_rejections`. No rule of what a GP file may
hold lives here.

The file sent is checked like a form export (:func:`~mt_access.web.ops_import.check_upload`:
extension, size, content) and kept only in a private temporary folder until the import is
ended, another file is sent, or :data:`UPLOAD_MAX_AGE` passes. The preview carries a
fingerprint of what the import would do (:meth:`GPImportResult.digest`): if the register's
GPs changed since, the confirmation is refused, nothing is recorded, and the new preview is
shown. Pages show row numbers, headings and what was expected, never a contact cell's value
(the correction form shows the row's other cells, and is audited).
"""

from __future__ import annotations

import os
import secrets

import attrs
from flask import (
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_wtf.file import FileField
from werkzeug.datastructures import FileStorage
from wtforms import BooleanField, HiddenField, StringField
from wtforms.validators import InputRequired, Length, Optional

from mt_access.cli.registry_base import french_dates
from mt_access.errors import MtAccessError, PolicyError
from mt_access.gp_file import GP_COLUMNS, GPImportResult
from mt_access.gp_import import import_gps, write_gp_rejections
from mt_access.gp_mapping import parse_gp_mapping
from mt_access.web import context, gp_import_rows
from mt_access.web.auth import audit, current_user, requires
from mt_access.web.forms import FrenchForm
from mt_access.web.gp_import_batch import (
    UPLOAD_MAX_AGE,
    Batch,
    StepForm,
    area,
    blueprint,
    current_batch,
    drop,
    failed,
    read,
    remember,
    require_batch,
)
from mt_access.web.ops_import import (
    MAX_MAPPING_BYTES,
    MAX_UPLOAD_BYTES,
    PREVIEW_ROWS,
    check_mapping_upload,
    check_upload,
    stored_name,
)
from mt_access.web.ops_support import attachment, scratch_folder, without_path

__all__ = ["STALE_IMPORT_MESSAGE", "UPLOAD_MAX_AGE", "blueprint"]

STALE_IMPORT_MESSAGE = (
    "Les médecins du registre ont changé depuis l'aperçu (un autre coordinateur ou une autre "
    "action) : rien n'a été enregistré. Vérifiez le nouvel aperçu ci-dessous, puis confirmez "
    "de nouveau."
)

_ROUTES = (gp_import_rows,)
"""The modules whose routes are on this blueprint too (imported for them)."""


class UploadForm(FrenchForm):
    """The GP file to import."""

    fichier = FileField("Fichier des médecins (.csv ou .xlsx)")
    correspondance = FileField("Correspondance des colonnes (.yaml, facultatif)")
    feuille = StringField(
        "Feuille du classeur (facultatif)",
        validators=[Optional(), Length(max=100, message="100 caractères au plus.")],
    )


class ConfirmForm(FrenchForm):
    """The confirmation: the preview's fingerprint, and whether to update changed GPs."""

    etape = HiddenField(validators=[InputRequired(message="Page incomplète : rechargez-la.")])
    mettre_a_jour = BooleanField(
        "Mettre aussi à jour les médecins modifiés (nom, commune, RPPS, coordonnées "
        "renseignées, adhésion ou retrait manquant)"
    )


def _safe_name(name: str, default: str) -> str:
    return "".join(c if c.isalnum() or c in "._- " else "_" for c in name).strip() or default


def _mapping_upload(form: UploadForm) -> tuple[str, str] | None:
    """The mapping file sent with the GP file, ``(name, text)``, checked (errors under its
    field); ``None`` when none was sent."""
    given = form.correspondance.data if isinstance(form.correspondance.data, FileStorage) else None
    name = os.path.basename((given.filename or "") if given else "").strip()
    if given is None or not name:
        return None
    data = given.stream.read(MAX_MAPPING_BYTES + 1)
    problem = check_mapping_upload(name, data)
    if problem:
        form.correspondance.errors = [problem]
        return None
    shown = _safe_name(name, "correspondance.yaml")
    try:
        text = data.decode("utf-8")
        parse_gp_mapping(text, shown)
    except UnicodeDecodeError:
        form.correspondance.errors = ["Fichier de correspondance illisible : texte UTF-8 attendu."]
        return None
    except PolicyError as exc:
        form.correspondance.errors = [f"Fichier de correspondance refusé : {exc}"]
        return None
    return shown, text


@blueprint.route("/", methods=["GET", "POST"])
@requires("coordinateur")
def upload() -> ResponseReturnValue:
    form = UploadForm()
    batch = current_batch()
    page = "gp_import_upload.html"
    if request.method == "GET":
        return render_template(page, form=form, batch=batch, columns=GP_COLUMNS)
    if not form.validate():
        return render_template(page, form=form, batch=batch, columns=GP_COLUMNS), 400
    limit = int(current_app.config.get("WEBOPS_MAX_UPLOAD", MAX_UPLOAD_BYTES))
    storage = form.fichier.data if isinstance(form.fichier.data, FileStorage) else None
    name = os.path.basename((storage.filename or "") if storage else "").strip()
    data = storage.stream.read(limit + 1) if storage is not None else b""
    problem = "Choisissez le fichier à importer." if storage is None or not name else None
    problem = problem or check_upload(name, data, limit)
    if problem:
        form.fichier.errors = [problem]
    mapping = _mapping_upload(form)
    if form.fichier.errors or form.correspondance.errors:
        return render_template(page, form=form, batch=batch, columns=GP_COLUMNS), 400
    drop(batch)
    token = secrets.token_hex(16)
    folder = area() / token
    folder.mkdir(mode=0o700)
    safe = stored_name(name, "medecins")
    (folder / safe).write_bytes(data)
    user = current_user()
    assert user is not None
    batch = Batch(
        token=token,
        folder=folder,
        name=safe,
        sheet=(form.feuille.data or "").strip() or None,
        owner=user.login,
        created=context.now(),
        mapping=None if mapping is None else mapping[0],
    )
    if mapping is not None:
        batch.save_mapping(mapping[1])
    batch.save()
    remember(batch)
    return redirect(url_for("gp_import.preview"), 303)


def _render_preview(
    batch: Batch, result: GPImportResult, form: ConfirmForm, status: int = 200
) -> ResponseReturnValue:
    form.etape.data = result.digest()
    rejected: dict[int, list[tuple[str, str]]] = {}
    for problem in result.problems:
        rejected.setdefault(problem.row, []).append((problem.column or "", problem.expected))
    policy = context.settings().policy
    return render_template(
        "gp_import_preview.html",
        batch=batch,
        result=result,
        form=form,
        end_form=StepForm(),
        rejected=sorted(rejected.items()),
        warnings=[without_path(w, batch.folder) for w in result.warnings()],
        commune=policy.commune_name,
        done=batch.outcome,
        limit=PREVIEW_ROWS,
        mapping=batch.mapping,
        corrected=sorted(batch.corrections()),
    ), status


@blueprint.route("/apercu")
@requires("coordinateur")
def preview() -> ResponseReturnValue:
    batch = require_batch()
    try:
        result = read(context.register(), batch)
    except (MtAccessError, OSError) as exc:
        return failed(batch, exc)
    return _render_preview(batch, result, ConfirmForm(formdata=None))


@blueprint.route("/confirmer", methods=["POST"])
@requires("coordinateur")
def confirm() -> ResponseReturnValue:
    batch = require_batch()
    form = ConfirmForm()
    if not form.validate():
        abort(400)
    register = context.register()
    store = register.store
    try:
        with store.transaction():
            result = read(register, batch)
            if result.digest() != form.etape.data:
                stale = True
            else:
                stale = False
                corrected = len(batch.corrections())
                outcome = import_gps(
                    register,
                    result,
                    update=bool(form.mettre_a_jour.data),
                    comment=f"import de {batch.name}"
                    + (f" ({corrected} ligne(s) corrigée(s) à l'import)" if corrected else ""),
                )
                audit(
                    "medecin.importer",
                    None,
                    f"{len(outcome.added)} médecin(s) ajouté(s), {len(outcome.updated)} mis à "
                    f"jour, {len(outcome.identical)} identique(s), {len(outcome.not_updated)} "
                    f"non mis à jour, {len(result.rejected_rows)} ligne(s) non importée(s)"
                    + (f", {corrected} ligne(s) corrigée(s) sur la page" if corrected else ""),
                )
        if stale:
            flash(STALE_IMPORT_MESSAGE, "erreur")
            return _render_preview(batch, result, ConfirmForm(formdata=None), 409)
        if result.problems or result.duplicates:
            batch.report.parent.mkdir(mode=0o700, exist_ok=True)
            write_gp_rejections(result, batch.report)
    except (MtAccessError, OSError) as exc:
        flash(f"Import refusé, rien n'a été enregistré : {french_dates(str(exc))}", "erreur")
        return redirect(url_for("gp_import.preview"), 303)
    context.forget_cached()
    attrs.evolve(
        batch,
        outcome={
            "added": [list(pair) for pair in outcome.added],
            "updated": [list(pair) for pair in outcome.updated],
            "identical": len(outcome.identical),
            "not_updated": [[row, pid, list(h)] for row, pid, h in outcome.not_updated],
        },
    ).save()
    flash(f"Import confirmé : {outcome.summary()}.", "succes")
    return redirect(url_for("gp_import.preview"), 303)


@blueprint.route("/rejets")
@requires("coordinateur")
def rejections() -> ResponseReturnValue:
    """The rows not imported: after the confirmation, the report written then; before, the
    preview's."""
    batch = require_batch()
    if batch.outcome is not None and batch.report.is_file():
        data, name = batch.report.read_bytes(), batch.report.name
    else:
        try:
            result = read(context.register(), batch)
        except (MtAccessError, OSError) as exc:
            return failed(batch, exc)
        if not result.problems and not result.duplicates:
            flash("Aucune ligne rejetée : pas de rapport à télécharger.", "info")
            return redirect(url_for("gp_import.preview"), 303)
        with scratch_folder() as folder:
            path = write_gp_rejections(result, folder / batch.report.name)
            data, name = path.read_bytes(), path.name
    audit("medecin.importer.rejets", None, "rapport des lignes non importées")
    return attachment(data, name)


@blueprint.route("/terminer", methods=["POST"])
@requires("coordinateur")
def finish() -> ResponseReturnValue:
    if not StepForm().validate():
        abort(400)
    drop(current_batch())
    flash("Import terminé : le fichier envoyé a été supprimé du serveur.", "info")
    return redirect(url_for("pages.gps_list"), 303)
