"""The cohort evaluator: the same duties as `evaluate`, for many children at once, rule by rule over columns.

`evaluate` walks one child's episodes and rules in Python; for a national year that is most of the time. Here
the children's episodes become columns (numpy arrays), and each rule is applied to every episode at once:
its conditions (with the very `check` functions the per-child engine uses, applied to each distinct value),
its clock, its occurrences, what did it and its state. What this path does not cover, it leaves to `evaluate`
for that child, whole: events that name a rule or who did them, refusals, several rules of one kind competing
for the same events, repeating duties with events to share out, and instants beyond the time tables. A
property test keeps the two paths equal on generated cohorts (tests/test_columnar.py).

The result is a table of duty rows (no upcoming triggers, findings or explanations: use `evaluate` for those).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt

from ..conditions import All, Always, AnyOf, Condition, Leaf, Not
from ..dates import LONDON
from ..evaluate import _CHILD_CLOCKS, _EARLIEST, _Known, _known_episodes, evaluate
from ..evaluate import _condition_start as _started
from ..models import History, Precision
from ..pack import ClockFrom, DeadlineKind, OnReturn, Pack, Rule
from ..results import DutyState, iso_duration
from . import vectime as vt

Mask = npt.NDArray[np.bool_]
NAT = vt.NAT
_STATES = list(DutyState)
_STATE_CODE = {state: code for code, state in enumerate(_STATES)}
_MICROSECOND = timedelta(microseconds=1)
_LIMIT_LOW = vt.instants([datetime(1901, 1, 1, tzinfo=UTC)])[0]
_LIMIT_HIGH = vt.instants([datetime(2199, 1, 1, tzinfo=UTC)])[0]


@dataclass
class Duties:
    """Duty rows: one per duty instance, in columns (times are UTC instants in nanoseconds, NAT for none)."""

    child: list[int] = field(default_factory=list)  # index of the child in the cohort
    episode: list[str] = field(default_factory=list)
    rule: list[str] = field(default_factory=list)
    duty: list[str] = field(default_factory=list)
    occurrence: list[int] = field(default_factory=list)
    state: list[str] = field(default_factory=list)
    required_at: list[int] = field(default_factory=list)
    due: list[int] = field(default_factory=list)
    done_at: list[int] = field(default_factory=list)
    done_by: list[str | None] = field(default_factory=list)
    late_by: list[int] = field(default_factory=list)  # nanoseconds; NAT when not late

    def __len__(self) -> int:
        return len(self.rule)

    def rows(self) -> list[tuple[Any, ...]]:
        """(child, episode, rule, duty, occurrence, state, required_at, due, done_at, done_by, late_by), sorted
        as `evaluate` sorts a child's duties."""
        rows = list(zip(self.child, self.episode, self.rule, self.duty, self.occurrence, self.state,
                        self.required_at, self.due, self.done_at, self.done_by, self.late_by, strict=True))
        rows.sort(key=lambda r: (r[0], r[6], r[1], r[2], r[4]))
        return rows


# ---------------------------------------------------------------------------------------------------------
# Episodes as columns.


class _Facts:
    """A fact's values over the episodes: codes into a short list of distinct values."""

    def __init__(self, values: Sequence[Any]) -> None:
        index: dict[Any, int] = {}
        self.codes = np.fromiter((index.setdefault(v, len(index)) for v in values), dtype=np.int64,
                                 count=len(values))
        self.values = list(index)

    def test(self, check: Any) -> Mask:
        held = np.fromiter((bool(check(v)) for v in self.values), dtype=np.bool_, count=len(self.values))
        result: Mask = held[self.codes] if len(self.values) else np.zeros(len(self.codes), dtype=np.bool_)
        return result


def vector(condition: Condition, facts: dict[str, _Facts], size: int) -> Mask:
    """Where a condition holds, episode by episode, using the condition's own checks."""
    if isinstance(condition, Always):
        return np.ones(size, dtype=np.bool_)
    if isinstance(condition, Leaf):
        return facts[condition.fact].test(condition.check)
    if isinstance(condition, All):
        result = np.ones(size, dtype=np.bool_)
        for part in condition.parts:
            result &= vector(part, facts, size)
        return result
    if isinstance(condition, AnyOf):
        result = np.zeros(size, dtype=np.bool_)
        for part in condition.parts:
            result |= vector(part, facts, size)
        return result
    if isinstance(condition, Not):
        return ~vector(condition.part, facts, size)
    raise TypeError(f"unknown condition {condition!r}")  # pragma: no cover - the compiler makes only these


@dataclass
class _Table:
    """The cohort's episodes known at as_of, in columns, in each child's order."""

    known: list[_Known]
    children: list[Any]  # the cohort's Child records, by index
    child: npt.NDArray[np.int64]
    first: Mask  # the child's first known episode (child-level clocks attach to it)
    kind: npt.NDArray[np.int64]
    last_seen: npt.NDArray[np.int64]
    noticed: npt.NDArray[np.int64]
    reported: npt.NDArray[np.int64]
    found: npt.NDArray[np.int64]
    found_report: npt.NDArray[np.int64]
    last_moment: npt.NDArray[np.int64]
    number: npt.NDArray[np.int64]  # 0 for an episode not counted
    facts: dict[str, _Facts]
    dates_only: Mask
    acts: list[dict[str, list[int]]] = field(default_factory=list)  # by episode: instants of acts, by kind

    @property
    def size(self) -> int:
        return len(self.known)


def _column(values: Sequence[datetime | None]) -> npt.NDArray[np.int64]:
    return vt.instants(list(values))


def _table(pack: Pack, histories: Sequence[History], as_of: datetime, children: Sequence[int]) -> _Table:
    known: list[_Known] = []
    owner: list[int] = []
    first: list[bool] = []
    dates_only: list[bool] = []
    for index in children:
        history = histories[index]
        episodes = _known_episodes(pack, history, as_of)
        known += episodes
        owner += [index] * len(episodes)
        first += [True] + [False] * (len(episodes) - 1) if episodes else []
        dates_only += [history.precision is Precision.DAY] * len(episodes)
    kinds = {kind: code for code, kind in enumerate(pack.rules_by_kind)}
    names = _facts_read(pack)
    facts = {name: _Facts([k.facts[name] for k in known]) for name in names}
    return _Table(
        known, [h.child for h in histories], np.array(owner, dtype=np.int64), np.array(first, dtype=np.bool_),
        np.array([kinds[k.episode.kind] for k in known], dtype=np.int64),
        _column([k.last_seen for k in known]), _column([k.noticed for k in known]),
        _column([k.reported for k in known]), _column([k.found for k in known]),
        _column([k.found_report for k in known]),
        _column([None if k.last_moment == _EARLIEST else k.last_moment for k in known]),
        np.array([k.number or 0 for k in known], dtype=np.int64), facts, np.array(dates_only, dtype=np.bool_),
        [_acts(k) for k in known])


def _facts_read(pack: Pack) -> set[str]:
    names = {fact for rule in pack.rules for fact in rule.facts_read}
    for rule in pack.rules:
        if rule.clock.counts is not None:
            names.update(rule.clock.counts.facts_read())
    return names


# ---------------------------------------------------------------------------------------------------------
# What this path leaves to `evaluate`.


def _needs_child_engine(pack: Pack, table: _Table, applicable: dict[str, Mask]) -> set[int]:
    """Children whose duties this path does not work out (the module docstring says which)."""
    children: set[int] = set()
    for column in (table.last_seen, table.reported, table.found, table.noticed, table.found_report):
        beyond = (column != NAT) & ((column < _LIMIT_LOW) | (column > _LIMIT_HIGH))
        children.update(table.child[beyond].tolist())
    chains = [rule for rule in pack.rules if rule.repeat is not None and rule.repeat.from_previous]
    children |= _child_duties_with_acts(pack, table, applicable)
    for position, known in enumerate(table.known):
        child = int(table.child[position])
        if child in children:
            continue
        if any(e.rule is not None or e.by is not None or e.declined for e in known.events):
            children.add(child)
        elif any(applicable[rule.id][position] and _can_be_done(rule, known) for rule in chains):
            children.add(child)  # each occurrence of a chain opens when the one before it is done
    return children


def _child_duties_with_acts(pack: Pack, table: _Table, applicable: dict[str, Mask]) -> set[int]:
    """Children with a duty of their own (from the placement, or coming into care) and an act of its kind
    recorded in any episode: `evaluate` credits such acts across the child's episodes."""
    rules = [rule for rule in pack.rules if rule.clock.start in _CHILD_CLOCKS]
    if not rules:
        return set()
    firsts = {int(table.child[p]): p for p in np.flatnonzero(table.first).tolist()}
    children: set[int] = set()
    for position, known in enumerate(table.known):
        child = int(table.child[position])
        if child in children or not known.events:
            continue
        first = firsts[child]
        if any(applicable[rule.id][first] and any(e.kind in rule.done_by for e in known.events) for rule in rules):
            children.add(child)
    return children


# ---------------------------------------------------------------------------------------------------------
# Rules over columns.


def _applicable(pack: Pack, table: _Table) -> tuple[dict[str, Mask], dict[str, Mask]]:
    """Where each rule's kind and conditions hold, and where it also is not overridden."""
    kinds = {kind: code for code, kind in enumerate(pack.rules_by_kind)}
    held = {}
    for rule in pack.rules:
        kind_mask = np.isin(table.kind, [kinds[k] for k in rule.episodes])
        held[rule.id] = kind_mask & vector(rule.when, table.facts, table.size)
    result = {}
    for rule in pack.rules:
        mask = held[rule.id].copy()
        for other in pack.rules:
            if rule.id in other.overrides:
                mask &= ~held[other.id]
        result[rule.id] = mask
    return held, result


def _anchor(rule: Rule, table: _Table, positions: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    start = rule.clock.start
    if start is ClockFrom.LAST_SEEN or start is ClockFrom.EPISODE_COUNT:
        return table.last_seen[positions]
    if start is ClockFrom.NOTICED:
        return table.noticed[positions]
    if start is ClockFrom.REPORTED:
        return table.reported[positions]
    if start is ClockFrom.FOUND:
        return table.found[positions]
    if start is ClockFrom.FOUND_REPORT_RECEIVED:
        return table.found_report[positions]
    moments: list[datetime | None] = []
    for position in positions.tolist():
        known = table.known[position]
        if start is ClockFrom.RISK_GRADED:
            moments.append(next((t for t, level in known.gradings if level in rule.clock.levels), None))
        elif start is ClockFrom.DUTY_DONE:
            declined = rule.clock.outcome == "declined"
            moments.append(next((e.at for e in known.events if e.kind == rule.clock.duty and e.declined is declined),
                                None))
        elif table.first[position]:  # child-level clocks attach to the child's first episode
            moments.append(_child_moment(rule, table, position))
        else:
            moments.append(None)
    return _column(moments)


def _child_moment(rule: Rule, table: _Table, position: int) -> datetime | None:
    child = table.children[int(table.child[position])]
    if rule.clock.start is ClockFrom.PLACEMENT_STARTED:
        moment = child.placement.started_at if child.placement else None
    else:
        moment = child.became_looked_after_at
    return None if moment is None else moment.astimezone(UTC)


def _condition_start(rule: Rule, table: _Table, positions: npt.NDArray[np.int64],
                     pack: Pack) -> npt.NDArray[np.int64]:
    """When the rule's conditions came to hold, for episodes whose timed facts changed after the clock start
    (`evaluate`'s own reckoning, with each episode's facts at each moment worked out once for all rules)."""
    starts = []
    for position in positions.tolist():
        start = _started(rule, table.known[position], pack)
        starts.append(None if start == _EARLIEST else start)
    return _column(starts)


def _counts(rule: Rule, table: _Table, applicable: Mask) -> Mask:
    """Episodes at which a count clock triggers (the per-child engine's rule, child by child)."""
    from ..dates import subtract

    counts = rule.clock.counts
    counted = table.number > 0 if counts is None else vector(counts, table.facts, table.size)
    result = np.zeros(table.size, dtype=np.bool_)
    enough = np.bincount(table.child[counted], minlength=int(table.child.max()) + 1 if table.size else 0)
    for child in np.nonzero(enough >= rule.clock.count)[0].tolist():
        positions = np.nonzero((table.child == child) & counted)[0].tolist()
        starts = [table.known[p].last_seen for p in positions]
        last_trigger: datetime | None = None
        for i, position in enumerate(positions):
            if not applicable[position]:
                continue
            window = starts[0] if rule.clock.within is None else subtract(starts[i], rule.clock.within)
            first = next(j for j in range(i + 1) if starts[j] >= window)
            if i + 1 - first < rule.clock.count:
                continue
            if not rule.clock.retrigger_each_episode and last_trigger is not None and last_trigger >= starts[first]:
                continue
            last_trigger = starts[i]
            result[position] = True
    return result


def _due(rule: Rule, required: npt.NDArray[np.int64], pack: Pack) -> npt.NDArray[np.int64]:
    if rule.deadline.kind is DeadlineKind.NEXT_WORKING_DAY:
        return vt.next_working_day_close(required, pack.office_hours)
    assert rule.deadline.within is not None
    return vt.add(required, rule.deadline.within, pack.office_hours)


def _first_event(rule: Rule, table: _Table, positions: npt.NDArray[np.int64], lower: npt.NDArray[np.int64],
                 upper: npt.NDArray[np.int64], anchor: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """The first act that does a one-off duty: an event or episode moment of a `done_by` kind in its window."""
    kinds = rule.done_by
    done = np.full(len(positions), NAT, dtype=np.int64)
    acts = table.acts
    for i, position in enumerate(positions.tolist()):
        by_kind = acts[position]
        if not by_kind:
            continue
        low, high = int(lower[i]), int(upper[i])
        best: int | None = None
        for kind in kinds:
            times = by_kind.get(kind)
            if not times:
                continue
            # a later grading counts only after the clock started
            low_here = max(low, int(anchor[i]) + 1) if kind == "regraded" else low
            at = bisect_left(times, low_here)
            if at < len(times) and (high == NAT or times[at] <= high) and (best is None or times[at] < best):
                best = times[at]
        if best is not None:
            done[i] = best
    return done


def _acts(known: _Known) -> dict[str, list[int]]:
    """An episode's acts and moments that a `done_by` may name, by kind, each a sorted list of instants."""
    acts: dict[str, list[int]] = {}
    for event in known.events:
        acts.setdefault(event.kind, []).append(_ns(event.at))
    if known.reported is not None:
        acts["reported"] = [_ns(known.reported)]
    if known.found is not None:
        acts["found"] = [_ns(known.found)]
    if known.gradings:
        acts["regraded"] = [_ns(t) for t, _ in known.gradings]
    for times in acts.values():
        times.sort()
    return acts


def _ns(moment: datetime) -> int:
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * vt.NS + delta.microseconds * 1000


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


# ---------------------------------------------------------------------------------------------------------
# The evaluator.


@dataclass
class _Block:
    """One occurrence number of one rule, over the episodes where it is required by as_of."""

    rule: Rule
    occurrence: int
    rows: npt.NDArray[np.int64]  # positions in the table
    anchor: npt.NDArray[np.int64]
    required: npt.NDArray[np.int64]
    due: npt.NDArray[np.int64]
    lower: npt.NDArray[np.int64]  # the earliest moment an event can do it
    upper: npt.NDArray[np.int64]  # the latest (NAT: no limit)
    found: npt.NDArray[np.int64]
    done: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, dtype=np.int64))


def evaluate_cohort(pack: Pack, histories: Sequence[History], as_of: datetime) -> tuple[Duties, set[int]]:
    """Every duty of every child, as rows; and the children left to `evaluate` (their rows are included)."""
    as_of = as_of.astimezone(UTC)
    for index, history in enumerate(histories):
        if as_of < history.ordered_episodes()[0].last_seen_at:
            raise ValueError(f"as_of is before the first episode of child {index}")
    table = _table(pack, histories, as_of, range(len(histories)))
    held, applicable = _applicable(pack, table)
    fallback = _needs_child_engine(pack, table, applicable)
    keep = ~np.isin(table.child, sorted(fallback)) if fallback else np.ones(table.size, dtype=np.bool_)
    now = _ns(as_of)
    blocks: list[_Block] = []
    for rule in pack.rules:
        mask = applicable[rule.id] & keep
        if rule.clock.start is ClockFrom.EPISODE_COUNT:
            mask &= _counts(rule, table, applicable[rule.id])
        positions = np.nonzero(mask)[0]
        if len(positions):
            blocks += _blocks(rule, pack, table, positions, now)
    _credit(pack, table, blocks, held)
    duties = Duties()
    for block in blocks:
        _states(block, table, now, duties)
    for child in sorted(fallback):
        result = evaluate(pack, histories[child], as_of)
        for d in result.duties:
            duties.child.append(child)
            duties.episode.append(d.episode)
            duties.rule.append(d.rule)
            duties.duty.append(d.duty)
            duties.occurrence.append(d.occurrence)
            duties.state.append(d.state.value)
            duties.required_at.append(_ns(d.required_at))
            duties.due.append(_ns(d.due))
            duties.done_at.append(NAT if d.done_at is None else _ns(d.done_at))
            duties.done_by.append(d.done_by)
            duties.late_by.append(NAT if d.late_by is None else d.late_by // _MICROSECOND * 1000)
    return duties, fallback


def _blocks(rule: Rule, pack: Pack, table: _Table, positions: npt.NDArray[np.int64], now: int) -> list[_Block]:
    anchor = _anchor(rule, table, positions)
    has = anchor != NAT
    positions, anchor = positions[has], anchor[has]
    if rule.timed:
        later = table.last_moment[positions] > anchor
        if later.any():
            started = _condition_start(rule, table, positions[later], pack)
            anchor[later] = np.maximum(anchor[later], np.where(started == NAT, anchor[later], started))
    first = anchor
    if rule.clock.after is not None:
        first = vt.add(first, rule.clock.after, pack.office_hours)
    if rule.clock.time_of_day is not None:
        first = vt.next_time_of_day(first, rule.clock.time_of_day.hour, rule.clock.time_of_day.minute)
    found = table.found[positions]
    if rule.clock.if_still_missing:
        still = (found == NAT) | (found > first)
        positions, anchor, first, found = positions[still], anchor[still], first[still], found[still]
    lower = np.full(len(positions), NAT + 1, dtype=np.int64) if rule.counts_earlier_events else anchor.copy()
    upper = found if rule.on_return is not OnReturn.CONTINUES else np.full(len(positions), NAT, dtype=np.int64)
    blocks = []
    previous: npt.NDArray[np.int64] | None = None  # the occurrence before's required time, by episode
    for occurrence, (index, required, due) in enumerate(
            _occurrences(rule, pack, table, positions, first, found, now), start=1):
        if occurrence == 1:
            low = required if rule.events_from_required else lower[index]
        else:  # a later occurrence may be done early, once the one before it became required
            assert previous is not None
            low = previous[index]
        blocks.append(_Block(rule, occurrence, positions[index], anchor[index], required, due, low, upper[index],
                             found[index]))
        previous = np.full(len(positions), NAT, dtype=np.int64)
        previous[index] = required
    return blocks


def _credit(pack: Pack, table: _Table, blocks: list[_Block], held: dict[str, Mask]) -> None:
    """What did each duty: vectorised where one rule alone can take an episode's events, and shared out
    event by event, as `rmfhc.credit` does, in the episodes where several rules or occurrences compete."""
    contested = _contested(table, blocks)
    for block in blocks:
        block.done = np.full(len(block.rows), NAT, dtype=np.int64)
        if block.occurrence == 1:
            simple = ~np.isin(block.rows, contested) if contested.size else np.ones(len(block.rows), dtype=bool)
            if simple.any():
                block.done[simple] = _first_event(block.rule, table, block.rows[simple], block.lower[simple],
                                                  block.upper[simple], block.anchor[simple])
    if contested.size:
        _share_out(pack, table, blocks, held, set(contested.tolist()))


def _contested(table: _Table, blocks: list[_Block]) -> npt.NDArray[np.int64]:
    """Episodes with acts that more than one duty instance could take: an event of a kind that two exclusive
    rules could take, or that rules of its kind sharing it could take only with a holder in common with each
    other when they have none (`rmfhc.credit`), or a repeating duty with any act that could do it."""
    takers: dict[tuple[int, str], dict[str, Rule]] = {}
    repeats: set[tuple[int, str]] = set()
    for block in blocks:
        rule = block.rule
        for position in block.rows.tolist():
            takers.setdefault((position, rule.duty), {})[rule.id] = rule
            if rule.repeat is not None:
                repeats.add((position, rule.id))
    episodes = {position for (position, kind), rules in takers.items()
                if len(rules) > 1 and any(e.kind == kind for e in table.known[position].events)
                and _competing(list(rules.values()), table.known[position])}
    rules_by_id = {block.rule.id: block.rule for block in blocks}
    for position, rule_id in repeats:
        if position not in episodes and _can_be_done(rules_by_id[rule_id], table.known[position]):
            episodes.add(position)
    return np.array(sorted(episodes), dtype=np.int64)


def _competing(rules: list[Rule], known: _Known) -> bool:
    """Whether rules of one kind compete for its events: two exclusive ones, or two without a holder in common
    (else each simply takes the first act in its window, as `rmfhc.credit` would give it)."""
    from ..evaluate import _keys, _people

    if sum(rule.exclusive for rule in rules) > 1:
        return True
    holders = [_keys(_people(rule, known.facts, {})[0]) for rule in rules]
    return any(not a & b for i, a in enumerate(holders) for b in holders[i + 1:])


def _can_be_done(rule: Rule, known: _Known) -> bool:
    kinds = rule.done_by
    return (any(e.kind in kinds for e in known.events) or ("reported" in kinds and known.reported is not None)
            or ("found" in kinds and known.found is not None) or ("regraded" in kinds and bool(known.gradings)))


def _share_out(pack: Pack, table: _Table, blocks: list[_Block], held: dict[str, Mask], episodes: set[int]) -> None:
    from ..credit import Instance, Track, credit_events
    from ..evaluate import _keys, _people, _pseudo_events

    tracks: dict[tuple[int, str], Track] = {}
    places: list[tuple[_Block, int, Instance]] = []
    for block in blocks:
        for i, position in enumerate(block.rows.tolist()):
            if position not in episodes:
                continue
            key = (position, block.rule.id)
            track = tracks.get(key)
            if track is None:
                order = _order(pack, table, held, position, block.rule)
                holders = _people(block.rule, table.known[position].facts, {})[0]
                track = Track(block.rule, _dt(block.anchor[i]), _dt(block.lower[i]),
                              None if block.upper[i] == NAT else _dt(block.upper[i]), order, _keys(holders))
                tracks[key] = track
            if block.occurrence == 1:
                track.lower = _dt(block.lower[i])
            instance = Instance(block.occurrence, _dt(block.required[i]), _dt(block.due[i]), _dt(block.lower[i]))
            track.instances.append(instance)
            places.append((block, i, instance))
    by_episode: dict[int, list[Track]] = {}
    for (position, _), track in tracks.items():
        by_episode.setdefault(position, []).append(track)
    for position, episode_tracks in by_episode.items():
        for track in episode_tracks:
            track.instances.sort(key=lambda instance: instance.occurrence)
        known = table.known[position]
        credit_events(episode_tracks, [*known.events, *_pseudo_events(known)])
    for block, i, instance in places:
        block.done[i] = NAT if instance.credit is None else _ns(instance.credit.at)


def _order(pack: Pack, table: _Table, held: dict[str, Mask], position: int, rule: Rule) -> int:
    """The rule's place among the rules that applied to the episode, as `evaluate` numbers them."""
    kind = table.known[position].episode.kind
    order = 0
    for other in pack.rules_by_kind[kind]:
        if other is rule:
            return order
        if held[other.id][position]:
            order += 1
    return order


def _dt(value: Any) -> datetime:
    moment = vt.to_datetime(int(value))
    assert moment is not None
    return moment


def _occurrences(rule: Rule, pack: Pack, table: _Table, positions: npt.NDArray[np.int64],
                 first: npt.NDArray[np.int64], found: npt.NDArray[np.int64],
                 now: int) -> list[tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]]]:
    """(indexes into `positions`, required instants, deadlines) for each occurrence number, from the first. A
    chain (counted from the previous occurrence) gets here only without acts: each occurrence follows the one
    before at its deadline."""
    index = np.arange(len(positions))
    required = first
    result = []
    repeat = rule.repeat
    occurrence = 1
    stops = None
    if repeat is not None and repeat.until_done is not None:
        stops = _column([next((e.at for e in table.known[p].events if e.kind == repeat.until_done and
                               not e.declined), None) for p in positions.tolist()])
    until = None if repeat is None or repeat.until is None else vt.add(first, repeat.until, pack.office_hours)
    while len(index):
        live = required <= now
        if occurrence > 1 and repeat is not None:
            if repeat.while_missing:
                live &= (found[index] == NAT) | (found[index] > required)
            if repeat.count is not None and occurrence > repeat.count:
                break
            if until is not None:
                live &= required <= until[index]
            if stops is not None:
                live &= (stops[index] == NAT) | (stops[index] >= required)
        index, required = index[live], required[live]
        if not len(index):
            break
        chain = repeat is not None and repeat.from_previous
        due = (vt.add(required, repeat.every, pack.office_hours) if chain and occurrence > 1 and repeat
               else _due(rule, required, pack))
        result.append((index, required, due))
        if repeat is None:
            break
        occurrence += 1
        required = due if chain else _step(first[index], repeat.every, occurrence - 1, pack)
    return result


def _step(first: npt.NDArray[np.int64], every: Any, times: int, pack: Pack) -> npt.NDArray[np.int64]:
    """The first occurrence plus `times` steps of `every`, as rrule counts them from the first."""
    from ..dates import Duration

    return vt.add(first, Duration(every.amount * times, every.unit), pack.office_hours)


def _states(block: _Block, table: _Table, now: int, duties: Duties) -> None:
    rule, rows, required, due, done, found = block.rule, block.rows, block.required, block.due, block.done, block.found
    state = np.where(now > due, _STATE_CODE[DutyState.OVERDUE], _STATE_CODE[DutyState.DUE])
    if rule.on_return is not OnReturn.CONTINUES:
        lapse = (np.where(found <= due, _STATE_CODE[DutyState.STOOD_DOWN], _STATE_CODE[DutyState.MISSED])
                 if rule.on_return is OnReturn.STANDS_DOWN else np.full(len(rows), _STATE_CODE[DutyState.MISSED]))
        lapse = np.where(found < required, _STATE_CODE[DutyState.STOOD_DOWN], lapse)
        state = np.where(found != NAT, lapse, state)
    credited = done != NAT
    state = np.where(credited, np.where(done <= due, _STATE_CODE[DutyState.DONE_ON_TIME],
                                        _STATE_CODE[DutyState.DONE_LATE]), state)
    short = table.dates_only[rows] & (due - required < vt.DAY)
    state = np.where(short, _STATE_CODE[DutyState.NOT_ASSESSABLE], state)
    count = len(rows)
    duties.child += table.child[rows].tolist()
    duties.episode += [table.known[p].episode.id for p in rows.tolist()]
    duties.rule += [rule.id] * count
    duties.duty += [rule.duty] * count
    duties.occurrence += [block.occurrence] * count
    duties.state += [_STATES[s].value for s in state.tolist()]
    duties.required_at += required.tolist()
    duties.due += due.tolist()
    duties.done_at += done.tolist()
    duties.done_by += [None] * count
    late = np.where(credited & (done > due), done - due,
                    np.where(state == _STATE_CODE[DutyState.OVERDUE], now - due, NAT))
    duties.late_by += late.tolist()


# ---------------------------------------------------------------------------------------------------------
# Writing the rows.


def _times(values: npt.NDArray[np.int64]) -> list[str]:
    """Instants as London local time with the offset, as `Evaluation.to_json` writes them ('' for none)."""
    utc = values
    known = utc != NAT
    safe = np.where(known, utc, 0)
    local = vt.to_local(safe)
    seconds = np.floor_divide(local, vt.NS)
    text: list[str] = np.datetime_as_string(seconds.astype("datetime64[s]"), unit="s").tolist()
    summer: list[bool] = (vt.offset_at(safe) != 0).tolist()
    out = [f"{t}+01:00" if s else f"{t}+00:00" for t, s in zip(text, summer, strict=True)]
    for i in np.nonzero(known & (local - seconds * vt.NS != 0))[0].tolist():  # sub-second times: rare
        out[i] = vt.to_datetime(int(utc[i])).astimezone(LONDON).isoformat()  # type: ignore[union-attr]
    for i in np.nonzero(~known)[0].tolist():
        out[i] = ""
    return out


def _row_order(duties: Duties) -> npt.NDArray[np.int64]:
    """The rows in `Duties.rows` order (child, required, episode, rule, occurrence), sorted by numpy."""
    def ranks(values: list[str]) -> npt.NDArray[np.int64]:
        rank = {value: i for i, value in enumerate(sorted(set(values)))}
        return np.fromiter((rank[v] for v in values), dtype=np.int64, count=len(values))

    keys = (np.asarray(duties.occurrence, dtype=np.int64), ranks(duties.rule), ranks(duties.episode),
            np.asarray(duties.required_at, dtype=np.int64), np.asarray(duties.child, dtype=np.int64))
    order: npt.NDArray[np.int64] = np.lexsort(keys)
    return order


def _span(nanoseconds: int) -> str:
    """`iso_duration` for a whole number of nanoseconds ('' for none), without making a timedelta."""
    if nanoseconds == NAT:
        return ""
    if nanoseconds % 1000:
        return iso_duration(timedelta(microseconds=nanoseconds // 1000)) or ""
    seconds = nanoseconds // vt.NS
    if seconds * vt.NS != nanoseconds:
        return iso_duration(timedelta(microseconds=nanoseconds // 1000)) or ""
    days, seconds = divmod(seconds, 86400)
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    clock = (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "") + (f"{seconds}S" if seconds else "")
    return "P" + (f"{days}D" if days else "") + (f"T{clock}" if clock else ("" if days else "T0S"))


def _field(value: str | None) -> str:
    """A CSV field: quoted only where the text needs it."""
    if value is None:
        return ""
    if any(c in value for c in ',"\n\r'):
        return '"' + value.replace('"', '""') + '"'
    return value


def csv_text(duties: Duties, sources: Sequence[str], ids: Sequence[str | None]) -> str:
    """The duties as CSV lines of `batch.DUTY_COLUMNS` (no header), in `Duties.rows` order: the same text the
    csv module writes for the rows `evaluate` gives, built column by column for a large cohort."""
    if not len(duties):
        return ""
    order = _row_order(duties)
    pick = order.tolist()
    child = [duties.child[i] for i in pick]
    required = _times(np.asarray(duties.required_at, dtype=np.int64)[order])
    due = _times(np.asarray(duties.due, dtype=np.int64)[order])
    done = _times(np.asarray(duties.done_at, dtype=np.int64)[order])
    late = [_span(value) for value in (duties.late_by[i] for i in pick)]
    source = [_field(s) for s in sources]
    child_id = [_field(c) for c in ids]
    fields: dict[str | None, str] = {}
    episode = [fields.get(e) or fields.setdefault(e, _field(e)) for e in (duties.episode[i] for i in pick)]
    done_by = [fields.get(b) or fields.setdefault(b, _field(b)) for b in (duties.done_by[i] for i in pick)]
    lines = [f"{source[c]},{child_id[c]},{e},{duties.rule[i]},{duties.duty[i]},{duties.occurrence[i]},"
             f"{duties.state[i]},{rq},{du},{dn},{b},{lb}"
             for i, c, e, rq, du, dn, b, lb in zip(pick, child, episode, required, due, done, done_by, late,
                                                    strict=True)]
    return "\n".join(lines) + "\n"
