"""The HTTP service, over real HTTP: a `rmfhc serve` subprocess on 127.0.0.1 and httpx.

Every endpoint, every kind of bad input (answered 4xx with the command line's one-line message, never 5xx),
the limits (body size, time, with the worker stopped and replaced), and pack upload only when allowed.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from conftest import PACK_NAMES, PROTOCOLS, ROOT
from rmfhc import __version__, available_protocols, load_protocol
from rmfhc.cli import main
from serving import running

EXAMPLE = ROOT / "examples" / "dorset_child_in_care.json"
HISTORY: dict[str, Any] = json.loads(EXAMPLE.read_text(encoding="utf-8"))
AS_OF = "2026-11-07T10:00Z"
BODY = {"protocol": "dorset", "as_of": AS_OF, "history": HISTORY}


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    """A server with a small body limit (1 MB), so that the limit is cheap to test."""
    with running("--workers", "2", "--max-body-mb", "1") as base:
        yield base


@pytest.fixture(scope="module")
def client(url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=url, timeout=30) as session:
        yield session


@pytest.fixture(scope="module")
def open_url() -> Iterator[str]:
    """A server that takes packs in requests, with a 1 s time limit."""
    with running("--workers", "2", "--allow-pack-upload", "--time-limit", "1") as base:
        yield base


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def cli_message(capsys: pytest.CaptureFixture[str], tmp_path: Path, history: object,
                as_of: str = AS_OF, protocol: str = "dorset") -> str:
    """What the command line says after 'error:' for the same input."""
    path = tmp_path / "h.json"
    path.write_text(history if isinstance(history, str) else json.dumps(history), encoding="utf-8")
    try:
        code, _, err = cli(capsys, "evaluate", "-p", protocol, "--as-of", as_of, str(path))
    except SystemExit:  # argparse refuses --as-of itself
        err = capsys.readouterr().err.strip().splitlines()[-1]
        return err.split("error: ", 1)[1].removeprefix("argument --as-of: ")
    assert code == 2
    return err.strip().split("error: ", 1)[1].replace(str(path), "FILE")


def error_of(response: httpx.Response) -> str:
    assert 400 <= response.status_code < 500, (response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/json")
    data = response.json()
    assert set(data) == {"error"}
    message: str = data["error"]
    assert message and "\n" not in message and "Traceback" not in message
    return message


# ---------------------------------------------------------------------------------------------------------
# Endpoints


def test_health(client: httpx.Client) -> None:
    data = client.get("/health").json()
    assert data["status"] == "ok" and data["engine"] == {"name": "rmfhc", "version": __version__}
    assert data["workers"] == 2 and data["protocols"] == available_protocols()
    assert data["limits"] == {"max_body_bytes": 1024 * 1024, "time_limit_seconds": 10.0,
                              "batch_time_limit_seconds": 120.0}
    assert data["pack_upload"] is False


@pytest.mark.parametrize("options", [(), ("--explain", "--rule-text")])
def test_evaluate_answers_what_the_command_line_writes(client: httpx.Client, capsys: pytest.CaptureFixture[str],
                                                       options: tuple[str, ...]) -> None:
    flags = {"explain": "--explain" in options, "rule_text": "--rule-text" in options}
    response = client.post("/evaluate", json={**BODY, **flags})
    assert response.status_code == 200 and response.headers["content-type"] == "application/json"
    code, out, _ = cli(capsys, "evaluate", "-p", "dorset", "--as-of", AS_OF, str(EXAMPLE), "--format", "json",
                       *options)
    assert code == 0
    assert response.text == out


def test_evaluate_ics_is_a_calendar(client: httpx.Client) -> None:
    response = client.post("/evaluate.ics", json=BODY)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/calendar")
    assert response.text.startswith("BEGIN:VCALENDAR") and "BEGIN:VEVENT" in response.text


def test_evaluate_ics_is_what_the_command_line_writes(client: httpx.Client,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = cli(capsys, "evaluate", "-p", "dorset", "--as-of", AS_OF, str(EXAMPLE), "--format", "ics")
    assert client.post("/evaluate.ics", json=BODY).text == out


def test_evaluate_ics_refuses_bad_input_in_the_same_words(client: httpx.Client) -> None:
    assert "no protocol called 'narnia'" in error_of(client.post("/evaluate.ics", json={**BODY, "protocol": "narnia"}))


def batch(client: httpx.Client, lines: list[str], **params: str) -> list[dict[str, Any]]:
    response = client.post("/batch", content="\n".join(lines).encode(), params=params,
                           headers={"content-type": "application/x-ndjson"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/x-ndjson")
    return [json.loads(line) for line in response.text.splitlines()]


def test_batch_answers_every_line_in_order_and_a_bad_line_does_not_stop_it(client: httpx.Client) -> None:
    good = json.dumps(BODY)
    naive = {"child": {"date_of_birth": "2011-05-02"},
             "episodes": [{"id": "E1", "kind": "missing", "last_seen_at": "2026-11-02T09:00"}]}
    lines = [good, "{not json", "", json.dumps({"history": HISTORY}), json.dumps({**BODY, "history": naive}),
             json.dumps({**BODY, "protocol": "narnia"}), "   ", json.dumps({**BODY, "as_of": "yesterday"}), good]
    answers = batch(client, lines, protocol="dorset", as_of="2026-11-08T10:00Z")
    assert [a["line"] for a in answers] == [1, 2, 4, 5, 6, 8, 9]
    expected = client.post("/evaluate", json=BODY).json()
    assert answers[0] == {"line": 1, "evaluation": expected} and answers[-1]["evaluation"] == expected
    # Line 4 takes protocol and as_of from the query.
    assert answers[2]["evaluation"]["as_of"] == "2026-11-08T10:00:00+00:00"
    bad = {a["line"]: a for a in answers if "error" in a}
    assert set(bad) == {2, 5, 6, 8} and all(b["status"] == 400 and set(b) == {"line", "status", "error"}
                                            for b in bad.values())
    assert bad[2]["error"].startswith("line 2, column 2: not valid JSON")
    assert bad[5]["error"].endswith("episodes.0.last_seen_at: '2026-11-02T09:00' has no UTC offset: write "
                                    "2026-11-02T09:00:00+00:00 if it is London time, or 2026-11-02T09:00:00Z if it "
                                    "is UTC")
    assert "no protocol called 'narnia'" in bad[6]["error"]
    assert bad[8]["error"] == "as_of: 'yesterday' is not a timestamp such as 2026-11-07T10:00Z"


def test_batch_of_many_lines_keeps_the_order(client: httpx.Client) -> None:
    lines = [json.dumps({**BODY, "as_of": f"2026-11-{day:02d}T10:00Z"}) for day in range(6, 26)]
    answers = batch(client, lines)
    assert [a["line"] for a in answers] == list(range(1, 21))
    assert [a["evaluation"]["as_of"][:10] for a in answers] == [f"2026-11-{d:02d}" for d in range(6, 26)]


def test_batch_refuses_a_bad_query_or_an_empty_body(client: httpx.Client) -> None:
    naive = client.post("/batch", content=json.dumps(BODY), params={"as_of": "2026-11-07T10:00"})
    assert error_of(naive) == ("as_of: '2026-11-07T10:00' has no UTC offset: write 2026-11-07T10:00:00+00:00 if it is "
                               "London time, or 2026-11-07T10:00:00Z if it is UTC")
    assert "not a protocol name" in error_of(client.post("/batch", content=json.dumps(BODY),
                                                         params={"protocol": "../protocols/dorset.yaml"}))
    assert error_of(client.post("/batch", content=b"\n  \n")).startswith("batch: no lines")


def test_protocols_list_metadata_version_and_hash(client: httpx.Client) -> None:
    listed = client.get("/protocols").json()
    assert [p["id"] for p in listed] == sorted(PACK_NAMES)
    for entry in listed:
        pack = load_protocol(entry["id"])
        assert entry["version"] == pack.meta.version and entry["area"] == pack.meta.area
        assert entry["sha256"] == hashlib.sha256((PROTOCOLS / f"{entry['id']}.yaml").read_bytes()).hexdigest()
        assert entry["rule_count"] == len(pack.rules)


@pytest.mark.parametrize("name", PACK_NAMES)
def test_protocol_detail_lists_every_rule(client: httpx.Client, name: str) -> None:
    data = client.get(f"/protocols/{name}").json()
    pack = load_protocol(name)
    assert data["id"] == name and data["sha256"] == pack.content_hash
    assert [(r["id"], r["duty"], r["title"], r["section"]) for r in data["rules"]] == [
        (r.id, r.duty, r.title, r.source.section) for r in pack.rules]


@pytest.mark.parametrize("path", ["/protocols/narnia", "/protocols/..%2Fprotocols%2Fdorset.yaml",
                                  "/protocols/dorset.yaml", "/schema/narnia", "/nowhere"])
def test_unknown_resources_are_404_with_a_message(client: httpx.Client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    error_of(response)


def test_wrong_method_is_405_with_a_message(client: httpx.Client) -> None:
    response = client.get("/evaluate")
    assert response.status_code == 405 and error_of(response)


@pytest.mark.parametrize("what", ["history", "pack", "evaluation"])
def test_schema_is_what_the_command_line_prints(client: httpx.Client, capsys: pytest.CaptureFixture[str],
                                                what: str) -> None:
    _, out, _ = cli(capsys, "schema", what)
    assert client.get(f"/schema/{what}").json() == json.loads(out)


def test_openapi_document_describes_the_bodies(client: httpx.Client) -> None:
    document = client.get("/openapi.json").json()
    assert {"/evaluate", "/evaluate.ics", "/batch", "/protocols", "/protocols/{protocol_id}", "/schema/{what}",
            "/health"} <= set(document["paths"])
    body = document["components"]["schemas"]["EvaluateRequest"]
    assert {"protocol", "as_of", "history"} <= set(body["required"])
    assert body["properties"]["protocol"]["enum"] == available_protocols()
    assert "History" in document["components"]["schemas"]
    assert client.get("/docs").status_code == 404  # no page that loads scripts from elsewhere


# ---------------------------------------------------------------------------------------------------------
# Bad input: 4xx with the command line's message


NAIVE = {"child": {"date_of_birth": "2011-05-02"},
         "episodes": [{"id": "E1", "kind": "missing", "last_seen_at": "2026-11-02T09:00"}]}
FOUND_FIRST = {"child": {"date_of_birth": "2011-05-02"},
               "episodes": [{"id": "E1", "kind": "missing", "last_seen_at": "2026-11-02T09:00Z",
                             "reported_at": "2026-11-02T10:00Z", "found_at": "2026-11-02T09:30Z"}]}
LATER = {"child": {"date_of_birth": "2011-05-02"},
         "episodes": [{"id": "E1", "kind": "missing", "last_seen_at": "2026-11-08T09:00Z"}]}


@pytest.mark.parametrize("history", [NAIVE, FOUND_FIRST, LATER, {"child": {"date_of_birth": "2011-05-02"}},
                                     {**HISTORY, "name": "Alex"}])
def test_a_bad_history_is_refused_in_the_command_lines_words(client: httpx.Client, tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str],
                                                              history: dict[str, Any]) -> None:
    message = error_of(client.post("/evaluate", json={**BODY, "history": history}))
    expected = cli_message(capsys, tmp_path, history)
    assert message == expected.replace("FILE", "history")


def test_malformed_json_names_line_and_column_as_the_command_line_does(client: httpx.Client, tmp_path: Path,
                                                                        capsys: pytest.CaptureFixture[str]) -> None:
    text = '{"protocol": "dorset",\n "as_of": }'
    message = error_of(client.post("/evaluate", content=text.encode()))
    assert message == cli_message(capsys, tmp_path, text).replace("FILE", "request")
    assert message.startswith("request:2:11: not valid JSON")


def test_a_naive_as_of_is_refused_in_the_command_lines_words(client: httpx.Client, tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    message = error_of(client.post("/evaluate", json={**BODY, "as_of": "2026-11-07T10:00"}))
    assert message == "as_of: " + cli_message(capsys, tmp_path, HISTORY, as_of="2026-11-07T10:00")


def test_an_unknown_protocol_is_refused_in_the_command_lines_words(client: httpx.Client, tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    message = error_of(client.post("/evaluate", json={**BODY, "protocol": "narnia"}))
    assert message == cli_message(capsys, tmp_path, HISTORY, protocol="narnia")


@pytest.mark.parametrize("protocol", ["protocols/dorset.yaml", str(PROTOCOLS / "dorset.yaml"), "../dorset",
                                      "dorset.yaml", "/etc/passwd", "Dorset", ""])
def test_a_path_is_never_a_protocol(client: httpx.Client, protocol: str) -> None:
    message = error_of(client.post("/evaluate", json={**BODY, "protocol": protocol}))
    assert "is not a protocol name" in message and "known protocols: derby_derbyshire" in message


@pytest.mark.parametrize(("body", "message"), [
    ([1, 2], "request: must be a JSON object with protocol, as_of and history"),
    ("dorset", "request: must be a JSON object with protocol, as_of and history"),
    ({**BODY, "protocol": 5}, "protocol: must be a protocol name such as 'dorset'"),
    ({**BODY, "as_of": 20261107}, "as_of: required, a timestamp with a UTC offset such as 2026-11-07T10:00Z"),
    ({**BODY, "history": [1]},
     "history: a history must be a mapping (a JSON object) with 'child' and 'episodes', not a list"),
    ({**BODY, "explain": "yes"}, "explain: must be true or false"),
    ({**BODY, "colour": "red"}, "request: 'colour' is not a key here; use protocol, as_of, history, explain, "
                                "rule_text, pack"),
    ({"as_of": AS_OF, "history": HISTORY}, "protocol: required, the name of a known protocol such as 'dorset'"),
    ({"protocol": "dorset", "history": HISTORY}, "as_of: required, a timestamp with a UTC offset such as "
                                                 "2026-11-07T10:00Z"),
    ({"protocol": "dorset", "as_of": AS_OF}, "history: required, the child and their episodes "
                                             "(docs/history-format.md)"),
])
def test_wrong_shapes_and_types_are_400(client: httpx.Client, body: object, message: str) -> None:
    response = client.post("/evaluate", json=body)
    assert response.status_code == 400
    assert error_of(response) == message


@pytest.mark.parametrize("content", [b"", b"\xff\xfe\x00", b"[" * 100_000, b"null"])
def test_odd_bodies_are_400(client: httpx.Client, content: bytes) -> None:
    assert client.post("/evaluate", content=content).status_code == 400


def test_a_body_over_the_limit_is_413(client: httpx.Client) -> None:
    padding = {**BODY, "history": {**HISTORY, "child": {**HISTORY["child"], "id": "x" * (1024 * 1024)}}}
    response = client.post("/evaluate", json=padding)
    assert response.status_code == 413
    assert error_of(response) == "request: the body is larger than this server's limit of 1 MB"
    assert client.get("/health").status_code == 200


def test_a_body_over_the_limit_without_a_length_is_413(client: httpx.Client) -> None:
    def chunks() -> Iterator[bytes]:  # sent chunked: no Content-Length to refuse it by
        for _ in range(20):
            yield b" " * 100_000

    response = client.post("/evaluate", content=chunks())
    assert response.status_code == 413 and "larger than this server's limit" in error_of(response)


def test_a_pack_in_a_request_is_refused_unless_allowed(client: httpx.Client) -> None:
    text = (PROTOCOLS / "dorset.yaml").read_text(encoding="utf-8")
    response = client.post("/evaluate", json={**BODY, "pack": text})
    assert response.status_code == 403 and "--allow-pack-upload" in error_of(response)


# ---------------------------------------------------------------------------------------------------------
# A server that takes packs, with a short time limit


def long_history(episodes: int) -> dict[str, Any]:
    """The benchmark's very long history (benchmarks/long_history.py)."""
    spec = importlib.util.spec_from_file_location("long_history", ROOT / "benchmarks" / "long_history.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    history: dict[str, Any] = module.long_history(episodes)
    return history


def test_an_evaluation_over_the_time_limit_is_stopped_and_the_server_goes_on(open_url: str) -> None:
    with httpx.Client(base_url=open_url, timeout=60) as client:
        heavy = {"protocol": "dorset", "as_of": "2100-01-01T00:00Z", "history": long_history(8000)}
        started = time.monotonic()
        response = client.post("/evaluate", json=heavy)
        assert response.status_code == 422
        assert "took longer than this server's time limit" in error_of(response)
        assert time.monotonic() - started < 30
        time.sleep(0.5)  # the replacement worker starts
        assert client.get("/health").json()["workers"] == 2
        assert client.post("/evaluate", json=BODY).status_code == 200


def test_an_uploaded_pack_is_evaluated_like_the_named_one(open_url: str, client: httpx.Client) -> None:
    text = (PROTOCOLS / "dorset.yaml").read_text(encoding="utf-8")
    with httpx.Client(base_url=open_url, timeout=60) as upload:
        sent = upload.post("/evaluate", json={"pack": text, "as_of": AS_OF, "history": HISTORY})
        assert sent.status_code == 200, sent.text
        assert sent.json() == client.post("/evaluate", json=BODY).json()
        mismatch = upload.post("/evaluate", json={**BODY, "pack": text, "protocol": "durham"})
        assert error_of(mismatch) == "protocol: 'durham' is not the id of the pack sent ('dorset')"


def test_a_bad_uploaded_pack_names_the_place(open_url: str) -> None:
    text = "protocol: {id: x, area: A, title: T, version: '1', seed: s}\nroles: {}\nrules:\n  - id: r\n    dutty: x\n"
    with httpx.Client(base_url=open_url, timeout=60) as upload:
        response = upload.post("/evaluate", json={"pack": text, "as_of": AS_OF, "history": HISTORY})
    assert response.status_code == 400
    data = response.json()
    assert data["error"].startswith("pack:") and "more problems" in data["error"] and "\n" not in data["error"]
    assert all(line.startswith("pack:") for line in data["problems"])
    assert any("'dutty' is not a key here" in line for line in data["problems"])


def test_a_body_not_sent_within_the_time_limit_is_408(open_url: str) -> None:
    port = int(open_url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=20) as raw:
        raw.sendall(b"POST /evaluate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    b"Content-Length: 1000\r\n\r\n{")
        answer = b""
        while not answer.endswith(b"}\n"):
            chunk = raw.recv(4096)
            if not chunk:
                break
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 408") and b"was not received within 1 s" in answer
