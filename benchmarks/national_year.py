"""A national year: 80,000 synthetic children with 1-20 episodes each through one pack, results written.

    python benchmarks/national_year.py [--protocol dorset] [--children 80000] [--workers N]

Generates the cohort as JSON lines first (not timed), then times two paths, each on one core and on all cores:
- child by child (`rmfhc batch`, `evaluate` per child): read, validate, evaluate, write JSON lines;
- the cohort evaluator (`rmfhc batch --duties-only`): read, validate, evaluate rule by rule over columns, write
  one CSV row per duty.
Prints children, episodes, duties and seconds for each.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from rmfhc import load_protocol
from rmfhc.cohort import Summary, evaluate_many, read_records
from rmfhc.cohort.batch import evaluate_columns
from rmfhc.cohort.synthetic import children


def run(protocol: str, path: Path, workers: int) -> tuple[float, Summary, int]:
    pack = load_protocol(protocol)
    out = io.StringIO()
    summary = Summary()
    began = time.perf_counter()
    for outcome in evaluate_many(pack, read_records(path), datetime(2026, 4, 1, tzinfo=UTC), workers=workers,
                                 json_lines=True, keep=False, chunk=250):
        summary.add(outcome)
        if outcome.line is not None:
            out.write(outcome.line)
            out.write("\n")
    return time.perf_counter() - began, summary, out.tell()


def run_columns(protocol: str, path: Path, workers: int) -> tuple[float, Summary, int]:
    pack = load_protocol(protocol)
    out = io.StringIO()
    summary = Summary()
    began = time.perf_counter()
    for chunk in evaluate_columns(pack, read_records(path), datetime(2026, 4, 1, tzinfo=UTC), workers=workers):
        summary.merge(chunk.summary)
        out.write(chunk.csv)
    return time.perf_counter() - began, summary, out.tell()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--protocol", default="dorset")
    parser.add_argument("--children", type=int, default=80_000)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--no-events", action="store_true",
                        help="no acts recorded, as histories built from the SSDA903 return have none")
    parser.add_argument("--only", choices=("child", "cohort"), help="time one path only")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "cohort.jsonl"
        with path.open("w", encoding="utf-8") as handle:
            for history in children(args.children):
                if args.no_events:
                    for episode in history["episodes"]:
                        episode["events"] = []
                handle.write(json.dumps(history) + "\n")
        paths = (("child by child", run, "JSON lines", "child"), ("cohort evaluator", run_columns, "duties CSV",
                                                                   "cohort"))
        for label, path_run, output, name in paths:
            if args.only and args.only != name:
                continue
            for workers in dict.fromkeys((1, args.workers)):
                seconds, summary, size = path_run(args.protocol, path, workers)
                duties = sum(summary.states.values())
                print(f"{args.protocol}, {label}, {workers} worker{'s' if workers > 1 else ''}: "
                      f"{summary.children:,} children, {summary.episodes:,} episodes, {duties:,} duties in "
                      f"{seconds:.1f} s ({summary.children / seconds:,.0f} children/s; {size / 1e6:.0f} MB of "
                      f"{output})", flush=True)


if __name__ == "__main__":
    main()
