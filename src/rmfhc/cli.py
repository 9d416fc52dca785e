"""The `rmfhc` command line: evaluate, validate, test, schema (and compare, diff)."""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from .errors import EvaluationError, PackError, RmfhcError
from .evaluate import DutyState, evaluate
from .inputs import parse_as_of
from .models import read_history
from .pack import is_vocabulary, load_protocol, load_vocabulary, validate_pack
from .report import render_text
from .scenarios import Result, run_files
from .schemas import SCHEMAS


def _as_of(text: str) -> datetime:
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


def _cmd_evaluate(args: argparse.Namespace) -> int:
    if args.format == "ics":
        _extra("icalendar", "calendar", "--format ics")
    elif args.format in ("svg", "png"):
        _extra("matplotlib", "timeline", f"--format {args.format}")
    pack = load_protocol(args.protocol)
    history = read_history(args.history)
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
    if as_json:
        print(json.dumps([r.__dict__ for r in results], indent=2))
    else:
        current = None
        for result in results:
            if result.status == "PASS" and not verbose:
                continue
            if result.file != current:
                current = result.file
                print(f"{result.file}:")
            clause = f" [{result.clause}]" if result.clause else ""
            print(f"  {result.status}: {result.name}{clause} (line {result.line})")
            for failure in result.failures:
                print(f"      {failure}")
        total = len(results)
        print("-" * 60)
        for status in ("PASS", "FAIL", "ERROR"):
            count = sum(r.status == status for r in results)
            if count or status == "PASS":
                print(f"{status}: {count}/{total}")
    return 0 if results and all(r.status == "PASS" for r in results) else 1


def _cmd_test(args: argparse.Namespace) -> int:
    files = [Path(f) for f in args.files]
    expanded: list[Path] = []
    for file in files:
        expanded += sorted(file.rglob("*.yaml")) if file.is_dir() else [file]
    if not expanded:
        print("rmfhc test: no scenario files given", file=sys.stderr)
        return 2
    results = run_files(expanded)
    if any(r.name == "(file)" for r in results):
        _print_results(results, args.verbose, args.format == "json")
        return 2
    return _print_results(results, args.verbose, args.format == "json")


def _cmd_schema(args: argparse.Namespace) -> int:
    print(json.dumps(SCHEMAS[args.what](), indent=2))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rmfhc", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    ev = sub.add_parser("evaluate", help="duties a protocol requires for a child's history at a moment")
    ev.add_argument("history", help="the history, a JSON file (docs/history-format.md)")
    ev.add_argument("--protocol", "-p", required=True, help="a pack name (dorset) or path")
    ev.add_argument("--as-of", required=True, type=_as_of, help="the moment, with a UTC offset")
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

    va = sub.add_parser("validate", help="check packs; report every error as file:line:column")
    va.add_argument("packs", nargs="+")
    va.set_defaults(run=_cmd_validate)

    te = sub.add_parser("test", help="run YAML scenario files (docs/scenarios.md)")
    te.add_argument("files", nargs="+", help="scenario files or folders")
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
    from .compare import add_commands  # the auditors' commands live with the comparison code

    add_commands(sub)
    add_cohort_commands(sub, _as_of)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; a user's mistake prints one line per problem and exits non-zero."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.run(args)
        return code
    except RmfhcError as error:
        print(f"rmfhc {args.command}: error: {error}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into `head`
        return 0


if __name__ == "__main__":
    sys.exit(main())
