"""What the operations pages share (import, month's run, letters, downloads): files sent as
attachments, letters shown and downloaded, and error texts without a temporary path.

No business rule here: the letters come from :mod:`mt_access.letters`, the files from the
library's writers.
"""

from __future__ import annotations

import atexit
import datetime as dt
import io
import json
import os
import re
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from flask import Response, current_app, flash, redirect, send_file, session
from flask.typing import ResponseReturnValue
from markupsafe import Markup
from wtforms import SelectField
from wtforms.validators import ValidationError

from mt_access.letters import Letter, LetterError
from mt_access.web import context
from mt_access.web.auth import audit, current_user

__all__ = [
    "CONTENT_TYPES",
    "ChoiceField",
    "attachment",
    "forget_cached",
    "letter_body",
    "letter_download",
    "owned_upload",
    "scratch_folder",
    "upload_area",
    "without_path",
]

CONTENT_TYPES: dict[str, str] = {
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "md": "text/markdown",
    "pdf": "application/pdf",
    "html": "text/html",
    "zip": "application/zip",
}
"""The content type of each file the pages send, by suffix (Flask adds ``charset=utf-8``
to a text type)."""

_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def attachment(data: bytes, filename: str) -> Response:
    """``data`` sent as a download named ``filename`` (ASCII, never a patient's name)."""
    name = _SAFE_NAME.sub("-", filename).strip(".-") or "fichier"
    suffix = name.rsplit(".", 1)[-1].lower()
    response = send_file(
        io.BytesIO(data),
        mimetype=CONTENT_TYPES.get(suffix, "application/octet-stream"),
        as_attachment=True,
        download_name=name,
        max_age=0,
    )
    return response


def forget_cached() -> None:
    """After a write through these pages: figures the pages keep a while (the dashboard's)
    are computed again."""
    context.forget_cached()


@contextmanager
def scratch_folder() -> Iterator[Path]:
    """A private temporary folder, deleted with its files at the end of the block."""
    folder = Path(tempfile.mkdtemp(prefix="mt-access-web-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def without_path(text: str, folder: Path | str) -> str:
    """``text`` with the temporary ``folder`` (a file's place on the server) left out: the
    file is named by its own name, as the coordinator sent it."""
    base = str(folder).rstrip("/")
    return text.replace(base + "/", "").replace(base, "")


_BODY = re.compile(r"<body>\n?(.*)</body>", re.DOTALL)
_HEADING = re.compile(r"<(/?)h([1-6])(?=[ >])")


def letter_body(letter: Letter) -> Markup:
    """The body of the letter's HTML page, to show inside a page.

    :mod:`mt_access.letters.markup` builds that HTML from the templates' Markdown subset
    with every value escaped (no script, no style, no attribute from the data), so the body
    is shown as it is; a letter without HTML shows its plain text, escaped."""
    if letter.html is None:
        return Markup("<pre>{}</pre>").format(letter.text)
    found = _BODY.search(letter.html)
    if found is None:
        return Markup("<pre>{}</pre>").format(letter.text)
    # the letter's titles one level below the page's own
    body = _HEADING.sub(lambda m: f"<{m[1]}h{min(int(m[2]) + 1, 6)}", found.group(1))
    return Markup(body)  # escaped by mt_access.letters.markup


def letter_download(
    make: Callable[[], Letter], fmt: str, back: str, subject: str
) -> ResponseReturnValue:
    """A letter as a Markdown or PDF download; an audit line ``courrier.telecharger``.

    ``make`` builds the letter (:mod:`mt_access.letters`); a refusal (PDF without
    WeasyPrint, personal data erased...) is said in French on the page ``back``."""
    try:
        letter = make()
        data = letter.pdf() if fmt == "pdf" else letter.markdown.encode("utf-8")
    except LetterError as exc:
        flash(f"Courrier non disponible : {exc}", "erreur")
        return redirect(back, 303)
    audit("courrier.telecharger", subject, f"{letter.kind.value} ({fmt})")
    return attachment(data, letter.filename(fmt))


class ChoiceField(SelectField):  # type: ignore[misc]
    """A select field whose refusal of a value not offered is French."""

    def pre_validate(self, form: Any) -> None:
        try:
            super().pre_validate(form)
        except ValidationError:
            raise ValidationError(
                "Choix invalide : choisissez une des valeurs proposées."
            ) from None


# ------------------------------------------------------------------------------------------
# Files sent for an import: a private folder per application, one sub-folder per upload

_AREA_LOCK = threading.Lock()


def upload_area(extension: str, prefix: str, max_age: dt.timedelta) -> Path:
    """The application's private folder (``current_app.extensions[extension]``, made on first
    use, mode 0700, deleted at exit) of uploads kept between pages, each in a sub-folder
    with its ``lot.json``; those older than ``max_age`` are deleted first."""
    with _AREA_LOCK:  # waitress serves requests on several threads
        found: Path | None = current_app.extensions.get(extension)
        if found is None or not found.is_dir():
            found = Path(tempfile.mkdtemp(prefix=prefix))
            os.chmod(found, 0o700)
            current_app.extensions[extension] = found
            atexit.register(shutil.rmtree, found, True)
    now = context.now()
    for folder in found.iterdir():
        try:
            meta = json.loads((folder / "lot.json").read_text("utf-8"))
            created = dt.datetime.fromisoformat(meta["created"])
        except (OSError, ValueError, KeyError):
            try:  # being written by another request: its folder's own time
                created = dt.datetime.fromtimestamp(folder.stat().st_mtime, dt.UTC)
            except OSError:
                continue
        if now - created > max_age:
            shutil.rmtree(folder, ignore_errors=True)
    return found


def owned_upload(area: Path, session_key: str) -> tuple[str, Path, dict[str, Any]] | None:
    """The upload the session names under ``session_key`` in ``area``: its token, folder and
    ``lot.json``; ``None`` when there is none, it expired (then the session forgets it) or
    it belongs to another account."""
    token = session.get(session_key)
    if not isinstance(token, str) or not token.isalnum():
        return None
    folder = area / token
    try:
        data: dict[str, Any] = json.loads((folder / "lot.json").read_text("utf-8"))
    except (OSError, ValueError):
        session.pop(session_key, None)
        return None
    user = current_user()
    if user is None or data["owner"] != user.login:
        return None
    return token, folder, data
