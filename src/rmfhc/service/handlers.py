"""The work behind `POST /evaluate`, `/evaluate.ics` and each batch line: body in, answer out.

`handle(job)` is a plain function of its job, run in a worker process (rmfhc.service.workers) so that a
request over its time limit can be stopped. It answers every mistake in the request with a 4xx and the
library's one-line message, never with an exception.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from ..errors import RmfhcError
from ..evaluate import evaluate
from .replies import CALENDAR, JSON, Reply, RequestError, error_reply
from .requests import EvaluateRequest, parse_json, read_request

Format = Literal["json", "ics"]


@dataclass(frozen=True, slots=True)
class Job:
    """One evaluation to do: the request body as sent, the answer's format, and the batch's defaults."""

    body: bytes
    format: Format = "json"
    defaults: Mapping[str, str] = field(default_factory=dict)
    allow_upload: bool = False
    source: str = "request"  # how a JSON error names the body: "request", or a batch's "line 4"


def answer(request: EvaluateRequest, form: Format) -> Reply:
    """Evaluate a checked request and write the result: the command line's JSON, or iCalendar."""
    result = evaluate(request.pack, request.history, request.as_of, explain=request.explain)
    if form == "ics":
        from ..calendar import to_ical  # imported on first use: icalendar is needed only here

        return Reply(200, CALENDAR, to_ical(result, request.history.child.id))
    out = io.StringIO()
    result.write_json(out, rule_text=request.rule_text)
    return Reply(200, JSON, out.getvalue().encode())


def handle(job: Job) -> Reply:
    """Answer one job; a bad request is a 4xx with its one-line message, never an exception."""
    try:
        request = read_request(parse_json(job.body, job.source), job.defaults, job.allow_upload)
        return answer(request, job.format)
    except RequestError as error:
        return error_reply(error.status, str(error))
    except RmfhcError as error:
        return error_reply(400, str(error))
    except RecursionError:
        return error_reply(400, "request: nested too deeply to evaluate")
