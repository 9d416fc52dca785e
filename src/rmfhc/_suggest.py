"""'Did you mean ...?' for misspelt keys, names and phrases, and the keys a pydantic model allows at a place.

Suggestions come from difflib.get_close_matches against the allowed names, so they are only ever names that
exist. Used by pack validation and by scenario files.
"""

from __future__ import annotations

import difflib
import re
import types
from collections.abc import Iterable, Sequence
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel

from .dates import Unit

_LONGEST = 200  # no name is longer; comparing a long text with every name would only cost time


def did_you_mean(word: object, choices: Iterable[str]) -> str:
    """'; did you mean 'x'?' for the allowed name closest to `word`, or '' when none is close."""
    if not isinstance(word, str) or not word or len(word) > _LONGEST:
        return ""
    options = sorted({choice for choice in choices if isinstance(choice, str)})
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    if not close:  # a different case or separator: Child.Looked-After
        folded = {re.sub(r"[\s_-]+", "_", option.lower()): option for option in options}
        close = [folded[match] for match in difflib.get_close_matches(
            re.sub(r"[\s_-]+", "_", word.lower()), list(folded), n=1, cutoff=0.8)]
    return f"; did you mean '{close[0]}'?" if close and close[0] != word else ""


def quoted(text: str) -> list[str]:
    """The 'quoted' words of a message, such as pydantic's list of allowed enum values."""
    return re.findall(r"'([^']*)'", text)


_UNITS = sorted({unit.value for unit in Unit} | {unit.value[:-1] for unit in Unit}
                | {"calendar day", "calendar days", "calendar month", "calendar months"})
_AMOUNT = re.compile(r"^\s*(?P<prefix>within\s+)?(?P<amount>\d+)\s*(?P<unit>.*?)\s*$", re.IGNORECASE)
_PHRASES = ("immediately", "as soon as possible", "as soon as practicable", "next working day")


def duration_suggestion(text: object, deadline: bool = False) -> str:
    """'; did you mean '24 hours'?' for a misspelt duration ('24 hourz'), or 'within 24 hours' for a deadline."""
    if not isinstance(text, str) or len(text) > _LONGEST:
        return ""
    match = _AMOUNT.match(text)
    if match is None:
        return did_you_mean(text.strip().lower(), _PHRASES) if deadline else ""
    unit = match.group("unit").lower()
    close = difflib.get_close_matches(unit, _UNITS, n=1, cutoff=0.6)
    if not close:
        return ""
    amount = int(match.group("amount"))
    word = close[0].removesuffix("s") if amount == 1 else close[0] if close[0].endswith("s") else close[0] + "s"
    prefix = "within " if deadline else ""
    suggestion = f"{prefix}{amount} {word}"
    return f"; did you mean '{suggestion}'?" if suggestion != text.strip() else ""


def _alternatives(annotation: Any) -> list[Any]:
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        return [alt for arg in get_args(annotation) if arg is not type(None) for alt in _alternatives(arg)]
    if origin is Annotated:
        return _alternatives(get_args(annotation)[0])
    return [annotation]


def _is_model(candidate: Any) -> bool:
    return isinstance(candidate, type) and issubclass(candidate, BaseModel)


def _step(annotation: Any, part: int | str) -> Any:
    for candidate in _alternatives(annotation):
        if _is_model(candidate) and isinstance(part, str):
            for name, info in candidate.model_fields.items():
                if part in (name, info.alias):
                    return info.annotation
        origin = get_origin(candidate)
        if origin in (tuple, list) and isinstance(part, int):
            return get_args(candidate)[0]
        if origin is dict and isinstance(part, str):
            return get_args(candidate)[1]
    return None


def keys_at(model: type[BaseModel], loc: Sequence[int | str]) -> list[str]:
    """The keys (aliases where they have one) allowed in the mapping at `loc` inside `model`."""
    annotation: Any = model
    for part in loc:
        annotation = _step(annotation, part)
        if annotation is None:
            return []
    for candidate in _alternatives(annotation):
        if _is_model(candidate):
            return [info.alias or name for name, info in candidate.model_fields.items()]
    return []
