"""The MCP server: latentsearch tools for AI agents, over stdio and streamable HTTP, with the same keys and principals as the HTTP API."""
