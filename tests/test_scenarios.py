"""Runs every pack's YAML scenarios (tests/scenarios/<pack>/*.yaml), one pytest test per scenario."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import PACK_NAMES, ROOT
from rmfhc.scenarios import Result, run_file, run_files

SCENARIO_DIR = ROOT / "tests" / "scenarios"
FILES = sorted(SCENARIO_DIR.rglob("*.yaml"))


def _results() -> list[Result]:
    return run_files(FILES)


RESULTS = _results()


@pytest.mark.parametrize("result", RESULTS, ids=[f"{Path(r.file).parent.name}:{r.line}:{r.name[:60]}" for r in RESULTS])
def test_scenario(result: Result) -> None:
    assert result.status == "PASS", "\n".join(result.failures)


@pytest.mark.parametrize("name", PACK_NAMES)
def test_every_pack_has_scenarios(name: str) -> None:
    assert list((SCENARIO_DIR / name).glob("*.yaml")), f"no scenarios for {name}"


def test_a_wrong_expectation_fails_with_expected_and_actual_side_by_side(tmp_path: Path) -> None:
    (tmp_path / "s.yaml").write_text(f"""
protocol: {ROOT / 'protocols' / 'dorset.yaml'}
scenarios:
  - name: deliberately wrong
    as_of: "2026-11-03T09:00:00Z"
    history:
      child: {{date_of_birth: "2011-05-02", looked_after: true}}
      episodes: [{{id: E1, kind: missing, last_seen_at: "2026-11-02T09:00:00Z", reported_at: "2026-11-02T10:00:00Z"}}]
    expect:
      duties: [{{rule: no-such-rule, state: due}}]
      findings: [nothing-like-this]
""", encoding="utf-8")
    [result] = run_file(tmp_path / "s.yaml")
    assert result.status == "FAIL"
    assert any("no-such-rule" in f and "expected a duty, got none" in f for f in result.failures)
    assert any("nothing-like-this" in f for f in result.failures)


def test_an_unknown_scenario_key_names_the_key_and_the_place(tmp_path: Path) -> None:
    (tmp_path / "s.yaml").write_text("protocol: dorset\nscenarios:\n  - name: x\n    as_of: '2026-11-03T09:00Z'\n"
                                     "    history: {}\n    expect: {}\n    expectt: {}\n", encoding="utf-8")
    [result] = run_files([tmp_path / "s.yaml"])
    assert result.status == "ERROR"
    assert f"{tmp_path / 's.yaml'}:7:5: 'expectt' is not a scenario key" in result.failures[0]
