"""The CPTS's follow-up register as an XLSX workbook (openpyxl).

:func:`write_follow_up_workbook` writes, for a period, the workbook a coordinator keeps today
(« suivi des entrées et sorties du dispositif »):

* « Entrées et sorties »: one row per request followed during the period (received by its
  end and not exited before its start; every request received by its end with
  ``all_requests=True``): id, reception date, commune, age band and level on reception,
  reason, referrer, state at the end of the period, exit reason and date, wait, GP. No name,
  contact or comment unless ``personal=True``;
* « Indicateurs »: the French summary and every table of
  :class:`~mt_access.indicators.Indicators` but the GPs';
* « Médecins »: placements per GP against the declared capacity.

Each sheet has a bold header, frozen panes, column widths, an autofilter on the lists, and a
print setup (A4 landscape, fitted to the page width, header row repeated on every page, page
numbers). Every text cell is stored as text, never as a formula: user text such as
``=cmd|' /C calc'!A0`` stays text (as in :mod:`mt_access.export`). The file is written next
to its place then renamed, so a reader never sees half a workbook.
"""

from __future__ import annotations

import datetime as dt
import io
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np

from mt_access._xlsx import ILLEGAL, TEXT_STARTS, clean, rows_xml, splice_rows
from mt_access.calendar import Month
from mt_access.errors import WorkbookError
from mt_access.export import ColumnType, typed
from mt_access.indicators import (
    _EXIT_REASONS,
    Cell,
    Indicators,
    Period,
    Table,
    _Dataset,
    _indicators,
    _period_needs,
    _reference_maps,
    _register_dataset,
    _series,
    _series_needs,
    _union,
)
from mt_access.lifecycle import ExitReason
from mt_access.model import PatientIdentity, Physician, age_band
from mt_access.questions import Question, answer_columns, answer_types, format_answer

if TYPE_CHECKING:
    from mt_access.policy import Policy
    from mt_access.register import Register

__all__ = [
    "FOLLOW_UP_COLUMNS",
    "FOLLOW_UP_TYPES",
    "PERSONAL_COLUMNS",
    "SHEETS",
    "MonthlyReport",
    "WorkbookError",
    "follow_up_rows",
    "follow_up_types",
    "write_follow_up_workbook",
    "write_monthly_report",
]

SHEETS: tuple[str, str, str] = ("Entrées et sorties", "Indicateurs", "Médecins")
"""The sheets of the workbook, in order."""

FOLLOW_UP_COLUMNS: tuple[str, ...] = (
    "demande",
    "reçue le",
    "commune (INSEE)",
    "commune",
    "tranche d'âge",
    "personnes",
    "niveau à la réception",
    "motif de la recherche",
    "adressée par",
    "état à la fin de la période",
    "motif de sortie",
    "sortie le",
    "délai (jours)",
    "médecin traitant",
    "nom du médecin",
)
"""The columns of « Entrées et sorties », without personal data."""

PERSONAL_COLUMNS: tuple[str, ...] = ("nom", "prénom", "téléphone", "courriel", "commentaires")
"""The columns added with ``personal=True``: the patient's name and contact, and the
request's free-text comments."""

FOLLOW_UP_TYPES: dict[str, ColumnType] = {
    "reçue le": ColumnType.DATE,
    "personnes": ColumnType.INTEGER,
    "sortie le": ColumnType.DATE,
    "délai (jours)": ColumnType.INTEGER,
}
"""The columns of « Entrées et sorties » that are not text (:mod:`mt_access.export`); the
INSEE code, the GP's RPPS and the phone number stay text."""

_DATE_FORMAT = "DD/MM/YYYY"


def _number_format(label: str) -> str | None:
    if "part" in label or "taux" in label:
        return "0.0%"
    if "pour 1 000" in label:
        return "0.00"
    if "jours)" in label:
        return "0.0"
    return None


class _Writer:
    """Cells for a write-only sheet: text always stored as text, dates in French."""

    def __init__(self, sheet: Any) -> None:
        from openpyxl.cell import WriteOnlyCell  # type: ignore[import-untyped, unused-ignore]
        from openpyxl.styles import Alignment, Border, Font, PatternFill, Side  # type: ignore[import-untyped, unused-ignore]

        self.sheet = sheet
        self._cell = WriteOnlyCell
        self.bold = Font(bold=True)
        self.title = Font(bold=True, size=14)
        self.subtitle = Font(bold=True, size=12)
        self.note = Font(italic=True, color="555555")
        self.fill = PatternFill("solid", fgColor="DDE4EE")
        self.border = Border(bottom=Side(style="thin"))
        self.wrap = Alignment(wrap_text=True, vertical="top")

    def text(self, value: str, **style: Any) -> Any:
        cell = self._cell(self.sheet, value=clean(value))
        cell.data_type = "s"  # text, even when it starts with "=": never a formula
        for name, item in style.items():
            setattr(cell, name, item)
        return cell

    def value(self, value: Cell, number_format: str | None = None, **style: Any) -> Any:
        if isinstance(value, str):
            if style or value.startswith(TEXT_STARTS) or ILLEGAL.search(value):
                return self.text(value, **style)
            return value
        if isinstance(value, dt.date):
            cell = self._cell(self.sheet, value=value)
            cell.number_format = _DATE_FORMAT
        elif number_format is None and not style:
            return value
        else:
            cell = self._cell(self.sheet, value=value)
            if number_format is not None and value is not None:
                cell.number_format = number_format
        for name, item in style.items():
            setattr(cell, name, item)
        return cell

    def style_id(self, number_format: str | None, bold: bool) -> int:
        """The workbook's style id for a cell with this format (registered when new)."""
        cell = self._cell(self.sheet, value=0)
        if number_format is not None:
            cell.number_format = number_format
        if bold:
            cell.font = self.bold
        return int(cell.style_id)

    def header(self, labels: Sequence[str]) -> list[Any]:
        return [
            self.text(label, font=self.bold, fill=self.fill, border=self.border) for label in labels
        ]


def _print_setup(sheet: Any, title: str, *, repeat_header: bool = True) -> None:
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = 9  # A4
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    if repeat_header:
        sheet.print_title_rows = "1:1"
    sheet.page_margins.left = sheet.page_margins.right = 0.4
    sheet.oddHeader.left.text = clean(title).replace("&", "&&")
    sheet.oddFooter.right.text = "Page &P / &N"


def _widths(sheet: Any, columns: Sequence[str], rows: Sequence[Sequence[Cell]]) -> None:
    from openpyxl.utils import get_column_letter  # type: ignore[import-untyped, unused-ignore]

    for j, label in enumerate(columns):
        longest = len(label)
        for row in rows[:300]:
            value = row[j]
            if isinstance(value, dt.date):
                size = 10
            elif isinstance(value, float):
                size = 8
            else:
                size = len(str(value)) if value is not None else 0
            longest = max(longest, size)
        sheet.column_dimensions[get_column_letter(j + 1)].width = min(max(longest + 2, 8), 50)


def _follow_up_rows(
    data: _Dataset,
    period: Period,
    physicians: Sequence[Physician],
    names: Mapping[str, str],
    identity_of: Callable[[str], PatientIdentity] | None,
    all_requests: bool,
    questions: Sequence[Question] = (),
) -> list[tuple[Cell, ...]]:
    s, e = period.start.toordinal(), period.end.toordinal()
    chosen = data.received <= e
    if not all_requests:
        chosen &= data.exit >= s
    indices = np.flatnonzero(chosen).tolist()
    indices.sort(key=lambda i: (int(data.received[i]), data.ids[i]))
    gp_names = {p.id: p.name for p in physicians}
    rows: list[tuple[Cell, ...]] = []
    for i in indices:
        request = data.request(i)
        state = data.state_on(i, period.end)
        exited = int(data.exit[i]) <= e
        reason = _EXIT_REASONS[int(data.exit_reason[i])] if exited else None
        exit_day = dt.date.fromordinal(int(data.exit[i])) if exited else None
        found = reason is ExitReason.MT_FOUND
        # a household's persons may have different GPs: each is listed, the patient's first
        gps = list(dict.fromkeys(data.file(i).physicians_found.values())) if found else []
        gp = ", ".join(gps)
        row: list[Cell] = [
            request.id,
            request.received,
            request.commune,
            names.get(request.commune, ""),
            age_band(max(request.age(request.received), 0)),
            request.persons,
            data.level_names[int(data.level[i])],
            request.reason.label,
            request.referrer.kind.label,
            "" if state is None else state.label,
            "" if reason is None else reason.label,
            exit_day,
            int(data.exit[i] - data.received[i]) if found else None,
            gp,
            ", ".join(gp_names.get(g, "") for g in gps),
        ]
        if identity_of is not None:
            identity = identity_of(request.id)
            row += [
                identity.last_name,
                identity.first_name,
                identity.phone,
                identity.email,
                request.comments,
            ]
        row += [format_answer(q, request.answers.get(q.id)) for q in questions]
        rows.append(tuple(row))
    return rows


def _answer_questions(policy: Policy, personal: bool) -> tuple[Question, ...]:
    """The questions whose answers the list shows: the shareable ones, and with ``personal``
    those whose ``show_in`` has ``exports``."""
    return tuple(
        q for q in policy.questions if q.shareable or (personal and "exports" in q.show_in)
    )


@attrs.frozen
class _Styles:
    """Style ids of a list sheet's cells, per column: plain rows and bold (total) rows."""

    plain: tuple[int, ...]
    bold: tuple[int, ...]
    bold_first: frozenset[str]


def _list_sheet(
    book: Any,
    name: str,
    title: str,
    columns: Sequence[str],
    rows: Sequence[Sequence[Cell]],
    freeze: str,
    formats: Sequence[str | None],
    bold_first: Sequence[str] = (),
) -> _Styles:
    """A list sheet: header, widths, frozen panes, autofilter, print setup. Only the header
    is written through openpyxl: the rows are spliced into the saved file
    (:func:`mt_access._xlsx.splice_rows`, with the returned style ids), which is much faster
    on large lists."""
    from openpyxl.utils import get_column_letter  # type: ignore[import-untyped, unused-ignore]

    sheet = book.create_sheet(name)
    writer = _Writer(sheet)
    _widths(sheet, columns, rows)
    sheet.freeze_panes = freeze
    _print_setup(sheet, title)
    sheet.append(writer.header(columns))
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{len(rows) + 1}"
    return _Styles(
        plain=tuple(writer.style_id(f, False) for f in formats),
        bold=tuple(writer.style_id(f, True) for f in formats),
        bold_first=frozenset(bold_first),
    )


def _indicator_sheet(book: Any, result: Indicators, title: str) -> None:
    sheet = book.create_sheet(SHEETS[1])
    writer = _Writer(sheet)
    tables = [t for t in result.tables if t.name != "physicians"]
    width = max(len(t.columns) for t in tables)
    from openpyxl.utils import get_column_letter  # type: ignore[import-untyped, unused-ignore]

    sheet.column_dimensions["A"].width = 42
    for j in range(2, width + 1):
        sheet.column_dimensions[get_column_letter(j)].width = 16
    _print_setup(sheet, title)
    sheet.append([writer.text(title, font=writer.title)])
    for line in result.summary().splitlines()[1:]:
        sheet.append([writer.text(line)])
    for table in tables:
        sheet.append([])
        _table(sheet, writer, table)


def _table(sheet: Any, writer: _Writer, table: Table) -> None:
    sheet.append([writer.text(table.title, font=writer.subtitle)])
    if table.note:
        sheet.append([writer.text(table.note, font=writer.note)])
    header = [
        writer.text(
            c, font=writer.bold, fill=writer.fill, border=writer.border, alignment=writer.wrap
        )
        for c in table.columns
    ]
    sheet.append(header)
    formats = [_number_format(c) for c in table.columns]
    for row in table.rows:
        total = row[0] in ("total", "ensemble")
        style = {"font": writer.bold} if total else {}
        cells = []
        for j, value in enumerate(row):
            fmt = formats[j]
            if table.name == "key_figures" and j == 1:
                fmt = _number_format(str(row[0]))
            cells.append(writer.value(value, fmt, **style))
        sheet.append(cells)


def write_follow_up_workbook(
    register: Register,
    path: str | os.PathLike[str],
    period: Period | Month | str,
    *,
    personal: bool = False,
    all_requests: bool = False,
) -> Path:
    """Write the follow-up workbook of ``period`` to ``path`` (``.xlsx``) and return it.

    Args:
        register: the register.
        path: the file to write (replaced if it exists).
        period: a :class:`~mt_access.indicators.Period`, a month or ``"YYYY-MM"``.
        personal: add the patients' name, contact and the requests' comments
            (:data:`PERSONAL_COLUMNS`) to « Entrées et sorties ». Off by default: the
            workbook then holds no personal data and can be shared.
        all_requests: list every request received by the end of the period, not only those
            followed during it.

    Raises:
        WorkbookError: the file cannot be written.
        IndicatorsError: an invalid period.
    """
    chosen = Period.of(period)
    data = _register_dataset(register, _period_needs(chosen, rows="all" if all_requests else None))
    result = _indicators(
        data, chosen, register.policy, register.physicians(), register.ledger, None, None
    )
    return _write(register, data, result, Path(path), personal=personal, all_requests=all_requests)


def _text(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.date):
        return f"{value:%d/%m/%Y}"
    return str(value)


def follow_up_types(policy: Policy, *, personal: bool = False) -> dict[str, ColumnType]:
    """The types of the columns of :func:`follow_up_rows` that are not text, for
    :func:`mt_access.export.write_rows`: :data:`FOLLOW_UP_TYPES` and the answers' (numbers,
    dates, yes/no: :func:`mt_access.questions.answer_types`)."""
    columns = FOLLOW_UP_COLUMNS + (PERSONAL_COLUMNS if personal else ())
    return {**FOLLOW_UP_TYPES, **answer_types(_answer_questions(policy, personal), columns)}


def follow_up_rows(
    register: Register,
    period: Period | Month | str,
    *,
    personal: bool = False,
    all_requests: bool = False,
) -> tuple[tuple[str, ...], list[dict[str, str]]]:
    """The « Entrées et sorties » list of the follow-up workbook as text rows, for
    :func:`mt_access.export.write_rows` (CSV or XLSX) with the types of
    :func:`follow_up_types`: ``(columns, rows)``.

    Args:
        register: the register.
        period: a :class:`~mt_access.indicators.Period`, a month or ``"YYYY-MM"``.
        personal: add the patients' name, contact and the requests' comments.
        all_requests: every request received by the end of the period, not only those
            followed during it.

    Raises:
        IndicatorsError: an invalid period.
    """
    chosen = Period.of(period)
    data = _register_dataset(register, _period_needs(chosen, rows="all" if all_requests else None))
    _, names = _reference_maps(register.policy, None, None, data.communes)
    store = register.store

    def identity_of(request_id: str) -> PatientIdentity:
        return store.get_identity(request_id) or PatientIdentity()

    questions = _answer_questions(register.policy, personal)
    rows = _follow_up_rows(
        data,
        chosen,
        register.physicians(),
        names,
        identity_of if personal else None,
        all_requests,
        questions,
    )
    columns = FOLLOW_UP_COLUMNS + (PERSONAL_COLUMNS if personal else ())
    columns += answer_columns(questions, columns)
    return columns, [
        {column: _text(value) for column, value in zip(columns, row, strict=True)} for row in rows
    ]


def _write(
    register: Register,
    data: _Dataset,
    result: Indicators,
    target: Path,
    *,
    personal: bool,
    all_requests: bool,
) -> Path:
    from openpyxl import Workbook  # type: ignore[import-untyped, unused-ignore]

    chosen = result.period
    policy = register.policy
    store = register.store
    physicians = register.physicians()
    _, names = _reference_maps(policy, None, None, data.communes)

    def identity_of(request_id: str) -> PatientIdentity:
        return store.get_identity(request_id) or PatientIdentity()

    questions = _answer_questions(policy, personal)
    rows = _follow_up_rows(
        data, chosen, physicians, names, identity_of if personal else None, all_requests, questions
    )
    columns = FOLLOW_UP_COLUMNS + (PERSONAL_COLUMNS if personal else ())
    answers = answer_types(questions, columns)
    columns += tuple(answers)
    if answers:  # the answers as their question's type: numbers, dates
        kinds, fixed = tuple(answers.values()), len(columns) - len(answers)
        rows = [
            (*row[:fixed], *(typed(v, k) for v, k in zip(row[fixed:], kinds, strict=True)))
            for row in rows
        ]
    title = f"Suivi du dispositif d'accès au médecin traitant — {policy.name} — {chosen.label}"

    book = Workbook(write_only=True)
    book.properties.title = title
    book.properties.creator = "mt-access"
    types = {**FOLLOW_UP_TYPES, **answers}
    formats = [_DATE_FORMAT if types.get(c) is ColumnType.DATE else None for c in columns]
    list_styles = _list_sheet(book, SHEETS[0], title, columns, rows, "B2", formats)
    _indicator_sheet(book, result, title)
    gp = result.physicians
    gp_styles = _list_sheet(
        book,
        SHEETS[2],
        title,
        gp.columns,
        gp.rows,
        "C2",
        [_number_format(c) for c in gp.columns],
        bold_first=("total",),
    )
    saved = io.BytesIO()
    book.save(saved)  # the frame, in memory; the rows are streamed into the file
    sheets = {
        SHEETS[0]: rows_xml(rows, 2, list_styles.plain),
        SHEETS[2]: rows_xml(gp.rows, 2, gp_styles.plain, gp_styles.bold, gp_styles.bold_first),
    }
    tmp = target.with_name(f".{target.name}.tmp")
    try:
        with tmp.open("wb") as stream:
            splice_rows(saved.getvalue(), sheets, stream)
        os.replace(tmp, target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise WorkbookError(f"{target} : écriture impossible ({exc.strerror or exc})") from exc
    return target


@attrs.frozen
class MonthlyReport:
    """What :func:`write_monthly_report` wrote.

    Attributes:
        indicators: the period's indicators.
        workbook: the follow-up workbook (``suivi_<période>.xlsx``).
        plots: the PNG files: the waiting list over time, the waits by level.
        folder: the report folder.
    """

    indicators: Indicators
    workbook: Path
    plots: tuple[Path, ...]
    folder: Path


def _slug(period: Period) -> str:
    if period.is_month:
        return str(Month.of(period.start))
    return f"{period.start.isoformat()}_{period.end.isoformat()}"


def write_monthly_report(
    register: Register,
    period: Period | Month | str,
    folder: str | os.PathLike[str],
    *,
    months: int = 12,
    personal: bool = False,
) -> MonthlyReport:
    """The monthly report in ``folder`` (created if needed): the follow-up workbook
    ``suivi_<période>.xlsx`` (see :func:`write_follow_up_workbook`), the waiting list over
    the ``months`` months up to the end of the period (``liste_attente.png``) and the waits
    by level (``delais_par_niveau.png``). The register is read once for all three.

    Raises:
        WorkbookError, PlotError: a file cannot be written.
        IndicatorsError: an invalid period.
    """
    from mt_access.plots import plot_waiting_list, plot_waits_by_level

    chosen = Period.of(period)
    first = Month.of(chosen.end)
    for _ in range(max(months, 1) - 1):
        first = first.previous()
    needs = _union(_period_needs(chosen), _series_needs(first.first_day, chosen.end))
    data = _register_dataset(register, needs)
    result = _indicators(
        data, chosen, register.policy, register.physicians(), register.ledger, None, None
    )
    target = Path(folder)
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WorkbookError(f"{target} : dossier impossible à créer ({exc.strerror})") from exc
    workbook = _write(
        register,
        data,
        result,
        target / f"suivi_{_slug(chosen)}.xlsx",
        personal=personal,
        all_requests=False,
    )
    series = _series(data, first.first_day, chosen.end, 1)
    plots = (plot_waiting_list(series, target), plot_waits_by_level(result, target))
    return MonthlyReport(result, workbook, plots, target)
