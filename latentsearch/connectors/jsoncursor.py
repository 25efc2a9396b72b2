"""The JSON cursors of the git, web and mail connectors, read back with a typed error when damaged."""

from __future__ import annotations

import json
from typing import Any

from latentsearch.errors import ConnectorError


def read_cursor(cursor: str | None, key: str, what: str) -> dict[str, Any]:
    """A JSON cursor's object, checked to hold ``key`` (a cursor stored by another source type
    or damaged by hand is refused with a typed error, not a traceback)."""
    if not cursor:
        return {}
    try:
        state = json.loads(cursor)
    except ValueError:
        state = None
    if not isinstance(state, dict) or key not in state:
        raise ConnectorError(
            f"the stored cursor is not a {what} cursor ({cursor[:60]!r}); give the source a new "
            "name to sync it from the start"
        )
    return state
