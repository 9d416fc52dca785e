"""Deadlines as iCalendar: read back with icalendar; events, times, stable UIDs, and nothing else from the history."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from icalendar import Calendar

from conftest import ROOT
from rmfhc import DutyState, evaluate, load_history, load_protocol
from rmfhc.calendar import to_ical, uid
from rmfhc.cli import main

EXAMPLE = ROOT / "examples" / "dorset_child_in_care.json"
AS_OF = datetime(2026, 11, 7, 10, 0, tzinfo=UTC)

# Things a history may hold that must never reach a calendar.
SECRETS = ("Secret-Note-Text", "Hillcrest Children's Home", "Somewhere Council", "2011-05-02", "E3")


def private_history() -> dict[str, Any]:
    """The example, with notes, authorities and a child id that can be told apart from everything else."""
    data: dict[str, Any] = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    data["child"]["id"] = "C-4471"
    data["child"]["placement"].update(placing_authority="Somewhere Council",
                                      host_authority="Hillcrest Children's Home")
    data["episodes"][0]["events"][0]["note"] = "Secret-Note-Text seen with an adult"
    data["episodes"][2]["concerns"] = [{"concern": "exploitation", "known_at": "2026-11-06T09:00:00+00:00",
                                        "note": "Secret-Note-Text at the address"}]
    return data


def events(data: bytes) -> list[Any]:
    calendar = Calendar.from_ical(data)
    return list(calendar.walk("VEVENT"))


def test_events_are_the_due_and_overdue_duties_and_the_upcoming_triggers_at_their_times() -> None:
    history = load_history(private_history())
    result = evaluate(load_protocol("dorset"), history, AS_OF)
    found = events(to_ical(result, history.child.id))
    open_duties = [d for d in result.duties if d.state in (DutyState.DUE, DutyState.OVERDUE)]
    assert open_duties and result.upcoming
    assert len(found) == len(open_duties) + len(result.upcoming)
    starts = sorted(e.decoded("dtstart") for e in found)
    assert starts == sorted([d.due for d in open_duties] + [u.at for u in result.upcoming])
    assert all(e.decoded("dtstart").utcoffset().total_seconds() == 0 for e in found)  # written in UTC
    overdue = [e for e in found if str(e["summary"]).startswith("OVERDUE: ")]
    assert len(overdue) == sum(d.state is DutyState.OVERDUE for d in open_duties)
    for event in found:
        assert str(event["summary"]).endswith(" - child C-4471")
        description = str(event["description"])
        assert "Held by: " in description and "Clause: " in description and "Child: C-4471" in description
        assert event.decoded("dtstamp") == AS_OF


def test_each_event_names_its_duty_holder_and_clause() -> None:
    history = load_history(private_history())
    result = evaluate(load_protocol("dorset"), history, AS_OF)
    by_uid = {str(e["uid"]): e for e in events(to_ical(result, history.child.id))}
    duty = next(d for d in result.duties if d.state is DutyState.OVERDUE)
    event = by_uid[uid("dorset", "C-4471", duty.rule, duty.episode, duty.occurrence)]
    assert event.decoded("dtstart") == duty.due
    description = str(event["description"])
    assert duty.title in description and duty.source.section in description and duty.rule in description
    assert all(role.title in description for role in duty.roles)


def test_nothing_else_from_the_history_leaks() -> None:
    history = load_history(private_history())
    data = to_ical(evaluate(load_protocol("dorset"), history, AS_OF), history.child.id)
    text = Calendar.from_ical(data).to_ical().decode()
    unfolded = text.replace("\r\n ", "")
    for secret in SECRETS:
        assert secret not in unfolded, secret
    allowed = {"UID", "DTSTAMP", "DTSTART", "SUMMARY", "DESCRIPTION", "CATEGORIES", "TRANSP"}
    for event in events(data):
        assert set(event.keys()) <= allowed


def test_uids_are_stable_across_evaluations_so_a_reimport_updates() -> None:
    history = load_history(private_history())
    pack = load_protocol("dorset")
    earlier = events(to_ical(evaluate(pack, history, AS_OF), history.child.id))
    later = events(to_ical(evaluate(pack, history, datetime(2026, 11, 7, 12, 0, tzinfo=UTC)), history.child.id))
    uids = [str(e["uid"]) for e in earlier]
    assert len(set(uids)) == len(uids)
    # Every duty still due or overdue two hours later is the same event (same UID) at the same deadline, so a
    # calendar that imports the later file updates the earlier events instead of adding copies.
    then = evaluate(pack, history, datetime(2026, 11, 7, 12, 0, tzinfo=UTC))
    later_events = {str(e["uid"]): e.decoded("dtstart") for e in later}
    earlier_events = {str(e["uid"]): e.decoded("dtstart") for e in earlier}
    open_states = (DutyState.DUE, DutyState.OVERDUE)
    still_open = [d for d in then.duties if d.state in open_states]
    carried = [d for d in still_open
               if uid("dorset", history.child.id, d.rule, d.episode, d.occurrence) in earlier_events]
    assert carried, "no duty open at both times: the test would check nothing"
    for duty in carried:
        key = uid("dorset", history.child.id, duty.rule, duty.episode, duty.occurrence)
        assert later_events[key] == earlier_events[key] == duty.due.astimezone(UTC), duty.rule
    # The same evaluation gives the same file, byte for byte.
    assert to_ical(evaluate(pack, history, AS_OF), history.child.id) == to_ical(
        evaluate(pack, history, AS_OF), history.child.id)


def test_a_trigger_keeps_its_uid_when_it_becomes_a_duty() -> None:
    history = load_history(private_history())
    pack = load_protocol("dorset")
    before = evaluate(pack, history, AS_OF)
    up = before.upcoming[0]
    after = evaluate(pack, history, up.at)
    duty = next(d for d in after.duties if (d.rule, d.episode, d.occurrence) == (up.rule, up.episode, up.occurrence))
    assert duty.state in (DutyState.DUE, DutyState.OVERDUE)
    same = uid("dorset", "C-4471", up.rule, up.episode, up.occurrence)
    assert same in {str(e["uid"]) for e in events(to_ical(before, "C-4471"))}
    assert same in {str(e["uid"]) for e in events(to_ical(after, "C-4471"))}


def test_the_command_line_writes_ics(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "deadlines.ics"
    assert main(["evaluate", "-p", "dorset", "--as-of", "2026-11-07T10:00Z", str(EXAMPLE), "--format", "ics",
                 "-o", str(out)]) == 0
    assert events(out.read_bytes())
    assert main(["evaluate", "-p", "dorset", "--as-of", "2026-11-07T10:00Z", str(EXAMPLE), "--format", "ics"]) == 0
    assert capsys.readouterr().out.encode() == out.read_bytes()
