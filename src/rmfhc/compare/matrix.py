"""`rmfhc compare`: the packs side by side, a row per canonical duty kind and a column per area.

Built on the canonical duty kinds of protocols/vocabulary.yaml, never on rule ids: every cell holds the rules
of one kind in one area, each summarised in words (words.py) for the compact matrix and for the detail.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from ..dates import Duration
from ..pack import DeadlineKind, Pack, Rule
from ..words import duty_words, plain
from .base import ComparisonError, Result
from .words import (
    describe_applies,
    describe_clause,
    describe_clock,
    describe_deadline,
    describe_deadline_in_full,
    describe_escalation,
    describe_holders,
    describe_on_return,
    describe_repeat,
    describe_timing,
    short_holders,
    short_timing,
)

SHORT_SECTION = 10


def short_section(section: str) -> str:
    """A clause short enough for a matrix cell: "9.3"; a long heading cut after a few words with "…"."""
    text = plain(section)
    if len(text) <= SHORT_SECTION:
        return text
    cut = ""
    for word in text.split():
        if len(cut) >= SHORT_SECTION - 4:
            break
        cut = f"{cut} {word}".strip()
    return cut.rstrip(",;:-\N{EN DASH}") + "…"


class RuleSummary(Result):
    """One rule in words, as the comparison shows it."""

    id: str
    duty: str
    title: str
    holders: str  # local titles, with the children each holds it for where that depends on the child
    recipients: str
    applies: str  # conditions and episode kinds in plain English
    clock: str  # when it becomes required
    timing: str  # deadline and clock in one phrase: "within 24 hours of the report to police"
    due: str  # the deadline as written, with the reading of a phrase: "as soon as possible (read as ...)"
    deadline: str  # the deadline with what ends it (on return, repeats, what does it)
    on_return: str
    repeat: str
    escalation: str
    clause: str
    quote: str
    interpretation: str | None
    overrides: tuple[str, ...]  # titles of the rules this one replaces when it applies
    cell: str  # the compact matrix line: "Team Manager · 24 h from report (9.3)"
    cell_holder: str  # its three parts: "Team Manager"
    cell_holder_first: str  # the first holder alone, with how many others: "Team manager +1"
    cell_timing: str  # "24 h from report"
    cell_clause: str  # "9.3"

    @classmethod
    def of(cls, rule: Rule, pack: Pack, readings: Mapping[str, Duration] | None = None) -> RuleSummary:
        """Summarise a compiled rule of `pack`; `readings`: phrases whose reading the matrix says once."""
        localities = pack.meta.localities
        holder, timing = short_holders(rule), short_timing(rule, readings)
        clause = short_section(rule.source.section)
        replaced = tuple(plain(pack.rules_by_id[other].title) for other in rule.overrides
                         if other in pack.rules_by_id)
        return cls(
            id=rule.id, duty=rule.duty, title=plain(rule.title),
            holders=describe_holders(rule.holders, localities),
            recipients=describe_holders(rule.recipients, localities),
            applies=describe_applies(rule, localities), clock=describe_clock(rule), timing=describe_timing(rule),
            due=describe_deadline(rule.deadline),
            deadline=describe_deadline_in_full(rule), on_return=describe_on_return(rule),
            repeat=describe_repeat(rule), escalation=describe_escalation(rule), clause=describe_clause(rule),
            quote=plain(rule.source.quote),
            interpretation=None if rule.interpretation is None else plain(rule.interpretation),
            overrides=replaced, cell=f"{holder} · {timing} ({clause})", cell_holder=holder,
            cell_holder_first=short_holders(rule, limit=0), cell_timing=timing,
            cell_clause=clause)


class Area(Result):
    """A column of the comparison: one pack."""

    id: str
    area: str
    title: str
    version: str
    publisher: str | None
    rules: int


class ComparisonRow(Result):
    """A canonical duty kind and, per area (in column order), the rules of that kind; empty: none."""

    duty: str
    name: str  # the duty kind in words
    definition: str
    cells: tuple[tuple[RuleSummary, ...], ...]


class Reading(Result):
    """A phrase with no exact limit that every compared rule using it reads the same way."""

    phrase: str
    allows: str


class Comparison(Result):
    """The matrix: one row per canonical duty kind used by any pack, one column per area."""

    areas: tuple[Area, ...]
    readings: tuple[Reading, ...]  # shared readings, said once instead of in every cell
    rows: tuple[ComparisonRow, ...]
    unused_duties: tuple[str, ...]  # kinds of the vocabulary no compared pack encodes (unfiltered only)

    def cell(self, duty: str, area_id: str) -> tuple[RuleSummary, ...]:
        """The rules of one duty kind in one area (empty when the area has none)."""
        column = [a.id for a in self.areas].index(area_id)
        return next(row.cells[column] for row in self.rows if row.duty == duty)


def vocabulary_of(packs: Sequence[Pack]) -> dict[str, str]:
    """The duty kinds of every pack's vocabulary with their definitions, in the first vocabulary's order."""
    merged: dict[str, str] = {}
    for pack in packs:
        for duty, definition in pack.vocabulary.duties.items():
            merged.setdefault(duty, definition)
    return merged


def pick_duties(wanted: Iterable[str], packs: Sequence[Pack]) -> list[str]:
    """Duty kinds as typed (`strategy_discussion` or "strategy discussion"), checked against the vocabulary."""
    known = vocabulary_of(packs)
    by_words = {duty_words(kind).lower(): kind for kind in known}
    chosen = []
    for item in wanted:
        key = item.strip().lower()
        kind = key.replace(" ", "_").replace("-", "_") if key.replace(" ", "_").replace("-", "_") in known else \
            by_words.get(key)
        if kind is None:
            raise ComparisonError(f"'{item}' is not a duty kind; the kinds are in protocols/vocabulary.yaml, such "
                                  "as strategy_discussion or return_interview")
        chosen.append(kind)
    return chosen


def compare_packs(packs: Sequence[Pack], duties: Iterable[str] | None = None) -> Comparison:
    """Compare packs side by side: a row per canonical duty kind any pack uses, a column per pack.

    `duties` keeps only those kinds (canonical names or words), in the vocabulary's order.
    """
    if not packs:
        raise ComparisonError("give at least one protocol to compare")
    ids = [pack.id for pack in packs]
    if len(set(ids)) != len(ids):
        raise ComparisonError(f"a protocol is given twice: {', '.join(ids)}")
    vocabulary = vocabulary_of(packs)
    used = {rule.duty for pack in packs for rule in pack.rules}
    # Kinds outside the vocabulary cannot pass validation, but keep them rather than lose a rule.
    order = [duty for duty in vocabulary if duty in used] + sorted(used - set(vocabulary))
    unused = tuple(d for d in vocabulary if d not in used)
    if duties is not None:
        chosen = set(pick_duties(duties, packs))
        order = [duty for duty in order if duty in chosen]
        unused = tuple(d for d in vocabulary if d in chosen and d not in used)
    readings = shared_readings(packs)
    rows = tuple(
        ComparisonRow(duty=duty, name=duty_words(duty), definition=plain(vocabulary.get(duty, "")),
                      cells=tuple(tuple(RuleSummary.of(rule, pack, readings) for rule in pack.rules
                                        if rule.duty == duty) for pack in packs))
        for duty in order)
    areas = tuple(Area(id=p.id, area=p.meta.area, title=plain(p.meta.title), version=p.meta.version,
                       publisher=p.meta.publisher, rules=len(p.rules)) for p in packs)
    return Comparison(areas=areas, rows=rows, unused_duties=unused,
                      readings=tuple(Reading(phrase=p, allows=str(d)) for p, d in readings.items()))


def shared_readings(packs: Sequence[Pack]) -> dict[str, Duration]:
    """Phrases ("as soon as possible") that every rule of every pack using them reads as the same time."""
    seen: dict[str, set[Duration]] = {}
    for pack in packs:
        for rule in pack.rules:
            if rule.deadline.kind is DeadlineKind.PHRASE and rule.deadline.within is not None:
                seen.setdefault(rule.deadline.text, set()).add(rule.deadline.within)
    return {phrase: next(iter(found)) for phrase, found in sorted(seen.items()) if len(found) == 1}
