"""The compiled pack that evaluations use: rules with their deadlines, clocks, holders and conditions
compiled once, and the pack's roles, readings and vocabulary."""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import time, timedelta
from typing import Any

from ..conditions import FACTS, Condition
from ..dates import Duration, OfficeHours
from ..models import EpisodeKind, RiskLevel
from .spec import PHRASES, Citation, ClockFrom, OnReturn, PackSpec, ProtocolMeta

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



def unused_roles(pack: Pack) -> list[str]:
    """Role keys the pack declares that no rule names as holder, recipient or escalation target."""
    used = {h.role.key for rule in pack.rules for h in (*rule.holders, *rule.recipients)}
    used |= {role.key for rule in pack.rules for step in rule.escalation for role in step.to}
    return [key for key in pack.roles if key not in used]

