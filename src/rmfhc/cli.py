"""The `rmfhc` command line: evaluate, validate, test, schema (and compare, diff)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from pydantic import TypeAdapter, ValidationError

from .errors import PackError, RmfhcError
from .evaluate import DutyState, Evaluation, evaluate
from .models import History, read_history
from .pack import PackSpec, is_vocabulary, load_protocol, load_vocabulary, validate_pack
from .report import render_text
from .scenarios import Result, run_files


def _as_of(text: str) -> datetime:
    try:
        moment: datetime = TypeAdapter(datetime).validate_python(text)
    except ValidationError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a timestamp such as 2026-11-07T10:00Z") from None
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError(f"'{text}' has no UTC offset; write 2026-11-07T10:00Z or +01:00")
    return moment


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


def _cmd_evaluate(args: argparse.Namespace) -> int:
    pack = load_protocol(args.protocol)
    history = read_history(args.history)
    result = evaluate(pack, history, args.as_of, explain=args.explain)
    if args.format == "json":
        if args.pretty:
            print(result.to_json(indent=2, rule_text=args.rule_text))
        else:
            result.write_json(sys.stdout, rule_text=args.rule_text)
    else:
        print(render_text(result, explain=args.explain, states=args.state))
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
    if args.what == "evaluation":
        schema = Evaluation.json_schema()
    elif args.what == "history":
        schema = History.model_json_schema()
    else:
        schema = PackSpec.model_json_schema(by_alias=True)
    print(json.dumps(schema, indent=2))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rmfhc", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    ev = sub.add_parser("evaluate", help="duties a protocol requires for a child's history at a moment")
    ev.add_argument("history", help="the history, a JSON file (docs/history-format.md)")
    ev.add_argument("--protocol", "-p", required=True, help="a pack name (dorset) or path")
    ev.add_argument("--as-of", required=True, type=_as_of, help="the moment, with a UTC offset")
    ev.add_argument("--format", choices=("text", "json"), default="text")
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

    sc = sub.add_parser("schema", help="print the JSON Schema of a history, a pack or an evaluation")
    sc.add_argument("what", choices=("history", "pack", "evaluation"))
    sc.set_defaults(run=_cmd_schema)

    from .compare.cli import add_commands  # the auditors' commands live with the comparison code

    add_commands(sub)
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
