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
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from typing import Any, TextIO

from pydantic import TypeAdapter

from .conditions import Trace
from .dates import LONDON
from .errors import EvaluationError
from .pack import Pack, Role, Source


class DutyState(enum.StrEnum):
    """Where a duty instance stands at `as_of` (docs/outcomes.md)."""

    DUE = "due"  # required, not done, deadline not yet passed
    OVERDUE = "overdue"  # required, not done, deadline passed, still possible
    DONE_ON_TIME = "done_on_time"
    DONE_LATE = "done_late"
    DECLINED = "declined"  # offered and declined by the child or family, where the document allows it
    STOOD_DOWN = "stood_down"  # the document says the duty lapses (the child was found before its deadline)
    MISSED = "missed"  # required, not done, and no longer possible (the child came back first)
    NOT_ASSESSABLE = "not_assessable"  # the history's times are dates only and the limit is shorter than a day


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
    facts: dict[str, Any] = field(default_factory=dict)  # the facts the rule's conditions read, with values


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
    """The result of evaluating a history against a pack at a moment, with what produced it."""

    protocol: str
    as_of: datetime
    duties: tuple[Duty, ...]
    upcoming: tuple[Upcoming, ...]
    findings: tuple[Finding, ...]
    protocol_version: str = ""
    protocol_hash: str = ""  # sha256 of the pack file: which text of the pack produced this
    engine_version: str = ""

    def to_json(self, indent: int | None = None, rule_text: bool = False) -> str:
        """JSON text, compact unless `indent` is given; times in Europe/London with their offset.

        Duties name their rule; its title, clause, quote and interpretation are in the pack, one lookup away,
        and are written on every duty only with `rule_text=True`. Explanations are written when the
        evaluation was made with `explain=True`. `Evaluation.from_json` reads either form back.
        """
        separators = (",", ":") if indent is None else None
        return json.dumps(self.to_dict(rule_text), indent=indent, ensure_ascii=False, separators=separators)

    def to_dict(self, rule_text: bool = False) -> dict[str, Any]:
        """A JSON-ready dict (see `to_json`)."""
        return {
            **self._head(),
            "duties": [_duty_dict(d, rule_text) for d in self.duties],
            "upcoming": [_upcoming_dict(u, rule_text) for u in self.upcoming],
            "findings": [_finding_dict(f, rule_text) for f in self.findings],
        }

    def write_json(self, out: TextIO, rule_text: bool = False) -> None:
        """Write `to_json()` to a file a duty at a time, so that a long history needs no second copy in memory."""
        out.write(json.dumps(self._head(), **_COMPACT)[:-1])
        for key, items, convert in (("duties", self.duties, _duty_json), ("upcoming", self.upcoming, _upcoming_text),
                                    ("findings", self.findings, _finding_text)):
            out.write(f',"{key}":[')
            for start in range(0, len(items), _CHUNK):  # a chunk at a time: no second copy of a long result
                if start:
                    out.write(",")
                out.write(",".join(convert(item, rule_text) for item in items[start:start + _CHUNK]))  # type: ignore[arg-type]
            out.write("]")
        out.write("}\n")

    def _head(self) -> dict[str, Any]:
        return {"engine": {"name": "rmfhc", "version": self.engine_version}, "protocol": self.protocol,
                "protocol_version": self.protocol_version, "protocol_hash": self.protocol_hash,
                "as_of": london_time(self.as_of), "counts": self.count()}

    @classmethod
    def from_json(cls, text: str | bytes, pack: Pack | None = None) -> Evaluation:
        """Read an evaluation written by `to_json`; the compact form takes its rule text from `pack`."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise EvaluationError(f"not an evaluation: {error}") from None
        return cls.from_dict(data, pack)

    @classmethod
    def from_dict(cls, data: dict[str, Any], pack: Pack | None = None) -> Evaluation:
        """Read an evaluation written by `to_dict`; the compact form takes its rule text from `pack`."""
        try:
            return _ADAPTER.validate_python(_full(data, pack))
        except (KeyError, TypeError, ValueError) as error:
            raise EvaluationError(f"not an evaluation written by rmfhc: {error}") from None

    @staticmethod
    def json_schema() -> dict[str, Any]:
        """JSON Schema of the evaluation output with rule text (`to_json(rule_text=True)`)."""
        schema: dict[str, Any] = _ADAPTER.json_schema()
        return schema

    def count(self) -> dict[str, int]:
        """How many duties are in each state, in the order of DutyState."""
        counts = {state.value: 0 for state in DutyState}
        for duty in self.duties:
            counts[duty.state.value] += 1
        return counts


_ADAPTER: TypeAdapter[Evaluation] = TypeAdapter(Evaluation)
_COMPACT: dict[str, Any] = {"ensure_ascii": False, "separators": (",", ":")}
_CHUNK = 2000


def _upcoming_text(up: Upcoming, rule_text: bool) -> str:
    return json.dumps(_upcoming_dict(up, rule_text), **_COMPACT)


def _finding_text(finding: Finding, rule_text: bool) -> str:
    return json.dumps(_finding_dict(finding, rule_text), **_COMPACT)


def london_time(moment: datetime | None) -> str | None:
    """Europe/London local time with its offset."""
    return None if moment is None else _london(moment)


def _london(moment: datetime) -> str:
    # The offset is looked up once per hour of UTC time: London's offset changes only on the hour.
    return moment.astimezone(_london_offset(int(moment.timestamp()) // 3600)).isoformat()


@lru_cache(maxsize=65536)
def _london_offset(hour: int) -> timezone:
    return timezone(datetime.fromtimestamp(hour * 3600, LONDON).utcoffset() or timedelta(0))


@lru_cache(maxsize=4096)
def iso_duration(span: timedelta | None) -> str | None:
    """ISO 8601 duration, as pydantic writes and reads it: PT2H10M, P3DT4H."""
    if span is None:
        return None
    seconds = int(span.total_seconds())
    days, seconds = divmod(seconds, 86400)
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    time = "".join(f"{n}{unit}" for n, unit in ((hours, "H"), (minutes, "M"), (seconds, "S")) if n)
    return "P" + (f"{days}D" if days else "") + (f"T{time}" if time else ("" if days else "T0S"))


def _role(role: Role, rule_text: bool) -> Any:
    return {"key": role.key, "title": role.title, "role": role.role} if rule_text else role.key


def _source(source: Source) -> dict[str, str]:
    return {"section": source.section, "quote": source.quote}


def _duty_dict(duty: Duty, rule_text: bool) -> dict[str, Any]:
    data: dict[str, Any] = {
        "rule": duty.rule, "duty": duty.duty, "episode": duty.episode, "occurrence": duty.occurrence,
        "state": duty.state.value, "required_at": london_time(duty.required_at), "deadline": duty.deadline,
        "allows": duty.allows, "due": london_time(duty.due), "done_at": london_time(duty.done_at),
        "done_by": duty.done_by,
        "done_with": duty.done_with, "late_by": iso_duration(duty.late_by),
        "roles": [_role(r, rule_text) for r in duty.roles],
        "recipients": [_role(r, rule_text) for r in duty.recipients],
        "escalation": [{"at": london_time(e.at), "to": [_role(r, rule_text) for r in e.to], "action": e.action,
                        "state": e.state.value} for e in duty.escalation],
    }
    if rule_text:
        data.update(title=duty.title, source=_source(duty.source), interpretation=duty.interpretation)
    if duty.explanation is not None:
        data["explanation"] = _ADAPTER_EXPLANATION.dump_python(duty.explanation, mode="json")
    return data


def _text(value: str | None) -> str:
    """A JSON string (or null); plain text, the common case, needs no escaping and no encoder."""
    if value is None:
        return "null"
    if value.isprintable() and '"' not in value and "\\" not in value:
        return f'"{value}"'
    return json.dumps(value, ensure_ascii=False)


@lru_cache(maxsize=65536)
def _time(moment: datetime | None) -> str:
    return "null" if moment is None else f'"{_london(moment)}"'


@lru_cache(maxsize=4096)
def _fixed_part(rule: str, duty: str, deadline: str, allows: str | None, roles: tuple[Role, ...],
                recipients: tuple[Role, ...], rule_text: bool, title: str, source: Source,
                interpretation: str | None) -> str:
    """The part of a duty's JSON that every instance of a rule shares, for one set of holders."""
    data: dict[str, Any] = {"rule": rule, "duty": duty, "deadline": deadline, "allows": allows,
                            "roles": [_role(r, rule_text) for r in roles],
                            "recipients": [_role(r, rule_text) for r in recipients]}
    if rule_text:
        data.update(title=title, source=_source(source), interpretation=interpretation)
    return json.dumps(data, **_COMPACT)[1:-1]


def _duty_json(duty: Duty, rule_text: bool) -> str:
    """`_duty_dict` as JSON text, built from a cached shared part: a long history writes many thousands."""
    if duty.explanation is not None:
        return json.dumps(_duty_dict(duty, rule_text), **_COMPACT)
    fixed = _fixed_part(duty.rule, duty.duty, duty.deadline, duty.allows, duty.roles, duty.recipients, rule_text,
                        duty.title, duty.source, duty.interpretation)
    escalation = ",".join(
        f'{{"at":{_time(e.at)},"to":{json.dumps([_role(r, rule_text) for r in e.to], **_COMPACT)},'
        f'"action":{_text(e.action)},"state":"{e.state.value}"}}' for e in duty.escalation)
    return (f'{{{fixed},"episode":{_text(duty.episode)},"occurrence":{duty.occurrence},'
            f'"state":"{duty.state.value}","required_at":{_time(duty.required_at)},"due":{_time(duty.due)},'
            f'"done_at":{_time(duty.done_at)},"done_by":{_text(duty.done_by)},"done_with":{_text(duty.done_with)},'
            f'"late_by":{_text(iso_duration(duty.late_by))},"escalation":[{escalation}]}}')


def _upcoming_dict(up: Upcoming, rule_text: bool) -> dict[str, Any]:
    data: dict[str, Any] = {
        "rule": up.rule, "duty": up.duty, "episode": up.episode, "occurrence": up.occurrence, "at": london_time(up.at),
        "if_still_missing": up.if_still_missing, "deadline": up.deadline, "due": london_time(up.due),
        "roles": [_role(r, rule_text) for r in up.roles]}
    if rule_text:
        data.update(title=up.title, source=_source(up.source))
    return data


def _finding_dict(finding: Finding, rule_text: bool) -> dict[str, Any]:
    data: dict[str, Any] = {"check": finding.check, "episode": finding.episode, "finding": finding.finding}
    if rule_text:
        data["source"] = None if finding.source is None else _source(finding.source)
    elif finding.source is not None:
        data["section"] = finding.source.section
    return data


_ADAPTER_EXPLANATION: TypeAdapter[Explanation] = TypeAdapter(Explanation)


def _full(data: dict[str, Any], pack: Pack | None) -> dict[str, Any]:
    """The evaluation as the dataclasses hold it: compact rule references filled in from the pack."""
    def rule_of(item: dict[str, Any]) -> Any:
        if "title" in item:
            return None
        if pack is None:
            raise ValueError("this evaluation was written without rule text: give the pack that produced it")
        return pack.rules_by_id[item["rule"]]

    def role(value: Any) -> Any:
        if isinstance(value, dict):
            return value
        assert pack is not None
        found = pack.roles[value]
        return {"key": found.key, "title": found.title, "role": found.role}

    def filled(item: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
        item = dict(item)
        rule = rule_of(item)
        if rule is not None:
            item.update(title=rule.title, source={"section": rule.source.section, "quote": rule.source.quote})
            if "interpretation" in keys:
                item["interpretation"] = rule.interpretation
        for key in ("roles", "recipients"):
            if key in item:
                item[key] = [role(r) for r in item[key]]
        if "escalation" in item:
            item["escalation"] = [{**step, "to": [role(r) for r in step["to"]]} for step in item["escalation"]]
        return item

    findings = []
    for finding in data["findings"]:
        finding = dict(finding)
        if "source" not in finding:
            section = finding.pop("section", None)
            check = None if section is None or pack is None else pack.checks_by_id.get(finding["check"])
            finding["source"] = None if check is None else {"section": check.source.section,
                                                            "quote": check.source.quote}
        findings.append(finding)
    return {
        "protocol": data["protocol"], "as_of": data["as_of"], "protocol_version": data.get("protocol_version", ""),
        "protocol_hash": data.get("protocol_hash", ""), "engine_version": data.get("engine", {}).get("version", ""),
        "duties": [filled(d, ("interpretation",)) for d in data["duties"]],
        "upcoming": [filled(u, ()) for u in data["upcoming"]],
        "findings": findings,
    }


def describe_span(span: timedelta) -> str:
    """A duration in words for people: '2 h 10 min', '3 days 4 h', '45 min'; under a minute, in seconds
    ('1 s'), so that an act a second late is not said to be '0 min' late."""
    if timedelta(0) < span < timedelta(minutes=1):
        return f"{int(span.total_seconds()) or 1} s"
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
