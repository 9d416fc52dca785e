"""The body of `POST /evaluate` (and of each line of `POST /batch`): read, checked, and turned into inputs.

The body is read here, in a worker process, with the library's own readers, so that a bad history or
timestamp is refused in the command line's words: `history: episodes.0.last_seen_at: this timestamp has no
UTC offset; ...`. The pydantic model `EvaluateBody` only describes the body for the OpenAPI document.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from ..errors import EvaluationError
from ..inputs import parse_as_of
from ..models import History, load_history
from ..pack import Pack
from .protocols import known_pack, uploaded_pack
from .replies import RequestError

KEYS = ("protocol", "as_of", "history", "explain", "rule_text", "pack")


class EvaluateBody(BaseModel):
    """A request to evaluate one child's history against a protocol at a moment."""

    model_config = ConfigDict(extra="forbid", title="EvaluateRequest")

    protocol: str = Field(description="a known protocol's name (GET /protocols); never a path",
                          pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$", examples=["dorset"])
    as_of: AwareDatetime = Field(description="the moment, with a UTC offset", examples=["2026-11-07T10:00:00Z"])
    history: History = Field(description="the child and their episodes (docs/history-format.md)")
    explain: bool = Field(False, description="say why each duty is in its state")
    rule_text: bool = Field(False, description="write each duty's title, clause and quote")
    pack: str | None = Field(None, description="a pack's YAML, evaluated instead of a known protocol; refused "
                                               "(403) unless the server was started with --allow-pack-upload")


@dataclass(frozen=True, slots=True)
class EvaluateRequest:
    """A checked request: the pack, the history and the moment, and how to write the answer."""

    pack: Pack
    history: History
    as_of: datetime
    explain: bool = False
    rule_text: bool = False


def parse_json(body: bytes, source: str = "request") -> Any:
    """The body as JSON; RequestError naming line and column as the command line does for a file
    (`request:1:2: not valid JSON: ...`), or the column of a batch's line (`line 4, column 2: ...`)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise RequestError(f"{source}: not UTF-8 text (byte {error.start + 1})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        place = (f"{source}, column {error.colno}" if source.startswith("line ")
                 else f"{source}:{error.lineno}:{error.colno}")
        raise RequestError(f"{place}: not valid JSON: {error.msg}") from None
    except RecursionError:
        raise RequestError(f"{source}: nested too deeply to read") from None


def _flag(data: Mapping[str, Any], key: str) -> bool:
    value = data.get(key, False)
    if not isinstance(value, bool):
        raise RequestError(f"{key}: must be true or false")
    return value


def _pack(data: Mapping[str, Any], allow_upload: bool) -> Pack:
    text = data.get("pack")
    if text is None:
        if "protocol" not in data:
            raise RequestError("protocol: required, the name of a known protocol such as 'dorset'")
        return known_pack(data["protocol"])
    if not allow_upload:
        raise RequestError("pack: this server does not take packs in requests (start it with "
                           "--allow-pack-upload); name a known protocol instead", status=403)
    if not isinstance(text, str):
        raise RequestError("pack: must be the pack's YAML text")
    pack = uploaded_pack(text)
    named = data.get("protocol")
    if named is not None and named != pack.id:
        raise RequestError(f"protocol: '{str(named)[:80]}' is not the id of the pack sent ('{pack.id}')")
    return pack


def read_request(data: Any, defaults: Mapping[str, str] | None = None,
                 allow_upload: bool = False) -> EvaluateRequest:
    """Check a parsed body; `defaults` fills `protocol` and `as_of` where a batch line leaves them out."""
    if not isinstance(data, dict):
        raise RequestError("request: must be a JSON object with protocol, as_of and history")
    unknown = [key for key in data if key not in KEYS]
    if unknown:
        raise RequestError(f"request: '{str(unknown[0])[:80]}' is not a key here; use {', '.join(KEYS)}")
    data = {**(defaults or {}), **data}
    pack = _pack(data, allow_upload)
    as_of = data.get("as_of")
    if not isinstance(as_of, str):
        raise RequestError("as_of: required, a timestamp with a UTC offset such as 2026-11-07T10:00Z")
    try:
        moment = parse_as_of(as_of)
    except EvaluationError as error:
        raise EvaluationError(f"as_of: {error}") from None
    if "history" not in data:
        raise RequestError("history: required, the child and their episodes (docs/history-format.md)")
    history = load_history(data["history"], "history")
    return EvaluateRequest(pack, history, moment, _flag(data, "explain"), _flag(data, "rule_text"))
