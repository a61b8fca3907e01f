"""Correcting a rejected row of a GP file on the page « Importer des médecins », before the
confirmation (route ``gp_import.correct`` of the blueprint of
:mod:`mt_access.web.gp_import_batch`).

The form shows the row's cells of the columns the import reads, except the practice's
contact cells (never shown: the one in fault is offered empty, to type again or leave empty);
the cells sent are kept with the file (``Batch.save_corrections`` of
:mod:`mt_access.web.gp_import_batch`), never in the file itself, only when the whole file read
again with them gives the row no problem and no duplicate: the same reading as the preview
and the command line (:func:`~mt_access.gp_file.read_gp_table`), so no rule lives here.
Nothing is recorded in the register until the coordinator confirms the import, which then
holds the corrected row (all GPs or none, as before).

The form carries the preview's fingerprint (:meth:`~mt_access.gp_file.GPImportResult.digest`):
a correction sent after the register's GPs or the file's other corrections changed is
refused (HTTP 409, nothing kept). A correction after the confirmation is refused. Audit:
``medecin.importer.ligne.afficher`` (the form shown) and ``medecin.importer.corriger``, with
the row number only.
"""

from __future__ import annotations

import threading

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from wtforms import HiddenField
from wtforms.validators import InputRequired

from mt_access.controls import has_control
from mt_access.errors import MtAccessError
from mt_access.gp_file import GP_COLUMNS, GPImportResult
from mt_access.gp_file_cells import BY_FIELD
from mt_access.intake.tabular import Row, Table
from mt_access.web import context
from mt_access.web.auth import DISPLAYED, audit, requires
from mt_access.web.forms import CONTROL_MESSAGE, FrenchForm
from mt_access.web.gp_import_batch import (
    Batch,
    Corrections,
    blueprint,
    failed,
    read,
    require_batch,
)
from mt_access.web.ops_import import MAX_CELL
from mt_access.web.ops_support import without_path

__all__ = ["STALE_ROW_MESSAGE", "correct"]

STALE_ROW_MESSAGE = (
    "L'aperçu a changé depuis l'ouverture de ce formulaire (médecins du registre ou autre "
    "correction) : rien n'a été gardé. Vérifiez la ligne ci-dessous, puis envoyez-la de "
    "nouveau."
)


_SAVING = threading.Lock()
"""Held from the check of a correction's fingerprint to its saving: two corrections sent at
once (two tabs) never both pass the check on the same corrections, one losing the other."""


class RowForm(FrenchForm):
    """The correction of a row: its CSRF token and the preview's fingerprint (the cells are
    named by the columns read, ``champ-<field>``)."""

    etape = HiddenField(validators=[InputRequired(message="Page incomplète : rechargez-la.")])


def _row(table: Table, number: int) -> Row:
    for row in table.rows:
        if row.number == number:
            return row
    abort(404)


def _errors(
    result: GPImportResult, number: int, fields: dict[str, str]
) -> tuple[dict[str, list[str]], list[str]]:
    """The row's problems by field of the form, and those of no field (or a duplicate)."""
    by_header = {header: field for field, header in fields.items()}
    errors: dict[str, list[str]] = {field: [] for field in fields}
    general: list[str] = []
    for problem in result.problems:
        if problem.row != number:
            continue
        field = by_header.get(problem.column or "")
        if field is None:
            general.append(problem.expected)
        else:
            errors[field].append(problem.expected)
    general.extend(d.explanation for d in result.duplicates if d.row == number)
    return errors, general


def _try(
    batch: Batch,
    corrections: Corrections,
    number: int,
    fields: dict[str, str],
    sent: dict[str, str],
) -> tuple[dict[str, list[str]], list[str], int]:
    """Row ``number`` read again with the cells ``sent`` (by field) over ``corrections``,
    the corrections the form was made from: kept and audited when it then has no problem and
    is no duplicate (status 303); else its problems by field and the others (400), or the
    corrections changed meanwhile (409). Nothing kept but on 303."""
    if batch.corrections() != corrections:
        return {f: [] for f in fields}, [STALE_ROW_MESSAGE], 409
    cells = {**corrections.get(number, {}), **{fields[f]: v for f, v in sent.items()}}
    trial = {**corrections, number: cells}
    try:
        checked = read(context.register(), batch, batch.table(trial))
    except (MtAccessError, OSError) as exc:
        return {f: [] for f in fields}, [without_path(str(exc), batch.folder)], 400
    errors, general = _errors(checked, number, fields)
    if any(errors.values()) or general:
        return errors, general, 400
    batch.save_corrections(trial)
    audit("medecin.importer.corriger", None, f"ligne {number}")
    return errors, general, 303


@blueprint.route("/lignes/<int:number>", methods=["GET", "POST"])
@requires("coordinateur")
def correct(number: int) -> ResponseReturnValue:
    batch = require_batch()
    if batch.outcome is not None:
        flash(
            "L'import est déjà confirmé : une ligne ne se corrige plus ici. Envoyez un fichier "
            "avec les lignes restantes (les médecins déjà enregistrés ne le seront pas deux "
            "fois).",
            "erreur",
        )
        return redirect(url_for("gp_import.preview"), 303)
    register = context.register()
    corrections = batch.corrections()
    try:
        table = batch.table(corrections)
        result = read(register, batch, table)
    except (MtAccessError, OSError) as exc:
        return failed(batch, exc)
    row = _row(table, number)
    columns = dict(result.columns)
    errors, general = _errors(result, number, columns)
    if not any(errors.values()) and not general:
        flash(f"La ligne {number} n'a pas de problème à corriger.", "info")
        return redirect(url_for("gp_import.preview"), 303)
    # the columns read, but a contact detail only when it is at fault (shown empty)
    fields = {
        c.field: columns[c.field]
        for c in GP_COLUMNS
        if c.field in columns and (not c.contact or errors[c.field])
    }
    values = {f: "" if BY_FIELD[f].contact else row.values.get(h, "") for f, h in fields.items()}
    form = RowForm(formdata=None) if request.method == "GET" else RowForm()
    status = 200
    if request.method == "GET":
        audit("medecin.importer.ligne.afficher", None, f"ligne {number}", durable=DISPLAYED)
    else:
        if not form.validate():
            abort(400)
        # a cell not sent is the one the form shows (a contact detail at fault: empty)
        given = {f: request.form.get(f"champ-{f}", values[f]) for f in fields}
        sent = {f: v.strip() for f, v in given.items()}
        values = {f: "" if BY_FIELD[f].contact else v for f, v in sent.items()}
        errors = {f: [f"{MAX_CELL} caractères au plus."] if len(given[f]) > MAX_CELL else []
                  for f in fields}  # fmt: skip
        for f in fields:  # a NUL or an escape sequence would be recorded
            if not errors[f] and has_control(given[f]):
                errors[f] = [CONTROL_MESSAGE]
        general = []
        status = 400
        if result.digest() != form.etape.data:
            general = [STALE_ROW_MESSAGE]
            status = 409
        elif not any(errors.values()):
            with _SAVING:
                errors, general, status = _try(batch, corrections, number, fields, sent)
        if status == 303:
            flash(
                f"Ligne {number} corrigée : elle sera importée à la confirmation (le fichier "
                "envoyé n'est pas modifié).",
                "succes",
            )
            return redirect(url_for("gp_import.preview"), 303)
    form.etape.data = result.digest()
    return render_template(
        "gp_import_row.html",
        batch=batch,
        number=number,
        fields=[(f, h, BY_FIELD[f]) for f, h in fields.items()],
        values=values,
        errors=errors,
        general=general,
        form=form,
    ), status
