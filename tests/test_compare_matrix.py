"""`rmfhc compare`: the compact matrix, the detail, the filters, CSV, Markdown and HTML, and the committed pages."""

from __future__ import annotations

import csv
import html
import io
import re
from pathlib import Path

import pytest

from conftest import PROTOCOLS
from rmfhc.cli import main
from rmfhc.compare import compare_packs, render_comparison
from rmfhc.compare.render import CSV_COLUMNS
from rmfhc.pack import available_protocols, load_protocol
from rmfhc.words import capital
from small_packs import DOCS, EXTRA_RULE, ROOT, small_pack


@pytest.fixture
def in_repo(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run from the repository root with the default pack search path, as the docs' command is."""
    monkeypatch.chdir(ROOT)
    monkeypatch.delenv("RMFHC_PROTOCOLS", raising=False)


@pytest.fixture
def all_packs(in_repo: None) -> list[str]:
    """Every pack in protocols/, each of which must load."""
    names = sorted(path.stem for path in PROTOCOLS.glob("*.yaml") if path.stem != "vocabulary")
    assert names == available_protocols() and len(names) == 5
    return names


# Notes for the project's maintainers, which have no place in what an auditor reads.
MAINTAINER_NOTES = re.compile(r"regenerat|do not edit|tests/|test_|\.py\b|docs/|pytest|maintainer", re.I)
PYTHON_VALUES = re.compile(r"\bis (True|False|None)\b|\[['\"]|\{['\"]")


def test_every_pack_and_every_duty_is_in_the_matrix(all_packs: list[str]) -> None:
    packs = [load_protocol(name) for name in all_packs]
    comparison = compare_packs(packs)
    assert [area.id for area in comparison.areas] == all_packs
    used = {rule.duty for pack in packs for rule in pack.rules}
    assert {row.duty for row in comparison.rows} == used
    for row in comparison.rows:
        for pack, cell in zip(packs, row.cells, strict=True):
            assert [rule.id for rule in cell] == [rule.id for rule in pack.rules if rule.duty == row.duty]


def test_the_default_output_is_a_compact_matrix_of_about_100_lines(all_packs: list[str],
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compare"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    comparison = compare_packs([load_protocol(name) for name in all_packs])
    # One line per duty kind: a cell shows its first rule and how many more ("+4").
    header = next(i for i, line in enumerate(lines) if line.startswith("Duty "))
    table = lines[header:lines.index("", header)]
    assert len(table) <= len(comparison.rows) + 2 + 6  # header, rule, and a few duty names on two lines
    assert len(lines) <= 105, f"{len(lines)} lines"
    several = [(row, column, cell) for row in comparison.rows for column, cell in enumerate(row.cells)
               if len(cell) > 1]
    assert several, "the five packs have duty kinds with several rules in one area"
    for row, column, cell in several:
        line = next(line for line in table if line.split("|")[0].strip() == capital(row.name))
        assert line.split("|")[column + 1].rstrip().endswith(f" +{len(cell) - 1}"), (row.name, line)
    assert not MAINTAINER_NOTES.search(out) and not PYTHON_VALUES.search(out)
    for area in comparison.areas:
        assert area.area.split(" (")[0] in lines[header]
    assert "Strategy discussion" in out and " · " in out


def test_detail_and_filters(all_packs: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    a, b = ("dorset", "durham") if {"dorset", "durham"} <= set(all_packs) else all_packs[:2]
    assert main(["compare", "--area", f"{a},{b}", "--duty", "strategy_discussion,return interview",
                 "--detail"]) == 0
    out = capsys.readouterr().out
    header = next(line for line in out.splitlines() if line.startswith("Duty "))
    assert [cell.strip() for cell in header.split("|")][1:] == [load_protocol(a).meta.area.split(" (")[0],
                                                                load_protocol(b).meta.area.split(" (")[0]]
    rows = [line.split("|")[0].strip() for line in out.splitlines()[out.splitlines().index(header) + 2:]
            if line and not line.startswith(" ") and "|" in line]
    assert rows == ["Strategy discussion", "Return interview"]
    for label in ("Applies to:", "Required from:", "Deadline:", "Held by:", "Clause ", "Rule id:"):
        assert label in out
    assert not MAINTAINER_NOTES.search(out) and not PYTHON_VALUES.search(out)

    assert main(["compare", "--duty", "no_such_duty"]) == 2
    assert "no_such_duty" in capsys.readouterr().err
    assert main(["compare", "dorset", "--area", "medway"]) == 2
    assert "medway" in capsys.readouterr().err


def test_small_packs_in_every_format(tmp_path: Path) -> None:
    packs = [small_pack(tmp_path / "a", "alpha", 24, EXTRA_RULE), small_pack(tmp_path / "b", "beta", 48)]
    comparison = compare_packs(packs)
    assert [row.duty for row in comparison.rows] == ["inform_social_worker", "strategy_discussion"]
    assert comparison.cell("inform_social_worker", "beta") == ()

    text = render_comparison(comparison, "text")
    assert "Team manager · 24 h from report (1.1)" in text and "Team manager · 48 h from report (1.1)" in text
    assert "Social worker · at once from report (2.1)" in text
    markdown = render_comparison(comparison, "markdown", detail=True)
    assert "| Strategy discussion | Team manager · 24 h from report (1.1) | Team manager · 48 h from report (1.1) |" \
        in markdown
    assert "Applies to: Child in care" in markdown


def test_csv_has_one_row_per_rule_per_area(tmp_path: Path) -> None:
    packs = [small_pack(tmp_path / "a", "alpha", 24, EXTRA_RULE), small_pack(tmp_path / "b", "beta", 48)]
    rows = list(csv.DictReader(io.StringIO(render_comparison(compare_packs(packs), "csv"))))
    for column in ("area", "duty kind", "rule id", "title", "holder", "recipients", "clock", "deadline",
                   "on return", "conditions", "clause", "quote", "interpretation"):
        assert column in CSV_COLUMNS
    assert [(r["area"], r["duty kind"], r["rule id"]) for r in rows] == [
        ("alpha", "inform_social_worker", "tell-social-worker"), ("alpha", "strategy_discussion",
                                                                  "strategy-child-in-care"),
        ("beta", "strategy_discussion", "strategy-child-in-care")]
    strategy = rows[1]
    assert strategy["conditions"] == "child in care"
    assert strategy["deadline"] == "within 24 hours" and strategy["clock"] == "The report to police"
    assert strategy["holder"] == "Team Manager" and strategy["clause"] == "1.1"
    assert strategy["on return"] == "still due after the child is found"
    assert all("\n" not in value for row in rows for value in row.values())


def test_csv_of_the_five_packs_has_a_row_for_every_rule(all_packs: list[str],
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compare", "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert len(rows) == sum(len(load_protocol(name).rules) for name in all_packs)
    for row in rows:
        assert not PYTHON_VALUES.search(row["conditions"]), row
        assert "\n" not in row["holder"]


def _words_of_markdown(text: str) -> list[str]:
    return re.findall(r"[A-Za-z0-9]+", text.replace("<br>", " "))


def _words_of_html(page: str) -> list[str]:
    body = page[page.index("<body>"):]
    return re.findall(r"[A-Za-z0-9]+", html.unescape(re.sub(r"<[^>]+>", " ", body)))


def test_html_is_self_contained_with_the_matrix_first_and_the_detail_folded(tmp_path: Path) -> None:
    packs = [small_pack(tmp_path / "a", "alpha", 24, EXTRA_RULE), small_pack(tmp_path / "b", "beta", 48)]
    comparison = compare_packs(packs)
    page = render_comparison(comparison, "html")
    assert page.startswith("<!DOCTYPE html>") and "<style>" in page
    assert not re.search(r"<script|<link|<img|@import|url\(|src=|href=\"(?!#)", page)
    assert page.index('<table class="matrix">') < page.index("<details>")
    assert page.count("<details>") == len(comparison.rows)
    assert _words_of_html(page) == _words_of_markdown(render_comparison(comparison, "markdown", detail=True))


@pytest.mark.parametrize(("argv", "name"), [(["--format", "markdown", "--detail"], "comparison.md"),
                                            (["--format", "html"], "comparison.html")])
def test_committed_comparison_matches_a_fresh_regeneration(all_packs: list[str], capsys: pytest.CaptureFixture[str],
                                                           argv: list[str], name: str) -> None:
    assert main(["compare", *argv]) == 0
    fresh = capsys.readouterr().out
    committed = (DOCS / name).read_text(encoding="utf-8")
    assert committed == fresh, (f"docs/{name} is out of date: regenerate it with "
                                f"`rmfhc compare {' '.join(argv)} > docs/{name}` from the repository root")


def test_committed_pages_carry_the_same_words_and_no_maintainer_notes() -> None:
    markdown = (DOCS / "comparison.md").read_text(encoding="utf-8")
    page = (DOCS / "comparison.html").read_text(encoding="utf-8")
    assert _words_of_html(page) == _words_of_markdown(markdown)
    assert not MAINTAINER_NOTES.search(markdown) and not PYTHON_VALUES.search(markdown)


def test_the_comparison_code_knows_no_area() -> None:
    for path in (ROOT / "src" / "rmfhc" / "compare").glob("*.py"):
        source = path.read_text(encoding="utf-8").lower()
        for name in ("dorset", "durham", "medway", "cheshire", "derby"):
            assert name not in source, f"{path.name} mentions {name}: area logic belongs in packs"


SECOND_STRATEGY_RULES = EXTRA_RULE + "".join(f"""\
  - id: strategy-again-{n}
    duty: strategy_discussion
    title: Another strategy discussion while the child is still missing
    clock: {{from: reported}}
    due: within {24 * n} hours
    roles: [sm]
    source: {{section: "3.{n}", quote: Another strategy discussion is held.}}
""" for n in (2, 3))


def test_a_compact_cell_names_its_first_rule_and_how_many_more(tmp_path: Path) -> None:
    packs = [small_pack(tmp_path / "a", "alpha", 24, SECOND_STRATEGY_RULES), small_pack(tmp_path / "b", "beta", 48)]
    comparison = compare_packs(packs)
    several = next(row for row in comparison.rows if len(row.cells[0]) > 1)
    for width in (None, 60):
        out = render_comparison(comparison, "text", width=width)
        table = out[out.index("Duty "):out.index("\n\n", out.index("Duty "))].splitlines()
        if width:
            assert max(len(line) for line in table) <= width
        rows = [i for i, line in enumerate(table) if line and not line.startswith((" ", "-", "Duty"))]
        # at most two lines per duty kind, none of them a rule between rows
        assert all(b - a <= 2 for a, b in zip(rows, [*rows[1:], len(table)], strict=True)), table
        at = next(i for i in rows if capital(several.name).startswith(table[i].split("|")[0].strip()))
        first = table[at]
        lines = [first, *(line for line in table[at + 1:at + 2] if line.startswith(" "))]
        alpha = " ".join(line.split("|")[1].strip() for line in lines)
        assert alpha.endswith(" +2") and "24 h from report" in alpha, table  # the first rule, and two more
        assert "48 h" not in alpha and "72 h" not in alpha
    matrix = render_comparison(comparison, "text", detail=True).split("Every rule in full")[0]
    assert "+2" not in matrix and "2. " in matrix and "3. " in matrix


def test_a_narrow_terminal_gets_every_rule_whole_in_the_detail(tmp_path: Path) -> None:
    packs = [small_pack(tmp_path / "a", "alpha", 24, EXTRA_RULE), small_pack(tmp_path / "b", "beta", 48)]
    comparison = compare_packs(packs)
    wide = render_comparison(comparison, "text", detail=True)
    assert "Team manager · 24 h from report (1.1)" in wide  # one line per rule when there is room
    narrow = render_comparison(comparison, "text", width=60, detail=True)
    table = narrow[narrow.index("Duty "):narrow.index("\n\n", narrow.index("Duty "))]
    assert max(len(line) for line in table.splitlines()) <= 60
    assert "…" not in table
    cells = " ".join(part.strip() for line in table.splitlines() for part in line.split("|")[1:2])
    assert "Team manager · 24 h from report (1.1)" in " ".join(cells.split())
