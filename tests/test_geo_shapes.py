"""Tests for :mod:`mt_access.geo.shapes`: commune outlines, point → commune, territories.

The facts checked against the bundled outlines (counts, the two chef-lieu points just outside
their simplified outline) come from the shared data's SOURCES.md.
"""

from __future__ import annotations

import gzip
import json
import random
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import shapely
from hypothesis import example, given
from hypothesis import strategies as st

from mt_access.errors import ReferenceDataError, UnknownCommuneError
from mt_access.geo import CommuneReference, Point
from mt_access.geo import shapes as shapes_module
from mt_access.geo.distance import geodesic_km_many
from mt_access.geo.shapes import (
    BUNDLED_DEPARTMENTS,
    SHAPES_SOURCE,
    SHAPES_VINTAGE,
    CommuneOutline,
    CommuneShapes,
    Territory,
    bundled_shapes,
)

VOIRON = Point(45.36270, 5.59146)
GRENOBLE = "38185"
# The 19 communes of the Voironnais CPTS.
VOIRONNAIS = (  # noqa: SIM905
    "38563 38432 38362 38383 38133 38407 38565 38061 38239 38400 38084 38373 38331 38337 "
    "38368 38270 38566 38332 38517"
).split()
# Neighbours of the Voironnais: Chirens borders Voiron and Coublevie to the north, Apprieu
# borders Rives and Renage, Fontanil-Cornillon borders Voreppe.
KNOWN_NEIGHBOURS = ("38105", "38013", "38170")
# SOURCES.md, section 2: the bundled reference (communes_france.csv) keeps the original
# chef-lieu points of Avignonet and Zermezeele, about 25 m outside the simplified outlines;
# the Isère and Nord extract moved them about 10 m inside, to these points.
POINTS_OUTSIDE_THEIR_OUTLINE = {
    "38023": Point(44.95934, 5.65691),
    "59667": Point(50.82324, 2.45028),
}

# Isère's bounding box (outlines), with a margin.
ISERE_LAT = (44.65, 45.92)
ISERE_LON = (4.70, 6.40)


@pytest.fixture(scope="module")
def shapes() -> CommuneShapes:
    return bundled_shapes()


@pytest.fixture(scope="module")
def isere() -> CommuneShapes:
    return bundled_shapes("38")


@pytest.fixture(scope="module")
def voironnais(shapes: CommuneShapes) -> Territory:
    return shapes.territory(VOIRONNAIS)


# -- small GeoJSON files --------------------------------------------------------------------


def square(x0: float, y0: float, size: float = 0.1) -> list[list[list[float]]]:
    """A square polygon's coordinates, counter-clockwise, closed."""
    x1, y1 = round(x0 + size, 5), round(y0 + size, 5)
    return [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]


def feature(insee: Any, name: Any = "Commune", coordinates: Any = None, **extra: Any) -> Any:
    geometry = {
        "type": "Polygon",
        "coordinates": square(5.0, 45.0) if coordinates is None else coordinates,
    }
    result = {"type": "Feature", "properties": {"insee": insee, "name": name}, "geometry": geometry}
    result.update(extra)
    return result


def three_communes() -> list[Any]:
    """Three unit squares side by side: 38002 | 38001 | 38003 (west to east)."""
    return [
        feature("38001", "Milieu", square(5.1, 45.0)),
        feature("38002", "Ouest", square(5.0, 45.0)),
        feature("38003", "Est", square(5.2, 45.0)),
    ]


def write_geojson(tmp_path: Path, document: Any, name: str = "communes.geojson") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def collection(features: list[Any]) -> Any:
    return {"type": "FeatureCollection", "features": features}


def load_error(tmp_path: Path, document: Any) -> str:
    path = write_geojson(tmp_path, document)
    with pytest.raises(ReferenceDataError) as info:
        CommuneShapes.from_geojson(path)
    message = str(info.value)
    assert str(path) in message
    return message


# -- bundled outlines -----------------------------------------------------------------------


def test_bundled_shapes_counts_and_metadata(shapes: CommuneShapes, isere: CommuneShapes) -> None:
    assert BUNDLED_DEPARTMENTS == ("38", "59")
    assert len(isere) == 512
    assert len(bundled_shapes("59")) == 647
    assert len(shapes) == 1159
    assert shapes.departments == ("38", "59")
    assert isere.departments == ("38",)
    assert shapes.vintage == SHAPES_VINTAGE
    assert shapes.source == SHAPES_SOURCE
    assert "2018" in SHAPES_VINTAGE
    assert "2026" in SHAPES_VINTAGE
    assert list(shapes.insee_codes) == sorted(shapes.insee_codes)
    assert [outline.insee for outline in shapes] == list(shapes.insee_codes)
    assert repr(shapes) == "<CommuneShapes: 1159 communes, départements 38, 59>"
    min_lon, min_lat, max_lon, max_lat = isere.bounds
    assert 44.6 < min_lat < 44.8 < 45.8 < max_lat < 45.9
    assert 4.7 < min_lon < 4.8 < 6.3 < max_lon < 6.4


def test_bundled_shapes_match_the_reference(
    shapes: CommuneShapes, reference: CommuneReference
) -> None:
    expected = {c.insee for c in reference if c.department in ("38", "59")}
    assert set(shapes.insee_codes) == expected
    assert shapes.get("38563").name == "Voiron"
    assert shapes.get("38407").name == reference.get("38407").name == "La Sure en Chartreuse"


def test_bundled_shapes_is_cached_and_order_insensitive() -> None:
    assert bundled_shapes("38") is bundled_shapes(["38"]) is bundled_shapes((" 38 ",))
    assert bundled_shapes(("59", "38")) is bundled_shapes() is bundled_shapes(["38", "59", "38"])


def test_bundled_shapes_loads_only_what_is_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    read: list[str] = []
    parse = shapes_module._parse_shapes

    def recording(data: bytes, filename: str, **kwargs: str) -> CommuneShapes:
        read.append(filename.rsplit("/", 1)[-1])
        return parse(data, filename, **kwargs)

    department = shapes_module._bundled_department.__wrapped__
    monkeypatch.setattr(shapes_module, "_parse_shapes", recording)
    assert len(department("59")) == 647
    assert read == ["communes_59.geojson.gz"]


@pytest.mark.parametrize("departments", ["73", ("38", "73"), [38], ()])
def test_bundled_shapes_rejects_other_departments(departments: Any) -> None:
    with pytest.raises(ReferenceDataError, match=r"38, 59|texte"):
        bundled_shapes(departments)


def test_unknown_department_suggests_from_geojson() -> None:
    with pytest.raises(ReferenceDataError, match=r"from_geojson"):
        bundled_shapes("73")


# -- point → commune ------------------------------------------------------------------------


def test_voiron_point_is_in_voiron(shapes: CommuneShapes, isere: CommuneShapes) -> None:
    assert shapes.locate(VOIRON.lat, VOIRON.lon) == "38563"
    assert isere.locate(VOIRON.lat, VOIRON.lon) == "38563"
    assert shapes.contains("38563", VOIRON)
    assert not shapes.contains(GRENOBLE, VOIRON)
    assert bundled_shapes("59").locate(VOIRON.lat, VOIRON.lon) is None
    assert shapes.locate(50.67670, 3.06434) == "59386"  # Marquette-lez-Lille


def test_every_reference_point_lies_in_its_own_commune(
    shapes: CommuneShapes, reference: CommuneReference
) -> None:
    communes = [c for c in reference if c.department in ("38", "59")]
    assert all(c.point is not None for c in communes)
    lats = [c.point.lat for c in communes if c.point is not None]
    lons = [c.point.lon for c in communes if c.point is not None]
    located = shapes.locate_many(lats, lons)
    outside = {c.insee for c, code in zip(communes, located, strict=True) if c.insee != code}
    # The two documented exceptions of the bundled reference, just outside (SOURCES.md).
    assert outside == set(POINTS_OUTSIDE_THEIR_OUTLINE)
    for code, moved in POINTS_OUTSIDE_THEIR_OUTLINE.items():
        point = reference.point(code)
        assert 0.0 < shapes.territory([code]).distance_km(point) < 0.05
        assert shapes.locate(moved.lat, moved.lon) == code
        assert shapes.contains(code, moved)


def test_locate_many_shapes_and_missing_values(shapes: CommuneShapes) -> None:
    located = shapes.locate_many(
        [VOIRON.lat, 0.0, np.nan, 45.18645], [VOIRON.lon, 0.0, 5.0, np.inf]
    )
    assert located.dtype == np.dtype("<U5")
    assert located.tolist() == ["38563", "", "", ""]
    grid = shapes.locate_many(np.full((2, 3), VOIRON.lat), VOIRON.lon)
    assert grid.shape == (2, 3)
    assert (grid == "38563").all()
    assert shapes.locate_many(VOIRON.lat, VOIRON.lon).shape == ()
    assert shapes.locate_many([], []).shape == (0,)
    assert shapes.locate(np.nan, 5.0) is None
    with pytest.raises(ValueError, match="formes incompatibles"):
        shapes.locate_many([45.0, 45.1], [5.0, 5.1, 5.2])


def brute_force(shapes: CommuneShapes, lat: float, lon: float) -> str:
    """The lowest INSEE code whose outline covers the point, or ""."""
    point = shapely.Point(lon, lat)
    for outline in shapes:  # sorted by INSEE code
        if outline.geometry.covers(point):
            return outline.insee
    return ""


@pytest.fixture(scope="module")
def shared_vertices(isere: CommuneShapes) -> list[tuple[float, float]]:
    """Vertices of Isère's outlines that several communes share, as (lat, lon)."""
    counts: dict[tuple[float, float], int] = {}
    for outline in isere:
        coords = shapely.get_coordinates(outline.geometry)
        for x, y in {(float(x), float(y)) for x, y in coords}:
            counts[(y, x)] = counts.get((y, x), 0) + 1
    shared = sorted(vertex for vertex, count in counts.items() if count >= 2)
    return random.Random(38).sample(shared, 200)


@given(st.lists(st.tuples(st.floats(*ISERE_LAT), st.floats(*ISERE_LON)), min_size=1, max_size=40))
@example([(VOIRON.lat, VOIRON.lon)])
def test_locate_many_agrees_with_brute_force(points: list[tuple[float, float]]) -> None:
    isere = bundled_shapes("38")
    lats = [lat for lat, _ in points]
    lons = [lon for _, lon in points]
    located = isere.locate_many(lats, lons)
    assert located.tolist() == [brute_force(isere, lat, lon) for lat, lon in points]
    assert [isere.locate(lat, lon) or "" for lat, lon in points] == located.tolist()


def test_points_on_borders_go_to_the_lowest_code(
    isere: CommuneShapes, shared_vertices: list[tuple[float, float]]
) -> None:
    lats = [lat for lat, _ in shared_vertices]
    lons = [lon for _, lon in shared_vertices]
    located = isere.locate_many(lats, lons)
    for (lat, lon), code in zip(shared_vertices, located, strict=True):
        holders = [o.insee for o in isere if o.geometry.covers(shapely.Point(lon, lat))]
        assert len(holders) >= 2
        assert code == min(holders)
        assert all(isere.contains(h, Point(lat, lon)) for h in holders)


def test_locate_does_not_depend_on_the_order_of_the_file(tmp_path: Path) -> None:
    features = three_communes()
    path_a = write_geojson(tmp_path, collection(features), "a.geojson")
    path_b = write_geojson(tmp_path, collection(features[::-1]), "b.geojson")
    a, b = CommuneShapes.from_geojson(path_a), CommuneShapes.from_geojson(path_b)
    # On the edge shared by 38002 and 38001, then by 38001 and 38003, then a corner.
    lats, lons = [45.05, 45.05, 45.1, 45.05], [5.1, 5.2, 5.2, 5.25]
    assert a.locate_many(lats, lons).tolist() == ["38001", "38001", "38001", "38003"]
    assert b.locate_many(lats, lons).tolist() == a.locate_many(lats, lons).tolist()
    assert a.insee_codes == b.insee_codes == ("38001", "38002", "38003")


# -- territories ----------------------------------------------------------------------------


def test_voironnais_territory(
    voironnais: Territory, shapes: CommuneShapes, reference: CommuneReference
) -> None:
    assert voironnais.insee_codes == tuple(sorted(VOIRONNAIS))
    assert voironnais.shapes is shapes
    assert voironnais.outline.geom_type == "Polygon"
    assert shapely.is_valid(voironnais.outline)
    assert voironnais.contains(VOIRON)
    grenoble = reference.point(GRENOBLE)
    assert not voironnais.contains(grenoble)
    inside = voironnais.contains_many([VOIRON.lat, grenoble.lat], [VOIRON.lon, grenoble.lon])
    assert inside.tolist() == [True, False]
    assert inside.dtype == np.bool_
    assert voironnais.contains_many([np.nan], [5.6]).tolist() == [False]
    area = sum(shapes.polygon(code).area for code in VOIRONNAIS)
    assert voironnais.outline.area == pytest.approx(area, rel=1e-9)
    assert repr(voironnais).startswith("<Territory: 19 communes (38061, 38084,")


def test_territory_contains_the_points_of_its_communes(
    voironnais: Territory, reference: CommuneReference
) -> None:
    points = [reference.point(code) for code in VOIRONNAIS]
    assert voironnais.contains_many([p.lat for p in points], [p.lon for p in points]).all()
    others = [c.point for c in reference if c.department == "38" and c.insee not in VOIRONNAIS]
    lats = [p.lat for p in others if p is not None]
    lons = [p.lon for p in others if p is not None]
    assert not voironnais.contains_many(lats, lons).any()


def test_adjacent_communes(voironnais: Territory, isere: CommuneShapes) -> None:
    adjacent = voironnais.adjacent_communes()
    assert adjacent == tuple(sorted(adjacent))
    assert set(KNOWN_NEIGHBOURS) <= set(adjacent)
    assert not set(adjacent) & set(VOIRONNAIS)
    assert GRENOBLE not in adjacent
    # Brute force: every other commune of Isère that intersects the outline.
    expected = [
        o.insee
        for o in isere
        if o.insee not in VOIRONNAIS and o.geometry.intersects(voironnais.outline)
    ]
    assert list(adjacent) == expected
    assert voironnais.adjacent_communes() is adjacent  # computed once


def test_territory_on_merged_shapes_and_edge_cases(shapes: CommuneShapes) -> None:
    single = shapes.territory(["38563", "38563 "])
    assert single.insee_codes == ("38563",)
    assert single.outline.equals(shapes.polygon("38563"))
    assert "38133" in single.adjacent_communes()  # Coublevie borders Voiron
    two_departments = Territory(shapes, ["38563", "59386"])
    assert two_departments.outline.geom_type == "MultiPolygon"
    assert two_departments.contains(VOIRON)
    assert two_departments.contains(Point(50.67670, 3.06434))
    with pytest.raises(ReferenceDataError, match="au moins une commune"):
        shapes.territory([])
    with pytest.raises(UnknownCommuneError, match="73065"):
        shapes.territory(["38563", "73065"])
    with pytest.raises(TypeError, match="pas une chaîne"):
        shapes.territory("38563")


def test_distances_to_a_territory(voironnais: Territory, reference: CommuneReference) -> None:
    assert voironnais.distance_km(VOIRON) == 0.0
    grenoble = reference.point(GRENOBLE)
    distance = voironnais.distance_km(grenoble)
    # The geodesic distance to the nearest vertex of the outline bounds it from above.
    coords = shapely.get_coordinates(voironnais.outline)
    to_vertices = geodesic_km_many(grenoble.lat, grenoble.lon, coords[:, 1], coords[:, 0])
    assert 5.0 < distance <= float(to_vertices.min()) + 1e-9
    assert distance > 0.95 * float(to_vertices.min())
    many = voironnais.distance_km_many(
        [VOIRON.lat, grenoble.lat, np.nan], [VOIRON.lon, grenoble.lon, 5.0]
    )
    assert many[0] == 0.0
    assert many[1] == distance
    assert np.isnan(many[2])


def test_within_km_of_border(voironnais: Territory, reference: CommuneReference) -> None:
    neighbours = [reference.point(code) for code in KNOWN_NEIGHBOURS]
    lats = [VOIRON.lat, *(p.lat for p in neighbours), reference.point(GRENOBLE).lat]
    lons = [VOIRON.lon, *(p.lon for p in neighbours), reference.point(GRENOBLE).lon]
    near = voironnais.within_km_of_border(lats, lons, 6.0)
    assert near.tolist() == [False, True, True, True, False]
    assert voironnais.within_km_of_border(lats, lons, 50.0).tolist() == [False, *[True] * 4]
    assert not voironnais.within_km_of_border(lats, lons, 0).any()
    for km in (-1.0, float("nan"), float("inf"), "5", True):
        with pytest.raises(ValueError, match="km"):
            voironnais.within_km_of_border(lats, lons, km)  # type: ignore[arg-type]


# -- CommuneShapes as a value ---------------------------------------------------------------


def test_lookups_and_immutability(shapes: CommuneShapes) -> None:
    outline = shapes.get(" 38563 ")
    assert outline == CommuneOutline("38563", "Voiron", shapes.polygon("38563"))
    assert shapes.polygon("38563") is outline.geometry
    assert "38563" in shapes
    assert "73065" not in shapes
    assert 38563 not in shapes
    with pytest.raises(UnknownCommuneError, match=r"from_geojson") as info:
        shapes.polygon("73065")
    assert info.value.query == "73065"
    with pytest.raises(UnknownCommuneError, match="texte"):
        shapes.get(38563)  # type: ignore[arg-type]
    with pytest.raises(UnknownCommuneError):
        shapes.contains("73065", VOIRON)
    with pytest.raises(AttributeError, match="immuable"):
        shapes._source = "x"
    with pytest.raises(AttributeError, match="immuable"):
        del shapes._source
    territory = shapes.territory(["38563"])
    with pytest.raises(AttributeError, match="immuable"):
        territory._codes = ()


def test_constructor_checks(tmp_path: Path) -> None:
    a = CommuneOutline("38001", "A", shapely.Polygon(square(5.0, 45.0)[0]))
    b = CommuneOutline("38002", "B", shapely.Polygon(square(5.1, 45.0)[0]))
    shapes = CommuneShapes([b, a], vintage="v", source="s")
    assert shapes.insee_codes == ("38001", "38002")
    with pytest.raises(ReferenceDataError, match="38001 en double"):
        CommuneShapes([a, CommuneOutline("38001", "A bis", a.geometry)], vintage="v", source="s")
    with pytest.raises(ReferenceDataError, match="CommuneOutline attendu"):
        CommuneShapes([a, ("38003", "C", a.geometry)], vintage="v", source="s")  # type: ignore[list-item]
    bowtie = shapely.Polygon([(5, 45), (5.1, 45.1), (5.1, 45), (5, 45.1), (5, 45)])
    with pytest.raises(ReferenceDataError, match="contour invalide pour C \\(38003\\)"):
        CommuneShapes([a, CommuneOutline("38003", "C", bowtie)], vintage="v", source="s")
    with pytest.raises(ReferenceDataError, match="Polygon ou MultiPolygon"):
        CommuneOutline("38003", "C", shapely.Point(5, 45))
    with pytest.raises(ReferenceDataError, match="code INSEE"):
        CommuneOutline("3800", "C", a.geometry)
    empty = CommuneShapes([], vintage="", source="")
    assert empty.locate_many([45.0], [5.0]).tolist() == [""]
    with pytest.raises(ReferenceDataError, match="vide"):
        _ = empty.bounds


def test_merged(tmp_path: Path, shapes: CommuneShapes) -> None:
    isere, nord = bundled_shapes("38"), bundled_shapes("59")
    both = isere.merged(nord)
    assert both.insee_codes == shapes.insee_codes
    assert both.locate(VOIRON.lat, VOIRON.lon) == "38563"
    assert isere.merged(shapes, isere).insee_codes == shapes.insee_codes
    assert both.source == SHAPES_SOURCE
    assert isere.merged() is not isere
    other = CommuneShapes.from_geojson(
        write_geojson(tmp_path, collection([feature("73001", "Ailleurs", square(6.5, 45.5))])),
        vintage="test",
    )
    combined = isere.merged(other)
    assert len(combined) == 513
    assert combined.departments == ("38", "73")
    assert combined.source == f"{SHAPES_SOURCE} ; {tmp_path / 'communes.geojson'}"
    assert combined.vintage == f"{SHAPES_VINTAGE} ; test"
    assert combined.locate(45.55, 6.55) == "73001"
    clash = CommuneShapes.from_geojson(
        write_geojson(
            tmp_path, collection([feature("38563", "Voiron", square(6.5, 45.5))]), "c.json"
        )
    )
    with pytest.raises(ReferenceDataError, match="38563 a deux contours différents"):
        isere.merged(clash)
    with pytest.raises(ReferenceDataError, match="CommuneShapes attendu"):
        isere.merged("59")  # type: ignore[arg-type]


# -- from_geojson ---------------------------------------------------------------------------


def test_from_geojson_reads_plain_and_gzip_files(tmp_path: Path) -> None:
    document = collection(
        [
            *three_communes(),
            feature(
                "2a004",
                "  Ajaccio ",
                None,
                geometry={
                    "type": "MultiPolygon",
                    "coordinates": [square(8.7, 41.9, 0.05), square(8.6, 41.8, 0.02)],
                },
            ),
        ]
    )
    document["features"][0]["properties"]["population"] = 1000  # ignored
    document["features"][0]["id"] = "x"  # ignored
    plain = write_geojson(tmp_path, document)
    packed = tmp_path / "communes.geojson.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    a = CommuneShapes.from_geojson(plain)
    b = CommuneShapes.from_geojson(str(packed), vintage="2026", source="essai")
    assert a.insee_codes == b.insee_codes == ("2A004", "38001", "38002", "38003")
    assert a.get("2A004").name == "Ajaccio"
    assert a.polygon("2A004").geom_type == "MultiPolygon"
    assert a.source == str(plain)
    assert a.vintage == ""
    assert (b.source, b.vintage) == ("essai", "2026")
    assert a.departments == ("2A", "38")
    assert a.locate(41.81, 8.61) == "2A004"
    assert a.territory(["38001", "38002"]).adjacent_communes() == ("38003",)


def test_from_geojson_accepts_holes_and_3d_positions(tmp_path: Path) -> None:
    outer = [
        [5.0, 45.0, 200],
        [5.3, 45.0, 210],
        [5.3, 45.3, 220],
        [5.0, 45.3, 205],
        [5.0, 45.0, 200],
    ]
    hole = [[5.1, 45.1], [5.1, 45.2], [5.2, 45.2], [5.2, 45.1], [5.1, 45.1]]
    document = collection(
        [feature("38001", "Anneau", [outer, hole]), feature("38002", "Enclave", [hole[::-1]])]
    )
    shapes = CommuneShapes.from_geojson(write_geojson(tmp_path, document))
    assert shapes.locate(45.05, 5.05) == "38001"
    assert shapes.locate(45.15, 5.15) == "38002"
    ring = shapes.territory(["38001"])
    assert not ring.contains(Point(45.15, 5.15))
    assert ring.adjacent_communes() == ("38002",)
    # The nearest border is 0.05° of longitude away: 3.93 km at this latitude.
    assert ring.distance_km(Point(45.15, 5.15)) == pytest.approx(3.93, abs=0.01)


BAD_FEATURES: list[tuple[Any, str]] = [
    ("pas un objet", r"features\[1\] : entité GeoJSON de type Feature"),
    ({"type": "Point"}, r"features\[1\]\.type : « Feature » attendu, trouvé 'Point'"),
    ({"type": "Feature", "geometry": None}, r"features\[1\]\.properties : objet avec"),
    (feature(38002), r"features\[1\]\.properties\.insee : code INSEE .* trouvé 38002"),
    (feature("380002"), r"features\[1\]\.properties\.insee : code INSEE"),
    (feature(None), r"features\[1\]\.properties\.insee : code INSEE .* trouvé None"),
    (feature("38002", ""), r"features\[1\]\.properties\.name : nom de commune non vide"),
    (feature("38002", 12), r"features\[1\]\.properties\.name : .* trouvé 12"),
    (
        feature("38002", "B", geometry=None),
        r"features\[1\]\.geometry : géométrie Polygon ou MultiPolygon attendu, trouvé None",
    ),
    (
        feature("38002", "B", geometry={"type": "Point", "coordinates": [5.0, 45.0]}),
        r"features\[1\]\.geometry\.type : « Polygon » ou « MultiPolygon » attendu, "
        r"trouvé 'Point'",
    ),
    (
        feature("38002", "B", []),
        r"features\[1\]\.geometry\.coordinates : liste d'anneaux",
    ),
    (
        feature("38002", "B", [[[5.0, 45.0], [5.1, 45.0], [5.0, 45.0]]]),
        r"features\[1\]\.geometry\.coordinates\[0\] : anneau fermé d'au moins 4 positions",
    ),
    (
        feature("38002", "B", [[[5.0, 45.0], [5.1, 45.0], [5.1, 45.1], [5.0, 45.1]]]),
        r"features\[1\]\.geometry\.coordinates\[0\] : anneau fermé .* trouvé un anneau ouvert",
    ),
    (
        feature("38002", "B", [[[5.0, 45.0], [5.1, "45"], [5.1, 45.1], [5.0, 45.0]]]),
        r"features\[1\]\.geometry\.coordinates\[0\] : anneau fermé",
    ),
    (
        feature("38002", "B", [[[5.0, 45.0], [5.1], [5.1, 45.1], [5.0, 45.0]]]),
        r"features\[1\]\.geometry\.coordinates\[0\] : anneau fermé",
    ),
    (
        feature(
            "38002",
            "B",
            [[[912000, 6470000], [913000, 6470000], [913000, 6471000], [912000, 6470000]]],
        ),
        r"features\[1\]\.geometry\.coordinates\[0\]\[0\] : position \[longitude, latitude\] "
        r"en degrés WGS84 \(un fichier en Lambert-93",
    ),
    (
        feature("38002", "B", geometry={"type": "MultiPolygon", "coordinates": []}),
        r"features\[1\]\.geometry\.coordinates : liste non vide de polygones",
    ),
    (
        feature(
            "38002",
            "B",
            geometry={"type": "MultiPolygon", "coordinates": [square(5.0, 45.0), [[[5.0]]]]},
        ),
        r"features\[1\]\.geometry\.coordinates\[1\]\[0\] : anneau fermé",
    ),
    (
        feature("38002", "B", [[[5, 45], [5.1, 45.1], [5.1, 45], [5, 45.1], [5, 45]]]),
        r"features\[1\]\.geometry : contour valide attendu pour B \(38002\), trouvé : "
        r"Self-intersection",
    ),
    (
        feature("38001", "Doublon", square(6.0, 45.0)),
        r"features\[1\]\.properties\.insee : code INSEE 38001 déjà présent dans features\[0\]",
    ),
]


@pytest.mark.parametrize(("bad", "message"), BAD_FEATURES)
def test_from_geojson_names_the_feature_and_what_was_expected(
    tmp_path: Path, bad: Any, message: str
) -> None:
    good = feature("38001", "A", square(5.0, 45.0))
    error = load_error(tmp_path, collection([good, bad]))
    assert error.startswith(f"{tmp_path / 'communes.geojson'}, features[1]")
    assert "attendu" in error
    assert re.search(message, error), error


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", r"ligne 1, colonne 1 : JSON invalide"),
        (b'{"type": "FeatureCollection",\n "features": [}', r"ligne 2, colonne 15 : JSON invalide"),
        (b"\xff\xfe{}", r"encodage UTF-8 attendu, octet 0xff"),
        (b"\x1f\x8b\x08\x00broken", r"fichier gzip illisible"),
        (b"[]", r"FeatureCollection GeoJSON attendue .* trouvé 'list'"),
        (b'{"type": "Feature"}', r"FeatureCollection GeoJSON attendue .* trouvé 'Feature'"),
        (b'{"type": "FeatureCollection", "features": []}', r"liste « features » non vide"),
        (b'{"type": "FeatureCollection"}', r"liste « features » non vide .* trouvé None"),
    ],
)
def test_from_geojson_file_level_errors(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.geojson"
    path.write_bytes(content)
    with pytest.raises(ReferenceDataError, match=message) as info:
        CommuneShapes.from_geojson(path)
    assert str(info.value).startswith(str(path))


def test_from_geojson_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.geojson"
    with pytest.raises(ReferenceDataError, match="lecture du fichier de contours impossible"):
        CommuneShapes.from_geojson(path)
