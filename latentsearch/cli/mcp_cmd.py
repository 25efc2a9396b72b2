"""``latentsearch mcp``: serve the index to AI agents over the Model Context Protocol.

The SDK (the ``mcp`` extra) and uvicorn are imported when the command runs, never for ``--help``.
"""

from __future__ import annotations

import os
from typing import Annotated, Literal

import typer

from latentsearch.cli.app import handle_errors
from latentsearch.cli.common import DatabaseOpt, DeviceOpt, IndexOpt, open_index

EXAMPLES = """
[bold]Examples[/bold]

  LATENTSEARCH_API_KEY=ls_... latentsearch mcp --index idx
  LATENTSEARCH_API_KEY=ls_... latentsearch mcp --index idx --collection docs
  latentsearch mcp --index idx --transport http --host 127.0.0.1 --port 8765

Over stdio (the default) the agent starts this command itself and the API key comes from
LATENTSEARCH_API_KEY. Over HTTP the endpoint is http://HOST:PORT/mcp and each agent sends its
own key as 'Authorization: Bearer <key>'. Keys: latentsearch keys create --index idx USER.
See docs/mcp.md for agent configuration (Claude Desktop and others).
"""


@handle_errors
def mcp_command(
    index: IndexOpt,
    database: DatabaseOpt = None,
    collection: Annotated[
        str | None,
        typer.Option(
            "--collection",
            "-c",
            show_default=False,
            help="Serve only this collection (default: every collection).",
        ),
    ] = None,
    transport: Annotated[
        str,
        typer.Option(help="stdio (the agent runs this command) or http (streamable HTTP)."),
    ] = "stdio",
    host: Annotated[str, typer.Option(help="HTTP: interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="HTTP: TCP port.")] = 8765,
    device: DeviceOpt = "auto",
) -> None:
    """Serve search, query, analogy, fetch, answer and list_collections as MCP tools for agents,
    with the permissions of an API key (the same keys as the HTTP API)."""
    from latentsearch.errors import InvalidInputError
    from latentsearch.mcp import run

    mode = _transport(transport)
    if mode is None:
        raise InvalidInputError(f"--transport must be stdio or http, not {transport!r}")
    run.require_mcp_extra()
    with open_index(index, database, device) as db:
        if mode == "stdio":
            run.serve_stdio(db, os.environ.get(run.ENV_KEY), collection=collection)
        else:
            run.serve_http(db, collection=collection, host=host, port=port)


def _transport(value: str) -> Literal["stdio", "http"] | None:
    v = value.strip().lower()
    if v == "stdio":
        return "stdio"
    if v in ("http", "streamable-http"):
        return "http"
    return None
