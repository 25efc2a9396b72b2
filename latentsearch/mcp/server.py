"""The MCP server (the official ``mcp`` SDK's `MCPServer`): latentsearch's tools for agents.

Each tool resolves the caller's principals from its API key at every call (`auth`) and hands
over to `tools.Tools`. Tools are plain functions; the SDK runs them on worker threads, so a slow
search never blocks the transport. Results are structured JSON (and the same JSON as text, for
clients that read only text content).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import Field

from latentsearch import Database, __version__
from latentsearch.directory import AccountCache
from latentsearch.errors import LatentSearchError
from latentsearch.mcp.auth import Keys, key_from_headers
from latentsearch.mcp.tools import MAX_K, Tools
from latentsearch.server.state import DEFAULT_DIRECTORY_TTL

INSTRUCTIONS = (
    "latentsearch searches an organisation's documents by meaning and by keyword, under the "
    "permissions of your API key. Start with list_collections, then search (or answer, for the "
    "best passages grouped by document with a short extractive summary). Every result has a "
    "citation: cite its title and uri when you use it. fetch gives an item's full text and source."
)

Collection = Annotated[
    str | None,
    Field(description="the collection to use (list_collections); optional when one is served"),
]
K = Annotated[int, Field(ge=1, le=MAX_K, description="how many results")]
Where = Annotated[
    dict[str, Any] | None,
    Field(description='a metadata filter, e.g. {"team": "eng"} or {"year": {"$gte": 2024}}'),
]
Mode = Annotated[
    Literal["dense", "keyword", "hybrid"],
    Field(description="dense: by meaning; keyword: BM25 words; hybrid: both, fused"),
]


def build(
    db: Database,
    *,
    collection: str | None = None,
    env_key: str | None = None,
    directory_ttl: float = DEFAULT_DIRECTORY_TTL,
) -> MCPServer:
    """The MCP server over ``db`` (only ``collection`` when given). ``env_key`` is the stdio
    transport's key; over HTTP each request's own key is used and ``env_key`` must be None. A
    directory key's groups are read again once ``directory_ttl`` seconds old (as `serve` does)."""
    tools = Tools(db, collection)
    keys = Keys(db, AccountCache(directory_ttl))
    server: MCPServer = MCPServer(
        "latentsearch", version=__version__, instructions=INSTRUCTIONS, log_level="WARNING"
    )

    def call(
        ctx: Context[Any, Any], tool: Callable[..., dict[str, Any]], *args: Any
    ) -> dict[str, Any]:
        """Run ``tool`` with the principals of this call's key; a typed error becomes a tool
        error whose message the agent sees (anything else is logged, not shown)."""
        headers = ctx.headers
        try:
            principals = keys.principals(
                key_from_headers(headers) if headers is not None else env_key
            )
            return tool(principals, *args)
        except LatentSearchError as exc:
            raise ToolError(str(exc)) from exc

    @server.tool()
    def list_collections(ctx: Context[Any, Any]) -> dict[str, Any]:
        """The collections you can search, with how many items you can see in each."""
        return call(ctx, tools.list_collections)

    @server.tool()
    def search(
        query: Annotated[str, Field(min_length=1, description="what to look for")],
        ctx: Context[Any, Any],
        collection: Collection = None,
        k: K = 10,
        mode: Mode = "hybrid",
        where: Where = None,
    ) -> dict[str, Any]:
        """Search by meaning (dense), by keyword, or both (hybrid). Each result has its text,
        metadata and citation (document, title, uri, snippet, offsets, highlighted spans)."""
        return call(ctx, tools.search, query, collection, k, mode, where)

    @server.tool()
    def query(
        expression: Annotated[
            str,
            Field(
                min_length=1,
                description='vector arithmetic, e.g. "vpn outage" - "windows" or '
                '0.7 * "formal tone" + @ticket-123 (@id: a stored item)',
            ),
        ],
        ctx: Context[Any, Any],
        collection: Collection = None,
        k: K = 10,
        where: Where = None,
    ) -> dict[str, Any]:
        """Search with a query expression (weighted sums and differences of texts and items)."""
        return call(ctx, tools.query, expression, collection, k, where)

    @server.tool()
    def analogy(
        positive: Annotated[list[str], Field(min_length=1, description="terms to add")],
        ctx: Context[Any, Any],
        negative: Annotated[list[str], Field(description="terms to subtract")] = [],  # noqa: B006
        collection: Collection = None,
        k: K = 10,
        method: Literal["3cosadd", "3cosmul"] = "3cosadd",
    ) -> dict[str, Any]:
        """Analogies: positive minus negative (king - man + woman). A term that is the id of an
        item you can see is that item, otherwise text."""
        return call(ctx, tools.analogy, positive, negative, collection, k, method)

    @server.tool()
    def fetch(
        id: Annotated[str, Field(min_length=1, description="the item's id (from a result)")],
        ctx: Context[Any, Any],
        collection: Collection = None,
    ) -> dict[str, Any]:
        """One item with its full text (up to 20,000 characters), metadata, source and
        citation. An item you may not see is reported exactly like one that does not exist."""
        return call(ctx, tools.fetch, id, collection)

    @server.tool()
    def answer(
        question: Annotated[str, Field(min_length=1, description="the question")],
        ctx: Context[Any, Any],
        collection: Collection = None,
        k: K = 8,
        mode: Mode = "hybrid",
        where: Where = None,
    ) -> dict[str, Any]:
        """The best passages for a question, grouped by document (best first), each numbered
        [n] with its citation, and a short extractive summary citing them by number."""
        return call(ctx, tools.answer, question, collection, k, mode, where)

    return server
