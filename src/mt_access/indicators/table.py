"""A table of indicators with French column labels, and its pandas frame."""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import attrs

from mt_access.indicators.base import Cell, IndicatorsError

if TYPE_CHECKING:
    import pandas as pd  # type: ignore[import-untyped, import-not-found, unused-ignore]


__all__ = ["Table"]


def import_pandas() -> Any:
    try:
        return importlib.import_module("pandas")
    except ImportError as exc:  # pragma: no cover - pandas is a dependency
        raise IndicatorsError("pandas est nécessaire pour to_frame() : pip install pandas") from exc


@attrs.frozen
class Table:
    """One table of indicators, with French column labels.

    Attributes:
        name: its key (``entries_by_reason``...).
        title: French title, as printed in the workbook.
        columns: French column labels.
        rows: the rows, cells in column order (counts are ``int``, shares ``float`` in
            [0, 1], days ``float``; ``None`` when there is nothing to compute).
        note: French definition, printed under the title.
    """

    name: str
    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]
    note: str = ""

    def __attrs_post_init__(self) -> None:
        for row in self.rows:
            if len(row) != len(self.columns):
                raise IndicatorsError(f"tableau {self.name} : ligne de {len(row)} cellules")

    def __len__(self) -> int:
        return len(self.rows)

    def column(self, label: str) -> tuple[Cell, ...]:
        """The cells of one column, by its French label."""
        try:
            j = self.columns.index(label)
        except ValueError:
            raise IndicatorsError(f"tableau {self.name} : colonne inconnue {label!r}") from None
        return tuple(row[j] for row in self.rows)

    def row(self, key: str) -> dict[str, Cell]:
        """The row whose first cell is ``key``, as ``{column label: cell}``."""
        for row in self.rows:
            if row[0] == key:
                return dict(zip(self.columns, row, strict=True))
        raise IndicatorsError(f"tableau {self.name} : pas de ligne {key!r}")

    def records(self) -> list[dict[str, Cell]]:
        """Every row as ``{column label: cell}``."""
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]

    def to_frame(self) -> pd.DataFrame:
        """The table as a :class:`pandas.DataFrame` (French column labels). Counts are
        nullable integers (``Int64``), shares and days floats (``NaN`` when there is nothing
        to compute), text and mixed columns objects."""
        pd_ = import_pandas()
        data: dict[str, Any] = {}
        for j, label in enumerate(self.columns):
            values = [row[j] for row in self.rows]
            data[label] = pd_.array(values, dtype=_dtype(values))
        frame: pd.DataFrame = pd_.DataFrame(data, columns=list(self.columns))
        return frame


def _dtype(values: Sequence[Cell]) -> str:
    present = [v for v in values if v is not None]
    if present and all(isinstance(v, int) and not isinstance(v, bool) for v in present):
        return "Int64"
    if present and all(isinstance(v, int | float) and not isinstance(v, bool) for v in present):
        return "float64"
    if not present and values:
        return "float64"
    return "object"
