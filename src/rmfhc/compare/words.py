"""Rules and conditions in plain English, for auditors.

Everything the comparison shows about a rule is written here: who holds it, what starts its clock, its
deadline, what happens when the child is found, its escalation and the conditions it applies under
("child in care and aged under 12", "episode kinds: missing or absconded"). Nothing here prints a Python
value: booleans, lists and None are always turned into words, and a fact or test this module does not know
yet (the pack format grows) is still written as words ("placement distance miles over 20").

Two lengths: the long forms for the detail, CSV and diff sentences, and the short forms (`short_*`) for the
cells of the compact matrix ("Team Manager · 24 h from report (9.3)").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from ..conditions import Always
from ..dates import Duration, Unit
from ..pack import ClockFrom, Deadline, DeadlineKind, EscalationStep, Holder, OnReturn, Role, Rule
from ..words import (
    capital,
    describe_condition,
    duty_words,
    either,
    episode_words,
    ordinal,
    plain,
    role_words,
    title_words,
    words,
)

NONE = "—"

def describe_applies(rule: Rule, localities: Mapping[str, str] | None = None) -> str:
    """Who a rule applies to: its conditions, and its episode kinds when not just missing episodes."""
    parts = []
    kinds = sorted(kind.value for kind in rule.episodes)
    if kinds != ["missing"]:
        parts.append(f"{'episode kinds' if len(kinds) > 1 else 'episode kind'}: "
                     f"{either([episode_words(k) for k in kinds])}")
    if not isinstance(rule.when, Always):
        parts.append(describe_condition(rule.when, localities))
    return "; ".join(parts) or "every child"


# ---------------------------------------------------------------------------------------------------------
# Time: durations, clocks, deadlines.


def duration_words(duration: Duration) -> str:
    """"24 hours", "3 working days", "1 week"."""
    return str(duration)


def short_duration(duration: Duration) -> str:
    """"24 h", "30 min", "3 days", "3 working days"."""
    if duration.unit is Unit.HOURS:
        return f"{duration.amount} h"
    if duration.unit is Unit.MINUTES:
        return f"{duration.amount} min"
    return str(duration)


_START: dict[ClockFrom, str] = {
    ClockFrom.LAST_SEEN: "the child last being seen",
    ClockFrom.NOTICED: "the absence being noticed",
    ClockFrom.REPORTED: "the report to police",
    ClockFrom.RISK_GRADED: "the first {levels} risk grading",
    ClockFrom.FOUND: "the child's return",
    ClockFrom.FOUND_REPORT_RECEIVED: "the found report reaching children's services",
    ClockFrom.DUTY_DONE: "the {duty}",
    ClockFrom.EPISODE_COUNT: "the start of the {count} missing episode {window}",
    ClockFrom.PLACEMENT_STARTED: "the start of the placement",
    ClockFrom.BECAME_LOOKED_AFTER: "the child coming into care",
}
_SHORT_START: dict[ClockFrom, str] = {
    ClockFrom.LAST_SEEN: "last seen",
    ClockFrom.NOTICED: "noticed",
    ClockFrom.REPORTED: "report",
    ClockFrom.RISK_GRADED: "{levels} grading",
    ClockFrom.FOUND: "return",
    ClockFrom.FOUND_REPORT_RECEIVED: "found report",
    ClockFrom.DUTY_DONE: "{duty}",
    ClockFrom.EPISODE_COUNT: "{count} episode {short_window}",
    ClockFrom.PLACEMENT_STARTED: "placement",
    ClockFrom.BECAME_LOOKED_AFTER: "coming into care",
}


def _start_fields(rule: Rule) -> dict[str, str]:
    clock = rule.clock
    levels = either(sorted(level.value.replace("_", " ") for level in clock.levels))
    window = "in the whole history" if clock.within is None else f"within {clock.within}"
    short_window = "ever" if clock.within is None else f"in {short_duration(clock.within)}"
    return {"levels": levels, "duty": duty_words(clock.duty or ""), "count": ordinal(clock.count or 1),
            "window": window, "short_window": short_window}


def clock_start(rule: Rule) -> str:
    """What starts the clock, as a noun phrase: "the report to police", "the child's return"."""
    return _START.get(rule.clock.start, words(str(rule.clock.start))).format(**_start_fields(rule))


def _anchor(rule: Rule, start: str, short: bool) -> str:
    clock = rule.clock
    text = start
    if clock.after is not None:
        text = f"{text} + {short_duration(clock.after)}" if short else f"{clock.after} after {text}"
    if clock.time_of_day is not None:
        text = f"{clock.time_of_day:%H:%M} following {text}"
    return text


def describe_clock(rule: Rule) -> str:
    """When the duty becomes required, in words: "48 hours after the report to police, if still missing then"."""
    clock = rule.clock
    text = _anchor(rule, clock_start(rule), short=False)
    if clock.start is ClockFrom.EPISODE_COUNT and clock.retrigger_each_episode:
        text += " (each such episode)"
    if clock.if_still_missing:
        text += ", if still missing then"
    return capital(text)


def describe_deadline(deadline: Deadline) -> str:
    """"within 24 hours", "next working day", "as soon as possible (read as within 24 hours)"."""
    if deadline.kind is DeadlineKind.PHRASE and deadline.within is not None:
        return f"{deadline.text} (read as within {deadline.within})"
    return deadline.text


def describe_timing(rule: Rule) -> str:
    """Deadline and clock as one phrase: "within 24 hours of the report to police", "if still missing 72 hours
    after the report to police, as soon as possible (read as within 24 hours)"."""
    clock = rule.clock
    anchor = _anchor(rule, clock_start(rule), short=False)
    deadline = rule.deadline
    reading = f" (read as within {deadline.within})" if deadline.within is not None else ""
    if clock.if_still_missing:
        still = f"if still missing {anchor}" if clock.after or clock.time_of_day else f"if still missing at {anchor}"
        if deadline.kind is DeadlineKind.NEXT_WORKING_DAY:
            return f"{still}, by the next working day"
        if deadline.kind is DeadlineKind.PHRASE:
            return f"{still}, {deadline.text}{reading}"
        return f"{still}, {deadline.text}"
    if deadline.kind is DeadlineKind.NEXT_WORKING_DAY:
        return f"by the next working day after {anchor}"
    if deadline.kind is DeadlineKind.PHRASE:
        return f"{deadline.text} after {anchor}{reading}"
    return f"{deadline.text} of {anchor}"


_PHRASE_SHORT = {"as soon as possible": "ASAP", "as soon as practicable": "ASAP", "immediately": "at once",
                 "without delay": "at once"}


def short_deadline(deadline: Deadline, readings: Mapping[str, Duration] | None = None) -> str:
    """"24 h", "next working day", "immediately (1 h)", "ASAP (24 h)"; a phrase read as in `readings` (the
    reading every compared protocol shares, said once in the legend) without its reading."""
    if deadline.kind is DeadlineKind.NEXT_WORKING_DAY:
        return "next working day"
    if deadline.kind is DeadlineKind.PHRASE:
        phrase = _PHRASE_SHORT.get(deadline.text, deadline.text)
        if deadline.within is None or (readings or {}).get(deadline.text) == deadline.within:
            return phrase
        return f"{phrase} ({short_duration(deadline.within)})"
    return short_duration(deadline.within) if deadline.within is not None else deadline.text


def short_timing(rule: Rule, readings: Mapping[str, Duration] | None = None) -> str:
    """Deadline and clock in a few words: "24 h from report", "ASAP at 48 h missing" (if still missing 48 hours
    after the report), "6 h from last seen + 2 h if missing"."""
    clock = rule.clock
    deadline = short_deadline(rule.deadline, readings)
    if (clock.start is ClockFrom.REPORTED and clock.after is not None and clock.if_still_missing
            and clock.time_of_day is None):
        return f"{deadline} at {short_duration(clock.after)} missing"
    start = _SHORT_START.get(clock.start, words(str(clock.start))).format(**_start_fields(rule))
    text = f"{deadline} from {_anchor(rule, start, short=True)}"
    return text + (" if missing" if clock.if_still_missing else "")


# ---------------------------------------------------------------------------------------------------------
# People: holders, recipients, escalation.


def describe_holder(holder: Holder, localities: Mapping[str, str] | None = None) -> str:
    """A holder's local title, with the children it holds the duty for where it depends on the child."""
    text = title_words(holder.role)
    if holder.when is not None and not isinstance(holder.when, Always):
        text += f" (for a child: {describe_condition(holder.when, localities)})"
    return text


def describe_holders(holders: Iterable[Holder], localities: Mapping[str, str] | None = None) -> str:
    """Local titles, "; " between them; "—" for none."""
    return "; ".join(describe_holder(h, localities) for h in holders) or NONE


_ROLE_SHORT = {
    "police": "Police", "police_supervisor": "Police sergeant", "police_senior_officer": "Senior police",
    "police_missing_coordinator": "Police co-ordinator", "carer": "Carer", "registered_manager": "Home manager",
    "parent": "Parent", "social_worker": "Social worker", "team_manager": "Team manager",
    "service_manager": "Service manager", "head_of_service": "Head of service", "senior_leadership": "Senior leader",
    "out_of_hours_service": "Out of hours", "iro": "IRO", "cp_manager": "CP manager",
    "missing_coordinator": "Missing officer", "front_door": "Front door", "return_interviewer": "Interviewer",
    "early_help_worker": "Early help", "placing_authority": "Placing LA", "host_authority": "Host LA",
    "school": "School", "youth_offending_service": "YOS", "legal_services": "Legal", "health": "Health",
    "multi_agency_group": "Multi-agency group"}


def short_role(canonical: str) -> str:
    """A canonical role in one or two words, for the matrix: "Team manager", "Placing LA", "YOS"."""
    return _ROLE_SHORT.get(canonical, capital(role_words(canonical)))


def short_holders(rule: Rule, limit: int = 22) -> str:
    """The holders by their canonical roles, in a few words: "Team manager", "Social worker & Team manager",
    "Social worker +2" (several names longer than `limit`). The same role under several local titles is said
    once."""
    names = list(dict.fromkeys(short_role(h.role.role) for h in rule.holders))
    joined = " & ".join(names)
    if len(names) <= 1 or len(joined) <= limit:
        return joined or NONE
    return f"{names[0]} +{len(names) - 1}"


def canonical_roles(roles: Iterable[Role]) -> tuple[str, ...]:
    """The canonical roles, sorted and without repeats: what is compared between areas."""
    return tuple(sorted({role.role for role in roles}))


def titles(roles: Iterable[Role]) -> str:
    """Local titles joined with " and "."""
    return either(list(dict.fromkeys(title_words(r) for r in roles)), "and") or "nobody"


def describe_step(step: EscalationStep) -> str:
    """One escalation step: "at the deadline, to Team Manager and Service Manager: alert ..."."""
    when = "at the deadline" if step.after.amount == 0 else f"{step.after} after the deadline"
    return f"{when}, to {titles(step.to)}: {plain(step.action)}"


def describe_escalation(rule: Rule) -> str:
    """Every escalation step, " / " between them; "none"."""
    return " / ".join(describe_step(step) for step in rule.escalation) or "none"


# ---------------------------------------------------------------------------------------------------------
# What happens after: on return, repeats, what does the duty.

_ON_RETURN = {OnReturn.CONTINUES: "still due after the child is found",
              OnReturn.STANDS_DOWN: "stands down if the child is found first",
              OnReturn.MISSED: "missed if not done before the child is found"}


def describe_on_return(rule: Rule) -> str:
    """What an undone duty becomes when the child is found."""
    return _ON_RETURN.get(rule.on_return, words(str(rule.on_return)))


def describe_repeat(rule: Rule) -> str:
    """"every 5 days for 6 months, while still missing"; "no"."""
    repeat = rule.repeat
    if repeat is None:
        return "no"
    text = f"every {repeat.every}"
    text += " after the previous one was done" if repeat.from_previous else ""
    text += f" for {repeat.until}" if repeat.until is not None else ""
    text += f", at most {repeat.count} times" if repeat.count is not None else ""
    return text + (", while still missing" if repeat.while_missing else "")


_PSEUDO = {"reported": "the report to police", "found": "the child being found", "regraded": "a later risk grading"}


def describe_done_by(rule: Rule) -> str:
    """What does the duty, when it is not just an act of its own kind."""
    if rule.done_by == frozenset({rule.duty}):
        return ""
    return either(sorted(_PSEUDO.get(name, duty_words(name)) for name in rule.done_by))


def describe_clause(rule: Rule) -> str:
    """The section cited, and any further sections: "9.3 (also 5.12)"."""
    also = sorted(dict.fromkeys(c.section for c in rule.also_cites if c.section != rule.source.section))
    return rule.source.section + (f" (also {', '.join(also)})" if also else "")


def describe_deadline_in_full(rule: Rule) -> str:
    """The deadline with what ends it: on return, repeats, what does it, earlier acts, declining."""
    parts = [describe_deadline(rule.deadline), describe_on_return(rule)]
    if rule.repeat is not None:
        parts.append(f"repeats {describe_repeat(rule)}")
    done_by = describe_done_by(rule)
    if done_by:
        parts.append(f"done by {done_by}")
    if rule.counts_earlier_events:
        parts.append("an act before the clock started also counts")
    if rule.can_be_declined:
        parts.append("the child or family may decline it")
    return "; ".join(parts)
