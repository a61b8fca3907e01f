"""Letters as PDF: the letter's HTML, French typography, a print style, then WeasyPrint.

A4 pages; the CPTS's letterhead (its name and the policy's ``letters.contact``) at the top of
every page, page numbers at the foot; the letter's own text (with the date and the signature
of the templates ``_entete.md.j2`` and ``_signature.md.j2``) as the HTML of
:mod:`mt_access.letters.markup` gives it. The style is ``lettre.css``, shipped in the package.

French typography is applied to the text of the PDF only (the Markdown, text and HTML forms
are left as the templates write them): a no-break space before ``:`` and inside guillemets
(« … »), a narrow no-break space before ``;``, ``!`` and ``?`` (replacing the space written
there; a colon glued to a word, as in an address or a time, is left alone), and after
« n° ».

Accessibility: the document language is French (``lang="fr"``), the title is the letter's
subject and is shown as the window title, and the PDF is tagged (PDF/UA-1 through WeasyPrint's
``pdf_variant``), so that a screen reader follows titles, paragraphs and lists in order.

Speed: one print style (``weasyprint.CSS``) and one font configuration (``FontConfiguration``:
fontconfig's fonts and Pango's font map, with their caches) are made once per process and
reused by every letter, which takes about a third off each letter. :func:`letters_pdf` renders
many letters (from :data:`PARALLEL_MIN_LETTERS`) in worker processes, one per processor (at
most :data:`MAX_PDF_PROCESSES`); each letter is still its own document, laid out alone.

WeasyPrint is the ``pdf`` extra (``pip install 'mt-access[pdf]'``) and needs the Pango
library of the system; without them, :func:`letter_pdf` raises a
:class:`~mt_access.letters.templates.LetterError` saying what to install. WeasyPrint's own log
messages are kept out of the logs while a letter is rendered (they could quote its text).
"""

from __future__ import annotations

import functools
import html
import logging
import multiprocessing
import os
import re
from collections.abc import Generator, Iterable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from importlib import resources
from typing import TYPE_CHECKING, Any

from mt_access.letters.templates import LetterError
from mt_access.processes import main_module_hidden

if TYPE_CHECKING:
    from mt_access.letters.compose import Letter

__all__ = [
    "MAX_PDF_PROCESSES",
    "PARALLEL_MIN_LETTERS",
    "PDF_VARIANT",
    "french_typography",
    "letter_pdf",
    "letters_pdf",
    "print_html",
    "print_stylesheet",
    "require_weasyprint",
    "worker_processes",
]

PDF_VARIANT = "pdf/ua-1"
"""The PDF profile WeasyPrint writes: PDF/UA-1 (tagged, language and title set)."""

PARALLEL_MIN_LETTERS = 100
"""From how many letters :func:`letters_pdf` renders them in worker processes. A worker takes
about 1.5 s of processor to start (importing mt_access and WeasyPrint, finding the fonts;
more on a busy machine) and a letter about 50 ms: below, the workers' start costs about as
much as they save (measured: 100 letters in 6.5 s with two workers, 5 s in one process, at
load 1.9 on two processors; 500 letters sent in 31 s with two workers, 79 s in one process,
at load 2.5)."""

MAX_PDF_PROCESSES = 4
"""The most worker processes :func:`letters_pdf` starts (one per processor up to this)."""

NBSP = "\u00a0"
"""No-break space: before a colon, inside guillemets, after « n° »."""
NNBSP = "\u202f"
"""Narrow no-break space: before ``;``, ``!`` and ``?``."""

_SPACES = "[ \u00a0\u202f]"
# after a word or a tag (the start of a piece of text), not at the start of a line
_BEFORE_COLON = re.compile(rf"(?<!\s){_SPACES}+:")
_BEFORE_TALL = re.compile(rf"(?<!\s){_SPACES}+([;!?])")
_AFTER_OPEN = re.compile(rf"«{_SPACES}*")
_BEFORE_CLOSE = re.compile(rf"{_SPACES}*»")
_NUMERO = re.compile(rf"\b([nN]°){_SPACES}+(?=\S)")
_TAG = re.compile(r"(<[^>]*>)")

MISSING = (
    "le format PDF demande WeasyPrint et la bibliothèque Pango : installez "
    "« pip install 'mt-access[pdf]' » (et, sous Debian ou Ubuntu, les paquets "
    "libpango-1.0-0 et libpangoft2-1.0-0)"
)
"""The message when WeasyPrint or Pango is missing."""


def french_typography(text: str) -> str:
    """``text`` with French no-break spaces (plain text, not HTML).

    >>> french_typography("Contact : « oui » ; merci !")
    'Contact\\xa0: «\\xa0oui\\xa0»\\u202f; merci\\u202f!'
    """
    text = _BEFORE_COLON.sub(NBSP + ":", text)
    text = _BEFORE_TALL.sub(NNBSP + r"\1", text)
    text = _AFTER_OPEN.sub("«" + NBSP, text)
    text = _BEFORE_CLOSE.sub(NBSP + "»", text)
    return _NUMERO.sub(r"\1" + NBSP, text)


def _typeset(fragment: str) -> str:
    """French typography on the text of an HTML fragment (tags are left alone)."""
    parts = _TAG.split(fragment)
    for i in range(0, len(parts), 2):  # text between tags
        if parts[i]:
            parts[i] = html.escape(french_typography(html.unescape(parts[i])), quote=False)
    return "".join(parts)


def print_stylesheet() -> str:
    """The print style of the letters (``lettre.css`` in the package)."""
    return resources.files("mt_access.letters").joinpath("lettre.css").read_text(encoding="utf-8")


def _body(page: str) -> str:
    """The inside of ``<body>`` of a page of :func:`mt_access.letters.markup.convert` (the
    data there is escaped: it cannot hold a tag)."""
    _, found, rest = page.partition("<body>\n")
    body, closed, _ = rest.rpartition("\n</body>")
    if not found or not closed:
        raise LetterError("courrier sans corps HTML : impossible d'en faire un PDF")
    return body


def print_html(letter: Letter) -> str:
    """The HTML page WeasyPrint lays out: letterhead, then the letter's body, typeset.

    Raises:
        LetterError: the letter has no HTML.
    """
    if letter.html is None:
        raise LetterError("courrier sans HTML : impossible d'en faire un PDF")

    def esc(text: str) -> str:
        return html.escape(french_typography(text), quote=True)

    sender = letter.sender or "CPTS"
    head = f'<div class="cpts">{esc(sender)}</div>'
    if letter.sender_contact:
        head += f'\n<div class="contact">{esc(letter.sender_contact)}</div>'
    return (
        '<!DOCTYPE html>\n<html lang="fr">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(letter.subject or 'Courrier', quote=False)}</title>\n"
        f'<meta name="author" content="{html.escape(sender)}">\n'
        '<meta name="generator" content="mt-access">\n'
        f'</head>\n<body>\n<header class="entete">\n{head}\n</header>\n'
        f"<main>\n{_typeset(_body(letter.html))}\n</main>\n</body>\n</html>\n"
    )


def require_weasyprint() -> None:
    """Check that WeasyPrint and Pango load (before writing any letter).

    Raises:
        LetterError: either is missing, with what to install.
    """
    _weasyprint()


def _weasyprint() -> Any:
    """The ``weasyprint`` module (untyped), or a French error saying what to install."""
    try:
        import weasyprint  # type: ignore[import-untyped]
    except (ImportError, OSError) as exc:  # OSError: WeasyPrint present, Pango missing
        raise LetterError(MISSING) from exc
    return weasyprint


@functools.cache
def _fonts() -> Any:
    """The font configuration, made once per process and shared by every letter
    (``weasyprint.text.fonts.FontConfiguration``: Pango's font map and its caches)."""
    _weasyprint()
    from weasyprint.text.fonts import FontConfiguration  # type: ignore[import-untyped]

    return FontConfiguration()


@functools.cache
def _css() -> Any:
    """The print style, parsed once per process (``weasyprint.CSS``)."""
    return _weasyprint().CSS(string=print_stylesheet(), font_config=_fonts())


class _Quiet:
    """Keeps WeasyPrint's log messages (which may quote the letter) out of the logs."""

    def __enter__(self) -> None:
        self._loggers = [logging.getLogger(name) for name in ("weasyprint", "fontTools")]
        self._levels = [logger.level for logger in self._loggers]
        for logger in self._loggers:
            logger.setLevel(logging.CRITICAL + 1)

    def __exit__(self, *exc: object) -> None:
        for logger, level in zip(self._loggers, self._levels, strict=True):
            logger.setLevel(level)


def _render(page: str) -> bytes:
    """The PDF of a page of :func:`print_html` (run in this process or in a worker)."""
    weasyprint = _weasyprint()
    with _Quiet():
        document = weasyprint.HTML(string=page, base_url=None)
        data = document.write_pdf(
            stylesheets=[_css()],
            font_config=_fonts(),
            pdf_variant=PDF_VARIANT,
            pdf_tags=True,
        )
    if not isinstance(data, bytes):  # write_pdf without a target returns the bytes
        raise LetterError("WeasyPrint n'a pas produit de PDF")
    return data


def letter_pdf(letter: Letter) -> bytes:
    """The letter as an A4 PDF, tagged (PDF/UA-1), in French, titled with its subject.

    Args:
        letter: a rendered letter (with its HTML).

    Returns:
        The PDF file's bytes.

    Raises:
        LetterError: WeasyPrint or Pango is missing, or the letter has no HTML.
    """
    return _render(print_html(letter))


def worker_processes(letters: int) -> int:
    """How many worker processes :func:`letters_pdf` starts for ``letters`` letters: none
    below :data:`PARALLEL_MIN_LETTERS`, else one per processor this process may run on, at
    most :data:`MAX_PDF_PROCESSES` (``0`` or ``1``: the letters are made in this process)."""
    if letters < PARALLEL_MIN_LETTERS:
        return 0
    if hasattr(os, "sched_getaffinity"):
        count = len(os.sched_getaffinity(0)) or 1
    else:
        count = os.cpu_count() or 1
    return min(count, MAX_PDF_PROCESSES)


def letters_pdf(
    letters: Iterable[Letter], *, processes: int | None = None
) -> Generator[bytes, None, None]:
    """The PDFs of many letters, in order, each as :func:`letter_pdf` makes it.

    From :data:`PARALLEL_MIN_LETTERS` letters, they are rendered in ``spawn`` worker processes,
    one per processor (:func:`worker_processes`, at most :data:`MAX_PDF_PROCESSES`). Each PDF
    is given as soon as it and those before it are ready, so a caller can send or write it
    while the next ones are made. Workers that cannot start or stop on the way leave the rest
    to this process. Closing the generator early (``close()``) cancels what is not rendered
    yet.

    Args:
        letters: rendered letters (with their HTML).
        processes: the worker processes (``None``: as above; ``0`` or ``1``: none, all in
            this process).

    Raises:
        LetterError: WeasyPrint or Pango is missing, or a letter has no HTML (checked for
            every letter when called, before any PDF is made).
    """
    pages = [print_html(letter) for letter in letters]
    require_weasyprint()
    wanted = worker_processes(len(pages)) if processes is None else max(0, processes)
    if wanted <= 1 or len(pages) <= 1:
        return (_render(page) for page in pages)
    return _in_workers(pages, wanted)


def _in_workers(pages: list[str], processes: int) -> Generator[bytes, None, None]:
    """:func:`letters_pdf`'s worker processes; the rest in this process when they fail."""
    done = 0
    pool = ProcessPoolExecutor(
        max_workers=min(processes, len(pages)), mp_context=multiprocessing.get_context("spawn")
    )
    try:
        with main_module_hidden():  # the workers start at the first submissions
            futures = [pool.submit(_render, page) for page in pages]
        for future in futures:
            yield future.result()
            done += 1
    except (BrokenProcessPool, OSError):  # workers killed, or could not start
        pass
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    for page in pages[done:]:
        yield _render(page)
