"""The comparison for people: terminal text, Markdown, CSV and a self-contained HTML page.

Text, Markdown and HTML are written from one small document model (headings, paragraphs, the matrix, folds of
rules), so they carry the same words. The matrix comes first: a row per duty kind, a column per area, each
rule in a few words. The detail (every rule in full, per duty kind and area) follows with `detail=True`; the
HTML page always carries it, folded under <details>, so the page opens on the matrix.
"""

from __future__ import annotations

import csv
import html
import io
import re
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import zip_longest

from ..words import capital, duty_words
from .base import ComparisonError
from .matrix import Area, Comparison, ComparisonRow, RuleSummary
from .words import NONE

TITLE = "Missing children protocols compared"
ABSENT = "—"
FORMATS = ("text", "markdown", "csv", "html")


# ---------------------------------------------------------------------------------------------------------
# The document model.


@dataclass(frozen=True, slots=True)
class Heading:
    level: int
    text: str
    anchor: str = ""


@dataclass(frozen=True, slots=True)
class Para:
    text: str
    small: bool = False
    formats: tuple[str, ...] = ()  # only in these formats (text, markdown, html); empty: all


@dataclass(frozen=True, slots=True)
class MatrixRow:
    name: str
    anchor: str
    cells: tuple[tuple[RuleSummary, ...], ...]


@dataclass(frozen=True, slots=True)
class Matrix:
    """A row per duty kind, a column per area. `compact`: a cell shows its first rule and how many more there
    are ("+2"), so that a row is one line; otherwise every rule of the cell is shown, numbered."""

    headers: tuple[str, ...]
    rows: tuple[MatrixRow, ...]
    compact: bool = False


@dataclass(frozen=True, slots=True)
class RuleItem:
    heading: str
    fields: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class AreaRules:
    area: str
    items: tuple[RuleItem, ...]


@dataclass(frozen=True, slots=True)
class Fold:
    """A duty kind's detail: folded in HTML, a section elsewhere."""

    title: str
    summary: str
    anchor: str
    definition: str
    areas: tuple[AreaRules, ...] = field(default=())


Block = Heading | Para | Matrix | Fold


def area_name(area: str) -> str:
    """An area's name for a column header: "Northshire (Town, County)" -> "Northshire"."""
    return re.sub(r"\s*\(.*\)\s*$", "", area).strip() or area


def _rule_item(rule: RuleSummary) -> RuleItem:
    fields = [("Applies to", capital(rule.applies)), ("Required from", rule.clock), ("Deadline", rule.deadline),
              ("Held by", rule.holders)]
    if rule.recipients != NONE:
        fields.append(("Told", rule.recipients))
    if rule.escalation != "none":
        fields.append(("Escalation", rule.escalation))
    if rule.overrides:
        fields.append(("Replaces", "; ".join(rule.overrides) + " (when this rule applies)"))
    fields.append((f"Clause {rule.clause}", f"“{rule.quote}”"))
    if rule.interpretation:
        fields.append(("Interpretation", rule.interpretation))
    fields.append(("Rule id", rule.id))
    return RuleItem(rule.title, tuple(fields))


def _counts(comparison: Comparison, row: ComparisonRow) -> str:
    parts = [f"{area_name(area.area)} {len(cell)}" for area, cell in zip(comparison.areas, row.cells, strict=True)
             if cell]
    return "rules: " + ", ".join(parts)


def _fold(comparison: Comparison, row: ComparisonRow) -> Fold:
    areas = tuple(AreaRules(area_name(area.area), tuple(_rule_item(rule) for rule in cell))
                  for area, cell in zip(comparison.areas, row.cells, strict=True))
    return Fold(capital(row.name), _counts(comparison, row), f"duty-{row.duty}", row.definition, areas)


def _legend(comparison: Comparison, compact: bool) -> str:
    shared = {reading.phrase: reading.allows for reading in comparison.readings}
    said = []
    for short, phrases in (("ASAP", ("as soon as possible", "as soon as practicable")),
                           ("at once", ("immediately", "without delay"))):
        readings = {shared.get(phrase) for phrase in phrases if phrase in shared}
        if len(readings) == 1 and None not in readings:
            said.append(f"“{short}”: {' or '.join(f'“{p}”' for p in phrases)}, read as within {readings.pop()} "
                        "in every protocol here")
    several = ("“+2”: two more rules of this kind, in the detail" if compact
               else "several rules of one kind are numbered")
    text = ("Each cell: who holds the duty, by common role · its deadline, from what starts it (clause); "
            f"{several}; “—”: none; “…”: shortened (whole in the detail). “at 48 h missing”: "
            "if still missing 48 hours after the report; “if missing”: if still missing then. ")
    return text + ("; ".join(said) + "." if said else "")


def _version(area: Area) -> str:
    return re.sub(r"\s*\(.*\)\s*$", "", area.version).strip() or area.version


def comparison_document(comparison: Comparison, detail: bool = True) -> list[Block]:
    """The comparison as blocks: a short introduction, the matrix, and (with `detail`) every rule in full."""
    areas = "; ".join(f"{area_name(a.area)}, {_version(a)}" for a in comparison.areas)
    blocks: list[Block] = [
        Heading(1, TITLE),
        Para(f"Protocols: {areas}."),
        Para(_legend(comparison, compact=not detail), small=True),
        Matrix(("Duty", *(area_name(a.area) for a in comparison.areas)),
               tuple(MatrixRow(capital(row.name), f"duty-{row.duty}", row.cells) for row in comparison.rows),
               compact=not detail),
    ]
    if not detail:
        blocks.append(Para("Every rule in full: --detail; some duties or areas: --duty KIND,KIND or --area ID,ID.",
                           small=True, formats=("text",)))
        return blocks
    blocks.append(Heading(2, "Every rule in full", "detail"))
    blocks += [_fold(comparison, row) for row in comparison.rows]
    if comparison.unused_duties:
        blocks += [Heading(2, "Duty kinds no compared protocol has", "unused"),
                   Para(capital(", ".join(duty_words(duty) for duty in comparison.unused_duties)) + ".")]
    blocks += [Heading(2, "The protocols", "protocols"),
               *(Para(f"{a.area}: {a.title}, {a.version}" + (f", {a.publisher}" if a.publisher else "")
                      + f". {a.rules} rules.") for a in comparison.areas)]
    return blocks


def _more(cell: Sequence[RuleSummary]) -> str:
    """What a compact cell adds after its first rule: " +2" for two more rules of the kind."""
    return f" +{len(cell) - 1}" if len(cell) > 1 else ""


def _cell_lines(cell: Sequence[RuleSummary], compact: bool = False) -> list[str]:
    if not cell:
        return [ABSENT]
    if len(cell) == 1 or compact:
        return [cell[0].cell + _more(cell)]
    return [f"{i}. {rule.cell}" for i, rule in enumerate(cell, start=1)]


# ---------------------------------------------------------------------------------------------------------
# Terminal text.

DUTY_COLUMN = 36
CELL_CAP = 44
CELL_MIN = 18
ONE_LINE_CELL = 40  # a compact cell narrower than this wraps onto a second line rather than lose its meaning


def _wrap(text: str, width: int, hang: int = 0) -> list[str]:
    return textwrap.wrap(text, width, subsequent_indent=" " * hang, break_on_hyphens=False) or [""]


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(width - 1, 1)].rstrip() + "…"


def _one_line(rule: RuleSummary, prefix: str, width: int) -> str:
    """A rule on one line of `width`: the holder is shortened first ("Team manager +1", then cut to no fewer
    than 8 characters), so that the deadline, what starts it and the clause stay whole where they can; only
    then is the line cut."""
    line = f"{prefix}{rule.cell}"
    if len(line) <= width:
        return line
    tail = f" · {rule.cell_timing} ({rule.cell_clause})"
    room = width - len(prefix) - len(tail)
    if len(rule.cell_holder_first) <= room:
        return f"{prefix}{rule.cell_holder_first}{tail}"
    if room >= 8:
        return f"{prefix}{_cut(rule.cell_holder, room)}{tail}"
    return _cut(f"{prefix}{_cut(rule.cell_holder, 8)}{tail}", width)


def _compact_cell(cell: Sequence[RuleSummary], width: int, fits: bool) -> list[str]:
    """A compact cell: its first rule and how many more, on one line (shortened) when the matrix has its room or
    the column is still wide enough for a shortened rule to read; in narrower columns, wrapped onto at most two
    lines, the holder shortened first and then the end cut."""
    if not cell:
        return [ABSENT]
    more = _more(cell)
    if fits or width >= ONE_LINE_CELL:
        return [_one_line(cell[0], "", width - len(more)) + more]
    rule = cell[0]
    for text in (rule.cell, f"{rule.cell_holder_first} · {rule.cell_timing} ({rule.cell_clause})"):
        lines = _wrap(text + more, width, 2)
        if len(lines) <= 2:
            return lines
    rest = " ".join(line.strip() for line in lines[1:])
    return [lines[0], "  " + _cut(rest[: len(rest) - len(more)], width - 2 - len(more)) + more]


def _text_cell(cell: Sequence[RuleSummary], width: int, height: int | None) -> list[str]:
    """A cell in `height` lines, the number of rules in its row's tallest cell, so that the matrix has one line
    per rule: a long rule wraps onto lines the row has spare, and is shortened to one line when there are none.
    Without a height, every rule wraps whole (the row grows)."""
    if not cell:
        return [ABSENT]
    prefixes = [""] if len(cell) == 1 else [f"{i}. " for i in range(1, len(cell) + 1)]
    spare = len(cell) if height is None else height - len(cell)
    out: list[str] = []
    for prefix, rule in zip(prefixes, cell, strict=True):
        wrapped = _wrap(f"{prefix}{rule.cell}", width, len(prefix) or 2)
        if height is None or len(wrapped) - 1 <= spare:
            spare -= len(wrapped) - 1
            out += wrapped
        else:
            out.append(_one_line(rule, prefix, width))
    return out


def _natural_widths(matrix: Matrix) -> list[int]:
    first = max(len(matrix.headers[0]), min(DUTY_COLUMN, max((len(r.name) for r in matrix.rows), default=0)))
    return [first, *(max(len(matrix.headers[i + 1]),
                         min(CELL_CAP, max((len(line) for r in matrix.rows
                                            for line in _cell_lines(r.cells[i], matrix.compact)), default=0)))
                     for i in range(len(matrix.headers) - 1))]


def _fitted_widths(matrix: Matrix, width: int) -> list[int]:
    """Columns sharing `width`: the duty column narrower, the widest area columns given up first."""
    columns = len(matrix.headers) - 1
    natural = _natural_widths(matrix)
    first = max(len(matrix.headers[0]), min(natural[0], max(14, width // 8)))
    cells = natural[1:]
    room = width - first - 3 * columns
    while sum(cells) > room and max(cells) > CELL_MIN:
        cells[cells.index(max(cells))] -= 1
    return [first, *cells]


def _matrix_text(matrix: Matrix, width: int | None) -> list[str]:
    """The matrix in one line per rule (compact: per duty kind) when it has the room it needs (no `width`, or a
    wide enough one); in `width`, with every rule shown wrapped whole, when it has not."""
    widths = _natural_widths(matrix)
    fits = width is None or sum(widths) + 3 * (len(widths) - 1) <= width
    if not fits and width is not None:
        widths = _fitted_widths(matrix, width)

    def row(columns: Sequence[list[str]]) -> list[str]:
        return [" | ".join(part.ljust(w) for part, w in zip(parts, widths, strict=True)).rstrip()
                for parts in zip_longest(*columns, fillvalue="")]

    rule = "-+-".join("-" * w for w in widths)
    out = [*row([_wrap(h, w) for h, w in zip(matrix.headers, widths, strict=True)]), rule]
    for item in matrix.rows:
        name = _wrap(item.name, widths[0], 2)
        if matrix.compact:
            cells = [_compact_cell(c, w, fits) for c, w in zip(item.cells, widths[1:], strict=True)]
        else:
            height = max(len(name), *(len(cell) for cell in item.cells)) if fits else None
            cells = [_text_cell(c, w, height) for c, w in zip(item.cells, widths[1:], strict=True)]
        out += row([name, *cells])
        if not fits and not matrix.compact:  # rows of several lines each: a rule between them
            out.append(rule)
    return out


def render_text(blocks: Sequence[Block], width: int | None = None) -> str:
    """Terminal text: the matrix in one line per rule, its columns taking what they need up to 44 characters
    each (a long rule shortened), or, in a narrower `width`, every rule whole; the introduction wraps at the
    matrix's width, the detail at 100 characters."""
    matrices = [_matrix_text(block, width) for block in blocks if isinstance(block, Matrix)]
    table = max((len(line) for lines in matrices for line in lines), default=100)
    prose = min(width or 100, 100)
    out: list[str] = []
    detail = False
    for block in blocks:
        if isinstance(block, Heading):
            out += [block.text, ("=" if block.level == 1 else "-") * len(block.text), ""]
            detail = detail or block.level > 1  # the detail's prose reads better at 100 characters
        elif isinstance(block, Para):
            if not block.formats or "text" in block.formats:
                out += [*_wrap(block.text, max(prose, min(table, 200)) if not detail else prose), ""]
        elif isinstance(block, Matrix):
            out += [*matrices.pop(0), ""]
        else:
            out += [block.title, "~" * len(block.title), block.summary, *_wrap(block.definition, prose), ""]
            for area in block.areas:
                if not area.items:
                    out.append(f"{area.area}: {ABSENT}")
                    continue
                out.append(f"{area.area}:")
                for i, item in enumerate(area.items, start=1):
                    out += _wrap(f"{i}. {item.heading}", prose, 5)
                    for label, value in item.fields:
                        out += ["     " + line for line in _wrap(f"{label}: {value}", prose - 5, 2)]
            out.append("")
    return "\n".join(out).rstrip("\n") + "\n"


# ---------------------------------------------------------------------------------------------------------
# Markdown.

_MD_SPECIAL = re.compile(r"([\\`*|<>\[\]])|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")


def _md(text: str) -> str:
    return _MD_SPECIAL.sub(lambda m: "\\" + m.group(0), text)


def render_markdown(blocks: Sequence[Block]) -> str:
    """GitHub-flavoured Markdown: the matrix as a table, the detail as sections with lists."""
    out: list[str] = []
    for block in blocks:
        if isinstance(block, Heading):
            out += ["#" * block.level + " " + _md(block.text), ""]
        elif isinstance(block, Para):
            if not block.formats or "markdown" in block.formats:
                out += [_md(block.text), ""]
        elif isinstance(block, Matrix):
            out.append("| " + " | ".join(_md(h) for h in block.headers) + " |")
            out.append("|" + "---|" * len(block.headers))
            for row in block.rows:
                cells = ["<br>".join(_md(line) for line in _cell_lines(cell, block.compact)) for cell in row.cells]
                out.append(f"| {_md(row.name)} | " + " | ".join(cells) + " |")
            out.append("")
        else:
            out += [f"### {_md(block.title)}", "", _md(block.summary), "", _md(block.definition), ""]
            for area in block.areas:
                if not area.items:
                    out += [f"**{_md(area.area)}**: {ABSENT}", ""]
                    continue
                out += [f"**{_md(area.area)}**", ""]
                for i, item in enumerate(area.items, start=1):
                    out.append(f"{i}. {_md(item.heading)}")
                    out += [f"   - {_md(label)}: {_md(value)}" for label, value in item.fields]
                out.append("")
    return "\n".join(out).rstrip("\n") + "\n"


# ---------------------------------------------------------------------------------------------------------
# HTML.

_CSS = """
:root { color-scheme: light; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; margin: 0;
       color: #1b1b1b; background: #fff; line-height: 1.4; }
main { max-width: 1400px; margin: 0 auto; padding: 1rem 1rem 3rem; }
h1 { font-size: 1.5rem; margin: 0.5rem 0; }
h2 { font-size: 1.2rem; margin: 1.8rem 0 0.6rem; border-bottom: 2px solid #d0d7de; padding-bottom: 0.2rem; }
p { margin: 0.4rem 0; max-width: 60rem; }
p.small { font-size: 0.85rem; color: #444; }
table.matrix { border-collapse: collapse; width: 100%; table-layout: fixed; font-size: 0.78rem; }
table.matrix th, table.matrix td { border: 1px solid #d0d7de; padding: 0.3rem 0.35rem; vertical-align: top;
       text-align: left; overflow-wrap: anywhere; hyphens: auto; }
table.matrix thead th { background: #e8eef5; position: sticky; top: 0; font-size: 0.82rem; }
table.matrix col.duty { width: 8.5rem; }
table.matrix tbody th { background: #f6f8fa; font-weight: 600; }
table.matrix tbody tr:nth-child(even) td { background: #fbfcfd; }
table.matrix td.none { color: #8c959f; text-align: center; vertical-align: middle; }
ol { list-style: none; }
.n { color: #57606a; font-weight: 400; margin-left: -1.1rem; display: inline-block; width: 1.1rem; }
table.matrix ol { margin: 0; padding-left: 1.1rem; }
table.matrix li + li { margin-top: 0.35rem; border-top: 1px dotted #d0d7de; padding-top: 0.2rem; }
.holder { font-weight: 600; }
.clause { color: #57606a; white-space: nowrap; }
a { color: #0b5cad; text-decoration: none; }
a:hover { text-decoration: underline; }
details { border: 1px solid #d0d7de; border-radius: 6px; margin: 0.4rem 0; background: #fff; }
details > summary { cursor: pointer; padding: 0.45rem 0.7rem; font-weight: 600; background: #f6f8fa;
       border-radius: 6px; }
details[open] > summary { border-bottom: 1px solid #d0d7de; border-radius: 6px 6px 0 0; }
summary .count { font-weight: 400; color: #57606a; font-size: 0.85rem; margin-left: 0.5rem; }
.fold { padding: 0.3rem 0.9rem 0.8rem; }
.fold h4 { margin: 0.9rem 0 0.3rem; font-size: 0.95rem; }
.fold .definition { color: #444; font-style: italic; }
.fold ol { padding-left: 1.3rem; margin: 0.2rem 0; }
.fold .n { margin-left: -1.3rem; width: 1.3rem; }
.fold li { margin-bottom: 0.7rem; }
.fold .rule-title { font-weight: 600; }
dl { display: grid; grid-template-columns: 8.5rem 1fr; gap: 0.15rem 0.6rem; margin: 0.3rem 0 0;
     font-size: 0.88rem; }
dt { color: #57606a; }
dd { margin: 0; overflow-wrap: anywhere; }
.absent { color: #8c959f; }
@media (max-width: 600px) { dl { grid-template-columns: 1fr; } dd { margin-bottom: 0.3rem; } }
@media print { details { border: 0; } table.matrix thead th { position: static; } }
"""


def _h(text: str) -> str:
    return html.escape(text, quote=True)


def _html_cell(cell: Sequence[RuleSummary]) -> str:
    if not cell:
        return f'<td class="none" title="no rule of this kind">{ABSENT}</td>'

    def one(rule: RuleSummary) -> str:
        return (f'<span class="holder">{_h(rule.cell_holder)}</span><br>{_h(rule.cell_timing)} '
                f'<span class="clause" title="{_h(rule.clause)}: {_h(rule.title)}">({_h(rule.cell_clause)})</span>')

    if len(cell) == 1:
        return f"<td>{one(cell[0])}</td>"
    return ("<td><ol>" + "".join(f'<li><span class="n">{i}.</span> {one(rule)}</li>'
                                 for i, rule in enumerate(cell, start=1)) + "</ol></td>")


def _html_matrix(matrix: Matrix) -> list[str]:
    out = ['<table class="matrix">', '<colgroup><col class="duty">' + "<col>" * (len(matrix.headers) - 1)
           + "</colgroup>", "<thead><tr>" + "".join(f'<th scope="col">{_h(h)}</th>' for h in matrix.headers)
           + "</tr></thead>", "<tbody>"]
    for row in matrix.rows:
        out.append(f'<tr><th scope="row"><a href="#{_h(row.anchor)}">{_h(row.name)}</a></th>'
                   + "".join(_html_cell(cell) for cell in row.cells) + "</tr>")
    out += ["</tbody>", "</table>"]
    return out


def _html_fold(fold: Fold) -> list[str]:
    # The anchor is inside the fold: following a link to it opens the fold.
    out = ["<details>", f'<summary>{_h(fold.title)}<span class="count">{_h(fold.summary)}</span></summary>',
           f'<div class="fold" id="{_h(fold.anchor)}">', f'<p class="definition">{_h(fold.definition)}</p>']
    for area in fold.areas:
        if not area.items:
            out.append(f'<h4>{_h(area.area)}: <span class="absent">{ABSENT}</span></h4>')
            continue
        out += [f"<h4>{_h(area.area)}</h4>", "<ol>"]
        for i, item in enumerate(area.items, start=1):
            out.append(f'<li><span class="rule-title"><span class="n">{i}.</span> {_h(item.heading)}</span><dl>'
                       + "".join(f"<dt>{_h(label)}</dt><dd>{_h(value)}</dd>" for label, value in item.fields)
                       + "</dl></li>")
        out.append("</ol>")
    out += ["</div>", "</details>"]
    return out


def render_html(blocks: Sequence[Block], title: str = TITLE) -> str:
    """A self-contained page (inline CSS, no scripts, no external assets), readable from 900 px wide."""
    out = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           f"<title>{_h(title)}</title>", f"<style>{_CSS}</style>", "</head>", "<body>", "<main>"]
    for block in blocks:
        if isinstance(block, Heading):
            anchor = f' id="{_h(block.anchor)}"' if block.anchor else ""
            out.append(f"<h{block.level}{anchor}>{_h(block.text)}</h{block.level}>")
        elif isinstance(block, Para):
            if block.formats and "html" not in block.formats:
                continue
            out.append(f'<p class="small">{_h(block.text)}</p>' if block.small else f"<p>{_h(block.text)}</p>")
        elif isinstance(block, Matrix):
            out += _html_matrix(block)
        else:
            out += _html_fold(block)
    out += ["</main>", "</body>", "</html>"]
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------------------------------------------------
# CSV.

CSV_COLUMNS = ("area", "duty kind", "rule id", "title", "holder", "recipients", "clock", "deadline", "on return",
               "escalation", "repeats", "conditions", "clause", "quote", "interpretation")


def render_csv(comparison: Comparison) -> str:
    """One row per rule per area, every aspect in words; areas in column order, duty kinds in row order."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for column, area in enumerate(comparison.areas):
        for row in comparison.rows:
            for rule in row.cells[column]:
                writer.writerow([area.id, row.duty, rule.id, rule.title, rule.holders,
                                 "" if rule.recipients == NONE else rule.recipients, rule.clock, rule.due,
                                 rule.on_return, "" if rule.escalation == "none" else rule.escalation,
                                 "" if rule.repeat == "no" else rule.repeat, rule.applies, rule.clause, rule.quote,
                                 rule.interpretation or ""])
    return buffer.getvalue()


def render_comparison(comparison: Comparison, fmt: str, width: int | None = None, detail: bool = False) -> str:
    """The comparison in one of: text, markdown, csv, html. HTML always carries the detail, folded."""
    if fmt == "csv":
        return render_csv(comparison)
    if fmt == "html":
        return render_html(comparison_document(comparison, detail=True))
    blocks = comparison_document(comparison, detail=detail)
    if fmt == "markdown":
        return render_markdown(blocks)
    if fmt == "text":
        return render_text(blocks, width)
    raise ComparisonError(f"unknown format '{fmt}'; use {', '.join(FORMATS)}")
