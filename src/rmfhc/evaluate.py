"""Evaluation: which duties a protocol requires for a child's history at a moment.

`evaluate(pack, history, as_of)` is a pure function: no I/O, no clock, the same answer every time. It sees
the history as it stood at `as_of`: episodes, gradings, findings and events later than `as_of` are not yet
known. The rules of time are in `rmfhc.dates`; the states and their boundaries are:

- a duty is `due` from when it becomes required until its deadline, inclusive;
- `overdue` once `as_of` is after the deadline with no event recorded that does it;
- `done_on_time` / `done_late` by the first matching event at or after the clock started
  (for a repeated duty, the first unused event at or after that occurrence);
- `stood_down` for rules marked `stands_down_when_found`, when the child is found before the deadline and
  before the duty was done.
"""

from __future__ import annotations

import enum
import json
from bisect import bisect_left
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from dateutil.rrule import DAILY, HOURLY, MINUTELY, MONTHLY, WEEKLY, rrule
from pydantic import TypeAdapter

from .conditions import Trace
from .dates import LONDON, Unit, add, age_on, local_datetime, subtract
from .errors import EvaluationError, RmfhcError, wrong_type
from .models import RISK_ORDER, Child, Episode, EpisodeKind, History, RiskLevel
from .pack import Check, ClockFrom, DeadlineKind, Pack, Role, Rule, Source

# ---------------------------------------------------------------------------------------------------------
# Results: typed, JSON in and out.
#
# Plain slotted dataclasses, because an evaluation builds dozens of them and must stay cheap; pydantic's
# TypeAdapter gives them JSON, JSON Schema and validation on the way back in. Times are held in UTC and
# written out in Europe/London local time with the offset; both are the same instant, so a result read back
# from JSON compares equal. Treat results as read-only.


class DutyState(enum.StrEnum):
    DUE = "due"
    OVERDUE = "overdue"
    DONE_ON_TIME = "done_on_time"
    DONE_LATE = "done_late"
    STOOD_DOWN = "stood_down"


class EscalationState(enum.StrEnum):
    PENDING = "pending"
    ACTIVE = "active"
    PASSED = "passed"  # its time came while the duty was outstanding; the duty was done later
    NOT_NEEDED = "not_needed"


RoleRef = Role  # who holds a duty: the pack's key, the local title and the canonical role


@dataclass(slots=True)
class Escalation:
    """An escalation step of a duty: when it applies, to whom, and whether it has."""

    at: datetime
    to: tuple[Role, ...]
    action: str
    state: EscalationState


ConditionTest = Trace  # one condition test as evaluated for --explain: fact, value read, test, held


@dataclass(slots=True)
class Explanation:
    """Why a duty applies: the conditions as written, each test with the value read, and the clock."""

    conditions: str
    tests: tuple[ConditionTest, ...]
    clock: str


@dataclass(slots=True)
class Duty:
    """One duty instance: what is required, of whom, for which episode, by when, and its state."""

    rule: str
    duty: str
    title: str
    roles: tuple[Role, ...]
    episode: str
    occurrence: int
    required_at: datetime
    deadline: str
    due: datetime | None
    state: DutyState
    done_at: datetime | None
    outcome: str | None
    escalation: tuple[Escalation, ...]
    source: Source
    interpretation: str | None
    facts: dict[str, Any]
    explanation: Explanation | None = None


@dataclass(slots=True)
class Upcoming:
    """A duty that will become required at `at` (if the child is still missing, where the rule says so)."""

    rule: str
    duty: str
    title: str
    roles: tuple[Role, ...]
    episode: str
    occurrence: int
    at: datetime
    if_still_missing: bool
    deadline: str
    due: datetime | None
    source: Source


@dataclass(slots=True)
class Finding:
    """Something about the history itself that the protocol would flag (or that limits the evaluation)."""

    check: str
    episode: str | None
    finding: str
    source: Source | None


@dataclass(slots=True)
class Evaluation:
    """The result of evaluating a history against a pack at a moment."""

    protocol: str
    as_of: datetime
    duties: tuple[Duty, ...]
    upcoming: tuple[Upcoming, ...]
    findings: tuple[Finding, ...]

    def to_json(self, indent: int | None = 2) -> str:
        """JSON text, times in Europe/London with their offset; `Evaluation.from_json` reads it back."""
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        data: dict[str, Any] = _local_times(_ADAPTER.dump_python(self, mode="json"))
        return data

    @classmethod
    def from_json(cls, text: str | bytes) -> Evaluation:
        """Read an evaluation written by `to_json`."""
        return _ADAPTER.validate_json(text)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Evaluation:
        """Read an evaluation written by `to_dict`."""
        return _ADAPTER.validate_python(data)

    @staticmethod
    def json_schema() -> dict[str, Any]:
        """JSON Schema of the evaluation output."""
        schema: dict[str, Any] = _ADAPTER.json_schema()
        return schema


_ADAPTER: TypeAdapter[Evaluation] = TypeAdapter(Evaluation)
_TIME_KEYS = frozenset({"as_of", "required_at", "due", "done_at", "at"})


def _local_times(data: Any) -> Any:
    """Rewrite UTC timestamps of a dumped evaluation as Europe/London local time with offset."""
    if isinstance(data, dict):
        for key, value in data.items():
            if key in _TIME_KEYS and isinstance(value, str):
                data[key] = datetime.fromisoformat(value).astimezone(LONDON).isoformat()
            else:
                _local_times(value)
    elif isinstance(data, list):
        for item in data:
            _local_times(item)
    return data


# ---------------------------------------------------------------------------------------------------------
# The history as known at as_of.


@dataclass(slots=True)
class _Known:
    """An episode as it stood at as_of: later facts are not yet known."""

    episode: Episode
    number: int
    last_seen: datetime
    reported: datetime | None
    found: datetime | None
    found_report: datetime | None
    gradings: list[tuple[datetime, RiskLevel]]
    events: dict[str, list[tuple[datetime, str]]]

    @classmethod
    def at(cls, episode: Episode, number: int, as_of: datetime) -> _Known:
        # Everything in UTC: datetimes sharing a ZoneInfo compare by wall clock, not as instants.
        def known(moment: datetime | None) -> datetime | None:
            return moment.astimezone(UTC) if moment is not None and moment <= as_of else None

        events: dict[str, list[tuple[datetime, str]]] = {}
        for event in sorted(episode.events, key=lambda e: e.at):
            if event.at <= as_of:
                events.setdefault(event.duty, []).append((event.at.astimezone(UTC), event.outcome.value))
        gradings = sorted((g.graded_at.astimezone(UTC), g.level) for g in episode.risk if g.graded_at <= as_of)
        return cls(episode, number, episode.last_seen_at.astimezone(UTC), known(episode.reported_at),
                   known(episode.found_at),
                   known(episode.found_report_received_at), gradings, events)

    def missing_at(self, moment: datetime) -> bool:
        return self.found is None or self.found > moment


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
        "child.exploitation_risk": child.exploitation_risk,
        "child.trafficking_risk": child.trafficking_risk,
        "child.unaccompanied_asylum_seeking": child.unaccompanied_asylum_seeking,
        "child.youth_offending_service": child.youth_offending_service,
        "child.flight_risk_with_family": child.flight_risk_with_family,
        "child.disability_or_send": child.disability_or_send,
        "child.locality": child.locality,
    }


def _episode_facts(known: _Known, child: Child, base: dict[str, Any], pack: Pack) -> dict[str, Any]:
    episode = known.episode
    levels = [level for _, level in known.gradings]
    facts = dict(base)
    facts.update({
        "child.age": age_on(child.date_of_birth, episode.last_seen_at),
        "episode.kind": episode.kind.value,
        "episode.initial_risk": levels[0].value if levels else None,
        "episode.highest_risk": max(levels, key=RISK_ORDER.__getitem__).value if levels else None,
        "episode.risk_levels": tuple(dict.fromkeys(level.value for level in levels)),
        "episode.number": known.number,
        "episode.significant_harm": episode.significant_harm,
        "episode.harm_disclosed_on_return": episode.harm_disclosed_on_return,
        "episode.removed_from_uk": episode.removed_from_uk,
        "episode.reported_out_of_hours": (
            None if known.reported is None else not pack.office_hours.is_open(known.reported)),
    })
    return facts


# ---------------------------------------------------------------------------------------------------------
# Clocks, occurrences, deadlines.


def _count_triggers(rule: Rule, episodes: list[_Known]) -> set[str]:
    """Ids of episodes that start this rule's count clock (the Nth episode within the rolling window)."""
    clock = rule.clock
    starts = [k.last_seen for k in episodes if k.episode.kind in rule.episodes]
    ids = [k.episode.id for k in episodes if k.episode.kind in rule.episodes]
    triggered: list[int] = []
    for i, start in enumerate(starts):
        # No window: every episode so far counts.
        first = 0 if clock.within is None else bisect_left(starts, subtract(start, clock.within), 0, i + 1)
        if i + 1 - first < clock.count:
            continue
        if not clock.retrigger_each_episode and any(j >= first for j in triggered):
            continue
        triggered.append(i)
    return {ids[i] for i in triggered}


def _anchor(rule: Rule, known: _Known, child: Child, as_of: datetime, counted: set[str],
            first_episode: bool) -> datetime | None:
    start = rule.clock.start
    episode = known.episode
    moment: datetime | None
    if start is ClockFrom.LAST_SEEN:
        moment = known.last_seen
    elif start is ClockFrom.REPORTED:
        moment = known.reported
    elif start is ClockFrom.FOUND:
        moment = known.found
    elif start is ClockFrom.FOUND_REPORT_RECEIVED:
        moment = known.found_report
    elif start is ClockFrom.RISK_GRADED:
        moment = next((t for t, level in known.gradings if level in rule.clock.levels), None)
    elif start is ClockFrom.DUTY_DONE:
        done = known.events.get(rule.clock.duty or "")
        moment = done[0][0] if done else None
    elif start is ClockFrom.EPISODE_COUNT:
        moment = known.last_seen if episode.id in counted else None
    else:  # child-level clocks produce one duty per history, attached to the first episode
        if not first_episode:
            return None
        if start is ClockFrom.PLACEMENT_STARTED:
            moment = child.placement.started_at if child.placement else None
        else:
            moment = child.became_looked_after_at
        moment = moment.astimezone(UTC) if moment is not None else None
    # Episode times in _Known are UTC already, and only those known by as_of.
    return moment if moment is not None and moment <= as_of else None


_EARLIEST = datetime.min.replace(tzinfo=UTC)
_NONE: set[str] = set()
_MAX_OCCURRENCES = 5000  # far beyond any real case; stops a runaway repeat on an absurd as_of
_FREQ: dict[Unit, Literal[0, 1, 2, 3, 4, 5, 6]] = {
    Unit.MINUTES: MINUTELY, Unit.HOURS: HOURLY, Unit.DAYS: DAILY, Unit.WEEKS: WEEKLY, Unit.MONTHS: MONTHLY}


def _occurrences(rule: Rule, first: datetime, pack: Pack) -> Iterator[datetime]:
    """The first required time, then each repeat (rrule; elapsed time for hours, wall clock otherwise)."""
    yield first
    repeat = rule.repeat
    if repeat is None:
        return
    every = repeat.every
    until = None if repeat.until is None else add(first, repeat.until, pack.office_hours)
    if every.unit in (Unit.HOURS, Unit.MINUTES):
        start = first.astimezone(UTC).replace(tzinfo=None)
        end = until.astimezone(UTC).replace(tzinfo=None) if until else None
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
    times = rrule(_FREQ[every.unit], interval=every.amount, dtstart=wall, until=end, count=repeat.count,
                  **extra)
    for moment in times:
        if moment != wall:
            yield local_datetime(moment).astimezone(UTC)


def _due(rule: Rule, required_at: datetime, pack: Pack) -> datetime | None:
    deadline = rule.deadline
    if deadline.kind is DeadlineKind.IMMEDIATELY:
        return required_at
    if deadline.kind is DeadlineKind.AS_SOON_AS_POSSIBLE:
        return None
    assert deadline.within is not None
    return add(required_at, deadline.within, pack.office_hours)


def _first_done(rule: Rule, known: _Known, anchor: datetime) -> tuple[datetime, str] | None:
    """The first event at or after the clock started that does a one-off duty."""
    if len(rule.done_by) == 1 and rule.duty in rule.done_by:
        events = known.events.get(rule.duty)
        return next((e for e in events if e[0] >= anchor), None) if events else None
    return next((e for e in _done_times(rule, known, anchor) if e[0] >= anchor), None)


def _done_times(rule: Rule, known: _Known, anchor: datetime) -> list[tuple[datetime, str]]:
    times: list[tuple[datetime, str]] = []
    for name in rule.done_by:
        if name == "found":
            if known.found is not None:
                times.append((known.found, "found"))
        elif name == "reported":
            if known.reported is not None:
                times.append((known.reported, "reported"))
        elif name == "regraded":
            times += [(t, "regraded") for t, _ in known.gradings if t > anchor]
        else:
            times += known.events.get(name, [])
    return sorted(times)


# ---------------------------------------------------------------------------------------------------------
# Building results.


def _state(rule: Rule, known: _Known, due: datetime | None, done_at: datetime | None,
           as_of: datetime) -> DutyState:
    if done_at is not None:
        return DutyState.DONE_ON_TIME if due is None or done_at <= due else DutyState.DONE_LATE
    if rule.stands_down_when_found and known.found is not None and (due is None or known.found <= due):
        return DutyState.STOOD_DOWN
    if due is not None and as_of > due:
        return DutyState.OVERDUE
    return DutyState.DUE


def _escalation(rule: Rule, base: datetime, state: DutyState, done_at: datetime | None, as_of: datetime,
                pack: Pack) -> tuple[Escalation, ...]:
    steps = []
    for step in rule.escalation:
        at = add(base, step.after, pack.office_hours)
        if state is DutyState.STOOD_DOWN or (done_at is not None and done_at <= at):
            step_state = EscalationState.NOT_NEEDED
        elif done_at is not None:
            step_state = EscalationState.PASSED
        elif as_of > at:
            step_state = EscalationState.ACTIVE
        else:
            step_state = EscalationState.PENDING
        steps.append(Escalation(at, step.to, step.action, step_state))
    return tuple(steps)


def _clock_text(rule: Rule, anchor: datetime) -> str:
    clock = rule.clock
    text = f"clock from {clock.start.value} at {anchor.astimezone(LONDON).isoformat()}"
    if clock.after is not None:
        text += f", required after {clock.after}"
    if clock.if_still_missing:
        text += " if still missing"
    return text


def _duty(rule: Rule, known: _Known, occurrence: int, required_at: datetime, anchor: datetime,
          done: tuple[datetime, str] | None, facts: dict[str, Any], as_of: datetime, pack: Pack,
          explain: bool) -> Duty:
    due = _due(rule, required_at, pack)
    done_at = done[0] if done else None
    state = _state(rule, known, due, done_at, as_of)
    explanation = None
    if explain:
        tests: list[Trace] = []
        rule.when.trace(facts, tests)
        explanation = Explanation(
            conditions=rule.when.describe(),
            tests=tuple(tests),
            clock=_clock_text(rule, anchor))
    escalation = _escalation(rule, due or required_at, state, done_at, as_of, pack) if rule.escalation else ()
    return Duty(rule.id, rule.duty, rule.title, rule.roles, known.episode.id, occurrence, required_at,
                rule.deadline.text, due, state, done_at, done[1] if done else None, escalation, rule.source,
                rule.interpretation, {f: facts[f] for f in rule.facts_read}, explanation)


def _upcoming(rule: Rule, known: _Known, occurrence: int, at: datetime, still_missing: bool,
              pack: Pack) -> Upcoming:
    return Upcoming(rule.id, rule.duty, rule.title, rule.roles, known.episode.id, occurrence, at, still_missing,
                    rule.deadline.text, _due(rule, at, pack), rule.source)


def _one_off(rule: Rule, known: _Known, anchor: datetime, facts: dict[str, Any], as_of: datetime, pack: Pack,
             duties: list[Duty], upcoming: list[Upcoming]) -> None:
    """The common case, a rule that does not repeat, kept to few calls: it runs for most rules and episodes."""
    clock = rule.clock
    if clock.after is None:
        first = anchor
    elif rule.after_elapsed is not None:
        first = anchor + rule.after_elapsed
    else:
        first = add(anchor, clock.after, pack.office_hours)
    found = known.found
    if clock.if_still_missing and found is not None and found <= first:
        return
    if first > as_of:
        upcoming.append(_upcoming(rule, known, 1, first, clock.if_still_missing, pack))
        return
    kind = rule.deadline.kind
    if kind is DeadlineKind.WITHIN:
        due: datetime | None = (first + rule.due_elapsed if rule.due_elapsed is not None
                                else _due(rule, first, pack))
    else:
        due = first if kind is DeadlineKind.IMMEDIATELY else None
    done = _first_done(rule, known, _EARLIEST if rule.counts_earlier_events else anchor)
    done_at = done[0] if done is not None else None
    state = _state(rule, known, due, done_at, as_of)
    escalation = _escalation(rule, due or first, state, done_at, as_of, pack) if rule.escalation else ()
    duties.append(Duty(rule.id, rule.duty, rule.title, rule.roles, known.episode.id, 1, first, rule.deadline.text,
                       due, state, done_at, done[1] if done else None, escalation, rule.source,
                       rule.interpretation, {f: facts[f] for f in rule.facts_read}, None))


def _rule_results(rule: Rule, known: _Known, anchor: datetime, facts: dict[str, Any], as_of: datetime,
                  pack: Pack, explain: bool) -> tuple[list[Duty], list[Upcoming]]:
    duties: list[Duty] = []
    first = anchor if rule.clock.after is None else add(anchor, rule.clock.after, pack.office_hours)
    if rule.clock.if_still_missing and not known.missing_at(first):
        return duties, []
    done_times = _done_times(rule, known, anchor)
    used = 0
    while_missing = rule.repeat is not None and rule.repeat.while_missing
    for occurrence, required_at in enumerate(_occurrences(rule, first, pack), start=1):
        if occurrence > 1 and while_missing and not known.missing_at(required_at):
            break
        if occurrence > _MAX_OCCURRENCES:
            raise EvaluationError(f"rule '{rule.id}' repeats more than {_MAX_OCCURRENCES} times before as_of")
        if required_at > as_of:
            still = rule.clock.if_still_missing or (occurrence > 1 and while_missing)
            return duties, [_upcoming(rule, known, occurrence, required_at, still, pack)]
        lower = (_EARLIEST if rule.counts_earlier_events else anchor) if occurrence == 1 else required_at
        index = next((i for i in range(used, len(done_times)) if done_times[i][0] >= lower), None)
        done = None
        if index is not None:
            done, used = done_times[index], index + 1
        duties.append(_duty(rule, known, occurrence, required_at, anchor, done, facts, as_of, pack, explain))
    return duties, []


def _check_findings(checks: tuple[Check, ...], known: _Known, facts: dict[str, Any]) -> list[Finding]:
    return [Finding(check.id, known.episode.id, check.finding, check.source)
            for check in checks
            if (check.episodes is None or known.episode.kind in check.episodes) and check.when.holds(facts)]


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
    for episode in history.episodes:
        for event in episode.events:
            if event.duty not in pack.vocabulary.duties:
                findings.append(Finding(
                    check="unknown-duty-event", episode=episode.id, source=None,
                    finding=f"An event records the duty '{event.duty}', which is not a canonical duty kind; "
                            "it was ignored."))
    return findings


def evaluate(pack: Pack, history: History, as_of: datetime, *, explain: bool = False) -> Evaluation:
    """The duties `pack` requires for `history` as of `as_of`, the next scheduled triggers, and findings.

    Pure and deterministic. Raises EvaluationError when `as_of` has no UTC offset or is before the first
    episode. With `explain=True`, each duty carries the trace of the conditions that held.
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
        # Dates beyond the calendar (year 9999) and similar extremes of generated input.
        raise EvaluationError(f"cannot evaluate this history: {error}") from None


def _evaluate(pack: Pack, history: History, as_of: datetime, explain: bool) -> Evaluation:
    as_of = as_of.astimezone(UTC)  # every internal time is UTC: same-zone comparisons are cheap and exact
    ordered = history.ordered_episodes()
    if as_of < ordered[0].last_seen_at:
        raise EvaluationError(
            f"as_of {as_of.isoformat()} is before the first episode ('{ordered[0].id}', last seen "
            f"{ordered[0].last_seen_at.isoformat()})")
    episodes = [_Known.at(e, n, as_of) for n, e in enumerate(ordered, start=1) if e.last_seen_at <= as_of]
    child = history.child
    base = _child_facts(child, pack)
    counted: dict[str, set[str]] = {}  # filled on first use: most count rules do not apply to most children
    duties: list[Duty] = []
    upcoming: list[Upcoming] = []
    findings = _history_findings(pack, history)
    for index, known in enumerate(episodes):
        facts = _episode_facts(known, child, base, pack)
        kind: EpisodeKind = known.episode.kind
        applicable = [rule for rule in pack.rules_by_kind[kind] if rule.applies(facts)]
        overridden = {other for rule in applicable for other in rule.overrides}
        for rule in applicable:
            if rule.id in overridden:
                continue
            if rule.clock.start is ClockFrom.EPISODE_COUNT and rule.id not in counted:
                counted[rule.id] = _count_triggers(rule, episodes)
            anchor = _anchor(rule, known, child, as_of, counted.get(rule.id, _NONE), index == 0)
            if anchor is None:
                continue
            if rule.repeat is None and not explain:
                _one_off(rule, known, anchor, facts, as_of, pack, duties, upcoming)
                continue
            new_duties, new_upcoming = _rule_results(rule, known, anchor, facts, as_of, pack, explain)
            duties += new_duties
            upcoming += new_upcoming
        findings += _check_findings(pack.checks, known, facts)
    # All result times are UTC, so they sort as instants.
    duties.sort(key=lambda d: (d.required_at, d.episode, d.rule, d.occurrence))
    upcoming.sort(key=lambda u: (u.at, u.episode, u.rule))
    return Evaluation(pack.id, as_of, tuple(duties), tuple(upcoming), tuple(findings))


__all__ = ["ConditionTest", "Duty", "DutyState", "Escalation", "EscalationState", "Evaluation", "Explanation",
           "Finding", "RoleRef", "Upcoming", "evaluate"]
