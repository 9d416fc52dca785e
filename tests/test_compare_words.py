"""Rules and conditions in plain English (rmfhc.compare.words): never a Python value in what users read."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import PACK_NAMES, PROTOCOLS
from rmfhc.compare.matrix import RuleSummary
from rmfhc.compare.words import describe_timing, short_timing
from rmfhc.conditions import compile_condition
from rmfhc.pack import load_protocol
from rmfhc.words import describe_condition
from small_packs import small_pack


def words_of(raw: object, localities: tuple[str, ...] = ()) -> str:
    condition, complaints = compile_condition(raw, ("when",), localities)
    assert not complaints
    return describe_condition(condition, {"derby_city": "Derby City"})


@pytest.mark.parametrize(("raw", "expected"), [
    ({"child.looked_after": True}, "child in care"),
    ({"child.looked_after": False}, "child not in care"),
    ({"child.age": {"under": 12}}, "aged under 12"),
    ({"child.age": {"at_least": 16}}, "aged 16 or over"),
    ({"episode.risk_levels": {"contains": "high"}}, "graded high"),
    ({"episode.highest_risk": {"in": ["medium", "high"]}}, "graded medium or high"),
    ({"episode.initial_risk": {"in": ["no_apparent_risk", "low"]}}, "first graded no apparent risk or low"),
    ({"child.placed_by_other_authority": True}, "placed by another authority"),
    ({"child.placement.type": {"in": ["foster", "childrens_home"]}}, "in foster care or a children's home"),
    ({"child.legal_basis": "remanded"}, "remanded"),
    ({"episode.kind": {"in": ["missing", "absconded"]}}, "missing or absconded episode"),
    ({"episode.number": {"at_least": 3}}, "3rd or later missing episode"),
    ({"episode.number": 1}, "1st missing episode"),
    ({"child.placement.distance_miles": {"over": 20}}, "placed more than 20 miles away"),
    ({"child.locality": "derby_city"}, "in Derby City"),
    ({"not": {"child.open_to_childrens_services": True}}, "not open to children's services"),
    ({"not": {"any": [{"child.looked_after": True}, {"child.age": {"under": 12}}]}},
     "not (child in care or aged under 12)"),
    ({"all": [{"child.looked_after": True}, {"any": [{"child.age": {"under": 12}},
                                                       {"episode.risk_levels": {"contains": "high"}}]}]},
     "child in care and (aged under 12 or graded high)"),
    ({"child.age": None}, "age not known"),
])
def test_conditions_read_as_english(raw: object, expected: str) -> None:
    assert words_of(raw, ("derby_city",)) == expected


PYTHON = re.compile(r"\bis (True|False|None)\b|\b(True|False|None)\b|\[['\"]|['\"]\]|\{['\"]|\b[a-z]+_[a-z_]+\b")


def test_no_python_values_in_any_rule_of_any_pack() -> None:
    for pack in (load_protocol(PROTOCOLS / f"{name}.yaml") for name in PACK_NAMES):
        for rule in pack.rules:
            summary = RuleSummary.of(rule, pack)
            for name in ("applies", "clock", "timing", "due", "deadline", "on_return", "repeat", "escalation",
                         "holders", "recipients", "cell"):
                text = getattr(summary, name)
                found = PYTHON.search(text)
                assert found is None, f"{pack.id} {rule.id} {name}: {found.group(0)!r} in {text!r}"


def test_timing_in_words_and_in_a_few_words(tmp_path: Path) -> None:
    pack = small_pack(tmp_path, hours=24)
    [rule] = pack.rules
    assert describe_timing(rule) == "within 24 hours of the report to police"
    assert short_timing(rule) == "24 h from report"
    assert RuleSummary.of(rule, pack).cell == "Team manager · 24 h from report (1.1)"
