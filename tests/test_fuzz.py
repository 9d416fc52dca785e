"""Fuzzing: mutated packs, histories, vocabularies and scenario files, as bytes and as structure, fed to the
loaders and to the command line. Nothing but the library's own errors may escape (argparse's SystemExit with
status 2 for bad arguments).

Hypothesis runs derandomized with no example database, so CI sees the same examples every time; each test
has a bounded number of examples and the whole file takes well under a minute.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import shutil
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import PROTOCOLS, ROOT
from rmfhc import RmfhcError, _yaml, evaluate, load_history, load_protocol, read_history, validate_pack
from rmfhc.cli import main
from rmfhc.pack import load_vocabulary
from rmfhc.scenarios import run_file

EXAMPLE = ROOT / "examples" / "dorset_child_in_care.json"


def fuzz(examples: int) -> Callable[[Any], Any]:
    return settings(max_examples=examples, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                           HealthCheck.data_too_large, HealthCheck.large_base_example])


SMALL_PACK = """\
protocol: {id: small, area: Small, title: A small pack, version: "1", seed: small.txt, authorities: [Small Council],
           localities: {north: North}}
office_hours: {days: [monday, tuesday, wednesday, thursday, friday], opens: "09:00", closes: "17:00"}
roles:
  tm: {title: Team Manager, role: team_manager}
  sw: {title: Social Worker, role: social_worker}
rules:
  - id: strategy
    refs: [S1]
    duty: strategy_discussion
    title: Strategy discussion within 24 hours
    episodes: [missing, absconded]
    when: {all: [{child.looked_after: true}, {any: [{child.age: {under: 16}}, {not: {child.locality: north}}]}]}
    clock: {from: reported, after: 2 hours, if_still_missing: true}
    due: within 24 hours
    on_return: stands_down
    roles: [tm]
    escalation: [{after: 0 hours, to: [tm, sw], action: alert}]
    source: {section: "1", quote: q}
  - id: review
    duty: strategy_discussion
    title: Review every 5 days
    clock: {from: episode_count, count: 3, within: 30 days}
    due: next working day
    roles: [sw]
    repeat: {every: 5 days, until: 2 months, while_missing: true}
    overrides: [strategy]
    done_by: [strategy_discussion, found]
    source: {section: "2", quote: q}
checks:
  - id: graded-low
    finding: graded low
    when: {episode.risk_levels: {contains: low}}
    source: {section: "3", quote: q}
not_encoded:
  - {refs: [S9], section: "9", reason: "A standing meeting, not a duty."}
"""

DORSET = (PROTOCOLS / "dorset.yaml").read_bytes()
PACKS = [SMALL_PACK.encode("utf-8"), DORSET]
HISTORY = EXAMPLE.read_bytes()
SCENARIO = f"""\
protocol: {PROTOCOLS / 'dorset.yaml'}
histories:
  one:
    child: {{date_of_birth: 2011-05-02, looked_after: true, legal_basis: care_order}}
    episodes:
      - {{id: E1, kind: missing, last_seen_at: "2026-11-02T09:00:00Z", reported_at: "2026-11-02T10:00:00Z",
         risk: [{{graded_at: "2026-11-02T10:30:00Z", level: high}}],
         events: [{{duty: strategy_discussion, at: "2026-11-03T09:30:00Z"}}]}}
scenarios:
  - name: due
    clause: "9.3"
    history: one
    as_of: "2026-11-03T09:00:00Z"
    expect:
      duties:
        - rule: strategy-discussion-child-in-care
          episode: E1
          required_at: "2026-11-02T10:00:00Z"
          due: "2026-11-03T10:00:00Z"
          state: due
          roles: [team_manager]
          escalation: [{{at: "2026-11-03T10:00:00Z", state: pending, to: [team_manager, service_manager]}}]
      absent: [second-strategy-discussion-child-in-care]
      upcoming: [{{rule: second-strategy-discussion-child-in-care, at: "2026-11-05T10:00:00Z"}}]
      findings: []
      no_findings: true
      duty_count: 5
  - name: inline
    history:
      child: {{date_of_birth: 2011-05-02}}
      episodes: [{{id: E1, kind: missing, last_seen_at: "2026-11-02T09:00:00Z"}}]
    as_of: "2026-11-04T09:00:00Z"
    expect: {{not_upcoming: [strategy-discussion-child-in-care]}}
""".encode()

# Bytes that tend to break parsers: NULs, invalid UTF-8, byte-order marks, YAML anchors, aliases, tags, merge
# keys, deep brackets, document markers, long numbers, odd timestamps.
TOKENS = [b"\x00", b"\xff", b"\xe9", b"\xfe\xff", b"\xff\xfe", b"\xef\xbb\xbf", b"\x07", b"\t", b"\r", b"\r\n",
          b"&a ", b"*a", b"&b [*a, *a, *a, *a]", b"<<: *a\n", b"!!int ", b"!!binary ", b"!!python/object:os.system ",
          b"!!timestamp ", b"!!set ", b"[", b"]", b"{", b"}", b"[" * 70, b"{" * 70, b"- " * 70, b"---\n",
          b"...\n", b"%YAML 1.1\n", b": ", b"- ", b"? ", b"|\n", b">\n", b"#", b"'", b'"', b"\\", b",", b"\n  ",
          b"9" * 5000, b"1e999", b"-0", b".nan", b"null", b"~", b"yes", b"2026-13-45T99:99Z",
          b"9999-12-31T23:59:59Z", b"0001-01-01T00:00:00+14:00", b"\\u0000", b'\\"', b"\xe2\x80\xae", b"@", b"`"]

mutation = st.tuples(st.sampled_from(["insert", "delete", "replace", "duplicate", "truncate"]),
                     st.floats(0, 1), st.one_of(st.sampled_from(TOKENS), st.binary(min_size=1, max_size=6)),
                     st.integers(1, 200))
mutations = st.lists(mutation, min_size=1, max_size=6)


def mutate_bytes(data: bytes, changes: list[tuple[str, float, bytes, int]]) -> bytes:
    out = bytearray(data)
    for operation, where, payload, length in changes:
        at = int(where * len(out))
        if operation == "insert":
            out[at:at] = payload
        elif operation == "delete":
            del out[at:at + length]
        elif operation == "replace":
            out[at:at + len(payload)] = payload
        elif operation == "duplicate":
            out[at:at] = out[at:at + length]
        else:
            del out[at:]
    return bytes(out)


# Values for structural mutations: wrong types, extremes, near-miss words and deep nesting.
WORDS = ["", "x", "within 1 minutes", "1 minutes", "within 99999999999 days", "99999999999 days",
         "2026-11-02T09:00:00Z", "2026-11-02T09:00:00", "9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z",
         "missing", "high", "reported", "episode_count", "duty_done", "strategy_discussion", "team_manager", "tm",
         "due", "overdue", "overdeu", "next working day", "immediately", "1 working days", "10000 months",
         "2011-05-02", "child.age", "child.locality", "north", "all", "any", "not", "\u202e", "a" * 300]
KEYS = ["id", "duty", "when", "clock", "from", "due", "roles", "role", "repeat", "every", "until", "count",
        "after", "within", "escalation", "to", "all", "any", "not", "child.age", "child.looked_after", "under",
        "in", "contains", "episodes", "events", "at", "state", "expect", "history", "histories", "as_of",
        "child", "found_at", "risk", "level", "done_by", "overrides", "levels", "protocol", "scenarios"]
scalars = st.one_of(st.none(), st.booleans(), st.integers(-10, 10), st.integers(-(10**30), 10**30),
                    st.floats(allow_nan=True, allow_infinity=True), st.sampled_from(WORDS),
                    st.text(max_size=12))
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3)
                      | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=6), inner, max_size=3),
                      max_leaves=12)


def deep(depth: int) -> Any:
    value: Any = {"child.looked_after": True}
    for level in range(depth):
        value = {"not": value} if level % 2 else [value]
    return value


def places(data: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if isinstance(data, dict):
        for key, value in data.items():
            yield from places(value, (*prefix, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from places(value, (*prefix, index))


def mutate_tree(data: Any, draw: st.DataObject) -> Any:
    data = copy.deepcopy(data)
    for _ in range(draw.draw(st.integers(1, 4))):
        candidates = list(places(data))[1:]
        if not candidates:
            break
        where = draw.draw(st.sampled_from(candidates))
        parent = data
        for part in where[:-1]:
            parent = parent[part]
        operation = draw.draw(st.sampled_from(["set", "delete", "add", "copy", "deep"]))
        if operation == "set":
            parent[where[-1]] = draw.draw(values)
        elif operation == "delete":
            del parent[where[-1]]
        elif operation == "add" and isinstance(parent, dict):
            parent[draw.draw(st.sampled_from(KEYS))] = draw.draw(values)
        elif operation == "copy" and isinstance(parent, list):
            parent.append(copy.deepcopy(parent[where[-1]]))
        elif operation == "deep":
            parent[where[-1]] = deep(draw.draw(st.sampled_from([10, 63, 65, 200])))
    return data


def dump(data: Any, as_json: bool) -> bytes:
    if as_json:
        return json.dumps(data, default=str).encode("utf-8")
    return yaml.safe_dump(data, allow_unicode=True, width=200).encode("utf-8")


def parsed(text: bytes) -> Any:
    document, problems = _yaml.parse(text.decode("utf-8"), "seed")
    assert document is not None and not problems
    return document.data


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("fuzz")
    shutil.copy(PROTOCOLS / "vocabulary.yaml", path / "vocabulary.yaml")
    return path


def own_errors_only(action: Callable[[], object]) -> None:
    """Run `action`; the library's own errors are fine, anything else fails the test."""
    with contextlib.suppress(RmfhcError):
        action()


def check_pack(path: Path) -> None:
    pack = validate_pack(path)
    history = read_history(EXAMPLE)
    for moment in (datetime(2026, 10, 12, 20, tzinfo=UTC), datetime(2026, 11, 7, 10, tzinfo=UTC)):
        own_errors_only(lambda moment=moment: evaluate(pack, history, moment, explain=True))


def check_history(path: Path) -> None:
    history = read_history(path)
    own_errors_only(lambda: evaluate(load_protocol("dorset"), history, datetime(2026, 11, 7, 10, tzinfo=UTC)))


def cli(*argv: str) -> int:
    """main() with its output swallowed; argparse may only stop with status 2."""
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        try:
            return main(list(argv))
        except SystemExit as stop:
            assert stop.code == 2
            return 2


def test_the_unmutated_seeds_evaluate_without_any_error(folder: Path) -> None:
    """The fuzz tests accept the library's own errors; the seeds they mutate must give none at all, so that an
    error the engine raises on good input cannot hide among them."""
    for seed in PACKS:
        path = folder / "pack.yaml"
        path.write_bytes(seed)
        pack = validate_pack(path)
        history = read_history(EXAMPLE)
        evaluate(pack, history, datetime(2026, 10, 12, 20, tzinfo=UTC), explain=True)
        assert evaluate(pack, history, datetime(2026, 11, 7, 10, tzinfo=UTC), explain=True).duties


# --- packs ---------------------------------------------------------------------------------------------


@fuzz(400)
@given(seed=st.sampled_from(PACKS), changes=mutations)
def test_pack_bytes(folder: Path, seed: bytes, changes: list[tuple[str, float, bytes, int]]) -> None:
    path = folder / "pack.yaml"
    path.write_bytes(mutate_bytes(seed, changes))
    own_errors_only(lambda: check_pack(path))


@fuzz(200)
@given(seed=st.sampled_from(PACKS), draw=st.data())
def test_pack_structure(folder: Path, seed: bytes, draw: st.DataObject) -> None:
    path = folder / "pack.yaml"
    path.write_bytes(dump(mutate_tree(parsed(seed), draw), as_json=False))
    own_errors_only(lambda: check_pack(path))


@fuzz(100)
@given(changes=mutations)
def test_vocabulary_bytes(tmp_path_factory: pytest.TempPathFactory, changes: list[tuple[str, float, bytes, int]]) \
        -> None:
    folder = tmp_path_factory.mktemp("vocabulary")
    (folder / "vocabulary.yaml").write_bytes(mutate_bytes((PROTOCOLS / "vocabulary.yaml").read_bytes(), changes))
    (folder / "small.yaml").write_text(SMALL_PACK, encoding="utf-8")
    own_errors_only(lambda: load_vocabulary(folder / "vocabulary.yaml"))
    own_errors_only(lambda: check_pack(folder / "small.yaml"))


# --- histories -----------------------------------------------------------------------------------------


@fuzz(400)
@given(changes=mutations)
def test_history_bytes(folder: Path, changes: list[tuple[str, float, bytes, int]]) -> None:
    path = folder / "history.json"
    path.write_bytes(mutate_bytes(HISTORY, changes))
    own_errors_only(lambda: check_history(path))


@fuzz(300)
@given(draw=st.data())
def test_history_structure(folder: Path, draw: st.DataObject) -> None:
    data = mutate_tree(json.loads(HISTORY), draw)
    own_errors_only(lambda: load_history(data))
    path = folder / "history.json"
    path.write_bytes(dump(data, as_json=True))
    own_errors_only(lambda: check_history(path))


@fuzz(200)
@given(data=values)
def test_any_value_as_a_history(data: Any) -> None:
    own_errors_only(lambda: load_history(data))


# --- scenario files ------------------------------------------------------------------------------------


@fuzz(300)
@given(changes=mutations)
def test_scenario_bytes(folder: Path, changes: list[tuple[str, float, bytes, int]]) -> None:
    path = folder / "scenarios.yaml"
    path.write_bytes(mutate_bytes(SCENARIO, changes))
    own_errors_only(lambda: run_file(path))


@fuzz(200)
@given(draw=st.data())
def test_scenario_structure(folder: Path, draw: st.DataObject) -> None:
    path = folder / "scenarios.yaml"
    path.write_bytes(dump(mutate_tree(parsed(SCENARIO), draw), as_json=False))
    own_errors_only(lambda: run_file(path))


# --- the command line ----------------------------------------------------------------------------------


@fuzz(150)
@given(kind=st.sampled_from(["pack", "history", "scenario"]), changes=mutations)
def test_cli_on_mutated_files(folder: Path, kind: str, changes: list[tuple[str, float, bytes, int]]) -> None:
    if kind == "pack":
        path = folder / "cli-pack.yaml"
        path.write_bytes(mutate_bytes(SMALL_PACK.encode("utf-8"), changes))
        assert cli("validate", str(path)) in (0, 1)
        assert cli("evaluate", "-p", str(path), "--as-of", "2026-11-07T10:00Z", str(EXAMPLE)) in (0, 2)
    elif kind == "history":
        path = folder / "cli-history.json"
        path.write_bytes(mutate_bytes(HISTORY, changes))
        assert cli("evaluate", "-p", "dorset", "--as-of", "2026-11-07T10:00Z", str(path), "--format", "json") in (0, 2)
    else:
        path = folder / "cli-scenarios.yaml"
        path.write_bytes(mutate_bytes(SCENARIO, changes))
        assert cli("test", str(path)) in (0, 1, 2)


ARGUMENTS = ["evaluate", "validate", "test", "schema", "compare", "diff", "-p", "--protocol", "dorset", "narnia",
             "--as-of", "now", "2026-11-07T10:00Z", "2026-11-07T10:00", "yesterday", "--format", "json", "text",
             "markdown", "--explain", "-v", str(EXAMPLE), str(PROTOCOLS / "dorset.yaml"), str(PROTOCOLS),
             str(ROOT / "tests" / "scenarios" / "dorset" / "checks.yaml"), "history", "pack", "evaluation",
             "no-such-file.json", "", "\x00", "--behaviour", "protocols/dorset.yaml@no-such-revision"]


@fuzz(200)
@given(argv=st.lists(st.sampled_from(ARGUMENTS), max_size=7))
def test_cli_arguments(argv: list[str]) -> None:
    assert cli(*argv) in (0, 1, 2)
