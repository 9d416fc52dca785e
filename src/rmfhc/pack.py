"""Protocol packs: reading, validating and compiling `protocols/*.yaml`.

A pack is read with the safe YAML loader, checked against the format in docs/pack-format.md (every problem
reported as file:line:column with a plain message), and compiled once into a `Pack` that evaluations reuse.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import os
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, time, timedelta
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator

from . import _read, _suggest, _yaml
from .conditions import FACTS, TESTS, Always, Condition, compile_condition
from .dates import WEEKDAYS, Duration, OfficeHours, Unit
from .errors import PackError, Problem, wrong_type
from .models import EpisodeKind, RiskLevel

# ---------------------------------------------------------------------------------------------------------
# The format as written (pydantic models of the YAML). Strings such as durations are checked here.


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


_ID = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_CLOCK = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
_DEADLINE = re.compile(r"^(immediately|as soon as (?:possible|practicable)|next working day|within (.+))$")


def _duration(text: str) -> str:
    Duration.parse(text)
    return text


def _identifier(value: str) -> str:
    if not _ID.match(value):
        raise ValueError(f"'{value}' is not an id: use lower-case letters, digits, hyphens and underscores")
    return value


Identifier = Annotated[str, AfterValidator(_identifier)]


class Citation(_Spec):
    """A section of the seed document and a verbatim quote from it."""

    section: str
    quote: str = Field(min_length=1)


class ProtocolMeta(_Spec):
    id: Identifier
    area: str
    title: str
    publisher: str | None = None
    version: str
    seed: str
    review_date: date | None = None
    authorities: tuple[str, ...] = ()
    localities: dict[str, str] = Field(default_factory=dict)


class OfficeHoursSpec(_Spec):
    days: tuple[Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"], ...] = (
        "monday", "tuesday", "wednesday", "thursday", "friday")
    opens: str = "09:00"
    closes: str = "17:00"

    @field_validator("opens", "closes")
    @classmethod
    def _clock_time(cls, value: str) -> str:
        if not _CLOCK.match(value):
            raise ValueError(f"'{value}' is not a time of day; write it as \"09:00\" (in quotes)")
        return value


class RoleSpec(_Spec):
    title: str
    role: str


class ClockFrom(enum.StrEnum):
    LAST_SEEN = "last_seen"
    REPORTED = "reported"
    RISK_GRADED = "risk_graded"
    FOUND = "found"
    FOUND_REPORT_RECEIVED = "found_report_received"
    DUTY_DONE = "duty_done"
    EPISODE_COUNT = "episode_count"
    PLACEMENT_STARTED = "placement_started"
    BECAME_LOOKED_AFTER = "became_looked_after"


class ClockSpec(_Spec):
    from_: ClockFrom = Field(alias="from")
    after: str | None = None
    if_still_missing: bool = False
    levels: tuple[RiskLevel, ...] | None = None
    duty: str | None = None
    count: int | None = Field(default=None, ge=1)
    within: str | None = None
    retrigger: Literal["each_episode", "once_per_window"] | None = None

    _after = field_validator("after", "within")(lambda v: None if v is None else _duration(v))


class RepeatSpec(_Spec):
    every: str
    until: str | None = None
    count: int | None = Field(default=None, ge=1)
    while_missing: bool = False

    _durations = field_validator("every", "until")(lambda v: None if v is None else _duration(v))


class EscalationSpec(_Spec):
    after: str
    to: tuple[str, ...] = Field(min_length=1)
    action: str

    _after = field_validator("after")(lambda v: _duration(v))


class RuleSpec(_Spec):
    id: Identifier
    refs: tuple[str, ...] = ()
    duty: str
    title: str
    episodes: tuple[EpisodeKind, ...] = (EpisodeKind.MISSING,)
    when: Any = None
    clock: ClockSpec
    due: str
    stands_down_when_found: bool = False
    counts_earlier_events: bool = False
    roles: tuple[str, ...] = Field(min_length=1)
    escalation: tuple[EscalationSpec, ...] = ()
    source: Citation
    also_cites: tuple[Citation, ...] = ()
    interpretation: str | None = None
    overrides: tuple[str, ...] = ()
    done_by: tuple[str, ...] | None = None
    repeat: RepeatSpec | None = None

    @field_validator("due")
    @classmethod
    def _due(cls, value: str) -> str:
        match = _DEADLINE.match(value.strip().lower())
        if match is None:
            raise ValueError(f"'{value}' is not a deadline; write 'immediately', 'as soon as possible', "
                             "'next working day' or 'within N unit' (such as 'within 24 hours')")
        if match.group(2):
            _duration(match.group(2))
        return value


class CheckSpec(_Spec):
    id: Identifier
    refs: tuple[str, ...] = ()
    finding: str
    episodes: tuple[EpisodeKind, ...] | None = None
    when: Any
    source: Citation
    also_cites: tuple[Citation, ...] = ()
    interpretation: str | None = None


class NotEncodedSpec(_Spec):
    refs: tuple[str, ...] = Field(min_length=1)
    section: str
    reason: str = Field(min_length=10)


class PackSpec(_Spec):
    """A protocol pack as written in YAML (see docs/pack-format.md)."""

    protocol: ProtocolMeta
    office_hours: OfficeHoursSpec = OfficeHoursSpec()
    roles: dict[str, RoleSpec]
    rules: tuple[RuleSpec, ...] = Field(min_length=1)
    checks: tuple[CheckSpec, ...] = ()
    not_encoded: tuple[NotEncodedSpec, ...] = ()


# ---------------------------------------------------------------------------------------------------------
# The compiled form used by evaluation.


class DeadlineKind(enum.StrEnum):
    IMMEDIATELY = "immediately"
    AS_SOON_AS_POSSIBLE = "as soon as possible"
    WITHIN = "within"


@dataclass(frozen=True, slots=True)
class Deadline:
    """When a duty is due, relative to when it became required."""

    kind: DeadlineKind
    within: Duration | None = None
    text: str = ""

    @classmethod
    def parse(cls, text: str) -> Deadline:
        words = text.strip().lower()
        if words == "immediately":
            return cls(DeadlineKind.IMMEDIATELY, None, "immediately")
        if words.startswith("as soon as"):
            return cls(DeadlineKind.AS_SOON_AS_POSSIBLE, None, words)
        if words == "next working day":
            return cls(DeadlineKind.WITHIN, Duration(1, Unit.WORKING_DAYS), "next working day")
        return cls(DeadlineKind.WITHIN, Duration.parse(words.removeprefix("within ")), words)


@dataclass(frozen=True, slots=True)
class Role:
    """A duty holder: the pack's key, its local title and its canonical role."""

    key: str
    title: str
    role: str


@dataclass(frozen=True, slots=True)
class Source:
    """The clause a rule or check comes from: section and verbatim quote."""

    section: str
    quote: str

    @classmethod
    def of(cls, citation: Citation) -> Source:
        return cls(citation.section, citation.quote)


@dataclass(frozen=True, slots=True)
class Clock:
    start: ClockFrom
    after: Duration | None
    if_still_missing: bool
    levels: frozenset[RiskLevel]
    duty: str | None
    count: int
    within: Duration | None
    retrigger_each_episode: bool


@dataclass(frozen=True, slots=True)
class Repeat:
    every: Duration
    until: Duration | None
    count: int | None
    while_missing: bool


@dataclass(frozen=True, slots=True)
class EscalationStep:
    after: Duration
    to: tuple[Role, ...]
    action: str


@dataclass(frozen=True, slots=True)
class Rule:
    """A compiled rule: one duty a protocol places on someone, with its clock, deadline and citation."""

    id: str
    refs: tuple[str, ...]
    duty: str
    title: str
    episodes: frozenset[EpisodeKind]
    when: Condition
    clock: Clock
    deadline: Deadline
    stands_down_when_found: bool
    counts_earlier_events: bool
    roles: tuple[Role, ...]
    escalation: tuple[EscalationStep, ...]
    source: Source
    also_cites: tuple[Source, ...]
    interpretation: str | None
    overrides: tuple[str, ...]
    done_by: frozenset[str]
    repeat: Repeat | None
    facts_read: tuple[str, ...]
    applies: Callable[[Mapping[str, Any]], bool]  # `when` compiled to a closure
    after_elapsed: timedelta | None = None  # clock.after as elapsed time, when it is hours or minutes
    due_elapsed: timedelta | None = None  # the deadline as elapsed time, when it is hours or minutes


@dataclass(frozen=True, slots=True)
class Check:
    """A compiled check: a finding about a history that the protocol would flag."""

    id: str
    refs: tuple[str, ...]
    finding: str
    episodes: frozenset[EpisodeKind] | None
    when: Condition
    source: Source
    interpretation: str | None
    also_cites: tuple[Source, ...] = ()


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """Canonical duty kinds and roles, each with a one-line definition."""

    duties: dict[str, str]
    roles: dict[str, str]


@dataclass(frozen=True)
class Pack:
    """A compiled protocol pack, ready to evaluate histories against. Build it with `load_protocol`."""

    spec: PackSpec
    path: str
    office_hours: OfficeHours
    roles: dict[str, Role]
    rules: tuple[Rule, ...]
    checks: tuple[Check, ...]
    authorities: frozenset[str]
    vocabulary: Vocabulary
    uses_locality: bool = field(default=False)
    rules_by_kind: dict[EpisodeKind, tuple[Rule, ...]] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return self.spec.protocol.id

    @property
    def meta(self) -> ProtocolMeta:
        return self.spec.protocol

    def rule(self, rule_id: str) -> Rule:
        """The rule with this id; KeyError naming it if there is none."""
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        raise KeyError(f"pack '{self.id}' has no rule '{rule_id}'")


# ---------------------------------------------------------------------------------------------------------
# Finding packs by name, reading the vocabulary, loading and validating.


def shipped_protocols() -> Path:
    """The folder of packs shipped inside rmfhc (the package `rmfhc.protocols`, built from protocols/)."""
    # A wheel installs as plain files, so the resource is a real folder; str() of a zip path would not be.
    return Path(str(resources.files("rmfhc.protocols")))


def protocol_dirs() -> list[Path]:
    """Where pack names are looked up: $RMFHC_PROTOCOLS, ./protocols, then the packs shipped with rmfhc."""
    dirs = [Path(p) for p in os.environ.get("RMFHC_PROTOCOLS", "").split(os.pathsep) if p]
    return [*dirs, Path("protocols"), shipped_protocols()]


def resolve_protocol(name_or_path: str | Path) -> Path:
    """A pack path from a name (`dorset`) or a path (`protocols/dorset.yaml`)."""
    if not isinstance(name_or_path, str | Path):
        raise wrong_type("load_protocol", "name_or_path", "a pack name or path (str or pathlib.Path)", name_or_path)
    candidate = Path(name_or_path)
    if candidate.suffix in (".yaml", ".yml") or candidate.is_file():
        return candidate
    for folder in protocol_dirs():
        path = folder / f"{name_or_path}.yaml"
        if path.is_file():
            return path
    known = sorted({p.stem for d in protocol_dirs() if d.is_dir() for p in d.glob("*.yaml")} - {"vocabulary"})
    raise PackError([Problem(str(name_or_path), 0, 0,
                             f"no protocol called '{name_or_path}'; known protocols: {', '.join(known)}")])


def available_protocols() -> list[str]:
    """Names of the packs found in protocol_dirs()."""
    names = {p.stem for d in protocol_dirs() if d.is_dir() for p in d.glob("*.yaml")}
    return sorted(names - {"vocabulary"})


def _find_vocabulary(pack_path: Path) -> Path:
    beside = pack_path.parent / "vocabulary.yaml"
    if beside.is_file():
        return beside
    for folder in protocol_dirs():
        if (folder / "vocabulary.yaml").is_file():
            return folder / "vocabulary.yaml"
    raise PackError([Problem(str(pack_path), 0, 0, "cannot find protocols/vocabulary.yaml")])


def _read_bytes(path: Path, what: str) -> bytes:
    try:
        return _read.read_bytes(path, _read.MAX_PACK_BYTES, what)
    except _read.BadInput as error:
        raise PackError([error.problem]) from None


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# Vocabularies and compiled packs are cached by the SHA-256 of their bytes (a pack's key includes its
# vocabulary's), so an edited file is read afresh whatever its modification time, and the same content under
# another path (a copy, a revision checked out for `rmfhc diff`) is compiled once. A lock keeps the caches
# consistent when threads load packs.
_CACHE_LOCK = threading.Lock()
_VOCABULARIES: OrderedDict[str, Vocabulary] = OrderedDict()
_COMPILED: OrderedDict[tuple[str, str, str], Pack] = OrderedDict()  # (pack, vocabulary, path)
_CACHE_SIZE = 32


def _remember(cache: OrderedDict[Any, Any], key: Any, value: Any) -> None:
    with _CACHE_LOCK:
        cache[key] = value
        while len(cache) > _CACHE_SIZE:
            cache.popitem(last=False)


def _recall(cache: OrderedDict[Any, Any], key: Any) -> Any:
    with _CACHE_LOCK:
        value = cache.get(key)
        if value is not None:
            cache.move_to_end(key)
        return value


def _vocabulary(data: bytes, name: str) -> Vocabulary:
    key = _digest(data)
    cached: Vocabulary | None = _recall(_VOCABULARIES, key)
    if cached is not None:
        return cached
    try:
        text = _read.decode(data, name)
    except _read.BadInput as error:
        raise PackError([error.problem]) from None
    document, problems = _yaml.parse(text, name)
    if document is None or problems:
        raise PackError(problems)
    content = document.data
    bad = [document.problem([section], f"'{section}' must map each name to a one-line definition")
           for section in ("duties", "roles")
           if not isinstance(content, dict) or not isinstance(content.get(section), dict)]
    if bad:
        raise PackError(bad)
    vocabulary = Vocabulary(dict(content["duties"]), dict(content["roles"]))
    _remember(_VOCABULARIES, key, vocabulary)
    return vocabulary


def is_vocabulary(path: str | Path) -> bool:
    """True for a vocabulary file (protocols/vocabulary.yaml) rather than a pack."""
    return Path(path).name == "vocabulary.yaml"


def load_vocabulary(path: str | Path | None = None) -> Vocabulary:
    """Read protocols/vocabulary.yaml (or the file given)."""
    if path is None:
        path = _find_vocabulary(Path("protocols") / "x.yaml")
    if not isinstance(path, str | Path):
        raise wrong_type("load_vocabulary", "path", "a path (str or pathlib.Path)", path)
    return _vocabulary(_read_bytes(Path(path), "a vocabulary"), str(path))


def _pydantic_problems(document: _yaml.Document, error: ValidationError) -> list[Problem]:
    problems = []
    for item in error.errors(include_url=False):
        loc = _loc(item)
        message = item["msg"].removeprefix("Value error, ")
        kind = item["type"]
        given = item.get("input")
        if kind == "extra_forbidden":
            suggestion = _suggest.did_you_mean(loc[-1], _suggest.keys_at(PackSpec, loc[:-1]))
            message = f"'{loc[-1]}' is not a key here" + (suggestion or " (misspelt?); see docs/pack-format.md")
        elif kind == "missing":
            message = f"'{loc[-1]}' is required here"
            loc = loc[:-1]
        elif kind in ("enum", "literal_error"):
            allowed = _suggest.quoted(str(item.get("ctx", {}).get("expected", "")))
            message = f"{given!r} is not allowed here: {message.lower()}{_suggest.did_you_mean(given, allowed)}"
        elif loc[-1:] == ("due",) and ("is not a deadline" in message or "is not a duration" in message):
            message += _suggest.duration_suggestion(given, deadline=True)
        elif "is not a duration" in message:
            message += _suggest.duration_suggestion(given)
        at_value = kind not in ("extra_forbidden", "missing")
        problems.append(document.problem(loc, message, value=at_value))
    return problems


def _loc(item: Any) -> tuple[int | str, ...]:
    return tuple(part for part in item["loc"] if not str(part).startswith("function-"))


def validate_pack(path: str | Path) -> Pack:
    """Read, validate and compile a pack; raise PackError listing every problem with its place."""
    if not isinstance(path, str | Path):
        raise wrong_type("validate_pack", "path", "a path (str or pathlib.Path)", path)
    path = Path(path)
    data = _read_bytes(path, "a pack")
    vocabulary_path = _find_vocabulary(path)
    return _validate(data, path, _vocabulary(_read_bytes(vocabulary_path, "a vocabulary"), str(vocabulary_path)))


def _validate(data: bytes, path: Path, vocabulary: Vocabulary) -> Pack:
    try:
        text = _read.decode(data, str(path))
    except _read.BadInput as error:
        raise PackError([error.problem]) from None
    document, problems = _yaml.parse(text, str(path))
    if document is None:
        raise PackError(problems)
    if not isinstance(document.data, dict):
        raise PackError([*problems, Problem(str(path), 1, 1, "a pack must be a YAML mapping with "
                                                            "protocol, roles and rules")])
    try:
        spec = PackSpec.model_validate(document.data)
    except ValidationError as error:
        # Report the cross-references of every part that did validate too, so that one run shows everything.
        problems += _pydantic_problems(document, error) + _partial_problems(document, error, vocabulary)
        raise PackError(list(dict.fromkeys(problems))) from None
    pack, more = _compile(spec, document, vocabulary, str(path))
    problems += more
    if problems:
        raise PackError(list(dict.fromkeys(problems)))
    return pack


_EVENT_WORDS = ("found", "regraded", "reported")  # what may do a duty besides a duty kind (done_by)


class _Refs:
    """Cross-reference checks (the vocabulary, the pack's roles, rule ids, conditions), each problem with a
    suggestion where a close name exists. Used by the compile step, and by the checks on the parts of a pack
    that validated when other parts did not."""

    def __init__(self, doc: _yaml.Document, vocabulary: Vocabulary, roles: Mapping[str, Sequence[object]],
                 rule_ids: Sequence[str], localities: Sequence[str]) -> None:
        self.doc = doc
        self.vocabulary = vocabulary
        self.role_keys = frozenset(roles)
        # a role written by its canonical name or title instead of the pack's key: suggest the key
        self.role_names = {name: key for key, names in roles.items() for name in names if isinstance(name, str)}
        self.rule_ids = frozenset(rule_ids)
        self.localities = tuple(localities)
        self.problems: list[Problem] = []
        self.seen: set[str] = set()

    def add(self, path: Sequence[int | str], message: str, value: bool = True) -> None:
        self.problems.append(self.doc.problem(path, message, value))

    def unique(self, identifier: object, where: tuple[int | str, ...], what: str) -> None:
        if not isinstance(identifier, str):
            return
        if identifier in self.seen:
            self.add((*where, "id"), f"the {what}id '{identifier}' is used twice")
        self.seen.add(identifier)

    def canonical_role(self, role: str, where: tuple[int | str, ...]) -> None:
        if role not in self.vocabulary.roles:
            self.add(where, f"'{role}' is not a canonical role in protocols/vocabulary.yaml"
                            f"{_suggest.did_you_mean(role, self.vocabulary.roles)}")

    def duty(self, name: str, where: tuple[int | str, ...], message: str) -> None:
        if name not in self.vocabulary.duties:
            self.add(where, f"'{name}' is {message}{_suggest.did_you_mean(name, self.vocabulary.duties)}")

    def role(self, key: str, where: tuple[int | str, ...]) -> None:
        if key in self.role_keys:
            return
        suggestion = _suggest.did_you_mean(key, self.role_keys)
        if not suggestion:
            named = _suggest.did_you_mean(key, self.role_names)
            if named:
                name = _suggest.quoted(named)[0]
                suggestion = f"; did you mean '{self.role_names[name]}' ({name})?"
        self.add(where, f"'{key}' is not one of this pack's roles{suggestion}")

    def condition(self, raw: Any, where: tuple[int | str, ...]) -> Condition:
        condition, complaints = compile_condition(raw, where, self.localities)
        for path, message in complaints:
            self.add(path, _condition_suggestion(message), value=False)
        return condition

    def rule(self, fields: Mapping[str, Any], where: tuple[int | str, ...]) -> Condition:
        """Check one rule, given the typed values of its fields that validated; return its condition."""
        duty = fields.get("duty")
        if isinstance(duty, str):
            self.duty(duty, (*where, "duty"), "not a duty kind in protocols/vocabulary.yaml")
        condition = self.condition(fields.get("when"), (*where, "when"))
        clock = fields.get("clock")
        if isinstance(clock, ClockSpec):
            self.problems += _clock_problems(clock, self.doc, (*where, "clock"), self.vocabulary)
        for i, other in enumerate(fields.get("overrides") or ()):
            if other not in self.rule_ids or other == fields.get("id"):
                self.add((*where, "overrides", i), f"'{other}' is not another rule's id"
                                                   f"{_suggest.did_you_mean(other, self.rule_ids)}")
        for i, name in enumerate(fields.get("done_by") or ()):
            if name not in self.vocabulary.duties and name not in _EVENT_WORDS:
                known = [*self.vocabulary.duties, *_EVENT_WORDS]
                self.add((*where, "done_by", i), f"'{name}' is not a duty kind, 'reported', 'found' or 'regraded'"
                                                 f"{_suggest.did_you_mean(name, known)}")
        repeat = fields.get("repeat")
        if isinstance(repeat, RepeatSpec) and Duration.parse(repeat.every).unit is Unit.WORKING_DAYS:
            self.add((*where, "repeat", "every"), "a repeat cannot be counted in working days")
        for i, key in enumerate(fields.get("roles") or ()):
            self.role(key, (*where, "roles", i))
        for i, step in enumerate(fields.get("escalation") or ()):
            for j, key in enumerate(step.to if isinstance(step, EscalationSpec) else ()):
                self.role(key, (*where, "escalation", i, "to", j))
        return condition

    def check(self, fields: Mapping[str, Any], where: tuple[int | str, ...]) -> Condition:
        """Check one check (a finding), given the typed values of its fields that validated."""
        condition = self.condition(fields.get("when"), (*where, "when"))
        if "when" in fields and isinstance(condition, Always):
            self.add((*where, "when"), "a check needs a condition")
        return condition


def _condition_suggestion(message: str) -> str:
    """A complaint about a condition, with 'did you mean' for a misspelt fact or test."""
    fact = re.match(r"'(.+?)' is not a fact;", message)
    if fact:
        return message + _suggest.did_you_mean(fact.group(1), FACTS)
    test = re.match(r"'(.+?)' is not a test;", message)
    if test:
        return message + _suggest.did_you_mean(test.group(1), TESTS)
    return message


def _fields(spec: BaseModel) -> dict[str, Any]:
    return {name: getattr(spec, name) for name in type(spec).model_fields}


def _compile(spec: PackSpec, doc: _yaml.Document, vocabulary: Vocabulary,
             path: str) -> tuple[Pack, list[Problem]]:
    refs = _Refs(doc, vocabulary, {key: (role.role, role.title) for key, role in spec.roles.items()},
                 [rule.id for rule in spec.rules], list(spec.protocol.localities))

    roles: dict[str, Role] = {}
    for key, role in spec.roles.items():
        refs.canonical_role(role.role, ("roles", key, "role"))
        roles[key] = Role(key, role.title, role.role)

    def role_refs(keys: Sequence[str]) -> tuple[Role, ...]:
        return tuple(roles[key] for key in keys if key in roles)  # an unknown key is reported by refs.rule

    rules = []
    uses_locality = False
    for index, raw in enumerate(spec.rules):
        where: tuple[int | str, ...] = ("rules", index)
        refs.unique(raw.id, where, "rule ")
        condition = refs.rule(_fields(raw), where)
        uses_locality |= "child.locality" in condition.facts_read()
        done_by = raw.done_by if raw.done_by is not None else (raw.duty,)
        rules.append(Rule(
            id=raw.id, refs=raw.refs, duty=raw.duty, title=raw.title, episodes=frozenset(raw.episodes),
            when=condition, clock=_clock(raw.clock), deadline=Deadline.parse(raw.due),
            stands_down_when_found=raw.stands_down_when_found,
            counts_earlier_events=raw.counts_earlier_events,
            roles=role_refs(raw.roles),
            escalation=tuple(EscalationStep(Duration.parse(step.after), role_refs(step.to), step.action)
                             for step in raw.escalation),
            source=Source.of(raw.source), also_cites=tuple(Source.of(c) for c in raw.also_cites),
            interpretation=raw.interpretation,
            overrides=raw.overrides, done_by=frozenset(done_by),
            repeat=None if raw.repeat is None else Repeat(
                Duration.parse(raw.repeat.every),
                None if raw.repeat.until is None else Duration.parse(raw.repeat.until),
                raw.repeat.count, raw.repeat.while_missing),
            facts_read=condition.facts_read(),
            applies=condition.predicate(),
            after_elapsed=None if raw.clock.after is None else Duration.parse(raw.clock.after).elapsed,
            due_elapsed=_elapsed_deadline(raw.due),
        ))

    checks = []
    for index, raw_check in enumerate(spec.checks):
        where = ("checks", index)
        refs.unique(raw_check.id, where, "")
        condition = refs.check(_fields(raw_check), where)
        checks.append(Check(raw_check.id, raw_check.refs, raw_check.finding,
                            None if raw_check.episodes is None else frozenset(raw_check.episodes),
                            condition, Source.of(raw_check.source), raw_check.interpretation,
                            tuple(Source.of(c) for c in raw_check.also_cites)))

    office = _office_hours(spec.office_hours)
    if office.opens >= office.closes:
        refs.add(("office_hours", "closes"), "closing time must be after opening time")
    pack = Pack(spec=spec, path=path, office_hours=office, roles=roles, rules=tuple(rules),
                checks=tuple(checks), authorities=frozenset(a.strip().lower() for a in spec.protocol.authorities),
                vocabulary=vocabulary, uses_locality=uses_locality,
                rules_by_kind={kind: tuple(r for r in rules if kind in r.episodes) for kind in EpisodeKind})
    return pack, refs.problems


def _office_hours(hours: OfficeHoursSpec) -> OfficeHours:
    return OfficeHours(frozenset(WEEKDAYS.index(day) for day in hours.days),
                       time.fromisoformat(hours.opens.zfill(5)), time.fromisoformat(hours.closes.zfill(5)))


_ADAPTERS: dict[tuple[type[BaseModel], str], TypeAdapter[Any]] = {}


def _valid_fields(model: type[BaseModel], raw: Mapping[str, Any], where: tuple[int | str, ...],
                  bad: Callable[[tuple[int | str, ...]], bool]) -> dict[str, Any]:
    """The typed values of the fields of `raw` (a `model` as written) that validated, and the defaults of
    those not written; a list of models keeps its good items (None for the others) so positions hold."""
    fields: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        key = info.alias or name
        if key not in raw:
            if not info.is_required():
                fields[name] = info.get_default(call_default_factory=True)
            continue
        value = raw[key]
        item = _item_model(info.annotation)
        if bad((*where, key)) and not (item is not None and isinstance(value, list)):
            continue
        if item is not None and isinstance(value, list):
            fields[name] = [_valid_or_none(item, v) if not bad((*where, key, i)) else None
                            for i, v in enumerate(value)]
            continue
        adapter = _ADAPTERS.get((model, name))
        if adapter is None:
            adapter = _ADAPTERS[(model, name)] = TypeAdapter(Any if info.annotation is None else info.annotation)
        try:
            fields[name] = adapter.validate_python(value)
        except ValidationError:  # valid in the model's context only; leave it unchecked
            continue
    return fields


def _valid_or_none(model: type[BaseModel], value: Any) -> BaseModel | None:
    try:
        return model.model_validate(value)
    except ValidationError:
        return None


def _item_model(annotation: Any) -> type[BaseModel] | None:
    """X for an annotation tuple[X, ...] where X is a model, else None."""
    args = getattr(annotation, "__args__", ())
    if getattr(annotation, "__origin__", None) is tuple and args and isinstance(args[0], type) \
            and issubclass(args[0], BaseModel):
        return args[0]
    return None


def _partial_problems(doc: _yaml.Document, error: ValidationError, vocabulary: Vocabulary) -> list[Problem]:
    """The compile-level checks of a pack that did not validate, on every part that did: a bad deadline in
    one rule, an unknown role in another and a misspelt fact in a third are all reported in one run."""
    data: dict[Any, Any] = doc.data
    errors = [_loc(item) for item in error.errors(include_url=False)]

    def bad(prefix: tuple[int | str, ...]) -> bool:
        return any(loc[:len(prefix)] == prefix for loc in errors)

    def mapping(value: Any) -> dict[Any, Any]:
        return value if isinstance(value, dict) else {}

    def listed(value: Any) -> list[Any]:
        return value if isinstance(value, list) else []

    roles_raw = mapping(data.get("roles"))
    rules_raw = listed(data.get("rules"))
    localities = mapping(mapping(data.get("protocol")).get("localities"))
    rule_ids = [r["id"] for r in rules_raw if isinstance(r, dict) and isinstance(r.get("id"), str)]
    role_names = {key: (mapping(raw).get("role"), mapping(raw).get("title")) for key, raw in roles_raw.items()
                  if isinstance(key, str)}
    refs = _Refs(doc, vocabulary, role_names, rule_ids, [k for k in localities if isinstance(k, str)])
    for key, raw_role in roles_raw.items():
        role = mapping(raw_role).get("role")
        if isinstance(role, str) and not bad(("roles", key, "role")):
            refs.canonical_role(role, ("roles", key, "role"))
    for section, model, check in (("rules", RuleSpec, refs.rule), ("checks", CheckSpec, refs.check)):
        for index, raw in enumerate(listed(data.get(section))):
            if not isinstance(raw, dict):
                continue
            where: tuple[int | str, ...] = (section, index)
            refs.unique(raw.get("id"), where, "rule " if section == "rules" else "")
            check(_valid_fields(model, raw, where, bad), where)
    hours = data.get("office_hours")
    if isinstance(hours, dict) and not bad(("office_hours",)):
        office = _office_hours(OfficeHoursSpec.model_validate(hours))
        if office.opens >= office.closes:
            refs.add(("office_hours", "closes"), "closing time must be after opening time")
    return refs.problems


def _clock_problems(clock: ClockSpec, doc: _yaml.Document, where: tuple[int | str, ...],
                    vocabulary: Vocabulary) -> list[Problem]:
    problems = []
    needs = {ClockFrom.RISK_GRADED: ("levels",), ClockFrom.DUTY_DONE: ("duty",),
             ClockFrom.EPISODE_COUNT: ("count",)}.get(clock.from_, ())
    only = {"levels": ClockFrom.RISK_GRADED, "duty": ClockFrom.DUTY_DONE, "count": ClockFrom.EPISODE_COUNT,
            "within": ClockFrom.EPISODE_COUNT, "retrigger": ClockFrom.EPISODE_COUNT}
    for key in needs:
        if getattr(clock, key) is None:
            problems.append(doc.problem(where, f"a clock from '{clock.from_}' needs '{key}'"))
    for key, start in only.items():
        if getattr(clock, key) is not None and clock.from_ is not start:
            problems.append(doc.problem((*where, key), f"'{key}' only goes with a clock from '{start}'"))
    if clock.duty is not None and clock.duty not in vocabulary.duties:
        problems.append(doc.problem((*where, "duty"), f"'{clock.duty}' is not a duty kind"
                                                      f"{_suggest.did_you_mean(clock.duty, vocabulary.duties)}"))
    if clock.within is not None and Duration.parse(clock.within).unit is Unit.WORKING_DAYS:
        problems.append(doc.problem((*where, "within"), "a rolling window cannot be counted in working days"))
    return problems


def _elapsed_deadline(due: str) -> timedelta | None:
    within = Deadline.parse(due).within
    return None if within is None else within.elapsed


def _clock(spec: ClockSpec) -> Clock:
    return Clock(
        start=spec.from_,
        after=None if spec.after is None else Duration.parse(spec.after),
        if_still_missing=spec.if_still_missing,
        levels=frozenset(spec.levels or ()),
        duty=spec.duty,
        count=spec.count or 0,
        within=None if spec.within is None else Duration.parse(spec.within),
        retrigger_each_episode=spec.retrigger == "each_episode",
    )


def load_protocol(name_or_path: str | Path) -> Pack:
    """Load and compile a pack by name (`dorset`) or path. Compiled packs are cached within the process by
    the content of the pack and of its vocabulary: loading an unchanged pack again costs a read and a hash."""
    path = resolve_protocol(name_or_path)
    data = _read_bytes(path, "a pack")
    vocabulary_path = _find_vocabulary(path)
    vocabulary_data = _read_bytes(vocabulary_path, "a vocabulary")
    content = (_digest(data), _digest(vocabulary_data))
    key = (*content, str(path))
    pack: Pack | None = _recall(_COMPILED, key)
    if pack is None:
        with _CACHE_LOCK:
            same = next((p for k, p in _COMPILED.items() if k[:2] == content), None)
        # the same content under another path: the compiled pack is reused, with its own path
        pack = _validate(data, path, _vocabulary(vocabulary_data, str(vocabulary_path))) if same is None else \
            dataclasses.replace(same, path=str(path))
        _remember(_COMPILED, key, pack)
    return pack
