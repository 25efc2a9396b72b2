"""Error handling: typed errors become JSON with the right status; nothing else leaks.

No stack trace ever reaches a client: unexpected errors are logged with a request id and the
client gets a 500 with that id only.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from latentsearch.errors import (
    ClusterError,
    CollectionExistsError,
    DuplicateIdError,
    EncoderError,
    GeneratorError,
    InvalidInputError,
    LatentSearchError,
    NotFoundError,
    PermissionDeniedError,
    ReadOnlyError,
    StoreError,
)

log = logging.getLogger("latentsearch.server")

# Most specific first: DuplicateIdError is also an InvalidInputError.
STATUS: list[tuple[type[LatentSearchError], int]] = [
    (DuplicateIdError, 409),
    (CollectionExistsError, 409),
    (InvalidInputError, 422),
    (NotFoundError, 404),
    (PermissionDeniedError, 403),
    (ReadOnlyError, 409),
    (EncoderError, 422),
    (StoreError, 503),
    (ClusterError, 503),  # ShardUnavailableError: no replica of a shard answered
    (GeneratorError, 502),
]


def _field(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path")]
    return ".".join(parts) or "body"


def install(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        detail = [
            {"field": _field(tuple(e.get("loc", ()))), "message": str(e.get("msg", ""))}
            for e in exc.errors()
        ]
        first = detail[0] if detail else {"field": "body", "message": "invalid request"}
        return JSONResponse(
            {"error": f"{first['field']}: {first['message']}", "detail": detail}, status_code=422
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(
            {"error": str(exc.detail)}, status_code=exc.status_code, headers=exc.headers
        )

    @app.exception_handler(LatentSearchError)
    async def typed(_: Request, exc: LatentSearchError) -> JSONResponse:
        status = next((code for cls, code in STATUS if isinstance(exc, cls)), 400)
        # A message quoting bad input (a lone surrogate) must still encode as UTF-8 JSON.
        message = str(exc).encode("utf-8", "backslashreplace").decode("utf-8")
        # A lost shard is usually back within seconds (Ray restarts its actor): say when to retry.
        headers = {"Retry-After": "5"} if isinstance(exc, ClusterError) else None
        return JSONResponse({"error": message}, status_code=status, headers=headers)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        rid = uuid.uuid4().hex[:12]
        log.error(
            "unhandled error %s on %s %s", rid, request.method, request.url.path, exc_info=exc
        )
        return JSONResponse(
            {"error": f"internal error (request id {rid}); see the server log"}, status_code=500
        )


class BodyLimit:
    """Pure ASGI middleware: refuse request bodies over ``limit`` bytes with 413 (streamed too)."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.limit):
            await self._reject(send)
            return
        seen = 0
        exceeded = False

        async def limited() -> Message:
            nonlocal seen, exceeded
            msg = await receive()
            if msg["type"] == "http.request":
                seen += len(msg.get("body", b""))
                if seen > self.limit:
                    exceeded = True
                    raise _TooLarge
            return msg

        async def guarded(msg: Message) -> None:
            if not exceeded:  # once over the limit, whatever the app answers is replaced by a 413
                await send(msg)

        with contextlib.suppress(_TooLarge):
            await self.app(scope, limited, guarded)
        if exceeded:
            await self._reject(send)

    async def _reject(self, send: Send) -> None:
        body = f'{{"error": "request body too large (limit {self.limit} bytes)"}}'.encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


class _TooLarge(Exception):
    pass
