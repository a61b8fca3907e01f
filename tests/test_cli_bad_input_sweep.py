"""Bad input given to ``mt-access``: every command ends with one French line on stderr
(``erreur : ...``) and a documented exit code, never a traceback, English text or a hang.
Generated data only."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cli_support import new_register, run
from mt_access.cli.common import EXIT_INVALID_INPUT, EXIT_OK, EXIT_STORE, EXIT_USAGE

SRC = Path(__file__).resolve().parents[1] / "src"


def _french_error(err: str) -> None:
    assert "Traceback" not in err, err
    assert "erreur :" in err, err


# --- serve ----------------------------------------------------------------------------------


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """A register and ``waitress.serve`` replaced by a recorder (nothing listens)."""
    pytest.importorskip("waitress")
    new_register(tmp_path, monkeypatch, "voironnais")
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr("waitress.serve", lambda app, **kw: calls.append(kw))
    return calls


@pytest.mark.parametrize("port", ["99999", "0", "-1", "65536", "9" * 40])
def test_serve_refuses_a_port_out_of_range(served: list[dict[str, Any]], port: str) -> None:
    code, out, err = run("serve", "--port", port)
    assert code == EXIT_USAGE
    assert "port entre 1 et 65535 attendu" in err
    assert out == ""
    assert served == []


@pytest.mark.parametrize("host", ["", "a b", "a;b", "a_b", "é.fr"])
def test_serve_refuses_what_is_not_an_address(served: list[dict[str, Any]], host: str) -> None:
    code, out, err = run("serve", "--hote", host)
    assert code == EXIT_USAGE
    assert "adresse IP ou nom de machine attendu" in err
    assert out == ""
    assert served == []


def test_serve_refuses_a_host_name_that_does_not_resolve(
    served: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    def unknown(*args: Any, **kwargs: Any) -> Any:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", unknown)
    code, out, err = run("serve", "--hote", "serveur.inconnu")
    assert code == EXIT_USAGE
    assert "« serveur.inconnu » est un nom inconnu" in err
    assert "Name or service" not in err
    assert "ValueError" not in err
    assert out == ""
    assert served == []


def test_serve_refuses_a_port_already_in_use(served: list[dict[str, Any]]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, out, err = run("serve", "--port", str(port))
    assert code == EXIT_STORE
    assert f"le port {port} est déjà utilisé" in err
    assert "EADDRINUSE" not in err
    assert out == ""
    assert served == []


def test_serve_stops_cleanly_on_sigterm(
    served: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """SIGTERM stops the server as Ctrl-C does: waitress returns, the worker process is shut
    down, and the previous handler is put back."""
    pytest.importorskip("flask")
    from mt_access.web import dashboard_figures

    shut: list[bool] = []
    monkeypatch.setattr(dashboard_figures, "warm_up", lambda app: None)
    monkeypatch.setattr(dashboard_figures, "shut_down", lambda app: shut.append(True))
    stopped: list[bool] = []
    unhandled: list[int] = []

    def fake_serve(app: Any, **kw: Any) -> None:
        try:  # waitress catches SystemExit and returns
            signal.raise_signal(signal.SIGTERM)
        except SystemExit:
            stopped.append(True)

    monkeypatch.setattr("waitress.serve", fake_serve)

    def recorder(signum: int, frame: object) -> None:
        unhandled.append(signum)

    previous = signal.signal(signal.SIGTERM, recorder)
    try:
        code, _, err = run("serve", "--port", str(_free_port()))
        assert signal.getsignal(signal.SIGTERM) is recorder  # put back after serve
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert (code, stopped, shut, unhandled) == (EXIT_OK, [True], [True], [])
    assert "mt-access arrêté." in err


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[subprocess.Popen[str]]:
    """``mt-access serve`` in a process of its own (its own process group), once it answers:
    its worker process computing the month's figures is started by then."""
    pytest.importorskip("waitress")
    path = new_register(tmp_path, monkeypatch, "voironnais")
    port = _free_port()
    env = dict(os.environ, PYTHONPATH=str(SRC), MT_ACCESS_REGISTRE=str(path))
    process = subprocess.Popen(
        [sys.executable, "-m", "mt_access.cli", "serve", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert process.stdout is not None
        assert f":{port}/" in process.stdout.readline()
        for _ in range(600):  # until it accepts a connection
            try:
                socket.create_connection(("127.0.0.1", port), timeout=5).close()
                break
            except OSError:
                time.sleep(0.1)
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.communicate()


@pytest.mark.parametrize(
    ("how", "group"), [(signal.SIGTERM, False), (signal.SIGINT, True)], ids=["term", "ctrl-c"]
)
def test_serve_shuts_down_without_english_output(
    server: subprocess.Popen[str], how: signal.Signals, group: bool
) -> None:
    """Stopped by SIGTERM (a service manager) or by Ctrl-C (SIGINT to the terminal's whole
    process group, the worker process included): one French line, no warning about leaked
    semaphores, no interruption printed by the worker."""
    if group:
        os.killpg(server.pid, how)
    else:
        server.send_signal(how)
    _, err = server.communicate(timeout=120)
    assert server.returncode == EXIT_OK, err
    assert err.strip().splitlines()[-1] == "mt-access arrêté.", err
    for english in ("Warning", "leaked", "Traceback", "Process", "KeyboardInterrupt"):
        assert english not in err, err


# --- policies -------------------------------------------------------------------------------


def test_a_policy_not_in_utf8_is_told_in_french_with_its_line(tmp_path: Path) -> None:
    policy = tmp_path / "politique.yaml"
    policy.write_bytes("version: 1\n# Cœur de la CPTS, médecins\n".encode("cp1252"))
    code, out, err = run("politique", "verifier", str(policy))
    assert code == EXIT_INVALID_INPUT
    assert "encodé en UTF-8 (caractère illisible ligne 2" in err
    assert "invalid" not in err
    assert "byte" not in err
    assert out == ""


# --- demo -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("option", "value", "expected"),
    [
        ("--demandes", "-5", "--demandes : -5 refusé ; entier entre 0 et 1 000 attendu"),
        ("--demandes", "99999999999", "entier entre 0 et 1 000 attendu"),  # was a hang
        ("--historique", "999999", "--historique : 999999 refusé ; entier entre 0 et 36"),
        ("--historique", "-1", "entier entre 0 et 36 attendu"),
    ],
)
def test_demo_refuses_counts_out_of_range(
    tmp_path: Path, option: str, value: str, expected: str
) -> None:
    folder = tmp_path / "demo"
    code, out, err = run("demo", "--dossier", str(folder), option, value)
    assert code == EXIT_INVALID_INPUT
    assert expected in err
    assert "interne" not in err
    assert out == ""
    assert not folder.exists()  # refused before anything is written


# --- dates and months -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ("carte", "--date", "01/01/0001"),  # was an internal error (months start in 1900)
        ("carte", "--date", "1899-12-31"),
        ("apparier", "--apercu", "--date", "31/12/9999"),
        ("rapport", "--mois", "9999-12"),  # was « (year 10000 is out of range) »
        ("rapport", "--mois", "12/9999"),
        ("listes", "--mois", "1899-12"),
    ],
)
def test_dates_and_months_outside_the_possible_years_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, argv: tuple[str, ...]
) -> None:
    new_register(tmp_path, monkeypatch, "voironnais")
    code, out, err = run(*argv)
    assert code == EXIT_USAGE
    assert "hors de la période possible" in err
    assert "année de 1900 à 2199 attendue" in err
    assert "interne" not in err
    assert "out of range" not in err
    assert out == ""


# --- output paths ---------------------------------------------------------------------------


@pytest.fixture
def demo_register(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The demo's register (generated), made the working register, in a working folder."""
    folder = tmp_path / "demo"
    code, _, err = run("demo", "--dossier", str(folder), "--demandes", "12")
    assert code == EXIT_OK, err
    monkeypatch.setenv("MT_ACCESS_REGISTRE", str(folder / "registre.sqlite"))
    monkeypatch.chdir(tmp_path)
    return folder / "registre.sqlite"


def _runs(path: Path) -> int:
    from mt_access.store.sqlite import SQLiteStore

    with SQLiteStore(path) as store:
        return len(store.runs())


def test_match_letters_into_a_file_is_refused_before_the_run(demo_register: Path) -> None:
    Path("courriers.txt").write_text("", encoding="utf-8")
    before = _runs(demo_register)
    code, out, err = run("apparier", "--courriers", "courriers.txt", "--date", "15/04/2026")
    assert code == EXIT_STORE
    assert "erreur : --courriers : courriers.txt est un fichier, pas un dossier" in err
    assert _runs(demo_register) == before  # nothing recorded
    assert out == ""


def test_match_letters_that_cannot_be_written_are_told_in_french(demo_register: Path) -> None:
    Path("courriers.txt").write_text("", encoding="utf-8")
    code, _, err = run("apparier", "--courriers", "courriers.txt/avril", "--date", "15/04/2026")
    assert code == EXIT_STORE
    assert "les courriers n'ont pas pu être écrits (courriers.txt/avril : un élément" in err
    assert "Errno" not in err


def test_smtp_settings_given_as_a_folder_are_told_so(demo_register: Path) -> None:
    Path("reglages").mkdir(mode=0o700)
    code, _, err = run("envoyer", "--envoyer", "--smtp", "reglages")
    assert code == EXIT_INVALID_INPUT
    assert "fichier de réglages SMTP reglages : c'est un dossier" in err
    assert "chmod" not in err


# --- register locations ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ("registre", "creer", "mysql://coordination:secret@serveur/cpts", "--politique",
         "voironnais"),
        ("registre", "copier", "registre.sqlite", "mysql://coordination:secret@serveur/cpts"),
        ("demande", "liste", "--registre", "mysql://coordination:secret@serveur/cpts"),
        ("journal", "--registre", "mysql://coordination:secret@serveur/cpts"),
    ],
)  # fmt: skip
def test_a_register_url_other_than_postgresql_is_named_by_its_scheme_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, argv: tuple[str, ...]
) -> None:
    new_register(tmp_path, monkeypatch, "voironnais")
    code, out, err = run(*argv)
    assert code == EXIT_STORE
    assert "erreur : registre : adresse « mysql://… » non reconnue" in err
    assert "secret" not in err  # was shown (« mysql:/coordination:secret@... »)
    assert out == ""
    assert not (tmp_path / "mysql:").exists()


# --- counts ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (("medecin", "importer", "medecins.csv", "--max-problemes", "-1"),
         "--max-problemes : -1 refusé ; entier entre 0 et 100 000 attendu"),
        (("reprise", "suivi.csv", "--formulaire", "suivi.yaml", "--max-problemes", "-3"),
         "--max-problemes : -3 refusé"),
        (("formulaire", "tester", "export.csv", "voironnais", "--lignes", "-5"),
         "--lignes : -5 refusé ; entier entre 1 et 1 000 attendu"),
        (("formulaire", "tester", "export.csv", "voironnais", "--lignes", "9" * 30),
         "--lignes : nombre trop grand refusé"),
    ],
)  # fmt: skip
def test_counts_out_of_range_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, argv: tuple[str, ...], expected: str
) -> None:
    """A negative number of problems shown hid the last ones and miscounted the others."""
    new_register(tmp_path, monkeypatch, "voironnais")
    code, out, err = run(*argv)
    assert code == EXIT_INVALID_INPUT
    assert expected in err
    assert out == ""


# --- accounts -------------------------------------------------------------------------------


@pytest.mark.parametrize("ending", ["no-terminal", "ctrl-d"])
def test_a_password_without_a_terminal_is_told_in_french(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    ending: str
) -> None:  # fmt: skip
    """Without a terminal, getpass warned in English (« GetPassWarning: Can not control
    echo », « Password input may be echoed ») then failed with an internal EOFError."""
    pytest.importorskip("argon2")
    import getpass
    import io

    new_register(tmp_path, monkeypatch, "voironnais")
    monkeypatch.delenv("MT_ACCESS_MOT_DE_PASSE", raising=False)
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))

    def no_terminal(prompt: str = "") -> str:  # what getpass does without /dev/tty
        return getpass.fallback_getpass(prompt)

    def ctrl_d(prompt: str = "") -> str:
        raise EOFError

    monkeypatch.setattr(getpass, "getpass", no_terminal if ending == "no-terminal" else ctrl_d)
    code, out, err = run("utilisateur", "ajouter", "lea", "--role", "lecture")
    printed = capsys.readouterr()
    assert code == EXIT_INVALID_INPUT
    assert "pas de terminal où taper le mot de passe" in err
    assert "MT_ACCESS_MOT_DE_PASSE" in err
    assert "Warning" not in printed.err + err
    assert "interne" not in err
    assert out == ""


@pytest.mark.parametrize(
    ("gp_id", "name", "expected"),
    [
        ("MG900", "", "--nom : nom du médecin attendu"),
        ("MG900", "   ", "--nom : nom du médecin attendu"),
        ("", "Dr Essai", "identifiant du médecin : identifiant vide"),
        ("M" * 65, "Dr Essai", "identifiant du médecin : 64 caractères au plus attendus"),
        ("MG/900", "Dr Essai", "identifiant du médecin : « / » et « \\ » interdits"),
        ("..", "Dr Essai", "identifiant du médecin : « / » et « \\ » interdits"),
        ("MG\x1b900", "Dr Essai", "identifiant du médecin : caractère de contrôle"),
    ],
)
def test_a_gp_without_id_or_name_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, gp_id: str, name: str, expected: str
) -> None:
    """As « medecin importer » refuses such a row (an empty name was recorded)."""
    from mt_access.store.sqlite import SQLiteStore

    path = new_register(tmp_path, monkeypatch, "voironnais")
    code, _, err = run("medecin", "ajouter", gp_id, "--nom", name, "--commune", "Voiron")
    assert code == EXIT_INVALID_INPUT
    assert expected in err
    with SQLiteStore(path) as store:
        assert store.physicians() == []


def test_an_rpps_number_with_a_wrong_key_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As « medecin importer » refuses it in a row; spaces are taken out."""
    from mt_access.store.sqlite import SQLiteStore

    path = new_register(tmp_path, monkeypatch, "voironnais")
    add = ("medecin", "ajouter", "MG900", "--nom", "Dr Essai", "--commune", "Voiron", "--rpps")
    code, _, err = run(*add, "10000000000")
    assert code == EXIT_INVALID_INPUT
    assert "--rpps : numéro RPPS attendu : 11 chiffres dont le dernier est la clé" in err
    with SQLiteStore(path) as store:
        assert store.physicians() == []
    code, _, err = run(*add, "10 0000 0000 9")
    assert code == 0, err
    with SQLiteStore(path) as store:
        assert [p.rpps for p in store.physicians()] == ["10000000009"]


@pytest.mark.parametrize("name", ["", ".", "/"])
def test_a_form_export_without_a_file_name_is_told_in_french(name: str) -> None:
    """« formulaire deduire '' » wrote its mapping beside a file with no name: an internal
    error (found by running every command with odd values for each argument)."""
    code, _, err = run("formulaire", "deduire", name)
    assert code == EXIT_INVALID_INPUT
    assert err == f"erreur : « {name} » : fichier de l'export attendu (.csv, .txt ou .xlsx)\n"


# --- closed streams -------------------------------------------------------------------------


def test_a_command_run_with_its_output_closed_ends_well(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``mt-access demande liste >&-``: Python has no standard output (``sys.stdout`` is
    None); the results go nowhere instead of an internal AttributeError."""
    import io

    from mt_access.cli import main

    new_register(tmp_path, monkeypatch, "voironnais")
    monkeypatch.setattr(sys, "stdout", None)
    err = io.StringIO()
    assert main(["demande", "liste"], err=err) == EXIT_OK
    assert err.getvalue() == ""


@pytest.mark.parametrize("name", ["carte.png", "carte", "carte.pdf"])
def test_the_map_is_written_as_html_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    """An HTML page was written under any name (« carte.png » that no viewer opens)."""
    new_register(tmp_path, monkeypatch, "voironnais")
    code, out, err = run("carte", "--sortie", name, "--sans-fond")
    assert code == EXIT_INVALID_INPUT
    assert f"erreur : {name} : la carte s'écrit en .html" in err
    assert out == ""
    assert not (tmp_path / name).exists()


# --- geocoding cache ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("garbage", "cache de géocodage illisible (ce fichier n'est pas une base SQLite)"),
        ("folder", "ouverture du cache de géocodage impossible (fichier impossible à ouvrir"),
    ],
)
def test_a_geocoding_cache_that_is_not_one_is_told_in_french(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str, expected: str
) -> None:
    """SQLite's English (« file is not a database », « unable to open database file ») was
    shown between the parentheses."""
    new_register(tmp_path, monkeypatch, "voironnais")
    cache = tmp_path / "cache.sqlite"
    if kind == "garbage":
        cache.write_bytes(bytes(range(256)) * 8)
    else:
        cache.mkdir()
    code, _, err = run("demande", "localiser", "--cache", str(cache), "--sans-progression")
    assert code == EXIT_STORE
    assert expected in err
    assert "database" not in err


@pytest.mark.parametrize("month", ["9999-12", "1899-12", "2026-13", "mars"])
def test_a_report_period_out_of_the_calendar_is_told_in_french(month: str) -> None:
    """The library's message (reached by the web pages too) held Python's English: « year
    10000 is out of range », « 'year' must be >= 1900 »."""
    from mt_access.errors import MtAccessError
    from mt_access.indicators.period import Period

    with pytest.raises(MtAccessError) as caught:
        Period.of(month)
    assert str(caught.value) == (
        f"période : mois attendu au format AAAA-MM, de 1900-01 à 9999-11 (reçu {month})"
    )
