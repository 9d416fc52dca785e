"""A corpus of histories for `rmfhc diff --behaviour`: files and folders, folders read recursively.

Two kinds of file are histories: a history (docs/history-format.md), and a case, `{"as_of": ..., "history":
{...}}` as in examples/cases/, whose placeholder authority "HOME" stands for the evaluating pack's own local
authority (so that one case is the same situation in every area). Anything else in a folder (a README, a
script, a malformed history) is skipped with a one-line note; reading never stops on it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import AwareDatetime, TypeAdapter, ValidationError

from ..errors import HistoryError
from ..models import History, load_history
from ..pack import Pack
from .base import ComparisonError

HOME = "HOME"
_SKIPPED_FOLDERS = frozenset({"__pycache__", "node_modules"})


def _mentions_home(data: Any) -> bool:
    if isinstance(data, dict):
        return any(_mentions_home(value) for value in data.values())
    if isinstance(data, list):
        return any(_mentions_home(value) for value in data)
    return bool(data == HOME)


def _localise(data: Any, authority: str) -> Any:
    if isinstance(data, dict):
        return {key: _localise(value, authority) for key, value in data.items()}
    if isinstance(data, list):
        return [_localise(value, authority) for value in data]
    return authority if data == HOME else data


@dataclass(slots=True)
class CorpusItem:
    """One history of the corpus: where it came from, its data, and for a case the moment it is read at."""

    label: str
    data: dict[str, Any]
    history: History  # as written ("HOME" left as it is)
    as_of: datetime | None = None
    _local: dict[str, History] = field(default_factory=dict)

    def history_for(self, pack: Pack) -> History:
        """The history for one pack: a case's "HOME" becomes the pack's first local authority."""
        if not _mentions_home(self.data) or not pack.meta.authorities:
            return self.history
        authority = pack.meta.authorities[0]
        if authority not in self._local:
            self._local[authority] = load_history(_localise(self.data, authority), self.label)
        return self._local[authority]


@dataclass(slots=True)
class Corpus:
    """The histories read, in order, and the files skipped with the reason."""

    items: list[CorpusItem]
    skipped: list[tuple[str, str]]


def _first_line(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else "not a history"
    return line if len(line) <= 160 else line[:159] + "…"


def read_item(path: Path) -> CorpusItem | str:
    """A history or case from a file, or the reason it is not one (one line)."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return "not a text file"
    except OSError as error:
        return f"cannot be read: {error.strerror}"
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return "not JSON"
    as_of = None
    if isinstance(data, dict) and isinstance(data.get("history"), dict) and set(data) <= {"history", "as_of"}:
        try:
            as_of = TypeAdapter(AwareDatetime).validate_python(data.get("as_of")) if "as_of" in data else None
        except ValidationError:
            return "a case whose as_of is not a timestamp with a UTC offset"
        data = data["history"]
    if not isinstance(data, dict):
        return "not a history (a history is a JSON object with child and episodes)"
    try:
        history = load_history(data, str(path))
    except HistoryError as error:
        return f"not a history: {_first_line(str(error)).removeprefix(f'{path}: ')}"
    return CorpusItem(str(path), data, history, as_of)


def _files(folder: Path) -> list[Path]:
    found = []
    for path in sorted(folder.rglob("*")):
        parts = path.relative_to(folder).parts
        if any(part.startswith(".") or part in _SKIPPED_FOLDERS for part in parts) or not path.is_file():
            continue
        found.append(path)
    return found


def read_corpus(names: Sequence[str | Path]) -> Corpus:
    """Histories from files and folders (folders recursively, in name order); other files skipped with a note.

    A name that does not exist is an error; so is a corpus with no history in it.
    """
    items: list[CorpusItem] = []
    skipped: list[tuple[str, str]] = []
    for name in names:
        path = Path(name)
        if path.is_dir():
            files = _files(path)
        elif path.is_file():
            files = [path]
        else:
            raise ComparisonError(f"{name}: no such history file or folder")
        for file in files:
            item = read_item(file)
            if isinstance(item, str):
                skipped.append((str(file), item))
            else:
                items.append(item)
    if not items:
        reason = f" ({len(skipped)} files skipped: none is a history)" if skipped else ""
        raise ComparisonError(f"no histories given (history or case JSON files, or folders of them){reason}")
    return Corpus(items, skipped)
