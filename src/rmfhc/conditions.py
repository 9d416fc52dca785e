"""Conditions on a child's and an episode's facts, written in packs as YAML data and compiled once.

A condition is never code: it is a tree of `all`, `any` and `not` over leaves that test one named fact
(`child.age: {under: 12}`). The facts are a closed, typed catalogue (FACTS below, documented in
docs/pack-format.md), so a misspelt fact or a value of the wrong kind is a validation error, not a surprise.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .models import EpisodeKind, LegalBasis, PlacementType, ReturnedBy, RiskLevel

Facts = Mapping[str, Any]


class FactType(enum.Enum):
    BOOLEAN = "boolean"
    NUMBER = "number"
    CHOICE = "choice"  # one of a fixed set of words
    CHOICES = "list of choices"


@dataclass(frozen=True, slots=True)
class FactSpec:
    """A fact a condition may read: its type and, for choices, the allowed words."""

    type: FactType
    choices: tuple[str, ...] = ()
    description: str = ""


def _choices(enum_type: type[enum.StrEnum]) -> tuple[str, ...]:
    return tuple(member.value for member in enum_type)


_BOOL = FactSpec(FactType.BOOLEAN)
FACTS: dict[str, FactSpec] = {
    "child.age": FactSpec(FactType.NUMBER, description="whole years at the start of the episode"),
    "child.looked_after": _BOOL,
    "child.child_protection_plan": _BOOL,
    "child.child_in_need": _BOOL,
    "child.known_to_childrens_services": _BOOL,
    "child.open_to_childrens_services": _BOOL,
    "child.legal_basis": FactSpec(FactType.CHOICE, _choices(LegalBasis)),
    "child.placement.type": FactSpec(FactType.CHOICE, _choices(PlacementType)),
    "child.placement.distance_miles": FactSpec(FactType.NUMBER),
    "child.placed_by_other_authority": _BOOL,
    "child.placed_outside_area": _BOOL,
    "child.placed_away_from_placing_authority": FactSpec(
        FactType.BOOLEAN, description="placed in the area of another authority than the one that placed them"),
    "child.exploitation_risk": _BOOL,
    "child.trafficking_risk": _BOOL,
    "child.unaccompanied_asylum_seeking": _BOOL,
    "child.youth_offending_service": _BOOL,
    "child.flight_risk_with_family": _BOOL,
    "child.disability_or_send": _BOOL,
    "child.locality": FactSpec(FactType.CHOICE),  # choices come from the pack's localities
    "episode.kind": FactSpec(FactType.CHOICE, _choices(EpisodeKind)),
    "episode.initial_risk": FactSpec(FactType.CHOICE, _choices(RiskLevel)),
    "episode.highest_risk": FactSpec(FactType.CHOICE, _choices(RiskLevel)),
    "episode.risk_levels": FactSpec(FactType.CHOICES, _choices(RiskLevel)),
    "episode.number": FactSpec(FactType.NUMBER, description="1 for the child's first missing episode (the "
                               "kinds the pack counts), 2 for the second...; null for an episode not counted"),
    "episode.reported": FactSpec(FactType.BOOLEAN, description="reported to the police"),
    "episode.returned_by": FactSpec(FactType.CHOICE, _choices(ReturnedBy),
                                    description="how the child came back, once found; null if not recorded"),
    "episode.reported_out_of_hours": _BOOL,
    "episode.significant_harm": _BOOL,
    "episode.risk_of_significant_harm": _BOOL,
    "episode.harm_disclosed_on_return": _BOOL,
    "episode.exploitation_concern": _BOOL,
    "episode.trafficking_concern": _BOOL,
    "episode.removed_from_uk": _BOOL,
    "child.looked_after_days": FactSpec(FactType.NUMBER, description="whole days from becoming looked after to "
                                        "the start of the episode; null when not known"),
}

# Facts that become known at a moment during or after the episode (a grading, the report, a concern). A rule
# whose conditions read one starts when its conditions came to hold, never earlier.
TIMED_FACTS = frozenset({
    "episode.returned_by", "episode.initial_risk", "episode.highest_risk", "episode.risk_levels", "episode.reported",
    "episode.reported_out_of_hours", "episode.significant_harm", "episode.risk_of_significant_harm",
    "episode.harm_disclosed_on_return", "episode.exploitation_concern", "episode.trafficking_concern",
    "episode.removed_from_uk",
})

_NUMERIC_TESTS: dict[str, Callable[[Any, Any], bool]] = {
    "under": lambda value, limit: value < limit,
    "at_least": lambda value, limit: value >= limit,
    "over": lambda value, limit: value > limit,
    "at_most": lambda value, limit: value <= limit,
}
TESTS = ("is", "in", "not_in", "contains", *_NUMERIC_TESTS)


@dataclass(frozen=True, slots=True)
class Trace:
    """One leaf test as evaluated: the fact, its value, the test and whether it held."""

    fact: str
    value: Any
    test: str
    expected: Any
    held: bool


class Condition:
    """A compiled condition. `holds` is the fast path; `trace` records every leaf for --explain."""

    def holds(self, facts: Facts) -> bool:
        raise NotImplementedError

    def trace(self, facts: Facts, into: list[Trace]) -> bool:
        raise NotImplementedError

    def facts_read(self) -> tuple[str, ...]:
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError

    def predicate(self) -> Callable[[Facts], bool]:
        """A closure equivalent to `holds`, built once: evaluation calls it for every rule and episode."""
        return self.holds


@dataclass(frozen=True, slots=True, eq=False)
class Always(Condition):
    def holds(self, facts: Facts) -> bool:
        return True

    def predicate(self) -> Callable[[Facts], bool]:
        return lambda facts: True

    def trace(self, facts: Facts, into: list[Trace]) -> bool:
        return True

    def facts_read(self) -> tuple[str, ...]:
        return ()

    def describe(self) -> str:
        return "always"


@dataclass(frozen=True, slots=True, eq=False)
class Leaf(Condition):
    fact: str
    test: str
    expected: Any
    check: Callable[[Any], bool]

    def holds(self, facts: Facts) -> bool:
        return self.check(facts[self.fact])

    def predicate(self) -> Callable[[Facts], bool]:
        fact, check = self.fact, self.check
        return lambda facts: check(facts[fact])

    def trace(self, facts: Facts, into: list[Trace]) -> bool:
        value = facts[self.fact]
        held = self.check(value)
        into.append(Trace(self.fact, value, self.test, self.expected, held))
        return held

    def facts_read(self) -> tuple[str, ...]:
        return (self.fact,)

    def describe(self) -> str:
        return f"{self.fact} {self.test.replace('_', ' ')} {self.expected}"


@dataclass(frozen=True, slots=True, eq=False)
class All(Condition):
    parts: tuple[Condition, ...]

    def holds(self, facts: Facts) -> bool:
        return all(part.holds(facts) for part in self.parts)

    def predicate(self) -> Callable[[Facts], bool]:
        parts = tuple(part.predicate() for part in self.parts)
        if len(parts) == 2:
            first, second = parts
            return lambda facts: first(facts) and second(facts)

        def every(facts: Facts) -> bool:
            for part in parts:  # noqa: SIM110 - a plain loop skips building a generator on every call
                if not part(facts):
                    return False
            return True

        return every

    def trace(self, facts: Facts, into: list[Trace]) -> bool:
        return all([part.trace(facts, into) for part in self.parts])  # a list: trace every part

    def facts_read(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(f for part in self.parts for f in part.facts_read()))

    def describe(self) -> str:
        return "(" + " and ".join(part.describe() for part in self.parts) + ")"


@dataclass(frozen=True, slots=True, eq=False)
class AnyOf(Condition):
    parts: tuple[Condition, ...]

    def holds(self, facts: Facts) -> bool:
        return any(part.holds(facts) for part in self.parts)

    def predicate(self) -> Callable[[Facts], bool]:
        parts = tuple(part.predicate() for part in self.parts)

        def some(facts: Facts) -> bool:
            for part in parts:  # noqa: SIM110 - a plain loop skips building a generator on every call
                if part(facts):
                    return True
            return False

        return some

    def trace(self, facts: Facts, into: list[Trace]) -> bool:
        return any([part.trace(facts, into) for part in self.parts])

    def facts_read(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(f for part in self.parts for f in part.facts_read()))

    def describe(self) -> str:
        return "(" + " or ".join(part.describe() for part in self.parts) + ")"


@dataclass(frozen=True, slots=True, eq=False)
class Not(Condition):
    part: Condition

    def holds(self, facts: Facts) -> bool:
        return not self.part.holds(facts)

    def predicate(self) -> Callable[[Facts], bool]:
        inner = self.part.predicate()
        return lambda facts: not inner(facts)

    def trace(self, facts: Facts, into: list[Trace]) -> bool:
        return not self.part.trace(facts, into)

    def facts_read(self) -> tuple[str, ...]:
        return self.part.facts_read()

    def describe(self) -> str:
        return f"not {self.part.describe()}"


Path = tuple[int | str, ...]
Complaint = tuple[Path, str]


class _Compiler:
    def __init__(self, localities: Sequence[str]) -> None:
        self.localities = tuple(localities)
        self.complaints: list[Complaint] = []

    def complain(self, path: Path, message: str) -> Condition:
        self.complaints.append((path, message))
        return Always()

    def condition(self, raw: Any, path: Path) -> Condition:
        if not isinstance(raw, dict) or not raw:
            return self.complain(path, "a condition must be a mapping, such as `child.looked_after: true`")
        parts = [self.entry(key, value, (*path, key)) for key, value in raw.items()]
        return parts[0] if len(parts) == 1 else All(tuple(parts))

    def entry(self, key: Any, value: Any, path: Path) -> Condition:
        if key in ("all", "any"):
            if not isinstance(value, list) or not value:
                return self.complain(path, f"`{key}` takes a list of conditions")
            parts = tuple(self.condition(item, (*path, i)) for i, item in enumerate(value))
            return All(parts) if key == "all" else AnyOf(parts)
        if key == "not":
            return Not(self.condition(value, path))
        if key not in FACTS:
            return self.complain(path, f"'{key}' is not a fact; the facts are listed in docs/pack-format.md "
                                       "(for example child.age, child.looked_after, episode.kind)")
        return self.leaf(str(key), value, path)

    def leaf(self, fact: str, raw: Any, path: Path) -> Condition:
        if isinstance(raw, dict):
            if len(raw) != 1:
                return self.complain(path, f"give exactly one test for {fact}, such as {{under: 12}}")
            test, expected = next(iter(raw.items()))
            path = (*path, test)
        else:
            test, expected = "is", raw
        if test not in TESTS:
            return self.complain(path, f"'{test}' is not a test; use one of {', '.join(TESTS)}")
        spec = FACTS[fact]
        message = self.type_error(fact, spec, str(test), expected)
        if message:
            return self.complain(path, message)
        return Leaf(fact, str(test), expected, _check(str(test), expected))

    def type_error(self, fact: str, spec: FactSpec, test: str, expected: Any) -> str | None:
        choices = self.localities if fact == "child.locality" else spec.choices
        if test in _NUMERIC_TESTS:
            if spec.type is not FactType.NUMBER:
                return f"{fact} is a {spec.type.value}, so it cannot be tested with '{test}'"
            if isinstance(expected, bool) or not isinstance(expected, int | float):
                return f"'{test}' needs a number, not {expected!r}"
            return None
        if test == "contains":
            if spec.type is not FactType.CHOICES:
                return f"'contains' is for lists; {fact} is a {spec.type.value}"
            return None if expected in choices else f"{expected!r} is not one of {', '.join(choices)}"
        values = expected if test in ("in", "not_in") else [expected]
        if test in ("in", "not_in") and (not isinstance(expected, list) or not expected):
            return f"'{test}' needs a list of values"
        if spec.type is FactType.CHOICES:
            return f"{fact} is a list; test it with 'contains'"
        for value in values:
            if value is None and test == "is":
                continue
            if spec.type is FactType.BOOLEAN and not isinstance(value, bool):
                return f"{fact} is true or false, not {value!r}"
            if spec.type is FactType.NUMBER and (isinstance(value, bool) or not isinstance(value, int | float)):
                return f"{fact} is a number, not {value!r}"
            if spec.type is FactType.CHOICE and value not in choices:
                allowed = ", ".join(choices) or "(this pack declares no localities)"
                return f"{value!r} is not a value of {fact}; use one of {allowed}"
        return None


def _check(test: str, expected: Any) -> Callable[[Any], bool]:
    # Unknown (None) values fail every test except equality with null.
    if test == "is":
        if expected is None:
            return lambda value: value is None
        if isinstance(expected, bool):
            return lambda value: value is expected
        return lambda value: value is not None and value == expected
    if test == "in":
        allowed = frozenset(expected)
        return lambda value: value is not None and value in allowed
    if test == "not_in":
        excluded = frozenset(expected)
        return lambda value: value is not None and value not in excluded
    if test == "contains":
        return lambda value: value is not None and expected in value
    compare = _NUMERIC_TESTS[test]
    return lambda value: value is not None and compare(value, expected)


def compile_condition(raw: Any, path: Path, localities: Sequence[str] = ()) -> tuple[Condition, list[Complaint]]:
    """Compile a condition written as YAML data. Returns it and any complaints, each with its path."""
    if raw is None:
        return Always(), []
    compiler = _Compiler(localities)
    condition = compiler.condition(raw, path)
    return condition, compiler.complaints
