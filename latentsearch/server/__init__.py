"""The HTTP server: FastAPI app, API keys and roles, the search page. Needs ``latentsearch[server]``."""

from latentsearch.server.app import create_app
from latentsearch.server.state import Settings

__all__ = ["Settings", "create_app"]
