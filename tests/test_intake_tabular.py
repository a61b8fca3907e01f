"""Reading CSV/XLSX exports and parsing their cell values (mt_access.intake.tabular)."""

from __future__ import annotations

import datetime as dt
import pickle
import sys
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mt_access.errors import MtAccessError
from mt_access.intake import (
    IntakeError,
    Table,
    normalize_text,
    parse_choice,
    parse_date,
    parse_decimal,
    parse_int,
    parse_yes_no,
    read_table,
)

HEADERS = ["Nom", "Prénom", "Date de naissance", "Commune", "Consentement"]
ROWS = [
    ["Lefèvre", "Hélène", "05/03/1950", "Voiron", "Oui"],
    ["Çelik", "Noël", "1988-12-31", "Saint-Étienne-de-Crossey", "X"],
    ["Dupont", "Zoé", "1/2/2001", "Moirans", ""],
]
FORMULA = "=cmd|' /C calc'!A0"


def _csv_text(rows: list[list[str]], sep: str) -> str:
    def cell(value: str) -> str:
        if any(c in value for c in (sep, '"', "\n", "\r")):
            return '"' + value.replace('"', '""') + '"'
        return value

    return "".join(sep.join(cell(v) for v in row) + "\r\n" for row in rows)


def _write(tmp_path: Path, content: str | bytes, name: str = "export.csv") -> Path:
    path = tmp_path / name
    if isinstance(content, str):
        content = content.encode("utf-8")
    path.write_bytes(content)
    return path


def _as_lists(table: Table) -> list[list[str]]:
    return [[row.values[h] for h in table.headers] for row in table.rows]


# --------------------------------------------------------------------------------------------
# CSV: encodings and separators
# --------------------------------------------------------------------------------------------

ENCODINGS = {"utf-8": "utf-8", "utf-8-sig": "utf-8-sig", "cp1252": "cp1252", "utf-16": "utf-16"}


@pytest.mark.parametrize("sep", [";", ",", "\t"], ids=["semicolon", "comma", "tab"])
@pytest.mark.parametrize("encoding", list(ENCODINGS))
def test_csv_every_encoding_and_separator(tmp_path: Path, encoding: str, sep: str) -> None:
    text = _csv_text([HEADERS, *ROWS], sep)
    path = _write(tmp_path, text.encode(encoding))
    table = read_table(path)
    assert table.headers == tuple(HEADERS)
    assert _as_lists(table) == ROWS
    assert [row.number for row in table.rows] == [2, 3, 4]
    assert table.delimiter == sep
    assert table.encoding == ENCODINGS[encoding]
    assert table.source == str(path)


def test_csv_bom_is_not_part_of_the_first_header(tmp_path: Path) -> None:
    path = _write(tmp_path, b"\xef\xbb\xbfNom;Age\r\nA;3\r\n")
    table = read_table(path)
    assert table.headers == ("Nom", "Age")
    assert table.encoding == "utf-8-sig"


def test_csv_cp1252_accents(tmp_path: Path) -> None:
    path = _write(
        tmp_path, "Médecin;Commune\r\nDr Bérénice Œuvrard;Saint-Égrève\r\n".encode("cp1252")
    )
    table = read_table(path)
    assert table.encoding == "cp1252"
    assert table.headers == ("Médecin", "Commune")
    assert table.rows[0].values == {"Médecin": "Dr Bérénice Œuvrard", "Commune": "Saint-Égrève"}


def test_csv_undecodable_bytes(tmp_path: Path) -> None:
    # 0x81 is undefined in Windows-1252 and invalid alone in UTF-8; with 0xF0 no Western
    # encoding gives French text either (Mac Roman: the Apple logo, DOS: a soft hyphen).
    path = _write(tmp_path, b"Nom;Age\r\nA\x81\xf0;3\r\n")
    with pytest.raises(IntakeError, match="encodage non reconnu"):
        read_table(path)


# French text with what tells the encodings apart: œ and € (absent from Latin-1, at other
# places in ISO-8859-15 than in Windows-1252), accented capitals, typographic quotes.
FRENCH = [
    ["Nom", "Prénom", "Commune", "Commentaire"],
    ["Lefèvre", "Hélène", "Saint-Égrève", "Cœur fragile ; dépassement de 50 €"],
    ["Garçon", "Noël", "Voiron", "Sœur aînée, déjà suivie à l’hôpital"],
    ["Œuvrard", "Zoé", "Moirans", "« Très inquiète », rappeler après 18 h"],
    ["Çelik", "Anaïs", "Rives", "Ère nouvelle : médecin parti, où aller ?"],
]


def _french(encoding: str) -> list[list[str]]:
    """FRENCH with what ``encoding`` cannot hold spelt out (ISO-8859-15: no ’; DOS cp850: no
    œ, €, ’)."""
    spelt = {"œ": "oe", "Œ": "OE", "€": "EUR", "’": "'"}

    def fits(char: str) -> str:
        try:
            char.encode(encoding)
        except UnicodeEncodeError:
            return spelt[char]
        return char

    return [["".join(fits(c) for c in cell) for cell in row] for row in FRENCH]


@pytest.mark.parametrize(
    ("encoding", "detected"),
    [
        ("utf-8", "utf-8"),
        ("utf-8-sig", "utf-8-sig"),
        ("utf-16", "utf-16"),
        ("cp1252", "cp1252"),
        ("iso8859-15", "iso8859-15"),
        ("mac_roman", "mac_roman"),
        ("cp850", "cp850"),
    ],
)
def test_csv_french_text_round_trips_in_every_encoding(
    tmp_path: Path, encoding: str, detected: str
) -> None:
    rows = _french(encoding)
    path = _write(tmp_path, _csv_text(rows, ";").encode(encoding))
    table = read_table(path)
    assert table.encoding == detected
    assert [list(table.headers), *_as_lists(table)] == rows


def test_csv_dos_file_is_not_read_as_mac_roman(tmp_path: Path) -> None:
    # Every character Mac Roman gives here is a letter (PrÇnom, Benoåt, Noâl): the rare
    # letters and the capital inside a word tell it from DOS cp850.
    text = "Nom;Prénom\r\nBenoît;Noël\r\nHélène;Ève\r\nAprès;Zoé\r\n"
    table = read_table(_write(tmp_path, text.encode("cp850")))
    assert table.encoding == "cp850"
    assert table.rows[1].values == {"Nom": "Hélène", "Prénom": "Ève"}


def test_csv_iso_8859_15_is_not_read_as_windows_1252(tmp_path: Path) -> None:
    # Every byte decodes in Windows-1252, but œ would become ½ and € would become ¤.
    path = _write(tmp_path, "Nom;Note\r\nBœuf;12 €\r\n".encode("iso8859-15"))
    table = read_table(path)
    assert table.rows[0].values == {"Nom": "Bœuf", "Note": "12 €"}


def test_csv_header_with_commas_cross_checked_on_the_lines(tmp_path: Path) -> None:
    text = (
        "Nom, prénom, date, lieu;Commune;Score\r\n"
        "Dupont Jean 01/02/1980 Voiron;Voiron;3\r\n"
        "Martin Paul 03/04/1990 Rives;Rives;4\r\n"
    )
    table = read_table(_write(tmp_path, text))
    assert table.delimiter == ";"
    assert table.headers == ("Nom, prénom, date, lieu", "Commune", "Score")
    assert table.rows[1].values["Score"] == "4"


def test_csv_separator_sniffed_when_lines_are_uneven(tmp_path: Path) -> None:
    # Exporters drop trailing empty cells: no separator gives every line the header's width;
    # the header's guess (two commas, one semicolon) is wrong, csv.Sniffer's is right.
    text = "Nom, prénom, âge;Ville, quartier;Note\r\nA;B;x\r\nC;D\r\nE;F;y\r\nG;H;z\r\n"
    table = read_table(_write(tmp_path, text))
    assert table.delimiter == ";"
    assert table.rows[1].values == {"Nom, prénom, âge": "C", "Ville, quartier": "D", "Note": ""}


def test_csv_explicit_encoding_and_delimiter(tmp_path: Path) -> None:
    path = _write(tmp_path, "a|b\r\né|2\r\n".encode("latin-1"))
    table = read_table(path, encoding="latin-1", delimiter="|")
    assert table.rows[0].values == {"a": "é", "b": "2"}
    with pytest.raises(IntakeError, match="pas encodé en utf-8"):
        read_table(_write(tmp_path, b"a\r\n\xe9\r\n", "bad.csv"), encoding="utf-8")
    with pytest.raises(IntakeError, match="encodage inconnu"):
        read_table(path, encoding="klingon")


def test_csv_excel_sep_hint_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "sep=,\r\nNom;x,Age\r\nA;b,3\r\n")
    table = read_table(path)
    assert table.delimiter == ","
    assert table.headers == ("Nom;x", "Age")
    assert table.rows[0].number == 2


@pytest.mark.parametrize("sep", [";", ","])
def test_csv_quoted_separators_and_newlines(tmp_path: Path, sep: str) -> None:
    other = "," if sep == ";" else ";"
    rows = [
        [f"Nom{other} prénom", "Adresse", "Motif"],
        [f"Martin{other} Paul", f"12 rue des Lilas{sep} 38500 Voiron", 'Départ du "Dr X"\nen 2024'],
        ["Durand", f"1{sep}2{sep}3", "Rien"],
    ]
    path = _write(tmp_path, _csv_text(rows, sep))
    table = read_table(path)
    assert table.delimiter == sep
    assert _as_lists(table) == rows[1:]
    # The quoted newline does not shift row numbers: one record, one spreadsheet row.
    assert [row.number for row in table.rows] == [2, 3]


def test_csv_delimiter_detection_ignores_quoted_header_text(tmp_path: Path) -> None:
    path = _write(tmp_path, '"Nom, prénom, surnom";Age\r\n"a, b, c";3\r\n')
    table = read_table(path)
    assert table.delimiter == ";"
    assert table.headers == ("Nom, prénom, surnom", "Age")


def test_csv_single_column(tmp_path: Path) -> None:
    table = read_table(_write(tmp_path, "Nom\r\nA\r\nB\r\n"))
    assert table.headers == ("Nom",)
    assert _as_lists(table) == [["A"], ["B"]]


def test_csv_strips_cells_and_skips_blank_rows(tmp_path: Path) -> None:
    text = "\r\n Nom ; Age \r\n  A  ; 3\r\n\r\n ; \r\nB;\r\n;;\r\nC\r\n"
    table = read_table(_write(tmp_path, text))
    assert table.headers == ("Nom", "Age")
    assert [(row.number, row.values) for row in table.rows] == [
        (3, {"Nom": "A", "Age": "3"}),
        (6, {"Nom": "B", "Age": ""}),
        (8, {"Nom": "C", "Age": ""}),  # short row: missing cells are empty
    ]


def test_csv_mac_line_endings(tmp_path: Path) -> None:
    table = read_table(_write(tmp_path, "Nom;Age\rA;3\rB;4\r"))
    assert _as_lists(table) == [["A", "3"], ["B", "4"]]


@pytest.mark.parametrize("content", [b"", b"\xef\xbb\xbf", b"\r\n\r\n", b" ; ;\n\n"])
def test_csv_empty_file(tmp_path: Path, content: bytes) -> None:
    with pytest.raises(IntakeError, match="fichier vide") as info:
        read_table(_write(tmp_path, content))
    assert info.value.source is not None


def test_csv_header_only(tmp_path: Path) -> None:
    table = read_table(_write(tmp_path, "Nom;Age\r\n"))
    assert table.headers == ("Nom", "Age")
    assert table.rows == ()


def test_csv_duplicate_headers_are_named(tmp_path: Path) -> None:
    path = _write(tmp_path, "Nom;Age;nom ;Âge;Ville\r\nA;1;B;2;C\r\n")
    with pytest.raises(IntakeError, match="en double") as info:
        read_table(path)
    message = str(info.value)
    assert "« Nom » (colonne n° 1) et « nom » (colonne n° 3)" in message
    assert "« Age » (colonne n° 2) et « Âge » (colonne n° 4)" in message
    assert info.value.row == 1


def test_csv_trailing_separators_and_unnamed_columns(tmp_path: Path) -> None:
    table = read_table(_write(tmp_path, "Nom;;Age;;\r\nA;;3;;\r\nB;;4\r\n"))
    assert table.headers == ("Nom", "Age")
    assert _as_lists(table) == [["A", "3"], ["B", "4"]]


@pytest.mark.parametrize("line", ["A;x;3", "A;;3;x"])
def test_csv_value_outside_named_columns(tmp_path: Path, line: str) -> None:
    path = _write(tmp_path, f"Nom;;Age\r\nB;;4\r\n{line}\r\n")
    with pytest.raises(IntakeError, match="pas d'en-tête") as info:
        read_table(path)
    assert info.value.row == 3
    assert info.value.value == "x"
    assert str(info.value).endswith("qui n'a pas d'en-tête")


def test_csv_formula_like_text_is_plain_text(tmp_path: Path) -> None:
    rows = [["Nom", "Remarque"], [FORMULA, "+1+1"], ["@SUM(1;2)", "-2+3"]]
    table = read_table(_write(tmp_path, _csv_text(rows, ";")))
    assert _as_lists(table) == rows[1:]


@pytest.mark.parametrize(
    ("name", "message"),
    [("a.xls", "format .xls non pris en charge"), ("a.ods", "\\.ods"), ("a.json", "extension")],
)
def test_unsupported_extensions(tmp_path: Path, name: str, message: str) -> None:
    with pytest.raises(IntakeError, match=message):
        read_table(_write(tmp_path, "x", name))


def test_options_that_do_not_apply(tmp_path: Path) -> None:
    with pytest.raises(IntakeError, match="feuille"):
        read_table(_write(tmp_path, "a\r\n"), sheet="Feuil1")
    with pytest.raises(IntakeError, match="séparateur"):
        read_table(tmp_path / "a.xlsx", delimiter=";")


def test_txt_extension_and_uppercase_suffix(tmp_path: Path) -> None:
    text = "Nom\tAge\r\nA\t3\r\n".encode("utf-16")
    assert _as_lists(read_table(_write(tmp_path, text, "EXPORT.TXT"))) == [["A", "3"]]
    assert _as_lists(read_table(_write(tmp_path, "a;b\n1;2\n", "X.CSV"))) == [["1", "2"]]


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        read_table(tmp_path / "absent.csv")


# --------------------------------------------------------------------------------------------
# XLSX
# --------------------------------------------------------------------------------------------


def test_xlsx_round_trip(tmp_path: Path) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    workbook = openpyxl.Workbook()
    first = workbook.active
    first.title = "Demandes"
    first.append([" Nom ", "Naissance", "RDV", "Enfants", "Taille", "CP", "Accord", "Remarque"])
    first.append(
        ["Lefèvre", dt.date(1950, 3, 5), dt.datetime(2024, 5, 6, 10, 30), 2, 1.5, 38500, True, None]
    )
    first.append([])  # blank row: skipped, still counted
    first.append(["Çelik", dt.datetime(1988, 12, 31), None, 0, 2.0, "01000", False, FORMULA])
    other = workbook.create_sheet("Autre")
    other.append(["Code", "Libellé"])
    other.append(["A", "Médecin parti"])
    path = tmp_path / "export.xlsx"
    workbook.save(path)

    table = read_table(path)
    assert table.source == f"{path}[Demandes]"
    assert table.encoding is None
    assert table.delimiter is None
    assert table.headers == (
        "Nom",
        "Naissance",
        "RDV",
        "Enfants",
        "Taille",
        "CP",
        "Accord",
        "Remarque",
    )
    assert [row.number for row in table.rows] == [2, 4]
    assert _as_lists(table) == [
        ["Lefèvre", "1950-03-05", "2024-05-06T10:30:00", "2", "1.5", "38500", "Oui", ""],
        ["Çelik", "1988-12-31", "", "0", "2", "01000", "Non", FORMULA],
    ]
    assert parse_date(table.rows[0].values["RDV"]) == dt.date(2024, 5, 6)
    assert parse_yes_no(table.rows[1].values["Accord"]) is False
    assert parse_decimal(table.rows[0].values["Taille"]) == Decimal("1.5")

    named = read_table(path, sheet="Autre")
    assert named.rows[0].values == {"Code": "A", "Libellé": "Médecin parti"}
    with pytest.raises(IntakeError, match=r"« Inconnue » introuvable.*« Demandes », « Autre »"):
        read_table(path, sheet="Inconnue")


def test_xlsx_errors(tmp_path: Path) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    with pytest.raises(IntakeError, match="illisible"):
        read_table(_write(tmp_path, b"not a zip", "bad.xlsx"))
    workbook = openpyxl.Workbook()
    path = tmp_path / "empty.xlsx"
    workbook.save(path)
    with pytest.raises(IntakeError, match="fichier vide"):
        read_table(path)
    workbook.active.append(["Nom", "nom"])
    workbook.save(path)
    with pytest.raises(IntakeError, match="en double"):
        read_table(path)


# --------------------------------------------------------------------------------------------
# IntakeError and Table.parse
# --------------------------------------------------------------------------------------------


def test_intake_error_message_never_holds_the_value() -> None:
    with pytest.raises(IntakeError) as info:
        parse_date("Jean Dupont 12/13/1950")
    error = info.value
    assert isinstance(error, MtAccessError)
    assert isinstance(error, ValueError)
    assert error.value == "Jean Dupont 12/13/1950"
    assert "Dupont" not in str(error)
    assert "Dupont" not in repr(error)
    located = error.at(source="demandes.csv", row=7, column="Date de naissance")
    assert str(located) == (
        "demandes.csv, ligne 7, colonne « Date de naissance » : "
        "date attendue au format jj/mm/aaaa ou aaaa-mm-jj"
    )
    assert (located.source, located.row, located.column, located.value) == (
        "demandes.csv",
        7,
        "Date de naissance",
        error.value,
    )
    copy = pickle.loads(pickle.dumps(located))
    assert (str(copy), copy.value, copy.row) == (str(located), located.value, 7)


def test_table_parse_locates_errors(tmp_path: Path) -> None:
    table = read_table(_write(tmp_path, "Nom;Naissance\r\nA;05/03/1950\r\nB;31/02/1950\r\n"))
    assert table.parse(table.rows[0], "Naissance", parse_date) == dt.date(1950, 3, 5)
    with pytest.raises(
        IntakeError, match="ligne 3, colonne « Naissance » : date inexistante"
    ) as info:
        table.parse(table.rows[1], "Naissance", parse_date)
    assert info.value.value == "31/02/1950"
    assert "31/02" not in str(info.value)
    with pytest.raises(IntakeError, match="colonne « Ville » : colonne absente"):
        table.parse(table.rows[0], "Ville", str)


# --------------------------------------------------------------------------------------------
# parse_date
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("05/03/2024", dt.date(2024, 3, 5)),
        ("5/3/2024", dt.date(2024, 3, 5)),
        ("05-03-2024", dt.date(2024, 3, 5)),
        ("05.03.2024", dt.date(2024, 3, 5)),
        ("2024-03-05", dt.date(2024, 3, 5)),
        ("2024-3-5", dt.date(2024, 3, 5)),
        ("  29/02/2024 ", dt.date(2024, 2, 29)),
        ("05/03/2024 14:30", dt.date(2024, 3, 5)),
        ("05/03/2024 14:30:59", dt.date(2024, 3, 5)),
        ("05/03/2024 9h05", dt.date(2024, 3, 5)),
        ("2024-03-05T14:30:00", dt.date(2024, 3, 5)),
        ("2024-03-05 14:30:00.123", dt.date(2024, 3, 5)),
        ("2024-03-05T14:30:00+01:00", dt.date(2024, 3, 5)),
        ("2024-03-05T14:30:00Z", dt.date(2024, 3, 5)),
    ],
)
def test_parse_date_accepts(text: str, expected: dt.date) -> None:
    assert parse_date(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("05/03/24", "année sur 4 chiffres"),
        ("5.3.24", "année sur 4 chiffres"),
        ("05-03-24 10:00", "année sur 4 chiffres"),
        ("31/02/2024", "date inexistante"),
        ("29/02/2023", "date inexistante"),
        ("2024-13-01", "date inexistante"),
        ("00/01/2024", "date inexistante"),
        ("05/03/2024 25:00", "heure invalide"),
        ("05/03/2024 10:61", "heure invalide"),
        ("", "date attendue"),
        ("mars 2024", "date attendue"),
        ("05/03-2024", "date attendue"),
        ("2024/03/05", "date attendue"),
        ("05032024", "date attendue"),
        ("05/03/20245", "date attendue"),
        ("٠٥/٠٣/٢٠٢٤", "date attendue"),  # non-ASCII digits
        ("45356", "date attendue"),  # an Excel serial number is not a date here
    ],
)
def test_parse_date_refuses(text: str, message: str) -> None:
    with pytest.raises(IntakeError, match=message) as info:
        parse_date(text)
    assert info.value.value == text


DATE_FORMATS: list[Callable[[dt.date], str]] = [
    lambda d: f"{d.day:02d}/{d.month:02d}/{d.year:04d}",
    lambda d: f"{d.day}/{d.month}/{d.year:04d}",
    lambda d: f"{d.day:02d}-{d.month:02d}-{d.year:04d}",
    lambda d: f"{d.day:02d}.{d.month:02d}.{d.year:04d}",
    lambda d: f"{d.year:04d}-{d.month:02d}-{d.day:02d}",
    lambda d: f"{d.day:02d}/{d.month:02d}/{d.year:04d} 23:59",
    lambda d: f"{d.year:04d}-{d.month:02d}-{d.day:02d}T08:05:00",
]


@given(
    date=st.dates(min_value=dt.date(1, 1, 1), max_value=dt.date(9999, 12, 31)),
    fmt=st.sampled_from(DATE_FORMATS),
)
def test_parse_date_round_trip(date: dt.date, fmt: Callable[[dt.date], str]) -> None:
    assert parse_date(fmt(date)) == date


# --------------------------------------------------------------------------------------------
# parse_yes_no
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["Oui", "OUI", " oui ", "o", "X", "x", "Yes", "Vrai", "VRAI", "1"])
def test_parse_yes_no_yes(text: str) -> None:
    assert parse_yes_no(text) is True


@pytest.mark.parametrize("text", ["Non", "NON", "n", "", "   ", "No", "Faux", "0"])
def test_parse_yes_no_no(text: str) -> None:
    assert parse_yes_no(text) is False


@pytest.mark.parametrize("text", ["peut-être", "2", "oui non", "xx", "?"])
def test_parse_yes_no_refuses(text: str) -> None:
    with pytest.raises(IntakeError, match=r"oui ou non attendu.*ou case vide") as info:
        parse_yes_no(text)
    assert info.value.value == text


def test_parse_yes_no_custom_wordings() -> None:
    assert parse_yes_no("Déjà suivi", yes=["deja suivi"], no=["jamais"]) is True
    assert parse_yes_no(" JAMAIS ", yes=["deja suivi"], no=["jamais"]) is False
    with pytest.raises(IntakeError, match=r"« deja suivi », « jamais »$"):
        parse_yes_no("", yes=["deja suivi"], no=["jamais"])  # empty is not "no" here


# --------------------------------------------------------------------------------------------
# parse_int, parse_decimal
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3", 3),
        (" 42 ", 42),
        ("-7", -7),
        ("+7", 7),
        ("007", 7),
        ("1 250", 1250),
        ("1\u00a0250", 1250),
        ("1\u202f250\u202f000", 1250000),
        ("12 345 678", 12345678),
    ],
)
def test_parse_int_accepts(text: str, expected: int) -> None:
    assert parse_int(text) == expected


@pytest.mark.parametrize(
    "text", ["", " ", "3,5", "3.0", "1 25", "12 34 567", "1  250", "trois", "٣", "1e3", "- 3"]
)
def test_parse_int_refuses(text: str) -> None:
    with pytest.raises(IntakeError, match="nombre entier attendu") as info:
        parse_int(text)
    assert info.value.value == text


@given(st.integers(min_value=-(10**12), max_value=10**12))
def test_parse_int_round_trip_french_format(number: int) -> None:
    assert parse_int(f"{number:,}".replace(",", "\u202f")) == number
    assert parse_int(str(number)) == number


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3,5", Decimal("3.5")),
        ("3.5", Decimal("3.5")),
        ("-0,25", Decimal("-0.25")),
        ("12", Decimal("12")),
        (",5", Decimal("0.5")),
        ("1 234,56", Decimal("1234.56")),
        ("1\u00a0234.5", Decimal("1234.5")),
        (" 2,50 ", Decimal("2.50")),
    ],
)
def test_parse_decimal_accepts(text: str, expected: Decimal) -> None:
    assert parse_decimal(text) == expected


@pytest.mark.parametrize(
    "text", ["", "-", ",", "3,", "1.234,5", "1,234.5", "3,5,1", "1 23,4", "abc", "NaN", "1e5"]
)
def test_parse_decimal_refuses(text: str) -> None:
    with pytest.raises(IntakeError, match="nombre attendu") as info:
        parse_decimal(text)
    assert info.value.value == text


# --------------------------------------------------------------------------------------------
# parse_choice, normalize_text
# --------------------------------------------------------------------------------------------

REASONS = {
    "Mon médecin est parti à la retraite": "retirement",
    "Je n'ai jamais eu de médecin traitant": "never_had",
    "Déménagement": "moved",
}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Mon médecin est parti à la retraite", "retirement"),
        ("  MON MEDECIN   est parti a la RETRAITE ", "retirement"),
        ("Je n’ai jamais eu de médecin traitant", "never_had"),  # typographic apostrophe
        ("demenagement", "moved"),
    ],
)
def test_parse_choice_accepts(text: str, expected: str) -> None:
    assert parse_choice(text, REASONS) == expected


@pytest.mark.parametrize("text", ["", "retraite", "Autre"])
def test_parse_choice_refuses(text: str) -> None:
    with pytest.raises(IntakeError, match="une des valeurs suivantes attendue : « Mon") as info:
        parse_choice(text, REASONS)
    assert info.value.value == text


def test_parse_choice_ambiguous_mapping() -> None:
    assert parse_choice("oui", {"Oui": 1, "OUI": 1}) == 1
    with pytest.raises(ValueError, match="ambigus"):
        parse_choice("oui", {"Oui": 1, "OUÏ": 2})


def test_normalize_text() -> None:
    assert normalize_text("  Médecin   PARTI\u00a0à la  retraite ") == "medecin parti a la retraite"
    assert normalize_text("Œuvre l’été") == "œuvre l'ete"


def test_xlsx_without_openpyxl(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "openpyxl", None)  # makes `import openpyxl` fail
    with pytest.raises(IntakeError, match="nécessite le paquet openpyxl"):
        read_table(_write(tmp_path, b"PK", "export.xlsx"))
