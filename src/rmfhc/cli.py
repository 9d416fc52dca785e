"""The `rmfhc` command line: evaluate, validate, test, schema (and compare, diff)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from pydantic import TypeAdapter, ValidationError

from . import __version__, _read
from .dates import LONDON
from .errors import HistoryError, PackError, RmfhcError
from .evaluate import Duty, Evaluation, evaluate
from .models import History, parse_history, read_history
from .pack import PackSpec, is_vocabulary, load_protocol, load_vocabulary, validate_pack
from .scenarios import FILE, NOT_RUN, Result, run_files


def _as_of(text: str) -> datetime:
    if text.strip().lower() == "now":  # the one place the wall clock is read: never in the library
        return datetime.now(UTC)
    try:
        moment: datetime = TypeAdapter(datetime).validate_python(text)
    except ValidationError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a timestamp such as 2026-11-07T10:00Z") from None
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError(f"'{text}' has no UTC offset; write 2026-11-07T10:00Z or +01:00")
    return moment


def _short(moment: datetime | None) -> str:
    return "-" if moment is None else moment.astimezone(LONDON).strftime("%a %d %b %Y %H:%M %Z")


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _table(rows: list[list[str]], headers: list[str]) -> str:
    widths = [max(len(str(c)) for c in col) for col in zip(headers, *rows, strict=False)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=False))
    out = [line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=False)) for row in rows]
    return "\n".join(out)


def _due_text(duty: Duty) -> str:
    if duty.deadline == "immediately":
        return f"immediately ({_short(duty.due)})"
    return _short(duty.due) if duty.due else duty.deadline


def render_text(result: Evaluation, explain: bool = False) -> str:
    """A readable report of an evaluation: duties, upcoming triggers, findings."""
    out = [f"Protocol: {result.protocol}    as of {_short(result.as_of)}", ""]
    if result.duties:
        rows = [[d.state.value.replace("_", " ").upper(), d.episode, _clip(d.title, 70),
                 _clip(", ".join(r.title for r in d.roles), 36), _short(d.required_at), _due_text(d),
                 _clip(d.source.section, 10)] for d in result.duties]
        out.append(_table(rows, ["STATE", "EPISODE", "DUTY", "WHO", "REQUIRED", "DUE", "CLAUSE"]))
    else:
        out.append("No duties are required.")
    for duty in result.duties:
        active = [e for e in duty.escalation if e.state.value in ("active", "pending")]
        if active:
            for step in active:
                out.append(f"  escalation ({step.state.value}) {duty.rule}: {_short(step.at)} to "
                           f"{', '.join(r.title for r in step.to)}: {step.action}")
    if explain:
        out += ["", "Explanations:"]
        for duty in result.duties:
            out.append(f"- {duty.rule} [{duty.episode} #{duty.occurrence}] {duty.title}")
            out.append(f"    clause {duty.source.section}: \"{duty.source.quote}\"")
            if duty.explanation:
                out.append(f"    conditions: {duty.explanation.conditions}")
                for test in duty.explanation.tests:
                    mark = "held" if test.held else "did not hold"
                    out.append(f"      {test.fact} = {test.value!r}: {test.test} {test.expected!r} {mark}")
                out.append(f"    {duty.explanation.clock}")
            if duty.interpretation:
                out.append(f"    interpretation: {duty.interpretation}")
    out += ["", "Upcoming (if the child is still missing where marked *):"]
    if result.upcoming:
        for up in result.upcoming:
            star = "*" if up.if_still_missing else " "
            out.append(f"  {star} {_short(up.at)}  {up.title}  [{up.rule}, {up.source.section}]")
    else:
        out.append("  nothing scheduled")
    out += ["", "Findings:"]
    out += [f"  - [{f.check}] {f.episode or 'history'}: {f.finding}" for f in result.findings] or ["  none"]
    return "\n".join(out)


def _read_history(source: str) -> History:
    """A history from a file, or from standard input for `-`."""
    if source != _read.STDIN:
        return read_history(source)
    try:
        data = _read.read_bytes(source, _read.MAX_HISTORY_BYTES, "a history", stdin=True)
    except _read.BadInput as error:
        raise HistoryError(str(error.problem)) from None
    return parse_history(data, _read.source_name(source))


def _cmd_evaluate(args: argparse.Namespace) -> int:
    pack = load_protocol(args.protocol)
    history = _read_history(args.history)
    result = evaluate(pack, history, args.as_of, explain=args.explain or args.format == "json")
    if args.format == "json":
        print(result.to_json())
    else:
        print(render_text(result, explain=args.explain))
    return 0


def _cmd_validate(args: argparse.Namespace) -> int:
    failed = 0
    for path in args.packs:
        try:
            if is_vocabulary(path):
                vocabulary = load_vocabulary(path)
                print(f"{path}: ok (vocabulary: {len(vocabulary.duties)} duty kinds, {len(vocabulary.roles)} roles)")
                continue
            pack = validate_pack(path)
        except PackError as error:
            failed += 1
            count = len(error.problems)
            print(f"{path}: {count} error{'s' if count != 1 else ''}", file=sys.stderr)
            for problem in error.problems:
                print(f"  {problem}", file=sys.stderr)
            continue
        print(f"{path}: ok ({len(pack.rules)} rules, {len(pack.checks)} checks, "
              f"{len(pack.spec.not_encoded)} not-encoded entries)")
    return 1 if failed else 0


def _print_results(results: list[Result], verbose: bool, as_json: bool) -> int:
    """Scenario results to stdout (opa-test style), problems with whole files or packs to stderr, each once;
    the summary counts scenarios. Returns the exit status: 2 on any error, 1 on any failure, else 0."""
    problems = [r for r in results if r.name == FILE]
    scenarios = [r for r in results if r.name != FILE]
    if as_json:
        print(json.dumps([r.__dict__ for r in results], indent=2))
    else:
        for problem in problems:
            for line in problem.failures[0].splitlines():
                print(f"rmfhc test: error: {line}", file=sys.stderr)
        _print_scenarios(scenarios, verbose)
        total = len(scenarios)
        print("-" * 60)
        for status in ("PASS", "FAIL", "ERROR"):
            count = sum(r.status == status for r in scenarios)
            if count or status == "PASS":
                not_run = sum(r.status == status and r.failures[:1] != [] and r.failures[0].startswith(NOT_RUN)
                              for r in scenarios)
                print(f"{status}: {count}/{total}" + (f" ({not_run} not run)" if not_run else ""))
        if problems:
            count = len(problems)
            print(f"{count} file{'s' if count != 1 else ''} in error (errors above)")
    if problems or any(r.status == "ERROR" for r in scenarios) or not scenarios:
        return 2
    return 1 if any(r.status == "FAIL" for r in scenarios) else 0


def _print_scenarios(scenarios: list[Result], verbose: bool) -> None:
    current = None
    index = 0
    while index < len(scenarios):
        result = scenarios[index]
        if result.status == "PASS" and not verbose:
            index += 1
            continue
        if result.file != current:
            current = result.file
            print(f"{result.file}:")
        if result.failures[:1] and result.failures[0].startswith(NOT_RUN):
            # the scenarios of a file that could not run, as one line
            same = 1
            while index + same < len(scenarios) and scenarios[index + same].file == result.file and \
                    scenarios[index + same].failures == result.failures:
                same += 1
            print(f"  ERROR: {same} scenario{'s' if same != 1 else ''} {result.failures[0]}")
            index += same
            continue
        clause = f" [{result.clause}]" if result.clause else ""
        print(f"  {result.status}: {result.name}{clause} (line {result.line})")
        for failure in result.failures:
            print(f"      {failure}")
        index += 1


def _cmd_test(args: argparse.Namespace) -> int:
    files = [Path(f) for f in args.files]
    expanded: list[Path] = []
    for file in files:
        expanded += sorted(file.rglob("*.yaml")) if file.is_dir() else [file]
    if not expanded:
        print("rmfhc test: error: no scenario files given (YAML files or folders of them)", file=sys.stderr)
        return 2
    return _print_results(run_files(expanded, args.protocol), args.verbose, args.format == "json")


def _cmd_schema(args: argparse.Namespace) -> int:
    if args.what == "evaluation":
        schema = Evaluation.json_schema()
    elif args.what == "history":
        schema = History.model_json_schema()
    else:
        schema = PackSpec.model_json_schema(by_alias=True)
    print(json.dumps(schema, indent=2))
    return 0


EXIT_STATUS = """\
exit status:
  0    success: the evaluation printed, every pack valid, every scenario passed, no differences
  1    what was checked is wrong: validate found problems in a pack, test had failing scenarios,
       diff found differences
  2    bad input or usage: a file that cannot be read or used, named with its line and column on
       standard error (a malformed history or scenario file, a pack with errors given to evaluate or
       test), or a wrong argument
  130  interrupted (Ctrl-C)

Results go to standard output, errors to standard error."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rmfhc", description=__doc__, epilog=EXIT_STATUS,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"rmfhc {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    ev = sub.add_parser("evaluate", help="duties a protocol requires for a child's history at a moment",
                        epilog=EXIT_STATUS, formatter_class=argparse.RawDescriptionHelpFormatter)
    ev.add_argument("history", help="the history, a JSON file (docs/history-format.md), or - to read it from "
                                    "standard input")
    ev.add_argument("--protocol", "-p", required=True, help="a pack name (dorset) or path")
    ev.add_argument("--as-of", required=True, type=_as_of,
                    help="the moment, with a UTC offset (2026-11-07T10:00Z), or 'now' (the current time, UTC)")
    ev.add_argument("--format", choices=("text", "json"), default="text")
    ev.add_argument("--explain", action="store_true", help="show conditions, facts and clause of each duty")
    ev.set_defaults(run=_cmd_evaluate)

    va = sub.add_parser("validate", help="check packs; report every error as file:line:column",
                        epilog=EXIT_STATUS, formatter_class=argparse.RawDescriptionHelpFormatter)
    va.add_argument("packs", nargs="+")
    va.set_defaults(run=_cmd_validate)

    te = sub.add_parser("test", help="run YAML scenario files (docs/scenarios.md)",
                        epilog=EXIT_STATUS, formatter_class=argparse.RawDescriptionHelpFormatter)
    te.add_argument("files", nargs="+", help="scenario files or folders")
    te.add_argument("--protocol", "-p", default=None,
                    help="run every file against this pack (a name or path) instead of the one it names, such as "
                         "an edited copy")
    te.add_argument("-v", "--verbose", action="store_true", help="list passing scenarios too")
    te.add_argument("--format", choices=("text", "json"), default="text")
    te.set_defaults(run=_cmd_test)

    sc = sub.add_parser("schema", help="print the JSON Schema of a history, a pack or an evaluation")
    sc.add_argument("what", choices=("history", "pack", "evaluation"))
    sc.set_defaults(run=_cmd_schema)

    from .compare import add_commands  # the auditors' commands live with the comparison code

    add_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; a user's mistake prints one line per problem and exits non-zero (see
    EXIT_STATUS). Ctrl-C exits 130 without a traceback."""
    command = "rmfhc"
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        command = f"rmfhc {args.command}"
        code: int = args.run(args)
        return code
    except RmfhcError as error:
        print(f"{command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # output piped into `head`: stop quietly, and let nothing flush into the pipe
        _discard_stdout()
        return 0


def _discard_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # stdout replaced by an object without a file descriptor
        pass


if __name__ == "__main__":
    sys.exit(main())
