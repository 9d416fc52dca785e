"""Comparison of protocol packs for auditors: `rmfhc compare` and `rmfhc diff`.

Three comparisons, each a function returning a typed result and each built on the canonical duty kinds of
protocols/vocabulary.yaml, never on rule ids or YAML layout:

- `compare_packs(packs)`: a matrix with a row per canonical duty kind and a column per area.
- `diff_packs(a, b)`: rules added, removed and changed between two packs (or two versions of one pack).
  Rules are matched by duty kind and normalised content, so renaming an id, reordering rules or
  reformatting the YAML is no difference.
- `diff_behaviour(a, b, histories)`: the same histories run through both packs; where the required duties
  or their due times differ.

Nothing here knows an area: every difference shown comes from the packs.
"""

from __future__ import annotations

import argparse
import csv
import html
import io
import json
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, fields, is_dataclass
from datetime import UTC, datetime, timedelta
from itertools import zip_longest
from pathlib import Path
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, TypeAdapter, ValidationError

from .conditions import All, Always, AnyOf, Condition, Leaf, Not
from .dates import LONDON
from .errors import EvaluationError, PackError, Problem, RmfhcError
from .evaluate import Evaluation, evaluate
from .models import History, read_history
from .pack import (
    Check,
    ClockFrom,
    EscalationStep,
    OnReturn,
    Pack,
    Role,
    Rule,
    available_protocols,
    load_protocol,
    protocol_dirs,
    resolve_protocol,
    validate_pack,
)


class ComparisonError(RmfhcError):
    """A comparison was asked for something impossible: an unreadable revision, no histories, ..."""


class _Result(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


NOT_IN_PROTOCOL = "not in this protocol"
_NONE = "—"


def _plain(text: str) -> str:
    """Pack text on one line, whitespace collapsed; backticks are reserved for marking code in output."""
    return " ".join(text.replace("`", "'").split())


# ---------------------------------------------------------------------------------------------------------
# Describing a rule in plain words (shared by compare and diff).

_CLOCK_WORDS: dict[ClockFrom, str] = {
    ClockFrom.LAST_SEEN: "when last seen",
    ClockFrom.REPORTED: "when reported to police",
    ClockFrom.RISK_GRADED: "when first graded {levels} risk",
    ClockFrom.FOUND: "when found or returned",
    ClockFrom.FOUND_REPORT_RECEIVED: "when the found report reaches children's services",
    ClockFrom.DUTY_DONE: "when `{duty}` is first done",
    ClockFrom.EPISODE_COUNT: "at the start of the episode that makes {count} episodes {window} ({retrigger})",
    ClockFrom.PLACEMENT_STARTED: "when the placement started",
    ClockFrom.BECAME_LOOKED_AFTER: "when the child became looked after",
}
_CLOCK_SHORT: dict[ClockFrom, str] = {
    ClockFrom.LAST_SEEN: "last seen",
    ClockFrom.REPORTED: "report",
    ClockFrom.RISK_GRADED: "risk grading",
    ClockFrom.FOUND: "found",
    ClockFrom.FOUND_REPORT_RECEIVED: "found report",
    ClockFrom.DUTY_DONE: "`{duty}` done",
    ClockFrom.EPISODE_COUNT: "{count} episodes {window}",
    ClockFrom.PLACEMENT_STARTED: "placement start",
    ClockFrom.BECAME_LOOKED_AFTER: "became looked after",
}


def _clock_fields(rule: Rule) -> dict[str, str]:
    clock = rule.clock
    return {"levels": " or ".join(sorted(level.value for level in clock.levels)),
            "duty": clock.duty or "", "count": str(clock.count),
            "window": "in the whole history" if clock.within is None else f"within {clock.within}",
            "retrigger": "each such episode" if clock.retrigger_each_episode else "once per window"}


def describe_clock(rule: Rule) -> str:
    """What starts the rule's clock, with any delay and the still-missing test, in plain words."""
    clock = rule.clock
    text = _CLOCK_WORDS.get(clock.start, str(clock.start)).format(**_clock_fields(rule))
    if clock.after is not None:
        text = f"{clock.after} after {text.removeprefix('when ').removeprefix('at ')}"
    if clock.if_still_missing:
        text += ", if still missing then"
    return text


def _short_clock(rule: Rule) -> str:
    clock = rule.clock
    text = _CLOCK_SHORT.get(clock.start, str(clock.start)).format(**_clock_fields(rule))
    if clock.after is not None:
        text = f"{clock.after} after {text}"
    return text + (", if still missing" if clock.if_still_missing else "")


def describe_conditions(rule: Rule) -> str:
    """Episode kinds (when not just `missing`) and the conditions, as `Condition.describe()` writes them."""
    text = rule.when.describe()
    kinds = sorted(kind.value for kind in rule.episodes)
    if kinds != ["missing"]:
        text = f"episodes: {', '.join(kinds)}; {text}"
    return text


def _describe_repeat(rule: Rule) -> str:
    repeat = rule.repeat
    if repeat is None:
        return "no"
    words = f"repeats every {repeat.every}"
    words += f" for {repeat.until}" if repeat.until is not None else ""
    words += f", at most {repeat.count} times" if repeat.count is not None else ""
    return words + (" while still missing" if repeat.while_missing else "")


def describe_deadline(rule: Rule) -> str:
    """The deadline as written, with stand-down, recurrence and what discharges it where they apply."""
    parts = [rule.deadline.describe()]
    if rule.on_return is OnReturn.STANDS_DOWN:
        parts.append("stands down if found first")
    elif rule.on_return is OnReturn.MISSED:
        parts.append("missed if not done before the child is found")
    if rule.repeat is not None:
        parts.append(_describe_repeat(rule))
    if rule.done_by != frozenset({rule.duty}):
        parts.append("done by " + ", ".join(f"`{name}`" for name in sorted(rule.done_by)))
    if rule.counts_earlier_events:
        parts.append("an event before the clock started also counts")
    return "; ".join(parts)


def describe_roles(roles: Iterable[Role]) -> str:
    """Local titles with their canonical roles: `Team Manager (team_manager)`."""
    return "; ".join(f"{_plain(role.title)} (`{role.role}`)" for role in roles) or _NONE


def _describe_step(rule: Rule, step: EscalationStep) -> str:
    when = "at the deadline" if step.after.amount == 0 else f"{step.after} after the deadline"
    return f"{when}, to {describe_roles(step.to)}: {_plain(step.action)}"


def describe_escalation(rule: Rule) -> str:
    """Each escalation step: when (from the deadline), to whom and what."""
    return " / ".join(_describe_step(rule, step) for step in rule.escalation) or "none"


def describe_clause(rule: Rule) -> str:
    """The section cited and any further sections."""
    also = sorted(dict.fromkeys(c.section for c in rule.also_cites if c.section != rule.source.section))
    return rule.source.section + (f" (also {', '.join(also)})" if also else "")


# ---------------------------------------------------------------------------------------------------------
# compare_packs: the matrix.


class RuleSummary(_Result):
    """One rule in words, as the comparison shows it."""

    id: str
    duty: str
    title: str
    clock: str
    clock_short: str
    conditions: str
    due: str  # the deadline as written
    deadline: str  # with stand-down, recurrence and what discharges it
    roles: str
    escalation: str
    clause: str
    quote: str
    interpretation: str | None
    overrides: tuple[str, ...]

    @classmethod
    def of(cls, rule: Rule) -> RuleSummary:
        """Summarise a compiled rule."""
        return cls(id=rule.id, duty=rule.duty, title=_plain(rule.title), clock=describe_clock(rule),
                   clock_short=_short_clock(rule), conditions=describe_conditions(rule),
                   due=rule.deadline.text, deadline=describe_deadline(rule), roles=describe_roles(rule.roles),
                   escalation=describe_escalation(rule), clause=describe_clause(rule),
                   quote=_plain(rule.source.quote),
                   interpretation=None if rule.interpretation is None else _plain(rule.interpretation),
                   overrides=rule.overrides)


class Area(_Result):
    """A column of the comparison: one pack."""

    id: str
    area: str
    title: str
    version: str
    publisher: str | None
    rules: int


class ComparisonRow(_Result):
    """A canonical duty kind and, per area (in column order), the rules of that kind; empty: none."""

    duty: str
    definition: str
    cells: tuple[tuple[RuleSummary, ...], ...]


class Comparison(_Result):
    """The matrix: one row per canonical duty kind used by any pack, one column per area."""

    areas: tuple[Area, ...]
    rows: tuple[ComparisonRow, ...]
    unused_duties: tuple[str, ...]

    def cell(self, duty: str, area_id: str) -> tuple[RuleSummary, ...]:
        """The rules of one duty kind in one area (empty when the area has none)."""
        column = [a.id for a in self.areas].index(area_id)
        return next(row.cells[column] for row in self.rows if row.duty == duty)


def _vocabulary(packs: Sequence[Pack]) -> dict[str, str]:
    """The duty kinds of every pack's vocabulary, in the first vocabulary's order."""
    merged: dict[str, str] = {}
    for pack in packs:
        for duty, definition in pack.vocabulary.duties.items():
            merged.setdefault(duty, definition)
    return merged


def _rules_of(pack: Pack, duty: str) -> tuple[RuleSummary, ...]:
    return tuple(RuleSummary.of(rule) for rule in pack.rules if rule.duty == duty)


def compare_packs(packs: Sequence[Pack]) -> Comparison:
    """Compare packs side by side: a row per canonical duty kind any pack uses, a column per pack."""
    if not packs:
        raise ComparisonError("give at least one protocol to compare")
    ids = [pack.id for pack in packs]
    if len(set(ids)) != len(ids):
        raise ComparisonError(f"a protocol is given twice: {', '.join(ids)}")
    vocabulary = _vocabulary(packs)
    used = {rule.duty for pack in packs for rule in pack.rules}
    # Kinds outside the vocabulary cannot pass validation, but keep them rather than lose a rule.
    order = [duty for duty in vocabulary if duty in used] + sorted(used - set(vocabulary))
    rows = tuple(
        ComparisonRow(duty=duty, definition=_plain(vocabulary.get(duty, "")),
                      cells=tuple(_rules_of(pack, duty) for pack in packs))
        for duty in order)
    areas = tuple(Area(id=p.id, area=p.meta.area, title=_plain(p.meta.title), version=p.meta.version,
                       publisher=p.meta.publisher, rules=len(p.rules)) for p in packs)
    return Comparison(areas=areas, rows=rows, unused_duties=tuple(d for d in vocabulary if d not in used))


# ---------------------------------------------------------------------------------------------------------
# A small document model, so that the text, Markdown and HTML outputs carry the same content.
# Inline code is marked with backticks in every string.


@dataclass(frozen=True, slots=True)
class _Heading:
    level: int
    text: str
    anchor: str = ""


@dataclass(frozen=True, slots=True)
class _Para:
    text: str


@dataclass(frozen=True, slots=True)
class _Cell:
    lines: tuple[str, ...]
    muted: bool = False
    link: str = ""  # an anchor in the same document (HTML only; Markdown heading anchors vary by renderer)


@dataclass(frozen=True, slots=True)
class _Table:
    headers: tuple[str, ...]
    rows: tuple[tuple[_Cell, ...], ...]
    css: str = ""


_Block = _Heading | _Para | _Table

_ASPECTS: tuple[tuple[str, Callable[[RuleSummary], str]], ...] = (
    ("Rule", lambda s: f"{s.title} (`{s.id}`)" + (f"; replaces {', '.join(f'`{o}`' for o in s.overrides)} "
                                                  "when it applies" if s.overrides else "")),
    ("Clock starts", lambda s: s.clock),
    ("Applies when", lambda s: f"`{s.conditions}`"),
    ("Deadline", lambda s: s.deadline),
    ("Roles", lambda s: s.roles),
    ("Escalation", lambda s: s.escalation),
    ("Clause", lambda s: f"{s.clause}: “{s.quote}”"),
    ("Interpretation", lambda s: s.interpretation or _NONE),
)

REGENERATE = ("`rmfhc compare --format markdown > docs/comparison.md` and "
              "`rmfhc compare --format html > docs/comparison.html`")


def _numbered(values: Sequence[str]) -> tuple[str, ...]:
    if len(values) == 1:
        return (values[0],)
    return tuple(f"{i}. {value}" for i, value in enumerate(values, start=1))


def _aspect_cell(rules: tuple[RuleSummary, ...], aspect: Callable[[RuleSummary], str], first: bool) -> _Cell:
    if not rules:
        return _Cell((NOT_IN_PROTOCOL if first else _NONE,), muted=True)
    return _Cell(_numbered([aspect(rule) for rule in rules]))


def _duty_table(comparison: Comparison, row: ComparisonRow) -> _Table:
    rows = tuple(
        (_Cell((name,)), *(_aspect_cell(cell, aspect, i == 0) for cell in row.cells))
        for i, (name, aspect) in enumerate(_ASPECTS))
    return _Table(("Aspect", *(a.area for a in comparison.areas)), rows, css="duty")


def _overview(comparison: Comparison) -> _Table:
    rows = []
    for row in comparison.rows:
        cells = [_Cell((f"`{row.duty}`",), link=f"duty-{row.duty}")]
        for rules in row.cells:
            lines = [f"{rule.due} · from {rule.clock_short}" for rule in rules]
            cells.append(_Cell(_numbered(lines)) if lines else _Cell((NOT_IN_PROTOCOL,), muted=True))
        rows.append(tuple(cells))
    return _Table(("Duty", *(a.area for a in comparison.areas)), tuple(rows), css="overview")


def comparison_document(comparison: Comparison) -> list[_Block]:
    """The comparison as headings, paragraphs and tables, for the text, Markdown and HTML renderers."""
    names = ", ".join(area.area for area in comparison.areas)
    blocks: list[_Block] = [
        _Heading(1, "Missing children protocols compared"),
        _Para(f"Generated from the protocol packs in protocols/ by {REGENERATE}, run from the repository "
              "root after any change to a pack. Do not edit by hand: tests/test_compare.py fails when this "
              "file differs from a fresh regeneration."),
        _Para(f"Areas compared: {names}. Each canonical duty kind of protocols/vocabulary.yaml that any of "
              "these protocols encodes has a row in the overview and a table below, with a column per "
              "area: what starts the clock, when the rule applies, the deadline, who holds the duty, the "
              "escalation, the clause, and the interpretation chosen where the document is ambiguous. "
              f"“{NOT_IN_PROTOCOL}” means the area's pack has no rule of that kind. Where an area has several "
              "rules of one kind, they are numbered, and the same number marks the same rule in every line "
              "of the table."),
        _Heading(2, "Protocols", "protocols"),
        _Table(("Area", "Pack", "Document", "Version", "Publisher", "Rules"), tuple(
            (_Cell((a.area,)), _Cell((f"`{a.id}`",)), _Cell((a.title,)), _Cell((a.version,)),
             _Cell((a.publisher or _NONE,)), _Cell((str(a.rules),))) for a in comparison.areas), css="areas"),
        _Heading(2, "Overview: deadlines by duty", "overview"),
        _Para("Each rule's deadline and what starts its clock; the duty tables below give the conditions."),
        _overview(comparison),
        _Heading(2, "Duties", "duties"),
    ]
    for row in comparison.rows:
        blocks += [_Heading(3, f"`{row.duty}`", f"duty-{row.duty}"), _Para(row.definition or _NONE),
                   _duty_table(comparison, row)]
    if comparison.unused_duties:
        blocks += [_Heading(2, "Canonical duties no compared protocol encodes", "unused"),
                   _Para(", ".join(f"`{duty}`" for duty in comparison.unused_duties) + ".")]
    return blocks


# --- Markdown

_MD_SPECIAL = re.compile(r"([\\*|<>\[\]])|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")


def _md_inline(text: str) -> str:
    parts = text.split("`")
    out = []
    for i, part in enumerate(parts):
        if i % 2:
            out.append("`" + part.replace("|", "\\|") + "`")
        else:
            out.append(_MD_SPECIAL.sub(lambda m: "\\" + m.group(0), part))
    return "".join(out)


def _md_cell(cell: _Cell) -> str:
    lines = [_md_inline(line) for line in cell.lines]
    if cell.muted:
        lines = [f"*{line}*" for line in lines]
    return "<br>".join(lines)


def render_markdown(blocks: Sequence[_Block]) -> str:
    """GitHub-flavoured Markdown."""
    out: list[str] = []
    for block in blocks:
        if isinstance(block, _Heading):
            out += ["#" * block.level + " " + _md_inline(block.text), ""]
        elif isinstance(block, _Para):
            out += [_md_inline(block.text), ""]
        else:
            out.append("| " + " | ".join(_md_inline(h) for h in block.headers) + " |")
            out.append("|" + "---|" * len(block.headers))
            out += ["| " + " | ".join(_md_cell(cell) for cell in row) + " |" for row in block.rows]
            out.append("")
    return "\n".join(out).rstrip("\n") + "\n"


# --- HTML

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif;
       margin: 0; color: #1b1b1b; background: #fafafa; line-height: 1.45; }
main { max-width: 1500px; margin: 0 auto; padding: 1.5rem 2rem 4rem; }
h1 { font-size: 1.8rem; margin-top: 0.5rem; }
h2 { font-size: 1.35rem; margin-top: 2.5rem; border-bottom: 2px solid #d0d7de; padding-bottom: 0.2rem; }
h3 { font-size: 1.1rem; margin: 2rem 0 0.3rem; }
code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 0.9em;
       background: #eef1f4; padding: 0 0.2em; border-radius: 3px; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-size: 0.88rem; background: #fff; }
th, td { border: 1px solid #d0d7de; padding: 0.35rem 0.5rem; vertical-align: top; text-align: left; }
thead th { background: #e8eef5; position: sticky; top: 0; }
tbody th { background: #f3f5f7; font-weight: 600; }
table.duty, table.overview { min-width: 1100px; table-layout: fixed; }
table.duty tbody th { width: 8.5rem; white-space: nowrap; }
table.overview tbody th { width: 16rem; }
td p { margin: 0 0 0.35rem; }
td p:last-child { margin-bottom: 0; }
.muted { color: #6e7781; font-style: italic; }
a { color: #0b5cad; }
@media print { thead th { position: static; } .scroll { overflow: visible; } }
"""


def _html_inline(text: str) -> str:
    parts = text.split("`")
    return "".join(f"<code>{html.escape(p)}</code>" if i % 2 else html.escape(p) for i, p in enumerate(parts))


def _html_cell(cell: _Cell, tag: str) -> str:
    lines = [_html_inline(line) for line in cell.lines]
    if cell.link:
        lines = [f'<a href="#{html.escape(cell.link)}">{line}</a>' for line in lines]
    body = lines[0] if len(lines) == 1 else "".join(f"<p>{line}</p>" for line in lines)
    css = ' class="muted"' if cell.muted else ""
    return f"<{tag}{css}>{body}</{tag}>"


def _html_table(table: _Table) -> list[str]:
    out = ['<div class="scroll">', f'<table class="{table.css}">', "<thead><tr>"]
    out += [f"<th>{_html_inline(h)}</th>" for h in table.headers]
    out.append("</tr></thead>")
    out.append("<tbody>")
    for row in table.rows:
        cells = [_html_cell(row[0], "th"), *(_html_cell(cell, "td") for cell in row[1:])]
        out.append("<tr>" + "".join(cells) + "</tr>")
    out += ["</tbody>", "</table>", "</div>"]
    return out


def render_html(blocks: Sequence[_Block], title: str = "Missing children protocols compared") -> str:
    """A self-contained HTML page: inline CSS, no scripts, no external assets."""
    out = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           f"<title>{html.escape(title)}</title>", f"<style>{_CSS}</style>", "</head>", "<body>", "<main>"]
    for block in blocks:
        if isinstance(block, _Heading):
            anchor = f' id="{html.escape(block.anchor)}"' if block.anchor else ""
            out.append(f"<h{block.level}{anchor}>{_html_inline(block.text)}</h{block.level}>")
        elif isinstance(block, _Para):
            out.append(f"<p>{_html_inline(block.text)}</p>")
        else:
            out += _html_table(block)
    out += ["</main>", "</body>", "</html>"]
    return "\n".join(out) + "\n"


# --- terminal text


def _text_width() -> int:
    return max(80, shutil.get_terminal_size((160, 40)).columns)


def _wrap(text: str, width: int) -> list[str]:
    return textwrap.wrap(text.replace("`", ""), width) or [""]


def _text_table(table: _Table, width: int) -> list[str]:
    first = min(max(len(line) for row in table.rows for line in row[0].lines) + 1, 30)
    first = max(first, len(table.headers[0]))
    others = len(table.headers) - 1
    column = max(20, (width - first - 3 * others) // max(others, 1))
    widths = [first] + [column] * others
    rule = "-+-".join("-" * w for w in widths)

    def lines(cells: Sequence[_Cell]) -> list[str]:
        wrapped = [[part for line in cell.lines for part in _wrap(line, w)]
                   for cell, w in zip(cells, widths, strict=True)]
        return [" | ".join(part.ljust(w) for part, w in zip(parts, widths, strict=True)).rstrip()
                for parts in zip_longest(*wrapped, fillvalue="")]

    out = [*lines([_Cell((header,)) for header in table.headers]), rule]
    for row in table.rows:
        out += [*lines(row), rule]
    return out


def render_text(blocks: Sequence[_Block], width: int | None = None) -> str:
    """A terminal rendering: headings underlined, paragraphs and table cells wrapped to the width."""
    width = width or _text_width()
    out: list[str] = []
    for block in blocks:
        if isinstance(block, _Heading):
            text = block.text.replace("`", "")
            out += [text, ("=" if block.level == 1 else "-" if block.level == 2 else "~") * len(text), ""]
        elif isinstance(block, _Para):
            out += [*_wrap(block.text, width), ""]
        else:
            out += [*_text_table(block, width), ""]
    return "\n".join(out).rstrip("\n") + "\n"


# --- CSV


def render_csv(comparison: Comparison) -> str:
    """The matrix flat: a row per duty kind and aspect, a column per area."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["duty", "definition", "aspect", *(area.id for area in comparison.areas)])
    for row in comparison.rows:
        for i, (name, aspect) in enumerate(_ASPECTS):
            cells = ["\n".join(_aspect_cell(rules, aspect, i == 0).lines).replace("`", "")
                     for rules in row.cells]
            writer.writerow([row.duty, row.definition, name, *cells])
    return buffer.getvalue()


def render_comparison(comparison: Comparison, fmt: str, width: int | None = None) -> str:
    """The comparison in one of: text, markdown, csv, html."""
    if fmt == "csv":
        return render_csv(comparison)
    blocks = comparison_document(comparison)
    if fmt == "markdown":
        return render_markdown(blocks)
    if fmt == "html":
        return render_html(blocks)
    if fmt == "text":
        return render_text(blocks, width)
    raise ComparisonError(f"unknown format '{fmt}'; use text, markdown, csv or html")


# ---------------------------------------------------------------------------------------------------------
# diff_packs: semantic diff by canonical duty and normalised content.


class FieldChange(_Result):
    """One aspect of a rule (or setting) before and after."""

    field: str
    before: str
    after: str


class FieldValue(_Result):
    field: str
    value: str


class RuleRef(_Result):
    """A rule as named in one pack."""

    id: str
    duty: str
    title: str
    section: str


class RuleEntry(_Result):
    """A rule added or removed, with its content."""

    rule: RuleRef
    fields: tuple[FieldValue, ...]


class RuleChange(_Result):
    """A rule present in both packs with some content changed."""

    before: RuleRef
    after: RuleRef
    changes: tuple[FieldChange, ...]


class Renamed(_Result):
    """A rule or check whose content is identical but whose id differs (not a difference)."""

    before: str
    after: str


class PackDiff(_Result):
    """The semantic difference between two packs. `equivalent` when rules, checks and settings agree."""

    a: str
    b: str
    equivalent: bool
    added: tuple[RuleEntry, ...]
    removed: tuple[RuleEntry, ...]
    changed: tuple[RuleChange, ...]
    checks_added: tuple[RuleEntry, ...]
    checks_removed: tuple[RuleEntry, ...]
    checks_changed: tuple[RuleChange, ...]
    settings: tuple[FieldChange, ...]
    metadata: tuple[FieldChange, ...]  # the document's title, version...: shown, but not a difference
    renamed: tuple[Renamed, ...]


@dataclass(frozen=True, slots=True)
class _Facet:
    """One aspect of a rule: a key to compare (normalised) and the text to show."""

    name: str
    key: object
    text: str


def _flatten(condition: All | AnyOf) -> list[Condition]:
    """The parts of an `all` (or `any`), nested ones of the same kind opened: (a and (b and c)) = (a and b and c)."""
    parts: list[Condition] = []
    for part in condition.parts:
        parts += _flatten(part) if isinstance(part, All | AnyOf) and type(part) is type(condition) else [part]
    return parts


def _canonical(condition: Condition) -> str:
    """A condition in a canonical form: `all`/`any` flattened and sorted, so layout never matters."""
    if isinstance(condition, Always):
        return "always"
    if isinstance(condition, Leaf):
        expected = condition.expected
        if condition.test in ("in", "not_in") and isinstance(expected, list):
            expected = sorted(expected, key=json.dumps)
        return f"{condition.fact} {condition.test} {json.dumps(expected, sort_keys=True)}"
    if isinstance(condition, All | AnyOf):
        parts = sorted({_canonical(part) for part in _flatten(condition)})
        if len(parts) == 1:
            return parts[0]
        return f"{'all' if isinstance(condition, All) else 'any'}({' ; '.join(parts)})"
    if isinstance(condition, Not):
        return f"not({_canonical(condition.part)})"
    return condition.describe()  # a condition type added later: compare as the engine describes it


def _role_key(roles: Iterable[Role]) -> tuple[tuple[str, str], ...]:
    # Role keys are the pack's own names: renaming one is no difference, its title and canonical role are.
    return tuple(sorted({(_plain(role.title), role.role) for role in roles}))


def _normal(value: object) -> object:
    """A compiled value with sets sorted and closures blanked: equal content gives an equal repr."""
    if callable(value) and not isinstance(value, type):
        return "<compiled>"
    if isinstance(value, frozenset | set):
        return tuple(sorted((_normal(v) for v in value), key=repr))
    if isinstance(value, tuple | list):
        return tuple(_normal(v) for v in value)
    if is_dataclass(value) and not isinstance(value, type):
        return (type(value).__name__, *(_normal(getattr(value, f.name)) for f in fields(value)))
    return value


def _other_facets(spec: BaseModel, handled: frozenset[str]) -> list[_Facet]:
    """Facets for keys of the pack format that this module does not describe yet.

    The format grows; a key added to rules or checks still counts as a difference, shown as written. The
    keys are read from the rule as written (its spec), not the compiled rule, whose extra fields are
    derived (closures, cached durations) and would repeat a difference already shown.
    """
    written = spec.model_dump(mode="json", by_alias=True)
    return [_Facet(name.replace("_", " "), json.dumps(value, sort_keys=True), json.dumps(value, ensure_ascii=False))
            for name, value in written.items() if name not in handled]


_RULE_KEYS = frozenset({
    "id", "refs", "duty", "title", "episodes", "when", "clock", "due", "allows", "on_return",
    "counts_earlier_events", "roles", "escalation", "source", "also_cites", "interpretation", "overrides",
    "done_by", "repeat"})
_CHECK_KEYS = frozenset({"id", "refs", "finding", "episodes", "when", "source", "also_cites", "interpretation"})


def _core_facets(rule: Rule, spec: BaseModel) -> list[_Facet]:
    """Each aspect of a rule: a normalised key (ids of roles and layout never matter) and its words."""
    deadline = rule.deadline
    steps = tuple(sorted((s.after.amount, str(s.after.unit), _role_key(s.to), _plain(s.action))
                         for s in rule.escalation))
    return [
        _Facet("duty", rule.duty, rule.duty),
        _Facet("title", _plain(rule.title), _plain(rule.title)),
        _Facet("episodes", tuple(sorted(rule.episodes)), ", ".join(sorted(rule.episodes))),
        _Facet("conditions", _canonical(rule.when), rule.when.describe()),
        _Facet("clock", repr(_normal(rule.clock)), describe_clock(rule)),
        _Facet("deadline", (deadline.kind, deadline.within), deadline.describe()),
        _Facet("on return", rule.on_return.value, rule.on_return.value.replace("_", " ")),
        _Facet("counts earlier events", rule.counts_earlier_events,
               _yes(rule.counts_earlier_events)),
        _Facet("repeat", repr(_normal(rule.repeat)), _describe_repeat(rule)),
        _Facet("done by", tuple(sorted(rule.done_by)), ", ".join(sorted(rule.done_by))),
        _Facet("roles", _role_key(rule.roles), describe_roles(rule.roles)),
        _Facet("escalation", steps, describe_escalation(rule)),
        *_citation_facets(rule.source, rule.also_cites, rule.interpretation, rule.refs),
        *_other_facets(spec, _RULE_KEYS),
    ]


def _yes(value: bool) -> str:
    return "yes" if value else "no"


def _citation_facets(source: Any, also_cites: Iterable[Any], interpretation: str | None,
                     refs: Iterable[str]) -> list[_Facet]:
    """The facets a rule and a check share: clause, quote, further citations, interpretation, refs."""
    note = _plain(interpretation or "")
    return [
        _Facet("section", source.section, source.section),
        _Facet("quote", _plain(source.quote), _plain(source.quote)),
        _cites(also_cites),
        _Facet("interpretation", note, note or _NONE),
        _Facet("refs", tuple(sorted(refs)), ", ".join(sorted(refs)) or _NONE),
    ]


def _cites(cites: Iterable[Any]) -> _Facet:
    pairs = tuple(sorted((c.section, _plain(c.quote)) for c in cites))
    return _Facet("also cites", pairs, "; ".join(f"{s}: {q}" for s, q in pairs) or _NONE)


def _rule_facets(pack: Pack) -> dict[str, list[_Facet]]:
    """Every rule's facets, by id (overrides aside: they name rules by id, see `_overrides_change`)."""
    written = {spec.id: spec for spec in pack.spec.rules}
    return {rule.id: _core_facets(rule, written[rule.id]) for rule in pack.rules}


def _overrides_change(a: Pack, b: Pack, x: str, y: str, same: Mapping[str, str]) -> FieldChange | None:
    """`overrides` compared through the matching: the rules it names in `a` must be those it names in `b`."""
    before, after = a.rule(x).overrides, b.rule(y).overrides
    if sorted(same.get(other, "") for other in before) == sorted(after):
        return None

    def titles(pack: Pack, ids: Iterable[str]) -> str:
        return "; ".join(sorted(f"{_plain(pack.rule(i).title)} ({i})" for i in ids)) or _NONE

    return FieldChange(field="overrides", before=titles(a, before), after=titles(b, after))


def _check_facets(pack: Pack) -> dict[str, list[_Facet]]:
    facets: dict[str, list[_Facet]] = {}
    written = {spec.id: spec for spec in pack.spec.checks}
    for check in pack.checks:
        episodes = tuple(sorted(check.episodes)) if check.episodes is not None else None
        facets[check.id] = [
            _Facet("finding", _plain(check.finding), _plain(check.finding)),
            _Facet("episodes", episodes, ", ".join(episodes) if episodes else "all"),
            _Facet("conditions", _canonical(check.when), check.when.describe()),
            *_citation_facets(check.source, check.also_cites, check.interpretation, check.refs),
            *_other_facets(written[check.id], _CHECK_KEYS),
        ]
    return facets


def _fingerprint(facets: list[_Facet]) -> str:
    return repr(tuple(f.key for f in facets))


# Facets that identify "the same rule" when its content has changed in other ways (with the id).
_IDENTIFYING = ("title", "quote", "finding")


def _similarity(a: list[_Facet], b: list[_Facet], same_id: bool) -> int:
    """How alike two rules of one duty kind are; -1 when nothing identifies them as one rule changed."""
    equal = {x.name for x, y in zip(a, b, strict=True) if x.key == y.key}
    if not same_id and not equal.intersection(_IDENTIFYING):
        return -1
    return len(equal) + (len(a) if same_id else 0)


@dataclass(frozen=True, slots=True)
class _Matching:
    same: list[tuple[str, str]]  # identical content: (id in a, id in b)
    pairs: list[tuple[str, str]]  # changed
    removed: list[str]
    added: list[str]


def _group(facets: dict[str, list[_Facet]]) -> dict[str, list[str]]:
    """Ids by the first facet (duty kind for rules), in pack order."""
    groups: dict[str, list[str]] = {}
    for rule_id, rule_facets in facets.items():
        groups.setdefault(str(rule_facets[0].key), []).append(rule_id)
    return groups


def _match(a: dict[str, list[_Facet]], b: dict[str, list[_Facet]], by_kind: bool) -> _Matching:
    """Match rules of two packs: identical content first (whatever the ids), then the most similar pairs."""
    same: list[tuple[str, str]] = []
    left, right = list(a), list(b)
    by_print: dict[str, list[str]] = {}
    for rule_id in right:
        by_print.setdefault(_fingerprint(b[rule_id]), []).append(rule_id)
    for rule_id in list(left):
        twins = by_print.get(_fingerprint(a[rule_id]), [])
        if twins:
            # Prefer the twin with the same id so that a duplicated rule pairs up sensibly.
            twin = rule_id if rule_id in twins else twins[0]
            twins.remove(twin)
            left.remove(rule_id)
            right.remove(twin)
            same.append((rule_id, twin))
    groups_a = _group({k: a[k] for k in left}) if by_kind else {"": left}
    groups_b = _group({k: b[k] for k in right}) if by_kind else {"": right}
    pairs: list[tuple[str, str]] = []
    for kind, ids_a in groups_a.items():
        candidates = [(_similarity(a[x], b[y], x == y), x, y) for x in ids_a for y in groups_b.get(kind, [])]
        scored = sorted(candidates, key=lambda item: (-item[0], left.index(item[1]), right.index(item[2])))
        used: set[str] = set()
        for score, x, y in scored:
            if score >= 0 and x not in used and y not in used:
                pairs.append((x, y))
                used.update((x, y))
    paired_a = {x for x, _ in pairs}
    paired_b = {y for _, y in pairs}
    return _Matching(same=same, pairs=sorted(pairs, key=lambda p: right.index(p[1])),
                     removed=[x for x in left if x not in paired_a],
                     added=[y for y in right if y not in paired_b])


def _rule_ref(pack: Pack, rule_id: str) -> RuleRef:
    rule = pack.rule(rule_id)
    return RuleRef(id=rule.id, duty=rule.duty, title=_plain(rule.title), section=rule.source.section)


def _check_ref(pack: Pack, check_id: str) -> RuleRef:
    check: Check = next(c for c in pack.checks if c.id == check_id)
    return RuleRef(id=check.id, duty="check", title=_plain(check.finding), section=check.source.section)


def _changes(a: list[_Facet], b: list[_Facet]) -> tuple[FieldChange, ...]:
    return tuple(FieldChange(field=x.name, before=x.text, after=y.text)
                 for x, y in zip(a, b, strict=True) if x.key != y.key)


def _entries(pack: Pack, ids: list[str], facets: dict[str, list[_Facet]],
             ref: Callable[[Pack, str], RuleRef]) -> tuple[RuleEntry, ...]:
    return tuple(RuleEntry(rule=ref(pack, i), fields=tuple(FieldValue(field=f.name, value=f.text)
                                                           for f in facets[i])) for i in ids)


def _settings(a: Pack, b: Pack) -> tuple[FieldChange, ...]:
    """Pack-wide settings that change what rules require (office hours, authorities...), and not_encoded."""
    def office(pack: Pack) -> str:
        hours = pack.spec.office_hours
        return f"{', '.join(hours.days)} {hours.opens}-{hours.closes}"

    def not_encoded(pack: Pack) -> tuple[str, ...]:
        return tuple(sorted(f"{', '.join(sorted(n.refs))} ({n.section}): {_plain(n.reason)}"
                            for n in pack.spec.not_encoded))

    changes = []
    for name, before, after in (
        ("office hours", office(a), office(b)),
        ("authorities", "; ".join(sorted(a.authorities)), "; ".join(sorted(b.authorities))),
        ("localities", json.dumps(a.meta.localities, sort_keys=True),
         json.dumps(b.meta.localities, sort_keys=True)),
    ):
        if before != after:
            changes.append(FieldChange(field=name, before=before, after=after))
    gone = [n for n in not_encoded(a) if n not in not_encoded(b)]
    new = [n for n in not_encoded(b) if n not in not_encoded(a)]
    if gone or new:
        changes.append(FieldChange(field="not encoded", before=" / ".join(gone) or _NONE,
                                   after=" / ".join(new) or _NONE))
    return tuple(changes)


def _metadata(a: Pack, b: Pack) -> tuple[FieldChange, ...]:
    fields = ("id", "area", "title", "publisher", "version", "seed", "review_date")
    before, after = a.meta.model_dump(), b.meta.model_dump()
    return tuple(FieldChange(field=name, before=str(before[name]), after=str(after[name]))
                 for name in fields if before[name] != after[name])


def diff_packs(a: Pack, b: Pack, label_a: str | None = None, label_b: str | None = None) -> PackDiff:
    """The semantic difference from pack `a` to pack `b`: rules and checks added, removed and changed.

    Rules are matched by canonical duty kind and normalised content, not by id: renaming an id, reordering
    rules or reformatting the YAML is no difference. The document's metadata (title, version...) is
    reported but does not make the packs differ.
    """
    facets_a, facets_b = _rule_facets(a), _rule_facets(b)
    rules = _match(facets_a, facets_b, by_kind=True)
    checks_a, checks_b = _check_facets(a), _check_facets(b)
    checks = _match(checks_a, checks_b, by_kind=False)
    changed = _rule_changes(a, b, rules, facets_a, facets_b)
    checks_changed = tuple(RuleChange(before=_check_ref(a, x), after=_check_ref(b, y),
                                      changes=_changes(checks_a[x], checks_b[y])) for x, y in checks.pairs)
    settings = _settings(a, b)
    differs = bool(changed or rules.added or rules.removed or checks_changed or checks.added
                   or checks.removed or settings)
    changed_ids = {(c.before.id, c.after.id) for c in changed}
    renamed = [(x, y) for x, y in rules.same if x != y and (x, y) not in changed_ids]
    renamed += [(x, y) for x, y in checks.same if x != y]
    return PackDiff(
        a=label_a or a.id, b=label_b or b.id, equivalent=not differs,
        added=_entries(b, rules.added, facets_b, _rule_ref),
        removed=_entries(a, rules.removed, facets_a, _rule_ref),
        changed=changed, checks_added=_entries(b, checks.added, checks_b, _check_ref),
        checks_removed=_entries(a, checks.removed, checks_a, _check_ref), checks_changed=checks_changed,
        settings=settings, metadata=_metadata(a, b),
        renamed=tuple(Renamed(before=x, after=y) for x, y in renamed))


def _rule_changes(a: Pack, b: Pack, rules: _Matching, facets_a: dict[str, list[_Facet]],
                  facets_b: dict[str, list[_Facet]]) -> tuple[RuleChange, ...]:
    """Matched rules whose content differs, in `b`'s order; `overrides` is compared through the matching."""
    corresponding = dict(rules.same + rules.pairs)
    order = {rule.id: i for i, rule in enumerate(b.rules)}
    changed = []
    for x, y in sorted(rules.same + rules.pairs, key=lambda pair: order[pair[1]]):
        changes = list(_changes(facets_a[x], facets_b[y]))
        overrides = _overrides_change(a, b, x, y, corresponding)
        if overrides is not None:
            changes.append(overrides)
        if changes:
            changed.append(RuleChange(before=_rule_ref(a, x), after=_rule_ref(b, y), changes=tuple(changes)))
    return tuple(changed)


def _ref_line(ref: RuleRef) -> str:
    return f"{ref.duty}: {ref.id} [{ref.section}] {ref.title}"


def _change_lines(changes: Iterable[FieldChange], indent: str) -> list[str]:
    out = []
    for change in changes:
        out += [f"{indent}{change.field}:", f"{indent}  before: {change.before}",
                f"{indent}  after:  {change.after}"]
    return out


_SHOWN = ("conditions", "clock", "deadline", "roles", "escalation", "quote", "finding")


def _entry_lines(title: str, mark: str, entries: Sequence[RuleEntry], detail: bool) -> list[str]:
    if not entries:
        return []
    out = [f"{title} ({len(entries)}):"]
    for entry in entries:
        out.append(f"  {mark} {_ref_line(entry.rule)}")
        if detail:
            out += [f"      {f.field}: {f.value}" for f in entry.fields if f.field in _SHOWN]
    return out


def _changed_lines(title: str, changes: Sequence[RuleChange]) -> list[str]:
    if not changes:
        return []
    out = [f"{title} ({len(changes)}):"]
    for change in changes:
        before, after = change.before.id, change.after.id
        name = after if before == after else f"{before} -> {after}"
        out.append(f"  ~ {change.after.duty}: {name} [{change.after.section}] {change.after.title}")
        out += _change_lines(change.changes, "      ")
    return out


def render_pack_diff(diff: PackDiff) -> str:
    """The diff for people: "no differences", or rules added, removed and changed, with before and after."""
    out = [f"--- {diff.a}", f"+++ {diff.b}"]
    if diff.equivalent:
        out.append("no differences")
    out += _changed_lines("Changed rules", diff.changed)
    out += _entry_lines("Removed rules", "-", diff.removed, detail=True)
    out += _entry_lines("Added rules", "+", diff.added, detail=True)
    out += _changed_lines("Changed checks", diff.checks_changed)
    out += _entry_lines("Removed checks", "-", diff.checks_removed, detail=True)
    out += _entry_lines("Added checks", "+", diff.checks_added, detail=True)
    if diff.settings:
        out += ["Changed settings:", *_change_lines(diff.settings, "  ")]
    if diff.metadata:
        out += ["Document metadata (not a difference in duties):", *_change_lines(diff.metadata, "  ")]
    if diff.renamed:
        out.append("Renamed ids, same content (not a difference):")
        out += [f"  {r.before} -> {r.after}" for r in diff.renamed]
    if not diff.equivalent:
        out.append(f"{len(diff.changed)} rules changed, {len(diff.added)} added, {len(diff.removed)} "
                   f"removed; {len(diff.checks_changed)} checks changed, {len(diff.checks_added)} added, "
                   f"{len(diff.checks_removed)} removed; {len(diff.settings)} settings changed")
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------------------------------------------------
# diff_behaviour: the same histories through both packs.


class DutyKey(_Result):
    """A required duty as compared between packs: its kind, episode, when required and when due."""

    duty: str
    episode: str
    required_at: datetime
    due: datetime | None
    rules: tuple[str, ...]  # the rules that produced it (not compared: ids differ between packs)


class BehaviourDifference(_Result):
    """A duty one pack requires and the other does not, from the first instant it was seen to differ."""

    at: datetime
    only_in: Literal["a", "b"]
    pack: str
    duty: DutyKey


class HistoryBehaviour(_Result):
    """One history: the instants evaluated and the differences, earliest first."""

    history: str
    instants: int
    differences: tuple[BehaviourDifference, ...]

    @property
    def differs(self) -> bool:
        return bool(self.differences)


class BehaviourDiff(_Result):
    """The behaviour of two packs over the same histories. `affected`: histories with any difference."""

    a: str
    b: str
    as_of: datetime | None
    histories: tuple[HistoryBehaviour, ...]
    affected: int


_MINUTE = timedelta(minutes=1)
DEFAULT_HORIZON = timedelta(days=366)

_Key = tuple[str, str, datetime, datetime | None]


def _utc(moment: datetime) -> datetime:
    # Aware datetimes sharing a ZoneInfo compare by wall clock; UTC keeps the October hour apart.
    return moment.astimezone(UTC)


def _history_times(history: History) -> set[datetime]:
    times: set[datetime] = set()
    for episode in history.episodes:
        times.update(t for t in (episode.last_seen_at, episode.reported_at, episode.found_at,
                                 episode.found_report_received_at) if t is not None)
        times.update(g.graded_at for g in episode.risk)
        times.update(e.at for e in episode.events)
    child = history.child
    if child.placement is not None and child.placement.started_at is not None:
        times.add(child.placement.started_at)
    if child.became_looked_after_at is not None:
        times.add(child.became_looked_after_at)
    return {_utc(t) for t in times}


def _output_times(result: Evaluation) -> set[datetime]:
    times: set[datetime] = set()
    for duty in result.duties:
        times.add(duty.required_at)
        times.update(t for t in (duty.due,) if t is not None)
        times.update(step.at for step in duty.escalation)
    for up in result.upcoming:
        times.add(up.at)
        times.update(t for t in (up.due,) if t is not None)
    return {_utc(t) for t in times}


def _keys(result: Evaluation) -> dict[_Key, list[str]]:
    keys: dict[_Key, list[str]] = {}
    for duty in result.duties:
        key = (duty.duty, duty.episode, _utc(duty.required_at), None if duty.due is None else _utc(duty.due))
        keys.setdefault(key, []).append(duty.rule)
    return keys


def _around(times: Iterable[datetime], start: datetime, end: datetime) -> set[datetime]:
    """Each time and a minute either side, inside [start, end]."""
    return {t + d for t in times for d in (-_MINUTE, timedelta(0), _MINUTE) if start <= t + d <= end}


class _Runner:
    """Evaluates one history under both packs, once per instant."""

    def __init__(self, a: Pack, b: Pack, history: History, label: str) -> None:
        self.packs = (a, b)
        self.history = history
        self.label = label
        self.results: dict[datetime, tuple[Evaluation, Evaluation]] = {}

    def at(self, instant: datetime) -> tuple[Evaluation, Evaluation]:
        if instant not in self.results:
            try:
                pair = tuple(evaluate(pack, self.history, instant) for pack in self.packs)
            except EvaluationError as error:
                raise ComparisonError(f"{self.label}: at {instant.isoformat()}: {error}") from None
            self.results[instant] = (pair[0], pair[1])
        return self.results[instant]

    def instants(self, horizon: timedelta) -> list[datetime]:
        """Where either pack's output could change: history times, then every time either output names."""
        history_times = _history_times(self.history)
        start = _utc(self.history.ordered_episodes()[0].last_seen_at)
        end = max(history_times) + horizon
        first = _around(history_times, start, end) | {end}
        named: set[datetime] = set()
        for instant in sorted(first):
            for result in self.at(instant):
                named |= _output_times(result)
        return sorted(first | _around(named, start, end))


def _differences(runner: _Runner, instants: Sequence[datetime],
                 labels: tuple[str, str]) -> list[BehaviourDifference]:
    seen: set[tuple[str, _Key]] = set()
    found: list[BehaviourDifference] = []
    for instant in instants:
        result_a, result_b = runner.at(instant)
        keys_a, keys_b = _keys(result_a), _keys(result_b)
        for side, mine, theirs in (("a", keys_a, keys_b), ("b", keys_b, keys_a)):
            for key in sorted(set(mine) - set(theirs), key=_sort_key):
                if (side, key) in seen:
                    continue
                seen.add((side, key))
                duty = DutyKey(duty=key[0], episode=key[1], required_at=key[2].astimezone(LONDON),
                               due=None if key[3] is None else key[3].astimezone(LONDON),
                               rules=tuple(mine[key]))
                found.append(BehaviourDifference(at=instant.astimezone(LONDON), only_in="a" if side == "a" else "b",
                                                 pack=labels[0 if side == "a" else 1], duty=duty))
    return found


def _sort_key(key: _Key) -> tuple[datetime, str, str, datetime]:
    return (key[2], key[1], key[0], key[3] or datetime.max.replace(tzinfo=UTC))


def _labelled(histories: Mapping[str, History] | Sequence[History]) -> list[tuple[str, History]]:
    if isinstance(histories, Mapping):
        return list(histories.items())
    return [(h.child.id or f"history {i}", h) for i, h in enumerate(histories, start=1)]


def diff_behaviour(a: Pack, b: Pack, histories: Mapping[str, History] | Sequence[History],
                   as_of: datetime | None = None, *, horizon: timedelta = DEFAULT_HORIZON,
                   label_a: str | None = None, label_b: str | None = None) -> BehaviourDiff:
    """Run the same histories through both packs and report, per history, where the required duties differ.

    Compared: the set of (duty kind, episode, required_at, due) of each pack's duties. With `as_of`, at that
    instant only; without, at every instant where either output could change (each history time and each
    time either pack's duties, escalations or upcoming triggers name, and a minute either side, up to
    `horizon` after the history's last time). Each difference is reported once, at the first instant it is
    seen; earliest first.
    """
    labels = (label_a or a.id, label_b or b.id)
    if labels[0] == labels[1]:
        labels = (f"{labels[0]} (a)", f"{labels[1]} (b)")
    if as_of is not None and as_of.tzinfo is None:
        raise ComparisonError("as_of must be a timestamp with a UTC offset, such as 2026-11-07T10:00:00Z")
    reports = []
    for label, history in _labelled(histories):
        runner = _Runner(a, b, history, label)
        if as_of is None:
            instants = runner.instants(horizon)
        else:
            # Before the history starts neither pack can require anything: nothing to compare.
            started = as_of >= history.ordered_episodes()[0].last_seen_at
            instants = [_utc(as_of)] if started else []
        found = _differences(runner, instants, labels)
        found.sort(key=lambda d: (_utc(d.at), _utc(d.duty.required_at), d.duty.episode, d.duty.duty,
                                  d.only_in))
        reports.append(HistoryBehaviour(history=label, instants=len(instants), differences=tuple(found)))
    return BehaviourDiff(a=labels[0], b=labels[1], as_of=as_of, histories=tuple(reports),
                         affected=sum(r.differs for r in reports))


def _when(moment: datetime | None) -> str:
    if moment is None:
        return "no fixed deadline"
    return moment.astimezone(LONDON).strftime("%a %d %b %Y %H:%M %Z")


def render_behaviour(diff: BehaviourDiff) -> str:
    """Per history, the duties only one pack requires, grouped by the instant they first differ."""
    when = f"as of {_when(diff.as_of)}" if diff.as_of else "at every instant where either output changes"
    out = [f"Behaviour of a: {diff.a} and b: {diff.b}, {when}"]
    for report in diff.histories:
        checked = (f"{report.instants} instant{'s' if report.instants != 1 else ''} checked" if report.instants
                   else "the history had not started")
        if not report.differs:
            out.append(f"{report.history}: no differences ({checked})")
            continue
        out.append(f"{report.history}: {len(report.differences)} differences ({checked})")
        current = None
        for item in report.differences:
            if item.at != current:
                current = item.at
                out.append(f"  as of {_when(item.at)}:")
            duty = item.duty
            out.append(f"    only {item.only_in} ({item.pack}): {duty.duty} for {duty.episode}, required "
                       f"{_when(duty.required_at)}, due {_when(duty.due)} [{', '.join(duty.rules)}]")
    total = len(diff.histories)
    out.append(f"{diff.affected} of {total} histories affected" if diff.affected else
               f"no differences in {total} histories")
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------------------------------------------------
# Naming packs on the command line: a name, a path, or PATH@REV (a git revision).


def _git_show(folder: Path, rev: str, name: str) -> bytes | None:
    """The file `name` in `folder` at revision `rev`, or None when it is not there at that revision."""
    try:
        done = subprocess.run(["git", "-C", str(folder), "show", f"{rev}:./{name}"],
                              capture_output=True, check=False, timeout=60)
    except FileNotFoundError:
        raise ComparisonError("git is not installed; PATH@REV needs git") from None
    except subprocess.TimeoutExpired:
        raise ComparisonError(f"git show {rev}:{name} took too long") from None
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()
        if message and ("does not exist" in message[0] or "exists on disk, but not in" in message[0]):
            return None
        reason = message[0] if message else "git failed"
        raise ComparisonError(f"cannot read {folder / name} at {rev}: {reason}")
    return done.stdout


def _current_vocabulary(folder: Path) -> Path:
    for candidate in [folder, *protocol_dirs()]:
        if (candidate / "vocabulary.yaml").is_file():
            return candidate / "vocabulary.yaml"
    raise ComparisonError("cannot find protocols/vocabulary.yaml")


def _relabel(error: PackError, temporary: str, label: str) -> PackError:
    return PackError([Problem(label if p.file == temporary else p.file, p.line, p.column, p.message)
                      for p in error.problems])


def load_at_revision(path: Path, rev: str, label: str | None = None) -> Pack:
    """Load and validate a pack as it was at a git revision (with the vocabulary of that revision if any)."""
    label = label or f"{path}@{rev}"
    if not rev or rev.startswith("-"):
        raise ComparisonError(f"'{rev}' is not a git revision")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise ComparisonError(f"{label}: the folder {folder} does not exist")
    text = _git_show(folder, rev, path.name)
    if text is None:
        raise ComparisonError(f"{label}: {path} is not in revision {rev}")
    vocabulary = _git_show(folder, rev, "vocabulary.yaml")
    with tempfile.TemporaryDirectory(prefix="rmfhc-diff-") as tmp:
        target = Path(tmp) / path.name
        target.write_bytes(text)
        if vocabulary is not None:
            (Path(tmp) / "vocabulary.yaml").write_bytes(vocabulary)
        else:
            shutil.copyfile(_current_vocabulary(folder), Path(tmp) / "vocabulary.yaml")
        try:
            return validate_pack(target)
        except PackError as error:
            raise _relabel(error, str(target), label) from None


def load_pack_ref(ref: str) -> Pack:
    """A pack from a name, a path, or `PATH@REV` / `NAME@REV` for a git revision (git show REV:PATH)."""
    if Path(ref).is_file() or "@" not in ref:
        return load_protocol(ref)
    where, rev = ref.rsplit("@", 1)
    return load_at_revision(resolve_protocol(where), rev, ref)


# ---------------------------------------------------------------------------------------------------------
# The command line.


def _as_of(text: str) -> datetime:
    try:
        moment: datetime = TypeAdapter(AwareDatetime).validate_python(text)
    except ValidationError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a timestamp with a UTC offset, such as "
                                         "2026-11-07T10:00Z") from None
    return moment


def _history_files(names: Sequence[str]) -> list[Path]:
    files: list[Path] = []
    for name in names:
        path = Path(name)
        if path.is_dir():
            files += sorted(path.glob("*.json"))
        elif path.is_file():
            files.append(path)
        else:
            raise ComparisonError(f"{name}: no such history file or folder")
    if not files:
        raise ComparisonError("no history files given (JSON files or folders of them)")
    return files


def _write(text: str) -> None:
    # Written as is: the Markdown and HTML pages must equal the committed files byte for byte.
    sys.stdout.write(text)


def _cmd_compare(args: argparse.Namespace) -> int:
    names = args.packs or available_protocols()
    if not names:
        raise ComparisonError("no protocols found; give pack names or paths")
    packs = [load_pack_ref(name) for name in names]
    _write(render_comparison(compare_packs(packs), args.format))
    return 0


def _cmd_diff(args: argparse.Namespace) -> int:
    a, b = load_pack_ref(args.a), load_pack_ref(args.b)
    if args.behaviour:
        files = _history_files(args.histories)
        histories = {str(path): read_history(path) for path in files}
        behaviour = diff_behaviour(a, b, histories, args.as_of, label_a=args.a, label_b=args.b)
        as_json = args.format == "json"
        _write(behaviour.model_dump_json(indent=2) + "\n" if as_json else render_behaviour(behaviour))
        return 1 if behaviour.affected else 0
    if args.histories:
        raise ComparisonError("histories are only read with --behaviour")
    if args.as_of is not None:
        raise ComparisonError("--as-of goes with --behaviour")
    result = diff_packs(a, b, args.a, args.b)
    _write(result.model_dump_json(indent=2) + "\n" if args.format == "json" else render_pack_diff(result))
    return 0 if result.equivalent else 1


def add_commands(sub: Any) -> None:
    """Register the auditors' subcommands `compare` and `diff` on the CLI's subparsers."""
    co = sub.add_parser("compare", help="compare protocols side by side, by canonical duty")
    co.add_argument("packs", nargs="*", metavar="PACK",
                    help="pack names, paths or PATH@REV (default: every protocol found)")
    co.add_argument("--format", choices=("text", "markdown", "csv", "html"), default="text")
    co.set_defaults(run=_cmd_compare)

    di = sub.add_parser("diff", help="semantic diff of two packs (exit 0 equivalent, 1 different, 2 error)",
                        description="Compare two packs, or two versions of one (PATH@REV), by canonical "
                                    "duty. With --behaviour, run histories through both and compare the "
                                    "duties.")
    di.add_argument("a", metavar="A", help="a pack name, path, or PATH@REV")
    di.add_argument("b", metavar="B", help="a pack name, path, or PATH@REV")
    di.add_argument("histories", nargs="*", metavar="HISTORY",
                    help="with --behaviour: history JSON files or folders")
    di.add_argument("--behaviour", "--behavior", action="store_true",
                    help="compare what the packs require for the histories, not their rules")
    di.add_argument("--as-of", type=_as_of, default=None,
                    help="with --behaviour: one instant (default: every instant where an output changes)")
    di.add_argument("--format", choices=("text", "json"), default="text")
    di.set_defaults(run=_cmd_diff)


__all__ = [
    "BehaviourDiff", "BehaviourDifference", "Comparison", "ComparisonError", "ComparisonRow", "DutyKey",
    "FieldChange", "HistoryBehaviour", "PackDiff", "RuleChange", "RuleEntry", "RuleSummary", "add_commands",
    "compare_packs", "diff_behaviour", "diff_packs", "load_at_revision", "load_pack_ref",
]
