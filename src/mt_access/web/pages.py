"""The coordinator's pages: the dashboard, the list of requests and the search by name.

A request's page and its actions are in :mod:`mt_access.web.request_pages` (same blueprint).
Listings read the store's listing lines (:meth:`~mt_access.store.base.Store.summaries`: no
personal data, no full request), so that a page stays fast with 100,000 requests.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Iterable
from typing import Any

import attrs
from flask import Blueprint, render_template, request
from flask.typing import ResponseReturnValue

from mt_access.calendar import Month
from mt_access.cli.places import MonthPlaces, places_by_physician
from mt_access.geo.communes import CommuneReference, bundled_reference
from mt_access.lifecycle import RequestState
from mt_access.policy import Policy
from mt_access.store.base import RequestSummary
from mt_access.web import context, htmx
from mt_access.web.auth import DISPLAYED, audit, requires
from mt_access.web.dashboard_figures import FIGURES_SECONDS, month_figures
from mt_access.web.forms import FilterForm, NameSearchForm, choices, query_number
from mt_access.web.levels import current_levels, filter_levels

__all__ = ["PAGE_SIZE", "blueprint", "commune_name", "filter_summaries", "level_names"]

PAGE_SIZE = 50
"""Requests per page of the list."""

MAX_PAGE = 1_000_000_000
"""The largest page number read from the address (a larger one shows the last page, as any
page beyond it does)."""

MAX_NAME_RESULTS = 50
"""Requests shown, at most, for a search by name."""

blueprint = Blueprint("pages", __name__)


# ------------------------------------------------------------------------------------------
# Helpers shared by the pages


def _reference(policy: Policy) -> CommuneReference:
    return policy.reference or bundled_reference()


def commune_name(policy: Policy, code: str) -> str:
    """« Voiron (38563) », or the code alone when the reference does not know it."""
    reference = _reference(policy)
    if code in reference:
        return f"{reference.get(code).name} ({code})"
    return code


def level_names(policy: Policy) -> list[str]:
    """The policy's levels, highest first, then its non-priority level."""
    levels = sorted(policy.levels, key=lambda level: level.rank)
    return [level.name for level in levels] + [policy.non_priority_level]


def _waiting_days(summary: RequestSummary, on: dt.date) -> int:
    return max((on - summary.received).days, 0)


_SORT_KEYS: dict[str, Any] = {
    "id": lambda s, on: s.id,
    "reception": lambda s, on: (s.received, s.id),
    "attente": lambda s, on: (-_waiting_days(s, on), s.id),
    "commune": lambda s, on: (s.commune, s.id),
    "etat": lambda s, on: (list(RequestState).index(s.state), s.id),
    "evenement": lambda s, on: (s.last_event, s.id),
}


@attrs.frozen
class Filters:
    """The filters of the list, as read from the query string."""

    state: RequestState | None = None
    level: str | None = None
    commune: str | None = None
    urgent: bool | None = None
    min_days: int | None = None
    id_text: str | None = None
    sort: str = "id"


def filter_summaries(
    summaries: Iterable[RequestSummary], filters: Filters, on: dt.date
) -> list[RequestSummary]:
    """The listing lines that pass the filters (the level excepted), in the order asked."""
    kept = []
    wanted_id = (filters.id_text or "").strip().casefold()
    for summary in summaries:
        if filters.state is not None and summary.state is not filters.state:
            continue
        if filters.commune and summary.commune != filters.commune:
            continue
        if filters.urgent is not None and summary.urgent != filters.urgent:
            continue
        if filters.min_days is not None and _waiting_days(summary, on) < filters.min_days:
            continue
        if wanted_id and wanted_id not in summary.id.casefold():
            continue
        kept.append(summary)
    key = _SORT_KEYS.get(filters.sort, _SORT_KEYS["id"])
    kept.sort(key=lambda s: key(s, on))
    return kept


# ------------------------------------------------------------------------------------------
# Dashboard


DASHBOARD_SECONDS = FIGURES_SECONDS
"""See :data:`mt_access.web.dashboard_figures.FIGURES_SECONDS`."""


@blueprint.route("/")
@requires("lecture")
def dashboard() -> ResponseReturnValue:
    on = context.today()
    month = Month.of(on)
    shown = month_figures(month)  # computed by a worker process (mt_access.web.dashboard_figures)
    version = f"{context.store().data_version()}/{shown.key}/{on.isoformat()}"
    if htmx.unchanged(version):  # the periodic refresh of a dashboard already up to date
        return "", 204
    return render_template(
        htmx.page_or_fragment("dashboard.html", "partials/dashboard_live.html"),
        version=version,
        refresh=None if request.args.get("actualiser") == "non" else htmx.refresh_seconds(),
        on=on,
        month=month,
        computed=shown.computed,
        figures=shown.figures,
        figures_state=shown.state,
        days=lambda s: _waiting_days(s, on),
        **_alerts(on),
    )


def _alerts(on: dt.date) -> dict[str, Any]:
    """What the dashboard shows besides the month's indicators, from the current data: the
    listing lines are read by state and cut by the store, the places kept by data version."""
    register = context.register()
    store = register.store
    places: dict[str, MonthPlaces] = context.by_data(
        f"places:{on.isoformat()}", lambda: places_by_physician(register, on)
    )
    physicians = context.physicians()
    names = {p.id: p.name for p in physicians}
    pending: dict[str, list[RequestSummary]] = {}
    for summary in store.summaries([RequestState.PROPOSED]):
        for physician_id in summary.proposed_to:
            pending.setdefault(physician_id, []).append(summary)
    unanswered = sorted(
        (
            (pid, names.get(pid, pid), len(items), min(s.last_event for s in items))
            for pid, items in pending.items()
        ),
        key=lambda row: row[3],
    )
    acknowledge_count, to_acknowledge = store.summary_slice(
        [RequestState.RECEIVED], order="received", limit=10
    )
    confirm_count, to_confirm = store.summary_slice(
        [RequestState.ACKNOWLEDGED], order="last_event", limit=10
    )
    waiting_count, longest = store.summary_slice([RequestState.WAITING], order="received", limit=10)
    return {
        "gp_rows": [
            (p.id, p.name, places[p.id].capacity_text, places[p.id].used, places[p.id].left)
            for p in physicians
            if p.id in places
        ],
        "unanswered": unanswered,
        "to_acknowledge": to_acknowledge,
        "to_acknowledge_count": acknowledge_count,
        "to_confirm": to_confirm,
        "to_confirm_count": confirm_count,
        "waiting_count": waiting_count,
        "longest": longest,
    }


# ------------------------------------------------------------------------------------------
# List of requests


def _filter_form(policy: Policy) -> FilterForm:
    form = FilterForm(request.args)
    form.etat.choices = choices([("", "Tous")] + [(s.value, s.label) for s in RequestState])
    form.niveau.choices = choices([("", "Tous")] + [(n, n) for n in level_names(policy)])
    return form


def _filters(form: FilterForm) -> Filters:
    state = RequestState(form.etat.data) if form.etat.data else None
    urgent = {"oui": True, "non": False}.get(form.urgent.data or "")
    return Filters(
        state=state,
        level=form.niveau.data or None,
        commune=(form.commune.data or "").strip() or None,
        urgent=urgent,
        min_days=form.attente_min.data,
        id_text=(form.id.data or "").strip() or None,
        sort=form.tri.data or "id",
    )


def _pages(total: int) -> int:
    return max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1)


_STORE_ORDERS = {
    "id": "id",
    "reception": "received",
    "attente": "waiting",
    "commune": "commune",
    "evenement": "last_event",
}
"""The sorts of the list the store does itself (:meth:`Store.summary_slice` orders): the same
as :data:`_SORT_KEYS`."""


def _by_store(filters: Filters) -> bool:
    """The store filters, sorts and cuts the page itself: filters on state and commune at
    most, a sort it knows."""
    return (
        attrs.evolve(filters, state=None, commune=None, sort="id") == Filters()
        and filters.sort in _STORE_ORDERS
    )


def _store_page(filters: Filters, page: int, on: dt.date) -> tuple[int, list[RequestSummary], int]:
    """Total, lines and number of the page (the last one when ``page`` is beyond), read by
    the store's :meth:`~mt_access.store.base.Store.summary_slice` (one page read)."""
    store = context.store()
    states = None if filters.state is None else [filters.state]

    def read(number: int) -> tuple[int, list[RequestSummary]]:
        return store.summary_slice(
            states,
            commune=filters.commune,
            order=_STORE_ORDERS[filters.sort],
            on=on,
            offset=(number - 1) * PAGE_SIZE,
            limit=PAGE_SIZE,
        )

    total, shown = read(page)
    if not shown and page > _pages(total):
        page = _pages(total)
        total, shown = read(page)
    return total, shown, page


def _candidates(filters: Filters) -> list[RequestSummary]:
    """The listing lines that other filters and the sort start from: those of the commune
    (read by the store), else every line of the state (kept by :func:`context.by_data` until
    the register's data changes)."""
    states = None if filters.state is None else [filters.state]
    if filters.commune:
        return context.store().summary_slice(states, commune=filters.commune)[1]
    key = "summaries/" + ("*" if filters.state is None else filters.state.value)
    found: list[RequestSummary] = context.by_data(key, lambda: context.store().summaries(states))
    return found


@blueprint.route("/demandes")
@requires("lecture")
def requests_list() -> ResponseReturnValue:
    policy = context.settings().policy
    on = context.today()
    form = _filter_form(policy)
    valid = form.validate()
    filters = _filters(form) if valid else Filters()
    page = max(query_number("page", maximum=MAX_PAGE) or 1, 1)
    if _by_store(filters):
        total, shown, page = _store_page(filters, page, on)
    else:
        lines = filter_summaries(_candidates(filters), filters, on)
        if filters.level:  # many lines: levels kept by the process (mt_access.web.levels)
            kept = filter_levels([s.id for s in lines])
            lines = [s for s in lines if kept.get(s.id) == filters.level]
        total = len(lines)
        page = min(page, _pages(total))
        shown = lines[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    pages = _pages(total)
    levels = current_levels([s.id for s in shown]) if shown else {}
    args = htmx.query_values((k, v) for k, v in request.args.items() if k != "page")
    htmx.push_url()
    return render_template(
        htmx.page_or_fragment("requests.html", "partials/requests_live.html"),
        form=form,
        shown=shown,
        total=total,
        page=page,
        pages=pages,
        args=args,
        levels=levels,
        commune=lambda code: commune_name(policy, code),
        days=lambda s: _waiting_days(s, on),
        search_form=NameSearchForm(formdata=None),
    ), (200 if valid else 400)


# ------------------------------------------------------------------------------------------
# Search by name (audited: it shows identities)


def _plain(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


@blueprint.route("/demandes/recherche", methods=["GET", "POST"])
@requires("lecture")
def name_search() -> ResponseReturnValue:
    form = NameSearchForm()
    results: list[tuple[str, str, str, bool]] | None = None
    status = 200
    if request.method == "POST":
        if form.validate():
            words = _plain(str(form.nom.data)).split()
            found = []
            for person in context.store().known_persons():
                identity = person.identity
                names = _plain(
                    f"{identity.last_name} {identity.first_name} {identity.birth_name}"
                ).split()
                if all(any(n.startswith(w) for n in names) for w in words):
                    found.append(person)
            shown = found[:MAX_NAME_RESULTS]
            store = context.store()
            with store.transaction(durable=DISPLAYED):
                audit("recherche.nom", None, f"{len(found)} résultat(s)", durable=DISPLAYED)
                for person in shown:
                    rid = person.request_id
                    audit("identite.afficher", rid, "résultat de recherche", durable=DISPLAYED)
            results = []
            for person in shown:
                summary_state = store.get_file(person.request_id)
                label = summary_state.state.label if summary_state else ""
                name = f"{person.identity.last_name} {person.identity.first_name}".strip()
                results.append((person.request_id, name, label, person.active))
            total = len(found)
        else:
            status = 400
            total = 0
    else:
        total = 0
    return render_template(
        "search.html", form=form, results=results, total=total, limit=MAX_NAME_RESULTS
    ), status
