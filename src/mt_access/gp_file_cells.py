"""The columns of a GP file and the reading of one row's cells (:mod:`mt_access.gp_file`
reads the whole file against the register).

:data:`GP_COLUMNS` lists the French headings a file should use and the synonyms read as them;
:class:`RowReader` reads one row's cells (dates, capacities, communes, modalities, contact
details), collecting each problem with its row and column. A contact detail's value is never
put in a problem.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

import attrs

from mt_access.bounds import MAX_MONTHLY_CAPACITY, MAX_YEARLY_CAPACITY, Bound, check_number
from mt_access.errors import IntakeError
from mt_access.gp_register import MAX_PHYSICIAN_ID
from mt_access.intake.cells import BadCell
from mt_access.intake.french_dates import DAY_MONTH_YEAR, parse_french_date
from mt_access.intake.records import IntakeProblem, shown_header
from mt_access.intake.tabular import (
    Row,
    Table,
    header_key,
    normalize_text,
    parse_date,
    parse_int,
)
from mt_access.model import Modality, PracticeContact, format_phone

if TYPE_CHECKING:
    from mt_access.gp_mapping import GPMapping

__all__ = [
    "BY_FIELD",
    "CONTACT_FIELDS",
    "GP_COLUMNS",
    "INSEE",
    "MAX_COMMENT",
    "MAX_ID",
    "MAX_NAME",
    "MIN_GP_DATE",
    "MONTHLY",
    "YEARLY",
    "GPColumn",
    "RowReader",
    "display_name",
    "strip_title",
    "table_columns",
]

MIN_GP_DATE = dt.date(2000, 1, 1)
"""The earliest joining or withdrawal date a GP file may hold (an earlier one is a typo)."""

MAX_NAME = 200
"""Characters of a GP's name (« Nom » and « Prénom » together), as the web form allows."""

MAX_ID = MAX_PHYSICIAN_ID
"""Characters of a GP's id (« Identifiant »), as the register and the web form allow."""

MAX_COMMENT = 300
"""Characters of a joining's comment (« Commentaire »), as the web form allows."""


@attrs.frozen
class GPColumn:
    """A column of a GP file.

    Attributes:
        field: the name the code uses.
        heading: the French heading a file should use.
        synonyms: other headings read as this one (compared like headings).
        description: what the cells hold, in French (for the documentation and messages).
        contact: a contact detail of the practice: its value is never shown in a message
            nor written to the rejections report.
    """

    field: str
    heading: str
    synonyms: tuple[str, ...]
    description: str
    contact: bool = False


GP_COLUMNS: tuple[GPColumn, ...] = (
    GPColumn("id", "Identifiant", ("identifiant du médecin", "id", "code médecin"),
             "identifiant du médecin dans le registre (par défaut : son numéro RPPS)"),
    GPColumn("rpps", "RPPS", ("numéro RPPS", "n° RPPS", "no RPPS", "identifiant RPPS",
                              "RPPS du médecin"),
             "numéro RPPS à 11 chiffres (clé de contrôle vérifiée)"),
    GPColumn("last_name", "Nom", ("nom d'exercice", "nom du médecin", "nom de famille"),
             "nom du médecin (« Dr » ajouté devant le prénom et le nom)"),
    GPColumn("first_name", "Prénom", ("prénom d'exercice", "prénom du médecin"),
             "prénom du médecin (facultatif)"),
    GPColumn("commune", "Commune d'exercice", ("commune", "commune du cabinet", "code INSEE",
                                              "code commune", "ville"),
             "commune du cabinet : code INSEE ou nom"),
    GPColumn("monthly", "Places par mois", ("capacité", "capacité mensuelle",
                                           "nouveaux patients par mois", "places"),
             f"nouveaux patients par mois, entier de 0 à {MAX_MONTHLY_CAPACITY}"),
    GPColumn("yearly", "Places par an", ("capacité annuelle", "nouveaux patients par an"),
             f"nouveaux patients par année civile, entier de 0 à {MAX_YEARLY_CAPACITY} (au "
             "lieu de « Places par mois »)"),
    GPColumn("modalities", "Modalités", ("modalité", "modalités de prise en charge"),
             "« cabinet », « domicile » ou « cabinet et domicile » (cabinet par défaut)"),
    GPColumn("communes", "Communes acceptées", ("communes", "communes des patients"),
             "communes d'où le médecin accepte des patients, codes INSEE ou noms séparés par "
             "des points-virgules (vide : selon la politique)"),
    GPColumn("joined", "Date d'entrée", ("date d'adhésion", "adhésion", "entrée",
                                        "date de signature de la charte"),
             "date d'adhésion au dispositif (vide : médecin candidat, pas encore adhérent)"),
    GPColumn("withdrawn", "Date de retrait", ("retrait", "date de sortie", "sortie"),
             "date de retrait du dispositif (vide : toujours adhérent)"),
    GPColumn("comment", "Commentaire", ("commentaires", "remarque", "remarques"),
             "commentaire gardé avec l'adhésion (pas de donnée médicale)"),
    GPColumn("phone", "Téléphone", ("téléphone du cabinet", "tél", "tel"),
             "téléphone du cabinet", contact=True),
    GPColumn("mssante", "MSSanté", ("adresse MSSanté", "messagerie sécurisée", "mail MSSanté"),
             "adresse de messagerie sécurisée de santé", contact=True),
    GPColumn("address", "Adresse du cabinet", ("adresse", "adresse postale"),
             "adresse postale du cabinet, sur une ligne", contact=True),
    GPColumn("practice", "Cabinet", ("nom du cabinet", "maison de santé", "structure"),
             "nom du cabinet ou de la maison de santé", contact=True),
    GPColumn("notes", "Informations pour les patients", ("notes", "informations"),
             "informations données aux patients (ex. prise de rendez-vous en ligne)",
             contact=True),
)  # fmt: skip
"""The columns of a GP file, in the order the example file writes them."""

BY_FIELD = {column.field: column for column in GP_COLUMNS}
_KEY_FIELDS: dict[str, str] = {
    header_key(name): column.field
    for column in GP_COLUMNS
    for name in (column.heading, *column.synonyms)
}

_NEUTRALISED = frozenset("=+-@")
CONTACT_FIELDS = ("phone", "mssante", "address", "practice", "notes")
"""The :class:`~mt_access.model.PracticeContact` fields a GP file may fill."""
INSEE = re.compile(r"(?:[0-9]{5}|2[AaBb][0-9]{3})")
_DR = re.compile(r"^(?:dr\.?|docteur)\s+", re.IGNORECASE)
_LIST_SEPARATORS = re.compile(r"[;,|\n]")
_MODALITY_SEPARATORS = re.compile(r"[;,/+|\n]| et ")
_MODALITY_WORDS: Mapping[str, Modality] = {
    **dict.fromkeys(
        ("cabinet", "au cabinet", "en cabinet", "consultation", "consultations", "office"),
        Modality.OFFICE,
    ),
    **dict.fromkeys(
        ("domicile", "a domicile", "visite", "visites", "visite a domicile",
         "visites a domicile", "en visite a domicile", "vad", "home visits", "home_visits"),
        Modality.HOME_VISITS,
    ),
}  # fmt: skip
_MODALITIES_EXPECTED = "modalités attendues : « cabinet », « domicile » ou « cabinet et domicile »"
MONTHLY = Bound(0, MAX_MONTHLY_CAPACITY, integer=True)
YEARLY = Bound(0, MAX_YEARLY_CAPACITY, integer=True)
_DATE_EXPECTED = "date attendue au format jj/mm/aaaa, aaaa-mm-jj ou « 3 janvier 2026 »"


def strip_title(name: str) -> str:
    """``name`` without a leading « Dr » or « Docteur »."""
    return _DR.sub("", name)


def display_name(last_name: str, first_name: str = "") -> str:
    """The name a GP is shown by: « Dr Prénom Nom » (a « Dr » or « Docteur » already before
    the name is not repeated)."""
    base = _DR.sub("", " ".join(last_name.split()))
    return "Dr " + " ".join(part for part in (" ".join(first_name.split()), base) if part)


def table_columns(
    table: Table, mapping: GPMapping | None = None
) -> tuple[dict[str, str], list[str]]:
    """``{field: header}`` of the table's columns, and the headers not read: by the
    built-in headings, or by those of ``mapping`` for the fields it names (its ``ignore``
    headings are neither read nor listed).

    Raises:
        IntakeError: two columns read the same field, or a required column is missing.
    """
    keys = _KEY_FIELDS if mapping is None else mapping.keys()
    ignored = frozenset() if mapping is None else mapping.ignored_keys()
    heading = (lambda f: BY_FIELD[f].heading) if mapping is None else mapping.heading
    found: dict[str, str] = {}
    unread: list[str] = []
    for header in table.headers:
        key = header_key(header)
        field = keys.get(key)
        if field is None:
            if key not in ignored:
                unread.append(header)
            continue
        if field in found:
            raise IntakeError(
                f"les colonnes « {shown_header(found[field])} » et "
                f"« {shown_header(header)} » désignent toutes deux « {heading(field)} » : "
                "gardez-en une seule",
                source=table.source,
                row=1,
            )
        found[field] = header
    missing = [heading(f) for f in ("last_name", "commune") if f not in found]
    if "id" not in found and "rpps" not in found:
        missing.insert(0, f"{heading('rpps')} (ou {heading('id')})")
    if missing:
        listed = ", ".join(f"« {m} »" for m in missing)
        source = "" if mapping is None else " (d'après le fichier de correspondance)"
        advice = (
            " ; si votre tableur a ses propres en-têtes, décrivez-les dans un fichier de "
            "correspondance"
            if mapping is None
            else ""
        )
        raise IntakeError(
            f"colonne(s) obligatoire(s) absente(s) : {listed} ; en-têtes attendus{source} : "
            + ", ".join(f"« {heading(c.field)} »" for c in GP_COLUMNS)
            + advice,
            source=table.source,
            row=1,
        )
    return found, unread


class RowReader:
    """Reads the cells of one row, collecting its problems: ``today`` bounds its dates and
    ``resolve`` turns a commune's cell into its INSEE code (or says what was expected)."""

    def __init__(
        self,
        row: Row,
        columns: Mapping[str, str],
        *,
        today: dt.date,
        resolve: Callable[[str], str | BadCell],
    ) -> None:
        self.today = today
        self.resolve = resolve
        self.row = row
        self.columns = columns
        self.problems: list[IntakeProblem] = []

    def cell(self, field: str) -> str:
        header = self.columns.get(field)
        text = "" if header is None else self.row.values.get(header, "").strip()
        if text[:1] == "'" and text[1:2] in _NEUTRALISED:
            return text[1:]  # a formula-like cell neutralised by a spreadsheet export
        return text

    def problem(self, field: str, expected: str) -> None:
        header = self.columns.get(field)
        column = BY_FIELD[field]
        value = "" if column.contact or header is None else self.row.values.get(header, "")
        self.problems.append(IntakeProblem(self.row.number, header, expected, value))

    def date(self, field: str) -> dt.date | None:
        text = self.cell(field)
        if not text:
            return None
        try:
            day = parse_date(text)
        except IntakeError:
            found = parse_french_date(text, DAY_MONTH_YEAR)
            if found is None:
                self.problem(field, _DATE_EXPECTED)
                return None
            day = found
        if day > self.today:
            self.problem(
                field,
                f"date postérieure à aujourd'hui ({self.today:%d/%m/%Y}) : un fichier de "
                "médecins enregistre ce qui a eu lieu",
            )
            return None
        if day < MIN_GP_DATE:
            self.problem(field, f"date du {MIN_GP_DATE:%d/%m/%Y} ou après attendue")
            return None
        return day

    def capacity(self, field: str, bound: Bound) -> int | None:
        text = self.cell(field)
        if not text:
            return None
        try:
            number = parse_int(text)
        except IntakeError:
            self.problem(field, f"{bound.describe()} attendu")
            return None
        expected = check_number(number, bound)
        if expected is not None:
            self.problem(field, expected)
            return None
        return number

    def commune(self, field: str, text: str, what: str = "") -> str | None:
        found = self.resolve(text)
        if isinstance(found, BadCell):
            self.problem(field, what + found.expected)
            return None
        return found

    def modalities(self) -> frozenset[Modality]:
        text = self.cell("modalities")
        if not text:
            return frozenset({Modality.OFFICE})
        result: set[Modality] = set()
        for part in _MODALITY_SEPARATORS.split(normalize_text(text)):
            word = " ".join(part.replace("'", " ").split())
            if not word:
                continue
            modality = _MODALITY_WORDS.get(word)
            if modality is None:
                self.problem("modalities", _MODALITIES_EXPECTED)
                return frozenset({Modality.OFFICE})
            result.add(modality)
        if not result:
            self.problem("modalities", _MODALITIES_EXPECTED)
            return frozenset({Modality.OFFICE})
        return frozenset(result)

    def accepted_communes(self) -> frozenset[str]:
        parts = [p.strip() for p in _LIST_SEPARATORS.split(self.cell("communes")) if p.strip()]
        codes: set[str] = set()
        for index, part in enumerate(parts, start=1):
            code = self.commune("communes", part, f"commune n° {index} de la liste : ")
            if code is not None:
                codes.add(code)
        return frozenset(codes)

    def contact(self) -> PracticeContact:
        values: dict[str, str] = {}
        for field in CONTACT_FIELDS:
            text = self.cell(field)
            if not text:
                continue
            if field == "phone":
                text = format_phone(text)
            try:
                PracticeContact(**{field: text})
            except ValueError as exc:
                self.problem(field, str(exc))
                continue
            values[field] = text
        return PracticeContact(**values)
