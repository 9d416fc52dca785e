"""`rmfhc diff --behaviour`: the same histories through two packs; every difference a user would see, named."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from rmfhc.cli import main
from rmfhc.compare import diff_behaviour, read_corpus
from rmfhc.pack import load_protocol
from small_packs import DORSET, EXAMPLES, HISTORY, copy_beside_vocabulary, small_pack_text, write_history

AS_OF = "2026-11-04T10:00Z"  # Wednesday, after the 24-hour deadline (22:00 Tuesday); found 12:00 Tuesday


def packs(tmp_path: Path, **changes: Any) -> tuple[str, str]:
    """The one-rule pack (a), and a copy with `changes` (b)."""
    a = copy_beside_vocabulary(tmp_path / "a", small_pack_text(), "small.yaml")
    b = copy_beside_vocabulary(tmp_path / "b", small_pack_text(**changes), "small.yaml")
    return str(a), str(b)


def corpus(tmp_path: Path) -> str:
    write_history(tmp_path / "corpus" / "found-tuesday.json")
    return str(tmp_path / "corpus")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["diff", "--behaviour", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_a_change_of_state_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a, b = packs(tmp_path, on_return="stands_down")
    code, out, _ = run(capsys, a, b, corpus(tmp_path), "--as-of", AS_OF)
    assert code == 1
    assert "found-tuesday.json: E1 strategy-child-in-care: overdue -> stood down" in out
    assert "1 of 1 histories differ" in out

    # At every instant: the state differs from the moment the child is found, and more so once overdue.
    code, out, _ = run(capsys, a, b, corpus(tmp_path))
    assert code == 1
    assert ("E1 strategy-child-in-care: due -> stood down (as of 12:00 Tue 3 Nov 2026), overdue -> stood down "
            "(as of 22:01 Tue 3 Nov 2026)") in out


def test_a_change_of_holder_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a, b = packs(tmp_path, holder="sm")
    code, out, _ = run(capsys, a, b, corpus(tmp_path), "--as-of", AS_OF)
    assert code == 1
    assert "found-tuesday.json: E1 strategy-child-in-care: holder Team Manager -> Service Manager" in out


def test_a_change_of_escalation_time_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a, b = packs(tmp_path, escalate_after=12)
    code, out, _ = run(capsys, a, b, corpus(tmp_path), "--as-of", AS_OF)
    assert code == 1
    assert ("found-tuesday.json: E1 strategy-child-in-care: escalation at 22:00 Tue 3 Nov 2026 -> "
            "10:00 Wed 4 Nov 2026") in out


def test_all_three_changes_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a, b = packs(tmp_path, on_return="stands_down", holder="sm", escalate_after=12)
    code, out, _ = run(capsys, a, b, corpus(tmp_path), "--as-of", AS_OF)
    assert code == 1
    [line] = [line for line in out.splitlines() if line.startswith(str(tmp_path))]
    assert line.endswith("found-tuesday.json: E1 strategy-child-in-care: overdue -> stood down; holder Team "
                         "Manager -> Service Manager; escalation at 22:00 Tue 3 Nov 2026 -> 10:00 Wed 4 Nov 2026; "
                         "escalation: active -> not needed")


def test_an_earlier_deadline_and_a_duty_only_one_pack_requires(tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    a, b = packs(tmp_path, hours=12)
    code, out, _ = run(capsys, a, b, corpus(tmp_path), "--as-of", "2026-11-03T11:00Z")
    assert code == 1
    assert "E1 strategy-child-in-care: due -> overdue; due 22:00 Tue 3 Nov 2026 -> 10:00 Tue 3 Nov 2026" in out

    extra = "  - id: tell-iro\n    duty: inform_iro\n    title: The IRO is told\n    clock: {from: reported}\n" \
            "    due: within 2 hours\n    roles: [sw]\n    source: {section: \"3.1\", quote: The IRO is told.}\n"
    b2 = copy_beside_vocabulary(tmp_path / "c", small_pack_text(extra=extra), "small.yaml")
    code, out, _ = run(capsys, a, str(b2), corpus(tmp_path), "--as-of", AS_OF)
    assert code == 1
    assert "E1 tell-iro: only in b (" in out and "overdue, required 22:00 Mon 2 Nov 2026" in out


def test_the_same_pack_gives_exit_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a, _ = packs(tmp_path)
    code, out, _ = run(capsys, a, a, corpus(tmp_path))
    assert code == 0
    assert "no differences in 1 histories" in out


def test_a_corpus_is_read_recursively_skipping_what_is_not_a_history(tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "examples"
    write_history(folder / "histories" / "found-tuesday.json")
    (folder / "cases").mkdir()
    (folder / "cases" / "05.json").write_text(json.dumps({"as_of": "2026-11-04T10:00:00Z", "history": HISTORY}))
    (folder / "README.md").write_text("# not a history\n")
    (folder / "cases" / "broken.json").write_text("{")
    (folder / "cases" / "other.json").write_text(json.dumps({"episodes": []}))
    (folder / ".hidden").mkdir()
    (folder / ".hidden" / "x.json").write_text("{")

    read = read_corpus([folder])
    assert [Path(item.label).name for item in read.items] == ["05.json", "found-tuesday.json"]
    assert {Path(path).name: reason for path, reason in read.skipped} == {
        "README.md": "not JSON", "broken.json": "not JSON", "other.json": "not a history: child: Field required"}

    a, b = packs(tmp_path, on_return="stands_down")
    code, out, err = run(capsys, a, b, str(folder), "--as-of", AS_OF)
    assert code == 1
    assert f"{folder / 'cases' / '05.json'}: E1 strategy-child-in-care: overdue -> stood down" in out
    assert f"{folder / 'histories' / 'found-tuesday.json'}: E1 strategy-child-in-care: overdue -> stood down" in out
    assert "2 of 2 histories differ" in out
    assert err.splitlines() == [f"rmfhc diff: skipped {folder / 'README.md'}: not JSON",
                                f"rmfhc diff: skipped {folder / 'cases' / 'broken.json'}: not JSON",
                                f"rmfhc diff: skipped {folder / 'cases' / 'other.json'}: not a history: child: "
                                "Field required"]

    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("nothing here")
    code, _, err = run(capsys, a, b, str(tmp_path / "empty"))
    assert code == 2 and "no histories" in err


def test_the_examples_folder_against_itself(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, str(DORSET), str(DORSET), str(EXAMPLES), "--as-of", "2026-11-07T10:00Z")
    assert code == 0, out
    histories = len(list(EXAMPLES.rglob("*.json")))
    assert f"no differences in {histories} histories" in out
    assert all(line.startswith("rmfhc diff: skipped ") for line in err.splitlines())


def test_the_api_reports_each_difference_once_with_when_it_was_first_seen(tmp_path: Path) -> None:
    a, b = packs(tmp_path, on_return="stands_down")
    read = read_corpus([corpus(tmp_path)])
    result = diff_behaviour(load_protocol(a), load_protocol(b), read)
    [report] = result.histories
    states = [(c.a, c.b, c.first_seen.isoformat()) for c in report.changes if c.aspect == "state"]
    assert states == [("due", "stood down", "2026-11-03T12:00:00+00:00"),
                      ("overdue", "stood down", "2026-11-03T22:01:00+00:00")]
    before = diff_behaviour(load_protocol(a), load_protocol(b), read,
                            as_of=datetime.fromisoformat("2026-11-02T21:30:00Z"))
    assert before.affected == 0
