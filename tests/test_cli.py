"""The command line: evaluate (text, JSON, explain), schema, and bad input as one-line errors."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

import rmfhc
from conftest import ROOT
from rmfhc.cli import main

EXAMPLE = ROOT / "examples" / "dorset_child_in_care.json"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "rmfhc", *args], capture_output=True, text=True, cwd=ROOT,
                          check=False)


def test_evaluate_json_has_the_documented_keys(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["evaluate", "--protocol", "dorset", "--as-of", "2026-11-07T10:00Z", str(EXAMPLE),
                 "--format", "json"]) == 0
    out = capsys.readouterr().out
    data = json.loads(out)
    assert {"engine", "protocol", "protocol_version", "protocol_hash", "as_of", "counts", "duties", "upcoming",
            "findings"} <= set(data)
    assert (data["protocol"], data["protocol_version"]) == ("dorset", "September 2023")
    assert data["engine"] == {"name": "rmfhc", "version": rmfhc.__version__}
    assert data["protocol_hash"] == hashlib.sha256((ROOT / "protocols" / "dorset.yaml").read_bytes()).hexdigest()
    assert data["duties"] and "\n" not in out.strip()  # compact: one line
    for duty in data["duties"]:
        assert {"rule", "duty", "roles", "episode", "required_at", "due", "state", "escalation", "done_at",
                "done_by", "late_by"} <= set(duty)
        # The rule's text is in the pack, one lookup away, unless asked for; explanations only with --explain.
        assert not {"title", "source", "interpretation", "explanation"} & set(duty)


def test_evaluate_json_with_rule_text_and_explanations(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["evaluate", "--protocol", "dorset", "--as-of", "2026-11-07T10:00Z", str(EXAMPLE),
                 "--format", "json", "--rule-text", "--explain", "--pretty"]) == 0
    data = json.loads(capsys.readouterr().out)
    for duty in data["duties"]:
        assert duty["source"]["quote"] and duty["title"] and duty["explanation"]["state"]
        assert all(set(role) == {"key", "title", "role"} for role in duty["roles"])


def test_evaluate_text_and_explain(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["evaluate", "-p", "dorset", "--as-of", "2026-11-07T10:00Z", str(EXAMPLE), "--explain"]) == 0
    out = capsys.readouterr().out
    assert "STATE" in out and "Explanations:" in out and "clause" in out


@pytest.mark.parametrize("what", ["history", "pack", "evaluation"])
def test_schema_is_json_schema(what: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema", what]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["type"] == "object" and "properties" in schema


def write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "h.json"
    path.write_text(json.dumps(data) if not isinstance(data, str) else data, encoding="utf-8")
    return path


CHILD = {"date_of_birth": "2011-05-02"}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("{not json", "not valid JSON"),
        ({"child": CHILD, "episodes": [{"id": "E1", "kind": "missing", "last_seen_at": "2026-11-02T09:00"}]},
         "episodes.0.last_seen_at: '2026-11-02T09:00' has no UTC offset: write 2026-11-02T09:00:00+00:00 if it is "
         "London time"),
        ({"child": CHILD, "episodes": [{"id": "E1", "kind": "missing"}]}, "episodes.0.last_seen_at: Field required"),
        ({"child": CHILD, "episodes": [{"id": "E1", "kind": "missing", "last_seen_at": "2026-11-02T09:00Z",
                                         "reported_at": "2026-11-02T10:00Z", "found_at": "2026-11-02T09:30Z"}]},
         "found_at is before reported_at"),
        ({"child": CHILD, "episodes": [
            {"id": "E1", "kind": "missing", "last_seen_at": "2026-11-02T09:00Z", "found_at": "2026-11-03T09:00Z"},
            {"id": "E2", "kind": "missing", "last_seen_at": "2026-11-02T20:00Z"}]}, "overlap"),
        ({"child": CHILD, "episodes": [{"id": "E1", "kind": "lost", "last_seen_at": "2026-11-02T09:00Z"}]},
         "episodes.0.kind"),
        ({"child": CHILD, "episodes": [{"id": "E1", "kind": "missing", "last_seen_at": "2026-11-08T09:00Z"}]},
         "before the first episode"),
    ],
)
def test_bad_history_is_a_one_line_error_naming_the_place(tmp_path: Path, data: object, message: str) -> None:
    done = run("evaluate", "-p", "dorset", "--as-of", "2026-11-07T10:00Z", str(write(tmp_path, data)))
    assert done.returncode == 2
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_a_naive_as_of_is_refused(tmp_path: Path) -> None:
    done = run("evaluate", "-p", "dorset", "--as-of", "2026-11-07T10:00", str(EXAMPLE))
    assert done.returncode == 2 and "no UTC offset" in done.stderr and "Traceback" not in done.stderr


def test_an_unknown_protocol_names_the_known_ones() -> None:
    done = run("evaluate", "-p", "narnia", "--as-of", "2026-11-07T10:00Z", str(EXAMPLE))
    assert done.returncode == 2 and "no protocol called 'narnia'" in done.stderr and "dorset" in done.stderr


def test_rmfhc_test_runs_scenarios_and_reports_a_summary() -> None:
    done = run("test", "tests/scenarios/dorset")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "PASS:" in done.stdout


def test_a_case_file_given_as_a_history_is_refused_saying_what_it_is(capsys: pytest.CaptureFixture[str]) -> None:
    case = ROOT / "examples" / "cases" / "01_child_in_care_foster_first_episode.json"
    assert main(["evaluate", "-p", "dorset", "--as-of", "2026-11-07T10:00Z", str(case)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "this is a case (its history is under 'history'), not a history" in err
