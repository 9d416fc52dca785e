"""YAML scenario tests for packs, the format policy officers write tests in (docs/scenarios.md)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from . import _yaml
from .dates import LONDON
from .errors import Problem, RmfhcError, ScenarioError, wrong_type
from .evaluate import Duty, Evaluation, evaluate
from .models import History, describe_validation_error
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
    roles: tuple[str, ...] | None = None
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
    if expected.roles is not None and set(expected.roles) != {r.key for r in duty.roles}:
        diffs.append(f"roles: expected {sorted(expected.roles)}, got {sorted(r.key for r in duty.roles)}")
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


def _problems(document: _yaml.Document, error: ValidationError) -> list[Problem]:
    problems = []
    for item in error.errors(include_url=False):
        loc = tuple(p for p in item["loc"] if not str(p).startswith("function-"))
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = f"'{loc[-1]}' is not a scenario key; see docs/scenarios.md"
        elif item["type"] == "missing":
            message, loc = f"'{loc[-1]}' is required here", loc[:-1]
        elif item["type"] == "timezone_aware":
            message = "this timestamp has no UTC offset; add Z or +01:00"
        problems.append(document.problem(loc, message, value=item["type"] not in ("extra_forbidden", "missing")))
    return problems


def run_file(path: str | Path) -> list[Result]:
    """Run every scenario in a file. A malformed file raises ScenarioError naming the place."""
    if not isinstance(path, str | Path):
        raise wrong_type("run_file", "path", "a path (str or pathlib.Path)", path)
    path = Path(path)
    document, problems = _yaml.read(path, what="a scenario")
    if document is None or problems:
        raise ScenarioError("\n".join(str(p) for p in problems))
    try:
        spec = ScenarioFile.model_validate(document.data)
    except ValidationError as error:
        raise ScenarioError("\n".join(str(p) for p in _problems(document, error))) from None
    if not spec.scenarios:
        raise ScenarioError(str(document.problem(("scenarios",), "a scenario file needs at least one scenario")))
    protocol = spec.protocol
    relative = path.parent / protocol
    pack = load_protocol(relative if relative.suffix in (".yaml", ".yml") and relative.exists()
                         else resolve_protocol(protocol))
    results = []
    for index, scenario in enumerate(spec.scenarios):
        line = document.locate(("scenarios", index))[0]
        raw = scenario.history
        where: tuple[str | int, ...] = ("scenarios", index, "history")
        if isinstance(raw, str):
            if raw not in spec.histories:
                raise ScenarioError(str(document.problem(where, f"no history called '{raw}' in `histories`")))
            raw, where = spec.histories[raw], ("histories", raw)
        try:
            history = History.model_validate(raw)
        except ValidationError as error:
            first = describe_validation_error(error, "history").splitlines()[0]
            raise ScenarioError(str(document.problem(where, first.removeprefix("history: ")))) from None
        try:
            result = evaluate(pack, history, scenario.as_of)
        except RmfhcError as error:
            results.append(Result(str(path), line, scenario.name, scenario.clause, "ERROR", [str(error)]))
            continue
        failures = check(scenario.expect, result, pack)
        results.append(Result(str(path), line, scenario.name, scenario.clause,
                              "FAIL" if failures else "PASS", failures))
    return results


def run_files(paths: Iterable[str | Path]) -> list[Result]:
    """Run several scenario files; a malformed file becomes one ERROR result, the others still run."""
    results: list[Result] = []
    for path in paths:
        try:
            results += run_file(path)
        except RmfhcError as error:
            results.append(Result(str(path), 0, "(file)", None, "ERROR", [str(error)]))
    return results
