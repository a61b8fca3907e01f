"""Low-level readers of tabular exports (CSV, XLSX) and parsers of their cell values.

CPTS receive patients' requests as exports of web forms or spreadsheets, written the way French
spreadsheets write them: ``;`` or ``,`` separators, UTF-8 (with or without BOM) or Windows-1252,
dates as ``jj/mm/aaaa``, yes/no as ``Oui``/``Non``/``X``/empty cell, numbers with a decimal
comma. This module turns such a file into a :class:`Table` of text cells, and offers one parser
per kind of value (:func:`parse_date`, :func:`parse_yes_no`, :func:`parse_int`,
:func:`parse_decimal`, :func:`parse_choice`).

Nothing is ever evaluated: a cell holding ``=cmd|' /C calc'!A0`` is read as that text, and an
XLSX cell holding a formula is read as the formula's text, never its result.

Errors are :class:`IntakeError`. Their message names where (file, row, column) and what was
expected, never the offending value, which may identify a patient: the value is kept in the
``value`` attribute only, for the per-row report.
"""

from __future__ import annotations

import csv
import datetime as dt
import importlib
import io
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, TypeVar

import attrs

from mt_access.controls import visible
from mt_access.errors import IntakeError

__all__ = [
    "HeaderIndex",
    "IntakeError",
    "Row",
    "Table",
    "header_key",
    "normalize_text",
    "parse_choice",
    "parse_date",
    "parse_decimal",
    "parse_int",
    "parse_yes_no",
    "read_csv",
    "read_table",
    "read_xlsx",
    "visible",
]

T = TypeVar("T")

CSV_SUFFIXES = frozenset({".csv", ".txt"})
XLSX_SUFFIXES = frozenset({".xlsx", ".xlsm"})
_UNSUPPORTED_SUFFIXES = frozenset({".xls", ".ods", ".numbers"})
_MAX_CELL = 16 * 1024 * 1024
_DELIMITERS = (";", "\t", ",")  # order breaks ties: ";" is what French spreadsheets write
_SAMPLE_LINES = 50  # lines of a CSV file read to cross-check its separator
_SAMPLE_CHARS = 256 * 1024


@attrs.frozen
class Row:
    """One data row of a :class:`Table`.

    Attributes:
        number: the row number as the spreadsheet shows it (the header row is usually 1; blank
            rows, skipped, still count).
        values: cell text by column header, stripped; ``""`` for an empty or missing cell.
    """

    number: int
    values: dict[str, str]


@attrs.frozen
class Table:
    """The text cells of a CSV file or of an XLSX sheet.

    Attributes:
        source: the file read (and ``[sheet]`` for a workbook).
        headers: the column headers, stripped, in file order (columns without a header and
            without values are left out).
        rows: the non-blank data rows, in file order.
        encoding: the text encoding detected (or given) for a CSV file; ``None`` for XLSX.
        delimiter: the separator detected (or given) for a CSV file; ``None`` for XLSX.
    """

    source: str
    headers: tuple[str, ...]
    rows: tuple[Row, ...]
    encoding: str | None = None
    delimiter: str | None = None

    def parse(self, row: Row, column: str, parser: Callable[[str], T]) -> T:
        """``parser(row.values[column])``, with any :class:`IntakeError` located in this table.

        Raises:
            IntakeError: the column does not exist, or the parser refused the cell.
        """
        if column not in self.headers:
            raise IntakeError(
                "colonne absente du fichier", source=self.source, row=1, column=column
            )
        try:
            return parser(row.values[column])
        except IntakeError as exc:
            raise exc.at(source=self.source, row=row.number, column=column) from None


# --------------------------------------------------------------------------------------------
# Reading files
# --------------------------------------------------------------------------------------------


def read_table(
    path: str | Path,
    *,
    sheet: str | None = None,
    encoding: str | None = None,
    delimiter: str | None = None,
) -> Table:
    """Read a CSV (``.csv``, ``.txt``) or XLSX (``.xlsx``, ``.xlsm``) export, by extension.

    Args:
        path: the file.
        sheet: for a workbook, the sheet to read (default: the first one).
        encoding: for a CSV file, the encoding to use instead of detecting it.
        delimiter: for a CSV file, the separator to use instead of detecting it.

    Raises:
        IntakeError: unsupported extension, undecodable, empty or malformed file.
        OSError: the file cannot be opened.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in CSV_SUFFIXES:
        if sheet is not None:
            raise IntakeError(
                "l'option « feuille » ne s'applique qu'aux classeurs .xlsx", source=str(path)
            )
        return read_csv(path, encoding=encoding, delimiter=delimiter)
    if suffix in XLSX_SUFFIXES:
        if encoding is not None or delimiter is not None:
            raise IntakeError(
                "les options « encodage » et « séparateur » ne s'appliquent qu'aux fichiers CSV",
                source=str(path),
            )
        return read_xlsx(path, sheet=sheet)
    if suffix in _UNSUPPORTED_SUFFIXES:
        raise IntakeError(
            f"format {suffix} non pris en charge : enregistrez le fichier au format .xlsx ou .csv",
            source=str(path),
        )
    raise IntakeError(
        "extension de fichier non reconnue : .csv, .txt ou .xlsx attendu", source=str(path)
    )


def read_csv(
    path: str | Path, *, encoding: str | None = None, delimiter: str | None = None
) -> Table:
    """Read a CSV export as French spreadsheets write it.

    The encoding is detected unless given: a byte order mark means UTF-8 (or UTF-16, as Excel's
    "Unicode text" export), else strict UTF-8 is tried, then Windows-1252 when every character
    it gives is one French text holds; otherwise chardet ranks the Western encodings
    (ISO-8859-15, Mac Roman, DOS cp850...) and the one that gives plausible French text wins.
    The separator (``;``, ``,`` or tab) is guessed on the header record, ignoring quoted text,
    and cross-checked on the first 50 lines (the same number of cells on every line, then
    :class:`csv.Sniffer`), unless given or announced by an Excel ``sep=`` first line. Cells
    are stripped; quoted cells may hold separators and line breaks; blank rows are skipped.

    Raises:
        IntakeError: undecodable or empty file, duplicate headers, value in a column without
            header.
        OSError: the file cannot be opened.
    """
    source = str(path)
    data = Path(path).read_bytes()
    text, used_encoding = _decode(data, encoding, source)
    text = visible(text)
    sep_hint = re.match(r"sep=(.)\r?\n", text)
    if sep_hint is not None:
        if delimiter is None:
            delimiter = sep_hint.group(1)
        text = text[sep_hint.end() :]  # Excel hides this line: the header stays row 1
    if delimiter is None:
        delimiter = _detect_delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar='"')
    records = (
        (number, [cell.strip() for cell in record]) for number, record in enumerate(reader, start=1)
    )
    # A free-text cell may exceed the csv module's default limit (128 KiB): read cells up to
    # 16 MiB, then restore the process-wide limit. Fields too long for their use are reported
    # row by row by the import.
    previous_limit = csv.field_size_limit(_MAX_CELL)
    try:
        headers, rows = _build(records, source)
    except csv.Error:
        raise IntakeError(
            "CSV mal formé (guillemets non fermés, ou cellule de plus de 16 Mo) "
            f"vers la ligne {reader.line_num}",
            source=source,
            row=reader.line_num,
        ) from None
    finally:
        csv.field_size_limit(previous_limit)
    return Table(
        source=source, headers=headers, rows=rows, encoding=used_encoding, delimiter=delimiter
    )


def read_xlsx(path: str | Path, *, sheet: str | None = None) -> Table:
    """Read the first sheet (or ``sheet``) of an XLSX workbook, streaming it (openpyxl's
    read-only mode).

    Cells become text: dates in ISO format (``2024-03-05``, or ``2024-03-05T10:30:00`` with a
    time), whole numbers without decimals (``75001``, not ``75001.0``), other numbers with a
    decimal point, booleans as ``Oui``/``Non``, empty cells as ``""``. A formula is read as its
    text (``=B2+1``), never evaluated: export values, not formulas.

    Requires openpyxl.

    Raises:
        IntakeError: not a readable workbook, unknown sheet, empty sheet, duplicate headers.
        OSError: the file cannot be opened.
    """
    try:
        openpyxl: Any = importlib.import_module("openpyxl")
    except ImportError:
        raise IntakeError(
            "la lecture des fichiers .xlsx nécessite le paquet openpyxl "
            "(pip install openpyxl) ; à défaut, enregistrez le fichier au format .csv",
            source=str(path),
        ) from None
    source = str(path)
    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=False)
    except OSError:
        raise
    except Exception:  # zipfile.BadZipFile, KeyError, InvalidFileException...
        raise IntakeError("classeur .xlsx illisible ou endommagé", source=source) from None
    try:
        if sheet is None:
            worksheet = workbook.worksheets[0]
        elif sheet in workbook.sheetnames:
            worksheet = workbook[sheet]
        else:
            names = ", ".join(f"« {name} »" for name in workbook.sheetnames)
            raise IntakeError(
                f"feuille « {sheet} » introuvable ; feuilles : {names}", source=source
            )
        source = f"{source}[{worksheet.title}]"
        worksheet.reset_dimensions()  # exporters often write wrong dimensions
        records = (
            (number, [_cell_text(value) for value in values])
            for number, values in enumerate(worksheet.iter_rows(values_only=True), start=1)
        )
        headers, rows = _build(records, source)
    finally:
        workbook.close()
    return Table(source=source, headers=headers, rows=rows)


def _decode(data: bytes, encoding: str | None, source: str) -> tuple[str, str]:
    if encoding is not None:
        try:
            return data.decode(encoding), encoding
        except LookupError:
            raise IntakeError(f"encodage inconnu : {encoding}", source=source) from None
        except UnicodeDecodeError as exc:
            raise IntakeError(
                f"le fichier n'est pas encodé en {encoding} (octet {exc.start + 1})",
                source=source,
            ) from None
    marked = _BOMS.get(data[:3]) or _BOMS.get(data[:2])
    if marked is not None:  # a byte order mark: that encoding or nothing
        try:
            return data.decode(marked), marked
        except UnicodeDecodeError:
            raise IntakeError(_UNKNOWN_ENCODING, source=source) from None
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        windows: str | None = data.decode("cp1252")
    except UnicodeDecodeError:
        windows = None
    if windows is not None and _implausible(windows) == (0, 0):
        return windows, "cp1252"  # the fast path: what French Windows spreadsheets write
    found = _detect_encoding(data, windows)
    if found is None:
        raise IntakeError(_UNKNOWN_ENCODING, source=source)
    return found


_BOMS = {b"\xef\xbb\xbf": "utf-8-sig", b"\xff\xfe": "utf-16", b"\xfe\xff": "utf-16"}
_UNKNOWN_ENCODING = (
    "encodage non reconnu : UTF-8, Windows-1252, ISO-8859-15, Mac Roman ou DOS (cp850) "
    "attendu (réenregistrez le fichier en « CSV UTF-8 »)"
)

# Characters French text holds besides ASCII: accented letters (French and the neighbours'
# names), ligatures, typographic quotes and dashes, the euro sign, spaces that do not break.
_PLAUSIBLE = frozenset(
    "àâäáãåçéèêëíìîïñóòôöõøúùûüýÿæœßÀÂÄÁÃÅÇÉÈÊËÍÌÎÏÑÓÒÔÖÕØÚÙÛÜÝŸÆŒ«»‘’“”–—…€°ºª²·\u00a0\u202f"
)
_IMPLAUSIBLE = re.compile(f"[^\t\r\n\x20-\x7e{''.join(sorted(_PLAUSIBLE))}]")
_INSIDE_WORD = re.compile(r"(?<=[^\W\d_])[…“”—–«»°](?=[^\W\d_])")
_RARE = re.compile(r"[áãåíìñóòõöøúýÁÃÅÍÌÑÓÒÕÖØÚÝäÄß]|(?<=[a-zà-ÿœ])[À-ÞŒ]")
# The single-byte encodings a French file may come in, as chardet names them (Python codec
# names): only these of chardet's candidates are considered.
_WESTERN = {
    "windows-1252": "cp1252",
    "iso-8859-15": "iso8859-15",
    "iso8859-15": "iso8859-15",
    "iso-8859-1": "iso8859-1",
    "macroman": "mac_roman",
    "cp850": "cp850",
    "cp858": "cp858",
    "cp437": "cp850",  # chardet often says cp437 (US DOS) for the French DOS code page
}


def _implausible(text: str) -> tuple[int, int]:
    """How unlike French text ``text`` is: the characters French text would not hold (control
    characters, signs such as ``½``, ``¤``, ``Ž`` that a wrong single-byte encoding produces,
    ``…`` or ``—`` inside a word), then the letters it rarely holds (``å``, ``ä``, ``ñ``...,
    a capital with an accent after a small letter: ``PrÇnom``)."""
    if text.isascii():
        return 0, 0
    wrong = len(_IMPLAUSIBLE.findall(text)) + len(_INSIDE_WORD.findall(text))
    return wrong, len(_RARE.findall(text))


def _detect_encoding(data: bytes, windows: str | None) -> tuple[str, str] | None:
    """The decoding of ``data`` French text explains best, among chardet's Western candidates
    and Windows-1252: the fewest implausible characters, then the fewest rare letters, ties
    going to chardet's order.

    Windows-1252, when it decodes the bytes, stays acceptable (as before chardet); another
    encoding is accepted only if every character it gives is plausible."""
    chardet: Any = importlib.import_module("chardet")
    ranked: list[str] = []
    for guess in chardet.detect_all(data):
        name = _WESTERN.get(str(guess.get("encoding") or "").lower())
        if name is not None and name not in ranked:
            ranked.append(name)
    for name in ("iso8859-15", "mac_roman", "cp850"):  # what chardet may leave out on a
        if name not in ranked:  # short file
            ranked.append(name)
    best: tuple[tuple[int, int], int, str, str] | None = None
    for rank, name in enumerate(ranked):
        try:
            text = windows if name == "cp1252" and windows is not None else data.decode(name)
        except UnicodeDecodeError:
            continue
        score = _implausible(text)
        if score[0] and name != "cp1252":
            continue
        if best is None or (score, rank) < best[:2]:
            best = (score, rank, text, name)
    if best is None and windows is not None:
        return windows, "cp1252"
    return None if best is None else (best[2], best[3])


def _detect_delimiter(text: str) -> str:
    """The separator, from the header record and cross-checked on the first lines.

    The header's guess (:func:`_header_delimiter`) stands when every sampled line has as
    many cells as the header with it. Otherwise a separator that does give every sampled line
    the header's number of cells (two or more) wins (a header such as ``Nom, prénom;Commune``
    has more commas than semicolons, but its lines do not), then :class:`csv.Sniffer`'s
    guess on the sample (lines of uneven length), then a separator giving most lines the
    header's width and none a larger one, then the header's guess."""
    guess = _header_delimiter(text)
    cut = len(text) > _SAMPLE_CHARS
    sample = text[:_SAMPLE_CHARS]
    fitting: list[str] = []  # every line as wide as the header
    mostly: list[str] = []  # most lines, none wider (exporters drop trailing empty cells)
    for delimiter in _DELIMITERS:
        try:
            widths = [
                len(record)
                for record in csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter)
                if any(cell.strip() for cell in record)
            ]
        except csv.Error:  # a cell over the csv module's limit: the file's reading will say
            continue
        if cut:  # the sample's last record may be cut short: leave it out
            widths.pop()
        widths = widths[:_SAMPLE_LINES]
        if len(widths) < 2:
            return guess  # a header alone: nothing to cross-check
        header, lines = widths[0], widths[1:]
        if header > 1 and max(lines) <= header:  # a longer line would be refused anyway
            full = sum(1 for width in lines if width == header)
            if full == len(lines):
                fitting.append(delimiter)
            elif 2 * full > len(lines):
                mostly.append(delimiter)
    if guess in fitting:
        return guess
    if fitting:
        return fitting[0]
    try:
        sniffed = csv.Sniffer().sniff(sample, delimiters="".join(_DELIMITERS)).delimiter
    except csv.Error:
        sniffed = ""
    if sniffed in _DELIMITERS:
        return sniffed
    return guess if guess in mostly or not mostly else mostly[0]


def _header_delimiter(text: str) -> str:
    """The candidate separator occurring most often, outside quotes, in the first non-blank
    record (ties go to ``;``, then tab, then ``,``)."""
    counts = dict.fromkeys(_DELIMITERS, 0)
    in_quotes = False
    seen_content = False
    for char in text:
        if char == '"':
            in_quotes = not in_quotes  # a doubled quote toggles twice: still right
        elif in_quotes:
            continue
        elif char in "\r\n":
            if seen_content:
                break
        elif char in counts:
            counts[char] += 1
            seen_content = True
        elif not char.isspace():
            seen_content = True
    return max(_DELIMITERS, key=lambda d: counts[d])  # max keeps the first of equal ones


def _build(
    records: Iterable[tuple[int, list[str]]], source: str
) -> tuple[tuple[str, ...], tuple[Row, ...]]:
    """Headers and rows from ``(row number, stripped cells)`` records."""
    iterator = iter(records)
    header_cells: list[str] | None = None
    header_number = 0
    for number, cells in iterator:
        if any(cells):
            header_cells, header_number = cells, number
            break
    if header_cells is None:
        raise IntakeError("fichier vide : une ligne d'en-têtes est attendue", source=source)
    _check_duplicates(header_cells, source, header_number)
    named = [(index, name) for index, name in enumerate(header_cells) if name]
    unnamed = {index for index, name in enumerate(header_cells) if not name}
    width = len(header_cells)
    rows: list[Row] = []
    for number, cells in iterator:
        if not any(cells):
            continue
        for index, cell in enumerate(cells):
            if cell and (index in unnamed or index >= width):
                raise IntakeError(
                    f"valeur dans la colonne n° {index + 1}, qui n'a pas d'en-tête",
                    source=source,
                    row=number,
                    value=cell,
                )
        values = {name: cells[index] if index < len(cells) else "" for index, name in named}
        rows.append(Row(number=number, values=values))
    return tuple(name for _, name in named), tuple(rows)


def _check_duplicates(headers: list[str], source: str, row: int) -> None:
    """Refuse headers equal once normalised (case, accents, spaces): column lookups normalise."""
    positions: dict[str, list[int]] = {}
    for index, name in enumerate(headers):
        if name:
            positions.setdefault(normalize_text(name), []).append(index)
    duplicated = [indexes for indexes in positions.values() if len(indexes) > 1]
    if duplicated:
        described = " ; ".join(
            " et ".join(f"« {headers[i]} » (colonne n° {i + 1})" for i in indexes)
            for indexes in duplicated
        )
        raise IntakeError(
            f"en-têtes en double : {described} ; chaque colonne doit avoir un nom unique",
            source=source,
            row=row,
        )


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Oui" if value else "Non"
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0, 0):
            return value.date().isoformat()
        return value.isoformat(timespec="seconds")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return visible(str(value)).strip()


# --------------------------------------------------------------------------------------------
# Parsing values
# --------------------------------------------------------------------------------------------


def normalize_text(text: str) -> str:
    """``text`` without case, accents, typographic apostrophes nor extra spaces, for comparing
    wordings: ``"  Médecin   PARTI à la retraite "`` → ``"medecin parti a la retraite"``."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    stripped = stripped.replace("’", "'").replace("‘", "'").replace("`", "'")
    return " ".join(stripped.casefold().split())


_DATE_EXPECTED = "date attendue au format jj/mm/aaaa ou aaaa-mm-jj"
_TIME = r"(?:(?:\s+|T)\d{1,2}[:h]\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?"
_DMY = re.compile(rf"(\d{{1,2}})([/.-])(\d{{1,2}})\2(\d{{4}}){_TIME}", re.ASCII)
_YMD = re.compile(rf"(\d{{4}})-(\d{{1,2}})-(\d{{1,2}}){_TIME}", re.ASCII)
_SHORT_YEAR = re.compile(r"\d{1,2}([/.-])\d{1,2}\1\d{2}(?:\D.*)?", re.ASCII | re.DOTALL)
_TIME_VALUES = re.compile(r"(\d{1,2})[:h](\d{2})(?::(\d{2}))?", re.ASCII)


def parse_date(text: str) -> dt.date:
    """A date written ``jj/mm/aaaa`` (also ``j/m/aaaa``, ``jj-mm-aaaa``, ``jj.mm.aaaa``) or
    ``aaaa-mm-jj``, optionally followed by a time (ignored).

    Raises:
        IntakeError: empty text, another format, a 2-digit year (ambiguous), an impossible
            date (``31/02/2024``) or time.
    """
    stripped = text.strip()
    match = _DMY.fullmatch(stripped)
    if match is not None:
        day, month, year = int(match.group(1)), int(match.group(3)), int(match.group(4))
    else:
        match = _YMD.fullmatch(stripped)
        if match is None:
            if _SHORT_YEAR.fullmatch(stripped):
                raise IntakeError(
                    "année sur 4 chiffres attendue (jj/mm/aaaa) : une année sur 2 chiffres "
                    "est ambiguë",
                    value=text,
                )
            raise IntakeError(_DATE_EXPECTED, value=text)
        year, month, day = int(match.group(1)), int(match.group(2)), int(match.group(3))
    try:
        result = dt.date(year, month, day)
    except ValueError:
        raise IntakeError(
            f"date inexistante (jour, mois ou année invalide) ; {_DATE_EXPECTED}", value=text
        ) from None
    time = _TIME_VALUES.search(stripped, match.end(match.lastindex or 0))
    if time is not None:
        hour, minute, second = (int(g or 0) for g in time.groups())
        if hour > 23 or minute > 59 or second > 59:
            raise IntakeError(f"heure invalide ; {_DATE_EXPECTED}", value=text)
    return result


_YES = ("oui", "o", "x", "yes", "vrai", "1")
_NO = ("non", "n", "", "no", "faux", "0")


def parse_yes_no(text: str, *, yes: Iterable[str] = _YES, no: Iterable[str] = _NO) -> bool:
    """``True`` for a yes wording, ``False`` for a no wording (case, accents and spaces ignored).

    By default yes is ``Oui``, ``O``, ``X`` (ticked box), ``Yes``, ``Vrai``, ``1`` and no is
    ``Non``, ``N``, an empty cell, ``No``, ``Faux``, ``0``.

    Raises:
        IntakeError: the text is neither.
    """
    yes, no = tuple(yes), tuple(no)
    yes_set = {normalize_text(word) for word in yes}
    no_set = {normalize_text(word) for word in no}
    normalized = normalize_text(text)
    if normalized in yes_set:
        return True
    if normalized in no_set:
        return False
    shown = [word for word in (*yes, *no) if word]
    listed = ", ".join(f"« {word} »" for word in shown)
    empty = " ou case vide" if "" in no_set else ""
    raise IntakeError(f"oui ou non attendu : {listed}{empty}", value=text)


_SPACES = "[ \u00a0\u202f]"
_INT = re.compile(rf"[+-]?(?:\d{{1,3}}(?:{_SPACES}\d{{3}})+|\d+)", re.ASCII)
_DECIMAL = re.compile(rf"([+-]?(?:\d{{1,3}}(?:{_SPACES}\d{{3}})+|\d*))(?:[.,](\d+))?", re.ASCII)


_MAX_DIGITS = 18  # below 2**63: every number read fits the register's 64-bit integers


def parse_int(text: str) -> int:
    """A whole number, optionally signed, with spaces (also non-breaking) as thousands
    separators: ``1 234``.

    Raises:
        IntakeError: empty text, decimals, misplaced spaces, anything else.
    """
    stripped = text.strip()
    if not _INT.fullmatch(stripped):
        raise IntakeError("nombre entier attendu (par exemple 3 ou 1 250)", value=text)
    digits = re.sub(_SPACES, "", stripped)
    if len(digits.lstrip("+-").lstrip("0")) > _MAX_DIGITS:
        raise IntakeError(
            f"nombre entier d'au plus {_MAX_DIGITS} chiffres attendu (nombre trop grand)",
            value=text,
        )
    return int(digits)


def parse_decimal(text: str) -> Decimal:
    """A decimal number with a decimal comma or point (``3,5`` or ``3.5``), optionally signed,
    with spaces as thousands separators (``1 234,5``).

    Raises:
        IntakeError: empty text, both a comma and a point, anything else.
    """
    stripped = text.strip()
    match = _DECIMAL.fullmatch(stripped)
    whole, fraction = match.groups() if match else ("", None)
    if match is None or (not whole.lstrip("+-") and fraction is None):
        raise IntakeError("nombre attendu, avec une virgule décimale (par exemple 2,5)", value=text)
    number = re.sub(_SPACES, "", whole)
    try:
        return Decimal(f"{number}.{fraction}" if fraction is not None else number)
    except InvalidOperation:  # pragma: no cover - the pattern only lets valid numbers through
        raise IntakeError("nombre attendu, avec une virgule décimale", value=text) from None


def parse_choice(text: str, mapping: Mapping[str, T]) -> T:
    """The value ``mapping`` gives to the wording ``text``, wordings compared without case,
    accents, typographic apostrophes nor extra spaces.

    Raises:
        IntakeError: the wording is not in ``mapping``.
        ValueError: two wordings of ``mapping`` are equal once normalised but map to different
            values.
    """
    normalized: dict[str, T] = {}
    for wording, value in mapping.items():
        key = normalize_text(wording)
        if key in normalized and normalized[key] != value:
            raise ValueError(f"libellés ambigus dans la correspondance : « {wording} »")
        normalized[key] = value
    try:
        return normalized[normalize_text(text)]
    except KeyError:
        listed = ", ".join(f"« {wording} »" for wording in mapping)
        raise IntakeError(f"une des valeurs suivantes attendue : {listed}", value=text) from None


_PUNCTUATION = re.compile(r"[^\w]+|_+")


def header_key(text: str) -> str:
    """The key headers are compared by: no case, accents, extra spaces nor punctuation
    (``" Votre ville * "`` and ``"votre ville"`` are the same header, and so are
    ``"Affection de longue durée (ALD)"`` and ``"affection de longue duree - ALD"``)."""
    return " ".join(_PUNCTUATION.sub(" ", normalize_text(text)).split())


class HeaderIndex:
    """The headers of a file by :func:`header_key`, to find the one a mapping names."""

    def __init__(self, table: Table) -> None:
        self.source = table.source
        self.by_key: dict[str, list[str]] = {}
        for header in table.headers:
            self.by_key.setdefault(header_key(header), []).append(header)

    def find(self, column: str) -> str | None:
        """The file's header that ``column`` names (``None``: none).

        Raises:
            IntakeError: two headers of the file match ``column``.
        """
        actual = self.by_key.get(header_key(column), [])
        if len(actual) > 1:
            raise IntakeError(
                f"{len(actual)} colonnes du fichier correspondent à l'en-tête « {column} » "
                "(majuscules, accents, « * » ou « : » ignorés) : renommez-les",
                source=self.source,
                value=" | ".join(actual),
            )
        return actual[0] if actual else None
