"""Outcomes an auditor can trust (review X1-X7), on a small pack written here, apart from any area.

Every expected time is worked out by hand in the comments. Monday 2 November 2026 is a working day, GMT.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from rmfhc import History, evaluate, load_history, validate_pack
from rmfhc.evaluate import DutyState, EscalationState, Evaluation
from rmfhc.pack import Pack

PACK = """
protocol: {id: outcomes-test, area: Test, title: Test, version: "1", seed: none.txt, authorities: [Home Council]}
readings:
  immediately: {allows: 1 hour, interpretation: an act within the hour is immediate}
  without delay: {allows: 1 hour, interpretation: read as immediately}
  as soon as possible: {allows: 24 hours, interpretation: "no limit in the document; read as within a day"}
episode_kinds:
  missing: {counted: true, treatment: a missing episode}
  missing_with_family: {counted: true, treatment: counted as missing}
  absconded: {counted: {child.age: {under: 16}}, treatment: an absconder under 16 is treated as missing}
  away_from_placement: {counted: false, treatment: "location known, not a missing episode"}
  missing_from_education: {counted: false, treatment: "a school absence, not a missing episode"}
roles:
  tm: {title: Team Manager, role: team_manager}
  sw: {title: Social Worker, role: social_worker}
  hos: {title: Head of Service, role: head_of_service}
  police: {title: Police, role: police}
  foster: {title: Foster carer, role: carer}
  staff: {title: Residential staff, role: carer}
  parents: {title: Parents, role: parent}
  iro: {title: IRO, role: iro}
  placing: {title: The placing authority, role: placing_authority}
rules:
  - id: meeting-48-hours
    duty: strategy_discussion
    title: Strategy meeting must be held at 48 hours
    clock: {from: reported, after: 48 hours, if_still_missing: true}
    due: as soon as possible
    on_return: missed
    roles: [tm]
    escalation: [{after: 0 hours, to: [hos], action: alert}]
    source: {section: "1", quote: q}
  - id: search
    duty: police_search
    title: Search the premises within 6 hours
    clock: {from: reported}
    due: within 6 hours
    on_return: stands_down
    roles: [police]
    source: {section: "2", quote: q}
  - id: sw-need-to-know
    duty: need_to_know_report
    title: Social worker's Need to Know report within 24 hours
    when: {child.looked_after: true}
    clock: {from: reported}
    due: within 24 hours
    roles: [sw]
    source: {section: "3", quote: q}
  - id: hos-need-to-know
    duty: need_to_know_report
    title: Head of Service alerts senior leaders at 24 hours
    when: {child.looked_after: true}
    clock: {from: reported, after: 24 hours, if_still_missing: true}
    due: within 24 hours
    roles: [hos]
    source: {section: "4", quote: q}
  - id: carer-tells-police
    duty: report_to_police
    title: Carer reports to police without delay
    when: {child.looked_after: true}
    clock: {from: noticed}
    due: without delay
    roles:
      - {role: foster, when: {child.placement.type: foster}}
      - {role: staff, when: {child.placement.type: childrens_home}}
    recipients: [iro]
    done_by: [reported]
    source: {section: "5", quote: q}
  - id: review-3-days-then-5
    duty: missing_review_meeting
    title: Meeting at 3 days, then at least every five days or earlier
    clock: {from: reported, after: 3 days, if_still_missing: true}
    due: immediately
    repeat: {every: 5 days, from: previous, while_missing: true}
    roles: [tm]
    source: {section: "6", quote: q}
  - id: harm-on-return
    duty: strategy_discussion
    title: Strategy discussion when harm is disclosed on return
    when: {episode.harm_disclosed_on_return: true}
    clock: {from: found}
    due: within 24 hours
    roles: [tm]
    source: {section: "7", quote: q}
  - id: sw-next-working-day
    duty: inform_social_worker
    title: Social worker told the next working day
    clock: {from: reported}
    due: next working day
    roles: [police]
    source: {section: "8", quote: q}
  - id: three-in-30
    duty: repeat_missing_meeting
    title: Meeting after three missing episodes in 30 days
    episodes: [missing, absconded, away_from_placement]
    clock: {from: episode_count, count: 3, within: 30 days}
    due: within 7 days
    roles: [tm]
    source: {section: "9", quote: q}
  - id: interview
    duty: return_interview
    title: Return interview within 72 hours, may be declined
    clock: {from: found}
    due: within 72 hours
    can_be_declined: true
    roles:
      - {role: sw, when: {child.placed_by_other_authority: false}}
      - {role: placing, when: {child.placed_by_other_authority: true}}
    source: {section: "10", quote: q}
  - id: overnight
    duty: need_to_know_report
    title: Need to Know if still missing at 02:00 (overnight)
    when: {child.known_to_childrens_services: true}
    clock: {from: last_seen, at_time_of_day: "02:00", if_still_missing: true}
    due: within 12 hours
    roles: [sw]
    source: {section: "11", quote: q}
  - id: high-risk-meeting
    duty: professionals_meeting
    title: Professionals meeting within 24 hours of a high grading
    when: {episode.highest_risk: high}
    clock: {from: reported}
    due: within 24 hours
    roles: [tm]
    source: {section: "12", quote: q}
"""


@pytest.fixture
def pack(write_pack: Callable[[str], Path]) -> Pack:
    return validate_pack(write_pack(PACK))


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def history(*episodes: dict[str, Any], **child: Any) -> History:
    return load_history({"child": {"date_of_birth": "2011-05-02", **child}, "episodes": list(episodes)})


def episode(eid: str, last_seen: str, kind: str = "missing", **more: Any) -> dict[str, Any]:
    return {"id": eid, "kind": kind, "last_seen_at": last_seen, **more}


def duties(result: Evaluation, rule: str) -> list[Any]:
    return [d for d in result.duties if d.rule == rule]


def only(result: Evaluation, rule: str) -> Any:
    [duty] = duties(result, rule)
    return duty


# ---------------------------------------------------------------------------------------------------------
# X1: a required meeting never held before the return is missed, not stood down.


def test_meeting_at_48_hours_never_held_before_the_return_four_days_later_is_missed(pack: Pack) -> None:
    # Reported Mon 10:00; required Wed 10:00; as soon as possible read as 24 hours: due Thu 10:00; found Fri.
    h = history(episode("E1", "2026-11-02T09:00Z", reported_at="2026-11-02T10:00Z", found_at="2026-11-06T10:00Z"))
    duty = only(evaluate(pack, h, at("2026-11-09T10:00Z"), explain=True), "meeting-48-hours")
    assert (duty.required_at, duty.due, duty.state) == (at("2026-11-04T10:00Z"), at("2026-11-05T10:00Z"),
                                                        DutyState.MISSED)
    assert duty.escalation[0].state is EscalationState.PASSED
    assert "no longer possible" in duty.explanation.state


def test_the_same_meeting_is_overdue_while_the_child_is_still_missing(pack: Pack) -> None:
    h = history(episode("E1", "2026-11-02T09:00Z", reported_at="2026-11-02T10:00Z"))
    before = only(evaluate(pack, h, at("2026-11-05T10:00Z")), "meeting-48-hours")
    after = only(evaluate(pack, h, at("2026-11-05T10:01Z"), explain=True), "meeting-48-hours")
    assert (before.state, after.state) == (DutyState.DUE, DutyState.OVERDUE)
    assert after.late_by == timedelta(minutes=1)
    assert after.explanation.deadline.startswith("no exact limit in the document ('as soon as possible'); "
                                                 "this pack reads it as within 24 hours")


def test_a_meeting_held_after_the_return_does_not_do_a_meeting_that_lapsed_on_return(pack: Pack) -> None:
    h = history(episode("E1", "2026-11-02T09:00Z", reported_at="2026-11-02T10:00Z", found_at="2026-11-04T12:00Z",
                        events=[{"duty": "strategy_discussion", "at": "2026-11-04T13:00Z"}]))
    assert only(evaluate(pack, h, at("2026-11-09T10:00Z")), "meeting-48-hours").state is DutyState.MISSED


@pytest.mark.parametrize(("found", "state"), [("2026-11-02T16:00Z", DutyState.STOOD_DOWN),
                                               ("2026-11-02T16:01Z", DutyState.MISSED)])
def test_a_search_stands_down_if_found_by_its_deadline_and_is_missed_after_it(pack: Pack, found: str,
                                                                              state: DutyState) -> None:
    # Reported 10:00, search within 6 hours: due 16:00. Found at 16:00: stood down; 16:01: it was overdue.
    h = history(episode("E1", "2026-11-02T09:00Z", reported_at="2026-11-02T10:00Z", found_at=found))
    assert only(evaluate(pack, h, at("2026-11-03T10:00Z")), "search").state is state


# ---------------------------------------------------------------------------------------------------------
# X2: one event does one duty; `by` and `rule` say whose.


def test_a_social_workers_need_to_know_does_not_do_the_head_of_services_alert(pack: Pack) -> None:
    # Reported Mon 10:00. The social worker's report at 15:00 is the only Need to Know; the Head of Service's
    # alert becomes required Tue 10:00 (still missing) and is due Wed 10:00.
    h = history(episode("E1", "2026-11-02T09:00Z", reported_at="2026-11-02T10:00Z",
                        events=[{"duty": "need_to_know_report", "at": "2026-11-02T15:00Z"}]), looked_after=True)
    result = evaluate(pack, h, at("2026-11-04T10:01Z"))
    assert only(result, "sw-need-to-know").state is DutyState.DONE_ON_TIME
    assert only(result, "hos-need-to-know").state is DutyState.OVERDUE


def test_an_event_by_the_head_of_service_goes_to_the_head_of_services_duty(pack: Pack) -> None:
    h = history(episode("E1", "2026-11-02T09:00Z", reported_at="2026-11-02T10:00Z",
                        events=[{"duty": "need_to_know_report", "at": "2026-11-03T11:00Z", "by": "hos"}]),
                looked_after=True)
    result = evaluate(pack, h, at("2026-11-04T10:01Z"))
    assert only(result, "sw-need-to-know").state is DutyState.OVERDUE
    hos = only(result, "hos-need-to-know")
    assert (hos.state, hos.done_by) == (DutyState.DONE_ON_TIME, "hos")


def test_an_event_naming_a_rule_does_that_rule_only(pack: Pack) -> None:
    h = history(episode("E1", "2026-11-02T09:00Z", reported_at="2026-11-02T10:00Z",
                        events=[{"duty": "need_to_know_report", "at": "2026-11-02T15:00Z",
                                 "rule": "hos-need-to-know"}]), looked_after=True)
    result = evaluate(pack, h, at("2026-11-04T10:01Z"))
    assert only(result, "sw-need-to-know").state is DutyState.OVERDUE
    assert only(result, "hos-need-to-know").state is DutyState.DONE_ON_TIME


def test_an_event_by_someone_who_holds_no_such_duty_is_credited_to_none_and_said(pack: Pack) -> None:
    h = history(episode("E1", "2026-11-02T09:00Z", reported_at="2026-11-02T10:00Z",
                        events=[{"duty": "need_to_know_report", "at": "2026-11-02T15:00Z", "by": "police"}]),
                looked_after=True)
    result = evaluate(pack, h, at("2026-11-03T10:01Z"))
    assert only(result, "sw-need-to-know").state is DutyState.OVERDUE
    assert "event-not-credited" in {f.check for f in result.findings}


# ---------------------------------------------------------------------------------------------------------
# X4: "without delay" with a stated tolerance, from when the absence was noticed.


@pytest.mark.parametrize(("reported", "state"), [("2026-11-02T22:30Z", DutyState.DONE_ON_TIME),
                                                  ("2026-11-02T22:31Z", DutyState.DONE_LATE)])
def test_carer_reports_within_the_hour_of_noticing_is_on_time(pack: Pack, reported: str, state: DutyState) -> None:
    # Last seen 19:00, noticed missing 21:30 (after the enquiries the carer must make), without delay read as
    # within an hour: due 22:30.
    h = history(episode("E1", "2026-11-02T19:00Z", noticed_at="2026-11-02T21:30Z", reported_at=reported),
                looked_after=True, placement={"type": "foster"})
    duty = only(evaluate(pack, h, at("2026-11-03T10:00Z")), "carer-tells-police")
    assert (duty.required_at, duty.due, duty.state) == (at("2026-11-02T21:30Z"), at("2026-11-02T22:30Z"), state)


def test_without_noticed_at_the_clock_starts_when_last_seen(pack: Pack) -> None:
    h = history(episode("E1", "2026-11-02T19:00Z", reported_at="2026-11-02T19:40Z"), looked_after=True,
                placement={"type": "foster"})
    duty = only(evaluate(pack, h, at("2026-11-03T10:00Z")), "carer-tells-police")
    assert (duty.required_at, duty.state) == (at("2026-11-02T19:00Z"), DutyState.DONE_ON_TIME)
    assert "noticed-not-recorded" not in {f.check for f in evaluate(pack, h, at("2026-11-03T10:00Z")).findings}


@pytest.mark.parametrize(("reported", "state"), [("2026-11-02T20:00Z", DutyState.DONE_ON_TIME),
                                                  ("2026-11-02T20:01Z", DutyState.DONE_LATE)])
def test_a_report_late_only_against_the_time_last_seen_says_so(pack: Pack, reported: str, state: DutyState) -> None:
    # No noticed_at: the clock starts when last seen, 19:00, so the report is due 20:00. At 20:01 it is done
    # late on that reading only, and the finding and the explanation say the noticed time was not recorded.
    h = history(episode("E1", "2026-11-02T19:00Z", reported_at=reported), looked_after=True,
                placement={"type": "foster"})
    result = evaluate(pack, h, at("2026-11-03T10:00Z"), explain=True)
    duty = only(result, "carer-tells-police")
    assert (duty.due, duty.state) == (at("2026-11-02T20:00Z"), state)
    assert duty.explanation is not None and "noticed is not recorded" in duty.explanation.clock
    noticed = [f for f in result.findings if f.check == "noticed-not-recorded"]
    assert len(noticed) == (state is DutyState.DONE_LATE)
    assert all("carer-tells-police" in f.finding and f.episode == "E1" for f in noticed)


@pytest.mark.parametrize(("as_of", "state"), [("2026-11-02T19:00Z", None),  # not yet noticed: no duty yet
                                               ("2026-11-02T21:00Z", DutyState.DUE),
                                               ("2026-11-02T22:00Z", DutyState.DUE),  # at the deadline
                                               ("2026-11-02T22:01Z", DutyState.OVERDUE)])
def test_before_the_absence_is_noticed_the_carers_first_duty_has_not_arisen(
        pack: Pack, as_of: str, state: DutyState | None) -> None:
    # Last seen 16:00, noticed 21:00, reported 23:00: at 19:00 nobody knew the child was missing. From 21:00
    # the carer's report is due by 22:00 (within the hour); the report at 23:00 is after every as_of here.
    h = history(episode("E1", "2026-11-02T16:00Z", noticed_at="2026-11-02T21:00Z", reported_at="2026-11-02T23:00Z"),
                looked_after=True, placement={"type": "foster"})
    found = duties(evaluate(pack, h, at(as_of)), "carer-tells-police")
    assert [d.state for d in found] == ([] if state is None else [state])
    if found:
        assert (found[0].required_at, found[0].due) == (at("2026-11-02T21:00Z"), at("2026-11-02T22:00Z"))


# ---------------------------------------------------------------------------------------------------------
# Holders fitted to the child; recipients shown as roles.


@pytest.mark.parametrize(("placement", "holder"), [("foster", "foster"), ("childrens_home", "staff")])
def test_the_holder_is_the_foster_carer_or_the_staff_not_both(pack: Pack, placement: str, holder: str) -> None:
    h = history(episode("E1", "2026-11-02T19:00Z"), looked_after=True, placement={"type": placement})
    duty = only(evaluate(pack, h, at("2026-11-02T19:30Z")), "carer-tells-police")
    assert [r.key for r in duty.roles] == [holder]
    assert [r.key for r in duty.recipients] == ["iro"]


def test_the_return_interview_of_a_child_placed_by_another_authority_is_the_placing_authoritys(pack: Pack) -> None:
    placed = {"type": "foster", "placing_authority": "Far Council", "host_authority": "Home Council"}
    h = history(episode("E1", "2026-11-02T19:00Z", found_at="2026-11-03T10:00Z"), looked_after=True,
                placement=placed)
    assert [r.key for r in only(evaluate(pack, h, at("2026-11-03T11:00Z")), "interview").roles] == ["placing"]


# ---------------------------------------------------------------------------------------------------------
# Declined is its own state, only where the rule allows it.


def test_an_interview_offered_and_declined_late_is_declined_with_its_lateness(pack: Pack) -> None:
    # Found Tue 10:00: due Fri 10:00; offered and declined Fri 12:00.
    h = history(episode("E1", "2026-11-02T19:00Z", found_at="2026-11-03T10:00Z",
                        events=[{"duty": "return_interview", "at": "2026-11-06T12:00Z", "outcome": "declined"}]))
    duty = only(evaluate(pack, h, at("2026-11-09T10:00Z")), "interview")
    assert (duty.state, duty.late_by) == (DutyState.DECLINED, timedelta(hours=2))


def test_a_declined_event_does_not_do_a_duty_that_cannot_be_declined(pack: Pack) -> None:
    h = history(episode("E1", "2026-11-02T09:00Z", reported_at="2026-11-02T10:00Z",
                        events=[{"duty": "police_search", "at": "2026-11-02T11:00Z", "outcome": "declined"}]))
    result = evaluate(pack, h, at("2026-11-02T16:01Z"))
    assert only(result, "search").state is DutyState.OVERDUE
    assert "event-not-credited" in {f.check for f in result.findings}


# ---------------------------------------------------------------------------------------------------------
# Repeats counted from the previous occurrence: "at least every five days ... or earlier".


def test_reviews_every_four_days_are_all_on_time(pack: Pack) -> None:
    # Reported Mon 2 Nov 10:00; first meeting at 3 days (Thu 5 Nov 10:00), immediately (1 hour).
    # Held 5 Nov 10:30, 9 Nov 10:30 and 13 Nov 10:30: each within five days of the one before.
    events = [{"duty": "missing_review_meeting", "at": f"2026-11-{day:02d}T10:30Z"} for day in (5, 9, 13)]
    h = history(episode("E1", "2026-11-02T09:00Z", reported_at="2026-11-02T10:00Z", events=events))
    reviews = duties(evaluate(pack, h, at("2026-11-16T10:00Z")), "review-3-days-then-5")
    assert [(d.occurrence, d.state) for d in reviews] == [
        (1, DutyState.DONE_ON_TIME), (2, DutyState.DONE_ON_TIME), (3, DutyState.DONE_ON_TIME), (4, DutyState.DUE)]
    # The fourth counts from the third, held 13 Nov 10:30: due 18 Nov 10:30.
    assert (reviews[3].required_at, reviews[3].due) == (at("2026-11-13T10:30Z"), at("2026-11-18T10:30Z"))


def test_a_review_held_a_day_late_is_late_and_the_next_counts_from_it(pack: Pack) -> None:
    # First held 5 Nov 10:30: next due 10 Nov 10:30; held 11 Nov 10:30 (one day late); the third is due 16 Nov.
    events = [{"duty": "missing_review_meeting", "at": f"2026-11-{day:02d}T10:30Z"} for day in (5, 11)]
    h = history(episode("E1", "2026-11-02T09:00Z", reported_at="2026-11-02T10:00Z", events=events))
    reviews = duties(evaluate(pack, h, at("2026-11-16T10:31Z")), "review-3-days-then-5")
    # The third, not held by 16 Nov 10:30, is overdue; the fourth is required from then, due 21 Nov.
    assert [(d.occurrence, d.state) for d in reviews] == [
        (1, DutyState.DONE_ON_TIME), (2, DutyState.DONE_LATE), (3, DutyState.OVERDUE), (4, DutyState.DUE)]
    assert reviews[1].late_by == timedelta(days=1)
    assert [d.due for d in reviews[2:]] == [at("2026-11-16T10:30Z"), at("2026-11-21T10:30Z")]


def test_no_review_after_the_first_shows_each_five_days_without_one_as_a_review_outstanding(pack: Pack) -> None:
    # First held 5 Nov 10:30: the second is due 10 Nov 10:30, the third 15 Nov 10:30, the fourth 20 Nov; if the
    # fourth is not held either, the fifth becomes required at 20 Nov 10:30.
    events = [{"duty": "missing_review_meeting", "at": "2026-11-05T10:30Z"}]
    h = history(episode("E1", "2026-11-02T09:00Z", reported_at="2026-11-02T10:00Z", events=events))
    result = evaluate(pack, h, at("2026-11-16T10:00Z"))
    reviews = duties(result, "review-3-days-then-5")
    assert [(d.due, d.state) for d in reviews] == [
        (at("2026-11-05T11:00Z"), DutyState.DONE_ON_TIME), (at("2026-11-10T10:30Z"), DutyState.OVERDUE),
        (at("2026-11-15T10:30Z"), DutyState.OVERDUE), (at("2026-11-20T10:30Z"), DutyState.DUE)]
    assert [u.at for u in result.upcoming if u.rule == "review-3-days-then-5"] == [at("2026-11-20T10:30Z")]


# ---------------------------------------------------------------------------------------------------------
# X6: facts with times. A rule that depends on one starts when it is known.


def test_harm_disclosed_on_return_starts_the_discussion_when_disclosed_and_not_before(pack: Pack) -> None:
    # Found Tue 10:00, harm disclosed at the return interview Wed 14:00: discussion due Thu 14:00.
    disclosed = [{"concern": "harm_disclosed_on_return", "known_at": "2026-11-04T14:00Z"}]
    h = history(episode("E1", "2026-11-02T19:00Z", reported_at="2026-11-02T20:00Z", found_at="2026-11-03T10:00Z",
                        concerns=disclosed))
    assert not duties(evaluate(pack, h, at("2026-11-04T13:59Z")), "harm-on-return")
    duty = only(evaluate(pack, h, at("2026-11-04T14:00Z")), "harm-on-return")
    assert (duty.required_at, duty.due) == (at("2026-11-04T14:00Z"), at("2026-11-05T14:00Z"))


def test_a_meeting_for_high_risk_runs_from_the_high_grading_not_the_earlier_report(pack: Pack) -> None:
    # Reported 10:00 and graded medium; regraded high at 18:00: the meeting is due 24 hours after 18:00.
    grades = [{"graded_at": "2026-11-02T10:05Z", "level": "medium"}, {"graded_at": "2026-11-02T18:00Z",
                                                                      "level": "high"}]
    h = history(episode("E1", "2026-11-02T09:00Z", reported_at="2026-11-02T10:00Z", risk=grades))
    assert not duties(evaluate(pack, h, at("2026-11-02T17:59Z")), "high-risk-meeting")
    duty = only(evaluate(pack, h, at("2026-11-03T18:00Z")), "high-risk-meeting")
    assert (duty.required_at, duty.due, duty.state) == (at("2026-11-02T18:00Z"), at("2026-11-03T18:00Z"),
                                                        DutyState.DUE)


# ---------------------------------------------------------------------------------------------------------
# X5: the next working day is the day on which the office next opens.


@pytest.mark.parametrize(("reported", "due"), [
    ("2026-11-03T02:00Z", "2026-11-03T17:00Z"),  # 02:00 Tuesday: the same day
    ("2026-11-03T08:59Z", "2026-11-03T17:00Z"),  # a minute before opening: the same day
    ("2026-11-03T09:00Z", "2026-11-04T17:00Z"),  # at opening: the next day
    ("2026-11-06T18:00Z", "2026-11-09T17:00Z"),  # 18:00 Friday: Monday
    ("2026-12-26T02:00Z", "2026-12-29T17:00Z"),  # Saturday 26 Dec; Mon 28 Dec is the Boxing Day substitute
    ("2027-05-03T01:00Z", "2027-05-04T16:00Z"),  # 02:00 BST on the May bank holiday Monday: Tue 17:00 BST
])
def test_next_working_day(pack: Pack, reported: str, due: str) -> None:
    h = history(episode("E1", reported, reported_at=reported))
    assert only(evaluate(pack, h, at(reported)), "sw-next-working-day").due == at(due)


# ---------------------------------------------------------------------------------------------------------
# X3: counting what the document counts.


def test_absences_at_a_known_location_are_not_counted_among_missing_episodes(pack: Pack) -> None:
    h = history(episode("A1", "2026-11-01T10:00Z", "away_from_placement", found_at="2026-11-01T12:00Z"),
                episode("A2", "2026-11-05T10:00Z", "away_from_placement", found_at="2026-11-05T12:00Z"),
                episode("E1", "2026-11-10T10:00Z", found_at="2026-11-10T12:00Z"),
                episode("E2", "2026-11-15T10:00Z", found_at="2026-11-15T12:00Z"))
    result = evaluate(pack, h, at("2026-11-16T10:00Z"))
    assert not duties(result, "three-in-30")
    h3 = history(*[episode(f"E{i}", f"2026-11-{i:02d}T10:00Z", found_at=f"2026-11-{i:02d}T12:00Z")
                   for i in (10, 12)], episode("E3", "2026-11-14T10:00Z", "absconded"), date_of_birth="2011-05-02")
    duty = only(evaluate(pack, h3, at("2026-11-14T11:00Z"), explain=True), "three-in-30")
    assert duty.explanation.counted == ("E10", "E12", "E3")


def test_an_absconder_of_16_is_not_counted_but_one_of_15_is(pack: Pack) -> None:
    episodes = [episode("E1", "2026-11-01T10:00Z", found_at="2026-11-01T12:00Z"),
                episode("E2", "2026-11-05T10:00Z", found_at="2026-11-05T12:00Z"),
                episode("E3", "2026-11-10T10:00Z", "absconded")]
    fifteen = history(*episodes, date_of_birth="2011-05-02")
    sixteen = history(*episodes, date_of_birth="2010-05-02")
    assert duties(evaluate(pack, fifteen, at("2026-11-10T11:00Z")), "three-in-30")
    assert not duties(evaluate(pack, sixteen, at("2026-11-10T11:00Z")), "three-in-30")


# ---------------------------------------------------------------------------------------------------------
# "Overnight": required at the next 02:00 after last seen, if still missing.


@pytest.mark.parametrize(("found", "required"), [("2026-11-03T01:59Z", False), ("2026-11-03T02:01Z", True)])
def test_still_missing_at_two_in_the_morning(pack: Pack, found: str, required: bool) -> None:
    h = history(episode("E1", "2026-11-02T21:00Z", found_at=found), known_to_childrens_services=True)
    assert bool(duties(evaluate(pack, h, at("2026-11-03T08:00Z")), "overnight")) is required


# ---------------------------------------------------------------------------------------------------------
# Findings for what the history lacks.


def test_an_episode_never_reported_gets_a_finding_naming_the_rules_not_assessed(pack: Pack) -> None:
    h = history(episode("E1", "2026-11-02T09:00Z"))
    [finding] = [f for f in evaluate(pack, h, at("2026-11-03T09:00Z")).findings if f.check == "not-reported"]
    assert "search" in finding.finding and "meeting-48-hours" in finding.finding


def test_a_reported_episode_with_no_grading_gets_a_finding_when_a_rule_depends_on_it(pack: Pack) -> None:
    h = history(episode("E1", "2026-11-02T09:00Z", reported_at="2026-11-02T10:00Z"))
    [finding] = [f for f in evaluate(pack, h, at("2026-11-03T09:00Z")).findings if f.check == "no-risk-grading"]
    assert "high-risk-meeting" in finding.finding


# ---------------------------------------------------------------------------------------------------------
# Histories from dates only (the DfE's SSDA903 return): not assessable rather than guessed.


def test_from_dates_only_a_limit_under_a_day_is_not_assessable_and_a_longer_one_is_judged(pack: Pack) -> None:
    # Missing 2 Nov, found 3 Nov (dates only). The 6-hour search cannot be judged; the 72-hour return interview,
    # held on 5 Nov, is judged to the day: due 6 Nov 00:00, done on time.
    h = load_history({"precision": "day", "child": {"date_of_birth": "2011-05-02"}, "episodes": [
        {"id": "E1", "kind": "missing", "last_seen_at": "2026-11-02T00:00Z", "reported_at": "2026-11-02T00:00Z",
         "found_at": "2026-11-03T00:00Z", "events": [{"duty": "return_interview", "at": "2026-11-05T00:00Z"}]}]})
    result = evaluate(pack, h, at("2026-11-20T00:00Z"), explain=True)
    search = only(result, "search")
    assert search.state is DutyState.NOT_ASSESSABLE and "dates only" in search.explanation.state
    assert only(result, "interview").state is DutyState.DONE_ON_TIME
    assert "dates-only" in {f.check for f in result.findings}


EXTRA = """
protocol: {id: extra-test, area: Test, title: Test, version: "1", seed: none.txt}
roles:
  hos: {title: Head of Service, role: head_of_service}
  mio: {title: Missing Information Officer, role: missing_coordinator}
rules:
  - id: alert-at-24-hours
    duty: inform_senior_manager
    title: At 24 hours the Head of Service alerts senior leaders
    clock: {from: reported, after: 24 hours, if_still_missing: true}
    due: within 4 hours
    events_from: required
    roles: [hos]
    source: {section: "1", quote: q}
  - id: daily-report-until-review
    duty: daily_missing_report
    title: Daily report until the review process starts
    clock: {from: reported}
    due: within 1 day
    repeat: {every: 1 day, until_done: missing_review_meeting, while_missing: true}
    roles: [mio]
    source: {section: "2", quote: q}
"""


@pytest.fixture
def extra(write_pack: Callable[[str], Path]) -> Pack:
    return validate_pack(write_pack(EXTRA, "extra.yaml"))


def test_an_alert_at_24_hours_is_not_done_by_an_alert_before_it_was_required(extra: Pack) -> None:
    # Reported Mon 10:00: required Tue 10:00, due 14:00. An alert at Mon 15:00 is before the duty existed.
    early = [{"duty": "inform_senior_manager", "at": "2026-11-02T15:00Z"}]
    h = history(episode("E1", "2026-11-02T09:00Z", reported_at="2026-11-02T10:00Z", events=early))
    assert only(evaluate(extra, h, at("2026-11-03T14:01Z")), "alert-at-24-hours").state is DutyState.OVERDUE
    at_ten = [{"duty": "inform_senior_manager", "at": "2026-11-03T10:00Z"}]
    h = history(episode("E1", "2026-11-02T09:00Z", reported_at="2026-11-02T10:00Z", events=at_ten))
    assert only(evaluate(extra, h, at("2026-11-03T14:01Z")), "alert-at-24-hours").state is DutyState.DONE_ON_TIME


def test_a_daily_report_stops_once_the_review_process_has_started(extra: Pack) -> None:
    # Reported Mon 2 Nov 10:00; daily from then. The review meeting on Thu 5 Nov 09:00: the reports of 2, 3 and
    # 4 Nov are required; the one due to start at 10:00 on 5 Nov and later ones are not.
    review = [{"duty": "missing_review_meeting", "at": "2026-11-05T09:00Z"}]
    h = history(episode("E1", "2026-11-02T09:00Z", reported_at="2026-11-02T10:00Z", events=review))
    result = evaluate(extra, h, at("2026-11-10T10:00Z"))
    assert [d.required_at for d in duties(result, "daily-report-until-review")] == [
        at("2026-11-02T10:00Z"), at("2026-11-03T10:00Z"), at("2026-11-04T10:00Z")]
    assert not [u for u in result.upcoming if u.rule == "daily-report-until-review"]


MORE = """
protocol: {id: more-test, area: Test, title: Test, version: "1", seed: none.txt, authorities: [Home Council]}
roles:
  sw: {title: Social Worker, role: social_worker}
  police: {title: Police, role: police}
rules:
  - id: follow-up-after-refusal
    duty: return_interview_follow_up
    title: If the child refuses the interview, the social worker follows up within 5 days
    clock: {from: duty_done, duty: return_interview, outcome: declined}
    due: within 5 days
    roles: [sw]
    source: {section: "1", quote: q}
  - id: prevention-interview-unless-returned-by-police
    duty: safe_and_well_check
    title: Prevention interview within 24 hours, unless the police found the child
    when: {not: {episode.returned_by: police}}
    clock: {from: found}
    due: within 24 hours
    roles: [police]
    source: {section: "2", quote: q}
  - id: placed-in-another-authority
    duty: inform_host_authority
    title: Host authority told of a child placed in another authority's area
    when: {child.placed_away_from_placing_authority: true}
    clock: {from: reported}
    due: within 24 hours
    roles: [sw]
    source: {section: "3", quote: q}
"""


@pytest.fixture
def more(write_pack: Callable[[str], Path]) -> Pack:
    return validate_pack(write_pack(MORE, "more.yaml"))


def test_a_follow_up_runs_from_the_refusal_not_from_a_completed_interview(more: Pack) -> None:
    refused = [{"duty": "return_interview", "at": "2026-11-04T12:00Z", "outcome": "declined"}]
    h = history(episode("E1", "2026-11-02T09:00Z", found_at="2026-11-03T10:00Z", events=refused))
    duty = only(evaluate(more, h, at("2026-11-05T10:00Z")), "follow-up-after-refusal")
    assert (duty.required_at, duty.due) == (at("2026-11-04T12:00Z"), at("2026-11-09T12:00Z"))
    done = [{"duty": "return_interview", "at": "2026-11-04T12:00Z"}]
    h = history(episode("E1", "2026-11-02T09:00Z", found_at="2026-11-03T10:00Z", events=done))
    assert not duties(evaluate(more, h, at("2026-11-05T10:00Z")), "follow-up-after-refusal")


@pytest.mark.parametrize(("returned_by", "required"), [("police", False), ("own_accord", True), (None, True)])
def test_how_the_child_came_back_decides_a_duty_once_found(more: Pack, returned_by: str | None,
                                                             required: bool) -> None:
    extra = {} if returned_by is None else {"returned_by": returned_by}
    h = history(episode("E1", "2026-11-02T09:00Z", found_at="2026-11-03T10:00Z", **extra))
    assert bool(duties(evaluate(more, h, at("2026-11-03T11:00Z")), "prevention-interview-unless-returned-by-police")) \
        is required


@pytest.mark.parametrize(("placing", "host", "required"), [("Halton", "Cheshire East", True),
                                                           ("Halton", "Halton", False), (None, "Halton", False)])
def test_placed_in_another_authoritys_area(more: Pack, placing: str | None, host: str, required: bool) -> None:
    h = history(episode("E1", "2026-11-02T09:00Z", reported_at="2026-11-02T10:00Z"), looked_after=True,
                placement={"type": "foster", "placing_authority": placing, "host_authority": host})
    assert bool(duties(evaluate(more, h, at("2026-11-02T11:00Z")), "placed-in-another-authority")) is required


# ---------------------------------------------------------------------------------------------------------
# X2 again: a recorded act is one person's. Rules of the event's kind that share its credit (`done_by`) take it
# only with a holder in common; another kind's act that the pack says meets a duty (`done_by`) does, whoever.

PEOPLE = """
protocol: {id: people-test, area: Test, title: Test, version: "1", seed: none.txt}
readings:
  immediately: {allows: 1 hour, interpretation: an act within the hour is immediate}
roles:
  foster: {title: Foster carer, role: carer}
  sw: {title: Social Worker, role: social_worker}
  tm: {title: Team Manager, role: team_manager}
  police: {title: Police, role: police}
rules:
  - id: carer-tells-social-worker
    duty: inform_social_worker
    title: The carer immediately informs the social worker or out of hours
    clock: {from: noticed}
    due: immediately
    done_by: [inform_social_worker, inform_out_of_hours_service]
    roles: [foster]
    source: {section: "1", quote: q}
  - id: social-worker-tells-team-manager
    duty: inform_social_worker
    title: The social worker informs the team manager within 24 hours
    clock: {from: reported}
    due: within 24 hours
    roles: [sw]
    source: {section: "2", quote: q}
  - id: team-manager-tells-service-manager
    duty: inform_senior_manager
    title: The team manager informs the service manager within 24 hours of the report
    clock: {from: reported}
    due: within 24 hours
    roles: [tm]
    source: {section: "3", quote: q}
  - id: team-manager-tells-service-manager-after-the-meeting
    duty: inform_senior_manager
    title: After the strategy discussion the team manager informs the service manager within 24 hours
    clock: {from: duty_done, duty: strategy_discussion}
    due: within 24 hours
    done_by: [inform_senior_manager]
    roles: [tm]
    source: {section: "4", quote: q}
  - id: safe-and-well
    duty: safe_and_well_check
    title: The police check the child is safe and well within 24 hours of return
    clock: {from: found}
    due: within 24 hours
    roles: [police]
    source: {section: "5", quote: q}
  - id: carer-calls-police-on-return
    duty: police_called_on_return
    title: The carer calls the police within the hour of return; the police attending also meets it
    clock: {from: found}
    due: immediately
    done_by: [police_called_on_return, safe_and_well_check]
    roles: [foster]
    source: {section: "6", quote: q}
  - id: placement-notified
    duty: placement_notification
    title: The placement is notified within 24 hours of its start
    clock: {from: placement_started}
    due: within 24 hours
    roles: [sw]
    source: {section: "7", quote: q}
"""


@pytest.fixture
def people(write_pack: Callable[[str], Path]) -> Pack:
    return validate_pack(write_pack(PEOPLE, "people.yaml"))


def _noticed_20_reported_20_15(*events: dict[str, Any], found: str | None = None) -> History:
    more: dict[str, Any] = {"found_at": found} if found else {}
    return history(episode("E1", "2026-11-02T19:00Z", noticed_at="2026-11-02T20:00Z",
                           reported_at="2026-11-02T20:15Z", events=list(events), **more), looked_after=True)


def test_an_unattributed_call_to_the_social_worker_is_the_carers_not_also_the_social_workers(people: Pack) -> None:
    # Noticed Mon 20:00: the carer's duty is due 21:00. Reported 20:15: the social worker's is due Tue 20:15.
    # The call at 20:30 does the duty due soonest, the carer's; the social worker's is overdue from Tue 20:16.
    h = _noticed_20_reported_20_15({"duty": "inform_social_worker", "at": "2026-11-02T20:30Z"})
    result = evaluate(people, h, at("2026-11-03T20:16Z"))
    carer = only(result, "carer-tells-social-worker")
    assert (carer.state, carer.done_at, carer.due) == (DutyState.DONE_ON_TIME, at("2026-11-02T20:30Z"),
                                                      at("2026-11-02T21:00Z"))
    social_worker = only(result, "social-worker-tells-team-manager")
    assert (social_worker.state, social_worker.due) == (DutyState.OVERDUE, at("2026-11-03T20:15Z"))
    assert only(evaluate(people, h, at("2026-11-03T20:15Z")), "social-worker-tells-team-manager").state \
        is DutyState.DUE  # just before: due, at its deadline


def test_a_call_recorded_as_the_social_workers_is_theirs_and_not_the_carers(people: Pack) -> None:
    h = _noticed_20_reported_20_15({"duty": "inform_social_worker", "at": "2026-11-02T20:30Z", "by": "sw"})
    result = evaluate(people, h, at("2026-11-03T20:16Z"))
    assert only(result, "social-worker-tells-team-manager").state is DutyState.DONE_ON_TIME
    assert only(result, "carer-tells-social-worker").state is DutyState.OVERDUE  # due 21:00, never done


def test_one_call_by_the_same_person_meets_both_of_their_duties_that_share_it(people: Pack) -> None:
    # Reported 20:15: due Tue 20:15. The strategy discussion at 22:00: the second duty due Tue 22:00. One call
    # at Tue 09:00 by the team manager does both; one at 21:59, before the discussion, only the first.
    meeting = {"duty": "strategy_discussion", "at": "2026-11-02T22:00Z"}
    after = _noticed_20_reported_20_15(meeting, {"duty": "inform_senior_manager", "at": "2026-11-03T09:00Z"})
    result = evaluate(people, after, at("2026-11-04T10:00Z"))
    assert only(result, "team-manager-tells-service-manager").state is DutyState.DONE_ON_TIME
    assert only(result, "team-manager-tells-service-manager-after-the-meeting").state is DutyState.DONE_ON_TIME
    before = _noticed_20_reported_20_15({"duty": "inform_senior_manager", "at": "2026-11-02T21:59Z"}, meeting)
    result = evaluate(people, before, at("2026-11-04T10:00Z"))
    assert only(result, "team-manager-tells-service-manager").state is DutyState.DONE_ON_TIME
    later = only(result, "team-manager-tells-service-manager-after-the-meeting")
    assert (later.state, later.due) == (DutyState.OVERDUE, at("2026-11-03T22:00Z"))


def test_the_police_attending_meets_the_carers_call_to_them_whoever_recorded_it(people: Pack) -> None:
    # Found Tue 14:00: the carer's call due 15:00, the check due Wed 14:00. The police's check at 14:40 does both.
    h = _noticed_20_reported_20_15({"duty": "safe_and_well_check", "at": "2026-11-03T14:40Z"},
                                   found="2026-11-03T14:00Z")
    result = evaluate(people, h, at("2026-11-04T15:00Z"))
    assert only(result, "safe-and-well").state is DutyState.DONE_ON_TIME
    call = only(result, "carer-calls-police-on-return")
    assert (call.state, call.done_at) == (DutyState.DONE_ON_TIME, at("2026-11-03T14:40Z"))


@pytest.mark.parametrize(("notified", "state"), [("2026-06-02T11:00:00Z", DutyState.DONE_ON_TIME),
                                                  ("2026-06-02T11:01:00Z", DutyState.DONE_LATE)])
def test_a_duty_of_the_childs_own_is_done_by_an_act_recorded_in_a_later_episode(
        people: Pack, notified: str, state: DutyState) -> None:
    # Placed 12:00 BST Mon 1 June 2026 (11:00 UTC): notified within 24 hours, by 11:00 UTC Tue 2 June. The duty
    # is shown with the first episode (November 2025); the notification is recorded in the episode of September.
    h = history(episode("E1", "2025-11-02T16:00Z", reported_at="2025-11-02T17:00Z", found_at="2025-11-02T20:00Z"),
                episode("E2", "2026-09-02T15:00Z", reported_at="2026-09-02T16:00Z", found_at="2026-09-02T19:00Z",
                        events=[{"duty": "placement_notification", "at": notified, "by": "sw"}]),
                looked_after=True, placement={"type": "foster", "started_at": "2026-06-01T12:00:00+01:00"})
    result = evaluate(people, h, at("2026-09-10T09:00Z"))
    duty = only(result, "placement-notified")
    assert (duty.episode, duty.due, duty.state, duty.done_at) == ("E1", at("2026-06-02T11:00Z"), state, at(notified))
    assert "event-not-credited" not in {f.check for f in result.findings}
