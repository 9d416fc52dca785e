"""The service's parts without HTTP: the request reader, the answer of one job, batch lines, the worker pool."""

from __future__ import annotations

import asyncio
import json

import pytest

from conftest import ROOT
from rmfhc.service.batch import answer_line, lines_of
from rmfhc.service.handlers import Job, handle
from rmfhc.service.replies import Reply, error_body
from rmfhc.service.workers import WorkerPool

HISTORY = json.loads((ROOT / "examples" / "dorset_child_in_care.json").read_text(encoding="utf-8"))
BODY = json.dumps({"protocol": "dorset", "as_of": "2026-11-07T10:00Z", "history": HISTORY}).encode()


def test_handle_answers_json_and_ics() -> None:
    reply = handle(Job(BODY))
    assert reply.status == 200 and json.loads(reply.body)["protocol"] == "dorset"
    ics = handle(Job(BODY, "ics"))
    assert ics.status == 200 and ics.body.startswith(b"BEGIN:VCALENDAR") and ics.media_type.startswith("text/calendar")


def test_handle_takes_defaults_for_what_a_line_leaves_out() -> None:
    line = json.dumps({"history": HISTORY}).encode()
    reply = handle(Job(line, defaults={"protocol": "dorset", "as_of": "2026-11-08T10:00Z"}))
    assert json.loads(reply.body)["as_of"] == "2026-11-08T10:00:00+00:00"
    own = json.dumps({"history": HISTORY, "as_of": "2026-11-09T10:00Z"}).encode()
    assert json.loads(handle(Job(own, defaults={"protocol": "dorset", "as_of": "2026-11-08T10:00Z"})).body)[
        "as_of"].startswith("2026-11-09")


def test_several_problems_are_one_line_and_a_list() -> None:
    data = json.loads(error_body("history: a: wrong\nhistory: b: wrong\nhistory: c: wrong"))
    assert data == {"error": "history: a: wrong (and 2 more problems)",
                    "problems": ["history: a: wrong", "history: b: wrong", "history: c: wrong"]}
    assert json.loads(error_body("one")) == {"error": "one"}


def test_batch_lines_are_numbered_as_in_the_input() -> None:
    assert lines_of(b'{"a":1}\n\n  \r\n{"b":2}\r\n') == [(1, b'{"a":1}'), (4, b'{"b":2}\r')]
    assert answer_line(3, Reply(200, "application/json", b'{"x":1}\n')) == b'{"line":3,"evaluation":{"x":1}}\n'
    bad = json.loads(answer_line(4, Reply(400, "application/json", error_body("nope"))))
    assert bad == {"line": 4, "status": 400, "error": "nope"}


def test_the_pool_answers_and_refuses_work_past_a_batch_deadline() -> None:
    async def scenario() -> tuple[Reply, Reply, int]:
        pool = WorkerPool(1, time_limit=30)
        await pool.start()
        try:
            done = await pool.run(Job(BODY))
            late = await pool.run(Job(BODY), deadline=asyncio.get_running_loop().time() - 1)
            return done, late, pool.alive()
        finally:
            await pool.stop()

    done, late, alive = asyncio.run(scenario())
    assert done.status == 200 and alive == 1
    assert late.status == 422 and b"batch's time limit ran out" in late.body


@pytest.mark.parametrize("body", [b"{", b"[]", b'{"protocol": "dorset"}', b'{"protocol": "../x"}'])
def test_handle_never_raises(body: bytes) -> None:
    assert 400 <= handle(Job(body)).status < 500
