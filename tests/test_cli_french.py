"""The command line speaks French from end to end: argparse's messages, suggestions, dates,
system errors with the user's own path, the documented exit codes, broken pipes, no
traceback."""

from __future__ import annotations

import argparse
import errno
import os
import re
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from cli_support import run
from mt_access.cli.app import _parser
from mt_access.cli.common import (
    EXIT_BROKEN_PIPE,
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXIT_INVALID_INPUT,
    EXIT_NOT_SENT,
    EXIT_OK,
    EXIT_REFUSED,
    EXIT_STORE,
    EXIT_USAGE,
    parse_date,
    parse_month,
)
from mt_access.cli.errors import describe, user_path
from mt_access.cli.parser import CATALOGUE, FrenchParser, suggest

DOCS = Path(__file__).resolve().parents[1] / "docs"

# argparse's English, as it would appear in a message or a help page
ENGLISH = re.compile(
    r"usage:|error:|\binvalid\b|choose from|\brequired\b|unrecognized|\bexpected\b|ambiguous"
    r"|show this help|positional|subcommands|could match|not allowed|ignored explicit|"
    r"options:|\bargument \S+:|Traceback|No such file|Permission denied|Not a directory|"
    r"Is a directory|File exists|Broken pipe|\.tmp\b"
)


def assert_french(text: str, where: object) -> None:
    found = ENGLISH.search(text)
    assert found is None, f"{where}: English {found.group()!r} in:\n{text}"


@pytest.fixture
def register(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MT_ACCESS_REGISTRE", raising=False)
    path = tmp_path / "registre.sqlite"
    assert run("registre", "creer", str(path), "--politique", "voironnais")[0] == EXIT_OK
    monkeypatch.setenv("MT_ACCESS_REGISTRE", str(path))
    code, _, err = run("medecin", "ajouter", "MG01", "--nom", "Dr Exemple", "--commune", "Voiron")
    assert code == EXIT_OK, err
    assert run("medecin", "adherer", "MG01", "--capacite", "2", "--date", "01/03/2026")[0] == 0
    return path


# ------------------------------------------------------------------------------------------
# 1. argparse's messages translated, on every command


def _commands(
    parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    yield prefix, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            seen: set[int] = set()
            for name, sub in action.choices.items():
                if id(sub) not in seen:
                    seen.add(id(sub))
                    yield from _commands(sub, (*prefix, name))


def _bad_usages(
    command: tuple[str, ...], parser: argparse.ArgumentParser
) -> Iterator[tuple[str, ...]]:
    yield (*command, "--option-inconnue")
    positionals = [a for a in parser._actions if not a.option_strings]
    if positionals and all(a.nargs not in ("?", "*") for a in positionals):
        yield command  # missing argument(s)
    for i, action in enumerate(positionals):
        if action.choices is not None:
            yield (*command, *["X1"] * i, "zzzz")
        if action.type is not None:
            yield (*command, *["X1"] * i, "pas-un-nombre")
    for action in parser._actions:
        if not action.option_strings or action.nargs == 0:
            continue
        option = action.option_strings[-1]
        if option in ("-h", "--help"):
            continue
        if action.nargs not in ("?", "*"):
            yield (*command, option)  # the value is missing
        if action.choices is not None:
            yield (*command, option, "zzzz")
        if action.type is not None:
            yield (*command, option, "pas-une-valeur")


def test_every_command_and_bad_usage_answers_in_french(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MT_ACCESS_REGISTRE", raising=False)
    commands = list(_commands(_parser()))
    assert len(commands) >= 30
    tried = 0
    for command, parser in commands:
        code, out, err = run(*command, "--help")
        assert code == EXIT_OK, command
        assert "utilisation : mt-access" in out
        assert "afficher cette aide et quitter" in out
        assert_french(out + err, command)
        for argv in _bad_usages(command, parser):
            code, out, err = run(*argv)
            tried += 1
            assert code == EXIT_USAGE, (argv, code, err)
            assert_french(out + err, argv)
            assert err.startswith("utilisation : mt-access"), (argv, err)
            assert "\nerreur : " in err, (argv, err)
    assert tried > 150


def test_the_catalogue_covers_argparse_s_messages() -> None:
    """Every message this Python's argparse passes to gettext has a French entry (the
    developer-facing ones, raised while building a parser, excepted)."""
    source = Path(argparse.__file__).read_text(encoding="utf-8")
    found = set(re.findall(r"\b_\((['\"])(.+?)\1\)", source))
    messages = {text.encode().decode("unicode_escape") for _, text in found}
    developer = {
        ".__call__() not defined",
        "conflicting subparser: %s",
        "conflicting subparser alias: %s",
        'argument "-" with mode %r',
        "cannot merge actions - two groups are named %r",
        "'required' is an invalid argument for positionals",
        "dest= is required for options like %r",
        "invalid conflict_resolution value: %r",
        "mutually exclusive arguments must be optional",
        "cannot have multiple subparser arguments",
        "%r is not callable",
        "invalid option string %(option)r: must start with a character %(prefix_chars)r",
        "unexpected option string: %s",
    }
    missing = sorted(m for m in messages - developer - set(CATALOGUE) if "%" in m or " " in m)
    assert not missing


def test_a_plain_usage_error_is_french() -> None:
    code, _, err = run("demande")
    assert code == EXIT_USAGE
    assert "erreur : arguments obligatoires manquants : action" in err
    assert "aide : mt-access demande --help" in err
    code, _, err = run("medecin", "adherer", "MG01", "--capacite")
    assert code == EXIT_USAGE
    assert "une valeur attendue" in err
    code, _, err = run("import", "export.csv", "--f", "x")
    assert code == EXIT_USAGE
    assert "option ambiguë : --f peut désigner --formulaire, --feuille" in err
    code, _, err = run("demande", "liste", "en-trop")
    assert code == EXIT_USAGE
    assert "erreur : argument en trop : en-trop" in err
    code, _, err = run("medecin", "capacite", "MG01", "trois")
    assert code == EXIT_USAGE
    assert "argument capacite : nombre entier attendu, reçu 'trois'" in err


def test_subparsers_are_french_parsers_without_registry_knowing() -> None:
    for _, parser in _commands(_parser()):
        assert isinstance(parser, FrenchParser)


# ------------------------------------------------------------------------------------------
# 2. « vouliez-vous dire … ? »


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (("demnde", "liste"), "vouliez-vous dire « demande » ?"),
        (("demande", "lister"), "vouliez-vous dire « liste » ?"),
        (("medecin", "repondre", "MG01", "D1", "accepté"), "vouliez-vous dire « accepte » ?"),
        (("medecin", "repondre", "MG01", "D1", "REFUSE"), "vouliez-vous dire « refuse » ?"),
        (("demande", "liste", "--registe", "x"), "vouliez-vous dire « --registre » ?"),
        (("demande", "liste", "--etat", "attent"), "vouliez-vous dire « attente » ?"),
        (("apparier", "--apercus"), "vouliez-vous dire « --apercu » ?"),
    ],
)
def test_typos_get_a_suggestion(argv: tuple[str, ...], expected: str) -> None:
    code, _, err = run(*argv)
    assert code == EXIT_USAGE
    assert expected in err
    assert_french(err, argv)


def test_no_suggestion_for_something_unrelated() -> None:
    code, _, err = run("demande", "xyzzy")
    assert code == EXIT_USAGE
    assert "vouliez-vous dire" not in err
    assert "commande inconnue : « xyzzy »" in err
    assert suggest("accepté", ["accepte", "refuse"]) == "accepte"
    assert suggest("qqqq", ["accepte", "refuse"]) is None


# ------------------------------------------------------------------------------------------
# 3. dates


def test_impossible_dates_are_named_as_such() -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="le 31 février 2026 n'existe pas"):
        parse_date("31/02/2026")
    with pytest.raises(argparse.ArgumentTypeError, match="le 29 février 2027 n'existe pas"):
        parse_date("2027-02-29")
    with pytest.raises(argparse.ArgumentTypeError, match="le mois 13 n'existe pas"):
        parse_date("01/13/2026")
    with pytest.raises(argparse.ArgumentTypeError, match="le mois 13 n'existe pas"):
        parse_month("2026-13")
    assert parse_date("29/02/2028").day == 29
    assert parse_date("2026-03-15") == parse_date("15/03/2026")


@pytest.mark.parametrize("text", ["2026/02/03", "15-03-2026", "15 mars 2026", "1/2/26", ""])
def test_badly_written_dates_say_the_expected_format(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="attendu JJ/MM/AAAA") as info:
        parse_date(text)
    assert "impossible" not in str(info.value)


def test_an_impossible_date_on_the_command_line(register: Path) -> None:
    code, _, err = run("medecin", "liste", "--date", "31/02/2026")
    assert code == EXIT_USAGE
    assert "date impossible : le 31 février 2026 n'existe pas" in err
    assert "JJ/MM/AAAA" not in err.split("erreur :")[1]


# ------------------------------------------------------------------------------------------
# 4. system errors in French, with the path the user typed


def test_a_path_through_a_file_is_told_in_french(register: Path, tmp_path: Path) -> None:
    (tmp_path / "f.txt").write_text("x", encoding="utf-8")
    for argv, shown in (
        (("export", "f.txt/a.csv"), "f.txt/a.csv"),
        (("carte", "--sortie", "f.txt/a.html", "--sans-fond"), "f.txt/a.html"),
        (("rapport", "--mois", "2026-03", "--dossier", "f.txt"), "f.txt"),
    ):
        code, _, err = run(*argv)
        assert code == EXIT_STORE, (argv, err)
        assert err.startswith(f"erreur : {shown} : "), err
        assert "n'est pas un dossier" in err or "existe déjà" in err, err
        assert_french(err, argv)


def test_an_unwritable_export_names_the_target_not_the_temporary_file(
    register: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mt_access.export

    def refuse(_rows: object, _columns: object, target: Path, **_kw: object) -> None:
        tmp = Path(target).with_name(f".{Path(target).name}.tmp")
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(tmp))

    monkeypatch.setattr(mt_access.export, "write_rows", refuse)
    code, _, err = run("export", "sorties/demandes.csv")
    assert code == EXIT_STORE
    assert err == "erreur : sorties/demandes.csv : permission refusée\n"


@pytest.mark.parametrize(
    ("number", "reason"),
    [
        (errno.ENOENT, "fichier ou dossier introuvable"),
        (errno.EACCES, "permission refusée"),
        (errno.EISDIR, "c'est un dossier, pas un fichier"),
        (errno.ENOSPC, "disque plein"),
        (errno.EROFS, "support en lecture seule"),
    ],
)
def test_os_errors_in_french(number: int, reason: str) -> None:
    typed = ["rapport_2026-03"]
    absolute = os.path.abspath("rapport_2026-03/.carte.html.ab12cd34.tmp")
    exc = OSError(number, os.strerror(number), absolute)
    message, code = describe(exc, typed)
    assert message == f"rapport_2026-03/carte.html : {reason}"
    assert code == EXIT_STORE
    replaced = OSError(number, os.strerror(number), "d/.x.csv.tmp", None, "d/x.csv")
    assert describe(replaced)[0] == f"d/x.csv : {reason}"


def test_user_path_maps_temporary_files_back() -> None:
    assert user_path("a/.export.csv.tmp") == "a/export.csv"
    assert user_path(os.path.abspath("out/.carte.html.k2j4h5g6.tmp"), ["out"]) == os.path.join(
        "out", "carte.html"
    )
    assert user_path("plain.txt") == "plain.txt"


def test_a_full_disk_is_not_told_as_not_an_sqlite_file(
    register: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mt_access.store.sqlite import SQLiteStore

    conn = sqlite3.connect(":memory:")
    conn.execute("PRAGMA max_page_count = 1")
    try:
        conn.execute("CREATE TABLE t (x)")
        conn.execute("INSERT INTO t VALUES (zeroblob(100000))")
    except sqlite3.OperationalError as exc:
        full = exc
    assert full.sqlite_errorname == "SQLITE_FULL"

    def header(_conn: sqlite3.Connection) -> tuple[int, int, bool]:
        raise full

    monkeypatch.setattr(SQLiteStore, "_header", staticmethod(header))
    code, _, err = run("registre", "info")
    assert code == EXIT_STORE
    assert "disque plein" in err
    assert "pas une base SQLite" not in err
    assert_french(err, "disque plein")


# ------------------------------------------------------------------------------------------
# 5. exit codes exactly as documented


def _documented_codes() -> dict[int, str]:
    text = (DOCS / "cli.md").read_text(encoding="utf-8")
    section = text.split("## Codes de sortie", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| (\d+) \| (.+?) \|$", section, flags=re.M)
    return {int(code): meaning for code, meaning in rows}


def _broken_pipe_code() -> int:
    with subprocess.Popen(
        [sys.executable, "-m", "mt_access.cli", "politique", "afficher", "voironnais"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as proc:
        assert proc.stdout is not None
        assert proc.stderr is not None
        proc.stdout.close()  # the reader goes away before anything is written
        err = proc.stderr.read().decode()
        code = proc.wait(timeout=120)
    assert err == "", err  # silent: no « Broken pipe », no « Exception ignored »
    return code


def _internal(monkeypatch: pytest.MonkeyPatch, error: BaseException) -> tuple[int, str, str]:
    from mt_access.register import Register

    def explode(_self: Register) -> None:
        raise error

    with monkeypatch.context() as patch:
        patch.setattr(Register, "describe", explode)
        return run("registre", "info")


def _not_sent(monkeypatch: pytest.MonkeyPatch) -> int:
    """``envoyer --envoyer`` when a letter failed (the sending itself is tested against a
    local SMTP server in tests/test_letters_sending.py)."""
    import attrs

    from mt_access.letters import sending
    from mt_access.letters.compose import Letter
    from mt_access.letters.templates import LetterKind

    letter = Letter(LetterKind.ORIENTATION, "R1", "patient", "Objet", "texte", "texte")
    failed = sending.Planned(letter, "patient", "p***@example.org", "md", "echec", "délai")
    report = sending.SendingReport((failed,), sent=True)
    with monkeypatch.context() as patch:
        patch.setenv("MT_ACCESS_SMTP_HOST", "127.0.0.1")
        patch.setattr(sending, "letters_of_run", lambda *a: ([letter], []))
        patch.setattr(sending, "send_letters", lambda *a, **k: attrs.evolve(report))
        return run("envoyer", "--envoyer")[0]


def test_every_documented_exit_code_is_what_a_real_command_gives(
    register: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad_policy = tmp_path / "ma_cpts.yaml"
    bad_policy.write_text("name: [\n", encoding="utf-8")
    (tmp_path / "f.txt").write_text("x", encoding="utf-8")
    observed: dict[int, list[int]] = {
        EXIT_OK: [run("politique", "lister")[0], run("medecin", "capacite", "MG01", "3")[0]],
        EXIT_INVALID_INPUT: [
            run("politique", "verifier", str(bad_policy))[0],
            run("medecin", "capacite", "MG01", "--", "-3")[0],
            run("medecin", "adherer", "MG01", "--capacite", "1000000000000000000000000000000")[0],
        ],
        EXIT_USAGE: [run("demande", "lister")[0], run("medecin", "liste", "--date", "31/02")[0]],
        EXIT_REFUSED: [
            run("demande", "accuser", "voironnais-999999")[0],
            run("medecin", "capacite", "MG99", "2")[0],
        ],
        EXIT_STORE: [
            run("rapport", "--mois", "2026-03", "--dossier", "f.txt")[0],
            run("export", "f.txt/x.csv")[0],
            run("import", "absent.csv")[0],
            run("politique", "verifier", str(tmp_path / "absente.yaml"))[0],
            run("registre", "info", "--registre", str(tmp_path / "absent.sqlite"))[0],
        ],
        EXIT_NOT_SENT: [_not_sent(monkeypatch)],
        EXIT_INTERNAL: [_internal(monkeypatch, RuntimeError("bug"))[0]],
        EXIT_INTERRUPTED: [_internal(monkeypatch, KeyboardInterrupt())[0]],
        EXIT_BROKEN_PIPE: [_broken_pipe_code()],
    }
    documented = _documented_codes()
    assert set(documented) == set(observed), "a documented code without a command, or not"
    for code, got in observed.items():
        assert got == [code] * len(got), (code, documented[code], got)
    epilog = _parser().epilog or ""
    for code in documented:
        assert re.search(rf"\b{code} ", epilog), f"--help does not document {code}"


# ------------------------------------------------------------------------------------------
# 6-7. broken pipes and internal errors


def test_an_internal_error_is_one_french_line_without_its_message(
    register: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, err = _internal(monkeypatch, RuntimeError("Dupont Jeanne 01/02/1950"))
    assert code == EXIT_INTERNAL
    assert err == (
        "erreur : erreur interne (RuntimeError) ; relancez avec --debug pour le détail\n"
    )
    assert "Dupont" not in out + err


def test_debug_shows_the_traceback(register: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mt_access.register import Register

    def explode(_self: Register) -> None:
        raise RuntimeError("détail technique")

    monkeypatch.setattr(Register, "describe", explode)
    for argv in (("--debug", "registre", "info"), ("registre", "info", "--debug")):
        code, _, err = run(*argv)
        assert code == EXIT_INTERNAL
        assert "Traceback" in err
        assert "détail technique" in err
    monkeypatch.setenv("MT_ACCESS_DEBUG", "1")
    assert "Traceback" in run("registre", "info")[2]


def test_memory_and_recursion_errors_are_named(monkeypatch: pytest.MonkeyPatch) -> None:
    assert describe(MemoryError())[0] == "mémoire insuffisante pour cette opération"
    assert describe(RecursionError("maximum recursion depth"))[1] == EXIT_INTERNAL


def test_a_pipe_closed_early_is_silent_through_head(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    script = (
        f"{sys.executable} -m mt_access.cli politique afficher voironnais | head -1; "
        'echo "code=${PIPESTATUS[0]}"'
    )
    proc = subprocess.run(
        ["bash", "-c", script], capture_output=True, text=True, env=env, check=False
    )
    assert proc.stderr == ""
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("CPTS du Voironnais")
    assert lines[-1] in ("code=0", f"code={EXIT_BROKEN_PIPE}")  # 0 when head read it all


def test_a_full_disk_while_writing_is_named(register: Path) -> None:
    from mt_access.store.base import StoreError
    from mt_access.store.sqlite import SQLiteStore

    with SQLiteStore(register) as store:
        conn = store._connection()
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count = {pages}")
        with pytest.raises(StoreError) as info, store.transaction():
            store.put_setting("note", "x" * 200_000)
    message, code = describe(info.value)
    assert "disque plein" in message
    assert "database or disk is full" not in message
    assert code == EXIT_STORE
