"""The GP file being imported from the browser (« Importer des médecins »), kept between its
pages: the blueprint ``gp_import`` (its pages are in :mod:`mt_access.web.gp_import` and
:mod:`mt_access.web.gp_import_rows`), the private folder of each file sent, and the reading
of that file against the register.

A file sent is kept in a private temporary folder (mode 0700, one per upload, the session
holding only its random name) with ``lot.json`` (its name, sheet, owner, time, outcome), the
mapping of its headings when one was sent (``correspondance.yaml``) and the corrections of its
rejected rows made on the page (``corrections.json``: cells by row number, applied over the
file's own cells at each reading). The folder is deleted when the import ends, another file is
sent, or :data:`UPLOAD_MAX_AGE` passes.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from pathlib import Path
from typing import Any

import attrs
from flask import Blueprint, abort, flash, redirect, session, url_for
from flask.typing import ResponseReturnValue

from mt_access.errors import MtAccessError
from mt_access.gp_file import GPImportResult, read_gp_table
from mt_access.gp_mapping import GPMapping, parse_gp_mapping
from mt_access.intake.tabular import Row, Table, read_table
from mt_access.register import Register
from mt_access.web import context
from mt_access.web.forms import FrenchForm
from mt_access.web.ops_support import owned_upload, upload_area, without_path

__all__ = [
    "UPLOAD_MAX_AGE",
    "Batch",
    "Corrections",
    "StepForm",
    "area",
    "blueprint",
    "current_batch",
    "drop",
    "failed",
    "read",
    "remember",
    "require_batch",
]

UPLOAD_MAX_AGE = dt.timedelta(hours=2)
"""How long a GP file sent stays on the server when the import is not ended."""

_EXTENSION = "mt_access_gp_imports"
_SESSION_KEY = "medecins_lot"
_MAPPING_FILE = "correspondance.yaml"
_CORRECTIONS_FILE = "corrections.json"

blueprint = Blueprint("gp_import", __name__, url_prefix="/medecins/importer")

Corrections = dict[int, dict[str, str]]
"""The cells corrected on the page, ``{row number: {file heading: text}}``."""


@attrs.frozen
class Batch:
    """A GP file being imported: its private folder, who sent it, and the name of the
    mapping file sent with it (``None``: the built-in headings)."""

    token: str
    folder: Path
    name: str
    sheet: str | None
    owner: str
    created: dt.datetime
    outcome: dict[str, Any] | None = None
    mapping: str | None = None

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
            "mapping": self.mapping,
        }
        _write(self.folder / "lot.json", json.dumps(data))

    def save_mapping(self, text: str) -> None:
        _write(self.folder / _MAPPING_FILE, text)

    def gp_mapping(self) -> GPMapping | None:
        """The mapping sent with the file, read again (named as the coordinator sent it).

        Raises:
            PolicyError: the mapping is invalid (it was checked when sent).
        """
        if self.mapping is None:
            return None
        text = (self.folder / _MAPPING_FILE).read_text(encoding="utf-8")
        return parse_gp_mapping(text, self.mapping)

    def corrections(self) -> Corrections:
        try:
            data = json.loads((self.folder / _CORRECTIONS_FILE).read_text("utf-8"))
        except FileNotFoundError:
            return {}
        return {int(row): dict(cells) for row, cells in data.items()}

    def save_corrections(self, corrections: Corrections) -> None:
        data = {str(row): cells for row, cells in sorted(corrections.items())}
        _write(self.folder / _CORRECTIONS_FILE, json.dumps(data))

    def table(self, corrections: Corrections | None = None) -> Table:
        """The file's cells, with the corrections (``corrections``, else those kept) over
        its own.

        Raises:
            IntakeError, OSError: the file cannot be read.
        """
        table = read_table(self.path, sheet=self.sheet)
        fixed = self.corrections() if corrections is None else corrections
        if not fixed:
            return table
        rows = tuple(
            Row(row.number, {**row.values, **fixed[row.number]}) if row.number in fixed else row
            for row in table.rows
        )
        return attrs.evolve(table, rows=rows)


def _write(path: Path, text: str) -> None:
    """``text`` written whole or not at all (another request may be reading it)."""
    partial = path.with_name(f".{path.name}.tmp")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)


def area() -> Path:
    """The application's private folder of GP files being imported (expired ones deleted)."""
    return upload_area(_EXTENSION, "mt-access-medecins-", UPLOAD_MAX_AGE)


def current_batch() -> Batch | None:
    """The current account's GP file being imported, if any (and not expired)."""
    found = owned_upload(area(), _SESSION_KEY)
    if found is None:
        return None
    token, folder, data = found
    return Batch(
        token=token,
        folder=folder,
        name=data["name"],
        sheet=data["sheet"],
        owner=data["owner"],
        created=dt.datetime.fromisoformat(data["created"]),
        outcome=data.get("outcome"),
        mapping=data.get("mapping"),
    )


def remember(batch: Batch) -> None:
    """``batch`` becomes the session's GP file being imported."""
    session[_SESSION_KEY] = batch.token


def drop(batch: Batch | None) -> None:
    """``batch``'s folder deleted, and the session forgets it."""
    if batch is not None:
        shutil.rmtree(batch.folder, ignore_errors=True)
    session.pop(_SESSION_KEY, None)


def require_batch() -> Batch:
    """The current GP file being imported; else back to the upload page, said in French."""
    batch = current_batch()
    if batch is None:
        flash("Aucun import de médecins en cours (ou il a expiré) : envoyez le fichier à "
              "nouveau.", "erreur")  # fmt: skip
        abort(redirect(url_for("gp_import.upload"), 303))
    return batch


def read(register: Register, batch: Batch, table: Table | None = None) -> GPImportResult:
    """The batch's file with its corrections (or ``table``, :meth:`Batch.table` with other
    corrections) against the register as it is now (nothing recorded).

    Raises:
        MtAccessError, OSError: the file or its mapping cannot be read.
    """
    return read_gp_table(
        batch.table() if table is None else table,
        register.policy,
        physicians=register.physicians(),
        declarations=register.store.ledger_entries(),
        today=context.today(),
        mapping=batch.gp_mapping(),
    )


def failed(batch: Batch, exc: MtAccessError | OSError) -> ResponseReturnValue:
    """The file cannot be imported at all: the French reason, the batch dropped."""
    message = without_path(str(exc), batch.folder)
    if isinstance(exc, OSError):
        message = "le fichier n'a pas pu être lu"
    drop(batch)
    flash(f"Import impossible : {message}", "erreur")
    return redirect(url_for("gp_import.upload"), 303)


class StepForm(FrenchForm):
    """A button of the import (end): its CSRF token."""
