"""The availability map, the monthly report and the exports (blueprint ``downloads``).

* ``/carte``: the availability map of :mod:`mt_access.maps` (``mt-access carte``) shown in a
  frame. The map is one self-contained page whose scripts and styles are inline (Leaflet
  from the package's static files): it is served at ``/carte/vue`` with a Content Security
  Policy of its own that allows exactly its scripts (by their SHA-256), no other source but
  the tiles chosen, and runs it sandboxed (no access to the application's cookies or pages);
  every other page keeps the application's policy (no inline script or style).
* ``/rapport``: the monthly report as ``mt-access rapport`` writes it (workbook, plots, map)
  in one ZIP file.
* ``/exports``: the export of the requests as ``mt-access export`` writes it (XLSX, CSV as
  French Excel opens it or standard CSV), pseudonymised or not; with names and contacts only
  for a coordinator, audited.
"""

from __future__ import annotations

import base64
import hashlib
import io
import re
import zipfile

from flask import Blueprint, Response, abort, render_template, request
from flask.typing import ResponseReturnValue
from flask_wtf import FlaskForm
from wtforms import BooleanField
from wtforms.validators import Optional

from mt_access.calendar import Month
from mt_access.cli.common import Console
from mt_access.cli.outputs import export_table, write_report
from mt_access.export import EXCEL_FR, STANDARD, write_rows
from mt_access.maps import availability_map
from mt_access.web import context
from mt_access.web.auth import audit, has_role, requires
from mt_access.web.forms import choices
from mt_access.web.ops_support import ChoiceField, attachment, scratch_folder

__all__ = ["TILES", "blueprint", "map_security_policy"]

TILES: dict[str, tuple[str | None, str]] = {
    "aucun": (None, ""),
    "osm": ("OpenStreetMap", "https://tile.openstreetmap.org"),
}
"""The map's backgrounds: none (works offline, nothing asked of another site) or
OpenStreetMap's tiles (images only)."""

REPORT_MONTHS = 24
"""How many past months the report page offers."""

blueprint = Blueprint("downloads", __name__)

_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


def map_security_policy(page: str, tiles_origin: str = "") -> str:
    """The Content Security Policy of the map page ``page``: its inline scripts allowed by
    their SHA-256 (nothing else runs), inline styles (Leaflet and the legend set them),
    images from the page itself and the tiles' site, no connection, no form, framed only by
    the application, sandboxed with scripts (a unique origin: no cookie, no access to the
    application's pages)."""
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(s.encode("utf-8")).digest()).decode() + "'"
        for s in _SCRIPT.findall(page)
    )
    images = f"'self' data: {tiles_origin}".strip()
    return (
        f"default-src 'none'; script-src {hashes}; style-src 'unsafe-inline'; "
        f"img-src {images}; connect-src 'none'; form-action 'none'; base-uri 'none'; "
        "frame-ancestors 'self'; sandbox allow-scripts"
    )


def _tiles() -> str:
    chosen = request.args.get("fond", "aucun")
    return chosen if chosen in TILES else "aucun"


@blueprint.route("/sorties")
@requires("lecture")
def index() -> ResponseReturnValue:
    return render_template("ops/downloads.html")


@blueprint.route("/carte")
@requires("lecture")
def map_page() -> ResponseReturnValue:
    return render_template("ops/map.html", fond=_tiles(), on=context.today())


def _map_html(fond: str) -> str:
    return availability_map(context.register(), context.today()).html(tiles=TILES[fond][0])


@blueprint.route("/carte/vue")
@requires("lecture")
def map_view() -> ResponseReturnValue:
    fond = _tiles()
    page = _map_html(fond)
    response = Response(page, mimetype="text/html")
    response.headers["Content-Security-Policy"] = map_security_policy(page, TILES[fond][1])
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    return response


@blueprint.route("/carte/telecharger")
@requires("lecture")
def map_file() -> ResponseReturnValue:
    fond = _tiles()
    data = _map_html(fond).encode("utf-8")
    return attachment(data, f"carte_{context.today().isoformat()}.html")


# ------------------------------------------------------------------------------------------
# Monthly report


def _months() -> list[Month]:
    month = Month.of(context.today())
    found = []
    for _ in range(REPORT_MONTHS):
        found.append(month)
        month = month.previous()
    return found


class ReportForm(FlaskForm):  # type: ignore[misc]
    """The month of the report, with names and contacts or not (a GET form: no personal
    data in it)."""

    class Meta:
        csrf = False

    mois = ChoiceField("Mois du rapport", choices=[])
    nominatif = BooleanField(
        "Ajouter les noms et coordonnées des patients au classeur (coordinateur ; à ne pas "
        "partager)"
    )


@blueprint.route("/rapport")
@requires("lecture")
def report() -> ResponseReturnValue:
    form = ReportForm(request.args)
    months = _months()
    form.mois.choices = choices((str(m), m.label) for m in months)
    if not request.args:
        form.mois.data = str(months[1])
        return render_template("ops/report.html", form=form)
    if not form.validate():
        return render_template("ops/report.html", form=form), 400
    personal = bool(form.nominatif.data)
    if personal and not has_role("coordinateur"):
        abort(403)
    month = next(m for m in months if str(m) == form.mois.data)
    with scratch_folder() as folder:
        target = folder / f"rapport_{month}"
        written = write_report(
            context.register(), month, target, Console(io.StringIO()), personal=personal
        )
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in written:
                archive.write(path, f"rapport_{month}/{path.name}")
    if personal:
        audit("rapport.nominatif", None, f"rapport de {month}")
    return attachment(buffer.getvalue(), f"rapport_{month}.zip")


# ------------------------------------------------------------------------------------------
# Exports

CONTENTS = (
    ("standard", "Suivi des demandes (sans noms ni coordonnées)"),
    ("pseudonymise", "Pseudonymisé, pour un partage (pseudonyme, tranche d'âge)"),
    ("nominatif", "Avec noms et coordonnées (coordinateur ; à ne pas partager)"),
)


class ExportForm(FlaskForm):  # type: ignore[misc]
    """What to export (a GET form: no personal data in it)."""

    class Meta:
        csrf = False

    contenu = ChoiceField("Contenu", choices=choices(CONTENTS), validators=[Optional()])
    format = ChoiceField(
        "Format",
        choices=choices(
            (
                ("xlsx", "Classeur Excel (.xlsx)"),
                ("csv", "CSV pour Excel en français (séparateur ;)"),
                ("csv-standard", "CSV pour les outils d'analyse (séparateur ,)"),
            )
        ),
        validators=[Optional()],
    )


@blueprint.route("/exports")
@requires("lecture")
def exports() -> ResponseReturnValue:
    form = ExportForm(request.args)
    if not request.args:
        return render_template("ops/exports.html", form=form)
    if not form.validate():
        return render_template("ops/exports.html", form=form), 400
    content = form.contenu.data or "standard"
    fmt = form.format.data or "xlsx"
    if content == "nominatif" and not has_role("coordinateur"):
        abort(403)
    on = context.today()
    register = context.register()
    columns, rows, types = export_table(
        register, on, pseudonymised=content == "pseudonymise", personal=content == "nominatif"
    )
    suffix = "xlsx" if fmt == "xlsx" else "csv"
    name = f"export_{content}_{on.isoformat()}.{suffix}"
    with scratch_folder() as folder:
        path = write_rows(
            rows,
            columns,
            folder / name,
            sheet="demandes",
            types=types,
            csv_format=STANDARD if fmt == "csv-standard" else EXCEL_FR,
        )
        data = path.read_bytes()
    if content == "nominatif":
        audit("export.nominatif", None, f"{len(rows)} demande(s), {suffix}")
    return attachment(data, name)
