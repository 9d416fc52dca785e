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
