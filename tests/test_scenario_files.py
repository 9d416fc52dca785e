"""Scenario files: invalid expectations are errors at their line, `rmfhc test --protocol` tries an edited pack,
the summary counts scenarios, and a broken pack or file is reported once."""

from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path

import pytest

from conftest import PROTOCOLS, ROOT
from rmfhc.cli import main
from rmfhc.evaluate import DutyState, EscalationState
from rmfhc.scenarios import DUTY_STATES, ESCALATION_STATES, FILE, run_files

DORSET = ROOT / "tests" / "scenarios" / "dorset"

SCENARIOS = """\
protocol: {pack}
histories:
  cic-reported-monday-10:
    child: {{date_of_birth: 2011-05-02, looked_after: true, legal_basis: care_order}}
    episodes:
      - {{id: E1, kind: missing, last_seen_at: "2026-11-02T09:00:00Z", reported_at: "2026-11-02T10:00:00Z"}}
scenarios:
  - name: a good scenario
    history: cic-reported-monday-10
    as_of: "2026-11-03T09:59:00Z"
    expect:
      duties:
        - {{rule: strategy-discussion-child-in-care, due: "2026-11-03T10:00:00Z", state: due}}
  - name: a misspelt state
    history: cic-reported-monday-10
    as_of: "2026-11-03T10:01:00Z"
    expect:
      duties:
        - {{rule: strategy-discussion-child-in-care, state: overdeu}}
  - name: an unknown escalation state
    history: cic-reported-monday-10
    as_of: "2026-11-03T10:01:00Z"
    expect:
      duties:
        - rule: strategy-discussion-child-in-care
          escalation: [{{state: actve}}]
  - name: an unknown role and a misspelt absent rule
    history: cic-reported-monday-10
    as_of: "2026-11-03T10:01:00Z"
    expect:
      duties:
        - {{rule: strategy-discussion-child-in-care, roles: [team_manger]}}
      absent: [second-strategy-discusion-child-in-care]
"""


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def place(path: Path, needle: str) -> str:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if needle in line:
            return f"{path}:{number}:{line.index(needle) + 1}"
    raise AssertionError(needle)


def test_the_states_come_from_the_engine() -> None:
    assert [s.value for s in DutyState] == list(DUTY_STATES)
    assert [s.value for s in EscalationState] == list(ESCALATION_STATES)


def test_invalid_expectations_are_errors_at_their_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "s.yaml", SCENARIOS.format(pack="dorset"))
    results = run_files([path])
    assert [r.status for r in results] == ["PASS", "ERROR", "ERROR", "ERROR"]
    assert results[1].failures == [f"{place(path, 'overdeu')}: 'overdeu' is not a duty state; the states are "
                                   f"{', '.join(DUTY_STATES)}; did you mean 'overdue'?"]
    assert results[2].failures == [f"{place(path, 'actve')}: 'actve' is not an escalation state; the states are "
                                   f"{', '.join(ESCALATION_STATES)}; did you mean 'active'?"]
    assert results[3].failures == [
        f"{place(path, 'team_manger')}: 'team_manger' is not one of the roles of pack 'dorset'; did you mean "
        "'team_manager'?",
        f"{place(path, 'second-strategy-discusion')}: 'second-strategy-discusion-child-in-care' is not a rule of "
        "pack 'dorset'; did you mean 'second-strategy-discussion-child-in-care'?"]
    assert main(["test", str(path)]) == 2
    out, err = capsys.readouterr()
    assert err == ""
    assert f"  ERROR: a misspelt state (line {results[1].line})" in out
    assert out.rstrip().endswith("PASS: 1/4\nERROR: 3/4")


def test_a_scenario_with_an_unknown_key_is_an_error_and_the_others_run(tmp_path: Path) -> None:
    text = SCENARIOS.format(pack="dorset").replace("  - name: a misspelt state\n", "  - name: a misspelt state\n"
                                                   "    expct: {}\n")
    path = write(tmp_path, "s.yaml", text)
    results = run_files([path])
    assert results[0].status == "PASS"
    assert results[1].failures == [f"{place(path, 'expct')}: 'expct' is not a scenario key; did you mean 'expect'?"]


def test_a_missing_named_history_is_an_error_of_that_scenario(tmp_path: Path) -> None:
    text = SCENARIOS.format(pack="dorset").replace("history: cic-reported-monday-10\n    as_of: \"2026-11-03T09:59",
                                                   "history: cic-reported-monday-11\n    as_of: \"2026-11-03T09:59", 1)
    path = write(tmp_path, "s.yaml", text)
    results = run_files([path])
    assert results[0].failures == [f"{place(path, 'cic-reported-monday-11')}: no history called "
                                   "'cic-reported-monday-11' in `histories`; did you mean 'cic-reported-monday-10'?"]


def test_a_bad_history_is_reported_at_the_field(tmp_path: Path) -> None:
    text = SCENARIOS.format(pack="dorset").replace('reported_at: "2026-11-02T10:00:00Z"}',
                                                   'reported_at: "2026-11-02T10:00:00"}')
    path = write(tmp_path, "s.yaml", text)
    results = run_files([path])
    line = place(path, 'reported_at: "2026-11-02T10:00:00"').rsplit(":", 1)[0]
    assert results[0].status == "ERROR"
    assert results[0].failures[0].startswith(f"{line}:")
    assert results[0].failures[0].endswith("'2026-11-02T10:00:00' has no UTC offset: write 2026-11-02T10:00:00+00:00 "
                                           "if it is London time, or 2026-11-02T10:00:00Z if it is UTC")


def edited_dorset(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(PROTOCOLS / "vocabulary.yaml", folder / "vocabulary.yaml")
    text = (PROTOCOLS / "dorset.yaml").read_text(encoding="utf-8")
    marker = "- id: strategy-discussion-child-in-care\n"
    start = text.index(marker)
    due = text.index("due: within 24 hours", start)
    text = text[:due] + "due: within 36 hours" + text[due + len("due: within 24 hours"):]
    path = folder / "dorset.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_protocol_option_runs_the_files_against_an_edited_copy(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    files = [str(DORSET / "strategy.yaml")]
    assert main(["test", *files]) == 0
    capsys.readouterr()
    edited = edited_dorset(tmp_path / "edited")
    assert main(["test", "--protocol", str(edited), *files]) == 1
    out = capsys.readouterr().out
    assert "FAIL:" in out and "due: expected" in out


def test_the_summary_counts_scenarios_not_files(capsys: pytest.CaptureFixture[str]) -> None:
    files = sorted(DORSET.glob("*.yaml"))
    count = sum(len(run_files([f])) for f in files)
    assert main(["test", *map(str, files)]) == 0
    assert capsys.readouterr().out.rstrip().endswith(f"PASS: {count}/{count}")
    assert count > len(files)


def broken_pack(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(PROTOCOLS / "vocabulary.yaml", folder / "vocabulary.yaml")
    text = (PROTOCOLS / "dorset.yaml").read_text(encoding="utf-8").replace("due: within 24 hours",
                                                                           "due: within 24 hourz", 1)
    path = folder / "dorset.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_broken_pack_is_reported_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pack = broken_pack(tmp_path / "packs")
    text = SCENARIOS.format(pack=pack)
    first, second = write(tmp_path, "a.yaml", text), write(tmp_path, "b.yaml", text)
    assert main(["test", str(first), str(second)]) == 2
    out, err = capsys.readouterr()
    assert err.count("not a duration") == 1
    assert err.startswith(f"rmfhc test: error: {pack}:")
    assert f"{first}:\n  ERROR: 4 scenarios not run: the pack {pack} has errors (above)\n" in out
    assert f"{second}:\n  ERROR: 4 scenarios not run: the pack {pack} has errors (above)\n" in out
    assert out.rstrip().endswith("PASS: 0/8\nERROR: 8/8 (8 not run)\n1 file in error (errors above)")
    results = run_files([first, second])
    assert sum(r.name == FILE for r in results) == 1


def test_a_broken_pack_given_with_protocol_is_reported_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pack = broken_pack(tmp_path / "packs")
    assert main(["test", "--protocol", str(pack), str(DORSET)]) == 2
    out, err = capsys.readouterr()
    assert err.count("not a duration") == 1
    assert out.count("scenarios not run") == len(list(DORSET.glob("*.yaml")))


def test_a_malformed_file_is_an_error_on_stderr_and_its_scenarios_count(tmp_path: Path,
                                                                         capsys: pytest.CaptureFixture[str]) -> None:
    good = write(tmp_path, "good.yaml", SCENARIOS.format(pack="dorset").split("  - name: a misspelt")[0])
    bad = write(tmp_path, "bad.yaml", SCENARIOS.format(pack="dorset").replace("protocol: dorset", "protocl: dorset"))
    assert main(["test", str(good), str(bad)]) == 2
    out, err = capsys.readouterr()
    assert err.splitlines() == [f"rmfhc test: error: {bad}:1:1: 'protocol' is required here",
                                f"rmfhc test: error: {bad}:1:1: 'protocl' is not a scenario key; did you mean "
                                "'protocol'?"]
    assert f"{bad}:\n  ERROR: 4 scenarios not run: the file has errors (above)" in out
    assert out.rstrip().endswith("PASS: 1/5\nERROR: 4/5 (4 not run)\n1 file in error (errors above)")


def test_json_output_is_a_list_of_results(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "s.yaml", SCENARIOS.format(pack="dorset"))
    assert main(["test", "--format", "json", str(path)]) == 2
    data = json.loads(capsys.readouterr().out)
    assert [item["status"] for item in data] == ["PASS", "ERROR", "ERROR", "ERROR"]
