"""Batch evaluation: many histories, in parallel, in input order; a bad record reported with its place, skipped."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from conftest import ROOT
from rmfhc import evaluate, load_history, load_protocol
from rmfhc.cohort import Record, Summary, evaluate_many, read_records
from rmfhc.cohort.synthetic import children

AS_OF = datetime(2026, 4, 1, tzinfo=UTC)


def write_cohort(path: Path, n: int, broken: dict[int, str] | None = None) -> Path:
    lines = [json.dumps(h) for h in children(n)]
    for number, text in (broken or {}).items():
        lines.insert(number - 1, text)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_parallel_results_equal_one_by_one_evaluation_in_input_order(tmp_path: Path) -> None:
    pack = load_protocol("medway")
    cohort = list(children(60))
    records = [Record(f"c{i}", h) for i, h in enumerate(cohort)]
    outcomes = list(evaluate_many(pack, records, AS_OF, workers=2, chunk=7, json_lines=True))
    assert [o.source for o in outcomes] == [r.source for r in records]
    for outcome, history in zip(outcomes, cohort, strict=True):
        expected = evaluate(pack, load_history(history), AS_OF)
        assert outcome.evaluation == expected
        assert outcome.line is not None and json.loads(outcome.line) == json.loads(expected.to_json())


def test_a_bad_record_is_reported_with_its_line_and_skipped(tmp_path: Path) -> None:
    path = write_cohort(tmp_path / "cohort.jsonl", 20, {3: "{not json", 7: json.dumps({"child": {}})})
    outcomes = list(evaluate_many(load_protocol("dorset"), read_records(path), AS_OF, workers=2, keep=False))
    refused = [o for o in outcomes if o.error]
    assert [o.source for o in refused] == [f"{path}:3", f"{path}:7"]
    assert refused[0].error is not None and "not valid JSON" in refused[0].error
    assert refused[1].error is not None and "child.date_of_birth" in refused[1].error
    summary = Summary()
    for outcome in outcomes:
        summary.add(outcome)
    assert (summary.children, summary.refused) == (20, 2)
    assert summary.episodes == sum(len(h["episodes"]) for h in children(20))


def test_the_batch_command_streams_json_lines_and_duties_csv_with_a_summary(tmp_path: Path) -> None:
    path = write_cohort(tmp_path / "cohort.jsonl", 30, {5: "[]"})
    done = subprocess.run([sys.executable, "-m", "rmfhc", "batch", "-p", "durham", "--as-of", "2026-04-01T00:00Z",
                           str(path), "--duties-csv", str(tmp_path / "duties.csv"), "--workers", "2"],
                          capture_output=True, text=True, cwd=ROOT, check=False)
    assert done.returncode == 1, done.stderr  # a record was refused; the others are all written
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(lines) == 30 and {"source", "child", "result"} == set(lines[0])
    assert f"refused {path}:5:" in done.stderr
    assert "children: 30; episodes:" in done.stderr and "records refused: 1" in done.stderr
    assert "\r" not in done.stderr  # no progress bar when not on a terminal
    rows = list(csv.DictReader(io.StringIO((tmp_path / "duties.csv").read_text())))
    assert len(rows) == sum(len(line["result"]["duties"]) for line in lines)


def test_a_folder_of_histories_is_read_recursively(tmp_path: Path) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    for i, history in enumerate(children(3)):
        (tmp_path / ("a/b" if i else "a") / f"{i}.json").write_text(json.dumps(history))
    (tmp_path / "a" / "notes.txt").write_text("not a history")
    records = list(read_records(tmp_path))
    assert len(records) == 3 and all(r.source.endswith(".json") for r in records)


def test_duties_only_by_the_cohort_evaluator_writes_the_same_rows_as_child_by_child(tmp_path: Path) -> None:
    path = write_cohort(tmp_path / "cohort.jsonl", 120, {9: "{broken"})
    args = [sys.executable, "-m", "rmfhc", "batch", "-p", "pan_cheshire", "--as-of", "2026-04-01T00:00Z", str(path),
            "--workers", "2"]
    child = subprocess.run([*args, "--duties-csv", str(tmp_path / "child.csv"), "-o", str(tmp_path / "r.jsonl")],
                           capture_output=True, text=True, cwd=ROOT, check=False)
    cohort = subprocess.run([*args, "--duties-only", "--duties-csv", str(tmp_path / "cohort.csv")],
                            capture_output=True, text=True, cwd=ROOT, check=False)
    assert child.returncode == cohort.returncode == 1, child.stderr + cohort.stderr  # line 9 refused
    assert (tmp_path / "child.csv").read_text() == (tmp_path / "cohort.csv").read_text()
    assert f"refused {path}:9:" in cohort.stderr and "records refused: 1" in cohort.stderr
    assert child.stderr.splitlines()[-2:] == cohort.stderr.splitlines()[-2:]  # the same summary


def test_the_exit_status_is_0_when_every_record_is_evaluated_and_1_when_one_is_refused(tmp_path: Path) -> None:
    args = [sys.executable, "-m", "rmfhc", "batch", "-p", "medway", "--as-of", "2026-04-01T00:00Z", "--workers", "1"]
    for broken, status in (({}, 0), ({4: "not json"}, 1)):
        path = write_cohort(tmp_path / f"cohort-{status}.jsonl", 6, broken)
        for duties_only in ([], ["--duties-only"]):
            done = subprocess.run([*args, str(path), *duties_only], capture_output=True, text=True, cwd=ROOT,
                                  check=False)
            assert done.returncode == status, done.stderr
            assert f"records refused: {len(broken)}" in done.stderr
