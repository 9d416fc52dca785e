"""YAML scenario tests for packs, the format policy officers write tests in (docs/scenarios.md)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from . import _suggest, _yaml
from .dates import LONDON, without_offset
from .errors import HistoryError, Problem, RmfhcError, ScenarioError, wrong_type
from .evaluate import Duty, DutyState, EscalationState, Evaluation, evaluate
from .models import History, describe_validation_error, load_history
from .pack import Pack, load_protocol, resolve_protocol


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ExpectedEscalation(_Spec):
    at: AwareDatetime | None = None
    state: str | None = None
    to: tuple[str, ...] | None = None


class ExpectedDuty(_Spec):
    rule: str
    episode: str | None = None
    occurrence: int | None = None
    required_at: AwareDatetime | None = None
    due: AwareDatetime | Literal["immediately", "unset"] | None = "unset"
    state: str | None = None
    done_at: AwareDatetime | None = None
    done_by: str | None = None
    roles: tuple[str, ...] | None = None
    recipients: tuple[str, ...] | None = None
    escalation: tuple[ExpectedEscalation, ...] | None = None


class ExpectedUpcoming(_Spec):
    rule: str
    episode: str | None = None
    occurrence: int | None = None
    at: AwareDatetime | None = None


class Expectation(_Spec):
    duties: tuple[ExpectedDuty, ...] = ()
    absent: tuple[str, ...] = ()
    upcoming: tuple[ExpectedUpcoming, ...] = ()
    not_upcoming: tuple[str, ...] = ()
    findings: tuple[str, ...] = ()
    no_findings: bool = False
    duty_count: int | None = None


class ScenarioSpec(_Spec):
    name: str
    clause: str | None = None
    description: str | None = None
    history: Any
    as_of: AwareDatetime
    expect: Expectation


class ScenarioFile(_Spec):
    protocol: str
    histories: dict[str, Any] = Field(default_factory=dict)
    scenarios: tuple[ScenarioSpec, ...]


@dataclass
class Result:
    """The outcome of one scenario: PASS, FAIL (with what differed) or ERROR."""

    file: str
    line: int
    name: str
    clause: str | None
    status: str
    failures: list[str] = field(default_factory=list)


def _same_instant(expected: Any, actual: datetime | None) -> bool:
    return bool(expected == actual)


def _fmt(value: Any) -> str:
    return value.astimezone(LONDON).isoformat() if isinstance(value, datetime) else str(value)


def _match_duty(expected: ExpectedDuty, duty: Duty) -> list[str]:
    """Differences between an expected duty and an actual one, as 'key: expected X, got Y'."""
    diffs = []
    if expected.required_at is not None and not _same_instant(expected.required_at, duty.required_at):
        diffs.append(f"required_at: expected {_fmt(expected.required_at)}, got {_fmt(duty.required_at)}")
    if expected.due != "unset":
        if expected.due == "immediately":
            if duty.deadline != "immediately":
                diffs.append(f"due: expected immediately, got {duty.deadline} ({_fmt(duty.due)})")
        elif not _same_instant(expected.due, duty.due):
            diffs.append(f"due: expected {_fmt(expected.due)}, got {_fmt(duty.due)}")
    if expected.state is not None and expected.state != duty.state.value:
        diffs.append(f"state: expected {expected.state}, got {duty.state.value}")
    if expected.done_at is not None and not _same_instant(expected.done_at, duty.done_at):
        diffs.append(f"done_at: expected {_fmt(expected.done_at)}, got {_fmt(duty.done_at)}")
    if expected.done_by is not None and expected.done_by != duty.done_by:
        diffs.append(f"done_by: expected {expected.done_by}, got {duty.done_by}")
    if expected.roles is not None and set(expected.roles) != {r.key for r in duty.roles}:
        diffs.append(f"roles: expected {sorted(expected.roles)}, got {sorted(r.key for r in duty.roles)}")
    if expected.recipients is not None and set(expected.recipients) != {r.key for r in duty.recipients}:
        diffs.append(f"recipients: expected {sorted(expected.recipients)}, "
                     f"got {sorted(r.key for r in duty.recipients)}")
    if expected.escalation is not None:
        if len(expected.escalation) != len(duty.escalation):
            diffs.append(f"escalation: expected {len(expected.escalation)} steps, got {len(duty.escalation)}")
        for number, (want, step) in enumerate(zip(expected.escalation, duty.escalation, strict=False), start=1):
            if want.at is not None and want.at != step.at:
                diffs.append(f"escalation step {number} at: expected {_fmt(want.at)}, got {_fmt(step.at)}")
            if want.state is not None and want.state != step.state.value:
                diffs.append(f"escalation step {number} state: expected {want.state}, got {step.state.value}")
            if want.to is not None and set(want.to) != {r.key for r in step.to}:
                diffs.append(f"escalation step {number} to: expected {sorted(want.to)}, "
                             f"got {sorted(r.key for r in step.to)}")
    return diffs


def check(expect: Expectation, result: Evaluation, pack: Pack) -> list[str]:
    """Every way `result` fails `expect`, in plain words naming the rule and its clause."""
    failures: list[str] = []

    def clause(rule_id: str) -> str:
        try:
            return f" ({pack.rule(rule_id).source.section})"
        except KeyError:
            return " (no such rule in this pack)"

    for expected in expect.duties:
        candidates = [d for d in result.duties if d.rule == expected.rule
                      and (expected.episode is None or d.episode == expected.episode)
                      and (expected.occurrence is None or d.occurrence == expected.occurrence)]
        if not candidates:
            others = ", ".join(sorted({d.rule for d in result.duties})) or "none"
            failures.append(f"{expected.rule}{clause(expected.rule)}: expected a duty, got none "
                            f"(duties present: {others})")
            continue
        attempts = [_match_duty(expected, d) for d in candidates]
        if all(attempts):
            failures.append(f"{expected.rule}{clause(expected.rule)}: " + "; ".join(attempts[0]))
    for rule_id in expect.absent:
        present = [d for d in result.duties if d.rule == rule_id]
        if present:
            failures.append(f"{rule_id}{clause(rule_id)}: expected no duty, got {len(present)} "
                            f"(first required at {_fmt(present[0].required_at)})")
    for up in expect.upcoming:
        matches = [u for u in result.upcoming if u.rule == up.rule
                   and (up.episode is None or u.episode == up.episode)
                   and (up.occurrence is None or u.occurrence == up.occurrence)]
        if not matches:
            failures.append(f"{up.rule}{clause(up.rule)}: expected upcoming, got none")
        elif up.at is not None and not any(u.at == up.at for u in matches):
            failures.append(f"{up.rule}{clause(up.rule)}: upcoming at: expected {_fmt(up.at)}, "
                            f"got {', '.join(_fmt(u.at) for u in matches)}")
    for rule_id in expect.not_upcoming:
        if any(u.rule == rule_id for u in result.upcoming):
            failures.append(f"{rule_id}{clause(rule_id)}: expected not upcoming, but it is")
    found = {f.check for f in result.findings}
    for check_id in expect.findings:
        if check_id not in found:
            failures.append(f"finding {check_id}: expected, got {', '.join(sorted(found)) or 'no findings'}")
    if expect.no_findings and found:
        failures.append(f"findings: expected none, got {', '.join(sorted(found))}")
    if expect.duty_count is not None and expect.duty_count != len(result.duties):
        failures.append(f"duty_count: expected {expect.duty_count}, got {len(result.duties)}")
    return failures


def _problems(document: _yaml.Document, error: ValidationError) -> list[tuple[tuple[int | str, ...], Problem]]:
    """Each schema error as (where in the file, Problem at its place)."""
    problems = []
    for item in error.errors(include_url=False):
        loc = tuple(p for p in item["loc"] if not str(p).startswith("function-"))
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            keys = _suggest.keys_at(ScenarioFile, loc[:-1])
            message = f"'{loc[-1]}' is not a scenario key" + (_suggest.did_you_mean(loc[-1], keys)
                                                               or "; see docs/scenarios.md")
        elif item["type"] == "missing":
            message, loc = f"'{loc[-1]}' is required here", loc[:-1]
        elif item["type"] == "timezone_aware":
            message = without_offset(item.get("input"))
        elif item["type"] in ("enum", "literal_error"):
            allowed = _suggest.quoted(str(item.get("ctx", {}).get("expected", "")))
            message = f"{item.get('input')!r} is not allowed here: {message.lower()}" + \
                _suggest.did_you_mean(item.get("input"), allowed)
        value = item["type"] not in ("extra_forbidden", "missing")
        problems.append((loc, document.problem(loc, message, value=value)))
    return problems


FILE = "(file)"  # the name of a Result that stands for a problem with a whole file (or with its pack)
NOT_RUN = "not run: "  # how the failures of a scenario that could not be run begin

DUTY_STATES = tuple(state.value for state in DutyState)  # the engine's list, kept in one place
ESCALATION_STATES = tuple(state.value for state in EscalationState)


@dataclass
class _File:
    """A scenario file as read: its document, what it names, and each scenario (or its problems)."""

    path: Path
    document: _yaml.Document
    spec: ScenarioFile  # protocol and histories; scenarios are in `scenarios`
    scenarios: list[tuple[int, ScenarioSpec | None, list[str]]]  # (index, scenario or None, problems)

    def line(self, index: int) -> int:
        return self.document.locate(("scenarios", index))[0]

    def name(self, index: int) -> str:
        raw = self.document.data["scenarios"][index]
        name = raw.get("name") if isinstance(raw, dict) else None
        return name if isinstance(name, str) else f"scenario {index + 1}"


def _read_file(path: Path) -> _File:
    """Read and check a scenario file; problems of the file as a whole raise ScenarioError, those of one
    scenario stay with it (the other scenarios still run)."""
    document, problems = _yaml.read(path, what="a scenario")
    if document is None or problems:
        raise ScenarioError("\n".join(str(p) for p in problems))
    data = document.data
    if not isinstance(data, dict):
        raise ScenarioError(f"{path}:1:1: a scenario file must be a mapping with protocol and scenarios")
    raw_scenarios = data.get("scenarios")
    per_scenario: dict[int, list[str]] = {}
    try:
        spec = ScenarioFile.model_validate(data)
    except ValidationError as error:
        whole = []
        for loc, problem in _problems(document, error):
            if len(loc) > 1 and loc[0] == "scenarios" and isinstance(loc[1], int):
                per_scenario.setdefault(loc[1], []).append(str(problem))
            else:
                whole.append(problem)
        if whole:
            whole.sort(key=lambda p: (p.line, p.column))
            raise ScenarioError("\n".join(map(str, whole))) from None
        spec = ScenarioFile.model_validate({**data, "scenarios": []})
    if not isinstance(raw_scenarios, list) or not raw_scenarios:
        raise ScenarioError(str(document.problem(("scenarios",), "a scenario file needs at least one scenario")))
    scenarios: list[tuple[int, ScenarioSpec | None, list[str]]] = []
    for index, raw in enumerate(raw_scenarios):
        if index in per_scenario:
            scenarios.append((index, None, per_scenario[index]))
        else:
            scenario = spec.scenarios[index] if spec.scenarios else ScenarioSpec.model_validate(raw)
            scenarios.append((index, scenario, _state_problems(document, index, scenario)))
    return _File(path, document, spec, scenarios)


def _state_problems(document: _yaml.Document, index: int, scenario: ScenarioSpec) -> list[str]:
    """Expected duty and escalation states that the engine does not have (a misspelt `overdeu`)."""
    problems = []
    for number, duty in enumerate(scenario.expect.duties):
        where: tuple[int | str, ...] = ("scenarios", index, "expect", "duties", number)
        if duty.state is not None and duty.state not in DUTY_STATES:
            problems.append(str(document.problem((*where, "state"), f"'{duty.state}' is not a duty state; the "
                                                 f"states are {', '.join(DUTY_STATES)}"
                                                 f"{_suggest.did_you_mean(duty.state, DUTY_STATES)}")))
        for step_number, step in enumerate(duty.escalation or ()):
            if step.state is not None and step.state not in ESCALATION_STATES:
                problems.append(str(document.problem(
                    (*where, "escalation", step_number, "state"),
                    f"'{step.state}' is not an escalation state; the states are {', '.join(ESCALATION_STATES)}"
                    f"{_suggest.did_you_mean(step.state, ESCALATION_STATES)}")))
    return problems


def _pack_problems(file: _File, index: int, scenario: ScenarioSpec, pack: Pack) -> list[str]:
    """Expectations naming roles the pack does not have, or rules it does not have where that would pass
    silently (`absent`, `not_upcoming`)."""
    document, problems = file.document, []
    base: tuple[int | str, ...] = ("scenarios", index, "expect")
    rules = [rule.id for rule in pack.rules]

    def role(key: str, where: tuple[int | str, ...]) -> None:
        if key not in pack.roles:
            problems.append(str(document.problem(where, f"'{key}' is not one of the roles of pack '{pack.id}'"
                                                 f"{_suggest.did_you_mean(key, pack.roles)}")))

    for number, duty in enumerate(scenario.expect.duties):
        for i, key in enumerate(duty.roles or ()):
            role(key, (*base, "duties", number, "roles", i))
        for step_number, step in enumerate(duty.escalation or ()):
            for i, key in enumerate(step.to or ()):
                role(key, (*base, "duties", number, "escalation", step_number, "to", i))
    for section in ("absent", "not_upcoming"):
        for i, rule_id in enumerate(getattr(scenario.expect, section)):
            if rule_id not in rules:
                problems.append(str(document.problem((*base, section, i), f"'{rule_id}' is not a rule of pack "
                                                     f"'{pack.id}'{_suggest.did_you_mean(rule_id, rules)}")))
    return problems


def _history(file: _File, index: int, scenario: ScenarioSpec) -> History | list[str]:
    """The scenario's history (inline or named), or its problems, each at its place."""
    raw = scenario.history
    where: tuple[int | str, ...] = ("scenarios", index, "history")
    if isinstance(raw, str):
        if raw not in file.spec.histories:
            return [str(file.document.problem(where, f"no history called '{raw}' in `histories`"
                                                     f"{_suggest.did_you_mean(raw, file.spec.histories)}"))]
        raw, where = file.spec.histories[raw], ("histories", raw)
    try:
        return load_history(raw)
    except HistoryError as error:
        message = str(error).removeprefix("history: ")
    try:  # again, for the place of each problem
        History.model_validate(raw)
    except ValidationError as error:
        lines = describe_validation_error(error, "history").splitlines()
        places = [(*where, *(p for p in item["loc"] if not str(p).startswith("function-")))
                  for item in error.errors(include_url=False)]
        return [str(file.document.problem(place, line.split(": ", 2)[-1]))
                for place, line in zip(places, lines, strict=False)]
    except RecursionError:
        pass
    return [str(file.document.problem(where, message))]  # e.g. too many episodes


def _pack_path(path: Path, protocol: str) -> Path:
    relative = path.parent / protocol
    return relative if relative.suffix in (".yaml", ".yml") and relative.exists() else resolve_protocol(protocol)


def _run(file: _File, pack: Pack) -> list[Result]:
    results = []
    for index, scenario, problems in file.scenarios:
        line, name, path = file.line(index), file.name(index), str(file.path)
        if scenario is None:
            results.append(Result(path, line, name, None, "ERROR", problems))
            continue
        problems = problems or _pack_problems(file, index, scenario, pack)
        history = problems or _history(file, index, scenario)
        if isinstance(history, list):
            results.append(Result(path, line, name, scenario.clause, "ERROR", history))
            continue
        try:
            result = evaluate(pack, history, scenario.as_of)
        except RmfhcError as error:
            results.append(Result(path, line, name, scenario.clause, "ERROR", [str(error)]))
            continue
        failures = check(scenario.expect, result, pack)
        results.append(Result(path, line, name, scenario.clause, "FAIL" if failures else "PASS", failures))
    return results


def run_file(path: str | Path, protocol: str | Path | None = None) -> list[Result]:
    """Run every scenario in a file, against the pack it names or against `protocol` (a name or path).

    A malformed file raises ScenarioError naming the place, a pack that does not load PackError; a problem
    with one scenario (an expected state the engine does not have, a bad history) is that scenario's ERROR.
    """
    if not isinstance(path, str | Path):
        raise wrong_type("run_file", "path", "a path (str or pathlib.Path)", path)
    path = Path(path)
    file = _read_file(path)
    return _run(file, load_protocol(protocol if protocol is not None else _pack_path(path, file.spec.protocol)))


def run_files(paths: Iterable[str | Path], protocol: str | Path | None = None) -> list[Result]:
    """Run several scenario files (against `protocol` instead of the packs they name, if given).

    One Result per scenario. A problem with a whole file, or with a pack, is one Result named FILE ("(file)"),
    reported once however many files use that pack; the scenarios it stops are ERRORs whose failure begins
    NOT_RUN. The other files still run.
    """
    results: list[Result] = []
    packs: dict[str, Pack | None] = {}  # by path; None once reported as broken
    for path in map(Path, paths):
        try:
            file = _read_file(path)
        except RmfhcError as error:
            results.append(Result(str(path), 0, FILE, None, "ERROR", [str(error)]))
            results += _not_run(path, "the file has errors (above)")
            continue
        try:
            pack_path = resolve_protocol(protocol) if protocol is not None else _pack_path(path, file.spec.protocol)
        except RmfhcError as error:
            results.append(Result(str(path), 0, FILE, None, "ERROR", [str(error)]))
            results += [_skipped(file, index, "its pack was not found (above)") for index, _, _ in file.scenarios]
            continue
        key = str(pack_path)
        if key not in packs:
            try:
                packs[key] = load_protocol(pack_path)
            except RmfhcError as error:
                packs[key] = None
                results.append(Result(key, 0, FILE, None, "ERROR", [str(error)]))
        pack = packs[key]
        if pack is None:
            results += [_skipped(file, index, f"the pack {key} has errors (above)") for index, _, _ in file.scenarios]
            continue
        results += _run(file, pack)
    return results


def _skipped(file: _File, index: int, reason: str) -> Result:
    return Result(str(file.path), file.line(index), file.name(index), None, "ERROR", [NOT_RUN + reason])


def _not_run(path: Path, reason: str) -> list[Result]:
    """ERROR results for the scenarios of a file that could not be read, as far as they can be counted."""
    try:
        document, _ = _yaml.read(path, what="a scenario")
    except RmfhcError:
        return []
    data = document.data if document is not None else None
    scenarios = data.get("scenarios") if isinstance(data, dict) else None
    if not isinstance(scenarios, list):
        return []
    results = []
    for index, raw in enumerate(scenarios):
        name = raw.get("name") if isinstance(raw, dict) else None
        line = document.locate(("scenarios", index))[0] if document is not None else 0
        results.append(Result(str(path), line, name if isinstance(name, str) else f"scenario {index + 1}", None,
                              "ERROR", [NOT_RUN + reason]))
    return results
