"""The HTTP server: FastAPI app, API keys and roles, the search page. Needs ``latentsearch[server]``.

`create_app` and `Settings` load on first use (PEP 562), so the command line can import
`latentsearch.server.cli` (``serve``, ``keys``) without FastAPI installed.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from latentsearch.server.app import create_app
    from latentsearch.server.state import Settings

_EXPORTS = {"create_app": "latentsearch.server.app", "Settings": "latentsearch.server.state"}

__all__ = ["Settings", "create_app"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'latentsearch.server' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
