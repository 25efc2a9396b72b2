"""The HTTP server: FastAPI app, API keys and roles, the search page. Needs ``latentsearch[server]``.

`create_app` and `Settings` load on first use (PEP 562), so the command line can import
`latentsearch.server.cli` (``serve``, ``keys``) without FastAPI installed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from latentsearch.lazy import exports

if TYPE_CHECKING:
    from latentsearch.server.app import create_app
    from latentsearch.server.state import Settings

_EXPORTS = {"create_app": "latentsearch.server.app", "Settings": "latentsearch.server.state"}

__all__ = ["Settings", "create_app"]


__getattr__, __dir__ = exports(__name__, _EXPORTS)
