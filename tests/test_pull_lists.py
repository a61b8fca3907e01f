"""Issue 12, point 5: pull mode end to end. The month's lists shared with GPs computed from the
register, a GP's pick turned into a proposal holding a place (refused before anything is
recorded when the request is not on that GP's list, the GP has no place left or holds the
policy's batch limit), the lists written as files with nothing identifying a patient, and the
commands ``listes`` and ``demande choisir``."""

from __future__ import annotations

import datetime as dt
import functools
import re
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mt_access
from cli_support import run as _run
from factories import COUBLEVIE, MOIRANS, RIVES, TULLINS, VOIRON, VOREPPE, doc, req
from mt_access import PatientIdentity, PolicyError
from mt_access.calendar import Month
from mt_access.cli import EXIT_INVALID_INPUT, EXIT_OK, EXIT_REFUSED, EXIT_USAGE
from mt_access.cli.common import Console
from mt_access.lifecycle import Actor, Event, RequestState
from mt_access.pull_lists import (
    LIST_COLUMNS,
    ListPage,
    list_columns,
    list_file_stem,
    list_html,
    list_markdown,
    list_rows,
    pages_by_physician,
    write_pull_lists,
)
from mt_access.register import Register, RegisterOperationError
from mt_access.result import PullEntry, PullList
from mt_access.store.memory import MemoryStore
from register_support import register_state

ROOT = Path(__file__).parent.parent
VOIRONNAIS = (ROOT / "policies" / "voironnais.yaml").read_text(encoding="utf-8")
DAY = dt.date(2026, 3, 2)
COMMUNES = [VOIRON, VOREPPE, MOIRANS, RIVES, TULLINS, COUBLEVIE]
LAST_NAME = "Fictivelle"
FIRST_NAME = "Camillette"
BIRTH_YEAR = "1986"  # the generated patients are 40 on 15/03/2026 (factories.req)


def pull_yaml(*, pick_limit: int | None = None, priority: str = "pull") -> str:
    """The Voironnais policy with its requests on lists shared with GPs."""
    limit = "" if pick_limit is None else f"\n    pick_limit: {pick_limit}"
    head, rest = VOIRONNAIS.split("routing:\n", 1)
    rest = rest.replace(
        "  priority:\n    router: monthly_quota", f"  priority:\n    router: {priority}", 1
    )
    rest = rest.replace(
        "  non_priority:\n    router: monthly_quota", f"  non_priority:\n    router: pull{limit}", 1
    )
    return head + "routing:\n" + rest


def pull_policy(tmp_path: Path, **kw: object) -> mt_access.Policy:
    path = tmp_path / "pull.yaml"
    path.write_text(pull_yaml(**kw), encoding="utf-8")  # type: ignore[arg-type]
    return mt_access.load_policy(path)


POLICY = mt_access.load_policy("voironnais")


def _policy_from_text(text: str, tmp: Path) -> mt_access.Policy:
    path = tmp / "p.yaml"
    path.write_text(text, encoding="utf-8")
    return mt_access.load_policy(path)


def _register(policy: mt_access.Policy, gps: dict[str, tuple[str, int]]) -> Register:
    register = Register(MemoryStore(), policy)
    for pid, (commune, capacity) in gps.items():
        register.add_physician(doc(pid, commune, capacity=None))
        register.join(pid, DAY, monthly_capacity=capacity, modalities=["office"])
    return register


def _waiting(register: Register, commune: str = VOIRON, persons: int = 1, **kw: object) -> str:
    rid = register.next_request_id()
    request = req(rid, commune, persons=persons, received=DAY - dt.timedelta(days=30), **kw)
    register.add_request(
        request,
        PatientIdentity(last_name=LAST_NAME, first_name=FIRST_NAME),
    )
    register.acknowledge(rid, DAY)
    register.confirm(rid, DAY)
    register.to_waiting(rid, DAY)
    return rid


def _entries(lists: tuple[PullList, ...]) -> dict[str, list[PullEntry]]:
    return {x.physician_id: list(x.entries) for x in lists}


# ------------------------------------------------------------------------------------------
# The register's lists


def test_pull_lists_come_from_the_register_and_record_nothing(tmp_path: Path) -> None:
    register = _register(pull_policy(tmp_path), {"MG1": (VOIRON, 2), "MG2": (VOREPPE, 0)})
    a = _waiting(register, VOIRON, persons=2, urgent=True)
    b = _waiting(register, MOIRANS, ald=True)
    before = register_state(register)
    assert register.pull_levels() == ("prioritaire", "non prioritaire")
    lists = register.pull_lists(DAY)
    assert register_state(register) == before
    (only,) = lists  # MG2 has no place: no list
    assert only.physician_id == "MG1"
    assert only.places_left == 2
    first, second = only.entries
    assert first.level == "prioritaire"  # ALD: priority level first
    assert first.level_label == "prioritaire (ALD, patients vulnérables et enfants)"
    assert first.commune_name == "Moirans"
    assert second.level == "non prioritaire"
    assert second.commune_name == "Voiron"
    assert second.urgent
    assert (second.persons, second.household) == (2, 2)
    assert second.waiting_days == 30
    assert second.age_band == "40-49 ans"
    assert first.extra == ()
    text = repr(lists)
    for secret in (a, b, LAST_NAME, FIRST_NAME, BIRTH_YEAR):
        assert secret not in text


def test_a_policy_without_shared_level_has_no_lists() -> None:
    register = _register(POLICY, {"MG1": (VOIRON, 2)})
    rid = _waiting(register)
    assert register.pull_levels() == ()
    assert register.pull_lists(DAY) == ()
    with pytest.raises(RegisterOperationError, match="ne partage aucune liste"):
        register.choose("MG1", "P-AAAA", DAY)
    assert register.file(rid).state is RequestState.WAITING


def test_pull_lists_after_the_levels_above_took_their_places(tmp_path: Path) -> None:
    """Priority requests placed by quota first; the lists show what is left."""
    register = _register(pull_policy(tmp_path, priority="monthly_quota"), {"MG1": (VOIRON, 2)})
    _waiting(register, ald=True)
    _waiting(register)
    _waiting(register)
    assert register.pull_levels() == ("non prioritaire",)
    (lst,) = register.pull_lists(DAY)
    assert lst.places_left == 1
    assert len(lst.entries) == 2
    assert {e.level for e in lst.entries} == {"non prioritaire"}


# ------------------------------------------------------------------------------------------
# A pick


def test_a_pick_is_a_proposal_holding_a_place_and_leaves_every_list(tmp_path: Path) -> None:
    register = _register(
        pull_policy(tmp_path), {"MG1": (VOIRON, 3), "MG2": (VOREPPE, 2), "MG3": (MOIRANS, 1)}
    )
    ids = [_waiting(register, c) for c in (VOIRON, VOREPPE, MOIRANS)]
    lists = register.pull_lists(DAY)
    assert {x.physician_id for x in lists} == {"MG1", "MG2", "MG3"}
    picked = lists[0].entries[1]
    assert all(picked in x.entries or picked.pseudonym in {e.pseudonym for e in x.entries}
               for x in lists)  # fmt: skip
    file = register.choose("MG1", picked.pseudonym, DAY)
    rid = file.id
    assert rid in ids
    assert file.state is RequestState.PROPOSED
    assert file.proposed_to == frozenset({"MG1"})
    last = file.history[-1]
    assert (last.event, last.actor, last.physician_id) == (Event.PROPOSE, Actor.PHYSICIAN, "MG1")
    assert picked.pseudonym not in last.comment
    (held,) = register.ledger.placement_of(rid)
    assert (held.physician_id, held.persons, held.month) == ("MG1", 1, Month.of(DAY))
    assert register.pending_picks("MG1") == (rid,)
    after = register.pull_lists(DAY)
    for x in after:
        assert picked.pseudonym not in {e.pseudonym for e in x.entries}
    mg1 = next(x for x in after if x.physician_id == "MG1")
    assert mg1.places_left == 2
    # the answer: a refusal frees the place, the request is listed again (not to MG1)
    register.answer(rid, "MG1", DAY, accepted=False)
    assert register.ledger.placement_of(rid) == ()
    assert register.pending_picks("MG1") == ()
    again = _entries(register.pull_lists(DAY))
    assert picked.pseudonym not in {e.pseudonym for e in again["MG1"]}
    assert picked.pseudonym in {e.pseudonym for e in again["MG2"]}
    # another GP picks it and accepts: the place stays, taken once
    register.choose("MG2", picked.pseudonym, DAY)
    file = register.answer(rid, "MG2", DAY, accepted=True)
    assert file.state is RequestState.MT_FOUND
    (held,) = register.ledger.placement_of(rid)
    assert held.physician_id == "MG2"


def test_a_pick_of_part_of_a_household(tmp_path: Path) -> None:
    register = _register(pull_policy(tmp_path), {"MG1": (VOIRON, 1), "MG2": (VOIRON, 3)})
    _waiting(register, persons=2)
    entry = _entries(register.pull_lists(DAY))["MG1"][0]
    before = register_state(register)
    with pytest.raises(RegisterOperationError, match=r"n'a plus que 1 place\(s\)"):
        register.choose("MG1", entry.pseudonym, DAY)
    assert register_state(register) == before
    with pytest.raises(RegisterOperationError, match="seules les personnes 1, 2 de ce foyer"):
        register.choose("MG1", entry.pseudonym, DAY, persons=[3])
    assert register_state(register) == before
    file = register.choose("MG1", entry.pseudonym, DAY, persons=[2])
    assert file.proposals == {"MG1": (2,)}
    rest = _entries(register.pull_lists(DAY))
    assert "MG1" not in rest  # no place left
    (left,) = rest["MG2"]
    assert (left.pseudonym, left.persons, left.household) == (entry.pseudonym, 1, 2)


def test_refused_picks_record_nothing(tmp_path: Path) -> None:
    register = _register(
        pull_policy(tmp_path, pick_limit=1),
        {"MG1": (VOIRON, 3), "MG2": (VOREPPE, 0), "MG3": (MOIRANS, 2)},
    )
    register.add_physician(doc("MG4", TULLINS, capacity=None))
    register.join(
        "MG4", DAY, monthly_capacity=2, modalities=["office"], accepted_communes=[TULLINS]
    )
    _waiting(register, VOIRON)
    _waiting(register, VOIRON)
    lists = _entries(register.pull_lists(DAY))
    assert "MG2" not in lists
    assert "MG4" not in lists  # accepts Tullins only
    one, two = lists["MG1"]

    def refused(pid: str, pseudonym: str, pattern: str) -> None:
        before = register_state(register)
        with pytest.raises(RegisterOperationError, match=pattern):
            register.choose(pid, pseudonym, DAY)
        assert register_state(register) == before

    no_longer = "cette demande ne figure plus sur la liste de ce médecin"
    refused("MG1", "P-INCO-NNUE-0000-0000", no_longer)
    refused("MG4", one.pseudonym, no_longer)
    refused("MG2", one.pseudonym, "n'a plus de place en mars 2026")
    refused("MG9", one.pseudonym, "médecin inconnu : MG9")
    register.choose("MG1", one.pseudonym, DAY)
    refused("MG3", one.pseudonym, no_longer)  # picked by MG1 already
    refused("MG1", two.pseudonym, r"déjà 1 demande\(s\) choisie\(s\).*limite de la politique")
    register.choose("MG3", two.pseudonym, DAY)  # the limit is per GP
    register.suspend("MG3", DAY, None)
    refused("MG3", one.pseudonym, "ne prend pas de nouveaux patients")


def test_a_hand_proposal_does_not_count_as_a_pick(tmp_path: Path) -> None:
    register = _register(pull_policy(tmp_path, pick_limit=1), {"MG1": (VOIRON, 3)})
    a = _waiting(register)
    _waiting(register)
    register.propose(a, "MG1", DAY)
    assert register.pending_picks("MG1") == ()
    (entry,) = _entries(register.pull_lists(DAY))["MG1"]
    register.choose("MG1", entry.pseudonym, DAY)
    assert len(register.pending_picks("MG1")) == 1


@functools.cache
def _shared_policy() -> mt_access.Policy:
    return pull_policy(Path(tempfile.mkdtemp()))


@settings(deadline=None)
@given(
    gps=st.lists(st.tuples(st.sampled_from(COMMUNES), st.integers(0, 3)), min_size=1, max_size=4),
    requests=st.lists(
        st.tuples(st.sampled_from(COMMUNES), st.integers(1, 2), st.booleans()),
        min_size=1,
        max_size=8,
    ),
    data=st.data(),
)
def test_a_pick_never_takes_a_request_off_a_list_it_was_not_on(
    gps: list[tuple[str, int]],
    requests: list[tuple[str, int, bool]],
    data: st.DataObject,
) -> None:
    register = _register(_shared_policy(), {f"MG{i}": g for i, g in enumerate(gps)})
    for commune, persons, ald in requests:
        _waiting(register, commune, persons, ald=ald)
    before = register.pull_lists(DAY)
    by_gp = _entries(before)
    everyone = sorted({e.pseudonym for x in before for e in x.entries} | {"P-XXXX"})
    if by_gp and data.draw(st.booleans()):  # half the time, a request on the GP's own list
        pid = data.draw(st.sampled_from(sorted(by_gp)))
        pseudonym = data.draw(st.sampled_from([e.pseudonym for e in by_gp[pid]]))
    else:  # any GP, any pseudonym listed to someone, or one nobody has
        pid = data.draw(st.sampled_from(sorted(f"MG{i}" for i in range(len(gps)))))
        pseudonym = data.draw(st.sampled_from(everyone))
    own = {e.pseudonym: e for e in by_gp.get(pid, [])}
    snapshot = register_state(register)
    places = {x.physician_id: x.places_left for x in before}
    entry = own.get(pseudonym)
    if entry is None or entry.persons > (places.get(pid) or 0):
        with pytest.raises(RegisterOperationError):
            register.choose(pid, pseudonym, DAY)
        assert register_state(register) == snapshot
        assert register.pull_lists(DAY) == before
        return
    register.choose(pid, pseudonym, DAY)
    after = _entries(register.pull_lists(DAY))
    left = {x.physician_id: x.places_left for x in register.pull_lists(DAY)}
    for gp, entries in by_gp.items():
        expected = [e for e in entries if e.pseudonym != pseudonym]
        if gp == pid and places[gp] == entry.persons:
            assert gp not in after  # no place left: no list
        elif not expected:
            assert gp not in after  # nothing left to list
        else:
            assert after[gp] == expected
            taken = entry.persons if gp == pid else 0
            assert left[gp] == places[gp] - taken  # type: ignore[operator]
    assert set(after) <= set(by_gp)


# ------------------------------------------------------------------------------------------
# The batch limit in the policy


def test_pick_limit_is_read_and_bounded(tmp_path: Path) -> None:
    policy = pull_policy(tmp_path, pick_limit=10)
    assert dict(policy.routing_non_priority.params)["pick_limit"] == 10
    assert dict(policy.routing_priority.params)["pick_limit"] == 0  # default: no limit
    for bad, expected in (("-1", "valeur ≥ 0 attendue"), ("1001", "valeur ≤ 1000 attendue"),
                          ("dix", "nombre")):  # fmt: skip
        text = pull_yaml().replace(
            "  non_priority:\n    router: pull",
            f"  non_priority:\n    router: pull\n    pick_limit: {bad}",
        )
        with pytest.raises(PolicyError) as caught:
            _policy_from_text(text, tmp_path)
        message = str(caught.value)
        line = next(i for i, t in enumerate(text.splitlines(), 1) if "pick_limit" in t)
        assert f"p.yaml:{line}:" in message, message
        assert "$.routing.non_priority.pick_limit" in message
        assert expected in message


# ------------------------------------------------------------------------------------------
# Files


def _page(entries: tuple[PullEntry, ...], **kw: object) -> ListPage:
    return ListPage(PullList("MG/01 x", entries, 2), "Dr Test", DAY, "CPTS Test", **kw)  # type: ignore[arg-type]


def test_extra_columns_are_escaped_everywhere(tmp_path: Path) -> None:
    entry = PullEntry(
        "P-1", "prioritaire", 1, 12, VOIRON, "70 ans et plus", 1, "non", 1.25,
        extra=(("Personne isolée", "<b>oui</b> | =1+1"),),
    )  # fmt: skip
    page = _page((entry,), pick_limit=10)
    html = list_html(page)
    assert "&lt;b&gt;oui&lt;/b&gt;" in html
    assert "<b>" not in html
    assert "Personne isolée" in html
    assert "au plus 10 demande(s) à la fois" in html
    md = list_markdown(page)
    assert "\\<b\\>oui\\</b\\> \\| =1+1" in md
    assert list_file_stem("MG/01 x", Month(2026, 3)) == "liste-MG_01_x-2026-03"
    (path,) = write_pull_lists([page], tmp_path / "l", formats=["xlsx"])
    from openpyxl import load_workbook

    book = load_workbook(path)
    sheet = book.active
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    assert rows[0] == [*LIST_COLUMNS, "Personne isolée"]
    assert rows[1][0] == "P-1"
    assert rows[1][-1] == "<b>oui</b> | =1+1"
    assert sheet.cell(2, len(rows[0])).data_type == "s"  # text, not a formula
    # typed columns, to sort and filter: waiting days, distance, persons; yes/no in words
    row = dict(zip(rows[0], rows[1], strict=True))
    assert (row["attente (jours)"], row["distance (km)"], row["personnes"]) == (12, 1.2, 1)
    assert row["soins sous un mois"] == "non"
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == f"A1:{sheet.cell(1, len(rows[0])).column_letter}2"


def test_an_unknown_format_writes_nothing(tmp_path: Path) -> None:
    with pytest.raises(mt_access.ExportError, match="format de liste inconnu"):
        write_pull_lists([_page(())], tmp_path / "x", formats=["xlsx", "pdf"])
    assert not (tmp_path / "x").exists()


# ------------------------------------------------------------------------------------------
# The command line


def _cli_register(tmp_path: Path, text: str) -> tuple[tuple[str, ...], list[str]]:
    from mt_access.store.sqlite import SQLiteStore

    policy_file = tmp_path / "politique.yaml"
    policy_file.write_text(text, encoding="utf-8")
    path = tmp_path / "registre.sqlite"
    assert _run("registre", "creer", str(path), "--politique", str(policy_file))[0] == EXIT_OK
    policy = mt_access.load_policy(policy_file)
    with SQLiteStore(path) as store:
        register = Register(store, policy)
        for pid, commune, capacity in (("MG01", VOIRON, 2), ("MG02", VOREPPE, 1)):
            register.add_physician(doc(pid, commune, capacity=None))
            register.join(pid, DAY, monthly_capacity=capacity, modalities=["office"])
        ids = [_waiting(register, c, ald=(i == 0)) for i, c in enumerate((VOIRON, MOIRANS, RIVES))]
    return ("--registre", str(path)), ids


def test_cli_lists_and_pick_end_to_end(tmp_path: Path) -> None:
    reg, ids = _cli_register(tmp_path, pull_yaml(pick_limit=1))
    folder = tmp_path / "listes"
    code, out, err = _run("listes", "--date", "02/03/2026", "--dossier", str(folder), *reg)
    assert code == EXIT_OK, err
    assert "Listes partagées du 02/03/2026 (mars 2026) : 2 médecin(s)." in out
    assert "Au plus 1 demande(s) choisie(s) à la fois par médecin." in out
    assert "Dr MG01 (MG01) : 3 demande(s), 2 place(s) restante(s)" in out
    assert "prioritaire (ALD" in out
    assert "Moirans" in out
    pseudonyms = re.findall(r"P-[A-Z0-9]{4}(?:-[A-Z0-9]{4}){3}", out)
    assert len(set(pseudonyms)) == 3
    names = sorted(p.name for p in folder.iterdir())
    assert names == [
        f"liste-{gp}-2026-03.{fmt}" for gp in ("MG01", "MG02") for fmt in ("html", "md", "xlsx")
    ]
    for path in folder.iterdir():
        if path.suffix == ".xlsx":
            from openpyxl import load_workbook

            cells = [str(c.value) for row in load_workbook(path).active.iter_rows() for c in row]
            text = "\n".join(cells)
        else:
            text = path.read_text(encoding="utf-8")
        for secret in (LAST_NAME, FIRST_NAME, BIRTH_YEAR, "01/01/", *ids):
            assert secret not in text, (path.name, secret)
        assert pseudonyms[0] in text
    html = (folder / "liste-MG01-2026-03.html").read_text(encoding="utf-8")
    assert '<html lang="fr">' in html
    assert "en attente auprès de la CPTS du Voironnais que vous" in html
    assert "Places qu&#39;il vous reste en mars 2026 : 2." in html
    # one GP, one format
    code, out, _ = _run(
        "listes", "--date", "02/03/2026", "--medecin", "MG02", "--format", "md",
        "--dossier", str(tmp_path / "un"), *reg,
    )  # fmt: skip
    assert code == EXIT_OK
    assert "Dr MG01" not in out
    assert [p.name for p in (tmp_path / "un").iterdir()] == ["liste-MG02-2026-03.md"]
    # two formats in one option
    code, out, _ = _run(
        "listes", "--date", "02/03/2026", "--format", "xlsx, html", "--dossier",
        str(tmp_path / "deux"), *reg,
    )  # fmt: skip
    assert code == EXIT_OK
    assert sorted(p.suffix for p in (tmp_path / "deux").iterdir()) == [".html", ".html",
                                                                      ".xlsx", ".xlsx"]  # fmt: skip
    # the run says the lists exist and how to write them
    code, out, _ = _run("apparier", "--date", "02/03/2026", "--apercu", *reg)
    assert code == EXIT_OK
    assert "Listes partagées : 2 médecin(s) en reçoivent une" in out
    # the pick
    first = pseudonyms[0]
    code, out, err = _run("demande", "choisir", "MG01", first, "--date", "03/03/2026", *reg)
    assert code == EXIT_OK, err
    assert f"Demande {first} choisie par le médecin MG01 le 03/03/2026" in out
    assert "1 place(s) restante(s) en mars 2026" in out
    assert "mt-access medecin repondre MG01" in out
    code, out, err = _run("listes", "--date", "03/03/2026", *reg)
    assert first not in out
    code, out, err = _run("demande", "choisir", "MG02", first, "--date", "03/03/2026", *reg)
    assert code == EXIT_REFUSED
    assert "cette demande ne figure plus sur la liste de ce médecin (MG02)" in err
    assert "rien n'a été enregistré" in err
    second = next(p for p in pseudonyms if p != first)
    code, out, err = _run("demande", "choisir", "MG01", second, "--date", "03/03/2026", *reg)
    assert code == EXIT_REFUSED
    assert "limite de la politique (1 à la fois)" in err
    code, out, err = _run("demande", "liste", "--etat", "proposee", *reg)
    assert out.count("MG01") == 1


def test_cli_lists_refusals(tmp_path: Path) -> None:
    reg, _ = _cli_register(tmp_path, VOIRONNAIS)
    code, out, err = _run("listes", *reg)
    assert code == EXIT_REFUSED
    assert "ne partage aucune liste avec les médecins" in err
    assert "routeur « pull »" in err
    code, _, err = _run("demande", "choisir", "MG01", "P-XXXX", *reg)
    assert code == EXIT_REFUSED
    assert "ne partage aucune liste" in err
    (tmp_path / "b").mkdir()
    reg, _ = _cli_register(tmp_path / "b", pull_yaml())
    code, _, err = _run("listes", "--mois", "2026-03", "--date", "02/03/2026", *reg)
    assert code == EXIT_USAGE
    code, _, err = _run("listes", "--date", "02/03/2026", "--format", "pdf", *reg)
    assert code == EXIT_INVALID_INPUT
    assert "format inconnu « pdf »" in err
    code, _, err = _run("listes", "--medecin", "MG99", *reg)
    assert code == EXIT_REFUSED
    assert "médecin inconnu : MG99" in err
    code, out, _ = _run("listes", "--mois", "2026-03", *reg)
    assert code == EXIT_OK
    assert "Listes partagées du 31/03/2026 (mars 2026)" in out


def test_list_date() -> None:
    from mt_access.cli.pull_commands import list_date

    today = dt.date(2026, 5, 20)
    assert list_date(None, None, today) == today
    assert list_date(Month(2026, 5), None, today) == today
    assert list_date(Month(2026, 3), None, today) == dt.date(2026, 3, 31)
    assert list_date(Month(2026, 7), None, today) == dt.date(2026, 7, 1)
    assert list_date(None, dt.date(2026, 1, 2), today) == dt.date(2026, 1, 2)


def test_shareable_answers_and_only_they_are_on_the_lists(tmp_path: Path) -> None:
    """The answers to questions marked ``shareable`` are columns of the GP's list (and of its
    files); the other answers never are."""
    from question_fixtures import POLICY as QUESTIONS_POLICY

    text = QUESTIONS_POLICY.replace(
        "routing:\n  priority: {router: monthly_quota}\n  non_priority: {router: monthly_quota}",
        "routing:\n  priority: {router: pull}\n  non_priority: {router: pull}",
    )
    policy = _policy_from_text(text, tmp_path)
    register = _register(policy, {"MG1": (VOIRON, 2)})
    _waiting(register, answers={"isole": True, "situation": "Complexe", "traitements": 7})
    (only,) = register.pull_lists(DAY)
    (entry,) = only.entries
    assert entry.extra == (("Personne isolée", "oui"),)
    rows = list_rows(only)
    assert rows[0]["Personne isolée"] == "oui"
    assert "Situation" not in list_columns(only)
    pages = pages_by_physician([only], {"MG1": "Dr Test"}, DAY)
    written = write_pull_lists(pages, tmp_path / "l", formats=["md", "html"])
    body = "".join(p.read_text(encoding="utf-8") for p in written)
    assert "Personne isolée" in body
    assert "Complexe" not in body
    assert "traitements" not in body.lower()


def test_cli_lists_make_only_the_lists_printed_one_at_a_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``listes`` takes the column index: ``--medecin`` makes that GP's list only, and every
    GP's list is made when it is printed (one list held at a time), not all of them first."""
    from mt_access.pull_index import PullIndex

    reg, _ = _cli_register(tmp_path, pull_yaml())
    made: list[str] = []
    original = PullIndex.list_of

    def counted(self: PullIndex, physician_id: str, **kw: Any) -> Any:
        made.append(physician_id)
        return original(self, physician_id, **kw)

    monkeypatch.setattr(PullIndex, "list_of", counted)
    code, out, err = _run("listes", "--date", "02/03/2026", "--medecin", "MG02", *reg)
    assert code == EXIT_OK, err
    assert made == ["MG02"]
    assert "Dr MG02 (MG02)" in out
    made.clear()
    printed: list[str] = []
    original_say = Console.say

    def say(self: Console, text: str = "", *args: Any, **kw: Any) -> None:
        if text.startswith("Dr MG"):
            printed.append(text.split(" ")[1])
            assert made == printed  # each list made when printed, not all of them first
        original_say(self, text, *args, **kw)

    monkeypatch.setattr(Console, "say", say)
    code, _, err = _run("listes", "--date", "02/03/2026", *reg)
    assert code == EXIT_OK, err
    assert made == ["MG01", "MG02"]
