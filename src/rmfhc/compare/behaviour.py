"""`rmfhc diff --behaviour A B CORPUS`: the same histories through two packs, everything a user sees.

Each history is evaluated under both packs at every instant where either output could change (each time in
the history and each time either output names, and a minute either side; or at one `as_of`). At each instant
the duties of the two results are paired (same duty kind and episode; the same rule and occurrence first,
then the same required time) and compared on all a user sees: state, holders, those told, when required and
due, when done and by whom, each escalation step (time, state, to whom); then the upcoming triggers and the
findings. Each difference is said once, in words, from the first instant it is seen:

    examples/cases/05.json: E3 strategy-discussion-child-in-care: overdue -> stood down (as of ...);
    holder Team Manager -> Service Manager; escalation at 10:00 Tue 3 Nov 2026 -> 10:00 Wed 4 Nov 2026
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import zip_longest
from typing import Literal, TypeVar

from ..dates import LONDON
from ..errors import EvaluationError
from ..evaluate import Evaluation, evaluate
from ..models import History
from ..pack import Pack, Role
from ..results import Duty, Upcoming
from ..words import duty_words, either
from .base import ComparisonError, Result
from .corpus import Corpus, CorpusItem

MINUTE = timedelta(minutes=1)
DEFAULT_HORIZON = timedelta(days=366)
Side = Literal["a", "b"]


class Change(Result):
    """One thing a user sees that differs between the packs for the same duty, trigger or history."""

    subject: str  # "E3 strategy-discussion-child-in-care", "E3 upcoming strategy-discussion-...", "findings"
    aspect: str  # state, holder, told, required, due, done, done by, escalation, at, if still missing, finding
    a: str  # what pack a shows, in words
    b: str
    first_seen: datetime  # the first instant evaluated at which it differs


class OnlyOne(Result):
    """A duty, trigger or finding that one pack shows and the other does not."""

    subject: str
    side: Side
    pack: str
    detail: str  # in words: "overdue, required 21:00 Sun 1 Nov 2026, due 21:00 Mon 2 Nov 2026"
    first_seen: datetime


class HistoryBehaviour(Result):
    """One history: how many instants were evaluated, and every difference, earliest first."""

    history: str
    instants: int
    changes: tuple[Change, ...]
    only: tuple[OnlyOne, ...]

    @property
    def differs(self) -> bool:
        return bool(self.changes or self.only)


class Skipped(Result):
    """A file of the corpus that is not a history, and why."""

    path: str
    reason: str


class BehaviourDiff(Result):
    """The behaviour of two packs over the same histories. `affected`: histories with any difference."""

    a: str
    b: str
    as_of: datetime | None
    histories: tuple[HistoryBehaviour, ...]
    affected: int
    skipped: tuple[Skipped, ...] = ()


# ---------------------------------------------------------------------------------------------------------
# Words for what a user sees.


def when(moment: datetime | None) -> str:
    """A moment in London time, as a user reads it: "10:00 Tue 3 Nov 2026"; "—" for none."""
    if moment is None:
        return "—"
    local = moment.astimezone(LONDON)
    return f"{local:%H:%M} {local:%a} {local.day} {local:%b %Y}"


def _titles(roles: Iterable[Role]) -> str:
    return either(list(dict.fromkeys(role.title for role in roles)), "and") or "nobody"


def _state(value: str) -> str:
    return value.replace("_", " ")


def _utc(moment: datetime) -> datetime:
    # Aware datetimes sharing a ZoneInfo compare by wall clock; UTC keeps the October hour apart.
    return moment.astimezone(UTC)


# ---------------------------------------------------------------------------------------------------------
# Pairing the duties, triggers and findings of two results.

_DutyId = tuple[str, str, int]  # rule, episode, occurrence


_DUTY_TESTS: tuple[Callable[[Duty, Duty], bool], ...] = (
    lambda x, y: x.rule == y.rule and x.occurrence == y.occurrence,
    lambda x, y: _utc(x.required_at) == _utc(y.required_at),
    lambda x, y: _utc(x.due) == _utc(y.due),
)
_UPCOMING_TESTS: tuple[Callable[[Upcoming, Upcoming], bool], ...] = (
    lambda x, y: (x.rule, x.episode, x.occurrence) == (y.rule, y.episode, y.occurrence),
    lambda x, y: (x.duty, x.episode, _utc(x.at)) == (y.duty, y.episode, _utc(y.at)),
)


_T = TypeVar("_T")


def _pair_by(left: list[_T], right: list[_T], tests: Sequence[Callable[[_T, _T], bool]]) -> list[tuple[_T, _T]]:
    """Take out of `left` and `right` the pairs each test finds, the tests in order; what is left stays."""
    pairs: list[tuple[_T, _T]] = []
    for test in tests:
        for x in list(left):
            match = next((y for y in right if test(x, y)), None)
            if match is not None:
                pairs.append((x, match))
                left.remove(x)
                right.remove(match)
    return pairs


def _pair_duties(duties_a: Sequence[Duty], duties_b: Sequence[Duty]) -> tuple[list[tuple[Duty, Duty]], list[Duty],
                                                                              list[Duty]]:
    """Pair duties of the same kind and episode: the same rule and occurrence, then the same required time,
    then the same due time; a last one left on each side pairs with the other."""
    groups: dict[tuple[str, str], tuple[list[Duty], list[Duty]]] = {}
    for duty in duties_a:
        groups.setdefault((duty.duty, duty.episode), ([], []))[0].append(duty)
    for duty in duties_b:
        groups.setdefault((duty.duty, duty.episode), ([], []))[1].append(duty)
    pairs: list[tuple[Duty, Duty]] = []
    only_a: list[Duty] = []
    only_b: list[Duty] = []
    for left, right in groups.values():
        pairs += _pair_by(left, right, _DUTY_TESTS)
        if len(left) == 1 and len(right) == 1:
            pairs.append((left.pop(), right.pop()))
        only_a += left
        only_b += right
    return pairs, only_a, only_b


def _pair_upcoming(up_a: Sequence[Upcoming], up_b: Sequence[Upcoming]) -> tuple[
        list[tuple[Upcoming, Upcoming]], list[Upcoming], list[Upcoming]]:
    left, right = list(up_a), list(up_b)
    return _pair_by(left, right, _UPCOMING_TESTS), left, right


def _subject(x: Duty | Upcoming, y: Duty | Upcoming | None = None, upcoming: bool = False) -> str:
    rule = x.rule if y is None or x.rule == y.rule else f"{duty_words(x.duty)} ({x.rule} / {y.rule})"
    occurrence = f" #{x.occurrence}" if x.occurrence > 1 else ""
    return f"{x.episode} {'upcoming ' if upcoming else ''}{rule}{occurrence}"


def _escalation_changes(x: Duty, y: Duty) -> list[tuple[str, str, str]]:
    """Escalation steps side by side: a moved step ("escalation at" a time -> another), a step to others, a step
    in another state ("escalation at <time>:" pending -> active), a step only one pack has."""
    out = []
    for step_a, step_b in zip_longest(x.escalation, y.escalation):
        if step_b is None:
            out.append(("escalation", f"at {when(step_a.at)} to {_titles(step_a.to)}", "none"))
        elif step_a is None:
            out.append(("escalation", "none", f"at {when(step_b.at)} to {_titles(step_b.to)}"))
        else:
            if _utc(step_a.at) != _utc(step_b.at):
                out.append(("escalation at", when(step_a.at), when(step_b.at)))
            if _titles(step_a.to) != _titles(step_b.to):
                out.append((f"escalation at {when(step_b.at)} to", _titles(step_a.to), _titles(step_b.to)))
            if step_a.state is not step_b.state:
                moved = _utc(step_a.at) != _utc(step_b.at)
                out.append(("escalation:" if moved else f"escalation at {when(step_b.at)}:",
                            _state(step_a.state.value), _state(step_b.state.value)))
    return out


def _duty_changes(x: Duty, y: Duty) -> list[tuple[str, str, str]]:
    """Every aspect of two paired duties a user sees that differs: (aspect, a, b) in words."""
    out = []
    if x.state is not y.state:
        out.append(("state", _state(x.state.value), _state(y.state.value)))
    for aspect, value_a, value_b in (
        ("holder", _titles(x.roles), _titles(y.roles)),
        ("told", _titles(x.recipients), _titles(y.recipients)),
    ):
        if value_a != value_b:
            out.append((aspect, value_a, value_b))
    for aspect, moment_a, moment_b in (("required", x.required_at, y.required_at), ("due", x.due, y.due),
                                       ("done", x.done_at, y.done_at)):
        if (None if moment_a is None else _utc(moment_a)) != (None if moment_b is None else _utc(moment_b)):
            out.append((aspect, when(moment_a), when(moment_b)))
    if (x.done_by, x.done_with) != (y.done_by, y.done_with):
        out.append(("done by", _done_by(x), _done_by(y)))
    return out + _escalation_changes(x, y)


def _done_by(duty: Duty) -> str:
    parts = [part for part in (duty.done_by, duty.done_with and f"with {_state(duty.done_with)}") if part]
    return " ".join(parts) or "—"


def _upcoming_changes(x: Upcoming, y: Upcoming) -> list[tuple[str, str, str]]:
    out = []
    if _utc(x.at) != _utc(y.at):
        out.append(("required", when(x.at), when(y.at)))
    if (None if x.due is None else _utc(x.due)) != (None if y.due is None else _utc(y.due)):
        out.append(("due", when(x.due), when(y.due)))
    if x.if_still_missing != y.if_still_missing:
        out.append(("if still missing", "yes" if x.if_still_missing else "no",
                    "yes" if y.if_still_missing else "no"))
    if _titles(x.roles) != _titles(y.roles):
        out.append(("holder", _titles(x.roles), _titles(y.roles)))
    return out


def _duty_words(duty: Duty) -> str:
    return f"{_state(duty.state.value)}, required {when(duty.required_at)}, due {when(duty.due)}, " \
           f"holder {_titles(duty.roles)}"


def _upcoming_words(up: Upcoming) -> str:
    text = f"required {when(up.at)}" + (" if still missing then" if up.if_still_missing else "")
    return text + (f", due {when(up.due)}" if up.due is not None else "")


# ---------------------------------------------------------------------------------------------------------
# Running a history through both packs.


@dataclass(slots=True)
class _Record:
    """What has been seen differing so far, each once, with the first instant."""

    labels: tuple[str, str]
    changes: dict[tuple[str, str, str, str], datetime] = field(default_factory=dict)
    only: dict[tuple[str, Side, str], tuple[str, datetime]] = field(default_factory=dict)

    def change(self, subject: str, aspect: str, a: str, b: str, instant: datetime) -> None:
        self.changes.setdefault((subject, aspect, a, b), instant)

    def one(self, subject: str, side: Side, detail: str, instant: datetime, key: str = "") -> None:
        """A duty or trigger (`key` empty: its state when first seen is its detail) or a finding (`key`: it)."""
        self.only.setdefault((subject, side, key), (detail, instant))

    def compare(self, result_a: Evaluation, result_b: Evaluation, instant: datetime) -> None:
        pairs, only_a, only_b = _pair_duties(result_a.duties, result_b.duties)
        for duty_a, duty_b in pairs:
            for aspect, a, b in _duty_changes(duty_a, duty_b):
                self.change(_subject(duty_a, duty_b), aspect, a, b, instant)
        for side, duties in (("a", only_a), ("b", only_b)):
            for duty in duties:
                self.one(_subject(duty), side, _duty_words(duty), instant)  # type: ignore[arg-type]
        up_pairs, up_a, up_b = _pair_upcoming(result_a.upcoming, result_b.upcoming)
        for x, y in up_pairs:
            for aspect, a, b in _upcoming_changes(x, y):
                self.change(_subject(x, y, upcoming=True), aspect, a, b, instant)
        for side, ups in (("a", up_a), ("b", up_b)):
            for up in ups:
                self.one(_subject(up, upcoming=True), side, _upcoming_words(up), instant)  # type: ignore[arg-type]
        findings_a = {(f.episode or "", f.finding) for f in result_a.findings}
        findings_b = {(f.episode or "", f.finding) for f in result_b.findings}
        for side, mine, theirs in (("a", findings_a, findings_b), ("b", findings_b, findings_a)):
            for episode, finding in sorted(mine - theirs):
                self.one(f"{episode} finding".strip(), side, finding, instant, finding)  # type: ignore[arg-type]

    def report(self, history: str, instants: int) -> HistoryBehaviour:
        changes = sorted((Change(subject=s, aspect=aspect, a=a, b=b, first_seen=t.astimezone(LONDON))
                          for (s, aspect, a, b), t in self.changes.items()),
                         key=lambda c: (_utc(c.first_seen), c.subject, c.aspect))
        only = sorted((OnlyOne(subject=s, side=side, pack=self.labels[0 if side == "a" else 1], detail=detail,
                               first_seen=t.astimezone(LONDON))
                       for (s, side, _), (detail, t) in self.only.items()),
                      key=lambda o: (_utc(o.first_seen), o.subject, o.side, o.detail))
        return HistoryBehaviour(history=history, instants=instants, changes=tuple(changes), only=tuple(only))


def _history_times(history: History) -> set[datetime]:
    times: set[datetime] = set()
    for episode in history.episodes:
        times.update(t for t in (episode.last_seen_at, episode.reported_at, episode.found_at,
                                 episode.found_report_received_at) if t is not None)
        if episode.noticed_at is not None:
            times.add(episode.noticed_at)
        times.update(g.graded_at for g in episode.risk)
        times.update(e.at for e in episode.events)
        times.update(concern.known_at for concern in episode.concerns)
    child = history.child
    if child.placement is not None and child.placement.started_at is not None:
        times.add(child.placement.started_at)
    if child.became_looked_after_at is not None:
        times.add(child.became_looked_after_at)
    return {_utc(t) for t in times}


def _output_times(result: Evaluation) -> set[datetime]:
    times: set[datetime] = set()
    for duty in result.duties:
        times.update((duty.required_at, duty.due))
        times.update(t for t in (duty.done_at,) if t is not None)
        times.update(step.at for step in duty.escalation)
    for up in result.upcoming:
        times.add(up.at)
        times.update(t for t in (up.due,) if t is not None)
    return {_utc(t) for t in times}


def _around(times: Iterable[datetime], start: datetime, end: datetime) -> set[datetime]:
    """Each time and a minute either side, inside [start, end]."""
    return {t + d for t in times for d in (-MINUTE, timedelta(0), MINUTE) if start <= t + d <= end}


class _Runner:
    """Evaluates one history under both packs, once per instant."""

    def __init__(self, packs: tuple[Pack, Pack], histories: tuple[History, History], label: str) -> None:
        self.packs = packs
        self.histories = histories
        self.label = label
        self.results: dict[datetime, tuple[Evaluation, Evaluation]] = {}

    def at(self, instant: datetime) -> tuple[Evaluation, Evaluation]:
        if instant not in self.results:
            try:
                a = evaluate(self.packs[0], self.histories[0], instant)
                b = evaluate(self.packs[1], self.histories[1], instant)
            except EvaluationError as error:
                raise ComparisonError(f"{self.label}: at {instant.isoformat()}: {error}") from None
            self.results[instant] = (a, b)
        return self.results[instant]

    def start(self) -> datetime:
        return _utc(min(h.ordered_episodes()[0].last_seen_at for h in self.histories))

    def instants(self, horizon: timedelta) -> list[datetime]:
        """Where either pack's output could change: history times, then every time either output names."""
        history_times = _history_times(self.histories[0]) | _history_times(self.histories[1])
        start = self.start()
        end = max(history_times) + horizon
        first = _around(history_times, start, end) | {end}
        named: set[datetime] = set()
        for instant in sorted(first):
            for result in self.at(instant):
                named |= _output_times(result)
        return sorted(first | _around(named, start, end))


def _items(histories: Corpus | Mapping[str, History] | Sequence[History]) -> list[CorpusItem]:
    if isinstance(histories, Corpus):
        return histories.items
    if isinstance(histories, Mapping):
        return [CorpusItem(label, {}, history) for label, history in histories.items()]
    return [CorpusItem(h.child.id or f"history {i}", {}, h) for i, h in enumerate(histories, start=1)]


def diff_behaviour(a: Pack, b: Pack, histories: Corpus | Mapping[str, History] | Sequence[History],
                   as_of: datetime | None = None, *, horizon: timedelta = DEFAULT_HORIZON,
                   label_a: str | None = None, label_b: str | None = None) -> BehaviourDiff:
    """Run the same histories through both packs and report, per history, everything a user sees that differs.

    With `as_of`, at that instant only; without, at every instant where either output could change (each
    history time and each time either pack's duties, escalations or upcoming triggers name, and a minute
    either side, up to `horizon` after the history's last time). Each difference is reported once, with the
    first instant it is seen.
    """
    labels = (label_a or a.id, label_b or b.id)
    if labels[0] == labels[1]:
        labels = (f"{labels[0]} (a)", f"{labels[1]} (b)")
    if as_of is not None and as_of.tzinfo is None:
        raise ComparisonError("as_of must be a timestamp with a UTC offset, such as 2026-11-07T10:00:00Z")
    reports = []
    for item in _items(histories):
        pair = (item.history_for(a), item.history_for(b)) if item.data else (item.history, item.history)
        runner = _Runner((a, b), pair, item.label)
        # Before the history starts neither pack can require anything: nothing to compare then.
        started = as_of is not None and _utc(as_of) >= runner.start()
        instants = runner.instants(horizon) if as_of is None else [_utc(as_of)] if started else []
        record = _Record(labels)
        for instant in instants:
            record.compare(*runner.at(instant), instant)
        reports.append(record.report(item.label, len(instants)))
    skipped = tuple(Skipped(path=p, reason=r) for p, r in histories.skipped) if isinstance(histories, Corpus) \
        else ()
    return BehaviourDiff(a=labels[0], b=labels[1], as_of=as_of, histories=tuple(reports),
                         affected=sum(r.differs for r in reports), skipped=skipped)


# ---------------------------------------------------------------------------------------------------------
# In words.


_ORDER = ("state", "holder", "told", "required", "due", "done", "done by", "escalation", "if still missing")


def _timed(aspect: str) -> bool:
    """Aspects that change as time passes (a duty's state, an escalation step's), so said with when."""
    return aspect == "state" or aspect.endswith(":")


def _order(aspect: str) -> int:
    key = "escalation" if aspect.startswith("escalation") else aspect
    return _ORDER.index(key) if key in _ORDER else len(_ORDER)


def _changes_line(changes: Sequence[Change], single: bool) -> str:
    """"overdue -> stood down; holder Team Manager -> Service Manager; escalation at ... -> ...": one part per
    aspect, its different values in the order first seen (with when, for a state, when not at one instant)."""
    by_aspect: dict[str, list[Change]] = {}
    for change in sorted(changes, key=lambda c: (_order(c.aspect), _utc(c.first_seen))):
        by_aspect.setdefault(change.aspect, []).append(change)
    parts = []
    for aspect, items in by_aspect.items():
        label = "" if aspect == "state" else f"{aspect} "
        values = [f"{c.a} -> {c.b}" + (f" (as of {when(c.first_seen)})" if _timed(aspect) and not single else "")
                  for c in items]
        parts.append(label + ", ".join(values))
    return "; ".join(parts)


def history_lines(report: HistoryBehaviour, single: bool = False) -> list[str]:
    """One line per duty, trigger or finding that differs, each starting with the history's name."""
    subjects: dict[str, list[Change]] = {}
    for change in report.changes:
        subjects.setdefault(change.subject, []).append(change)
    lines: list[tuple[datetime, str]] = []
    for subject, changes in subjects.items():
        first = min(_utc(c.first_seen) for c in changes)
        lines.append((first, f"{report.history}: {subject}: {_changes_line(changes, single)}"))
    for only in report.only:
        since = "" if single else f" (as of {when(only.first_seen)})"
        lines.append((_utc(only.first_seen), f"{report.history}: {only.subject}: only in {only.side} "
                                             f"({only.pack}){since}: {only.detail}"))
    return [line for _, line in sorted(lines, key=lambda item: item[0])]


def render_behaviour(diff: BehaviourDiff) -> str:
    """Per history affected, a line per duty, trigger or finding that differs; then the count."""
    moment = f"as of {when(diff.as_of)}" if diff.as_of else "at every instant where either output changes"
    out = [f"Behaviour of a: {diff.a} and b: {diff.b}, {moment} (times in London)"]
    for report in diff.histories:
        if report.differs:
            out += history_lines(report, single=diff.as_of is not None)
    total = len(diff.histories)
    same = total - diff.affected
    if diff.affected:
        out.append(f"{diff.affected} of {total} histories differ; {same} the same")
    else:
        out.append(f"no differences in {total} histories")
    return "\n".join(out) + "\n"
