"""The JSON Schemas an editor uses: current, valid, accepting every shipped pack and scenario, refusing mistakes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from conftest import PACK_NAMES, PROTOCOLS, ROOT
from rmfhc import _yaml
from rmfhc.schemas import SCHEMAS

SCENARIOS = sorted((ROOT / "tests" / "scenarios").rglob("*.yaml"))


def validator(name: str) -> Draft202012Validator:
    schema = json.loads((ROOT / "schemas" / f"{name}.schema.json").read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def read(path: Path) -> Any:
    document, problems = _yaml.read(path)  # YAML 1.2 scalars, as an editor's language server reads them
    assert document is not None and not problems
    return document.data


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_the_committed_schema_is_current(name: str) -> None:
    committed = json.loads((ROOT / "schemas" / f"{name}.schema.json").read_text(encoding="utf-8"))
    assert committed == SCHEMAS[name](), f"regenerate: rmfhc schema {name} > schemas/{name}.schema.json"
    assert committed["$schema"].endswith("2020-12/schema") and committed["$id"].startswith("urn:rmfhc:schema:")


@pytest.mark.parametrize("name", PACK_NAMES)
def test_every_shipped_pack_is_valid_under_the_pack_schema(name: str) -> None:
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator("pack").iter_errors(
        read(PROTOCOLS / f"{name}.yaml"))]
    assert not errors


@pytest.mark.parametrize("path", SCENARIOS, ids=[f"{p.parent.name}/{p.name}" for p in SCENARIOS])
def test_every_scenario_file_is_valid_under_the_scenario_schema(path: Path) -> None:
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator("scenario").iter_errors(read(path))]
    assert not errors


def first_rule() -> dict[str, Any]:
    data = read(PROTOCOLS / "dorset.yaml")
    return dict(data["rules"][0])


@pytest.mark.parametrize(("change", "where"), [
    ({"duty": "strategy_discusion"}, ["rules", 0, "duty"]),
    ({"due": "within 24 hourz"}, ["rules", 0, "due"]),
    ({"due": "straight away"}, ["rules", 0, "due"]),
    ({"when": {"child.lookedafter": True}}, ["rules", 0, "when"]),
    ({"when": {"child.age": {"unde": 12}}}, ["rules", 0, "when"]),
    ({"clock": {"from": "reported", "after": "two days"}}, ["rules", 0, "clock"]),
    ({"on_return": "stand_down"}, ["rules", 0, "on_return"]),
])
def test_the_pack_schema_flags_what_a_policy_officer_might_mistype(change: dict[str, Any], where: list[Any]) -> None:
    data = read(PROTOCOLS / "dorset.yaml")
    data["rules"][0] = {**first_rule(), **change}
    errors = list(validator("pack").iter_errors(data))
    assert errors and any(list(e.absolute_path)[:len(where)] == where for e in errors)


def test_the_scenario_schema_flags_a_misspelt_state() -> None:
    data = read(SCENARIOS[0])
    data["scenarios"][0]["expect"] = {"duties": [{"rule": "x", "state": "overdeu"}]}
    assert list(validator("scenario").iter_errors(data))


@pytest.mark.parametrize("path", [*(PROTOCOLS / f"{n}.yaml" for n in PACK_NAMES), *SCENARIOS],
                         ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_pack_and_scenario_file_names_its_schema_for_editors(path: Path) -> None:
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith("# yaml-language-server: $schema=")
    assert (path.parent / first.split("$schema=", 1)[1]).resolve().is_file()
