"""Tests for :mod:`mt_access.geo.communes` and :mod:`mt_access.geo.names`.

The facts checked against the bundled reference (codes, points, counts) come from the shared
data's SOURCES.md; the Voironnais names are written as in the CPTS procedure.
"""

from __future__ import annotations

import gzip
import random
from pathlib import Path

import attrs
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from mt_access.errors import AmbiguousCommuneError, ReferenceDataError, UnknownCommuneError
from mt_access.geo import (
    VINTAGE,
    Commune,
    CommuneReference,
    Point,
    bundled_reference,
    normalize_name,
)
from mt_access.geo import communes as communes_module
from mt_access.geo import names as names_module

HEADER = "insee,name,kind,department,postal_codes,population,lat,lon"
VOIRON_ROW = "38563,Voiron,commune,38,38500,21847,45.36270,5.59146"
MARQUETTE_ROW = "59386,Marquette-lez-Lille,commune,59,59520,12622,50.67670,3.06434"

# The 19 communes of the Voironnais CPTS, as the procedure writes them, and their INSEE codes.
VOIRONNAIS = {
    "Voiron": "38563",
    "St Nicolas de Macherin": "38432",
    "St Aupre": "38362",
    "St Etienne de Crossey": "38383",
    "Coublevie": "38133",
    "La Sure en Chartreuse": "38407",
    "Voreppe": "38565",
    "La Buisse": "38061",
    "Moirans": "38239",
    "St Jean de Moirans": "38400",
    "Charnècles": "38084",
    "St Cassien": "38373",
    "Réaumont": "38331",
    "Rives": "38337",
    "St Blaise du Buis": "38368",
    "La Murette": "38270",
    "Vourey": "38566",
    "Renage": "38332",
    "Tullins": "38517",
}
PROCEDURE_TEXT = (
    "Voiron, St Nicolas de Macherin, St Aupre, St Etienne de Crossey, Coublevie, "
    "La Sure en Chartreuse, Voreppe, La Buisse, Moirans, St Jean de Moirans, Charnècles, "
    "St Cassien, Réaumont, Rives, St Blaise du Buis, La Murette, Vourey, Renage et Tullins"
)


def write_csv(tmp_path: Path, *lines: str, name: str = "communes.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def load(path: Path) -> CommuneReference:
    return CommuneReference.from_csv(path, vintage="test", source="tests")


def commune(
    insee: str, name: str, department: str, *postal: str, point: Point | None = None
) -> Commune:
    return Commune(insee, name, "commune", department, postal, 100, point)


# -- normalize_name ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Marquette-lez-Lille", "marquette les lille"),
        ("Marquette lès Lille", "Marquette-lez-Lille"),
        ("MARQUETTE-LÈS-LILLE", "marquette  les  lille"),
        ("St Étienne de Crossey", "Saint-Étienne-de-Crossey"),
        ("st. etienne de crossey", "SAINT ETIENNE DE CROSSEY"),
        ("Ste-Foy-lès-Lyon", "Sainte Foy les Lyon"),
        ("Charnecles", "Charnècles"),
        ("Réaumont", "REAUMONT"),
        ("L'Haÿ-les-Roses", "l hay les roses"),
        ("L’Haÿ-les-Roses", "L'Hay-les-Roses"),
        ("Œuilly", "oeuilly"),
        ("Cæsar", "caesar"),
        ("  la_sure   en chartreuse ", "La Sure en Chartreuse"),
        ("Saint–Aupre", "saint aupre"),  # en dash
    ],
)
def test_normalize_name_equivalences(a: str, b: str) -> None:
    assert normalize_name(a) == normalize_name(b)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Saint-Étienne-de-Crossey", "saint etienne de crossey"),
        ("St. Nicolas-de-Macherin", "saint nicolas de macherin"),
        ("Château-Chinon (Ville)", "chateau chinon ville"),
        ("", ""),
        (" - ", ""),
        # "lez" is only a variant of "les" between two words: Lez is a commune of its own.
        ("Lez", "lez"),
        ("Lez-Fontaine", "lez fontaine"),
        ("Saint-Béat-Lez", "saint beat lez"),
        # "st" and "ste" are expanded as whole words only.
        ("Stenay", "stenay"),
        ("Estaires", "estaires"),
        ("Steenvoorde", "steenvoorde"),
    ],
)
def test_normalize_name_values(text: str, expected: str) -> None:
    assert normalize_name(text) == expected


def test_normalize_name_rejects_non_text() -> None:
    with pytest.raises(TypeError):
        normalize_name(38563)  # type: ignore[arg-type]


@given(st.text(max_size=40))
@example("\u2130")  # SCRIPT CAPITAL E: NFKD gives back a capital (found by the ci profile)
def test_normalize_name_is_idempotent_and_trimmed(text: str) -> None:
    once = normalize_name(text)
    assert normalize_name(once) == once
    assert once == once.strip()
    assert "  " not in once


# -- the bundled reference --------------------------------------------------------------


def test_bundled_reference_loads_every_row(reference: CommuneReference) -> None:
    assert len(reference) == 35_014
    assert reference is bundled_reference()
    assert reference.vintage == VINTAGE
    assert "COG 2026" in reference.vintage
    assert "ADMIN EXPRESS" in reference.vintage
    kinds = [c.kind for c in reference]
    assert kinds.count("arrondissement") == 45
    assert kinds.count("commune") == 34_969


def test_iteration_is_sorted_by_insee(reference: CommuneReference) -> None:
    codes = [c.insee for c in reference]
    assert codes == sorted(codes)
    assert len(set(codes)) == len(codes)


def test_communes_without_point(reference: CommuneReference) -> None:
    missing = reference.without_point()
    assert len(missing) == 104
    assert all(c.point is None for c in missing)
    assert [c.insee for c in missing] == sorted(c.insee for c in missing)
    assert {"15035", "15047", "15171", "85165", "98411"} <= {c.insee for c in missing}
    for c in reference:
        if c.point is not None:
            assert (c.point.lat, c.point.lon) != (0.0, 0.0)
    assert sum(1 for c in reference if c.point is not None) == 35_014 - 104


def test_point_of_commune_without_coordinates_says_so(reference: CommuneReference) -> None:
    with pytest.raises(ReferenceDataError, match="n'a pas de coordonnées") as info:
        reference.point("98411")
    assert not isinstance(info.value, UnknownCommuneError)
    assert "98411" in str(info.value)


def test_known_points(reference: CommuneReference) -> None:
    voiron = reference.get("38563")
    assert voiron.name == "Voiron"
    assert voiron.department == "38"
    assert voiron.postal_codes == ("38500",)
    assert voiron.kind == "commune"
    assert reference.point("38563") == Point(45.36270, 5.59146)
    marquette = reference.get("59386")
    assert marquette.name == "Marquette-lez-Lille"
    assert reference.point("59386") == Point(50.67670, 3.06434)


def test_get_and_contains(reference: CommuneReference) -> None:
    assert "38563" in reference
    assert "2A004" in reference
    assert "2a004" in reference
    assert reference.get("2a004").name == "Ajaccio"
    assert "99999" not in reference
    assert 38563 not in reference
    with pytest.raises(UnknownCommuneError) as info:
        reference.get("99999")
    assert info.value.query == "99999"
    assert isinstance(info.value, LookupError)


def test_unknown_code_that_is_a_postal_code_gets_a_hint(reference: CommuneReference) -> None:
    # 38000 is a postal code of Grenoble, not an INSEE code.
    assert "38000" not in reference
    with pytest.raises(UnknownCommuneError, match=r"code postal.*Grenoble \(38185"):
        reference.get("38000")


def test_reference_is_immutable(reference: CommuneReference) -> None:
    with pytest.raises(AttributeError):
        reference.vintage = "autre"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        del reference.source
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        reference.get("38563").name = "X"  # type: ignore[misc]


def test_bundled_reference_loads_afresh(reference: CommuneReference) -> None:
    """An uncached load gives an equal reference (its time is printed by
    benchmarks/bench_geo_lookup.py, never asserted here: machines are shared)."""
    fresh = bundled_reference.__wrapped__()  # uncached: a new reference
    assert fresh is not reference
    assert list(fresh) == list(reference)


# -- lookups by name --------------------------------------------------------------------


def test_voironnais_communes_resolve_from_the_procedure(reference: CommuneReference) -> None:
    names = [n.strip() for n in PROCEDURE_TEXT.replace(" et ", ", ").split(",")]
    assert names == list(VOIRONNAIS)
    found = {name: reference.find(name, department="38").insee for name in names}
    assert found == VOIRONNAIS
    # Most are unique in France; the others need the département.
    for name, insee in VOIRONNAIS.items():
        if name in ("St Cassien", "Rives"):
            with pytest.raises(AmbiguousCommuneError):
                reference.find(name)
        else:
            assert reference.find(name).insee == insee
        assert reference.resolve(f"{name} (38)").insee == insee


def test_search_returns_all_matches_sorted(reference: CommuneReference) -> None:
    rives = reference.search("rives")
    assert [c.insee for c in rives] == ["38337", "47223"]
    assert reference.search("Nowhere-sur-Rien") == ()
    assert [c.insee for c in reference.search("marquette les lille")] == ["59386"]
    assert [c.insee for c in reference.search("MARQUETTE LÈS LILLE")] == ["59386"]


@pytest.mark.parametrize("name", ["Saint-Martin", "Beaulieu"])
def test_ambiguous_name_lists_candidates(reference: CommuneReference, name: str) -> None:
    with pytest.raises(AmbiguousCommuneError) as info:
        reference.find(name)
    error = info.value
    assert error.query == name
    assert len(error.candidates) >= 5
    assert list(error.candidates) == sorted(error.candidates)
    for insee, cand_name, department in error.candidates:
        assert normalize_name(cand_name) == normalize_name(name)
        assert insee.startswith(department)
    assert "précisez" in str(error)


def test_find_narrows_by_department_and_postal_code(reference: CommuneReference) -> None:
    assert reference.find("Beaulieu", department="38").insee == "38033"
    assert reference.find("Rives", postal_code="38140").insee == "38337"
    assert reference.find("Rives", postal_code="38140", department="38").insee == "38337"
    assert reference.find("ajaccio", department="2a").insee == "2A004"
    assert reference.find("Bourg-en-Bresse", department="1").insee == "01053"


def test_find_errors(reference: CommuneReference) -> None:
    with pytest.raises(UnknownCommuneError, match="aucune commune nommée"):
        reference.find("Nowhere-sur-Rien")
    with pytest.raises(UnknownCommuneError, match=r"département 59.*Voiron \(38563"):
        reference.find("Voiron", department="59")
    with pytest.raises(UnknownCommuneError, match="code postal 59000"):
        reference.find("Voiron", postal_code="59000")
    with pytest.raises(UnknownCommuneError, match="département inconnu"):
        reference.find("Voiron", department="00")


def test_unknown_name_suggests_the_closest_names(reference: CommuneReference) -> None:
    with pytest.raises(UnknownCommuneError) as info:
        reference.resolve("St Etiene de Crosey")
    assert info.value.suggestions[0] == "Saint-Étienne-de-Crossey"
    assert len(info.value.suggestions) <= 3
    assert "vouliez-vous dire « Saint-Étienne-de-Crossey »" in str(info.value)
    with pytest.raises(UnknownCommuneError) as info:
        reference.find("Grenble", department="38")
    assert info.value.suggestions[0] == "Grenoble"
    assert str(info.value).endswith(" ?")


def test_unknown_name_far_from_every_name_gets_no_suggestion(
    reference: CommuneReference,
) -> None:
    with pytest.raises(UnknownCommuneError) as info:
        reference.resolve("Xqzwkvj")
    assert info.value.suggestions == ()
    assert "vouliez-vous dire" not in str(info.value)


def test_did_you_mean_wording() -> None:
    assert names_module.did_you_mean([]) == ""
    assert names_module.did_you_mean(["Voiron"]) == " ; vouliez-vous dire « Voiron » ?"
    assert names_module.did_you_mean(["A", "B", "C"]) == (
        " ; vouliez-vous dire « A », « B » ou « C » ?"
    )
    keys = ["voiron", "virson", "grenoble"]
    assert names_module.suggest_names("Voirron", keys) == ("voiron", "virson")
    assert names_module.suggest_names("", keys) == ()
    assert names_module.suggest_names("Voiron", keys, limit=0) == ()


# -- resolve ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "insee"),
    [
        ("38563", "38563"),
        (" 38563 ", "38563"),
        ("2A004", "2A004"),
        ("2b033", "2B033"),
        ("38500 Voiron", "38563"),
        ("38500 - Voiron", "38563"),
        ("Voiron 38500", "38563"),
        ("Voiron, 38500", "38563"),
        ("Voiron (38500)", "38563"),
        ("Voiron (38)", "38563"),
        ("Voiron(38)", "38563"),
        ("voiron", "38563"),
        ("59520 Marquette lès Lille", "59386"),
        ("Rives (38)", "38337"),
        ("38140 Rives", "38337"),
        ("Ajaccio (2A)", "2A004"),
        ("Château-Chinon (Ville)", "58062"),
        ("Paris", "75056"),
    ],
)
def test_resolve_forms(reference: CommuneReference, text: str, insee: str) -> None:
    assert reference.resolve(text).insee == insee


def test_resolve_errors(reference: CommuneReference) -> None:
    with pytest.raises(AmbiguousCommuneError) as info:
        reference.resolve("Rives")
    assert [c[0] for c in info.value.candidates] == ["38337", "47223"]
    with pytest.raises(UnknownCommuneError) as unknown:
        reference.resolve("99999")
    assert unknown.value.query == "99999"
    with pytest.raises(UnknownCommuneError):
        reference.resolve("38000 Voiron")
    with pytest.raises(UnknownCommuneError) as not_found:
        reference.resolve("Nowhere (38)")
    assert not_found.value.query == "Nowhere (38)"


# -- postal codes -----------------------------------------------------------------------


def test_by_postal_code(reference: CommuneReference) -> None:
    voiron_area = reference.by_postal_code("38500")
    assert [c.insee for c in voiron_area] == ["38061", "38133", "38373", "38432", "38563"]
    assert [c.insee for c in reference.by_postal_code("59520")] == ["59386"]
    assert reference.by_postal_code(" 59520 ") == reference.by_postal_code("59520")
    assert reference.by_postal_code("00000") == ()
    assert reference.by_postal_code("abc") == ()
    # Paris shares each postal code with one of its arrondissements.
    paris = reference.by_postal_code("75001")
    assert [(c.insee, c.kind) for c in paris] == [("75056", "commune"), ("75101", "arrondissement")]


def test_communes_without_postal_code(reference: CommuneReference) -> None:
    kerguelen = reference.get("98412")
    assert kerguelen.postal_codes == ()
    assert kerguelen.population is None
    assert kerguelen.point is None


# -- subset and construction -------------------------------------------------------------


def test_subset(reference: CommuneReference) -> None:
    codes = list(VOIRONNAIS.values())
    small = reference.subset(reversed([*codes, "38563"]))
    assert len(small) == 19
    assert [c.insee for c in small] == sorted(codes)
    assert small.vintage == reference.vintage
    assert small.source == reference.source
    assert small.find("St Cassien").insee == "38373"  # unique within the subset
    assert small.get("38563") is reference.get("38563")
    with pytest.raises(UnknownCommuneError):
        reference.subset(["38563", "99999"])


def test_construction_is_order_independent() -> None:
    a = commune("38563", "Voiron", "38", "38500", point=Point(45.3627, 5.59146))
    b = commune("38337", "Rives", "38", "38140")
    c = commune("47223", "Rives", "47", "47210")
    one = CommuneReference([a, b, c], vintage="v", source="s")
    two = CommuneReference([c, a, b], vintage="v", source="s")
    assert list(one) == list(two) == [b, a, c]
    assert one.search("rives") == two.search("rives") == (b, c)


def test_construction_rejects_duplicates_and_non_communes() -> None:
    a = commune("38563", "Voiron", "38", "38500")
    with pytest.raises(ReferenceDataError, match="38563 en double"):
        CommuneReference([a, attrs.evolve(a, name="Autre")], vintage="v", source="s")
    with pytest.raises(ReferenceDataError, match="objet Commune attendu"):
        CommuneReference(["38563"], vintage="v", source="s")  # type: ignore[list-item]


def test_commune_validates_kind_and_postal_codes() -> None:
    with pytest.raises(ValueError, match="kind"):
        Commune("38563", "Voiron", "village", "38", ("38500",), 1, None)
    with pytest.raises(TypeError, match="pas une chaîne"):
        Commune("38563", "Voiron", "commune", "38", "38500", 1, None)
    assert Commune("38563", "Voiron", "commune", "38", ["38500"], 1, None).postal_codes == (
        "38500",
    )


# -- from_csv ---------------------------------------------------------------------------


def test_from_csv_reads_both_forms(tmp_path: Path) -> None:
    with_kind = load(write_csv(tmp_path, HEADER, VOIRON_ROW, MARQUETTE_ROW, name="a.csv"))
    without_kind = load(
        write_csv(
            tmp_path,
            "insee,name,department,postal_codes,population,lat,lon",
            "38563,Voiron,38,38500,21847,45.36270,5.59146",
            "59386,Marquette-lez-Lille,59,59520,12622,50.67670,3.06434",
            name="b.csv",
        )
    )
    assert list(with_kind) == list(without_kind)
    assert with_kind.get("38563") == Commune(
        "38563", "Voiron", "commune", "38", ("38500",), 21847, Point(45.3627, 5.59146)
    )
    assert with_kind.vintage == "test"
    assert with_kind.source == "tests"


def test_from_csv_reads_gzip_and_unusual_layouts(tmp_path: Path) -> None:
    plain = load(write_csv(tmp_path, HEADER, VOIRON_ROW, name="plain.csv"))
    gz = tmp_path / "plain.csv.gz"
    gz.write_bytes(gzip.compress((HEADER + "\n" + VOIRON_ROW + "\n").encode()))
    assert list(load(gz)) == list(plain)
    # Columns reordered, an extra column, quoting, spaces, CRLF and a blank line: the
    # checked path reads the same communes as the fast one.
    odd = tmp_path / "odd.csv"
    odd.write_bytes(
        "\ufeffname,insee,extra,kind,department,postal_codes,population,lat,lon\r\n"
        '"Voiron", 38563 ,x,commune,38,38500, 21847 ,45.36270,5.59146\r\n'
        "\r\n".encode()
    )
    assert list(load(odd)) == list(plain)


def test_from_csv_sorts_postal_codes_and_allows_empty_fields(tmp_path: Path) -> None:
    ref = load(
        write_csv(
            tmp_path,
            HEADER,
            "13055,Marseille,commune,13,13002;13001;13001,886040,43.29861,5.36496",
            "98412,Archipel des Kerguelen,commune,984,,,,",
        )
    )
    assert ref.get("13055").postal_codes == ("13001", "13002")
    kerguelen = ref.get("98412")
    assert (kerguelen.postal_codes, kerguelen.population, kerguelen.point) == ((), None, None)


def test_fast_and_checked_parsers_agree_on_the_shared_data() -> None:
    data_dir = Path(__file__).resolve().parents[1] / "src" / "mt_access" / "geo" / "data"
    text = gzip.decompress((data_dir / "communes_france.csv.gz").read_bytes()).decode()
    fast = communes_module._parse_fast(text)
    assert fast is not None
    checked = communes_module._parse_checked(text, "communes_france.csv")
    assert fast == checked


@pytest.mark.parametrize(
    ("lines", "line", "column", "expected"),
    [
        ([HEADER, "3856,Voiron,commune,38,38500,1,45.3,5.5"], 2, "insee", "code INSEE"),
        (
            [HEADER, VOIRON_ROW, "38X63,Voiron,commune,38,38500,1,45.3,5.5"],
            3,
            "insee",
            "code INSEE",
        ),
        ([HEADER, "38563,,commune,38,38500,1,45.3,5.5"], 2, "name", "nom de commune non vide"),
        ([HEADER, "38563,Voiron,ville,38,38500,1,45.3,5.5"], 2, "kind", "arrondissement"),
        ([HEADER, "38563,Voiron,commune,3,38500,1,45.3,5.5"], 2, "department", "département"),
        ([HEADER, "38563,Voiron,commune,59,38500,1,45.3,5.5"], 2, "department", "cohérent"),
        ([HEADER, "38563,Voiron,commune,38,3850,1,45.3,5.5"], 2, "postal_codes", "5 chiffres"),
        ([HEADER, "38563,Voiron,commune,38,38500,-4,45.3,5.5"], 2, "population", "entier"),
        ([HEADER, "38563,Voiron,commune,38,38500,1.5,45.3,5.5"], 2, "population", "entier"),
        ([HEADER, "38563,Voiron,commune,38,38500,1,north,5.5"], 2, "lat", "entre -90 et 90"),
        ([HEADER, "38563,Voiron,commune,38,38500,1,95,5.5"], 2, "lat", "entre -90 et 90"),
        ([HEADER, "38563,Voiron,commune,38,38500,1,45.3,nan"], 2, "lon", "entre -180 et 180"),
        ([HEADER, "38563,Voiron,commune,38,38500,1,45.3,"], 2, "lon", "longitude renseignée"),
        ([HEADER, "38563,Voiron,commune,38,38500,1,,5.5"], 2, "lat", "latitude renseignée"),
        ([HEADER, "38563,Voiron,commune,38,38500,1,0,0"], 2, "lat", r"\(0, 0\)"),
        ([HEADER, VOIRON_ROW, VOIRON_ROW], 3, "insee", "déjà présent ligne 2"),
    ],
)
def test_from_csv_row_errors(
    tmp_path: Path, lines: list[str], line: int, column: str, expected: str
) -> None:
    path = write_csv(tmp_path, *lines)
    with pytest.raises(ReferenceDataError, match=expected) as info:
        load(path)
    message = str(info.value)
    assert message.startswith(f"{path}, ligne {line}, colonne {column} : ")
    assert "attendu" in message


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        ([], "ligne 1 : fichier vide"),
        (["insee,name,department,lat,lon", "38563,Voiron,38,45.3,5.5"], "postal_codes, population"),
        ([HEADER.replace("kind", "insee")], "colonne 'insee' en double"),
        ([HEADER, "38563,Voiron,commune,38,38500,1,45.3"], "ligne 2 : 7 champ"),
        ([HEADER, '38563,"Voiron,commune,38,38500,1,45.3,5.5'], "CSV mal formé"),
    ],
)
def test_from_csv_file_errors(tmp_path: Path, lines: list[str], expected: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    with pytest.raises(ReferenceDataError, match=expected) as info:
        load(path)
    assert str(info.value).startswith(str(path))


def test_from_csv_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(ReferenceDataError, match="lecture du fichier de communes impossible"):
        load(tmp_path / "missing.csv")
    latin1 = tmp_path / "latin1.csv"
    latin1.write_bytes(
        f"{HEADER}\n38084,Charnècles,commune,38,38140,1,45.3,5.5\n".encode("latin-1")
    )
    with pytest.raises(ReferenceDataError, match="ligne 2 : encodage UTF-8 attendu"):
        load(latin1)
    broken = tmp_path / "broken.csv.gz"
    broken.write_bytes(gzip.compress(HEADER.encode())[:12])
    with pytest.raises(ReferenceDataError, match="gzip"):
        load(broken)


# -- lookups of every kind of name ---------------------------------------------------------


def test_every_commune_name_is_found(reference: CommuneReference) -> None:
    """A sample of names all found by ``search`` (the lookup rate is printed by
    benchmarks/bench_geo_lookup.py, not asserted: machines are shared)."""
    rng = random.Random(7)
    sample = rng.sample(list(reference), 2_000)
    for commune in sample:
        assert commune.insee in {c.insee for c in reference.search(commune.name)}
