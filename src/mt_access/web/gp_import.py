"""Importing a file of GPs from the browser (blueprint ``gp_import``, « Importer des
médecins » on the GP list): upload, preview, confirm, the rejections report.

The steps are those of ``mt-access medecin importer`` with the same library calls:
:func:`~mt_access.gp_file.read_gp_file` against the register as it is, then
:func:`~mt_access.gp_import.import_gps` (the register's operations, all GPs or
none) with its audit line in the same transaction, and
:func:`~mt_access.gp_import.write_gp_rejections`. No rule of what a GP file may
hold lives here.

The file sent is checked like a form export (:func:`~mt_access.web.ops_import.check_upload`:
extension, size, content) and kept only in a private temporary folder until the import is
ended, another file is sent, or :data:`UPLOAD_MAX_AGE` passes. The preview carries a
fingerprint of what the import would do (:meth:`GPImportResult.digest`): if the register's
GPs changed since, the confirmation is refused, nothing is recorded, and the new preview is
shown. Pages show row numbers, headings and what was expected, never a contact cell's value.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import shutil
from pathlib import Path
from typing import Any

import attrs
from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_wtf.file import FileField
from werkzeug.datastructures import FileStorage
from wtforms import BooleanField, HiddenField, StringField
from wtforms.validators import InputRequired, Length, Optional

from mt_access.cli.registry_base import french_dates
from mt_access.errors import MtAccessError
from mt_access.gp_file import GP_COLUMNS, GPImportResult, read_gp_file
from mt_access.gp_import import import_gps, write_gp_rejections
from mt_access.register import Register
from mt_access.web import context
from mt_access.web.auth import audit, current_user, requires
from mt_access.web.forms import FrenchForm
from mt_access.web.ops_import import MAX_UPLOAD_BYTES, PREVIEW_ROWS, SUFFIXES, check_upload
from mt_access.web.ops_support import (
    attachment,
    owned_upload,
    scratch_folder,
    upload_area,
    without_path,
)

__all__ = ["STALE_IMPORT_MESSAGE", "UPLOAD_MAX_AGE", "blueprint"]

UPLOAD_MAX_AGE = dt.timedelta(hours=2)
"""How long a GP file sent stays on the server when the import is not ended."""

STALE_IMPORT_MESSAGE = (
    "Les médecins du registre ont changé depuis l'aperçu (un autre coordinateur ou une autre "
    "action) : rien n'a été enregistré. Vérifiez le nouvel aperçu ci-dessous, puis confirmez "
    "de nouveau."
)

_EXTENSION = "mt_access_gp_imports"
_SESSION_KEY = "medecins_lot"

blueprint = Blueprint("gp_import", __name__, url_prefix="/medecins/importer")


@attrs.frozen
class _Batch:
    """A GP file being imported: its private folder and who sent it."""

    token: str
    folder: Path
    name: str
    sheet: str | None
    owner: str
    created: dt.datetime
    outcome: dict[str, Any] | None = None

    @property
    def path(self) -> Path:
        return self.folder / self.name

    @property
    def report(self) -> Path:
        return self.folder / "rejets" / f"{Path(self.name).stem}.rejets.csv"

    def save(self) -> None:
        data = {
            "name": self.name,
            "sheet": self.sheet,
            "owner": self.owner,
            "created": self.created.isoformat(),
            "outcome": self.outcome,
        }
        (self.folder / "lot.json").write_text(json.dumps(data), encoding="utf-8")


def _area() -> Path:
    """The application's private folder of GP files being imported (expired ones deleted)."""
    return upload_area(_EXTENSION, "mt-access-medecins-", UPLOAD_MAX_AGE)


def _batch() -> _Batch | None:
    """The current account's GP file being imported, if any (and not expired)."""
    found = owned_upload(_area(), _SESSION_KEY)
    if found is None:
        return None
    token, folder, data = found
    return _Batch(
        token=token,
        folder=folder,
        name=data["name"],
        sheet=data["sheet"],
        owner=data["owner"],
        created=dt.datetime.fromisoformat(data["created"]),
        outcome=data.get("outcome"),
    )


def _drop(batch: _Batch | None) -> None:
    if batch is not None:
        shutil.rmtree(batch.folder, ignore_errors=True)
    session.pop(_SESSION_KEY, None)


def _require_batch() -> _Batch:
    batch = _batch()
    if batch is None:
        flash("Aucun import de médecins en cours (ou il a expiré) : envoyez le fichier à "
              "nouveau.", "erreur")  # fmt: skip
        abort(redirect(url_for("gp_import.upload"), 303))
    return batch


def _read(register: Register, batch: _Batch) -> GPImportResult:
    """The batch's file against the register as it is now (nothing recorded)."""
    return read_gp_file(
        batch.path,
        register.policy,
        physicians=register.physicians(),
        declarations=register.store.ledger_entries(),
        today=context.today(),
        sheet=batch.sheet,
    )


def _failed(batch: _Batch, exc: MtAccessError | OSError) -> ResponseReturnValue:
    message = without_path(str(exc), batch.folder)
    if isinstance(exc, OSError):
        message = "le fichier n'a pas pu être lu"
    _drop(batch)
    flash(f"Import impossible : {message}", "erreur")
    return redirect(url_for("gp_import.upload"), 303)


class UploadForm(FrenchForm):
    """The GP file to import."""

    fichier = FileField("Fichier des médecins (.csv ou .xlsx)")
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


class StepForm(FrenchForm):
    """A button of the import (end): its CSRF token."""


@blueprint.route("/", methods=["GET", "POST"])
@requires("coordinateur")
def upload() -> ResponseReturnValue:
    form = UploadForm()
    batch = _batch()
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
        return render_template(page, form=form, batch=batch, columns=GP_COLUMNS), 400
    _drop(batch)
    token = secrets.token_hex(16)
    folder = _area() / token
    folder.mkdir(mode=0o700)
    safe = "".join(c if c.isalnum() or c in "._- " else "_" for c in name).strip() or "medecins"
    safe = safe if Path(safe).suffix.lower() in SUFFIXES else f"{safe}{Path(name).suffix}"
    (folder / safe).write_bytes(data)
    user = current_user()
    assert user is not None
    _Batch(
        token=token,
        folder=folder,
        name=safe,
        sheet=(form.feuille.data or "").strip() or None,
        owner=user.login,
        created=context.now(),
    ).save()
    session[_SESSION_KEY] = token
    return redirect(url_for("gp_import.preview"), 303)


def _render_preview(
    batch: _Batch, result: GPImportResult, form: ConfirmForm, status: int = 200
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
    ), status


@blueprint.route("/apercu")
@requires("coordinateur")
def preview() -> ResponseReturnValue:
    batch = _require_batch()
    try:
        result = _read(context.register(), batch)
    except (MtAccessError, OSError) as exc:
        return _failed(batch, exc)
    return _render_preview(batch, result, ConfirmForm(formdata=None))


@blueprint.route("/confirmer", methods=["POST"])
@requires("coordinateur")
def confirm() -> ResponseReturnValue:
    batch = _require_batch()
    form = ConfirmForm()
    if not form.validate():
        abort(400)
    register = context.register()
    store = register.store
    try:
        with store.transaction():
            result = _read(register, batch)
            if result.digest() != form.etape.data:
                stale = True
            else:
                stale = False
                outcome = import_gps(
                    register,
                    result,
                    update=bool(form.mettre_a_jour.data),
                    comment=f"import de {batch.name}",
                )
                audit(
                    "medecin.importer",
                    None,
                    f"{len(outcome.added)} médecin(s) ajouté(s), {len(outcome.updated)} mis à "
                    f"jour, {len(outcome.identical)} identique(s), {len(outcome.not_updated)} "
                    f"non mis à jour, {len(result.rejected_rows)} ligne(s) non importée(s)",
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
    batch = _require_batch()
    if batch.outcome is not None and batch.report.is_file():
        data, name = batch.report.read_bytes(), batch.report.name
    else:
        try:
            result = _read(context.register(), batch)
        except (MtAccessError, OSError) as exc:
            return _failed(batch, exc)
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
    _drop(_batch())
    flash("Import terminé : le fichier envoyé a été supprimé du serveur.", "info")
    return redirect(url_for("pages.gps_list"), 303)
