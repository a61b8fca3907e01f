"""Drawing an :class:`~mt_access.maps.AvailabilityMap` as a self-contained HTML page.

folium builds the Leaflet page; everything it would load from a CDN is dropped (jQuery,
Bootstrap, Font Awesome...) and Leaflet itself, shipped in ``mt_access/static/leaflet``, is
inlined. Only elements that need Leaflet alone are used: ``GeoJson`` with its
``GeoJsonTooltip``, ``FitBounds`` and the small elements below (circle markers, tooltips
and popups bound with plain Leaflet calls, the legend as a Leaflet control), which put their
script in the page as text, never compiled as a template (see :class:`_Raw`). folium's random
element ids are replaced by numbers in order of appearance, so that the same map gives the
same page byte for byte.

This module imports folium: :mod:`mt_access.maps` imports it only when a map is drawn.
"""

from __future__ import annotations

import functools
import html
import importlib.resources
import json
import math
import re
from collections.abc import Sequence
from typing import Any

import folium
import shapely
from branca.element import Element, Figure, MacroElement
from jinja2 import Template

from mt_access.geo.shapes import SHAPES_SOURCE
from mt_access.maps import (
    SMALL_COUNT,
    AvailabilityMap,
    CommuneDemand,
    MapError,
    PhysicianAvailability,
    _fr_int,
    _fr_number,
)
from mt_access.model import PhysicianStatus

__all__ = ["render_html"]

# ColorBrewer BuPu (sequential), by number of classes.
_PALETTES: dict[int, tuple[str, ...]] = {
    1: ("#8c96c6",),
    2: ("#b3cde3", "#8856a7"),
    3: ("#e0ecf4", "#9ebcda", "#8856a7"),
    4: ("#edf8fb", "#b3cde3", "#8c96c6", "#88419d"),
    5: ("#edf8fb", "#b3cde3", "#8c96c6", "#8856a7", "#810f7c"),
    6: ("#edf8fb", "#bfd3e6", "#9ebcda", "#8c96c6", "#8856a7", "#810f7c"),
}
_NO_DEMAND = "#ffffff"
_NO_POPULATION = "#d9d9d9"
_OUTLINE = "#636363"
_TERRITORY = "#252525"

_GREEN = "#1a9641"
_ORANGE = "#f07c00"
_GREY = "#8c8c8c"

_SPREAD_DEGREES = 0.002
"""How far apart GPs at the same point are drawn (latitude degrees, about 220 m)."""

_HEX_ID = re.compile(r"(?<![0-9a-f])[0-9a-f]{32}(?![0-9a-f])")
_SOURCE_MAP = re.compile(r"\n?//# sourceMappingURL=\S+\s*$")

_LEGEND_CSS = """
.mt-legende { background: rgba(255, 255, 255, 0.94); padding: 10px 12px; max-width: 270px;
  font: 13px/1.35 "Helvetica Neue", Arial, sans-serif; color: #222; border-radius: 6px;
  box-shadow: 0 1px 5px rgba(0, 0, 0, 0.4); }
.mt-legende h2 { font-size: 15px; margin: 0 0 2px 0; }
.mt-legende h3 { font-size: 13px; margin: 10px 0 4px 0; }
.mt-legende p { margin: 2px 0; }
.mt-legende ul { list-style: none; margin: 0; padding: 0; }
.mt-legende li { margin: 2px 0; display: flex; align-items: center; }
.mt-legende .mt-carre { display: inline-block; width: 18px; height: 12px; margin-right: 6px;
  border: 1px solid #636363; flex: none; }
.mt-legende .mt-rond { display: inline-block; width: 12px; height: 12px; margin: 0 9px 0 3px;
  border-radius: 50%; border: 1px solid #333; flex: none; }
.mt-legende .mt-note { font-size: 11px; color: #555; margin-top: 8px; }
.mt-legende .mt-date { color: #444; }
.leaflet-tooltip, .leaflet-popup-content { font: 13px/1.35 "Helvetica Neue", Arial, sans-serif; }
"""


class _Raw(Element):
    """Text put in the page as it is.

    branca's ``MacroElement.render`` wraps what each macro writes in a new ``Element``, whose
    text is compiled as a Jinja2 template: a GP's name holding ``{{ ... }}`` would be
    evaluated (outside any sandbox) when the map is drawn, and every marker would cost a
    template compilation. The elements below use this instead."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def render(self, **kwargs: Any) -> str:
        return self.text


class _Direct(MacroElement):
    """A ``MacroElement`` whose macros' output goes to the page as text (see :class:`_Raw`)."""

    def render(self, **kwargs: Any) -> str:
        figure = self.get_root()
        if not isinstance(figure, Figure):
            raise MapError("élément de carte hors d'une page")
        module = self._template.module.__dict__
        for part, target in (
            ("header", figure.header),
            ("html", figure.html),
            ("script", figure.script),
        ):
            macro = module.get(part)
            if macro is not None:
                target.add_child(_Raw(str(macro(self, kwargs))), name=self.get_name())
        for element in self._children.values():
            element.render(**kwargs)
        return ""


def _no_braces(text: str) -> str:
    """HTML text with ``{`` and ``}`` as character references, for text that folium's own
    elements (``GeoJson``) put in a page they compile as a template (see :class:`_Raw`)."""
    return text.replace("{", "&#123;").replace("}", "&#125;")


class _Marker(_Direct):
    """A Leaflet circle marker (as folium's ``CircleMarker``, drawn without a template
    compilation per marker)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.circleMarker(
            {{ this.location|tojson }}, {{ this.options|tojson }}
        ).addTo({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, location: Sequence[float], **options: Any) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._name = "CircleMarker"
        self.location = [float(v) for v in location]
        self.options = options


class _Bind(_Direct):
    """A tooltip and optionally a popup bound to the parent layer, with plain Leaflet calls
    (folium's Popup needs jQuery). The texts are HTML, escaped by the caller."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        {{ this._parent.get_name() }}.bindTooltip({{ this.tooltip|tojson }}, {"sticky": true});
        {%- if this.popup %}
        {{ this._parent.get_name() }}.bindPopup({{ this.popup|tojson }}, {"maxWidth": 320});
        {%- endif %}
        {% endmacro %}
        """
    )

    def __init__(self, tooltip: str, popup: str | None = None) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._name = "Bind"
        self.tooltip = tooltip
        self.popup = popup


class _Legend(_Direct):
    """The legend (a Leaflet control, top right) and the attribution of the data."""

    _template = Template(
        """
        {% macro header(this, kwargs) %}
        <style>{{ this.css }}</style>
        {% endmacro %}
        {% macro script(this, kwargs) %}
        (function () {
            var map = {{ this.map_name }};
            L.control.scale({imperial: false}).addTo(map);
            map.attributionControl.setPrefix("Leaflet");
            {%- for text in this.attributions %}
            map.attributionControl.addAttribution({{ text|tojson }});
            {%- endfor %}
            var legend = L.control({position: "topright"});
            legend.onAdd = function () {
                var div = L.DomUtil.create("div", "mt-legende");
                div.innerHTML = {{ this.content|tojson }};
                L.DomEvent.disableClickPropagation(div);
                L.DomEvent.disableScrollPropagation(div);
                return div;
            };
            legend.addTo(map);
        })();
        {% endmacro %}
        """
    )

    def __init__(self, map_name: str, content: str, attributions: Sequence[str]) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._name = "Legend"
        self.map_name = map_name
        self.content = content
        self.attributions = list(attributions)
        self.css = _LEGEND_CSS


@functools.cache
def _leaflet() -> tuple[str, str]:
    folder = importlib.resources.files("mt_access") / "static" / "leaflet"
    js = (folder / "leaflet.js").read_text(encoding="utf-8")
    css = (folder / "leaflet.css").read_text(encoding="utf-8")
    return _SOURCE_MAP.sub("\n", js), css


def render_html(amap: AvailabilityMap, *, tiles: str | None) -> str:
    """The map as one self-contained HTML page; see :meth:`AvailabilityMap.html`.

    Args:
        amap: the map's data.
        tiles: the background tile provider, or ``None``.

    Returns:
        The HTML text.

    Raises:
        MapError: folium does not know the tile provider ``tiles``.
    """
    title = f"Carte des disponibilités — {amap.policy_name} — {amap.month_label}"
    figure = Figure(title=html.escape(title))
    south, west, north, east = _bounds(amap)
    fmap = folium.Map(
        location=[(south + north) / 2, (west + east) / 2],
        zoom_start=10,
        tiles=None,
        zoom_snap=0.25,
        zoom_delta=0.5,
    )
    fmap.default_js = []
    fmap.default_css = []
    figure.add_child(fmap)
    attributions: list[str] = []
    if tiles is not None:
        try:
            folium.TileLayer(tiles).add_to(fmap)
        except (ValueError, KeyError) as exc:
            raise MapError(
                f"fond de carte inconnu : {tiles!r} (« OpenStreetMap », un autre nom de "
                "fournisseur connu de folium, ou None pour aucun fond)"
            ) from exc
    if amap.outlines:
        if amap.outline_source == SHAPES_SOURCE:
            attributions.append(
                "Contours des communes : IGN ADMIN EXPRESS ; populations : INSEE (Licence Ouverte)"
            )
        else:
            attributions.append(f"Contours des communes : {html.escape(amap.outline_source)}")

    _add_communes(fmap, amap)
    _add_territory(fmap, amap)
    _add_physicians(fmap, amap)
    fmap.add_child(_Legend(fmap.get_name(), _legend(amap), attributions))
    folium.FitBounds(
        [[south, west], [north, east]], padding_top_left=(10, 10), padding_bottom_right=(300, 10)
    ).add_to(fmap)

    page = figure.render()
    page = _deterministic_ids(page)
    js, css = _leaflet()
    inline = f"<style>\n{css}\n</style>\n<script>\n{js}\n</script>\n"
    page = page.replace("</head>", inline + "</head>", 1)
    return page.replace("<html>", '<html lang="fr">', 1)


def _deterministic_ids(page: str) -> str:
    """folium's random 32-hex ids, replaced by ``0001``, ``0002``... in order of first
    appearance."""
    seen: dict[str, str] = {}

    def number(match: re.Match[str]) -> str:
        return seen.setdefault(match.group(0), f"{len(seen) + 1:04d}")

    return _HEX_ID.sub(number, page)


# ------------------------------------------------------------------------------------------
# Bounds


def _bounds(amap: AvailabilityMap) -> tuple[float, float, float, float]:
    """South, west, north, east of the territory (else of the points drawn)."""
    if amap.territory_outline is not None:
        west, south, east, north = (float(v) for v in shapely.bounds(amap.territory_outline))
        return south, west, north, east
    lats = [c.lat for c in amap.communes if c.lat is not None]
    lons = [c.lon for c in amap.communes if c.lon is not None]
    lats += [p.lat for p in amap.physicians if p.lat is not None]
    lons += [p.lon for p in amap.physicians if p.lon is not None]
    if not lats:
        return 41.3, -5.2, 51.1, 9.6  # metropolitan France
    pad = 0.02
    return min(lats) - pad, min(lons) - pad, max(lats) + pad, max(lons) + pad


# ------------------------------------------------------------------------------------------
# Communes


def _colour(amap: AvailabilityMap, commune: CommuneDemand) -> str:
    if commune.per_thousand is None:
        return _NO_DEMAND if commune.waiting_persons == 0 else _NO_POPULATION
    index = amap.class_of(commune.per_thousand)
    if index is None:
        return _NO_DEMAND
    return _PALETTES[len(amap.breaks) - 1][index]


def _persons_text(persons: int) -> str:
    if persons == 0:
        return "aucune"
    if persons < SMALL_COUNT:
        return f"moins de {SMALL_COUNT}"
    return _fr_int(persons)


def _rate_text(amap: AvailabilityMap, commune: CommuneDemand) -> str:
    rate = commune.per_thousand
    if rate is None:
        return "non calculable (population inconnue)"
    if commune.waiting_persons == 0:
        return "0 ‰"
    if commune.waiting_persons < SMALL_COUNT:
        index = amap.class_of(rate)
        labels = amap.class_labels
        if index is None or not labels:
            return "non affichée (petit effectif)"
        return f"classe {labels[index]}"
    return f"{_fr_number(rate, 2 if rate < 1 else 1)} ‰"


def _commune_tooltip(amap: AvailabilityMap, commune: CommuneDemand) -> str:
    name = html.escape(commune.name or "commune inconnue du référentiel")
    population = _fr_int(commune.population) if commune.population is not None else "inconnue"
    lines = [
        f"<strong>{name}</strong> ({html.escape(commune.insee)})",
        f"Personnes en attente : {_persons_text(commune.waiting_persons)}",
        f"Population : {population}",
        f"Demande pour 1 000 habitants : {html.escape(_rate_text(amap, commune))}",
    ]
    if not commune.in_territory:
        lines.append("<em>Hors du territoire de la CPTS</em>")
    if not commune.has_outline:
        lines.append("<em>Contour non disponible : commune représentée par un cercle</em>")
    return _no_braces("<br>".join(lines))


def _add_communes(fmap: folium.Map, amap: AvailabilityMap) -> None:
    features: list[dict[str, Any]] = []
    for commune in amap.communes:
        geometry = amap.outlines.get(commune.insee)
        if geometry is None:
            continue
        features.append(
            {
                "type": "Feature",
                "id": commune.insee,
                "properties": {
                    "infobulle": _commune_tooltip(amap, commune),
                    "couleur": _colour(amap, commune),
                    "opacite": 0.5 if _colour(amap, commune) == _NO_DEMAND else 0.75,
                    "pointille": "" if commune.in_territory else "4 4",
                },
                "geometry": shapely.geometry.mapping(geometry),
            }
        )
    if features:
        # folium calls the style functions once per feature, while building the page.
        folium.GeoJson(
            json.loads(json.dumps({"type": "FeatureCollection", "features": features})),
            name="Demande par commune",
            style_function=lambda f: {
                "fillColor": f["properties"]["couleur"],
                "fillOpacity": f["properties"]["opacite"],
                "color": _OUTLINE,
                "weight": 1,
                "dashArray": f["properties"]["pointille"] or None,
            },
            highlight_function=lambda f: {"weight": 3, "color": _TERRITORY},
            tooltip=folium.GeoJsonTooltip(fields=["infobulle"], labels=False, sticky=True),
        ).add_to(fmap)
    for commune in amap.communes:
        if commune.has_outline or commune.lat is None or commune.lon is None:
            continue
        marker = _Marker(
            [commune.lat, commune.lon],
            radius=12,
            color=_OUTLINE,
            weight=1,
            dashArray="3 3",
            fill=True,
            fillColor=_colour(amap, commune),
            fillOpacity=0.75,
        )
        _Bind(_commune_tooltip(amap, commune)).add_to(marker)
        marker.add_to(fmap)


def _add_territory(fmap: folium.Map, amap: AvailabilityMap) -> None:
    if amap.territory_outline is None:
        return
    folium.GeoJson(
        {
            "type": "Feature",
            "properties": {},
            "geometry": shapely.geometry.mapping(amap.territory_outline),
        },
        name="Territoire de la CPTS",
        style_function=lambda f: {"color": _TERRITORY, "weight": 3, "fill": False},
        interactive=False,
    ).add_to(fmap)


# ------------------------------------------------------------------------------------------
# GPs


def _places(count: int) -> str:
    return f"{count} place{'s' if count > 1 else ''}"


def _physician_tooltip(amap: AvailabilityMap, gp: PhysicianAvailability) -> str:
    name = html.escape(gp.name)
    month = amap.month_label
    if gp.status != PhysicianStatus.ACTIVE.label:
        return f"{name} — participation suspendue au {_date(amap)}"
    if not gp.accepting_new_patients:
        return f"{name} — ne prend pas de nouveaux patients actuellement"
    if gp.capacity == 0 and gp.remaining == 0:
        return f"{name} — aucune place déclarée en {month}"
    left = f"{_places(gp.remaining)} restante{'s' if gp.remaining > 1 else ''}"
    text = f"{name} — {left} sur {gp.capacity} en {month}"
    if gp.remaining == 0:
        text += " (complet)"
    elif gp.remaining > gp.capacity - gp.used:
        text += " (avec le report du mois précédent)"
    return text


def _physician_popup(amap: AvailabilityMap, gp: PhysicianAvailability) -> str:
    place = html.escape(gp.commune_name or gp.commune)
    if gp.at_commune_point:
        place += " <em>(position : centre de la commune)</em>"
    modalities = ", ".join(gp.modalities) or "non précisées"
    lines = [
        f"<strong>{html.escape(gp.name)}</strong>",
        f"Commune d'exercice : {place}",
        f"Modalités : {html.escape(modalities)}",
        f"Participation : {html.escape(gp.status)}"
        + ("" if gp.accepting_new_patients else ", ne prend pas de nouveaux patients"),
        f"Places en {amap.month_label} : {gp.remaining} restante(s) sur {gp.capacity} "
        f"({gp.used} retenue(s))",
    ]
    return "<br>".join(lines)


def _date(amap: AvailabilityMap) -> str:
    return amap.on.strftime("%d/%m/%Y")


def _marker_style(gp: PhysicianAvailability) -> tuple[str, float]:
    if not gp.available:
        return _GREY, 5.0
    if gp.remaining > 0:
        return _GREEN, 6.0 + 2.0 * min(gp.remaining, 5)
    return _ORANGE, 6.0


def _positions(physicians: Sequence[PhysicianAvailability]) -> list[tuple[float, float] | None]:
    """Where to draw each GP: GPs at the same point are spread on a small circle around it."""
    groups: dict[tuple[float, float], list[int]] = {}
    for i, gp in enumerate(physicians):
        if gp.lat is not None and gp.lon is not None:
            groups.setdefault((round(gp.lat, 5), round(gp.lon, 5)), []).append(i)
    positions: list[tuple[float, float] | None] = [None] * len(physicians)
    for (lat, lon), members in groups.items():
        if len(members) == 1:
            positions[members[0]] = (lat, lon)
            continue
        scale = math.cos(math.radians(lat)) or 1.0
        for k, i in enumerate(members):
            angle = 2 * math.pi * k / len(members)
            positions[i] = (
                round(lat + _SPREAD_DEGREES * math.sin(angle), 6),
                round(lon + _SPREAD_DEGREES * math.cos(angle) / scale, 6),
            )
    return positions


def _add_physicians(fmap: folium.Map, amap: AvailabilityMap) -> None:
    drawn = [
        (gp, position, *_marker_style(gp))
        for gp, position in zip(amap.physicians, _positions(amap.physicians), strict=True)
        if position is not None
    ]
    # the largest first, so that a smaller marker next to it stays visible and clickable
    drawn.sort(key=lambda item: -item[3])
    for gp, position, colour, radius in drawn:
        marker = _Marker(
            list(position),
            radius=radius,
            color="#ffffff",
            weight=2,
            fill=True,
            fillColor=colour,
            fillOpacity=0.95,
        )
        _Bind(_physician_tooltip(amap, gp), _physician_popup(amap, gp)).add_to(marker)
        marker.add_to(fmap)


# ------------------------------------------------------------------------------------------
# Legend


def _swatch(colour: str, opacity: float = 0.75) -> str:
    return f'<span class="mt-carre" style="background:{colour};opacity:{opacity}"></span>'


def _dot(colour: str) -> str:
    return f'<span class="mt-rond" style="background:{colour}"></span>'


def _legend(amap: AvailabilityMap) -> str:
    month = amap.month_label
    parts = [
        f"<h2>{html.escape(amap.policy_name)}</h2>",
        f'<p class="mt-date">Au {_date(amap)} — places de {month}</p>',
        "<h3>Demande en attente pour 1 000 habitants</h3>",
        "<ul>",
    ]
    labels = amap.class_labels
    palette = _PALETTES.get(len(labels), ())
    for colour, label in zip(reversed(palette), reversed(labels), strict=True):
        parts.append(f"<li>{_swatch(colour)}{html.escape(label)}</li>")
    parts.append(f"<li>{_swatch(_NO_DEMAND, 1.0)}aucune demande en attente</li>")
    if any(c.per_thousand is None and c.waiting_persons for c in amap.communes):
        parts.append(f"<li>{_swatch(_NO_POPULATION)}population inconnue</li>")
    parts.append("</ul>")

    shown = [p for p in amap.physicians if p.lat is not None]
    free = [p for p in shown if p.available and p.remaining > 0]
    places = sum(p.remaining for p in free)
    parts += [
        f"<h3>Médecins volontaires en {month}</h3>",
        "<ul>",
        f"<li>{_dot(_GREEN)}places disponibles (taille : nombre de places)</li>",
        f"<li>{_dot(_ORANGE)}complet ou aucune place déclarée</li>",
        f"<li>{_dot(_GREY)}suspendu ou ne prend pas de nouveaux patients</li>",
        "</ul>",
        f"<p>{len(shown)} médecin(s) ; {places} place(s) restante(s) en {month}.</p>",
    ]
    notes = [
        "Demande : personnes des demandes en cours (reçues, à qualifier, en liste d'attente "
        "ou proposées à un médecin), rapportées à la population municipale INSEE. Aucun "
        f"patient n'est représenté ; les effectifs inférieurs à {SMALL_COUNT} ne sont pas "
        "affichés.",
        *amap.notes,
    ]
    parts += [f'<p class="mt-note">{html.escape(note)}</p>' for note in notes]
    return "".join(parts)
