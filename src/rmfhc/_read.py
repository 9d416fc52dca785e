"""Reading input safely: bounded size, UTF-8 only, no control characters, bounded JSON nesting.

Every problem is a `BadInput` carrying one `Problem` (file, line and column where known, a plain message);
the callers turn it into their own error (PackError, HistoryError, ScenarioError). The limits, chosen to be
far above any real pack or history and far below what would exhaust a machine, are documented in
docs/pack-format.md and docs/history-format.md:

- a pack, a vocabulary or a scenario file: at most 10 MB (the largest shipped pack is about 0.1 MB);
- a history: at most 20 MB and 20,000 episodes (a child's real history is a few hundred episodes at most, a
  few hundred kilobytes; at these limits the worst history is refused in about a second and 200 MB, where 50 MB
  of small episodes would take 450 MB just to parse before the count could refuse it);
- nesting: at most 64 levels of lists and mappings (a pack's deepest condition is about 12 levels; JSON and
  YAML are read without recursion beyond that);
- values: at most 100,000 in a YAML document (its nodes), and 1,000,000 in a JSON history (its items: scalars,
  lists and mappings). The largest shipped pack has about 3,000 and a real history a few thousand; a history
  of 20,000 episodes has about 800,000. The limit bounds the work on a file that is wrong everywhere:
  validation could report a problem per value, at about 2 KB each, so a pack is refused beyond 100,000 values
  and a long history is validated an episode at a time, stopping after 20 problems.
"""

from __future__ import annotations

import json
import re
import sys
from itertools import accumulate
from pathlib import Path
from typing import Any, NoReturn

from .errors import Problem, RmfhcError, wrong_type

MB = 1024 * 1024
MAX_PACK_BYTES = 10 * MB
MAX_HISTORY_BYTES = 20 * MB
MAX_EPISODES = 20_000
MAX_DEPTH = 64
MAX_VALUES = 100_000
MAX_HISTORY_VALUES = 1_000_000  # 20,000 episodes of about 40 values each; validation stops after 20 problems
STDIN = "-"


class BadInput(RmfhcError):
    """Input that cannot be read: too large, not UTF-8, binary, nested too deeply, not valid JSON."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        super().__init__(str(problem))


def _size(count: int) -> str:
    return f"{count / MB:.1f} MB" if count >= MB // 10 else f"{count:,} bytes"


def source_name(source: str | Path) -> str:
    """How a file is named in messages: its path as given, or <stdin> for `-`."""
    return "<stdin>" if str(source) == STDIN else str(source)


def read_bytes(source: str | Path, limit: int, what: str, *, stdin: bool = False) -> bytes:
    """The bytes of a file (or of standard input for `-` when `stdin`), refused beyond `limit` bytes."""
    if not isinstance(source, str | Path):
        raise wrong_type("read", "the path", "a path (str or pathlib.Path)", source)
    name = source_name(source) if stdin else str(source)
    try:
        if stdin and str(source) == STDIN:
            if sys.stdin is None:
                raise BadInput(Problem(name, 0, 0, "there is no standard input to read"))
            data = sys.stdin.buffer.read(limit + 1)
        else:
            path = Path(source)
            if path.is_dir():
                raise BadInput(Problem(name, 0, 0, f"this is a folder, not {what} file"))
            size = path.stat().st_size
            if size > limit:  # refused before reading (a regular file's size is known)
                raise BadInput(Problem(name, 0, 0, _too_large(size, limit, what)))
            with path.open("rb") as handle:
                data = handle.read(limit + 1)  # devices and pipes have no size: read one byte past the limit
    except OSError as error:
        reason = "no such file" if isinstance(error, FileNotFoundError) else (error.strerror or str(error))
        raise BadInput(Problem(name, 0, 0, f"cannot read the file: {reason}")) from None
    except ValueError as error:  # a NUL byte in the path, standard input closed
        raise BadInput(Problem(name, 0, 0, f"cannot read the file: {error}")) from None
    if len(data) > limit:
        raise BadInput(Problem(name, 0, 0, _too_large(len(data), limit, what, at_least=True)))
    return data


def _too_large(size: int, limit: int, what: str, at_least: bool = False) -> str:
    more = "more than " if at_least else ""
    return f"{more}{_size(size)} is too large for {what} file (the limit is {_size(limit)})"


_BOMS = ((b"\xff\xfe\x00\x00", "UTF-32"), (b"\x00\x00\xfe\xff", "UTF-32"), (b"\xff\xfe", "UTF-16"),
         (b"\xfe\xff", "UTF-16"))


def position(text: str, offset: int) -> tuple[int, int]:
    """1-based line and column of a character offset in text."""
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def decode(data: bytes, name: str) -> str:
    """UTF-8 text from bytes (a UTF-8 byte-order mark is allowed); another encoding is named and refused."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            _refuse(name, f"not UTF-8 text: it is {encoding} (it starts with a {encoding} byte-order mark); "
                                 "save the file as UTF-8")
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    head = data[:64]
    if len(head) >= 4 and any(half.count(0) * 4 >= len(half) * 3 for half in (head[0::2], head[1::2])):
        _refuse(name, "not UTF-8 text: it looks like UTF-16 without a byte-order mark (every other byte is 0); "
                      "save the file as UTF-8")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        start = error.start
        before = data[:start].decode("utf-8", "replace")
        line, column = position(before, len(before))
        hint = ""
        try:
            data.decode("cp1252")
            hint = " (it looks like Latin-1 or Windows-1252)"
        except UnicodeDecodeError:
            pass
        raise BadInput(Problem(name, line, column, f"not UTF-8 text: byte 0x{data[start]:02x} at offset {start}"
                                                   f"{hint}; save the file as UTF-8")) from None


def _refuse(name: str, message: str) -> NoReturn:
    raise BadInput(Problem(name, 0, 0, message))


# Characters YAML does not allow in a file (the YAML 1.1 printable set PyYAML and libyaml enforce), and those
# JSON allows nowhere unescaped. NUL gets its own message: it usually means a binary file or UTF-16.
_NOT_YAML = re.compile("[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_NOT_JSON = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")


def check_characters(text: str, name: str, *, yaml: bool) -> None:
    """Refuse a NUL byte or another control character, naming its line and column."""
    found = (_NOT_YAML if yaml else _NOT_JSON).search(text)
    if found is None:
        return
    line, column = position(text, found.start())
    code = ord(found.group())
    if code == 0:
        message = "a NUL byte is not allowed in a text file (is this a binary file?); save the file as UTF-8 text"
    else:
        message = (f"the control character U+{code:04X} is not allowed in {'YAML' if yaml else 'JSON'} "
                   "(write it as an escape inside a quoted string, or remove it)")
    raise BadInput(Problem(name, line, column, message))


def read_text(source: str | Path, limit: int, what: str, *, yaml: bool, stdin: bool = False) -> str:
    """A file's text: bounded size, UTF-8, no control characters."""
    name = source_name(source) if stdin else str(source)
    text = decode(read_bytes(source, limit, what, stdin=stdin), name)
    check_characters(text, name, yaml=yaml)
    return text


# JSON nesting is measured on the text before parsing (json.loads recurses once per level): strings are
# skipped, brackets counted. Only when a document is too deep is it scanned again, to name the place. A string
# runs to its closing quote or, unterminated, to the end of the text; the quantifiers are possessive, so that
# no input (such as one quote followed by a million escaped quotes) makes the scan quadratic.
_STRING = r'"(?:[^"\\]++|\\.)*+(?:"|\\?\Z)'
_STRINGS = re.compile(_STRING, re.DOTALL)
_STRINGS_OR_STRUCTURE = re.compile(_STRING + r"|[\[\]{},]", re.DOTALL)
_NOT_STRUCTURE = re.compile(r"[^\[\]{},]+")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1, ",": 0}


def _json_shape(text: str) -> tuple[int, int]:
    """The nesting depth and the number of items (values in lists, entries in mappings, the lists and
    mappings themselves) of JSON text, counted in C loops even for 20 MB."""
    opened = text.count("[") + text.count("{")
    estimate = opened + text.count(",") + 1  # at least the true counts (brackets and commas in strings too)
    if opened <= MAX_DEPTH and estimate <= MAX_VALUES:  # the common case, settled without a regex
        return opened, estimate
    structure = _NOT_STRUCTURE.sub("", _STRINGS.sub("", text))
    depth = max(accumulate(map(_STEP.__getitem__, structure)), default=0)
    return depth, structure.count(",") + structure.count("[") + structure.count("{") + 1


def _place_of(text: str, depth_limit: int, items_limit: int) -> tuple[int, int]:
    """Where JSON text first goes deeper than `depth_limit` or has more than `items_limit` items."""
    depth = 0
    items = 1
    for match in _STRINGS_OR_STRUCTURE.finditer(text):
        char = match.group()
        if char in "[{,":
            items += 1
            if char != ",":
                depth += 1
            if depth > depth_limit or items > items_limit:
                return position(text, match.start())
        elif char in "]}":
            depth -= 1
    return 0, 0


def load_json(text: str, name: str, max_depth: int = MAX_DEPTH, max_items: int = MAX_VALUES) -> Any:
    """Parse JSON text; refuse nesting deeper than `max_depth` or more than `max_items` items, naming the
    place of every problem."""
    depth, items = _json_shape(text)
    if depth > max_depth:
        line, column = _place_of(text, max_depth, items)
        raise BadInput(Problem(name, line, column, f"nested more than {max_depth} levels deep"))
    if items > max_items:
        line, column = _place_of(text, max_depth, max_items)
        raise BadInput(Problem(name, line, column, f"more than {max_items:,} values in one file (lists, mappings "
                                                   "and the items in them)"))
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise BadInput(Problem(name, error.lineno, error.colno, f"not valid JSON: {error.msg}")) from None
    except (ValueError, RecursionError) as error:  # an integer of more than 4,300 digits
        raise BadInput(Problem(name, 0, 0, f"not valid JSON: {error}")) from None
