"""Import of form exports: the rows of a :class:`~mt_access.intake.tabular.Table` become
requests, problems and duplicates.

:func:`import_table` reads every row with the policy's :class:`~mt_access.intake.forms.FormMapping`
and returns an :class:`IntakeResult`:

* ``accepted``: one :class:`IntakeRecord` per good row (a :class:`~mt_access.model.Request`
  with a provisional id, the :class:`~mt_access.model.PatientIdentity`, whether the commune is
  in the policy's territory, the household link);
* ``problems``: one :class:`IntakeProblem` per bad cell (row, column, what was expected, in
  French); a row with a problem is not imported, the others are;
* ``duplicates``: one :class:`IntakeDuplicate` per row that repeats a person already imported
  from an earlier row of the file or already known to the register; it is not imported;
* ``already_imported``: the rows the register already imported from this or an earlier
  export (same content, recognised by :func:`row_digest`); they are skipped, not rejected;
* warnings: the file's columns the mapping does not read (``unread_columns``, with a hint
  when one looks like a field, ``column_hints``) and the optional columns of the mapping
  absent from the file (``absent_columns``).

:func:`write_rejections` writes the problems and duplicates as a CSV (or XLSX) file for the
coordinator, with formula-like cells neutralised.

No message, ``str()`` or ``repr()`` of a problem holds a cell's value: the value, which may
identify a patient, is only in :attr:`IntakeProblem.value`, for the rejections file.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from mt_access.errors import AmbiguousCommuneError, IntakeError, UnknownCommuneError
from mt_access.export import neutralise, write_rows
from mt_access.geo.communes import Commune, CommuneReference, bundled_reference
from mt_access.geo.names import did_you_mean
from mt_access.intake.forms import (
    COMMUNE_FIELDS,
    FIELDS,
    FieldType,
    FormField,
    FormMapping,
    default_mapping,
    header_key,
    split_full_name,
)
from mt_access.intake.tabular import (
    Row,
    Table,
    normalize_text,
    parse_date,
    parse_int,
    parse_yes_no,
    read_table,
)
from mt_access.labels import LabelledEnum, register_labels
from mt_access.model import (
    Consent,
    HomeVisitNeed,
    Household,
    Patient,
    PatientIdentity,
    PreviousDoctor,
    Referrer,
    ReferrerKind,
    Request,
    SearchReason,
)
from mt_access.store.base import KnownPerson

if TYPE_CHECKING:
    from mt_access.policy import Policy

__all__ = [
    "DuplicateReason",
    "IntakeDuplicate",
    "IntakeProblem",
    "IntakeRecord",
    "IntakeResult",
    "KnownPerson",
    "import_file",
    "import_table",
    "neutralize_cell",
    "row_digest",
    "write_rejections",
]

"""A person the register already knows: ``(request_id, identity, birth_date)``."""

_MIN_BIRTH_YEAR = 1900


# --------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------


@attrs.frozen
class IntakeProblem:
    """A bad cell (or row): the row is not imported.

    ``str(problem)`` (« ligne 4, colonne « Date de naissance » : date attendue... ») never
    holds the cell's value, which may identify a patient.

    Attributes:
        row: the row number, as the spreadsheet shows it.
        column: the column header, as written in the file (``None`` for the whole row).
        expected: what was expected, in French.
        value: the cell's text, for the rejections file only (left out of ``str`` and
            ``repr``).
        candidates: for an ambiguous commune name, ``(insee, name, department)`` of each
            commune it fits.
    """

    row: int
    column: str | None
    expected: str
    value: str = attrs.field(default="", repr=False)
    candidates: tuple[tuple[str, str, str], ...] = ()

    def __str__(self) -> str:
        where = f"ligne {self.row}"
        if self.column is not None:
            where += f", colonne « {self.column} »"
        return f"{where} : {self.expected}"


class DuplicateReason(LabelledEnum):
    """Why a row is recognised as a person already imported or known."""

    SAME_PERSON = "same_person"
    SAME_IDENTIFIER = "same_identifier"
    SAME_SUBMISSION = "same_submission"


register_labels(
    {
        DuplicateReason.SAME_PERSON: "mêmes nom, prénom et date de naissance",
        DuplicateReason.SAME_IDENTIFIER: "même identifiant de la personne",
        DuplicateReason.SAME_SUBMISSION: "même identifiant de réponse au formulaire",
    }
)


@attrs.frozen
class IntakeDuplicate:
    """A row repeating a person imported from an earlier row or already known: not imported.

    Attributes:
        row: the duplicate row.
        of_row: the earlier row of the same file it repeats, if any.
        of_request: the id of the known request it repeats, if any.
        reason: how it was recognised.
    """

    row: int
    of_row: int | None
    of_request: str | None
    reason: DuplicateReason

    def __str__(self) -> str:
        return f"ligne {self.row} : {self.explanation}"

    @property
    def explanation(self) -> str:
        """What the row repeats, and how it was recognised (French, without the row)."""
        if self.of_request is not None:
            what = f"personne déjà enregistrée (demande {self.of_request})"
        else:
            what = f"doublon de la ligne {self.of_row}"
        return f"{what} ({self.reason.label}) ; ligne non importée"


@attrs.frozen
class IntakeRecord:
    """A row imported as a request.

    Attributes:
        row: the row number, as the spreadsheet shows it.
        request: the request, with a provisional id (the form's submission id when the form
            has one, else ``ligne-<row>``); the register gives the final id.
        identity: the patient's name, contact and address (personal data; left out of
            ``repr``).
        in_territory: whether the patient's commune is in the policy's territory; a request
            from outside is recorded out of scope by the register.
        form_id: the form's submission id, when the form has one.
        household_link: the same text on every record of one household (rows sharing the
            household column, or, without one, the same last name and address), else
            ``None``; also the request's ``household_id``.
        digest: the row's :func:`row_digest`, recorded by the register with the request so
            that the same row is never imported twice (``""``: not recorded).
    """

    row: int
    request: Request
    identity: PatientIdentity = attrs.field(repr=False)
    in_territory: bool
    form_id: str | None = None
    household_link: str | None = None
    digest: str = ""


@attrs.frozen
class IntakeResult:
    """What :func:`import_table` made of a file.

    Attributes:
        source: the file read (and ``[sheet]`` for a workbook).
        rows: the number of data rows read.
        accepted: the imported rows, in file order.
        problems: the bad cells, by row then column order.
        duplicates: the rows repeating a person, by row.
        already_imported: ``(row, request id)`` of the rows already imported (the same
            content was imported before, from this file or another export), by row: skipped.
        unread_columns: the file's column headers no field of the mapping reads, in file
            order (a warning: their content is not imported).
        column_hints: ``(header, explanation)`` for the unread columns that look like a
            field (« ALD », « Nb enfants »...): which field, and why it was not read.
        absent_columns: ``(headers, field label)`` of the optional fields whose column is
            not in the file (a warning: the field takes its default value).
    """

    source: str
    rows: int
    accepted: tuple[IntakeRecord, ...] = ()
    problems: tuple[IntakeProblem, ...] = ()
    duplicates: tuple[IntakeDuplicate, ...] = ()
    already_imported: tuple[tuple[int, str], ...] = ()
    unread_columns: tuple[str, ...] = ()
    column_hints: tuple[tuple[str, str], ...] = ()
    absent_columns: tuple[tuple[str, str], ...] = ()

    @property
    def requests(self) -> tuple[Request, ...]:
        """The requests of the accepted rows."""
        return tuple(record.request for record in self.accepted)

    @property
    def out_of_territory(self) -> tuple[IntakeRecord, ...]:
        """The accepted rows whose commune is outside the territory."""
        return tuple(record for record in self.accepted if not record.in_territory)

    @property
    def rejected_rows(self) -> tuple[int, ...]:
        """The rows not imported (a problem or a duplicate), sorted."""
        rows = {p.row for p in self.problems} | {d.row for d in self.duplicates}
        return tuple(sorted(rows))

    def summary(self) -> str:
        """One French sentence: rows read, imported (out of territory), rejected, duplicates,
        already imported."""
        out = len(self.out_of_territory)
        rejected = len({p.row for p in self.problems})
        already = (
            f", {len(self.already_imported)} ligne(s) déjà importée(s)"
            if self.already_imported
            else ""
        )
        return (
            f"{self.rows} ligne(s) lue(s) : {len(self.accepted)} demande(s) importée(s)"
            f" (dont {out} hors territoire), {rejected} ligne(s) rejetée(s),"
            f" {len(self.duplicates)} doublon(s){already}"
        )

    def warnings(self, *, absent: bool = True) -> list[str]:
        """The warnings about the file's columns, in French, one line each: columns not
        read (with the field an unread column looks like) and, with ``absent``, optional
        columns absent (the ``generique`` preset names many columns a spreadsheet may not
        have: the command line leaves that line out for it)."""
        lines: list[str] = []
        hinted = dict(self.column_hints)
        plain = [header for header in self.unread_columns if header not in hinted]
        if plain:
            listed = ", ".join(f"« {_shown(header)} »" for header in plain)
            lines.append(
                f"{len(plain)} colonne(s) du fichier non lue(s) par le formulaire "
                f"(leur contenu n'est pas importé) : {listed}"
            )
        for header, hint in self.column_hints:
            lines.append(f"colonne « {_shown(header)} » non lue : {hint}")
        if absent and self.absent_columns:
            listed = " ; ".join(f"{headers} ({label})" for headers, label in self.absent_columns)
            lines.append(
                f"colonne(s) facultative(s) absente(s) du fichier, champ(s) non lu(s) : {listed}"
            )
        return lines


def _shown(header: str) -> str:
    """A header as a message shows it: at most 80 characters, on one line."""
    text = " ".join(header.split())
    return text if len(text) <= 80 else text[:79] + "…"


_DIGEST_DOMAIN = b"mt-access intake row v1\n"


def row_digest(row: Row) -> str:
    """The digest of a form row's content: what makes a second import of the same row
    recognisable, from the same file or from a later, bigger export.

    SHA-256 of the non-empty cells (text stripped, Unicode NFC) keyed by their header
    compared like headers (:func:`~mt_access.intake.forms.header_key`): the row number, the
    column order, empty columns and the file's encoding or format do not change it; any
    change of a cell does. Only the digest is kept by the register, never the cells.
    """
    cells = sorted(
        (header_key(header), unicodedata.normalize("NFC", text.strip()))
        for header, text in row.values.items()
        if text.strip()
    )
    digest = hashlib.sha256(_DIGEST_DOMAIN)
    for key, text in cells:
        for part in (key, text):
            data = part.encode("utf-8", "surrogatepass")
            digest.update(len(data).to_bytes(8, "big"))
            digest.update(data)
    return digest.hexdigest()


# --------------------------------------------------------------------------------------------
# Reading cells
# --------------------------------------------------------------------------------------------


class _Bad:
    """A cell that cannot be read (cached like a value)."""

    __slots__ = ("candidates", "expected")

    def __init__(self, expected: str, candidates: tuple[tuple[str, str, str], ...] = ()) -> None:
        self.expected = expected
        self.candidates = candidates


_DEFAULTS: Mapping[str, Any] = {
    "adults": 1,
    "children": 0,
    "home_visits": HomeVisitNeed.NONE,
    "reason": SearchReason.OTHER,
    "referrer_kind": ReferrerKind.PATIENT,
}


_DIGITS = re.compile(r"[+-]?[0-9][0-9 \u00a0\u202f]*", re.ASCII)
_TOO_BIG = 2**63  # stands for a number with too many digits: outside every bound


def _count(number: int) -> str:
    """``120 000``: thousands separated by a non-breaking space, as French writes them."""
    return f"{number:,}".replace(",", "\u00a0")


def _wordings(pairs: Iterable[str]) -> str:
    return ", ".join(f"« {wording} »" for wording in pairs)


class _FieldReader:
    """Reads one field of every row: finds its cell, converts it, caches by cell text."""

    __slots__ = ("cache", "column", "columns", "convert", "field", "lookup")

    def __init__(self, form_field: FormField, columns: tuple[str, ...]) -> None:
        self.field = form_field
        self.columns = columns
        self.column: str | None = (
            " + ".join(columns) if form_field.join else (columns or (None,))[0]
        )
        self.lookup = form_field.lookup()
        self.cache: dict[str, Any] | None = None
        spec = form_field.spec
        self.convert: Callable[[str], Any]
        if spec.type is FieldType.TEXT:
            self.convert = self._text
        elif spec.type is FieldType.DATE:
            self.convert, self.cache = self._date, {}
        elif spec.type is FieldType.BOOLEAN:
            self.convert, self.cache = self._boolean, {}
        elif spec.type is FieldType.INTEGER:
            self.convert, self.cache = self._integer, {}
        elif spec.type is FieldType.CHOICE:
            self.convert, self.cache = self._choice, {}
            assert spec.choices is not None
            self.lookup = {
                **{normalize_text(m.label): m for m in spec.choices},
                **{normalize_text(m.value): m for m in spec.choices},
                **{k: spec.choices(v) for k, v in self.lookup.items()},
            }
        else:  # COMMUNE: resolved later, with the other commune fields
            self.convert = str.strip

    def cell(self, row: Row) -> str:
        values = row.values
        if self.field.join:
            parts = [f"{column} : {values[column]}" for column in self.columns if values[column]]
            return "\n".join(parts)
        return values[self.columns[0]]

    def read(self, row: Row) -> Any:
        """The field's value in ``row`` (the constant, when the field has one), or a _Bad."""
        if self.field.constant is not None:
            constant = self.field.constant
            choices = self.field.spec.choices
            return choices(constant) if choices is not None else constant
        text = self.cell(row)
        cache = self.cache
        if cache is None:
            return self.convert(text)
        value = cache.get(text, _Bad)
        if value is _Bad:
            value = cache[text] = self.convert(text)
        return value

    # -- converters -------------------------------------------------------------------------

    def _text(self, text: str) -> Any:
        text = text.strip()
        limit = self.field.spec.max_length
        if len(text) > limit:
            return _Bad(
                f"texte trop long : {_count(len(text))} caractères, {_count(limit)} au plus"
            )
        return text

    def _date(self, text: str) -> Any:
        if not text.strip():
            return None
        try:
            return parse_date(text)
        except IntakeError as exc:
            for fmt in self.field.formats:
                try:
                    return dt.datetime.strptime(text.strip(), fmt).date()
                except ValueError:
                    continue
            extra = f" (ou {', '.join(self.field.formats)})" if self.field.formats else ""
            return _Bad(exc.expected + extra)

    def _boolean(self, text: str) -> Any:
        key = normalize_text(text)
        if key in self.lookup:
            return self.lookup[key]
        if not key:
            return False
        if self.field.otherwise is not None:
            return self.field.otherwise
        try:
            return parse_yes_no(text)
        except IntakeError as exc:
            if self.field.values:
                return _Bad(f"{exc.expected}, ou {_wordings(w for w, _ in self.field.values)}")
            return _Bad(exc.expected)

    def _integer(self, text: str) -> Any:
        key = normalize_text(text)
        if key in self.lookup:
            return self._bounded(self.lookup[key])
        if not key:
            return _DEFAULTS.get(self.field.name, 0)
        if self.field.otherwise is not None:
            return self._bounded(self.field.otherwise)
        try:
            value = parse_int(text)
        except IntakeError as exc:
            if _DIGITS.fullmatch(text.strip()):  # a number, too long to be read
                return self._bounded(_TOO_BIG)
            if self.field.values:
                return _Bad(f"{exc.expected}, ou {_wordings(w for w, _ in self.field.values)}")
            return _Bad(exc.expected)
        if value < 0:
            return _Bad("nombre entier positif ou nul attendu")
        return self._bounded(value)

    def _bounded(self, value: Any) -> Any:
        """``value``, or a _Bad naming the field's bounds (:mod:`mt_access.bounds`)."""
        expected = self.field.spec.check(value)
        return value if expected is None else _Bad(expected)

    def _choice(self, text: str) -> Any:
        key = normalize_text(text)
        if key in self.lookup:
            return self.lookup[key]
        if not key:
            return _DEFAULTS[self.field.name]
        if self.field.otherwise is not None:
            choices = self.field.spec.choices
            assert choices is not None
            return choices(self.field.otherwise)
        if self.field.values:
            listed = _wordings(w for w, _ in self.field.values)
        else:
            choices = self.field.spec.choices
            assert choices is not None
            listed = _wordings(m.label for m in choices)
        return _Bad(f"une des réponses suivantes attendue : {listed}")


# --------------------------------------------------------------------------------------------
# Communes
# --------------------------------------------------------------------------------------------

_POSTAL_CODE = re.compile(r"[0-9]{5}")
_ADDRESS_POSTAL_CODE = re.compile(r"(?<![0-9])([0-9]{5})(?![0-9])")
_CEDEX = re.compile(r"\bcedex\b.*$", re.IGNORECASE | re.DOTALL)
_TRIM = " \t\r\n,;:-–—."
_NAME_HINT = "précisez le code postal ou le code INSEE"
_ADDRESS_EXPECTED = (
    "adresse avec le code postal et la commune à la fin attendue "
    "(par ex. « 12 rue des Lilas, 38500 Voiron »)"
)


def _listed(candidates: Iterable[tuple[str, str, str]]) -> str:
    return ", ".join(f"{name} ({insee}, dép. {dep})" for insee, name, dep in candidates)


class _CommuneResolver:
    """Resolves commune cells with the reference, caching by text."""

    def __init__(self, reference: CommuneReference, territory: frozenset[str], prefer: bool):
        self.reference = reference
        self.territory = territory
        self.prefer = prefer
        self.cache: dict[tuple[str, str, str], Commune | _Bad] = {}

    def resolve(self, kind: str, text: str, postal_code: str = "") -> Commune | _Bad:
        key = (kind, text, postal_code)
        found = self.cache.get(key)
        if found is None:
            found = self.cache[key] = self._resolve(kind, text.strip(), postal_code.strip())
        return found

    def _ambiguous(
        self, candidates: tuple[tuple[str, str, str], ...], what: str, hint: str
    ) -> Commune | _Bad:
        if self.prefer:
            local = [c for c in candidates if c[0] in self.territory]
            if len(local) == 1:
                return self.reference.get(local[0][0])
        return _Bad(
            f"{what} ambigu : {len(candidates)} communes possibles : {_listed(candidates)} ; "
            f"{hint}",
            candidates,
        )

    def _by_name(self, name: str, postal_code: str | None) -> Commune | _Bad:
        try:
            if postal_code is None:
                return self.reference.resolve(name)
            return self.reference.find(name, postal_code=postal_code)
        except AmbiguousCommuneError as exc:
            return self._ambiguous(exc.candidates, "nom de commune", _NAME_HINT)
        except UnknownCommuneError as unknown:
            if postal_code is not None and self.reference.search(name):
                served = self.reference.by_postal_code(postal_code)
                listed = _listed((c.insee, c.name, c.department) for c in served)
                return _Bad(
                    "commune et code postal incohérents"
                    + (f" ; communes de ce code postal : {listed}" if served else "")
                )
            return _Bad(
                "commune inconnue du référentiel des communes : nom de commune attendu, écrit "
                "en entier (par ex. « Saint-Étienne-de-Crossey » ou « St Etienne de Crossey »)"
                + did_you_mean(unknown.suggestions)
            )

    def _resolve(self, kind: str, text: str, postal_code: str) -> Commune | _Bad:
        reference = self.reference
        if kind == "insee":
            try:
                return reference.get(text)
            except UnknownCommuneError:
                served = reference.by_postal_code(text)
                hint = " ; c'est un code postal, pas un code INSEE" if served else ""
                return _Bad(
                    f"code INSEE (5 caractères, par ex. 38563) du référentiel attendu{hint}"
                )
        if kind == "postal_code":
            if not _POSTAL_CODE.fullmatch(text):
                return _Bad("code postal à 5 chiffres attendu")
            served = reference.by_postal_code(text)
            if not served:
                return _Bad("code postal inconnu du référentiel des communes")
            if len(served) == 1:
                return served[0]
            candidates = tuple((c.insee, c.name, c.department) for c in served)
            return self._ambiguous(candidates, "code postal", "précisez la commune")
        if kind == "name_with_postal_code":
            return self._by_name(text, postal_code)
        if kind == "name":
            return self._by_name(text, None)
        return self._address(text)

    def _address(self, text: str) -> Commune | _Bad:
        codes = list(_ADDRESS_POSTAL_CODE.finditer(text))
        if not codes:
            tail = text.rsplit(",", 1)[-1].strip(_TRIM) if "," in text else ""
            if tail:
                found = self._by_name(tail, None)
                if isinstance(found, Commune):
                    return found
            return _Bad(_ADDRESS_EXPECTED)
        match = codes[-1]
        postal_code = match[1]
        after = _CEDEX.sub("", text[match.end() :]).strip(_TRIM)
        before = text[: match.start()].strip(_TRIM)
        names = []
        if after:
            names.append(after)
        words = before.rsplit(",", 1)[-1].split()
        names.extend(" ".join(words[-k:]) for k in range(1, min(len(words), 6) + 1))
        for name in names:
            try:
                return self.reference.find(name, postal_code=postal_code)
            except UnknownCommuneError:
                continue
            except AmbiguousCommuneError as exc:
                return self._ambiguous(exc.candidates, "nom de commune", _NAME_HINT)
        served = self.reference.by_postal_code(postal_code)
        if len(served) == 1:
            return served[0]
        if served:
            candidates = tuple((c.insee, c.name, c.department) for c in served)
            return self._ambiguous(
                candidates, "commune de l'adresse", "écrivez la commune après le code postal"
            )
        return _Bad(f"code postal inconnu du référentiel des communes ; {_ADDRESS_EXPECTED}")


# --------------------------------------------------------------------------------------------
# Import
# --------------------------------------------------------------------------------------------

_TOKENS = re.compile(r"[^\W_]+")
_ID_SEPARATORS = re.compile(r"[\s.\-_/]+")


def _person_key(last_name: str, first_name: str) -> tuple[str, ...]:
    """Name tokens without case, accents nor punctuation, sorted (so a swapped last and first
    name still match)."""
    text = f"{last_name} {first_name}"
    if text.isascii():  # most names: no accent to strip
        text = text.casefold()
    else:
        text = normalize_text(text).replace("œ", "oe").replace("æ", "ae")
    return tuple(sorted(_TOKENS.findall(text)))


def _identifier_key(identifier: str) -> str:
    return _ID_SEPARATORS.sub("", identifier).casefold()


def _address_key(address: str) -> str:
    return " ".join(_TOKENS.findall(normalize_text(address)))


def _plan(
    table: Table, mapping: FormMapping
) -> tuple[dict[str, tuple[str, ...]], list[tuple[str, str]]]:
    """The file's headers read by each field (constant fields: none), and the optional
    fields whose columns are absent, as ``(headers, field label)``."""
    by_key: dict[str, list[str]] = {}
    for header in table.headers:
        by_key.setdefault(header_key(header), []).append(header)
    plan: dict[str, tuple[str, ...]] = {}
    missing: dict[str, list[str]] = {}
    absent: list[tuple[str, str]] = []
    for name, form_field in mapping.fields.items():
        if form_field.constant is not None:
            plan[name] = ()
            continue
        found: list[str] = []
        for column in form_field.columns:
            actual = by_key.get(header_key(column), [])
            if len(actual) > 1:
                raise IntakeError(
                    f"{len(actual)} colonnes du fichier correspondent à l'en-tête « {column} » "
                    "(majuscules, accents, « * » ou « : » ignorés) : renommez-les",
                    source=table.source,
                    value=" | ".join(actual),
                )
            if actual:
                found.append(actual[0])
                if not form_field.join:
                    break
        options = " ou ".join(f"« {column} »" for column in form_field.columns)
        if found:
            plan[name] = tuple(found)
        elif not form_field.optional:
            missing.setdefault(options, []).append(form_field.spec.label)
        else:
            absent.append((options, form_field.spec.label))
    if missing:
        listed = " ; ".join(
            f"{options} ({', '.join(labels)})" for options, labels in missing.items()
        )
        raise IntakeError(
            f"colonne(s) absente(s) du fichier : {listed} ; vérifiez la ligne "
            "d'en-têtes du fichier, ou adaptez la section « intake » de la politique",
            source=table.source,
            value=" | ".join(table.headers),
        )
    if not any(name in plan for name in COMMUNE_FIELDS):
        wanted = [
            f"« {wanted_field.columns[0]} »"
            for name in COMMUNE_FIELDS
            if (wanted_field := mapping.field(name)) is not None and wanted_field.columns
        ]
        raise IntakeError(
            f"aucune colonne pour la commune du patient : {' ou '.join(wanted)} attendue",
            source=table.source,
            value=" | ".join(table.headers),
        )
    return plan, absent


_LOOKALIKES: Mapping[str, tuple[str, ...]] = {
    "ald": ("ald", "affection longue duree", "affection de longue duree"),
    "css": ("css", "c2s", "cmu", "cmuc", "complementaire sante solidaire"),
    "ame": ("ame", "aide medicale"),
    "children": ("enfant", "enfants"),
    "adults": ("adulte", "adultes"),
    "urgent": ("urgent", "urgente", "urgence", "urgences"),
    "home_visits": ("domicile", "vad"),
    "disability_or_chronic": ("handicap", "chronique"),
    "birth_date": ("naissance",),
    "consent": ("consentement",),
    "phone": ("telephone", "tel", "portable"),
    "email": ("mail", "email", "courriel"),
    "household_key": ("foyer",),
    "reason": ("motif",),
}
"""Words that make an unread column look like a field (compared like headers)."""


def _hints(
    unread: Iterable[str], plan: Mapping[str, tuple[str, ...]], mapping: FormMapping
) -> list[tuple[str, str]]:
    """``(header, explanation)`` for each unread column that looks like a field."""
    hints: list[tuple[str, str]] = []
    for header in unread:
        padded = f" {header_key(header)} "
        fields = [
            name
            for name, words in _LOOKALIKES.items()
            if any(f" {word} " in padded for word in words)
        ]
        if not fields:
            continue
        parts = []
        for name in fields:
            label = FIELDS[name].label
            read_from = plan.get(name)
            if read_from:
                listed = ", ".join(f"« {_shown(column)} »" for column in read_from)
                parts.append(f"ressemble au champ {name} ({label}), déjà lu dans {listed}")
            elif name in mapping.fields and mapping.fields[name].constant is not None:
                parts.append(f"ressemble au champ {name} ({label}), de valeur fixe ici")
            else:
                parts.append(
                    f"ressemble au champ {name} ({label}), que le formulaire ne lit pas dans "
                    f"ce fichier : ajoutez cet en-tête au champ {name} de la section "
                    "« intake » de la politique"
                )
        hints.append((header, " ; ".join(parts)))
    return hints


class _Importer:
    def __init__(
        self,
        table: Table,
        mapping: FormMapping,
        reference: CommuneReference,
        territory: frozenset[str],
        received: dt.date | None,
    ) -> None:
        self.table = table
        self.mapping = mapping
        plan, self.absent = _plan(table, mapping)
        read = {column for columns in plan.values() for column in columns}
        self.unread = [header for header in table.headers if header not in read]
        self.hints = _hints(self.unread, plan, mapping)
        self.readers = {
            name: _FieldReader(form_field, plan[name])
            for name, form_field in mapping.fields.items()
            if name in plan
        }
        if "received" not in self.readers and received is None:
            raise IntakeError(
                "le formulaire n'a pas de colonne de date de réception (champ « received ») : "
                "indiquez la date de réception des demandes de ce fichier",
                source=table.source,
            )
        self.received = received
        self.territory = territory
        self.communes = _CommuneResolver(reference, territory, mapping.prefer_territory)

    def column(self, name: str) -> str | None:
        reader = self.readers.get(name)
        return reader.column if reader is not None else None

    def row(self, row: Row) -> tuple[dict[str, Any], list[IntakeProblem]]:
        """Every field's value, and the problems of the row."""
        values: dict[str, Any] = {}
        problems: list[IntakeProblem] = []
        for name, reader in self.readers.items():
            value = reader.read(row)
            if isinstance(value, _Bad):
                problems.append(
                    IntakeProblem(row.number, reader.column, value.expected, reader.cell(row))
                )
            else:
                values[name] = value
        return values, problems

    def problem(self, row: Row, name: str, expected: str, bad: _Bad | None = None) -> IntakeProblem:
        reader = self.readers.get(name)
        value = reader.cell(row) if reader is not None and reader.field.constant is None else ""
        candidates = bad.candidates if bad is not None else ()
        return IntakeProblem(row.number, self.column(name), expected, value, candidates)

    def commune(self, row: Row, values: Mapping[str, Any]) -> Commune | IntakeProblem:
        def text(name: str) -> str:
            value = values.get(name)
            return value if isinstance(value, str) else ""

        def mapped(name: str, value: str) -> Commune | None:
            reader = self.readers.get(name)
            if reader is None:
                return None
            if reader.field.constant is not None:
                return self.communes.reference.get(reader.field.constant)
            code = reader.lookup.get(normalize_text(value))
            return self.communes.reference.get(code) if code is not None else None

        attempts: list[tuple[str, str, str, str]] = []  # (field, kind, text, postal code)
        insee, postal_code, name = text("commune_insee"), text("postal_code"), text("commune_name")
        if insee or mapped("commune_insee", insee):
            attempts.append(("commune_insee", "insee", insee, ""))
        elif postal_code and name:
            attempts.append(("commune_name", "name_with_postal_code", name, postal_code))
        elif postal_code:
            attempts.append(("postal_code", "postal_code", postal_code, ""))
        elif name or mapped("commune_name", name):
            attempts.append(("commune_name", "name", name, ""))
        elif text("commune") or mapped("commune", ""):
            attempts.append(("commune", "name", text("commune"), ""))
        elif text("address"):
            attempts.append(("address", "address", text("address"), ""))
        if not attempts:
            first = next(n for n in COMMUNE_FIELDS if n in self.readers)
            return self.problem(row, first, "commune du patient attendue")
        field, kind, cell, code = attempts[0]
        constant = mapped(field, cell)
        if constant is not None:
            return constant
        if kind == "name_with_postal_code" and not _POSTAL_CODE.fullmatch(code):
            return self.problem(row, "postal_code", "code postal à 5 chiffres attendu")
        found = self.communes.resolve(kind, cell, code)
        if isinstance(found, _Bad):
            return self.problem(row, field, found.expected, found)
        return found

    def previous_mt(self, values: Mapping[str, Any]) -> PreviousDoctor | None:
        name: str = values.get("previous_mt_name", "")
        commune_text: str = values.get("previous_mt_commune", "")
        if not name and not commune_text:
            return None
        commune: str | None = None
        if commune_text:
            found = self.communes.resolve("name", commune_text)
            if isinstance(found, Commune):
                commune = found.insee
            else:  # informative only: keep what was written with the name
                name = f"{name} ({commune_text})" if name else commune_text
        return PreviousDoctor(name=name, commune=commune)

    def build(
        self, row: Row, values: dict[str, Any], problems: list[IntakeProblem]
    ) -> tuple[Request, PatientIdentity, str | None] | None:
        last_name: str = values.get("last_name", "")
        first_name: str = values.get("first_name", "")
        full_name = values.get("full_name", "")
        if full_name:
            order = self.mapping.fields["full_name"].order
            split_last, split_first = split_full_name(full_name, order)
            last_name, first_name = last_name or split_last, first_name or split_first
        name_field = "last_name" if "last_name" in self.readers else "full_name"
        if not last_name and not any(p.column == self.column(name_field) for p in problems):
            problems.append(self.problem(row, name_field, "nom du patient attendu"))

        received = values.get("received") or self.received
        if received is None and "received" in values:
            problems.append(
                self.problem(row, "received", "date de réception attendue (jj/mm/aaaa)")
            )

        birth_date: dt.date | None = values.get("birth_date")
        if birth_date is None:
            if "birth_date" in values:
                problems.append(
                    self.problem(row, "birth_date", "date de naissance attendue (jj/mm/aaaa)")
                )
        elif birth_date.year < _MIN_BIRTH_YEAR:
            problems.append(
                self.problem(
                    row, "birth_date", f"date de naissance postérieure à {_MIN_BIRTH_YEAR} attendue"
                )
            )
        elif received is not None and birth_date > received:
            problems.append(
                self.problem(
                    row,
                    "birth_date",
                    "date de naissance antérieure à la date de réception attendue",
                )
            )

        if values.get("consent") is False:
            problems.append(
                self.problem(
                    row,
                    "consent",
                    "consentement du patient attendu : sans lui, la demande ne peut pas être "
                    "enregistrée (recueillir le consentement, puis importer la ligne à nouveau)",
                )
            )

        commune = self.commune(row, values)
        if isinstance(commune, IntakeProblem):
            problems.append(commune)

        adults, children = values.get("adults", 1), values.get("children", 0)
        if isinstance(adults, int) and isinstance(children, int) and adults + children < 1:
            problems.append(
                self.problem(
                    row,
                    "adults" if "adults" in self.readers else "children",
                    "au moins une personne attendue dans le foyer (adultes + enfants)",
                )
            )
        if problems or received is None or birth_date is None or isinstance(commune, IntakeProblem):
            return None

        form_id = values.get("submission_id") or None
        consent_date = values.get("consent_date") or received
        request = Request(
            id=form_id or f"ligne-{row.number}",
            received=received,
            patient=Patient(birth_date=birth_date, commune=commune.insee),
            ald=values.get("ald", False),
            css=values.get("css", False),
            ame=values.get("ame", False),
            disability_or_chronic=values.get("disability_or_chronic", False),
            home_visits=values.get("home_visits", HomeVisitNeed.NONE),
            urgent=values.get("urgent", False),
            reason=values.get("reason", SearchReason.OTHER),
            previous_mt=self.previous_mt(values),
            household=Household(adults=adults, children=children),
            referrer=Referrer(
                kind=values.get("referrer_kind", ReferrerKind.PATIENT),
                name=values.get("referrer_name", ""),
                contact=values.get("referrer_contact", ""),
            ),
            consent=Consent(given=True, on=consent_date),
            comments=values.get("comments", ""),
        )
        identity = PatientIdentity(
            last_name=last_name,
            first_name=first_name,
            birth_name=values.get("birth_name", ""),
            phone=values.get("phone", ""),
            email=values.get("email", ""),
            address=values.get("address", ""),
            identifier=values.get("identifier") or form_id or "",
        )
        return request, identity, form_id


@attrs.define
class _Accepted:
    row: int
    request: Request
    identity: PatientIdentity
    in_territory: bool
    form_id: str | None
    household: str  # the household column's text, normalised ("" when none)
    digest: str


def import_table(
    table: Table,
    policy: Policy,
    reference: CommuneReference | None = None,
    *,
    mapping: FormMapping | None = None,
    known: Iterable[KnownPerson] = (),
    received: dt.date | None = None,
    progress: Callable[[int, int], None] | None = None,
    imported: Callable[[Sequence[str]], Mapping[str, str]] | None = None,
) -> IntakeResult:
    """Import the rows of a form export as requests.

    Args:
        table: the export, read by :func:`~mt_access.intake.tabular.read_table`.
        policy: gives the form mapping (``policy.intake``; the ``generique`` preset when the
            policy has none) and the territory (``in_territory`` of each record).
        reference: the commune reference; by default the policy's, else the bundled one.
        mapping: a form mapping to use instead of the policy's.
        known: the persons the register already knows, as ``(request_id, identity,
            birth_date)``: a row repeating one of them is a duplicate.
        received: the reception date of rows without one (the form has no reception date
            column, or the cell is empty).
        progress: called as ``progress(done, total)`` every 500 rows and at the end (e.g. a
            :class:`~mt_access.progress.ProgressBar`).
        imported: looks up row digests (:func:`row_digest`) already imported, giving the
            request each became (:meth:`mt_access.register.Register.imported_rows`): those
            rows are reported in ``already_imported`` and skipped. Called once.

    Returns:
        The accepted rows, the problems and the duplicates; the same file gives the same
        result.

    Raises:
        IntakeError: the file cannot be imported at all: a column of the mapping is missing,
            two headers are confused, or no reception date is known.
    """
    mapping = mapping or policy.intake or default_mapping()
    if reference is None:
        reference = policy.reference if policy.reference is not None else bundled_reference()
    importer = _Importer(table, mapping, reference, frozenset(policy.territory), received)

    known_people: dict[tuple[tuple[str, ...], dt.date], str] = {}
    known_ids: dict[str, str] = {}
    for known_person in known:
        request_id = known_person.request_id
        identity, birth_date = known_person.identity, known_person.birth_date
        if identity.last_name or identity.first_name:
            key = (_person_key(identity.last_name, identity.first_name), birth_date)
            if key not in known_people or request_id < known_people[key]:
                known_people[key] = request_id
        if identity.identifier:
            id_key = _identifier_key(identity.identifier)
            if id_key not in known_ids or request_id < known_ids[id_key]:
                known_ids[id_key] = request_id

    positions = {header: index for index, header in enumerate(table.headers)}

    def column_order(problem: IntakeProblem) -> int:
        """A row's problems in the file's column order."""
        first = (problem.column or "").split(" + ", 1)[0]
        return positions.get(first, len(positions))

    accepted: list[_Accepted] = []
    problems: list[IntakeProblem] = []
    duplicates: list[IntakeDuplicate] = []
    seen_people: dict[tuple[tuple[str, ...], dt.date], int] = {}
    seen_ids: dict[str, int] = {}
    seen_forms: dict[str, int] = {}
    digests = [row_digest(row) for row in table.rows]
    done_before = dict(imported(digests)) if imported is not None and digests else {}
    already: list[tuple[int, str]] = []
    total = len(table.rows)
    for done, (row, digest) in enumerate(zip(table.rows, digests, strict=True)):
        if progress is not None and done % 500 == 0:
            progress(done, total)
        if digest in done_before:
            already.append((row.number, done_before[digest]))
            continue
        values, row_problems = importer.row(row)
        built = importer.build(row, values, row_problems)
        if built is None:
            problems.extend(sorted(row_problems, key=column_order))
            continue
        request, identity, form_id = built
        person = (_person_key(identity.last_name, identity.first_name), request.patient.birth_date)
        id_key = _identifier_key(identity.identifier) if identity.identifier else ""
        duplicate: IntakeDuplicate | None = None
        if form_id is not None and form_id in seen_forms:
            duplicate = IntakeDuplicate(
                row.number, seen_forms[form_id], None, DuplicateReason.SAME_SUBMISSION
            )
        elif id_key and id_key in known_ids:
            duplicate = IntakeDuplicate(
                row.number, None, known_ids[id_key], DuplicateReason.SAME_IDENTIFIER
            )
        elif person in known_people:
            duplicate = IntakeDuplicate(
                row.number, None, known_people[person], DuplicateReason.SAME_PERSON
            )
        elif id_key and id_key in seen_ids:
            duplicate = IntakeDuplicate(
                row.number, seen_ids[id_key], None, DuplicateReason.SAME_IDENTIFIER
            )
        elif person in seen_people:
            duplicate = IntakeDuplicate(
                row.number, seen_people[person], None, DuplicateReason.SAME_PERSON
            )
        if duplicate is not None:
            duplicates.append(duplicate)
            continue
        if form_id is not None:
            seen_forms[form_id] = row.number
        if id_key:
            seen_ids.setdefault(id_key, row.number)
        seen_people.setdefault(person, row.number)
        household = values.get("household_key", "")
        accepted.append(
            _Accepted(
                row=row.number,
                request=request,
                identity=identity,
                in_territory=request.patient.commune in importer.territory,
                form_id=form_id,
                household=_address_key(household) if household else "",
                digest=digest,
            )
        )

    links = _household_links(accepted, by_column="household_key" in importer.readers)
    records = []
    for item in accepted:
        link = links.get(item.row)
        request = item.request
        if link is not None:
            request = attrs.evolve(request, household_id=link)
        records.append(
            IntakeRecord(
                row=item.row,
                request=request,
                identity=item.identity,
                in_territory=item.in_territory,
                form_id=item.form_id,
                household_link=link,
                digest=item.digest,
            )
        )
    if progress is not None:
        progress(total, total)
    return IntakeResult(
        source=table.source,
        rows=len(table.rows),
        accepted=tuple(records),
        problems=tuple(problems),
        duplicates=tuple(duplicates),
        already_imported=tuple(already),
        unread_columns=tuple(importer.unread),
        column_hints=tuple(importer.hints),
        absent_columns=tuple(importer.absent),
    )


def _household_links(accepted: list[_Accepted], *, by_column: bool) -> dict[int, str]:
    """``foyer-<first row>`` for every record of a household of two or more records: rows
    sharing the household column's text, or, without that column, the same last name and
    address."""
    groups: dict[Any, list[int]] = {}
    for item in accepted:
        if by_column:
            key: Any = item.household
        elif item.identity.address.strip():
            key = (_person_key(item.identity.last_name, ""), _address_key(item.identity.address))
        else:
            key = None
        if key:
            groups.setdefault(key, []).append(item.row)
    links: dict[int, str] = {}
    for rows in groups.values():
        if len(rows) > 1:
            link = f"foyer-{min(rows)}"
            links.update(dict.fromkeys(rows, link))
    return links


def import_file(
    path: str | Path,
    policy: Policy,
    reference: CommuneReference | None = None,
    *,
    sheet: str | None = None,
    encoding: str | None = None,
    delimiter: str | None = None,
    mapping: FormMapping | None = None,
    known: Iterable[KnownPerson] = (),
    received: dt.date | None = None,
    progress: Callable[[int, int], None] | None = None,
    imported: Callable[[Sequence[str]], Mapping[str, str]] | None = None,
) -> IntakeResult:
    """:func:`~mt_access.intake.tabular.read_table` then :func:`import_table`.

    Raises:
        IntakeError: the file cannot be read or imported at all.
        OSError: the file cannot be opened.
    """
    table = read_table(path, sheet=sheet, encoding=encoding, delimiter=delimiter)
    return import_table(
        table,
        policy,
        reference,
        mapping=mapping,
        known=known,
        received=received,
        progress=progress,
        imported=imported,
    )


# --------------------------------------------------------------------------------------------
# Rejections report
# --------------------------------------------------------------------------------------------

_REPORT_HEADERS = ("ligne", "colonne", "valeur", "message")
_SHEET_SUFFIX = re.compile(r"(.+)\[[^\[\]]*\]")


def neutralize_cell(text: str) -> str:
    """``text`` made safe for a spreadsheet: a cell starting with ``=``, ``+``, ``-``, ``@``,
    a tab or a carriage return is prefixed with ``'``, so that it is never run as a formula
    (:func:`mt_access.export.neutralise`)."""
    return neutralise(text)


def _report_rows(result: IntakeResult) -> list[tuple[int, str, str, str]]:
    rows: list[tuple[int, int, str, str, str]] = []
    for index, problem in enumerate(result.problems):
        rows.append((problem.row, index, problem.column or "", problem.value, problem.expected))
    for index, duplicate in enumerate(result.duplicates, start=len(rows)):
        rows.append((duplicate.row, index, "", "", duplicate.explanation))
    rows.sort(key=lambda r: (r[0], r[1]))
    return [(row, column, value, message) for row, _, column, value, message in rows]


def _default_report_path(source: str) -> Path:
    path = Path(source)
    match = _SHEET_SUFFIX.fullmatch(source)
    if match is not None and not path.exists():
        path = Path(match[1])
    return path.with_name(f"{path.stem}.rejets.csv")


def write_rejections(result: IntakeResult, path: str | Path | None = None) -> Path:
    """Write the rows not imported (problems and duplicates) for the coordinator.

    One line per problem or duplicate, by row: ``ligne``, ``colonne``, ``valeur`` (the cell's
    text), ``message`` (in French). A ``.xlsx`` path writes a workbook (every cell as text);
    any other path a CSV file with ``;`` separators, in UTF-8 with a byte order mark (Excel
    reads the accents right). In both, a text starting with ``=``, ``+``, ``-``, ``@``, a tab
    or a carriage return is prefixed with ``'`` (:func:`neutralize_cell`), so that a
    spreadsheet never runs it as a formula.

    Args:
        result: what :func:`import_table` returned.
        path: the file to write; by default ``<stem>.rejets.csv`` next to the file imported.

    Returns:
        The path written.
    """
    target = Path(path) if path is not None else _default_report_path(result.source)
    rows = [
        dict(zip(_REPORT_HEADERS, (str(row), column, value, message), strict=True))
        for row, column, value, message in _report_rows(result)
    ]
    write_rows(rows, _REPORT_HEADERS, target, sheet="Rejets")
    return target
