"""Deadlines as an iCalendar file that a team imports into, or subscribes to from, its calendar.

`to_ical(result, child_id)` writes one event per duty not yet done (`due`, `overdue`) at its deadline, and one
per upcoming trigger at the moment it becomes required. Each event names the duty, who holds it, the clause
and the child's id, nothing more: no names, addresses or notes from the history (this is children's data).

Times are in UTC (`DTSTART:20261107T100000Z`); calendars show them in local time. Each event's UID is a hash
of the protocol, the child's id, the rule, the episode and the occurrence, so importing a later file updates
the same events instead of adding copies, and a trigger that becomes a duty keeps its event. The file is a
pure function of the evaluation: `DTSTAMP` is the evaluation's `as_of`, not the time it was written.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime

from icalendar import Calendar, Event

from ._version import __version__
from .pack import Role, Source
from .report import when
from .results import Duty, DutyState, Evaluation, Upcoming

PRODID = f"-//rmfhc//rmfhc {__version__}//EN"
NO_ID = "(no id)"


def uid(protocol: str, child_id: str | None, rule: str, episode: str, occurrence: int) -> str:
    """A stable UID for a duty instance: the same duty of the same child gives the same UID in every file."""
    key = "\x1f".join((protocol, child_id or "", rule, episode, str(occurrence)))
    return f"{hashlib.sha256(key.encode()).hexdigest()[:32]}@rmfhc"


def _holders(roles: Sequence[Role]) -> str:
    return ", ".join(role.title for role in roles) or "(no holder named)"


def _title(title: str, occurrence: int) -> str:
    return title if occurrence == 1 else f"{title} (#{occurrence})"


def _event(result: Evaluation, child: str | None, item: Duty | Upcoming, start: datetime, summary: str,
           status_line: str, category: str) -> Event:
    source: Source = item.source
    event = Event()
    event.add("uid", uid(result.protocol, child, item.rule, item.episode, item.occurrence))
    event.add("dtstamp", result.as_of.astimezone(UTC))
    event.add("dtstart", start.astimezone(UTC))
    event.add("summary", summary)
    event.add("description", "\n".join((
        f"Duty: {_title(item.title, item.occurrence)}",
        f"Held by: {_holders(item.roles)}",
        f"Clause: {source.section} ({result.protocol}, rule {item.rule})",
        f"Child: {child or NO_ID}",
        status_line,
    )))
    event.add("categories", [category])
    event.add("transp", "TRANSPARENT")  # a deadline, not a meeting: it does not make anyone busy
    return event


def _duty_event(result: Evaluation, child: str | None, duty: Duty) -> Event:
    label = "OVERDUE" if duty.state is DutyState.OVERDUE else "Due"
    summary = f"{label}: {_title(duty.title, duty.occurrence)} - child {child or NO_ID}"
    status = f"{duty.state.value.capitalize()}: required {when(duty.required_at)}, due {when(duty.due)}"
    return _event(result, child, duty, duty.due, summary, status, duty.state.value)


def _upcoming_event(result: Evaluation, child: str | None, up: Upcoming) -> Event:
    condition = " if the child is still missing" if up.if_still_missing else ""
    summary = f"Becomes required{condition}: {_title(up.title, up.occurrence)} - child {child or NO_ID}"
    due = f", due {when(up.due)}" if up.due is not None else ""
    status = f"Upcoming: required from {when(up.at)}{condition}{due}"
    return _event(result, child, up, up.at, summary, status, "upcoming")


def calendar(result: Evaluation, child_id: str | None) -> Calendar:
    """The calendar: due and overdue duties at their deadlines, upcoming triggers when they fall."""
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", f"rmfhc {result.protocol}: child {child_id or NO_ID}")
    for duty in result.duties:
        if duty.state in (DutyState.DUE, DutyState.OVERDUE):
            cal.add_component(_duty_event(result, child_id, duty))
    for up in result.upcoming:
        cal.add_component(_upcoming_event(result, child_id, up))
    return cal


def to_ical(result: Evaluation, child_id: str | None) -> bytes:
    """The iCalendar file (RFC 5545) as bytes, for `rmfhc evaluate --format ics` and `POST /evaluate.ics`."""
    data: bytes = calendar(result, child_id).to_ical()
    return data
