"""Reading the moment of an evaluation from text, with the same one-line messages everywhere it is given.

The command line (`--as-of`) and the HTTP service (`"as_of"`) both read it here, so a naive or malformed
timestamp is refused in the same words by both.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import TypeAdapter, ValidationError

from .dates import without_offset
from .errors import EvaluationError

_MOMENT: TypeAdapter[datetime] = TypeAdapter(datetime)


def parse_as_of(text: str) -> datetime:
    """A timestamp with a UTC offset (`2026-11-07T10:00Z`, `...+01:00`); EvaluationError in one line otherwise."""
    try:
        moment = _MOMENT.validate_python(text)
    except ValidationError:
        raise EvaluationError(f"'{text}' is not a timestamp such as 2026-11-07T10:00Z") from None
    if moment.tzinfo is None:
        raise EvaluationError(without_offset(text))
    return moment
