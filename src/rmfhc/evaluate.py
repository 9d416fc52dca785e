"""Evaluation: which duties a protocol requires for a child's history at a moment.

`evaluate(pack, history, as_of)` is a pure function: no I/O, no clock, the same answer every time. It sees
the history as it stood at `as_of`: episodes, gradings, concerns, finds and events later than `as_of` are not
yet known. The rules of time are in `rmfhc.dates`; the states are in `rmfhc.results` and docs/outcomes.md.

For each episode, each rule whose conditions hold produces one duty instance per occurrence. A rule whose
conditions read facts that become known at a moment (a grading, a concern) starts when they came to hold.
Recorded events are then credited to the instances (`rmfhc.credit`): one event to one duty, plus the duties
whose `done_by` names its kind. What is credited, the deadline and the child's return decide each state.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any, Literal

from dateutil.rrule import DAILY, HOURLY, MINUTELY, MONTHLY, WEEKLY, rrule

from ._version import __version__
from .conditions import Trace
from .credit import Credit, Instance, Track, credit_events
from .dates import LONDON, Unit, add, age_on, local_datetime, next_time_of_day, next_working_day_close, subtract
from .errors import EvaluationError, RmfhcError, wrong_type
from .models import RISK_ORDER, Child, ConcernKind, Episode, EpisodeKind, History, Outcome, Precision, RiskLevel
from .pack import Check, ClockFrom, DeadlineKind, OnReturn, Pack, Role, Rule
from .results import (
    Duty,
    DutyState,
    Escalation,
    EscalationState,
    Evaluation,
    Explanation,
    Finding,
    Upcoming,
    describe_span,
)
from .words import describe_condition

# Kept importable from here, where they lived before results.py.
__all__ = ["Duty", "DutyState", "Escalation", "EscalationState", "Evaluation", "Explanation", "Finding",
           "Upcoming", "evaluate"]

_EARLIEST = datetime.min.replace(tzinfo=UTC)
_MAX_OCCURRENCES = 5000  # far beyond any real case; stops a runaway repeat on an absurd as_of
_FREQ: dict[Unit, Literal[0, 1, 2, 3, 4, 5, 6]] = {
    Unit.MINUTES: MINUTELY, Unit.HOURS: HOURLY, Unit.DAYS: DAILY, Unit.WEEKS: WEEKLY, Unit.MONTHS: MONTHLY}
_RISK_FACTS = frozenset({"episode.initial_risk", "episode.highest_risk", "episode.risk_levels"})


# ---------------------------------------------------------------------------------------------------------
# The history as known at as_of.


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


@dataclass(slots=True)
class _Known:
    """An episode as it stood at as_of: later facts are not yet known. Every time is UTC."""

    episode: Episode
    last_seen: datetime
    noticed: datetime | None  # None: noticed after as_of, so the carers' first duties have not yet arisen
    reported: datetime | None
    found: datetime | None
    found_report: datetime | None
    gradings: list[tuple[datetime, RiskLevel]]
    concerns: list[tuple[datetime, ConcernKind]]
    events: list[Credit]
    number: int | None = None
    facts: dict[str, Any] = field(default_factory=dict)
    snapshots: list[tuple[datetime, dict[str, Any]]] | None = None
    last_moment: datetime = _EARLIEST  # when the last timed fact (grading, concern, report) became known
    reported_out_of_hours: bool | None = None
    noticed_assumed: bool = False  # no noticed_at recorded: the time last seen stands in for it

    @classmethod
    def at(cls, episode: Episode, as_of: datetime) -> _Known:
        # Everything in UTC: datetimes sharing a ZoneInfo compare by wall clock, not as instants.
        def known(moment: datetime | None) -> datetime | None:
            return _utc(moment) if moment is not None and moment <= as_of else None

        events = [Credit(_utc(e.at), e.duty, e.by, e.outcome is Outcome.DECLINED, e.rule, index)
                  for index, e in enumerate(episode.events) if e.at <= as_of]
        events.sort(key=lambda c: (c.at, c.index))
        gradings = sorted((_utc(g.graded_at), g.level) for g in episode.risk if g.graded_at <= as_of)
        concerns = sorted((_utc(c.known_at), c.concern) for c in episode.concerns if c.known_at <= as_of)
        reported, found = known(episode.reported_at), known(episode.found_at)
        last = max([t for t, _ in gradings[-1:]] + [t for t, _ in concerns[-1:]] + ([reported] if reported else [])
                   + ([found] if found and episode.returned_by is not None else []), default=_EARLIEST)
        last_seen = _utc(episode.last_seen_at)
        noticed = last_seen if episode.noticed_at is None else known(episode.noticed_at)
        return cls(episode, last_seen, noticed, reported, found, known(episode.found_report_received_at),
                   gradings, concerns, events, last_moment=last, noticed_assumed=episode.noticed_at is None)

    def out_of_hours(self, pack: Pack) -> bool | None:
        """Whether the report was made outside the office's hours (worked out once)."""
        if self.reported is None:
            return None
        if self.reported_out_of_hours is None:
            self.reported_out_of_hours = not pack.office_hours.is_open(self.reported)
        return self.reported_out_of_hours

    def missing_at(self, moment: datetime) -> bool:
        return self.found is None or self.found > moment

    def moments(self) -> list[datetime]:
        """Moments at which a timed fact of this episode became known, in order."""
        times = {t for t, _ in self.gradings} | {t for t, _ in self.concerns}
        if self.reported is not None:
            times.add(self.reported)
        if self.found is not None and self.episode.returned_by is not None:
            times.add(self.found)
        return sorted(times)


def _child_facts(child: Child, pack: Pack) -> dict[str, Any]:
    placement = child.placement
    placing = (placement.placing_authority or "").strip().lower() if placement else ""
    host = (placement.host_authority or "").strip().lower() if placement else ""
    known_authorities = bool(placing and host)
    return {
        "child.looked_after": child.looked_after,
        "child.child_protection_plan": child.child_protection_plan,
        "child.child_in_need": child.child_in_need,
        "child.known_to_childrens_services": child.known_to_childrens_services,
        "child.open_to_childrens_services": child.open_to_childrens_services,
        "child.legal_basis": child.legal_basis.value,
        "child.placement.type": placement.type.value if placement else None,
        "child.placement.distance_miles": placement.distance_miles if placement else None,
        "child.placed_by_other_authority": (
            known_authorities and placing not in pack.authorities and host in pack.authorities),
        "child.placed_outside_area": (
            known_authorities and placing in pack.authorities and host not in pack.authorities),
        "child.placed_away_from_placing_authority": known_authorities and placing != host,
        "child.exploitation_risk": child.exploitation_risk,
        "child.trafficking_risk": child.trafficking_risk,
        "child.unaccompanied_asylum_seeking": child.unaccompanied_asylum_seeking,
        "child.youth_offending_service": child.youth_offending_service,
        "child.flight_risk_with_family": child.flight_risk_with_family,
        "child.disability_or_send": child.disability_or_send,
        "child.locality": child.locality,
    }


_CONCERN_FACTS = {
    ConcernKind.SIGNIFICANT_HARM: "episode.significant_harm",
    ConcernKind.RISK_OF_SIGNIFICANT_HARM: "episode.risk_of_significant_harm",
    ConcernKind.HARM_DISCLOSED_ON_RETURN: "episode.harm_disclosed_on_return",
    ConcernKind.EXPLOITATION: "episode.exploitation_concern",
    ConcernKind.TRAFFICKING: "episode.trafficking_concern",
    ConcernKind.REMOVED_FROM_UK: "episode.removed_from_uk",
}


def _timed_facts(known: _Known, pack: Pack, moment: datetime) -> dict[str, Any]:
    """The facts of an episode that become known at a moment, as they stood at `moment`."""
    levels = [level for t, level in known.gradings if t <= moment]
    reported = known.reported is not None and known.reported <= moment
    returned = known.found is not None and known.found <= moment and known.episode.returned_by is not None
    # Enum members are str subclasses equal to their values: no `.value` lookups on the hot path.
    facts: dict[str, Any] = {
        "episode.returned_by": known.episode.returned_by if returned else None,
        "episode.initial_risk": levels[0] if levels else None,
        "episode.highest_risk": max(levels, key=RISK_ORDER.__getitem__) if levels else None,
        "episode.risk_levels": tuple(dict.fromkeys(levels)),
        "episode.reported": reported,
        "episode.reported_out_of_hours": known.out_of_hours(pack) if reported else None,
    }
    facts.update(dict.fromkeys(_CONCERN_FACTS.values(), False))
    for t, concern in known.concerns:
        if t <= moment:
            facts[_CONCERN_FACTS[concern]] = True
    return facts


def _episode_facts(known: _Known, child: Child, base: dict[str, Any], pack: Pack, as_of: datetime) -> dict[str, Any]:
    episode = known.episode
    facts = dict(base)
    became = child.became_looked_after_at
    facts.update({
        "child.age": age_on(child.date_of_birth, episode.last_seen_at),
        "child.looked_after_days": None if became is None else (episode.last_seen_at - became) // timedelta(days=1),
        "episode.kind": episode.kind,
        "episode.number": None,
    })
    facts.update(_timed_facts(known, pack, as_of))
    return facts


def _condition_start(rule: Rule, known: _Known, pack: Pack) -> datetime:
    """When a rule's conditions, which hold at as_of, came to hold and held since (_EARLIEST: from the start)."""
    start: datetime | None = None
    for moment, facts in _snapshots(known, pack):
        held = rule.applies(facts)
        start = (start or moment) if held else None
    return start if start is not None else _EARLIEST


def _snapshots(known: _Known, pack: Pack) -> list[tuple[datetime, dict[str, Any]]]:
    """The episode's facts as they stood at each moment a timed fact became known (made once per episode)."""
    if known.snapshots is None:
        known.snapshots = [(moment, {**known.facts, **_timed_facts(known, pack, moment)})
                           for moment in [_EARLIEST, *known.moments()]]
    return known.snapshots


# ---------------------------------------------------------------------------------------------------------
# Clocks and occurrences.


@dataclass(slots=True)
class _Counter:
    """The episodes a count clock counts, and the episodes that triggered it so far."""

    starts: list[datetime]
    ids: list[str]
    triggers: list[datetime] = field(default_factory=list)
    index: dict[str, int] = field(default_factory=dict)  # episode id: its place in `ids`

    def __post_init__(self) -> None:
        self.index = {episode: i for i, episode in enumerate(self.ids)}

    def window(self, rule: Rule, start: datetime, position: int) -> tuple[int, int]:
        """Indexes [first, last) of the counted episodes in the window that ends at the one at `position`."""
        within = rule.clock.within
        first = 0 if within is None else bisect_left(self.starts, subtract(start, within), 0, position + 1)
        return first, position + 1


def _counter(rule: Rule, episodes: list[_Known], pack: Pack) -> _Counter:
    counts = rule.clock.counts
    chosen = [k for k in episodes
              if (counts.holds(k.facts) if counts is not None else k.number is not None)]
    return _Counter([k.last_seen for k in chosen], [k.episode.id for k in chosen])


def _count_trigger(rule: Rule, known: _Known, counter: _Counter) -> tuple[str, ...] | None:
    """The episodes counted if this episode makes the count (it must be one of them), else None."""
    position = counter.index.get(known.episode.id)
    if position is None:
        return None
    first, last = counter.window(rule, known.last_seen, position)
    if last - first < rule.clock.count:
        return None
    window_start = counter.starts[first]
    # Triggers are recorded in time order, so the latest tells whether one is still inside the window.
    if not rule.clock.retrigger_each_episode and counter.triggers and counter.triggers[-1] >= window_start:
        return None
    counter.triggers.append(known.last_seen)
    return tuple(counter.ids[first:last])


def _anchor(rule: Rule, known: _Known, child: Child, first_episode: bool) -> datetime | None:
    """When the rule's clock starts for this episode, if that moment is known; child-level clocks produce one
    duty per history, attached to the first episode."""
    start = rule.clock.start
    if start is ClockFrom.LAST_SEEN or start is ClockFrom.EPISODE_COUNT:
        return known.last_seen
    if start is ClockFrom.NOTICED:
        return known.noticed
    if start is ClockFrom.REPORTED:
        return known.reported
    if start is ClockFrom.FOUND:
        return known.found
    if start is ClockFrom.FOUND_REPORT_RECEIVED:
        return known.found_report
    if start is ClockFrom.RISK_GRADED:
        return next((t for t, level in known.gradings if level in rule.clock.levels), None)
    if start is ClockFrom.DUTY_DONE:
        declined = rule.clock.outcome == "declined"
        return next((e.at for e in known.events if e.kind == rule.clock.duty and e.declined is declined), None)
    if not first_episode:
        return None
    moment = child.placement.started_at if start is ClockFrom.PLACEMENT_STARTED and child.placement else (
        child.became_looked_after_at if start is ClockFrom.BECAME_LOOKED_AFTER else None)
    return None if moment is None else _utc(moment)


def _first_required(rule: Rule, anchor: datetime, pack: Pack) -> datetime:
    clock = rule.clock
    first = anchor
    if clock.after is not None:
        first = anchor + rule.after_elapsed if rule.after_elapsed is not None else add(anchor, clock.after,
                                                                                       pack.office_hours)
    if clock.time_of_day is not None:
        first = next_time_of_day(first, clock.time_of_day)
    return first


def _schedule(rule: Rule, first: datetime, pack: Pack) -> Iterator[datetime]:
    """The first required time, then each repeat (rrule; elapsed time for hours, wall clock otherwise)."""
    yield first
    repeat = rule.repeat
    if repeat is None:
        return
    every = repeat.every
    until = None if repeat.until is None else add(first, repeat.until, pack.office_hours)
    if every.unit in (Unit.HOURS, Unit.MINUTES):
        start = first.replace(tzinfo=None)
        end = until.replace(tzinfo=None) if until else None
        times = rrule(_FREQ[every.unit], interval=every.amount, dtstart=start, until=end, count=repeat.count)
        for moment in times:
            if moment != start:
                yield moment.replace(tzinfo=UTC)
        return
    wall = first.astimezone(LONDON).replace(tzinfo=None)
    end = until.astimezone(LONDON).replace(tzinfo=None) if until else None
    extra: dict[str, Any] = {}
    if every.unit is Unit.MONTHS and wall.day > 28:
        # The 29th-31st fall back to the last day of a shorter month instead of skipping it.
        extra = {"bymonthday": tuple(range(28, wall.day + 1)), "bysetpos": -1}
    times = rrule(_FREQ[every.unit], interval=every.amount, dtstart=wall, until=end, count=repeat.count, **extra)
    for moment in times:
        if moment != wall:
            yield _utc(local_datetime(moment))


def due_at(rule: Rule, required_at: datetime, pack: Pack) -> datetime:
    """The deadline of a duty that became required at `required_at`."""
    deadline = rule.deadline
    if rule.due_elapsed is not None:
        return required_at + rule.due_elapsed
    if deadline.kind is DeadlineKind.NEXT_WORKING_DAY:
        return next_working_day_close(required_at, pack.office_hours)
    assert deadline.within is not None, "a pack is compiled only when every phrase has an allowance"
    return add(required_at, deadline.within, pack.office_hours)


def _applies(rule: Rule, facts: dict[str, Any], decided: dict[str, bool]) -> bool:
    """Whether the rule's conditions hold for the episode; decided once per child where they read only facts
    that every episode of the child shares (a long history has thousands of episodes)."""
    if rule.when_by_child:
        held = decided.get(rule.id)
        if held is None:
            held = decided[rule.id] = rule.applies(facts)
        return held
    return rule.applies(facts)


def _people(rule: Rule, facts: dict[str, Any],
            cache: dict[str, tuple[tuple[Role, ...], tuple[Role, ...]]]) -> tuple[tuple[Role, ...], tuple[Role, ...]]:
    """Who holds the duty and who is told, for this child: worked out once per child where they depend only on
    facts that every episode of the child shares."""
    if rule.holders_by_child:
        found = cache.get(rule.id)
        if found is None:
            found = cache[rule.id] = (rule.holders_for(facts), rule.recipients_for(facts))
        return found
    return rule.holders_for(facts), rule.recipients_for(facts)


@lru_cache(maxsize=1024)
def _keys(holders: tuple[Role, ...]) -> frozenset[str]:
    """The names an event's `by` may give a holder: the pack's key and the canonical role."""
    return frozenset(name for role in holders for name in (role.key, role.role))


class _RuleTrack(Track):
    """The duty instances one rule produces for one episode, as events are credited to them."""

    __slots__ = ("as_of", "chain", "holders", "known", "pack", "people", "upcoming", "while_missing")

    def __init__(self, rule: Rule, known: _Known, anchor: datetime, first: datetime, as_of: datetime,
                 pack: Pack, order: int, people: dict[str, tuple[tuple[Role, ...], tuple[Role, ...]]]) -> None:
        self.people = people
        # Track.__init__ written out: this runs for every rule and episode.
        self.rule, self.anchor, self.order = rule, anchor, order
        self.lower = _EARLIEST if rule.counts_earlier_events else anchor
        self.upper = known.found if rule.on_return is not OnReturn.CONTINUES else None
        self.holders = holders = _people(rule, known.facts, people)[0]
        self.holder_keys = _keys(holders)
        self.instances = []
        self.known, self.as_of, self.pack = known, as_of, pack
        self.upcoming: Upcoming | None = None
        repeat = rule.repeat
        self.while_missing = repeat is not None and repeat.while_missing
        if repeat is not None and repeat.from_previous:
            self.chain = True
            self._open(1, first)
        else:
            self.chain = False
            self._schedule(first)

    def _still(self, occurrence: int) -> bool:
        return self.rule.clock.if_still_missing or (occurrence > 1 and self.while_missing)

    def _upcoming(self, occurrence: int, at: datetime) -> None:
        rule = self.rule
        self.upcoming = Upcoming(rule.id, rule.duty, rule.title, self.holders,
                                 self.known.episode.id, occurrence, at, self._still(occurrence), rule.deadline.text,
                                 due_at(rule, at, self.pack), rule.source)

    def _schedule(self, first: datetime) -> None:
        lower = self.lower
        if self.rule.repeat is None:  # most rules: one occurrence, no recurrence to walk
            if first > self.as_of:
                self._upcoming(1, first)
            else:
                self.instances.append(Instance(1, first, due_at(self.rule, first, self.pack),
                                               first if self.rule.events_from_required else lower))
            return
        stop = self._stop()
        if self.rule.events_from_required:
            lower = first
        for occurrence, required_at in enumerate(_schedule(self.rule, first, self.pack), start=1):
            if occurrence > 1 and self.while_missing and not self.known.missing_at(required_at):
                return
            if occurrence > 1 and stop is not None and stop < required_at:
                return
            if occurrence > _MAX_OCCURRENCES:
                raise EvaluationError(f"rule '{self.rule.id}' repeats more than {_MAX_OCCURRENCES} times "
                                      "before as_of")
            if required_at > self.as_of:
                self._upcoming(occurrence, required_at)
                return
            self.instances.append(Instance(occurrence, required_at, due_at(self.rule, required_at, self.pack),
                                           lower))
            lower = required_at  # a later occurrence may be done early, after the one before became required

    def _stop(self) -> datetime | None:
        """When an event of the repeat's `until_done` kind was first done: no occurrence is required after it."""
        repeat = self.rule.repeat
        kind = repeat.until_done if repeat is not None else None
        if kind is None:
            return None
        return next((e.at for e in self.known.events if e.kind == kind and not e.declined), None)

    def _open(self, occurrence: int, required_at: datetime) -> None:
        """Open the next occurrence of a chain counted from the previous one, if it is required by as_of."""
        repeat = self.rule.repeat
        assert repeat is not None
        stop = self._stop()
        if occurrence > 1 and stop is not None and stop < required_at:
            return
        if occurrence > 1:
            first = self.instances[0].required_at
            if repeat.count is not None and occurrence > repeat.count:
                return
            if repeat.until is not None and required_at > add(first, repeat.until, self.pack.office_hours):
                return
            if self.while_missing and not self.known.missing_at(required_at):
                return
        if occurrence > _MAX_OCCURRENCES:
            raise EvaluationError(f"rule '{self.rule.id}' repeats more than {_MAX_OCCURRENCES} times before as_of")
        if required_at > self.as_of:
            self._upcoming(occurrence, required_at)
            return
        due = due_at(self.rule, required_at, self.pack) if occurrence == 1 else add(
            required_at, repeat.every, self.pack.office_hours)
        lower = self.lower if occurrence == 1 and not self.rule.events_from_required else required_at
        self.instances.append(Instance(occurrence, required_at, due, lower))

    def credited(self, instance: Instance) -> None:
        if self.chain and instance is self.instances[-1]:
            assert instance.credit is not None
            self._open(instance.occurrence + 1, instance.credit.at)

    def finish(self) -> None:
        """Open the rest of a chain: an occurrence not done by its deadline is followed by the next one then
        (reviews "at least every five days": each five days without one is a review outstanding). When the
        outstanding one is done late, the next is counted from when it was done."""
        if not self.chain:
            return
        while self.instances and self.instances[-1].credit is None and self.upcoming is None:
            last = self.instances[-1]
            before = len(self.instances)
            self._open(last.occurrence + 1, last.due)
            if len(self.instances) == before:
                break


# ---------------------------------------------------------------------------------------------------------
# States and explanations.


def _state(rule: Rule, instance: Instance, known: _Known, as_of: datetime) -> DutyState:
    credit = instance.credit
    if credit is not None:
        if credit.declined:
            return DutyState.DECLINED
        return DutyState.DONE_ON_TIME if credit.at <= instance.due else DutyState.DONE_LATE
    found = known.found
    if rule.on_return is not OnReturn.CONTINUES and found is not None:
        if found < instance.required_at:
            return DutyState.STOOD_DOWN
        if rule.on_return is OnReturn.STANDS_DOWN:
            return DutyState.STOOD_DOWN if found <= instance.due else DutyState.MISSED
        return DutyState.MISSED
    return DutyState.OVERDUE if as_of > instance.due else DutyState.DUE


def _late_by(state: DutyState, instance: Instance, as_of: datetime) -> timedelta | None:
    if instance.credit is not None and instance.credit.at > instance.due:
        return instance.credit.at - instance.due
    if state is DutyState.OVERDUE:
        return as_of - instance.due
    return None


def _escalation(rule: Rule, instance: Instance, state: DutyState, known: _Known, as_of: datetime,
                pack: Pack) -> tuple[Escalation, ...]:
    steps = []
    done_at = instance.credit.at if instance.credit is not None else None
    for step in rule.escalation:
        at = add(instance.due, step.after, pack.office_hours)
        if state is DutyState.STOOD_DOWN or (done_at is not None and done_at <= at):
            step_state = EscalationState.NOT_NEEDED
        elif done_at is not None:
            step_state = EscalationState.PASSED
        elif state is DutyState.MISSED:
            step_state = EscalationState.PASSED if known.found is not None and at < known.found else (
                EscalationState.NOT_NEEDED)
        elif as_of > at:
            step_state = EscalationState.ACTIVE
        else:
            step_state = EscalationState.PENDING
        steps.append(Escalation(at, step.to, step.action, step_state))
    return tuple(steps)


def _when(moment: datetime) -> str:
    return moment.astimezone(LONDON).strftime("%a %d %b %Y %H:%M %Z")


def describe_deadline_reading(rule: Rule) -> str:
    """The deadline in words, saying how a phrase with no exact limit is read and why."""
    deadline = rule.deadline
    if deadline.kind is DeadlineKind.PHRASE:
        return (f"no exact limit in the document ('{deadline.text}'); this pack reads it as within "
                f"{deadline.within}: {deadline.reading}")
    if deadline.kind is DeadlineKind.NEXT_WORKING_DAY:
        return "by the close of the working day on which the office next opens after it became required"
    return deadline.text


def _why(rule: Rule, instance: Instance, state: DutyState, known: _Known, as_of: datetime) -> str:
    """Why the duty instance is in its state, in words."""
    if state is DutyState.NOT_ASSESSABLE:
        return ("the history gives dates only (precision: day) and this duty's limit is shorter than a day, so "
                "whether it was met cannot be told")
    credit = instance.credit
    due = _when(instance.due)
    if credit is not None:
        by = f" by {credit.by}" if credit.by else ""
        what = "the report to police" if credit.kind == "reported" else (
            "the child being found" if credit.kind == "found" else (
                "a later risk grading" if credit.kind == "regraded" else f"an event '{credit.kind}'"))
        named = " naming this rule" if credit.rule == rule.id else ""
        timing = ("on or before the deadline " + due if credit.at <= instance.due
                  else f"{describe_span(credit.at - instance.due)} after the deadline {due}")
        verb = "offered and declined" if state is DutyState.DECLINED else "done"
        return f"{verb} at {_when(credit.at)}{by} ({what}{named}), {timing}"
    found = known.found
    if state is DutyState.STOOD_DOWN:
        if found is not None and found < instance.required_at:
            return f"the child was found at {_when(found)}, before the duty became required"
        return (f"the child was found at {_when(found) if found else '?'}, before the deadline {due}; "
                "the document says this duty lapses when the child is found")
    if state is DutyState.MISSED:
        reason = ("the rule says it could only be done while the child was missing"
                  if rule.on_return is OnReturn.MISSED else "it was already overdue when it lapsed")
        return (f"required from {_when(instance.required_at)}, not done, and no longer possible: the child was "
                f"found at {_when(found) if found else '?'} ({reason})")
    if state is DutyState.OVERDUE:
        return (f"not done by the deadline {due}; overdue by {describe_span(as_of - instance.due)} at "
                f"{_when(as_of)}")

    return f"required from {_when(instance.required_at)}; not done yet; due by {due}"


def _clock_text(rule: Rule, anchor: datetime, known: _Known) -> str:
    clock = rule.clock
    text = f"clock from {clock.start.value} at {_when(anchor)}"
    if clock.start is ClockFrom.NOTICED and known.noticed_assumed:
        text += " (when the absence was noticed is not recorded: the time the child was last seen)"
    if clock.after is not None:
        text += f", required after {clock.after}"
    if clock.time_of_day is not None:
        text += f", at the next {clock.time_of_day.strftime('%H:%M')}"
    if clock.if_still_missing:
        text += " if still missing"
    return text


# ---------------------------------------------------------------------------------------------------------
# Building results.


_A_DAY = timedelta(days=1)


def _duties(track: _RuleTrack, facts: dict[str, Any], counted: tuple[str, ...], as_of: datetime, pack: Pack,
            explain: bool, dates_only: bool = False) -> list[Duty]:
    rule, known = track.rule, track.known
    holders = track.holders
    recipients = _people(rule, facts, track.people)[1] if rule.recipients else ()
    allows = rule.allows_text
    duties = []
    for instance in track.instances:
        # From dates alone, a limit shorter than a day cannot be judged either way.
        assessable = not dates_only or instance.due - instance.required_at >= _A_DAY
        state = _state(rule, instance, known, as_of) if assessable else DutyState.NOT_ASSESSABLE
        credit = instance.credit
        explanation = None
        if explain:
            tests: list[Trace] = []
            rule.when.trace(facts, tests)
            explanation = Explanation(_why(rule, instance, state, known, as_of),
                                      describe_condition(rule.when, pack.meta.localities), tuple(tests),
                                      _clock_text(rule, track.anchor, known), describe_deadline_reading(rule), counted,
                                      {f: list(v) if isinstance(v, tuple) else v  # as JSON reads it back
                                       for f in rule.facts_read for v in (facts[f],)})
        escalation = _escalation(rule, instance, state, known, as_of, pack) if rule.escalation and assessable else ()
        duties.append(Duty(
            rule.id, rule.duty, rule.title, holders, recipients, known.episode.id, instance.occurrence,
            instance.required_at, rule.deadline.text, allows, instance.due, state,
            credit.at if credit else None, credit.by if credit else None, credit.kind if credit else None,
            _late_by(state, instance, as_of), escalation, rule.source, rule.interpretation, explanation))
    return duties


def _check_findings(checks: tuple[Check, ...], known: _Known) -> list[Finding]:
    return [Finding(check.id, known.episode.id, check.finding, check.source)
            for check in checks
            if (check.episodes is None or known.episode.kind in check.episodes) and check.when.holds(known.facts)]


def _needs_grading(pack: Pack, known: _Known) -> list[Rule]:
    """Rules for this episode that some police risk grading would bring into force."""
    needs = []
    for rule in pack.rules_by_kind[known.episode.kind]:
        if rule.clock.start is ClockFrom.RISK_GRADED and rule.applies(known.facts):
            needs.append(rule)
        elif _RISK_FACTS.intersection(rule.facts_read):
            for level in RiskLevel:
                graded = {**known.facts, "episode.initial_risk": level.value, "episode.highest_risk": level.value,
                          "episode.risk_levels": (level.value,)}
                if rule.applies(graded):
                    needs.append(rule)
                    break
    return needs


def _gap_findings(known: _Known, waiting: list[Rule], risk_rules: list[Rule]) -> list[Finding]:
    """Findings for what the history lacks that the protocol needs to decide (no report, no grading)."""
    findings: list[Finding] = []
    episode = known.episode.id
    if known.number is None:
        return findings
    if known.reported is None and waiting:
        findings.append(Finding(
            "not-reported", episode,
            f"No police report is recorded for this episode by this time, so {len(waiting)} duties that run from "
            f"the report were not assessed: {', '.join(r.id for r in waiting)}.", None))
    if known.reported is not None and not known.gradings and risk_rules:
        findings.append(Finding(
            "no-risk-grading", episode,
            f"No police risk grading is recorded for this episode, so {len(risk_rules)} rules that depend on the "
            f"grading could not be decided: {', '.join(r.id for r in risk_rules)}.", None))
    return findings


def _history_findings(pack: Pack, history: History) -> list[Finding]:
    findings = []
    localities = pack.meta.localities
    locality = history.child.locality
    if pack.uses_locality and locality is None:
        findings.append(Finding(
            check="locality-not-set", episode=None, source=None,
            finding=f"The child's locality is not set; this protocol has localities ({', '.join(localities)}) "
                    "and rules for one locality did not apply."))
    elif locality is not None and locality not in localities:
        findings.append(Finding(
            check="unknown-locality", episode=None, source=None,
            finding=f"The child's locality '{locality}' is not one of this protocol's localities "
                    f"({', '.join(localities) or 'none'})."))
    rule_ids = {rule.id for rule in pack.rules}
    roles = set(pack.roles) | {role.role for role in pack.roles.values()} | set(pack.vocabulary.roles)
    for episode in history.episodes:
        for event in episode.events:
            if event.duty not in pack.vocabulary.duties:
                findings.append(Finding(
                    check="unknown-duty-event", episode=episode.id, source=None,
                    finding=f"An event records the duty '{event.duty}', which is not a canonical duty kind; "
                            "it was ignored."))
            if event.rule is not None and event.rule not in rule_ids:
                findings.append(Finding(
                    check="unknown-rule-event", episode=episode.id, source=None,
                    finding=f"An event at {event.at.isoformat()} names the rule '{event.rule}', which this "
                            "protocol does not have; it was credited to no duty."))
            if event.by is not None and event.by not in roles:
                findings.append(Finding(
                    check="unknown-role-event", episode=episode.id, source=None,
                    finding=f"An event at {event.at.isoformat()} was done by '{event.by}', which is neither a "
                            "role of this protocol nor a canonical role; it was credited to no duty."))
    return findings


def _noticed_findings(known: _Known, duties: list[Duty], pack: Pack) -> list[Finding]:
    """An act judged late against a clock from when the absence was noticed, when that time was never recorded,
    is late only because the time last seen stands in for it: the auditor should know."""
    late = sorted({d.rule for d in duties
                   if d.state is DutyState.DONE_LATE and pack.rule(d.rule).clock.start is ClockFrom.NOTICED})
    if not late:
        return []
    return [Finding(
        "noticed-not-recorded", known.episode.id,
        f"When the absence was noticed is not recorded, so {len(late)} duties timed from it were timed from when "
        f"the child was last seen and are done late on that reading: {', '.join(late)}. Record noticed_at if "
        "the absence was noticed later.", None)]


def _uncredited_findings(known: _Known, events: list[Credit]) -> list[Finding]:
    """An event that said whose duty it did, or was declined, and matched none, is worth telling the user."""
    findings = []
    for event in events:
        if event.rule is None and event.by is None and not event.declined:
            continue
        said = ", ".join(part for part in (
            f"names the rule '{event.rule}'" if event.rule else "",
            f"was done by '{event.by}'" if event.by else "",
            "was declined" if event.declined else "") if part)
        findings.append(Finding(
            "event-not-credited", known.episode.id,
            f"The '{event.kind}' event at {_when(event.at)} {said}, and no duty required at that time matches "
            "it (a rule that cannot be declined is not done by a refusal), so it was credited to no duty.", None))
    return findings


def evaluate(pack: Pack, history: History, as_of: datetime, *, explain: bool = False) -> Evaluation:
    """The duties `pack` requires for `history` as of `as_of`, the next scheduled triggers, and findings.

    Pure and deterministic. Raises EvaluationError when `as_of` has no UTC offset or is before the first
    episode. With `explain=True`, each duty carries the trace of its conditions and why it is in its state.
    """
    # Arguments of the wrong type are the caller's mistake: a UsageError naming it, never an AttributeError.
    for name, value, kind, what in (("pack", pack, Pack, "a Pack from load_protocol()"),
                                    ("history", history, History, "a History from read_history() or load_history()"),
                                    ("as_of", as_of, datetime, "a datetime with a UTC offset")):
        if not isinstance(value, kind):
            raise wrong_type("evaluate", name, what, value)
    if not isinstance(as_of, datetime) or as_of.tzinfo is None or as_of.utcoffset() is None:
        raise EvaluationError("as_of must be a timestamp with a UTC offset, such as 2026-11-07T10:00:00Z")
    try:
        return _evaluate(pack, history, as_of, explain)
    except RmfhcError:
        raise
    except (OverflowError, ValueError) as error:
        # Only dates beyond the calendar (after year 9999) are the input's doing; any other error is a fault in
        # rmfhc and must not be dressed up as the user's.
        if not _beyond_the_calendar(error):
            raise
        raise EvaluationError(f"cannot evaluate this history: a date goes beyond the year 9999 ({error})") from None


def _beyond_the_calendar(error: Exception) -> bool:
    return isinstance(error, OverflowError) or "out of range" in str(error)


def _known_episodes(pack: Pack, history: History, as_of: datetime) -> list[_Known]:
    child = history.child
    base = _child_facts(child, pack)
    episodes = [_Known.at(e, as_of) for e in history.ordered_episodes() if e.last_seen_at <= as_of]
    number = 0
    for known in episodes:
        known.facts = _episode_facts(known, child, base, pack, as_of)
        if pack.is_counted(known.episode.kind, known.facts):
            number += 1
            known.number = number
            known.facts["episode.number"] = number
    return episodes


def _evaluate(pack: Pack, history: History, as_of: datetime, explain: bool) -> Evaluation:
    as_of = _utc(as_of)  # every internal time is UTC: same-zone comparisons are cheap and exact
    ordered = history.ordered_episodes()
    if as_of < ordered[0].last_seen_at:
        raise EvaluationError(
            f"as_of {as_of.isoformat()} is before the first episode ('{ordered[0].id}', last seen "
            f"{ordered[0].last_seen_at.isoformat()})")
    episodes = _known_episodes(pack, history, as_of)
    child = history.child
    counters: dict[str, _Counter] = {}  # made on first use: most count rules do not apply to most children
    people: dict[str, tuple[tuple[Role, ...], tuple[Role, ...]]] = {}  # holders and recipients, by rule
    decided: dict[str, bool] = {}  # whether a rule whose conditions read only the child's own facts applies
    duties: list[Duty] = []
    upcoming: list[Upcoming] = []
    taken_by_child: set[int] = set()  # acts a duty of the child's own took, whichever episode recorded them
    findings = _history_findings(pack, history)
    dates_only = history.precision is Precision.DAY
    if dates_only:
        findings.append(Finding(
            "dates-only", None,
            "This history gives dates, not times (precision: day): each time is read as 00:00 on its date, duties "
            "with a limit of a day or more are judged to the day, and duties with a shorter limit are reported as "
            "not assessable.", None))
    for index, known in enumerate(episodes):
        facts = known.facts
        kind: EpisodeKind = known.episode.kind
        applicable = [rule for rule in pack.rules_by_kind[kind] if _applies(rule, facts, decided)]
        overridden = {other for rule in applicable for other in rule.overrides}
        tracks: list[_RuleTrack] = []
        counted: dict[str, tuple[str, ...]] = {}
        waiting: list[Rule] = []
        for order, rule in enumerate(applicable):
            if rule.id in overridden:
                continue
            if rule.clock.start is ClockFrom.EPISODE_COUNT:
                if rule.id not in counters:
                    counters[rule.id] = _counter(rule, episodes, pack)
                trigger = _count_trigger(rule, known, counters[rule.id])
                if trigger is None:
                    continue
                counted[rule.id] = trigger
            anchor = _anchor(rule, known, child, index == 0)
            if anchor is None:
                if rule.clock.start is ClockFrom.REPORTED:
                    waiting.append(rule)
                continue
            if rule.timed and known.last_moment > anchor:  # a fact known later may have started it later
                anchor = max(anchor, _condition_start(rule, known, pack))
            first = _first_required(rule, anchor, pack)
            if rule.clock.if_still_missing and not known.missing_at(first):
                continue
            tracks.append(_RuleTrack(rule, known, anchor, first, as_of, pack, order, people))
        # A duty of the child's (from the placement, or coming into care) is shown with the first episode and
        # done by an act recorded in any episode; an episode's own duties, by its own acts.
        child_level = [t for t in tracks if t.rule.clock.start in _CHILD_CLOCKS]
        if child_level:
            credit_events(child_level, _child_acts(episodes))
            taken_by_child = {id(i.credit) for t in child_level for i in t.instances if i.credit is not None}
            tracks = [t for t in tracks if t.rule.clock.start not in _CHILD_CLOCKS]
        uncredited = credit_events(tracks, [*known.events, *_pseudo_events(known)])
        if taken_by_child:
            uncredited = [e for e in uncredited if id(e) not in taken_by_child]
        tracks += child_level
        episode_duties = len(duties)
        for track in tracks:
            track.finish()
            duties += _duties(track, facts, counted.get(track.rule.id, ()), as_of, pack, explain, dates_only)
            if track.upcoming is not None:
                upcoming.append(track.upcoming)
        findings += _check_findings(pack.checks, known)
        findings += _gap_findings(known, waiting, _needs_grading(pack, known) if not known.gradings else [])
        findings += _uncredited_findings(known, uncredited)
        if known.noticed_assumed:
            findings += _noticed_findings(known, duties[episode_duties:], pack)
    # All result times are UTC, so they sort as instants.
    duties.sort(key=lambda d: (d.required_at, d.episode, d.rule, d.occurrence))
    upcoming.sort(key=lambda u: (u.at, u.episode, u.rule))
    return Evaluation(pack.id, as_of, tuple(duties), tuple(upcoming), tuple(findings), pack.meta.version,
                      pack.content_hash, __version__)


_CHILD_CLOCKS = frozenset({ClockFrom.PLACEMENT_STARTED, ClockFrom.BECAME_LOOKED_AFTER})


def _child_acts(episodes: list[_Known]) -> list[Credit]:
    """Every act recorded in any episode known at as_of: those a duty of the child's own may take."""
    return [event for known in episodes for event in known.events]


def _pseudo_events(known: _Known) -> list[Credit]:
    """The report, the find and each grading, as moments that a rule's `done_by` may name."""
    events = [Credit(t, "regraded", None, False, None, -1) for t, _ in known.gradings]
    if known.reported is not None:
        events.append(Credit(known.reported, "reported", None, False, None, -1))
    if known.found is not None:
        events.append(Credit(known.found, "found", None, False, None, -1))
    return events
