"""The result of an evaluation: duties with their states, upcoming triggers and findings; JSON in and out.

Plain slotted dataclasses, because an evaluation builds dozens of them and must stay cheap; pydantic's
TypeAdapter gives them JSON, JSON Schema and validation on the way back in. Times are held in UTC and written
out in Europe/London local time with the offset; both are the same instant, so a result read back from JSON
compares equal. Treat results as read-only.

The states a duty can be in are documented, each with an example, in docs/outcomes.md.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import TypeAdapter

from .conditions import Trace
from .dates import LONDON
from .pack import Role, Source


class DutyState(enum.StrEnum):
    """Where a duty instance stands at `as_of` (docs/outcomes.md)."""

    DUE = "due"  # required, not done, deadline not yet passed
    OVERDUE = "overdue"  # required, not done, deadline passed, still possible
    DONE_ON_TIME = "done_on_time"
    DONE_LATE = "done_late"
    DECLINED = "declined"  # offered and declined by the child or family, where the document allows it
    STOOD_DOWN = "stood_down"  # the document says the duty lapses (the child was found before its deadline)
    MISSED = "missed"  # required, not done, and no longer possible (the child came back first)


class EscalationState(enum.StrEnum):
    PENDING = "pending"
    ACTIVE = "active"
    PASSED = "passed"  # its time came while the duty was outstanding; the duty was done, or lapsed, later
    NOT_NEEDED = "not_needed"


@dataclass(slots=True)
class Escalation:
    """An escalation step of a duty: when it applies, to whom, and whether it has."""

    at: datetime
    to: tuple[Role, ...]
    action: str
    state: EscalationState


@dataclass(slots=True)
class Explanation:
    """Why a duty applies and why it is in its state: conditions with the values read, clock, deadline."""

    state: str
    conditions: str
    tests: tuple[Trace, ...]
    clock: str
    deadline: str
    counted: tuple[str, ...] = ()  # for a count of episodes: the episodes counted


@dataclass(slots=True)
class Duty:
    """One duty instance: what is required, of whom, for which episode, by when, and its state."""

    rule: str
    duty: str
    title: str
    roles: tuple[Role, ...]  # who holds it, for this child
    recipients: tuple[Role, ...]  # who must be told, for this child
    episode: str
    occurrence: int
    required_at: datetime
    deadline: str  # as the pack writes it: "within 24 hours", "immediately"
    allows: str | None  # for a phrase with no exact limit: what the pack reads it as allowing
    due: datetime
    state: DutyState
    done_at: datetime | None
    done_by: str | None  # who did it, as the event records (`by`)
    done_with: str | None  # the event kind that did it, or `reported`, `found`, `regraded`
    late_by: timedelta | None  # done late or declined late: after the deadline; overdue: so far
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

    def count(self) -> dict[str, int]:
        """How many duties are in each state, in the order of DutyState."""
        counts = {state.value: 0 for state in DutyState}
        for duty in self.duties:
            counts[duty.state.value] += 1
        return counts


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


def describe_span(span: timedelta) -> str:
    """A duration in words for people: '2 h 10 min', '3 days 4 h', '45 min'."""
    minutes = int(span.total_seconds() // 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    parts = []
    if days:
        parts.append(f"{days} day{'s' if days != 1 else ''}")
    if hours:
        parts.append(f"{hours} h")
    if minutes or not parts:
        parts.append(f"{minutes} min")
    return " ".join(parts)
