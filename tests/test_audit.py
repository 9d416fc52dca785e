"""The compliance audit: counts computed by hand on a small cohort, the national measure, and the HTML report
rendered in a real headless browser."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import matplotlib.image
import numpy as np
import pytest

from conftest import ROOT
from rmfhc import load_history, load_protocol
from rmfhc.cohort import Period, audit_histories
from rmfhc.cohort.report import render_csv, render_html, render_text

ARTIFACTS = ROOT / "tests" / "artifacts"


def returned(child: str, found: str, interview: str | None, kind: str = "missing") -> dict[str, Any]:
    events = [] if interview is None else [{"duty": "return_interview", "at": interview}]
    return {"child": {"id": child, "date_of_birth": "2011-05-02"}, "episodes": [
        {"id": "E1", "kind": kind, "last_seen_at": "2026-01-05T18:00Z", "reported_at": "2026-01-05T19:00Z",
         "found_at": found, "events": events}]}


def test_the_national_measure_counts_interviews_offered_within_72_hours_of_return() -> None:
    histories = [load_history(h) for h in (
        returned("A", "2026-01-06T10:00Z", "2026-01-09T10:00Z"),  # exactly 72 hours: in time
        returned("B", "2026-01-06T10:00Z", "2026-01-09T10:01Z"),  # a minute over
        returned("C", "2026-01-06T10:00Z", None),  # none offered
        returned("D", "2026-02-06T10:00Z", "2026-02-07T10:00Z"),  # February, in time
        returned("E", "2026-02-06T10:00Z", "2026-02-07T10:00Z", "away_from_placement"),  # not a missing episode
    )]
    audit = audit_histories(load_protocol("dorset"), histories, Period(date(2026, 1, 1), date(2026, 3, 1)),
                            datetime(2026, 3, 1, tzinfo=UTC))
    assert (audit.national.returns, audit.national.offered_in_time) == (4, 2)
    assert audit.national.by_month == {"2026-01": [3, 1], "2026-02": [1, 1]}
    assert "2 of 4 returns (50%)" in render_text(audit)
    assert "national measure,return_interview,offered within 72 hours" in render_csv(audit)


def test_each_duty_counts_once_in_its_kind_and_rule_by_the_month_it_became_required() -> None:
    # One child in care reported 19:00 Mon 5 Jan 2026, found 10:00 Tue 6 Jan; interview on Thu 8 Jan 10:00.
    history = load_history({**returned("A", "2026-01-06T10:00Z", "2026-01-08T10:00Z"),
                            "child": {"id": "A", "date_of_birth": "2011-05-02", "looked_after": True}})
    pack = load_protocol("dorset")
    audit = audit_histories(pack, [history], Period(date(2026, 1, 1), date(2026, 2, 1)),
                            datetime(2026, 2, 1, tzinfo=UTC))
    from rmfhc import evaluate

    duties = evaluate(pack, history, datetime(2026, 2, 1, tzinfo=UTC)).duties
    assert sum(t.required for t in audit.by_kind.values()) == len(duties)
    assert sum(t.required for t in audit.by_rule.values()) == len(duties)
    interviews = audit.by_kind["return_interview"]
    assert interviews.states["done_on_time"] + interviews.states["done_late"] >= 1
    assert interviews.median() is not None
    # Found 10:00 6 Jan, interview 10:00 8 Jan: 48 hours taken.
    assert 48.0 in interviews.hours


def test_an_empty_period_says_so() -> None:
    history = load_history(returned("A", "2026-01-06T10:00Z", None))
    audit = audit_histories(load_protocol("medway"), [history], Period(date(2025, 1, 1), date(2025, 2, 1)),
                            datetime(2026, 2, 1, tzinfo=UTC))
    assert "No duties were required in this period." in render_text(audit)


def test_the_audit_command_reads_ssda903_tables_in_parallel(tmp_path: Path) -> None:
    from rmfhc.cohort.synthetic import ssda903_tables

    paths = ssda903_tables(300, tmp_path / "t")
    done = subprocess.run([sys.executable, "-m", "rmfhc", "audit", "-p", "pan_cheshire", "--from", "2025-04-01",
                           "--to", "2026-04-01", "--header", str(paths["header"]), "--episodes",
                           str(paths["episodes"]), "--missing", str(paths["missing"]), "--format", "csv",
                           "--workers", "2"], capture_output=True, text=True, cwd=ROOT, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("level,duty,rule,title,required,")
    assert "not_assessable" in done.stdout


def test_the_audit_command_exits_1_when_it_refused_a_record(tmp_path: Path) -> None:
    from rmfhc.cohort.synthetic import children

    path = tmp_path / "cohort.jsonl"
    path.write_text("\n".join([*(json.dumps(h) for h in children(4)), '{"child": {}}']) + "\n")
    done = subprocess.run([sys.executable, "-m", "rmfhc", "audit", "-p", "dorset", "--from", "2025-04-01", "--to",
                           "2026-04-01", str(path), "--workers", "1"], capture_output=True, text=True, cwd=ROOT,
                          check=False)
    assert done.returncode == 1, done.stderr
    assert f"rmfhc audit: refused {path}:5:" in done.stderr and "Return interview" in done.stdout


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(chromium() is None, reason="needs Debian's chromium (apt-get install chromium)")
def test_the_html_report_renders_in_a_headless_browser_with_its_charts(tmp_path: Path) -> None:
    from rmfhc.cohort.synthetic import children

    histories = [load_history(h) for h in children(400)]
    audit = audit_histories(load_protocol("dorset"), histories, Period(date(2025, 4, 1), date(2026, 4, 1)),
                            datetime(2026, 4, 1, tzinfo=UTC))
    page = tmp_path / "audit.html"
    page.write_text(render_html(audit), encoding="utf-8")
    text = page.read_text(encoding="utf-8")
    assert "<script" not in text and "http" not in text.split("<svg", 1)[0].replace("http-equiv", "")
    assert text.count("<svg") >= 3
    shot = tmp_path / "audit.png"

    def browse(*args: str) -> subprocess.CompletedProcess[str]:
        with tempfile.TemporaryDirectory() as profile:
            return subprocess.run(
                [chromium() or "", "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
                 "--window-size=1100,2400", *args, page.as_uri()],
                capture_output=True, text=True, timeout=120, check=False)

    # What the browser built from the page: the heading and the three charts, parsed as SVG in the DOM.
    dom = browse("--dump-dom").stdout
    assert dom.count("<svg") >= 3 and "<h1" in dom, dom[-2000:]
    done = browse(f"--screenshot={shot}")
    assert shot.exists() and shot.stat().st_size > 20_000, done.stderr[-2000:]
    pixels = matplotlib.image.imread(shot)
    assert pixels[..., :3].std() > 0.05  # not a blank page
    for colour in ("#2e7d32", "#c62828"):  # the charts' done-on-time and missed bars were painted
        rgb = np.array([int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)])
        assert (np.abs(pixels[..., :3] - rgb).max(axis=-1) < 0.06).any(), colour
    if os.environ.get("RMFHC_UPDATE_ARTIFACTS"):  # regenerate the committed screenshot
        ARTIFACTS.mkdir(exist_ok=True)
        shutil.copy(shot, ARTIFACTS / "audit.png")
    assert "Return interview offered within 72 hours of return" in dom
