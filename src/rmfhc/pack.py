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

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from . import _read, _suggest, _yaml
from .conditions import FACTS, TESTS, TIMED_FACTS, Always, Condition, compile_condition
from .dates import WEEKDAYS, Duration, OfficeHours, Unit
from .errors import PackError, Problem, wrong_type
from .models import EpisodeKind, RiskLevel

# ---------------------------------------------------------------------------------------------------------
# The format as written (pydantic models of the YAML). Strings such as durations are checked here.


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


_ID = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_CLOCK = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
# Phrases that set no exact limit: each pack states how long it reads each one as allowing (`readings`).
PHRASES = ("immediately", "without delay", "as soon as possible", "as soon as practicable")
_DEADLINE = re.compile(
    r"^(immediately|without delay|as soon as (?:possible|practicable)|next working day|within (.+))$")


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


class ReadingSpec(_Spec):
    """How long the pack reads a phrase such as "without delay" as allowing, and why."""

    allows: str
    interpretation: str = Field(min_length=10)

    _allows = field_validator("allows")(lambda v: _duration(v))


class EpisodeKindSpec(_Spec):
    """How the pack treats one kind of episode: whether it is counted as a missing episode, and in words."""

    counted: bool | dict[str, Any]
    treatment: str = Field(min_length=10)


class HolderSpec(_Spec):
    """A role that holds (or is told of) a duty only for some children: `{role: foster_carer, when: ...}`."""

    role: str
    when: Any


RoleEntry = str | HolderSpec


class OnReturn(enum.StrEnum):
    """What a duty not yet done becomes when the child is found (docs/pack-format.md, "On return")."""

    CONTINUES = "continues"  # still required: due, then overdue
    STANDS_DOWN = "stands_down"  # the document says it lapses: stood down, or missed if it was already overdue
    MISSED = "missed"  # it could only be done while the child was missing: missed


class ClockFrom(enum.StrEnum):
    LAST_SEEN = "last_seen"
    NOTICED = "noticed"
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
    outcome: Literal["done", "declined"] | None = None
    count: int | None = Field(default=None, ge=1)
    within: str | None = None
    retrigger: Literal["each_episode", "once_per_window"] | None = None
    counts: Any = None
    at_time_of_day: str | None = None

    _after = field_validator("after", "within")(lambda v: None if v is None else _duration(v))

    @field_validator("at_time_of_day")
    @classmethod
    def _time_of_day(cls, value: str | None) -> str | None:
        if value is not None and not _CLOCK.match(value):
            raise ValueError(f"'{value}' is not a time of day; write it as \"02:00\" (in quotes)")
        return value


class RepeatSpec(_Spec):
    every: str
    from_: Literal["first", "previous"] = Field(default="first", alias="from")
    until: str | None = None
    until_done: str | None = None
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
    allows: str | None = None
    on_return: OnReturn = OnReturn.CONTINUES
    can_be_declined: bool = False
    counts_earlier_events: bool = False
    events_from: Literal["clock", "required"] = "clock"
    roles: tuple[RoleEntry, ...] = Field(min_length=1)
    recipients: tuple[RoleEntry, ...] = ()
    escalation: tuple[EscalationSpec, ...] = ()
    source: Citation
    also_cites: tuple[Citation, ...] = ()
    interpretation: str | None = None
    overrides: tuple[str, ...] = ()
    done_by: tuple[str, ...] | None = None
    repeat: RepeatSpec | None = None

    _allows = field_validator("allows")(lambda v: None if v is None else _duration(v))

    @model_validator(mode="before")
    @classmethod
    def _renamed_keys(cls, data: Any) -> Any:
        if isinstance(data, dict) and "stands_down_when_found" in data:
            raise ValueError("'stands_down_when_found' is now 'on_return: stands_down' (or 'missed' where the "
                             "duty is no longer possible once the child is found); see docs/pack-format.md")
        return data

    @field_validator("due")
    @classmethod
    def _due(cls, value: str) -> str:
        match = _DEADLINE.match(value.strip().lower())
        if match is None:
            raise ValueError(f"'{value}' is not a deadline; write 'immediately', 'without delay', 'as soon as "
                             "possible', 'next working day' or 'within N unit' (such as 'within 24 hours')")
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
    readings: dict[Literal["immediately", "without delay", "as soon as possible", "as soon as practicable"],
                   ReadingSpec] = Field(default_factory=dict)
    episode_kinds: dict[EpisodeKind, EpisodeKindSpec] = Field(default_factory=dict)
    roles: dict[str, RoleSpec]
    rules: tuple[RuleSpec, ...] = Field(min_length=1)
    checks: tuple[CheckSpec, ...] = ()
    not_encoded: tuple[NotEncodedSpec, ...] = ()


# ---------------------------------------------------------------------------------------------------------
# The compiled form used by evaluation.

PSEUDO_EVENTS = ("reported", "found", "regraded")  # `done_by` entries that are moments of the episode, not events

# Without `episode_kinds` in a pack, these kinds count as missing episodes; an absence at a known location and
# a school absence do not.
DEFAULT_COUNTED = frozenset({EpisodeKind.MISSING, EpisodeKind.MISSING_WITH_FAMILY, EpisodeKind.ABSCONDED})


class DeadlineKind(enum.StrEnum):
    WITHIN = "within"  # a stated time limit: within 24 hours, within 3 working days
    NEXT_WORKING_DAY = "next working day"  # close of the next working day on which the office opens
    PHRASE = "phrase"  # immediately, without delay, as soon as possible: the pack states what it allows


@dataclass(frozen=True, slots=True)
class Deadline:
    """When a duty is due, relative to when it became required.

    For a phrase with no exact limit ("immediately", "as soon as possible"), `within` is what the pack reads it
    as allowing and `reading` says why, in the pack's words.
    """

    kind: DeadlineKind
    within: Duration | None = None
    text: str = ""
    reading: str | None = None

    def describe(self) -> str:
        """The deadline in words, with the allowance a phrase is read as: 'immediately (allows 1 hour)'."""
        if self.kind is DeadlineKind.PHRASE:
            return f"{self.text} (read as within {self.within})"
        return self.text

    @classmethod
    def parse(cls, text: str, readings: Mapping[str, tuple[Duration, str]] | None = None,
              allows: Duration | None = None, why: str | None = None) -> Deadline:
        """Read a `due` phrase; a phrase takes its allowance from `allows` or the pack's `readings`."""
        words = " ".join(text.strip().lower().split())
        if words == "next working day":
            return cls(DeadlineKind.NEXT_WORKING_DAY, None, words)
        if words in PHRASES:
            if allows is not None:
                return cls(DeadlineKind.PHRASE, allows, words, why)
            within, reading = (readings or {}).get(words, (None, None))
            return cls(DeadlineKind.PHRASE, within, words, reading)
        return cls(DeadlineKind.WITHIN, Duration.parse(words.removeprefix("within ")), words)


@dataclass(frozen=True, slots=True)
class Role:
    """A duty holder: the pack's key, its local title and its canonical role."""

    key: str
    title: str
    role: str
    _hash: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Results are written by looking up cached text by role; hashing three strings each time adds up.
        object.__setattr__(self, "_hash", hash((self.key, self.title, self.role)))

    def __hash__(self) -> int:
        return self._hash


@dataclass(frozen=True, slots=True)
class Source:
    """The clause a rule or check comes from: section and verbatim quote."""

    section: str
    quote: str
    _hash: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_hash", hash((self.section, self.quote)))

    def __hash__(self) -> int:
        return self._hash

    @classmethod
    def of(cls, citation: Citation) -> Source:
        return cls(citation.section, citation.quote)


@dataclass(frozen=True, slots=True)
class Holder:
    """A role on a rule, with the condition under which it applies to a child (None: every child)."""

    role: Role
    when: Condition | None = None
    applies: Callable[[Mapping[str, Any]], bool] | None = None


# Facts of the child that do not change from one episode to the next (age does: it is read at each episode).
CHILD_CONSTANT_FACTS = frozenset(f for f in FACTS if f.startswith("child.")) - {"child.age", "child.looked_after_days"}


def fitted(holders: tuple[Holder, ...], facts: Mapping[str, Any]) -> tuple[Role, ...]:
    """The roles of `holders` that apply to a child with these facts."""
    return tuple(h.role for h in holders if h.applies is None or h.applies(facts))


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
    counts: Condition | None = None  # which episodes an episode_count clock counts (None: the pack's counted)
    outcome: str = "done"  # for a duty_done clock: started by the duty done, or by its being declined
    time_of_day: time | None = None  # required at the next time the London clock shows this, after the start


@dataclass(frozen=True, slots=True)
class Repeat:
    every: Duration
    until: Duration | None
    count: int | None
    while_missing: bool
    from_previous: bool = False  # each occurrence counted from when the previous one was done
    until_done: str | None = None  # no occurrence is required after an event of this kind


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
    on_return: OnReturn
    can_be_declined: bool
    counts_earlier_events: bool
    events_from_required: bool
    holders: tuple[Holder, ...]
    recipients: tuple[Holder, ...]
    escalation: tuple[EscalationStep, ...]
    source: Source
    also_cites: tuple[Source, ...]
    interpretation: str | None
    overrides: tuple[str, ...]
    done_by: frozenset[str]  # duty kinds (and `reported`, `found`, `regraded`) that do this duty
    exclusive: bool  # no `done_by` written: an event of the rule's kind does one duty, not every duty of its kind
    repeat: Repeat | None
    facts_read: tuple[str, ...]
    applies: Callable[[Mapping[str, Any]], bool]  # `when` compiled to a closure
    timed: bool = False  # `when` reads facts that become known at a moment (gradings, concerns)
    allows_text: str | None = None  # for a phrase deadline, the allowance in words ("1 hour")
    after_elapsed: timedelta | None = None  # clock.after as elapsed time, when it is hours or minutes
    due_elapsed: timedelta | None = None  # the deadline as elapsed time, when it is hours or minutes
    # The holders and recipients when none depends on the child (most rules), worked out once.
    fixed_holders: tuple[Role, ...] | None = None
    fixed_recipients: tuple[Role, ...] | None = None
    # Whether who holds and who is told depends only on facts that are the same in every episode of a child,
    # so that an evaluation works them out once per child.
    holders_by_child: bool = True
    # Whether the conditions read only facts that every episode of a child shares (decided once per child).
    when_by_child: bool = False

    @property
    def roles(self) -> tuple[Role, ...]:
        """Every role that may hold this duty, whatever the child."""
        return tuple(h.role for h in self.holders)

    def holders_for(self, facts: Mapping[str, Any]) -> tuple[Role, ...]:
        """Who holds this duty for a child with these facts."""
        fixed = self.fixed_holders
        return fixed if fixed is not None else fitted(self.holders, facts)


    def recipients_for(self, facts: Mapping[str, Any]) -> tuple[Role, ...]:
        """Who must be told, for a child with these facts."""
        fixed = self.fixed_recipients
        return fixed if fixed is not None else fitted(self.recipients, facts)


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
    # Which episodes are missing episodes, counted by `episode.number` and `episode_count` clocks: per kind,
    # True, False or a condition on the episode's facts (Pan Cheshire counts absconders under 16).
    counted: dict[EpisodeKind, bool | Callable[[Mapping[str, Any]], bool]] = field(default_factory=dict)
    content_hash: str = ""  # sha256 of the pack file's text, recorded in every evaluation

    def __post_init__(self) -> None:
        object.__setattr__(self, "rules_by_id", {rule.id: rule for rule in self.rules})
        object.__setattr__(self, "checks_by_id", {check.id: check for check in self.checks})

    rules_by_id: dict[str, Rule] = field(init=False, repr=False, compare=False)
    checks_by_id: dict[str, Check] = field(init=False, repr=False, compare=False)

    @property
    def id(self) -> str:
        return self.spec.protocol.id

    def is_counted(self, kind: EpisodeKind, facts: Mapping[str, Any]) -> bool:
        """True if an episode of this kind, with these facts, counts as a missing episode in this pack."""
        counted = self.counted.get(kind, kind in DEFAULT_COUNTED)
        return counted if isinstance(counted, bool) else counted(facts)

    @property
    def meta(self) -> ProtocolMeta:
        return self.spec.protocol

    def rule(self, rule_id: str) -> Rule:
        """The rule with this id; KeyError naming it if there is none."""
        try:
            return self.rules_by_id[rule_id]
        except KeyError:
            raise KeyError(f"pack '{self.id}' has no rule '{rule_id}'") from None


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
    pack, more = _compile(spec, document, vocabulary, str(path), hashlib.sha256(data).hexdigest())
    problems += more
    if problems:
        raise PackError(list(dict.fromkeys(problems)))
    return pack


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
            if name not in self.vocabulary.duties and name not in PSEUDO_EVENTS:
                known = [*self.vocabulary.duties, *PSEUDO_EVENTS]
                self.add((*where, "done_by", i), f"'{name}' is not a duty kind, 'reported', 'found' or 'regraded'"
                                                 f"{_suggest.did_you_mean(name, known)}")
        repeat = fields.get("repeat")
        if isinstance(repeat, RepeatSpec) and Duration.parse(repeat.every).unit is Unit.WORKING_DAYS:
            self.add((*where, "repeat", "every"), "a repeat cannot be counted in working days")
        for section in ("roles", "recipients"):
            for i, entry in enumerate(fields.get(section) or ()):
                if isinstance(entry, str):
                    self.role(entry, (*where, section, i))
                elif isinstance(entry, HolderSpec):
                    self.role(entry.role, (*where, section, i, "role"))
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


class _Compiler:
    """Compiles a validated PackSpec into a Pack, collecting every problem with its place in the file."""

    def __init__(self, spec: PackSpec, doc: _yaml.Document, vocabulary: Vocabulary) -> None:
        self.spec, self.doc, self.vocabulary = spec, doc, vocabulary
        # The cross-reference checks, with "did you mean", are the ones a pack that did not validate gets too.
        self.refs = _Refs(doc, vocabulary, {key: (role.role, role.title) for key, role in spec.roles.items()},
                          [rule.id for rule in spec.rules], list(spec.protocol.localities))
        self.problems = self.refs.problems
        self.roles: dict[str, Role] = {}
        self.uses_locality = False

    def problem(self, where: tuple[int | str, ...], message: str, value: bool = True) -> None:
        self.refs.add(where, message, value)

    def condition(self, raw: Any, where: tuple[int | str, ...]) -> Condition:
        condition = self.refs.condition(raw, where)
        self.uses_locality |= "child.locality" in condition.facts_read()
        return condition

    def role(self, key: str, where: tuple[int | str, ...]) -> Role | None:
        """The role a key names; an unknown key is reported once, by `_Refs.rule`."""
        return self.roles.get(key)

    def holders(self, entries: Sequence[RoleEntry], where: tuple[int | str, ...]) -> tuple[Holder, ...]:
        found = []
        for i, entry in enumerate(entries):
            if isinstance(entry, str):
                role = self.role(entry, (*where, i))
                if role is not None:
                    found.append(Holder(role))
                continue
            role = self.role(entry.role, (*where, i, "role"))
            condition = self.condition(entry.when, (*where, i, "when"))
            if isinstance(condition, Always):
                self.problem((*where, i), "a role with `when` needs a condition; write the key alone otherwise")
            if role is not None:
                found.append(Holder(role, condition, condition.predicate()))
        return tuple(found)

    def readings(self) -> dict[str, tuple[Duration, str]]:
        return {phrase: (Duration.parse(r.allows), r.interpretation) for phrase, r in self.spec.readings.items()}

    def deadline(self, raw: RuleSpec, where: tuple[int | str, ...],
                 readings: Mapping[str, tuple[Duration, str]]) -> Deadline:
        allows = None if raw.allows is None else Duration.parse(raw.allows)
        deadline = Deadline.parse(raw.due, readings, allows, raw.interpretation)
        if deadline.kind is DeadlineKind.PHRASE and deadline.within is None:
            self.problem((*where, "due"), f"'{deadline.text}' sets no exact limit: say how long this pack reads "
                                          f"it as allowing, with `allows:` on the rule or under `readings:`")
        if raw.allows is not None and deadline.kind is not DeadlineKind.PHRASE:
            self.problem((*where, "allows"), f"`allows` is for phrases such as 'as soon as possible'; "
                                             f"'{raw.due}' already states its limit")
        return deadline

    def rule(self, index: int, raw: RuleSpec, rule_ids: list[str],
             readings: Mapping[str, tuple[Duration, str]]) -> Rule:
        where: tuple[int | str, ...] = ("rules", index)
        condition = self.refs.rule(_fields(raw), where)  # duty, conditions, clock, overrides, done_by, roles
        self.uses_locality |= "child.locality" in condition.facts_read()
        done_by = raw.done_by if raw.done_by is not None else (raw.duty,)
        repeat = raw.repeat
        if repeat is not None and repeat.until_done is not None:
            self.refs.duty(repeat.until_done, (*where, "repeat", "until_done"), "not a duty kind")
        if raw.events_from == "required" and raw.counts_earlier_events:
            self.problem((*where, "events_from"), "events from when the duty is required cannot also count "
                                                  "earlier events")
        if raw.can_be_declined and raw.done_by is not None and raw.duty not in raw.done_by:
            self.problem((*where, "can_be_declined"), "only a duty done by an event of its own kind can be declined")
        counts = None
        if raw.clock.counts is not None:
            counts = self.condition(raw.clock.counts, (*where, "clock", "counts"))
        clock = _clock(raw.clock, counts)
        deadline = self.deadline(raw, where, readings)
        return Rule(
            id=raw.id, refs=raw.refs, duty=raw.duty, title=raw.title, episodes=frozenset(raw.episodes),
            when=condition, clock=clock, deadline=deadline, on_return=raw.on_return,
            can_be_declined=raw.can_be_declined, counts_earlier_events=raw.counts_earlier_events,
            events_from_required=raw.events_from == "required",
            holders=(holders := self.holders(raw.roles, (*where, "roles"))),
            recipients=(recipients := self.holders(raw.recipients, (*where, "recipients"))),
            fixed_holders=_fixed(holders), fixed_recipients=_fixed(recipients),
            holders_by_child=all(h.when is None or set(h.when.facts_read()) <= CHILD_CONSTANT_FACTS
                                 for h in (*holders, *recipients)),
            escalation=tuple(
                EscalationStep(Duration.parse(step.after),
                               tuple(r for j, key in enumerate(step.to)
                                     if (r := self.role(key, (*where, "escalation", i, "to", j))) is not None),
                               step.action)
                for i, step in enumerate(raw.escalation)),
            source=Source.of(raw.source), also_cites=tuple(Source.of(c) for c in raw.also_cites),
            interpretation=raw.interpretation, overrides=raw.overrides, done_by=frozenset(done_by),
            exclusive=raw.done_by is None,
            repeat=None if repeat is None else Repeat(
                Duration.parse(repeat.every), None if repeat.until is None else Duration.parse(repeat.until),
                repeat.count, repeat.while_missing, repeat.from_ == "previous", repeat.until_done),
            facts_read=condition.facts_read(), applies=condition.predicate(),
            when_by_child=set(condition.facts_read()) <= CHILD_CONSTANT_FACTS,
            timed=bool(TIMED_FACTS.intersection(condition.facts_read())),
            allows_text=str(deadline.within) if deadline.kind is DeadlineKind.PHRASE else None,
            after_elapsed=None if clock.after is None else clock.after.elapsed,
            due_elapsed=deadline.within.elapsed if deadline.within is not None else None,
        )

    def check(self, index: int, raw: CheckSpec) -> Check:
        where = ("checks", index)
        condition = self.refs.check(_fields(raw), where)
        self.uses_locality |= "child.locality" in condition.facts_read()
        return Check(raw.id, raw.refs, raw.finding, None if raw.episodes is None else frozenset(raw.episodes),
                     condition, Source.of(raw.source), raw.interpretation,
                     tuple(Source.of(c) for c in raw.also_cites))

    def counted(self) -> dict[EpisodeKind, bool | Callable[[Mapping[str, Any]], bool]]:
        counted: dict[EpisodeKind, bool | Callable[[Mapping[str, Any]], bool]] = {}
        for kind, entry in self.spec.episode_kinds.items():
            if isinstance(entry.counted, bool):
                counted[kind] = entry.counted
            else:
                condition = self.condition(entry.counted, ("episode_kinds", kind.value, "counted"))
                if "episode.number" in condition.facts_read():
                    self.problem(("episode_kinds", kind.value, "counted"),
                                 "whether an episode is counted cannot depend on episode.number")
                counted[kind] = condition.predicate()
        return counted

    def compile(self, path: str, content_hash: str) -> Pack:
        spec = self.spec
        for key, role in spec.roles.items():
            self.refs.canonical_role(role.role, ("roles", key, "role"))
            self.roles[key] = Role(key, role.title, role.role)
        readings = self.readings()
        rule_ids = [rule.id for rule in spec.rules]
        rules = []
        for index, raw in enumerate(spec.rules):
            self.refs.unique(raw.id, ("rules", index), "rule ")
            rules.append(self.rule(index, raw, rule_ids, readings))
        checks = []
        for index, raw_check in enumerate(spec.checks):
            self.refs.unique(raw_check.id, ("checks", index), "")
            checks.append(self.check(index, raw_check))
        office = _office_hours(spec.office_hours)
        if office.opens >= office.closes:
            self.problem(("office_hours", "closes"), "closing time must be after opening time")
        if not office.weekdays:
            self.problem(("office_hours", "days"), "name at least one day on which the office is open")
        counted = self.counted()
        return Pack(spec=spec, path=path, office_hours=office, roles=self.roles, rules=tuple(rules),
                    checks=tuple(checks), authorities=frozenset(a.strip().lower() for a in spec.protocol.authorities),
                    vocabulary=self.vocabulary, uses_locality=self.uses_locality,
                    rules_by_kind={kind: tuple(r for r in rules if kind in r.episodes) for kind in EpisodeKind},
                    counted=counted, content_hash=content_hash)


def _fixed(holders: tuple[Holder, ...]) -> tuple[Role, ...] | None:
    return None if any(h.applies is not None for h in holders) else tuple(h.role for h in holders)


def unused_roles(pack: Pack) -> list[str]:
    """Role keys the pack declares that no rule names as holder, recipient or escalation target."""
    used = {h.role.key for rule in pack.rules for h in (*rule.holders, *rule.recipients)}
    used |= {role.key for rule in pack.rules for step in rule.escalation for role in step.to}
    return [key for key in pack.roles if key not in used]


def _compile(spec: PackSpec, doc: _yaml.Document, vocabulary: Vocabulary,
             path: str, content_hash: str = "") -> tuple[Pack, list[Problem]]:
    compiler = _Compiler(spec, doc, vocabulary)
    pack = compiler.compile(path, content_hash)
    return pack, compiler.problems


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
            "within": ClockFrom.EPISODE_COUNT, "retrigger": ClockFrom.EPISODE_COUNT,
            "counts": ClockFrom.EPISODE_COUNT, "outcome": ClockFrom.DUTY_DONE}
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


def _clock(spec: ClockSpec, counts: Condition | None) -> Clock:
    return Clock(
        start=spec.from_,
        after=None if spec.after is None else Duration.parse(spec.after),
        if_still_missing=spec.if_still_missing,
        levels=frozenset(spec.levels or ()),
        duty=spec.duty,
        count=spec.count or 0,
        within=None if spec.within is None else Duration.parse(spec.within),
        retrigger_each_episode=spec.retrigger == "each_episode",
        counts=counts,
        time_of_day=None if spec.at_time_of_day is None else time.fromisoformat(spec.at_time_of_day.zfill(5)),
        outcome=spec.outcome or "done",
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
