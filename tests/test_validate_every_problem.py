"""`rmfhc validate` reports every problem of a pack in one run, sorted by line, each at its file:line:column,
with 'did you mean' for misspelt keys, facts, duty kinds, roles and deadline phrases."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import PROTOCOLS
from rmfhc import PackError, validate_pack
from rmfhc.cli import main

SIX_MISTAKES = """\
protocol: {id: six, area: Six, title: Six mistakes, version: "1", seed: six.txt}
roles:
  tm: {title: Team Manager, role: team_manager}
  sw: {title: Social Worker, role: social_worker}
rules:
  - id: first
    duty: strategy_discussion
    title: A misspelt key
    clock: {from: reported}
    due: within 24 hours
    on_retrun: stands_down
    roles: [tm]
    source: {section: "1", quote: q}
  - id: second
    duty: strategy_discussion
    title: A bad deadline, and a misspelt fact in the same rule
    when: {child.lookedafter: true}
    clock: {from: reported}
    due: within 24 hourz
    roles: [tm]
    source: {section: "2", quote: q}
  - id: third
    duty: strategy_discussion
    title: An unknown role
    clock: {from: reported}
    due: within 24 hours
    roles: [tm, team_manger]
    source: {section: "3", quote: q}
  - id: fourth
    duty: strategy_discusion
    title: A misspelt duty kind
    clock: {from: reported}
    due: next working day
    roles: [sw]
    source: {section: "4", quote: q}
  - id: fifth
    duty: return_interview
    title: A misspelt clock start
    clock: {from: reportd}
    due: immediatly
    roles: [sw]
    source: {section: "5", quote: q}
"""

EXPECTED = [
    ("on_retrun", "'on_retrun' is not a key here; did you mean 'on_return'?"),
    ("child.lookedafter", "'child.lookedafter' is not a fact; the facts are listed in docs/pack-format.md (for "
                          "example child.age, child.looked_after, episode.kind); did you mean 'child.looked_after'?"),
    ("within 24 hourz", "'24 hourz' is not a duration; write a whole number and a unit, such as '24 hours', "
                        "'3 days', '2 weeks', '2 months' or '3 working days'; did you mean 'within 24 hours'?"),
    ("team_manger", "'team_manger' is not one of this pack's roles; did you mean 'tm' (team_manager)?"),
    ("strategy_discusion", "'strategy_discusion' is not a duty kind in protocols/vocabulary.yaml; did you mean "
                           "'strategy_discussion'?"),
    ("reportd", "'reportd' is not allowed here: "),
    ("immediatly", "'immediatly' is not a deadline; write 'immediately', 'without delay', 'as soon as possible', "
                   "'next working day' or 'within N unit' (such as 'within 24 hours'); did you mean 'immediately'?"),
]


def place(path: Path, needle: str) -> tuple[int, int]:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if needle in line:
            return number, line.index(needle) + 1
    raise AssertionError(needle)


def test_six_kinds_of_mistake_are_all_reported_in_one_run_sorted_by_line(
        write_pack: Callable[[str], Path], capsys: pytest.CaptureFixture[str]) -> None:
    path = write_pack(SIX_MISTAKES)
    assert main(["validate", str(path)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    lines = err.splitlines()
    assert lines[0] == f"{path}: {len(EXPECTED)} errors"
    assert len(lines) == len(EXPECTED) + 1
    for (needle, message), line in zip(EXPECTED, lines[1:], strict=True):
        row, column = place(path, needle)
        assert line.startswith(f"  {path}:{row}:{column}: {message}"), line
    assert "did you mean 'reported'?" in lines[6]
    numbers = [int(line.split(":")[1]) for line in lines[1:]]
    assert numbers == sorted(numbers)


def test_a_misspelt_canonical_role_and_key_of_a_nested_mapping(write_pack: Callable[[str], Path]) -> None:
    text = SIX_MISTAKES.replace("role: social_worker", "role: social_wroker").replace(
        "clock: {from: reported}\n    due: within 24 hours\n    roles: [tm, team_manger]",
        "clock: {from: reported, if_stil_missing: true}\n    due: within 24 hours\n    roles: [tm, team_manger]")
    with pytest.raises(PackError) as error:
        validate_pack(write_pack(text))
    messages = [p.message for p in error.value.problems]
    assert "'social_wroker' is not a canonical role in protocols/vocabulary.yaml; did you mean 'social_worker'?" \
        in messages
    assert "'if_stil_missing' is not a key here; did you mean 'if_still_missing'?" in messages
    assert len(messages) == len(EXPECTED) + 2


def test_a_valid_rule_beside_invalid_ones_is_still_checked(write_pack: Callable[[str], Path]) -> None:
    """The first rule is valid except for a pydantic error elsewhere in the pack; its cross-references count."""
    text = SIX_MISTAKES.replace("    on_retrun: stands_down\n    roles: [tm]",
                                "    on_return: stands_down\n    roles: [tmm]\n    overrides: [thrid]")
    with pytest.raises(PackError) as error:
        validate_pack(write_pack(text))
    messages = [p.message for p in error.value.problems]
    assert "'tmm' is not one of this pack's roles; did you mean 'tm'?" in messages
    assert "'thrid' is not another rule's id; did you mean 'third'?" in messages


def test_a_duplicate_id_and_bad_office_hours_are_reported_with_schema_errors(write_pack: Callable[[str], Path]) -> None:
    text = SIX_MISTAKES.replace("id: third", "id: first").replace(
        "roles:\n  tm:", 'office_hours: {opens: "17:00", closes: "09:00"}\nroles:\n  tm:')
    with pytest.raises(PackError) as error:
        validate_pack(write_pack(text))
    messages = [p.message for p in error.value.problems]
    assert "the rule id 'first' is used twice" in messages
    assert "closing time must be after opening time" in messages


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("due: within 24 hours\n    on_retrun", "due: 24 hours\n    on_retrun",
         "did you mean 'within 24 hours'?"),
        ("due: next working day", "due: next workng day", "did you mean 'next working day'?"),
        ("due: next working day", "due: as soon as possble", "did you mean 'as soon as possible'?"),
        ("clock: {from: reportd}", "clock: {from: reported, after: 48 hour}", None),
        ("clock: {from: reportd}", "clock: {from: reported, after: 48 hourss}", "did you mean '48 hours'?"),
        ("when: {child.lookedafter: true}", "when: {child.age: {undr: 12}}", "did you mean 'under'?"),
        ("clock: {from: reportd}", "clock: {from: duty_done, duty: strategy_discusion}",
         "'strategy_discusion' is not a duty kind; did you mean 'strategy_discussion'?"),
    ],
)
def test_suggestions(write_pack: Callable[[str], Path], old: str, new: str, message: str | None) -> None:
    assert old in SIX_MISTAKES
    with pytest.raises(PackError) as error:
        validate_pack(write_pack(SIX_MISTAKES.replace(old, new, 1)))
    text = str(error.value)
    if message is None:  # '48 hour' is a valid duration: nothing to say about it
        assert "48 hour" not in text
    else:
        assert message in text


def test_shipped_packs_give_no_suggestions_and_still_validate() -> None:
    for path in sorted(PROTOCOLS.glob("*.yaml")):
        if path.name != "vocabulary.yaml":
            validate_pack(path)


def test_a_broken_copy_of_dorset_reports_problems_across_the_file(tmp_path: Path) -> None:
    shutil.copy(PROTOCOLS / "vocabulary.yaml", tmp_path / "vocabulary.yaml")
    text = (PROTOCOLS / "dorset.yaml").read_text(encoding="utf-8")
    text = text.replace("due: within 24 hours", "due: within 24 hourz", 1)
    text = text.replace("duty: strategy_discussion\n", "duty: strategy_chat\n", 1)
    text = text.replace("child.looked_after: true", "child.lookedafter: true", 1)
    path = tmp_path / "dorset.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PackError) as error:
        validate_pack(path)
    messages = " | ".join(p.message for p in error.value.problems)
    assert "did you mean 'within 24 hours'?" in messages
    assert "'strategy_chat' is not a duty kind" in messages
    assert "did you mean 'child.looked_after'?" in messages


def test_a_huge_misspelt_name_gets_no_suggestion_and_costs_no_time(write_pack: Callable[[str], Path]) -> None:
    import time

    # (a plain YAML key is at most 1,024 characters: the long names are values)
    text = SIX_MISTAKES.replace("immediatly", "x" * 2_000_000).replace("strategy_discusion", "y" * 2_000_000)
    start = time.perf_counter()
    with pytest.raises(PackError) as error:
        validate_pack(write_pack(text))
    assert time.perf_counter() - start < 2
    messages = [p.message for p in error.value.problems]
    assert any(m.startswith(f"'{'x' * 2_000_000}' is not a deadline;") and m.endswith("'within 24 hours')")
               for m in messages)
    assert f"'{'y' * 2_000_000}' is not a duty kind in protocols/vocabulary.yaml" in messages
