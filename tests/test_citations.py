"""Every rule and check of every pack cites its seed word for word, and every inventory clause is covered.

These tests read the source documents in ../shared. On a clone with nothing beside it they are skipped with
a one-line reason; with RMFHC_SHARED set (as .ci/run does) a missing document is a failure.
"""

from __future__ import annotations

import re

import pytest

from conftest import PACK_NAMES, PROTOCOLS, SEEDS, SHARED, need_shared
from rmfhc import load_protocol

INVENTORIES = ("rule-inventory.md", "rule-inventory-second-reading.md")


def normalise(text: str) -> str:
    """Ignore line breaks, repeated spaces and Markdown bold markers, nothing else.

    The seeds print some time limits in bold (Pan Cheshire: "**within 72 hours**"); a quote may carry the words
    without the markers.
    """
    return " ".join(text.replace("**", "").split())


def citations(name: str) -> list[tuple[str, str, str]]:
    pack = load_protocol(PROTOCOLS / f"{name}.yaml")
    found = []
    for rule in pack.rules:
        found += [(rule.id, c.section, c.quote) for c in (rule.source, *rule.also_cites)]
    for check in pack.checks:
        found += [(check.id, c.section, c.quote) for c in (check.source, *check.also_cites)]
    return found


@pytest.mark.parametrize("name", PACK_NAMES)
def test_every_quote_is_word_for_word_in_the_seed(name: str) -> None:
    pack = load_protocol(PROTOCOLS / f"{name}.yaml")
    need_shared(f"seeds/{pack.meta.seed}")
    seed = normalise((SEEDS / pack.meta.seed).read_text(encoding="utf-8"))
    missing = [f"{rule_id} ({section}): {quote!r}" for rule_id, section, quote in citations(name)
               if normalise(quote) not in seed]
    assert not missing, "quotes not found in the seed:\n" + "\n".join(missing)


# A numbered heading or paragraph in a seed: "9.5 ...", "- 6.2.11 ...", "### 7.3 ...".
NUMBERED = re.compile(r"^[\s\-*#>]*(\d+(?:\.\d+)*)\.?\s", re.MULTILINE)


@pytest.mark.parametrize("name", PACK_NAMES)
def test_every_quote_of_a_numbered_section_sits_under_that_section(name: str) -> None:
    """A quote found anywhere in the seed is not enough: it must sit under the number it cites (or a
    subsection of it, or the section it belongs to), since the same words can recur elsewhere."""
    pack = load_protocol(PROTOCOLS / f"{name}.yaml")
    need_shared(f"seeds/{pack.meta.seed}")
    seed = (SEEDS / pack.meta.seed).read_text(encoding="utf-8").replace("**", "")
    numbers = [(m.start(), m.group(1)) for m in NUMBERED.finditer(seed)]
    misplaced = []
    for rule_id, section, quote in citations(name):
        if not re.fullmatch(r"\d+(?:\.\d+)*", section):
            continue  # a titled section ("Definition of Missing"): the word-for-word test covers it
        pattern = r"\s+".join(re.escape(word) for word in quote.replace("**", "").split())
        under = set()
        for hit in re.finditer(pattern, seed):
            before = [number for at, number in numbers if at <= hit.start()]
            under.add(before[-1] if before else "")
        if not any(n == section or n.startswith(section + ".") or section.startswith(n + ".") for n in under):
            misplaced.append(f"{rule_id} cites {section}, but the quote is under {sorted(under)}: {quote[:60]!r}")
    assert not misplaced, "quotes not under the section they cite:\n" + "\n".join(misplaced)


def inventory() -> dict[str, list[str]]:
    """Inventory refs by area prefix, from both inventory files (the second continues the first)."""
    refs: dict[str, list[str]] = {}
    for name in INVENTORIES:
        text = (SHARED / name).read_text(encoding="utf-8")
        for ref in re.findall(r"^\| ([A-Z]{2}\d+) \|", text, flags=re.MULTILINE):
            refs.setdefault(re.sub(r"\d+", "", ref), []).append(ref)
    return refs


PREFIX = {"derby_derbyshire": "DD", "pan_cheshire": "PC", "medway": "MW", "dorset": "DO", "durham": "DU"}


@pytest.mark.parametrize("name", PACK_NAMES)
def test_every_inventory_clause_is_encoded_or_listed_as_not_encoded(name: str) -> None:
    need_shared(*INVENTORIES)
    pack = load_protocol(PROTOCOLS / f"{name}.yaml")
    covered = {ref for rule in pack.rules for ref in rule.refs}
    covered |= {ref for check in pack.checks for ref in check.refs}
    covered |= {ref for entry in pack.spec.not_encoded for ref in entry.refs}
    expected = inventory()[PREFIX[name]]
    assert expected, "the inventory lists no clauses for this area"
    assert not [ref for ref in expected if ref not in covered], "inventory clauses neither encoded nor listed"
    assert not sorted(covered - set(expected)), "refs that are not in the inventory"


def test_both_inventories_are_read() -> None:
    need_shared(*INVENTORIES)
    refs = inventory()
    # The first inventory runs DD1..DD27; the second reading continues from DD28.
    assert {"DD27", "DD28", "DD75"} <= set(refs["DD"]) and {"DU19", "DU20"} <= set(refs["DU"])
    assert sum(len(v) for v in refs.values()) == 114 + 184


def test_the_quote_check_can_fail() -> None:
    need_shared("seeds/dorset.txt")
    seed = normalise((SEEDS / "dorset.txt").read_text(encoding="utf-8"))
    assert normalise("For any Child in Care a strategy discussion must be held") in seed
    assert normalise("For any Child in Care a strategy discussion may be held") not in seed


def test_bold_markers_are_ignored_but_words_are_not() -> None:
    assert normalise("return **within 72 hours** of") == normalise("return within 72 hours of")
    assert normalise("return **within 72 hours** of") != normalise("return within 48 hours of")


def test_seed_folder_is_present() -> None:
    need_shared(*(f"seeds/{n}.txt" for n in PACK_NAMES))
    assert sorted(p.name for p in SEEDS.glob("*.txt")) == sorted(f"{n}.txt" for n in PACK_NAMES)
