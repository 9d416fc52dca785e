"""Safe YAML reading that remembers where every key and value was, for file:line:column errors.

Only PyYAML's safe loader is used. Implicit typing follows YAML 1.2 rather than 1.1: `yes`, `no`, `on` and
`off` stay strings, `17:00` is not a number of minutes, and timestamps stay strings (the models parse them),
so that what a policy officer wrote is what the engine reads.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, SequenceNode

from . import _read
from .errors import Problem


class _Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 core-schema scalars and a record of positions."""

    positions: dict[int, tuple[yaml.Mark, dict[Any, tuple[yaml.Mark, yaml.Mark]] | list[yaml.Mark]]]
    duplicates: list[tuple[yaml.Mark, str]]


_Loader.yaml_implicit_resolvers = {}
for _tag, _pattern, _first in (
    ("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    ("tag:yaml.org,2002:int", r"^[-+]?(?:0|[1-9][0-9]*)$", "-+0123456789"),
    ("tag:yaml.org,2002:float", r"^[-+]?(?:[0-9]+\.[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?$", "-+0123456789."),
    ("tag:yaml.org,2002:null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
    ("tag:yaml.org,2002:merge", r"^(?:<<)$", ["<"]),
):
    _Loader.add_implicit_resolver(_tag, re.compile(_pattern), list(_first))


def _construct_map(loader: _Loader, node: MappingNode) -> Iterator[dict[Any, Any]]:
    data: dict[Any, Any] = {}
    yield data
    loader.flatten_mapping(node)
    marks: dict[Any, tuple[yaml.Mark, yaml.Mark]] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, Hashable):
            message = "a key must be a plain word, not a list or mapping"
            loader.duplicates.append((key_node.start_mark, message))
            continue
        if key in data:
            loader.duplicates.append((key_node.start_mark, f"the key '{key}' appears twice in this mapping"))
        data[key] = loader.construct_object(value_node, deep=True)
        marks[key] = (key_node.start_mark, value_node.start_mark)
    loader.positions[id(data)] = (node.start_mark, marks)


def _construct_seq(loader: _Loader, node: SequenceNode) -> Iterator[list[Any]]:
    data: list[Any] = []
    yield data
    data.extend(loader.construct_object(child, deep=True) for child in node.value)
    loader.positions[id(data)] = (node.start_mark, [child.start_mark for child in node.value])


_Loader.add_constructor("tag:yaml.org,2002:map", _construct_map)
_Loader.add_constructor("tag:yaml.org,2002:seq", _construct_seq)


@dataclass
class Document:
    """Parsed YAML data with the position of every mapping key, value and list item."""

    file: str
    data: Any
    _positions: dict[int, Any] = field(default_factory=dict, repr=False)

    def locate(self, path: Sequence[int | str], value: bool = False) -> tuple[int, int]:
        """1-based (line, column) of the key at `path` (its value with `value=True`), or of the nearest
        existing parent."""
        current = self.data
        line, column = 1, 1
        entry = self._positions.get(id(current))
        if entry is not None:
            line, column = entry[0].line + 1, entry[0].column + 1
        for index, part in enumerate(path):
            entry = self._positions.get(id(current))
            if entry is None:
                break
            marks = entry[1]
            last = index == len(path) - 1
            if isinstance(current, dict) and part in marks:
                key_mark, value_mark = marks[part]
                mark = key_mark if last and not value else value_mark
                current = current[part]
            elif isinstance(current, list) and isinstance(part, int) and 0 <= part < len(marks):
                mark = marks[part]
                current = current[part]
            else:
                break
            line, column = mark.line + 1, mark.column + 1
        return line, column

    def problem(self, path: Sequence[int | str], message: str, value: bool = True) -> Problem:
        """A Problem located at `path` (at its value with `value=True`)."""
        line, column = self.locate(path, value)
        return Problem(self.file, line, column, message)


def parse(text: str, file: str) -> tuple[Document | None, list[Problem]]:
    """Parse YAML text safely. Returns the document, or None and the syntax problem."""
    try:
        _read.check_characters(text, file, yaml=True)
    except _read.BadInput as error:
        return None, [error.problem]
    loader = _Loader(text)
    loader.positions = {}
    loader.duplicates = []
    try:
        node: Node | None = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        message = f"this is not valid YAML: {error.problem or error.context}"
        if mark is None:
            return None, [Problem(file, 0, 0, message)]
        return None, [Problem(file, mark.line + 1, mark.column + 1, message)]
    except yaml.YAMLError as error:
        return None, [Problem(file, 0, 0, f"this is not valid YAML: {error}")]
    finally:
        loader.dispose()
    problems = [Problem(file, m.line + 1, m.column + 1, msg) for m, msg in loader.duplicates]
    return Document(file, data, loader.positions), problems


def read(path: str | Path, limit: int = _read.MAX_PACK_BYTES, what: str = "a YAML") -> tuple[Document | None,
                                                                                              list[Problem]]:
    """Read and parse a YAML file (at most `limit` bytes of UTF-8); an unreadable file is a Problem."""
    try:
        text = _read.decode(_read.read_bytes(path, limit, what), str(path))
    except _read.BadInput as error:
        return None, [error.problem]
    return parse(text, str(path))
