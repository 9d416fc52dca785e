"""Safe YAML reading that remembers where every key and value was, for file:line:column errors.

Only PyYAML's safe constructors are used. Implicit typing follows YAML 1.2 rather than 1.1: `yes`, `no`,
`on` and `off` stay strings, `17:00` is not a number of minutes, and timestamps stay strings (the models
parse them), so that what a policy officer wrote is what the engine reads.

Parsing uses libyaml's C parser (PyYAML's `CParser`) where PyYAML was built with it, and PyYAML's
pure-Python parser otherwise; both give the same events with the same line and column marks. The events
are composed into nodes here, without recursion, so that limits hold before anything grows:

- nesting: at most MAX_DEPTH (64) levels of lists and mappings;
- size: at most MAX_NODES (100,000) scalars, lists and mappings in a document (the largest shipped pack has
  about 3,000), which bounds the work on a file that is wrong everywhere (see rmfhc._read);
- aliases: at most MAX_ALIASES (1,000) uses of `*name` in a document, which together may add at most
  MAX_ALIAS_NODES (10,000) nodes when expanded. Composition shares an anchored node between its uses, so it
  stays linear; what would grow exponentially ("billion laughs") is everything that later walks the data as
  a tree (validation, compiling conditions), so the expanded size is counted here, alias by alias, and a
  document over the limit is refused at the alias that crosses it;
- a recursive alias (an anchored node that contains an alias to itself) is refused.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import yaml
from yaml.composer import ComposerError
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.events import (
    AliasEvent,
    CollectionStartEvent,
    Event,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    StreamEndEvent,
)
from yaml.nodes import CollectionNode, MappingNode, Node, ScalarNode, SequenceNode
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.resolver import BaseResolver
from yaml.scanner import Scanner

from . import _read
from .errors import Problem

try:
    from yaml._yaml import CParser

    LIBYAML = True
except ImportError:  # PyYAML built without libyaml
    LIBYAML = False

MAX_DEPTH = _read.MAX_DEPTH
MAX_NODES = _read.MAX_VALUES
MAX_ALIASES = 1_000
MAX_ALIAS_NODES = 10_000

_use_c = LIBYAML


def use_libyaml(on: bool) -> None:
    """Use libyaml's C parser (the default where available) or force the pure-Python one."""
    global _use_c
    _use_c = on and LIBYAML


def using_libyaml() -> bool:
    """True when documents are parsed by libyaml."""
    return _use_c


class _Resolver(BaseResolver):
    """Tags of plain scalars by the YAML 1.2 core schema (no yes/no booleans, no sexagesimals, no dates)."""

    def tag(self, kind: type[Node], value: str | None, implicit: Any) -> str:
        tag: str = self.resolve(kind, value, implicit)  # type: ignore[no-untyped-call]
        return tag


_Resolver.yaml_implicit_resolvers = {}
for _tag, _pattern, _first in (
    ("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    ("tag:yaml.org,2002:int", r"^[-+]?(?:0|[1-9][0-9]*)$", "-+0123456789"),
    ("tag:yaml.org,2002:float", r"^[-+]?(?:[0-9]+\.[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?$", "-+0123456789."),
    ("tag:yaml.org,2002:null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
    ("tag:yaml.org,2002:merge", r"^(?:<<)$", ["<"]),
):
    _Resolver.add_implicit_resolver(_tag, re.compile(_pattern), list(_first))


class _EventSource(Protocol):
    def get_event(self) -> Event | None: ...

    def check_event(self, *choices: type[Event]) -> bool: ...


class _PyParser(Reader, Scanner, Parser):
    """PyYAML's pure-Python reader, scanner and parser: events only."""

    def __init__(self, text: str) -> None:
        Reader.__init__(self, text)
        Scanner.__init__(self)
        Parser.__init__(self)


class _Refused(yaml.MarkedYAMLError):
    """A document over one of the limits, with the place where it went over."""

    def __init__(self, mark: Any, message: str) -> None:
        super().__init__(problem=message, problem_mark=mark)


@dataclass
class _Open:
    node: CollectionNode
    anchor: str | None
    size: int = 1  # nodes in this subtree with every alias expanded
    key: Node | None = None  # a mapping's key waiting for its value


class _Composer:
    """Events to nodes, like PyYAML's Composer but iterative and counting depth and alias expansion."""

    def __init__(self, events: _EventSource) -> None:
        self.events = events
        self.resolver = _Resolver()
        self.anchors: dict[str, Node] = {}
        self.sizes: dict[str, int] = {}  # anchor -> expanded size of its node, once complete
        self.aliases = 0
        self.expanded = 0
        self.nodes = 0

    def single_document(self) -> Node | None:
        events = self.events
        events.get_event()  # stream start
        if events.check_event(StreamEndEvent):
            return None
        events.get_event()  # document start
        node = self.document()
        events.get_event()  # document end
        if not events.check_event(StreamEndEvent):
            extra: Any = events.get_event()
            raise ComposerError(None, None, "expected a single document, but found another (after ---)",
                                getattr(extra, "start_mark", None))
        return node

    def document(self) -> Node:
        stack: list[_Open] = []
        while True:
            event: Any = self.events.get_event()
            node: Node
            size = 1
            start = event.start_mark  # a yaml.Mark, or from libyaml a yaml._yaml.Mark: the same fields
            if not isinstance(event, SequenceEndEvent | MappingEndEvent):
                self.nodes += 1
                if self.nodes > MAX_NODES:
                    raise _Refused(start, f"more than {MAX_NODES:,} values in one document (scalars, lists and "
                                          "mappings)")
            if isinstance(event, ScalarEvent):  # the commonest event first
                tag = event.tag
                if tag is None or tag == "!":
                    tag = self.resolver.tag(ScalarNode, event.value, event.implicit)
                end: Any = event.end_mark
                node = ScalarNode(tag, event.value, start, end, style=event.style)
                if event.anchor is not None:
                    self.anchor(event.anchor, node, event)
                    self.sizes[event.anchor] = 1
            elif isinstance(event, AliasEvent):
                node, size = self.alias(event)
            elif isinstance(event, CollectionStartEvent):
                if len(stack) >= MAX_DEPTH:
                    raise _Refused(event.start_mark, f"nested more than {MAX_DEPTH} levels deep")
                mapping = isinstance(event, MappingStartEvent)
                kind: type[CollectionNode] = MappingNode if mapping else SequenceNode
                tag = event.tag
                if tag is None or tag == "!":
                    tag = self.resolver.tag(kind, None, event.implicit)
                collection = kind(tag, [], start, None, flow_style=event.flow_style)
                self.anchor(event.anchor, collection, event)
                stack.append(_Open(collection, event.anchor))
                continue
            elif isinstance(event, SequenceEndEvent | MappingEndEvent):
                done = stack.pop()
                node, size = done.node, done.size
                node.end_mark = event.end_mark
                if done.anchor is not None:
                    self.sizes[done.anchor] = size
            else:  # the parser yields only these events inside a document
                raise ComposerError(None, None, f"unexpected {type(event).__name__}", start)
            if not stack:
                return node
            parent = stack[-1]
            parent.size += size
            if isinstance(parent.node, MappingNode):
                if parent.key is None:
                    parent.key = node
                else:
                    parent.node.value.append((parent.key, node))
                    parent.key = None
            else:
                parent.node.value.append(node)

    def anchor(self, anchor: str | None, node: Node, event: Any) -> None:
        if anchor is None:
            return
        if anchor in self.anchors:
            first = self.anchors[anchor].start_mark
            raise ComposerError(None, None, f"found duplicate anchor {anchor!r} (first at line {first.line + 1})",
                                event.start_mark)
        self.anchors[anchor] = node

    def alias(self, event: Any) -> tuple[Node, int]:
        name = event.anchor
        if name not in self.anchors:
            raise ComposerError(None, None, f"found undefined alias {name!r}", event.start_mark)
        if name not in self.sizes:  # its node is still open: an alias inside the node it names
            raise _Refused(event.start_mark, f"the alias *{name} is inside the node it refers to (a recursive "
                                             "alias)")
        self.aliases += 1
        if self.aliases > MAX_ALIASES:
            raise _Refused(event.start_mark, f"more than {MAX_ALIASES:,} aliases (*name) in one document")
        size = self.sizes[name]
        self.expanded += size
        if self.expanded > MAX_ALIAS_NODES:
            raise _Refused(event.start_mark,
                           f"the aliases expand to more than {MAX_ALIAS_NODES:,} nodes (at *{name}); "
                           "an alias used many times inside other aliases grows exponentially")
        return self.anchors[name], size


class _Constructor(SafeConstructor):
    """SafeConstructor recording the position of every key, value and list item."""

    def __init__(self) -> None:
        super().__init__()
        self.positions: dict[int, tuple[Any, Any]] = {}
        self.duplicates: list[tuple[Any, str]] = []

    def construct_object(self, node: Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        except (ValueError, TypeError, KeyError, AttributeError, OverflowError) as error:
            # e.g. `!!int abc`, `!!bool maybe`, `!!timestamp x`, an integer of more than 4,300 digits
            message = str(error).split(":")[0] if isinstance(error, ValueError) else type(error).__name__
            raise ConstructorError(None, None, f"cannot read this {node.tag.rsplit(':', 1)[-1]} value "
                                               f"({message})", node.start_mark) from None


def _construct_map(loader: _Constructor, node: MappingNode) -> Iterator[dict[Any, Any]]:
    data: dict[Any, Any] = {}
    yield data
    loader.flatten_mapping(node)
    marks: dict[Any, tuple[Any, Any]] = {}
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


def _construct_seq(loader: _Constructor, node: SequenceNode) -> Iterator[list[Any]]:
    data: list[Any] = []
    yield data
    data.extend(loader.construct_object(child, deep=True) for child in node.value)
    loader.positions[id(data)] = (node.start_mark, [child.start_mark for child in node.value])


_Constructor.yaml_constructors = {**SafeConstructor.yaml_constructors, "tag:yaml.org,2002:map": _construct_map,
                                  "tag:yaml.org,2002:seq": _construct_seq}


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


def _events(text: str) -> _EventSource:
    return CParser(text) if _use_c else _PyParser(text)


def parse(text: str, file: str) -> tuple[Document | None, list[Problem]]:
    """Parse YAML text safely. Returns the document, or None and the problem that stopped it."""
    try:
        _read.check_characters(text, file, yaml=True)
    except _read.BadInput as error:
        return None, [error.problem]
    events = _events(text)
    constructor = _Constructor()
    try:
        node = _Composer(events).single_document()
        data = constructor.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        message = "; ".join(part for part in (error.context, error.problem) if part)
        if "exceeded maximum nesting depth" in message:  # libyaml's own limit (1,000 levels) came first
            message = f"nested more than {MAX_DEPTH} levels deep"
        elif not isinstance(error, _Refused):
            message = f"this is not valid YAML: {message}"
        if mark is None:
            return None, [Problem(file, 0, 0, message)]
        return None, [Problem(file, mark.line + 1, mark.column + 1, message)]
    except yaml.YAMLError as error:
        return None, [Problem(file, 0, 0, f"this is not valid YAML: {error}")]
    except RecursionError:  # not reached within the limits above; kept as a last guard
        return None, [Problem(file, 0, 0, f"nested more than {MAX_DEPTH} levels deep")]
    except (ValueError, TypeError, KeyError, IndexError, AttributeError) as error:  # a last guard, too
        return None, [Problem(file, 0, 0, f"this is not valid YAML: {error}")]
    finally:
        dispose = getattr(events, "dispose", None)
        if dispose is not None:
            dispose()
    problems = [Problem(file, m.line + 1, m.column + 1, msg) for m, msg in constructor.duplicates]
    return Document(file, data, constructor.positions), problems


def read(path: str | Path, limit: int = _read.MAX_PACK_BYTES, what: str = "a YAML") -> tuple[Document | None,
                                                                                              list[Problem]]:
    """Read and parse a YAML file (at most `limit` bytes of UTF-8); an unreadable file is a Problem."""
    try:
        text = _read.decode(_read.read_bytes(path, limit, what), str(path))
    except _read.BadInput as error:
        return None, [error.problem]
    return parse(text, str(path))
