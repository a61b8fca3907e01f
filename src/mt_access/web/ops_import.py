"""Importing a form export from the browser (blueprint ``import``): upload, preview, confirm,
the rejections report, and correcting a rejected row.

The steps are those of ``mt-access import`` with the same library calls:
:func:`~mt_access.intake.import_file` (with the register's known persons and imported rows),
then :meth:`~mt_access.register.Register.import_intake` (all rows or none, a row never
imported twice), then :func:`~mt_access.intake.write_rejections`.

The file sent is checked on the server (extension, size, content) and kept only in a private
temporary folder (one per application, readable by its owner only) until the coordinator
ends the import, sends another file, or :data:`UPLOAD_MAX_AGE` passes; it is then deleted.
The session holds only the random name of that folder. Pages show row numbers, column
headers and what was expected, never a cell's value, except the correction form, which shows
the cells of the columns to correct (what the coordinator sent) and is audited.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import os
import secrets
import shutil
import zipfile
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
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from werkzeug.datastructures import FileStorage
from wtforms import StringField
from wtforms.validators import Length, Optional, ValidationError

from mt_access.cli.common import parse_date
from mt_access.controls import has_control
from mt_access.errors import MtAccessError
from mt_access.intake import import_file, import_table, write_rejections
from mt_access.intake.forms import FormMapping, available_presets
from mt_access.intake.mapping_file import load_mapping, load_mapping_file
from mt_access.intake.records import IntakeResult
from mt_access.intake.tabular import Row, Table, read_table
from mt_access.register import Register
from mt_access.web import context
from mt_access.web.auth import DISPLAYED, audit, current_user, requires
from mt_access.web.forms import CONTROL_MESSAGE, choices
from mt_access.web.ops_support import (
    ChoiceField,
    attachment,
    forget_cached,
    owned_upload,
    scratch_folder,
    upload_area,
    without_path,
)

__all__ = [
    "MAX_MAPPING_BYTES",
    "MAX_UPLOAD_BYTES",
    "PREVIEW_ROWS",
    "UPLOAD_MAX_AGE",
    "blueprint",
    "check_mapping_upload",
    "check_upload",
    "stored_name",
]

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
"""The largest export accepted (10 Mio: about 50,000 rows of a form); the application
setting ``WEBOPS_MAX_UPLOAD`` may lower it."""

MAX_MAPPING_BYTES = 256 * 1024
"""The largest mapping file accepted."""

UPLOAD_MAX_AGE = dt.timedelta(hours=2)
"""How long an export sent stays on the server when the import is not ended."""

PREVIEW_ROWS = 500
"""Rows shown, at most, in each table of the preview (the counts are whole; the rejections
report lists every rejected row)."""

MAX_CELL = 1000
"""The longest cell a correction may hold."""

SUFFIXES = {".csv": "csv", ".xlsx": "xlsx"}
_EXTENSION = "mt_access_imports"
_SESSION_KEY = "import_lot"
_POLICY_MAPPING = "politique"
_FILE_MAPPING = "fichier"

blueprint = Blueprint("import", __name__, url_prefix="/import")


# ------------------------------------------------------------------------------------------
# Checking the file sent


def check_upload(name: str, data: bytes, limit: int = MAX_UPLOAD_BYTES) -> str | None:
    """What is wrong with an export sent as ``name`` (French), or ``None``: the extension
    (``.csv`` or ``.xlsx``), the size, and the content (an XLSX is a zip holding a workbook;
    a CSV is text, without NUL bytes unless UTF-16 with its byte order mark, not a zip nor
    a PDF)."""
    suffix = Path(name).suffix.lower()
    kind = SUFFIXES.get(suffix)
    if kind is None:
        return "Type de fichier non accepté : un export .csv ou .xlsx est attendu."
    if not data:
        return "Le fichier est vide."
    if len(data) > limit:
        return f"Fichier trop volumineux : {_size(limit)} au plus."
    if kind == "xlsx":
        if not data.startswith(b"PK\x03\x04"):
            return "Ce fichier n'est pas un classeur .xlsx (son contenu ne correspond pas)."
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                names = set(archive.namelist())
        except zipfile.BadZipFile:
            return "Ce classeur .xlsx est endommagé ou incomplet."
        if "[Content_Types].xml" not in names or not any(n.startswith("xl/") for n in names):
            return "Ce fichier n'est pas un classeur .xlsx (son contenu ne correspond pas)."
        return None
    head = data[:65536]
    utf16 = head.startswith((b"\xff\xfe", b"\xfe\xff"))  # Excel's « texte Unicode »
    if head.startswith((b"PK\x03\x04", b"%PDF", b"\xd0\xcf\x11\xe0")) or (
        b"\x00" in head and not utf16
    ):
        return "Ce fichier n'est pas un fichier texte .csv (son contenu ne correspond pas)."
    return None


STORED_NAME_CHARACTERS = 60
"""The longest name (its suffix apart) an upload is kept under: 4 bytes a character at most
in UTF-8, within the 255 bytes a file name has on the usual file systems."""


def stored_name(name: str, default: str) -> str:
    """The name an export sent as ``name`` is kept under in its private folder: letters,
    digits and ``._- `` (others become ``_``), cut to :data:`STORED_NAME_CHARACTERS`
    characters so that the file system takes it, its suffix (``.csv``, ``.xlsx``) kept
    (``name`` passed :func:`check_upload`)."""
    safe = "".join(c if c.isalnum() or c in "._- " else "_" for c in name).strip() or default
    suffix = Path(name).suffix
    if Path(safe).suffix.lower() in SUFFIXES:
        suffix = Path(safe).suffix
        safe = safe[: -len(suffix)]
    return (safe[:STORED_NAME_CHARACTERS].strip() or default) + suffix


def check_mapping_upload(name: str, data: bytes) -> str | None:
    """What is wrong with a mapping file sent as ``name`` (French), or ``None``: a
    ``.yaml``/``.yml`` file, not empty, of text, within :data:`MAX_MAPPING_BYTES` (its
    content is checked by the reader of the mapping)."""
    if not name or not data:
        return "Envoyez le fichier de correspondance .yaml."
    if Path(name).suffix.lower() not in (".yaml", ".yml"):
        return "Un fichier .yaml ou .yml est attendu."
    if len(data) > MAX_MAPPING_BYTES or b"\x00" in data:
        return (
            f"Fichier de correspondance trop gros ou illisible ({_size(MAX_MAPPING_BYTES)} "
            "de texte au plus)."
        )
    return None


def _size(limit: int) -> str:
    if limit >= 1024 * 1024:
        return f"{limit / (1024 * 1024):.0f} Mio".replace(".", ",")
    if limit >= 1024:
        return f"{limit // 1024} Kio"
    return f"{limit} octets"


def _read_upload(storage: FileStorage | None, limit: int) -> bytes:
    if storage is None:
        return b""
    return storage.stream.read(limit + 1)


# ------------------------------------------------------------------------------------------
# The batch kept between the steps


@attrs.frozen
class Batch:
    """An export being imported: its private folder and what the coordinator chose."""

    token: str
    folder: Path
    name: str
    mapping: str
    sheet: str | None
    received: dt.date | None
    owner: str
    created: dt.datetime
    outcome: dict[str, Any] | None = None
    corrected: dict[str, str] = attrs.field(factory=dict)
    """The rows corrected here, and the request each became."""

    @property
    def path(self) -> Path:
        return self.folder / self.name

    def save(self) -> None:
        data = {
            "name": self.name,
            "mapping": self.mapping,
            "sheet": self.sheet,
            "received": self.received.isoformat() if self.received else None,
            "owner": self.owner,
            "created": self.created.isoformat(),
            "outcome": self.outcome,
            "corrected": self.corrected,
        }
        (self.folder / "lot.json").write_text(json.dumps(data), encoding="utf-8")


def _area() -> Path:
    """The application's private folder of exports being imported (expired ones deleted)."""
    return upload_area(_EXTENSION, "mt-access-imports-", UPLOAD_MAX_AGE)


def _batch() -> Batch | None:
    """The current account's export being imported, if any (and not expired)."""
    found = owned_upload(_area(), _SESSION_KEY)
    if found is None:
        return None
    token, folder, data = found
    received = data["received"]
    return Batch(
        token=token,
        folder=folder,
        name=data["name"],
        mapping=data["mapping"],
        sheet=data["sheet"],
        received=dt.date.fromisoformat(received) if received else None,
        owner=data["owner"],
        created=dt.datetime.fromisoformat(data["created"]),
        outcome=data.get("outcome"),
        corrected=dict(data.get("corrected") or {}),
    )


def _drop(batch: Batch | None) -> None:
    if batch is not None:
        shutil.rmtree(batch.folder, ignore_errors=True)
    session.pop(_SESSION_KEY, None)


def _require_batch() -> Batch:
    batch = _batch()
    if batch is None:
        flash("Aucun import en cours (ou il a expiré) : envoyez le fichier à nouveau.", "erreur")
        abort(redirect(url_for("import.upload"), 303))
    return batch


def _mapping(batch: Batch) -> FormMapping | None:
    questions = context.settings().policy.questions
    if batch.mapping == _POLICY_MAPPING:
        return None
    if batch.mapping == _FILE_MAPPING:
        return load_mapping_file(batch.folder / "correspondance.yaml", questions)
    return load_mapping(batch.mapping, questions)


def _run(register: Register, batch: Batch) -> IntakeResult:
    """The import of the batch's file against the register as it is now (nothing recorded):
    what ``mt-access import`` reads."""
    return import_file(
        batch.path,
        register.policy,
        sheet=batch.sheet,
        mapping=_mapping(batch),
        known=register.known_persons(),
        received=batch.received,
        imported=register.imported_rows,
    )


def _failed(batch: Batch, exc: MtAccessError | OSError) -> ResponseReturnValue:
    """The file cannot be imported at all: the French reason, the batch dropped."""
    message = without_path(str(exc), batch.folder)
    if isinstance(exc, OSError):
        message = "le fichier n'a pas pu être lu"
    _drop(batch)
    flash(f"Import impossible : {message}", "erreur")
    return redirect(url_for("import.upload"), 303)


# ------------------------------------------------------------------------------------------
# Forms


class UploadForm(FlaskForm):  # type: ignore[misc]
    """The export to import and how to read it."""

    fichier = FileField("Export du formulaire (.csv ou .xlsx)")
    correspondance = ChoiceField("Correspondance des colonnes", choices=[])
    fichier_correspondance = FileField(
        "Fichier de correspondance (.yaml), si vous avez choisi « fichier »"
    )
    feuille = StringField(
        "Feuille du classeur (facultatif)",
        validators=[Optional(), Length(max=100, message="100 caractères au plus.")],
    )
    date_reception = StringField(
        "Date de réception des lignes sans date (facultatif)",
        validators=[Optional(), Length(max=10, message="Une date jj/mm/aaaa.")],
    )

    def validate_date_reception(self, field: StringField) -> None:
        if (field.data or "").strip():
            try:
                parse_date(field.data)
            except argparse.ArgumentTypeError as exc:
                raise ValidationError(str(exc).capitalize() + ".") from None


class StepForm(FlaskForm):  # type: ignore[misc]
    """A button of the import (confirm, end, correct): its CSRF token."""


def _upload_form() -> UploadForm:
    form = UploadForm()
    policy = context.settings().policy
    own = "celle de la politique" if policy.intake is not None else "modèle générique"
    pairs = [(_POLICY_MAPPING, f"Politique du registre ({own})")]
    pairs += [(name, f"Modèle livré « {name} »") for name in available_presets()]
    pairs.append((_FILE_MAPPING, "Fichier de correspondance déduit (à envoyer ci-dessous)"))
    form.correspondance.choices = choices(pairs)
    if not form.correspondance.data:
        form.correspondance.data = _POLICY_MAPPING
    return form


# ------------------------------------------------------------------------------------------
# Pages


@blueprint.route("/", methods=["GET", "POST"])
@requires("coordinateur")
def upload() -> ResponseReturnValue:
    form = _upload_form()
    batch = _batch()
    if request.method == "GET":
        return render_template("ops/import_upload.html", form=form, batch=batch)
    if not form.validate():
        return render_template("ops/import_upload.html", form=form, batch=batch), 400
    limit = int(current_app.config.get("WEBOPS_MAX_UPLOAD", MAX_UPLOAD_BYTES))
    storage = form.fichier.data if isinstance(form.fichier.data, FileStorage) else None
    name = os.path.basename((storage.filename or "") if storage else "").strip()
    data = _read_upload(storage, limit)
    problem = "Choisissez le fichier à importer." if storage is None or not name else None
    problem = problem or check_upload(name, data, limit)
    if problem:
        form.fichier.errors = [problem]
    mapping_data = b""
    if form.correspondance.data == _FILE_MAPPING:
        given = form.fichier_correspondance.data
        given = given if isinstance(given, FileStorage) else None
        mapping_data = _read_upload(given, MAX_MAPPING_BYTES)
        mapping_name = (given.filename or "") if given else ""
        mapping_problem = check_mapping_upload(mapping_name, mapping_data)
        if mapping_problem:
            form.fichier_correspondance.errors = [mapping_problem]
    if form.fichier.errors or form.fichier_correspondance.errors:
        return render_template("ops/import_upload.html", form=form, batch=batch), 400
    _drop(batch)
    token = secrets.token_hex(16)
    folder = _area() / token
    folder.mkdir(mode=0o700)
    safe = stored_name(name, "export")
    (folder / safe).write_bytes(data)
    if mapping_data:
        (folder / "correspondance.yaml").write_bytes(mapping_data)
    user = current_user()
    assert user is not None
    Batch(
        token=token,
        folder=folder,
        name=safe,
        mapping=str(form.correspondance.data),
        sheet=(form.feuille.data or "").strip() or None,
        received=parse_date(form.date_reception.data) if form.date_reception.data else None,
        owner=user.login,
        created=context.now(),
    ).save()
    session[_SESSION_KEY] = token
    return redirect(url_for("import.preview"), 303)


@blueprint.route("/apercu")
@requires("coordinateur")
def preview() -> ResponseReturnValue:
    batch = _require_batch()
    register = context.register()
    try:
        result = _run(register, batch)
        used = _mapping(batch) or register.policy.intake
    except (MtAccessError, OSError) as exc:
        return _failed(batch, exc)
    # as the command line: the generic preset names many columns a file may not have
    absent = used is not None and used.preset != "generique"
    return render_template(
        "ops/import_preview.html",
        batch=batch,
        result=result,
        form=StepForm(),
        warnings=[without_path(w, batch.folder) for w in result.warnings(absent=absent)],
        commune=_commune,
        rejected=_rejected_rows(result),
        done=batch.outcome,
        corrected=batch.corrected,
        limit=PREVIEW_ROWS,
    )


def _commune(code: str) -> str:
    from mt_access.web.pages import commune_name

    return commune_name(context.settings().policy, code)


def _rejected_rows(result: IntakeResult) -> list[tuple[int, list[tuple[str, str]]]]:
    """``(row, [(column, expected)])`` of the rows with a problem, by row."""
    rows: dict[int, list[tuple[str, str]]] = {}
    for problem in result.problems:
        rows.setdefault(problem.row, []).append((problem.column or "", problem.expected))
    return sorted(rows.items())


@blueprint.route("/confirmer", methods=["POST"])
@requires("coordinateur")
def confirm() -> ResponseReturnValue:
    batch = _require_batch()
    if not StepForm().validate():
        abort(400)
    register = context.register()
    try:
        result = _run(register, batch)
        with register.store.transaction():
            outcome = register.import_intake(result, comment=f"import de {batch.name}")
            audit(
                "import.confirmer",
                None,
                f"{len(outcome.registered)} demande(s) enregistrée(s), "
                f"{len(outcome.already_imported)} ligne(s) déjà importée(s), "
                f"{len(outcome.rejected_rows)} ligne(s) non importée(s)",
            )
        if result.problems or result.duplicates:
            # the report of the rows not imported, as the command line writes it at import
            _report_path(batch).parent.mkdir(mode=0o700, exist_ok=True)
            write_rejections(result, _report_path(batch))
    except (MtAccessError, OSError) as exc:
        return _failed(batch, exc)
    forget_cached()
    batch = attrs.evolve(
        batch,
        outcome={
            "registered": [list(pair) for pair in outcome.registered],
            "already": [list(pair) for pair in outcome.already_imported],
            "out_of_scope": list(outcome.out_of_scope),
        },
    )
    batch.save()
    if outcome.nothing_new:
        flash(
            f"Déjà importé : ses {len(outcome.already_imported)} ligne(s) importable(s) l'ont "
            "déjà été ; aucune demande ajoutée.",
            "info",
        )
    else:
        flash(f"{without_path(outcome.summary(), batch.folder)}.", "succes")
    return redirect(url_for("import.preview"), 303)


def _report_path(batch: Batch) -> Path:
    return batch.folder / "rejets" / f"{Path(batch.name).stem}.rejets.csv"


@blueprint.route("/rejets")
@requires("coordinateur")
def rejections() -> ResponseReturnValue:
    """The rows not imported: after the confirmation, the report written then (as
    ``mt-access import`` writes it); before, the preview's."""
    batch = _require_batch()
    kept = _report_path(batch)
    if batch.outcome is not None and kept.is_file():
        data, name = kept.read_bytes(), kept.name
    else:
        try:
            result = _run(context.register(), batch)
        except (MtAccessError, OSError) as exc:
            return _failed(batch, exc)
        if not result.problems and not result.duplicates:
            flash("Aucune ligne rejetée : pas de rapport à télécharger.", "info")
            return redirect(url_for("import.preview"), 303)
        with scratch_folder() as folder:
            path = write_rejections(result, folder / kept.name)
            data, name = path.read_bytes(), path.name
    audit("import.rejets", None, "rapport des lignes non importées")
    return attachment(data, name)


@blueprint.route("/terminer", methods=["POST"])
@requires("coordinateur")
def finish() -> ResponseReturnValue:
    if not StepForm().validate():
        abort(400)
    _drop(_batch())
    flash("Import terminé : le fichier envoyé a été supprimé du serveur.", "info")
    return redirect(url_for("import.upload"), 303)


# ------------------------------------------------------------------------------------------
# Correcting a rejected row


def _table_row(batch: Batch, number: int) -> tuple[Table, Row]:
    table = read_table(batch.path, sheet=batch.sheet)
    for row in table.rows:
        if row.number == number:
            return table, row
    abort(404)


def _columns(problems: list[tuple[str, str]], headers: tuple[str, ...]) -> list[str]:
    """The file's columns a row's problems name (« A + B » names two), in file order."""
    named: set[str] = set()
    for column, _ in problems:
        named.update(part for part in column.split(" + ") if part in headers)
    return [h for h in headers if h in named]


@blueprint.route("/lignes/<int:number>", methods=["GET", "POST"])
@requires("coordinateur")
def correct(number: int) -> ResponseReturnValue:
    batch = _require_batch()
    register = context.register()
    try:
        result = _run(register, batch)
        table, row = _table_row(batch, number)
    except (MtAccessError, OSError) as exc:
        return _failed(batch, exc)
    problems = dict(_rejected_rows(result)).get(number)
    if str(number) in batch.corrected:
        rid = batch.corrected[str(number)]
        flash(f"La ligne {number} a déjà été corrigée : demande {rid}.", "info")
        return redirect(url_for("pages.request_page", rid=rid), 303)
    if not problems:
        flash(f"La ligne {number} n'a pas de problème à corriger.", "info")
        return redirect(url_for("import.preview"), 303)
    columns = _columns(problems, table.headers)
    values = {c: row.values.get(c, "") for c in columns}
    errors = {c: [e for col, e in problems if c in col.split(" + ")] for c in columns}
    general = [e for col, e in problems if not any(c in col.split(" + ") for c in columns)]
    form = StepForm()
    status = 200
    if request.method == "POST":
        if not form.validate():
            abort(400)
        given = {c: request.form.get(f"colonne-{i}", "") for i, c in enumerate(columns)}
        refused = {c: [f"{MAX_CELL} caractères au plus."] for c, v in given.items()
                   if len(v) > MAX_CELL}  # fmt: skip
        refused.update(  # a NUL or an escape sequence would be recorded
            (c, [CONTROL_MESSAGE]) for c, v in given.items() if c not in refused and has_control(v)
        )
        errors.update(refused)
        values = {c: v.strip() for c, v in given.items()}
        if not refused:
            fixed = Row(number, {**row.values, **values})
            one = Table(table.source, table.headers, (fixed,), table.encoding, table.delimiter)
            try:
                single = import_table(
                    one,
                    register.policy,
                    mapping=_mapping(batch),
                    known=register.known_persons(),
                    received=batch.received,
                    imported=register.imported_rows,
                )
                if single.accepted:
                    with register.store.transaction():
                        outcome = register.import_intake(
                            single, comment=f"import de {batch.name}, ligne {number} corrigée"
                        )
                        new = outcome.registered[0][1] if outcome.registered else None
                        audit("import.corriger", new, f"ligne {number}")
                    if new is not None:
                        forget_cached()
                        attrs.evolve(batch, corrected={**batch.corrected, str(number): new}).save()
                        flash(f"Ligne {number} corrigée : demande {new} enregistrée.", "succes")
                        return redirect(url_for("pages.request_page", rid=new), 303)
            except MtAccessError as exc:
                general = [without_path(str(exc), batch.folder)]
                single = None
            if single is not None:
                for duplicate in single.duplicates:
                    general.append(duplicate.explanation)
                for _row, known in single.already_imported:
                    general.append(f"ligne déjà importée (demande {known})")
                errors = {c: [] for c in columns}
                for problem in single.problems:
                    parts = (problem.column or "").split(" + ")
                    targets = [c for c in columns if c in parts]
                    for c in targets:
                        errors[c].append(problem.expected)
                    if not targets:
                        general.append(str(problem))
        status = 400
    else:
        audit("import.ligne.afficher", None, f"ligne {number}", durable=DISPLAYED)
    return render_template(
        "ops/import_row.html",
        batch=batch,
        number=number,
        columns=list(enumerate(columns)),
        values=values,
        errors=errors,
        general=general,
        form=form,
    ), status
