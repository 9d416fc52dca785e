"""Validating and compiling a pack: every problem found in one pass (the schema, the vocabulary, roles,
rule ids, conditions, clocks), each at its file:line:column with a suggestion where a close name exists."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import time
from pathlib import Path
from typing import Any

from pydantic import (
    BaseModel,
    TypeAdapter,
    ValidationError,
)

from .. import _read, _suggest, _yaml
from ..conditions import FACTS, TESTS, TIMED_FACTS, Always, Condition, compile_condition
from ..dates import WEEKDAYS, Duration, OfficeHours, Unit
from ..errors import PackError, Problem
from ..models import EpisodeKind
from .model import (
    CHILD_CONSTANT_FACTS,
    PSEUDO_EVENTS,
    Check,
    Clock,
    Deadline,
    DeadlineKind,
    EscalationStep,
    Holder,
    Pack,
    Repeat,
    Role,
    Rule,
    Source,
    Vocabulary,
)
from .spec import (
    CheckSpec,
    ClockFrom,
    ClockSpec,
    EscalationSpec,
    HolderSpec,
    OfficeHoursSpec,
    PackSpec,
    RepeatSpec,
    RoleEntry,
    RuleSpec,
)


def _pydantic_problems(document: _yaml.Document, error: ValidationError) -> list[Problem]:
    problems = []
    for item in error.errors(include_url=False):
        loc = _loc(item)
        message = item["msg"].removeprefix("Value error, ")
        kind = item["type"]
        given = item.get("input")
        if kind == "extra_forbidden":
            suggestion = _suggest.did_you_mean(loc[-1], _suggest.keys_at(PackSpec, loc[:-1]))
            message = f"'{loc[-1]}' is not a key here" + (suggestion or " (misspelt?); see docs/pack-format.md")
        elif kind == "missing":
            message = f"'{loc[-1]}' is required here"
            loc = loc[:-1]
        elif kind in ("enum", "literal_error"):
            allowed = _suggest.quoted(str(item.get("ctx", {}).get("expected", "")))
            message = f"{given!r} is not allowed here: {message.lower()}{_suggest.did_you_mean(given, allowed)}"
        elif loc[-1:] == ("due",) and ("is not a deadline" in message or "is not a duration" in message):
            message += _suggest.duration_suggestion(given, deadline=True)
        elif "is not a duration" in message:
            message += _suggest.duration_suggestion(given)
        at_value = kind not in ("extra_forbidden", "missing")
        problems.append(document.problem(loc, message, value=at_value))
    return problems


def _loc(item: Any) -> tuple[int | str, ...]:
    return tuple(part for part in item["loc"] if not str(part).startswith("function-"))




def compile_pack(data: bytes, path: Path, vocabulary: Vocabulary) -> Pack:
    """Validate and compile a pack's bytes read from `path`; raise PackError listing every problem."""
    try:
        text = _read.decode(data, str(path))
    except _read.BadInput as error:
        raise PackError([error.problem]) from None
    document, problems = _yaml.parse(text, str(path))
    if document is None:
        raise PackError(problems)
    if not isinstance(document.data, dict):
        raise PackError([*problems, Problem(str(path), 1, 1, "a pack must be a YAML mapping with "
                                                            "protocol, roles and rules")])
    try:
        spec = PackSpec.model_validate(document.data)
    except ValidationError as error:
        # Report the cross-references of every part that did validate too, so that one run shows everything.
        problems += _pydantic_problems(document, error) + _partial_problems(document, error, vocabulary)
        raise PackError(list(dict.fromkeys(problems))) from None
    pack, more = _compile(spec, document, vocabulary, str(path), hashlib.sha256(data).hexdigest())
    problems += more
    if problems:
        raise PackError(list(dict.fromkeys(problems)))
    return pack


class _Refs:
    """Cross-reference checks (the vocabulary, the pack's roles, rule ids, conditions), each problem with a
    suggestion where a close name exists. Used by the compile step, and by the checks on the parts of a pack
    that validated when other parts did not."""

    def __init__(self, doc: _yaml.Document, vocabulary: Vocabulary, roles: Mapping[str, Sequence[object]],
                 rule_ids: Sequence[str], localities: Sequence[str]) -> None:
        self.doc = doc
        self.vocabulary = vocabulary
        self.role_keys = frozenset(roles)
        # a role written by its canonical name or title instead of the pack's key: suggest the key
        self.role_names = {name: key for key, names in roles.items() for name in names if isinstance(name, str)}
        self.rule_ids = frozenset(rule_ids)
        self.localities = tuple(localities)
        self.problems: list[Problem] = []
        self.seen: set[str] = set()

    def add(self, path: Sequence[int | str], message: str, value: bool = True) -> None:
        self.problems.append(self.doc.problem(path, message, value))

    def unique(self, identifier: object, where: tuple[int | str, ...], what: str) -> None:
        if not isinstance(identifier, str):
            return
        if identifier in self.seen:
            self.add((*where, "id"), f"the {what}id '{identifier}' is used twice")
        self.seen.add(identifier)

    def canonical_role(self, role: str, where: tuple[int | str, ...]) -> None:
        if role not in self.vocabulary.roles:
            self.add(where, f"'{role}' is not a canonical role in protocols/vocabulary.yaml"
                            f"{_suggest.did_you_mean(role, self.vocabulary.roles)}")

    def duty(self, name: str, where: tuple[int | str, ...], message: str) -> None:
        if name not in self.vocabulary.duties:
            self.add(where, f"'{name}' is {message}{_suggest.did_you_mean(name, self.vocabulary.duties)}")

    def role(self, key: str, where: tuple[int | str, ...]) -> None:
        if key in self.role_keys:
            return
        suggestion = _suggest.did_you_mean(key, self.role_keys)
        if not suggestion:
            named = _suggest.did_you_mean(key, self.role_names)
            if named:
                name = _suggest.quoted(named)[0]
                suggestion = f"; did you mean '{self.role_names[name]}' ({name})?"
        self.add(where, f"'{key}' is not one of this pack's roles{suggestion}")

    def condition(self, raw: Any, where: tuple[int | str, ...]) -> Condition:
        condition, complaints = compile_condition(raw, where, self.localities)
        for path, message in complaints:
            self.add(path, _condition_suggestion(message), value=False)
        return condition

    def rule(self, fields: Mapping[str, Any], where: tuple[int | str, ...]) -> Condition:
        """Check one rule, given the typed values of its fields that validated; return its condition."""
        duty = fields.get("duty")
        if isinstance(duty, str):
            self.duty(duty, (*where, "duty"), "not a duty kind in protocols/vocabulary.yaml")
        condition = self.condition(fields.get("when"), (*where, "when"))
        clock = fields.get("clock")
        if isinstance(clock, ClockSpec):
            self.problems += _clock_problems(clock, self.doc, (*where, "clock"), self.vocabulary)
        for i, other in enumerate(fields.get("overrides") or ()):
            if other not in self.rule_ids or other == fields.get("id"):
                self.add((*where, "overrides", i), f"'{other}' is not another rule's id"
                                                   f"{_suggest.did_you_mean(other, self.rule_ids)}")
        for i, name in enumerate(fields.get("done_by") or ()):
            if name not in self.vocabulary.duties and name not in PSEUDO_EVENTS:
                known = [*self.vocabulary.duties, *PSEUDO_EVENTS]
                self.add((*where, "done_by", i), f"'{name}' is not a duty kind, 'reported', 'found' or 'regraded'"
                                                 f"{_suggest.did_you_mean(name, known)}")
        repeat = fields.get("repeat")
        if isinstance(repeat, RepeatSpec) and Duration.parse(repeat.every).unit is Unit.WORKING_DAYS:
            self.add((*where, "repeat", "every"), "a repeat cannot be counted in working days")
        for section in ("roles", "recipients"):
            for i, entry in enumerate(fields.get(section) or ()):
                if isinstance(entry, str):
                    self.role(entry, (*where, section, i))
                elif isinstance(entry, HolderSpec):
                    self.role(entry.role, (*where, section, i, "role"))
        for i, step in enumerate(fields.get("escalation") or ()):
            for j, key in enumerate(step.to if isinstance(step, EscalationSpec) else ()):
                self.role(key, (*where, "escalation", i, "to", j))
        return condition

    def check(self, fields: Mapping[str, Any], where: tuple[int | str, ...]) -> Condition:
        """Check one check (a finding), given the typed values of its fields that validated."""
        condition = self.condition(fields.get("when"), (*where, "when"))
        if "when" in fields and isinstance(condition, Always):
            self.add((*where, "when"), "a check needs a condition")
        return condition


def _condition_suggestion(message: str) -> str:
    """A complaint about a condition, with 'did you mean' for a misspelt fact or test."""
    fact = re.match(r"'(.+?)' is not a fact;", message)
    if fact:
        return message + _suggest.did_you_mean(fact.group(1), FACTS)
    test = re.match(r"'(.+?)' is not a test;", message)
    if test:
        return message + _suggest.did_you_mean(test.group(1), TESTS)
    return message


def _fields(spec: BaseModel) -> dict[str, Any]:
    return {name: getattr(spec, name) for name in type(spec).model_fields}


class _Compiler:
    """Compiles a validated PackSpec into a Pack, collecting every problem with its place in the file."""

    def __init__(self, spec: PackSpec, doc: _yaml.Document, vocabulary: Vocabulary) -> None:
        self.spec, self.doc, self.vocabulary = spec, doc, vocabulary
        # The cross-reference checks, with "did you mean", are the ones a pack that did not validate gets too.
        self.refs = _Refs(doc, vocabulary, {key: (role.role, role.title) for key, role in spec.roles.items()},
                          [rule.id for rule in spec.rules], list(spec.protocol.localities))
        self.problems = self.refs.problems
        self.roles: dict[str, Role] = {}
        self.uses_locality = False

    def problem(self, where: tuple[int | str, ...], message: str, value: bool = True) -> None:
        self.refs.add(where, message, value)

    def condition(self, raw: Any, where: tuple[int | str, ...]) -> Condition:
        condition = self.refs.condition(raw, where)
        self.uses_locality |= "child.locality" in condition.facts_read()
        return condition

    def role(self, key: str, where: tuple[int | str, ...]) -> Role | None:
        """The role a key names; an unknown key is reported once, by `_Refs.rule`."""
        return self.roles.get(key)

    def holders(self, entries: Sequence[RoleEntry], where: tuple[int | str, ...]) -> tuple[Holder, ...]:
        found = []
        for i, entry in enumerate(entries):
            if isinstance(entry, str):
                role = self.role(entry, (*where, i))
                if role is not None:
                    found.append(Holder(role))
                continue
            role = self.role(entry.role, (*where, i, "role"))
            condition = self.condition(entry.when, (*where, i, "when"))
            if isinstance(condition, Always):
                self.problem((*where, i), "a role with `when` needs a condition; write the key alone otherwise")
            if role is not None:
                found.append(Holder(role, condition, condition.predicate()))
        return tuple(found)

    def readings(self) -> dict[str, tuple[Duration, str]]:
        return {phrase: (Duration.parse(r.allows), r.interpretation) for phrase, r in self.spec.readings.items()}

    def deadline(self, raw: RuleSpec, where: tuple[int | str, ...],
                 readings: Mapping[str, tuple[Duration, str]]) -> Deadline:
        allows = None if raw.allows is None else Duration.parse(raw.allows)
        deadline = Deadline.parse(raw.due, readings, allows, raw.interpretation)
        if deadline.kind is DeadlineKind.PHRASE and deadline.within is None:
            self.problem((*where, "due"), f"'{deadline.text}' sets no exact limit: say how long this pack reads "
                                          f"it as allowing, with `allows:` on the rule or under `readings:`")
        if raw.allows is not None and deadline.kind is not DeadlineKind.PHRASE:
            self.problem((*where, "allows"), f"`allows` is for phrases such as 'as soon as possible'; "
                                             f"'{raw.due}' already states its limit")
        return deadline

    def rule(self, index: int, raw: RuleSpec, rule_ids: list[str],
             readings: Mapping[str, tuple[Duration, str]]) -> Rule:
        where: tuple[int | str, ...] = ("rules", index)
        condition = self.refs.rule(_fields(raw), where)  # duty, conditions, clock, overrides, done_by, roles
        self.uses_locality |= "child.locality" in condition.facts_read()
        done_by = raw.done_by if raw.done_by is not None else (raw.duty,)
        repeat = raw.repeat
        if repeat is not None and repeat.until_done is not None:
            self.refs.duty(repeat.until_done, (*where, "repeat", "until_done"), "not a duty kind")
        if raw.events_from == "required" and raw.counts_earlier_events:
            self.problem((*where, "events_from"), "events from when the duty is required cannot also count "
                                                  "earlier events")
        if raw.can_be_declined and raw.done_by is not None and raw.duty not in raw.done_by:
            self.problem((*where, "can_be_declined"), "only a duty done by an event of its own kind can be declined")
        counts = None
        if raw.clock.counts is not None:
            counts = self.condition(raw.clock.counts, (*where, "clock", "counts"))
        clock = _clock(raw.clock, counts)
        deadline = self.deadline(raw, where, readings)
        return Rule(
            id=raw.id, refs=raw.refs, duty=raw.duty, title=raw.title, episodes=frozenset(raw.episodes),
            when=condition, clock=clock, deadline=deadline, on_return=raw.on_return,
            can_be_declined=raw.can_be_declined, counts_earlier_events=raw.counts_earlier_events,
            events_from_required=raw.events_from == "required",
            holders=(holders := self.holders(raw.roles, (*where, "roles"))),
            recipients=(recipients := self.holders(raw.recipients, (*where, "recipients"))),
            fixed_holders=_fixed(holders), fixed_recipients=_fixed(recipients),
            holders_by_child=all(h.when is None or set(h.when.facts_read()) <= CHILD_CONSTANT_FACTS
                                 for h in (*holders, *recipients)),
            escalation=tuple(
                EscalationStep(Duration.parse(step.after),
                               tuple(r for j, key in enumerate(step.to)
                                     if (r := self.role(key, (*where, "escalation", i, "to", j))) is not None),
                               step.action)
                for i, step in enumerate(raw.escalation)),
            source=Source.of(raw.source), also_cites=tuple(Source.of(c) for c in raw.also_cites),
            interpretation=raw.interpretation, overrides=raw.overrides, done_by=frozenset(done_by),
            exclusive=raw.done_by is None,
            repeat=None if repeat is None else Repeat(
                Duration.parse(repeat.every), None if repeat.until is None else Duration.parse(repeat.until),
                repeat.count, repeat.while_missing, repeat.from_ == "previous", repeat.until_done),
            facts_read=condition.facts_read(), applies=condition.predicate(),
            when_by_child=set(condition.facts_read()) <= CHILD_CONSTANT_FACTS,
            timed=bool(TIMED_FACTS.intersection(condition.facts_read())),
            allows_text=str(deadline.within) if deadline.kind is DeadlineKind.PHRASE else None,
            after_elapsed=None if clock.after is None else clock.after.elapsed,
            due_elapsed=deadline.within.elapsed if deadline.within is not None else None,
        )

    def check(self, index: int, raw: CheckSpec) -> Check:
        where = ("checks", index)
        condition = self.refs.check(_fields(raw), where)
        self.uses_locality |= "child.locality" in condition.facts_read()
        return Check(raw.id, raw.refs, raw.finding, None if raw.episodes is None else frozenset(raw.episodes),
                     condition, Source.of(raw.source), raw.interpretation,
                     tuple(Source.of(c) for c in raw.also_cites))

    def counted(self) -> dict[EpisodeKind, bool | Callable[[Mapping[str, Any]], bool]]:
        counted: dict[EpisodeKind, bool | Callable[[Mapping[str, Any]], bool]] = {}
        for kind, entry in self.spec.episode_kinds.items():
            if isinstance(entry.counted, bool):
                counted[kind] = entry.counted
            else:
                condition = self.condition(entry.counted, ("episode_kinds", kind.value, "counted"))
                if "episode.number" in condition.facts_read():
                    self.problem(("episode_kinds", kind.value, "counted"),
                                 "whether an episode is counted cannot depend on episode.number")
                counted[kind] = condition.predicate()
        return counted

    def compile(self, path: str, content_hash: str) -> Pack:
        spec = self.spec
        for key, role in spec.roles.items():
            self.refs.canonical_role(role.role, ("roles", key, "role"))
            self.roles[key] = Role(key, role.title, role.role)
        readings = self.readings()
        rule_ids = [rule.id for rule in spec.rules]
        rules = []
        for index, raw in enumerate(spec.rules):
            self.refs.unique(raw.id, ("rules", index), "rule ")
            rules.append(self.rule(index, raw, rule_ids, readings))
        checks = []
        for index, raw_check in enumerate(spec.checks):
            self.refs.unique(raw_check.id, ("checks", index), "")
            checks.append(self.check(index, raw_check))
        office = _office_hours(spec.office_hours)
        if office.opens >= office.closes:
            self.problem(("office_hours", "closes"), "closing time must be after opening time")
        if not office.weekdays:
            self.problem(("office_hours", "days"), "name at least one day on which the office is open")
        counted = self.counted()
        return Pack(spec=spec, path=path, office_hours=office, roles=self.roles, rules=tuple(rules),
                    checks=tuple(checks), authorities=frozenset(a.strip().lower() for a in spec.protocol.authorities),
                    vocabulary=self.vocabulary, uses_locality=self.uses_locality,
                    rules_by_kind={kind: tuple(r for r in rules if kind in r.episodes) for kind in EpisodeKind},
                    counted=counted, content_hash=content_hash)


def _fixed(holders: tuple[Holder, ...]) -> tuple[Role, ...] | None:
    return None if any(h.applies is not None for h in holders) else tuple(h.role for h in holders)



def _compile(spec: PackSpec, doc: _yaml.Document, vocabulary: Vocabulary,
             path: str, content_hash: str = "") -> tuple[Pack, list[Problem]]:
    compiler = _Compiler(spec, doc, vocabulary)
    pack = compiler.compile(path, content_hash)
    return pack, compiler.problems


def _office_hours(hours: OfficeHoursSpec) -> OfficeHours:
    return OfficeHours(frozenset(WEEKDAYS.index(day) for day in hours.days),
                       time.fromisoformat(hours.opens.zfill(5)), time.fromisoformat(hours.closes.zfill(5)))


_ADAPTERS: dict[tuple[type[BaseModel], str], TypeAdapter[Any]] = {}


def _valid_fields(model: type[BaseModel], raw: Mapping[str, Any], where: tuple[int | str, ...],
                  bad: Callable[[tuple[int | str, ...]], bool]) -> dict[str, Any]:
    """The typed values of the fields of `raw` (a `model` as written) that validated, and the defaults of
    those not written; a list of models keeps its good items (None for the others) so positions hold."""
    fields: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        key = info.alias or name
        if key not in raw:
            if not info.is_required():
                fields[name] = info.get_default(call_default_factory=True)
            continue
        value = raw[key]
        item = _item_model(info.annotation)
        if bad((*where, key)) and not (item is not None and isinstance(value, list)):
            continue
        if item is not None and isinstance(value, list):
            fields[name] = [_valid_or_none(item, v) if not bad((*where, key, i)) else None
                            for i, v in enumerate(value)]
            continue
        adapter = _ADAPTERS.get((model, name))
        if adapter is None:
            adapter = _ADAPTERS[(model, name)] = TypeAdapter(Any if info.annotation is None else info.annotation)
        try:
            fields[name] = adapter.validate_python(value)
        except ValidationError:  # valid in the model's context only; leave it unchecked
            continue
    return fields


def _valid_or_none(model: type[BaseModel], value: Any) -> BaseModel | None:
    try:
        return model.model_validate(value)
    except ValidationError:
        return None


def _item_model(annotation: Any) -> type[BaseModel] | None:
    """X for an annotation tuple[X, ...] where X is a model, else None."""
    args = getattr(annotation, "__args__", ())
    if getattr(annotation, "__origin__", None) is tuple and args and isinstance(args[0], type) \
            and issubclass(args[0], BaseModel):
        return args[0]
    return None


def _partial_problems(doc: _yaml.Document, error: ValidationError, vocabulary: Vocabulary) -> list[Problem]:
    """The compile-level checks of a pack that did not validate, on every part that did: a bad deadline in
    one rule, an unknown role in another and a misspelt fact in a third are all reported in one run."""
    data: dict[Any, Any] = doc.data
    errors = [_loc(item) for item in error.errors(include_url=False)]

    def bad(prefix: tuple[int | str, ...]) -> bool:
        return any(loc[:len(prefix)] == prefix for loc in errors)

    def mapping(value: Any) -> dict[Any, Any]:
        return value if isinstance(value, dict) else {}

    def listed(value: Any) -> list[Any]:
        return value if isinstance(value, list) else []

    roles_raw = mapping(data.get("roles"))
    rules_raw = listed(data.get("rules"))
    localities = mapping(mapping(data.get("protocol")).get("localities"))
    rule_ids = [r["id"] for r in rules_raw if isinstance(r, dict) and isinstance(r.get("id"), str)]
    role_names = {key: (mapping(raw).get("role"), mapping(raw).get("title")) for key, raw in roles_raw.items()
                  if isinstance(key, str)}
    refs = _Refs(doc, vocabulary, role_names, rule_ids, [k for k in localities if isinstance(k, str)])
    for key, raw_role in roles_raw.items():
        role = mapping(raw_role).get("role")
        if isinstance(role, str) and not bad(("roles", key, "role")):
            refs.canonical_role(role, ("roles", key, "role"))
    for section, model, check in (("rules", RuleSpec, refs.rule), ("checks", CheckSpec, refs.check)):
        for index, raw in enumerate(listed(data.get(section))):
            if not isinstance(raw, dict):
                continue
            where: tuple[int | str, ...] = (section, index)
            refs.unique(raw.get("id"), where, "rule " if section == "rules" else "")
            check(_valid_fields(model, raw, where, bad), where)
    hours = data.get("office_hours")
    if isinstance(hours, dict) and not bad(("office_hours",)):
        office = _office_hours(OfficeHoursSpec.model_validate(hours))
        if office.opens >= office.closes:
            refs.add(("office_hours", "closes"), "closing time must be after opening time")
    return refs.problems


def _clock_problems(clock: ClockSpec, doc: _yaml.Document, where: tuple[int | str, ...],
                    vocabulary: Vocabulary) -> list[Problem]:
    problems = []
    needs = {ClockFrom.RISK_GRADED: ("levels",), ClockFrom.DUTY_DONE: ("duty",),
             ClockFrom.EPISODE_COUNT: ("count",)}.get(clock.from_, ())
    only = {"levels": ClockFrom.RISK_GRADED, "duty": ClockFrom.DUTY_DONE, "count": ClockFrom.EPISODE_COUNT,
            "within": ClockFrom.EPISODE_COUNT, "retrigger": ClockFrom.EPISODE_COUNT,
            "counts": ClockFrom.EPISODE_COUNT, "outcome": ClockFrom.DUTY_DONE}
    for key in needs:
        if getattr(clock, key) is None:
            problems.append(doc.problem(where, f"a clock from '{clock.from_}' needs '{key}'"))
    for key, start in only.items():
        if getattr(clock, key) is not None and clock.from_ is not start:
            problems.append(doc.problem((*where, key), f"'{key}' only goes with a clock from '{start}'"))
    if clock.duty is not None and clock.duty not in vocabulary.duties:
        problems.append(doc.problem((*where, "duty"), f"'{clock.duty}' is not a duty kind"
                                                      f"{_suggest.did_you_mean(clock.duty, vocabulary.duties)}"))
    if clock.within is not None and Duration.parse(clock.within).unit is Unit.WORKING_DAYS:
        problems.append(doc.problem((*where, "within"), "a rolling window cannot be counted in working days"))
    return problems


def _clock(spec: ClockSpec, counts: Condition | None) -> Clock:
    return Clock(
        start=spec.from_,
        after=None if spec.after is None else Duration.parse(spec.after),
        if_still_missing=spec.if_still_missing,
        levels=frozenset(spec.levels or ()),
        duty=spec.duty,
        count=spec.count or 0,
        within=None if spec.within is None else Duration.parse(spec.within),
        retrigger_each_episode=spec.retrigger == "each_episode",
        counts=counts,
        time_of_day=None if spec.at_time_of_day is None else time.fromisoformat(spec.at_time_of_day.zfill(5)),
        outcome=spec.outcome or "done",
    )

