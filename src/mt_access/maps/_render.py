"""Drawing an :class:`~mt_access.maps.AvailabilityMap` as a self-contained HTML page.

One Jinja2 template (:data:`_PAGE`) over Leaflet, shipped in ``mt_access/static/leaflet`` and
inlined in the page: the communes as one GeoJSON layer, the territory's outline, the GPs as
circle markers with a tooltip and a popup, the legend as a Leaflet control. Every text and
number goes into the page's script as JSON (Jinja2's ``tojson``: ``<``, ``>``, ``&`` and
``'`` escaped), never compiled as a template nor put in a JavaScript template literal. The
page holds no random id and no date: the same map gives the same page byte for byte.

folium drew this page until issue 17; measured, it brought 8 packages (5.7 MiB) and about a
second of import time for what this template does, and needed branca's private attributes
to keep user text out of its templates (docs/carte.md, "Pourquoi pas folium").
"""

from __future__ import annotations

import functools
import html
import importlib.resources
import math
import re
from collections.abc import Sequence
from typing import Any

import attrs
import shapely
from jinja2 import Environment

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


@attrs.frozen
class _Tiles:
    """A background tile provider: its URL template and Leaflet options (attribution...)."""

    url: str
    options: dict[str, Any]


_OSM_ATTRIBUTION = (
    '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors'
)
_TILES: dict[str, _Tiles] = {
    "openstreetmap": _Tiles(
        "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
        {"attribution": _OSM_ATTRIBUTION, "maxZoom": 19},
    ),
    "cartodb positron": _Tiles(
        "https://{s}.basemaps.cartocdn.com/light_all/{z}/{x}/{y}{r}.png",
        {
            "attribution": f'{_OSM_ATTRIBUTION} &copy; <a href="https://carto.com/attributions">CARTO</a>',
            "subdomains": "abcd",
            "maxZoom": 20,
        },
    ),
}
"""The tile providers :meth:`AvailabilityMap.html` knows, by normalised name
(:func:`_tiles_key`)."""


def _tiles_key(name: str) -> str:
    return " ".join(re.split(r"[\s._-]+", name.casefold())).strip()


_PAGE = Environment(autoescape=False, keep_trailing_newline=True).from_string(
    """<!DOCTYPE html>
<html lang="fr">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>{{ title }}</title>
<style>
{{ leaflet_css }}
</style>
<script>
{{ leaflet_js }}
</script>
<style>
html, body { width: 100%; height: 100%; margin: 0; padding: 0; }
#carte { position: absolute; top: 0; bottom: 0; right: 0; left: 0; }
{{ legend_css }}</style>
</head>
<body>
<div id="carte"></div>
<script>
(function () {
    var map = L.map("carte", {zoomSnap: 0.25, zoomDelta: 0.5});
    map.fitBounds({{ bounds|tojson }}, {paddingTopLeft: [10, 10], paddingBottomRight: [300, 10]});
    {%- if tiles %}
    L.tileLayer({{ tiles.url|tojson }}, {{ tiles.options|tojson }}).addTo(map);
    {%- endif %}
    var communes = {{ communes|tojson }};
    if (communes.features.length) {
        var layer = L.geoJson(communes, {
            style: function (feature) { return feature.properties.style; },
            onEachFeature: function (feature, path) {
                path.bindTooltip(feature.properties.infobulle, {sticky: true});
                path.on("mouseover", function () {
                    path.setStyle({{ highlight|tojson }});
                });
                path.on("mouseout", function () { layer.resetStyle(path); });
            }
        }).addTo(map);
    }
    {%- if territory %}
    L.geoJson({{ territory|tojson }}, {
        style: function () { return {{ territory_style|tojson }}; },
        interactive: false
    }).addTo(map);
    {%- endif %}
    var markers = {{ markers|tojson }};
    markers.forEach(function (marker) {
        var circle = L.circleMarker(marker.position, marker.style);
        circle.bindTooltip(marker.tooltip, {sticky: true});
        if (marker.popup) {
            circle.bindPopup(marker.popup, {maxWidth: 320});
        }
        circle.addTo(map);
    });
    L.control.scale({imperial: false}).addTo(map);
    map.attributionControl.setPrefix("Leaflet");
    {{ attributions|tojson }}.forEach(function (text) {
        map.attributionControl.addAttribution(text);
    });
    var legend = L.control({position: "topright"});
    legend.onAdd = function () {
        var div = L.DomUtil.create("div", "mt-legende");
        div.innerHTML = {{ legend|tojson }};
        L.DomEvent.disableClickPropagation(div);
        L.DomEvent.disableScrollPropagation(div);
        return div;
    };
    legend.addTo(map);
})();
</script>
</body>
</html>
"""
)


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
        tiles: the background tile provider (``"OpenStreetMap"``, ``"CartoDB Positron"``),
            or ``None``.

    Returns:
        The HTML text.

    Raises:
        MapError: an unknown tile provider ``tiles``.
    """
    provider = None
    if tiles is not None:
        provider = _TILES.get(_tiles_key(tiles))
        if provider is None:
            raise MapError(
                f"fond de carte inconnu : {tiles!r} (« OpenStreetMap », « CartoDB Positron », "
                "ou None pour aucun fond)"
            )
    title = f"Carte des disponibilités — {amap.policy_name} — {amap.month_label}"
    attributions: list[str] = []
    if amap.outlines:
        if amap.outline_source == SHAPES_SOURCE:
            attributions.append(
                "Contours des communes : IGN ADMIN EXPRESS ; populations : INSEE (Licence Ouverte)"
            )
        else:
            attributions.append(f"Contours des communes : {html.escape(amap.outline_source)}")
    south, west, north, east = _bounds(amap)
    territory = None
    if amap.territory_outline is not None:
        territory = {
            "type": "Feature",
            "properties": {},
            "geometry": shapely.geometry.mapping(amap.territory_outline),
        }
    js, css = _leaflet()
    return _PAGE.render(
        title=html.escape(title),
        leaflet_css=css,
        leaflet_js=js,
        legend_css=_LEGEND_CSS,
        tiles=provider,
        communes=_communes(amap),
        highlight={"weight": 3, "color": _TERRITORY},
        territory=territory,
        territory_style={"color": _TERRITORY, "weight": 3, "fill": False},
        markers=_commune_circles(amap) + _physician_markers(amap),
        attributions=attributions,
        legend=_legend(amap),
        bounds=[[south, west], [north, east]],
    )


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
    return "<br>".join(lines)


def _communes(amap: AvailabilityMap) -> dict[str, Any]:
    """The communes with an outline, as a GeoJSON feature collection with each feature's
    style and tooltip in its properties."""
    features: list[dict[str, Any]] = []
    for commune in amap.communes:
        geometry = amap.outlines.get(commune.insee)
        if geometry is None:
            continue
        colour = _colour(amap, commune)
        style: dict[str, Any] = {
            "fillColor": colour,
            "fillOpacity": 0.5 if colour == _NO_DEMAND else 0.75,
            "color": _OUTLINE,
            "weight": 1,
        }
        if not commune.in_territory:
            style["dashArray"] = "4 4"
        features.append(
            {
                "type": "Feature",
                "id": commune.insee,
                "properties": {"infobulle": _commune_tooltip(amap, commune), "style": style},
                "geometry": shapely.geometry.mapping(geometry),
            }
        )
    return {"type": "FeatureCollection", "features": features}


def _commune_circles(amap: AvailabilityMap) -> list[dict[str, Any]]:
    """The communes without an outline but with a point, as dashed circles."""
    return [
        {
            "position": [float(commune.lat), float(commune.lon)],
            "style": {
                "radius": 12,
                "color": _OUTLINE,
                "weight": 1,
                "dashArray": "3 3",
                "fill": True,
                "fillColor": _colour(amap, commune),
                "fillOpacity": 0.75,
            },
            "tooltip": _commune_tooltip(amap, commune),
        }
        for commune in amap.communes
        if not commune.has_outline and commune.lat is not None and commune.lon is not None
    ]


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
    if gp.capacity == 0 and gp.remaining == 0 and gp.yearly_capacity is None:
        return f"{name} — aucune place déclarée en {month}"
    left = f"{_places(gp.remaining)} restante{'s' if gp.remaining > 1 else ''}"
    if gp.yearly_capacity is not None:
        # « 150 par an (reste 37 en 2026) », with the monthly cap when there is one
        text = f"{name} — {left} en {month} ; capacité : {html.escape(gp.capacity_label)}"
        return text + (" (complet)" if gp.remaining == 0 else "")
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
        f"({gp.used} retenue(s))"
        if gp.yearly_capacity is None
        else f"Places en {amap.month_label} : {gp.remaining} restante(s) ({gp.used} "
        f"retenue(s)) ; capacité : {html.escape(gp.capacity_label)}",
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


def _physician_markers(amap: AvailabilityMap) -> list[dict[str, Any]]:
    drawn = [
        (gp, position, *_marker_style(gp))
        for gp, position in zip(amap.physicians, _positions(amap.physicians), strict=True)
        if position is not None
    ]
    # the largest first, so that a smaller marker next to it stays visible and clickable
    drawn.sort(key=lambda item: -item[3])
    return [
        {
            "position": [float(position[0]), float(position[1])],
            "style": {
                "radius": radius,
                "color": "#ffffff",
                "weight": 2,
                "fill": True,
                "fillColor": colour,
                "fillOpacity": 0.95,
            },
            "tooltip": _physician_tooltip(amap, gp),
            "popup": _physician_popup(amap, gp),
        }
        for gp, position, colour, radius in drawn
    ]


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
