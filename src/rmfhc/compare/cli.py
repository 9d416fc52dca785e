"""The auditors' commands: `rmfhc compare` and `rmfhc diff` (registered on rmfhc's command line)."""

from __future__ import annotations

import argparse
import shutil
import sys
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, TypeAdapter, ValidationError

from ..pack import Pack, available_protocols
from .areas import diff_areas, render_area_diff
from .base import ComparisonError
from .behaviour import diff_behaviour, render_behaviour
from .corpus import read_corpus
from .diff import diff_packs, render_pack_diff
from .matrix import compare_packs
from .render import FORMATS, render_comparison
from .revisions import load_pack_ref


def _as_of(text: str) -> datetime:
    try:
        moment: datetime = TypeAdapter(AwareDatetime).validate_python(text)
    except ValidationError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a timestamp with a UTC offset, such as "
                                         "2026-11-07T10:00Z") from None
    return moment


def _names(text: str) -> list[str]:
    names = [item.strip() for item in text.split(",") if item.strip()]
    if not names:
        raise argparse.ArgumentTypeError("give one or more names separated by commas")
    return names


def _write(text: str) -> None:
    # Written as is: the Markdown and HTML pages must equal the committed files byte for byte.
    sys.stdout.write(text)


def _note(command: str, text: str) -> None:
    print(f"rmfhc {command}: {text}", file=sys.stderr)


def _terminal_width() -> int | None:
    """The terminal's width when writing to one; None (the matrix takes the width it needs) otherwise."""
    return shutil.get_terminal_size().columns if sys.stdout.isatty() else None


def _packs(names: Sequence[str], areas: Sequence[str] | None) -> list[Pack]:
    """The packs named (default: every protocol found), kept to `areas` (pack ids) when given."""
    if not names:
        names = areas or available_protocols()
        if not names:
            raise ComparisonError("no protocols found; give pack names or paths")
        return [load_pack_ref(name) for name in names]
    packs = {pack.id: pack for pack in (load_pack_ref(name) for name in names)}
    if areas is None:
        return list(packs.values())
    unknown = [area for area in areas if area not in packs]
    if unknown:
        raise ComparisonError(f"--area {', '.join(unknown)}: not among the protocols given ({', '.join(packs)})")
    return [packs[area] for area in areas]


def _cmd_compare(args: argparse.Namespace) -> int:
    packs = _packs(args.packs, args.area)
    comparison = compare_packs(packs, args.duty)
    if args.format == "json":
        _write(comparison.model_dump_json(indent=2) + "\n")
        return 0
    width = args.width if args.width is not None else _terminal_width()
    _write(render_comparison(comparison, args.format, width=width, detail=args.detail))
    return 0


def _cmd_diff(args: argparse.Namespace) -> int:
    a, b = load_pack_ref(args.a), load_pack_ref(args.b)
    as_json = args.format == "json"
    if args.behaviour:
        corpus = read_corpus(args.histories)
        for path, reason in corpus.skipped:
            _note("diff", f"skipped {path}: {reason}")
        behaviour = diff_behaviour(a, b, corpus, args.as_of, label_a=args.a, label_b=args.b)
        _write(behaviour.model_dump_json(indent=2) + "\n" if as_json else render_behaviour(behaviour))
        return 1 if behaviour.affected else 0
    if args.histories:
        raise ComparisonError("histories are only read with --behaviour")
    if args.as_of is not None:
        raise ComparisonError("--as-of goes with --behaviour")
    by_rule = args.by == "rule" or (args.by is None and a.id == b.id)
    if by_rule:
        result = diff_packs(a, b, args.a, args.b)
        _write(result.model_dump_json(indent=2) + "\n" if as_json else render_pack_diff(result))
        return 0 if result.equivalent else 1
    areas = diff_areas(a, b, args.a, args.b)
    _write(areas.model_dump_json(indent=2) + "\n" if as_json else render_area_diff(areas))
    return 0 if areas.equivalent else 1


def add_commands(sub: Any) -> None:
    """Register the auditors' subcommands `compare` and `diff` on the CLI's subparsers."""
    co = sub.add_parser(
        "compare", help="compare protocols side by side, by duty",
        description="The protocols side by side: a row per duty kind, a column per area, each rule in a few "
                    "words (holder · deadline from what starts it (clause)). --detail adds every rule in full; "
                    "the HTML page always has it, folded.")
    co.add_argument("packs", nargs="*", metavar="PACK",
                    help="pack names, paths or PATH@REV (default: every protocol found)")
    co.add_argument("--area", type=_names, metavar="ID[,ID]", help="only these areas (pack ids)")
    co.add_argument("--duty", type=_names, metavar="KIND[,KIND]",
                    help="only these duty kinds, such as strategy_discussion,return_interview")
    co.add_argument("--detail", action="store_true", help="every rule in full after the matrix")
    co.add_argument("--format", choices=(*FORMATS, "json"), default="text")
    co.add_argument("--width", type=int, default=None,
                    help="text: the width to fit (default: the terminal's). With room, one line per duty kind "
                         "(one per rule with --detail; a long rule shortened, marked …); in less, wrapped")
    co.set_defaults(run=_cmd_compare)

    di = sub.add_parser(
        "diff", help="compare two packs (exit 0 the same, 1 different, 2 error)",
        description="Two areas: their rules aligned by duty kind, clock and conditions, the differences in "
                    "sentences. Two versions of one pack (PATH@REV): rule by rule. With --behaviour: the "
                    "histories of a corpus (files and folders, read recursively) through both packs, and "
                    "everything a user sees that differs.")
    di.add_argument("a", metavar="A", help="a pack name, path, or PATH@REV")
    di.add_argument("b", metavar="B", help="a pack name, path, or PATH@REV")
    di.add_argument("histories", nargs="*", metavar="HISTORY",
                    help="with --behaviour: history or case JSON files, or folders of them")
    di.add_argument("--behaviour", "--behavior", action="store_true",
                    help="compare what the packs require for the histories, not their rules")
    di.add_argument("--as-of", type=_as_of, default=None,
                    help="with --behaviour: one instant (default: every instant where an output changes)")
    di.add_argument("--by", choices=("rule", "duty"), default=None,
                    help="rule: match rules by id and content (the default for two versions of one pack); "
                         "duty: align by duty kind, clock and conditions (the default for two areas)")
    di.add_argument("--format", choices=("text", "json"), default="text")
    di.set_defaults(run=_cmd_diff)
