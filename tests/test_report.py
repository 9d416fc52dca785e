"""The readable report: counts per state, a table that fits the terminal and wraps, --state, repeats summarised."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from conftest import ROOT
from rmfhc import evaluate, load_history, validate_pack
from rmfhc.cli import main
from rmfhc.report import STATE_ORDER, render_text
from rmfhc.results import describe_span

EXAMPLE = ROOT / "examples" / "dorset_child_in_care.json"

PACK = """
protocol: {id: report-test, area: Test, title: Test, version: "1", seed: none.txt}
readings:
  as soon as possible: {allows: 24 hours, interpretation: read as within a day in this test}
roles:
  tm: {title: Team Manager of the locality safeguarding and family support service, role: team_manager}
  iro: {title: Independent Reviewing Officer, role: iro}
rules:
  - id: daily-report
    duty: daily_missing_report
    title: Daily missing report while the child is missing
    clock: {from: reported}
    due: within 1 day
    repeat: {every: 1 day, while_missing: true}
    roles: [tm]
    source: {section: "Longer absences of a missing child - more than twenty-four hours", quote: q}
  - id: tell-iro
    duty: inform_iro
    title: Tell the IRO as soon as possible
    clock: {from: reported}
    due: as soon as possible
    roles: [tm]
    recipients: [iro]
    source: {section: "4.2.1", quote: q}
"""


def test_the_table_wraps_to_the_width_and_never_cuts_a_clause(write_pack: Callable[[str], Path]) -> None:
    pack = validate_pack(write_pack(PACK))
    history = load_history({"child": {"date_of_birth": "2011-05-02"}, "episodes": [
        {"id": "E1", "kind": "missing", "last_seen_at": "2026-11-02T09:00Z", "reported_at": "2026-11-02T10:00Z"}]})
    text = render_text(evaluate(pack, history, datetime.fromisoformat("2026-11-12T10:00Z")), width=80)
    lines = text.splitlines()
    assert all(len(line) <= 80 for line in lines if not line.startswith(("  *", "  -", "Protocol")))
    assert "…" not in text
    # The long Medway-style section heading survives whole, wrapped over the lines of the CLAUSE column.
    start = lines.index(next(line for line in lines if line.startswith("-------")))
    column = lines[start].rfind(" ") + 1
    clause = " ".join(line[column:].strip() for line in lines[start + 1:start + 12] if len(line) > column)
    assert clause.startswith("Longer absences of a missing child - more than twenty-four hours")
    # Eleven daily occurrences (2 Nov to 12 Nov 10:00, each due a day later) are one line with their states
    # counted: due 3 to 11 Nov overdue, due 12 Nov 10:00 (as_of itself) and 13 Nov still due.
    wide = render_text(evaluate(pack, history, datetime.fromisoformat("2026-11-12T10:00Z")), width=400)
    flat = " ".join(wide.split())
    assert "Daily missing report while the child is missing (x11: 9 overdue, 2 due)" in flat
    assert "tell Independent Reviewing Officer" in flat
    assert lines[1] == "Duties: 10 overdue, 2 due"


def test_state_filter_shows_only_those_states(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["evaluate", "-p", "dorset", "--as-of", "2026-11-07T10:00Z", str(EXAMPLE), "--state",
                 "done_on_time,done late"]) == 0
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith(("OVERDUE", "DONE", "DUE", "MISSED", "STOOD"))]
    assert rows and all(line.startswith(("DONE ON TIME", "DONE LATE")) for line in rows)
    assert "Showing: done late, done on time" in out


def test_a_misspelt_state_is_refused_with_the_states_listed(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["evaluate", "-p", "dorset", "--as-of", "2026-11-07T10:00Z", str(EXAMPLE), "--state", "overdeu"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "'overdeu' is not a duty state" in err and "missed" in err


def test_json_counts_agree_with_the_text_counts(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["evaluate", "-p", "dorset", "--as-of", "2026-11-07T10:00Z", str(EXAMPLE), "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    counts: dict[str, int] = {}
    for duty in data["duties"]:
        counts[duty["state"]] = counts.get(duty["state"], 0) + 1
    assert main(["evaluate", "-p", "dorset", "--as-of", "2026-11-07T10:00Z", str(EXAMPLE)]) == 0
    line = capsys.readouterr().out.splitlines()[1]
    order = [s for s in STATE_ORDER if s.value in counts]  # by urgency, states with no duty left out
    assert line == "Duties: " + ", ".join(f"{counts[s.value]} {s.value.replace('_', ' ')}" for s in order)
    assert line == "Duties: 43 overdue, 3 missed, 10 done on time, 2 stood down"  # the example child


@pytest.mark.parametrize(("span", "words"), [
    (timedelta(0), "0 min"), (timedelta(seconds=1), "1 s"), (timedelta(seconds=59), "59 s"),
    (timedelta(minutes=1), "1 min"), (timedelta(hours=2, minutes=10, seconds=30), "2 h 10 min"),
    (timedelta(days=3, hours=4), "3 days 4 h"), (timedelta(days=1), "1 day")])
def test_spans_in_words_say_seconds_only_under_a_minute(span: timedelta, words: str) -> None:
    assert describe_span(span) == words
