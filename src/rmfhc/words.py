"""Names and conditions in plain English: duty kinds, roles, episode kinds, and a rule's conditions ("child in
care and aged under 12"), for anything people read (an explanation, a comparison). No Python value is ever
printed: booleans, lists and None become words, and a fact or test not known here is still written as words.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .conditions import All, Always, AnyOf, Condition, Leaf, Not
from .pack import Role

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


def ordinal(n: int) -> str:
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
        phrases = {"at_least": f"{ordinal(n)} or later missing episode",
                   "over": f"{ordinal(n + 1)} or later missing episode",
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
        return f"{either([ordinal(int(v)) if v.isdigit() else v for v in values])} missing episode"
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
