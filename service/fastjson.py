"""The scoring routes' JSON in and out, without the generic paths that cost more than a small text's parsing.

- Responses: orjson encodes a result about ten times faster than the standard library, with the same JSON text
  (UTF-8, no spaces, shortest float repr).
- Requests: the body is validated straight from bytes by pydantic's JSON parser (`model_validate_json`) instead of
  FastAPI's body dependency (json.loads, then validation of the Python objects); errors are raised as FastAPI's own
  RequestValidationError with the same locations ("body", ...), so clients see the same 422 bodies.
The OpenAPI request body is declared with `request_body`, so /docs still shows the schema and its examples.
"""

from __future__ import annotations

from typing import Any, NamedTuple, TypeVar

import orjson
from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from starlette.responses import JSONResponse

M = TypeVar("M", bound=BaseModel)


class ContractJSON(JSONResponse):
    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


class Encoded(NamedTuple):
    """One batch row already in its JSON form, with what the metrics count: encoded where it was scored (a batch
    helper sends bytes back instead of result objects, so the worker neither unpickles nor re-encodes them)."""

    json: bytes
    risk_level: str | None  # None for an error row
    flagged: tuple[str, ...]  # codes of the flagged indicators


def flagged_codes(result: Any) -> tuple[str, ...]:
    """Codes of a result's flagged indicators, in taxonomy order."""
    return tuple(i.code for i in result.indicators if i.flagged)


def encode(rows: list[Any]) -> list[Encoded]:
    """Results (or error rows) as `Encoded` rows."""
    return [
        Encoded(orjson.dumps(r.to_dict()), r.risk_level, flagged_codes(r))
        if hasattr(r, "indicators")
        else Encoded(orjson.dumps(r.to_dict()), None, ())
        for r in rows
    ]


def results_body(rows: list[Encoded]) -> bytes:
    """The batch response body, {"results": [...]}, spliced from encoded rows."""
    return b'{"results":[' + b",".join(r.json for r in rows) + b"]}"


async def parse_body(request: Request, model: type[M]) -> M:
    """The request body as `model`, or RequestValidationError (invalid JSON included) located under "body"."""
    raw = await request.body()
    try:
        return model.model_validate_json(raw)
    except ValidationError as e:
        errors = []
        for err in e.errors(include_url=False):
            err = dict(err)
            err["loc"] = ("body", *err.get("loc", ()))
            errors.append(err)
        raise RequestValidationError(errors, body=raw) from None


def request_body(model: type[BaseModel]) -> dict[str, Any]:
    """`openapi_extra` documenting a JSON request body of `model` (added to the components by `add_schemas`)."""
    schema = {"$ref": f"#/components/schemas/{model.__name__}"}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


def add_schemas(openapi: dict[str, Any], *models: type[BaseModel]) -> dict[str, Any]:
    """Put the request models (and the models they use) into the OpenAPI components, as FastAPI would."""
    components = openapi.setdefault("components", {}).setdefault("schemas", {})
    for model in models:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        components.update(schema.pop("$defs", {}))
        components[model.__name__] = schema
    return openapi
