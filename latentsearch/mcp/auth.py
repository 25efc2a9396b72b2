"""API keys for the MCP server: the HTTP API's keys, principals and revocation, reused as is.

Over streamable HTTP the key arrives like it does at the HTTP API (``Authorization: Bearer
<key>`` or ``X-API-Key``): `BearerGate` refuses a request without a valid key with 401 before
the MCP layer sees it, and every tool call authenticates the key of its own request again, so a
key revoked mid-session stops working at its next call. Over stdio there are no headers: the key
comes from the environment (``LATENTSEARCH_API_KEY``), checked at start and at every call.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field

import anyio.to_thread
from starlette.types import ASGIApp, Receive, Scope, Send

from latentsearch import Database
from latentsearch.directory import AccountCache
from latentsearch.errors import PermissionDeniedError
from latentsearch.server.keystore import authenticate
from latentsearch.server.principals import resolve
from latentsearch.server.state import DEFAULT_DIRECTORY_TTL

MISSING = (
    "missing API key: send 'Authorization: Bearer <key>' (a key from `latentsearch keys create`)"
)
INVALID = "invalid or revoked API key"


@dataclass(frozen=True, slots=True)
class Keys:
    """Resolves a key to its principals against the index's key table, and a directory key's
    groups against the synced directory (as the HTTP API does, with the same short-TTL cache)."""

    db: Database
    accounts: AccountCache = field(default_factory=lambda: AccountCache(DEFAULT_DIRECTORY_TTL))

    def principals(self, key: str | None) -> list[str]:
        """The principals of an active ``key``; `PermissionDeniedError` for none or a bad one."""
        if not key:
            raise PermissionDeniedError(MISSING)
        with self.db.store.session() as s:
            info = authenticate(s, key)
        if info is not None:  # a disabled or deleted directory user is refused like a bad key
            info = resolve(self.db, self.accounts, info)
        if info is None:
            raise PermissionDeniedError(INVALID)
        return info.principals


def key_from_headers(headers: Mapping[str, str] | None) -> str | None:
    """The key of an HTTP request, read the way the HTTP API reads it."""
    if not headers:
        return None
    lower = {k.lower(): v for k, v in headers.items()}
    header = lower.get("authorization")
    if header:
        scheme, _, value = header.partition(" ")
        return value.strip() if scheme.lower() == "bearer" and value.strip() else None
    return lower.get("x-api-key")


class BearerGate:
    """ASGI middleware: every HTTP request needs an active key, else 401 (JSON, with
    ``WWW-Authenticate: Bearer``), before the MCP session layer runs."""

    def __init__(self, app: ASGIApp, keys: Keys) -> None:
        self.app = app
        self.keys = keys

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        try:
            await anyio.to_thread.run_sync(self.keys.principals, key_from_headers(headers))
        except PermissionDeniedError as exc:
            body = json.dumps({"error": str(exc)}).encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": 401,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode()),
                        (b"www-authenticate", b"Bearer"),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)
