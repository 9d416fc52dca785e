"""`rmfhc diff`: two versions of one pack rule by rule (and PATH@REV), two areas by duty in sentences."""

from __future__ import annotations

import json
import random
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import PROTOCOLS
from rmfhc.cli import main
from rmfhc.compare import diff_areas, diff_packs
from rmfhc.pack import load_protocol
from small_packs import DORSET, EXTRA_RULE, ROOT, copy_beside_vocabulary, small_pack, small_pack_text


def _child_in_care_strategy_rule(data: dict[str, Any]) -> dict[str, Any]:
    """Dorset's strategy discussion for a child in care, found by content rather than by id."""
    for rule in data["rules"]:
        when = json.dumps(rule.get("when"))
        if (rule["duty"] == "strategy_discussion" and rule["due"].strip() == "within 24 hours"
                and "child.looked_after" in when and "placed_outside_area" not in when):
            return dict(rule)
    raise AssertionError("dorset has no child-in-care strategy discussion within 24 hours")


# ---------------------------------------------------------------------------------------------------------
# Two versions of one pack: rule by rule.


def test_a_pack_against_itself_has_no_differences(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diff", str(DORSET), str(DORSET)]) == 0
    assert "no differences" in capsys.readouterr().out


def test_changed_deadline_names_the_rule_and_both_deadlines(tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    text = DORSET.read_text(encoding="utf-8")
    rule = _child_in_care_strategy_rule(yaml.safe_load(text))
    start = text.index(f"- id: {rule['id']}\n")
    due = text.index("due: within 24 hours", start)
    changed = text[:due] + "due: within 48 hours" + text[due + len("due: within 24 hours"):]
    copy = copy_beside_vocabulary(tmp_path, changed)

    assert main(["diff", str(DORSET), str(copy)]) == 1
    out = capsys.readouterr().out
    assert rule["id"] in out and "deadline: within 24 hours -> within 48 hours" in out
    assert "no differences" not in out

    assert main(["diff", str(DORSET), str(copy), "--format", "json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["equivalent"] is False and not data["added"] and not data["removed"]
    [change] = data["changed"]
    assert change["before"]["id"] == change["after"]["id"] == rule["id"]
    assert change["changes"] == [{"field": "deadline", "before": "within 24 hours", "after": "within 48 hours"}]


def test_reordered_and_reformatted_pack_is_equivalent(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = yaml.safe_load(DORSET.read_text(encoding="utf-8"))
    rules = list(data["rules"])
    random.Random(4).shuffle(rules)
    data["rules"] = rules
    text = yaml.safe_dump(data, default_flow_style=True, sort_keys=True, width=70, allow_unicode=True)
    copy = copy_beside_vocabulary(tmp_path, text)
    assert main(["diff", str(DORSET), str(copy)]) == 0
    assert "no differences" in capsys.readouterr().out


def test_renamed_rule_id_is_not_a_difference(tmp_path: Path) -> None:
    text = DORSET.read_text(encoding="utf-8")
    rule = _child_in_care_strategy_rule(yaml.safe_load(text))
    renamed = re.sub(rf"(?<![\w-]){re.escape(rule['id'])}(?![\w-])", "renamed-rule", text)
    copy = copy_beside_vocabulary(tmp_path, renamed)
    result = diff_packs(load_protocol(DORSET), load_protocol(copy))
    assert result.equivalent
    assert [(r.before, r.after) for r in result.renamed] == [(rule["id"], "renamed-rule")]


def test_added_and_removed_rules_and_changes_in_words(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = small_pack(tmp_path / "a", "small", 24)
    after = small_pack(tmp_path / "b", "small", 24, EXTRA_RULE, holder="sm", on_return="stands_down")
    result = diff_packs(before, after)
    assert not result.equivalent
    assert [e.rule.id for e in result.added] == ["tell-social-worker"] and not result.removed
    [change] = result.changed
    fields = {c.field: (c.before, c.after) for c in change.changes}
    assert fields["holders"] == ("Team Manager (team manager)", "Service Manager (service manager)")
    assert fields["on return"] == ("still due after the child is found", "stands down if the child is found first")
    back = diff_packs(after, before)
    assert [e.rule.duty for e in back.removed] == ["inform_social_worker"] and not back.added
    assert main(["diff", str(tmp_path / "a" / "small.yaml"), str(tmp_path / "b" / "small.yaml")]) == 1
    out = capsys.readouterr().out
    assert "+ inform social worker: “The social worker is told” (2.1; tell-social-worker)" in out
    assert not re.search(r"\bis (True|False)\b|\[['\"]", out)


OVERRIDING_RULE = """\
  - id: {id}
    duty: strategy_discussion
    title: Strategy discussion for a child in care placed outside the area
    when: {{child.looked_after: true, child.placed_outside_area: true}}
    clock: {{from: reported}}
    due: within 24 hours
    roles: [sw]
    overrides: [{target}]
    source: {{section: "1.2", quote: A joint strategy meeting is arranged.}}
"""


def test_overrides_are_compared_through_the_matching_not_by_id(tmp_path: Path) -> None:
    base = small_pack(tmp_path / "a", "small", 24, OVERRIDING_RULE.format(id="joint", target="strategy-child-in-care"))
    text = Path(base.path).read_text(encoding="utf-8")
    renamed = copy_beside_vocabulary(tmp_path / "b", text.replace("strategy-child-in-care", "in-care")
                                     .replace("id: joint", "id: joint-meeting"), "small.yaml")
    assert diff_packs(base, load_protocol(renamed)).equivalent

    longer = copy_beside_vocabulary(tmp_path / "c", text.replace("due: within 24 hours\n    on_return",
                                                                 "due: within 48 hours\n    on_return"), "small.yaml")
    result = diff_packs(base, load_protocol(longer))
    assert [(c.after.id, [f.field for f in c.changes]) for c in result.changed] == [
        ("strategy-child-in-care", ["deadline"])]

    free = copy_beside_vocabulary(tmp_path / "d", text.replace("    overrides: [strategy-child-in-care]\n", ""),
                                  "small.yaml")
    result = diff_packs(base, load_protocol(free))
    assert [(c.after.id, [f.field for f in c.changes]) for c in result.changed] == [("joint", ["overrides"])]


def _git(folder: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=Test", "-c", "user.email=test@example.org", "-C", str(folder), *args],
                   check=True, capture_output=True)


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_diff_against_a_git_revision(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = tmp_path / "repo"
    path = copy_beside_vocabulary(repo / "protocols", small_pack_text(), "small.yaml")
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "first")
    path.write_text(path.read_text(encoding="utf-8").replace("within 24 hours", "within 48 hours"),
                    encoding="utf-8")

    assert main(["diff", f"{path}@HEAD", str(path)]) == 1
    out = capsys.readouterr().out
    assert "strategy-child-in-care" in out and "within 24 hours -> within 48 hours" in out
    assert main(["diff", f"{path}@HEAD", f"{path}@HEAD"]) == 0
    assert "no differences" in capsys.readouterr().out
    assert main(["diff", f"{path}@no-such-revision", str(path)]) == 2
    assert "no-such-revision" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------------------
# Two areas: by duty, in sentences.

NORTH_RETURN = """\
  - id: return-interview
    duty: return_interview
    title: Return interview within 72 hours
    clock: {from: found}
    due: within 72 hours
    roles: [ri]
    source: {section: "5.1", quote: A return interview is offered.}
"""
SOUTH_RETURN = NORTH_RETURN.replace("[ri]", "[mc]").replace('"5.1"', '"8.2"').replace("72 hours", "3 working days")
ONLY_NORTH = """\
  - id: daily-report
    duty: daily_missing_report
    title: Daily report
    clock: {from: reported}
    due: next working day
    roles: [tm]
    source: {section: "6.1", quote: The child is on the daily report.}
"""


def _area(folder: Path, pack_id: str, area: str, hours: int, extra: str) -> Path:
    text = small_pack_text(pack_id, hours, extra, area=area).replace(
        "  sw: {title: Social Worker, role: social_worker}\n",
        "  sw: {title: Social Worker, role: social_worker}\n"
        "  ri: {title: Harbour Return Home Interviewer, role: return_interviewer}\n"
        "  mc: {title: Missing Co-ordinator, role: missing_coordinator}\n")
    return copy_beside_vocabulary(folder, text, f"{pack_id}.yaml")


def test_two_areas_differ_in_sentences_by_duty(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    north = _area(tmp_path / "n", "north", "Northshire", 24, NORTH_RETURN + ONLY_NORTH)
    south = _area(tmp_path / "s", "south", "Southshire", 72, SOUTH_RETURN)
    assert main(["diff", str(north), str(south)]) == 1
    out = capsys.readouterr().out
    assert ("strategy discussion (child in care): Northshire within 24 hours of the report to police (1.1); "
            "Southshire within 72 hours of the report to police (1.1)") in out
    assert ("return interview: Northshire holder Harbour Return Home Interviewer (5.1); Southshire Missing "
            "Co-ordinator (8.2)") in out
    assert ("return interview: Northshire within 72 hours of the child's return (5.1); Southshire within 3 working "
            "days of the child's return (8.2)") in out
    assert ("only in Northshire: daily missing report (every child) by the next working day after the report to "
            "police, held by Team Manager (6.1)") in out
    assert "removed" not in out and "added" not in out

    same = _area(tmp_path / "t", "twin", "Twinshire", 24, NORTH_RETURN + ONLY_NORTH)
    assert main(["diff", str(north), str(same)]) == 0
    assert "no differences" in capsys.readouterr().out
    assert main(["diff", str(north), str(south), "--by", "rule"]) == 1  # the rule-by-rule form on request
    assert "Changed rules" in capsys.readouterr().out


def test_two_of_the_five_areas(capsys: pytest.CaptureFixture[str]) -> None:
    a, b = load_protocol(PROTOCOLS / "dorset.yaml"), load_protocol(PROTOCOLS / "durham.yaml")
    result = diff_areas(a, b)
    assert not result.equivalent
    assert main(["diff", "dorset", "durham"]) == 1
    out = capsys.readouterr().out
    assert f"only in {a.meta.area}: " in out and f"only in {b.meta.area}: " in out
    assert "removed" not in out
    lines = out.splitlines()
    assert len(lines) < 250, f"{len(lines)} lines"
    # Every line is a sentence naming both areas, or one "only in" area, or a heading or summary.
    for line in lines[2:]:
        assert (not line or line.startswith(("only in", "finding only in", "The same in both", "most rules",
                                              "office hours", "“", "missing episodes counted"))
                or (f" {a.meta.area} " in line and f"; {b.meta.area} " in line)), line
    assert not re.search(r"\bis (True|False)\b|\[['\"]", out)


# ---------------------------------------------------------------------------------------------------------
# Mistakes are one-line errors with exit status 2.


@pytest.mark.parametrize("argv", [
    ["diff", "no-such-protocol", "dorset"],
    ["diff", "dorset", "dorset", "--as-of", "2026-11-02T21:00Z"],
    ["diff", "dorset", "dorset", "examples/histories"],
    ["diff", "--behaviour", "dorset", "dorset"],
    ["diff", "--behaviour", "dorset", "dorset", "no/such/history.json"],
    ["compare", "no-such-protocol"],
])
def test_mistakes_exit_2(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                         argv: list[str]) -> None:
    monkeypatch.chdir(ROOT)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"rmfhc {argv[0]}: error:")
