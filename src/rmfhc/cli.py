"""The `rmfhc` command line: evaluate, validate, test, schema (and compare, diff)."""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from . import __version__, _read
from .errors import EvaluationError, HistoryError, PackError, RmfhcError
from .evaluate import DutyState, evaluate
from .inputs import parse_as_of
from .models import History, parse_history, read_history
from .pack import is_vocabulary, load_protocol, load_vocabulary, validate_pack
from .report import render_text
from .scenarios import FILE, NOT_RUN, Result, run_files
from .schemas import SCHEMAS


def _as_of(text: str) -> datetime:
    if text.strip().lower() == "now":  # the one place the wall clock is read: never in the library
        return datetime.now(UTC)
    try:
        return parse_as_of(text)
    except EvaluationError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _states(text: str) -> list[DutyState]:
    """`--state overdue,missed`: duty states, each checked."""
    states = []
    for word in text.split(","):
        word = word.strip().replace(" ", "_")
        try:
            states.append(DutyState(word))
        except ValueError:
            allowed = ", ".join(s.value for s in DutyState)
            raise argparse.ArgumentTypeError(f"'{word}' is not a duty state; use {allowed}") from None
    return states


def _extra(module: str, extra: str, what: str) -> None:
    """Refuse in one line when an optional extra is not installed."""
    if importlib.util.find_spec(module) is None:
        raise RmfhcError(f"{what} needs the '{extra}' extra: pip install 'rmfhc[{extra}]'")


def _write(data: str | bytes, output: str | None) -> None:
    """To the file given with --output, or to standard output (bytes to its binary stream)."""
    if output is not None:
        Path(output).write_bytes(data.encode() if isinstance(data, str) else data)
    elif isinstance(data, bytes):
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
    else:
        sys.stdout.write(data)


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
    if args.format == "ics":
        _extra("icalendar", "calendar", "--format ics")
    elif args.format in ("svg", "png"):
        _extra("matplotlib", "timeline", f"--format {args.format}")
    pack = load_protocol(args.protocol)
    history = _read_history(args.history)
    result = evaluate(pack, history, args.as_of, explain=args.explain)
    if args.format == "json":
        if args.pretty:
            _write(result.to_json(indent=2, rule_text=args.rule_text) + "\n", args.output)
        elif args.output is not None:
            with open(args.output, "w", encoding="utf-8") as out:
                result.write_json(out, rule_text=args.rule_text)
        else:
            result.write_json(sys.stdout, rule_text=args.rule_text)
    elif args.format == "ics":
        from .calendar import to_ical

        _write(to_ical(result, history.child.id), args.output)
    elif args.format in ("svg", "png"):
        from .timeline import draw

        _write(draw(result, history, args.format), args.output)
    else:
        _write(render_text(result, explain=args.explain, states=args.state) + "\n", args.output)
    return 0


def _cmd_serve(args: argparse.Namespace) -> int:
    _extra("fastapi", "serve", "rmfhc serve")
    _extra("uvicorn", "serve", "rmfhc serve")
    from .service import Settings, serve

    settings = Settings(max_body=int(args.max_body_mb * 1024 * 1024), time_limit=args.time_limit,
                        batch_time_limit=args.batch_time_limit, allow_pack_upload=args.allow_pack_upload,
                        **({"workers": args.workers} if args.workers else {}))
    serve(settings, args.host, args.port, args.log_level)
    return 0


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"'{text}' is not a positive number")
    return value


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
    print(json.dumps(SCHEMAS[args.what](), indent=2))
    return 0


EXIT_STATUS = """\
exit status:
  0    success: the evaluation printed, every pack valid, every scenario passed, no differences
  1    what was checked is wrong: validate found problems in a pack, test had failing scenarios,
       diff found differences, batch or audit refused some records (the others are in the output)
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
    ev.add_argument("--format", choices=("text", "json", "ics", "svg", "png"), default="text",
                    help="text (a table), json, ics (deadlines as iCalendar), svg or png (the child's timeline)")
    ev.add_argument("--output", "-o", metavar="FILE", help="write to FILE instead of standard output")
    ev.add_argument("--explain", action="store_true", help="show conditions, facts and clause of each duty")
    ev.add_argument("--rule-text", action="store_true",
                    help="JSON: write each duty's title, clause, quote and interpretation (otherwise the rule id)")
    ev.add_argument("--pretty", action="store_true", help="JSON: indented for reading")
    ev.add_argument("--state", type=_states, metavar="STATES",
                    help="only duties in these states, such as overdue,missed (the text table)")
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

    sc = sub.add_parser("schema", help="print the JSON Schema of a pack, a scenario file, a history or an evaluation")
    sc.add_argument("what", choices=tuple(SCHEMAS))
    sc.set_defaults(run=_cmd_schema)

    se = sub.add_parser("serve", help="the HTTP service (docs/service.md); needs the 'serve' extra")
    se.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    se.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    se.add_argument("--workers", type=int, default=0, help="evaluating processes (default: one per core)")
    se.add_argument("--max-body-mb", type=_positive, default=5.0, metavar="MB",
                    help="largest request body, in MB (default 5); larger is refused 413")
    se.add_argument("--time-limit", type=_positive, default=10.0, metavar="SECONDS",
                    help="to receive a body and to evaluate one history (default 10); longer is stopped")
    se.add_argument("--batch-time-limit", type=_positive, default=120.0, metavar="SECONDS",
                    help="for a whole POST /batch (default 120); lines not started by then are answered 422")
    se.add_argument("--allow-pack-upload", action="store_true",
                    help="take a pack's YAML in a request ('pack'); otherwise only known protocols by name")
    se.add_argument("--log-level", default="info", choices=("critical", "error", "warning", "info", "debug"))
    se.set_defaults(run=_cmd_serve)

    from .cohort.cli import add_commands as add_cohort_commands
    from .compare.cli import add_commands  # the auditors' commands live with the comparison code

    add_commands(sub)
    add_cohort_commands(sub, _as_of)
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
