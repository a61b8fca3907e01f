"""pandas DataFrames of simulation results, with French column labels.

pandas is imported here only, when a frame is asked for: the simulation itself does not need
it (``pip install 'mt-access[simulation]'`` installs it).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from mt_access.simulation.base import format_value
from mt_access.simulation.generator import SimulationError
from mt_access.simulation.metrics import INDICATORS

try:
    import pandas as pd
except ImportError:  # pragma: no cover - depends on the installation
    raise SimulationError(
        "les tableaux demandent pandas : pip install 'mt-access[simulation]'"
    ) from None

if TYPE_CHECKING:
    from mt_access.simulation.compare import Comparison
    from mt_access.simulation.records import GPMonthLoad, MonthState, RequestOutcome

__all__ = [
    "comparison_frame",
    "comparison_table",
    "loads_frame",
    "months_frame",
    "outcomes_frame",
    "runs_frame",
    "summary_frame",
    "versus_frame",
]


def outcomes_frame(outcomes: Iterable[RequestOutcome]) -> pd.DataFrame:
    rows = [
        {
            "demande": o.request_id,
            "demande d'origine": o.parent_id or "",
            "reçue le": o.received,
            "commune": o.commune,
            "personnes": o.persons,
            "niveau": o.level,
            "rang": o.rank,
            "fragile": o.fragile,
            "cohorte": o.cohort,
            "état": o.state.label,
            "motif de sortie": o.exit_reason.label if o.exit_reason else "",
            "sortie le": o.end,
            "médecin": o.physician_id or "",
            "distance (km)": o.distance_km,
            "voie": o.route,
            "personnes placées": o.persons_placed,
            "délai (j)": o.wait_days,
        }
        for o in outcomes
    ]
    frame = pd.DataFrame(rows)
    return frame.set_index("demande") if not frame.empty else frame


def months_frame(months: Sequence[MonthState]) -> pd.DataFrame:
    rows = []
    for m in months:
        row: dict[str, Any] = {
            "mois": str(m.month),
            "arrivées": m.arrivals,
            "suites de foyers": m.continuations,
            "dossiers": m.files,
        }
        for state, n in m.by_state:
            row[state.label] = n
        for reason, n in m.exits:
            row[f"sorties : {reason.label}"] = n
        row["placées dans le mois"] = m.placed
        row["personnes placées dans le mois"] = m.persons_placed
        rows.append(row)
    return pd.DataFrame(rows).set_index("mois")


def loads_frame(loads: Iterable[GPMonthLoad]) -> pd.DataFrame:
    frame = pd.DataFrame(
        [
            {
                "médecin": load.physician_id,
                "mois": str(load.month),
                "disponible": load.available,
                "capacité": load.capacity,
                "placées": load.used,
            }
            for load in loads
        ]
    )
    if not frame.empty:
        frame["charge"] = frame["placées"] / frame["capacité"].where(frame["capacité"] > 0)
    return frame


def summary_frame(values: dict[tuple[str, str], float]) -> pd.DataFrame:
    groups: dict[str, dict[str, float]] = {}
    for (group, indicator), value in values.items():
        groups.setdefault(group, {})[indicator] = value
    frame = pd.DataFrame.from_dict(groups, orient="index")
    frame = frame[[c for c in INDICATORS if c in frame.columns]]
    frame.index.name = "groupe"
    return frame


def _interval_label(comparison: Comparison) -> str:
    return f"intervalle : {comparison.level:.0%} des réplications".replace("%", " %")


def comparison_frame(comparison: Comparison, rows: list[dict[str, Any]]) -> pd.DataFrame:
    frame = pd.DataFrame(
        rows, columns=["variante", "groupe", "indicateur", "moyenne", "bas", "haut", "réplications"]
    )
    frame.attrs["intervalle"] = _interval_label(comparison)
    return frame


def comparison_table(comparison: Comparison, rows: list[dict[str, Any]]) -> pd.DataFrame:
    cells: dict[tuple[str, str], dict[str, str]] = {}
    columns: list[str] = []
    for row in rows:
        indicator = row["indicateur"]
        if indicator not in columns:
            columns.append(indicator)
        mean, low, high = row["moyenne"], row["bas"], row["haut"]
        text = format_value(indicator, mean)
        if mean == mean:
            text += f" [{format_value(indicator, low)} – {format_value(indicator, high)}]"
        cells.setdefault((row["groupe"], row["variante"]), {})[indicator] = text
    records = [{"groupe": g, "variante": v, **values} for (g, v), values in cells.items()]
    frame = pd.DataFrame(records, columns=["groupe", "variante", *columns])
    frame = frame.set_index(["groupe", "variante"]).fillna("–")
    frame.attrs["intervalle"] = _interval_label(comparison)
    return frame


def runs_frame(comparison: Comparison) -> pd.DataFrame:
    keys: list[tuple[str, str]] = []
    for run in comparison.runs:
        for key in run.values:
            if key not in keys:
                keys.append(key)
    index = pd.MultiIndex.from_tuples(
        [(comparison.variants[run.variant], run.replication) for run in comparison.runs],
        names=["variante", "réplication"],
    )
    columns = pd.MultiIndex.from_tuples(keys, names=["groupe", "indicateur"])
    data = [[run.values.get(key, float("nan")) for key in keys] for run in comparison.runs]
    return pd.DataFrame(data, index=index, columns=columns)


def versus_frame(comparison: Comparison, rows: list[dict[str, Any]]) -> pd.DataFrame:
    frame = pd.DataFrame(
        rows,
        columns=[
            "variante", "référence", "groupe", "indicateur", "écart moyen", "bas", "haut",
            "réplications",
        ],
    )  # fmt: skip
    frame.attrs["intervalle"] = _interval_label(comparison)
    return frame
