"""What the service answers: a status, a media type and a body; errors as one JSON line with the message."""

from __future__ import annotations

import json
from dataclasses import dataclass

from ..errors import RmfhcError

JSON = "application/json"
NDJSON = "application/x-ndjson"
CALENDAR = "text/calendar; charset=utf-8"


@dataclass(frozen=True, slots=True)
class Reply:
    """An answer made away from the event loop (in a worker process), ready to send."""

    status: int
    media_type: str
    body: bytes


class RequestError(RmfhcError):
    """Something wrong with a request itself (its shape, a key, a limit), with the HTTP status to answer."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def error_body(message: str) -> bytes:
    """`{"error": "..."}`: the library's message, as the command line prints it after `error:`.

    Where the library found several problems (a history with three bad fields: one line each), `error` is the
    first with a count of the rest, still one line, and `problems` lists every line.
    """
    lines = [line for line in message.splitlines() if line.strip()] or ["error"]
    data: dict[str, object] = {"error": lines[0]}
    if len(lines) > 1:
        data["error"] = f"{lines[0]} (and {len(lines) - 1} more problem{'s' if len(lines) > 2 else ''})"
        data["problems"] = lines
    return json.dumps(data, ensure_ascii=False).encode() + b"\n"


def error_reply(status: int, message: str) -> Reply:
    """A JSON error answer."""
    return Reply(status, JSON, error_body(message))
