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

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ..conditions import All, Always, AnyOf, Condition, Leaf, Not
from ..dates import Duration, Unit
from ..pack import ClockFrom, Deadline, DeadlineKind, EscalationStep, Holder, OnReturn, Role, Rule

NONE = "—"

# ---------------------------------------------------------------------------------------------------------
# Names: duty kinds, roles, episode kinds.

_UPPER = {"iro": "IRO", "nrm": "NRM", "uk": "UK", "cp": "CP", "send": "SEND"}


def plain(text: str) -> str:
    """Pack text on one line, whitespace collapsed."""
    return " ".join(text.split())


def words(name: str) -> str:
    """An identifier in words: `notify_childrens_services` -> "notify children's services"."""
    out = []
    for token in name.replace("-", "_").split("_"):
        if not token:
            continue
        out.append(_UPPER.get(token, "children's" if token == "childrens" else token))
    return " ".join(out)


def duty_words(duty: str) -> str:
    """A canonical duty kind in words: "strategy discussion", "NRM referral"."""
    return words(duty)


def capital(text: str) -> str:
    """First letter upper case, the rest as written."""
    return text[:1].upper() + text[1:]


_ROLE_WORDS = {"out_of_hours_service": "out-of-hours service", "missing_coordinator": "missing co-ordinator",
               "police_missing_coordinator": "police missing co-ordinator", "cp_manager": "child protection manager",
               "front_door": "children's services front door", "senior_leadership": "senior leadership"}


def role_words(canonical: str) -> str:
    """A canonical role of the vocabulary in words: "team manager", "IRO", "missing co-ordinator"."""
    return _ROLE_WORDS.get(canonical, words(canonical))


def title_words(role: Role) -> str:
    """A local title as written, on one line."""
    return plain(role.title)


_EPISODE_WORDS = {"away_from_placement": "away from placement", "missing_with_family": "missing with family",
                  "missing_from_education": "missing from education"}


def episode_words(kind: str) -> str:
    """An episode kind in words."""
    return _EPISODE_WORDS.get(kind, words(kind))


def either(items: Sequence[str], joiner: str = "or") -> str:
    """"a", "a or b", "a, b or c"."""
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {joiner} {items[-1]}"


# ---------------------------------------------------------------------------------------------------------
# Conditions.

_TRUE_FALSE: dict[str, tuple[str, str]] = {
    "child.looked_after": ("child in care", "child not in care"),
    "child.child_protection_plan": ("on a child protection plan", "not on a child protection plan"),
    "child.child_in_need": ("child in need", "not a child in need"),
    "child.known_to_childrens_services": ("known to children's services", "not known to children's services"),
    "child.open_to_childrens_services": ("open to children's services", "not open to children's services"),
    "child.placed_by_other_authority": ("placed by another authority", "not placed by another authority"),
    "child.placed_outside_area": ("placed outside the area", "not placed outside the area"),
    "child.exploitation_risk": ("at risk of exploitation", "not at risk of exploitation"),
    "child.trafficking_risk": ("at risk of trafficking", "not at risk of trafficking"),
    "child.unaccompanied_asylum_seeking": ("unaccompanied asylum-seeking child",
                                           "not an unaccompanied asylum-seeking child"),
    "child.youth_offending_service": ("known to the youth offending service",
                                      "not known to the youth offending service"),
    "child.flight_risk_with_family": ("at risk of being taken away by family", "not at risk of being taken away by "
                                      "family"),
    "child.disability_or_send": ("disabled or with special educational needs",
                                 "not disabled or with special educational needs"),
    "episode.reported": ("reported to police", "not reported to police"),
    "episode.reported_out_of_hours": ("reported out of office hours", "not reported out of office hours"),
    "episode.significant_harm": ("suffered significant harm while missing", "no significant harm while missing"),
    "episode.risk_of_significant_harm": ("at risk of significant harm", "not at risk of significant harm"),
    "episode.harm_disclosed_on_return": ("harm disclosed on return", "no harm disclosed on return"),
    "episode.exploitation_concern": ("exploitation concern in the episode", "no exploitation concern in the episode"),
    "episode.trafficking_concern": ("trafficking concern in the episode", "no trafficking concern in the episode"),
    "episode.removed_from_uk": ("believed taken out of the UK", "not believed taken out of the UK"),
}

_VALUE_WORDS: dict[str, dict[str, str]] = {
    "child.legal_basis": {"section_20": "accommodated under section 20", "care_order": "on a care order",
                          "interim_care_order": "on an interim care order", "remanded": "remanded",
                          "none": "with no legal order"},
    "child.placement.type": {"home": "the family home", "foster": "foster care",
                             "childrens_home": "a children's home",
                             "semi_independent": "semi-independent accommodation",
                             "placed_with_parents": "a placement with parents", "other": "another placement"},
    "episode.kind": _EPISODE_WORDS,
    "episode.initial_risk": {"no_apparent_risk": "no apparent risk"},
    "episode.highest_risk": {"no_apparent_risk": "no apparent risk"},
    "episode.risk_levels": {"no_apparent_risk": "no apparent risk"},
}

_SUBJECT = {"child.age": "age", "child.legal_basis": "legal basis", "child.placement.type": "placement",
            "child.placement.distance_miles": "placement distance", "child.locality": "locality",
            "episode.kind": "episode kind", "episode.initial_risk": "first risk grading",
            "episode.highest_risk": "risk grading", "episode.number": "missing episode number",
            "child.looked_after_days": "time in care"}

_NUMBER_TESTS = {"under": "under {n}", "at_least": "{n} or over", "over": "over {n}", "at_most": "{n} or under"}


def _value(fact: str, value: Any, localities: Mapping[str, str]) -> str:
    """One value of a fact in words; never a Python repr."""
    if value is None:
        return "not known"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value)
    if fact == "child.locality":
        return localities.get(text, words(text))
    return _VALUE_WORDS.get(fact, {}).get(text, words(text) if isinstance(value, str) else text)


def _values(fact: str, expected: Any, localities: Mapping[str, str]) -> list[str]:
    items = expected if isinstance(expected, list | tuple) else [expected]
    return [_value(fact, item, localities) for item in items]


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _number(fact: str, test: str, n: Any) -> str | None:
    """Numeric tests on the facts this module knows, in words."""
    if isinstance(n, bool) or not isinstance(n, int | float):
        return None
    if isinstance(n, float) and n.is_integer():
        n = int(n)
    if fact == "child.age":
        return f"aged {_NUMBER_TESTS[test].format(n=n)}" if test in _NUMBER_TESTS else None
    if fact == "child.placement.distance_miles":
        phrases = {"under": f"placed less than {n} miles away", "at_least": f"placed {n} miles or more away",
                   "over": f"placed more than {n} miles away", "at_most": f"placed {n} miles or less away"}
        return phrases.get(test)
    if fact == "child.looked_after_days":
        phrases = {"under": f"in care for less than {n} days", "at_least": f"in care for {n} days or more",
                   "over": f"in care for more than {n} days", "at_most": f"in care for {n} days or less"}
        return phrases.get(test)
    if fact == "episode.number" and isinstance(n, int):
        phrases = {"at_least": f"{_ordinal(n)} or later missing episode",
                   "over": f"{_ordinal(n + 1)} or later missing episode",
                   "at_most": f"one of the first {n} missing episodes",
                   "under": f"one of the first {n - 1} missing episodes" if n > 2 else "first missing episode"}
        return phrases.get(test)
    return None


def _leaf(leaf: Leaf, localities: Mapping[str, str]) -> str:
    fact, test, expected = leaf.fact, leaf.test, leaf.expected
    if test == "is" and expected is None:
        return f"{_SUBJECT.get(fact, words(fact.split('.', 1)[-1]))} not known"
    if fact in _TRUE_FALSE and test == "is" and isinstance(expected, bool):
        return _TRUE_FALSE[fact][0 if expected else 1]
    numeric = _number(fact, test, expected)
    if numeric is not None:
        return numeric
    values = _values(fact, expected, localities)
    negative = test == "not_in"
    if fact in ("episode.highest_risk", "episode.risk_levels") and test in ("is", "in", "not_in", "contains"):
        return f"{'never ' if negative else ''}graded {either(values)}"
    if fact == "episode.initial_risk" and test in ("is", "in", "not_in"):
        return f"{'not ' if negative else ''}first graded {either(values)}"
    if fact == "episode.kind" and test in ("is", "in", "not_in"):
        return f"{'not ' if negative else ''}{either(values)} episode"
    if fact == "child.placement.type" and test in ("is", "in", "not_in"):
        return f"{'not ' if negative else ''}in {either(values)}"
    if fact == "child.locality" and test in ("is", "in", "not_in"):
        return f"{'not ' if negative else ''}in {either(values)}"
    if fact == "episode.number" and test in ("is", "in"):
        return f"{either([_ordinal(int(v)) if v.isdigit() else v for v in values])} missing episode"
    if fact == "child.age" and test in ("is", "in"):
        return f"aged {either(values)}"
    if fact in _VALUE_WORDS and test in ("is", "in"):
        return either(values)
    if fact in _VALUE_WORDS and test == "not_in":
        return f"not {either(values)}" if len(values) == 1 else f"not ({either(values)})"
    # A fact or test added to the format later: still words, never a repr.
    subject = _SUBJECT.get(fact, words(fact.split(".", 1)[-1]))
    relation = {"is": "is", "in": "is", "not_in": "is not", "contains": "includes"}.get(test, words(test))
    if test in _NUMBER_TESTS:
        return f"{subject} {_NUMBER_TESTS[test].format(n=either(values))}"
    return f"{subject} {relation} {either(values)}"


def _negate(condition: Condition, localities: Mapping[str, str]) -> str:
    if isinstance(condition, Not):
        return describe_condition(condition.part, localities)
    if isinstance(condition, Leaf):
        if condition.fact in _TRUE_FALSE and condition.test == "is" and isinstance(condition.expected, bool):
            return _TRUE_FALSE[condition.fact][1 if condition.expected else 0]
        if condition.test == "in" and condition.fact not in _TRUE_FALSE:
            flipped = Leaf(condition.fact, "not_in", condition.expected, condition.check)
            return _leaf(flipped, localities)
        return f"not {_leaf(condition, localities)}"
    return f"not ({describe_condition(condition, localities)})"


def _part(condition: Condition, outer: type, localities: Mapping[str, str]) -> str:
    text = describe_condition(condition, localities)
    needs = isinstance(condition, All | AnyOf) and not isinstance(condition, outer) and len(condition.parts) > 1
    return f"({text})" if needs else text


def describe_condition(condition: Condition, localities: Mapping[str, str] | None = None) -> str:
    """A condition in plain English: "child in care and (aged under 12 or graded high)"."""
    names = localities or {}
    if isinstance(condition, Always):
        return "every child"
    if isinstance(condition, Leaf):
        return _leaf(condition, names)
    if isinstance(condition, Not):
        return _negate(condition.part, names)
    if isinstance(condition, All):
        return " and ".join(dict.fromkeys(_part(p, All, names) for p in condition.parts))
    if isinstance(condition, AnyOf):
        parts = list(dict.fromkeys(_part(p, AnyOf, names) for p in condition.parts))
        # "missing or missing with family episode, or aged under 16": a comma where a part has its own "or".
        joiner = ", or " if any(" or " in part and not part.startswith("(") for part in parts) else " or "
        return joiner.join(parts)
    return words(type(condition).__name__)  # a condition type added later


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
    return {"levels": levels, "duty": duty_words(clock.duty or ""), "count": _ordinal(clock.count or 1),
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
