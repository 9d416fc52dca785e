"""Which recorded act does which duty: crediting an episode's events to its duty instances.

The rules, in one place (docs/history-format.md, "Events", explains them with examples):

- Events are taken in time order. An event of kind K does ONE duty instance of a rule whose kind is K and that
  does not list `done_by` (an exclusive rule), plus the rules of kind K that list K in `done_by` (they share
  it), and every rule of another kind whose `done_by` lists K (the pack says that act meets it too, whoever
  did it). `reported`, `found` and `regraded` are moments of the episode that a `done_by` may name.
- A recorded act is one person's: the rules of kind K it does must have a holder in common with the first of
  them (the most likely, as below), unless the event says who did it (`by:`).
- An event that names a rule (`rule:`) does that rule only. One that names who did it (`by:`) does only a duty
  that person holds for this child (a role key of the pack or a canonical role).
- A declined event does only a rule that can be declined (`can_be_declined`).
- Each rule takes events from its clock start (any earlier event with `counts_earlier_events`) and, when the
  duty lapses on the child's return, until the child is found. Its occurrences are done in order: an event
  goes to the first one not yet done, and may do it early once the occurrence before it became required.
- Among the rules of kind K that could take an event, the first (and the exclusive one, when several could) is
  the duty already required, then the one due soonest, then the one required first, then the first in the
  pack.
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
        open_: list[tuple[tuple[bool, datetime, datetime, int], Track, Instance]] = []
        for track in candidates:
            if track.accepts(event):
                instance = track.open_instance(event.at)
                if instance is not None:
                    open_.append((_priority(instance, track, event.at), track, instance))
        if not open_:
            if _said(event):
                missed.append(event)
            continue
        for track, instance in _doers(event, sorted(open_, key=lambda item: item[0])):
            instance.credit = event
            track.credited(instance)
    return missed


def _doers(event: Credit, open_: list[tuple[tuple[bool, datetime, datetime, int], Track, Instance]]) \
        -> list[tuple[Track, Instance]]:
    """The duties one event does, from those that could take it (most likely first).

    Every rule whose `done_by` names the event's kind as another kind's act ("the police attending also meets
    it") takes it, whoever acted. Among the rules of the event's own kind, the most likely takes it, and with it
    the others that list the kind in `done_by` and at most one more exclusive rule; since a recorded act is one
    person's, without `by` those others must have a holder in common with the first, so that a carer's call to
    the social worker is not also the social worker's call to the team manager."""
    doers: list[tuple[Track, Instance]] = []
    person: frozenset[str] | None = None
    exclusive_done = False
    for _, track, instance in open_:
        if track.rule.duty != event.kind and event.rule != track.rule.id:
            doers.append((track, instance))  # another kind's act that the pack says meets this duty too
            continue
        if person is None:
            person = track.holder_keys
        elif event.index >= 0 and event.by is None and not person & track.holder_keys:
            continue
        if _exclusive(track, event):
            if exclusive_done:
                continue
            exclusive_done = True
        doers.append((track, instance))
    return doers


def _exclusive(track: Track, event: Credit) -> bool:
    return (track.rule.exclusive and event.kind == track.rule.duty) or event.rule == track.rule.id
