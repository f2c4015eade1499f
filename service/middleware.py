"""ASGI middleware that rejects oversized bodies and wrong content types before anything parses the body."""

from __future__ import annotations

import json
from typing import Any

from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.errors import error_body


async def _send_error(send: Send, status: int, code: str, message: str) -> None:
    body = json.dumps(error_body(code, message)).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


class _TooLarge(HTTPException):
    """Raised from receive(); FastAPI passes HTTPExceptions through its body parsing to the shared handler."""


class BodyGuard:
    """413 for bodies over `max_bytes` (by Content-Length, or counted while streaming); 415 for non-JSON posts."""

    def __init__(self, app: ASGIApp, max_bytes: int, json_prefix: str = "/v1/") -> None:
        self.app, self.max_bytes, self.json_prefix = app, max_bytes, json_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        limit = f"the request body limit is {self.max_bytes} bytes"
        length = headers.get("content-length")
        if length is not None:
            if not length.isdigit():
                await _send_error(send, 400, "bad_request", "invalid Content-Length header")
                return
            if int(length) > self.max_bytes:
                await _send_error(send, 413, "body_too_large", limit)
                return
        if scope["path"].startswith(self.json_prefix):
            ctype = headers.get("content-type", "").split(";")[0].strip().lower()
            if ctype != "application/json" and not ctype.endswith("+json"):
                await _send_error(
                    send,
                    415,
                    "unsupported_media_type",
                    f"send the body as application/json (got {ctype or 'no content type'!r})",
                )
                return
        seen = 0
        started = False

        async def guarded_receive() -> Message:
            nonlocal seen
            msg = await receive()
            if msg["type"] == "http.request":
                seen += len(msg.get("body", b""))
                if seen > self.max_bytes:
                    raise _TooLarge(413, detail=limit)
            return msg

        async def tracking_send(msg: Message) -> None:
            nonlocal started
            if msg["type"] == "http.response.start":
                started = True
            await send(msg)

        try:
            await self.app(scope, guarded_receive, tracking_send)
        except _TooLarge:
            if not started:
                await _send_error(send, 413, "body_too_large", limit)


def client_key(scope: dict[str, Any]) -> str:
    client = scope.get("client")
    return client[0] if client else "unknown"


class ConcurrencyLimit:
    """503 with Retry-After once `limit` /v1 requests are in flight, instead of queueing without bound."""

    def __init__(self, app: ASGIApp, limit: int, prefix: str = "/v1/") -> None:
        self.app, self.limit, self.prefix = app, limit, prefix
        self.in_flight = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(self.prefix):
            await self.app(scope, receive, send)
            return
        if self.in_flight >= self.limit:
            body = json.dumps(
                error_body("overloaded", f"more than {self.limit} requests in flight; retry shortly")
            ).encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": 503,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode()),
                        (b"retry-after", b"1"),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1
