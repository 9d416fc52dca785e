"""The OpenAPI document: FastAPI's, with the request bodies the endpoints read themselves described in it.

The endpoints read their bodies with the library's own readers (for the command line's error messages), so
FastAPI does not see a body model; the request schema (`EvaluateRequest`, with the history's models) is
added to the document's components here, and the known protocols are listed as the values `protocol` takes.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from ..pack import available_protocols
from .requests import EvaluateBody

REF = "#/components/schemas/{model}"
EVALUATE_REQUEST = {"$ref": REF.format(model="EvaluateRequest")}
ERROR = {"type": "object", "required": ["error"], "properties": {"error": {
    "type": "string", "description": "one line, as the command line prints it after 'error:'"}}}


def request_body(media_type: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    """An `openapi_extra` that documents a body the endpoint reads itself."""
    return {"requestBody": {"required": True, "description": description,
                            "content": {media_type: {"schema": schema}}}}


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses` entries for error statuses, each answered `{"error": "..."}`."""
    words = {400: "Bad request: the message says what is wrong and where", 403: "Packs may not be sent",
             404: "No such protocol or schema", 408: "The body was not received within the time limit",
             413: "The body is larger than the limit",
             422: "The evaluation took longer than the time limit and was stopped"}
    return {status: {"description": words[status], "content": {"application/json": {"schema": ERROR}}}
            for status in statuses}


def document(app: FastAPI) -> dict[str, Any]:
    """The app's OpenAPI document, made once."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    body = EvaluateBody.model_json_schema(ref_template=REF)
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components.update(body.pop("$defs", {}))
    body["properties"]["protocol"]["enum"] = available_protocols()
    components["EvaluateRequest"] = body
    components["Error"] = ERROR
    app.openapi_schema = schema
    return schema
