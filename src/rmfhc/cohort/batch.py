"""Evaluating many children: histories in, results out, in parallel across cores, streamed.

The shape is the one a distributed engine wants (docs/scale.md): an iterator of records in, an iterator of
outcomes out, each child evaluated on its own by the pure `evaluate`. A record that is not a valid history is
an outcome with an error naming where it came from; it never stops the batch.
"""

from __future__ import annotations

import io
import multiprocessing
import os
import sys
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from typing import Any, TextIO

from .. import _read
from ..errors import RmfhcError
from ..evaluate import evaluate
from ..models import History, load_history
from ..pack import Pack, load_protocol
from ..results import DutyState, Evaluation, iso_duration, london_time


@dataclass(frozen=True, slots=True)
class Record:
    """One input history and where it came from ('children.jsonl:12', 'cases/c1.json')."""

    source: str
    data: str | dict[str, Any] | History


@dataclass(slots=True)
class Outcome:
    """What became of one record: its evaluation (and JSON line), or why it was refused."""

    source: str
    child: str | None = None
    episodes: int = 0
    evaluation: Evaluation | None = None
    line: str | None = None  # the result as one JSON line, when asked for
    error: str | None = None
    counts: dict[str, int] = field(default_factory=dict)
    rows: list[tuple[Any, ...]] = field(default_factory=list)  # one per duty (DUTY_COLUMNS), when asked for


def read_records(path: str | Path, stdin: TextIO | None = None) -> Iterator[Record]:
    """Histories from a JSON-lines file (one history per line), a folder of .json files (read recursively), or
    '-' for JSON lines on standard input. Blank lines are skipped."""
    if str(path) == "-":
        yield from _lines(stdin or sys.stdin, "stdin")
        return
    path = Path(path)
    if path.is_dir():
        for file in sorted(path.rglob("*.json")):
            try:
                yield Record(str(file), file.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError) as error:
                yield Record(str(file), f"\0cannot read the file: {error}")
        return
    try:
        handle = path.open(encoding="utf-8")
    except OSError as error:
        raise RmfhcError(f"{path}: cannot read the histories: {error.strerror}") from None
    with handle:
        yield from _lines(handle, str(path))


def _lines(handle: TextIO, name: str) -> Iterator[Record]:
    try:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                yield Record(f"{name}:{number}", line)
    except UnicodeDecodeError as error:
        raise RmfhcError(f"{name}: not UTF-8 text ({error.reason}); save the file as UTF-8") from None


def evaluate_record(pack: Pack, record: Record, as_of: datetime, *, json_line: bool = False,
                    keep: bool = True, rows: bool = False) -> Outcome:
    """Evaluate one record; a bad record gives an outcome with the error, never an exception."""
    outcome = Outcome(record.source)
    try:
        history = _history(record)
        outcome.child = history.child.id
        outcome.episodes = len(history.episodes)
        result = evaluate(pack, history, as_of)
    except RmfhcError as error:
        outcome.error = f"{record.source}: {str(error).replace(chr(10), '; ')}"
        return outcome
    outcome.counts = result.count()
    if json_line:
        out = io.StringIO()
        result.write_json(out)
        outcome.line = out.getvalue().rstrip("\n")
    if rows:
        outcome.rows = [(record.source, history.child.id, d.episode, d.rule, d.duty, d.occurrence, d.state.value,
                         london_time(d.required_at), london_time(d.due), london_time(d.done_at), d.done_by,
                         iso_duration(d.late_by)) for d in result.duties]
    if keep:
        outcome.evaluation = result
    return outcome


def _history(record: Record) -> History:
    data = record.data
    if isinstance(data, History):
        return data
    if isinstance(data, str):
        if data.startswith("\0"):
            raise RmfhcError(data[1:])
        if len(data) > _read.MAX_HISTORY_BYTES:
            raise RmfhcError(f"more than {_read.MAX_HISTORY_BYTES // _read.MB} MB; a history is at most that")
        try:
            data = _read.load_json(data, record.source, max_items=_read.MAX_HISTORY_VALUES)
        except _read.BadInput as error:
            problem = error.problem
            raise RmfhcError(f"{problem.message} (column {problem.column})" if problem.column else
                             problem.message) from None
    return load_history(data, "history")


# ---------------------------------------------------------------------------------------------------------
# In parallel. Each worker holds the compiled pack (inherited on fork, or loaded once by path) and gets
# chunks of records; only text crosses between processes when JSON lines are asked for.

_WORKER: dict[str, Any] = {}


def _init(pack_path: str, as_of: datetime, options: dict[str, bool]) -> None:
    if _WORKER.get("path") != pack_path:
        _WORKER["pack"] = load_protocol(pack_path)
        _WORKER["path"] = pack_path
    _WORKER.update(as_of=as_of, options=options)


def _run(chunk: list[Record]) -> list[Outcome]:
    pack, as_of, options = _WORKER["pack"], _WORKER["as_of"], _WORKER["options"]
    return [evaluate_record(pack, r, as_of, **options) for r in chunk]


def _chunks(records: Iterable[Record], size: int) -> Iterator[list[Record]]:
    iterator = iter(records)
    while chunk := list(islice(iterator, size)):
        yield chunk


def evaluate_many(pack: Pack, records: Iterable[Record], as_of: datetime, *, workers: int | None = None,
                  json_lines: bool = False, keep: bool = True, rows: bool = False,
                  chunk: int = 100) -> Iterator[Outcome]:
    """Evaluate many histories against one pack, in input order, across `workers` processes (default: one per
    core; 1 evaluates in this process). Outcomes are streamed: memory holds a few chunks, not the cohort.

    `json_lines` puts each result's JSON line on its outcome, `rows` its duties as CSV rows, and `keep=False`
    leaves the Evaluation objects out (they are large to send between processes)."""
    workers = workers or os.cpu_count() or 1
    options = {"json_line": json_lines, "keep": keep, "rows": rows}
    if workers == 1:
        for record in records:
            yield evaluate_record(pack, record, as_of, **options)
        return
    _WORKER.update(pack=pack, path=pack.path)  # a forked worker inherits the compiled pack
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    context = multiprocessing.get_context(method)
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_init,
                             initargs=(pack.path, as_of, options)) as pool:
        # Bounded look-ahead: submit a window of chunks, yield in order as they finish.
        pending: list[Any] = []
        for part in _chunks(records, chunk):
            pending.append(pool.submit(_run, part))
            if len(pending) >= workers * 4:
                yield from pending.pop(0).result()
        for future in pending:
            yield from future.result()


@dataclass
class Summary:
    """What a batch did: children evaluated, episodes, duties by state, records refused."""

    children: int = 0
    episodes: int = 0
    refused: int = 0
    states: dict[str, int] = field(default_factory=lambda: {s.value: 0 for s in DutyState})

    def add(self, outcome: Outcome) -> None:
        if outcome.error is not None:
            self.refused += 1
            return
        self.children += 1
        self.episodes += outcome.episodes
        for state, count in outcome.counts.items():
            self.states[state] = self.states.get(state, 0) + count

    def merge(self, other: Summary) -> None:
        self.children += other.children
        self.episodes += other.episodes
        self.refused += other.refused
        for state, count in other.states.items():
            self.states[state] = self.states.get(state, 0) + count

    def lines(self) -> list[str]:
        duties = sum(self.states.values())
        states = ", ".join(f"{n:,} {s.replace('_', ' ')}" for s, n in self.states.items() if n)
        return [f"children: {self.children:,}; episodes: {self.episodes:,}; records refused: {self.refused:,}",
                f"duties: {duties:,}" + (f" ({states})" if states else "")]


DUTY_COLUMNS = ("source", "child", "episode", "rule", "duty", "occurrence", "state", "required_at", "due",
                "done_at", "done_by", "late_by")


# ---------------------------------------------------------------------------------------------------------
# Duties only, by the cohort evaluator: a chunk of records at a time, each worker writing its chunk's CSV.


@dataclass
class Chunk:
    """A chunk of records evaluated by the cohort evaluator: its duties as CSV text, counts and refusals."""

    csv: str
    summary: Summary
    refused: list[str]


def _read_chunk(records: list[Record], as_of: datetime) -> tuple[list[History], list[str], list[str]]:
    histories, sources, refused = [], [], []
    for record in records:
        try:
            history = _history(record)
            first = history.ordered_episodes()[0]
            if as_of < first.last_seen_at:
                raise RmfhcError(f"as_of is before the first episode ('{first.id}')")
        except RmfhcError as error:
            refused.append(f"{record.source}: {str(error).replace(chr(10), '; ')}")
            continue
        histories.append(history)
        sources.append(record.source)
    return histories, sources, refused


def _columns_chunk(pack: Pack, records: list[Record], as_of: datetime) -> Chunk:
    from .columnar import csv_text, evaluate_cohort

    histories, sources, refused = _read_chunk(records, as_of)
    summary = Summary(refused=len(refused))
    out = io.StringIO()
    if histories:
        duties, _ = evaluate_cohort(pack, histories, as_of)
        out.write(csv_text(duties, sources, [h.child.id for h in histories]))
        summary.children = len(histories)
        summary.episodes = sum(len(h.episodes) for h in histories)
        for state in duties.state:
            summary.states[state] += 1
    return Chunk(out.getvalue(), summary, refused)


def _run_columns(chunk: list[Record]) -> Chunk:
    return _columns_chunk(_WORKER["pack"], chunk, _WORKER["as_of"])


def evaluate_columns(pack: Pack, records: Iterable[Record], as_of: datetime, *, workers: int | None = None,
                     chunk: int = 2000) -> Iterator[Chunk]:
    """Every duty of many children as CSV rows (DUTY_COLUMNS), by the cohort evaluator, in input order,
    across `workers` processes: for a national year, where `evaluate_many` would spend its time child by child."""
    workers = workers or os.cpu_count() or 1
    as_of = as_of.astimezone(UTC)
    if workers == 1:
        for part in _chunks(records, chunk):
            yield _columns_chunk(pack, part, as_of)
        return
    _WORKER.update(pack=pack, path=pack.path, as_of=as_of)
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context(method), initializer=_init,
                             initargs=(pack.path, as_of, {})) as pool:
        pending: list[Any] = []
        for part in _chunks(records, chunk):
            pending.append(pool.submit(_run_columns, part))
            if len(pending) >= workers * 2:
                yield pending.pop(0).result()
        for future in pending:
            yield future.result()
