"""A CPTS's own headings for a GP file, kept in a YAML file: ``mt-access medecin importer
FICHIER --correspondance COLONNES.yaml`` and the « Correspondance des colonnes » field of the
web page « Importer des médecins ».

The file names, for each field of :data:`~mt_access.gp_file_cells.GP_COLUMNS` it changes,
the heading (or the headings) the CPTS's spreadsheet uses::

    name: Tableau des médecins de la CPTS
    fields:
      rpps: N° RPPS du praticien
      last_name: [NOM, Nom du praticien]
      commune: Lieu d'exercice
    ignore: [Spécialité, Secteur]

A field the file names is read only from its headings (the built-in heading and synonyms of
that field no longer are); the other fields keep theirs. Headings are compared as the
built-in ones (without case, accents, punctuation nor extra spaces). ``ignore`` lists
headings read by no field and not reported as unread.

The YAML is read with :func:`mt_access.yamlread.parse_yaml` (safe types only, bounded size
and depth); every error is a :class:`~mt_access.errors.PolicyError` in French naming the
file, the line and the key path (``$.fields.commune[1]``), and an unknown key is refused
with the keys allowed. Nothing here prints.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import attrs

from mt_access.errors import PolicyError
from mt_access.gp_file_cells import BY_FIELD, GP_COLUMNS
from mt_access.intake.tabular import header_key
from mt_access.yamlcheck import Locator, Node
from mt_access.yamlread import parse_yaml, read_yaml_file

__all__ = [
    "GP_MAPPING_KEYS",
    "MAX_GP_HEADING",
    "MAX_GP_HEADINGS",
    "GPMapping",
    "gp_mapping_from_yaml",
    "load_gp_mapping",
    "parse_gp_mapping",
]

GP_MAPPING_KEYS = ("name", "fields", "ignore")
"""The keys a GP mapping file may hold at its top level."""

MAX_GP_HEADING = 200
"""Characters of one heading in a GP mapping file."""

MAX_GP_HEADINGS = 50
"""Headings of one field (and headings of ``ignore``) in a GP mapping file."""

_FIELDS = tuple(column.field for column in GP_COLUMNS)


@attrs.frozen
class GPMapping:
    """The headings a CPTS's GP file uses.

    Attributes:
        headings: ``{field: headings}`` of the fields the file renames; each field named is
            read only from these headings.
        ignored: headings read by no field and not reported as unread.
        name: what the mapping is for (shown to the coordinator).
        source: the file the mapping was read from.
    """

    headings: Mapping[str, tuple[str, ...]] = attrs.field(factory=dict)
    ignored: tuple[str, ...] = ()
    name: str = ""
    source: str = ""

    def heading(self, field: str) -> str:
        """The heading a file should use for ``field``: the mapping's first, else the
        built-in one."""
        mine = self.headings.get(field)
        return mine[0] if mine else BY_FIELD[field].heading

    def keys(self) -> dict[str, str]:
        """``{compared heading: field}``: the built-in headings and synonyms of the fields
        the mapping leaves, then the mapping's own headings."""
        found = {
            header_key(name): column.field
            for column in GP_COLUMNS
            if column.field not in self.headings
            for name in (column.heading, *column.synonyms)
        }
        for field, names in self.headings.items():
            for name in names:
                found[header_key(name)] = field
        return found

    def ignored_keys(self) -> frozenset[str]:
        return frozenset(header_key(name) for name in self.ignored)


def _headings(node: Node, what: str) -> list[tuple[Node, str]]:
    """The headings of ``node``: a text or a non-empty list of texts."""
    items = [node] if isinstance(node.value, str | int | float) else None
    if items is None:
        if not isinstance(node.value, list):
            raise node.error(f"{what} : un en-tête (texte) ou une liste d'en-têtes attendu")
        items = node.items()
        if not items:
            raise node.error(f"{what} : liste vide ; au moins un en-tête attendu")
        if len(items) > MAX_GP_HEADINGS:
            raise node.error(f"{what} : {MAX_GP_HEADINGS} en-têtes au plus attendus")
    found: list[tuple[Node, str]] = []
    for item in items:
        text = item.text(expected="en-tête (texte non vide)")
        if len(text) > MAX_GP_HEADING:
            raise item.error(f"en-tête de {MAX_GP_HEADING} caractères au plus attendu")
        if not header_key(text):
            raise item.error("en-tête sans lettre ni chiffre : il ne désigne aucune colonne")
        found.append((item, text))
    return found


def gp_mapping_from_yaml(data: object, *, source: str, lines: Mapping[str, int]) -> GPMapping:
    """Validate a GP mapping parsed by :func:`~mt_access.yamlread.parse_yaml`.

    Raises:
        PolicyError: naming the file, the line and the key path.
    """
    root = Locator(source, lines).root(data)
    root.mapping(
        GP_MAPPING_KEYS,
        expected="correspondance attendue : un dictionnaire avec la clé « fields » (et "
        "facultativement « name », « ignore »)",
    )
    name = root.at("name").text(expected="nom (texte)") if "name" in root else ""
    fields = root.required(
        "fields", "clé 'fields' obligatoire manquante : les en-têtes de chaque champ"
    )
    fields.mapping(_FIELDS)
    if not fields.value:
        raise fields.error("au moins un champ attendu (ex. « rpps: N° RPPS du praticien »)")
    seen: dict[str, str] = {}
    headings: dict[str, tuple[str, ...]] = {}
    for field, node in fields.children():
        names: list[str] = []
        for item, text in _headings(node, f"champ {field}"):
            key = header_key(text)
            if key in seen:
                raise item.error(
                    f"en-tête déjà donné pour le champ {seen[key]} : une colonne est lue par "
                    "un seul champ"
                )
            seen[key] = field
            names.append(text)
        headings[field] = tuple(names)
    ignored: list[str] = []
    if "ignore" in root:
        node = root.at("ignore")
        if not isinstance(node.value, list):
            raise node.error("liste d'en-têtes attendue (les colonnes à ne pas signaler)")
        for item, text in _headings(node, "ignore"):
            key = header_key(text)
            if key in seen:
                raise item.error(
                    f"en-tête lu par le champ {seen[key]} : il ne peut pas être ignoré"
                )
            ignored.append(text)
    return GPMapping(headings=headings, ignored=tuple(ignored), name=name, source=source)


def parse_gp_mapping(text: str, source: str) -> GPMapping:
    """The GP mapping written in ``text`` (a file sent through the web page).

    Raises:
        PolicyError: invalid YAML or mapping, with ``source``, the line and the key path.
    """
    data, lines = parse_yaml(text, source)
    if data is None:
        raise PolicyError(
            "fichier vide : correspondance attendue (clé « fields » avec les en-têtes de "
            "chaque champ)",
            source=source,
        )
    return gp_mapping_from_yaml(data, source=source, lines=lines)


def load_gp_mapping(path: str | Path) -> GPMapping:
    """The GP mapping of the YAML file ``path`` (``.yaml`` or ``.yml``).

    Raises:
        PolicyError: missing, unreadable or invalid file; with the file, line and key path.
    """
    source = str(path)
    if Path(path).suffix.lower() not in (".yaml", ".yml"):
        raise PolicyError("fichier de correspondance .yaml ou .yml attendu", source=source)
    return parse_gp_mapping(read_yaml_file(Path(path), source), source)
