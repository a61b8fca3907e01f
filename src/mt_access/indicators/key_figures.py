"""The indicators of a period: the key figures and every table (:class:`Indicators`),
from plain sequences (:func:`compute_indicators`) or a register (:func:`indicators`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

import attrs
import pluggy

from mt_access.calendar import Month
from mt_access.engine import policy_plugin_manager
from mt_access.indicators.base import (
    ALL_LEVELS,
    EXIT_REASONS,
    MT_FOUND,
    REASONS,
    REFERRERS,
    IndicatorsError,
    count_text,
    days_text,
    fr_date,
    pct_text,
    places_text,
    share_of,
    signed_text,
)
from mt_access.indicators.breakdowns import counts_of, share_table, wait_times_table, waiting_table
from mt_access.indicators.communes import commune_table
from mt_access.indicators.dataset import (
    Dataset,
    build_dataset,
    period_needs,
    register_dataset,
)
from mt_access.indicators.gps import physician_table
from mt_access.indicators.period import Period
from mt_access.indicators.table import Table
from mt_access.ledger import CapacityLedger
from mt_access.lifecycle import (
    RequestFile,
)
from mt_access.model import Physician, Request
from mt_access.policy import Policy

if TYPE_CHECKING:
    import pandas as pd  # type: ignore[import-untyped, import-not-found, unused-ignore]

    from mt_access.register import Register

__all__ = ["Indicators", "compute_indicators", "indicators"]


@attrs.frozen
class Indicators:
    """The indicators of a register for a period (see the module's docstring for the
    definitions). The headline figures are attributes; the details are :class:`Table`.

    Attributes:
        period: the period.
        policy_code, policy_name: the policy's code and name.
        entries, entries_persons: requests received in the period, and their persons.
        placed: requests that found a GP in the period (exit ``mt_found``).
        persons_placed: persons accepted by a GP in the period (a household's persons may be
            accepted by different GPs, on different days).
        exits: requests that exited in the period, whatever the reason (``placed``
            included).
        waiting_start, waiting_end: requests in progress at the end of the day before the
            period, and at the end of its last day.
        median_wait_days, p90_wait_days: days from reception to the GP's acceptance, for the
            requests placed in the period (``None`` when none was).
        placed_within_30, placed_within_90: shares in [0, 1] (``None`` when the cohort is
            empty); ``cohort_30`` and ``cohort_90`` are the cohorts' sizes.
        capacity, places_held: the GPs' declared capacity over the period's months (a yearly
            capacity counts a twelfth a month, so it may be a decimal), and the
            places held in the ledger in those months.
        key_figures ... communes: the tables (:attr:`tables` lists them in order).
        waits: the waits (days) of the requests placed in the period, per level, for plots.
    """

    period: Period
    policy_code: str
    policy_name: str
    entries: int
    entries_persons: int
    placed: int
    exits: int
    waiting_start: int
    waiting_end: int
    median_wait_days: float | None
    p90_wait_days: float | None
    placed_within_30: float | None
    placed_within_90: float | None
    cohort_30: int
    cohort_90: int
    capacity: int | float
    places_held: int
    persons_placed: int
    key_figures: Table = attrs.field(repr=False)
    entries_by_reason: Table = attrs.field(repr=False)
    entries_by_level: Table = attrs.field(repr=False)
    entries_by_referrer: Table = attrs.field(repr=False)
    exits_by_reason: Table = attrs.field(repr=False)
    waiting_by_level: Table = attrs.field(repr=False)
    waits_by_level: Table = attrs.field(repr=False)
    physicians: Table = attrs.field(repr=False)
    communes: Table = attrs.field(repr=False)
    waits: tuple[tuple[str, tuple[int, ...]], ...] = attrs.field(default=(), repr=False)

    @property
    def net_change(self) -> int:
        """``waiting_end - waiting_start``; always ``entries - exits``."""
        return self.waiting_end - self.waiting_start

    @property
    def utilisation(self) -> float | None:
        """``places_held / capacity`` (``None`` without capacity)."""
        return share_of(self.places_held, self.capacity)

    @property
    def tables(self) -> tuple[Table, ...]:
        """Every table, in the order of the workbook."""
        return (
            self.key_figures,
            self.entries_by_reason,
            self.entries_by_level,
            self.entries_by_referrer,
            self.exits_by_reason,
            self.waiting_by_level,
            self.waits_by_level,
            self.physicians,
            self.communes,
        )

    def table(self, name: str) -> Table:
        """The table named ``name`` (``entries_by_reason``...)."""
        for table in self.tables:
            if table.name == name:
                return table
        known = ", ".join(t.name for t in self.tables)
        raise IndicatorsError(f"tableau inconnu : {name!r} (tableaux : {known})")

    def to_frame(self) -> pd.DataFrame:
        """The key figures as a :class:`pandas.DataFrame` (``indicateur``, ``valeur``,
        ``définition``); :meth:`frames` gives every table."""
        return self.key_figures.to_frame()

    def frames(self) -> dict[str, pd.DataFrame]:
        """Every table as a :class:`pandas.DataFrame`, by table name."""
        return {table.name: table.to_frame() for table in self.tables}

    def summary(self) -> str:
        """A short French summary, one sentence a line."""
        lines = [
            f"Accès au médecin traitant — {self.policy_name} — {self.period.label}",
            f"{count_text(self.entries)} nouvelle(s) demande(s) "
            f"({count_text(self.entries_persons)} personne(s)) ; "
            f"{count_text(self.placed)} demande(s) ont trouvé un médecin traitant "
            f"({count_text(self.persons_placed)} personne(s) acceptée(s) par un médecin) ; "
            f"{count_text(self.exits)} sortie(s) du dispositif, tous motifs confondus.",
            "Demandes en cours (liste d'attente) : "
            f"{count_text(self.waiting_start)} au début de la période, "
            f"{count_text(self.waiting_end)} à la fin, soit une variation nette de "
            f"{signed_text(self.net_change)}.",
        ]
        if self.median_wait_days is None or self.p90_wait_days is None:
            lines.append(
                "Aucune demande n'a trouvé de médecin traitant sur la période : pas de délai "
                "à calculer."
            )
        else:
            lines.append(
                "Délai entre la demande et le médecin traitant : "
                f"{days_text(self.median_wait_days)} en médiane ; "
                "9 demandes placées sur 10 l'ont été en "
                f"{days_text(self.p90_wait_days)} ou moins."
            )
        shares = []
        for days, share, cohort in (
            (30, self.placed_within_30, self.cohort_30),
            (90, self.placed_within_90, self.cohort_90),
        ):
            if share is not None:
                shares.append(
                    f"{pct_text(share)} en {days} jours ou moins (sur {count_text(cohort)})"
                )
        if shares:
            lines.append(
                "Part des demandes ayant trouvé un médecin traitant : " + " ; ".join(shares) + "."
            )
        if self.capacity:
            lines.append(
                f"Médecins : {places_text(self.capacity)} place(s) déclarée(s) sur la période, "
                f"{count_text(self.places_held)} retenue(s) ({pct_text(self.utilisation or 0.0)})."
            )
        by_level = [
            f"{count_text(int(row[1]))} au niveau « {row[0]} »"  # type: ignore[arg-type]
            for row in self.waiting_by_level.rows
            if row[0] != ALL_LEVELS and row[1]
        ]
        if by_level:
            lines.append("À la fin de la période : " + ", ".join(by_level) + ".")
        return "\n".join(lines)


def _shifted(period: Period, days: int) -> str:
    shift = dt.timedelta(days=days)
    return f"{fr_date(period.start - shift)} au {fr_date(period.end - shift)}"


def compute_indicators(
    requests: Iterable[Request],
    files: Mapping[str, RequestFile],
    period: Period | Month | str,
    *,
    policy: Policy,
    physicians: Sequence[Physician] = (),
    ledger: CapacityLedger | None = None,
    populations: Mapping[str, int | None] | None = None,
    commune_names: Mapping[str, str] | None = None,
    levels: Mapping[str, str] | None = None,
    plugin_manager: pluggy.PluginManager | None = None,
) -> Indicators:
    """The indicators of ``period`` from plain data.

    Args:
        requests: every request of the register (those received after the period are
            ignored).
        files: the lifecycle file of each request, by id (extra files are ignored).
        period: a :class:`Period`, a :class:`~mt_access.calendar.Month` or ``"YYYY-MM"``.
        policy: gives the levels, the territory, default capacities and the hooks.
        physicians: the GPs (for names, availability and default capacities).
        ledger: the capacity ledger (declared capacities, places held); empty by default.
        populations: INSEE code → population; the policy's commune reference (else the
            bundled one) by default.
        commune_names: INSEE code → name; from the same reference by default.
        levels: request id → level name on reception, when already known
            (:func:`reception_levels`).
        plugin_manager: for the hooks; the policy's by default.

    Raises:
        IndicatorsError: a request without its file, an invalid period.
    """
    pm = policy_plugin_manager(policy, plugin_manager)
    data = build_dataset(requests, files, policy, levels, pm)
    return _indicators(
        data,
        Period.of(period),
        policy,
        physicians,
        ledger or CapacityLedger(),
        populations,
        commune_names,
    )


def indicators(register: Register, period: Period | Month | str) -> Indicators:
    """The indicators of ``period`` for a register: every listing line in one read, then only
    the requests the period needs (received from 90 days before it, or in progress during
    it) and the files of those with an event in it; the GPs and the ledger once."""
    chosen = Period.of(period)
    data = register_dataset(register, period_needs(chosen))
    return _indicators(
        data,
        chosen,
        register.policy,
        register.physicians(),
        register.ledger,
        None,
        None,
    )


def _indicators(
    data: Dataset,
    period: Period,
    policy: Policy,
    physicians: Sequence[Physician],
    ledger: CapacityLedger,
    populations: Mapping[str, int | None] | None,
    commune_names: Mapping[str, str] | None,
) -> Indicators:
    s, e = period.start.toordinal(), period.end.toordinal()
    rec, ext = data.received, data.exit
    entered = (rec >= s) & (rec <= e)
    exited = (ext >= s) & (ext <= e)
    active_start = (rec < s) & (ext >= s)
    active_end = (rec <= e) & (ext > e)
    mt_found = data.exit_reason == MT_FOUND
    placed = exited & mt_found
    n_levels = len(data.level_names)

    entries = int(entered.sum())
    entries_persons = int(data.persons[entered].sum())
    n_placed = int(placed.sum())
    n_exits = int(exited.sum())

    # -- entries
    by_reason = share_table(
        "entries_by_reason",
        "Nouvelles demandes par motif de la recherche",
        "motif de la recherche",
        [r.label for r in REASONS],
        counts_of(data.reason, entered, len(REASONS)),
        "Demandes reçues dans la période, selon le motif déclaré dans le formulaire.",
    )
    by_level = share_table(
        "entries_by_level",
        "Nouvelles demandes par niveau de priorité",
        "niveau",
        data.level_names,
        counts_of(data.level, entered, n_levels),
        "Niveau de priorité de la demande le jour de sa réception.",
        persons=counts_of(data.level, entered, n_levels, data.persons),
    )
    by_referrer = share_table(
        "entries_by_referrer",
        "Nouvelles demandes selon qui les a adressées",
        "adressée par",
        [r.label for r in REFERRERS],
        counts_of(data.referrer, entered, len(REFERRERS)),
        "Demandes reçues dans la période, selon la personne ou la structure qui les a adressées.",
    )

    # -- exits
    exit_counts = counts_of(data.exit_reason, exited, len(EXIT_REASONS))
    exits = share_table(
        "exits_by_reason",
        "Sorties du dispositif par motif",
        "motif de sortie",
        [r.label for r in EXIT_REASONS],
        exit_counts,
        "Demandes sorties dans la période (date de la dernière transition) ; « médecin "
        "traitant trouvé » compte les demandes placées.",
    )

    # -- waiting list at the end
    waiting_by_level = waiting_table(data, active_end, period)

    # -- waits
    waits_table, waits, headline = wait_times_table(data, period, placed)

    # -- GPs
    gp_table, capacity, held, persons_found = physician_table(
        data, period, policy, physicians, ledger
    )

    # -- communes
    communes = commune_table(data, policy, entered, active_end, populations, commune_names, period)

    median, p90, within_30, within_90, cohort_30, cohort_90 = headline
    waiting_start = int(active_start.sum())
    waiting_end = int(active_end.sum())
    key = Table(
        "key_figures",
        f"Chiffres clés — {period.label}",
        ("indicateur", "valeur", "définition"),
        (
            ("nouvelles demandes", entries, "demandes reçues dans la période"),
            ("personnes (nouvelles demandes)", entries_persons, "membres des foyers concernés"),
            (
                "médecin traitant trouvé",
                n_placed,
                "demandes sorties avec le motif « médecin traitant trouvé » dans la période",
            ),
            (
                "personnes ayant trouvé un médecin traitant",
                persons_found,
                "personnes acceptées par un médecin dans la période (une demande de foyer peut "
                "en compter plusieurs, chez des médecins différents)",
            ),
            ("sorties (tous motifs)", n_exits, "demandes sorties du dispositif dans la période"),
            (
                "demandes en cours au début",
                waiting_start,
                f"reçues avant le {fr_date(period.start)} et pas encore sorties ce jour-là",
            ),
            (
                "demandes en cours à la fin",
                waiting_end,
                f"reçues au plus tard le {fr_date(period.end)} et pas sorties à cette date",
            ),
            (
                "variation nette",
                waiting_end - waiting_start,
                "demandes en cours à la fin − au début (= nouvelles demandes − sorties)",
            ),
            ("délai médian (jours)", median, "de la réception à l'acceptation par le médecin"),
            ("délai P90 (jours)", p90, "9 demandes placées sur 10 l'ont été en ce délai ou moins"),
            (
                "placées en 30 jours (part)",
                within_30,
                f"part des {cohort_30} demandes reçues du {_shifted(period, 30)} placées en 30 "
                "jours ou moins",
            ),
            (
                "placées en 90 jours (part)",
                within_90,
                f"part des {cohort_90} demandes reçues du {_shifted(period, 90)} placées en 90 "
                "jours ou moins",
            ),
            ("capacité déclarée", capacity, "places déclarées par les médecins disponibles"),
            ("places retenues", held, "places retenues dans le registre des capacités"),
            ("taux d'utilisation", share_of(held, capacity), "places retenues / capacité"),
        ),
        "Définitions détaillées : docs/indicators.md.",
    )
    return Indicators(
        period=period,
        policy_code=policy.code,
        policy_name=policy.name,
        entries=entries,
        entries_persons=entries_persons,
        placed=n_placed,
        exits=n_exits,
        waiting_start=waiting_start,
        waiting_end=waiting_end,
        median_wait_days=median,
        p90_wait_days=p90,
        placed_within_30=within_30,
        placed_within_90=within_90,
        cohort_30=cohort_30,
        cohort_90=cohort_90,
        capacity=capacity,
        places_held=held,
        persons_placed=persons_found,
        key_figures=key,
        entries_by_reason=by_reason,
        entries_by_level=by_level,
        entries_by_referrer=by_referrer,
        exits_by_reason=exits,
        waiting_by_level=waiting_by_level,
        waits_by_level=waits_table,
        physicians=gp_table,
        communes=communes,
        waits=waits,
    )
