"""JSON Schemas of the files people write (packs, scenarios, histories) and of the evaluation output.

The pack and scenario schemas are stricter than what pydantic derives from the models: they list the duty
kinds and canonical roles of the vocabulary, the deadline phrases, the facts a condition may test and the duty
states, so that an editor with a YAML language server shows completion and red underlines while a policy
officer types (docs/pack-format.md, "Editing with a schema"). `rmfhc schema NAME` prints them; the committed
copies in schemas/ are kept current by a test.
"""

from __future__ import annotations

from typing import Any

from ._version import __version__
from .conditions import _NUMERIC_TESTS, FACTS, FactType
from .models import History
from .pack import PSEUDO_EVENTS, PackSpec, Vocabulary, load_vocabulary
from .results import DutyState, Evaluation

DRAFT = "https://json-schema.org/draft/2020-12/schema"
_ID = "urn:rmfhc:schema:{name}:" + __version__.rsplit(".", 1)[0]
DURATION = r"^\s*\d+\s+(minute|hour|day|calendar day|week|month|calendar month|working day)s?\s*$"
DEADLINE = (r"^\s*(immediately|without delay|as soon as possible|as soon as practicable|next working day|"
            r"within\s+\d+\s+(minute|hour|day|calendar day|week|month|calendar month|working day)s?)\s*$")
KEY = r"^[a-z0-9][a-z0-9_-]*$"


def _stamp(schema: dict[str, Any], name: str, title: str) -> dict[str, Any]:
    return {"$schema": DRAFT, "$id": _ID.format(name=name), "title": title, **schema}


def _test_values(fact: str) -> dict[str, Any]:
    """The schema of what a condition may say about one fact: a value, or one test such as {under: 12}."""
    spec = FACTS[fact]
    if spec.type is FactType.BOOLEAN:
        value: dict[str, Any] = {"type": ["boolean", "null"]}
    elif spec.type is FactType.NUMBER:
        value = {"type": ["number", "null"]}
    elif spec.choices:
        value = {"enum": [*spec.choices, None]}
    else:
        value = {"type": ["string", "null"]}
    tests: dict[str, Any] = {"is": value}
    if spec.type is FactType.NUMBER:
        tests.update({name: {"type": "number"} for name in _NUMERIC_TESTS})
    elif spec.type is FactType.CHOICES:
        tests = {"contains": {"enum": list(spec.choices)}}
        value = {"not": {}}
    else:
        tests.update({"in": {"type": "array", "items": value, "minItems": 1},
                      "not_in": {"type": "array", "items": value, "minItems": 1}})
    test = {"type": "object", "properties": tests, "additionalProperties": False, "minProperties": 1,
            "maxProperties": 1}
    return {"anyOf": [value, test], "description": spec.description or spec.type.value}


def condition_schema() -> dict[str, Any]:
    """A condition: facts with their tests, combined with all, any and not (docs/pack-format.md)."""
    properties: dict[str, Any] = {
        "all": {"type": "array", "items": {"$ref": "#/$defs/Condition"}, "minItems": 1},
        "any": {"type": "array", "items": {"$ref": "#/$defs/Condition"}, "minItems": 1},
        "not": {"$ref": "#/$defs/Condition"},
    }
    properties.update({fact: _test_values(fact) for fact in FACTS})
    return {"type": "object", "properties": properties, "additionalProperties": False, "minProperties": 1}


def pack_schema(vocabulary: Vocabulary | None = None) -> dict[str, Any]:
    """The pack format, with the vocabulary's duty kinds and roles, deadline phrases and condition facts."""
    vocabulary = vocabulary or load_vocabulary()
    schema = PackSpec.model_json_schema(by_alias=True)
    defs = schema["$defs"]
    duties = {"enum": sorted(vocabulary.duties)}
    defs["Condition"] = condition_schema()
    rule = defs["RuleSpec"]["properties"]
    rule["duty"] = {**duties, "description": "a canonical duty kind (protocols/vocabulary.yaml)"}
    rule["due"] = {"type": "string", "pattern": DEADLINE,
                   "description": "immediately, without delay, as soon as possible, next working day, within N unit"}
    rule["allows"] = {"anyOf": [{"type": "string", "pattern": DURATION}, {"type": "null"}]}
    rule["done_by"] = {"anyOf": [{"type": "array", "items": {"enum": [*sorted(vocabulary.duties), *PSEUDO_EVENTS]}},
                                 {"type": "null"}]}
    rule["id"] = {"type": "string", "pattern": KEY}
    for key in ("roles", "recipients"):
        rule[key]["items"] = {"anyOf": [{"type": "string", "pattern": KEY}, {"$ref": "#/$defs/HolderSpec"}]}
    defs["HolderSpec"]["properties"]["role"] = {"type": "string", "pattern": KEY}
    for holder in (defs["HolderSpec"], defs["RuleSpec"], defs["CheckSpec"]):
        holder["properties"]["when"] = {"anyOf": [{"$ref": "#/$defs/Condition"}, {"type": "null"}]}
    defs["EpisodeKindSpec"]["properties"]["counted"] = {"anyOf": [{"type": "boolean"},
                                                                  {"$ref": "#/$defs/Condition"}]}
    clock = defs["ClockSpec"]["properties"]
    clock["duty"] = {"anyOf": [duties, {"type": "null"}]}
    clock["counts"] = {"anyOf": [{"$ref": "#/$defs/Condition"}, {"type": "null"}]}
    for key in ("after", "within"):
        clock[key] = {"anyOf": [{"type": "string", "pattern": DURATION}, {"type": "null"}]}
    repeat = defs["RepeatSpec"]["properties"]
    repeat["every"] = {"type": "string", "pattern": DURATION}
    repeat["until"] = {"anyOf": [{"type": "string", "pattern": DURATION}, {"type": "null"}]}
    defs["EscalationSpec"]["properties"]["after"] = {"type": "string", "pattern": DURATION}
    defs["ReadingSpec"]["properties"]["allows"] = {"type": "string", "pattern": DURATION}
    defs["RoleSpec"]["properties"]["role"] = {"enum": sorted(vocabulary.roles),
                                              "description": "a canonical role (protocols/vocabulary.yaml)"}
    schema["properties"]["roles"]["propertyNames"] = {"pattern": KEY}
    return _stamp(schema, "pack", "rmfhc protocol pack")


def scenario_schema() -> dict[str, Any]:
    """The scenario file format (docs/scenarios.md), with the duty states an expectation may name."""
    from .scenarios import ScenarioFile  # the scenario runner imports the engine; keep this module light

    schema = ScenarioFile.model_json_schema(by_alias=True)
    defs = schema["$defs"]
    states = {"anyOf": [{"enum": [state.value for state in DutyState]}, {"type": "null"}]}
    defs["ExpectedDuty"]["properties"]["state"] = states
    defs["ExpectedEscalation"]["properties"]["state"] = {
        "anyOf": [{"enum": ["pending", "active", "passed", "not_needed"]}, {"type": "null"}]}
    history = History.model_json_schema()
    defs.update(history.pop("$defs", {}))
    defs["History"] = history
    scenario = defs["ScenarioSpec"]["properties"]
    scenario["history"] = {"anyOf": [{"type": "string"}, {"$ref": "#/$defs/History"}]}
    schema["properties"]["histories"] = {"type": "object", "additionalProperties": {"$ref": "#/$defs/History"}}
    return _stamp(schema, "scenario", "rmfhc scenario file")


def history_schema() -> dict[str, Any]:
    """A child's history (docs/history-format.md)."""
    return _stamp(History.model_json_schema(), "history", "rmfhc history")


def evaluation_schema() -> dict[str, Any]:
    """The result of an evaluation, as written with its rule text (`to_json(rule_text=True)`)."""
    return _stamp(Evaluation.json_schema(), "evaluation", "rmfhc evaluation")


SCHEMAS = {"pack": pack_schema, "scenario": scenario_schema, "history": history_schema,
           "evaluation": evaluation_schema}
