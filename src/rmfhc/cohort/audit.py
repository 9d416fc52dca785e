"""A compliance audit of a cohort against a protocol: what was done on time, late, or never.

For every duty required in the period (its `required_at` from the start date, inclusive, to the end date,
exclusive), counted per duty kind and per rule: how many were required, done on time, done late, declined,
missed, overdue, still due, stood down and not assessable; the median and 90th percentile time taken from
becoming required to being done; each by month. Beside them, the national measure of the 2014 statutory
guidance, "return interview offered within 72 hours of return", computed from the histories themselves (a
return interview done or offered and declined within 72 hours of the child being found), whatever the pack.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from ..dates import LONDON
from ..errors import RmfhcError
from ..evaluate import evaluate
from ..models import EpisodeKind, History, Precision
from ..pack import Pack
from ..results import DutyState, Evaluation
from .batch import Record, _chunks, _history

NATIONAL_LIMIT = timedelta(hours=72)
NATIONAL_KINDS = frozenset({EpisodeKind.MISSING, EpisodeKind.MISSING_WITH_FAMILY, EpisodeKind.ABSCONDED})
OUTCOMES = (DutyState.DONE_ON_TIME, DutyState.DONE_LATE, DutyState.DECLINED, DutyState.MISSED,
            DutyState.OVERDUE, DutyState.DUE, DutyState.STOOD_DOWN, DutyState.NOT_ASSESSABLE)


@dataclass(frozen=True, slots=True)
class Period:
    """The audit's period: London dates, the start included, the end excluded."""

    start: date
    end: date

    def contains(self, moment: datetime) -> bool:
        return self.start <= moment.astimezone(LONDON).date() < self.end


def month_of(moment: datetime) -> str:
    return moment.astimezone(LONDON).strftime("%Y-%m")


@dataclass
class Tally:
    """Counts by state and the hours each done duty took, for one duty kind, rule or month."""

    states: dict[str, int] = field(default_factory=lambda: {s.value: 0 for s in OUTCOMES})
    hours: list[float] = field(default_factory=list)

    @property
    def required(self) -> int:
        return sum(self.states.values())

    def add(self, state: DutyState, taken: timedelta | None) -> None:
        self.states[state.value] += 1
        if taken is not None:
            self.hours.append(taken.total_seconds() / 3600)

    def merge(self, other: Tally) -> None:
        for state, count in other.states.items():
            self.states[state] += count
        self.hours += other.hours

    def on_time_share(self) -> float | None:
        """Done on time (or offered and declined on time) as a share of those whose outcome can be judged."""
        judged = self.required - self.states["due"] - self.states["stood_down"] - self.states["not_assessable"]
        if not judged:
            return None
        return self.states["done_on_time"] / judged

    def median(self) -> float | None:
        return statistics.median(self.hours) if self.hours else None

    def p90(self) -> float | None:
        if not self.hours:
            return None
        ordered = sorted(self.hours)
        return ordered[min(len(ordered) - 1, max(0, round(0.9 * len(ordered) + 0.5) - 1))]


@dataclass
class National:
    """The statutory guidance's measure: returns, and return interviews offered within 72 hours of them."""

    returns: int = 0
    offered_in_time: int = 0
    by_month: dict[str, list[int]] = field(default_factory=dict)  # month: [returns, offered in time]

    def add(self, month: str, in_time: bool) -> None:
        self.returns += 1
        self.offered_in_time += in_time
        entry = self.by_month.setdefault(month, [0, 0])
        entry[0] += 1
        entry[1] += in_time

    def merge(self, other: National) -> None:
        self.returns += other.returns
        self.offered_in_time += other.offered_in_time
        for month, (returns, in_time) in other.by_month.items():
            entry = self.by_month.setdefault(month, [0, 0])
            entry[0] += returns
            entry[1] += in_time

    def share(self) -> float | None:
        return self.offered_in_time / self.returns if self.returns else None


@dataclass
class Audit:
    """The audit of a cohort: per duty kind, per rule, per month, and the national return-interview measure."""

    protocol: str
    period: Period
    children: int = 0
    refused: int = 0
    dates_only: int = 0  # histories with dates only (SSDA903): limits under a day are not assessable
    by_kind: dict[str, Tally] = field(default_factory=dict)
    by_rule: dict[tuple[str, str], Tally] = field(default_factory=dict)  # (kind, rule)
    by_month: dict[tuple[str, str], Tally] = field(default_factory=dict)  # (kind, month)
    national: National = field(default_factory=National)
    rule_titles: dict[str, str] = field(default_factory=dict)

    def add_child(self, history: History, result: Evaluation) -> None:
        """Count one child's duties required in the period, and their returns for the national measure."""
        self.children += 1
        self.dates_only += history.precision is Precision.DAY
        for duty in result.duties:
            if not self.period.contains(duty.required_at):
                continue
            taken = duty.done_at - duty.required_at if duty.done_at is not None else None
            for tally in (self.by_kind.setdefault(duty.duty, Tally()),
                          self.by_rule.setdefault((duty.duty, duty.rule), Tally()),
                          self.by_month.setdefault((duty.duty, month_of(duty.required_at)), Tally())):
                tally.add(duty.state, taken)
            self.rule_titles.setdefault(duty.rule, duty.title)
        for episode in history.episodes:
            found = episode.found_at
            if found is None or episode.kind not in NATIONAL_KINDS or not self.period.contains(found):
                continue
            offered = [e.at for e in episode.events if e.duty == "return_interview" and found <= e.at]
            in_time = any(at - found <= NATIONAL_LIMIT for at in offered)
            self.national.add(month_of(found), in_time)

    def merge(self, other: Audit) -> None:
        """Add another audit of the same protocol and period (a worker's share of the cohort)."""
        self.children += other.children
        self.refused += other.refused
        self.dates_only += other.dates_only
        for kind, tally in other.by_kind.items():
            self.by_kind.setdefault(kind, Tally()).merge(tally)
        for key, tally in other.by_rule.items():
            self.by_rule.setdefault(key, Tally()).merge(tally)
        for key, tally in other.by_month.items():
            self.by_month.setdefault(key, Tally()).merge(tally)
        self.national.merge(other.national)
        self.rule_titles.update(other.rule_titles)

    def months(self) -> list[str]:
        """Every month of the period, in order."""
        months, day = [], self.period.start.replace(day=1)
        while day < self.period.end:
            months.append(day.strftime("%Y-%m"))
            day = (day + timedelta(days=32)).replace(day=1)
        return months


def audit_histories(pack: Pack, histories: Iterable[History], period: Period, as_of: datetime) -> Audit:
    """Audit histories already read (the Python API; the command line reads and evaluates in parallel)."""
    audit = Audit(pack.id, period)
    for history in histories:
        audit.add_child(history, evaluate(pack, history, as_of))
    return audit


def rows(audit: Audit) -> Iterator[dict[str, object]]:
    """The audit as CSV rows: one per duty kind and per rule, then the national measure by month."""
    def row(level: str, kind: str, rule: str, title: str, tally: Tally) -> dict[str, object]:
        share = tally.on_time_share()
        return {"level": level, "duty": kind, "rule": rule, "title": title, "required": tally.required,
                **tally.states, "on_time_share": None if share is None else round(share, 4),
                "median_hours": _round(tally.median()), "p90_hours": _round(tally.p90())}

    for kind, tally in sorted(audit.by_kind.items()):
        yield row("duty kind", kind, "", "", tally)
        for (rule_kind, rule), rule_tally in sorted(audit.by_rule.items()):
            if rule_kind == kind:
                yield row("rule", kind, rule, audit.rule_titles.get(rule, ""), rule_tally)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


# ---------------------------------------------------------------------------------------------------------
# A cohort in parallel: each worker audits chunks of records; the parts are merged.

_PART: dict[str, object] = {}


def _init(pack_path: str, period: Period, as_of: datetime) -> None:
    from ..pack import load_protocol

    if _PART.get("path") != pack_path:
        _PART.update(pack=load_protocol(pack_path), path=pack_path)
    _PART.update(period=period, as_of=as_of)


def _audit_chunk(chunk: list[Record]) -> tuple[Audit, list[str]]:
    pack, period, as_of = _PART["pack"], _PART["period"], _PART["as_of"]
    assert isinstance(pack, Pack) and isinstance(period, Period) and isinstance(as_of, datetime)
    part, refused = Audit(pack.id, period), []
    for record in chunk:
        try:
            history = _history(record)
            part.add_child(history, evaluate(pack, history, as_of))
        except RmfhcError as error:
            part.refused += 1
            refused.append(f"{record.source}: {str(error).replace(chr(10), '; ')}")
    return part, refused


def audit_many(pack: Pack, records: Iterable[Record], period: Period, as_of: datetime, *,
               workers: int | None = None, refused: list[str] | None = None, chunk: int = 200) -> Audit:
    """Audit a cohort of records across `workers` processes; the refused records' messages go to `refused`."""
    import multiprocessing
    import os
    from concurrent.futures import ProcessPoolExecutor

    audit = Audit(pack.id, period)
    sink = refused if refused is not None else []
    workers = workers or os.cpu_count() or 1
    _PART.update(pack=pack, path=pack.path, period=period, as_of=as_of)
    if workers == 1:
        for part_records in _chunks(records, chunk):
            part, messages = _audit_chunk(part_records)
            audit.merge(part)
            sink += messages
        return audit
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context(method), initializer=_init,
                             initargs=(pack.path, period, as_of)) as pool:
        for part, messages in pool.map(_audit_chunk, _chunks(records, chunk)):
            audit.merge(part)
            sink += messages
    return audit
