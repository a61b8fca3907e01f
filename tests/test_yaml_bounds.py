"""The YAML reader's bounds: hostile or absurd YAML gives a French PolicyError naming the file
and line, through the API and the command line, within bounded time and memory."""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import os
import re
import resource
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import mt_access
from cli_support import run as cli
from mt_access import PolicyError
from mt_access.plugins import collect_criterion_kinds, collect_routers, get_plugin_manager
from mt_access.policy import policy_from_mapping
from mt_access.yamlread import (
    MAX_YAML_BYTES,
    MAX_YAML_DEPTH,
    MAX_YAML_KEY_PATH,
    MAX_YAML_NODES,
    parse_yaml,
)

CORPUS = Path(__file__).parent / "corpus" / "yaml"
ROOT = Path(__file__).parent.parent
VOIRONNAIS = (ROOT / "policies" / "voironnais.yaml").read_text(encoding="utf-8")
EXPECTED: dict[str, dict[str, object]] = parse_yaml(
    (CORPUS / "expected.yaml").read_text(encoding="utf-8"), "expected.yaml"
)[0]


def test_every_corpus_file_has_an_expectation() -> None:
    files = {p.name for p in CORPUS.glob("*.yaml")} - {"expected.yaml"}
    assert files == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_corpus_file_is_refused_by_load_policy(name: str) -> None:
    expected = EXPECTED[name]
    path = CORPUS / name
    with pytest.raises(PolicyError) as caught:
        mt_access.load_policy(path)
    error = caught.value
    assert str(expected["message"]) in error.message
    assert error.source == str(path)
    assert error.line == expected["line"]
    if "path" in expected:
        assert error.path == expected["path"]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_corpus_file_is_refused_by_the_command_line(name: str) -> None:
    expected = EXPECTED[name]
    path = CORPUS / name
    code, out, err = cli("politique", "verifier", str(path))
    assert code == 1
    assert out == ""
    assert f"{path}:{expected['line']}:" in err
    assert str(expected["message"]) in err
    assert "Traceback" not in err


@pytest.mark.parametrize("name", ["alias_bomb.yaml", "self_reference.yaml", "deep_flow.yaml"])
def test_the_installed_command_prints_no_traceback(name: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    done = subprocess.run(
        [sys.executable, "-m", "mt_access.cli", "politique", "verifier", str(CORPUS / name)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 1
    assert done.stderr.startswith("erreur : ")
    assert str(EXPECTED[name]["message"]) in done.stderr
    assert "Traceback" not in done.stderr


def policy_with(old: str, new: str) -> str:
    assert VOIRONNAIS.count(old) == 1, old
    return VOIRONNAIS.replace(old, new)


def line_of(text: str, fragment: str) -> int:
    return text[: text.index(fragment)].count("\n") + 1


_K = "    router: monthly_quota\n  non_priority:"
_DISTANCE = "routing:\n"
_MONTHLY = "  default_monthly: 0\n"
_ATTEMPTS = "  max_contact_attempts: 3\n"
_YEARS = "          years: 70\n"
_EXCLUSIONS = "exclusions:\n"

# (name, text of the policy, fragment of the line at fault, key path, fragment of the message)
NUMBER_CASES: list[tuple[str, str, str, str, str]] = [
    (
        "distance NaN",
        policy_with(_DISTANCE, "routing:\n  max_distance_km: .nan\n"),
        "max_distance_km: .nan",
        "$.routing.max_distance_km",
        "nombre non fini",
    ),
    (
        "distance -inf",
        policy_with(_DISTANCE, "routing:\n  max_distance_km: -.inf\n"),
        "max_distance_km: -.inf",
        "$.routing.max_distance_km",
        "nombre non fini",
    ),
    (
        "distance zero",
        policy_with(_DISTANCE, "routing:\n  max_distance_km: 0\n"),
        "max_distance_km: 0",
        "$.routing.max_distance_km",
        "valeur > 0 attendue",
    ),
    (
        "distance beyond France",
        policy_with(_DISTANCE, "routing:\n  max_distance_km: 1000.5\n"),
        "max_distance_km: 1000.5",
        "$.routing.max_distance_km",
        "valeur ≤ 1000 attendue",
    ),
    (
        "rule distance NaN",
        policy_with(_K, "    router: monthly_quota\n    max_distance_km: .NaN\n  non_priority:"),
        "max_distance_km: .NaN",
        "$.routing.priority.max_distance_km",
        "nombre non fini",
    ),
    (
        "capacity infinite",
        policy_with(_MONTHLY, "  default_monthly: .inf\n"),
        "default_monthly: .inf",
        "$.capacity.default_monthly",
        "nombre non fini",
    ),
    (
        "capacity 10^30",
        policy_with(_MONTHLY, "  default_monthly: 1000000000000000000000000000000\n"),
        "default_monthly: 1000",
        "$.capacity.default_monthly",
        "valeur ≤ 1000 attendue",
    ),
    (
        "capacity huge hexadecimal",
        policy_with(_MONTHLY, "  default_monthly: 0x" + "f" * 3000 + "\n"),
        "default_monthly: 0x",
        "$.capacity.default_monthly",
        "valeur ≤ 1000 attendue",
    ),
    (
        "capacity 1001",
        policy_with(_MONTHLY, "  default_monthly: 1001\n"),
        "default_monthly: 1001",
        "$.capacity.default_monthly",
        "valeur ≤ 1000 attendue",
    ),
    (
        "k NaN",
        policy_with(_K, "    router: k_nearest\n    k: .nan\n  non_priority:"),
        "k: .nan",
        "$.routing.priority.k",
        "nombre non fini",
    ),
    (
        "k 51",
        policy_with(_K, "    router: k_nearest\n    k: 51\n  non_priority:"),
        "k: 51",
        "$.routing.priority.k",
        "valeur ≤ 50 attendue",
    ),
    (
        "fallback nearest 2^63",
        policy_with(
            _K,
            "    router: orientation\n    fallback_nearest: 9223372036854775808\n  non_priority:",
        ),
        "fallback_nearest:",
        "$.routing.priority.fallback_nearest",
        "valeur ≤ 50 attendue",
    ),
    (
        "pull list size",
        policy_with(_K, "    router: pull\n    list_size: 10001\n  non_priority:"),
        "list_size: 10001",
        "$.routing.priority.list_size",
        "valeur ≤ 10000 attendue",
    ),
    (
        "contact attempts",
        policy_with(_ATTEMPTS, "  max_contact_attempts: 101\n"),
        "max_contact_attempts: 101",
        "$.follow_up.max_contact_attempts",
        "valeur ≤ 100 attendue",
    ),
    (
        "contact attempts infinite",
        policy_with(_ATTEMPTS, "  max_contact_attempts: .inf\n"),
        "max_contact_attempts: .inf",
        "$.follow_up.max_contact_attempts",
        "nombre non fini",
    ),
    (
        "age 131",
        policy_with(_YEARS, "          years: 131\n"),
        "years: 131",
        "$.priority.levels[0].criteria[4].years",
        "valeur ≤ 130 attendue",
    ),
    (
        "waiting days",
        policy_with(_EXCLUSIONS, "exclusions:\n  - kind: waiting_at_least\n    days: 99999\n"),
        "days: 99999",
        "$.exclusions[0].days",
        "valeur ≤ 3660 attendue",
    ),
    (
        "children in a form mapping",
        policy_with(
            "  preset: voironnais\n",
            "  preset: voironnais\n  fields:\n    children:\n      column: Enfants\n"
            "      values:\n        Beaucoup: 21\n",
        ),
        "Beaucoup: 21",
        "$.intake.fields.children.values.Beaucoup",
        "entier entre 0 et 20 attendu",
    ),
]


def test_the_unchanged_policy_loads(tmp_path: Path) -> None:
    path = tmp_path / "politique.yaml"
    path.write_text(VOIRONNAIS, encoding="utf-8")
    assert mt_access.load_policy(path).name == "CPTS du Voironnais"


@pytest.mark.parametrize(
    ("text", "fragment", "key_path", "message"),
    [case[1:] for case in NUMBER_CASES],
    ids=[case[0] for case in NUMBER_CASES],
)
def test_numbers_out_of_bounds_are_refused_with_line_and_key_path(
    tmp_path: Path, text: str, fragment: str, key_path: str, message: str
) -> None:
    path = tmp_path / "politique.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PolicyError) as caught:
        mt_access.load_policy(path)
    error = caught.value
    assert message in error.message
    assert error.path == key_path
    assert error.line == line_of(text, fragment)
    assert error.source == str(path)
    assert len(str(error)) < 1000  # a number of 3,000 digits is described, not echoed
    code, _, err = cli("politique", "verifier", str(path))
    assert code == 1
    assert f"{path}:{error.line}: {key_path}: " in err
    assert "Traceback" not in err


def test_a_non_finite_number_in_a_dict_policy_is_refused(voironnais: mt_access.Policy) -> None:
    data = dict(voironnais.raw)
    data["routing"] = {**data["routing"], "max_distance_km": float("nan")}
    with pytest.raises(PolicyError, match="non finie") as caught:
        policy_from_mapping(
            data,
            criterion_kinds=collect_criterion_kinds(get_plugin_manager()),
            routers=collect_routers(get_plugin_manager()),
        )
    assert caught.value.path == "$.routing.max_distance_km"


def test_an_oversized_file_is_refused_before_it_is_read(tmp_path: Path) -> None:
    path = tmp_path / "enorme.yaml"
    with path.open("w", encoding="utf-8") as stream:
        stream.write(VOIRONNAIS)
        stream.write("# commentaire\n" * (3 * MAX_YAML_BYTES // 14))
    with pytest.raises(PolicyError) as caught:
        mt_access.load_policy(path)
    message = caught.value.message
    assert "fichier YAML trop volumineux : 6,0 Mo pour une limite de 2,0 Mo" in message
    assert "vérifiez que c'est le bon fichier" in message
    code, _, err = cli("politique", "verifier", str(path))
    assert code == 1
    assert "trop volumineux" in err
    assert "Traceback" not in err


def test_a_text_just_under_the_size_limit_is_read() -> None:
    text = "a: 1\n" + "#" * (MAX_YAML_BYTES - 6) + "\n"
    assert len(text.encode()) == MAX_YAML_BYTES
    assert parse_yaml(text)[0] == {"a": 1}
    with pytest.raises(PolicyError, match="trop volumineux"):
        parse_yaml(text + "\n")


def test_an_alias_counts_what_it_names_each_time() -> None:
    items = ", ".join(["0"] * 999)
    uses = ", ".join(["*a"] * 98)
    text = f"a: &a [{items}]\nb: [{uses}]\n"
    data, lines = parse_yaml(text)
    assert len(data["b"]) == 98
    assert data["b"][0] is data["a"]
    assert lines["$.b[97][998]"] == 1  # lines inside an alias are the anchor's
    assert lines["$.b[97]"] == 2  # the alias itself is where it is used
    with pytest.raises(PolicyError, match="trop de valeurs") as caught:
        parse_yaml(f"a: &a [{items}]\nb: [{uses}]\nc: [{uses}]\n", "f.yaml")
    assert caught.value.line == 3
    assert MAX_YAML_NODES == 100_000


def test_nesting_up_to_the_limit_is_read() -> None:
    deep = "[" * (MAX_YAML_DEPTH - 1) + "]" * (MAX_YAML_DEPTH - 1)
    assert parse_yaml(f"a: {deep}\n")[0]["a"] is not None
    deeper = "[" * MAX_YAML_DEPTH + "]" * MAX_YAML_DEPTH
    with pytest.raises(PolicyError, match="imbrication trop profonde"):
        parse_yaml(f"a: {deeper}\n")


def test_a_long_key_path_is_refused() -> None:
    assert parse_yaml("a: {" + "b" * (MAX_YAML_KEY_PATH - 4) + ": 1}\n")[0]
    with pytest.raises(PolicyError, match="clé trop longue") as caught:
        parse_yaml("a: &a [[[1]]]\n" + "b" * (MAX_YAML_KEY_PATH - 6) + ": *a\n")
    assert caught.value.line == 2


def test_lines_and_data_match_the_previous_reader() -> None:
    """Same data as ``yaml.safe_load``, and the key path lines the old composer walk gave."""
    import yaml

    for path in [
        *(ROOT / "policies").glob("*.yaml"),
        *(ROOT / "src" / "mt_access" / "intake" / "presets").glob("*.yaml"),
    ]:
        text = path.read_text(encoding="utf-8")
        data, lines = parse_yaml(text, str(path))
        assert data == yaml.safe_load(text)
        assert lines["$"] == 1 + (yaml.compose(text, Loader=yaml.SafeLoader).start_mark.line)
    text = "a:\n  - x\n  - {b: 1,\n     c: [2]}\nd: 2001-12-14\n"
    data, lines = parse_yaml(text)
    assert data == yaml.safe_load(text)
    assert lines == {"$": 1, "$.a": 1, "$.a[0]": 2, "$.a[1]": 3, "$.a[1].b": 3, "$.a[1].c": 4,
                     "$.a[1].c[0]": 4, "$.d": 5}  # fmt: skip


# --------------------------------------------------------------------------------------------
# Generated YAML: loads or raises PolicyError, never anything else, in bounded time and memory

_EXAMPLE_SECONDS = 20
_MEMORY_BUDGET = 1 << 30


def _worker(conn: multiprocessing.connection.Connection, folder: str) -> None:
    """Loads each text it receives as a policy file; answers ``ok``, ``policy`` or the
    unexpected exception. Runs under an address-space limit of the parent's size + 1 GiB."""
    pages = int(Path("/proc/self/statm").read_text().split()[0])
    limit = pages * os.sysconf("SC_PAGE_SIZE") + _MEMORY_BUDGET
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    path = Path(folder) / "politique.yaml"
    while True:
        text = conn.recv()
        if text is None:
            return
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        try:
            mt_access.load_policy(path)
            conn.send("ok")
        except PolicyError:
            conn.send("policy")
        except BaseException as exc:  # the test reports whatever escapes
            conn.send(f"{type(exc).__name__}: {exc}"[:500])


@pytest.fixture(scope="module")
def loader(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str], str]]:
    folder = tmp_path_factory.mktemp("yaml-worker")
    context = multiprocessing.get_context("fork")
    state: dict[str, object] = {}

    def start() -> None:
        parent, child = context.Pipe()
        process = context.Process(target=_worker, args=(child, str(folder)), daemon=True)
        process.start()
        state["conn"], state["process"] = parent, process

    def load(text: str) -> str:
        if "process" not in state:
            start()
        conn = state["conn"]
        process = state["process"]
        assert isinstance(conn, multiprocessing.connection.Connection)
        assert isinstance(process, multiprocessing.process.BaseProcess)
        conn.send(text)
        if not conn.poll(_EXAMPLE_SECONDS):
            process.kill()
            state.clear()
            return f"no answer after {_EXAMPLE_SECONDS} s"
        try:
            return str(conn.recv())
        except EOFError:
            state.clear()
            return f"worker died (exit code {process.exitcode})"

    yield load
    if "process" in state:
        conn, process = state["conn"], state["process"]
        assert isinstance(conn, multiprocessing.connection.Connection)
        assert isinstance(process, multiprocessing.process.BaseProcess)
        conn.send(None)
        process.join(10)
        if process.is_alive():
            process.kill()


_ANCHORS = ["a", "b", "c"]
_NUMBERS = st.sampled_from(
    [".nan", ".NaN", ".inf", "-.inf", "+.Inf", "1.0e+999", "-1.0e+400", "1e999", "0", "-1",
     "3", "51", "1001", "2.5", "9" * 30, "9223372036854775808", "0x" + "f" * 40, "0o777",
     "1_000", "190:20:30", "2026-02-31", "2026-01-15", "~", "yes", "off", "'.nan'"]
)  # fmt: skip
_TEXTS = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=8
).map(lambda s: '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"')


_SPECIAL_FLOATS = {"nan": ".nan", "inf": ".inf", "-inf": "-.inf"}


def _scalar() -> st.SearchStrategy[str]:
    return st.one_of(
        _NUMBERS,
        _TEXTS,
        st.sampled_from(_ANCHORS).map(lambda a: f"*{a}"),
        st.integers(min_value=-(10**40), max_value=10**40).map(str),
        st.floats().map(repr).map(lambda r: _SPECIAL_FLOATS.get(r, r)),
    )


def _flow() -> st.SearchStrategy[str]:
    anchored = st.sampled_from(["", "&a ", "&b ", "&c "])

    def extend(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        lists = st.lists(children, max_size=6).map(lambda xs: "[" + ", ".join(xs) + "]")
        maps = st.lists(
            st.tuples(st.sampled_from(["k", "x", "max_distance_km", "k", "years"]), children),
            max_size=4,
        ).map(lambda kvs: "{" + ", ".join(f"{k}{i}: {v}" for i, (k, v) in enumerate(kvs)) + "}")
        return st.tuples(anchored, st.one_of(lists, maps)).map("".join)

    return st.recursive(_scalar(), extend, max_leaves=30)


_DEEP = st.integers(min_value=1, max_value=3000).map(lambda n: "[" * n + "]" * n)
_BOMB = st.integers(min_value=2, max_value=12).map(
    lambda width: (
        "{"
        + "a0: &a0 [x],"
        + ",".join(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * width) + "]" for i in range(1, 10))
        + "}"
    )
)
_VALUE = st.one_of(_flow(), _DEEP, _BOMB, st.just("&a [*a]"), st.just("&a {b: [*a]}"))
_POLICY_LINES = VOIRONNAIS.splitlines(keepends=True)
_VALUE_LINES = [i for i, line in enumerate(_POLICY_LINES) if re.match(r"^\s*[\w-]+: \S", line)]


@st.composite
def yaml_texts(draw: st.DrawFn) -> str:
    """A policy with some values replaced by generated YAML, or a generated text alone."""
    if draw(st.booleans()):
        lines = list(_POLICY_LINES)
        for index in draw(st.lists(st.sampled_from(_VALUE_LINES), min_size=1, max_size=3)):
            key = lines[index].split(":", 1)[0]
            lines[index] = f"{key}: {draw(_VALUE)}\n"
        if draw(st.booleans()):
            lines.insert(draw(st.integers(0, len(lines))), f"extra: {draw(_VALUE)}\n")
        return "".join(lines)
    return draw(st.one_of(_VALUE, st.text(max_size=40)))


@given(text=yaml_texts())
def test_generated_yaml_loads_or_raises_policy_error(
    loader: Callable[[str], str], text: str
) -> None:
    outcome = loader(text)
    assert outcome in ("ok", "policy"), outcome
