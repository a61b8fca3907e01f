"""How a CPTS's form export maps to requests: the ``intake:`` section of a policy.

A web form (Zoho Forms, Gravity Forms...) or a coordinator's spreadsheet has its own column
headers and its own answer wordings. A :class:`FormMapping` says, for each request field
(``last_name``, ``birth_date``, ``home_visits``...), which column holds it and, for choice
fields, what each wording means (``"Oui, exclusivement": exclusive``). Mappings are written
in YAML, in the policy's ``intake:`` section, optionally on top of a shipped *preset*
(:func:`available_presets`), so that a new form needs no code::

    intake:
      preset: voironnais
      fields:
        urgent: "Besoin urgent (moins d'un mois)"

Headers are compared without case, accents, extra spaces nor punctuation (a trailing ``*``
or ``:``, dashes, brackets: :func:`header_key`). Errors are
:class:`~mt_access.errors.PolicyError`, in French, with the key path
(``$.intake.fields.home_visits.values``) and the line.

This module is a built-in plugin (:data:`mt_access.plugins.DEFAULT_PLUGINS`): it registers the
``intake:`` section (:data:`INTAKE`, hook ``mt_access_policy_sections``), which the compiled
policy gives back with ``policy.section(INTAKE)`` (or ``policy.intake``).
"""

from __future__ import annotations

import builtins
import datetime as dt
import enum
import functools
import importlib.resources
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import attrs

from mt_access.bounds import MAX_ADULTS, MAX_CHILDREN, Bound, check_number
from mt_access.errors import PolicyError
from mt_access.intake.outcomes import FollowUpOutcome
from mt_access.intake.question_fields import (
    QuestionField,
    read_date_formats,
    read_question_fields,
    read_wordings,
)
from mt_access.intake.tabular import header_key, normalize_text
from mt_access.labels import LabelledEnum
from mt_access.model import HomeVisitNeed, ReferrerKind, SearchReason
from mt_access.plugins import hookimpl
from mt_access.policy_kinds import PolicySection, ReadContext
from mt_access.yamlcheck import ErrorFactory, Locator, Node, yaml_kind
from mt_access.yamlread import parse_yaml

if TYPE_CHECKING:
    from mt_access.geo.communes import CommuneReference
    from mt_access.questions import Question

__all__ = [
    "FIELDS",
    "FOLLOW_UP_FIELDS",
    "INTAKE",
    "FieldSpec",
    "FieldType",
    "FormField",
    "FormMapping",
    "available_presets",
    "default_mapping",
    "form_mapping",
    "header_key",
    "intake_from_policy",
    "load_preset",
    "mapping_from_yaml",
]


class FieldType(enum.StrEnum):
    """How the cells of a field are read."""

    TEXT = "text"
    DATE = "date"
    BOOLEAN = "boolean"
    INTEGER = "integer"
    CHOICE = "choice"
    COMMUNE = "commune"


@attrs.frozen
class FieldSpec:
    """A request field a form column can fill.

    Attributes:
        name: the key used under ``intake.fields``.
        type: how its cells are read.
        label: French description, for messages and the reference.
        choices: for ``CHOICE`` fields, the enum of the values.
        max_length: for ``TEXT`` fields, the longest text accepted (longer is a problem).
        bound: for ``INTEGER`` fields, the accepted values (:mod:`mt_access.bounds`); a number
            outside is a problem on its row and column.
    """

    name: str
    type: FieldType
    label: str
    choices: builtins.type[LabelledEnum] | None = None
    max_length: int = 1_000
    bound: Bound | None = None

    def check(self, value: object) -> str | None:
        """``None`` when ``value`` is inside the field's bound (or it has none), else what
        was expected, in French, naming the field (never the value)."""
        if self.bound is None:
            return None
        expected = check_number(value, self.bound)
        return None if expected is None else f"{self.label} : {expected}"


def _spec(
    name: str,
    type_: FieldType,
    label: str,
    choices: type[LabelledEnum] | None = None,
    max_length: int = 1_000,
    bound: Bound | None = None,
) -> tuple[str, FieldSpec]:
    if type_ is FieldType.INTEGER and bound is None:
        raise AssertionError(f"integer field {name} needs a bound")
    return name, FieldSpec(name, type_, label, choices, max_length, bound)


_T, _D, _B, _I, _C, _M = (
    FieldType.TEXT,
    FieldType.DATE,
    FieldType.BOOLEAN,
    FieldType.INTEGER,
    FieldType.CHOICE,
    FieldType.COMMUNE,
)

FIELDS: Mapping[str, FieldSpec] = dict(
    [
        _spec("submission_id", _T, "identifiant de la réponse au formulaire", max_length=200),
        _spec("received", _D, "date de réception de la demande"),
        _spec("last_name", _T, "nom du patient", max_length=200),
        _spec("first_name", _T, "prénom du patient", max_length=200),
        _spec("full_name", _T, "prénom et nom du patient dans une même colonne", max_length=400),
        _spec("birth_name", _T, "nom de naissance", max_length=200),
        _spec("birth_date", _D, "date de naissance"),
        _spec(
            "identifier", _T, "identifiant de la personne (n° de sécurité sociale)", max_length=200
        ),
        _spec("phone", _T, "téléphone", max_length=200),
        _spec("email", _T, "adresse e-mail", max_length=320),
        _spec("address", _T, "adresse postale"),
        _spec("commune", _M, "commune (nom, code postal et nom, ou code INSEE)"),
        _spec("commune_insee", _M, "code INSEE de la commune"),
        _spec("postal_code", _M, "code postal"),
        _spec("commune_name", _M, "nom de la commune"),
        _spec("css", _B, "complémentaire santé solidaire (CSS)"),
        _spec("ame", _B, "aide médicale de l'État (AME)"),
        _spec("ald", _B, "affection de longue durée (ALD)"),
        _spec("disability_or_chronic", _B, "handicap ou maladie chronique"),
        _spec("home_visits", _C, "besoin de visites à domicile", HomeVisitNeed),
        _spec("urgent", _B, "soins nécessaires sous un mois"),
        _spec("reason", _C, "motif de la recherche", SearchReason),
        _spec("previous_mt_name", _T, "dernier médecin traitant"),
        _spec("previous_mt_commune", _M, "commune du dernier médecin traitant"),
        _spec("adults", _I, "nombre d'adultes du foyer", bound=Bound(0, MAX_ADULTS, integer=True)),
        _spec(
            "children", _I, "nombre d'enfants du foyer", bound=Bound(0, MAX_CHILDREN, integer=True)
        ),
        _spec("referrer_kind", _C, "qui adresse la demande", ReferrerKind),
        _spec("referrer_name", _T, "nom de la personne qui adresse la demande"),
        _spec("referrer_contact", _T, "coordonnées de la personne qui adresse la demande"),
        _spec("consent", _B, "consentement du patient"),
        _spec("consent_date", _D, "date du consentement"),
        _spec("comments", _T, "commentaires", max_length=20_000),
        _spec(
            "household_key",
            _T,
            "identifiant du foyer (relie les demandes d'un foyer)",
            max_length=200,
        ),
        # A follow-up sheet's columns (``mt-access reprise``, :mod:`mt_access.intake.follow_up`)
        _spec("exit_date", _D, "date de sortie du dispositif (suivi existant)"),
        _spec("outcome", _C, "issue de la demande (suivi existant)", FollowUpOutcome),
        _spec(
            "physician",
            _T,
            "médecin traitant attribué : RPPS, identifiant ou nom (suivi existant)",
            max_length=200,
        ),
    ]
)
"""Every field a form mapping can fill, by name."""

FOLLOW_UP_FIELDS = ("exit_date", "outcome", "physician")
"""Fields only a follow-up sheet fills (``mt-access reprise``); ``mt-access import`` refuses a
mapping that reads an exit date or an outcome, and ignores ``physician``."""

COMMUNE_FIELDS = ("commune_insee", "postal_code", "commune_name", "commune", "address")
"""Fields the patient's commune is taken from, in this order of preference."""

_REQUIRED: tuple[tuple[tuple[str, ...], str], ...] = (
    (("last_name", "full_name"), "le nom du patient (last_name ou full_name)"),
    (("birth_date",), "la date de naissance (birth_date)"),
    (COMMUNE_FIELDS, f"la commune du patient ({', '.join(COMMUNE_FIELDS)})"),
    (("consent",), "le consentement du patient (consent)"),
)

NAME_ORDERS = ("first_last", "last_first")
_FIELD_KEYS = ("column", "columns", "values", "otherwise", "value", "formats", "order", "optional")
_TOP_KEYS = ("preset", "name", "prefer_territory", "fields", "questions")
_PRESET_KEYS = ("name", "prefer_territory", "fields")
_PRESET_PACKAGE = "mt_access.intake"
_PRESET_DIR = "presets"
DEFAULT_PRESET = "generique"
"""The preset used when a policy has no ``intake:`` section."""


@attrs.frozen
class FormField:
    """How one request field is read from the form export.

    Attributes:
        name: the field (a key of :data:`FIELDS`).
        columns: the column headers. Without ``join``, alternatives: the first one present
            in the file is read. With ``join`` (text fields), every one present is read, and
            the non-empty cells are joined as ``header : text`` lines.
        join: see ``columns``.
        values: ``(wording, value)`` pairs: what an answer means (compared like headers,
            without case nor accents). For choice fields the value is the enum's value.
        otherwise: the value of any wording not in ``values`` (``None``: such a wording is
            a problem, unless the field's default reading accepts it).
        constant: a value for every row, instead of a column (``None``: read a column).
        formats: for date fields, ``strptime`` formats tried after ``jj/mm/aaaa`` and
            ``aaaa-mm-jj``.
        order: for ``full_name``, ``first_last`` (« Jeanne Martin ») or ``last_first``.
        optional: the columns may be absent from the file; then the field is not read.
    """

    name: str
    columns: tuple[str, ...] = ()
    join: bool = False
    values: tuple[tuple[str, Any], ...] = ()
    otherwise: Any = None
    constant: Any = None
    formats: tuple[str, ...] = ()
    order: str = "first_last"
    optional: bool = False

    @property
    def spec(self) -> FieldSpec:
        return FIELDS[self.name]

    def lookup(self) -> dict[str, Any]:
        """``values`` keyed by normalised wording."""
        return {normalize_text(wording): value for wording, value in self.values}


@attrs.frozen
class FormMapping:
    """How a form export maps to requests: one :class:`FormField` per field read.

    Build one from YAML (the policy's ``intake:`` section, :func:`form_mapping`) or take a
    shipped one (:func:`load_preset`).

    Attributes:
        fields: the fields read, by name.
        name: the form's name, for coordinators.
        preset: the preset it is based on, if any.
        prefer_territory: a commune name that fits several communes, exactly one of them in
            the policy's territory, is that one (by default such a name is a problem).
        questions: how the policy's own questions are read, by question id
            (``intake.questions``, :mod:`mt_access.intake.question_fields`).
    """

    fields: Mapping[str, FormField]
    name: str = ""
    preset: str | None = None
    prefer_territory: bool = False
    questions: Mapping[str, QuestionField] = attrs.field(factory=dict)

    def field(self, name: str) -> FormField | None:
        """The field called ``name``, or ``None`` when the form does not fill it."""
        return self.fields.get(name)

    @property
    def headers(self) -> tuple[str, ...]:
        """Every column header the mapping reads, in field order."""
        seen: dict[str, None] = {}
        columns = [f.columns for f in self.fields.values()]
        columns += [q.columns for q in self.questions.values()]
        for headers in columns:
            for column in headers:
                seen.setdefault(column)
        return tuple(seen)


# --------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------


_HEADER = "en-tête de colonne (texte non vide)"


def _headers(node: Node) -> tuple[str, ...]:
    items = node.items() if isinstance(node.value, list) else [node]
    if not items:
        raise node.error("au moins un en-tête de colonne attendu")
    texts = [item.text(expected=_HEADER) for item in items]
    seen: set[str] = set()
    for i, text in enumerate(texts):
        key = header_key(text)
        if key in seen:
            raise Node(text, f"{node.path}[{i}]", node.locator).error(
                f"en-tête en double (casse et accents ignorés) : {text!r}"
            )
        seen.add(key)
    return tuple(texts)


@attrs.frozen
class _Checker:
    """The checks of an ``intake`` mapping, whose values are reached as
    :class:`~mt_access.yamlcheck.Node` (key path derived, file and line in every error)."""

    reference: CommuneReference | None = None
    questions: tuple[Question, ...] = ()

    def target(self, node: Node, spec: FieldSpec) -> Any:
        """A value of ``values``, ``otherwise`` or ``value``, checked for the field's type."""
        value = node.value
        if spec.type is FieldType.BOOLEAN:
            return node.boolean()
        if spec.type is FieldType.INTEGER:
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise node.error(f"nombre entier ≥ 0 attendu, reçu {yaml_kind(value)}")
            expected = spec.check(value)
            if expected is not None:
                raise node.error(expected)
            return value
        if spec.type is FieldType.CHOICE:
            assert spec.choices is not None
            known = [member.value for member in spec.choices]
            if not isinstance(value, str) or value not in known:
                raise node.error(
                    f"valeur parmi {', '.join(known)} attendue, reçu {yaml_kind(value)}"
                )
            return value
        if spec.type is FieldType.COMMUNE:
            return self.commune(node)
        if spec.type is FieldType.DATE:
            if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
                raise node.error(f"date aaaa-mm-jj attendue, reçu {yaml_kind(value)}")
            return value
        return node.text()

    def commune(self, node: Node) -> str:
        hint = (
            ' ; écrivez les codes INSEE entre guillemets (par ex. "01053")'
            if isinstance(node.value, int) and not isinstance(node.value, bool)
            else ""
        )
        code = node.text(expected="code INSEE")
        if not (len(code) == 5 and code.isalnum()):
            raise node.error(f"code INSEE à 5 caractères attendu, reçu {code!r}{hint}")
        if self.reference is not None and code not in self.reference:
            raise node.error(
                f"code INSEE {code} absent du référentiel des communes "
                f"({self.reference.vintage}){hint}"
            )
        return code.upper()

    def values(self, node: Node, spec: FieldSpec) -> tuple[tuple[str, Any], ...]:
        if spec.type in (FieldType.TEXT, FieldType.DATE):
            raise node.error("'values' ne s'applique pas à un champ texte ou date")
        return read_wordings(node, lambda child: self.target(child, spec), "valeur")

    def formats(self, node: Node, spec: FieldSpec) -> tuple[str, ...]:
        if spec.type is not FieldType.DATE:
            raise node.error("'formats' ne s'applique qu'à un champ date")
        return read_date_formats(node)

    def form_field(self, node: Node, name: str) -> FormField:
        spec = FIELDS[name]
        if isinstance(node.value, str | int | list) and not isinstance(node.value, bool):
            return FormField(name=name, columns=_headers(node))
        raw = node.mapping(_FIELD_KEYS)
        sources = [key for key in ("column", "columns", "value") if key in raw]
        if len(sources) != 1:
            raise node.error(
                "une et une seule des clés 'column' (en-tête, ou liste d'en-têtes possibles), "
                "'columns' (colonnes dont le texte est réuni) ou 'value' (valeur fixe) attendue"
            )
        columns: tuple[str, ...] = ()
        join = False
        constant = None
        if "column" in raw:
            columns = _headers(raw.at("column"))
        elif "columns" in raw:
            joined = raw.at("columns")
            if spec.type is not FieldType.TEXT:
                raise joined.error("'columns' ne s'applique qu'à un champ texte")
            if not isinstance(joined.value, list):
                raise joined.error(f"liste d'en-têtes attendue, reçu {yaml_kind(joined.value)}")
            columns = _headers(joined)
            join = True
        else:
            constant = self.target(raw.at("value"), spec)
        values = self.values(raw.at("values"), spec) if "values" in raw else ()
        otherwise = None
        if "otherwise" in raw:
            if spec.type not in (FieldType.BOOLEAN, FieldType.CHOICE, FieldType.INTEGER):
                raise raw.at("otherwise").error("'otherwise' ne s'applique qu'aux champs à choix")
            otherwise = self.target(raw.at("otherwise"), spec)
        formats = self.formats(raw.at("formats"), spec) if "formats" in raw else ()
        order = "first_last"
        if "order" in raw:
            if name != "full_name":
                raise raw.at("order").error("'order' ne s'applique qu'au champ full_name")
            order = raw.at("order").choice(NAME_ORDERS)
        optional = raw.at("optional", False).boolean()
        if constant is not None and (values or otherwise is not None or optional):
            raise node.error(
                "une valeur fixe ('value') ne prend ni 'values', ni 'otherwise', ni 'optional'"
            )
        return FormField(
            name=name,
            columns=columns,
            join=join,
            values=values,
            otherwise=otherwise,
            constant=constant,
            formats=formats,
            order=order,
            optional=optional,
        )

    def fields(self, node: Node, *, allow_null: bool) -> dict[str, FormField | None]:
        out: dict[str, FormField | None] = {}
        for name, child in node.mapping(FIELDS).children():
            if child.value is None and allow_null:
                out[name] = None  # removes a preset's field
                continue
            out[name] = self.form_field(child, name)
        return out

    def section(self, node: Node, *, preset_allowed: bool) -> tuple[str | None, dict[str, Any]]:
        """The preset name and the other keys of an ``intake`` mapping (checked)."""
        raw = node.mapping(_TOP_KEYS if preset_allowed else _PRESET_KEYS)
        preset = None
        if "preset" in raw:
            preset = raw.at("preset").text(expected="nom de préréglage")
            if preset not in available_presets():
                raise raw.at("preset").error(
                    f"préréglage inconnu {preset!r} ; préréglages disponibles : "
                    f"{', '.join(available_presets())}"
                )
        settings: dict[str, Any] = {}
        if "name" in raw:
            settings["name"] = raw.at("name").text()
        if "prefer_territory" in raw:
            settings["prefer_territory"] = raw.at("prefer_territory").boolean()
        if "fields" in raw:
            settings["fields"] = self.fields(raw.at("fields"), allow_null=preset_allowed)
        if preset_allowed:  # a policy's own questions (a preset has none)
            settings["questions"] = read_question_fields(raw.at("questions"), self.questions)
        return preset, settings


def _build(
    node: Node, base: FormMapping | None, preset: str | None, settings: dict[str, Any]
) -> FormMapping:
    fields: dict[str, FormField] = dict(base.fields) if base is not None else {}
    for name, form_field in settings.get("fields", {}).items():
        if form_field is None:
            fields.pop(name, None)
        else:
            fields[name] = form_field
    for names, description in _REQUIRED:
        if not any(name in fields for name in names):
            where = node.at("fields") if "fields" in settings else node
            raise where.error(
                f"champ obligatoire manquant : {description} ; il doit être lu du formulaire"
            )
    for names in (("last_name", "full_name"), ("birth_date",), ("consent",)):
        # A required field must be there in every file: it cannot be optional.
        for name in names:
            form_field = fields.get(name)
            if form_field is not None and form_field.optional:
                raise (
                    node.at("fields")
                    .at(name)
                    .error("ce champ est obligatoire : 'optional' impossible")
                )
    ordered = {name: fields[name] for name in FIELDS if name in fields}
    return FormMapping(
        fields=ordered,
        name=settings.get("name", base.name if base is not None else ""),
        preset=preset,
        prefer_territory=settings.get(
            "prefer_territory", base.prefer_territory if base is not None else False
        ),
        questions=settings.get("questions", {}),
    )


def intake_from_policy(
    value: object,
    *,
    error: ErrorFactory,
    path: str = "$.intake",
    reference: CommuneReference | None = None,
    questions: tuple[Question, ...] = (),
) -> FormMapping:
    """Validate the ``intake:`` section of a policy and compile it.

    Args:
        value: the section, as ``yaml.safe_load`` returns it.
        error: builds the :class:`PolicyError` for a key path and a French message (with the
            file and line; :meth:`mt_access.yamlcheck.Locator.error`).
        path: the key path of the section.
        reference: commune reference to check the INSEE codes of commune fields (skipped
            when ``None``).
        questions: the policy's own questions (``intake.questions`` refers to them).

    Raises:
        PolicyError: naming the key path and what was expected.
    """
    return _read(Node(value, path, Locator(factory=error)), reference, questions)


def _read(
    node: Node, reference: CommuneReference | None, questions: tuple[Question, ...] = ()
) -> FormMapping:
    preset, settings = _Checker(reference, questions).section(node, preset_allowed=True)
    base = load_preset(preset) if preset is not None else None
    return _build(node, base, preset, settings)


def _read_section(node: Node, context: ReadContext) -> FormMapping | None:
    return _read(node, context.reference, context.questions)


INTAKE: PolicySection[FormMapping | None] = PolicySection(
    name="intake",
    read=_read_section,
    default=None,
    doc="how the CPTS's form export maps to requests (a preset, or columns and wordings)",
)
"""The ``intake:`` section: ``policy.section(INTAKE)`` is the policy's :class:`FormMapping`,
or ``None`` (the generic preset, :func:`default_mapping`) when the file has none."""


@hookimpl
def mt_access_policy_sections() -> list[PolicySection[Any]]:
    """This module is a built-in plugin: it contributes the ``intake:`` section."""
    return [INTAKE]


def form_mapping(
    data: Mapping[str, Any], *, source: str = "<dict>", questions: tuple[Question, ...] = ()
) -> FormMapping:
    """Validate a mapping written like a policy's ``intake:`` section, from Python
    (``questions``: the policy's own questions, read by ``intake.questions``).

    Raises:
        PolicyError: naming the key path (``$.intake.fields.reason``) and what was expected.
    """

    return _read(Locator(source=source).root(dict(data), "$.intake"), None, questions)


def mapping_from_yaml(
    data: object,
    *,
    source: str,
    lines: Mapping[str, int],
    questions: tuple[Question, ...] = (),
) -> FormMapping:
    """Validate a mapping parsed from its own YAML file (:func:`mt_access.yamlread.parse_yaml`
    gives ``data`` and ``lines``): key paths start at ``$`` (``$.fields.birth_date``).

    Raises:
        PolicyError: naming the file, the line and the key path.
    """
    return _read(Locator(source, lines).root(data), None, questions)


def available_presets() -> tuple[str, ...]:
    """Names of the shipped presets (``voironnais``, ``lievin``...), sorted."""
    return _available_presets()


@functools.cache
def _available_presets() -> tuple[str, ...]:
    directory = importlib.resources.files(_PRESET_PACKAGE) / _PRESET_DIR
    return tuple(
        sorted(
            entry.name.removesuffix(".yaml")
            for entry in directory.iterdir()
            if entry.name.endswith(".yaml")
        )
    )


def load_preset(name: str) -> FormMapping:
    """The shipped preset ``name`` (a form mapping described in ``intake/presets/NAME.yaml``).

    Raises:
        PolicyError: unknown name, or an invalid preset file.
    """
    if name not in available_presets():
        raise PolicyError(
            f"préréglage inconnu {name!r} ; préréglages disponibles : "
            f"{', '.join(available_presets())}",
            source=name,
        )
    return _load_preset(name)


@functools.cache
def _load_preset(name: str) -> FormMapping:
    resource = importlib.resources.files(_PRESET_PACKAGE) / _PRESET_DIR / f"{name}.yaml"
    source = f"mt_access/intake/{_PRESET_DIR}/{name}.yaml"
    data, lines = parse_yaml(resource.read_text(encoding="utf-8"), source)
    node = Locator(source, lines).root(data)
    _, settings = _Checker().section(node, preset_allowed=False)
    return _build(node, None, name, settings)


def default_mapping() -> FormMapping:
    """The mapping used for a policy without an ``intake:`` section: the ``generique``
    preset (headers « Nom », « Prénom », « Date de naissance », « Commune »...)."""
    return load_preset(DEFAULT_PRESET)


_SPLIT = re.compile(r"\s+")


def split_full_name(text: str, order: str) -> tuple[str, str]:
    """``(last_name, first_name)`` from a « prénom nom » (``first_last``) or « nom prénom »
    (``last_first``) cell: the first name is one word (a compound first name is written
    with a hyphen), the rest is the last name."""
    words = _SPLIT.split(text.strip())
    if len(words) < 2:
        return text.strip(), ""
    if order == "last_first":
        return " ".join(words[:-1]), words[-1]
    return " ".join(words[1:]), words[0]
