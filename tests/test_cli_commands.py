"""The register commands told in French from end to end: refusals naming the command to run,
erasure asking for confirmation, ``--date`` on every recording command and dates shown
JJ/MM/AAAA, ``apparier`` counts that add up with what they show, places per GP as
``medecin liste`` shows them, ``demande localiser`` without network."""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from cli_support import new_register, ok, run
from mt_access import load_policy
from mt_access.calendar import Month
from mt_access.cli import EXIT_OK, EXIT_REFUSED, EXIT_USAGE
from mt_access.cli.registry import refusal_message
from mt_access.ledger import CapacityDeclared
from mt_access.lifecycle import ALLOWED, Event, IllegalTransitionError, RequestState
from mt_access.register import Register
from mt_access.store.sqlite import SQLiteStore

HEADERS = [
    "Date de réception",
    "Nom",
    "Prénom",
    "Date de naissance",
    "Commune",
    "Adresse",
    "Consentement",
]
ISO_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")
# The lifecycle's internal event names ("refuse" is French too, and is the CLI's own word).
ENGLISH_EVENTS = re.compile(
    r"\b(receive|acknowledge|confirm|not_searching|to_waiting|propose|orient|accept|"
    r"contact_succeeded|contact_failed|withdraw|out_of_scope|other_solution|close)\b"
)


def _export(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream, delimiter=";")
        writer.writerow(HEADERS)
        writer.writerows(rows)
    return path


def _person(n: int, received: str = "02/03/2026") -> list[str]:
    return [received, "Fictif", f"Personne{n}", f"0{1 + n % 9}/01/1970", "Voiron",
            f"{n} rue Imaginaire 38500 Voiron", "Oui"]  # fmt: skip


@pytest.fixture
def register(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return new_register(tmp_path, monkeypatch, "voironnais")


def _import(tmp_path: Path, rows: list[list[str]], name: str = "formulaire.csv") -> list[str]:
    out = ok("import", str(_export(tmp_path / name, rows)), "--formulaire", "generique",
             "--sans-progression", "--date", "02/03/2026")  # fmt: skip
    first, last = re.search(r"Demandes créées : (\S+) à (\S+)\.", out).groups()  # type: ignore[union-attr]
    prefix, a = first.rsplit("-", 1)
    b = last.rsplit("-", 1)[1]
    return [f"{prefix}-{n:0{len(a)}d}" for n in range(int(a), int(b) + 1)]


def _gp(capacity: int = 4, gp: str = "MG1") -> None:
    ok("medecin", "ajouter", gp, "--nom", f"Dr {gp}", "--commune", "Voiron")
    ok("medecin", "adherer", gp, "--capacite", str(capacity), "--date", "01/03/2026")


def _to_waiting(*requests: str, on: str = "05/03/2026") -> None:
    for rid in requests:
        ok("demande", "accuser", rid, "--date", on)
        ok("demande", "confirmer", rid, "--date", on)


# ------------------------------------------------------------------------------------------
# Refusals in French


def test_confirm_right_after_import_names_the_command_to_run(
    tmp_path: Path, register: Path
) -> None:
    (rid,) = _import(tmp_path, [_person(1)])
    code, _out, err = run("demande", "confirmer", rid, "--date", "03/03/2026")
    assert code == EXIT_REFUSED
    assert (
        f"impossible : la demande {rid} est « reçue » ; faites d'abord "
        f"« mt-access demande accuser {rid} »" in err
    ), err
    assert not ENGLISH_EVENTS.search(err), err
    _gp()
    code, _, err = run("medecin", "repondre", "MG1", rid, "accepte", "--date", "03/03/2026")
    assert code == EXIT_REFUSED
    assert f"faites d'abord « mt-access demande accuser {rid} »" in err
    _to_waiting(rid)
    code, _, err = run("medecin", "repondre", "MG1", rid, "accepte", "--date", "06/03/2026")
    assert code == EXIT_REFUSED
    assert "faites d'abord « mt-access apparier » ou « mt-access demande proposer" in err, err
    code, _, err = run("demande", "accuser", rid, "--date", "06/03/2026")
    assert code == EXIT_REFUSED
    assert "cette étape est passée ; étape suivante : « mt-access apparier »" in err, err
    assert not ENGLISH_EVENTS.search(err), err


def test_every_refusal_is_french_and_names_a_command() -> None:
    for state in RequestState:
        for event in Event:
            if event in ALLOWED[state]:
                continue
            message = refusal_message(
                IllegalTransitionError("voironnais-000001", state, event, ALLOWED[state])
            )
            assert message.startswith("impossible : la demande voironnais-000001 est « ")
            assert not ENGLISH_EVENTS.search(message), message
            assert state.value not in message.split("« mt-access")[0], message
            if ALLOWED[state]:
                assert "« mt-access " in message, message
            else:
                assert "plus aucun événement" in message


def test_refusal_dates_read_jj_mm_aaaa(tmp_path: Path, register: Path) -> None:
    (rid,) = _import(tmp_path, [_person(1)])
    ok("demande", "accuser", rid, "--date", "10/03/2026")
    code, _, err = run("demande", "confirmer", rid, "--date", "09/03/2026")
    assert code == EXIT_REFUSED
    assert "09/03/2026" in err, err
    assert "10/03/2026" in err, err
    assert not ISO_DATE.search(err), err
    code, _, err = run("demande", "position", rid, "--date", "01/03/2026")
    assert code != EXIT_OK
    assert "reçue le 02/03/2026, après le 01/03/2026" in err, err
    assert not ISO_DATE.search(err), err
    _gp()
    code, _, err = run("medecin", "reprendre", "MG1", "--date", "04/03/2026")
    assert code == EXIT_REFUSED
    assert "n'est pas suspendu le 04/03/2026" in err, err
    assert not ISO_DATE.search(err), err


# ------------------------------------------------------------------------------------------
# Erasure


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_erasure_asks_for_confirmation(
    tmp_path: Path, register: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = _import(tmp_path, [_person(1), _person(2)])

    def erased(rid: str) -> dt.date | None:
        with SQLiteStore(register, readonly=True) as store:
            return store.erased_on(rid)

    # no terminal (a script, a pipe): refused with a hint, nothing erased
    monkeypatch.setattr(sys, "stdin", io.StringIO("o\n"))
    code, out, err = run("demande", "effacer", first, "--date", "10/03/2026")
    assert code == EXIT_USAGE
    assert "--oui" in err
    assert "définitif" in err
    assert erased(first) is None
    # a terminal, answered no: nothing erased
    monkeypatch.setattr(sys, "stdin", _Terminal("n\n"))
    code, out, err = run("demande", "effacer", first, "--date", "10/03/2026")
    assert code == EXIT_OK
    assert f"Effacer définitivement les données personnelles de la demande {first} ? [o/N]" in err
    assert "Effacement annulé" in out
    assert erased(first) is None
    # a terminal, answered yes
    monkeypatch.setattr(sys, "stdin", _Terminal("o\n"))
    code, out, err = run("demande", "effacer", first, "--date", "10/03/2026")
    assert code == EXIT_OK, err
    assert f"Demande {first} : données personnelles effacées le 10/03/2026" in out
    assert "historique pseudonymisé" in out
    assert erased(first) == dt.date(2026, 3, 10)
    # --oui, without a terminal
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    out = ok("demande", "effacer", second, "--oui", "--date", "11/03/2026")
    assert "données personnelles effacées le 11/03/2026" in out
    assert "Fictif" not in out
    # twice: refused, not asked
    code, _, err = run("demande", "effacer", second, "--oui")
    assert code == EXIT_REFUSED
    assert "déjà effacées" in err


# ------------------------------------------------------------------------------------------
# --date on every recording command, dates shown JJ/MM/AAAA


def test_every_recording_command_records_its_date(tmp_path: Path, register: Path) -> None:
    shown: list[str] = []

    def rec(*args: str) -> None:
        shown.append(ok(*args))

    rows = [_person(n) for n in range(1, 7)]
    rows[0][0] = ""  # no date of reception: --date of the import
    ids = _import(tmp_path, rows)
    ok("medecin", "ajouter", "MG1", "--nom", "Dr MG1", "--commune", "Voiron")
    rec("medecin", "adherer", "MG1", "--capacite", "4", "--date", "01/03/2026")
    rec("medecin", "capacite", "MG1", "5", "--date", "03/03/2026")
    a, b, c, d, e, f = ids
    rec("demande", "accuser", a, "--date", "04/03/2026")
    rec("demande", "confirmer", a, "--sans-attente", "--date", "05/03/2026")
    rec("demande", "attente", a, "--date", "06/03/2026")
    rec("demande", "contact", a, "joint", "--date", "07/03/2026")
    rec("demande", "proposer", a, "MG1", "--date", "08/03/2026")
    rec("medecin", "repondre", "MG1", a, "accepte", "--date", "09/03/2026")
    for rid in (b, c):
        rec("demande", "accuser", rid, "--date", "04/03/2026")
        rec("demande", "confirmer", rid, "--date", "05/03/2026")
    rec("apparier", "--date", "12/03/2026")
    rec("demande", "cloturer", d, "retrait", "--date", "13/03/2026")
    rec("demande", "effacer", e, "--oui", "--date", "14/03/2026")
    rec("medecin", "suspendre", "MG1", "--date", "16/03/2026", "--jusqu-au", "31/03/2026")
    rec("medecin", "reprendre", "MG1", "--date", "20/03/2026")
    rec("medecin", "retirer", "MG1", "--date", "25/03/2026")

    with SQLiteStore(register, readonly=True) as store:
        reg = Register(store, load_policy("voironnais"))
        assert reg.request(a).received == dt.date(2026, 3, 2)
        events = {(t.event, t.on) for t in reg.history(a)}
        assert {
            (Event.ACKNOWLEDGE, dt.date(2026, 3, 4)),
            (Event.CONFIRM, dt.date(2026, 3, 5)),
            (Event.TO_WAITING, dt.date(2026, 3, 6)),
            (Event.CONTACT_SUCCEEDED, dt.date(2026, 3, 7)),
            (Event.PROPOSE, dt.date(2026, 3, 8)),
            (Event.ACCEPT, dt.date(2026, 3, 9)),
        } <= events
        assert reg.runs()[-1].on == dt.date(2026, 3, 12)
        for rid in (b, c):
            assert (Event.PROPOSE, dt.date(2026, 3, 12)) in {
                (t.event, t.on) for t in reg.history(rid)
            }
        assert reg.history(d)[-1].on == dt.date(2026, 3, 13)
        assert store.erased_on(e) == dt.date(2026, 3, 14)
        assert reg.history(e)[-1].on == dt.date(2026, 3, 14)
        assert reg.request(f).received == dt.date(2026, 3, 2)
        gp = reg.physician("MG1")
        assert [c.on for c in gp.status_history] == [
            dt.date(2026, 3, 1),
            dt.date(2026, 3, 16),
            dt.date(2026, 3, 20),
            dt.date(2026, 3, 25),
        ]
        declared = [x.on for x in reg.ledger.entries if isinstance(x, CapacityDeclared)]
        assert declared == [dt.date(2026, 3, 1), dt.date(2026, 3, 3)]
    text = "\n".join(shown)
    assert not ISO_DATE.search(text), text
    for day in ("01/03/2026", "12/03/2026", "16/03/2026", "25/03/2026", "14/03/2026"):
        assert day in text
    assert "mars 2026" in text


def test_the_import_date_is_the_default_reception_date(tmp_path: Path, register: Path) -> None:
    rows = [_person(1, received="")]
    out = ok("import", str(_export(tmp_path / "f.csv", rows)), "--formulaire", "generique",
             "--sans-progression", "--date", "27/02/2026")  # fmt: skip
    rid = re.search(r"Demandes créées : (\S+) à", out).group(1)  # type: ignore[union-attr]
    with SQLiteStore(register, readonly=True) as store:
        reg = Register(store, load_policy("voironnais"))
        assert reg.request(rid).received == dt.date(2026, 2, 27)
        assert reg.history(rid)[0].on == dt.date(2026, 2, 27)


def test_events_default_to_today(tmp_path: Path, register: Path) -> None:
    rows = [_person(1, received=f"{dt.date.today() - dt.timedelta(days=1):%d/%m/%Y}")]
    out = ok("import", str(_export(tmp_path / "f.csv", rows)), "--formulaire", "generique",
             "--sans-progression")  # fmt: skip
    rid = re.search(r"Demandes créées : (\S+) à", out).group(1)  # type: ignore[union-attr]
    ok("demande", "accuser", rid)
    with SQLiteStore(register, readonly=True) as store:
        reg = Register(store, load_policy("voironnais"))
        assert reg.history(rid)[-1].on == dt.date.today()


# ------------------------------------------------------------------------------------------
# apparier: counts that add up, places per GP as `medecin liste` shows them

_COUNTS = re.compile(
    r"^(\d+) demande\(s\) en liste d'attente examinée\(s\) : (.*)\.$", re.MULTILINE
)


def _categories(text: str) -> tuple[int, dict[str, int]]:
    match = _COUNTS.search(text)
    assert match, text
    parts: dict[str, int] = {}
    for part in match.group(2).split(", "):
        n, label = re.match(r"(\d+) (.*?)( \(\d+ personnes?\))?$", part).groups()[:2]  # type: ignore[union-attr]
        parts[label] = int(n)
    return int(match.group(1)), parts


def _table_ids(text: str, title: str) -> list[str]:
    if title not in text:
        return []
    block = text.split(title, 1)[1].split("\n\n", 1)[0]
    return re.findall(r"^(\S+-\d+)\s", block, re.MULTILINE)


def test_apparier_counts_add_up_and_list_what_was_left_out(tmp_path: Path, register: Path) -> None:
    ids = _import(tmp_path, [_person(n) for n in range(1, 7)])
    _gp(capacity=1)
    a, b, c, late, _received, acknowledged = ids
    _to_waiting(a, b, c)
    _to_waiting(late, on="20/03/2026")  # waiting since after the run's date
    ok("demande", "accuser", acknowledged, "--date", "05/03/2026")
    for apercu in (("--apercu",), ()):
        code, out, err = run("apparier", "--date", "15/03/2026", *apercu)
        assert code == EXIT_OK, err
        total, parts = _categories(out)
        assert total == 4
        assert sum(parts.values()) == total, out
        assert parts["laissée(s) de côté"] == 1
        assert parts["attribuée(s)"] == 1
        assert _table_ids(out, "Demandes laissées de côté") == [late]
        shown = (
            _table_ids(out, "Demandes attribuées à un médecin")
            + _table_ids(out, "Demandes orientées")
            + _table_ids(out, "Demandes en attente")
            + _table_ids(out, "Demandes hors dispositif")
            + _table_ids(out, "Demandes laissées de côté")
        )
        assert sorted(shown) == sorted([a, b, c, late]), out
        assert "Non examinées (pas en liste d'attente) : 1 reçue(s) sans accusé" in out
        assert "1 à confirmer par le patient" in out
    _, out, _ = run("apparier", "--date", "15/03/2026", "--apercu")
    assert "1 déjà proposée(s) à un médecin" in out


def test_apparier_counts_add_up_on_the_demo(tmp_path: Path) -> None:
    folder = tmp_path / "demo"
    ok("demo", "--dossier", str(folder))
    reg = str(folder / "registre.sqlite")
    code, out, err = run("apparier", "--registre", reg, "--date", "31/03/2026", "--apercu")
    assert code == EXIT_OK, err
    total, parts = _categories(out)
    assert sum(parts.values()) == total, out
    with SQLiteStore(folder / "registre.sqlite", readonly=True) as store:
        assert total == len(Register(store, load_policy("voironnais")).waiting())


def _places(text: str, gp: str) -> tuple[int, ...]:
    match = re.search(rf"\({gp}\)\s+Voiron\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)$", text, re.MULTILINE)
    assert match, text
    return tuple(int(x) for x in match.groups())


def _listed(gp: str, on: str) -> tuple[int, ...]:
    out = ok("medecin", "liste", "--date", on)
    match = re.search(rf"^{gp}\s.*\s(\d+)\s+(\d+)\s+(\d+)$", out, re.MULTILINE)
    assert match, out
    return tuple(int(x) for x in match.groups())


def test_places_per_gp_agree_with_medecin_liste_over_two_runs(
    tmp_path: Path, register: Path
) -> None:
    _gp(capacity=4)
    first = _import(tmp_path, [_person(n) for n in range(1, 3)], "un.csv")
    _to_waiting(*first)
    out = ok("apparier", "--date", "10/03/2026")
    assert _places(out, "MG1") == (4, 0, 2, 2)  # capacity, taken before, attributed, left
    assert _listed("MG1", "10/03/2026") == (4, 2, 2)  # capacity, taken, left

    second = _import(tmp_path, [_person(n) for n in range(3, 6)], "deux.csv")
    _to_waiting(*second, on="12/03/2026")
    preview = ok("apparier", "--date", "20/03/2026", "--apercu")
    assert _places(preview, "MG1") == (4, 2, 2, 0)
    out = ok("apparier", "--date", "20/03/2026")
    capacity, before, attributed, left = _places(out, "MG1")
    assert (capacity, before, attributed, left) == (4, 2, 2, 0)
    assert _listed("MG1", "20/03/2026") == (capacity, before + attributed, left)
    assert "Places du mois mars 2026 par médecin" in out
    assert Month(2026, 3).label == "mars 2026"


# ------------------------------------------------------------------------------------------
# demande localiser without network

_PATCHED_MAIN = """
import functools, sys
import mt_access.geo.geocoding as geocoding
geocoding.BANGeocoder = functools.partial(
    geocoding.BANGeocoder, min_delay_seconds=0, error_wait_seconds=0, timeout=5, proxies={}
)
from mt_access.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _localise(register: Path, domain: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env["PYTHONPATH"] = os.pathsep.join(
        [str(Path(__file__).parent.parent / "src"), env.get("PYTHONPATH", "")]
    )
    return subprocess.run(
        [sys.executable, "-c", _PATCHED_MAIN, "demande", "localiser", "--registre",
         str(register), "--ban", domain, "--http", "--sans-progression"],
        capture_output=True, text=True, env=env, timeout=300, check=False,
    )  # fmt: skip


def test_localiser_without_network_says_each_failure_in_french(
    tmp_path: Path, register: Path
) -> None:
    ids = _import(tmp_path, [_person(n) for n in range(1, 6)])
    done = _localise(register, f"127.0.0.1:{_closed_port()}")
    assert done.returncode == EXIT_OK, done.stderr
    assert "Traceback" not in done.stderr
    assert "Error" not in done.stderr + done.stdout
    assert done.stderr.strip() == "", done.stderr
    lines = done.stdout.strip().splitlines()
    for rid in ids:
        assert (
            f"demande {rid} : adresse non localisée (réseau injoignable) ; point de sa commune"
            in lines
        )
    assert lines[-1] == (
        "0 adresse(s) localisée(s), 5 en échec (réseau injoignable) ; relancez plus tard "
        "« mt-access demande localiser » pour les adresses en échec."
    )
    assert "rue Imaginaire" not in done.stdout
    assert "Fictif" not in done.stdout


def test_localiser_summary_adds_up(tmp_path: Path, register: Path) -> None:
    from ban_server import BANServer, Reply, feature

    _import(tmp_path, [_person(n) for n in range(1, 5)])
    with BANServer() as server:
        server.answer("1 rue Imaginaire 38500 Voiron", feature(45.3646, 5.5897))
        server.answer("2 rue Imaginaire 38500 Voiron", feature(45.3650, 5.5900))
        server.default = Reply(features=())
        done = _localise(register, server.domain)
    assert done.returncode == EXIT_OK, done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stdout.strip().splitlines()
    failed = [line for line in lines if line.startswith("demande ")]
    assert len(failed) == 2, done.stdout
    assert all("(adresse introuvable)" in line for line in failed)
    assert lines[-1] == "2 adresse(s) localisée(s), 2 en échec (adresse introuvable).", lines
