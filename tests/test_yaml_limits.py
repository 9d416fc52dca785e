"""The YAML reader: libyaml where available with the pure-Python parser as fallback, the YAML 1.2 scalar rules
on both, and the limits on nesting and aliases that refuse a document before it can grow."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import PACK_NAMES, PROTOCOLS
from rmfhc import _yaml
from test_bad_input import assert_refused, evaluate_pack, pack_copy, run_cli

PARSERS = ["libyaml", "python"] if _yaml.LIBYAML else ["python"]


@pytest.fixture(params=PARSERS)
def parser(request: pytest.FixtureRequest) -> Iterator[str]:
    before = _yaml.using_libyaml()
    _yaml.use_libyaml(request.param == "libyaml")
    yield request.param
    _yaml.use_libyaml(before)


def parse(text: str) -> tuple[Any, list[str]]:
    document, problems = _yaml.parse(textwrap.dedent(text), "f.yaml")
    return (document.data if document else None), [str(p) for p in problems]


def test_libyaml_is_used_where_pyyaml_has_it() -> None:
    import yaml

    assert yaml.__with_libyaml__ == _yaml.LIBYAML
    assert _yaml.using_libyaml() == yaml.__with_libyaml__


def test_yaml_1_2_scalars(parser: str) -> None:
    data, problems = parse("""
        a: yes
        b: off
        c: 17:00
        d: 2026-11-02
        e: 2026-11-02T09:00:00Z
        f: true
        g: 12
        h: 1.5
        i: ~
        j: 0x1F
        k: "12"
    """)
    assert problems == []
    assert data == {"a": "yes", "b": "off", "c": "17:00", "d": "2026-11-02", "e": "2026-11-02T09:00:00Z",
                    "f": True, "g": 12, "h": 1.5, "i": None, "j": "0x1F", "k": "12"}


def all_positions(document: _yaml.Document) -> list[tuple[int, int]]:
    out = []

    def walk(value: Any, path: tuple[Any, ...]) -> None:
        out.append(document.locate(path, value=True))
        out.append(document.locate(path, value=False))
        if isinstance(value, dict):
            for key, item in value.items():
                walk(item, (*path, key))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                walk(item, (*path, index))

    walk(document.data, ())
    return out


@pytest.mark.skipif(not _yaml.LIBYAML, reason="PyYAML without libyaml")
@pytest.mark.parametrize("name", PACK_NAMES)
def test_both_parsers_read_every_pack_alike_with_the_same_positions(name: str) -> None:
    text = (PROTOCOLS / f"{name}.yaml").read_text(encoding="utf-8")
    before = _yaml.using_libyaml()
    try:
        _yaml.use_libyaml(True)
        c_document, c_problems = _yaml.parse(text, name)
        _yaml.use_libyaml(False)
        py_document, py_problems = _yaml.parse(text, name)
    finally:
        _yaml.use_libyaml(before)
    assert c_document is not None and py_document is not None
    assert c_problems == py_problems == []
    assert c_document.data == py_document.data
    assert all_positions(c_document) == all_positions(py_document)


def test_positions_count_characters_not_bytes(parser: str) -> None:
    document, _ = _yaml.parse("title: Café \u2013 \u201cquoted\u201d\nkey: [a, b]\n", "f.yaml")
    assert document is not None
    assert document.locate(("key", 1), value=True) == (2, 10)
    document, _ = _yaml.parse("a: “x”\nb: 1\n", "f.yaml")
    assert document is not None and document.locate(("b",), value=True) == (2, 4)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: [1, 2", "f.yaml:"),  # the two parsers stop at different places
        ("a: 1\n---\nb: 2\n", "f.yaml:2:1: this is not valid YAML: expected a single document, but found another "
                              "(after ---)"),
        ("a: b: c\n", "f.yaml:1:5: this is not valid YAML: mapping values are not allowed"),
        ("a: *nowhere\n", "f.yaml:1:4: this is not valid YAML: found undefined alias 'nowhere'"),
        ("a: &x 1\nb: &x 2\n", "f.yaml:2:4: this is not valid YAML: found duplicate anchor 'x' (first at line 1)"),
        ("a: &x [1, *x]\n", "f.yaml:1:11: the alias *x is inside the node it refers to (a recursive alias)"),
        ("a: &x {b: [*x]}\n", "f.yaml:1:12: the alias *x is inside the node it refers to (a recursive alias)"),
        ("a: !!int abc\n", "f.yaml:1:4: this is not valid YAML: cannot read this int value (invalid literal"),
        ("a: !!bool maybe\n", "f.yaml:1:4: this is not valid YAML: cannot read this bool value (KeyError)"),
        ("a: !!timestamp x\n", "f.yaml:1:4: this is not valid YAML: cannot read this timestamp value"),
        ("a: !!float x\n", "f.yaml:1:4: this is not valid YAML: cannot read this float value"),
        ("a: " + "9" * 5000 + "\n", "f.yaml:1:4: this is not valid YAML: cannot read this int value (Exceeds the "),
        ("a: !!python/object:os.system x\n", "f.yaml:1:4: this is not valid YAML: could not determine a constructor"),
        ("[1]: x\n", "f.yaml:1:1: a key must be a plain word, not a list or mapping"),
    ],
)
def test_malformed_documents_are_one_problem_at_their_place(parser: str, text: str, message: str) -> None:
    _data, problems = parse(text)
    assert len(problems) == 1, problems
    assert problems[0].startswith(message), problems[0]
    assert "this is not valid YAML" in problems[0] or "alias" in problems[0] or "key" in problems[0]


def test_an_empty_document_is_none(parser: str) -> None:
    assert parse("# only a comment\n") == (None, [])


# --- nesting -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [65, 999, 100_000])
def test_flow_nesting_over_64_levels(parser: str, depth: int) -> None:
    _data, problems = parse("a: " + "[" * depth + "]" * depth + "\n")
    # libyaml stops by itself after 1,000 levels, before it hands over the 65th: then the place is its own
    assert problems in (["f.yaml:1:67: nested more than 64 levels deep"],
                        ["f.yaml:1:1003: nested more than 64 levels deep"])


def test_block_nesting_over_64_levels(parser: str) -> None:
    text = "".join("  " * level + f"k{level}:\n" for level in range(80)) + "  " * 80 + "leaf\n"
    _data, problems = parse(text)
    assert problems == ["f.yaml:65:129: nested more than 64 levels deep"]  # the value of k63


@pytest.mark.parametrize("text", ["rules: " + "[" * 100_000 + "]" * 100_000 + "\n",
                                  "rules:\n" + "".join("  " * level + "- \n" for level in range(2_000))])
def test_a_pack_nested_thousands_of_levels_deep_is_refused_quickly(tmp_path: Path, text: str) -> None:
    run, path = evaluate_pack(tmp_path, text.encode("utf-8"))
    assert run.returncode == 2 and run.stdout == "" and "Traceback" not in run.stderr
    [line] = run.stderr.splitlines()
    assert line.startswith(f"rmfhc evaluate: error: {path}:") and line.endswith(": nested more than 64 levels deep")
    assert run.seconds < 2 and run.megabytes < 500


def test_64_levels_are_read(parser: str) -> None:
    data, problems = parse("a: " + "[" * 63 + "]" * 63 + "\n")
    assert problems == [] and data is not None


CONDITION_PACK = """\
protocol: {id: nested, area: N, title: N, version: "1", seed: n.txt}
roles: {tm: {title: TM, role: team_manager}}
rules:
  - id: r
    duty: strategy_discussion
    title: T
    clock: {from: reported}
    due: within 24 hours
    roles: [tm]
    source: {section: "1", quote: q}
    when:
"""


def test_a_condition_nested_over_64_levels_is_refused_at_its_place(tmp_path: Path) -> None:
    when = "".join("  " * (3 + level) + "not:\n" for level in range(70)) + "  " * 73 + "child.looked_after: true\n"
    run, path = evaluate_pack(tmp_path, (CONDITION_PACK + when).encode("utf-8"))
    # the top mapping, rules, the rule and when's mapping (line 12) are four levels; line 12 + 61 is the 65th
    assert_refused(run, f"rmfhc evaluate: error: {path}:{12 + 61}:{2 * (3 + 61) + 1}: nested more than 64 levels "
                        "deep")


# --- aliases -------------------------------------------------------------------------------------------


def alias_bomb(levels: int) -> str:
    """A condition whose every level lists the previous one nine times: 9**levels leaves when expanded."""
    lines = ["      all:", "        - &a0 {child.looked_after: true}"]
    for level in range(1, levels + 1):
        lines.append(f"        - &a{level} {{all: [{', '.join([f'*a{level - 1}'] * 9)}]}}")
    return CONDITION_PACK + "\n".join(lines) + "\n"


@pytest.mark.parametrize("levels", [6, 8])
def test_an_alias_bomb_in_when_is_refused_quickly(tmp_path: Path, levels: int) -> None:
    run, path = evaluate_pack(tmp_path, alias_bomb(levels).encode("utf-8"))
    # levels 1 to 3 expand to 9 + 90 + 819 nodes... the fourth level's fifth *a3 crosses 10,000
    assert_refused(run, f"rmfhc evaluate: error: {path}:17:32: the aliases expand to more than 10,000 nodes (at "
                        "*a3); an alias used many times inside other aliases grows exponentially")


@pytest.mark.parametrize("levels", [6, 8])
def test_validate_reports_the_alias_bomb(tmp_path: Path, levels: int) -> None:
    path = pack_copy(tmp_path, alias_bomb(levels).encode("utf-8"))
    run = run_cli(tmp_path, "validate", str(path))
    assert run.returncode == 1
    assert run.stderr.splitlines() == [f"{path}: 1 error", f"  {path}:17:32: the aliases expand to more than "
                                       "10,000 nodes (at *a3); an alias used many times inside other aliases grows "
                                       "exponentially"]
    assert run.seconds < 2 and run.megabytes < 500


def test_a_few_levels_of_aliases_are_fine(parser: str) -> None:
    data, problems = parse(alias_bomb(3))
    assert problems == []
    leaves = data["rules"][0]["when"]["all"][3]["all"]
    assert len(leaves) == 9 and leaves[0] is leaves[1]  # aliases share the constructed object


def test_aliases_are_counted(parser: str) -> None:
    text = "a: &x 1\nb: [" + ", ".join(["*x"] * 1001) + "]\n"
    _data, problems = parse(text)
    assert problems == [f"f.yaml:2:{5 + 4 * 1000}: more than 1,000 aliases (*name) in one document"]


def test_a_merge_key_bomb_is_refused(parser: str) -> None:
    lines = ["m0: &m0 {k: v}"]
    for level in range(1, 9):
        lines.append(f"m{level}: &m{level} {{<<: [{', '.join([f'*m{level - 1}'] * 9)}], x{level}: 1}}")
    _data, problems = parse("\n".join(lines) + "\n")
    assert len(problems) == 1 and "the aliases expand to more than 10,000 nodes" in problems[0]


def test_merge_keys_still_work(parser: str) -> None:
    data, problems = parse("base: &b {a: 1, b: 2}\nmore: {<<: *b, c: 3}\n")
    assert problems == [] and data["more"] == {"a": 1, "b": 2, "c": 3}


def test_more_than_100000_values_are_refused(parser: str) -> None:
    _data, problems = parse("rules: [" + "1, " * 100_000 + "1]\n")
    # the mapping, the key `rules` and the list are three values: the 99,998th item (at 0-based 99,997) is over
    assert problems == [f"f.yaml:1:{9 + 3 * 99_997}: more than 100,000 values in one document (scalars, lists and "
                        "mappings)"]


def test_a_pack_of_ten_megabytes_of_small_items_is_refused_quickly(tmp_path: Path) -> None:
    run, path = evaluate_pack(tmp_path, ("rules:\n" + "- 1\n" * 2_500_000).encode("utf-8"))
    assert_refused(run, f"rmfhc evaluate: error: {path}:{1 + 99_998}:3: more than 100,000 values in one document "
                        "(scalars, lists and mappings)")


def test_a_pack_wrong_in_every_one_of_100000_values_stays_within_memory(tmp_path: Path) -> None:
    """The worst case within the limits: every value a problem, each reported, in bounded memory."""
    path = pack_copy(tmp_path, ("rules: [" + "1, " * 99_990 + "1]\n").encode("utf-8"))
    run = run_cli(tmp_path, "validate", str(path))
    assert run.returncode == 1 and "Traceback" not in run.stderr
    assert len(run.stderr.splitlines()) > 99_990
    assert run.megabytes < 500 and run.seconds < 10
