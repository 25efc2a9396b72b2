"""Running the MCP server: over stdio (the agent starts it as a child process) or over
streamable HTTP (one long-running server that many agents reach with their own keys).

Both load every served collection's encoder first, so an agent's first call is not slow, and
stdio checks its key before it starts, so a bad key fails at once with a clear message rather
than on the agent's first call. Over stdio, stdout carries protocol messages only: everything
else (logs, warnings) goes to stderr.
"""

from __future__ import annotations

import logging

from latentsearch import Database
from latentsearch.errors import CollectionNotFoundError, MissingExtraError, PermissionDeniedError

log = logging.getLogger("latentsearch.mcp")
ENV_KEY = "LATENTSEARCH_API_KEY"
DEFAULT_PORT = 8765
PATH = "/mcp"


def require_mcp_extra() -> None:
    """Import the SDK, or raise `MissingExtraError` naming the extra to install."""
    try:
        import mcp.server.mcpserver  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as exc:
        raise MissingExtraError(
            "latentsearch mcp needs the mcp extra (the official MCP SDK); install it with: "
            "pip install 'latentsearch[mcp]'"
        ) from exc


def warm(db: Database, collection: str | None) -> None:
    names = [c.name for c in db.collections()]
    if collection is not None and collection not in names:
        raise CollectionNotFoundError(
            f"no collection {collection!r} in {db.path} (existing: {', '.join(names) or 'none'})"
        )
    for name in [collection] if collection else names:
        col = db.collection(name)
        if col.identity is not None:
            _ = col.encoder
        col.sync()


def serve_stdio(db: Database, key: str | None, *, collection: str | None = None) -> None:
    """Serve over stdin/stdout with ``key`` (from ``LATENTSEARCH_API_KEY``) for every call."""
    from latentsearch.mcp.auth import Keys
    from latentsearch.mcp.server import build

    if not key:
        raise PermissionDeniedError(
            f"set {ENV_KEY} to an API key (latentsearch keys create ...): over stdio the MCP "
            "server searches with that key's permissions"
        )
    Keys(db).principals(key)  # refuse a bad or revoked key before the agent connects
    warm(db, collection)
    build(db, collection=collection, env_key=key).run("stdio")


def serve_http(
    db: Database,
    *,
    collection: str | None = None,
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
) -> None:
    """Serve streamable HTTP at ``http://host:port/mcp``; each request brings its own key."""
    import uvicorn

    from latentsearch.mcp.auth import BearerGate, Keys
    from latentsearch.mcp.server import build

    warm(db, collection)
    app = build(db, collection=collection).streamable_http_app(streamable_http_path=PATH, host=host)
    log.warning("MCP server on http://%s:%d%s", host, port, PATH)
    uvicorn.run(BearerGate(app, Keys(db)), host=host, port=port, log_level="warning")
