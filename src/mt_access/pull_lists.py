"""The lists shared with GPs, written as files: one per GP and per format (XLSX, HTML,
Markdown), in French, with nothing that identifies a patient.

A list (:class:`~mt_access.result.PullList`, from :meth:`mt_access.Register.pull_lists`)
becomes rows of text by French column (:func:`list_rows`): pseudonym, level, waiting time,
commune, distance, age band, persons, needs, then the extra columns an entry carries
(:attr:`~mt_access.result.PullEntry.extra`, e.g. the answers to the CPTS's own questions
marked shareable). :func:`write_pull_lists` writes them:

* XLSX through the project's table writer (:func:`mt_access.export.write_rows`: waiting days
  and persons as integers, distance as a decimal, text never a formula; frozen header,
  autofilter);
* HTML from the template shipped in the package (``mt_access/templates/liste_medecin.html.j2``),
  rendered in a Jinja2 sandbox with every value escaped;
* Markdown, a table with its cells escaped.

Files are named ``liste-<GP id>-<AAAA-MM>.<format>`` and written next to their final place
then renamed, so a reader never sees half a file.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from importlib import resources
from pathlib import Path

import attrs

from mt_access.calendar import Month
from mt_access.errors import ExportError
from mt_access.export import ColumnType, write_rows
from mt_access.result import PullEntry, PullList

__all__ = [
    "LIST_COLUMNS",
    "LIST_FORMATS",
    "LIST_TYPES",
    "ListPage",
    "list_columns",
    "list_file_stem",
    "list_html",
    "list_markdown",
    "list_rows",
    "pages_by_physician",
    "write_pull_lists",
]

LIST_COLUMNS: tuple[str, ...] = (
    "pseudonyme",
    "niveau",
    "attente (jours)",
    "commune",
    "distance (km)",
    "tranche d'âge",
    "personnes",
    "visites à domicile",
    "soins sous un mois",
)
"""The columns of every list, in order; an entry's :attr:`~PullEntry.extra` columns follow."""

LIST_TYPES: dict[str, ColumnType] = {
    "attente (jours)": ColumnType.INTEGER,
    "distance (km)": ColumnType.DECIMAL,
    "personnes": ColumnType.INTEGER,
    "soins sous un mois": ColumnType.YES_NO,
}
"""The columns of :data:`LIST_COLUMNS` that are not text, in the XLSX list (« 2 sur 3 »
persons of a household stays text); the extra columns are text."""

LIST_FORMATS: tuple[str, ...] = ("xlsx", "html", "md")
"""The formats :func:`write_pull_lists` writes."""

_NUMBERS = frozenset({"attente (jours)", "distance (km)", "personnes"})
_TEMPLATE = "liste_medecin.html.j2"
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


@attrs.frozen
class ListPage:
    """What a GP's file says besides the table.

    Attributes:
        pull_list: the list.
        physician_name: the GP's name as the register holds it.
        on: the day the list was made.
        cpts: the CPTS's name (the policy's ``identity.name``).
        pick_limit: the most requests the GP may pick at a time (``0``: no limit).
    """

    pull_list: PullList
    physician_name: str
    on: dt.date
    cpts: str = ""
    pick_limit: int = 0

    @property
    def month(self) -> Month:
        return Month.of(self.on)

    @property
    def title(self) -> str:
        who = f"{self.physician_name} ({self.pull_list.physician_id})"
        return f"Liste partagée de {who} – {self.month.label}"

    def intro(self) -> list[str]:
        """The French paragraphs above the table."""
        cpts = self.cpts or "CPTS"
        cpts = f"la {cpts}" if cpts.upper().startswith("CPTS") else f"la CPTS {cpts}"
        lines = [
            f"Demandes de médecin traitant en attente auprès de {cpts} que vous pourriez "
            "accueillir (vos communes, vos modalités), les plus prioritaires puis les plus "
            "anciennes d'abord. Elles sont pseudonymisées : ni nom, ni coordonnées, ni date "
            "de naissance.",
        ]
        left = self.pull_list.places_left
        if left is not None:
            lines.append(f"Places qu'il vous reste en {self.month.label} : {left}.")
        lines.append(
            "Pour accueillir une demande, donnez son pseudonyme à la coordination : elle vous "
            "la propose et vous envoie le dossier qualifié ; vous confirmez ou refusez après "
            "l'avoir lu. Une place vous est réservée en attendant votre réponse."
        )
        if self.pick_limit:
            lines.append(
                f"Vous pouvez choisir au plus {self.pick_limit} demande(s) à la fois ; les "
                "suivantes une fois vos réponses données."
            )
        lines.append(
            f"Liste établie le {self.on:%d/%m/%Y} : une demande choisie entre-temps par un "
            "autre médecin n'est plus disponible."
        )
        return lines


def _persons(entry: PullEntry) -> str:
    if entry.household > entry.persons:
        return f"{entry.persons} sur {entry.household}"
    return str(entry.persons)


def _entry_row(entry: PullEntry) -> dict[str, str]:
    row = {
        "pseudonyme": entry.pseudonym,
        "niveau": entry.level_label or entry.level,
        "attente (jours)": str(entry.waiting_days),
        "commune": entry.commune_name or entry.commune,
        "distance (km)": f"{entry.distance_km:.1f}".replace(".", ","),
        "tranche d'âge": entry.age_band,
        "personnes": _persons(entry),
        "visites à domicile": entry.home_visits,
        "soins sous un mois": "oui" if entry.urgent else "non",
    }
    for label, text in entry.extra:
        row[_extra_column(label)] = text
    return row


def _extra_column(label: str) -> str:
    """The column of an extra: its label, unless a list column already has that name."""
    return f"{label} (question)" if label in LIST_COLUMNS else label


def list_columns(pull_list: PullList) -> tuple[str, ...]:
    """:data:`LIST_COLUMNS`, then the extra columns of the list's entries in first-seen
    order."""
    extra: dict[str, None] = {}
    for entry in pull_list.entries:
        for label, _ in entry.extra:
            extra.setdefault(_extra_column(label))
    return (*LIST_COLUMNS, *extra)


def list_rows(pull_list: PullList) -> list[dict[str, str]]:
    """The list's entries as rows of text by column (every column of :func:`list_columns`,
    empty where an entry has no such extra)."""
    columns = list_columns(pull_list)
    rows = []
    for entry in pull_list.entries:
        row = _entry_row(entry)
        rows.append({c: row.get(c, "") for c in columns})
    return rows


def _md_cell(text: str) -> str:
    text = " ".join(text.split())
    for mark in ("\\", "|", "*", "_", "`", "[", "]", "<", ">", "#"):
        text = text.replace(mark, "\\" + mark)
    return text


def list_markdown(page: ListPage) -> str:
    """The GP's list as a Markdown page: title, paragraphs, table."""
    out = [f"# {_md_cell(page.title)}", ""]
    for line in page.intro():
        out += [_md_cell(line), ""]
    rows = list_rows(page.pull_list)
    if not rows:
        out.append("Aucune demande sur votre liste ce mois-ci.")
        return "\n".join(out) + "\n"
    columns = list_columns(page.pull_list)
    out.append("| " + " | ".join(_md_cell(c) for c in columns) + " |")
    out.append("| " + " | ".join("---:" if c in _NUMBERS else "---" for c in columns) + " |")
    for row in rows:
        out.append("| " + " | ".join(_md_cell(row[c]) for c in columns) + " |")
    return "\n".join(out) + "\n"


def list_html(page: ListPage) -> str:
    """The GP's list as a whole HTML page (UTF-8), from the shipped template rendered in a
    Jinja2 sandbox, every value escaped."""
    import jinja2
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    source = resources.files("mt_access").joinpath("templates", _TEMPLATE).read_text("utf-8")
    env = ImmutableSandboxedEnvironment(
        undefined=jinja2.StrictUndefined,
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    return env.from_string(source).render(
        title=page.title,
        intro=page.intro(),
        columns=list_columns(page.pull_list),
        rows=list_rows(page.pull_list),
        numbers=sorted(_NUMBERS),
    )


def list_file_stem(physician_id: str, month: Month) -> str:
    """``liste-<GP id>-<AAAA-MM>``, the GP id with any character other than letters, digits,
    ``-`` and ``_`` replaced by ``_``."""
    return f"liste-{_UNSAFE.sub('_', physician_id)}-{month}"


def _write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_pull_lists(
    pages: Iterable[ListPage],
    folder: str | os.PathLike[str],
    *,
    formats: Sequence[str] = LIST_FORMATS,
) -> list[Path]:
    """Write each GP's list to ``folder`` (made if missing), one file per format, and return
    the paths in order.

    Raises:
        ExportError: an unknown format (nothing is written).
        OSError: the folder or a file cannot be written.
    """
    unknown = [f for f in formats if f not in LIST_FORMATS]
    if unknown:
        raise ExportError(
            f"format de liste inconnu : {unknown[0]!r} (formats : {', '.join(LIST_FORMATS)})"
        )
    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for page in pages:
        stem = list_file_stem(page.pull_list.physician_id, page.month)
        for fmt in dict.fromkeys(formats):
            path = target / f"{stem}.{fmt}"
            if fmt == "xlsx":
                write_rows(
                    list_rows(page.pull_list),
                    list_columns(page.pull_list),
                    path,
                    sheet="liste",
                    types=LIST_TYPES,
                )
            elif fmt == "html":
                _write_text(path, list_html(page))
            else:
                _write_text(path, list_markdown(page))
            written.append(path)
    return written


def pages_by_physician(
    lists: Iterable[PullList],
    names: Mapping[str, str],
    on: dt.date,
    *,
    cpts: str = "",
    pick_limit: int = 0,
) -> list[ListPage]:
    """One :class:`ListPage` per list, the GP named from ``names`` (their id otherwise)."""
    return [
        ListPage(x, names.get(x.physician_id, x.physician_id), on, cpts, pick_limit) for x in lists
    ]
