"""The pack format as written: pydantic models of the YAML (docs/pack-format.md), which check durations,
deadline phrases, identifiers and the shape of every key; cross-references are checked when compiling."""

from __future__ import annotations

import enum
import re
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from ..dates import Duration
from ..models import EpisodeKind, RiskLevel


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

