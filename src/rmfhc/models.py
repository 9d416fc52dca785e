"""A child's missing-episode history: the input of an evaluation.

Every timestamp must carry a UTC offset. Ages are never stored: they are computed from the date of birth at
the instant that matters. See docs/history-format.md.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from itertools import pairwise
from pathlib import Path
from typing import Any, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, model_validator

from . import _read
from .dates import without_offset
from .errors import HistoryError, wrong_type


class LegalBasis(enum.StrEnum):
    SECTION_20 = "section_20"
    CARE_ORDER = "care_order"
    INTERIM_CARE_ORDER = "interim_care_order"
    REMANDED = "remanded"
    NONE = "none"


class PlacementType(enum.StrEnum):
    HOME = "home"
    FOSTER = "foster"
    CHILDRENS_HOME = "childrens_home"
    SEMI_INDEPENDENT = "semi_independent"
    PLACED_WITH_PARENTS = "placed_with_parents"
    OTHER = "other"


class EpisodeKind(enum.StrEnum):
    MISSING = "missing"
    AWAY_FROM_PLACEMENT = "away_from_placement"
    ABSCONDED = "absconded"
    MISSING_WITH_FAMILY = "missing_with_family"
    MISSING_FROM_EDUCATION = "missing_from_education"


class RiskLevel(enum.StrEnum):
    NO_APPARENT_RISK = "no_apparent_risk"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


RISK_ORDER = {RiskLevel.NO_APPARENT_RISK: 0, RiskLevel.LOW: 1, RiskLevel.MEDIUM: 2, RiskLevel.HIGH: 3}


class Outcome(enum.StrEnum):
    DONE = "done"
    DECLINED = "declined"


class ReturnedBy(enum.StrEnum):
    """How the child came back: found by the police, returned by a carer or parent, or of their own accord."""

    POLICE = "police"
    CARER = "carer"
    OWN_ACCORD = "own_accord"
    OTHER = "other"


class ConcernKind(enum.StrEnum):
    """Something that becomes known during or after an episode, at a moment of its own."""

    SIGNIFICANT_HARM = "significant_harm"  # suffered, or believed to have suffered, significant harm while missing
    RISK_OF_SIGNIFICANT_HARM = "risk_of_significant_harm"  # concerns the child is at risk of significant harm
    HARM_DISCLOSED_ON_RETURN = "harm_disclosed_on_return"  # on return: harmed, a victim of crime, or in danger
    EXPLOITATION = "exploitation"  # a concern of sexual or criminal exploitation arising in this episode
    TRAFFICKING = "trafficking"  # a concern that the child is being trafficked
    REMOVED_FROM_UK = "removed_from_uk"  # believed to have been taken out of the United Kingdom


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Placement(_Model):
    """Where a child in care lives, who placed them there, and how far from the placing authority."""

    type: PlacementType = PlacementType.HOME
    placing_authority: str | None = None
    host_authority: str | None = None
    distance_miles: float | None = Field(default=None, ge=0)
    started_at: AwareDatetime | None = None


class Child(_Model):
    """The child: legal status, placement and risk flags."""

    id: str | None = None
    date_of_birth: date
    looked_after: bool = False
    legal_basis: LegalBasis = LegalBasis.NONE
    child_protection_plan: bool = False
    child_in_need: bool = False
    known_to_childrens_services: bool = False
    open_to_childrens_services: bool = False
    placement: Placement | None = None
    became_looked_after_at: AwareDatetime | None = None
    exploitation_risk: bool = False
    trafficking_risk: bool = False
    unaccompanied_asylum_seeking: bool = False
    youth_offending_service: bool = False
    flight_risk_with_family: bool = False
    disability_or_send: bool = False
    locality: str | None = None


class RiskGrading(_Model):
    """A police risk grading of the episode at a moment."""

    graded_at: AwareDatetime
    level: RiskLevel


class DutyEvent(_Model):
    """A duty done (or offered and declined) during or after an episode.

    `rule` optionally names the pack rule the act discharges; `by` optionally names who did it (a role key of
    the pack, such as `social_worker`, or a canonical role of the vocabulary). With either, the event is
    credited only to a duty that matches; without them, to one duty of its kind (docs/history-format.md).
    """

    duty: str
    at: AwareDatetime
    outcome: Outcome = Outcome.DONE
    rule: str | None = None
    by: str | None = None
    note: str | None = None


class Concern(_Model):
    """A fact about an episode that became known at a moment: harm, exploitation, trafficking..."""

    concern: ConcernKind
    known_at: AwareDatetime
    note: str | None = None


_UNTIMED = {
    "significant_harm": ConcernKind.SIGNIFICANT_HARM,
    "harm_disclosed_on_return": ConcernKind.HARM_DISCLOSED_ON_RETURN,
    "removed_from_uk": ConcernKind.REMOVED_FROM_UK,
}


class Episode(_Model):
    """One missing or absent episode."""

    id: str
    kind: EpisodeKind
    last_seen_at: AwareDatetime
    reported_at: AwareDatetime | None = None
    risk: tuple[RiskGrading, ...] = ()
    found_at: AwareDatetime | None = None
    found_report_received_at: AwareDatetime | None = None
    returned_by: ReturnedBy | None = None
    noticed_at: AwareDatetime | None = None
    concerns: tuple[Concern, ...] = ()
    events: tuple[DutyEvent, ...] = ()

    @model_validator(mode="before")
    @classmethod
    def _untimed_facts_moved(cls, data: Any) -> Any:
        # Before version 0.2 these were booleans with no time; a rule then fired from the report even when
        # the harm only came to light on return. Say how to write them now rather than "extra input".
        if isinstance(data, dict):
            for old, concern in _UNTIMED.items():
                if old in data:
                    raise ValueError(
                        f"'{old}' is now a concern with the moment it became known: write "
                        f"concerns: [{{concern: {concern.value}, known_at: <timestamp>}}] (see CHANGELOG.md)")
        return data

    @property
    def noticed(self) -> datetime:
        """When the absence was noticed or the concern arose: `noticed_at`, or else when last seen."""
        return self.noticed_at or self.last_seen_at

    @model_validator(mode="after")
    def _times_in_order(self) -> Self:
        if self.reported_at is not None and self.reported_at < self.last_seen_at:
            raise ValueError("reported_at is before last_seen_at")
        if self.noticed_at is not None:
            if self.noticed_at < self.last_seen_at:
                raise ValueError("noticed_at is before last_seen_at")
            if self.reported_at is not None and self.reported_at < self.noticed_at:
                raise ValueError("reported_at is before noticed_at: an absence is noticed before it is reported")
        for concern in self.concerns:
            if concern.known_at < self.last_seen_at:
                raise ValueError(f"the {concern.concern.value} concern is known before last_seen_at")
        if self.found_at is not None:
            if self.found_at < self.last_seen_at:
                raise ValueError("found_at is before last_seen_at")
            if self.reported_at is not None and self.found_at < self.reported_at:
                raise ValueError("found_at is before reported_at: a child cannot be found before being reported")
        if self.found_report_received_at is not None:
            if self.found_at is None:
                raise ValueError("found_report_received_at is given but found_at is not")
            if self.found_report_received_at < self.found_at:
                raise ValueError("found_report_received_at is before found_at")
        for grading in self.risk:
            if grading.graded_at < self.last_seen_at:
                raise ValueError("a risk grading is before last_seen_at")
        return self


class Precision(enum.StrEnum):
    """How exactly the history's times are known."""

    EXACT = "exact"  # to the minute, as a case system records them
    DAY = "day"  # dates only (the DfE's SSDA903 return): each time is 00:00 London time on its date


class History(_Model):
    """A child and their episodes. Episodes may be given in any order; they must not overlap.

    `precision: day` says the times are dates only: an evaluation then reports a duty whose limit is shorter
    than a day as not assessable instead of guessing, and says so in a finding.
    """

    child: Child
    episodes: tuple[Episode, ...]
    precision: Precision = Precision.EXACT

    @model_validator(mode="after")
    def _episodes_consistent(self) -> Self:
        if not self.episodes:
            raise ValueError("a history needs at least one episode")
        seen: set[str] = set()
        for episode in self.episodes:
            if episode.id in seen:
                raise ValueError(f"two episodes have the id '{episode.id}'")
            seen.add(episode.id)
            if episode.last_seen_at.date() < self.child.date_of_birth:
                raise ValueError(f"episode '{episode.id}' is before the child's date of birth")
        ordered = sorted(self.episodes, key=lambda e: e.last_seen_at)
        for earlier, later in pairwise(ordered):
            if earlier.found_at is None or earlier.found_at > later.last_seen_at:
                raise ValueError(
                    f"episodes '{earlier.id}' and '{later.id}' overlap: '{later.id}' starts before "
                    f"'{earlier.id}' ends"
                )
        return self

    def ordered_episodes(self) -> tuple[Episode, ...]:
        """Episodes in order of last_seen_at."""
        return tuple(sorted(self.episodes, key=lambda e: e.last_seen_at))


def _place(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc) or "history"


def describe_validation_error(error: ValidationError, source: str = "history",
                              prefix: tuple[int | str, ...] = ()) -> str:
    """One line per problem, each naming the field: `source: episodes.0.found_at: message`."""
    lines = []
    for item in error.errors(include_url=False):
        loc = prefix + tuple(part for part in item["loc"] if part not in ("function-after",) and
                             not str(part).startswith("function-"))
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "timezone_aware":
            message = without_offset(item.get("input"))
        lines.append(f"{source}: {_place(loc)}: {message}")
    return "\n".join(lines)


def load_history(data: Any, source: str = "history") -> History:
    """Validate a history given as parsed JSON/YAML data; raise HistoryError naming each bad field."""
    if isinstance(data, History):
        return data
    if not isinstance(data, dict):
        raise HistoryError(f"{source}: a history must be a mapping (a JSON object) with 'child' and 'episodes', "
                           f"not {_kind_of(data)}")
    if isinstance(data.get("history"), dict) and "child" not in data and "episodes" not in data:
        raise HistoryError(f"{source}: this is a case (its history is under 'history'), not a history: give the "
                           "history itself, or read cases with rmfhc diff --behaviour")
    episodes = data.get("episodes")
    if isinstance(episodes, list | tuple) and len(episodes) > _read.MAX_EPISODES:
        raise HistoryError(f"{source}: episodes: {len(episodes):,} episodes is more than one history may have "
                           f"(the limit is {_read.MAX_EPISODES:,})")
    try:
        if isinstance(episodes, list) and len(episodes) > _ONE_BY_ONE:
            data = {**data, "episodes": _episodes(episodes, source)}
        return History.model_validate(data)
    except ValidationError as error:
        raise HistoryError(describe_validation_error(error, source)) from None
    except RecursionError:  # Python data nested beyond pydantic's reach; JSON read here never is
        raise HistoryError(f"{source}: nested too deeply to be a history") from None


_ONE_BY_ONE = 200  # a history longer than this is validated an episode at a time
_MAX_PROBLEMS = 20


def _episodes(raw: list[Any], source: str) -> list[Any]:
    """Validate a long history's episodes one at a time, stopping after a few problems: a file that is wrong
    everywhere is refused without describing every one of its values."""
    episodes: list[Any] = []
    problems: list[str] = []
    for index, item in enumerate(raw):
        try:
            episodes.append(Episode.model_validate(item))
        except ValidationError as error:
            problems += describe_validation_error(error, source, ("episodes", index)).splitlines()
            if len(problems) >= _MAX_PROBLEMS:
                problems = [*problems[:_MAX_PROBLEMS], f"{source}: (more problems not listed)"]
                break
    if problems:
        raise HistoryError("\n".join(problems))
    return episodes


def _kind_of(data: Any) -> str:
    return {list: "a list", tuple: "a list", str: "text", type(None): "null", bool: "true or false",
            int: "a number", float: "a number"}.get(type(data), f"a {type(data).__name__}")


def read_history(path: str | Path) -> History:
    """Read and validate a history from a JSON file: UTF-8, at most 20 MB and 20,000 episodes."""
    if not isinstance(path, str | Path):
        raise wrong_type("read_history", "path", "a path (str or pathlib.Path)", path)
    try:
        data = _read.read_bytes(path, _read.MAX_HISTORY_BYTES, "a history")
    except _read.BadInput as error:
        raise HistoryError(str(error.problem)) from None
    return parse_history(data, str(path))


def parse_history(data: bytes, source: str) -> History:
    """Validate a history from the bytes of a JSON file; `source` names it in messages."""
    try:
        text = _read.decode(data, source)
        _read.check_characters(text, source, yaml=False)
        parsed = _read.load_json(text, source, max_items=_read.MAX_HISTORY_VALUES)
    except _read.BadInput as error:
        raise HistoryError(str(error.problem)) from None
    return load_history(parsed, source)
