"""`POST /batch`: JSON lines in, JSON lines out, in the same order, every line answered.

Each line is a request object as for `POST /evaluate`; `protocol` and `as_of` may be left out of a line when
the query string gives them. Each answer line names its input line: `{"line": 3, "evaluation": {...}}`, or
`{"line": 4, "status": 400, "error": "..."}` for a bad line, which never stops the batch. Blank lines are
skipped (and still counted, so line numbers are those of the input).
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import AsyncIterator, Mapping

from .handlers import Job
from .replies import Reply
from .workers import WorkerPool


def lines_of(body: bytes) -> list[tuple[int, bytes]]:
    """The non-blank lines of a body, each with its 1-based line number."""
    return [(number, line) for number, line in enumerate(body.split(b"\n"), 1) if line.strip()]


def answer_line(number: int, reply: Reply) -> bytes:
    """One output line: the evaluation as `POST /evaluate` answers it, or the error, with the line number."""
    if reply.status == 200:
        return b'{"line":%d,"evaluation":%s}\n' % (number, reply.body.rstrip(b"\n"))
    return json.dumps({"line": number, "status": reply.status, **json.loads(reply.body)},
                      ensure_ascii=False).encode() + b"\n"


async def answers(pool: WorkerPool, lines: list[tuple[int, bytes]], defaults: Mapping[str, str],
                  allow_upload: bool, seconds: float) -> AsyncIterator[bytes]:
    """Evaluate the lines in the pool's workers, a few ahead, and yield the answers in input order."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    ahead = 2 * pool.size
    window: deque[tuple[int, asyncio.Task[Reply]]] = deque()
    try:
        for number, line in lines:
            job = Job(line, "json", dict(defaults), allow_upload, f"line {number}")
            window.append((number, asyncio.ensure_future(pool.run(job, deadline))))
            if len(window) >= ahead:
                first, task = window.popleft()
                yield answer_line(first, await task)
        while window:
            first, task = window.popleft()
            yield answer_line(first, await task)
    finally:  # the client went away: abandon what is still running
        for _, task in window:
            task.cancel()
