"""Engine semantics on a small pack written here, so each behaviour is tested apart from any area.

The expected times are worked out by hand in the comments.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from rmfhc import EvaluationError, History, evaluate, load_history, validate_pack
from rmfhc.evaluate import DutyState, EscalationState, Evaluation
from rmfhc.pack import Pack

PACK = """
protocol: {id: engine-test, area: Test, title: Test, version: "1", seed: dorset.txt,
           authorities: [Home Council]}
office_hours: {opens: "09:00", closes: "17:00"}
readings:
  immediately: {allows: 1 hour, interpretation: an act within the hour is immediate in this test pack}
roles:
  tm: {title: Team Manager, role: team_manager}
  sm: {title: Service Manager, role: service_manager}
  sw: {title: Social Worker, role: social_worker}
rules:
  - id: sd-in-care
    duty: strategy_discussion
    title: Strategy discussion, child in care
    when: {child.looked_after: true}
    clock: {from: reported}
    due: within 24 hours
    on_return: stands_down
    roles: [tm]
    escalation: [{after: 0 hours, to: [tm, sm], action: alert}]
    source: {section: "1", quote: q}
  - id: sd-other
    duty: strategy_discussion
    title: Strategy discussion, any other child
    clock: {from: reported}
    due: within 72 hours
    roles: [tm]
    source: {section: "2", quote: q}
  - id: sd-under-12-override
    duty: strategy_discussion
    title: Strategy discussion at once, under 12
    when: {child.age: {under: 12}}
    overrides: [sd-other]
    clock: {from: reported}
    due: immediately
    roles: [tm]
    source: {section: "3", quote: q}
  - id: review-48h
    duty: missing_review_meeting
    title: Review at 48 hours, then every 5 days
    clock: {from: reported, after: 48 hours, if_still_missing: true}
    due: within 1 working day
    repeat: {every: 5 days, while_missing: true}
    roles: [sm]
    source: {section: "4", quote: q}
  - id: three-in-30
    duty: repeat_missing_meeting
    title: Trigger meeting, three in 30 days
    clock: {from: episode_count, count: 3, within: 30 days}
    due: within 7 days
    roles: [tm]
    source: {section: "5", quote: q}
  - id: interview
    duty: return_interview
    title: Return interview
    clock: {from: found}
    due: within 72 hours
    can_be_declined: true
    roles: [sw]
    escalation:
      - {after: 2 weeks, to: [tm], action: reminder}
      - {after: 4 weeks, to: [sm], action: escalate}
    source: {section: "6", quote: q}
  - id: no-apparent-risk-review
    duty: police_risk_review
    title: No apparent risk for at most 24 hours
    clock: {from: risk_graded, levels: [no_apparent_risk]}
    due: within 24 hours
    done_by: [regraded, found]
    roles: [tm]
    source: {section: "7", quote: q}
checks:
  - id: graded-low
    finding: graded low
    when: {episode.risk_levels: {contains: low}}
    source: {section: "8", quote: q}
"""


@pytest.fixture
def pack(write_pack: Callable[[str], Path]) -> Pack:
    return validate_pack(write_pack(PACK))


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def history(*episodes: dict[str, Any], **child: Any) -> History:
    child = {"date_of_birth": "2011-05-02", **child}
    return load_history({"child": child, "episodes": list(episodes)})


def episode(eid: str, last_seen: str, **more: Any) -> dict[str, Any]:
    return {"id": eid, "kind": "missing", "last_seen_at": last_seen, **more}


def duties(result: Evaluation, rule: str) -> list[Any]:
    return [d for d in result.duties if d.rule == rule]


def test_child_in_care_strategy_discussion_due_24_hours_after_report_just_before_and_after(pack: Pack) -> None:
    h = history(episode("E1", "2026-11-02T09:00Z", reported_at="2026-11-02T10:00Z"), looked_after=True)
    before = duties(evaluate(pack, h, at("2026-11-03T10:00Z")), "sd-in-care")[0]
    after = duties(evaluate(pack, h, at("2026-11-03T10:01Z")), "sd-in-care")[0]
    assert before.due == at("2026-11-03T10:00Z")
    assert before.state is DutyState.DUE
    assert after.state is DutyState.OVERDUE
    assert after.escalation[0].state is EscalationState.ACTIVE
    assert [r.key for r in after.escalation[0].to] == ["tm", "sm"]


def test_found_before_the_deadline_stands_the_discussion_down(pack: Pack) -> None:
    h = history(episode("E1", "2026-11-02T09:00Z", reported_at="2026-11-02T10:00Z", found_at="2026-11-02T15:00Z"),
                looked_after=True)
    duty = duties(evaluate(pack, h, at("2026-11-04T10:00Z")), "sd-in-care")[0]
    assert duty.state is DutyState.STOOD_DOWN
    assert duty.escalation[0].state is EscalationState.NOT_NEEDED


def test_done_at_the_deadline_is_on_time_and_a_minute_later_is_late(pack: Pack) -> None:
    for done, state in (("2026-11-03T10:00Z", DutyState.DONE_ON_TIME), ("2026-11-03T10:01Z", DutyState.DONE_LATE)):
        h = history(episode("E1", "2026-11-02T09:00Z", reported_at="2026-11-02T10:00Z",
                            events=[{"duty": "strategy_discussion", "at": done}]), looked_after=True)
        assert duties(evaluate(pack, h, at("2026-11-05T10:00Z")), "sd-in-care")[0].state is state


def test_an_event_after_as_of_is_not_yet_known(pack: Pack) -> None:
    h = history(episode("E1", "2026-11-02T09:00Z", reported_at="2026-11-02T10:00Z",
                        events=[{"duty": "strategy_discussion", "at": "2026-11-02T12:00Z"}]), looked_after=True)
    assert duties(evaluate(pack, h, at("2026-11-02T11:00Z")), "sd-in-care")[0].state is DutyState.DUE


def test_override_replaces_the_general_rule_for_a_child_under_12_until_the_birthday(pack: Pack) -> None:
    # Born 2014-11-10: 11 on 9 November 2026, 12 from 10 November (local date of last seen).
    day_before = history(episode("E1", "2026-11-09T23:59Z", reported_at="2026-11-10T00:30Z"),
                         date_of_birth="2014-11-10")
    birthday = history(episode("E1", "2026-11-10T00:00Z", reported_at="2026-11-10T00:30Z"),
                       date_of_birth="2014-11-10")
    r1 = evaluate(pack, day_before, at("2026-11-10T01:00Z"))
    r2 = evaluate(pack, birthday, at("2026-11-10T01:00Z"))
    assert duties(r1, "sd-under-12-override") and not duties(r1, "sd-other")
    assert duties(r1, "sd-under-12-override")[0].deadline == "immediately"
    assert duties(r1, "sd-under-12-override")[0].allows == "1 hour"
    # Reported 00:30, immediately read as within the hour: due 01:30, still due at 01:00.
    assert duties(r1, "sd-under-12-override")[0].due == at("2026-11-10T01:30Z")
    assert duties(r1, "sd-under-12-override")[0].state is DutyState.DUE
    assert duties(r2, "sd-other") and not duties(r2, "sd-under-12-override")


def test_missing_48_hours_is_upcoming_until_then_and_repeats_every_5_days_while_missing(pack: Pack) -> None:
    # Reported Mon 2 Nov 10:00; 48 hours: Wed 4 Nov 10:00, due end of Thu 5 Nov; then Mon 9 Nov 10:00.
    h = history(episode("E1", "2026-11-02T09:00Z", reported_at="2026-11-02T10:00Z"))
    early = evaluate(pack, h, at("2026-11-04T09:59Z"))
    assert not duties(early, "review-48h")
    assert [(u.rule, u.at, u.if_still_missing) for u in early.upcoming if u.rule == "review-48h"] == [
        ("review-48h", at("2026-11-04T10:00Z"), True)]
    later = evaluate(pack, h, at("2026-11-09T10:00Z"))
    first, second = duties(later, "review-48h")
    assert (first.required_at, first.due) == (at("2026-11-04T10:00Z"), at("2026-11-05T17:00Z"))
    assert (second.occurrence, second.required_at) == (2, at("2026-11-09T10:00Z"))
    assert [u.at for u in later.upcoming if u.rule == "review-48h"] == [at("2026-11-14T10:00Z")]


def test_found_at_47_hours_59_means_no_48_hour_review(pack: Pack) -> None:
    h = history(episode("E1", "2026-11-02T09:00Z", reported_at="2026-11-02T10:00Z", found_at="2026-11-04T09:59Z"))
    result = evaluate(pack, h, at("2026-11-10T10:00Z"))
    assert not duties(result, "review-48h")
    assert not [u for u in result.upcoming if u.rule == "review-48h"]


def test_repeats_stop_once_found(pack: Pack) -> None:
    h = history(episode("E1", "2026-11-02T09:00Z", reported_at="2026-11-02T10:00Z", found_at="2026-11-09T09:00Z"))
    assert len(duties(evaluate(pack, h, at("2026-11-30T10:00Z")), "review-48h")) == 1


@pytest.mark.parametrize(("third_seen", "triggers"), [("2026-11-30T10:00Z", True), ("2026-11-30T10:01Z", False)])
def test_three_in_30_days_counts_the_window_inclusively(pack: Pack, third_seen: str, triggers: bool) -> None:
    # First episode last seen 31 Oct 10:00 GMT; 30 days before 30 Nov 10:00 is 31 Oct 10:00: inside.
    h = history(
        episode("E1", "2026-10-31T10:00Z", found_at="2026-10-31T12:00Z"),
        episode("E2", "2026-11-15T10:00Z", found_at="2026-11-15T12:00Z"),
        episode("E3", third_seen),
    )
    found = duties(evaluate(pack, h, at("2026-12-01T10:00Z")), "three-in-30")
    assert bool(found) is triggers
    if triggers:
        assert (found[0].episode, found[0].due) == ("E3", at("2026-12-07T10:00Z"))


def test_a_fourth_episode_in_the_same_window_does_not_trigger_again(pack: Pack) -> None:
    h = history(*[episode(f"E{i}", f"2026-11-0{i}T10:00Z", found_at=f"2026-11-0{i}T12:00Z") for i in range(1, 5)])
    assert [d.episode for d in duties(evaluate(pack, h, at("2026-11-05T10:00Z")), "three-in-30")] == ["E3"]


def test_return_interview_escalates_two_and_four_weeks_after_the_due_time(pack: Pack) -> None:
    h = history(episode("E1", "2026-11-02T09:00Z", reported_at="2026-11-02T10:00Z", found_at="2026-11-03T12:00Z"))
    duty = duties(evaluate(pack, h, at("2026-11-20T12:01Z")), "interview")[0]
    assert duty.due == at("2026-11-06T12:00Z")
    assert [(e.at, e.state) for e in duty.escalation] == [
        (at("2026-11-20T12:00Z"), EscalationState.ACTIVE), (at("2026-12-04T12:00Z"), EscalationState.PENDING)]


def test_a_declined_interview_is_declined_not_done(pack: Pack) -> None:
    h = history(episode("E1", "2026-11-02T09:00Z", found_at="2026-11-03T12:00Z",
                        events=[{"duty": "return_interview", "at": "2026-11-04T12:00Z", "outcome": "declined"}]))
    duty = duties(evaluate(pack, h, at("2026-11-20T12:00Z")), "interview")[0]
    assert (duty.state, duty.done_at, duty.late_by) == (DutyState.DECLINED, at("2026-11-04T12:00Z"), None)


def test_no_apparent_risk_review_is_done_by_a_later_grading(pack: Pack) -> None:
    grades = [{"graded_at": "2026-11-02T10:00Z", "level": "no_apparent_risk"},
              {"graded_at": "2026-11-03T10:01Z", "level": "medium"}]
    h = history(episode("E1", "2026-11-02T09:00Z", reported_at="2026-11-02T09:30Z", risk=grades))
    assert duties(evaluate(pack, h, at("2026-11-03T10:00Z")), "no-apparent-risk-review")[0].state is DutyState.DUE
    late = duties(evaluate(pack, h, at("2026-11-03T11:00Z")), "no-apparent-risk-review")[0]
    assert (late.state, late.done_at) == (DutyState.DONE_LATE, at("2026-11-03T10:01Z"))


def test_findings_come_from_checks_not_crashes(pack: Pack) -> None:
    h = history(episode("E1", "2026-11-02T09:00Z", risk=[{"graded_at": "2026-11-02T10:00Z", "level": "low"}],
                        events=[{"duty": "tea_and_biscuits", "at": "2026-11-02T11:00Z"}]))
    checks = {f.check for f in evaluate(pack, h, at("2026-11-02T12:00Z")).findings}
    # Never reported: the rules that run from the report are not assessed, and the finding says so.
    assert checks == {"graded-low", "unknown-duty-event", "not-reported"}


def test_as_of_before_the_first_episode_is_a_plain_error(pack: Pack) -> None:
    h = history(episode("E1", "2026-11-02T09:00Z"))
    with pytest.raises(EvaluationError, match="before the first episode"):
        evaluate(pack, h, at("2026-11-02T08:59Z"))
    with pytest.raises(EvaluationError, match="UTC offset"):
        evaluate(pack, h, datetime(2026, 11, 3))


def test_explain_records_each_condition_with_the_value_read(pack: Pack) -> None:
    h = history(episode("E1", "2026-11-02T09:00Z", reported_at="2026-11-02T10:00Z"), looked_after=True)
    duty = duties(evaluate(pack, h, at("2026-11-02T11:00Z"), explain=True), "sd-in-care")[0]
    assert duty.explanation is not None
    assert [(t.fact, t.value, t.held) for t in duty.explanation.tests] == [("child.looked_after", True, True)]
    assert duty.source.section == "1"


def test_results_are_in_utc_order_even_in_the_repeated_october_hour(pack: Pack) -> None:
    # 00:30 UTC is 01:30 BST, 01:10 UTC is 01:10 GMT: later in time, earlier on the wall clock.
    h = history(episode("E1", "2026-10-25T00:20Z", reported_at="2026-10-25T00:30Z", found_at="2026-10-25T00:50Z"),
                episode("E2", "2026-10-25T01:05Z", reported_at="2026-10-25T01:10Z"), looked_after=True)
    result = evaluate(pack, h, at("2026-10-25T02:00Z"))
    times = [d.required_at.astimezone(UTC) for d in result.duties]
    assert times == sorted(times)
    assert duties(result, "sd-in-care")[0].state is DutyState.STOOD_DOWN


def test_a_scenario_can_assert_escalation_steps(pack: Pack, tmp_path: Path) -> None:
    from rmfhc.scenarios import run_file

    (tmp_path / "s.yaml").write_text(f"""
protocol: {pack.path}
scenarios:
  - name: interview reminder active a minute after two weeks past due
    as_of: "2026-11-20T12:01:00Z"
    history:
      child: {{date_of_birth: "2011-05-02"}}
      episodes: [{{id: E1, kind: missing, last_seen_at: "2026-11-02T09:00:00Z", found_at: "2026-11-03T12:00:00Z"}}]
    expect:
      duties:
        - rule: interview
          escalation:
            - {{at: "2026-11-20T12:00:00Z", state: active, to: [tm]}}
            - {{at: "2026-12-04T12:00:00Z", state: active}}
""", encoding="utf-8")
    [result] = run_file(tmp_path / "s.yaml")
    assert result.status == "FAIL"
    assert result.failures == ["interview (6): escalation step 2 state: expected active, got pending"]
