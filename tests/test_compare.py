"""Comparison for auditors: `rmfhc compare`, `rmfhc diff` (by rule, PATH@REV) and `rmfhc diff --behaviour`."""

from __future__ import annotations

import csv
import html
import io
import json
import random
import re
import shutil
import subprocess
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from rmfhc.cli import main
from rmfhc.compare import compare_packs, diff_behaviour, diff_packs, render_comparison
from rmfhc.models import read_history
from rmfhc.pack import Pack, available_protocols, load_protocol

ROOT = Path(__file__).resolve().parents[1]
PROTOCOLS = ROOT / "protocols"
DORSET = PROTOCOLS / "dorset.yaml"
HISTORIES = ROOT / "examples" / "histories"
DOCS = ROOT / "docs"


def _packs_present() -> list[str]:
    """The packs in protocols/ that load; the others are someone's work in progress."""
    names = []
    for path in sorted(PROTOCOLS.glob("*.yaml")):
        if path.stem == "vocabulary":
            continue
        try:
            load_protocol(path)
        except Exception:  # an unfinished pack is not this module's failure
            continue
        names.append(path.stem)
    return names


@pytest.fixture
def in_repo(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run from the repository root with the default pack search path, as the docs' command is."""
    monkeypatch.chdir(ROOT)
    monkeypatch.delenv("RMFHC_PROTOCOLS", raising=False)


def _copy_beside_vocabulary(folder: Path, text: str, name: str = "dorset.yaml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(PROTOCOLS / "vocabulary.yaml", folder / "vocabulary.yaml")
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def _child_in_care_strategy_rule(data: dict[str, Any]) -> dict[str, Any]:
    """Dorset's strategy discussion for a child in care, found by content rather than by id."""
    for rule in data["rules"]:
        when = json.dumps(rule.get("when"))
        if (rule["duty"] == "strategy_discussion" and rule["due"].strip() == "within 24 hours"
                and "child.looked_after" in when and "placed_outside_area" not in when):
            return dict(rule)
    raise AssertionError("dorset has no child-in-care strategy discussion within 24 hours")


# ---------------------------------------------------------------------------------------------------------
# rmfhc diff: by rule


def test_a_pack_against_itself_has_no_differences(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diff", str(DORSET), str(DORSET)]) == 0
    assert "no differences" in capsys.readouterr().out


def test_changed_deadline_names_the_rule_and_both_deadlines(tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    text = DORSET.read_text(encoding="utf-8")
    rule = _child_in_care_strategy_rule(yaml.safe_load(text))
    # Edit the text in place so that nothing but the deadline changes.
    start = text.index(f"- id: {rule['id']}\n")
    due = text.index("due: within 24 hours", start)
    changed = text[:due] + "due: within 48 hours" + text[due + len("due: within 24 hours"):]
    copy = _copy_beside_vocabulary(tmp_path, changed)

    assert main(["diff", str(DORSET), str(copy)]) == 1
    out = capsys.readouterr().out
    assert rule["id"] in out
    assert "within 24 hours" in out and "within 48 hours" in out
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
    copy = _copy_beside_vocabulary(tmp_path, text)
    assert copy.read_text(encoding="utf-8") != DORSET.read_text(encoding="utf-8")

    assert main(["diff", str(DORSET), str(copy)]) == 0
    assert "no differences" in capsys.readouterr().out


def test_renamed_rule_id_is_not_a_difference(tmp_path: Path) -> None:
    text = DORSET.read_text(encoding="utf-8")
    rule = _child_in_care_strategy_rule(yaml.safe_load(text))
    # The id and every reference to it (overrides) are renamed together, as an editor would.
    renamed = re.sub(rf"(?<![\w-]){re.escape(rule['id'])}(?![\w-])", "renamed-rule", text)
    copy = _copy_beside_vocabulary(tmp_path, renamed)
    result = diff_packs(load_protocol(DORSET), load_protocol(copy))
    assert result.equivalent
    assert [(r.before, r.after) for r in result.renamed] == [(rule["id"], "renamed-rule")]


SMALL_PACK = """\
protocol:
  id: {id}
  area: {area}
  title: Test protocol
  version: "1"
  seed: none.txt
readings:
  immediately: {{allows: 1 hour, interpretation: within the hour in this test pack}}
roles:
  tm: {{title: Team Manager, role: team_manager}}
  sw: {{title: Social Worker, role: social_worker}}
rules:
  - id: strategy-child-in-care
    duty: strategy_discussion
    title: Strategy discussion for a child in care
    when: {{child.looked_after: true}}
    clock: {{from: reported}}
    due: within {hours} hours
    roles: [tm]
    source: {{section: "1.1", quote: A strategy discussion is held.}}
{extra}
"""

EXTRA_RULE = """\
  - id: tell-social-worker
    duty: inform_social_worker
    title: The social worker is told
    clock: {from: reported}
    due: immediately
    roles: [sw]
    source: {section: "2.1", quote: The social worker is told.}
"""


def _small_pack(folder: Path, pack_id: str, hours: int, extra: str = "") -> Pack:
    text = SMALL_PACK.format(id=pack_id, area=pack_id.title(), hours=hours, extra=extra)
    return load_protocol(_copy_beside_vocabulary(folder, text, f"{pack_id}.yaml"))


def test_added_and_removed_rules_by_duty(tmp_path: Path) -> None:
    before = _small_pack(tmp_path / "a", "small", 24)
    after = _small_pack(tmp_path / "b", "small", 24, EXTRA_RULE)
    result = diff_packs(before, after)
    assert not result.equivalent
    assert [e.rule.id for e in result.added] == ["tell-social-worker"] and not result.removed
    back = diff_packs(after, before)
    assert [e.rule.duty for e in back.removed] == ["inform_social_worker"] and not back.added


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
    base = _small_pack(tmp_path / "a", "small", 24, OVERRIDING_RULE.format(id="joint", target="strategy-child-in-care"))
    text = Path(base.path).read_text(encoding="utf-8")
    renamed = _copy_beside_vocabulary(tmp_path / "b", text.replace("strategy-child-in-care", "in-care")
                                      .replace("id: joint", "id: joint-meeting"), "small.yaml")
    assert diff_packs(base, load_protocol(renamed)).equivalent

    # The overridden rule's deadline changes: one change, not a second one on the rule that overrides it.
    longer = _copy_beside_vocabulary(tmp_path / "c", text.replace("within 24 hours\n    roles: [tm]",
                                                                  "within 48 hours\n    roles: [tm]"), "small.yaml")
    result = diff_packs(base, load_protocol(longer))
    assert [(c.after.id, [f.field for f in c.changes]) for c in result.changed] == [
        ("strategy-child-in-care", ["deadline"])]

    # The overriding rule stops overriding: that is a change.
    free = _copy_beside_vocabulary(tmp_path / "d", text.replace("    overrides: [strategy-child-in-care]\n", ""),
                                   "small.yaml")
    result = diff_packs(base, load_protocol(free))
    assert [(c.after.id, [f.field for f in c.changes]) for c in result.changed] == [("joint", ["overrides"])]


# ---------------------------------------------------------------------------------------------------------
# rmfhc diff PATH@REV


def _git(folder: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=Test", "-c", "user.email=test@example.org", "-C", str(folder), *args],
                   check=True, capture_output=True)


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_diff_against_a_git_revision(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = tmp_path / "repo"
    path = _copy_beside_vocabulary(repo / "protocols", SMALL_PACK.format(id="small", area="Small", hours=24,
                                                                          extra=""), "small.yaml")
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "first")
    path.write_text(path.read_text(encoding="utf-8").replace("within 24 hours", "within 48 hours"),
                    encoding="utf-8")

    assert main(["diff", f"{path}@HEAD", str(path)]) == 1
    out = capsys.readouterr().out
    assert "strategy-child-in-care" in out and "within 24 hours" in out and "within 48 hours" in out
    assert main(["diff", f"{path}@HEAD", f"{path}@HEAD"]) == 0
    assert "no differences" in capsys.readouterr().out
    assert main(["diff", f"{path}@no-such-revision", str(path)]) == 2
    assert "no-such-revision" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------------------
# rmfhc compare


def test_compare_shows_every_pack_and_every_duty_used(in_repo: None, capsys: pytest.CaptureFixture[str]) -> None:
    names = _packs_present()
    if len(names) != len(available_protocols()):
        pytest.skip("a pack in protocols/ does not load yet")
    packs = [load_protocol(name) for name in names]
    comparison = compare_packs(packs)
    assert [area.id for area in comparison.areas] == names
    used = {rule.duty for pack in packs for rule in pack.rules}
    assert {row.duty for row in comparison.rows} == used
    for row in comparison.rows:
        for pack, cell in zip(packs, row.cells, strict=True):
            assert [rule.id for rule in cell] == [rule.id for rule in pack.rules if rule.duty == row.duty]

    assert main(["compare", "--format", "markdown"]) == 0
    out = capsys.readouterr().out
    for pack in packs:
        assert pack.meta.area in out
    for duty in used:
        assert f"### `{duty}`" in out
    if any(not all(row.cells) for row in comparison.rows):
        assert "not in this protocol" in out

    assert main(["compare"]) == 0
    text = capsys.readouterr().out
    assert all(pack.meta.area.split()[0] in text for pack in packs)


def test_compare_small_packs_in_every_format(tmp_path: Path) -> None:
    packs = [_small_pack(tmp_path / "a", "alpha", 24, EXTRA_RULE), _small_pack(tmp_path / "b", "beta", 48)]
    comparison = compare_packs(packs)
    assert [row.duty for row in comparison.rows] == ["inform_social_worker", "strategy_discussion"]
    assert comparison.cell("inform_social_worker", "beta") == ()

    rows = list(csv.reader(io.StringIO(render_comparison(comparison, "csv"))))
    assert rows[0] == ["duty", "definition", "aspect", "alpha", "beta"]
    deadline = next(r for r in rows if r[0] == "strategy_discussion" and r[2] == "Deadline")
    assert deadline[3:] == ["within 24 hours", "within 48 hours"]
    absent = next(r for r in rows if r[0] == "inform_social_worker" and r[2] == "Rule")
    assert absent[4] == "not in this protocol"

    text = render_comparison(comparison, "text", width=120)
    assert "within 24 hours" in text and "within 48 hours" in text and "not in this protocol" in text


def _words_of_markdown(text: str) -> list[str]:
    return re.findall(r"[A-Za-z0-9]+", text.replace("<br>", " "))


def _words_of_html(page: str) -> list[str]:
    body = page[page.index("<body>"):]
    return re.findall(r"[A-Za-z0-9]+", html.unescape(re.sub(r"<[^>]+>", " ", body)))


def test_html_is_self_contained_and_carries_the_markdown_content(tmp_path: Path) -> None:
    packs = [_small_pack(tmp_path / "a", "alpha", 24, EXTRA_RULE), _small_pack(tmp_path / "b", "beta", 48)]
    comparison = compare_packs(packs)
    page = render_comparison(comparison, "html")
    assert page.startswith("<!DOCTYPE html>") and "<style>" in page
    assert not re.search(r"<script|<link|<img|@import|url\(|src=|href=\"(?!#)", page)
    assert _words_of_html(page) == _words_of_markdown(render_comparison(comparison, "markdown"))


# ---------------------------------------------------------------------------------------------------------
# The committed comparison pages


@pytest.mark.parametrize(("fmt", "name"), [("markdown", "comparison.md"), ("html", "comparison.html")])
def test_committed_comparison_matches_a_fresh_regeneration(in_repo: None, capsys: pytest.CaptureFixture[str],
                                                           fmt: str, name: str) -> None:
    assert main(["compare", "--format", fmt]) == 0
    fresh = capsys.readouterr().out
    committed = (DOCS / name).read_text(encoding="utf-8")
    assert committed == fresh, (f"docs/{name} is out of date: regenerate it with "
                                f"`rmfhc compare --format {fmt} > docs/{name}` from the repository root")


def test_committed_pages_say_how_to_regenerate_and_match_each_other() -> None:
    markdown = (DOCS / "comparison.md").read_text(encoding="utf-8")
    assert "rmfhc compare --format markdown > docs/comparison.md" in "\n".join(markdown.splitlines()[:5])
    page = (DOCS / "comparison.html").read_text(encoding="utf-8")
    assert _words_of_html(page) == _words_of_markdown(markdown)


# ---------------------------------------------------------------------------------------------------------
# rmfhc diff --behaviour


def _example_histories() -> list[Path]:
    files = sorted(HISTORIES.glob("*.json"))
    assert files, "examples/histories/ holds the histories for behaviour comparisons"
    return files


def test_behaviour_of_a_pack_against_itself_has_no_differences(capsys: pytest.CaptureFixture[str]) -> None:
    pack = load_protocol(DORSET)
    histories = {str(p): read_history(p) for p in _example_histories()}
    result = diff_behaviour(pack, pack, histories)
    assert result.affected == 0
    assert all(not h.differences and h.instants > 3 for h in result.histories)
    assert main(["diff", "--behaviour", str(DORSET), str(DORSET), str(HISTORIES)]) == 0
    assert "no differences" in capsys.readouterr().out


def test_behaviour_of_two_packs_differs_over_the_example_histories(capsys: pytest.CaptureFixture[str]) -> None:
    names = _packs_present()
    if len(names) < 2:
        pytest.skip("fewer than two packs load")
    a, b = ("dorset", "durham") if {"dorset", "durham"} <= set(names) else names[:2]
    assert main(["diff", "--behaviour", a, b, *map(str, _example_histories())]) == 1
    out = capsys.readouterr().out
    assert "only a" in out and "histories affected" in out
    assert main(["diff", "--behaviour", a, b, str(HISTORIES), "--format", "json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["affected"] >= 1
    for history in data["histories"]:
        times = [item["at"] for item in history["differences"]]
        assert times == sorted(times, key=lambda t: datetime.fromisoformat(t).timestamp())


HISTORY = {
    "child": {"date_of_birth": "2012-05-02", "looked_after": True},
    "episodes": [{"id": "E1", "kind": "missing", "last_seen_at": "2026-11-02T21:00:00+00:00",
                  "reported_at": "2026-11-02T22:00:00+00:00"}],
}


def test_behaviour_finds_a_changed_due_time_at_the_report(tmp_path: Path) -> None:
    a = _small_pack(tmp_path / "a", "small", 24)
    b = _small_pack(tmp_path / "b", "small", 48)
    path = tmp_path / "history.json"
    path.write_text(json.dumps(HISTORY), encoding="utf-8")
    history = read_history(path)

    result = diff_behaviour(a, b, {"h": history})
    assert result.affected == 1
    [report] = result.histories
    assert [(d.only_in, d.duty.duty, d.duty.due.isoformat() if d.duty.due else None) for d in report.differences] \
        == [("a", "strategy_discussion", "2026-11-03T22:00:00+00:00"),
            ("b", "strategy_discussion", "2026-11-04T22:00:00+00:00")]
    assert report.differences[0].at.isoformat() == "2026-11-02T22:00:00+00:00"

    before_report = diff_behaviour(a, b, [history], as_of=datetime.fromisoformat("2026-11-02T21:30:00Z"))
    assert before_report.affected == 0
    assert diff_behaviour(a, b, [history], as_of=datetime.fromisoformat("2026-11-02T22:00:00Z")).affected == 1


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
def test_mistakes_exit_2(in_repo: None, capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"rmfhc {argv[0]}: error:")


def test_pack_text_is_not_area_specific_code() -> None:
    source = (ROOT / "src" / "rmfhc" / "compare.py").read_text(encoding="utf-8").lower()
    for name in ("dorset", "durham", "medway", "cheshire", "derby"):
        assert name not in source, f"compare.py mentions {name}: area logic belongs in packs"
