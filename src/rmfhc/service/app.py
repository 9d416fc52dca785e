"""The HTTP service: FastAPI routes over the library (docs/service.md).

Bodies are read here with a size and time limit, then evaluated in worker processes (rmfhc.service.workers)
with a time limit. Every mistake in a request is answered 4xx with `{"error": "<one line>"}`, the message the
command line prints; nothing a client sends can change the packs unless the service was started with
`--allow-pack-upload`.
"""

from __future__ import annotations

import asyncio
import enum
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response, StreamingResponse
from starlette.exceptions import HTTPException

from .._version import __version__
from ..errors import EvaluationError, PackError, RmfhcError
from ..inputs import parse_as_of
from ..pack import available_protocols
from ..schemas import SCHEMAS
from . import batch, openapi, protocols
from .handlers import Format, Job
from .replies import JSON, NDJSON, RequestError, error_body
from .settings import MB, Settings
from .workers import WorkerPool

DESCRIPTION = """Which duties an English local area's protocol for children who run away or go missing from home
or care requires for a child's history, who holds each, when each is due, and which are overdue, done or missed.
Protocols are named, never uploaded (unless the server was started with `--allow-pack-upload`). Every error is
`{"error": "<one line>"}` with a 4xx status. Limits: see GET /health."""

class Schema(enum.StrEnum):
    """What `GET /schema/{what}` describes."""

    HISTORY = "history"
    PACK = "pack"
    SCENARIO = "scenario"
    EVALUATION = "evaluation"


def _error(status: int, message: str) -> Response:
    return Response(error_body(message), status_code=status, media_type=JSON)


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _pool(request: Request) -> WorkerPool:
    pool: WorkerPool = request.app.state.pool
    return pool


async def read_body(request: Request) -> bytes:
    """The body, refused (413) past the size limit and (408) if not received within the time limit."""
    settings = _settings(request)
    too_large = RequestError(f"request: the body is larger than this server's limit of "
                             f"{settings.max_body / MB:g} MB", status=413)
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > settings.max_body:
        raise too_large

    async def collect() -> bytes:
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > settings.max_body:
                raise too_large
            chunks.append(chunk)
        return b"".join(chunks)

    try:
        return await asyncio.wait_for(collect(), settings.time_limit)
    except TimeoutError:
        raise RequestError(f"request: the body was not received within {settings.time_limit:g} s",
                           status=408) from None


async def _evaluate(request: Request, form: Format) -> Response:
    body = await read_body(request)
    job = Job(body, form, {}, _settings(request).allow_pack_upload)
    reply = await _pool(request).run(job)
    return Response(reply.body, status_code=reply.status, media_type=reply.media_type)


def create_app(settings: Settings | None = None) -> FastAPI:
    """The service as an ASGI app; its worker processes start and stop with it (the app's lifespan)."""
    settings = settings or Settings()
    pool = WorkerPool(settings.workers, settings.time_limit)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await pool.start()
        try:
            yield
        finally:
            await pool.stop()

    app = FastAPI(title="rmfhc", version=__version__, description=DESCRIPTION, lifespan=lifespan,
                  docs_url=None, redoc_url=None)  # the interactive pages load scripts from elsewhere: not here
    app.state.settings = settings
    app.state.pool = pool
    _routes(app)
    _handlers(app)
    app.openapi = lambda: openapi.document(app)  # type: ignore[method-assign]
    return app


def _handlers(app: FastAPI) -> None:
    @app.exception_handler(RmfhcError)
    async def library_error(request: Request, error: RmfhcError) -> Response:
        return _error(error.status if isinstance(error, RequestError) else 400, str(error))

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException) -> Response:
        detail = error.detail if isinstance(error.detail, str) else json.dumps(error.detail)
        return _error(error.status_code, f"{request.method} {request.url.path}: {detail}")

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, error: RequestValidationError) -> Response:
        problem = error.errors()[0]
        if problem["loc"][0] == "path":
            return _error(404, f"{request.method} {request.url.path}: Not Found ({problem['msg'].lower()})")
        place = ".".join(str(part) for part in problem["loc"][1:]) or str(problem["loc"][0])
        return _error(400, f"{place}: {problem['msg']}")


def _routes(app: FastAPI) -> None:
    evaluate_body = openapi.request_body("application/json", openapi.EVALUATE_REQUEST,
                                         "protocol, as_of and history (explain, rule_text optional)")

    @app.post("/evaluate", openapi_extra=evaluate_body, responses=openapi.errors(400, 403, 408, 413, 422),
              response_class=JSONResponse, summary="Evaluate a history: the JSON of `rmfhc evaluate --format json`")
    async def evaluate_json(request: Request) -> Response:
        return await _evaluate(request, "json")

    @app.post("/evaluate.ics", openapi_extra=evaluate_body, responses={
        200: {"description": "due and overdue duties and upcoming triggers as iCalendar events",
              "content": {"text/calendar": {"schema": {"type": "string"}}}}, **openapi.errors(400, 403, 408, 413, 422)},
        summary="Evaluate a history: its deadlines as an iCalendar file (docs/service.md, 'Calendar')")
    async def evaluate_ics(request: Request) -> Response:
        return await _evaluate(request, "ics")

    batch_body = openapi.request_body(NDJSON, {"type": "string"}, "one request object per line, as for "
                                      "POST /evaluate; protocol and as_of may come from the query instead")

    @app.post("/batch", openapi_extra=batch_body, responses={
        200: {"description": "one line per input line: {line, evaluation} or {line, status, error}",
              "content": {NDJSON: {"schema": {"type": "string"}}}}, **openapi.errors(400, 408, 413)},
        summary="Evaluate many histories: JSON lines in and out, a bad line answered, never stopping the batch")
    async def evaluate_batch(request: Request,
                             protocol: str | None = Query(None, description="for lines that give none"),
                             as_of: str | None = Query(None, description="for lines that give none")) -> Response:
        defaults = {}
        if protocol is not None:
            protocols.known_pack(protocol)
            defaults["protocol"] = protocol
        if as_of is not None:
            try:
                parse_as_of(as_of)
            except EvaluationError as error:
                raise EvaluationError(f"as_of: {error}") from None
            defaults["as_of"] = as_of
        lines = batch.lines_of(await read_body(request))
        if not lines:
            raise RequestError("batch: no lines; send one JSON request object per line")
        settings = _settings(request)
        stream = batch.answers(_pool(request), lines, defaults, settings.allow_pack_upload,
                               settings.batch_time_limit)
        return StreamingResponse(stream, media_type=NDJSON)

    @app.get("/protocols", summary="The known protocols: metadata, version and content hash")
    async def list_protocols() -> list[dict[str, Any]]:
        found = []
        for name in available_protocols():
            try:
                found.append(protocols.summary(protocols.known_pack(name)))
            except RmfhcError as error:
                found.append({"id": name, "error": str(error)})
        return found

    @app.get("/protocols/{protocol_id}", responses=openapi.errors(404),
             summary="One protocol: metadata, version, content hash, roles, and each rule's id, duty, title, section")
    async def show_protocol(protocol_id: str) -> Any:
        try:
            return protocols.detail(protocols.known_pack(protocol_id))
        except (PackError, RequestError) as error:
            if isinstance(error, RequestError) and error.status >= 500:
                raise
            return _error(404, str(error))

    @app.get("/schema/{what}", responses=openapi.errors(404),
             summary="JSON Schema of a history, a pack, a scenario file or an evaluation (as `rmfhc schema`)")
    async def schema(what: Schema) -> Any:
        return SCHEMAS[what.value]()

    @app.get("/health", summary="Whether the service is up, its version, workers and limits")
    async def health(request: Request) -> dict[str, Any]:
        settings = _settings(request)
        return {"status": "ok", "engine": {"name": "rmfhc", "version": __version__},
                "protocols": available_protocols(), "workers": _pool(request).alive(),
                "limits": {"max_body_bytes": settings.max_body, "time_limit_seconds": settings.time_limit,
                           "batch_time_limit_seconds": settings.batch_time_limit},
                "pack_upload": settings.allow_pack_upload}
