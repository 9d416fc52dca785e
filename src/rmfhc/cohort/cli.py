"""The cohort commands: `rmfhc batch`, `rmfhc import ssda903` and `rmfhc audit`."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Iterator
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, TextIO

from tqdm import tqdm

from ..dates import LONDON
from ..errors import RmfhcError
from ..models import load_history
from ..pack import load_protocol
from .audit import Period, audit_many
from .batch import DUTY_COLUMNS, Record, Summary, evaluate_columns, evaluate_many, read_records
from .report import render_csv, render_html, render_text
from .ssda903 import Import, read_ssda903


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a date such as 2026-04-01") from None


def _progress(total: int | None, what: str) -> tqdm[Any]:
    """A progress bar on a terminal; none when the output is piped or redirected."""
    return tqdm(total=total, unit=what, disable=not sys.stderr.isatty(), file=sys.stderr, smoothing=0.1)


def _count(path: str) -> int | None:
    """How many records an input holds, for the progress bar (None for standard input)."""
    if path == "-":
        return None
    source = Path(path)
    if source.is_dir():
        return sum(1 for _ in source.rglob("*.json"))
    try:
        with source.open("rb") as handle:
            return sum(1 for line in handle if line.strip())
    except OSError:
        return None


def _open_out(path: str | None) -> TextIO:
    if path is None or path == "-":
        return sys.stdout
    try:
        return open(path, "w", encoding="utf-8", newline="")
    except OSError as error:
        raise RmfhcError(f"{path}: cannot write: {error.strerror}") from None


def _cmd_batch(args: argparse.Namespace) -> int:
    pack = load_protocol(args.protocol)
    if args.duties_only:
        return _duties_only(args, pack)
    out = _open_out(args.out)
    table = None
    if args.duties_csv:
        duties_file = _open_out(args.duties_csv)
        table = csv.writer(duties_file, lineterminator="\n")
        table.writerow(DUTY_COLUMNS)
    summary = Summary()
    with _progress(_count(args.input), "children") as bar:
        for outcome in evaluate_many(pack, read_records(args.input), args.as_of, workers=args.workers,
                                     json_lines=True, keep=False, rows=table is not None):
            summary.add(outcome)
            bar.update()
            if outcome.error is not None:
                bar.write(f"rmfhc batch: refused {outcome.error}", file=sys.stderr)
                continue
            out.write(f'{{"source":{json.dumps(outcome.source)},"child":{json.dumps(outcome.child)},'
                      f'"result":{outcome.line}}}\n')
            if table is not None:
                table.writerows(outcome.rows)
    out.flush()
    for line in summary.lines():
        print(f"rmfhc batch: {line}", file=sys.stderr)
    return 1 if summary.refused else 0


def _duties_only(args: argparse.Namespace, pack: Any) -> int:
    out = _open_out(args.duties_csv or args.out)
    csv.writer(out, lineterminator="\n").writerow(DUTY_COLUMNS)
    summary = Summary()
    with _progress(_count(args.input), "children") as bar:
        for chunk in evaluate_columns(pack, read_records(args.input), args.as_of, workers=args.workers):
            out.write(chunk.csv)
            summary.merge(chunk.summary)
            bar.update(chunk.summary.children + chunk.summary.refused)
            for message in chunk.refused:
                bar.write(f"rmfhc batch: refused {message}", file=sys.stderr)
    out.flush()
    for line in summary.lines():
        print(f"rmfhc batch: {line}", file=sys.stderr)
    return 1 if summary.refused else 0


def _tables(args: argparse.Namespace) -> Import:
    return read_ssda903(args.header, args.episodes, args.missing, args.uasc, authority=args.authority)


def _cmd_import(args: argparse.Namespace) -> int:
    result = _tables(args)
    out = _open_out(args.out)
    for history in result.histories:
        out.write(json.dumps(history, separators=(",", ":")) + "\n")
    out.flush()
    for finding in result.findings:
        print(f"rmfhc import: {finding}", file=sys.stderr)
    episodes = sum(len(h["episodes"]) for h in result.histories)
    print(f"rmfhc import: {len(result.histories):,} histories, {episodes:,} episodes, {len(result.findings):,} "
          f"findings; {result.children_without_missing:,} children in the Header with no Missing rows",
          file=sys.stderr)
    return 0


def _ssda903_records(result: Import) -> Iterator[Record]:
    for history in result.histories:
        yield Record(f"SSDA903 child {history['child']['id']}", load_history(history))


def _cmd_audit(args: argparse.Namespace) -> int:
    pack = load_protocol(args.protocol)
    period = Period(args.start, args.end)
    if period.end <= period.start:
        raise RmfhcError(f"--to {period.end} is not after --from {period.start}")
    as_of = args.as_of or datetime.combine(period.end, time(0), tzinfo=LONDON)
    if args.missing:
        if args.input is not None or not (args.header and args.episodes):
            raise RmfhcError("give either histories (a file or folder) or the SSDA903 tables --header, "
                             "--episodes and --missing, not both")
        tables = _tables(args)
        for finding in tables.findings:
            print(f"rmfhc audit: {finding}", file=sys.stderr)
        records: Any = _ssda903_records(tables)
        total: int | None = len(tables.histories)
    elif args.input is not None:
        records, total = read_records(args.input), _count(args.input)
    else:
        raise RmfhcError("give the histories to audit (a JSON-lines file or a folder), or the SSDA903 tables")
    refused: list[str] = []
    with _progress(total, "children") as bar:
        def counted(items: Any) -> Iterator[Record]:
            for item in items:
                bar.update()
                yield item
        audit = audit_many(pack, counted(records), period, as_of, workers=args.workers, refused=refused)
    for message in refused:
        print(f"rmfhc audit: refused {message}", file=sys.stderr)
    render = {"text": render_text, "csv": render_csv, "html": render_html}[args.format]
    out = _open_out(args.out)
    out.write(render(audit) + ("\n" if args.format == "text" else ""))
    out.flush()
    return 1 if refused else 0


def add_commands(sub: Any, as_of: Any) -> None:
    """Add batch, import and audit to the `rmfhc` command line (`as_of` parses --as-of)."""
    batch = sub.add_parser("batch", help="evaluate many histories in parallel; results as JSON lines",
                           description="Evaluate many histories against one protocol in parallel. Results are "
                                       "JSON lines ({source, child, result}); a bad history is reported on "
                                       "stderr with its line number and skipped, and the exit status is then 1; "
                                       "a summary ends the run.")
    batch.add_argument("input", help="a JSON-lines file (one history per line), a folder of .json files, or -")
    batch.add_argument("--protocol", "-p", required=True)
    batch.add_argument("--as-of", required=True, type=as_of)
    batch.add_argument("--out", "-o", help="write the JSON lines here (default: standard output)")
    batch.add_argument("--duties-csv", help="also write one CSV row per duty here")
    batch.add_argument("--workers", type=int, help="processes to use (default: one per core)")
    batch.add_argument("--duties-only", action="store_true",
                       help="write only the duties CSV (to --duties-csv or --out), by the cohort evaluator: the "
                            "fast path for a large cohort")
    batch.set_defaults(run=_cmd_batch)

    importer = sub.add_parser("import", help="build histories from other records (the DfE's SSDA903 return)")
    kinds = importer.add_subparsers(dest="source", required=True)
    ssda = kinds.add_parser("ssda903", help="histories from the SSDA903 Header, Episodes, Missing (and UASC) "
                                            "tables, as JSON lines; the DfE's checks on the Missing table")
    _table_options(ssda, required=True)
    ssda.add_argument("--out", "-o", help="write the histories here (default: standard output)")
    ssda.set_defaults(run=_cmd_import)

    audit = sub.add_parser("audit", help="a compliance audit of a cohort: done on time, late, or never",
                           description="Audit a cohort against a protocol: per duty kind and rule, the duties "
                                       "required between --from and --to and what became of them, with the "
                                       "national measure 'return interview offered within 72 hours of return'. "
                                       "A bad history is reported on stderr and left out; the exit status is then "
                                       "1.")
    audit.add_argument("input", nargs="?", help="histories: a JSON-lines file or a folder of .json files")
    audit.add_argument("--protocol", "-p", required=True)
    audit.add_argument("--from", dest="start", required=True, type=_date, help="first day (YYYY-MM-DD)")
    audit.add_argument("--to", dest="end", required=True, type=_date, help="day after the last (YYYY-MM-DD)")
    audit.add_argument("--as-of", type=as_of, help="when to judge the states (default: the start of --to)")
    audit.add_argument("--format", choices=("text", "csv", "html"), default="text")
    audit.add_argument("--out", "-o", help="write the report here (default: standard output)")
    audit.add_argument("--workers", type=int, help="processes to use (default: one per core)")
    _table_options(audit, required=False)
    audit.set_defaults(run=_cmd_audit)


def _table_options(parser: argparse.ArgumentParser, required: bool) -> None:
    parser.add_argument("--header", type=Path, required=required, help="SSDA903 Header table (CSV)")
    parser.add_argument("--episodes", type=Path, required=required, help="SSDA903 Episodes table (CSV)")
    parser.add_argument("--missing", type=Path, required=required, help="SSDA903 Missing table (CSV)")
    parser.add_argument("--uasc", type=Path, help="SSDA903 UASC table (CSV)")
    parser.add_argument("--authority", help="the local authority making the return (the placing authority)")
