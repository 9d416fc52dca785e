"""Which recorded act does which duty: crediting an episode's events to its duty instances.

The rules, in one place (docs/history-format.md, "Events", explains them with examples):

- Events are taken in time order. An event of kind K does ONE duty instance of a rule whose kind is K and that
  does not list `done_by` (an exclusive rule), plus every rule whose `done_by` lists K (the pack says that act
  counts for it too). `reported`, `found` and `regraded` are moments of the episode that a `done_by` may name.
- An event that names a rule (`rule:`) does that rule only. One that names who did it (`by:`) does only a duty
  that person holds for this child (a role key of the pack or a canonical role).
- A declined event does only a rule that can be declined (`can_be_declined`).
- Each rule takes events from its clock start (any earlier event with `counts_earlier_events`) and, when the
  duty lapses on the child's return, until the child is found. Its occurrences are done in order: an event
  goes to the first one not yet done, and may do it early once the occurrence before it became required.
- When several exclusive rules could take an event, it goes to the duty already required, then the one due
  soonest, then the one required first, then the first in the pack.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from .pack import Rule


@dataclass(slots=True)
class Credit:
    """A recorded act, or a moment of the episode, that may do a duty."""

    at: datetime
    kind: str  # a duty kind, or `reported`, `found`, `regraded`
    by: str | None
    declined: bool
    rule: str | None
    index: int  # position among the episode's events (-1 for the episode's own moments)


@dataclass(slots=True)
class Instance:
    """One occurrence of a rule's duty: when it became required, its deadline, and what did it."""

    occurrence: int
    required_at: datetime
    due: datetime
    lower: datetime  # the earliest moment an event can do it
    credit: Credit | None = None


class Track:
    """A rule's duty instances for one episode. Subclasses open further instances as earlier ones are done."""

    __slots__ = ("anchor", "holder_keys", "instances", "lower", "order", "rule", "upper")

    def __init__(self, rule: Rule, anchor: datetime, lower: datetime, upper: datetime | None, order: int,
                 holder_keys: frozenset[str] = frozenset()) -> None:
        self.rule, self.anchor, self.lower, self.upper, self.order = rule, anchor, lower, upper, order
        self.holder_keys = holder_keys  # the holders for this child, by pack key and canonical role
        self.instances: list[Instance] = []

    def open_instance(self, at: datetime) -> Instance | None:
        """The first instance not yet done, if an event at `at` can do it."""
        if self.upper is not None and at > self.upper:
            return None
        for instance in self.instances:
            if instance.credit is None:
                return instance if instance.lower <= at else None
        return None

    def credited(self, instance: Instance) -> None:
        """Called after `instance` is done; a chain of occurrences opens the next one here."""

    def accepts(self, event: Credit) -> bool:
        """Whether this rule can take the event at all: its kind, who did it, whether it may be declined."""
        rule = self.rule
        if event.rule is not None and event.rule != rule.id:
            return False
        if event.kind not in rule.done_by and not (event.rule == rule.id and event.kind == rule.duty):
            return False
        if event.declined and not rule.can_be_declined:
            return False
        if event.by is not None and event.by not in self.holder_keys:
            return False
        return not (event.kind == "regraded" and event.at <= self.anchor)


def _priority(instance: Instance, track: Track, at: datetime) -> tuple[bool, datetime, datetime, int]:
    return (instance.required_at > at, instance.due, instance.required_at, track.order)


def _said(event: Credit) -> bool:
    """A recorded event that said whose duty it did, or was declined."""
    return event.index >= 0 and (event.rule is not None or event.by is not None or event.declined)


def credit_events(tracks: Sequence[Track], events: list[Credit]) -> list[Credit]:
    """Credit events (recorded acts and the episode's moments) to the tracks' instances in time order; return
    the events that said whose duty they did (`rule` or `by`), or were declined, and were credited to none."""
    if not tracks:
        return [e for e in events if _said(e)]
    missed: list[Credit] = []
    by_kind: dict[str, list[Track]] = {}
    for track in tracks:
        for kind in {*track.rule.done_by, track.rule.duty}:
            by_kind.setdefault(kind, []).append(track)
    for event in sorted(events, key=lambda e: (e.at, e.index)):
        candidates = by_kind.get(event.kind)
        if not candidates:
            if _said(event):
                missed.append(event)
            continue
        best: tuple[tuple[bool, datetime, datetime, int], Track, Instance] | None = None
        credited = False
        for track in candidates:
            if not track.accepts(event):
                continue
            instance = track.open_instance(event.at)
            if instance is None:
                continue
            exclusive = track.rule.exclusive and event.kind == track.rule.duty
            if exclusive or event.rule == track.rule.id:
                key = _priority(instance, track, event.at)
                if best is None or key < best[0]:
                    best = (key, track, instance)
            else:
                instance.credit = event
                track.credited(instance)
                credited = True
        if best is not None:
            _, track, instance = best
            instance.credit = event
            track.credited(instance)
            credited = True
        if not credited and _said(event):
            missed.append(event)
    return missed
