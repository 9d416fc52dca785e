"""OpenAPI-driven fuzzing: schemathesis generates requests from the service's own OpenAPI document, valid and
invalid, for every operation, and sends them to a real `rmfhc serve` on 127.0.0.1. No answer may be a 5xx, and
every error is `{"error": "<one line>"}`.

Bounded to stay well under a minute: a few dozen examples per operation, without shrinking.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings

from rmfhc.service import Settings, create_app
from serving import running

SCHEMA = schemathesis.openapi.from_dict(create_app(Settings(workers=1)).openapi())


@schemathesis.serializer("application/x-ndjson")
def ndjson(context: schemathesis.SerializationContext, value: Any) -> dict[str, Any]:
    """A batch body: generated strings as they are, anything else as one JSON line."""
    text = value if isinstance(value, str) else json.dumps(value)
    return {"data": text.encode("utf-8", errors="surrogatepass")}


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with running("--workers", "2", "--time-limit", "5") as base:
        yield base


@SCHEMA.parametrize()
@settings(max_examples=25, deadline=None, derandomize=True, phases=[Phase.explicit, Phase.generate],
          suppress_health_check=list(HealthCheck))
def test_no_request_gets_a_server_error(case: schemathesis.Case, url: str) -> None:
    response = case.call(base_url=url, timeout=30)
    assert response.status_code < 500, (case.method, case.path, case.body, response.text[:500])
    if response.status_code >= 400:
        data = response.json()
        assert set(data) <= {"error", "problems"} and "\n" not in data["error"], response.text[:500]
