"""The availability and demand map: its data (demand by commune, GPs' places this month) and
its HTML page (self-contained, deterministic, no patient shown).

A hand-built register (``scenario``) checks the figures by hand; the example month of each
shipped policy checks that the map is made for real territories. The page is opened in a
browser by ``test_maps_browser.py``.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
from pathlib import Path

import attrs
import pytest

import mt_access
from factories import MOIRANS, VOIRON, VOREPPE, doc, req
from mt_access import (
    Household,
    MemoryStore,
    Modality,
    Month,
    PatientIdentity,
    Point,
    Register,
    Request,
    RequestState,
)
from mt_access.examples import example_month
from mt_access.geo.shapes import bundled_shapes
from mt_access.indicators import Period, indicators
from mt_access.lifecycle import ACTIVE_STATES
from mt_access.maps import (
    AvailabilityMap,
    CommuneDemand,
    MapError,
    PhysicianAvailability,
    automatic_breaks,
    availability_map,
    build_availability_map,
)

ON = dt.date(2026, 3, 15)
D1 = dt.date(2026, 3, 2)
D2 = dt.date(2026, 3, 3)
LATER = dt.date(2026, 3, 12)
RIVES = "38337"
TULLINS = "38517"
COUBLEVIE = "38133"
LA_BUISSE = "38061"
GRENOBLE = "38185"  # outside the Voironnais territory
PATIENT = "Zébulonne"  # generated patients' last name: must never reach the page

STATIC = Path(mt_access.__file__).parent / "static" / "leaflet"
URL = re.compile(r"https?://[^\s\"'<>`)\\]+")


def _wait(register: Register, request: Request) -> None:
    register.add_request(request, PatientIdentity(last_name=PATIENT, first_name="Test"))
    register.acknowledge(request.id, D1)
    register.confirm(request.id, D2)
    register.to_waiting(request.id, D2)


def _gp(register: Register, pid: str, commune: str, capacity: int, **kw: object) -> None:
    register.add_physician(doc(pid, commune, capacity=None, **kw))
    register.join(pid, D1, monthly_capacity=capacity, modalities=[Modality.OFFICE])


def _placed(register: Register, request: Request, pid: str) -> None:
    _wait(register, request)
    register.propose(request.id, pid, LATER)
    register.answer(request.id, pid, LATER, accepted=True)


def _scenario(policy: mt_access.Policy) -> Register:
    """Voiron: two requests placed with MG1 (3 persons, full), one waiting (1 person);
    Moirans: 5 persons waiting; Coublevie: 1 request received; La Buisse: a withdrawn request;
    Grenoble (outside the territory): 2 persons waiting. MG2 (Voreppe) has 1 place left of 2,
    MG3 is suspended, MG4 withdrew, MG5 does not take new patients."""
    register = Register(MemoryStore(), policy)
    _gp(register, "MG1", VOIRON, 3)
    _gp(register, "MG2", VOREPPE, 2)
    _gp(register, "MG3", MOIRANS, 2)
    _gp(register, "MG4", RIVES, 2)
    register.add_physician(
        doc(
            "MG5",
            TULLINS,
            capacity=1,
            location=Point(45.3, 5.49),
            modalities=frozenset(Modality),
            accepting_new_patients=False,
        )
    )
    register.suspend("MG3", dt.date(2026, 3, 10), dt.date(2026, 3, 31))
    register.withdraw_physician("MG4", dt.date(2026, 3, 5))

    _placed(register, req("DEM-0001", VOIRON, received=D1), "MG1")
    _placed(register, req("DEM-0002", VOIRON, received=D1, persons=2), "MG1")
    _wait(register, req("DEM-0003", VOIRON, received=D1))
    for i in range(4, 9):
        _wait(register, req(f"DEM-{i:04d}", MOIRANS, received=D1))
    register.add_request(
        req("DEM-0009", COUBLEVIE, received=D2), PatientIdentity(last_name=PATIENT)
    )
    _wait(register, req("DEM-0010", LA_BUISSE, received=D1))
    register.withdraw("DEM-0010", LATER)
    _placed(register, req("DEM-0011", VOREPPE, received=D1), "MG2")
    _wait(register, req("DEM-0012", GRENOBLE, received=D1, persons=2))
    return register


@pytest.fixture(scope="module")
def register(voironnais: mt_access.Policy) -> Register:
    return _scenario(voironnais)


@pytest.fixture(scope="module")
def amap(register: Register) -> AvailabilityMap:
    return availability_map(register, ON)


@pytest.fixture(scope="module")
def page(amap: AvailabilityMap) -> str:
    return amap.html(tiles=None)


def _commune(amap: AvailabilityMap, insee: str) -> CommuneDemand:
    (found,) = [c for c in amap.communes if c.insee == insee]
    return found


def _gp_of(amap: AvailabilityMap, pid: str) -> PhysicianAvailability:
    (found,) = [p for p in amap.physicians if p.physician_id == pid]
    return found


def _without_leaflet(page: str) -> str:
    """The page without the inlined Leaflet files (whose comments and attribution prefix
    hold the project's own URLs)."""
    for name in ("leaflet.js", "leaflet.css"):
        text = (STATIC / name).read_text(encoding="utf-8")
        text = re.sub(r"\n?//# sourceMappingURL=\S+\s*$", "", text)
        assert text in page, name
        page = page.replace(text, "")
    return page


def _json(text: str) -> str:
    """``text`` as it appears in a script of the page (JSON string, non-ASCII escaped)."""
    import json

    return json.dumps(text)[1:-1].replace("<", "\\u003c").replace(">", "\\u003e")


# ------------------------------------------------------------------------------------------
# Data


def test_demand_by_commune(amap: AvailabilityMap, voironnais: mt_access.Policy) -> None:
    reference = voironnais.reference
    assert reference is not None
    codes = [c.insee for c in amap.communes]
    assert codes == sorted(voironnais.territory | {GRENOBLE})
    expected = {VOIRON: (1, 1), MOIRANS: (5, 5), COUBLEVIE: (1, 1), GRENOBLE: (2, 1)}
    for commune in amap.communes:
        persons, requests = expected.get(commune.insee, (0, 0))
        population = reference.get(commune.insee).population
        assert population
        assert commune.waiting_persons == persons, commune.insee
        assert commune.waiting_requests == requests, commune.insee
        assert commune.population == population
        assert commune.per_thousand == pytest.approx(persons * 1000 / population)
        assert commune.name == reference.get(commune.insee).name
        assert commune.has_outline
        assert commune.in_territory is (commune.insee != GRENOBLE)
    # placed (mt_found) and withdrawn requests are not waiting demand
    assert _commune(amap, LA_BUISSE).waiting_persons == 0
    assert _commune(amap, VOREPPE).waiting_persons == 0


def test_demand_agrees_with_the_indicators(register: Register, amap: AvailabilityMap) -> None:
    table = indicators(register, Period.month("2026-03")).table("communes")
    for row in table.records():
        code = str(row["code INSEE"])
        assert _commune(amap, code).waiting_requests == row["demandes en cours à la fin"]


def test_places_this_month(amap: AvailabilityMap, register: Register) -> None:
    assert [p.physician_id for p in amap.physicians] == ["MG1", "MG2", "MG3", "MG5"]
    mg1 = _gp_of(amap, "MG1")
    assert (mg1.capacity, mg1.used, mg1.remaining) == (3, 3, 0)
    assert mg1.status == "actif"
    assert mg1.available
    assert mg1.commune_name == "Voiron"
    assert mg1.at_commune_point
    point = register.policy.reference.point(VOIRON)  # type: ignore[union-attr]
    assert (mg1.lat, mg1.lon) == (point.lat, point.lon)
    mg2 = _gp_of(amap, "MG2")
    assert (mg2.capacity, mg2.used, mg2.remaining) == (2, 1, 1)
    ledger = register.ledger
    for gp in amap.physicians:
        assert gp.used == ledger.used(gp.physician_id, Month(2026, 3))
    assert amap.month == Month(2026, 3)
    assert amap.month_label == "mars 2026"


def test_suspended_withdrawn_and_not_accepting(amap: AvailabilityMap, page: str) -> None:
    mg3 = _gp_of(amap, "MG3")
    assert mg3.status == "suspendu"
    assert not mg3.available
    assert mg3.remaining == 2
    assert "MG4" not in [p.physician_id for p in amap.physicians]
    assert "Dr MG4" not in page
    mg5 = _gp_of(amap, "MG5")
    assert mg5.status == "actif"
    assert not mg5.available
    assert not mg5.accepting_new_patients
    assert (mg5.lat, mg5.lon) == (45.3, 5.49)
    assert not mg5.at_commune_point
    assert mg5.modalities == ("en cabinet", "visites à domicile")
    assert _json("Dr MG3 — participation suspendue au 15/03/2026") in page
    assert _json("Dr MG5 — ne prend pas de nouveaux patients actuellement") in page


def test_a_later_month(register: Register) -> None:
    """In April the places held in March are free again and MG3's suspension is over."""
    april = availability_map(register, dt.date(2026, 4, 2))
    mg1 = _gp_of(april, "MG1")
    assert (mg1.capacity, mg1.used, mg1.remaining) == (3, 0, 3)
    assert _gp_of(april, "MG3").status == "actif"


def test_requests_received_after_the_date_do_not_count(register: Register) -> None:
    early = availability_map(register, dt.date(2026, 3, 2))
    assert _commune(early, COUBLEVIE).waiting_persons == 0  # received on 3 March
    assert _commune(early, MOIRANS).waiting_persons == 5


def test_build_from_plain_values(register: Register, amap: AvailabilityMap) -> None:
    built = build_availability_map(
        register.policy,
        register.physicians(),
        register.ledger,
        register.list_requests(),  # every state: only the active ones count
        ON,
    )
    assert built == amap
    assert built.html(tiles=None) == amap.html(tiles=None)


def test_frames(amap: AvailabilityMap) -> None:
    communes = amap.to_frame()
    assert list(communes.columns) == [f.name for f in attrs.fields(CommuneDemand)]
    assert len(communes) == len(amap.communes)
    assert communes.set_index("insee").loc[MOIRANS, "waiting_persons"] == 5
    physicians = amap.to_frame("physicians")
    assert list(physicians["physician_id"]) == ["MG1", "MG2", "MG3", "MG5"]
    assert physicians.set_index("physician_id").loc["MG5", "modalities"] == (
        "en cabinet, visites à domicile"
    )
    with pytest.raises(MapError, match="partie inconnue"):
        amap.to_frame("patients")


# ------------------------------------------------------------------------------------------
# Class breaks


def test_automatic_breaks() -> None:
    assert automatic_breaks([]) == ()
    assert automatic_breaks([None, 0.0]) == ()
    assert automatic_breaks([0.7]) == (0.0, 1.0)
    breaks = automatic_breaks([0.12, 0.3, 0.55, 0.8, 1.1, 1.9, 4.2])
    assert breaks[0] == 0.0
    assert breaks[-1] == 5.0
    assert list(breaks) == sorted(set(breaks))
    assert all(b in (0.0, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0) for b in breaks)
    assert len(breaks) - 1 <= 5
    assert automatic_breaks([12.0, 30.0, 70.0], classes=2) == (0.0, 20.0, 100.0)
    with pytest.raises(MapError, match="nombre de classes"):
        automatic_breaks([1.0], classes=7)


def test_given_breaks_and_labels(register: Register) -> None:
    def build(breaks: tuple[float, ...]) -> AvailabilityMap:
        return build_availability_map(
            register.policy,
            register.physicians(),
            register.ledger,
            register.waiting(),
            ON,
            breaks=breaks,
        )

    amap = build((0, 0.1, 0.2, 0.5, 1.0))
    assert amap.breaks == (0.0, 0.1, 0.2, 0.5, 1.0)
    assert amap.class_labels == ("0,0 – 0,1 ‰", "0,1 – 0,2 ‰", "0,2 – 0,5 ‰", "0,5 – 1,0 ‰")
    assert amap.class_of(None) is None
    assert amap.class_of(0.0) is None
    assert amap.class_of(0.1) == 0
    assert amap.class_of(0.15) == 1
    assert amap.class_of(0.9) == 3
    assert build((0, 1, 2, 5)).class_labels == ("0 – 1 ‰", "1 – 2 ‰", "2 – 5 ‰")
    # a rate above the last edge goes in the last class, labelled « et plus »
    low = build((0, 0.01, 0.02))
    assert low.class_labels[-1] == "0,01 ‰ et plus"
    assert low.class_of(0.6) == 1
    for bad in [(0,), (0, 1, 1), (0, 2, 1), (-1, 1), (0, float("nan")), tuple(range(9))]:
        with pytest.raises(MapError, match="bornes des classes"):
            build(bad)


# ------------------------------------------------------------------------------------------
# The page


def test_legend(amap: AvailabilityMap, page: str) -> None:
    assert "Demande en attente pour 1 000 habitants" in page
    for label in amap.class_labels:
        assert _json(label) in page
    assert _json("CPTS du Voironnais") in page
    assert _json("Au 15/03/2026 — places de mars 2026") in page
    assert _json("places disponibles") in page
    assert _json("suspendu ou ne prend pas de nouveaux patients") in page
    assert "<title>Carte des disponibilités — CPTS du Voironnais — mars 2026</title>" in page
    assert '<html lang="fr">' in page
    assert "Contours des communes : IGN ADMIN EXPRESS" in page


def test_tooltips(amap: AvailabilityMap, page: str) -> None:
    assert _json("Dr MG1 — 0 place restante sur 3 en mars 2026 (complet)") in page
    assert _json("Dr MG2 — 1 place restante sur 2 en mars 2026") in page
    assert _json("Modalités : en cabinet, visites à domicile") in page
    assert _json("Personnes en attente : 5") in page
    moirans = _commune(amap, MOIRANS)
    assert moirans.per_thousand is not None
    rate = f"{moirans.per_thousand:.2f}".replace(".", ",")
    assert _json(f"Demande pour 1 000 habitants : {rate} ‰") in page


def test_small_counts_are_not_shown(amap: AvailabilityMap, page: str) -> None:
    """Voiron has 1 waiting person, Grenoble 2: the page says « moins de 5 » and gives the
    class of the rate, not the rate (which would give the count away with the population)."""
    assert page.count(_json("Personnes en attente : moins de 5")) == 3  # Voiron, Coublevie...
    for code in (VOIRON, COUBLEVIE, GRENOBLE):
        commune = _commune(amap, code)
        assert commune.per_thousand is not None
        for decimals in (1, 2, 3):
            rate = f"{commune.per_thousand:.{decimals}f}".replace(".", ",")
            if rate.rstrip("0").rstrip(",") not in ("0",):
                assert f"habitants : {rate}" not in page.replace("\\u00a0", " "), code
    assert "Personnes en attente : 1\\" not in page
    assert "Personnes en attente : 2\\" not in page


def test_no_patient_data_in_the_page(register: Register, page: str) -> None:
    assert PATIENT not in page
    assert _json(PATIENT) not in page
    for summary in register.list_requests():
        assert summary.id not in page
    assert "Test" not in _without_leaflet(page).replace("Testnom", "")


def test_no_external_resource_without_tiles(page: str) -> None:
    rest = _without_leaflet(page)
    assert URL.findall(rest) == []
    assert "<script src" not in page
    assert "<link" not in page
    assert "$(" not in rest
    assert "jQuery" not in rest
    assert page.count("<script>") >= 2  # Leaflet inlined, then the map


def test_openstreetmap_background(amap: AvailabilityMap) -> None:
    page = amap.html()
    rest = _without_leaflet(page)
    urls = set(URL.findall(rest))
    assert urls == {
        "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
        "https://www.openstreetmap.org/copyright",
    }
    assert "OpenStreetMap" in rest
    assert "<script src" not in page
    assert "<link" not in page
    with pytest.raises(MapError, match="fond de carte inconnu"):
        amap.html(tiles="Pas.Un.Fournisseur")
    light = _without_leaflet(amap.html(tiles="CartoDB.Positron"))
    assert "https://{s}.basemaps.cartocdn.com/light_all/{z}/{x}/{y}{r}.png" in light
    assert amap.html(tiles="openstreetmap") == page


def test_the_page_is_deterministic(voironnais: mt_access.Policy, page: str) -> None:
    again = availability_map(_scenario(voironnais), ON).html(tiles=None)
    assert again == page
    assert re.search(r"[0-9a-f]{32}", _without_leaflet(page)) is None


def test_the_page_is_the_same_in_another_process(page: str) -> None:
    """No dependence on the process (hash seed of sets and dicts, random ids)."""
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); import mt_access; "
        "from test_maps import ON, _scenario; from mt_access.maps import availability_map; "
        "register = _scenario(mt_access.load_policy('voironnais')); "
        "sys.stdout.buffer.write(availability_map(register, ON).html(tiles=None).encode())"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    done = subprocess.run(
        [sys.executable, "-c", code, str(Path(__file__).parent)],
        capture_output=True,
        env=env,
        timeout=120,
        check=True,
    )
    assert done.stdout.decode("utf-8") == page


def test_today_by_default(register: Register) -> None:
    assert availability_map(register).month == Month.of(dt.date.today())


def test_names_are_escaped(voironnais: mt_access.Policy) -> None:
    register = Register(MemoryStore(), voironnais)
    register.add_physician(
        attrs.evolve(doc("MG9", VOIRON, capacity=2), name="Dr <b>O'Hara</b> `${alert(1)}`")
    )
    page = availability_map(register, ON).html(tiles=None)
    rest = _without_leaflet(page)
    assert "<b>" not in rest
    # texts go into JSON strings, never into JavaScript template literals (`...${...}`)
    assert re.search(r"(bindTooltip|bindPopup)\(\s*`", rest) is None
    assert rest.count("`${alert(1)}`") == 2  # tooltip and popup strings, as text
    assert "&lt;b&gt;O&#x27;Hara&lt;/b&gt;" in rest.replace("\\u0026", "&")


def test_names_are_never_run_as_templates(voironnais: mt_access.Policy) -> None:
    """The page is drawn from a Jinja2 template: a GP's name holding template syntax must come
    out as typed, never evaluated."""
    register = Register(MemoryStore(), voironnais)
    hostile = "Dr {{ 7 * 7 }} {% if true %}oui{% endif %} {# note #}"
    register.add_physician(attrs.evolve(doc("MG9", VOIRON, capacity=2), name=hostile))
    rest = _without_leaflet(availability_map(register, ON).html(tiles=None))
    assert "{{ 7 * 7 }}" in rest
    assert "{% if true %}oui{% endif %}" in rest
    assert "{# note #}" in rest
    assert "Dr 49" not in rest


def test_save_is_atomic(
    amap: AvailabilityMap, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "carte.html"
    assert amap.save(target, tiles=None) == target
    assert target.read_text(encoding="utf-8") == amap.html(tiles=None)
    assert [p.name for p in tmp_path.iterdir()] == ["carte.html"]

    target.write_text("ancienne carte", encoding="utf-8")

    def fail(src: str, dst: str) -> None:
        raise OSError("disque plein")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError, match="disque plein"):
        amap.save(str(target), tiles=None)
    assert target.read_text(encoding="utf-8") == "ancienne carte"
    assert [p.name for p in tmp_path.iterdir()] == ["carte.html"]


def test_communes_without_outline(register: Register) -> None:
    """Outlines of another département only: every commune is a circle at its point, and
    the map says so."""
    amap = build_availability_map(
        register.policy,
        register.physicians(),
        register.ledger,
        register.waiting(),
        ON,
        shapes=bundled_shapes("59"),
    )
    assert not any(c.has_outline for c in amap.communes)
    assert amap.territory_outline is None
    assert not amap.outlines
    assert any("sans contour" in note for note in amap.notes)
    page = amap.html(tiles=None)
    assert _json("Contour non disponible : commune représentée par un cercle") in page
    assert "IGN ADMIN EXPRESS" not in page
    assert page.count('"position": [') == len(amap.communes) + 4  # one circle marker each


# ------------------------------------------------------------------------------------------
# The shipped policies


def _example_register(policy: mt_access.Policy) -> tuple[Register, dt.date]:
    reference = policy.reference
    assert reference is not None
    example = example_month(policy, reference, requests=40)
    register = Register(MemoryStore(), policy)
    register.update_physicians(example.physicians)
    for request in example.requests:
        outside = request.commune not in policy.territory
        register.add_request(request, PatientIdentity(last_name=PATIENT), out_of_scope=outside)
        if not outside:
            register.acknowledge(request.id, request.received)
            register.confirm(request.id, request.received)
            register.to_waiting(request.id, request.received)
    register.run_match(example.on)
    return register, example.on


@pytest.mark.parametrize("name", ["voironnais", "deule_marque"])
def test_shipped_policies(name: str) -> None:
    policy = mt_access.load_policy(name)
    register, on = _example_register(policy)
    amap = availability_map(register, on)
    assert amap.policy_name == policy.name
    assert {c.insee for c in amap.communes} >= policy.territory
    assert all(c.has_outline for c in amap.communes)
    assert amap.territory_outline is not None
    waiting = list(register.list_requests(*ACTIVE_STATES))
    assert sum(c.waiting_persons for c in amap.communes) == sum(s.persons for s in waiting)
    assert len(amap.physicians) == len(register.physicians())  # nobody withdrew
    assert sum(p.used for p in amap.physicians) == sum(
        register.ledger.used(p.id, amap.month) for p in register.physicians()
    )
    assert any(p.status == "suspendu" for p in amap.physicians)
    assert len(amap.breaks) >= 2
    page = amap.html(tiles=None)
    assert URL.findall(_without_leaflet(page)) == []
    assert page.count('"position": [') == len(amap.physicians)  # one circle marker each
    assert PATIENT not in page
    assert all(s.state in ACTIVE_STATES for s in waiting)
    assert RequestState.MT_FOUND not in ACTIVE_STATES


def test_household_persons_count(voironnais: mt_access.Policy) -> None:
    register = Register(MemoryStore(), voironnais)
    request = attrs.evolve(req("DEM-0100", VOIRON, received=D1), household=Household(2, 3))
    _wait(register, request)
    amap = availability_map(register, ON)
    voiron = _commune(amap, VOIRON)
    assert (voiron.waiting_persons, voiron.waiting_requests) == (5, 1)
    assert voiron.population
    assert voiron.per_thousand == pytest.approx(5000 / voiron.population)
    assert amap.physicians == ()
