"""The generic machinery of :mod:`mt_access.frames`: attrs values and rows of cells as pandas
frames, importing no domain module (so :mod:`mt_access.result` can build its own frame without
a circle). pandas is imported on first use.
"""

from __future__ import annotations

import datetime as dt
import enum
import importlib
import typing
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from mt_access.calendar import Month
from mt_access.errors import FramesError
from mt_access.labels import LabelledEnum

if TYPE_CHECKING:
    import pandas as pd  # type: ignore[import-untyped, import-not-found, unused-ignore]

__all__ = ["FramesError", "cell", "records_frame", "table_frame"]


def _pandas() -> Any:
    try:
        return importlib.import_module("pandas")
    except ImportError as exc:  # pragma: no cover - pandas is a dependency
        raise FramesError("pandas est nécessaire pour les tableaux : pip install pandas") from exc


def cell(value: object, name: str) -> object:
    """One value as a frame cell: an enum's value, a month as ``"YYYY-MM"``, a set or tuple
    as joined text (criteria with ``" ; "``), an attrs value as its first field."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Month):
        return str(value)
    if isinstance(value, frozenset | set):
        return ", ".join(sorted(str(v) for v in value))
    if isinstance(value, tuple):
        parts = [_first_field(v) for v in value]
        return (" ; " if name == "criteria" else ", ").join(parts)
    if attrs.has(type(value)):
        return _first_field(value)
    return value


def _first_field(value: object) -> str:
    kind = type(value)
    if attrs.has(kind):
        first = attrs.fields(kind)[0].name
        return str(getattr(value, first))
    if isinstance(value, tuple):
        return ":".join(str(v) for v in value)
    return str(value)


def table_frame(rows: Sequence[Mapping[str, object]], columns: Sequence[str]) -> pd.DataFrame:
    """Rows of cells as a frame in ``columns`` order; a column of dates becomes
    ``datetime64``, a column of integers with gaps ``Int64``."""
    pd_ = _pandas()
    frame: pd.DataFrame = pd_.DataFrame(list(rows), columns=list(columns))
    for column in columns:
        values = [row.get(column) for row in rows]
        present = [v for v in values if v is not None]
        if present and all(
            isinstance(v, dt.date) and not isinstance(v, dt.datetime) for v in present
        ):
            frame[column] = pd_.to_datetime(frame[column])
        elif (
            present
            and len(present) < len(values)
            and all(isinstance(v, int) and not isinstance(v, bool) for v in present)
        ):
            frame[column] = frame[column].astype("Int64")
    return frame


def _labelled(cls: type) -> frozenset[str]:
    """The fields of ``cls`` whose type is a labelled enum (they get a ``*_label`` column)."""
    try:
        hints = typing.get_type_hints(cls)
    except Exception:  # pragma: no cover - annotations that cannot be resolved
        return frozenset()
    out: set[str] = set()
    for name, hint in hints.items():
        options = typing.get_args(hint) or (hint,)
        if any(isinstance(o, type) and issubclass(o, LabelledEnum) for o in options):
            out.add(name)
    return frozenset(out)


def _record(value: object, names: Sequence[str], labelled: frozenset[str]) -> dict[str, object]:
    row: dict[str, object] = {}
    for name in names:
        raw = getattr(value, name)
        row[name] = cell(raw, name)
        if name in labelled:
            row[f"{name}_label"] = raw.label if isinstance(raw, LabelledEnum) else None
    return row


def _columns(names: Sequence[str], labelled: frozenset[str]) -> list[str]:
    out: list[str] = []
    for name in names:
        out.append(name)
        if name in labelled:
            out.append(f"{name}_label")
    return out


def records_frame(
    values: Iterable[object],
    cls: type | None = None,
    extra: Mapping[str, Sequence[object]] | None = None,
) -> pd.DataFrame:
    """One row per attrs value (all of one class), one column per attribute.

    Args:
        values: attrs instances of one class.
        cls: their class; needed to name the columns of an empty frame.
        extra: further columns after the attributes, one cell per value (converted as the
            attributes are).

    Raises:
        FramesError: values that are not attrs instances, or of several classes.
    """
    items = list(values)
    kinds = {type(v) for v in items}
    if cls is not None:
        kinds.add(cls)
    if len(kinds) > 1:
        listed = ", ".join(sorted(k.__name__ for k in kinds))
        raise FramesError(f"valeurs de plusieurs classes : {listed}")
    if not kinds:
        return table_frame([], [])
    kind = kinds.pop()
    if not attrs.has(kind):
        raise FramesError(f"{kind.__name__} n'est pas une classe attrs")
    names = [f.name for f in attrs.fields(kind)]
    labelled = _labelled(kind)
    rows = [_record(v, names, labelled) for v in items]
    columns = _columns(names, labelled)
    for name, cells in (extra or {}).items():
        if len(cells) != len(rows):
            raise FramesError(f"colonne {name!r} : {len(cells)} cellules pour {len(rows)} lignes")
        for row, value in zip(rows, cells, strict=True):
            row[name] = cell(value, name)
        columns.append(name)
    return table_frame(rows, columns)
